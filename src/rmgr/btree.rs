//! Btree (rmid 11): `btree_identify` / `btree_desc` (nbtdesc.c) of PostgreSQL 13–18.
//!
//! Payload layouts (`access/nbtxlog.h`, C struct offsets on x86_64):
//! * 13 has `btpo_xact`/`latestRemovedXid` as 32-bit xids and a float `last_cleanup_num_heap_tuples`
//!   in the metapage; 14 switched to 64-bit `FullTransactionId`s (8-byte aligned, hence the
//!   padding before `safexid`) and `last_cleanup_num_delpages`.
//! * 14 added `nupdated` to `xl_btree_delete` (ndeleted shrank from u32 to u16).
//! * 16 moved to `key: value` text and prints the deleted/updated offset arrays kept in block 0;
//!   17 appends `isCatalogRel` (the field itself exists from 16 on).

use std::fmt::Write;

use super::{Data, DescError};
use crate::wal::record::Record;
use crate::wal::version::PgVersion;

const INSERT_LEAF: u8 = 0x00;
const INSERT_UPPER: u8 = 0x10;
const INSERT_META: u8 = 0x20;
const SPLIT_L: u8 = 0x30;
const SPLIT_R: u8 = 0x40;
const INSERT_POST: u8 = 0x50;
const DEDUP: u8 = 0x60;
const DELETE: u8 = 0x70;
const UNLINK_PAGE: u8 = 0x80;
const UNLINK_PAGE_META: u8 = 0x90;
const NEWROOT: u8 = 0xA0;
const MARK_PAGE_HALFDEAD: u8 = 0xB0;
const VACUUM: u8 = 0xC0;
const REUSE_PAGE: u8 = 0xD0;
const META_CLEANUP: u8 = 0xE0;

