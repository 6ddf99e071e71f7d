//! `globalrt::scope`: on a plain thread it enters the shared runtime once for its closure,
//! and the token's calls poll without entering again; anywhere else it changes nothing.
//! Every context the crate documents, nested scopes, a panic in the closure, and the
//! misuse of calling the token inside another runtime's context (an error, never a hang).
//! Shutdown and fork inside the closure need a fresh process: `run_scenario`.
//!
//! Every test that can hang runs under `with_watchdog`; no test asserts a timing.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use globalrt::{ErrorKind, Scope};
use tokio::runtime::Handle;

use crate::process::run_child;
use crate::promise::{PendingOnce, SecondPoll, assert_dropped_where_polled};
use crate::{current_thread, multi_thread, sleep_then, with_watchdog, yield_many};

/// The id of the runtime whose context this thread is in, if any.
fn entered() -> Option<tokio::runtime::Id> {
    Handle::try_current().ok().map(|handle| handle.id())
}

/// A future that is pending at its first poll and `!Send`.
async fn local_yields(times: u32) -> u32 {
    let count = Rc::new(RefCell::new(0));
    for _ in 0..times {
        tokio::task::yield_now().await;
        *count.borrow_mut() += 1;
    }
    *count.borrow()
}

/// Every kind of call through the token: ready, a timer, yields, a borrow, a spawned
/// task, `try_`, a deadline, and (where `local` says the context allows it) a pending
/// `!Send` future.
fn exercise(rt: &Scope, context: &str, local: bool) {
    assert_eq!(rt.execute(async { 7 }), 7, "{context}: ready future");
    assert_eq!(rt.execute(sleep_then(8)), 8, "{context}: timer");
    assert_eq!(rt.execute(yield_many(50)), 50, "{context}: yields");
    let borrowed = String::from(context);
    assert_eq!(
        rt.execute(async { borrowed.len() }),
        context.len(),
        "{context}: borrow"
    );
    let task = rt.execute(async { tokio::spawn(sleep_then(3)).await.unwrap() });
    assert_eq!(task, 3, "{context}: spawned task");
    assert_eq!(
        rt.try_execute(yield_many(5)).unwrap(),
        5,
        "{context}: try_execute"
    );
    let quick = rt.try_execute_timeout(Duration::from_secs(30), sleep_then(2));
    assert_eq!(quick.unwrap(), 2, "{context}: deadline not reached");
    let stuck = rt.try_execute_timeout(Duration::from_millis(5), std::future::pending::<()>());
    assert_eq!(
        stuck.unwrap_err().kind(),
        &ErrorKind::TimedOut,
        "{context}: timed out"
    );
    assert_eq!(
        rt.execute_local(async { Rc::new(4) }).as_ref(),
        &4,
        "{context}: ready local"
    );
    if local {
        assert_eq!(
            rt.execute_local(local_yields(9)),
            9,
            "{context}: pending local"
        );
        assert_eq!(
            rt.try_execute_local(local_yields(2)).unwrap(),
            2,
            "{context}: try local"
        );
    }
}

// --- A plain thread: the scope enters the shared runtime once --------------------------

#[test]
fn on_a_plain_thread_the_closure_runs_inside_the_shared_runtime() {
    with_watchdog("scope on a plain thread", || {
        std::thread::spawn(|| {
            assert_eq!(entered(), None);
            let shared = globalrt::handle().id();
            globalrt::scope(|rt| {
                assert_eq!(
                    entered(),
                    Some(shared),
                    "the closure is inside the shared runtime"
                );
                exercise(rt, "plain thread", true);
                assert_eq!(
                    entered(),
                    Some(shared),
                    "the calls left the context as it was"
                );
                // What the closure itself creates belongs to the shared runtime.
                let task = tokio::spawn(sleep_then(6));
                assert_eq!(rt.execute(task).unwrap(), 6);
            });
            assert_eq!(entered(), None, "the scope's context ends with the closure");
        })
        .join()
        .unwrap();
    });
}

/// A scope made in a thread-local destructor that runs after tokio's own, where tokio's
/// context is gone: it enters nothing (`Handle::enter` would panic there), and its calls
/// are `execute`'s, which drive the future on a helper thread.
struct ScopeAtThreadExit(std::sync::mpsc::Sender<(String, Result<u32, globalrt::Error>)>);

impl Drop for ScopeAtThreadExit {
    fn drop(&mut self) {
        let sent = globalrt::scope(|rt| (format!("{rt:?}"), rt.try_execute(sleep_then(5))));
        let _ = self.0.send(sent);
    }
}

