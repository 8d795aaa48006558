//! Generic (rmid 20): generic WAL records written by extensions such as bloom
//! (`genericdesc.c`, the same in 13–18).

use std::fmt::Write;

use super::{Data, DescError};
use crate::wal::record::Record;
use crate::wal::version::PgVersion;

/// Generic records have no subtypes; every info value is "Generic".
pub fn identify(_info: u8, _version: PgVersion) -> Option<&'static str> {
    Some("Generic")
}

/// Lists the page regions the main data overwrites: repeated `{ u16 offset, u16 length,
/// length bytes }`, separated by `; `.
pub fn describe(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    let d = Data::new(rec.main_data, "main data");
    let end = d.len();
    let mut pos = 0;
    while pos < end {
        let offset = d.u16(pos)?;
        let length = d.u16(pos + 2)?;
        pos += 4 + usize::from(length);
        let _ = write!(out, "offset {offset}, length {length}");
        if pos < end {
            out.push_str("; ");
        }
    }
    Ok(())
}
