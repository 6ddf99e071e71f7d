//! `execute` and its slow path: the strategy for each calling context.
//!
//! The public function keeps the future in an `Option` (boxed first when it is large, as
//! tokio's `block_on` does) until `Handle::enter` has succeeded; the fast path then pins it
//! in its one slot, where it stays, never moved, until whatever polled it last drops it in
//! place, inside the shared runtime's context: once done, after a panic, at a deadline,
//! when `shutdown` stops the call, as `Runtime::block_on` does.

use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use tokio::runtime::Handle;
use tokio::task::LocalSet;

use crate::context::{self, Here, Shared};
use crate::error::{Error, ErrorKind, panic_text};
use crate::global::{GLOBAL, Global, in_flight_shut_down_error};
use crate::parker::ThisThread;
use crate::trace::{self, Caller, Strategy};

/// The future's one slot: `Some` until it is dropped in place.
pub(crate) type Slot<'a, F> = Pin<&'a mut Option<F>>;

/// A future larger than this is boxed at the entry, so that the calls below it move a
/// pointer, not the future: tokio's own `block_on` threshold (2 KiB in debug builds,
/// 16 KiB in release), so `execute` uses no more stack than `Runtime::block_on` for any
/// future, and a future below it costs what it did.
const BOX_THRESHOLD: usize = if cfg!(debug_assertions) { 2048 } else { 16384 };

/// Whether a future of type `F` is boxed at the entry; known when compiling.
pub(crate) const fn boxed<F>() -> bool {
    std::mem::size_of::<F>() > BOX_THRESHOLD
}

/// Drops the slot's future in place when dropped: `block_on` makes it right after
/// `Handle::enter`, so on every way out, unwinding included, the future is dropped inside
/// the runtime's context and on the thread that polled it last.
struct DropInPlace<'a, F>(Slot<'a, F>);

impl<F> Drop for DropInPlace<'_, F> {
    fn drop(&mut self) {
        self.0.set(None);
    }
}

impl<F: Future> DropInPlace<'_, F> {
    fn future(&mut self) -> Pin<&mut F> {
        match self.0.as_mut().as_pin_mut() {
            Some(future) => future,
            None => unreachable!("globalrt: a future is polled after it was dropped"),
        }
    }
}

/// The fast path of `execute` and `execute_local`: takes the future out of `slot` once
/// inside the shared runtime's context, pins it in its one slot and polls it there;
/// `finish` drives a future that was pending.
///
/// One poll with a no-op waker inside `Handle::enter`. A future that is ready then returns
/// without a waker, an allocation or a thread switch, and is dropped (declared after the
/// context's guard) inside the context, as it is when its poll panics. Where this
/// thread's tokio context is gone (thread exit, `atexit`), `enter` panics before the
/// future is touched, and the caller finds it still in `slot` (`retry_without_context`).
#[inline(always)]
fn poll_first<F: Future>(
    global: &Global,
    slot: &mut Option<F>,
    caller: Caller,
    finish: impl FnOnce(&Global, &Handle, Slot<'_, F>, Caller) -> Result<F::Output, Error>,
) -> Result<F::Output, Error> {
    let handle = global.handle()?;
    let context = handle.enter();
    let Some(future) = slot.take() else {
        unreachable!("globalrt: a future is executed once")
    };
    let mut pinned = pin!(Some(future));
    let Some(future) = pinned.as_mut().as_pin_mut() else {
        unreachable!("globalrt: the future was just pinned")
    };
    if let Poll::Ready(output) = future.poll(&mut Context::from_waker(Waker::noop())) {
        return Ok(output);
    }
    drop(context);
    finish(global, handle, pinned, caller)
}

/// The shared runtime as [`context::here`] needs it.
pub(crate) fn shared<'a>(global: &Global, handle: &'a Handle) -> Shared<'a> {
    Shared {
        handle: Some(handle),
        adopted: global.is_adopted(),
    }
}

/// Drives a `Send` future that was pending at its first poll, choosing how to block by
/// where this thread is ([`Here`]).
///
/// The first poll's wake-up went to a no-op waker, so the loop in `block_on` polls once
/// more before it parks: futures register the waker of their latest poll.
#[cold]
#[inline(never)]
fn finish<F>(
    global: &Global,
    handle: &Handle,
    slot: Slot<'_, F>,
    caller: Caller,
) -> Result<F::Output, Error>
where
    F: Future + Send,
    F::Output: Send,
{
    let here = context::here(|| shared(global, handle));
    finish_at::<F, false>(global, handle, slot, caller, here)
}

