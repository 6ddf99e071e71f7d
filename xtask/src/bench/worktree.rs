//! The base revision's checkout: a git worktree under `target/xtask-bench/worktree`.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::util::{git, short_commit};

/// A revision checked out in a git worktree, removed when dropped, whatever happened in
/// between. It is kept for the whole gate run, so that the base's callgrind files can be
/// read against the sources they name.
pub(crate) struct Worktree {
    root: PathBuf,
    pub(crate) dir: PathBuf,
}

impl Worktree {
    /// Checks `rev` out in `target/xtask-bench/worktree`.
    pub(crate) fn add(root: &Path, rev: &str) -> anyhow::Result<Self> {
        let sha = git(
            root,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        )
        .map_err(|_| anyhow::anyhow!("{rev:?} is not a commit in this repository"))?;
        let worktree = Worktree {
            root: root.to_owned(),
            dir: root.join("target").join("xtask-bench").join("worktree"),
        };
        // A gate run that was killed leaves its worktree behind, which would block this one.
        if worktree.dir.exists() {
            worktree.remove();
        }
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
        if !worktree
            .dir
            .join("benches")
            .join("instructions.rs")
            .is_file()
        {
            bail!("{} has no benches/instructions.rs", short_commit(&sha));
        }
        Ok(worktree)
    }

    /// Removes the checkout and git's record of it; whatever fails, the next `add` retries.
    fn remove(&self) {
        let _ = git(
            &self.root,
            &["worktree", "remove", "--force", &self.dir.to_string_lossy()],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = git(&self.root, &["worktree", "prune"]);
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        self.remove();
    }
}
