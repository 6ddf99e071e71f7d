//! Wall-clock suite (criterion): what globalrt costs in time, memory and threads.
//!
//! It guards the figures of the SLO table that `cargo xtask slo` prints. Seven groups,
//! each measuring exactly what its name says:
//!
//! - `execute_baseline`: `execute` of a ready future, of a small computation, and of a
//!   1 µs timer (which shows tokio's 1 ms timer granularity, not 1 µs).
//! - `execute_concurrent`: per-call latency of `execute(ready)` while 1, 2, 4, 10 and 16
//!   threads call at once. The threads are spawned before any timing, released together
//!   by a barrier, and each times only its own calls (`iter_custom`); the figure is the
//!   mean over threads of one thread's time per call, on two clocks: `threads/N` is
//!   wall-clock time (a preemption during a thread's calls counts, a wait for a core
//!   before its first call does not), `thread_cpu/N` the calling thread's CPU time (the
//!   cost of the call under contention, without waits for a core; Linux only). With more
//!   threads than cores the wall clock mostly measures the scheduler, so the SLO table
//!   judges `thread_cpu/10` and shows `threads/10` beside it.
//! - `naive_vs_global`: the same ready future through `naive::execute` (a runtime per
//!   call), `execute`, and, for reference, plain `Runtime::block_on` on a runtime built
//!   like the shared one, `Handle::block_on` on the shared runtime's handle, and the
//!   runtime-less bridges `futures_executor::block_on` (a thread-local waker) and
//!   `pollster::block_on` (a waker allocated per call), which enter no runtime at all.
//! - `realistic_workloads`: the demo's command mix (`examples/support/workload.rs`), one
//!   command and the 280-command batch, through `execute` and through `naive::execute`.
//! - `memory_pressure`: memory, not time, so it is not a criterion group: bytes
//!   allocated, allocation count and peak live bytes from a counting global allocator in
//!   this binary; peak RSS and OS threads created by the demo process
//!   (`examples/batch.rs --json`) at 280 commands in each mode. It prints its figures and
//!   writes them to `target/slo/memory.json` for `cargo xtask slo`.
//! - `startup_time`: from nothing to the first `execute` finished. The shared runtime is
//!   process-global and built once, so each sample builds a *fresh* runtime with the
//!   shared runtime's configuration and runs the first execute on it; and, as a whole
//!   process, the demo spawned with one command.
//! - `error_handling`: `Ok` vs a boxed `Err` vs a panic caught around `execute`.
//!
//! Run: `cargo bench --bench runtime_overhead` (add `-- <filter>` for one group), or
//! `cargo xtask slo` for the table. `cargo test --benches` runs each benchmark once.
//!
//! The counting allocator adds two relaxed atomic adds and a `fetch_max` to every
//! allocation in this binary, for every group: the allocation-free fast path of
//! `execute` is unaffected; allocation-heavy paths (`naive::execute`) pay a few ns
//! per allocation on top of hundreds of µs.

// The counting global allocator needs `unsafe impl GlobalAlloc`; nothing else here is unsafe.
#![allow(unsafe_code)]

#[path = "../examples/support/workload.rs"]
mod workload;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group};

// ---------------------------------------------------------------------------------------
// Counting allocator

/// Counts every allocation of this process: total bytes, count, live bytes and their peak.
struct Counting;

static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn record_alloc(size: usize) {
    ALLOCATED_BYTES.fetch_add(size as u64, Ordering::Relaxed);
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    let live = LIVE_BYTES.fetch_add(size, Ordering::Relaxed) + size;
    PEAK_LIVE_BYTES.fetch_max(live, Ordering::Relaxed);
}

fn record_dealloc(size: usize) {
    LIVE_BYTES.fetch_sub(size, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and
// only updates counters on success, so `System`'s guarantees carry over.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) };
        record_dealloc(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as ours.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // Counted like dhat does: a new allocation of `new_size`, and the old block freed.
            record_alloc(new_size);
            record_dealloc(layout.size());
        }
        new
    }
}

