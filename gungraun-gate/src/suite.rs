//! How this machine runs the gungraun suite: the tools it needs, the environment that
//! decides its counts, the build directory of each side, and one run of the suite.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};

use super::build_dir;
use super::harness::Harness;
use super::pinning::Pinning;
use super::runs::{self, Run, Runs};
use super::summary::{self, Measurement};
use crate::baseline::Environment;
use crate::config::GateConfig;
use crate::invocation::{COMMAND, LOG};
use crate::tools::PendingInstall;
use crate::{cargo, host, util};

/// How this machine runs the suite: the tools, the scheduling, the filter.
pub(crate) struct Suite {
    pub(crate) root: PathBuf,
    /// The bench target and what its build takes (`[workspace.metadata.gungraun-gate]`).
    pub(crate) config: GateConfig,
    runner: Mutex<Runner>,
    /// How many of [`Suite::start_build`]'s builds are still compiling: while one is, the
    /// suite's runs go one at a time and leave it a CPU.
    building: Arc<AtomicUsize>,
    filter: Option<String>,
    pub(crate) pinning: Pinning,
    /// The gungraun release Cargo.lock pins: the summaries' schema, the runner's options.
    harness: Harness,
    /// What decides instruction counts here besides the code (its fingerprint).
    pub(crate) environment: Environment,
}

/// gungraun-runner's directory, or its install running while the first side builds.
enum Runner {
    Ready(PathBuf),
    Installing(PendingInstall),
    /// Taken out while waiting; a failed install leaves it so.
    Unavailable,
}

/// Where a side's runs happen: its checkout, build directory and runner.
struct At<'a> {
    checkout: &'a Path,
    target_dir: &'a Path,
    runner_dir: &'a Path,
}

/// Which side of the comparison a build is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Head,
    Base,
}

impl Side {
    /// The build directory's name; both have the same length.
    fn name(self) -> &'static str {
        match self {
            Side::Head => "head",
            Side::Base => "base",
        }
    }

    fn other(self) -> Side {
        match self {
            Side::Head => Side::Base,
            Side::Base => Side::Head,
        }
    }
}

/// A build of the suite running in the background.
pub(crate) struct PendingBuild {
    /// Waits for cargo on a thread of its own, so the time reported is the build's own,
    /// not how long the caller took to come back for it (the base's runs, for head's).
    waiter:
        std::thread::JoinHandle<std::io::Result<(std::process::ExitStatus, std::time::Duration)>>,
    checkout: PathBuf,
}

impl PendingBuild {
    /// Waits for the build; whether it compiled.
    pub(crate) fn wait(self) -> anyhow::Result<Build> {
        let (status, took) = self
            .waiter
            .join()
            .map_err(|_| anyhow::anyhow!("the thread waiting for cargo panicked"))?
            .context("cannot wait for cargo")?;
        eprintln!(
            "{LOG}: the suite {} in {} in {:.1} s",
            if status.success() {
                "built"
            } else {
                "failed to build"
            },
            self.checkout.display(),
            took.as_secs_f64()
        );
        Ok(if status.success() {
            Build::Built
        } else {
            Build::Failed
        })
    }
}

/// Whether a checkout's suite compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Build {
    Built,
    /// cargo failed; its diagnostics went to stderr.
    Failed,
}

impl Suite {
    /// Checks the tools (installing the runner if needed) and captures the environment.
    pub(crate) fn prepare(filter: Option<String>) -> anyhow::Result<Suite> {
        let project = crate::invocation::project()?;
        let root = project.root.clone();
        if let Some(flags) = std::env::var_os("RUSTFLAGS")
            && flags.to_string_lossy().contains("target-cpu=native")
        {
            bail!(
                "RUSTFLAGS contains target-cpu=native, whose AVX-512 code Valgrind cannot run; \
                 unset it for `{COMMAND}`"
            );
        }
        let valgrind = host::valgrind_version()?;
        let gungraun = util::locked_version(&root, "gungraun")?;
        let harness = Harness::of_locked(&gungraun)?;
        let runner = runner(&root, &gungraun)?;
        let pinning = Pinning::detect();
        if let Err(why) = &pinning.cpu {
            eprintln!("{LOG}: Valgrind runs unpinned, so work that spans threads is noisy: {why}");
        }
        let environment = capture_environment(valgrind, gungraun, pinning.fingerprint())?;
        Ok(Suite {
            root,
            config: project.config.clone(),
            runner: Mutex::new(runner),
            building: Arc::new(AtomicUsize::new(0)),
            filter,
            pinning,
            harness,
            environment,
        })
    }

