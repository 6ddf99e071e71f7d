//! The command line checked against the workspace before the gate starts anything: a bad
//! revision or a missing directory is reported before a build, a runner install or a
//! worktree has begun, so an exit for a bad argument leaves nothing running or half done.

use std::path::Path;

use anyhow::bail;

use crate::flags::{BenchFormat, BisectRange, GateFlags};
use crate::util::git;
use crate::worktree::commit_of;

/// Checks what clap cannot: that revisions name commits of the repository at `root`, that a
/// bisection's range is a piece of history, that reports can be written where asked, and
/// that the flags given make sense together.
pub(crate) fn check(flags: &GateFlags, root: &Path) -> anyhow::Result<()> {
    if flags.save && (flags.filter.is_some() || flags.base.is_some()) {
        bail!("--save re-records the whole suite on the working tree; drop --filter and --base");
    }
    if flags.save && flags.save_runs == 0 {
        bail!("--save-runs must be at least 1");
    }
    if let Some(threshold) = flags.threshold
        && !(threshold.is_finite() && threshold >= 0.0)
    {
        bail!("--threshold must be a percentage of at least 0, not {threshold}");
    }
    if let Some(rev) = &flags.base {
        commit_of(root, rev)?;
    }
    if let Some(range) = &flags.bisect {
        if !matches!(flags.format, BenchFormat::Text | BenchFormat::Json) {
            bail!("--bisect writes text or JSON; use --format text or --format json");
        }
        check_range(root, range)?;
    }
    for (flag, file) in [
        ("--output", &flags.output),
        ("--bmf-output", &flags.bmf_output),
    ] {
        if let Some(file) = file {
            check_writable(flag, file)?;
        }
    }
    Ok(())
}

/// GOOD and BAD are commits, and GOOD is in BAD's history before it.
fn check_range(root: &Path, range: &BisectRange) -> anyhow::Result<()> {
    let good = commit_of(root, &range.good)?;
    let bad = commit_of(root, &range.bad)?;
    if good == bad {
        bail!("{}..{} holds no commit", range.good, range.bad);
    }
    if git(root, &["merge-base", "--is-ancestor", &good, &bad]).is_err() {
        bail!(
            "{} is not an ancestor of {}; --bisect searches BAD's history back to GOOD",
            range.good,
            range.bad
        );
    }
    Ok(())
}

/// `file`'s directory exists, so the report written at the end of a run has a place.
fn check_writable(flag: &str, file: &Path) -> anyhow::Result<()> {
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty());
    if file.is_dir() {
        bail!("{flag} {} is a directory; name a file", file.display());
    }
    if let Some(dir) = dir
        && !dir.is_dir()
    {
        bail!(
            "{flag} {}: there is no directory {}",
            file.display(),
            dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::{Args as _, FromArgMatches as _};

    use super::*;

    /// A git repository of two empty commits (CI clones this one a commit deep); removed
    /// on drop.
    struct Repository(std::path::PathBuf);

    impl Repository {
        fn new(name: &str) -> Repository {
            let dir = std::env::temp_dir().join(format!("gate-args-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("a scratch directory");
            git(&dir, &["init", "--quiet"]).expect("git init");
            for message in ["first", "second"] {
                let identity = ["-c", "user.name=gate", "-c", "user.email=gate@localhost"];
                let commit = ["commit", "--quiet", "--allow-empty", "-m", message];
                git(&dir, &[&identity[..], &commit[..]].concat()).expect("git commit");
            }
            Repository(dir)
        }

        /// The outcome of checking `args` against this repository.
        fn checked(&self, args: &[&str]) -> Result<(), String> {
            let matches = GateFlags::augment_args(clap::Command::new("gate"))
                .try_get_matches_from(["gate"].iter().chain(args))
                .expect("clap accepts it");
            let flags = GateFlags::from_arg_matches(&matches).expect("clap accepts it");
            check(&flags, &self.0).map_err(|err| format!("{err:#}"))
        }
    }

    impl Drop for Repository {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn arguments_that_name_nothing_are_refused_before_any_work() {
        let repository = Repository::new("refused");
        // (what is wrong, the arguments, what the refusal says)
        let cases: [(&str, &[&str], &str); 11] = [
            (
                "an unknown GOOD",
                &["--bisect", "deadbeefdeadbeef..HEAD"],
                "\"deadbeefdeadbeef\" is not a commit",
            ),
            (
                "an unknown BAD",
                &["--bisect", "HEAD..no-such-branch"],
                "\"no-such-branch\" is not a commit",
            ),
            (
                "a range backwards",
                &["--bisect", "HEAD..HEAD~1"],
                "HEAD is not an ancestor of HEAD~1",
            ),
            (
                "an empty range",
                &["--bisect", "HEAD..HEAD"],
                "HEAD..HEAD holds no commit",
            ),
            (
                "a bisection as markdown",
                &["--bisect", "HEAD~1..HEAD", "--format", "markdown"],
                "--bisect writes text or JSON",
            ),
            (
                "an unknown base",
                &["--base", "deadbeefdeadbeef"],
                "\"deadbeefdeadbeef\" is not a commit",
            ),
            (
                "a report into a missing directory",
                &["--output", "/nonexistent/report.json"],
                "there is no directory /nonexistent",
            ),
            (
                "BMF into a directory",
                &["--bmf-output", "/"],
                "is a directory",
            ),
            (
                "a negative threshold",
                &["--threshold=-1"],
                "--threshold must be a percentage",
            ),
            (
                "a save of part of the suite",
                &["--save", "--filter", "naive"],
                "drop --filter and --base",
            ),
            (
                "a save of no runs",
                &["--save", "--save-runs", "0"],
                "--save-runs must be at least 1",
            ),
        ];
        for (name, args, says) in cases {
            match repository.checked(args) {
                Ok(()) => panic!("{name}: accepted"),
                Err(err) => assert!(err.contains(says), "{name}: {err}"),
            }
        }
    }

    #[test]
    fn arguments_that_name_something_pass() {
        let repository = Repository::new("pass");
        for args in [
            &[][..],
            &["--bisect", "HEAD~1..HEAD"],
            &["--base", "HEAD~1", "--output", "report.json"],
            &["--save", "--save-runs", "3"],
        ] {
            assert_eq!(repository.checked(args), Ok(()), "{args:?}");
        }
    }
}
