//! `execute` keeps its promise where real programs nest and end, and keeps
//! `Runtime::block_on`'s guarantees for the future's whole life: the in-process half.
//! The scenarios that need a fresh process are in `promise_process.rs`.
//!
//! Every test that can hang runs under `with_watchdog`; no test asserts a timing.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread::ThreadId;

use globalrt::ErrorKind;

use crate::{current_thread, multi_thread, sleep_then, with_watchdog};

// --- Nested calls during the outer call's first poll -----------------------------------

#[test]
fn nested_execute_in_the_first_poll_on_a_current_thread_runtime() {
    let value = with_watchdog("nested execute, current_thread", || {
        current_thread()
            .block_on(async { globalrt::execute(async { globalrt::execute(sleep_then(4)) }) })
    });
    assert_eq!(value, 4);
}

#[test]
fn nested_try_execute_in_the_first_poll_on_a_current_thread_runtime() {
    let result = with_watchdog("nested try_execute, current_thread", || {
        current_thread().block_on(async {
            globalrt::try_execute(async { globalrt::try_execute(sleep_then(4)) })
        })
    });
    let inner = result.expect("outer call");
    assert_eq!(inner.expect("inner call"), 4);
}

#[test]
fn nested_try_execute_local_in_the_first_poll_on_a_current_thread_runtime_is_unsupported() {
    let inner = with_watchdog("nested try_execute_local, current_thread", || {
        current_thread().block_on(async {
            globalrt::execute(async {
                // `yield_now`, not a timer: a 1 ms sleep can already be due at its first
                // poll under Valgrind, and a ready future is served there.
                globalrt::try_execute_local(async {
                    let _not_send = std::rc::Rc::new(());
                    tokio::task::yield_now().await;
                    4
                })
            })
        })
    });
    let err = inner.expect_err("a pending !Send future on a current_thread runtime's thread");
    assert_eq!(err.kind(), &ErrorKind::UnsupportedContext, "{err}");
}

#[test]
fn try_execute_on_a_current_thread_runtime_that_entered_the_shared_handle() {
    let result = with_watchdog("current_thread + handle().enter()", || {
        current_thread().block_on(async {
            let _entered = globalrt::handle().enter();
            globalrt::try_execute(sleep_then(1))
        })
    });
    assert_eq!(result.expect("try_execute"), 1);
}

/// The multi-thread counterpart of the nested calls above, which works today and must
/// keep working.
#[test]
fn nested_execute_in_the_first_poll_in_a_multi_thread_task() {
    let value = with_watchdog("nested execute, multi_thread task", || {
        multi_thread(2).block_on(async {
            tokio::spawn(async { globalrt::execute(async { globalrt::execute(sleep_then(4)) }) })
                .await
                .unwrap()
        })
    });
    assert_eq!(value, 4);
}

// --- A late wake-up from an earlier call ------------------------------------------------

/// Pending until it has been polled with a real waker (not the fast path's no-op one),
/// which it keeps in `kept` and wakes; ready at the next poll.
struct KeepsItsWaker {
    kept: Arc<Mutex<Vec<Waker>>>,
    kept_one: bool,
}

