//! Behaviour that depends on the process-wide state — `init`, the environment variable,
//! `shutdown` — tested in fresh processes: each test re-runs this test binary with
//! `SCENARIO_ENV` set, and the child runs `child_entry`, which dispatches on it.

use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use globalrt::{Config, ErrorKind, WORKER_THREADS_ENV};

const SCENARIO_ENV: &str = "GLOBALRT_IT_SCENARIO";

/// What a child process printed.
pub(crate) struct ChildOutput {
    pub(crate) stderr: String,
}

/// Runs `scenario` in a child process and asserts it passed. A child that has not exited
/// within [`crate::hang_limit`] is killed and fails the test, so a deadlock never hangs
/// the run.
pub(crate) fn run_child(scenario: &str, worker_threads_env: Option<&str>) -> ChildOutput {
    let env: Vec<(&str, &str)> = worker_threads_env
        .map(|value| (WORKER_THREADS_ENV, value))
        .into_iter()
        .collect();
    run_child_with_env(scenario, &env)
}

/// The command that runs `scenario` in a child process, its stdout and stderr piped.
pub(crate) fn child_command(scenario: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "process::child_entry",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SCENARIO_ENV, scenario)
        .env_remove(WORKER_THREADS_ENV)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// [`run_child`] with the environment variables `env` set in the child.
pub(crate) fn run_child_with_env(scenario: &str, env: &[(&str, &str)]) -> ChildOutput {
    let mut command = child_command(scenario);
    command.envs(env.iter().copied());
    let stderr = run_guarded(&mut command).assert_passed(scenario, &format!("(env {env:?})"));
    ChildOutput { stderr }
}

