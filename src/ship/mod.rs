//! `pglcr ship`: sends the complete LCR files of a spool to a destination (a directory, or a
//! directory on another host over SSH), in order, each acknowledged in the spool only once the
//! destination holds it durably under its final name with a verified checksum.
//!
//! A run takes the destination's lock, ships every file after the last acknowledged one
//! (`--jobs` transfers at a time), and after each step of the in-order frontier appends to the
//! destination's manifest and then rewrites the acknowledgement. Killed at any point, the next run
//! finds at worst files at the destination that are not acknowledged yet: the same bytes
//! count as shipped, other bytes stop shipping to that destination with an error naming the
//! file.

pub mod checksum;
pub mod dir;
pub mod manifest;
pub mod ssh;
pub mod state;
pub mod transport;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::lcr::{LcrFile, LcrName};
use manifest::{line as manifest_line, sha256_hex, Entry, Manifest, MANIFEST_FILE};
use state::{DestinationState, StateError};
use transport::{Backoff, Pacer, PutOutcome, Sender, Transport, TransportError};

/// The ssh program used when neither `--ssh-command` nor `PGLCR_SSH` says otherwise.
pub const DEFAULT_SSH: &str = "ssh";

#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("destination \"{name}\" of spool \"{}\" is broken: {reason}", .spool.display())]
    Broken {
        spool: PathBuf,
        name: String,
        reason: String,
    },
    #[error("destination \"{name}\" of this spool ships to \"{was}\", not \"{to}\"; give another --name for a new destination")]
    OtherDestination {
        name: String,
        was: String,
        to: String,
    },
    #[error("could not read spool \"{}\": {source}", .spool.display())]
    Spool {
        spool: PathBuf,
        source: std::io::Error,
    },
    #[error("LCR file {name} has already been removed from spool \"{}\", but destination \"{dest}\" has not acknowledged it", .spool.display())]
    Removed {
        spool: PathBuf,
        name: String,
        dest: String,
    },
    #[error(transparent)]
    Lcr(#[from] crate::lcr::LcrError),
    #[error("{0}")]
    BadChecksumFile(String),
    #[error("LCR file \"{}\" does not match its checksum file \"{}\": SHA-256 {actual}, recorded {recorded}; the file is not shipped", .path.display(), checksum::path_for(.path).display())]
    WrongChecksum {
        path: PathBuf,
        recorded: String,
        actual: String,
    },
    #[error("LCR file {name} at destination \"{dest}\" has different contents (SHA-256 {theirs}) from the spool's (SHA-256 {ours}); shipping to this destination stops here")]
    Conflict {
        name: String,
        dest: String,
        ours: String,
        theirs: String,
    },
    #[error("destination \"{dest}\": {detail}")]
    Transport { dest: String, detail: String },
    #[error("invalid manifest \"{MANIFEST_FILE}\" at destination \"{dest}\": {detail}")]
    BadManifest { dest: String, detail: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Ship what the destination has not acknowledged.
    Ship,
    /// Check the destination against its manifest and the spool; change nothing.
    Verify,
    /// Like `Verify`, then send again every damaged or missing file the spool still has.
    Repair,
}

pub struct Request {
    pub spool: PathBuf,
    /// A directory, or `ssh://[user@]host[:port]/path`.
    pub to: String,
    /// The destination's name in the spool (default: see [`default_name`]).
    pub name: Option<String>,
    pub mode: Mode,
    pub jobs: usize,
    /// Bytes per second over all transfers.
    pub max_rate: Option<u64>,
    /// The ssh program and options, split like a shell would.
    pub ssh_command: String,
    pub backoff: Backoff,
    /// Hears of each transient failure before the wait that precedes a retry.
    pub on_retry: fn(&str, Duration),
}

/// Progress for a display: bytes done out of a total known once the run has listed its files.
#[derive(Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub total: AtomicU64,
}

#[derive(Debug, Default)]
pub struct Summary {
    pub name: String,
    /// Files sent and acknowledged in this run.
    pub files: usize,
    /// Of these, files the destination already held with the same contents.
    pub already_there: usize,
    pub bytes: u64,
    pub elapsed: Duration,
    /// The last acknowledged file after the run.
    pub acked: Option<String>,
    /// Files at the destination with transient errors retried along the way.
    pub retries: u64,
    /// What stopped the run after some files were acknowledged (a partial failure).
    pub failure: Option<ShipError>,
}

