//! `cargo xtask memcheck`: every test binary and the batch demo under Valgrind memcheck.
//!
//! The binaries come from cargo's own JSON messages, never from paths guessed in `target/`.
//! Each runs under memcheck with the reviewed suppressions in `valgrind/*.supp`; the XML
//! Valgrind writes is read by [`xml`], and the verdict comes from that XML alone. The
//! binary's own exit status only tells whether its tests passed, which is reported
//! separately: a failing test is not a memory error, and a memory error is not a test
//! failure.

mod xml;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::util::{CargoBuild, copy_atomic};
use crate::{flags, project_root};
use xml::{Kind, Leaked};

/// A memcheck finding: a definitely or indirectly lost leak, an invalid access, free or jump,
/// use of an uninitialised value, or a kind this reader does not know.
const EXIT_FINDINGS: u8 = 1;
/// Could not run or could not read the result: no Valgrind, a build failure, a truncated XML
/// file, a timeout.
const EXIT_NOT_RUN: u8 = 2;
/// No memcheck finding, but a test failed or a binary exited unsuccessfully.
const EXIT_TESTS_FAILED: u8 = 3;
/// How the demo runs under memcheck: the shared runtime, a few commands.
const DEMO_ARGS: &[&str] = &["--mode", "global", "--commands", "5"];

impl flags::Memcheck {
    pub(crate) fn run(self) -> anyhow::Result<ExitCode> {
        let started = Instant::now();
        let root = project_root();
        let version = crate::host::valgrind_version()?;
        let suppressions = suppression_files(&root)?;
        println!(
            "memcheck: {version}, suppressions: {}",
            if suppressions.is_empty() {
                "none".to_owned()
            } else {
                display_paths(&root, &suppressions)
            }
        );

        let mut binaries = test_binaries(&root)?;
        match demo_binary(&root)? {
            Some(demo) => binaries.push(demo),
            None => println!(
                "memcheck: note: the demo (examples/batch.rs) does not exist yet; skipped it"
            ),
        }
        if let Some(filter) = &self.filter {
            let all: Vec<String> = binaries.iter().map(|b| b.name.clone()).collect();
            binaries.retain(|b| b.name.contains(filter.as_str()));
            if binaries.is_empty() {
                bail!(
                    "--filter {filter:?} matches none of the binaries ({}); pass part of one of those names",
                    all.join(", ")
                );
            }
        }

        let work = WorkDir::new()?;
        if let Some(dir) = &self.keep_xml {
            fs::create_dir_all(dir)
                .with_context(|| format!("creating --keep-xml directory {}", dir.display()))?;
        }
        let settings = Settings {
            root: root.clone(),
            suppressions,
            gen_suppressions: self.gen_suppressions,
            timeout: Duration::from_secs(self.timeout),
        };

        let mut results = Vec::new();
        for (index, binary) in binaries.iter().enumerate() {
            print!(
                "memcheck: [{}/{}] {} ... ",
                index + 1,
                binaries.len(),
                binary.name
            );
            io::stdout().flush()?;
            let checked = check(binary, &work.path, &settings)?;
            println!("{}", checked.headline());
            print!("{}", checked.details(&settings));
            if let Some(dir) = &self.keep_xml {
                checked.keep(dir)?;
            }
            results.push(checked);
        }
        let code = summarize(&results, started.elapsed());
        if self.filter.is_none() {
            let commit = crate::util::head_commit(&root);
            write_summary(&root.join(SUMMARY), &results, &commit)?;
        }
        Ok(ExitCode::from(code))
    }
}

/// One executable to check.
#[derive(Debug, Clone)]
struct Binary {
    /// Target name and kind, e.g. `it (test)`, `globalrt (lib)`, `batch (example)`.
    name: String,
    /// A file-name-safe form of `name`.
    stem: String,
    path: PathBuf,
    args: Vec<String>,
    /// A libtest binary: gets `--test-threads=1` and its tests are listed.
    libtest: bool,
    /// Whether Valgrind follows the processes it starts. True for the library package's
    /// binaries (its tests re-run the test binary in child processes); false for xtask's
    /// tests, whose children are external tools (cargo, actionlint) that are not ours.
    trace_children: bool,
}

impl Binary {
    fn new(target: &str, kind: &str, path: PathBuf, libtest: bool) -> Binary {
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
        }
    }
}

#[derive(Debug)]
struct Settings {
    root: PathBuf,
    suppressions: Vec<PathBuf>,
    gen_suppressions: bool,
    timeout: Duration,
}

