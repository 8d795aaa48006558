//! `pglcr drill`: a disaster-recovery drill from files alone. The archived WAL is decoded into
//! the spool, the LCR files are shipped to the standby site's directory, applied to the target
//! (up to a point, when asked), and source and target are compared table by table. The report
//! says what was compared, the recovery point reached (RPO), how long each stage took (the
//! drill's RTO), the conflicts seen, and PASS or FAIL.
//!
//! The spool must have been started with `pglcr init` (which also seeds the target), so that
//! the target and the stream begin at the same consistent point.

pub mod demo;
pub mod report;

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use serde::Serialize;

use crate::apply::{self, Until};
use crate::compare;
use crate::decode::DecodeError;
use crate::output::UnknownRelations;
use crate::pgconn::ConnParams;
use crate::spool::{self, SpoolError};
use crate::wal::lsn::Lsn;
use crate::wal::reader::ReadError;
use crate::wal::segment::WalDir;

#[derive(Clone, Debug)]
pub struct Request {
    /// The source database (compared with the target, unless `compare_with` is given).
    pub source: ConnParams,
    /// The WAL archive (`pglcr archive --to`).
    pub wal: PathBuf,
    /// The spool, started by `pglcr init`.
    pub spool: PathBuf,
    /// Where LCR files are shipped (a directory or an ssh:// URL).
    pub ship_to: String,
    /// Where the standby site reads the shipped files; the `ship_to` directory by default.
    pub apply_from: Option<PathBuf>,
    pub target: ConnParams,
    pub until: Option<Until>,
    /// A database holding the source as it was at `until` (a restored copy), to compare the
    /// target with instead of the source, which has moved on since.
    pub compare_with: Option<ConnParams>,
    /// Tables to compare; all by default.
    pub tables: Vec<String>,
    pub max_memory: usize,
    /// Source transactions per target transaction (`pglcr apply --group-commit`).
    pub group_commit: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

#[derive(Clone, Debug, Serialize)]
pub struct Stage {
    pub name: &'static str,
    /// Seconds from the start of the drill.
    pub started: f64,
    pub seconds: f64,
    pub ok: bool,
    /// What the stage did, or why it failed.
    pub detail: String,
    /// Commit time (µs since 2000-01-01) of the newest transaction this stage has handled.
    pub newest_commit: Option<i64>,
}

/// WAL the drill found missing from the archive, and what that loses.
#[derive(Clone, Debug, Serialize)]
pub struct MissingWal {
    pub segment: String,
    pub from_lsn: String,
    /// Where the archive continues (start of the next segment it holds), when it does.
    pub resumes_at: Option<String>,
    /// Transactions committed after this time (the newest one decoded) are not on the target.
    pub lost_after: Option<i64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    /// Unix time (µs) at which the drill started.
    pub started_at: i64,
    pub seconds: f64,
    pub until: Option<String>,
    pub stages: Vec<Stage>,
    /// Commit time of the newest transaction in the archive (decoded), and of the newest one
    /// applied to the target; the RPO is the gap between them.
    pub newest_archived_commit: Option<i64>,
    pub newest_applied_commit: Option<i64>,
    pub rpo_seconds: Option<f64>,
    pub conflicts: u64,
    pub compared_with: String,
    pub comparison: Option<compare::Report>,
    pub missing_wal: Option<MissingWal>,
    /// Why the drill failed, one line per reason.
    pub failures: Vec<String>,
}

struct Clock {
    start: Instant,
}

impl Clock {
    fn since_start(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

/// Runs the drill. Stage failures are part of the report (verdict FAIL), not errors: the
/// drill goes on with what it has, so the report shows how far the standby got.
pub fn run(req: &Request, step: &mut dyn FnMut(&str)) -> Report {
    let clock = Clock {
        start: Instant::now(),
    };
    let started_at = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    let mut failures = Vec::new();
    let mut stages = Vec::new();

    step("decode: archived WAL into the spool");
    let (decode, missing_wal) = decode_stage(req, &clock);
    if !decode.ok {
        failures.push(format!("decode: {}", decode.detail));
    }
    let newest_archived_commit = decode.newest_commit;
    stages.push(decode);

    step("ship: LCR files to the standby site");
    let ship = ship_stage(req, &clock);
    if !ship.ok {
        failures.push(format!("ship: {}", ship.detail));
    }
    stages.push(ship);

    step("apply: LCR files into the target");
    let (apply, conflicts) = apply_stage(req, &clock);
    if !apply.ok {
        failures.push(format!("apply: {}", apply.detail));
    }
    let newest_applied_commit = apply.newest_commit;
    stages.push(apply);

    step("compare: source and target, table by table");
    let compared = req.compare_with.as_ref().unwrap_or(&req.source);
    let compared_with = compared
        .targets
        .first()
        .map(|t| format!("{t} dbname={}", compared.dbname))
        .unwrap_or_default();
    let (compare, comparison) = compare_stage(req, compared, &clock);
    if !compare.ok {
        failures.push(format!("compare: {}", compare.detail));
    }
    stages.push(compare);

    if let Some(m) = &missing_wal {
        failures.push(format!(
            "WAL segment {} is missing from the archive (WAL from {} on)",
            m.segment, m.from_lsn
        ));
    }
    let rpo_seconds = match (newest_archived_commit, newest_applied_commit) {
        (Some(archived), Some(applied)) => Some((archived - applied).max(0) as f64 / 1e6),
        _ => None,
    };
    Report {
        verdict: if failures.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail
        },
        started_at,
        seconds: clock.since_start(),
        until: req.until.map(|u| match u {
            Until::Lsn(l) => l.to_string(),
            Until::Time(t) => report::pg_time_text(t),
        }),
        stages,
        newest_archived_commit,
        newest_applied_commit,
        rpo_seconds,
        conflicts,
        compared_with,
        comparison,
        missing_wal,
        failures,
    }
}

fn stage(name: &'static str, clock: &Clock, started: f64) -> Stage {
    Stage {
        name,
        started,
        seconds: clock.since_start() - started,
        ok: true,
        detail: String::new(),
        newest_commit: None,
    }
}

/// The newest commit time in the spool's LCR files (the last file's header).
fn newest_spool_commit(spool: &std::path::Path) -> Option<i64> {
    let files = crate::lcr::list_dir(spool).ok()?;
    files.iter().rev().find_map(|(_, path)| {
        let header = crate::lcr::LcrFile::open(path).ok()?.header;
        (header.last_lsn != Lsn(0)).then_some(header.last_time)
    })
}

fn decode_stage(req: &Request, clock: &Clock) -> (Stage, Option<MissingWal>) {
    let started = clock.since_start();
    let result = spool::run(
        &spool::Request {
            spool: req.spool.clone(),
            wal_dir: req.wal.clone(),
            catalog: None,
            start: None,
            end: None,
            max_lcr_size: None,
            max_memory: req.max_memory,
            unknown_relations: UnknownRelations::Error,
        },
        None,
    );
    let mut s = stage("decode", clock, started);
    s.newest_commit = newest_spool_commit(&req.spool);
    let mut missing = None;
    match result {
        Ok(summary) => {
            s.detail = format!(
                "read WAL {} to {}, {} transactions, {} changes, {} new LCR files",
                summary.read_from,
                summary.read_to,
                summary.transactions,
                summary.changes,
                summary.files.len()
            );
        }
        Err(e) => {
            s.ok = false;
            s.detail = e.to_string();
            missing = missing_wal(req, &e, s.newest_commit);
        }
    }
    (s, missing)
}

/// What a decode error says about WAL missing from the archive.
fn missing_wal(req: &Request, e: &SpoolError, lost_after: Option<i64>) -> Option<MissingWal> {
    let (segment, lsn) = match e {
        SpoolError::SegmentRemoved { name, lsn, .. } => (name.clone(), *lsn),
        SpoolError::Decode(DecodeError::Read(ReadError::MissingSegment { name, lsn, .. })) => {
            (name.clone(), *lsn)
        }
        _ => return None,
    };
    let state = spool::State::load(&req.spool).ok().flatten();
    let resumes_at = state.and_then(|st| {
        let seg_size = st.wal_segment_size;
        let dir = WalDir::new(&req.wal);
        let first = lsn.0 / seg_size + 1;
        // Bounded: an archive rarely has gaps wider than this, and the report only needs to
        // say where it continues.
        (first..first + 4096)
            .find(|&segno| dir.find(st.timeline, segno, seg_size).is_some())
            .map(|segno| Lsn(segno * seg_size).to_string())
    });
    Some(MissingWal {
        segment,
        from_lsn: lsn.to_string(),
        resumes_at,
        lost_after,
    })
}

fn ship_stage(req: &Request, clock: &Clock) -> Stage {
    let started = clock.since_start();
    let ship_command = std::env::var("PGLCR_SSH")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| crate::ship::DEFAULT_SSH.to_string());
    let result = crate::ship::run(
        &crate::ship::Request {
            spool: req.spool.clone(),
            to: req.ship_to.clone(),
            name: None,
            mode: crate::ship::Mode::Ship,
            jobs: 1,
            max_rate: None,
            ssh_command: ship_command,
            backoff: crate::ship::transport::Backoff {
                retries: 5,
                first_delay: std::time::Duration::from_secs(1),
                max_delay: std::time::Duration::from_secs(60),
            },
            on_retry: |_, _| {},
        },
        None,
    );
    let mut s = stage("ship", clock, started);
    match result {
        Ok(summary) => {
            s.detail = format!(
                "{} files ({} bytes) shipped to {}",
                summary.files, summary.bytes, req.ship_to
            );
            if let Some(f) = summary.failure {
                s.ok = false;
                s.detail = f.to_string();
            }
        }
        Err(e) => {
            s.ok = false;
            s.detail = e.to_string();
        }
    }
    if let Some(dir) = apply_dir(req) {
        s.newest_commit = newest_spool_commit(&dir);
    }
    s
}

/// The directory the target site applies from.
fn apply_dir(req: &Request) -> Option<PathBuf> {
    req.apply_from
        .clone()
        .or_else(|| (!req.ship_to.starts_with("ssh://")).then(|| PathBuf::from(&req.ship_to)))
}

fn apply_stage(req: &Request, clock: &Clock) -> (Stage, u64) {
    let started = clock.since_start();
    let Some(from) = apply_dir(req) else {
        let mut s = stage("apply", clock, started);
        s.ok = false;
        s.detail = "the LCR files were shipped over ssh: give --apply-from, the directory the \
                    target site reads them from"
            .into();
        return (s, 0);
    };
    let result = apply::run(
        &apply::Request {
            from,
            target: req.target.clone(),
            origin: None,
            progress: None,
            policies: apply::Policies::default(),
            until: req.until,
            tables: apply::TableFilter::default(),
            group_commit: req.group_commit,
            dry_run: false,
            conflict_config: apply::ConflictConfig::default(),
            apply_delay: None,
            follow: false,
            poll_interval: std::time::Duration::from_secs(1),
        },
        &mut std::io::sink(),
    );
    let mut s = stage("apply", clock, started);
    match result {
        Ok(summary) => {
            let c = &summary.counters;
            s.detail = format!(
                "{} transactions applied ({} inserts, {} updates, {} deletes, {} truncates), \
                 position {} -> {}{}",
                c.commits,
                c.inserts,
                c.updates,
                c.deletes,
                c.truncates,
                summary.from,
                summary.to,
                if summary.stopped == Some(apply::Stopped::Until) {
                    ", stopped at --until"
                } else {
                    ""
                }
            );
            s.newest_commit = summary.last_commit_time;
            let conflicts = c.insert_conflicts + c.update_conflicts + c.delete_conflicts;
            (s, conflicts)
        }
        Err(e) => {
            s.ok = false;
            s.detail = e.to_string();
            (s, 0)
        }
    }
}

fn compare_stage(
    req: &Request,
    with: &ConnParams,
    clock: &Clock,
) -> (Stage, Option<compare::Report>) {
    let started = clock.since_start();
    let result = compare::compare(&compare::Request {
        a: with.clone(),
        b: req.target.clone(),
        tables: req.tables.clone(),
        sample: 5,
    });
    let mut s = stage("compare", clock, started);
    match result {
        Ok(report) => {
            let differ = report
                .tables
                .iter()
                .filter(|t| t.status != compare::Status::Equal);
            let names: Vec<&str> = differ.map(|t| t.table.as_str()).collect();
            s.detail = if names.is_empty() {
                format!("{} tables equal", report.tables.len())
            } else {
                s.ok = false;
                format!(
                    "{} of {} tables differ: {}",
                    names.len(),
                    report.tables.len(),
                    names.join(", ")
                )
            };
            (s, Some(report))
        }
        Err(e) => {
            s.ok = false;
            s.detail = e.to_string();
            (s, None)
        }
    }
}
