//! Project automation for globalrt, run as `cargo xtask <task>`.
//!
//! Each task lives in its own module and is a `run` method on its flags
//! struct from [`flags`]. Every external command is built with an explicit
//! argument list; no task ever passes a shell string. Commands are plain
//! `std::process::Command`s: `xshell` would shorten them at the cost of a dependency.

mod bench;
mod ci;
mod docs;
mod exit;
mod flags;
mod flaky;
mod host;
mod lint_workflows;
mod loom;
mod memcheck;
mod mutants;
mod platforms;
mod slo;
#[cfg(test)]
mod tidy;
mod tools;
mod util;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use exit::Exit;

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
        flags::Command::Flaky(cmd) => cmd.run(),
        flags::Command::Platforms(cmd) => cmd.run(),
        flags::Command::Docs(cmd) => cmd.run(),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            Exit::NotRun.into()
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
    fn run(self) -> anyhow::Result<Exit> {
        let status = std::process::Command::new(cargo())
            .current_dir(project_root())
            .args(["run", "--release", "--example", "batch", "--", "--mode"])
            .arg(&self.mode)
            .arg("--commands")
            .arg(self.commands.to_string())
            .status()?;
        Ok(Exit::passed_if(status.success()))
    }
}
