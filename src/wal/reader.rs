//! Record assembly across pages and segments (what PostgreSQL's xlogreader does): page-header
//! validation, records split over pages and segments, XLOG_SWITCH, overwritten contrecords,
//! prev-link and CRC checks, finding the first record after an arbitrary LSN, and telling the
//! normal end of WAL apart from damage.

use std::path::PathBuf;

use super::lsn::{segment_file_name, Lsn, TimeLineId};
use super::page::{
    parse_page_header, PageHeader, LONG_HEADER_SIZE, SHORT_HEADER_SIZE, XLP_ALL_FLAGS,
};
use super::record::{decode_record, record_crc, DecodeError, Record, BLCKSZ, RECORD_HEADER_SIZE};
use super::segment::{Segment, SegmentError, SegmentInfo, WalDir};
use super::version::PgVersion;
use crate::rmgr;

const PAGE: u64 = BLCKSZ as u64;
const RM_XLOG_ID: u8 = 0;
const XLOG_SWITCH: u8 = 0x40;

fn maxalign(v: u64) -> u64 {
    (v + 7) & !7
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Segment(#[from] SegmentError),
    #[error("WAL segment \"{name}\" is missing (needed for {lsn}{})", if *.later_exist { ", and later segments exist" } else { "" })]
    MissingSegment {
        name: String,
        lsn: Lsn,
        later_exist: bool,
    },
    #[error("file \"{}\" is truncated: WAL at {lsn} needs bytes up to offset {needed}, but the file has {len}", .path.display())]
    Truncated {
        path: PathBuf,
        lsn: Lsn,
        needed: u64,
        len: u64,
    },
    #[error("invalid page in file \"{}\" at LSN {lsn}, offset {offset}: {reason}", .path.display())]
    InvalidPage {
        path: PathBuf,
        lsn: Lsn,
        offset: u64,
        reason: String,
    },
    #[error("invalid record at {lsn} in file \"{}\", offset {offset}: {reason}", .path.display())]
    InvalidRecord {
        path: PathBuf,
        lsn: Lsn,
        offset: u64,
        reason: String,
    },
    #[error("invalid record in file \"{}\": {source}", .path.display())]
    Decode { path: PathBuf, source: DecodeError },
    #[error("could not find a valid record after {0}")]
    NoRecordAfter(Lsn),
}

/// Why reading stopped without an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndOfWal {
    /// The requested end position was reached.
    EndReached,
    /// The WAL stops here: zeroed space where the next record or page should be.
    Zeroed { lsn: Lsn },
    /// A page from an older position follows the last record: the normal end in `pg_wal`
    /// (recycled segment), but also what a misnamed older file looks like.
    Recycled {
        lsn: Lsn,
        pageaddr: Lsn,
        file: String,
    },
    /// The next segment file does not exist and no later one does.
    NoMoreSegments { lsn: Lsn, name: String },
    /// The last record is incomplete (its continuation was never written or not yet archived).
    IncompleteRecord {
        lsn: Lsn,
        at: Lsn,
        /// What was found where the continuation should be.
        found: Box<EndOfWal>,
    },
}

impl std::fmt::Display for EndOfWal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndOfWal::EndReached => write!(f, "reached the requested end"),
            EndOfWal::Zeroed { lsn } => write!(f, "end of WAL at {lsn}: zeroed space follows"),
            EndOfWal::Recycled {
                lsn,
                pageaddr,
                file,
            } => write!(
                f,
                "end of WAL at {lsn}: file \"{file}\" holds WAL of position {pageaddr} there (recycled segment or misnamed file)"
            ),
            EndOfWal::NoMoreSegments { lsn, name } => {
                write!(f, "end of WAL at {lsn}: no segment \"{name}\" and none after it")
            }
            EndOfWal::IncompleteRecord { lsn, at, found } => write!(
                f,
                "end of WAL at {lsn}: the record there is incomplete, its continuation at {at} is missing ({found})"
            ),
        }
    }
}