std::thread_local! {
    static SCOPE_AT_THREAD_EXIT: RefCell<Option<ScopeAtThreadExit>> = const { RefCell::new(None) };
}

#[test]
fn a_scope_where_tokios_context_is_gone_enters_nothing() {
    let (debug, result) = with_watchdog("scope in a late thread-local destructor", || {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Registered before tokio's thread-locals, so destroyed after them.
            SCOPE_AT_THREAD_EXIT.with(|slot| *slot.borrow_mut() = Some(ScopeAtThreadExit(tx)));
            assert_eq!(globalrt::execute(sleep_then(2)), 2);
        })
        .join()
        .unwrap();
        rx.recv().unwrap()
    });
    assert_eq!(debug, "Scope { entered: false }");
    assert_eq!(result.expect("the call through execute's helper thread"), 5);
}

#[test]
fn the_token_says_whether_its_scope_entered() {
    with_watchdog("scope Debug", || {
        std::thread::spawn(|| {
            globalrt::scope(|rt| assert_eq!(format!("{rt:?}"), "Scope { entered: true }"));
            current_thread().block_on(async {
                globalrt::scope(|rt| assert_eq!(format!("{rt:?}"), "Scope { entered: false }"));
            });
        })
        .join()
        .unwrap();
    });
}

#[test]
fn the_scope_returns_the_closures_value() {
    let value = with_watchdog("scope value", || {
        globalrt::scope(|rt| rt.execute(sleep_then(1)) + rt.execute(async { 2 }))
    });
    assert_eq!(value, 3);
}

#[test]
fn a_future_through_the_token_is_dropped_inside_the_shared_runtime_where_polled() {
    with_watchdog("scope drop in place", || {
        for second in [SecondPoll::Ready(7), SecondPoll::Panic] {
            let (future, seen) = PendingOnce::new(second);
            let _ = globalrt::scope(|rt| rt.try_execute(future));
            assert_dropped_where_polled(&seen);
        }
    });
}

#[test]
fn a_future_larger_than_the_stack_threshold_runs_through_the_token() {
    let len = with_watchdog("scope large future", || {
        globalrt::scope(|rt| {
            rt.execute(async {
                let big = [1u8; 64 * 1024];
                tokio::task::yield_now().await;
                big.iter().map(|&b| usize::from(b)).sum::<usize>()
            })
        })
    });
    assert_eq!(len, 64 * 1024);
}

#[test]
fn spawn_local_in_a_future_through_the_token_runs() {
    let value = with_watchdog("scope spawn_local", || {
        globalrt::scope(|rt| {
            rt.execute_local(async {
                let shared = Rc::new(5);
                let inner = Rc::clone(&shared);
                tokio::task::spawn_local(async move { *inner + 1 })
                    .await
                    .unwrap()
            })
        })
    });
    assert_eq!(value, 6);
}

// --- A panic in the closure or the future ------------------------------------------------

#[test]
fn a_panic_in_the_closure_unwinds_out_of_the_context() {
    with_watchdog("scope panic in closure", || {
        std::thread::spawn(|| {
            let caught = std::panic::catch_unwind(|| {
                globalrt::scope(|rt| {
                    rt.execute(yield_many(3));
                    panic!("closure boom");
                })
            });
            let payload = caught.expect_err("the closure panicked");
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"closure boom"));
            assert_eq!(entered(), None, "the context unwound with the closure");
            // And the next scope on this thread works.
            assert_eq!(globalrt::scope(|rt| rt.execute(sleep_then(2))), 2);
        })
        .join()
        .unwrap();
    });
}

#[test]
fn a_panic_in_a_future_through_the_token_is_the_futures() {
    with_watchdog("scope panic in future", || {
        globalrt::scope(|rt| {
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                rt.execute(async { panic!("future boom") })
            }));
            let payload = caught.expect_err("the future panicked");
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"future boom"));
            let err = rt.try_execute(async {
                tokio::task::yield_now().await;
                panic!("pending boom")
            });
            let err = err.unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::Panicked, "{err}");
            assert!(err.to_string().contains("pending boom"), "{err}");
            // The token still works afterwards.
            assert_eq!(rt.execute(sleep_then(4)), 4);
        });
    });
}

// --- Anywhere else, the scope changes nothing ----------------------------------------

