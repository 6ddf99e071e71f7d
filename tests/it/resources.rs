//! Tokio resources a future touches on its very first poll (the fast-path poll on the
//! calling thread) belong to the shared runtime and keep working when it turns pending.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn timer_spawn_channel() -> u32 {
    // All three are created before the first `.await`, i.e. during the first poll.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let sleep = tokio::time::sleep(Duration::from_millis(2));
    let task = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        tx.send(40u32).unwrap();
    });
    sleep.await;
    task.await.unwrap();
    rx.await.unwrap() + 2
}

async fn loopback_io() -> Vec<u8> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 5];
        socket.read_exact(&mut buf).await.unwrap();
        socket.write_all(&buf).await.unwrap();
    });
    let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
    client.write_all(b"hello").await.unwrap();
    let mut echoed = vec![0u8; 5];
    client.read_exact(&mut echoed).await.unwrap();
    server.await.unwrap();
    echoed
}

#[test]
fn first_poll_resources_on_plain_thread() {
    crate::with_watchdog("resources::first_poll_resources_on_plain_thread", || {
        assert_eq!(globalrt::execute(timer_spawn_channel()), 42);
        assert_eq!(globalrt::execute(loopback_io()), b"hello");
    });
}

#[test]
fn first_poll_resources_under_current_thread() {
    crate::with_watchdog(
        "resources::first_poll_resources_under_current_thread",
        || {
            crate::current_thread().block_on(async {
                assert_eq!(globalrt::execute(timer_spawn_channel()), 42);
                assert_eq!(globalrt::execute(loopback_io()), b"hello");
            })
        },
    );
}

#[test]
fn first_poll_resources_under_multi_thread() {
    crate::with_watchdog("resources::first_poll_resources_under_multi_thread", || {
        crate::multi_thread(2).block_on(async {
            assert_eq!(globalrt::execute(timer_spawn_channel()), 42);
            assert_eq!(globalrt::execute(loopback_io()), b"hello");
        })
    });
}

#[test]
fn spawned_task_runs_on_shared_runtime_workers() {
    crate::with_watchdog(
        "resources::spawned_task_runs_on_shared_runtime_workers",
        || {
            let name = globalrt::execute(globalrt::spawn(async {
                std::thread::current().name().map(str::to_owned)
            }))
            .unwrap();
            assert_eq!(name.as_deref(), Some("globalrt-worker"));
        },
    );
}
