//! CommitTs (rmid 18): commit-timestamp page zeroing, truncation and (13 only) SETTS
//! (`committsdesc.c`). Page numbers are 32-bit before 17 and 64-bit from 17 on.

use std::fmt::Write;

use super::clog::page_number;
use super::fmt::write_timestamptz;
use super::{Data, DescError};
use crate::wal::record::Record;
use crate::wal::version::PgVersion;

const COMMIT_TS_ZEROPAGE: u8 = 0x00;
const COMMIT_TS_TRUNCATE: u8 = 0x10;
/// 13 only.
const COMMIT_TS_SETTS: u8 = 0x20;
/// `SizeOfCommitTsSet`: timestamp, node id, padding, main xid.
const SIZE_OF_COMMIT_TS_SET: usize = 16;

/// pg_waldump matches the whole `xl_info` here, without masking the generic low bits, so a
/// record with e.g. `XLR_CHECK_CONSISTENCY` set is not identified.
pub fn identify(info: u8, version: PgVersion) -> Option<&'static str> {
    match info {
        COMMIT_TS_ZEROPAGE => Some("ZEROPAGE"),
        COMMIT_TS_TRUNCATE => Some("TRUNCATE"),
        COMMIT_TS_SETTS if version == PgVersion::V13 => Some("SETTS"),
        _ => None,
    }
}

pub fn describe(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    let d = Data::new(rec.main_data, "main data");
    match rec.info() & 0xF0 {
        COMMIT_TS_ZEROPAGE => {
            let (page, _) = page_number(&d, rec.version)?;
            let _ = write!(out, "{page}");
        }
        COMMIT_TS_TRUNCATE => {
            // xl_commit_ts_truncate { pageno, TransactionId oldestXid }
            let (page, size) = page_number(&d, rec.version)?;
            let _ = write!(out, "pageno {page}, oldestXid {}", d.u32(size)?);
        }
        COMMIT_TS_SETTS if rec.version == PgVersion::V13 => {
            // xl_commit_ts_set { TimestampTz timestamp, RepOriginId nodeid, TransactionId
            // mainxid } followed by subtransaction xids up to the end of the data.
            out.push_str("set ");
            write_timestamptz(out, d.i64(0)?);
            let _ = write!(out, "/{} for: {}", d.u16(8)?, d.u32(12)?);
            let nsub = d.len().saturating_sub(SIZE_OF_COMMIT_TS_SET) / 4;
            for i in 0..nsub {
                let _ = write!(out, ", {}", d.u32(SIZE_OF_COMMIT_TS_SET + 4 * i)?);
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rmgr::common::testing::describe_hex;

    // Main data of real records and what pg_waldump of the same version printed for them.
    #[test]
    fn real_records() {
        let cases: &[(PgVersion, u8, &str, &str)] = &[
            (PgVersion::V15, 0x00, "01000000", "1"),
            (PgVersion::V18, 0x00, "0100000000000000", "1"),
        ];
        for &(version, info, hex, expected) in cases {
            let got = describe_hex(describe, version, 18, info, None, hex).unwrap();
            assert_eq!(got, expected, "{version:?} info {info:#x}");
        }
    }
}