/// Every `valgrind/*.supp`, sorted, so runs are reproducible.
fn suppression_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = root.join("valgrind");
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("listing {}", dir.display())),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "supp") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn display_paths(root: &Path, paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
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

/// A directory for Valgrind's XML and the binaries' output, removed at the end.
#[derive(Debug)]
struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    fn new() -> anyhow::Result<WorkDir> {
        let path = std::env::temp_dir().join(format!("xtask-memcheck-{}", std::process::id()));
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(WorkDir { path })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// How the binary itself ended, apart from what memcheck found.
#[derive(Debug, PartialEq, Eq)]
enum Status {
    Passed,
    /// Test names (libtest's `test NAME ... FAILED`), or a description when there are none.
    Failed(Vec<String>),
    TimedOut,
}

/// The result of checking one binary.
#[derive(Debug)]
struct Checked {
    binary: Binary,
    elapsed: Duration,
    status: Status,
    /// The XML read, or why it could not be.
    run: Result<xml::Run, String>,
    /// Processes the binary started (e.g. tests that re-run the test binary), each traced
    /// by Valgrind into its own XML file.
    children: Vec<ChildRun>,
    /// The binary's tests, for naming the test a finding belongs to.
    tests: Vec<String>,
    /// Findings' signatures and the tests that reproduce each when run alone; filled only
    /// when a finding has no test function on its stack.
    by_rerun: Vec<(String, Vec<String>)>,
    xml_path: PathBuf,
    logs: [PathBuf; 2],
    /// libtest's failure section, when tests failed.
    failure_output: String,
}

/// A child process Valgrind traced.
#[derive(Debug)]
struct ChildRun {
    pid: u32,
    xml_path: PathBuf,
    run: Result<xml::Run, String>,
}

impl Checked {
    /// Every XML read: the binary's own (`None`), then each child's (`Some(child)`).
    fn runs(&self) -> impl Iterator<Item = (Option<&ChildRun>, &xml::Run)> {
        let own = self.run.as_ref().ok().map(|run| (None, run));
        let children = self
            .children
            .iter()
            .filter_map(|c| c.run.as_ref().ok().map(|run| (Some(c), run)));
        own.into_iter().chain(children)
    }

    fn errors(&self, failing: bool) -> impl Iterator<Item = (Option<&ChildRun>, &xml::Error)> {
        self.runs().flat_map(move |(child, run)| {
            run.errors
                .iter()
                .filter(move |e| e.kind.fails() == failing)
                .map(move |e| (child, e))
        })
    }

    fn findings(&self) -> impl Iterator<Item = &xml::Error> {
        self.errors(true).map(|(_, e)| e)
    }

    fn warnings(&self) -> impl Iterator<Item = &xml::Error> {
        self.errors(false).map(|(_, e)| e)
    }

    /// Suppression names and how often each matched, over the binary and its children.
    fn suppressions(&self) -> BTreeMap<&str, u64> {
        let mut matched = BTreeMap::new();
        for (_, run) in self.runs() {
            for (name, n) in &run.suppressions {
                *matched.entry(name.as_str()).or_default() += n;
            }
        }
        matched
    }

    fn exit_code(&self) -> u8 {
        if self.findings().next().is_some() {
            EXIT_FINDINGS
        } else if self.run.is_err() || self.status == Status::TimedOut {
            EXIT_NOT_RUN
        } else if matches!(self.status, Status::Failed(_)) {
            EXIT_TESTS_FAILED
        } else {
            0
        }
    }

    fn headline(&self) -> String {
        let time = format!("{:.1}s", self.elapsed.as_secs_f64());
        let mut line = match self.exit_code() {
            0 => format!("ok in {time}"),
            EXIT_FINDINGS => format!("FAIL (memcheck) in {time}: {}", by_kind(self.findings())),
            EXIT_NOT_RUN => format!(
                "NOT CHECKED in {time}: {}",
                match (&self.status, &self.run) {
                    (Status::TimedOut, _) => format!(
                        "timed out after {}s; raise --timeout if it is just slow",
                        self.elapsed.as_secs()
                    ),
                    (_, Err(why)) => why.clone(),
                    _ => String::new(),
                }
            ),
            _ => format!("TESTS FAILED in {time} (memcheck clean)"),
        };
        if let Status::Failed(tests) = &self.status
            && self.exit_code() == EXIT_FINDINGS
        {
            let _ = write!(line, "; tests failed too: {}", tests.join(", "));
        }
        let warnings: Vec<_> = self.warnings().collect();
        if !warnings.is_empty() {
            let _ = write!(line, "; not failing: {}", by_kind(warnings.into_iter()));
        }
        let matched: u64 = self.suppressions().values().sum();
        if matched > 0 {
            let _ = write!(line, "; suppressed {matched}");
        }
        if !self.children.is_empty() {
            let _ = write!(line, "; {} child processes checked", self.children.len());
        }
        line
    }

    /// The indented report under the headline: each finding with its test and stack.
    fn details(&self, settings: &Settings) -> String {
        let mut out = String::new();
        if let Ok(run) = &self.run
            && !(4..=6).contains(&run.protocol)
        {
            let _ = writeln!(
                out,
                "    note: XML protocol {} is not one this reader was written for (4-6); \
                 it read what it knows",
                run.protocol
            );
        }
        for (failing, label) in [(true, "error"), (false, "warning (does not fail)")] {
            for (child, error) in self.errors(failing) {
                self.describe(&mut out, child, error, label, settings);
            }
        }
        for child in &self.children {
            if let Err(why) = &child.run {
                let _ = writeln!(
                    out,
                    "    note: child process {} was not checked: {why}",
                    child.pid
                );
            }
        }
        if let Status::Failed(tests) = &self.status {
            let _ = writeln!(out, "    test failure: {}", tests.join(", "));
            for line in self.failure_output.lines().take(40) {
                let _ = writeln!(out, "      | {line}");
            }
        }
        if self.exit_code() != 0 {
            let _ = writeln!(
                out,
                "    rerun: cargo xtask memcheck --filter '{}' --keep-xml target/memcheck \
                 [--gen-suppressions]",
                self.binary.name
            );
        }
        for (name, count) in self.suppressions() {
            let _ = writeln!(out, "    suppression {name}: matched {count}");
        }
        out
    }

    fn describe(
        &self,
        out: &mut String,
        child: Option<&ChildRun>,
        error: &xml::Error,
        label: &str,
        settings: &Settings,
    ) {
        let times = if error.count > 1 {
            format!(" (x{})", error.count)
        } else {
            String::new()
        };
        // Leaks are found by the check at exit, on thread 1: their thread says nothing.
        let thread = match (error.tid, &error.kind) {
            (Some(tid), kind) if !matches!(kind, Kind::Leak(_)) => format!(" [thread {tid}]"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {label}: {}{times}: {}{thread}",
            error.kind, error.text
        );
        if let Some(child) = child {
            let argv = child
                .run
                .as_ref()
                .map(|run| run.argv.join(" "))
                .unwrap_or_default();
            let _ = writeln!(out, "    in child process {}: {argv}", child.pid);
        }
        if self.binary.libtest {
            let sig = signature(error);
            let rerun = self.by_rerun.iter().find(|(s, _)| *s == sig);
            let test = match (attribute(error, &self.tests), rerun) {
                (Some(test), _) => test,
                (None, Some((_, tests))) => {
                    format!("{} (reproduced running it alone)", tests.join(", "))
                }
                (None, None) => "? (no test function on its stack, and no test reproduces \
                                 it alone: it comes from the harness or from tests together)"
                    .to_owned(),
            };
            let _ = writeln!(out, "    test: {test}");
        }
        write_stack(out, &error.stack, &settings.root, "at");
        for (what, stack) in &error.aux {
            if !what.is_empty() {
                let _ = writeln!(out, "    {what}");
            }
            write_stack(out, stack, &settings.root, "  at");
        }
        if settings.gen_suppressions
            && let Some(raw) = &error.suppression
        {
            let _ = writeln!(
                out,
                "    suppression to review (rename it, keep `match-leak-kinds:`, cut it to the \
                 frames that make it harmless, say why in a comment):"
            );
            for line in raw.lines() {
                let _ = writeln!(out, "      {line}");
            }
        }
    }

    /// Copies the XML and logs to `dir`, each written to a temporary name and renamed.
    fn keep(&self, dir: &Path) -> anyhow::Result<()> {
        let mut copies = vec![
            (&self.xml_path, "xml".to_owned()),
            (&self.logs[0], "stdout".to_owned()),
            (&self.logs[1], "stderr".to_owned()),
        ];
        for child in &self.children {
            copies.push((&child.xml_path, format!("child-{}.xml", child.pid)));
        }
        for (from, ext) in copies {
            if !from.exists() {
                continue;
            }
            let to = dir.join(format!("{}.{ext}", self.binary.stem));
            copy_atomic(from, &to)?;
        }
        Ok(())
    }
}

/// "InvalidRead x2, Leak_DefinitelyLost x1 (4096 bytes in 1 blocks)".
fn by_kind<'a>(errors: impl Iterator<Item = &'a xml::Error>) -> String {
    let mut kinds: BTreeMap<Kind, (u64, Leaked)> = BTreeMap::new();
    for error in errors {
        let entry = kinds.entry(error.kind.clone()).or_default();
        entry.0 += error.count;
        if let Some(leaked) = error.leaked {
            entry.1.bytes += leaked.bytes;
            entry.1.blocks += leaked.blocks;
        }
    }
    kinds
        .iter()
        .map(|(kind, (count, leaked))| {
            if matches!(kind, Kind::Leak(_)) {
                format!(
                    "{kind} x{count} ({} bytes in {} blocks)",
                    leaked.bytes, leaked.blocks
                )
            } else {
                format!("{kind} x{count}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The frames that belong to this workspace's code (not the toolchain, not dependencies,
/// not generated code), up to three; the top frames when there are none.
fn write_stack(out: &mut String, stack: &[xml::Frame], root: &Path, prefix: &str) {
    let ours: Vec<(&xml::Frame, PathBuf)> = stack
        .iter()
        .filter_map(|frame| {
            let path = Path::new(frame.dir.as_deref()?).join(frame.file.as_deref()?);
            let relative = path.strip_prefix(root).ok()?;
            (!relative.starts_with("target")).then(|| (frame, relative.to_path_buf()))
        })
        .take(3)
        .collect();
    if ours.is_empty() {
        if !stack.is_empty() {
            let _ = writeln!(
                out,
                "    {prefix} (no frame in this workspace; top of stack:)"
            );
        }
        for frame in stack.iter().take(4) {
            let place = match (&frame.file, frame.line) {
                (Some(file), Some(line)) => format!(" ({file}:{line})"),
                _ => frame
                    .obj
                    .as_deref()
                    .map(|obj| format!(" (in {obj})"))
                    .unwrap_or_default(),
            };
            let _ = writeln!(
                out,
                "    {prefix} {}{place}",
                frame.func.as_deref().unwrap_or("???")
            );
        }
    }
    for (frame, path) in ours {
        let _ = writeln!(
            out,
            "    {prefix} {} ({}:{})",
            frame.func.as_deref().unwrap_or("???"),
            path.display(),
            frame.line.unwrap_or(0)
        );
    }
}

/// The test a finding belongs to: the longest test name that appears as a function path
/// on its stacks (`it::contexts::plain_thread`, `…::plain_thread::{closure#0}`,
/// `…::{async_block#0}`).
fn attribute(error: &xml::Error, tests: &[String]) -> Option<String> {
    let frames = error
        .stack
        .iter()
        .chain(error.aux.iter().flat_map(|(_, stack)| stack));
    let mut best: Option<&String> = None;
    for frame in frames {
        let Some(func) = frame.func.as_deref() else {
            continue;
        };
        for test in tests {
            if names_test(func, test) && best.is_none_or(|b| b.len() < test.len()) {
                best = Some(test);
            }
        }
    }
    best.cloned()
}

fn names_test(func: &str, test: &str) -> bool {
    func.match_indices(test).any(|(at, _)| {
        let before = &func[..at];
        let after = &func[at + test.len()..];
        (before.is_empty() || before.ends_with("::"))
            && (after.is_empty() || after.starts_with("::"))
    })
}

/// The tests a libtest binary holds (`--list`, run natively: it is fast and runs no test).
fn list_tests(binary: &Binary) -> Vec<String> {
    let Ok(out) = Command::new(&binary.path)
        .args(["--list", "--format", "terse"])
        .stdin(Stdio::null())
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_owned)
        .collect()
}

fn valgrind_args(settings: &Settings, binary: &Binary, xml_file: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "--tool=memcheck",
        "--leak-check=full",
        "--show-leak-kinds=definite,indirect,possible",
        "--errors-for-leak-kinds=definite,indirect",
        "--xml=yes",
        "--fair-sched=yes",
        "--child-silent-after-fork=yes",
        "--num-callers=50",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    if binary.trace_children {
        // Follow the tests that re-run their own binary; never system programs or the
        // toolchain, which are not ours and crawl under Valgrind.
        args.push("--trace-children=yes".into());
        args.push(
            "--trace-children-skip=/usr/*,/bin/*,/sbin/*,/lib/*,*/.cargo/bin/*,*/.rustup/*,\
             */target/tools/*,*/cargo,*/rustc,*/rustup,*/valgrind,*python*"
                .into(),
        );
    }
    let mut xml_arg = OsString::from("--xml-file=");
    xml_arg.push(xml_file);
    args.push(xml_arg);
    // No `--error-exitcode`: the verdict comes from the XML, and the exit status stays the
    // program's own, so a test's failure is told apart from a memory error. Traced children
    // inherit every option; with an error exit code, a child's memory error would also fail
    // the test that started it.
    for supp in &settings.suppressions {
        let mut arg = OsString::from("--suppressions=");
        arg.push(supp);
        args.push(arg);
    }
    if settings.gen_suppressions {
        args.push("--gen-suppressions=all".into());
    }
    args
}

/// Runs one binary under memcheck and reads the result. An `Err` is a problem with this
/// machine (cannot write files, cannot start Valgrind), not with the binary.
fn check(binary: &Binary, work: &Path, settings: &Settings) -> anyhow::Result<Checked> {
    let tests = if binary.libtest {
        list_tests(binary)
    } else {
        Vec::new()
    };
    let started = Instant::now();
    let ran = run_valgrind(binary, &binary.args, "", work, settings)?;
    let elapsed = started.elapsed();
    let stdout = fs::read_to_string(&ran.logs[0]).unwrap_or_default();
    let status = match ran.exit {
        None => Status::TimedOut,
        Some(exit) => status_of(exit, &stdout),
    };
    let failure_output = failure_section(&stdout);
    let mut checked = Checked {
        binary: binary.clone(),
        elapsed,
        status,
        run: ran.run,
        children: ran.children,
        tests,
        by_rerun: Vec::new(),
        xml_path: ran.xml_path,
        logs: ran.logs,
        failure_output,
    };
    let unattributed = checked
        .findings()
        .any(|error| attribute(error, &checked.tests).is_none());
    if unattributed && checked.tests.len() > 1 {
        checked.by_rerun = rerun_each_test(binary, &checked.tests, work, settings)?;
        checked.elapsed = started.elapsed();
    }
    Ok(checked)
}

/// What one run under memcheck left behind.
#[derive(Debug)]
struct Ran {
    /// The binary's exit status; `None` when it timed out and was killed.
    exit: Option<ExitStatus>,
    /// The binary's own XML, read, or why it could not be.
    run: Result<xml::Run, String>,
    children: Vec<ChildRun>,
    xml_path: PathBuf,
    logs: [PathBuf; 2],
}

fn run_valgrind(
    binary: &Binary,
    args: &[String],
    suffix: &str,
    work: &Path,
    settings: &Settings,
) -> anyhow::Result<Ran> {
    // One XML file per process: `%p` is the pid, so traced children get their own.
    let prefix = format!("{}{suffix}.", binary.stem);
    for entry in fs::read_dir(work)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with(&prefix) && name.ends_with(".xml") {
            fs::remove_file(&path)?;
        }
    }
    let logs = [
        work.join(format!("{}{suffix}.stdout", binary.stem)),
        work.join(format!("{}{suffix}.stderr", binary.stem)),
    ];
    let started = Instant::now();
    let mut child = Command::new("valgrind")
        .args(valgrind_args(
            settings,
            binary,
            &work.join(format!("{prefix}%p.xml")),
        ))
        .arg(&binary.path)
        .args(args)
        .current_dir(&settings.root)
        .stdin(Stdio::null())
        .stdout(File::create(&logs[0])?)
        .stderr(File::create(&logs[1])?)
        .spawn()
        .context("starting valgrind")?;
    // Valgrind runs the program in its own process, so the program's pid is this one.
    let pid = child.id();
    let exit = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > settings.timeout {
            // Only the child we started, by its handle.
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let xml_path = work.join(format!("{prefix}{pid}.xml"));
    let run = read_xml(&xml_path, Some(&logs[1]));
    let mut children = Vec::new();
    for entry in fs::read_dir(work)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let child_pid = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".xml"))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(child_pid) = child_pid.filter(|p| *p != pid) {
            let run = read_xml(&path, None);
            children.push(ChildRun {
                pid: child_pid,
                xml_path: path,
                run,
            });
        }
    }
    children.sort_by_key(|c| c.pid);
    Ok(Ran {
        exit,
        run,
        children,
        xml_path,
        logs,
    })
}

/// Reads one XML file; an error names the file's problem and, when given, the last line
/// Valgrind wrote to stderr.
fn read_xml(path: &Path, stderr: Option<&Path>) -> Result<xml::Run, String> {
    match fs::read_to_string(path) {
        Ok(text) => xml::read(&text).map_err(|err| {
            let stderr = stderr
                .and_then(|p| fs::read_to_string(p).ok())
                .unwrap_or_default();
            match stderr.lines().rev().find(|l| !l.trim().is_empty()) {
                Some(line) => format!("{err} (valgrind's stderr ends: {})", line.trim()),
                None => err.to_string(),
            }
        }),
        Err(err) => Err(format!(
            "valgrind wrote no XML file ({err}); run it by hand to see why"
        )),
    }
}

/// What identifies a finding across runs: its kind and the functions on top of its stack.
fn signature(error: &xml::Error) -> String {
    let mut sig = error.kind.to_string();
    for frame in error.stack.iter().take(12) {
        sig.push('|');
        sig.push_str(frame.func.as_deref().unwrap_or("?"));
    }
    sig
}

/// For findings with no test function on their stack (a leak in a task on a runtime
/// worker, in a helper thread): runs each test alone under memcheck and records which
/// tests reproduce each finding, by [`signature`].
fn rerun_each_test(
    binary: &Binary,
    tests: &[String],
    work: &Path,
    settings: &Settings,
) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    print!(
        "(naming the test: rerunning its {} tests one at a time) ",
        tests.len()
    );
    io::stdout().flush()?;
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    for test in tests {
        let args = [
            "--test-threads=1".to_owned(),
            "--exact".to_owned(),
            test.clone(),
        ];
        let ran = run_valgrind(binary, &args, "-one", work, settings)?;
        let runs = ran
            .run
            .into_iter()
            .chain(ran.children.into_iter().filter_map(|c| c.run.ok()));
        let errors: Vec<xml::Error> = runs.flat_map(|run| run.errors).collect();
        for error in errors.iter().filter(|e| e.kind.fails()) {
            let sig = signature(error);
            match found.iter_mut().find(|(s, _)| *s == sig) {
                Some((_, names)) => names.push(test.clone()),
                None => found.push((sig, vec![test.clone()])),
            }
        }
    }
    Ok(found)
}

/// The binary's own outcome: Valgrind exits with the program's exit status.
fn status_of(exit: ExitStatus, stdout: &str) -> Status {
    if exit.success() {
        return Status::Passed;
    }
    let failed_tests: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test ")?.strip_suffix(" ... FAILED"))
        .map(str::to_owned)
        .collect();
    if !failed_tests.is_empty() {
        return Status::Failed(failed_tests);
    }
    Status::Failed(vec![match exit.code() {
        Some(code) => format!("the binary exited with code {code}"),
        None => format!("the binary was killed ({exit})"),
    }])
}

/// libtest's "failures:" section, with each failed test's output and panic message.
fn failure_section(stdout: &str) -> String {
    match stdout.find("\nfailures:\n") {
        Some(at) => stdout[at + 1..]
            .split("\ntest result:")
            .next()
            .unwrap_or("")
            .to_owned(),
        None => String::new(),
    }
}

/// Where a full (unfiltered) run records its verdict for `cargo xtask slo`.
const SUMMARY: &str = "target/memcheck/summary.json";

/// Writes `{"schema": 1, "errors", "clean", "tests_failed", "binaries", "commit"}` for a run
/// that checked every binary; removes a stale file when some binary could not be checked,
/// so a partial run never reads as clean.
fn write_summary(path: &Path, results: &[Checked], commit: &str) -> anyhow::Result<()> {
    if results.iter().any(|r| r.exit_code() == EXIT_NOT_RUN) {
        match fs::remove_file(path) {
            Ok(()) => println!(
                "memcheck: removed {} (this run did not check every binary)",
                path.display()
            ),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(err).with_context(|| format!("cannot remove {}", path.display()));
            }
        }
        return Ok(());
    }
    let errors = results.iter().flat_map(Checked::findings).count();
    let tests_failed = results
        .iter()
        .filter(|r| r.exit_code() == EXIT_TESTS_FAILED)
        .count();
    let summary = serde_json::json!({
        "schema": 1,
        "errors": errors,
        "clean": errors == 0,
        "tests_failed": tests_failed,
        "binaries": results.len(),
        "commit": commit,
    });
    crate::util::write_atomic(path, format!("{summary:#}\n").as_bytes())
}

/// Prints the totals and returns the exit code: findings first, then anything not
/// checked, then failed tests.
fn summarize(results: &[Checked], elapsed: Duration) -> u8 {
    let count = |code| results.iter().filter(|r| r.exit_code() == code).count();
    println!(
        "memcheck: {} binar{} in {:.1}s: {} clean, {} with memcheck findings, {} with failed tests, {} not checked",
        results.len(),
        if results.len() == 1 { "y" } else { "ies" },
        elapsed.as_secs_f64(),
        count(0),
        count(EXIT_FINDINGS),
        count(EXIT_TESTS_FAILED),
        count(EXIT_NOT_RUN),
    );
    let findings: Vec<_> = results.iter().flat_map(Checked::findings).collect();
    if !findings.is_empty() {
        println!("memcheck: findings: {}", by_kind(findings.into_iter()));
    }
    let mut matched: BTreeMap<&str, (u64, usize)> = BTreeMap::new();
    for result in results {
        for (name, n) in result.suppressions() {
            let entry = matched.entry(name).or_default();
            entry.0 += n;
            entry.1 += 1;
        }
    }
    for (name, (n, binaries)) in &matched {
        println!("memcheck: suppression {name}: matched {n} times in {binaries} of the binaries");
    }
    let code = [EXIT_FINDINGS, EXIT_NOT_RUN, EXIT_TESTS_FAILED]
        .into_iter()
        .find(|code| count(*code) > 0)
        .unwrap_or(0);
    let verdict = match code {
        0 => "clean",
        EXIT_FINDINGS => "memory errors found",
        EXIT_NOT_RUN => "some binaries could not be checked",
        _ => "memcheck clean, but tests failed",
    };
    println!("memcheck: {verdict} (exit {code})");
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    /// End to end, under Valgrind: each deliberately broken program in
    /// `tests/fixtures/memcheck/programs/` gets the verdict it must get, and the clean one
    /// passes. Ignored by default: it needs Valgrind, and `cargo xtask memcheck` runs this
    /// very binary under Valgrind. Run it with `cargo test -p xtask -- --ignored`.
    #[test]
    #[ignore = "needs Valgrind; run with `cargo test -p xtask -- --ignored`"]
    fn valgrind_catches_the_deliberate_bugs() {
        let root = project_root();
        let programs = root.join("xtask/tests/fixtures/memcheck/programs");
        let work = WorkDir::new().unwrap();
        let settings = Settings {
            suppressions: suppression_files(&root).unwrap(),
            root,
            gen_suppressions: true,
            timeout: Duration::from_secs(300),
        };
        let check_program = |name: &str| {
            let exe = work.path.join(name);
            let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
            let status = Command::new(rustc)
                .args(["--edition", "2024", "--test", "-g", "-o"])
                .arg(&exe)
                .arg(programs.join(format!("{name}.rs")))
                .status()
                .unwrap();
            assert!(status.success(), "compiling {name}.rs");
            let binary = Binary::new(name, "test", exe, true);
            let checked = check(&binary, &work.path, &settings).unwrap();
            let report = format!("{}\n{}", checked.headline(), checked.details(&settings));
            (checked, report)
        };

        let (leaky, report) = check_program("leaky");
        assert_eq!(leaky.exit_code(), EXIT_FINDINGS, "{report}");
        let leak = leaky.findings().next().unwrap();
        assert_eq!(leak.kind, Kind::Leak(xml::LeakKind::Definite), "{report}");
        assert_eq!(leak.leaked.unwrap().bytes, 4096, "{report}");
        assert_eq!(
            attribute(leak, &leaky.tests).as_deref(),
            Some("leaks_a_page")
        );
        assert!(report.contains("test: leaks_a_page"), "{report}");
        assert!(report.contains("programs/leaky.rs:7"), "{report}");
        assert!(report.contains("Memcheck:Leak"), "{report}");

        let (invalid, report) = check_program("invalid_read");
        assert_eq!(invalid.exit_code(), EXIT_FINDINGS, "{report}");
        let read = invalid.findings().next().unwrap();
        assert_eq!(read.kind, Kind::Known("InvalidRead"), "{report}");
        assert!(report.contains("test: reads_past_the_end"), "{report}");
        assert!(
            report.contains("0 bytes after a block of size 16"),
            "{report}"
        );

        let (failing, report) = check_program("failing");
        assert_eq!(failing.exit_code(), EXIT_TESTS_FAILED, "{report}");
        assert_eq!(
            failing.status,
            Status::Failed(vec!["fails_cleanly".to_owned()])
        );
        assert!(report.contains("this test fails on purpose"), "{report}");

        let (clean, report) = check_program("clean");
        assert_eq!(clean.exit_code(), 0, "{report}");
        assert_eq!(clean.status, Status::Passed);
    }

    fn fixture_run(name: &str) -> Result<xml::Run, String> {
        let path = project_root()
            .join("xtask/tests/fixtures/memcheck")
            .join(name);
        read_xml(&path, None)
    }

    /// A checked binary whose own XML is `run`, with no children, that ended with `status`.
    fn checked(run: Result<xml::Run, String>, status: Status) -> Checked {
        Checked {
            binary: Binary::new("fixture", "test", PathBuf::from("fixture"), true),
            elapsed: Duration::ZERO,
            status,
            run,
            children: Vec::new(),
            tests: Vec::new(),
            by_rerun: Vec::new(),
            xml_path: PathBuf::new(),
            logs: [PathBuf::new(), PathBuf::new()],
            failure_output: String::new(),
        }
    }

    /// `unknown-kind.xml` without its unknown kind: one possibly lost block, nothing else.
    fn possibly_lost_only() -> Result<xml::Run, String> {
        let mut run = fixture_run("unknown-kind.xml")?;
        run.errors.retain(|e| !matches!(e.kind, Kind::Unknown(_)));
        assert_eq!(run.errors.len(), 1);
        assert_eq!(run.errors[0].kind, Kind::Leak(xml::LeakKind::Possible));
        Ok(run)
    }

    /// The verdict from parsed XML and the program's own outcome, without Valgrind.
    #[test]
    fn verdict_from_fixtures() {
        let failed = || Status::Failed(vec!["a_test".to_owned()]);
        let cases: Vec<(&str, Checked, u8)> = vec![
            (
                "definite leak",
                checked(fixture_run("definite-leak.xml"), Status::Passed),
                EXIT_FINDINGS,
            ),
            (
                "invalid read",
                checked(fixture_run("invalid-read.xml"), Status::Passed),
                EXIT_FINDINGS,
            ),
            (
                "protocol 6: invalid write and leak",
                checked(fixture_run("protocol6.xml"), Status::Passed),
                EXIT_FINDINGS,
            ),
            (
                "unknown kind is a finding",
                checked(fixture_run("unknown-kind.xml"), Status::Passed),
                EXIT_FINDINGS,
            ),
            (
                "a finding wins over a failed test",
                checked(fixture_run("definite-leak.xml"), failed()),
                EXIT_FINDINGS,
            ),
            (
                "a finding wins over a timeout",
                checked(fixture_run("definite-leak.xml"), Status::TimedOut),
                EXIT_FINDINGS,
            ),
            (
                "clean",
                checked(fixture_run("clean.xml"), Status::Passed),
                0,
            ),
            (
                "clean but a test failed",
                checked(fixture_run("clean.xml"), failed()),
                EXIT_TESTS_FAILED,
            ),
            (
                "possibly lost only",
                checked(possibly_lost_only(), Status::Passed),
                0,
            ),
            (
                "unclosed file descriptor only",
                checked(fixture_run("protocol5-fds.xml"), Status::Passed),
                0,
            ),
            (
                "truncated XML could not be read",
                checked(fixture_run("truncated.xml"), Status::Passed),
                EXIT_NOT_RUN,
            ),
            (
                "unreadable XML wins over a failed test",
                checked(fixture_run("truncated.xml"), failed()),
                EXIT_NOT_RUN,
            ),
            (
                "clean but timed out",
                checked(fixture_run("clean.xml"), Status::TimedOut),
                EXIT_NOT_RUN,
            ),
        ];
        let mut wrong = Vec::new();
        for (name, checked, want) in &cases {
            let got = checked.exit_code();
            if got != *want {
                wrong.push(format!("{name}: exit {got}, want {want}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn a_finding_in_a_child_process_fails_the_binary() {
        let mut parent = checked(fixture_run("clean.xml"), Status::Passed);
        parent.children.push(ChildRun {
            pid: 42,
            xml_path: PathBuf::new(),
            run: fixture_run("invalid-read.xml"),
        });
        assert_eq!(parent.exit_code(), EXIT_FINDINGS);
        assert!(parent.headline().starts_with("FAIL (memcheck)"));
    }

    #[test]
    fn names_test_needs_path_boundaries() {
        assert!(names_test(
            "it::contexts::plain_thread",
            "contexts::plain_thread"
        ));
        assert!(names_test(
            "it::contexts::plain_thread::{closure#0}",
            "contexts::plain_thread"
        ));
        assert!(names_test(
            "it::contexts::from_tokio_test::{async_block#0}",
            "contexts::from_tokio_test"
        ));
        assert!(!names_test(
            "it::contexts::plain_thread_2",
            "contexts::plain_thread"
        ));
        assert!(!names_test(
            "it::mycontexts::plain_thread",
            "contexts::plain_thread"
        ));
    }

    #[test]
    fn status_is_the_programs_own() {
        let ok = "test a ... ok\n\ntest result: ok. 1 passed; 0 failed\n";
        let failed = "test a ... FAILED\n\nfailures:\n\n---- a stdout ----\npanicked\n\nfailures:\n    a\n\ntest result: FAILED. 0 passed; 1 failed\n";
        let exit = |code: i32| {
            use std::os::unix::process::ExitStatusExt as _;
            ExitStatus::from_raw(code << 8)
        };
        assert_eq!(status_of(exit(0), ok), Status::Passed);
        assert_eq!(
            status_of(exit(101), failed),
            Status::Failed(vec!["a".to_owned()])
        );
        assert_eq!(
            status_of(exit(3), ""),
            Status::Failed(vec!["the binary exited with code 3".to_owned()])
        );
        assert!(failure_section(failed).contains("panicked"));
    }
}
