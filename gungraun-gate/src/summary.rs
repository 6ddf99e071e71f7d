//! gungraun's machine-readable output (`--output-format=json`: one JSON object per
//! benchmark per line, the same schema as `summary.json`), reduced to what the gate needs.
//!
//! Which schema a line must have follows from the `gungraun` that `Cargo.lock` pins
//! ([`Harness`]); a summary of another version is an error that says so, rather than a
//! missing field. Schema `7` (gungraun 0.20) is read into gungraun-runner's own model
//! (`BenchmarkSummary`), from the same crate and version as the runner the gate installs,
//! so that schema has one definition. Schema `6` (gungraun 0.19) is read into the gate's
//! own model of the fields it needs ([`schema6`]): gungraun-runner 0.19.1 exposes its
//! summary model only with its whole `runner` feature (clap, nix, inferno, regex and the
//! rest), a second runner built into the gate. (0.19.4 has a `summary` feature like 0.20's,
//! with the same fields; a dependency on it under another name could replace [`schema6`].)

mod schema6;

use std::collections::BTreeMap;
use std::hash::Hash;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use gungraun_runner::api::Tool;
use gungraun_runner::metrics::model::{Metric, MetricResults};
use gungraun_runner::summary::model::{BenchmarkSummary, Profile, ToolMetricResults};
use serde::{Deserialize, Serialize};

use crate::baseline::Recorded;
use crate::harness::Harness;

/// One benchmark of one run.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Measurement {
    /// `group::function::id`, e.g. `execute_baseline::ready::ready`.
    pub(crate) id: String,
    /// `callgrind` or `dhat`.
    pub(crate) tool: String,
    /// `Ir` or `TotalBytes`.
    pub(crate) metric: String,
    pub(crate) value: u64,
    /// Every integer figure of the total.
    pub(crate) metrics: BTreeMap<String, u64>,
    /// The gated metric per thread, in thread order (callgrind only).
    pub(crate) threads: Vec<u64>,
    /// Where gungraun left this benchmark's files (callgrind data files among them).
    pub(crate) output_dir: PathBuf,
}

impl Measurement {
    /// A single-run record (noise 0).
    pub(crate) fn to_recorded(&self) -> Recorded {
        Recorded::from_samples(
            &self.tool,
            &self.metric,
            vec![self.value],
            1,
            self.metrics.clone(),
            self.threads.clone(),
        )
    }
}

/// Reads every summary object in `stdout`, each of the schema `harness` writes; lines that
/// are not JSON objects are skipped. `package_home` is the runner's `--home` joined with
/// the bench target's package name: where gungraun 0.19, whose summaries do not say, leaves
/// each benchmark's files.
pub(crate) fn parse_stream(
    stdout: &str,
    harness: Harness,
    package_home: &Path,
) -> anyhow::Result<Vec<Measurement>> {
    let mut out = Vec::new();
    for (n, line) in stdout.lines().enumerate() {
        let line = line.trim();
        if !line.starts_with("{") {
            continue;
        }
        out.push(
            parse_summary(line, harness, package_home)
                .with_context(|| format!("gungraun output line {}", n + 1))?,
        );
    }
    Ok(out)
}

/// A summary's version alone, read first: another schema is refused by name.
#[derive(Deserialize)]
struct SchemaVersion {
    version: String,
}

/// Reads one benchmark summary of the schema `harness` writes.
fn parse_summary(line: &str, harness: Harness, package_home: &Path) -> anyhow::Result<Measurement> {
    let SchemaVersion { version } =
        serde_json::from_str(line).context("not a gungraun summary (no `version`)")?;
    let schema = harness.schema();
    if version != schema {
        bail!(
            "gungraun summary schema {version:?}, but Cargo.lock pins gungraun {}.x, whose \
             schema {schema:?} this gate reads",
            harness.release()
        );
    }
    match harness {
        Harness::Gungraun020 => parse_schema7(line),
        Harness::Gungraun019 => schema6::parse(line, package_home),
    }
}

