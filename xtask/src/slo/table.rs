//! The SLO rows, their verdicts and the overall verdict, computed from [`Figures`], and
//! the table in text or markdown. Pure functions: the tests feed them fixtures.

use std::fmt::Write as _;

use super::figures::{CheckSummary, Estimate, Figures};
use crate::util::{TextTable, short_commit as short};

/// What a figure measures, which decides how it is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Nanos,
    /// Bytes, printed in decimal MB (10 MB = 10,000,000 bytes).
    Bytes,
    Ratio,
    Count,
    /// Memcheck findings: 0 is clean.
    Findings,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

/// A condition on a measured value, e.g. `< 10 µs`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Bound {
    pub(crate) op: Op,
    pub(crate) limit: f64,
}

impl Bound {
    pub(crate) const fn new(op: Op, limit: f64) -> Bound {
        Bound { op, limit }
    }

    pub(crate) fn holds(&self, value: f64) -> bool {
        match self.op {
            Op::Lt => value < self.limit,
            Op::Le => value <= self.limit,
            Op::Gt => value > self.limit,
            Op::Ge => value >= self.limit,
        }
    }

    pub(crate) fn display(&self, unit: Unit) -> String {
        if unit == Unit::Findings {
            return match (self.op, self.limit) {
                (Op::Lt, 1.0) | (Op::Le, 0.0) => "0 findings".to_owned(),
                (Op::Ge, 1.0) | (Op::Gt, 0.0) => "≥ 1 finding".to_owned(),
                _ => format!("{} {}", op_symbol(self.op), self.limit),
            };
        }
        format!("{} {}", op_symbol(self.op), format_limit(self.limit, unit))
    }
}

fn op_symbol(op: Op) -> &'static str {
    match op {
        Op::Lt => "<",
        Op::Le => "≤",
        Op::Gt => ">",
        Op::Ge => "≥",
    }
}

/// An SLO: the target to meet, and the condition that is NO-GO. Between the two, the row
/// misses its target without stopping a release.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Slo {
    pub(crate) target: Bound,
    pub(crate) no_go: Bound,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    /// Misses the target but is not past the NO-GO line.
    Miss,
    NoGo,
    NotMeasured,
}

impl Verdict {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Miss => "MISS",
            Verdict::NoGo => "NO-GO",
            Verdict::NotMeasured => "NOT MEASURED",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GoalStatus {
    Met,
    Missed,
    NotMeasured,
    NoGoal,
}

impl GoalStatus {
    fn label(self) -> &'static str {
        match self {
            GoalStatus::Met => "met",
            GoalStatus::Missed => "missed",
            GoalStatus::NotMeasured => "—",
            GoalStatus::NoGoal => "",
        }
    }
}

/// A measured value with what it is and, when known, its 95 % confidence interval.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Measured {
    pub(crate) value: f64,
    pub(crate) unit: Unit,
    pub(crate) interval: Option<(f64, f64)>,
    pub(crate) note: Option<String>,
}

impl Measured {
    fn plain(value: f64, unit: Unit) -> Measured {
        Measured {
            value,
            unit,
            interval: None,
            note: None,
        }
    }

    fn display(&self) -> String {
        let mut text = format_value(self.value, self.unit);
        if let Some((lo, hi)) = self.interval {
            let _ = write!(
                text,
                " [{} – {}]",
                format_value(lo, self.unit),
                format_value(hi, self.unit)
            );
        }
        if let Some(note) = &self.note {
            let _ = write!(text, " ({note})");
        }
        text
    }
}

/// One line of the table.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Row {
    pub(crate) name: String,
    /// The benchmark(s) or file the figure comes from.
    pub(crate) source: String,
    /// The unit of the figure and of its bounds (also when it was not measured).
    pub(crate) unit: Unit,
    pub(crate) measured: Result<Measured, String>,
    pub(crate) slo: Option<Slo>,
    pub(crate) goal: Option<Bound>,
}

