//! Sequence (rmid 15): `seq_identify` / `seq_desc` (seqdesc.c), the same text in
//! PostgreSQL 13–18. `xl_seq_rec` starts with the sequence's RelFileNode/RelFileLocator; the
//! sequence tuple that follows is not described.

use std::fmt::Write;

use super::{Data, DescError};
use crate::wal::record::Record;
use crate::wal::version::PgVersion;

const SEQ_LOG: u8 = 0x00;

pub fn identify(info: u8, _version: PgVersion) -> Option<&'static str> {
    match info & 0xF0 {
        SEQ_LOG => Some("LOG"),
        _ => None,
    }
}

pub fn describe(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    if rec.info() & 0xF0 == SEQ_LOG {
        let d = Data::new(rec.main_data, "main data");
        let _ = write!(out, "rel {}/{}/{}", d.u32(0)?, d.u32(4)?, d.u32(8)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_all() {
        assert_eq!(identify(0x00, PgVersion::V16), Some("LOG"));
        assert_eq!(identify(0x10, PgVersion::V16), None);
    }
}
