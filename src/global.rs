//! The process-wide state behind the free functions: the runtime, its handle,
//! the state word and the count of tasks spawned through [`crate::spawn`].
//!
//! The state's logic is methods on [`Global`], all in this file (`fork.rs`, a child
//! module, holds the fork handlers and a forked child's record); the public API uses the
//! one `static GLOBAL`, and `execute.rs` reads it through [`Global::handle`].
//! Behaviour that depends on this state being fresh (init, the environment variable,
//! shutdown, fork, adoption) is tested in child processes by `tests/it/process.rs` and
//! `tests/it/lifecycle.rs`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, Runtime, RuntimeFlavor};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::context::{self, Shared};
use crate::error::{Error, ErrorKind};
use crate::parker::{ParkedCallers, Parker};
use fork::{Forked, watch_forks};

mod fork;

pub(crate) static GLOBAL: Global = Global::new();

/// [`Global::state`] when the handle, once set, may be used: the only value the fast path accepts.
const RUNNING: u8 = 0;
/// [`Global::state`] bit: `shutdown` has begun. Never cleared.
const SHUT_DOWN: u8 = 1;
/// [`Global::state`] bit: this process is a `fork` of one that had started using globalrt,
/// so `handle` belongs to a runtime whose threads do not exist here. Set by the child
/// handler [`watch_forks`] registers; never cleared.
const FORKED: u8 = 2;

pub(crate) struct Global {
    /// Set once, when the runtime is built or adopted; read without a lock on every call.
    handle: OnceLock<Handle>,
    /// [`RUNNING`], or the bits [`SHUT_DOWN`] and [`FORKED`]. The fast path loads it once
    /// and accepts only `RUNNING`, so neither a shutdown nor a fork costs it anything.
    state: AtomicU8,
    /// How many times this process or its ancestors forked since globalrt was first used:
    /// a forked child's runtime belongs to the process that counted the same.
    forks: AtomicUsize,
    /// The runtime itself, taken out by `shutdown`. Also serialises building. `None` for a
    /// runtime adopted by `init_with_handle`, which globalrt does not own.
    runtime: Mutex<Option<Runtime>>,
    /// Whether `handle` is a runtime's that `init_with_handle` adopted (so `runtime` is `None`).
    adopted: AtomicBool,
    /// In a forked child: the runtime built for this process, and what it inherited.
    forked: Mutex<Forked>,
    /// Tasks spawned through `spawn` that have not finished or been dropped.
    tasks: Mutex<usize>,
    tasks_idle: Condvar,
    /// The `execute` calls parked right now; `shutdown` wakes them.
    parked: ParkedCallers,
}

impl Global {
    const fn new() -> Self {
        Global {
            handle: OnceLock::new(),
            state: AtomicU8::new(RUNNING),
            forks: AtomicUsize::new(0),
            runtime: Mutex::new(None),
            adopted: AtomicBool::new(false),
            forked: Mutex::new(Forked::new()),
            tasks: Mutex::new(0),
            tasks_idle: Condvar::new(),
            parked: ParkedCallers::new(),
        }
    }

    /// The handle when the runtime is built and running in this process: one atomic load each.
    #[inline(always)]
    fn running_handle(&self) -> Option<&Handle> {
        let handle = self.handle.get()?;
        self.is_running().then_some(handle)
    }

    /// Whether the runtime, once built, runs in this process: neither shut down nor
    /// forked. One relaxed load: what [`Global::running_handle`] and every call through a
    /// [`Scope`](crate::Scope) check.
    #[inline(always)]
    pub(crate) fn is_running(&self) -> bool {
        self.state.load(Ordering::Relaxed) == RUNNING
    }

    /// The running runtime's handle, building the runtime with the default [`Config`] on
    /// first use; the one way every entry point gets it.
    #[inline(always)]
    pub(crate) fn handle(&self) -> Result<&Handle, Error> {
        match self.running_handle() {
            Some(handle) => Ok(handle),
            None => self.handle_or_build(),
        }
    }

    /// [`Global::handle`]'s slow path: takes the lock, then builds unless built meanwhile.
    #[cold]
    #[inline(never)]
    fn handle_or_build(&self) -> Result<&Handle, Error> {
        watch_forks();
        if self.is_forked() {
            return self.forked_handle(None);
        }
        let mut runtime = lock(&self.runtime);
        if self.is_shut_down() {
            return Err(shut_down_error());
        }
        if let Some(handle) = self.handle.get() {
            return Ok(handle);
        }
        let config = Config::new();
        // Before the build: a fork during it gives the child this configuration.
        lock(&self.forked).remember(config.clone());
        let built = build_where_possible(&config)?;
        let handle = built.handle().clone();
        Ok(self.install(&mut runtime, Some(built), handle, config))
    }

