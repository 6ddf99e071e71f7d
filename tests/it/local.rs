//! `execute_local`: `!Send` futures (an `Rc`, a `RefCell` borrow, a std `MutexGuard` held
//! across `.await`) from every calling context where the calling thread may block, and a
//! clear error, never a hang, on the thread that drives a current_thread runtime.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Mutex;

use globalrt::ErrorKind;

use crate::{current_thread, multi_thread, with_watchdog};

/// `!Send` futures that stay pending across several polls and need the shared runtime.
#[allow(
    clippy::await_holding_refcell_ref,
    clippy::await_holding_lock,
    reason = "holding them across .await is what makes these futures !Send"
)]
fn exercise_local(context: &str) {
    let counter = Rc::new(RefCell::new(0u32));
    let total = globalrt::execute_local(async {
        let mut count = counter.borrow_mut(); // a RefCell borrow across .await
        for _ in 0..20 {
            tokio::task::yield_now().await;
            *count += 1;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        *count
    });
    assert_eq!(total, 20, "{context}: RefCell borrow");
    assert_eq!(*counter.borrow(), 20, "{context}: borrowed from the caller");

    let lock = Mutex::new(5u32);
    let value = globalrt::execute_local(async {
        let guard = lock.lock().unwrap(); // a std MutexGuard across .await
        tokio::task::yield_now().await;
        *guard + 1
    });
    assert_eq!(value, 6, "{context}: MutexGuard");

    let spawned = globalrt::execute_local(async {
        let rc = Rc::new(3u32);
        let task = tokio::spawn(async { 4u32 }); // lands on the shared runtime
        *rc + task.await.unwrap()
    });
    assert_eq!(spawned, 7, "{context}: tokio::spawn inside");

    assert_eq!(globalrt::execute_local(async { 1 }), 1, "{context}: ready");
}

#[test]
fn plain_thread() {
    with_watchdog("local: plain thread", || exercise_local("plain thread"));
}

#[test]
fn multi_thread_block_on_like_tokio_main() {
    with_watchdog("local: tokio::main", || {
        multi_thread(2).block_on(async { exercise_local("#[tokio::main] body") });
    });
}

#[test]
fn multi_thread_worker_task_with_one_worker() {
    // The worker's queue must be handed off: the awaited value comes from another task.
    with_watchdog("local: worker task", || {
        multi_thread(1).block_on(async {
            let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
            let sender = tokio::spawn(async move {
                tokio::task::yield_now().await;
                tx.send(2).unwrap();
            });
            let got = tokio::spawn(async move {
                globalrt::execute_local(async {
                    let rc = Rc::new(rx.await.unwrap());
                    tokio::task::yield_now().await;
                    *rc
                })
            });
            assert_eq!(got.await.unwrap(), 2);
            sender.await.unwrap();
        });
    });
}

#[test]
fn multi_thread_local_set() {
    with_watchdog("local: multi-thread LocalSet", || {
        let outer = multi_thread(2);
        let local = tokio::task::LocalSet::new();
        local.block_on(&outer, async {
            exercise_local("multi-thread LocalSet::run_until");
            tokio::task::spawn_local(async { exercise_local("multi-thread spawn_local") })
                .await
                .unwrap();
        });
    });
}

#[test]
fn spawn_blocking_and_enter_guard_of_a_current_thread_runtime() {
    // Threads that hold a current_thread runtime's context without driving it may block.
    with_watchdog("local: current_thread spawn_blocking", || {
        let outer = current_thread();
        outer.block_on(async {
            tokio::task::spawn_blocking(|| exercise_local("current_thread spawn_blocking"))
                .await
                .unwrap();
        });
        let _guard = outer.enter();
        exercise_local("current_thread Runtime::enter");
    });
}

#[test]
fn nested_in_execute_and_execute_local() {
    with_watchdog("local: nested", || {
        let out = globalrt::execute_local(async {
            tokio::task::yield_now().await;
            let inner = globalrt::execute_local(async {
                let rc = Rc::new(2);
                tokio::task::yield_now().await;
                *rc
            });
            inner + globalrt::execute(async { 1 })
        });
        assert_eq!(out, 3);
        // On execute's helper thread under a current_thread runtime.
        let out = current_thread().block_on(async {
            globalrt::execute(async {
                tokio::task::yield_now().await;
                globalrt::execute_local(async {
                    let rc = Rc::new(4);
                    tokio::task::yield_now().await;
                    *rc
                })
            })
        });
        assert_eq!(out, 4);
    });
}

#[test]
fn current_thread_runtime_thread_is_refused_not_hung() {
    // `#[tokio::test]` and a LocalSet on a current_thread runtime: blocking the thread that
    // drives the runtime could never finish, so a pending !Send future is refused.
    with_watchdog("local: current_thread refused", || {
        let outer = current_thread();
        outer.block_on(async {
            assert_eq!(
                globalrt::execute_local(async { Rc::new(9) }),
                Rc::new(9),
                "a ready future is still served"
            );
            let err = globalrt::try_execute_local(async {
                let rc = Rc::new(1);
                crate::yield_many(3).await;
                *rc
            })
            .unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::UnsupportedContext);
            let text = err.to_string();
            assert!(
                text.contains("current_thread") && text.contains("execute"),
                "{text}"
            );
            assert!(!text.ends_with('.'), "{text}");
            let payload = catch_unwind(AssertUnwindSafe(|| {
                globalrt::execute_local(crate::yield_many(3))
            }))
            .unwrap_err();
            let message = payload.downcast_ref::<String>().unwrap();
            assert!(message.contains("current_thread"), "{message}");
        });
        let local = tokio::task::LocalSet::new();
        let err = local.block_on(&outer, async {
            tokio::task::spawn_local(async {
                globalrt::try_execute_local(crate::yield_many(3)).unwrap_err()
            })
            .await
            .unwrap()
        });
        assert_eq!(err.kind(), &ErrorKind::UnsupportedContext);
    });
}

#[test]
fn panics_reach_the_caller() {
    with_watchdog("local: panics", || {
        let payload = catch_unwind(|| {
            globalrt::execute_local(async {
                let _rc = Rc::new(());
                tokio::task::yield_now().await;
                panic!("local boom")
            })
        })
        .unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"local boom"));
        let err = globalrt::try_execute_local(async {
            tokio::task::yield_now().await;
            panic!("caught {}", 7)
        })
        .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Panicked);
        assert!(err.to_string().contains("caught 7"), "{err}");
    });
}
