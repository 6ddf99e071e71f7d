//! Callgrind's data file format (<https://valgrind.org/docs/manual/cl-format.html>) read
//! into a [`CallGraph`].
//!
//! Handled: name compression (`(id) name`, `(id)`), any number of position columns (`instr`
//! and `line` are read), positions relative to the previous cost line's (`+N`, `-N`, `*`),
//! `ob=` object switches, `fi=`/`fe=` inlined file switches, `calls=` lines (the next line
//! is the call's inclusive cost) and `jump=`/`jcnd=` lines (the next line is a bare
//! position). A call of a function to itself is left out of its calls, so direct recursion
//! is not counted twice.

use std::collections::HashMap;

use anyhow::{Context, bail};

use super::{CallGraph, Instr, Site, SourceLine};

/// Parses one callgrind data file, counting `event` (e.g. `Ir`).
pub(crate) fn parse(text: &str, event: &str) -> anyhow::Result<CallGraph> {
    let mut parser = Parser::new(event);
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with(|c: char| c.is_ascii_digit() || "+-*".contains(c)) {
            parser.position_line(line)?;
        } else {
            parser.specification_line(line)?;
        }
    }
    if parser.event_index.is_none() {
        bail!("not a callgrind data file (no `events:` header)");
    }
    Ok(parser.graph)
}

/// Resolves `(id) name` / `(id)` compression for one kind of name.
#[derive(Default)]
struct Names {
    by_id: HashMap<String, String>,
}

impl Names {
    fn resolve(&mut self, raw: &str) -> String {
        let raw = raw.trim();
        if let Some(rest) = raw.strip_prefix('(')
            && let Some(end) = rest.find(')')
        {
            let id = &rest[..end];
            let name = rest[end + 1..].trim();
            if name.is_empty() {
                return self
                    .by_id
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| raw.to_owned());
            }
            self.by_id.insert(id.to_owned(), name.to_owned());
            return name.to_owned();
        }
        raw.to_owned()
    }
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

/// Which columns of a position line are positions, and which of them are read.
struct Columns {
    /// How many position columns come before the costs.
    positions: usize,
    line: Option<usize>,
    instr: Option<usize>,
}

/// The state of one file's parse: the headers read so far, the names in scope, and the
/// graph built.
struct Parser<'e> {
    event: &'e str,
    columns: Columns,
    /// The column of `event` among the costs, once the `events:` header was read.
    event_index: Option<usize>,
    fns: Names,
    files: Names,
    objects: Names,
    graph: CallGraph,
    /// Index into the graph's objects of the current `ob=`.
    object: Option<usize>,
    current_fn: Option<String>,
    /// The current function's file (`fl=`).
    fn_file: String,
    /// The file of the cost lines that follow: `fl=`, or an inlined `fi=`/`fe=` file.
    cost_file: String,
    /// The function of the last `cfn=`.
    callee: Option<String>,
    next: Next,
    /// Callgrind writes a relative line against the last *self cost* line of the function;
    /// call and jump lines do not move it, and it starts from 0 at each `fn=`. Likewise the
    /// address.
    last_line: u64,
    last_address: u64,
}

impl<'e> Parser<'e> {
    fn new(event: &'e str) -> Self {
        Parser {
            event,
            // Without a `positions:` header, a position is a line number alone.
            columns: Columns {
                positions: 1,
                line: Some(0),
                instr: None,
            },
            event_index: None,
            fns: Names::default(),
            files: Names::default(),
            objects: Names::default(),
            graph: CallGraph::default(),
            object: None,
            current_fn: None,
            fn_file: String::new(),
            cost_file: String::new(),
            callee: None,
            next: Next::Cost,
            last_line: 0,
            last_address: 0,
        }
    }