/// One profile's figures, whatever the schema: its integer totals and, for Callgrind, each
/// part's thread and integers.
struct ProfileFigures {
    totals: BTreeMap<String, u64>,
    threads: Vec<(usize, BTreeMap<String, u64>)>,
}

/// A benchmark's measurement from the figures of its Callgrind and DHAT profiles: the
/// gate judges Callgrind's `Ir`, else DHAT's `TotalBytes`.
fn measurement(
    id: String,
    callgrind: Option<ProfileFigures>,
    dhat: Option<ProfileFigures>,
    output_dir: PathBuf,
) -> anyhow::Result<Measurement> {
    let (figures, tool, metric) = match (callgrind, dhat) {
        (Some(figures), _) => (figures, "callgrind", "Ir"),
        (None, Some(figures)) => (figures, "dhat", "TotalBytes"),
        (None, None) => bail!("benchmark {id}: no Callgrind or DHAT profile in the summary"),
    };
    let value = *figures
        .totals
        .get(metric)
        .with_context(|| format!("benchmark {id}: the total has no integer {metric}"))?;
    let mut threads: Vec<(usize, u64)> = figures
        .threads
        .iter()
        .filter_map(|(thread, part)| Some((*thread, *part.get(metric)?)))
        .collect();
    threads.sort_unstable();
    Ok(Measurement {
        id,
        tool: tool.to_owned(),
        metric: metric.to_owned(),
        value,
        metrics: figures.totals,
        threads: threads.into_iter().map(|(_, count)| count).collect(),
        output_dir,
    })
}

/// Reads one schema `7` summary (gungraun 0.20).
fn parse_schema7(line: &str) -> anyhow::Result<Measurement> {
    let summary: BenchmarkSummary =
        serde_json::from_str(line).context("not a gungraun schema 7 summary")?;
    let figures = |tool: Tool| {
        let profile = summary.profiles.0.iter().find(|p| p.tool == tool)?;
        Some(figures_of(profile))
    };
    measurement(
        benchmark_id(&summary.module_path, summary.id.as_deref()),
        figures(Tool::Callgrind),
        figures(Tool::DHAT),
        // A path below the project root is relative to it; `join` keeps an absolute one.
        summary.project_root.join(&summary.output_dir),
    )
}

/// A schema `7` profile's figures; threads only for Callgrind.
fn figures_of(profile: &Profile) -> ProfileFigures {
    let threads = match profile.tool {
        Tool::Callgrind => profile
            .data
            .parts
            .iter()
            .filter_map(|part| {
                let thread = part.tool_run.as_ref().left()?.thread.unwrap_or(0);
                Some((thread, integers(&part.metrics)))
            })
            .collect(),
        _ => Vec::new(),
    };
    ProfileFigures {
        totals: integers(&profile.data.total.metrics),
        threads,
    }
}

/// `group::function::id`: the module path without the bench target's name, and the
/// benchmark's id when it has one.
fn benchmark_id(module_path: &str, bench_id: Option<&str>) -> String {
    let id = module_path
        .split_once("::")
        .map_or(module_path, |(_, rest)| rest);
    match bench_id {
        Some(bench_id) => format!("{id}::{bench_id}"),
        None => id.to_owned(),
    }
}

/// Every integer figure of `results` (floats, such as rates, are not tracked), named as the
/// summary's JSON names it (`Ir`, `TotalBytes`).
fn integers(results: &ToolMetricResults) -> BTreeMap<String, u64> {
    match results {
        ToolMetricResults::Callgrind(r) => named_integers(r),
        ToolMetricResults::Dhat(r) => named_integers(r),
        _ => BTreeMap::new(),
    }
}

