//! The gate's integration tests: end to end on crates nobody here wrote (glam, gungraun
//! 0.20) and on a scratch crate of gungraun 0.19.

mod glam;
mod gungraun19;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

pub(crate) fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Runs `program args` in `dir`, panicking with its output unless it succeeds.
pub(crate) fn run(dir: &Path, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> String {
    let out = Command::new(program.as_ref())
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{:?} {args:?} failed:\n{text}\n{}",
        program.as_ref(),
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["-c", "user.name=gate", "-c", "user.email=gate@localhost"];
    all.extend_from_slice(args);
    run(dir, "git", &all)
}

/// One run of the gate in `dir`: its exit code and JSON report (`--format json`).
pub(crate) fn gate(dir: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value, f64) {
    let started = Instant::now();
    let report = dir.join("target").join("gate-report.json");
    let _ = std::fs::remove_file(&report);
    let status = Command::new(env!("CARGO_BIN_EXE_cargo-gungraun-gate"))
        .arg("gungraun-gate")
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    let took = started.elapsed().as_secs_f64();
    let value = std::fs::read_to_string(&report)
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (status.code(), value, took)
}

pub(crate) fn rows(report: &serde_json::Value) -> &Vec<serde_json::Value> {
    report["report"]["rows"].as_array().unwrap()
}

/// The scratch directory `$var` names, else `name-PID` under the system's temporary
/// directory.
pub(crate) fn scratch_dir(var: &str, name: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("{name}-{}", std::process::id())))
}

/// Removes the scratch directory unless `$var` chose it (and so may want it kept).
pub(crate) fn remove_unless_chosen(var: &str, dir: &Path) {
    if std::env::var_os(var).is_none() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// `dir`, created if missing, emptied of everything but a `target/` an earlier run left,
/// so its dependencies are not built again.
pub(crate) fn empty_but_target(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name() == Some("target".as_ref()) {
            continue;
        }
        match path.is_dir() {
            true => std::fs::remove_dir_all(&path).unwrap(),
            false => std::fs::remove_file(&path).unwrap(),
        }
    }
}
