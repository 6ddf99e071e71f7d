//! Reading the figures: criterion's estimates, memory.json, the checking commands' summaries and instruction counts.

use std::time::{Duration, SystemTime};

use super::fixtures;
use crate::slo::figures::{self, CheckSummary, Estimate};
use globalrt_bench_support::contract::{NVG_FUTURES_BLOCK_ON, NVG_POLLSTER_BLOCK_ON};

#[test]
fn estimates_use_the_slope_when_criterion_sampled_linearly() {
    let text = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":3.0},"point_estimate":2.0,"standard_error":0.1},
        "slope":{"confidence_interval":{"confidence_level":0.95,"lower_bound":4.0,"upper_bound":6.0},"point_estimate":5.0,"standard_error":0.1}}"#;
    let estimate = figures::parse_estimates(text).unwrap();
    assert_eq!(
        estimate,
        Estimate {
            point: 5.0,
            lower: 4.0,
            upper: 6.0
        }
    );
}

#[test]
fn estimates_use_the_mean_when_sampling_was_flat() {
    let path = fixtures().join("criterion/realistic_workloads/batch_280_global/new/estimates.json");
    let estimate = figures::parse_estimates(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!((estimate.point - 417_156_840.1).abs() < 1.0, "{estimate:?}");
    assert!(estimate.lower < estimate.point && estimate.point < estimate.upper);
}

#[test]
fn estimates_that_are_not_numbers_are_rejected() {
    for bad in [
        "",
        "{}",
        r#"{"mean": {"point_estimate": -1.0, "confidence_interval": {"lower_bound": 0, "upper_bound": 1}}}"#,
        r#"{"mean": {"point_estimate": "fast"}}"#,
    ] {
        assert!(figures::parse_estimates(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn criterion_results_are_found_by_full_id() {
    let found = figures::read_criterion(&fixtures().join("criterion"), None);
    // Function ids with a slash are stored under a sanitised directory name.
    assert!(found.contains_key("realistic_workloads/batch_280/global"));
    assert!(found.contains_key("execute_concurrent/threads/10"));
    assert!(found.contains_key("startup_time/demo_process_1_command/naive"));
    assert!(found.contains_key("execute_concurrent/thread_cpu/10"));
    assert!(found.contains_key("execute_concurrent/scope_thread_cpu/10"));
    assert!(found.contains_key(NVG_FUTURES_BLOCK_ON.full));
    assert!(found.contains_key(NVG_POLLSTER_BLOCK_ON.full));
    assert_eq!(found.len(), 34, "{:?}", found.keys().collect::<Vec<_>>());
    assert!(found.values().all(Result::is_ok));
}

#[test]
fn results_older_than_the_run_are_stale_not_measured() {
    let later = SystemTime::now() + Duration::from_secs(3600);
    let found = figures::read_criterion(&fixtures().join("criterion"), Some(later));
    let ready = found.get("execute_paths/ready").unwrap();
    assert!(ready.as_ref().unwrap_err().contains("stale"), "{ready:?}");
    let memory = figures::read_memory(&fixtures().join("memory.json"), Some(later));
    assert!(memory.unwrap_err().contains("earlier run"));
}

#[test]
fn memory_figures_parse_and_report_an_unavailable_demo() {
    let memory = figures::read_memory(&fixtures().join("memory.json"), None).unwrap();
    let runs = memory.demo_process.global.runs().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0].commands, 280);
    assert_eq!(memory.in_process.execute_ready.bytes_per_call, 0.0);

    let text = std::fs::read_to_string(fixtures().join("memory.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["demo_process"]["naive"] = serde_json::json!({"unavailable": "cannot start the demo"});
    let memory = figures::parse_memory(&value.to_string()).unwrap();
    assert_eq!(
        memory.demo_process.naive.runs().unwrap_err(),
        "cannot start the demo"
    );
    value["schema"] = serde_json::json!(2);
    assert!(figures::parse_memory(&value.to_string()).is_err());
}

#[test]
fn memcheck_summaries() {
    let dir = fixtures();
    assert!(matches!(
        figures::read_memcheck(&dir.join("memcheck-clean.json")),
        Ok(CheckSummary::Ran { findings: 0, .. })
    ));
    assert!(matches!(
        figures::read_memcheck(&dir.join("memcheck-findings.json")),
        Ok(CheckSummary::Ran { findings: 2, .. })
    ));
    let contradiction = figures::read_memcheck(&dir.join("memcheck-contradiction.json"));
    assert!(contradiction.unwrap_err().contains("contradicts"));
    let missing = figures::read_memcheck(&dir.join("no-such-summary.json")).unwrap();
    assert!(
        matches!(&missing, CheckSummary::NotRun(reason) if reason.contains("cargo xtask memcheck")),
        "{missing:?}"
    );
}

#[test]
fn instruction_counts_from_the_gates_baseline() {
    let xtask_bench =
        figures::read_instructions(&fixtures().join("baseline-gungraun.json")).unwrap();
    assert_eq!(
        xtask_bench.get("instructions: naive_vs_global::global_execute::global_execute"),
        Some(&131.0)
    );
    assert_eq!(
        xtask_bench
            .get("heap bytes allocated (DHAT): memory_pressure::build_runtime::build_runtime"),
        Some(&27402.0)
    );
    assert_eq!(xtask_bench.len(), 3);
    // Any other file is not the gate's baseline: an error, not a guess.
    let other = figures::read_instructions(&fixtures().join("memory.json")).unwrap_err();
    assert!(other.contains("is malformed"), "{other}");
    let absent = figures::read_instructions(&fixtures().join("no-baseline.json")).unwrap_err();
    assert!(absent.starts_with("not available"), "{absent}");
}
