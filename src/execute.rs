//! `execute` and its slow path: the strategy for each calling context.

use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::thread;

use tokio::runtime::{Handle, RuntimeFlavor};

use crate::error::{Error, ErrorKind};
use crate::global::{GLOBAL, Global, in_flight_shut_down_error};
use crate::parker::ThisThread;
use crate::trace::{self, Caller, Strategy};

/// The fast path of `execute` and `execute_local`: runs `future` to completion on this
/// thread, inside the shared runtime's context; `finish` drives a future that was pending.
///
/// One poll with a no-op waker inside `Handle::enter`. A future that is ready then returns
/// without a waker, an allocation or a thread switch.
///
/// The future is taken out of `slot` only once `Handle::enter` has succeeded: where
/// this thread's tokio context is gone (thread exit, `atexit`), `enter` panics and the
/// caller finds the future, never polled, still in `slot` (`retry_without_context`).
#[inline(always)]
fn poll_first<F: Future>(
    global: &Global,
    slot: &mut Option<F>,
    caller: Caller,
    finish: impl FnOnce(&Global, &Handle, Pin<&mut F>, Caller) -> Result<F::Output, Error>,
) -> Result<F::Output, Error> {
    let handle = global.handle()?;
    let context = handle.enter();
    let Some(future) = slot.take() else {
        unreachable!("globalrt: a future is executed once")
    };
    let mut future = pin!(future);
    if let Poll::Ready(output) = future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        return Ok(output);
    }
    drop(context);
    finish(global, handle, future, caller)
}

/// Drives a `Send` future that was pending at its first poll, choosing how to block by context.
///
/// The first poll's wake-up went to a no-op waker, so the loop in `block_on` polls once
/// more before it parks: futures register the waker of their latest poll.
#[cold]
#[inline(never)]
fn finish<F>(
    global: &Global,
    handle: &Handle,
    mut future: Pin<&mut F>,
    caller: Caller,
) -> Result<F::Output, Error>
where
    F: Future + Send,
    F::Output: Send,
{
    if let Some(result) = block_here(global, handle, future.as_mut(), caller) {
        return result;
    }
    // The thread that drives a current_thread runtime (`#[tokio::test]`, `flavor =
    // "current_thread"`, a `LocalSet` there), or one of a flavour this version does not
    // know: tokio defers wake-ups to it, so blocking it could deadlock. Drive the future
    // on a scoped helper thread instead. This is why `execute` needs `F: Send`.
    trace::waited(Strategy::HelperThread, caller, || {
        on_helper_thread(global, handle, future)
    })
}

/// Drives `future` on a scoped helper thread, which has a tokio context of its own.
fn on_helper_thread<F>(
    global: &Global,
    handle: &Handle,
    future: Pin<&mut F>,
) -> Result<F::Output, Error>
where
    F: Future + Send,
    F::Output: Send,
{
    thread::scope(|scope| {
        thread::Builder::new()
            .name("globalrt-scoped".to_owned())
            .spawn_scoped(scope, || {
                block_on(global, handle, future, ThisThread::take())
            })
            .expect("globalrt: cannot spawn a helper thread to wait on a current_thread runtime")
            .join()
    })
    .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
}

/// Drives a future that must stay on this thread and was pending at its first poll.
#[cold]
#[inline(never)]
fn finish_local<F: Future>(
    global: &Global,
    handle: &Handle,
    mut future: Pin<&mut F>,
    caller: Caller,
) -> Result<F::Output, Error> {
    if let Some(result) = block_here(global, handle, future.as_mut(), caller) {
        return result;
    }
    // The thread that drives a current_thread runtime: the future cannot move to a helper
    // thread, and parking this one would never finish. Refuse instead.
    Err(Error::new(
        ErrorKind::UnsupportedContext,
        "globalrt: execute_local cannot wait for a !Send future on the thread that drives \
             a current_thread runtime (#[tokio::test], flavor = \"current_thread\", a LocalSet \
             there): blocking it would deadlock and the future cannot move to another thread; \
             use execute with a Send future there, or a multi_thread runtime",
    ))
}

