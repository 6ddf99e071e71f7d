//! How this machine runs the gungraun suite: the tools it needs, the environment that
//! decides its counts, the build directory of each side, and one run of the suite.

use std::cell::RefCell;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use super::baseline::Environment;
use super::pinning::Pinning;
use super::runs::Run;
use super::summary::{self, Measurement};
use crate::tools::{PendingInstall, PinnedTool};
use crate::{cargo, host, project_root, util};

/// The package of the gungraun bench target, and the target.
const PACKAGE: &str = "globalrt";
const BENCH: &str = "instructions";

/// How `cargo install` builds gungraun-runner: unoptimised (`--debug`). The runner only
/// starts Valgrind and reads its output files, so Valgrind's time dwarfs its own: a suite
/// run took 18.5–23.0 s with it against 19.2–22.5 s with an `opt-level = 1` runner, the same
/// figures, while its install took 190 CPU-seconds (user + system) against 350, the largest
/// phase of a fresh clone's first gate run (docs/gate.md, "A fresh clone").
const RUNNER_INSTALL_ARGS: &[&str] = &["--debug"];

/// How this machine runs the suite: the tools, the scheduling, the filter.
pub(crate) struct Suite {
    pub(crate) root: PathBuf,
    runner: RefCell<Runner>,
    filter: Option<String>,
    pub(crate) pinning: Pinning,
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
            "xtask bench: the suite {} in {} in {:.1} s",
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
        let root = project_root();
        if let Some(flags) = std::env::var_os("RUSTFLAGS")
            && flags.to_string_lossy().contains("target-cpu=native")
        {
            bail!(
                "RUSTFLAGS contains target-cpu=native, whose AVX-512 code Valgrind cannot run; \
                 unset it for `cargo xtask bench`"
            );
        }
        let valgrind = host::valgrind_version()?;
        let gungraun = util::locked_version(&root, "gungraun")?;
        let runner = runner(&root, &gungraun)?;
        let pinning = Pinning::detect();
        if let Err(why) = &pinning.cpu {
            eprintln!(
                "xtask bench: Valgrind runs unpinned, so work that spans threads is noisy: {why}"
            );
        }
        let environment = capture_environment(valgrind, gungraun, pinning.fingerprint())?;
        Ok(Suite {
            root,
            runner: RefCell::new(runner),
            filter,
            pinning,
            environment,
        })
    }

    /// gungraun's output directory for one measurement.
    pub(crate) fn home(&self, label: &str) -> PathBuf {
        self.root.join("target").join("xtask-bench").join(label)
    }

    /// Builds the suite in `checkout`, then runs it `runs` times, each run in its own
    /// output directory.
    pub(crate) fn measure_runs(
        &self,
        checkout: &Path,
        label: &str,
        side: Side,
        runs: usize,
    ) -> anyhow::Result<Vec<Run>> {
        if self.build(checkout, side)? == Build::Failed {
            bail!(
                "the benchmark suite does not build in {}; cargo's errors are above",
                checkout.display()
            );
        }
        self.runs(checkout, label, side, runs)
    }

    /// Runs the suite `runs` times in `checkout`, as [`Suite::build`] left it.
    pub(crate) fn runs(
        &self,
        checkout: &Path,
        label: &str,
        side: Side,
        runs: usize,
    ) -> anyhow::Result<Vec<Run>> {
        let target_dir = self.build_dir(side)?;
        let runner_dir = self.runner_dir()?;
        (1..=runs)
            .map(|i| {
                eprintln!("xtask bench: {label} run {i} of {runs}");
                let home = self.home(&format!("{label}-{i}"));
                Ok(Run {
                    measurements: self.measure(checkout, &home, &target_dir, &runner_dir)?,
                    checkout: checkout.to_owned(),
                })
            })
            .collect()
    }

    /// Compiles the suite in `checkout` (`cargo bench --no-run`) into `side`'s build
    /// directory, as the runs will; a missing runner keeps installing meanwhile.
    pub(crate) fn build(&self, checkout: &Path, side: Side) -> anyhow::Result<Build> {
        self.start_build(checkout, side)?.wait()
    }

    /// Starts [`Suite::build`] in the background, e.g. head's build during the base's runs.
    pub(crate) fn start_build(&self, checkout: &Path, side: Side) -> anyhow::Result<PendingBuild> {
        let target_dir = self.build_dir(side)?;
        let mut cmd = cargo_bench(checkout, &target_dir);
        let started = std::time::Instant::now();
        let mut child = cmd
            .arg("--no-run")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
        let waiter = std::thread::spawn(move || {
            let status = child.wait()?;
            Ok((status, started.elapsed()))
        });
        Ok(PendingBuild {
            waiter,
            checkout: checkout.to_owned(),
        })
    }

    /// gungraun-runner's directory, waiting for its install if it is still running.
    fn runner_dir(&self) -> anyhow::Result<PathBuf> {
        let mut runner = self.runner.borrow_mut();
        if let Runner::Ready(dir) = &*runner {
            return Ok(dir.clone());
        }
        let Runner::Installing(install) = std::mem::replace(&mut *runner, Runner::Unavailable)
        else {
            bail!("gungraun-runner could not be installed; see the error above");
        };
        eprintln!("xtask bench: waiting for the gungraun-runner install to finish");
        let started = std::time::Instant::now();
        let dir = install.wait()?;
        eprintln!(
            "xtask bench: gungraun-runner installed (waited {:.1} s)",
            started.elapsed().as_secs_f64()
        );
        *runner = Runner::Ready(dir.clone());
        Ok(dir)
    }

    /// Where one side's suite is built, reached through a path of the same length for
    /// every checkout on every machine: `/tmp/globalrt-bench-<16 hex digits>/<side>`, a
    /// symlink (named by a hash of this checkout's path) to `target/xtask-bench-build`.
    ///
    /// The benchmark binary's path is its `argv[0]`, whose length shifts the process's
    /// initial stack, and stack alignment changes instruction counts: the naive runtime
    /// counted 32 instructions fewer when built in a longer target directory. A separate
    /// directory per side also keeps the base's artifacts from replacing head's: cargo's
    /// artifact names do not depend on the checkout's path.
    ///
    /// A side's directory that does not exist yet starts as a copy of the other side's, so
    /// the dependencies compile once; cargo's fingerprints hold paths relative to the
    /// target directory, so only the workspace's own crate builds again.
    fn build_dir(&self, side: Side) -> anyhow::Result<PathBuf> {
        let real = self.root.join("target").join("xtask-bench-build");
        std::fs::create_dir_all(&real)
            .with_context(|| format!("cannot create {}", real.display()))?;
        seed(&real.join(side.other().name()), &real.join(side.name()))?;
        #[cfg(unix)]
        {
            let link = PathBuf::from(format!(
                "/tmp/globalrt-bench-{:016x}",
                fnv1a(self.root.to_string_lossy().as_bytes())
            ));
            if std::fs::read_link(&link).ok().as_deref() != Some(real.as_path()) {
                let _ = std::fs::remove_file(&link);
                std::os::unix::fs::symlink(&real, &link).with_context(|| {
                    format!("cannot link {} to {}", link.display(), real.display())
                })?;
            }
            Ok(link.join(side.name()))
        }
        #[cfg(not(unix))]
        Ok(real.join(side.name()))
    }

    /// Runs the suite once in `checkout` (this workspace or a worktree) and reads its summaries.
    fn measure(
        &self,
        checkout: &Path,
        home: &Path,
        target_dir: &Path,
        runner_dir: &Path,
    ) -> anyhow::Result<Vec<Measurement>> {
        if home.exists() {
            std::fs::remove_dir_all(home)
                .with_context(|| format!("cannot clear {}", home.display()))?;
        }
        let mut cmd = self.command(checkout, home, target_dir, runner_dir);
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
                self.filter
                    .as_ref()
                    .map_or(String::new(), |f| format!(" matching *{f}*"))
            );
        }
        eprintln!(
            "xtask bench: {} benchmarks in {:.1} s ({})",
            measurements.len(),
            started.elapsed().as_secs_f64(),
            checkout.display()
        );
        Ok(measurements)
    }

    /// `cargo bench` of the gungraun target in `checkout`, its JSON summaries on stdout and
    /// its files under `home`, with this machine's runner and scheduling.
    fn command(
        &self,
        checkout: &Path,
        home: &Path,
        target_dir: &Path,
        runner_dir: &Path,
    ) -> Command {
        let mut path = OsString::from(runner_dir.as_os_str());
        if let Some(old) = std::env::var_os("PATH") {
            path.push(":");
            path.push(old);
        }
        let mut cmd = cargo_bench(checkout, target_dir);
        cmd.arg("--")
            .arg("--output-format=json")
            .arg(format!("--home={}", home.display()))
            // Instruction addresses on cost lines, so the breakdown can read inline chains;
            // the counts themselves do not change.
            .arg("--callgrind-args=--dump-instr=yes")
            .args(self.pinning.runner_args())
            .env("PATH", path)
            .stdout(Stdio::piped());
        if let Some(filter) = &self.filter {
            cmd.arg(format!("*{filter}*"));
        }
        cmd
    }
}

