//! `cargo xtask ci`: every check CI runs, in order, the same on a laptop, on GitHub and in `.ci/run`.
//!
//! Each step is an external command with an explicit argument list. The xtask's own steps
//! (workflow lint, loom, memcheck, bench) re-run this very binary, so no step recompiles xtask.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::exit::Exit;
use crate::flags;
use crate::flags::ci_steps::CiStep;
use crate::project_root;

/// One step as `run` starts it.
struct Step {
    id: CiStep,
    program: OsString,
    args: &'static [&'static str],
}

fn steps(xtask: OsString) -> Vec<Step> {
    CiStep::ALL
        .into_iter()
        .map(|id| Step {
            id,
            program: id.program(&xtask),
            args: id.args(),
        })
        .collect()
}

/// Whether to fold output in GitHub Actions `::group::` sections.
pub(crate) fn on_github() -> bool {
    std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

/// One step's line in the closing table: how long it took, or `None` when skipped.
struct Timing {
    step: CiStep,
    elapsed: Option<Duration>,
}

impl flags::Ci {
    pub(crate) fn run(self) -> anyhow::Result<Exit> {
        let xtask = std::env::current_exe().context("cannot find the running xtask binary")?;
        let mut timings: Vec<Timing> = Vec::new();
        let total = Instant::now();
        for step in steps(xtask.into_os_string()) {
            if self.skip.contains(&step.id) {
                println!("ci: {} skipped (--skip)", step.id);
                timings.push(Timing {
                    step: step.id,
                    elapsed: None,
                });
                continue;
            }
            let ran = run_step(&step);
            if let Ok((_, elapsed)) = &ran {
                timings.push(Timing {
                    step: step.id,
                    elapsed: Some(*elapsed),
                });
            }
            let failed = match ran {
                Ok((status, _)) if status.success() => continue,
                Ok((status, _)) => Ok(failure_code(&step, status)),
                Err(err) => Err(err),
            };
            print!("{}", summary(&timings, total.elapsed()));
            return failed;
        }
        print!("{}", summary(&timings, total.elapsed()));
        self.all_passed()
    }

    /// The closing line once no step failed; an error when every step was skipped.
    fn all_passed(&self) -> anyhow::Result<Exit> {
        if self.skip.is_empty() {
            println!("ci: all steps passed");
        } else if self.skip.len() == CiStep::ALL.len() {
            bail!("every step was skipped; nothing was checked");
        } else {
            println!(
                "ci: all steps that ran passed ({} skipped)",
                self.skip.len()
            );
        }
        Ok(Exit::Passed)
    }
}

/// Runs one step, folded in a `::group::` on GitHub; its status and how long it took.
fn run_step(step: &Step) -> anyhow::Result<(ExitStatus, Duration)> {
    let github = on_github();
    if github {
        println!("::group::{}", step.id);
    }
    println!(
        "ci: {} — {} {}",
        step.id,
        step.program.to_string_lossy(),
        step.args.join(" ")
    );
    let started = Instant::now();
    let status = Command::new(&step.program)
        .args(step.args)
        .current_dir(project_root())
        .status()
        .with_context(|| {
            format!(
                "step {}: cannot start {}",
                step.id,
                step.program.to_string_lossy()
            )
        });
    let elapsed = started.elapsed();
    if github {
        println!("::endgroup::");
    }
    let status = status?;
    println!(
        "ci: {} {} in {:.1} s",
        step.id,
        if status.success() { "passed" } else { "FAILED" },
        elapsed.as_secs_f64()
    );
    Ok((status, elapsed))
}

/// The exit code for a failed step: the step's own code, or 1.
fn failure_code(step: &Step, status: ExitStatus) -> Exit {
    let code = status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .filter(|&c| c != 0)
        .unwrap_or(1);
    eprintln!(
        "ci: step `{}` failed (exit {code}); run `cargo xtask ci --skip ...` or the step alone to iterate",
        step.id
    );
    Exit::Step(code)
}

fn summary(timings: &[Timing], total: Duration) -> String {
    let mut out = String::from("\nci: step timings\n");
    for Timing { step, elapsed } in timings {
        match elapsed {
            Some(t) => writeln!(out, "  {:<18} {:>8.1} s", step.to_string(), t.as_secs_f64()),
            None => writeln!(out, "  {:<18} {:>10}", step.to_string(), "skipped"),
        }
        .expect("writing to a String cannot fail");
    }
    writeln!(out, "  {:<18} {:>8.1} s", "total", total.as_secs_f64())
        .expect("writing to a String cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cargo;

    /// Each step's command line as a user would type it: `cargo …` or `cargo xtask …`.
    fn command_line(step: &Step) -> Vec<&str> {
        let program = if step.program == cargo() {
            vec!["cargo"]
        } else {
            assert_eq!(step.program, "xtask-binary", "step {}", step.id);
            vec!["cargo", "xtask"]
        };
        program
            .into_iter()
            .chain(step.args.iter().copied())
            .collect()
    }

    /// The steps `ci` runs, in order, and their commands, against a list written out here:
    /// reordering or dropping a step, or `--workspace`, `-D warnings` or `--check`, must
    /// fail here, and `ci --help` must name the same commands.
    #[test]
    fn steps_run_the_exact_commands() {
        use clap::ValueEnum as _;
        let want: [(&str, &str); 9] = [
            ("fmt", "cargo fmt --all -- --check"),
            (
                "clippy",
                "cargo clippy --workspace --all-targets -- -D warnings",
            ),
            ("workflows", "cargo xtask lint-workflows"),
            ("platforms", "cargo xtask platforms"),
            ("test", "cargo test --workspace"),
            ("loom", "cargo xtask loom"),
            ("memcheck", "cargo xtask memcheck"),
            (
                "memcheck-selftest",
                "cargo test -p xtask -- --ignored valgrind_catches_the_deliberate_bugs",
            ),
            ("bench", "cargo xtask bench"),
        ];
        let steps = steps("xtask-binary".into());
        assert_eq!(steps.len(), want.len());
        for (step, (id, line)) in steps.iter().zip(want) {
            assert_eq!(step.id.name(), id);
            assert_eq!(
                command_line(step),
                line.split(' ').collect::<Vec<_>>(),
                "step {id}"
            );
            // `cargo xtask ci --help` names the same command.
            let help = step
                .id
                .to_possible_value()
                .unwrap()
                .get_help()
                .unwrap()
                .to_string();
            assert_eq!(
                help.split('`').nth(1),
                Some(line),
                "step {id}'s help: {help}"
            );
        }
    }

    #[test]
    fn summary_lists_skipped_and_timed_steps() {
        let text = summary(
            &[
                Timing {
                    step: CiStep::ALL[0],
                    elapsed: Some(Duration::from_millis(1500)),
                },
                Timing {
                    step: CiStep::ALL[6],
                    elapsed: None,
                },
            ],
            Duration::from_secs(2),
        );
        assert!(text.contains("fmt") && text.contains("1.5 s"), "{text}");
        assert!(
            text.contains("memcheck") && text.contains("skipped"),
            "{text}"
        );
        assert!(text.contains("total") && text.contains("2.0 s"), "{text}");
    }
}
