//! Builds the seed corpora of the `record` and `reader` targets from the real WAL in
//! `testdata/*/wal/*.zst`:
//!
//! ```sh
//! cargo run --release --example seed_corpus -- ../testdata corpus
//! ```
//!
//! `record` gets real assembled records (a few of each version, resource manager and record
//! type); `reader` gets slices of real segments in the layout `reader_input` expects.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use pglcr::wal::lsn::{parse_segment_file_name, segno_from_parts, Lsn};
use pglcr::wal::page::{LONG_HEADER_SIZE, SHORT_HEADER_SIZE};
use pglcr::wal::reader::Reader;
use pglcr::wal::record::BLCKSZ;
use pglcr::wal::segment::{segment_info, WalDir};
use pglcr_fuzz::{RAW, READER_HEADER, SEG_SIZE, TWO_SEGMENTS};

/// Records kept per (version, rmid, info).
const PER_KIND: usize = 3;

fn main() {
    let mut args = std::env::args().skip(1);
    let testdata = PathBuf::from(args.next().unwrap_or_else(|| "../testdata".into()));
    let corpus = PathBuf::from(args.next().unwrap_or_else(|| "corpus".into()));
    let record_dir = corpus.join("record");
    let reader_dir = corpus.join("reader");
    let page_dir = corpus.join("page");
    let tuple_dir = corpus.join("tuple");
    for d in [&record_dir, &reader_dir, &page_dir, &tuple_dir] {
        fs::create_dir_all(d).expect("create corpus directory");
    }
    let mut cases: Vec<PathBuf> = fs::read_dir(&testdata)
        .expect("read testdata")
        .flatten()
        .map(|e| e.path().join("wal"))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let (mut records, mut slices) = (0, 0);
    for wal in cases {
        let case = wal
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let segments = load_segments(&wal);
        let Some((&first, first_bytes)) = segments.iter().next() else {
            continue;
        };
        let info = segment_info(&wal, first_bytes).expect("testdata segment header");
        let seg_size = info.seg_size;
        records += record_seeds(&wal, &case, &segments, seg_size, first, &record_dir);
        slices += reader_seeds(&case, &segments, seg_size, &reader_dir, &page_dir);
    }
    let tuples = tuple_seeds(&testdata.join("pg15-logical/wal"), &tuple_dir);
    println!("{records} record seeds, {slices} reader seeds, {tuples} tuple seeds");
}

/// Logged tuples of heap inserts (`xl_heap_header` + tuple bytes, the `tuple` target's input
/// layout) from the logical-decoding test case, whose catalog the target uses.
fn tuple_seeds(wal: &Path, out_dir: &Path) -> usize {
    let segments = load_segments(wal);
    let Some((&first, _)) = segments.iter().next() else {
        return 0;
    };
    let start = Lsn(first * SEG_SIZE);
    let mut reader = Reader::open(WalDir::new(wal), 1, start).expect("open");
    if reader.find_first_record(start).is_err() {
        return 0;
    }
    let mut n = 0;
    while let Ok(Some(rec)) = reader.next_record() {
        // Heap INSERT whose block 0 carries the new tuple.
        if rec.rmid() != 10 || rec.info() & 0x70 != 0 || n >= 200 {
            continue;
        }
        let Some(b) = rec.block(0) else { continue };
        if b.data.len() > 5 {
            fs::write(out_dir.join(format!("insert-{:x}", rec.lsn.0)), b.data).expect("write");
            n += 1;
        }
    }
    n
}

/// Decompressed segments of timeline 1, by segment number.
fn load_segments(wal: &Path) -> BTreeMap<u64, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(wal).expect("read wal dir").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(base) = name.strip_suffix(".zst") else {
            continue;
        };
        let Some((tli, log, seg)) = parse_segment_file_name(base) else {
            continue;
        };
        if tli != 1 {
            continue;
        }
        let bytes = zstd::decode_all(fs::File::open(e.path()).expect("open")).expect("zstd");
        let seg_size = bytes.len() as u64;
        out.insert(segno_from_parts(log, seg, seg_size), bytes);
    }
    out
}

