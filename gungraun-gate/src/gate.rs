//! One comparison of head with its base: measuring each side, judging the medians,
//! confirming a suspected regression by measuring both sides again, and explaining each
//! confirmed one (the functions that grew, a differential flamegraph).

use std::collections::BTreeMap;

use anyhow::bail;

use super::callgrind;
use super::compare::{self, GateRow, GateVerdict, Rules};
use super::flamegraph;
use super::pinning;
use super::reference::{self, Reference};
use super::report::GateReport;
use super::runs::{self, Median, Run, Runs};
use super::suite::{Build, Side, Suite};
use super::worktree::Worktree;
use crate::baseline::Baseline;
use crate::invocation::{BASELINE, LOG};
use crate::util::short_commit;

/// How many functions to name per regression.
pub(crate) const TOP_FUNCTIONS: usize = 5;

/// One comparison in progress: what the base is, and the runs measured on each side.
pub(crate) struct Gate<'a> {
    suite: &'a Suite,
    baseline: &'a Baseline,
    /// The revision measured as the base, once it was; until then the file's figures are.
    measured_base: Option<MeasuredBase>,
    base_runs: Vec<Run>,
    head_runs: Vec<Run>,
    compared_against: String,
    notes: Vec<String>,
}

/// A revision measured as the base, and its checkout, kept for the whole gate run.
struct MeasuredBase {
    rev: String,
    worktree: Worktree,
}

impl<'a> Gate<'a> {
    /// Chooses the base (an explicit revision, the baseline's commit re-measured here when
    /// the environment differs, or the file's figures) and measures it and head.
    pub(crate) fn new(
        suite: &'a Suite,
        baseline: &'a Baseline,
        explicit: Option<String>,
    ) -> anyhow::Result<Self> {
        let root = &suite.root;
        let runs = baseline.settings.runs;
        let base = Reference::choose(root, baseline, explicit, &suite.environment)?;
        let mut notes = vec![format!(
            "each side's figure is the median of {runs} run(s) of the suite{}; Valgrind's \
             threads ran {}",
            if suite.pinning.cpu.is_ok() && runs > 1 {
                ", and a benchmark is not run again once a majority of them gave one value"
            } else {
                ""
            },
            match &suite.pinning.cpu {
                Ok(_) if suite.pinning.width() > 1 => format!(
                    "{} (CPUs {}, a run on each at the same time)",
                    pinning::PINNED,
                    suite.pinning.cpus()
                ),
                Ok(cpu) => format!("{} (CPU {cpu})", pinning::PINNED),
                Err(why) => format!("unpinned: {why}"),
            }
        )];
        notes.extend(base.note);
        // Flamegraphs of an earlier run would be read as this run's.
        let _ = std::fs::remove_dir_all(suite.home("flamegraphs"));
        let mut gate = Gate {
            suite,
            baseline,
            measured_base: None,
            base_runs: Vec::new(),
            head_runs: Vec::new(),
            compared_against: base.compared_against,
            notes,
        };
        if let Some(rev) = base.rev {
            gate.measure_base_beside_head_build(&rev)
                .map_err(|err| anyhow::anyhow!("cannot measure {rev}: {err:#}"))?;
        }
        gate.head_runs = suite.measure_runs(root, "head", Side::Head, Runs::MedianOf(runs))?;
        Ok(gate)
    }

    /// The verdicts, a suspected regression confirmed by measuring both sides again, and
    /// each confirmed one explained.
    pub(crate) fn verdicts(
        &mut self,
        rules: &Rules<'_>,
        filter: Option<&str>,
    ) -> anyhow::Result<Vec<GateRow>> {
        let mut rows = self.judge(rules, filter);
        if rows.iter().any(|r| r.verdict == GateVerdict::Regressed) {
            self.confirm()?;
            rows = self.judge(rules, filter);
        }
        self.explain(&mut rows);
        Ok(rows)
    }

    /// The report of `rows`, with what they were compared against and the notes gathered.
    pub(crate) fn into_report(self, rows: Vec<GateRow>) -> GateReport {
        GateReport {
            compared_against: self.compared_against,
            measured_base: !self.base_runs.is_empty(),
            notes: self.notes,
            environment: self.suite.environment.clone(),
            rows,
        }
    }

    /// Builds `rev`, then measures it while head's suite builds beside it: the runs are
    /// pinned to one CPU, so the build mostly uses the other. Head's build starts once the
    /// runner is installed, so that a first run's install, which the base's runs wait for,
    /// has both CPUs to itself once the base's build is done. Head's build is left to
    /// [`Suite::measure_runs`] to report when it fails.
    fn measure_base_beside_head_build(&mut self, rev: &str) -> anyhow::Result<()> {
        let worktree = Worktree::add(&self.suite.root, rev)?;
        if self.suite.build(&worktree.dir, Side::Base)? == Build::Failed {
            bail!("the benchmark suite does not build at {rev}; cargo's errors are above");
        }
        self.measured_base = Some(MeasuredBase {
            rev: rev.to_owned(),
            worktree,
        });
        self.suite.runner_dir()?;
        let head = self.suite.start_build(&self.suite.root, Side::Head)?;
        let measured = self.measure_base(rev, "base", Runs::MedianOf(self.baseline.settings.runs));
        let _ = head.wait()?;
        measured
    }

