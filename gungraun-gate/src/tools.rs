//! Tools installed with `cargo install` at a pinned version, once, under `target/tools/`.
//!
//! A tool found on `PATH` (or in cargo's `bin` directory) is used when it reports exactly the
//! pinned version; otherwise it is installed with `--locked` into
//! `target/tools/<crate>-<version>/`, so a version bump installs beside the old one and
//! never mixes the two. An install can run in the background ([`PendingInstall`]) while
//! the task does other work, such as building what the tool will run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context as _, bail};

use crate::cargo;

/// A crate whose binary a task runs, at the version the task was written against.
#[derive(Clone, Copy, Debug)]
pub struct PinnedTool<'a> {
    /// The crate to `cargo install`.
    pub krate: &'a str,
    /// The binary it installs, which prints `<bin> <version>` for `version_args`.
    pub bin: &'a str,
    pub version: &'a str,
    /// How to ask the binary its version: `--version`, or `mutants --version` for a cargo
    /// subcommand, which expects its subcommand name first.
    pub version_args: &'a [&'a str],
    /// Further `cargo install` arguments, e.g. a cheaper profile for a tool whose own speed
    /// does not matter.
    pub install_args: &'a [&'a str],
}

/// A `cargo install` of a [`PinnedTool`] running in the background, its output in a log.
/// Dropped unfinished (the task failed first), it stops the install and every compiler the
/// install started, and reaps it: nothing a task started outlives the task. (An interrupt
/// from the terminal reaches the task's process group, not the install's: the install then
/// finishes by itself, and the next run finds the tool.)
#[derive(Debug)]
pub struct PendingInstall {
    /// The install, in a process group of its own; `None` once waited for.
    child: Option<Child>,
    log: PathBuf,
    /// The binary once installed, how to ask its version, and what it must print.
    exe: PathBuf,
    version_args: Vec<String>,
    expected: String,
    /// The install command, for the message when it fails.
    by_hand: String,
}

impl PinnedTool<'_> {
    /// Where `cargo install --root` puts it.
    pub fn install_root(&self, root: &Path) -> PathBuf {
        root.join("target")
            .join("tools")
            .join(format!("{}-{}", self.krate, self.version))
    }

    /// The directory holding the binary at the pinned version, installing it first when no
    /// such binary is found. `task` names the caller in messages (`gungraun-gate`).
    pub fn ensure(&self, root: &Path, task: &str) -> anyhow::Result<PathBuf> {
        match self.find(root) {
            Some(dir) => Ok(dir),
            None => self.start_install(root, task)?.wait(),
        }
    }

    /// The directory holding the binary at the pinned version: on `PATH`, in cargo's `bin`
    /// directory or under `target/tools/`.
    pub fn find(&self, root: &Path) -> Option<PathBuf> {
        let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        if let Some(home) = std::env::var_os("CARGO_HOME") {
            candidates.push(PathBuf::from(home).join("bin"));
        }
        if let Some(home) = std::env::var_os("HOME") {
            candidates.push(PathBuf::from(home).join(".cargo").join("bin"));
        }
        candidates.push(self.install_root(root).join("bin"));
        candidates.into_iter().find(|dir| self.is_pinned(dir))
    }

    /// Starts `cargo install --locked` of the pinned version under `target/tools/`, its
    /// output in a log beside the install; [`PendingInstall::wait`] finishes it.
    pub fn start_install(&self, root: &Path, task: &str) -> anyhow::Result<PendingInstall> {
        let tools = self.install_root(root);
        std::fs::create_dir_all(&tools)
            .with_context(|| format!("cannot create {}", tools.display()))?;
        let log = root
            .join("target")
            .join("tools")
            .join(format!("{}-{}.log", self.krate, self.version));
        let out = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        eprintln!(
            "{task}: {} {} not found; installing it into {} (once, a few minutes; cargo's \
             output goes to {})",
            self.bin,
            self.version,
            tools.display(),
            log.display()
        );
        let mut install = Command::new(cargo());
        install
            .args(["install", "--locked", "--version", self.version])
            .args(self.install_args)
            .arg("--root")
            .arg(&tools)
            .arg(self.krate)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let child = spawn_in_own_group(&mut install).context("cannot run cargo install")?;
        Ok(PendingInstall {
            child: Some(child),
            log,
            exe: tools.join("bin").join(self.bin),
            version_args: self.version_args.iter().map(|&a| a.to_owned()).collect(),
            expected: self.expected_version(),
            by_hand: format!(
                "cargo install --locked --version {} {}",
                self.version, self.krate
            ),
        })
    }

    /// Whether `dir` holds the binary and it reports the pinned version.
    fn is_pinned(&self, dir: &Path) -> bool {
        let exe = dir.join(self.bin);
        exe.is_file()
            && crate::host::first_line(&exe, self.version_args).as_deref()
                == Some(self.expected_version().as_str())
    }

    /// What `<bin> --version` prints at the pinned version.
    fn expected_version(&self) -> String {
        format!("{} {}", self.bin, self.version)
    }
}

