//! What the wall-clock suite writes and `cargo xtask slo` reads, defined once.
//!
//! The criterion ids the SLO table looks results up by, the caller counts of
//! `execute_concurrent`, the environment variables xtask passes to the suite, and the typed
//! figures of `memory.json`. `benches/runtime_overhead.rs`, `benches/memory.rs` and
//! `xtask/src/slo.rs` all use this module, so a benchmark renamed or a figure added on one
//! side cannot go unnoticed on the other: it stops compiling.

use serde::{Deserialize, Serialize};

/// A criterion benchmark: the group it is registered in and its id there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BenchId {
    pub group: &'static str,
    pub name: &'static str,
    /// `group/name`, criterion's full id, by which the SLO table finds the result.
    pub full: &'static str,
}

impl BenchId {
    /// The full id of one point of a parameter sweep (`BenchmarkId::new(name, parameter)`).
    pub fn at(&self, parameter: impl std::fmt::Display) -> String {
        format!("{}/{parameter}", self.full)
    }
}

/// Declares a group's name and the ids in it that xtask reads, each literal written once.
macro_rules! group {
    ($(#[$doc:meta])* $group:ident = $group_name:literal {
        $( $(#[$id_doc:meta])* $id:ident = $name:literal, )*
    }) => {
        $(#[$doc])*
        pub const $group: &str = $group_name;
        $(
            $(#[$id_doc])*
            pub const $id: BenchId = BenchId {
                group: $group_name,
                name: $name,
                full: concat!($group_name, "/", $name),
            };
        )*
    };
}

group! {
    /// The per-call cost of `execute`.
    EXECUTE_PATHS = "execute_paths" {
        /// One `execute` of a ready future.
        EXECUTE_READY = "ready",
    }
}

group! {
    /// Per-call cost while several threads call at once.
    EXECUTE_CONCURRENT = "execute_concurrent" {
        /// Wall-clock latency per call of one caller of N, swept over [`CONCURRENT_THREADS`].
        CONCURRENT_WALL = "threads",
        /// CPU time per call on the calling thread, one of N, swept over [`CONCURRENT_THREADS`].
        CONCURRENT_CPU = "thread_cpu",
        /// The same through a `globalrt::scope` token, each thread inside one scope.
        CONCURRENT_SCOPE_CPU = "scope_thread_cpu",
    }
}

/// The caller counts `execute_concurrent` sweeps.
pub const CONCURRENT_THREADS: [u32; 5] = [1, 2, 4, 10, 16];

group! {
    /// The same ready future through `execute` and through each other way to run it.
    NAIVE_VS_GLOBAL = "naive_vs_global" {
        NVG_EXECUTE = "execute",
        NVG_RUNTIME_BLOCK_ON = "runtime_block_on",
        NVG_HANDLE_BLOCK_ON = "handle_block_on",
        NVG_FUTURES_BLOCK_ON = "futures_block_on",
        NVG_POLLSTER_BLOCK_ON = "pollster_block_on",
        NVG_NAIVE = "naive_execute",
    }
}

group! {
    /// The demo's command mix in-process.
    REALISTIC_WORKLOADS = "realistic_workloads" {
        BATCH_GLOBAL = "batch_280/global",
        BATCH_NAIVE = "batch_280/naive",
    }
}

group! {
    /// From nothing to the first `execute` finished.
    STARTUP_TIME = "startup_time" {
        /// A fresh runtime built as the shared one is, and its first `execute`.
        STARTUP_FRESH = "fresh_runtime_first_execute",
        /// A whole demo process with one command, swept over [`DEMO_MODES`].
        STARTUP_PROCESS = "demo_process_1_command",
    }
}

/// The demo's two modes (`examples/batch.rs --mode`).
pub const DEMO_MODES: [&str; 2] = ["global", "naive"];

/// Where the suite writes `memory.json`; `cargo xtask slo` passes its `target/slo`.
pub const SLO_DIR_ENV: &str = "GLOBALRT_SLO_DIR";
/// The demo binary `cargo xtask slo` built, so the suite need not build it again.
pub const BATCH_BIN_ENV: &str = "GLOBALRT_BATCH_BIN";
/// The memory figures' file name in that directory.
pub const MEMORY_FILE: &str = "memory.json";
/// The `schema` of [`MemoryFigures`] this code writes and reads.
pub const MEMORY_SCHEMA: u32 = 1;

/// `memory.json`: heap figures from a counting allocator and the demo process's own figures.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MemoryFigures {
    pub schema: u32,
    /// The code that measured them.
    pub source: String,
    pub cpus: usize,
    pub in_process: InProcess,
    pub demo_process: DemoProcess,
}

/// Heap figures measured inside the benchmark process.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct InProcess {
    pub execute_ready: PerCall,
    pub one_command_global: PerCall,
    pub one_command_naive: PerCall,
    pub batch_global: BatchHeap,
    pub batch_naive: BatchHeap,
}

/// Per-call heap figures of one in-process case.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PerCall {
    pub calls: u64,
    pub bytes_per_call: f64,
    pub allocations_per_call: f64,
    /// Highest live heap above the live heap at the start.
    pub peak_live_bytes: u64,
}

/// Heap figures of an in-process batch of demo commands.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BatchHeap {
    pub commands: u32,
    pub bytes_allocated: u64,
    pub allocations: u64,
    pub peak_live_bytes: u64,
}

/// The demo process in each mode.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DemoProcess {
    pub global: DemoMode,
    pub naive: DemoMode,
}

/// The demo runs of one mode, or why there are none.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum DemoMode {
    Runs { commands: u32, runs: Vec<DemoRun> },
    Unavailable { unavailable: String },
}

impl DemoMode {
    pub fn runs(&self) -> Result<&[DemoRun], String> {
        match self {
            DemoMode::Runs { runs, .. } if runs.is_empty() => {
                Err("no demo run recorded".to_owned())
            }
            DemoMode::Runs { runs, .. } => Ok(runs),
            DemoMode::Unavailable { unavailable } => Err(unavailable.clone()),
        }
    }
}

/// One run of the demo process: the line `examples/batch.rs --json` prints.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DemoRun {
    pub mode: String,
    pub commands: u32,
    pub total_ms: f64,
    pub mean_us: f64,
    pub threads_created: u64,
    /// `null` where /proc has no `VmHWM`.
    pub peak_rss_kib: Option<u64>,
}
