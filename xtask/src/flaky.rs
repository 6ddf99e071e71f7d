//! `cargo xtask flaky`: runs the workspace's tests many times in a row, optionally while
//! this task keeps every CPU busy, and names each test that failed with how often.
//!
//! A test whose verdict depends on how fast the machine is fails here sooner or later:
//! under load a sleep that was "long enough" is not. The load is this process's own
//! spinning threads, one per CPU, so nothing needs installing; they stop with the task.
//! Each run's output (stdout and stderr interleaved, as a terminal shows them) goes to
//! `target/flaky/run-N.log`; the logs of failing runs are kept and named in the report.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::exit::Exit;
use crate::{cargo, flags, project_root};

/// The test command each run executes, after `cargo`.
const TEST_ARGS: [&str; 3] = ["test", "--workspace", "--no-fail-fast"];

impl flags::Flaky {
    pub(crate) fn run(self) -> anyhow::Result<Exit> {
        if self.runs == 0 {
            bail!("--runs 0 runs nothing; give --runs 1 or more (the default is 20)");
        }
        let root = project_root();
        let logs = root.join("target").join("flaky");
        std::fs::create_dir_all(&logs)
            .with_context(|| format!("cannot create {}", logs.display()))?;
        build(&root)?;
        let load = self.load.then(CpuLoad::start);
        let mut tally = FailureTally::default();
        for run in 1..=self.runs {
            let log = logs.join(format!("run-{run}.log"));
            let outcome = run_once(&root, &log)?;
            println!(
                "flaky: run {run}/{}: {} ({:.1} s)",
                self.runs,
                outcome.summary(),
                outcome.seconds
            );
            tally.add(outcome, log);
        }
        drop(load);
        print!("{}", tally.report(self.runs, self.load));
        Ok(Exit::passed_if(tally.failing_runs.is_empty()))
    }
}

/// Builds every test once, so that no run's verdict or time includes a build.
fn build(root: &Path) -> anyhow::Result<()> {
    let status = Command::new(cargo())
        .current_dir(root)
        .args(TEST_ARGS)
        .arg("--no-run")
        .stdin(Stdio::null())
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("`cargo test --workspace --no-run` failed ({status}); fix the build, then rerun");
    }
    Ok(())
}

/// What one run of the tests gave.
struct RunOutcome {
    passed: bool,
    /// Each failed test, as `binary: test`.
    failed: Vec<String>,
    seconds: f64,
}

impl RunOutcome {
    fn summary(&self) -> String {
        match (self.passed, self.failed.len()) {
            (true, _) => "ok".to_owned(),
            (false, 0) => {
                "FAILED, no test named (a crash or a build error: see its log)".to_owned()
            }
            (false, n) => format!("FAILED: {n} test(s)"),
        }
    }
}

/// Runs the tests once, with their output in `log`.
fn run_once(root: &Path, log: &Path) -> anyhow::Result<RunOutcome> {
    let file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let stderr = file.try_clone().context("cannot share the log file")?;
    let started = Instant::now();
    let status = Command::new(cargo())
        .current_dir(root)
        .args(TEST_ARGS)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(stderr)
        .status()
        .context("cannot run cargo test")?;
    let seconds = started.elapsed().as_secs_f64();
    let output =
        std::fs::read_to_string(log).with_context(|| format!("cannot read {}", log.display()))?;
    Ok(RunOutcome {
        passed: status.success(),
        failed: failed_tests(&output),
        seconds,
    })
}

/// The tests `cargo test` reports as failed in `output` (its stdout and stderr
/// interleaved), each named after the test binary it ran in: `tests/it/main.rs:
/// strategy::plain_thread_polls_on_the_caller`, `doc-tests globalrt: src/lib.rs - execute
/// (line 10)`.
fn failed_tests(output: &str) -> Vec<String> {
    let mut binary = "?".to_owned();
    let mut failed = Vec::new();
    for raw in output.lines() {
        // libtest starts its result lines in the first column; cargo indents its own.
        let line = raw.trim();
        if let Some(running) = line.strip_prefix("Running ") {
            // `Running tests/it/main.rs (target/debug/deps/it-…)`
            let name = running.rsplit_once(" (").map_or(running, |(name, _)| name);
            binary = name.to_owned();
        } else if let Some(krate) = line.strip_prefix("Doc-tests ") {
            binary = format!("doc-tests {krate}");
        } else if let Some(test) = raw
            .strip_prefix("test ")
            .and_then(|rest| rest.strip_suffix(" ... FAILED"))
        {
            failed.push(format!("{binary}: {test}"));
        }
    }
    failed
}

/// Every run's failures, counted per test.
#[derive(Default)]
struct FailureTally {
    /// How many runs each test failed in.
    by_test: BTreeMap<String, usize>,
    /// The log of each failing run.
    failing_runs: Vec<PathBuf>,
    /// Failing runs that named no failed test.
    unnamed: usize,
}

