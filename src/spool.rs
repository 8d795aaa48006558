//! `pglcr decode --spool`: incremental decoding into LCR files, run after run (from cron).
//!
//! A spool directory holds the LCR files, the catalog, and `state.json`: where the stream
//! stands, as a logical replication slot keeps it (`resume_lsn`, the position up to which
//! every event is in a published file, and `restart_lsn`, the first record of the oldest
//! transaction still open there). Each run reads the WAL from `restart_lsn` to the end of what
//! has arrived, re-decodes the open transactions and writes what follows `resume_lsn`.
//! Nothing else of the decoder is kept, so a run killed at any point leaves a state from which
//! the next run writes exactly the same files.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::catalog::follow::{CommittedRows, Follower};
use crate::catalog::{Catalog, CatalogError, CatalogFile, Versions};
use crate::decode::{pump, warm_up, DecodeError};
use crate::lcr::writer::{Position, Published, Settings, Writer};
use crate::lcr::{self, LcrFile, LcrName};
use crate::logical::{Decoder, DecoderOptions, Resume};
use crate::output::driver::Driver;
use crate::output::{Resolver, Sink, UnknownRelations};
use crate::tuple::types::OutputContext;
use crate::wal::lsn::{segment_file_name, Lsn};
use crate::wal::reader::{EndOfWal, ReadError, Reader};
use crate::wal::segment::WalDir;

pub const STATE_FILE: &str = "state.json";
pub const CATALOG_FILE: &str = "catalog.json";
/// The catalog carried from run to run: `catalog-RESTART-KNOWN.json` (see [`CarriedCatalog`]).
const CARRIED_PREFIX: &str = "catalog-";
const CARRIED_FORMAT: &str = "pglcr-spool-catalog";
pub const LOCK_FILE: &str = "lock";
/// Present while `pglcr init` prepares the spool and its target: decoding waits for it to go.
pub const INIT_PENDING_FILE: &str = "init-pending";
const STATE_FORMAT: &str = "pglcr-spool";

/// Largest and default LCR file size.
pub const MAX_LCR_SIZE: u64 = 1 << 30;
pub const DEFAULT_LCR_SIZE: u64 = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("{0}")]
    Usage(String),
    #[error("spool \"{}\" is in use by another pglcr process (lock file \"{}\")", .spool.display(), .spool.join(LOCK_FILE).display())]
    Locked { spool: PathBuf },
    #[error("{what} \"{}\": {source}", .path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("spool state \"{}\" is invalid: {reason}", .path.display())]
    BadState { path: PathBuf, reason: String },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("requested WAL segment {name} has already been removed: the spool needs WAL from {lsn} on, and {dir} holds only later segments", dir = .dir.display())]
    SegmentRemoved {
        name: String,
        lsn: Lsn,
        dir: PathBuf,
    },
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Lcr(#[from] crate::lcr::LcrError),
    #[error(transparent)]
    Write(#[from] crate::lcr::writer::WriteError),
    #[error("the WAL in {} is from database system {wal}, the spool from {spool}", .dir.display())]
    OtherSystem { dir: PathBuf, wal: u64, spool: u64 },
    #[error("spool \"{}\" is not ready: pglcr init has not finished preparing it (\"{}\" exists); rerun pglcr init to complete it", .spool.display(), .spool.join(INIT_PENDING_FILE).display())]
    InitPending { spool: PathBuf },
}

/// The durable state of a spool (`state.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    pub format: String,
    pub format_version: u32,
    pub system_identifier: String,
    pub timeline: u32,
    pub database_oid: u32,
    pub database_name: String,
    pub server_version_num: u32,
    pub wal_segment_size: u64,
    pub max_lcr_size: u64,
    /// Where the spool's stream began (a consistent point).
    pub start_lsn: String,
    /// The start rule of the first run: transactions below this xid began before the
    /// consistent point and are never written.
    pub skip_xids_below: Option<u32>,
    pub resume_lsn: String,
    pub resume_skip: u64,
    pub restart_lsn: String,
    /// The end LSN of the newest COMMIT written, which the next file's header carries.
    pub commit_end: String,
    /// The last LCR file written, which numbers the next one.
    pub last_file: Option<String>,
    /// The catalog file carried forward by the last run (in the spool); `None` before the
    /// first run saved one: catalog.json then is the catalog.
    #[serde(default)]
    pub catalog: Option<String>,
    /// The checkpoint redo point from which the next run reads the catalog pages back, when
    /// before `restart_lsn`: WAL is needed from the older of the two.
    #[serde(default)]
    pub catalog_redo_lsn: Option<String>,
}

