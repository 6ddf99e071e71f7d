//! globalrt in a `panic = "abort"` build: one scenario per process, named by the first
//! argument. Prints `scenario <name> passed` and exits 0, or says what went wrong on
//! stderr and exits non-zero; a panic anywhere, tokio's included, aborts the process.
//!
//! ```text
//! cargo build --profile panic-abort --example panic_abort
//! target/panic-abort/examples/panic_abort tls_destructor_execute
//! target/panic-abort/examples/panic_abort --list
//! ```
//!
//! `tests/it/panic_abort.rs` runs every scenario as a child process. The late contexts are
//! those where this thread's tokio context is gone: a thread-local destructor that runs
//! after tokio's own, and an `atexit` handler (glibc's `exit` destroys the main thread's
//! thread-locals before it runs the handlers). The ordinary contexts are there so the
//! abort build is exercised broadly, not only where it is fragile.
//!
//! Exit codes: 0 passed, 1 failed, 2 bad arguments; killed by SIGABRT where a panic
//! aborted the process.

use std::cell::RefCell;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use globalrt::ErrorKind;

/// One scenario: its name on the command line and what it runs.
struct Scenario {
    name: &'static str,
    run: fn() -> Result<(), String>,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "plain_thread",
        run: ordinary::plain_thread,
    },
    Scenario {
        name: "multi_thread_block_on",
        run: ordinary::multi_thread_block_on,
    },
    Scenario {
        name: "multi_thread_task",
        run: ordinary::multi_thread_task,
    },
    Scenario {
        name: "current_thread_block_on",
        run: ordinary::current_thread_block_on,
    },
    Scenario {
        name: "spawn_blocking",
        run: ordinary::spawn_blocking,
    },
    Scenario {
        name: "tls_destructor_execute",
        run: tls_destructor::execute,
    },
    Scenario {
        name: "tls_destructor_try_execute",
        run: tls_destructor::try_execute,
    },
    Scenario {
        name: "first_call_in_tls_destructor",
        run: tls_destructor::first_call,
    },
    Scenario {
        name: "execute_local_in_tls_destructor",
        run: tls_destructor::execute_local,
    },
    #[cfg(unix)]
    Scenario {
        name: "atexit_try_execute",
        run: at_exit::try_execute,
    },
    #[cfg(unix)]
    Scenario {
        name: "atexit_execute",
        run: at_exit::execute,
    },
    #[cfg(unix)]
    Scenario {
        name: "first_call_in_atexit",
        run: at_exit::first_call,
    },
    #[cfg(unix)]
    Scenario {
        name: "execute_local_in_atexit",
        run: at_exit::execute_local,
    },
];

