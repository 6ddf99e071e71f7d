//! The verdict rules: a pure function of the base figures, the head figures and the rules.
//!
//! - Allowed change = max(threshold % of the base value, the absolute floor).
//! - Threshold = the benchmark's override, else `--threshold`, else the file's setting; for a
//!   noisy benchmark (its recording runs, or this run's repeated measurements, disagreed) at
//!   least `noise_factor` × its noise, and for a multi-threaded one (more than one thread did
//!   counted work) at least `noisy_min_pct`, even when its recording runs happened to agree:
//!   cross-thread work follows scheduling, and a handful of runs under-estimates its
//!   heavy-tailed noise (`naive_execute` recorded 0% once and 5.2% another time).
//!   An override that sets the threshold replaces all of this.
//! - Δ > allowed: regressed; Δ < −allowed: improved; otherwise unchanged.
//! - In head only: new. In the base only (and matching the filter): missing. Neither fails.

use std::collections::BTreeMap;

use serde::Serialize;

use super::baseline::{Override, Recorded, Settings};

/// The outcome for one benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Verdict {
    Regressed,
    Improved,
    Unchanged,
    New,
    Missing,
}

impl Verdict {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::New => "new",
            Verdict::Missing => "missing",
        }
    }
}

/// A function whose inclusive instruction count changed between base and head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct FunctionDelta {
    pub(crate) function: String,
    pub(crate) base: u64,
    pub(crate) now: u64,
    pub(crate) delta: i64,
    /// The source files whose code, inlined into this function, grew most.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) files: Vec<String>,
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Row {
    pub(crate) benchmark: String,
    pub(crate) tool: String,
    pub(crate) metric: String,
    pub(crate) baseline: Option<u64>,
    pub(crate) now: Option<u64>,
    pub(crate) delta: Option<i64>,
    pub(crate) delta_pct: Option<f64>,
    /// The percentage threshold applied (after noise and overrides).
    pub(crate) threshold_pct: f64,
    /// The absolute floor applied.
    pub(crate) floor: u64,
    /// The baseline's recorded noise, in percent.
    pub(crate) noise_pct: f64,
    pub(crate) verdict: Verdict,
    /// The gated metric per thread in this run (callgrind).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) threads: Vec<u64>,
    /// For a regression: the functions whose inclusive count grew most.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) grew: Vec<FunctionDelta>,
}

/// The rules in force for one run.
#[derive(Clone, Debug)]
pub(crate) struct Rules<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) overrides: &'a BTreeMap<String, Override>,
    /// `--threshold`, replacing `settings.threshold_pct`.
    pub(crate) threshold_pct: Option<f64>,
    /// `--floor`, replacing `settings.floor`.
    pub(crate) floor: Option<u64>,
}

impl Rules<'_> {
    /// `(threshold %, floor)` for a benchmark with the given noise.
    pub(crate) fn limits(&self, benchmark: &str, noise: Noise) -> (f64, u64) {
        let o = self.overrides.get(benchmark);
        let floor = o
            .and_then(|o| o.floor)
            .or(self.floor)
            .unwrap_or(self.settings.floor);
        if let Some(pct) = o.and_then(|o| o.threshold_pct) {
            return (pct, floor);
        }
        let pct = self.threshold_pct.unwrap_or(self.settings.threshold_pct);
        let mut pct = pct.max(self.settings.noise_factor * noise.pct);
        if noise.multi_threaded {
            pct = pct.max(self.settings.noisy_min_pct);
        }
        (pct, floor)
    }
}

/// The verdict for a change from `base` to `now` under `(threshold %, floor)`.
pub(crate) fn judge(base: u64, now: u64, threshold_pct: f64, floor: u64) -> Verdict {
    let allowed = (base as f64 * threshold_pct / 100.0).max(floor as f64);
    let delta = now as f64 - base as f64;
    if delta > allowed {
        Verdict::Regressed
    } else if delta < -allowed {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    }
}

/// How much a benchmark varies from run to run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Noise {
    /// Spread of repeated runs in percent of the median; 0 when they all agreed.
    pub(crate) pct: f64,
    /// More than one thread did counted work.
    pub(crate) multi_threaded: bool,
}

