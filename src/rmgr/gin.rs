//! Gin (rmid 13): `gin_identify` / `gin_desc` (gindesc.c), the same text in PostgreSQL 13–18.
//!
//! INSERT and VACUUM_DATA_LEAF_PAGE look into block 0's data; when block 0 carries a
//! full-page image that data is not in the record, so the description says
//! `(full page image)` instead (`, for WAL verification` when the image is not applied).

use std::fmt::Write;

use super::common::tf;
use super::{Data, DescError};
use crate::wal::record::Record;
use crate::wal::version::PgVersion;

const CREATE_PTREE: u8 = 0x10;
const INSERT: u8 = 0x20;
const SPLIT: u8 = 0x30;
const VACUUM_PAGE: u8 = 0x40;
const DELETE_PAGE: u8 = 0x50;
const UPDATE_META_PAGE: u8 = 0x60;
const INSERT_LISTPAGE: u8 = 0x70;
const DELETE_LISTPAGE: u8 = 0x80;
const VACUUM_DATA_LEAF_PAGE: u8 = 0x90;

const INSERT_ISDATA: u16 = 0x01;
const INSERT_ISLEAF: u16 = 0x02;
const SPLIT_ROOT: u16 = 0x04;

// ginxlogSegmentAction types.
const SEGMENT_DELETE: u8 = 1;
const SEGMENT_INSERT: u8 = 2;
const SEGMENT_REPLACE: u8 = 3;
const SEGMENT_ADDITEMS: u8 = 4;

/// `sizeof(GinMetaPageData)`: the metapage copy that precedes `ndeleted` in DELETE_LISTPAGE.
const GIN_META_PAGE_DATA_SIZE: usize = 56;
/// `sizeof(ItemPointerData)`.
const ITEM_POINTER_SIZE: usize = 6;

pub fn identify(info: u8, _version: PgVersion) -> Option<&'static str> {
    Some(match info & 0xF0 {
        CREATE_PTREE => "CREATE_PTREE",
        INSERT => "INSERT",
        SPLIT => "SPLIT",
        VACUUM_PAGE => "VACUUM_PAGE",
        VACUUM_DATA_LEAF_PAGE => "VACUUM_DATA_LEAF_PAGE",
        DELETE_PAGE => "DELETE_PAGE",
        UPDATE_META_PAGE => "UPDATE_META_PAGE",
        INSERT_LISTPAGE => "INSERT_LISTPAGE",
        DELETE_LISTPAGE => "DELETE_LISTPAGE",
        _ => return None,
    })
}

/// A `BlockIdData` (two u16 halves, high half first).
fn block_id(d: &Data<'_>, offset: usize) -> Result<u32, DescError> {
    Ok((u32::from(d.u16(offset)?) << 16) | u32::from(d.u16(offset + 2)?))
}

pub fn describe(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    let d = Data::new(rec.main_data, "main data");
    match rec.info() & 0xF0 {
        INSERT => {
            let flags = d.u16(0)?;
            let _ = write!(
                out,
                "isdata: {} isleaf: {}",
                tf(flags & INSERT_ISDATA != 0),
                tf(flags & INSERT_ISLEAF != 0)
            );
            if flags & INSERT_ISLEAF == 0 {
                // Children of the split being completed follow the u16 flags.
                let _ = write!(out, " children: {}/{}", block_id(&d, 2)?, block_id(&d, 6)?);
            }
            if write_image_note(rec, out) {
                return Ok(());
            }
            let b = block0_data(rec)?;
            if flags & INSERT_ISDATA == 0 {
                // ginxlogInsertEntry: offset u16, isDelete bool.
                let _ = write!(out, " isdelete: {}", tf(b.bool(2)?));
            } else if flags & INSERT_ISLEAF != 0 {
                write_recompress_leaf(out, &b)?;
            } else {
                // ginxlogInsertDataInternal: offset u16, PostingItem { BlockIdData, ItemPointerData }.
                let _ = write!(
                    out,
                    " pitem: {}-{}/{}",
                    block_id(&b, 2)?,
                    block_id(&b, 6)?,
                    b.u16(10)?
                );
            }
        }
        SPLIT => {
            let flags = d.u16(24)?;
            let _ = write!(
                out,
                "isrootsplit: {} isdata: {} isleaf: {}",
                tf(flags & SPLIT_ROOT != 0),
                tf(flags & INSERT_ISDATA != 0),
                tf(flags & INSERT_ISLEAF != 0)
            );
        }
        // With an image the note is the whole description.
        VACUUM_DATA_LEAF_PAGE if !write_image_note(rec, out) => {
            write_recompress_leaf(out, &block0_data(rec)?)?;
        }
        DELETE_LISTPAGE => {
            let _ = write!(out, "ndeleted: {}", d.i32(GIN_META_PAGE_DATA_SIZE)?);
        }
        _ => {}
    }
    Ok(())
}