#[derive(Debug, Default)]
pub struct VerifyReport {
    pub name: String,
    /// Files checked (manifest entries and acknowledged spool files).
    pub checked: usize,
    /// One line per problem found, naming the file.
    pub problems: Vec<String>,
    /// Files sent again (with `Mode::Repair`).
    pub repaired: Vec<String>,
    /// Problems `Mode::Repair` could not fix (the spool no longer has the file).
    pub unrepairable: Vec<String>,
}

/// The destination name used when `--name` is not given: the host of an ssh:// URL, the last
/// component of a directory, with characters a name cannot hold replaced by `_`.
pub fn default_name(to: &str) -> String {
    let base = match ssh::SshTarget::parse(to) {
        Some(Ok(t)) => t.host,
        _ => Path::new(to)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match name.trim_start_matches('.') {
        "" => "default".to_string(),
        n => n.to_string(),
    }
}

fn transport_for(req: &Request) -> Result<Box<dyn Transport>, ShipError> {
    match ssh::SshTarget::parse(&req.to) {
        Some(target) => {
            let target = target.map_err(ShipError::Usage)?;
            Ok(Box::new(
                ssh::SshTransport::new(target, &req.ssh_command).map_err(ShipError::Usage)?,
            ))
        }
        None if req.to.contains("://") => Err(ShipError::Usage(format!(
            "unsupported destination \"{}\": expected a directory or ssh://[user@]host[:port]/path",
            req.to
        ))),
        None => Ok(Box::new(dir::DirTransport {
            dir: PathBuf::from(&req.to),
        })),
    }
}

/// A complete LCR file of the spool, read and checked, ready to send.
struct Loaded {
    name: String,
    path: PathBuf,
    bytes: Vec<u8>,
    entry: Entry,
    /// The SHA-256 was read from the spool's checksum file, not computed from the bytes.
    recorded: bool,
}

impl Loaded {
    /// The file's bytes once more, to send it again; a failure stops shipping.
    fn read_again(&self) -> Result<Vec<u8>, TransportError> {
        let bytes = std::fs::read(&self.path).map_err(|e| {
            TransportError::Fatal(format!(
                "could not read \"{}\" again to resend it: {e}",
                self.path.display()
            ))
        })?;
        let actual = sha256_hex(&bytes);
        if actual != self.entry.sha256 {
            return Err(TransportError::Fatal(match self.recorded {
                true => self.wrong_checksum(actual).to_string(),
                false => format!(
                    "\"{}\" changed while it was being shipped",
                    self.path.display()
                ),
            }));
        }
        Ok(bytes)
    }

    fn wrong_checksum(&self, actual: String) -> ShipError {
        ShipError::WrongChecksum {
            path: self.path.clone(),
            recorded: self.entry.sha256.clone(),
            actual,
        }
    }

    /// After the destination refused the file: whether its recorded checksum is wrong, so
    /// that the error says so rather than blaming the transfer.
    fn check_recorded(&self) -> Option<ShipError> {
        if !self.recorded {
            return None;
        }
        let actual = sha256_hex(&std::fs::read(&self.path).ok()?);
        (actual != self.entry.sha256).then(|| self.wrong_checksum(actual))
    }
}

/// Reads and checks a spool file. Its SHA-256 comes from its checksum file when there is one
/// and `destination_checks` (the destination hashes what it receives, so a wrong sum is
/// refused there); otherwise it is computed, and must match a recorded one.
fn load(path: &Path, name: &str, destination_checks: bool) -> Result<Loaded, ShipError> {
    let bytes = std::fs::read(path).map_err(|source| crate::lcr::LcrError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // Checks the file's own checksums: a damaged spool file must not travel.
    let file = LcrFile::from_bytes(path, bytes)?;
    let (size, first_lsn, last_lsn) = (file.size(), file.header.first_lsn, file.header.last_lsn);
    let bytes = file.into_bytes();
    let recorded = checksum::recorded(path).map_err(ShipError::BadChecksumFile)?;
    let (sha256, from_record) = match recorded {
        Some(sum) if destination_checks => (sum, true),
        Some(sum) => {
            let actual = sha256_hex(&bytes);
            if actual != sum {
                return Err(ShipError::WrongChecksum {
                    path: path.to_path_buf(),
                    recorded: sum,
                    actual,
                });
            }
            (actual, false)
        }
        None => (sha256_hex(&bytes), false),
    };
    Ok(Loaded {
        name: name.to_string(),
        path: path.to_path_buf(),
        entry: Entry {
            size,
            sha256,
            first_lsn,
            last_lsn,
        },
        recorded: from_record,
        bytes,
    })
}

/// What became of the file with that index in the run's list.
type Done = (usize, Result<(Shipped, PutOutcome), ShipError>);

/// The files one job has sent and not had answered yet, and the sender they went over.
struct Pipeline<'a> {
    req: &'a Request,
    transport: &'a dyn Transport,
    pacer: &'a Pacer,
    retries: &'a AtomicU64,
    sender: Option<Box<dyn Sender + 'a>>,
    /// Oldest first; the first `sent` of them went over `sender`, their bytes dropped.
    in_flight: VecDeque<(usize, Loaded)>,
    sent: usize,
}

impl Pipeline<'_> {
    /// Sends the files not sent yet, and collects answers until at most `keep` files are
    /// unanswered, each answered file going to `done`. A transient failure is retried with a
    /// new sender that sends every unanswered file again (one the destination stored meanwhile
    /// is then already there). False after a failure that ends the job, reported to `done`.
    fn advance(&mut self, keep: usize, done: &std::sync::mpsc::Sender<Done>) -> bool {
        let (req, retries) = (self.req, self.retries);
        let result = req.backoff.run(
            || {
                let stepped = self.step(keep, done);
                if stepped.is_err() {
                    self.sender = None;
                    self.sent = 0;
                }
                stepped
            },
            |msg, delay| {
                retries.fetch_add(1, Ordering::Relaxed);
                (req.on_retry)(msg, delay);
            },
        );
        let Err(e) = result else { return true };
        if let Some((i, file)) = self.in_flight.pop_front() {
            let error = match e {
                TransportError::Conflict { sha256 } => ShipError::Conflict {
                    name: file.name,
                    dest: req.to.clone(),
                    ours: file.entry.sha256,
                    theirs: sha256,
                },
                e => file
                    .check_recorded()
                    .unwrap_or_else(|| transport_error(req, e)),
            };
            let _ = done.send((i, Err(error)));
        }
        false
    }

    fn step(
        &mut self,
        keep: usize,
        done: &std::sync::mpsc::Sender<Done>,
    ) -> Result<(), TransportError> {
        let sender = self.sender.get_or_insert_with(|| self.transport.sender());
        while let Some((_, file)) = self.in_flight.get_mut(self.sent) {
            if file.bytes.is_empty() {
                file.bytes = file.read_again()?;
            }
            sender.send(&file.name, &file.bytes, &file.entry.sha256, self.pacer)?;
            // Only needed again after a failure: read again then rather than held meanwhile.
            file.bytes = Vec::new();
            self.sent += 1;
        }
        while self.in_flight.len() > keep {
            let outcome = sender.outcome()?;
            if let Some((i, file)) = self.in_flight.pop_front() {
                self.sent -= 1;
                let shipped = Shipped {
                    name: file.name,
                    entry: file.entry,
                };
                let _ = done.send((i, Ok((shipped, outcome))));
            }
        }
        Ok(())
    }
}

