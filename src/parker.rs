//! `Parker`: the waker of `block_on`, and `ParkedCallers`, the list `shutdown` wakes: the
//! one piece of hand-written synchronisation on the slow path. `tests/loom.rs` includes
//! this file and model-checks it with loom, which is why it depends on nothing else in the
//! crate and takes its primitives from `sync`: loom's in that test crate (`cfg(test)`
//! there, with `--cfg globalrt_loom`), std's in the library, which is never built against
//! loom.
//!
//! The protocol: a caller parks only while listed in [`ParkedCallers`], and looks at its
//! stop condition (`shutdown`'s flag) after listing itself; `shutdown` sets its flag, then
//! notifies every listed caller. Whichever comes first, the caller either sees the flag
//! or is notified, so a parked call sleeps until something happens, with no timed
//! re-check. The list's mutex orders the two sides; the notified flag's Release/Acquire
//! pair makes what a waker wrote visible to the woken caller.

#[cfg(all(test, globalrt_loom))]
mod sync {
    pub(crate) use loom::sync::atomic::{AtomicBool, Ordering};
    pub(crate) use loom::sync::{Arc, MutexGuard};
    pub(crate) use loom::thread::{self, Thread};

    /// loom's `Mutex`, locked by spinning on `try_lock`: loom ends a thread's wait for a
    /// `Mutex` when that thread is unparked (loom 0.7, `rt::thread::set_unparked`) and
    /// then panics "expected to be able to acquire lock", which no std `Mutex` does. A
    /// spinning thread waits for the lock only, with the same acquire and release.
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> std::sync::LockResult<MutexGuard<'_, T>> {
            loop {
                if let Ok(guard) = self.0.try_lock() {
                    return Ok(guard);
                }
                thread::yield_now();
            }
        }
    }
}

#[cfg(not(all(test, globalrt_loom)))]
mod sync {
    pub(crate) use std::sync::atomic::{AtomicBool, Ordering};
    pub(crate) use std::sync::{Arc, Mutex, MutexGuard};
    pub(crate) use std::thread::{self, Thread};
}

use sync::{Arc, AtomicBool, Mutex, MutexGuard, Ordering, Thread, thread};

/// A thread's wake-up flag. Reused by one thread's calls one after another (see
/// `ThisThread` below), never shared by two calls at once, so nested calls on one thread
/// never steal each other's wake-ups.
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

    /// Records a wake-up and unparks the thread; only the first of several wake-ups
    /// before the next park pays for the `unpark`.
    pub(crate) fn notify(&self) {
        if !self.notified.swap(true, Ordering::Release) {
            self.thread.unpark();
        }
    }

    /// Consumes a pending wake-up; whether there was one.
    fn take_notification(&self) -> bool {
        self.notified.swap(false, Ordering::Acquire)
    }
}

/// The callers parked right now, so that `shutdown` can wake each of them.
#[derive(Debug)]
pub(crate) struct ParkedCallers {
    parked: Mutex<Vec<Arc<Parker>>>,
}

impl ParkedCallers {
    #[cfg(not(all(test, globalrt_loom)))]
    pub(crate) const fn new() -> Self {
        ParkedCallers {
            parked: Mutex::new(Vec::new()),
        }
    }

    /// loom's `Mutex::new` is not `const`.
    #[cfg(all(test, globalrt_loom))]
    pub(crate) fn new() -> Self {
        ParkedCallers {
            parked: Mutex::new(Vec::new()),
        }
    }

    /// Parks the calling thread, which owns `parker`, until `parker` is notified (since
    /// the last park or [`Parker::take_notification`]) or `stop()` is true. `stop` is
    /// looked at only once the caller is listed, so [`ParkedCallers::wake_all`] after
    /// setting what `stop` reads always ends the park.
    pub(crate) fn park(&self, parker: &Arc<Parker>, stop: impl Fn() -> bool) {
        if parker.take_notification() {
            return;
        }
        self.lock().push(Arc::clone(parker));
        while !parker.take_notification() && !stop() {
            thread::park();
        }
        let mut parked = self.lock();
        if let Some(i) = parked.iter().position(|p| Arc::ptr_eq(p, parker)) {
            parked.swap_remove(i);
        }
    }

    /// Notifies every parked caller; `shutdown` calls it once its flag is set.
    pub(crate) fn wake_all(&self) {
        for parker in self.lock().iter() {
            parker.notify();
        }
    }

