//! A panic inside the future reaches the caller, and the shared runtime stays usable.

use std::panic::{AssertUnwindSafe, catch_unwind};

use globalrt::ErrorKind;

fn payload_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn panic_on_first_poll_reaches_caller() {
    crate::with_watchdog("panics::panic_on_first_poll_reaches_caller", || {
        let payload =
            catch_unwind(|| globalrt::execute(async { panic!("first poll") })).unwrap_err();
        assert_eq!(payload_text(payload), "first poll");
        assert_eq!(
            globalrt::execute(crate::sleep_then(1)),
            1,
            "runtime still usable"
        );
    });
}

#[test]
fn panic_after_pending_reaches_caller() {
    crate::with_watchdog("panics::panic_after_pending_reaches_caller", || {
        let payload = catch_unwind(|| {
            globalrt::execute(async {
                tokio::task::yield_now().await;
                panic!("after yield")
            })
        })
        .unwrap_err();
        assert_eq!(payload_text(payload), "after yield");
        assert_eq!(
            globalrt::execute(crate::yield_many(3)),
            3,
            "runtime still usable"
        );
    });
}

#[test]
fn panic_on_the_helper_thread_under_current_thread() {
    crate::with_watchdog(
        "panics::panic_on_the_helper_thread_under_current_thread",
        || {
            crate::current_thread().block_on(async {
                let payload = catch_unwind(AssertUnwindSafe(|| {
                    globalrt::execute(async {
                        tokio::task::yield_now().await;
                        panic!("on helper")
                    })
                }))
                .unwrap_err();
                assert_eq!(payload_text(payload), "on helper");
                assert_eq!(globalrt::execute(crate::sleep_then(2)), 2);
            })
        },
    );
}

#[test]
fn try_execute_returns_panicked() {
    crate::with_watchdog("panics::try_execute_returns_panicked", || {
        let err = globalrt::try_execute(async {
            tokio::task::yield_now().await;
            panic!("caught {}", 42)
        })
        .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Panicked);
        assert!(err.to_string().contains("caught 42"), "{err}");
        assert_eq!(globalrt::try_execute(async { 5 }).unwrap(), 5);
    });
}

#[test]
fn panicking_spawned_task_does_not_poison_runtime() {
    crate::with_watchdog(
        "panics::panicking_spawned_task_does_not_poison_runtime",
        || {
            let task = globalrt::spawn(async { panic!("in task") });
            let join_error = globalrt::execute(task).unwrap_err();
            assert!(join_error.is_panic());
            assert_eq!(globalrt::execute(globalrt::spawn(async { 3 })).unwrap(), 3);
        },
    );
}
