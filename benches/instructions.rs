//! Instruction counts under Valgrind (gungraun): the deterministic guard of globalrt's cost.
//!
//! `cargo xtask bench` runs this suite and compares it with `benches/baseline.json`;
//! `cargo bench --bench instructions` runs it alone (it needs `valgrind` and a
//! `gungraun-runner` of the same version as the `gungraun` dev-dependency).
//!
//! # What is counted: every thread that does the work
//!
//! By default callgrind counts only the benchmark function on the calling thread, so the
//! tokio workers that drive timers and I/O, and the threads `naive::execute` spawns and
//! joins, would read 0. Here every callgrind benchmark runs with `--instr-atstart=no` and
//! no gungraun entry point, and the benchmark turns instrumentation on and off itself with
//! callgrind client requests ([`counted`]). Instrumentation is process-wide, so every
//! thread's instructions between the two requests are counted: the caller, the shared
//! runtime's workers and blocking-pool threads, the naive runtime's threads. Setup, the
//! harness and teardown are never counted. `--separate-threads=yes` (gungraun's default)
//! keeps one callgrind file per thread, so the per-thread figures are in the summary.
//!
//! `execute_concurrent` is the exception: the other callers are load, not work, so only the
//! measured caller is counted (`--collect-atstart=no` plus a per-thread `toggle_collect`).
//!
//! # Reproducibility
//!
//! - `cargo xtask bench` starts Valgrind under `chrt --fifo 1` on one CPU with ASLR off
//!   (`xtask/src/bench/pinning.rs`). Valgrind runs one thread at a time but lets the host
//!   kernel pick which runs next after every futex wake or `epoll_wait`; under a real-time
//!   FIFO policy on one CPU that pick is the same in every run, so work that crosses threads
//!   (timers, I/O, the naive runtime's start and shutdown) counts the same instructions run
//!   after run. Only what reads the clock (tokio's timer wheel) can still take another path:
//!   about one run in ten of the timer and realistic benchmarks moves by up to 0.4%, which
//!   the gate's median of three runs absorbs. Run alone (`cargo bench --bench
//!   instructions`), the suite is unpinned and those benchmarks move by up to 36%.
//! - `--fair-sched=yes` makes Valgrind's lock a FIFO ticket lock.
//! - Worker counts are pinned (`GLOBALRT_WORKER_THREADS`, `TOKIO_WORKER_THREADS` = 2), so
//!   the figures do not depend on the machine's CPU count.
//! - The shared runtime is built and warmed up in setup, then left to park its workers
//!   ([`settle`]) before counting starts: an idle worker does no work while counted.
//! - Benchmarks whose work crosses threads (timers, I/O, runtime start-up) keep counting
//!   until the other threads are idle again ([`counted_until_idle`]), so their work is
//!   never cut off at a scheduling-dependent point.
//! - No `-C target-cpu=native`: Valgrind does not know AVX-512.

#[cfg(target_os = "linux")]
#[path = "../examples/support/workload.rs"]
mod workload;

#[cfg(target_os = "linux")]
mod support {
    //! Client requests, counted regions and the setup helpers shared by the groups.

