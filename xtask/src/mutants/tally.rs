//! cargo-mutants' `outcomes.json`, counted per file and judged against the goal.

use std::collections::BTreeMap;

use anyhow::Context as _;
use serde::Deserialize;

use super::{GOAL, NO_TIMEOUTS_UNDER};
use crate::exit::Exit;

#[derive(Debug, Deserialize)]
pub(crate) struct Outcomes {
    outcomes: Vec<MutantOutcome>,
}

#[derive(Debug, Deserialize)]
struct MutantOutcome {
    scenario: Scenario,
    summary: MutantSummary,
}

#[derive(Debug, Deserialize)]
enum Scenario {
    Baseline,
    Mutant(Mutant),
}

#[derive(Debug, Deserialize)]
struct Mutant {
    /// `path:line:col: description`, as cargo-mutants prints it and `exclude_re` matches it.
    name: String,
    /// Relative to the workspace root, with slashes.
    file: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
enum MutantSummary {
    Success,
    CaughtMutant,
    MissedMutant,
    Unviable,
    Failure,
    Timeout,
}

pub(crate) fn parse(text: &str) -> anyhow::Result<Outcomes> {
    serde_json::from_str(text).context("outcomes.json is not cargo-mutants' schema")
}

// ---------------------------------------------------------------------------------------
// Counting and the verdict.

/// One file's outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FileCounts {
    caught: usize,
    missed: usize,
    timeout: usize,
    unviable: usize,
}

impl FileCounts {
    /// Mutants that built, so the tests had a chance to catch them.
    fn viable(&self) -> usize {
        self.caught + self.missed + self.timeout
    }

    fn add(&mut self, other: FileCounts) {
        self.caught += other.caught;
        self.missed += other.missed;
        self.timeout += other.timeout;
        self.unviable += other.unviable;
    }

    /// Caught share of the viable mutants; `None` when none was viable.
    fn score(&self) -> Option<f64> {
        let viable = self.viable();
        (viable > 0).then(|| self.caught as f64 / viable as f64)
    }
}

#[derive(Debug, Default)]
pub(crate) struct MutantsTally {
    files: BTreeMap<String, FileCounts>,
    missed: Vec<String>,
    timeouts: Vec<String>,
    /// Whether the unmutated tree built and passed its tests.
    baseline_ok: bool,
    /// Mutants whose outcome was neither caught, missed, timeout nor unviable.
    odd: Vec<String>,
}

#[derive(Debug, PartialEq)]
pub(crate) enum MutantsVerdict {
    Met {
        score: f64,
    },
    NotMet {
        reasons: Vec<String>,
    },
    /// The baseline failed or no mutant was viable: nothing was measured.
    NotRun {
        reason: String,
    },
}

impl MutantsVerdict {
    pub(crate) fn exit_code(&self) -> Exit {
        match self {
            MutantsVerdict::Met { .. } => Exit::Passed,
            MutantsVerdict::NotMet { .. } => Exit::Failed,
            MutantsVerdict::NotRun { .. } => Exit::NotRun,
        }
    }

    pub(crate) fn line(&self) -> String {
        match self {
            MutantsVerdict::Met { score } => format!(
                "goal met: {} of viable mutants caught (goal ≥ {}), no timeout in {NO_TIMEOUTS_UNDER}",
                percent(*score),
                percent(GOAL)
            ),
            MutantsVerdict::NotMet { reasons } => format!("goal NOT met: {}", reasons.join("; ")),
            MutantsVerdict::NotRun { reason } => format!("not measured: {reason}"),
        }
    }
}

fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

impl MutantsTally {
    pub(crate) fn from_outcomes(outcomes: &Outcomes) -> MutantsTally {
        let mut tally = MutantsTally::default();
        for outcome in &outcomes.outcomes {
            let mutant = match &outcome.scenario {
                Scenario::Baseline => {
                    tally.baseline_ok = outcome.summary == MutantSummary::Success;
                    continue;
                }
                Scenario::Mutant(mutant) => mutant,
            };
            let counts = tally.files.entry(mutant.file.clone()).or_default();
            match outcome.summary {
                MutantSummary::CaughtMutant => counts.caught += 1,
                MutantSummary::MissedMutant => {
                    counts.missed += 1;
                    tally.missed.push(mutant.name.clone());
                }
                MutantSummary::Timeout => {
                    counts.timeout += 1;
                    tally.timeouts.push(mutant.name.clone());
                }
                MutantSummary::Unviable => counts.unviable += 1,
                MutantSummary::Success | MutantSummary::Failure => tally
                    .odd
                    .push(format!("{} ({:?})", mutant.name, outcome.summary)),
            }
        }
        tally
    }

    fn total(&self) -> FileCounts {
        let mut total = FileCounts::default();
        for counts in self.files.values() {
            total.add(*counts);
        }
        total
    }

