//! The per-call runtime: the pattern globalrt replaces, kept for the benchmarks to compare
//! globalrt with. **Do not use.**

use std::future::Future;

/// Builds a multi-thread runtime, runs `future` on it and drops the runtime: every call.
///
/// **Do not use this.** It is exactly the pattern globalrt exists to replace, the per-call
/// runtime, kept only for the benchmarks to compare globalrt with: each call spawns one
/// worker thread per CPU and tears them down again.
///
/// # Panics
///
/// Like `Runtime::block_on`: when called from inside an async context ("Cannot start a
/// runtime from within a runtime"), when the runtime cannot be built, or when the future panics.
///
/// # Example
///
/// ```
/// // Works on a plain thread, at a cost of a runtime build and teardown per call.
/// assert_eq!(globalrt::naive::execute(async { 1 + 1 }), 2);
/// ```
#[track_caller]
pub fn execute<F: Future>(future: F) -> F::Output {
    let runtime = tokio::runtime::Runtime::new().expect("naive::execute: cannot build a runtime");
    runtime.block_on(future)
}
