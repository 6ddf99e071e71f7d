//! `execute` keeps its promise where real programs nest and end, and keeps
//! `Runtime::block_on`'s guarantees for the future's whole life: the scenarios that need a
//! fresh process (`shutdown`, `init`, the first call of a process, an abort or a stack
//! overflow), run through `process::run_child`.

use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use globalrt::{Config, ErrorKind, WORKER_THREADS_ENV};

use crate::process::{child_command, read_in_background, run_child, run_child_with_env};
use crate::promise::{PendingOnce, SecondPoll, assert_dropped_where_polled};
use crate::{current_thread, multi_thread, sleep_then};

/// The scenarios of this module, dispatched from `process::child_entry`; false for a
/// scenario that is not one of them.
pub(crate) fn run_scenario(scenario: &str) -> bool {
    match scenario {
        "promise_shutdown_in_multi_thread_block_on" => shutdown_in_multi_thread_block_on(),
        "promise_shutdown_in_current_thread_block_on" => shutdown_in_current_thread_block_on(),
        "promise_shutdown_in_a_task" => shutdown_in_a_task(),
        "promise_guard_in_multi_thread_block_on" => guard_in_multi_thread_block_on(),
        "promise_guard_in_current_thread_block_on" => guard_in_current_thread_block_on(),
        "promise_guard_in_a_task" => guard_in_a_task(),
        "promise_shutdown_in_its_own_task" => shutdown_in_its_own_task(Duration::from_millis(400)),
        "promise_shutdown_in_its_own_task_for_an_hour" => {
            shutdown_in_its_own_task(Duration::from_secs(3600));
        }
        "promise_shutdown_in_a_task_waits_for_the_other" => {
            shutdown_in_a_task_waits_for_the_other()
        }
        "promise_init_with_a_bad_thread_name" => init_with_a_bad_thread_name(),
        "promise_adopt_a_shut_down_runtime" => adopt_a_shut_down_runtime(),
        "promise_adopted_runtime_dropped" => adopted_runtime_dropped(),
        "promise_user_panic_during_shutdown" => user_panic_during_shutdown(),
        "promise_foreign_sleep_on_current_thread" => foreign_sleep_on_current_thread(),
        "promise_drop_needs_runtime_after_a_panic" => drop_needs_runtime_after_a_panic(),
        "promise_drop_needs_runtime_after_a_timeout" => drop_needs_runtime_after_a_timeout(),
        "promise_drop_needs_runtime_after_a_panic_with_a_timeout" => {
            drop_needs_runtime_after_a_panic_with_a_timeout();
        }
        "promise_large_future_on_a_2_mib_stack" => large_future_on_a_2_mib_stack(),
        "promise_panicking_on_thread_start" => panicking_on_thread_start(),
        "promise_os_refuses_threads" => os_refuses_threads(),
        "promise_worker_threads_overflow" => worker_threads_overflow(),
        "promise_first_call_in_a_thread_local_destructor" => {
            first_call_in_a_thread_local_destructor();
        }
        #[cfg(unix)]
        "promise_first_call_at_exit" => at_exit::first_call(),
        "promise_shared_worker_zero_blocks_in_place" => shared_worker_zero_blocks_in_place(),
        "promise_quick_helper_call" => quick_helper_call(),
        "promise_later_hook_panics" => later_hook_panics(),
        "promise_shutdown_from_an_untracked_task" => shutdown_from_an_untracked_task(),
        "promise_cancelled_join_on_a_live_adopted_runtime" => {
            cancelled_join_on_a_live_adopted_runtime();
        }
        _ => return false,
    }
    true
}

// --- shutdown and shutdown_guard from async code -----------------------------------------

fn shutdown_in_multi_thread_block_on() {
    let result = multi_thread(2).block_on(async {
        assert_eq!(globalrt::execute(sleep_then(1)), 1);
        globalrt::shutdown(Duration::from_secs(5))
    });
    result.expect("shutdown from a multi-thread runtime's block_on body");
    assert!(globalrt::is_shut_down());
}

fn shutdown_in_current_thread_block_on() {
    let result = current_thread().block_on(async {
        assert_eq!(globalrt::execute(sleep_then(1)), 1);
        globalrt::shutdown(Duration::from_secs(5))
    });
    result.expect("shutdown from a current_thread runtime's block_on body");
    assert!(globalrt::is_shut_down());
}

