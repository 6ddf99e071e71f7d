//! `cargo xtask bench`: the instruction-count regression gate.
//!
//! Runs `benches/instructions.rs` under Valgrind through gungraun, reads gungraun's JSON
//! summaries, and compares every benchmark with `benches/baseline.json` (or with a commit
//! measured on this machine). An environment change is never reported as a regression:
//! when this machine's toolchain, Valgrind, gungraun, CPU or glibc differ from the
//! baseline's, the commit that recorded the baseline is measured here and compared instead.
//!
//! Modules: [`baseline`] (the file), [`summary`] (gungraun's output), [`compare`] (the
//! verdict rules), [`callgrind`] (which functions grew), [`report`] (text, markdown, JSON,
//! BMF).

pub(crate) mod baseline;
pub(crate) mod callgrind;
pub(crate) mod compare;
pub(crate) mod flamegraph;
pub(crate) mod report;
pub(crate) mod summary;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, bail};

use crate::flags::{self, BenchFormat};
use crate::{cargo, project_root};
use baseline::{Baseline, Environment, Recorded};
use compare::{Noise, Rules, Verdict};
use report::Report;
use summary::Measurement;

/// The committed baseline, relative to the workspace root.
pub(crate) const BASELINE: &str = "benches/baseline.json";
/// The gungraun bench target.
const BENCH: &str = "instructions";
/// How many functions to name per regression.
const TOP_FUNCTIONS: usize = 5;

