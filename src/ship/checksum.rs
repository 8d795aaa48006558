//! The SHA-256 of each LCR file, recorded in the spool when the file is published: a file
//! `NAME.sha256` beside `NAME`, one line as `sha256sum` prints it (`sha256sum -c NAME.sha256`
//! checks it). Shipping then reads the sum instead of reading every byte through SHA-256
//! again; a spool file without one (written by an older pglcr, or copied in by hand) is
//! hashed when it is shipped, as before.
//!
//! The checksum file is written before the LCR file gets its final name: its contents are
//! fsynced before its own rename, and the directory fsync that publishes the LCR file makes
//! both names durable. So a checksum file is never partly written; one whose LCR file never
//! got published is left over (the rerun writes it again, `pglcr retain` removes it).

use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use sha2::Digest;

pub const SUFFIX: &str = ".sha256";

/// Where the checksum of the LCR file at `path` is recorded.
pub fn path_for(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(SUFFIX);
    PathBuf::from(p)
}

/// Hashes the complete temporary file `tmp` about to be published as `path` and records the
/// sum in `path`'s checksum file (fsynced and renamed into place; the caller's directory
/// fsync makes the name durable).
pub fn record(tmp: &std::fs::File, path: &Path) -> std::io::Result<()> {
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0; 1 << 20];
    let mut offset = 0;
    loop {
        let n = tmp.read_at(&mut buf, offset)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        offset += n as u64;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let line = format!("{}  {name}\n", super::manifest::hex(&hasher.finalize()));
    let sidecar = path_for(path);
    let mut out = crate::durable::temp_file_for(&sidecar, 0o644)?;
    out.write_all(line.as_bytes())?;
    out.as_file().sync_all()?;
    out.persist(&sidecar).map_err(|e| e.error)?;
    Ok(())
}

/// The SHA-256 recorded for the LCR file at `path`, None when none is. A checksum file that
/// is not one `sha256sum` line for that file is an error naming it.
pub fn recorded(path: &Path) -> Result<Option<String>, String> {
    let sidecar = path_for(path);
    let mut text = String::new();
    let read = std::fs::File::open(&sidecar).and_then(|f| f.take(4096).read_to_string(&mut text));
    match read {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("could not read \"{}\": {e}", sidecar.display())),
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    match text.strip_suffix('\n').and_then(|l| l.split_once("  ")) {
        Some((sum, n))
            if n == name
                && sum.len() == 64
                && sum.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Ok(Some(sum.to_string()))
        }
        _ => Err(format!(
            "checksum file \"{}\" is not one line \"SHA256  {name}\" as sha256sum prints it",
            sidecar.display()
        )),
    }
}

/// Removes the checksum files in `dir` whose LCR file is not there (left by a run killed
/// before it published the file, or after it removed it); true when it removed any. Only
/// for a holder of the spool's lock: a decode run may be about to publish the file.
pub fn remove_orphans(dir: &Path) -> std::io::Result<bool> {
    let mut removed = false;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(lcr) = name.to_str().and_then(|n| n.strip_suffix(SUFFIX)) else {
            continue;
        };
        if crate::lcr::LcrName::parse(lcr).is_some() && !dir.join(lcr).exists() {
            std::fs::remove_file(entry.path())?;
            removed = true;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "00000001000000000000000300000000000000A1";

    #[test]
    fn records_reads_and_refuses_a_malformed_checksum_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(NAME);
        let mut tmp = crate::durable::temp_file_for(&path, 0o644).unwrap();
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        tmp.write_all(&bytes).unwrap();
        assert_eq!(recorded(&path), Ok(None));
        record(tmp.as_file(), &path).unwrap();
        tmp.persist(&path).unwrap();
        assert_eq!(
            recorded(&path),
            Ok(Some(super::super::manifest::sha256_hex(&bytes)))
        );
        std::fs::write(path_for(&path), "abc  x\n").unwrap();
        let e = recorded(&path).unwrap_err();
        assert!(e.contains(&format!("{NAME}.sha256")), "{e}");
        assert!(!remove_orphans(dir.path()).unwrap());
        std::fs::remove_file(&path).unwrap();
        assert!(remove_orphans(dir.path()).unwrap());
        assert!(!path_for(&path).exists());
    }
}
