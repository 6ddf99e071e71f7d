//! The process lifecycle: `fork`, `atexit`, the end of `main` (`shutdown_guard`) and an
//! application's own runtime (`init_with_handle`). Each runs in a fresh child process
//! through `process::run_child`, which kills it after `crate::hang_limit()`; a forked
//! grandchild is waited for with half that limit, so a hang in it is a failure with a
//! message.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use globalrt::ErrorKind;

use crate::process::run_child;
use crate::{sleep_then, yield_many};

/// The scenarios of this module, dispatched from `process::child_entry`.
pub(crate) fn run_scenario(scenario: &str) {
    match scenario {
        #[cfg(unix)]
        "fork_after_use" => fork::after_use(),
        #[cfg(unix)]
        "fork_keeps_the_config" => fork::keeps_the_config(),
        #[cfg(unix)]
        "fork_before_use" => fork::before_use(),
        #[cfg(unix)]
        "fork_during_a_call" => fork::during_a_call(),
        #[cfg(unix)]
        "fork_twice" => fork::twice(),
        #[cfg(unix)]
        "fork_while_tasks_churn" => fork::while_tasks_churn(),
        #[cfg(unix)]
        "atexit" => at_exit::register_and_exit(),
        "guard_waits" => guard_waits(),
        "guard_cancels" => guard_cancels(),
        "adopt_multi_thread" => adopt_multi_thread(),
        "adopt_current_thread" => adopt_current_thread(),
        other => panic!("unknown scenario {other}"),
    }
}

/// A future that exercises the shared runtime: a timer, yields, a spawned task.
fn busy_call(value: u32) -> u32 {
    let timer = globalrt::try_execute(sleep_then(value)).expect("timer future");
    let yields = globalrt::try_execute(yield_many(20)).expect("yielding future");
    let task = globalrt::try_execute(async move { tokio::spawn(sleep_then(value)).await })
        .expect("spawning future")
        .expect("spawned task");
    assert_eq!((timer, yields, task), (value, 20, value));
    timer
}

#[cfg(unix)]
pub(crate) mod fork {
    //! `fork` from a process that has (or has not yet) used globalrt. The child reports
    //! through its exit status, and leaves through `_exit`, so that it never runs the
    //! parent's test harness teardown.

    use std::time::{Duration, Instant};

    use super::busy_call;