impl flags::Bench {
    pub(crate) fn run(self) -> anyhow::Result<ExitCode> {
        let root = project_root();
        if let Some(flags) = std::env::var_os("RUSTFLAGS")
            && flags.to_string_lossy().contains("target-cpu=native")
        {
            bail!(
                "RUSTFLAGS contains target-cpu=native, whose AVX-512 code Valgrind cannot run; \
                 unset it for `cargo xtask bench`"
            );
        }
        let valgrind = valgrind_version()?;
        let gungraun = locked_version(&root, "gungraun")?;
        let runner_dir = ensure_runner(&root, &gungraun)?;
        let env_now = capture_environment(valgrind, gungraun)?;
        let ctx = Ctx {
            root: root.clone(),
            runner_dir,
            filter: self.filter.clone(),
        };
        if self.save {
            return self.save(&ctx, env_now);
        }
        let baseline_path = root.join(BASELINE);
        let baseline = Baseline::load(&baseline_path)?;
        let rules = Rules {
            settings: &baseline.settings,
            overrides: &baseline.overrides,
            threshold_pct: self.threshold,
            floor: self.floor,
        };
        let mut notes = Vec::new();
        let differences = baseline.environment.differences(&env_now);

        // Which base: an explicit revision, the baseline's commit re-measured here when the
        // environment differs, or the file's figures.
        let explicit_base = match &self.base {
            Some(rev) => Some((rev.clone(), format!("{rev} measured on this machine"))),
            None if !differences.is_empty() => {
                let what: Vec<String> = differences
                    .iter()
                    .map(|(k, a, b)| format!("{k} {a:?} → {b:?}"))
                    .collect();
                notes.push(format!(
                    "this machine's environment differs from the baseline's ({}); the figures \
                     in {BASELINE} are not comparable, so the commit that recorded them was \
                     measured here instead",
                    what.join(", ")
                ));
                let rev = baseline_commit(&root, &baseline).map_err(|err| {
                    anyhow::anyhow!(
                        "the environment differs from the baseline's and its commit cannot be \
                         measured here ({err:#}); run `cargo xtask bench --base <rev>` or \
                         re-record with `cargo xtask bench --save`"
                    )
                })?;
                let label = format!(
                    "{} (the commit that recorded {BASELINE}) measured on this machine",
                    short(&rev)
                );
                Some((rev, label))
            }
            None => None,
        };

        // Base: a revision measured here (explicit, or the baseline's commit when the
        // environment differs), else the file's figures.
        let mut compared_against = format!(
            "{BASELINE} (recorded at {}{})",
            baseline
                .commit
                .as_deref()
                .map_or("an unknown commit", short),
            if baseline.dirty {
                " with local changes"
            } else {
                ""
            }
        );
        let mut base_runs: Vec<Run> = Vec::new();
        if let Some((rev, label)) = &explicit_base {
            base_runs.push(
                measure_rev(&ctx, rev, "base-1")
                    .map_err(|err| anyhow::anyhow!("cannot measure {rev}: {err:#}"))?,
            );
            compared_against = label.clone();
        }
        let mut head_runs = vec![(
            measure(&ctx, &root, &ctx.home("head-1"), None)?,
            root.clone(),
        )];
        let judge = |base_runs: &[Run], head_runs: &[Run]| {
            let noise = noise(&baseline, &[base_runs, head_runs]);
            let base = if base_runs.is_empty() {
                baseline.benchmarks.clone()
            } else {
                records(&lowest(base_runs))
            };
            compare::compare(
                &base,
                &records(&lowest(head_runs)),
                &noise,
                &rules,
                self.filter.as_deref(),
            )
        };
        let mut rows = judge(&base_runs, &head_runs);

        // A regression is confirmed before it is reported: head is measured once more, and
        // the base is measured (again) on this machine, the baseline's commit standing in for
        // the file. Each side keeps its lower figure, so a one-off burst of work in an idle
        // thread cannot fail the gate. The base measurement also gives the callgrind files
        // for the function breakdown.
        if rows.iter().any(|r| r.verdict == Verdict::Regressed) {
            eprintln!(
                "xtask bench: regression suspected; measuring base and head again to confirm"
            );
            let rev = match &explicit_base {
                Some((rev, _)) => Ok(rev.clone()),
                None => baseline_commit(&root, &baseline),
            };
            let label = format!("base-{}", base_runs.len() + 1);
            match rev.and_then(|rev| Ok((measure_rev(&ctx, &rev, &label)?, rev))) {
                Ok((run, rev)) => {
                    if base_runs.is_empty() {
                        notes.push(format!(
                            "regressions against {BASELINE} were confirmed against its commit {} \
                             measured on this machine; the table compares with that measurement",
                            short(&rev)
                        ));
                        compared_against = format!(
                            "{} (the commit that recorded {BASELINE}) measured on this machine",
                            short(&rev)
                        );
                    }
                    base_runs.push(run);
                }
                Err(err) => notes.push(format!(
                    "could not measure the baseline's commit here, so the regressions are judged \
                     against the file alone and have no function breakdown: {err:#}"
                )),
            }
            head_runs.push((
                measure(&ctx, &root, &ctx.home("head-2"), None)?,
                root.clone(),
            ));
            notes.push(format!(
                "head was measured twice and the base {} time(s); each benchmark's lower figure counts",
                base_runs.len()
            ));
            rows = judge(&base_runs, &head_runs);
        }

        if !base_runs.is_empty() {
            let base_dirs = dirs(&lowest(&base_runs));
            let head_dirs = dirs(&lowest(&head_runs));
            for row in rows.iter_mut().filter(|r| r.verdict == Verdict::Regressed) {
                if row.tool != "callgrind" {
                    continue;
                }
                let (Some(b), Some(h)) =
                    (base_dirs.get(&row.benchmark), head_dirs.get(&row.benchmark))
                else {
                    continue;
                };
                match (
                    callgrind::profile_dir(&b.0, "Ir", &b.1),
                    callgrind::profile_dir(&h.0, "Ir", &h.1),
                ) {
                    (Ok(bp), Ok(hp)) => row.grew = callgrind::grew_most(&bp, &hp, TOP_FUNCTIONS),
                    (Err(err), _) | (_, Err(err)) => {
                        notes.push(format!("{}: no function breakdown: {err:#}", row.benchmark))
                    }
                }
            }
        }

        let report = Report {
            compared_against,
            notes,
            environment: env_now,
            rows,
        };
        self.emit(&report)?;
        let regressed = report.counts().regressed;
        eprintln!("xtask bench: {}", report.headline());
        Ok(if regressed > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    }

    fn emit(&self, report: &Report) -> anyhow::Result<()> {
        let rendered = match self.format {
            BenchFormat::Text => report::text(report),
            BenchFormat::Json => report::json(report),
            BenchFormat::Markdown => report::markdown(report),
            BenchFormat::Bmf => report::bmf(report),
        };
        match &self.output {
            Some(path) => {
                crate::write_atomic(path, rendered.as_bytes())?;
                print!("{}", report::text(report));
                eprintln!("xtask bench: report written to {}", path.display());
            }
            None => print!("{rendered}"),
        }
        if let Some(path) = &self.bmf_output {
            crate::write_atomic(path, report::bmf(report).as_bytes())?;
            eprintln!("xtask bench: BMF results written to {}", path.display());
        }
        if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&summary)
                .with_context(|| format!("cannot open GITHUB_STEP_SUMMARY {summary:?}"))?;
            file.write_all(report::markdown(report).as_bytes())?;
        }
        Ok(())
    }

    fn save(&self, ctx: &Ctx, env_now: Environment) -> anyhow::Result<ExitCode> {
        if self.filter.is_some() || self.base.is_some() {
            bail!(
                "--save re-records the whole suite on the working tree; drop --filter and --base"
            );
        }
        let root = &ctx.root;
        let path = root.join(BASELINE);
        // Keep the hand-written parts (settings, overrides) of a readable existing file.
        let (settings, overrides) = match Baseline::load(&path) {
            Ok(old) => (old.settings, old.overrides),
            Err(err) => {
                if path.exists() {
                    eprintln!(
                        "xtask bench: starting a fresh baseline; the old one is unreadable: {err:#}"
                    );
                }
                Default::default()
            }
        };
        let runs = self.save_runs.max(1);
        let mut all: Vec<Vec<Measurement>> = Vec::new();
        for run in 1..=runs {
            eprintln!("xtask bench: recording run {run} of {runs}");
            all.push(measure(ctx, root, &ctx.home("save"), None)?);
        }
        let mut benchmarks = BTreeMap::new();
        for first in &all[0] {
            let samples: Vec<u64> = all
                .iter()
                .filter_map(|run| run.iter().find(|m| m.id == first.id).map(|m| m.value))
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
                    first.metrics.clone(),
                    first.threads.clone(),
                ),
            );
        }
        let commit = crate::git(root, &["rev-parse", "HEAD"]).ok();
        let dirty = crate::git(
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
        let baseline = Baseline {
            schema: baseline::SCHEMA,
            recorded_with: "cargo xtask bench --save".to_owned(),
            commit,
            dirty,
            runs,
            environment: env_now,
            settings,
            overrides,
            benchmarks,
        };
        baseline.write_atomic(&path)?;
        for (id, b) in &baseline.benchmarks {
            let noise = if b.noise_pct > 0.0 {
                format!("  noise {:.3}% {:?}", b.noise_pct, b.samples)
            } else {
                String::new()
            };
            println!("{id:<70} {:>12} {}{noise}", b.value, b.metric);
        }
        eprintln!(
            "xtask bench: recorded {} benchmarks over {runs} run(s) in {}; commit it",
            baseline.benchmarks.len(),
            path.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// What every measurement needs.
struct Ctx {
    root: PathBuf,
    runner_dir: PathBuf,
    filter: Option<String>,
}

impl Ctx {
    /// gungraun's output directory for one kind of measurement.
    fn home(&self, label: &str) -> PathBuf {
        self.root.join("target").join("xtask-bench").join(label)
    }
}

/// One run of the suite and the checkout it ran in (source paths in its callgrind files
/// start there).
type Run = (Vec<Measurement>, PathBuf);

/// Each benchmark's noise: recorded in the baseline, widened by the spread this run saw
/// between repeated measurements of the same code.
fn noise(baseline: &Baseline, measured: &[&[Run]]) -> BTreeMap<String, Noise> {
    let mut noise: BTreeMap<String, Noise> = baseline
        .benchmarks
        .iter()
        .map(|(k, v)| {
            let n = Noise {
                pct: v.noise_pct,
                multi_threaded: v.multi_threaded(),
            };
            (k.clone(), n)
        })
        .collect();
    for runs in measured {
        let mut samples: BTreeMap<&str, Vec<&Measurement>> = BTreeMap::new();
        for (ms, _) in *runs {
            for m in ms {
                samples.entry(&m.id).or_default().push(m);
            }
        }
        for (id, ms) in samples {
            let values = ms.iter().map(|m| m.value).collect();
            let seen = Recorded::from_samples("", "", values, BTreeMap::new(), Vec::new());
            let n = noise.entry(id.to_owned()).or_default();
            n.pct = n.pct.max(seen.noise_pct);
            n.multi_threaded |= ms
                .iter()
                .any(|m| m.threads.iter().filter(|&&t| t > 0).count() > 1);
        }
    }
    noise
}

/// Per benchmark, the run with the lowest figure (and that run's checkout).
fn lowest(runs: &[Run]) -> Vec<(Measurement, PathBuf)> {
    let mut best: BTreeMap<String, (Measurement, PathBuf)> = BTreeMap::new();
    for (ms, checkout) in runs {
        for m in ms {
            match best.get(&m.id) {
                Some((b, _)) if b.value <= m.value => {}
                _ => {
                    best.insert(m.id.clone(), (m.clone(), checkout.clone()));
                }
            }
        }
    }
    best.into_values().collect()
}

fn records(ms: &[(Measurement, PathBuf)]) -> BTreeMap<String, Recorded> {
    ms.iter()
        .map(|(m, _)| (m.id.clone(), m.to_recorded()))
        .collect()
}

/// Per benchmark: its output directory and the checkout it was measured in.
fn dirs(ms: &[(Measurement, PathBuf)]) -> BTreeMap<String, (PathBuf, PathBuf)> {
    ms.iter()
        .map(|(m, checkout)| (m.id.clone(), (m.output_dir.clone(), checkout.clone())))
        .collect()
}

fn short(rev: &str) -> &str {
    &rev[..rev.len().min(10)]
}

/// Runs the suite in `checkout` (this workspace or a worktree) and reads its summaries.
fn measure(
    ctx: &Ctx,
    checkout: &Path,
    home: &Path,
    target_dir: Option<&Path>,
) -> anyhow::Result<Vec<Measurement>> {
    if home.exists() {
        std::fs::remove_dir_all(home)
            .with_context(|| format!("cannot clear {}", home.display()))?;
    }
    let mut path = OsString::from(ctx.runner_dir.as_os_str());
    if let Some(old) = std::env::var_os("PATH") {
        path.push(":");
        path.push(old);
    }
    let mut cmd = Command::new(cargo());
    cmd.current_dir(checkout)
        .args(["bench", "--package", "globalrt", "--bench", BENCH, "--"])
        .arg("--output-format=json")
        .arg(format!("--home={}", home.display()))
        .env("PATH", path)
        .env_remove("GUNGRAUN_RUNNER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(filter) = &ctx.filter {
        cmd.arg(format!("*{filter}*"));
    }
    if let Some(dir) = target_dir {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    eprintln!(
        "xtask bench: measuring {} (cargo bench --bench {BENCH}, under Valgrind)",
        checkout.display()
    );
    let started = std::time::Instant::now();
    let output = cmd
        .output()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    if !output.status.success() {
        bail!(
            "the benchmark suite failed in {} ({}); its output is above",
            checkout.display(),
            output.status
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let measurements = summary::parse_stream(&stdout)?;
    if measurements.is_empty() {
        bail!(
            "the benchmark suite in {} reported no benchmark{}",
            checkout.display(),
            ctx.filter
                .as_ref()
                .map_or(String::new(), |f| format!(" matching *{f}*"))
        );
    }
    eprintln!(
        "xtask bench: {} benchmarks in {:.1} s",
        measurements.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(measurements)
}

/// Removes the worktree when dropped, whatever happened in between.
struct Worktree<'a> {
    root: &'a Path,
    dir: PathBuf,
}

impl Drop for Worktree<'_> {
    fn drop(&mut self) {
        let dir = self.dir.to_string_lossy().into_owned();
        let _ = crate::git(self.root, &["worktree", "remove", "--force", &dir]);
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = crate::git(self.root, &["worktree", "prune"]);
    }
}

/// Checks `rev` out in a temporary git worktree and measures it with this machine's tools,
/// leaving gungraun's files under `target/xtask-bench/<label>`.
fn measure_rev(ctx: &Ctx, rev: &str, label: &str) -> anyhow::Result<Run> {
    let root = &ctx.root;
    let sha = crate::git(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .map_err(|_| anyhow::anyhow!("{rev:?} is not a commit in this repository"))?;
    let dir = root.join("target").join("xtask-bench").join("worktree");
    if dir.exists() {
        let _ = crate::git(
            root,
            &["worktree", "remove", "--force", &dir.to_string_lossy()],
        );
        let _ = std::fs::remove_dir_all(&dir);
        let _ = crate::git(root, &["worktree", "prune"]);
    }
    crate::git(
        root,
        &[
            "worktree",
            "add",
            "--detach",
            "--quiet",
            &dir.to_string_lossy(),
            &sha,
        ],
    )?;
    let worktree = Worktree { root, dir };
    if !worktree
        .dir
        .join("benches")
        .join("instructions.rs")
        .is_file()
    {
        bail!("{} has no benches/instructions.rs", short(&sha));
    }
    // A target directory of its own, kept between runs: cargo's artifact names do not
    // depend on the checkout's path, so a worktree sharing this checkout's target directory
    // can link the other checkout's library and measure the wrong code.
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .unwrap_or_else(|| root.join("target"))
        .join("xtask-bench-base");
    let measured = measure(ctx, &worktree.dir, &ctx.home(label), Some(&target_dir))?;
    let checkout = worktree.dir.clone();
    drop(worktree);
    Ok((measured, checkout))
}

/// The commit whose code the baseline figures describe: the last commit that changed the
/// file when the working copy is the committed one, else the commit recorded in it.
fn baseline_commit(root: &Path, baseline: &Baseline) -> anyhow::Result<String> {
    crate::git(root, &["rev-parse", "--git-dir"]).context("not a git repository")?;
    let committed = crate::git(root, &["diff", "--quiet", "HEAD", "--", BASELINE]).is_ok();
    if committed {
        let rev = crate::git(root, &["log", "-1", "--format=%H", "--", BASELINE])?;
        if !rev.is_empty() {
            return Ok(rev);
        }
    }
    match &baseline.commit {
        Some(rev)
            if crate::git(root, &["cat-file", "-e", &format!("{rev}^{{commit}}")]).is_ok() =>
        {
            Ok(rev.clone())
        }
        Some(rev) => bail!("the baseline's commit {rev} is not in this repository"),
        None => bail!("{BASELINE} is not committed and names no commit"),
    }
}

/// The first line a tool prints for `args`, or `None` when it cannot be run.
fn first_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then_some(())?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().next().map(|l| l.trim().to_owned())
}

fn valgrind_version() -> anyhow::Result<String> {
    first_line("valgrind", &["--version"]).ok_or_else(|| {
        anyhow::anyhow!("valgrind is not installed; install it with `apt-get install -y valgrind`")
    })
}

/// The version of `package` in Cargo.lock.
pub(crate) fn locked_version(root: &Path, package: &str) -> anyhow::Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))
        .context("cannot read Cargo.lock; run `cargo generate-lockfile`")?;
    parse_locked_version(&lock, package).with_context(|| {
        format!("Cargo.lock has no `{package}` package; is it still a dev-dependency?")
    })
}

fn parse_locked_version(lock: &str, package: &str) -> Option<String> {
    let wanted = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim().strip_prefix("version = \"")?;
            return Some(version.trim_end_matches('"').to_owned());
        }
    }
    None
}

