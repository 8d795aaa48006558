//! `pglcr dump`: pg_waldump-compatible display of WAL records, record statistics, JSON lines
//! and full-page image extraction.

pub mod json;
pub mod locate;
mod parallel;
pub mod stats;
pub mod text;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::rmgr::DescError;
use crate::wal::lsn::Lsn;
use crate::wal::reader::{EndOfWal, ReadError};
use crate::wal::record::{Fork, Record, RelFileLocator};
use crate::wal::segment::SegmentError;
use crate::wal::version::PgVersion;

pub use locate::{Range, RangeRequest};
pub use stats::Stats;

#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Segment(#[from] SegmentError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("error in WAL record at {lsn}: {source}")]
    Describe { lsn: Lsn, source: DescError },
    #[error("could not save full page image to \"{}\": {source}", .path.display())]
    SaveFullPage {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("directory \"{}\" exists but is not empty", .0.display())]
    FullPageDirNotEmpty(PathBuf),
    #[error("full page image of record at {lsn}: {source}")]
    Image {
        lsn: Lsn,
        source: crate::wal::image::ImageError,
    },
    #[error("could not write output: {0}")]
    Output(std::io::Error),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsMode {
    Rmgr,
    Record,
}

/// Which records to show (pg_waldump's filters).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Resource manager ids to keep; empty keeps all.
    pub rmgrs: Vec<u8>,
    pub xid: Option<u32>,
    pub relation: Option<RelFileLocator>,
    pub block: Option<u32>,
    pub fork: Option<Fork>,
    pub fullpage_only: bool,
}

impl Filter {
    pub fn matches(&self, rec: &Record<'_>) -> bool {
        if !self.rmgrs.is_empty() && !self.rmgrs.contains(&rec.rmid()) {
            return false;
        }
        if self.xid.is_some_and(|x| x != rec.xid()) {
            return false;
        }
        let extended = self.relation.is_some() || self.block.is_some() || self.fork.is_some();
        if extended
            && !rec.blocks.iter().any(|b| {
                self.fork.is_none_or(|f| f == b.fork)
                    && self.relation.is_none_or(|r| r == b.locator)
                    && self.block.is_none_or(|n| n == b.blkno)
            })
        {
            return false;
        }
        if self.fullpage_only && !rec.blocks.iter().any(|b| b.image.is_some()) {
            return false;
        }
        true
    }
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub filter: Filter,
    pub limit: Option<u64>,
    pub bkp_details: bool,
    pub stats: Option<StatsMode>,
    pub quiet: bool,
    pub follow: bool,
    pub save_fullpage: Option<PathBuf>,
    pub format: Format,
}

/// What happened, for the caller to report on stderr.
#[derive(Debug)]
pub struct Summary {
    pub first_record: Lsn,
    /// Whether the "first record is after" note still has to be shown (on stderr), as newer
    /// pg_waldump versions do; older ones print it on stdout, which `run` has done.
    pub note_skipped_bytes: bool,
    pub records_shown: u64,
    pub end: Option<EndOfWal>,
}

/// Appends what one record contributes: a line, or a count in the statistics.
fn show_record(
    rec: &Record<'_>,
    opts: &Options,
    stats: &mut Stats,
    buf: &mut String,
) -> Result<(), DumpError> {
    if opts.quiet {
        return Ok(());
    }
    if opts.stats.is_some() {
        stats.add(rec);
        stats.end = Some(rec.end);
        return Ok(());
    }
    match opts.format {
        Format::Text => text::write_record(buf, rec, opts.bkp_details),
        Format::Json => json::write_record(buf, rec),
    }
    .map_err(|source| DumpError::Describe {
        lsn: rec.lsn,
        source,
    })
}

