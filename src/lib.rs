//! One shared tokio runtime for synchronous code that must run async code.
//!
//! A CLI's command handlers are synchronous, but the libraries they call are async.
//! The naive bridge builds a runtime per call (`Runtime::new()` + `block_on` + drop),
//! which spawns a worker per CPU and tears them down every time.
//! globalrt builds one multi-thread runtime lazily and runs every future on it:
//!
//! ```
//! fn handle_status_command() -> String {
//!     globalrt::execute(async {
//!         tokio::time::sleep(std::time::Duration::from_millis(1)).await;
//!         "ok".to_owned()
//!     })
//! }
//! assert_eq!(handle_status_command(), "ok");
//! ```
//!
//! # API
//!
//! - [`execute`] runs a future to completion and returns its output; [`try_execute`]
//!   returns an [`Error`] instead of panicking; [`try_execute_timeout`] also gives up
//!   (dropping the future) after a deadline, with [`ErrorKind::TimedOut`].
//! - [`execute_local`] and [`try_execute_local`] do the same for a `!Send` future (an
//!   `Rc`, a `RefCell` borrow or a `MutexGuard` held across `.await`), in every context
//!   below except the thread that drives a current_thread runtime, where they refuse a
//!   pending future with [`ErrorKind::UnsupportedContext`].
//! - [`scope`] runs a closure with a [`Scope`] token whose calls (`execute` and the rest)
//!   cost only the poll on a thread outside every runtime: the scope enters the shared
//!   runtime once instead of once per call, so the per-call cost stays the same however
//!   many threads call. Anywhere else its calls are the functions above.
//! - [`spawn`] starts a background task; [`handle`] gives the runtime's `Handle`.
//! - [`init`] configures the runtime before first use with a [`Config`];
//!   [`WORKER_THREADS_ENV`] overrides the worker count. [`init_with_handle`] makes an
//!   application's own multi-thread runtime the shared one instead.
//! - [`shutdown`] waits for spawned tasks, then stops the runtime, at the end of `main`;
//!   [`shutdown_guard`] does it when `main` returns, and reports tasks it had to cancel.
//! - With the `tracing` cargo feature (off by default), every call that was pending at
//!   its first poll emits one DEBUG event, target `globalrt`: the strategy (`park`,
//!   `block_in_place`, `helper thread`), the caller's `file:line` and the time it waited.
//!   The ready path is the same instructions with or without it.
//!
//! # Calling contexts
//!
//! `execute` works wherever synchronous code can call it, and never blocks a runtime's
//! only thread. It first polls the future once on the calling thread, inside the shared
//! runtime's context (`Handle::enter`) with a no-op waker. A future that is ready at that
//! poll returns at once: no waker, no allocation, no thread switch. Resources the future
//! touches in that poll (timers, `tokio::spawn`, I/O) belong to the shared runtime.
//! A future that is still pending is driven to completion according to what the calling
//! thread drives:
//!
//! | calling context | strategy when pending | extra cost over a plain `block_on` |
//! |---|---|---|
//! | plain thread, `spawn_blocking`, after `Runtime::enter` (of either flavour) | park the calling thread until woken | the first no-op poll |
//! | multi-thread runtime worker: a task, `#[tokio::main]`'s spawned tasks | `tokio::task::block_in_place`, then park | one `yield_now` poll to recognise the worker; its queue is handed to another thread |
//! | multi-thread runtime, other threads: the `#[tokio::main]` body (`Runtime::block_on`, `Handle::block_on`), a `LocalSet` there (`run_until`, `spawn_local`), a worker inside `block_in_place` | park the calling thread, outside the caller's coop budget | one `yield_now` poll to tell it from a worker |
//! | the thread that drives a current_thread runtime: `#[tokio::test]`, `flavor = "current_thread"`, a `LocalSet` there, its tasks | drive it on a scoped helper thread | one thread spawn and join |
//! | nested inside another `execute`; a `Drop` run while a runtime shuts down; `Handle::block_on` inside `block_in_place` | as for the thread it runs on | none beyond the above |
//! | a thread-local destructor that runs after tokio's own (thread exit), an `atexit` handler | drive it on a scoped helper thread, which also builds the shared runtime if this is the process's first call (tokio's context is gone on this thread) | tokio's panic in `Handle::enter`, caught (its panic hook message is printed; a `panic = "abort"` build checks first instead), then one thread spawn and join |
//! | a forked child (`fork` after globalrt was used: daemonizing, `multiprocessing`'s fork start method) | as for the thread it runs on, on a runtime built for the child | the first call builds the child's runtime; every later call takes a lock before the fast path |
//!
//! tokio has no public query for the scheduler a thread drives, so `execute` reads what
//! tokio does expose, on the slow path only: the entered handle (`Handle::try_current`),
//! whether a `yield_now` wake-up is deferred (a worker that holds its core, or a
//! current_thread driver), the worker's index and whether a task is running. A call
//! nested inside another call's first poll sees the shared runtime's handle entered,
//! whatever the thread drives; there, and where user code has entered another runtime's
//! handle, one case stays ambiguous: worker 0 of a multi-thread runtime, inside a task,
//! looks like a current_thread runtime's task. `execute` then takes the side that cannot
//! panic (the helper thread, with the worker's core kept) unless the entered handle is the
//! shared runtime and the thread is one of that runtime's own (or it is an adopted
//! runtime, whose worker it is taken to be).
//!
//! [`execute_local`] uses the same strategies, except on the thread that drives a
//! current_thread runtime (`#[tokio::test]`, its `LocalSet`): there a future still pending
//! after its first poll fails with [`ErrorKind::UnsupportedContext`], since a `!Send`
//! future cannot move to a helper thread and blocking that thread would never finish. Its
//! future runs inside a `LocalSet` each thread keeps for it, so
//! [`tokio::task::spawn_local`] in the future spawns there and the call drives those
//! tasks while it waits.
//!
//! The future sees the caller's `tokio::task_local!` values where it runs on the calling
//! thread; on the helper thread (under a current_thread runtime) they are not set, so
//! read them with `try_with`, or pass the values into the future.
//!
//! Create tokio resources inside the future: `execute(async { sleep(d).await })`, not
//! `execute(sleep(d))`. A resource belongs to the runtime whose context is current when
//! it is *created*, and an argument is evaluated before `execute` runs. On a plain thread
//! the second form panics with tokio's "there is no reactor running"; on the thread that
//! drives a current_thread runtime (`#[tokio::test]`) the `Sleep` belongs to that runtime,
//! which cannot run while its only thread waits for the helper, so the call never
//! finishes. globalrt cannot see where a resource was made; after 5 seconds of such a
//! wait it says so once per process on stderr (a WARN event with the `tracing` feature).
//!
//! Where tokio's own thread-locals are gone — a thread-local destructor that runs after
//! tokio's at thread exit, or an `atexit` handler (glibc destroys the exiting thread's
//! thread-locals before it runs them) — tokio's `Handle::enter` panics. globalrt catches
//! that panic before the future was polled and drives the future on a fresh helper
//! thread, which has thread-locals of its own; the panic hook has already printed
//! tokio's message by then. Checking beforehand would cost every call; a `panic =
//! "abort"` build, which cannot catch it, pays that check instead. `execute_local` cannot
//! move its `!Send` future there and returns [`ErrorKind::UnsupportedContext`].
//!
//! After `fork`, only the forking thread exists in the child: the shared runtime's workers,
//! timer and I/O threads do not, so that runtime can never finish a future there. A
//! `pthread_atfork` child handler marks the state word the fast path already reads, so
//! the child's first call builds a runtime of its own (with the parent's [`Config`]); the
//! inherited runtime is kept and never dropped, since dropping it would wait for threads
//! that do not exist. A grandchild does the same. A process that never forks pays
//! nothing. In the child, [`shutdown`] stops the child's runtime only. The fork handlers
//! also hold globalrt's three short-held locks (the count of [`spawn`]ed tasks, the record
//! of forked runtimes, the list of parked calls) across the `fork`, so no child finds one
//! held by a thread it does not have. A `JoinHandle` or [`Handle`] taken in the parent
//! belongs to the parent's runtime: awaiting or using it in the child never finishes.
//!
//! `execute` blocks its calling thread, like any synchronous call. A future that waits
//! for work only that thread would do — a task of the current_thread runtime or of the
//! `LocalSet` `execute` is called from — can never finish: that is a deadlock of the
//! caller's design, not a context `execute` can serve. Spawn such work on the shared
//! runtime ([`spawn`]) instead.
//!
//! The future runs on the calling thread (or the helper) while the shared runtime's
//! workers drive its timers and I/O, so it needs no `'static` bound and may borrow
//! from the caller. `F: Send` is required for the current_thread case alone, where the
//! future must move to the helper thread: tokio may defer wake-ups to the runtime's only
//! thread, so blocking that thread could deadlock. [`execute_local`] has no `Send` bound.
//!
//! # The future's life
//!
//! `execute` keeps what `Runtime::block_on` promises for the future. It is pinned once,
//! at the call, and never moved; a future larger than tokio's own threshold (2 KiB in a
//! debug build, 16 KiB in release) is boxed there first, as `block_on` does, so a large
//! future uses no more stack than it does through `block_on`. It is dropped on the thread
//! that polled it last, inside the shared runtime's context, however the call ends: done,
//! panicked, at [`try_execute_timeout`]'s deadline, stopped by [`shutdown`], or refused
//! by `execute_local`; a `Drop` that spawns cleanup with `tokio::spawn` works.
//!
//! # Panics and shutdown
//!
//! A panic inside the future reaches the caller with its original payload (or, through
//! [`try_execute`], as [`ErrorKind::Panicked`], whose [`Error::into_panic`] gives the
//! payload back); the shared runtime is unaffected.
//! The panics globalrt raises itself point at the caller's line: [`execute`], [`spawn`],
//! [`handle`] and [`Error::into_panic`] are `#[track_caller]`. (A panic inside the future
//! keeps its own location.)
//! After [`shutdown`], `execute` panics and `try_execute` returns [`ErrorKind::ShutDown`]:
//! a clear error, never a hang.
//!
//! Calls in flight when [`shutdown`] stops the runtime (other threads still inside
//! `execute`) do the same: a call that is waiting stops polling its future and fails with
//! [`ErrorKind::ShutDown`] at once: `shutdown` wakes every parked call itself, so a call
//! waits without any timed re-check and still never outlives shutdown; a
//! panic the runtime's teardown causes inside the future (tokio's "being shutdown", an
//! unwrapped `JoinError` of a cancelled task) is reported as [`ErrorKind::ShutDown`] too,
//! never as [`ErrorKind::Panicked`] or with tokio's message. Any other panic stays the
//! future's own, [`ErrorKind::Panicked`], even during a shutdown. A future that finishes
//! before that returns its output as usual. `shutdown` does not wait for such calls: it
//! waits for [`spawn`]ed tasks only. The same holds when the application shuts down or
//! drops a runtime adopted with [`init_with_handle`]: calls then fail with
//! [`ErrorKind::ShutDown`], whose message names that runtime.
//!
//! [`shutdown`] and [`shutdown_guard`] work from any context, the end of a
//! `#[tokio::main]` or `#[tokio::test]` body and a task included: their waiting runs on a
//! helper thread there (after `block_in_place` on a worker), since tokio forbids stopping
//! a runtime inside an async context. Called from a task started with [`spawn`], it does
//! not wait for that task (which is waiting for it), and, on a thread of the shared
//! runtime itself, stops the runtime without waiting for its threads.
//!
//! # Platforms
//!
//! globalrt runs wherever tokio's multi-thread runtime does; its CI tests Linux, macOS and
//! Windows. Only the handling of `fork` differs: it exists on Unix alone (the
//! `pthread_atfork` handlers of [Calling contexts](#calling-contexts)); elsewhere there is
//! no `fork` to handle and nothing is registered.
//!
//! # Cost
//!
//! Measured with `cargo xtask bench` (callgrind, every thread counted) on a 2-core AMD
//! EPYC, Rust 1.95.0: a ready future costs
//! <!--fig global_execute-->125<!--/fig--> instructions through `execute`, against
//! <!--fig handle_block_on-->291<!--/fig--> for `Handle::block_on` and
//! <!--fig runtime_block_on-->410<!--/fig--> for `Runtime::block_on`; a future pending at
//! its first poll costs <!--fig global_execute_yield_once-->490<!--/fig--> against
//! <!--fig runtime_block_on_yield_once-->550<!--/fig--> for `Runtime::block_on`;
//! a runtime per call costs <!--fig naive_execute-->52,328<!--/fig-->. Through a
//! [`scope`]'s token on a plain thread, the same futures cost
//! <!--fig scope_execute-->10<!--/fig--> and <!--fig scope_execute_yield_once-->369<!--/fig-->.
//! Neither path allocates: a thread keeps its parker and waker between calls. The
//! repository's `docs/measurements.md` has the commands that reproduce these figures,
//! `docs/checks.md` the last wall-clock report; `cargo xtask docs` rewrites the figures
//! above from `benches/baseline.json`.

