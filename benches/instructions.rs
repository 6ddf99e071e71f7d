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
//! callgrind client requests (`counted` in `instructions/support.rs`). Instrumentation is process-wide, so every
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
//!   (`gungraun-gate/src/pinning.rs`). Valgrind runs one thread at a time but lets the host
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
//!   (`settle`) before counting starts: an idle worker does no work while counted.
//! - Benchmarks whose work crosses threads (timers, I/O, runtime start-up) keep counting
//!   until the other threads are idle again (`counted_until_idle`), so their work is
//!   never cut off at a scheduling-dependent point.
//! - No `-C target-cpu=native`: Valgrind does not know AVX-512.
//!
//! # Layout
//!
//! The groups live in `instructions/suite.rs`, gated here once. `main!` stays in this file,
//! at the crate root: gungraun names every benchmark by the module path `main!` is invoked
//! in (`instructions::<group>::<function>::<id>`), and `benches/baseline.json` is keyed by
//! those names.

#[cfg(target_os = "linux")]
#[path = "instructions/suite.rs"]
mod suite;

#[cfg(target_os = "linux")]
use suite::{
    error_handling, execute_concurrent, execute_paths, memory_pressure, naive_vs_global,
    realistic_workloads, startup_time,
};

#[cfg(target_os = "linux")]
gungraun::main!(
    config = gungraun::LibraryBenchmarkConfig::default()
        .valgrind_args(["--fair-sched=yes"])
        .env("GLOBALRT_WORKER_THREADS", "2")
        .env("TOKIO_WORKER_THREADS", "2");
    library_benchmark_groups = execute_paths,
        execute_concurrent,
        naive_vs_global,
        realistic_workloads,
        memory_pressure,
        startup_time,
        error_handling
);

#[cfg(not(target_os = "linux"))]
fn main() {}
