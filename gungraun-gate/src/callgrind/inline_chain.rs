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

use super::SourceLine;
use super::source_path::checkout_relative;

/// The debug info of the objects named in callgrind files, each loaded once.
#[derive(Default)]
pub(crate) struct Binaries {
    /// Per object path; `None` if it cannot be read, and then its lines stay as recorded.
    loaded: HashMap<String, Option<BenchBinary>>,
}

struct BenchBinary {
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
                addr2line::Loader::new(object)
                    .ok()
                    .map(|loader| BenchBinary {
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

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::super::fixtures::profile;
    use super::super::source_path::short_file;
    use super::super::{Place, Profile, read_dir};
    use super::*;

    /// `tests/fixtures/bench/inlined/src/main.rs`, compiled with rustc with debug info into
    /// a scratch directory that is removed when this is dropped: std's `black_box` inlined
    /// into `grown`, inlined into `measured`.
    struct Inlined {
        /// The checkout that the fixture's sources lie in.
        root: String,
        work: PathBuf,
        exe: PathBuf,
    }

    impl Inlined {
        fn compile(name: &str) -> Inlined {
            let root = format!(
                "{}/tests/fixtures/bench/inlined",
                env!("CARGO_MANIFEST_DIR")
            );
            let work =
                std::env::temp_dir().join(format!("gate-inlined-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&work).unwrap();
            let exe = work.join("inlined");
            let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
            let status = std::process::Command::new(rustc)
                .args(["--edition", "2024", "-C", "opt-level=2", "-g", "-o"])
                .arg(&exe)
                .arg(format!("{root}/src/main.rs"))
                .status()
                .unwrap();
            assert!(status.success(), "compiling the fixture");
            Inlined { root, work, exe }
        }
    }

    impl Drop for Inlined {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.work);
        }
    }

    /// Callgrind records `hint.rs` for the `black_box` loop's instructions; the binary's
    /// inline chain names `grown`.
    #[test]
    fn inlined_std_code_is_charged_to_the_checkout_fn_it_was_inlined_from() {
        let fixture = Inlined::compile("chain");
        let root = &fixture.root;
        // A `black_box` instruction inside `measured`, found by symbol and line table alone.
        let loader = addr2line::Loader::new(&fixture.exe).unwrap();
        let text = loader.get_section_range(b".text").unwrap();
        let (address, hint) = loader
            .find_location_range(text.begin, text.end)
            .unwrap()
            .find_map(|(address, _, location)| {
                let file = location.file?;
                let in_measured = loader.find_symbol(address)?.contains("measured");
                let hint = SourceLine {
                    file: file.to_owned(),
                    line: location.line.unwrap_or(0) as usize,
                };
                (in_measured && file.ends_with("core/src/hint.rs")).then_some((address, hint))
            })
            .expect("black_box inlined into `measured`");
        let exe = fixture.exe.to_string_lossy().into_owned();
        let cases = [
            (
                "the chain names the checkout fn",
                exe.as_str(),
                hint.line,
                Some("src/main.rs grown"),
            ),
            (
                "a binary that no longer matches the line callgrind recorded",
                exe.as_str(),
                hint.line + 1,
                None,
            ),
            (
                "an object that cannot be read",
                "/nonexistent/inlined",
                hint.line,
                None,
            ),
        ];
        for (case, object, line, want) in cases {
            let callgrind = format!(
                "positions: instr line\nevents: Ir\nob={object}\nfl={root}/src/main.rs\n\
                 fn=inlined::measured\nfi={}\n{address:#x} {line} 500\n",
                hint.file
            );
            let profile = profile(&callgrind, root);
            let places: Vec<String> = profile.self_by_place["inlined::measured"]
                .keys()
                .map(Place::to_string)
                .collect();
            let bare = short_file(&hint.file, root);
            assert_eq!(places, [want.unwrap_or(&bare)], "{case}");
        }
    }

    /// End to end: callgrind's own output for the fixture, positions compressed as by
    /// default, with the binary loaded where Valgrind puts it. Ignored by default: it needs
    /// Valgrind. Run it with `cargo test -p gungraun-gate -- --ignored`.
    #[test]
    #[ignore = "needs Valgrind; run with `cargo test -p gungraun-gate -- --ignored`"]
    fn callgrind_output_of_inlined_code_names_the_checkout_fn() {
        let fixture = Inlined::compile("valgrind");
        // `measured` loops once per argument.
        let status = std::process::Command::new("valgrind")
            .args(["--tool=callgrind", "--dump-instr=yes"])
            .arg(format!(
                "--callgrind-out-file={}",
                fixture.work.join("callgrind.out").display()
            ))
            .arg(&fixture.exe)
            .args(std::iter::repeat_n("x", 200))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "valgrind");
        let graphs = read_dir(&fixture.work, "Ir").unwrap();
        let profile = Profile::new(&graphs, Path::new(&fixture.root));
        let (_, measured) = profile
            .self_by_place
            .iter()
            .find(|(name, _)| name.ends_with("::measured"))
            .expect("`measured` in the callgrind file");
        let grown = Place {
            file: "src/main.rs".to_owned(),
            function: Some("grown".to_owned()),
        };
        let all: u64 = measured.values().sum();
        // Nearly all of it is the loop; a few compiler-made instructions without a line in
        // the checkout may stay with std's files.
        assert!(measured[&grown] * 10 > all * 9, "{measured:?}");
    }
}
