//! `cargo xtask bench`: the instruction-count regression gate.
//!
//! Runs `benches/instructions.rs` under Valgrind through gungraun, reads gungraun's JSON
//! summaries, and compares every benchmark with `benches/baseline.json` (or with a commit
//! measured on this machine).
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
//! Modules: [`suite`] (tools, build directories, one run of the suite), [`gate`] (one
//! comparison, from measuring to explaining), [`bisect`] (`--bisect`: the commit where a
//! benchmark rose), [`reference`] (what head is compared with),
//! [`worktree`] (the base's checkout), [`runs`] (medians and noise), [`save`] (`--save`),
//! [`pinning`] (scheduling), [`summary`] (gungraun's output),
//! [`compare`] (the verdict rules), [`callgrind`] and [`flamegraph`] (which functions
//! grew), [`report`] (text, markdown, JSON, BMF).

pub(crate) mod bisect;
pub(crate) mod build_dir;
pub(crate) mod callgrind;
pub(crate) mod compare;
pub(crate) mod flamegraph;
pub(crate) mod gate;
pub(crate) mod pinning;
pub(crate) mod reference;
pub(crate) mod report;
pub(crate) mod runs;
pub(crate) mod save;
pub(crate) mod suite;
pub(crate) mod summary;
pub(crate) mod worktree;

use std::io::Write as _;

use anyhow::Context;

use crate::baseline::{BASELINE, Baseline};
use crate::exit::Exit;
use crate::flags::{self, BenchFormat};
use crate::util;
use compare::Rules;
use gate::Gate;
use report::GateReport;
use suite::Suite;

impl flags::Bench {
    pub(crate) fn run(self) -> anyhow::Result<Exit> {
        let suite = Suite::prepare(self.filter.clone())?;
        if self.save {
            return save::record(&self, &suite);
        }
        let baseline = Baseline::load(&suite.root.join(BASELINE))?;
        let rules = self.rules(&baseline);
        if let Some(range) = &self.bisect {
            return bisect::run(&self, &suite, &baseline, &rules, range);
        }
        let mut gate = Gate::new(&suite, &baseline, self.base.clone())?;
        let rows = gate.verdicts(&rules, self.filter.as_deref())?;
        let report = gate.into_report(rows);
        self.emit(&report)?;
        eprintln!("xtask bench: {}", report.headline());
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
                eprintln!("xtask bench: report written to {}", path.display());
            }
            None => print!("{rendered}"),
        }
        if let Some(path) = &self.bmf_output {
            util::write_atomic(path, report::bmf(report).as_bytes())?;
            eprintln!("xtask bench: BMF results written to {}", path.display());
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