/// A file the destination holds, waiting for its acknowledgement.
struct Shipped {
    name: String,
    entry: Entry,
}

/// How often a run records progress (manifest, then acknowledgement) while files keep
/// arriving.
const RECORD_INTERVAL: Duration = Duration::from_secs(1);

struct Opened {
    name: String,
    state: DestinationState,
    _lock: state::DestinationLock,
    transport: Box<dyn Transport>,
    spool_files: Vec<(LcrName, PathBuf)>,
    /// The spool has no state for this destination yet.
    new: bool,
}

fn open(req: &Request) -> Result<Opened, ShipError> {
    let name = req.name.clone().unwrap_or_else(|| default_name(&req.to));
    state::check_name(&name)?;
    if !req.spool.join(crate::spool::STATE_FILE).is_file() {
        return Err(ShipError::Usage(format!(
            "\"{}\" is not a spool (no {} in it)",
            req.spool.display(),
            crate::spool::STATE_FILE
        )));
    }
    let transport = transport_for(req)?;
    let lock = state::lock(&req.spool, &name)?;
    // A directory is recorded as an absolute path, so that runs from another working
    // directory are known to ship to the same place.
    let to = match ssh::SshTarget::parse(&req.to) {
        Some(_) => req.to.clone(),
        None => std::path::absolute(&req.to)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| req.to.clone()),
    };
    let loaded = DestinationState::load(&req.spool, &name)?;
    let new = loaded.is_none();
    let state = match loaded {
        Some(s) if s.to != to => {
            return Err(ShipError::OtherDestination {
                name,
                was: s.to,
                to,
            })
        }
        Some(s) => s,
        None => DestinationState::new(&name, &to),
    };
    if let Some(reason) = &state.broken {
        return Err(ShipError::Broken {
            spool: req.spool.clone(),
            name,
            reason: reason.clone(),
        });
    }
    let spool_files = crate::lcr::list_dir(&req.spool).map_err(|source| ShipError::Spool {
        spool: req.spool.clone(),
        source,
    })?;
    Ok(Opened {
        name,
        state,
        _lock: lock,
        transport,
        spool_files,
        new,
    })
}

