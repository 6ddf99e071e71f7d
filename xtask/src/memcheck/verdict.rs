//! The verdict on one binary, from its XML and its program's own status alone.

use super::check::{CheckedBinary, ProgramStatus};
use super::valgrind::TracedProcess;
use super::xml::{self, ValgrindOutput};

/// A memcheck finding: a definitely or indirectly lost leak, an invalid access, free or jump,
/// use of an uninitialised value, or a kind this reader does not know.
pub(super) const EXIT_FINDINGS: u8 = 1;
/// Could not run or could not read the result: no Valgrind, a build failure, a truncated XML
/// file, a timeout.
pub(super) const EXIT_NOT_RUN: u8 = 2;
/// No memcheck finding, but a test failed or a binary exited unsuccessfully.
pub(super) const EXIT_TESTS_FAILED: u8 = 3;

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

    /// Findings first, then a run that could not be read or timed out, then failed tests.
    pub(super) fn exit_code(&self) -> u8 {
        if self.findings().next().is_some() {
            EXIT_FINDINGS
        } else if self.program.output.is_err() || self.status == ProgramStatus::TimedOut {
            EXIT_NOT_RUN
        } else if matches!(self.status, ProgramStatus::Failed(_)) {
            EXIT_TESTS_FAILED
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::memcheck::build::Binary;
    use crate::memcheck::valgrind::{Logs, read_xml};
    use crate::memcheck::xml::{Kind, LeakKind};
    use crate::project_root;

    fn fixture_output(name: &str) -> Result<ValgrindOutput, String> {
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
        let cases: Vec<(&str, CheckedBinary, u8)> = vec![
            (
                "definite leak",
                checked(fixture_output("definite-leak.xml"), ProgramStatus::Passed),
                EXIT_FINDINGS,
            ),
            (
                "invalid read",
                checked(fixture_output("invalid-read.xml"), ProgramStatus::Passed),
                EXIT_FINDINGS,
            ),
            (
                "protocol 6: invalid write and leak",
                checked(fixture_output("protocol6.xml"), ProgramStatus::Passed),
                EXIT_FINDINGS,
            ),
            (
                "unknown kind is a finding",
                checked(fixture_output("unknown-kind.xml"), ProgramStatus::Passed),
                EXIT_FINDINGS,
            ),
            (
                "a finding wins over a failed test",
                checked(fixture_output("definite-leak.xml"), failed()),
                EXIT_FINDINGS,
            ),
            (
                "a finding wins over a timeout",
                checked(fixture_output("definite-leak.xml"), ProgramStatus::TimedOut),
                EXIT_FINDINGS,
            ),
            (
                "clean",
                checked(fixture_output("clean.xml"), ProgramStatus::Passed),
                0,
            ),
            (
                "clean but a test failed",
                checked(fixture_output("clean.xml"), failed()),
                EXIT_TESTS_FAILED,
            ),
            (
                "possibly lost only",
                checked(possibly_lost_only(), ProgramStatus::Passed),
                0,
            ),
            (
                "unclosed file descriptor only",
                checked(fixture_output("protocol5-fds.xml"), ProgramStatus::Passed),
                0,
            ),
            (
                "truncated XML could not be read",
                checked(fixture_output("truncated.xml"), ProgramStatus::Passed),
                EXIT_NOT_RUN,
            ),
            (
                "unreadable XML wins over a failed test",
                checked(fixture_output("truncated.xml"), failed()),
                EXIT_NOT_RUN,
            ),
            (
                "clean but timed out",
                checked(fixture_output("clean.xml"), ProgramStatus::TimedOut),
                EXIT_NOT_RUN,
            ),
        ];
        let mut wrong = Vec::new();
        for (name, checked, want) in &cases {
            let got = checked.exit_code();
            if got != *want {
                wrong.push(format!("{name}: exit {got}, want {want}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn a_finding_in_a_child_process_fails_the_binary() {
        let mut parent = checked(fixture_output("clean.xml"), ProgramStatus::Passed);
        parent
            .children
            .push(traced(42, fixture_output("invalid-read.xml")));
        assert_eq!(parent.exit_code(), EXIT_FINDINGS);
        assert!(parent.headline().starts_with("FAIL (memcheck)"));
    }
}
