//! `pglcr retain`: removes WAL segments from an archive and LCR files from spools once no
//! consumer needs them any more, and no sooner.
//!
//! What is needed is read, never guessed: a spool's decoder needs WAL from its `restart_lsn`,
//! or from its catalog's checkpoint redo point when earlier (before its first run, from the
//! catalog's LSN or redo point); a standby running us as
//! archive_cleanup_command needs WAL from the segment it names (`%r`); each ship destination
//! needs the LCR files after the last one it acknowledged; each registered apply consumer
//! needs the files holding commits after the position it applied. Keep policies
//! (`--keep-segments`, `--keep-size`, `--keep-age`) keep more; `--max-size` caps what is kept
//! and fails loudly, or, with `--allow-consumer-loss`, removes what consumers still need and
//! marks them broken first, so that they later fail with a clear message instead of skipping
//! data.
//!
//! Removal holds each spool's lock (decode cannot run meanwhile), marks consumers broken
//! before any file they need goes, unlinks in name order (an interrupted run leaves the newest
//! files, never a hole) and fsyncs each directory once at the end.

pub mod consumers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::lcr::format::Header;
use crate::lcr::{self, LcrName};
use crate::ship::state::{self as ship_state, DestinationState, StateError};
use crate::spool::{self, SpoolError, State};
use crate::wal::lsn::{parse_segment_file_name, segments_per_xlogid, Lsn};
use crate::wal::segment::{segment_name_part, WalDir};
use consumers::{Applied, Consumer, ConsumerError};

/// The last-run record of `pglcr retain --confirm` in each spool, read by `pglcr status`.
pub const LAST_RUN_FILE: &str = "retain.json";
const LAST_RUN_FORMAT: &str = "pglcr-retain-run";

#[derive(Debug, thiserror::Error)]
pub enum RetainError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error(transparent)]
    Destination(#[from] StateError),
    #[error(transparent)]
    Consumer(#[from] ConsumerError),
    #[error("{what} \"{}\": {source}", .path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("\"{}\" is not a spool: it has neither {} nor {}", .0.display(), spool::STATE_FILE, spool::CATALOG_FILE)]
    NotASpool(PathBuf),
    #[error("LCR file \"{}\": {reason}", .path.display())]
    BadLcr { path: PathBuf, reason: String },
    #[error("cannot tell the WAL segment size of \"{}\" for --keep-segments/--keep-size: no spool was given and segment {segment} is not there to read it from", .dir.display())]
    SegmentSize { dir: PathBuf, segment: String },
}

/// How much more than the consumers' needs to keep, and the cap.
#[derive(Clone, Debug, Default)]
pub struct Policies {
    /// Segments to keep before the oldest one needed (`wal_keep_segments`).
    pub keep_segments: u64,
    /// Bytes of WAL to keep before the oldest segment needed (`wal_keep_size`).
    pub keep_size: u64,
    /// Files modified within this long are kept.
    pub keep_age: Option<Duration>,
    /// The most the archive and the spools' LCR files may hold together.
    pub max_size: Option<u64>,
    /// Under `max_size`, remove files consumers still need and mark those consumers broken.
    pub allow_consumer_loss: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The WAL archive directory.
    pub archive: Option<PathBuf>,
    pub spools: Vec<PathBuf>,
    /// archive_cleanup_command's `%r`: the oldest segment the standby still needs.
    pub cleanup_segment: Option<String>,
    pub policies: Policies,
    /// Remove files; without it, only report what would be removed.
    pub confirm: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Wal,
    Lcr,
}

/// Why a file is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hold {
    /// A spool's decoder reads WAL from this position on.
    Decoder {
        spool: PathBuf,
        restart_lsn: Lsn,
    },
    /// A standby's archive_cleanup_command named this segment as the oldest it needs.
    Standby {
        segment: String,
    },
    KeepSegments {
        segments: u64,
    },
    KeepAge {
        age: Duration,
    },
    /// A ship destination has not acknowledged the file.
    Destination {
        spool: PathBuf,
        name: String,
        acked: Option<String>,
    },
    /// A registered apply consumer has not applied every commit in the file.
    Consumer {
        spool: PathBuf,
        name: String,
        applied: Lsn,
    },
    /// A consumer's position could not be read: it may need anything.
    ConsumerUnknown {
        spool: PathBuf,
        name: String,
        error: String,
    },
    /// The spool has no destination and no consumer: nobody has confirmed the file.
    NoConsumer {
        spool: PathBuf,
    },
}

impl Hold {
    /// Holds that `--allow-consumer-loss` may override (keep policies are never overridden).
    fn is_consumer(&self) -> bool {
        !matches!(self, Hold::KeepSegments { .. } | Hold::KeepAge { .. })
    }

