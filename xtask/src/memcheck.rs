//! `cargo xtask memcheck`: every test binary and the batch demo under Valgrind memcheck.
//!
//! The binaries come from cargo's own JSON messages, never from paths guessed in `target/`.
//! Each runs under memcheck with the reviewed suppressions in `valgrind/*.supp`; the XML
//! Valgrind writes is read by [`xml`], and the verdict comes from that XML alone. The
//! binary's own exit status only tells whether its tests passed, which is reported
//! separately: a failing test is not a memory error, and a memory error is not a test
//! failure.
//!
//! The steps, in order: [`build`] finds the binaries, [`valgrind`] runs one under memcheck,
//! [`check`] turns that run into a [`verdict::CheckedBinary`], [`attribute`] names the test a
//! finding belongs to, [`verdict`] decides, [`report`] prints, and [`summary`] records a
//! full run for `cargo xtask slo`.

mod attribute;
mod build;
mod check;
mod report;
pub(crate) mod summary;
mod valgrind;
mod verdict;
mod xml;

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::exit::Exit;
use crate::{flags, project_root};
use build::Binary;
use valgrind::{MemcheckSettings, WorkDir};
use verdict::CheckedBinary;

impl flags::Memcheck {
    pub(crate) fn run(self) -> anyhow::Result<Exit> {
        let started = Instant::now();
        let root = project_root();
        let settings = self.settings(root)?;
        let binaries = build::binaries(&settings.root, self.filter.as_deref())?;
        let work = WorkDir::new()?;
        if let Some(dir) = &self.keep_xml {
            fs::create_dir_all(dir)
                .with_context(|| format!("creating --keep-xml directory {}", dir.display()))?;
        }
        let results = self.check_each(&binaries, &work, &settings)?;
        let exit = report::totals(&results, started.elapsed());
        if self.filter.is_none() {
            summary::write(&settings.root, &results)?;
        }
        Ok(exit)
    }

    /// Finds Valgrind and the suppressions, and says which it found.
    fn settings(&self, root: PathBuf) -> anyhow::Result<MemcheckSettings> {
        let version = crate::host::valgrind_version()?;
        let suppressions = valgrind::suppression_files(&root)?;
        println!(
            "memcheck: {version}, suppressions: {}",
            if suppressions.is_empty() {
                "none".to_owned()
            } else {
                display_paths(&root, &suppressions)
            }
        );
        Ok(MemcheckSettings {
            root,
            suppressions,
            gen_suppressions: self.gen_suppressions,
            timeout: Duration::from_secs(self.timeout),
        })
    }

    /// Checks each binary in turn, printing its report as soon as it is known.
    fn check_each(
        &self,
        binaries: &[Binary],
        work: &WorkDir,
        settings: &MemcheckSettings,
    ) -> anyhow::Result<Vec<CheckedBinary>> {
        let mut results = Vec::new();
        for (index, binary) in binaries.iter().enumerate() {
            print!(
                "memcheck: [{}/{}] {} ... ",
                index + 1,
                binaries.len(),
                binary.name
            );
            io::stdout().flush()?;
            let checked = check::check(binary, &work.path, settings)?;
            println!("{}", report::headline(&checked));
            print!("{}", report::details(&checked, settings));
            if let Some(dir) = &self.keep_xml {
                check::keep(&checked, dir)?;
            }
            results.push(checked);
        }
        Ok(results)
    }
}

fn display_paths(root: &Path, paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::exit::Exit;
    use verdict::ProgramStatus;
    use xml::{Kind, LeakKind};

    /// Compiles `programs/{name}.rs` with `rustc --test` and checks it under memcheck; the
    /// result and the report it prints.
    fn check_program(
        name: &str,
        work: &WorkDir,
        settings: &MemcheckSettings,
    ) -> (CheckedBinary, String) {
        let programs = settings.root.join("xtask/tests/fixtures/memcheck/programs");
        let exe = work.path.join(name);
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let status = Command::new(rustc)
            .args(["--edition", "2024", "--test", "-g", "-o"])
            .arg(&exe)
            .arg(programs.join(format!("{name}.rs")))
            .status()
            .unwrap();
        assert!(status.success(), "compiling {name}.rs");
        let binary = Binary::new(name, "test", exe, true);
        let checked = check::check(&binary, &work.path, settings).unwrap();
        let report = format!(
            "{}\n{}",
            report::headline(&checked),
            report::details(&checked, settings)
        );
        (checked, report)
    }

    /// End to end, under Valgrind: each deliberately broken program in
    /// `tests/fixtures/memcheck/programs/` gets the verdict it must get, and the clean one
    /// passes. Ignored by default: it needs Valgrind, and `cargo xtask memcheck` runs this
    /// very binary under Valgrind. Run it with `cargo test -p xtask -- --ignored`.
    #[test]
    #[ignore = "needs Valgrind; run with `cargo test -p xtask -- --ignored`"]
    fn valgrind_catches_the_deliberate_bugs() {
        let root = project_root();
        let work = WorkDir::new().unwrap();
        let settings = MemcheckSettings {
            suppressions: valgrind::suppression_files(&root).unwrap(),
            root,
            gen_suppressions: true,
            timeout: Duration::from_secs(300),
        };

        let (leaky, report) = check_program("leaky", &work, &settings);
        assert_eq!(leaky.exit_code(), Exit::Failed, "{report}");
        let leak = leaky.findings().next().unwrap();
        assert_eq!(leak.kind, Kind::Leak(LeakKind::Definite), "{report}");
        assert_eq!(leak.leaked.unwrap().bytes, 4096, "{report}");
        assert_eq!(
            attribute::attribute(leak, &leaky.tests).as_deref(),
            Some("leaks_a_page")
        );
        assert!(report.contains("test: leaks_a_page"), "{report}");
        assert!(report.contains("programs/leaky.rs:7"), "{report}");
        assert!(report.contains("Memcheck:Leak"), "{report}");

        let (invalid, report) = check_program("invalid_read", &work, &settings);
        assert_eq!(invalid.exit_code(), Exit::Failed, "{report}");
        let read = invalid.findings().next().unwrap();
        assert_eq!(read.kind, Kind::Known("InvalidRead"), "{report}");
        assert!(report.contains("test: reads_past_the_end"), "{report}");
        assert!(
            report.contains("0 bytes after a block of size 16"),
            "{report}"
        );

        let (failing, report) = check_program("failing", &work, &settings);
        assert_eq!(failing.exit_code(), Exit::TestsFailed, "{report}");
        assert_eq!(
            failing.status,
            ProgramStatus::Failed(vec!["fails_cleanly".to_owned()])
        );
        assert!(report.contains("this test fails on purpose"), "{report}");

        let (clean, report) = check_program("clean", &work, &settings);
        assert_eq!(clean.exit_code(), Exit::Passed, "{report}");
        assert_eq!(clean.status, ProgramStatus::Passed);
    }
}
