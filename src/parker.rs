//! `Parker`: the waker of `block_on`, and the one piece of hand-written synchronisation on
//! the slow path. `tests/loom.rs` includes this file and model-checks it with loom, which
//! is why it depends on nothing else in the crate and takes its primitives from `sync`:
//! loom's in that test crate (`cfg(test)` there, with `--cfg globalrt_loom`), std's in the
//! library, which is never built against loom.

#[cfg(all(test, globalrt_loom))]
mod sync {
    pub(crate) use loom::sync::Arc;
    pub(crate) use loom::sync::atomic::{AtomicBool, Ordering};
    pub(crate) use loom::thread::{self, Thread};

    /// loom has no clock: a timed park is a park, woken by `unpark` or a spurious wake-up.
    pub(crate) fn park_timeout(_: std::time::Duration) {
        thread::park();
    }
}

#[cfg(not(all(test, globalrt_loom)))]
mod sync {
    pub(crate) use std::sync::Arc;
    pub(crate) use std::sync::atomic::{AtomicBool, Ordering};
    pub(crate) use std::thread::{self, Thread, park_timeout};
}

use std::time::Duration;

use sync::{Arc, AtomicBool, Ordering, Thread, park_timeout, thread};

/// How often a parked call looks whether `shutdown` has begun, when nothing wakes it.
pub(crate) const SHUTDOWN_CHECK: Duration = Duration::from_millis(50);

/// One per `block_on` call, so nested calls on one thread never steal each other's wake-ups.
#[derive(Debug)]
pub(crate) struct Parker {
    thread: Thread,
    notified: AtomicBool,
}

impl Parker {
    /// A parker for the calling thread.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Parker {
            thread: thread::current(),
            notified: AtomicBool::new(false),
        })
    }

    /// Parks until [`Parker::notify`] has been called since the last park (or the last
    /// [`Parker::take_notification`]), or until `stop()` is true: `shutdown` does not know
    /// the parked calls, so they look at its flag every [`SHUTDOWN_CHECK`].
    pub(crate) fn park(&self, stop: impl Fn() -> bool) {
        while !self.take_notification() {
            if stop() {
                return;
            }
            park_timeout(SHUTDOWN_CHECK);
        }
    }

    /// Records a wake-up and unparks the thread; only the first of several wake-ups
    /// before the next park pays for the `unpark`.
    pub(crate) fn notify(&self) {
        if !self.notified.swap(true, Ordering::Release) {
            self.thread.unpark();
        }
    }

    /// Consumes a pending wake-up; whether there was one.
    pub(crate) fn take_notification(&self) -> bool {
        self.notified.swap(false, Ordering::Acquire)
    }
}

#[cfg(not(all(test, globalrt_loom)))]
impl std::task::Wake for Parker {
    fn wake(self: Arc<Self>) {
        self.notify();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.notify();
    }
}

#[cfg(all(test, not(globalrt_loom)))]
mod tests {
    use std::sync::mpsc;
    use std::task::Waker;
    use std::time::Instant;

    use super::*;

    #[test]
    fn wake_and_wake_by_ref_record_one_notification() {
        let parker = Parker::new();
        let waker = Waker::from(Arc::clone(&parker));
        assert!(!parker.take_notification(), "nothing notified yet");
        waker.wake_by_ref();
        assert!(parker.take_notification(), "wake_by_ref");
        assert!(!parker.take_notification(), "a notification is taken once");
        waker.wake();
        assert!(parker.take_notification(), "wake");
    }

    #[test]
    fn park_returns_once_notified_and_not_before() {
        let notified = Arc::new(AtomicBool::new(false));
        let (parker_tx, parker_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let seen = Arc::clone(&notified);
        std::thread::spawn(move || {
            let parker = Parker::new();
            parker_tx.send(Arc::clone(&parker)).unwrap();
            parker.park(|| false);
            done_tx.send(seen.load(Ordering::SeqCst)).unwrap();
        });
        let parker = parker_rx.recv().unwrap();
        // Several shutdown checks pass with nothing to wake the parked thread.
        std::thread::sleep(SHUTDOWN_CHECK * 3);
        notified.store(true, Ordering::SeqCst);
        parker.notify();
        let saw_notification = done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("park did not return within 10 s of notify");
        assert!(
            saw_notification,
            "park returned before anything notified it"
        );
    }

    #[test]
    fn park_returns_when_told_to_stop() {
        Parker::new().park(|| true);
    }

    #[test]
    fn notify_unparks_the_thread() {
        // `park` would also see the flag at its next shutdown check, 50 ms later; the
        // unpark is what makes a wake-up prompt. A 5 s park returning at once proves it:
        // with the unpark's token it takes microseconds (milliseconds under Valgrind),
        // without it the whole 5 s; the bound sits far from both.
        let parker = Parker::new();
        parker.notify();
        let started = Instant::now();
        std::thread::park_timeout(Duration::from_secs(5));
        assert!(
            started.elapsed() < Duration::from_millis(2500),
            "notify did not unpark the thread"
        );
        assert!(parker.take_notification());
    }
}