/// What the counting allocator saw while one closure ran (on any thread of the process).
#[derive(Clone, Copy, Debug)]
struct MemoryUse {
    bytes_allocated: u64,
    allocations: u64,
    /// Highest live heap above the live heap at the start.
    peak_live_bytes: u64,
}

fn measure_memory<R>(f: impl FnOnce() -> R) -> (R, MemoryUse) {
    let bytes0 = ALLOCATED_BYTES.load(Ordering::SeqCst);
    let count0 = ALLOCATIONS.load(Ordering::SeqCst);
    let live0 = LIVE_BYTES.load(Ordering::SeqCst);
    PEAK_LIVE_BYTES.store(live0, Ordering::SeqCst);
    let out = f();
    let usage = MemoryUse {
        bytes_allocated: ALLOCATED_BYTES.load(Ordering::SeqCst) - bytes0,
        allocations: ALLOCATIONS.load(Ordering::SeqCst) - count0,
        peak_live_bytes: PEAK_LIVE_BYTES.load(Ordering::SeqCst).saturating_sub(live0) as u64,
    };
    (out, usage)
}

// ---------------------------------------------------------------------------------------
// Shared helpers

/// A multi-thread runtime configured as `globalrt::Config::new()` builds the shared one:
/// `enable_all`, one worker per CPU (tokio's default) unless `GLOBALRT_WORKER_THREADS`
/// says otherwise, threads named `globalrt-worker`. (`Config::build` is crate-private, so
/// the bench mirrors it; keep the two in step.)
fn runtime_like_shared() -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("globalrt-worker");
    if let Some(n) = std::env::var(globalrt::WORKER_THREADS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n >= 1)
    {
        builder.worker_threads(n);
    }
    builder
        .build()
        .expect("runtime_overhead: cannot build a multi-thread runtime")
}

/// What `execute` does for a ready future after the runtime exists: enter its context,
/// poll once with a no-op waker.
fn enter_and_poll_ready<F: Future>(handle: &tokio::runtime::Handle, future: F) -> F::Output {
    let _context = handle.enter();
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("runtime_overhead: the startup future must be ready"),
    }
}

/// Where this suite writes its own figures (`memory.json`): `$GLOBALRT_SLO_DIR`, else
/// `slo/` in cargo's target directory.
fn slo_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GLOBALRT_SLO_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("slo")
}

/// The demo binary (`examples/batch.rs`): `$GLOBALRT_BATCH_BIN` (what `cargo xtask slo`
/// passes), else built now with `cargo build --release --example batch`.
fn batch_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("GLOBALRT_BATCH_BIN") {
        return Ok(PathBuf::from(path));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "--release", "--example", "batch"])
        .status()
        .map_err(|err| format!("cannot run cargo to build the demo: {err}"))?;
    if !status.success() {
        return Err(format!(
            "`cargo build --release --example batch` failed ({status})"
        ));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let path = target.join("release/examples/batch");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found after building the demo; set GLOBALRT_BATCH_BIN",
            path.display()
        ))
    }
}

