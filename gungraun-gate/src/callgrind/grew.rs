//! The functions that grew most from base's profile to head's, each with the places inside
//! it whose self cost grew.

use std::collections::BTreeMap;

use super::super::compare::FunctionDelta;
use super::{Place, Profile};

/// How many places to name inside each function that grew.
const PLACES_PER_FUNCTION: usize = 2;

/// The `n` functions whose inclusive count grew most from `base` to `head`, each with the
/// places whose (possibly inlined) self cost grew most inside it.
///
/// Among functions that grew by the same count (a chain of callers grows with its callee),
/// those with a place of their own that grew come first: otherwise a deep chain of harness
/// frames can push the one frame that says where the instructions came from past `n`.
pub(crate) fn grew_most(base: &Profile, head: &Profile, n: usize) -> Vec<FunctionDelta> {
    let mut deltas: Vec<FunctionDelta> = head
        .inclusive
        .iter()
        .filter_map(|(function, &now)| {
            let before = base.inclusive.get(function).copied().unwrap_or(0);
            (now > before).then(|| FunctionDelta {
                function: function.clone(),
                base: before,
                now,
                delta: now as i64 - before as i64,
                files: places_that_grew(base, head, function),
            })
        })
        .collect();
    deltas.sort_by(|a, b| {
        b.delta
            .cmp(&a.delta)
            .then(a.files.is_empty().cmp(&b.files.is_empty()))
            .then(a.function.cmp(&b.function))
    });
    deltas.truncate(n);
    deltas
}

/// A place inside a function and how much its self cost grew.
struct PlaceDelta<'a> {
    place: &'a Place,
    delta: i64,
}

