//! `cargo gungraun-gate` on glam 0.34.3 as published (its `benches/gungraun.rs`: 81
//! benchmark functions, 95 benchmarks with their `#[bench::…]` cases, gungraun 0.20.0 in
//! its bundled Cargo.lock), with no configuration at all:
//! a recorded baseline, a rerun with no false alarm, a small regression injected into
//! `Mat4::inverse`, which must be caught on `mat4_inverse` and named, and `--bisect` over a
//! scratch history of four commits (a README line, the injection, two more README lines),
//! which must name the injecting commit.
//!
//! Ignored: it builds glam's suite and runs it under Valgrind about fifteen times.
//! `cargo test -p gungraun-gate --test it glam -- --ignored --nocapture` runs it. glam's package
//! comes from cargo's registry cache (`cargo info glam@0.34.3` puts it there, and the test
//! runs that when it is missing); the copy lives in `$GATE_GLAM_DIR`, by default a
//! directory under the system's temporary directory, and is never part of this repository.
//! A gungraun-runner 0.20.0 already on `PATH` saves its install.

use std::time::Instant;

use crate::{
    JSON, bisect_names, commit_injection, commit_readme_line, gate, git, regressed,
    remove_unless_chosen, rows, scratch_dir, unpack,
};

/// `Mat4::inverse` (SSE2, the x86_64 build) as published: its first line and the line the
/// regression goes before.
const INVERSE: [&str; 2] = [
    "    pub fn inverse(&self) -> Self {\n",
    "        self.inverse_checked::<false>().0\n",
];

#[test]
#[ignore = "builds glam's gungraun suite and runs it under Valgrind (minutes)"]
fn glam_baseline_rerun_an_injected_regression_and_bisect() {
    let dir = scratch_dir("GATE_GLAM_DIR", "gate-glam");
    let started = Instant::now();
    unpack(&dir, "glam", "0.34.3", "\n[workspace]\n");
    eprintln!("unpacked glam in {:.1} s", started.elapsed().as_secs_f64());
    let json = JSON;

    // 1. Record the baseline (ten runs), with no configuration at all.
    let (code, _, took) = gate(&dir, &["--save"]);
    assert_eq!(code, Some(0), "--save failed");
    let baseline = dir.join("benches").join("gungraun-baseline.json");
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    let count = recorded["benchmarks"].as_object().unwrap().len();
    assert_eq!(count, 95, "glam's suite has 95 benchmarks");
    eprintln!("--save: {count} benchmarks recorded in {took:.1} s");
    git(&dir, &["add", "benches/gungraun-baseline.json"]);
    git(
        &dir,
        &["commit", "--quiet", "-m", "Record the instruction baseline"],
    );

    // 2. Rerun: no false alarm; pinned, every row exactly the recorded figure.
    let (code, report, took) = gate(&dir, &json);
    assert_eq!(code, Some(0), "false alarm: {:#}", report["headline"]);
    assert_eq!(report["counts"]["regressed"], 0);
    let pinned = report["unpinned"].is_null();
    let moved: Vec<&serde_json::Value> = rows(&report)
        .iter()
        .filter(|row| row["delta"] != 0)
        .collect();
    if pinned {
        assert!(moved.is_empty(), "pinned rows moved: {moved:#?}");
    }
    eprintln!(
        "rerun: exit 0 in {took:.1} s, {} row(s) moved, pinned: {pinned}",
        moved.len()
    );

    // 3. A small regression in `Mat4::inverse`, in the second of four commits: caught on
    // mat4_inverse, and named.
    let good = git(&dir, &["rev-parse", "HEAD"]).trim().to_owned();
    commit_readme_line(&dir, "a README line");
    let [head, tail] = INVERSE;
    let subject = "Mat4::inverse: eight black_box calls";
    let injecting = commit_injection(&dir, "src/f32/sse2/mat4.rs", head, tail, subject);
    commit_readme_line(&dir, "another README line");
    commit_readme_line(&dir, "a third README line");
    let mat4_inverse = ["bench_mat4::mat4_inverse::args"];
    regressed(&dir, &mat4_inverse, "Mat4::inverse");

    // 4. `--bisect GOOD..HEAD` over those four commits names the injecting one.
    let filter = ["--filter", "mat4_inverse"];
    bisect_names(
        &dir,
        [&good, &injecting],
        &mat4_inverse,
        "Mat4::inverse",
        &filter,
    );
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());
    remove_unless_chosen("GATE_GLAM_DIR", &dir);
}
