//! `cargo gungraun-gate` on glam 0.34.3 as published (its `benches/gungraun.rs`: 81
//! benchmark functions, 95 benchmarks with their `#[bench::…]` cases, gungraun 0.20.0 in
//! its bundled Cargo.lock), with no configuration at all:
//! a recorded baseline, a rerun with no false alarm, and a small regression injected into
//! `Mat4::inverse`, which must be caught on `mat4_inverse` and named.
//!
//! Ignored: it builds glam's suite and runs it under Valgrind about fifteen times.
//! `cargo test -p gungraun-gate --test it -- --ignored --nocapture` runs it. glam's package
//! comes from cargo's registry cache (`cargo info glam@0.34.3` puts it there, and the test
//! runs that when it is missing); the copy lives in `$GATE_GLAM_DIR`, by default a
//! directory under the system's temporary directory, and is never part of this repository.
//! A gungraun-runner 0.20.0 already on `PATH` saves its install.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const GLAM: &str = "glam-0.34.3";

/// The line of `Mat4::inverse` (SSE2, the x86_64 build) the regression goes before.
const INVERSE: &str = "        self.inverse_checked::<false>().0\n";
/// Eight `black_box` calls before it: a few dozen instructions on a benchmark of hundreds.
const INJECTED: &str = "        for i in 0..8 { core::hint::black_box(i); }\n";

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Runs `program args` in `dir`, panicking with its output unless it succeeds.
fn run(dir: &Path, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> String {
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

fn git(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["-c", "user.name=gate", "-c", "user.email=gate@localhost"];
    all.extend_from_slice(args);
    run(dir, "git", &all)
}

/// glam's published package in cargo's registry cache, fetched there if missing.
fn glam_package() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    let find = || {
        std::fs::read_dir(home.join("registry").join("src"))
            .ok()?
            .filter_map(Result::ok)
            .map(|index| index.path().join(GLAM))
            .find(|dir| dir.join("Cargo.toml").is_file())
    };
    if let Some(dir) = find() {
        return dir;
    }
    run(&std::env::temp_dir(), cargo(), &["info", "glam@0.34.3"]);
    find().expect("`cargo info glam@0.34.3` left no package in the registry cache")
}

/// A fresh copy of the package at `dir`, its own workspace, committed; a `target/` left
/// there by an earlier run is kept, so its dependencies are not built again.
fn unpack(dir: &Path) {
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
    let package = glam_package().join(".");
    run(dir, "cp", &["-r", &package.to_string_lossy(), "."]);
    let manifest = dir.join("Cargo.toml");
    let mut toml = std::fs::read_to_string(&manifest).unwrap();
    toml.push_str("\n[workspace]\n");
    std::fs::write(&manifest, toml).unwrap();
    git(dir, &["init", "--quiet"]);
    git(dir, &["add", "--all"]);
    git(
        dir,
        &["commit", "--quiet", "-m", "glam 0.34.3 as published"],
    );
}

/// One run of the gate in `dir`: its exit code and JSON report (`--format json`).
fn gate(dir: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value, f64) {
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

fn rows(report: &serde_json::Value) -> &Vec<serde_json::Value> {
    report["report"]["rows"].as_array().unwrap()
}

#[test]
#[ignore = "builds glam's gungraun suite and runs it under Valgrind (minutes)"]
fn glam_baseline_rerun_and_an_injected_regression() {
    let dir = std::env::var_os("GATE_GLAM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("gate-glam-{}", std::process::id())));
    let started = Instant::now();
    unpack(&dir);
    eprintln!("unpacked glam in {:.1} s", started.elapsed().as_secs_f64());
    let json = ["--format", "json", "--output", "target/gate-report.json"];

    // 1. Record the baseline (ten runs), with no configuration at all.
    let (code, _, took) = gate(&dir, &["--save"]);
    assert_eq!(code, Some(0), "--save failed");
    let baseline = dir.join("benches").join("gungraun-baseline.json");
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    let count = recorded["benchmarks"].as_object().unwrap().len();
    assert_eq!(count, 95, "glam's suite has 95 benchmarks");
    eprintln!("--save: {count} benchmarks recorded in {took:.1} s");
    git(&dir, &["add", "benches/gungraun-baseline.json"]);
    git(
        &dir,
        &["commit", "--quiet", "-m", "Record the instruction baseline"],
    );

    // 2. Rerun: no false alarm; pinned, every row exactly the recorded figure.
    let (code, report, took) = gate(&dir, &json);
    assert_eq!(code, Some(0), "false alarm: {:#}", report["headline"]);
    assert_eq!(report["counts"]["regressed"], 0);
    let pinned = report["unpinned"].is_null();
    let moved: Vec<&serde_json::Value> = rows(&report)
        .iter()
        .filter(|row| row["delta"] != 0)
        .collect();
    if pinned {
        assert!(moved.is_empty(), "pinned rows moved: {moved:#?}");
    }
    eprintln!(
        "rerun: exit 0 in {took:.1} s, {} row(s) moved, pinned: {pinned}",
        moved.len()
    );

    // 3. A small regression in `Mat4::inverse`: caught on mat4_inverse, and named.
    let source = dir.join("src/f32/sse2/mat4.rs");
    let text = std::fs::read_to_string(&source).unwrap();
    let at = text
        .find(&format!("    pub fn inverse(&self) -> Self {{\n{INVERSE}"))
        .expect("Mat4::inverse as published");
    let line = at + text[at..].find(INVERSE).unwrap();
    std::fs::write(
        &source,
        format!("{}{INJECTED}{}", &text[..line], &text[line..]),
    )
    .unwrap();
    git(
        &dir,
        &[
            "commit",
            "--quiet",
            "--all",
            "-m",
            "Mat4::inverse: eight black_box calls",
        ],
    );
    let (code, report, took) = gate(&dir, &json);
    assert_eq!(code, Some(1), "not caught: {:#}", report["headline"]);
    let regressed: Vec<&serde_json::Value> = rows(&report)
        .iter()
        .filter(|row| row["verdict"] == "regressed")
        .collect();
    let names: Vec<&str> = regressed
        .iter()
        .map(|row| row["benchmark"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bench_mat4::mat4_inverse::args"], "{regressed:#?}");
    let grew = serde_json::to_string(&regressed[0]["grew"]).unwrap();
    assert!(
        grew.contains("inverse"),
        "the breakdown does not name inverse: {grew}"
    );
    eprintln!(
        "regression: exit 1 in {took:.1} s, {names:?} {:+} Ir, grew: {grew}",
        regressed[0]["delta"]
    );
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());
    if std::env::var_os("GATE_GLAM_DIR").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
