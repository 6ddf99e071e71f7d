//! The table as text and markdown, the formatting of values and bounds, and the charts.

use super::fixture_figures;
use crate::slo::chart;
use crate::slo::table;
use crate::slo::table::model::{Bound, Op, Overall, SloReport, SloVerdict, Unit};
use crate::slo::table::render::{bound_text, format_value, overall_line};
use globalrt_bench_support::contract::{
    EXECUTE_READY, NVG_FUTURES_BLOCK_ON, NVG_HANDLE_BLOCK_ON, NVG_POLLSTER_BLOCK_ON,
    NVG_RUNTIME_BLOCK_ON, STARTUP_FRESH,
};

#[test]
fn every_reference_bridge_is_a_context_row_and_a_chart_bar() {
    // The ready-future peers `execute` is read against, with the name the chart gives each.
    const BRIDGES: [(&str, &str); 4] = [
        (NVG_RUNTIME_BLOCK_ON.full, "Runtime::block_on"),
        (NVG_HANDLE_BLOCK_ON.full, "Handle::block_on"),
        (NVG_FUTURES_BLOCK_ON.full, "futures_executor::block_on"),
        (NVG_POLLSTER_BLOCK_ON.full, "pollster::block_on"),
    ];
    let figures = fixture_figures("no-such-summary.json");
    let report = table::evaluate(&figures);
    let chart = chart::per_call_cost(&figures).unwrap();
    let row_from = |report: &SloReport, id: &str| {
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
        let err = chart::per_call_cost(&partial).unwrap_err();
        assert!(err.to_string().contains(id), "{err}");
    }
}

#[test]
fn bounds_and_formatting() {
    assert!(Bound::new(Op::Lt, 10.0).holds(9.9));
    assert!(!Bound::new(Op::Lt, 10.0).holds(10.0));
    assert!(Bound::new(Op::Le, 10.0).holds(10.0));
    assert!(Bound::new(Op::Ge, 5000.0).holds(5000.0));
    assert_eq!(
        bound_text(&Bound::new(Op::Lt, 10_000.0), Unit::Nanos),
        "< 10 µs"
    );
    assert_eq!(
        bound_text(&Bound::new(Op::Gt, 500e6), Unit::Nanos),
        "> 500 ms"
    );
    assert_eq!(
        bound_text(&Bound::new(Op::Le, 20.0), Unit::Nanos),
        "≤ 20 ns"
    );
    assert_eq!(
        bound_text(&Bound::new(Op::Ge, 5000.0), Unit::Ratio),
        "≥ 5,000×"
    );
    assert_eq!(bound_text(&Bound::new(Op::Le, 0.4), Unit::Ratio), "≤ 0.4×");
    assert_eq!(
        bound_text(&Bound::new(Op::Lt, 10e6), Unit::Bytes),
        "< 10 MB"
    );
    assert_eq!(
        bound_text(&Bound::new(Op::Lt, 1.0), Unit::Findings),
        "0 findings"
    );
    assert_eq!(format_value(23.095, Unit::Nanos), "23.1 ns");
    assert_eq!(format_value(63_428.1, Unit::Nanos), "63.43 µs");
    assert_eq!(format_value(36_579.4, Unit::Ratio), "36,579×");
    assert_eq!(format_value(0.4414, Unit::Ratio), "0.44×");
    assert_eq!(format_value(1_234_567.0, Unit::Count), "1,234,567");
    assert_eq!(format_value(3_518_464.0, Unit::Bytes), "3.52 MB");
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
    assert!(text.contains("instructions: naive_vs_global::global_execute::global_execute"));
}

#[test]
fn labels_of_verdicts_and_the_overall_line() {
    assert_eq!(SloVerdict::Pass.label(), "PASS");
    assert_eq!(SloVerdict::Miss.label(), "MISS");
    assert_eq!(SloVerdict::NoGo.label(), "NO-GO");
    assert_eq!(SloVerdict::NotMeasured.label(), "NOT MEASURED");
    assert_eq!(overall_line(&Overall::Go { misses: vec![] }), "GO");
    assert_eq!(
        overall_line(&Overall::Go {
            misses: vec!["startup".to_owned()]
        }),
        "GO (1 row missing its target without reaching NO-GO: startup)"
    );
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
        .estimate(EXECUTE_READY.full)
        .unwrap();
    let measured = format!(
        "{} [{} – {}]",
        format_value(ready.point, Unit::Nanos),
        format_value(ready.lower, Unit::Nanos),
        format_value(ready.upper, Unit::Nanos)
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
    figures.criterion.remove(STARTUP_FRESH.full);
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
        assert_eq!(format_value(value, unit), want, "{value} {unit:?}");
    }
    assert_eq!(
        bound_text(&Bound::new(Op::Lt, 999.0), Unit::Nanos),
        "< 999 ns"
    );
    assert_eq!(
        bound_text(&Bound::new(Op::Lt, 1_000.0), Unit::Nanos),
        "< 1 µs"
    );
    assert_eq!(bound_text(&Bound::new(Op::Lt, 1e6), Unit::Nanos), "< 1 ms");
    assert_eq!(
        bound_text(&Bound::new(Op::Ge, 1.0), Unit::Findings),
        "≥ 1 finding"
    );
    assert_eq!(
        bound_text(&Bound::new(Op::Gt, 0.0), Unit::Findings),
        "≥ 1 finding"
    );
    assert_eq!(
        bound_text(&Bound::new(Op::Le, 0.0), Unit::Findings),
        "0 findings"
    );
    assert_eq!(bound_text(&Bound::new(Op::Lt, 2.0), Unit::Findings), "< 2");
}

#[test]
fn charts_render_from_the_fixture_run() {
    let figures = fixture_figures("no-such-summary.json");
    let per_call = chart::per_call_cost(&figures).unwrap();
    assert!(per_call.starts_with("<svg"), "{}", &per_call[..40]);
    assert!(per_call.contains("naive::execute"));
    let concurrent = chart::concurrent_latency(&figures).unwrap();
    assert!(concurrent.contains("<svg") && concurrent.contains("100 ns"));

    let mut partial = figures.clone();
    partial.criterion.remove("execute_concurrent/threads/16");
    let err = chart::concurrent_latency(&partial).unwrap_err();
    assert!(err.to_string().contains("threads/16"), "{err}");
}

#[test]
fn the_counting_allocators_figures_are_context_rows() {
    let report = table::evaluate(&fixture_figures("no-such-summary.json"));
    let value = |field: &str| {
        let row = report
            .context
            .iter()
            .find(|row| row.source.ends_with(&format!("in_process.{field}")))
            .unwrap_or_else(|| panic!("no context row from in_process.{field}"));
        row.measured.as_ref().unwrap().value
    };
    // The fixture's memory.json.
    assert_eq!(value("execute_ready"), 0.0);
    assert_eq!(value("one_command_global"), 23.3);
    assert_eq!(value("one_command_naive"), 81.6);
    assert_eq!(value("batch_global"), 2016.0);
    assert_eq!(value("batch_naive"), 29604.0);
}
