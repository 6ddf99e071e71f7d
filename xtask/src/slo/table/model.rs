//! What the table is made of: units, bounds, SLOs, rows and verdicts, and how a measured
//! value is judged against them. No figures are read and nothing is printed here.

use crate::exit::Exit;

/// Nanoseconds in a microsecond and in a millisecond.
pub(crate) const NS_PER_US: f64 = 1e3;
pub(crate) const NS_PER_MS: f64 = 1e6;

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
}

/// An SLO: the target to meet, and the condition that is NO-GO. Between the two, the row
/// misses its target without stopping a release.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SloTarget {
    pub(crate) target: Bound,
    pub(crate) no_go: Bound,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SloVerdict {
    Pass,
    /// Misses the target but is not past the NO-GO line.
    Miss,
    NoGo,
    NotMeasured,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GoalStatus {
    Met,
    Missed,
    NotMeasured,
    NoGoal,
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
    pub(crate) fn plain(value: f64, unit: Unit) -> Measured {
        Measured {
            value,
            unit,
            interval: None,
            note: None,
        }
    }
}

/// One line of the table.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SloRow {
    pub(crate) name: String,
    /// The benchmark(s) or file the figure comes from.
    pub(crate) source: String,
    /// The unit of the figure and of its bounds (also when it was not measured).
    pub(crate) unit: Unit,
    pub(crate) measured: Result<Measured, String>,
    pub(crate) slo: Option<SloTarget>,
    pub(crate) goal: Option<Bound>,
}

impl SloRow {
    pub(crate) fn verdict(&self) -> Option<SloVerdict> {
        let slo = self.slo?;
        Some(match &self.measured {
            Err(_) => SloVerdict::NotMeasured,
            Ok(m) if slo.no_go.holds(m.value) => SloVerdict::NoGo,
            Ok(m) if slo.target.holds(m.value) => SloVerdict::Pass,
            Ok(_) => SloVerdict::Miss,
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
    pub(crate) fn exit_code(&self) -> Exit {
        match self {
            Overall::Go { .. } => Exit::Passed,
            Overall::NoGo { .. } => Exit::Failed,
            Overall::Incomplete { .. } => Exit::NotRun,
        }
    }
}

/// The table: SLO rows (with a verdict), then figures shown for context (no verdict).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SloReport {
    pub(crate) rows: Vec<SloRow>,
    pub(crate) context: Vec<SloRow>,
    pub(crate) overall: Overall,
}
