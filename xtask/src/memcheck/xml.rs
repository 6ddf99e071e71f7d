//! Reader for Valgrind memcheck's XML output (`--xml=yes`).
//!
//! Accepts protocol 4 (Valgrind 3.19 and older), 5 (`--track-fds`) and 6 (Valgrind 3.25+,
//! which adds summaries and may group digits with commas). It reads only what the report
//! needs and ignores every element it does not know, so a newer Valgrind degrades to less
//! detail, never to a crash; an error kind it does not know becomes [`Kind::Unknown`].

use std::collections::HashMap;
use std::fmt;

/// Everything the report needs from one Valgrind run.
#[derive(Debug, Default)]
pub(crate) struct Run {
    pub(crate) protocol: u32,
    /// Unsuppressed errors, in the order Valgrind wrote them.
    pub(crate) errors: Vec<Error>,
    /// How many times each suppression matched, as `(name, count)`, in Valgrind's order.
    pub(crate) suppressions: Vec<(String, u64)>,
    /// The program and its arguments (`args/argv`), when given.
    pub(crate) argv: Vec<String>,
}

/// One unsuppressed `<error>` element.
#[derive(Debug)]
pub(crate) struct Error {
    pub(crate) kind: Kind,
    /// The `what` or `xwhat/text` line, e.g. "Invalid read of size 1".
    pub(crate) text: String,
    /// Bytes and blocks, for leak kinds.
    pub(crate) leaked: Option<Leaked>,
    /// How many times this error occurred (from `errorcounts`; leaks count once).
    pub(crate) count: u64,
    /// The thread that hit the error, when given.
    pub(crate) tid: Option<u64>,
    /// The main stack: where the error happened, or where a leaked block was allocated.
    pub(crate) stack: Vec<Frame>,
    /// Further explanations, each with its own stack when Valgrind gave one
    /// (e.g. "Address 0x… is 0 bytes after a block of size 16 alloc'd").
    pub(crate) aux: Vec<(String, Vec<Frame>)>,
    /// The ready-made suppression entry, with `--gen-suppressions=all`.
    pub(crate) suppression: Option<String>,
}

/// Leaked memory of one loss record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Leaked {
    pub(crate) bytes: u64,
    pub(crate) blocks: u64,
}

/// One stack frame. Every field but `ip` is optional in the protocol.
#[derive(Debug, Default)]
pub(crate) struct Frame {
    pub(crate) obj: Option<String>,
    pub(crate) func: Option<String>,
    pub(crate) dir: Option<String>,
    pub(crate) file: Option<String>,
    pub(crate) line: Option<u32>,
}

