//! Wall-clock suite (criterion): what globalrt costs in time.
//!
//! It guards the figures of the SLO table that `cargo xtask slo` prints. Seven groups,
//! each measuring exactly what its name says; six are here, the memory group is its own
//! target:
//!
//! - `execute_paths`: `execute` of a ready future (also through `execute_local` and
//!   `try_execute_timeout`), of a small computation, of a future that yields once, and of a
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
//! - `memory_pressure`: memory and threads, not time: a target of its own,
//!   `benches/memory.rs`, so that its counting allocator costs these groups nothing.
//! - `startup_time`: from nothing to the first `execute` finished. The shared runtime is
//!   process-global and built once, so each sample builds a *fresh* runtime with the
//!   shared runtime's configuration and runs the first execute on it; and, as a whole
//!   process, the demo spawned with one command.
//! - `error_handling`: `Ok` vs a boxed `Err` vs a panic caught around `execute`.
//!
//! The ids `cargo xtask slo` reads and the caller counts are defined once, in
//! `globalrt_bench_support::contract` (`benches/support/`).
//!
//! Run: `cargo bench --bench runtime_overhead` (add `-- <filter>` for one group), or
//! `cargo xtask slo` for the table. `cargo test --benches` runs each benchmark once.

#[path = "../examples/support/workload.rs"]
mod workload;

use std::future::Future;
use std::hint::black_box;
use std::path::Path;
use std::pin::pin;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use globalrt_bench_support::contract::{
    BATCH_GLOBAL, BATCH_NAIVE, CONCURRENT_CPU, CONCURRENT_SCOPE_CPU, CONCURRENT_THREADS,
    CONCURRENT_WALL, DEMO_MODES, EXECUTE_CONCURRENT, EXECUTE_PATHS, EXECUTE_READY, NAIVE_VS_GLOBAL,
    NVG_EXECUTE, NVG_FUTURES_BLOCK_ON, NVG_HANDLE_BLOCK_ON, NVG_NAIVE, NVG_POLLSTER_BLOCK_ON,
    NVG_RUNTIME_BLOCK_ON, REALISTIC_WORKLOADS, STARTUP_FRESH, STARTUP_PROCESS, STARTUP_TIME,
};
use globalrt_bench_support::demo::{batch, batch_binary, temp_dir};

/// A multi-thread runtime built by the library exactly as it builds the shared one from
/// `Config::new()`, `GLOBALRT_WORKER_THREADS` included.
fn runtime_like_shared() -> tokio::runtime::Runtime {
    globalrt::Config::new()
        .build_runtime()
        .expect("runtime_overhead: cannot build a runtime like the shared one")
}

// ---------------------------------------------------------------------------------------
// Shared helpers

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

// ---------------------------------------------------------------------------------------
// 1. execute_paths

