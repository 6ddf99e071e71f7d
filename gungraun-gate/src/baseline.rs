//! `benches/baseline.json`: the committed reference figures, the environment that produced
//! them, and the gate's settings and per-benchmark overrides. The gate (`bench`) records and
//! reads it; `docs` and `slo` read it, so it is a module of its own beside them.
//!
//! The file is only ever written whole, through a temporary file and a rename; reading it
//! never modifies it, whatever state it is in.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::invocation::COMMAND;

/// The version of this file's layout; bump it on an incompatible change.
pub const SCHEMA: u32 = 1;

/// Everything that changes instruction counts without a code change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    /// `rustc --version`, e.g. `rustc 1.95.0 (…)`.
    pub rustc: String,
    /// `valgrind --version`, e.g. `valgrind-3.19.0`.
    pub valgrind: String,
    /// The locked `gungraun` version (and so the runner's).
    pub gungraun: String,
    /// The host target triple.
    pub target: String,
    /// The CPU model (glibc picks memcpy/memset variants by CPU).
    pub cpu: String,
    /// The glibc version, e.g. `glibc 2.36`.
    pub glibc: String,
    /// How Valgrind's threads were scheduled ([`crate::pinning`]): pinned figures of work
    /// that spans threads are not comparable with unpinned ones.
    #[serde(default)]
    pub scheduling: String,
}

/// A field of the fingerprint whose value differs between the baseline and this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub field: &'static str,
    pub baseline: String,
    pub now: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?} → {:?}", self.field, self.baseline, self.now)
    }
}

impl Environment {
    /// The fields that differ from `now`, this being the baseline's.
    pub fn differences(&self, now: &Environment) -> Vec<Difference> {
        let fields = [
            ("rustc", &self.rustc, &now.rustc),
            ("valgrind", &self.valgrind, &now.valgrind),
            ("gungraun", &self.gungraun, &now.gungraun),
            ("target", &self.target, &now.target),
            ("cpu", &self.cpu, &now.cpu),
            ("glibc", &self.glibc, &now.glibc),
            ("scheduling", &self.scheduling, &now.scheduling),
        ];
        fields
            .into_iter()
            .filter(|(_, baseline, now)| baseline != now)
            .map(|(field, baseline, now)| Difference {
                field,
                baseline: baseline.clone(),
                now: now.clone(),
            })
            .collect()
    }
}

/// The gate's rules; each can be changed in the file (and the threshold on the command line).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSettings {
    /// A deterministic benchmark regresses above this many percent.
    pub threshold_pct: f64,
    /// Changes of at most this many units (instructions, bytes) are never a verdict.
    pub floor: u64,
    /// A noisy benchmark's threshold is at least this times its noise.
    pub noise_factor: f64,
    /// How many runs of the suite make one side's figure (their median).
    #[serde(default = "default_runs")]
    pub runs: usize,
}

fn default_runs() -> usize {
    3
}

impl Default for GateSettings {
    fn default() -> Self {
        GateSettings {
            threshold_pct: 0.5,
            floor: 16,
            noise_factor: 3.0,
            runs: default_runs(),
        }
    }
}

/// A per-benchmark exception to [`GateSettings`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Replaces the threshold (also the noise-derived one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_pct: Option<f64>,
    /// Replaces the absolute floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<u64>,
    /// Why the exception exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One benchmark's recorded figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// `callgrind` or `dhat`.
    pub tool: String,
    /// The gated metric: `Ir` (callgrind) or `TotalBytes` (DHAT).
    pub metric: String,
    /// The median of `samples`.
    pub value: u64,
    /// The gated metric of every recording run.
    pub samples: Vec<u64>,
    /// How far the gate's figure, the median of `settings.runs` runs, moved over these
    /// samples, in percent of the median: 0 for a deterministic benchmark ([`noise_pct`]).
    pub noise_pct: f64,
    /// `(max - min) / median` of `samples`, in percent: how far single runs moved.
    #[serde(default)]
    pub spread_pct: f64,
    /// Every integer figure of the first run's total (callgrind events, DHAT figures).
    #[serde(default)]
    pub metrics: BTreeMap<String, u64>,
    /// The gated metric per thread of the first run (callgrind; thread 1 first).
    #[serde(default)]
    pub threads: Vec<u64>,
}

