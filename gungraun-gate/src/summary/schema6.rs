//! Summary schema `6`, written by gungraun 0.19 (and iai-callgrind 0.16, which the gate
//! does not run): the fields the gate reads and nothing else, so a field it does not read
//! may come and go. The names and shapes follow gungraun-runner 0.19.1's
//! `runner::summary` and `runner::metrics`: `profiles[].summaries.{total.summary, parts}`,
//! each figure a `{"Int": n}` or `{"Float": x}` under `metrics`, new and old figures as
//! `{"Left": new}`, `{"Both": [new, old]}` or `{"Right": old}`, and no `output_dir`.
//! Nor do its `out_paths` say where the files are: gungraun-runner 0.19.1 lists the
//! temporary directory Valgrind wrote to, gone once the files were moved to their final
//! directory, which [`output_dir`] computes as the runner does (`runner/tool/path.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{Measurement, ProfileFigures};

/// `BenchmarkSummary`.
#[derive(Deserialize)]
struct SummaryV6 {
    module_path: String,
    function_name: String,
    id: Option<String>,
    profiles: Vec<ProfileV6>,
}

/// `Profile`: one Valgrind tool's run of the benchmark.
#[derive(Deserialize)]
struct ProfileV6 {
    tool: ToolV6,
    summaries: ProfileDataV6,
}

/// `ValgrindTool`, the tools the gate judges by name and any other.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
enum ToolV6 {
    Callgrind,
    #[serde(rename = "DHAT")]
    Dhat,
    #[serde(other)]
    Other,
}

/// `ProfileData`: the total over the tool's parts, and the parts (one per thread when
/// Callgrind separates threads).
#[derive(Deserialize)]
struct ProfileDataV6 {
    parts: Vec<PartV6>,
    total: TotalV6,
}

/// `ProfileTotal`.
#[derive(Deserialize)]
struct TotalV6 {
    summary: ToolMetricsV6,
}

/// `ProfilePart`.
#[derive(Deserialize)]
struct PartV6 {
    details: NewOrOld<PartInfoV6>,
    metrics_summary: ToolMetricsV6,
}

/// `ProfileInfo`: where a part came from.
#[derive(Deserialize)]
struct PartInfoV6 {
    thread: Option<usize>,
}

/// `ToolMetricSummary`: each metric's new and old figures, by tool class (those of the
/// tools the gate does not judge are skipped).
#[derive(Deserialize)]
enum ToolMetricsV6 {
    None,
    ErrorTool(IgnoredAny),
    Dhat(BTreeMap<String, MetricDiffV6>),
    Callgrind(BTreeMap<String, MetricDiffV6>),
    Cachegrind(IgnoredAny),
}

/// `MetricsDiff` (its `diffs` are not read).
#[derive(Deserialize)]
struct MetricDiffV6 {
    metrics: NewOrOld<MetricV6>,
}

/// `Metric` (a float, such as a miss rate, is skipped).
#[derive(Deserialize)]
enum MetricV6 {
    Int(u64),
    Float(IgnoredAny),
}

/// `either_or_both::EitherOrBoth` as gungraun 0.19 fills it: left is this run, right the
/// run it is compared with.
#[derive(Deserialize)]
enum NewOrOld<T> {
    Left(T),
    Both(T, T),
    Right(T),
}

impl<T> NewOrOld<T> {
    /// This run's value, when it has one.
    fn this_run(&self) -> Option<&T> {
        match self {
            NewOrOld::Left(new) | NewOrOld::Both(new, _) => Some(new),
            NewOrOld::Right(_) => None,
        }
    }
}

/// Reads one schema `6` summary whose version was checked; `package_home` is the runner's
/// `--home` joined with the bench target's package name.
pub(super) fn parse(line: &str, package_home: &Path) -> anyhow::Result<Measurement> {
    let summary: SummaryV6 =
        serde_json::from_str(line).context("not a gungraun schema 6 summary")?;
    let figures = |tool: ToolV6| {
        let profile = summary.profiles.iter().find(|p| p.tool == tool)?;
        Some(figures_of(profile))
    };
    super::measurement(
        super::benchmark_id(&summary.module_path, summary.id.as_deref()),
        figures(ToolV6::Callgrind),
        figures(ToolV6::Dhat),
        output_dir(package_home, &summary),
    )
}

/// A schema `6` profile's figures; threads only for Callgrind.
fn figures_of(profile: &ProfileV6) -> ProfileFigures {
    let data = &profile.summaries;
    let threads = match profile.tool {
        ToolV6::Callgrind => data
            .parts
            .iter()
            .filter_map(|part| {
                let thread = part.details.this_run()?.thread.unwrap_or(0);
                Some((thread, integers(&part.metrics_summary)))
            })
            .collect(),
        ToolV6::Dhat | ToolV6::Other => Vec::new(),
    };
    ProfileFigures {
        totals: integers(&data.total.summary),
        threads,
    }
}

/// Where gungraun 0.19 leaves a library benchmark's files: the package's home, the group's
/// module path (`bench_target::group`) as directories, then `function.id` with characters
/// a file name cannot hold replaced by `_` and cut to 200 bytes.
fn output_dir(package_home: &Path, summary: &SummaryV6) -> PathBuf {
    let group = summary
        .module_path
        .rsplit_once("::")
        .map_or(summary.module_path.as_str(), |(group, _)| group);
    let name = match &summary.id {
        Some(id) => format!("{}.{id}", summary.function_name),
        None => summary.function_name.clone(),
    };
    let mut name: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | '?' | '<' | '>' | ':' | '*' | '|' | '"' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    if name.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|&i| name.is_char_boundary(i))
            .unwrap_or(0);
        name.truncate(cut);
    }
    group
        .split("::")
        .fold(package_home.to_path_buf(), |dir, part| dir.join(part))
        .join(name)
}

/// Every integer figure of this run (floats, such as rates, are not tracked).
fn integers(results: &ToolMetricsV6) -> BTreeMap<String, u64> {
    let named = match results {
        ToolMetricsV6::Callgrind(named) | ToolMetricsV6::Dhat(named) => named,
        ToolMetricsV6::None | ToolMetricsV6::ErrorTool(_) | ToolMetricsV6::Cachegrind(_) => {
            return BTreeMap::new();
        }
    };
    named
        .iter()
        .filter_map(|(name, diff)| match diff.metrics.this_run()? {
            MetricV6::Int(n) => Some((name.clone(), *n)),
            MetricV6::Float(_) => None,
        })
        .collect()
}