/// The bytes of a page whose header `read_page` has validated (so the segment holds it).
/// `seg_mask` is the segment size less one.
fn page_of(segment: &Option<Segment>, seg_mask: u64, page: u64) -> &[u8] {
    let seg = segment.as_ref().expect("page validated before use");
    let offset = (page & seg_mask) as usize;
    &seg.bytes[offset..offset + BLCKSZ]
}

enum PageState {
    Valid(PageHeader),
    End(EndOfWal),
}

enum Location {
    Segment { start: usize, len: usize },
    Buffer,
}

/// A sequential reader over one timeline's segments in a directory.
pub struct Reader {
    dir: WalDir,
    tli: TimeLineId,
    seg_size: u64,
    /// `seg_size - 1`: positions within a segment are masked, not divided, per record.
    seg_mask: u64,
    version: PgVersion,
    sysid: u64,
    /// Stop before any record that does not end at or before this position.
    end: Option<Lsn>,
    segment: Option<Segment>,
    next_rec: u64,
    /// `None` right after `begin_read`: the first record's prev link is only checked to point
    /// backwards, as in PostgreSQL's random access.
    prev_rec: Option<u64>,
    read_rec: u64,
    end_rec: u64,
    latest_page: u64,
    latest_page_tli: u32,
    buf: Vec<u8>,
    end_reason: Option<EndOfWal>,
    /// The last page whose header passed validation; most records share their page with the
    /// previous one.
    valid_page: Option<(u64, PageHeader)>,
}

impl Reader {
    /// Opens a reader on `tli`, taking the segment size, version and system identifier from the
    /// segment that holds `start`.
    pub fn open(dir: WalDir, tli: TimeLineId, start: Lsn) -> Result<Reader, ReadError> {
        let Some((seg_size, info)) = dir.detect_segment_size(tli, start.0)? else {
            // Name the segment for the default size, the most useful guess for a message.
            let name = segment_file_name(tli, start.0 / (16 << 20), 16 << 20);
            return Err(ReadError::MissingSegment {
                name,
                lsn: start,
                later_exist: false,
            });
        };
        Ok(Reader::with_info(dir, tli, info, seg_size))
    }

    pub fn with_info(dir: WalDir, tli: TimeLineId, info: SegmentInfo, seg_size: u64) -> Reader {
        assert!(
            seg_size.is_power_of_two(),
            "WAL segment sizes are powers of two, as detection finds them"
        );
        Reader {
            dir,
            tli,
            seg_size,
            seg_mask: seg_size - 1,
            version: info.version,
            sysid: info.sysid,
            end: None,
            segment: None,
            next_rec: 0,
            prev_rec: None,
            read_rec: 0,
            end_rec: 0,
            latest_page: 0,
            latest_page_tli: 0,
            buf: Vec::new(),
            end_reason: None,
            valid_page: None,
        }
    }

    pub fn version(&self) -> PgVersion {
        self.version
    }

    pub fn seg_size(&self) -> u64 {
        self.seg_size
    }

    pub fn timeline(&self) -> TimeLineId {
        self.tli
    }

    pub fn system_identifier(&self) -> u64 {
        self.sysid
    }

    pub fn set_end(&mut self, end: Option<Lsn>) {
        self.end = end;
    }

    /// Start of the last record returned (`ReadRecPtr`).
    pub fn read_rec_ptr(&self) -> Lsn {
        Lsn(self.read_rec)
    }

    /// End of the last record returned, aligned (`EndRecPtr`).
    pub fn end_rec_ptr(&self) -> Lsn {
        Lsn(self.end_rec)
    }

    /// Why the last `next_record` returned `None`.
    pub fn end_reason(&self) -> Option<&EndOfWal> {
        self.end_reason.as_ref()
    }

    /// Positions the reader at a known record start (`XLogBeginRead`).
    pub fn begin_read(&mut self, lsn: Lsn) {
        self.next_rec = lsn.0;
        self.prev_rec = None;
        self.end_reason = None;
    }

