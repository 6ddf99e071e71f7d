//! Where the calling thread is, as far as tokio is concerned, and the ways to block there:
//! the one place that decides between parking, `block_in_place` and a helper thread, for
//! `execute`'s slow path and for `shutdown` alike.
//!
//! tokio has no public query for the scheduler a thread drives. What it does expose, and
//! what this module reads, all on the slow path only:
//! - `Handle::try_current()`: the runtime whose context is *entered* (not necessarily the
//!   one the thread drives: globalrt enters the shared runtime's for a first poll, and so
//!   can user code), or that tokio's thread-locals are gone;
//! - a `yield_now` poll: a thread whose scheduler defers wake-ups (a multi-thread worker
//!   holding its core, the thread driving a current_thread runtime) does not wake the
//!   waker at once;
//! - `tokio::runtime::worker_index()`: a multi-thread runtime numbers its workers from 0, a
//!   current_thread runtime's driver is always 0;
//! - `tokio::task::try_id()`: a current_thread runtime's `block_on` body is not a task, a
//!   multi-thread worker only ever polls tasks.

use std::cell::Cell;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, RuntimeFlavor};

use crate::error::{Error, ErrorKind};

/// Where a call that must block finds itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Here {
    /// No tokio context: a plain thread, or one whose tokio thread-locals are gone (a
    /// thread-local destructor that runs after tokio's own, an `atexit` handler; see
    /// [`is_gone`]). Nothing else runs here that blocking could stall.
    Outside,
    /// Inside a runtime's context, on a thread whose scheduler does not defer wake-ups (a
    /// multi-thread `block_on` thread, a `LocalSet` there, `spawn_blocking`, a worker inside
    /// `block_in_place`, after `Runtime::enter`): blocking it stalls nobody else.
    NoDeferral,
    /// A multi-thread runtime's worker that holds its core: `block_in_place` first.
    Worker,
    /// The thread that drives a current_thread runtime: it must not block on anything that
    /// runtime would have to do, so the waiting moves to a helper thread.
    Driver,
}

/// The shared runtime, as [`here`] needs to know it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shared<'a> {
    /// The shared runtime's handle, if it is running.
    pub(crate) handle: Option<&'a Handle>,
    /// Whether it is an application's runtime adopted by `init_with_handle`.
    pub(crate) adopted: bool,
}

/// Where the calling thread is; see [`Here`]. `shared` is asked for only inside a
/// runtime, so a plain thread pays for nothing beyond `Handle::try_current`.
#[inline]
pub(crate) fn here<'a>(shared: impl FnOnce() -> Shared<'a>) -> Here {
    match Handle::try_current() {
        Ok(entered) => inside(&entered, shared()),
        Err(_) => Here::Outside,
    }
}

/// [`here`] inside the context of `entered`.
///
/// A thread without a scheduler of its own (`worker_index` is `None`: a plain thread that
/// entered a handle, `spawn_blocking`, a multi-thread `block_on` body) wakes every
/// wake-up at once, as the probe would find at a higher cost.
#[inline(never)]
pub(crate) fn inside(entered: &Handle, shared: Shared<'_>) -> Here {
    if tokio::runtime::worker_index().is_none() || !defers_wake_ups() {
        Here::NoDeferral
    } else if deferring_thread_is_worker(entered, shared) {
        Here::Worker
    } else {
        Here::Driver
    }
}

/// Whether this thread's tokio context is gone: a thread-local destructor that runs after
/// tokio's own, or an `atexit` handler (glibc destroys the main thread's thread-locals
/// before it runs them). `Handle::enter` panics there.
pub(crate) fn is_gone() -> bool {
    matches!(Handle::try_current(), Err(err) if err.is_thread_local_destroyed())
}

/// For a thread whose scheduler defers wake-ups: whether it is a multi-thread worker (else
/// it drives a current_thread runtime). `block_in_place` panics on the latter, so this
/// answers `true` only where the signals tokio exposes allow it.
fn deferring_thread_is_worker(entered: &Handle, shared: Shared<'_>) -> bool {
    match tokio::runtime::worker_index() {
        // Only a multi-thread runtime numbers a worker past 0.
        Some(index) if index > 0 => return true,
        Some(_) => {}
        None => return false,
    }
    // A multi-thread worker only polls tasks; a current_thread runtime's `block_on` body
    // (`#[tokio::test]`'s) is not one.
    if tokio::task::try_id().is_none() {
        return false;
    }
    // globalrt enters the shared runtime's handle itself for a first poll (so a call nested
    // in another's first poll sees it), and users may enter it: there, the entered handle
    // says nothing of the scheduler this thread drives. A runtime globalrt built marks its
    // own threads; an adopted one cannot be marked, and is taken for what it mostly is
    // there, its own worker.
    if let Some(shared_handle) = shared.handle {
        if shared_handle.id() == entered.id() {
            return shared.adopted || on_shared_runtime_thread();
        }
    }
    entered.runtime_flavor() == RuntimeFlavor::MultiThread
}