    /// Records the runtime (`None` for an adopted one) and its handle, and keeps `config`
    /// so that a forked child builds the same.
    fn install(
        &self,
        slot: &mut MutexGuard<'_, Option<Runtime>>,
        runtime: Option<Runtime>,
        handle: Handle,
        config: Config,
    ) -> &Handle {
        self.adopted.store(runtime.is_none(), Ordering::Relaxed);
        **slot = runtime;
        lock(&self.forked).remember(config);
        // Only ever set while `slot` is locked and the handle is unset, so this cannot fail.
        let _ = self.handle.set(handle);
        self.handle.get().expect("handle was just set")
    }

    pub(crate) fn init(&self, config: Config) -> Result<(), Error> {
        config.validate()?;
        self.initialize(config, None)
    }

    /// Makes `handle` the shared runtime's; see [`crate::init_with_handle`].
    pub(crate) fn adopt(&self, handle: Handle) -> Result<(), Error> {
        if handle.runtime_flavor() != RuntimeFlavor::MultiThread {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "globalrt: init_with_handle needs a multi-thread runtime's handle; a \
                 current_thread runtime has one thread, which execute would block (a \
                 deadlock), so pass the handle of a Builder::new_multi_thread runtime or let \
                 globalrt build its own",
            ));
        }
        if is_closed(&handle) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "globalrt: init_with_handle was given the handle of a runtime that has been \
                 shut down (or dropped), which can run no future; pass the handle of a \
                 running runtime, or let globalrt build its own",
            ));
        }
        self.initialize(Config::new(), Some(handle))
    }

    /// `init` and `adopt`: builds a runtime with `config`, or adopts `adopted`.
    fn initialize(&self, config: Config, adopted: Option<Handle>) -> Result<(), Error> {
        watch_forks();
        if self.is_forked() {
            return self.forked_init(config, adopted.is_some());
        }
        let mut runtime = lock(&self.runtime);
        self.check_uninitialized()?;
        let (handle, built) = match adopted {
            Some(handle) => (handle, None),
            None => {
                // Before the build: a fork during it gives the child this configuration.
                lock(&self.forked).remember(config.clone());
                let built = build_where_possible(&config)?;
                (built.handle().clone(), Some(built))
            }
        };
        self.install(&mut runtime, built, handle, config);
        Ok(())
    }

    /// `init`'s refusals: after `shutdown`, or once a runtime was built or adopted.
    fn check_uninitialized(&self) -> Result<(), Error> {
        if self.is_shut_down() {
            return Err(shut_down_error());
        }
        if self.handle.get().is_some() {
            return Err(already_initialized());
        }
        Ok(())
    }

    /// A forked child's handle: the runtime built for this process, built now (with the
    /// configuration the first runtime was built with, or `config`) if there is none yet.
    ///
    /// The inherited runtime is never touched: its workers, timer and I/O threads do not
    /// exist here, and dropping it would wait for them. Nor is `runtime`'s lock taken: a
    /// thread that held it at the fork does not exist here either.
    #[cold]
    fn forked_handle(&self, config: Option<Config>) -> Result<&Handle, Error> {
        let mut forked = lock(&self.forked);
        if self.is_shut_down() {
            return Err(shut_down_error());
        }
        let generation = self.forks.load(Ordering::Acquire);
        if let Some(handle) = forked.current(generation) {
            return Ok(handle);
        }
        let runtime = build_where_possible(&forked.config_for_child(config))?;
        // The tasks counted so far run in the parent, not here.
        *lock(&self.tasks) = 0;
        Ok(forked.install(generation, runtime))
    }

    /// `init` in a forked child: builds this process's runtime with `config` unless the
    /// parent had already built one (whose configuration the child then reuses).
    fn forked_init(&self, config: Config, adopting: bool) -> Result<(), Error> {
        if adopting {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "globalrt: init_with_handle was called in a forked child of a process that \
                 had used globalrt; the child builds its own runtime on first use",
            ));
        }
        let built_before = self.handle.get().is_some()
            || lock(&self.forked)
                .current(self.forks.load(Ordering::Acquire))
                .is_some();
        if built_before {
            return Err(already_initialized());
        }
        self.forked_handle(Some(config)).map(drop)
    }

    /// Whether the shared runtime is an application's, adopted by `init_with_handle`.
    pub(crate) fn is_adopted(&self) -> bool {
        !self.is_forked() && self.adopted.load(Ordering::Relaxed)
    }

    /// Whether the shared runtime has been shut down, by whoever owns it: for a runtime
    /// adopted by `init_with_handle`, its application. Spawns a blocking task on it, so
    /// only for a path that is failing already.
    #[cold]
    pub(crate) fn runtime_is_closed(&self) -> bool {
        self.handle.get().is_some_and(is_closed)
    }

    fn is_forked(&self) -> bool {
        self.state.load(Ordering::Acquire) & FORKED != 0
    }

    #[track_caller]
    pub(crate) fn spawn<F>(&'static self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = match self.handle() {
            Ok(handle) => handle,
            // A `match`, not `unwrap_or_else`: a closure would not pass the caller's location on.
            Err(err) => panic!("{err}"),
        };
        let guard = self.task_started();
        handle.spawn(async move {
            let _guard = guard;
            let mut future = std::pin::pin!(future);
            std::future::poll_fn(|cx| {
                let _polling = TrackedPoll::begin();
                future.as_mut().poll(cx)
            })
            .await
        })
    }

    fn task_started(&'static self) -> TaskGuard {
        *lock(&self.tasks) += 1;
        TaskGuard { global: self }
    }

    /// Waits until no more than `own` tracked tasks are left (the caller's own) or
    /// `deadline` passes (`None`: a timeout too long for an `Instant`, so no deadline);
    /// returns how many are left.
    fn wait_for_tasks(&self, deadline: Option<Instant>, own: usize) -> usize {
        let mut count = lock(&self.tasks);
        while *count > own {
            count = match deadline {
                None => self
                    .tasks_idle
                    .wait(count)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    self.tasks_idle
                        .wait_timeout(count, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        *count
    }

    /// See [`crate::shutdown`]. Its waiting and the runtime's teardown block, so they run
    /// where blocking is allowed (`context::run_blocking`): on this thread outside any
    /// runtime, else on a helper thread (after `block_in_place` on a worker).
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        // The calling task, if it is one `spawn` tracks, is not waited for: it is waiting.
        let own_task = usize::from(TrackedPoll::is_polling());
        // On a thread of the shared runtime itself, its teardown cannot wait for its
        // threads, this one among them.
        let on_runtime_thread = context::on_shared_runtime_thread();
        let shared = Shared {
            handle: self.handle.get(),
            adopted: self.is_adopted(),
        };
        context::run_blocking(shared, || {
            self.stop_after_tasks(timeout, own_task, on_runtime_thread)
        })?
    }

    /// [`Global::shutdown`]'s blocking part: waits up to `timeout` for the tracked tasks
    /// other than the caller's own (`own_task`), then stops the runtime.
    fn stop_after_tasks(
        &self,
        timeout: Duration,
        own_task: usize,
        on_runtime_thread: bool,
    ) -> Result<(), Error> {
        // `None` where `timeout` is too long for an `Instant` (`Duration::MAX`): no deadline.
        let deadline = Instant::now().checked_add(timeout);
        if self.in_use() && !self.is_shut_down() {
            let unfinished = self
                .wait_for_tasks(deadline, own_task)
                .saturating_sub(own_task);
            // An adopted runtime (`init_with_handle`) is not globalrt's to stop: only
            // globalrt's use of it ends here.
            let adopted = self.is_adopted();
            let runtime = self.stop();
            self.parked.wake_all();
            if let Some(runtime) = runtime {
                if on_runtime_thread {
                    runtime.shutdown_background();
                } else {
                    let left = deadline.map_or(Duration::MAX, |d| {
                        d.saturating_duration_since(Instant::now())
                    });
                    runtime.shutdown_timeout(left);
                }
            }
            if unfinished > 0 {
                return Err(shutdown_timed_out(unfinished, timeout, adopted));
            }
        } else {
            let runtime = self.stop();
            // A first call may have built the runtime since `in_use` looked, and parked.
            self.parked.wake_all();
            if let Some(runtime) = runtime {
                runtime.shutdown_background();
            }
        }
        Ok(())
    }

    /// Whether this process has a runtime to shut down: built or adopted here, or, in a
    /// forked child, built for this process.
    fn in_use(&self) -> bool {
        if self.is_forked() {
            let generation = self.forks.load(Ordering::Acquire);
            lock(&self.forked).current(generation).is_some()
        } else {
            self.handle.get().is_some()
        }
    }

    /// Parks the calling thread, which owns `parker`, until it is notified or `shutdown`
    /// has begun (which wakes every parked caller).
    pub(crate) fn park(&self, parker: &std::sync::Arc<Parker>) {
        self.parked.park(parker, || self.is_shut_down());
    }

    /// Sets [`SHUT_DOWN`] under the lock that serialises building and takes out this
    /// process's own runtime, if it has one: in a forked child, the one built for it.
    fn stop(&self) -> Option<Runtime> {
        if self.is_forked() {
            let mut forked = lock(&self.forked);
            self.state.fetch_or(SHUT_DOWN, Ordering::Release);
            forked.take_current(self.forks.load(Ordering::Acquire))
        } else {
            let mut slot = lock(&self.runtime);
            self.state.fetch_or(SHUT_DOWN, Ordering::Release);
            slot.take()
        }
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.state.load(Ordering::Acquire) & SHUT_DOWN != 0
    }
}

fn shutdown_timed_out(unfinished: usize, timeout: Duration, adopted: bool) -> Error {
    let fate = if adopted {
        "are left running on the runtime given to init_with_handle"
    } else {
        "were cancelled"
    };
    Error::new(
        ErrorKind::ShutdownTimedOut {
            unfinished_tasks: unfinished,
        },
        format!(
            "globalrt: {unfinished} spawned task(s) were still running after {timeout:?} \
             and {fate}; give shutdown a longer timeout or await the tasks' JoinHandles \
             before calling it"
        ),
    )
}

/// Builds a runtime with `config` where tokio can: on this thread, or, where this
/// thread's tokio context is gone (a thread-local destructor that runs after tokio's own,
/// an `atexit` handler; tokio's build panics there), on a helper thread.
fn build_where_possible(config: &Config) -> Result<Runtime, Error> {
    if !context::is_gone() {
        return config.build_shared_like();
    }
    context::on_helper_thread(|| config.build_shared_like(), false)?
        .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
}

/// Whether the runtime behind `handle` has been shut down (or dropped). Its blocking pool
/// refuses work from the moment shutdown begins: a blocking task spawned then is finished
/// (cancelled) at once, while on a running runtime the probe waits for `release`, so it
/// cannot have finished when looked at. Spawns a blocking thread on a running runtime,
/// so it is only for `init_with_handle` and paths that are failing already.
fn is_closed(handle: &Handle) -> bool {
    let (release, released) = std::sync::mpsc::channel::<()>();
    let probe = handle.spawn_blocking(move || {
        let _ = released.recv();
    });
    let closed = probe.is_finished();
    drop(release);
    closed
}

/// The error of a call whose adopted runtime its owner has shut down.
pub(crate) fn adopted_runtime_gone_error() -> Error {
    Error::new(
        ErrorKind::ShutDown,
        "globalrt: the runtime given to init_with_handle has been shut down (or dropped) \
         by the application, so no future can run on it any more; keep that runtime \
         alive for as long as globalrt is used",
    )
}

std::thread_local! {
    /// Whether this thread is polling a task that [`Global::spawn`] tracks.
    static POLLING_TRACKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the polls of a tracked task, so that `shutdown` called from one does not wait
/// for that task.
struct TrackedPoll {
    was: bool,
}

impl TrackedPoll {
    fn begin() -> Self {
        TrackedPoll {
            was: POLLING_TRACKED
                .try_with(|polling| polling.replace(true))
                .unwrap_or(false),
        }
    }

    fn is_polling() -> bool {
        POLLING_TRACKED
            .try_with(std::cell::Cell::get)
            .unwrap_or(false)
    }
}

impl Drop for TrackedPoll {
    fn drop(&mut self) {
        let _ = POLLING_TRACKED.try_with(|polling| polling.set(self.was));
    }
}

fn already_initialized() -> Error {
    Error::new(
        ErrorKind::AlreadyInitialized,
        "globalrt: init was called after the shared runtime was already built or adopted \
         (by an earlier init, init_with_handle or a first execute/spawn/handle call); call \
         init once, at the start of main, before any other globalrt function",
    )
}

struct TaskGuard {
    global: &'static Global,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let mut count = lock(&self.global.tasks);
        *count -= 1;
        // A `shutdown` called from a tracked task waits for the count to reach 1.
        if *count <= 1 {
            self.global.tasks_idle.notify_all();
        }
    }
}

fn shut_down_error() -> Error {
    Error::new(
        ErrorKind::ShutDown,
        "globalrt: the shared runtime has been shut down by globalrt::shutdown; \
         no future can run on it any more, so call shutdown only at the end of main",
    )
}

/// The error of a call that was running when [`shutdown`](crate::shutdown) began.
pub(crate) fn in_flight_shut_down_error() -> Error {
    Error::new(
        ErrorKind::ShutDown,
        "globalrt: the shared runtime was shut down by globalrt::shutdown while this call \
         was running; call shutdown only at the end of main, after every execute has returned",
    )
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The state word's bits mean what they say: a fresh process is neither forked nor
    /// shut down, and each bit is seen alone.
    #[test]
    fn the_state_word_reads_each_bit() {
        let global = Global::new();
        assert!(!global.is_forked(), "a fresh process is not a forked child");
        assert!(!global.is_shut_down(), "a fresh process is not shut down");
        global.state.fetch_or(FORKED, Ordering::Relaxed);
        assert!(global.is_forked());
        assert!(!global.is_shut_down(), "forked is not shut down");
        global.state.fetch_or(SHUT_DOWN, Ordering::Relaxed);
        assert!(global.is_forked() && global.is_shut_down());
    }
}