    /// Measures `rev` (checked out once per gate run) `runs` more times, leaving
    /// gungraun's files under `target/xtask-bench/<label>-<i>`.
    fn measure_base(&mut self, rev: &str, label: &str, runs: Runs) -> anyhow::Result<()> {
        if self.measured_base.is_none() {
            let worktree = Worktree::add(&self.suite.root, rev)?;
            let rev = rev.to_owned();
            self.measured_base = Some(MeasuredBase { rev, worktree });
        }
        let measured = self.measured_base.as_ref().expect("checked out above");
        let checkout = &measured.worktree.dir;
        let runs = self.suite.measure_runs(checkout, label, Side::Base, runs)?;
        self.base_runs.extend(runs);
        Ok(())
    }

    /// The rows for what has been measured so far.
    fn judge(&self, rules: &Rules<'_>, filter: Option<&str>) -> Vec<GateRow> {
        let base_medians = runs::medians(&self.base_runs);
        let head_medians = runs::medians(&self.head_runs);
        let base = if self.base_runs.is_empty() {
            self.baseline.benchmarks.clone()
        } else {
            runs::records(&base_medians)
        };
        compare::compare(
            &base,
            &runs::records(&head_medians),
            &self.noise(&[&base_medians, &head_medians]),
            rules,
            filter,
        )
    }

    /// Each benchmark's noise.
    fn noise(&self, sides: &[&BTreeMap<&str, Median<'_>>]) -> BTreeMap<String, f64> {
        let runs = self.suite.pinning.median_of(self.baseline.settings.runs);
        runs::noise(self.baseline, sides, runs)
    }

    /// Confirms suspected regressions: the base (the baseline's commit standing in for the
    /// file) and head are measured again, and each side's median is taken over all its runs,
    /// so a one-off run cannot fail the gate.
    fn confirm(&mut self) -> anyhow::Result<()> {
        eprintln!("{LOG}: regression suspected; measuring base and head again to confirm");
        self.measure_base_again();
        let root = &self.suite.root;
        let runs = Runs::Exactly(self.baseline.settings.runs);
        let again = self
            .suite
            .measure_runs(root, "head-again", Side::Head, runs)?;
        self.head_runs.extend(again);
        self.notes.push(format!(
            "a regression was suspected, so head was measured {} times and the base {} time(s); \
             each side's median counts",
            self.head_runs.len(),
            self.base_runs.len()
        ));
        Ok(())
    }

    /// Measures the base again; when it was the file, its commit stands in for it from now
    /// on. When that commit cannot be measured, the file stays the base and a note says why.
    fn measure_base_again(&mut self) {
        let from_file = self.measured_base.is_none();
        let rev = match &self.measured_base {
            Some(measured) => Ok(measured.rev.clone()),
            None => reference::baseline_commit(&self.suite.root, self.baseline),
        };
        match rev.and_then(|rev| {
            self.measure_base(
                &rev,
                "base-again",
                Runs::Exactly(self.baseline.settings.runs),
            )
            .map(|()| rev)
        }) {
            Ok(rev) if from_file => {
                self.notes.push(format!(
                    "regressions against {BASELINE} were confirmed against its commit {} \
                     measured on this machine; the table compares with that measurement",
                    short_commit(&rev)
                ));
                self.compared_against = reference::recording_commit_measured_here(&rev);
            }
            Ok(_) => {}
            Err(err) => self.notes.push(format!(
                "could not measure the baseline's commit here, so the regressions are judged \
                 against the file alone and have no function breakdown: {err:#}"
            )),
        }
    }

    /// Names the functions that grew in each regressed callgrind benchmark, from the
    /// callgrind files of each side's median run, and draws its differential flamegraph.
    fn explain(&mut self, rows: &mut [GateRow]) {
        if self.base_runs.is_empty() {
            return;
        }
        let base = runs::medians(&self.base_runs);
        let head = runs::medians(&self.head_runs);
        for row in rows
            .iter_mut()
            .filter(|r| r.verdict == GateVerdict::Regressed)
        {
            if row.tool != "callgrind" {
                continue;
            }
            let (Some(b), Some(h)) = (
                base.get(row.benchmark.as_str()),
                head.get(row.benchmark.as_str()),
            ) else {
                continue;
            };
            match (
                callgrind::profile_dir(&b.measurement.output_dir, "Ir", b.checkout),
                callgrind::profile_dir(&h.measurement.output_dir, "Ir", h.checkout),
            ) {
                (Ok(bp), Ok(hp)) => row.grew = callgrind::grew_most(&bp, &hp, TOP_FUNCTIONS),
                (Err(err), _) | (_, Err(err)) => self
                    .notes
                    .push(format!("{}: no function breakdown: {err:#}", row.benchmark)),
            }
            let note = self.draw_flamegraph(&row.benchmark, b, h);
            self.notes.push(note);
        }
    }

    /// Draws `benchmark`'s differential flamegraph from base to head; the note that says
    /// where it is, or why there is none.
    fn draw_flamegraph(&self, benchmark: &str, base: &Median<'_>, head: &Median<'_>) -> String {
        let svg = self
            .suite
            .home("flamegraphs")
            .join(format!("{}.diff.svg", benchmark.replace("::", ".")));
        let title = format!("{benchmark}: base → head (red grew)");
        let drawn = flamegraph::write_differential(
            &base.measurement.output_dir,
            &head.measurement.output_dir,
            &title,
            &svg,
        );
        match drawn {
            Ok(()) => format!("{benchmark}: differential flamegraph in {}", svg.display()),
            Err(err) => format!("{benchmark}: no differential flamegraph: {err:#}"),
        }
    }
}