/// `cargo bench` of the gungraun target in `checkout`, built in `target_dir`: the one
/// command line both the build and the runs start from, so a run never rebuilds.
fn cargo_bench(checkout: &Path, target_dir: &Path) -> Command {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(checkout)
        .args(["bench", "--package", PACKAGE, "--bench", BENCH])
        .env("CARGO_TARGET_DIR", target_dir)
        // Read at compile time by gungraun's `main!`: cargo rebuilds when it changes.
        .env_remove("GUNGRAUN_RUNNER")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    cmd
}

/// Creates the build directory `dir` as a copy of `from` (`cp -a`, through a temporary
/// name and a rename, so a killed copy is never taken for a build directory); nothing to
/// do when `dir` exists or `from` does not.
fn seed(from: &Path, dir: &Path) -> anyhow::Result<()> {
    if dir.exists() || !from.is_dir() {
        return Ok(());
    }
    let partial = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    eprintln!(
        "xtask bench: copying {} to {}, so the dependencies compile once",
        from.display(),
        dir.display()
    );
    let status = Command::new("cp")
        .args(["-a", "--reflink=auto"])
        .arg(from)
        .arg(&partial)
        .stdin(Stdio::null())
        .status()
        .context("cannot run cp")?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(&partial);
        bail!(
            "cannot copy {} to {} ({status})",
            from.display(),
            partial.display()
        );
    }
    forget_workspace_units(&partial)?;
    std::fs::rename(&partial, dir)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), dir.display()))
}