    /// The consumer's name as reports show it.
    pub fn holder(&self) -> String {
        match self {
            Hold::Decoder { spool, .. } => format!("decoder of spool {}", spool.display()),
            Hold::Standby { .. } => "standby (archive cleanup)".into(),
            Hold::KeepSegments { .. } => "--keep-segments/--keep-size".into(),
            Hold::KeepAge { .. } => "--keep-age".into(),
            Hold::Destination { name, .. } => format!("destination \"{name}\""),
            Hold::Consumer { name, .. } | Hold::ConsumerUnknown { name, .. } => {
                format!("consumer \"{name}\"")
            }
            Hold::NoConsumer { spool } => format!("spool {} (no consumer)", spool.display()),
        }
    }
}

impl std::fmt::Display for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hold::Decoder { spool, restart_lsn } => write!(
                f,
                "the decoder of spool {} needs WAL from {restart_lsn} on",
                spool.display()
            ),
            Hold::Standby { segment } => {
                write!(f, "the standby needs WAL from segment {segment} on")
            }
            Hold::KeepSegments { segments } => write!(
                f,
                "--keep-segments/--keep-size keep {segments} segments before the oldest needed"
            ),
            Hold::KeepAge { age } => write!(
                f,
                "--keep-age keeps files younger than {}",
                format_duration(*age)
            ),
            Hold::Destination { name, acked, .. } => match acked {
                Some(a) => write!(f, "destination \"{name}\" has acknowledged only up to {a}"),
                None => write!(f, "destination \"{name}\" has acknowledged nothing yet"),
            },
            Hold::Consumer { name, applied, .. } => {
                write!(f, "consumer \"{name}\" has applied only up to {applied}")
            }
            Hold::ConsumerUnknown { name, error, .. } => write!(
                f,
                "the position of consumer \"{name}\" could not be read ({error})"
            ),
            Hold::NoConsumer { .. } => f.write_str(
                "no destination or consumer is registered with the spool, so none has confirmed it",
            ),
        }
    }
}

/// PostgreSQL's time units, largest first, for printing durations as a DBA writes them.
const TIME_UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("min", 60_000),
    ("s", 1000),
    ("ms", 1),
];

fn format_duration(d: Duration) -> String {
    let ms = d.as_millis() as u64;
    for (unit, per) in TIME_UNITS {
        if ms >= per && ms.is_multiple_of(per) {
            return format!("{}{unit}", ms / per);
        }
    }
    format!("{ms}ms")
}

/// Parses a duration as PostgreSQL time settings are written (`3min`, `7d`); a bare number is
/// seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::units::parse_duration(text, Duration::from_secs(1))
}

/// One file retention decided about.
#[derive(Clone, Debug)]
pub struct Item {
    pub kind: FileKind,
    pub path: PathBuf,
    pub name: String,
    pub size: u64,
    /// Empty: not needed, removed.
    pub holds: Vec<Hold>,
    /// Removed although held, under `--max-size` with `--allow-consumer-loss`.
    pub dropped: bool,
}

impl Item {
    pub fn removed(&self) -> bool {
        self.holds.is_empty() || self.dropped
    }
}

/// A file left alone whatever the policies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Untouched {
    pub path: PathBuf,
    pub why: &'static str,
}

/// What one consumer holds back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub holder: String,
    pub files: u64,
    pub bytes: u64,
    pub oldest: String,
    /// One of its holds, in words.
    pub reason: String,
}

/// What `--max-size` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverCap {
    pub max_size: u64,
    /// Bytes kept once every allowed removal is made.
    pub kept: u64,
    pub held: Vec<Held>,
}

/// A consumer losing files it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breakage {
    pub spool: PathBuf,
    pub hold: Hold,
    /// The oldest file it needed that is removed.
    pub first_removed: String,
    pub message: String,
}

/// What a run decided (and, with `confirm`, did).
#[derive(Debug, Default)]
pub struct Outcome {
    pub confirm: bool,
    /// In name order per directory: the archive's WAL, then each spool's LCR files.
    pub items: Vec<Item>,
    pub untouched: Vec<Untouched>,
    /// Set when what must be kept exceeds `--max-size` (without `--allow-consumer-loss`, or
    /// when keep policies alone exceed it): the caller exits non-zero.
    pub over_cap: Option<OverCap>,
    pub breakages: Vec<Breakage>,
    /// Problems that made retention keep more than it otherwise would (unreadable consumer
    /// positions).
    pub errors: Vec<String>,
}

