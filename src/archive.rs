//! `pglcr archive` and `pglcr restore`: PostgreSQL's archive_command and restore_command.
//!
//! Archiving copies a WAL file into an archive directory durably (temporary file, fsync,
//! rename that never replaces an existing file, directory fsync), optionally zstd-compressed
//! under the name the WAL reader looks for (`NAME.zst`). A file already in the archive is never
//! replaced: the same valid WAL is success, anything else a conflict. Restoring copies a file
//! back (decompressing it) to the path PostgreSQL asks for, just as durably.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::durable;
use crate::wal::lsn::{
    parse_segment_file_name, segment_file_name, segno_from_parts, Lsn, TimeLineId,
};
use crate::wal::page::{parse_page_header, XLP_ALL_FLAGS};
use crate::wal::record::BLCKSZ;
use crate::wal::segment::{load_file, segment_info, SegmentError};
use crate::wal::version::PgVersion;

/// WAL page size (`XLOG_BLCKSZ`); `segment_info` refuses any other.
const PAGE: usize = BLCKSZ;

/// Archive name suffixes of a file, in the order the WAL reader tries them.
const STORED_SUFFIXES: [&str; 3] = ["", ".zst", ".gz"];

const NAME_RULES: &str = "a WAL segment name (24 uppercase hex digits, like \
                          000000010000000000000001), optionally followed by .partial, a timeline \
                          history file (00000002.history) or a backup history file \
                          (000000010000000000000002.00000028.backup)";

pub struct ArchiveRequest {
    /// The file to archive (archive_command's `%p`).
    pub source: PathBuf,
    /// Its name in the archive (`%f`).
    pub name: String,
    /// The archive directory; it must exist (a missing mount must not become a local copy).
    pub to: PathBuf,
    /// Store WAL segments as `NAME.zst` (zstd level 3).
    pub compress: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ArchiveOutcome {
    Archived {
        path: PathBuf,
    },
    /// The archive already holds this file with the same valid WAL (or the same contents, for
    /// history and backup files): success, worth a warning.
    AlreadyArchived {
        path: PathBuf,
    },
}

pub struct RestoreRequest {
    /// The file wanted (restore_command's `%f`).
    pub name: String,
    /// Where to write it (`%p`, e.g. `pg_wal/RECOVERYXLOG`).
    pub dest: PathBuf,
    /// The archive directory.
    pub from: PathBuf,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RestoreOutcome {
    Restored {
        from: PathBuf,
    },
    /// Neither `NAME` nor a compressed copy is in the archive: not an error.
    NotFound,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("invalid WAL file name \"{name}\": {reason}; expected {NAME_RULES}")]
    BadName { name: String, reason: String },
    #[error("archive directory \"{path}\" {reason}")]
    BadDirectory { path: PathBuf, reason: String },
    #[error("could not read \"{path}\": {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not write \"{path}\": {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("\"{path}\" is not a valid WAL segment: {reason}")]
    NotWal { path: PathBuf, reason: String },
    #[error("\"{name}\" is already archived as \"{path}\" with different contents ({detail}); the archived copy was left untouched")]
    Conflict {
        name: String,
        path: PathBuf,
        detail: String,
    },
    #[error(transparent)]
    Segment(#[from] SegmentError),
}

/// The timeline, log and seg parts of a segment file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SegName {
    tli: TimeLineId,
    log: u32,
    seg: u32,
}

/// What a file name says the file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A segment (also `.partial`).
    Segment(SegName),
    /// Timeline and backup history files: small text, copied and compared as they are.
    Text,
}

fn is_upper_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F'))
}

/// The segment name part: 24 uppercase hex digits, as PostgreSQL's `IsXLogFileName` wants.
fn segment_parts(s: &str) -> Option<(TimeLineId, u32, u32)> {
    if is_upper_hex(s) {
        parse_segment_file_name(s)
    } else {
        None
    }
}

