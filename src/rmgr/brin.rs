//! BRIN (rmid 17): `brin_identify` / `brin_desc` (brindesc.c), the same text in
//! PostgreSQL 13–18.
//!
//! The opcode lives in `info & XLOG_BRIN_OPMASK`; bit 0x80 (`XLOG_BRIN_INIT_PAGE`) marks a
//! re-initialised page. identify knows the flag only on INSERT and UPDATE (any other
//! combination is unknown to pg_waldump), while desc ignores it.

use std::fmt::Write;

use super::{Data, DescError};
use crate::wal::record::Record;
use crate::wal::version::PgVersion;

const CREATE_INDEX: u8 = 0x00;
const INSERT: u8 = 0x10;
const UPDATE: u8 = 0x20;
const SAMEPAGE_UPDATE: u8 = 0x30;
const REVMAP_EXTEND: u8 = 0x40;
const DESUMMARIZE: u8 = 0x50;
const OPMASK: u8 = 0x70;
const INIT_PAGE: u8 = 0x80;

pub fn identify(info: u8, _version: PgVersion) -> Option<&'static str> {
    Some(match info & 0xF0 {
        CREATE_INDEX => "CREATE_INDEX",
        INSERT => "INSERT",
        x if x == INSERT | INIT_PAGE => "INSERT+INIT",
        UPDATE => "UPDATE",
        x if x == UPDATE | INIT_PAGE => "UPDATE+INIT",
        SAMEPAGE_UPDATE => "SAMEPAGE_UPDATE",
        REVMAP_EXTEND => "REVMAP_EXTEND",
        DESUMMARIZE => "DESUMMARIZE",
        _ => return None,
    })
}

pub fn describe(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    let d = Data::new(rec.main_data, "main data");
    match rec.info() & OPMASK {
        CREATE_INDEX => {
            // xl_brin_createidx: pagesPerRange u32, version u16.
            let _ = write!(out, "v{} pagesPerRange {}", d.u16(4)?, d.u32(0)?);
        }
        INSERT => {
            let _ = write!(
                out,
                "heapBlk {} pagesPerRange {} offnum {}",
                d.u32(0)?,
                d.u32(4)?,
                d.u16(8)?
            );
        }
        UPDATE => {
            // xl_brin_update: oldOffnum u16, then an xl_brin_insert at offset 4.
            let _ = write!(
                out,
                "heapBlk {} pagesPerRange {} old offnum {}, new offnum {}",
                d.u32(4)?,
                d.u32(8)?,
                d.u16(0)?,
                d.u16(12)?
            );
        }
        SAMEPAGE_UPDATE => {
            let _ = write!(out, "offnum {}", d.u16(0)?);
        }
        REVMAP_EXTEND => {
            let _ = write!(out, "targetBlk {}", d.u32(0)?);
        }
        DESUMMARIZE => {
            let _ = write!(
                out,
                "pagesPerRange {}, heapBlk {}, page offset {}",
                d.u32(0)?,
                d.u32(4)?,
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
        assert_eq!(identify(0x90, PgVersion::V18), Some("INSERT+INIT"));
        assert_eq!(identify(0xA0, PgVersion::V18), Some("UPDATE+INIT"));
        assert_eq!(identify(0xC0, PgVersion::V18), None);
    }
}