/// [`finish`] once it is known where this thread is; `ENTERED`: whether the shared
/// runtime's context is this thread's current one already (a [`Scope`](crate::Scope)'s
/// call), so that parking here need not enter it again.
#[inline]
pub(crate) fn finish_at<F, const ENTERED: bool>(
    global: &Global,
    handle: &Handle,
    slot: Slot<'_, F>,
    caller: Caller,
    here: Here,
) -> Result<F::Output, Error>
where
    F: Future + Send,
    F::Output: Send,
{
    match here {
        Here::Driver => {
            // The thread that drives a current_thread runtime (`#[tokio::test]`, `flavor =
            // "current_thread"`, a `LocalSet` there): tokio defers wake-ups to it, so
            // blocking it could deadlock. Drive the future on a scoped helper thread
            // instead. This is why `execute` needs `F: Send`.
            trace::waited(Strategy::HelperThread, caller, || {
                helper_thread_drives(global, Some(handle), slot, true)
            })
        }
        here => block_here::<F, ENTERED>(global, handle, slot, caller, here, None),
    }
}

/// Drives the slot's future on a scoped helper thread, which has a tokio context of its
/// own, and resumes its panic here. Without `handle` (where this thread's tokio context
/// is gone), the helper also gets the shared runtime, building it if this is the
/// process's first call. `watch`: say once if the wait is long (see
/// `context::on_helper_thread`).
fn helper_thread_drives<F>(
    global: &Global,
    handle: Option<&Handle>,
    mut slot: Slot<'_, F>,
    watch: bool,
) -> Result<F::Output, Error>
where
    F: Future + Send,
    F::Output: Send,
{
    let joined = context::on_helper_thread(
        || {
            let handle = match handle {
                Some(handle) => handle,
                None => global.handle()?,
            };
            block_on::<F, false>(
                global,
                handle,
                slot.as_mut(),
                ThisThread::take(),
                Around::Nothing,
            )
        },
        watch,
    );
    match joined {
        Ok(joined) => joined.unwrap_or_else(|payload| std::panic::resume_unwind(payload)),
        // No helper thread: the future, never polled there, is dropped here, inside the
        // context where this thread can still enter it.
        Err(err) => {
            let _context = handle.map(Handle::enter);
            slot.set(None);
            Err(err)
        }
    }
}

/// Drives a future that must stay on this thread and was pending at its first poll.
#[cold]
#[inline(never)]
fn finish_local<F: Future>(
    global: &Global,
    handle: &Handle,
    slot: Slot<'_, F>,
    caller: Caller,
) -> Result<F::Output, Error> {
    let here = context::here(|| shared(global, handle));
    finish_local_at::<F, false>(global, handle, slot, caller, here)
}

/// [`finish_local`] once it is known where this thread is; `ENTERED` as for [`finish_at`].
#[inline]
pub(crate) fn finish_local_at<F: Future, const ENTERED: bool>(
    global: &Global,
    handle: &Handle,
    mut slot: Slot<'_, F>,
    caller: Caller,
    here: Here,
) -> Result<F::Output, Error> {
    match here {
        Here::Driver => {
            // The future cannot move to a helper thread, and parking this one would never
            // finish. Refuse, dropping the future here, in the shared runtime's context.
            let _context = handle.enter();
            slot.set(None);
            Err(Error::new(
                ErrorKind::UnsupportedContext,
                "globalrt: execute_local cannot wait for a !Send future on the thread that \
                 drives a current_thread runtime (#[tokio::test], flavor = \
                 \"current_thread\", a LocalSet there): blocking it would deadlock and the \
                 future cannot move to another thread; use execute with a Send future \
                 there, or a multi_thread runtime",
            ))
        }
        // `spawn_local` in the future goes to the thread's own `LocalSet`
        // (`try_local_in_slot`), which the wait drives beside the future.
        here => match LOCAL_TASKS.try_with(|local| {
            block_here::<_, ENTERED>(global, handle, slot.as_mut(), caller, here, Some(local))
        }) {
            Ok(result) => result,
            Err(_) => block_here::<_, ENTERED>(global, handle, slot, caller, here, None),
        },
    }
}

std::thread_local! {
    /// The `LocalSet` `execute_local` enters for its future, one per thread, so that
    /// `tokio::task::spawn_local` in the future spawns there, never on a `LocalSet` of the
    /// caller's that the blocked caller could not run; a call that waits drives it.
    pub(crate) static LOCAL_TASKS: LocalSet = LocalSet::new();
}