fn classify(name: &str) -> Result<Kind, ArchiveError> {
    let bad = |reason: &str| ArchiveError::BadName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(bad("the name is empty"));
    }
    if name.contains('/') || name == "." || name == ".." {
        return Err(bad("not a plain file name"));
    }
    let base = name.strip_suffix(".partial").unwrap_or(name);
    if let Some((tli, log, seg)) = segment_parts(base) {
        return Ok(Kind::Segment(SegName { tli, log, seg }));
    }
    if let Some(tli) = name.strip_suffix(".history") {
        if tli.len() == 8 && is_upper_hex(tli) {
            return Ok(Kind::Text);
        }
    }
    if let Some(rest) = name.strip_suffix(".backup") {
        if let Some((seg, offset)) = rest.split_once('.') {
            if segment_parts(seg).is_some() && offset.len() == 8 && is_upper_hex(offset) {
                return Ok(Kind::Text);
            }
        }
    }
    Err(bad("not a name PostgreSQL archives"))
}

/// A segment's size and start, from its first page checked against its name.
#[derive(Clone, Copy, Debug)]
struct SegmentLayout {
    seg_size: u64,
    start: u64,
}

/// Checks the long header of a segment's first page against the name the file is archived
/// under: a misnamed or foreign file must not enter the archive, nor come out of it.
fn check_first_page(
    path: &Path,
    first: &[u8],
    name: SegName,
) -> Result<SegmentLayout, ArchiveError> {
    let SegName { tli, log, seg } = name;
    let info = segment_info(path, first)?;
    let not_wal = |reason: String| ArchiveError::NotWal {
        path: path.to_path_buf(),
        reason,
    };
    let segno = segno_from_parts(log, seg, info.seg_size);
    let canonical = segment_file_name(tli, segno, info.seg_size);
    if parse_segment_file_name(&canonical) != Some((tli, log, seg)) {
        return Err(not_wal(format!(
            "its name has segment part {seg:08X}, too large for its segment size of {} bytes",
            info.seg_size
        )));
    }
    let (_, header) = parse_page_header(first).map_err(|_| not_wal("short first page".into()))?;
    let start = segno * info.seg_size;
    if header.pageaddr != start {
        return Err(not_wal(format!(
            "its first page holds WAL of position {}, the name {canonical} says {}",
            Lsn(header.pageaddr),
            Lsn(start)
        )));
    }
    // The first segment of a new timeline starts with pages copied from the old one, so the
    // page's timeline may be lower than the name's, never higher.
    if header.tli > tli {
        return Err(not_wal(format!(
            "its first page belongs to timeline {}, the name says timeline {tli}",
            header.tli
        )));
    }
    Ok(SegmentLayout {
        seg_size: info.seg_size,
        start,
    })
}

/// Length of the valid WAL of a segment starting at `start`: the pages from the first on whose
/// headers are valid for this segment (the first page's magic, their own position as
/// `xlp_pageaddr`, known flags, a long header on the first page only), up to the first page
/// that is not (zeroed, recycled from an older position, or garbage). What follows may differ
/// between two copies of the same WAL: a recycled segment's old tail is rewritten over time.
pub fn valid_wal_len(bytes: &[u8], start: u64) -> usize {
    let Ok((_, first)) = parse_page_header(bytes) else {
        return 0;
    };
    if PgVersion::from_page_magic(first.magic).is_none() {
        return 0;
    }
    let mut len = 0;
    while let Some(page) = bytes.get(len..len + PAGE) {
        let Ok((_, h)) = parse_page_header(page) else {
            break;
        };
        let valid = h.magic == first.magic
            && h.pageaddr == start + len as u64
            && h.info & !XLP_ALL_FLAGS == 0
            && h.long.is_some() == (len == 0);
        if !valid {
            break;
        }
        len += PAGE;
    }
    len
}

fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn read_full(r: &mut dyn Read, buf: &mut [u8], path: &Path) -> Result<usize, ArchiveError> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_err(path)(e)),
        }
    }
    Ok(n)
}

/// Streams `r` into `w`. A segment's first page is checked before anything is written and its
/// length must be exactly the segment size (which also bounds what a damaged compressed file
/// can expand to).
fn copy_file(
    r: &mut dyn Read,
    rpath: &Path,
    w: &mut dyn Write,
    wpath: &Path,
    kind: Kind,
) -> Result<(), ArchiveError> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = read_full(r, &mut buf[..PAGE], rpath)? as u64;
    let limit = match kind {
        Kind::Segment(name) => {
            if total < PAGE as u64 {
                return Err(ArchiveError::NotWal {
                    path: rpath.to_path_buf(),
                    reason: format!("it is only {total} bytes long"),
                });
            }
            Some(check_first_page(rpath, &buf[..PAGE], name)?.seg_size)
        }
        Kind::Text => None,
    };
    w.write_all(&buf[..total as usize])
        .map_err(write_err(wpath))?;
    loop {
        let n = read_full(r, &mut buf, rpath)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if limit.is_some_and(|l| total > l) {
            break;
        }
        w.write_all(&buf[..n]).map_err(write_err(wpath))?;
    }
    match limit {
        Some(size) if total != size => Err(ArchiveError::NotWal {
            path: rpath.to_path_buf(),
            reason: format!(
                "it is {} bytes long, its header says segments are {size} bytes",
                if total > size {
                    format!("more than {size}")
                } else {
                    total.to_string()
                }
            ),
        }),
        _ => Ok(()),
    }
}

/// A new temporary file `.NAME.XXXXXX.tmp` next to `path` (hidden from the WAL reader, which
/// looks for exact names).
fn temp_file_for(path: &Path, mode: u32) -> Result<tempfile::NamedTempFile, ArchiveError> {
    durable::temp_file_for(path, mode).map_err(write_err(path))
}

fn sync_dir(dir: &Path) -> Result<(), ArchiveError> {
    durable::sync_dir(dir).map_err(write_err(dir))
}

/// An opened archive copy, decompressed as its name says.
fn open_stored(path: &Path) -> Result<Box<dyn Read>, ArchiveError> {
    let file = File::open(path).map_err(read_err(path))?;
    let name = path.to_string_lossy();
    Ok(if name.ends_with(".zst") {
        Box::new(zstd::stream::read::Decoder::new(file).map_err(read_err(path))?)
    } else if name.ends_with(".gz") {
        Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)))
    } else {
        Box::new(file)
    })
}

fn existing_copies(dir: &Path, name: &str) -> Vec<PathBuf> {
    STORED_SUFFIXES
        .iter()
        .map(|s| dir.join(format!("{name}{s}")))
        .filter(|p| p.symlink_metadata().is_ok())
        .collect()
}

/// Compares the source with a copy already in the archive.
fn compare_with_archived(
    source: &Path,
    archived: &Path,
    kind: Kind,
) -> Result<Option<String>, ArchiveError> {
    match kind {
        Kind::Segment(name) => {
            // read as the copy would be, never decompressed
            let new = std::fs::read(source).map_err(read_err(source))?;
            let layout = check_first_page(source, &new, name)?;
            if new.len() as u64 != layout.seg_size {
                return Err(ArchiveError::NotWal {
                    path: source.to_path_buf(),
                    reason: format!(
                        "it is {} bytes long, its header says segments are {} bytes",
                        new.len(),
                        layout.seg_size
                    ),
                });
            }
            let old = load_file(archived)?;
            let new_valid = &new[..valid_wal_len(&new, layout.start)];
            let old_valid = &old[..valid_wal_len(&old, layout.start)];
            if new_valid == old_valid {
                return Ok(None);
            }
            let at = new_valid
                .iter()
                .zip(old_valid)
                .position(|(a, b)| a != b)
                .unwrap_or(new_valid.len().min(old_valid.len()));
            Ok(Some(format!(
                "valid WAL: {} bytes archived, {} bytes new, first difference at offset {at} (LSN {})",
                old_valid.len(),
                new_valid.len(),
                Lsn(layout.start + at as u64)
            )))
        }
        Kind::Text => {
            let new = std::fs::read(source).map_err(read_err(source))?;
            let mut old = Vec::new();
            open_stored(archived)?
                .read_to_end(&mut old)
                .map_err(read_err(archived))?;
            Ok((new != old).then(|| {
                format!(
                    "{} bytes archived, {} bytes new, contents differ",
                    old.len(),
                    new.len()
                )
            }))
        }
    }
}

