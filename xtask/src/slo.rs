//! `cargo xtask slo`: run the wall-clock suite and print the SLO table with a GO / NO-GO
//! verdict computed from the figures that run measured.
//!
//! Steps: build the demo (`examples/batch.rs`, its path from cargo's JSON messages), run
//! `cargo bench --bench runtime_overhead` (criterion; `--quick` shortens warm-up and
//! measurement) and `cargo bench --bench memory`, then read what they wrote — criterion's
//! `new/estimates.json` files and `target/slo/memory.json` — plus `benches/baseline.json` (instruction
//! counts, when the Valgrind suite committed one) and `target/memcheck/summary.json`
//! (when `cargo xtask memcheck` wrote one). Results older than this run are never read
//! as if they were from it. The report goes to stdout and to `target/slo/report.{txt,md}`,
//! the charts to `target/slo/*.svg`. `--write-docs` copies such a report into the docs
//! (`docs_table`).

mod chart;
mod docs_table;
mod figures;
mod table;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use anyhow::Context as _;

use crate::exit::Exit;
use crate::flags::{Slo, SloFormat};
use crate::util::{self, CargoBuild};
use crate::{cargo, host, project_root};

/// Criterion options of `--quick`: short warm-up and measurement, fewer resamples.
const QUICK_ARGS: [&str; 6] = [
    "--warm-up-time",
    "0.5",
    "--measurement-time",
    "1.5",
    "--nresamples",
    "20000",
];

/// The report header's lines that `--write-docs` reads back, each `KEY value`.
const MACHINE_LINE: &str = "machine: ";
const LOAD_LINE: &str = "load average (1/5/15 min): ";
const COMMIT_LINE: &str = "commit: ";

impl Slo {
    pub(crate) fn run(self) -> anyhow::Result<Exit> {
        let root = project_root();
        if let Some(report) = &self.write_docs {
            // A path given is the caller's, from where they stand; the default is this
            // checkout's last report.
            let default = root.join(target_dir()).join("slo/report.md");
            return docs_table::write(&root, report.as_deref().unwrap_or(&default));
        }
        // Paths in the report are relative to the workspace root, so it reads the same on
        // every machine: work from there.
        std::env::set_current_dir(&root)
            .with_context(|| format!("cannot change to the workspace root {}", root.display()))?;
        let target = target_dir();
        let out_dir = target.join("slo");
        let load_before = host::load_average();
        let started = SystemTime::now();
        let mut suite_failure = None;
        if !self.no_run {
            let batch = build_demo(&root)?;
            suite_failure = run_suite(&root, &out_dir, &batch, self.quick)?;
        }
        let paths = figures::Paths::new(Path::new(""), &target);
        let newer_than = (!self.no_run).then_some(started);
        let figures = figures::Figures::read(
            &paths,
            newer_than,
            util::git(&root, &["rev-parse", "HEAD"]).ok(),
        );
        let report = table::evaluate(&figures);
        let header = self.header(&root, &load_before, suite_failure.as_deref());
        let text = table::render(&report, &header, false);
        let markdown = table::render(&report, &header, true);
        crate::util::write_atomic(&out_dir.join("report.txt"), text.as_bytes())?;
        crate::util::write_atomic(&out_dir.join("report.md"), markdown.as_bytes())?;
        let (charts, skipped) = chart::write_all(&figures, &out_dir);
        print!(
            "{}",
            match self.format {
                SloFormat::Text => &text,
                SloFormat::Markdown => &markdown,
            }
        );
        print_outputs(&out_dir, &charts, &skipped, &paths);
        Ok(verdict_exit(&report.overall))
    }

    /// The lines above the table: how the figures were made, on what, and how to remake them.
    fn header(&self, root: &Path, load_before: &str, suite_failure: Option<&str>) -> Vec<String> {
        let mode = match (self.no_run, self.quick) {
            (true, _) => "figures of the last run (--no-run)",
            (false, true) => "quick run (--quick: 0.5 s warm-up, 1.5 s measurement per benchmark)",
            (false, false) => "full run (criterion defaults: 3 s warm-up, 5 s measurement)",
        };
        let mut header = vec![
            format!("mode: {mode}"),
            format!("{MACHINE_LINE}{}", machine()),
            format!(
                "{LOAD_LINE}{} before, {} after",
                load_before,
                host::load_average()
            ),
            format!(
                "toolchain: {}",
                host::rustc_version().unwrap_or_else(|| "unknown rustc".to_owned())
            ),
            format!("{COMMIT_LINE}{}", util::describe_commit(root)),
            format!("regenerate: {}", regenerate_command(self)),
        ];
        if let Some(failure) = suite_failure {
            header.push(format!("suite: {failure}"));
        }
        header
    }
}

