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
        compile_error!("benches/instructions.rs issues callgrind client requests on x86_64 only");
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