    /// Continues sequential reading at `next`, a record start whose predecessor is `prev`
    /// (as if those records had just been read by this reader).
    pub fn continue_at(&mut self, next: Lsn, prev: Lsn) {
        self.next_rec = next.0;
        self.prev_rec = Some(prev.0);
        self.end_reason = None;
    }

    /// Forgets the mapped segment so that a retry sees what was written since (`--follow`).
    pub fn refresh(&mut self) {
        self.segment = None;
        self.valid_page = None;
        self.end_reason = None;
    }

    /// Finds the first record starting at or after `lsn` (`XLogFindNextRecord`) and positions
    /// the reader there.
    pub fn find_first_record(&mut self, lsn: Lsn) -> Result<Lsn, ReadError> {
        let mut ptr = lsn.0;
        loop {
            let page = ptr - ptr % PAGE;
            let header = match self.read_page(page, ptr)? {
                PageState::Valid(h) => h,
                PageState::End(_) => return Err(ReadError::NoRecordAfter(lsn)),
            };
            let hdr = header.size() as u64;
            if header.is_contrecord() {
                if maxalign(u64::from(header.rem_len)) >= PAGE - hdr {
                    ptr = page
                        .checked_add(PAGE)
                        .ok_or(ReadError::NoRecordAfter(lsn))?;
                    continue;
                }
                ptr = page + hdr + maxalign(u64::from(header.rem_len));
            } else {
                ptr = page + hdr;
            }
            break;
        }
        self.begin_read(Lsn(ptr));
        loop {
            let found = match self.next_record() {
                Ok(Some(rec)) => rec.lsn,
                Ok(None) => return Err(ReadError::NoRecordAfter(lsn)),
                Err(e) => return Err(e),
            };
            if found >= lsn {
                self.begin_read(found);
                return Ok(found);
            }
        }
    }

    fn file_for(&self, lsn: u64) -> PathBuf {
        match &self.segment {
            Some(s) if s.segno == lsn / self.seg_size => s.path.clone(),
            _ => self.dir.dir.join(segment_file_name(
                self.tli,
                lsn / self.seg_size,
                self.seg_size,
            )),
        }
    }

