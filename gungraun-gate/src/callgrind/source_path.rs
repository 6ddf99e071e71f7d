//! Source paths as the breakdown names them: relative to the measured checkout, so that
//! base (measured in a worktree) and head (this checkout) name the same file alike.

/// `path` relative to the checkout `root`, if it lies inside it.
pub(crate) fn checkout_relative<'a>(path: &'a str, root: &str) -> Option<&'a str> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