/// Connects to the destination, clears what interrupted transfers left there and reads its
/// manifest; true when the manifest must be written whole before anything can be appended:
/// there is none yet, or an append was cut off (its last line has no newline).
fn connect(req: &Request, transport: &dyn Transport) -> Result<(Manifest, bool), ShipError> {
    let text = req
        .backoff
        .run(|| transport.open(), req.on_retry)
        .map_err(|e| transport_error(req, e))?;
    let Some(text) = text else {
        return Ok((Manifest::default(), true));
    };
    let cut = !text.ends_with('\n');
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    Manifest::parse(complete)
        .map(|m| (m, cut))
        .map_err(|detail| ShipError::BadManifest {
            dest: req.to.clone(),
            detail,
        })
}

/// [`connect`], then restores the manifest line of every acknowledged file the spool still
/// has but the manifest lacks (a line lost to a cut or a hand edit): the destination holds
/// those files.
fn connect_and_restore(
    req: &Request,
    transport: &dyn Transport,
    shipped: &[(LcrName, PathBuf)],
) -> Result<(Manifest, bool), ShipError> {
    let (mut manifest, mut write_whole) = connect(req, transport)?;
    for (lcr_name, path) in shipped {
        let file_name = lcr_name.to_string();
        if !manifest.0.contains_key(&file_name) {
            manifest
                .0
                .insert(file_name.clone(), load(path, &file_name, false)?.entry);
            write_whole = true;
        }
    }
    Ok((manifest, write_whole))
}

fn transport_error(req: &Request, e: TransportError) -> ShipError {
    match e {
        TransportError::Transient(detail) | TransportError::Fatal(detail) => ShipError::Transport {
            dest: req.to.clone(),
            detail,
        },
        TransportError::Conflict { sha256 } => ShipError::Transport {
            dest: req.to.clone(),
            detail: format!("unexpected conflicting file (SHA-256 {sha256})"),
        },
    }
}

/// The file that should follow `acked` but is missing from the spool, if the names show one:
/// sub-segments of a WAL segment are numbered from 0 without gaps.
fn removed_successor(acked: Option<LcrName>, first_pending: Option<LcrName>) -> Option<LcrName> {
    let next = first_pending?;
    match acked {
        Some(a) if (a.timeline, a.segno) == (next.timeline, next.segno) => {
            (next.subseg != a.subseg + 1).then_some(LcrName {
                subseg: a.subseg + 1,
                ..a
            })
        }
        _ => (next.subseg != 0).then_some(LcrName { subseg: 0, ..next }),
    }
}