/// Blocks on the slot's future on this thread, where that is safe whatever the future
/// is: not the thread that drives a current_thread runtime.
///
/// On a plain thread nothing else runs, so it parks. On a multi-thread worker that holds
/// its core, blocking would stall that core's queue: `block_in_place` hands it to another
/// thread first. Any other runtime thread (a multi-thread `block_on` thread, a `LocalSet`
/// there, a worker already inside `block_in_place`, `spawn_blocking`, after
/// `Runtime::enter`) has no queue to hand off, and `block_in_place` would panic inside a
/// `LocalSet`, so it parks directly, outside the coop budget of the task or `block_on` it
/// is in (as `block_in_place` would): a spent budget would make every tokio resource
/// return `Pending` forever.
fn block_here<F: Future, const ENTERED: bool>(
    global: &Global,
    handle: &Handle,
    slot: Slot<'_, F>,
    caller: Caller,
    here: Here,
    local: Option<&LocalSet>,
) -> Result<F::Output, Error> {
    let this = ThisThread::take();
    let unconstrained = Around::Unconstrained(local);
    match here {
        Here::Worker => trace::waited(Strategy::BlockInPlace, caller, || {
            tokio::task::block_in_place(|| {
                block_on::<F, ENTERED>(global, handle, slot, this, unconstrained)
            })
        }),
        Here::Outside => trace::waited(Strategy::Park, caller, || {
            let around = local.map_or(Around::Nothing, Around::Local);
            block_on::<F, ENTERED>(global, handle, slot, this, around)
        }),
        _ => trace::waited(Strategy::Park, caller, || {
            block_on::<F, ENTERED>(global, handle, slot, this, unconstrained)
        }),
    }
}

/// What [`block_on`] polls around the future.
#[derive(Clone, Copy)]
enum Around<'a> {
    /// The future alone.
    Nothing,
    /// The thread's `LocalSet` driven beside the future (`execute_local`).
    Local(&'a LocalSet),
    /// The coop budget lifted (`tokio::task::coop::unconstrained`): the future is polled
    /// outside the budget of a task or `block_on` this thread is in; with the `LocalSet`.
    Unconstrained(Option<&'a LocalSet>),
}

impl Around<'_> {
    /// Polls `future` with what is around it.
    #[inline(always)]
    fn poll<F: Future>(self, future: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self {
            Around::Nothing => future.poll(cx),
            Around::Local(local) => pin!(local.run_until(future)).poll(cx),
            Around::Unconstrained(None) => pin!(tokio::task::coop::unconstrained(future)).poll(cx),
            Around::Unconstrained(Some(local)) => {
                pin!(tokio::task::coop::unconstrained(local.run_until(future))).poll(cx)
            }
        }
    }
}

/// A minimal executor: poll, park until woken, repeat, then drop the future in place,
/// inside the shared runtime's context (on every way out). Timers and I/O are driven by
/// the shared runtime's workers; `Handle::enter` makes `tokio::spawn` and friends find it.
/// `this` must have been taken on this thread; it is given back when the future is done.
/// `ENTERED`: the shared runtime's context is current already, so it is not entered again.
///
/// Once [`shutdown`](crate::shutdown) has begun, the call stops polling and fails with
/// [`ErrorKind::ShutDown`]: the runtime's timers, I/O and tasks are going away, so the
/// future might never be woken again. `shutdown` wakes every parked call itself, so a
/// call waits without any timed re-check.
fn block_on<F: Future, const ENTERED: bool>(
    global: &Global,
    handle: &Handle,
    slot: Slot<'_, F>,
    this: ThisThread,
    around: Around<'_>,
) -> Result<F::Output, Error> {
    let result = if ENTERED {
        drive(global, slot, &this, around)
    } else {
        let _context = handle.enter();
        drive(global, slot, &this, around)
    };
    this.put_back();
    result
}

/// [`block_on`]'s loop, inside the shared runtime's context.
#[inline(always)]
fn drive<F: Future>(
    global: &Global,
    slot: Slot<'_, F>,
    this: &ThisThread,
    around: Around<'_>,
) -> Result<F::Output, Error> {
    let mut in_place = DropInPlace(slot);
    let mut cx = Context::from_waker(&this.waker);
    loop {
        if let Poll::Ready(output) = around.poll(in_place.future(), &mut cx) {
            return Ok(output);
        }
        if global.is_shut_down() {
            return Err(in_flight_shut_down_error());
        }
        global.park(&this.parker);
    }
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
    if const { boxed::<F>() } {
        execute_in_slot(Some(Box::pin(future)), caller)
    } else {
        execute_in_slot(Some(future), caller)
    }
}

