//! `cargo xtask loom`: the loom models of the library's synchronisation (`tests/loom.rs`).
//!
//! They need `--cfg globalrt_loom`, which changes every crate's build, so they build in a
//! target directory of their own and the usual builds keep their cache.

use std::process::{Command, ExitCode};

use anyhow::Context;

use crate::{cargo, flags, project_root};

/// The cfg that switches `src/parker.rs` to loom's primitives inside `tests/loom.rs`.
const LOOM_CFG: &str = "--cfg globalrt_loom";

impl flags::Loom {
    pub(crate) fn run(self) -> anyhow::Result<ExitCode> {
        let root = project_root();
        let rustflags = match std::env::var("RUSTFLAGS") {
            Ok(existing) if !existing.trim().is_empty() => format!("{existing} {LOOM_CFG}"),
            _ => LOOM_CFG.to_owned(),
        };
        let status = Command::new(cargo())
            .current_dir(&root)
            .args(["test", "--release", "--test", "loom"])
            .env("RUSTFLAGS", rustflags)
            .env("CARGO_TARGET_DIR", root.join("target").join("loom"))
            .status()
            .context("cannot run cargo test for the loom models")?;
        Ok(if status.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}