/// Appends the full-page-image note if block 0 has an image; returns whether it did.
fn write_image_note(rec: &Record<'_>, out: &mut String) -> bool {
    match rec.block(0).and_then(|b| b.image.as_ref()) {
        Some(img) => {
            out.push_str(if img.apply {
                " (full page image)"
            } else {
                " (full page image, for WAL verification)"
            });
            true
        }
        None => false,
    }
}

fn block0_data<'a>(rec: &Record<'a>) -> Result<Data<'a>, DescError> {
    match rec.block(0) {
        Some(b) if b.has_data() => Ok(Data::new(b.data, "block 0 data")),
        _ => Err(DescError::Invalid("block 0 has no data".into())),
    }
}

/// `ginxlogRecompressDataLeaf`: a u16 action count, then per action a segment number, an
/// action type and the action's payload (a posting list, or an item-pointer array to add).
fn write_recompress_leaf(out: &mut String, d: &Data<'_>) -> Result<(), DescError> {
    let nactions = d.u16(0)?;
    let _ = write!(out, " {nactions} segments:");
    let mut pos = 2;
    for _ in 0..nactions {
        let segno = d.u8(pos)?;
        let action = d.u8(pos + 1)?;
        pos += 2;
        let mut nitems = 0u16;
        if action == SEGMENT_INSERT || action == SEGMENT_REPLACE {
            // GinPostingList: ItemPointerData first, u16 nbytes, bytes padded to even length.
            let nbytes = usize::from(d.u16(pos + ITEM_POINTER_SIZE)?);
            pos += ITEM_POINTER_SIZE + 2 + ((nbytes + 1) & !1);
        }
        if action == SEGMENT_ADDITEMS {
            nitems = d.u16(pos)?;
            pos += 2 + usize::from(nitems) * ITEM_POINTER_SIZE;
        }
        match action {
            SEGMENT_ADDITEMS => {
                let _ = write!(out, " {segno} (add {nitems} items)");
            }
            SEGMENT_DELETE => {
                let _ = write!(out, " {segno} (delete)");
            }
            SEGMENT_INSERT => {
                let _ = write!(out, " {segno} (insert)");
            }
            SEGMENT_REPLACE => {
                let _ = write!(out, " {segno} (replace)");
            }
            _ => {
                // An unknown action's length is unknown, so nothing after it can be decoded.
                let _ = write!(out, " {segno} unknown action {action} ???");
                return Ok(());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_all() {
        assert_eq!(identify(0x00, PgVersion::V15), None);
        assert_eq!(
            identify(0x90, PgVersion::V15),
            Some("VACUUM_DATA_LEAF_PAGE")
        );
    }

    /// Whole records copied from WAL that PostgreSQL 15.18, 16.2 and 18.6 wrote, each with
    /// the text that version's pg_waldump printed after `desc: ` (up to the block references).
    const REAL: &[(PgVersion, &str, &str, &str)] = &[
        (PgVersion::V15, "0/3B61190", "4c000000000300003011b60300000000200d0000eeb842c300201c007f060000050000001540000001000000ff02010000000080100001001800010000000000000000000000010000000200", "INSERT isdata: F isleaf: T isdelete: F"),
        (PgVersion::V15, "0/3B61240", "5400000000030000e011b60300000000200d0000c3938bb7002024007f060000050000001540000001000000ff020100010000801000020020000100000000000000000000000100010001000000000000000200", "INSERT isdata: F isleaf: T isdelete: T"),
        (PgVersion::V15, "0/3B9C4C0", "540000000003000018a4b90300000000200d0000428a5b44002014007f0600000500000015400000010000000180000002000000ff0a0200000000000200000010000d0100000000000000000000020000000400", "INSERT isdata: F isleaf: F children: 2/4 isdelete: F"),
        (PgVersion::V15, "0/4DF40C0", "86000000000000008040df0400000000600d0000c0020689004000007f060000050000001540000000000000ff587f060000050000001540000016560000ffffffffffffffff00000000000000000000000000000000930000008d0000000500000000000000854e0000000000000200000000000000ffffffffffffffff0000000016560000", "UPDATE_META_PAGE "),
        (PgVersion::V15, "0/4E61C28", "5800000000000000e816e60400000000900d0000bfc7fa1200202c007f06000005000000154000003a000000150000010101020103010401050106010701080109010a010b010c010d010e010f0110011101120113011401", "VACUUM_DATA_LEAF_PAGE  21 segments: 0 (delete) 1 (delete) 2 (delete) 3 (delete) 4 (delete) 5 (delete) 6 (delete) 7 (delete) 8 (delete) 9 (delete) 10 (delete) 11 (delete) 12 (delete) 13 (delete) 14 (delete) 15 (delete) 16 (delete) 17 (delete) 18 (delete) 19 (delete) 20 (delete)"),
        (PgVersion::V16, "0/3AE7B80", "4c00000006030000207bae0300000000200d000031994a7900201c007f060000050000001540000001000000ff02010000000080100001001800010000000000000000000000010000000200", "INSERT isdata: F isleaf: T isdelete: F"),
        (PgVersion::V16, "0/3AE7C30", "5400000006030000d07bae0300000000200d00003a02d03f002024007f060000050000001540000001000000ff020100010000801000020020000100000000000000000000000100010001000000000000000200", "INSERT isdata: F isleaf: T isdelete: T"),
        (PgVersion::V16, "0/3B22EB0", "5400000006030000080eb20300000000200d0000600203bf002014007f0600000500000015400000010000000180000002000000ff0a0200000000000200000010000d0100000000000000000000020000000400", "INSERT isdata: F isleaf: F children: 2/4 isdelete: F"),
        (PgVersion::V16, "0/4D7AAB0", "860000000000000070aad70400000000600d0000c6dbd10a004000007f060000050000001540000000000000ff587f060000050000001540000000000000ffffffffffffffff00000000000000000000000000000000930000008d0000000500000000000000854e0000000000000200000000000000ffffffffffffffff0000000000000000", "UPDATE_META_PAGE "),
        (PgVersion::V16, "0/4DE8640", "58000000000000000081de0400000000900d00007000668600202c007f06000005000000154000003a000000150000010101020103010401050106010701080109010a010b010c010d010e010f0110011101120113011401", "VACUUM_DATA_LEAF_PAGE  21 segments: 0 (delete) 1 (delete) 2 (delete) 3 (delete) 4 (delete) 5 (delete) 6 (delete) 7 (delete) 8 (delete) 9 (delete) 10 (delete) 11 (delete) 12 (delete) 13 (delete) 14 (delete) 15 (delete) 16 (delete) 17 (delete) 18 (delete) 19 (delete) 20 (delete)"),
        (PgVersion::V18, "0/3D95A38", "4c0000001c030000d859d90300000000200d00004b39e44a00201c007f060000050000001540000001000000ff02010000000080100001001800010000000000000000000000010000000200", "INSERT isdata: F isleaf: T isdelete: F"),
        (PgVersion::V18, "0/3D95AE8", "540000001c030000885ad90300000000200d00004cbc1d4b002024007f060000050000001540000001000000ff020100010000801000020020000100000000000000000000000100010001000000000000000200", "INSERT isdata: F isleaf: T isdelete: T"),
        (PgVersion::V18, "0/3DD0D68", "540000001c030000c0ecdc0300000000200d000067091d33002014007f0600000500000015400000010000000180000002000000ff0a0200000000000200000010000d0100000000000000000000020000000400", "INSERT isdata: F isleaf: F children: 2/4 isdelete: F"),
        (PgVersion::V18, "0/5030EF8", "8600000000000000a8ee020500000000600d0000809b617b004000007f060000050000001540000000000000ff587f060000050000001540000000000000ffffffffffffffff00000000000000000000000000000000930000008d0000000500000000000000854e0000000000000200000000000000ffffffffffffffff000000001b7f0000", "UPDATE_META_PAGE "),
        (PgVersion::V18, "0/50A21D8", "5800000000000000801c0a0500000000900d0000a570438500202c007f06000005000000154000003a000000150000010101020103010401050106010701080109010a010b010c010d010e010f0110011101120113011401", "VACUUM_DATA_LEAF_PAGE  21 segments: 0 (delete) 1 (delete) 2 (delete) 3 (delete) 4 (delete) 5 (delete) 6 (delete) 7 (delete) 8 (delete) 9 (delete) 10 (delete) 11 (delete) 12 (delete) 13 (delete) 14 (delete) 15 (delete) 16 (delete) 17 (delete) 18 (delete) 19 (delete) 20 (delete)"),
    ];

    #[test]
    fn matches_pg_waldump() {
        crate::rmgr::common::testing::check_real_records(
            REAL.iter()
                .map(|&(version, _lsn, hex, want)| (version, hex, want)),
        );
    }
}
