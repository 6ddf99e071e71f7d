//! Writing a file so that a reader never sees it half written.
//!
//! Shared by xtask's `util::write_atomic` (every report it writes) and the benchmark
//! targets (`memory.json`), so there is one copy of the temporary-file-and-rename dance.

use std::path::Path;

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename,
/// creating the directory first. The temporary file is removed if the write fails.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a file path", path.display()),
        )
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