/// A memcheck error kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// `Leak_DefinitelyLost`, `Leak_IndirectlyLost`, `Leak_PossiblyLost`, `Leak_StillReachable`.
    Leak(LeakKind),
    /// Any other kind Valgrind documents, by its name (`InvalidRead`, `UninitCondition`, …).
    Known(&'static str),
    /// A kind this reader does not know, by the name Valgrind wrote.
    Unknown(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum LeakKind {
    Definite,
    Indirect,
    Possible,
    Reachable,
}

/// Non-leak kinds from the protocol documents and their addenda.
const KNOWN_KINDS: &[&str] = &[
    "InvalidFree",
    "MismatchedFree",
    "InvalidRead",
    "InvalidWrite",
    "InvalidJump",
    "Overlap",
    "InvalidMemPool",
    "UninitCondition",
    "UninitValue",
    "SyscallParam",
    "ClientCheck",
    "ReallocSizeZero",
    "InvalidSizeAndAlignment",
    "InvalidAlignment",
    "InvalidSize",
    "MismatchedAllocateDeallocateSize",
    "MismatchedAllocateDeallocateAlignment",
    "FishyValue",
    "FdBadUse",
    "FdNotClosed",
];

impl Kind {
    pub(crate) fn parse(name: &str) -> Kind {
        match name {
            "Leak_DefinitelyLost" => Kind::Leak(LeakKind::Definite),
            "Leak_IndirectlyLost" => Kind::Leak(LeakKind::Indirect),
            "Leak_PossiblyLost" => Kind::Leak(LeakKind::Possible),
            "Leak_StillReachable" => Kind::Leak(LeakKind::Reachable),
            _ => match KNOWN_KINDS.iter().find(|known| **known == name) {
                Some(known) => Kind::Known(known),
                None => Kind::Unknown(name.to_owned()),
            },
        }
    }

    /// Whether this kind fails the check. Possibly lost and still reachable blocks are
    /// reported only: Rust keeps interior pointers (an `Arc`'s data) and live threads at
    /// exit. An unknown kind fails, since nothing here can tell that it is harmless.
    pub(crate) fn fails(&self) -> bool {
        !matches!(
            self,
            Kind::Leak(LeakKind::Possible | LeakKind::Reachable) | Kind::Known("FdNotClosed")
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Leak(LeakKind::Definite) => f.write_str("Leak_DefinitelyLost"),
            Kind::Leak(LeakKind::Indirect) => f.write_str("Leak_IndirectlyLost"),
            Kind::Leak(LeakKind::Possible) => f.write_str("Leak_PossiblyLost"),
            Kind::Leak(LeakKind::Reachable) => f.write_str("Leak_StillReachable"),
            Kind::Known(name) => f.write_str(name),
            Kind::Unknown(name) => write!(f, "unknown kind {name:?}"),
        }
    }
}

/// Why a file could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// The file stops before `</valgrindoutput>`: Valgrind was killed or crashed.
    Truncated,
    /// Not well-formed XML, or not Valgrind output.
    Malformed(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Truncated => f.write_str(
                "the XML stops before </valgrindoutput>: Valgrind was killed or crashed \
                 before it finished writing",
            ),
            ReadError::Malformed(why) => write!(f, "not Valgrind XML output: {why}"),
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads one memcheck XML file's text.
pub(crate) fn read(text: &str) -> Result<Run, ReadError> {
    let doc = match roxmltree::Document::parse(text) {
        Ok(doc) => doc,
        Err(
            roxmltree::Error::UnexpectedEndOfStream
            | roxmltree::Error::UnclosedRootNode
            | roxmltree::Error::NoRootNode,
        ) => return Err(ReadError::Truncated),
        Err(err) if !text.trim_end().ends_with("</valgrindoutput>") => {
            // A cut in the middle of a tag or entity shows up as some other syntax error.
            let _ = err;
            return Err(ReadError::Truncated);
        }
        Err(err) => return Err(ReadError::Malformed(err.to_string())),
    };
    let root = doc.root_element();
    if root.tag_name().name() != "valgrindoutput" {
        return Err(ReadError::Malformed(format!(
            "the root element is <{}>, not <valgrindoutput>",
            root.tag_name().name()
        )));
    }
    let protocol = child_text(root, "protocolversion")
        .ok_or_else(|| ReadError::Malformed("no <protocolversion>".to_owned()))?;
    let protocol: u32 = protocol
        .parse()
        .map_err(|_| ReadError::Malformed(format!("protocol version {protocol:?}")))?;
    if let Some(tool) = child_text(root, "protocoltool")
        && tool != "memcheck"
    {
        return Err(ReadError::Malformed(format!(
            "written by the {tool} tool, not memcheck"
        )));
    }

    let mut run = Run {
        protocol,
        ..Run::default()
    };
    let mut counts: HashMap<String, u64> = HashMap::new();
    for node in root.children().filter(roxmltree::Node::is_element) {
        match node.tag_name().name() {
            "error" => run.errors.push(read_error(node)),
            "errorcounts" => {
                for pair in elements(node, "pair") {
                    if let (Some(unique), Some(count)) =
                        (child_text(pair, "unique"), child_number(pair, "count"))
                    {
                        counts.insert(unique.to_owned(), count);
                    }
                }
            }
            "args" => {
                if let Some(argv) = child(node, "argv") {
                    run.argv = argv
                        .children()
                        .filter(|n| n.is_element() && matches!(n.tag_name().name(), "exe" | "arg"))
                        .map(|n| n.text().unwrap_or("").trim().to_owned())
                        .collect();
                }
            }
            "suppcounts" => {
                for pair in elements(node, "pair") {
                    if let (Some(name), Some(count)) =
                        (child_text(pair, "name"), child_number(pair, "count"))
                    {
                        run.suppressions.push((name.to_owned(), count));
                    }
                }
            }
            _ => {}
        }
    }
    // `errorcounts` is keyed by `unique`; a leak is reported once and not listed there.
    for (error, node) in run
        .errors
        .iter_mut()
        .zip(elements(root, "error").collect::<Vec<_>>())
    {
        if let Some(count) = child_text(node, "unique").and_then(|u| counts.get(u)) {
            error.count = (*count).max(1);
        }
    }
    Ok(run)
}

fn read_error(node: roxmltree::Node<'_, '_>) -> Error {
    let kind = Kind::parse(child_text(node, "kind").unwrap_or(""));
    let (text, leaked) = match child(node, "xwhat") {
        Some(xwhat) => {
            let leaked = match (
                child_number(xwhat, "leakedbytes"),
                child_number(xwhat, "leakedblocks"),
            ) {
                (Some(bytes), Some(blocks)) => Some(Leaked { bytes, blocks }),
                _ => None,
            };
            (child_text(xwhat, "text").unwrap_or("").to_owned(), leaked)
        }
        None => (child_text(node, "what").unwrap_or("").to_owned(), None),
    };
    // Stacks and explanations alternate: the main stack follows `what`; an `auxwhat`
    // (or `xauxwhat`) is followed by its own stack when Valgrind has one.
    let mut stack = Vec::new();
    let mut aux: Vec<(String, Vec<Frame>)> = Vec::new();
    for part in node.children().filter(roxmltree::Node::is_element) {
        match part.tag_name().name() {
            "stack" => {
                let frames = read_stack(part);
                match aux.last_mut() {
                    Some((_, aux_stack)) if aux_stack.is_empty() => *aux_stack = frames,
                    Some(_) => aux.push((String::new(), frames)),
                    None if stack.is_empty() => stack = frames,
                    None => aux.push((String::new(), frames)),
                }
            }
            "auxwhat" => aux.push((part.text().unwrap_or("").trim().to_owned(), Vec::new())),
            "xauxwhat" => aux.push((
                child_text(part, "text").unwrap_or("").to_owned(),
                Vec::new(),
            )),
            "origin" => {
                let what = child_text(part, "what").unwrap_or("").to_owned();
                let frames = child(part, "stack").map(read_stack).unwrap_or_default();
                aux.push((what, frames));
            }
            _ => {}
        }
    }
    let suppression = child(node, "suppression")
        .and_then(|s| child(s, "rawtext"))
        .and_then(|raw| raw.text())
        .map(|raw| raw.trim().to_owned());
    Error {
        kind,
        text,
        leaked,
        count: 1,
        tid: child_number(node, "tid"),
        stack,
        aux,
        suppression,
    }
}

fn read_stack(node: roxmltree::Node<'_, '_>) -> Vec<Frame> {
    elements(node, "frame")
        .map(|frame| Frame {
            obj: child_text(frame, "obj").map(str::to_owned),
            func: child_text(frame, "fn").map(str::to_owned),
            dir: child_text(frame, "dir").map(str::to_owned),
            file: child_text(frame, "file").map(str::to_owned),
            line: child_number(frame, "line").and_then(|l| u32::try_from(l).ok()),
        })
        .collect()
}

fn elements<'a, 'input: 'a>(
    node: roxmltree::Node<'a, 'input>,
    name: &'a str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

fn child<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
    name: &str,
) -> Option<roxmltree::Node<'a, 'input>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

fn child_text<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(node, name).and_then(|n| n.text()).map(str::trim)
}

/// A decimal number; protocol 6 may group digits with commas ("1,024").
fn child_number(node: roxmltree::Node<'_, '_>, name: &str) -> Option<u64> {
    let text = child_text(node, name)?;
    let digits: String = text.chars().filter(|c| *c != ',' && *c != '_').collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/memcheck")
            .join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
    }

    fn failing(run: &Run) -> Vec<&Error> {
        run.errors.iter().filter(|e| e.kind.fails()).collect()
    }

    #[test]
    fn clean_run_has_no_failing_errors_and_counts_suppressions() {
        let run = read(&fixture("clean.xml")).unwrap();
        assert_eq!(run.protocol, 4);
        assert!(failing(&run).is_empty(), "{:?}", run.errors);
        assert!(!run.suppressions.is_empty());
        assert!(run.suppressions.iter().all(|(_, count)| *count > 0));
        assert_eq!(run.argv[1], "--test-threads=1");
        assert!(run.argv[0].ends_with("clean"));
    }

    #[test]
    fn definite_leak_with_bytes_blocks_and_stack() {
        let run = read(&fixture("definite-leak.xml")).unwrap();
        let errors = failing(&run);
        assert_eq!(errors.len(), 1);
        let leak = errors[0];
        assert_eq!(leak.kind, Kind::Leak(LeakKind::Definite));
        assert_eq!(
            leak.leaked,
            Some(Leaked {
                bytes: 4096,
                blocks: 1
            })
        );
        assert!(leak.text.contains("definitely lost"));
        assert_eq!(leak.stack[0].func.as_deref(), Some("calloc"));
        assert!(
            leak.stack
                .iter()
                .any(|f| f.func.as_deref() == Some("leaky::leaks_a_page"))
        );
        assert!(
            leak.suppression
                .as_deref()
                .unwrap()
                .contains("Memcheck:Leak")
        );
    }

    #[test]
    fn invalid_read_with_its_block_and_count() {
        let run = read(&fixture("invalid-read.xml")).unwrap();
        let errors = failing(&run);
        assert_eq!(errors.len(), 1);
        let read = errors[0];
        assert_eq!(read.kind, Kind::Known("InvalidRead"));
        assert_eq!(read.text, "Invalid read of size 1");
        assert_eq!(read.leaked, None);
        assert_eq!(read.count, 1);
        let (what, alloc) = &read.aux[0];
        assert!(what.contains("0 bytes after a block of size 16"), "{what}");
        assert!(!alloc.is_empty());
        let frame = read.stack.iter().find(|f| f.line.is_some()).unwrap();
        assert!(frame.file.is_some() && frame.dir.is_some());
    }

    #[test]
    fn protocol_6_summaries_and_grouped_digits() {
        let run = read(&fixture("protocol6.xml")).unwrap();
        assert_eq!(run.protocol, 6);
        assert_eq!(run.errors[0].kind, Kind::Known("InvalidWrite"));
        assert_eq!(run.errors[0].count, 3);
        let leak = &run.errors[1];
        assert_eq!(leak.kind, Kind::Leak(LeakKind::Definite));
        assert_eq!(
            leak.leaked,
            Some(Leaked {
                bytes: 40960,
                blocks: 10
            })
        );
        assert_eq!(run.suppressions, vec![("std-harness".to_owned(), 1_234)]);
    }

    #[test]
    fn protocol_5_fd_kinds() {
        let run = read(&fixture("protocol5-fds.xml")).unwrap();
        assert_eq!(run.protocol, 5);
        assert_eq!(run.errors[0].kind, Kind::Known("FdNotClosed"));
        assert!(!run.errors[0].kind.fails());
    }

    #[test]
    fn unknown_kind_is_reported_and_fails() {
        let run = read(&fixture("unknown-kind.xml")).unwrap();
        let kinds: Vec<_> = run.errors.iter().map(|e| e.kind.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                Kind::Unknown("SomeFutureKind".to_owned()),
                Kind::Leak(LeakKind::Possible)
            ]
        );
        assert!(kinds[0].fails());
        assert!(!kinds[1].fails());
        assert_eq!(kinds[0].to_string(), "unknown kind \"SomeFutureKind\"");
    }

    #[test]
    fn every_documented_kind_is_parsed_as_itself() {
        let leaks = [
            ("Leak_DefinitelyLost", LeakKind::Definite, true),
            ("Leak_IndirectlyLost", LeakKind::Indirect, true),
            ("Leak_PossiblyLost", LeakKind::Possible, false),
            ("Leak_StillReachable", LeakKind::Reachable, false),
        ];
        for (name, leak, fails) in leaks {
            assert_eq!(Kind::parse(name), Kind::Leak(leak), "{name}");
            assert_eq!(Kind::parse(name).fails(), fails, "{name}");
            assert_eq!(Kind::parse(name).to_string(), name);
        }
        for name in KNOWN_KINDS {
            assert_eq!(Kind::parse(name), Kind::Known(name));
            assert_eq!(Kind::parse(name).fails(), *name != "FdNotClosed", "{name}");
        }
    }

    #[test]
    fn truncated_file_is_a_clear_error() {
        let text = fixture("truncated.xml");
        assert_eq!(read(&text).unwrap_err(), ReadError::Truncated);
        // Cut anywhere: never a panic, always Truncated.
        let full = fixture("definite-leak.xml");
        for cut in (0..full.len() - 20).step_by(211) {
            if full.is_char_boundary(cut) {
                assert_eq!(
                    read(&full[..cut]).unwrap_err(),
                    ReadError::Truncated,
                    "{cut}"
                );
            }
        }
    }

    #[test]
    fn other_tools_and_documents_are_refused() {
        let err = read("<?xml version=\"1.0\"?><html></html>").unwrap_err();
        assert!(matches!(err, ReadError::Malformed(_)), "{err:?}");
        let helgrind = "<valgrindoutput><protocolversion>4</protocolversion>\
                        <protocoltool>helgrind</protocoltool></valgrindoutput>";
        assert!(matches!(read(helgrind), Err(ReadError::Malformed(_))));
    }
}
