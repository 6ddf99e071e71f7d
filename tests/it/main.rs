//! Integration tests of globalrt's public API, one module per area.
//!
//! The tests that need a fresh process (init, the environment variable, shutdown) re-run
//! this binary as a child; see `process.rs`.

mod concurrency;
mod contexts;
mod panics;
mod process;
mod resources;

/// A future that is pending at its first poll and needs the shared runtime's timer.
pub(crate) async fn sleep_then(value: u32) -> u32 {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    value
}

/// A future that yields many times: each yield may be deferred by tokio to the
/// scheduler of the thread that polls it, so it catches a blocked runtime thread.
pub(crate) async fn yield_many(times: u32) -> u32 {
    for _ in 0..times {
        tokio::task::yield_now().await;
    }
    times
}
