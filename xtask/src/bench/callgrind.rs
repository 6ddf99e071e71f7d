//! Callgrind's own output format (<https://valgrind.org/docs/manual/cl-format.html>) read
//! into one call graph per thread, the inclusive instruction count per function, and the
//! functions that grew most.
//!
//! Parsing the data files rather than `callgrind_annotate`'s text keeps this independent of
//! the annotate script's layout, which changes between Valgrind versions. Handled: name
//! compression (`(id) name`, `(id)`), any number of position columns (`instr` and `line`
//! are read), positions relative to the previous cost line's (`+N`, `-N`, `*`), `ob=`
//! object switches, `fi=`/`fe=` inlined file switches, `calls=`
//! lines (the next line is the call's inclusive cost) and `jump=`/`jcnd=` lines (the next
//! line is a bare position). A function's inclusive count is its self cost plus the cost of
//! its calls to *other* functions, summed over every thread's file, so direct recursion is
//! not counted twice.
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
mod inline_chain;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use anyhow::{Context, bail};

use super::compare::FunctionDelta;
use enclosing_fn::FnLines;
use inline_chain::Binaries;

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

/// Per function, over every thread: inclusive cost, and self cost per [`Place`].
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Profile {
    pub(crate) inclusive: BTreeMap<String, u64>,
    pub(crate) self_by_place: BTreeMap<String, BTreeMap<Place, u64>>,
}

/// Where self cost went: a source file named alike for base and head ([`short_file`]),
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

/// `path` relative to the checkout `root`, if it lies inside it.
fn checkout_relative<'a>(path: &'a str, root: &str) -> Option<&'a str> {
    path.strip_prefix(root.trim_end_matches('/'))?
        .strip_prefix('/')
}

/// Shortens a source path so base (a worktree) and head (this checkout) name files alike:
/// the checkout `root` prefix, cargo's registry prefix and rustc's `/rustc/<hash>/` go.
pub(crate) fn short_file(path: &str, root: &str) -> String {
    if let Some(rest) = checkout_relative(path, root) {
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

/// What the next position line is, by the line before it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Self cost of the current function.
    Cost,
    /// After `calls=`: the inclusive cost of that call.
    CallCost,
    /// After `jump=`/`jcnd=`: the jump's source position, without cost.
    JumpSource,
}

/// A position column (`line` or `instr`): absolute, or relative to the previous cost line's
/// (`+N`, `-N`, `*`); a number is decimal or `0x` hexadecimal.
fn subposition(token: &str, last: u64) -> anyhow::Result<u64> {
    let bad = || format!("bad position {token:?}");
    let number = |n: &str| {
        match n.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => n.parse::<u64>(),
        }
        .with_context(bad)
    };
    Ok(if token == "*" {
        last
    } else if let Some(n) = token.strip_prefix('+') {
        last.checked_add(number(n)?).with_context(bad)?
    } else if let Some(n) = token.strip_prefix('-') {
        last.checked_sub(number(n)?).with_context(bad)?
    } else {
        number(token)?
    })
}

