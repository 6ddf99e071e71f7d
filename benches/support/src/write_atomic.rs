//! Writing a file so that a reader never sees it half written.
//!
//! Shared by xtask's `util::write_atomic` (every report it writes) and the benchmark
//! targets (`memory.json`): tempfile's `NamedTempFile` in the same directory, persisted by a
//! rename, and removed if anything fails before that.

use std::io::Write as _;
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename,
/// creating the directory first.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut builder = tempfile::Builder::new();
    // As `std::fs::write` creates a file (the umask narrows it), not tempfile's owner-only
    // default: a rewritten README or report stays readable by others.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut file = builder.tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.persist(path)?;
    Ok(())
}
