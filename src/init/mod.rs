//! `pglcr init`: start a pipeline at a consistent point and, optionally, seed a target there.
//!
//! A temporary logical slot created over a replication connection gives a consistent point
//! and a snapshot exported at exactly that point: a transaction is in the snapshot if and only
//! if its commit record precedes the consistent point. Under that snapshot the catalog is
//! exported and (with a target) schema and rows are copied; the spool then starts decoding at
//! the consistent point, and the target's apply position is set to it, so every transaction is
//! on the target exactly once: through the copy or through `pglcr apply`.
//!
//! Interruption: the spool carries [`spool::INIT_PENDING_FILE`] and the target a row in
//! `pglcr.init_state` until the very end. A rerun sees them and starts over with a new slot;
//! decoding refuses a pending spool.

pub mod replication;
mod target;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use postgres::Client;

use crate::catalog::{self, export::ExportError, CatalogError};
use crate::pgconn::{self, ConnError, ConnParams, Target};
use crate::spool::{self, SpoolError};
use crate::wal::lsn::Lsn;
use replication::{ReplicationConn, ReplicationError};

pub use target::{CopyMode, ProgressMode};

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Connect(#[from] ConnError),
    #[error(transparent)]
    Replication(#[from] ReplicationError),
    #[error("source: {0}")]
    Source(String),
    #[error("source is not ready for pglcr init:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    SourceNotReady(Vec<String>),
    #[error("target: {0}")]
    Target(String),
    #[error("catalog export under the snapshot: {0}")]
    Catalog(String),
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("spool \"{}\" already holds a started stream (state.json); pglcr init starts new pipelines only: use an empty spool directory", .0.display())]
    SpoolInUse(PathBuf),
    #[error("{what} \"{}\": {source}", .path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{program} failed: {message}")]
    Program { program: String, message: String },
}

impl From<CatalogError> for InitError {
    fn from(e: CatalogError) -> Self {
        InitError::Catalog(e.to_string())
    }
}

#[derive(Clone, Debug)]
pub struct Request {
    pub source: ConnParams,
    pub spool: PathBuf,
    pub target: Option<ConnParams>,
    /// Tables to copy (`name` or `schema.name`, as `to_regclass` reads them); all ordinary
    /// tables of the database when empty.
    pub tables: Vec<String>,
    pub copy: CopyMode,
    pub jobs: usize,
    /// Replication origin (or progress row) name on the target; default as `pglcr apply`.
    pub origin: Option<String>,
    pub progress: Option<ProgressMode>,
    /// Directory of pg_dump and psql (default: the server's major version under
    /// /usr/lib/postgresql, else the PATH).
    pub pg_bindir: Option<PathBuf>,
}

/// Something the operator should know, reported as it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    Warning(String),
    Step(String),
}

/// Live counters of the data copy, for a progress display.
#[derive(Debug, Default)]
pub struct CopyProgress {
    pub tables_total: AtomicU64,
    pub tables_done: AtomicU64,
    /// Estimated bytes to copy (the tables' sizes on disk).
    pub bytes_total: AtomicU64,
    pub bytes: AtomicU64,
    pub rows: AtomicU64,
}

#[derive(Debug, Default)]
pub struct Summary {
    pub system_identifier: String,
    pub timeline: u32,
    pub database: String,
    pub consistent_point: Lsn,
    pub restart_lsn: Lsn,
    pub snapshot: String,
    pub origin: Option<String>,
    pub progress_mode: Option<ProgressMode>,
    pub tables: u64,
    pub rows: u64,
    pub bytes: u64,
    pub sequences: u64,
    pub schema_copied: bool,
    pub restarted: bool,
    pub seconds: f64,
}

fn source_err(target: &Target) -> impl Fn(postgres::Error) -> InitError + '_ {
    move |e| InitError::Source(format!("{target}: {}", pgconn::error_text(&e)))
}