impl Outcome {
    pub fn removed(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.removed())
    }

    pub fn removed_bytes(&self) -> u64 {
        self.removed().map(|i| i.size).sum()
    }

    pub fn kept_bytes(&self) -> u64 {
        self.items
            .iter()
            .filter(|i| !i.removed())
            .map(|i| i.size)
            .sum()
    }

    /// Per holder: the files it alone or with others keeps.
    pub fn held(&self) -> Vec<Held> {
        let mut by: BTreeMap<String, Held> = BTreeMap::new();
        for item in self.items.iter().filter(|i| !i.removed()) {
            for hold in &item.holds {
                let e = by.entry(hold.holder()).or_insert_with(|| Held {
                    holder: hold.holder(),
                    files: 0,
                    bytes: 0,
                    oldest: item.name.clone(),
                    reason: hold.to_string(),
                });
                e.files += 1;
                e.bytes += item.size;
            }
        }
        by.into_values().collect()
    }
}

/// A WAL archive file's ordering key as pg_archivecleanup compares names: the log and seg
/// parts, whatever the timeline.
fn wal_key(segment_name: &str) -> Option<(u32, u32)> {
    parse_segment_file_name(segment_name).map(|(_, log, seg)| (log, seg))
}

/// What a file in the archive is, by its name.
enum ArchiveName {
    /// A segment, partial segment, compressed copy or backup history file, with its segment
    /// key.
    Removable((u32, u32)),
    History,
    Unrecognised,
}

fn classify_archive_name(name: &str) -> ArchiveName {
    if let Some(key) = segment_name_part(name).and_then(wal_key) {
        return ArchiveName::Removable(key);
    }
    if let Some(tli) = name.strip_suffix(".history") {
        if tli.len() == 8 && tli.bytes().all(|b| b.is_ascii_hexdigit()) {
            return ArchiveName::History;
        }
    }
    // 000000010000000000000002.00000028.backup, as pg_archivecleanup -b removes them
    if let Some(rest) = name.strip_suffix(".backup") {
        if let Some((seg, offset)) = rest.split_once('.') {
            if offset.len() == 8 && offset.bytes().all(|b| b.is_ascii_hexdigit()) {
                if let Some(key) = wal_key(seg) {
                    return ArchiveName::Removable(key);
                }
            }
        }
    }
    ArchiveName::Unrecognised
}

/// The key `n` segments before `key`.
fn key_minus(key: (u32, u32), n: u64, seg_size: u64) -> (u32, u32) {
    let per = segments_per_xlogid(seg_size);
    let segno = (u64::from(key.0) * per + u64::from(key.1)).saturating_sub(n);
    ((segno / per) as u32, (segno % per) as u32)
}

fn io_err<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> RetainError + 'a {
    move |source| RetainError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Reads the header of an LCR file without reading the rest.
