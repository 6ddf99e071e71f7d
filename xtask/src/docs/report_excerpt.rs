//! CONTRIBUTING.md's report excerpt against the renderer: the copy a reader sees is what the gate
//! prints.

use std::collections::BTreeMap;

use crate::baseline::{Environment, GateSettings, Recorded};
use crate::project_root;
use gungraun_gate::compare::{self, FunctionDelta, Rules};
use gungraun_gate::pinning::PINNED;
use gungraun_gate::report::{self, GateReport};

/// The gate's text report of the regression the bisect end-to-end test builds (a 100-step
/// `black_box` loop added to `naive::execute`), from the figures that test measured at
/// 422d87e: `cargo xtask bench --base <parent> --filter naive_execute` on that commit.
fn regression_report() -> GateReport {
    let id = "naive_vs_global::naive_execute::naive_execute";
    let recorded = |value: u64| {
        let samples = vec![value; 3];
        let row = Recorded::from_samples("callgrind", "Ir", samples, 3, BTreeMap::new(), vec![]);
        BTreeMap::from([(id.to_owned(), row)])
    };
    let settings = GateSettings::default();
    let rules = Rules {
        settings: &settings,
        overrides: &BTreeMap::new(),
        threshold_pct: None,
        floor: None,
    };
    let mut rows = compare::compare(
        &recorded(52_224),
        &recorded(52_625),
        &BTreeMap::new(),
        &rules,
        Some("naive_execute"),
    );
    rows[0].grew = vec![FunctionDelta {
        function: "instructions::suite::support::counted".to_owned(),
        base: 25_470,
        now: 25_871,
        delta: 401,
        files: vec![
            "src/naive.rs execute (+400)".to_owned(),
            "benches/instructions/suite.rs naive_execute (+1)".to_owned(),
        ],
    }];
    GateReport {
        compared_against: "22353bfc79 measured on this machine".to_owned(),
        measured_base: true,
        notes: vec![],
        environment: Environment {
            scheduling: PINNED.to_owned(),
            ..Environment::default()
        },
        rows,
    }
}

#[test]
fn contributing_report_excerpt_is_what_the_gate_prints() {
    let text = report::text(&regression_report());
    let indented: String = text
        .lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_owned()
            } else {
                format!("    {l}\n")
            }
        })
        .collect();
    assert!(
        std::fs::read_to_string(project_root().join("CONTRIBUTING.md"))
            .unwrap()
            .contains(&indented),
        "CONTRIBUTING.md's report excerpt differs from the renderer's output; paste this:\n{indented}"
    );
}