fn execute_paths(c: &mut Criterion) {
    // Build the shared runtime before timing: the first call's build is `startup_time`'s.
    globalrt::execute(async {});
    let mut group = c.benchmark_group(EXECUTE_PATHS);
    // Times: one `execute` of a future that is ready at its first poll.
    group.bench_function(EXECUTE_READY.name, |b| {
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
    // Times: the same ready future through `try_execute_timeout` (60 s): the deadline
    // timer starts only for a future still pending, so this is `ready` plus the wrapper.
    group.bench_function("ready_timeout", |b| {
        b.iter(|| {
            globalrt::try_execute_timeout(Duration::from_secs(60), async { black_box(42_u64) })
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

/// How the caller threads call.
#[derive(Clone, Copy, PartialEq)]
enum Via {
    /// `globalrt::execute` on a plain thread.
    Execute,
    /// A `globalrt::scope` token; each thread's whole life is inside one scope.
    Scope,
}

/// `n` caller threads, spawned once and parked on a barrier between samples.
struct Callers {
    shared: Arc<CallersShared>,
    threads: Vec<JoinHandle<()>>,
}

struct CallersShared {
    start: Barrier,
    done: Barrier,
    /// Calls per thread in the next round; 0 tells the threads to exit.
    iters: AtomicU64,
    /// Sum over threads of each thread's own wall-clock time for its calls, in ns.
    wall_nanos: AtomicU64,
    /// Sum over threads of each thread's own CPU time for its calls, in ns.
    cpu_nanos: AtomicU64,
}

impl CallersShared {
    /// A caller thread's life: each round, `iters` calls of `call`, timed on both clocks.
    fn serve(&self, mut call: impl FnMut() -> u64) {
        loop {
            self.start.wait();
            let iters = self.iters.load(Ordering::Acquire);
            if iters == 0 {
                break;
            }
            let cpu_started = thread_cpu_time();
            let started = Instant::now();
            for _ in 0..iters {
                call();
            }
            let wall = started.elapsed();
            let cpu = thread_cpu_time()
                .zip(cpu_started)
                .map_or(Duration::ZERO, |(end, start)| end - start);
            let nanos = |d: Duration| d.as_nanos() as u64;
            self.wall_nanos.fetch_add(nanos(wall), Ordering::AcqRel);
            self.cpu_nanos.fetch_add(nanos(cpu), Ordering::AcqRel);
            self.done.wait();
        }
    }
}

/// Which clock a round of the callers reports.
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
#[allow(unsafe_code)] // The one unsafe call here: libc's clock_gettime.
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

impl Callers {
    fn new(n: usize, via: Via) -> Callers {
        let shared = Arc::new(CallersShared {
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
                        if via == Via::Scope {
                            globalrt::scope(|rt| {
                                shared.serve(|| black_box(rt.execute(async { black_box(1_u64) })))
                            });
                        } else {
                            shared
                                .serve(|| black_box(globalrt::execute(async { black_box(1_u64) })));
                        }
                    })
                    .expect("runtime_overhead: cannot spawn a caller thread")
            })
            .collect();
        Callers { shared, threads }
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

impl Drop for Callers {
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
    let mut group = c.benchmark_group(EXECUTE_CONCURRENT);
    for threads in CONCURRENT_THREADS {
        // Spawned here, before any timing; joined when `callers` drops after the benchmarks.
        let callers = Callers::new(threads as usize, Via::Execute);
        // Times: per-call wall-clock latency of `execute(ready)` seen by one of `threads`
        // callers calling at the same moment (thread spawn, barrier and join not timed).
        group.bench_function(BenchmarkId::new(CONCURRENT_WALL.name, threads), |b| {
            b.iter_custom(|iters| callers.round(iters, Clock::Wall))
        });
        // Times: the same calls' CPU time per call on the calling thread: the cost of the
        // call under contention, without the waits for a core that more threads than
        // cores add to the wall clock.
        if thread_cpu_time().is_some() {
            group.bench_function(BenchmarkId::new(CONCURRENT_CPU.name, threads), |b| {
                b.iter_custom(|iters| callers.round(iters, Clock::ThreadCpu))
            });
        }
        drop(callers);
        // Times: the same CPU time per call through a scope's token, which enters the
        // shared runtime once per thread instead of once per call.
        if thread_cpu_time().is_some() {
            let callers = Callers::new(threads as usize, Via::Scope);
            group.bench_function(BenchmarkId::new(CONCURRENT_SCOPE_CPU.name, threads), |b| {
                b.iter_custom(|iters| callers.round(iters, Clock::ThreadCpu))
            });
        }
    }
    group.finish();
}

// ---------------------------------------------------------------------------------------
// 3. naive_vs_global

fn naive_vs_global(c: &mut Criterion) {
    globalrt::execute(async {});
    let reference = runtime_like_shared();
    let shared_handle = globalrt::handle();
    let mut group = c.benchmark_group(NAIVE_VS_GLOBAL);
    // Each benchmark times one call with the same ready future.
    group.bench_function(NVG_EXECUTE.name, |b| {
        b.iter(|| globalrt::execute(async { black_box(42_u64) }))
    });
    group.bench_function(NVG_RUNTIME_BLOCK_ON.name, |b| {
        b.iter(|| reference.block_on(async { black_box(42_u64) }))
    });
    group.bench_function(NVG_HANDLE_BLOCK_ON.name, |b| {
        b.iter(|| shared_handle.block_on(async { black_box(42_u64) }))
    });
    group.bench_function(NVG_FUTURES_BLOCK_ON.name, |b| {
        b.iter(|| futures_executor::block_on(async { black_box(42_u64) }))
    });
    group.bench_function(NVG_POLLSTER_BLOCK_ON.name, |b| {
        b.iter(|| pollster::block_on(async { black_box(42_u64) }))
    });
    // Times: `Runtime::new()` + `block_on` + drop, per call.
    group.bench_function(NVG_NAIVE.name, |b| {
        b.iter(|| globalrt::naive::execute(async { black_box(42_u64) }))
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------
// 4. realistic_workloads

fn realistic_workloads(c: &mut Criterion) {
    globalrt::execute(async {});
    let dir = temp_dir("workloads");
    let mut group = c.benchmark_group(REALISTIC_WORKLOADS);
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
    group.bench_function(BATCH_GLOBAL.name, |b| {
        b.iter(|| {
            batch(280, workload::expected, |id| {
                globalrt::execute(workload::command(&dir, id))
            })
        })
    });
    group.bench_function(BATCH_NAIVE.name, |b| {
        b.iter(|| {
            batch(280, workload::expected, |id| {
                globalrt::naive::execute(workload::command(&dir, id))
            })
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// 5. startup_time

fn startup_time(c: &mut Criterion) {
    let mut group = c.benchmark_group(STARTUP_TIME);
    // Times, per iteration: building a fresh runtime with the shared runtime's
    // configuration and the first `execute` on it (enter its context, poll a ready
    // future) — what the first `globalrt::execute` of a process does. Dropping the
    // runtime afterwards (joining its workers) is not timed: it is not startup.
    group.bench_function(STARTUP_FRESH.name, |b| {
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
            for mode in DEMO_MODES {
                group.bench_function(BenchmarkId::new(STARTUP_PROCESS.name, mode), |b| {
                    b.iter(|| run_demo(&binary, mode, 1))
                });
            }
        }
        Err(reason) => eprintln!("{}: not measured: {reason}", STARTUP_PROCESS.full),
    }
    group.finish();
}

// ---------------------------------------------------------------------------------------
// 6. error_handling

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
    execute_paths,
    execute_concurrent,
    naive_vs_global,
    realistic_workloads,
    startup_time,
    error_handling
);

criterion_main!(timed);