/// Runs a scope where the thread is already inside `expected`'s context (or none) and
/// checks that the closure sees the same context, then exercises the token.
fn scope_changes_nothing(context: &str, local: bool) {
    let before = entered();
    globalrt::scope(|rt| {
        assert_eq!(entered(), before, "{context}: the scope entered a runtime");
        exercise(rt, context, local);
    });
    assert_eq!(entered(), before, "{context}");
}

#[test]
fn in_a_multi_thread_block_on_body() {
    with_watchdog("scope in multi-thread block_on", || {
        multi_thread(2).block_on(async { scope_changes_nothing("multi-thread block_on", true) });
    });
}

#[test]
fn in_a_multi_thread_worker_task() {
    with_watchdog("scope in a worker task", || {
        multi_thread(2).block_on(async {
            tokio::spawn(async { scope_changes_nothing("worker task", true) })
                .await
                .unwrap();
        });
    });
}

#[test]
fn on_a_current_thread_runtimes_thread() {
    with_watchdog("scope on current_thread", || {
        current_thread().block_on(async {
            scope_changes_nothing("current_thread", false);
            // A pending !Send future is refused there, as execute_local refuses it.
            globalrt::scope(|rt| {
                let err = rt.try_execute_local(local_yields(2)).unwrap_err();
                assert_eq!(err.kind(), &ErrorKind::UnsupportedContext, "{err}");
            });
        });
    });
}

#[test]
fn in_spawn_blocking() {
    with_watchdog("scope in spawn_blocking", || {
        multi_thread(2).block_on(async {
            tokio::task::spawn_blocking(|| scope_changes_nothing("spawn_blocking", true))
                .await
                .unwrap();
        });
    });
}

#[test]
fn after_runtime_enter() {
    with_watchdog("scope after Runtime::enter", || {
        std::thread::spawn(|| {
            let outer = current_thread();
            let _entered = outer.enter();
            scope_changes_nothing("after Runtime::enter", true);
        })
        .join()
        .unwrap();
    });
}

#[test]
fn nested_scopes() {
    with_watchdog("nested scopes", || {
        std::thread::spawn(|| {
            let shared = globalrt::handle().id();
            globalrt::scope(|outer| {
                assert_eq!(outer.execute(yield_many(2)), 2);
                globalrt::scope(|inner| {
                    assert_eq!(entered(), Some(shared));
                    exercise(inner, "inner scope", true);
                    assert_eq!(
                        outer.execute(sleep_then(1)),
                        1,
                        "the outer token in the inner"
                    );
                });
                assert_eq!(
                    entered(),
                    Some(shared),
                    "the inner scope left the outer's context"
                );
                exercise(outer, "outer scope after the inner", true);
            });
            assert_eq!(entered(), None);
        })
        .join()
        .unwrap();
    });
}

#[test]
fn a_scope_inside_execute() {
    with_watchdog("scope inside execute", || {
        let value = globalrt::execute(async {
            let first = globalrt::scope(|rt| rt.execute(yield_many(3)));
            tokio::task::yield_now().await;
            first + globalrt::scope(|rt| rt.execute(sleep_then(4)))
        });
        assert_eq!(value, 7);
    });
}

// --- Misuse: the token called inside another runtime's context ------------------------

/// Inside `other`'s context, a ready future through the token returns (it has run
/// there), and a pending one fails with `UnsupportedContext` once its first poll is
/// pending; `execute` panics with that message. Nothing hangs.
fn refused_inside(rt: &Scope, context: &str) {
    assert_eq!(
        rt.execute(async { 5 }),
        5,
        "{context}: a ready future has run"
    );
    let err = rt.try_execute(yield_many(3)).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::UnsupportedContext,
        "{context}: {err}"
    );
    assert!(err.to_string().contains("scope"), "{context}: {err}");
    let err = rt.try_execute_local(local_yields(3)).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::UnsupportedContext,
        "{context}: {err}"
    );
    let err = rt
        .try_execute_timeout(Duration::from_secs(30), yield_many(3))
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::UnsupportedContext,
        "{context}: {err}"
    );
    let (future, seen) = PendingOnce::new(SecondPoll::Ready(1));
    let err = rt.try_execute(future).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::UnsupportedContext,
        "{context}: {err}"
    );
    assert!(
        seen.lock().unwrap().dropped_on.is_some(),
        "{context}: the refused future is dropped"
    );
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.execute(yield_many(3));
    }));
    let payload = panicked.expect_err("execute panics with the error");
    let message = payload
        .downcast_ref::<String>()
        .expect("a formatted message");
    assert!(message.contains("scope"), "{context}: {message}");
}