/// Ships every complete LCR file of the spool the destination has not acknowledged.
pub fn run(req: &Request, progress: Option<&Progress>) -> Result<Summary, ShipError> {
    let start = Instant::now();
    let Opened {
        name,
        mut state,
        _lock,
        transport,
        spool_files,
        new,
    } = open(req)?;
    // Saved before anything is sent: from now on retention keeps what it has not acknowledged,
    // even if this run finds nothing to send or dies before its first acknowledgement.
    if new {
        state.save(&req.spool)?;
    }
    let acked = state.acked.as_deref().and_then(LcrName::parse);
    let (shipped, pending): (Vec<_>, Vec<_>) = spool_files
        .into_iter()
        .partition(|(n, _)| acked.is_some_and(|a| *n <= a));
    if let Some(missing) = removed_successor(acked, pending.first().map(|p| p.0)) {
        return Err(ShipError::Removed {
            spool: req.spool.clone(),
            name: missing.to_string(),
            dest: name,
        });
    }
    if let Some(p) = progress {
        let total = pending
            .iter()
            .filter_map(|(_, path)| std::fs::metadata(path).ok())
            .map(|m| m.len())
            .sum();
        p.total.store(total, Ordering::Relaxed);
    }
    let mut summary = Summary {
        name: name.clone(),
        acked: state.acked.clone(),
        ..Summary::default()
    };
    if pending.is_empty() {
        summary.elapsed = start.elapsed();
        return Ok(summary);
    }
    let pacer = Pacer::new(req.max_rate);
    let queue = Mutex::new(pending.iter().enumerate().collect::<VecDeque<_>>());
    let stop = AtomicBool::new(false);
    let retries = AtomicU64::new(0);
    let (done_tx, done_rx) =
        std::sync::mpsc::channel::<(usize, Result<(Shipped, PutOutcome), ShipError>)>();
    let transport = transport.as_ref();
    let checks = transport.checks_sha256();
    let first_error = std::thread::scope(|scope| {
        // Each job reads and checks its next file while it sends the current one; the
        // first files are read while the destination is being connected to.
        let mut loaders = Vec::new();
        for _ in 0..req.jobs.max(1).min(pending.len()) {
            let (queue, stop) = (&queue, &stop);
            let (load_tx, loaded) = std::sync::mpsc::sync_channel(0);
            loaders.push(loaded);
            scope.spawn(move || loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Some((i, (lcr_name, path))) = queue.lock().expect("queue").pop_front() else {
                    break;
                };
                if load_tx
                    .send((i, load(path, &lcr_name.to_string(), checks)))
                    .is_err()
                {
                    break;
                }
            });
        }
        let (mut manifest, mut write_whole) = match connect_and_restore(req, transport, &shipped) {
            Ok(opened) => opened,
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                return Some(e);
            }
        };
        for loaded in loaders {
            let done_tx = done_tx.clone();
            let (stop, pacer, retries) = (&stop, &pacer, &retries);
            scope.spawn(move || {
                let mut pipeline = Pipeline {
                    req,
                    transport,
                    pacer,
                    retries,
                    sender: None,
                    in_flight: VecDeque::new(),
                    sent: 0,
                };
                // One file stays unanswered while the next one goes out: the destination
                // checks and stores it meanwhile.
                for (i, file) in loaded {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let pushed = match file {
                        Ok(file) => {
                            pipeline.in_flight.push_back((i, file));
                            pipeline.advance(1, &done_tx)
                        }
                        Err(e) => {
                            if pipeline.advance(0, &done_tx) {
                                let _ = done_tx.send((i, Err(e)));
                            }
                            false
                        }
                    };
                    if !pushed {
                        stop.store(true, Ordering::Relaxed);
                        return;
                    }
                }
                if !pipeline.advance(0, &done_tx) {
                    stop.store(true, Ordering::Relaxed);
                }
            });
        }
        drop(done_tx);
        // Completed files wait here until every file before them is done, so that the
        // manifest and the acknowledgement only ever move forward without gaps.
        let mut completed: BTreeMap<usize, (Shipped, PutOutcome)> = BTreeMap::new();
        let mut frontier = 0;
        let mut first_error: Option<(usize, ShipError)> = None;
        let mut unrecorded: Vec<(Shipped, PutOutcome)> = Vec::new();
        let mut recorded_at = Instant::now();
        let mut running = true;
        while running {
            let first = match done_rx.recv_timeout(Duration::from_millis(200)) {
                Ok(first) => Some(first),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    running = false;
                    None
                }
            };
            for (i, result) in first.into_iter().chain(done_rx.try_iter()) {
                match result {
                    Ok(done) => {
                        if let Some(p) = progress {
                            p.done.fetch_add(done.0.entry.size, Ordering::Relaxed);
                        }
                        completed.insert(i, done);
                    }
                    Err(e) => {
                        if first_error.as_ref().is_none_or(|(at, _)| i < *at) {
                            first_error = Some((i, e));
                        }
                    }
                }
            }
            while let Some(done) = completed.remove(&frontier) {
                unrecorded.push(done);
                frontier += 1;
            }
            // Recording costs a manifest rewrite and two fsyncs: at most once per interval
            // while files keep coming, and whatever is left at the end.
            let due = !running || recorded_at.elapsed() >= RECORD_INTERVAL;
            if unrecorded.is_empty() || !due {
                continue;
            }
            let recorded = acknowledge(
                req,
                transport,
                &mut manifest,
                &mut write_whole,
                &mut state,
                &unrecorded,
            );
            if let Err(e) = recorded {
                stop.store(true, Ordering::Relaxed);
                first_error = Some((0, e));
                break;
            }
            recorded_at = Instant::now();
            for (file, outcome) in unrecorded.drain(..) {
                summary.files += 1;
                summary.bytes += file.entry.size;
                if outcome == PutOutcome::AlreadyThere {
                    summary.already_there += 1;
                }
            }
            summary.acked = state.acked.clone();
        }
        first_error.map(|(_, e)| e)
    });
    summary.retries = retries.load(Ordering::Relaxed);
    summary.elapsed = start.elapsed();
    match first_error {
        Some(e) if summary.files == 0 => Err(e),
        failure => {
            summary.failure = failure;
            Ok(summary)
        }
    }
}

