//! Callgrind's own output, read into one call graph per thread and then into the
//! functions that grew most from base to head.
//!
//! Parsing the data files rather than `callgrind_annotate`'s text keeps this independent of
//! the annotate script's layout, which changes between Valgrind versions ([`parser`]). A
//! function's inclusive count is its self cost plus the cost of its calls to *other*
//! functions, summed over every thread's file, so direct recursion is not counted twice
//! ([`Profile`]); [`grew_most`] compares two profiles.
//!
//! Self cost is kept per source line because inlined code carries the file and line it was
//! written at but not its function: for the checkout's own files, [`enclosing_fn`] names the
//! `fn` around the line, so code of `globalrt::execute` inlined into a benchmark's closure is
//! reported as `src/execute.rs Global::execute`, not as the closure.
//!
//! Callgrind gives only the innermost inlined frame's line, though: a `black_box` loop
//! added to an inlined workspace `fn` would be reported as `library/core/src/hint.rs`. With
//! `--dump-instr=yes` a cost line also carries its instruction's address, and
//! [`inline_chain`] reads the binary's inline chain there, so the cost is charged to the
//! innermost line written in the checkout (`src/naive.rs execute`).

mod enclosing_fn;
mod grew;
mod inline_chain;
mod parser;
mod profile;
mod source_path;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};

// The parser of `fn` spans, which a workspace's own checks of function length can share.
pub use enclosing_fn::FnLines;
pub(crate) use grew::grew_most;
pub(crate) use parser::parse;
pub(crate) use profile::{Place, Profile};

/// One callgrind data file (one thread): each function's own cost and its calls.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct CallGraph {
    pub(crate) functions: BTreeMap<String, Function>,
    /// The objects (`ob=`) that [`Instr::object`] indexes.
    pub(crate) objects: Vec<String>,
}

/// A function's costs in one [`CallGraph`].
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Function {
    /// Self cost per site; inlined code keeps the file and line it was written at.
    pub(crate) own: BTreeMap<Site, u64>,
    /// Inclusive cost of the calls to each other function. Calls to itself are left out:
    /// the inner activation's costs are already in this function's own and calls.
    pub(crate) calls: BTreeMap<String, u64>,
}

impl Function {
    /// Self cost over every line.
    pub(crate) fn own_cost(&self) -> u64 {
        self.own.values().sum()
    }

    /// Self cost plus the cost of the calls to other functions.
    pub(crate) fn inclusive(&self) -> u64 {
        self.own_cost() + self.calls.values().sum::<u64>()
    }
}

/// Where self cost was spent, as callgrind records it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Site {
    /// The innermost inlined frame's position.
    pub(crate) at: SourceLine,
    /// The instruction, when the file has an `instr` position column (`--dump-instr=yes`).
    pub(crate) instr: Option<Instr>,
}

/// An instruction: its address in the object it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instr {
    /// Index into [`CallGraph::objects`].
    pub(crate) object: usize,
    /// The object's own virtual address (callgrind leaves out the load bias).
    pub(crate) address: u64,
}

/// A source position as the debug info gives it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SourceLine {
    /// The path as callgrind writes it.
    pub(crate) file: String,
    /// 1-based; 0 where the debug info has no line.
    pub(crate) line: usize,
}

/// The call graph of every callgrind data file in `dir` (one per thread with
/// `--separate-threads=yes`); `.old` files from earlier runs are skipped.
pub(crate) fn read_dir(dir: &Path, event: &str) -> anyhow::Result<Vec<CallGraph>> {
    let mut graphs = Vec::new();
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
        graphs.push(parse(&text, event).with_context(|| format!("{}", path.display()))?);
    }
    if graphs.is_empty() {
        bail!("no callgrind data file in {}", dir.display());
    }
    Ok(graphs)
}

/// The profile of one benchmark's run: its callgrind files in `dir`, measured in the
/// checkout at `root`.
pub(crate) fn profile_dir(dir: &Path, event: &str, root: &Path) -> anyhow::Result<Profile> {
    Ok(Profile::new(&read_dir(dir, event)?, root))
}

#[cfg(test)]
mod fixtures {
    use std::path::Path;

    use super::{Profile, parse};

    /// A small call graph (recursion, a call, inlined code) and the same with `work` grown.
    pub(super) const BASE: &str = include_str!("../tests/fixtures/bench/callgrind.base.out");
    pub(super) const HEAD: &str = include_str!("../tests/fixtures/bench/callgrind.head.out");

    /// The profile of one callgrind file measured in the checkout at `root`.
    pub(super) fn profile(text: &str, root: &str) -> Profile {
        Profile::new(&[parse(text, "Ir").unwrap()], Path::new(root))
    }
}
