//! `--save`: re-records the baseline file on the working tree.
//!
//! The suite runs `--save-runs` times, so that each benchmark's noise is measured rather
//! than assumed; the file's hand-written parts (settings, overrides) are kept.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, bail};

use super::runs::{Run, Runs};
use super::suite::{Side, Suite};
use crate::baseline::{self, Baseline, GateSettings, Override, Recorded};
use crate::exit::Exit;
use crate::flags;
use crate::invocation::{BASELINE, COMMAND, LOG};
use crate::util::git;

/// What a person wrote in the file rather than a recording: kept across recordings.
#[derive(Default)]
struct HandWritten {
    settings: GateSettings,
    overrides: BTreeMap<String, Override>,
}

/// The commit the working tree is at, and whether it has other uncommitted changes.
struct WorkingTree {
    commit: Option<String>,
    dirty: bool,
}

/// Records the whole suite `--save-runs` times and writes the file atomically.
pub(crate) fn record(flags: &flags::GateFlags, suite: &Suite) -> anyhow::Result<Exit> {
    let root = &suite.root;
    let path = root.join(BASELINE.relative());
    let kept = hand_written(&path);
    let runs = flags.save_runs.max(1);
    let all = suite.measure_runs(root, "save", Side::Head, Runs::Exactly(runs))?;
    let benchmarks = recorded(&all, runs, kept.settings.runs)?;
    let tree = WorkingTree::at(root);
    let baseline = Baseline {
        schema: baseline::SCHEMA,
        recorded_with: format!("{COMMAND} --save"),
        commit: tree.commit,
        dirty: tree.dirty,
        runs,
        environment: suite.environment.clone(),
        settings: kept.settings,
        overrides: kept.overrides,
        benchmarks,
    };
    baseline.write_atomic(&path)?;
    after_save(root, &suite.config.after_save)?;
    print_recorded(&baseline);
    eprintln!(
        "{LOG}: recorded {} benchmarks over {runs} run(s) in {}; commit it",
        baseline.benchmarks.len(),
        path.display()
    );
    Ok(Exit::Passed)
}

/// The hand-written parts of a readable existing file, else the defaults.
fn hand_written(path: &Path) -> HandWritten {
    match Baseline::load(path) {
        Ok(old) => HandWritten {
            settings: old.settings,
            overrides: old.overrides,
        },
        Err(err) => {
            if path.exists() {
                eprintln!("{LOG}: starting a fresh baseline; the old one is unreadable: {err:#}");
            }
            HandWritten::default()
        }
    }
}

/// Each benchmark's record over every run, judged as medians of `gate_runs`; a benchmark
/// missing from some runs is an error, since its noise could not be measured.
fn recorded(
    all: &[Run],
    runs: usize,
    gate_runs: usize,
) -> anyhow::Result<BTreeMap<String, Recorded>> {
    let mut benchmarks = BTreeMap::new();
    for first in &all[0].measurements {
        let samples: Vec<u64> = all
            .iter()
            .filter_map(|run| run.find(&first.id).map(|m| m.value))
            .collect();
        if samples.len() != runs {
            bail!(
                "benchmark {} ran in some recording runs only; run --save again",
                first.id
            );
        }
        benchmarks.insert(
            first.id.clone(),
            Recorded::from_samples(
                &first.tool,
                &first.metric,
                samples,
                gate_runs,
                first.metrics.clone(),
                first.threads.clone(),
            ),
        );
    }
    Ok(benchmarks)
}

impl WorkingTree {
    /// The working tree at `root`; changes to the baseline file itself do not count, and
    /// when git cannot tell, the tree counts as changed.
    fn at(root: &Path) -> WorkingTree {
        let commit = git(root, &["rev-parse", "HEAD"]).ok();
        let dirty = git(
            root,
            &[
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":!benches/baseline.json",
            ],
        )
        .map(|s| !s.is_empty())
        .unwrap_or(true);
        WorkingTree { commit, dirty }
    }
}

/// One line per benchmark: its value, and its noise when runs differed.
fn print_recorded(baseline: &Baseline) {
    for (id, b) in &baseline.benchmarks {
        let noise = if b.spread_pct > 0.0 {
            format!(
                "  noise {:.3}% (single runs {:.3}%) {:?}",
                b.noise_pct, b.spread_pct, b.samples
            )
        } else {
            String::new()
        };
        println!("{id:<70} {:>12} {}{noise}", b.value, b.metric);
    }
}

/// Runs the configured `after-save` command (program and arguments, no shell) in `root`,
/// e.g. a task that rewrites the figures quoted from the baseline; a first word `cargo` is
/// the cargo that runs the gate. Nothing when none is configured; a failure only warns.
fn after_save(root: &Path, command: &[String]) -> anyhow::Result<()> {
    let Some((program, args)) = command.split_first() else {
        return Ok(());
    };
    let program = match program.as_str() {
        "cargo" => crate::cargo(),
        other => other.into(),
    };
    eprintln!("{LOG}: after-save: {}", command.join(" "));
    let status = std::process::Command::new(&program)
        .args(args)
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .status()
        .with_context(|| format!("cannot run the after-save command {program:?}"))?;
    // The recording itself succeeded, so a failed hook only warns.
    if !status.success() {
        eprintln!(
            "{LOG}: warning: the after-save command `{}` failed ({status}); the baseline is \
             written",
            command.join(" ")
        );
    }
    Ok(())
}
