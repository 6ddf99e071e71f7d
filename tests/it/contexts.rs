//! `execute` from every calling context. Each test runs a ready future, a future that
//! needs the timer, and one that yields repeatedly. In the runtime contexts a plain
//! `Runtime::block_on` or `Handle::block_on` would panic with "Cannot start a runtime
//! from within a runtime"; these tests fail if `execute` did that.

use crate::{sleep_then, yield_many};

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

fn multi_thread(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn plain_thread() {
    exercise("plain thread");
}

#[test]
fn spawned_os_thread() {
    std::thread::spawn(|| exercise("spawned OS thread"))
        .join()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_runtime_task_like_tokio_main() {
    exercise("#[tokio::test(flavor = multi_thread)] body");
}

#[test]
fn multi_thread_block_on_main_thread() {
    let outer = multi_thread(2);
    outer.block_on(async { exercise("multi-thread Runtime::block_on") });
}

#[test]
fn multi_thread_worker_task() {
    let outer = multi_thread(2);
    outer.block_on(async {
        tokio::spawn(async { exercise("multi-thread worker task") })
            .await
            .unwrap();
    });
}

#[test]
fn multi_thread_worker_with_one_worker() {
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
}

#[tokio::test]
async fn current_thread_runtime_like_tokio_test() {
    exercise("#[tokio::test] (current_thread)");
}

#[test]
fn current_thread_block_on_like_tokio_main_current_thread() {
    let outer = current_thread();
    outer.block_on(async { exercise("current_thread Runtime::block_on") });
}

#[test]
fn current_thread_local_set() {
    let outer = current_thread();
    let local = tokio::task::LocalSet::new();
    local.block_on(&outer, async {
        tokio::task::spawn_local(async { exercise("LocalSet spawn_local") })
            .await
            .unwrap();
    });
}

#[test]
fn spawn_blocking_of_multi_thread_runtime() {
    let outer = multi_thread(2);
    outer.block_on(async {
        tokio::task::spawn_blocking(|| exercise("multi-thread spawn_blocking"))
            .await
            .unwrap();
    });
}

#[test]
fn spawn_blocking_of_current_thread_runtime() {
    let outer = current_thread();
    outer.block_on(async {
        tokio::task::spawn_blocking(|| exercise("current_thread spawn_blocking"))
            .await
            .unwrap();
    });
}

#[test]
fn after_runtime_enter_guard() {
    let outer = current_thread();
    let _guard = outer.enter();
    exercise("Runtime::enter guard");
}

#[test]
fn nested_inside_execute() {
    let out = globalrt::execute(async {
        let ready = globalrt::execute(async { 1 });
        let timer = globalrt::execute(sleep_then(2));
        tokio::task::yield_now().await;
        // Now on the slow path of the outer call, nest again.
        let yielded = globalrt::execute(yield_many(10));
        ready + timer + yielded
    });
    assert_eq!(out, 13);
}

#[tokio::test]
async fn nested_inside_execute_under_current_thread() {
    let out = globalrt::execute(async {
        tokio::task::yield_now().await;
        globalrt::execute(sleep_then(4)) + globalrt::execute(async { 1 })
    });
    assert_eq!(out, 5);
}

#[test]
fn inside_a_task_on_the_shared_runtime() {
    let task = globalrt::spawn(async {
        globalrt::execute(sleep_then(9)) + globalrt::execute(yield_many(3))
    });
    assert_eq!(globalrt::execute(task).unwrap(), 12);
}

#[test]
fn inside_spawn_blocking_of_the_shared_runtime() {
    let task = globalrt::handle().spawn_blocking(|| globalrt::execute(sleep_then(6)));
    assert_eq!(globalrt::execute(task).unwrap(), 6);
}
