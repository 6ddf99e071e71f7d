//! One run of a binary under Valgrind memcheck: its options, the child process and its
//! timeout, and the XML each traced process left behind.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use wait_timeout::ChildExt as _;

use super::build::Binary;
use super::xml::{self, ValgrindOutput};

/// How every binary of one `cargo xtask memcheck` runs.
#[derive(Debug)]
pub(super) struct MemcheckSettings {
    /// The workspace: the binaries run there, and stack frames under it are ours.
    pub(super) root: PathBuf,
    pub(super) suppressions: Vec<PathBuf>,
    pub(super) gen_suppressions: bool,
    pub(super) timeout: Duration,
}

/// Every `valgrind/*.supp`, sorted, so runs are reproducible.
pub(super) fn suppression_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
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

/// A directory for Valgrind's XML and the binaries' output, removed at the end. Written by
/// hand rather than with `tempfile`: one fixed name per process is all it needs.
#[derive(Debug)]
pub(super) struct WorkDir {
    pub(super) path: PathBuf,
}

impl WorkDir {
    pub(super) fn new() -> anyhow::Result<WorkDir> {
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

/// Where the program's own output went.
#[derive(Debug, Default)]
pub(super) struct Logs {
    pub(super) stdout: PathBuf,
    pub(super) stderr: PathBuf,
}

/// One process Valgrind traced: the binary itself, or a process it started (a test that
/// re-runs the test binary), each with its own XML file.
#[derive(Debug)]
pub(super) struct TracedProcess {
    pub(super) pid: u32,
    pub(super) xml_path: PathBuf,
    /// The XML read, or why it could not be.
    pub(super) output: Result<ValgrindOutput, String>,
}

/// What one run under memcheck left behind.
#[derive(Debug)]
pub(super) struct Traced {
    /// The binary's exit status; `None` when it timed out and was killed.
    pub(super) exit: Option<ExitStatus>,
    pub(super) program: TracedProcess,
    /// The processes it started, by pid.
    pub(super) children: Vec<TracedProcess>,
    pub(super) logs: Logs,
}

/// Runs `binary` with `args` under memcheck, its files in `work` named after the binary and
/// `suffix`, and reads every XML file it left.
pub(super) fn run(
    binary: &Binary,
    args: &[String],
    suffix: &str,
    work: &Path,
    settings: &MemcheckSettings,
) -> anyhow::Result<Traced> {
    // One XML file per process: `%p` is the pid, so traced children get their own.
    let prefix = format!("{}{suffix}.", binary.stem);
    remove_xml_files(work, &prefix)?;
    let logs = Logs {
        stdout: work.join(format!("{}{suffix}.stdout", binary.stem)),
        stderr: work.join(format!("{}{suffix}.stderr", binary.stem)),
    };
    let mut child = Command::new("valgrind")
        .args(valgrind_args(
            settings,
            binary,
            &work.join(format!("{prefix}%p.xml")),
        ))
        .arg(&binary.path)
        .args(args)
        .envs(binary.env.iter().map(|(name, value)| (name, value)))
        .current_dir(&settings.root)
        .stdin(Stdio::null())
        .stdout(File::create(&logs.stdout)?)
        .stderr(File::create(&logs.stderr)?)
        .spawn()
        .context("starting valgrind")?;
    // Valgrind runs the program in its own process, so the program's pid is this one.
    let pid = child.id();
    let exit = wait_or_kill(&mut child, settings.timeout)?;
    let xml_path = work.join(format!("{prefix}{pid}.xml"));
    let program = TracedProcess {
        pid,
        output: read_xml(&xml_path, Some(&logs.stderr)),
        xml_path,
    };
    Ok(Traced {
        exit,
        program,
        children: traced_children(work, &prefix, pid)?,
        logs,
    })
}

fn valgrind_args(settings: &MemcheckSettings, binary: &Binary, xml_file: &Path) -> Vec<OsString> {
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

/// Removes the XML files an earlier run with the same `prefix` left, so that only this
/// run's processes are read.
fn remove_xml_files(work: &Path, prefix: &str) -> io::Result<()> {
    for entry in fs::read_dir(work)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with(prefix) && name.ends_with(".xml") {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// The child's exit status, or `None` once it ran past `timeout` and was killed.
fn wait_or_kill(child: &mut Child, timeout: Duration) -> io::Result<Option<ExitStatus>> {
    let exit = child.wait_timeout(timeout)?;
    if exit.is_none() {
        // Only the child we started, by its handle.
        let _ = child.kill();
        let _ = child.wait();
    }
    Ok(exit)
}

/// The XML files of the processes the program started: every `{prefix}{pid}.xml` but the
/// program's own, sorted by pid.
fn traced_children(work: &Path, prefix: &str, program: u32) -> io::Result<Vec<TracedProcess>> {
    let mut children = Vec::new();
    for entry in fs::read_dir(work)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let pid = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(".xml"))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid.filter(|p| *p != program) {
            children.push(TracedProcess {
                pid,
                output: read_xml(&path, None),
                xml_path: path,
            });
        }
    }
    children.sort_by_key(|c| c.pid);
    Ok(children)
}

/// Reads one XML file; an error names the file's problem and, when given, the last line
/// Valgrind wrote to stderr.
pub(super) fn read_xml(path: &Path, stderr: Option<&Path>) -> Result<ValgrindOutput, String> {
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