impl State {
    fn position(&self, path: &Path) -> Result<Position, SpoolError> {
        let lsn = |s: &str| {
            s.parse::<Lsn>().map_err(|_| SpoolError::BadState {
                path: path.to_path_buf(),
                reason: format!("\"{s}\" is not an LSN"),
            })
        };
        Ok(Position {
            resume_lsn: lsn(&self.resume_lsn)?,
            resume_skip: self.resume_skip,
            restart_lsn: lsn(&self.restart_lsn)?,
            commit_end: lsn(&self.commit_end)?,
        })
    }

    /// The oldest WAL the next run reads: from `restart_lsn`, or from the catalog's checkpoint
    /// redo point before it, where the catalog pages changed since are first seen whole.
    pub fn wal_need(&self, spool: &Path) -> Result<Lsn, SpoolError> {
        let path = spool.join(STATE_FILE);
        let lsn = |s: &str| {
            s.parse::<Lsn>().map_err(|_| SpoolError::BadState {
                path: path.clone(),
                reason: format!("\"{s}\" is not an LSN"),
            })
        };
        let restart = lsn(&self.restart_lsn)?;
        Ok(match &self.catalog_redo_lsn {
            Some(redo) => restart.min(lsn(redo)?),
            None => restart,
        })
    }

    fn set_position(&mut self, pos: Position) {
        self.resume_lsn = pos.resume_lsn.to_string();
        self.resume_skip = pos.resume_skip;
        self.restart_lsn = pos.restart_lsn.to_string();
        self.commit_end = pos.commit_end.to_string();
    }

    pub fn load(spool: &Path) -> Result<Option<State>, SpoolError> {
        let path = spool.join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(SpoolError::Io {
                    what: "could not read spool state",
                    path,
                    source,
                })
            }
        };
        let state: State = serde_json::from_str(&text).map_err(|e| SpoolError::BadState {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if state.format != STATE_FORMAT || state.format_version != 1 {
            return Err(SpoolError::BadState {
                path,
                reason: format!(
                    "format {} version {} (expected {STATE_FORMAT} version 1)",
                    state.format, state.format_version
                ),
            });
        }
        Ok(Some(state))
    }

    fn save(&self, spool: &Path) -> Result<(), SpoolError> {
        let path = spool.join(STATE_FILE);
        let mut text = serde_json::to_string_pretty(self).expect("state serializes");
        text.push('\n');
        crate::durable::write_file(&path, text.as_bytes()).map_err(|source| SpoolError::Io {
            what: "could not write spool state",
            path,
            source,
        })
    }
}

/// The catalog a run leaves for the next one (a `catalog-RESTART-KNOWN.json` file): the
/// dictionary as of `restart_lsn`, where the next run starts reading, and the catalog
/// transactions committed after it that the WAL from there no longer holds whole (one that
/// began before `restart_lsn`) or that are known already, up to `known_until`.
#[derive(Serialize, Deserialize)]
struct CarriedCatalog {
    format: String,
    format_version: u32,
    restart_lsn: String,
    known_until: String,
    commits: Vec<CommittedRows>,
    catalog: CatalogFile,
}

/// The catalog a run starts from.
struct StartCatalog {
    base: Catalog,
    commits: Vec<CommittedRows>,
    /// Commits before this are in `base` and `commits`.
    known_until: Lsn,
    /// Reading from here makes it complete.
    restart: Lsn,
}

fn carried_name(restart: Lsn, known_until: Lsn) -> String {
    format!(
        "{CARRIED_PREFIX}{:016X}-{:016X}.json",
        restart.0, known_until.0
    )
}

