//! loom models of globalrt's own synchronisation: the `Parker` that `block_on` parks on,
//! and `ParkedCallers`, through which `shutdown` wakes every parked call.
//! Built only with `--cfg globalrt_loom`; run them with `cargo xtask loom`, which sets it.
//!
//! The file `src/parker.rs` is included as it is, so the model checks the shipped code;
//! under `cfg(globalrt_loom)` it takes its atomics, `Arc`, `Mutex` and threads from loom.

#![cfg(globalrt_loom)]

#[path = "../src/parker.rs"]
#[allow(dead_code)]
mod parker;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

use parker::{ParkedCallers, Parker};

// Each model parks on a thread of its own and leaves the waking threads unjoined: a
// late `unpark` (harmless with std, where a park may always wake spuriously) would
// otherwise reach a thread blocked in loom's `join`, which loom does not allow.

/// Runs `body` on a fresh thread and waits for it.
fn on_own_thread(body: impl FnOnce() + Send + 'static) {
    thread::spawn(body).join().unwrap();
}

/// A wake-up sent from another thread is never lost, whether it comes before, during or
/// after the park.
#[test]
fn a_wake_up_is_never_lost() {
    loom::model(|| {
        on_own_thread(|| {
            let parker = Parker::new();
            let waker = Arc::clone(&parker);
            thread::spawn(move || waker.notify());
            ParkedCallers::new().park(&parker, || false);
        });
    });
}

/// Two wakers racing: the parked thread returns whichever comes first, and a wake-up
/// that raced the park is left for the next one, never lost.
#[test]
fn racing_wake_ups_end_the_park() {
    loom::model(|| {
        on_own_thread(|| {
            let parker = Parker::new();
            for _ in 0..2 {
                let waker = Arc::clone(&parker);
                thread::spawn(move || waker.notify());
            }
            ParkedCallers::new().park(&parker, || false);
        });
    });
}

/// Data written before a wake-up is visible after the park returns (Release/Acquire).
#[test]
fn data_written_before_the_wake_up_is_seen_after_the_park() {
    loom::model(|| {
        on_own_thread(|| {
            let parker = Parker::new();
            let ready = Arc::new(AtomicBool::new(false));
            let waker = Arc::clone(&parker);
            let written = Arc::clone(&ready);
            thread::spawn(move || {
                written.store(true, Ordering::Relaxed);
                waker.notify();
            });
            ParkedCallers::new().park(&parker, || false);
            assert!(
                ready.load(Ordering::Relaxed),
                "woken before the data was visible"
            );
        });
    });
}

/// A wake-up that finds another one pending skips the `unpark` (only the first pays for
/// it), so only the notified flag's Release/Acquire pair carries what that waker wrote to
/// the woken caller: the caller, which polls ("is the value there?") after each park, must
/// see it, or it would park again with nothing left to wake it (loom reports the deadlock).
/// Either swap made `Relaxed` fails this model.
#[test]
fn a_wake_up_that_finds_one_pending_still_publishes_its_data() {
    loom::model(|| {
        on_own_thread(|| {
            let callers = ParkedCallers::new();
            let parker = Parker::new();
            let ready = Arc::new(AtomicBool::new(false));
            let other = Arc::clone(&parker);
            thread::spawn(move || other.notify());
            let (waker, written) = (Arc::clone(&parker), Arc::clone(&ready));
            thread::spawn(move || {
                written.store(true, Ordering::Relaxed);
                waker.notify();
            });
            while !ready.load(Ordering::Relaxed) {
                callers.park(&parker, || false);
            }
        });
    });
}

/// A park with no wake-up ends once `shutdown` has set its flag and woken the parked
/// callers, whether it does so before, while or after the caller lists itself: shutdown
/// never leaves a call parked for good, with no timed re-check. The flag is `Relaxed`
/// here: the list's mutex alone orders the two sides.
#[test]
fn shutdown_wakes_a_parked_caller() {
    loom::model(|| {
        on_own_thread(|| {
            let callers = Arc::new(ParkedCallers::new());
            let shut_down = Arc::new(AtomicBool::new(false));
            let (flag, waking) = (Arc::clone(&shut_down), Arc::clone(&callers));
            thread::spawn(move || {
                flag.store(true, Ordering::Relaxed);
                waking.wake_all();
            });
            callers.park(&Parker::new(), || shut_down.load(Ordering::Relaxed));
        });
    });
}

/// `shutdown` racing an ordinary wake-up: the park ends, and a wake-up that arrives once
/// the caller has left the list is kept for its next park, never lost.
#[test]
fn shutdown_racing_a_wake_up_ends_the_park() {
    // Three threads and a spinning lock: every interleaving with up to three preemptions
    // (tokio's own loom runs use two) keeps the model under ten seconds.
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(3);
    model.check(|| {
        on_own_thread(|| {
            let callers = Arc::new(ParkedCallers::new());
            let parker = Parker::new();
            let shut_down = Arc::new(AtomicBool::new(false));
            let waker = Arc::clone(&parker);
            thread::spawn(move || waker.notify());
            let (flag, waking) = (Arc::clone(&shut_down), Arc::clone(&callers));
            thread::spawn(move || {
                flag.store(true, Ordering::Relaxed);
                waking.wake_all();
            });
            callers.park(&parker, || shut_down.load(Ordering::Relaxed));
            if !shut_down.load(Ordering::Relaxed) {
                // Woken by the wake-up alone: the next park still ends by shutdown.
                callers.park(&parker, || shut_down.load(Ordering::Relaxed));
            }
        });
    });
}
