//! The verdict rules: a pure function of the base figures, the head figures and the rules.
//!
//! - Allowed change = max(threshold % of the base value, the absolute floor).
//! - Threshold = the benchmark's override, else `--threshold`, else the file's setting, and
//!   at least `noise_factor` × the benchmark's noise: how far the median that each side's
//!   figure is moved over the recording runs (or over this run's repeated measurements).
//!   No rule widens a threshold because work spans threads: pinned scheduling made those
//!   benchmarks as reproducible as the rest, and their own measured noise says how much.
//!   An override that sets the threshold replaces all of this.
//! - Floor = the override's, else `--floor`, else the file's setting, but never more than
//!   1% of the base value, so a cheap benchmark (a ready `execute`,
//!   <!--fig global_execute-->125<!--/fig--> instructions) is not hidden under it.
//! - Δ > allowed: regressed; Δ < −allowed: improved; otherwise unchanged.
//! - In head only: new. In the base only (and matching the filter): missing. Neither fails.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::baseline::{GateSettings, Override, Recorded};

/// The outcome for one benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GateVerdict {
    Regressed,
    Improved,
    Unchanged,
    New,
    Missing,
}

impl GateVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            GateVerdict::Regressed => "regressed",
            GateVerdict::Improved => "improved",
            GateVerdict::Unchanged => "unchanged",
            GateVerdict::New => "new",
            GateVerdict::Missing => "missing",
        }
    }
}

/// A function whose inclusive instruction count changed between base and head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FunctionDelta {
    pub function: String,
    pub base: u64,
    pub now: u64,
    pub delta: i64,
    /// The source files whose code, inlined into this function, grew most.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GateRow {
    pub benchmark: String,
    pub tool: String,
    pub metric: String,
    pub baseline: Option<u64>,
    pub now: Option<u64>,
    pub delta: Option<i64>,
    pub delta_pct: Option<f64>,
    /// The percentage threshold applied (after noise and overrides).
    pub threshold_pct: f64,
    /// The absolute floor applied.
    pub floor: u64,
    /// The noise the threshold follows from, in percent: how far the median of a side's
    /// runs moved over the recording runs or this run's measurements.
    pub noise_pct: f64,
    pub verdict: GateVerdict,
    /// The gated metric per thread in this run (callgrind).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<u64>,
    /// For a regression: the functions whose inclusive count grew most.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grew: Vec<FunctionDelta>,
}

/// The rules in force for one run.
#[derive(Clone, Debug)]
pub struct Rules<'a> {
    pub settings: &'a GateSettings,
    pub overrides: &'a BTreeMap<String, Override>,
    /// `--threshold`, replacing `settings.threshold_pct`.
    pub threshold_pct: Option<f64>,
    /// `--floor`, replacing `settings.floor`.
    pub floor: Option<u64>,
}

/// How far one benchmark may move before it counts as changed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Percent of the base value.
    pub threshold_pct: f64,
    /// Absolute count: a change this small never counts, whatever the percentage.
    pub floor: u64,
}

impl Rules<'_> {
    /// The limits for a benchmark with the given noise (percent) and base value.
    pub fn limits(&self, benchmark: &str, noise_pct: f64, base: Option<u64>) -> Limits {
        let o = self.overrides.get(benchmark);
        let floor = o
            .and_then(|o| o.floor)
            .or(self.floor)
            .unwrap_or(self.settings.floor);
        let floor = base.map_or(floor, |base| floor.min(base / 100));
        if let Some(pct) = o.and_then(|o| o.threshold_pct) {
            return Limits {
                threshold_pct: pct,
                floor,
            };
        }
        let pct = self.threshold_pct.unwrap_or(self.settings.threshold_pct);
        Limits {
            threshold_pct: pct.max(self.settings.noise_factor * noise_pct),
            floor,
        }
    }
}

/// The verdict for a change from `base` to `now` under `(threshold %, floor)`.
pub fn judge(base: u64, now: u64, threshold_pct: f64, floor: u64) -> GateVerdict {
    let allowed = (base as f64 * threshold_pct / 100.0).max(floor as f64);
    let delta = now as f64 - base as f64;
    if delta > allowed {
        GateVerdict::Regressed
    } else if delta < -allowed {
        GateVerdict::Improved
    } else {
        GateVerdict::Unchanged
    }
}

