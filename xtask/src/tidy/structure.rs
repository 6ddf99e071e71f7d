//! Checks of how the proof half's code is named and divided, run as tests: one name per
//! type, and each type's inherent impl in one file.
//!
//! Each check is a pure function over `(file, source)` pairs, so that a test can show it
//! failing on a few lines made up for the purpose.

use std::collections::BTreeMap;

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

    /// Files made up for a test: `(path under src/, source)` pairs.
    #[cfg(test)]
    pub(super) fn made_up(list: &[(&str, &str)]) -> Vec<SourceFile> {
        list.iter()
            .map(|(path, source)| SourceFile::new(format!("src/{path}"), path, source.to_string()))
            .collect()
    }

    pub(super) fn parse(&self) -> syn::File {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<SourceFile> {
        SourceFile::made_up(list)
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
}