#[test]
fn the_token_inside_another_current_thread_runtimes_block_on_is_refused() {
    with_watchdog("scope misuse, current_thread block_on", || {
        std::thread::spawn(|| {
            let other = current_thread();
            globalrt::scope(|rt| {
                other.block_on(async { refused_inside(rt, "current_thread block_on") });
                // Back in the scope's own context, the token works again.
                assert_eq!(rt.execute(yield_many(2)), 2);
            });
        })
        .join()
        .unwrap();
    });
}

#[test]
fn the_token_inside_another_multi_thread_runtimes_block_on_is_refused() {
    with_watchdog("scope misuse, multi_thread block_on", || {
        std::thread::spawn(|| {
            let other = multi_thread(1);
            globalrt::scope(|rt| {
                other.block_on(async { refused_inside(rt, "multi_thread block_on") });
                assert_eq!(rt.execute(sleep_then(2)), 2);
            });
        })
        .join()
        .unwrap();
    });
}

#[test]
fn the_token_after_another_runtimes_enter_is_refused() {
    with_watchdog("scope misuse, Runtime::enter", || {
        std::thread::spawn(|| {
            let other = multi_thread(1);
            globalrt::scope(|rt| {
                {
                    let _other = other.enter();
                    refused_inside(rt, "Runtime::enter");
                }
                {
                    let handle = other.handle().clone();
                    let _other = handle.enter();
                    refused_inside(rt, "Handle::enter");
                }
                assert_eq!(rt.execute(yield_many(2)), 2);
            });
        })
        .join()
        .unwrap();
    });
}

#[test]
fn the_shared_runtime_entered_again_inside_the_scope_is_not_misuse() {
    let value = with_watchdog("scope + handle().enter()", || {
        globalrt::scope(|rt| {
            let _again = globalrt::handle().enter();
            rt.execute(yield_many(4))
        })
    });
    assert_eq!(value, 4);
}

// --- Shutdown and fork inside the closure: fresh processes --------------------------------

/// The scenarios of this module, dispatched from `process::child_entry`; false for a
/// scenario that is not one of them.
pub(crate) fn run_scenario(scenario: &str) -> bool {
    match scenario {
        "scope_shutdown_inside" => shutdown_inside(),
        #[cfg(unix)]
        "scope_fork_inside" => fork_inside(),
        _ => return false,
    }
    true
}

/// `shutdown` inside the closure: it returns, and the token's calls then fail as
/// `execute`'s do after a shutdown.
fn shutdown_inside() {
    globalrt::scope(|rt| {
        assert_eq!(rt.execute(sleep_then(1)), 1);
        globalrt::shutdown(Duration::from_secs(5)).expect("shutdown inside the scope");
        for kind in [
            rt.try_execute(async { 1 }).unwrap_err().kind().clone(),
            rt.try_execute(yield_many(2)).unwrap_err().kind().clone(),
            rt.try_execute_local(async { 1 })
                .unwrap_err()
                .kind()
                .clone(),
            rt.try_execute_timeout(Duration::from_secs(1), async { 1 })
                .unwrap_err()
                .kind()
                .clone(),
        ] {
            assert_eq!(kind, ErrorKind::ShutDown);
        }
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.execute(async { 1 });
        }));
        assert!(
            panicked.is_err(),
            "execute through the token after shutdown panics"
        );
    });
    assert_eq!(entered(), None);
}

#[test]
fn shutdown_inside_the_closure() {
    run_child("scope_shutdown_inside", None);
}

/// A fork inside the closure: in the child, the token's calls use the child's own
/// runtime, as `execute` does there, and the parent's scope goes on.
#[cfg(unix)]
fn fork_inside() {
    globalrt::scope(|rt| {
        assert_eq!(rt.execute(sleep_then(1)), 1);
        let child = crate::lifecycle::fork::spawn_forked(|| {
            assert_eq!(rt.execute(async { 2 }), 2);
            assert_eq!(rt.execute(sleep_then(3)), 3);
            let task = rt.execute(async { globalrt::spawn(sleep_then(4)).await.unwrap() });
            assert_eq!(task, 4);
            assert_eq!(rt.execute_local(local_yields(2)), 2);
        });
        crate::lifecycle::fork::expect_success(child, "forked inside a scope");
        assert_eq!(rt.execute(sleep_then(5)), 5, "the parent's scope goes on");
    });
}

#[cfg(unix)]
#[test]
fn fork_inside_the_closure() {
    run_child("scope_fork_inside", None);
}
