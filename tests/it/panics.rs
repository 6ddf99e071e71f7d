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

/// One way to call a `try_` function with a future that panics.
struct Case {
    name: &'static str,
    call: fn() -> globalrt::Error,
}

/// A payload of the future's own type, which no message could stand for.
#[derive(Debug, PartialEq)]
struct Payload(u32);

/// Pending at its first poll, then panics with a [`Payload`].
async fn pending_then_panic() {
    tokio::task::yield_now().await;
    std::panic::panic_any(Payload(1))
}

/// `try_execute`, `try_execute_local` and `try_execute_timeout` give the future's own panic
/// payload back through `Error::into_panic`, whether it panicked at its first poll, after
/// being pending, or on the helper thread under a current_thread runtime.
#[test]
fn every_try_function_gives_the_payload_back() {
    crate::with_watchdog("panics::every_try_function_gives_the_payload_back", || {
        let cases = [
            Case {
                name: "try_execute, first poll",
                call: || {
                    globalrt::try_execute(async { std::panic::panic_any(Payload(1)) }).unwrap_err()
                },
            },
            Case {
                name: "try_execute, after pending",
                call: || globalrt::try_execute(pending_then_panic()).unwrap_err(),
            },
            Case {
                name: "try_execute, helper thread",
                call: || {
                    crate::current_thread().block_on(async {
                        globalrt::try_execute(pending_then_panic()).unwrap_err()
                    })
                },
            },
            Case {
                name: "try_execute_local",
                call: || {
                    globalrt::try_execute_local(async {
                        let _not_send = std::rc::Rc::new(());
                        tokio::task::yield_now().await;
                        std::panic::panic_any(Payload(1))
                    })
                    .unwrap_err()
                },
            },
            Case {
                name: "try_execute_timeout",
                call: || {
                    let forever = std::time::Duration::from_secs(3600);
                    globalrt::try_execute_timeout(forever, pending_then_panic()).unwrap_err()
                },
            },
        ];
        for Case { name, call } in cases {
            let err = call();
            assert!(err.is_panic(), "{name}: {err}");
            assert_eq!(
                err.to_string(),
                "globalrt: the future panicked: a non-string panic payload",
                "{name}"
            );
            let payload = err.into_panic();
            assert_eq!(
                payload.downcast_ref::<Payload>(),
                Some(&Payload(1)),
                "{name}"
            );
        }
    });
}

#[test]
fn a_string_payload_keeps_its_type() {
    crate::with_watchdog("panics::a_string_payload_keeps_its_type", || {
        // Not a literal argument, which the compiler would fold into a `&'static str`.
        let seven = std::hint::black_box(7);
        let err = globalrt::try_execute(async move { panic!("formatted {seven}") }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "globalrt: the future panicked: formatted 7"
        );
        let payload = err.try_into_panic().expect("a panic");
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("formatted 7")
        );
    });
}

#[test]
fn into_panic_of_another_kind_panics() {
    let err = globalrt::Config::new()
        .worker_threads(0)
        .validate()
        .unwrap_err();
    assert!(!err.is_panic());
    let err = err.try_into_panic().expect_err("not a panic");
    assert_eq!(
        err.kind(),
        &ErrorKind::InvalidConfig,
        "given back unchanged"
    );
    let payload = catch_unwind(AssertUnwindSafe(|| err.into_panic())).unwrap_err();
    let text = payload_text(payload);
    assert!(
        text.contains("not a panic") && text.contains("worker_threads"),
        "{text}"
    );
}
