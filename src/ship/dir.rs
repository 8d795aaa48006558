//! A directory destination: local disk or a mounted network file system.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::manifest::{sha256_hex, MANIFEST_FILE};
use super::transport::{OneByOne, Pacer, PutOutcome, Sender, Transport, TransportError};
use crate::durable;

pub struct DirTransport {
    pub dir: PathBuf,
}

/// Errors a network file system reports when its server goes away for a while.
fn io_error(what: &str, path: &Path, e: std::io::Error) -> TransportError {
    use std::io::ErrorKind::*;
    let msg = format!("{what} \"{}\": {e}", path.display());
    let stale = e.raw_os_error() == Some(libc::ESTALE);
    match e.kind() {
        ConnectionRefused | ConnectionReset | ConnectionAborted | TimedOut | Interrupted => {
            TransportError::Transient(msg)
        }
        _ if stale => TransportError::Transient(msg),
        _ => TransportError::Fatal(msg),
    }
}

fn file_sha256(path: &Path) -> std::io::Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(sha256_hex(&bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether `name` is a temporary file of ours: `.NAME.XXXXXX.tmp` for an LCR file or the
/// manifest (see `durable::temp_file_for`).
pub fn is_our_temp_file(name: &str) -> bool {
    let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    let target = inner.rsplit_once('.').map_or("", |(t, _)| t);
    target == MANIFEST_FILE || crate::lcr::LcrName::parse(target).is_some()
}

impl Transport for DirTransport {
    fn open(&self) -> Result<Option<String>, TransportError> {
        let meta = std::fs::metadata(&self.dir)
            .map_err(|e| io_error("could not open destination directory", &self.dir, e))?;
        if !meta.is_dir() {
            return Err(TransportError::Fatal(format!(
                "destination \"{}\" is not a directory",
                self.dir.display()
            )));
        }
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| io_error("could not read directory", &self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error("could not read directory", &self.dir, e))?;
            if entry.file_name().to_str().is_some_and(is_our_temp_file) {
                let path = entry.path();
                std::fs::remove_file(&path)
                    .map_err(|e| io_error("could not remove temporary file", &path, e))?;
            }
        }
        let path = self.dir.join(MANIFEST_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("could not read manifest", &path, e)),
        }
    }

    fn put(
        &self,
        name: &str,
        bytes: &[u8],
        sha256: &str,
        replace: bool,
        pacer: &Pacer,
    ) -> Result<PutOutcome, TransportError> {
        let path = self.dir.join(name);
        if !replace {
            match file_sha256(&path) {
                Ok(Some(have)) if have == sha256 => return Ok(PutOutcome::AlreadyThere),
                Ok(Some(have)) => return Err(TransportError::Conflict { sha256: have }),
                Ok(None) => {}
                Err(e) => return Err(io_error("could not read", &path, e)),
            }
        }
        let mut tmp = durable::temp_file_for(&path, 0o644)
            .map_err(|e| io_error("could not create a temporary file for", &path, e))?;
        let write = |e| io_error("could not write", &path, e);
        for chunk in bytes.chunks(pacer.chunk()) {
            pacer.take(chunk.len());
            tmp.write_all(chunk).map_err(write)?;
        }
        // No read-back: right after writing it would come from the page cache, also on a
        // network file system, and check nothing the write did not.
        tmp.as_file().sync_all().map_err(write)?;
        let persisted = if replace {
            tmp.persist(&path).map_err(|e| e.error)
        } else {
            // Never replace a file that appeared meanwhile (another process shipping here).
            tmp.persist_noclobber(&path).map_err(|e| e.error)
        };
        persisted.map_err(|e| io_error("could not rename into place", &path, e))?;
        Ok(PutOutcome::Stored)
    }

    fn write_manifest(&self, text: &str) -> Result<(), TransportError> {
        let path = self.dir.join(MANIFEST_FILE);
        durable::write_file(&path, text.as_bytes())
            .map_err(|e| io_error("could not write manifest", &path, e))
    }

    fn append_manifest(&self, lines: &str) -> Result<(), TransportError> {
        durable::sync_dir(&self.dir)
            .map_err(|e| io_error("could not sync directory", &self.dir, e))?;
        let path = self.dir.join(MANIFEST_FILE);
        let append = |e| io_error("could not append to manifest", &path, e);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(append)?;
        file.write_all(lines.as_bytes()).map_err(append)?;
        file.sync_all().map_err(append)
    }

    fn checksums(&self) -> Result<BTreeMap<String, String>, TransportError> {
        let files = crate::lcr::list_dir(&self.dir)
            .map_err(|e| io_error("could not read directory", &self.dir, e))?;
        let mut sums = BTreeMap::new();
        for (name, path) in files {
            if let Some(sum) =
                file_sha256(&path).map_err(|e| io_error("could not read", &path, e))?
            {
                sums.insert(name.to_string(), sum);
            }
        }
        Ok(sums)
    }

    /// No: a read-back right after writing would come from the page cache and check nothing
    /// the write did not, so the sender hashes the file.
    fn checks_sha256(&self) -> bool {
        false
    }

    fn sender(&self) -> Box<dyn Sender + '_> {
        Box::new(OneByOne {
            transport: self,
            outcomes: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_file_names() {
        assert!(is_our_temp_file(
            ".0000000100000000000000030000000000000001.Ab12Cd.tmp"
        ));
        assert!(is_our_temp_file(".pglcr.manifest.x1y2z3.tmp"));
        assert!(!is_our_temp_file(".bashrc"));
        assert!(!is_our_temp_file(".other.x1y2z3.tmp"));
        assert!(!is_our_temp_file(
            "0000000100000000000000030000000000000001"
        ));
    }
}
