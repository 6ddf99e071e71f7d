//! The verdicts `evaluate` gives the fixture run and its variations, and the overall line.

use super::{fixture_figures, fixtures, set_estimate, verdict_of};
use crate::exit::Exit;
use crate::slo::figures::{self, CheckSummary, Estimate};
use crate::slo::table;
use crate::slo::table::model::{GoalStatus, Overall, SloVerdict};
use crate::slo::table::render::overall_line;
use globalrt_bench_support::contract::{
    CONCURRENT_THREADS, EXECUTE_READY, NVG_EXECUTE, NVG_NAIVE, STARTUP_FRESH,
};

#[test]
fn the_fixture_run_passes_every_slo_but_memcheck_was_not_run() {
    let report = table::evaluate(&fixture_figures("no-such-summary.json"));
    for row in &report.rows {
        if row.name == "memcheck clean" {
            assert_eq!(row.verdict(), Some(SloVerdict::NotMeasured));
        } else if row.slo.is_some() {
            assert_eq!(row.verdict(), Some(SloVerdict::Pass), "{row:?}");
        }
    }
    // Not run is never a pass: the overall verdict is incomplete, exit 2.
    assert!(matches!(&report.overall, Overall::Incomplete { reasons } if reasons.len() == 1));
    assert_eq!(report.overall.exit_code(), Exit::NotRun);
    assert!(overall_line(&report.overall).starts_with("INCOMPLETE"));
}

#[test]
fn the_fixture_run_with_a_clean_memcheck_is_go_and_names_the_goals_it_misses() {
    let report = table::evaluate(&fixture_figures("memcheck-clean.json"));
    assert_eq!(report.overall, Overall::Go { misses: vec![] });
    assert_eq!(report.overall.exit_code(), Exit::Passed);
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
    assert_eq!(verdict_of(&report, "memcheck"), Some(SloVerdict::NoGo));
    assert_eq!(
        report.overall,
        Overall::NoGo {
            rows: vec!["memcheck clean".to_owned()]
        }
    );
    assert_eq!(report.overall.exit_code(), Exit::Failed);
}

