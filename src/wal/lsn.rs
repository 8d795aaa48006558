//! WAL positions, timelines and segment file names, printed and parsed exactly as PostgreSQL does.

use std::fmt;
use std::str::FromStr;

/// A position in the WAL stream (`XLogRecPtr`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(pub u64);

/// A timeline identifier (`TimeLineID`).
pub type TimeLineId = u32;

impl Lsn {
    pub const INVALID: Lsn = Lsn(0);

    pub fn hi(self) -> u32 {
        (self.0 >> 32) as u32
    }

    pub fn lo(self) -> u32 {
        self.0 as u32
    }

    /// `%X/%08X`, the form pg_waldump uses in its record lines.
    pub fn padded(self) -> Padded {
        Padded(self)
    }

    pub fn segment_number(self, seg_size: u64) -> u64 {
        self.0 / seg_size
    }

    pub fn segment_offset(self, seg_size: u64) -> u64 {
        self.0 % seg_size
    }

    pub fn page_offset(self, page_size: u64) -> u64 {
        self.0 % page_size
    }
}

/// `%X/%X`, PostgreSQL's text form of an LSN.
impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.hi(), self.lo())
    }
}

pub struct Padded(Lsn);

impl fmt::Display for Padded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:08X}", self.0.hi(), self.0.lo())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid WAL location: \"{0}\"")]
pub struct ParseLsnError(pub String);

impl FromStr for Lsn {
    type Err = ParseLsnError;

    /// Accepts `X/X` with 1–8 hex digits on each side, as `pg_lsn_in` does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseLsnError(s.to_string());
        let (hi, lo) = s.split_once('/').ok_or_else(err)?;
        let half = |h: &str| {
            if h.is_empty() || h.len() > 8 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                None
            } else {
                u32::from_str_radix(h, 16).ok()
            }
        };
        let (hi, lo) = (half(hi).ok_or_else(err)?, half(lo).ok_or_else(err)?);
        Ok(Lsn((u64::from(hi) << 32) | u64::from(lo)))
    }
}

/// Segments per 4 GiB "xlogid", the middle part of a segment file name.
pub fn segments_per_xlogid(seg_size: u64) -> u64 {
    0x1_0000_0000 / seg_size
}

/// The 24-character file name of a WAL segment (`XLogFileName`).
pub fn segment_file_name(tli: TimeLineId, segno: u64, seg_size: u64) -> String {
    let per = segments_per_xlogid(seg_size);
    format!("{:08X}{:08X}{:08X}", tli, segno / per, segno % per)
}

/// Parses a 24-hex-digit segment name into (timeline, log, seg) without a segment size.
pub fn parse_segment_file_name(name: &str) -> Option<(TimeLineId, u32, u32)> {
    let b = name.as_bytes();
    if b.len() != 24 || !b.iter().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let part = |r: std::ops::Range<usize>| u32::from_str_radix(&name[r], 16).ok();
    Some((part(0..8)?, part(8..16)?, part(16..24)?))
}

/// Segment number from the log/seg parts of a file name for a given segment size.
pub fn segno_from_parts(log: u32, seg: u32, seg_size: u64) -> u64 {
    u64::from(log) * segments_per_xlogid(seg_size) + u64::from(seg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_text_round_trip() {
        let lsn: Lsn = "0/15266D0".parse().unwrap();
        assert_eq!(lsn, Lsn(0x15266D0));
        assert_eq!(lsn.to_string(), "0/15266D0");
        assert_eq!(lsn.padded().to_string(), "0/015266D0");
        assert_eq!("1A/0".parse::<Lsn>().unwrap(), Lsn(0x1A_0000_0000));
        assert!("0/".parse::<Lsn>().is_err());
        assert!("123456789/0".parse::<Lsn>().is_err());
        assert!("0x1/2".parse::<Lsn>().is_err());
    }

    #[test]
    fn segment_names() {
        let mib = 1 << 20;
        assert_eq!(
            segment_file_name(1, 0x1234, mib),
            "000000010000000100000234"
        );
        assert_eq!(
            segment_file_name(2, 3, 16 * mib),
            "000000020000000000000003"
        );
        let (tli, log, seg) = parse_segment_file_name("000000010000000100000234").unwrap();
        assert_eq!((tli, log, seg), (1, 1, 0x234));
        assert_eq!(segno_from_parts(log, seg, mib), 0x1234);
        assert!(parse_segment_file_name("00000001000000120000003").is_none());
        assert!(parse_segment_file_name("00000001000000120000003G").is_none());
    }
}
