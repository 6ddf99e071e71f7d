//! Checking one binary: its run under memcheck, how the program itself ended, and the
//! files to keep.

use std::fs;
use std::path::Path;
use std::process::ExitStatus;
use std::time::Instant;

use super::attribute;
use super::build::Binary;
use super::valgrind::{self, MemcheckSettings};
use super::verdict::{CheckedBinary, ProgramStatus};
use crate::util::copy_atomic;

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
    if attribute::needs_rerun(&checked) {
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

/// Copies `checked`'s XML and logs to `dir`, each written to a temporary name and renamed.
pub(super) fn keep(checked: &CheckedBinary, dir: &Path) -> anyhow::Result<()> {
    let mut copies = vec![
        (&checked.program.xml_path, "xml".to_owned()),
        (&checked.logs.stdout, "stdout".to_owned()),
        (&checked.logs.stderr, "stderr".to_owned()),
    ];
    for child in &checked.children {
        copies.push((&child.xml_path, format!("child-{}.xml", child.pid)));
    }
    for (from, ext) in copies {
        if !from.exists() {
            continue;
        }
        let to = dir.join(format!("{}.{ext}", checked.binary.stem));
        copy_atomic(from, &to)?;
    }
    Ok(())
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
