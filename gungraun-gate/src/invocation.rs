//! Who runs the gate and on which workspace: the command a user types, the prefix of its
//! progress lines, its directory under `target/`, the workspace root and its configuration.
//!
//! Set once per process by [`crate::run`] (or [`crate::set_invocation`] for a caller that
//! uses the gate's helpers without running it) and read everywhere through [`LOG`],
//! [`COMMAND`], [`BASELINE`], [`crate::project_root`] and [`project`], so that messages
//! deep in the gate name the command the user ran.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::config::GateConfig;

/// How the gate names itself: `cargo gungraun-gate` by default, `cargo xtask bench` in a
/// repository that wraps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The command a user types, e.g. `cargo gungraun-gate`; messages quote it with flags
    /// after it (`cargo gungraun-gate --save`).
    pub command: String,
    /// The prefix of its progress lines on stderr, e.g. `gungraun-gate`.
    pub log: String,
    /// Its directory under `target/` (gungraun's files, the base's worktree) and, with
    /// `-build` after it, the build directories.
    pub work_dir: String,
}

impl Default for Invocation {
    fn default() -> Self {
        Invocation {
            command: "cargo gungraun-gate".to_owned(),
            log: "gungraun-gate".to_owned(),
            work_dir: "gungraun-gate".to_owned(),
        }
    }
}

/// The workspace the gate runs on.
#[derive(Debug)]
pub(crate) struct Project {
    pub(crate) root: PathBuf,
    pub(crate) config: GateConfig,
}

static PROJECT: OnceLock<Project> = OnceLock::new();
static INVOCATION: OnceLock<Invocation> = OnceLock::new();
static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// Names the gate and the workspace root for this process; the first call wins.
pub fn set_invocation(root: &Path, invocation: Invocation) {
    let _ = ROOT.set(root.to_owned());
    let _ = INVOCATION.set(invocation);
}

/// The invocation set for this process, else the default one.
pub(crate) fn invocation() -> &'static Invocation {
    INVOCATION.get_or_init(Invocation::default)
}

/// The workspace root set for this process, else the nearest directory at or above
/// `CARGO_MANIFEST_DIR` (or the working directory) whose `Cargo.toml` declares a workspace.
pub(crate) fn root() -> &'static Path {
    ROOT.get_or_init(|| {
        let start = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default();
        start
            .ancestors()
            .find(|dir| {
                std::fs::read_to_string(dir.join("Cargo.toml"))
                    .is_ok_and(|toml| toml.lines().any(|l| l.trim() == "[workspace]"))
            })
            .unwrap_or(&start)
            .to_owned()
    })
}

/// The workspace and its configuration, read on first use.
pub(crate) fn project() -> anyhow::Result<&'static Project> {
    if let Some(project) = PROJECT.get() {
        return Ok(project);
    }
    let root = root().to_owned();
    let config = GateConfig::load(&root)?;
    Ok(PROJECT.get_or_init(|| Project { root, config }))
}

/// The prefix of the gate's progress lines (`gungraun-gate`, `xtask bench`), written as
/// `{LOG}` in a format string.
pub(crate) static LOG: LogPrefix = LogPrefix;

/// See [`LOG`].
pub(crate) struct LogPrefix;

impl fmt::Display for LogPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&invocation().log)
    }
}

/// The command a user types to run the gate (`cargo gungraun-gate`), written as
/// `{COMMAND}` in a format string.
pub(crate) static COMMAND: CommandName = CommandName;

/// See [`COMMAND`].
pub(crate) struct CommandName;

impl fmt::Display for CommandName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&invocation().command)
    }
}

/// The baseline file, relative to the workspace root, written as `{BASELINE}` in a format
/// string; [`BaselinePath::relative`] for a path.
pub(crate) static BASELINE: BaselinePath = BaselinePath;

/// See [`BASELINE`].
pub(crate) struct BaselinePath;

impl BaselinePath {
    /// The configured file relative to the root (the default's when none is configured or
    /// the configuration cannot be read, which [`crate::run`] has reported by then).
    pub(crate) fn relative(&self) -> &'static str {
        match project() {
            Ok(project) => &project.config.baseline,
            Err(_) => crate::config::DEFAULT_BASELINE,
        }
    }
}

impl fmt::Display for BaselinePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.relative())
    }
}