    /// Makes the segment holding `lsn` current. Returns `false` if it does not exist.
    fn load_segment(&mut self, lsn: u64) -> Result<bool, ReadError> {
        let segno = lsn >> self.seg_size.trailing_zeros();
        if self.segment.as_ref().is_some_and(|s| s.segno == segno) {
            return Ok(true);
        }
        self.segment = None;
        self.valid_page = None;
        match self.dir.open(self.tli, segno, self.seg_size)? {
            Some(seg) => {
                self.segment = Some(seg);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn missing_segment(&self, lsn: u64) -> ReadError {
        let segno = lsn / self.seg_size;
        ReadError::MissingSegment {
            name: segment_file_name(self.tli, segno, self.seg_size),
            lsn: Lsn(lsn),
            later_exist: self.dir.has_segment_after(self.tli, segno, self.seg_size),
        }
    }

    /// Reads and validates the header of the page starting at `page` (`for_lsn` is the position
    /// wanted, for messages). Zeroed and recycled pages come back as `PageState::End`.
    fn read_page(&mut self, page: u64, for_lsn: u64) -> Result<PageState, ReadError> {
        if let Some((valid, header)) = self.valid_page {
            if valid == page {
                return Ok(PageState::Valid(header));
            }
        }
        let state = self.validate_page(page, for_lsn)?;
        if let PageState::Valid(header) = &state {
            self.valid_page = Some((page, *header));
        }
        Ok(state)
    }

    fn validate_page(&mut self, page: u64, for_lsn: u64) -> Result<PageState, ReadError> {
        if !self.load_segment(page)? {
            let err = self.missing_segment(page);
            if let ReadError::MissingSegment {
                later_exist: false,
                name,
                ..
            } = &err
            {
                // Without a requested end, a segment that is not there yet is where the
                // available WAL ends; with one, it is a gap in the range asked for.
                if self.end.is_none() {
                    return Ok(PageState::End(EndOfWal::NoMoreSegments {
                        lsn: Lsn(for_lsn),
                        name: name.clone(),
                    }));
                }
            }
            return Err(err);
        }
        let seg = self.segment.as_ref().expect("segment loaded above");
        let offset = page & self.seg_mask;
        let bytes: &[u8] = &seg.bytes;
        let Some(raw) = bytes.get(offset as usize..(offset + PAGE) as usize) else {
            return Err(ReadError::Truncated {
                path: seg.path.clone(),
                lsn: Lsn(for_lsn),
                needed: offset + PAGE,
                len: bytes.len() as u64,
            });
        };
        let invalid = |reason: String| ReadError::InvalidPage {
            path: seg.path.clone(),
            lsn: Lsn(page),
            offset,
            reason,
        };
        if raw[..SHORT_HEADER_SIZE].iter().all(|&b| b == 0) {
            return Ok(PageState::End(EndOfWal::Zeroed { lsn: Lsn(for_lsn) }));
        }
        let (_, header) = parse_page_header(raw).map_err(|_| invalid("short page".into()))?;
        if header.magic != self.version.page_magic() {
            return Err(invalid(match PgVersion::from_page_magic(header.magic) {
                Some(v) => format!(
                    "page magic 0x{:04X} is from PostgreSQL {v}, the WAL so far is from PostgreSQL {}",
                    header.magic, self.version
                ),
                None => format!(
                    "invalid magic number {:04X} (expected {:04X} for PostgreSQL {})",
                    header.magic,
                    self.version.page_magic(),
                    self.version
                ),
            }));
        }
        if header.info & !XLP_ALL_FLAGS != 0 {
            return Err(invalid(format!("invalid info bits {:04X}", header.info)));
        }
        if offset == 0 {
            let Some(long) = header.long else {
                return Err(invalid(format!(
                    "invalid info bits {:04X}: first page of a segment without a long header",
                    header.info
                )));
            };
            if long.sysid != self.sysid {
                return Err(invalid(format!(
                    "WAL file is from different database system: WAL file database system identifier is {}, expected {}",
                    long.sysid, self.sysid
                )));
            }
            if u64::from(long.seg_size) != self.seg_size {
                return Err(invalid(format!(
                    "WAL segment size in page header is {}, expected {}",
                    long.seg_size, self.seg_size
                )));
            }
            if long.xlog_blcksz as usize != BLCKSZ {
                return Err(invalid(format!(
                    "XLOG_BLCKSZ in page header is {}, expected {BLCKSZ}",
                    long.xlog_blcksz
                )));
            }
        } else if header.long.is_some() {
            return Err(invalid(format!(
                "invalid info bits {:04X}: long header in the middle of a segment",
                header.info
            )));
        }
        if header.pageaddr != page {
            let older_and_aligned =
                header.pageaddr < page && header.pageaddr % self.seg_size == offset;
            if older_and_aligned {
                return Ok(PageState::End(EndOfWal::Recycled {
                    lsn: Lsn(for_lsn),
                    pageaddr: Lsn(header.pageaddr),
                    file: seg.file_name(),
                }));
            }
            return Err(invalid(format!(
                "unexpected pageaddr {} (expected {})",
                Lsn(header.pageaddr),
                Lsn(page)
            )));
        }
        if header.tli > seg.tli {
            return Err(invalid(format!(
                "page belongs to timeline {} but the file is named for timeline {}",
                header.tli, seg.tli
            )));
        }
        if page > self.latest_page {
            if header.tli < self.latest_page_tli {
                return Err(invalid(format!(
                    "out-of-sequence timeline ID {} (after {})",
                    header.tli, self.latest_page_tli
                )));
            }
            self.latest_page = page;
            self.latest_page_tli = header.tli;
        }
        Ok(PageState::Valid(header))
    }

    fn page_bytes(&self, page: u64) -> &[u8] {
        page_of(&self.segment, self.seg_mask, page)
    }

    fn invalid_record(&self, lsn: u64, reason: String) -> ReadError {
        ReadError::InvalidRecord {
            path: self.file_for(lsn),
            lsn: Lsn(lsn),
            offset: lsn % self.seg_size,
            reason,
        }
    }

    /// `ValidXLogRecordHeader`.
    fn check_header(&self, lsn: u64, header: &[u8]) -> Result<(), ReadError> {
        let (_, h) = super::record::parse_record_header(header)
            .map_err(|_| self.invalid_record(lsn, "short record header".into()))?;
        if (h.tot_len as usize) < RECORD_HEADER_SIZE {
            return Err(self.invalid_record(
                lsn,
                format!(
                    "invalid record length: wanted {RECORD_HEADER_SIZE}, got {}",
                    h.tot_len
                ),
            ));
        }
        if !rmgr::rmid_is_valid(h.rmid, self.version) {
            return Err(self.invalid_record(lsn, format!("invalid resource manager ID {}", h.rmid)));
        }
        let prev_ok = match self.prev_rec {
            Some(prev) => h.prev.0 == prev,
            None => h.prev.0 < lsn,
        };
        if !prev_ok {
            return Err(self.invalid_record(
                lsn,
                format!(
                    "record with incorrect prev-link {}{}",
                    h.prev,
                    self.prev_rec
                        .map(|p| format!(" (expected {})", Lsn(p)))
                        .unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }

    /// Stream position just past a record of `tot_len` bytes starting at `lsn`.
    fn record_end(&self, lsn: u64, tot_len: u64) -> u64 {
        let page_end = lsn - lsn % PAGE + PAGE;
        if lsn + tot_len <= page_end {
            return lsn + tot_len;
        }
        let mut remaining = tot_len - (page_end - lsn);
        let mut page = page_end;
        loop {
            let hdr = if page & self.seg_mask == 0 {
                LONG_HEADER_SIZE
            } else {
                SHORT_HEADER_SIZE
            } as u64;
            let room = PAGE - hdr;
            if remaining <= room {
                return page + hdr + remaining;
            }
            remaining -= room;
            page += PAGE;
        }
    }

    /// Reads the next record (`XLogReadRecord`). `Ok(None)` is a normal end; see `end_reason`.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        'restart: loop {
            let mut lsn = self.next_rec;
            // A record starting at or past the requested end cannot end before it: stop
            // without reading there (after a segment switch ending the range, the next
            // segment need not exist).
            if self.end.is_some_and(|end| lsn >= end.0) {
                return Ok(self.stop(EndOfWal::EndReached));
            }
            let page = lsn - lsn % PAGE;
            let header = match self.read_page(page, lsn)? {
                PageState::Valid(h) => h,
                PageState::End(end) => return Ok(self.stop(end)),
            };
            let hdr = header.size() as u64;
            if lsn.is_multiple_of(PAGE) {
                lsn += hdr;
            } else if lsn % PAGE < hdr {
                return Err(
                    self.invalid_record(lsn, format!("invalid record offset at {}", Lsn(lsn)))
                );
            }
            if header.is_contrecord() && lsn % PAGE == hdr {
                return Err(
                    self.invalid_record(lsn, format!("contrecord is requested by {}", Lsn(lsn)))
                );
            }
            if !lsn.is_multiple_of(8) {
                return Err(self.invalid_record(
                    lsn,
                    format!("invalid record offset at {}: not MAXALIGNed", Lsn(lsn)),
                ));
            }
            let in_page = (lsn % PAGE) as usize;
            let tot_len = {
                let p = self.page_bytes(page);
                u32::from_le_bytes(p[in_page..in_page + 4].try_into().expect("4 bytes"))
            };
            if tot_len == 0 {
                return Ok(self.stop(EndOfWal::Zeroed { lsn: Lsn(lsn) }));
            }
            let header_on_page = in_page + RECORD_HEADER_SIZE <= BLCKSZ;
            if header_on_page {
                let p = self.page_bytes(page);
                let head: [u8; RECORD_HEADER_SIZE] = p[in_page..in_page + RECORD_HEADER_SIZE]
                    .try_into()
                    .expect("24 bytes");
                self.check_header(lsn, &head)?;
            } else if (tot_len as usize) < RECORD_HEADER_SIZE {
                return Err(self.invalid_record(
                    lsn,
                    format!("invalid record length: wanted {RECORD_HEADER_SIZE}, got {tot_len}"),
                ));
            }
            // Page headers add under 1% and a switch at most a segment: with this much room
            // no position computed for this record can overflow.
            let room = 2 * u64::from(tot_len) + 2 * PAGE + self.seg_size;
            if lsn.checked_add(room).is_none() {
                return Err(self.invalid_record(
                    lsn,
                    format!("record length {tot_len} runs past the end of the WAL address space"),
                ));
            }
            let rec_end = self.record_end(lsn, u64::from(tot_len));
            if self.end.is_some_and(|end| rec_end > end.0) {
                return Ok(self.stop(EndOfWal::EndReached));
            }

            let location;
            let end_rec;
            if in_page + tot_len as usize <= BLCKSZ {
                let seg_offset = (lsn & self.seg_mask) as usize;
                location = Location::Segment {
                    start: seg_offset,
                    len: tot_len as usize,
                };
                end_rec = lsn + maxalign(u64::from(tot_len));
            } else {
                self.buf.clear();
                self.buf
                    .extend_from_slice(&page_of(&self.segment, self.seg_mask, page)[in_page..]);
                let mut cont_page = page;
                let mut header_checked = header_on_page;
                loop {
                    cont_page += PAGE;
                    let cont = match self.read_page(cont_page, cont_page)? {
                        PageState::Valid(h) => h,
                        PageState::End(EndOfWal::EndReached) => {
                            return Ok(self.stop(EndOfWal::EndReached))
                        }
                        PageState::End(found) => {
                            return Ok(self.stop(EndOfWal::IncompleteRecord {
                                lsn: Lsn(lsn),
                                at: Lsn(cont_page),
                                found: Box::new(found),
                            }))
                        }
                    };
                    if cont.is_overwrite_contrecord() {
                        // The rest of this record was lost and overwritten; the WAL goes on
                        // with the record at the start of this page.
                        self.next_rec = cont_page;
                        continue 'restart;
                    }
                    let got = self.buf.len() as u64;
                    if !cont.is_contrecord() {
                        return Err(self.invalid_record(
                            lsn,
                            format!("there is no contrecord flag at {}", Lsn(cont_page)),
                        ));
                    }
                    if cont.rem_len == 0 || u64::from(tot_len) != got + u64::from(cont.rem_len) {
                        return Err(self.invalid_record(
                            lsn,
                            format!(
                                "invalid contrecord length {} (expected {}) at {}",
                                cont.rem_len,
                                u64::from(tot_len) - got,
                                Lsn(cont_page)
                            ),
                        ));
                    }
                    let chdr = cont.size();
                    let take = (cont.rem_len as usize).min(BLCKSZ - chdr);
                    let bytes =
                        &page_of(&self.segment, self.seg_mask, cont_page)[chdr..chdr + take];
                    self.buf.extend_from_slice(bytes);
                    if !header_checked && self.buf.len() >= RECORD_HEADER_SIZE {
                        let head: [u8; RECORD_HEADER_SIZE] =
                            self.buf[..RECORD_HEADER_SIZE].try_into().expect("24 bytes");
                        self.check_header(lsn, &head)?;
                        header_checked = true;
                    }
                    if self.buf.len() == tot_len as usize {
                        end_rec = cont_page + chdr as u64 + maxalign(u64::from(cont.rem_len));
                        break;
                    }
                }
                location = Location::Buffer;
            }

            let bytes: &[u8] = match location {
                Location::Segment { start, len } => {
                    &self.segment.as_ref().expect("segment loaded").bytes[start..start + len]
                }
                Location::Buffer => &self.buf,
            };
            let stored_crc = u32::from_le_bytes(bytes[20..24].try_into().expect("4 bytes"));
            let crc = record_crc(bytes);
            if crc != stored_crc {
                return Err(self.invalid_record(
                    lsn,
                    format!(
                        "incorrect resource manager data checksum in record (stored {stored_crc:08X}, computed {crc:08X})"
                    ),
                ));
            }
            let rmid = bytes[17];
            let info = bytes[16];
            let mut next = end_rec;
            if rmid == RM_XLOG_ID && info & 0xF0 == XLOG_SWITCH {
                next = next.div_ceil(self.seg_size) * self.seg_size;
            }
            self.prev_rec = Some(lsn);
            self.read_rec = lsn;
            self.end_rec = next;
            self.next_rec = next;
            self.end_reason = None;
            let path_for_error = || self.file_for(lsn);
            return match decode_record(Lsn(lsn), self.version, bytes) {
                Ok(mut rec) => {
                    rec.end = Lsn(next);
                    Ok(Some(rec))
                }
                Err(source) => Err(ReadError::Decode {
                    path: path_for_error(),
                    source,
                }),
            };
        }
    }

    fn stop<'r>(&mut self, end: EndOfWal) -> Option<Record<'r>> {
        self.end_reason = Some(end);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::page::{XLP_FIRST_IS_OVERWRITE_CONTRECORD, XLP_LONG_HEADER};
    use crate::wal::record::record_crc;

    const SEG: u64 = 1 << 20;
    const BASE: u64 = SEG; // segment 1
    /// The last 1 MiB segment of the 64-bit WAL address space.
    const TOP: u64 = u64::MAX - SEG + 1;

    /// An XLOG record with `data_len` bytes of main data, its CRC filled in.
    fn xlog_record(info: u8, prev: u64, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        if data.len() < 256 {
            body.extend_from_slice(&[255, data.len() as u8]);
        } else {
            body.push(254);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        }
        body.extend_from_slice(data);
        let tot = (RECORD_HEADER_SIZE + body.len()) as u32;
        let mut r = Vec::new();
        r.extend_from_slice(&tot.to_le_bytes());
        r.extend_from_slice(&0u32.to_le_bytes());
        r.extend_from_slice(&prev.to_le_bytes());
        r.extend_from_slice(&[info, 0, 0, 0, 0, 0, 0, 0]);
        r.extend_from_slice(&body);
        let crc = record_crc(&r);
        r[20..24].copy_from_slice(&crc.to_le_bytes());
        r
    }

    fn page_header(seg: &mut [u8], page: u64, info: u16, rem_len: u32) {
        let off = (page % SEG) as usize;
        seg[off..off + 2].copy_from_slice(&PgVersion::V15.page_magic().to_le_bytes());
        seg[off + 2..off + 4].copy_from_slice(&info.to_le_bytes());
        seg[off + 4..off + 8].copy_from_slice(&1u32.to_le_bytes());
        seg[off + 8..off + 16].copy_from_slice(&page.to_le_bytes());
        seg[off + 16..off + 20].copy_from_slice(&rem_len.to_le_bytes());
        if info & XLP_LONG_HEADER != 0 {
            seg[off + 24..off + 32].copy_from_slice(&42u64.to_le_bytes());
            seg[off + 32..off + 36].copy_from_slice(&(SEG as u32).to_le_bytes());
            seg[off + 36..off + 40].copy_from_slice(&(BLCKSZ as u32).to_le_bytes());
        }
    }

    /// A record whose continuation was lost is dropped where the next page says its
    /// contrecord was overwritten, and reading goes on with the OVERWRITE_CONTRECORD record.
    #[test]
    fn overwritten_contrecord_is_skipped() {
        let mut seg = vec![0u8; SEG as usize];
        page_header(&mut seg, BASE, XLP_LONG_HEADER, 0);
        let a_lsn = BASE + 40;
        let a = xlog_record(0x20, 0, b"noop!!");
        seg[40..40 + a.len()].copy_from_slice(&a);
        let b_lsn = a_lsn + maxalign(a.len() as u64);
        let b = xlog_record(0x20, a_lsn, &[7u8; 10_000]);
        let b_off = (b_lsn - BASE) as usize;
        seg[b_off..BLCKSZ].copy_from_slice(&b[..BLCKSZ - b_off]);
        let page1 = BASE + PAGE;
        page_header(&mut seg, page1, XLP_FIRST_IS_OVERWRITE_CONTRECORD, 0);
        let mut payload = b_lsn.to_le_bytes().to_vec();
        payload.extend_from_slice(&0i64.to_le_bytes());
        let c = xlog_record(0xD0, a_lsn, &payload);
        let c_off = (page1 - BASE) as usize + SHORT_HEADER_SIZE;
        seg[c_off..c_off + c.len()].copy_from_slice(&c);

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(segment_file_name(1, 1, SEG)), &seg).unwrap();
        let mut reader = Reader::open(WalDir::new(dir.path()), 1, Lsn(BASE)).unwrap();
        assert_eq!(reader.find_first_record(Lsn(BASE)).unwrap(), Lsn(a_lsn));
        let mut seen = Vec::new();
        while let Some(rec) = reader.next_record().unwrap() {
            seen.push((rec.lsn, rec.info()));
        }
        assert_eq!(
            seen,
            vec![
                (Lsn(a_lsn), 0x20),
                (Lsn(page1 + SHORT_HEADER_SIZE as u64), 0xD0)
            ]
        );
        assert!(matches!(reader.end_reason(), Some(EndOfWal::Zeroed { .. })));
    }

    fn top_segment() -> (tempfile::TempDir, Vec<u8>) {
        let mut seg = vec![0u8; SEG as usize];
        page_header(&mut seg, TOP, XLP_LONG_HEADER, 0);
        (tempfile::tempdir().unwrap(), seg)
    }

    fn write_top(dir: &tempfile::TempDir, seg: &[u8]) -> Reader {
        let name = segment_file_name(1, TOP / SEG, SEG);
        std::fs::write(dir.path().join(name), seg).unwrap();
        let info = SegmentInfo {
            version: PgVersion::V15,
            seg_size: SEG,
            sysid: 42,
        };
        Reader::with_info(WalDir::new(dir.path()), 1, info, SEG)
    }

    /// A huge record length at the top of the address space is an error, not an overflow.
    #[test]
    fn record_running_past_the_address_space_is_an_error() {
        let (dir, mut seg) = top_segment();
        let mut rec = xlog_record(0x20, 0, b"x");
        rec[0..4].copy_from_slice(&0xFFFF_0000u32.to_le_bytes());
        seg[40..40 + rec.len()].copy_from_slice(&rec);
        let mut reader = write_top(&dir, &seg);
        reader.begin_read(Lsn(TOP + 40));
        let err = reader.next_record().unwrap_err();
        assert!(
            err.to_string().contains("end of the WAL address space"),
            "{err}"
        );
        // Searching forward from the last page ends cleanly too.
        let mut reader = write_top(&dir, &seg);
        assert!(reader.find_first_record(Lsn(u64::MAX - 100)).is_err());
    }

    /// Reading from a position no record can start at is an error, not a slice panic.
    #[test]
    fn unaligned_start_is_an_error() {
        let (dir, seg) = top_segment();
        let mut reader = write_top(&dir, &seg);
        reader.begin_read(Lsn(TOP + PAGE - 3));
        let err = reader.next_record().unwrap_err();
        assert!(err.to_string().contains("invalid record offset"), "{err}");
    }
}
