//! Every SLO row probed at its target and NO-GO line, table-driven with named cases.

use super::{fixture_figures, fixtures, verdict_of};
use crate::slo::figures;
use crate::slo::table;
use crate::slo::table::model::{Measured, SloReport, SloRow, SloVerdict};

/// One point of a boundary table: a measured value and the verdict it must get.
struct BoundaryCase {
    name: &'static str,
    value: f64,
    want: SloVerdict,
}

const fn case(name: &'static str, value: f64, want: SloVerdict) -> BoundaryCase {
    BoundaryCase { name, value, want }
}

/// Every SLO row's target and NO-GO line, probed just under, exactly at and just past each,
/// with the comparison `evaluate` defines (strict `<`/`>` or inclusive `≥`).
const BOUNDARIES: &[(&str, &[BoundaryCase])] = &[
    (
        // target < 10 µs, NO-GO > 100 µs: exactly 100 µs is a miss, not NO-GO.
        "execute() overhead",
        &[
            case("under the target", 9_999.0, SloVerdict::Pass),
            case("at the target", 10_000.0, SloVerdict::Miss),
            case("past the target", 10_001.0, SloVerdict::Miss),
            case("under the NO-GO line", 99_999.0, SloVerdict::Miss),
            case("at the NO-GO line", 100_000.0, SloVerdict::Miss),
            case("past the NO-GO line", 100_001.0, SloVerdict::NoGo),
        ],
    ),
    (
        // target < 100 ns, NO-GO ≥ 100 ns: the two lines coincide, so missing is NO-GO.
        "per-call CPU time, 10",
        &[
            case("under the target", 99.9, SloVerdict::Pass),
            case("at the target and the NO-GO line", 100.0, SloVerdict::NoGo),
            case("past the NO-GO line", 100.1, SloVerdict::NoGo),
        ],
    ),
    (
        // target ≤ 1.25×, NO-GO > 1.25×: flat per-call cost, inclusive.
        "linear scaling",
        &[
            case("under the target", 1.249, SloVerdict::Pass),
            case("at the target", 1.25, SloVerdict::Pass),
            case(
                "past the target and the NO-GO line",
                1.251,
                SloVerdict::NoGo,
            ),
        ],
    ),
    (
        // target < 10 MB, NO-GO ≥ 10 MB (decimal: 10,000,000 bytes).
        "peak RSS",
        &[
            case("under the target", 9_999_999.0, SloVerdict::Pass),
            case("at the target and the NO-GO line", 10e6, SloVerdict::NoGo),
            case("past the NO-GO line", 10_000_001.0, SloVerdict::NoGo),
        ],
    ),
    (
        // target < 100 ms, NO-GO > 500 ms.
        "startup",
        &[
            case("under the target", 100e6 - 1.0, SloVerdict::Pass),
            case("at the target", 100e6, SloVerdict::Miss),
            case("past the target", 100e6 + 1.0, SloVerdict::Miss),
            case("under the NO-GO line", 500e6 - 1.0, SloVerdict::Miss),
            case("at the NO-GO line", 500e6, SloVerdict::Miss),
            case("past the NO-GO line", 500e6 + 1.0, SloVerdict::NoGo),
        ],
    ),
    (
        // Higher is better: target > 1,000×, NO-GO < 100×.
        "speedup",
        &[
            case("better than the target", 1_000.1, SloVerdict::Pass),
            case("at the target", 1_000.0, SloVerdict::Miss),
            case("short of the target", 999.9, SloVerdict::Miss),
            case("above the NO-GO line", 100.1, SloVerdict::Miss),
            case("at the NO-GO line", 100.0, SloVerdict::Miss),
            case("past the NO-GO line", 99.9, SloVerdict::NoGo),
        ],
    ),
    (
        // target 0 findings (< 1), NO-GO ≥ 1 finding; findings are whole numbers.
        "memcheck",
        &[
            case("no finding", 0.0, SloVerdict::Pass),
            case("one finding", 1.0, SloVerdict::NoGo),
            case("two findings", 2.0, SloVerdict::NoGo),
        ],
    ),
    (
        // target 0 failed suites (< 1), NO-GO ≥ 1; suites are whole numbers.
        "no deadlocks or race conditions",
        &[
            case("every suite passed", 0.0, SloVerdict::Pass),
            case("one suite failed", 1.0, SloVerdict::NoGo),
            case("two suites failed", 2.0, SloVerdict::NoGo),
        ],
    ),
];

/// The row `evaluate` builds whose name starts with `name_start`, measuring `value`.
fn row_measuring(report: &SloReport, name_start: &str, value: f64) -> SloRow {
    let mut row = report
        .rows
        .iter()
        .find(|row| row.name.starts_with(name_start))
        .unwrap_or_else(|| panic!("no row starting with {name_start:?}"))
        .clone();
    row.measured = Ok(Measured {
        value,
        unit: row.unit,
        interval: None,
        note: None,
    });
    row
}

#[test]
fn every_slo_row_at_its_boundaries() {
    let report = table::evaluate(&fixture_figures("memcheck-clean.json"));
    let mut failures = Vec::new();
    for (row_name, cases) in BOUNDARIES {
        for case in *cases {
            let row = row_measuring(&report, row_name, case.value);
            let got = row.verdict();
            if got != Some(case.want) {
                failures.push(format!(
                    "{row_name}, {} ({}): got {got:?}, want {:?}",
                    case.name, case.value, case.want
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_slo_row_has_a_boundary_table() {
    let report = table::evaluate(&fixture_figures("memcheck-clean.json"));
    for row in report.rows.iter().filter(|row| row.slo.is_some()) {
        let tables = BOUNDARIES
            .iter()
            .filter(|(start, _)| row.name.starts_with(start))
            .count();
        assert_eq!(tables, 1, "{}: {tables} boundary tables", row.name);
    }
    // A goal-only row never has a verdict, whatever it measures.
    let ratio = row_measuring(&report, "execute() ÷", 1e9);
    assert_eq!(ratio.verdict(), None);
}

#[test]
fn peak_rss_boundaries_through_the_demo_figures() {
    // The demo reports KiB: 9,765 KiB = 9,999,360 bytes, 9,766 KiB = 10,000,384 bytes.
    let text = std::fs::read_to_string(fixtures().join("memory.json")).unwrap();
    for (kib, want) in [(9_765, SloVerdict::Pass), (9_766, SloVerdict::NoGo)] {
        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
        for run in value["demo_process"]["global"]["runs"]
            .as_array_mut()
            .unwrap()
        {
            run["peak_rss_kib"] = serde_json::json!(kib);
        }
        let mut figures = fixture_figures("memcheck-clean.json");
        figures.memory = Ok(figures::parse_memory(&value.to_string()).unwrap());
        let report = table::evaluate(&figures);
        assert_eq!(verdict_of(&report, "peak RSS"), Some(want), "{kib} KiB");
    }
}