/// A directory holding `gungraun-runner` of exactly `version`: found on PATH, in cargo's
/// bin directory or in `target/tools/`, else installed there with `cargo install --locked`.
fn ensure_runner(root: &Path, version: &str) -> anyhow::Result<PathBuf> {
    let tools = root
        .join("target")
        .join("tools")
        .join(format!("gungraun-runner-{version}"));
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        candidates.push(PathBuf::from(home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cargo").join("bin"));
    }
    candidates.push(tools.join("bin"));
    let wanted = format!("gungraun-runner {version}");
    for dir in &candidates {
        let exe = dir.join("gungraun-runner");
        if exe.is_file()
            && first_line(&exe.to_string_lossy(), &["--version"]).as_deref()
                == Some(wanted.as_str())
        {
            return Ok(dir.clone());
        }
    }
    eprintln!(
        "xtask bench: gungraun-runner {version} not found; installing it into {} (once, a few minutes)",
        tools.display()
    );
    let status = Command::new(cargo())
        .args(["install", "--locked", "--version", version, "--root"])
        .arg(&tools)
        .arg("gungraun-runner")
        .stdin(Stdio::null())
        .status()
        .context("cannot run cargo install")?;
    let exe = tools.join("bin").join("gungraun-runner");
    if !status.success()
        || first_line(&exe.to_string_lossy(), &["--version"]).as_deref() != Some(wanted.as_str())
    {
        bail!(
            "cannot install gungraun-runner {version} ({status}); install it by hand with \
             `cargo install --locked --version {version} gungraun-runner`"
        );
    }
    Ok(tools.join("bin"))
}

/// The first CPU's identity from `/proc/cpuinfo`: its model name plus family, model and
/// stepping, since virtual machines often report a generic name ("AMD EPYC") for
/// different processors, and glibc's choice of memcpy (hence instruction counts) follows
/// the real one.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    let first = cpuinfo.split("\n\n").next()?;
    let field = |name: &str| {
        first.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_owned())
        })
    };
    let name = field("model name")?;
    Some(
        match (field("cpu family"), field("model"), field("stepping")) {
            (Some(family), Some(model), Some(stepping)) => {
                format!("{name} (family {family}, model {model}, stepping {stepping})")
            }
            _ => name,
        },
    )
}

