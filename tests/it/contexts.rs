//! `execute` from every calling context. Each test runs a ready future, a future that
//! needs the timer, and one that yields repeatedly. In the runtime contexts a plain
//! `Runtime::block_on` or `Handle::block_on` would panic with "Cannot start a runtime
//! from within a runtime"; these tests fail if `execute` did that.
//!
//! Every test runs its body under `with_watchdog`, so a deadlock fails within the hang
//! limit (10 s; 120 s under Valgrind).

use crate::{current_thread, multi_thread, sleep_then, with_watchdog, yield_many};

fn exercise(context: &str) {
    assert_eq!(globalrt::execute(async { 7 }), 7, "{context}: ready future");
    assert_eq!(globalrt::execute(sleep_then(8)), 8, "{context}: timer");
    assert_eq!(globalrt::execute(yield_many(50)), 50, "{context}: yields");
    let borrowed = String::from(context);
    assert_eq!(
        globalrt::execute(async { borrowed.len() }),
        context.len(),
        "{context}: borrow"
    );
}

#[test]
fn plain_thread() {
    with_watchdog("plain thread", || exercise("plain thread"));
}

#[test]
fn spawned_os_thread() {
    with_watchdog("spawned_os_thread", || {
        std::thread::spawn(|| exercise("spawned OS thread"))
            .join()
            .unwrap();
    });
}

#[test]
fn multi_thread_block_on_main_thread() {
    // What `#[tokio::main]` and `#[tokio::test(flavor = "multi_thread")]` expand to.
    with_watchdog("multi_thread_block_on_main_thread", || {
        let outer = multi_thread(2);
        outer.block_on(async { exercise("multi-thread Runtime::block_on") });
    });
}

#[test]
fn multi_thread_worker_task() {
    with_watchdog("multi_thread_worker_task", || {
        let outer = multi_thread(2);
        outer.block_on(async {
            tokio::spawn(async { exercise("multi-thread worker task") })
                .await
                .unwrap();
        });
    });
}

#[test]
fn multi_thread_worker_with_one_worker() {
    with_watchdog("multi_thread_worker_with_one_worker", || {
        // With one worker, blocking it without handing off its queue would stall the
        // other task, which the executed future waits for.
        let outer = multi_thread(1);
        outer.block_on(async {
            let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
            let sender = tokio::spawn(async move {
                tokio::task::yield_now().await;
                tx.send(5).unwrap();
            });
            let got = tokio::spawn(async move { globalrt::execute(async { rx.await.unwrap() }) });
            assert_eq!(got.await.unwrap(), 5);
            sender.await.unwrap();
        });
    });
}

#[test]
fn current_thread_runtime_like_tokio_test() {
    // What `#[tokio::test]` expands to.
    with_watchdog("tokio::test", || {
        current_thread().block_on(async { exercise("#[tokio::test] (current_thread)") })
    });
}

#[test]
fn current_thread_block_on_like_tokio_main_current_thread() {
    with_watchdog(
        "current_thread_block_on_like_tokio_main_current_thread",
        || {
            let outer = current_thread();
            outer.block_on(async { exercise("current_thread Runtime::block_on") });
        },
    );
}

#[test]
fn current_thread_local_set() {
    with_watchdog("current_thread_local_set", || {
        let outer = current_thread();
        let local = tokio::task::LocalSet::new();
        local.block_on(&outer, async {
            tokio::task::spawn_local(async { exercise("LocalSet spawn_local") })
                .await
                .unwrap();
        });
    });
}

#[test]
fn spawn_blocking_of_multi_thread_runtime() {
    with_watchdog("spawn_blocking_of_multi_thread_runtime", || {
        let outer = multi_thread(2);
        outer.block_on(async {
            tokio::task::spawn_blocking(|| exercise("multi-thread spawn_blocking"))
                .await
                .unwrap();
        });
    });
}

#[test]
fn spawn_blocking_of_current_thread_runtime() {
    with_watchdog("spawn_blocking_of_current_thread_runtime", || {
        let outer = current_thread();
        outer.block_on(async {
            tokio::task::spawn_blocking(|| exercise("current_thread spawn_blocking"))
                .await
                .unwrap();
        });
    });
}

#[test]
fn after_runtime_enter_guard() {
    with_watchdog("after_runtime_enter_guard", || {
        let outer = current_thread();
        let _guard = outer.enter();
        exercise("Runtime::enter guard");
    });
}

#[test]
fn nested_inside_execute() {
    with_watchdog("nested_inside_execute", || {
        let out = globalrt::execute(async {
            let ready = globalrt::execute(async { 1 });
            let timer = globalrt::execute(sleep_then(2));
            tokio::task::yield_now().await;
            // Now on the slow path of the outer call, nest again.
            let yielded = globalrt::execute(yield_many(10));
            ready + timer + yielded
        });
        assert_eq!(out, 13);
    });
}

