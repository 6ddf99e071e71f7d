//! The gate's command line: the same flags under `cargo xtask bench` and `cargo gungraun-gate`.

use clap::Args;

#[derive(Debug, Args)]
pub struct GateFlags {
    /// Re-record the baseline file (`benches/gungraun-baseline.json` unless configured) on
    /// the working tree (atomically), running the suite `--save-runs` times to measure each
    /// benchmark's noise. Keeps the file's settings and overrides.
    #[arg(long)]
    pub save: bool,
    /// How many runs `--save` records (each benchmark's noise is measured over these runs).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub save_runs: usize,
    /// Measure REV (a git worktree, built and benched here) and then the working tree, and
    /// compare those instead of the baseline file's figures.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Find the commit of GOOD..BAD (first-parent history) where each benchmark that
    /// regressed between GOOD and BAD rose, e.g. `--bisect HEAD~5..HEAD`.
    #[arg(
        long,
        value_name = "GOOD..BAD",
        value_parser = parse_bisect_range,
        conflicts_with_all = ["save", "base", "bmf_output"]
    )]
    pub bisect: Option<BisectRange>,
    /// Only benchmarks whose id (`group::function::id`) contains PATTERN.
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = BenchFormat::Text)]
    pub format: BenchFormat,
    /// Write the report to FILE (atomically) and print the text report.
    #[arg(long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Also write the results in Bencher Metric Format to FILE (atomically), whatever
    /// `--format` is, so one run yields both a report and the file a benchmark server takes.
    #[arg(long, value_name = "FILE")]
    pub bmf_output: Option<std::path::PathBuf>,
    /// Regression threshold in percent for every benchmark without an override
    /// (default: the baseline file's `settings.threshold_pct`, 0.5).
    #[arg(long, value_name = "PCT")]
    pub threshold: Option<f64>,
    /// Absolute floor: changes of at most this many instructions (bytes for DHAT) are never a
    /// verdict (default: the baseline file's `settings.floor`, 16), capped at 1 % of each
    /// benchmark's baseline value.
    #[arg(long, value_name = "N")]
    pub floor: Option<u64>,
}

/// The commits `--bisect` searches: BAD's first-parent history back to GOOD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BisectRange {
    /// A revision where the benchmarks are as they should be.
    pub good: String,
    /// A later revision, descended from GOOD, where some rose.
    pub bad: String,
}

/// `GOOD..BAD`, both non-empty.
fn parse_bisect_range(text: &str) -> Result<BisectRange, String> {
    match text.split_once("..") {
        Some((good, bad)) if !good.is_empty() && !bad.is_empty() && !bad.starts_with('.') => {
            Ok(BisectRange {
                good: good.to_owned(),
                bad: bad.to_owned(),
            })
        }
        _ => Err(format!(
            "expected GOOD..BAD, two revisions joined by `..` (e.g. HEAD~5..HEAD), not {text:?}"
        )),
    }
}

/// The shapes of the gate's report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchFormat {
    /// A table for the terminal.
    Text,
    /// The report as JSON (rows, verdicts, function breakdowns, environment).
    Json,
    /// GitHub-flavoured markdown (also appended to `$GITHUB_STEP_SUMMARY` when set).
    Markdown,
    /// Bencher Metric Format, measure `instructions` (`heap-bytes` for DHAT benchmarks).
    Bmf,
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        flags: GateFlags,
    }

    #[test]
    fn a_bisect_range_is_two_revisions() {
        let range = |good: &str, bad: &str| {
            Ok(BisectRange {
                good: good.to_owned(),
                bad: bad.to_owned(),
            })
        };
        assert_eq!(parse_bisect_range("HEAD~5..HEAD"), range("HEAD~5", "HEAD"));
        assert_eq!(parse_bisect_range("v1.0..main"), range("v1.0", "main"));
        for bad in ["HEAD~5", "..HEAD", "HEAD~5..", "a...b", ""] {
            assert!(parse_bisect_range(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bisect_excludes_save_and_base() {
        let parse = |args: &[&str]| Cli::try_parse_from(["gate"].iter().chain(args));
        assert!(parse(&["--bisect", "HEAD~2..HEAD", "--filter", "naive"]).is_ok());
        assert!(parse(&["--bisect", "HEAD~2..HEAD", "--save"]).is_err());
        assert!(parse(&["--bisect", "HEAD~2..HEAD", "--base", "HEAD~1"]).is_err());
    }
}