/// What the source must offer, checked before anything is created. Errors are collected so
/// that one run names every problem; archiving problems are warnings (WAL may reach the
/// decoder another way, e.g. copied from pg_wal).
pub fn check_source(
    client: &mut Client,
    target: &Target,
    notify: &mut dyn FnMut(Notice),
) -> Result<(), InitError> {
    let err = source_err(target);
    let row = client
        .query_one(
            "SELECT current_setting('wal_level'), \
                    current_setting('max_replication_slots')::int, \
                    (SELECT count(*)::int FROM pg_replication_slots), \
                    current_setting('max_wal_senders')::int, \
                    (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'walsender'), \
                    (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user), \
                    current_user::text, \
                    current_setting('archive_mode'), \
                    current_setting('archive_command'), \
                    coalesce(current_setting('archive_library', true), ''), \
                    pg_is_in_recovery()",
            &[],
        )
        .map_err(&err)?;
    let wal_level: String = row.get(0);
    let (max_slots, slots): (i32, i32) = (row.get(1), row.get(2));
    let (max_senders, senders): (i32, i32) = (row.get(3), row.get(4));
    let may_replicate: bool = row.get(5);
    let user: String = row.get(6);
    let archive_mode: String = row.get(7);
    let archive_command: String = row.get(8);
    let archive_library: String = row.get(9);
    let in_recovery: bool = row.get(10);
    let mut problems = Vec::new();
    if wal_level != "logical" {
        problems.push(format!(
            "wal_level is \"{wal_level}\": logical decoding needs wal_level = logical \
             (ALTER SYSTEM SET wal_level = logical, then restart the server)"
        ));
    }
    if in_recovery {
        problems.push(
            "the server is a standby: pglcr init needs the primary (a slot created on a standby \
             cannot export a snapshot)"
                .to_string(),
        );
    }
    if slots >= max_slots {
        problems.push(format!(
            "no free replication slot: {slots} of max_replication_slots = {max_slots} are in \
             use (raise max_replication_slots and restart, or drop an unused slot)"
        ));
    }
    if senders >= max_senders {
        problems.push(format!(
            "no free WAL sender: {senders} of max_wal_senders = {max_senders} are in use \
             (raise max_wal_senders and restart)"
        ));
    }
    if !may_replicate {
        problems.push(format!(
            "role \"{user}\" may not replicate: ALTER ROLE \"{user}\" REPLICATION (and allow \
             it in pg_hba.conf for database connections)"
        ));
    }
    if !problems.is_empty() {
        return Err(InitError::SourceNotReady(problems));
    }
    if archive_mode == "off" {
        notify(Notice::Warning(
            "archive_mode is off: decoding reads archived WAL, so set archive_mode = on and \
             archive_command = 'pglcr archive %p %f --to /path/to/wal-archive' (restart needed), \
             or make sure the WAL from the consistent point on reaches the decoder another way"
                .to_string(),
        ));
    } else if archive_command.trim().is_empty() && archive_library.is_empty() {
        notify(Notice::Warning(
            "archive_command is empty: WAL is kept but not archived; set archive_command = \
             'pglcr archive %p %f --to /path/to/wal-archive' and reload"
                .to_string(),
        ));
    }
    Ok(())
}

/// The catalog as of the snapshot, its `taken_at_lsn` set to the consistent point (the
/// snapshot is the database as of that point).
fn export_catalog(
    client: &mut Client,
    target: &Target,
    snapshot: &str,
    consistent_point: Lsn,
) -> Result<String, InitError> {
    let export =
        catalog::export::export_with_snapshot(client, target, snapshot).map_err(|e| match e {
            ExportError::Connect(c) => InitError::Connect(c),
            other => InitError::Catalog(other.to_string()),
        })?;
    let mut value: serde_json::Value =
        serde_json::from_str(&export.json).map_err(|e| InitError::Catalog(e.to_string()))?;
    value["taken_at_lsn"] = serde_json::Value::String(consistent_point.to_string());
    let mut text = serde_json::to_string_pretty(&value).expect("JSON value serializes");
    text.push('\n');
    Ok(text)
}

