//! The bodies of the fuzz targets, shared with the seed-corpus builder
//! (`examples/seed_corpus.rs`) so that both agree on the input layouts.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pglcr::wal::lsn::{segment_file_name, Lsn};
use pglcr::wal::page::{parse_page_header, LONG_HEADER_SIZE, XLP_ALL_FLAGS, XLP_LONG_HEADER};
use pglcr::wal::reader::Reader;
use pglcr::wal::record::{decode_record, BLCKSZ, RECORD_HEADER_SIZE};
use pglcr::wal::segment::WalDir;
use pglcr::wal::version::PgVersion;

// ---------------------------------------------------------------------------------------------
// record
// ---------------------------------------------------------------------------------------------

/// Input layout of the `record` target: one selector byte, then an assembled record (header
/// included). The selector picks the resource manager written into the header (`xl_rmid`):
/// below 0xF0 it is taken modulo 22, so every built-in resource manager is reached; from 0xF0 on
/// it is used as is (custom and invalid ids). `xl_tot_len` is set to the record's length so the
/// decoder gets past its length check.
pub fn record_input(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let mut rec = body.to_vec();
    if rec.len() >= RECORD_HEADER_SIZE {
        let len = rec.len() as u32;
        rec[0..4].copy_from_slice(&len.to_le_bytes());
        rec[17] = if sel < 0xF0 { sel % 22 } else { sel };
    }
    for version in PgVersion::ALL {
        check_record(version, &rec);
    }
}