impl Row {
    pub(crate) fn verdict(&self) -> Option<Verdict> {
        let slo = self.slo?;
        Some(match &self.measured {
            Err(_) => Verdict::NotMeasured,
            Ok(m) if slo.no_go.holds(m.value) => Verdict::NoGo,
            Ok(m) if slo.target.holds(m.value) => Verdict::Pass,
            Ok(_) => Verdict::Miss,
        })
    }

    pub(crate) fn goal_status(&self) -> GoalStatus {
        match (&self.goal, &self.measured) {
            (None, _) => GoalStatus::NoGoal,
            (Some(_), Err(_)) => GoalStatus::NotMeasured,
            (Some(goal), Ok(m)) if goal.holds(m.value) => GoalStatus::Met,
            (Some(_), Ok(_)) => GoalStatus::Missed,
        }
    }

    fn unit(&self) -> Unit {
        self.unit
    }
}

/// The overall verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Overall {
    /// No SLO at its NO-GO line and every SLO figure measured; `misses` names the rows
    /// that miss their target without reaching the NO-GO line.
    Go { misses: Vec<String> },
    /// At least one SLO at or past its NO-GO line (whatever else is missing).
    NoGo { rows: Vec<String> },
    /// No NO-GO, but an SLO figure could not be measured (memcheck not run included):
    /// never reported as GO.
    Incomplete { reasons: Vec<String> },
}

