//! The gate's report in four shapes: text (terminal), markdown (PR comments and
//! `$GITHUB_STEP_SUMMARY`), JSON (this report's own schema) and BMF (Bencher Metric Format).

use crate::util::{Align, TextTable};
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::json;

use super::compare::{FunctionDelta, GateRow, GateVerdict};
use super::pinning::{ENABLE_PINNING, PINNED};
use crate::baseline::Environment;
use crate::invocation::COMMAND;

/// The widest threshold that still counts as a tight gate, in percent.
const TIGHT_PCT: f64 = 1.0;

/// Everything one run of the gate found.
#[derive(Clone, Debug, Serialize)]
pub struct GateReport {
    /// What the run was compared with, in words.
    pub compared_against: String,
    /// Whether that is a revision measured on this machine (`--base`, or the baseline's
    /// commit measured again) rather than the baseline file's figures; the table then heads
    /// its reference column "base", else "baseline".
    pub measured_base: bool,
    /// Facts the reader must know (environment mismatch, re-measured base, …).
    pub notes: Vec<String>,
    pub environment: Environment,
    pub rows: Vec<GateRow>,
}

/// How many benchmarks got each verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerdictCounts {
    pub regressed: usize,
    pub improved: usize,
    pub unchanged: usize,
    pub new: usize,
    pub missing: usize,
}

impl GateReport {
    pub fn counts(&self) -> VerdictCounts {
        let mut c = VerdictCounts::default();
        for row in &self.rows {
            match row.verdict {
                GateVerdict::Regressed => c.regressed += 1,
                GateVerdict::Improved => c.improved += 1,
                GateVerdict::Unchanged => c.unchanged += 1,
                GateVerdict::New => c.new += 1,
                GateVerdict::Missing => c.missing += 1,
            }
        }
        c
    }

    pub fn regressions(&self) -> impl Iterator<Item = &GateRow> {
        self.rows
            .iter()
            .filter(|r| r.verdict == GateVerdict::Regressed)
    }

    /// For an unpinned run, one line saying how many compared rows the gate holds to
    /// ≤ 1% and how many only to their wide unpinned band, and how to pin.
    pub fn unpinned_line(&self) -> Option<String> {
        if self.environment.scheduling == PINNED {
            return None;
        }
        let compared: Vec<f64> = self
            .rows
            .iter()
            .filter(|r| r.baseline.is_some() && r.now.is_some())
            .map(|r| r.threshold_pct)
            .collect();
        let wide: Vec<f64> = compared
            .iter()
            .copied()
            .filter(|&t| t > TIGHT_PCT)
            .collect();
        let band = match wide
            .iter()
            .copied()
            .reduce(f64::min)
            .zip(wide.iter().copied().reduce(f64::max))
        {
            Some((lo, hi)) => format!(" ({lo:.1}–{hi:.1}%)"),
            None => String::new(),
        };
        Some(format!(
            "unpinned: {} of {} rows are gated at ≤ {TIGHT_PCT}%, {} only at their wide \
             unpinned band{band}; `{ENABLE_PINNING}`, then rerun, pins Valgrind and gates every \
             row at its pinned threshold",
            compared.len() - wide.len(),
            compared.len(),
            wide.len(),
        ))
    }

    /// The one-line outcome.
    pub fn headline(&self) -> String {
        let c = self.counts();
        let names: Vec<&str> = self.regressions().map(|r| r.benchmark.as_str()).collect();
        let tail = format!(
            "{} unchanged, {} improved, {} new, {} missing",
            c.unchanged, c.improved, c.new, c.missing
        );
        if names.is_empty() {
            format!("no regression ({tail})")
        } else {
            format!(
                "{} regression(s): {} ({tail})",
                names.len(),
                names.join(", ")
            )
        }
    }
}

fn opt(n: Option<u64>) -> String {
    n.map_or_else(|| "-".to_owned(), crate::util::thousands)
}

