//! `target/memcheck/summary.json`: a full run's verdict, for `cargo xtask slo`.

use std::fs;
use std::io;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::verdict::CheckedBinary;
use crate::exit::Exit;

/// Where a full (unfiltered) run records its verdict, under the workspace.
const SUMMARY: &str = "target/memcheck/summary.json";

/// The file's schema 1, keys in the order the file lists them. The one definition of the
/// file: memcheck writes it and `cargo xtask slo` reads it. Reading needs only `errors`, so
/// an older or hand-made file with fewer keys still reads.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct MemcheckSummary {
    /// How many binaries were checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) binaries: Option<usize>,
    /// `errors == 0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) clean: Option<bool>,
    /// The git `HEAD` checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) commit: Option<String>,
    /// Findings that fail memcheck, over every binary.
    pub(crate) errors: u64,
    #[serde(default = "schema_1")]
    pub(crate) schema: u32,
    /// Binaries with no finding whose tests failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tests_failed: Option<usize>,
}

fn schema_1() -> u32 {
    1
}

/// Records a run that checked every binary; removes a stale file when some binary could
/// not be checked, so a partial run never reads as clean.
pub(super) fn write(root: &Path, results: &[CheckedBinary]) -> anyhow::Result<()> {
    let path = root.join(SUMMARY);
    if results.iter().any(|r| r.exit_code() == Exit::NotRun) {
        return remove_stale(&path);
    }
    let errors = results.iter().flat_map(CheckedBinary::findings).count();
    let summary = MemcheckSummary {
        binaries: Some(results.len()),
        clean: Some(errors == 0),
        commit: Some(crate::util::head_commit(root)),
        errors: errors as u64,
        schema: 1,
        tests_failed: Some(
            results
                .iter()
                .filter(|r| r.exit_code() == Exit::TestsFailed)
                .count(),
        ),
    };
    crate::util::write_json(&path, &summary)
}

fn remove_stale(path: &Path) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => println!(
            "memcheck: removed {} (this run did not check every binary)",
            path.display()
        ),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => {
            return Err(err).with_context(|| format!("cannot remove {}", path.display()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo xtask slo` reads these keys; the file's shape changes only with its schema.
    #[test]
    fn schema_1_keys_and_order() {
        let summary = MemcheckSummary {
            binaries: Some(5),
            clean: Some(true),
            commit: Some("246aacd".to_owned()),
            errors: 0,
            schema: 1,
            tests_failed: Some(0),
        };
        assert_eq!(
            serde_json::to_string(&summary).unwrap(),
            r#"{"binaries":5,"clean":true,"commit":"246aacd","errors":0,"schema":1,"tests_failed":0}"#
        );
    }
}