fn read_header(path: &Path) -> Result<Header, RetainError> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(1024);
    std::fs::File::open(path)
        .and_then(|f| f.take(u64::from(u16::MAX)).read_to_end(&mut buf))
        .map_err(io_err("could not read LCR file", path))?;
    Header::decode(&buf)
        .map(|(h, _)| h)
        .map_err(|e| RetainError::BadLcr {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// A spool as retention sees it.
struct SpoolView {
    dir: PathBuf,
    /// The oldest WAL its decoder needs.
    wal_need: Lsn,
    wal_segment_size: u64,
    timeline: u32,
    destinations: Vec<DestinationState>,
    consumers: Vec<(Consumer, Result<Applied, String>)>,
}

/// The spool's default origin name, as `pglcr apply` derives it.
fn default_origin(state: &State) -> String {
    format!("pglcr_{}_{}", state.system_identifier, state.database_oid)
}

fn view_spool(dir: &Path) -> Result<SpoolView, RetainError> {
    let (wal_need, seg_size, timeline, origin) = match State::load(dir)? {
        Some(s) => {
            let need = s.wal_need(dir)?;
            (need, s.wal_segment_size, s.timeline, default_origin(&s))
        }
        None => {
            // Before the first decode run only the catalog tells where decoding will start.
            let path = dir.join(spool::CATALOG_FILE);
            if !path.is_file() {
                return Err(RetainError::NotASpool(dir.to_path_buf()));
            }
            let c = crate::catalog::Catalog::load(&path).map_err(SpoolError::from)?;
            (
                spool::catalog_wal_need(&c),
                0,
                c.file.timeline,
                format!("pglcr_{}_{}", c.file.system_identifier, c.database_oid()),
            )
        }
    };
    let destinations = ship_state::destinations(dir)?;
    let consumers = consumers::registered(dir)?
        .into_iter()
        .map(|c| {
            let applied = consumers::applied(&c, &origin).map_err(|e| e.to_string());
            (c, applied)
        })
        .collect();
    Ok(SpoolView {
        dir: dir.to_path_buf(),
        wal_need,
        wal_segment_size: seg_size,
        timeline,
        destinations,
        consumers,
    })
}

fn file_size(path: &Path) -> Result<u64, RetainError> {
    std::fs::symlink_metadata(path)
        .map(|m| m.len())
        .map_err(io_err("could not stat", path))
}

/// The LCR files of a spool and who holds each.
fn lcr_items(view: &SpoolView) -> Result<Vec<Item>, RetainError> {
    let files = lcr::list_dir(&view.dir).map_err(io_err("could not list spool", &view.dir))?;
    let live_destinations: Vec<_> = view
        .destinations
        .iter()
        .filter(|d| d.broken.is_none())
        .collect();
    let live_consumers: Vec<_> = view
        .consumers
        .iter()
        .filter(|(c, _)| c.broken.is_none())
        .collect();
    let nobody = view.destinations.is_empty() && view.consumers.is_empty();
    let mut items = Vec::with_capacity(files.len());
    for (name, path) in files {
        let mut holds = Vec::new();
        if nobody {
            holds.push(Hold::NoConsumer {
                spool: view.dir.clone(),
            });
        }
        for d in &live_destinations {
            let acked = d.acked.as_deref().and_then(LcrName::parse);
            if acked.is_none_or(|a| a < name) {
                holds.push(Hold::Destination {
                    spool: view.dir.clone(),
                    name: d.name.clone(),
                    acked: d.acked.clone(),
                });
            }
        }
        // Headers are read only when a consumer's position must be compared with them.
        let mut header = None;
        for (c, applied) in &live_consumers {
            match applied {
                Ok(a) => {
                    if header.is_none() {
                        header = Some(read_header(&path)?);
                    }
                    let h = header.as_ref().expect("read above");
                    // Every transaction in the file commits at or before last_lsn (a file
                    // ending inside a transaction names that transaction's commit): the
                    // consumer is done with it once it applied a later commit.
                    if h.last_lsn >= a.lsn {
                        holds.push(Hold::Consumer {
                            spool: view.dir.clone(),
                            name: c.name.clone(),
                            applied: a.lsn,
                        });
                    }
                }
                Err(e) => holds.push(Hold::ConsumerUnknown {
                    spool: view.dir.clone(),
                    name: c.name.clone(),
                    error: e.clone(),
                }),
            }
        }
        items.push(Item {
            kind: FileKind::Lcr,
            size: file_size(&path)?,
            name: name.to_string(),
            path,
            holds,
            dropped: false,
        });
    }
    Ok(items)
}

/// The archive's files and who holds each.
fn wal_items(
    req: &Request,
    archive: &Path,
    views: &[SpoolView],
    untouched: &mut Vec<Untouched>,
) -> Result<Vec<Item>, RetainError> {
    let mut needs: Vec<((u32, u32), Hold)> = Vec::new();
    let mut seg_size = None;
    for v in views {
        let size = if v.wal_segment_size != 0 {
            v.wal_segment_size
        } else {
            // A spool not yet run: its catalog gives the position, the WAL the segment size.
            match WalDir::new(archive)
                .detect_segment_size(v.timeline, v.wal_need.0)
                .ok()
                .flatten()
            {
                Some((size, _)) => size,
                None => {
                    return Err(RetainError::SegmentSize {
                        dir: archive.to_path_buf(),
                        segment: format!("at {}", v.wal_need),
                    })
                }
            }
        };
        seg_size.get_or_insert(size);
        let segno = v.wal_need.0 / size;
        let per = segments_per_xlogid(size);
        needs.push((
            ((segno / per) as u32, (segno % per) as u32),
            Hold::Decoder {
                spool: v.dir.clone(),
                restart_lsn: v.wal_need,
            },
        ));
    }
    if let Some(seg) = &req.cleanup_segment {
        // As pg_archivecleanup, the name may carry a suffix (.partial, .backup…).
        let base = seg.get(..24).unwrap_or(seg);
        let key = wal_key(base).ok_or_else(|| {
            RetainError::Usage(format!(
                "\"{seg}\" is not a WAL segment name (24 hexadecimal digits, like 000000010000000000000003)"
            ))
        })?;
        needs.push((
            key,
            Hold::Standby {
                segment: base.to_string(),
            },
        ));
    }
    let Some(oldest_need) = needs.iter().map(|(k, _)| *k).min() else {
        return Err(RetainError::Usage(
            "nothing tells which WAL is still needed: give --spool (the decoder's position) or, \
             as archive_cleanup_command, --archive-cleanup DIR %r"
                .into(),
        ));
    };
    let p = &req.policies;
    let keep_before = if p.keep_segments > 0 || p.keep_size > 0 {
        let size = match seg_size {
            Some(s) => s,
            None => {
                let name = req.cleanup_segment.clone().unwrap_or_default();
                let (tli, log, seg) = parse_segment_file_name(name.get(..24).unwrap_or(&name))
                    .ok_or_else(|| RetainError::Usage(format!("\"{name}\" is not a segment")))?;
                let found = (0..=11).map(|s| 1u64 << (20 + s)).find_map(|size| {
                    let segno = crate::wal::lsn::segno_from_parts(log, seg, size);
                    WalDir::new(archive)
                        .detect_segment_size(tli, segno * size)
                        .ok()
                        .flatten()
                        .filter(|(found, _)| *found == size)
                        .map(|(found, _)| found)
                });
                found.ok_or_else(|| RetainError::SegmentSize {
                    dir: archive.to_path_buf(),
                    segment: name.clone(),
                })?
            }
        };
        let n = p.keep_segments.max(p.keep_size.div_ceil(size));
        Some((key_minus(oldest_need, n, size), n))
    } else {
        None
    };
    let mut names: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(archive).map_err(io_err("could not list archive", archive))? {
        let entry = entry.map_err(io_err("could not list archive", archive))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        names.push((name, entry.path()));
    }
    names.sort();
    let mut items = Vec::new();
    for (name, path) in names {
        let key = match classify_archive_name(&name) {
            ArchiveName::Removable(key) => key,
            ArchiveName::History => {
                untouched.push(Untouched {
                    path,
                    why: "timeline history file, never removed",
                });
                continue;
            }
            ArchiveName::Unrecognised => {
                untouched.push(Untouched {
                    path,
                    why: "not a WAL archive file name, left alone",
                });
                continue;
            }
        };
        let mut holds: Vec<Hold> = needs
            .iter()
            .filter(|(need, _)| key >= *need)
            .map(|(_, h)| h.clone())
            .collect();
        if let Some((from, segments)) = keep_before {
            if holds.is_empty() && key >= from {
                holds.push(Hold::KeepSegments { segments });
            }
        }
        items.push(Item {
            kind: FileKind::Wal,
            size: file_size(&path)?,
            name,
            path,
            holds,
            dropped: false,
        });
    }
    Ok(items)
}

/// Adds `--keep-age` holds: files modified within the age are kept.
fn hold_young(items: &mut [Item], age: Duration, now: SystemTime) -> Result<(), RetainError> {
    for item in items.iter_mut() {
        let modified = std::fs::symlink_metadata(&item.path)
            .and_then(|m| m.modified())
            .map_err(io_err("could not stat", &item.path))?;
        if now.duration_since(modified).unwrap_or_default() < age {
            item.holds.push(Hold::KeepAge { age });
        }
    }
    Ok(())
}

/// Under `--max-size`: what has to go, oldest LCR files first (one stalled destination or
/// consumer loses files, the others go on), then WAL (the decoders then stop with "requested
/// WAL segment … has already been removed"). Keep policies are never overridden.
fn apply_cap(outcome: &mut Outcome, max: u64, allow_loss: bool) {
    let mut kept = outcome.kept_bytes();
    if kept <= max {
        return;
    }
    if allow_loss {
        let mut order: Vec<usize> = (0..outcome.items.len())
            .filter(|&i| {
                let it = &outcome.items[i];
                !it.removed() && it.holds.iter().all(Hold::is_consumer)
            })
            .collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(outcome.items[i].kind), i));
        for i in order {
            if kept <= max {
                break;
            }
            outcome.items[i].dropped = true;
            kept -= outcome.items[i].size;
        }
    }
    if kept > max {
        outcome.over_cap = Some(OverCap {
            max_size: max,
            kept,
            held: outcome.held(),
        });
        // Without the flag nothing a consumer needs goes; with it, what was dropped stays
        // dropped only if the cap is met (otherwise a loss would buy nothing).
        for it in &mut outcome.items {
            it.dropped = false;
        }
    }
}

