//! The instruction-count suite's seven groups and their Callgrind and DHAT settings.
//!
//! Linux only (Valgrind, and callgrind client requests in `support.rs`):
//! `benches/instructions.rs` gates this module once and names its groups in `main!`.

#[path = "support.rs"]
mod support;
#[path = "../../examples/support/workload.rs"]
mod workload;

use std::hint::black_box;
use std::time::Duration;

use gungraun::{
    Callgrind, Dhat, EntryPoint, LibraryBenchmarkConfig, Tool, library_benchmark,
    library_benchmark_group,
};
use support::{Callers, counted, counted_on_this_thread, counted_until_idle, warm_global};

/// How many calls the cheap deterministic benchmarks make, so that a change of one
/// instruction per call shows as 100 instructions, well above the gate's absolute floor.
const CALLS: u64 = 100;

/// Callgrind counting every thread between the client requests in [`counted`].
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
fn heap() -> LibraryBenchmarkConfig {
    let mut config = LibraryBenchmarkConfig::default();
    config.default_tool(Tool::DHAT).tool(Dhat::default());
    config
}

// ---------------------------------------------------------------------------------------
// execute_paths: the shared runtime's per-call cost, CALLS calls per benchmark.

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

// The same ready future through `try_execute_timeout`: its deadline timer starts only
// once a future is pending, so a ready one should cost what `ready` does plus the wrapper.
#[library_benchmark]
#[bench::ready_timeout(setup = warm_global)]
fn ready_timeout(_: ()) -> u64 {
    counted(|| {
        let mut sum = 0;
        for i in 0..CALLS {
            let output =
                globalrt::try_execute_timeout(Duration::from_secs(60), async move { black_box(i) });
            sum += output.expect("a ready future cannot time out");
        }
        sum
    })
}

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

// `execute_local`, the `!Send` entry point, on the same two futures: it shares the fast
// path and the park loop, and differs only in what it does on a current_thread runtime.
#[library_benchmark]
#[bench::ready_local(setup = warm_global)]
fn ready_local(_: ()) -> u64 {
    counted(|| {
        let mut sum = 0;
        for i in 0..CALLS {
            sum += globalrt::execute_local(async move { black_box(i) });
        }
        sum
    })
}

#[library_benchmark]
#[bench::yield_once_local(setup = warm_global)]
fn yield_once_local(_: ()) -> u64 {
    counted(|| {
        let mut sum = 0;
        for i in 0..CALLS {
            sum += globalrt::execute_local(async move {
                tokio::task::yield_now().await;
                black_box(i)
            });
        }
        sum
    })
}

// Multi-threaded: a worker's time driver wakes the caller. Ten calls of a 1 ms sleep.
#[library_benchmark]
#[bench::timer_x10(setup = warm_global)]
fn timer(_: ()) {
    counted_until_idle(|| {
        for _ in 0..10 {
            globalrt::execute(async { tokio::time::sleep(Duration::from_millis(1)).await });
        }
    });
}

library_benchmark_group!(
    name = execute_paths;
    config = all_threads();
    benchmarks = ready, ready_timeout, small_computation, yield_once, ready_local,
        yield_once_local, timer
);

// ---------------------------------------------------------------------------------------
// execute_concurrent: CALLS calls on one thread while N others call `execute` too.

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

library_benchmark_group!(
    name = execute_concurrent;
    config = caller_only();
    benchmarks = concurrent_ready
);

// ---------------------------------------------------------------------------------------
// naive_vs_global: one call of the same ready future on each path.

#[library_benchmark]
#[bench::naive_execute()]
fn naive_execute() -> u64 {
    counted(|| globalrt::naive::execute(async { black_box(42u64) }))
}

#[library_benchmark]
#[bench::global_execute(setup = warm_global)]
fn global_execute(_: ()) -> u64 {
    counted(|| globalrt::execute(async { black_box(42u64) }))
}

// Through a scope's token: the scope enters the shared runtime once, outside the count,
// and makes one uncounted call first, as `warm_global` does for the row above.
#[library_benchmark]
#[bench::scope_execute(setup = warm_global)]
fn scope_execute(_: ()) -> u64 {
    globalrt::scope(|rt| {
        rt.execute(async { black_box(1u64) });
        counted(|| rt.execute(async { black_box(42u64) }))
    })
}

#[library_benchmark]
#[bench::runtime_block_on(setup = support::reference_runtime)]
fn runtime_block_on(rt: tokio::runtime::Runtime) -> (u64, tokio::runtime::Runtime) {
    let n = counted(|| rt.block_on(async { black_box(42u64) }));
    (n, rt)
}

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
#[library_benchmark]
#[bench::futures_block_on()]
fn futures_block_on() -> u64 {
    futures_executor::block_on(async { black_box(1u64) });
    counted(|| futures_executor::block_on(async { black_box(42u64) }))
}

