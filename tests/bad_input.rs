//! Damaged, missing and misnamed WAL gives a clear error naming the file and position, a
//! non-zero exit and never a panic; the normal end of WAL is not an error.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use support::{pglcr, testdata, unpack_wal};

const SEG: u64 = 1 << 20;
const PAGE: u64 = 8192;

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().len() == 24)
        .collect();
    v.sort();
    v
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn dump(dir: &Path, args: &[&str]) -> Output {
    let out = pglcr()
        .arg("dump")
        .arg("-p")
        .arg(dir)
        .args(args)
        .output()
        .expect("run pglcr");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "pglcr panicked: {stderr}");
    out
}

fn dump_all(dir: &Path) -> Output {
    let segs = segments(dir);
    dump(dir, &[&name(&segs[0]), &name(segs.last().unwrap())])
}

fn assert_error(out: &Output, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1, stderr: {stderr}"
    );
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks {n:?}: {stderr}");
    }
    stderr
}

fn patch(path: &Path, offset: u64, bytes: &[u8]) {
    let mut data = std::fs::read(path).unwrap();
    data[offset as usize..offset as usize + bytes.len()].copy_from_slice(bytes);
    std::fs::write(path, data).unwrap();
}

/// LSN and total length of records in a segment, from our own JSON output of intact WAL.
fn records_in(dir: &Path, seg: &Path) -> Vec<(u64, u64)> {
    let out = dump(dir, &["--format=json", &name(seg)]);
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let lsn: pglcr::wal::lsn::Lsn = v["lsn"].as_str().unwrap().parse().unwrap();
            (lsn.0, v["tot_len"].as_u64().unwrap())
        })
        .collect()
}

fn lsn_text(v: u64) -> String {
    pglcr::wal::lsn::Lsn(v).to_string()
}

#[test]
fn intact_wal_reads_to_a_clean_end() {
    let wal = unpack_wal(&testdata().join("pg15-basic"));
    let segs = segments(wal.path());
    let first = name(&segs[0]);
    // No end requested: reading stops at the zeroed tail of the last segment, exit 0.
    let start = format!(
        "{:X}/{:X}",
        0,
        u64::from_str_radix(&first[16..], 16).unwrap() * SEG
    );
    let out = dump(wal.path(), &["-s", &start, "-q", "-v"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("end of WAL at"), "{stderr}");
}

#[test]
fn corrupt_crc_names_file_and_lsn() {
    let wal = unpack_wal(&testdata().join("pg15-basic"));
    let segs = segments(wal.path());
    let seg = &segs[3];
    let (lsn, _) = *records_in(wal.path(), seg)
        .iter()
        .find(|(lsn, len)| *len >= 64 && lsn % PAGE + len < PAGE && lsn % SEG > PAGE)
        .expect("a single-page record");
    let offset = lsn % SEG + 40;
    let mut data = std::fs::read(seg).unwrap();
    data[offset as usize] ^= 0xFF;
    std::fs::write(seg, data).unwrap();
    assert_error(
        &dump_all(wal.path()),
        &[&name(seg), &lsn_text(lsn), "checksum"],
    );
}

#[test]
fn bad_magic_names_file_and_offset() {
    let wal = unpack_wal(&testdata().join("pg15-basic"));
    let segs = segments(wal.path());
    let offset = 5 * PAGE;
    patch(&segs[2], offset, &[0x34, 0x12]);
    assert_error(
        &dump_all(wal.path()),
        &[&name(&segs[2]), "magic", &format!("offset {offset}")],
    );
}

#[test]
fn wrong_pageaddr_names_file_and_offset() {
    let wal = unpack_wal(&testdata().join("pg15-basic"));
    let segs = segments(wal.path());
    let offset = 7 * PAGE;
    patch(&segs[2], offset + 8, &0x7777_0000u64.to_le_bytes());
    assert_error(
        &dump_all(wal.path()),
        &[
            &name(&segs[2]),
            "unexpected pageaddr",
            &format!("offset {offset}"),
        ],
    );
}

#[test]
fn truncated_segment_is_an_error() {
    let wal = unpack_wal(&testdata().join("pg15-basic"));
    let segs = segments(wal.path());
    let data = std::fs::read(&segs[3]).unwrap();
    std::fs::write(&segs[3], &data[..100_000]).unwrap();
    assert_error(&dump_all(wal.path()), &[&name(&segs[3]), "truncated"]);
}

#[test]
fn missing_segment_in_range_is_an_error() {
    let wal = unpack_wal(&testdata().join("pg15-basic"));
    let segs = segments(wal.path());
    std::fs::remove_file(&segs[4]).unwrap();
    assert_error(&dump_all(wal.path()), &[&name(&segs[4]), "missing"]);
    // Also without an explicit end: later segments exist, so this is a gap, not the end.
    let start = lsn_text(u64::from_str_radix(&name(&segs[0])[16..], 16).unwrap() * SEG);
    assert_error(
        &dump(wal.path(), &["-s", &start, "-q"]),
        &[&name(&segs[4]), "later segments exist"],
    );
}

#[test]
fn segment_of_a_newer_timeline_under_an_older_name_is_an_error() {
    let wal = unpack_wal(&testdata().join("pg15-timeline"));
    let tl2 = wal.path().join("000000020000000000000009");
    let misnamed = wal.path().join("000000010000000000000009");
    std::fs::copy(&tl2, &misnamed).unwrap();
    let out = dump(wal.path(), &["000000010000000000000009"]);
    assert_error(&out, &["000000010000000000000009", "timeline 2"]);
}

#[test]
fn a_file_that_is_not_wal_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("000000010000000000000001");
    std::fs::write(&fake, vec![0x41u8; 1 << 20]).unwrap();
    assert_error(
        &dump(dir.path(), &["000000010000000000000001"]),
        &["000000010000000000000001", "not a WAL segment"],
    );
    std::fs::write(&fake, b"short").unwrap();
    assert_error(
        &dump(dir.path(), &["000000010000000000000001"]),
        &["000000010000000000000001"],
    );
}

#[test]
fn misnamed_older_segment_is_reported() {
    let wal = unpack_wal(&testdata().join("pg15-basic"));
    let segs = segments(wal.path());
    // Segment 5 is replaced by a copy of segment 4: its pages claim older positions.
    std::fs::copy(&segs[3], &segs[4]).unwrap();
    let out = dump_all(wal.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&name(&segs[4])) && stderr.contains("recycled segment or misnamed file"),
        "{stderr}"
    );
}