    use std::hint::black_box;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, OnceLock};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    /// Callgrind client requests (`callgrind.h`), issued with Valgrind's magic instruction
    /// sequence. gungraun's own bindings (`valgrind-requests`) need libclang at build time;
    /// these three requests need nothing but `asm!`. Outside Valgrind they do nothing.
    #[allow(unsafe_code)]
    pub(crate) mod client {
        /// `VG_USERREQ_TOOL_BASE('C', 'T')`.
        const CALLGRIND_BASE: usize = ((b'C' as usize) << 24) | ((b'T' as usize) << 16);
        const TOGGLE_COLLECT: usize = CALLGRIND_BASE + 2;
        const START_INSTRUMENTATION: usize = CALLGRIND_BASE + 4;
        const STOP_INSTRUMENTATION: usize = CALLGRIND_BASE + 5;

        #[cfg(target_arch = "x86_64")]
        #[inline(always)]
        fn request(code: usize) {
            let args: [usize; 6] = [code, 0, 0, 0, 0, 0];
            // SAFETY: the amd64 client-request preamble from valgrind.h. The four rotations
            // of rdi add up to 128 bits (rdi unchanged; declared clobbered all the same), the
            // xchg of rbx with itself changes nothing; natively the sequence is a no-op that
            // leaves rdx at its default 0, under Valgrind rdx receives the result. `args`
            // outlives the asm block, which only reads it.
            unsafe {
                std::arch::asm!(
                    "rol rdi, 3",
                    "rol rdi, 13",
                    "rol rdi, 61",
                    "rol rdi, 51",
                    "xchg rbx, rbx",
                    inout("rdx") 0usize => _,
                    in("rax") args.as_ptr(),
                    inout("rdi") 0usize => _,
                    options(nostack),
                );
            }
        }

        #[cfg(not(target_arch = "x86_64"))]
        #[inline(always)]
        fn request(_code: usize) {
            compile_error!(
                "benches/instructions.rs issues callgrind client requests on x86_64 only"
            );
        }

        /// Turns instrumentation on for the whole process (every thread).
        #[inline(always)]
        pub(crate) fn start_instrumentation() {
            request(START_INSTRUMENTATION);
        }

        /// Turns instrumentation off for the whole process.
        #[inline(always)]
        pub(crate) fn stop_instrumentation() {
            request(STOP_INSTRUMENTATION);
        }

        /// Flips the calling thread's collection state (per thread in callgrind).
        #[inline(always)]
        pub(crate) fn toggle_collect() {
            request(TOGGLE_COLLECT);
        }
    }

    /// Runs `f` with callgrind instrumentation on: every thread's instructions count.
    #[inline(never)]
    pub(crate) fn counted<T>(f: impl FnOnce() -> T) -> T {
        client::start_instrumentation();
        let out = black_box(f());
        client::stop_instrumentation();
        out
    }

    /// Like [`counted`], then waits (still counting) until the other threads are idle again,
    /// so work they finish after `f` returns (waking, freeing tasks, parking) is counted
    /// whole rather than cut off at a point that depends on thread scheduling.
    #[inline(never)]
    pub(crate) fn counted_until_idle<T>(f: impl FnOnce() -> T) -> T {
        client::start_instrumentation();
        let out = black_box(f());
        settle();
        client::stop_instrumentation();
        out
    }

    /// Runs `f` counting the calling thread only (needs `--collect-atstart=no`).
    #[inline(never)]
    pub(crate) fn counted_on_this_thread<T>(f: impl FnOnce() -> T) -> T {
        client::start_instrumentation();
        client::toggle_collect();
        let out = black_box(f());
        client::toggle_collect();
        client::stop_instrumentation();
        out
    }

    /// Lets freshly started threads reach their idle park before counting starts.
    pub(crate) fn settle() {
        std::thread::sleep(Duration::from_millis(30));
    }

    /// Builds the shared runtime (worker count from `GLOBALRT_WORKER_THREADS`), runs one
    /// future through each path the benchmarks use, lets the workers park, and waits for
    /// the same point of the timer wheel's cycle ([`align_with_timer_wheel`]).
    pub(crate) fn warm_global() {
        // Taken just before the first call builds the runtime, whose clock starts there.
        let built = *BUILT.get_or_init(Instant::now);
        globalrt::execute(async { black_box(1) });
        globalrt::execute(async {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        });
        settle();
        align_with_timer_wheel(built);
    }

    static BUILT: OnceLock<Instant> = OnceLock::new();

    /// Sleeps until counting will start [`WHEEL_PHASE`] into one of the timer wheel's 64 ms
    /// windows, counted from the runtime's start.
    ///
    /// tokio's timer wheel files a deadline by how its millisecond tick differs from the
    /// wheel's current one: within the current 64 ms window it lands on level 0, across a
    /// window boundary on level 1, and every later expiry pays a cascade (138 instructions
    /// more per timer benchmark run). Which it is followed the wall-clock phase at which
    /// counting began, and setup's sleeps made that phase sit near a boundary: the timer
    /// benchmark took the longer path in 1 to 7 runs of 10 depending on the day. Starting at
    /// a fixed phase makes every run cross the same boundaries.
    fn align_with_timer_wheel(built: Instant) {
        let elapsed = built.elapsed().as_millis();
        let wait = (WHEEL_WINDOW + WHEEL_PHASE - elapsed % WHEEL_WINDOW) % WHEEL_WINDOW;
        std::thread::sleep(Duration::from_millis(wait as u64));
    }

    /// tokio's level-0 wheel: 64 slots of 1 ms.
    const WHEEL_WINDOW: u128 = 64;
    /// Where in a window counting starts: late enough that building the runtime (which
    /// starts its clock a little after [`BUILT`]) is already past, early enough that the
    /// longest timer benchmark ends inside the window.
    const WHEEL_PHASE: u128 = 16;

    /// Builds a multi-thread runtime like `Runtime::new()` with the pinned worker count.
    pub(crate) fn reference_runtime() -> tokio::runtime::Runtime {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("benches: cannot build the reference runtime");
        rt.block_on(async { black_box(1) });
        settle();
        rt
    }

    /// A scratch directory for the demo's command mix, removed in teardown.
    ///
    /// Its name has the same length in every run (the process id zero-padded): the commands
    /// format and copy paths inside it, and a process id one digit longer counted up to 1,387
    /// more instructions in global_batch_10.
    pub(crate) fn scratch_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("globalrt-bench-{:010}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("benches: cannot create a scratch directory");
        dir
    }

    /// Other threads calling `execute` in a loop until dropped.
    pub(crate) struct Callers {
        stop: Arc<AtomicBool>,
        threads: Vec<JoinHandle<()>>,
    }

    impl Callers {
        pub(crate) fn start(count: usize) -> Self {
            warm_global();
            let stop = Arc::new(AtomicBool::new(false));
            let threads = (0..count)
                .map(|_| {
                    let stop = Arc::clone(&stop);
                    std::thread::spawn(move || {
                        while !stop.load(Ordering::Relaxed) {
                            globalrt::execute(async { black_box(3) });
                            std::thread::yield_now();
                        }
                    })
                })
                .collect();
            settle();
            Callers { stop, threads }
        }
    }

    impl Drop for Callers {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            for thread in self.threads.drain(..) {
                let _ = thread.join();
            }
        }
    }
}

