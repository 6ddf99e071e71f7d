//! `scope`: the shared runtime entered once for many calls.
//!
//! `execute` enters the shared runtime's context on every call (`Handle::enter`), and
//! tokio's enter clones the shared handle and drops the clone again: two atomic writes
//! to one cache line that every calling thread writes, so the per-call cost grows with
//! the number of threads calling. A [`Scope`] made on a plain thread enters once, for its
//! closure, and its calls then only poll.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::task::LocalSet;

use crate::context::{self, Here};
use crate::error::{Error, ErrorKind};
use crate::execute::{
    self, Caught, LOCAL_TASKS, Slot, boxed, catch, finish_at, finish_local_at, output_or_error,
    output_or_panic, shared,
};
use crate::global::{GLOBAL, Global};
use crate::timeout::with_deadline;
use crate::trace::{self, Caller};

/// Runs `body` with a [`Scope`], whose calls cost less than [`execute`](crate::execute)'s
/// and the same at any number of calling threads.
///
/// On a thread outside every tokio runtime (a CLI's `main`, a thread it spawned, a
/// `rayon` worker), `scope` enters the shared runtime's context once, for the whole of
/// `body`, building the runtime first if this is the process's first use (as the first
/// `execute` would). The token's calls then poll the future without entering again: a
/// future that is ready at once costs about what polling it costs. The calls do
/// everything [`execute`](crate::execute)'s do, with the same errors and panics.
///
/// Anywhere else — a runtime's worker or task, a `Runtime::block_on` body (`#[tokio::main]`,
/// `#[tokio::test]`), `spawn_blocking`, a current_thread runtime's thread, after
/// `Runtime::enter`, inside another scope or another call's future — `scope` changes
/// nothing, and the token's calls are exactly `execute`'s, with the strategy of the
/// [calling-context table](crate#calling-contexts).
///
/// # What changes inside the closure on a plain thread
///
/// The closure runs inside the shared runtime's context, as the future of an `execute`
/// call does. What the closure itself does (not only the futures it passes to the
/// token) therefore finds the shared runtime: `tokio::spawn` spawns onto it,
/// `Handle::current()` and `Handle::try_current()` return its handle, and timers and
/// sockets created in the closure belong to it, where outside the scope they would panic
/// with tokio's "no reactor running". `Runtime::block_on` of an application's own runtime
/// still works inside the closure. Every `EnterGuard` taken in the closure must be
/// dropped in it, as tokio requires of nested guards.
///
/// # Safety over speed
///
/// - After [`shutdown`](crate::shutdown) or in a forked child, every token call checks
///   one word (one relaxed atomic load) and then behaves as `execute` does there: fails
///   with [`ErrorKind::ShutDown`], or uses the child's own runtime.
/// - If code in the closure enters another runtime's context (`Runtime::block_on`,
///   `Runtime::enter`, `Handle::enter`) and calls the token there, the future's first poll
///   runs in that context, since the token does not enter the shared runtime again:
///   a future that is ready at that poll has run there and returns its output; one that
///   is still pending fails with [`ErrorKind::UnsupportedContext`] (the future is
///   dropped), never a hang. Call [`execute`](crate::execute) there instead.
/// - The token is neither `Send` nor `Sync`: it cannot leave the thread whose context the
///   scope entered, and the closure ends the context on every way out, a panic included,
///   so it can never be held across an `.await`.
///
/// # Example
///
/// ```
/// let commands = ["status", "fetch", "list"];
/// let lengths = globalrt::scope(|rt| {
///     commands
///         .iter()
///         .map(|name| rt.execute(async { name.len() }))
///         .collect::<Vec<_>>()
/// });
/// assert_eq!(lengths, [6, 5, 4]);
/// ```
///
/// The token cannot leave the thread:
///
/// ```compile_fail
/// globalrt::scope(|rt| {
///     std::thread::scope(|s| {
///         s.spawn(|| rt.execute(async { 1 }));
///     });
/// });
/// ```
pub fn scope<R>(body: impl FnOnce(&Scope) -> R) -> R {
    match plain_thread_handle() {
        Some(handle) => {
            let _context = handle.enter();
            body(&Scope::new(Some(handle)))
        }
        None => body(&Scope::new(None)),
    }
}

