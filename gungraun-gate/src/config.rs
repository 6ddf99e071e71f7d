//! What the gate needs to know about a workspace: which bench target holds the gungraun
//! suite, the extra `--config` values its build takes, where the baseline file lives, and
//! the command to run after `--save` rewrites it.
//!
//! Read from `[workspace.metadata.gungraun-gate]` in the root `Cargo.toml` through
//! `cargo metadata`; every key is optional:
//!
//! ```toml
//! [workspace.metadata.gungraun-gate]
//! bench = "instructions"              # the gungraun bench target
//! package = "globalrt"                # the package that has it, if the name is ambiguous
//! cargo-config = ['build.rustflags=["--cfg", "globalrt_instructions"]']
//! baseline = "benches/baseline.json"  # relative to the workspace root
//! after-save = ["cargo", "xtask", "docs"]
//! ```
//!
//! Without `cargo-config`, the suite builds with [`DEFAULT_CARGO_CONFIG`] (one codegen
//! unit, debug information, no stripping); a workspace that writes its own list sets those
//! in its list or its manifest's `[profile.bench]`, as globalrt's manifest does.
//! Without a `bench`, the one bench target of a workspace package that depends on
//! gungraun and whose source names it is the suite; none or several is an error that
//! names them. Without a `baseline`, the file is [`DEFAULT_BASELINE`]. Per-benchmark
//! thresholds live in the baseline file's `overrides`, beside the figures they adjust.

use std::path::Path;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use crate::harness::Harness;

/// The baseline file of a workspace that configures none.
pub const DEFAULT_BASELINE: &str = "benches/gungraun-baseline.json";

/// The `--config` values of a workspace that configures none: the bench profile the gate
/// needs whatever the manifest says. One codegen unit, so that a change in one function does
/// not move the counts of code that never runs it through how cargo splits the crate (with
/// the default 16, a three-line change moved unrelated rows of a public crate's suite);
/// debug information and no stripping, for the function names of the breakdown.
pub const DEFAULT_CARGO_CONFIG: [&str; 3] = [
    "profile.bench.codegen-units=1",
    "profile.bench.debug=true",
    "profile.bench.strip=false",
];

/// The key of the gate's table under `[workspace.metadata]`.
pub const TABLE: &str = "gungraun-gate";

/// `[workspace.metadata.gungraun-gate]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ConfigTable {
    package: Option<String>,
    bench: Option<String>,
    cargo_config: Option<Vec<String>>,
    baseline: Option<String>,
    #[serde(default)]
    after_save: Vec<String>,
}

/// The configuration with every default filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GateConfig {
    /// The package that has the bench target.
    pub package: String,
    /// The gungraun bench target.
    pub bench: String,
    /// Its source file, relative to the workspace root (a revision without it has no suite).
    pub source: String,
    /// `--config` values for the suite's build and runs, in order ([`DEFAULT_CARGO_CONFIG`]
    /// when the table has no `cargo-config`).
    pub cargo_config: Vec<String>,
    /// The baseline file, relative to the workspace root.
    pub baseline: String,
    /// The program and arguments run in the root after `--save` wrote the baseline; empty
    /// for none. A first word `cargo` is the cargo that runs the gate (`$CARGO`).
    pub after_save: Vec<String>,
}

/// A bench target of a workspace package.
#[derive(Debug)]
struct BenchTarget {
    package: String,
    name: String,
    /// The target's source file, relative to the workspace root.
    source: String,
    /// Whether the package depends on gungraun and the target's source names it.
    gungraun: bool,
    /// The same for iai-callgrind, gungraun's former name, which the gate does not read.
    iai_callgrind: bool,
}

impl GateConfig {
    /// Reads the table from `cargo metadata --no-deps` in `root` and fills in defaults.
    ///
    /// # Errors
    ///
    /// `cargo metadata` fails, the table has an unknown key or a wrong type, or no bench
    /// target (or more than one) fits it.
    pub fn load(root: &Path) -> anyhow::Result<GateConfig> {
        let metadata = cargo_metadata::MetadataCommand::new()
            .cargo_path(crate::cargo())
            .current_dir(root)
            .no_deps()
            .exec()
            .context("cannot read the workspace with `cargo metadata`")?;
        let table = match metadata.workspace_metadata.get(TABLE) {
            Some(value) => ConfigTable::deserialize(value).with_context(|| {
                format!(
                    "[workspace.metadata.{TABLE}] in {}/Cargo.toml",
                    root.display()
                )
            })?,
            None => ConfigTable::default(),
        };
        let workspace_root = &metadata.workspace_root;
        let targets = metadata
            .workspace_packages()
            .into_iter()
            .flat_map(|package| {
                let depends = |name: &str| package.dependencies.iter().any(|d| d.name == name);
                let (gungraun, iai_callgrind) = (depends("gungraun"), depends("iai-callgrind"));
                package
                    .targets
                    .iter()
                    .filter(|t| t.is_bench())
                    .map(move |t| {
                        let src = std::fs::read_to_string(&t.src_path).unwrap_or_default();
                        BenchTarget {
                            package: package.name.to_string(),
                            name: t.name.clone(),
                            source: t
                                .src_path
                                .strip_prefix(workspace_root)
                                .unwrap_or(&t.src_path)
                                .to_string(),
                            gungraun: gungraun && src.contains("gungraun"),
                            iai_callgrind: iai_callgrind && src.contains("iai_callgrind"),
                        }
                    })
            })
            .collect::<Vec<_>>();
        table.resolve(&targets)
    }
}