#[test]
fn nested_inside_execute_under_current_thread() {
    let out = with_watchdog("nested under current_thread", || {
        current_thread().block_on(async {
            globalrt::execute(async {
                tokio::task::yield_now().await;
                globalrt::execute(sleep_then(4)) + globalrt::execute(async { 1 })
            })
        })
    });
    assert_eq!(out, 5);
}

#[test]
fn inside_a_task_on_the_shared_runtime() {
    with_watchdog("inside_a_task_on_the_shared_runtime", || {
        let task = globalrt::spawn(async {
            globalrt::execute(sleep_then(9)) + globalrt::execute(yield_many(3))
        });
        assert_eq!(globalrt::execute(task).unwrap(), 12);
    });
}

#[test]
fn inside_spawn_blocking_of_the_shared_runtime() {
    with_watchdog("inside_spawn_blocking_of_the_shared_runtime", || {
        let task = globalrt::handle().spawn_blocking(|| globalrt::execute(sleep_then(6)));
        assert_eq!(globalrt::execute(task).unwrap(), 6);
    });
}

// A `LocalSet` under a multi-thread runtime: tokio's `block_in_place` panics there ("can
// call blocking only when running on the multi-threaded runtime"), so these fail if
// `execute` called it. `exercise` runs futures that stay pending across many polls.

#[test]
fn multi_thread_local_set_run_until_like_tokio_main() {
    // `#[tokio::main]` plus `LocalSet::run_until`, the usual way to get `spawn_local`.
    with_watchdog("multi-thread LocalSet::run_until", || {
        let outer = multi_thread(2);
        let local = tokio::task::LocalSet::new();
        outer.block_on(local.run_until(async { exercise("multi-thread LocalSet::run_until") }));
    });
}

#[test]
fn multi_thread_local_set_spawn_local_task() {
    with_watchdog("multi-thread spawn_local", || {
        let outer = multi_thread(2);
        let local = tokio::task::LocalSet::new();
        local.block_on(&outer, async {
            tokio::task::spawn_local(async { exercise("multi-thread spawn_local task") })
                .await
                .unwrap();
        });
    });
}

#[test]
fn multi_thread_local_set_awaited_as_a_future() {
    with_watchdog("multi-thread LocalSet as future", || {
        let outer = multi_thread(2);
        let local = tokio::task::LocalSet::new();
        let task = local.spawn_local(async { exercise("LocalSet polled as a future") });
        outer.block_on(local);
        outer.block_on(task).unwrap();
    });
}

#[test]
fn multi_thread_local_set_in_handle_block_on() {
    with_watchdog("Handle::block_on + LocalSet", || {
        let outer = multi_thread(1);
        let local = tokio::task::LocalSet::new();
        outer
            .handle()
            .block_on(local.run_until(async { exercise("Handle::block_on + LocalSet") }));
    });
}

#[test]
fn multi_thread_local_set_with_a_spent_coop_budget() {
    // `block_on` gives the outer future a coop budget of 128 operations per poll; the
    // executed future runs inside that one poll, so if `execute` kept the budget, every
    // tokio resource would return `Pending` after 128 operations and it would spin forever.
    with_watchdog("LocalSet + coop budget", || {
        let outer = multi_thread(2);
        let local = tokio::task::LocalSet::new();
        outer.block_on(local.run_until(async {
            let received = globalrt::execute(async {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                for i in 0..1_000u32 {
                    tx.send(i).unwrap();
                }
                drop(tx);
                tokio::task::yield_now().await;
                let mut count = 0u32;
                while rx.recv().await.is_some() {
                    count += 1;
                }
                count
            });
            assert_eq!(received, 1_000);
        }));
    });
}

#[test]
fn multi_thread_worker_inside_block_in_place() {
    // A worker that already handed its core away: `execute` must not hand it off again.
    with_watchdog("inside block_in_place", || {
        let outer = multi_thread(2);
        outer.block_on(async {
            tokio::spawn(async {
                tokio::task::block_in_place(|| exercise("inside block_in_place"));
            })
            .await
            .unwrap();
        });
    });
}

#[test]
fn multi_thread_worker_in_a_foreign_executor_with_a_local_set() {
    // A worker task that drives a `LocalSet` with another executor's `block_on`: the
    // worker still holds its core, so `execute` must hand it off (here one worker, and
    // the awaited value comes from another task on it).
    with_watchdog("foreign executor on a worker", || {
        let outer = multi_thread(1);
        outer.block_on(async {
            let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
            let sender = tokio::spawn(async move {
                tokio::task::yield_now().await;
                tx.send(3).unwrap();
            });
            let got = tokio::spawn(async move {
                let local = tokio::task::LocalSet::new();
                futures_executor::block_on(
                    local.run_until(async move { globalrt::execute(async { rx.await.unwrap() }) }),
                )
            });
            assert_eq!(got.await.unwrap(), 3);
            sender.await.unwrap();
        });
    });
}

