//! How a task ended, as its exit code: one type for every task, so that 0, 1 and 2 mean the
//! same thing whichever task printed them. Each task documents its codes in `flags.rs`.

use std::process::ExitCode;

/// A task's exit code, by what it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: the check passed (no regression, GO, clean, goal met, every step passed).
    Passed,
    /// 1: the check failed (a regression, NO-GO, a memcheck finding, goal not met, a test
    /// that failed, a culprit found).
    Failed,
    /// 2: nothing was judged: the task could not run, build or measure. Also every error
    /// that reaches `main`.
    NotRun,
    /// 3, `cargo xtask memcheck` only: memcheck clean, but a test failed or the demo exited
    /// unsuccessfully.
    TestsFailed,
    /// `cargo xtask ci`: the exit code of the step that failed, passed on (never 0).
    Step(u8),
}

impl Exit {
    /// The number the process exits with.
    pub fn code(self) -> u8 {
        match self {
            Exit::Passed => 0,
            Exit::Failed => 1,
            Exit::NotRun => 2,
            Exit::TestsFailed => 3,
            Exit::Step(code) => code,
        }
    }

    /// `Passed` when `passed`, else `Failed`.
    pub fn passed_if(passed: bool) -> Exit {
        if passed { Exit::Passed } else { Exit::Failed }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes `flags.rs` documents for every task.
    #[test]
    fn codes_are_the_documented_ones() {
        let codes = [
            Exit::Passed,
            Exit::Failed,
            Exit::NotRun,
            Exit::TestsFailed,
            Exit::Step(101),
        ]
        .map(Exit::code);
        assert_eq!(codes, [0, 1, 2, 3, 101]);
        assert_eq!(Exit::passed_if(true), Exit::Passed);
        assert_eq!(Exit::passed_if(false), Exit::Failed);
    }
}