    pub(crate) fn verdict(&self) -> MutantsVerdict {
        if !self.baseline_ok {
            return MutantsVerdict::NotRun {
                reason: "the unmutated tree did not pass its tests (see mutants.out/log)"
                    .to_owned(),
            };
        }
        let Some(score) = self.total().score() else {
            return MutantsVerdict::NotRun {
                reason: "no viable mutant".to_owned(),
            };
        };
        let mut reasons = Vec::new();
        if score < GOAL {
            reasons.push(format!(
                "{} of viable mutants caught, goal ≥ {}",
                percent(score),
                percent(GOAL)
            ));
        }
        let hangs = self
            .timeouts
            .iter()
            .filter(|name| name.starts_with(NO_TIMEOUTS_UNDER))
            .count();
        if hangs > 0 {
            reasons.push(format!(
                "{hangs} timed-out mutant(s) in {NO_TIMEOUTS_UNDER}, goal 0"
            ));
        }
        if reasons.is_empty() {
            MutantsVerdict::Met { score }
        } else {
            MutantsVerdict::NotMet { reasons }
        }
    }

    pub(crate) fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = format!(
            "{:<32} {:>6} {:>6} {:>7} {:>8} {:>7}\n",
            "file", "caught", "missed", "timeout", "unviable", "score"
        );
        let mut line = |name: &str, c: &FileCounts| {
            let score = c.score().map_or("—".to_owned(), percent);
            let _ = writeln!(
                out,
                "{name:<32} {:>6} {:>6} {:>7} {:>8} {score:>7}",
                c.caught, c.missed, c.timeout, c.unviable
            );
        };
        for (file, counts) in &self.files {
            line(file, counts);
        }
        line("total", &self.total());
        for (title, names) in [
            ("missed", &self.missed),
            ("timed out", &self.timeouts),
            ("neither caught nor missed", &self.odd),
        ] {
            if !names.is_empty() {
                let _ = writeln!(out, "\n{title} ({}):", names.len());
                for name in names {
                    let _ = writeln!(out, "  {name}");
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project_root;

    /// A real `outcomes.json`, cut down: the baseline and one mutant of each outcome.
    fn fixture() -> String {
        let path = project_root().join("xtask/tests/fixtures/mutants/outcomes.json");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn counts(caught: usize, missed: usize, timeout: usize, unviable: usize) -> FileCounts {
        FileCounts {
            caught,
            missed,
            timeout,
            unviable,
        }
    }

    /// A tally with a passing baseline and one file.
    fn tally_of(file: &str, c: FileCounts) -> MutantsTally {
        let mut tally = MutantsTally {
            baseline_ok: true,
            ..MutantsTally::default()
        };
        tally.files.insert(file.to_owned(), c);
        for i in 0..c.missed {
            tally.missed.push(format!("{file}:{i}:1: missed"));
        }
        for i in 0..c.timeout {
            tally.timeouts.push(format!("{file}:{i}:1: hangs"));
        }
        tally
    }

    #[test]
    fn reads_cargo_mutants_outcomes() {
        let tally = MutantsTally::from_outcomes(&parse(&fixture()).unwrap());
        assert!(tally.baseline_ok);
        let total = tally.total();
        assert_eq!(total, counts(2, 1, 1, 1), "{tally:?}");
        assert_eq!(tally.missed.len(), 1);
        assert!(tally.missed[0].starts_with("src/"), "{:?}", tally.missed);
        let text = tally.render();
        assert!(text.contains(&tally.missed[0]), "{text}");
        assert!(text.contains("total"), "{text}");
        assert!(parse(r#"{"outcomes": [{"scenario": "Baseline"}]}"#).is_err());
    }

    #[test]
    fn score_against_the_goal() {
        let cases = [
            ("all caught", counts(10, 0, 0, 5), Exit::Passed),
            ("exactly 90 %", counts(9, 1, 0, 0), Exit::Passed),
            ("just under 90 %", counts(89, 11, 0, 0), Exit::Failed),
            (
                "unviable mutants do not count",
                counts(9, 1, 0, 100),
                Exit::Passed,
            ),
            ("no viable mutant", counts(0, 0, 0, 3), Exit::NotRun),
        ];
        for (name, c, want) in cases {
            let got = tally_of("xtask/src/slo/table.rs", c).verdict();
            assert_eq!(got.exit_code(), want, "{name}: {got:?}");
        }
    }

    #[test]
    fn a_timeout_counts_against_the_score_and_fails_in_the_library() {
        // 19 caught of 20 viable is 95 %, but the one timeout is in src/.
        let in_lib = tally_of("src/execute.rs", counts(19, 0, 1, 0)).verdict();
        assert!(
            matches!(&in_lib, MutantsVerdict::NotMet { reasons } if reasons.len() == 1 && reasons[0].contains("timed-out")),
            "{in_lib:?}"
        );
        let in_xtask = tally_of("xtask/src/slo/table.rs", counts(19, 0, 1, 0)).verdict();
        assert_eq!(in_xtask, MutantsVerdict::Met { score: 0.95 });
        let too_many = tally_of("xtask/src/slo/table.rs", counts(8, 0, 2, 0)).verdict();
        assert_eq!(too_many.exit_code(), Exit::Failed);
    }

    #[test]
    fn a_failed_baseline_measures_nothing() {
        let mut tally = tally_of("src/execute.rs", counts(10, 0, 0, 0));
        tally.baseline_ok = false;
        assert_eq!(tally.verdict().exit_code(), Exit::NotRun);
    }
}