/// The median of `samples` (the upper one of an even count); `samples` must not be empty.
pub fn median(samples: &[u64]) -> u64 {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

/// How far a median of `runs` of these samples can move, in percent of their median: the
/// range of the samples without the `(runs - 1) / 2` highest and lowest, since a median of
/// `runs` values ignores that many on each side. `runs` = 1 gives the full range.
///
/// This is the noise of what the gate compares (each side's median of `runs` runs), so a
/// threshold above it is not crossed by run-to-run noise; a rare outlier run moves the
/// full range but not this one.
pub fn noise_of_median(samples: &[u64], runs: usize) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let trim = (runs.max(1) - 1) / 2;
    if sorted.len() <= 2 * trim {
        return 0.0;
    }
    let spread = sorted[sorted.len() - 1 - trim] - sorted[trim];
    let value = median(&sorted);
    if spread == 0 || value == 0 {
        0.0
    } else {
        // Rounded up to 0.001 % so the file stays readable and never under-states noise.
        (spread as f64 * 100.0 / value as f64 * 1000.0).ceil() / 1000.0
    }
}

impl Recorded {
    /// Builds the record of several runs of one benchmark, judged as medians of `runs`;
    /// `samples` must not be empty.
    pub fn from_samples(
        tool: &str,
        metric: &str,
        samples: Vec<u64>,
        runs: usize,
        metrics: BTreeMap<String, u64>,
        threads: Vec<u64>,
    ) -> Self {
        Recorded {
            tool: tool.to_owned(),
            metric: metric.to_owned(),
            value: median(&samples),
            noise_pct: noise_of_median(&samples, runs),
            spread_pct: noise_of_median(&samples, 1),
            samples,
            metrics,
            threads,
        }
    }
}

/// The whole file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// [`SCHEMA`].
    pub schema: u32,
    /// How the file was produced.
    pub recorded_with: String,
    /// `git rev-parse HEAD` when it was recorded.
    #[serde(default)]
    pub commit: Option<String>,
    /// Whether tracked files other than this one had uncommitted changes then.
    #[serde(default)]
    pub dirty: bool,
    /// How many runs each benchmark was recorded over.
    pub runs: usize,
    pub environment: Environment,
    #[serde(default)]
    pub settings: GateSettings,
    #[serde(default)]
    pub overrides: BTreeMap<String, Override>,
    pub benchmarks: BTreeMap<String, Recorded>,
}