std::thread_local! {
    /// Set on the threads of the runtimes globalrt builds (by their `on_thread_start`).
    static SHARED_RUNTIME_THREAD: Cell<bool> = const { Cell::new(false) };
    /// Set by the probe's waker when it is woken on this thread (see [`defers_wake_ups`]).
    static PROBE_WOKEN_HERE: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as one of a runtime globalrt built; `on_thread_start` calls it.
pub(crate) fn mark_shared_runtime_thread() {
    let _ = SHARED_RUNTIME_THREAD.try_with(|marked| marked.set(true));
}

/// Whether the calling thread belongs to a runtime globalrt built.
pub(crate) fn on_shared_runtime_thread() -> bool {
    SHARED_RUNTIME_THREAD.try_with(Cell::get).unwrap_or(false)
}

/// The probe's waker: records a wake-up in a flag of the thread that wakes it, so a
/// wake-up from any other thread (a deferred probe woken later, on another thread) never
/// reaches the flag a probe reads.
struct Probe;

impl Wake for Probe {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let _ = PROBE_WOKEN_HERE.try_with(|woken| woken.set(true));
    }
}

/// The probe's one waker, made once per process. The `Arc` is kept beside it: the waker
/// points past the `Arc`'s counts, and a block nothing points at the start of would look
/// lost to a leak checker.
fn probe_waker() -> &'static Waker {
    static PROBE: OnceLock<(Arc<Probe>, Waker)> = OnceLock::new();
    &PROBE
        .get_or_init(|| {
            let probe = Arc::new(Probe);
            (Arc::clone(&probe), Waker::from(probe))
        })
        .1
}

/// Whether this thread is driving a tokio scheduler that defers wake-ups: a multi-thread
/// worker holding its core, or a current_thread runtime's driver.
///
/// A `yield_now` poll shows it: such a thread defers the wake-up to its scheduler, every
/// other thread wakes at once, on this thread, during the poll. The probe has a waker of
/// its own that records only wake-ups made on the thread that reads it, and the flag is
/// cleared right before the poll: no waker an earlier call handed out, and no deferred
/// probe woken later, can change the answer.
fn defers_wake_ups() -> bool {
    let _ = PROBE_WOKEN_HERE.try_with(|woken| woken.set(false));
    let mut probe = pin!(tokio::task::yield_now());
    let polled = probe.as_mut().poll(&mut Context::from_waker(probe_waker()));
    debug_assert!(polled.is_pending(), "a first yield_now poll is pending");
    !PROBE_WOKEN_HERE
        .try_with(|woken| woken.replace(false))
        .unwrap_or(true)
}

/// How long a call waits for its helper thread, from the thread that drives a
/// current_thread runtime, before it says once why it may never finish.
const LONG_WAIT: Duration = Duration::from_secs(5);

/// Runs `job` on a scoped helper thread, which has no tokio context of its own, and waits
/// for it. With `watch`, a wait longer than [`LONG_WAIT`] prints one diagnostic per
/// process (see [`warn_long_wait`]). A panic in `job` comes back as the join's `Err`.
///
/// # Errors
///
/// [`ErrorKind::Build`] when the OS refuses the thread.
pub(crate) fn on_helper_thread<T: Send>(
    job: impl FnOnce() -> T + Send,
    watch: bool,
) -> Result<thread::Result<T>, Error> {
    let done = AtomicBool::new(false);
    thread::scope(|scope| {
        let waiting = thread::current();
        let done = &done;
        let helper = thread::Builder::new()
            .name("globalrt-scoped".to_owned())
            .spawn_scoped(scope, move || {
                let _unpark = DoneOnDrop { done, waiting };
                job()
            })
            .map_err(|err| {
                Error::with_source(
                    ErrorKind::Build,
                    format!(
                        "globalrt: the operating system refused a helper thread ({err}), \
                         which this call needs to wait without blocking a runtime; free \
                         some threads or raise the process's thread limit"
                    ),
                    err,
                )
            })?;
        if watch {
            let started = Instant::now();
            while !done.load(Ordering::Acquire) {
                let waited = started.elapsed();
                if waited >= LONG_WAIT {
                    warn_long_wait();
                    break;
                }
                thread::park_timeout(LONG_WAIT - waited);
            }
        }
        Ok(helper.join())
    })
}

/// Tells the waiting thread that the helper's job has ended, by return or by panic.
struct DoneOnDrop<'a> {
    done: &'a AtomicBool,
    waiting: thread::Thread,
}

impl Drop for DoneOnDrop<'_> {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
        self.waiting.unpark();
    }
}