/// Blocks on `future` on this thread when that is safe whatever the future is: no runtime
/// here, a multi-thread runtime's thread, or a thread that holds a current_thread
/// runtime's context without driving it. `None` on the thread that drives a current_thread
/// runtime (or one of a flavour this version does not know).
fn block_here<F: Future>(
    global: &Global,
    handle: &Handle,
    future: Pin<&mut F>,
    caller: Caller,
) -> Option<Result<F::Output, Error>> {
    match Handle::try_current().map(|outer| outer.runtime_flavor()) {
        // A plain thread, outside any runtime: nothing else runs here, so park it.
        Err(_) => Some(trace::waited(Strategy::Park, caller, || {
            block_on(global, handle, future, ThisThread::take())
        })),
        // A runtime's thread. Where tokio defers wake-ups to this thread's scheduler,
        // blocking it would stall that scheduler: a multi-thread worker that holds its core
        // hands its queue to another thread first (`block_in_place`, which cannot panic
        // there), and the thread that drives a current_thread runtime (its `block_on`, a
        // `LocalSet` there) must not block at all. Any other thread (a multi-thread
        // `block_on` thread, a `LocalSet` driven there, a worker already inside
        // `block_in_place`, a current_thread runtime's `spawn_blocking` or `Runtime::enter`)
        // has no queue to hand off, and `block_in_place` would panic inside a `LocalSet`, so
        // park it directly, outside the coop budget of the task or `block_on` it is in (as
        // `block_in_place` would): a spent budget would make every tokio resource return
        // `Pending` forever.
        Ok(flavor) => {
            let this = ThisThread::take();
            if !defers_wake_ups(&this) {
                let future = pin!(tokio::task::coop::unconstrained(future));
                Some(trace::waited(Strategy::Park, caller, || {
                    block_on(global, handle, future, this)
                }))
            } else if flavor == RuntimeFlavor::MultiThread {
                Some(trace::waited(Strategy::BlockInPlace, caller, || {
                    tokio::task::block_in_place(|| block_on(global, handle, future, this))
                }))
            } else {
                this.put_back();
                None
            }
        }
    }
}

/// A minimal executor: poll, park until woken, repeat. Timers and I/O are driven by the
/// shared runtime's workers; `Handle::enter` makes `tokio::spawn` and friends find it.
/// `this` must have been taken on this thread; it is given back when the future is done.
///
/// Once [`shutdown`](crate::shutdown) has begun, the call stops polling and fails with
/// [`ErrorKind::ShutDown`]: the runtime's timers, I/O and tasks are going away, so the
/// future might never be woken again. `shutdown` wakes every parked call itself, so a
/// call waits without any timed re-check.
fn block_on<F: Future>(
    global: &Global,
    handle: &Handle,
    mut future: Pin<&mut F>,
    this: ThisThread,
) -> Result<F::Output, Error> {
    let _context = handle.enter();
    let mut cx = Context::from_waker(&this.waker);
    let result = loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            break Ok(output);
        }
        if global.is_shut_down() {
            break Err(in_flight_shut_down_error());
        }
        global.park(&this.parker);
    };
    this.put_back();
    result
}

/// Whether this thread is driving a tokio scheduler that defers wake-ups: a multi-thread
/// worker holding its core (the one case where `block_in_place` is needed, and cannot
/// panic) or a current_thread runtime's `block_on` thread.
///
/// tokio has no public query for this, but `yield_now` shows it: such a thread defers the
/// wake-up to its scheduler, and everywhere else (a thread in a multi-thread `block_on` or
/// in a `LocalSet` there, a worker inside `block_in_place`, a plain thread) it wakes at
/// once. A deferred wake-up reaches the parker later and costs at most one spare poll.
/// `this` was just taken, so it holds no earlier wake-up.
fn defers_wake_ups(this: &ThisThread) -> bool {
    let mut probe = pin!(tokio::task::yield_now());
    let _ = probe.as_mut().poll(&mut Context::from_waker(&this.waker));
    !this.parker.take_notification()
}