#[cfg(target_os = "linux")]
use std::hint::black_box;
#[cfg(target_os = "linux")]
use std::time::Duration;

#[cfg(target_os = "linux")]
use gungraun::{
    Callgrind, Dhat, EntryPoint, LibraryBenchmarkConfig, Tool, library_benchmark,
    library_benchmark_group, main,
};
#[cfg(target_os = "linux")]
use support::{Callers, counted, counted_on_this_thread, counted_until_idle, warm_global};

/// How many calls the cheap deterministic benchmarks make, so that a change of one
/// instruction per call shows as 100 instructions, well above the gate's absolute floor.
#[cfg(target_os = "linux")]
const CALLS: u64 = 100;

/// Callgrind counting every thread between the client requests in [`counted`].
#[cfg(target_os = "linux")]
fn all_threads() -> LibraryBenchmarkConfig {
    let mut config = LibraryBenchmarkConfig::default();
    config.tool(
        Callgrind::with_args(["--instr-atstart=no", "--cache-sim=no"])
            .entry_point(EntryPoint::None)
            .clone(),
    );
    config
}

/// Callgrind counting the calling thread alone, in [`counted_on_this_thread`].
#[cfg(target_os = "linux")]
fn caller_only() -> LibraryBenchmarkConfig {
    let mut config = LibraryBenchmarkConfig::default();
    config.tool(
        Callgrind::with_args([
            "--instr-atstart=no",
            "--collect-atstart=no",
            "--cache-sim=no",
        ])
        .entry_point(EntryPoint::None)
        .clone(),
    );
    config
}

/// DHAT alone: heap figures of the allocations made under the benchmark function.
#[cfg(target_os = "linux")]
fn heap() -> LibraryBenchmarkConfig {
    let mut config = LibraryBenchmarkConfig::default();
    config.default_tool(Tool::DHAT).tool(Dhat::default());
    config
}

// ---------------------------------------------------------------------------------------
// execute_baseline: the shared runtime's per-call cost, CALLS calls per benchmark.

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::ready(setup = warm_global)]
fn ready(_: ()) -> u64 {
    counted(|| {
        let mut sum = 0;
        for i in 0..CALLS {
            sum += globalrt::execute(async move { black_box(i) });
        }
        sum
    })
}

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::small_computation(setup = warm_global)]
fn small_computation(_: ()) -> u64 {
    counted(|| {
        let mut sum = 0;
        for i in 0..CALLS {
            sum += globalrt::execute(async move {
                (0..black_box(64u64)).fold(i, |acc, k| acc.wrapping_mul(31).wrapping_add(k))
            });
        }
        sum
    })
}

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::yield_once(setup = warm_global)]
fn yield_once(_: ()) -> u64 {
    counted(|| {
        let mut sum = 0;
        for i in 0..CALLS {
            sum += globalrt::execute(async move {
                tokio::task::yield_now().await;
                black_box(i)
            });
        }
        sum
    })
}

// Multi-threaded: a worker's time driver wakes the caller. Ten calls of a 1 ms sleep.
#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::timer_x10(setup = warm_global)]
fn timer(_: ()) {
    counted_until_idle(|| {
        for _ in 0..10 {
            globalrt::execute(async { tokio::time::sleep(Duration::from_millis(1)).await });
        }
    });
}