fn places_that_grew(base: &Profile, head: &Profile, function: &str) -> Vec<String> {
    let empty = BTreeMap::new();
    let before = base.self_by_place.get(function).unwrap_or(&empty);
    let Some(now) = head.self_by_place.get(function) else {
        return Vec::new();
    };
    let mut grown: Vec<PlaceDelta<'_>> = now
        .iter()
        .map(|(place, &cost)| PlaceDelta {
            place,
            delta: cost as i64 - before.get(place).copied().unwrap_or(0) as i64,
        })
        .filter(|grew| grew.delta > 0)
        .collect();
    grown.sort_by(|a, b| b.delta.cmp(&a.delta).then(a.place.cmp(b.place)));
    grown
        .into_iter()
        .take(PLACES_PER_FUNCTION)
        .map(|grew| format!("{} (+{})", grew.place, grew.delta))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{BASE, HEAD, profile};
    use super::*;

    #[test]
    fn the_function_that_grew_is_named_with_its_file() {
        let base = profile(BASE, "/work/x");
        let head = profile(HEAD, "/work/x");
        let grew = grew_most(&base, &head, 5);
        // `main` grew by as much as `work`, which it calls; `work` comes first, since the
        // growth is its (inlined) code's.
        assert_eq!(grew[0].function, "work");
        assert_eq!(grew[0].delta, 30);
        assert_eq!(grew[0].files, vec!["src/inlined.rs (+30)".to_owned()]);
        assert_eq!((grew[1].function.as_str(), grew[1].delta), ("main", 30));
        assert!(grew.iter().all(|g| g.function != "helper"));
    }

    #[test]
    fn among_equal_growth_the_function_whose_own_code_grew_comes_first() {
        let file = |callee_cost: u32| {
            format!(
                "# callgrind format\nversion: 1\npositions: line\nevents: Ir\n\n\
                 fl=/work/x/src/lib.rs\nfn=a_caller\n1 1\n\
                 cfl=/work/x/src/lib.rs\ncfn=z_callee\ncalls=1 10\n2 {callee_cost}\n\n\
                 fn=z_callee\n10 {callee_cost}\n"
            )
        };
        let base = profile(&file(5), "/work/x");
        let head = profile(&file(13), "/work/x");
        let grew = grew_most(&base, &head, 1);
        assert_eq!(grew.len(), 1);
        assert_eq!((grew[0].function.as_str(), grew[0].delta), ("z_callee", 8));
        assert!(!grew[0].files.is_empty(), "{grew:?}");
        let both = grew_most(&base, &head, 2);
        assert_eq!((both[1].function.as_str(), both[1].delta), ("a_caller", 8));
    }

    /// The checkout whose `src/execute.rs` the breakdown reads.
    fn checkout() -> String {
        format!(
            "{}/tests/fixtures/bench/checkout",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    /// A callgrind file from `body`: `@ROOT` becomes the fixture checkout and `@name` the
    /// line marked `mark: name` in its `src/execute.rs`.
    fn callgrind(body: &str) -> String {
        let root = checkout();
        let source = std::fs::read_to_string(format!("{root}/src/execute.rs")).unwrap();
        let mut text = format!(
            "# callgrind format\nversion: 1\npositions: line\nevents: Ir\n\n{}",
            body.replace("@ROOT", &root)
        );
        for (i, line) in source.lines().enumerate() {
            if let Some((_, name)) = line.split_once("// mark: ") {
                text = text.replace(&format!("@{name} "), &format!("{} ", i + 1));
            }
        }
        assert!(!text.contains('@'), "a marker the fixture lacks:\n{text}");
        text
    }

    /// A callgrind body of the benchmark's closure with the workspace lines `inlined` into it
    /// (between `fi=…/src/execute.rs` and `fe=`), then `rest`.
    fn closure_inlining(inlined: &str, rest: &str) -> String {
        format!(
            "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
{inlined}fe=/elsewhere/benches/instructions.rs
11 5
{rest}"
        )
    }

    /// `globalrt::execute` and `Global::execute` as base inlines them.
    const BASE_INLINED: &str = "@execute 100\n@Global::execute 200\n";

    /// `finish`, which is not inlined, as a function of its own.
    const FINISH: &str = "\nfl=@ROOT/src/execute.rs\nfn=globalrt::execute::finish\n";

    /// Head against base (the closure with [`BASE_INLINED`], and [`FINISH`] costing 100),
    /// and what the breakdown should say.
    struct GrewCase {
        name: &'static str,
        /// The lines inlined into the benchmark's closure.
        inlined: &'static str,
        /// `finish`'s cost line, if head has one.
        finish: &'static str,
        grew: Grew,
    }

    /// The one function that grew, and the places inside it that grew, as printed.
    struct Grew {
        function: &'static str,
        places: &'static [&'static str],
    }

    const CLOSURE: &str = "instructions::support::counted";

    const INLINED_CASES: &[GrewCase] = &[
        GrewCase {
            name: "the inlined method grew",
            inlined: "@execute 100\n@Global::execute 700\n",
            finish: "",
            grew: Grew {
                function: CLOSURE,
                places: &["src/execute.rs Global::execute (+500)"],
            },
        },
        GrewCase {
            name: "relative lines count from the previous cost line",
            inlined: "@execute 100\n@Global::execute 200\n* 300\n+1 200\n",
            finish: "",
            grew: Grew {
                function: CLOSURE,
                places: &["src/execute.rs Global::execute (+500)"],
            },
        },
        GrewCase {
            name: "call lines do not move the relative line",
            inlined: "@execute 100\n@Global::execute 200\n\
                      cfn=tokio::runtime::handle::Handle::enter\ncalls=1 +40\n* 1000\n* 500\n",
            finish: "",
            grew: Grew {
                function: CLOSURE,
                places: &["src/execute.rs Global::execute (+500)"],
            },
        },
        GrewCase {
            name: "a line outside every fn keeps the bare file",
            inlined: "@execute 100\n@Global::execute 200\n@outside 40\n",
            finish: "",
            grew: Grew {
                function: CLOSURE,
                places: &["src/execute.rs (+40)"],
            },
        },
        GrewCase {
            name: "a one-line method between two others",
            inlined: "@execute 100\n@Global::execute 200\n@Global::running_handle 70\n",
            finish: "",
            grew: Grew {
                function: CLOSURE,
                places: &["src/execute.rs Global::running_handle (+70)"],
            },
        },
        GrewCase {
            name: "a file outside the checkout keeps the bare file",
            inlined: "@execute 100\n@Global::execute 200\n\
                      fi=/root/.cargo/registry/src/index.crates.io-1/tokio-1.54.1/src/runtime/handle.rs\n\
                      86 60\n",
            finish: "",
            grew: Grew {
                function: CLOSURE,
                places: &["tokio-1.54.1/src/runtime/handle.rs (+60)"],
            },
        },
        GrewCase {
            name: "a workspace fn that is not inlined keeps its own name",
            inlined: BASE_INLINED,
            finish: "@finish 130\n",
            grew: Grew {
                function: "globalrt::execute::finish",
                places: &["src/execute.rs finish (+30)"],
            },
        },
    ];

    #[test]
    fn inlined_workspace_code_is_named_by_its_fn() {
        let root = checkout();
        let base = closure_inlining(BASE_INLINED, &format!("{FINISH}@finish 100\n"));
        let base = profile(&callgrind(&base), &root);
        for case in INLINED_CASES {
            let finish = match case.finish {
                "" => String::new(),
                cost => format!("{FINISH}{cost}"),
            };
            let head = closure_inlining(case.inlined, &finish);
            let head = profile(&callgrind(&head), &root);
            let got: Vec<(String, Vec<String>)> = grew_most(&base, &head, 5)
                .into_iter()
                .map(|d| (d.function, d.files))
                .collect();
            let places = case.grew.places.iter().map(|s| (*s).to_owned()).collect();
            let want = vec![(case.grew.function.to_owned(), places)];
            assert_eq!(got, want, "{}", case.name);
        }
    }
}