/// Removes the workspace package's fingerprints from a copied build directory, so that
/// cargo builds it again from this side's sources. Cargo judges a package in a path by
/// the modification times of its files against its outputs: the other side's outputs,
/// newer than this side's untouched files, would pass for this side's build.
fn forget_workspace_units(target_dir: &Path) -> anyhow::Result<()> {
    let prefix = format!("{PACKAGE}-");
    for profile in std::fs::read_dir(target_dir)? {
        let fingerprints = profile?.path().join(".fingerprint");
        let Ok(units) = std::fs::read_dir(&fingerprints) else {
            continue;
        };
        for unit in units {
            let unit = unit?.path();
            let name = unit.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| n.starts_with(&prefix)) {
                std::fs::remove_dir_all(&unit)
                    .with_context(|| format!("cannot remove {}", unit.display()))?;
            }
        }
    }
    Ok(())
}

/// 64-bit FNV-1a: a stable, dependency-free hash for naming a directory after a path.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `gungraun-runner` of exactly `version`: found on PATH, in cargo's bin directory or in
/// `target/tools/`, else installing there with `cargo install --locked` while the suite
/// builds.
fn runner(root: &Path, version: &str) -> anyhow::Result<Runner> {
    let runner = PinnedTool {
        krate: "gungraun-runner",
        bin: "gungraun-runner",
        version,
        version_args: &["--version"],
        install_args: RUNNER_INSTALL_ARGS,
    };
    Ok(match runner.find(root) {
        Some(dir) => Runner::Ready(dir),
        None => Runner::Installing(runner.start_install(root, "xtask bench")?),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copied_build_directory_forgets_the_workspace_package_only() {
        let dir = std::env::temp_dir().join(format!("xtask-seed-{}", std::process::id()));
        let units = [
            "globalrt-0123",
            "globalrt-4567",
            "tokio-89ab",
            "globalrt_macros-cdef",
        ];
        for unit in units {
            std::fs::create_dir_all(dir.join("release").join(".fingerprint").join(unit)).unwrap();
        }
        std::fs::create_dir_all(dir.join("release").join("deps")).unwrap();
        forget_workspace_units(&dir).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.join("release").join(".fingerprint"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["globalrt_macros-cdef", "tokio-89ab"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        // From the FNV reference test suite.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