/// How a child process run by [`run_guarded`] ended, and what it printed.
pub(crate) struct GuardedRun {
    /// `None` when it had not exited within [`crate::hang_limit`] and was killed.
    pub(crate) status: Option<ExitStatus>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl GuardedRun {
    /// Asserts that the child exited 0 and printed `scenario <scenario> passed`, else fails
    /// naming the scenario, `what` ran it, and all it printed; returns its stderr.
    pub(crate) fn assert_passed(self, scenario: &str, what: &str) -> String {
        let GuardedRun {
            status,
            stdout,
            stderr,
        } = self;
        let limit = crate::hang_limit();
        let Some(status) = status else {
            panic!(
                "scenario {scenario} {what} did not finish within {limit:?} (deadlock or hang)\nstdout:\n{stdout}\nstderr:\n{stderr}"
            );
        };
        assert!(
            status.success() && stdout.contains(&format!("scenario {scenario} passed")),
            "scenario {scenario} {what} failed: {status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        stderr
    }
}

/// Runs `command` with its stdout and stderr captured, and kills it once it has run for
/// [`crate::hang_limit`], so a deadlock never hangs the run.
pub(crate) fn run_guarded(command: &mut Command) -> GuardedRun {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = read_in_background(child.stdout.take().unwrap());
    let stderr = read_in_background(child.stderr.take().unwrap());
    let deadline = Instant::now() + crate::hang_limit();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    GuardedRun {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

pub(crate) fn read_in_background(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Not a test of its own: the entry point of the child processes above.
#[test]
#[ignore = "entry point for child processes; run through the tests in this module"]
fn child_entry() {
    let scenario = std::env::var(SCENARIO_ENV).expect("run through run_child");
    match scenario.as_str() {
        "init_twice" => init_twice(),
        "init_after_use" => init_after_use(),
        "bad_env" => bad_env(),
        "good_env" => good_env(),
        "shutdown_with_tasks" => shutdown_with_tasks(),
        "shutdown_is_prompt" => shutdown_is_prompt(),
        "shutdown_without_deadline" => shutdown_without_deadline(),
        "shutdown_timeout" => shutdown_timeout(),
        "shutdown_before_use" => shutdown_before_use(),
        "shutdown_races_calls" => shutdown_races_calls(),
        "panic_locations" => panic_locations(),
        "init_races_first_use" => init_races_first_use(),
        #[cfg(target_os = "linux")]
        "parked_call_sleeps_until_shutdown" => parked_call_sleeps_until_shutdown(),
        other => {
            if !crate::promise_process::run_scenario(other) && !crate::scope::run_scenario(other) {
                crate::lifecycle::run_scenario(other);
            }
        }
    }
    println!("scenario {scenario} passed");
}

fn init_twice() {
    globalrt::init(Config::new().worker_threads(2)).unwrap();
    let err = globalrt::init(Config::new().worker_threads(3)).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::AlreadyInitialized);
    assert!(err.to_string().contains("init"), "{err}");
    assert_eq!(
        globalrt::handle().metrics().num_workers(),
        2,
        "first config kept"
    );
    assert_eq!(globalrt::execute(crate::sleep_then(1)), 1);
}

fn init_after_use() {
    assert_eq!(globalrt::execute(async { 1 }), 1);
    let err = globalrt::init(Config::new().worker_threads(1)).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::AlreadyInitialized);
    assert_eq!(globalrt::execute(crate::sleep_then(2)), 2);
}

fn bad_env() {
    let value = std::env::var(WORKER_THREADS_ENV).unwrap();
    let expected = ErrorKind::InvalidEnv {
        variable: WORKER_THREADS_ENV,
        value: value.clone(),
    };
    for _ in 0..2 {
        let err = globalrt::try_execute(async { 1 }).unwrap_err();
        assert_eq!(err.kind(), &expected);
        assert!(
            err.to_string().contains(WORKER_THREADS_ENV)
                && err.to_string().contains(&format!("{value:?}")),
            "{err}"
        );
    }
    let err = globalrt::init(Config::new()).unwrap_err();
    assert_eq!(err.kind(), &expected);
    let payload = catch_unwind(|| globalrt::execute(async { 1 })).unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(
        message.contains(WORKER_THREADS_ENV) && message.contains(&format!("{value:?}")),
        "{message}"
    );
    // Fixing the variable makes the next call succeed: the failure was not cached.
    set_worker_threads_env("2");
    assert_eq!(globalrt::execute(async { 3 }), 3);
    assert_eq!(globalrt::handle().metrics().num_workers(), 2);
}

fn set_worker_threads_env(value: &str) {
    #[allow(unsafe_code)]
    // SAFETY: `set_var` must not race with other threads reading the environment. This child
    // runs one test with --test-threads=1 and no runtime was built (the bad value made every
    // build fail before any thread started), so no other thread reads the environment.
    unsafe {
        std::env::set_var(WORKER_THREADS_ENV, value);
    }
}

fn good_env() {
    globalrt::init(Config::new().worker_threads(1)).unwrap();
    assert_eq!(
        globalrt::handle().metrics().num_workers(),
        3,
        "the variable overrides Config"
    );
}

fn shutdown_with_tasks() {
    let finished = Arc::new(AtomicUsize::new(0));
    for i in 0..3u64 {
        let finished = Arc::clone(&finished);
        drop(globalrt::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5 * (i + 1))).await;
            finished.fetch_add(1, Ordering::SeqCst);
        }));
    }
    globalrt::shutdown(Duration::from_secs(30)).unwrap();
    assert_eq!(
        finished.load(Ordering::SeqCst),
        3,
        "shutdown waited for every spawned task"
    );
    assert!(globalrt::is_shut_down());
    let err = globalrt::try_execute(async { 1 }).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::ShutDown);
    let payload = catch_unwind(|| globalrt::execute(async { 1 })).unwrap_err();
    assert!(
        payload
            .downcast_ref::<String>()
            .unwrap()
            .contains("shut down")
    );
    assert!(catch_unwind(|| globalrt::spawn(async {})).is_err());
    assert_eq!(
        globalrt::init(Config::new()).unwrap_err().kind(),
        &ErrorKind::ShutDown
    );
    globalrt::shutdown(Duration::from_secs(1)).unwrap();
}

