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

/// Runs `body` on its own thread and fails the test if it has not finished within 10 s,
/// so a deadlock is a failure with a message instead of a hung test run. A panic in
/// `body` is resumed here with its payload.
pub(crate) fn with_watchdog<T: Send + 'static>(
    name: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(format!("watchdog:{name}"))
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
            let _ = tx.send(result);
        })
        .unwrap();
    match rx.recv_timeout(std::time::Duration::from_secs(10)) {
        Ok(Ok(value)) => {
            thread.join().unwrap();
            value
        }
        Ok(Err(payload)) => std::panic::resume_unwind(payload),
        Err(_) => panic!("{name}: did not finish within 10 s (deadlock or hang)"),
    }
}
