//! Storage (rmid 2): relation file creation and truncation (`smgrdesc.c`, the same in 13–18).

use std::fmt::Write;

use super::fmt::write_relpath;
use super::{Data, DescError};
use crate::wal::record::{Fork, Record, RelFileLocator};
use crate::wal::version::PgVersion;

const XLOG_SMGR_CREATE: u8 = 0x10;
const XLOG_SMGR_TRUNCATE: u8 = 0x20;

pub fn identify(info: u8, _version: PgVersion) -> Option<&'static str> {
    match info & 0xF0 {
        XLOG_SMGR_CREATE => Some("CREATE"),
        XLOG_SMGR_TRUNCATE => Some("TRUNCATE"),
        _ => None,
    }
}

fn locator(d: &Data<'_>, off: usize) -> Result<RelFileLocator, DescError> {
    Ok(RelFileLocator {
        spc: d.u32(off)?,
        db: d.u32(off + 4)?,
        rel: d.u32(off + 8)?,
    })
}

pub fn describe(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    let d = Data::new(rec.main_data, "main data");
    match rec.info() & 0xF0 {
        XLOG_SMGR_CREATE => {
            // xl_smgr_create { RelFileLocator, ForkNumber forkNum }
            let loc = locator(&d, 0)?;
            let n = d.i32(12)?;
            let fork = u8::try_from(n)
                .ok()
                .and_then(Fork::from_number)
                .ok_or_else(|| DescError::Invalid(format!("invalid fork number {n}")))?;
            write_relpath(out, rec.version, &loc, fork);
        }
        XLOG_SMGR_TRUNCATE => {
            // xl_smgr_truncate { BlockNumber blkno, RelFileLocator, int flags }
            let blkno = d.u32(0)?;
            let loc = locator(&d, 4)?;
            let flags = d.i32(16)?;
            write_relpath(out, rec.version, &loc, Fork::Main);
            let _ = write!(out, " to {blkno} blocks flags {flags}");
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
                0x21,
                "0000000080060000000000007017000007000000",
                "global/6000 to 0 blocks flags 7",
            ),
            (
                PgVersion::V15,
                0x11,
                "7f060000050000000040000000000000",
                "base/5/16384",
            ),
        ];
        for &(version, info, hex, expected) in cases {
            let got = describe_hex(describe, version, 2, info, None, hex).unwrap();
            assert_eq!(got, expected, "{version:?} info {info:#x}");
        }
    }
}
