//! One side's runs of the suite and what the gate takes from them: per benchmark the run
//! whose value is the median, and how far a median moved between the runs (its noise).
//!
//! A single run is never a side's figure: thread scheduling and tokio's timer wheel can
//! still move one run, and a median of several ignores such a run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::summary::Measurement;
use crate::baseline::{self, Baseline, Recorded};

/// One run of the suite and the checkout it ran in (source paths in its callgrind files
/// start there).
#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub(crate) measurements: Vec<Measurement>,
    pub(crate) checkout: PathBuf,
}

impl Run {
    pub(crate) fn find(&self, id: &str) -> Option<&Measurement> {
        self.measurements.iter().find(|m| m.id == id)
    }
}

/// How many runs of the suite a side takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Runs {
    /// Exactly this many: `--save`'s recording, a confirmation.
    Exactly(usize),
    /// As many as the median of this many needs. Pinned, a benchmark is not run again once
    /// a majority of this many gave one value, its median ([`unsettled`]); unpinned, every
    /// run is taken (their full spread is the noise).
    MedianOf(usize),
}

impl Runs {
    pub(crate) fn total(self) -> usize {
        match self {
            Runs::Exactly(n) | Runs::MedianOf(n) => n,
        }
    }
}

/// A side's figure for one benchmark: the run whose value is the median of the side's runs.
#[derive(Clone, Debug)]
pub(crate) struct Median<'a> {
    pub(crate) measurement: &'a Measurement,
    pub(crate) checkout: &'a Path,
    /// Every run's value, for the noise this run observed.
    pub(crate) samples: Vec<u64>,
}

/// Per benchmark, the median of `runs` (the lower one of an even count, so that a
/// confirmation that doubles the runs never raises a figure).
pub(crate) fn medians(runs: &[Run]) -> BTreeMap<&str, Median<'_>> {
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

/// Each benchmark's noise in percent: recorded in the baseline, widened by how far a median
/// of `runs` moved between this run's repeated measurements of the same code.
pub(crate) fn noise(
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

/// The benchmarks whose median of `of` runs `runs` do not settle yet: those without a value
/// that a majority of `of` runs gave. Such a value is the median whatever the other runs
/// give, and pinned, a median's noise ignores as many runs on each side as the majority
/// leaves out (`baseline::noise_of_median`), so the other runs change neither.
pub(crate) fn unsettled(runs: &[Run], of: usize) -> Vec<String> {
    let mut counts: BTreeMap<&str, BTreeMap<u64, usize>> = BTreeMap::new();
    for run in runs {
        for m in &run.measurements {
            *counts.entry(&m.id).or_default().entry(m.value).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .filter(|(_, values)| values.values().all(|&n| 2 * n <= of))
        .map(|(id, _)| id.to_owned())
        .collect()
}

/// The medians as single-run records, the shape the verdict rules compare.
pub(crate) fn records(medians: &BTreeMap<&str, Median<'_>>) -> BTreeMap<String, Recorded> {
    medians
        .iter()
        .map(|(id, m)| ((*id).to_owned(), m.measurement.to_recorded()))
        .collect()
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
    fn a_value_from_a_majority_of_runs_settles_the_median_and_nothing_less_does() {
        let run = |values: &[(&str, u64)]| Run {
            measurements: values
                .iter()
                .map(|&(id, v)| measurement(id, v, vec![v]))
                .collect(),
            checkout: PathBuf::from("/checkout"),
        };
        let a = run(&[("a", 10), ("b", 20)]);
        let b21 = run(&[("a", 10), ("b", 21)]);
        assert!(unsettled(&[a.clone(), a.clone()], 3).is_empty());
        assert!(unsettled(std::slice::from_ref(&a), 1).is_empty());
        // Too few runs for a majority, or two that differ by one instruction.
        assert_eq!(unsettled(std::slice::from_ref(&a), 3), ["a", "b"]);
        assert_eq!(unsettled(&[a.clone(), a.clone()], 5), ["a", "b"]);
        // Half is not a majority.
        assert_eq!(unsettled(&[a.clone(), a.clone()], 4), ["a", "b"]);
        assert_eq!(unsettled(&[a.clone(), b21.clone()], 3), ["b"]);
        assert!(unsettled(&[a.clone(), b21.clone(), a.clone()], 3).is_empty());
        // Three of five agree, whichever runs they are; a partial run counts for its ids.
        let b = run(&[("b", 20)]);
        assert_eq!(unsettled(&[a.clone(), b21.clone(), a.clone()], 5), ["b"]);
        assert!(unsettled(&[a.clone(), b21.clone(), a.clone(), b], 5).is_empty());
        assert!(unsettled(&[], 3).is_empty());

        // What it promises: the median of all runs and its noise, whatever the rest give.
        let text = include_str!("../tests/fixtures/bench/baseline.json");
        let baseline = Baseline::parse(text, Path::new("b.json")).unwrap();
        for third in [0, 10, 11, u64::MAX] {
            let all = [a.clone(), a.clone(), run(&[("a", third), ("b", third)])];
            let m = medians(&all);
            assert_eq!(m["a"].measurement.value, 10);
            assert_eq!(m["b"].measurement.value, 20);
            assert_eq!(noise(&baseline, &[&m], 3)["a"], 0.0);
            assert_eq!(noise(&baseline, &[&medians(&all[..2])], 3)["a"], 0.0);
        }
    }
}
