//! Project automation for globalrt, run as `cargo xtask <task>`.
//!
//! Each task lives in its own module and is a `run` method on its flags
//! struct from [`flags`]. Every external command is built with an explicit
//! argument list; no task ever passes a shell string. Commands are plain
//! `std::process::Command`s: `xshell` would shorten them at the cost of a dependency.

#[cfg(test)]
mod bisect_e2e;
mod ci;
mod docs;
mod flags;
mod flaky;
mod lint_workflows;
mod loom;
mod memcheck;
mod mutants;
mod platforms;
mod slo;
#[cfg(test)]
mod tidy;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use anyhow::Context as _;

use clap::Parser;

// The helpers every task shares live with the gate, which is built on them.
use gungraun_gate::{baseline, exit, host, tools, util};

use exit::Exit;

fn main() -> ExitCode {
    let flags = flags::Xtask::parse();
    match find_project_root() {
        Ok(root) => gungraun_gate::set_invocation(&root, gate_invocation()),
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            return Exit::NotRun.into();
        }
    }
    let result = match flags.command {
        flags::Command::Demo(cmd) => cmd.run(),
        flags::Command::Ci(cmd) => cmd.run(),
        flags::Command::LintWorkflows(cmd) => cmd.run(),
        flags::Command::Loom(cmd) => cmd.run(),
        flags::Command::Memcheck(cmd) => cmd.run(),
        flags::Command::Slo(cmd) => cmd.run(),
        flags::Command::Bench(cmd) => bench(cmd),
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
///
/// Found at run time, never compiled in: clones that share one `CARGO_TARGET_DIR` share
/// one xtask binary, and each run must act on the checkout it was started in. `cargo run`
/// (so `cargo xtask`) and `cargo test` name the package they run in `CARGO_MANIFEST_DIR`;
/// a binary started by hand looks upward from the working directory.
pub(crate) fn project_root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| find_project_root().unwrap_or_else(|err| panic!("{err:#}")))
        .clone()
}

/// [`project_root`], or why there is none.
fn find_project_root() -> anyhow::Result<PathBuf> {
    let start = match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_dir().context("cannot read the working directory")?,
    };
    workspace_root(&start).with_context(|| {
        format!(
            "no globalrt workspace at or above {}; run cargo xtask inside a checkout",
            start.display()
        )
    })
}

/// The nearest directory at or above `start` whose `Cargo.toml` declares a workspace with
/// xtask in it.
fn workspace_root(start: &Path) -> Option<PathBuf> {
    let is_root = |dir: &Path| {
        dir.join("xtask/Cargo.toml").is_file()
            && std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|toml| toml.lines().any(|l| l.trim() == "[workspace]"))
    };
    start
        .ancestors()
        .find(|d| is_root(d))
        .map(Path::to_path_buf)
}

/// The cargo binary to call: `$CARGO` when cargo started us, else `cargo`.
pub(crate) fn cargo() -> std::ffi::OsString {
    gungraun_gate::cargo()
}

/// `cargo xtask bench`: the gate crate on this checkout, configured by
/// `[workspace.metadata.gungraun-gate]` in the root Cargo.toml.
fn bench(flags: gungraun_gate::flags::GateFlags) -> anyhow::Result<Exit> {
    gungraun_gate::run(flags, &project_root(), gate_invocation())
}

/// How the gate names itself here, in its messages and those about the baseline file that
/// `docs` and `slo` read: as it did when it lived in xtask (`target/xtask-bench` too).
pub(crate) fn gate_invocation() -> gungraun_gate::Invocation {
    gungraun_gate::Invocation {
        command: "cargo xtask bench".to_owned(),
        log: "xtask bench".to_owned(),
        work_dir: "xtask-bench".to_owned(),
    }
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

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    use crate::util::git;
    use crate::{cargo, project_root};

    /// A scratch directory under the system's temporary directory, removed when dropped.
    struct ScratchDir(PathBuf);

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// `cargo run -p xtask -- ARGS` in `dir`, building in `target`: exit code, stdout, stderr.
    fn xtask_in(dir: &Path, target: &Path, args: &[&str]) -> (Option<i32>, String, String) {
        let out = Command::new(cargo())
            .current_dir(dir)
            .args(["run", "--package", "xtask", "--"])
            .args(args)
            .env("CARGO_TARGET_DIR", target)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    }

    #[test]
    fn the_root_is_the_workspace_around_the_start_not_a_member() {
        let scratch = ScratchDir(
            std::env::temp_dir().join(format!("xtask-find-root-{}", std::process::id())),
        );
        let root = scratch.0.join("clone");
        std::fs::create_dir_all(root.join("xtask/src")).unwrap();
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\n\n[workspace]\nmembers = [\"xtask\"]\n",
        )
        .unwrap();
        std::fs::write(
            root.join("xtask/Cargo.toml"),
            "[package]\nname = \"xtask\"\n",
        )
        .unwrap();
        assert_eq!(
            super::workspace_root(&root.join("xtask/src")),
            Some(root.clone())
        );
        assert_eq!(
            super::workspace_root(&root.join("xtask")),
            Some(root.clone())
        );
        assert_eq!(super::workspace_root(&root), Some(root.clone()));
        assert_eq!(super::workspace_root(&scratch.0), None);
        // Under `cargo test`, as under `cargo xtask`, cargo names this checkout at run time.
        let here = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap();
        assert_eq!(project_root(), here.parent().unwrap());
    }

    /// Two clones of HEAD that share one `CARGO_TARGET_DIR`, B cloned before A is built, so
    /// cargo runs A's xtask binary in B: `docs --check` in B must read B's files, and fail on
    /// the stale figure only B's README quotes.
    #[test]
    #[ignore = "builds xtask in target/xtask-root-e2e (minutes the first time)"]
    fn a_binary_shared_by_two_clones_acts_on_the_one_it_runs_in() {
        let root = project_root();
        let scratch =
            ScratchDir(std::env::temp_dir().join(format!("xtask-root-{}", std::process::id())));
        let (a, b) = (scratch.0.join("a"), scratch.0.join("b"));
        for clone in [&b, &a] {
            let to = clone.to_string_lossy();
            git(&root, &["clone", "--quiet", &root.to_string_lossy(), &to]).unwrap();
        }
        let readme = b.join("README.md");
        let mut text = std::fs::read_to_string(&readme).unwrap();
        text.push_str("\nStale: <!--fig global_execute-->1<!--/fig--> instructions.\n");
        std::fs::write(&readme, text).unwrap();
        let target = root.join("target").join("xtask-root-e2e");

        let (code, _, err) = xtask_in(&a, &target, &["docs", "--check"]);
        assert_eq!(code, Some(0), "A's own check fails:\n{err}");
        let (code, out, err) = xtask_in(&b, &target, &["docs", "--check"]);
        assert!(
            !err.contains("Compiling xtask"),
            "cargo rebuilt xtask for B, so the case is not reproduced:\n{err}"
        );
        assert_eq!(code, Some(1), "B's stale figure not found:\n{out}{err}");
        assert!(out.contains("README.md:"), "{out}");
    }
}
