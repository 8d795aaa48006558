//! XLOG (rmid 0): checkpoints, full-page images, segment switches and other bookkeeping
//! records (`xlogdesc.c`).

use std::fmt::Write;

use super::common::{push_cstr, wal_level_name};
use super::fmt::{write_lsn, write_timestamptz};
use super::{Data, DescError};
use crate::wal::record::Record;
use crate::wal::version::PgVersion;

const CHECKPOINT_SHUTDOWN: u8 = 0x00;
const CHECKPOINT_ONLINE: u8 = 0x10;
const NOOP: u8 = 0x20;
const NEXTOID: u8 = 0x30;
const SWITCH: u8 = 0x40;
const BACKUP_END: u8 = 0x50;
const PARAMETER_CHANGE: u8 = 0x60;
const RESTORE_POINT: u8 = 0x70;
const FPW_CHANGE: u8 = 0x80;
const END_OF_RECOVERY: u8 = 0x90;
const FPI_FOR_HINT: u8 = 0xA0;
const FPI: u8 = 0xB0;
/// Written by 13.5+/14.1+ and every later major; the 13 branch learned it in a minor release.
const OVERWRITE_CONTRECORD: u8 = 0xD0;
/// 17+.
const CHECKPOINT_REDO: u8 = 0xE0;

/// `MAXFNAMELEN`: the size of `xl_restore_point.rp_name`.
const RESTORE_POINT_NAME_LEN: usize = 64;

pub fn identify(info: u8, version: PgVersion) -> Option<&'static str> {
    Some(match info & 0xF0 {
        CHECKPOINT_SHUTDOWN => "CHECKPOINT_SHUTDOWN",
        CHECKPOINT_ONLINE => "CHECKPOINT_ONLINE",
        NOOP => "NOOP",
        NEXTOID => "NEXTOID",
        SWITCH => "SWITCH",
        BACKUP_END => "BACKUP_END",
        PARAMETER_CHANGE => "PARAMETER_CHANGE",
        RESTORE_POINT => "RESTORE_POINT",
        FPW_CHANGE => "FPW_CHANGE",
        END_OF_RECOVERY => "END_OF_RECOVERY",
        OVERWRITE_CONTRECORD => "OVERWRITE_CONTRECORD",
        FPI => "FPI",
        FPI_FOR_HINT => "FPI_FOR_HINT",
        CHECKPOINT_REDO if version >= PgVersion::V17 => "CHECKPOINT_REDO",
        _ => return None,
    })
}

/// The `CheckPoint` struct (88 bytes in every version; 17 put `wal_level` into former padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckPoint {
    pub redo: u64,
    pub this_timeline: u32,
    pub prev_timeline: u32,
    pub full_page_writes: bool,
    /// 17+ only.
    pub wal_level: Option<i32>,
    pub next_xid_epoch: u32,
    pub next_xid: u32,
    pub next_oid: u32,
    pub next_multi: u32,
    pub next_multi_offset: u32,
    pub oldest_xid: u32,
    pub oldest_xid_db: u32,
    pub oldest_multi: u32,
    pub oldest_multi_db: u32,
    /// Unix seconds (`pg_time_t`).
    pub time: i64,
    pub oldest_commit_ts_xid: u32,
    pub newest_commit_ts_xid: u32,
    pub oldest_active_xid: u32,
}