/// Parses one callgrind data file, counting `event` (e.g. `Ir`).
pub(crate) fn parse(text: &str, event: &str) -> anyhow::Result<CallGraph> {
    // Without a `positions:` header, a position is a line number alone.
    let mut positions = 1usize;
    let mut line_column = Some(0);
    let mut instr_column = None;
    let mut event_index = None;
    let mut fns = Names::default();
    let mut files = Names::default();
    let mut objects = Names::default();
    let mut graph = CallGraph::default();
    let mut object: Option<usize> = None;
    let mut current_fn: Option<String> = None;
    let mut fn_file = String::new();
    let mut cost_file = String::new();
    let mut callee: Option<String> = None;
    let mut next = Next::Cost;
    // Callgrind writes a relative line against the last *self cost* line of the function;
    // call and jump lines do not move it, and it starts from 0 at each `fn=`. Likewise the
    // address.
    let mut last_line = 0u64;
    let mut last_address = 0u64;

    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("positions:") {
            let columns: Vec<&str> = rest.split_whitespace().collect();
            positions = columns.len().max(1);
            line_column = columns.iter().position(|c| *c == "line");
            instr_column = columns.iter().position(|c| *c == "instr");
        } else if let Some(rest) = line.strip_prefix("events:") {
            event_index = rest.split_whitespace().position(|e| e == event);
            if event_index.is_none() {
                bail!("callgrind file has no {event} event (events:{rest})");
            }
        } else if let Some(rest) = line.strip_prefix("fn=") {
            current_fn = Some(fns.resolve(rest));
            cost_file = fn_file.clone();
            callee = None;
            last_line = 0;
            last_address = 0;
        } else if let Some(rest) = line.strip_prefix("ob=") {
            let name = objects.resolve(rest);
            object = Some(
                match graph.objects.iter().position(|known| *known == name) {
                    Some(index) => index,
                    None => {
                        graph.objects.push(name);
                        graph.objects.len() - 1
                    }
                },
            );
        } else if let Some(rest) = line.strip_prefix("cob=") {
            objects.resolve(rest);
        } else if let Some(rest) = line.strip_prefix("fl=") {
            fn_file = files.resolve(rest);
            cost_file = fn_file.clone();
        } else if let Some(rest) = line
            .strip_prefix("fi=")
            .or_else(|| line.strip_prefix("fe="))
        {
            cost_file = files.resolve(rest);
        } else if let Some(rest) = line.strip_prefix("cfn=") {
            callee = Some(fns.resolve(rest));
        } else if let Some(rest) = line
            .strip_prefix("cfi=")
            .or_else(|| line.strip_prefix("cfl="))
            .or_else(|| line.strip_prefix("jfi="))
        {
            files.resolve(rest);
        } else if let Some(rest) = line.strip_prefix("jfn=") {
            fns.resolve(rest);
        } else if line.starts_with("calls=") {
            next = Next::CallCost;
        } else if line.starts_with("jump=") || line.starts_with("jcnd=") {
            next = Next::JumpSource;
        } else if line.starts_with(|c: char| c.is_ascii_digit() || "+-*".contains(c)) {
            let kind = std::mem::replace(&mut next, Next::Cost);
            if kind == Next::JumpSource {
                continue;
            }
            let Some(index) = event_index else {
                bail!("callgrind cost line before the `events:` header");
            };
            let Some(name) = &current_fn else {
                bail!("callgrind cost line outside a function");
            };
            let tokens: Vec<&str> = line.split_whitespace().collect();
            let cost = match tokens.get(positions + index) {
                None => 0,
                Some(tok) => tok
                    .parse::<u64>()
                    .with_context(|| format!("bad cost {tok:?} in line {line:?}"))?,
            };
            let function = graph.functions.entry(name.clone()).or_default();
            if kind == Next::CallCost {
                let Some(callee) = &callee else {
                    bail!("callgrind `calls=` line without a `cfn=` before it");
                };
                if callee != name {
                    *function.calls.entry(callee.clone()).or_default() += cost;
                }
                continue;
            }
            let column = |index: usize| {
                tokens
                    .get(index)
                    .with_context(|| format!("no position {index} in {line:?}"))
            };
            if let Some(index) = line_column {
                last_line = subposition(column(index)?, last_line)?;
            }
            let mut instr = None;
            if let Some(index) = instr_column {
                last_address = subposition(column(index)?, last_address)?;
                instr = object.map(|object| Instr {
                    object,
                    address: last_address,
                });
            }
            let at = SourceLine {
                file: cost_file.clone(),
                line: usize::try_from(last_line).with_context(|| format!("line {last_line}"))?,
            };
            *function.own.entry(Site { at, instr }).or_default() += cost;
        }
        // Other header lines (version, creator, pid, cmd, part, desc, summary, totals, …)
        // carry nothing needed here.
    }
    if event_index.is_none() {
        bail!("not a callgrind data file (no `events:` header)");
    }
    Ok(graph)
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

/// The `n` functions whose inclusive count grew most from `base` to `head`, each with the
/// places whose (possibly inlined) self cost grew most inside it.
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
                files: places_that_grew(base, head, function),
            })
        })
        .collect();
    deltas.sort_by(|a, b| b.delta.cmp(&a.delta).then(a.function.cmp(&b.function)));
    deltas.truncate(n);
    deltas
}