/// Records files the destination now holds: manifest first, then the acknowledgement, so
/// an acknowledged file is always in the manifest. The manifest grows by appending the new
/// lines; it is written whole when `write_whole` says so, and after an append failed, since a
/// cut-off append may have left part of a line.
fn acknowledge(
    req: &Request,
    transport: &dyn Transport,
    manifest: &mut Manifest,
    write_whole: &mut bool,
    state: &mut DestinationState,
    files: &[(Shipped, PutOutcome)],
) -> Result<(), ShipError> {
    let mut lines = String::new();
    for (file, _) in files {
        if manifest.0.get(&file.name) != Some(&file.entry) {
            lines.push_str(&manifest_line(&file.name, &file.entry));
            manifest.0.insert(file.name.clone(), file.entry.clone());
        }
    }
    let manifest = &*manifest;
    req.backoff
        .run(
            || {
                if *write_whole {
                    transport.write_manifest(&manifest.render())?;
                    *write_whole = false;
                    Ok(())
                } else {
                    // Also with no new line: it makes the names of the files durable.
                    transport
                        .append_manifest(&lines)
                        .inspect_err(|_| *write_whole = true)
                }
            },
            req.on_retry,
        )
        .map_err(|e| transport_error(req, e))?;
    state.acked = files.last().map(|(f, _)| f.name.clone());
    state.save(&req.spool)?;
    Ok(())
}