impl Future for KeepsItsWaker {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.kept_one {
            return Poll::Ready(());
        }
        if !cx.waker().will_wake(Waker::noop()) {
            lock(&this.kept).push(cx.waker().clone());
            this.kept_one = true;
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A waker that an earlier call on a worker handed out, fired by another thread while
/// a later call on that worker decides how to block, must not make the worker park while
/// holding its core: the task the later call spawns would sit in its LIFO slot forever.
#[test]
fn a_late_wake_up_from_an_earlier_call_does_not_hang_a_worker() {
    const ITERATIONS: usize = 300;
    let kept: Arc<Mutex<Vec<Waker>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let waking = {
        let kept = Arc::clone(&kept);
        let stop = Arc::clone(&stop);
        // Stops at the flag, or after the hang limit when the test hung (not an assertion).
        let give_up = std::time::Instant::now() + 2 * crate::hang_limit();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) && std::time::Instant::now() < give_up {
                let wakers: Vec<Waker> = lock(&kept).clone();
                for waker in &wakers {
                    waker.wake_by_ref();
                }
                std::thread::yield_now();
            }
        })
    };
    let outcome = {
        let kept = Arc::clone(&kept);
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            with_watchdog("late wake-up", move || {
                let app = multi_thread(1);
                for iteration in 0..ITERATIONS {
                    let kept = Arc::clone(&kept);
                    let app_handle = app.handle().clone();
                    let value = app
                        .block_on(app.spawn(async move {
                            globalrt::execute(KeepsItsWaker {
                                kept,
                                kept_one: false,
                            });
                            tokio::task::yield_now().await;
                            globalrt::execute(async move {
                                app_handle.spawn(async { 1 }).await.unwrap()
                            })
                        }))
                        .unwrap();
                    assert_eq!(value, 1, "iteration {iteration}");
                }
            })
        }))
    };
    stop.store(true, Ordering::Relaxed);
    waking.join().unwrap();
    if let Err(payload) = outcome {
        std::panic::resume_unwind(payload);
    }
}

// --- spawn_local in execute_local's first poll ------------------------------------------

/// The local task lands on the caller's `LocalSet`, which the waiting caller cannot run:
/// the call must either run it or refuse at once, never hang.
#[test]
fn spawn_local_in_the_first_poll_of_try_execute_local_does_not_hang() {
    let result = with_watchdog("spawn_local in try_execute_local", || {
        multi_thread(2).block_on(async {
            let local = tokio::task::LocalSet::new();
            local
                .run_until(async {
                    globalrt::try_execute_local(async {
                        tokio::task::spawn_local(async { 1 }).await.unwrap()
                    })
                })
                .await
        })
    });
    match result {
        Ok(value) => assert_eq!(value, 1),
        Err(err) => assert_eq!(err.kind(), &ErrorKind::UnsupportedContext, "{err}"),
    }
}

// --- A user's panic in a thread-local destructor ----------------------------------------

/// Calls `try_execute` with a future that panics on the helper thread, from its `Drop`,
/// run as a thread-local destructor after tokio's own.
struct PanicsAtThreadExit(std::sync::mpsc::Sender<Result<u32, globalrt::Error>>);

impl Drop for PanicsAtThreadExit {
    fn drop(&mut self) {
        let result = globalrt::try_execute(async {
            if sleep_then(1).await == 1 {
                panic!("boom");
            }
            1u32
        });
        let _ = self.0.send(result);
    }
}

std::thread_local! {
    static PANICS_AT_THREAD_EXIT: std::cell::RefCell<Option<PanicsAtThreadExit>> =
        const { std::cell::RefCell::new(None) };
}

#[test]
fn a_panic_in_a_thread_local_destructor_after_tokios_own_is_panicked() {
    let result = with_watchdog("panic in a thread-local destructor", || {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Registered before tokio's thread-locals, so destroyed after them.
            PANICS_AT_THREAD_EXIT.with(|slot| *slot.borrow_mut() = Some(PanicsAtThreadExit(tx)));
            assert_eq!(globalrt::execute(sleep_then(2)), 2);
        })
        .join()
        .unwrap();
        rx.recv().unwrap()
    });
    let err = result.expect_err("the future panicked");
    assert_eq!(err.kind(), &ErrorKind::Panicked, "{err}");
    assert!(err.to_string().contains("boom"), "{err}");
}

// --- The future is dropped inside the runtime, on the thread that polled it -------------

/// Where a [`PendingOnce`] was polled and dropped.
#[derive(Default, Debug)]
pub(crate) struct Seen {
    pub(crate) polls: Vec<ThreadId>,
    pub(crate) dropped_on: Option<ThreadId>,
    /// The id of the runtime whose context the drop ran in, if any.
    pub(crate) dropped_in_runtime: Option<Option<tokio::runtime::Id>>,
}