// The library's one lint of its own: `[workspace.lints]` sets the rest, and a package that
// inherits that table cannot add to it in its manifest. Not a workspace lint, since
// `benches/support`'s public items are a contract between two of the project's own
// crates, not an API for users: each of its serde fields would need a doc line repeating
// its name.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod context;
mod error;
mod execute;
mod global;
mod lifecycle;
#[cfg(feature = "__bench")]
#[doc(hidden)]
pub mod naive;
mod parker;
mod scope;
mod timeout;
mod trace;

/// README.md's Rust blocks, run as doc tests so that every one compiles and works.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

use std::future::Future;
use std::time::Duration;

pub use config::{Config, WORKER_THREADS_ENV};
pub use error::{Error, ErrorKind};
pub use execute::{execute, execute_local, try_execute, try_execute_local};
use global::GLOBAL;
pub use lifecycle::{ShutdownGuard, shutdown_guard};
pub use scope::{Scope, scope};
pub use timeout::try_execute_timeout;
pub use tokio::runtime::Handle;
pub use tokio::task::JoinHandle;

/// Builds the shared runtime now, with `config`. Call it at most once, first thing in `main`.
///
/// Without `init`, the first [`execute`], [`spawn`] or [`handle`] builds the runtime with
/// [`Config::new`]. Either way [`WORKER_THREADS_ENV`] overrides the worker count.
///
/// # Errors
///
/// - [`ErrorKind::AlreadyInitialized`] when the runtime was already built or adopted, by an
///   earlier `init`, [`init_with_handle`] or by first use (in a forked child: by the
///   parent, or by the child's first use). The running runtime is left as it is.
/// - [`ErrorKind::InvalidConfig`] for a thread count out of range or a thread name with a
///   NUL byte ([`Config::validate`]); [`ErrorKind::InvalidEnv`] for a bad
///   [`WORKER_THREADS_ENV`] value; [`ErrorKind::Build`] when the OS refuses the threads
///   (the OS error is its [`source`](std::error::Error::source)) or
///   [`Config::on_thread_start`] panics on a worker. Nothing is built, so `init` may be
///   called again with a corrected setting.
/// - [`ErrorKind::ShutDown`] after [`shutdown`].
///
/// # Example
///
/// ```
/// use globalrt::{Config, ErrorKind};
///
/// globalrt::init(Config::new().worker_threads(2).thread_name("my-cli"))?;
/// assert_eq!(globalrt::handle().metrics().num_workers(), 2);
///
/// // A second init is refused, not a panic.
/// let err = globalrt::init(Config::new()).unwrap_err();
/// assert_eq!(err.kind(), &ErrorKind::AlreadyInitialized);
/// # Ok::<(), globalrt::Error>(())
/// ```
pub fn init(config: Config) -> Result<(), Error> {
    GLOBAL.init(config)
}

