//! Gist (rmid 14): `gist_identify` / `gist_desc` (gistdesc.c) of PostgreSQL 13–18.
//!
//! 16 renamed the conflict xid to `snapshotConflictHorizon` and 17 prints `isCatalogRel` for
//! DELETE and PAGE_REUSE; the rest is unchanged. PAGE_UPDATE and ASSIGN_LSN print nothing.

use std::fmt::Write;

use super::{Data, DescError};
use crate::wal::record::Record;
use crate::wal::version::PgVersion;

const PAGE_UPDATE: u8 = 0x00;
const DELETE: u8 = 0x10;
const PAGE_REUSE: u8 = 0x20;
const PAGE_SPLIT: u8 = 0x30;
const PAGE_DELETE: u8 = 0x60;
const ASSIGN_LSN: u8 = 0x70;

pub fn identify(info: u8, _version: PgVersion) -> Option<&'static str> {
    Some(match info & 0xF0 {
        PAGE_UPDATE => "PAGE_UPDATE",
        DELETE => "DELETE",
        PAGE_REUSE => "PAGE_REUSE",
        PAGE_SPLIT => "PAGE_SPLIT",
        PAGE_DELETE => "PAGE_DELETE",
        ASSIGN_LSN => "ASSIGN_LSN",
        _ => return None,
    })
}

fn tf(b: bool) -> char {
    if b {
        'T'
    } else {
        'F'
    }
}

pub fn describe(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    let v = rec.version;
    let d = Data::new(rec.main_data, "main data");
    match rec.info() & 0xF0 {
        PAGE_REUSE => {
            // gistxlogPageReuse: RelFileLocator, block, FullTransactionId at 16, isCatalogRel (16+).
            let (spc, db, rel, blk) = (d.u32(0)?, d.u32(4)?, d.u32(8)?, d.u32(12)?);
            let full = d.u64(16)?;
            let label = if v >= PgVersion::V16 {
                "snapshotConflictHorizon"
            } else {
                "latestRemovedXid"
            };
            let _ = write!(
                out,
                "rel {spc}/{db}/{rel}; blk {blk}; {label} {}:{}",
                full >> 32,
                full as u32
            );
            if v >= PgVersion::V17 {
                let _ = write!(out, ", isCatalogRel {}", tf(d.bool(24)?));
            }
        }
        DELETE => {
            let label = if v >= PgVersion::V16 {
                "snapshotConflictHorizon"
            } else {
                "latestRemovedXid"
            };
            let _ = write!(out, "delete: {label} {}, nitems: {}", d.u32(0)?, d.u16(4)?);
            if v >= PgVersion::V17 {
                let _ = write!(out, ", isCatalogRel {}", tf(d.bool(6)?));
            }
        }
        PAGE_SPLIT => {
            // gistxlogPageSplit: origrlink u32, orignsn u64 at 8, origleaf at 16, npage at 18.
            let _ = write!(out, "page_split: splits to {} pages", d.u16(18)?);
        }
        PAGE_DELETE => {
            let xid = d.u64(0)?;
            let _ = write!(
                out,
                "deleteXid {}:{}; downlink {}",
                xid >> 32,
                xid as u32,
                d.u16(8)?
            );
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_all() {
        assert_eq!(identify(0x60, PgVersion::V13), Some("PAGE_DELETE"));
        assert_eq!(identify(0x40, PgVersion::V13), None);
    }
}
