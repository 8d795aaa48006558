//! `pglcr decode`: WAL → logical decoder → output plugin text, as PostgreSQL's logical
//! decoding with test_decoding or wal2json would print for a slot, or pglcr's own JSON lines.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::catalog::follow::{FollowError, Follower};
use crate::catalog::{Catalog, CatalogError, Versions};
use crate::dump::{locate, DumpError, RangeRequest};
use crate::logical::Event;
use crate::logical::{self, Decoder, DecoderOptions};
use crate::output::driver::{Driver, Events};
use crate::output::{json, test_decoding, wal2json, OutputError, Resolver, Sink, UnknownRelations};
use crate::tuple::types::{OutputContext, TypeError};
use crate::wal::lsn::{parse_segment_file_name, segno_from_parts, Lsn};
use crate::wal::reader::{EndOfWal, ReadError, Reader};
use crate::wal::segment::segment_name_part;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Follow(Box<FollowError>),
    #[error(transparent)]
    Range(#[from] DumpError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Decode(#[from] logical::DecodeError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("output settings from the catalog: {0}")]
    Settings(#[from] TypeError),
    #[error("the catalog is from database system {catalog}, the WAL from {wal}")]
    OtherSystem { catalog: String, wal: u64 },
    #[error("could not write output: {0}")]
    Write(std::io::Error),
}

/// Events handed from the decoding thread to the rendering one at a time, and how many such
/// batches may wait: enough to smooth out bursts, few enough to keep memory bounded.
const EVENTS_PER_BATCH: usize = 256;
const EVENT_BATCHES_IN_FLIGHT: usize = 8;
/// Records between two updates of the reading position shown by a progress bar.
const PROGRESS_EVERY: u64 = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    TestDecoding,
    Wal2json,
    /// pglcr's own JSON lines, one object per change (README.md, "pglcr decode").
    Json,
}

#[derive(Clone, Debug)]
pub struct Request {
    pub catalog: PathBuf,
    pub start: Option<Lsn>,
    pub end: Option<Lsn>,
    pub path: Option<PathBuf>,
    pub segments: Vec<String>,
    pub timeline: Option<u32>,
    pub format: Format,
    /// Plugin options, `name` or `name=value`.
    pub plugin_options: Vec<(String, Option<String>)>,
    pub two_phase: bool,
    pub unknown_relations: UnknownRelations,
    pub timezone: Option<String>,
    /// Memory for queued changes before transactions are spilled to disk.
    pub max_memory: usize,
    /// Directory for spill files (the system's temporary directory when `None`).
    pub spill_dir: Option<PathBuf>,
}

#[derive(Debug)]
pub struct Summary {
    pub start: Lsn,
    pub end: Option<EndOfWal>,
    pub open_transactions: usize,
}

/// The WAL range to read, which must be from the catalog's database system.
fn resolve_range(catalog: &Catalog, req: &RangeRequest) -> Result<locate::Range, DecodeError> {
    let range = locate::resolve(req)?;
    if catalog.file.system_identifier != range.info.sysid.to_string() {
        return Err(DecodeError::OtherSystem {
            catalog: catalog.file.system_identifier.clone(),
            wal: range.info.sysid,
        });
    }
    Ok(range)
}

pub fn run(req: &Request, out: &mut dyn Write) -> Result<Summary, DecodeError> {
    let catalog = Catalog::load(&req.catalog)?;
    let start = req.start.unwrap_or(catalog.taken_at);
    let range = resolve_range(
        &catalog,
        &RangeRequest {
            path: req.path.clone(),
            start_seg: req.segments.first().cloned(),
            end_seg: (req.segments.len() > 1).then(|| req.segments[req.segments.len() - 1].clone()),
            start: Some(start),
            end: req.end,
            timeline: req.timeline,
        },
    )?;
    let mut ctx = OutputContext::from_catalog(&catalog)?;
    if let Some(tz) = &req.timezone {
        ctx.set_time_zone(tz)?;
    }
    // Catalog versions learnt from the WAL's DDL live as long as the output that uses them.
    let versions = Versions::new();
    let resolver = Resolver::new(&catalog, req.unknown_relations, ctx.clone()).following(&versions);
    // test_decoding's regression tests leave prepared transactions whose GID contains
    // "_nodecode" to COMMIT PREPARED; pglcr's own format has no such filter.
    let mut skip_gid = Some("_nodecode".to_string());
    let (mut writer, two_phase): (Box<dyn Events>, bool) = match req.format {
        Format::TestDecoding => {
            let mut plugin = test_decoding::Options::default();
            for (name, value) in &req.plugin_options {
                test_decoding::set_option(&mut plugin, name, value.as_deref())
                    .map_err(DecodeError::Usage)?;
            }
            let w = test_decoding::Writer::new(plugin, &catalog, ctx);
            (Box::new(Driver::new(w, resolver)), req.two_phase)
        }
        Format::Wal2json => {
            let mut plugin = wal2json::Options::default();
            for (name, value) in &req.plugin_options {
                wal2json::set_option(&mut plugin, name, value.as_deref())
                    .map_err(DecodeError::Usage)?;
            }
            // wal2json has no two-phase callbacks: PostgreSQL decodes prepared transactions
            // at COMMIT PREPARED for it even on a two_phase slot.
            let w = wal2json::Writer::new(plugin, &catalog, ctx);
            (Box::new(Driver::new(w, resolver)), false)
        }
        Format::Json => {
            for (name, value) in &req.plugin_options {
                json::set_option(name, value.as_deref()).map_err(DecodeError::Usage)?;
            }
            skip_gid = None;
            let w = json::Writer::new(&catalog, ctx);
            (Box::new(Driver::new(w, resolver)), req.two_phase)
        }
    };
    let mut decoder = Decoder::new(DecoderOptions {
        database: catalog.database_oid(),
        start,
        two_phase,
        two_phase_skip_gid: skip_gid,
        max_memory: req.max_memory,
        spill_dir: req.spill_dir.clone(),
        resume: None,
    });
    let follower = warmed_follower(&catalog, &range, start)?;
    decoder.follow_catalog(follower);
    let mut reader = range.reader();
    reader.find_first_record(start)?;
    let mut sink = Sink::new(out);
    let pumped = pump(reader, decoder, writer.as_mut(), &mut sink, None)?;
    sink.flush()?;
    Ok(Summary {
        start,
        end: pumped.end,
        open_transactions: pumped.decoder.open_transactions(),
    })
}