#[library_benchmark]
#[bench::pollster_block_on()]
fn pollster_block_on() -> u64 {
    pollster::block_on(async { black_box(1u64) });
    counted(|| pollster::block_on(async { black_box(42u64) }))
}

// The same pair on a future that is pending at its first poll: execute's slow path
// (no-op first poll, then its own park loop) against block_on doing the same work.
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

#[library_benchmark]
#[bench::scope_execute_yield_once(setup = warm_global)]
fn scope_execute_yield_once(_: ()) -> u64 {
    globalrt::scope(|rt| {
        rt.execute(async { black_box(1u64) });
        counted(|| {
            rt.execute(async {
                tokio::task::yield_now().await;
                black_box(42u64)
            })
        })
    })
}

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

library_benchmark_group!(
    name = naive_vs_global;
    config = all_threads();
    benchmarks = naive_execute, global_execute, scope_execute, runtime_block_on,
        handle_block_on, futures_block_on, pollster_block_on, global_execute_yield_once,
        scope_execute_yield_once, runtime_block_on_yield_once
);

// ---------------------------------------------------------------------------------------
// realistic_workloads: the demo's command mix (examples/support/workload.rs).

fn warm_workload() -> std::path::PathBuf {
    warm_global();
    let dir = support::scratch_dir();
    globalrt::execute(workload::command(&dir, 0)).expect("benches: warm-up command failed");
    support::settle();
    dir
}

fn remove_dir(dir: std::path::PathBuf) {
    let _ = std::fs::remove_dir_all(dir);
}

#[library_benchmark(teardown = remove_dir)]
#[bench::global_one_command(setup = warm_workload)]
fn global_one_command(dir: std::path::PathBuf) -> std::path::PathBuf {
    let sum = counted_until_idle(|| globalrt::execute(workload::command(&dir, 1)));
    assert_eq!(sum.expect("command failed"), workload::expected(1));
    dir
}

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

#[library_benchmark(teardown = remove_dir)]
#[bench::naive_one_command(setup = support::scratch_dir)]
fn naive_one_command(dir: std::path::PathBuf) -> std::path::PathBuf {
    let sum = counted(|| globalrt::naive::execute(workload::command(&dir, 1)));
    assert_eq!(sum.expect("command failed"), workload::expected(1));
    dir
}

library_benchmark_group!(
    name = realistic_workloads;
    config = all_threads();
    benchmarks = global_one_command, global_batch, naive_one_command
);

// ---------------------------------------------------------------------------------------
// memory_pressure: heap figures with DHAT (allocations made under the benchmark function).

#[library_benchmark]
#[bench::build_runtime()]
fn build_runtime() {
    globalrt::init(globalrt::Config::new()).expect("benches: init failed");
}

#[library_benchmark]
#[bench::execute_1000_ready(setup = warm_global)]
fn execute_1000_ready(_: ()) -> u64 {
    let mut sum = 0;
    for i in 0..1000u64 {
        sum += globalrt::execute(async move { black_box(i) });
    }
    sum
}

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

library_benchmark_group!(
    name = memory_pressure;
    config = heap();
    benchmarks = build_runtime, execute_1000_ready, execute_1000_yield_once
);

// ---------------------------------------------------------------------------------------
// startup_time: building the shared runtime plus the first execute, in a fresh process.

#[library_benchmark]
#[bench::first_execute()]
fn first_execute() -> u64 {
    counted_until_idle(|| globalrt::execute(async { black_box(42u64) }))
}

library_benchmark_group!(
    name = startup_time;
    config = all_threads();
    benchmarks = first_execute
);

// ---------------------------------------------------------------------------------------
// error_handling: Ok vs Err through execute, and a caught panic.

/// An error value as a command handler would return it.
#[derive(Debug)]
struct CommandError(u64);

fn quiet_panics() {
    warm_global();
    std::panic::set_hook(Box::new(|_| {}));
    // The first panic initialises the unwinder's state; do it before counting.
    let _ = globalrt::try_execute(async { panic!("warm-up") });
}

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

#[library_benchmark]
#[bench::caught_panic_x10(setup = quiet_panics)]
fn caught_panic(_: ()) -> usize {
    counted(|| {
        (0..10)
            .filter(|_| globalrt::try_execute(async { panic!("boom") }).is_err())
            .count()
    })
}

library_benchmark_group!(
    name = error_handling;
    config = all_threads();
    benchmarks = result_ok, result_err, caught_panic
);