/// A field whose `Drop` hands cleanup to the runtime with `tokio::spawn`, as pooled
/// connections do: outside a runtime context it panics.
struct CleanupOnDrop(Arc<Mutex<Seen>>);

impl Drop for CleanupOnDrop {
    fn drop(&mut self) {
        let in_runtime = tokio::runtime::Handle::try_current()
            .ok()
            .map(|handle| handle.id());
        {
            let mut seen = lock(&self.0);
            seen.dropped_on = Some(std::thread::current().id());
            seen.dropped_in_runtime = Some(in_runtime);
        }
        drop(tokio::spawn(async {}));
    }
}

/// What a [`PendingOnce`] does at its second poll.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SecondPoll {
    Ready(u32),
    Panic,
    Never,
}

/// A hand-written future, as libraries write them: pending at its first poll (it wakes
/// itself), then what `second` says. It holds a [`CleanupOnDrop`].
pub(crate) struct PendingOnce {
    _cleanup: CleanupOnDrop,
    seen: Arc<Mutex<Seen>>,
    polls: u32,
    second: SecondPoll,
}

impl PendingOnce {
    pub(crate) fn new(second: SecondPoll) -> (Self, Arc<Mutex<Seen>>) {
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let future = Self {
            _cleanup: CleanupOnDrop(Arc::clone(&seen)),
            seen: Arc::clone(&seen),
            polls: 0,
            second,
        };
        (future, seen)
    }
}

impl Future for PendingOnce {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let this = self.get_mut();
        lock(&this.seen).polls.push(std::thread::current().id());
        this.polls += 1;
        if this.polls == 1 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match this.second {
            SecondPoll::Ready(value) => Poll::Ready(value),
            SecondPoll::Panic => panic!("boom"),
            SecondPoll::Never => Poll::Pending,
        }
    }
}

/// Asserts that the future was dropped inside the shared runtime's context, on a thread
/// that polled it.
pub(crate) fn assert_dropped_where_polled(seen: &Mutex<Seen>) {
    let shared = globalrt::handle().id();
    let seen = lock(seen);
    assert_eq!(
        seen.dropped_in_runtime,
        Some(Some(shared)),
        "not dropped inside the shared runtime's context ({shared:?}): {seen:?}"
    );
    let dropped_on = seen.dropped_on.expect("dropped");
    assert!(
        seen.polls.contains(&dropped_on),
        "not dropped on a thread that polled it: {seen:?}"
    );
}

#[test]
fn a_future_whose_drop_needs_the_runtime_completes_from_a_plain_thread() {
    let (result, seen) = with_watchdog("drop needs the runtime, plain thread", || {
        let (future, seen) = PendingOnce::new(SecondPoll::Ready(7));
        (globalrt::try_execute(future), seen)
    });
    assert_eq!(result.expect("try_execute"), 7);
    assert_dropped_where_polled(&seen);
}

#[test]
fn a_future_whose_drop_needs_the_runtime_completes_under_a_current_thread_runtime() {
    let (result, seen) = with_watchdog("drop needs the runtime, current_thread", || {
        let (future, seen) = PendingOnce::new(SecondPoll::Ready(8));
        let result = current_thread().block_on(async { globalrt::try_execute(future) });
        (result, seen)
    });
    assert_eq!(result.expect("try_execute"), 8);
    assert_dropped_where_polled(&seen);
}

#[test]
fn a_future_whose_drop_needs_the_runtime_completes_through_try_execute_timeout() {
    let (result, seen) = with_watchdog("drop needs the runtime, try_execute_timeout", || {
        let (future, seen) = PendingOnce::new(SecondPoll::Ready(9));
        let result = globalrt::try_execute_timeout(std::time::Duration::from_secs(3600), future);
        (result, seen)
    });
    assert_eq!(result.expect("try_execute_timeout"), 9);
    assert_dropped_where_polled(&seen);
}

// --- Stack use at the first poll of a large future --------------------------------------

const KIB: usize = 1024;

