//! `cargo gungraun-gate` on bytesbuf 0.12.0 as published (Microsoft's oxidizer byte buffers;
//! gungraun 0.19.4 in its bundled Cargo.lock, so summary schema 6), with no configuration:
//! a recorded baseline, a rerun with every row exact, a small regression injected into
//! `GlobalPool::reserve` caught where it exceeds the rules (and not where it stays within a
//! benchmark's floor) and named, and `--bisect` naming the injecting commit.
//!
//! The package leaves its benchmarks out (`include` lists `src`, `tests` and docs), so the
//! test adds a bench target of its own, `benches/gate_cg.rs`: one gungraun library
//! benchmark of `GlobalPool::reserve` on a warmed pool, one block and 1 MiB. Everything
//! else, the library's code and the locked versions, is the package as published.
//!
//! Ignored: it builds bytesbuf's dev-dependencies and runs the suite under Valgrind some
//! twenty times. `cargo test -p gungraun-gate --test it bytesbuf -- --ignored --nocapture`
//! runs it; the copy lives in `$GATE_BYTESBUF_DIR` (a `target/` there is kept between runs).
//! A gungraun-runner 0.19.4 on `PATH` saves its install (about five minutes).

use std::time::Instant;

use crate::{
    bisect_names, commit_injection, commit_readme_line, git, regressed, remove_unless_chosen,
    rerun_is_exact, save_and_commit, scratch_dir, unpack,
};

/// What the test appends to the published manifest: its own workspace and the bench target.
const MANIFEST: &str = "
[workspace]

[[bench]]
name = \"gate_cg\"
harness = false
";

const BENCH: &str = "//! The gate's end-to-end test's benchmark of bytesbuf's global pool.

use std::hint::black_box;

use bytesbuf::BytesBuf;
use bytesbuf::mem::GlobalPool;
use gungraun::{library_benchmark, library_benchmark_group, main};

/// A pool whose sub-pool for `bytes` already holds free blocks (not measured).
fn warm_pool(bytes: usize) -> GlobalPool {
    let pool = GlobalPool::new();
    for _ in 0..4 {
        drop(pool.reserve(bytes));
    }
    pool
}

#[library_benchmark]
#[bench::one_block(warm_pool(128), 128)]
#[bench::one_mib(warm_pool(1 << 20), 1 << 20)]
fn reserve(pool: GlobalPool, bytes: usize) -> (GlobalPool, BytesBuf) {
    let buf = pool.reserve(black_box(bytes));
    (pool, buf)
}

library_benchmark_group!(name = global_pool, benchmarks = reserve);

main!(library_benchmark_groups = global_pool);
";

/// `GlobalPool::reserve` as published: its first line and the line the regression goes
/// before.
const RESERVE: [&str; 2] = [
    "    pub fn reserve(&self, min_bytes: usize) -> crate::BytesBuf {\n",
    "        self.inner.reserve(min_bytes)\n",
];

#[test]
#[ignore = "builds bytesbuf's gungraun 0.19.4 suite and runs it under Valgrind (minutes)"]
fn bytesbuf_baseline_rerun_an_injected_regression_and_bisect() {
    let dir = scratch_dir("GATE_BYTESBUF_DIR", "gate-bytesbuf");
    let started = Instant::now();
    unpack(&dir, "bytesbuf", "0.12.0", MANIFEST);
    std::fs::create_dir_all(dir.join("benches")).unwrap();
    std::fs::write(dir.join("benches/gate_cg.rs"), BENCH).unwrap();
    git(&dir, &["add", "--all"]);
    git(
        &dir,
        &["commit", "--quiet", "-m", "A gungraun bench target"],
    );
    let lock = std::fs::read_to_string(dir.join("Cargo.lock")).unwrap();
    assert!(lock.contains("name = \"gungraun\"\nversion = \"0.19.4\""));
    let names = [
        "global_pool::reserve::one_block",
        "global_pool::reserve::one_mib",
    ];
    let good = save_and_commit(&dir, "0.19.4", &names);
    rerun_is_exact(&dir);
    commit_readme_line(&dir, "a README line");
    let [head, tail] = RESERVE;
    let subject = "GlobalPool::reserve: eight black_box calls";
    let injecting = commit_injection(&dir, "src/mem/global.rs", head, tail, subject);
    commit_readme_line(&dir, "another README line");
    // One block's 311 instructions grow by 2.6%; 1 MiB's 1,281 by 0.6%, past the 0.5%
    // threshold but within the floor (1% of the benchmark, 12), so it stays unchanged.
    regressed(&dir, &names[..1], "src/mem/global.rs");
    bisect_names(
        &dir,
        [&good, &injecting],
        &names[..1],
        "src/mem/global.rs",
        &[],
    );
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());
    remove_unless_chosen("GATE_BYTESBUF_DIR", &dir);
}