/// The consumers that lose files they need, each with the oldest such file.
fn breakages(outcome: &Outcome, when: &str, max: u64) -> Vec<Breakage> {
    let mut first: BTreeMap<String, (PathBuf, Hold, String)> = BTreeMap::new();
    for it in outcome.items.iter().filter(|i| i.dropped) {
        for h in &it.holds {
            let spool = match h {
                Hold::Destination { spool, .. }
                | Hold::Consumer { spool, .. }
                | Hold::ConsumerUnknown { spool, .. } => spool.clone(),
                Hold::Decoder { spool, .. } => spool.clone(),
                _ => continue,
            };
            let key = format!("{}\0{}", spool.display(), h.holder());
            first
                .entry(key)
                .or_insert_with(|| (spool, h.clone(), it.name.clone()));
        }
    }
    first
        .into_values()
        .map(|(spool, hold, name)| {
            let what = if matches!(hold, Hold::Decoder { .. }) {
                "WAL segment"
            } else {
                "LCR file"
            };
            Breakage {
                message: format!(
                    "{what} {name} has already been removed by pglcr retain at {when} \
                     (--max-size {max} bytes with --allow-consumer-loss); start this consumer over"
                ),
                spool,
                hold,
                first_removed: name,
            }
        })
        .collect()
}

