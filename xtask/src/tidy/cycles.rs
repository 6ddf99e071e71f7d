//! The check that no modules of a crate depend on each other in a circle.
//!
//! A module is a file's module or an inline one (`mod tests { … }`), and a module stands
//! for its whole subtree: a reference depends on a module when it enters that module's
//! subtree from outside. `crate::docs::after_save` written in `bench/save.rs` makes both
//! `bench::save` and `bench` depend on `docs`; `save::record` written in `bench.rs` makes
//! `bench` depend on `bench::save`; `super::Shared` written in `bench/save.rs` enters no
//! subtree from outside (the file is inside `bench`'s), so a child may use its parent's
//! items while the parent calls into the child. References are every path syn parses
//! (`use` trees, inline paths such as `crate::a::f()`, types) and every `a::b` spelled in
//! what syn leaves as tokens: attribute arguments (`#[command(about = crate::a::about())]`)
//! and macro input. A cycle is a strongly connected component of more than one module.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::visit::{self, Visit};

use super::structure::SourceFile;

/// A module path from the crate root: `[]` for the root, `["bench", "save"]`.
type Module = Vec<String>;

/// How a module is named in a failure message.
fn module_name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

/// The paths one file writes, each with the module it is written in, and the inline modules
/// it declares.
struct References {
    /// The module the visitor is in: the file's, then inline modules inside it.
    current: Module,
    /// Each path, from the crate root where it starts with `crate`, `self` or `super`, else
    /// taken as a child of the current module (checked against the module list later), with
    /// the module it was written in and its spelling.
    paths: Vec<(Module, Module, String)>,
    /// Inline modules (`mod tests { … }`), from the crate root.
    inline: Vec<Module>,
}

impl References {
    /// `segments` as written in the current module, from the crate root; `None` for a path
    /// that cannot be resolved (`super` above the root).
    fn absolute(&self, segments: &[String]) -> Option<Module> {
        let (first, rest) = segments.split_first()?;
        let (mut base, rest) = match first.as_str() {
            "crate" => (Vec::new(), rest),
            "self" => (self.current.clone(), rest),
            "super" => {
                let mut base = self.current.clone();
                base.pop()?;
                let supers = rest.iter().take_while(|s| *s == "super").count();
                for _ in 0..supers {
                    base.pop()?;
                }
                (base, &rest[supers..])
            }
            _ => (self.current.clone(), segments),
        };
        base.extend(rest.iter().cloned());
        Some(base)
    }

    fn add(&mut self, segments: Vec<String>) {
        if let Some(path) = self.absolute(&segments) {
            self.paths
                .push((self.current.clone(), path, segments.join("::")));
        }
    }

    /// Every full path a `use` tree spells.
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        let ident = match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
                return;
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
                return;
            }
            syn::UseTree::Glob(_) => return self.add(prefix.clone()),
            syn::UseTree::Name(n) => &n.ident,
            syn::UseTree::Rename(r) => &r.ident,
        };
        prefix.push(ident.to_string());
        self.add(prefix.clone());
        prefix.pop();
    }

    /// Every `a::b…` path in `tokens`, which syn does not parse: an attribute's arguments, a
    /// macro's input. A path after a leading `::` names another crate and is skipped.
    fn tokens(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let is_colon =
            |i: usize| matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ':');
        let is_path_sep = |i: usize| {
            matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ':' && p.spacing() == Spacing::Joint)
                && is_colon(i + 1)
        };
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                TokenTree::Group(group) => self.tokens(group.stream()),
                TokenTree::Ident(first) if !(i >= 2 && is_path_sep(i - 2)) => {
                    let mut path = vec![first.to_string()];
                    while is_path_sep(i + 1)
                        && let Some(TokenTree::Ident(next)) = tokens.get(i + 3)
                    {
                        path.push(next.to_string());
                        i += 3;
                    }
                    if path.len() > 1 {
                        self.add(path);
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
}

impl<'ast> Visit<'ast> for References {
    fn visit_item_mod(&mut self, i: &'ast syn::ItemMod) {
        if i.content.is_some() {
            self.current.push(i.ident.to_string());
            self.inline.push(self.current.clone());
            visit::visit_item_mod(self, i);
            self.current.pop();
        }
    }
    fn visit_item_use(&mut self, i: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &i.tree);
    }
    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() && path.segments.len() > 1 {
            self.add(path.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        visit::visit_path(self, path);
    }
    fn visit_meta_list(&mut self, list: &'ast syn::MetaList) {
        self.tokens(list.tokens.clone());
        visit::visit_meta_list(self, list);
    }
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.tokens(mac.tokens.clone());
        visit::visit_macro(self, mac);
    }
}

/// The module graph: an edge from each module a reference leaves to each module's subtree
/// it enters from outside, with the first reference that made it (`file: path`).
fn module_graph(files: &[SourceFile]) -> BTreeMap<Module, BTreeMap<Module, String>> {
    let mut modules: BTreeSet<Module> = BTreeSet::new();
    let mut written = Vec::new();
    for file in files {
        let mut refs = References {
            current: file.module.clone(),
            paths: Vec::new(),
            inline: Vec::new(),
        };
        refs.visit_file(&file.parse());
        modules.insert(file.module.clone());
        modules.extend(refs.inline);
        written.extend(
            refs.paths
                .into_iter()
                .map(|(from, path, text)| (file, from, path, text)),
        );
    }
    let mut graph: BTreeMap<Module, BTreeMap<Module, String>> = BTreeMap::new();
    for (file, from, path, text) in written {
        // The deepest module the path names: what it refers to, or what holds it.
        let Some(to) = (0..=path.len())
            .rev()
            .map(|n| &path[..n])
            .find(|m| modules.contains(*m))
        else {
            continue;
        };
        if from.starts_with(to) {
            continue; // inside its own subtree: the module itself or an ancestor
        }
        let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
        // What the reference leaves: each module from just below the common ancestor down
        // to where it is written (the writer itself when it is that ancestor); what it
        // enters: each module from just below the common ancestor down to its target.
        let leaves = (common + 1).min(from.len())..=from.len();
        for l in leaves {
            for e in common + 1..=to.len() {
                graph
                    .entry(from[..l].to_vec())
                    .or_default()
                    .entry(to[..e].to_vec())
                    .or_insert_with(|| format!("{}: {text}", file.name));
            }
        }
    }
    graph
}