fn shutdown_in_a_task() {
    let result = multi_thread(2).block_on(async {
        tokio::spawn(async {
            assert_eq!(globalrt::execute(sleep_then(1)), 1);
            globalrt::shutdown(Duration::from_secs(5))
        })
        .await
        .unwrap()
    });
    result.expect("shutdown from a task of the application's runtime");
    assert!(globalrt::is_shut_down());
}

fn guard_in_multi_thread_block_on() {
    multi_thread(2).block_on(async {
        let _guard = globalrt::shutdown_guard(Duration::from_secs(5));
        assert_eq!(globalrt::execute(sleep_then(1)), 1);
    });
    assert!(globalrt::is_shut_down());
}

fn guard_in_current_thread_block_on() {
    current_thread().block_on(async {
        let _guard = globalrt::shutdown_guard(Duration::from_secs(5));
        assert_eq!(globalrt::execute(sleep_then(1)), 1);
    });
    assert!(globalrt::is_shut_down());
}

fn guard_in_a_task() {
    multi_thread(2).block_on(async {
        tokio::spawn(async {
            let _guard = globalrt::shutdown_guard(Duration::from_secs(5));
            assert_eq!(globalrt::execute(sleep_then(1)), 1);
        })
        .await
        .unwrap();
    });
    assert!(globalrt::is_shut_down());
}

#[test]
fn shutdown_in_a_multi_thread_block_on_body() {
    run_child("promise_shutdown_in_multi_thread_block_on", None);
}

#[test]
fn shutdown_in_a_current_thread_block_on_body() {
    run_child("promise_shutdown_in_current_thread_block_on", None);
}

#[test]
fn shutdown_in_a_task_of_the_applications_runtime() {
    run_child("promise_shutdown_in_a_task", None);
}

#[test]
fn shutdown_guard_in_a_multi_thread_block_on_body() {
    run_child("promise_guard_in_multi_thread_block_on", None);
}

#[test]
fn shutdown_guard_in_a_current_thread_block_on_body() {
    run_child("promise_guard_in_current_thread_block_on", None);
}

#[test]
fn shutdown_guard_in_a_task_of_the_applications_runtime() {
    run_child("promise_guard_in_a_task", None);
}

// --- shutdown from a task spawned with globalrt::spawn ------------------------------------

/// The only task calls `shutdown` itself: it is neither counted nor waited for. The task
/// sends shutdown's result right after it returns (the task may be cancelled then).
fn shutdown_in_its_own_task(timeout: Duration) {
    let (tx, rx) = mpsc::channel();
    drop(globalrt::spawn(async move {
        let result = globalrt::shutdown(timeout);
        let _ = tx.send(result);
    }));
    let result = rx
        .recv()
        .expect("the task was cancelled before shutdown returned");
    result.expect("shutdown from the only spawned task, which is the caller");
}

/// `shutdown` from one task waits for the other task, not for itself.
fn shutdown_in_a_task_waits_for_the_other() {
    let finished = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&finished);
    drop(globalrt::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        flag.store(true, Ordering::SeqCst);
    }));
    let (tx, rx) = mpsc::channel();
    let seen = Arc::clone(&finished);
    drop(globalrt::spawn(async move {
        let result = globalrt::shutdown(Duration::from_secs(5));
        let _ = tx.send((result, seen.load(Ordering::SeqCst)));
    }));
    let (result, other_finished) = rx
        .recv()
        .expect("the task was cancelled before shutdown returned");
    result.expect("shutdown from a spawned task, with one other task");
    assert!(other_finished, "shutdown did not wait for the other task");
}

#[test]
fn shutdown_in_the_only_spawned_task_does_not_wait_for_itself() {
    run_child("promise_shutdown_in_its_own_task", None);
}

#[test]
fn shutdown_in_the_only_spawned_task_with_a_long_timeout_returns() {
    run_child("promise_shutdown_in_its_own_task_for_an_hour", None);
}

#[test]
fn shutdown_in_a_spawned_task_waits_for_the_other_task_only() {
    run_child("promise_shutdown_in_a_task_waits_for_the_other", None);
}