/// Compares every benchmark; `noise` gives each benchmark's noise (recorded in the baseline
/// file, widened by what this run observed). Benchmarks outside `filter`
/// (a substring of the benchmark id) are not reported missing.
pub(crate) fn compare(
    base: &BTreeMap<String, Recorded>,
    head: &BTreeMap<String, Recorded>,
    noise: &BTreeMap<String, Noise>,
    rules: &Rules<'_>,
    filter: Option<&str>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for (name, now) in head {
        let n = noise.get(name).copied().unwrap_or_default();
        let (threshold_pct, floor) = rules.limits(name, n);
        let noise_pct = n.pct;
        let mut row = Row {
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
            verdict: Verdict::New,
            threads: now.threads.clone(),
            grew: Vec::new(),
        };
        if let Some(b) = base.get(name).filter(|b| b.metric == now.metric) {
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
        let n = noise.get(name).copied().unwrap_or_default();
        let (threshold_pct, floor) = rules.limits(name, n);
        let noise_pct = n.pct;
        rows.push(Row {
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
            verdict: Verdict::Missing,
            threads: Vec::new(),
            grew: Vec::new(),
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(value: u64, noise_pct: f64) -> Recorded {
        Recorded {
            tool: "callgrind".into(),
            metric: "Ir".into(),
            value,
            samples: vec![value],
            noise_pct,
            metrics: BTreeMap::new(),
            threads: vec![value],
        }
    }

    fn rules<'a>(settings: &'a Settings, overrides: &'a BTreeMap<String, Override>) -> Rules<'a> {
        Rules {
            settings,
            overrides,
            threshold_pct: None,
            floor: None,
        }
    }

    #[test]
    fn default_threshold_is_half_a_percent() {
        let s = Settings::default();
        assert_eq!(
            judge(100_000, 100_500, s.threshold_pct, s.floor),
            Verdict::Unchanged
        );
        assert_eq!(
            judge(100_000, 100_501, s.threshold_pct, s.floor),
            Verdict::Regressed
        );
        assert_eq!(
            judge(100_000, 99_499, s.threshold_pct, s.floor),
            Verdict::Improved
        );
        assert_eq!(
            judge(100_000, 100_000, s.threshold_pct, s.floor),
            Verdict::Unchanged
        );
    }

    #[test]
    fn the_floor_absorbs_wiggles_in_tiny_benchmarks() {
        // 0.5 % of 150 is under one instruction: only the floor keeps a 1-instruction
        // wiggle from being a verdict, in either direction.
        assert_eq!(judge(150, 151, 0.5, 16), Verdict::Unchanged);
        assert_eq!(judge(150, 149, 0.5, 16), Verdict::Unchanged);
        assert_eq!(judge(150, 166, 0.5, 16), Verdict::Unchanged);
        assert_eq!(judge(150, 167, 0.5, 16), Verdict::Regressed);
        assert_eq!(judge(150, 133, 0.5, 16), Verdict::Improved);
        assert_eq!(judge(150, 151, 0.5, 0), Verdict::Regressed);
    }

    #[test]
    fn noise_and_threads_widen_the_threshold_of_such_benchmarks_only() {
        let s = Settings::default();
        let none = BTreeMap::new();
        let r = rules(&s, &none);
        let single = |pct| Noise {
            pct,
            multi_threaded: false,
        };
        let multi = |pct| Noise {
            pct,
            multi_threaded: true,
        };
        assert_eq!(r.limits("det", single(0.0)), (0.5, 16));
        // Multi-threaded work is never judged as deterministic, even after a quiet recording.
        assert_eq!(r.limits("threads", multi(0.0)), (10.0, 16));
        assert_eq!(r.limits("noisy", single(0.1)), (0.5, 16)); // 3 × 0.1 < 0.5
        let (pct, _) = r.limits("noisy", single(2.0));
        assert_eq!(pct, 6.0);
        assert_eq!(judge(50_000, 52_900, pct, 16), Verdict::Unchanged);
        assert_eq!(judge(50_000, 53_100, pct, 16), Verdict::Regressed);
        // Multi-threaded and noisy: never under noisy_min_pct, however quiet the recording was.
        assert_eq!(r.limits("threads", multi(0.2)).0, 10.0);
        assert_eq!(r.limits("threads", multi(5.0)).0, 15.0);
    }

    #[test]
    fn overrides_beat_the_command_line_and_the_noise() {
        let s = Settings::default();
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
        let loud = Noise {
            pct: 10.0,
            multi_threaded: true,
        };
        assert_eq!(r.limits("pinned", loud), (2.0, 100));
        assert_eq!(r.limits("floor_only", Noise::default()), (1.0, 1));
        assert_eq!(r.limits("other", Noise::default()), (1.0, 8));
    }

    #[test]
    fn new_missing_and_filtered_benchmarks() {
        let s = Settings::default();
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
        assert_eq!(verdict("g::kept"), Some(Verdict::Unchanged));
        assert_eq!(verdict("g::added"), Some(Verdict::New));
        assert_eq!(verdict("g::gone"), Some(Verdict::Missing));
        assert_eq!(verdict("other::skipped"), None);
        let rows = compare(&base, &head, &BTreeMap::new(), &rules(&s, &none), None);
        assert_eq!(rows.len(), 4);
    }

    #[test]
    fn rows_carry_delta_percent_and_limits() {
        let s = Settings::default();
        let none = BTreeMap::new();
        let base = BTreeMap::from([("b".to_owned(), rec(10_000, 0.0))]);
        let head = BTreeMap::from([("b".to_owned(), rec(10_100, 0.0))]);
        let noise = BTreeMap::from([("b".to_owned(), Noise::default())]);
        let rows = compare(&base, &head, &noise, &rules(&s, &none), None);
        let row = &rows[0];
        assert_eq!(row.delta, Some(100));
        assert_eq!(row.delta_pct, Some(1.0));
        assert_eq!(row.verdict, Verdict::Regressed);
        assert_eq!((row.threshold_pct, row.floor), (0.5, 16));
    }
}