pub fn signed(d: Option<i64>) -> String {
    match d {
        None => "-".to_owned(),
        Some(d) if d > 0 => format!("+{}", crate::util::thousands(d.unsigned_abs())),
        Some(d) if d < 0 => format!("-{}", crate::util::thousands(d.unsigned_abs())),
        Some(_) => "0".to_owned(),
    }
}

pub fn pct(p: Option<f64>) -> String {
    p.map_or_else(|| "-".to_owned(), |p| format!("{p:+.3}%"))
}

/// The threshold, the floor and the noise the threshold follows from, side by side.
fn threshold(row: &GateRow) -> String {
    format!(
        "±{:.2}% / {} / {:.3}%",
        row.threshold_pct,
        crate::util::thousands(row.floor),
        row.noise_pct
    )
}

fn cells(row: &GateRow) -> [String; 7] {
    [
        format!("{} ({})", row.benchmark, row.metric),
        opt(row.baseline),
        opt(row.now),
        signed(row.delta),
        pct(row.delta_pct),
        threshold(row),
        row.verdict.as_str().to_owned(),
    ]
}

/// The table's header: the reference column is the baseline file's figures or the base, a
/// revision measured here.
fn header(report: &GateReport) -> [&'static str; 7] {
    [
        "benchmark",
        if report.measured_base {
            "base"
        } else {
            "baseline"
        },
        "now",
        "Δ",
        "Δ%",
        "threshold / floor / noise",
        "verdict",
    ]
}

/// Plain text for a terminal.
pub fn text(report: &GateReport) -> String {
    let rows: Vec<Vec<String>> = report.rows.iter().map(|r| cells(r).to_vec()).collect();
    let mut out = String::new();
    let _ = writeln!(out, "Compared against {}", report.compared_against);
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if let Some(line) = report.unpinned_line() {
        let _ = writeln!(out, "{line}");
    }
    // The benchmark and the verdict read left to right; the figures line up on the right.
    let table = TextTable {
        header: &header(report),
        align: &[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Left,
        ],
        rule: false,
    };
    out += &table.render(&rows);
    for row in report.regressions() {
        let _ = writeln!(
            out,
            "\n{} regressed; inclusive {} that grew most:",
            row.benchmark, row.metric
        );
        if row.grew.is_empty() {
            let _ = writeln!(out, "  (no callgrind breakdown: see the notes above)");
        }
        write_grew(&mut out, &row.grew);
    }
    let _ = writeln!(out, "\n{}", report.headline());
    out
}

