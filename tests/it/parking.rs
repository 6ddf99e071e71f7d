//! How a waiting `execute` parks: each call's wake-ups reach that call only, even when
//! calls nest on one thread, and a parked call sleeps until something wakes it (no timed
//! re-check) while `shutdown` still reaches it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use crate::with_watchdog;

/// Pending at its first poll without arranging any wake-up, ready at the next: it relies
/// on a wake-up that something else sent during the same poll of the enclosing future.
struct PendingOnceUnwoken(bool);

impl Future for PendingOnceUnwoken {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

/// The outer call's future is woken while a nested call on the same thread waits; the
/// nested call parks at least once after that wake-up. Were the two calls to share one
/// parker, the nested one would consume the outer's wake-up and the outer call would
/// park for good (the watchdog fails the test). With a parker each, the outer call is
/// polled again and finishes.
#[test]
fn a_nested_call_never_takes_the_outer_calls_wake_up() {
    with_watchdog("parking: nested call", || {
        let value = globalrt::execute(async {
            // Past the fast path's poll, whose waker is a no-op: on to the call's own.
            tokio::task::yield_now().await;
            let (outer_tx, outer_rx) = oneshot::channel::<u32>();
            let (inner_waits_tx, inner_waits_rx) = std::sync::mpsc::channel();
            let (inner_tx, inner_rx) = oneshot::channel::<()>();
            let mut outer_rx = std::pin::pin!(outer_rx);
            // Registers the outer call's waker with `outer_rx`.
            std::future::poll_fn(|cx| {
                assert!(outer_rx.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            // Once the nested call waits: wake the outer call, then the nested one.
            let sender = std::thread::spawn(move || {
                inner_waits_rx.recv().unwrap();
                outer_tx.send(5).unwrap();
                inner_tx.send(()).unwrap();
            });
            globalrt::execute(async move {
                let mut inner_rx = std::pin::pin!(inner_rx);
                let mut pending = 0;
                std::future::poll_fn(|cx| {
                    let poll = inner_rx.as_mut().poll(cx);
                    if poll.is_pending() {
                        pending += 1;
                        // The first poll is the fast path's, with a no-op waker; the
                        // second registered the nested call's own waker.
                        if pending == 2 {
                            inner_waits_tx.send(()).unwrap();
                        }
                    }
                    poll
                })
                .await
                .unwrap();
            });
            sender.join().unwrap();
            // The outer wake-up came during this poll: only it brings the next poll.
            PendingOnceUnwoken(false).await;
            outer_rx.await.unwrap()
        });
        assert_eq!(value, 5);
    });
}

/// Linux: a thread's voluntary context switches (`/proc/self/task/TID/status`) count how
/// often it went to sleep, so they count a parked call's wake-ups; its state tells
/// whether it sleeps now.
#[cfg(target_os = "linux")]
pub(crate) mod sleeps {
    /// The calling thread's id, for [`state`] and [`voluntary_switches`].
    pub(crate) fn this_thread_id() -> String {
        let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
        link.file_name()
            .expect("/proc/thread-self names PID/task/TID")
            .to_string_lossy()
            .into_owned()
    }

    fn status_field(tid: &str, field: &str) -> String {
        let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status"))
            .expect("the thread is alive");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .unwrap_or_else(|| panic!("no {field} in the thread's status"))
            .trim()
            .to_owned()
    }

    /// The thread's state letter: `S` while it sleeps (parked), `R` while it runs.
    pub(crate) fn state(tid: &str) -> char {
        status_field(tid, "State:").chars().next().unwrap()
    }

    /// How many times the thread has gone to sleep.
    pub(crate) fn voluntary_switches(tid: &str) -> u64 {
        status_field(tid, "voluntary_ctxt_switches:")
            .parse()
            .unwrap()
    }
}