    /// The list, locked: held across `fork` so that no child finds it locked by a
    /// thread the child does not have. A child keeps the parent's entries; notifying one
    /// of a thread that is not there is harmless.
    #[cfg(all(unix, not(all(test, globalrt_loom))))]
    pub(crate) fn hold(&self) -> MutexGuard<'_, Vec<Arc<Parker>>> {
        self.lock()
    }

    /// Whether another holder has the list locked (for the fork handlers' test).
    #[cfg(all(test, unix, not(globalrt_loom)))]
    pub(crate) fn is_held(&self) -> bool {
        self.parked.try_lock().is_err()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Arc<Parker>>> {
        // Nothing panics while the list is locked; a poisoned list is still a list.
        self.parked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(not(all(test, globalrt_loom)))]
pub(crate) use this_thread::ThisThread;

/// The calling thread's parker and its waker, kept between calls so that a call that
/// waits allocates nothing.
#[cfg(not(all(test, globalrt_loom)))]
mod this_thread {
    use std::cell::Cell;
    use std::sync::Arc;
    use std::task::Waker;

    use super::Parker;

    std::thread_local! {
        static IDLE: Cell<Option<ThisThread>> = const { Cell::new(None) };
    }

    /// The calling thread's parker, taken for one call: a nested call on the same thread
    /// finds none idle and makes its own, so a wake-up meant for the outer call is never
    /// consumed by the inner one. Given back to the thread by [`ThisThread::put_back`] once
    /// the call is done (a call that panics drops it instead).
    #[derive(Debug)]
    pub(crate) struct ThisThread {
        pub(crate) parker: Arc<Parker>,
        pub(crate) waker: Waker,
    }

    impl ThisThread {
        /// The thread's idle parker, or a new one. A wake-up left over from an earlier
        /// call (a waker kept and woken after its call returned) is dropped here.
        pub(crate) fn take() -> Self {
            match IDLE.try_with(Cell::take).ok().flatten() {
                Some(this) => {
                    this.parker.take_notification();
                    this
                }
                None => Self::new(),
            }
        }

        #[cold]
        #[inline(never)]
        fn new() -> Self {
            let parker = Parker::new();
            let waker = Waker::from(Arc::clone(&parker));
            ThisThread { parker, waker }
        }

        /// Gives the parker back to the thread for its next call. In a thread-local
        /// destructor, where the slot is gone, it is dropped instead.
        pub(crate) fn put_back(self) {
            let _ = IDLE.try_with(|idle| idle.set(Some(self)));
        }
    }

    impl std::task::Wake for Parker {
        fn wake(self: Arc<Self>) {
            self.notify();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.notify();
        }
    }
}

#[cfg(all(test, not(globalrt_loom)))]
mod tests {
    use std::sync::mpsc;
    use std::task::Waker;
    use std::time::{Duration, Instant};

    use super::*;

    /// Waits until a caller parked on another thread is listed in `callers`; fails at
    /// once if that caller's park returned (`done`) first, with nothing to end it.
    fn wait_until_listed<T>(callers: &ParkedCallers, done: &mpsc::Receiver<T>) {
        while callers.lock().is_empty() {
            assert!(
                done.try_recv().is_err(),
                "park returned with nothing to end it"
            );
            std::thread::yield_now();
        }
    }

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

    /// A park ends on a notification and not before; while parked, the caller is listed.
    #[test]
    fn park_returns_once_notified_and_not_before() {
        static CALLERS: ParkedCallers = ParkedCallers::new();
        let notified = Arc::new(AtomicBool::new(false));
        let (parker_tx, parker_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let seen = Arc::clone(&notified);
        std::thread::spawn(move || {
            let parker = Parker::new();
            parker_tx.send(Arc::clone(&parker)).unwrap();
            CALLERS.park(&parker, || false);
            done_tx.send(seen.load(Ordering::SeqCst)).unwrap();
        });
        let parker = parker_rx.recv().unwrap();
        wait_until_listed(&CALLERS, &done_rx);
        notified.store(true, Ordering::SeqCst);
        parker.notify();
        let saw_notification = done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("park did not return within 10 s of notify");
        assert!(
            saw_notification,
            "park returned before anything notified it"
        );
        assert!(CALLERS.lock().is_empty(), "a returned caller is unlisted");
    }

    /// `wake_all` ends a park that nothing else ends, once its stop condition holds.
    #[test]
    fn wake_all_ends_a_park_whose_stop_condition_holds() {
        static CALLERS: ParkedCallers = ParkedCallers::new();
        static STOP: AtomicBool = AtomicBool::new(false);
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || {
            CALLERS.park(&Parker::new(), || STOP.load(Ordering::Relaxed));
            done_tx.send(()).unwrap();
        });
        wait_until_listed(&CALLERS, &done_rx);
        STOP.store(true, Ordering::Relaxed);
        CALLERS.wake_all();
        done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("wake_all did not end the park within 10 s");
    }

    #[test]
    fn park_returns_when_told_to_stop() {
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || {
            ParkedCallers::new().park(&Parker::new(), || true);
            done_tx.send(()).unwrap();
        });
        done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a park whose stop condition holds did not return within 10 s");
    }

    #[test]
    fn notify_unparks_the_thread() {
        // Nothing else ends a park: the unpark is what makes a wake-up reach the thread.
        // A 5 s park returning at once proves it: with the unpark's token it takes
        // microseconds (milliseconds under Valgrind), without it the whole 5 s; the bound
        // sits far from both.
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

    /// A thread's calls one after another reuse its parker; a call nested in another
    /// gets a parker of its own.
    #[test]
    fn this_thread_reuses_its_parker_but_never_shares_it() {
        let outer = ThisThread::take();
        let inner = ThisThread::take();
        assert!(
            !Arc::ptr_eq(&outer.parker, &inner.parker),
            "a nested call shares the outer call's parker"
        );
        let inner_parker = Arc::clone(&inner.parker);
        inner.put_back();
        let next = ThisThread::take();
        assert!(
            Arc::ptr_eq(&next.parker, &inner_parker),
            "the next call did not reuse the idle parker"
        );
        outer.put_back();
        next.put_back();
    }

    /// A wake-up left over from an earlier call does not reach the next one.
    #[test]
    fn a_taken_parker_has_no_stale_wake_up() {
        let this = ThisThread::take();
        let late_waker = this.waker.clone();
        this.put_back();
        late_waker.wake();
        let next = ThisThread::take();
        assert!(!next.parker.take_notification(), "a stale wake-up was kept");
        next.put_back();
    }
}
