//! A differential flamegraph of one benchmark: base's and head's callgrind call graphs
//! folded into stacks and drawn by inferno, widths from head, red where head spent more and
//! blue where it spent less.
//!
//! Callgrind records calls between pairs of functions, not whole stacks, so stacks are
//! rebuilt from the roots down: a function reached with some cost spends it as its own cost
//! and its calls do, in the proportions its totals have. A function called from two places
//! is split evenly per instruction between them, which is exact when every call costs the
//! same. gungraun's own flamegraphs instead chain all functions by inclusive cost into one
//! tower; those stacks change whenever two functions swap rank, which would make a
//! differential compare unrelated stacks, so they are not used here.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use super::callgrind::{self, CallGraph};

/// A callee reached with less than this share of its thread's cost is drawn as one frame,
/// without its callees: the width stays right, and the number of stacks stays bounded on
/// large call graphs.
const MIN_SHARE: f64 = 1e-4;

/// Writes an SVG differential flamegraph of instructions (`Ir`) from `base_dir` to
/// `head_dir`, each a gungraun output directory of one benchmark (one callgrind file per
/// thread), to `out`.
pub(crate) fn write_differential(
    base_dir: &Path,
    head_dir: &Path,
    title: &str,
    out: &Path,
) -> anyhow::Result<()> {
    let base = folded_dir(base_dir)?;
    let head = folded_dir(head_dir)?;
    let mut diff = Vec::new();
    inferno::differential::from_readers(
        inferno::differential::Options::default(),
        base.as_bytes(),
        head.as_bytes(),
        &mut diff,
    )
    .context("cannot combine the base and head stacks")?;
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_owned();
    options.subtitle = Some("red: grew from base to head, blue: shrank; widths are head's".into());
    options.count_name = "instructions".to_owned();
    let mut svg = Vec::new();
    inferno::flamegraph::from_reader(&mut options, diff.as_slice(), &mut svg)
        .with_context(|| format!("cannot draw the flamegraph of {}", head_dir.display()))?;
    crate::util::write_atomic(out, &svg)
}

/// Every thread's stacks in `dir`, summed, in the folded format (`a;b;c 123` per line).
fn folded_dir(dir: &Path) -> anyhow::Result<String> {
    let mut stacks = BTreeMap::<String, u64>::new();
    for graph in callgrind::read_dir(dir, "Ir")? {
        for (stack, cost) in fold(&graph) {
            *stacks.entry(stack).or_default() += cost;
        }
    }
    let mut folded = String::new();
    for (stack, cost) in stacks {
        let _ = writeln!(folded, "{stack} {cost}");
    }
    Ok(folded)
}

/// One thread's stacks: each root (a function whose cost its callers do not account for)
/// expanded down its calls; stacks whose cost rounds to zero are left out.
fn fold(graph: &CallGraph) -> BTreeMap<String, u64> {
    let mut incoming = HashMap::<&str, u64>::new();
    for function in graph.functions.values() {
        for (callee, &cost) in &function.calls {
            *incoming.entry(callee.as_str()).or_default() += cost;
        }
    }
    let total: u64 = graph.functions.values().map(|f| f.own_cost()).sum();
    let mut folder = Folder {
        graph,
        min_cost: total as f64 * MIN_SHARE,
        path: Vec::new(),
        stacks: BTreeMap::new(),
    };
    for (name, function) in &graph.functions {
        let unaccounted = function
            .inclusive()
            .saturating_sub(incoming.get(name.as_str()).copied().unwrap_or(0));
        if unaccounted > 0 {
            folder.expand(name, unaccounted as f64);
        }
    }
    folder
        .stacks
        .into_iter()
        .map(|(stack, cost)| (stack, cost.round() as u64))
        .filter(|(_, cost)| *cost > 0)
        .collect()
}

struct Folder<'g> {
    graph: &'g CallGraph,
    min_cost: f64,
    path: Vec<&'g str>,
    stacks: BTreeMap<String, f64>,
}

impl<'g> Folder<'g> {
    /// Adds the stack `path;name`, reached with `cost` instructions, and below it the stacks
    /// of its calls, each with its share of `cost`.
    fn expand(&mut self, name: &'g str, cost: f64) {
        self.path.push(name);
        match self.graph.functions.get(name) {
            Some(function) if cost >= self.min_cost && function.inclusive() > 0 => {
                let scale = cost / function.inclusive() as f64;
                self.add(function.own_cost() as f64 * scale);
                for (callee, &call) in &function.calls {
                    // A call back into a function already on the stack: callgrind's cost
                    // of that call counts work the outer frame already holds.
                    if !self.path.contains(&callee.as_str()) {
                        self.expand(callee, call as f64 * scale);
                    }
                }
            }
            // Too small to expand, or a callee without its own record in this thread.
            _ => self.add(cost),
        }
        self.path.pop();
    }