fn check_record(version: PgVersion, bytes: &[u8]) {
    let lsn = Lsn(0x0100_0028);
    let Ok(rec) = decode_record(lsn, version, bytes) else {
        return;
    };
    let mut out = String::new();
    let _ = pglcr::rmgr::write_description(&rec, &mut out);
    out.clear();
    let _ = pglcr::dump::text::write_record(&mut out, &rec, false);
    out.clear();
    let _ = pglcr::dump::text::write_record(&mut out, &rec, true);
    out.clear();
    let _ = pglcr::dump::json::write_record(&mut out, &rec);
    for block in &rec.blocks {
        if let Some(image) = &block.image {
            if let Ok(page) = pglcr::wal::image::restore_page(image) {
                assert_eq!(page.len(), BLCKSZ, "a restored page is one block");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// reader
// ---------------------------------------------------------------------------------------------

pub const SEG_SIZE: u64 = 1 << 20;
pub const PAGES_PER_SEG: usize = (SEG_SIZE as usize) / BLCKSZ;

/// Flags of the `reader` input's first byte.
pub const RAW: u8 = 0x01;
pub const TWO_SEGMENTS: u8 = 0x02;
pub const KEEP_PAGEADDR: u8 = 0x04;
pub const KEEP_INFO: u8 = 0x08;
pub const PARTIAL_NAME: u8 = 0x10;
pub const BEGIN_READ: u8 = 0x20;
pub const ZSTD_NAME: u8 = 0x40;

/// Size of the `reader` input's own header: flags, tail page count, start offset (u16 LE).
pub const READER_HEADER: usize = 4;

/// Input layout of the `reader` target:
///
/// ```text
/// [flags] [tail pages t] [start offset in the first page read, u16 LE, mod 8192] [payload…]
/// ```
///
/// With `RAW` the payload is written as it is as the one segment file (usually short, so the
/// file is truncated). Otherwise the payload is laid out as WAL pages of a 1 MiB segment: its
/// first 8 kB are page 0; when `t > 0` the next `t` pages go to the end of the segment (reading
/// starts there) and, with `TWO_SEGMENTS`, what follows becomes the start of the next segment;
/// when `t == 0` the payload fills the segment from the start. Pages not given stay zeroed
/// (the normal end of WAL). Page headers of pages taken from the input are repaired so the
/// reader gets to record assembly: the page magic (page 0's if it is a known one), the long
/// header on a segment's first page (segment size, block size), `xlp_pageaddr` (unless
/// `KEEP_PAGEADDR`), the timeline, and unknown info bits (unless `KEEP_INFO`). The segment
/// number is page 0's `xlp_pageaddr` / 1 MiB, so slices of real WAL keep their prev-links.
pub fn reader_input(data: &[u8]) {
    if data.len() < READER_HEADER {
        return;
    }
    let flags = data[0];
    let tail = usize::from(data[1]) % PAGES_PER_SEG;
    let offset = u64::from(u16::from_le_bytes([data[2], data[3]])) % BLCKSZ as u64;
    let payload = &data[READER_HEADER..];
    let dir = scratch_dir();
    clear_dir(dir);

    // Room for a next segment and a page offset: the highest 1 MiB segment number is 2^44 - 1.
    let segno_of = |pageaddr: u64| (pageaddr / SEG_SIZE).min(u64::MAX / SEG_SIZE - 1);
    let segno;
    let start;
    if flags & RAW != 0 {
        segno = match parse_page_header(payload) {
            Ok((_, h)) => segno_of(h.pageaddr),
            Err(_) => 1,
        };
        let len = payload.len().min(SEG_SIZE as usize);
        write_segment(dir, segno, &payload[..len], flags);
        start = segno * SEG_SIZE + offset;
    } else {
        let (first, rest) = payload.split_at(payload.len().min(BLCKSZ));
        let header = parse_page_header(first).ok().map(|(_, h)| h);
        segno = header.map_or(1, |h| segno_of(h.pageaddr));
        let version = header
            .and_then(|h| PgVersion::from_page_magic(h.magic))
            .unwrap_or(PgVersion::ALL[usize::from(first.first().copied().unwrap_or(0)) % 6]);
        let sysid = header.and_then(|h| h.long).map_or(7, |l| l.sysid);
        let fix = Fix {
            version,
            sysid,
            flags,
        };
        let mut seg = vec![0u8; SEG_SIZE as usize];
        seg[..first.len()].copy_from_slice(first);
        fix.page(&mut seg, 0, segno);
        let rest = if tail > 0 {
            let base = (PAGES_PER_SEG - tail) * BLCKSZ;
            let n = rest.len().min(tail * BLCKSZ);
            seg[base..base + n].copy_from_slice(&rest[..n]);
            for p in 0..n.div_ceil(BLCKSZ) {
                fix.page(&mut seg, PAGES_PER_SEG - tail + p, segno);
            }
            start = segno * SEG_SIZE + base as u64 + offset;
            &rest[n..]
        } else {
            let n = rest.len().min(SEG_SIZE as usize - BLCKSZ);
            seg[BLCKSZ..BLCKSZ + n].copy_from_slice(&rest[..n]);
            for p in 0..n.div_ceil(BLCKSZ) {
                fix.page(&mut seg, 1 + p, segno);
            }
            start = segno * SEG_SIZE + offset;
            &rest[n..]
        };
        write_segment(dir, segno, &seg, flags);
        if flags & TWO_SEGMENTS != 0 && tail > 0 {
            let mut next = vec![0u8; SEG_SIZE as usize];
            let n = rest.len().min(SEG_SIZE as usize);
            next[..n].copy_from_slice(&rest[..n]);
            for p in 0..n.div_ceil(BLCKSZ).max(1) {
                fix.page(&mut next, p, segno + 1);
            }
            write_segment(dir, segno + 1, &next, flags);
        }
    }

    read_all(dir, Lsn(start), flags & BEGIN_READ != 0);
    clear_dir(dir);
}

struct Fix {
    version: PgVersion,
    sysid: u64,
    flags: u8,
}

impl Fix {
    /// Repairs the header of page `index` of segment `segno` held in `seg`.
    fn page(&self, seg: &mut [u8], index: usize, segno: u64) {
        let p = &mut seg[index * BLCKSZ..(index + 1) * BLCKSZ];
        p[0..2].copy_from_slice(&self.version.page_magic().to_le_bytes());
        let mut info = u16::from_le_bytes([p[2], p[3]]);
        if self.flags & KEEP_INFO == 0 {
            info &= XLP_ALL_FLAGS;
            if index == 0 {
                info |= XLP_LONG_HEADER;
            } else {
                info &= !XLP_LONG_HEADER;
            }
        }
        p[2..4].copy_from_slice(&info.to_le_bytes());
        p[4..8].copy_from_slice(&1u32.to_le_bytes());
        if index == 0 || self.flags & KEEP_PAGEADDR == 0 {
            let pageaddr = segno * SEG_SIZE + (index * BLCKSZ) as u64;
            p[8..16].copy_from_slice(&pageaddr.to_le_bytes());
        }
        if index == 0 {
            p[24..32].copy_from_slice(&self.sysid.to_le_bytes());
            p[32..36].copy_from_slice(&(SEG_SIZE as u32).to_le_bytes());
            p[36..LONG_HEADER_SIZE].copy_from_slice(&(BLCKSZ as u32).to_le_bytes());
        }
    }
}

fn write_segment(dir: &Path, segno: u64, bytes: &[u8], flags: u8) {
    let mut name = segment_file_name(1, segno, SEG_SIZE);
    if flags & PARTIAL_NAME != 0 {
        name.push_str(".partial");
    }
    let path = dir.join(&name);
    if flags & ZSTD_NAME != 0 {
        let compressed = zstd::bulk::compress(bytes, 1).expect("zstd compresses");
        fs::write(path.with_file_name(format!("{name}.zst")), compressed).expect("write segment");
    } else {
        fs::write(path, bytes).expect("write segment");
    }
}

/// Opens a reader on the directory and reads every record from `start` on, describing each.
pub fn read_all(dir: &Path, start: Lsn, begin_read: bool) {
    let Ok(mut reader) = Reader::open(WalDir::new(dir), 1, start) else {
        return;
    };
    if begin_read {
        reader.begin_read(start);
    } else if reader.find_first_record(start).is_err() {
        return;
    }
    let mut out = String::new();
    // A 2 MiB stream holds far fewer records than this; the cap only guards against a loop.
    for _ in 0..200_000 {
        match reader.next_record() {
            Ok(Some(rec)) => {
                out.clear();
                let _ = pglcr::dump::text::write_record(&mut out, &rec, true);
            }
            Ok(None) | Err(_) => return,
        }
    }
    panic!("reader did not stop after 200000 records");
}

/// One temporary directory per process (`pglcr-fuzz-reader-*` in the system's temporary
/// directory), emptied before and after each input. libFuzzer ends the process with `exit`, so
/// the empty directory itself stays behind.
fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("pglcr-fuzz-reader-")
            .tempdir()
            .expect("temporary directory")
    })
    .path()
}

fn clear_dir(dir: &Path) {
    let entries: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read scratch dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    for p in entries {
        let _ = fs::remove_file(p);
    }
}

// ---------------------------------------------------------------------------------------------
// tuple
// ---------------------------------------------------------------------------------------------

/// The catalog of the pg15-logical test case: its `t_types` table has a column of nearly every
/// built-in type, which makes it a good target for the deformer and the type printers.
fn fuzz_catalog() -> &'static (pglcr::catalog::Catalog, Vec<pglcr::catalog::Column>) {
    static CATALOG: OnceLock<(pglcr::catalog::Catalog, Vec<pglcr::catalog::Column>)> =
        OnceLock::new();
    CATALOG.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/pg15-logical/catalog.json");
        let catalog = pglcr::catalog::Catalog::load(&path).expect("test catalog");
        let columns = catalog
            .file
            .relations
            .iter()
            .find(|r| r.name == "t_types")
            .and_then(|r| r.columns.clone())
            .expect("t_types columns");
        (catalog, columns)
    })
}