// --- The right error kind ------------------------------------------------------------------

fn init_with_a_bad_thread_name() {
    let err = globalrt::init(Config::new().thread_name("a\0b")).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig, "{err}");
    assert!(err.to_string().contains("thread_name"), "{err}");
    globalrt::init(Config::new()).expect("nothing was built by the failed init");
}

fn adopt_a_shut_down_runtime() {
    let app = multi_thread(1);
    let handle = app.handle().clone();
    app.shutdown_background();
    let err = globalrt::init_with_handle(handle).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig, "{err}");
    assert!(err.to_string().contains("shut down"), "{err}");
}

fn adopted_runtime_dropped() {
    let app = multi_thread(2);
    globalrt::init_with_handle(app.handle().clone()).unwrap();
    assert_eq!(globalrt::execute(sleep_then(1)), 1);
    drop(app);
    let err = globalrt::try_execute(sleep_then(1)).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::ShutDown, "try_execute: {err}");
    assert!(
        err.to_string().contains("init_with_handle"),
        "try_execute: {err}"
    );
    let err = globalrt::try_execute_timeout(Duration::from_secs(2), sleep_then(1)).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::ShutDown,
        "try_execute_timeout: {err}"
    );
    assert!(
        err.to_string().contains("init_with_handle"),
        "try_execute_timeout: {err}"
    );
}

/// A user's own panic while `shutdown` runs is still the user's panic.
fn user_panic_during_shutdown() {
    let polling = Arc::new(AtomicBool::new(false));
    let started = Arc::clone(&polling);
    let caller = std::thread::spawn(move || {
        globalrt::try_execute(async move {
            started.store(true, Ordering::SeqCst);
            while !globalrt::is_shut_down() {
                std::thread::sleep(Duration::from_millis(1));
            }
            if globalrt::is_shut_down() {
                panic!("boom");
            }
        })
    });
    while !polling.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    globalrt::shutdown(Duration::from_secs(5)).unwrap();
    let err = caller.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Panicked, "{err}");
    assert!(err.to_string().contains("boom"), "{err}");
}

#[test]
fn init_with_a_thread_name_tokio_refuses_is_invalid_config() {
    run_child("promise_init_with_a_bad_thread_name", None);
}

#[test]
fn init_with_handle_refuses_a_shut_down_runtime() {
    run_child("promise_adopt_a_shut_down_runtime", None);
}

#[test]
fn calls_after_the_adopted_runtime_is_dropped_are_shut_down() {
    run_child("promise_adopted_runtime_dropped", None);
}

#[test]
fn a_user_panic_during_shutdown_stays_panicked() {
    run_child("promise_user_panic_during_shutdown", None);
}

// --- A resource of the current_thread runtime passed to execute ---------------------------

/// Hangs by nature: the `Sleep` belongs to the current_thread runtime, which cannot run
/// while its only thread waits. The parent reads the diagnostic, then kills this child.
fn foreign_sleep_on_current_thread() {
    current_thread().block_on(async {
        globalrt::execute(tokio::time::sleep(Duration::from_secs(3600)));
    });
}

/// Kills the child when dropped, however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_current_thread_resource_passed_to_execute_is_diagnosed_on_stderr() {
    let scenario = "promise_foreign_sleep_on_current_thread";
    // The diagnostic comes after about 5 s of waiting; Valgrind runs code 10-50x slower.
    let limit = Duration::from_secs(if crate::hang_limit() > Duration::from_secs(10) {
        180
    } else {
        60
    });
    let mut child = KillOnDrop(child_command(scenario).spawn().unwrap());
    let stdout = read_in_background(child.0.stdout.take().unwrap());
    let stderr = BufReader::new(child.0.stderr.take().unwrap());
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + limit;
    let mut seen = String::new();
    let diagnosed = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
                if seen.contains("globalrt:") && seen.contains("current_thread") {
                    break true;
                }
            }
            // The child exited, or the limit passed.
            Err(_) => break false,
        }
    };
    drop(child);
    let stdout = stdout.join().unwrap();
    assert!(
        diagnosed,
        "no diagnostic containing \"globalrt:\" and \"current_thread\" on stderr within {limit:?}\nstdout:\n{stdout}\nstderr:\n{seen}"
    );
}