/// Removes what an interrupted init left in the spool: its catalog, state and any LCR file.
fn reset_spool(dir: &Path) -> Result<(), InitError> {
    let io = |source| InitError::Io {
        what: "could not reset spool",
        path: dir.to_path_buf(),
        source,
    };
    for (_, path) in crate::lcr::list_dir(dir).map_err(io)? {
        std::fs::remove_file(&path).map_err(io)?;
    }
    crate::ship::checksum::remove_orphans(dir).map_err(io)?;
    for name in [spool::STATE_FILE, spool::CATALOG_FILE] {
        match std::fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
    }
    crate::durable::sync_dir(dir).map_err(io)
}

/// The last step: the spool becomes ready for decoding.
fn finish_spool(dir: &Path, pending: &Path) -> Result<(), InitError> {
    std::fs::remove_file(pending).map_err(|source| InitError::Io {
        what: "could not remove",
        path: pending.to_path_buf(),
        source,
    })?;
    crate::durable::sync_dir(dir).map_err(|source| InitError::Io {
        what: "could not sync",
        path: dir.to_path_buf(),
        source,
    })
}

fn lsn(s: &str, what: &str) -> Result<Lsn, InitError> {
    s.parse()
        .map_err(|_| InitError::Usage(format!("the server returned {what} \"{s}\", not an LSN")))
}

