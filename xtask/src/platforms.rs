//! `cargo xtask platforms`: clippy over the library for Windows and macOS, which CI's other
//! steps, all on Linux, never compile.
//!
//! The library's users run all three; code gated to Unix (the `fork` handlers) or to Linux
//! must leave nothing unused or unresolved elsewhere. Clippy only type-checks, so neither
//! target needs its linker or C toolchain here; the targets' standard libraries are added
//! with `rustup target add` when the toolchain lacks them. The tests themselves run on
//! Windows and macOS in `.github/workflows/ci.yml`.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::exit::Exit;
use crate::flags;
use crate::{cargo, project_root};

/// The targets checked besides the host: one Windows and one macOS target.
pub(crate) const TARGETS: [&str; 2] = ["x86_64-pc-windows-gnu", "aarch64-apple-darwin"];

impl flags::Platforms {
    pub(crate) fn run(self) -> anyhow::Result<Exit> {
        install_missing(&TARGETS)?;
        let mut failed = Vec::new();
        for target in TARGETS {
            let started = Instant::now();
            let status = Command::new(cargo())
                .args(clippy_args(target))
                .current_dir(project_root())
                .status()
                .context("cannot start cargo clippy")?;
            println!(
                "platforms: {target} {} in {:.1} s",
                if status.success() { "clean" } else { "FAILED" },
                started.elapsed().as_secs_f64()
            );
            if !status.success() {
                failed.push(target);
            }
        }
        if !failed.is_empty() {
            eprintln!("platforms: clippy failed for {}", failed.join(", "));
        }
        Ok(Exit::passed_if(failed.is_empty()))
    }
}

/// `cargo clippy` over the library, every feature, for `target`, warnings denied.
fn clippy_args(target: &str) -> [&str; 9] {
    [
        "clippy",
        "-p",
        "globalrt",
        "--all-features",
        "--target",
        target,
        "--",
        "-D",
        "warnings",
    ]
}

/// Adds with rustup the targets of `wanted` the active toolchain does not have.
fn install_missing(wanted: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("cannot run `rustup target list --installed`; is rustup installed?")?;
    if !out.status.success() {
        bail!(
            "`rustup target list --installed` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let installed = String::from_utf8_lossy(&out.stdout);
    let missing = missing_targets(wanted, &installed);
    if missing.is_empty() {
        return Ok(());
    }
    println!("platforms: rustup target add {}", missing.join(" "));
    let status = Command::new("rustup")
        .args(["target", "add"])
        .args(&missing)
        .status()
        .context("cannot run `rustup target add`")?;
    if !status.success() {
        bail!(
            "`rustup target add {}` failed ({status})",
            missing.join(" ")
        );
    }
    Ok(())
}

/// The targets of `wanted` absent from `installed`, rustup's list (one target per line).
fn missing_targets<'a>(wanted: &[&'a str], installed: &str) -> Vec<&'a str> {
    wanted
        .iter()
        .copied()
        .filter(|target| !installed.lines().any(|line| line.trim() == *target))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absent_targets_are_installed() {
        let installed = "x86_64-unknown-linux-gnu\nx86_64-pc-windows-gnu\n";
        assert_eq!(
            missing_targets(&TARGETS, installed),
            ["aarch64-apple-darwin"]
        );
        assert_eq!(missing_targets(&TARGETS, ""), TARGETS);
        // A longer name that merely contains a target does not count as it.
        assert_eq!(
            missing_targets(&["x86_64-pc-windows-gnu"], "x86_64-pc-windows-gnullvm\n"),
            ["x86_64-pc-windows-gnu"]
        );
    }

    #[test]
    fn clippy_checks_the_library_with_every_feature_and_denies_warnings() {
        let args = clippy_args("aarch64-apple-darwin").join(" ");
        assert_eq!(
            args,
            "clippy -p globalrt --all-features --target aarch64-apple-darwin -- -D warnings"
        );
    }
}
