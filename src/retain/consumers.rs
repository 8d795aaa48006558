//! Apply consumers registered with a spool: `SPOOL/consumers/NAME.json`, one file per consumer,
//! kept until unregistered so that retention run from cron always knows every site that still
//! applies the spool's LCR files.
//!
//! A consumer's position is the end LSN of the last source commit it applied, read either from
//! its target database (the replication origin or `pglcr.apply_progress` row that
//! `pglcr apply` keeps there) or from an acknowledgement file the remote site ships back:
//!
//! ```json
//! {"format": "pglcr-apply-ack", "format_version": 1, "applied_lsn": "0/3000148"}
//! ```
//!
//! (`commit_time`, the commit time of that transaction as PostgreSQL prints a timestamptz, may
//! be added). A remote site can write it with psql from its origin:
//! `SELECT json_build_object('format','pglcr-apply-ack','format_version',1,'applied_lsn',
//! pg_replication_origin_progress('ORIGIN', true))`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::pgconn::{self, ConnOptions, ConnParams};
use crate::wal::lsn::Lsn;

pub const CONSUMER_DIR: &str = "consumers";
const FORMAT: &str = "pglcr-consumer";
const ACK_FORMAT: &str = "pglcr-apply-ack";

#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error("{what} \"{}\": {source}", .path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid consumer registration \"{}\": {reason}", .path.display())]
    Bad { path: PathBuf, reason: String },
    #[error("\"{0}\" is not a valid consumer name (letters, digits, '.', '_' and '-', not starting with '.')")]
    BadName(String),
    #[error("invalid consumer \"{0}\": expected NAME=CONNSTR (a libpq connection string or URI) or NAME=file:PATH")]
    BadSpec(String),
    #[error("invalid acknowledgement file \"{}\": {reason}; expected {{\"format\": \"pglcr-apply-ack\", \"format_version\": 1, \"applied_lsn\": \"X/X\"}}", .path.display())]
    BadAck { path: PathBuf, reason: String },
    #[error("consumer \"{name}\": {message}")]
    Target { name: String, message: String },
}

/// Where a consumer's apply position is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A libpq connection string or URI of the target database.
    Database(String),
    /// An acknowledgement file shipped back by the remote site.
    AckFile(PathBuf),
}

impl Source {
    pub fn parse(text: &str) -> Source {
        match text.strip_prefix("file:") {
            Some(path) => Source::AckFile(PathBuf::from(path)),
            None => Source::Database(text.to_string()),
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Database(c) => f.write_str(&pgconn_redacted(c)),
            Source::AckFile(p) => write!(f, "file:{}", p.display()),
        }
    }
}

/// A connection string without its password, for messages and status output.
fn pgconn_redacted(conninfo: &str) -> String {
    match conninfo.find("password=") {
        Some(at) => {
            let rest = &conninfo[at + "password=".len()..];
            let end = rest.find(' ').unwrap_or(rest.len());
            format!("{}password=***{}", &conninfo[..at], &rest[end..])
        }
        None => match (conninfo.find("://"), conninfo.find('@')) {
            (Some(s), Some(a)) if conninfo[s + 3..a].contains(':') => {
                let colon = s + 3 + conninfo[s + 3..a].find(':').unwrap_or(0);
                format!("{}:***{}", &conninfo[..colon], &conninfo[a..])
            }
            _ => conninfo.to_string(),
        },
    }
}

/// One registered consumer (`SPOOL/consumers/NAME.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Consumer {
    pub format: String,
    pub format_version: u32,
    pub name: String,
    /// `file:PATH` or a connection string, as given to `--register`.
    pub source: String,
    /// The origin (or progress row) name on the target; default `pglcr_<sysid>_<dboid>`.
    pub origin: Option<String>,
    /// Why LCR files this consumer still needed were removed, when they were.
    pub broken: Option<String>,
}

pub fn check_name(name: &str) -> Result<(), ConsumerError> {
    crate::ship::state::check_name(name).map_err(|_| ConsumerError::BadName(name.to_string()))
}

/// Parses `NAME=SOURCE` as given on the command line.
pub fn parse_spec(spec: &str) -> Result<(String, String), ConsumerError> {
    let (name, source) = spec
        .split_once('=')
        .filter(|(n, s)| !n.is_empty() && !s.is_empty())
        .ok_or_else(|| ConsumerError::BadSpec(spec.to_string()))?;
    check_name(name)?;
    Ok((name.to_string(), source.to_string()))
}

impl Consumer {
    pub fn new(name: &str, source: &str, origin: Option<String>) -> Consumer {
        Consumer {
            format: FORMAT.into(),
            format_version: 1,
            name: name.into(),
            source: source.into(),
            origin,
            broken: None,
        }
    }