    /// gungraun's output directory for one measurement.
    pub(crate) fn home(&self, label: &str) -> PathBuf {
        self.root
            .join("target")
            .join(&crate::invocation::invocation().work_dir)
            .join(label)
    }

    /// Builds the suite in `checkout`, then runs it `runs` times, each run in its own
    /// output directory.
    pub(crate) fn measure_runs(
        &self,
        checkout: &Path,
        label: &str,
        side: Side,
        runs: Runs,
    ) -> anyhow::Result<Vec<Run>> {
        if self.build(checkout, side)? == Build::Failed {
            bail!(
                "the benchmark suite does not build in {}; cargo's errors are above",
                checkout.display()
            );
        }
        self.runs(checkout, label, side, runs)
    }

    /// Runs the suite in `checkout`, as [`Suite::build`] left it, `runs` times: pinned to
    /// two CPUs and with no build compiling beside them, two full runs at a time.
    pub(crate) fn runs(
        &self,
        checkout: &Path,
        label: &str,
        side: Side,
        runs: Runs,
    ) -> anyhow::Result<Vec<Run>> {
        let at = At {
            checkout,
            target_dir: &self.build_dir(side)?,
            runner_dir: &self.runner_dir()?,
        };
        let total = runs.total();
        let may_settle = matches!(runs, Runs::MedianOf(_)) && self.pinning.cpu.is_ok();
        let majority = total.div_ceil(2);
        let mut done: Vec<Run> = Vec::with_capacity(total);
        // Pinned, once a majority of runs is in: the benchmarks whose median is not settled.
        let mut left: Vec<String> = Vec::new();
        while done.len() < total {
            if left.is_empty() {
                let until = if may_settle && done.len() < majority {
                    majority
                } else {
                    total
                };
                let width = match self.building.load(Ordering::SeqCst) {
                    0 => self.pinning.width(),
                    _ => 1,
                };
                let first = done.len() + 1;
                let last = (done.len() + width).min(until);
                done.extend(self.full_runs(&at, label, first..=last, total)?);
            } else {
                let i = done.len() + 1;
                done.push(self.unsettled_run(&at, label, i, total, &left)?);
            }
            let i = done.len();
            if may_settle && i >= majority && i < total {
                left = runs::unsettled(&done, total);
                if left.is_empty() {
                    eprintln!(
                        "{LOG}: {label}: every benchmark gave one value in {i} of {total} \
                         runs, which is its median, so the other runs are not needed"
                    );
                    break;
                }
            }
        }
        Ok(done)
    }

    /// Full runs `which` of `total`, at the same time, each on its own CPU.
    fn full_runs(
        &self,
        at: &At<'_>,
        label: &str,
        which: std::ops::RangeInclusive<usize>,
        total: usize,
    ) -> anyhow::Result<Vec<Run>> {
        let pattern = self.filter.as_ref().map(|f| format!("*{f}*"));
        let (first, last) = (*which.start(), *which.end());
        if first == last {
            eprintln!("{LOG}: {label} run {first} of {total}");
        } else {
            eprintln!(
                "{LOG}: {label} runs {first} to {last} of {total}, at the same time, \
                 each pinned to its own CPU"
            );
        }
        let one = |(slot, i): (usize, usize)| {
            let home = self.home(&format!("{label}-{i}"));
            let measurements = self.measure(at, &home, pattern.clone(), slot)?;
            Ok(Run {
                measurements,
                checkout: at.checkout.to_owned(),
            })
        };
        std::thread::scope(|scope| {
            let threads: Vec<_> = which
                .clone()
                .enumerate()
                .map(|job| scope.spawn(move || one(job)))
                .collect();
            threads
                .into_iter()
                .map(|t| {
                    t.join()
                        .map_err(|_| anyhow::anyhow!("a thread running the suite panicked"))?
                })
                .collect()
        })
    }

