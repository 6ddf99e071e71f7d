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
//! instead), Valgrind's threads scheduled the same way in every run ([`pinning`]), each
//! side's figure the median of several runs, and a suspected regression confirmed by
//! measuring base and head again before it is reported.
//!
//! Modules: [`baseline`] (the file), [`pinning`] (scheduling), [`summary`] (gungraun's
//! output), [`compare`] (the verdict rules), [`callgrind`] (which functions grew),
//! [`report`] (text, markdown, JSON, BMF).

pub(crate) mod baseline;
pub(crate) mod callgrind;
pub(crate) mod compare;
pub(crate) mod flamegraph;
pub(crate) mod pinning;
pub(crate) mod report;
pub(crate) mod summary;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, bail};

use crate::flags::{self, BenchFormat};
use crate::util::short_commit as short;
use crate::{cargo, host, project_root, util};
use baseline::{Baseline, Environment, Recorded};
use compare::{Row, Rules, Verdict};
use pinning::Pinning;
use report::Report;
use summary::Measurement;

/// The committed baseline, relative to the workspace root.
pub(crate) const BASELINE: &str = "benches/baseline.json";
/// The gungraun bench target.
const BENCH: &str = "instructions";
/// How many functions to name per regression.
const TOP_FUNCTIONS: usize = 5;

