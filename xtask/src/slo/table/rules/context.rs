//! The context rows: figures shown beside the SLOs, without a verdict.

use super::super::model::{Measured, SloRow, Unit};
use super::{MEMORY_SOURCE, SLO_THREADS, demo_peak_rss, demo_threads, from_estimate, ratio_of};
use crate::slo::figures::Figures;
use globalrt_bench_support::contract::{
    BATCH_GLOBAL, BATCH_NAIVE, CONCURRENT_CPU, CONCURRENT_SCOPE_CPU, CONCURRENT_THREADS,
    CONCURRENT_WALL, InProcess, NVG_FUTURES_BLOCK_ON, NVG_HANDLE_BLOCK_ON, NVG_NAIVE,
    NVG_POLLSTER_BLOCK_ON, NVG_RUNTIME_BLOCK_ON, STARTUP_PROCESS,
};

fn context_row(name: &str, source: &str, measured: Result<Measured, String>) -> SloRow {
    SloRow {
        name: name.to_owned(),
        source: source.to_owned(),
        unit: measured.as_ref().map_or(Unit::Count, |m| m.unit),
        measured,
        slo: None,
        goal: None,
    }
}

/// A context row of one criterion estimate.
fn estimate_row(figures: &Figures, name: &str, id: &str) -> SloRow {
    context_row(name, id, figures.estimate(id).map(from_estimate))
}

/// Figures shown beside the SLOs, without a verdict.
pub(super) fn context_rows(figures: &Figures) -> Vec<SloRow> {
    let mut rows = reference_rows(figures);
    rows.extend(concurrent_rows(figures));
    rows.extend(process_context_rows(figures));
    rows.extend(heap_rows(figures));
    rows.extend(instruction_rows(figures));
    rows
}

/// The other ways to run the same ready future.
fn reference_rows(figures: &Figures) -> Vec<SloRow> {
    [
        (
            "plain Runtime::block_on, ready future",
            NVG_RUNTIME_BLOCK_ON,
        ),
        (
            "Handle::block_on (shared runtime), ready future",
            NVG_HANDLE_BLOCK_ON,
        ),
        (
            "futures_executor::block_on (no runtime), ready future",
            NVG_FUTURES_BLOCK_ON,
        ),
        (
            "pollster::block_on (no runtime), ready future",
            NVG_POLLSTER_BLOCK_ON,
        ),
        ("naive::execute, ready future", NVG_NAIVE),
    ]
    .into_iter()
    .map(|(name, id)| estimate_row(figures, name, id.full))
    .collect()
}

/// Every caller count on both clocks, except the CPU time that is an SLO row.
fn concurrent_rows(figures: &Figures) -> Vec<SloRow> {
    let mut rows = Vec::new();
    for threads in CONCURRENT_THREADS {
        rows.push(estimate_row(
            figures,
            &format!("per-call wall-clock latency, {threads} concurrent thread(s)"),
            &CONCURRENT_WALL.at(threads),
        ));
        if threads != SLO_THREADS {
            rows.push(estimate_row(
                figures,
                &format!("per-call CPU time, {threads} concurrent thread(s)"),
                &CONCURRENT_CPU.at(threads),
            ));
            rows.push(estimate_row(
                figures,
                &format!("per-call CPU time, {threads} concurrent thread(s), through a scope"),
                &CONCURRENT_SCOPE_CPU.at(threads),
            ));
        }
    }
    let (execute_most, execute_one) = (CONCURRENT_CPU.at(SLO_THREADS), CONCURRENT_CPU.at(1));
    rows.push(context_row(
        &format!("per-call CPU, {SLO_THREADS} threads ÷ 1, execute"),
        &format!("{execute_most} ÷ {execute_one}"),
        ratio_of(figures, &execute_most, &execute_one),
    ));
    rows
}

/// Whole demo processes and in-process batches: time, peak RSS, threads.
fn process_context_rows(figures: &Figures) -> Vec<SloRow> {
    vec![
        estimate_row(
            figures,
            "whole process: demo, 1 command, global",
            &STARTUP_PROCESS.at("global"),
        ),
        estimate_row(
            figures,
            "whole process: demo, 1 command, naive",
            &STARTUP_PROCESS.at("naive"),
        ),
        estimate_row(
            figures,
            "280-command batch in-process, global",
            BATCH_GLOBAL.full,
        ),
        estimate_row(
            figures,
            "280-command batch in-process, naive",
            BATCH_NAIVE.full,
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
    ]
}

/// The counting allocator's figures.
fn heap_rows(figures: &Figures) -> Vec<SloRow> {
    type Pick = fn(&InProcess) -> f64;
    let rows: [(&str, &str, Pick, Unit); 5] = [
        (
            "heap bytes per execute(ready)",
            "execute_ready",
            |p| p.execute_ready.bytes_per_call,
            Unit::Bytes,
        ),
        (
            "heap allocations per demo command, global",
            "one_command_global",
            |p| p.one_command_global.allocations_per_call,
            Unit::Count,
        ),
        (
            "heap allocations per demo command, naive",
            "one_command_naive",
            |p| p.one_command_naive.allocations_per_call,
            Unit::Count,
        ),
        (
            "peak live heap, 280-command batch in-process, global",
            "batch_global",
            |p| p.batch_global.peak_live_bytes as f64,
            Unit::Bytes,
        ),
        (
            "peak live heap, 280-command batch in-process, naive",
            "batch_naive",
            |p| p.batch_naive.peak_live_bytes as f64,
            Unit::Bytes,
        ),
    ];
    rows.into_iter()
        .map(|(name, field, pick, unit)| {
            let measured = figures
                .memory
                .as_ref()
                .map(|m| Measured::plain(pick(&m.in_process), unit))
                .map_err(Clone::clone);
            context_row(
                name,
                &format!("{MEMORY_SOURCE}: in_process.{field}"),
                measured,
            )
        })
        .collect()
}

/// The Valgrind suite's committed figures, or why there are none.
fn instruction_rows(figures: &Figures) -> Vec<SloRow> {
    match &figures.instructions {
        Ok(counts) => counts
            .iter()
            .map(|(name, count)| {
                let unit = if name.starts_with("heap bytes") {
                    Unit::Bytes
                } else {
                    Unit::Count
                };
                context_row(
                    name,
                    "benches/baseline.json (Valgrind)",
                    Ok(Measured::plain(*count, unit)),
                )
            })
            .collect(),
        Err(reason) => vec![context_row(
            "instruction counts and heap figures (Valgrind)",
            "benches/baseline.json",
            Err(reason.clone()),
        )],
    }
}
