//! The rules: which figure each row reads, its SLO and its own goal, and how the rows make
//! the overall verdict. Pure functions of [`Figures`]; the tests feed them fixtures.

use super::model::{
    Bound, Measured, NS_PER_MS, NS_PER_US, Op, Overall, SloReport, SloRow, SloTarget, SloVerdict,
    Unit,
};
use super::render::plural;

mod context;

use crate::slo::figures::{CheckSummary, Estimate, Figures};
use crate::util::short_commit as short;
use context::context_rows;
use globalrt_bench_support::contract::{
    BenchId, CONCURRENT_CPU, CONCURRENT_SCOPE_CPU, DemoRun, EXECUTE_READY, NVG_EXECUTE, NVG_NAIVE,
    NVG_RUNTIME_BLOCK_ON, STARTUP_FRESH,
};

/// Where the memory rows' figures come from, as the table names it.
const MEMORY_SOURCE: &str = "memory_pressure (target/slo/memory.json)";
/// The caller count whose CPU time per call is an SLO (the others are context).
const SLO_THREADS: u32 = 10;
/// The widest caller count the suite sweeps, whose scaling is the project's own goal.
const MOST_THREADS: u32 = 16;
/// The seed's "linear scaling": per-call CPU time at many callers within this factor of
/// one caller's, through a scope's token.
const FLAT: f64 = 1.25;

fn from_estimate(estimate: Estimate) -> Measured {
    Measured {
        value: estimate.point,
        unit: Unit::Nanos,
        interval: Some((estimate.lower, estimate.upper)),
        note: None,
    }
}

/// `a / b` of two estimates, with the interval from the extremes of their intervals.
fn ratio(figures: &Figures, a: BenchId, b: BenchId) -> Result<Measured, String> {
    ratio_of(figures, a.full, b.full)
}

/// [`ratio`] of two results by their full criterion ids.
fn ratio_of(figures: &Figures, a: &str, b: &str) -> Result<Measured, String> {
    let a = figures.estimate(a)?;
    let b = figures.estimate(b)?;
    if b.point <= 0.0 || b.lower <= 0.0 {
        return Err("a zero time in the denominator".to_owned());
    }
    Ok(Measured {
        value: a.point / b.point,
        unit: Unit::Ratio,
        interval: Some((a.lower / b.upper, a.upper / b.lower)),
        note: None,
    })
}

/// The demo process's runs in one mode (`global` or naive).
fn demo_runs(figures: &Figures, global: bool) -> Result<&[DemoRun], String> {
    let memory = figures.memory.as_ref().map_err(Clone::clone)?;
    if global {
        memory.demo_process.global.runs()
    } else {
        memory.demo_process.naive.runs()
    }
}

/// Peak RSS of the demo at 280 commands in one mode: the highest of its runs, in bytes.
fn demo_peak_rss(figures: &Figures, global: bool) -> Result<Measured, String> {
    let runs = demo_runs(figures, global)?;
    let mut peak = 0;
    for run in runs {
        peak = peak.max(
            run.peak_rss_kib
                .ok_or("the demo could not read its peak RSS (no VmHWM in /proc/self/status)")?,
        );
    }
    Ok(Measured {
        value: peak as f64 * 1024.0,
        unit: Unit::Bytes,
        interval: None,
        note: Some(format!(
            "highest of {}, {} commands",
            plural(runs.len(), "run"),
            runs[0].commands
        )),
    })
}

fn demo_threads(figures: &Figures, global: bool) -> Result<Measured, String> {
    let runs = demo_runs(figures, global)?;
    let most = runs.iter().map(|r| r.threads_created).max().unwrap_or(0);
    let least = runs.iter().map(|r| r.threads_created).min().unwrap_or(0);
    let mut measured = Measured::plain(most as f64, Unit::Count);
    measured.note = Some(if most == least {
        format!("{} commands", runs[0].commands)
    } else {
        format!("{least}–{most} over {} runs", runs.len())
    });
    Ok(measured)
}

fn memcheck_row(figures: &Figures) -> Result<Measured, String> {
    summary_row(
        figures,
        &figures.memcheck,
        "memcheck",
        "cargo xtask memcheck",
    )
}

fn race_checks_row(figures: &Figures) -> Result<Measured, String> {
    summary_row(figures, &figures.race_checks, "loom", "cargo xtask loom")
}

