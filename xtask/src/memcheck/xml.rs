//! Reader for Valgrind memcheck's XML output (`--xml=yes`).
//!
//! Accepts protocol 4 (Valgrind 3.19 and older), 5 (`--track-fds`) and 6 (Valgrind 3.25+,
//! which adds summaries and may group digits with commas). It reads only what the report
//! needs and ignores every element it does not know, so a newer Valgrind degrades to less
//! detail, never to a crash; an error kind it does not know becomes [`Kind::Unknown`].
//!
//! This file is the model; [`parser`] turns the text into it.

mod parser;

use std::fmt;

pub(crate) use parser::read;

/// Everything the report needs from one process's XML file (`<valgrindoutput>`).
#[derive(Debug, Default)]
pub(crate) struct ValgrindOutput {
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
    /// Further explanations, each with its own stack when Valgrind gave one.
    pub(crate) aux: Vec<Aux>,
    /// The ready-made suppression entry, with `--gen-suppressions=all`.
    pub(crate) suppression: Option<String>,
}

/// An `auxwhat` (or `xauxwhat`, `origin`) explanation and the stack that goes with it,
/// e.g. "Address 0x… is 0 bytes after a block of size 16 alloc'd" and where it was.
#[derive(Debug)]
pub(crate) struct Aux {
    /// Empty for a stack Valgrind gave without an explanation of its own.
    pub(crate) what: String,
    /// Empty when Valgrind gave no stack for it.
    pub(crate) stack: Vec<Frame>,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
