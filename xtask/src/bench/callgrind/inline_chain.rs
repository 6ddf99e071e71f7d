//! Which workspace line an instruction's cost belongs to, read from the chain of inlined
//! calls at its address in the binary's DWARF (addr2line).
//!
//! Callgrind records only the innermost inlined frame's file and line. When a workspace
//! `fn` that is itself inlined gains a `std::hint::black_box` loop, the cost shows up as
//! `library/core/src/hint.rs` in whatever function the workspace code was inlined into,
//! and the workspace `fn` is never named. With `--dump-instr=yes` each cost line carries
//! the instruction's address, and the debug info at that address lists every frame of the
//! inline chain: the innermost one written in the measured checkout is where the cost
//! belongs (the line in `src/naive.rs` that calls `black_box`, inside `naive::execute`).
//!
//! Callgrind writes an address relative to its object's load bias, so it is the ELF's own
//! virtual address and needs no adjusting. The binary is read after the run, so it may have
//! been rebuilt since: an address is only resolved when the debug info's innermost frame is
//! the very file and line callgrind recorded for it; otherwise the recorded line stands.

use std::collections::HashMap;

use super::{SourceLine, checkout_relative};

/// The debug info of the objects named in callgrind files, each loaded once.
#[derive(Default)]
pub(crate) struct Binaries {
    /// Per object path; `None` if it cannot be read, and then its lines stay as recorded.
    loaded: HashMap<String, Option<Binary>>,
}

struct Binary {
    loader: addr2line::Loader,
    /// Per address, the line its cost belongs to, once resolved.
    resolved: HashMap<u64, Option<SourceLine>>,
}

impl Binaries {
    /// The line inside the checkout at `root` that the instruction at `address` of `object`
    /// was inlined from: the innermost frame of its inline chain in a checkout file. `None`
    /// when `recorded`, the line callgrind gave for the address, should stand: it is in the
    /// checkout already, no frame is, or the object's debug info cannot be read or does not
    /// agree with `recorded`.
    pub(crate) fn workspace_line(
        &mut self,
        object: &str,
        address: u64,
        recorded: &SourceLine,
        root: &str,
    ) -> Option<SourceLine> {
        // A recorded line in the checkout is the innermost checkout frame already; skipping
        // it spares reading debug info, the slow part of the breakdown.
        if checkout_relative(&recorded.file, root).is_some() {
            return None;
        }
        let binary = self
            .loaded
            .entry(object.to_owned())
            .or_insert_with(|| {
                addr2line::Loader::new(object).ok().map(|loader| Binary {
                    loader,
                    resolved: HashMap::new(),
                })
            })
            .as_mut()?;
        binary
            .resolved
            .entry(address)
            .or_insert_with(|| innermost_in_checkout(&binary.loader, address, recorded, root))
            .clone()
    }
}

fn innermost_in_checkout(
    loader: &addr2line::Loader,
    address: u64,
    recorded: &SourceLine,
    root: &str,
) -> Option<SourceLine> {
    let mut frames = loader.find_frames(address).ok()?;
    let mut innermost = true;
    while let Some(frame) = frames.next().ok()? {
        let at = frame.location.and_then(|location| {
            Some(SourceLine {
                file: location.file?.to_owned(),
                line: location.line.unwrap_or(0) as usize,
            })
        });
        if innermost && at.as_ref() != Some(recorded) {
            return None;
        }
        innermost = false;
        if let Some(at) = at
            && checkout_relative(&at.file, root).is_some()
        {
            return Some(at);
        }
    }
    None
}
