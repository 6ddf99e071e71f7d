//! Which gungraun release the workspace benchmarks with, read from its `Cargo.lock`: the
//! summary schema its runner writes and how that runner is told to start Valgrind through
//! the gate's pinning wrappers.
//!
//! Supported: gungraun 0.20.x (summary schema `7`, read through gungraun-runner 0.20's own
//! model) and 0.19.x (schema `6`, read through the gate's model of the fields it needs,
//! [`crate::summary`]). From 0.19 to 0.20 the summary's layout changed (`profiles[].summaries`
//! with `total.summary` and parts of `details` and `metrics_summary`, each figure a
//! `{"Left": {"Int": n}}`, became `profiles[].data` with `total.metrics` and parts of
//! `tool_run` and `metrics`, each figure a `{"values": {"new": n}}`; 0.20 added
//! `output_dir`), and the runner's wrapper option was renamed (`--valgrind-runner` and
//! `GUNGRAUN_VR_*` became `--tool-runner` and `GUNGRAUN_TR_*`).
//!
//! iai-callgrind is not read: its last release, 0.16.1, writes schema `6` too, but its
//! runner has no option to start Valgrind through a wrapper (so no pinning) and its
//! crates, paths and variables have other names (`iai-callgrind-runner`, `target/iai`,
//! `IAI_CALLGRIND_*`).

use crate::tools::PinnedTool;

/// How `cargo install` builds gungraun-runner: unoptimised (`--debug`) and without debug
/// information. The runner only starts Valgrind and reads its output files, so Valgrind's
/// time dwarfs its own: a suite run took 18.5–23.0 s with a `--debug` runner against
/// 19.2–22.5 s with an `opt-level = 1` one, the same figures, while its install took 190
/// CPU-seconds (user + system) against 350, and 153 without debug information, the largest
/// phase of a fresh clone's first gate run (docs/history.md, "A fresh clone's first run").
const RUNNER_INSTALL_ARGS: &[&str] = &["--debug", "--config", "profile.dev.debug=0"];

/// A supported gungraun release line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Harness {
    /// gungraun 0.20.x: summary schema `7`, `--tool-runner`.
    Gungraun020,
    /// gungraun 0.19.x: summary schema `6`, `--valgrind-runner`.
    Gungraun019,
}

impl Harness {
    /// Every supported release line, newest first.
    const ALL: [Harness; 2] = [Harness::Gungraun020, Harness::Gungraun019];

    /// The release line of a locked `gungraun` version, or one line that says it is not
    /// read and names the supported ones.
    pub fn of_locked(locked: &str) -> anyhow::Result<Harness> {
        let matches = |harness: &&Harness| {
            locked
                .strip_prefix(harness.release())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        };
        match Harness::ALL.iter().find(matches) {
            Some(harness) => Ok(*harness),
            None => Err(Harness::refuse(&format!(
                "Cargo.lock pins gungraun {locked}"
            ))),
        }
    }

    /// The one-line refusal of a harness the gate does not read: `what`, then the supported
    /// release lines.
    pub fn refuse(what: &str) -> anyhow::Error {
        let names: Vec<String> = Harness::ALL
            .iter()
            .map(|h| format!("gungraun {}.x (summary schema {})", h.release(), h.schema()))
            .collect();
        anyhow::anyhow!(
            "{what}, which this gate does not read; supported: {}",
            names.join(", ")
        )
    }

    /// `gungraun-runner` at exactly the locked `gungraun` version (both crates are
    /// released together and the runner refuses a library of another version).
    pub fn runner(version: &str) -> PinnedTool<'_> {
        PinnedTool {
            krate: "gungraun-runner",
            bin: "gungraun-runner",
            version,
            version_args: &["--version"],
            install_args: RUNNER_INSTALL_ARGS,
        }
    }

    /// The `major.minor` of the release line.
    pub fn release(self) -> &'static str {
        match self {
            Harness::Gungraun020 => "0.20",
            Harness::Gungraun019 => "0.19",
        }
    }

    /// The `version` field of the summaries its runner writes.
    pub fn schema(self) -> &'static str {
        match self {
            Harness::Gungraun020 => gungraun_runner::summary::model::SCHEMA_VERSION,
            Harness::Gungraun019 => "6",
        }
    }

    /// The runner's option that starts Valgrind through another program, without its
    /// leading dashes; `{it}-args` passes that program's arguments.
    pub fn wrapper_option(self) -> &'static str {
        match self {
            Harness::Gungraun020 => "tool-runner",
            Harness::Gungraun019 => "valgrind-runner",
        }
    }

    /// The variables the runner sets for that program, which would otherwise reach the
    /// benchmark's process.
    pub fn wrapper_variables(self) -> [&'static str; 3] {
        match self {
            Harness::Gungraun020 => [
                "GUNGRAUN_TR_DEST_DIR",
                "GUNGRAUN_TR_HOME",
                "GUNGRAUN_TR_WORKSPACE_ROOT",
            ],
            Harness::Gungraun019 => [
                "GUNGRAUN_VR_DEST_DIR",
                "GUNGRAUN_VR_HOME",
                "GUNGRAUN_VR_WORKSPACE_ROOT",
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Harness;

    #[test]
    fn the_locked_version_selects_the_release_line() {
        for (locked, harness) in [
            ("0.20.0", Harness::Gungraun020),
            ("0.20.1", Harness::Gungraun020),
            ("0.20", Harness::Gungraun020),
            ("0.19.1", Harness::Gungraun019),
            ("0.19.4", Harness::Gungraun019),
        ] {
            assert_eq!(Harness::of_locked(locked).unwrap(), harness, "{locked}");
        }
        assert_eq!(Harness::Gungraun020.schema(), "7");
        assert_eq!(Harness::Gungraun019.schema(), "6");
    }

    #[test]
    fn another_version_is_refused_in_one_line_naming_the_supported_ones() {
        for refused in ["0.200.0", "0.21.0", "0.17.2", "0.16.1", "0.1.9", "1.0.0"] {
            let err = Harness::of_locked(refused).unwrap_err().to_string();
            assert!(
                err.ends_with(
                    "supported: gungraun 0.20.x (summary schema 7), \
                     gungraun 0.19.x (summary schema 6)"
                ),
                "{err}"
            );
            assert!(err.contains(refused), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
