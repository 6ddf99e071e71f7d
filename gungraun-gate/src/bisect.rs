//! `--bisect GOOD..BAD`: the commit where each regressed benchmark rose.
//!
//! GOOD and BAD are measured first, and judged with the gate's own rules; each benchmark
//! that regressed between them is then bisected over BAD's first-parent history
//! ([`search`]). Every commit is measured like a side of the gate (the median of
//! `settings.runs` runs), in one worktree and one build directory, so that a probe
//! rebuilds only what changed since the last one; a commit that does not build is
//! skipped and named. Pinned, counts repeat exactly, so no statistics are needed: a commit
//! is bad when its count exceeds GOOD's by more than the threshold the gate applied.
//!
//! The culprit is explained as the gate explains a regression: the functions whose
//! inclusive count grew most from the commit before it, read from both commits' callgrind
//! files against their own sources and binaries.

mod render;
mod search;

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, bail};
use serde::Serialize;

use super::callgrind;
use super::compare::{self, FunctionDelta, GateRow, GateVerdict, Rules};
use super::gate::TOP_FUNCTIONS;
use super::runs::{self, Run, Runs};
use super::suite::{Build, Side, Suite};
use super::worktree::{Worktree, commit_of};
use crate::baseline::Baseline;
use crate::exit::Exit;
use crate::flags::{self, BenchFormat, BisectRange};
use crate::invocation::LOG;
use crate::util::{self, git, short_commit};
use search::Probe;

/// A commit, as the report names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Commit {
    pub(crate) hash: String,
    pub(crate) subject: String,
}

/// What `--bisect` found; its JSON form is `--format json`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct BisectReport {
    pub(crate) schema: u32,
    pub(crate) good: Commit,
    pub(crate) bad: Commit,
    /// How many commits of BAD's first-parent history follow GOOD (BAD included).
    pub(crate) commits: usize,
    /// The commits built and measured, GOOD and BAD included, oldest first.
    pub(crate) measured: Vec<Commit>,
    /// The probed commits that did not build, oldest first.
    pub(crate) did_not_build: Vec<Commit>,
    /// One per benchmark that regressed between GOOD and BAD.
    pub(crate) culprits: Vec<Culprit>,
}

/// The commit where one benchmark rose past its threshold.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Culprit {
    pub(crate) benchmark: String,
    pub(crate) metric: String,
    pub(crate) commit: Commit,
    /// The count at `last_good` and at `commit`.
    pub(crate) before: u64,
    pub(crate) after: u64,
    pub(crate) delta: i64,
    pub(crate) delta_pct: Option<f64>,
    /// The limits the gate applied between GOOD and BAD, which each probe is judged by.
    pub(crate) threshold_pct: f64,
    pub(crate) floor: u64,
    /// The last commit measured good before `commit` (GOOD itself, possibly).
    pub(crate) last_good: Commit,
    /// Commits between `last_good` and `commit` that did not build: the rise may have
    /// begun in one of them.
    pub(crate) skipped_before: Vec<Commit>,
    /// The functions whose inclusive count grew most from `last_good` to `commit`.
    pub(crate) grew: Vec<FunctionDelta>,
}

/// The search in progress: the commits, the worktree, and every commit measured so far.
struct Bisection<'a> {
    suite: &'a Suite,
    runs: usize,
    worktree: Worktree,
    good: Commit,
    /// BAD's first-parent history after GOOD, oldest first; BAD is the last.
    commits: Vec<Commit>,
    /// Per commit hash: its runs, or `None` when it did not build.
    measured: BTreeMap<String, Option<Vec<Run>>>,
    /// The commit whose build the build directory holds.
    built: Option<String>,
}

/// Runs `--bisect`: exit 0 when nothing regressed between GOOD and BAD, 1 when culprits
/// were found.
pub(crate) fn run(
    flags: &flags::GateFlags,
    suite: &Suite,
    baseline: &Baseline,
    rules: &Rules<'_>,
    range: &BisectRange,
) -> anyhow::Result<Exit> {
    let mut bisection = Bisection::start(suite, baseline, range)?;
    let regressed = bisection.regressed(baseline, rules, flags.filter.as_deref())?;
    let mut culprits = Vec::new();
    for row in &regressed {
        culprits.push(bisection.culprit(row)?);
    }
    let report = bisection.into_report(culprits);
    let rendered = match flags.format {
        BenchFormat::Json => render::json(&report),
        _ => render::text(&report),
    };
    match &flags.output {
        Some(path) => {
            util::write_atomic(path, rendered.as_bytes())?;
            print!("{}", render::text(&report));
            eprintln!("{LOG}: bisection written to {}", path.display());
        }
        None => print!("{rendered}"),
    }
    Ok(Exit::passed_if(report.culprits.is_empty()))
}

