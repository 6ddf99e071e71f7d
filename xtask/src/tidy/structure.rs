//! Checks of how the proof half's code is named and divided, run as tests: one name per
//! type, each type's inherent impl in one file, and no import cycle between files.
//!
//! Each check is a pure function over `(file, source)` pairs, so that a test can show it
//! failing on a few lines made up for the purpose.

use std::collections::{BTreeMap, BTreeSet};

use syn::visit::{self, Visit};

/// A source file: its path from the workspace root, and its module path (`[]` for a crate
/// root, `["memcheck", "verdict"]` for `xtask/src/memcheck/verdict.rs`).
pub(super) struct SourceFile {
    pub(super) name: String,
    pub(super) module: Vec<String>,
    pub(super) source: String,
}

impl SourceFile {
    /// A file under a crate's `src/`, given its path relative to `src/`.
    pub(super) fn new(name: String, relative: &str, source: String) -> SourceFile {
        let stem = relative.strip_suffix(".rs").unwrap_or(relative);
        let module = match stem {
            "main" | "lib" => Vec::new(),
            _ => stem.split('/').map(str::to_owned).collect(),
        };
        SourceFile {
            name,
            module,
            source,
        }
    }

    fn parse(&self) -> syn::File {
        syn::parse_file(&self.source).unwrap_or_else(|err| panic!("{}: {err}", self.name))
    }
}

/// Every declared type, type alias and trait, and every inherent impl, with the inline
/// modules (`mod tests { … }`) met on the way.
#[derive(Default)]
struct Declarations {
    /// `struct`, `enum`, `union`, `type` and `trait` names.
    types: Vec<String>,
    /// The type named by each `impl Type { … }` without a trait.
    inherent_impls: Vec<String>,
}

impl<'ast> Visit<'ast> for Declarations {
    fn visit_item_struct(&mut self, i: &'ast syn::ItemStruct) {
        self.types.push(i.ident.to_string());
        visit::visit_item_struct(self, i);
    }
    fn visit_item_enum(&mut self, i: &'ast syn::ItemEnum) {
        self.types.push(i.ident.to_string());
        visit::visit_item_enum(self, i);
    }
    fn visit_item_union(&mut self, i: &'ast syn::ItemUnion) {
        self.types.push(i.ident.to_string());
        visit::visit_item_union(self, i);
    }
    fn visit_item_type(&mut self, i: &'ast syn::ItemType) {
        self.types.push(i.ident.to_string());
        visit::visit_item_type(self, i);
    }
    fn visit_item_trait(&mut self, i: &'ast syn::ItemTrait) {
        self.types.push(i.ident.to_string());
        visit::visit_item_trait(self, i);
    }
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if i.trait_.is_none()
            && let syn::Type::Path(path) = &*i.self_ty
            && let Some(last) = path.path.segments.last()
        {
            self.inherent_impls.push(last.ident.to_string());
        }
        visit::visit_item_impl(self, i);
    }
}

/// Each name that more than one file declares, or one file twice, with where.
fn in_several_places(
    files: &[SourceFile],
    names_of: impl Fn(&Declarations) -> Vec<String>,
    distinct_files: bool,
) -> Vec<String> {
    let mut places: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for file in files {
        let mut found = Declarations::default();
        found.visit_file(&file.parse());
        for name in names_of(&found) {
            places.entry(name).or_default().push(&file.name);
        }
    }
    places
        .into_iter()
        .filter_map(|(name, mut files)| {
            if distinct_files {
                files.dedup();
            }
            (files.len() > 1).then(|| format!("{name}: {}", files.join(", ")))
        })
        .collect()
}

/// Type names declared more than once (in different modules, or twice in one file's
/// modules): one name, one concept.
pub(super) fn duplicate_type_names(files: &[SourceFile]) -> Vec<String> {
    in_several_places(files, |d| d.types.clone(), false)
}

/// Types whose inherent impls are spread over more than one file.
pub(super) fn split_impls(files: &[SourceFile]) -> Vec<String> {
    in_several_places(files, |d| d.inherent_impls.clone(), true)
}

/// The modules a file names in its paths (`use crate::…`, `super::…`, `child::…`), as
/// module paths before resolution; and the inline modules it declares.
struct Imports {
    /// The module the visitor is in: the file's, then inline modules inside it.
    current: Vec<String>,
    /// Each path that names a module, from the crate root, with the module it was in.
    paths: Vec<Vec<String>>,
    /// Inline modules (`mod tests { … }`), from the crate root.
    inline: Vec<Vec<String>>,
}

impl Imports {
    /// `segments` as written in module `current`, from the crate root; `None` for a path that
    /// starts elsewhere (std, a dependency, a local name).
    fn absolute(&self, segments: &[String]) -> Option<Vec<String>> {
        let (first, rest) = segments.split_first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" => self.current.clone(),
            "super" => {
                let mut base = self.current.clone();
                let mut rest = rest;
                base.pop()?;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop()?;
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                return Some(base);
            }
            // A child module named without `self::`, checked against the module list later.
            _ => {
                let mut base = self.current.clone();
                base.push(first.clone());
                base.extend(rest.iter().cloned());
                return Some(base);
            }
        };
        base.extend(rest.iter().cloned());
        Some(base)
    }

    fn add(&mut self, segments: Vec<String>) {
        if let Some(path) = self.absolute(&segments) {
            self.paths.push(path);
        }
    }

    /// Every full path a `use` tree spells.
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.add(prefix.clone());
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.add(prefix.clone());
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.add(prefix.clone()),
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Imports {
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
        if path.segments.len() > 1 {
            let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.add(segments);
        }
        visit::visit_path(self, path);
    }
}