/// Marks each breakage in the consumer's own state, before any file goes.
fn mark_broken(breakages: &[Breakage]) -> Result<(), RetainError> {
    for b in breakages {
        match &b.hold {
            Hold::Destination { spool, name, .. } => {
                let _lock = ship_state::lock(spool, name)?;
                if let Some(mut d) = DestinationState::load(spool, name)? {
                    if d.broken.is_none() {
                        d.broken = Some(b.message.clone());
                        d.save(spool)?;
                    }
                }
            }
            Hold::Consumer { spool, name, .. } | Hold::ConsumerUnknown { spool, name, .. } => {
                if let Some(mut c) = consumers::registered(spool)?
                    .into_iter()
                    .find(|c| &c.name == name)
                {
                    if c.broken.is_none() {
                        c.broken = Some(b.message.clone());
                        c.save(spool)?;
                    }
                }
            }
            // The decoder reports a removed segment itself when it next runs.
            _ => {}
        }
    }
    Ok(())
}

/// Unlinks the files in name order, then fsyncs each directory once.
fn remove_files(items: &[Item]) -> Result<(), RetainError> {
    let mut dirs: Vec<&Path> = Vec::new();
    for it in items.iter().filter(|i| i.removed()) {
        match std::fs::remove_file(&it.path) {
            Ok(()) => {}
            // Removed by someone else meanwhile (another cleanup of the same archive).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(RetainError::Io {
                    what: "could not remove",
                    path: it.path.clone(),
                    source,
                })
            }
        }
        let dir = crate::durable::parent_dir(&it.path);
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    for dir in dirs {
        crate::durable::sync_dir(dir).map_err(io_err("could not sync", dir))?;
    }
    Ok(())
}

/// The record of the last `--confirm` run kept in each spool (`retain.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LastRun {
    pub format: String,
    pub format_version: u32,
    /// When the run ended (RFC 3339, UTC).
    pub finished_at: String,
    pub removed_files: u64,
    pub removed_bytes: u64,
    pub kept_files: u64,
    pub kept_bytes: u64,
    /// What went wrong, when something did (refusal under --max-size, unreadable consumers).
    pub errors: Vec<String>,
}

impl LastRun {
    pub fn load(spool: &Path) -> Result<Option<LastRun>, RetainError> {
        let path = spool.join(LAST_RUN_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(RetainError::Io {
                    what: "could not read",
                    path,
                    source,
                })
            }
        };
        let run: LastRun = serde_json::from_str(&text)
            .map_err(|e| RetainError::Usage(format!("invalid \"{}\": {e}", path.display())))?;
        Ok((run.format == LAST_RUN_FORMAT).then_some(run))
    }

    fn save(&self, spool: &Path) -> Result<(), RetainError> {
        let path = spool.join(LAST_RUN_FILE);
        let mut text = serde_json::to_string_pretty(self).expect("serializes");
        text.push('\n');
        crate::durable::write_file(&path, text.as_bytes()).map_err(io_err("could not write", &path))
    }
}

/// The over-cap refusal in words: who holds what back.
pub fn over_cap_message(o: &OverCap, allow_loss: bool) -> String {
    let mut s = format!(
        "keeping what is still needed takes {} bytes, more than --max-size {} bytes",
        o.kept, o.max_size
    );
    for h in &o.held {
        s.push_str(&format!(
            "; {} holds {} files ({} bytes) from {} on: {}",
            h.holder, h.files, h.bytes, h.oldest, h.reason
        ));
    }
    s.push_str(if allow_loss {
        "; keep policies (--keep-segments, --keep-size, --keep-age) alone exceed the cap"
    } else {
        "; nothing a consumer needs was removed (--allow-consumer-loss would remove it and mark \
         those consumers broken)"
    });
    s
}

