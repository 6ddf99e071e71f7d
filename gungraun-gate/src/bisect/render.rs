//! `--bisect`'s report as text and as JSON.

use std::fmt::Write as _;

use super::{BisectReport, Commit, Culprit};
use crate::report::{pct, signed, write_grew};
use crate::util::{short_commit, thousands};

/// A commit as one line names it: short hash and subject.
fn named(commit: &Commit) -> String {
    format!("{} {}", short_commit(&commit.hash), commit.subject)
}

/// Plain text for a terminal.
pub(crate) fn text(report: &BisectReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Bisected {}..{}: {} commit(s) of BAD's first-parent history after GOOD; {} measured",
        short_commit(&report.good.hash),
        short_commit(&report.bad.hash),
        report.commits,
        report.measured.len(),
    );
    for commit in &report.did_not_build {
        let _ = writeln!(out, "did not build, skipped: {}", named(commit));
    }
    for culprit in &report.culprits {
        write_culprit(&mut out, culprit);
    }
    let _ = writeln!(out, "\n{}", headline(report));
    out
}

fn write_culprit(out: &mut String, c: &Culprit) {
    let _ = writeln!(
        out,
        "\n{} ({}) first rose at {}",
        c.benchmark,
        c.metric,
        named(&c.commit)
    );
    let _ = writeln!(
        out,
        "  {} -> {} ({}, {}; threshold ±{:.2}% / {}), from {}",
        thousands(c.before),
        thousands(c.after),
        signed(Some(c.delta)),
        pct(c.delta_pct),
        c.threshold_pct,
        thousands(c.floor),
        named(&c.last_good),
    );
    for skipped in &c.skipped_before {
        let _ = writeln!(
            out,
            "  did not build, so the rise may have begun there: {}",
            named(skipped)
        );
    }
    let _ = writeln!(out, "  inclusive {} that grew most:", c.metric);
    if c.grew.is_empty() {
        let _ = writeln!(out, "  (no callgrind breakdown)");
    }
    write_grew(out, &c.grew);
}

/// The one-line outcome.
pub(crate) fn headline(report: &BisectReport) -> String {
    if report.culprits.is_empty() {
        return "nothing regressed between GOOD and BAD".to_owned();
    }
    let found: Vec<String> = report
        .culprits
        .iter()
        .map(|c| format!("{} at {}", c.benchmark, short_commit(&c.commit.hash)))
        .collect();
    format!("{} culprit(s): {}", found.len(), found.join(", "))
}

/// The report as pretty JSON with a final newline.
pub(crate) fn json(report: &BisectReport) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("a bisect report always serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::FunctionDelta;

    fn commit(hash: &str, subject: &str) -> Commit {
        Commit {
            hash: hash.repeat(40),
            subject: subject.to_owned(),
        }
    }

    fn sample() -> BisectReport {
        BisectReport {
            schema: 1,
            good: commit("0", "good"),
            bad: commit("5", "fifth"),
            commits: 5,
            measured: vec![
                commit("0", "good"),
                commit("1", "first"),
                commit("3", "third"),
                commit("5", "fifth"),
            ],
            did_not_build: vec![commit("2", "second")],
            culprits: vec![Culprit {
                benchmark: "naive_vs_global::naive_execute::naive_execute".to_owned(),
                metric: "Ir".to_owned(),
                commit: commit("3", "third"),
                before: 52_233,
                after: 52_745,
                delta: 512,
                delta_pct: Some(0.98),
                threshold_pct: 0.5,
                floor: 16,
                last_good: commit("1", "first"),
                skipped_before: vec![commit("2", "second")],
                grew: vec![FunctionDelta {
                    function: "globalrt::naive::execute".to_owned(),
                    base: 100,
                    now: 612,
                    delta: 512,
                    files: vec!["src/naive.rs execute (+512)".to_owned()],
                }],
            }],
        }
    }

    #[test]
    fn text_names_the_commit_the_counts_the_skipped_and_what_grew() {
        let t = text(&sample());
        for want in [
            "Bisected 0000000000..5555555555: 5 commit(s)",
            "did not build, skipped: 2222222222 second",
            "naive_vs_global::naive_execute::naive_execute (Ir) first rose at 3333333333 third",
            "  52,233 -> 52,745 (+512, +0.980%; threshold ±0.50% / 16), from 1111111111 first",
            "  did not build, so the rise may have begun there: 2222222222 second",
            "+512  globalrt::naive::execute (100 -> 612)  [src/naive.rs execute (+512)]",
        ] {
            assert!(t.contains(want), "{want:?} not in\n{t}");
        }
        assert!(t.trim_end().ends_with(
            "1 culprit(s): naive_vs_global::naive_execute::naive_execute at 3333333333"
        ));
    }

    #[test]
    fn json_carries_the_same_fields() {
        let v: serde_json::Value = serde_json::from_str(&json(&sample())).unwrap();
        let c = &v["culprits"][0];
        assert_eq!(c["commit"]["hash"], "3".repeat(40));
        assert_eq!(c["commit"]["subject"], "third");
        assert_eq!(
            (c["before"].as_u64(), c["after"].as_u64()),
            (Some(52_233), Some(52_745))
        );
        assert_eq!(c["skipped_before"][0]["subject"], "second");
        assert_eq!(c["grew"][0]["function"], "globalrt::naive::execute");
        assert_eq!(v["did_not_build"][0]["subject"], "second");
        let mut none = sample();
        none.culprits.clear();
        assert_eq!(headline(&none), "nothing regressed between GOOD and BAD");
    }
}
