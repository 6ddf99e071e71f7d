//! Inclusive instruction counts per function, read from callgrind's own output format
//! (<https://valgrind.org/docs/manual/cl-format.html>), and the functions that grew most.
//!
//! Parsing the data files rather than `callgrind_annotate`'s text keeps this independent of
//! the annotate script's layout, which changes between Valgrind versions. Handled: name
//! compression (`(id) name`, `(id)`), any number of position columns, `fi=`/`fe=` inlined
//! file switches, `calls=` lines (the next line is the call's inclusive cost). A function's
//! inclusive count is its self cost plus the cost of its calls to *other* functions, summed
//! over every thread's file, so direct recursion is not counted twice.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, bail};

use super::compare::FunctionDelta;

/// Per function: inclusive cost, and self cost per source file (inlined code shows here).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Profile {
    pub(crate) inclusive: BTreeMap<String, u64>,
    pub(crate) self_by_file: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Profile {
    fn merge(&mut self, other: Profile) {
        for (f, c) in other.inclusive {
            *self.inclusive.entry(f).or_default() += c;
        }
        for (f, files) in other.self_by_file {
            let into = self.self_by_file.entry(f).or_default();
            for (file, c) in files {
                *into.entry(file).or_default() += c;
            }
        }
    }
}

/// Resolves `(id) name` / `(id)` compression for one kind of name.
#[derive(Default)]
struct Names(HashMap<String, String>);

impl Names {
    fn resolve(&mut self, raw: &str) -> String {
        let raw = raw.trim();
        if let Some(rest) = raw.strip_prefix('(')
            && let Some(end) = rest.find(')')
        {
            let id = &rest[..end];
            let name = rest[end + 1..].trim();
            if name.is_empty() {
                return self.0.get(id).cloned().unwrap_or_else(|| raw.to_owned());
            }
            self.0.insert(id.to_owned(), name.to_owned());
            return name.to_owned();
        }
        raw.to_owned()
    }
}

/// Shortens a source path so base (a worktree) and head (this checkout) name files alike:
/// the checkout `root` prefix, cargo's registry prefix and rustc's `/rustc/<hash>/` go.
pub(crate) fn short_file(path: &str, root: &str) -> String {
    let root = root.trim_end_matches('/');
    if let Some(rest) = path.strip_prefix(root).and_then(|r| r.strip_prefix('/')) {
        return rest.to_owned();
    }
    if let Some(i) = path.find("/registry/src/") {
        let rest = &path[i + "/registry/src/".len()..];
        if let Some(j) = rest.find('/') {
            return rest[j + 1..].to_owned();
        }
    }
    if let Some(rest) = path.strip_prefix("/rustc/")
        && let Some(j) = rest.find('/')
    {
        return rest[j + 1..].to_owned();
    }
    path.to_owned()
}

/// Parses one callgrind data file, counting `event` (e.g. `Ir`); file names are shortened
/// with [`short_file`] against `root`.
pub(crate) fn parse(text: &str, event: &str, root: &str) -> anyhow::Result<Profile> {
    let mut positions = 1usize;
    let mut event_index = None;
    let mut fns = Names::default();
    let mut files = Names::default();
    let mut profile = Profile::default();
    let mut current_fn: Option<String> = None;
    let mut fn_file = String::new();
    let mut cost_file = String::new();
    let mut callee: Option<String> = None;
    let mut call_cost_next = false;

    let cost_of = |line: &str, positions: usize, index: usize| -> anyhow::Result<u64> {
        match line.split_whitespace().nth(positions + index) {
            None => Ok(0),
            Some(tok) => tok
                .parse::<u64>()
                .with_context(|| format!("bad cost {tok:?} in line {line:?}")),
        }
    };

    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("positions:") {
            positions = rest.split_whitespace().count().max(1);
        } else if let Some(rest) = line.strip_prefix("events:") {
            event_index = rest.split_whitespace().position(|e| e == event);
            if event_index.is_none() {
                bail!("callgrind file has no {event} event (events:{rest})");
            }
        } else if let Some(rest) = line.strip_prefix("fn=") {
            let name = fns.resolve(rest);
            current_fn = Some(name);
            cost_file = fn_file.clone();
            callee = None;
        } else if let Some(rest) = line.strip_prefix("fl=") {
            fn_file = short_file(&files.resolve(rest), root);
            cost_file = fn_file.clone();
        } else if let Some(rest) = line
            .strip_prefix("fi=")
            .or_else(|| line.strip_prefix("fe="))
        {
            cost_file = short_file(&files.resolve(rest), root);
        } else if let Some(rest) = line.strip_prefix("cfn=") {
            callee = Some(fns.resolve(rest));
        } else if let Some(rest) = line
            .strip_prefix("cfi=")
            .or_else(|| line.strip_prefix("cfl="))
        {
            files.resolve(rest);
        } else if line.starts_with("calls=") {
            call_cost_next = true;
        } else if line.starts_with(|c: char| c.is_ascii_digit() || "+-*".contains(c)) {
            let Some(index) = event_index else {
                bail!("callgrind cost line before the `events:` header");
            };
            let Some(function) = current_fn.clone() else {
                bail!("callgrind cost line outside a function");
            };
            let cost = cost_of(line, positions, index)?;
            if call_cost_next {
                call_cost_next = false;
                if callee.as_deref() != Some(function.as_str()) {
                    *profile.inclusive.entry(function).or_default() += cost;
                }
            } else {
                *profile.inclusive.entry(function.clone()).or_default() += cost;
                *profile
                    .self_by_file
                    .entry(function)
                    .or_default()
                    .entry(cost_file.clone())
                    .or_default() += cost;
            }
        }
        // Other header lines (version, creator, pid, cmd, part, desc, summary, totals, …)
        // carry nothing needed here.
    }
    if event_index.is_none() {
        bail!("not a callgrind data file (no `events:` header)");
    }
    Ok(profile)
}

