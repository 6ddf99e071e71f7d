//! `--bisect` end to end, on a scratch clone of this repository with five commits on top:
//! the third adds about 1% to `naive::execute`. Ignored by default: it builds and
//! measures a handful of commits under Valgrind (docs/gate.md, "Finding the commit that added
//! instructions", for the command and the time it took).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::git;
use crate::{cargo, project_root};

/// What the third commit adds to `naive::execute`: about 1% of its ~52,000 instructions.
const LOOP: &str = "    for i in 0..100u64 {\n        std::hint::black_box(i);\n    }\n";
/// What the broken commit adds, and the next one removes.
const BROKEN: &str = "\ncompile_error!(\"deliberately broken for the bisect test\");\n";

/// A clone of this repository's HEAD in a temporary directory, removed when dropped.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn clone_project() -> Scratch {
        let dir = std::env::temp_dir().join(format!("xtask-bisect-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let root = project_root();
        git(
            &root,
            &[
                "clone",
                "--quiet",
                &root.to_string_lossy(),
                &dir.to_string_lossy(),
            ],
        )
        .unwrap();
        for (key, value) in [("user.name", "bisect test"), ("user.email", "bisect@test")] {
            git(&dir, &["config", key, value]).unwrap();
        }
        // The suite's build directory, seeded from this checkout's: only the workspace's
        // own crate compiles again, as `Suite::build_dir` does for a new side.
        let built = root.join("target").join("xtask-bench-build");
        if let Some(from) = ["base", "head"]
            .map(|s| built.join(s))
            .into_iter()
            .find(|d| d.is_dir())
        {
            let to = dir.join("target").join("xtask-bench-build");
            std::fs::create_dir_all(&to).unwrap();
            run(Command::new("cp")
                .args(["-a", "--reflink=auto"])
                .arg(from)
                .arg(to.join("base")));
        }
        Scratch { dir }
    }

    /// Commits `subject` after `edit` changed the working tree; its hash.
    fn commit(&self, subject: &str, edit: impl FnOnce(&Path)) -> String {
        edit(&self.dir);
        git(
            &self.dir,
            &["commit", "--quiet", "--all", "--message", subject],
        )
        .unwrap();
        git(&self.dir, &["rev-parse", "HEAD"]).unwrap()
    }

    /// `cargo xtask bench --bisect HEAD~5..HEAD --filter naive_execute --format json` in
    /// the clone: its exit code and JSON report.
    fn bisect(&self) -> (Option<i32>, serde_json::Value) {
        let out = self.dir.join("target").join("bisect.json");
        let mut cmd = Command::new(cargo());
        cmd.current_dir(&self.dir)
            .args([
                "xtask",
                "bench",
                "--bisect",
                "HEAD~5..HEAD",
                "--filter",
                "naive_execute",
            ])
            .args(["--format", "json", "--output"])
            .arg(&out)
            // The clone's xtask builds beside this one's dependencies, once.
            .env(
                "CARGO_TARGET_DIR",
                project_root().join("target").join("xtask-bisect-e2e"),
            )
            .env("PATH", path_with_runner());
        let status = cmd.stdin(Stdio::null()).status().unwrap();
        let report = std::fs::read_to_string(&out).unwrap_or_else(|_| "null".to_owned());
        (status.code(), serde_json::from_str(&report).unwrap())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// PATH with this checkout's gungraun-runner in front, if it installed one.
fn path_with_runner() -> std::ffi::OsString {
    let tools = project_root().join("target").join("tools");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&tools)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .filter(|p| p.join("gungraun-runner").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

fn run(cmd: &mut Command) {
    assert!(cmd.status().unwrap().success(), "{cmd:?}");
}

fn append(file: &str, text: &str) -> impl FnOnce(&Path) {
    move |dir| {
        let path = dir.join(file);
        let mut content = std::fs::read_to_string(&path).unwrap();
        content.push_str(text);
        std::fs::write(&path, content).unwrap();
    }
}

/// `naive::execute` with `LOOP` before it builds its runtime, and `BROKEN` gone.
fn add_the_loop(dir: &Path) {
    let path = dir.join("src").join("naive.rs");
    let content = std::fs::read_to_string(&path).unwrap().replace(BROKEN, "");
    let body = "pub fn execute<F: Future>(future: F) -> F::Output {\n";
    assert!(
        content.contains(body),
        "naive::execute changed; update this test"
    );
    std::fs::write(&path, content.replacen(body, &format!("{body}{LOOP}"), 1)).unwrap();
}

/// The one culprit of a report: its commit hash, and whether its breakdown names
/// `src/naive.rs`.
fn culprit(report: &serde_json::Value) -> (String, bool) {
    let culprits = report["culprits"].as_array().expect("a culprits array");
    assert_eq!(culprits.len(), 1, "{report:#}");
    let c = &culprits[0];
    assert!(c["after"].as_u64() > c["before"].as_u64(), "{report:#}");
    let named = c["grew"].to_string().contains("src/naive.rs");
    (c["commit"]["hash"].as_str().unwrap().to_owned(), named)
}

#[test]
#[ignore = "builds and measures several commits under Valgrind: minutes"]
fn bisect_names_the_commit_that_added_the_instructions() {
    // Unpinned, naive_execute's threshold widens past the 1% the third commit adds.
    if let Err(why) = gungraun_gate::pinning::Pinning::detect().cpu {
        panic!("this test needs Valgrind pinned: {why}");
    }
    let scratch = Scratch::clone_project();
    let good = git(&scratch.dir, &["rev-parse", "HEAD"]).unwrap();
    scratch.commit("first: a README line", append("README.md", "\none\n"));
    scratch.commit("second: a README line", append("README.md", "\ntwo\n"));
    let third = scratch.commit("third: naive::execute counts to 100", add_the_loop);
    scratch.commit("fourth: a README line", append("README.md", "\nfour\n"));
    scratch.commit("fifth: a README line", append("README.md", "\nfive\n"));
    let (code, report) = scratch.bisect();
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(culprit(&report), (third, true), "{report:#}");

    // The same history with a commit that does not build before the third.
    git(&scratch.dir, &["reset", "--quiet", "--hard", &good]).unwrap();
    scratch.commit("first: a README line", append("README.md", "\none\n"));
    let broken = scratch.commit("second: does not build", append("src/naive.rs", BROKEN));
    let third = scratch.commit("third: fixes the build, counts to 100", add_the_loop);
    scratch.commit("fourth: a README line", append("README.md", "\nfour\n"));
    scratch.commit("fifth: a README line", append("README.md", "\nfive\n"));
    let (code, report) = scratch.bisect();
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(culprit(&report).0, third, "{report:#}");
    assert_eq!(
        report["culprits"][0]["skipped_before"][0]["hash"],
        broken.as_str()
    );
    assert_eq!(report["did_not_build"][0]["hash"], broken.as_str());
}
