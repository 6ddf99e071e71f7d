//! Checks of the tree's shape, run as tests: each file of the proof half stays short enough
//! to hold in one's head, and each function short enough to read at once.

use std::path::{Path, PathBuf};

use crate::bench::callgrind::FnLines;
use crate::project_root;

const MAX_FILE_LINES: usize = 500;
const MAX_FN_LINES: usize = 80;

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// What is too long in `source`, named for a failure message.
fn too_long(name: &str, source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lines = source.lines().count();
    if lines > MAX_FILE_LINES {
        found.push(format!("{name}: {lines} lines (at most {MAX_FILE_LINES})"));
    }
    let fns = FnLines::parse(source).unwrap_or_else(|err| panic!("{name}: {err}"));
    for (f, len) in fns.lengths().filter(|(_, len)| *len > MAX_FN_LINES) {
        found.push(format!(
            "{name}: fn {f} has {len} lines (at most {MAX_FN_LINES})"
        ));
    }
    found
}

#[test]
fn files_and_functions_of_the_proof_half_stay_short() {
    let root = project_root();
    let mut found = Vec::new();
    for dir in ["xtask/src", "benches"] {
        for path in rust_files(&root.join(dir)) {
            let source = std::fs::read_to_string(&path).unwrap();
            let name = path.strip_prefix(&root).unwrap().display().to_string();
            found.extend(too_long(&name, &source));
        }
    }
    assert!(found.is_empty(), "split these:\n{}", found.join("\n"));
}

#[test]
fn a_long_function_is_found() {
    let body = "    let _ = 1;\n".repeat(MAX_FN_LINES);
    let source = format!("fn short() {{}}\nfn long() {{\n{body}}}\n");
    assert_eq!(
        too_long("x.rs", &source),
        [format!(
            "x.rs: fn long has {} lines (at most {MAX_FN_LINES})",
            MAX_FN_LINES + 2
        )]
    );
    let file = "// line\n".repeat(MAX_FILE_LINES + 1);
    assert_eq!(
        too_long("y.rs", &file),
        [format!(
            "y.rs: {} lines (at most {MAX_FILE_LINES})",
            MAX_FILE_LINES + 1
        )]
    );
}
