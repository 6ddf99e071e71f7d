//! `fork`: a forked child gets a runtime of its own.
//!
//! After `fork` only the forking thread exists in the child: the inherited runtime's
//! workers, timer and I/O threads do not, so a call on it would wait forever, and
//! dropping it would wait for threads that will never answer. A `pthread_atfork` child
//! handler sets the [`FORKED`] bit of the state word the fast path already loads, so the
//! first call in the child takes the slow path and builds a runtime for that process; the
//! inherited one is kept, never dropped. Nothing is added to the fast path, and nothing
//! is paid in a process that never forks.

use std::sync::Once;
use std::sync::atomic::Ordering;

use tokio::runtime::{Handle, Runtime};

use super::{FORKED, GLOBAL};
use crate::config::Config;

/// Registers the fork handler, once per process (a forked child inherits it).
///
/// Called before globalrt first builds or adopts a runtime, so a fork at any later point,
/// even during that build, is seen by the child.
///
/// In a forked child the handler is registered already (the child inherits it), and the
/// registration's `Once` may have been inherited mid-call from a parent thread that does
/// not exist here, where `call_once` would block for ever: a child never touches it.
pub(crate) fn watch_forks() {
    static REGISTER: Once = Once::new();
    if forked() {
        return;
    }
    REGISTER.call_once(register_fork_handler);
}

/// Whether this process is a forked child (never, where there is no `fork`).
fn forked() -> bool {
    GLOBAL.state.load(Ordering::Acquire) & FORKED != 0
}

#[cfg(unix)]
fn register_fork_handler() {
    #[allow(unsafe_code)]
    // SAFETY: `pthread_atfork` only records three function pointers, each an `extern "C"`
    // function of this module that lives as long as the process and never unwinds.
    // POSIX runs `before_fork` and `after_fork_in_parent` in the forking thread of the
    // parent, where anything is allowed, and `after_fork_in_child` in the child right after
    // `fork`, where only async-signal-safe work is: it does two lock-free atomic
    // read-modify-writes on a static and releases the three mutexes `before_fork` took (an
    // atomic swap and at most a futex wake each), nothing else (no allocation, no panic).
    let status = unsafe {
        libc::pthread_atfork(
            Some(before_fork),
            Some(after_fork_in_parent),
            Some(after_fork_in_child),
        )
    };
    // Fails only without memory for the record (ENOMEM); the process then lives without
    // fork detection, as it did before globalrt had any.
    debug_assert_eq!(status, 0, "pthread_atfork failed");
}

#[cfg(not(unix))]
fn register_fork_handler() {}

/// Locks held by the forking thread across `fork`; dropping it releases them, in the
/// parent and in the child alike.
#[cfg(unix)]
struct HeldAcrossFork {
    _forked: std::sync::MutexGuard<'static, Forked>,
    _tasks: std::sync::MutexGuard<'static, usize>,
    /// The parked calls' list: a child must not find it held by a thread it lacks.
    _parked: std::sync::MutexGuard<'static, Vec<std::sync::Arc<crate::parker::Parker>>>,
}

#[cfg(unix)]
impl HeldAcrossFork {
    /// Takes the locks a forked child would otherwise find held forever: another thread
    /// may be counting a task or recording a runtime at the moment of `fork`, and only the
    /// forking thread exists in the child. In the order `Global::forked_handle` takes them.
    fn take() -> Self {
        HeldAcrossFork {
            _forked: super::lock(&GLOBAL.forked),
            _tasks: super::lock(&GLOBAL.tasks),
            _parked: GLOBAL.parked.hold(),
        }
    }
}

#[cfg(unix)]
std::thread_local! {
    /// The locks `before_fork` took, held by the forking thread across `fork`.
    static HELD_ACROSS_FORK: std::cell::RefCell<Option<HeldAcrossFork>> =
        const { std::cell::RefCell::new(None) };
}

/// Takes globalrt's short-held locks, so that no other thread holds one at the fork.
#[cfg(unix)]
extern "C" fn before_fork() {
    let held = HeldAcrossFork::take();
    // Where this thread's thread-locals are gone, the locks are released at once and the
    // fork is as unprotected as it would be without this handler.
    let _ = HELD_ACROSS_FORK.try_with(|slot| slot.replace(Some(held)));
}

#[cfg(unix)]
extern "C" fn after_fork_in_parent() {
    release_fork_locks();
}

/// The child handler: the inherited runtime is unusable in this process.
#[cfg(unix)]
extern "C" fn after_fork_in_child() {
    GLOBAL.state.fetch_or(FORKED, Ordering::Relaxed);
    GLOBAL.forks.fetch_add(1, Ordering::Release);
    release_fork_locks();
}

#[cfg(unix)]
fn release_fork_locks() {
    let held = HELD_ACROSS_FORK
        .try_with(|slot| slot.borrow_mut().take())
        .ok()
        .flatten();
    drop(held);
}