/// Where the report, the charts and criterion's own report are.
fn print_outputs(out_dir: &Path, charts: &[PathBuf], skipped: &[String], paths: &figures::Paths) {
    println!("\nreport: {}", out_dir.join("report.{txt,md}").display());
    for path in charts {
        println!("chart: {}", path.display());
    }
    for reason in skipped {
        println!("chart not written: {reason}");
    }
    println!(
        "criterion's HTML report: {}",
        paths.criterion.join("report/index.html").display()
    );
}

/// The exit code of the overall verdict, saying on stderr why it is not GO.
fn verdict_exit(overall: &table::Overall) -> Exit {
    match overall {
        table::Overall::Incomplete { reasons } => {
            eprintln!("slo: not measured: {}", reasons.join("; "));
        }
        table::Overall::NoGo { rows } => eprintln!("slo: NO-GO: {}", rows.join(", ")),
        table::Overall::Go { .. } => {}
    }
    overall.exit_code()
}

/// Cargo's target directory, relative to the workspace root (the current directory) unless
/// `$CARGO_TARGET_DIR` is absolute.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from)
}

/// Builds the demo in release mode; its path comes from cargo's `compiler-artifact` message.
fn build_demo(root: &Path) -> anyhow::Result<PathBuf> {
    let build = CargoBuild::run(
        root,
        &["build", "--release", "--example", "batch"],
        Stdio::inherit(),
    )
    .context("cannot run cargo to build the demo (examples/batch.rs)")?;
    anyhow::ensure!(
        build.success,
        "`cargo build --release --example batch` failed; fix the build, then rerun"
    );
    build
        .executable("batch")
        .context("cargo built the demo but named no executable for it")
}

/// Runs the wall-clock suite: the criterion target, then the memory target. `Ok(Some(reason))`
/// when a target ran but failed: the figures the suite wrote are still read, the others
/// show as not measured.
fn run_suite(
    root: &Path,
    out_dir: &Path,
    batch: &Path,
    quick: bool,
) -> anyhow::Result<Option<String>> {
    let quick_args: &[&str] = if quick { &QUICK_ARGS } else { &[] };
    let mut failures = Vec::new();
    // The memory target takes no criterion options: it measures bytes, not time.
    for (target, extra) in [("runtime_overhead", quick_args), ("memory", &[])] {
        let status = Command::new(cargo())
            .current_dir(root)
            .args(["bench", "--bench", target, "--"])
            .args(extra)
            .env(globalrt_bench_support::contract::SLO_DIR_ENV, out_dir)
            .env(globalrt_bench_support::contract::BATCH_BIN_ENV, batch)
            .status()
            .with_context(|| format!("cannot run `cargo bench --bench {target}`"))?;
        if !status.success() {
            failures.push(format!(
                "`cargo bench --bench {target}` failed ({status}); see its output above"
            ));
        }
    }
    Ok((!failures.is_empty()).then(|| failures.join("; ")))
}

fn regenerate_command(flags: &Slo) -> String {
    let mut command = "cargo xtask slo".to_owned();
    if flags.quick {
        command += " --quick";
    }
    if flags.format == SloFormat::Markdown {
        command += " --format markdown";
    }
    command += " (after `cargo xtask memcheck` and `cargo xtask loom` for their rows)";
    command
}

/// CPU model and count.
fn machine() -> String {
    let model = host::cpu_name(&host::cpuinfo()).unwrap_or_else(|| "unknown CPU".to_owned());
    format!(
        "{model}, {} CPUs, {}",
        host::cpu_count(),
        std::env::consts::OS
    )
}

#[cfg(test)]
mod tests;
