//! WAL page headers (`XLogPageHeaderData`, `XLogLongPageHeaderData`).

use nom::number::complete::{le_u16, le_u32, le_u64};
use nom::IResult;

pub const SHORT_HEADER_SIZE: usize = 24;
pub const LONG_HEADER_SIZE: usize = 40;

pub const XLP_FIRST_IS_CONTRECORD: u16 = 0x0001;
pub const XLP_LONG_HEADER: u16 = 0x0002;
pub const XLP_FIRST_IS_OVERWRITE_CONTRECORD: u16 = 0x0008;
pub const XLP_ALL_FLAGS: u16 = 0x000F;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageHeader {
    pub magic: u16,
    pub info: u16,
    pub tli: u32,
    pub pageaddr: u64,
    pub rem_len: u32,
    /// Present on the first page of a segment.
    pub long: Option<LongHeader>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongHeader {
    pub sysid: u64,
    pub seg_size: u32,
    pub xlog_blcksz: u32,
}

impl PageHeader {
    pub fn size(&self) -> usize {
        if self.info & XLP_LONG_HEADER != 0 {
            LONG_HEADER_SIZE
        } else {
            SHORT_HEADER_SIZE
        }
    }

    pub fn is_contrecord(&self) -> bool {
        self.info & XLP_FIRST_IS_CONTRECORD != 0
    }

    pub fn is_overwrite_contrecord(&self) -> bool {
        self.info & XLP_FIRST_IS_OVERWRITE_CONTRECORD != 0
    }
}

fn long_header(input: &[u8]) -> IResult<&[u8], LongHeader> {
    let (input, sysid) = le_u64(input)?;
    let (input, seg_size) = le_u32(input)?;
    let (input, xlog_blcksz) = le_u32(input)?;
    Ok((
        input,
        LongHeader {
            sysid,
            seg_size,
            xlog_blcksz,
        },
    ))
}

/// Parses a page header; the long part is read when `XLP_LONG_HEADER` is set.
pub fn parse_page_header(input: &[u8]) -> IResult<&[u8], PageHeader> {
    let (rest, magic) = le_u16(input)?;
    let (rest, info) = le_u16(rest)?;
    let (rest, tli) = le_u32(rest)?;
    let (rest, pageaddr) = le_u64(rest)?;
    let (rest, rem_len) = le_u32(rest)?;
    let (rest, _pad) = le_u32(rest)?;
    let (rest, long) = if info & XLP_LONG_HEADER != 0 {
        let (rest, long) = long_header(rest)?;
        (rest, Some(long))
    } else {
        (rest, None)
    };
    Ok((
        rest,
        PageHeader {
            magic,
            info,
            tli,
            pageaddr,
            rem_len,
            long,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_long_header() {
        let mut page = vec![0u8; 40];
        page[0..2].copy_from_slice(&0xD110u16.to_le_bytes());
        page[2..4].copy_from_slice(&(XLP_LONG_HEADER | XLP_FIRST_IS_CONTRECORD).to_le_bytes());
        page[4..8].copy_from_slice(&2u32.to_le_bytes());
        page[8..16].copy_from_slice(&0x0100_0000u64.to_le_bytes());
        page[16..20].copy_from_slice(&77u32.to_le_bytes());
        page[24..32].copy_from_slice(&42u64.to_le_bytes());
        page[32..36].copy_from_slice(&(1u32 << 20).to_le_bytes());
        page[36..40].copy_from_slice(&8192u32.to_le_bytes());
        let (rest, h) = parse_page_header(&page).unwrap();
        assert!(rest.is_empty());
        assert_eq!(h.size(), LONG_HEADER_SIZE);
        assert!(h.is_contrecord());
        assert_eq!(h.rem_len, 77);
        assert_eq!(h.long.unwrap().seg_size, 1 << 20);
        assert!(parse_page_header(&page[..30]).is_err());
    }
}
