//! The table as text or markdown: values with their units, bounds, verdict labels, the
//! overall line, and the report around the two tables.

use std::fmt::Write as _;

use super::model::{
    Bound, GoalStatus, Measured, NS_PER_MS, NS_PER_US, Op, Overall, SloReport, SloRow, SloVerdict,
    Unit,
};
use crate::util::TextTable;

/// A bound as the table prints it: `< 10 µs`, `≥ 5,000×`, `0 findings`.
pub(crate) fn bound_text(bound: &Bound, unit: Unit) -> String {
    if unit == Unit::Findings {
        return match (bound.op, bound.limit) {
            (Op::Lt, 1.0) | (Op::Le, 0.0) => "0 findings".to_owned(),
            (Op::Ge, 1.0) | (Op::Gt, 0.0) => "≥ 1 finding".to_owned(),
            _ => format!("{} {}", op_symbol(bound.op), bound.limit),
        };
    }
    format!(
        "{} {}",
        op_symbol(bound.op),
        format_limit(bound.limit, unit)
    )
}

fn op_symbol(op: Op) -> &'static str {
    match op {
        Op::Lt => "<",
        Op::Le => "≤",
        Op::Gt => ">",
        Op::Ge => "≥",
    }
}

impl SloVerdict {
    pub(crate) fn label(self) -> &'static str {
        match self {
            SloVerdict::Pass => "PASS",
            SloVerdict::Miss => "MISS",
            SloVerdict::NoGo => "NO-GO",
            SloVerdict::NotMeasured => "NOT MEASURED",
        }
    }
}

impl GoalStatus {
    pub(crate) fn label(self) -> &'static str {
        match self {
            GoalStatus::Met => "met",
            GoalStatus::Missed => "missed",
            GoalStatus::NotMeasured => "—",
            GoalStatus::NoGoal => "",
        }
    }
}

/// A measured value with its interval and note, as the table prints it.
pub(crate) fn measured_text(measured: &Measured) -> String {
    let mut text = format_value(measured.value, measured.unit);
    if let Some((lo, hi)) = measured.interval {
        let _ = write!(
            text,
            " [{} – {}]",
            format_value(lo, measured.unit),
            format_value(hi, measured.unit)
        );
    }
    if let Some(note) = &measured.note {
        let _ = write!(text, " ({note})");
    }
    text
}

/// The overall verdict in one line: `GO`, `NO-GO (rows)`, `INCOMPLETE, not GO (reasons)`.
pub(crate) fn overall_line(overall: &Overall) -> String {
    match overall {
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

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

impl SloReport {
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
                    bound_text(&goal, measured.unit)
                )
            })
            .collect()
    }
}

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

fn slo_cells(row: &SloRow) -> [String; 8] {
    let unit = row.unit;
    let (target, no_go) = match row.slo {
        Some(slo) => (bound_text(&slo.target, unit), bound_text(&slo.no_go, unit)),
        None => ("—".to_owned(), "—".to_owned()),
    };
    let measured = match &row.measured {
        Ok(m) => measured_text(m),
        Err(reason) if reason.starts_with("not run") => "not run".to_owned(),
        Err(_) => "not measured".to_owned(),
    };
    [
        row.name.clone(),
        measured,
        target,
        no_go,
        row.verdict()
            .map_or("goal only", SloVerdict::label)
            .to_owned(),
        row.goal.map_or(String::new(), |g| bound_text(&g, unit)),
        row.goal_status().label().to_owned(),
        row.source.clone(),
    ]
}

fn context_cells(row: &SloRow) -> [String; 3] {
    let measured = match &row.measured {
        Ok(m) => measured_text(m),
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
pub(crate) fn render(report: &SloReport, header: &[String], markdown: bool) -> String {
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
    let _ = writeln!(
        out,
        "\n{bold}Overall: {}{bold}",
        overall_line(&report.overall)
    );
    let _ = writeln!(out, "{gap}Own goals missed: {goals_line}\n");
    let _ = writeln!(out, "Context (no SLO):{gap}");
    out += &table(&["figure", "measured [95% CI]", "from"], &context);
    out
}
