//! Description pieces shared by several resource managers.

use std::fmt::Write;

use super::{Data, DescError};
use crate::wal::version::PgVersion;

/// `sizeof(SharedInvalidationMessage)`, the same in every supported version.
pub const SHARED_INVALIDATION_MESSAGE_SIZE: usize = 16;

/// `standby_desc_invalidations` as PostgreSQL 18 prints it: used by Heap INPLACE records,
/// which carry invalidations only from 18 on. Transaction and Standby records go through
/// [`write_invalidations_for`] with their WAL's version.
/// `msgs` holds `nmsgs` 16-byte `SharedInvalidationMessage`s.
pub fn write_invalidations(
    out: &mut String,
    nmsgs: i32,
    msgs: Data<'_>,
    db_id: u32,
    ts_id: u32,
    relcache_init_file_inval: bool,
) -> Result<(), DescError> {
    write_invalidations_for(
        out,
        PgVersion::V18,
        nmsgs,
        msgs,
        db_id,
        ts_id,
        relcache_init_file_inval,
    )
}

/// `standby_desc_invalidations` of `version`: message id −6 (relsync) is known only from 18 on;
/// older versions print it as unrecognized.
pub fn write_invalidations_for(
    out: &mut String,
    version: PgVersion,
    nmsgs: i32,
    msgs: Data<'_>,
    db_id: u32,
    ts_id: u32,
    relcache_init_file_inval: bool,
) -> Result<(), DescError> {
    if nmsgs <= 0 {
        return Ok(());
    }
    if relcache_init_file_inval {
        let _ = write!(out, "; relcache init file inval dbid {db_id} tsid {ts_id}");
    }
    out.push_str("; inval msgs:");
    for i in 0..nmsgs as usize {
        let base = i * SHARED_INVALIDATION_MESSAGE_SIZE;
        let id = msgs.i8(base)?;
        let _ = match id {
            0.. => write!(out, " catcache {id}"),
            -1 => write!(out, " catalog {}", msgs.u32(base + 8)?),
            -2 => write!(out, " relcache {}", msgs.u32(base + 8)?),
            -3 => write!(out, " smgr"),
            -4 => write!(out, " relmap db {}", msgs.u32(base + 4)?),
            -5 => write!(out, " snapshot {}", msgs.u32(base + 8)?),
            -6 if version >= PgVersion::V18 => write!(out, " relsync {}", msgs.u32(base + 8)?),
            _ => write!(out, " unrecognized id {id}"),
        };
    }
    Ok(())
}

/// `get_wal_level_string`: the `wal_level` GUC name of a stored level.
pub fn wal_level_name(level: i32) -> &'static str {
    match level {
        0 => "minimal",
        1 => "replica",
        2 => "logical",
        _ => "?",
    }
}

/// A NUL-terminated string as pg_waldump's `%s` prints it. Bytes that are not UTF-8 are
/// replaced, since descriptions are Rust strings.
pub fn push_cstr(out: &mut String, bytes: &[u8]) {
    out.push_str(&String::from_utf8_lossy(bytes));
}

/// `T` or `F`, as the desc functions print booleans such as `isCatalogRel`.
pub fn tf(b: bool) -> char {
    if b {
        'T'
    } else {
        'F'
    }
}

/// Builds real records from their main data for the description tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::rmgr::DescError;
    use crate::wal::lsn::Lsn;
    use crate::wal::record::{decode_record, Record, RECORD_HEADER_SIZE};
    use crate::wal::version::PgVersion;

    pub fn unhex(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Runs `describe` over a record with the given header fields, origin and main data
    /// (hex), as taken from a real WAL record.
    pub fn describe_hex(
        describe: fn(&Record<'_>, &mut String) -> Result<(), DescError>,
        version: PgVersion,
        rmid: u8,
        info: u8,
        origin: Option<u16>,
        hex: &str,
    ) -> Result<String, DescError> {
        let main = unhex(hex);
        let mut body = Vec::new();
        if let Some(o) = origin {
            body.push(253);
            body.extend_from_slice(&o.to_le_bytes());
        }
        if main.len() < 256 {
            body.extend_from_slice(&[255, main.len() as u8]);
        } else {
            body.push(254);
            body.extend_from_slice(&(main.len() as u32).to_le_bytes());
        }
        body.extend_from_slice(&main);
        let mut rec = vec![0u8; RECORD_HEADER_SIZE];
        rec[0..4].copy_from_slice(&((RECORD_HEADER_SIZE + body.len()) as u32).to_le_bytes());
        rec[16] = info;
        rec[17] = rmid;
        rec.extend_from_slice(&body);
        let record = decode_record(Lsn(0x0100_0000), version, &rec).expect("test record decodes");
        let mut out = String::new();
        describe(&record, &mut out)?;
        Ok(out)
    }

    /// Decodes whole records (hex, as they stand in the WAL) and compares their description
    /// with what pg_waldump printed for them; then cuts the main data and each block's data
    /// at every length, which must give an error or some text, never a panic (pg_waldump
    /// would read past the record there).
    pub fn check_real_records<'a>(
        records: impl IntoIterator<Item = (PgVersion, &'a str, &'a str)>,
    ) {
        for (version, hex, want) in records {
            let bytes = unhex(hex);
            let rec = decode_record(Lsn(0x0100_0000), version, &bytes).expect("record decodes");
            let mut got = String::new();
            crate::rmgr::write_description(&rec, &mut got).unwrap();
            assert_eq!(got, want, "{version:?}");
            for n in 0..rec.main_data.len() {
                let mut cut = rec.clone();
                cut.main_data = &rec.main_data[..n];
                let _ = crate::rmgr::write_description(&cut, &mut String::new());
            }
            for (i, b) in rec.blocks.iter().enumerate() {
                for n in 0..b.data.len() {
                    let mut cut = rec.clone();
                    cut.blocks[i].data = &b.data[..n];
                    let _ = crate::rmgr::write_description(&cut, &mut String::new());
                }
            }
        }
    }

    /// Rewrites pg_waldump output captured with `TZ=UTC` to the time zone this test process
    /// prints in: each listed timestamp's UTC form is replaced by our own rendering.
    pub fn localize(expected_utc: &str, times: &[i64]) -> String {
        let mut s = expected_utc.to_string();
        for &t in times {
            let unix_micros = t + 946_684_800_000_000;
            let utc = jiff::Timestamp::from_microsecond(unix_micros)
                .unwrap()
                .strftime("%Y-%m-%d %H:%M:%S.%6f UTC")
                .to_string();
            let mut local = String::new();
            crate::rmgr::fmt::write_timestamptz(&mut local, t);
            assert!(s.contains(&utc), "{utc} not in {s}");
            s = s.replace(&utc, &local);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relsync_is_known_from_18() {
        let mut msg = [0u8; 16];
        msg[0] = (-6i8) as u8;
        msg[8..12].copy_from_slice(&16384u32.to_le_bytes());
        let mut s = String::new();
        write_invalidations_for(&mut s, PgVersion::V17, 1, Data::new(&msg, "t"), 0, 0, false)
            .unwrap();
        assert_eq!(s, "; inval msgs: unrecognized id -6");
        s.clear();
        write_invalidations(&mut s, 1, Data::new(&msg, "t"), 0, 0, false).unwrap();
        assert_eq!(s, "; inval msgs: relsync 16384");
    }
}