/// [`execute`] once the future is in its slot.
#[inline(always)]
#[track_caller]
fn execute_in_slot<F>(mut slot: Option<F>, caller: Caller) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    // A `panic = "abort"` build cannot catch `Handle::enter`'s panic where tokio's
    // thread-locals are gone, so it looks first (one `Handle::try_current` a call).
    // The slot goes to `retry_without_context` by value, here and below: were its address
    // taken, the compiler could no longer see that the fast path's `take` finds it full.
    // The match below is written out, not shared with `try_execute_in_slot` through
    // `Result` combinators and one helper: that version made the ready path of `execute`
    // longer in `cargo xtask bench`'s `global_execute`.
    #[cfg(panic = "abort")]
    if context::is_gone() {
        return match retry_without_context(slot, caller) {
            Some(Ok(output)) => output,
            Some(Err(err)) => fail(err),
            None => unreachable!("globalrt: the context is gone and the future unpolled"),
        };
    }
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

/// A call's outcome: globalrt's result, or the panic caught from the future (`Err`).
pub(crate) type Caught<T> = std::thread::Result<Result<T, Error>>;

/// `catch_unwind` of a call's work: the future's panic is the caller's to report.
#[inline(always)]
pub(crate) fn catch<T>(work: impl FnOnce() -> T) -> std::thread::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
}

/// What `execute` and `execute_local` make of a call's outcome: the output, else a panic
/// with globalrt's error, else the future's own panic resumed.
#[inline(always)]
#[track_caller]
pub(crate) fn output_or_panic<T>(caught: Caught<T>) -> T {
    match caught {
        Ok(Ok(output)) => output,
        Ok(Err(err)) => fail(err),
        Err(payload) => fail_or_resume(payload),
    }
}

/// What `try_execute` and `try_execute_local` make of a call's outcome: the future's
/// panic becomes an [`Error`] (see [`panic_error`]).
#[inline(always)]
pub(crate) fn output_or_error<T>(caught: Caught<T>) -> Result<T, Error> {
    caught.unwrap_or_else(|payload| Err(panic_error(payload)))
}

/// Resumes a panic caught from the future, unless it is the runtime going away under it
/// (see [`runtime_gone_error`]), which is reported as globalrt's own error.
#[cold]
#[inline(never)]
#[track_caller]
fn fail_or_resume(payload: Box<dyn std::any::Any + Send>) -> ! {
    if let Some(err) = runtime_gone_error(panic_text(&*payload)) {
        panic!("{err}")
    }
    std::panic::resume_unwind(payload)
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
    if const { boxed::<F>() } {
        try_execute_in_slot(Some(Box::pin(future)), caller)
    } else {
        try_execute_in_slot(Some(future), caller)
    }
}

/// [`try_execute`] once the future is in its slot.
#[inline(always)]
fn try_execute_in_slot<F>(mut slot: Option<F>, caller: Caller) -> Result<F::Output, Error>
where
    F: Future + Send,
    F::Output: Send,
{
    #[cfg(panic = "abort")]
    if context::is_gone() {
        return retry_without_context(slot, caller)
            .expect("globalrt: the context is gone and the future unpolled");
    }
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
                Ok(None) => Err(panic_error(payload)),
                Err(payload) => Err(panic_error(payload)),
            }
        }
    }
}

/// The error for a panic caught from the future: [`ErrorKind::Panicked`] with the
/// payload's message, unless it is the runtime going away under the future.
#[cold]
#[inline(never)]
fn panic_error(payload: Box<dyn std::any::Any + Send>) -> Error {
    if let Some(err) = runtime_gone_error(panic_text(&*payload)) {
        return err;
    }
    Error::panicked(payload)
}

/// globalrt's error for a panic that the shared runtime's going away caused inside the
/// future, told by its message: tokio's "being shutdown" (a timer or I/O resource of a
/// runtime that is shutting down), or an unwrapped `JoinError::Cancelled` (a task the
/// shutdown cancelled). It is [`ErrorKind::ShutDown`] only while that is so: after
/// [`shutdown`](crate::shutdown), or where the runtime adopted by
/// [`init_with_handle`](crate::init_with_handle) has been shut down by its owner. Any
/// other panic, even during a shutdown, is the user's, and stays [`ErrorKind::Panicked`].
fn runtime_gone_error(message: &str) -> Option<Error> {
    // The cheap checks first: most panics are the future's own, with the runtime running.
    let shut_down = GLOBAL.is_shut_down();
    if !shut_down && !GLOBAL.is_adopted() {
        return None;
    }
    if !(message.contains("is being shutdown") || message.contains("Cancelled")) {
        return None;
    }
    if shut_down {
        return Some(in_flight_shut_down_error());
    }
    // Not shut down, so adopted (the check above): has its owner shut it down?
    if GLOBAL.runtime_is_closed() {
        return Some(crate::global::adopted_runtime_gone_error());
    }
    None
}