/// The catalog the state names, or the spool's first catalog (before any run saved one:
/// the state's `restart_lsn` is then where the stream begins).
fn load_catalog(spool: &Path, state: &State) -> Result<StartCatalog, SpoolError> {
    let Some(name) = &state.catalog else {
        let base = Catalog::load(&spool.join(CATALOG_FILE))?;
        let restart = state.position(&spool.join(STATE_FILE))?.restart_lsn;
        return Ok(StartCatalog {
            known_until: base.taken_at,
            base,
            commits: Vec::new(),
            restart,
        });
    };
    let path = spool.join(name);
    let text = std::fs::read_to_string(&path).map_err(|source| SpoolError::Io {
        what: "could not read catalog",
        path: path.clone(),
        source,
    })?;
    let bad = |reason: String| SpoolError::BadState {
        path: path.clone(),
        reason,
    };
    let carried: CarriedCatalog = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if carried.format != CARRIED_FORMAT || carried.format_version != 1 {
        return Err(bad(format!(
            "format {} version {} (expected {CARRIED_FORMAT} version 1)",
            carried.format, carried.format_version
        )));
    }
    let lsn = |s: &str| {
        s.parse::<Lsn>()
            .map_err(|_| bad(format!("\"{s}\" is not an LSN")))
    };
    Ok(StartCatalog {
        restart: lsn(&carried.restart_lsn)?,
        known_until: lsn(&carried.known_until)?,
        base: Catalog::new(carried.catalog)?,
        commits: carried.commits,
    })
}

/// Saves the catalog for the next run, unless the state names it already, and names it in
/// the state (which the caller saves next).
fn save_catalog(
    spool: &Path,
    state: &mut State,
    follower: &Follower,
    restart: Lsn,
    known_until: Lsn,
) -> Result<(), SpoolError> {
    let name = carried_name(restart, known_until);
    if state.catalog.as_deref() == Some(name.as_str()) {
        return Ok(());
    }
    let Some((catalog, commits)) = follower.carry(restart).map_err(DecodeError::from)? else {
        return Ok(());
    };
    let redo = catalog.checkpoint_redo_lsn.clone();
    let carried = CarriedCatalog {
        format: CARRIED_FORMAT.into(),
        format_version: 1,
        restart_lsn: restart.to_string(),
        known_until: known_until.to_string(),
        commits,
        catalog,
    };
    let path = spool.join(&name);
    // Through a JSON value, whose objects keep their keys sorted (the catalog's settings are a
    // hash map): a rerun writes the same bytes.
    let value = serde_json::to_value(&carried).expect("catalog serializes");
    let text = serde_json::to_vec(&value).expect("JSON value serializes");
    crate::durable::write_file(&path, &text).map_err(|source| SpoolError::Io {
        what: "could not write catalog",
        path,
        source,
    })?;
    state.catalog = Some(name);
    state.catalog_redo_lsn = redo;
    Ok(())
}

/// Removes carried catalogs other than `keep`: those of earlier runs, or one a run wrote
/// before it died without saving the state that would have named it.
fn remove_other_catalogs(spool: &Path, keep: Option<&str>) -> Result<(), SpoolError> {
    let io = |source| SpoolError::Io {
        what: "could not clean up spool",
        path: spool.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(spool).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(CARRIED_PREFIX) && name.ends_with(".json") && Some(&*name) != keep {
            std::fs::remove_file(entry.path()).map_err(io)?;
        }
    }
    Ok(())
}

/// The oldest WAL a spool needs before its first run, from its catalog: where the catalog was
/// taken, or its checkpoint redo point before that.
pub fn catalog_wal_need(catalog: &Catalog) -> Lsn {
    Follower::warm_up_from(catalog).map_or(catalog.taken_at, |r| r.min(catalog.taken_at))
}

#[derive(Clone, Debug)]
pub struct Request {
    pub spool: PathBuf,
    pub wal_dir: PathBuf,
    /// Needed on the first run: copied into the spool.
    pub catalog: Option<PathBuf>,
    /// First run only: the consistent point to start at (default: the catalog's LSN).
    pub start: Option<Lsn>,
    /// Stop reading here (default: wherever the available WAL ends). The files are finished
    /// there: a later run continues in new files.
    pub end: Option<Lsn>,
    /// `None` keeps the spool's setting (64 MiB on a new spool).
    pub max_lcr_size: Option<u64>,
    pub max_memory: usize,
    pub unknown_relations: UnknownRelations,
}

