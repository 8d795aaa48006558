//! pg_waldump's record line (`XLogDumpDisplayRecord`) and block references
//! (`XLogRecGetBlockRefInfo`).

use std::fmt::Write;

use crate::rmgr::{self, DescError};
use crate::wal::record::{Compression, Fork, Record, BLCKSZ};

/// Appends one record as pg_waldump prints it, newline included.
pub fn write_record(
    out: &mut String,
    rec: &Record<'_>,
    bkp_details: bool,
) -> Result<(), DescError> {
    let _ = write!(
        out,
        "rmgr: {:<11} len (rec/tot): {:>6}/{:>6}, tx: {:>10}, lsn: {}, prev {}, desc: ",
        rmgr::name(rec.rmid()),
        rec.rec_len(),
        rec.header.tot_len,
        rec.xid(),
        rec.lsn.padded(),
        rec.header.prev.padded(),
    );
    rmgr::write_description(rec, out)?;
    write_block_refs(out, rec, bkp_details);
    Ok(())
}

fn write_block_refs(out: &mut String, rec: &Record<'_>, detailed: bool) {
    if detailed {
        out.push('\n');
    }
    for b in &rec.blocks {
        let l = &b.locator;
        if detailed {
            let _ = write!(
                out,
                "\tblkref #{}: rel {}/{}/{} fork {} blk {}",
                b.id,
                l.spc,
                l.db,
                l.rel,
                b.fork.name(),
                b.blkno
            );
            if let Some(img) = &b.image {
                let verification = if img.apply {
                    ""
                } else {
                    " for WAL verification"
                };
                let _ = write!(
                    out,
                    " (FPW{verification}); hole: offset: {}, length: {}",
                    img.hole_offset, img.hole_length
                );
                if img.compression != Compression::None {
                    let saved = BLCKSZ as i64 - i64::from(img.hole_length) - img.bytes.len() as i64;
                    let _ = write!(out, ", compression saved: {saved}");
                    if rec.version >= crate::wal::version::PgVersion::V15 {
                        let _ = write!(out, ", method: {}", img.compression.name());
                    }
                }
            }
            out.push('\n');
        } else {
            if b.fork == Fork::Main {
                let _ = write!(
                    out,
                    ", blkref #{}: rel {}/{}/{} blk {}",
                    b.id, l.spc, l.db, l.rel, b.blkno
                );
            } else {
                let _ = write!(
                    out,
                    ", blkref #{}: rel {}/{}/{} fork {} blk {}",
                    b.id,
                    l.spc,
                    l.db,
                    l.rel,
                    b.fork.name(),
                    b.blkno
                );
            }
            if let Some(img) = &b.image {
                out.push_str(if img.apply {
                    " FPW"
                } else {
                    " FPW for WAL verification"
                });
            }
        }
    }
    if !detailed {
        out.push('\n');
    }
}
