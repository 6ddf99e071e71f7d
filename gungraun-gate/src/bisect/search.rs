//! The bisection itself, pure: which commit to probe next and what the probes found.
//!
//! The commits are BAD's first-parent history after GOOD, oldest first; GOOD (before the
//! first) is good and BAD (the last) is bad. Each probe halves the commits still in
//! question; a commit that cannot be measured is skipped, as `git bisect skip` does, and
//! the one nearest the middle is probed instead.

use std::collections::BTreeSet;

/// What one probed commit says about one benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Probe {
    /// Its count has not risen past the threshold.
    Good,
    /// It has.
    Bad,
    /// It has no count: it did not build, or lacks the benchmark.
    Skip,
}

/// Where a benchmark first rose, as indices into the commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FirstBad {
    /// The last commit known good; `None` when that is GOOD itself.
    pub(crate) last_good: Option<usize>,
    /// The first commit measured bad after it.
    pub(crate) first_bad: usize,
    /// The commits between those two that were skipped: the rise may have begun there.
    pub(crate) skipped: Vec<usize>,
}

/// The first bad one of `count` commits (the last is bad), asking `probe` about as few as
/// bisection allows.
pub(crate) fn first_bad(
    count: usize,
    mut probe: impl FnMut(usize) -> anyhow::Result<Probe>,
) -> anyhow::Result<FirstBad> {
    assert!(count > 0, "BAD itself is one of the commits");
    let mut good: Option<usize> = None;
    let mut bad = count - 1;
    let mut skipped = BTreeSet::new();
    loop {
        let lo = good.map_or(0, |g| g + 1);
        // The middle of the open interval from the last good to the first bad commit.
        let middle = (lo + bad).saturating_sub(1) / 2;
        let next = (lo..bad)
            .filter(|i| !skipped.contains(i))
            .min_by_key(|i| i.abs_diff(middle));
        let Some(next) = next else { break };
        match probe(next)? {
            Probe::Good => good = Some(next),
            Probe::Bad => bad = next,
            Probe::Skip => {
                skipped.insert(next);
            }
        }
    }
    let lo = good.map_or(0, |g| g + 1);
    Ok(FirstBad {
        last_good: good,
        first_bad: bad,
        skipped: (lo..bad).filter(|i| skipped.contains(i)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One commit per character: `g` good, `b` bad, `s` cannot be measured.
    fn run(history: &str) -> (FirstBad, Vec<usize>) {
        let commits: Vec<char> = history.chars().collect();
        let mut probed = Vec::new();
        let found = first_bad(commits.len(), |i| {
            probed.push(i);
            Ok(match commits[i] {
                'g' => Probe::Good,
                'b' => Probe::Bad,
                _ => Probe::Skip,
            })
        })
        .unwrap();
        (found, probed)
    }

    /// One named case: the history, what must be found, and the most probes it may take.
    struct SearchCase {
        name: &'static str,
        history: &'static str,
        want: FirstBad,
        most_probes: usize,
    }

    fn case(name: &'static str, history: &'static str, want: [Option<usize>; 2]) -> SearchCase {
        let [last_good, first_bad] = want;
        SearchCase {
            name,
            history,
            want: FirstBad {
                last_good,
                first_bad: first_bad.expect("a first bad commit"),
                skipped: Vec::new(),
            },
            most_probes: 3,
        }
    }

    #[test]
    fn finds_the_first_bad_commit() {
        let long = "ggggggggggggggggggggggggggggggggggggggggbbbbbbbbbbbbbbbbbbbbbbbb";
        let cases = [
            case("the third of five", "ggbbb", [Some(1), Some(2)]),
            case("BAD itself", "ggggb", [Some(3), Some(4)]),
            case("the first commit", "bbbbb", [None, Some(0)]),
            SearchCase {
                most_probes: 0,
                ..case("only BAD", "b", [None, Some(0)])
            },
            SearchCase {
                most_probes: 7,
                ..case(
                    "a long history: a logarithm of probes",
                    long,
                    [Some(39), Some(40)],
                )
            },
        ];
        let skipping = [
            (
                "the middle does not build: its neighbours decide",
                "gsbbb",
                [Some(0), Some(2)],
                vec![1],
            ),
            (
                "a skipped commit just before the first bad one is named",
                "ggsbb",
                [Some(1), Some(3)],
                vec![2],
            ),
            (
                "nothing builds before BAD",
                "ssssb",
                [None, Some(4)],
                vec![0, 1, 2, 3],
            ),
        ]
        .map(|(name, history, want, skipped)| {
            let mut c = case(name, history, want);
            c.most_probes = 4;
            c.want.skipped = skipped;
            c
        });
        for case in cases.into_iter().chain(skipping) {
            let (found, probed) = run(case.history);
            assert_eq!(found, case.want, "{}", case.name);
            assert!(
                probed.len() <= case.most_probes,
                "{}: {probed:?}",
                case.name
            );
            let unique: BTreeSet<_> = probed.iter().collect();
            assert_eq!(unique.len(), probed.len(), "{}: probed twice", case.name);
        }
    }

    #[test]
    fn a_failing_probe_stops_the_search() {
        let err = first_bad(5, |_| anyhow::bail!("valgrind died")).unwrap_err();
        assert_eq!(err.to_string(), "valgrind died");
    }
}