/// A row read from a checking command's summary: its count of findings, valid only when
/// the summary was written at HEAD.
fn summary_row(
    figures: &Figures,
    summary: &Result<CheckSummary, String>,
    tool: &str,
    rerun: &str,
) -> Result<Measured, String> {
    let (findings, commit, detail) = match summary.as_ref().map_err(Clone::clone)? {
        CheckSummary::NotRun(reason) => return Err(reason.clone()),
        CheckSummary::Ran {
            findings,
            commit,
            detail,
        } => (*findings, commit, detail),
    };
    if let (Some(summary), Some(head)) = (commit, &figures.head_commit)
        && summary != head
    {
        return Err(format!(
            "the {tool} summary is for commit {}, HEAD is {}: rerun `{rerun}`",
            short(summary),
            short(head)
        ));
    }
    let mut measured = Measured::plain(findings as f64, Unit::Findings);
    measured.note = Some(detail.clone());
    Ok(measured)
}

/// Builds the table from the figures: the SLOs the project was founded on and its own goals.
pub(crate) fn evaluate(figures: &Figures) -> SloReport {
    let mut rows = call_cost_rows(figures);
    rows.extend(process_rows(figures));
    rows.extend(check_rows(figures));
    let context = context_rows(figures);
    let overall = overall(&rows);
    SloReport {
        rows,
        context,
        overall,
    }
}

fn lt(limit: f64) -> Bound {
    Bound::new(Op::Lt, limit)
}

fn gt(limit: f64) -> Bound {
    Bound::new(Op::Gt, limit)
}

/// What one call costs: alone, against tokio's own `block_on`, and among concurrent callers.
fn call_cost_rows(figures: &Figures) -> Vec<SloRow> {
    let concurrent_cpu = CONCURRENT_CPU.at(SLO_THREADS);
    let scope_cpu = CONCURRENT_SCOPE_CPU.at(SLO_THREADS);
    let scope_one = CONCURRENT_SCOPE_CPU.at(1);
    let scope_most = CONCURRENT_SCOPE_CPU.at(MOST_THREADS);
    vec![
        SloRow {
            name: "execute() overhead, ready future".to_owned(),
            unit: Unit::Nanos,
            source: EXECUTE_READY.full.to_owned(),
            measured: figures.estimate(EXECUTE_READY.full).map(from_estimate),
            slo: Some(SloTarget {
                target: lt(10.0 * NS_PER_US),
                no_go: gt(100.0 * NS_PER_US),
            }),
            goal: Some(Bound::new(Op::Le, 20.0)),
        },
        SloRow {
            name: "execute() ÷ plain Runtime::block_on, same run".to_owned(),
            unit: Unit::Ratio,
            source: format!("{} ÷ {}", NVG_EXECUTE.full, NVG_RUNTIME_BLOCK_ON.full),
            measured: ratio(figures, NVG_EXECUTE, NVG_RUNTIME_BLOCK_ON),
            slo: None,
            goal: Some(Bound::new(Op::Le, 0.4)),
        },
        SloRow {
            name: format!("per-call CPU time, {SLO_THREADS} concurrent threads"),
            unit: Unit::Nanos,
            measured: figures.estimate(&concurrent_cpu).map(from_estimate),
            source: concurrent_cpu,
            // CPU time, not wall clock: with more threads than cores the wall clock mostly
            // measures the scheduler (the wall-clock figure is in the context table).
            // This SLO has no separate NO-GO line: missing the target is NO-GO.
            slo: Some(SloTarget {
                target: lt(100.0),
                no_go: Bound::new(Op::Ge, 100.0),
            }),
            goal: Some(Bound::new(Op::Le, 100.0)),
        },
        SloRow {
            name: format!("per-call CPU time, {SLO_THREADS} concurrent threads, through a scope"),
            unit: Unit::Nanos,
            measured: figures.estimate(&scope_cpu).map(from_estimate),
            source: scope_cpu.clone(),
            slo: Some(SloTarget {
                target: lt(100.0),
                no_go: Bound::new(Op::Ge, 100.0),
            }),
            goal: Some(Bound::new(Op::Le, 10.0)),
        },
        SloRow {
            name: format!(
                "linear scaling: per-call CPU, {SLO_THREADS} threads ÷ 1, through a scope"
            ),
            unit: Unit::Ratio,
            measured: ratio_of(figures, &scope_cpu, &scope_one),
            source: format!("{scope_cpu} ÷ {scope_one}"),
            // Flat per-call cost is what linear total cost means; missing it is NO-GO.
            slo: Some(SloTarget {
                target: Bound::new(Op::Le, FLAT),
                no_go: gt(FLAT),
            }),
            goal: Some(Bound::new(Op::Le, FLAT)),
        },
        SloRow {
            name: format!("per-call CPU, {MOST_THREADS} threads ÷ 1, through a scope"),
            unit: Unit::Ratio,
            measured: ratio_of(figures, &scope_most, &scope_one),
            source: format!("{scope_most} ÷ {scope_one}"),
            slo: None,
            goal: Some(Bound::new(Op::Le, FLAT)),
        },
    ]
}