/// `shutdown` waits for every spawned task to really finish (each `JoinHandle` yields the
/// task's own value, not a cancellation) and returns once the last one ends: the last
/// task's end wakes it. Its timeout is an hour, so without that wake-up it would sit the
/// hour out and the parent's hang guard fails the test; no timing is asserted.
fn shutdown_is_prompt() {
    let tasks: Vec<_> = (1..=3u64)
        .map(|i| {
            globalrt::spawn(async move {
                tokio::time::sleep(Duration::from_millis(30 * i)).await;
                i * 10
            })
        })
        .collect();
    globalrt::shutdown(Duration::from_secs(60 * 60)).unwrap();
    // The runtime is gone; a finished task's JoinHandle still yields its output.
    for (i, task) in (1..=3u64).zip(tasks) {
        assert_eq!(
            futures_executor::block_on(task).expect("the task was cancelled, not waited for"),
            i * 10
        );
    }
}

/// A timeout too long for `Instant` means no deadline: `shutdown` still waits for the task.
fn shutdown_without_deadline() {
    let task = globalrt::spawn(async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        5
    });
    globalrt::shutdown(Duration::MAX).unwrap();
    assert_eq!(
        futures_executor::block_on(task).expect("the task was cancelled, not waited for"),
        5
    );
}

fn shutdown_timeout() {
    drop(globalrt::spawn(std::future::pending::<()>()));
    let finished = globalrt::spawn(async {});
    // Finished before shutdown starts, however slowly the runtime's worker gets to it.
    while !finished.is_finished() {
        std::thread::yield_now();
    }
    let err = globalrt::shutdown(Duration::from_millis(50)).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::ShutdownTimedOut {
            unfinished_tasks: 1
        }
    );
    // Finished before the timeout: its output, not a cancellation.
    futures_executor::block_on(finished).expect("a finished task is not cancelled");
    assert_eq!(
        globalrt::try_execute(async { 1 }).unwrap_err().kind(),
        &ErrorKind::ShutDown
    );
}

fn shutdown_before_use() {
    globalrt::shutdown(Duration::from_secs(1)).unwrap();
    assert_eq!(
        globalrt::try_execute(async { 1 }).unwrap_err().kind(),
        &ErrorKind::ShutDown
    );
    assert_eq!(
        globalrt::init(Config::new()).unwrap_err().kind(),
        &ErrorKind::ShutDown
    );
}

/// Callers of every kind race `shutdown`: each call either returns its value or fails
/// with `ErrorKind::ShutDown` (through `execute`: panics with globalrt's message), never
/// with tokio's "being shutdown" panic, and none hangs.
fn shutdown_races_calls() {
    const CALLERS: usize = 6;
    let started = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..CALLERS)
        .map(|caller| {
            let started = Arc::clone(&started);
            std::thread::spawn(move || race_shutdown(caller, &started))
        })
        .collect();
    // Calls that are certainly in flight when shutdown runs: waiting on a long timer, and
    // on a `Notify` that nothing will ever notify once the runtime is gone. Each future
    // says when it was first polled; shutdown starts only after both were.
    let (polled_tx, polled) = std::sync::mpsc::channel();
    let on_timer = {
        let polled_tx = polled_tx.clone();
        std::thread::spawn(move || {
            globalrt::try_execute(async move {
                let sleep = tokio::time::sleep(Duration::from_secs(60));
                polled_tx.send(()).unwrap();
                sleep.await;
            })
        })
    };
    let notify = Arc::new(tokio::sync::Notify::new());
    let on_notify = {
        let notify = Arc::clone(&notify);
        std::thread::spawn(move || {
            globalrt::try_execute(async move {
                let notified = notify.notified();
                polled_tx.send(()).unwrap();
                notified.await;
            })
        })
    };
    while started.load(Ordering::SeqCst) < CALLERS {
        std::thread::yield_now();
    }
    for _ in 0..2 {
        polled.recv().unwrap();
    }
    globalrt::shutdown(Duration::from_secs(1)).unwrap();
    for caller in callers {
        caller.join().unwrap();
    }
    for (name, result) in [
        ("timer", on_timer.join().unwrap()),
        ("notify", on_notify.join().unwrap()),
    ] {
        let err = result.expect_err(name);
        assert_eq!(err.kind(), &ErrorKind::ShutDown, "{name}: {err}");
        assert!(
            err.to_string().contains("globalrt::shutdown"),
            "{name}: {err}"
        );
    }
}

