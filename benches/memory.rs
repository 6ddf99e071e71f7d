//! Memory and threads, not time: the `memory_pressure` figures of the SLO table.
//!
//! - In this process, from a counting global allocator: bytes allocated, allocation count
//!   and peak live bytes per `execute(ready)`, per demo command through `execute` and
//!   through `naive::execute`, and for the demo's 280 commands in each mode.
//! - The demo process (`examples/batch.rs --json`) at 280 commands in each mode, three
//!   times: its peak RSS and the OS threads its runtime(s) started.
//!
//! It prints its figures and writes them to `target/slo/memory.json` for `cargo xtask slo`
//! (the type is `MemoryFigures` in `globalrt_bench_support::contract`, which xtask reads too).
//!
//! It is a target of its own, not a group of `runtime_overhead`, because the counting
//! allocator would otherwise add its atomic adds to every allocation the timed groups make.
//!
//! Run: `cargo bench --bench memory`. `cargo test --benches` runs it once, small, and
//! writes nothing.

// The counting global allocator needs `unsafe impl GlobalAlloc`; nothing else here is unsafe.
#![allow(unsafe_code)]

#[path = "../examples/support/workload.rs"]
mod workload;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use globalrt_bench_support::contract::{
    BatchHeap, DEMO_MODES, DemoMode, DemoProcess, DemoRun, InProcess, MEMORY_FILE, MEMORY_SCHEMA,
    MemoryFigures, PerCall, SLO_DIR_ENV,
};
use globalrt_bench_support::demo::{self, batch, batch_binary, temp_dir};
use globalrt_bench_support::write_atomic;

const GROUP: &str = "memory_pressure";

// ---------------------------------------------------------------------------------------
// Counting allocator

/// Counts every allocation of this process: total bytes, count, live bytes and their peak.
struct Counting;

static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn record_alloc(size: usize) {
    ALLOCATED_BYTES.fetch_add(size as u64, Ordering::Relaxed);
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    let live = LIVE_BYTES.fetch_add(size, Ordering::Relaxed) + size;
    PEAK_LIVE_BYTES.fetch_max(live, Ordering::Relaxed);
}

fn record_dealloc(size: usize) {
    LIVE_BYTES.fetch_sub(size, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and
// only updates counters on success, so `System`'s guarantees carry over.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) };
        record_dealloc(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as ours.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // Counted like dhat does: a new allocation of `new_size`, and the old block freed.
            record_alloc(new_size);
            record_dealloc(layout.size());
        }
        new
    }
}

/// What the counting allocator saw while one closure ran (on any thread of the process).
#[derive(Clone, Copy, Debug)]
struct MemoryUse {
    bytes_allocated: u64,
    allocations: u64,
    /// Highest live heap above the live heap at the start.
    peak_live_bytes: u64,
}

fn measure_memory(f: impl FnOnce()) -> MemoryUse {
    let bytes0 = ALLOCATED_BYTES.load(Ordering::SeqCst);
    let count0 = ALLOCATIONS.load(Ordering::SeqCst);
    let live0 = LIVE_BYTES.load(Ordering::SeqCst);
    PEAK_LIVE_BYTES.store(live0, Ordering::SeqCst);
    f();
    MemoryUse {
        bytes_allocated: ALLOCATED_BYTES.load(Ordering::SeqCst) - bytes0,
        allocations: ALLOCATIONS.load(Ordering::SeqCst) - count0,
        peak_live_bytes: PEAK_LIVE_BYTES.load(Ordering::SeqCst).saturating_sub(live0) as u64,
    }
}

// ---------------------------------------------------------------------------------------
// Command line

/// The parts of criterion's command line this target honours, so that `cargo bench` and
/// `cargo test --benches` treat it like the criterion targets beside it. Read here because
/// criterion keeps its mode and filter private (no getter in 0.8) and this is no timed group.
struct RunMode {
    /// `cargo bench` passes `--bench`; `cargo test --benches` does not (run once, write nothing).
    benchmark: bool,
    list: bool,
    filter: Option<String>,
}