/// Says once per process why a call from a current_thread runtime's driver may never
/// finish: a tokio resource created outside the future belongs to the blocked runtime.
#[cold]
fn warn_long_wait() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if WARNED.swap(true, Ordering::Relaxed) {
        return;
    }
    let message = format!(
        "globalrt: a call made on the thread that drives a current_thread runtime \
         (#[tokio::test], flavor = \"current_thread\") has waited {LONG_WAIT:?} for its \
         future on a helper thread; if the future uses a tokio resource created outside \
         it, as in execute(tokio::time::sleep(d)) rather than execute(async {{ \
         tokio::time::sleep(d).await }}), that resource belongs to the blocked \
         current_thread runtime and never completes: create it inside the future"
    );
    // With the `tracing` feature and a subscriber that wants it: a WARN event; else stderr.
    #[cfg(feature = "tracing")]
    if tracing::enabled!(target: "globalrt", tracing::Level::WARN) {
        tracing::warn!(target: "globalrt", "{message}");
        return;
    }
    use std::io::Write as _;
    // Not `eprintln!`, which panics when stderr is closed.
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// Runs `job`, which blocks, where blocking is allowed: here on a plain thread or where
/// tokio's context is gone ([`Here::Outside`]), on a helper thread anywhere inside a runtime (after handing a
/// worker's core on with `block_in_place`), since dropping or waiting for a runtime panics
/// inside an async context. A panic in `job` is resumed in the caller.
///
/// # Errors
///
/// [`ErrorKind::Build`] when the OS refuses the helper thread.
pub(crate) fn run_blocking<T: Send>(
    shared: Shared<'_>,
    job: impl FnOnce() -> T + Send,
) -> Result<T, Error> {
    let joined = match here(|| shared) {
        Here::Outside => return Ok(job()),
        Here::Worker => tokio::task::block_in_place(|| on_helper_thread(job, false))?,
        Here::NoDeferral | Here::Driver => on_helper_thread(job, false)?,
    };
    Ok(joined.unwrap_or_else(|payload| std::panic::resume_unwind(payload)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOT_SHARED: Shared<'static> = Shared {
        handle: None,
        adopted: false,
    };

    fn current_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    fn multi_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
    }

    #[test]
    fn a_plain_thread_is_outside() {
        assert_eq!(here(|| NOT_SHARED), Here::Outside);
    }

    #[test]
    fn a_current_thread_block_on_body_is_its_driver() {
        assert_eq!(
            current_thread().block_on(async { here(|| NOT_SHARED) }),
            Here::Driver
        );
    }

    #[test]
    fn a_current_thread_task_is_its_driver() {
        let rt = current_thread();
        let seen = rt.block_on(async { tokio::spawn(async { here(|| NOT_SHARED) }).await });
        assert_eq!(seen.unwrap(), Here::Driver);
    }

    /// The nested case: a current_thread driver that has entered a multi-thread handle
    /// (as globalrt does for a first poll) is still the driver.
    #[test]
    fn a_driver_that_entered_a_multi_thread_handle_is_still_the_driver() {
        let mt = multi_thread();
        let seen = current_thread().block_on(async {
            let _entered = mt.handle().enter();
            here(|| Shared {
                handle: Some(mt.handle()),
                adopted: false,
            })
        });
        assert_eq!(seen, Here::Driver);
    }

    #[test]
    fn a_multi_thread_task_is_a_worker_and_its_block_on_body_is_not() {
        let rt = multi_thread();
        let (body, task) = rt.block_on(async {
            let task = tokio::spawn(async { here(|| NOT_SHARED) }).await.unwrap();
            (here(|| NOT_SHARED), task)
        });
        assert_eq!(body, Here::NoDeferral);
        assert_eq!(task, Here::Worker);
    }

    #[test]
    fn inside_block_in_place_and_spawn_blocking_nothing_defers() {
        let rt = multi_thread();
        let (in_place, blocking) = rt.block_on(async {
            let in_place =
                tokio::spawn(async { tokio::task::block_in_place(|| here(|| NOT_SHARED)) })
                    .await
                    .unwrap();
            let blocking = tokio::task::spawn_blocking(|| here(|| NOT_SHARED))
                .await
                .unwrap();
            (in_place, blocking)
        });
        assert_eq!(in_place, Here::NoDeferral);
        assert_eq!(blocking, Here::NoDeferral);
    }

    /// A waker the probe handed out earlier, woken from another thread during a later
    /// probe, must not make a deferring thread look like one that wakes at once.
    #[test]
    fn a_probe_ignores_wake_ups_from_other_threads() {
        let rt = current_thread();
        rt.block_on(async {
            assert!(defers_wake_ups());
            let waker = probe_waker().clone();
            let waking = std::thread::spawn(move || {
                for _ in 0..10_000 {
                    waker.wake_by_ref();
                }
            });
            for _ in 0..1_000 {
                assert!(
                    defers_wake_ups(),
                    "a wake-up from another thread was counted"
                );
            }
            waking.join().unwrap();
        });
    }

    #[test]
    fn run_blocking_runs_here_outside_and_on_a_helper_inside() {
        let caller = thread::current().id();
        let ran_on = run_blocking(NOT_SHARED, || thread::current().id()).unwrap();
        assert_eq!(ran_on, caller);
        let (caller, ran_on) = current_thread().block_on(async {
            let caller = thread::current().id();
            (
                caller,
                run_blocking(NOT_SHARED, || thread::current().id()).unwrap(),
            )
        });
        assert_ne!(ran_on, caller, "ran on the current_thread runtime's driver");
    }

    #[test]
    fn a_helper_threads_panic_comes_back_as_the_join_error() {
        let joined = on_helper_thread(|| panic!("helper boom"), false).unwrap();
        let payload = joined.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"helper boom"));
    }
}