/// Makes the application's own multi-thread runtime the shared one, instead of letting
/// globalrt build a second pool beside it. Call it at most once, first thing in `main`,
/// like [`init`].
///
/// Every [`execute`], [`spawn`] and [`handle`] then uses that runtime. globalrt does not
/// own it: [`shutdown`] waits for the tasks started with [`spawn`] and ends globalrt's
/// use of the runtime (later calls fail with [`ErrorKind::ShutDown`]), but never shuts
/// the runtime itself down, and tasks still running at its timeout are left running on
/// it. Futures that use timers or I/O need the runtime built with those drivers
/// (`enable_all`). In a forked child, globalrt builds a runtime of its own instead.
///
/// # Errors
///
/// - [`ErrorKind::InvalidConfig`] for a current_thread runtime's handle (`execute`
///   blocks its caller, and blocking that runtime's only thread would deadlock it), or
///   for the handle of a runtime that has already been shut down.
/// - [`ErrorKind::AlreadyInitialized`] when a runtime was already built or adopted.
/// - [`ErrorKind::ShutDown`] after [`shutdown`].
///
/// # Example
///
/// ```
/// let app = tokio::runtime::Builder::new_multi_thread()
///     .worker_threads(2)
///     .enable_all()
///     .build()?;
/// globalrt::init_with_handle(app.handle().clone())?;
/// assert_eq!(globalrt::handle().id(), app.handle().id());
/// assert_eq!(globalrt::execute(async { 6 * 7 }), 42);
///
/// globalrt::shutdown(std::time::Duration::from_secs(1))?;
/// // The application's runtime keeps running: globalrt only stopped using it.
/// assert_eq!(app.block_on(async { tokio::spawn(async { 1 }).await })?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn init_with_handle(handle: Handle) -> Result<(), Error> {
    GLOBAL.adopt(handle)
}