    pub fn path(spool: &Path, name: &str) -> PathBuf {
        spool.join(CONSUMER_DIR).join(format!("{name}.json"))
    }

    pub fn source(&self) -> Source {
        Source::parse(&self.source)
    }

    fn load(path: &Path, name: &str) -> Result<Consumer, ConsumerError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConsumerError::Io {
            what: "could not read consumer registration",
            path: path.to_path_buf(),
            source,
        })?;
        let c: Consumer = serde_json::from_str(&text).map_err(|e| ConsumerError::Bad {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if c.format != FORMAT || c.format_version != 1 {
            return Err(ConsumerError::Bad {
                path: path.to_path_buf(),
                reason: format!(
                    "format {} version {} (expected {FORMAT} version 1)",
                    c.format, c.format_version
                ),
            });
        }
        if c.name != name {
            return Err(ConsumerError::Bad {
                path: path.to_path_buf(),
                reason: format!("it names consumer \"{}\"", c.name),
            });
        }
        Ok(c)
    }

    /// Replaces the registration durably; the caller holds the spool's lock.
    pub fn save(&self, spool: &Path) -> Result<(), ConsumerError> {
        let dir = spool.join(CONSUMER_DIR);
        std::fs::create_dir_all(&dir).map_err(|source| ConsumerError::Io {
            what: "could not create",
            path: dir.clone(),
            source,
        })?;
        let path = Self::path(spool, &self.name);
        let mut text = serde_json::to_string_pretty(self).expect("consumer serializes");
        text.push('\n');
        crate::durable::write_file(&path, text.as_bytes()).map_err(|source| ConsumerError::Io {
            what: "could not write consumer registration",
            path,
            source,
        })
    }
}

/// Removes a registration; true when there was one.
pub fn unregister(spool: &Path, name: &str) -> Result<bool, ConsumerError> {
    check_name(name)?;
    let path = Consumer::path(spool, name);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(source) => {
            return Err(ConsumerError::Io {
                what: "could not remove consumer registration",
                path,
                source,
            })
        }
    }
    let dir = spool.join(CONSUMER_DIR);
    crate::durable::sync_dir(&dir).map_err(|source| ConsumerError::Io {
        what: "could not sync",
        path: dir,
        source,
    })?;
    Ok(true)
}

/// Every registered consumer of the spool, in name order.
pub fn registered(spool: &Path) -> Result<Vec<Consumer>, ConsumerError> {
    let dir = spool.join(CONSUMER_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ConsumerError::Io {
                what: "could not read",
                path: dir,
                source,
            })
        }
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ConsumerError::Io {
            what: "could not read",
            path: dir.clone(),
            source,
        })?;
        let file_name = entry.file_name();
        if let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(".json")) {
            if check_name(name).is_ok() {
                found.push((name.to_string(), entry.path()));
            }
        }
    }
    found.sort();
    found
        .iter()
        .map(|(name, path)| Consumer::load(path, name))
        .collect()
}

/// What a consumer has applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// End LSN of the last source commit applied (0/0 when nothing was).
    pub lsn: Lsn,
    /// Its commit time as the target prints a timestamptz, when known.
    pub commit_time: Option<String>,
}

#[derive(Deserialize)]
struct AckFile {
    format: String,
    format_version: u32,
    applied_lsn: String,
    commit_time: Option<String>,
}

fn read_ack(path: &Path) -> Result<Applied, ConsumerError> {
    let bad = |reason: String| ConsumerError::BadAck {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConsumerError::Io {
        what: "could not read acknowledgement file",
        path: path.to_path_buf(),
        source,
    })?;
    let ack: AckFile = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if ack.format != ACK_FORMAT || ack.format_version != 1 {
        return Err(bad(format!(
            "format {} version {}",
            ack.format, ack.format_version
        )));
    }
    let lsn = ack
        .applied_lsn
        .parse::<Lsn>()
        .map_err(|_| bad(format!("applied_lsn \"{}\" is not an LSN", ack.applied_lsn)))?;
    Ok(Applied {
        lsn,
        commit_time: ack.commit_time,
    })
}