/// The file-to-file import graph: an edge from each file to each file whose module its
/// paths name. A module and the modules under it share items by design (a parent declares
/// what its children use and calls into them), so edges between a file and its ancestors'
/// files are left out: a cycle here is between files neither of which contains the other.
fn import_graph(files: &[SourceFile]) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut module_file: BTreeMap<Vec<String>, &str> = BTreeMap::new();
    let mut per_file = Vec::new();
    for file in files {
        module_file.insert(file.module.clone(), &file.name);
        let mut imports = Imports {
            current: file.module.clone(),
            paths: Vec::new(),
            inline: Vec::new(),
        };
        imports.visit_file(&file.parse());
        for inline in &imports.inline {
            module_file.insert(inline.clone(), &file.name);
        }
        per_file.push((file, imports.paths));
    }
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (file, paths) in per_file {
        let edges = graph.entry(&file.name).or_default();
        for path in paths {
            // The deepest module the path names: the file that defines what it imports.
            let Some(target) = (0..=path.len())
                .rev()
                .find_map(|n| module_file.get(&path[..n]).map(|f| (n, *f)))
            else {
                continue;
            };
            let (depth, target_file) = target;
            let target_module = &path[..depth];
            let related =
                file.module.starts_with(target_module) || target_module.starts_with(&file.module);
            if !related && target_file != file.name {
                edges.insert(target_file);
            }
        }
    }
    graph
}

/// Each import cycle between files, as the files around it (`a.rs -> b.rs -> a.rs`).
pub(super) fn import_cycles(files: &[SourceFile]) -> Vec<String> {
    let graph = import_graph(files);
    let mut cycles = BTreeSet::new();
    for &start in graph.keys() {
        // Depth-first from `start`, looking for a way back to it.
        let mut stack = vec![vec![start]];
        let mut seen = BTreeSet::new();
        while let Some(trail) = stack.pop() {
            let last = *trail.last().expect("a trail is never empty");
            for &next in graph.get(last).into_iter().flatten() {
                if next == start {
                    let mut cycle = trail.clone();
                    // The same cycle from each of its files: name it from its smallest.
                    let smallest = (0..cycle.len()).min_by_key(|&i| cycle[i]).unwrap();
                    cycle.rotate_left(smallest);
                    cycle.push(cycle[0]);
                    cycles.insert(cycle.join(" -> "));
                } else if seen.insert(next) {
                    let mut longer = trail.clone();
                    longer.push(next);
                    stack.push(longer);
                }
            }
        }
    }
    cycles.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<SourceFile> {
        list.iter()
            .map(|(path, source)| SourceFile::new(format!("src/{path}"), path, source.to_string()))
            .collect()
    }

    #[test]
    fn a_name_declared_twice_is_found() {
        let tree = files(&[
            ("main.rs", "mod a; mod b; struct Only;"),
            (
                "a.rs",
                "pub(crate) struct Verdict; fn f() { enum Local {} }",
            ),
            (
                "b.rs",
                "pub(crate) enum Verdict { Pass } const S: &str = \"struct Local {}\";",
            ),
        ]);
        assert_eq!(duplicate_type_names(&tree), ["Verdict: src/a.rs, src/b.rs"]);
    }

    #[test]
    fn an_impl_in_two_files_is_found() {
        let tree = files(&[
            (
                "main.rs",
                "mod a; mod b; struct T; impl T { fn new() {} } impl Clone for T {}",
            ),
            (
                "a.rs",
                "impl crate::T { fn f() {} } impl crate::T { fn g() {} }",
            ),
            ("b.rs", "impl std::fmt::Debug for crate::T {}"),
        ]);
        assert_eq!(split_impls(&tree), ["T: src/main.rs, src/a.rs"]);
    }

    #[test]
    fn an_import_cycle_is_found() {
        let tree = files(&[
            ("main.rs", "mod m; mod other; fn root() {}"),
            (
                "m.rs",
                "mod a; mod b; pub(crate) struct Shared; fn f() { a::g(); }",
            ),
            (
                "m/a.rs",
                "use super::b::{B, self}; use super::Shared; use crate::root;",
            ),
            ("m/b.rs", "pub(crate) struct B; fn f() { super::a::g(); }"),
            (
                "other.rs",
                "use crate::m::Shared; mod tests { use super::*; }",
            ),
        ]);
        assert_eq!(
            import_cycles(&tree),
            ["src/m/a.rs -> src/m/b.rs -> src/m/a.rs"]
        );
        let acyclic = files(&[
            ("main.rs", "mod m;"),
            ("m.rs", "mod a; mod b; fn f() { a::g(); b::h(); }"),
            ("m/a.rs", "use super::b::B;"),
            ("m/b.rs", "pub(crate) struct B; use super::*;"),
        ]);
        assert!(import_cycles(&acyclic).is_empty());
    }
}