/// The shared runtime's handle, where `scope` should enter it: on a thread outside every
/// runtime (whose tokio context is not gone), once the runtime is built.
fn plain_thread_handle() -> Option<&'static Handle> {
    match Handle::try_current() {
        Err(err) if !err.is_thread_local_destroyed() => GLOBAL.handle().ok(),
        _ => None,
    }
}

/// The token [`scope`] gives its closure: [`execute`](crate::execute) and its variants,
/// without entering the shared runtime again on each call where the scope entered it.
///
/// Neither `Send` nor `Sync`, so it stays on the thread of its scope.
pub struct Scope {
    /// The shared runtime's handle when the scope entered it; `None` where the scope
    /// changed nothing and the calls are `execute`'s.
    entered: Option<&'static Handle>,
    _not_send: PhantomData<*const ()>,
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("entered", &self.entered.is_some())
            .finish()
    }
}

impl Scope {
    fn new(entered: Option<&'static Handle>) -> Self {
        Scope {
            entered,
            _not_send: PhantomData,
        }
    }

    /// The shared runtime's handle when this scope entered it and the runtime is neither
    /// shut down nor inherited across a fork: the one check of every call.
    #[inline(always)]
    fn direct(&self) -> Option<&'static Handle> {
        let handle = self.entered?;
        GLOBAL.is_running().then_some(handle)
    }

    /// [`execute`](crate::execute) through the scope: runs `future` to completion and
    /// returns its output.
    ///
    /// # Panics
    ///
    /// As [`execute`](crate::execute); and with the [`ErrorKind::UnsupportedContext`]
    /// message where the closure entered another runtime's context and the future was
    /// pending there (see [`scope`]).
    ///
    /// # Example
    ///
    /// ```
    /// let total: usize = globalrt::scope(|rt| (1..=3).map(|n| rt.execute(async move { n })).sum());
    /// assert_eq!(total, 6);
    /// ```
    #[inline]
    #[track_caller]
    pub fn execute<F>(&self, future: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let Some(handle) = self.direct() else {
            return execute::execute(future);
        };
        output_or_panic(send(handle, future, trace::caller()))
    }

    /// [`try_execute`](crate::try_execute) through the scope: returns an [`Error`] instead
    /// of panicking.
    ///
    /// # Errors
    ///
    /// As [`try_execute`](crate::try_execute), and [`ErrorKind::UnsupportedContext`] where
    /// the closure entered another runtime's context and the future was pending there.
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_execute<F>(&self, future: F) -> Result<F::Output, Error>
    where
        F: Future + Send,
        F::Output: Send,
    {
        let Some(handle) = self.direct() else {
            return execute::try_execute(future);
        };
        output_or_error(send(handle, future, trace::caller()))
    }

    /// [`try_execute_timeout`](crate::try_execute_timeout) through the scope: gives up
    /// after `timeout` with [`ErrorKind::TimedOut`].
    ///
    /// # Errors
    ///
    /// As [`try_execute_timeout`](crate::try_execute_timeout), and
    /// [`ErrorKind::UnsupportedContext`] as for [`Scope::try_execute`].
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_execute_timeout<F>(&self, timeout: Duration, future: F) -> Result<F::Output, Error>
    where
        F: Future + Send,
        F::Output: Send,
    {
        self.try_execute(with_deadline(timeout, future))
            .and_then(|result| result)
    }

    /// [`execute_local`](crate::execute_local) through the scope: for a `!Send` future.
    ///
    /// # Panics
    ///
    /// As [`execute_local`](crate::execute_local), and as [`Scope::execute`].
    #[inline]
    #[track_caller]
    pub fn execute_local<F: Future>(&self, future: F) -> F::Output {
        let Some(handle) = self.direct() else {
            return execute::execute_local(future);
        };
        output_or_panic(local(handle, future, trace::caller()))
    }

    /// [`try_execute_local`](crate::try_execute_local) through the scope: returns an
    /// [`Error`] instead of panicking.
    ///
    /// # Errors
    ///
    /// As [`try_execute_local`](crate::try_execute_local), and
    /// [`ErrorKind::UnsupportedContext`] as for [`Scope::try_execute`].
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_execute_local<F: Future>(&self, future: F) -> Result<F::Output, Error> {
        let Some(handle) = self.direct() else {
            return execute::try_execute_local(future);
        };
        output_or_error(local(handle, future, trace::caller()))
    }
}