/// One retention run over the archive and the spools.
pub fn run(req: &Request) -> Result<Outcome, RetainError> {
    if req.archive.is_none() && req.spools.is_empty() {
        return Err(RetainError::Usage(
            "give the WAL archive (--archive DIR) and/or spools (--spool DIR)".into(),
        ));
    }
    if req.cleanup_segment.is_some() && req.archive.is_none() {
        return Err(RetainError::Usage(
            "the oldest segment to keep (%r) needs the archive directory".into(),
        ));
    }
    let now = SystemTime::now();
    // Removing holds every spool's lock, so that no decode runs meanwhile; a dry run only
    // reads and may run beside them.
    let _locks = if req.confirm {
        req.spools
            .iter()
            .map(|s| spool::lock(s))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    let views = req
        .spools
        .iter()
        .map(|s| view_spool(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut outcome = Outcome {
        confirm: req.confirm,
        ..Default::default()
    };
    for v in &views {
        for (c, applied) in &v.consumers {
            if let Err(e) = applied {
                outcome.errors.push(format!(
                    "spool {}: could not read the position of consumer \"{}\" ({}): {e}; \
                     its LCR files are kept",
                    v.dir.display(),
                    c.name,
                    c.source()
                ));
            }
        }
    }
    if let Some(archive) = &req.archive {
        outcome.items = wal_items(req, archive, &views, &mut outcome.untouched)?;
    }
    for v in &views {
        outcome.items.extend(lcr_items(v)?);
    }
    let p = &req.policies;
    if let Some(age) = p.keep_age {
        hold_young(&mut outcome.items, age, now)?;
    }
    if let Some(max) = p.max_size {
        apply_cap(&mut outcome, max, p.allow_consumer_loss);
        let when = jiff::Timestamp::try_from(now)
            .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default();
        outcome.breakages = breakages(&outcome, &when, max);
    }
    if let Some(o) = &outcome.over_cap {
        outcome
            .errors
            .push(over_cap_message(o, p.allow_consumer_loss));
    }
    if req.confirm {
        mark_broken(&outcome.breakages)?;
        remove_files(&outcome.items)?;
        // Checksum files go after their LCR files, so that a spool file is never left
        // without one; this also removes those of a decode killed before publishing its file.
        for v in &views {
            if crate::ship::checksum::remove_orphans(&v.dir)
                .map_err(io_err("could not remove checksum files in", &v.dir))?
            {
                crate::durable::sync_dir(&v.dir).map_err(io_err("could not sync", &v.dir))?;
            }
        }
        let finished_at = jiff::Timestamp::now().to_string();
        for v in &views {
            let mine = |i: &&Item| i.kind == FileKind::Lcr && i.path.parent() == Some(&v.dir);
            let (removed, kept): (Vec<&Item>, Vec<&Item>) =
                outcome.items.iter().filter(mine).partition(|i| i.removed());
            LastRun {
                format: LAST_RUN_FORMAT.into(),
                format_version: 1,
                finished_at: finished_at.clone(),
                removed_files: removed.len() as u64,
                removed_bytes: removed.iter().map(|i| i.size).sum(),
                kept_files: kept.len() as u64,
                kept_bytes: kept.iter().map(|i| i.size).sum(),
                errors: outcome.errors.clone(),
            }
            .save(&v.dir)?;
        }
    }
    Ok(outcome)
}

/// Runs retention every `interval` (the long-running mode), handing each run's result to
/// `report`; returns only when `report` says to stop.
pub fn run_every(
    req: &Request,
    interval: Duration,
    mut report: impl FnMut(Result<Outcome, RetainError>) -> bool,
) {
    loop {
        if !report(run(req)) {
            return;
        }
        std::thread::sleep(interval);
    }
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if b < 1024 {
        return format!("{b} bytes");
    }
    let mut v = b as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

impl Outcome {
    /// The decisions for people: consecutive files of a directory with the same verdict on one
    /// line, with the reason each kept file is kept, then a summary.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let verdict = |it: &Item| -> String {
            let holds: Vec<String> = it.holds.iter().map(Hold::to_string).collect();
            match (it.removed(), it.dropped) {
                (true, false) => String::new(),
                (true, true) => format!("needed ({}), removed under --max-size", holds.join("; ")),
                _ => holds.join("; "),
            }
        };
        let mut i = 0;
        while i < self.items.len() {
            let first = &self.items[i];
            let dir = first.path.parent();
            let v = verdict(first);
            let mut j = i + 1;
            while j < self.items.len()
                && self.items[j].path.parent() == dir
                && self.items[j].removed() == first.removed()
                && verdict(&self.items[j]) == v
            {
                j += 1;
            }
            let group = &self.items[i..j];
            let bytes: u64 = group.iter().map(|g| g.size).sum();
            let action = match (first.removed(), self.confirm) {
                (true, true) => "removed",
                (true, false) => "would remove",
                (false, _) => "keep",
            };
            let range = if group.len() == 1 {
                first.name.clone()
            } else {
                format!("{} .. {}", first.name, group[group.len() - 1].name)
            };
            let kind = match first.kind {
                FileKind::Wal => "WAL",
                FileKind::Lcr => "LCR",
            };
            out.push_str(&format!(
                "{action} {kind} {range} in {} ({} files, {}){}\n",
                dir.map(|d| d.display().to_string()).unwrap_or_default(),
                group.len(),
                human_bytes(bytes),
                if v.is_empty() {
                    String::new()
                } else {
                    format!(": {v}")
                }
            ));
            i = j;
        }
        for u in &self.untouched {
            out.push_str(&format!("left alone {}: {}\n", u.path.display(), u.why));
        }
        for b in &self.breakages {
            let marked = if self.confirm {
                "marked broken"
            } else {
                "would be marked broken"
            };
            out.push_str(&format!("{} {marked}: {}\n", b.hold.holder(), b.message));
        }
        let removed = self.removed().count();
        out.push_str(&format!(
            "{} {removed} files ({}), kept {} files ({})\n",
            if self.confirm {
                "removed"
            } else {
                "would remove"
            },
            human_bytes(self.removed_bytes()),
            self.items.len() - removed,
            human_bytes(self.kept_bytes())
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_postgresql_writes_them() {
        assert_eq!(parse_duration("3min"), Ok(Duration::from_secs(180)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("3 weeks").is_err());
        assert!(parse_duration("min").is_err());
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
    }

    #[test]
    fn archive_names() {
        let key = |n: &str| match classify_archive_name(n) {
            ArchiveName::Removable(k) => Some(k),
            _ => None,
        };
        assert_eq!(key("000000010000000200000003"), Some((2, 3)));
        assert_eq!(key("000000020000000200000003.partial.zst"), Some((2, 3)));
        assert_eq!(
            key("000000010000000000000002.00000028.backup"),
            Some((0, 2))
        );
        assert!(matches!(
            classify_archive_name("00000002.history"),
            ArchiveName::History
        ));
        for other in [
            "README",
            ".000000010000000000000003.ab12.tmp",
            "000000010000000000000003.bak",
        ] {
            assert!(matches!(
                classify_archive_name(other),
                ArchiveName::Unrecognised
            ));
        }
        assert_eq!(key_minus((1, 2), 3, 1 << 24), (0, 0xFF));
        assert_eq!(key_minus((0, 2), 3, 1 << 24), (0, 0));
    }

    fn touch(dir: &Path, name: &str, len: usize) {
        std::fs::write(dir.join(name), vec![0u8; len]).unwrap();
    }

    #[test]
    fn archive_cleanup_keeps_from_the_named_segment_and_never_history() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "000000010000000000000001",
            "000000010000000000000002.zst",
            "000000010000000000000002.00000028.backup",
            "000000010000000000000003",
            "000000020000000000000004.partial",
            "00000002.history",
            "notes.txt",
        ] {
            touch(dir.path(), n, 10);
        }
        let req = Request {
            archive: Some(dir.path().to_path_buf()),
            cleanup_segment: Some("000000010000000000000003".into()),
            confirm: true,
            ..Default::default()
        };
        let out = run(&req).unwrap();
        let removed: Vec<_> = out.removed().map(|i| i.name.as_str()).collect();
        assert_eq!(
            removed,
            [
                "000000010000000000000001",
                "000000010000000000000002.00000028.backup",
                "000000010000000000000002.zst"
            ]
        );
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "000000010000000000000003",
                "00000002.history",
                "000000020000000000000004.partial",
                "notes.txt"
            ]
        );
        assert_eq!(out.untouched.len(), 2);
    }

    #[test]
    fn max_size_refuses_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        for i in 1..=4 {
            touch(dir.path(), &format!("0000000100000000000000{i:02X}"), 100);
        }
        let mut req = Request {
            archive: Some(dir.path().to_path_buf()),
            cleanup_segment: Some("000000010000000000000002".into()),
            confirm: true,
            ..Default::default()
        };
        req.policies.max_size = Some(150);
        let out = run(&req).unwrap();
        let o = out.over_cap.as_ref().expect("over the cap");
        assert_eq!((o.kept, o.held.len()), (300, 1));
        assert!(
            out.errors[0].contains(
                "standby (archive cleanup) holds 3 files (300 bytes) from 000000010000000000000002"
            ),
            "{}",
            out.errors[0]
        );
        assert_eq!(out.removed().count(), 1);
        req.policies.allow_consumer_loss = true;
        let out = run(&req).unwrap();
        assert!(out.over_cap.is_none());
        let removed: Vec<_> = out.removed().map(|i| i.name.as_str()).collect();
        assert_eq!(
            removed,
            ["000000010000000000000002", "000000010000000000000003"]
        );
    }
}
