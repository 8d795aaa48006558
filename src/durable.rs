//! Durable file replacement: readers see the old content or the new one, never a mix, and the
//! new content survives a crash once the call returns.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path`: to a temporary file in the same directory, fsynced, renamed over
/// `path`, then the directory fsynced. The file gets mode 0644.
pub fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = temp_file_for(path, 0o644)?;
    tmp.write_all(bytes)?;
    publish(tmp, path)
}

/// A new temporary file `.NAME.XXXXXX.tmp` in the directory of `path` (NAME its file name),
/// with `mode`: on the same file system, so that a rename publishes it, and hidden from
/// readers that look for exact names.
pub fn temp_file_for(path: &Path, mode: u32) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("\"{}\" is not a file name", path.display()),
        )
    })?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(parent_dir(path))
}

/// Fsyncs `tmp`, renames it over `path` and fsyncs the directory: afterwards `path` holds the
/// complete new content, also after a crash.
pub fn publish(tmp: tempfile::NamedTempFile, path: &Path) -> std::io::Result<()> {
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(parent_dir(path))
}

/// The directory a path is in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Fsyncs a directory, making the renames in it durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_file(&path, b"one").unwrap();
        write_file(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.json")]);
        assert!(write_file(&dir.path().join("missing/x"), b"").is_err());
    }
}
