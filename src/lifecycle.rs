//! The end of `main`: [`ShutdownGuard`], which gives tasks started with
//! [`spawn`](crate::spawn) time to finish instead of being cut off by process exit.
//!
//! The rest of the process lifecycle lives beside the code it concerns: `fork` in
//! `global/fork.rs` (a forked child builds a runtime of its own), threads whose tokio
//! context is gone in `execute.rs` (`retry_without_context`).

use std::io::Write;
use std::time::Duration;

/// Shuts the shared runtime down when dropped; see [`shutdown_guard`].
#[derive(Debug)]
#[must_use = "the guard shuts the runtime down when it is dropped: bind it with `let _guard = …`"]
pub struct ShutdownGuard {
    timeout: Duration,
}

/// A guard whose `Drop` calls [`shutdown`](crate::shutdown)`(timeout)`: tasks started with
/// [`spawn`](crate::spawn) get up to `timeout` to finish when `main` returns, instead of
/// being cut off by process exit.
///
/// Bind it first thing in `main`: `let _guard = globalrt::shutdown_guard(timeout);` (not
/// `let _ = …`, which drops it at once). It is dropped when `main` returns or unwinds.
/// When tasks were still running at the timeout, it prints on stderr how many it
/// cancelled; any other outcome is silent. Building nothing itself, it costs nothing
/// when the runtime was never used.
///
/// A process that leaves through `std::process::exit` does not drop it.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::time::Duration;
///
/// let saved = Arc::new(AtomicBool::new(false));
/// {
///     let _guard = globalrt::shutdown_guard(Duration::from_secs(5));
///     let flag = Arc::clone(&saved);
///     globalrt::spawn(async move {
///         tokio::time::sleep(Duration::from_millis(5)).await;
///         flag.store(true, Ordering::SeqCst);
///     });
/// } // end of `main`: the guard waits for the task
/// assert!(saved.load(Ordering::SeqCst));
/// assert!(globalrt::is_shut_down());
/// ```
pub fn shutdown_guard(timeout: Duration) -> ShutdownGuard {
    ShutdownGuard { timeout }
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        // The error says how many tasks were cancelled. Written without `eprintln!`, which
        // panics when stderr is closed: a panic here, while `main` unwinds, would abort.
        if let Err(err) = crate::shutdown(self.timeout) {
            let _ = writeln!(
                std::io::stderr(),
                "{err} (shutdown_guard, at the end of main)"
            );
        }
    }
}