/// One line per function that grew: Δ, name, base -> now, and the inlined code that grew.
pub fn write_grew(out: &mut String, grew: &[FunctionDelta]) {
    for f in grew {
        let files = if f.files.is_empty() {
            String::new()
        } else {
            format!("  [{}]", f.files.join(", "))
        };
        let _ = writeln!(
            out,
            "  {:>12}  {} ({} -> {}){files}",
            signed(Some(f.delta)),
            f.function,
            crate::util::thousands(f.base),
            crate::util::thousands(f.now)
        );
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// GitHub-flavoured markdown.
pub fn markdown(report: &GateReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Instruction counts (`{COMMAND}`)\n");
    let _ = writeln!(out, "{}\n", md_escape(&report.headline()));
    let _ = writeln!(
        out,
        "Compared against {}.\n",
        md_escape(&report.compared_against)
    );
    for note in &report.notes {
        let _ = writeln!(out, "> {}", md_escape(note));
    }
    if !report.notes.is_empty() {
        out.push('\n');
    }
    if let Some(line) = report.unpinned_line() {
        let _ = writeln!(out, "**{}**\n", md_escape(&line));
    }
    let _ = writeln!(out, "| {} |", header(report).join(" | "));
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|");
    for row in &report.rows {
        let mut c = cells(row).map(|c| md_escape(&c));
        c[0] = format!("`{}` ({})", md_escape(&row.benchmark), row.metric);
        if row.verdict == GateVerdict::Regressed {
            c[6] = "**regressed**".to_owned();
        }
        let _ = writeln!(out, "| {} |", c.join(" | "));
    }
    for row in report.regressions() {
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code>: functions whose inclusive {} grew most</summary>\n",
            md_escape(&row.benchmark),
            row.metric
        );
        let _ = writeln!(
            out,
            "| Δ | function | base | now | inlined code that grew |"
        );
        let _ = writeln!(out, "|---:|---|---:|---:|---|");
        for f in &row.grew {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} |",
                signed(Some(f.delta)),
                md_escape(&f.function),
                crate::util::thousands(f.base),
                crate::util::thousands(f.now),
                md_escape(&f.files.join(", "))
            );
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}

/// This report as JSON.
pub fn json(report: &GateReport) -> String {
    let value = json!({
        "schema": 1,
        "headline": report.headline(),
        "unpinned": report.unpinned_line(),
        "counts": report.counts(),
        "report": report,
    });
    let mut s = serde_json::to_string_pretty(&value).expect("a report always serialises");
    s.push('\n');
    s
}

/// Bencher Metric Format: `{"<benchmark>": {"<measure>": {"value": n}}}`, measure
/// `instructions` for callgrind benchmarks and `heap-bytes` for DHAT ones.
pub fn bmf(report: &GateReport) -> String {
    let mut out = BTreeMap::new();
    for row in &report.rows {
        let Some(now) = row.now else { continue };
        let measure = if row.metric == "Ir" {
            "instructions"
        } else {
            "heap-bytes"
        };
        out.insert(
            row.benchmark.clone(),
            json!({ measure: { "value": now as f64 } }),
        );
    }
    let mut s = serde_json::to_string_pretty(&out).expect("BMF always serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, base: Option<u64>, now: Option<u64>, verdict: GateVerdict) -> GateRow {
        let delta = base.zip(now).map(|(b, n)| n as i64 - b as i64);
        GateRow {
            benchmark: name.to_owned(),
            tool: "callgrind".into(),
            metric: "Ir".into(),
            baseline: base,
            now,
            delta,
            delta_pct: base.zip(delta).map(|(b, d)| d as f64 * 100.0 / b as f64),
            threshold_pct: 0.5,
            floor: 16,
            noise_pct: 0.0,
            verdict,
            threads: vec![],
            grew: vec![],
        }
    }

    fn sample() -> GateReport {
        let mut regressed = row(
            "g::slow::slow",
            Some(13_304),
            Some(13_504),
            GateVerdict::Regressed,
        );
        regressed.grew = vec![FunctionDelta {
            function: "instructions::ready::{{closure}}".into(),
            base: 13_000,
            now: 13_200,
            delta: 200,
            files: vec!["src/execute.rs (+200)".into()],
        }];
        let mut heap = row(
            "memory_pressure::x::x",
            Some(100),
            Some(100),
            GateVerdict::Unchanged,
        );
        heap.metric = "TotalBytes".into();
        heap.tool = "dhat".into();
        GateReport {
            compared_against: "benches/baseline.json".into(),
            measured_base: false,
            notes: vec!["a note".into()],
            environment: Environment::default(),
            rows: vec![
                regressed,
                row(
                    "g::same::same",
                    Some(131),
                    Some(131),
                    GateVerdict::Unchanged,
                ),
                row("g::fresh::fresh", None, Some(5), GateVerdict::New),
                row("g::gone::gone", Some(5), None, GateVerdict::Missing),
                heap,
            ],
        }
    }

    #[test]
    fn markdown_has_the_table_and_the_breakdown() {
        let md = markdown(&sample());
        let table: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(
            table[0],
            "| benchmark | baseline | now | Δ | Δ% | threshold / floor / noise | verdict |"
        );
        assert!(md.contains("|---|---:|---:|---:|---:|---:|---|"));
        let measured = markdown(&GateReport {
            measured_base: true,
            ..sample()
        });
        assert!(
            measured.contains("\n| benchmark | base | now | Δ |"),
            "under --base the reference column is the base: {measured}"
        );
        assert!(md.contains("| `g::slow::slow` (Ir) | 13,304 | 13,504 | +200 | +1.503% | ±0.50% / 16 / 0.000% | **regressed** |"), "{md}");
        assert!(
            md.contains(
                "| `g::gone::gone` (Ir) | 5 | - | - | - | ±0.50% / 16 / 0.000% | missing |"
            ),
            "{md}"
        );
        assert!(md.contains("`instructions::ready::{{closure}}`"));
        assert!(md.contains("src/execute.rs (+200)"));
        assert!(md.contains("1 regression(s): g::slow::slow"));
        // Every table row has the same number of cells as the header.
        let cols = |l: &str| l.matches(" | ").count();
        let main_rows: Vec<&&str> = table.iter().take(6).collect();
        assert!(main_rows.iter().all(|l| cols(l) == cols(table[0])), "{md}");
    }

    #[test]
    fn bmf_uses_the_instructions_measure() {
        let v: serde_json::Value = serde_json::from_str(&bmf(&sample())).unwrap();
        assert_eq!(v["g::slow::slow"]["instructions"]["value"], 13_504.0);
        assert_eq!(v["memory_pressure::x::x"]["heap-bytes"]["value"], 100.0);
        assert!(
            v.get("g::gone::gone").is_none(),
            "missing benchmarks have no value"
        );
        for (_, measures) in v.as_object().unwrap() {
            for (_, m) in measures.as_object().unwrap() {
                assert!(m["value"].is_f64());
            }
        }
    }

    #[test]
    fn text_and_json_carry_the_headline() {
        let r = sample();
        let t = text(&r);
        assert!(t.contains("g::slow::slow regressed; inclusive Ir that grew most:"));
        assert!(t.trim_end().ends_with(&r.headline()));
        let j: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(j["counts"]["regressed"], 1);
        assert_eq!(j["report"]["rows"][0]["verdict"], "regressed");
        assert_eq!(
            r.headline(),
            "1 regression(s): g::slow::slow (2 unchanged, 0 improved, 1 new, 1 missing)"
        );
    }

    #[test]
    fn an_unpinned_report_says_which_rows_are_gated_tightly_and_how_to_pin() {
        let mut r = sample();
        r.environment.scheduling = PINNED.to_owned();
        assert_eq!(r.unpinned_line(), None);
        assert!(!text(&r).contains("unpinned:"));
        r.environment.scheduling = "unpinned (the kernel's default scheduling)".to_owned();
        // Compared rows only (not the new and the missing one): 0.5, 0.5, 4.7 and 66.
        r.rows[0].threshold_pct = 4.7;
        r.rows[4].threshold_pct = 66.0;
        let line = r.unpinned_line().unwrap();
        assert_eq!(
            line,
            format!(
                "unpinned: 1 of 3 rows are gated at ≤ 1%, 2 only at their wide unpinned band \
                 (4.7–66.0%); `{ENABLE_PINNING}`, then rerun, pins Valgrind and gates every row \
                 at its pinned threshold"
            )
        );
        let t = text(&r);
        let above_table = t.find(&line).unwrap() < t.find("benchmark ").unwrap();
        assert!(above_table, "{t}");
        assert!(markdown(&r).contains("**unpinned: 1 of 3 rows"));
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(crate::util::thousands(0), "0");
        assert_eq!(crate::util::thousands(999), "999");
        assert_eq!(crate::util::thousands(1000), "1,000");
        assert_eq!(crate::util::thousands(1_234_567), "1,234,567");
        assert_eq!(signed(Some(-1500)), "-1,500");
    }
}
