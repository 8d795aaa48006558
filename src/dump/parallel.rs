//! Reading and formatting WAL in parallel. The WAL is cut into chunks at fixed positions; a
//! worker finds the first record in its chunk (as `XLogFindNextRecord` does) and handles the
//! records that start in it. Chunks are stitched in order only when each one starts exactly
//! where the previous one ended and its first record's prev-link points at the previous
//! chunk's last record, so the result equals a sequential read. At the first chunk that meets
//! anything unusual (end of WAL, damage, a broken link) the caller reads on sequentially from
//! the last stitched record, which reproduces the exact sequential behaviour and errors.

use rayon::prelude::*;

use super::{show_record, DumpError, Options, Range, Stats};
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

/// Where a record read from `next` starts: past the page header when `next` is a page start
/// (a record that ends exactly at a page end leaves the next position there).
fn first_record_from(next: Lsn, seg_size: u64) -> Lsn {
    use crate::wal::page::{LONG_HEADER_SIZE, SHORT_HEADER_SIZE};
    const PAGE: u64 = crate::wal::record::BLCKSZ as u64;
    match (next.0 % PAGE, next.0 % seg_size) {
        (0, 0) => Lsn(next.0 + LONG_HEADER_SIZE as u64),
        (0, _) => Lsn(next.0 + SHORT_HEADER_SIZE as u64),
        _ => next,
    }
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
    let mut reader = range.reader();
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
/// sequential reading must continue. Batches are read ahead on a separate thread so that
/// formatting the next batch overlaps with writing out the current one.
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
    // Chunk i covers [base + i*size, base + (i+1)*size), except that the first starts at `first`.
    let base = first.0 - first.0 % chunk_size;
    let bounds_of = |i: u64| {
        let from = if i == 0 {
            first.0
        } else {
            base + i * chunk_size
        };
        (Lsn(from), Lsn(base + (i + 1) * chunk_size))
    };
    let in_range = |from: Lsn| range.end.is_none_or(|e| from < e);

    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Chunk>>(1);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut i = 0u64;
            loop {
                let bounds: Vec<(Lsn, Lsn)> = (i..i + batch)
                    .map(bounds_of)
                    .take_while(|(from, _)| in_range(*from))
                    .collect();
                if bounds.is_empty() {
                    return;
                }
                i += batch;
                let chunks: Vec<Chunk> = bounds
                    .par_iter()
                    .map(|&(from, limit)| read_chunk(range, opts, from, limit))
                    .collect();
                let last_batch = chunks.iter().any(|c| !c.clean);
                // A closed channel means the consumer stopped stitching: stop reading ahead.
                if tx.send(chunks).is_err() || last_batch {
                    return;
                }
            }
        });
        // Owned here so that returning early drops it, which stops the reader thread.
        let rx = rx;
        let mut next = first;
        let mut prev: Option<Lsn> = None;
        for chunks in rx.iter() {
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
                let linked = first_lsn == first_record_from(next, range.seg_size)
                    && prev.is_none_or(|p| p == first_prev);
                if !linked {
                    return Ok(Resume { next, prev });
                }
                emit(chunk)?;
                next = last_end;
                prev = Some(last_lsn);
            }
        }
        Ok(Resume { next, prev })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_record_position_skips_page_headers() {
        let seg = 16 << 20;
        assert_eq!(first_record_from(Lsn(0x15A0_0000), seg), Lsn(0x15A0_0018));
        assert_eq!(first_record_from(Lsn(0x1500_0000), seg), Lsn(0x1500_0028));
        assert_eq!(first_record_from(Lsn(0x15A0_0A40), seg), Lsn(0x15A0_0A40));
    }
}