/// Runs a dump over `range`, writing to `out`.
pub fn run(range: &Range, opts: &Options, out: &mut dyn Write) -> Result<Summary, DumpError> {
    // Like pg_waldump, refuse an unusable target directory before reading any WAL.
    if let Some(dir) = &opts.save_fullpage {
        prepare_fullpage_dir(dir)?;
    }
    let mut reader = range.reader();
    let first = loop {
        match reader.find_first_record(range.start) {
            // When following, the first record may simply not be written yet.
            Err(ReadError::NoRecordAfter(_)) if opts.follow => {
                std::thread::sleep(Duration::from_secs(1));
                reader.refresh();
            }
            found => break found?,
        }
    };
    let version = range.info.version;
    let skipped = first != range.start && !range.start.0.is_multiple_of(range.seg_size);
    if skipped && version <= PgVersion::V16 {
        // Older pg_waldump prints this note on stdout, ahead of the records.
        writeln!(
            out,
            "first record is after {}, at {}, skipping over {} bytes",
            range.start,
            first,
            first.0 - range.start.0
        )
        .map_err(DumpError::Output)?;
    }
    let mut stats = Stats::default();
    stats.start = Some(first);
    let mut shown = 0u64;
    let mut buf = String::with_capacity(1 << 20);
    let flush = |buf: &mut String, out: &mut dyn Write| -> Result<(), DumpError> {
        out.write_all(buf.as_bytes()).map_err(DumpError::Output)?;
        buf.clear();
        Ok(())
    };

    // Whatever the parallel part could not vouch for is read sequentially from here.
    let mut resume = (first, None);
    if parallel::eligible(opts) {
        let done = parallel::run(range, opts, first, &mut |chunk| {
            stats.merge(&chunk.stats);
            shown += chunk.shown;
            out.write_all(chunk.text.as_bytes())
                .map_err(DumpError::Output)
        })?;
        resume = (done.next, done.prev);
    }
    match resume.1 {
        Some(prev) => reader.continue_at(resume.0, prev),
        None => reader.begin_read(resume.0),
    }

    let end = loop {
        if let Some(rec) = reader.next_record()? {
            if !opts.filter.matches(&rec) {
                continue;
            }
            show_record(&rec, opts, &mut stats, &mut buf)?;
            if buf.len() >= 1 << 20 {
                flush(&mut buf, out)?;
            }
            if let Some(dir) = &opts.save_fullpage {
                save_fullpages(dir, range.tli, &rec)?;
            }
            shown += 1;
            if opts.limit.is_some_and(|n| n > 0 && shown >= n) {
                break None;
            }
            continue;
        }
        let reason = reader.end_reason().cloned();
        if opts.follow && !matches!(reason, Some(EndOfWal::EndReached)) {
            flush(&mut buf, out)?;
            out.flush().map_err(DumpError::Output)?;
            std::thread::sleep(Duration::from_secs(1));
            reader.refresh();
            continue;
        }
        break reason;
    };
    if let (Some(mode), false) = (opts.stats, opts.quiet) {
        stats.write(&mut buf, version, mode == StatsMode::Record);
    }
    flush(&mut buf, out)?;
    Ok(Summary {
        first_record: first,
        note_skipped_bytes: skipped && version > PgVersion::V16,
        records_shown: shown,
        end,
    })
}

fn prepare_fullpage_dir(dir: &std::path::Path) -> Result<(), DumpError> {
    let err = |source| DumpError::SaveFullPage {
        path: dir.to_path_buf(),
        source,
    };
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(DumpError::FullPageDirNotEmpty(dir.to_path_buf()));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(err)
        }
        Err(e) => Err(err(e)),
    }
}

/// `--save-fullpage`: one file per image, named as pg_waldump names them.
fn save_fullpages(dir: &std::path::Path, tli: u32, rec: &Record<'_>) -> Result<(), DumpError> {
    for b in &rec.blocks {
        let Some(img) = &b.image else { continue };
        let page = crate::wal::image::restore_page(img).map_err(|source| DumpError::Image {
            lsn: rec.lsn,
            source,
        })?;
        let name = format!(
            "{:08X}-{:08X}-{:08X}.{}.{}.{}.{}_{}",
            tli,
            rec.lsn.hi(),
            rec.lsn.lo(),
            b.locator.spc,
            b.locator.db,
            b.locator.rel,
            b.blkno,
            b.fork.name()
        );
        let path = dir.join(name);
        std::fs::write(&path, &page).map_err(|source| DumpError::SaveFullPage { path, source })?;
    }
    Ok(())
}
