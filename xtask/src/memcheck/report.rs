//! The printed report: a headline and details per binary, then the totals.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::exit::Exit;

use super::attribute;
use super::valgrind::{MemcheckSettings, TracedProcess};
use super::verdict::{CheckedBinary, ProgramStatus};
use super::xml::{self, Kind, Leaked};

/// One line: the verdict, the time, and what was found, reported and suppressed.
pub(super) fn headline(checked: &CheckedBinary) -> String {
    let time = format!("{:.1}s", checked.elapsed.as_secs_f64());
    let mut line = match checked.exit_code() {
        Exit::Passed => format!("ok in {time}"),
        Exit::Failed => format!("FAIL (memcheck) in {time}: {}", by_kind(checked.findings())),
        Exit::NotRun => format!("NOT CHECKED in {time}: {}", why_not_checked(checked)),
        _ => format!("TESTS FAILED in {time} (memcheck clean)"),
    };
    if let ProgramStatus::Failed(tests) = &checked.status
        && checked.exit_code() == Exit::Failed
    {
        let _ = write!(line, "; tests failed too: {}", tests.join(", "));
    }
    let warnings: Vec<_> = checked.warnings().collect();
    if !warnings.is_empty() {
        let _ = write!(line, "; not failing: {}", by_kind(warnings.into_iter()));
    }
    let matched: u64 = suppressions(checked).values().sum();
    if matched > 0 {
        let _ = write!(line, "; suppressed {matched}");
    }
    if !checked.children.is_empty() {
        let _ = write!(line, "; {} child processes checked", checked.children.len());
    }
    line
}

fn why_not_checked(checked: &CheckedBinary) -> String {
    match (&checked.status, &checked.program.output) {
        (ProgramStatus::TimedOut, _) => format!(
            "timed out after {}s; raise --timeout if it is just slow",
            checked.elapsed.as_secs()
        ),
        (_, Err(why)) => why.clone(),
        _ => String::new(),
    }
}

/// The indented report under the headline: each finding with its test and stack.
pub(super) fn details(checked: &CheckedBinary, settings: &MemcheckSettings) -> String {
    let mut out = String::new();
    if let Ok(output) = &checked.program.output
        && !(4..=6).contains(&output.protocol)
    {
        let _ = writeln!(
            out,
            "    note: XML protocol {} is not one this reader was written for (4-6); \
             it read what it knows",
            output.protocol
        );
    }
    for (failing, label) in [(true, "error"), (false, "warning (does not fail)")] {
        for (child, error) in checked.errors(failing) {
            describe(checked, &mut out, child, error, label, settings);
        }
    }
    for child in &checked.children {
        if let Err(why) = &child.output {
            let _ = writeln!(
                out,
                "    note: child process {} was not checked: {why}",
                child.pid
            );
        }
    }
    if let ProgramStatus::Failed(tests) = &checked.status {
        let _ = writeln!(out, "    test failure: {}", tests.join(", "));
        for line in checked.failure_output.lines().take(40) {
            let _ = writeln!(out, "      | {line}");
        }
    }
    if checked.exit_code() != Exit::Passed {
        let _ = writeln!(
            out,
            "    rerun: cargo xtask memcheck --filter '{}' --keep-xml target/memcheck \
             [--gen-suppressions]",
            checked.binary.name
        );
    }
    for (name, count) in suppressions(checked) {
        let _ = writeln!(out, "    suppression {name}: matched {count}");
    }
    out
}

