//! The steps of `cargo xtask ci`, written once: `--skip`'s values, `cargo xtask ci --help`
//! and the table `ci.rs` runs are all made from [`CiStep::ALL`]. The command line owns the
//! list, so that `ci.rs` reads it as it reads every flag, and the command line reads no task.

use std::ffi::OsString;

use crate::cargo;

/// Which program runs a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Program {
    /// `cargo …`, `$CARGO` when cargo started us.
    Cargo,
    /// `cargo xtask …`: this very binary, so no step recompiles it.
    Xtask,
}

/// One step of `cargo xtask ci`: its name (`--skip`'s value), what it runs, and what its
/// help line adds to the command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CiStep {
    name: &'static str,
    program: Program,
    args: &'static [&'static str],
    /// Said after the command in `--help`, with its own punctuation (`: the loom models`).
    note: &'static str,
}

impl CiStep {
    /// Every step, in the order `cargo xtask ci` runs them. The one list of them: the table
    /// `ci.rs` runs, `--skip`'s values and `cargo xtask ci --help` are all made from it.
    pub(crate) const ALL: [CiStep; 9] = [
        CiStep::cargo("fmt", &["fmt", "--all", "--", "--check"], ""),
        CiStep::cargo(
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
            "",
        ),
        CiStep::xtask("workflows", &["lint-workflows"], ""),
        CiStep::xtask(
            "platforms",
            &["platforms"],
            ": clippy for Windows and macOS",
        ),
        CiStep::cargo("test", &["test", "--workspace"], ""),
        CiStep::xtask("loom", &["loom"], ": the loom models"),
        CiStep::xtask("memcheck", &["memcheck"], ""),
        CiStep::cargo(
            "memcheck-selftest",
            &[
                "test",
                "-p",
                "xtask",
                "--",
                "--ignored",
                "valgrind_catches_the_deliberate_bugs",
            ],
            ": memcheck must catch deliberate bugs",
        ),
        CiStep::xtask("bench", &["bench"], ", the instruction-count gate"),
    ];

    const fn cargo(name: &'static str, args: &'static [&'static str], note: &'static str) -> Self {
        CiStep {
            name,
            program: Program::Cargo,
            args,
            note,
        }
    }

    const fn xtask(name: &'static str, args: &'static [&'static str], note: &'static str) -> Self {
        CiStep {
            name,
            program: Program::Xtask,
            args,
            note,
        }
    }

    /// The step's name, as `--skip` takes it and the README lists it.
    pub(crate) fn name(self) -> &'static str {
        self.name
    }

    /// The step's arguments, after `cargo` or `cargo xtask`.
    pub(crate) fn args(self) -> &'static [&'static str] {
        self.args
    }

    /// The step's command as a user would type it: `cargo …` or `cargo xtask …`.
    pub(crate) fn command_line(self) -> String {
        let program = match self.program {
            Program::Cargo => "cargo",
            Program::Xtask => "cargo xtask",
        };
        format!("{program} {}", self.args.join(" "))
    }

    /// The step's line in `--help`: its command, and what it is for when the command does
    /// not say.
    fn help(self) -> String {
        format!("`{}`{}", self.command_line(), self.note)
    }

    /// The program to start: `$CARGO`, or this binary (`xtask`).
    pub(crate) fn program(self, xtask: &OsString) -> OsString {
        match self.program {
            Program::Cargo => cargo(),
            Program::Xtask => xtask.clone(),
        }
    }
}

impl clap::ValueEnum for CiStep {
    fn value_variants<'a>() -> &'a [Self] {
        &CiStep::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()).help(self.help()))
    }
}

impl std::fmt::Display for CiStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `cargo xtask ci --help`'s text after its first line.
const ABOUT_AFTER_STEPS: &str = "\
Prints a timing per step, folds output in `::group::` sections on GitHub Actions, and
stops at the first failing step.

Exit codes: 0 every step that ran passed; otherwise the failing step's exit code
(1 if it had none), and 2 if a step could not be started or every step was skipped.";

/// `cargo xtask ci`'s one-line help: the steps, in order.
pub(super) fn about() -> String {
    let names: Vec<&str> = CiStep::ALL.iter().map(|step| step.name()).collect();
    format!("Run every check CI runs, in order: {}.", names.join(", "))
}

/// `cargo xtask ci --help`.
pub(super) fn long_about() -> String {
    format!("{}\n\n{ABOUT_AFTER_STEPS}", about())
}