pub fn identify(info: u8, _version: PgVersion) -> Option<&'static str> {
    Some(match info & 0xF0 {
        INSERT_LEAF => "INSERT_LEAF",
        INSERT_UPPER => "INSERT_UPPER",
        INSERT_META => "INSERT_META",
        SPLIT_L => "SPLIT_L",
        SPLIT_R => "SPLIT_R",
        INSERT_POST => "INSERT_POST",
        DEDUP => "DEDUP",
        VACUUM => "VACUUM",
        DELETE => "DELETE",
        MARK_PAGE_HALFDEAD => "MARK_PAGE_HALFDEAD",
        UNLINK_PAGE => "UNLINK_PAGE",
        UNLINK_PAGE_META => "UNLINK_PAGE_META",
        NEWROOT => "NEWROOT",
        REUSE_PAGE => "REUSE_PAGE",
        META_CLEANUP => "META_CLEANUP",
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
    let new_style = v >= PgVersion::V16;
    let d = Data::new(rec.main_data, "main data");
    match rec.info() & 0xF0 {
        INSERT_LEAF | INSERT_UPPER | INSERT_META | INSERT_POST => {
            let off = d.u16(0)?;
            if new_style {
                let _ = write!(out, "off: {off}");
            } else {
                let _ = write!(out, "off {off}");
            }
        }
        SPLIT_L | SPLIT_R => {
            let (level, firstright, newitem, posting) =
                (d.u32(0)?, d.u16(4)?, d.u16(6)?, d.u16(8)?);
            if new_style {
                let _ = write!(
                    out,
                    "level: {level}, firstrightoff: {firstright}, newitemoff: {newitem}, postingoff: {posting}"
                );
            } else {
                let _ = write!(
                    out,
                    "level {level}, firstrightoff {firstright}, newitemoff {newitem}, postingoff {posting}"
                );
            }
        }
        DEDUP => {
            let n = d.u16(0)?;
            if new_style {
                let _ = write!(out, "nintervals: {n}");
            } else {
                let _ = write!(out, "nintervals {n}");
            }
        }
        VACUUM => {
            let (ndeleted, nupdated) = (d.u16(0)?, d.u16(2)?);
            if new_style {
                let _ = write!(out, "ndeleted: {ndeleted}, nupdated: {nupdated}");
                write_delvacuum(rec, out, ndeleted, nupdated)?;
            } else {
                let _ = write!(out, "ndeleted {ndeleted}; nupdated {nupdated}");
            }
        }
        DELETE => match v {
            PgVersion::V13 => {
                let _ = write!(
                    out,
                    "latestRemovedXid {}; ndeleted {}",
                    d.u32(0)?,
                    d.u32(4)?
                );
            }
            PgVersion::V14 | PgVersion::V15 => {
                let _ = write!(
                    out,
                    "latestRemovedXid {}; ndeleted {}; nupdated {}",
                    d.u32(0)?,
                    d.u16(4)?,
                    d.u16(6)?
                );
            }
            _ => {
                let (horizon, ndeleted, nupdated) = (d.u32(0)?, d.u16(4)?, d.u16(6)?);
                let _ = write!(
                    out,
                    "snapshotConflictHorizon: {horizon}, ndeleted: {ndeleted}, nupdated: {nupdated}"
                );
                if v >= PgVersion::V17 {
                    let _ = write!(out, ", isCatalogRel: {}", tf(d.bool(8)?));
                }
                write_delvacuum(rec, out, ndeleted, nupdated)?;
            }
        },
        MARK_PAGE_HALFDEAD => {
            let (leaf, left, right, top) = (d.u32(4)?, d.u32(8)?, d.u32(12)?, d.u32(16)?);
            if new_style {
                let _ = write!(
                    out,
                    "topparent: {top}, leaf: {leaf}, left: {left}, right: {right}"
                );
            } else {
                let _ = write!(
                    out,
                    "topparent {top}; leaf {leaf}; left {left}; right {right}"
                );
            }
        }
        UNLINK_PAGE | UNLINK_PAGE_META => {
            if v == PgVersion::V13 {
                let _ = write!(
                    out,
                    "left {}; right {}; btpo_xact {}; leafleft {}; leafright {}; topparent {}",
                    d.u32(0)?,
                    d.u32(4)?,
                    d.u32(20)?,
                    d.u32(8)?,
                    d.u32(12)?,
                    d.u32(16)?
                );
            } else {
                // `safexid` is a FullTransactionId at offset 16 (8-byte aligned after `level`).
                let (left, right, level) = (d.u32(0)?, d.u32(4)?, d.u32(8)?);
                let safexid = d.u64(16)?;
                let (epoch, xid) = (safexid >> 32, safexid as u32);
                let (leafleft, leafright, top) = (d.u32(24)?, d.u32(28)?, d.u32(32)?);
                if new_style {
                    let _ = write!(
                        out,
                        "left: {left}, right: {right}, level: {level}, safexid: {epoch}:{xid}, \
                         leafleft: {leafleft}, leafright: {leafright}, leaftopparent: {top}"
                    );
                } else {
                    let _ = write!(
                        out,
                        "left {left}; right {right}; level {level}; safexid {epoch}:{xid}; \
                         leafleft {leafleft}; leafright {leafright}; leaftopparent {top}"
                    );
                }
            }
        }
        NEWROOT => {
            let level = d.u32(4)?;
            if new_style {
                let _ = write!(out, "level: {level}");
            } else {
                let _ = write!(out, "lev {level}");
            }
        }
        REUSE_PAGE => {
            let (spc, db, rel) = (d.u32(0)?, d.u32(4)?, d.u32(8)?);
            if v == PgVersion::V13 {
                let _ = write!(out, "rel {spc}/{db}/{rel}; latestRemovedXid {}", d.u32(16)?);
            } else {
                let full = d.u64(16)?;
                let (epoch, xid) = (full >> 32, full as u32);
                if new_style {
                    let _ = write!(
                        out,
                        "rel: {spc}/{db}/{rel}, snapshotConflictHorizon: {epoch}:{xid}"
                    );
                    if v >= PgVersion::V17 {
                        let _ = write!(out, ", isCatalogRel: {}", tf(d.bool(24)?));
                    }
                } else {
                    let _ = write!(out, "rel {spc}/{db}/{rel}; latestRemovedXid {epoch}:{xid}");
                }
            }
        }
        META_CLEANUP => {
            // The metapage contents travel as block 0 data (`xl_btree_metadata`).
            let b = block_data(rec, 0)?;
            match v {
                PgVersion::V13 => {
                    let _ = write!(
                        out,
                        "oldest_btpo_xact {}; last_cleanup_num_heap_tuples: ",
                        b.u32(20)?
                    );
                    write_c_f(out, f64::from_bits(b.u64(24)?));
                }
                PgVersion::V14 | PgVersion::V15 => {
                    let _ = write!(out, "last_cleanup_num_delpages {}", b.u32(20)?);
                }
                _ => {
                    let _ = write!(out, "last_cleanup_num_delpages: {}", b.u32(20)?);
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn block_data<'a>(rec: &Record<'a>, id: u8) -> Result<Data<'a>, DescError> {
    match rec.block(id) {
        Some(b) if b.has_data() => Ok(Data::new(b.data, "block data")),
        _ => Err(DescError::Invalid(format!("block {id} has no data"))),
    }
}

/// 16+: the offsets deleted outright and the posting-list TIDs removed from updated tuples,
/// printed only when block 0 still carries its data (it is dropped when the page has an FPI).
fn write_delvacuum(
    rec: &Record<'_>,
    out: &mut String,
    ndeleted: u16,
    nupdated: u16,
) -> Result<(), DescError> {
    let Some(b) = rec.block(0).filter(|b| b.has_data()) else {
        return Ok(());
    };
    let d = Data::new(b.data, "block 0 data");
    out.push_str(", deleted:");
    if ndeleted == 0 {
        out.push_str(" []");
    } else {
        out.push_str(" [");
        for i in 0..usize::from(ndeleted) {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}", d.u16(2 * i)?);
        }
        out.push(']');
    }
    out.push_str(", updated: [");
    let updated_at = 2 * usize::from(ndeleted);
    // Each xl_btree_update is a u16 count followed by that many u16 posting-list indexes.
    let mut upd = updated_at + 2 * usize::from(nupdated);
    for i in 0..usize::from(nupdated) {
        let off = d.u16(updated_at + 2 * i)?;
        let ntids = usize::from(d.u16(upd)?);
        let _ = write!(out, "{{ off: {off}, nptids: {ntids}, ptids: [");
        for p in 0..ntids {
            if p > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}", d.u16(upd + 2 + 2 * p)?);
        }
        out.push_str("] }");
        if i + 1 < usize::from(nupdated) {
            out.push_str(", ");
        }
        upd += 2 + 2 * ntids;
    }
    out.push(']');
    Ok(())
}

/// C's `%f` through PostgreSQL's snprintf, which spells non-finite values itself.
fn write_c_f(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("NaN");
    } else if x.is_infinite() {
        out.push_str(if x < 0.0 { "-Infinity" } else { "Infinity" });
    } else {
        let _ = write!(out, "{x:.6}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_all() {
        assert_eq!(identify(0x00, PgVersion::V15), Some("INSERT_LEAF"));
        assert_eq!(identify(0xE0, PgVersion::V13), Some("META_CLEANUP"));
        assert_eq!(identify(0xF0, PgVersion::V18), None);
    }

    #[test]
    fn c_float() {
        let mut s = String::new();
        write_c_f(&mut s, -1.0);
        assert_eq!(s, "-1.000000");
        s.clear();
        write_c_f(&mut s, f64::INFINITY);
        assert_eq!(s, "Infinity");
    }
}
