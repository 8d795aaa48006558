//! `pglcr status`: one view of the pipeline, per stage (archive, decode, each ship
//! destination, each apply consumer): position, lag in bytes and time, files and bytes held,
//! what holds retention back, and the errors known; as text, JSON or Prometheus textfile
//! metrics.
//!
//! Lag in time compares commit times from the LCR headers (and, for apply consumers, the
//! commit time the target recorded): the newest decoded commit against the newest commit a
//! stage has, or, when that file is gone, the oldest commit it still lacks.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::lcr::format::Header;
use crate::lcr::{self, LcrName};
use crate::retain::{self, consumers, FileKind, Hold, LastRun};
use crate::ship::state as ship_state;
use crate::spool::State;
use crate::wal::lsn::{parse_segment_file_name, segno_from_parts, Lsn};
use crate::wal::segment::segment_name_part;

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01), for LCR header times.
const PG_EPOCH_UNIX_US: i64 = 946_684_800_000_000;

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("{0}")]
    Usage(String),
    #[error("could not list \"{}\": {source}", .path.display())]
    List {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Clone, Debug, Default)]
pub struct Request {
    pub archive: Option<PathBuf>,
    pub spools: Vec<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct Status {
    pub generated_at: String,
    pub archive: Option<ArchiveStatus>,
    pub spools: Vec<SpoolStatus>,
}

impl Status {
    /// Every error and broken consumer, for the exit status.
    pub fn problems(&self) -> usize {
        self.archive.as_ref().map_or(0, |a| a.errors.len())
            + self
                .spools
                .iter()
                .map(|s| {
                    s.errors.len()
                        + s.stages()
                            .filter(|t| t.broken.is_some() || t.error.is_some())
                            .count()
                })
                .sum::<usize>()
    }
}

#[derive(Debug, Default, Serialize)]
pub struct ArchiveStatus {
    pub dir: PathBuf,
    /// Segment files (plain, partial, compressed).
    pub segments: u64,
    pub bytes: u64,
    pub oldest_segment: Option<String>,
    pub newest_segment: Option<String>,
    /// Where the newest segment ends, when a spool gives the segment size.
    pub newest_end_lsn: Option<String>,
    pub history_files: u64,
    pub other_files: u64,
    pub errors: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct DecodeStatus {
    pub start_lsn: String,
    pub resume_lsn: String,
    pub restart_lsn: String,
    /// The oldest WAL segment the decoder needs.
    pub restart_segment: String,
    pub last_file: Option<String>,
    /// The newest commit in the spool's LCR files.
    pub newest_commit_lsn: Option<String>,
    pub newest_commit_time: Option<String>,
    /// WAL in the archive not yet decoded.
    pub lag_bytes: Option<u64>,
    pub lcr_files: u64,
    pub lcr_bytes: u64,
}

/// A ship destination or an apply consumer.
#[derive(Debug, Default, Serialize)]
pub struct StageStatus {
    pub name: String,
    /// `ship` or `apply`.
    pub stage: &'static str,
    /// The destination, or where the apply position is read (password hidden).
    pub target: String,
    /// Last LCR file acknowledged (ship).
    pub position_file: Option<String>,
    /// End of the last commit applied (apply), or last commit of the acknowledged file (ship).
    pub position_lsn: Option<String>,
    pub position_commit_time: Option<String>,
    pub lag_bytes: Option<u64>,
    pub lag_seconds: Option<f64>,
    /// LCR files of the spool kept for this stage.
    pub files_held: u64,
    pub bytes_held: u64,
    pub broken: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct HeldStatus {
    pub holder: String,
    pub files: u64,
    pub bytes: u64,
    pub oldest: String,
    pub reason: String,
}

#[derive(Debug, Default, Serialize)]
pub struct SpoolStatus {
    pub dir: PathBuf,
    pub decode: Option<DecodeStatus>,
    pub destinations: Vec<StageStatus>,
    pub consumers: Vec<StageStatus>,
    /// What keeps files (WAL and LCR) from being removed, by holder.
    pub retention_held_by: Vec<HeldStatus>,
    pub last_retain: Option<LastRun>,
    pub errors: Vec<String>,
}

impl SpoolStatus {
    fn stages(&self) -> impl Iterator<Item = &StageStatus> {
        self.destinations.iter().chain(&self.consumers)
    }
}

fn pg_time(us: i64) -> Option<String> {
    (us != 0)
        .then(|| jiff::Timestamp::from_microsecond(us + PG_EPOCH_UNIX_US).ok())
        .flatten()
        .map(|t| t.to_string())
}

fn lag_seconds(newest: i64, at: i64) -> Option<f64> {
    (newest != 0 && at != 0).then(|| (newest - at).max(0) as f64 / 1e6)
}

fn read_header(path: &Path) -> Option<Header> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(u64::from(u16::MAX)).read_to_end(&mut buf))
        .ok()?;
    Header::decode(&buf).ok().map(|(h, _)| h)
}

fn archive_status(dir: &Path, seg_size: Option<u64>) -> Result<ArchiveStatus, StatusError> {
    let mut a = ArchiveStatus {
        dir: dir.to_path_buf(),
        ..Default::default()
    };
    let entries = std::fs::read_dir(dir).map_err(|source| StatusError::List {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut segments = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(seg) = segment_name_part(&name) {
            segments.push(seg.to_string());
            a.segments += 1;
            a.bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
        } else if name.ends_with(".history") {
            a.history_files += 1;
        } else {
            a.other_files += 1;
        }
    }
    // Timeline aside, as PostgreSQL orders archived WAL.
    segments.sort_by(|x, y| x[8..].cmp(&y[8..]).then(x.cmp(y)));
    a.oldest_segment = segments.first().cloned();
    a.newest_segment = segments.last().cloned();
    if let (Some(newest), Some(size)) = (&a.newest_segment, seg_size) {
        if let Some((_, log, seg)) = parse_segment_file_name(newest) {
            a.newest_end_lsn = Some(Lsn((segno_from_parts(log, seg, size) + 1) * size).to_string());
        }
    }
    Ok(a)
}

/// The status of one spool. `archive_end` is where the archived WAL ends.
fn spool_status(dir: &Path, archive_end: Option<Lsn>) -> SpoolStatus {
    let mut s = SpoolStatus {
        dir: dir.to_path_buf(),
        ..Default::default()
    };
    let state = match State::load(dir) {
        Ok(Some(state)) => Some(state),
        Ok(None) => {
            s.errors.push(format!(
                "spool \"{}\" has no state: never decoded",
                dir.display()
            ));
            None
        }
        Err(e) => {
            s.errors.push(e.to_string());
            None
        }
    };
    let files = match lcr::list_dir(dir) {
        Ok(f) => f,
        Err(e) => {
            s.errors
                .push(format!("could not list spool \"{}\": {e}", dir.display()));
            Vec::new()
        }
    };
    let sizes: Vec<u64> = files
        .iter()
        .map(|(_, p)| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .collect();
    let newest = files.last().and_then(|(_, p)| read_header(p));
    let newest_lsn = newest.as_ref().map(|h| h.last_lsn);
    let newest_time = newest.as_ref().map_or(0, |h| h.last_time);
    if let Some(st) = &state {
        let restart = st.restart_lsn.parse::<Lsn>().unwrap_or_default();
        let resume = st.resume_lsn.parse::<Lsn>().unwrap_or_default();
        s.decode = Some(DecodeStatus {
            start_lsn: st.start_lsn.clone(),
            resume_lsn: st.resume_lsn.clone(),
            restart_lsn: st.restart_lsn.clone(),
            restart_segment: crate::wal::lsn::segment_file_name(
                st.timeline,
                restart.0 / st.wal_segment_size,
                st.wal_segment_size,
            ),
            last_file: st.last_file.clone(),
            newest_commit_lsn: newest_lsn.map(|l| l.to_string()),
            newest_commit_time: pg_time(newest_time),
            lag_bytes: archive_end.map(|end| end.0.saturating_sub(resume.0)),
            lcr_files: files.len() as u64,
            lcr_bytes: sizes.iter().sum(),
        });
    }
    let decoded_lsn = newest_lsn.or_else(|| {
        state
            .as_ref()
            .and_then(|st| st.resume_lsn.parse::<Lsn>().ok())
    });
    // The oldest file after position `i` (exclusive) that still exists, for lag when the
    // stage's own newest file is gone.
    let first_after = |name: Option<LcrName>| {
        files
            .iter()
            .position(|(n, _)| name.is_none_or(|a| *n > a))
            .map(|i| (i, read_header(&files[i].1)))
    };
    let held = |from: Option<usize>| -> (u64, u64) {
        from.map_or((0, 0), |i| {
            ((files.len() - i) as u64, sizes[i..].iter().sum::<u64>())
        })
    };
    match ship_state::destinations(dir) {
        Ok(dests) => {
            for d in dests {
                let acked = d.acked.as_deref().and_then(LcrName::parse);
                let mut t = StageStatus {
                    name: d.name.clone(),
                    stage: "ship",
                    target: d.to.clone(),
                    position_file: d.acked.clone(),
                    broken: d.broken.clone(),
                    ..Default::default()
                };
                let acked_header = d.acked.as_ref().and_then(|a| read_header(&dir.join(a)));
                if let Some(h) = &acked_header {
                    t.position_lsn = Some(h.last_lsn.to_string());
                    t.position_commit_time = pg_time(h.last_time);
                }
                match first_after(acked) {
                    None => {
                        t.lag_bytes = Some(0);
                        t.lag_seconds = Some(0.0);
                    }
                    Some((i, pending)) => {
                        (t.files_held, t.bytes_held) = held(Some(i));
                        // Behind by everything from the oldest commit not yet shipped.
                        let (at_lsn, at_time) = match (&acked_header, &pending) {
                            (Some(h), _) => (Some(h.last_lsn), h.last_time),
                            (None, Some(p)) => (Some(p.first_lsn), p.first_time),
                            _ => (None, 0),
                        };
                        t.lag_bytes = decoded_lsn
                            .zip(at_lsn)
                            .map(|(n, a)| n.0.saturating_sub(a.0));
                        t.lag_seconds = lag_seconds(newest_time, at_time);
                    }
                }
                s.destinations.push(t);
            }
        }
        Err(e) => s.errors.push(e.to_string()),
    }
    let origin = state
        .as_ref()
        .map(|st| format!("pglcr_{}_{}", st.system_identifier, st.database_oid))
        .unwrap_or_default();
    match consumers::registered(dir) {
        Ok(list) => {
            for c in list {
                let mut t = StageStatus {
                    name: c.name.clone(),
                    stage: "apply",
                    target: c.source().to_string(),
                    broken: c.broken.clone(),
                    ..Default::default()
                };
                match consumers::applied(&c, &origin) {
                    Ok(a) => {
                        t.position_lsn = Some(a.lsn.to_string());
                        t.position_commit_time = a.commit_time.clone();
                        t.lag_bytes = decoded_lsn.map(|n| n.0.saturating_sub(a.lsn.0));
                        // The first file holding a commit the consumer has not applied.
                        let pending = files
                            .iter()
                            .position(|(_, p)| read_header(p).is_none_or(|h| h.last_lsn >= a.lsn));
                        (t.files_held, t.bytes_held) = held(pending);
                        t.lag_seconds = match pending {
                            None => Some(0.0),
                            Some(i) => read_header(&files[i].1).and_then(|h| {
                                // The oldest unapplied commit in that file is no older than
                                // its first one.
                                lag_seconds(newest_time, h.first_time)
                            }),
                        };
                    }
                    Err(e) => t.error = Some(e.to_string()),
                }
                s.consumers.push(t);
            }
        }
        Err(e) => s.errors.push(e.to_string()),
    }
    match LastRun::load(dir) {
        Ok(run) => s.last_retain = run,
        Err(e) => s.errors.push(e.to_string()),
    }
    s
}

/// Gathers the status of the archive and the spools. Problems found are part of the status;
/// only invalid requests are errors.
pub fn gather(req: &Request) -> Result<Status, StatusError> {
    if req.archive.is_none() && req.spools.is_empty() {
        return Err(StatusError::Usage(
            "give the WAL archive (--archive DIR) and/or spools (--spool DIR)".into(),
        ));
    }
    let seg_size = req
        .spools
        .iter()
        .find_map(|s| State::load(s).ok().flatten().map(|st| st.wal_segment_size));
    let archive = req
        .archive
        .as_deref()
        .map(|a| archive_status(a, seg_size))
        .transpose()?;
    let archive_end = archive
        .as_ref()
        .and_then(|a| a.newest_end_lsn.as_deref())
        .and_then(|l| l.parse::<Lsn>().ok());
    let mut spools: Vec<SpoolStatus> = req
        .spools
        .iter()
        .map(|s| spool_status(s, archive_end))
        .collect();
    // What holds retention back: a dry run of pglcr retain over the same directories.
    if !spools.is_empty() {
        let dry = retain::Request {
            archive: req.archive.clone(),
            spools: req.spools.clone(),
            ..Default::default()
        };
        match retain::run(&dry) {
            Ok(outcome) => {
                for s in &mut spools {
                    let mut by: Vec<HeldStatus> = Vec::new();
                    for it in outcome.items.iter().filter(|i| !i.removed()) {
                        let mine = match it.kind {
                            FileKind::Lcr => it.path.parent() == Some(&s.dir),
                            FileKind::Wal => it.holds.iter().any(
                                |h| matches!(h, Hold::Decoder { spool, .. } if *spool == s.dir),
                            ),
                        };
                        if !mine {
                            continue;
                        }
                        for h in &it.holds {
                            let holder = h.holder();
                            match by.iter_mut().find(|b| b.holder == holder) {
                                Some(b) => {
                                    b.files += 1;
                                    b.bytes += it.size;
                                }
                                None => by.push(HeldStatus {
                                    holder,
                                    files: 1,
                                    bytes: it.size,
                                    oldest: it.name.clone(),
                                    reason: h.to_string(),
                                }),
                            }
                        }
                    }
                    s.retention_held_by = by;
                }
            }
            Err(e) => {
                for s in &mut spools {
                    s.errors.push(format!("retention: {e}"));
                }
            }
        }
    }
    Ok(Status {
        generated_at: jiff::Timestamp::now().to_string(),
        archive,
        spools,
    })
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// The status for people.
pub fn render_text(st: &Status) -> String {
    let mut o = String::new();
    if let Some(a) = &st.archive {
        o.push_str(&format!(
            "archive {}: {} segments ({}), oldest {}, newest {} (ends at {}), {} history files, {} other files\n",
            a.dir.display(),
            a.segments,
            human_bytes(a.bytes),
            opt(&a.oldest_segment),
            opt(&a.newest_segment),
            opt(&a.newest_end_lsn),
            a.history_files,
            a.other_files
        ));
        for e in &a.errors {
            o.push_str(&format!("  error: {e}\n"));
        }
    }
    for s in &st.spools {
        o.push_str(&format!("spool {}\n", s.dir.display()));
        if let Some(d) = &s.decode {
            o.push_str(&format!(
                "  decode: resume {}, restart {} (needs WAL from {}), last file {}, newest commit {} at {}; {} LCR files ({}); WAL not yet decoded: {}\n",
                d.resume_lsn,
                d.restart_lsn,
                d.restart_segment,
                opt(&d.last_file),
                opt(&d.newest_commit_lsn),
                opt(&d.newest_commit_time),
                d.lcr_files,
                human_bytes(d.lcr_bytes),
                d.lag_bytes.map_or("-".into(), human_bytes)
            ));
        }
        for t in s.stages() {
            let position = match t.stage {
                "ship" => format!("acknowledged {}", opt(&t.position_file)),
                _ => format!("applied up to {}", opt(&t.position_lsn)),
            };
            o.push_str(&format!(
                "  {} {} ({}): {position}, commit time {}; lag {}, {}; holds {} files ({})\n",
                t.stage,
                t.name,
                t.target,
                opt(&t.position_commit_time),
                t.lag_bytes.map_or("-".into(), human_bytes),
                t.lag_seconds.map_or("-".into(), |s| format!("{s:.1} s")),
                t.files_held,
                human_bytes(t.bytes_held)
            ));
            if let Some(b) = &t.broken {
                o.push_str(&format!("    BROKEN: {b}\n"));
            }
            if let Some(e) = &t.error {
                o.push_str(&format!("    error: {e}\n"));
            }
        }
        for h in &s.retention_held_by {
            o.push_str(&format!(
                "  retention held back by {}: {} files ({}) from {} on: {}\n",
                h.holder,
                h.files,
                human_bytes(h.bytes),
                h.oldest,
                h.reason
            ));
        }
        if let Some(r) = &s.last_retain {
            o.push_str(&format!(
                "  last retain run {}: removed {} files ({}), kept {} files ({}){}\n",
                r.finished_at,
                r.removed_files,
                human_bytes(r.removed_bytes),
                r.kept_files,
                human_bytes(r.kept_bytes),
                if r.errors.is_empty() {
                    String::new()
                } else {
                    format!("; errors: {}", r.errors.join("; "))
                }
            ));
        }
        for e in &s.errors {
            o.push_str(&format!("  error: {e}\n"));
        }
    }
    o
}

pub fn render_json(st: &Status) -> String {
    let mut s = serde_json::to_string_pretty(st).expect("status serializes");
    s.push('\n');
    s
}

/// A label value as the Prometheus text format escapes it.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Metrics {
    out: String,
    declared: Vec<&'static str>,
}

impl Metrics {
    fn put(&mut self, name: &'static str, help: &str, labels: &[(&str, &str)], value: f64) {
        if !self.declared.contains(&name) {
            self.declared.push(name);
            self.out
                .push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        }
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
            .collect();
        self.out
            .push_str(&format!("{name}{{{}}} {value}\n", labels.join(",")));
    }
}

fn lsn_value(text: &Option<String>) -> Option<f64> {
    text.as_deref()
        .and_then(|t| t.parse::<Lsn>().ok())
        .map(|l| l.0 as f64)
}

fn time_value(text: &Option<String>) -> Option<f64> {
    text.as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond() as f64 / 1000.0)
}

/// One metric value: name, help text, labels.
type Sample = (&'static str, &'static str, Vec<(&'static str, String)>, f64);

/// The status as node_exporter's textfile collector reads it. Metrics are grouped by name
/// (the format wants each metric's samples together).
pub fn render_prometheus(st: &Status) -> String {
    let mut samples: Vec<Sample> = Vec::new();
    let mut add = |name, help, labels: Vec<(&'static str, String)>, v: Option<f64>| {
        if let Some(v) = v {
            samples.push((name, help, labels, v));
        }
    };
    if let Some(a) = &st.archive {
        let l = || vec![("archive", a.dir.display().to_string())];
        add(
            "pglcr_archive_segments",
            "WAL segment files in the archive",
            l(),
            Some(a.segments as f64),
        );
        add(
            "pglcr_archive_bytes",
            "Bytes of WAL segment files in the archive",
            l(),
            Some(a.bytes as f64),
        );
        add(
            "pglcr_archive_end_lsn",
            "End of the newest archived segment, as a byte position",
            l(),
            lsn_value(&a.newest_end_lsn),
        );
        add(
            "pglcr_archive_errors",
            "Errors reading the archive",
            l(),
            Some(a.errors.len() as f64),
        );
    }
    for s in &st.spools {
        let spool = s.dir.display().to_string();
        let l = || vec![("spool", spool.clone())];
        if let Some(d) = &s.decode {
            add(
                "pglcr_decode_resume_lsn",
                "Position up to which the spool's LCR files are complete",
                l(),
                lsn_value(&Some(d.resume_lsn.clone())),
            );
            add(
                "pglcr_decode_restart_lsn",
                "Oldest WAL position the decoder still needs",
                l(),
                lsn_value(&Some(d.restart_lsn.clone())),
            );
            add(
                "pglcr_decode_lag_bytes",
                "Archived WAL not yet decoded",
                l(),
                d.lag_bytes.map(|b| b as f64),
            );
            add(
                "pglcr_decode_newest_commit_timestamp_seconds",
                "Commit time of the newest decoded transaction",
                l(),
                time_value(&d.newest_commit_time),
            );
            add(
                "pglcr_spool_lcr_files",
                "LCR files in the spool",
                l(),
                Some(d.lcr_files as f64),
            );
            add(
                "pglcr_spool_lcr_bytes",
                "Bytes of LCR files in the spool",
                l(),
                Some(d.lcr_bytes as f64),
            );
        }
        for t in s.stages() {
            let l = || {
                let key = if t.stage == "ship" {
                    "destination"
                } else {
                    "consumer"
                };
                vec![("spool", spool.clone()), (key, t.name.clone())]
            };
            let (lag_b, lag_s, held_f, held_b, broken, up) = if t.stage == "ship" {
                (
                    "pglcr_ship_lag_bytes",
                    "pglcr_ship_lag_seconds",
                    "pglcr_ship_files_held",
                    "pglcr_ship_bytes_held",
                    "pglcr_ship_broken",
                    "pglcr_ship_up",
                )
            } else {
                (
                    "pglcr_apply_lag_bytes",
                    "pglcr_apply_lag_seconds",
                    "pglcr_apply_files_held",
                    "pglcr_apply_bytes_held",
                    "pglcr_apply_broken",
                    "pglcr_apply_up",
                )
            };
            add(
                lag_b,
                "Bytes of decoded WAL the stage has not got yet",
                l(),
                t.lag_bytes.map(|b| b as f64),
            );
            add(
                lag_s,
                "Seconds between the newest decoded commit and the stage's",
                l(),
                t.lag_seconds,
            );
            add(
                held_f,
                "LCR files kept for the stage",
                l(),
                Some(t.files_held as f64),
            );
            add(
                held_b,
                "Bytes of LCR files kept for the stage",
                l(),
                Some(t.bytes_held as f64),
            );
            add(
                broken,
                "1 when files the stage needed were removed",
                l(),
                Some(f64::from(u8::from(t.broken.is_some()))),
            );
            add(
                up,
                "1 when the stage's position could be read",
                l(),
                Some(f64::from(u8::from(t.error.is_none()))),
            );
        }
        for h in &s.retention_held_by {
            add(
                "pglcr_retention_held_bytes",
                "Bytes kept by each holder of retention",
                vec![("spool", spool.clone()), ("holder", h.holder.clone())],
                Some(h.bytes as f64),
            );
        }
        if let Some(r) = &s.last_retain {
            add(
                "pglcr_retain_last_run_timestamp_seconds",
                "When pglcr retain --confirm last ended",
                l(),
                time_value(&Some(r.finished_at.clone())),
            );
            add(
                "pglcr_retain_last_run_errors",
                "Errors of the last pglcr retain --confirm run",
                l(),
                Some(r.errors.len() as f64),
            );
            add(
                "pglcr_retain_last_run_removed_bytes",
                "Bytes the last pglcr retain --confirm run removed",
                l(),
                Some(r.removed_bytes as f64),
            );
        }
        add(
            "pglcr_status_errors",
            "Problems found reading the spool's state",
            l(),
            Some(s.errors.len() as f64),
        );
    }
    samples.sort_by_key(|(name, ..)| *name);
    let mut m = Metrics {
        out: String::new(),
        declared: Vec::new(),
    };
    for (name, help, labels, v) in samples {
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        m.put(name, help, &labels, v);
    }
    m.out
}