impl<'a> Bisection<'a> {
    /// Lists the commits and checks GOOD out in the worktree.
    fn start(suite: &'a Suite, baseline: &Baseline, range: &BisectRange) -> anyhow::Result<Self> {
        let root = &suite.root;
        let good = commit_of(root, &range.good)?;
        let bad = commit_of(root, &range.bad)?;
        let listed = git(
            root,
            &[
                "log",
                "--first-parent",
                "--reverse",
                "--format=%H%x09%s",
                &format!("{good}..{bad}"),
            ],
        )?;
        let commits: Vec<Commit> = listed.lines().filter_map(parse_commit).collect();
        if commits.is_empty() {
            bail!("{}..{} holds no commit", range.good, range.bad);
        }
        let subject = git(root, &["log", "-1", "--format=%s", &good])?;
        Ok(Bisection {
            suite,
            runs: baseline.settings.runs,
            worktree: Worktree::add(root, &good)?,
            good: Commit {
                hash: good,
                subject,
            },
            commits,
            measured: BTreeMap::new(),
            built: None,
        })
    }

    fn bad(&self) -> &Commit {
        self.commits.last().expect("checked non-empty")
    }

    /// Measures GOOD and BAD and returns the rows that regressed between them.
    fn regressed(
        &mut self,
        baseline: &Baseline,
        rules: &Rules<'_>,
        filter: Option<&str>,
    ) -> anyhow::Result<Vec<GateRow>> {
        let (good, bad) = (self.good.clone(), self.bad().clone());
        for commit in [&good, &bad] {
            if self.measure(commit)?.is_none() {
                bail!(
                    "{} ({}) does not build, so there is nothing to bisect from",
                    short_commit(&commit.hash),
                    commit.subject
                );
            }
        }
        let good_runs = self.runs_of(&good.hash).expect("measured above");
        let bad_runs = self.runs_of(&bad.hash).expect("measured above");
        let (good_medians, bad_medians) = (runs::medians(good_runs), runs::medians(bad_runs));
        let median_of = self.suite.pinning.median_of(self.runs);
        let noise = runs::noise(baseline, &[&good_medians, &bad_medians], median_of);
        let rows = compare::compare(
            &runs::records(&good_medians),
            &runs::records(&bad_medians),
            &noise,
            rules,
            filter,
        );
        Ok(rows
            .into_iter()
            .filter(|r| r.verdict == GateVerdict::Regressed)
            .collect())
    }

    /// Bisects one regressed row and explains the commit found.
    fn culprit(&mut self, row: &GateRow) -> anyhow::Result<Culprit> {
        let before = row.baseline.context("a regressed row has a base value")?;
        let found = search::first_bad(self.commits.len(), |i| {
            let commit = self.commits[i].clone();
            let Some(value) = self.value_at(&commit, &row.benchmark)? else {
                return Ok(Probe::Skip);
            };
            Ok(
                match compare::judge(before, value, row.threshold_pct, row.floor) {
                    GateVerdict::Regressed => Probe::Bad,
                    _ => Probe::Good,
                },
            )
        })?;
        let commit = self.commits[found.first_bad].clone();
        let last_good = found
            .last_good
            .map_or_else(|| self.good.clone(), |i| self.commits[i].clone());
        let value = |c: &Commit| self.value_at_measured(c, &row.benchmark);
        let (before, after) = (value(&last_good)?, value(&commit)?);
        let delta = after as i64 - before as i64;
        let grew = if row.tool == "callgrind" {
            self.grew(&row.benchmark, &last_good, &commit)?
        } else {
            Vec::new()
        };
        Ok(Culprit {
            benchmark: row.benchmark.clone(),
            metric: row.metric.clone(),
            before,
            after,
            delta,
            delta_pct: (before > 0).then(|| delta as f64 * 100.0 / before as f64),
            threshold_pct: row.threshold_pct,
            floor: row.floor,
            skipped_before: found
                .skipped
                .iter()
                .map(|&i| self.commits[i].clone())
                .collect(),
            commit,
            last_good,
            grew,
        })
    }

