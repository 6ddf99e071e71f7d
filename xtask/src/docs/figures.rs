//! Marked figures: `<!--fig KEY [/N] [METRIC]-->VALUE<!--/fig-->`, and their values in
//! `benches/baseline.json`.
//!
//! - KEY names one benchmark: its full id (`group::function::id`), `group::function`, or the
//!   last part alone when only one benchmark ends with it; or `settings.floor`; or
//!   `baseline.commit`, the commit the figures were recorded at (7 digits).
//! - `/N` quotes the figure per call of a row that measures N calls: the recorded value
//!   divided by N, which must divide it exactly.
//! - METRIC picks another figure of the first recording run (`AtTGmaxBytes`, …); without it
//!   the figure is the gated one (`Ir`, or `TotalBytes` for DHAT).
//! - VALUE is written with thousands separators, as the reports write it.
//!
//! The markers are HTML comments, invisible in rendered markdown and rustdoc.

use crate::baseline::Baseline;
use crate::util::thousands;

pub(crate) const OPEN: &str = "<!--fig ";
pub(crate) const CLOSE: &str = "<!--/fig-->";

/// What a marker asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    pub(crate) key: String,
    pub(crate) per: Option<u64>,
    pub(crate) metric: Option<String>,
}

/// One marked figure on a line: where its value sits (byte range) and what it asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Marked {
    pub(crate) spec: Spec,
    pub(crate) value: std::ops::Range<usize>,
}

/// What the baseline says a marker's figure is, and which benchmark it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Expected {
    /// The number, when the figure is one (a quote matches it with or without separators).
    pub(crate) value: Option<u64>,
    /// The figure as it is written.
    pub(crate) text: String,
    pub(crate) source: String,
}

impl Expected {
    fn number(value: u64, source: String) -> Self {
        Expected {
            value: Some(value),
            text: thousands(value),
            source,
        }
    }

    /// Whether `quoted` says what the baseline says.
    pub(crate) fn matches(&self, quoted: &str) -> bool {
        match self.value {
            Some(n) => parse_quoted(quoted) == Some(n),
            None => quoted == self.text,
        }
    }
}

/// The markers on one line, or why one of them cannot be read.
pub(crate) fn parse_line(line: &str) -> Result<Vec<Marked>, String> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = line[at..].find(OPEN).map(|i| at + i) {
        if in_code_span(line, start) {
            at = start + OPEN.len();
            continue;
        }
        let spec_start = start + OPEN.len();
        let spec_end = line[spec_start..]
            .find("-->")
            .map(|i| spec_start + i)
            .ok_or_else(|| format!("`{OPEN}` without `-->`"))?;
        let spec = parse_spec(&line[spec_start..spec_end])?;
        let value_start = spec_end + "-->".len();
        let value_end = line[value_start..]
            .find(CLOSE)
            .map(|i| value_start + i)
            .ok_or_else(|| format!("figure `{}` without `{CLOSE}` on its line", spec.key))?;
        found.push(Marked {
            spec,
            value: value_start..value_end,
        });
        at = value_end + CLOSE.len();
    }
    Ok(found)
}

/// Whether `at` is inside an inline code span (after an odd number of backticks): a marker
/// there is shown literally, as an example of the syntax, and is not a figure.
pub(crate) fn in_code_span(line: &str, at: usize) -> bool {
    line[..at].matches('`').count() % 2 == 1
}

fn parse_spec(text: &str) -> Result<Spec, String> {
    let mut words = text.split_whitespace();
    let key = words
        .next()
        .ok_or("a figure marker without a benchmark name")?;
    let mut spec = Spec {
        key: key.to_owned(),
        per: None,
        metric: None,
    };
    for word in words {
        if let Some(n) = word.strip_prefix('/') {
            match n.parse::<u64>() {
                Ok(n) if n > 0 => spec.per = Some(n),
                _ => return Err(format!("`{word}` in figure `{key}`: expected /N, N ≥ 1")),
            }
        } else if spec.metric.is_none() {
            spec.metric = Some(word.to_owned());
        } else {
            return Err(format!("`{word}` in figure `{key}`: one metric at most"));
        }
    }
    Ok(spec)
}