/// One error: its kind and line, the child process and test it comes from, its stacks,
/// and with `--gen-suppressions` the entry that would suppress it.
fn describe(
    checked: &CheckedBinary,
    out: &mut String,
    child: Option<&TracedProcess>,
    error: &xml::Error,
    label: &str,
    settings: &MemcheckSettings,
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
            .output
            .as_ref()
            .map(|output| output.argv.join(" "))
            .unwrap_or_default();
        let _ = writeln!(out, "    in child process {}: {argv}", child.pid);
    }
    if checked.binary.libtest {
        let _ = writeln!(out, "    test: {}", attribute::test_of(checked, error));
    }
    write_stack(out, &error.stack, &settings.root, "at");
    for aux in &error.aux {
        if !aux.what.is_empty() {
            let _ = writeln!(out, "    {}", aux.what);
        }
        write_stack(out, &aux.stack, &settings.root, "  at");
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

/// Suppression names and how often each matched, over the binary and its children.
fn suppressions(checked: &CheckedBinary) -> BTreeMap<&str, u64> {
    let mut matched = BTreeMap::new();
    for (_, output) in checked.outputs() {
        for (name, n) in &output.suppressions {
            *matched.entry(name.as_str()).or_default() += n;
        }
    }
    matched
}
/// Occurrences of one kind, and what its leaks lost.
#[derive(Debug, Default)]
struct KindTotal {
    count: u64,
    leaked: Leaked,
}

/// "InvalidRead x2, Leak_DefinitelyLost x1 (4096 bytes in 1 blocks)".
fn by_kind<'a>(errors: impl Iterator<Item = &'a xml::Error>) -> String {
    let mut kinds: BTreeMap<Kind, KindTotal> = BTreeMap::new();
    for error in errors {
        let total = kinds.entry(error.kind.clone()).or_default();
        total.count += error.count;
        if let Some(leaked) = error.leaked {
            total.leaked.bytes += leaked.bytes;
            total.leaked.blocks += leaked.blocks;
        }
    }
    kinds
        .iter()
        .map(|(kind, KindTotal { count, leaked })| {
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
        write_top_of_stack(out, stack, prefix);
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

/// The top four frames, for a stack with none in this workspace.
fn write_top_of_stack(out: &mut String, stack: &[xml::Frame], prefix: &str) {
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

/// How often one suppression matched over the whole run.
#[derive(Debug, Default)]
struct SuppressionTotal {
    matched: u64,
    /// In how many of the binaries (with their children) it matched.
    binaries: usize,
}

/// Prints the totals and returns the exit code: findings first, then anything not
/// checked, then failed tests.
pub(super) fn totals(results: &[CheckedBinary], elapsed: Duration) -> Exit {
    let count = |exit| results.iter().filter(|r| r.exit_code() == exit).count();
    println!(
        "memcheck: {} binar{} in {:.1}s: {} clean, {} with memcheck findings, {} with failed tests, {} not checked",
        results.len(),
        if results.len() == 1 { "y" } else { "ies" },
        elapsed.as_secs_f64(),
        count(Exit::Passed),
        count(Exit::Failed),
        count(Exit::TestsFailed),
        count(Exit::NotRun),
    );
    let findings: Vec<_> = results.iter().flat_map(CheckedBinary::findings).collect();
    if !findings.is_empty() {
        println!("memcheck: findings: {}", by_kind(findings.into_iter()));
    }
    let mut matched: BTreeMap<&str, SuppressionTotal> = BTreeMap::new();
    for result in results {
        for (name, n) in suppressions(result) {
            let total = matched.entry(name).or_default();
            total.matched += n;
            total.binaries += 1;
        }
    }
    for (name, total) in &matched {
        println!(
            "memcheck: suppression {name}: matched {} times in {} of the binaries",
            total.matched, total.binaries
        );
    }
    let exit = [Exit::Failed, Exit::NotRun, Exit::TestsFailed]
        .into_iter()
        .find(|exit| count(*exit) > 0)
        .unwrap_or(Exit::Passed);
    let verdict = match exit {
        Exit::Passed => "clean",
        Exit::Failed => "memory errors found",
        Exit::NotRun => "some binaries could not be checked",
        _ => "memcheck clean, but tests failed",
    };
    println!("memcheck: {verdict} (exit {})", exit.code());
    exit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memcheck::verdict::tests::failing_child;

    #[test]
    fn a_finding_in_a_child_process_heads_the_binary_as_failed() {
        assert!(headline(&failing_child()).starts_with("FAIL (memcheck)"));
    }
}
