//! The batch demo: run N CLI-style "commands" from synchronous code, on globalrt's
//! shared runtime (`global`: one `globalrt::execute` per command; `scope`: every command
//! through one `globalrt::scope`'s token) or with a runtime built and dropped per command
//! (`naive`).
//!
//! ```text
//! cargo run --release --example batch -- --mode global --commands 280
//! cargo run --release --example batch -- --mode scope --commands 280
//! cargo run --release --example batch -- --mode naive --commands 280 --json
//! ```
//!
//! Each command is `support/workload.rs`'s mix: a temp file written and read back with
//! `tokio::fs`, a short timer, a channel round trip, four spawned tasks joined.
//! Every thread either mode starts is counted through tokio's `on_thread_start` hook.
//! The naive mode builds its runtimes as `Runtime::new()` does
//! (`Builder::new_multi_thread().enable_all()`), plus that hook.
//!
//! Exit codes: 0 success, 1 a command failed, 2 bad arguments.

#[path = "support/workload.rs"]
mod workload;

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static THREADS_STARTED: AtomicUsize = AtomicUsize::new(0);

const USAGE: &str = "usage: batch [--mode global|scope|naive] [--commands N] [--json]";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Global,
    Scope,
    Naive,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Global => "global",
            Mode::Scope => "scope",
            Mode::Naive => "naive",
        }
    }
}

struct Args {
    mode: Mode,
    commands: u32,
    json: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        mode: Mode::Global,
        commands: 280,
        json: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--mode" => {
                parsed.mode = match args.next().as_deref() {
                    Some("global") => Mode::Global,
                    Some("scope") => Mode::Scope,
                    Some("naive") => Mode::Naive,
                    Some(other) => {
                        return Err(format!(
                            "--mode takes `global`, `scope` or `naive`, not {other:?}"
                        ));
                    }
                    None => {
                        return Err("--mode needs a value: `global`, `scope` or `naive`".to_owned());
                    }
                }
            }
            "--commands" => {
                let value = args
                    .next()
                    .ok_or("--commands needs a value: a whole number ≥ 1")?;
                parsed.commands = match value.parse::<u32>() {
                    Ok(n) if n >= 1 => n,
                    _ => {
                        return Err(format!(
                            "--commands takes a whole number ≥ 1, not {value:?}"
                        ));
                    }
                };
            }
            "--json" => parsed.json = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(parsed)
}

fn count_thread() {
    THREADS_STARTED.fetch_add(1, Ordering::Relaxed);
}

fn run_naive<F: std::future::Future>(future: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(count_thread)
        .build()
        .expect("batch: cannot build a runtime");
    runtime.block_on(future)
}

/// Runs commands `0..commands` through `run`, stopping at the first failure, which it
/// returns.
fn run_commands(commands: u32, mut run: impl FnMut(u32) -> std::io::Result<u64>) -> Option<String> {
    for id in 0..commands {
        match run(id) {
            Ok(sum) if sum == workload::expected(id) => {}
            Ok(sum) => {
                return Some(format!(
                    "command {id}: checksum {sum}, expected {}",
                    workload::expected(id)
                ));
            }
            Err(err) => return Some(format!("command {id}: {err}")),
        }
    }
    None
}

/// Peak resident set size of this process in KiB (`VmHWM`), where /proc has it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) if msg.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("batch: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let dir = std::env::temp_dir().join(format!("globalrt-batch-{}", std::process::id()));
    if let Err(err) = std::fs::create_dir_all(&dir) {
        eprintln!("batch: cannot create {}: {err}", dir.display());
        return ExitCode::FAILURE;
    }

    let start = Instant::now();
    let shared = args.mode != Mode::Naive;
    if shared {
        let config = globalrt::Config::new().on_thread_start(count_thread);
        if let Err(err) = globalrt::init(config) {
            eprintln!("batch: {err}");
            return ExitCode::FAILURE;
        }
    }
    let failure = match args.mode {
        Mode::Global => run_commands(args.commands, |id| {
            globalrt::execute(workload::command(&dir, id))
        }),
        Mode::Scope => globalrt::scope(|rt| {
            run_commands(args.commands, |id| rt.execute(workload::command(&dir, id)))
        }),
        Mode::Naive => run_commands(args.commands, |id| run_naive(workload::command(&dir, id))),
    };
    let total = start.elapsed();
    if shared && let Err(err) = globalrt::shutdown(Duration::from_secs(10)) {
        eprintln!("batch: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(failure) = failure {
        eprintln!("batch: {failure}");
        return ExitCode::FAILURE;
    }

    let mode = args.mode.name();
    let threads = THREADS_STARTED.load(Ordering::Relaxed);
    let mean_us = total.as_secs_f64() * 1e6 / f64::from(args.commands);
    let rss = peak_rss_kib();
    if args.json {
        let rss = rss.map_or("null".to_owned(), |k| k.to_string());
        println!(
            "{{\"mode\":\"{mode}\",\"commands\":{},\"total_ms\":{:.3},\"mean_us\":{mean_us:.1},\"threads_created\":{threads},\"peak_rss_kib\":{rss}}}",
            args.commands,
            total.as_secs_f64() * 1e3,
        );
    } else {
        println!("mode:             {mode}");
        println!("commands:         {}", args.commands);
        println!("total:            {:.1} ms", total.as_secs_f64() * 1e3);
        println!("per command:      {mean_us:.1} µs");
        println!("threads created:  {threads} (runtime workers and blocking-pool threads)");
        if let Some(kib) = rss {
            println!("peak RSS:         {:.1} MiB", kib as f64 / 1024.0);
        }
    }
    ExitCode::SUCCESS
}