/// A call parked on a future that nothing wakes sleeps: its thread does not wake once in
/// 300 ms (there is no timed re-check), yet `shutdown` reaches it and it fails with
/// `ErrorKind::ShutDown`. Without the shutdown wake-up it would stay parked and the
/// parent's hang guard fails the test.
#[cfg(target_os = "linux")]
fn parked_call_sleeps_until_shutdown() {
    use crate::parking::sleeps;

    let (tid_tx, tid) = std::sync::mpsc::channel();
    let (polled_tx, polled) = std::sync::mpsc::channel();
    let caller = std::thread::spawn(move || {
        tid_tx.send(sleeps::this_thread_id()).unwrap();
        let mut polls = 0;
        globalrt::try_execute(std::future::poll_fn(move |_| {
            polls += 1;
            // The fast path's poll, then the first poll of the call's own loop.
            if polls == 2 {
                polled_tx.send(()).unwrap();
            }
            std::task::Poll::<()>::Pending
        }))
    });
    let tid = tid.recv().unwrap();
    polled.recv().unwrap();
    // Parked: asleep, and asleep still with no new switch (not a passing wait).
    let before = loop {
        let before = sleeps::voluntary_switches(&tid);
        if sleeps::state(&tid) == 'S' && sleeps::voluntary_switches(&tid) == before {
            break before;
        }
        std::thread::yield_now();
    };
    std::thread::sleep(Duration::from_millis(300));
    let woken = sleeps::voluntary_switches(&tid) - before;
    assert_eq!(
        woken, 0,
        "the parked call woke {woken} time(s) in 300 ms with nothing to wake it"
    );
    globalrt::shutdown(Duration::from_secs(1)).unwrap();
    let err = caller.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::ShutDown, "{err}");
}

/// One caller: loops over ready, timer, yielding and spawning futures, through
/// `try_execute` and `execute`, until `shutdown` stops it.
fn race_shutdown(caller: usize, started: &AtomicUsize) {
    started.fetch_add(1, Ordering::SeqCst);
    for round in 0u64.. {
        let outcome = if (caller + round as usize) & 1 == 0 {
            globalrt::try_execute(mixed_call(round))
        } else {
            catch_unwind(AssertUnwindSafe(|| globalrt::execute(mixed_call(round)))).map_err(
                |payload| {
                    let message = payload
                        .downcast_ref::<String>()
                        .cloned()
                        .unwrap_or_else(|| "a non-String panic payload".to_owned());
                    assert!(
                        message.starts_with("globalrt:") && message.contains("shut down"),
                        "execute panicked with a message that is not globalrt's: {message}"
                    );
                    globalrt::try_execute(async {}).unwrap_err()
                },
            )
        };
        match outcome {
            Ok(value) => assert_eq!(value, round * 2, "caller {caller} round {round}"),
            Err(err) => {
                assert_eq!(err.kind(), &ErrorKind::ShutDown, "caller {caller}: {err}");
                assert!(!err.to_string().contains("being shutdown"), "{err}");
                return;
            }
        }
    }
}

