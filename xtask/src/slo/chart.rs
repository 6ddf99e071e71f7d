//! The SVG charts written beside the report, drawn with plotters' SVG backend.

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::figures::{Estimate, Figures};
use super::table::format_nanos;
use globalrt_bench_support::contract::{
    BenchId, CONCURRENT_CPU, CONCURRENT_THREADS, CONCURRENT_WALL, NVG_EXECUTE,
    NVG_FUTURES_BLOCK_ON, NVG_HANDLE_BLOCK_ON, NVG_NAIVE, NVG_POLLSTER_BLOCK_ON,
    NVG_RUNTIME_BLOCK_ON,
};

const SIZE: (u32, u32) = (900, 520);
const FONT: &str = "sans-serif";

/// A chart: the SVG text drawn from the figures.
type Draw = fn(&Figures) -> anyhow::Result<String>;

/// Writes every chart whose figures were measured into `dir`; returns the files written
/// and, for each chart left out, why.
pub(crate) fn write_all(figures: &Figures, dir: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let mut written = Vec::new();
    let mut skipped = Vec::new();
    let charts: [(&str, Draw); 2] = [
        ("per_call_cost.svg", per_call_cost),
        ("concurrent_latency.svg", concurrent_latency),
    ];
    for (name, draw) in charts {
        let path = dir.join(name);
        match draw(figures).and_then(|svg| crate::util::write_atomic(&path, svg.as_bytes())) {
            Ok(()) => written.push(path),
            Err(err) => skipped.push(format!("{name}: {err:#}")),
        }
    }
    (written, skipped)
}

fn estimates(figures: &Figures, ids: &[&str]) -> anyhow::Result<Vec<Estimate>> {
    ids.iter()
        .map(|id| figures.estimate(id).map_err(anyhow::Error::msg))
        .collect()
}

/// Per-call cost of the same ready future through each path, log scale: the runtime-less
/// bridges, `execute`, tokio's own `block_on`s, a runtime per call.
pub(crate) fn per_call_cost(figures: &Figures) -> anyhow::Result<String> {
    const BARS: [(&str, &str); 6] = [
        ("futures_executor::block_on", NVG_FUTURES_BLOCK_ON.full),
        ("pollster::block_on", NVG_POLLSTER_BLOCK_ON.full),
        ("globalrt::execute", NVG_EXECUTE.full),
        ("Handle::block_on", NVG_HANDLE_BLOCK_ON.full),
        ("Runtime::block_on", NVG_RUNTIME_BLOCK_ON.full),
        ("naive::execute", NVG_NAIVE.full),
    ];
    let values = estimates(figures, &BARS.map(|(_, id)| id))?;
    let low = values.iter().map(|e| e.lower).fold(f64::INFINITY, f64::min);
    let high = values.iter().map(|e| e.upper).fold(0.0, f64::max);
    let y_min = 10f64.powf((low / 2.0).max(0.1).log10().floor());
    let y_max = 10f64.powf((high * 3.0).log10().ceil());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Per-call cost of a ready future (naive_vs_global), log scale",
                (FONT, 20),
            )
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(
                // A segmented range's end is inclusive: 0..5 gives six bars.
                (0..BARS.len() as i32 - 1).into_segmented(),
                (y_min..y_max).log_scale(),
            )?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc("time per call (95% CI whiskers)")
            .y_label_formatter(&|y| format_nanos(*y))
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => BARS
                    .get(*i as usize)
                    .map_or(String::new(), |(name, _)| (*name).to_owned()),
                _ => String::new(),
            })
            .draw()?;
        chart.draw_series(values.iter().enumerate().map(|(i, e)| {
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i as i32), y_min),
                    (SegmentValue::Exact(i as i32 + 1), e.point),
                ],
                BLUE.mix(0.55).filled(),
            );
            bar.set_margin(0, 0, 30, 30);
            bar
        }))?;
        chart.draw_series(values.iter().enumerate().map(|(i, e)| {
            let x = SegmentValue::CenterOf(i as i32);
            PathElement::new(
                vec![(x.clone(), e.lower), (x, e.upper)],
                BLACK.stroke_width(2),
            )
        }))?;
        chart.draw_series(values.iter().enumerate().map(|(i, e)| {
            Text::new(
                format_nanos(e.point),
                (SegmentValue::CenterOf(i as i32), e.upper * 1.15),
                TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom)),
            )
        }))?;
        root.present()?;
    }
    Ok(svg)
}

/// One series of the concurrency chart: (threads, estimate) for 1, 2, 4, 10, 16 threads.
fn concurrency_series(figures: &Figures, sweep: BenchId) -> anyhow::Result<Vec<(f64, Estimate)>> {
    let ids: Vec<String> = CONCURRENT_THREADS.iter().map(|t| sweep.at(t)).collect();
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let values = estimates(figures, &id_refs)?;
    Ok(CONCURRENT_THREADS
        .iter()
        .map(|t| f64::from(*t))
        .zip(values)
        .collect())
}

/// Per-call time of `execute(ready)` against the number of threads calling at once:
/// wall-clock latency and CPU time per call, with 95 % CI whiskers.
pub(crate) fn concurrent_latency(figures: &Figures) -> anyhow::Result<String> {
    const GOAL_NS: f64 = 100.0;
    let wall = concurrency_series(figures, CONCURRENT_WALL)?;
    let cpu = concurrency_series(figures, CONCURRENT_CPU)?;
    let y_max = wall
        .iter()
        .chain(&cpu)
        .map(|(_, e)| e.upper)
        .fold(GOAL_NS, f64::max)
        * 1.2;
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("execute(ready): time per call vs threads calling at once ({cpus} CPUs)"),
                (FONT, 20),
            )
            .margin(16)
            .x_label_area_size(45)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..17f64, 0f64..y_max)?;
        chart
            .configure_mesh()
            .x_desc("threads calling execute at once")
            .y_desc("time per call, one caller (95% CI)")
            .y_label_formatter(&|y| format_nanos(*y))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()?;
        let series = [
            (
                &wall,
                BLUE,
                "wall-clock latency (execute_concurrent/threads/N)",
            ),
            (
                &cpu,
                RGBColor(0, 140, 0),
                "CPU time (execute_concurrent/thread_cpu/N)",
            ),
        ];
        for (points, color, label) in series {
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|(x, e)| (*x, e.point)),
                    color.stroke_width(2),
                ))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart.draw_series(
                points
                    .iter()
                    .map(|(x, e)| Circle::new((*x, e.point), 4, color.filled())),
            )?;
            chart.draw_series(points.iter().map(|(x, e)| {
                PathElement::new(vec![(*x, e.lower), (*x, e.upper)], BLACK.stroke_width(1))
            }))?;
        }
        chart
            .draw_series(LineSeries::new(
                [(0.0, GOAL_NS), (17.0, GOAL_NS)],
                RED.stroke_width(1),
            ))?
            .label("SLO and goal at 10 threads: 100 ns (judged on CPU time)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}