/// Criterion's options that take a value, so their values are not read as the filter.
const WITH_VALUE: &[&str] = &[
    "-c",
    "--color",
    "--colour",
    "-s",
    "--save-baseline",
    "-b",
    "--baseline",
    "--baseline-lenient",
    "--format",
    "--profile-time",
    "--load-baseline",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--plotting-backend",
    "--output-format",
];

impl RunMode {
    fn from_args() -> RunMode {
        let mut mode = RunMode {
            benchmark: false,
            list: false,
            filter: None,
        };
        let mut args = std::env::args().skip(1);
        let mut test = false;
        let mut profile = false;
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--bench" => mode.benchmark = true,
                "--test" => test = true,
                "--list" => mode.list = true,
                "--profile-time" => {
                    profile = true;
                    args.next();
                }
                a if WITH_VALUE.contains(&a) => {
                    args.next();
                }
                a if a.starts_with('-') => {}
                a => mode.filter = Some(a.to_owned()),
            }
        }
        if test || profile {
            mode.benchmark = false;
        }
        mode
    }

    /// Criterion treats the filter as a regex; this target matches it as plain text.
    fn selects(&self, id: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| id.contains(f))
    }
}

// ---------------------------------------------------------------------------------------
// The figures

/// How much to measure: a full run, or the one small pass of `cargo test --benches`.
#[derive(Clone, Copy)]
struct Sizes {
    /// Calls of `execute(ready)`.
    calls: u64,
    /// Demo commands per batch, in process and in the demo process.
    commands: u32,
    /// Demo processes per mode.
    demo_runs: u32,
}

/// Per-call figures from the counting allocator, `calls` calls after one warm-up call.
fn per_call_memory(calls: u64, mut call: impl FnMut()) -> PerCall {
    call();
    let usage = measure_memory(|| {
        for _ in 0..calls {
            call();
        }
    });
    PerCall {
        calls,
        bytes_per_call: usage.bytes_allocated as f64 / calls as f64,
        allocations_per_call: usage.allocations as f64 / calls as f64,
        peak_live_bytes: usage.peak_live_bytes,
    }
}

/// The heap figures of `commands` demo commands, one after another, through `run`.
fn batch_memory(commands: u32, run: impl Fn(u32) -> std::io::Result<u64>) -> BatchHeap {
    let usage = measure_memory(|| batch(commands, workload::expected, run));
    BatchHeap {
        commands,
        bytes_allocated: usage.bytes_allocated,
        allocations: usage.allocations,
        peak_live_bytes: usage.peak_live_bytes,
    }
}

fn in_process(sizes: Sizes) -> InProcess {
    globalrt::execute(async {});
    let dir = temp_dir("memory");
    let command_calls = (sizes.calls / 500).max(2);
    let figures = InProcess {
        execute_ready: per_call_memory(sizes.calls, || {
            black_box(globalrt::execute(async { black_box(42_u64) }));
        }),
        one_command_global: per_call_memory(command_calls, || {
            globalrt::execute(workload::command(&dir, 0)).expect("demo command");
        }),
        one_command_naive: per_call_memory(command_calls, || {
            globalrt::naive::execute(workload::command(&dir, 0)).expect("demo command");
        }),
        batch_global: batch_memory(sizes.commands, |id| {
            globalrt::execute(workload::command(&dir, id))
        }),
        batch_naive: batch_memory(sizes.commands, |id| {
            globalrt::naive::execute(workload::command(&dir, id))
        }),
    };
    let _ = std::fs::remove_dir_all(&dir);
    figures
}

