//! loom models of globalrt's own synchronisation: the `Parker` that `block_on` parks on.
//! Built only with `--cfg globalrt_loom`; run them with `cargo xtask loom`, which sets it.
//!
//! The file `src/parker.rs` is included as it is, so the model checks the shipped code;
//! under `cfg(globalrt_loom)` it takes its atomics, `Arc` and threads from loom.

#![cfg(globalrt_loom)]

#[path = "../src/parker.rs"]
#[allow(dead_code)]
mod parker;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

use parker::Parker;

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
            parker.park(|| false);
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
            parker.park(|| false);
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
            parker.park(|| false);
            assert!(
                ready.load(Ordering::Relaxed),
                "woken before the data was visible"
            );
        });
    });
}

/// A park with no wake-up ends once the stop condition (`shutdown`'s flag) is set by
/// another thread: shutdown never leaves a call parked for good.
#[test]
fn shutdown_flag_ends_a_park_without_a_wake_up() {
    loom::model(|| {
        on_own_thread(|| {
            let parker = Parker::new();
            let shut_down = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&shut_down);
            let parked = thread::current();
            thread::spawn(move || {
                flag.store(true, Ordering::Release);
                // Stands in for the timed re-check: the parked thread looks again.
                parked.unpark();
            });
            parker.park(|| shut_down.load(Ordering::Acquire));
        });
    });
}