/// Each set of modules that depend on each other in a circle (a strongly connected
/// component of more than one module), with the references between them.
pub(super) fn module_cycles(files: &[SourceFile]) -> Vec<String> {
    let graph = module_graph(files);
    let reach = |start: &Module| {
        let mut seen = BTreeSet::from([start.clone()]);
        let mut stack = vec![start.clone()];
        while let Some(m) = stack.pop() {
            for next in graph.get(&m).into_iter().flat_map(BTreeMap::keys) {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&Module, BTreeSet<Module>> =
        graph.keys().map(|m| (m, reach(m))).collect();
    let mut components: BTreeSet<BTreeSet<&Module>> = BTreeSet::new();
    for (m, from_m) in &reachable {
        let component: BTreeSet<&Module> = reachable
            .iter()
            .filter(|(n, from_n)| from_m.contains(**n) && from_n.contains(*m))
            .map(|(n, _)| *n)
            .collect();
        if component.len() > 1 {
            components.insert(component);
        }
    }
    components
        .into_iter()
        .map(|component| {
            let names: Vec<String> = component.iter().map(|m| module_name(m)).collect();
            let why: BTreeSet<&String> = component
                .iter()
                .flat_map(|m| &graph[*m])
                .filter(|(to, _)| component.contains(to))
                .map(|(_, why)| why)
                .collect();
            let why: Vec<&str> = why.into_iter().map(String::as_str).collect();
            format!("{}\n    {}", names.join(", "), why.join("\n    "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<SourceFile> {
        SourceFile::made_up(list)
    }

    /// The modules of each cycle `module_cycles` reports, one string per cycle.
    fn cycles(list: &[(&str, &str)]) -> Vec<String> {
        module_cycles(&files(list))
            .into_iter()
            .map(|c| c.lines().next().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn a_cycle_through_an_attribute_is_found() {
        let tree = [
            (
                "main.rs",
                "mod flags; mod ci; fn main() { flags::parse(); }",
            ),
            (
                "flags.rs",
                "enum Command {\n    #[command(about = crate::ci::steps::about())]\n    Ci(Ci),\n}",
            ),
            (
                "ci.rs",
                "mod steps; impl crate::flags::Ci { fn run(self) {} }",
            ),
            (
                "ci/steps.rs",
                "pub(crate) fn about() -> String { String::new() }",
            ),
        ];
        assert_eq!(cycles(&tree), ["ci, flags"]);
        let found = module_cycles(&files(&tree));
        assert!(
            found[0].contains("src/flags.rs: crate::ci::steps::about"),
            "{found:?}"
        );
    }

    #[test]
    fn a_cycle_through_a_parent_and_a_macro_is_found() {
        // bench -> bench::save -> docs -> bench: the parent calls its child, the child calls
        // docs inside a macro, docs reads the parent.
        let tree = [
            ("main.rs", "mod bench; mod docs;"),
            (
                "bench.rs",
                "mod save; const BASELINE: &str = \"\"; fn run() { save::record(); }",
            ),
            (
                "bench/save.rs",
                "fn record() { assert!(crate::docs::after_save()); }",
            ),
            (
                "docs.rs",
                "use crate::bench::BASELINE; fn after_save() -> bool { true }",
            ),
        ];
        assert_eq!(cycles(&tree), ["bench, bench::save, docs"]);
    }

    #[test]
    fn children_using_their_parent_and_one_way_siblings_are_no_cycle() {
        let tree = [
            ("main.rs", "mod m; mod baseline; fn root() { m::run(); }"),
            (
                "m.rs",
                "mod a; mod b; pub(crate) struct Shared; fn run() { a::g(); b::h(); }",
            ),
            (
                "m/a.rs",
                "use super::b::B; use super::Shared; use crate::root; fn g() {}",
            ),
            (
                "m/b.rs",
                "pub(crate) struct B; use super::*; fn h() { crate::baseline::load(); }\n\
                 mod tests { use super::*; #[test] fn t() { super::super::Shared; } }",
            ),
            (
                "baseline.rs",
                "fn load() { std::fs::read(\"x\"); ::std::mem::drop(1); }",
            ),
        ];
        assert!(cycles(&tree).is_empty(), "{:?}", cycles(&tree));
    }

    #[test]
    fn siblings_in_a_circle_are_found_and_named_by_their_references() {
        let tree = [
            ("main.rs", "mod m;"),
            ("m.rs", "mod a; mod b;"),
            ("m/a.rs", "use super::b::{B, self};"),
            ("m/b.rs", "pub(crate) struct B; fn f() { super::a::g(); }"),
        ];
        assert_eq!(
            module_cycles(&files(&tree)),
            ["m::a, m::b\n    src/m/a.rs: super::b::B\n    src/m/b.rs: super::a::g"]
        );
    }
}
