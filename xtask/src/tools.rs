//! Tools installed with `cargo install` at a pinned version, once, under `target/tools/`.
//!
//! A tool found on `PATH` (or in cargo's `bin` directory) is used when it reports exactly the
//! pinned version; otherwise it is installed with `--locked` into
//! `target/tools/<crate>-<version>/`, so a version bump installs beside the old one and
//! never mixes the two.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use crate::cargo;

/// A crate whose binary a task runs, at the version the task was written against.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PinnedTool<'a> {
    /// The crate to `cargo install`.
    pub(crate) krate: &'a str,
    /// The binary it installs, which prints `<bin> <version>` for `version_args`.
    pub(crate) bin: &'a str,
    pub(crate) version: &'a str,
    /// How to ask the binary its version: `--version`, or `mutants --version` for a cargo
    /// subcommand, which expects its subcommand name first.
    pub(crate) version_args: &'a [&'a str],
}

impl PinnedTool<'_> {
    /// Where `cargo install --root` puts it.
    pub(crate) fn install_root(&self, root: &Path) -> PathBuf {
        root.join("target")
            .join("tools")
            .join(format!("{}-{}", self.krate, self.version))
    }

    /// The directory holding the binary at the pinned version, installing it first when no
    /// such binary is found. `task` names the caller in messages (`xtask bench`).
    pub(crate) fn ensure(&self, root: &Path, task: &str) -> anyhow::Result<PathBuf> {
        let tools = self.install_root(root);
        let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        if let Some(home) = std::env::var_os("CARGO_HOME") {
            candidates.push(PathBuf::from(home).join("bin"));
        }
        if let Some(home) = std::env::var_os("HOME") {
            candidates.push(PathBuf::from(home).join(".cargo").join("bin"));
        }
        candidates.push(tools.join("bin"));
        if let Some(dir) = candidates.into_iter().find(|dir| self.is_pinned(dir)) {
            return Ok(dir);
        }
        eprintln!(
            "{task}: {} {} not found; installing it into {} (once, a few minutes)",
            self.bin,
            self.version,
            tools.display()
        );
        let status = Command::new(cargo())
            .args(["install", "--locked", "--version", self.version, "--root"])
            .arg(&tools)
            .arg(self.krate)
            .stdin(Stdio::null())
            .status()
            .context("cannot run cargo install")?;
        let bin_dir = tools.join("bin");
        if !status.success() || !self.is_pinned(&bin_dir) {
            bail!(
                "cannot install {} {} ({status}); install it by hand with \
                 `cargo install --locked --version {} {}`",
                self.krate,
                self.version,
                self.version,
                self.krate
            );
        }
        Ok(bin_dir)
    }

    /// Whether `dir` holds the binary and it reports the pinned version.
    fn is_pinned(&self, dir: &Path) -> bool {
        let exe = dir.join(self.bin);
        exe.is_file()
            && crate::host::first_line(&exe, self.version_args).as_deref()
                == Some(self.expected_version().as_str())
    }

    /// What `<bin> --version` prints at the pinned version.
    fn expected_version(&self) -> String {
        format!("{} {}", self.bin, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_installs_in_its_own_directory() {
        let tool = PinnedTool {
            krate: "cargo-mutants",
            bin: "cargo-mutants",
            version: "27.1.0",
            version_args: &["mutants", "--version"],
        };
        assert_eq!(
            tool.install_root(Path::new("/w")),
            Path::new("/w/target/tools/cargo-mutants-27.1.0")
        );
        assert_eq!(tool.expected_version(), "cargo-mutants 27.1.0");
        // No binary there: not the pinned tool.
        assert!(!tool.is_pinned(Path::new("/nonexistent")));
    }
}