// Contexts found in tokio's own tests of block_in_place, enter guards, task-locals and
// runtime shutdown.

#[test]
fn handle_block_on_inside_block_in_place_on_a_worker() {
    // tokio's rt_threaded tests nest `Handle::block_on` in `block_in_place`.
    with_watchdog("block_in_place + Handle::block_on", || {
        let outer = multi_thread(2);
        outer.block_on(async {
            tokio::spawn(async {
                tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current()
                        .block_on(async { exercise("Handle::block_on inside block_in_place") })
                });
            })
            .await
            .unwrap();
        });
    });
}

/// Calls `execute` with a timer from its `Drop`, i.e. while the task holding it is dropped.
struct ExecuteOnDrop(std::sync::mpsc::Sender<u32>);

impl Drop for ExecuteOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(globalrt::execute(sleep_then(11)));
    }
}

#[test]
fn drop_of_a_task_while_its_runtime_shuts_down() {
    // A task still pending when its runtime is dropped is dropped by the shutdown, on
    // whichever thread runs it; `execute` in that `Drop` must still finish.
    for flavor in ["current_thread", "multi_thread"] {
        let got = with_watchdog("execute in Drop during runtime shutdown", move || {
            let outer = if flavor == "current_thread" {
                current_thread()
            } else {
                multi_thread(1)
            };
            let (tx, rx) = std::sync::mpsc::channel();
            // The task must have started (so that it holds the `ExecuteOnDrop`) before the
            // runtime is dropped: a yield in `block_on` does not wait for a worker to run it.
            let (started_tx, started) = tokio::sync::oneshot::channel();
            outer.spawn(async move {
                let _on_drop = ExecuteOnDrop(tx);
                let _ = started_tx.send(());
                std::future::pending::<()>().await;
            });
            outer.block_on(started).unwrap();
            drop(outer);
            rx.recv().unwrap()
        });
        assert_eq!(got, 11, "{flavor}");
    }
}

tokio::task_local! {
    static REQUEST_ID: u32;
}

#[test]
fn task_locals_of_the_caller() {
    // The future sees the caller's task-locals when it runs on the calling thread (plain
    // thread, multi-thread runtime); under a current_thread runtime it runs on the helper
    // thread, where they are not set: `try_with` reports that instead of a value.
    with_watchdog("task_local", || {
        let read = || {
            globalrt::execute(async {
                tokio::task::yield_now().await;
                REQUEST_ID.try_with(|id| *id).ok()
            })
        };
        let seen = multi_thread(2).block_on(REQUEST_ID.scope(7, async { read() }));
        assert_eq!(seen, Some(7), "multi-thread runtime");
        let seen = current_thread().block_on(REQUEST_ID.scope(8, async { read() }));
        assert_eq!(seen, None, "current_thread runtime: helper thread");
    });
}

/// Calls `try_execute` (a timer future, so not ready at its first poll) and
/// `try_execute_local` from its `Drop`, run as a thread-local destructor.
struct TryExecuteAtThreadExit(std::sync::mpsc::Sender<AtThreadExit>);

struct AtThreadExit {
    send: Result<u32, globalrt::Error>,
    local: Result<u32, globalrt::Error>,
}

impl Drop for TryExecuteAtThreadExit {
    fn drop(&mut self) {
        let send = globalrt::try_execute(sleep_then(3));
        let local = globalrt::try_execute_local(async {
            let not_send = std::rc::Rc::new(4);
            sleep_then(0).await;
            *not_send
        });
        let _ = self.0.send(AtThreadExit { send, local });
    }
}

std::thread_local! {
    static AT_THREAD_EXIT: std::cell::RefCell<Option<TryExecuteAtThreadExit>> =
        const { std::cell::RefCell::new(None) };
}

#[test]
fn thread_local_destructor_after_tokios_own_runs_on_a_helper_thread() {
    // Registered before tokio's thread-locals, this destructor runs after theirs, where
    // `Handle::enter` panics: a `Send` future is driven on a fresh helper thread instead,
    // and a `!Send` one, which cannot move, is a clear error rather than tokio's panic.
    let result = with_watchdog("thread-local destructor", || {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            AT_THREAD_EXIT.with(|slot| *slot.borrow_mut() = Some(TryExecuteAtThreadExit(tx)));
            exercise("thread that exits next");
        })
        .join()
        .unwrap();
        rx.recv().unwrap()
    });
    assert_eq!(result.send.unwrap(), 3);
    let err = result.local.unwrap_err();
    assert_eq!(
        err.kind(),
        &globalrt::ErrorKind::UnsupportedContext,
        "{err}"
    );
    assert!(err.to_string().contains("thread-local destructor"), "{err}");
}