impl flags::Bench {
    pub(crate) fn run(self) -> anyhow::Result<ExitCode> {
        let (ctx, env_now) = Suite::prepare(self.filter.clone())?;
        if self.save {
            return self.save(&ctx, env_now);
        }
        let baseline = Baseline::load(&ctx.root.join(BASELINE))?;
        let rules = Rules {
            settings: &baseline.settings,
            overrides: &baseline.overrides,
            threshold_pct: self.threshold,
            floor: self.floor,
        };
        let mut gate = Gate::new(&ctx, &baseline, self.base.clone(), &env_now)?;
        let mut rows = gate.judge(&rules, self.filter.as_deref());
        if rows.iter().any(|r| r.verdict == Verdict::Regressed) {
            gate.confirm()?;
            rows = gate.judge(&rules, self.filter.as_deref());
        }
        gate.explain(&mut rows);
        let report = Report {
            compared_against: gate.compared_against,
            notes: gate.notes,
            environment: env_now,
            rows,
        };
        self.emit(&report)?;
        eprintln!("xtask bench: {}", report.headline());
        Ok(if report.counts().regressed > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    }

    fn emit(&self, report: &Report) -> anyhow::Result<()> {
        let rendered = match self.format {
            BenchFormat::Text => report::text(report),
            BenchFormat::Json => report::json(report),
            BenchFormat::Markdown => report::markdown(report),
            BenchFormat::Bmf => report::bmf(report),
        };
        match &self.output {
            Some(path) => {
                crate::util::write_atomic(path, rendered.as_bytes())?;
                print!("{}", report::text(report));
                eprintln!("xtask bench: report written to {}", path.display());
            }
            None => print!("{rendered}"),
        }
        if let Some(path) = &self.bmf_output {
            crate::util::write_atomic(path, report::bmf(report).as_bytes())?;
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

    fn save(&self, ctx: &Suite, env_now: Environment) -> anyhow::Result<ExitCode> {
        if self.filter.is_some() || self.base.is_some() {
            bail!(
                "--save re-records the whole suite on the working tree; drop --filter and --base"
            );
        }
        let root = &ctx.root;
        let path = root.join(BASELINE);
        // Keep the hand-written parts (settings, overrides) of a readable existing file.
        let (settings, overrides) = match Baseline::load(&path) {
            Ok(old) => (old.settings, old.overrides),
            Err(err) => {
                if path.exists() {
                    eprintln!(
                        "xtask bench: starting a fresh baseline; the old one is unreadable: {err:#}"
                    );
                }
                Default::default()
            }
        };
        let runs = self.save_runs.max(1);
        let all = ctx.measure_runs(root, "save", Side::Head, runs)?;
        let mut benchmarks = BTreeMap::new();
        for first in &all[0].measurements {
            let samples: Vec<u64> = all
                .iter()
                .filter_map(|run| run.find(&first.id).map(|m| m.value))
                .collect();
            if samples.len() != runs {
                bail!(
                    "benchmark {} ran in some recording runs only; run --save again",
                    first.id
                );
            }
            benchmarks.insert(
                first.id.clone(),
                Recorded::from_samples(
                    &first.tool,
                    &first.metric,
                    samples,
                    settings.runs,
                    first.metrics.clone(),
                    first.threads.clone(),
                ),
            );
        }
        let commit = crate::util::git(root, &["rev-parse", "HEAD"]).ok();
        let dirty = crate::util::git(
            root,
            &[
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":!benches/baseline.json",
            ],
        )
        .map(|s| !s.is_empty())
        .unwrap_or(true);
        let baseline = Baseline {
            schema: baseline::SCHEMA,
            recorded_with: "cargo xtask bench --save".to_owned(),
            commit,
            dirty,
            runs,
            environment: env_now,
            settings,
            overrides,
            benchmarks,
        };
        baseline.write_atomic(&path)?;
        for (id, b) in &baseline.benchmarks {
            let noise = if b.spread_pct > 0.0 {
                format!(
                    "  noise {:.3}% (single runs {:.3}%) {:?}",
                    b.noise_pct, b.spread_pct, b.samples
                )
            } else {
                String::new()
            };
            println!("{id:<70} {:>12} {}{noise}", b.value, b.metric);
        }
        eprintln!(
            "xtask bench: recorded {} benchmarks over {runs} run(s) in {}; commit it",
            baseline.benchmarks.len(),
            path.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// How this machine runs the suite: the tools, the scheduling, the filter.
struct Suite {
    root: PathBuf,
    runner_dir: PathBuf,
    filter: Option<String>,
    pinning: Pinning,
}

impl Suite {
    /// Checks the tools (installing the runner if needed) and captures the environment.
    fn prepare(filter: Option<String>) -> anyhow::Result<(Suite, Environment)> {
        let root = project_root();
        if let Some(flags) = std::env::var_os("RUSTFLAGS")
            && flags.to_string_lossy().contains("target-cpu=native")
        {
            bail!(
                "RUSTFLAGS contains target-cpu=native, whose AVX-512 code Valgrind cannot run; \
                 unset it for `cargo xtask bench`"
            );
        }
        let valgrind = host::valgrind_version()?;
        let gungraun = util::locked_version(&root, "gungraun")?;
        let runner_dir = ensure_runner(&root, &gungraun)?;
        let pinning = Pinning::detect();
        if let Err(why) = &pinning.cpu {
            eprintln!(
                "xtask bench: Valgrind runs unpinned, so work that spans threads is noisy: {why}"
            );
        }
        let env_now = capture_environment(valgrind, gungraun, pinning.fingerprint())?;
        let suite = Suite {
            root,
            runner_dir,
            filter,
            pinning,
        };
        Ok((suite, env_now))
    }

    /// gungraun's output directory for one measurement.
    fn home(&self, label: &str) -> PathBuf {
        self.root.join("target").join("xtask-bench").join(label)
    }

    /// Runs the suite `runs` times in `checkout`, each run in its own output directory.
    fn measure_runs(
        &self,
        checkout: &Path,
        label: &str,
        side: Side,
        runs: usize,
    ) -> anyhow::Result<Vec<Run>> {
        let target_dir = self.build_dir(side)?;
        (1..=runs)
            .map(|i| {
                eprintln!("xtask bench: {label} run {i} of {runs}");
                let home = self.home(&format!("{label}-{i}"));
                Ok(Run {
                    measurements: self.measure(checkout, &home, &target_dir)?,
                    checkout: checkout.to_owned(),
                })
            })
            .collect()
    }

    /// Where one side's suite is built, reached through a path of the same length for
    /// every checkout on every machine: `/tmp/globalrt-bench-<16 hex digits>/<side>`, a
    /// symlink (named by a hash of this checkout's path) to `target/xtask-bench-build`.
    ///
    /// The benchmark binary's path is its `argv[0]`, whose length shifts the process's
    /// initial stack, and stack alignment changes instruction counts: the naive runtime
    /// counted 32 instructions fewer when built in a longer target directory. A separate
    /// directory per side also keeps the base's artifacts from replacing head's: cargo's
    /// artifact names do not depend on the checkout's path.
    fn build_dir(&self, side: Side) -> anyhow::Result<PathBuf> {
        let real = self.root.join("target").join("xtask-bench-build");
        std::fs::create_dir_all(&real)
            .with_context(|| format!("cannot create {}", real.display()))?;
        #[cfg(unix)]
        {
            let link = PathBuf::from(format!(
                "/tmp/globalrt-bench-{:016x}",
                fnv1a(self.root.to_string_lossy().as_bytes())
            ));
            if std::fs::read_link(&link).ok().as_deref() != Some(real.as_path()) {
                let _ = std::fs::remove_file(&link);
                std::os::unix::fs::symlink(&real, &link).with_context(|| {
                    format!("cannot link {} to {}", link.display(), real.display())
                })?;
            }
            Ok(link.join(side.name()))
        }
        #[cfg(not(unix))]
        Ok(real.join(side.name()))
    }

    /// Runs the suite once in `checkout` (this workspace or a worktree) and reads its summaries.
    fn measure(
        &self,
        checkout: &Path,
        home: &Path,
        target_dir: &Path,
    ) -> anyhow::Result<Vec<Measurement>> {
        if home.exists() {
            std::fs::remove_dir_all(home)
                .with_context(|| format!("cannot clear {}", home.display()))?;
        }
        let mut path = OsString::from(self.runner_dir.as_os_str());
        if let Some(old) = std::env::var_os("PATH") {
            path.push(":");
            path.push(old);
        }
        let mut cmd = Command::new(cargo());
        cmd.current_dir(checkout)
            .args(["bench", "--package", "globalrt", "--bench", BENCH, "--"])
            .arg("--output-format=json")
            .arg(format!("--home={}", home.display()))
            // Instruction addresses on cost lines, so the breakdown can read inline chains;
            // the counts themselves do not change.
            .arg("--callgrind-args=--dump-instr=yes")
            .args(self.pinning.runner_args())
            .env("PATH", path)
            .env("CARGO_TARGET_DIR", target_dir)
            .env_remove("GUNGRAUN_RUNNER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(filter) = &self.filter {
            cmd.arg(format!("*{filter}*"));
        }
        let started = std::time::Instant::now();
        let output = cmd
            .output()
            .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
        if !output.status.success() {
            bail!(
                "the benchmark suite failed in {} ({}); its output is above",
                checkout.display(),
                output.status
            );
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let measurements = summary::parse_stream(&stdout)?;
        if measurements.is_empty() {
            bail!(
                "the benchmark suite in {} reported no benchmark{}",
                checkout.display(),
                self.filter
                    .as_ref()
                    .map_or(String::new(), |f| format!(" matching *{f}*"))
            );
        }
        eprintln!(
            "xtask bench: {} benchmarks in {:.1} s ({})",
            measurements.len(),
            started.elapsed().as_secs_f64(),
            checkout.display()
        );
        Ok(measurements)
    }
}

/// Which side of the comparison a build is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Head,
    Base,
}

impl Side {
    /// The build directory's name; both have the same length.
    fn name(self) -> &'static str {
        match self {
            Side::Head => "head",
            Side::Base => "base",
        }
    }
}

/// 64-bit FNV-1a: a stable, dependency-free hash for naming a directory after a path.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One run of the suite and the checkout it ran in (source paths in its callgrind files
/// start there).
#[derive(Clone, Debug)]
struct Run {
    measurements: Vec<Measurement>,
    checkout: PathBuf,
}

impl Run {
    fn find(&self, id: &str) -> Option<&Measurement> {
        self.measurements.iter().find(|m| m.id == id)
    }
}

/// A side's figure for one benchmark: the run whose value is the median of the side's runs.
#[derive(Clone, Debug)]
struct Median<'a> {
    measurement: &'a Measurement,
    checkout: &'a Path,
    /// Every run's value, for the noise this run observed.
    samples: Vec<u64>,
}

/// Per benchmark, the median of `runs` (the lower one of an even count, so that a
/// confirmation that doubles the runs never raises a figure).
fn medians(runs: &[Run]) -> BTreeMap<&str, Median<'_>> {
    let mut by_id: BTreeMap<&str, Vec<(&Measurement, &Path)>> = BTreeMap::new();
    for run in runs {
        for m in &run.measurements {
            by_id.entry(&m.id).or_default().push((m, &run.checkout));
        }
    }
    by_id
        .into_iter()
        .map(|(id, mut ms)| {
            ms.sort_by_key(|(m, _)| m.value);
            let samples = ms.iter().map(|(m, _)| m.value).collect();
            let (measurement, checkout) = ms[(ms.len() - 1) / 2];
            let median = Median {
                measurement,
                checkout,
                samples,
            };
            (id, median)
        })
        .collect()
}

/// One comparison in progress: what the base is, and the runs measured on each side.
struct Gate<'a> {
    suite: &'a Suite,
    baseline: &'a Baseline,
    /// The revision measured as the base, if any (else the file's figures are the base).
    base_rev: Option<String>,
    /// That revision's checkout, once it was measured.
    base_checkout: Option<Worktree>,
    base_runs: Vec<Run>,
    head_runs: Vec<Run>,
    compared_against: String,
    notes: Vec<String>,
}

impl<'a> Gate<'a> {
    /// Chooses the base (an explicit revision, the baseline's commit re-measured here when
    /// the environment differs, or the file's figures) and measures it and head.
    fn new(
        suite: &'a Suite,
        baseline: &'a Baseline,
        explicit: Option<String>,
        env_now: &Environment,
    ) -> anyhow::Result<Self> {
        let root = &suite.root;
        let runs = baseline.settings.runs;
        let mut notes = vec![format!(
            "each side's figure is the median of {runs} run(s) of the suite; Valgrind's threads \
             ran {}",
            match &suite.pinning.cpu {
                Ok(cpu) => format!("{} (CPU {cpu})", pinning::PINNED),
                Err(why) => format!("unpinned: {why}"),
            }
        )];
        let differences = baseline.environment.differences(env_now);
        let mut compared_against = format!(
            "{BASELINE} (recorded at {}{})",
            baseline
                .commit
                .as_deref()
                .map_or("an unknown commit", short),
            if baseline.dirty {
                " with local changes"
            } else {
                ""
            }
        );
        let base_rev = match explicit {
            Some(rev) => {
                compared_against = format!("{rev} measured on this machine");
                Some(rev)
            }
            None if !differences.is_empty() => {
                let what: Vec<String> = differences
                    .iter()
                    .map(|(k, a, b)| format!("{k} {a:?} → {b:?}"))
                    .collect();
                notes.push(format!(
                    "this machine's environment differs from the baseline's ({}); the figures \
                     in {BASELINE} are not comparable, so the commit that recorded them was \
                     measured here instead",
                    what.join(", ")
                ));
                let rev = baseline_commit(root, baseline).map_err(|err| {
                    anyhow::anyhow!(
                        "the environment differs from the baseline's and its commit cannot be \
                         measured here ({err:#}); run `cargo xtask bench --base <rev>` or \
                         re-record with `cargo xtask bench --save`"
                    )
                })?;
                compared_against = format!(
                    "{} (the commit that recorded {BASELINE}) measured on this machine",
                    short(&rev)
                );
                Some(rev)
            }
            None => None,
        };
        // Flamegraphs of an earlier run would be read as this run's.
        let _ = std::fs::remove_dir_all(suite.home("flamegraphs"));
        let mut gate = Gate {
            suite,
            baseline,
            base_rev: None,
            base_checkout: None,
            base_runs: Vec::new(),
            head_runs: Vec::new(),
            compared_against,
            notes,
        };
        if let Some(rev) = base_rev {
            gate.measure_base(&rev, "base")
                .map_err(|err| anyhow::anyhow!("cannot measure {rev}: {err:#}"))?;
        }
        gate.head_runs = suite.measure_runs(root, "head", Side::Head, runs)?;
        Ok(gate)
    }

    /// Measures `rev` (checked out once per gate run) `settings.runs` more times.
    fn measure_base(&mut self, rev: &str, label: &str) -> anyhow::Result<()> {
        if self.base_checkout.is_none() {
            self.base_checkout = Some(Worktree::add(&self.suite.root, rev)?);
            self.base_rev = Some(rev.to_owned());
        }
        let worktree = self.base_checkout.as_ref().expect("checked out above");
        let runs = measure_rev(self.suite, worktree, label, self.baseline.settings.runs)?;
        self.base_runs.extend(runs);
        Ok(())
    }

    /// The rows for what has been measured so far.
    fn judge(&self, rules: &Rules<'_>, filter: Option<&str>) -> Vec<Row> {
        let base_medians = medians(&self.base_runs);
        let head_medians = medians(&self.head_runs);
        let base = if self.base_runs.is_empty() {
            self.baseline.benchmarks.clone()
        } else {
            records(&base_medians)
        };
        compare::compare(
            &base,
            &records(&head_medians),
            &self.noise(&[&base_medians, &head_medians]),
            rules,
            filter,
        )
    }

    /// Each benchmark's noise. Unpinned, a median does not tame the heavy tail of thread
    /// scheduling, so there the full spread of this run's measurements counts.
    fn noise(&self, sides: &[&BTreeMap<&str, Median<'_>>]) -> BTreeMap<String, f64> {
        let runs = match self.suite.pinning.cpu {
            Ok(_) => self.baseline.settings.runs,
            Err(_) => 1,
        };
        noise(self.baseline, sides, runs)
    }

    /// Confirms suspected regressions: the base (the baseline's commit standing in for the
    /// file) and head are measured again, and each side's median is taken over all its runs,
    /// so a one-off run cannot fail the gate.
    fn confirm(&mut self) -> anyhow::Result<()> {
        eprintln!("xtask bench: regression suspected; measuring base and head again to confirm");
        let runs = self.baseline.settings.runs;
        let root = &self.suite.root;
        let from_file = self.base_rev.is_none();
        let rev = match &self.base_rev {
            Some(rev) => Ok(rev.clone()),
            None => baseline_commit(root, self.baseline),
        };
        match rev.and_then(|rev| self.measure_base(&rev, "base-again").map(|()| rev)) {
            Ok(rev) => {
                if from_file {
                    self.notes.push(format!(
                        "regressions against {BASELINE} were confirmed against its commit {} \
                         measured on this machine; the table compares with that measurement",
                        short(&rev)
                    ));
                    self.compared_against = format!(
                        "{} (the commit that recorded {BASELINE}) measured on this machine",
                        short(&rev)
                    );
                }
            }
            Err(err) => self.notes.push(format!(
                "could not measure the baseline's commit here, so the regressions are judged \
                 against the file alone and have no function breakdown: {err:#}"
            )),
        }
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

    /// Names the functions that grew in each regressed callgrind benchmark, from the
    /// callgrind files of each side's median run.
    fn explain(&mut self, rows: &mut [Row]) {
        if self.base_runs.is_empty() {
            return;
        }
        let base = medians(&self.base_runs);
        let head = medians(&self.head_runs);
        for row in rows.iter_mut().filter(|r| r.verdict == Verdict::Regressed) {
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
            let svg = self
                .suite
                .home("flamegraphs")
                .join(format!("{}.diff.svg", row.benchmark.replace("::", ".")));
            let title = format!("{}: base → head (red grew)", row.benchmark);
            let drawn = flamegraph::write_differential(
                &b.measurement.output_dir,
                &h.measurement.output_dir,
                &title,
                &svg,
            );
            self.notes.push(match drawn {
                Ok(()) => format!(
                    "{}: differential flamegraph in {}",
                    row.benchmark,
                    svg.display()
                ),
                Err(err) => format!("{}: no differential flamegraph: {err:#}", row.benchmark),
            });
        }
    }
}

/// Each benchmark's noise in percent: recorded in the baseline, widened by how far a median
/// of `runs` moved between this run's repeated measurements of the same code.
fn noise(
    baseline: &Baseline,
    sides: &[&BTreeMap<&str, Median<'_>>],
    runs: usize,
) -> BTreeMap<String, f64> {
    let mut noise: BTreeMap<String, f64> = baseline
        .benchmarks
        .iter()
        .map(|(k, v)| (k.clone(), v.noise_pct))
        .collect();
    for side in sides {
        for (id, median) in *side {
            let seen = baseline::noise_of_median(&median.samples, runs);
            let n = noise.entry((*id).to_owned()).or_default();
            *n = n.max(seen);
        }
    }
    noise
}

fn records(medians: &BTreeMap<&str, Median<'_>>) -> BTreeMap<String, Recorded> {
    medians
        .iter()
        .map(|(id, m)| ((*id).to_owned(), m.measurement.to_recorded()))
        .collect()
}

/// A revision checked out in a git worktree, removed when dropped, whatever happened in
/// between. It is kept for the whole gate run, so that the base's callgrind files can be
/// read against the sources they name.
struct Worktree {
    root: PathBuf,
    dir: PathBuf,
}

impl Worktree {
    /// Checks `rev` out in `target/xtask-bench/worktree`.
    fn add(root: &Path, rev: &str) -> anyhow::Result<Self> {
        let sha = crate::util::git(
            root,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        )
        .map_err(|_| anyhow::anyhow!("{rev:?} is not a commit in this repository"))?;
        let dir = root.join("target").join("xtask-bench").join("worktree");
        if dir.exists() {
            remove_worktree(root, &dir);
        }
        crate::util::git(
            root,
            &[
                "worktree",
                "add",
                "--detach",
                "--quiet",
                &dir.to_string_lossy(),
                &sha,
            ],
        )?;
        let worktree = Worktree {
            root: root.to_owned(),
            dir,
        };
        if !worktree
            .dir
            .join("benches")
            .join("instructions.rs")
            .is_file()
        {
            bail!("{} has no benches/instructions.rs", short(&sha));
        }
        Ok(worktree)
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        remove_worktree(&self.root, &self.dir);
    }
}

fn remove_worktree(root: &Path, dir: &Path) {
    let _ = crate::util::git(
        root,
        &["worktree", "remove", "--force", &dir.to_string_lossy()],
    );
    let _ = std::fs::remove_dir_all(dir);
    let _ = crate::util::git(root, &["worktree", "prune"]);
}

/// Measures a worktree `runs` times with this machine's tools, leaving gungraun's files
/// under `target/xtask-bench/<label>-<i>`.
fn measure_rev(
    suite: &Suite,
    worktree: &Worktree,
    label: &str,
    runs: usize,
) -> anyhow::Result<Vec<Run>> {
    suite.measure_runs(&worktree.dir, label, Side::Base, runs)
}

/// The commit whose code the baseline figures describe: the last commit that changed the
/// file when the working copy is the committed one, else the commit recorded in it.
fn baseline_commit(root: &Path, baseline: &Baseline) -> anyhow::Result<String> {
    crate::util::git(root, &["rev-parse", "--git-dir"]).context("not a git repository")?;
    let committed = crate::util::git(root, &["diff", "--quiet", "HEAD", "--", BASELINE]).is_ok();
    if committed {
        let rev = crate::util::git(root, &["log", "-1", "--format=%H", "--", BASELINE])?;
        if !rev.is_empty() {
            return Ok(rev);
        }
    }
    match &baseline.commit {
        Some(rev)
            if crate::util::git(root, &["cat-file", "-e", &format!("{rev}^{{commit}}")])
                .is_ok() =>
        {
            Ok(rev.clone())
        }
        Some(rev) => bail!("the baseline's commit {rev} is not in this repository"),
        None => bail!("{BASELINE} is not committed and names no commit"),
    }
}

/// A directory holding `gungraun-runner` of exactly `version`: found on PATH, in cargo's
/// bin directory or in `target/tools/`, else installed there with `cargo install --locked`.
fn ensure_runner(root: &Path, version: &str) -> anyhow::Result<PathBuf> {
    let runner = crate::tools::PinnedTool {
        krate: "gungraun-runner",
        bin: "gungraun-runner",
        version,
        version_args: &["--version"],
    };
    runner.ensure(root, "xtask bench")
}

fn capture_environment(
    valgrind: String,
    gungraun: String,
    scheduling: String,
) -> anyhow::Result<Environment> {
    Ok(Environment {
        rustc: host::rustc_version()
            .context("cannot run `rustc --version`; is a Rust toolchain on PATH?")?,
        valgrind,
        gungraun,
        target: host::host_triple().context("cannot read the host triple from `rustc -vV`")?,
        cpu: host::cpu_identity(&host::cpuinfo()).unwrap_or_else(|| "unknown".to_owned()),
        glibc: host::glibc_version(),
        scheduling,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurement(id: &str, value: u64, threads: Vec<u64>) -> Measurement {
        Measurement {
            id: id.to_owned(),
            tool: "callgrind".to_owned(),
            metric: "Ir".to_owned(),
            value,
            metrics: BTreeMap::new(),
            threads,
            output_dir: PathBuf::from(format!("/out/{value}")),
        }
    }

    #[test]
    fn each_side_is_its_median_run_and_repeated_runs_widen_the_noise() {
        let text = include_str!("../tests/fixtures/bench/baseline.json");
        let baseline = Baseline::parse(text, Path::new("b.json")).unwrap();
        let id = "execute_baseline::ready::ready";
        let run = |v: u64| Run {
            measurements: vec![measurement(id, v, vec![v])],
            checkout: PathBuf::from(format!("/checkout/{v}")),
        };
        let same: Vec<Run> = [13_304, 13_304, 13_304].map(run).into();
        let m = medians(&same);
        assert_eq!(noise(&baseline, &[&m], 3)[id], 0.0);

        // One outlier of three: the median ignores it, and so does the noise of a median.
        let outlier: Vec<Run> = [13_304, 14_634, 13_305].map(run).into();
        let m = medians(&outlier);
        assert_eq!(m[id].measurement.value, 13_305);
        assert_eq!(m[id].checkout, Path::new("/checkout/13305"));
        assert_eq!(noise(&baseline, &[&m], 3)[id], 0.0);
        // Unpinned, the full spread counts: 1,330 of the median, rounded up.
        assert_eq!(noise(&baseline, &[&m], 1)[id], 9.997);

        // An even count (after a confirmation) takes the lower median.
        let four: Vec<Run> = [100, 400, 300, 200].map(run).into();
        assert_eq!(medians(&four)[id].measurement.value, 200);

        // The recorded noise of the fixture's timer benchmark is kept.
        assert_eq!(
            noise(&baseline, &[], 3)["execute_baseline::timer::timer_x10"],
            1.116
        );
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        // From the FNV reference test suite.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