impl PendingInstall {
    /// Waits for the install; the directory holding the binary, or an error naming the log.
    pub fn wait(mut self) -> anyhow::Result<PathBuf> {
        let mut child = self.child.take().expect("waited for once, by value");
        let status = child.wait().context("cannot wait for cargo install")?;
        let args: Vec<&str> = self.version_args.iter().map(String::as_str).collect();
        let installed = crate::host::first_line(&self.exe, &args);
        if !status.success() || installed.as_deref() != Some(self.expected.as_str()) {
            bail!(
                "cannot install {} ({status}; cargo's output is in {}); install it by hand \
                 with `{}`",
                self.expected,
                self.log.display(),
                self.by_hand
            );
        }
        let dir = self.exe.parent().expect("the binary is in bin/");
        Ok(dir.to_owned())
    }
}

impl Drop for PendingInstall {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            stop(child);
        }
    }
}

/// Spawns `command` as the leader of a new process group, so that [`stop`] reaches the
/// processes it starts too (cargo's compilers).
fn spawn_in_own_group(command: &mut Command) -> std::io::Result<Child> {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(command, 0);
    command.spawn()
}

/// Kills a child started by [`spawn_in_own_group`] and every process in its group, and
/// reaps it. The group's other processes, no longer its children, are reaped by whoever
/// inherits them.
fn stop(mut child: Child) {
    #[cfg(unix)]
    {
        use rustix::process::{Pid, Signal, kill_process_group};
        let _ = kill_process_group(Pid::from_child(&child), Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_installs_in_its_own_directory() {
        let tool = PinnedTool {
            krate: "cargo-mutants",
            bin: "cargo-mutants",
            version: "27.1.0",
            version_args: &["mutants", "--version"],
            install_args: &[],
        };
        assert_eq!(
            tool.install_root(Path::new("/w")),
            Path::new("/w/target/tools/cargo-mutants-27.1.0")
        );
        assert_eq!(tool.expected_version(), "cargo-mutants 27.1.0");
        // No binary there: not the pinned tool.
        assert!(!tool.is_pinned(Path::new("/nonexistent")));
    }

    /// The processes of group `group` that are alive (not zombies): `(pid, name)`.
    #[cfg(target_os = "linux")]
    fn alive_in_group(group: u32) -> Vec<(u32, String)> {
        let mut alive = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // `pid (name) state ppid pgrp …`; the name may hold spaces and parentheses.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            if fields.get(2) == Some(&group.to_string().as_str()) && fields[0] != "Z" {
                alive.push((pid, stat[open + 1..close].to_owned()));
            }
        }
        alive
    }

    /// Waits for `done` to hold, or gives up after a minute, thousands of times what it
    /// takes.
    #[cfg(target_os = "linux")]
    fn eventually(what: &str, done: impl Fn() -> bool) {
        let start = std::time::Instant::now();
        while !done() {
            assert!(start.elapsed().as_secs() < 60, "{what}: not after a minute");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// A dropped install stops what it started, down to the processes its process starts
    /// (here `find` running `sleep`, as cargo runs rustc), so a refused or failed task
    /// leaves nothing running.
    #[test]
    #[cfg(target_os = "linux")]
    fn an_unfinished_install_dropped_leaves_nothing_running() {
        let mut command = Command::new("find");
        command.args(["/", "-maxdepth", "0", "-exec", "sleep", "600", ";"]);
        let child = spawn_in_own_group(&mut command).expect("find runs");
        let group = child.id();
        eventually("find started sleep", || {
            alive_in_group(group)
                .iter()
                .any(|(_, name)| name == "sleep")
        });
        let install = PendingInstall {
            child: Some(child),
            log: PathBuf::new(),
            exe: PathBuf::new(),
            version_args: Vec::new(),
            expected: String::new(),
            by_hand: String::new(),
        };
        drop(install);
        assert!(
            !Path::new("/proc").join(group.to_string()).exists(),
            "the install itself is stopped and reaped"
        );
        eventually("every process it started is gone", || {
            alive_in_group(group).is_empty()
        });
    }
}
