//! A checked binary: everything known about one binary once it ran under memcheck, and
//! the verdict on it, from its XML and its program's own status alone. The other steps
//! make it ([`super::check`], [`super::attribute`]) or read it ([`super::report`],
//! [`super::summary`]).

use std::time::Duration;

use super::build::Binary;
use super::valgrind::{Logs, TracedProcess};
use super::xml::{self, ValgrindOutput};
use crate::exit::Exit;

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

/// A finding no test function's frame names, and the tests that reproduce it alone.
#[derive(Debug)]
pub(super) struct Reproduced {
    /// The finding's [`super::attribute::signature`].
    pub(super) signature: String,
    pub(super) tests: Vec<String>,
}

impl CheckedBinary {
    /// Every XML read: the binary's own (`None`), then each child's (`Some(child)`).
    pub(super) fn outputs(
        &self,
    ) -> impl Iterator<Item = (Option<&TracedProcess>, &ValgrindOutput)> {
        let own = self.program.output.as_ref().ok().map(|out| (None, out));
        let children = self
            .children
            .iter()
            .filter_map(|c| c.output.as_ref().ok().map(|out| (Some(c), out)));
        own.into_iter().chain(children)
    }

    /// The errors that fail the check (`failing`) or those reported only, each with the
    /// child process it came from (`None`: the binary's own).
    pub(super) fn errors(
        &self,
        failing: bool,
    ) -> impl Iterator<Item = (Option<&TracedProcess>, &xml::Error)> {
        self.outputs().flat_map(move |(child, output)| {
            output
                .errors
                .iter()
                .filter(move |e| e.kind.fails() == failing)
                .map(move |e| (child, e))
        })
    }

    pub(super) fn findings(&self) -> impl Iterator<Item = &xml::Error> {
        self.errors(true).map(|(_, e)| e)
    }

    pub(super) fn warnings(&self) -> impl Iterator<Item = &xml::Error> {
        self.errors(false).map(|(_, e)| e)
    }

    /// Findings first (`Failed`), then a run that could not be read or timed out
    /// (`NotRun`), then failed tests (`TestsFailed`).
    pub(super) fn exit_code(&self) -> Exit {
        if self.findings().next().is_some() {
            Exit::Failed
        } else if self.program.output.is_err() || self.status == ProgramStatus::TimedOut {
            Exit::NotRun
        } else if matches!(self.status, ProgramStatus::Failed(_)) {
            Exit::TestsFailed
        } else {
            Exit::Passed
        }
    }
}

/// The verdict's tests, whose fixtures `report.rs`'s tests reuse.
#[cfg(test)]
pub(super) mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::memcheck::valgrind::read_xml;
    use crate::memcheck::xml::{Kind, LeakKind};
    use crate::project_root;

    pub(in crate::memcheck) fn fixture_output(name: &str) -> Result<ValgrindOutput, String> {
        let path = project_root()
            .join("xtask/tests/fixtures/memcheck")
            .join(name);
        read_xml(&path, None)
    }

    /// A process Valgrind traced, whose XML is `output`.
    fn traced(pid: u32, output: Result<ValgrindOutput, String>) -> TracedProcess {
        TracedProcess {
            pid,
            xml_path: PathBuf::new(),
            output,
        }
    }

    /// A checked binary whose own XML is `output`, with no children, that ended with
    /// `status`.
    fn checked(output: Result<ValgrindOutput, String>, status: ProgramStatus) -> CheckedBinary {
        CheckedBinary {
            binary: Binary::new("fixture", "test", PathBuf::from("fixture"), true),
            elapsed: Duration::ZERO,
            status,
            program: traced(0, output),
            children: Vec::new(),
            tests: Vec::new(),
            reproduced: Vec::new(),
            logs: Logs::default(),
            failure_output: String::new(),
        }
    }

    /// `unknown-kind.xml` without its unknown kind: one possibly lost block, nothing else.
    fn possibly_lost_only() -> Result<ValgrindOutput, String> {
        let mut output = fixture_output("unknown-kind.xml")?;
        output
            .errors
            .retain(|e| !matches!(e.kind, Kind::Unknown(_)));
        assert_eq!(output.errors.len(), 1);
        assert_eq!(output.errors[0].kind, Kind::Leak(LeakKind::Possible));
        Ok(output)
    }

    /// The verdict from parsed XML and the program's own outcome, without Valgrind.
    #[test]
    fn verdict_from_fixtures() {
        let failed = || ProgramStatus::Failed(vec!["a_test".to_owned()]);
        let cases: Vec<(&str, CheckedBinary, Exit)> = vec![
            (
                "definite leak",
                checked(fixture_output("definite-leak.xml"), ProgramStatus::Passed),
                Exit::Failed,
            ),
            (
                "invalid read",
                checked(fixture_output("invalid-read.xml"), ProgramStatus::Passed),
                Exit::Failed,
            ),
            (
                "protocol 6: invalid write and leak",
                checked(fixture_output("protocol6.xml"), ProgramStatus::Passed),
                Exit::Failed,
            ),
            (
                "unknown kind is a finding",
                checked(fixture_output("unknown-kind.xml"), ProgramStatus::Passed),
                Exit::Failed,
            ),
            (
                "a finding wins over a failed test",
                checked(fixture_output("definite-leak.xml"), failed()),
                Exit::Failed,
            ),
            (
                "a finding wins over a timeout",
                checked(fixture_output("definite-leak.xml"), ProgramStatus::TimedOut),
                Exit::Failed,
            ),
            (
                "clean",
                checked(fixture_output("clean.xml"), ProgramStatus::Passed),
                Exit::Passed,
            ),
            (
                "clean but a test failed",
                checked(fixture_output("clean.xml"), failed()),
                Exit::TestsFailed,
            ),
            (
                "possibly lost only",
                checked(possibly_lost_only(), ProgramStatus::Passed),
                Exit::Passed,
            ),
            (
                "unclosed file descriptor only",
                checked(fixture_output("protocol5-fds.xml"), ProgramStatus::Passed),
                Exit::Passed,
            ),
            (
                "truncated XML could not be read",
                checked(fixture_output("truncated.xml"), ProgramStatus::Passed),
                Exit::NotRun,
            ),
            (
                "unreadable XML wins over a failed test",
                checked(fixture_output("truncated.xml"), failed()),
                Exit::NotRun,
            ),
            (
                "clean but timed out",
                checked(fixture_output("clean.xml"), ProgramStatus::TimedOut),
                Exit::NotRun,
            ),
        ];
        let mut wrong = Vec::new();
        for (name, checked, want) in &cases {
            let got = checked.exit_code();
            if got != *want {
                wrong.push(format!("{name}: exit {got:?}, want {want:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// A clean program whose child process read invalid memory.
    pub(in crate::memcheck) fn failing_child() -> CheckedBinary {
        let mut parent = checked(fixture_output("clean.xml"), ProgramStatus::Passed);
        parent
            .children
            .push(traced(42, fixture_output("invalid-read.xml")));
        parent
    }

    #[test]
    fn a_finding_in_a_child_process_fails_the_binary() {
        assert_eq!(failing_child().exit_code(), Exit::Failed);
    }
}
