//! `try_execute_timeout`: the output before the deadline, `ErrorKind::TimedOut` and the
//! future dropped at it, in each kind of calling context. Events are ordered with
//! channels; the deadlines only bound futures that would otherwise never finish.

use std::sync::mpsc;
use std::time::Duration;

use globalrt::ErrorKind;

use crate::{current_thread, multi_thread, sleep_then, with_watchdog};

/// Sends on its channel when dropped: tells the test the future was dropped.
struct DropSignal(mpsc::Sender<()>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// A future that never finishes and signals its drop; the deadline must end it.
fn stuck_then_timed_out(context: &str) {
    let (dropped_tx, dropped_rx) = mpsc::channel();
    let signal = DropSignal(dropped_tx);
    let result = globalrt::try_execute_timeout(Duration::from_millis(20), async move {
        let _signal = signal;
        std::future::pending::<u32>().await
    });
    let err = result.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::TimedOut, "{context}: {err}");
    assert!(err.to_string().contains("20ms"), "{context}: {err}");
    // Dropped before the call returned, not later.
    dropped_rx
        .try_recv()
        .unwrap_or_else(|_| panic!("{context}: the future was not dropped at the deadline"));
}

/// Futures that finish in time return their output.
fn in_time(context: &str) {
    let long = Duration::from_secs(60);
    assert_eq!(
        globalrt::try_execute_timeout(long, async { 7 }).unwrap(),
        7,
        "{context}: ready"
    );
    assert_eq!(
        globalrt::try_execute_timeout(long, sleep_then(8)).unwrap(),
        8,
        "{context}: timer"
    );
    // Released by another thread: the result arrives while the deadline is far away.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let sender = std::thread::spawn(move || tx.send(9).unwrap());
    assert_eq!(
        globalrt::try_execute_timeout(long, async { rx.await.unwrap() }).unwrap(),
        9,
        "{context}: woken by another thread"
    );
    sender.join().unwrap();
}

fn exercise(context: &str) {
    in_time(context);
    stuck_then_timed_out(context);
}

#[test]
fn plain_thread() {
    with_watchdog("timeout: plain thread", || exercise("plain thread"));
}

#[test]
fn current_thread_runtime() {
    // The future runs on the helper thread; its deadline is the shared runtime's timer.
    with_watchdog("timeout: current_thread", || {
        current_thread().block_on(async { exercise("current_thread runtime") })
    });
}

#[test]
fn multi_thread_worker() {
    with_watchdog("timeout: multi-thread worker", || {
        multi_thread(1).block_on(async {
            tokio::spawn(async { exercise("multi-thread worker") })
                .await
                .unwrap()
        })
    });
}

#[test]
fn a_zero_timeout_still_returns_a_ready_future() {
    with_watchdog("timeout: zero", || {
        assert_eq!(
            globalrt::try_execute_timeout(Duration::ZERO, async { 1 }).unwrap(),
            1
        );
        // Never ready: a timer would race the deadline, since both can fire in one tick.
        let never = std::future::pending::<u32>();
        let err = globalrt::try_execute_timeout(Duration::ZERO, never).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::TimedOut, "{err}");
    });
}

#[test]
fn a_panic_is_an_error_not_a_timeout() {
    with_watchdog("timeout: panic", || {
        let err = globalrt::try_execute_timeout(Duration::from_secs(60), async {
            sleep_then(0).await;
            panic!("boom")
        })
        .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Panicked, "{err}");
    });
}
