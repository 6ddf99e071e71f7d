//! memcheck's XML text into a [`ValgrindOutput`], with `roxmltree`.

use std::collections::HashMap;
use std::fmt;

use roxmltree::{Document, Node};

use super::{Aux, Error, Frame, Kind, Leaked, ValgrindOutput};

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
pub(crate) fn read(text: &str) -> Result<ValgrindOutput, ReadError> {
    let doc = parse_document(text)?;
    let root = doc.root_element();
    let mut output = ValgrindOutput {
        protocol: memcheck_protocol(root)?,
        ..ValgrindOutput::default()
    };
    let mut counts: HashMap<String, u64> = HashMap::new();
    for node in root.children().filter(Node::is_element) {
        match node.tag_name().name() {
            "error" => output.errors.push(read_error(node)),
            "errorcounts" => counts.extend(counted_pairs(node, "unique")),
            "args" => {
                if let Some(argv) = child(node, "argv") {
                    output.argv = read_argv(argv);
                }
            }
            "suppcounts" => output.suppressions.extend(counted_pairs(node, "name")),
            _ => {}
        }
    }
    // `errorcounts` is keyed by `unique`; a leak is reported once and not listed there.
    for (error, node) in output.errors.iter_mut().zip(elements(root, "error")) {
        if let Some(count) = child_text(node, "unique").and_then(|u| counts.get(u)) {
            error.count = (*count).max(1);
        }
    }
    Ok(output)
}

/// The document, or why it is not one: a file cut short reads as [`ReadError::Truncated`].
fn parse_document(text: &str) -> Result<Document<'_>, ReadError> {
    match Document::parse(text) {
        Ok(doc) => Ok(doc),
        Err(
            roxmltree::Error::UnexpectedEndOfStream
            | roxmltree::Error::UnclosedRootNode
            | roxmltree::Error::NoRootNode,
        ) => Err(ReadError::Truncated),
        // A cut in the middle of a tag or entity shows up as some other syntax error.
        Err(_) if !text.trim_end().ends_with("</valgrindoutput>") => Err(ReadError::Truncated),
        Err(err) => Err(ReadError::Malformed(err.to_string())),
    }
}

/// The protocol version of a `<valgrindoutput>` that memcheck wrote.
fn memcheck_protocol(root: Node<'_, '_>) -> Result<u32, ReadError> {
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
    Ok(protocol)
}

/// The `pair`s of `errorcounts` or `suppcounts`: each `key` with its `count`.
fn counted_pairs<'a>(node: Node<'a, '_>, key: &'a str) -> impl Iterator<Item = (String, u64)> + 'a {
    elements(node, "pair").filter_map(move |pair| {
        Some((
            child_text(pair, key)?.to_owned(),
            child_number(pair, "count")?,
        ))
    })
}

/// The program and its arguments, from `args/argv`.
fn read_argv(argv: Node<'_, '_>) -> Vec<String> {
    argv.children()
        .filter(|n| n.is_element() && matches!(n.tag_name().name(), "exe" | "arg"))
        .map(|n| n.text().unwrap_or("").trim().to_owned())
        .collect()
}

fn read_error(node: Node<'_, '_>) -> Error {
    let (text, leaked) = read_what(node);
    let (stack, aux) = read_stacks(node);
    let suppression = child(node, "suppression")
        .and_then(|s| child(s, "rawtext"))
        .and_then(|raw| raw.text())
        .map(|raw| raw.trim().to_owned());
    Error {
        kind: Kind::parse(child_text(node, "kind").unwrap_or("")),
        text,
        leaked,
        count: 1,
        tid: child_number(node, "tid"),
        stack,
        aux,
        suppression,
    }
}

/// The error's line (`what`, or `xwhat/text`) and, for a leak, what it lost.
fn read_what(node: Node<'_, '_>) -> (String, Option<Leaked>) {
    let Some(xwhat) = child(node, "xwhat") else {
        return (child_text(node, "what").unwrap_or("").to_owned(), None);
    };
    let leaked = match (
        child_number(xwhat, "leakedbytes"),
        child_number(xwhat, "leakedblocks"),
    ) {
        (Some(bytes), Some(blocks)) => Some(Leaked { bytes, blocks }),
        _ => None,
    };
    (child_text(xwhat, "text").unwrap_or("").to_owned(), leaked)
}

/// The main stack and the explanations after it. Stacks and explanations alternate: the
/// main stack follows `what`; an `auxwhat` (or `xauxwhat`) is followed by its own stack
/// when Valgrind has one.
fn read_stacks(node: Node<'_, '_>) -> (Vec<Frame>, Vec<Aux>) {
    let mut stack = Vec::new();
    let mut aux: Vec<Aux> = Vec::new();
    let explanation = |what: &str| Aux {
        what: what.to_owned(),
        stack: Vec::new(),
    };
    for part in node.children().filter(Node::is_element) {
        match part.tag_name().name() {
            "stack" => {
                let frames = read_stack(part);
                match aux.last_mut() {
                    Some(last) if last.stack.is_empty() => last.stack = frames,
                    None if stack.is_empty() => stack = frames,
                    _ => aux.push(Aux {
                        what: String::new(),
                        stack: frames,
                    }),
                }
            }
            "auxwhat" => aux.push(explanation(part.text().unwrap_or("").trim())),
            "xauxwhat" => aux.push(explanation(child_text(part, "text").unwrap_or(""))),
            "origin" => aux.push(Aux {
                what: child_text(part, "what").unwrap_or("").to_owned(),
                stack: child(part, "stack").map(read_stack).unwrap_or_default(),
            }),
            _ => {}
        }
    }
    (stack, aux)
}

fn read_stack(node: Node<'_, '_>) -> Vec<Frame> {
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
    node: Node<'a, 'input>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

fn child_text<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(node, name).and_then(|n| n.text()).map(str::trim)
}

/// A decimal number; protocol 6 may group digits with commas ("1,024").
fn child_number(node: Node<'_, '_>, name: &str) -> Option<u64> {
    let text = child_text(node, name)?;
    let digits: String = text.chars().filter(|c| *c != ',' && *c != '_').collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memcheck::xml::LeakKind;

    fn fixture(name: &str) -> String {
        let path = crate::project_root()
            .join("xtask/tests/fixtures/memcheck")
            .join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
    }

    fn failing(run: &ValgrindOutput) -> Vec<&Error> {
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
        let aux = &read.aux[0];
        assert!(
            aux.what.contains("0 bytes after a block of size 16"),
            "{}",
            aux.what
        );
        assert!(!aux.stack.is_empty());
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
