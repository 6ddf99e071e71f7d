//! Reading the measured figures: criterion's estimates, the suite's memory and thread
//! figures, the instruction suite's baseline and memcheck's summary.
//!
//! Nothing here runs a benchmark; every reader takes a path, so the tests use fixtures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use crate::baseline::Baseline;
use globalrt_bench_support::contract::{MEMORY_FILE, MEMORY_SCHEMA, MemoryFigures};

/// One criterion estimate, in nanoseconds per iteration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Estimate {
    /// Criterion's headline figure: the slope of a linear-sampled benchmark, else the mean.
    pub(crate) point: f64,
    /// Its 95 % confidence interval (criterion's default confidence level).
    pub(crate) lower: f64,
    pub(crate) upper: f64,
}

#[derive(Deserialize)]
struct RawEstimates {
    mean: RawEstimate,
    slope: Option<RawEstimate>,
}

#[derive(Deserialize)]
struct RawEstimate {
    point_estimate: f64,
    confidence_interval: RawInterval,
}

#[derive(Deserialize)]
struct RawInterval {
    lower_bound: f64,
    upper_bound: f64,
}

#[derive(Deserialize)]
struct RawBenchmarkId {
    full_id: String,
}

/// Parses one `estimates.json`.
pub(crate) fn parse_estimates(text: &str) -> anyhow::Result<Estimate> {
    let raw: RawEstimates = serde_json::from_str(text)?;
    let chosen = raw.slope.unwrap_or(raw.mean);
    let finite = [
        chosen.point_estimate,
        chosen.confidence_interval.lower_bound,
        chosen.confidence_interval.upper_bound,
    ]
    .iter()
    .all(|v| v.is_finite() && *v >= 0.0);
    anyhow::ensure!(finite, "the estimate is not a finite, non-negative number");
    Ok(Estimate {
        point: chosen.point_estimate,
        lower: chosen.confidence_interval.lower_bound,
        upper: chosen.confidence_interval.upper_bound,
    })
}

/// A criterion result: the estimate, or why it is not usable.
pub(crate) type CriterionResult = Result<Estimate, String>;

/// Every `<dir>/**/new/` result under criterion's output directory, by full benchmark id
/// (`group/function/parameter`, from `benchmark.json`).
///
/// With `newer_than`, results written before that moment (left by an earlier run) are
/// reported as stale instead of read.
pub(crate) fn read_criterion(
    dir: &Path,
    newer_than: Option<SystemTime>,
) -> BTreeMap<String, CriterionResult> {
    let dirs = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| e.file_type().is_dir() && e.file_name() != "report");
    dirs.flatten()
        .filter(|e| e.depth() > 0 && e.file_name() == "new")
        .filter_map(|e| read_one(e.path(), newer_than))
        .collect()
}

fn read_one(new_dir: &Path, newer_than: Option<SystemTime>) -> Option<(String, CriterionResult)> {
    let id_text = std::fs::read_to_string(new_dir.join("benchmark.json")).ok()?;
    let id = serde_json::from_str::<RawBenchmarkId>(&id_text)
        .ok()?
        .full_id;
    let estimates = new_dir.join("estimates.json");
    let result = (|| {
        if let Some(start) = newer_than {
            let modified = std::fs::metadata(&estimates)
                .and_then(|m| m.modified())
                .map_err(|err| format!("{}: {err}", estimates.display()))?;
            if modified < start {
                return Err(format!(
                    "not measured in this run (only a stale result from an earlier run in {})",
                    new_dir.display()
                ));
            }
        }
        let text = std::fs::read_to_string(&estimates)
            .map_err(|err| format!("{}: {err}", estimates.display()))?;
        parse_estimates(&text).map_err(|err| format!("{}: {err:#}", estimates.display()))
    })();
    Some((id, result))
}

pub(crate) fn parse_memory(text: &str) -> anyhow::Result<MemoryFigures> {
    let figures: MemoryFigures = serde_json::from_str(text)?;
    anyhow::ensure!(
        figures.schema == MEMORY_SCHEMA,
        "schema {} is not the one this xtask reads ({MEMORY_SCHEMA})",
        figures.schema
    );
    Ok(figures)
}

/// Reads `memory.json` (written by `benches/memory.rs`); `newer_than` as for [`read_criterion`].
pub(crate) fn read_memory(
    path: &Path,
    newer_than: Option<SystemTime>,
) -> Result<MemoryFigures, String> {
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|err| {
            format!(
                "{}: {err} (the suite's memory_pressure part writes it)",
                path.display()
            )
        })?;
    if newer_than.is_some_and(|start| modified < start) {
        return Err(format!(
            "{} is from an earlier run: memory_pressure did not finish in this one",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    parse_memory(&text).map_err(|err| format!("{}: {err:#}", path.display()))
}

/// What a checking command (`cargo xtask memcheck`, `cargo xtask loom`) found, from the
/// summary file it writes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum CheckSummary {
    /// No summary file: the command was not run (or not since the last `cargo clean`).
    NotRun(String),
    /// A summary exists: how many findings (memcheck errors, failed loom or stress suites)
    /// fail the check (0 = clean), at which commit.
    Ran {
        findings: u64,
        commit: Option<String>,
        detail: String,
    },
}

/// Reads a checking command's summary with `parse`. A missing file is "not run" (the
/// message says to run `command`); a file that cannot be read or parsed is an error, which
/// the caller shows as not measured, never a pass.
fn read_summary(
    path: &Path,
    parse: fn(&str) -> anyhow::Result<CheckSummary>,
    command: &str,
) -> Result<CheckSummary, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text).map_err(|err| format!("{}: {err:#}", path.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(CheckSummary::NotRun(
            format!("not run: no {}; run `{command}` first", path.display()),
        )),
        Err(err) => Err(format!("{}: {err}", path.display())),
    }
}

