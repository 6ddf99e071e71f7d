//! Checks of the tree's shape, run as tests: each file stays short enough to hold in one's
//! head, and each function short enough to read at once; each type has one
//! name and its inherent impl one file ([`structure`]); no modules depend on each other in a
//! circle ([`cycles`]).

mod cycles;
mod structure;

use crate::project_root;
use crate::util::rust_files;
use gungraun_gate::callgrind::FnLines;
use structure::SourceFile;

const MAX_FILE_LINES: usize = 500;
const MAX_FN_LINES: usize = 80;

/// Where the size limits apply: the library, xtask and the benches.
const CHECKED_DIRS: [&str; 4] = ["src", "xtask/src", "gungraun-gate/src", "benches"];

/// A file allowed more than [`MAX_FILE_LINES`], and why splitting it would be worse.
struct LongerFile {
    path: &'static str,
    max_lines: usize,
    why: &'static str,
}

/// The files allowed more lines. Each holds one type's inherent impl or one strategy,
/// which the rules below keep in one file, and the manual of public items with their
/// runnable examples: moving half of it out would split one concept, never shorten it.
const LONGER_FILES: [LongerFile; 3] = [
    LongerFile {
        path: "src/execute.rs",
        max_lines: 800,
        why: "the four public entry points, their manuals and the one strategy they share               (slot, fast path, slow paths, retry without a context)",
    },
    LongerFile {
        path: "src/config.rs",
        max_lines: 750,
        why: "`Config`'s inherent impl, one documented builder method per setting, and the               one place a runtime is built",
    },
    LongerFile {
        path: "src/global.rs",
        max_lines: 600,
        why: "`Global`'s inherent impl, which must live in one file",
    },
];

/// The most lines the file `name` may have.
fn max_file_lines(name: &str) -> usize {
    LONGER_FILES
        .iter()
        .find(|file| file.path == name)
        .map_or(MAX_FILE_LINES, |file| file.max_lines)
}

/// What is too long in `source`, named for a failure message.
fn too_long(name: &str, source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lines = source.lines().count();
    let max_lines = max_file_lines(name);
    if lines > max_lines {
        found.push(format!("{name}: {lines} lines (at most {max_lines})"));
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
fn files_and_functions_stay_short() {
    let root = project_root();
    let mut found = Vec::new();
    for dir in CHECKED_DIRS {
        for path in rust_files(&root.join(dir)).unwrap() {
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
    // A raised limit applies to its own file only, and is a limit too.
    let longer = &LONGER_FILES[0];
    assert!(too_long(longer.path, &file).is_empty());
    let past = "// line\n".repeat(longer.max_lines + 1);
    assert_eq!(
        too_long(longer.path, &past),
        [format!(
            "{}: {} lines (at most {})",
            longer.path,
            longer.max_lines + 1,
            longer.max_lines
        )]
    );
}

#[test]
fn every_raised_limit_is_needed_and_says_why() {
    let root = project_root();
    for file in &LONGER_FILES {
        let lines = std::fs::read_to_string(root.join(file.path))
            .unwrap_or_else(|err| panic!("{}: {err}", file.path))
            .lines()
            .count();
        assert!(
            lines > MAX_FILE_LINES,
            "{}: {lines} lines fit the default limit; remove its entry",
            file.path
        );
        assert!(!file.why.is_empty(), "{}: say why", file.path);
    }
}

/// The source files of the crate whose `src` directory is `dir` (from the workspace root).
fn crate_files(dir: &str) -> Vec<SourceFile> {
    let root = project_root();
    let src = root.join(dir);
    rust_files(&src)
        .unwrap()
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(&src).unwrap().display().to_string();
            let name = path.strip_prefix(&root).unwrap().display().to_string();
            SourceFile::new(name, &relative, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// The workspace's crates, by `src` directory: xtask, the gate, the bench support crate and
/// the library. Each is checked on its own: a name is declared once within a crate.
const CRATES: [&str; 4] = [
    "xtask/src",
    "gungraun-gate/src",
    "benches/support/src",
    "src",
];

/// What `check` finds in each crate of [`CRATES`], each crate on its own.
fn in_every_crate(check: fn(&[SourceFile]) -> Vec<String>) -> Vec<String> {
    CRATES
        .iter()
        .flat_map(|dir| check(&crate_files(dir)))
        .collect()
}

/// Fails with `advice` and each of `found`, one a line, unless `found` is empty.
fn assert_none_found(found: &[String], advice: &str) {
    assert!(found.is_empty(), "{advice}:\n{}", found.join("\n"));
}

#[test]
fn each_type_name_is_declared_once() {
    let found = in_every_crate(structure::duplicate_type_names);
    assert_none_found(
        &found,
        "one name, one concept; qualify these by what they are",
    );
}

#[test]
fn each_inherent_impl_lives_in_one_file() {
    let found = in_every_crate(structure::split_impls);
    assert_none_found(&found, "each type's inherent impl in one file");
}

#[test]
fn no_modules_depend_on_each_other_in_a_circle() {
    let found = in_every_crate(cycles::module_cycles);
    assert_none_found(
        &found,
        "module cycles; move what both sides need into a module of its own, or give one \
         side what it owns",
    );
}