pub fn parse_checkpoint(data: Data<'_>, version: PgVersion) -> Result<CheckPoint, DescError> {
    Ok(CheckPoint {
        redo: data.u64(0)?,
        this_timeline: data.u32(8)?,
        prev_timeline: data.u32(12)?,
        full_page_writes: data.bool(16)?,
        wal_level: if version >= PgVersion::V17 {
            Some(data.i32(20)?)
        } else {
            None
        },
        next_xid: data.u32(24)?,
        next_xid_epoch: data.u32(28)?,
        next_oid: data.u32(32)?,
        next_multi: data.u32(36)?,
        next_multi_offset: data.u32(40)?,
        oldest_xid: data.u32(44)?,
        oldest_xid_db: data.u32(48)?,
        oldest_multi: data.u32(52)?,
        oldest_multi_db: data.u32(56)?,
        time: data.i64(64)?,
        oldest_commit_ts_xid: data.u32(72)?,
        newest_commit_ts_xid: data.u32(76)?,
        oldest_active_xid: data.u32(80)?,
    })
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn true_false(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

pub fn describe(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    let d = Data::new(rec.main_data, "main data");
    let version = rec.version;
    match rec.info() & 0xF0 {
        op @ (CHECKPOINT_SHUTDOWN | CHECKPOINT_ONLINE) => {
            let c = parse_checkpoint(d, version)?;
            out.push_str("redo ");
            write_lsn(out, c.redo);
            let _ = write!(
                out,
                "; tli {}; prev tli {}; fpw {}; ",
                c.this_timeline,
                c.prev_timeline,
                true_false(c.full_page_writes)
            );
            if let Some(level) = c.wal_level {
                let _ = write!(out, "wal_level {}; ", wal_level_name(level));
            }
            let _ = write!(
                out,
                "xid {}:{}; oid {}; multi {}; offset {}; oldest xid {} in DB {}; \
                 oldest multi {} in DB {}; oldest/newest commit timestamp xid: {}/{}; \
                 oldest running xid {}; {}",
                c.next_xid_epoch,
                c.next_xid,
                c.next_oid,
                c.next_multi,
                c.next_multi_offset,
                c.oldest_xid,
                c.oldest_xid_db,
                c.oldest_multi,
                c.oldest_multi_db,
                c.oldest_commit_ts_xid,
                c.newest_commit_ts_xid,
                c.oldest_active_xid,
                if op == CHECKPOINT_SHUTDOWN {
                    "shutdown"
                } else {
                    "online"
                }
            );
        }
        NEXTOID => {
            let _ = write!(out, "{}", d.u32(0)?);
        }
        RESTORE_POINT => {
            // rp_name is a fixed char[64] after rp_time; %s stops at the first NUL.
            let name = d.slice(8, RESTORE_POINT_NAME_LEN)?;
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            push_cstr(out, &name[..end]);
        }
        BACKUP_END => write_lsn(out, d.u64(0)?),
        PARAMETER_CHANGE => {
            let _ = write!(
                out,
                "max_connections={} max_worker_processes={} max_wal_senders={} \
                 max_prepared_xacts={} max_locks_per_xact={} wal_level={} \
                 wal_log_hints={} track_commit_timestamp={}",
                d.i32(0)?,
                d.i32(4)?,
                d.i32(8)?,
                d.i32(12)?,
                d.i32(16)?,
                wal_level_name(d.i32(20)?),
                on_off(d.bool(24)?),
                on_off(d.bool(25)?)
            );
        }
        FPW_CHANGE => out.push_str(true_false(d.bool(0)?)),
        END_OF_RECOVERY => {
            let _ = write!(out, "tli {}; prev tli {}; time ", d.u32(8)?, d.u32(12)?);
            write_timestamptz(out, d.i64(0)?);
            if version >= PgVersion::V17 {
                let _ = write!(out, "; wal_level {}", wal_level_name(d.i32(16)?));
            }
        }
        OVERWRITE_CONTRECORD => {
            out.push_str("lsn ");
            write_lsn(out, d.u64(0)?);
            out.push_str("; time ");
            write_timestamptz(out, d.i64(8)?);
        }
        CHECKPOINT_REDO if version >= PgVersion::V17 => {
            let _ = write!(out, "wal_level {}", wal_level_name(d.i32(0)?));
        }
        // FPI, FPI_FOR_HINT, SWITCH, NOOP and unknown codes print nothing.
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rmgr::common::testing::describe_hex;

    // Main data of real records and what pg_waldump of the same version printed for them.
    const CASES: &[(PgVersion, u8, &str, &str)] = &[
        (
            PgVersion::V15,
            0x00,
            "505e190400000000010000000100000001000000000000002884000000000000324000000300000005000000cc020000010000000100000001000000000000008c53026b00000000d4020000278400000000000000000000",
            "redo 0/4195E50; tli 1; prev tli 1; fpw true; xid 0:33832; oid 16434; multi 3; offset 5; oldest xid 716 in DB 1; oldest multi 1 in DB 1; oldest/newest commit timestamp xid: 724/33831; oldest running xid 0; shutdown",
        ),
        (
            PgVersion::V18,
            0x10,
            "08f56e010000000001000000010000000100000002000000f002000000000000f03100000100000000000000e802000001000000010000000100000000000000a053026b00000000f0020000f0020000f002000000000000",
            "redo 0/16EF508; tli 1; prev tli 1; fpw true; wal_level logical; xid 0:752; oid 12784; multi 1; offset 0; oldest xid 744 in DB 1; oldest multi 1 in DB 1; oldest/newest commit timestamp xid: 752/752; oldest running xid 752; online",
        ),
        (
            PgVersion::V15,
            0x60,
            "4d00000008000000040000000a000000400000000200000001010000",
            "max_connections=77 max_worker_processes=8 max_wal_senders=4 max_prepared_xacts=10 max_locks_per_xact=64 wal_level=logical wal_log_hints=on track_commit_timestamp=on",
        ),
        (
            PgVersion::V15,
            0x70,
            "aaee0204d30303006d7920726573746f726520706f696e74004719eab5550000901ff9eab5550000681a06ebb5550000901706ebb5550000801906ebb5550000d0f2a1defe7f0000",
            "my restore point",
        ),
        (PgVersion::V15, 0x50, "2800000200000000", "0/2000028"),
        (PgVersion::V15, 0x80, "00", "false"),
        (PgVersion::V15, 0x30, "00600000", "24576"),
        (PgVersion::V18, 0xE0, "02000000", "wal_level logical"),
    ];

    #[test]
    fn real_records() {
        for &(version, info, hex, expected) in CASES {
            let got = describe_hex(describe, version, 0, info, None, hex).unwrap();
            assert_eq!(got, expected, "{version:?} info {info:#x}");
        }
    }

    #[test]
    fn identify_by_version() {
        assert_eq!(identify(0xD0, PgVersion::V13), Some("OVERWRITE_CONTRECORD"));
        assert_eq!(identify(0xE0, PgVersion::V16), None);
        assert_eq!(identify(0xE0, PgVersion::V17), Some("CHECKPOINT_REDO"));
        assert_eq!(identify(0xC0, PgVersion::V18), None);
        assert_eq!(identify(0xB2, PgVersion::V15), Some("FPI"));
    }

    #[test]
    fn short_checkpoint_is_an_error() {
        assert!(describe_hex(describe, PgVersion::V15, 0, 0x10, None, "0000").is_err());
    }
}