/// memcheck's summary, read with the type memcheck writes.
pub(crate) fn parse_memcheck(text: &str) -> anyhow::Result<CheckSummary> {
    let raw: crate::memcheck::summary::MemcheckSummary = serde_json::from_str(text)?;
    if let Some(clean) = raw.clean {
        anyhow::ensure!(
            clean == (raw.errors == 0),
            "`clean` ({clean}) contradicts `errors` ({})",
            raw.errors
        );
    }
    let detail = match raw.binaries {
        Some(n) => format!("{} finding(s) in {n} binaries", raw.errors),
        None => format!("{} finding(s)", raw.errors),
    };
    Ok(CheckSummary::Ran {
        findings: raw.errors,
        commit: raw.commit,
        detail,
    })
}

/// Reads memcheck's summary.
pub(crate) fn read_memcheck(path: &Path) -> Result<CheckSummary, String> {
    read_summary(path, parse_memcheck, "cargo xtask memcheck")
}

/// `cargo xtask loom`'s summary, read with the type loom writes.
pub(crate) fn parse_race_checks(text: &str) -> anyhow::Result<CheckSummary> {
    let raw: crate::loom::LoomSummary = serde_json::from_str(text)?;
    let detail = match raw.suites {
        Some(suites) => format!(
            "{} of {} failed: {}",
            raw.failed,
            suites.len(),
            suites.join(", ")
        ),
        None => format!("{} suite(s) failed", raw.failed),
    };
    Ok(CheckSummary::Ran {
        findings: raw.failed,
        commit: raw.commit,
        detail,
    })
}

/// Reads `cargo xtask loom`'s summary.
pub(crate) fn read_race_checks(path: &Path) -> Result<CheckSummary, String> {
    read_summary(path, parse_race_checks, "cargo xtask loom")
}

/// Figures of the Valgrind suite's committed baseline, by row label
/// (`instructions: <bench>` or `heap bytes allocated (DHAT): <bench>`), from the file as
/// the gate itself reads it ([`Baseline`], which `cargo xtask bench --save` writes).
pub(crate) fn instruction_figures(baseline: &Baseline) -> BTreeMap<String, f64> {
    let mut found = BTreeMap::new();
    for (name, recorded) in &baseline.benchmarks {
        let label = match recorded.metric.as_str() {
            "Ir" => "instructions",
            "TotalBytes" => "heap bytes allocated (DHAT)",
            _ => continue,
        };
        found.insert(format!("{label}: {name}"), recorded.value as f64);
    }
    found
}

pub(crate) fn read_instructions(path: &Path) -> Result<BTreeMap<String, f64>, String> {
    if !path.exists() {
        return Err(format!(
            "not available: no {} (the instruction suite, `cargo xtask bench`, writes it)",
            path.display()
        ));
    }
    let found = Baseline::load(path)
        .map(|baseline| instruction_figures(&baseline))
        .map_err(|err| format!("{err:#}"))?;
    if found.is_empty() {
        return Err(format!(
            "{}: no `instructions` figure found in it",
            path.display()
        ));
    }
    Ok(found)
}

/// Everything the SLO table is computed from.
#[derive(Clone, Debug)]
pub(crate) struct Figures {
    pub(crate) criterion: BTreeMap<String, CriterionResult>,
    pub(crate) memory: Result<MemoryFigures, String>,
    pub(crate) instructions: Result<BTreeMap<String, f64>, String>,
    pub(crate) memcheck: Result<CheckSummary, String>,
    pub(crate) race_checks: Result<CheckSummary, String>,
    /// `git rev-parse HEAD`, to tell a memcheck or loom summary of another commit.
    pub(crate) head_commit: Option<String>,
}

/// Where the figures live.
#[derive(Clone, Debug)]
pub(crate) struct Paths {
    pub(crate) criterion: PathBuf,
    pub(crate) memory: PathBuf,
    pub(crate) instructions: PathBuf,
    pub(crate) memcheck: PathBuf,
    pub(crate) race_checks: PathBuf,
}

impl Paths {
    pub(crate) fn new(root: &Path, target: &Path) -> Paths {
        let criterion = std::env::var_os("CRITERION_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| target.join("criterion"));
        Paths {
            criterion,
            memory: target.join("slo").join(MEMORY_FILE),
            instructions: root.join("benches/baseline.json"),
            memcheck: target.join("memcheck/summary.json"),
            race_checks: target.join("loom/summary.json"),
        }
    }
}

impl Figures {
    pub(crate) fn read(
        paths: &Paths,
        newer_than: Option<SystemTime>,
        head_commit: Option<String>,
    ) -> Figures {
        Figures {
            criterion: read_criterion(&paths.criterion, newer_than),
            memory: read_memory(&paths.memory, newer_than),
            instructions: read_instructions(&paths.instructions),
            memcheck: read_memcheck(&paths.memcheck),
            race_checks: read_race_checks(&paths.race_checks),
            head_commit,
        }
    }

    /// A criterion estimate by full id, or why there is none.
    pub(crate) fn estimate(&self, id: &str) -> Result<Estimate, String> {
        match self.criterion.get(id) {
            Some(result) => result.clone(),
            None => Err(format!("no criterion result for {id}")),
        }
    }
}
