//! Which thread `execute`'s slow path polls the future on, in each calling context: the
//! strategy itself, not only the output. The future records the polling thread on every
//! poll and stays pending across several polls (it wakes itself three times, then waits
//! for a value that another thread sends only once that wait has begun), so all but the
//! first poll (the fast path's, always on the caller) are the slow path's. Events are
//! ordered by signals, never by sleeps: the poll counts hold however slow the machine is.
//!
//! - the caller's thread: a plain thread, `spawn_blocking`, a multi-thread runtime's
//!   `block_on` thread and its workers (through `block_in_place`, checked separately);
//! - the scoped helper thread (`globalrt-scoped`) under a current_thread runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::{self, ThreadId};

use tokio::sync::oneshot;

use crate::{current_thread, hang_limit, multi_thread, with_watchdog};

/// The name `execute` gives its helper thread under a current_thread runtime.
const HELPER_THREAD: &str = "globalrt-scoped";

/// One poll: the polling thread's id and name.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PolledOn {
    id: ThreadId,
    name: Option<String>,
}

impl PolledOn {
    fn current() -> Self {
        let thread = thread::current();
        PolledOn {
            id: thread.id(),
            name: thread.name().map(str::to_owned),
        }
    }
}

/// How often the recorded futures wake themselves before they wait for another thread.
const SELF_WAKES: u32 = 3;

/// The poll that begins that wait: the first poll, then one per self-wake-up.
const WAITING_POLL: usize = SELF_WAKES as usize + 1;

/// Wraps a future and records the thread of each of its polls. Once its
/// [`WAITING_POLL`]th poll has returned `Pending`, it fires `waiting`: whatever another
/// thread does after that signal happens while the future is certainly waiting.
struct Recorded<T> {
    inner: Pin<Box<dyn Future<Output = T> + Send>>,
    polls: Arc<Mutex<Vec<PolledOn>>>,
    waiting: Option<oneshot::Sender<()>>,
}

impl<T> Recorded<T> {
    /// `inner`, recorded into `polls`; `waiting` fires once `inner` waits.
    fn new(
        inner: impl Future<Output = T> + Send + 'static,
        polls: &Arc<Mutex<Vec<PolledOn>>>,
        waiting: oneshot::Sender<()>,
    ) -> Self {
        Recorded {
            inner: Box::pin(inner),
            polls: Arc::clone(polls),
            waiting: Some(waiting),
        }
    }
}

impl<T> Future for Recorded<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let count = {
            let mut polls = self.polls.lock().unwrap();
            polls.push(PolledOn::current());
            polls.len()
        };
        let poll = self.inner.as_mut().poll(cx);
        if poll.is_pending() && count == WAITING_POLL {
            if let Some(waiting) = self.waiting.take() {
                let _ = waiting.send(());
            }
        }
        poll
    }
}

/// Pending `times` times, waking itself each time (so no runtime is needed to wake it).
struct PendingTimes(u32);

