//! pg_waldump's record line (`XLogDumpDisplayRecord`) and block references
//! (`XLogRecGetBlockRefInfo`).

use std::fmt::Write;

use crate::rmgr::fmt::{push_dec, push_lsn_padded};
use crate::rmgr::{self, DescError};
use crate::wal::record::{Compression, Fork, Record, RelFileLocator, BLCKSZ};

/// Appends one record as pg_waldump prints it, newline included.
pub fn write_record(
    out: &mut String,
    rec: &Record<'_>,
    bkp_details: bool,
) -> Result<(), DescError> {
    // "rmgr: %-11s len (rec/tot): %6u/%6u, tx: %10u, lsn: %X/%08X, prev %X/%08X, desc: "
    out.push_str("rmgr: ");
    let name = rmgr::name(rec.rmid());
    out.push_str(&name);
    for _ in name.len()..11 {
        out.push(' ');
    }
    out.push_str(" len (rec/tot): ");
    push_dec(out, u64::from(rec.rec_len()), 6);
    out.push('/');
    push_dec(out, u64::from(rec.header.tot_len), 6);
    out.push_str(", tx: ");
    push_dec(out, u64::from(rec.xid()), 10);
    out.push_str(", lsn: ");
    push_lsn_padded(out, rec.lsn);
    out.push_str(", prev ");
    push_lsn_padded(out, rec.header.prev);
    out.push_str(", desc: ");
    rmgr::write_description(rec, out)?;
    write_block_refs(out, rec, bkp_details);
    Ok(())
}

/// `rel %u/%u/%u`
fn push_rel(out: &mut String, l: &RelFileLocator) {
    out.push_str("rel ");
    push_dec(out, u64::from(l.spc), 0);
    out.push('/');
    push_dec(out, u64::from(l.db), 0);
    out.push('/');
    push_dec(out, u64::from(l.rel), 0);
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
            out.push_str(", blkref #");
            push_dec(out, u64::from(b.id), 0);
            out.push_str(": ");
            push_rel(out, l);
            if b.fork != Fork::Main {
                out.push_str(" fork ");
                out.push_str(b.fork.name());
            }
            out.push_str(" blk ");
            push_dec(out, u64::from(b.blkno), 0);
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