    /// Forks; the child runs `body` and exits 0 if it returned, 101 if it panicked.
    /// Returns the child's pid.
    pub(crate) fn spawn_forked(body: impl FnOnce()) -> libc::pid_t {
        #[allow(unsafe_code)]
        // SAFETY: `fork` has no memory-safety preconditions. The child of this
        // multi-threaded process is allowed more than async-signal-safe calls here because
        // glibc's allocator and stdio are fork-safe, and this is the use globalrt supports.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
            let code = if outcome.is_ok() { 0 } else { 101 };
            #[allow(unsafe_code)]
            // SAFETY: `_exit` ends the child at once; nothing of it runs afterwards.
            unsafe {
                libc::_exit(code)
            }
        }
        pid
    }

    /// Waits up to half the hang limit for a forked child and asserts it exited 0; kills
    /// it otherwise.
    pub(crate) fn expect_success(pid: libc::pid_t, what: &str) {
        let limit = crate::hang_limit() / 2;
        let deadline = Instant::now() + limit;
        let mut status = 0;
        loop {
            #[allow(unsafe_code)]
            // SAFETY: `status` is a valid out-pointer; `pid` is our own child.
            let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            assert!(done >= 0, "{what}: waitpid failed");
            if done == pid {
                break;
            }
            if Instant::now() >= deadline {
                #[allow(unsafe_code)]
                // SAFETY: signalling and reaping our own child.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &mut status, 0);
                }
                panic!("{what}: the forked child did not finish within {limit:?} (hung)");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "{what}: the forked child failed (wait status {status:#x})"
        );
    }

    /// The runtime was built and used, then the process forks: the child gets a working
    /// runtime of its own, can shut it down, and the parent's keeps working.
    pub(super) fn after_use() {
        busy_call(1);
        let child = spawn_forked(|| {
            assert!(!globalrt::is_shut_down());
            // The parent had built its runtime: in the child, as there, `init` is too late.
            assert_eq!(
                globalrt::init(globalrt::Config::new()).unwrap_err().kind(),
                &globalrt::ErrorKind::AlreadyInitialized
            );
            busy_call(2);
            let task = globalrt::spawn(super::sleep_then(3));
            assert_eq!(globalrt::execute(task).unwrap(), 3);
            globalrt::shutdown(Duration::from_secs(5)).expect("the child's shutdown");
            assert_eq!(
                globalrt::try_execute(async { 1 }).unwrap_err().kind(),
                &globalrt::ErrorKind::ShutDown
            );
        });
        expect_success(child, "child");
        busy_call(4);
        assert!(!globalrt::is_shut_down(), "the child's shutdown is its own");
    }

    /// The parent built its runtime with `init`'s configuration: the child's own runtime
    /// is built with the same one (a worker count no default runtime has here).
    pub(super) fn keeps_the_config() {
        globalrt::init(globalrt::Config::new().worker_threads(3)).unwrap();
        busy_call(1);
        let child = spawn_forked(|| {
            busy_call(2);
            assert_eq!(
                globalrt::handle().metrics().num_workers(),
                3,
                "the child's runtime was not built with the parent's configuration"
            );
        });
        expect_success(child, "child");
    }

    /// No runtime yet when the process forks: parent and child each build their own.
    pub(super) fn before_use() {
        let child = spawn_forked(|| {
            busy_call(5);
        });
        expect_success(child, "child");
        busy_call(6);
    }

    /// Another thread is parked inside `execute` when the process forks: the child, where
    /// that thread does not exist, neither inherits its half-finished call nor waits for
    /// it, and the parent's call still finishes once released.
    pub(super) fn during_a_call() {
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<u32>();
        let caller = std::thread::spawn(move || {
            globalrt::try_execute(async move {
                started_tx.send(()).unwrap();
                release_rx.await.unwrap()
            })
        });
        // The future's first poll has run: the caller is inside `execute`, on its slow path.
        started_rx.recv().unwrap();
        let child = spawn_forked(|| {
            busy_call(7);
        });
        expect_success(child, "child");
        release_tx.send(8).unwrap();
        assert_eq!(caller.join().unwrap().unwrap(), 8);
        busy_call(9);
    }

    /// Other threads spawn and finish tasks (taking globalrt's task-count lock) while the
    /// process forks again and again: no child may find that lock held by a thread that
    /// does not exist there. A stress test: a lock held at the fork is a matter of timing.
    pub(super) fn while_tasks_churn() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};

        // Valgrind runs one thread at a time, so the churning threads starve the forking
        // one and the timing this stresses does not exist there: skip under memcheck.
        let under_valgrind = std::env::var("LD_PRELOAD").is_ok_and(|v| v.contains("vgpreload"));
        if under_valgrind {
            return;
        }
        busy_call(1);
        let stop = Arc::new(AtomicBool::new(false));
        let churners: Vec<_> = (0..2)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let task = globalrt::spawn(async { 1 });
                        assert_eq!(globalrt::execute(task).unwrap(), 1);
                    }
                })
            })
            .collect();
        // Up to 150 rounds (about 1.5 s here), but no more than fit in 2 s on a slow
        // machine (a bound on the work, not an assertion). Without the fork handlers'
        // locks, about one run in five hung a child within 40 rounds.
        let budget = std::time::Instant::now() + Duration::from_secs(2);
        for round in 0..150 {
            if round > 0 && std::time::Instant::now() >= budget {
                break;
            }
            let child = spawn_forked(|| {
                let task = globalrt::spawn(async { 2 });
                assert_eq!(globalrt::execute(task).unwrap(), 2);
                globalrt::shutdown(Duration::from_secs(5)).unwrap();
            });
            expect_success(child, &format!("child {round}"));
        }
        stop.store(true, Ordering::Relaxed);
        for churner in churners {
            churner.join().unwrap();
        }
    }

    /// A child forks again: the grandchild gets a runtime of its own too, and the child's
    /// keeps working.
    pub(super) fn twice() {
        busy_call(1);
        let child = spawn_forked(|| {
            busy_call(2);
            let grandchild = spawn_forked(|| {
                busy_call(3);
            });
            expect_success(grandchild, "grandchild");
            busy_call(4);
        });
        expect_success(child, "child");
        busy_call(5);
    }
}

#[cfg(unix)]
mod at_exit {
    //! An `atexit` handler that calls globalrt. `std::process::exit` on this thread runs
    //! its thread-local destructors first (glibc's `exit`), tokio's among them, then the
    //! handler, on the same thread: the context tokio needs is gone there.

    use std::io::Write;

    extern "C" fn call_globalrt_at_exit() {
        let send = globalrt::try_execute(super::sleep_then(9));
        let plain = std::panic::catch_unwind(|| globalrt::execute(super::sleep_then(10)));
        let mut out = std::io::stdout();
        let _ = match (send, plain) {
            (Ok(9), Ok(10)) => writeln!(out, "scenario atexit passed"),
            (send, plain) => writeln!(
                out,
                "atexit: try_execute gave {send:?}, execute {:?}",
                plain.map_err(|_| "a panic")
            ),
        };
        let _ = out.flush();
    }

    pub(super) fn register_and_exit() {
        // This thread's tokio context is in use, so exit destroys it before the handler.
        super::busy_call(1);
        #[allow(unsafe_code)]
        // SAFETY: registers a plain `extern "C"` function that lives as long as the process.
        let status = unsafe { libc::atexit(call_globalrt_at_exit) };
        assert_eq!(status, 0);
        // tokio's panic in `Handle::enter`, which globalrt catches, would print a message
        // and a backtrace, slow to resolve under Valgrind; what counts is the output.
        std::panic::set_hook(Box::new(|_| {}));
        std::io::stdout().flush().unwrap();
        std::process::exit(0);
    }
}