/// What one run did.
#[derive(Debug, Default)]
pub struct Summary {
    pub read_from: Lsn,
    pub read_to: Lsn,
    pub segments: u64,
    pub files: Vec<Published>,
    pub transactions: u64,
    pub changes: u64,
    pub lcr_bytes: u64,
    pub seconds: f64,
    pub end: Option<EndOfWal>,
    /// Where the spool stands after the run.
    pub state: Option<State>,
}

/// The spool's lock, held for the lifetime of a run by every command that changes the spool
/// (decode, retain); released when dropped.
pub struct SpoolLock(#[allow(dead_code)] File);

/// Takes the spool's lock without waiting: another process holding it is `SpoolError::Locked`.
pub fn lock(spool: &Path) -> Result<SpoolLock, SpoolError> {
    let path = spool.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| SpoolError::Io {
            what: "could not open lock file",
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(SpoolLock(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(SpoolError::Locked {
            spool: spool.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(SpoolError::Io {
            what: "could not lock",
            path,
            source,
        }),
    }
}

/// Removes what an interrupted run left: temporary LCR files and spill files.
fn clean_leftovers(spool: &Path) -> Result<(), SpoolError> {
    let io = |source| SpoolError::Io {
        what: "could not clean up spool",
        path: spool.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(spool).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".tmp") {
            std::fs::remove_file(entry.path()).map_err(io)?;
        }
    }
    let spill = spool.join("spill");
    if spill.exists() {
        std::fs::remove_dir_all(&spill).map_err(io)?;
    }
    Ok(())
}

/// The state for a new spool, from the catalog and the WAL at `start`.
fn new_state(req: &Request, catalog: &Catalog, start: Lsn) -> Result<State, SpoolError> {
    let tli = catalog.file.timeline;
    let wal = WalDir::new(&req.wal_dir);
    let info = wal
        .detect_segment_size(tli, start.0)
        .map_err(|e| SpoolError::Usage(e.to_string()))?;
    let Some((seg_size, info)) = info else {
        return Err(SpoolError::Usage(format!(
            "could not find the WAL segment holding the start position {start} (timeline {tli}) in \"{}\"",
            req.wal_dir.display()
        )));
    };
    if catalog.file.system_identifier != info.sysid.to_string() {
        return Err(SpoolError::Usage(format!(
            "the catalog is from database system {}, the WAL in \"{}\" from {}",
            catalog.file.system_identifier,
            req.wal_dir.display(),
            info.sysid
        )));
    }
    // The start rule of a slot created at `start`: when the record there is a RUNNING_XACTS
    // record (as at a consistent point), transactions below its next xid began earlier.
    let sysid = info.sysid;
    let mut reader = Reader::with_info(wal, tli, info, seg_size);
    reader.find_first_record(start).map_err(DecodeError::from)?;
    let skip_xids_below = match reader.next_record().map_err(DecodeError::from)? {
        Some(rec) => crate::logical::start_rule(&rec).map_err(DecodeError::from)?,
        None => None,
    };
    Ok(State {
        format: STATE_FORMAT.into(),
        format_version: 1,
        system_identifier: sysid.to_string(),
        timeline: tli,
        database_oid: catalog.database_oid(),
        database_name: catalog.file.database.name.clone(),
        server_version_num: catalog.file.server_version_num,
        wal_segment_size: seg_size,
        max_lcr_size: req.max_lcr_size.unwrap_or(DEFAULT_LCR_SIZE),
        start_lsn: start.to_string(),
        skip_xids_below,
        resume_lsn: start.to_string(),
        resume_skip: 0,
        restart_lsn: start.to_string(),
        commit_end: Lsn(0).to_string(),
        last_file: None,
        catalog: None,
        catalog_redo_lsn: catalog.file.checkpoint_redo_lsn.clone(),
    })
}

/// Where a stream begins, as a logical slot created by `pglcr init` reported it.
#[derive(Clone, Debug)]
pub struct Start {
    /// The slot's consistent point: transactions committing at or after it are decoded.
    pub consistent_point: Lsn,
    /// The slot's `restart_lsn`: WAL from here holds every change of those transactions.
    pub restart_lsn: Lsn,
    pub timeline: u32,
    pub wal_segment_size: u64,
}

/// Writes a new spool's catalog and state without reading WAL (which may not be archived
/// yet). The caller holds the spool's lock.
///
/// No start rule is needed: a slot becomes consistent only once every transaction running
/// when it began reading (at `restart_lsn`) has ended, so every transaction that commits after
/// the consistent point wrote all its changes after `restart_lsn`; the commit-LSN rule alone
/// chooses exactly what the exported snapshot does not show.
pub fn initialize(spool: &Path, catalog_json: &str, start: &Start) -> Result<State, SpoolError> {
    let catalog_path = spool.join(CATALOG_FILE);
    let catalog = Catalog::from_json(catalog_json, &catalog_path)?;
    crate::durable::write_file(&catalog_path, catalog_json.as_bytes()).map_err(|source| {
        SpoolError::Io {
            what: "could not write catalog",
            path: catalog_path.clone(),
            source,
        }
    })?;
    let state = State {
        format: STATE_FORMAT.into(),
        format_version: 1,
        system_identifier: catalog.file.system_identifier.clone(),
        timeline: start.timeline,
        database_oid: catalog.database_oid(),
        database_name: catalog.file.database.name.clone(),
        server_version_num: catalog.file.server_version_num,
        wal_segment_size: start.wal_segment_size,
        max_lcr_size: DEFAULT_LCR_SIZE,
        start_lsn: start.consistent_point.to_string(),
        skip_xids_below: None,
        resume_lsn: start.consistent_point.to_string(),
        resume_skip: 0,
        restart_lsn: start.restart_lsn.to_string(),
        commit_end: Lsn(0).to_string(),
        last_file: None,
        catalog: None,
        catalog_redo_lsn: catalog.file.checkpoint_redo_lsn.clone(),
    };
    state.save(spool)?;
    Ok(state)
}

/// Brings the state up to the newest LCR file, should a run have died between publishing a
/// file and saving the state.
fn reconcile(spool: &Path, state: &mut State) -> Result<(), SpoolError> {
    let files = lcr::list_dir(spool).map_err(|source| SpoolError::Io {
        what: "could not list spool",
        path: spool.to_path_buf(),
        source,
    })?;
    let Some((newest, path)) = files.last() else {
        return Ok(());
    };
    let known = state.last_file.as_deref().and_then(LcrName::parse);
    if known.is_some_and(|k| k >= *newest) {
        return Ok(());
    }
    let file = LcrFile::open(path)?;
    let t = &file.trailer;
    state.set_position(Position {
        resume_lsn: t.resume_lsn,
        resume_skip: t.resume_skip,
        restart_lsn: t.restart_lsn,
        commit_end: t.commit_end,
    });
    state.last_file = Some(newest.to_string());
    Ok(())
}

/// One incremental run. `progress`, when given, follows the reading position.
/// The summary of a run that found nothing to read after `restart`.
fn nothing_to_do(restart: Lsn, started: Instant, state: State) -> Summary {
    Summary {
        read_from: restart,
        read_to: restart,
        seconds: started.elapsed().as_secs_f64(),
        state: Some(state),
        ..Default::default()
    }
}

pub fn run(req: &Request, progress: Option<&AtomicU64>) -> Result<Summary, SpoolError> {
    let started = Instant::now();
    if let Some(size) = req.max_lcr_size {
        if !(64 * 1024..=MAX_LCR_SIZE).contains(&size) {
            return Err(SpoolError::Usage(format!(
                "--max-lcr-size must be between 64kB and 1GB, not {size} bytes"
            )));
        }
    }
    std::fs::create_dir_all(&req.spool).map_err(|source| SpoolError::Io {
        what: "could not create spool",
        path: req.spool.clone(),
        source,
    })?;
    let _lock = lock(&req.spool)?;
    if req.spool.join(INIT_PENDING_FILE).exists() {
        return Err(SpoolError::InitPending {
            spool: req.spool.clone(),
        });
    }
    clean_leftovers(&req.spool)?;
    let mut state = match State::load(&req.spool)? {
        Some(s) => {
            // The same command line may run every time (from cron): a --start that matches
            // the spool's is accepted, and --catalog is only read on the first run.
            if let Some(start) = req.start.filter(|l| l.to_string() != s.start_lsn) {
                return Err(SpoolError::Usage(format!(
                    "spool \"{}\" started at {}, not {start}; use a new spool to start elsewhere",
                    req.spool.display(),
                    s.start_lsn
                )));
            }
            s
        }
        None => {
            let Some(src) = &req.catalog else {
                return Err(SpoolError::Usage(format!(
                    "spool \"{}\" is new: give --catalog (and --start, a consistent point, unless the catalog's LSN is one)",
                    req.spool.display()
                )));
            };
            let text = std::fs::read(src).map_err(|source| SpoolError::Io {
                what: "could not read catalog",
                path: src.clone(),
                source,
            })?;
            let catalog = Catalog::load(src)?;
            let start = req.start.unwrap_or(catalog.taken_at);
            let state = new_state(req, &catalog, start)?;
            let catalog_path = req.spool.join(CATALOG_FILE);
            crate::durable::write_file(&catalog_path, &text).map_err(|source| SpoolError::Io {
                what: "could not write catalog",
                path: catalog_path.clone(),
                source,
            })?;
            // Saved before any file is written: every later run, this one's rerun included,
            // resumes from a state.
            state.save(&req.spool)?;
            state
        }
    };
    if let Some(size) = req.max_lcr_size {
        state.max_lcr_size = size;
    }
    remove_other_catalogs(&req.spool, state.catalog.as_deref())?;
    // Loaded before the state catches up with files a killed run published: the catalog
    // stays where the state was saved with it, and reading starts early enough for it.
    let start_catalog = load_catalog(&req.spool, &state)?;
    reconcile(&req.spool, &mut state)?;
    let state_path = req.spool.join(STATE_FILE);
    let pos = state.position(&state_path)?;
    let sysid: u64 = state
        .system_identifier
        .parse()
        .map_err(|_| SpoolError::BadState {
            path: state_path.clone(),
            reason: "system_identifier is not a number".into(),
        })?;

    let wal = WalDir::new(&req.wal_dir);
    let tli = state.timeline;
    let seg_size = state.wal_segment_size;
    let restart = pos.restart_lsn.min(start_catalog.restart);
    let info = wal
        .detect_segment_size(tli, restart.0)
        .map_err(|e| SpoolError::Usage(e.to_string()))?;
    let Some((found_size, info)) = info else {
        let segno = restart.0 / seg_size;
        if wal.has_segment_after(tli, segno, seg_size) {
            return Err(SpoolError::SegmentRemoved {
                name: segment_file_name(tli, segno, seg_size),
                lsn: restart,
                dir: req.wal_dir.clone(),
            });
        }
        // The WAL the spool needs next has not arrived yet.
        return Ok(nothing_to_do(restart, started, state));
    };
    if info.sysid != sysid {
        return Err(SpoolError::OtherSystem {
            dir: req.wal_dir.clone(),
            wal: info.sysid,
            spool: sysid,
        });
    }
    if found_size != seg_size {
        return Err(SpoolError::Usage(format!(
            "the WAL in \"{}\" has {found_size}-byte segments, the spool {seg_size}-byte ones",
            req.wal_dir.display()
        )));
    }

    let StartCatalog {
        base: catalog,
        commits,
        known_until,
        ..
    } = start_catalog;
    let ctx = OutputContext::from_catalog(&catalog).map_err(DecodeError::Settings)?;
    // Catalog versions learnt from the WAL's DDL live as long as the files that use them.
    let versions = Versions::new();
    let resolver = Resolver::new(&catalog, req.unknown_relations, ctx).following(&versions);
    let settings = Settings {
        dir: req.spool.clone(),
        max_size: state.max_lcr_size,
        system_identifier: sysid,
        timeline: tli,
        database_oid: state.database_oid,
        database_name: state.database_name.clone(),
        server_version_num: state.server_version_num,
        wal_segment_size: seg_size as u32,
    };
    let last_name = state.last_file.as_deref().and_then(LcrName::parse);
    let writer = Writer::new(&catalog, settings, pos, last_name);
    let mut driver = Driver::new(writer, resolver);
    let spill_dir = req.spool.join("spill");
    std::fs::create_dir_all(&spill_dir).map_err(|source| SpoolError::Io {
        what: "could not create spill directory",
        path: spill_dir.clone(),
        source,
    })?;
    let mut decoder = Decoder::new(DecoderOptions {
        database: state.database_oid,
        start: pos.resume_lsn,
        two_phase: false,
        two_phase_skip_gid: None,
        max_memory: req.max_memory,
        spill_dir: Some(spill_dir.clone()),
        resume: Some(Resume {
            skip_xids_below: state.skip_xids_below,
        }),
    });
    let mut follower =
        Follower::resume(&catalog, commits, known_until).map_err(DecodeError::from)?;
    warm_up(
        &mut follower,
        &catalog,
        &req.wal_dir,
        tli,
        seg_size,
        restart,
    )?;
    decoder.follow_catalog(follower);
    let mut reader = Reader::with_info(wal, tli, info, seg_size);
    reader.set_end(req.end);
    match reader.find_first_record(restart) {
        Ok(_) => {}
        // Nothing written after the position yet (or before --end): a run killed after it
        // saved its state, run again, ends here too.
        Err(ReadError::NoRecordAfter(_)) => return Ok(nothing_to_do(restart, started, state)),
        Err(e) => return Err(DecodeError::from(e).into()),
    }
    let mut no_output = std::io::sink();
    let mut sink = Sink::new(&mut no_output);
    let pumped = pump(reader, decoder, &mut driver, &mut sink, progress)?;
    let read_end = match &pumped.end {
        Some(EndOfWal::Zeroed { lsn })
        | Some(EndOfWal::Recycled { lsn, .. })
        | Some(EndOfWal::NoMoreSegments { lsn, .. })
        | Some(EndOfWal::IncompleteRecord { lsn, .. }) => (*lsn).max(pumped.end_rec),
        Some(EndOfWal::EndReached) | None => pumped.end_rec,
    };
    // At an explicit --end the files are finished there: the user wants nothing later.
    let final_end = matches!(pumped.end, Some(EndOfWal::EndReached));
    let (pending_pos, files) = driver.into_plugin().finish(read_end, final_end)?;
    let decoder_restart = pumped.decoder.restart_lsn(read_end);
    let new_pos = pending_pos.unwrap_or(Position {
        resume_lsn: read_end.max(pos.resume_lsn),
        resume_skip: 0,
        restart_lsn: decoder_restart.max(pos.restart_lsn),
        // Nothing pending: every COMMIT written is in a file published.
        commit_end: files
            .last()
            .map_or(pos.commit_end, |f| f.trailer.commit_end),
    });
    // A stream never moves backwards: with nothing new published, the old position holds.
    let new_pos = if new_pos.resume_lsn < pos.resume_lsn {
        pos
    } else {
        new_pos
    };
    state.set_position(new_pos);
    if let Some(last) = files.last() {
        state.last_file = Some(last.name.to_string());
    }
    // The catalog as of where the next run starts reading, which every transaction still
    // open began at or after. Written before the state that names it: a run killed between
    // the two leaves the previous pair, which the next run uses.
    let follower = pumped
        .decoder
        .follower()
        .expect("the decoder follows the catalog");
    let catalog_restart = new_pos.restart_lsn.min(decoder_restart);
    let known_until = known_until.max(read_end);
    save_catalog(
        &req.spool,
        &mut state,
        follower,
        catalog_restart,
        known_until,
    )?;
    state.save(&req.spool)?;
    remove_other_catalogs(&req.spool, state.catalog.as_deref())?;
    let _ = std::fs::remove_dir_all(&spill_dir);
    Ok(Summary {
        read_from: restart,
        read_to: read_end,
        segments: if read_end > restart {
            (read_end.0 - 1) / seg_size - restart.0 / seg_size + 1
        } else {
            0
        },
        transactions: files.iter().map(|f| f.trailer.transactions).sum(),
        changes: files.iter().map(|f| f.trailer.changes).sum(),
        lcr_bytes: files.iter().map(|f| f.size).sum(),
        files,
        seconds: started.elapsed().as_secs_f64(),
        end: pumped.end,
        state: Some(state),
    })
}
