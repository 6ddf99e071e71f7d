//! globalrt in a `panic = "abort"` build. Each test runs one scenario of
//! `examples/panic_abort.rs`, built with the `panic-abort` profile, as a child process
//! and asserts that it exited 0 and printed `scenario <name> passed`. In that build a panic
//! cannot be caught, so a path that recovers from a panic tokio raises (entering a handle
//! whose thread context is gone, a runtime build that panics) kills the child with SIGABRT
//! where an unwinding build would return.
//!
//! The example is built once per test process, with `$CARGO build --profile panic-abort
//! --example panic_abort` (a no-op when it is up to date), and found through cargo's JSON
//! messages. Under Valgrind nothing is built: `cargo xtask memcheck` builds the example
//! before it runs any test binary and names it in [`EXAMPLE_ENV`], which, when set, is
//! used everywhere instead of a build.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::process::{GuardedRun, run_guarded};

/// The path of a built `panic_abort` example; `cargo xtask memcheck` sets it (the same
/// name is in `xtask/src/memcheck/build.rs`, and a test there checks they agree).
const EXAMPLE_ENV: &str = "GLOBALRT_PANIC_ABORT_EXAMPLE";

/// The example's arguments to build it, after `cargo`.
const BUILD_ARGS: &[&str] = &[
    "build",
    "--profile",
    "panic-abort",
    "--example",
    "panic_abort",
    "--message-format=json-render-diagnostics",
];

/// The example, built once per test process; every test fails with the reason if it
/// cannot be had.
fn example() -> &'static Path {
    static EXAMPLE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match EXAMPLE.get_or_init(locate_example) {
        Ok(path) => path,
        Err(reason) => panic!("{reason}"),
    }
}

fn locate_example() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(EXAMPLE_ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "{EXAMPLE_ENV} names {}, which is not a file",
                path.display()
            ))
        };
    }
    if crate::under_valgrind() {
        return Err(format!(
            "under Valgrind this test does not run cargo: build the example with `cargo build \
             --profile panic-abort --example panic_abort` and name it in {EXAMPLE_ENV}, as \
             `cargo xtask memcheck` does"
        ));
    }
    build_example()
}

/// Builds the example with cargo and returns the executable cargo reports.
fn build_example() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let output = Command::new(&cargo)
        .args(BUILD_ARGS)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run {}: {err}", cargo.to_string_lossy()))?;
    let command = format!("cargo {}", BUILD_ARGS.join(" "));
    if !output.status.success() {
        return Err(format!(
            "`{command}` failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["name"] == "panic_abort")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("`{command}` reported no executable for panic_abort"))
}

/// Runs the example with `args`, killed after [`crate::hang_limit`].
fn run_example(args: &[&str]) -> GuardedRun {
    run_guarded(Command::new(example()).args(args).stdin(Stdio::null()))
}

/// Runs `scenario` in its own process and asserts it passed.
fn run_scenario(scenario: &str) {
    run_example(&[scenario]).assert_passed(scenario, "of the panic = \"abort\" build");
}

/// One `#[test]` per scenario, named after it, and the list of them all.
macro_rules! scenarios {
    ($($(#[$cfg:meta])* $name:ident,)*) => {
        /// Every scenario the example has on this platform.
        const SCENARIOS: &[&str] = &[$($(#[$cfg])* stringify!($name),)*];

        $(
            $(#[$cfg])*
            #[test]
            fn $name() {
                run_scenario(stringify!($name));
            }
        )*
    };
}

scenarios! {
    plain_thread,
    multi_thread_block_on,
    multi_thread_task,
    current_thread_block_on,
    spawn_blocking,
    tls_destructor_execute,
    tls_destructor_try_execute,
    first_call_in_tls_destructor,
    execute_local_in_tls_destructor,
    #[cfg(unix)]
    atexit_try_execute,
    #[cfg(unix)]
    atexit_execute,
    #[cfg(unix)]
    first_call_in_atexit,
    #[cfg(unix)]
    execute_local_in_atexit,
}

/// A scenario added to the example without a test here would never run.
#[test]
fn every_scenario_of_the_example_has_a_test() {
    let run = run_example(&["--list"]);
    assert!(
        run.status.is_some_and(|s| s.success()),
        "--list failed: {:?}\n{}",
        run.status,
        run.stderr
    );
    let listed: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(listed, SCENARIOS);
}
