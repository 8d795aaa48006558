//! `XLogRecord` headers and record bodies: block references, full-page image headers, origin,
//! top-level xid and main data (`DecodeXLogRecord`). Pure functions over an assembled record.

use nom::number::complete::{le_u16, le_u32, le_u64, le_u8};
use nom::IResult;
use smallvec::SmallVec;

use super::crc;
use super::lsn::Lsn;
use super::version::PgVersion;

pub const RECORD_HEADER_SIZE: usize = 24;
pub const XLR_MAX_BLOCK_ID: u8 = 32;
const XLR_BLOCK_ID_DATA_SHORT: u8 = 255;
const XLR_BLOCK_ID_DATA_LONG: u8 = 254;
const XLR_BLOCK_ID_ORIGIN: u8 = 253;
const XLR_BLOCK_ID_TOPLEVEL_XID: u8 = 252;

const BKPBLOCK_FORK_MASK: u8 = 0x0F;
const BKPBLOCK_HAS_IMAGE: u8 = 0x10;
const BKPBLOCK_HAS_DATA: u8 = 0x20;
pub const BKPBLOCK_WILL_INIT: u8 = 0x40;
const BKPBLOCK_SAME_REL: u8 = 0x80;

/// Page size the block images are taken from (`BLCKSZ`).
pub const BLCKSZ: usize = 8192;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub tot_len: u32,
    pub xid: u32,
    pub prev: Lsn,
    pub info: u8,
    pub rmid: u8,
    pub crc: u32,
}

pub fn parse_record_header(input: &[u8]) -> IResult<&[u8], RecordHeader> {
    let (input, tot_len) = le_u32(input)?;
    let (input, xid) = le_u32(input)?;
    let (input, prev) = le_u64(input)?;
    let (input, info) = le_u8(input)?;
    let (input, rmid) = le_u8(input)?;
    let (input, _pad) = le_u16(input)?;
    let (input, crc) = le_u32(input)?;
    Ok((
        input,
        RecordHeader {
            tot_len,
            xid,
            prev: Lsn(prev),
            info,
            rmid,
            crc,
        },
    ))
}

