//! Table, verdict and parsing logic on fixtures (`xtask/tests/fixtures/slo/`); no benchmark runs.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::figures::{self, CheckSummary, Estimate, Figures, Paths};
use super::table::{self, Bound, GoalStatus, Op, Overall, Unit, Verdict};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/slo")
}

fn fixture_paths(memcheck: &str) -> Paths {
    let dir = fixtures();
    Paths {
        criterion: dir.join("criterion"),
        memory: dir.join("memory.json"),
        instructions: dir.join("baseline-bmf.json"),
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

fn verdict_of(report: &table::Report, name_start: &str) -> Option<Verdict> {
    report
        .rows
        .iter()
        .find(|row| row.name.starts_with(name_start))
        .unwrap_or_else(|| panic!("no row starting with {name_start:?}"))
        .verdict()
}

#[test]
fn estimates_use_the_slope_when_criterion_sampled_linearly() {
    let text = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":3.0},"point_estimate":2.0,"standard_error":0.1},
        "slope":{"confidence_interval":{"confidence_level":0.95,"lower_bound":4.0,"upper_bound":6.0},"point_estimate":5.0,"standard_error":0.1}}"#;
    let estimate = figures::parse_estimates(text).unwrap();
    assert_eq!(
        estimate,
        Estimate {
            point: 5.0,
            lower: 4.0,
            upper: 6.0
        }
    );
}

#[test]
fn estimates_use_the_mean_when_sampling_was_flat() {
    let path = fixtures().join("criterion/realistic_workloads/batch_280_global/new/estimates.json");
    let estimate = figures::parse_estimates(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!((estimate.point - 417_156_840.1).abs() < 1.0, "{estimate:?}");
    assert!(estimate.lower < estimate.point && estimate.point < estimate.upper);
}

#[test]
fn estimates_that_are_not_numbers_are_rejected() {
    for bad in [
        "",
        "{}",
        r#"{"mean": {"point_estimate": -1.0, "confidence_interval": {"lower_bound": 0, "upper_bound": 1}}}"#,
        r#"{"mean": {"point_estimate": "fast"}}"#,
    ] {
        assert!(figures::parse_estimates(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn criterion_results_are_found_by_full_id() {
    let found = figures::read_criterion(&fixtures().join("criterion"), None);
    // Function ids with a slash are stored under a sanitised directory name.
    assert!(found.contains_key("realistic_workloads/batch_280/global"));
    assert!(found.contains_key("execute_concurrent/threads/10"));
    assert!(found.contains_key("startup_time/demo_process_1_command/naive"));
    assert!(found.contains_key("execute_concurrent/thread_cpu/10"));
    assert!(found.contains_key(table::NVG_FUTURES_BLOCK_ON));
    assert!(found.contains_key(table::NVG_POLLSTER_BLOCK_ON));
    assert_eq!(found.len(), 29, "{:?}", found.keys().collect::<Vec<_>>());
    assert!(found.values().all(Result::is_ok));
}

#[test]
fn results_older_than_the_run_are_stale_not_measured() {
    let later = SystemTime::now() + Duration::from_secs(3600);
    let found = figures::read_criterion(&fixtures().join("criterion"), Some(later));
    let ready = found.get("execute_baseline/ready").unwrap();
    assert!(ready.as_ref().unwrap_err().contains("stale"), "{ready:?}");
    let memory = figures::read_memory(&fixtures().join("memory.json"), Some(later));
    assert!(memory.unwrap_err().contains("earlier run"));
}

#[test]
fn memory_figures_parse_and_report_an_unavailable_demo() {
    let memory = figures::read_memory(&fixtures().join("memory.json"), None).unwrap();
    let runs = memory.demo_process.global.runs().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0].commands, 280);
    assert_eq!(memory.in_process.execute_ready.bytes_per_call, 0.0);

    let text = std::fs::read_to_string(fixtures().join("memory.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["demo_process"]["naive"] = serde_json::json!({"unavailable": "cannot start the demo"});
    let memory = figures::parse_memory(&value.to_string()).unwrap();
    assert_eq!(
        memory.demo_process.naive.runs().unwrap_err(),
        "cannot start the demo"
    );
    value["schema"] = serde_json::json!(2);
    assert!(figures::parse_memory(&value.to_string()).is_err());
}

#[test]
fn memcheck_summaries() {
    let dir = fixtures();
    assert!(matches!(
        figures::read_memcheck(&dir.join("memcheck-clean.json")),
        Ok(CheckSummary::Ran { findings: 0, .. })
    ));
    assert!(matches!(
        figures::read_memcheck(&dir.join("memcheck-findings.json")),
        Ok(CheckSummary::Ran { findings: 2, .. })
    ));
    let contradiction = figures::read_memcheck(&dir.join("memcheck-contradiction.json"));
    assert!(contradiction.unwrap_err().contains("contradicts"));
    let missing = figures::read_memcheck(&dir.join("no-such-summary.json")).unwrap();
    assert!(
        matches!(&missing, CheckSummary::NotRun(reason) if reason.contains("cargo xtask memcheck")),
        "{missing:?}"
    );
}

#[test]
fn instruction_counts_from_bencher_metric_format_and_nested_json() {
    let bmf = figures::read_instructions(&fixtures().join("baseline-bmf.json")).unwrap();
    assert_eq!(
        bmf.get("instructions: execute_baseline::ready"),
        Some(&1148.0)
    );
    let xtask_bench =
        figures::read_instructions(&fixtures().join("baseline-gungraun.json")).unwrap();
    assert_eq!(
        xtask_bench.get("instructions: naive_vs_global::global_execute::global_execute"),
        Some(&131.0)
    );
    assert_eq!(
        xtask_bench
            .get("heap bytes allocated (DHAT): memory_pressure::build_runtime::build_runtime"),
        Some(&27402.0)
    );
    assert_eq!(xtask_bench.len(), 3);
    let nested = figures::parse_instructions(
        r#"{"version": 1, "benchmarks": {"execute/ready": {"ir": 1175, "heap": {"bytes": 0}}}}"#,
    )
    .unwrap();
    assert_eq!(
        nested.get("instructions: benchmarks/execute/ready"),
        Some(&1175.0)
    );
    assert!(figures::parse_instructions(r#"{"foo": 1}"#).is_err());
    let absent = figures::read_instructions(&fixtures().join("no-baseline.json")).unwrap_err();
    assert!(absent.starts_with("not available"), "{absent}");
}

#[test]
fn the_fixture_run_passes_every_slo_but_memcheck_was_not_run() {
    let report = table::evaluate(&fixture_figures("no-such-summary.json"));
    for row in &report.rows {
        if row.name == "memcheck clean" {
            assert_eq!(row.verdict(), Some(Verdict::NotMeasured));
        } else if row.slo.is_some() {
            assert_eq!(row.verdict(), Some(Verdict::Pass), "{row:?}");
        }
    }
    // Not run is never a pass: the overall verdict is incomplete, exit 2.
    assert!(matches!(&report.overall, Overall::Incomplete { reasons } if reasons.len() == 1));
    assert_eq!(report.overall.exit_code(), 2);
    assert!(report.overall.line().starts_with("INCOMPLETE"));
}

#[test]
fn the_fixture_run_with_a_clean_memcheck_is_go_and_names_the_goals_it_misses() {
    let report = table::evaluate(&fixture_figures("memcheck-clean.json"));
    assert_eq!(report.overall, Overall::Go { misses: vec![] });
    assert_eq!(report.overall.exit_code(), 0);
    let missed = report.goals_missed();
    // 23.1 ns > 20 ns; 21.8 / 49.4 = 0.44 > 0.4.
    assert_eq!(missed.len(), 2, "{missed:?}");
    assert!(missed[0].starts_with("execute() overhead"), "{missed:?}");
    assert!(missed[1].contains("block_on"), "{missed:?}");
    let speedup = report
        .rows
        .iter()
        .find(|r| r.name.starts_with("speedup"))
        .unwrap();
    let value = speedup.measured.as_ref().unwrap().value;
    assert!(
        (value - 797_064.12 / 21.79).abs() / value < 0.001,
        "{value}"
    );
    assert_eq!(speedup.goal_status(), GoalStatus::Met);
}

#[test]
fn memcheck_findings_are_no_go() {
    let report = table::evaluate(&fixture_figures("memcheck-findings.json"));
    assert_eq!(verdict_of(&report, "memcheck"), Some(Verdict::NoGo));
    assert_eq!(
        report.overall,
        Overall::NoGo {
            rows: vec!["memcheck clean".to_owned()]
        }
    );
    assert_eq!(report.overall.exit_code(), 1);
}

#[test]
fn a_memcheck_summary_of_another_commit_is_not_measured() {
    let mut figures = fixture_figures("memcheck-clean.json");
    figures.head_commit = Some("fedcba9876543210fedcba9876543210fedcba98".to_owned());
    let report = table::evaluate(&figures);
    assert_eq!(verdict_of(&report, "memcheck"), Some(Verdict::NotMeasured));
    assert_eq!(report.overall.exit_code(), 2);
    figures.head_commit = Some("0123456789abcdef0123456789abcdef01234567".to_owned());
    assert_eq!(table::evaluate(&figures).overall.exit_code(), 0);
}

#[test]
fn loom_and_stress_results_make_the_race_row() {
    let dir = fixtures();
    let row = "no deadlocks or race conditions";
    // Clean (the fixture default) passes; the detail names the suites.
    let report = table::evaluate(&fixture_figures("memcheck-clean.json"));
    assert_eq!(verdict_of(&report, row), Some(Verdict::Pass));
    let found = figures::read_race_checks(&dir.join("loom-clean.json")).unwrap();
    assert!(
        matches!(&found, CheckSummary::Ran { findings: 0, detail, .. } if detail.contains("loom models")),
        "{found:?}"
    );
    // A failed suite is NO-GO.
    let mut figures = fixture_figures("memcheck-clean.json");
    figures.race_checks = figures::read_race_checks(&dir.join("loom-failed.json"));
    let report = table::evaluate(&figures);
    assert_eq!(verdict_of(&report, row), Some(Verdict::NoGo));
    assert_eq!(report.overall.exit_code(), 1);
    // Not run, or run at another commit, is never a pass.
    figures.race_checks = figures::read_race_checks(&dir.join("no-such-summary.json"));
    let report = table::evaluate(&figures);
    assert_eq!(verdict_of(&report, row), Some(Verdict::NotMeasured));
    assert_eq!(report.overall.exit_code(), 2);
    let mut figures = fixture_figures("memcheck-clean.json");
    figures.head_commit = Some("fedcba9876543210fedcba9876543210fedcba98".to_owned());
    let report = table::evaluate(&figures);
    assert_eq!(verdict_of(&report, row), Some(Verdict::NotMeasured));
    assert!(figures::parse_race_checks(r#"{"passed": true}"#).is_err());
}

#[test]
fn thresholds_between_target_and_no_go_line_are_a_miss() {
    let mut figures = fixture_figures("memcheck-clean.json");
    // execute: target < 10 µs, NO-GO > 100 µs.
    set_estimate(&mut figures, table::EXECUTE_READY, 50_000.0);
    // startup: target < 100 ms, NO-GO > 500 ms; exactly 500 ms is not past the line.
    set_estimate(&mut figures, table::STARTUP_FRESH, 500e6);
    let report = table::evaluate(&figures);
    assert_eq!(
        verdict_of(&report, "execute() overhead"),
        Some(Verdict::Miss)
    );
    assert_eq!(verdict_of(&report, "startup"), Some(Verdict::Miss));
    assert!(matches!(&report.overall, Overall::Go { misses } if misses.len() == 2));
    assert_eq!(report.overall.exit_code(), 0);
    assert!(report.overall.line().contains("2 rows missing"));
}

#[test]
fn no_go_lines() {
    let mut figures = fixture_figures("no-such-summary.json");
    // 10 threads: exactly 100 ns misses "< 100 ns", and that row has no separate NO-GO line.
    set_estimate(&mut figures, "execute_concurrent/thread_cpu/10", 100.0);
    // The wall-clock figure is context only: it never decides the verdict.
    set_estimate(&mut figures, "execute_concurrent/threads/10", 1e6);
    // speedup: naive 1 ms / execute 20 µs = 50× < 100×.
    set_estimate(&mut figures, table::NVG_NAIVE, 1e6);
    set_estimate(&mut figures, table::NVG_EXECUTE, 20_000.0);
    let report = table::evaluate(&figures);
    assert_eq!(
        verdict_of(&report, "per-call CPU time, 10"),
        Some(Verdict::NoGo)
    );
    assert_eq!(verdict_of(&report, "speedup"), Some(Verdict::NoGo));
    // NO-GO wins over a figure that was not measured (memcheck here).
    assert!(matches!(&report.overall, Overall::NoGo { rows } if rows.len() == 2));
    assert_eq!(report.overall.exit_code(), 1);
}

#[test]
fn a_missing_benchmark_is_not_measured_with_its_reason() {
    let mut figures = fixture_figures("memcheck-clean.json");
    figures.criterion.remove(table::STARTUP_FRESH);
    figures.memory = Err("target/slo/memory.json: not found".to_owned());
    let report = table::evaluate(&figures);
    assert_eq!(verdict_of(&report, "startup"), Some(Verdict::NotMeasured));
    assert_eq!(verdict_of(&report, "peak RSS"), Some(Verdict::NotMeasured));
    let Overall::Incomplete { reasons } = &report.overall else {
        panic!("{:?}", report.overall);
    };
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("memory.json"), "{reasons:?}");
    assert!(
        reasons[1].contains("no criterion result for startup_time/"),
        "{reasons:?}"
    );
}

#[test]
fn every_reference_bridge_is_a_context_row_and_a_chart_bar() {
    // The ready-future peers `execute` is read against, with the name the chart gives each.
    const BRIDGES: [(&str, &str); 4] = [
        (table::NVG_RUNTIME_BLOCK_ON, "Runtime::block_on"),
        (table::NVG_HANDLE_BLOCK_ON, "Handle::block_on"),
        (table::NVG_FUTURES_BLOCK_ON, "futures_executor::block_on"),
        (table::NVG_POLLSTER_BLOCK_ON, "pollster::block_on"),
    ];
    let figures = fixture_figures("no-such-summary.json");
    let report = table::evaluate(&figures);
    let chart = super::chart::per_call_cost(&figures).unwrap();
    let row_from = |report: &table::Report, id: &str| {
        report
            .context
            .iter()
            .find(|row| row.source == id)
            .unwrap_or_else(|| panic!("no context row from {id}"))
            .clone()
    };
    for (id, name) in BRIDGES {
        let row = row_from(&report, id);
        assert!(row.name.contains(name), "{row:?}");
        let measured = row.measured.as_ref().unwrap();
        assert_eq!(measured.value, figures.estimate(id).unwrap().point);
        assert!(chart.contains(name), "no bar named {name}");

        // A missing figure stays in the table as not measured, and leaves the chart out.
        let mut partial = figures.clone();
        partial.criterion.remove(id);
        let report = table::evaluate(&partial);
        assert!(row_from(&report, id).measured.is_err());
        let text = table::render(&report, &[], false);
        assert!(
            text.contains(&format!("not measured: no criterion result for {id}")),
            "{text}"
        );
        let err = super::chart::per_call_cost(&partial).unwrap_err();
        assert!(err.to_string().contains(id), "{err}");
    }
}

#[test]
fn bounds_and_formatting() {
    assert!(Bound::new(Op::Lt, 10.0).holds(9.9));
    assert!(!Bound::new(Op::Lt, 10.0).holds(10.0));
    assert!(Bound::new(Op::Le, 10.0).holds(10.0));
    assert!(Bound::new(Op::Ge, 5000.0).holds(5000.0));
    assert_eq!(Bound::new(Op::Lt, 10_000.0).display(Unit::Nanos), "< 10 µs");
    assert_eq!(Bound::new(Op::Gt, 500e6).display(Unit::Nanos), "> 500 ms");
    assert_eq!(Bound::new(Op::Le, 20.0).display(Unit::Nanos), "≤ 20 ns");
    assert_eq!(Bound::new(Op::Ge, 5000.0).display(Unit::Ratio), "≥ 5,000×");
    assert_eq!(Bound::new(Op::Le, 0.4).display(Unit::Ratio), "≤ 0.4×");
    assert_eq!(Bound::new(Op::Lt, 10e6).display(Unit::Bytes), "< 10 MB");
    assert_eq!(
        Bound::new(Op::Lt, 1.0).display(Unit::Findings),
        "0 findings"
    );
    assert_eq!(table::format_value(23.095, Unit::Nanos), "23.1 ns");
    assert_eq!(table::format_value(63_428.1, Unit::Nanos), "63.43 µs");
    assert_eq!(table::format_value(36_579.4, Unit::Ratio), "36,579×");
    assert_eq!(table::format_value(0.4414, Unit::Ratio), "0.44×");
    assert_eq!(table::format_value(1_234_567.0, Unit::Count), "1,234,567");
    assert_eq!(table::format_value(3_518_464.0, Unit::Bytes), "3.52 MB");
}

#[test]
fn text_and_markdown_tables_carry_every_row_and_the_verdict() {
    let report = table::evaluate(&fixture_figures("no-such-summary.json"));
    let header = ["machine: test".to_owned()];
    let text = table::render(&report, &header, false);
    let markdown = table::render(&report, &header, true);
    for row in report.rows.iter().chain(&report.context) {
        assert!(text.contains(&row.name), "{}", row.name);
        assert!(markdown.contains(&row.name), "{}", row.name);
    }
    assert!(text.contains("Overall: INCOMPLETE"));
    assert!(text.contains("not run"));
    assert!(markdown.contains("**Overall: INCOMPLETE"));
    // Every markdown table line has the same number of cells as its header.
    for table in markdown.split("\n\n").filter(|b| b.starts_with('|')) {
        let cells = |line: &str| line.matches(" | ").count();
        let mut lines = table.lines();
        let head = cells(lines.next().unwrap());
        for line in lines.skip(1) {
            assert_eq!(cells(line), head, "{line}");
        }
    }
    // Instruction counts, when present, are shown as context with their source.
    assert!(text.contains("instructions: execute_baseline::ready"));
}

#[test]
fn charts_render_from_the_fixture_run() {
    let figures = fixture_figures("no-such-summary.json");
    let per_call = super::chart::per_call_cost(&figures).unwrap();
    assert!(per_call.starts_with("<svg"), "{}", &per_call[..40]);
    assert!(per_call.contains("naive::execute"));
    let concurrent = super::chart::concurrent_latency(&figures).unwrap();
    assert!(concurrent.contains("<svg") && concurrent.contains("100 ns"));

    let mut partial = figures.clone();
    partial.criterion.remove("execute_concurrent/threads/16");
    let err = super::chart::concurrent_latency(&partial).unwrap_err();
    assert!(err.to_string().contains("threads/16"), "{err}");
}

/// One point of a boundary table: a measured value and the verdict it must get.
struct Case {
    name: &'static str,
    value: f64,
    want: Verdict,
}

const fn case(name: &'static str, value: f64, want: Verdict) -> Case {
    Case { name, value, want }
}

/// Every SLO row's target and NO-GO line, probed just under, exactly at and just past each,
/// with the comparison `evaluate` defines (strict `<`/`>` or inclusive `≥`).
const BOUNDARIES: &[(&str, &[Case])] = &[
    (
        // target < 10 µs, NO-GO > 100 µs: exactly 100 µs is a miss, not NO-GO.
        "execute() overhead",
        &[
            case("under the target", 9_999.0, Verdict::Pass),
            case("at the target", 10_000.0, Verdict::Miss),
            case("past the target", 10_001.0, Verdict::Miss),
            case("under the NO-GO line", 99_999.0, Verdict::Miss),
            case("at the NO-GO line", 100_000.0, Verdict::Miss),
            case("past the NO-GO line", 100_001.0, Verdict::NoGo),
        ],
    ),
    (
        // target < 100 ns, NO-GO ≥ 100 ns: the two lines coincide, so missing is NO-GO.
        "per-call CPU time, 10",
        &[
            case("under the target", 99.9, Verdict::Pass),
            case("at the target and the NO-GO line", 100.0, Verdict::NoGo),
            case("past the NO-GO line", 100.1, Verdict::NoGo),
        ],
    ),
    (
        // target < 10 MB, NO-GO ≥ 10 MB (decimal: 10,000,000 bytes).
        "peak RSS",
        &[
            case("under the target", 9_999_999.0, Verdict::Pass),
            case("at the target and the NO-GO line", 10e6, Verdict::NoGo),
            case("past the NO-GO line", 10_000_001.0, Verdict::NoGo),
        ],
    ),
    (
        // target < 100 ms, NO-GO > 500 ms.
        "startup",
        &[
            case("under the target", 100e6 - 1.0, Verdict::Pass),
            case("at the target", 100e6, Verdict::Miss),
            case("past the target", 100e6 + 1.0, Verdict::Miss),
            case("under the NO-GO line", 500e6 - 1.0, Verdict::Miss),
            case("at the NO-GO line", 500e6, Verdict::Miss),
            case("past the NO-GO line", 500e6 + 1.0, Verdict::NoGo),
        ],
    ),
    (
        // Higher is better: target > 1,000×, NO-GO < 100×.
        "speedup",
        &[
            case("better than the target", 1_000.1, Verdict::Pass),
            case("at the target", 1_000.0, Verdict::Miss),
            case("short of the target", 999.9, Verdict::Miss),
            case("above the NO-GO line", 100.1, Verdict::Miss),
            case("at the NO-GO line", 100.0, Verdict::Miss),
            case("past the NO-GO line", 99.9, Verdict::NoGo),
        ],
    ),
    (
        // target 0 findings (< 1), NO-GO ≥ 1 finding; findings are whole numbers.
        "memcheck",
        &[
            case("no finding", 0.0, Verdict::Pass),
            case("one finding", 1.0, Verdict::NoGo),
            case("two findings", 2.0, Verdict::NoGo),
        ],
    ),
    (
        // target 0 failed suites (< 1), NO-GO ≥ 1; suites are whole numbers.
        "no deadlocks or race conditions",
        &[
            case("every suite passed", 0.0, Verdict::Pass),
            case("one suite failed", 1.0, Verdict::NoGo),
            case("two suites failed", 2.0, Verdict::NoGo),
        ],
    ),
];

/// The row `evaluate` builds whose name starts with `name_start`, measuring `value`.
fn row_measuring(report: &table::Report, name_start: &str, value: f64) -> table::Row {
    let mut row = report
        .rows
        .iter()
        .find(|row| row.name.starts_with(name_start))
        .unwrap_or_else(|| panic!("no row starting with {name_start:?}"))
        .clone();
    row.measured = Ok(table::Measured {
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
    for (kib, want) in [(9_765, Verdict::Pass), (9_766, Verdict::NoGo)] {
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

/// The line of a rendered text table whose first cell starts with `start`.
fn line_starting<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines()
        .find(|line| line.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in\n{text}"))
}

/// Character column of `needle` in `line`.
fn column(line: &str, needle: &str) -> usize {
    let byte = line
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {line:?}"));
    line[..byte].chars().count()
}

#[test]
fn labels_of_verdicts_and_the_overall_line() {
    assert_eq!(Verdict::Pass.label(), "PASS");
    assert_eq!(Verdict::Miss.label(), "MISS");
    assert_eq!(Verdict::NoGo.label(), "NO-GO");
    assert_eq!(Verdict::NotMeasured.label(), "NOT MEASURED");
    assert_eq!(Overall::Go { misses: vec![] }.line(), "GO");
    assert_eq!(
        Overall::Go {
            misses: vec!["startup".to_owned()]
        }
        .line(),
        "GO (1 row missing its target without reaching NO-GO: startup)"
    );
}

#[test]
fn text_table_cells_are_aligned_and_carry_value_interval_verdict_and_goal() {
    let report = table::evaluate(&fixture_figures("no-such-summary.json"));
    let text = table::render(&report, &[], false);
    let header = line_starting(&text, "SLO  ");
    let execute = line_starting(&text, "execute() overhead");
    // Every column starts where its header does.
    assert_eq!(
        column(header, "target"),
        column(execute, "< 10 µs"),
        "{text}"
    );
    assert_eq!(column(header, "verdict"), column(execute, "PASS"), "{text}");
    // The measured value with its 95 % interval, and the goal's status.
    let ready = fixture_figures("no-such-summary.json")
        .estimate(table::EXECUTE_READY)
        .unwrap();
    let measured = format!(
        "{} [{} – {}]",
        table::format_value(ready.point, Unit::Nanos),
        table::format_value(ready.lower, Unit::Nanos),
        table::format_value(ready.upper, Unit::Nanos)
    );
    assert!(execute.contains(&measured), "{execute}");
    assert!(execute.contains("  missed  "), "{execute}");
    assert!(
        line_starting(&text, "startup:").contains("  met  "),
        "{text}"
    );
    // Not run (memcheck) and not measured are told apart in the measured cell.
    assert!(line_starting(&text, "memcheck clean").contains("  not run  "));
    let mut figures = fixture_figures("no-such-summary.json");
    figures.criterion.remove(table::STARTUP_FRESH);
    figures.instructions = Err("not available: no baseline here".to_owned());
    let text = table::render(&table::evaluate(&figures), &[], false);
    let startup = line_starting(&text, "startup:");
    assert!(startup.contains("  not measured  "), "{startup}");
    assert!(!startup.contains("not run"), "{startup}");
    // A context reason that already says "not ..." is shown as it is.
    let instructions = line_starting(&text, "instruction counts and heap figures");
    assert!(
        instructions.contains("  not available: no baseline here"),
        "{instructions}"
    );
    assert!(!instructions.contains("not measured"), "{instructions}");
}

#[test]
fn ratios_carry_the_extreme_interval_and_refuse_a_zero_denominator() {
    let mut figures = fixture_figures("memcheck-clean.json");
    set_estimate(&mut figures, table::NVG_NAIVE, 1e6);
    set_estimate(&mut figures, table::NVG_EXECUTE, 20_000.0);
    let report = table::evaluate(&figures);
    let speedup = report
        .rows
        .iter()
        .find(|r| r.name.starts_with("speedup"))
        .unwrap();
    let measured = speedup.measured.as_ref().unwrap();
    assert_eq!(measured.value, 50.0);
    let (lo, hi) = measured.interval.unwrap();
    assert!((lo - 0.95e6 / 21_000.0).abs() < 1e-9, "{lo}");
    assert!((hi - 1.05e6 / 19_000.0).abs() < 1e-9, "{hi}");

    // A lower bound of zero in the denominator is refused even with a positive point.
    figures.criterion.insert(
        table::NVG_EXECUTE.to_owned(),
        Ok(Estimate {
            point: 20.0,
            lower: 0.0,
            upper: 30.0,
        }),
    );
    let report = table::evaluate(&figures);
    let speedup = report
        .rows
        .iter()
        .find(|r| r.name.starts_with("speedup"))
        .unwrap();
    assert_eq!(
        speedup.measured.as_ref().unwrap_err(),
        "a zero time in the denominator"
    );
}

#[test]
fn context_rows_thread_counts_and_cpu_time_rows() {
    let report = table::evaluate(&fixture_figures("memcheck-clean.json"));
    let context = |name: &str| {
        report
            .context
            .iter()
            .find(|row| row.name == name)
            .unwrap_or_else(|| panic!("no context row {name:?}"))
    };
    // The fixture's three global runs created 5, 6 and 5 threads.
    let threads = context("OS threads created, 280 commands, global");
    let measured = threads.measured.as_ref().unwrap();
    assert_eq!(measured.value, 6.0);
    assert_eq!(measured.note.as_deref(), Some("5–6 over 3 runs"));
    // The 10-thread CPU time is an SLO row, so it is not repeated as context.
    for threads in table::CONCURRENT_THREADS {
        let name = format!("per-call CPU time, {threads} concurrent thread(s)");
        let present = report.context.iter().any(|row| row.name == name);
        assert_eq!(present, threads != 10, "{name}");
    }
}

#[test]
fn a_memcheck_summary_of_another_commit_names_both_short_commits() {
    let mut figures = fixture_figures("memcheck-clean.json");
    figures.head_commit = Some("fedcba9876543210fedcba9876543210fedcba98".to_owned());
    let report = table::evaluate(&figures);
    let row = report
        .rows
        .iter()
        .find(|r| r.name == "memcheck clean")
        .unwrap();
    let reason = row.measured.as_ref().unwrap_err();
    assert!(
        reason.contains("commit 0123456789, HEAD is fedcba9876:"),
        "{reason}"
    );
}

#[test]
fn values_and_limits_change_unit_exactly_at_each_boundary() {
    let cases: [(f64, Unit, &str); 16] = [
        (999.0, Unit::Bytes, "999 B"),
        (1_000.0, Unit::Bytes, "1.0 kB"),
        (999_000.0, Unit::Bytes, "999.0 kB"),
        (1e6, Unit::Bytes, "1.00 MB"),
        (2.5, Unit::Count, "2.5"),
        (3.0, Unit::Findings, "3"),
        (99.5, Unit::Ratio, "99.50×"),
        (100.0, Unit::Ratio, "100×"),
        (999.9, Unit::Nanos, "999.9 ns"),
        (1_000.0, Unit::Nanos, "1.00 µs"),
        (999_990.0, Unit::Nanos, "999.99 µs"),
        (1e6, Unit::Nanos, "1.00 ms"),
        (5e8, Unit::Nanos, "500.00 ms"),
        (999_990_000.0, Unit::Nanos, "999.99 ms"),
        (1e9, Unit::Nanos, "1.00 s"),
        (2.5e9, Unit::Nanos, "2.50 s"),
    ];
    for (value, unit, want) in cases {
        assert_eq!(table::format_value(value, unit), want, "{value} {unit:?}");
    }
    assert_eq!(Bound::new(Op::Lt, 999.0).display(Unit::Nanos), "< 999 ns");
    assert_eq!(Bound::new(Op::Lt, 1_000.0).display(Unit::Nanos), "< 1 µs");
    assert_eq!(Bound::new(Op::Lt, 1e6).display(Unit::Nanos), "< 1 ms");
    assert_eq!(
        Bound::new(Op::Ge, 1.0).display(Unit::Findings),
        "≥ 1 finding"
    );
    assert_eq!(
        Bound::new(Op::Gt, 0.0).display(Unit::Findings),
        "≥ 1 finding"
    );
    assert_eq!(
        Bound::new(Op::Le, 0.0).display(Unit::Findings),
        "0 findings"
    );
    assert_eq!(Bound::new(Op::Lt, 2.0).display(Unit::Findings), "< 2");
}