/// The address of a local in a frame just below the caller's.
#[inline(never)]
fn stack_address() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// A 64 KiB future, pending at its first poll, that records a stack address at its
/// first poll in `probe`.
async fn large_future(probe: Arc<AtomicUsize>) -> u8 {
    let mut block = [0u8; 64 * KIB];
    block[std::hint::black_box(100)] = 1;
    let _ = probe.compare_exchange(0, stack_address(), Ordering::SeqCst, Ordering::SeqCst);
    sleep_then(1).await;
    std::hint::black_box(&block)[100]
}

/// How far below this function's frame the first poll of a 64 KiB future runs when
/// `execute` drives it.
#[inline(never)]
fn depth_through_execute() -> usize {
    let probe = Arc::new(AtomicUsize::new(0));
    let top = stack_address();
    let future = large_future(Arc::clone(&probe));
    assert_eq!(globalrt::execute(future), 1);
    top - probe.load(Ordering::SeqCst)
}

/// The same through `Runtime::block_on` (a multi-thread runtime, as the shared one is).
#[inline(never)]
fn depth_through_block_on(runtime: &tokio::runtime::Runtime) -> usize {
    let probe = Arc::new(AtomicUsize::new(0));
    let top = stack_address();
    let future = large_future(Arc::clone(&probe));
    assert_eq!(runtime.block_on(future), 1);
    top - probe.load(Ordering::SeqCst)
}

/// `execute` uses about as much stack as `Runtime::block_on` before a large future's
/// first poll: within 32 KiB of it.
#[test]
fn stack_use_at_the_first_poll_of_a_64_kib_future_is_close_to_block_on() {
    let (execute, block_on) = with_watchdog("stack use at first poll", || {
        let runtime = multi_thread(1);
        // The shared runtime is built by an earlier call, not inside the measured one.
        assert_eq!(globalrt::execute(sleep_then(1)), 1);
        (depth_through_execute(), depth_through_block_on(&runtime))
    });
    eprintln!(
        "stack used before the first poll of a 64 KiB future: execute {execute} bytes ({} KiB), \
         Runtime::block_on {block_on} bytes ({} KiB)",
        execute / KIB,
        block_on / KIB
    );
    assert!(
        execute <= block_on + 32 * KIB,
        "execute used {execute} bytes of stack before the first poll, Runtime::block_on {block_on}"
    );
}

/// A current_thread runtime's task (not its `block_on` body) that entered the shared
/// runtime's handle is still that runtime's driver: `block_in_place` would panic there.
#[test]
fn a_current_thread_task_that_entered_the_shared_handle_uses_the_helper_thread() {
    let result = with_watchdog("current_thread task entered the shared handle", || {
        current_thread().block_on(async {
            tokio::spawn(async {
                let _entered = globalrt::handle().enter();
                globalrt::try_execute(sleep_then(6))
            })
            .await
            .unwrap()
        })
    });
    assert_eq!(result.expect("try_execute"), 6);
}

/// A call nested in another's first poll, in a task on a multi-thread worker numbered
/// past 0: the entered handle is the shared runtime's, but only a multi-thread runtime
/// numbers a worker past 0, so the worker blocks in place, on its own thread, never on the
/// helper thread with its core kept.
#[test]
fn a_nested_call_on_worker_one_of_a_multi_thread_runtime_blocks_in_place() {
    let (task_thread, polled_on) = with_watchdog("nested call on worker 1", || {
        let runtime = multi_thread(2);
        runtime.block_on(async {
            // Tasks land on either worker; retry until one runs on worker 1.
            loop {
                let seen = tokio::spawn(async {
                    if tokio::runtime::worker_index() != Some(1) {
                        return None;
                    }
                    let task_thread = std::thread::current().id();
                    let polled_on = globalrt::execute(async {
                        globalrt::execute(async {
                            tokio::task::yield_now().await;
                            std::thread::current().id()
                        })
                    });
                    Some((task_thread, polled_on))
                })
                .await
                .unwrap();
                if let Some(seen) = seen {
                    break seen;
                }
            }
        })
    });
    assert_eq!(
        task_thread, polled_on,
        "the nested call on worker 1 was driven on another thread"
    );
}