#[cfg(target_os = "linux")]
library_benchmark_group!(
    name = execute_baseline;
    config = all_threads();
    benchmarks = ready, small_computation, yield_once, timer
);

// ---------------------------------------------------------------------------------------
// execute_concurrent: CALLS calls on one thread while N others call `execute` too.

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::other_callers_2(setup = Callers::start, args = (2))]
#[bench::other_callers_4(setup = Callers::start, args = (4))]
#[bench::other_callers_10(setup = Callers::start, args = (10))]
fn concurrent_ready(callers: Callers) -> (u64, Callers) {
    let sum = counted_on_this_thread(|| {
        let mut sum = 0;
        for i in 0..CALLS {
            sum += globalrt::execute(async move { black_box(i) });
        }
        sum
    });
    // Returned, so the callers are stopped and joined after counting ends.
    (sum, callers)
}

#[cfg(target_os = "linux")]
library_benchmark_group!(
    name = execute_concurrent;
    config = caller_only();
    benchmarks = concurrent_ready
);

// ---------------------------------------------------------------------------------------
// naive_vs_global: one call of the same ready future on each path.

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::naive_execute()]
fn naive_execute() -> u64 {
    counted(|| globalrt::naive::execute(async { black_box(42u64) }))
}

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::global_execute(setup = warm_global)]
fn global_execute(_: ()) -> u64 {
    counted(|| globalrt::execute(async { black_box(42u64) }))
}

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::runtime_block_on(setup = support::reference_runtime)]
fn runtime_block_on(rt: tokio::runtime::Runtime) -> (u64, tokio::runtime::Runtime) {
    let n = counted(|| rt.block_on(async { black_box(42u64) }));
    (n, rt)
}

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::handle_block_on(setup = support::reference_runtime)]
fn handle_block_on(rt: tokio::runtime::Runtime) -> (u64, tokio::runtime::Runtime) {
    let handle = rt.handle().clone();
    let n = counted(|| handle.block_on(async { black_box(42u64) }));
    (n, rt)
}

// The runtime-less bridges: no runtime context to enter, a waker of their own. Each makes
// one uncounted call first, as the rows above do in setup, so the count is a steady-state
// call (futures-executor builds its thread-local waker on a thread's first call).
#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::futures_block_on()]
fn futures_block_on() -> u64 {
    futures_executor::block_on(async { black_box(1u64) });
    counted(|| futures_executor::block_on(async { black_box(42u64) }))
}

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::pollster_block_on()]
fn pollster_block_on() -> u64 {
    pollster::block_on(async { black_box(1u64) });
    counted(|| pollster::block_on(async { black_box(42u64) }))
}

// The same pair on a future that is pending at its first poll: execute's slow path
// (no-op first poll, then its own park loop) against block_on doing the same work.
#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::global_execute_yield_once(setup = warm_global)]
fn global_execute_yield_once(_: ()) -> u64 {
    counted(|| {
        globalrt::execute(async {
            tokio::task::yield_now().await;
            black_box(42u64)
        })
    })
}

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::runtime_block_on_yield_once(setup = support::reference_runtime)]
fn runtime_block_on_yield_once(rt: tokio::runtime::Runtime) -> (u64, tokio::runtime::Runtime) {
    let n = counted(|| {
        rt.block_on(async {
            tokio::task::yield_now().await;
            black_box(42u64)
        })
    });
    (n, rt)
}

#[cfg(target_os = "linux")]
library_benchmark_group!(
    name = naive_vs_global;
    config = all_threads();
    benchmarks = naive_execute, global_execute, runtime_block_on, handle_block_on,
        futures_block_on, pollster_block_on, global_execute_yield_once,
        runtime_block_on_yield_once
);

// ---------------------------------------------------------------------------------------
// realistic_workloads: the demo's command mix (examples/support/workload.rs).

#[cfg(target_os = "linux")]
fn warm_workload() -> std::path::PathBuf {
    warm_global();
    let dir = support::scratch_dir();
    globalrt::execute(workload::command(&dir, 0)).expect("benches: warm-up command failed");
    support::settle();
    dir
}

#[cfg(target_os = "linux")]
fn remove_dir(dir: std::path::PathBuf) {
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(target_os = "linux")]
#[library_benchmark(teardown = remove_dir)]
#[bench::global_one_command(setup = warm_workload)]
fn global_one_command(dir: std::path::PathBuf) -> std::path::PathBuf {
    let sum = counted_until_idle(|| globalrt::execute(workload::command(&dir, 1)));
    assert_eq!(sum.expect("command failed"), workload::expected(1));
    dir
}

