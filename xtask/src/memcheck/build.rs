//! The binaries to check, as cargo builds them and names them in its JSON messages.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context as _, bail};

use crate::util::CargoBuild;

/// How the demo runs under memcheck: the shared runtime, a few commands.
const DEMO_ARGS: &[&str] = &["--mode", "global", "--commands", "5"];

/// Where the library's tests find the `panic = "abort"` example (tests/it/panic_abort.rs
/// reads it by the same name): under Valgrind they must not run cargo, so it is built here,
/// before any test binary runs.
const PANIC_ABORT_EXAMPLE_ENV: &str = "GLOBALRT_PANIC_ABORT_EXAMPLE";

/// The example's build, after `cargo`: its own profile, `panic = "abort"`.
const PANIC_ABORT_BUILD: &[&str] = &[
    "build",
    "--profile",
    "panic-abort",
    "--example",
    "panic_abort",
];

/// One executable to check.
#[derive(Debug, Clone)]
pub(super) struct Binary {
    /// Target name and kind, e.g. `it (test)`, `globalrt (lib)`, `batch (example)`.
    pub(super) name: String,
    /// A file-name-safe form of `name`.
    pub(super) stem: String,
    pub(super) path: PathBuf,
    pub(super) args: Vec<String>,
    /// A libtest binary: gets `--test-threads=1` and its tests are listed.
    pub(super) libtest: bool,
    /// Whether Valgrind follows the processes it starts. True for the library package's
    /// binaries (its tests re-run the test binary in child processes); false for xtask's
    /// tests, whose children are external tools (cargo, actionlint) that are not ours.
    pub(super) trace_children: bool,
    /// Environment variables set for it, beside what it inherits.
    pub(super) env: Vec<(&'static str, PathBuf)>,
}

impl Binary {
    pub(super) fn new(target: &str, kind: &str, path: PathBuf, libtest: bool) -> Binary {
        let args = if libtest {
            vec!["--test-threads=1".to_owned()]
        } else {
            DEMO_ARGS.iter().map(|a| (*a).to_owned()).collect()
        };
        Binary {
            name: format!("{target} ({kind})"),
            stem: format!("{target}-{kind}")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect(),
            path,
            args,
            libtest,
            trace_children: true,
            env: Vec::new(),
        }
    }
}

/// Every test binary of the workspace and the demo, sorted by name, or those whose name
/// contains `filter`.
pub(super) fn binaries(root: &Path, filter: Option<&str>) -> anyhow::Result<Vec<Binary>> {
    let mut binaries = test_binaries(root)?;
    match demo_binary(root)? {
        Some(demo) => binaries.push(demo),
        None => {
            println!("memcheck: note: the demo (examples/batch.rs) does not exist yet; skipped it");
        }
    }
    if let Some(filter) = filter {
        let all: Vec<String> = binaries.iter().map(|b| b.name.clone()).collect();
        binaries.retain(|b| b.name.contains(filter));
        if binaries.is_empty() {
            bail!(
                "--filter {filter:?} matches none of the binaries ({}); pass part of one of those names",
                all.join(", ")
            );
        }
    }
    let library_tests = |b: &Binary| b.libtest && b.trace_children;
    if binaries.iter().any(library_tests) {
        let example = panic_abort_example(root)?;
        for binary in binaries.iter_mut().filter(|b| library_tests(b)) {
            binary.env.push((PANIC_ABORT_EXAMPLE_ENV, example.clone()));
        }
    }
    Ok(binaries)
}

/// The `panic = "abort"` example that the library's tests run as child processes, built
/// now so that no test runs cargo under Valgrind.
fn panic_abort_example(root: &Path) -> anyhow::Result<PathBuf> {
    let command = format!("cargo {}", PANIC_ABORT_BUILD.join(" "));
    println!("memcheck: building the panic = \"abort\" example ({command})");
    let build = CargoBuild::run(root, PANIC_ABORT_BUILD, Stdio::piped())?;
    if !build.success {
        eprint!("{}", build.stderr);
        bail!("`{command}` failed (errors above); fix the build and rerun");
    }
    build
        .executable("panic_abort")
        .with_context(|| format!("`{command}` reported no executable for `panic_abort`"))
}

fn test_binaries(root: &Path) -> anyhow::Result<Vec<Binary>> {
    println!("memcheck: building the test binaries (cargo test --workspace --no-run)");
    let build = CargoBuild::run(root, &["test", "--workspace", "--no-run"], Stdio::piped())?;
    if !build.success {
        eprint!("{}", build.stderr);
        bail!("`cargo test --workspace --no-run` failed (errors above); fix the build and rerun");
    }
    let mut binaries: Vec<Binary> = Vec::new();
    for artifact in build.artifacts.iter().filter(|a| a.profile.test) {
        let Some(executable) = &artifact.executable else {
            continue;
        };
        if binaries.iter().any(|b| b.path == executable.as_std_path()) {
            continue;
        }
        let kind = artifact
            .target
            .kind
            .first()
            .map_or_else(|| "?".to_owned(), ToString::to_string);
        let mut binary = Binary::new(&artifact.target.name, &kind, executable.into(), true);
        binary.trace_children = artifact.manifest_path.as_std_path() == root.join("Cargo.toml");
        binaries.push(binary);
    }
    if binaries.is_empty() {
        bail!(
            "cargo built no test binary (no compiler-artifact with profile.test); check the workspace's targets"
        );
    }
    binaries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(binaries)
}

/// The batch demo, built as cargo builds it; `None` while `examples/batch.rs` does not exist.
fn demo_binary(root: &Path) -> anyhow::Result<Option<Binary>> {
    println!("memcheck: building the demo (cargo build --example batch)");
    let build = CargoBuild::run(root, &["build", "--example", "batch"], Stdio::piped())?;
    if !build.success {
        if build.stderr.contains("no example target named `batch`") {
            return Ok(None);
        }
        eprint!("{}", build.stderr);
        bail!("`cargo build --example batch` failed (errors above); fix the build and rerun");
    }
    match build.executable("batch") {
        Some(path) => Ok(Some(Binary::new("batch", "example", path, false))),
        None => bail!(
            "`cargo build --example batch` reported no executable for `batch`; check its [[example]] entry"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project_root;

    /// The library's test reads the example's path under the name this module sets.
    #[test]
    fn the_panic_abort_test_reads_the_variable_memcheck_sets() {
        let test = std::fs::read_to_string(project_root().join("tests/it/panic_abort.rs"))
            .expect("tests/it/panic_abort.rs");
        let declared = format!("const EXAMPLE_ENV: &str = \"{PANIC_ABORT_EXAMPLE_ENV}\";");
        assert!(
            test.contains(&declared),
            "tests/it/panic_abort.rs does not declare {declared}"
        );
        let args = PANIC_ABORT_BUILD.iter().map(|a| format!("\"{a}\","));
        for arg in args {
            assert!(test.contains(&arg), "the test builds without {arg}");
        }
    }
}
