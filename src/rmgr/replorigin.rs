//! ReplicationOrigin (rmid 19): origin progress and drop (`replorigindesc.c`).

use std::fmt::Write;

use super::fmt::write_lsn;
use super::{Data, DescError};
use crate::wal::record::Record;
use crate::wal::version::PgVersion;

const XLOG_REPLORIGIN_SET: u8 = 0x00;
const XLOG_REPLORIGIN_DROP: u8 = 0x10;

/// Like CommitTs, pg_waldump compares the unmasked `xl_info` here.
pub fn identify(info: u8, _version: PgVersion) -> Option<&'static str> {
    match info {
        XLOG_REPLORIGIN_SET => Some("SET"),
        XLOG_REPLORIGIN_DROP => Some("DROP"),
        _ => None,
    }
}

pub fn describe(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    let d = Data::new(rec.main_data, "main data");
    match rec.info() & 0xF0 {
        XLOG_REPLORIGIN_SET => {
            // xl_replorigin_set { XLogRecPtr remote_lsn, RepOriginId node_id, bool force }
            let _ = write!(out, "set {}; lsn ", d.u16(8)?);
            write_lsn(out, d.u64(0)?);
            let _ = write!(out, "; force: {}", d.u8(10)?);
        }
        XLOG_REPLORIGIN_DROP => {
            let _ = write!(out, "drop {}", d.u16(0)?);
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
                0x00,
                "7856341200000000010001bdaf7f0000",
                "set 1; lsn 0/12345678; force: 1",
            ),
            (PgVersion::V15, 0x10, "0100", "drop 1"),
        ];
        for &(version, info, hex, expected) in cases {
            let got = describe_hex(describe, version, 19, info, None, hex).unwrap();
            assert_eq!(got, expected, "{version:?} info {info:#x}");
        }
    }
}
