//! The checkout of a revision other than the working tree's: a git worktree under
//! `target/xtask-bench/worktree`, kept between gate runs.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::util::{git, short_commit};

/// A revision checked out in a git worktree. It stays after the gate run, so that the next
/// one switches it with `git checkout`, which rewrites only the files that differ: cargo
/// then rebuilds nothing for the same revision and only what changed for another, which a
/// fresh checkout (every file new to cargo) would not allow.
pub(crate) struct Worktree {
    root: PathBuf,
    pub(crate) dir: PathBuf,
}

impl Worktree {
    /// Checks `rev` out in `target/<work dir>/worktree` (`target/xtask-bench/worktree` under
    /// `cargo xtask bench`), reusing the worktree left there.
    pub(crate) fn add(root: &Path, rev: &str) -> anyhow::Result<Self> {
        let worktree = Worktree {
            root: root.to_owned(),
            dir: root
                .join("target")
                .join(&crate::invocation::invocation().work_dir)
                .join("worktree"),
        };
        let sha = commit_of(root, rev)?;
        if worktree.dir.exists() && worktree.switch(&sha).is_ok() {
            worktree.check_suite(&sha)?;
            return Ok(worktree);
        }
        // Not a worktree any more (a killed run, `cargo clean`): start afresh.
        worktree.remove();
        git(
            root,
            &[
                "worktree",
                "add",
                "--detach",
                "--quiet",
                &worktree.dir.to_string_lossy(),
                &sha,
            ],
        )?;
        worktree.check_suite(&sha)?;
        Ok(worktree)
    }

    /// Switches the worktree to `rev`, whether or not it has the suite (a build there
    /// then fails).
    pub(crate) fn checkout(&self, rev: &str) -> anyhow::Result<()> {
        let sha = commit_of(&self.root, rev)?;
        self.switch(&sha)
    }

    /// `git checkout` of the commit `sha`, discarding anything left in the worktree.
    fn switch(&self, sha: &str) -> anyhow::Result<()> {
        // A directory that is not a worktree's top level would be taken by git for the
        // checkout around it, whose files `--force` and `clean` must never touch.
        let top = git(&self.dir, &["rev-parse", "--show-toplevel"])?;
        if std::fs::canonicalize(&top)? != std::fs::canonicalize(&self.dir)? {
            bail!("{} is not a git worktree", self.dir.display());
        }
        git(
            &self.dir,
            &["checkout", "--detach", "--force", "--quiet", sha],
        )?;
        git(&self.dir, &["clean", "-d", "--force", "--quiet"])?;
        if git(&self.dir, &["rev-parse", "HEAD"])? != sha {
            bail!("{} did not switch to {sha}", self.dir.display());
        }
        Ok(())
    }

    /// Whether the commit has the suite's source file (`benches/instructions.rs` here).
    fn check_suite(&self, sha: &str) -> anyhow::Result<()> {
        let source = &crate::invocation::project()?.config.source;
        if !self.dir.join(source).is_file() {
            bail!("{} has no {source}", short_commit(sha));
        }
        Ok(())
    }

    /// Removes the checkout and git's record of it; whatever fails, `add` starts afresh.
    fn remove(&self) {
        let _ = git(
            &self.root,
            &["worktree", "remove", "--force", &self.dir.to_string_lossy()],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = git(&self.root, &["worktree", "prune"]);
    }
}

/// The full hash of the commit `rev` names in the repository at `root`.
pub(crate) fn commit_of(root: &Path, rev: &str) -> anyhow::Result<String> {
    git(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .map_err(|_| anyhow::anyhow!("{rev:?} is not a commit in this repository"))
}