    /// Run `i` of `total` of only the benchmarks in `left`, each on its own: gungraun
    /// takes one filter pattern.
    fn unsettled_run(
        &self,
        at: &At<'_>,
        label: &str,
        i: usize,
        total: usize,
        left: &[String],
    ) -> anyhow::Result<Run> {
        eprintln!(
            "{LOG}: {label} run {i} of {total}, of the {} benchmark(s) whose earlier \
             runs differ (the others' medians are settled): {}",
            left.len(),
            left.join(", ")
        );
        let home = self.home(&format!("{label}-{i}"));
        let mut measurements = Vec::new();
        for (j, id) in left.iter().enumerate() {
            let home = home.with_extension(j.to_string());
            measurements.extend(self.measure(at, &home, Some(format!("*::{id}")), 0)?);
        }
        Ok(Run {
            measurements,
            checkout: at.checkout.to_owned(),
        })
    }

    /// Compiles the suite in `checkout` (`cargo bench --no-run`) into `side`'s build
    /// directory, as the runs will; a missing runner keeps installing meanwhile.
    pub(crate) fn build(&self, checkout: &Path, side: Side) -> anyhow::Result<Build> {
        self.start_build(checkout, side)?.wait()
    }

    /// Starts [`Suite::build`] in the background, e.g. head's build during the base's runs.
    pub(crate) fn start_build(&self, checkout: &Path, side: Side) -> anyhow::Result<PendingBuild> {
        let target_dir = self.build_dir(side)?;
        let mut cmd = cargo_bench(&self.config, checkout, &target_dir);
        let started = std::time::Instant::now();
        let mut child = cmd
            .arg("--no-run")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
        let building = Arc::clone(&self.building);
        building.fetch_add(1, Ordering::SeqCst);
        let waiter = std::thread::spawn(move || {
            let status = child.wait();
            building.fetch_sub(1, Ordering::SeqCst);
            Ok((status?, started.elapsed()))
        });
        Ok(PendingBuild {
            waiter,
            checkout: checkout.to_owned(),
        })
    }

    /// gungraun-runner's directory, waiting for its install if it is still running.
    pub(crate) fn runner_dir(&self) -> anyhow::Result<PathBuf> {
        let mut runner = self
            .runner
            .lock()
            .map_err(|_| anyhow::anyhow!("a thread panicked while installing the runner"))?;
        if let Runner::Ready(dir) = &*runner {
            return Ok(dir.clone());
        }
        let Runner::Installing(install) = std::mem::replace(&mut *runner, Runner::Unavailable)
        else {
            bail!("gungraun-runner could not be installed; see the error above");
        };
        eprintln!("{LOG}: waiting for the gungraun-runner install to finish");
        let started = std::time::Instant::now();
        let dir = install.wait()?;
        eprintln!(
            "{LOG}: gungraun-runner installed (waited {:.1} s)",
            started.elapsed().as_secs_f64()
        );
        *runner = Runner::Ready(dir.clone());
        Ok(dir)
    }

    /// Where `side`'s suite is built: [`build_dir::path`].
    fn build_dir(&self, side: Side) -> anyhow::Result<PathBuf> {
        build_dir::path(
            &self.root,
            side.name(),
            side.other().name(),
            &self.config.package,
        )
    }