/// Runs a future to completion from synchronous code on the shared runtime, and returns its output.
///
/// Works from any thread, including inside another tokio runtime; see the
/// [crate documentation](crate#calling-contexts) for what happens in each context and what it costs.
/// The first call builds the shared runtime (with the [`Config`](crate::Config) given to
/// [`init`](crate::init), or the defaults).
///
/// `F: Send` is needed because under a current_thread runtime the future must be driven on
/// a helper thread; no `'static` bound is needed, so the future may borrow from the caller.
///
/// # Panics
///
/// - If the future panics: the panic is resumed in the caller with its original payload,
///   and the shared runtime stays usable. Use [`try_execute`] to get an [`Error`] instead.
/// - If the shared runtime cannot be built (a bad [`WORKER_THREADS_ENV`](crate::WORKER_THREADS_ENV)
///   value, the OS refusing threads) or was [`shutdown`](crate::shutdown), also when that
///   happens while this call is running; the message says which.
///
/// # Example
///
/// ```
/// let n = globalrt::execute(async { 40 + 2 });
/// assert_eq!(n, 42);
///
/// // Borrowing from the caller is fine: execute returns only when the future is done.
/// let name = String::from("config.toml");
/// let len = globalrt::execute(async { name.len() });
/// assert_eq!(len, 11);
/// ```
#[inline]
#[track_caller]
pub fn execute<F>(future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    let caller = trace::caller();
    // Outside the call, so that a future the call could not even poll outlives the panic
    // that says why (`retry_without_context`).
    let mut slot = Some(future);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poll_first(&GLOBAL, &mut slot, caller, finish)
    })) {
        Ok(Ok(output)) => output,
        Ok(Err(err)) => fail(err),
        Err(payload) => match retry_without_context(slot, caller) {
            Some(Ok(output)) => output,
            Some(Err(err)) => fail(err),
            None => fail_or_resume(payload),
        },
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn fail_or_resume(payload: Box<dyn std::any::Any + Send>) -> ! {
    if let Some(err) = context_error() {
        panic!("{err}")
    }
    std::panic::resume_unwind(payload)
}

/// The error for a panic caught from a call that globalrt itself explains: `shutdown`
/// stopped the runtime during the call, or (for `execute_local`, which cannot move its
/// future to a helper thread) tokio's thread-local context was gone.
fn context_error() -> Option<Error> {
    // A panic while `shutdown` runs is the runtime going away under the future
    // (tokio's "being shutdown" panics), so it is reported as what it is.
    if GLOBAL.is_shut_down() {
        return Some(in_flight_shut_down_error());
    }
    // Where the thread's tokio context is gone, `Handle::enter` panicked before the
    // future was polled. Checking for it on every call would cost the fast path, so it is
    // recognised here, after the panic.
    if context_is_gone() {
        return Some(no_context_local_error());
    }
    None
}

#[cold]
#[inline(never)]
#[track_caller]
fn fail(err: Error) -> ! {
    panic!("{err}")
}

/// Like [`execute`], but returns an [`Error`] instead of panicking.
///
/// A panic inside the future is caught and returned as [`ErrorKind::Panicked`] with the
/// panic message; the panic hook still runs (and by default prints the message).
///
/// # Errors
///
/// - [`ErrorKind::Panicked`] when the future panicked.
/// - [`ErrorKind::ShutDown`] after [`shutdown`](crate::shutdown), or when it stops the
///   runtime while this call is running (even if the future panicked because of it).
/// - [`ErrorKind::InvalidEnv`] or [`ErrorKind::Build`] when the shared runtime could not be built.
///
/// # Example
///
/// ```
/// use globalrt::ErrorKind;
///
/// assert_eq!(globalrt::try_execute(async { 7 }).unwrap(), 7);
///
/// let err = globalrt::try_execute(async { panic!("boom") }).unwrap_err();
/// assert_eq!(err.kind(), &ErrorKind::Panicked);
/// assert!(err.to_string().contains("boom"));
/// ```
#[cfg_attr(feature = "tracing", track_caller)]
pub fn try_execute<F>(future: F) -> Result<F::Output, Error>
where
    F: Future + Send,
    F::Output: Send,
{
    let caller = trace::caller();
    // Outside the call for `retry_without_context`, as in `execute`.
    let mut slot = Some(future);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poll_first(&GLOBAL, &mut slot, caller, finish)
    })) {
        Ok(result) => result,
        Err(payload) => {
            let retried = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                retry_without_context(slot, caller)
            }));
            match retried {
                Ok(Some(result)) => result,
                Ok(None) => Err(caught_panic(payload)),
                Err(payload) => Err(caught_panic(payload)),
            }
        }
    }
}

/// The error for a panic caught from the future.
#[cold]
#[inline(never)]
fn caught_panic(payload: Box<dyn std::any::Any + Send>) -> Error {
    if let Some(err) = context_error() {
        return err;
    }
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned());
    Error::new(
        ErrorKind::Panicked,
        format!("globalrt: the future panicked: {message}"),
    )
}