impl Overall {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Overall::Go { .. } => 0,
            Overall::NoGo { .. } => 1,
            Overall::Incomplete { .. } => 2,
        }
    }

    pub(crate) fn line(&self) -> String {
        match self {
            Overall::Go { misses } if misses.is_empty() => "GO".to_owned(),
            Overall::Go { misses } => format!(
                "GO ({} missing its target without reaching NO-GO: {})",
                plural(misses.len(), "row"),
                misses.join(", ")
            ),
            Overall::NoGo { rows } => format!("NO-GO ({})", rows.join(", ")),
            Overall::Incomplete { reasons } => {
                format!("INCOMPLETE, not GO ({})", reasons.join("; "))
            }
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The table: SLO rows (with a verdict), then figures shown for context (no verdict).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Report {
    pub(crate) rows: Vec<Row>,
    pub(crate) context: Vec<Row>,
    pub(crate) overall: Overall,
}

impl Report {
    /// The rows (SLO or goal-only) whose figure misses this project's own goal.
    pub(crate) fn goals_missed(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter(|row| row.goal_status() == GoalStatus::Missed)
            .map(|row| {
                let goal = row.goal.expect("a missed goal exists");
                let measured = row.measured.as_ref().expect("a missed goal was measured");
                format!(
                    "{}: {} (goal {})",
                    row.name,
                    format_value(measured.value, measured.unit),
                    goal.display(measured.unit)
                )
            })
            .collect()
    }
}

// Benchmark ids the table reads (benches/runtime_overhead.rs).
pub(crate) const EXECUTE_READY: &str = "execute_baseline/ready";
pub(crate) const NVG_EXECUTE: &str = "naive_vs_global/execute";
pub(crate) const NVG_RUNTIME_BLOCK_ON: &str = "naive_vs_global/runtime_block_on";
pub(crate) const NVG_HANDLE_BLOCK_ON: &str = "naive_vs_global/handle_block_on";
pub(crate) const NVG_FUTURES_BLOCK_ON: &str = "naive_vs_global/futures_block_on";
pub(crate) const NVG_POLLSTER_BLOCK_ON: &str = "naive_vs_global/pollster_block_on";
pub(crate) const NVG_NAIVE: &str = "naive_vs_global/naive_execute";
/// `execute_concurrent/threads/N`: wall-clock latency per call, one caller of N.
pub(crate) const CONCURRENT_WALL: &str = "execute_concurrent/threads/";
/// `execute_concurrent/thread_cpu/N`: CPU time per call on the calling thread, one of N.
pub(crate) const CONCURRENT_CPU: &str = "execute_concurrent/thread_cpu/";
pub(crate) const CONCURRENT_THREADS: [u32; 5] = [1, 2, 4, 10, 16];
pub(crate) const STARTUP_FRESH: &str = "startup_time/fresh_runtime_first_execute";
const STARTUP_PROCESS_GLOBAL: &str = "startup_time/demo_process_1_command/global";
const STARTUP_PROCESS_NAIVE: &str = "startup_time/demo_process_1_command/naive";
const BATCH_GLOBAL: &str = "realistic_workloads/batch_280/global";
const BATCH_NAIVE: &str = "realistic_workloads/batch_280/naive";
const MEMORY_SOURCE: &str = "memory_pressure (target/slo/memory.json)";

const NS_PER_US: f64 = 1e3;
const NS_PER_MS: f64 = 1e6;

fn from_estimate(estimate: Estimate) -> Measured {
    Measured {
        value: estimate.point,
        unit: Unit::Nanos,
        interval: Some((estimate.lower, estimate.upper)),
        note: None,
    }
}

/// `a / b` of two estimates, with the interval from the extremes of their intervals.
fn ratio(figures: &Figures, a: &str, b: &str) -> Result<Measured, String> {
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

pub(crate) fn concurrent_id(prefix: &str, threads: u32) -> String {
    format!("{prefix}{threads}")
}

/// The demo process's runs in one mode (`global` or naive).
fn demo_runs(figures: &Figures, global: bool) -> Result<&[super::figures::DemoRun], String> {
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
pub(crate) fn evaluate(figures: &Figures) -> Report {
    let lt = |limit| Bound::new(Op::Lt, limit);
    let gt = |limit| Bound::new(Op::Gt, limit);
    let rows = vec![
        Row {
            name: "execute() overhead, ready future".to_owned(),
            unit: Unit::Nanos,
            source: EXECUTE_READY.to_owned(),
            measured: figures.estimate(EXECUTE_READY).map(from_estimate),
            slo: Some(Slo {
                target: lt(10.0 * NS_PER_US),
                no_go: gt(100.0 * NS_PER_US),
            }),
            goal: Some(Bound::new(Op::Le, 20.0)),
        },
        Row {
            name: "execute() ÷ plain Runtime::block_on, same run".to_owned(),
            unit: Unit::Ratio,
            source: format!("{NVG_EXECUTE} ÷ {NVG_RUNTIME_BLOCK_ON}"),
            measured: ratio(figures, NVG_EXECUTE, NVG_RUNTIME_BLOCK_ON),
            slo: None,
            goal: Some(Bound::new(Op::Le, 0.4)),
        },
        Row {
            name: "per-call CPU time, 10 concurrent threads".to_owned(),
            unit: Unit::Nanos,
            source: concurrent_id(CONCURRENT_CPU, 10),
            measured: figures
                .estimate(&concurrent_id(CONCURRENT_CPU, 10))
                .map(from_estimate),
            // CPU time, not wall clock: with more threads than cores the wall clock mostly
            // measures the scheduler (the wall-clock figure is in the context table).
            // This SLO has no separate NO-GO line: missing the target is NO-GO.
            slo: Some(Slo {
                target: lt(100.0),
                no_go: Bound::new(Op::Ge, 100.0),
            }),
            goal: Some(Bound::new(Op::Le, 100.0)),
        },
        Row {
            name: "peak RSS, 280-command batch (demo process)".to_owned(),
            unit: Unit::Bytes,
            source: format!("{MEMORY_SOURCE}: demo --mode global"),
            measured: demo_peak_rss(figures, true),
            slo: Some(Slo {
                target: lt(10e6),
                no_go: Bound::new(Op::Ge, 10e6),
            }),
            goal: None,
        },
        Row {
            name: "startup: runtime build + first execute".to_owned(),
            unit: Unit::Nanos,
            source: STARTUP_FRESH.to_owned(),
            measured: figures.estimate(STARTUP_FRESH).map(from_estimate),
            slo: Some(Slo {
                target: lt(100.0 * NS_PER_MS),
                no_go: gt(500.0 * NS_PER_MS),
            }),
            goal: Some(Bound::new(Op::Le, 200.0 * NS_PER_US)),
        },
        Row {
            name: "speedup over naive (ready future)".to_owned(),
            unit: Unit::Ratio,
            source: format!("{NVG_NAIVE} ÷ {NVG_EXECUTE}"),
            measured: ratio(figures, NVG_NAIVE, NVG_EXECUTE),
            slo: Some(Slo {
                target: gt(1000.0),
                no_go: lt(100.0),
            }),
            goal: Some(Bound::new(Op::Ge, 5000.0)),
        },
        Row {
            name: "memcheck clean".to_owned(),
            unit: Unit::Findings,
            source: "cargo xtask memcheck (target/memcheck/summary.json)".to_owned(),
            measured: memcheck_row(figures),
            slo: Some(Slo {
                target: lt(1.0),
                no_go: Bound::new(Op::Ge, 1.0),
            }),
            goal: None,
        },
        Row {
            name: "no deadlocks or race conditions".to_owned(),
            unit: Unit::Findings,
            source: "cargo xtask loom: loom models + stress tests (target/loom/summary.json)"
                .to_owned(),
            measured: race_checks_row(figures),
            slo: Some(Slo {
                target: lt(1.0),
                no_go: Bound::new(Op::Ge, 1.0),
            }),
            goal: None,
        },
    ];
    let context = context_rows(figures);
    let overall = overall(&rows);
    Report {
        rows,
        context,
        overall,
    }
}

fn context_row(name: &str, source: &str, measured: Result<Measured, String>) -> Row {
    Row {
        name: name.to_owned(),
        source: source.to_owned(),
        unit: measured.as_ref().map_or(Unit::Count, |m| m.unit),
        measured,
        slo: None,
        goal: None,
    }
}

fn context_rows(figures: &Figures) -> Vec<Row> {
    let est = |id: &str| figures.estimate(id).map(from_estimate);
    let mut rows = vec![
        context_row(
            "plain Runtime::block_on, ready future",
            NVG_RUNTIME_BLOCK_ON,
            est(NVG_RUNTIME_BLOCK_ON),
        ),
        context_row(
            "Handle::block_on (shared runtime), ready future",
            NVG_HANDLE_BLOCK_ON,
            est(NVG_HANDLE_BLOCK_ON),
        ),
        context_row(
            "futures_executor::block_on (no runtime), ready future",
            NVG_FUTURES_BLOCK_ON,
            est(NVG_FUTURES_BLOCK_ON),
        ),
        context_row(
            "pollster::block_on (no runtime), ready future",
            NVG_POLLSTER_BLOCK_ON,
            est(NVG_POLLSTER_BLOCK_ON),
        ),
        context_row("naive::execute, ready future", NVG_NAIVE, est(NVG_NAIVE)),
    ];
    for threads in CONCURRENT_THREADS {
        let id = concurrent_id(CONCURRENT_WALL, threads);
        rows.push(context_row(
            &format!("per-call wall-clock latency, {threads} concurrent thread(s)"),
            &id,
            est(&id),
        ));
        if threads != 10 {
            let id = concurrent_id(CONCURRENT_CPU, threads);
            rows.push(context_row(
                &format!("per-call CPU time, {threads} concurrent thread(s)"),
                &id,
                est(&id),
            ));
        }
    }
    rows.extend([
        context_row(
            "whole process: demo, 1 command, global",
            STARTUP_PROCESS_GLOBAL,
            est(STARTUP_PROCESS_GLOBAL),
        ),
        context_row(
            "whole process: demo, 1 command, naive",
            STARTUP_PROCESS_NAIVE,
            est(STARTUP_PROCESS_NAIVE),
        ),
        context_row(
            "280-command batch in-process, global",
            BATCH_GLOBAL,
            est(BATCH_GLOBAL),
        ),
        context_row(
            "280-command batch in-process, naive",
            BATCH_NAIVE,
            est(BATCH_NAIVE),
        ),
        context_row(
            "peak RSS, 280-command batch, naive (demo process)",
            &format!("{MEMORY_SOURCE}: demo --mode naive"),
            demo_peak_rss(figures, false),
        ),
        context_row(
            "OS threads created, 280 commands, global",
            &format!("{MEMORY_SOURCE}: demo --mode global"),
            demo_threads(figures, true),
        ),
        context_row(
            "OS threads created, 280 commands, naive",
            &format!("{MEMORY_SOURCE}: demo --mode naive"),
            demo_threads(figures, false),
        ),
    ]);
    let heap = |pick: fn(&super::figures::InProcess) -> f64, unit| {
        figures
            .memory
            .as_ref()
            .map(|m| Measured::plain(pick(&m.in_process), unit))
            .map_err(Clone::clone)
    };
    rows.extend([
        context_row(
            "heap bytes per execute(ready)",
            &format!("{MEMORY_SOURCE}: in_process.execute_ready"),
            heap(|p| p.execute_ready.bytes_per_call, Unit::Bytes),
        ),
        context_row(
            "heap allocations per demo command, global",
            &format!("{MEMORY_SOURCE}: in_process.one_command_global"),
            heap(|p| p.one_command_global.allocations_per_call, Unit::Count),
        ),
        context_row(
            "heap allocations per demo command, naive",
            &format!("{MEMORY_SOURCE}: in_process.one_command_naive"),
            heap(|p| p.one_command_naive.allocations_per_call, Unit::Count),
        ),
        context_row(
            "peak live heap, 280-command batch in-process, global",
            &format!("{MEMORY_SOURCE}: in_process.batch_global"),
            heap(|p| p.batch_global.peak_live_bytes as f64, Unit::Bytes),
        ),
        context_row(
            "peak live heap, 280-command batch in-process, naive",
            &format!("{MEMORY_SOURCE}: in_process.batch_naive"),
            heap(|p| p.batch_naive.peak_live_bytes as f64, Unit::Bytes),
        ),
    ]);
    match &figures.instructions {
        Ok(counts) => {
            for (name, count) in counts {
                rows.push(context_row(
                    name,
                    "benches/baseline.json (Valgrind)",
                    Ok(Measured::plain(
                        *count,
                        if name.starts_with("heap bytes") {
                            Unit::Bytes
                        } else {
                            Unit::Count
                        },
                    )),
                ));
            }
        }
        Err(reason) => rows.push(context_row(
            "instruction counts and heap figures (Valgrind)",
            "benches/baseline.json",
            Err(reason.clone()),
        )),
    }
    rows
}

fn overall(rows: &[Row]) -> Overall {
    let named = |wanted: Verdict| -> Vec<String> {
        rows.iter()
            .filter(|row| row.verdict() == Some(wanted))
            .map(|row| row.name.clone())
            .collect()
    };
    let no_go = named(Verdict::NoGo);
    if !no_go.is_empty() {
        return Overall::NoGo { rows: no_go };
    }
    let reasons: Vec<String> = rows
        .iter()
        .filter(|row| row.verdict() == Some(Verdict::NotMeasured))
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
        misses: named(Verdict::Miss),
    }
}

// ---------------------------------------------------------------------------------------
// Formatting

/// A value with its unit, e.g. `23.10 ns`, `1.16 ms`, `3.46 MB`, `13,402×`.
pub(crate) fn format_value(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Nanos => format_nanos(value),
        Unit::Bytes if value < 1e3 => format!("{value:.0} B"),
        Unit::Bytes if value < 1e6 => format!("{:.1} kB", value / 1e3),
        Unit::Bytes => format!("{:.2} MB", value / 1e6),
        Unit::Ratio if value >= 100.0 => {
            format!("{}×", crate::util::thousands(value.round() as u64))
        }
        Unit::Ratio => format!("{value:.2}×"),
        Unit::Count | Unit::Findings if value.fract() == 0.0 => {
            crate::util::thousands(value as u64)
        }
        Unit::Count | Unit::Findings => format!("{value:.1}"),
    }
}

pub(crate) fn format_nanos(ns: f64) -> String {
    if ns < NS_PER_US {
        format!("{ns:.1} ns")
    } else if ns < NS_PER_MS {
        format!("{:.2} µs", ns / NS_PER_US)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / NS_PER_MS)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// A limit without trailing zeros: `10 µs`, `0.4×`, `1,000×`, `10 MB`.
fn format_limit(limit: f64, unit: Unit) -> String {
    let trim = |v: f64| {
        let text = format!("{v:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    };
    match unit {
        Unit::Nanos if limit < NS_PER_US => format!("{} ns", trim(limit)),
        Unit::Nanos if limit < NS_PER_MS => format!("{} µs", trim(limit / NS_PER_US)),
        Unit::Nanos => format!("{} ms", trim(limit / NS_PER_MS)),
        Unit::Bytes => format!("{} MB", trim(limit / 1e6)),
        Unit::Ratio if limit >= 100.0 => format!("{}×", crate::util::thousands(limit as u64)),
        Unit::Ratio => format!("{}×", trim(limit)),
        Unit::Count | Unit::Findings => trim(limit),
    }
}

const SLO_HEADER: [&str; 8] = [
    "SLO",
    "measured [95% CI]",
    "target",
    "NO-GO line",
    "verdict",
    "own goal",
    "goal",
    "from",
];

fn slo_cells(row: &Row) -> [String; 8] {
    let unit = row.unit();
    let (target, no_go) = match row.slo {
        Some(slo) => (slo.target.display(unit), slo.no_go.display(unit)),
        None => ("—".to_owned(), "—".to_owned()),
    };
    let measured = match &row.measured {
        Ok(m) => m.display(),
        Err(reason) if reason.starts_with("not run") => "not run".to_owned(),
        Err(_) => "not measured".to_owned(),
    };
    [
        row.name.clone(),
        measured,
        target,
        no_go,
        row.verdict().map_or("goal only", Verdict::label).to_owned(),
        row.goal.map_or(String::new(), |g| g.display(unit)),
        row.goal_status().label().to_owned(),
        row.source.clone(),
    ]
}

fn context_cells(row: &Row) -> [String; 3] {
    let measured = match &row.measured {
        Ok(m) => m.display(),
        Err(reason) if reason.starts_with("not ") => reason.clone(),
        Err(reason) => format!("not measured: {reason}"),
    };
    [row.name.clone(), measured, row.source.clone()]
}

/// Aligned plain-text columns under a rule.
fn text_table(header: &[&str], rows: &[Vec<String>]) -> String {
    TextTable {
        header,
        align: &[],
        rule: true,
    }
    .render(rows)
}

fn markdown_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!(
        "| {} |\n|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
        out += &format!("| {} |\n", cells.join(" | "));
    }
    out
}

/// The whole report: `header` lines (machine, command), the SLO table, the overall
/// verdict, the goals missed, and the context figures.
pub(crate) fn render(report: &Report, header: &[String], markdown: bool) -> String {
    let slo_rows: Vec<Vec<String>> = report.rows.iter().map(|r| slo_cells(r).to_vec()).collect();
    let context: Vec<Vec<String>> = report
        .context
        .iter()
        .map(|r| context_cells(r).to_vec())
        .collect();
    let goals = report.goals_missed();
    let goals_line = if goals.is_empty() {
        "none".to_owned()
    } else {
        goals.join("; ")
    };
    let table = if markdown { markdown_table } else { text_table };
    let (title, bullet, bold, gap) = if markdown {
        ("### globalrt SLO report", "- ", "**", "\n")
    } else {
        ("globalrt SLO report", "  ", "", "")
    };
    let mut out = format!("{title}\n{gap}");
    for line in header {
        let _ = writeln!(out, "{bullet}{line}");
    }
    out += "\n";
    out += &table(&SLO_HEADER, &slo_rows);
    let _ = writeln!(out, "\n{bold}Overall: {}{bold}", report.overall.line());
    let _ = writeln!(out, "{gap}Own goals missed: {goals_line}\n");
    let _ = writeln!(out, "Context (no SLO):{gap}");
    out += &table(&["figure", "measured [95% CI]", "from"], &context);
    out
}