fn main() -> ExitCode {
    let Some(name) = std::env::args().nth(1) else {
        eprintln!("usage: panic_abort <scenario> | --list");
        return ExitCode::from(2);
    };
    if name == "--list" {
        for scenario in SCENARIOS {
            println!("{}", scenario.name);
        }
        return ExitCode::SUCCESS;
    }
    let Some(scenario) = SCENARIOS.iter().find(|s| s.name == name) else {
        eprintln!("unknown scenario {name:?}; `--list` prints them");
        return ExitCode::from(2);
    };
    match (scenario.run)() {
        Ok(()) => {
            println!("scenario {name} passed");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("scenario {name} failed: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A future that is pending at its first poll and needs the shared runtime's timer.
async fn sleep_then(value: u32) -> u32 {
    tokio::time::sleep(Duration::from_millis(1)).await;
    value
}

/// `Ok` when `got` is `Ok(want)`, else an error that says what `what` returned.
fn expect_value<E: std::fmt::Debug>(
    what: &str,
    got: Result<u32, E>,
    want: u32,
) -> Result<(), String> {
    match got {
        Ok(value) if value == want => Ok(()),
        other => Err(format!("{what} returned {other:?}, expected Ok({want})")),
    }
}

/// `Ok` when `got` is `want`, else an error that says what `what` returned.
fn expect_eq(what: &str, got: u32, want: u32) -> Result<(), String> {
    expect_value(what, Ok::<_, ()>(got), want)
}

/// `Ok` when `got` is an `UnsupportedContext` error, as `execute_local` must report where a
/// `!Send` future cannot move to a helper thread.
fn expect_unsupported(what: &str, got: Result<u32, globalrt::Error>) -> Result<(), String> {
    match got {
        Err(err) if err.kind() == &ErrorKind::UnsupportedContext => Ok(()),
        other => Err(format!(
            "{what} returned {other:?}, expected UnsupportedContext"
        )),
    }
}

/// A `!Send` future (an `Rc` across an `.await`) for `try_execute_local`.
async fn not_send_then(value: u32) -> u32 {
    let held = std::rc::Rc::new(value);
    sleep_then(0).await;
    *held
}

/// Says how far a late call got, so an abort right after it is placed in stderr. Never
/// panics: stderr may be gone this late.
fn progress(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

mod ordinary {
    //! Contexts with a live tokio context: each makes a call that is pending at its first
    //! poll, so it takes the blocking path rather than the fast one.

    use super::{expect_eq, expect_value, sleep_then};

    fn multi_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a multi-thread runtime")
    }

    pub(super) fn plain_thread() -> Result<(), String> {
        expect_eq("execute", globalrt::execute(sleep_then(7)), 7)?;
        expect_value("try_execute", globalrt::try_execute(sleep_then(8)), 8)?;
        expect_value(
            "try_execute_local",
            globalrt::try_execute_local(super::not_send_then(9)),
            9,
        )
    }

    pub(super) fn multi_thread_block_on() -> Result<(), String> {
        let got = multi_thread().block_on(async { globalrt::execute(sleep_then(7)) });
        expect_eq("execute in block_on", got, 7)
    }

    pub(super) fn multi_thread_task() -> Result<(), String> {
        let runtime = multi_thread();
        let got = runtime.block_on(runtime.spawn(async { globalrt::execute(sleep_then(7)) }));
        expect_value("execute in a task", got.map_err(|err| err.to_string()), 7)
    }

    pub(super) fn current_thread_block_on() -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| err.to_string())?;
        let got = runtime.block_on(async { globalrt::execute(sleep_then(7)) });
        expect_eq("execute in block_on", got, 7)
    }

    pub(super) fn spawn_blocking() -> Result<(), String> {
        let runtime = multi_thread();
        let got = runtime.block_on(runtime.spawn_blocking(|| globalrt::execute(sleep_then(7))));
        expect_value(
            "execute in spawn_blocking",
            got.map_err(|err| err.to_string()),
            7,
        )
    }
}

/// Runs its closure when dropped: as a thread-local destructor, late in the thread's exit.
struct AtThreadExit(Option<Box<dyn FnOnce()>>);

impl Drop for AtThreadExit {
    fn drop(&mut self) {
        if let Some(late) = self.0.take() {
            late();
        }
    }
}

std::thread_local! {
    static AT_THREAD_EXIT: RefCell<Option<AtThreadExit>> = const { RefCell::new(None) };
}

/// On a fresh thread: arranges for `late` to run in a thread-local destructor that runs
/// after tokio's own, then runs `before`; returns what `late` returned.
///
/// The destructor is registered before `before` touches tokio's thread-locals, and
/// thread-local destructors run in the reverse order of registration, so it runs last,
/// where tokio's context is gone.
fn at_late_thread_exit<T: Send + 'static>(
    before: impl FnOnce() -> Result<(), String> + Send + 'static,
    late: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        AT_THREAD_EXIT.with(|slot| {
            *slot.borrow_mut() = Some(AtThreadExit(Some(Box::new(move || {
                let _ = tx.send(late());
            }))));
        });
        before()
    });
    thread
        .join()
        .map_err(|_| "the thread panicked".to_owned())??;
    rx.recv()
        .map_err(|_| "the thread-local destructor did not run".to_owned())
}

/// Uses globalrt on this thread (so the shared runtime is built and tokio's context was
/// set here), checking the value.
fn use_globalrt() -> Result<(), String> {
    expect_eq("execute before", globalrt::execute(sleep_then(1)), 1)
}

/// Uses an application's own runtime on this thread, not globalrt: tokio's context exists
/// here, and globalrt's runtime does not.
fn use_own_runtime() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    expect_eq(
        "the application's own block_on",
        runtime.block_on(sleep_then(1)),
        1,
    )
}

mod tls_destructor {
    //! A thread-local destructor that runs after tokio's own.

    use super::{
        at_late_thread_exit, expect_eq, expect_unsupported, expect_value, progress, sleep_then,
        use_globalrt, use_own_runtime,
    };

    pub(super) fn execute() -> Result<(), String> {
        let (executed, tried) = at_late_thread_exit(use_globalrt, || {
            let executed = globalrt::execute(sleep_then(7));
            progress(format_args!("execute returned {executed}"));
            (executed, globalrt::try_execute(sleep_then(7)))
        })?;
        expect_eq("execute", executed, 7)?;
        expect_value("try_execute", tried, 7)
    }

