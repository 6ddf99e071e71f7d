//! `cargo xtask docs`: every instruction or byte count quoted in prose comes from
//! `benches/baseline.json`.
//!
//! A figure is quoted between markers that rendered markdown and rustdoc do not show,
//! `<!--fig naive_vs_global::global_execute-->125<!--/fig-->` ([`figures`] has the syntax:
//! per-call figures of a row of N calls, other metrics, `settings.floor`). This task rewrites
//! every marked figure in README.md, CONTRIBUTING.md, `docs/*.md` and the doc comments under `src/`,
//! `xtask/src/` and `gungraun-gate/src/` from the baseline; `--check` only lists the stale ones. `cargo xtask bench
//! --save` runs the rewrite after recording, and a test runs the check over the repository,
//! so `cargo test --workspace` (and with it `cargo xtask ci`) fails on a stale figure.
//!
//! The same pass finds figures quoted without a marker ([`lint`]), so a new figure cannot
//! bypass the check; a figure measured at an older commit goes in a history block naming
//! that commit.

/// The gate's baseline file, as `baseline` under `[workspace.metadata.gungraun-gate]` in the
/// root Cargo.toml names it (`docs/repository.rs` checks that they agree).
pub(crate) const BASELINE: &str = "benches/baseline.json";

pub(crate) mod figures;
pub(crate) mod lint;
#[cfg(test)]
mod report_excerpt;
#[cfg(test)]
mod repository;

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::baseline::Baseline;
use crate::exit::Exit;
use crate::{flags, project_root, util};

/// How a stale figure's message ends: the way out.
const RUN_DOCS: &str = "; run cargo xtask docs";

/// A problem on one line of one file, printed `file:line: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FigureProblem {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) message: String,
}

impl fmt::Display for FigureProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// What one pass over one file found.
#[derive(Debug, Default)]
pub(crate) struct FileFigures {
    /// The text with every stale figure rewritten.
    pub(crate) rewritten: String,
    /// Figures whose quoted value differs from the baseline's.
    pub(crate) stale: Vec<FigureProblem>,
    /// Everything a rewrite cannot fix: bad markers, unmarked figures.
    pub(crate) other: Vec<FigureProblem>,
}

/// What one pass over the repository found, per file.
#[derive(Debug, Default)]
pub(crate) struct Pass {
    pub(crate) files: Vec<(PathBuf, String, FileFigures)>,
}

impl Pass {
    /// Reads every file that may quote a figure and checks it against `baseline`.
    pub(crate) fn over(root: &Path, baseline: &Baseline) -> anyhow::Result<Pass> {
        let mut pass = Pass::default();
        for path in sources(root)? {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            let figures = check_file(&name, &text, baseline);
            pass.files.push((path, text, figures));
        }
        Ok(pass)
    }

    pub(crate) fn stale(&self) -> impl Iterator<Item = &FigureProblem> {
        self.files.iter().flat_map(|(_, _, f)| &f.stale)
    }

    pub(crate) fn other(&self) -> impl Iterator<Item = &FigureProblem> {
        self.files.iter().flat_map(|(_, _, f)| &f.other)
    }

    /// Writes every file whose figures changed, atomically; how many.
    pub(crate) fn write(&self) -> anyhow::Result<usize> {
        let mut written = 0;
        for (path, text, figures) in &self.files {
            if figures.rewritten != *text {
                util::write_atomic(path, figures.rewritten.as_bytes())?;
                written += 1;
            }
        }
        Ok(written)
    }
}

/// README.md, CONTRIBUTING.md, `docs/*.md`, and the `.rs` files under `src/`, `xtask/src/`
/// and the gate's `gungraun-gate/src/`, sorted.
fn sources(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = vec![root.join("README.md")];
    let contributing = root.join("CONTRIBUTING.md");
    if contributing.is_file() {
        files.push(contributing);
    }
    let docs = root.join("docs");
    if docs.is_dir() {
        files.extend(util::files_under(&docs, "md", 1)?);
    }
    for dir in ["src", "xtask/src", "gungraun-gate/src"] {
        let dir = root.join(dir);
        if dir.is_dir() {
            files.extend(util::rust_files(&dir)?);
        }
    }
    files.sort();
    Ok(files)
}

/// Where a line's prose starts: the whole line of a markdown file, the text after `//!` or
/// `///` in a Rust file (`None` for code and plain comments, which are not checked).
fn prose_start(line: &str, rust: bool) -> Option<usize> {
    if !rust {
        return Some(0);
    }
    let indent = line.len() - line.trim_start().len();
    let rest = &line[indent..];
    ["//!", "///"]
        .iter()
        .find(|p| rest.starts_with(*p) && !rest.starts_with("////"))
        .map(|p| indent + p.len())
}