/// Compares every benchmark; `noise` gives each benchmark's noise in percent (recorded in the
/// baseline file, widened by what this run observed). Benchmarks outside `filter`
/// (a substring of the benchmark id) are not reported missing.
pub fn compare(
    base: &BTreeMap<String, Recorded>,
    head: &BTreeMap<String, Recorded>,
    noise: &BTreeMap<String, f64>,
    rules: &Rules<'_>,
    filter: Option<&str>,
) -> Vec<GateRow> {
    let mut rows = Vec::new();
    for (name, now) in head {
        let noise_pct = noise.get(name).copied().unwrap_or_default();
        let base = base.get(name).filter(|b| b.metric == now.metric);
        let Limits {
            threshold_pct,
            floor,
        } = rules.limits(name, noise_pct, base.map(|b| b.value));
        let mut row = GateRow {
            benchmark: name.clone(),
            tool: now.tool.clone(),
            metric: now.metric.clone(),
            baseline: None,
            now: Some(now.value),
            delta: None,
            delta_pct: None,
            threshold_pct,
            floor,
            noise_pct,
            verdict: GateVerdict::New,
            threads: now.threads.clone(),
            grew: Vec::new(),
        };
        if let Some(b) = base {
            let delta = now.value as i64 - b.value as i64;
            row.baseline = Some(b.value);
            row.delta = Some(delta);
            row.delta_pct = (b.value > 0).then(|| delta as f64 * 100.0 / b.value as f64);
            row.verdict = judge(b.value, now.value, threshold_pct, floor);
        }
        rows.push(row);
    }
    for (name, b) in base {
        if head.contains_key(name) || filter.is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let noise_pct = noise.get(name).copied().unwrap_or_default();
        let Limits {
            threshold_pct,
            floor,
        } = rules.limits(name, noise_pct, Some(b.value));
        rows.push(GateRow {
            benchmark: name.clone(),
            tool: b.tool.clone(),
            metric: b.metric.clone(),
            baseline: Some(b.value),
            now: None,
            delta: None,
            delta_pct: None,
            threshold_pct,
            floor,
            noise_pct,
            verdict: GateVerdict::Missing,
            threads: Vec::new(),
            grew: Vec::new(),
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(threshold_pct: f64, floor: u64) -> Limits {
        Limits {
            threshold_pct,
            floor,
        }
    }

    fn rec(value: u64, noise_pct: f64) -> Recorded {
        Recorded {
            tool: "callgrind".into(),
            metric: "Ir".into(),
            value,
            samples: vec![value],
            noise_pct,
            spread_pct: noise_pct,
            metrics: BTreeMap::new(),
            threads: vec![value],
        }
    }

    fn rules<'a>(
        settings: &'a GateSettings,
        overrides: &'a BTreeMap<String, Override>,
    ) -> Rules<'a> {
        Rules {
            settings,
            overrides,
            threshold_pct: None,
            floor: None,
        }
    }

    #[test]
    fn default_threshold_is_half_a_percent() {
        let s = GateSettings::default();
        assert_eq!(
            judge(100_000, 100_500, s.threshold_pct, s.floor),
            GateVerdict::Unchanged
        );
        assert_eq!(
            judge(100_000, 100_501, s.threshold_pct, s.floor),
            GateVerdict::Regressed
        );
        assert_eq!(
            judge(100_000, 99_499, s.threshold_pct, s.floor),
            GateVerdict::Improved
        );
        assert_eq!(
            judge(100_000, 99_500, s.threshold_pct, s.floor),
            GateVerdict::Unchanged,
            "exactly the threshold below the base is not an improvement"
        );
        assert_eq!(
            judge(100_000, 100_000, s.threshold_pct, s.floor),
            GateVerdict::Unchanged
        );
    }

    #[test]
    fn the_floor_absorbs_wiggles_in_tiny_benchmarks() {
        // 0.5 % of 150 is under one instruction: only the floor keeps a 1-instruction
        // wiggle from being a verdict, in either direction.
        assert_eq!(judge(150, 151, 0.5, 16), GateVerdict::Unchanged);
        assert_eq!(judge(150, 149, 0.5, 16), GateVerdict::Unchanged);
        assert_eq!(judge(150, 166, 0.5, 16), GateVerdict::Unchanged);
        assert_eq!(judge(150, 167, 0.5, 16), GateVerdict::Regressed);
        assert_eq!(judge(150, 133, 0.5, 16), GateVerdict::Improved);
        assert_eq!(judge(150, 151, 0.5, 0), GateVerdict::Regressed);
    }

    #[test]
    fn only_measured_noise_widens_the_threshold() {
        let s = GateSettings::default();
        let none = BTreeMap::new();
        let r = rules(&s, &none);
        assert_eq!(r.limits("det", 0.0, Some(50_000)), lim(0.5, 16));
        assert_eq!(r.limits("quiet", 0.1, Some(50_000)), lim(0.5, 16)); // 3 × 0.1 < 0.5
        let pct = r.limits("noisy", 2.0, Some(50_000)).threshold_pct;
        assert_eq!(pct, 6.0);
        assert_eq!(judge(50_000, 52_900, pct, 16), GateVerdict::Unchanged);
        assert_eq!(judge(50_000, 53_100, pct, 16), GateVerdict::Regressed);
    }

    #[test]
    fn the_floor_never_exceeds_one_percent_of_the_base() {
        let s = GateSettings::default();
        let mut o = BTreeMap::new();
        o.insert(
            "wide_floor".to_owned(),
            Override {
                floor: Some(500),
                ..Override::default()
            },
        );
        let r = rules(&s, &o);
        // A cheap benchmark of 131 instructions: 2 more per call must not hide under 16.
        let Limits {
            threshold_pct: pct,
            floor,
        } = r.limits("global_execute", 0.0, Some(131));
        assert_eq!(floor, 1);
        assert_eq!(judge(131, 132, pct, floor), GateVerdict::Unchanged);
        assert_eq!(judge(131, 133, pct, floor), GateVerdict::Regressed);
        assert_eq!(r.limits("big", 0.0, Some(50_000)).floor, 16);
        assert_eq!(r.limits("wide_floor", 0.0, Some(10_000)).floor, 100);
        // Zero heap bytes: any allocation is a verdict.
        assert_eq!(r.limits("no_alloc", 0.0, Some(0)).floor, 0);
        // A new benchmark has no base to cap against.
        assert_eq!(r.limits("new", 0.0, None).floor, 16);
    }

    #[test]
    fn overrides_beat_the_command_line_and_the_noise() {
        let s = GateSettings::default();
        let mut o = BTreeMap::new();
        o.insert(
            "pinned".to_owned(),
            Override {
                threshold_pct: Some(2.0),
                floor: Some(100),
                reason: None,
            },
        );
        o.insert(
            "floor_only".to_owned(),
            Override {
                floor: Some(1),
                ..Override::default()
            },
        );
        let r = Rules {
            threshold_pct: Some(1.0),
            floor: Some(8),
            ..rules(&s, &o)
        };
        assert_eq!(r.limits("pinned", 10.0, Some(100_000)), lim(2.0, 100));
        assert_eq!(r.limits("floor_only", 0.0, Some(100_000)), lim(1.0, 1));
        assert_eq!(r.limits("other", 0.0, Some(100_000)), lim(1.0, 8));
    }

    #[test]
    fn new_missing_and_filtered_benchmarks() {
        let s = GateSettings::default();
        let none = BTreeMap::new();
        let base = BTreeMap::from([
            ("g::kept".to_owned(), rec(1000, 0.0)),
            ("g::gone".to_owned(), rec(1000, 0.0)),
            ("other::skipped".to_owned(), rec(1000, 0.0)),
        ]);
        let head = BTreeMap::from([
            ("g::kept".to_owned(), rec(1000, 0.0)),
            ("g::added".to_owned(), rec(10, 0.0)),
        ]);
        let rows = compare(
            &base,
            &head,
            &BTreeMap::new(),
            &rules(&s, &none),
            Some("g::"),
        );
        let verdict = |n: &str| rows.iter().find(|r| r.benchmark == n).map(|r| r.verdict);
        assert_eq!(verdict("g::kept"), Some(GateVerdict::Unchanged));
        assert_eq!(verdict("g::added"), Some(GateVerdict::New));
        assert_eq!(verdict("g::gone"), Some(GateVerdict::Missing));
        assert_eq!(verdict("other::skipped"), None);
        let rows = compare(&base, &head, &BTreeMap::new(), &rules(&s, &none), None);
        assert_eq!(rows.len(), 4);
    }

    #[test]
    fn rows_carry_delta_percent_and_limits() {
        let s = GateSettings::default();
        let none = BTreeMap::new();
        let base = BTreeMap::from([("b".to_owned(), rec(10_000, 0.0))]);
        let head = BTreeMap::from([("b".to_owned(), rec(10_100, 0.0))]);
        let noise = BTreeMap::from([("b".to_owned(), 0.0)]);
        let rows = compare(&base, &head, &noise, &rules(&s, &none), None);
        let row = &rows[0];
        assert_eq!(row.delta, Some(100));
        assert_eq!(row.delta_pct, Some(1.0));
        assert_eq!(row.verdict, GateVerdict::Regressed);
        assert_eq!((row.threshold_pct, row.floor), (0.5, 16));
        // A zero base (no heap bytes before) has a delta but no percentage.
        let base = BTreeMap::from([("z".to_owned(), rec(0, 0.0))]);
        let head = BTreeMap::from([("z".to_owned(), rec(64, 0.0))]);
        let rows = compare(&base, &head, &noise, &rules(&s, &none), None);
        assert_eq!((rows[0].delta, rows[0].delta_pct), (Some(64), None));
    }
}
