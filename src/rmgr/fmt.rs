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

/// The local date, time and zone abbreviation of one second, as last formatted.
struct LocalSecond {
    secs: i64,
    date_time: String,
    zone: String,
}

thread_local! {
    // Commit records come many to a second; formatting a local time is the expensive part.
    static LAST_SECOND: std::cell::RefCell<Option<LocalSecond>> = const { std::cell::RefCell::new(None) };
}

/// pg_waldump's `timestamptz_to_str`: local time of the process's `TZ`, microseconds, zone
/// abbreviation. Like the C code it truncates toward zero, so negative times print `.-00001`.
pub fn write_timestamptz(out: &mut String, t: i64) {
    let secs = t / 1_000_000 + UNIX_EPOCH_IN_PG_SECONDS;
    let micros = (t % 1_000_000) as i32;
    LAST_SECOND.with_borrow_mut(|last| {
        if last.as_ref().is_none_or(|l| l.secs != secs) {
            let Ok(ts) = jiff::Timestamp::from_second(secs) else {
                // Out of the range localtime() handles; pg_waldump would print garbage.
                let _ = write!(out, "(timestamp {t})");
                return;
            };
            let zoned = ts.to_zoned(local_zone().clone());
            *last = Some(LocalSecond {
                secs,
                date_time: zoned.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                zone: zoned.strftime("%Z").to_string(),
            });
        }
        let l = last.as_ref().expect("filled above");
        out.push_str(&l.date_time);
        let _ = write!(out, ".{micros:06} ");
        out.push_str(&l.zone);
    });
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

/// Appends `v` in decimal, right-aligned in `width` columns (`%*u`). The record line is
/// printed hundreds of thousands of times a second, where `core::fmt` padding dominates.
pub fn push_dec(out: &mut String, v: u64, width: usize) {
    let mut buf = [b' '; 24];
    let mut i = buf.len();
    let mut n = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let start = i.min(buf.len().saturating_sub(width));
    push_ascii(out, &buf[start..]);
    for _ in (buf.len() - start)..width {
        out.push(' ');
    }
}

/// Appends `v` in upper-case hexadecimal, zero-padded to `width` digits (`%0*X`).
pub fn push_hex(out: &mut String, v: u32, width: usize) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut buf = [b'0'; 8];
    let mut i = buf.len();
    let mut n = v;
    loop {
        i -= 1;
        buf[i] = HEX[(n & 0xF) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    let start = i.min(buf.len().saturating_sub(width));
    push_ascii(out, &buf[start..]);
}

/// Byte by byte: for the few characters of a number this beats a `memcpy` call.
fn push_ascii(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len());
    for &b in bytes {
        out.push(char::from(b));
    }
}

/// `%X/%08X`.
pub fn push_lsn_padded(out: &mut String, lsn: Lsn) {
    push_hex(out, lsn.hi(), 0);
    out.push('/');
    push_hex(out, lsn.lo(), 8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formatting_matches_printf() {
        let mut s = String::new();
        push_dec(&mut s, 42, 6);
        push_dec(&mut s, 1234567, 3);
        push_dec(&mut s, 0, 0);
        assert_eq!(s, "    4212345670");
        s.clear();
        push_lsn_padded(&mut s, Lsn(0x1_0000_00AB));
        push_hex(&mut s, 0, 0);
        assert_eq!(s, "1/000000AB0");
        assert_eq!(format!("{:X}/{:08X}", 1, 0xAB), "1/000000AB");
    }

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