impl FailureTally {
    fn add(&mut self, outcome: RunOutcome, log: PathBuf) {
        if outcome.passed {
            let _ = std::fs::remove_file(&log);
            return;
        }
        if outcome.failed.is_empty() {
            self.unnamed += 1;
        }
        for test in outcome.failed {
            *self.by_test.entry(test).or_default() += 1;
        }
        self.failing_runs.push(log);
    }

    fn report(&self, runs: u32, load: bool) -> String {
        let under = if load {
            format!(
                " while {} spinning thread(s) kept every CPU busy",
                crate::host::cpu_count()
            )
        } else {
            String::new()
        };
        let mut out = format!(
            "flaky: {runs} run(s) of `cargo {}`{under}: {} failed\n",
            TEST_ARGS.join(" "),
            self.failing_runs.len()
        );
        let mut counts: Vec<(&String, &usize)> = self.by_test.iter().collect();
        counts.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        for (test, count) in counts {
            out.push_str(&format!("  failed {count}/{runs}  {test}\n"));
        }
        if self.unnamed > 0 {
            out.push_str(&format!(
                "  failed {}/{runs}  (no test named: a crash or a build error)\n",
                self.unnamed
            ));
        }
        for log in &self.failing_runs {
            out.push_str(&format!("  log: {}\n", log.display()));
        }
        out
    }
}

/// One spinning thread per CPU until dropped: a CPU load that needs no other program.
struct CpuLoad {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl CpuLoad {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..crate::host::cpu_count())
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        n = std::hint::black_box(
                            n.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        CpuLoad { stop, threads }
    }
}

impl Drop for CpuLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// cargo's interleaved output of a run with a failing integration test and doc-test.
    const OUTPUT: &str = "\
   Compiling globalrt v0.1.0 (/work/main)
     Running unittests src/lib.rs (target/debug/deps/globalrt-0f1e2d3c4b5a6978)

running 2 tests
test parker::tests::wake ... ok
test parker::tests::park ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s

     Running tests/it/main.rs (target/debug/deps/it-18efd29194dd77e4)

running 3 tests
test strategy::plain_thread_polls_on_the_caller ... ok
test strategy::current_thread_polls_on_the_scoped_helper_thread ... FAILED
test process::shutdown_before_first_use ... ok

failures:

---- strategy::current_thread_polls_on_the_scoped_helper_thread stdout ----
thread 'x' panicked at tests/it/strategy.rs:95:5:
    test printed by the test itself ... FAILED

failures:
    strategy::current_thread_polls_on_the_scoped_helper_thread

test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.2s

error: test failed, to rerun pass `--test it`
   Doc-tests globalrt

running 2 tests
test src/lib.rs - execute (line 10) ... FAILED
test src/lib.rs - spawn (line 40) ... ok
";

    #[test]
    fn failed_tests_are_named_after_their_binary() {
        assert_eq!(
            failed_tests(OUTPUT),
            [
                "tests/it/main.rs: strategy::current_thread_polls_on_the_scoped_helper_thread",
                "doc-tests globalrt: src/lib.rs - execute (line 10)",
            ]
        );
    }

    #[test]
    fn a_clean_run_names_no_test() {
        let clean = OUTPUT.replace("... FAILED", "... ok");
        assert!(failed_tests(&clean).is_empty());
    }

    fn outcome(passed: bool, failed: &[&str]) -> RunOutcome {
        RunOutcome {
            passed,
            failed: failed.iter().map(|s| (*s).to_owned()).collect(),
            seconds: 1.0,
        }
    }

    #[test]
    fn the_report_counts_each_test_over_the_runs_and_keeps_failing_logs() {
        let dir = std::env::temp_dir().join(format!("xtask-flaky-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = |n: u32| {
            let path = dir.join(format!("run-{n}.log"));
            std::fs::write(&path, "x").unwrap();
            path
        };
        let mut tally = FailureTally::default();
        tally.add(outcome(false, &["it: a", "it: b"]), log(1));
        tally.add(outcome(true, &[]), log(2));
        tally.add(outcome(false, &["it: b"]), log(3));
        tally.add(outcome(false, &[]), log(4));
        assert!(
            !dir.join("run-2.log").exists(),
            "a passing run's log is removed"
        );
        assert!(
            dir.join("run-3.log").exists(),
            "a failing run's log is kept"
        );
        let report = tally.report(4, false);
        let lines: Vec<&str> = report.lines().collect();
        assert_eq!(
            lines[..4],
            [
                "flaky: 4 run(s) of `cargo test --workspace --no-fail-fast`: 3 failed",
                "  failed 2/4  it: b",
                "  failed 1/4  it: a",
                "  failed 1/4  (no test named: a crash or a build error)",
            ]
        );
        assert_eq!(lines.len(), 7, "one log line per failing run:\n{report}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_clean_tally_reports_none_failed() {
        let report = FailureTally::default().report(3, false);
        assert_eq!(
            report,
            "flaky: 3 run(s) of `cargo test --workspace --no-fail-fast`: 0 failed\n"
        );
    }
}