/// Spawns a task on the shared runtime and returns its `JoinHandle`.
///
/// Tasks spawned here are tracked: [`shutdown`] waits for them (up to its timeout).
///
/// # Panics
///
/// If the shared runtime cannot be built or was [`shutdown`].
///
/// # Example
///
/// ```
/// let task = globalrt::spawn(async { 6 * 7 });
/// assert_eq!(globalrt::execute(task).unwrap(), 42);
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    GLOBAL.spawn(future)
}

/// The shared runtime's `Handle`, building the runtime if needed.
///
/// # Panics
///
/// If the shared runtime cannot be built or was [`shutdown`].
///
/// # Example
///
/// ```
/// let handle = globalrt::handle();
/// assert!(handle.metrics().num_workers() >= 1);
/// ```
#[must_use]
#[track_caller]
pub fn handle() -> Handle {
    match GLOBAL.handle() {
        Ok(handle) => handle.clone(),
        // A `match`, not `unwrap_or_else`: a closure would not pass the caller's location on.
        Err(err) => panic!("{err}"),
    }
}

/// Waits up to `timeout` for tasks started with [`spawn`], then stops the shared runtime.
///
/// Call it at the end of `main` so background tasks finish instead of being cut off at
/// process exit. After it returns, [`execute`] panics and [`try_execute`] returns
/// [`ErrorKind::ShutDown`]. Calling it again, or before the runtime was ever built, is `Ok`.
/// Tasks spawned directly on [`handle`] are not waited for.
///
/// A runtime adopted with [`init_with_handle`] is not stopped, only no longer used; in a
/// forked child, only the runtime built for that child is stopped.
///
/// Calls on other threads that are still inside [`execute`] or [`try_execute`] when the
/// runtime is stopped are not waited for either: they fail with [`ErrorKind::ShutDown`]
/// (through `execute`, a panic with that error's message) as soon as `shutdown` wakes
/// them, unless their future finishes first. Tasks spawned while it runs are cancelled.
///
/// # Errors
///
/// [`ErrorKind::ShutdownTimedOut`] when tracked tasks were still running at the timeout;
/// they are cancelled at their next `.await` and the runtime is stopped all the same.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::time::Duration;
///
/// let done = Arc::new(AtomicBool::new(false));
/// let flag = Arc::clone(&done);
/// globalrt::spawn(async move {
///     tokio::time::sleep(Duration::from_millis(5)).await;
///     flag.store(true, Ordering::SeqCst); // not reached if the task is cancelled
/// });
/// globalrt::shutdown(Duration::from_secs(5))?;
/// assert!(done.load(Ordering::SeqCst), "shutdown waited for the task to finish");
/// assert!(globalrt::try_execute(async {}).is_err());
/// # Ok::<(), globalrt::Error>(())
/// ```
pub fn shutdown(timeout: Duration) -> Result<(), Error> {
    GLOBAL.shutdown(timeout)
}

/// Whether [`shutdown`] has been called.
///
/// ```
/// assert!(!globalrt::is_shut_down());
/// ```
#[must_use]
pub fn is_shut_down() -> bool {
    GLOBAL.is_shut_down()
}