/// Input layout of the `tuple` target: `t_infomask2` (2 bytes), `t_infomask` (2), `t_hoff` (1),
/// then the tuple bytes from offset 23 on. Each deformed value is printed with its column's
/// type; errors are fine, panics are not.
pub fn tuple_input(data: &[u8]) {
    if data.len() < 5 {
        return;
    }
    let (catalog, columns) = fuzz_catalog();
    let tuple = pglcr::tuple::HeapTuple {
        infomask2: u16::from_le_bytes([data[0], data[1]]),
        infomask: u16::from_le_bytes([data[2], data[3]]),
        hoff: data[4],
        data: &data[5..],
    };
    let Ok(datums) = pglcr::tuple::deform(&tuple, columns) else {
        return;
    };
    let ctx = pglcr::tuple::types::OutputContext::from_catalog(catalog).expect("settings");
    let mut out = String::new();
    for (col, datum) in columns.iter().zip(datums) {
        let bytes: std::borrow::Cow<[u8]> = match datum {
            pglcr::tuple::Datum::Fixed(b) | pglcr::tuple::Datum::CString(b) => b.into(),
            pglcr::tuple::Datum::Varlena(v) => match v.detoast_inline() {
                Ok(b) => b,
                Err(_) => continue,
            },
            _ => continue,
        };
        out.clear();
        let _ = pglcr::tuple::types::write_output(catalog, col.type_oid, &bytes, &ctx, &mut out);
    }
}
