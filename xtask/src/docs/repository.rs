//! The repository's prose against its sources of truth: quoted figures against
//! `benches/baseline.json`, README's length, and CONTRIBUTING.md's list of CI steps against
//! the code's. (Its report excerpt is checked beside the gate's renderer, in `bench/report/`.)

use std::path::Path;

use super::{BASELINE, Pass, check_file};
use crate::baseline::Baseline;
use crate::flags::ci_steps::CiStep;
use crate::project_root;
use crate::util::thousands;

/// A README a user reads in five minutes; contributor material lives in CONTRIBUTING.md,
/// history and technique detail in `docs/`.
const README_MAX_LINES: usize = 200;

fn readme() -> String {
    std::fs::read_to_string(project_root().join("README.md")).unwrap()
}

/// CONTRIBUTING.md, the gate's recipes and the CI steps.
fn contributing() -> String {
    std::fs::read_to_string(project_root().join("CONTRIBUTING.md")).unwrap()
}

#[test]
fn every_quoted_figure_matches_the_baseline_and_none_is_unmarked() {
    let root = project_root();
    let baseline = Baseline::load(&root.join(BASELINE)).unwrap();
    let pass = Pass::over(&root, &baseline).unwrap();
    let problems: Vec<String> = pass
        .stale()
        .chain(pass.other())
        .map(ToString::to_string)
        .collect();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn one_instruction_off_is_stale_and_rewritten() {
    let text = include_str!("../../../gungraun-gate/tests/fixtures/bench/baseline.json");
    let baseline = Baseline::parse(text, Path::new("baseline.json")).unwrap();
    let ready = baseline.benchmarks["execute_baseline::ready::ready"].value;
    let (quoted, one_off) = (thousands(ready), thousands(ready + 1));
    let good = format!("ready: <!--fig ready-->{quoted}<!--/fig--> instructions\n");
    let off = good.replace(&quoted, &one_off);
    assert!(check_file("README.md", &good, &baseline).stale.is_empty());
    let found = check_file("README.md", &off, &baseline);
    assert_eq!(
        found.stale[0].to_string(),
        format!(
            "README.md:1: quoted {}, benches/baseline.json says {} (benchmark \
             execute_baseline::ready::ready); run cargo xtask docs",
            one_off, quoted
        )
    );
    assert_eq!(found.rewritten, good);
    // In Rust files only doc comments are prose; code and plain comments are left alone.
    let rust = off.clone() + "//! " + &off + "// " + &off;
    let found = check_file("src/lib.rs", &rust, &baseline);
    assert_eq!(found.stale.len(), 1, "{:?}", found.stale);
    assert_eq!(found.stale[0].line, 2);
}

#[test]
fn readme_stays_short() {
    let lines = readme().lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines (at most {README_MAX_LINES}); move contributor material \
         to CONTRIBUTING.md, detail to docs/"
    );
}

/// The steps of `cargo xtask ci` as the code names them, in order: `CiStep::ALL`, the one
/// list the step table, `--skip` and `ci --help` are made from.
fn code_ci_steps() -> Vec<String> {
    CiStep::ALL
        .iter()
        .map(|step| step.name().to_owned())
        .collect()
}

/// The steps a document lists between `<!--ci-steps-->` and `<!--/ci-steps-->`: the first
/// code span of each list item.
fn listed_ci_steps(text: &str) -> Vec<String> {
    let block = text
        .split_once("<!--ci-steps-->")
        .and_then(|(_, rest)| rest.split_once("<!--/ci-steps-->"))
        .expect("CONTRIBUTING.md has a <!--ci-steps--> … <!--/ci-steps--> list")
        .0;
    block
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn contributing_lists_the_ci_steps_in_the_order_they_run() {
    assert_eq!(listed_ci_steps(&contributing()), code_ci_steps());
    let sample =
        "x\n<!--ci-steps-->\n- `fmt` (`cargo fmt`)\n- `test`: tests\n<!--/ci-steps-->\n- `no`";
    assert_eq!(listed_ci_steps(sample), ["fmt", "test"]);
}

#[test]
fn the_baseline_file_is_the_one_the_gate_is_configured_with() {
    let config = gungraun_gate::GateConfig::load(&project_root()).unwrap();
    assert_eq!(config.baseline, BASELINE);
    assert_eq!(config.after_save, ["cargo", "xtask", "docs"]);
    assert_eq!(
        (config.package.as_str(), config.bench.as_str()),
        ("globalrt", "instructions")
    );
}
