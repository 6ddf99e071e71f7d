//! One run's call graphs summed into a [`Profile`]: per function, its inclusive cost and
//! its self cost per [`Place`], a place named alike for base and head.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use super::enclosing_fn::FnLines;
use super::inline_chain::Binaries;
use super::source_path::{checkout_relative, short_file};
use super::{CallGraph, SourceLine};

/// Per function, over every thread: inclusive cost, and self cost per [`Place`].
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Profile {
    pub(crate) inclusive: BTreeMap<String, u64>,
    pub(crate) self_by_place: BTreeMap<String, BTreeMap<Place, u64>>,
}

/// Where self cost went: a source file named alike for base and head ([`super::source_path::short_file`]),
/// narrowed to the `fn` around the line for the files of the measured checkout.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Place {
    pub(crate) file: String,
    pub(crate) function: Option<String>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.function {
            Some(function) => write!(f, "{} {function}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

impl Profile {
    /// Sums the threads' call graphs of one run in the checkout at `root`, whose sources
    /// name the functions of inlined code, and whose binaries give the inline chain of an
    /// instruction.
    pub(crate) fn new(graphs: &[CallGraph], root: &Path) -> Profile {
        let mut checkout = Checkout::new(root);
        let mut binaries = Binaries::default();
        let mut profile = Profile::default();
        for graph in graphs {
            for (name, function) in &graph.functions {
                *profile.inclusive.entry(name.clone()).or_default() += function.inclusive();
                let places = profile.self_by_place.entry(name.clone()).or_default();
                for (site, &cost) in &function.own {
                    let inlined_from = site.instr.and_then(|instr| {
                        binaries.workspace_line(
                            &graph.objects[instr.object],
                            instr.address,
                            &site.at,
                            &checkout.root,
                        )
                    });
                    let at = inlined_from.as_ref().unwrap_or(&site.at);
                    *places.entry(checkout.place(at)).or_default() += cost;
                }
            }
        }
        profile
    }
}

/// The checkout a profile was measured in. Base is measured in a worktree and head in this
/// checkout, so each side's lines are read from its own sources.
struct Checkout {
    root: String,
    /// Per checkout-relative file, its `fn`s, parsed once; `None` if it cannot be read or
    /// parsed, and then its cost keeps the bare file name, which is coarser but still true.
    fn_lines: HashMap<String, Option<FnLines>>,
}

impl Checkout {
    fn new(root: &Path) -> Checkout {
        Checkout {
            root: root.to_string_lossy().into_owned(),
            fn_lines: HashMap::new(),
        }
    }

    fn place(&mut self, at: &SourceLine) -> Place {
        let root = &self.root;
        let function = checkout_relative(&at.file, root).and_then(|relative| {
            self.fn_lines
                .entry(relative.to_owned())
                .or_insert_with(|| {
                    let text = std::fs::read_to_string(Path::new(root).join(relative)).ok()?;
                    FnLines::parse(&text).ok()
                })
                .as_ref()?
                .at(at.line)
                .map(str::to_owned)
        });
        Place {
            file: short_file(&at.file, root),
            function,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{BASE, profile};
    use super::*;

    fn place(file: &str) -> Place {
        Place {
            file: file.to_owned(),
            function: None,
        }
    }

    #[test]
    fn inclusive_counts_follow_calls() {
        let p = profile(BASE, "/work/x");
        // main: self 10 + 3, calls work (inclusive 120) and helper (7).
        assert_eq!(p.inclusive["main"], 140);
        assert_eq!(p.inclusive["work"], 120);
        assert_eq!(p.inclusive["helper"], 7);
        // Direct recursion is not counted twice.
        assert_eq!(p.inclusive["recurse"], 50);
        // /work/x does not exist, so its files cannot name functions: the bare file stays.
        assert_eq!(p.self_by_place["work"][&place("src/lib.rs")], 100);
        assert_eq!(p.self_by_place["work"][&place("src/inlined.rs")], 20);
    }
}