/// Reads the position `pglcr apply` keeps on the target: the replication origin's remote LSN,
/// or the `pglcr.apply_progress` row, whichever is further (a target switched from one to the
/// other keeps the older one behind).
fn read_database(name: &str, conninfo: &str, origin: &str) -> Result<Applied, ConsumerError> {
    let target = |message: String| ConsumerError::Target {
        name: name.to_string(),
        message,
    };
    let params = ConnParams::resolve(&ConnOptions {
        dbname: Some(conninfo.to_string()),
        ..Default::default()
    })
    .map_err(|e| target(e.to_string()))?;
    let (mut client, _) = params.connect().map_err(|e| target(e.to_string()))?;
    let q = |client: &mut postgres::Client, sql: &str| {
        client
            .query_one(sql, &[&origin])
            .map_err(|e| target(pgconn::error_text(&e)))
    };
    // The origin's flushed progress (what survives a crash of the target; reading it needs
    // the privileges pg_replication_origin_progress() needs, as applying does), then the
    // progress table if present.
    let row = q(
        &mut client,
        "SELECT (SELECT pg_replication_origin_progress(roname, true)::text \
         FROM pg_replication_origin WHERE roname = $1), \
         to_regclass('pglcr.apply_progress') IS NOT NULL, \
         to_regclass('pglcr.apply_stats') IS NOT NULL",
    )?;
    let mut lsn: Option<String> = row.get(0);
    let (has_table, has_stats): (bool, bool) = (row.get(1), row.get(2));
    let mut commit_time = None;
    if has_table {
        let row = q(
            &mut client,
            "SELECT (SELECT remote_lsn::text FROM pglcr.apply_progress WHERE origin = $1), \
             (SELECT remote_commit_time::text FROM pglcr.apply_progress WHERE origin = $1)",
        )?;
        let table_lsn: Option<String> = row.get(0);
        let parse = |s: &Option<String>| s.as_deref().and_then(|s| s.parse::<Lsn>().ok());
        if parse(&table_lsn) > parse(&lsn) {
            lsn = table_lsn;
            commit_time = row.get(1);
        }
    }
    if commit_time.is_none() && has_stats {
        let row = q(
            &mut client,
            "SELECT (SELECT last_remote_lsn::text || ' ' || last_remote_commit_time::text \
             FROM pglcr.apply_stats WHERE origin = $1)",
        )?;
        let stats: Option<String> = row.get(0);
        if let Some((stats_lsn, time)) = stats.as_deref().and_then(|s| s.split_once(' ')) {
            if Some(stats_lsn) == lsn.as_deref() {
                commit_time = Some(time.to_string());
            }
        }
    }
    let lsn = match lsn {
        Some(text) => text
            .parse::<Lsn>()
            .map_err(|_| target(format!("progress \"{text}\" is not an LSN")))?,
        None => Lsn(0),
    };
    Ok(Applied { lsn, commit_time })
}

/// The consumer's apply position. `default_origin` is the spool's `pglcr_<sysid>_<dboid>`.
pub fn applied(consumer: &Consumer, default_origin: &str) -> Result<Applied, ConsumerError> {
    match consumer.source() {
        Source::AckFile(path) => read_ack(&path),
        Source::Database(conninfo) => read_database(
            &consumer.name,
            &conninfo,
            consumer.origin.as_deref().unwrap_or(default_origin),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_round_trip_and_unregister() {
        let spool = tempfile::tempdir().unwrap();
        assert!(registered(spool.path()).unwrap().is_empty());
        let (name, source) = parse_spec("dr1=host=dr1 dbname=sales").unwrap();
        assert_eq!(source, "host=dr1 dbname=sales");
        Consumer::new(&name, &source, None)
            .save(spool.path())
            .unwrap();
        Consumer::new("bkp", "file:/srv/ack.json", Some("o".into()))
            .save(spool.path())
            .unwrap();
        let all = registered(spool.path()).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].name, "bkp");
        assert_eq!(
            all[0].source(),
            Source::AckFile(PathBuf::from("/srv/ack.json"))
        );
        assert!(unregister(spool.path(), "bkp").unwrap());
        assert!(!unregister(spool.path(), "bkp").unwrap());
        assert_eq!(registered(spool.path()).unwrap().len(), 1);
        assert!(parse_spec("noequals").is_err());
        assert!(parse_spec("../x=file:/a").is_err());
    }

    #[test]
    fn ack_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ack.json");
        std::fs::write(
            &path,
            r#"{"format":"pglcr-apply-ack","format_version":1,"applied_lsn":"0/3000148"}"#,
        )
        .unwrap();
        let c = Consumer::new("r", &format!("file:{}", path.display()), None);
        assert_eq!(applied(&c, "o").unwrap().lsn, Lsn(0x3000148));
        std::fs::write(
            &path,
            r#"{"format":"pglcr-apply-ack","format_version":1,"applied_lsn":"nope"}"#,
        )
        .unwrap();
        let err = applied(&c, "o").unwrap_err().to_string();
        assert!(err.contains("\"nope\" is not an LSN"), "{err}");
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            Source::parse("host=a password=secret dbname=b").to_string(),
            "host=a password=*** dbname=b"
        );
        assert_eq!(
            Source::parse("postgresql://u:secret@h/db").to_string(),
            "postgresql://u:***@h/db"
        );
    }
}
