//! `target/memcheck/summary.json`: a full run's verdict, for `cargo xtask slo`.

use std::fs;
use std::io;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use super::check::CheckedBinary;
use super::verdict::{EXIT_NOT_RUN, EXIT_TESTS_FAILED};

/// Where a full (unfiltered) run records its verdict, under the workspace.
const SUMMARY: &str = "target/memcheck/summary.json";

/// The file's schema 1, keys in the order the file lists them.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    /// How many binaries were checked.
    binaries: usize,
    /// `errors == 0`.
    clean: bool,
    /// The git `HEAD` checked.
    commit: &'a str,
    /// Findings that fail memcheck, over every binary.
    errors: usize,
    schema: u32,
    /// Binaries with no finding whose tests failed.
    tests_failed: usize,
}

/// Records a run that checked every binary; removes a stale file when some binary could
/// not be checked, so a partial run never reads as clean.
pub(super) fn write(root: &Path, results: &[CheckedBinary]) -> anyhow::Result<()> {
    let path = root.join(SUMMARY);
    if results.iter().any(|r| r.exit_code() == EXIT_NOT_RUN) {
        return remove_stale(&path);
    }
    let errors = results.iter().flat_map(CheckedBinary::findings).count();
    let summary = Summary {
        binaries: results.len(),
        clean: errors == 0,
        commit: &crate::util::head_commit(root),
        errors,
        schema: 1,
        tests_failed: results
            .iter()
            .filter(|r| r.exit_code() == EXIT_TESTS_FAILED)
            .count(),
    };
    let json = serde_json::to_string_pretty(&summary)?;
    crate::util::write_atomic(&path, format!("{json}\n").as_bytes())
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
        let summary = Summary {
            binaries: 5,
            clean: true,
            commit: "246aacd",
            errors: 0,
            schema: 1,
            tests_failed: 0,
        };
        assert_eq!(
            serde_json::to_string(&summary).unwrap(),
            r#"{"binaries":5,"clean":true,"commit":"246aacd","errors":0,"schema":1,"tests_failed":0}"#
        );
    }
}