// --- The future is dropped inside the runtime: the paths that aborted ---------------------

/// The future panics at its second poll: dropping it outside the runtime would panic
/// while the first panic unwinds, which aborts the process.
fn drop_needs_runtime_after_a_panic() {
    let (future, seen) = PendingOnce::new(SecondPoll::Panic);
    let err = globalrt::try_execute(future).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Panicked, "{err}");
    assert!(err.to_string().contains("boom"), "{err}");
    assert_dropped_where_polled(&seen);
}

/// The future never finishes: it is dropped at the timeout, inside the runtime.
fn drop_needs_runtime_after_a_timeout() {
    let (future, seen) = PendingOnce::new(SecondPoll::Never);
    let err = globalrt::try_execute_timeout(Duration::from_millis(50), future).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::TimedOut, "{err}");
    assert_dropped_where_polled(&seen);
}

/// The same panic through `try_execute_timeout`, before its deadline.
fn drop_needs_runtime_after_a_panic_with_a_timeout() {
    let (future, seen) = PendingOnce::new(SecondPoll::Panic);
    let err = globalrt::try_execute_timeout(Duration::from_secs(3600), future).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Panicked, "{err}");
    assert!(err.to_string().contains("boom"), "{err}");
    assert_dropped_where_polled(&seen);
}

#[test]
fn a_panicking_future_whose_drop_needs_the_runtime_is_panicked_through_try_execute_timeout() {
    run_child(
        "promise_drop_needs_runtime_after_a_panic_with_a_timeout",
        None,
    );
}

#[test]
fn a_panicking_future_whose_drop_needs_the_runtime_is_panicked() {
    run_child("promise_drop_needs_runtime_after_a_panic", None);
}

#[test]
fn a_timed_out_future_whose_drop_needs_the_runtime_is_timed_out() {
    run_child("promise_drop_needs_runtime_after_a_timeout", None);
}

// --- Large futures ---------------------------------------------------------------------------

/// A 320 KiB future on a thread with a 2 MiB stack: `Runtime::block_on` runs it, so
/// `execute` must too (an overflow kills this child).
fn large_future_on_a_2_mib_stack() {
    let value = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            globalrt::execute(async {
                let mut block = [0u8; 320 * 1024];
                block[std::hint::black_box(1000)] = 1;
                sleep_then(1).await;
                u32::from(std::hint::black_box(&block)[1000])
            })
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(value, 1);
}

#[test]
fn a_320_kib_future_runs_on_a_2_mib_stack() {
    run_child("promise_large_future_on_a_2_mib_stack", None);
}

// --- Callbacks and builds that fail ----------------------------------------------------------

fn panicking_on_thread_start() {
    let err = globalrt::init(
        Config::new()
            .worker_threads(2)
            .on_thread_start(|| panic!("hook boom")),
    )
    .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Build, "{err}");
    assert!(
        err.to_string().contains("on_thread_start") && err.to_string().contains("hook boom"),
        "{err}"
    );
    // The failed init built nothing: the default runtime is built now.
    let value = globalrt::try_execute_timeout(Duration::from_secs(2), sleep_then(1));
    assert_eq!(value.expect("after the failed init"), 1);
}

fn os_refuses_threads() {
    let err = globalrt::init(Config::new()).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Build, "{err}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the OS error is not the source: {err}"
    );
}

fn worker_threads_overflow() {
    let value = std::env::var(WORKER_THREADS_ENV).unwrap();
    let expected = ErrorKind::InvalidEnv {
        variable: WORKER_THREADS_ENV,
        value,
    };
    let err = globalrt::try_execute(async { 1 }).unwrap_err();
    assert_eq!(err.kind(), &expected, "try_execute: {err}");
    assert!(err.to_string().contains("32768"), "try_execute: {err}");
    let err = globalrt::init(Config::new()).unwrap_err();
    assert_eq!(err.kind(), &expected, "init: {err}");
    assert!(err.to_string().contains("32768"), "init: {err}");
}

#[test]
fn a_panicking_on_thread_start_hook_fails_init() {
    run_child("promise_panicking_on_thread_start", None);
}