/// Like [`execute`], for a future that is not `Send`: one holding an `Rc`, a `RefCell`
/// borrow or a `MutexGuard` across an `.await`, say.
///
/// The future is polled only on the calling thread, so it can be served wherever that
/// thread may block: a plain thread, `spawn_blocking`, a multi-thread runtime
/// (`#[tokio::main]`, its tasks, a `LocalSet` there), nested in another call. Its
/// `tokio::spawn`, timers and I/O use the shared runtime, as with `execute`; a task it
/// spawns must still be `Send`, but [`tokio::task::spawn_local`] inside it is not
/// available (no `LocalSet` is running on the shared runtime).
///
/// Two contexts cannot be served. The thread that drives a current_thread runtime
/// (`#[tokio::test]`, `flavor = "current_thread"`, a `LocalSet` there): `execute` moves
/// the future to a helper thread there; a `!Send` future cannot move, and blocking that
/// thread would deadlock. A future that is ready at its first poll still returns its
/// output there; one that is pending fails with [`ErrorKind::UnsupportedContext`] after
/// that first poll (the future is dropped, as if cancelled). Use
/// `#[tokio::test(flavor = "multi_thread")]` in tests. And a thread whose tokio context is
/// gone (a thread-local destructor that runs after tokio's own, an `atexit` handler),
/// where `execute` uses a helper thread too: [`ErrorKind::UnsupportedContext`] before the
/// first poll.
///
/// # Panics
///
/// As [`execute`], and with the [`ErrorKind::UnsupportedContext`] message in the two
/// cases above. Use [`try_execute_local`] to get an [`Error`] instead.
///
/// # Example
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let n = globalrt::execute_local(async {
///     let entries = Rc::clone(&log); // an Rc held across .await: the future is !Send
///     tokio::task::yield_now().await;
///     entries.borrow_mut().push("done");
///     entries.borrow().len()
/// });
/// assert_eq!(n, 1);
/// assert_eq!(*log.borrow(), ["done"]);
/// ```
#[inline]
#[track_caller]
pub fn execute_local<F: Future>(future: F) -> F::Output {
    let caller = trace::caller();
    let mut slot = Some(future);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poll_first(&GLOBAL, &mut slot, caller, finish_local)
    })) {
        Ok(Ok(output)) => output,
        Ok(Err(err)) => fail(err),
        Err(payload) => fail_or_resume(payload),
    }
}

/// Like [`execute_local`], but returns an [`Error`] instead of panicking.
///
/// # Errors
///
/// As [`try_execute`], and [`ErrorKind::UnsupportedContext`] for a future still pending
/// after its first poll on the thread that drives a current_thread runtime, or for any
/// call where the thread's tokio context is gone (a thread-local destructor that runs
/// after tokio's own, an `atexit` handler), where [`try_execute`] uses a helper thread.
///
/// # Example
///
/// ```
/// use std::rc::Rc;
/// use globalrt::ErrorKind;
///
/// let shared = Rc::new(5);
/// let got = globalrt::try_execute_local(async {
///     tokio::task::yield_now().await;
///     *shared + 1
/// });
/// assert_eq!(got.unwrap(), 6);
///
/// // Under #[tokio::test] (a current_thread runtime) a pending !Send future is refused.
/// let outer = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let err = outer.block_on(async {
///     globalrt::try_execute_local(async {
///         let _not_send = Rc::new(());
///         tokio::task::yield_now().await;
///     })
///     .unwrap_err()
/// });
/// assert_eq!(err.kind(), &ErrorKind::UnsupportedContext);
/// ```
#[cfg_attr(feature = "tracing", track_caller)]
pub fn try_execute_local<F: Future>(future: F) -> Result<F::Output, Error> {
    let caller = trace::caller();
    let mut slot = Some(future);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poll_first(&GLOBAL, &mut slot, caller, finish_local)
    })) {
        Ok(result) => result,
        Err(payload) => Err(caught_panic(payload)),
    }
}

// Threads whose tokio context is gone: a thread-local destructor that runs after tokio's
// own, or an `atexit` handler.

/// Whether this thread's tokio context is gone: a thread-local destructor that runs after
/// tokio's own, or an `atexit` handler (glibc destroys the main thread's thread-locals
/// before it runs them). `Handle::enter` panics there.
pub(crate) fn context_is_gone() -> bool {
    matches!(Handle::try_current(), Err(err) if err.is_thread_local_destroyed())
}

/// Drives a `Send` future whose call panicked, if the panic was `Handle::enter`'s where
/// this thread's tokio context is gone: the future was not polled, and a fresh helper
/// thread, which has thread-locals of its own, drives it instead. `None` for any other
/// panic. Recognised after the panic, because checking first would cost every call.
#[cold]
#[inline(never)]
pub(crate) fn retry_without_context<F>(
    slot: Option<F>,
    caller: Caller,
) -> Option<Result<F::Output, Error>>
where
    F: Future + Send,
    F::Output: Send,
{
    // The future is still in its slot only if the call panicked before its first poll.
    let future = slot.filter(|_| context_is_gone())?;
    let future = pin!(future);
    let handle = match GLOBAL.handle() {
        Ok(handle) => handle,
        Err(err) => return Some(Err(err)),
    };
    Some(trace::waited(Strategy::HelperThread, caller, || {
        on_helper_thread(&GLOBAL, handle, future)
    }))
}

/// `execute_local`'s error where this thread's tokio context is gone: a `!Send` future
/// cannot move to a helper thread.
pub(crate) fn no_context_local_error() -> Error {
    Error::new(
        ErrorKind::UnsupportedContext,
        "globalrt: execute_local was called where this thread's tokio context is gone (a \
         thread-local destructor that runs after tokio's own, or an atexit handler), and a \
         !Send future cannot move to a helper thread; use execute with a Send future there, \
         or run the future before the thread exits",
    )
}
