//! SPGist (rmid 16): `spg_identify` / `spg_desc` (spgdesc.c) of PostgreSQL 13–18.
//!
//! 13 has its own terse texts; 14 rewrote them all as `key: value` lists with flag notes in
//! parentheses; 16 renamed the VACUUM_REDIRECT xid and 17 adds `isCatalogRel` to it.

use std::fmt::Write;

use super::{Data, DescError};
use crate::wal::record::Record;
use crate::wal::version::PgVersion;

const ADD_LEAF: u8 = 0x10;
const MOVE_LEAFS: u8 = 0x20;
const ADD_NODE: u8 = 0x30;
const SPLIT_TUPLE: u8 = 0x40;
const PICKSPLIT: u8 = 0x50;
const VACUUM_LEAF: u8 = 0x60;
const VACUUM_ROOT: u8 = 0x70;
const VACUUM_REDIRECT: u8 = 0x80;

pub fn identify(info: u8, _version: PgVersion) -> Option<&'static str> {
    Some(match info & 0xF0 {
        ADD_LEAF => "ADD_LEAF",
        MOVE_LEAFS => "MOVE_LEAFS",
        ADD_NODE => "ADD_NODE",
        SPLIT_TUPLE => "SPLIT_TUPLE",
        PICKSPLIT => "PICKSPLIT",
        VACUUM_LEAF => "VACUUM_LEAF",
        VACUUM_ROOT => "VACUUM_ROOT",
        VACUUM_REDIRECT => "VACUUM_REDIRECT",
        _ => return None,
    })
}

fn note(out: &mut String, set: bool, text: &str) {
    if set {
        out.push_str(text);
    }
}

pub fn describe(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    let d = Data::new(rec.main_data, "main data");
    if rec.version == PgVersion::V13 {
        return describe_13(&d, rec.info() & 0xF0, out);
    }
    match rec.info() & 0xF0 {
        ADD_LEAF => {
            // spgxlogAddLeaf: newPage, storesNulls, offnumLeaf, offnumHeadLeaf, offnumParent, nodeI.
            let _ = write!(
                out,
                "off: {}, headoff: {}, parentoff: {}, nodeI: {}",
                d.u16(2)?,
                d.u16(4)?,
                d.u16(6)?,
                d.u16(8)?
            );
            note(out, d.bool(0)?, " (newpage)");
            note(out, d.bool(1)?, " (nulls)");
        }
        MOVE_LEAFS => {
            // spgxlogMoveLeafs: nMoves, newPage, replaceDead, storesNulls, pad, offnumParent, nodeI.
            let _ = write!(
                out,
                "nmoves: {}, parentoff: {}, nodeI: {}",
                d.u16(0)?,
                d.u16(6)?,
                d.u16(8)?
            );
            note(out, d.bool(2)?, " (newpage)");
            note(out, d.bool(3)?, " (replacedead)");
            note(out, d.bool(4)?, " (nulls)");
        }
        ADD_NODE => {
            // spgxlogAddNode: offnum, offnumNew, newPage, parentBlk (int8), offnumParent, nodeI.
            let _ = write!(
                out,
                "off: {}, newoff: {}, parentBlk: {}, parentoff: {}, nodeI: {}",
                d.u16(0)?,
                d.u16(2)?,
                d.i8(5)?,
                d.u16(6)?,
                d.u16(8)?
            );
            note(out, d.bool(4)?, " (newpage)");
        }
        SPLIT_TUPLE => {
            let _ = write!(out, "prefixoff: {}, postfixoff: {}", d.u16(0)?, d.u16(2)?);
            note(out, d.bool(4)?, " (newpage)");
            note(out, d.bool(5)?, " (same)");
        }
        PICKSPLIT => {
            // spgxlogPickSplit: isRootSplit, pad, nDelete, nInsert, initSrc, initDest,
            // offnumInner, initInner, storesNulls, innerIsParent, pad, offnumParent, nodeI.
            let _ = write!(
                out,
                "ndelete: {}, ninsert: {}, inneroff: {}, parentoff: {}, nodeI: {}",
                d.u16(2)?,
                d.u16(4)?,
                d.u16(8)?,
                d.u16(14)?,
                d.u16(16)?
            );
            note(out, d.bool(12)?, " (innerIsParent)");
            note(out, d.bool(11)?, " (nulls)");
            note(out, d.bool(0)?, " (isRootSplit)");
        }
        VACUUM_LEAF => {
            let _ = write!(
                out,
                "ndead: {}, nplaceholder: {}, nmove: {}, nchain: {}",
                d.u16(0)?,
                d.u16(2)?,
                d.u16(4)?,
                d.u16(6)?
            );
        }
        VACUUM_ROOT => {
            let _ = write!(out, "ndelete: {}", d.u16(0)?);
        }
        VACUUM_REDIRECT => {
            let label = if rec.version >= PgVersion::V16 {
                "snapshotConflictHorizon"
            } else {
                "newestredirectxid"
            };
            let _ = write!(
                out,
                "ntoplaceholder: {}, firstplaceholder: {}, {label}: {}",
                d.u16(0)?,
                d.u16(2)?,
                d.u32(4)?
            );
            if rec.version >= PgVersion::V17 {
                let catalog = if d.bool(8)? { 'T' } else { 'F' };
                let _ = write!(out, ", isCatalogRel: {catalog}");
            }
        }
        _ => {}
    }
    Ok(())
}

fn describe_13(d: &Data<'_>, op: u8, out: &mut String) -> Result<(), DescError> {
    match op {
        ADD_LEAF => {
            let _ = write!(
                out,
                "add leaf to page; off {}; headoff {}; parentoff {}",
                d.u16(2)?,
                d.u16(4)?,
                d.u16(6)?
            );
            note(out, d.bool(0)?, " (newpage)");
            note(out, d.bool(1)?, " (nulls)");
        }
        MOVE_LEAFS => {
            let _ = write!(out, "{} leafs", d.u16(0)?);
        }
        ADD_NODE => {
            let _ = write!(out, "off {}", d.u16(0)?);
        }
        SPLIT_TUPLE => {
            // The two bools are printed as integers here.
            let _ = write!(
                out,
                "prefix off: {}, postfix off: {} (same {}, new {})",
                d.u16(0)?,
                d.u16(2)?,
                d.u8(5)?,
                d.u8(4)?
            );
        }
        PICKSPLIT => {
            let _ = write!(out, "ndel {}; nins {}", d.u16(2)?, d.u16(4)?);
            note(out, d.bool(12)?, " (innerIsParent)");
            note(out, d.bool(0)?, " (isRootSplit)");
        }
        VACUUM_REDIRECT => {
            let _ = write!(out, "newest XID {}", d.u32(4)?);
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
        assert_eq!(identify(0x10, PgVersion::V14), Some("ADD_LEAF"));
        assert_eq!(identify(0x00, PgVersion::V14), None);
    }
}
