//! The SLO table: its rows and their verdicts (`model`), which figure each row reads and
//! what it must meet (`rules`), and the table as text or markdown (`render`). Pure
//! functions of [`Figures`](super::figures::Figures): the tests feed them fixtures.

mod model;
mod render;
mod rules;

pub(crate) use model::{Bound, GoalStatus, Measured, Op, Overall, Report, Row, Unit, Verdict};
pub(crate) use render::{format_nanos, format_value, render};
pub(crate) use rules::evaluate;