#[test]
fn a_build_the_os_refuses_is_a_build_error_with_a_source() {
    // Under Valgrind the child's test harness cannot start its own test thread with such
    // a stack ("Invalid argument"), before globalrt runs at all: the scenario runs natively.
    if crate::under_valgrind() {
        eprintln!("skipped under Valgrind: the test harness itself cannot start a thread");
        return;
    }
    run_child_with_env(
        "promise_os_refuses_threads",
        &[("RUST_MIN_STACK", "1000000000000")],
    );
}

#[test]
fn a_worker_count_that_overflows_is_invalid_env() {
    run_child(
        "promise_worker_threads_overflow",
        Some("18446744073709551615"),
    );
}

// --- The first call of a process where tokio's context is gone ------------------------------

/// Makes the process's first globalrt call from its `Drop`, run as a thread-local
/// destructor after tokio's own.
struct FirstCallAtThreadExit(mpsc::Sender<Result<u32, globalrt::Error>>);

impl Drop for FirstCallAtThreadExit {
    fn drop(&mut self) {
        let _ = self.0.send(globalrt::try_execute(sleep_then(5)));
    }
}

std::thread_local! {
    static FIRST_CALL_AT_THREAD_EXIT: std::cell::RefCell<Option<FirstCallAtThreadExit>> =
        const { std::cell::RefCell::new(None) };
}

fn first_call_in_a_thread_local_destructor() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Registered before tokio's thread-locals, so destroyed after them.
        FIRST_CALL_AT_THREAD_EXIT.with(|slot| *slot.borrow_mut() = Some(FirstCallAtThreadExit(tx)));
        // The application's own runtime, on this thread: tokio's thread-locals now exist.
        assert_eq!(current_thread().block_on(sleep_then(1)), 1);
    })
    .join()
    .unwrap();
    let result = rx.recv().unwrap();
    assert_eq!(
        result.expect("the first call, in a thread-local destructor"),
        5
    );
}

#[cfg(unix)]
mod at_exit {
    //! The process's first globalrt call, from an `atexit` handler after the application's
    //! own runtime ran on the exiting thread.

    use std::io::Write;

    extern "C" fn first_call_at_exit() {
        let result = globalrt::try_execute(crate::sleep_then(5));
        let mut out = std::io::stdout();
        let _ = match result {
            Ok(5) => writeln!(out, "scenario promise_first_call_at_exit passed"),
            other => writeln!(out, "atexit: the first try_execute gave {other:?}"),
        };
        let _ = out.flush();
    }

    pub(super) fn first_call() {
        // This thread's tokio context is in use, so exit destroys it before the handler.
        assert_eq!(crate::current_thread().block_on(crate::sleep_then(1)), 1);
        #[allow(unsafe_code)]
        // SAFETY: registers a plain `extern "C"` function that lives as long as the process.
        let status = unsafe { libc::atexit(first_call_at_exit) };
        assert_eq!(status, 0);
        std::io::stdout().flush().unwrap();
        std::process::exit(0);
    }
}

#[test]
fn the_first_call_of_a_process_in_a_thread_local_destructor_after_tokios_own() {
    run_child("promise_first_call_in_a_thread_local_destructor", None);
}

#[cfg(unix)]
#[test]
fn the_first_call_of_a_process_in_an_atexit_handler() {
    run_child("promise_first_call_at_exit", None);
}

// --- What the strategy reads on the shared runtime's own threads -------------------------

/// A task of a one-worker shared runtime runs on worker 0, where the entered handle is the
/// shared runtime's own: only the mark on the shared runtime's threads tells it from a
/// current_thread runtime's task there. A worker blocks in place, on its own thread; the
/// helper thread would keep its core.
fn shared_worker_zero_blocks_in_place() {
    globalrt::init(Config::new().worker_threads(1)).unwrap();
    let task = globalrt::spawn(async {
        let caller = std::thread::current().id();
        let polled_on = globalrt::execute(async {
            tokio::task::yield_now().await;
            std::thread::current().id()
        });
        (caller, polled_on)
    });
    let (caller, polled_on) = globalrt::execute(task).unwrap();
    assert_eq!(
        caller, polled_on,
        "a task on the shared runtime's worker 0 was driven on another thread"
    );
}

