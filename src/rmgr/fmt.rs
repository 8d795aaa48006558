//! Formatting helpers shared by the resource-manager descriptions, reproducing the frontend
//! functions pg_waldump links (`timestamptz_to_str` from its compat.c, `relpathperm`).

use std::fmt::Write;
use std::sync::OnceLock;

use crate::wal::lsn::Lsn;
use crate::wal::record::{Fork, RelFileLocator};
use crate::wal::version::PgVersion;

const UNIX_EPOCH_IN_PG_SECONDS: i64 = 946_684_800;

fn local_zone() -> &'static jiff::tz::TimeZone {
    static ZONE: OnceLock<jiff::tz::TimeZone> = OnceLock::new();
    ZONE.get_or_init(|| jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC))
}

/// pg_waldump's `timestamptz_to_str`: local time of the process's `TZ`, microseconds, zone
/// abbreviation. Like the C code it truncates toward zero, so negative times print `.-00001`.
pub fn write_timestamptz(out: &mut String, t: i64) {
    let secs = t / 1_000_000 + UNIX_EPOCH_IN_PG_SECONDS;
    let micros = (t % 1_000_000) as i32;
    match jiff::Timestamp::from_second(secs) {
        Ok(ts) => {
            let zoned = ts.to_zoned(local_zone().clone());
            let _ = write!(
                out,
                "{}.{:06} {}",
                zoned.strftime("%Y-%m-%d %H:%M:%S"),
                micros,
                zoned.strftime("%Z")
            );
        }
        // Out of the range localtime() handles; pg_waldump would print garbage, we print the number.
        Err(_) => {
            let _ = write!(out, "(timestamp {t})");
        }
    }
}

/// `relpathperm()` with a fork: `base/5/16384`, `global/1262`, `pg_tblspc/…/PG_15_…/5/16384_vm`.
pub fn write_relpath(out: &mut String, version: PgVersion, loc: &RelFileLocator, fork: Fork) {
    const GLOBALTABLESPACE_OID: u32 = 1664;
    const DEFAULTTABLESPACE_OID: u32 = 1663;
    let _ = if loc.spc == GLOBALTABLESPACE_OID {
        write!(out, "global/{}", loc.rel)
    } else if loc.spc == DEFAULTTABLESPACE_OID {
        write!(out, "base/{}/{}", loc.db, loc.rel)
    } else {
        write!(
            out,
            "pg_tblspc/{}/PG_{}_{}/{}/{}",
            loc.spc,
            version.major(),
            version.catalog_version(),
            loc.db,
            loc.rel
        )
    };
    if fork != Fork::Main {
        out.push('_');
        out.push_str(fork.name());
    }
}

/// `%X/%X`.
pub fn write_lsn(out: &mut String, lsn: u64) {
    let _ = write!(out, "{}", Lsn(lsn));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relpaths() {
        let mut s = String::new();
        let loc = RelFileLocator {
            spc: 1663,
            db: 5,
            rel: 16384,
        };
        write_relpath(&mut s, PgVersion::V15, &loc, Fork::Vm);
        assert_eq!(s, "base/5/16384_vm");
        s.clear();
        let loc = RelFileLocator {
            spc: 16390,
            db: 5,
            rel: 16391,
        };
        write_relpath(&mut s, PgVersion::V15, &loc, Fork::Main);
        assert_eq!(s, "pg_tblspc/16390/PG_15_202209061/5/16391");
    }
}