/// A follower of `catalog`, warmed up for decoding from `start` in `range`'s WAL.
fn warmed_follower(
    catalog: &Catalog,
    range: &locate::Range,
    start: Lsn,
) -> Result<Follower, DecodeError> {
    let mut follower = Follower::new(catalog)?;
    warm_up(
        &mut follower,
        catalog,
        &range.dir,
        range.tli,
        range.seg_size,
        start,
    )?;
    Ok(follower)
}

/// Reads the WAL from the redo point recorded with the catalog up to `start`, so that the
/// catalog pages DDL changes later are known whole (see [`Follower::warm_up_from`]). A catalog
/// that does not record it is warmed up from the oldest segment of the directory.
pub(crate) fn warm_up(
    follower: &mut Follower,
    catalog: &Catalog,
    dir: &std::path::Path,
    tli: u32,
    seg_size: u64,
    start: Lsn,
) -> Result<(), DecodeError> {
    let from = Follower::warm_up_from(catalog).or_else(|| oldest_segment_start(dir, tli, seg_size));
    let Some(redo) = from.filter(|&r| r < start) else {
        follower.read_from(start);
        return Ok(());
    };
    follower.read_from(redo);
    let range = locate::resolve(&RangeRequest {
        path: Some(dir.to_path_buf()),
        start_seg: None,
        end_seg: None,
        start: Some(redo),
        end: Some(start),
        timeline: Some(tli),
    })?;
    let mut reader = range.reader();
    reader.find_first_record(redo)?;
    while let Some(rec) = reader.next_record()? {
        if rec.lsn >= start {
            break;
        }
        follower.warm_up(&rec)?;
    }
    Ok(())
}

/// Where the oldest segment of timeline `tli` in `dir` starts.
fn oldest_segment_start(dir: &std::path::Path, tli: u32, seg_size: u64) -> Option<Lsn> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let (t, log, seg) = segment_name_part(&name).and_then(parse_segment_file_name)?;
            (t == tli).then(|| segno_from_parts(log, seg, seg_size) * seg_size)
        })
        .min()
        .map(Lsn)
}

/// What [`pump`] leaves behind.
pub(crate) struct Pumped {
    pub end: Option<EndOfWal>,
    /// The position after the last record read.
    pub end_rec: Lsn,
    pub decoder: Decoder,
}

