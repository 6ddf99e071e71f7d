//! Table, verdict and parsing logic on fixtures (`xtask/tests/fixtures/slo/`); no benchmark runs.

mod boundaries;
mod docs_table;
mod figures;
mod render;
mod verdicts;

use std::path::PathBuf;

use super::figures::{Estimate, Figures, Paths};
use super::table::model::{SloReport, SloVerdict};

fn fixtures() -> PathBuf {
    crate::project_root().join("xtask/tests/fixtures/slo")
}

fn fixture_paths(memcheck: &str) -> Paths {
    let dir = fixtures();
    Paths {
        criterion: dir.join("criterion"),
        memory: dir.join("memory.json"),
        instructions: dir.join("baseline-gungraun.json"),
        memcheck: dir.join(memcheck),
        race_checks: dir.join("loom-clean.json"),
    }
}

/// The fixture run's figures, with memcheck read from `memcheck` (a missing file = not run).
fn fixture_figures(memcheck: &str) -> Figures {
    Figures::read(&fixture_paths(memcheck), None, None)
}

fn set_estimate(figures: &mut Figures, id: &str, ns: f64) {
    figures.criterion.insert(
        id.to_owned(),
        Ok(Estimate {
            point: ns,
            lower: ns * 0.95,
            upper: ns * 1.05,
        }),
    );
}

fn verdict_of(report: &SloReport, name_start: &str) -> Option<SloVerdict> {
    report
        .rows
        .iter()
        .find(|row| row.name.starts_with(name_start))
        .unwrap_or_else(|| panic!("no row starting with {name_start:?}"))
        .verdict()
}