/// Runs `pglcr init`. `notify` hears warnings and steps; `progress` follows the data copy.
pub fn run(
    req: &Request,
    progress: &CopyProgress,
    notify: &mut dyn FnMut(Notice),
) -> Result<Summary, InitError> {
    let started = Instant::now();
    if req.jobs == 0 {
        return Err(InitError::Usage("--jobs must be at least 1".into()));
    }
    if req.target.is_none() && (req.copy != CopyMode::default() || !req.tables.is_empty()) {
        return Err(InitError::Usage(
            "--tables, --schema-only and --data-only need --target".into(),
        ));
    }
    std::fs::create_dir_all(&req.spool).map_err(|source| InitError::Io {
        what: "could not create spool",
        path: req.spool.clone(),
        source,
    })?;
    // Held to the end: a decode run from cron cannot start on a half-made spool.
    let _lock = spool::lock(&req.spool)?;
    let pending = req.spool.join(spool::INIT_PENDING_FILE);
    let pending_point = match std::fs::read_to_string(&pending) {
        Ok(text) => Some(text.trim().parse::<Lsn>().map_err(|_| {
            InitError::Usage(format!(
                "\"{}\" does not hold an LSN; remove the spool directory's contents and rerun",
                pending.display()
            ))
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(InitError::Io {
                what: "could not read",
                path: pending.clone(),
                source,
            })
        }
    };
    if pending_point.is_none() && req.spool.join(spool::STATE_FILE).exists() {
        return Err(InitError::SpoolInUse(req.spool.clone()));
    }

    let (mut client, src_target) = req.source.connect()?;
    check_source(&mut client, &src_target, notify)?;
    let mut target = match &req.target {
        Some(params) => Some(target::Target::connect(params)?),
        None => None,
    };
    let mut repl = ReplicationConn::connect(&req.source)?;
    let identity = repl.identify_system()?;
    let database_oid: u32 = client
        .query_one(
            "SELECT oid FROM pg_database WHERE datname = current_database()",
            &[],
        )
        .map_err(source_err(&src_target))?
        .get(0);
    let origin = req
        .origin
        .clone()
        .unwrap_or_else(|| format!("pglcr_{}_{database_oid}", identity.system_identifier));

    if let Some(point) = pending_point {
        // Killed after the target was finished but before the spool was: only the spool's
        // pending mark is left to remove.
        let state_at_point = spool::State::load(&req.spool)
            .ok()
            .flatten()
            .is_some_and(|s| s.start_lsn == point.to_string());
        let target_done = match target.as_mut() {
            Some(t) => t.finished_at(&origin)? == Some(point),
            None => true,
        };
        if state_at_point && target_done {
            notify(Notice::Step(
                "an earlier pglcr init of this spool ended all but its last step: completing it"
                    .into(),
            ));
            finish_spool(&req.spool, &pending)?;
            repl.close();
            return Ok(Summary {
                system_identifier: identity.system_identifier,
                timeline: identity.timeline,
                consistent_point: point,
                origin: req.target.as_ref().map(|_| origin),
                restarted: true,
                seconds: started.elapsed().as_secs_f64(),
                ..Default::default()
            });
        }
        notify(Notice::Step(
            "an earlier pglcr init of this spool was interrupted: starting over".into(),
        ));
        reset_spool(&req.spool)?;
    }

    let slot_name = format!("pglcr_init_{}", std::process::id());
    notify(Notice::Step(format!(
        "creating temporary logical slot {slot_name} (waits for transactions running now to end)"
    )));
    let slot = repl.create_exported_slot(&slot_name)?;
    let consistent_point = lsn(&slot.consistent_point, "consistent point")?;
    let err = source_err(&src_target);
    let restart: String = client
        .query_one(
            "SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot.slot_name],
        )
        .map_err(&err)?
        .get(0);
    let restart_lsn = lsn(&restart, "restart_lsn")?;
    let seg_size: i64 = client
        .query_one(
            "SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'",
            &[],
        )
        .map_err(&err)?
        .get(0);
    notify(Notice::Step(format!(
        "consistent point {consistent_point}, snapshot {}, WAL needed from {restart_lsn}",
        slot.snapshot_name
    )));
    let catalog_json = export_catalog(
        &mut client,
        &src_target,
        &slot.snapshot_name,
        consistent_point,
    )?;
    let catalog = catalog::Catalog::from_json(&catalog_json, Path::new("(server output)"))?;
    let mut summary = Summary {
        system_identifier: identity.system_identifier.clone(),
        timeline: identity.timeline,
        database: catalog.file.database.name.clone(),
        consistent_point,
        restart_lsn,
        snapshot: slot.snapshot_name.clone(),
        restarted: pending_point.is_some(),
        ..Default::default()
    };
    if let Some(t) = target.as_mut() {
        let job = target::Job {
            source: &req.source,
            source_target: &src_target,
            snapshot: &slot.snapshot_name,
            server_version_num: repl.server_version_num,
            spool: &req.spool,
            tables: &req.tables,
            copy: req.copy,
            jobs: req.jobs,
            origin: &origin,
            system_identifier: &identity.system_identifier,
            consistent_point,
            pg_bindir: req.pg_bindir.as_deref(),
        };
        let copied = t.seed(&job, progress, notify)?;
        summary.tables = copied.tables;
        summary.rows = copied.rows;
        summary.bytes = copied.bytes;
        summary.sequences = copied.sequences;
        summary.schema_copied = copied.schema_copied;
        summary.restarted |= copied.restarted;
    }

    // The spool is written while both markers stand, so that a kill from here on is still
    // seen as an unfinished init by the rerun.
    crate::durable::write_file(&pending, consistent_point.to_string().as_bytes()).map_err(
        |source| InitError::Io {
            what: "could not write",
            path: pending.clone(),
            source,
        },
    )?;
    spool::initialize(
        &req.spool,
        &catalog_json,
        &spool::Start {
            consistent_point,
            restart_lsn,
            timeline: identity.timeline,
            wal_segment_size: seg_size as u64,
        },
    )?;
    if let Some(t) = target.as_mut() {
        let mode = t.finish(&origin, req.progress, consistent_point)?;
        summary.origin = Some(origin);
        summary.progress_mode = Some(mode);
    }
    finish_spool(&req.spool, &pending)?;
    // The slot existed only to export the snapshot; closing the connection drops it.
    repl.close();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
