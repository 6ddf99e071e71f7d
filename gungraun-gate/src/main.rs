//! `cargo gungraun-gate`: the instruction-count regression gate as a cargo subcommand.
//!
//! Cargo runs `cargo-gungraun-gate gungraun-gate ARGS…` for `cargo gungraun-gate ARGS…`;
//! the gate acts on the workspace around the working directory
//! (`cargo locate-project --workspace`).

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};
use clap::Parser;

use gungraun_gate::exit::Exit;
use gungraun_gate::flags::GateFlags;
use gungraun_gate::{Invocation, cargo};

/// What cargo passes: the subcommand's name, then its flags.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo")]
enum CargoCli {
    /// The instruction-count regression gate: runs the workspace's gungraun suite under
    /// Valgrind and compares every benchmark with the committed baseline file.
    ///
    /// Exit codes: 0 no regression; 1 regression(s); 2 could not measure or compare (the
    /// one-line reason is printed). Configure it under `[workspace.metadata.gungraun-gate]`
    /// in the root Cargo.toml (see the crate's README).
    #[command(version)]
    GungraunGate(GateFlags),
}

fn main() -> ExitCode {
    let CargoCli::GungraunGate(flags) = CargoCli::parse();
    let invocation = Invocation::default();
    let log = invocation.log.clone();
    let result = workspace_root().and_then(|root| gungraun_gate::run(flags, &root, invocation));
    match result {
        Ok(exit) => exit.into(),
        Err(err) => {
            eprintln!("{log}: error: {err:#}");
            Exit::NotRun.into()
        }
    }
}

/// The root of the workspace around the working directory, as cargo finds it.
fn workspace_root() -> anyhow::Result<PathBuf> {
    let out = Command::new(cargo())
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .output()
        .context("cannot run `cargo locate-project`")?;
    if !out.status.success() {
        bail!(
            "no cargo workspace here: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let manifest = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    manifest
        .parent()
        .map(PathBuf::from)
        .context("`cargo locate-project` named no directory")
}
