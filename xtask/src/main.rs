//! Project automation for globalrt, run as `cargo xtask <task>`.
//!
//! Each task lives in its own module and is a `run` method on its flags
//! struct from [`flags`]. Every external command is built with an explicit
//! argument list; no task ever passes a shell string.

mod bench;
mod ci;
mod flags;
mod lint_workflows;
mod loom;
mod memcheck;
mod mutants;
mod slo;
mod tools;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;

fn main() -> ExitCode {
    let flags = flags::Xtask::parse();
    let result = match flags.command {
        flags::Command::Demo(cmd) => cmd.run(),
        flags::Command::Ci(cmd) => cmd.run(),
        flags::Command::LintWorkflows(cmd) => cmd.run(),
        flags::Command::Loom(cmd) => cmd.run(),
        flags::Command::Memcheck(cmd) => cmd.run(),
        flags::Command::Slo(cmd) => cmd.run(),
        flags::Command::Bench(cmd) => cmd.run(),
        flags::Command::Mutants(cmd) => cmd.run(),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// The workspace root: the directory that holds the root `Cargo.toml`.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(1)
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// The cargo binary to call: `$CARGO` when cargo started us, else `cargo`.
pub(crate) fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

impl flags::Demo {
    fn run(self) -> anyhow::Result<ExitCode> {
        let status = std::process::Command::new(cargo())
            .current_dir(project_root())
            .args(["run", "--release", "--example", "batch", "--", "--mode"])
            .arg(&self.mode)
            .arg("--commands")
            .arg(self.commands.to_string())
            .status()?;
        Ok(if status.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Runs git in `root` with `args`; its trimmed stdout, or an error with its stderr.
pub(crate) fn git(root: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = std::process::Command::new("git")
        .current_dir(root)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .context("cannot run git")?;
    if !out.status.success() {
        anyhow::bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `n` with a comma between groups of three digits: `1234567` → `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
