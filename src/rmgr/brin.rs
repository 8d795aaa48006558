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

    /// Whole records copied from WAL that PostgreSQL 15.18, 16.2 and 18.6 wrote, each with
    /// the text that version's pg_waldump printed after `desc: ` (up to the block references).
    const REAL: &[(PgVersion, &str, &str, &str)] = &[
        (PgVersion::V15, "0/5EF1C38", "340000001b030000f01bef050000000000110000abc0132c004000007f060000050000002b40000000000000ff06010000000100", "CREATE_INDEX v1 pagesPerRange 1"),
        (PgVersion::V15, "0/5EF1C70", "3a0000001b030000381cef05000000004011000086e17503000000007f060000050000002b4000000000000001c0000001000000ff0401000000", "REVMAP_EXTEND targetBlk 1"),
        (PgVersion::V15, "0/5EF1CB0", "480000001b030000701cef050000000090110000cc03eb03006008007f060000050000002b400000020000000180000001000000ff0a00000000a801000000000000010000000100", "INSERT+INIT heapBlk 0 pagesPerRange 1 offnum 1"),
        (PgVersion::V15, "0/5EF28C8", "400000001d0300008828ef05000000003011000022fae4ee002010007f060000050000002b40000002000000ff02000000000800000005610561000000000100", "SAMEPAGE_UPDATE offnum 1"),
        (PgVersion::V15, "0/6B41DA0", "4800000000000000781db406000000001011000029c54f18002008007f060000050000002b400000020000000180000001000000ff0a01000000e801000001000000010000000200", "INSERT heapBlk 1 pagesPerRange 1 offnum 2"),
        (PgVersion::V15, "0/6B60B18", "4000000000000000b807b6060000000050110000a0dd1fb6000000007f060000050000002c400000010000000180000002000000ff0a01000000000000000100", "DESUMMARIZE pagesPerRange 1, heapBlk 0, page offset 1"),
        (PgVersion::V16, "0/5E73CD0", "3400000021030000883ce7050000000000110000c0e94da8004000007f060000050000002b40000000000000ff06010000000100", "CREATE_INDEX v1 pagesPerRange 1"),
        (PgVersion::V16, "0/5E73D08", "3a00000021030000d03ce7050000000040110000328c2dbd000000007f060000050000002b4000000000000001c0000001000000ff0401000000", "REVMAP_EXTEND targetBlk 1"),
        (PgVersion::V16, "0/5E73D48", "4800000021030000083de70500000000901100003281a5fa006008007f060000050000002b400000020000000180000001000000ff0a00000000a801000000000000010000000100", "INSERT+INIT heapBlk 0 pagesPerRange 1 offnum 1"),
        (PgVersion::V16, "0/5E74958", "40000000230300001849e7050000000030110000e190d8b3002010007f060000050000002b40000002000000ff02000000000800000005610561000000000100", "SAMEPAGE_UPDATE offnum 1"),
        (PgVersion::V16, "0/6AC3E40", "4800000000000000183eac060000000010110000313c8b82002008007f060000050000002b400000020000000180000001000000ff0a01000000e801000001000000010000000200", "INSERT heapBlk 1 pagesPerRange 1 offnum 2"),
        (PgVersion::V16, "0/6AE2BB8", "40000000000000005828ae0600000000501100000ab3b41f000000007f060000050000002c400000010000000180000002000000ff0a01000000000000000100", "DESUMMARIZE pagesPerRange 1, heapBlk 0, page offset 1"),
        (PgVersion::V18, "0/6152800", "3400000037030000b827150600000000001100004a81fca1004000007f060000050000002b40000000000000ff06010000000100", "CREATE_INDEX v1 pagesPerRange 1"),
        (PgVersion::V18, "0/6152838", "3a00000037030000002815060000000040110000d2cd796d000000007f060000050000002b4000000000000001c0000001000000ff0401000000", "REVMAP_EXTEND targetBlk 1"),
        (PgVersion::V18, "0/6152878", "4800000037030000382815060000000090110000e1273a22006008007f060000050000002b400000020000000180000001000000ff0a00000000a801000000000000010000000100", "INSERT+INIT heapBlk 0 pagesPerRange 1 offnum 1"),
        (PgVersion::V18, "0/615F710", "4000000039030000d0f615060000000030110000a92a1af7002010007f060000050000002b40000002000000ff02000000000800000005610561000000000100", "SAMEPAGE_UPDATE offnum 1"),
        (PgVersion::V18, "0/6DB0C40", "4800000000000000180cdb0600000000101100002754739a002008007f060000050000002b400000020000000180000001000000ff0a01000000e801000001000000010000000200", "INSERT heapBlk 1 pagesPerRange 1 offnum 2"),
        (PgVersion::V18, "0/6DCF9A0", "400000000000000040f6dc0600000000501100005b72cfad000000007f060000050000002c400000010000000180000002000000ff0a01000000000000000100", "DESUMMARIZE pagesPerRange 1, heapBlk 0, page offset 1"),
    ];

    #[test]
    fn matches_pg_waldump() {
        crate::rmgr::common::testing::check_real_records(
            REAL.iter()
                .map(|&(version, _lsn, hex, want)| (version, hex, want)),
        );
    }
}
