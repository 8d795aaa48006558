//! Tablespace (rmid 5): CREATE / DROP TABLESPACE (`tblspcdesc.c`, the same in 13–18).

use std::fmt::Write;

use super::common::push_cstr;
use super::{Data, DescError};
use crate::wal::record::Record;
use crate::wal::version::PgVersion;

const XLOG_TBLSPC_CREATE: u8 = 0x00;
const XLOG_TBLSPC_DROP: u8 = 0x10;

pub fn identify(info: u8, _version: PgVersion) -> Option<&'static str> {
    match info & 0xF0 {
        XLOG_TBLSPC_CREATE => Some("CREATE"),
        XLOG_TBLSPC_DROP => Some("DROP"),
        _ => None,
    }
}

pub fn describe(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    let d = Data::new(rec.main_data, "main data");
    match rec.info() & 0xF0 {
        XLOG_TBLSPC_CREATE => {
            // { Oid ts_id, char ts_path[] (NUL-terminated) }
            let _ = write!(out, "{} \"", d.u32(0)?);
            push_cstr(out, d.cstr(4)?);
            out.push('"');
        }
        XLOG_TBLSPC_DROP => {
            let _ = write!(out, "{}", d.u32(0)?);
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
                "104000002f746d702f6d79726d2f31352f747300",
                "16400 \"/tmp/myrm/15/ts\"",
            ),
            (PgVersion::V15, 0x10, "10400000", "16400"),
        ];
        for &(version, info, hex, expected) in cases {
            let got = describe_hex(describe, version, 5, info, None, hex).unwrap();
            assert_eq!(got, expected, "{version:?} info {info:#x}");
        }
    }
}