    /// `benchmark`'s median at `commit`, measuring it first if needed; `None` when the
    /// commit does not build or lacks the benchmark.
    fn value_at(&mut self, commit: &Commit, benchmark: &str) -> anyhow::Result<Option<u64>> {
        let Some(runs) = self.measure(commit)? else {
            return Ok(None);
        };
        Ok(runs::medians(runs)
            .get(benchmark)
            .map(|m| m.measurement.value))
    }

    /// `benchmark`'s median at a commit the search measured.
    fn value_at_measured(&self, commit: &Commit, benchmark: &str) -> anyhow::Result<u64> {
        let runs = self
            .runs_of(&commit.hash)
            .context("the search measured both ends")?;
        runs::medians(runs)
            .get(benchmark)
            .map(|m| m.measurement.value)
            .with_context(|| format!("{benchmark} was not measured at {}", commit.hash))
    }

    fn runs_of(&self, hash: &str) -> Option<&Vec<Run>> {
        self.measured.get(hash).and_then(Option::as_ref)
    }

    /// `commit`'s runs, building and running the suite at it the first time; `None` when
    /// it does not build.
    fn measure(&mut self, commit: &Commit) -> anyhow::Result<Option<&Vec<Run>>> {
        if !self.measured.contains_key(&commit.hash) {
            let runs = match self.build(commit)? {
                Build::Failed => {
                    eprintln!(
                        "{LOG}: {} ({}) does not build; skipped",
                        short_commit(&commit.hash),
                        commit.subject
                    );
                    None
                }
                Build::Built => {
                    let label = format!("bisect-{}", short_commit(&commit.hash));
                    let dir = &self.worktree.dir;
                    Some(
                        self.suite
                            .runs(dir, &label, Side::Base, Runs::MedianOf(self.runs))?,
                    )
                }
            };
            self.measured.insert(commit.hash.clone(), runs);
        }
        Ok(self.runs_of(&commit.hash))
    }

    /// Checks `commit` out and builds it, unless the build directory holds it already.
    fn build(&mut self, commit: &Commit) -> anyhow::Result<Build> {
        if self.built.as_deref() == Some(commit.hash.as_str()) {
            return Ok(Build::Built);
        }
        self.worktree.checkout(&commit.hash)?;
        self.built = None;
        let build = self.suite.build(&self.worktree.dir, Side::Base)?;
        if build == Build::Built {
            self.built = Some(commit.hash.clone());
        }
        Ok(build)
    }

    /// The functions that grew most from `before` to `after` in `benchmark`. Each side's
    /// callgrind files are read with its own sources and binary, checked out and built
    /// again (later probes replaced them), the one built now first.
    fn grew(
        &mut self,
        benchmark: &str,
        before: &Commit,
        after: &Commit,
    ) -> anyhow::Result<Vec<FunctionDelta>> {
        let order = if self.built.as_deref() == Some(after.hash.as_str()) {
            [after, before]
        } else {
            [before, after]
        };
        let mut profiles = HashMap::new();
        for commit in order {
            if self.build(commit)? == Build::Failed {
                bail!("{} no longer builds", short_commit(&commit.hash));
            }
            let runs = self.runs_of(&commit.hash).context("measured")?;
            let medians = runs::medians(runs);
            let median = medians.get(benchmark).context("measured")?;
            let dir = &median.measurement.output_dir;
            let profile = callgrind::profile_dir(dir, "Ir", &self.worktree.dir)?;
            profiles.insert(commit.hash.as_str(), profile);
        }
        let (base, head) = (
            &profiles[before.hash.as_str()],
            &profiles[after.hash.as_str()],
        );
        Ok(callgrind::grew_most(base, head, TOP_FUNCTIONS))
    }

    fn into_report(self, culprits: Vec<Culprit>) -> BisectReport {
        let in_order = |built: bool| -> Vec<Commit> {
            std::iter::once(&self.good)
                .chain(&self.commits)
                .filter(|c| {
                    self.measured
                        .get(&c.hash)
                        .is_some_and(|runs| runs.is_some() == built)
                })
                .cloned()
                .collect()
        };
        BisectReport {
            schema: 1,
            good: self.good.clone(),
            bad: self.bad().clone(),
            commits: self.commits.len(),
            measured: in_order(true),
            did_not_build: in_order(false),
            culprits,
        }
    }
}

/// A `git log --format=%H%x09%s` line.
fn parse_commit(line: &str) -> Option<Commit> {
    let (hash, subject) = line.split_once('\t')?;
    Some(Commit {
        hash: hash.to_owned(),
        subject: subject.to_owned(),
    })
}