async fn mixed_call(round: u64) -> u64 {
    match round % 4 {
        0 => round * 2,
        1 => {
            tokio::time::sleep(Duration::from_millis(1)).await;
            round * 2
        }
        2 => {
            tokio::task::yield_now().await;
            round * 2
        }
        _ => tokio::spawn(async move { round * 2 }).await.unwrap(),
    }
}

/// globalrt's own panics report the caller's file and line (`#[track_caller]`).
fn panic_locations() {
    globalrt::shutdown(Duration::from_secs(1)).unwrap();
    let here = file!().to_owned();
    let line = line!() + 1;
    let location = crate::panic_location(|| globalrt::execute(async {}));
    assert_eq!(location, (here.clone(), line), "execute");
    let line = line!() + 1;
    let location = crate::panic_location(|| drop(globalrt::spawn(async {})));
    assert_eq!(location, (here.clone(), line), "spawn");
    let line = line!() + 1;
    let location = crate::panic_location(|| drop(globalrt::handle()));
    assert_eq!(location, (here.clone(), line), "handle");
    let line = line!() + 1;
    let location = crate::panic_location(|| globalrt::execute_local(async {}));
    assert_eq!(location, (here, line), "execute_local");
}

/// `init` on one thread races first use on others: exactly one runtime is built, every
/// caller sees that one, and `init` either built it or reports `AlreadyInitialized`.
fn init_races_first_use() {
    const CALLERS: usize = 4;
    let barrier = Arc::new(std::sync::Barrier::new(CALLERS + 1));
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                assert_eq!(globalrt::execute(crate::sleep_then(1)), 1);
                globalrt::handle().metrics().num_workers()
            })
        })
        .collect();
    barrier.wait();
    // A worker count no default runtime has here tells which build won.
    let init = globalrt::init(Config::new().worker_threads(7));
    let seen: Vec<usize> = callers.into_iter().map(|c| c.join().unwrap()).collect();
    let workers = globalrt::handle().metrics().num_workers();
    assert!(
        seen.iter().all(|&n| n == workers),
        "one runtime: {seen:?} vs {workers}"
    );
    match init {
        Ok(()) => assert_eq!(workers, 7, "init won, so its config was built"),
        Err(err) => {
            assert_eq!(err.kind(), &ErrorKind::AlreadyInitialized, "{err}");
            assert_ne!(workers, 7, "first use won, so init's config was not built");
        }
    }
}

#[test]
fn init_racing_first_use_builds_one_runtime() {
    for _ in 0..5 {
        run_child("init_races_first_use", None);
    }
}

#[test]
#[cfg(target_os = "linux")]
fn a_parked_call_sleeps_until_shutdown_wakes_it() {
    run_child("parked_call_sleeps_until_shutdown", None);
}

#[test]
fn panics_point_at_the_caller() {
    run_child("panic_locations", None);
}

#[test]
fn shutdown_racing_callers_get_shut_down_errors() {
    run_child("shutdown_races_calls", None);
}

#[test]
fn init_twice_is_an_error() {
    run_child("init_twice", None);
}

#[test]
fn init_after_first_use_is_an_error() {
    run_child("init_after_use", None);
}

#[test]
fn bad_worker_threads_env_values() {
    for value in ["0", "-1", "abc", "", "2.5"] {
        run_child("bad_env", Some(value));
    }
}

#[test]
fn worker_threads_env_overrides_config() {
    run_child("good_env", Some("3"));
}

#[test]
fn shutdown_waits_for_tasks_then_execute_errors() {
    run_child("shutdown_with_tasks", None);
}

#[test]
fn shutdown_returns_promptly_after_its_tasks_really_finish() {
    run_child("shutdown_is_prompt", None);
}

#[test]
fn shutdown_without_a_representable_deadline_still_waits() {
    run_child("shutdown_without_deadline", None);
}

#[test]
fn shutdown_timeout_cancels_unfinished_tasks() {
    run_child("shutdown_timeout", None);
}

#[test]
fn shutdown_before_first_use() {
    run_child("shutdown_before_use", None);
}