fn capture_environment(valgrind: String, gungraun: String) -> anyhow::Result<Environment> {
    let rustc = first_line("rustc", &["--version"])
        .context("cannot run `rustc --version`; is a Rust toolchain on PATH?")?;
    let target = Command::new("rustc")
        .arg("-vV")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        })
        .context("cannot read the host triple from `rustc -vV`")?;
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| cpu_model(&info))
        .unwrap_or_else(|| "unknown".to_owned());
    let glibc = first_line("getconf", &["GNU_LIBC_VERSION"])
        .or_else(|| first_line("ldd", &["--version"]))
        .unwrap_or_else(|| "unknown".to_owned());
    Ok(Environment {
        rustc,
        valgrind,
        gungraun,
        target,
        cpu,
        glibc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_model_names_family_model_and_stepping() {
        let info = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n\
                    model name\t: AMD EPYC\nstepping\t: 1\n\nprocessor\t: 1\nmodel name\t: Other\n";
        assert_eq!(
            cpu_model(info).as_deref(),
            Some("AMD EPYC (family 25, model 17, stepping 1)")
        );
        assert_eq!(
            cpu_model("model name\t: Bare CPU\n").as_deref(),
            Some("Bare CPU")
        );
        assert_eq!(cpu_model("processor\t: 0\n"), None);
    }

    #[test]
    fn reads_the_locked_version() {
        let lock = "[[package]]\nname = \"gungraun\"\nversion = \"0.20.0\"\nsource = \"x\"\n\n\
                    [[package]]\nname = \"gungraun-runner\"\nversion = \"0.20.0\"\n";
        assert_eq!(
            parse_locked_version(lock, "gungraun").as_deref(),
            Some("0.20.0")
        );
        assert_eq!(parse_locked_version(lock, "nope"), None);
    }

    #[test]
    fn the_workspace_lock_has_gungraun() {
        let v = locked_version(&project_root(), "gungraun").unwrap();
        assert!(v.starts_with("0."), "{v}");
    }

    fn measurement(id: &str, value: u64, threads: Vec<u64>) -> Measurement {
        Measurement {
            id: id.to_owned(),
            tool: "callgrind".to_owned(),
            metric: "Ir".to_owned(),
            value,
            metrics: BTreeMap::new(),
            threads,
            output_dir: PathBuf::from(format!("/out/{value}")),
        }
    }

    #[test]
    fn repeated_runs_widen_the_noise_and_the_lowest_run_counts() {
        let text = include_str!("../tests/fixtures/bench/baseline.json");
        let baseline = Baseline::parse(text, Path::new("b.json")).unwrap();
        let run = |v: u64, t: Vec<u64>| {
            (
                vec![measurement("execute_baseline::ready::ready", v, t)],
                PathBuf::from("/c"),
            )
        };
        let same = [run(13_304, vec![13_304]), run(13_304, vec![13_304])];
        let n = noise(&baseline, &[&same[..], &[]])["execute_baseline::ready::ready"];
        assert_eq!(n, Noise::default());
        let differ = [run(13_304, vec![13_304]), run(14_634, vec![13_304, 1_330])];
        let n = noise(&baseline, &[&[], &differ[..]])["execute_baseline::ready::ready"];
        assert_eq!(n.pct, 9.089); // 1,330 of the median (the upper of two), rounded up
        assert!(n.multi_threaded);
        // The recorded noise of the fixture's timer benchmark is kept.
        let n = noise(&baseline, &[])["execute_baseline::timer::timer_x10"];
        assert_eq!((n.pct, n.multi_threaded), (1.116, true));
        let low = lowest(&differ);
        assert_eq!(low.len(), 1);
        assert_eq!(low[0].0.value, 13_304);
    }

    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = std::env::temp_dir().join(format!("xtask-atomic-{}", std::process::id()));
        let path = dir.join("out.json");
        crate::write_atomic(&path, b"one").unwrap();
        crate::write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
