//! `cargo gungraun-gate` on a scratch crate whose one benchmark (two cases) uses gungraun
//! 0.19.1, whose runner writes summary schema 6 and takes `--valgrind-runner`: a recorded
//! baseline, a rerun with every row exact, a regression injected into the benchmarked
//! function caught on both rows and named, and `--bisect` naming the injecting commit.
//!
//! Ignored: it builds the crate and runs gungraun under Valgrind some twenty times.
//! `cargo test -p gungraun-gate --test it gungraun19 -- --ignored --nocapture` runs it. The
//! crate lives in `$GATE_G19_DIR` (a `target/` there is kept between runs), by default a
//! directory under the system's temporary directory. A gungraun-runner 0.19.1 on `PATH`
//! saves its install (about five minutes).

use std::path::Path;
use std::time::Instant;

use crate::{
    bisect_names, cargo, empty_but_target, git, regressed, remove_unless_chosen, rerun_is_exact,
    run, save_and_commit, scratch_dir,
};

const MANIFEST: &str = r#"[package]
name = "g19"
version = "0.1.0"
edition = "2024"
publish = false

[workspace]

[lib]
bench = false

[dev-dependencies]
gungraun = "=0.19.1"

[[bench]]
name = "g19"
harness = false
"#;

const LIB: &str = "/// The n-th Fibonacci number, iteratively.
pub fn fibonacci(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a.wrapping_add(b));
    }
    a
}
";

const BENCH: &str = "use std::hint::black_box;

use gungraun::{library_benchmark, library_benchmark_group, main};

#[library_benchmark]
#[bench::short(10)]
#[bench::long(30)]
fn fib(n: u64) -> u64 {
    black_box(g19::fibonacci(n))
}

library_benchmark_group!(name = math, benchmarks = fib);

main!(library_benchmark_groups = math);
";

/// What the injecting commit puts at the top of `fibonacci`.
const INJECTED: &str = "    for i in 0..4 {\n        core::hint::black_box(i);\n    }\n";

/// The crate at `dir`, committed, with a `target/` left there by an earlier run kept.
fn create(dir: &Path) {
    empty_but_target(dir);
    for (file, text) in [
        ("Cargo.toml", MANIFEST),
        ("src/lib.rs", LIB),
        ("benches/g19.rs", BENCH),
        (".gitignore", "target\n"),
    ] {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    run(dir, cargo(), &["generate-lockfile", "--quiet"]);
    let lock = std::fs::read_to_string(dir.join("Cargo.lock")).unwrap();
    assert!(lock.contains("name = \"gungraun\"\nversion = \"0.19.1\""));
    git(dir, &["init", "--quiet"]);
    git(dir, &["add", "--all"]);
    git(
        dir,
        &[
            "commit",
            "--quiet",
            "-m",
            "g19: one gungraun 0.19.1 benchmark",
        ],
    );
}

fn commit(dir: &Path, file: &str, text: &str, subject: &str) -> String {
    std::fs::write(dir.join(file), text).unwrap();
    git(dir, &["add", "--all"]);
    git(dir, &["commit", "--quiet", "-m", subject]);
    git(dir, &["rev-parse", "HEAD"]).trim().to_owned()
}

#[test]
#[ignore = "builds a gungraun 0.19 suite and runs it under Valgrind (a minute, more without the runner)"]
fn gungraun_0_19_baseline_rerun_regression_and_bisect() {
    let dir = scratch_dir("GATE_G19_DIR", "gate-g19");
    let started = Instant::now();
    create(&dir);
    let good = save_and_commit(&dir, "0.19.1", &["math::fib::long", "math::fib::short"]);
    rerun_is_exact(&dir);
    let injected = LIB.replacen("{\n", &format!("{{\n{INJECTED}"), 1);
    commit(&dir, "README.md", "# g19\n", "a README");
    let subject = "fibonacci: four black_box calls";
    let injecting = commit(&dir, "src/lib.rs", &injected, subject);
    commit(
        &dir,
        "README.md",
        "# g19\n\nA scratch crate.\n",
        "a README line",
    );
    regressed(
        &dir,
        &["math::fib::long", "math::fib::short"],
        "src/lib.rs fibonacci",
    );
    let fib = ["math::fib::long", "math::fib::short"];
    bisect_names(&dir, [&good, &injecting], &fib, "src/lib.rs fibonacci", &[]);
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());
    remove_unless_chosen("GATE_G19_DIR", &dir);
}