    /// A header or a name line. Other header lines (version, creator, pid, cmd, part, desc,
    /// summary, totals, …) carry nothing needed here.
    fn specification_line(&mut self, line: &str) -> anyhow::Result<()> {
        if let Some(rest) = line.strip_prefix("positions:") {
            let columns: Vec<&str> = rest.split_whitespace().collect();
            self.columns = Columns {
                positions: columns.len().max(1),
                line: columns.iter().position(|c| *c == "line"),
                instr: columns.iter().position(|c| *c == "instr"),
            };
        } else if let Some(rest) = line.strip_prefix("events:") {
            self.event_index = rest.split_whitespace().position(|e| e == self.event);
            if self.event_index.is_none() {
                bail!("callgrind file has no {} event (events:{rest})", self.event);
            }
        } else if let Some(rest) = line.strip_prefix("fn=") {
            self.current_fn = Some(self.fns.resolve(rest));
            self.cost_file = self.fn_file.clone();
            self.callee = None;
            self.last_line = 0;
            self.last_address = 0;
        } else if let Some(rest) = line.strip_prefix("ob=") {
            let name = self.objects.resolve(rest);
            self.object = Some(self.object_index(name));
        } else if let Some(rest) = line.strip_prefix("cob=") {
            self.objects.resolve(rest);
        } else if let Some(rest) = line.strip_prefix("fl=") {
            self.fn_file = self.files.resolve(rest);
            self.cost_file = self.fn_file.clone();
        } else if let Some(rest) = line
            .strip_prefix("fi=")
            .or_else(|| line.strip_prefix("fe="))
        {
            self.cost_file = self.files.resolve(rest);
        } else if let Some(rest) = line.strip_prefix("cfn=") {
            self.callee = Some(self.fns.resolve(rest));
        } else if let Some(rest) = line
            .strip_prefix("cfi=")
            .or_else(|| line.strip_prefix("cfl="))
            .or_else(|| line.strip_prefix("jfi="))
        {
            self.files.resolve(rest);
        } else if let Some(rest) = line.strip_prefix("jfn=") {
            self.fns.resolve(rest);
        } else if line.starts_with("calls=") {
            self.next = Next::CallCost;
        } else if line.starts_with("jump=") || line.starts_with("jcnd=") {
            self.next = Next::JumpSource;
        }
        Ok(())
    }

    /// The index of the object `name` in the graph, added if new.
    fn object_index(&mut self, name: String) -> usize {
        let objects = &mut self.graph.objects;
        match objects.iter().position(|known| *known == name) {
            Some(index) => index,
            None => {
                objects.push(name);
                objects.len() - 1
            }
        }
    }

    /// A line of positions and costs: a jump's source, a call's inclusive cost, or self cost.
    fn position_line(&mut self, line: &str) -> anyhow::Result<()> {
        let kind = std::mem::replace(&mut self.next, Next::Cost);
        if kind == Next::JumpSource {
            return Ok(());
        }
        let Some(index) = self.event_index else {
            bail!("callgrind cost line before the `events:` header");
        };
        let Some(name) = self.current_fn.clone() else {
            bail!("callgrind cost line outside a function");
        };
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let cost = match tokens.get(self.columns.positions + index) {
            None => 0,
            Some(tok) => tok
                .parse::<u64>()
                .with_context(|| format!("bad cost {tok:?} in line {line:?}"))?,
        };
        if kind == Next::CallCost {
            let function = self.graph.functions.entry(name.clone()).or_default();
            let Some(callee) = &self.callee else {
                bail!("callgrind `calls=` line without a `cfn=` before it");
            };
            if *callee != name {
                *function.calls.entry(callee.clone()).or_default() += cost;
            }
            return Ok(());
        }
        let site = self.site(line, &tokens)?;
        let function = self.graph.functions.entry(name).or_default();
        *function.own.entry(site).or_default() += cost;
        Ok(())
    }

    /// Where a self cost line's cost was spent; moves the last line and address.
    fn site(&mut self, line: &str, tokens: &[&str]) -> anyhow::Result<Site> {
        let column = |index: usize| {
            tokens
                .get(index)
                .with_context(|| format!("no position {index} in {line:?}"))
        };
        if let Some(index) = self.columns.line {
            self.last_line = subposition(column(index)?, self.last_line)?;
        }
        let mut instr = None;
        if let Some(index) = self.columns.instr {
            self.last_address = subposition(column(index)?, self.last_address)?;
            instr = self.object.map(|object| Instr {
                object,
                address: self.last_address,
            });
        }
        let last_line = self.last_line;
        let at = SourceLine {
            file: self.cost_file.clone(),
            line: usize::try_from(last_line).with_context(|| format!("line {last_line}"))?,
        };
        Ok(Site { at, instr })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn not_callgrind_is_an_error() {
        assert!(parse("hello\n", "Ir").is_err());
        assert!(parse("events: Dr\nfn=a\n1 2\n", "Ir").is_err());
        assert!(parse("events: Ir\nfn=a\n-3 2\n", "Ir").is_err());
    }
}
