//! Checking one binary: its run under memcheck, how the program itself ended, and the
//! files to keep.

use std::fs;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use super::attribute::{self, Reproduced};
use super::build::Binary;
use super::valgrind::{self, Logs, MemcheckSettings, TracedProcess};
use crate::util::copy_atomic;

/// How the binary itself ended, apart from what memcheck found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ProgramStatus {
    Passed,
    /// Test names (libtest's `test NAME ... FAILED`), or a description when there are none.
    Failed(Vec<String>),
    TimedOut,
}

/// Everything known about one binary once it ran under memcheck.
#[derive(Debug)]
pub(super) struct CheckedBinary {
    pub(super) binary: Binary,
    pub(super) elapsed: Duration,
    pub(super) status: ProgramStatus,
    /// The binary's own process.
    pub(super) program: TracedProcess,
    /// Processes the binary started (e.g. tests that re-run the test binary), each traced
    /// by Valgrind into its own XML file.
    pub(super) children: Vec<TracedProcess>,
    /// The binary's tests, for naming the test a finding belongs to.
    pub(super) tests: Vec<String>,
    /// The tests that reproduce each finding when run alone; filled only when a finding has
    /// no test function on its stack.
    pub(super) reproduced: Vec<Reproduced>,
    pub(super) logs: Logs,
    /// libtest's failure section, when tests failed.
    pub(super) failure_output: String,
}

/// Runs one binary under memcheck and reads the result. An `Err` is a problem with this
/// machine (cannot write files, cannot start Valgrind), not with the binary.
pub(super) fn check(
    binary: &Binary,
    work: &Path,
    settings: &MemcheckSettings,
) -> anyhow::Result<CheckedBinary> {
    let tests = if binary.libtest {
        attribute::list_tests(binary)
    } else {
        Vec::new()
    };
    let started = Instant::now();
    let traced = valgrind::run(binary, &binary.args, "", work, settings)?;
    let elapsed = started.elapsed();
    let stdout = fs::read_to_string(&traced.logs.stdout).unwrap_or_default();
    let status = match traced.exit {
        None => ProgramStatus::TimedOut,
        Some(exit) => status_of(exit, &stdout),
    };
    let mut checked = CheckedBinary {
        binary: binary.clone(),
        elapsed,
        status,
        program: traced.program,
        children: traced.children,
        tests,
        reproduced: Vec::new(),
        logs: traced.logs,
        failure_output: failure_section(&stdout),
    };
    if checked.needs_rerun() {
        checked.reproduced = attribute::rerun_each_test(binary, &checked.tests, work, settings)?;
        checked.elapsed = started.elapsed();
    }
    Ok(checked)
}

/// The binary's own outcome: Valgrind exits with the program's exit status. libtest's
/// plain text is read because its JSON output (`--format json`) is still unstable.
fn status_of(exit: ExitStatus, stdout: &str) -> ProgramStatus {
    if exit.success() {
        return ProgramStatus::Passed;
    }
    let failed_tests: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test ")?.strip_suffix(" ... FAILED"))
        .map(str::to_owned)
        .collect();
    if !failed_tests.is_empty() {
        return ProgramStatus::Failed(failed_tests);
    }
    ProgramStatus::Failed(vec![match exit.code() {
        Some(code) => format!("the binary exited with code {code}"),
        None => format!("the binary was killed ({exit})"),
    }])
}

/// libtest's "failures:" section, with each failed test's output and panic message.
fn failure_section(stdout: &str) -> String {
    match stdout.find("\nfailures:\n") {
        Some(at) => stdout[at + 1..]
            .split("\ntest result:")
            .next()
            .unwrap_or("")
            .to_owned(),
        None => String::new(),
    }
}

impl CheckedBinary {
    /// Copies the XML and logs to `dir`, each written to a temporary name and renamed.
    pub(super) fn keep(&self, dir: &Path) -> anyhow::Result<()> {
        let mut copies = vec![
            (&self.program.xml_path, "xml".to_owned()),
            (&self.logs.stdout, "stdout".to_owned()),
            (&self.logs.stderr, "stderr".to_owned()),
        ];
        for child in &self.children {
            copies.push((&child.xml_path, format!("child-{}.xml", child.pid)));
        }
        for (from, ext) in copies {
            if !from.exists() {
                continue;
            }
            let to = dir.join(format!("{}.{ext}", self.binary.stem));
            copy_atomic(from, &to)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_the_programs_own() {
        let ok = "test a ... ok\n\ntest result: ok. 1 passed; 0 failed\n";
        let failed = "test a ... FAILED\n\nfailures:\n\n---- a stdout ----\npanicked\n\nfailures:\n    a\n\ntest result: FAILED. 0 passed; 1 failed\n";
        let exit = |code: i32| {
            use std::os::unix::process::ExitStatusExt as _;
            ExitStatus::from_raw(code << 8)
        };
        assert_eq!(status_of(exit(0), ok), ProgramStatus::Passed);
        assert_eq!(
            status_of(exit(101), failed),
            ProgramStatus::Failed(vec!["a".to_owned()])
        );
        assert_eq!(
            status_of(exit(3), ""),
            ProgramStatus::Failed(vec!["the binary exited with code 3".to_owned()])
        );
        assert!(failure_section(failed).contains("panicked"));
    }
}