/// Reads records until the WAL ends, decodes them and passes the events on, in order. With
/// more than one thread, WAL is read and decoded on a thread of its own while this one renders:
/// the two halves cost about the same. `progress`, when given, follows the reading position.
pub(crate) fn pump(
    mut reader: Reader,
    mut decoder: Decoder,
    events: &mut dyn Events,
    sink: &mut Sink<'_>,
    progress: Option<&AtomicU64>,
) -> Result<Pumped, DecodeError> {
    let note = |at: Lsn| {
        if let Some(p) = progress {
            p.store(at.0, Ordering::Relaxed);
        }
    };
    let mut records = 0u64;
    if rayon::current_num_threads() <= 1 {
        let end = loop {
            let Some(rec) = reader.next_record()? else {
                break reader.end_reason().cloned();
            };
            decoder.feed(&rec)?;
            while let Some(event) = decoder.pop() {
                events.event(event, sink)?;
            }
            sink.maybe_flush()?;
            records += 1;
            if records.is_multiple_of(PROGRESS_EVERY) {
                note(rec.end);
            }
        };
        note(reader.end_rec_ptr());
        events.finish(sink)?;
        return Ok(Pumped {
            end,
            end_rec: reader.end_rec_ptr(),
            decoder,
        });
    }
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Event>>(EVENT_BATCHES_IN_FLIGHT);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || -> Result<Option<Pumped>, DecodeError> {
            let mut batch = Vec::new();
            let end = loop {
                let Some(rec) = reader.next_record()? else {
                    break reader.end_reason().cloned();
                };
                decoder.feed(&rec)?;
                batch.extend(std::iter::from_fn(|| decoder.pop()));
                records += 1;
                if records.is_multiple_of(PROGRESS_EVERY) {
                    note(rec.end);
                }
                // An error on sending means the consumer stopped on an error of its own,
                // which it reports.
                if batch.len() >= EVENTS_PER_BATCH && tx.send(std::mem::take(&mut batch)).is_err() {
                    return Ok(None);
                }
            };
            note(reader.end_rec_ptr());
            batch.extend(std::iter::from_fn(|| decoder.pop()));
            let _ = tx.send(batch);
            Ok(Some(Pumped {
                end,
                end_rec: reader.end_rec_ptr(),
                decoder,
            }))
        });
        let consumed = (|| -> Result<(), DecodeError> {
            for batch in rx.iter() {
                for event in batch {
                    events.event(event, sink)?;
                }
                sink.maybe_flush()?;
            }
            events.finish(sink)?;
            Ok(())
        })();
        let produced = producer.join().expect("the WAL decoding thread panicked");
        // A consumer error stops the producer early: report the consumer's error.
        consumed?;
        Ok(produced?.expect("the producer finishes when the consumer does"))
    })
}

impl From<FollowError> for DecodeError {
    fn from(e: FollowError) -> DecodeError {
        DecodeError::Follow(Box::new(e))
    }
}

/// What `pglcr catalog follow` is asked.
#[derive(Clone, Debug)]
pub struct FollowRequest {
    pub catalog: PathBuf,
    pub path: Option<PathBuf>,
    /// Follow up to this LSN (default: the end of the WAL).
    pub end: Option<Lsn>,
    pub timeline: Option<u32>,
    /// Memory for queued changes before transactions are spilled to disk.
    pub max_memory: usize,
}

/// The dictionary as of the end of the WAL read.
#[derive(Debug)]
pub struct Followed {
    pub file: crate::catalog::CatalogFile,
    /// Where reading stopped: the new dictionary's `taken_at_lsn`.
    pub end: Lsn,
    /// DDL transactions applied.
    pub versions: usize,
    /// Transactions still open there: their catalog changes are not in the result.
    pub open_transactions: usize,
}

/// Carries a dictionary forward through the WAL from where it was taken: the catalog changes
/// of every transaction committed before the end are applied, as `pglcr decode` applies them.
pub fn follow_catalog(req: &FollowRequest) -> Result<Followed, DecodeError> {
    let catalog = Catalog::load(&req.catalog)?;
    let start = catalog.taken_at;
    if req.end.is_some_and(|e| e <= start) {
        // Already there: nothing to follow.
        return Ok(Followed {
            file: (*catalog.file).clone(),
            end: start,
            versions: 0,
            open_transactions: 0,
        });
    }
    let range = resolve_range(
        &catalog,
        &RangeRequest {
            path: req.path.clone(),
            start_seg: None,
            end_seg: None,
            start: Some(start),
            end: req.end,
            timeline: req.timeline,
        },
    )?;
    let follower = warmed_follower(&catalog, &range, start)?;
    let mut decoder = Decoder::new(DecoderOptions {
        database: catalog.database_oid(),
        start,
        two_phase: false,
        two_phase_skip_gid: None,
        max_memory: req.max_memory,
        spill_dir: None,
        resume: None,
    });
    decoder.follow_catalog(follower);
    let mut reader = range.reader();
    reader.find_first_record(start)?;
    let mut versions = 0;
    let mut last = decoder.committed_catalog().cloned();
    while let Some(rec) = reader.next_record()? {
        decoder.feed(&rec)?;
        while decoder.pop().is_some() {}
        let now = decoder.committed_catalog();
        if now.is_some_and(|n| !last.as_ref().is_some_and(|l| std::sync::Arc::ptr_eq(l, n))) {
            versions += 1;
            last = now.cloned();
        }
    }
    let end = reader.end_rec_ptr();
    let follower = decoder.follower().expect("the decoder follows the catalog");
    let mut file = follower.committed().to_file(end);
    // A later run warms its catalog pages up from the last checkpoint's redo point.
    if let Some(redo) = follower.redo_points().last() {
        file.checkpoint_redo_lsn = Some(redo.to_string());
    }
    Ok(Followed {
        file,
        end,
        versions,
        open_transactions: decoder.open_transactions(),
    })
}
