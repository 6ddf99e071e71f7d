//! Which `fn` encloses each line of a Rust source file, read with syn.
//!
//! The callgrind breakdown uses it to name the workspace function whose code, inlined into
//! a caller, grew: callgrind knows the file and line of inlined code, not the function.
//! A line belongs to the innermost `fn` whose signature or body covers it; closures and
//! blocks belong to the `fn` around them. Methods are named with their type
//! (`Global::execute`), trait methods with type and trait (`<Parker as Wake>::wake`).

use syn::visit::{self, Visit};

/// The line ranges of every `fn` with a body in one source file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FnLines {
    spans: Vec<FnSpan>,
}

/// One `fn`, from its `fn` keyword to its closing brace (1-based lines, inclusive).
#[derive(Debug, PartialEq, Eq)]
struct FnSpan {
    first: usize,
    last: usize,
    name: String,
}

impl FnLines {
    /// Parses `source`, a whole Rust file.
    pub fn parse(source: &str) -> syn::Result<FnLines> {
        let file = syn::parse_file(source)?;
        let mut collector = Collector::default();
        collector.visit_file(&file);
        Ok(FnLines {
            spans: collector.spans,
        })
    }

    /// Every `fn` with a body, as its name and its length in lines (for a tidy test).
    pub fn lengths(&self) -> impl Iterator<Item = (&str, usize)> {
        self.spans
            .iter()
            .map(|s| (s.name.as_str(), s.last + 1 - s.first))
    }

    /// The innermost `fn` covering `line`, if any.
    pub(crate) fn at(&self, line: usize) -> Option<&str> {
        self.spans
            .iter()
            .filter(|s| s.first <= line && line <= s.last)
            .min_by_key(|s| s.last - s.first)
            .map(|s| s.name.as_str())
    }
}

#[derive(Default)]
struct Collector {
    /// The type (and trait) of the `impl` and `trait` blocks being visited, innermost last.
    owners: Vec<String>,
    spans: Vec<FnSpan>,
}

impl Collector {
    /// Records a free `fn` (`method: false`) or a method of the innermost owner.
    fn record(&mut self, method: bool, sig: &syn::Signature, body: &syn::token::Brace) {
        let name = match self.owners.last() {
            Some(owner) if method => format!("{owner}::{}", sig.ident),
            _ => sig.ident.to_string(),
        };
        self.spans.push(FnSpan {
            first: sig.fn_token.span.start().line,
            last: body.span.close().end().line,
            name,
        });
    }

    fn within<T>(&mut self, owner: String, node: &T, visit: impl FnOnce(&mut Self, &T)) {
        self.owners.push(owner);
        visit(self, node);
        self.owners.pop();
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.record(false, &f.sig, &f.block.brace_token);
        visit::visit_item_fn(self, f);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let ty = type_name(&i.self_ty);
        let owner = match &i.trait_ {
            Some((path, _)) => {
                let tr = path
                    .segments
                    .last()
                    .map_or_else(|| "_".to_owned(), |s| s.ident.to_string());
                format!("<{ty} as {tr}>")
            }
            None => ty,
        };
        self.within(owner, i, |c, i| visit::visit_item_impl(c, i));
    }

    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        self.within(t.ident.to_string(), t, |c, t| visit::visit_item_trait(c, t));
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.record(true, &f.sig, &f.block.brace_token);
        visit::visit_impl_item_fn(self, f);
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(body) = &f.default {
            self.record(true, &f.sig, &body.brace_token);
        }
        visit::visit_trait_item_fn(self, f);
    }
}

/// The last path segment of a type, without generics: `Foo<T>` and `&mut Foo` are `Foo`.
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .map_or_else(|| "_".to_owned(), |s| s.ident.to_string()),
        syn::Type::Reference(r) => type_name(&r.elem),
        syn::Type::Paren(p) => type_name(&p.elem),
        syn::Type::Group(g) => type_name(&g.elem),
        _ => "_".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
pub fn execute() -> u32 {
    Global.execute()
}

impl Global {
    #[inline(always)]
    pub(crate) fn execute<F>(&self, f: F) -> u32
    where
        F: Send,
    {
        let c = || 1;
        c()
    }
}

impl Wake for Parker {
    fn wake(self: Arc<Self>) {}
}

impl<T> Drop for &mut Guard<T> {
    fn drop(&mut self) {}
}

trait Run {
    fn run(&self) {
        fn helper() {}
    }
    fn declared(&self);
}

fn outer() {
    fn inner() {
        let x = 1;
    }
    inner();
}
";

    #[test]
    fn each_line_names_its_innermost_fn() {
        let fns = FnLines::parse(SOURCE).unwrap();
        let cases: &[(&str, usize, Option<&str>)] = &[
            ("free fn", 2, Some("execute")),
            ("free fn's closing brace", 3, Some("execute")),
            ("blank line between items", 4, None),
            ("impl header", 5, None),
            ("attribute above a method", 6, None),
            ("method signature", 7, Some("Global::execute")),
            ("where clause", 9, Some("Global::execute")),
            ("closure inside a method", 11, Some("Global::execute")),
            ("trait impl method", 17, Some("<Parker as Wake>::wake")),
            (
                "generic reference self type",
                21,
                Some("<Guard as Drop>::drop"),
            ),
            ("trait default method", 25, Some("Run::run")),
            ("fn nested in a trait method", 26, Some("helper")),
            ("trait method without body", 28, None),
            ("nested fn body", 33, Some("inner")),
            ("outer fn after the nested one", 35, Some("outer")),
        ];
        for (case, line, want) in cases {
            assert_eq!(fns.at(*line), *want, "{case} (line {line})");
        }
    }

    #[test]
    fn a_file_that_is_not_rust_is_an_error() {
        assert!(FnLines::parse("fn {").is_err());
    }
}