/// Like [`execute`], for a future that is not `Send`: one holding an `Rc`, a `RefCell`
/// borrow or a `MutexGuard` across an `.await`, say.
///
/// The future is polled only on the calling thread, so it can be served wherever that
/// thread may block: a plain thread, `spawn_blocking`, a multi-thread runtime
/// (`#[tokio::main]`, its tasks, a `LocalSet` there), nested in another call. Its
/// `tokio::spawn`, timers and I/O use the shared runtime, as with `execute`.
/// [`tokio::task::spawn_local`] inside it spawns onto a `LocalSet` that globalrt keeps for
/// the calling thread (never onto a caller's `LocalSet`, which the blocked caller could
/// not run); a call drives those tasks while it waits, so await them inside the future.
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
    let result = if const { boxed::<F>() } {
        try_local_in_slot(Some(Box::pin(future)), caller)
    } else {
        try_local_in_slot(Some(future), caller)
    };
    match result {
        Ok(output) => output,
        Err(failure) => failure.resume(),
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
    let result = if const { boxed::<F>() } {
        try_local_in_slot(Some(Box::pin(future)), caller)
    } else {
        try_local_in_slot(Some(future), caller)
    };
    result.map_err(LocalFailure::into_error)
}

/// How a call through `execute_local` failed: globalrt's error, or the future's panic.
enum LocalFailure {
    Error(Error),
    Panic(Box<dyn std::any::Any + Send>),
}

impl LocalFailure {
    /// What `execute_local` does with it: panics with the error, or resumes the panic.
    #[cold]
    #[track_caller]
    fn resume(self) -> ! {
        match self {
            LocalFailure::Error(err) => fail(err),
            LocalFailure::Panic(payload) => fail_or_resume(payload),
        }
    }

    /// What `try_execute_local` returns for it.
    #[cold]
    fn into_error(self) -> Error {
        match self {
            LocalFailure::Error(err) => err,
            LocalFailure::Panic(payload) => panic_error(payload),
        }
    }
}

/// [`execute_local`] and [`try_execute_local`] once the future is in its slot.
#[inline(always)]
fn try_local_in_slot<F: Future>(
    mut slot: Option<F>,
    caller: Caller,
) -> Result<F::Output, LocalFailure> {
    #[cfg(panic = "abort")]
    if context::is_gone() {
        return Err(LocalFailure::Error(no_context_local_error()));
    }
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // The thread's `LocalSet` (`LOCAL_TASKS`), entered for the first poll too.
        let _local = LOCAL_TASKS.try_with(LocalSet::enter);
        poll_first(&GLOBAL, &mut slot, caller, finish_local)
    })) {
        Ok(result) => result.map_err(LocalFailure::Error),
        // The future was not even taken: `Handle::enter` panicked, which it does only where
        // this thread's tokio context is gone.
        Err(_) if slot.is_some() => Err(LocalFailure::Error(no_context_local_error())),
        Err(payload) => Err(LocalFailure::Panic(payload)),
    }
}

/// Drives a `Send` future whose call could not even begin because this thread's tokio
/// context is gone (a thread-local destructor that runs after tokio's own, an `atexit`
/// handler): the future was not polled, and a fresh helper thread, which has
/// thread-locals of its own, gets the shared runtime (building it, for a process's first
/// call) and drives it instead. `None` where the context is there, or the future was
/// already polled (its panic is the caller's to handle).
#[cold]
#[inline(never)]
fn retry_without_context<F>(slot: Option<F>, caller: Caller) -> Option<Result<F::Output, Error>>
where
    F: Future + Send,
    F::Output: Send,
{
    // Still in its slot only if the call panicked before taking it: in `Handle::enter`,
    // where this thread's tokio context is gone (the `panic = "abort"` path checks first).
    slot.as_ref()?;
    let pinned = pin!(slot);
    Some(trace::waited(Strategy::HelperThread, caller, || {
        helper_thread_drives(&GLOBAL, None, pinned, false)
    }))
}

/// `execute_local`'s error where this thread's tokio context is gone: a `!Send` future
/// cannot move to a helper thread.
fn no_context_local_error() -> Error {
    Error::new(
        ErrorKind::UnsupportedContext,
        "globalrt: execute_local was called where this thread's tokio context is gone (a \
         thread-local destructor that runs after tokio's own, or an atexit handler), and a \
         !Send future cannot move to a helper thread; use execute with a Send future there, \
         or run the future before the thread exits",
    )
}
