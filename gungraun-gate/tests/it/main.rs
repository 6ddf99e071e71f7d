//! The gate's integration tests: end to end on crates nobody here wrote (glam with gungraun
//! 0.20, bytesbuf with gungraun 0.19.4) and on a scratch crate of gungraun 0.19.1.

mod bytesbuf;
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

/// `name-version`'s published package in cargo's registry cache, fetched there if missing.
pub(crate) fn registry_package(name: &str, version: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    let package = format!("{name}-{version}");
    let find = || {
        std::fs::read_dir(home.join("registry").join("src"))
            .ok()?
            .filter_map(Result::ok)
            .map(|index| index.path().join(&package))
            .find(|dir| dir.join("Cargo.toml").is_file())
    };
    if let Some(dir) = find() {
        return dir;
    }
    let spec = format!("{name}@{version}");
    run(&std::env::temp_dir(), cargo(), &["info", &spec]);
    find().unwrap_or_else(|| panic!("`cargo info {spec}` left no package in the registry cache"))
}

/// A fresh copy of `name-version`'s published package at `dir` with `manifest` appended to
/// its `Cargo.toml` (at least an empty `[workspace]`, so it builds on its own), committed;
/// a `target/` left there by an earlier run is kept, so its dependencies are not built again.
pub(crate) fn unpack(dir: &Path, name: &str, version: &str, manifest: &str) {
    empty_but_target(dir);
    let package = registry_package(name, version).join(".");
    run(dir, "cp", &["-r", &package.to_string_lossy(), "."]);
    let path = dir.join("Cargo.toml");
    let mut toml = std::fs::read_to_string(&path).unwrap();
    toml.push_str(manifest);
    std::fs::write(&path, toml).unwrap();
    git(dir, &["init", "--quiet"]);
    // Not a `.gitignore`, which would be a file the package does not have: the kept
    // `target/` (gigabytes, the gate's worktree among them) stays out of every commit.
    std::fs::write(dir.join(".git/info/exclude"), "/target\n").unwrap();
    git(dir, &["add", "--all"]);
    let subject = format!("{name} {version} as published");
    git(dir, &["commit", "--quiet", "-m", &subject]);
}

/// Commits a line appended to the README: a commit that changes no benchmark.
pub(crate) fn commit_readme_line(dir: &Path, line: &str) {
    let readme = dir.join("README.md");
    let mut text = std::fs::read_to_string(&readme).unwrap();
    text.push_str(&format!("\n{line}\n"));
    std::fs::write(&readme, text).unwrap();
    git(dir, &["commit", "--quiet", "--all", "-m", line]);
}

/// The gate's JSON report, written under the scratch crate's `target/`.
pub(crate) const JSON: [&str; 4] = ["--format", "json", "--output", "target/gate-report.json"];

/// `--save` in `dir`, which must record exactly `names` (sorted) with `gungraun` in the
/// environment, then commits the baseline file; that commit's hash (GOOD).
pub(crate) fn save_and_commit(dir: &Path, gungraun: &str, names: &[&str]) -> String {
    let (code, _, took) = gate(dir, &["--save"]);
    assert_eq!(code, Some(0), "--save failed");
    let baseline = std::fs::read_to_string(dir.join("benches/gungraun-baseline.json")).unwrap();
    let recorded: serde_json::Value = serde_json::from_str(&baseline).unwrap();
    assert_eq!(recorded["environment"]["gungraun"], gungraun);
    let recorded: Vec<&String> = recorded["benchmarks"].as_object().unwrap().keys().collect();
    assert_eq!(recorded, names);
    eprintln!("--save: {} benchmarks recorded in {took:.1} s", names.len());
    git(dir, &["add", "--all"]);
    git(
        dir,
        &["commit", "--quiet", "-m", "Record the instruction baseline"],
    );
    git(dir, &["rev-parse", "HEAD"]).trim().to_owned()
}