/// A forked child's own runtime and what it inherited, behind `Global::forked`'s lock.
pub(crate) struct Forked {
    /// The configuration the first runtime was built with, reused by forked children.
    config: Option<Config>,
    /// The fork count ([`crate::global::Global::forks`]) of the process `current` was built in.
    generation: usize,
    /// The runtime built for the process that counted `generation`, and its handle.
    current: Option<(Option<Runtime>, &'static Handle)>,
    /// Runtimes and handles of ancestors' forked runtimes: kept, never dropped, because
    /// their threads do not exist in this process.
    inherited: Vec<(Option<Runtime>, &'static Handle)>,
}

impl Forked {
    pub(crate) const fn new() -> Self {
        Forked {
            config: None,
            generation: 0,
            current: None,
            inherited: Vec::new(),
        }
    }

    /// Keeps the configuration of the first runtime for forked children.
    pub(crate) fn remember(&mut self, config: Config) {
        self.config = Some(config);
    }

    /// The handle of the runtime built for the process at `generation`, if there is one.
    pub(crate) fn current(&self, generation: usize) -> Option<&'static Handle> {
        match &self.current {
            Some((_, handle)) if self.generation == generation => Some(handle),
            _ => None,
        }
    }

    /// The configuration a forked child builds with: `config` if `init` gave one in the
    /// child, else the first runtime's (the defaults for an adopted runtime).
    pub(crate) fn config_for_child(&self, config: Option<Config>) -> Config {
        config.or_else(|| self.config.clone()).unwrap_or_default()
    }

    /// Records `runtime` as the one of the process at `generation`; an ancestor's runtime
    /// it replaces is kept. The handle is leaked so that callers can hold it without a lock,
    /// as they hold the first runtime's; one per forked process that uses globalrt.
    pub(crate) fn install(&mut self, generation: usize, runtime: Runtime) -> &'static Handle {
        let handle: &'static Handle = Box::leak(Box::new(runtime.handle().clone()));
        if let Some(ancestor) = self.current.replace((Some(runtime), handle)) {
            self.inherited.push(ancestor);
        }
        self.generation = generation;
        handle
    }

    /// Takes out the runtime built for the process at `generation`, for `shutdown`.
    pub(crate) fn take_current(&mut self, generation: usize) -> Option<Runtime> {
        match &mut self.current {
            Some((runtime, _)) if self.generation == generation => runtime.take(),
            _ => None,
        }
    }
}

#[cfg(all(test, unix))]
mod fork_handler_tests {
    use super::*;

    /// Whether any of the locks [`HeldAcrossFork::take`] takes is held right now.
    fn any_fork_lock_held() -> bool {
        GLOBAL.forked.try_lock().is_err()
            || GLOBAL.tasks.try_lock().is_err()
            || GLOBAL.parked.is_held()
    }

    /// The prepare handler holds every lock a forked child could otherwise inherit held,
    /// and the parent's handler releases them all.
    #[test]
    fn before_fork_holds_the_locks_until_after_fork() {
        assert!(!any_fork_lock_held(), "a lock was held before the test");
        before_fork();
        assert!(any_fork_lock_held(), "before_fork took no lock");
        after_fork_in_parent();
        assert!(!any_fork_lock_held(), "after_fork_in_parent kept a lock");
    }
}

#[cfg(test)]
mod forked_tests {
    use std::sync::Mutex;

    use super::*;

    fn runtime() -> Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current_thread runtime builds")
    }

    /// A `Forked` in a static, as `Global` keeps it: the handles `install` leaks stay
    /// reachable, so memcheck does not report them lost when the test ends.
    fn in_a_static(record: &'static Mutex<Forked>) -> std::sync::MutexGuard<'static, Forked> {
        record
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A grandchild (fork count 2) must not reuse the runtime its parent built (count 1):
    /// that runtime's threads do not exist in the grandchild, so a call on it would hang.
    #[test]
    fn current_is_only_the_runtime_of_the_same_fork_count() {
        static RECORD: Mutex<Forked> = Mutex::new(Forked::new());
        let mut forked = in_a_static(&RECORD);
        assert!(forked.current(1).is_none(), "no runtime installed yet");
        let installed: *const Handle = forked.install(1, runtime());
        let current = forked.current(1).expect("the child's own runtime");
        assert!(std::ptr::eq(current, installed), "another handle came back");
        assert!(
            forked.current(2).is_none(),
            "a grandchild got its parent's runtime"
        );
    }

    /// `shutdown` in a forked child takes out the runtime built for that process, once,
    /// and never one an ancestor built.
    #[test]
    fn take_current_takes_only_this_process_runtime_once() {
        static RECORD: Mutex<Forked> = Mutex::new(Forked::new());
        let mut forked = in_a_static(&RECORD);
        assert!(forked.take_current(0).is_none(), "no runtime installed yet");
        forked.install(1, runtime());
        assert!(
            forked.take_current(2).is_none(),
            "a grandchild took its parent's runtime"
        );
        let taken = forked.take_current(1).expect("the child's own runtime");
        drop(taken);
        assert!(forked.take_current(1).is_none(), "taken out twice");
        // The handle stays for callers that hold it; only the runtime is gone.
        assert!(forked.current(1).is_some());
        // A grandchild's runtime replaces the child's, which is kept, not dropped.
        forked.install(2, runtime());
        assert_eq!(forked.inherited.len(), 1);
        assert!(forked.current(1).is_none());
        assert!(forked.take_current(2).is_some());
    }
}
