//! Working out where to read and what range, from `-p`, `STARTSEG`, `ENDSEG`, `-s`, `-e`, `-t`,
//! the way pg_waldump does (`identify_target_directory` and its argument checks).

use std::path::{Path, PathBuf};

use crate::wal::lsn::{parse_segment_file_name, segno_from_parts, Lsn, TimeLineId};
use crate::wal::segment::{load_file, segment_info, segment_name_part, SegmentInfo, WalDir};

use super::DumpError;
use crate::wal::reader::Reader;

/// Where and what to read.
#[derive(Clone, Debug)]
pub struct Range {
    pub dir: PathBuf,
    pub tli: TimeLineId,
    pub start: Lsn,
    pub end: Option<Lsn>,
    pub seg_size: u64,
    pub info: SegmentInfo,
}

impl Range {
    /// A reader of the range's WAL, stopping at its end.
    pub fn reader(&self) -> Reader {
        let mut reader =
            Reader::with_info(WalDir::new(&self.dir), self.tli, self.info, self.seg_size);
        reader.set_end(self.end);
        reader
    }
}

/// The user's request before resolution.
#[derive(Clone, Debug, Default)]
pub struct RangeRequest {
    pub path: Option<PathBuf>,
    pub start_seg: Option<String>,
    pub end_seg: Option<String>,
    pub start: Option<Lsn>,
    pub end: Option<Lsn>,
    pub timeline: Option<TimeLineId>,
}

fn split_path(arg: &str) -> (Option<PathBuf>, String) {
    match arg.rfind('/') {
        Some(i) => (Some(PathBuf::from(&arg[..i])), arg[i + 1..].to_string()),
        None => (None, arg.to_string()),
    }
}

/// Candidate directories in pg_waldump's order.
fn candidate_dirs(path: Option<&Path>) -> Vec<PathBuf> {
    match path {
        Some(p) => vec![p.to_path_buf(), p.join("pg_wal")],
        None => {
            let mut v = vec![PathBuf::from("."), PathBuf::from("pg_wal")];
            if let Some(pgdata) = std::env::var_os("PGDATA") {
                v.push(PathBuf::from(pgdata).join("pg_wal"));
            }
            v
        }
    }
}

/// The file for a segment argument: the name as given, or else a `.partial`/compressed copy
/// of it (so archives can be read with plain segment names).
fn existing_form(dir: &Path, fname: &str) -> Option<PathBuf> {
    let plain = dir.join(fname);
    if plain.is_file() {
        return Some(plain);
    }
    let (tli, log, seg) = parse_segment_file_name(fname)?;
    // Any valid segment size maps the name to a number and back to the same name.
    let size = crate::wal::segment::MIN_SEGMENT_SIZE;
    WalDir::new(dir).find(tli, segno_from_parts(log, seg, size), size)
}

/// Reads a segment file's long header, for its size, version and system identifier.
fn info_of(path: &Path) -> Result<SegmentInfo, DumpError> {
    let bytes = load_file(path)?;
    Ok(segment_info(path, &bytes)?)
}

pub fn resolve(req: &RangeRequest) -> Result<Range, DumpError> {
    if let Some(p) = &req.path {
        if !p.is_dir() {
            return Err(DumpError::Usage(format!(
                "could not open directory \"{}\": not a directory or does not exist",
                p.display()
            )));
        }
    }
    let Some(start_arg) = &req.start_seg else {
        return resolve_without_files(req);
    };
    let (arg_dir, fname) = split_path(start_arg);
    let path = req.path.clone().or(arg_dir);
    let (dir, file) = candidate_dirs(path.as_deref())
        .into_iter()
        .find_map(|d| existing_form(&d, &fname).map(|f| (d, f)))
        .ok_or_else(|| DumpError::Usage(format!("could not locate WAL file \"{fname}\"")))?;
    let (tli, log, seg) = segment_name_part(&fname)
        .and_then(parse_segment_file_name)
        .ok_or_else(|| {
            DumpError::Usage(format!(
                "\"{fname}\" is not a WAL segment file name (24 hexadecimal digits, optionally .partial, .zst or .gz)"
            ))
        })?;
    let info = info_of(&file)?;
    let seg_size = info.seg_size;
    let segno = segno_from_parts(log, seg, seg_size);
    let seg_start = Lsn(segno * seg_size);
    let start = match req.start {
        None => seg_start,
        Some(s) if s.0 / seg_size == segno => s,
        Some(s) => {
            return Err(DumpError::Usage(format!(
                "start WAL location {s} is not inside file \"{fname}\""
            )))
        }
    };
    let mut tli = tli;
    let mut last_segno = segno;
    let mut end = req.end;
    let mut last_arg = start_arg.clone();
    if let Some(end_arg) = &req.end_seg {
        let (_, end_name) = split_path(end_arg);
        if existing_form(&dir, &end_name).is_none() {
            return Err(DumpError::Usage(format!(
                "could not open file \"{end_name}\""
            )));
        }
        let (etli, elog, eseg) = segment_name_part(&end_name)
            .and_then(parse_segment_file_name)
            .ok_or_else(|| {
                DumpError::Usage(format!("\"{end_name}\" is not a WAL segment file name"))
            })?;
        let endsegno = segno_from_parts(elog, eseg, seg_size);
        if endsegno < segno {
            return Err(DumpError::Usage(format!(
                "ENDSEG {end_arg} is before STARTSEG {start_arg}"
            )));
        }
        tli = etli;
        last_segno = endsegno;
        last_arg = end_arg.clone();
    }
    if end.is_none() {
        end = Some(Lsn((last_segno + 1) * seg_size));
    }
    let e = end.expect("set above");
    if e.0 / seg_size != last_segno && e.0 != (last_segno + 1) * seg_size {
        return Err(DumpError::Usage(format!(
            "end WAL location {e} is not inside file \"{last_arg}\""
        )));
    }
    // As in pg_waldump, the timeline in the file name wins over -t.
    Ok(Range {
        dir,
        tli,
        start,
        end,
        seg_size,
        info,
    })
}

fn resolve_without_files(req: &RangeRequest) -> Result<Range, DumpError> {
    let start = req
        .start
        .ok_or_else(|| DumpError::Usage("no start WAL location given".into()))?;
    let tli = req.timeline.unwrap_or(1);
    for dir in candidate_dirs(req.path.as_deref()) {
        if !dir.is_dir() {
            continue;
        }
        let wal = WalDir::new(&dir);
        if let Some((seg_size, info)) = wal.detect_segment_size(tli, start.0)? {
            return Ok(Range {
                dir,
                tli,
                start,
                end: req.end,
                seg_size,
                info,
            });
        }
    }
    Err(DumpError::Usage(format!(
        "could not find the WAL segment holding {start} on timeline {tli} in {}",
        candidate_dirs(req.path.as_deref())
            .iter()
            .map(|d| format!("\"{}\"", d.display()))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}