/// Sums the profiles of every callgrind data file in `dir` (one per thread with
/// `--separate-threads=yes`); `.old` files from earlier runs are skipped.
pub(crate) fn profile_dir(dir: &Path, event: &str, root: &Path) -> anyhow::Result<Profile> {
    let root = root.to_string_lossy();
    let mut total = Profile::default();
    let mut found = false;
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !name.starts_with("callgrind.") || !name.contains(".out") || name.ends_with(".old") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let profile = parse(&text, event, &root).with_context(|| format!("{}", path.display()))?;
        total.merge(profile);
        found = true;
    }
    if !found {
        bail!("no callgrind data file in {}", dir.display());
    }
    Ok(total)
}

/// The `n` functions whose inclusive count grew most from `base` to `head`, each with the
/// source files whose (possibly inlined) self cost grew most inside it.
pub(crate) fn grew_most(base: &Profile, head: &Profile, n: usize) -> Vec<FunctionDelta> {
    let mut deltas: Vec<FunctionDelta> = head
        .inclusive
        .iter()
        .filter_map(|(function, &now)| {
            let before = base.inclusive.get(function).copied().unwrap_or(0);
            (now > before).then(|| FunctionDelta {
                function: function.clone(),
                base: before,
                now,
                delta: now as i64 - before as i64,
                files: files_that_grew(base, head, function),
            })
        })
        .collect();
    deltas.sort_by(|a, b| b.delta.cmp(&a.delta).then(a.function.cmp(&b.function)));
    deltas.truncate(n);
    deltas
}

fn files_that_grew(base: &Profile, head: &Profile, function: &str) -> Vec<String> {
    let empty = BTreeMap::new();
    let before = base.self_by_file.get(function).unwrap_or(&empty);
    let Some(now) = head.self_by_file.get(function) else {
        return Vec::new();
    };
    let mut grown: Vec<(i64, &String)> = now
        .iter()
        .map(|(file, &c)| {
            (
                c as i64 - before.get(file).copied().unwrap_or(0) as i64,
                file,
            )
        })
        .filter(|(d, _)| *d > 0)
        .collect();
    grown.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    grown
        .into_iter()
        .take(2)
        .map(|(d, file)| format!("{file} (+{d})"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = include_str!("../../tests/fixtures/bench/callgrind.base.out");
    const HEAD: &str = include_str!("../../tests/fixtures/bench/callgrind.head.out");

    #[test]
    fn inclusive_counts_follow_calls() {
        let p = parse(BASE, "Ir", "/work/x").unwrap();
        // main: self 10 + 3, calls work (inclusive 120) and helper (7).
        assert_eq!(p.inclusive["main"], 140);
        assert_eq!(p.inclusive["work"], 120);
        assert_eq!(p.inclusive["helper"], 7);
        // Direct recursion is not counted twice.
        assert_eq!(p.inclusive["recurse"], 50);
        assert_eq!(p.self_by_file["work"]["src/lib.rs"], 100);
        assert_eq!(p.self_by_file["work"]["src/inlined.rs"], 20);
    }

    #[test]
    fn the_function_that_grew_is_named_with_its_file() {
        let base = parse(BASE, "Ir", "/work/x").unwrap();
        let head = parse(HEAD, "Ir", "/work/x").unwrap();
        let grew = grew_most(&base, &head, 5);
        assert_eq!(grew[0].function, "main");
        assert_eq!(grew[1].function, "work");
        assert_eq!(grew[1].delta, 30);
        assert_eq!(grew[1].files, vec!["src/inlined.rs (+30)".to_owned()]);
        assert!(grew.iter().all(|g| g.function != "helper"));
    }

    #[test]
    fn not_callgrind_is_an_error() {
        assert!(parse("hello\n", "Ir", "/").is_err());
        assert!(parse("events: Dr\nfn=a\n1 2\n", "Ir", "/").is_err());
    }

    #[test]
    fn file_names_are_shortened_alike_for_base_and_head() {
        let reg =
            "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.54.1/src/a.rs";
        assert_eq!(short_file(reg, "/w"), "tokio-1.54.1/src/a.rs");
        assert_eq!(
            short_file("/rustc/abc123/library/core/src/cell.rs", "/w"),
            "library/core/src/cell.rs"
        );
        assert_eq!(
            short_file("/w/tree/src/execute.rs", "/w/tree/"),
            "src/execute.rs"
        );
        assert_eq!(short_file("/elsewhere/x.rs", "/w"), "/elsewhere/x.rs");
    }
}