/// One demo process's `--json` line, parsed.
fn demo_json(binary: &Path, mode: &str, commands: u32) -> Result<DemoRun, String> {
    let output = Command::new(binary)
        .args([
            "--mode",
            mode,
            "--commands",
            &commands.to_string(),
            "--json",
        ])
        .output()
        .map_err(|err| format!("cannot start {}: {err}", binary.display()))?;
    if !output.status.success() {
        return Err(format!(
            "demo --mode {mode} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).map_err(|err| format!("demo printed {line:?}, not JSON: {err}"))
}

/// Each mode's demo process, `demo_runs` times: its own peak RSS (VmHWM) and the threads
/// its runtime(s) started, as it reports them with `--json`.
fn demo_process(sizes: Sizes) -> DemoProcess {
    let binary = batch_binary();
    let [global, naive] = DEMO_MODES.map(|mode| {
        let runs = binary.as_ref().map_err(Clone::clone).and_then(|binary| {
            (0..sizes.demo_runs)
                .map(|_| demo_json(binary, mode, sizes.commands))
                .collect::<Result<Vec<_>, String>>()
        });
        match runs {
            Ok(runs) => DemoMode::Runs {
                commands: sizes.commands,
                runs,
            },
            Err(unavailable) => DemoMode::Unavailable { unavailable },
        }
    });
    DemoProcess { global, naive }
}

/// Where the figures go: `$GLOBALRT_SLO_DIR`, else `slo/` in cargo's target directory.
fn slo_dir() -> PathBuf {
    std::env::var_os(SLO_DIR_ENV).map_or_else(|| demo::target_dir().join("slo"), PathBuf::from)
}

fn print_memory(figures: &MemoryFigures) {
    let p = &figures.in_process;
    for (name, heap) in [
        ("batch_global", &p.batch_global),
        ("batch_naive", &p.batch_naive),
    ] {
        println!(
            "  {name:<22} {:>12} B total {:>8} allocs       peak live {} B ({} commands)",
            heap.bytes_allocated, heap.allocations, heap.peak_live_bytes, heap.commands,
        );
    }
    for (name, call) in [
        ("execute_ready", &p.execute_ready),
        ("one_command_global", &p.one_command_global),
        ("one_command_naive", &p.one_command_naive),
    ] {
        println!(
            "  {name:<22} {:>12.1} B/call {:>8.1} allocs/call  peak live {} B",
            call.bytes_per_call, call.allocations_per_call, call.peak_live_bytes,
        );
    }
    let demo = &figures.demo_process;
    for (name, mode) in [("global", &demo.global), ("naive", &demo.naive)] {
        match mode.runs() {
            Ok(runs) => {
                for run in runs {
                    let rss = run
                        .peak_rss_kib
                        .map_or("null".to_owned(), |k| k.to_string());
                    println!(
                        "  demo --mode {name:<7} {} commands: peak RSS {rss} KiB, threads created {}, total {} ms",
                        run.commands, run.threads_created, run.total_ms,
                    );
                }
            }
            Err(reason) => println!("  demo --mode {name}: not measured: {reason:?}"),
        }
    }
}

fn main() {
    const IDS: [&str; 4] = [
        "memory_pressure/in_process",
        "memory_pressure/batch_280",
        "memory_pressure/demo_process_280",
        "memory_pressure/threads_created",
    ];
    let mode = RunMode::from_args();
    if mode.list {
        for id in IDS {
            println!("{id}: benchmark");
        }
        return;
    }
    if !IDS.iter().any(|id| mode.selects(id)) {
        return;
    }
    let sizes = if mode.benchmark {
        Sizes {
            calls: 10_000,
            commands: 280,
            demo_runs: 3,
        }
    } else {
        Sizes {
            calls: 10,
            commands: 2,
            demo_runs: 1,
        }
    };
    println!("{GROUP}: memory and threads (counting allocator; demo process --json)");
    let figures = MemoryFigures {
        schema: MEMORY_SCHEMA,
        source: "benches/memory.rs".to_owned(),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        in_process: in_process(sizes),
        demo_process: demo_process(sizes),
    };
    print_memory(&figures);
    if mode.benchmark {
        let path = slo_dir().join(MEMORY_FILE);
        let text = serde_json::to_string_pretty(&figures).expect("JSON of plain values");
        match write_atomic(&path, text.as_bytes()) {
            Ok(()) => println!("{GROUP}: figures written to {}", path.display()),
            Err(err) => panic!("memory: cannot write {}: {err}", path.display()),
        }
    }
}
