//! The demo (`examples/batch.rs`) and its command mix, as both wall-clock targets use them.
//!
//! The command mix itself (`examples/support/workload.rs`) stays with each bench target,
//! which includes it by path, so [`batch`] takes its checksums as an argument.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::contract::BATCH_BIN_ENV;

/// The workspace root, two levels above this crate (`benches/support`).
fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("benches/support lies two levels below the workspace root")
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else `target/` in the workspace.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The demo binary: `$GLOBALRT_BATCH_BIN` (what `cargo xtask slo` passes), else built now
/// with `cargo build --release --example batch`.
pub fn batch_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(BATCH_BIN_ENV) {
        return Ok(PathBuf::from(path));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["build", "--quiet", "--release", "--example", "batch"])
        .status()
        .map_err(|err| format!("cannot run cargo to build the demo: {err}"))?;
    if !status.success() {
        return Err(format!(
            "`cargo build --release --example batch` failed ({status})"
        ));
    }
    let path = target_dir().join("release/examples/batch");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found after building the demo; set {BATCH_BIN_ENV}",
            path.display()
        ))
    }
}

/// A scratch directory for the demo's commands, unique to this process.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("globalrt-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("benches: cannot create a temp dir");
    dir
}

/// Runs `commands` demo commands through `run` and checks every checksum against
/// `expected` (`workload::expected`).
pub fn batch(
    commands: u32,
    expected: impl Fn(u32) -> u64,
    run: impl Fn(u32) -> std::io::Result<u64>,
) {
    for id in 0..commands {
        let sum = run(id).expect("benches: a demo command failed");
        assert_eq!(sum, expected(id), "command {id}: wrong checksum");
    }
}