/// Checks what the destination holds against its manifest and the spool; with
/// `Mode::Repair`, sends again what is damaged or missing and still in the spool.
pub fn verify(req: &Request) -> Result<VerifyReport, ShipError> {
    let Opened {
        name,
        state,
        _lock,
        transport,
        spool_files,
        ..
    } = open(req)?;
    let transport = transport.as_ref();
    let (mut manifest, _) = connect(req, transport)?;
    let held = req
        .backoff
        .run(|| transport.checksums(), req.on_retry)
        .map_err(|e| transport_error(req, e))?;
    let acked = state.acked.as_deref().and_then(LcrName::parse);
    let spool: BTreeMap<String, PathBuf> = spool_files
        .into_iter()
        .map(|(n, p)| (n.to_string(), p))
        .collect();
    let mut report = VerifyReport {
        name,
        ..VerifyReport::default()
    };
    // Files to send again, with what is wrong with each.
    let mut bad: BTreeMap<String, String> = BTreeMap::new();
    for (file, entry) in &manifest.0 {
        report.checked += 1;
        match held.get(file) {
            None => {
                bad.insert(
                    file.clone(),
                    "listed in the manifest, missing at the destination".into(),
                );
            }
            Some(sum) if *sum != entry.sha256 => {
                bad.insert(
                    file.clone(),
                    format!(
                        "SHA-256 {sum} at the destination, {} in the manifest",
                        entry.sha256
                    ),
                );
            }
            Some(_) => {}
        }
    }
    for (file, path) in &spool {
        if LcrName::parse(file).is_none_or(|n| acked.is_none_or(|a| n > a)) {
            continue;
        }
        let ours = sha256_hex(
            &std::fs::read(path).map_err(|source| crate::lcr::LcrError::Io {
                path: path.clone(),
                source,
            })?,
        );
        if !manifest.0.contains_key(file) {
            report.checked += 1;
        }
        match (manifest.0.get(file), held.get(file)) {
            (None, _) => {
                bad.entry(file.clone())
                    .or_insert_with(|| "acknowledged but not in the manifest".into());
            }
            (Some(e), _) if e.sha256 != ours => {
                bad.entry(file.clone()).or_insert_with(|| {
                    format!("SHA-256 {} in the manifest, {ours} in the spool", e.sha256)
                });
            }
            (_, Some(sum)) if *sum != ours => {
                bad.entry(file.clone()).or_insert_with(|| {
                    format!("SHA-256 {sum} at the destination, {ours} in the spool")
                });
            }
            _ => {}
        }
    }
    report.problems = bad.iter().map(|(f, why)| format!("{f}: {why}")).collect();
    if req.mode != Mode::Repair || bad.is_empty() {
        return Ok(report);
    }
    let pacer = Pacer::new(req.max_rate);
    for file in bad.keys() {
        let Some(path) = spool.get(file) else {
            report
                .unrepairable
                .push(format!("{file}: no longer in the spool"));
            continue;
        };
        let loaded = load(path, file, transport.checks_sha256())?;
        req.backoff
            .run(
                || transport.put(file, &loaded.bytes, &loaded.entry.sha256, true, &pacer),
                req.on_retry,
            )
            .map_err(|e| transport_error(req, e))?;
        manifest.0.insert(file.clone(), loaded.entry);
        report.repaired.push(file.clone());
    }
    if !report.repaired.is_empty() {
        let text = manifest.render();
        req.backoff
            .run(|| transport.write_manifest(&text), req.on_retry)
            .map_err(|e| transport_error(req, e))?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(segno: u64, subseg: u64) -> LcrName {
        LcrName {
            timeline: 1,
            segno,
            subseg,
        }
    }

    #[test]
    fn a_gap_after_the_acknowledged_file_is_a_removed_file() {
        assert_eq!(removed_successor(Some(n(3, 1)), Some(n(3, 2))), None);
        assert_eq!(removed_successor(Some(n(3, 1)), Some(n(5, 0))), None);
        assert_eq!(removed_successor(None, Some(n(3, 0))), None);
        assert_eq!(removed_successor(Some(n(3, 1)), None), None);
        assert_eq!(
            removed_successor(Some(n(3, 1)), Some(n(3, 3))),
            Some(n(3, 2))
        );
        assert_eq!(
            removed_successor(Some(n(3, 1)), Some(n(4, 2))),
            Some(n(4, 0))
        );
        assert_eq!(removed_successor(None, Some(n(4, 1))), Some(n(4, 0)));
    }

    #[test]
    fn a_cut_off_manifest_append_is_dropped_and_the_manifest_written_whole() {
        let dest = tempfile::tempdir().unwrap();
        let req = Request {
            spool: PathBuf::new(),
            to: dest.path().to_string_lossy().into_owned(),
            name: None,
            mode: Mode::Ship,
            jobs: 1,
            max_rate: None,
            ssh_command: DEFAULT_SSH.to_string(),
            backoff: Backoff {
                retries: 0,
                first_delay: Duration::ZERO,
                max_delay: Duration::ZERO,
            },
            on_retry: |_, _| {},
        };
        let transport = dir::DirTransport {
            dir: dest.path().to_path_buf(),
        };
        let (empty, whole) = connect(&req, &transport).unwrap();
        assert!(empty.0.is_empty() && whole);
        let mut m = Manifest::default();
        let entry = Entry {
            size: 3,
            sha256: sha256_hex(b"abc"),
            first_lsn: crate::wal::lsn::Lsn(0x3000148),
            last_lsn: crate::wal::lsn::Lsn(0x30F2A10),
        };
        m.0.insert(n(3, 0).to_string(), entry.clone());
        let text = m.render();
        std::fs::write(dest.path().join(MANIFEST_FILE), &text).unwrap();
        assert_eq!(connect(&req, &transport).unwrap(), (m.clone(), false));
        let next = manifest_line(&n(3, 1).to_string(), &entry);
        let cut = format!("{text}{}", &next[..50]);
        std::fs::write(dest.path().join(MANIFEST_FILE), cut).unwrap();
        assert_eq!(connect(&req, &transport).unwrap(), (m, true));
    }

    #[test]
    fn default_names() {
        assert_eq!(
            default_name("ssh://backup@dr1.example.com:22/srv/lcr"),
            "dr1.example.com"
        );
        assert_eq!(default_name("/mnt/dr site"), "dr_site");
        assert_eq!(default_name("/"), "default");
        assert!(state::check_name(&default_name("ssh://[::1]/x")).is_ok());
    }
}
