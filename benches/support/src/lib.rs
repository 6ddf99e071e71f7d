//! The contract between globalrt's wall-clock suite and its xtask, as a crate of its own:
//! `benches/runtime_overhead.rs` and `benches/memory.rs` (dev-dependency of `globalrt`) and
//! `cargo xtask slo` (dependency of `xtask`) use the same definitions, so a benchmark
//! renamed or a figure added on one side cannot go unnoticed on the other: it stops
//! compiling. Never published.
//!
//! [`contract`] is what the suite writes and xtask reads; [`demo`] the demo helpers both
//! bench targets use; [`write_atomic`] the one atomic file write, which xtask's
//! `util::write_atomic` wraps and `benches/memory.rs` writes `memory.json` with.

pub mod contract;
pub mod demo;
mod write_atomic;

pub use write_atomic::write_atomic;
