//! The functions that grew most from base's profile to head's, each with the places inside
//! it whose self cost grew.

use std::collections::BTreeMap;

use super::super::compare::FunctionDelta;
use super::{Place, Profile};

/// How many places to name inside each function that grew.
const PLACES_PER_FUNCTION: usize = 2;

/// The `n` functions whose inclusive count grew most from `base` to `head`, each with the
/// places whose (possibly inlined) self cost grew most inside it.
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
    deltas.sort_by(|a, b| b.delta.cmp(&a.delta).then(a.function.cmp(&b.function)));
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
        assert_eq!(grew[0].function, "main");
        assert_eq!(grew[1].function, "work");
        assert_eq!(grew[1].delta, 30);
        assert_eq!(grew[1].files, vec!["src/inlined.rs (+30)".to_owned()]);
        assert!(grew.iter().all(|g| g.function != "helper"));
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

    /// The benchmark's closure with `globalrt::execute` and `Global::execute` inlined into
    /// it, and `finish`, which is not inlined.
    const INLINED_BASE: &str = "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 200
fe=/elsewhere/benches/instructions.rs
11 5

fl=@ROOT/src/execute.rs
fn=globalrt::execute::finish
@finish 100
";

    /// Head's callgrind file against [`INLINED_BASE`], and what the breakdown should say.
    struct Case {
        name: &'static str,
        head: &'static str,
        grew: &'static [Grew],
    }

    /// A function that grew, and the places inside it that grew, as the report prints them.
    struct Grew {
        function: &'static str,
        places: &'static [&'static str],
    }

    const INLINED_CASES: &[Case] = &[
        Case {
            name: "the inlined method grew",
            head: "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 700
fe=/elsewhere/benches/instructions.rs
11 5
",
            grew: &[Grew {
                function: "instructions::support::counted",
                places: &["src/execute.rs Global::execute (+500)"],
            }],
        },
        Case {
            name: "relative lines count from the previous cost line",
            head: "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 200
* 300
+1 200
fe=/elsewhere/benches/instructions.rs
11 5
",
            grew: &[Grew {
                function: "instructions::support::counted",
                places: &["src/execute.rs Global::execute (+500)"],
            }],
        },
        Case {
            name: "call lines do not move the relative line",
            head: "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 200
cfn=tokio::runtime::handle::Handle::enter
calls=1 +40
* 1000
* 500
fe=/elsewhere/benches/instructions.rs
11 5
",
            grew: &[Grew {
                function: "instructions::support::counted",
                places: &["src/execute.rs Global::execute (+500)"],
            }],
        },
        Case {
            name: "a line outside every fn keeps the bare file",
            head: "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 200
@outside 40
fe=/elsewhere/benches/instructions.rs
11 5
",
            grew: &[Grew {
                function: "instructions::support::counted",
                places: &["src/execute.rs (+40)"],
            }],
        },
        Case {
            name: "a one-line method between two others",
            head: "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 200
@Global::running_handle 70
fe=/elsewhere/benches/instructions.rs
11 5
",
            grew: &[Grew {
                function: "instructions::support::counted",
                places: &["src/execute.rs Global::running_handle (+70)"],
            }],
        },
        Case {
            name: "a file outside the checkout keeps the bare file",
            head: "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 200
fi=/root/.cargo/registry/src/index.crates.io-1/tokio-1.54.1/src/runtime/handle.rs
86 60
fe=/elsewhere/benches/instructions.rs
11 5
",
            grew: &[Grew {
                function: "instructions::support::counted",
                places: &["tokio-1.54.1/src/runtime/handle.rs (+60)"],
            }],
        },
        Case {
            name: "a workspace fn that is not inlined keeps its own name",
            head: "\
fl=/elsewhere/benches/instructions.rs
fn=instructions::support::counted
10 5
fi=@ROOT/src/execute.rs
@execute 100
@Global::execute 200
fe=/elsewhere/benches/instructions.rs
11 5

fl=@ROOT/src/execute.rs
fn=globalrt::execute::finish
@finish 130
",
            grew: &[Grew {
                function: "globalrt::execute::finish",
                places: &["src/execute.rs finish (+30)"],
            }],
        },
    ];

    #[test]
    fn inlined_workspace_code_is_named_by_its_fn() {
        let root = checkout();
        let base = profile(&callgrind(INLINED_BASE), &root);
        for case in INLINED_CASES {
            let head = profile(&callgrind(case.head), &root);
            let got: Vec<(String, Vec<String>)> = grew_most(&base, &head, 5)
                .into_iter()
                .map(|d| (d.function, d.files))
                .collect();
            let want: Vec<(String, Vec<String>)> = case
                .grew
                .iter()
                .map(|grew| {
                    let places = grew.places.iter().map(|s| (*s).to_owned()).collect();
                    (grew.function.to_owned(), places)
                })
                .collect();
            assert_eq!(got, want, "{}", case.name);
        }
    }
}
