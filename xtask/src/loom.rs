//! `cargo xtask loom`: the loom models of the library's synchronisation (`tests/loom.rs`),
//! then the stress tests that race real threads through the shared runtime, and a summary
//! for the SLO table's "no deadlocks or race conditions" row.
//!
//! The models need `--cfg globalrt_loom`, which changes every crate's build, so they build
//! in a target directory of their own and the usual builds keep their cache.

use std::path::Path;
use std::process::Command;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::exit::Exit;
use crate::util::write_json;
use crate::{cargo, flags, project_root};

/// The cfg that switches `src/parker.rs` to loom's primitives inside `tests/loom.rs`.
const LOOM_CFG: &str = "--cfg globalrt_loom";

/// Where the summary goes; `cargo xtask slo` reads it.
const SUMMARY: &str = "target/loom/summary.json";

/// The integration tests that race threads against each other and against `shutdown`.
const STRESS_TESTS: [&str; 3] = [
    "concurrency::",
    "process::shutdown_racing_callers_get_shut_down_errors",
    "process::init_racing_first_use_builds_one_runtime",
];

/// One suite of the run and whether it passed.
struct LoomSuite {
    name: &'static str,
    passed: bool,
}

impl flags::Loom {
    pub(crate) fn run(self) -> anyhow::Result<Exit> {
        let root = project_root();
        let suites = [
            LoomSuite {
                name: "loom models",
                passed: run_models(&root)?,
            },
            LoomSuite {
                name: "stress tests",
                passed: run_stress_tests(&root)?,
            },
        ];
        let commit = crate::util::head_commit(&root);
        write_summary(&root.join(SUMMARY), &suites, &commit)?;
        let failed: Vec<&str> = suites
            .iter()
            .filter(|s| !s.passed)
            .map(|s| s.name)
            .collect();
        if failed.is_empty() {
            println!("loom: loom models and stress tests passed");
            Ok(Exit::Passed)
        } else {
            println!("loom: failed: {}", failed.join(", "));
            Ok(Exit::Failed)
        }
    }
}

fn run_models(root: &Path) -> anyhow::Result<bool> {
    let rustflags = match std::env::var("RUSTFLAGS") {
        Ok(existing) if !existing.trim().is_empty() => format!("{existing} {LOOM_CFG}"),
        _ => LOOM_CFG.to_owned(),
    };
    let status = Command::new(cargo())
        .current_dir(root)
        .args(["test", "--release", "--test", "loom"])
        .env("RUSTFLAGS", rustflags)
        .env("CARGO_TARGET_DIR", root.join("target").join("loom"))
        .status()
        .context("cannot run cargo test for the loom models")?;
    Ok(status.success())
}

fn run_stress_tests(root: &Path) -> anyhow::Result<bool> {
    let status = Command::new(cargo())
        .current_dir(root)
        .args(["test", "--test", "it", "--"])
        .args(STRESS_TESTS)
        .status()
        .context("cannot run cargo test for the stress tests")?;
    Ok(status.success())
}

/// `target/loom/summary.json` (schema 1), keys in the order the file lists them. The one
/// definition of the file: this task writes it and `cargo xtask slo` reads it. Reading
/// needs only `failed`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct LoomSummary {
    /// The git `HEAD` checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) commit: Option<String>,
    /// How many suites failed.
    pub(crate) failed: u64,
    #[serde(default = "schema_1")]
    pub(crate) schema: u32,
    /// Every suite's name, in the order they ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) suites: Option<Vec<String>>,
}

fn schema_1() -> u32 {
    1
}

fn write_summary(path: &Path, suites: &[LoomSuite], commit: &str) -> anyhow::Result<()> {
    let summary = LoomSummary {
        commit: Some(commit.to_owned()),
        failed: suites.iter().filter(|s| !s.passed).count() as u64,
        schema: 1,
        suites: Some(suites.iter().map(|s| s.name.to_owned()).collect()),
    };
    write_json(path, &summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo xtask slo` reads this file; its shape changes only with its schema, and the
    /// reader sees what the writer wrote.
    #[test]
    fn the_summary_keeps_schema_1_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("xtask-loom-{}", std::process::id()));
        let path = dir.join("summary.json");
        let suites = [
            LoomSuite {
                name: "loom models",
                passed: true,
            },
            LoomSuite {
                name: "stress tests",
                passed: false,
            },
        ];
        write_summary(&path, &suites, "abc").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            text,
            "{\n  \"commit\": \"abc\",\n  \"failed\": 1,\n  \"schema\": 1,\n  \"suites\": [\n    \
             \"loom models\",\n    \"stress tests\"\n  ]\n}\n"
        );
        let read: LoomSummary = serde_json::from_str(&text).unwrap();
        assert_eq!((read.failed, read.suites.unwrap().len()), (1, 2));
    }
}