#[test]
fn a_task_on_the_shared_runtimes_worker_zero_blocks_in_place() {
    run_child("promise_shared_worker_zero_blocks_in_place", None);
}

/// A call on the helper thread that finishes quickly says nothing: the long-wait
/// diagnostic is for waits of seconds.
fn quick_helper_call() {
    let value = current_thread().block_on(async { globalrt::execute(sleep_then(3)) });
    assert_eq!(value, 3);
}

#[test]
fn a_quick_call_on_the_helper_thread_prints_nothing() {
    let output = run_child("promise_quick_helper_call", None);
    assert!(
        !output.stderr.contains("globalrt:"),
        "a quick helper-thread call printed: {}",
        output.stderr
    );
}

/// `on_thread_start` that panics on every thread after the first: the one worker starts,
/// then two blocking-pool threads that must run at once (a barrier holds each until the
/// other has started) each panic in the callback, which is caught; the threads work on.
fn later_hook_panics() {
    use std::sync::atomic::AtomicUsize;
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    globalrt::init(Config::new().worker_threads(1).on_thread_start(|| {
        if STARTED.fetch_add(1, Ordering::SeqCst) >= 1 {
            panic!("later hook boom");
        }
    }))
    .unwrap();
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let blocking: Vec<_> = (0..2)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            globalrt::handle().spawn_blocking(move || {
                barrier.wait();
                i
            })
        })
        .collect();
    let sum: i32 = blocking
        .into_iter()
        .map(|task| globalrt::execute(task).unwrap())
        .sum();
    assert_eq!(sum, 1);
    assert!(
        STARTED.load(Ordering::SeqCst) >= 3,
        "two blocking threads started"
    );
}

/// Later panics of the callback are caught and the first one is said once on stderr.
#[test]
fn later_panics_of_on_thread_start_are_reported_once() {
    let output = run_child("promise_later_hook_panics", None);
    let reports = output
        .stderr
        .matches("globalrt: Config::on_thread_start panicked")
        .count();
    assert_eq!(reports, 1, "stderr:\n{}", output.stderr);
    assert!(
        output.stderr.contains("later hook boom"),
        "{}",
        output.stderr
    );
}

/// A user's own unwrap of a cancelled task's `JoinError`, on an adopted runtime that is
/// still running, is the user's panic: `Panicked`, not `ShutDown`.
fn cancelled_join_on_a_live_adopted_runtime() {
    let app = multi_thread(2);
    globalrt::init_with_handle(app.handle().clone()).unwrap();
    let err = globalrt::try_execute(async {
        let task = tokio::spawn(std::future::pending::<()>());
        task.abort();
        task.await.unwrap();
    })
    .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Panicked, "{err}");
    assert!(err.to_string().contains("Cancelled"), "{err}");
    assert_eq!(
        globalrt::execute(sleep_then(2)),
        2,
        "the adopted runtime still runs"
    );
}

#[test]
fn a_cancelled_join_on_a_live_adopted_runtime_stays_panicked() {
    run_child("promise_cancelled_join_on_a_live_adopted_runtime", None);
}

/// A worker thread that has polled a tracked task (`spawn`) is not marked as being in one
/// afterwards: `shutdown` from an untracked task on the same (only) worker waits for every
/// tracked task.
fn shutdown_from_an_untracked_task() {
    globalrt::init(Config::new().worker_threads(1)).unwrap();
    assert_eq!(globalrt::execute(globalrt::spawn(async { 1 })).unwrap(), 1);
    let finished = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&finished);
    globalrt::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        flag.store(true, Ordering::SeqCst);
    });
    let (tx, rx) = mpsc::channel();
    drop(globalrt::handle().spawn(async move {
        let _ = tx.send(globalrt::shutdown(Duration::from_secs(3600)));
    }));
    let result = rx
        .recv_timeout(crate::hang_limit())
        .expect("shutdown returned");
    assert!(result.is_ok(), "{result:?}");
    assert!(
        finished.load(Ordering::SeqCst),
        "shutdown from an untracked task did not wait for the tracked one"
    );
}

#[test]
fn shutdown_from_an_untracked_task_waits_for_every_tracked_task() {
    run_child("promise_shutdown_from_an_untracked_task", None);
}