impl Baseline {
    /// Reads and checks the file; a missing, malformed or truncated file is an error naming
    /// the path and the way out.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => bail!(
                "no baseline at {}; record one with `{COMMAND} --save` and commit it",
                path.display()
            ),
            Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
        };
        Self::parse(&text, path)
    }

    /// Parses and checks the file's text (`path` only names it in errors).
    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Self> {
        let fix = format!("restore the committed file or re-record it with `{COMMAND} --save`");
        let value: serde_json::Value = serde_json::from_str(text).map_err(|err| {
            let what = if err.is_eof() {
                "is truncated"
            } else {
                "is not valid JSON"
            };
            anyhow::anyhow!(
                "{} {what} (line {}, column {}); {fix}",
                path.display(),
                err.line(),
                err.column()
            )
        })?;
        match value.get("schema").and_then(serde_json::Value::as_u64) {
            Some(n) if n == u64::from(SCHEMA) => {}
            Some(n) => bail!(
                "{} has schema {n} but this gate reads schema {SCHEMA}; {fix}",
                path.display()
            ),
            None => bail!("{} has no numeric `schema` field; {fix}", path.display()),
        }
        let baseline: Baseline = serde_json::from_value(value)
            .map_err(|err| anyhow::anyhow!("{} is malformed: {err}; {fix}", path.display()))?;
        baseline
            .validate()
            .map_err(|err| anyhow::anyhow!("{} is malformed: {err}; {fix}", path.display()))?;
        Ok(baseline)
    }

    fn validate(&self) -> Result<(), String> {
        let pct_ok = |p: f64| p.is_finite() && p >= 0.0;
        let s = &self.settings;
        if !pct_ok(s.threshold_pct) || !pct_ok(s.noise_factor) {
            return Err("settings must be finite, non-negative numbers".to_owned());
        }
        if s.runs == 0 || s.runs.is_multiple_of(2) {
            return Err(
                "settings.runs must be an odd number ≥ 1 (each side is a median)".to_owned(),
            );
        }
        for (name, o) in &self.overrides {
            if o.threshold_pct.is_some_and(|p| !pct_ok(p)) {
                return Err(format!(
                    "override `{name}`: threshold_pct must be a finite number ≥ 0"
                ));
            }
        }
        for (name, b) in &self.benchmarks {
            if b.samples.is_empty() {
                return Err(format!("benchmark `{name}` has no samples"));
            }
            if !pct_ok(b.noise_pct) {
                return Err(format!(
                    "benchmark `{name}`: noise_pct must be a finite number ≥ 0"
                ));
            }
        }
        Ok(())
    }

    /// Writes the file atomically: a temporary file beside it, then a rename.
    pub fn write_atomic(&self, path: &Path) -> anyhow::Result<()> {
        crate::util::write_json(path, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = include_str!("../tests/fixtures/bench/baseline.json");

    #[test]
    fn the_fixture_parses() {
        let b = Baseline::parse(GOOD, Path::new("baseline.json")).unwrap();
        assert_eq!(b.schema, SCHEMA);
        assert!(b.benchmarks.contains_key("execute_baseline::ready::ready"));
        assert_eq!(
            b.overrides["naive_vs_global::global_execute::global_execute"].floor,
            Some(4)
        );
    }

    #[test]
    fn truncated_and_malformed_files_are_clear_errors() {
        let path = Path::new("benches/baseline.json");
        let cut = &GOOD[..GOOD.len() / 2];
        let err = Baseline::parse(cut, path).unwrap_err().to_string();
        assert!(err.contains("benches/baseline.json is truncated"), "{err}");
        assert!(err.contains("--save"), "{err}");
        assert!(!err.contains('\n'), "{err}");

        let err = Baseline::parse("{ nope", path).unwrap_err().to_string();
        assert!(err.contains("not valid JSON"), "{err}");

        let err = Baseline::parse(r#"{"schema": 99}"#, path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("schema 99"), "{err}");

        let wrong_type = GOOD.replacen("\"value\": 13304", "\"value\": \"many\"", 1);
        assert_ne!(wrong_type, GOOD);
        let err = Baseline::parse(&wrong_type, path).unwrap_err().to_string();
        assert!(err.contains("is malformed"), "{err}");

        let no_samples = GOOD.replacen(
            "\"samples\": [\n        13304\n      ]",
            "\"samples\": []",
            1,
        );
        assert_ne!(no_samples, GOOD);
        let err = Baseline::parse(&no_samples, path).unwrap_err().to_string();
        assert!(err.contains("has no samples"), "{err}");
    }

    #[test]
    fn a_bad_file_is_left_untouched_by_loading() {
        let dir = std::env::temp_dir().join(format!("gate-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("baseline.json");
        let cut = &GOOD.as_bytes()[..100];
        std::fs::write(&path, cut).unwrap();
        assert!(Baseline::load(&path).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), cut);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_file_says_how_to_record_one() {
        let err = Baseline::load(Path::new("/nonexistent/baseline.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cargo gungraun-gate --save"), "{err}");
    }

    #[test]
    fn round_trip_is_lossless() {
        let b = Baseline::parse(GOOD, Path::new("b.json")).unwrap();
        let dir = std::env::temp_dir().join(format!("gate-baseline-rt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("baseline.json");
        b.write_atomic(&path).unwrap();
        assert_eq!(Baseline::load(&path).unwrap(), b);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn samples_give_median_and_noise() {
        let r = Recorded::from_samples(
            "callgrind",
            "Ir",
            vec![1000, 1010, 990],
            1,
            BTreeMap::new(),
            vec![],
        );
        assert_eq!(r.value, 1000);
        assert_eq!((r.noise_pct, r.spread_pct), (2.0, 2.0));
        let r =
            Recorded::from_samples("callgrind", "Ir", vec![5, 5, 5], 3, BTreeMap::new(), vec![]);
        assert_eq!((r.value, r.noise_pct, r.spread_pct), (5, 0.0, 0.0));
    }

    #[test]
    fn the_noise_of_a_median_ignores_one_outlier_per_side() {
        // Ten pinned runs of a timer benchmark: one run in ten took another path.
        let timer = [
            34026, 34026, 34165, 34026, 34027, 34026, 34027, 34026, 34027, 34027,
        ];
        assert_eq!(noise_of_median(&timer, 1), 0.409); // 139 of 34,027, rounded up
        assert_eq!(noise_of_median(&timer, 3), 0.003); // 34,026 to 34,027
        // A median of 5 ignores two per side.
        let two_high = [100, 100, 100, 100, 100, 100, 100, 100, 150, 160];
        assert_eq!(noise_of_median(&two_high, 3), 50.0);
        assert_eq!(noise_of_median(&two_high, 5), 0.0);
        // Too few samples to trim: no evidence of noise either way.
        assert_eq!(noise_of_median(&[1, 2], 3), 0.0);
        assert_eq!(median(&[3, 1, 2, 4]), 3);
    }

    #[test]
    fn environment_differences_name_the_fields() {
        let a = Environment {
            rustc: "rustc 1.95.0".into(),
            valgrind: "valgrind-3.19.0".into(),
            ..Environment::default()
        };
        let mut b = a.clone();
        assert!(a.differences(&b).is_empty());
        b.valgrind = "valgrind-3.22.0".into();
        let d = a.differences(&b);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "valgrind");
    }
}
