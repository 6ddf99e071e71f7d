//! Integration tests of globalrt's public API, one module per area.
//!
//! The tests that need a fresh process (init, the environment variable, shutdown) re-run
//! this binary as a child; see `process.rs`.

mod api;
mod concurrency;
mod contexts;
mod lifecycle;
mod local;
mod panic_abort;
mod panics;
mod parking;
mod process;
mod promise;
mod promise_process;
mod resources;
mod scope;
mod strategy;
mod timeout;
#[cfg(feature = "tracing")]
mod tracing_events;

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

/// A multi-thread runtime with `workers` workers, every driver enabled.
pub(crate) fn multi_thread(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

/// A current_thread runtime like `#[tokio::test]`'s, every driver enabled.
pub(crate) fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// How long a test waits for something that takes milliseconds before it calls it a hang:
/// 10 s, or 120 s under Valgrind, which runs code 10–50 times slower (memcheck runs this
/// binary and the child processes it starts). Only hang guards use it; no test asserts
/// that anything is fast.
pub(crate) fn hang_limit() -> std::time::Duration {
    std::time::Duration::from_secs(if under_valgrind() { 120 } else { 10 })
}

/// Whether this process runs under Valgrind, which preloads its `vgpreload_<tool>` library
/// into every program it runs.
pub(crate) fn under_valgrind() -> bool {
    std::env::var_os("LD_PRELOAD")
        .is_some_and(|preload| preload.to_string_lossy().contains("vgpreload_"))
}

/// Runs `body` on its own thread and fails the test if it has not finished within
/// [`hang_limit`], so a deadlock is a failure with a message instead of a hung test run.
/// A panic in `body` is resumed here with its payload.
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
    let limit = hang_limit();
    match rx.recv_timeout(limit) {
        Ok(Ok(value)) => {
            thread.join().unwrap();
            value
        }
        Ok(Err(payload)) => std::panic::resume_unwind(payload),
        Err(_) => panic!("{name}: did not finish within {limit:?} (deadlock or hang)"),
    }
}

std::thread_local! {
    static LAST_PANIC_LOCATION: std::cell::RefCell<Option<(String, u32)>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `body`, which must panic, and returns the file and line the panic reports
/// (`std::panic::Location`, as the panic hook sees it). The first call installs a hook
/// that records the location on the panicking thread, then runs the previous hook.
pub(crate) fn panic_location(body: impl FnOnce()) -> (String, u32) {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let location = info.location().map(|l| (l.file().to_owned(), l.line()));
            LAST_PANIC_LOCATION.with(|last| *last.borrow_mut() = location);
            previous(info);
        }));
    });
    LAST_PANIC_LOCATION.with(|last| last.borrow_mut().take());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    assert!(outcome.is_err(), "expected a panic");
    LAST_PANIC_LOCATION
        .with(|last| last.borrow_mut().take())
        .expect("the panic hook saw no location")
}
