//! What each destination of a spool has acknowledged: `SPOOL/ship/NAME.json`, one file per
//! destination, and the lock `SPOOL/ship/NAME.lock` held by whoever changes it (a ship run to
//! that destination, or retention marking it broken).
//!
//! `acked` is the last LCR file the destination holds durably under its final name with a
//! verified checksum; files are acknowledged in name order, so every file up to it is there.
//! `broken` is set when files the destination still needed were removed (retention under a
//! size cap with consumer loss allowed); shipping to it then fails with that reason until the
//! operator starts the destination over.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const SHIP_DIR: &str = "ship";
const FORMAT: &str = "pglcr-ship";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{what} \"{}\": {source}", .path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid destination state \"{}\": {reason}", .path.display())]
    Bad { path: PathBuf, reason: String },
    #[error("destination \"{name}\" of spool \"{}\" is in use by another pglcr process (lock file \"{}\")", .spool.display(), .spool.join(SHIP_DIR).join(format!("{name}.lock")).display())]
    Locked { spool: PathBuf, name: String },
    #[error("\"{0}\" is not a valid destination name (letters, digits, '.', '_' and '-', not starting with '.')")]
    BadName(String),
}

/// The durable state of one destination of a spool.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DestinationState {
    pub format: String,
    pub format_version: u32,
    pub name: String,
    /// The destination as given to `pglcr ship --to` (a directory or an ssh:// URL).
    pub to: String,
    /// The last LCR file name acknowledged by the destination.
    pub acked: Option<String>,
    /// Why the destination can no longer be shipped to, when it cannot.
    pub broken: Option<String>,
}

/// A destination name is a file name in `SPOOL/ship`.
pub fn check_name(name: &str) -> Result<(), StateError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(StateError::BadName(name.to_string()))
    }
}

impl DestinationState {
    pub fn new(name: &str, to: &str) -> DestinationState {
        DestinationState {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            name: name.to_string(),
            to: to.to_string(),
            acked: None,
            broken: None,
        }
    }

    pub fn path(spool: &Path, name: &str) -> PathBuf {
        spool.join(SHIP_DIR).join(format!("{name}.json"))
    }

    /// The state of destination `name`, or None when nothing was ever shipped to it.
    pub fn load(spool: &Path, name: &str) -> Result<Option<DestinationState>, StateError> {
        check_name(name)?;
        let path = Self::path(spool, name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Io {
                    what: "could not read destination state",
                    path,
                    source,
                })
            }
        };
        let state: DestinationState = serde_json::from_str(&text).map_err(|e| StateError::Bad {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if state.format != FORMAT || state.format_version != FORMAT_VERSION {
            return Err(StateError::Bad {
                path,
                reason: format!(
                    "format {} version {} (expected {FORMAT} version {FORMAT_VERSION})",
                    state.format, state.format_version
                ),
            });
        }
        if state.name != name {
            return Err(StateError::Bad {
                path,
                reason: format!("it names destination \"{}\"", state.name),
            });
        }
        Ok(Some(state))
    }

    /// Replaces the state file durably; the caller holds the destination's lock.
    pub fn save(&self, spool: &Path) -> Result<(), StateError> {
        let dir = spool.join(SHIP_DIR);
        let io = |what, path: &Path| {
            let path = path.to_path_buf();
            move |source| StateError::Io { what, path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io("could not create", &dir))?;
        let path = Self::path(spool, &self.name);
        let mut text = serde_json::to_string_pretty(self).expect("state serializes");
        text.push('\n');
        crate::durable::write_file(&path, text.as_bytes())
            .map_err(io("could not write destination state", &path))
    }
}

/// Every destination of the spool, in name order.
pub fn destinations(spool: &Path) -> Result<Vec<DestinationState>, StateError> {
    let dir = spool.join(SHIP_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(StateError::Io {
                what: "could not read",
                path: dir,
                source,
            })
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| StateError::Io {
            what: "could not read",
            path: dir.clone(),
            source,
        })?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(".json")) else {
            continue;
        };
        if check_name(name).is_ok() {
            names.push(name.to_string());
        }
    }
    names.sort();
    let mut states = Vec::with_capacity(names.len());
    for name in names {
        if let Some(state) = DestinationState::load(spool, &name)? {
            states.push(state);
        }
    }
    Ok(states)
}

/// The lock of one destination, released when dropped.
pub struct DestinationLock(#[allow(dead_code)] File);

/// Takes the lock of destination `name` without waiting.
pub fn lock(spool: &Path, name: &str) -> Result<DestinationLock, StateError> {
    check_name(name)?;
    let dir = spool.join(SHIP_DIR);
    std::fs::create_dir_all(&dir).map_err(|source| StateError::Io {
        what: "could not create",
        path: dir.clone(),
        source,
    })?;
    let path = dir.join(format!("{name}.lock"));
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StateError::Io {
            what: "could not open lock file",
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(DestinationLock(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(StateError::Locked {
            spool: spool.to_path_buf(),
            name: name.to_string(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(StateError::Io {
            what: "could not lock",
            path,
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_is_listed() {
        let spool = tempfile::tempdir().unwrap();
        assert!(destinations(spool.path()).unwrap().is_empty());
        let mut dr = DestinationState::new("dr1", "ssh://backup@dr1/lcr");
        dr.acked = Some("0000000100000000000000030000000000000000".to_string());
        dr.save(spool.path()).unwrap();
        DestinationState::new("bkp", "/mnt/lcr")
            .save(spool.path())
            .unwrap();
        let all = destinations(spool.path()).unwrap();
        assert_eq!(
            all.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
            ["bkp", "dr1"]
        );
        assert_eq!(
            DestinationState::load(spool.path(), "dr1").unwrap(),
            Some(dr)
        );
    }

    #[test]
    fn lock_is_exclusive_and_names_are_checked() {
        let spool = tempfile::tempdir().unwrap();
        let held = lock(spool.path(), "dr1").unwrap();
        assert!(matches!(
            lock(spool.path(), "dr1"),
            Err(StateError::Locked { .. })
        ));
        drop(held);
        lock(spool.path(), "dr1").unwrap();
        assert!(matches!(
            lock(spool.path(), "../x"),
            Err(StateError::BadName(_))
        ));
        assert!(matches!(
            lock(spool.path(), ".hidden"),
            Err(StateError::BadName(_))
        ));
    }
}