/// Success when every copy already in the archive holds what the source holds.
fn check_existing(
    req: &ArchiveRequest,
    kind: Kind,
    copies: &[PathBuf],
) -> Result<ArchiveOutcome, ArchiveError> {
    for path in copies {
        if let Some(detail) = compare_with_archived(&req.source, path, kind)? {
            return Err(ArchiveError::Conflict {
                name: req.name.clone(),
                path: path.clone(),
                detail,
            });
        }
    }
    // A copy left by a run that crashed between its rename and the directory fsync.
    sync_dir(&req.to)?;
    Ok(ArchiveOutcome::AlreadyArchived {
        path: copies[0].clone(),
    })
}

/// Archives one file; see the module documentation.
pub fn archive(req: &ArchiveRequest) -> Result<ArchiveOutcome, ArchiveError> {
    use std::os::unix::fs::PermissionsExt;
    let kind = classify(&req.name)?;
    match std::fs::metadata(&req.to) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(ArchiveError::BadDirectory {
                path: req.to.clone(),
                reason: "is not a directory".into(),
            })
        }
        Err(e) => {
            return Err(ArchiveError::BadDirectory {
                path: req.to.clone(),
                reason: format!("cannot be used: {e} (it is not created automatically)"),
            })
        }
    }
    let copies = existing_copies(&req.to, &req.name);
    if !copies.is_empty() {
        return check_existing(req, kind, &copies);
    }
    let mut source = File::open(&req.source).map_err(read_err(&req.source))?;
    // Keep the source's permissions (PostgreSQL's are 0600 or 0640), as cp would.
    let mode = source
        .metadata()
        .map_err(read_err(&req.source))?
        .permissions()
        .mode()
        & 0o666;
    let compress = req.compress && matches!(kind, Kind::Segment(_));
    let dest = if compress {
        req.to.join(format!("{}.zst", req.name))
    } else {
        req.to.join(&req.name)
    };
    let mut tmp = temp_file_for(&dest, mode)?;
    if compress {
        let mut enc =
            zstd::stream::write::Encoder::new(tmp.as_file(), 3).map_err(write_err(&dest))?;
        copy_file(&mut source, &req.source, &mut enc, &dest, kind)?;
        enc.finish().map_err(write_err(&dest))?;
    } else {
        copy_file(&mut source, &req.source, tmp.as_file_mut(), &dest, kind)?;
    }
    tmp.as_file().sync_all().map_err(write_err(&dest))?;
    match tmp.persist_noclobber(&dest) {
        Ok(_) => {}
        // Another archiver got there first: judge its copy like any other.
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            drop(e.file);
            return check_existing(req, kind, &existing_copies(&req.to, &req.name));
        }
        Err(e) => return Err(write_err(&dest)(e.error)),
    }
    sync_dir(&req.to)?;
    Ok(ArchiveOutcome::Archived { path: dest })
}