/// A quoted figure as a number: digits with optional thousands separators.
pub(crate) fn parse_quoted(text: &str) -> Option<u64> {
    let digits: String = text.chars().filter(|&c| c != ',').collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The figure `spec` names, or why the baseline cannot give it.
pub(crate) fn expected(baseline: &Baseline, spec: &Spec) -> Result<Expected, String> {
    if spec.key == "baseline.commit" {
        let commit = baseline
            .commit
            .as_deref()
            .ok_or("benches/baseline.json names no commit")?;
        return Ok(Expected {
            value: None,
            text: commit.get(..7).unwrap_or(commit).to_owned(),
            source: "baseline.commit".to_owned(),
        });
    }
    let (total, source) = if spec.key == "settings.floor" {
        (baseline.settings.floor, "settings.floor".to_owned())
    } else {
        let id = benchmark_id(baseline, &spec.key)?;
        let recorded = &baseline.benchmarks[id];
        let total = match &spec.metric {
            None => recorded.value,
            Some(m) => *recorded.metrics.get(m).ok_or_else(|| {
                format!("benchmark {id} has no metric `{m}` in benches/baseline.json")
            })?,
        };
        (total, format!("benchmark {id}"))
    };
    let value = match spec.per {
        None => total,
        Some(n) if total.is_multiple_of(n) => total / n,
        Some(n) => {
            return Err(format!(
                "{source} is {}, which /{n} does not divide exactly; quote the total",
                thousands(total)
            ));
        }
    };
    Ok(Expected::number(value, source))
}

/// The one benchmark id `key` names (see the module docs).
fn benchmark_id<'a>(baseline: &'a Baseline, key: &str) -> Result<&'a str, String> {
    if let Some((id, _)) = baseline.benchmarks.get_key_value(key) {
        return Ok(id);
    }
    let ids: Vec<&str> = baseline
        .benchmarks
        .keys()
        .map(String::as_str)
        .filter(|id| {
            let (group_function, last) = id.rsplit_once("::").unwrap_or(("", id));
            group_function == key || last == key
        })
        .collect();
    match ids.as_slice() {
        [id] => Ok(id),
        [] => Err(format!(
            "figure `{key}` names no benchmark in benches/baseline.json"
        )),
        _ => Err(format!(
            "figure `{key}` names {} benchmarks ({}); use a full id",
            ids.len(),
            ids.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn baseline() -> Baseline {
        let text = include_str!("../../../gungraun-gate/tests/fixtures/bench/baseline.json");
        Baseline::parse(text, Path::new("baseline.json")).unwrap()
    }

    fn spec(text: &str) -> Spec {
        parse_spec(text).unwrap()
    }

    #[test]
    fn markers_are_found_with_their_values() {
        let line = "costs <!--fig ready-->1<!--/fig--> and <!--fig a::b /100 AtTGmaxBytes-->2,000<!--/fig--> Ir";
        let marked = parse_line(line).unwrap();
        assert_eq!(marked.len(), 2);
        assert_eq!(&line[marked[0].value.clone()], "1");
        assert_eq!(&line[marked[1].value.clone()], "2,000");
        assert_eq!(
            marked[1].spec,
            Spec {
                key: "a::b".into(),
                per: Some(100),
                metric: Some("AtTGmaxBytes".into())
            }
        );
        assert!(
            parse_line("plain text, 125 instructions")
                .unwrap()
                .is_empty()
        );
        let example = "write `<!--fig KEY [/N]-->VALUE<!--/fig-->` for a figure";
        assert!(parse_line(example).unwrap().is_empty());
    }

    #[test]
    fn broken_markers_say_what_is_wrong() {
        for (line, want) in [
            ("<!--fig ready 5", "without `-->`"),
            ("<!--fig ready-->5", "without `<!--/fig-->`"),
            ("<!--fig -->5<!--/fig-->", "without a benchmark name"),
            ("<!--fig ready /0-->5<!--/fig-->", "expected /N"),
            ("<!--fig ready Ir Ir-->5<!--/fig-->", "one metric at most"),
        ] {
            let err = parse_line(line).unwrap_err();
            assert!(err.contains(want), "{line}: {err}");
        }
    }

    #[test]
    fn keys_name_one_benchmark_by_id_prefix_or_last_part() {
        let b = baseline();
        let id = |key: &str| benchmark_id(&b, key);
        assert_eq!(
            id("execute_baseline::ready::ready"),
            Ok("execute_baseline::ready::ready")
        );
        assert_eq!(
            id("execute_baseline::ready"),
            Ok("execute_baseline::ready::ready")
        );
        assert_eq!(id("ready"), Ok("execute_baseline::ready::ready"));
        assert!(id("nothing").unwrap_err().contains("names no benchmark"));
        assert!(id("execute_baseline").unwrap_err().contains("no benchmark"));
    }

    #[test]
    fn figures_come_from_the_value_a_metric_or_an_exact_division() {
        let b = baseline();
        let value = |s: &str| expected(&b, &spec(s)).map(|e| e.value.unwrap());
        let ready = b.benchmarks["execute_baseline::ready::ready"].value;
        assert_eq!(value("ready"), Ok(ready));
        assert_eq!(value("settings.floor"), Ok(b.settings.floor));
        assert_eq!(value(&format!("ready /{ready}")), Ok(1));
        let err = value(&format!("ready /{}", ready + 1)).unwrap_err();
        assert!(err.contains("does not divide exactly"), "{err}");
        assert!(
            value("ready NoSuchMetric")
                .unwrap_err()
                .contains("no metric")
        );
        let commit = expected(&b, &spec("baseline.commit")).unwrap();
        assert_eq!(commit.value, None);
        assert_eq!(commit.text.len(), 7);
        assert!(commit.matches(&commit.text.clone()));
        let e = expected(&b, &spec("ready")).unwrap();
        assert_eq!(e.source, "benchmark execute_baseline::ready::ready");
    }

    #[test]
    fn quoted_figures_read_with_or_without_separators() {
        assert_eq!(parse_quoted("52,323"), Some(52_323));
        assert_eq!(Expected::number(27_978, String::new()).text, "27,978");
        assert_eq!(parse_quoted("125"), Some(125));
        for bad in ["", "about 5", "1.5", "-3"] {
            assert_eq!(parse_quoted(bad), None, "{bad}");
        }
    }
}
