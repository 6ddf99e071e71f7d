//! The process-wide state behind the free functions: the runtime, its handle,
//! the shutdown flag and the count of tasks spawned through [`crate::spawn`].
//!
//! Everything is a method on [`Global`]; the public API uses the one `static GLOBAL`.
//! Behaviour that depends on this state being fresh (init, the environment variable,
//! shutdown) is tested in child processes by `tests/it/process.rs`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::parker::{ParkedCallers, Parker};

pub(crate) static GLOBAL: Global = Global::new();

pub(crate) struct Global {
    /// Set once, when the runtime is built; read without a lock on every call.
    handle: OnceLock<Handle>,
    /// Set by `shutdown` just before the runtime is stopped; never cleared.
    shut_down: AtomicBool,
    /// The runtime itself, taken out by `shutdown`. Also serialises building.
    runtime: Mutex<Option<Runtime>>,
    /// Tasks spawned through `spawn` that have not finished or been dropped.
    tasks: Mutex<usize>,
    tasks_idle: Condvar,
    /// The `execute` calls parked right now; `shutdown` wakes them.
    parked: ParkedCallers,
}

impl Global {
    pub(crate) const fn new() -> Self {
        Global {
            handle: OnceLock::new(),
            shut_down: AtomicBool::new(false),
            runtime: Mutex::new(None),
            tasks: Mutex::new(0),
            tasks_idle: Condvar::new(),
            parked: ParkedCallers::new(),
        }
    }

    /// The handle when the runtime is built and running: one atomic load each.
    #[inline(always)]
    pub(crate) fn running_handle(&self) -> Option<&Handle> {
        let handle = self.handle.get()?;
        if self.shut_down.load(Ordering::Relaxed) {
            None
        } else {
            Some(handle)
        }
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
        let mut runtime = lock(&self.runtime);
        if self.shut_down.load(Ordering::Acquire) {
            return Err(shut_down_error());
        }
        if let Some(handle) = self.handle.get() {
            return Ok(handle);
        }
        let built = Config::new().build_runtime()?;
        Ok(self.install(&mut runtime, built))
    }

    fn install(&self, slot: &mut MutexGuard<'_, Option<Runtime>>, runtime: Runtime) -> &Handle {
        let handle = runtime.handle().clone();
        **slot = Some(runtime);
        // Only ever set while `slot` is locked and the handle is unset, so this cannot fail.
        let _ = self.handle.set(handle);
        self.handle.get().expect("handle was just set")
    }

    pub(crate) fn init(&self, config: Config) -> Result<(), Error> {
        config.validate()?;
        let mut runtime = lock(&self.runtime);
        if self.shut_down.load(Ordering::Acquire) {
            return Err(shut_down_error());
        }
        if self.handle.get().is_some() {
            return Err(Error::new(
                ErrorKind::AlreadyInitialized,
                "globalrt: init was called after the shared runtime was already built \
                 (by an earlier init or a first execute/spawn/handle call); call init once, \
                 at the start of main, before any other globalrt function",
            ));
        }
        let built = config.build_runtime()?;
        self.install(&mut runtime, built);
        Ok(())
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
            future.await
        })
    }

    fn task_started(&'static self) -> TaskGuard {
        *lock(&self.tasks) += 1;
        TaskGuard { global: self }
    }

    /// Waits until no tracked task is left or `deadline` passes; returns how many are left.
    fn wait_for_tasks(&self, deadline: Instant) -> usize {
        let mut count = lock(&self.tasks);
        while *count > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            count = self
                .tasks_idle
                .wait_timeout(count, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *count
    }

    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now().checked_add(timeout);
        if self.handle.get().is_some() && !self.shut_down.load(Ordering::Acquire) {
            let far = Instant::now() + Duration::from_secs(60 * 60 * 24 * 365);
            let unfinished = self.wait_for_tasks(deadline.unwrap_or(far));
            let runtime = {
                let mut slot = lock(&self.runtime);
                self.shut_down.store(true, Ordering::Release);
                slot.take()
            };
            self.parked.wake_all();
            if let Some(runtime) = runtime {
                let left = deadline.map_or(Duration::MAX, |d| {
                    d.saturating_duration_since(Instant::now())
                });
                runtime.shutdown_timeout(left);
            }
            if unfinished > 0 {
                return Err(Error::new(
                    ErrorKind::ShutdownTimedOut {
                        unfinished_tasks: unfinished,
                    },
                    format!(
                        "globalrt: {unfinished} spawned task(s) were still running after {timeout:?} \
                         and were cancelled; give shutdown a longer timeout or await the tasks' \
                         JoinHandles before calling it"
                    ),
                ));
            }
        } else {
            {
                let _slot = lock(&self.runtime);
                self.shut_down.store(true, Ordering::Release);
            }
            // A first call may have built the runtime since the check above and parked.
            self.parked.wake_all();
        }
        Ok(())
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    /// Parks the calling thread, which owns `parker`, until it is notified or `shutdown`
    /// has begun (which wakes every parked caller).
    pub(crate) fn park(&self, parker: &std::sync::Arc<Parker>) {
        self.parked.park(parker, || self.is_shut_down());
    }
}

struct TaskGuard {
    global: &'static Global,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let mut count = lock(&self.global.tasks);
        *count -= 1;
        if *count == 0 {
            self.global.tasks_idle.notify_all();
        }
    }
}

pub(crate) fn shut_down_error() -> Error {
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
