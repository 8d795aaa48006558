//! The parts of Heap and Heap2 records that logical decoding needs (`decode.c`): logged
//! tuples, old keys, truncated relations and speculative-insert markers.

use crate::rmgr::{Data, DescError};
use crate::wal::record::{Record, RelFileLocator};

const XLOG_HEAP_OPMASK: u8 = 0x70;
pub const XLOG_HEAP_INSERT: u8 = 0x00;
pub const XLOG_HEAP_DELETE: u8 = 0x10;
pub const XLOG_HEAP_UPDATE: u8 = 0x20;
pub const XLOG_HEAP_TRUNCATE: u8 = 0x30;
pub const XLOG_HEAP_HOT_UPDATE: u8 = 0x40;
pub const XLOG_HEAP_CONFIRM: u8 = 0x50;
pub const XLOG_HEAP2_MULTI_INSERT: u8 = 0x50;

const XLH_INSERT_IS_SPECULATIVE: u8 = 0x04;
const XLH_INSERT_CONTAINS_NEW_TUPLE: u8 = 0x08;
const XLH_UPDATE_CONTAINS_OLD_TUPLE: u8 = 0x04;
const XLH_UPDATE_CONTAINS_OLD_KEY: u8 = 0x08;
const XLH_UPDATE_CONTAINS_NEW_TUPLE: u8 = 0x10;
const XLH_DELETE_CONTAINS_OLD_TUPLE: u8 = 0x02;
const XLH_DELETE_CONTAINS_OLD_KEY: u8 = 0x04;
const XLH_DELETE_IS_SUPER: u8 = 0x08;
const XLH_TRUNCATE_CASCADE: u8 = 0x01;
const XLH_TRUNCATE_RESTART_SEQS: u8 = 0x02;

const SIZE_OF_HEAP_HEADER: usize = 5;
const SIZE_OF_HEAP_UPDATE: usize = 14;
const SIZE_OF_HEAP_DELETE: usize = 8;
const SIZE_OF_MULTI_INSERT_TUPLE: usize = 7;

/// A heap tuple as WAL logs it: the header fields that are logged and the bytes from offset 23
/// of the tuple on (null bitmap, padding, data). Owned, as it outlives the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedTuple {
    pub infomask2: u16,
    pub infomask: u16,
    pub hoff: u8,
    pub data: Vec<u8>,
}

/// What one heap record contributes to logical decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeapChange {
    Insert {
        rel: RelFileLocator,
        tuple: LoggedTuple,
        speculative: bool,
    },
    MultiInsert {
        rel: RelFileLocator,
        tuples: Vec<LoggedTuple>,
    },
    Update {
        rel: RelFileLocator,
        old: Option<LoggedTuple>,
        new: Option<LoggedTuple>,
    },
    Delete {
        rel: RelFileLocator,
        old: Option<LoggedTuple>,
    },
    /// A speculative insertion was abandoned (`INSERT … ON CONFLICT` found a conflict).
    SpeculativeAbort { rel: RelFileLocator },
    /// A speculative insertion was confirmed.
    SpeculativeConfirm { rel: RelFileLocator },
    Truncate {
        db: u32,
        relids: Vec<u32>,
        cascade: bool,
        restart_seqs: bool,
    },
}

/// Reads `xl_heap_header` + tuple bytes (`DecodeXLogTuple`).
fn logged_tuple(d: &Data<'_>) -> Result<LoggedTuple, DescError> {
    Ok(LoggedTuple {
        infomask2: d.u16(0)?,
        infomask: d.u16(2)?,
        hoff: d.u8(4)?,
        data: d.rest(SIZE_OF_HEAP_HEADER)?.bytes().to_vec(),
    })
}

fn block0<'a>(rec: &'a Record<'_>) -> Result<&'a crate::wal::record::BlockRef<'a>, DescError> {
    rec.block(0)
        .ok_or_else(|| DescError::Invalid("heap record without block 0".into()))
}

