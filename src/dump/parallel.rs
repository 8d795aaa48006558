//! Reading and formatting WAL in parallel. The WAL is cut into chunks at fixed positions; a
//! worker finds the first record in its chunk (as `XLogFindNextRecord` does) and handles the
//! records that start in it. Chunks are stitched in order only when each one starts exactly
//! where the previous one ended and its first record's prev-link points at the previous
//! chunk's last record, so the result equals a sequential read. At the first chunk that meets
//! anything unusual (end of WAL, damage, a broken link) the caller reads on sequentially from
//! the last stitched record, which reproduces the exact sequential behaviour and errors.

use rayon::prelude::*;

use super::{new_reader, show_record, DumpError, Options, Range, Stats};
use crate::wal::lsn::Lsn;

/// Bytes of WAL per chunk for plain segment files (compressed ones are read whole per chunk).
const CHUNK: u64 = 2 << 20;

pub struct Chunk {
    pub text: String,
    pub stats: Stats,
    pub shown: u64,
    /// The first record at or after the chunk start, and its prev-link.
    first: Option<(Lsn, Lsn)>,
    /// The last record that starts in the chunk, and where the record after it starts.
    last: Option<(Lsn, Lsn)>,
    clean: bool,
}

/// Where sequential reading has to continue.
pub struct Resume {
    pub next: Lsn,
    pub prev: Option<Lsn>,
}

/// Options whose semantics depend on record order across the whole run stay sequential.
pub fn eligible(opts: &Options) -> bool {
    opts.limit.is_none()
        && !opts.follow
        && opts.save_fullpage.is_none()
        && rayon::current_num_threads() > 1
}

fn read_chunk(range: &Range, opts: &Options, from: Lsn, limit: Lsn) -> Chunk {
    let mut chunk = Chunk {
        text: String::new(),
        stats: Stats::default(),
        shown: 0,
        first: None,
        last: None,
        clean: false,
    };
    let mut reader = new_reader(range);
    let Ok(first) = reader.find_first_record(from) else {
        return chunk;
    };
    loop {
        let rec = match reader.next_record() {
            Ok(Some(rec)) => rec,
            // End of WAL or of the requested range, or damage: leave it to the sequential read.
            Ok(None) | Err(_) => return chunk,
        };
        if chunk.first.is_none() {
            debug_assert_eq!(rec.lsn, first);
            chunk.first = Some((rec.lsn, rec.header.prev));
        }
        if rec.lsn >= limit {
            chunk.clean = true;
            return chunk;
        }
        chunk.last = Some((rec.lsn, rec.end));
        if opts.filter.matches(&rec) {
            if show_record(&rec, opts, &mut chunk.stats, &mut chunk.text).is_err() {
                return Chunk {
                    clean: false,
                    ..chunk
                };
            }
            chunk.shown += 1;
        }
    }
}

/// Reads from `first` in parallel batches, handing each stitched chunk to `emit`; returns where
/// sequential reading must continue.
pub fn run(
    range: &Range,
    opts: &Options,
    first: Lsn,
    emit: &mut dyn FnMut(&Chunk) -> Result<(), DumpError>,
) -> Result<Resume, DumpError> {
    let compressed = crate::wal::segment::WalDir::new(&range.dir)
        .find(range.tli, first.0 / range.seg_size, range.seg_size)
        .is_some_and(|p| p.extension().is_some_and(|e| e == "zst" || e == "gz"));
    let chunk_size = if compressed {
        range.seg_size
    } else {
        CHUNK.min(range.seg_size)
    };
    let batch = 2 * rayon::current_num_threads() as u64;
    let mut next = first;
    let mut prev: Option<Lsn> = None;
    loop {
        let base = next.0 - next.0 % chunk_size;
        let bounds: Vec<(Lsn, Lsn)> = (0..batch)
            .map(|i| {
                let from = if i == 0 {
                    next.0
                } else {
                    base + i * chunk_size
                };
                (Lsn(from), Lsn(base + (i + 1) * chunk_size))
            })
            .take_while(|(from, _)| range.end.is_none_or(|e| *from < e))
            .collect();
        if bounds.is_empty() {
            return Ok(Resume { next, prev });
        }
        let chunks: Vec<Chunk> = bounds
            .par_iter()
            .map(|&(from, limit)| read_chunk(range, opts, from, limit))
            .collect();
        for chunk in &chunks {
            if !chunk.clean {
                return Ok(Resume { next, prev });
            }
            let Some((first_lsn, first_prev)) = chunk.first else {
                return Ok(Resume { next, prev });
            };
            let Some((last_lsn, last_end)) = chunk.last else {
                // A record covers the whole chunk; the next chunk must start at `next`.
                continue;
            };
            let linked = first_lsn == next && prev.is_none_or(|p| p == first_prev);
            if !linked {
                return Ok(Resume { next, prev });
            }
            emit(chunk)?;
            next = last_end;
            prev = Some(last_lsn);
        }
    }
}