impl ConfigTable {
    /// The configuration this table gives among the workspace's bench `targets`.
    fn resolve(self, targets: &[BenchTarget]) -> anyhow::Result<GateConfig> {
        let matching: Vec<&BenchTarget> = targets
            .iter()
            .filter(|t| match (&self.bench, &self.package) {
                (Some(bench), package) => {
                    t.name == *bench && package.as_ref().is_none_or(|p| t.package == *p)
                }
                (None, package) => t.gungraun && package.as_ref().is_none_or(|p| t.package == *p),
            })
            .collect();
        let suite = match matching.as_slice() {
            [one] => one,
            [] if let Some(t) = targets.iter().find(|t| t.iai_callgrind) => {
                return Err(Harness::refuse(&format!(
                    "the bench target {}/{} uses iai-callgrind",
                    t.package, t.name
                )));
            }
            [] => bail!(
                "no gungraun bench target found{}; name it with `bench = \"…\"` under \
                 [workspace.metadata.{TABLE}] in the root Cargo.toml",
                self.bench
                    .as_ref()
                    .map_or(String::new(), |b| format!(" named {b:?}"))
            ),
            several => bail!(
                "several bench targets could be the gungraun suite ({}); name one with \
                 `bench = \"…\"` (and `package = \"…\"`) under [workspace.metadata.{TABLE}]",
                several
                    .iter()
                    .map(|t| format!("{}/{}", t.package, t.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        Ok(GateConfig {
            package: suite.package.clone(),
            bench: suite.name.clone(),
            source: suite.source.clone(),
            cargo_config: self
                .cargo_config
                .unwrap_or_else(|| DEFAULT_CARGO_CONFIG.map(str::to_owned).to_vec()),
            baseline: self.baseline.unwrap_or_else(|| DEFAULT_BASELINE.to_owned()),
            after_save: self.after_save,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(package: &str, name: &str, gungraun: bool) -> BenchTarget {
        BenchTarget {
            package: package.to_owned(),
            name: name.to_owned(),
            source: format!("benches/{name}.rs"),
            gungraun,
            iai_callgrind: false,
        }
    }

    #[test]
    fn an_iai_callgrind_suite_is_refused_naming_the_supported_harnesses() {
        let old = BenchTarget {
            iai_callgrind: true,
            ..target("mycrate", "iai", false)
        };
        let err = table(serde_json::json!({}))
            .resolve(&[old, target("mycrate", "criterion", false)])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("the bench target mycrate/iai uses iai-callgrind, which this gate"),
            "{err}"
        );
        assert!(err.contains("supported: gungraun 0.20.x"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    fn table(toml_like: serde_json::Value) -> ConfigTable {
        ConfigTable::deserialize(toml_like).unwrap()
    }

    #[test]
    fn with_no_table_the_one_gungraun_target_is_the_suite() {
        let targets = [
            target("glam", "support", false),
            target("glam", "gungraun", true),
        ];
        let config = ConfigTable::default().resolve(&targets).unwrap();
        assert_eq!(config.package, "glam");
        assert_eq!(config.bench, "gungraun");
        assert_eq!(config.baseline, DEFAULT_BASELINE);
        assert_eq!(config.cargo_config, DEFAULT_CARGO_CONFIG);
        assert!(config.after_save.is_empty());
    }

    #[test]
    fn none_or_several_candidates_are_errors_that_name_them() {
        let none = ConfigTable::default().resolve(&[target("a", "wall", false)]);
        assert!(
            none.unwrap_err()
                .to_string()
                .contains("no gungraun bench target")
        );
        let two = [target("a", "x", true), target("b", "y", true)];
        let err = ConfigTable::default()
            .resolve(&two)
            .unwrap_err()
            .to_string();
        assert!(err.contains("a/x, b/y"), "{err}");
        let config = table(serde_json::json!({"package": "b"}))
            .resolve(&two)
            .unwrap();
        assert_eq!(config.bench, "y");
    }

    #[test]
    fn a_configured_table_is_taken_as_written() {
        let t = table(serde_json::json!({
            "bench": "instructions",
            "cargo-config": ["build.rustflags=[\"--cfg\", \"x\"]"],
            "baseline": "benches/baseline.json",
            "after-save": ["cargo", "xtask", "docs"],
        }));
        let targets = [
            target("globalrt", "instructions", true),
            target("globalrt", "memory", false),
        ];
        let config = t.resolve(&targets).unwrap();
        assert_eq!(config.bench, "instructions");
        assert_eq!(config.baseline, "benches/baseline.json");
        assert_eq!(config.after_save, ["cargo", "xtask", "docs"]);
        assert_eq!(config.cargo_config, ["build.rustflags=[\"--cfg\", \"x\"]"]);
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let err = ConfigTable::deserialize(serde_json::json!({"benches": "x"})).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
