//! Hash (rmid 12): `hash_identify` / `hash_desc` (hashdesc.c) of PostgreSQL 13–18.
//!
//! Only VACUUM_ONE_PAGE changed across versions: the xid label (13 "latest removed xid",
//! 14–15 "latestRemovedXid", 16+ "snapshotConflictHorizon"), `ntuples` shrinking from int to
//! u16 in 16, and 17 printing `isCatalogRel`. SPLIT_PAGE and SPLIT_CLEANUP have no description.

use std::fmt::Write;

use super::{Data, DescError};
use crate::wal::record::Record;
use crate::wal::version::PgVersion;

const INIT_META_PAGE: u8 = 0x00;
const INIT_BITMAP_PAGE: u8 = 0x10;
const INSERT: u8 = 0x20;
const ADD_OVFL_PAGE: u8 = 0x30;
const SPLIT_ALLOCATE_PAGE: u8 = 0x40;
const SPLIT_PAGE: u8 = 0x50;
const SPLIT_COMPLETE: u8 = 0x60;
const MOVE_PAGE_CONTENTS: u8 = 0x70;
const SQUEEZE_PAGE: u8 = 0x80;
const DELETE: u8 = 0x90;
const SPLIT_CLEANUP: u8 = 0xA0;
const UPDATE_META_PAGE: u8 = 0xB0;
const VACUUM_ONE_PAGE: u8 = 0xC0;

const SPLIT_META_UPDATE_MASKS: u8 = 0x01;
const SPLIT_META_UPDATE_SPLITPOINT: u8 = 0x02;

pub fn identify(info: u8, _version: PgVersion) -> Option<&'static str> {
    Some(match info & 0xF0 {
        INIT_META_PAGE => "INIT_META_PAGE",
        INIT_BITMAP_PAGE => "INIT_BITMAP_PAGE",
        INSERT => "INSERT",
        ADD_OVFL_PAGE => "ADD_OVFL_PAGE",
        SPLIT_ALLOCATE_PAGE => "SPLIT_ALLOCATE_PAGE",
        SPLIT_PAGE => "SPLIT_PAGE",
        SPLIT_COMPLETE => "SPLIT_COMPLETE",
        MOVE_PAGE_CONTENTS => "MOVE_PAGE_CONTENTS",
        SQUEEZE_PAGE => "SQUEEZE_PAGE",
        DELETE => "DELETE",
        SPLIT_CLEANUP => "SPLIT_CLEANUP",
        UPDATE_META_PAGE => "UPDATE_META_PAGE",
        VACUUM_ONE_PAGE => "VACUUM_ONE_PAGE",
        _ => return None,
    })
}

fn tf(b: bool) -> char {
    if b {
        'T'
    } else {
        'F'
    }
}

pub fn describe(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    let d = Data::new(rec.main_data, "main data");
    match rec.info() & 0xF0 {
        INIT_META_PAGE => {
            out.push_str("num_tuples ");
            write_c_g(out, f64::from_bits(d.u64(0)?));
            let _ = write!(out, ", fillfactor {}", d.u16(12)?);
        }
        INIT_BITMAP_PAGE => {
            let _ = write!(out, "bmsize {}", d.u16(0)?);
        }
        INSERT => {
            let _ = write!(out, "off {}", d.u16(0)?);
        }
        ADD_OVFL_PAGE => {
            let _ = write!(out, "bmsize {}, bmpage_found {}", d.u16(0)?, tf(d.bool(2)?));
        }
        SPLIT_ALLOCATE_PAGE => {
            let (bucket, flags) = (d.u32(0)?, d.u8(8)?);
            let _ = write!(
                out,
                "new_bucket {bucket}, meta_page_masks_updated {}, issplitpoint_changed {}",
                tf(flags & SPLIT_META_UPDATE_MASKS != 0),
                tf(flags & SPLIT_META_UPDATE_SPLITPOINT != 0)
            );
        }
        SPLIT_COMPLETE => {
            let _ = write!(
                out,
                "old_bucket_flag {}, new_bucket_flag {}",
                d.u16(0)?,
                d.u16(2)?
            );
        }
        MOVE_PAGE_CONTENTS => {
            let _ = write!(out, "ntups {}, is_primary {}", d.u16(0)?, tf(d.bool(2)?));
        }
        SQUEEZE_PAGE => {
            let _ = write!(
                out,
                "prevblkno {}, nextblkno {}, ntups {}, is_primary {}",
                d.u32(0)?,
                d.u32(4)?,
                d.u16(8)?,
                tf(d.bool(10)?)
            );
        }
        DELETE => {
            let _ = write!(
                out,
                "clear_dead_marking {}, is_primary {}",
                tf(d.bool(0)?),
                tf(d.bool(1)?)
            );
        }
        UPDATE_META_PAGE => {
            out.push_str("ntuples ");
            write_c_g(out, f64::from_bits(d.u64(0)?));
        }
        VACUUM_ONE_PAGE => match rec.version {
            PgVersion::V13 => {
                let _ = write!(
                    out,
                    "ntuples {}, latest removed xid {}",
                    d.i32(4)?,
                    d.u32(0)?
                );
            }
            PgVersion::V14 | PgVersion::V15 => {
                let _ = write!(out, "ntuples {}, latestRemovedXid {}", d.i32(4)?, d.u32(0)?);
            }
            v => {
                let _ = write!(
                    out,
                    "ntuples {}, snapshotConflictHorizon {}",
                    d.u16(4)?,
                    d.u32(0)?
                );
                if v >= PgVersion::V17 {
                    let _ = write!(out, ", isCatalogRel {}", tf(d.bool(6)?));
                }
            }
        },
        _ => {}
    }
    Ok(())
}

/// C's `%g` (precision 6) as PostgreSQL's snprintf prints it: shortest of `%e`/`%f` with
/// trailing zeros removed; non-finite values spelled `NaN` / `Infinity` / `-Infinity`.
fn write_c_g(out: &mut String, x: f64) {
    const P: i32 = 6;
    if x.is_nan() {
        out.push_str("NaN");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x < 0.0 { "-Infinity" } else { "Infinity" });
        return;
    }
    if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    // The exponent %e would print after rounding to P significant digits decides the style.
    let e_form = format!("{:.*e}", (P - 1) as usize, x);
    let (mantissa, exp) = e_form.split_once('e').unwrap_or((&e_form, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..P).contains(&exp) {
        let f = format!("{:.*}", (P - 1 - exp) as usize, x);
        out.push_str(strip_zeros(&f));
    } else {
        out.push_str(strip_zeros(mantissa));
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exp.abs());
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(x: f64) -> String {
        let mut s = String::new();
        write_c_g(&mut s, x);
        s
    }

    #[test]
    fn c_g_format() {
        // Expected values are what glibc's printf("%g") prints.
        assert_eq!(g(0.0), "0");
        assert_eq!(g(1.0), "1");
        assert_eq!(g(1000.0), "1000");
        assert_eq!(g(123456.0), "123456");
        assert_eq!(g(1234567.0), "1.23457e+06");
        assert_eq!(g(0.0001), "0.0001");
        assert_eq!(g(0.00001), "1e-05");
        assert_eq!(g(-2.5), "-2.5");
        assert_eq!(g(999999.5), "1e+06");
        assert_eq!(g(f64::NAN), "NaN");
    }

    #[test]
    fn identify_all() {
        assert_eq!(identify(0xC0, PgVersion::V16), Some("VACUUM_ONE_PAGE"));
        assert_eq!(identify(0xD0, PgVersion::V16), None);
    }
}
