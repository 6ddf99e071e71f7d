//! The build directory of each side of a comparison: a path of fixed length, and a first
//! build that starts from a copy of the other side's, so the dependencies compile once.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::invocation::{LOG, invocation};

/// Where the side `side` builds the suite, reached through a path of the same length for
/// every checkout of one package on every machine: `/tmp/<package>-bench-<16 hex
/// digits>/<side>` (`/tmp/globalrt-bench-…` for globalrt), a symlink (named by a hash of
/// this checkout's path) to `target/<work dir>-build` (`target/xtask-bench-build` under
/// `cargo xtask bench`).
///
/// The benchmark binary's path is its `argv[0]`, whose length shifts the process's
/// initial stack, and stack alignment changes instruction counts: the naive runtime
/// counted 32 instructions fewer when built in a longer target directory. A separate
/// directory per side also keeps the base's artifacts from replacing head's: cargo's
/// artifact names do not depend on the checkout's path.
///
/// A side's directory that does not exist yet starts as a copy of the other side's, so
/// the dependencies compile once; cargo's fingerprints hold paths relative to the
/// target directory, so only the workspace's own crate builds again.
pub(crate) fn path(root: &Path, side: &str, other: &str, package: &str) -> anyhow::Result<PathBuf> {
    let real = root
        .join("target")
        .join(format!("{}-build", invocation().work_dir));
    std::fs::create_dir_all(&real).with_context(|| format!("cannot create {}", real.display()))?;
    seed(&real.join(other), &real.join(side), package)?;
    #[cfg(unix)]
    {
        let link = PathBuf::from(format!(
            "/tmp/{package}-bench-{:016x}",
            fnv1a(root.to_string_lossy().as_bytes())
        ));
        if std::fs::read_link(&link).ok().as_deref() != Some(real.as_path()) {
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&real, &link)
                .with_context(|| format!("cannot link {} to {}", link.display(), real.display()))?;
        }
        Ok(link.join(side))
    }
    #[cfg(not(unix))]
    Ok(real.join(side))
}

/// Creates the build directory `dir` as a copy of `from` (`cp -a`, through a temporary
/// name and a rename, so a killed copy is never taken for a build directory); nothing to
/// do when `dir` exists or `from` does not.
fn seed(from: &Path, dir: &Path, package: &str) -> anyhow::Result<()> {
    if dir.exists() || !from.is_dir() {
        return Ok(());
    }
    let partial = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    eprintln!(
        "{LOG}: copying {} to {}, so the dependencies compile once",
        from.display(),
        dir.display()
    );
    let status = Command::new("cp")
        .args(["-a", "--reflink=auto"])
        .arg(from)
        .arg(&partial)
        .stdin(Stdio::null())
        .status()
        .context("cannot run cp")?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(&partial);
        bail!(
            "cannot copy {} to {} ({status})",
            from.display(),
            partial.display()
        );
    }
    forget_workspace_units(&partial, package)?;
    std::fs::rename(&partial, dir)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), dir.display()))
}

/// Removes the workspace package's fingerprints from a copied build directory, so that
/// cargo builds it again from this side's sources. Cargo judges a package in a path by
/// the modification times of its files against its outputs: the other side's outputs,
/// newer than this side's untouched files, would pass for this side's build.
fn forget_workspace_units(target_dir: &Path, package: &str) -> anyhow::Result<()> {
    let prefix = format!("{package}-");
    for profile in std::fs::read_dir(target_dir)? {
        let fingerprints = profile?.path().join(".fingerprint");
        let Ok(units) = std::fs::read_dir(&fingerprints) else {
            continue;
        };
        for unit in units {
            let unit = unit?.path();
            let name = unit.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| n.starts_with(&prefix)) {
                std::fs::remove_dir_all(&unit)
                    .with_context(|| format!("cannot remove {}", unit.display()))?;
            }
        }
    }
    Ok(())
}

/// 64-bit FNV-1a: a stable, dependency-free hash for naming a directory after a path.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copied_build_directory_forgets_the_workspace_package_only() {
        let dir = std::env::temp_dir().join(format!("gate-seed-{}", std::process::id()));
        let units = [
            "globalrt-0123",
            "globalrt-4567",
            "tokio-89ab",
            "globalrt_macros-cdef",
        ];
        for unit in units {
            std::fs::create_dir_all(dir.join("release").join(".fingerprint").join(unit)).unwrap();
        }
        std::fs::create_dir_all(dir.join("release").join("deps")).unwrap();
        forget_workspace_units(&dir, "globalrt").unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.join("release").join(".fingerprint"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["globalrt_macros-cdef", "tokio-89ab"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        // From the FNV reference test suite.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