/// A scope's `execute` and `try_execute`: the future boxed first where `execute` boxes it.
#[inline(always)]
fn send<F>(handle: &Handle, future: F, caller: Caller) -> Caught<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    if const { boxed::<F>() } {
        catch(|| {
            poll_entered(
                &GLOBAL,
                handle,
                Box::pin(future),
                caller,
                finish_at::<_, true>,
            )
        })
    } else {
        catch(|| poll_entered(&GLOBAL, handle, future, caller, finish_at::<_, true>))
    }
}

/// A scope's `execute_local`: the thread's `LocalSet` entered, as `execute_local` enters it.
#[inline(always)]
fn local<F: Future>(handle: &Handle, future: F, caller: Caller) -> Caught<F::Output> {
    if const { boxed::<F>() } {
        catch(|| {
            let _local = LOCAL_TASKS.try_with(LocalSet::enter);
            poll_entered(
                &GLOBAL,
                handle,
                Box::pin(future),
                caller,
                finish_local_at::<_, true>,
            )
        })
    } else {
        catch(|| {
            let _local = LOCAL_TASKS.try_with(LocalSet::enter);
            poll_entered(&GLOBAL, handle, future, caller, finish_local_at::<_, true>)
        })
    }
}

/// The fast path of a call through a [`Scope`](crate::Scope) whose closure is inside the
/// shared runtime's context already: `execute`'s `poll_first` without the handle's load and
/// `Handle::enter`. A future still pending goes to `finish` only where the shared runtime
/// is still the entered one ([`finish_in_scope`]).
#[inline(always)]
fn poll_entered<F: Future>(
    global: &Global,
    handle: &Handle,
    future: F,
    caller: Caller,
    finish: impl FnOnce(&Global, &Handle, Slot<'_, F>, Caller, Here) -> Result<F::Output, Error>,
) -> Result<F::Output, Error> {
    let mut pinned = pin!(Some(future));
    let Some(future) = pinned.as_mut().as_pin_mut() else {
        unreachable!("globalrt: the future was just pinned")
    };
    if let Poll::Ready(output) = future.poll(&mut Context::from_waker(Waker::noop())) {
        return Ok(output);
    }
    finish_in_scope(global, handle, pinned, caller, finish)
}

/// A scope's call whose first poll was pending: `finish` as `execute` would, unless code
/// in the scope's closure has entered another runtime's context since (`Runtime::block_on`,
/// `Runtime::enter`, `Handle::enter`). The first poll ran there, with what it created
/// bound to that runtime, and the thread may drive that runtime: the call is refused, the
/// future dropped inside the shared runtime's context.
#[cold]
#[inline(never)]
fn finish_in_scope<F: Future>(
    global: &Global,
    handle: &Handle,
    mut slot: Slot<'_, F>,
    caller: Caller,
    finish: impl FnOnce(&Global, &Handle, Slot<'_, F>, Caller, Here) -> Result<F::Output, Error>,
) -> Result<F::Output, Error> {
    // The one clone of the shared handle a scope's call makes, on this path only: tokio
    // has no cheaper way to ask which runtime's context is current.
    if let Ok(current) = Handle::try_current() {
        if current.id() == handle.id() {
            let here = context::inside(&current, shared(global, handle));
            return finish(global, handle, slot, caller, here);
        }
    }
    let _context = handle.enter();
    slot.set(None);
    Err(Error::new(
        ErrorKind::UnsupportedContext,
        "globalrt: a call through a scope's token was still pending after its first poll \
         inside another runtime's context, entered in the scope's closure (Runtime::block_on, \
         Runtime::enter, Handle::enter); the future was dropped: call globalrt::execute \
         there, or use the token outside that context",
    ))
}