impl Future for PendingTimes {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// What `record_execute` saw: the calling thread and every poll's thread.
struct Recording {
    caller: PolledOn,
    polls: Vec<PolledOn>,
}

/// Calls `execute` with a future that is pending across several polls and records them.
fn record_execute() -> Recording {
    let (tx, rx) = oneshot::channel();
    let (waiting, waited) = oneshot::channel();
    let polls = Arc::new(Mutex::new(Vec::new()));
    let future = Recorded::new(
        async move {
            PendingTimes(SELF_WAKES).await;
            rx.await.unwrap()
        },
        &polls,
        waiting,
    );
    // The value is sent from another thread, and only once the future waits for it.
    thread::spawn(move || {
        if waited.blocking_recv().is_ok() {
            let _ = tx.send(7u32);
        }
    });
    assert_eq!(globalrt::execute(future), 7);
    let polls = polls.lock().unwrap().clone();
    // The first poll, the self-wake-ups, the wait for the value and the poll after it.
    assert!(
        polls.len() > WAITING_POLL,
        "only {} polls: {polls:?}",
        polls.len()
    );
    Recording {
        caller: PolledOn::current(),
        polls,
    }
}

/// Every poll happened on the calling thread.
fn assert_polled_on_the_caller(context: &str) {
    let Recording { caller, polls } = record_execute();
    for (i, poll) in polls.iter().enumerate() {
        assert_eq!(
            poll, &caller,
            "{context}: poll {i} ran on {poll:?}, not on the calling thread {caller:?}"
        );
    }
}

#[test]
fn plain_thread_polls_on_the_caller() {
    with_watchdog("strategy: plain thread", || {
        assert_polled_on_the_caller("plain thread");
    });
}

#[test]
fn spawn_blocking_polls_on_the_caller() {
    with_watchdog("strategy: spawn_blocking", || {
        for (flavor, outer) in [
            ("multi-thread", multi_thread(2)),
            ("current_thread", current_thread()),
        ] {
            outer.block_on(async move {
                tokio::task::spawn_blocking(move || {
                    assert_polled_on_the_caller(&format!("{flavor} spawn_blocking"));
                })
                .await
                .unwrap();
            });
        }
    });
}

#[test]
fn multi_thread_block_on_and_worker_poll_on_the_caller() {
    with_watchdog("strategy: multi-thread", || {
        let outer = multi_thread(2);
        outer.block_on(async {
            assert_polled_on_the_caller("multi-thread Runtime::block_on");
            tokio::spawn(async { assert_polled_on_the_caller("multi-thread worker task") })
                .await
                .unwrap();
        });
    });
}

#[test]
fn current_thread_polls_on_the_scoped_helper_thread() {
    with_watchdog("strategy: current_thread", || {
        current_thread().block_on(async {
            let Recording { caller, polls } = record_execute();
            let (first, rest) = polls.split_first().unwrap();
            assert_eq!(first, &caller, "the fast path polls on the caller");
            for (i, poll) in rest.iter().enumerate() {
                assert_ne!(
                    poll.id,
                    caller.id,
                    "poll {} ran on the current_thread runtime's own thread",
                    i + 1
                );
                assert_eq!(
                    poll.name.as_deref(),
                    Some(HELPER_THREAD),
                    "poll {} ran on {poll:?}, not on the scoped helper thread",
                    i + 1
                );
                assert_eq!(poll.id, rest[0].id, "one helper thread per call");
            }
        });
    });
}

#[test]
fn worker_polls_on_its_own_thread_after_handing_its_core_off() {
    // The only worker of `outer` calls `execute`. The future stays on that thread (the
    // caller) but, while it is pending, asks `outer` to run another task and waits for it:
    // that task can run only if the worker went through `block_in_place`, which hands its
    // core (and queue) to another thread. Without it the worker is parked with its core,
    // and the wait times out instead of hanging. The task finishes only after the future
    // began waiting for it, so the future is certainly polled again after that wait.
    with_watchdog("strategy: block_in_place on a worker", || {
        let outer = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let outer_handle = outer.handle().clone();
        let (caller, polls, other_task) = outer.block_on(async move {
            tokio::spawn(async move {
                let polls = Arc::new(Mutex::new(Vec::new()));
                let (waiting, waited) = oneshot::channel();
                let future = Recorded::new(
                    async move {
                        PendingTimes(SELF_WAKES).await;
                        let task = outer_handle.spawn(async move {
                            waited.await.unwrap();
                            PolledOn::current()
                        });
                        // Not a speed bound: half the watchdog's limit, so a worker that
                        // kept its core fails here with a message before the watchdog.
                        tokio::time::timeout(hang_limit() / 2, task).await
                    },
                    &polls,
                    waiting,
                );
                let other_task = globalrt::execute(future);
                let polls = polls.lock().unwrap().clone();
                (PolledOn::current(), polls, other_task)
            })
            .await
            .unwrap()
        });
        let other_task = other_task
            .expect(
                "the runtime's only worker stayed blocked while execute waited: \
                 it did not hand its core off with block_in_place",
            )
            .unwrap();
        assert_ne!(
            other_task.id, caller.id,
            "the other task ran on the calling worker's thread while execute was pending"
        );
        assert!(
            polls.len() > WAITING_POLL,
            "only {} polls: {polls:?}",
            polls.len()
        );
        for (i, poll) in polls.iter().enumerate() {
            assert_eq!(
                poll, &caller,
                "poll {i} ran on {poll:?}, not on the calling worker's thread {caller:?}"
            );
        }
    });
}
