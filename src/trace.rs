//! The `tracing` feature: one DEBUG event, target `globalrt`, per call that took the slow
//! path, naming the strategy, the caller's `file:line` and the time it waited.
//!
//! Without the feature, [`Caller`] is a zero-sized value and [`waited`] just runs its
//! closure, so nothing here reaches the compiled library. With it, the caller's location
//! is a constant passed down to the slow path; the fast path never reads it.

use std::fmt;

/// How a call that was pending at its first poll was driven.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Strategy {
    /// The calling thread parked until woken.
    Park,
    /// `tokio::task::block_in_place` on a multi-thread worker, then parked.
    BlockInPlace,
    /// A scoped helper thread: under a current_thread runtime, or where this thread's
    /// tokio context was gone (thread exit, `atexit`).
    HelperThread,
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Strategy::Park => "park",
            Strategy::BlockInPlace => "block_in_place",
            Strategy::HelperThread => "helper thread",
        })
    }
}

/// Where the public function was called: the `#[track_caller]` location with the
/// `tracing` feature, nothing (a zero-sized value) without it.
#[derive(Clone, Copy)]
pub(crate) struct Caller {
    #[cfg(feature = "tracing")]
    location: &'static std::panic::Location<'static>,
}

/// The location of the call to the `#[track_caller]` public function that calls this.
#[inline(always)]
#[cfg_attr(feature = "tracing", track_caller)]
pub(crate) fn caller() -> Caller {
    Caller {
        #[cfg(feature = "tracing")]
        location: std::panic::Location::caller(),
    }
}

/// Runs `wait`, the blocking part of a slow-path call, and reports it with the `tracing`
/// feature: one DEBUG event once it returns, on the calling thread.
#[inline(always)]
pub(crate) fn waited<T>(strategy: Strategy, caller: Caller, wait: impl FnOnce() -> T) -> T {
    #[cfg(feature = "tracing")]
    {
        let started = std::time::Instant::now();
        let output = wait();
        tracing::debug!(
            target: "globalrt",
            strategy = %strategy,
            caller = %format_args!("{}:{}", caller.location.file(), caller.location.line()),
            waited = ?started.elapsed(),
            "globalrt: a call was pending at its first poll"
        );
        output
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = (strategy, caller);
        wait()
    }
}