    fn add(&mut self, cost: f64) {
        if cost <= 0.0 {
            return;
        }
        // `;` separates frames in the folded format; Rust names have it in array types.
        let stack = self
            .path
            .iter()
            .map(|frame| frame.replace(';', ":"))
            .collect::<Vec<_>>()
            .join(";");
        *self.stacks.entry(stack).or_default() += cost;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `main` calls `a` and `b`, both call `c`, which spends half its cost in a call whose
    /// name has a `;`; `a` also calls itself; `ext` has no record of its own.
    const GRAPH: &str = "\
# callgrind format
positions: line
events: Ir

fn=main
1 10
cfn=a
calls=1 1
2 60
cfn=b
calls=1 1
3 30
cfn=ext
calls=1 1
4 5

fn=a
1 20
cfn=(1) c
calls=2 1
2 40
cfn=a
calls=1 1
3 999

fn=b
1 10
cfn=(1)
calls=1 1
2 20

fn=(1)
1 30
cfn=<[u8; 4] as e>::go
calls=3 1
2 30

fn=<[u8; 4] as e>::go
1 30
";

    #[test]
    fn stacks_share_a_callee_by_the_cost_of_each_call() {
        let graph = callgrind::parse(GRAPH, "Ir").unwrap();
        let got = fold(&graph);
        let want: BTreeMap<String, u64> = [
            ("main", 10),
            ("main;a", 20),
            ("main;a;c", 20),
            ("main;a;c;<[u8: 4] as e>::go", 20),
            ("main;b", 10),
            ("main;b;c", 10),
            ("main;b;c;<[u8: 4] as e>::go", 10),
            ("main;ext", 5),
        ]
        .into_iter()
        .map(|(stack, cost)| (stack.to_owned(), cost))
        .collect();
        assert_eq!(got, want);
        // Every instruction the thread ran is in exactly one stack.
        let own: u64 = graph.functions.values().map(|f| f.own_cost()).sum();
        assert_eq!(got.values().sum::<u64>(), own + 5);
    }

    #[test]
    fn a_cycle_is_cut_where_it_comes_back() {
        // r and s call each other: each call's cost counts the other's work again.
        let text =
            "events: Ir\nfn=r\n1 10\ncfn=s\ncalls=1 1\n2 10\nfn=s\n1 5\ncfn=r\ncalls=1 1\n2 5\n";
        let got = fold(&callgrind::parse(text, "Ir").unwrap());
        // r: inclusive 20, of which 15 no caller accounts for, so all below r is scaled by
        // 3/4: r's own 7.5, and s's own 3.75 of the 7.5 its call gets; s's call back is cut.
        let want: BTreeMap<String, u64> = [("r".to_owned(), 8), ("r;s".to_owned(), 4)].into();
        assert_eq!(got, want);
    }

    #[test]
    fn writes_a_differential_svg() {
        let dir = std::env::temp_dir().join(format!("gate-flamegraph-{}", std::process::id()));
        let (base, head) = (dir.join("base"), dir.join("head"));
        std::fs::create_dir_all(&base).unwrap();
        std::fs::create_dir_all(&head).unwrap();
        let grown = GRAPH.replace("fn=<[u8; 4] as e>::go\n1 30", "fn=<[u8; 4] as e>::go\n1 90");
        std::fs::write(base.join("callgrind.x.t1.p1.out"), GRAPH).unwrap();
        std::fs::write(head.join("callgrind.x.t1.p1.out"), grown).unwrap();
        // Left over from an earlier run: must not be read.
        std::fs::write(head.join("callgrind.x.t1.p1.out.old"), "garbage").unwrap();
        let out = dir.join("diff.svg");
        let result = write_differential(&base, &head, "bench::ready", &out);
        let svg = std::fs::read_to_string(&out);
        let _ = std::fs::remove_dir_all(&dir);
        result.unwrap();
        let svg = svg.unwrap();
        assert!(svg.contains("<svg"), "{svg}");
        assert!(svg.contains("bench::ready"));
        assert!(svg.contains("as e&gt;::go"));
        // inferno colours a frame that grew with full red and blue/green below 255.
        assert!(svg.contains("rgb(255,"), "no frame drawn as grown");
    }
}
