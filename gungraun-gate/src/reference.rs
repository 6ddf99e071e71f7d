//! What head is compared with: the reference. Three words, three things:
//!
//! - the baseline: `benches/baseline.json`, the committed figures ([`Baseline`]);
//! - the reference: what one gate run compares head with, the baseline's figures or a
//!   revision measured here ([`Reference::choose`]);
//! - the base: that revision (`--base REV`, or the baseline's commit when this machine's
//!   environment differs from the one that recorded the file), measured beside head.

use std::path::Path;

use anyhow::{Context, bail};

use crate::baseline::{Baseline, Environment};
use crate::invocation::{BASELINE, COMMAND};
use crate::util::{git, short_commit};

/// What head is compared with in one gate run.
pub(crate) struct Reference {
    /// The revision to measure here as the base; `None` when the file's figures are it.
    pub(crate) rev: Option<String>,
    /// What head is compared with, in words, for the report.
    pub(crate) compared_against: String,
    /// Why the file's figures were set aside, when they were for lack of comparability.
    pub(crate) note: Option<String>,
}

impl Reference {
    /// An explicit revision, else the baseline's commit when the environment differs, else
    /// the file's figures.
    pub(crate) fn choose(
        root: &Path,
        baseline: &Baseline,
        explicit: Option<String>,
        environment: &Environment,
    ) -> anyhow::Result<Reference> {
        if let Some(rev) = explicit {
            return Ok(Reference {
                compared_against: format!("{rev} measured on this machine"),
                rev: Some(rev),
                note: None,
            });
        }
        let differences = baseline.environment.differences(environment);
        if differences.is_empty() {
            return Ok(Reference {
                rev: None,
                compared_against: the_file(baseline),
                note: None,
            });
        }
        let what: Vec<String> = differences.iter().map(ToString::to_string).collect();
        let note = format!(
            "this machine's environment differs from the baseline's ({}); the figures in \
             {BASELINE} are not comparable, so the commit that recorded them was measured \
             here instead",
            what.join(", ")
        );
        let rev = baseline_commit(root, baseline).map_err(|err| {
            anyhow::anyhow!(
                "the environment differs from the baseline's and its commit cannot be \
                 measured here ({err:#}); run `{COMMAND} --base <rev>` or \
                 re-record with `{COMMAND} --save`"
            )
        })?;
        Ok(Reference {
            compared_against: recording_commit_measured_here(&rev),
            rev: Some(rev),
            note: Some(note),
        })
    }
}

/// The file, and the commit it was recorded at, in words.
fn the_file(baseline: &Baseline) -> String {
    format!(
        "{BASELINE} (recorded at {}{})",
        baseline
            .commit
            .as_deref()
            .map_or("an unknown commit", short_commit),
        if baseline.dirty {
            " with local changes"
        } else {
            ""
        }
    )
}

/// The commit that recorded the file, measured on this machine, in words.
pub(crate) fn recording_commit_measured_here(rev: &str) -> String {
    format!(
        "{} (the commit that recorded {BASELINE}) measured on this machine",
        short_commit(rev)
    )
}

/// The commit whose code the baseline figures describe: the last commit that changed the
/// file when the working copy is the committed one, else the commit recorded in it.
pub(crate) fn baseline_commit(root: &Path, baseline: &Baseline) -> anyhow::Result<String> {
    git(root, &["rev-parse", "--git-dir"]).context("not a git repository")?;
    let committed = git(
        root,
        &["diff", "--quiet", "HEAD", "--", BASELINE.relative()],
    )
    .is_ok();
    if committed {
        let rev = git(
            root,
            &["log", "-1", "--format=%H", "--", BASELINE.relative()],
        )?;
        if !rev.is_empty() {
            return Ok(rev);
        }
    }
    match &baseline.commit {
        Some(rev) if git(root, &["cat-file", "-e", &format!("{rev}^{{commit}}")]).is_ok() => {
            Ok(rev.clone())
        }
        Some(rev) => bail!("the baseline's commit {rev} is not in this repository"),
        None => bail!("{BASELINE} is not committed and names no commit"),
    }
}
