//! Gin (rmid 13): `gin_identify` / `gin_desc` (gindesc.c), the same text in PostgreSQL 13–18.
//!
//! INSERT and VACUUM_DATA_LEAF_PAGE look into block 0's data; when block 0 carries a
//! full-page image that data is not in the record, so the description says
//! `(full page image)` instead (`, for WAL verification` when the image is not applied).

use std::fmt::Write;

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

fn tf(b: bool) -> char {
    if b {
        'T'
    } else {
        'F'
    }
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
}