#[cfg(target_os = "linux")]
#[library_benchmark(teardown = remove_dir)]
#[bench::global_batch_10(setup = warm_workload)]
fn global_batch(dir: std::path::PathBuf) -> std::path::PathBuf {
    counted_until_idle(|| {
        for id in 1..=10 {
            let sum = globalrt::execute(workload::command(&dir, id));
            assert_eq!(sum.expect("command failed"), workload::expected(id));
        }
    });
    dir
}

#[cfg(target_os = "linux")]
#[library_benchmark(teardown = remove_dir)]
#[bench::naive_one_command(setup = support::scratch_dir)]
fn naive_one_command(dir: std::path::PathBuf) -> std::path::PathBuf {
    let sum = counted(|| globalrt::naive::execute(workload::command(&dir, 1)));
    assert_eq!(sum.expect("command failed"), workload::expected(1));
    dir
}

#[cfg(target_os = "linux")]
library_benchmark_group!(
    name = realistic_workloads;
    config = all_threads();
    benchmarks = global_one_command, global_batch, naive_one_command
);

// ---------------------------------------------------------------------------------------
// memory_pressure: heap figures with DHAT (allocations made under the benchmark function).

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::build_runtime()]
fn build_runtime() {
    globalrt::init(globalrt::Config::new()).expect("benches: init failed");
}

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::execute_1000_ready(setup = warm_global)]
fn execute_1000_ready(_: ()) -> u64 {
    let mut sum = 0;
    for i in 0..1000u64 {
        sum += globalrt::execute(async move { black_box(i) });
    }
    sum
}

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::execute_1000_yield_once(setup = warm_global)]
fn execute_1000_yield_once(_: ()) -> u64 {
    let mut sum = 0;
    for i in 0..1000u64 {
        sum += globalrt::execute(async move {
            tokio::task::yield_now().await;
            black_box(i)
        });
    }
    sum
}

#[cfg(target_os = "linux")]
library_benchmark_group!(
    name = memory_pressure;
    config = heap();
    benchmarks = build_runtime, execute_1000_ready, execute_1000_yield_once
);

// ---------------------------------------------------------------------------------------
// startup_time: building the shared runtime plus the first execute, in a fresh process.

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::first_execute()]
fn first_execute() -> u64 {
    counted_until_idle(|| globalrt::execute(async { black_box(42u64) }))
}

#[cfg(target_os = "linux")]
library_benchmark_group!(
    name = startup_time;
    config = all_threads();
    benchmarks = first_execute
);

// ---------------------------------------------------------------------------------------
// error_handling: Ok vs Err through execute, and a caught panic.

/// An error value as a command handler would return it.
#[cfg(target_os = "linux")]
#[derive(Debug)]
struct CommandError(u64);

#[cfg(target_os = "linux")]
fn quiet_panics() {
    warm_global();
    std::panic::set_hook(Box::new(|_| {}));
    // The first panic initialises the unwinder's state; do it before counting.
    let _ = globalrt::try_execute(async { panic!("warm-up") });
}

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::ok(setup = warm_global)]
fn result_ok(_: ()) -> u64 {
    counted(|| {
        let mut ok = 0;
        for i in 0..CALLS {
            let r: Result<u64, CommandError> = globalrt::execute(async move { Ok(black_box(i)) });
            ok += u64::from(r.is_ok());
        }
        ok
    })
}

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::err(setup = warm_global)]
fn result_err(_: ()) -> u64 {
    counted(|| {
        let mut code = 0;
        for i in 0..CALLS {
            let r: Result<u64, CommandError> =
                globalrt::execute(async move { Err(CommandError(black_box(i))) });
            code += r.err().map_or(0, |e| e.0);
        }
        code
    })
}

#[cfg(target_os = "linux")]
#[library_benchmark]
#[bench::caught_panic_x10(setup = quiet_panics)]
fn caught_panic(_: ()) -> usize {
    counted(|| {
        (0..10)
            .filter(|_| globalrt::try_execute(async { panic!("boom") }).is_err())
            .count()
    })
}

#[cfg(target_os = "linux")]
library_benchmark_group!(
    name = error_handling;
    config = all_threads();
    benchmarks = result_ok, result_err, caught_panic
);

#[cfg(target_os = "linux")]
main!(
    config = LibraryBenchmarkConfig::default()
        .valgrind_args(["--fair-sched=yes"])
        .env("GLOBALRT_WORKER_THREADS", "2")
        .env("TOKIO_WORKER_THREADS", "2");
    library_benchmark_groups = execute_baseline,
        execute_concurrent,
        naive_vs_global,
        realistic_workloads,
        memory_pressure,
        startup_time,
        error_handling
);

#[cfg(not(target_os = "linux"))]
fn main() {}