/// The record at `lsn` with the page headers it crosses removed.
fn assemble(segments: &BTreeMap<u64, Vec<u8>>, seg_size: u64, lsn: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut pos = lsn;
    while out.len() < len {
        let in_page = (pos % BLCKSZ as u64) as usize;
        if in_page == 0 {
            pos += if pos.is_multiple_of(seg_size) {
                LONG_HEADER_SIZE
            } else {
                SHORT_HEADER_SIZE
            } as u64;
            continue;
        }
        let seg = &segments[&(pos / seg_size)];
        let off = (pos % seg_size) as usize;
        let n = (BLCKSZ - in_page).min(len - out.len());
        out.extend_from_slice(&seg[off..off + n]);
        pos += n as u64;
    }
    out
}

fn record_seeds(
    wal: &Path,
    case: &str,
    segments: &BTreeMap<u64, Vec<u8>>,
    seg_size: u64,
    first: u64,
    out_dir: &Path,
) -> usize {
    let mut reader = Reader::open(WalDir::new(wal), 1, Lsn(first * seg_size)).expect("open");
    if reader.find_first_record(Lsn(first * seg_size)).is_err() {
        return 0;
    }
    let version = reader.version();
    let mut kept: HashMap<(u8, u8), Vec<u32>> = HashMap::new();
    let mut n = 0;
    while let Ok(Some(rec)) = reader.next_record() {
        let (lsn, len, rmid, info) = (rec.lsn.0, rec.header.tot_len, rec.rmid(), rec.info());
        let sizes = kept.entry((rmid, info)).or_default();
        if sizes.len() >= PER_KIND || sizes.contains(&len) || len > 3 * BLCKSZ as u32 {
            continue;
        }
        sizes.push(len);
        let mut seed = vec![rmid];
        seed.extend(assemble(segments, seg_size, lsn, len as usize));
        let name = format!("{case}-{version}-rm{rmid:02}-{info:02x}-{lsn:x}");
        fs::write(out_dir.join(name), seed).expect("write seed");
        n += 1;
    }
    n
}

fn reader_seeds(
    case: &str,
    segments: &BTreeMap<u64, Vec<u8>>,
    seg_size: u64,
    out_dir: &Path,
    page_dir: &Path,
) -> usize {
    let mut n = 0;
    let mut write = |name: String, flags: u8, tail: u8, parts: &[&[u8]]| {
        let mut seed = vec![flags, tail, 0, 0];
        assert_eq!(seed.len(), READER_HEADER);
        for p in parts {
            seed.extend_from_slice(p);
        }
        fs::write(out_dir.join(name), seed).expect("write seed");
        n += 1;
    };
    let page = |bytes: &[u8], i: usize| bytes[i * BLCKSZ..(i + 1) * BLCKSZ].to_vec();
    for (&segno, bytes) in segments {
        let first_pages = &bytes[..4 * BLCKSZ];
        write(format!("{case}-{segno:x}-head"), 0, 0, &[first_pages]);
        write(
            format!("{case}-{segno:x}-raw"),
            RAW,
            0,
            &[&bytes[..2 * BLCKSZ]],
        );
        fs::write(page_dir.join(format!("{case}-{segno:x}")), page(bytes, 0)).expect("write seed");
        // Pages at the segment's end only keep their LSNs in a 1 MiB segment.
        if seg_size != SEG_SIZE {
            continue;
        }
        let last = bytes.len() / BLCKSZ;
        let tail = [page(bytes, last - 2), page(bytes, last - 1)].concat();
        match segments.get(&(segno + 1)) {
            Some(next) => write(
                format!("{case}-{segno:x}-boundary"),
                TWO_SEGMENTS,
                2,
                &[&page(bytes, 0), &tail, &next[..2 * BLCKSZ]],
            ),
            None => write(
                format!("{case}-{segno:x}-tail"),
                0,
                2,
                &[&page(bytes, 0), &tail],
            ),
        }
    }
    n
}