fn places_that_grew(base: &Profile, head: &Profile, function: &str) -> Vec<String> {
    let empty = BTreeMap::new();
    let before = base.self_by_place.get(function).unwrap_or(&empty);
    let Some(now) = head.self_by_place.get(function) else {
        return Vec::new();
    };
    let mut grown: Vec<(i64, &Place)> = now
        .iter()
        .map(|(place, &c)| {
            (
                c as i64 - before.get(place).copied().unwrap_or(0) as i64,
                place,
            )
        })
        .filter(|(d, _)| *d > 0)
        .collect();
    grown.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    grown
        .into_iter()
        .take(2)
        .map(|(d, place)| format!("{place} (+{d})"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const BASE: &str = include_str!("../../tests/fixtures/bench/callgrind.base.out");
    const HEAD: &str = include_str!("../../tests/fixtures/bench/callgrind.head.out");

    fn profile(text: &str, root: &str) -> Profile {
        Profile::new(&[parse(text, "Ir").unwrap()], Path::new(root))
    }

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

    #[test]
    fn the_function_that_grew_is_named_with_its_file() {
        let base = profile(BASE, "/work/x");
        let head = profile(HEAD, "/work/x");
        let grew = grew_most(&base, &head, 5);
        assert_eq!(grew[0].function, "main");
        assert_eq!(grew[1].function, "work");
        assert_eq!(grew[1].delta, 30);
        assert_eq!(grew[1].files, vec!["src/inlined.rs (+30)".to_owned()]);
        assert!(grew.iter().all(|g| g.function != "helper"));
    }

    /// The checkout whose `src/execute.rs` the breakdown reads.
    fn checkout() -> String {
        format!(
            "{}/tests/fixtures/bench/checkout",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    /// A callgrind file from `body`: `@ROOT` becomes the fixture checkout and `@name` the
    /// line marked `mark: name` in its `src/execute.rs`.
    fn callgrind(body: &str) -> String {
        let root = checkout();
        let source = std::fs::read_to_string(format!("{root}/src/execute.rs")).unwrap();
        let mut text = format!(
            "# callgrind format\nversion: 1\npositions: line\nevents: Ir\n\n{}",
            body.replace("@ROOT", &root)
        );
        for (i, line) in source.lines().enumerate() {
            if let Some((_, name)) = line.split_once("// mark: ") {
                text = text.replace(&format!("@{name} "), &format!("{} ", i + 1));
            }
        }
        assert!(!text.contains('@'), "a marker the fixture lacks:\n{text}");
        text
    }

    /// The benchmark's closure with `globalrt::execute` and `Global::execute` inlined into
    /// it, and `finish`, which is not inlined.
    const INLINED_BASE: &str = "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 200
fe=/elsewhere/benches/instructions.rs
11 5

fl=@ROOT/src/execute.rs
fn=globalrt::execute::finish
@finish 100
";

    #[test]
    fn inlined_workspace_code_is_named_by_its_fn() {
        type Grew = &'static [(&'static str, &'static [&'static str])];
        let cases: &[(&str, &str, Grew)] = &[
            (
                "the inlined method grew",
                "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 700
fe=/elsewhere/benches/instructions.rs
11 5
",
                &[(
                    "instructions::support::counted",
                    &["src/execute.rs Global::execute (+500)"],
                )],
            ),
            (
                "relative lines count from the previous cost line",
                "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 200
* 300
+1 200
fe=/elsewhere/benches/instructions.rs
11 5
",
                &[(
                    "instructions::support::counted",
                    &["src/execute.rs Global::execute (+500)"],
                )],
            ),
            (
                "call lines do not move the relative line",
                "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 200
cfn=tokio::runtime::handle::Handle::enter
calls=1 +40
* 1000
* 500
fe=/elsewhere/benches/instructions.rs
11 5
",
                &[(
                    "instructions::support::counted",
                    &["src/execute.rs Global::execute (+500)"],
                )],
            ),
            (
                "a line outside every fn keeps the bare file",
                "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 200
@outside 40
fe=/elsewhere/benches/instructions.rs
11 5
",
                &[("instructions::support::counted", &["src/execute.rs (+40)"])],
            ),
            (
                "a one-line method between two others",
                "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 200
@Global::running_handle 70
fe=/elsewhere/benches/instructions.rs
11 5
",
                &[(
                    "instructions::support::counted",
                    &["src/execute.rs Global::running_handle (+70)"],
                )],
            ),
            (
                "a file outside the checkout keeps the bare file",
                "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 200
fi=/root/.cargo/registry/src/index.crates.io-1/tokio-1.54.1/src/runtime/handle.rs
86 60
fe=/elsewhere/benches/instructions.rs
11 5
",
                &[(
                    "instructions::support::counted",
                    &["tokio-1.54.1/src/runtime/handle.rs (+60)"],
                )],
            ),
            (
                "a workspace fn that is not inlined keeps its own name",
                "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 200
fe=/elsewhere/benches/instructions.rs
11 5

fl=@ROOT/src/execute.rs
fn=globalrt::execute::finish
@finish 130
",
                &[(
                    "globalrt::execute::finish",
                    &["src/execute.rs finish (+30)"],
                )],
            ),
        ];
        let root = checkout();
        let base = profile(&callgrind(INLINED_BASE), &root);
        for (case, head, want) in cases {
            let head = profile(&callgrind(head), &root);
            let got: Vec<(String, Vec<String>)> = grew_most(&base, &head, 5)
                .into_iter()
                .map(|d| (d.function, d.files))
                .collect();
            let want: Vec<(String, Vec<String>)> = want
                .iter()
                .map(|(f, files)| {
                    (
                        (*f).to_owned(),
                        files.iter().map(|s| (*s).to_owned()).collect(),
                    )
                })
                .collect();
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn jump_lines_carry_no_cost() {
        let text = "positions: line\nevents: Ir\nfl=a.rs\nfn=f\n3 10\njump=2 +4\n+2\n+1 5\n";
        let graph = parse(text, "Ir").unwrap();
        let own = &graph.functions["f"].own;
        let at = |line| Site {
            at: SourceLine {
                file: "a.rs".to_owned(),
                line,
            },
            instr: None,
        };
        assert_eq!(own.get(&at(3)), Some(&10));
        assert_eq!(own.get(&at(4)), Some(&5));
        assert_eq!(own.len(), 2);
    }

    #[test]
    fn instruction_addresses_are_read_with_their_object() {
        let text = "\
positions: instr line
events: Ir
ob=(1) /bin/a
fl=a.rs
fn=f
0x1000 3 10
+4 * 5
cob=(2) /lib/b.so
cfn=g
calls=1 0x20 7
* * 100
+2 +1 1
ob=(2)
fn=h
0x30 9 2
-16 -1 3
ob=(1)
fn=k
0x1010 4 1
";
        let graph = parse(text, "Ir").unwrap();
        assert_eq!(graph.objects, ["/bin/a", "/lib/b.so"]);
        let own = |function: &str| -> Vec<(u64, usize, usize, u64)> {
            graph.functions[function]
                .own
                .iter()
                .map(|(site, &cost)| {
                    let instr = site.instr.unwrap();
                    (instr.address, instr.object, site.at.line, cost)
                })
                .collect()
        };
        // The call's cost line moves neither the address nor the line.
        assert_eq!(
            own("f"),
            [(0x1000, 0, 3, 10), (0x1004, 0, 3, 5), (0x1006, 0, 4, 1)]
        );
        assert_eq!(own("h"), [(0x20, 1, 8, 3), (0x30, 1, 9, 2)]);
        assert_eq!(own("k"), [(0x1010, 0, 4, 1)]);
        assert_eq!(graph.functions["f"].calls["g"], 100);
    }

    /// `tests/fixtures/bench/inlined/src/main.rs`, compiled with rustc with debug info into
    /// a scratch directory that is removed when this is dropped: std's `black_box` inlined
    /// into `grown`, inlined into `measured`.
    struct Inlined {
        /// The checkout that the fixture's sources lie in.
        root: String,
        work: PathBuf,
        exe: PathBuf,
    }

    impl Inlined {
        fn compile(name: &str) -> Inlined {
            let root = format!(
                "{}/tests/fixtures/bench/inlined",
                env!("CARGO_MANIFEST_DIR")
            );
            let work =
                std::env::temp_dir().join(format!("xtask-inlined-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&work).unwrap();
            let exe = work.join("inlined");
            let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
            let status = std::process::Command::new(rustc)
                .args(["--edition", "2024", "-C", "opt-level=2", "-g", "-o"])
                .arg(&exe)
                .arg(format!("{root}/src/main.rs"))
                .status()
                .unwrap();
            assert!(status.success(), "compiling the fixture");
            Inlined { root, work, exe }
        }
    }

    impl Drop for Inlined {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.work);
        }
    }

    /// Callgrind records `hint.rs` for the `black_box` loop's instructions; the binary's
    /// inline chain names `grown`.
    #[test]
    fn inlined_std_code_is_charged_to_the_checkout_fn_it_was_inlined_from() {
        let fixture = Inlined::compile("chain");
        let root = &fixture.root;
        // A `black_box` instruction inside `measured`, found by symbol and line table alone.
        let loader = addr2line::Loader::new(&fixture.exe).unwrap();
        let text = loader.get_section_range(b".text").unwrap();
        let (address, hint) = loader
            .find_location_range(text.begin, text.end)
            .unwrap()
            .find_map(|(address, _, location)| {
                let file = location.file?;
                let in_measured = loader.find_symbol(address)?.contains("measured");
                let hint = SourceLine {
                    file: file.to_owned(),
                    line: location.line.unwrap_or(0) as usize,
                };
                (in_measured && file.ends_with("core/src/hint.rs")).then_some((address, hint))
            })
            .expect("black_box inlined into `measured`");
        let exe = fixture.exe.to_string_lossy().into_owned();
        let cases = [
            (
                "the chain names the checkout fn",
                exe.as_str(),
                hint.line,
                Some("src/main.rs grown"),
            ),
            (
                "a binary that no longer matches the line callgrind recorded",
                exe.as_str(),
                hint.line + 1,
                None,
            ),
            (
                "an object that cannot be read",
                "/nonexistent/inlined",
                hint.line,
                None,
            ),
        ];
        for (case, object, line, want) in cases {
            let callgrind = format!(
                "positions: instr line\nevents: Ir\nob={object}\nfl={root}/src/main.rs\n\
                 fn=inlined::measured\nfi={}\n{address:#x} {line} 500\n",
                hint.file
            );
            let profile = profile(&callgrind, root);
            let places: Vec<String> = profile.self_by_place["inlined::measured"]
                .keys()
                .map(Place::to_string)
                .collect();
            let bare = short_file(&hint.file, root);
            assert_eq!(places, [want.unwrap_or(&bare)], "{case}");
        }
    }

    /// End to end: callgrind's own output for the fixture, positions compressed as by
    /// default, with the binary loaded where Valgrind puts it. Ignored by default: it needs
    /// Valgrind. Run it with `cargo test -p xtask -- --ignored`.
    #[test]
    #[ignore = "needs Valgrind; run with `cargo test -p xtask -- --ignored`"]
    fn callgrind_output_of_inlined_code_names_the_checkout_fn() {
        let fixture = Inlined::compile("valgrind");
        // `measured` loops once per argument.
        let status = std::process::Command::new("valgrind")
            .args(["--tool=callgrind", "--dump-instr=yes"])
            .arg(format!(
                "--callgrind-out-file={}",
                fixture.work.join("callgrind.out").display()
            ))
            .arg(&fixture.exe)
            .args(std::iter::repeat_n("x", 200))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "valgrind");
        let graphs = read_dir(&fixture.work, "Ir").unwrap();
        let profile = Profile::new(&graphs, Path::new(&fixture.root));
        let (_, measured) = profile
            .self_by_place
            .iter()
            .find(|(name, _)| name.ends_with("::measured"))
            .expect("`measured` in the callgrind file");
        let grown = Place {
            file: "src/main.rs".to_owned(),
            function: Some("grown".to_owned()),
        };
        let all: u64 = measured.values().sum();
        // Nearly all of it is the loop; a few compiler-made instructions without a line in
        // the checkout may stay with std's files.
        assert!(measured[&grown] * 10 > all * 9, "{measured:?}");
    }

    #[test]
    fn not_callgrind_is_an_error() {
        assert!(parse("hello\n", "Ir").is_err());
        assert!(parse("events: Dr\nfn=a\n1 2\n", "Ir").is_err());
        assert!(parse("events: Ir\nfn=a\n-3 2\n", "Ir").is_err());
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