/// Drops `tx` (so the task waiting on it can finish) when dropped.
struct ReleaseOnDrop(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        let _ = self.0.take().unwrap().send(());
    }
}

/// The end of `main`: the guard waits for a task that is released only as `main` ends.
fn guard_waits() {
    let finished = Arc::new(AtomicBool::new(false));
    {
        let _guard = globalrt::shutdown_guard(Duration::from_secs(5));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let flag = Arc::clone(&finished);
        drop(globalrt::spawn(async move {
            rx.await.unwrap();
            flag.store(true, Ordering::SeqCst);
        }));
        // Declared after the guard, so dropped before it: the task can finish only now.
        let _release = ReleaseOnDrop(Some(tx));
    }
    assert!(
        globalrt::is_shut_down(),
        "the guard's drop shut the runtime down"
    );
    assert!(
        finished.load(Ordering::SeqCst),
        "the guard waited for the task"
    );
}

/// The guard cancels a task that never ends and says so on stderr.
fn guard_cancels() {
    {
        let _guard = globalrt::shutdown_guard(Duration::from_millis(50));
        drop(globalrt::spawn(std::future::pending::<()>()));
    }
    assert!(globalrt::is_shut_down());
}

/// The application's multi-thread runtime becomes the shared one; shutdown ends
/// globalrt's use of it, leaves its tasks running and the runtime usable.
fn adopt_multi_thread() {
    let app = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("app-worker")
        .enable_all()
        .build()
        .unwrap();
    globalrt::init_with_handle(app.handle().clone()).unwrap();
    assert_eq!(globalrt::handle().id(), app.handle().id());
    let worker = globalrt::execute(async {
        tokio::spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .unwrap()
    });
    assert_eq!(worker.as_deref(), Some("app-worker"), "no second pool");
    assert_eq!(busy_call(3), 3);
    for err in [
        globalrt::init(globalrt::Config::new()).unwrap_err(),
        globalrt::init_with_handle(app.handle().clone()).unwrap_err(),
    ] {
        assert_eq!(err.kind(), &ErrorKind::AlreadyInitialized, "{err}");
    }
    // A tracked task still running at the timeout is left running, not cancelled.
    let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
    let task = globalrt::spawn(async move { rx.await.unwrap() * 2 });
    let err = globalrt::shutdown(Duration::from_millis(50)).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::ShutdownTimedOut {
            unfinished_tasks: 1
        }
    );
    assert!(err.to_string().contains("left running"), "{err}");
    assert_eq!(
        globalrt::try_execute(async { 1 }).unwrap_err().kind(),
        &ErrorKind::ShutDown
    );
    tx.send(21).unwrap();
    let (doubled, slept) = app.block_on(async {
        let doubled = task.await.expect("the task was cancelled");
        (doubled, sleep_then(5).await)
    });
    assert_eq!(
        (doubled, slept),
        (42, 5),
        "the application's runtime still runs"
    );
}

/// A current_thread runtime cannot be shared: refused, and nothing is adopted.
fn adopt_current_thread() {
    let app = crate::current_thread();
    let err = globalrt::init_with_handle(app.handle().clone()).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig, "{err}");
    assert!(err.to_string().contains("current_thread"), "{err}");
    assert_ne!(globalrt::handle().id(), app.handle().id());
    assert_eq!(globalrt::execute(sleep_then(4)), 4);
}

#[cfg(unix)]
#[test]
fn a_forked_child_gets_a_runtime_of_its_own() {
    run_child("fork_after_use", None);
}

#[cfg(unix)]
#[test]
fn a_forked_child_builds_with_the_parents_configuration() {
    run_child("fork_keeps_the_config", None);
}

#[cfg(unix)]
#[test]
fn a_fork_before_first_use_needs_nothing() {
    run_child("fork_before_use", None);
}

#[cfg(unix)]
#[test]
fn a_fork_while_another_thread_is_inside_execute() {
    run_child("fork_during_a_call", None);
}

#[cfg(unix)]
#[test]
fn a_grandchild_gets_a_runtime_of_its_own() {
    run_child("fork_twice", None);
}

#[cfg(unix)]
#[test]
fn forks_while_other_threads_spawn_tasks() {
    run_child("fork_while_tasks_churn", None);
}

#[cfg(unix)]
#[test]
fn try_execute_and_execute_in_an_atexit_handler() {
    run_child("atexit", None);
}

#[test]
fn shutdown_guard_waits_for_tasks_at_the_end_of_main() {
    run_child("guard_waits", None);
}

#[test]
fn shutdown_guard_reports_cancelled_tasks_on_stderr() {
    let output = run_child("guard_cancels", None);
    assert!(
        output
            .stderr
            .contains("1 spawned task(s) were still running after 50ms and were cancelled"),
        "stderr:\n{}",
        output.stderr
    );
}

#[test]
fn init_with_handle_shares_the_applications_runtime() {
    run_child("adopt_multi_thread", None);
}

#[test]
fn init_with_handle_refuses_a_current_thread_runtime() {
    run_child("adopt_current_thread", None);
}