/// Decodes a Heap (rmid 10) record; `None` for records that carry no logical change (or no
/// tuple data, which then only matters for the transaction's existence).
pub fn decode_heap(rec: &Record<'_>) -> Result<Option<HeapChange>, DescError> {
    let d = Data::new(rec.main_data, "main data");
    Ok(match rec.info() & XLOG_HEAP_OPMASK {
        XLOG_HEAP_INSERT => {
            let flags = d.u8(2)?;
            if flags & XLH_INSERT_CONTAINS_NEW_TUPLE == 0 {
                return Ok(None);
            }
            let b = block0(rec)?;
            Some(HeapChange::Insert {
                rel: b.locator,
                tuple: logged_tuple(&Data::new(b.data, "block 0 data"))?,
                speculative: flags & XLH_INSERT_IS_SPECULATIVE != 0,
            })
        }
        XLOG_HEAP_UPDATE | XLOG_HEAP_HOT_UPDATE => {
            let flags = d.u8(7)?;
            let b = block0(rec)?;
            let new = if flags & XLH_UPDATE_CONTAINS_NEW_TUPLE != 0 {
                Some(logged_tuple(&Data::new(b.data, "block 0 data"))?)
            } else {
                None
            };
            let old = if flags & (XLH_UPDATE_CONTAINS_OLD_TUPLE | XLH_UPDATE_CONTAINS_OLD_KEY) != 0
            {
                Some(logged_tuple(&d.rest(SIZE_OF_HEAP_UPDATE)?)?)
            } else {
                None
            };
            Some(HeapChange::Update {
                rel: b.locator,
                old,
                new,
            })
        }
        XLOG_HEAP_DELETE => {
            let flags = d.u8(7)?;
            let b = block0(rec)?;
            if flags & XLH_DELETE_IS_SUPER != 0 {
                return Ok(Some(HeapChange::SpeculativeAbort { rel: b.locator }));
            }
            let old = if flags & (XLH_DELETE_CONTAINS_OLD_TUPLE | XLH_DELETE_CONTAINS_OLD_KEY) != 0
            {
                Some(logged_tuple(&d.rest(SIZE_OF_HEAP_DELETE)?)?)
            } else {
                None
            };
            Some(HeapChange::Delete {
                rel: b.locator,
                old,
            })
        }
        XLOG_HEAP_TRUNCATE => {
            let nrelids = d.u32(4)? as usize;
            let flags = d.u8(8)?;
            d.slice(12, nrelids.saturating_mul(4))?;
            Some(HeapChange::Truncate {
                db: d.u32(0)?,
                relids: (0..nrelids)
                    .map(|i| d.u32(12 + 4 * i))
                    .collect::<Result<_, _>>()?,
                cascade: flags & XLH_TRUNCATE_CASCADE != 0,
                restart_seqs: flags & XLH_TRUNCATE_RESTART_SEQS != 0,
            })
        }
        XLOG_HEAP_CONFIRM => Some(HeapChange::SpeculativeConfirm {
            rel: block0(rec)?.locator,
        }),
        _ => None,
    })
}

/// Decodes a Heap2 MULTI_INSERT (`DecodeMultiInsert`); other Heap2 records carry no changes.
pub fn decode_heap2(rec: &Record<'_>) -> Result<Option<HeapChange>, DescError> {
    if rec.info() & XLOG_HEAP_OPMASK != XLOG_HEAP2_MULTI_INSERT {
        return Ok(None);
    }
    let d = Data::new(rec.main_data, "main data");
    let flags = d.u8(0)?;
    if flags & XLH_INSERT_CONTAINS_NEW_TUPLE == 0 {
        return Ok(None);
    }
    let ntuples = usize::from(d.u16(2)?);
    let b = block0(rec)?;
    let data = Data::new(b.data, "block 0 data");
    let mut tuples = Vec::with_capacity(ntuples);
    let mut off = 0usize;
    for _ in 0..ntuples {
        // Each xl_multi_insert_tuple is SHORTALIGNed relative to the block data.
        off = (off + 1) & !1;
        let datalen = usize::from(data.u16(off)?);
        let body = off + SIZE_OF_MULTI_INSERT_TUPLE;
        tuples.push(LoggedTuple {
            infomask2: data.u16(off + 2)?,
            infomask: data.u16(off + 4)?,
            hoff: data.u8(off + 6)?,
            data: data.slice(body, datalen)?.to_vec(),
        });
        off = body + datalen;
    }
    Ok(Some(HeapChange::MultiInsert {
        rel: b.locator,
        tuples,
    }))
}

/// Heap and Heap2 records that give a transaction a base snapshot in PostgreSQL
/// (`SnapBuildProcessChange`), which decides whether an otherwise empty transaction is shown.
pub fn gives_base_snapshot(rmid: u8, info: u8) -> bool {
    let op = info & XLOG_HEAP_OPMASK;
    match rmid {
        10 => matches!(
            op,
            XLOG_HEAP_INSERT
                | XLOG_HEAP_UPDATE
                | XLOG_HEAP_HOT_UPDATE
                | XLOG_HEAP_DELETE
                | XLOG_HEAP_TRUNCATE
                | XLOG_HEAP_CONFIRM
        ),
        9 => op == XLOG_HEAP2_MULTI_INSERT,
        _ => false,
    }
}
