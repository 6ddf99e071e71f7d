//! The per-call cost of tokio's `Handle::enter` at 1 to 16 calling threads: the
//! measurement behind docs/upstream-tokio.md. Linux only (a per-thread CPU clock).
//!
//! ```text
//! cargo run --release --example enter_cost -- <mode> <threads,...> <calls per thread> <runs>
//! cargo run --release --example enter_cost -- a 1,2,4,8,16 10000000 3
//! ```
//!
//! - mode a: per call `let _g = handle.enter();` and a poll of a ready future with a no-op
//!   waker (what `globalrt::execute` does)
//! - mode b: one guard entered before the loop and kept; per call only the poll (what a
//!   `globalrt::scope` token does)
//! - mode c: per call, inside a kept guard, `Handle::try_current()` and an `id()` compare
//!   (the only public way to ask whether a runtime's context is current)
//! - mode f: mode a inside a kept guard of the same runtime (`execute` where the context
//!   is current already)
//!
//! Prints, per thread count and run, the mean per-call thread CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`) over all threads, then the median and range over the runs.
//! `PIN=1` pins calling thread i to CPU i modulo the CPU count. Exit codes: 0 measured,
//! 2 bad arguments.

const USAGE: &str = "usage: enter_cost <a|b|c|f> <threads,...> <calls per thread> <runs>";

fn main() {
    #[cfg(target_os = "linux")]
    measure::main();
    #[cfg(not(target_os = "linux"))]
    eprintln!("enter_cost: Linux only (it reads the per-thread CPU clock)");
}

#[cfg(target_os = "linux")]
mod measure {
    use super::USAGE;

    use std::future::Future;
    use std::hint::black_box;
    use std::pin::pin;
    use std::sync::Barrier;
    use std::task::{Context, Poll, Waker};

    use tokio::runtime::{Handle, Id};

    #[allow(unsafe_code)] // libc's clock_gettime.
    fn thread_cpu_ns() -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid, writable timespec.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0);
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }

    #[inline(always)]
    fn poll_ready(i: u64) -> u64 {
        let fut = pin!(std::future::ready(black_box(i)));
        match fut.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => unreachable!(),
        }
    }

    /// (a) what `globalrt::execute` does per call.
    #[inline(never)]
    fn loop_enter(handle: &Handle, k: u64) -> u64 {
        let mut acc = 0;
        for i in 0..k {
            let _g = handle.enter();
            acc += poll_ready(i);
        }
        acc
    }

    /// (b) what `globalrt::scope`'s token does per call.
    #[inline(never)]
    fn loop_kept(handle: &Handle, k: u64) -> u64 {
        let _g = handle.enter();
        let mut acc = 0;
        for i in 0..k {
            acc += poll_ready(i);
        }
        acc
    }

    /// (c) the only public way to ask "is this runtime the current one?".
    #[inline(never)]
    fn loop_check(handle: &Handle, id: Id, k: u64) -> u64 {
        let _g = handle.enter();
        let mut acc = 0;
        for _ in 0..k {
            let same = match Handle::try_current() {
                Ok(current) => current.id() == id,
                Err(_) => false,
            };
            acc += black_box(same) as u64;
        }
        acc
    }

    /// (f) `execute` today, called where the runtime's context is already current.
    #[inline(never)]
    fn loop_enter_nested(handle: &Handle, k: u64) -> u64 {
        let _g = handle.enter();
        let mut acc = 0;
        for i in 0..k {
            let _g2 = handle.enter();
            acc += poll_ready(i);
        }
        acc
    }

    /// `text` as a whole number of at least 1, else a one-line error and exit 2.
    fn number<T: std::str::FromStr + PartialOrd + From<u8>>(text: &str, what: &str) -> T {
        match text.parse::<T>() {
            Ok(n) if n >= T::from(1) => n,
            _ => {
                eprintln!(
                    "enter_cost: {what} must be a whole number of at least 1, not {text:?}\n{USAGE}"
                );
                std::process::exit(2);
            }
        }
    }

    fn run(mode: &str, handle: &Handle, id: Id, k: u64) -> u64 {
        match mode {
            "a" => loop_enter(black_box(handle), k),
            "b" => loop_kept(black_box(handle), k),
            "c" => loop_check(black_box(handle), id, k),
            "f" => loop_enter_nested(black_box(handle), k),
            other => {
                eprintln!("enter_cost: mode must be a, b, c or f, not {other:?}\n{USAGE}");
                std::process::exit(2);
            }
        }
    }

    #[allow(unsafe_code)] // libc's sched_setaffinity.
    fn pin_to_cpu(cpu: usize) {
        // SAFETY: a zeroed cpu_set_t is an empty set; the calls only read/write it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            let rc = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
            assert_eq!(rc, 0);
        }
    }

    pub(crate) fn main() {
        let args: Vec<String> = std::env::args().collect();
        let mode = args.get(1).map(String::as_str).unwrap_or("a").to_owned();
        let threads: Vec<usize> = args
            .get(2)
            .map(String::as_str)
            .unwrap_or("1,2,4,8,16")
            .split(',')
            .map(|s| number(s, "a thread count"))
            .collect();
        let k: u64 = args
            .get(3)
            .map_or(1_000_000, |s| number(s, "calls per thread"));
        let runs: usize = args.get(4).map_or(3, |s| number(s, "runs"));

        // PIN=1: pin calling thread i to CPU i % (number of CPUs), so that threads on
        // different CPUs write the handle's count at the same time when both are scheduled.
        let pin = std::env::var_os("PIN").is_some_and(|v| v == "1");
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());

        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_time()
            .build()
            .unwrap();
        let handle = rt.handle();
        let id = handle.id();

        for &n in &threads {
            let mut per_run = Vec::new();
            for _ in 0..runs {
                let barrier = Barrier::new(n);
                let cpu: u64 = std::thread::scope(|s| {
                    let hs: Vec<_> = (0..n)
                        .map(|i| {
                            let barrier = &barrier;
                            let mode = &mode;
                            s.spawn(move || {
                                if pin {
                                    pin_to_cpu(i % cpus);
                                }
                                barrier.wait();
                                let t0 = thread_cpu_ns();
                                black_box(run(mode, handle, id, k));
                                thread_cpu_ns() - t0
                            })
                        })
                        .collect();
                    hs.into_iter().map(|h| h.join().unwrap()).sum()
                });
                per_run.push(cpu as f64 / (n as u64 * k) as f64);
            }
            let mut sorted = per_run.clone();
            sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let runs_s: Vec<String> = per_run.iter().map(|v| format!("{v:.2}")).collect();
            println!(
                "mode={mode} pin={pin} N={n:2} K={k} ns/call: median {:.2} range {:.2}-{:.2} runs [{}]",
                sorted[sorted.len() / 2],
                sorted[0],
                sorted[sorted.len() - 1],
                runs_s.join(", ")
            );
        }
    }
}