/// Checks one file's marked figures against `baseline` and lints its unmarked ones.
pub(crate) fn check_file(name: &str, text: &str, baseline: &Baseline) -> FileFigures {
    let rust = name.ends_with(".rs");
    // The proof half's sources quote figures of past experiments as reasons, not as claims
    // about the current code; only marked figures are checked there.
    let lint_it = !name.starts_with("xtask/") && !name.starts_with("gungraun-gate/");
    let mut out = FileFigures::default();
    let mut lint = lint::Lint::default();
    let problem = |line, message| FigureProblem {
        file: name.to_owned(),
        line,
        message,
    };
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let Some(start) = prose_start(line, rust) else {
            out.rewritten.push_str(line);
            continue;
        };
        let (rewritten, stale, errors) = check_line(line, start, baseline);
        out.stale
            .extend(stale.into_iter().map(|m| problem(i + 1, m)));
        out.other
            .extend(errors.into_iter().map(|m| problem(i + 1, m)));
        out.rewritten.push_str(&rewritten);
        if lint_it {
            lint.line(i + 1, line[start..].trim_end(), !rust);
        }
    }
    let unmarked = lint.finish(text.lines().count());
    out.other
        .extend(unmarked.into_iter().map(|u| problem(u.line, u.message)));
    out
}

/// One line with its stale figures rewritten, the stale ones, and the markers that are wrong.
fn check_line(line: &str, start: usize, baseline: &Baseline) -> (String, Vec<String>, Vec<String>) {
    let marked = match figures::parse_line(&line[start..]) {
        Ok(marked) => marked,
        Err(err) => {
            return (
                line.to_owned(),
                vec![],
                vec![format!("{err}; fix the marker")],
            );
        }
    };
    let (mut stale, mut errors) = (Vec::new(), Vec::new());
    let mut rewritten = line[..start].to_owned();
    let mut copied = start;
    for m in marked {
        let range = start + m.value.start..start + m.value.end;
        let quoted = &line[range.clone()];
        let expected = match figures::expected(baseline, &m.spec) {
            Ok(expected) => expected,
            Err(err) => {
                errors.push(format!("{err}; fix the marker"));
                continue;
            }
        };
        if expected.matches(quoted) {
            continue;
        }
        let says = &expected.text;
        stale.push(format!(
            "quoted {quoted}, {BASELINE} says {says} ({}){RUN_DOCS}",
            expected.source
        ));
        rewritten.push_str(&line[copied..range.start]);
        rewritten.push_str(says);
        copied = range.end;
    }
    rewritten.push_str(&line[copied..]);
    (rewritten, stale, errors)
}

impl flags::Docs {
    pub(crate) fn run(self) -> anyhow::Result<Exit> {
        self.run_in(&project_root())
    }

    /// The task over the tree at `root`.
    fn run_in(&self, root: &Path) -> anyhow::Result<Exit> {
        let baseline = Baseline::load(&root.join(BASELINE))?;
        let pass = Pass::over(root, &baseline)?;
        let stale: Vec<&FigureProblem> = pass.stale().collect();
        let other: Vec<&FigureProblem> = pass.other().collect();
        if self.check {
            for p in stale.iter().chain(&other) {
                println!("{p}");
            }
        } else {
            let written = pass.write()?;
            for p in &stale {
                let what = p.message.trim_end_matches(RUN_DOCS);
                println!("rewrote {}:{}: {what}", p.file, p.line);
            }
            for p in &other {
                println!("{p}");
            }
            eprintln!("xtask docs: {written} file(s) rewritten");
        }
        let failed = !other.is_empty() || (self.check && !stale.is_empty());
        if failed {
            eprintln!(
                "xtask docs: {} stale figure(s), {} other problem(s)",
                stale.len(),
                other.len()
            );
        }
        Ok(Exit::passed_if(!failed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch tree: the fixture baseline, a README quoting `readme`, an empty `src/`.
    fn tree(name: &str, readme: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("xtask-docs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("benches")).unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("xtask/src")).unwrap();
        let baseline = include_str!("../../gungraun-gate/tests/fixtures/bench/baseline.json");
        std::fs::write(root.join(BASELINE), baseline).unwrap();
        std::fs::write(root.join("README.md"), readme).unwrap();
        root
    }

    #[test]
    fn check_reports_and_keeps_the_file_rewrite_fixes_it() {
        let stale = "ready: <!--fig ready-->1<!--/fig--> instructions\n";
        let root = tree("stale", stale);
        let check = flags::Docs { check: true };
        let rewrite = flags::Docs { check: false };
        assert_eq!(check.run_in(&root).unwrap(), Exit::Failed);
        assert_eq!(
            std::fs::read_to_string(root.join("README.md")).unwrap(),
            stale
        );
        assert_eq!(rewrite.run_in(&root).unwrap(), Exit::Passed);
        let fixed = std::fs::read_to_string(root.join("README.md")).unwrap();
        assert_eq!(
            fixed,
            "ready: <!--fig ready-->13,304<!--/fig--> instructions\n"
        );
        assert_eq!(check.run_in(&root).unwrap(), Exit::Passed);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn an_unmarked_figure_fails_even_the_rewrite_and_no_baseline_is_an_error() {
        let root = tree("unmarked", "costs 125 instructions\n");
        let rewrite = flags::Docs { check: false };
        assert_eq!(rewrite.run_in(&root).unwrap(), Exit::Failed);
        std::fs::remove_file(root.join(BASELINE)).unwrap();
        let err = rewrite.run_in(&root).unwrap_err().to_string();
        // The gate's name in it is whichever a test in this process set first.
        assert!(
            err.contains("bench --save") || err.contains("gate --save"),
            "{err}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
