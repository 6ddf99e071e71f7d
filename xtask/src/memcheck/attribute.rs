//! The test a finding belongs to: by the test function on its stack, or, when there is
//! none, by the tests that reproduce it when run alone.

use std::io::{self, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use super::build::Binary;
use super::valgrind::{self, MemcheckSettings};
use super::verdict::{CheckedBinary, Reproduced};
use super::xml;

/// The tests a libtest binary holds (`--list`, run natively: it is fast and runs no test).
pub(super) fn list_tests(binary: &Binary) -> Vec<String> {
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

/// The test a finding belongs to: the longest test name that appears as a function path
/// on its stacks (`it::contexts::plain_thread`, `…::plain_thread::{closure#0}`,
/// `…::{async_block#0}`).
pub(super) fn attribute(error: &xml::Error, tests: &[String]) -> Option<String> {
    let frames = error
        .stack
        .iter()
        .chain(error.aux.iter().flat_map(|aux| &aux.stack));
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

/// What identifies a finding across runs: its kind and the functions on top of its stack.
pub(super) fn signature(error: &xml::Error) -> String {
    let mut sig = error.kind.to_string();
    for frame in error.stack.iter().take(12) {
        sig.push('|');
        sig.push_str(frame.func.as_deref().unwrap_or("?"));
    }
    sig
}

/// Whether some finding of `checked` has no test function on its stack and there is more than one
/// test it could come from.
pub(super) fn needs_rerun(checked: &CheckedBinary) -> bool {
    let unattributed = checked
        .findings()
        .any(|error| attribute(error, &checked.tests).is_none());
    unattributed && checked.tests.len() > 1
}

/// The report's answer to "which test?" for `error`.
pub(super) fn test_of(checked: &CheckedBinary, error: &xml::Error) -> String {
    let signature = signature(error);
    let reproduced = checked.reproduced.iter().find(|r| r.signature == signature);
    match (attribute(error, &checked.tests), reproduced) {
        (Some(test), _) => test,
        (None, Some(reproduced)) => format!(
            "{} (reproduced running it alone)",
            reproduced.tests.join(", ")
        ),
        (None, None) => "? (no test function on its stack, and no test reproduces \
                         it alone: it comes from the harness or from tests together)"
            .to_owned(),
    }
}
/// For findings with no test function on their stack (a leak in a task on a runtime
/// worker, in a helper thread): runs each test alone under memcheck and records which
/// tests reproduce each finding, by [`signature`].
pub(super) fn rerun_each_test(
    binary: &Binary,
    tests: &[String],
    work: &Path,
    settings: &MemcheckSettings,
) -> anyhow::Result<Vec<Reproduced>> {
    print!(
        "(naming the test: rerunning its {} tests one at a time) ",
        tests.len()
    );
    io::stdout().flush()?;
    let mut found: Vec<Reproduced> = Vec::new();
    for test in tests {
        let args = [
            "--test-threads=1".to_owned(),
            "--exact".to_owned(),
            test.clone(),
        ];
        let traced = valgrind::run(binary, &args, "-one", work, settings)?;
        let outputs = std::iter::once(traced.program)
            .chain(traced.children)
            .filter_map(|process| process.output.ok());
        let errors: Vec<xml::Error> = outputs.flat_map(|output| output.errors).collect();
        for error in errors.iter().filter(|e| e.kind.fails()) {
            let signature = signature(error);
            match found.iter_mut().find(|r| r.signature == signature) {
                Some(reproduced) => reproduced.tests.push(test.clone()),
                None => found.push(Reproduced {
                    signature,
                    tests: vec![test.clone()],
                }),
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
