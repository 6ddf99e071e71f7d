//! `cargo xtask mutants`: how many deliberate breakages of the deciding code the tests catch.
//!
//! cargo-mutants (pinned, installed under `target/tools/`) mutates the library and the code
//! that turns measurements into verdicts: the bench gate's `compare.rs`, the SLO table and
//! memcheck's verdict. Each mutant is built and tested in a scratch copy of the tree; this
//! task reads its `outcomes.json`, counts the outcomes per file and scores them against the
//! goal. Accepted survivors are excluded in `.cargo/mutants.toml`, each with its reason.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::Context as _;

use crate::exit::Exit;
use crate::tools::PinnedTool;
use crate::{flags, project_root};
use tally::{MutantsTally, parse};

mod tally;

pub(crate) const CARGO_MUTANTS: PinnedTool<'static> = PinnedTool {
    krate: "cargo-mutants",
    bin: "cargo-mutants",
    version: "27.1.0",
    version_args: &["mutants", "--version"],
    install_args: &[],
};

/// The files whose mutants are generated, as cargo-mutants `--file` globs.
const FILES: &[&str] = &[
    "src/**/*.rs",
    "gungraun-gate/src/compare.rs",
    "xtask/src/slo/table.rs",
    "xtask/src/slo/table/*.rs",
    "xtask/src/memcheck/verdict.rs",
    "xtask/src/memcheck/xml.rs",
];

/// Which of those files' mutants count, as cargo-mutants `--re` regexes over the mutant's
/// name (`path:line:col: description`). memcheck's files are mostly the run and the
/// report; only the verdict is mutated there: `CheckedBinary::exit_code` and what it reads.
const SCOPE: &[&str] = &[
    r"^src/",
    r"^gungraun-gate/src/compare\.rs:",
    r"^xtask/src/slo/table(\.rs|/\w+\.rs):",
    r"^xtask/src/memcheck/verdict\.rs:.*\bCheckedBinary::(exit_code|findings|errors|outputs)\b",
    r"^xtask/src/memcheck/xml\.rs:.*\bKind::(parse|fails)\b",
];

/// Share of viable mutants the tests must catch.
const GOAL: f64 = 0.90;
/// Files under this prefix must have no timed-out mutant: a hang there is a test that can
/// hang, which fails no one.
const NO_TIMEOUTS_UNDER: &str = "src/";

impl flags::Mutants {
    pub(crate) fn run(self) -> anyhow::Result<Exit> {
        let root = project_root();
        let out_dir = root.join("target").join("mutants");
        if !self.no_run
            && let Some(exit) = self.run_cargo_mutants(&root, &out_dir)?
        {
            return Ok(exit);
        }
        let path = out_dir.join("mutants.out").join("outcomes.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let tally = MutantsTally::from_outcomes(&parse(&text)?);
        print!("{}", tally.render());
        let exit = tally.verdict().exit_code();
        println!("mutants: {}", tally.verdict().line());
        Ok(exit)
    }

    /// Runs cargo-mutants into `out_dir`. `Some(code)` when there is nothing to score: the
    /// arguments only listed mutants, or cargo-mutants could not test them.
    fn run_cargo_mutants(&self, root: &Path, out_dir: &Path) -> anyhow::Result<Option<Exit>> {
        let bin_dir = CARGO_MUTANTS.ensure(root, "xtask mutants")?;
        let started = Instant::now();
        let github = crate::ci::on_github();
        if github {
            println!("::group::cargo-mutants");
        }
        let status = Command::new(bin_dir.join(CARGO_MUTANTS.bin))
            .arg("mutants")
            .args(self.cargo_mutants_args(out_dir))
            .current_dir(root)
            // Each scratch copy builds in its own target directory; a shared one would
            // have mutated builds replace the developer's artifacts.
            .env_remove("CARGO_TARGET_DIR")
            .status()
            .context("cannot run cargo-mutants")?;
        if github {
            println!("::endgroup::");
        }
        println!(
            "mutants: cargo-mutants finished in {:.0} s ({status})",
            started.elapsed().as_secs_f64()
        );
        if self.lists_only() {
            let exit = if status.success() {
                Exit::Passed
            } else {
                Exit::NotRun
            };
            return Ok(Some(exit));
        }
        // cargo-mutants' own codes: 2 missed mutants, 3 timeouts (both judged by the
        // caller); 1 usage error and 4 the unmutated tree failing its tests mean nothing was
        // measured.
        if matches!(status.code(), Some(1 | 4) | None) {
            eprintln!("mutants: cargo-mutants could not test the mutants ({status})");
            return Ok(Some(Exit::NotRun));
        }
        Ok(None)
    }

    /// Whether the pass-through arguments only list mutants or files: nothing to score.
    fn lists_only(&self) -> bool {
        self.cargo_mutants
            .iter()
            .any(|a| a == "--list" || a == "--list-files")
    }

    /// cargo-mutants' arguments: the files, the scope, the timeout, then the pass-through.
    fn cargo_mutants_args(&self, out_dir: &Path) -> Vec<String> {
        let mut args = vec![
            "--workspace".to_owned(),
            "--no-shuffle".to_owned(),
            "--output".to_owned(),
            out_dir.to_string_lossy().into_owned(),
            "--timeout".to_owned(),
            self.timeout.to_string(),
            "--jobs".to_owned(),
            self.jobs.to_string(),
        ];
        let files: Vec<&str> = if self.file.is_empty() {
            FILES.to_vec()
        } else {
            self.file.iter().map(String::as_str).collect()
        };
        for file in files {
            args.extend(["--file".to_owned(), file.to_owned()]);
        }
        for re in SCOPE {
            args.extend(["--re".to_owned(), (*re).to_owned()]);
        }
        args.extend(self.cargo_mutants.iter().cloned());
        args
    }
}

// ---------------------------------------------------------------------------------------
// cargo-mutants' `outcomes.json`, only the fields read here.

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_scope_the_files_and_pass_the_rest_through() {
        let flags = flags::Mutants {
            no_run: false,
            timeout: 120,
            jobs: 1,
            file: vec![],
            cargo_mutants: vec!["--list".to_owned()],
        };
        let args = flags.cargo_mutants_args(Path::new("/t"));
        let joined = args.join(" ");
        assert!(joined.contains("--timeout 120"), "{joined}");
        assert!(
            joined.contains("--file gungraun-gate/src/compare.rs"),
            "{joined}"
        );
        assert!(joined.contains("--file src/**/*.rs"), "{joined}");
        assert_eq!(args.last().map(String::as_str), Some("--list"));
        let only = flags::Mutants {
            file: vec!["src/execute.rs".to_owned()],
            ..flags
        };
        let joined = only.cargo_mutants_args(Path::new("/t")).join(" ");
        assert!(joined.contains("--file src/execute.rs"), "{joined}");
        assert!(!joined.contains("compare.rs"), "{joined}");
    }
}