#[test]
fn a_memcheck_summary_of_another_commit_is_not_measured() {
    let mut figures = fixture_figures("memcheck-clean.json");
    figures.head_commit = Some("fedcba9876543210fedcba9876543210fedcba98".to_owned());
    let report = table::evaluate(&figures);
    assert_eq!(
        verdict_of(&report, "memcheck"),
        Some(SloVerdict::NotMeasured)
    );
    assert_eq!(report.overall.exit_code(), Exit::NotRun);
    figures.head_commit = Some("0123456789abcdef0123456789abcdef01234567".to_owned());
    assert_eq!(table::evaluate(&figures).overall.exit_code(), Exit::Passed);
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
fn loom_and_stress_results_make_the_race_row() {
    let dir = fixtures();
    let row = "no deadlocks or race conditions";
    // Clean (the fixture default) passes; the detail names the suites.
    let report = table::evaluate(&fixture_figures("memcheck-clean.json"));
    assert_eq!(verdict_of(&report, row), Some(SloVerdict::Pass));
    let found = figures::read_race_checks(&dir.join("loom-clean.json")).unwrap();
    assert!(
        matches!(&found, CheckSummary::Ran { findings: 0, detail, .. } if detail.contains("loom models")),
        "{found:?}"
    );
    // A failed suite is NO-GO.
    let mut figures = fixture_figures("memcheck-clean.json");
    figures.race_checks = figures::read_race_checks(&dir.join("loom-failed.json"));
    let report = table::evaluate(&figures);
    assert_eq!(verdict_of(&report, row), Some(SloVerdict::NoGo));
    assert_eq!(report.overall.exit_code(), Exit::Failed);
    // Not run, or run at another commit, is never a pass.
    figures.race_checks = figures::read_race_checks(&dir.join("no-such-summary.json"));
    let report = table::evaluate(&figures);
    assert_eq!(verdict_of(&report, row), Some(SloVerdict::NotMeasured));
    assert_eq!(report.overall.exit_code(), Exit::NotRun);
    let mut figures = fixture_figures("memcheck-clean.json");
    figures.head_commit = Some("fedcba9876543210fedcba9876543210fedcba98".to_owned());
    let report = table::evaluate(&figures);
    assert_eq!(verdict_of(&report, row), Some(SloVerdict::NotMeasured));
    assert!(figures::parse_race_checks(r#"{"passed": true}"#).is_err());
}

#[test]
fn thresholds_between_target_and_no_go_line_are_a_miss() {
    let mut figures = fixture_figures("memcheck-clean.json");
    // execute: target < 10 µs, NO-GO > 100 µs.
    set_estimate(&mut figures, EXECUTE_READY.full, 50_000.0);
    // startup: target < 100 ms, NO-GO > 500 ms; exactly 500 ms is not past the line.
    set_estimate(&mut figures, STARTUP_FRESH.full, 500e6);
    let report = table::evaluate(&figures);
    assert_eq!(
        verdict_of(&report, "execute() overhead"),
        Some(SloVerdict::Miss)
    );
    assert_eq!(verdict_of(&report, "startup"), Some(SloVerdict::Miss));
    assert!(matches!(&report.overall, Overall::Go { misses } if misses.len() == 2));
    assert_eq!(report.overall.exit_code(), Exit::Passed);
    assert!(overall_line(&report.overall).contains("2 rows missing"));
}

#[test]
fn no_go_lines() {
    let mut figures = fixture_figures("no-such-summary.json");
    // 10 threads: exactly 100 ns misses "< 100 ns", and that row has no separate NO-GO line.
    set_estimate(&mut figures, "execute_concurrent/thread_cpu/10", 100.0);
    // The wall-clock figure is context only: it never decides the verdict.
    set_estimate(&mut figures, "execute_concurrent/threads/10", 1e6);
    // speedup: naive 1 ms / execute 20 µs = 50× < 100×.
    set_estimate(&mut figures, NVG_NAIVE.full, 1e6);
    set_estimate(&mut figures, NVG_EXECUTE.full, 20_000.0);
    let report = table::evaluate(&figures);
    assert_eq!(
        verdict_of(&report, "per-call CPU time, 10"),
        Some(SloVerdict::NoGo)
    );
    assert_eq!(verdict_of(&report, "speedup"), Some(SloVerdict::NoGo));
    // NO-GO wins over a figure that was not measured (memcheck here).
    assert!(matches!(&report.overall, Overall::NoGo { rows } if rows.len() == 2));
    assert_eq!(report.overall.exit_code(), Exit::Failed);
}

#[test]
fn a_missing_benchmark_is_not_measured_with_its_reason() {
    let mut figures = fixture_figures("memcheck-clean.json");
    figures.criterion.remove(STARTUP_FRESH.full);
    figures.memory = Err("target/slo/memory.json: not found".to_owned());
    let report = table::evaluate(&figures);
    assert_eq!(
        verdict_of(&report, "startup"),
        Some(SloVerdict::NotMeasured)
    );
    assert_eq!(
        verdict_of(&report, "peak RSS"),
        Some(SloVerdict::NotMeasured)
    );
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
fn ratios_carry_the_extreme_interval_and_refuse_a_zero_denominator() {
    let mut figures = fixture_figures("memcheck-clean.json");
    set_estimate(&mut figures, NVG_NAIVE.full, 1e6);
    set_estimate(&mut figures, NVG_EXECUTE.full, 20_000.0);
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
        NVG_EXECUTE.full.to_owned(),
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
    for threads in CONCURRENT_THREADS {
        let name = format!("per-call CPU time, {threads} concurrent thread(s)");
        let present = report.context.iter().any(|row| row.name == name);
        assert_eq!(present, threads != 10, "{name}");
    }
}
