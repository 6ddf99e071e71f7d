//! The SLO table: its rows and their verdicts (`model`), which figure each row reads and
//! what it must meet (`rules`), and the table as text or markdown (`render`). Pure
//! functions of [`Figures`](super::figures::Figures): the tests feed them fixtures.

pub(crate) mod model;
pub(crate) mod render;
mod rules;

pub(crate) use model::Overall;
pub(crate) use render::{format_nanos, render};
pub(crate) use rules::evaluate;
