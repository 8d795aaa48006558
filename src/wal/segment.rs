//! Finding, opening and validating WAL segment files: plain, `.partial`, and zstd/gzip
//! compressed archive copies, memory-mapped when they are plain files.

use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::lsn::{parse_segment_file_name, segment_file_name, segno_from_parts, TimeLineId};
use super::page::{parse_page_header, XLP_LONG_HEADER};
use super::version::PgVersion;

pub const MIN_SEGMENT_SIZE: u64 = 1 << 20;
pub const MAX_SEGMENT_SIZE: u64 = 1 << 30;

/// Name suffixes tried, in order, for a segment (`""` is the plain file).
const SUFFIXES: [&str; 6] = ["", ".partial", ".zst", ".gz", ".partial.zst", ".partial.gz"];

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("could not open file \"{path}\": {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not read file \"{path}\": {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not decompress file \"{path}\": {source}")]
    Decompress {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("file \"{path}\" is not a WAL segment: {reason}")]
    NotWal { path: PathBuf, reason: String },
    #[error("invalid WAL segment size in WAL file \"{path}\" ({size} bytes): the WAL segment size must be a power of two between 1 MB and 1 GB")]
    BadSegmentSize { path: PathBuf, size: u64 },
}

/// The bytes of one segment file.
pub enum SegmentBytes {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl Deref for SegmentBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            SegmentBytes::Mapped(m) => m,
            SegmentBytes::Owned(v) => v,
        }
    }
}

/// One opened segment file.
pub struct Segment {
    pub path: PathBuf,
    pub tli: TimeLineId,
    pub segno: u64,
    pub bytes: SegmentBytes,
}

impl Segment {
    /// The file name shown in messages (without directory).
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

pub fn is_valid_segment_size(size: u64) -> bool {
    size.is_power_of_two() && (MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&size)
}

/// Reads a whole file, decompressing it when its name ends in `.zst` or `.gz`; plain files are
/// memory-mapped.
pub fn load_file(path: &Path) -> Result<SegmentBytes, SegmentError> {
    let file = File::open(path).map_err(|source| SegmentError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path.to_string_lossy();
    let decompress_err = |source| SegmentError::Decompress {
        path: path.to_path_buf(),
        source,
    };
    if name.ends_with(".zst") {
        let mut out = Vec::new();
        zstd::stream::read::Decoder::new(file)
            .and_then(|mut d| d.read_to_end(&mut out))
            .map_err(decompress_err)?;
        Ok(SegmentBytes::Owned(out))
    } else if name.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut out)
            .map_err(decompress_err)?;
        Ok(SegmentBytes::Owned(out))
    } else {
        // SAFETY: WAL segment files are not modified in place once written, except the one
        // being written, whose tail we read as possibly incomplete and validate anyway.
        let map = unsafe { Mmap::map(&file) }.map_err(|source| SegmentError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(SegmentBytes::Mapped(map))
    }
}

/// Facts from a segment's first (long) page header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    pub version: PgVersion,
    pub seg_size: u64,
    pub sysid: u64,
}

/// Reads the long page header at the start of segment bytes.
pub fn segment_info(path: &Path, bytes: &[u8]) -> Result<SegmentInfo, SegmentError> {
    let not_wal = |reason: String| SegmentError::NotWal {
        path: path.to_path_buf(),
        reason,
    };
    let (_, header) = parse_page_header(bytes)
        .map_err(|_| not_wal(format!("file is only {} bytes long", bytes.len())))?;
    let version = PgVersion::from_page_magic(header.magic).ok_or_else(|| {
        not_wal(format!(
            "unknown page magic 0x{:04X} at offset 0 (known: 13–18)",
            header.magic
        ))
    })?;
    let long = match header.long {
        Some(long) if header.info & XLP_LONG_HEADER != 0 => long,
        _ => return Err(not_wal("first page has no long header".into())),
    };
    let seg_size = u64::from(long.seg_size);
    if !is_valid_segment_size(seg_size) {
        return Err(SegmentError::BadSegmentSize {
            path: path.to_path_buf(),
            size: seg_size,
        });
    }
    if long.xlog_blcksz as usize != super::record::BLCKSZ {
        return Err(not_wal(format!(
            "WAL block size is {} bytes, only 8192 is supported",
            long.xlog_blcksz
        )));
    }
    Ok(SegmentInfo {
        version,
        seg_size,
        sysid: long.sysid,
    })
}

/// Splits a file name like `000000010000000000000003.partial.zst` into its segment name part.
pub fn segment_name_part(file_name: &str) -> Option<&str> {
    let base = file_name.get(..24)?;
    let suffix = &file_name[24..];
    (parse_segment_file_name(base).is_some() && SUFFIXES.contains(&suffix)).then_some(base)
}

/// A directory of WAL segment files.
#[derive(Clone, Debug)]
pub struct WalDir {
    pub dir: PathBuf,
}

impl WalDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        WalDir { dir: dir.into() }
    }

    /// The path of a segment in whichever supported form exists.
    pub fn find(&self, tli: TimeLineId, segno: u64, seg_size: u64) -> Option<PathBuf> {
        let name = segment_file_name(tli, segno, seg_size);
        SUFFIXES
            .iter()
            .map(|s| self.dir.join(format!("{name}{s}")))
            .find(|p| p.is_file())
    }

    pub fn open(
        &self,
        tli: TimeLineId,
        segno: u64,
        seg_size: u64,
    ) -> Result<Option<Segment>, SegmentError> {
        let Some(path) = self.find(tli, segno, seg_size) else {
            return Ok(None);
        };
        let bytes = load_file(&path)?;
        Ok(Some(Segment {
            path,
            tli,
            segno,
            bytes,
        }))
    }

    /// Whether any segment of timeline `tli` numbered above `segno` exists (to tell a gap from
    /// the end of the available WAL).
    pub fn has_segment_after(&self, tli: TimeLineId, segno: u64, seg_size: u64) -> bool {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return false;
        };
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            segment_name_part(&name)
                .and_then(parse_segment_file_name)
                .is_some_and(|(t, log, seg)| {
                    t == tli && segno_from_parts(log, seg, seg_size) > segno
                })
        })
    }

    /// Finds the segment size by opening the segment that should hold `lsn` for each possible
    /// size and checking that its own header agrees; never guesses from an unrelated file.
    pub fn detect_segment_size(
        &self,
        tli: TimeLineId,
        lsn: u64,
    ) -> Result<Option<(u64, SegmentInfo)>, SegmentError> {
        let mut size = MIN_SEGMENT_SIZE;
        while size <= MAX_SEGMENT_SIZE {
            if let Some(path) = self.find(tli, lsn / size, size) {
                let bytes = load_file(&path)?;
                let info = segment_info(&path, &bytes)?;
                if info.seg_size == size {
                    return Ok(Some((size, info)));
                }
            }
            size <<= 1;
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_parts() {
        assert_eq!(
            segment_name_part("000000010000000000000003.partial.zst"),
            Some("000000010000000000000003")
        );
        assert_eq!(
            segment_name_part("000000010000000000000003"),
            Some("000000010000000000000003")
        );
        assert_eq!(segment_name_part("000000010000000000000003.bak"), None);
        assert_eq!(segment_name_part("00000002.history"), None);
        assert!(is_valid_segment_size(1 << 24));
        assert!(!is_valid_segment_size(3 << 20));
        assert!(!is_valid_segment_size(1 << 31));
    }
}