    /// Runs the suite once in `checkout` (this workspace or a worktree) and reads its summaries.
    fn measure(
        &self,
        at: &At<'_>,
        home: &Path,
        pattern: Option<String>,
        slot: usize,
    ) -> anyhow::Result<Vec<Measurement>> {
        let checkout = at.checkout;
        if home.exists() {
            std::fs::remove_dir_all(home)
                .with_context(|| format!("cannot clear {}", home.display()))?;
        }
        let mut cmd = self.command(at, home, pattern.as_deref(), slot);
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
        let measurements =
            summary::parse_stream(&stdout, self.harness, &home.join(&self.config.package))?;
        if measurements.is_empty() {
            bail!(
                "the benchmark suite in {} reported no benchmark{}",
                checkout.display(),
                pattern.map_or(String::new(), |p| format!(" matching {p}"))
            );
        }
        eprintln!(
            "{LOG}: {} benchmarks in {:.1} s ({})",
            measurements.len(),
            started.elapsed().as_secs_f64(),
            checkout.display()
        );
        Ok(measurements)
    }

    /// `cargo bench` of the gungraun target in `checkout`, its JSON summaries on stdout and
    /// its files under `home`, with this machine's runner and scheduling.
    fn command(&self, at: &At<'_>, home: &Path, pattern: Option<&str>, slot: usize) -> Command {
        let mut path = OsString::from(at.runner_dir.as_os_str());
        if let Some(old) = std::env::var_os("PATH") {
            path.push(":");
            path.push(old);
        }
        let mut cmd = cargo_bench(&self.config, at.checkout, at.target_dir);
        cmd.arg("--")
            .arg("--output-format=json")
            .arg(format!("--home={}", home.display()))
            // Instruction addresses on cost lines, so the breakdown can read inline chains;
            // the counts themselves do not change.
            .arg("--callgrind-args=--dump-instr=yes")
            .args(self.pinning.runner_args(slot, self.harness))
            .env("PATH", path)
            .stdout(Stdio::piped());
        if let Some(pattern) = pattern {
            cmd.arg(pattern);
        }
        cmd
    }
}

/// `cargo bench` of the gungraun target in `checkout`, built in `target_dir`: the one
/// command line both the build and the runs start from, so a run never rebuilds.
///
/// The configured `--config` values come first (globalrt's `--cfg globalrt_instructions`,
/// which leaves out the dev-dependencies its suite does not use): `--config` rather than
/// `RUSTFLAGS`, so that the benchmark's environment, whose size moves its counts, stays as
/// it was. A `RUSTFLAGS` of the caller's own overrides a `build.rustflags` value.
fn cargo_bench(config: &GateConfig, checkout: &Path, target_dir: &Path) -> Command {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(checkout).args([
        "bench",
        "--package",
        &config.package,
        "--bench",
        &config.bench,
    ]);
    for value in &config.cargo_config {
        cmd.args(["--config", value]);
    }
    cmd.env("CARGO_TARGET_DIR", target_dir)
        // Read at compile time by gungraun's `main!`: cargo rebuilds when it changes.
        .env_remove("GUNGRAUN_RUNNER")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    cmd
}

/// `gungraun-runner` of exactly `version`: found on PATH, in cargo's bin directory or in
/// `target/tools/`, else installing there with `cargo install --locked` while the suite
/// builds.
fn runner(root: &Path, version: &str) -> anyhow::Result<Runner> {
    let runner = Harness::runner(version);
    Ok(match runner.find(root) {
        Some(dir) => Runner::Ready(dir),
        None => Runner::Installing(runner.start_install(root, &LOG.to_string())?),
    })
}

fn capture_environment(
    valgrind: String,
    gungraun: String,
    scheduling: String,
) -> anyhow::Result<Environment> {
    Ok(Environment {
        rustc: host::rustc_version()
            .context("cannot run `rustc --version`; is a Rust toolchain on PATH?")?,
        valgrind,
        gungraun,
        target: host::host_triple().context("cannot read the host triple from `rustc -vV`")?,
        cpu: host::cpu_identity(&host::cpuinfo()).unwrap_or_else(|| "unknown".to_owned()),
        glibc: host::glibc_version(),
        scheduling,
    })
}
