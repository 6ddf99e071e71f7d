//! Small helpers every task shares: files, git, numbers, text tables and cargo's JSON.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context as _;

use crate::cargo;

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename:
/// the benchmarks' own function (they write `memory.json` with it), with the path in errors.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    globalrt_bench_support::write_atomic(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Every `.rs` file under `dir`, at any depth, sorted.
pub fn rust_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    files_under(dir, "rs", usize::MAX)
}

/// Every file with extension `ext` under `dir`, at most `depth` levels down, sorted.
pub fn files_under(dir: &Path, ext: &str, depth: usize) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .max_depth(depth)
        .sort_by_file_name()
    {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == ext) {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

/// Writes `value` to `path` as pretty-printed JSON with a final newline, atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Copies `from` to `to` through a temporary file in `to`'s directory and a rename.
pub fn copy_atomic(from: &Path, to: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    write_atomic(to, &bytes)
}

/// Runs git in `root` with `args`; its trimmed stdout, or an error with its stderr.
pub fn git(root: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .current_dir(root)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("cannot run git")?;
    if !out.status.success() {
        anyhow::bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The full hash of `HEAD` in `root`, or `unknown` outside a git checkout.
pub fn head_commit(root: &Path) -> String {
    git(root, &["rev-parse", "HEAD"]).unwrap_or_else(|_| "unknown".to_owned())
}

/// `HEAD` in `root` as the SLO report names it: its short hash, with uncommitted changes
/// said; `unknown (not a git checkout)` elsewhere.
pub fn describe_commit(root: &Path) -> String {
    match git(root, &["rev-parse", "--short=10", "HEAD"]) {
        Ok(head) => {
            let dirty = git(root, &["status", "--porcelain", "--untracked-files=no"])
                .is_ok_and(|s| !s.is_empty());
            if dirty {
                format!("{head} with uncommitted changes")
            } else {
                head
            }
        }
        Err(_) => "unknown (not a git checkout)".to_owned(),
    }
}

/// A commit hash shortened to the 10 characters reports show.
pub fn short_commit(rev: &str) -> &str {
    rev.get(..10).unwrap_or(rev)
}

/// `n` with a comma between groups of three digits: `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How a text-table column lines up its cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A plain-text table: each column as wide as its widest cell, two spaces between
/// columns, trailing spaces trimmed.
#[derive(Debug)]
pub struct TextTable<'a> {
    pub header: &'a [&'a str],
    /// Each column's alignment; columns past its end are left-aligned.
    pub align: &'a [Align],
    /// Whether a line of dashes separates the header from the rows.
    pub rule: bool,
}

impl TextTable<'_> {
    pub fn render(&self, rows: &[Vec<String>]) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in rows {
            if widths.len() < row.len() {
                widths.resize(row.len(), 0);
            }
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (c, (cell, width)) in cells.iter().zip(&widths).enumerate() {
                let pad = " ".repeat(width - cell.chars().count());
                let _ = match self.align.get(c).copied().unwrap_or(Align::Left) {
                    Align::Left => write!(out, "{cell}{pad}  "),
                    Align::Right => write!(out, "{pad}{cell}  "),
                };
            }
            out.trim_end().to_owned() + "\n"
        };
        let mut out = line(
            &self
                .header
                .iter()
                .map(|h| (*h).to_owned())
                .collect::<Vec<_>>(),
        );
        if self.rule {
            out += &line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
        }
        for row in rows {
            out += &line(row);
        }
        out
    }
}

/// One `cargo … --message-format=json-render-diagnostics` run: whether it succeeded, the
/// artifacts it reported, and its stderr (where cargo rendered the diagnostics).
#[derive(Debug)]
pub struct CargoBuild {
    pub success: bool,
    pub artifacts: Vec<cargo_metadata::Artifact>,
    pub stderr: String,
}

impl CargoBuild {
    /// Runs cargo in `root` with `args` and reads its messages with `cargo_metadata`.
    /// `stderr` says whether cargo's own output is captured or shown as it happens.
    pub fn run(root: &Path, args: &[&str], stderr: Stdio) -> anyhow::Result<Self> {
        let out = Command::new(cargo())
            .current_dir(root)
            .args(args)
            .arg("--message-format=json-render-diagnostics")
            .stdin(Stdio::null())
            .stderr(stderr)
            .output()
            .with_context(|| format!("cannot run cargo {}", args.join(" ")))?;
        let artifacts = cargo_metadata::Message::parse_stream(out.stdout.as_slice())
            .filter_map(|message| match message {
                Ok(cargo_metadata::Message::CompilerArtifact(artifact)) => Some(artifact),
                _ => None,
            })
            .collect();
        Ok(CargoBuild {
            success: out.status.success(),
            artifacts,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// The executable built for the target named `name`, if cargo reported one.
    pub fn executable(&self, name: &str) -> Option<PathBuf> {
        self.artifacts
            .iter()
            .filter(|a| a.target.name == name)
            .find_map(|a| a.executable.clone().map(PathBuf::from))
    }
}

/// The version of `package` that Cargo.lock pins, read through `cargo metadata --locked`.
pub fn locked_version(root: &Path, package: &str) -> anyhow::Result<String> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .cargo_path(cargo())
        .current_dir(root)
        .other_options(vec!["--locked".to_owned()])
        .exec()
        .context("cannot read the workspace's dependencies with `cargo metadata --locked`")?;
    metadata
        .packages
        .iter()
        .find(|p| p.name.as_str() == package)
        .map(|p| p.version.to_string())
        .with_context(|| {
            format!("Cargo.lock has no `{package}` package; is it still a dev-dependency?")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project_root;

    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = std::env::temp_dir().join(format!("gate-atomic-{}", std::process::id()));
        let path = dir.join("out.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let copy = dir.join("copy.json");
        copy_atomic(&path, &copy).unwrap();
        assert_eq!(std::fs::read(&copy).unwrap(), b"two");
        // Readable as a file `std::fs::write` creates (the umask decides), not owner-only.
        let plain = dir.join("plain.json");
        std::fs::write(&plain, b"two").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions();
        assert_eq!(mode(&path), mode(&plain));
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn text_table_pads_columns_and_trims_lines() {
        let rows = vec![vec!["a".to_owned(), "1,000".to_owned(), String::new()]];
        let mut table = TextTable {
            header: &["name", "Ir", "note"],
            align: &[Align::Left, Align::Right],
            rule: false,
        };
        assert_eq!(table.render(&rows), "name     Ir  note\na     1,000\n");
        table.rule = true;
        assert_eq!(
            table.render(&rows),
            "name     Ir  note\n----  -----  ----\na     1,000\n"
        );
    }

    #[test]
    fn short_commit_keeps_ten_characters() {
        assert_eq!(short_commit("0123456789abcdef"), "0123456789");
        assert_eq!(short_commit("abc"), "abc");
    }

    #[test]
    fn the_workspace_lock_has_gungraun() {
        let v = locked_version(&project_root(), "gungraun").unwrap();
        assert!(v.starts_with("0."), "{v}");
        assert!(locked_version(&project_root(), "no-such-package").is_err());
    }
}