/// Runs the demo once, output discarded; panics if it fails (a broken demo is not a figure).
fn run_demo(binary: &Path, mode: &str, commands: u32) {
    let status = Command::new(binary)
        .args(["--mode", mode, "--commands", &commands.to_string()])
        .stdout(Stdio::null())
        .status()
        .expect("runtime_overhead: cannot start the demo");
    assert!(
        status.success(),
        "runtime_overhead: demo --mode {mode} failed: {status}"
    );
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("globalrt-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("runtime_overhead: cannot create a temp dir");
    dir
}

/// Runs `commands` demo commands through `run` and checks every checksum.
fn batch(commands: u32, run: impl Fn(u32) -> std::io::Result<u64>) {
    for id in 0..commands {
        let sum = run(id).expect("runtime_overhead: a demo command failed");
        assert_eq!(sum, workload::expected(id), "command {id}: wrong checksum");
    }
}

// ---------------------------------------------------------------------------------------
// 1. execute_baseline

fn execute_baseline(c: &mut Criterion) {
    // Build the shared runtime before timing: the first call's build is `startup_time`'s.
    globalrt::execute(async {});
    let mut group = c.benchmark_group("execute_baseline");
    // Times: one `execute` of a future that is ready at its first poll.
    group.bench_function("ready", |b| {
        b.iter(|| globalrt::execute(async { black_box(42_u64) }))
    });
    // Times: one `execute` of a future that does a little arithmetic and is then ready.
    group.bench_function("small_computation", |b| {
        b.iter(|| {
            globalrt::execute(async {
                (0..black_box(64_u64)).fold(0_u64, |acc, x| acc.wrapping_mul(31).wrapping_add(x))
            })
        })
    });
    // Times: the same ready future through `execute_local` (no `Send` bound); it shares
    // `execute`'s fast path, so it should cost what `ready` does.
    group.bench_function("ready_local", |b| {
        b.iter(|| globalrt::execute_local(async { black_box(42_u64) }))
    });
    // Times: one call of a future that yields once (pending at its first poll, so the
    // slow path: a waker, one park attempt), through `execute` and `execute_local`.
    group.bench_function("yield_once", |b| {
        b.iter(|| {
            globalrt::execute(async {
                tokio::task::yield_now().await;
                black_box(42_u64)
            })
        })
    });
    // The `!Send` variant holds an `Rc` across the yield (one allocation more).
    group.bench_function("yield_once_local", |b| {
        b.iter(|| {
            globalrt::execute_local(async {
                let not_send = std::rc::Rc::new(black_box(42_u64));
                tokio::task::yield_now().await;
                *not_send
            })
        })
    });
    // Times: one `execute` of `sleep(1 µs)` (created inside the future, so inside the
    // runtime's context): tokio's timer wheel has a 1 ms tick, so this shows the timer
    // granularity (≈ 1 ms), not 1 µs. Over 1 ms per call: sampled flat, like the other
    // millisecond-scale benchmarks, so a short run can finish its samples.
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("timer_1us", |b| {
        b.iter(|| globalrt::execute(async { tokio::time::sleep(Duration::from_micros(1)).await }))
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------
// 2. execute_concurrent

/// `n` caller threads, spawned once and parked on a barrier between samples.
struct Crew {
    shared: Arc<CrewShared>,
    threads: Vec<JoinHandle<()>>,
}

struct CrewShared {
    start: Barrier,
    done: Barrier,
    /// Calls per thread in the next round; 0 tells the threads to exit.
    iters: AtomicU64,
    /// Sum over threads of each thread's own wall-clock time for its calls, in ns.
    wall_nanos: AtomicU64,
    /// Sum over threads of each thread's own CPU time for its calls, in ns.
    cpu_nanos: AtomicU64,
}

/// What a crew round reports.
#[derive(Clone, Copy)]
enum Clock {
    /// Wall-clock time from a thread's first call to its last: includes preemption.
    Wall,
    /// The thread's CPU time for its calls (`CLOCK_THREAD_CPUTIME_ID`): excludes the time
    /// it waited for a core, which dominates the wall clock with more threads than cores.
    ThreadCpu,
}

/// This thread's CPU time, where the OS offers a per-thread clock.
#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Option<Duration> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; the clock id is supported on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    (rc == 0).then(|| Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_time() -> Option<Duration> {
    None
}

impl Crew {
    fn new(n: usize) -> Crew {
        let shared = Arc::new(CrewShared {
            start: Barrier::new(n + 1),
            done: Barrier::new(n + 1),
            iters: AtomicU64::new(0),
            wall_nanos: AtomicU64::new(0),
            cpu_nanos: AtomicU64::new(0),
        });
        let threads = (0..n)
            .map(|i| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("bench-caller-{i}"))
                    .spawn(move || {
                        loop {
                            shared.start.wait();
                            let iters = shared.iters.load(Ordering::Acquire);
                            if iters == 0 {
                                break;
                            }
                            let cpu_started = thread_cpu_time();
                            let started = Instant::now();
                            for _ in 0..iters {
                                black_box(globalrt::execute(async { black_box(1_u64) }));
                            }
                            let wall = started.elapsed();
                            let cpu = thread_cpu_time()
                                .zip(cpu_started)
                                .map_or(Duration::ZERO, |(end, start)| end - start);
                            let nanos = |d: Duration| d.as_nanos() as u64;
                            shared.wall_nanos.fetch_add(nanos(wall), Ordering::AcqRel);
                            shared.cpu_nanos.fetch_add(nanos(cpu), Ordering::AcqRel);
                            shared.done.wait();
                        }
                    })
                    .expect("runtime_overhead: cannot spawn a caller thread")
            })
            .collect();
        Crew { shared, threads }
    }

    /// Every thread makes `iters` calls at once; returns the mean over threads of each
    /// thread's own time for its calls, so criterion's time per iteration is one
    /// caller's time per call.
    fn round(&self, iters: u64, clock: Clock) -> Duration {
        self.shared.wall_nanos.store(0, Ordering::Release);
        self.shared.cpu_nanos.store(0, Ordering::Release);
        self.shared.iters.store(iters, Ordering::Release);
        self.shared.start.wait();
        self.shared.done.wait();
        let total = match clock {
            Clock::Wall => self.shared.wall_nanos.load(Ordering::Acquire),
            Clock::ThreadCpu => self.shared.cpu_nanos.load(Ordering::Acquire),
        };
        Duration::from_nanos(total / self.threads.len() as u64)
    }
}

impl Drop for Crew {
    fn drop(&mut self) {
        self.shared.iters.store(0, Ordering::Release);
        self.shared.start.wait();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn execute_concurrent(c: &mut Criterion) {
    globalrt::execute(async {});
    let mut group = c.benchmark_group("execute_concurrent");
    for threads in [1_usize, 2, 4, 10, 16] {
        // Spawned here, before any timing; joined when `crew` drops after the benchmarks.
        let crew = Crew::new(threads);
        // Times: per-call wall-clock latency of `execute(ready)` seen by one of `threads`
        // callers calling at the same moment (thread spawn, barrier and join not timed).
        group.bench_function(BenchmarkId::new("threads", threads), |b| {
            b.iter_custom(|iters| crew.round(iters, Clock::Wall))
        });
        // Times: the same calls' CPU time per call on the calling thread: the cost of the
        // call under contention, without the waits for a core that more threads than
        // cores add to the wall clock.
        if thread_cpu_time().is_some() {
            group.bench_function(BenchmarkId::new("thread_cpu", threads), |b| {
                b.iter_custom(|iters| crew.round(iters, Clock::ThreadCpu))
            });
        }
        drop(crew);
    }
    group.finish();
}

// ---------------------------------------------------------------------------------------
// 3. naive_vs_global

fn naive_vs_global(c: &mut Criterion) {
    globalrt::execute(async {});
    let reference = runtime_like_shared();
    let shared_handle = globalrt::handle();
    let mut group = c.benchmark_group("naive_vs_global");
    // Each benchmark times one call with the same ready future.
    group.bench_function("execute", |b| {
        b.iter(|| globalrt::execute(async { black_box(42_u64) }))
    });
    group.bench_function("runtime_block_on", |b| {
        b.iter(|| reference.block_on(async { black_box(42_u64) }))
    });
    group.bench_function("handle_block_on", |b| {
        b.iter(|| shared_handle.block_on(async { black_box(42_u64) }))
    });
    group.bench_function("futures_block_on", |b| {
        b.iter(|| futures_executor::block_on(async { black_box(42_u64) }))
    });
    group.bench_function("pollster_block_on", |b| {
        b.iter(|| pollster::block_on(async { black_box(42_u64) }))
    });
    // Times: `Runtime::new()` + `block_on` + drop, per call.
    group.bench_function("naive_execute", |b| {
        b.iter(|| globalrt::naive::execute(async { black_box(42_u64) }))
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------
// 4. realistic_workloads

fn realistic_workloads(c: &mut Criterion) {
    globalrt::execute(async {});
    let dir = temp_dir("workloads");
    let mut group = c.benchmark_group("realistic_workloads");
    // A demo command takes over 1 ms (its timer rounds up to tokio's tick): sample flat.
    group.sampling_mode(SamplingMode::Flat);
    // Times: one demo command (fs write/read/remove, a timer, a channel round trip,
    // four spawned tasks) through each path.
    group.bench_function("one_command/global", |b| {
        b.iter(|| globalrt::execute(workload::command(&dir, 0)))
    });
    group.bench_function("one_command/naive", |b| {
        b.iter(|| globalrt::naive::execute(workload::command(&dir, 0)))
    });
    // Times: the demo's 280 commands one after another, as `examples/batch.rs` runs them.
    group.sample_size(10);
    group.bench_function("batch_280/global", |b| {
        b.iter(|| batch(280, |id| globalrt::execute(workload::command(&dir, id))))
    });
    group.bench_function("batch_280/naive", |b| {
        b.iter(|| {
            batch(280, |id| {
                globalrt::naive::execute(workload::command(&dir, id))
            })
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// 5. memory_pressure (not a criterion group: it measures bytes and threads, not time)

/// The parts of criterion's command line that `memory_pressure` must honour.
struct RunMode {
    /// `cargo bench` passes `--bench`; `cargo test --benches` does not (run once, write nothing).
    benchmark: bool,
    list: bool,
    filter: Option<String>,
}

impl RunMode {
    fn from_args() -> RunMode {
        // Criterion's options that take a value, so their values are not read as the filter.
        const WITH_VALUE: &[&str] = &[
            "-c",
            "--color",
            "--colour",
            "-s",
            "--save-baseline",
            "-b",
            "--baseline",
            "--baseline-lenient",
            "--format",
            "--profile-time",
            "--load-baseline",
            "--sample-size",
            "--warm-up-time",
            "--measurement-time",
            "--nresamples",
            "--noise-threshold",
            "--confidence-level",
            "--significance-level",
            "--plotting-backend",
            "--output-format",
        ];
        let mut mode = RunMode {
            benchmark: false,
            list: false,
            filter: None,
        };
        let mut args = std::env::args().skip(1);
        let mut test = false;
        let mut profile = false;
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--bench" => mode.benchmark = true,
                "--test" => test = true,
                "--list" => mode.list = true,
                "--profile-time" => {
                    profile = true;
                    args.next();
                }
                a if WITH_VALUE.contains(&a) => {
                    args.next();
                }
                a if a.starts_with('-') => {}
                a => mode.filter = Some(a.to_owned()),
            }
        }
        if test || profile {
            mode.benchmark = false;
        }
        mode
    }

    /// Criterion treats the filter as a regex; this group matches it as plain text.
    fn selects(&self, id: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| id.contains(f))
    }
}

/// Per-call figures from the counting allocator, `calls` calls after one warm-up call.
fn per_call_memory(calls: u64, mut call: impl FnMut()) -> serde_json::Value {
    call();
    let ((), usage) = measure_memory(|| {
        for _ in 0..calls {
            call();
        }
    });
    serde_json::json!({
        "calls": calls,
        "bytes_per_call": usage.bytes_allocated as f64 / calls as f64,
        "allocations_per_call": usage.allocations as f64 / calls as f64,
        "peak_live_bytes": usage.peak_live_bytes,
    })
}

/// One demo process's `--json` line, parsed.
fn demo_json(binary: &Path, mode: &str, commands: u32) -> Result<serde_json::Value, String> {
    let output = Command::new(binary)
        .args([
            "--mode",
            mode,
            "--commands",
            &commands.to_string(),
            "--json",
        ])
        .output()
        .map_err(|err| format!("cannot start {}: {err}", binary.display()))?;
    if !output.status.success() {
        return Err(format!(
            "demo --mode {mode} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).map_err(|err| format!("demo printed {line:?}, not JSON: {err}"))
}

fn memory_pressure() {
    const GROUP: &str = "memory_pressure";
    const IDS: [&str; 4] = [
        "memory_pressure/in_process",
        "memory_pressure/batch_280",
        "memory_pressure/demo_process_280",
        "memory_pressure/threads_created",
    ];
    let mode = RunMode::from_args();
    if mode.list {
        for id in IDS {
            println!("{id}: benchmark");
        }
        return;
    }
    if !IDS.iter().any(|id| mode.selects(id)) {
        return;
    }
    // `cargo test --benches`: run everything once, small, and write nothing.
    let (calls, commands, demo_runs) = if mode.benchmark {
        (10_000, 280, 3)
    } else {
        (10, 2, 1)
    };
    println!("{GROUP}: memory and threads (counting allocator; demo process --json)");
    globalrt::execute(async {});
    let dir = temp_dir("memory");

    let ready = per_call_memory(calls, || {
        black_box(globalrt::execute(async { black_box(42_u64) }));
    });
    let command_calls = (calls / 500).max(2);
    let one_global = per_call_memory(command_calls, || {
        globalrt::execute(workload::command(&dir, 0)).expect("demo command");
    });
    let one_naive = per_call_memory(command_calls, || {
        globalrt::naive::execute(workload::command(&dir, 0)).expect("demo command");
    });
    let ((), batch_global) = measure_memory(|| {
        batch(commands, |id| {
            globalrt::execute(workload::command(&dir, id))
        })
    });
    let ((), batch_naive) = measure_memory(|| {
        batch(commands, |id| {
            globalrt::naive::execute(workload::command(&dir, id))
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
    let batch_json = |u: MemoryUse| {
        serde_json::json!({
            "commands": commands,
            "bytes_allocated": u.bytes_allocated,
            "allocations": u.allocations,
            "peak_live_bytes": u.peak_live_bytes,
        })
    };

    // Each mode's demo process, `demo_runs` times: its own peak RSS (VmHWM) and the
    // threads its runtime(s) started, as it reports them with --json.
    let demo = match batch_binary() {
        Ok(binary) => {
            let mut modes = serde_json::Map::new();
            for demo_mode in ["global", "naive"] {
                let runs: Result<Vec<_>, String> = (0..demo_runs)
                    .map(|_| demo_json(&binary, demo_mode, commands))
                    .collect();
                modes.insert(
                    demo_mode.to_owned(),
                    match runs {
                        Ok(runs) => serde_json::json!({ "commands": commands, "runs": runs }),
                        Err(reason) => serde_json::json!({ "unavailable": reason }),
                    },
                );
            }
            serde_json::Value::Object(modes)
        }
        Err(reason) => serde_json::json!({
            "global": { "unavailable": reason },
            "naive": { "unavailable": reason },
        }),
    };

    let figures = serde_json::json!({
        "schema": 1,
        "source": "benches/runtime_overhead.rs memory_pressure",
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "in_process": {
            "execute_ready": ready,
            "one_command_global": one_global,
            "one_command_naive": one_naive,
            "batch_global": batch_json(batch_global),
            "batch_naive": batch_json(batch_naive),
        },
        "demo_process": demo,
    });
    print_memory(&figures);
    if mode.benchmark {
        let dir = slo_dir();
        let path = dir.join("memory.json");
        let text = serde_json::to_string_pretty(&figures).expect("JSON of plain values");
        let tmp = dir.join("memory.json.tmp");
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&tmp, text))
            .and_then(|()| std::fs::rename(&tmp, &path));
        match written {
            Ok(()) => println!("{GROUP}: figures written to {}", path.display()),
            Err(err) => panic!("runtime_overhead: cannot write {}: {err}", path.display()),
        }
    }
}

fn print_memory(figures: &serde_json::Value) {
    let in_process = &figures["in_process"];
    for (name, v) in in_process.as_object().into_iter().flatten() {
        if v.get("calls").is_some() {
            println!(
                "  {name:<22} {:>12.1} B/call {:>8.1} allocs/call  peak live {} B",
                v["bytes_per_call"].as_f64().unwrap_or(f64::NAN),
                v["allocations_per_call"].as_f64().unwrap_or(f64::NAN),
                v["peak_live_bytes"],
            );
        } else {
            println!(
                "  {name:<22} {:>12} B total {:>8} allocs       peak live {} B ({} commands)",
                v["bytes_allocated"], v["allocations"], v["peak_live_bytes"], v["commands"],
            );
        }
    }
    for (name, v) in figures["demo_process"].as_object().into_iter().flatten() {
        match v.get("runs").and_then(|r| r.as_array()) {
            Some(runs) => {
                for run in runs {
                    println!(
                        "  demo --mode {name:<7} {} commands: peak RSS {} KiB, threads created {}, total {} ms",
                        run["commands"],
                        run["peak_rss_kib"],
                        run["threads_created"],
                        run["total_ms"],
                    );
                }
            }
            None => println!("  demo --mode {name}: not measured: {}", v["unavailable"]),
        }
    }
}

// ---------------------------------------------------------------------------------------
// 6. startup_time

fn startup_time(c: &mut Criterion) {
    let mut group = c.benchmark_group("startup_time");
    // Times, per iteration: building a fresh runtime with the shared runtime's
    // configuration and the first `execute` on it (enter its context, poll a ready
    // future) — what the first `globalrt::execute` of a process does. Dropping the
    // runtime afterwards (joining its workers) is not timed: it is not startup.
    group.bench_function("fresh_runtime_first_execute", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let runtime = runtime_like_shared();
                black_box(enter_and_poll_ready(runtime.handle(), async {
                    black_box(42_u64)
                }));
                timed += started.elapsed();
                drop(runtime);
            }
            timed
        })
    });
    // Times: a whole demo process with one command, from spawn to exit (exec, dynamic
    // loading, runtime build, the command with its ≥ 1 ms timer, shutdown).
    match batch_binary() {
        Ok(binary) => {
            group.sampling_mode(SamplingMode::Flat);
            group.sample_size(20);
            for mode in ["global", "naive"] {
                group.bench_function(BenchmarkId::new("demo_process_1_command", mode), |b| {
                    b.iter(|| run_demo(&binary, mode, 1))
                });
            }
        }
        Err(reason) => eprintln!("startup_time/demo_process_1_command: not measured: {reason}"),
    }
    group.finish();
}

// ---------------------------------------------------------------------------------------
// 7. error_handling

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn error_handling(c: &mut Criterion) {
    globalrt::execute(async {});
    let mut group = c.benchmark_group("error_handling");
    // Times: `execute` of a ready future returning `Ok`.
    group.bench_function("ok", |b| {
        b.iter(|| globalrt::execute(async { Ok::<u64, BoxError>(black_box(7)) }))
    });
    // Times: `execute` of a ready future returning a boxed error (its allocation included).
    group.bench_function("err_boxed", |b| {
        b.iter(|| {
            globalrt::execute(async {
                Err::<u64, BoxError>(Box::new(std::io::Error::other(black_box("no such file"))))
            })
        })
    });
    // Times: `execute` of a future that panics, caught with `catch_unwind` around the call
    // (unwinding included). The panic hook is silenced for this benchmark only.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    group.bench_function("panic_caught", |b| {
        b.iter(|| {
            std::panic::catch_unwind(|| {
                globalrt::execute(async {
                    if black_box(true) {
                        panic!("boom");
                    }
                })
            })
            .is_err()
        })
    });
    std::panic::set_hook(hook);
    group.finish();
}

criterion_group!(
    timed,
    execute_baseline,
    execute_concurrent,
    naive_vs_global,
    realistic_workloads,
    startup_time,
    error_handling
);

fn main() {
    timed();
    memory_pressure();
    Criterion::default().configure_from_args().final_summary();
}