fn named_integers<K: Hash + Eq + Serialize>(results: &MetricResults<K>) -> BTreeMap<String, u64> {
    results
        .0
        .iter()
        .filter_map(|(kind, result)| {
            let Metric::Int(n) = *result.values.as_ref().left()? else {
                return None;
            };
            let name = serde_json::to_value(kind).ok()?.as_str()?.to_owned();
            Some((name, n))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V7: &str = include_str!("../tests/fixtures/bench/gungraun-summary-v7.jsonl");
    /// Three summaries by gungraun-runner 0.19.1 (`--output-format=json`, also saved as
    /// `summary.json`) of a scratch crate's one benchmark with two cases, `fib(10)` and
    /// `fib(30)`, then `fib(10)` run again, compared with the first run (`Both`).
    const V6: &str = include_str!("../tests/fixtures/bench/gungraun-summary-v6.jsonl");

    #[test]
    fn reads_callgrind_totals_threads_and_dhat() {
        let noise = format!("   Compiling globalrt\n{V7}\nnot json\n");
        let m = parse_stream(&noise, Harness::Gungraun020, Path::new("/home")).unwrap();
        assert_eq!(m.len(), 3);
        let ready = &m[0];
        assert_eq!(ready.id, "execute_baseline::ready::ready");
        assert_eq!(
            (ready.tool.as_str(), ready.metric.as_str()),
            ("callgrind", "Ir")
        );
        assert_eq!(ready.value, 13304);
        assert_eq!(ready.threads, vec![13304]);
        assert!(ready.output_dir.ends_with("execute_baseline/ready.ready"));

        let timer = &m[1];
        assert_eq!(timer.id, "execute_baseline::timer::timer_x10");
        assert_eq!(timer.threads.len(), 2);
        assert_eq!(timer.threads.iter().sum::<u64>(), timer.value);

        let heap = &m[2];
        assert_eq!(heap.tool, "dhat");
        assert_eq!(heap.metric, "TotalBytes");
        assert_eq!(heap.value, 32000);
        assert_eq!(heap.metrics["TotalBlocks"], 1000);
        assert!(heap.threads.is_empty());
    }

    #[test]
    fn another_schema_version_is_refused() {
        let line = V7
            .lines()
            .next()
            .unwrap()
            .replace("\"version\":\"7\"", "\"version\":\"8\"");
        let err = format!(
            "{:#}",
            parse_stream(&line, Harness::Gungraun020, Path::new("/home")).unwrap_err()
        );
        assert!(err.contains("schema \"8\""), "{err}");
        // A schema 7 summary where Cargo.lock says gungraun 0.19 is refused too.
        let err = format!(
            "{:#}",
            parse_stream(V7, Harness::Gungraun019, Path::new("/home")).unwrap_err()
        );
        assert!(err.contains("pins gungraun 0.19.x"), "{err}");
    }

    #[test]
    fn reads_schema_6_of_gungraun_0_19() {
        let home = Path::new("/work/scratch/g19/target/gungraun/g19");
        let m = parse_stream(V6, Harness::Gungraun019, home).unwrap();
        let figures: Vec<(&str, u64, &[u64])> = m
            .iter()
            .map(|m| (m.id.as_str(), m.value, m.threads.as_slice()))
            .collect();
        assert_eq!(
            figures,
            [
                ("math::fib::short", 40, &[40][..]),
                ("math::fib::long", 84, &[84][..]),
                ("math::fib::short", 40, &[40][..]),
            ]
        );
        let short = &m[0];
        assert_eq!(
            (short.tool.as_str(), short.metric.as_str()),
            ("callgrind", "Ir")
        );
        // Integers only: `D1MissRate` and the other rates are floats.
        assert!(short.metrics.contains_key("EstimatedCycles"));
        assert!(!short.metrics.contains_key("D1MissRate"));
        // Where the runner moved the files, not the temporary directory the summary names.
        assert_eq!(short.output_dir, home.join("g19/math/fib.short"));
        // A schema 6 summary where Cargo.lock says gungraun 0.20 is refused.
        let err = format!(
            "{:#}",
            parse_stream(V6, Harness::Gungraun020, home).unwrap_err()
        );
        assert!(err.contains("schema \"6\""), "{err}");
    }
}
