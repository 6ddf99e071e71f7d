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

/// One item of a document's CI step list: the step's name, and the command or flags it
/// names in parentheses ("`clippy` (`-D warnings`)"), if any.
#[derive(Debug, PartialEq, Eq)]
struct ListedStep {
    name: String,
    named: Option<String>,
}

/// The steps a document lists between `<!--ci-steps-->` and `<!--/ci-steps-->`: the first
/// code span of each list item, and the code span after it in parentheses.
fn listed_ci_steps(text: &str) -> Vec<ListedStep> {
    let block = text
        .split_once("<!--ci-steps-->")
        .and_then(|(_, rest)| rest.split_once("<!--/ci-steps-->"))
        .expect("CONTRIBUTING.md has a <!--ci-steps--> … <!--/ci-steps--> list")
        .0;
    block
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("- `"))
        .filter_map(|l| l.split_once('`'))
        .map(|(name, rest)| ListedStep {
            name: name.to_owned(),
            named: rest
                .strip_prefix(" (`")
                .and_then(|code| code.split('`').next())
                .map(str::to_owned),
        })
        .collect()
}

/// Whether `named` (a command, `cargo fmt --check`, or flags, `-D warnings`) fits the
/// arguments a step runs: the same subcommand, and every word present.
fn names_the_step(named: &str, args: &[&str]) -> bool {
    let mut words = named.split(' ').peekable();
    if words.peek() == Some(&"cargo") {
        words.next();
        if words.next() != args.first().copied() {
            return false;
        }
    }
    words.all(|word| args.contains(&word))
}

/// CONTRIBUTING.md lists every step of `cargo xtask ci` in the order it runs them
/// (`CiStep::ALL`), and a command or flags it names for a step are what the step runs.
#[test]
fn contributing_lists_the_ci_steps_as_they_run() {
    let listed = listed_ci_steps(&contributing());
    let names: Vec<&str> = listed.iter().map(|step| step.name.as_str()).collect();
    let steps: Vec<&str> = CiStep::ALL.iter().map(|step| step.name()).collect();
    assert_eq!(names, steps, "CONTRIBUTING.md's CI steps");
    let mut checked = 0;
    for (item, step) in listed.iter().zip(CiStep::ALL) {
        let Some(named) = &item.named else { continue };
        // Prose in parentheses ("the loom models") names no command.
        if !(named.starts_with("cargo ") || named.starts_with('-')) {
            continue;
        }
        assert!(
            names_the_step(named, step.args()),
            "step {}: CONTRIBUTING.md says {named:?}, the step runs {:?}",
            step.name(),
            step.args()
        );
        checked += 1;
    }
    // fmt, clippy and test name their commands today.
    assert!(checked >= 3, "only {checked} steps name a command");
}

#[test]
fn a_listed_step_is_its_name_and_the_command_it_names() {
    let sample =
        "x\n<!--ci-steps-->\n- `fmt` (`cargo fmt`)\n- `test`: tests\n<!--/ci-steps-->\n- `no`";
    let step = |name: &str, named: Option<&str>| ListedStep {
        name: name.to_owned(),
        named: named.map(str::to_owned),
    };
    assert_eq!(
        listed_ci_steps(sample),
        [step("fmt", Some("cargo fmt")), step("test", None)]
    );
    let clippy = ["clippy", "--workspace", "--", "-D", "warnings"];
    assert!(names_the_step("cargo clippy -D warnings", &clippy));
    assert!(names_the_step("-D warnings", &clippy));
    assert!(!names_the_step("cargo test", &clippy), "another subcommand");
    assert!(!names_the_step("-W warnings", &clippy), "a flag it lacks");
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
