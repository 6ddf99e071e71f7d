//! gungraun's machine-readable output (`--output-format=json`: one JSON object per
//! benchmark per line, the same schema as `summary.json`), reduced to what the gate needs.
//!
//! Only schema `7` (gungraun 0.20) is read; another version is an error that says so,
//! rather than figures silently read from the wrong fields.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::baseline::Recorded;

/// The summary schema this module reads.
pub(crate) const SCHEMA_VERSION: &str = "7";

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
        let value: Value = serde_json::from_str(line)
            .with_context(|| format!("gungraun output line {} is not valid JSON", n + 1))?;
        out.push(parse_summary(&value).with_context(|| format!("gungraun output line {}", n + 1))?);
    }
    Ok(out)
}

fn int(v: &Value) -> Option<u64> {
    // `{"values": {"new": 123}}`; floats (rates) are not tracked.
    v.get("values")?.get("new")?.as_u64()
}

fn str_field<'a>(v: &'a Value, key: &str) -> anyhow::Result<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .with_context(|| format!("summary has no string field `{key}`"))
}

/// Reads one benchmark summary.
pub(crate) fn parse_summary(v: &Value) -> anyhow::Result<Measurement> {
    let version = str_field(v, "version")?;
    if version != SCHEMA_VERSION {
        bail!(
            "gungraun summary schema {version:?}, but this xtask reads schema \
             {SCHEMA_VERSION:?} (gungraun 0.20); update xtask/src/bench/summary.rs"
        );
    }
    let id = benchmark_id(v)?;
    let mut output_dir = PathBuf::from(str_field(v, "output_dir")?);
    if output_dir.is_relative() {
        output_dir = Path::new(str_field(v, "project_root")?).join(output_dir);
    }
    let gated = GatedProfile::find(v, &id)?;
    let total = gated
        .data
        .get("total")
        .and_then(|t| t.get("metrics"))
        .and_then(Value::as_object)
        .with_context(|| format!("benchmark {id}: profile has no total metrics"))?;
    let metrics: BTreeMap<String, u64> = total
        .iter()
        .filter_map(|(k, v)| int(v).map(|n| (k.clone(), n)))
        .collect();
    let value = *metrics
        .get(gated.metric)
        .with_context(|| format!("benchmark {id}: the total has no integer {}", gated.metric))?;
    let threads = match gated.tool {
        "callgrind" => per_thread(gated.data, gated.metric),
        _ => Vec::new(),
    };
    Ok(Measurement {
        id,
        tool: gated.tool.to_owned(),
        metric: gated.metric.to_owned(),
        value,
        metrics,
        threads,
        output_dir,
    })
}

/// `group::function::id`: the module path without the bench target's name, and the
/// benchmark's id when it has one.
fn benchmark_id(v: &Value) -> anyhow::Result<String> {
    let module_path = str_field(v, "module_path")?;
    let mut id = module_path
        .split_once("::")
        .map_or(module_path, |(_, rest)| rest)
        .to_owned();
    if let Some(bench_id) = v.get("id").and_then(Value::as_str) {
        id = format!("{id}::{bench_id}");
    }
    Ok(id)
}

/// The profile whose metric the gate judges: Callgrind's `Ir`, else DHAT's `TotalBytes`.
struct GatedProfile<'a> {
    /// The profile's `data`.
    data: &'a Value,
    tool: &'static str,
    metric: &'static str,
}

impl<'a> GatedProfile<'a> {
    fn find(v: &'a Value, id: &str) -> anyhow::Result<Self> {
        let profiles = v
            .get("profiles")
            .and_then(Value::as_array)
            .context("summary has no `profiles` array")?;
        let pick = |tool: &str| {
            profiles
                .iter()
                .find(|p| p.get("tool").and_then(Value::as_str) == Some(tool))
        };
        let (profile, tool, metric) = match (pick("Callgrind"), pick("DHAT")) {
            (Some(p), _) => (p, "callgrind", "Ir"),
            (None, Some(p)) => (p, "dhat", "TotalBytes"),
            (None, None) => bail!("benchmark {id}: no Callgrind or DHAT profile in the summary"),
        };
        let data = profile.get("data").context("profile has no `data`")?;
        Ok(GatedProfile { data, tool, metric })
    }
}

/// `metric` per thread, in thread order, from the parts of a Callgrind profile's `data`.
fn per_thread(data: &Value, metric: &str) -> Vec<u64> {
    let mut parts: Vec<(u64, u64)> = data
        .get("parts")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| {
                    let run = p.get("tool_run")?.get("new")?;
                    let thread = run.get("thread").and_then(Value::as_u64).unwrap_or(0);
                    Some((thread, int(p.get("metrics")?.get(metric)?)?))
                })
                .collect()
        })
        .unwrap_or_default();
    parts.sort_unstable();
    parts.into_iter().map(|(_, count)| count).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V7: &str = include_str!("../../tests/fixtures/bench/gungraun-summary-v7.jsonl");

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
}