/// CRC-32C over the body, then over the header up to `xl_crc` (`XLogRecordHeaderCRC` order).
pub fn record_crc(record: &[u8]) -> u32 {
    let body = crc::crc32c(&record[RECORD_HEADER_SIZE..]);
    crc::crc32c_append(body, &record[..20])
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelFileLocator {
    pub spc: u32,
    pub db: u32,
    pub rel: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fork {
    Main,
    Fsm,
    Vm,
    Init,
}

impl Fork {
    pub fn from_number(n: u8) -> Option<Fork> {
        match n {
            0 => Some(Fork::Main),
            1 => Some(Fork::Fsm),
            2 => Some(Fork::Vm),
            3 => Some(Fork::Init),
            _ => None,
        }
    }

    pub fn number(self) -> u8 {
        self as u8
    }

    /// The name PostgreSQL uses (`forkNames`).
    pub fn name(self) -> &'static str {
        match self {
            Fork::Main => "main",
            Fork::Fsm => "fsm",
            Fork::Vm => "vm",
            Fork::Init => "init",
        }
    }

    pub fn from_name(name: &str) -> Option<Fork> {
        [Fork::Main, Fork::Fsm, Fork::Vm, Fork::Init]
            .into_iter()
            .find(|f| f.name() == name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Pglz,
    Lz4,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Pglz => "pglz",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockImage<'a> {
    pub hole_offset: u16,
    pub hole_length: u16,
    pub bimg_info: u8,
    pub compression: Compression,
    /// Whether redo restores the page from the image (otherwise it exists only for
    /// `wal_consistency_checking`).
    pub apply: bool,
    /// The stored image bytes (`bimg_len` of them), possibly compressed, without the hole.
    pub bytes: &'a [u8],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRef<'a> {
    pub id: u8,
    pub fork: Fork,
    pub flags: u8,
    pub locator: RelFileLocator,
    pub blkno: u32,
    pub image: Option<BlockImage<'a>>,
    /// Per-block rmgr data (empty unless `BKPBLOCK_HAS_DATA`).
    pub data: &'a [u8],
}

impl BlockRef<'_> {
    pub fn will_init(&self) -> bool {
        self.flags & BKPBLOCK_WILL_INIT != 0
    }

    pub fn has_data(&self) -> bool {
        self.flags & BKPBLOCK_HAS_DATA != 0
    }
}

/// A record decoded into its parts; everything borrows from the assembled record bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub lsn: Lsn,
    /// Where the next record is read from (`EndRecPtr`: aligned, past page headers, and at the
    /// next segment after an XLOG_SWITCH). Set by the reader; `decode_record` alone assumes the
    /// record is contiguous.
    pub end: Lsn,
    pub header: RecordHeader,
    pub version: PgVersion,
    /// Block references in id order; most records have one or two, kept inline.
    pub blocks: SmallVec<[BlockRef<'a>; 2]>,
    pub main_data: &'a [u8],
    pub origin: Option<u16>,
    pub toplevel_xid: Option<u32>,
}

impl<'a> Record<'a> {
    pub fn rmid(&self) -> u8 {
        self.header.rmid
    }

    pub fn info(&self) -> u8 {
        self.header.info
    }

    pub fn xid(&self) -> u32 {
        self.header.xid
    }

    pub fn block(&self, id: u8) -> Option<&BlockRef<'a>> {
        self.blocks.iter().find(|b| b.id == id)
    }

    /// Total length minus the stored image bytes, as pg_waldump's "rec" length.
    pub fn rec_len(&self) -> u32 {
        let images: usize = self
            .blocks
            .iter()
            .filter_map(|b| b.image.map(|i| i.bytes.len()))
            .sum();
        self.header.tot_len - images as u32
    }

    pub fn fpi_len(&self) -> u32 {
        self.header.tot_len - self.rec_len()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("out-of-order block_id {id} at {lsn}")]
    OutOfOrderBlock { id: u8, lsn: Lsn },
    #[error("invalid block_id {id} at {lsn}")]
    InvalidBlockId { id: u8, lsn: Lsn },
    #[error("BKPBLOCK_HAS_DATA set, but no data included at {lsn}")]
    HasDataWithoutData { lsn: Lsn },
    #[error("BKPBLOCK_HAS_DATA not set, but data length is {len} at {lsn}")]
    DataWithoutHasData { len: u16, lsn: Lsn },
    #[error("BKPIMAGE_HAS_HOLE set, but hole offset {offset} length {length} block image length {image_len} at {lsn}")]
    BadHole {
        offset: u16,
        length: u16,
        image_len: u16,
        lsn: Lsn,
    },
    #[error("BKPIMAGE_HAS_HOLE not set, but hole offset {offset} length {length} at {lsn}")]
    HoleWithoutFlag { offset: u16, length: u16, lsn: Lsn },
    #[error("BKPIMAGE_COMPRESSED set, but block image length {image_len} at {lsn}")]
    BadCompressedLength { image_len: u16, lsn: Lsn },
    #[error("neither BKPIMAGE_HAS_HOLE nor BKPIMAGE_COMPRESSED set, but block image length is {image_len} at {lsn}")]
    BadImageLength { image_len: u16, lsn: Lsn },
    #[error("BKPBLOCK_SAME_REL set but no previous rel at {lsn}")]
    SameRelWithoutPrevious { lsn: Lsn },
    #[error("invalid fork number {fork} at {lsn}")]
    InvalidFork { fork: u8, lsn: Lsn },
    #[error("record with invalid length at {lsn}")]
    InvalidLength { lsn: Lsn },
}

/// A little cursor; every read is bounds-checked so corrupt bodies become errors, never panics.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Splits an assembled record (header included, exactly `xl_tot_len` bytes) into its parts.
// Inlined into the reader, the record is built where the reader returns it instead of being
// copied there (a record with its inline block references is some 200 bytes).
#[inline]
pub fn decode_record(
    lsn: Lsn,
    version: PgVersion,
    record: &[u8],
) -> Result<Record<'_>, DecodeError> {
    let invalid_length = DecodeError::InvalidLength { lsn };
    let (_, header) =
        parse_record_header(record).map_err(|_| DecodeError::InvalidLength { lsn })?;
    if record.len() != header.tot_len as usize {
        return Err(invalid_length);
    }
    let image_flags = version.image_flags();
    let mut cur = Cursor {
        bytes: record,
        pos: RECORD_HEADER_SIZE,
    };
    // The block headers come first and their images and data after them all: the blocks are
    // built from the headers, and their byte slices filled in once the headers are read.
    let mut blocks: SmallVec<[BlockRef<'_>; 2]> = SmallVec::new();
    // (image length, data length) of each block.
    let mut lens: SmallVec<[(u16, u16); 2]> = SmallVec::new();
    let mut origin = None;
    let mut toplevel_xid = None;
    let mut main_len = 0usize;
    let mut datatotal = 0usize;
    let mut last_locator: Option<RelFileLocator> = None;
    let mut max_block_id: i32 = -1;

    while record.len() - cur.pos > datatotal {
        let id = cur.u8().ok_or(DecodeError::InvalidLength { lsn })?;
        match id {
            XLR_BLOCK_ID_DATA_SHORT => {
                main_len = usize::from(cur.u8().ok_or(DecodeError::InvalidLength { lsn })?);
                datatotal += main_len;
                break;
            }
            XLR_BLOCK_ID_DATA_LONG => {
                main_len = cur.u32().ok_or(DecodeError::InvalidLength { lsn })? as usize;
                datatotal += main_len;
                break;
            }
            XLR_BLOCK_ID_ORIGIN => {
                origin = Some(cur.u16().ok_or(DecodeError::InvalidLength { lsn })?);
            }
            XLR_BLOCK_ID_TOPLEVEL_XID if version.has_toplevel_xid_block() => {
                toplevel_xid = Some(cur.u32().ok_or(DecodeError::InvalidLength { lsn })?);
            }
            id if id <= XLR_MAX_BLOCK_ID => {
                if i32::from(id) <= max_block_id {
                    return Err(DecodeError::OutOfOrderBlock { id, lsn });
                }
                max_block_id = i32::from(id);
                let short = || DecodeError::InvalidLength { lsn };
                let fork_flags = cur.u8().ok_or_else(short)?;
                let data_len = cur.u16().ok_or_else(short)?;
                let fork_no = fork_flags & BKPBLOCK_FORK_MASK;
                let fork = Fork::from_number(fork_no)
                    .ok_or(DecodeError::InvalidFork { fork: fork_no, lsn })?;
                let has_data = fork_flags & BKPBLOCK_HAS_DATA != 0;
                if has_data && data_len == 0 {
                    return Err(DecodeError::HasDataWithoutData { lsn });
                }
                if !has_data && data_len != 0 {
                    return Err(DecodeError::DataWithoutHasData { len: data_len, lsn });
                }
                datatotal += usize::from(data_len);
                let (image, image_len) = if fork_flags & BKPBLOCK_HAS_IMAGE != 0 {
                    let len = cur.u16().ok_or_else(short)?;
                    let hole_offset = cur.u16().ok_or_else(short)?;
                    let bimg_info = cur.u8().ok_or_else(short)?;
                    let compression = if bimg_info & image_flags.pglz != 0 {
                        Compression::Pglz
                    } else if image_flags.lz4 != 0 && bimg_info & image_flags.lz4 != 0 {
                        Compression::Lz4
                    } else if image_flags.zstd != 0 && bimg_info & image_flags.zstd != 0 {
                        Compression::Zstd
                    } else {
                        Compression::None
                    };
                    let has_hole = bimg_info & image_flags.has_hole != 0;
                    let hole_length = if compression != Compression::None {
                        if has_hole {
                            cur.u16().ok_or_else(short)?
                        } else {
                            0
                        }
                    } else {
                        (BLCKSZ as u16).wrapping_sub(len)
                    };
                    datatotal += usize::from(len);
                    if has_hole
                        && (hole_offset == 0 || hole_length == 0 || usize::from(len) == BLCKSZ)
                    {
                        return Err(DecodeError::BadHole {
                            offset: hole_offset,
                            length: hole_length,
                            image_len: len,
                            lsn,
                        });
                    }
                    if !has_hole && (hole_offset != 0 || hole_length != 0) {
                        return Err(DecodeError::HoleWithoutFlag {
                            offset: hole_offset,
                            length: hole_length,
                            lsn,
                        });
                    }
                    if compression != Compression::None && usize::from(len) == BLCKSZ {
                        return Err(DecodeError::BadCompressedLength {
                            image_len: len,
                            lsn,
                        });
                    }
                    if !has_hole && compression == Compression::None && usize::from(len) != BLCKSZ {
                        return Err(DecodeError::BadImageLength {
                            image_len: len,
                            lsn,
                        });
                    }
                    let image = BlockImage {
                        hole_offset,
                        hole_length,
                        bimg_info,
                        compression,
                        apply: bimg_info & image_flags.apply != 0,
                        bytes: &[],
                    };
                    (Some(image), len)
                } else {
                    (None, 0)
                };
                let locator = if fork_flags & BKPBLOCK_SAME_REL != 0 {
                    last_locator.ok_or(DecodeError::SameRelWithoutPrevious { lsn })?
                } else {
                    let spc = cur.u32().ok_or_else(short)?;
                    let db = cur.u32().ok_or_else(short)?;
                    let rel = cur.u32().ok_or_else(short)?;
                    RelFileLocator { spc, db, rel }
                };
                last_locator = Some(locator);
                let blkno = cur.u32().ok_or_else(short)?;
                blocks.push(BlockRef {
                    id,
                    fork,
                    flags: fork_flags,
                    locator,
                    blkno,
                    image,
                    data: &[],
                });
                lens.push((image_len, data_len));
            }
            id => return Err(DecodeError::InvalidBlockId { id, lsn }),
        }
    }
    if record.len() - cur.pos != datatotal {
        return Err(invalid_length);
    }

    for (block, &(image_len, data_len)) in blocks.iter_mut().zip(&lens) {
        if let Some(image) = &mut block.image {
            image.bytes = cur
                .take(usize::from(image_len))
                .ok_or(DecodeError::InvalidLength { lsn })?;
        }
        block.data = cur
            .take(usize::from(data_len))
            .ok_or(DecodeError::InvalidLength { lsn })?;
    }
    let main_data = cur
        .take(main_len)
        .ok_or(DecodeError::InvalidLength { lsn })?;
    Ok(Record {
        lsn,
        end: Lsn((lsn.0 + u64::from(header.tot_len) + 7) & !7),
        header,
        version,
        blocks,
        main_data,
        origin,
        toplevel_xid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(body: &[u8], rmid: u8, info: u8) -> Vec<u8> {
        let tot = (RECORD_HEADER_SIZE + body.len()) as u32;
        let mut r = Vec::new();
        r.extend_from_slice(&tot.to_le_bytes());
        r.extend_from_slice(&700u32.to_le_bytes());
        r.extend_from_slice(&0x0100_0028u64.to_le_bytes());
        r.push(info);
        r.push(rmid);
        r.extend_from_slice(&[0, 0]);
        r.extend_from_slice(&[0; 4]);
        r.extend_from_slice(body);
        let crc = record_crc(&r);
        r[20..24].copy_from_slice(&crc.to_le_bytes());
        r
    }

    #[test]
    fn decodes_block_with_data_and_main_data() {
        let mut body = vec![0u8, 0x20, 3, 0];
        for v in [1663u32, 5, 16384, 7] {
            body.extend_from_slice(&v.to_le_bytes());
        }
        body.extend_from_slice(&[253, 9, 0]);
        body.extend_from_slice(&[255, 2]);
        body.extend_from_slice(&[1, 2, 3, 0xAA, 0xBB]);
        let r = record(&body, 10, 0);
        let rec = decode_record(Lsn(0x100_0060), PgVersion::V15, &r).unwrap();
        assert_eq!(record_crc(&r), rec.header.crc);
        assert_eq!(rec.blocks.len(), 1);
        let b = rec.blocks[0];
        assert_eq!(
            b.locator,
            RelFileLocator {
                spc: 1663,
                db: 5,
                rel: 16384
            }
        );
        assert_eq!(b.blkno, 7);
        assert_eq!(b.data, &[1, 2, 3]);
        assert_eq!(rec.main_data, &[0xAA, 0xBB]);
        assert_eq!(rec.origin, Some(9));
        assert_eq!(rec.rec_len(), rec.header.tot_len);
    }

    #[test]
    fn rejects_inconsistent_bodies() {
        let lsn = Lsn(0x100_0060);
        // main data longer than the record
        let r = record(&[255, 10, 1, 2], 0, 0);
        assert_eq!(
            decode_record(lsn, PgVersion::V15, &r),
            Err(DecodeError::InvalidLength { lsn })
        );
        // block id 40 is not valid
        let r = record(&[40, 0, 0, 0], 0, 0);
        assert_eq!(
            decode_record(lsn, PgVersion::V15, &r),
            Err(DecodeError::InvalidBlockId { id: 40, lsn })
        );
        // 252 is a block id only from 14 on
        let r = record(&[252, 1, 0, 0, 0], 0, 0);
        assert!(decode_record(lsn, PgVersion::V14, &r).is_ok());
        assert_eq!(
            decode_record(lsn, PgVersion::V13, &r),
            Err(DecodeError::InvalidBlockId { id: 252, lsn })
        );
        // SAME_REL on the first block
        let r = record(&[0, 0x80, 0, 0, 1, 0, 0, 0], 0, 0);
        assert_eq!(
            decode_record(lsn, PgVersion::V15, &r),
            Err(DecodeError::SameRelWithoutPrevious { lsn })
        );
    }
}