/// A rerun with nothing changed: exit 0 and, pinned, every row exactly the recorded figure.
pub(crate) fn rerun_is_exact(dir: &Path) {
    let (code, report, took) = gate(dir, &JSON);
    assert_eq!(code, Some(0), "false alarm: {:#}", report["headline"]);
    let pinned = report["unpinned"].is_null();
    if pinned {
        let moved = rows(&report).iter().filter(|row| row["delta"] != 0).count();
        assert_eq!(moved, 0, "pinned rows moved: {report:#}");
    }
    eprintln!("rerun: exit 0 in {took:.1} s, pinned: {pinned}");
}

/// A run after an injected regression: exit 1, exactly the rows `expected` regressed, each
/// breakdown naming `named`.
pub(crate) fn regressed(dir: &Path, expected: &[&str], named: &str) {
    let (code, report, took) = gate(dir, &JSON);
    assert_eq!(code, Some(1), "not caught: {report:#}");
    let regressed: Vec<&serde_json::Value> = rows(&report)
        .iter()
        .filter(|row| row["verdict"] == "regressed")
        .collect();
    let names: Vec<&str> = regressed
        .iter()
        .map(|row| row["benchmark"].as_str().unwrap())
        .collect();
    assert_eq!(names, expected, "{report:#}");
    for row in &regressed {
        let grew = row["grew"].to_string();
        assert!(grew.contains(named), "{named} not named: {grew}");
    }
    eprintln!(
        "regression: exit 1 in {took:.1} s, {names:?} {:+} Ir, grew: {}",
        regressed[0]["delta"].as_i64().unwrap_or(0),
        regressed[0]["grew"]
    );
}

/// `--bisect GOOD..HEAD` with `extra` arguments: exit 1, a culprit for exactly the
/// benchmarks `expected`, each the `injecting` commit and its breakdown naming `named`.
pub(crate) fn bisect_names(
    dir: &Path,
    [good, injecting]: [&str; 2],
    expected: &[&str],
    named: &str,
    extra: &[&str],
) {
    let range = format!("{good}..HEAD");
    let args = [&["--bisect", &range][..], extra, &JSON[..]].concat();
    let (code, report, took) = gate(dir, &args);
    assert_eq!(code, Some(1), "bisect: {report:#}");
    let culprits = report["culprits"].as_array().expect("a culprits array");
    let found: Vec<(&str, &str)> = culprits
        .iter()
        .map(|c| {
            let benchmark = c["benchmark"].as_str().unwrap();
            (benchmark, c["commit"]["hash"].as_str().unwrap())
        })
        .collect();
    let wanted: Vec<(&str, &str)> = expected.iter().map(|b| (*b, injecting)).collect();
    assert_eq!(found, wanted, "{report:#}");
    for culprit in culprits {
        let grew = culprit["grew"].to_string();
        assert!(grew.contains(named), "{named} not named: {grew}");
    }
    eprintln!(
        "bisect: exit 1 in {took:.1} s, {} commits, {} measured, culprit {injecting} ({:+} Ir)",
        report["commits"],
        report["measured"].as_array().map_or(0, Vec::len),
        culprits[0]["delta"].as_i64().unwrap_or(0)
    );
}

/// Eight `black_box` calls, the regression the end-to-end tests inject: a few dozen
/// instructions.
pub(crate) const INJECTED: &str = "        for i in 0..8 { core::hint::black_box(i); }\n";

/// Commits `INJECTED` between `head` and `tail`, two adjacent pieces of `file` as published
/// (the function's first line and the body line it goes before); the commit's hash.
pub(crate) fn commit_injection(
    dir: &Path,
    file: &str,
    head: &str,
    tail: &str,
    subject: &str,
) -> String {
    let source = dir.join(file);
    let text = std::fs::read_to_string(&source).unwrap();
    let at = text
        .find(&format!("{head}{tail}"))
        .unwrap_or_else(|| panic!("{file} as published has no {head:?}"))
        + head.len();
    std::fs::write(&source, format!("{}{INJECTED}{}", &text[..at], &text[at..])).unwrap();
    git(dir, &["commit", "--quiet", "--all", "-m", subject]);
    git(dir, &["rev-parse", "HEAD"]).trim().to_owned()
}