/// Restores one file from the archive; see the module documentation.
pub fn restore(req: &RestoreRequest) -> Result<RestoreOutcome, ArchiveError> {
    let kind = classify(&req.name)?;
    if !req.from.is_dir() {
        return Err(ArchiveError::BadDirectory {
            path: req.from.clone(),
            reason: "does not exist or is not a directory".into(),
        });
    }
    let Some(stored) = STORED_SUFFIXES
        .iter()
        .map(|s| req.from.join(format!("{}{s}", req.name)))
        .find(|p| p.is_file())
    else {
        return Ok(RestoreOutcome::NotFound);
    };
    let mut input = open_stored(&stored)?;
    let mut tmp = temp_file_for(&req.dest, 0o600)?;
    copy_file(&mut *input, &stored, tmp.as_file_mut(), &req.dest, kind)?;
    durable::publish(tmp, &req.dest).map_err(write_err(&req.dest))?;
    Ok(RestoreOutcome::Restored { from: stored })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata_segment(case: &str, name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(case)
            .join("wal")
            .join(format!("{name}.zst"));
        zstd::decode_all(File::open(&path).unwrap()).unwrap()
    }

    const SEG: &str = "00000001000000000000000C";
    const OLDER: &str = "000000010000000000000006";

    struct Setup {
        _dir: tempfile::TempDir,
        src: PathBuf,
        to: PathBuf,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("pg_wal");
        let to = dir.path().join("archive");
        std::fs::create_dir(&src).unwrap();
        std::fs::create_dir(&to).unwrap();
        Setup { _dir: dir, src, to }
    }

    impl Setup {
        fn archive(
            &self,
            name: &str,
            bytes: &[u8],
            compress: bool,
        ) -> Result<ArchiveOutcome, ArchiveError> {
            let source = self.src.join(name);
            std::fs::write(&source, bytes).unwrap();
            archive(&ArchiveRequest {
                source,
                name: name.to_string(),
                to: self.to.clone(),
                compress,
            })
        }

        fn names(&self) -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(&self.to)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        }
    }

    #[test]
    fn name_rules() {
        for ok in [
            "000000010000000000000001",
            "00000001000000000000000A.partial",
            "00000002.history",
            "000000010000000000000002.00000028.backup",
        ] {
            assert!(classify(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "x/000000010000000000000001",
            "00000001000000000000000a",
            "00000001000000000000001",
            "0000000100000000000000011",
            "000000010000000000000001.zst",
            "000000010000000000000001.partial.zst",
            "0000002.history",
            "0000000G.history",
            "000000010000000000000002.0000028.backup",
            "000000010000000000000002.backup",
            "RECOVERYXLOG",
        ] {
            let err = classify(bad).unwrap_err();
            assert!(matches!(err, ArchiveError::BadName { .. }), "{bad}");
            assert!(
                err.to_string().contains("expected a WAL segment name"),
                "{err}"
            );
        }
    }

    #[test]
    fn valid_length_stops_at_the_first_foreign_page() {
        let seg = testdata_segment("pg15-basic", SEG);
        let start = 0xC * (1 << 20);
        let len = valid_wal_len(&seg, start);
        assert!(len > 0 && len.is_multiple_of(PAGE) && len <= seg.len());
        let mut cut = seg.clone();
        cut[3 * PAGE..].fill(0);
        assert_eq!(valid_wal_len(&cut, start), 3 * PAGE);
        // the same pages at another position are not valid here
        assert_eq!(valid_wal_len(&seg, start + (1 << 20)), 0);
        assert_eq!(valid_wal_len(&[], start), 0);
        assert_eq!(valid_wal_len(&seg[..100], start), 0);
    }

    /// The segment with its pages from `from` on replaced by another segment's pages (what a
    /// recycled segment's tail looks like).
    fn with_recycled_tail(seg: &[u8], from: usize) -> Vec<u8> {
        let older = testdata_segment("pg15-basic", OLDER);
        let mut out = seg.to_vec();
        out[from..].copy_from_slice(&older[from..]);
        out
    }

    #[test]
    fn archives_plain_and_compressed_and_accepts_the_same_valid_wal_again() {
        let seg = testdata_segment("pg15-basic", SEG);
        let valid = valid_wal_len(&seg, 0xC << 20);
        let at = valid.min(5 * PAGE);
        let mut first = seg.clone();
        first[at..].fill(0);
        for compress in [false, true] {
            let s = setup();
            let out = s.archive(SEG, &first, compress).unwrap();
            let stored = if compress {
                format!("{SEG}.zst")
            } else {
                SEG.to_string()
            };
            assert_eq!(
                out,
                ArchiveOutcome::Archived {
                    path: s.to.join(&stored)
                }
            );
            assert_eq!(s.names(), vec![stored.clone()]);
            let bytes = load_file(&s.to.join(&stored)).unwrap();
            assert_eq!(&bytes[..], &first[..]);
            // the same WAL whose tail past the valid pages differs
            let again = s
                .archive(SEG, &with_recycled_tail(&first, at), compress)
                .unwrap();
            assert_eq!(
                again,
                ArchiveOutcome::AlreadyArchived {
                    path: s.to.join(&stored)
                }
            );
            assert_eq!(&load_file(&s.to.join(&stored)).unwrap()[..], &first[..]);
            assert_eq!(s.names(), vec![stored]);
        }
    }

    #[test]
    fn changed_valid_wal_is_a_conflict_and_leaves_the_archive_alone() {
        let seg = testdata_segment("pg15-basic", SEG);
        let s = setup();
        s.archive(SEG, &seg, true).unwrap();
        let stored = s.to.join(format!("{SEG}.zst"));
        let before = std::fs::read(&stored).unwrap();
        let mut changed = seg.clone();
        changed[PAGE + 100] ^= 0x01;
        let err = s.archive(SEG, &changed, false).unwrap_err();
        let ArchiveError::Conflict { path, detail, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(path, &stored);
        assert!(
            detail.contains(&format!("offset {}", PAGE + 100)),
            "{detail}"
        );
        assert_eq!(std::fs::read(&stored).unwrap(), before);
        assert_eq!(s.names(), vec![format!("{SEG}.zst")]);
        // fewer valid pages is a difference too
        let mut shorter = seg.clone();
        shorter[2 * PAGE..].fill(0);
        assert!(matches!(
            s.archive(SEG, &shorter, true),
            Err(ArchiveError::Conflict { .. })
        ));
    }

    #[test]
    fn refuses_what_is_not_the_named_segment() {
        let seg = testdata_segment("pg15-basic", SEG);
        let s = setup();
        let err = s
            .archive("00000001000000000000000D", &seg, false)
            .unwrap_err();
        assert!(
            err.to_string().contains("holds WAL of position 0/C00000"),
            "{err}"
        );
        let err = s.archive(SEG, &seg[..PAGE * 3], false).unwrap_err();
        assert!(err.to_string().contains("is 24576 bytes long"), "{err}");
        let err = s.archive(SEG, b"hello", false).unwrap_err();
        assert!(err.to_string().contains("only 5 bytes long"), "{err}");
        let err = s.archive(SEG, &vec![0u8; 1 << 20], false).unwrap_err();
        assert!(err.to_string().contains("not a WAL segment"), "{err}");
        let err = s.archive("bad name", &seg, false).unwrap_err();
        assert!(matches!(err, ArchiveError::BadName { .. }));
        assert!(s.names().is_empty(), "{:?}", s.names());
        let err = archive(&ArchiveRequest {
            source: s.src.join(SEG),
            name: SEG.into(),
            to: s.to.join("missing"),
            compress: false,
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("not created automatically"),
            "{err}"
        );
    }

    #[test]
    fn partial_segments_are_stored_under_the_names_the_reader_finds() {
        let seg = testdata_segment("pg15-basic", SEG);
        let s = setup();
        let name = format!("{SEG}.partial");
        s.archive(&name, &seg, true).unwrap();
        assert_eq!(s.names(), vec![format!("{name}.zst")]);
        let found = crate::wal::segment::WalDir::new(&s.to).find(1, 0xC, 1 << 20);
        assert_eq!(found, Some(s.to.join(format!("{name}.zst"))));
        // the plain segment of the same number is another file
        s.archive(SEG, &seg, false).unwrap();
        assert_eq!(s.names(), vec![SEG.to_string(), format!("{name}.zst")]);
    }

    #[test]
    fn text_files_are_copied_as_they_are_and_compared_whole() {
        let s = setup();
        let name = "00000002.history";
        let text = b"1\t0/9000000\tno recovery target specified\n";
        let out = s.archive(name, text, true).unwrap();
        assert_eq!(
            out,
            ArchiveOutcome::Archived {
                path: s.to.join(name)
            }
        );
        assert_eq!(std::fs::read(s.to.join(name)).unwrap(), text);
        assert!(matches!(
            s.archive(name, text, false).unwrap(),
            ArchiveOutcome::AlreadyArchived { .. }
        ));
        let err = s.archive(name, b"1\t0/9000001\n", false).unwrap_err();
        assert!(matches!(err, ArchiveError::Conflict { .. }), "{err}");
        assert_eq!(std::fs::read(s.to.join(name)).unwrap(), text);
    }

    #[test]
    fn restores_plain_and_compressed_copies() {
        let seg = testdata_segment("pg15-basic", SEG);
        let s = setup();
        s.archive(SEG, &seg, true).unwrap();
        s.archive("00000002.history", b"1\t0/1\n", false).unwrap();
        let restored = tempfile::tempdir().unwrap();
        let dest = restored.path().join("RECOVERYXLOG");
        let restore_one = |name: &str| {
            restore(&RestoreRequest {
                name: name.into(),
                dest: dest.clone(),
                from: s.to.clone(),
            })
        };
        let out = restore_one(SEG).unwrap();
        assert_eq!(
            out,
            RestoreOutcome::Restored {
                from: s.to.join(format!("{SEG}.zst"))
            }
        );
        assert_eq!(std::fs::read(&dest).unwrap(), seg);
        restore_one("00000002.history").unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"1\t0/1\n");
        std::fs::remove_file(&dest).unwrap();
        assert_eq!(
            restore_one("00000001000000000000000D").unwrap(),
            RestoreOutcome::NotFound
        );
        assert!(!dest.exists());
        // a damaged archive copy is an error, and nothing is written
        std::fs::write(s.to.join("00000001000000000000000D.zst"), b"not zstd").unwrap();
        let err = restore_one("00000001000000000000000D").unwrap_err();
        assert!(matches!(err, ArchiveError::Read { .. }), "{err}");
        std::fs::write(s.to.join("00000001000000000000000F"), &seg[..PAGE]).unwrap();
        let err = restore_one("00000001000000000000000F").unwrap_err();
        assert!(matches!(err, ArchiveError::NotWal { .. }), "{err}");
        assert!(!dest.exists());
        let leftovers: Vec<_> = std::fs::read_dir(restored.path()).unwrap().collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        assert!(matches!(
            restore_one("nope"),
            Err(ArchiveError::BadName { .. })
        ));
        // gzip copies are read too
        let gz_dir = tempfile::tempdir().unwrap();
        let mut gz = flate2::write::GzEncoder::new(
            File::create(gz_dir.path().join(format!("{SEG}.gz"))).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(&seg).unwrap();
        gz.finish().unwrap();
        let out = restore(&RestoreRequest {
            name: SEG.into(),
            dest: dest.clone(),
            from: gz_dir.path().to_path_buf(),
        })
        .unwrap();
        assert_eq!(
            out,
            RestoreOutcome::Restored {
                from: gz_dir.path().join(format!("{SEG}.gz"))
            }
        );
        assert_eq!(std::fs::read(&dest).unwrap(), seg);
    }
}
