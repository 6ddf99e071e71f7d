//! gungraun's machine-readable output (`--output-format=json`: one JSON object per
//! benchmark per line, the same schema as `summary.json`), reduced to what the gate needs.
//!
//! The objects are read into gungraun-runner's own model (`BenchmarkSummary`), from the
//! same crate and version as the runner the gate installs (`tools.rs` pins it to the locked
//! `gungraun`), so the schema has one definition. Only schema `7` (gungraun 0.20) is read;
//! another version is an error that says so, rather than a missing field, and a locked
//! `gungraun` of another release is refused before anything is built ([`check_supported`]).
//!
//! gungraun 0.19 (schema `6`) is not read: its runner exposes the summary model only with
//! its whole `runner` feature (clap, nix, inferno, regex and the rest), so reading it typed
//! would build a second runner into the gate, and a copy of the schema here would give it
//! two definitions. iai-callgrind (schema `6` and older) is refused the same way.

use std::collections::BTreeMap;
use std::hash::Hash;
use std::path::PathBuf;

use anyhow::{Context, bail};
use gungraun_runner::api::Tool;
use gungraun_runner::metrics::model::{Metric, MetricResults};
use gungraun_runner::summary::model::{
    BenchmarkSummary, Profile, SCHEMA_VERSION, ToolMetricResults,
};
use serde::{Deserialize, Serialize};

use crate::baseline::Recorded;

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

/// Reads every summary object in `stdout`; lines that are not JSON objects are skipped.
pub(crate) fn parse_stream(stdout: &str) -> anyhow::Result<Vec<Measurement>> {
    let mut out = Vec::new();
    for (n, line) in stdout.lines().enumerate() {
        let line = line.trim();
        if !line.starts_with("{") {
            continue;
        }
        out.push(parse_summary(line).with_context(|| format!("gungraun output line {}", n + 1))?);
    }
    Ok(out)
}

/// The gungraun releases whose summaries this gate reads (a `major.minor` prefix of the
/// locked version), each with the summary schema it writes.
const SUPPORTED: &[(&str, &str)] = &[("0.20", SCHEMA_VERSION)];

/// Refuses a locked `gungraun` version whose summaries the gate cannot read, in one line
/// that names the versions it can.
pub(crate) fn check_supported(locked: &str) -> anyhow::Result<()> {
    let supported = |(release, _): &&(&str, &str)| {
        locked
            .strip_prefix(release)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    };
    if SUPPORTED.iter().any(|entry| supported(&entry)) {
        return Ok(());
    }
    let names: Vec<String> = SUPPORTED
        .iter()
        .map(|(release, schema)| format!("gungraun {release}.x (summary schema {schema})"))
        .collect();
    bail!(
        "Cargo.lock pins gungraun {locked}, which this gate does not read; supported: {}",
        names.join(", ")
    )
}

/// A summary's version alone, read first: another schema is refused by name.
#[derive(Deserialize)]
struct SchemaVersion {
    version: String,
}

/// Reads one benchmark summary.
fn parse_summary(line: &str) -> anyhow::Result<Measurement> {
    let SchemaVersion { version } =
        serde_json::from_str(line).context("not a gungraun summary (no `version`)")?;
    if version != SCHEMA_VERSION {
        bail!(
            "gungraun summary schema {version:?}, but this gate reads schema \
             {SCHEMA_VERSION:?} (gungraun 0.20)"
        );
    }
    let summary: BenchmarkSummary =
        serde_json::from_str(line).context("not a gungraun schema 7 summary")?;
    let id = benchmark_id(&summary);
    let (profile, tool, metric) = gated_profile(&summary, &id)?;
    let metrics = integers(&profile.data.total.metrics);
    let value = *metrics
        .get(metric)
        .with_context(|| format!("benchmark {id}: the total has no integer {metric}"))?;
    let threads = match profile.tool {
        Tool::Callgrind => per_thread(profile, metric),
        _ => Vec::new(),
    };
    Ok(Measurement {
        id,
        tool: tool.to_owned(),
        metric: metric.to_owned(),
        value,
        metrics,
        threads,
        // A path below the project root is relative to it; `join` keeps an absolute one.
        output_dir: summary.project_root.join(&summary.output_dir),
    })
}

/// `group::function::id`: the module path without the bench target's name, and the
/// benchmark's id when it has one.
fn benchmark_id(summary: &BenchmarkSummary) -> String {
    let path = &summary.module_path;
    let id = path
        .split_once("::")
        .map_or(path.as_str(), |(_, rest)| rest);
    match &summary.id {
        Some(bench_id) => format!("{id}::{bench_id}"),
        None => id.to_owned(),
    }
}

/// The profile whose metric the gate judges, with the tool and metric as the baseline names
/// them: Callgrind's `Ir`, else DHAT's `TotalBytes`.
fn gated_profile<'a>(
    summary: &'a BenchmarkSummary,
    id: &str,
) -> anyhow::Result<(&'a Profile, &'static str, &'static str)> {
    let pick = |tool: Tool| summary.profiles.0.iter().find(|p| p.tool == tool);
    Ok(match (pick(Tool::Callgrind), pick(Tool::DHAT)) {
        (Some(p), _) => (p, "callgrind", "Ir"),
        (None, Some(p)) => (p, "dhat", "TotalBytes"),
        (None, None) => bail!("benchmark {id}: no Callgrind or DHAT profile in the summary"),
    })
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

/// `metric` per thread, in thread order, from the parts of a Callgrind profile.
fn per_thread(profile: &Profile, metric: &str) -> Vec<u64> {
    let mut parts: Vec<(usize, u64)> = profile
        .data
        .parts
        .iter()
        .filter_map(|part| {
            let thread = part.tool_run.as_ref().left()?.thread.unwrap_or(0);
            Some((thread, *integers(&part.metrics).get(metric)?))
        })
        .collect();
    parts.sort_unstable();
    parts.into_iter().map(|(_, count)| count).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V7: &str = include_str!("../tests/fixtures/bench/gungraun-summary-v7.jsonl");

    #[test]
    fn reads_callgrind_totals_threads_and_dhat() {
        let noise = format!("   Compiling globalrt\n{V7}\nnot json\n");
        let m = parse_stream(&noise).unwrap();
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
        let err = format!("{:#}", parse_stream(&line).unwrap_err());
        assert!(err.contains("schema \"8\""), "{err}");
    }

    #[test]
    fn only_the_releases_whose_schema_is_read_are_supported() {
        for ok in ["0.20.0", "0.20.1", "0.20"] {
            assert!(super::check_supported(ok).is_ok(), "{ok}");
        }
        for refused in ["0.200.0", "0.21.0", "0.16.1", "1.0.0"] {
            let err = super::check_supported(refused).unwrap_err().to_string();
            assert!(
                err.contains("supported: gungraun 0.20.x (summary schema 7)"),
                "{err}"
            );
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
