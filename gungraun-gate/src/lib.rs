//! An instruction-count regression gate for [gungraun] benchmarks, run as
//! `cargo gungraun-gate` (or called by a workspace's own task, as globalrt's
//! `cargo xtask bench` does).
//!
//! Runs a workspace's gungraun bench target under Valgrind, reads gungraun's JSON
//! summaries, and compares every benchmark with the committed baseline file (or with a
//! commit measured on this machine). Which target, its build's extra `--config` values,
//! where the baseline file lives and what runs after `--save` come from
//! `[workspace.metadata.gungraun-gate]` ([`config`]); with none, the one gungraun bench
//! target and `benches/gungraun-baseline.json`.
//!
//! Why a gate of its own beside gungraun's soft and hard limits: gungraun compares a run
//! with the previous run on the same machine, with one fixed limit for every benchmark.
//! A CI gate needs more: each benchmark's own noise band measured over many runs
//! ([`compare`]), the environment that produced the reference figures (an environment
//! change is never reported as a regression: the baseline's commit is measured here
//! instead, [`reference`]), Valgrind's threads scheduled the same way in every run
//! ([`pinning`]), each side's figure the median of several runs ([`runs`]), and a suspected
//! regression confirmed by measuring base and head again before it is reported ([`gate`]).
//!
//! Modules: [`arguments`] (the command line, checked before anything starts), [`suite`] (tools, build directories, one run of the suite), [`gate`] (one
//! comparison, from measuring to explaining), [`bisect`] (`--bisect`: the commit where a
//! benchmark rose), [`reference`] (what head is compared with),
//! [`worktree`] (the base's checkout), [`runs`] (medians and noise), [`save`] (`--save`),
//! [`pinning`] (scheduling), [`harness`] (the gungraun release Cargo.lock pins),
//! [`summary`] (gungraun's output),
//! [`compare`] (the verdict rules), [`callgrind`] and [`flamegraph`] (which functions
//! grew), [`report`] (text, markdown, JSON, BMF), [`baseline`] (the file), [`config`] and
//! [`invocation`] (the workspace and who runs the gate).
//! [`util`], [`host`], [`exit`] and [`tools`] are the helpers the gate is built on, public
//! so that a workspace's own tasks share them (globalrt's xtask does).
//!
//! [gungraun]: https://docs.rs/gungraun

pub(crate) mod arguments;
pub mod baseline;
pub(crate) mod bisect;
pub(crate) mod build_dir;
pub mod callgrind;
pub mod compare;
pub mod config;
pub mod exit;
pub mod flags;
pub(crate) mod flamegraph;
pub(crate) mod gate;
pub mod harness;
pub mod host;
mod invocation;
pub mod pinning;
pub(crate) mod reference;
pub mod report;
pub(crate) mod runs;
pub(crate) mod save;
pub(crate) mod suite;
pub(crate) mod summary;
pub mod tools;
pub mod util;
pub(crate) mod worktree;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::baseline::Baseline;
use crate::exit::Exit;
use crate::flags::{BenchFormat, GateFlags};
use crate::invocation::{BASELINE, LOG};
use compare::Rules;
use gate::Gate;
use report::GateReport;
use suite::Suite;

pub use config::GateConfig;
pub use invocation::{Invocation, set_invocation};

/// Runs the gate with `flags` on the workspace at `root`, naming itself as `invocation`
/// says: exit 0 no regression, 1 regression(s), 2 could not measure or compare (an `Err`,
/// whose one-line reason the caller prints).
///
/// # Errors
///
/// Whatever kept the gate from measuring or comparing: no Valgrind, no suite, an
/// unsupported gungraun, a missing or malformed baseline file, a build that failed.
pub fn run(flags: GateFlags, root: &Path, invocation: Invocation) -> anyhow::Result<Exit> {
    set_invocation(root, invocation);
    flags.run()
}

/// The workspace root the gate acts on: the one [`run`] or [`set_invocation`] named, else
/// the nearest workspace at or above `CARGO_MANIFEST_DIR` or the working directory.
pub fn project_root() -> PathBuf {
    invocation::root().to_owned()
}

/// The cargo binary to call: `$CARGO` when cargo started us, else `cargo`.
pub fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

impl GateFlags {
    fn run(self) -> anyhow::Result<Exit> {
        // Before the suite starts a runner install or a build that a refusal would orphan.
        arguments::check(&self, invocation::root())?;
        let suite = Suite::prepare(self.filter.clone())?;
        if self.save {
            return save::record(&self, &suite);
        }
        let baseline = Baseline::load(&suite.root.join(BASELINE.relative()))?;
        let rules = self.rules(&baseline);
        if let Some(range) = &self.bisect {
            return bisect::run(&self, &suite, &baseline, &rules, range);
        }
        let mut gate = Gate::new(&suite, &baseline, self.base.clone())?;
        let rows = gate.verdicts(&rules, self.filter.as_deref())?;
        let report = gate.into_report(rows);
        self.emit(&report)?;
        eprintln!("{LOG}: {}", report.headline());
        Ok(Exit::passed_if(report.counts().regressed == 0))
    }

    /// The file's settings and overrides, with `--threshold` and `--floor` over them.
    fn rules<'a>(&self, baseline: &'a Baseline) -> Rules<'a> {
        Rules {
            settings: &baseline.settings,
            overrides: &baseline.overrides,
            threshold_pct: self.threshold,
            floor: self.floor,
        }
    }

    /// Prints the report in `--format` (or writes it to `--output` and prints the text),
    /// writes `--bmf-output`, and appends the markdown to `$GITHUB_STEP_SUMMARY` when set.
    fn emit(&self, report: &GateReport) -> anyhow::Result<()> {
        let rendered = match self.format {
            BenchFormat::Text => report::text(report),
            BenchFormat::Json => report::json(report),
            BenchFormat::Markdown => report::markdown(report),
            BenchFormat::Bmf => report::bmf(report),
        };
        match &self.output {
            Some(path) => {
                util::write_atomic(path, rendered.as_bytes())?;
                print!("{}", report::text(report));
                eprintln!("{LOG}: report written to {}", path.display());
            }
            None => print!("{rendered}"),
        }
        if let Some(path) = &self.bmf_output {
            util::write_atomic(path, report::bmf(report).as_bytes())?;
            eprintln!("{LOG}: BMF results written to {}", path.display());
        }
        if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&summary)
                .with_context(|| format!("cannot open GITHUB_STEP_SUMMARY {summary:?}"))?;
            file.write_all(report::markdown(report).as_bytes())?;
        }
        Ok(())
    }
}