/// What a program pays for the shared runtime: memory, startup, and the gain over naive.
fn process_rows(figures: &Figures) -> Vec<SloRow> {
    vec![
        SloRow {
            name: "peak RSS, 280-command batch (demo process)".to_owned(),
            unit: Unit::Bytes,
            source: format!("{MEMORY_SOURCE}: demo --mode global"),
            measured: demo_peak_rss(figures, true),
            slo: Some(SloTarget {
                target: lt(10e6),
                no_go: Bound::new(Op::Ge, 10e6),
            }),
            goal: None,
        },
        SloRow {
            name: "startup: runtime build + first execute".to_owned(),
            unit: Unit::Nanos,
            source: STARTUP_FRESH.full.to_owned(),
            measured: figures.estimate(STARTUP_FRESH.full).map(from_estimate),
            slo: Some(SloTarget {
                target: lt(100.0 * NS_PER_MS),
                no_go: gt(500.0 * NS_PER_MS),
            }),
            goal: Some(Bound::new(Op::Le, 200.0 * NS_PER_US)),
        },
        SloRow {
            name: "speedup over naive (ready future)".to_owned(),
            unit: Unit::Ratio,
            source: format!("{} ÷ {}", NVG_NAIVE.full, NVG_EXECUTE.full),
            measured: ratio(figures, NVG_NAIVE, NVG_EXECUTE),
            slo: Some(SloTarget {
                target: gt(1000.0),
                no_go: lt(100.0),
            }),
            goal: Some(Bound::new(Op::Ge, 5000.0)),
        },
    ]
}

/// The checking commands: memcheck, and loom with the stress tests. Zero findings pass.
fn check_rows(figures: &Figures) -> Vec<SloRow> {
    let clean = Some(SloTarget {
        target: lt(1.0),
        no_go: Bound::new(Op::Ge, 1.0),
    });
    vec![
        SloRow {
            name: "memcheck clean".to_owned(),
            unit: Unit::Findings,
            source: "cargo xtask memcheck (target/memcheck/summary.json)".to_owned(),
            measured: memcheck_row(figures),
            slo: clean,
            goal: None,
        },
        SloRow {
            name: "no deadlocks or race conditions".to_owned(),
            unit: Unit::Findings,
            source: "cargo xtask loom: loom models + stress tests (target/loom/summary.json)"
                .to_owned(),
            measured: race_checks_row(figures),
            slo: clean,
            goal: None,
        },
    ]
}

fn overall(rows: &[SloRow]) -> Overall {
    let named = |wanted: SloVerdict| -> Vec<String> {
        rows.iter()
            .filter(|row| row.verdict() == Some(wanted))
            .map(|row| row.name.clone())
            .collect()
    };
    let no_go = named(SloVerdict::NoGo);
    if !no_go.is_empty() {
        return Overall::NoGo { rows: no_go };
    }
    let reasons: Vec<String> = rows
        .iter()
        .filter(|row| row.verdict() == Some(SloVerdict::NotMeasured))
        .map(|row| {
            format!(
                "{}: {}",
                row.name,
                row.measured.as_ref().err().map_or("", String::as_str)
            )
        })
        .collect();
    if !reasons.is_empty() {
        return Overall::Incomplete { reasons };
    }
    Overall::Go {
        misses: named(SloVerdict::Miss),
    }
}