    pub(super) fn try_execute() -> Result<(), String> {
        let tried = at_late_thread_exit(use_globalrt, || globalrt::try_execute(sleep_then(7)))?;
        expect_value("try_execute", tried, 7)
    }

    /// globalrt's first call of the process, after the thread used its own runtime.
    pub(super) fn first_call() -> Result<(), String> {
        let (tried, executed) = at_late_thread_exit(use_own_runtime, || {
            let tried = globalrt::try_execute(sleep_then(7));
            progress(format_args!("try_execute returned {tried:?}"));
            // Only once the runtime exists: `execute` would panic with the same error.
            let executed = tried.is_ok().then(|| globalrt::execute(sleep_then(8)));
            (tried, executed)
        })?;
        expect_value("try_execute (the first call)", tried, 7)?;
        expect_value("execute", executed.ok_or("not run"), 8)
    }

    pub(super) fn execute_local() -> Result<(), String> {
        let got = at_late_thread_exit(use_globalrt, || {
            globalrt::try_execute_local(super::not_send_then(7))
        })?;
        expect_unsupported("try_execute_local", got)
    }
}

#[cfg(unix)]
mod at_exit {
    //! An `atexit` handler on the main thread: `std::process::exit` runs this thread's
    //! thread-local destructors first (glibc's `exit`), tokio's among them, then the
    //! handler. The handler prints the passing line itself, or leaves through `_exit(1)`.

    use std::io::Write as _;
    use std::sync::OnceLock;

    use super::{expect_eq, expect_unsupported, expect_value, progress, sleep_then};

    /// The scenario the handler reports, and its check.
    struct AtExitCheck {
        name: &'static str,
        check: fn() -> Result<(), String>,
    }

    static AT_EXIT: OnceLock<AtExitCheck> = OnceLock::new();

    extern "C" fn run_at_exit() {
        let Some(AtExitCheck { name, check }) = AT_EXIT.get() else {
            return;
        };
        match check() {
            Ok(()) => {
                let mut out = std::io::stdout();
                let _ = writeln!(out, "scenario {name} passed");
                let _ = out.flush();
            }
            Err(message) => {
                let _ = writeln!(std::io::stderr(), "scenario {name} failed: {message}");
                #[allow(unsafe_code)]
                // SAFETY: `_exit` ends the process at once; nothing of it runs afterwards.
                unsafe {
                    libc::_exit(1)
                }
            }
        }
    }

    /// Runs `before` on the main thread, registers `check` as an `atexit` handler and exits.
    fn exit_into(
        name: &'static str,
        before: fn() -> Result<(), String>,
        check: fn() -> Result<(), String>,
    ) -> Result<(), String> {
        before()?;
        if AT_EXIT.set(AtExitCheck { name, check }).is_err() {
            return Err("a handler was already registered".to_owned());
        }
        #[allow(unsafe_code)]
        // SAFETY: registers a plain `extern "C"` function that lives as long as the process.
        let status = unsafe { libc::atexit(run_at_exit) };
        if status != 0 {
            return Err(format!("atexit returned {status}"));
        }
        let _ = std::io::stdout().flush();
        std::process::exit(0)
    }

    pub(super) fn try_execute() -> Result<(), String> {
        exit_into("atexit_try_execute", super::use_globalrt, || {
            expect_value("try_execute", globalrt::try_execute(sleep_then(7)), 7)
        })
    }

    pub(super) fn execute() -> Result<(), String> {
        exit_into("atexit_execute", super::use_globalrt, || {
            expect_eq("execute", globalrt::execute(sleep_then(7)), 7)
        })
    }

    /// globalrt's first call of the process, after `main` used its own runtime.
    pub(super) fn first_call() -> Result<(), String> {
        exit_into("first_call_in_atexit", super::use_own_runtime, || {
            let tried = globalrt::try_execute(sleep_then(7));
            progress(format_args!("try_execute returned {tried:?}"));
            expect_value("try_execute (the first call)", tried, 7)?;
            expect_eq("execute", globalrt::execute(sleep_then(8)), 8)
        })
    }

    pub(super) fn execute_local() -> Result<(), String> {
        exit_into("execute_local_in_atexit", super::use_globalrt, || {
            expect_unsupported(
                "try_execute_local",
                globalrt::try_execute_local(super::not_send_then(7)),
            )
        })
    }
}
