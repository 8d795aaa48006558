//! MultiXact (rmid 6): offset/member page zeroing, multixact creation and truncation
//! (`mxactdesc.c`). Page numbers are 32-bit before 17 and 64-bit from 17 on.

use std::fmt::Write;

use super::clog::page_number;
use super::{Data, DescError};
use crate::wal::record::Record;
use crate::wal::version::PgVersion;

const ZERO_OFF_PAGE: u8 = 0x00;
const ZERO_MEM_PAGE: u8 = 0x10;
const CREATE_ID: u8 = 0x20;
const TRUNCATE_ID: u8 = 0x30;

pub fn identify(info: u8, _version: PgVersion) -> Option<&'static str> {
    match info & 0xF0 {
        ZERO_OFF_PAGE => Some("ZERO_OFF_PAGE"),
        ZERO_MEM_PAGE => Some("ZERO_MEM_PAGE"),
        CREATE_ID => Some("CREATE_ID"),
        TRUNCATE_ID => Some("TRUNCATE_ID"),
        _ => None,
    }
}

/// `MultiXactStatus` as `out_member` abbreviates it.
fn status_name(status: u32) -> &'static str {
    match status {
        0 => "(keysh) ",
        1 => "(sh) ",
        2 => "(fornokeyupd) ",
        3 => "(forupd) ",
        4 => "(nokeyupd) ",
        5 => "(upd) ",
        _ => "(unk) ",
    }
}

pub fn describe(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    let d = Data::new(rec.main_data, "main data");
    match rec.info() & 0xF0 {
        ZERO_OFF_PAGE | ZERO_MEM_PAGE => {
            let (page, _) = page_number(&d, rec.version)?;
            let _ = write!(out, "{page}");
        }
        CREATE_ID => {
            // xl_multixact_create { mid, moff, int32 nmembers, MultiXactMember members[] }
            // with MultiXactMember { TransactionId xid, MultiXactStatus status } (8 bytes).
            let n = d.i32(8)?;
            let _ = write!(out, "{} offset {} nmembers {n}: ", d.u32(0)?, d.u32(4)?);
            for i in 0..n.max(0) as usize {
                let base = 12 + 8 * i;
                let _ = write!(out, "{} ", d.u32(base)?);
                out.push_str(status_name(d.u32(base + 4)?));
            }
        }
        TRUNCATE_ID => {
            // xl_multixact_truncate { oldestMultiDB, startTruncOff, endTruncOff,
            // startTruncMemb, endTruncMemb }
            let _ = write!(
                out,
                "offsets [{}, {}), members [{}, {})",
                d.u32(4)?,
                d.u32(8)?,
                d.u32(12)?,
                d.u32(16)?
            );
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
            (
                PgVersion::V15,
                0x20,
                "0100000001000000020000003d030000010000003e03000000000000",
                "1 offset 1 nmembers 2: 829 (sh) 830 (keysh) ",
            ),
            (
                PgVersion::V18,
                0x20,
                "01000000010000000200000059030000010000005a03000000000000",
                "1 offset 1 nmembers 2: 857 (sh) 858 (keysh) ",
            ),
            (PgVersion::V15, 0x10, "00000000", "0"),
            (PgVersion::V18, 0x10, "0000000000000000", "0"),
        ];
        for &(version, info, hex, expected) in cases {
            let got = describe_hex(describe, version, 6, info, None, hex).unwrap();
            assert_eq!(got, expected, "{version:?} info {info:#x}");
        }
    }
}
