//! Looking into LCR files (`pglcr lcr dump`, `ls`, `verify`): their frames as test_decoding
//! text or JSON lines, a one-line summary per file, and a check of a file or a whole stream.

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::format::{
    Begin, Datum, Frame, Header, RelationInfo, Trailer, COL_KEY, COL_NOT_NULL, COL_PRIMARY_KEY,
    FLAG_CONTINUED, FLAG_CONTINUES,
};
use super::{list_dir, LcrError, LcrFile, LcrName};
use crate::output::ident::{push_qualified_identifier, push_quoted_identifier};
use crate::wal::lsn::Lsn;

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("could not read \"{}\": {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Lcr(#[from] LcrError),
    #[error("could not write output: {0}")]
    Write(std::io::Error),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpFormat {
    /// test_decoding's lines (with include-xids), one per frame; RELATION frames print nothing.
    Text,
    /// One JSON object per frame and line, with a "kind" key.
    Json,
}

/// Prints a file's frames. A frame the output cannot be made of (a change of a relation not
/// declared before it, a tuple not matching its relation, a COMMIT without BEGIN) stops the
/// dump with an error naming the file and frame; what came before it is written.
pub fn dump(file: &LcrFile, format: DumpFormat, out: &mut dyn Write) -> Result<(), InspectError> {
    let mut out = std::io::BufWriter::new(out);
    let mut d = Dumper {
        path: &file.path,
        major: file.header.server_version_num / 10000,
        rels: FxHashMap::default(),
        xid: None,
    };
    let mut line = Vec::new();
    let mut result = Ok(());
    for (n, frame) in (1u64..).zip(file.frames()) {
        line.clear();
        result = frame
            .map_err(InspectError::from)
            .and_then(|frame| d.frame(n, frame, format, &mut line));
        if result.is_err() {
            break;
        }
        out.write_all(&line).map_err(InspectError::Write)?;
    }
    // What was dumped before a bad frame is still worth seeing.
    out.flush().map_err(InspectError::Write)?;
    result
}

/// A declared relation, with its names quoted as test_decoding quotes them.
struct Rel {
    info: RelationInfo,
    /// `schema.name`.
    table: String,
    /// ` name[type]:` per column.
    headers: Vec<String>,
}

struct Dumper<'f> {
    path: &'f Path,
    major: u32,
    rels: FxHashMap<u32, Rel>,
    /// The open transaction, whose xid the COMMIT line shows.
    xid: Option<u32>,
}

impl Dumper<'_> {
    fn invalid(&self, n: u64, what: String) -> InspectError {
        InspectError::Lcr(LcrError::Invalid {
            path: self.path.to_path_buf(),
            what: format!("frame {n}: {what}"),
        })
    }

    fn declare(&mut self, info: RelationInfo) {
        let mut table = String::new();
        push_qualified_identifier(&mut table, &info.namespace, &info.name, self.major);
        let headers = info
            .columns
            .iter()
            .map(|c| {
                let mut h = String::from(" ");
                push_quoted_identifier(&mut h, &c.name, self.major);
                h.push('[');
                h.push_str(&c.type_name_plain);
                h.push_str("]:");
                h
            })
            .collect();
        self.rels.insert(
            info.oid,
            Rel {
                info,
                table,
                headers,
            },
        );
    }

    /// The relation a change refers to, its tuples checked against its columns.
    fn rel(&self, n: u64, oid: u32, tuples: &[Option<&Vec<Datum>>]) -> Result<&Rel, InspectError> {
        let rel = self.rels.get(&oid).ok_or_else(|| {
            self.invalid(
                n,
                format!("relation {oid} is used before its RELATION frame"),
            )
        })?;
        for t in tuples.iter().flatten() {
            if t.len() != rel.info.columns.len() {
                return Err(self.invalid(
                    n,
                    format!(
                        "a tuple of {} values for relation {oid}, which has {} columns",
                        t.len(),
                        rel.info.columns.len()
                    ),
                ));
            }
        }
        Ok(rel)
    }

    fn frame(
        &mut self,
        n: u64,
        frame: Frame,
        format: DumpFormat,
        line: &mut Vec<u8>,
    ) -> Result<(), InspectError> {
        let commit_xid = match &frame {
            Frame::Begin(b) => {
                self.xid = Some(b.xid);
                None
            }
            Frame::Commit { .. } => Some(
                self.xid
                    .take()
                    .ok_or_else(|| self.invalid(n, "COMMIT without a BEGIN".into()))?,
            ),
            _ => None,
        };
        match format {
            DumpFormat::Text => self.text(n, &frame, commit_xid, line)?,
            DumpFormat::Json => self.json(n, &frame, commit_xid, line)?,
        }
        if let Frame::Relation(info) = frame {
            self.declare(info);
        }
        Ok(())
    }

    /// test_decoding's line for a frame (`pg_decode_*` callbacks with include-xids).
    fn text(
        &self,
        n: u64,
        frame: &Frame,
        commit_xid: Option<u32>,
        line: &mut Vec<u8>,
    ) -> Result<(), InspectError> {
        let table = |line: &mut Vec<u8>, rel: &Rel, what: &str| {
            line.extend_from_slice(b"table ");
            line.extend_from_slice(rel.table.as_bytes());
            line.extend_from_slice(what.as_bytes());
        };
        match frame {
            Frame::Relation(_) => return Ok(()),
            Frame::Begin(b) => {
                line.extend_from_slice(format!("BEGIN {}", b.xid).as_bytes());
                if b.continued {
                    line.extend_from_slice(b" (continued)");
                }
            }
            Frame::Insert { rel, new, .. } => {
                let rel = self.rel(n, *rel, &[Some(new)])?;
                table(line, rel, ": INSERT:");
                push_tuple(line, rel, new, false);
            }
            Frame::Update { rel, old, new, .. } => {
                let rel = self.rel(n, *rel, &[old.as_ref(), new.as_ref()])?;
                table(line, rel, ": UPDATE:");
                if let Some(old) = old {
                    line.extend_from_slice(b" old-key:");
                    push_tuple(line, rel, old, true);
                    line.extend_from_slice(b" new-tuple:");
                }
                match new {
                    Some(new) => push_tuple(line, rel, new, false),
                    None => line.extend_from_slice(b" (no-tuple-data)"),
                }
            }
            Frame::Delete { rel, old, .. } => {
                let rel = self.rel(n, *rel, &[old.as_ref()])?;
                table(line, rel, ": DELETE:");
                match old {
                    Some(old) => push_tuple(line, rel, old, true),
                    None => line.extend_from_slice(b" (no-tuple-data)"),
                }
            }
            Frame::Truncate {
                cascade,
                restart_seqs,
                rels,
                ..
            } => {
                line.extend_from_slice(b"table ");
                for (i, oid) in rels.iter().enumerate() {
                    if i > 0 {
                        line.extend_from_slice(b", ");
                    }
                    line.extend_from_slice(self.rel(n, *oid, &[])?.table.as_bytes());
                }
                line.extend_from_slice(b": TRUNCATE:");
                if *restart_seqs {
                    line.extend_from_slice(b" restart_seqs");
                }
                if *cascade {
                    line.extend_from_slice(b" cascade");
                }
                if !restart_seqs && !cascade {
                    line.extend_from_slice(b" (no-flags)");
                }
            }
            Frame::Message {
                transactional,
                prefix,
                content,
                ..
            } => {
                // Prefix and content as they are, as test_decoding prints them.
                line.extend_from_slice(b"message: transactional: ");
                line.push(if *transactional { b'1' } else { b'0' });
                line.extend_from_slice(b" prefix: ");
                line.extend_from_slice(prefix);
                line.extend_from_slice(format!(", sz: {} content:", content.len()).as_bytes());
                line.extend_from_slice(content);
            }
            Frame::Commit { .. } => {
                line.extend_from_slice(format!("COMMIT {}", commit_xid.unwrap_or(0)).as_bytes());
            }
        }
        line.push(b'\n');
        Ok(())
    }

    fn json(
        &self,
        n: u64,
        frame: &Frame,
        commit_xid: Option<u32>,
        line: &mut Vec<u8>,
    ) -> Result<(), InspectError> {
        let lsn = |l: &Lsn| l.to_string();
        let origin = |o: u16| (o != 0).then_some(o);
        let j = match frame {
            Frame::Relation(r) => JsonFrame::Relation {
                relid: r.oid,
                schema: &r.namespace,
                table: &r.name,
                replica_identity: char::from(r.replica_identity).to_string(),
                columns: r
                    .columns
                    .iter()
                    .map(|c| JsonColumn {
                        attnum: c.attnum,
                        name: &c.name,
                        type_oid: c.type_oid,
                        typmod: c.typmod,
                        type_name: &c.type_name,
                        type_name_plain: &c.type_name_plain,
                        key: c.flags & COL_KEY != 0,
                        not_null: c.flags & COL_NOT_NULL != 0,
                        primary_key: c.flags & COL_PRIMARY_KEY != 0,
                    })
                    .collect(),
            },
            Frame::Begin(b) => JsonFrame::Begin {
                xid: b.xid,
                commit_lsn: lsn(&b.commit_lsn),
                end_lsn: lsn(&b.end_lsn),
                commit_time: b.commit_time,
                commit_time_iso: iso_time(b.commit_time),
                origin: origin(b.origin),
                origin_lsn: lsn(&b.origin_lsn),
                first_lsn: lsn(&b.first_lsn),
                continued: b.continued,
            },
            Frame::Insert { rel, lsn: l, new } => {
                let r = self.rel(n, *rel, &[Some(new)])?;
                JsonFrame::Insert {
                    lsn: lsn(l),
                    relid: *rel,
                    schema: &r.info.namespace,
                    table: &r.info.name,
                    new: json_tuple(r, new),
                }
            }
            Frame::Update {
                rel,
                lsn: l,
                old,
                new,
            } => {
                let r = self.rel(n, *rel, &[old.as_ref(), new.as_ref()])?;
                JsonFrame::Update {
                    lsn: lsn(l),
                    relid: *rel,
                    schema: &r.info.namespace,
                    table: &r.info.name,
                    old: old.as_ref().map(|t| json_tuple(r, t)),
                    new: new.as_ref().map(|t| json_tuple(r, t)),
                }
            }
            Frame::Delete { rel, lsn: l, old } => {
                let r = self.rel(n, *rel, &[old.as_ref()])?;
                JsonFrame::Delete {
                    lsn: lsn(l),
                    relid: *rel,
                    schema: &r.info.namespace,
                    table: &r.info.name,
                    old: old.as_ref().map(|t| json_tuple(r, t)),
                }
            }
            Frame::Truncate {
                lsn: l,
                cascade,
                restart_seqs,
                rels,
            } => JsonFrame::Truncate {
                lsn: lsn(l),
                cascade: *cascade,
                restart_seqs: *restart_seqs,
                relations: rels
                    .iter()
                    .map(|oid| {
                        self.rel(n, *oid, &[]).map(|r| JsonRelName {
                            relid: *oid,
                            schema: &r.info.namespace,
                            table: &r.info.name,
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
            Frame::Message {
                lsn: l,
                transactional,
                xid,
                origin: o,
                prefix,
                content,
            } => {
                let text = std::str::from_utf8(content).ok();
                JsonFrame::Message {
                    lsn: lsn(l),
                    transactional: *transactional,
                    xid: *xid,
                    origin: origin(*o),
                    prefix: String::from_utf8_lossy(prefix),
                    size: content.len(),
                    content: text,
                    content_hex: text.is_none().then(|| hex(content)),
                }
            }
            Frame::Commit {
                commit_lsn,
                end_lsn,
                commit_time,
                changes,
            } => JsonFrame::Commit {
                xid: commit_xid.unwrap_or(0),
                commit_lsn: lsn(commit_lsn),
                end_lsn: lsn(end_lsn),
                commit_time: *commit_time,
                commit_time_iso: iso_time(*commit_time),
                changes: *changes,
            },
        };
        serde_json::to_writer(&mut *line, &j).map_err(|e| InspectError::Write(e.into()))?;
        line.push(b'\n');
        Ok(())
    }
}

/// test_decoding's `tuple_to_stringinfo`; old keys leave NULLs out.
fn push_tuple(line: &mut Vec<u8>, rel: &Rel, t: &[Datum], skip_nulls: bool) {
    for ((col, header), d) in rel.info.columns.iter().zip(&rel.headers).zip(t) {
        if skip_nulls && *d == Datum::Null {
            continue;
        }
        line.extend_from_slice(header.as_bytes());
        match d {
            Datum::Null => line.extend_from_slice(b"null"),
            Datum::UnchangedToast => line.extend_from_slice(b"unchanged-toast-datum"),
            Datum::Text(v) => print_literal(line, col.type_oid, v),
        }
    }
}

/// test_decoding's `print_literal`: numbers bare, bits as B'…', booleans as true/false, the
/// rest quoted. Works on bytes, so values print as stored whatever their encoding.
fn print_literal(line: &mut Vec<u8>, type_oid: u32, text: &[u8]) {
    use crate::catalog::type_oids::*;
    match type_oid {
        INT2 | INT4 | INT8 | OID | FLOAT4 | FLOAT8 | NUMERIC => line.extend_from_slice(text),
        BIT | VARBIT => {
            line.extend_from_slice(b"B'");
            line.extend_from_slice(text);
            line.push(b'\'');
        }
        BOOL => line.extend_from_slice(if text == b"t" { b"true" } else { b"false" }),
        _ => {
            line.push(b'\'');
            for &c in text {
                if c == b'\'' {
                    line.push(c);
                }
                line.push(c);
            }
            line.push(b'\'');
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum JsonFrame<'a> {
    Relation {
        relid: u32,
        schema: &'a str,
        table: &'a str,
        replica_identity: String,
        columns: Vec<JsonColumn<'a>>,
    },
    Begin {
        xid: u32,
        commit_lsn: String,
        end_lsn: String,
        commit_time: i64,
        commit_time_iso: Option<String>,
        origin: Option<u16>,
        origin_lsn: String,
        first_lsn: String,
        continued: bool,
    },
    Insert {
        lsn: String,
        relid: u32,
        schema: &'a str,
        table: &'a str,
        new: Vec<JsonValue<'a>>,
    },
    Update {
        lsn: String,
        relid: u32,
        schema: &'a str,
        table: &'a str,
        old: Option<Vec<JsonValue<'a>>>,
        new: Option<Vec<JsonValue<'a>>>,
    },
    Delete {
        lsn: String,
        relid: u32,
        schema: &'a str,
        table: &'a str,
        old: Option<Vec<JsonValue<'a>>>,
    },
    Truncate {
        lsn: String,
        cascade: bool,
        restart_seqs: bool,
        relations: Vec<JsonRelName<'a>>,
    },
    Message {
        lsn: String,
        transactional: bool,
        xid: u32,
        origin: Option<u16>,
        prefix: Cow<'a, str>,
        size: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        content_hex: Option<String>,
    },
    Commit {
        xid: u32,
        commit_lsn: String,
        end_lsn: String,
        commit_time: i64,
        commit_time_iso: Option<String>,
        changes: u64,
    },
}

#[derive(Serialize)]
struct JsonColumn<'a> {
    attnum: i16,
    name: &'a str,
    type_oid: u32,
    typmod: i32,
    type_name: &'a str,
    type_name_plain: &'a str,
    key: bool,
    not_null: bool,
    primary_key: bool,
}

#[derive(Serialize)]
struct JsonRelName<'a> {
    relid: u32,
    schema: &'a str,
    table: &'a str,
}

#[derive(Serialize)]
struct JsonValue<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    type_name: &'a str,
    value: JsonDatum<'a>,
}

/// null, the text as a string, or `{"unchanged_toast":true}`.
enum JsonDatum<'a> {
    Null,
    UnchangedToast,
    Text(Cow<'a, str>),
}

impl Serialize for JsonDatum<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            JsonDatum::Null => s.serialize_none(),
            JsonDatum::Text(t) => s.serialize_str(t),
            JsonDatum::UnchangedToast => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("unchanged_toast", &true)?;
                m.end()
            }
        }
    }
}

fn json_tuple<'a>(rel: &'a Rel, t: &'a [Datum]) -> Vec<JsonValue<'a>> {
    rel.info
        .columns
        .iter()
        .zip(t)
        .map(|(c, d)| JsonValue {
            name: &c.name,
            type_name: &c.type_name,
            value: match d {
                Datum::Null => JsonDatum::Null,
                Datum::UnchangedToast => JsonDatum::UnchangedToast,
                Datum::Text(v) => JsonDatum::Text(String::from_utf8_lossy(v)),
            },
        })
        .collect()
}

/// A commit time (µs since 2000-01-01 UTC) in RFC 3339, `None` when out of range.
fn iso_time(pg_micros: i64) -> Option<String> {
    const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;
    let unix = pg_micros.checked_add(PG_EPOCH_UNIX_MICROS)?;
    Some(jiff::Timestamp::from_microsecond(unix).ok()?.to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One line of `pglcr lcr ls`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSummary {
    pub name: String,
    pub size: u64,
    pub first_lsn: Lsn,
    pub last_lsn: Lsn,
    pub transactions: u64,
    pub changes: u64,
    pub messages: u64,
    pub flags: u16,
}

/// The LCR files of `dir` in name order, summarized from their headers and trailers (the
/// blocks are neither read nor checked: that is [`verify`]'s job).
pub fn ls(dir: &Path) -> Result<Vec<FileSummary>, InspectError> {
    let files = list_dir(dir).map_err(|source| InspectError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    files
        .iter()
        .map(|(name, path)| {
            let (header, trailer, size) = LcrFile::read_ends(path)?;
            Ok(FileSummary {
                name: name.to_string(),
                size,
                first_lsn: header.first_lsn,
                last_lsn: header.last_lsn,
                transactions: trailer.transactions,
                changes: trailer.changes,
                messages: trailer.messages,
                flags: header.flags,
            })
        })
        .collect()
}

/// The column titles above [`format_ls_line`]'s lines.
pub fn ls_header() -> String {
    ls_columns("NAME", "COMMIT LSNS", "XACTS", "CHANGES", "BYTES", "CONT")
}

/// One line per file: name, LSNs of its first and last commit (`first..last`), transactions
/// begun in it, changes, size in bytes, and where its transactions cross file boundaries:
/// `+` when it starts inside a transaction begun in the previous file (CONTINUED), `>` when
/// its last transaction continues in the next file (CONTINUES).
pub fn format_ls_line(s: &FileSummary) -> String {
    let marker = format!(
        "{}{}",
        if s.flags & FLAG_CONTINUED != 0 {
            '+'
        } else {
            ' '
        },
        if s.flags & FLAG_CONTINUES != 0 {
            '>'
        } else {
            ' '
        }
    );
    ls_columns(
        &s.name,
        &format!("{}..{}", s.first_lsn, s.last_lsn),
        &s.transactions.to_string(),
        &s.changes.to_string(),
        &s.size.to_string(),
        &marker,
    )
}

fn ls_columns(
    name: &str,
    lsns: &str,
    xacts: &str,
    changes: &str,
    bytes: &str,
    cont: &str,
) -> String {
    // 40 = an LCR file name, 36 = two LSNs at their longest and "..".
    format!("{name:<40}  {lsns:<36}  {xacts:>9}  {changes:>11}  {bytes:>12}  {cont}")
        .trim_end()
        .to_string()
}

/// What `pglcr lcr verify` found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub files: usize,
    /// Frames read without error.
    pub frames: u64,
    /// One line per problem, each starting with the path of the file it is about.
    pub problems: Vec<String>,
}

/// Checks files, and directories as LCR streams. Every file: checksums, trailer counts and
/// resume fields, header against name, frames well nested and their relations declared.
/// The files of a directory also: each file preceded by the one its header says was written
/// before it (so none is missing in between), each file flagged
/// CONTINUES followed by its continuation, commit LSNs never going backwards, no file
/// starting before the LSN the previous one says decoding resumes at. The last file of a
/// directory may be flagged CONTINUES: its continuation may not be written yet.
///
/// Frames are counted from 1 in problem texts. Only a directory that cannot be listed is an
/// error; everything else is a problem in the report.
pub fn verify(paths: &[PathBuf]) -> Result<VerifyReport, InspectError> {
    let mut report = VerifyReport::default();
    for path in paths {
        if path.is_dir() {
            let files = list_dir(path).map_err(|source| InspectError::Io {
                path: path.clone(),
                source,
            })?;
            verify_stream(path, &files, &mut report);
        } else {
            check_file(path, &mut report);
        }
    }
    Ok(report)
}

/// What the checks across files need to know of a file.
struct Facts {
    header: Header,
    trailer: Trailer,
    /// Every frame was read, so the fields below are known.
    complete: bool,
    /// The continued BEGIN the file starts with.
    continued: Option<Begin>,
    /// The transaction still open at the end of the file.
    open_at_end: Option<Begin>,
}

fn verify_stream(dir: &Path, files: &[(LcrName, PathBuf)], report: &mut VerifyReport) {
    let mut prev: Option<(LcrName, &Path, Option<Facts>)> = None;
    for (name, path) in files {
        let facts = check_file(path, report);
        if let (Some((pname, ppath, pfacts)), Some(f)) = (&prev, &facts) {
            check_chain(
                dir,
                (*pname, ppath, pfacts.as_ref()),
                (*name, path, f),
                report,
            );
        }
        if let (Some((pname, ppath, Some(pf))), Some(f)) = (&prev, &facts) {
            if pname.timeline == name.timeline {
                check_pair((*pname, ppath, pf), (*name, path, f), &mut report.problems);
            }
        }
        prev = Some((*name, path, facts));
    }
}

/// Checks that the file before `name` in the directory is the one its header says was written
/// before it, so that no file in between is missing.
fn check_chain(
    dir: &Path,
    (pname, ppath, pf): (LcrName, &Path, Option<&Facts>),
    (name, path, f): (LcrName, &Path, &Facts),
    report: &mut VerifyReport,
) {
    match f.header.previous {
        None => report.problems.push(format!(
            "{}: begins a stream of its own, but follows {}",
            path.display(),
            ppath.display()
        )),
        Some(previous) if previous != pname => report.problems.push(format!(
            "{}: missing: {name} was written after it, but follows {pname} here",
            dir.join(previous.to_string()).display()
        )),
        Some(_) => {
            let after = f.header.previous_commit_end;
            if let Some(end) = pf
                .map(|pf| pf.trailer.commit_end)
                .filter(|end| *end != after)
            {
                report.problems.push(format!(
                    "{}: was written after commits up to {after}, but {} ends with commits up to {end}",
                    path.display(),
                    ppath.display(),
                ));
            }
        }
    }
}

/// Checks a file against the one before it in its directory.
fn check_pair(
    (pname, ppath, pf): (LcrName, &Path, &Facts),
    (name, path, f): (LcrName, &Path, &Facts),
    problems: &mut Vec<String>,
) {
    let adjacent = name.segno == pname.segno && name.subseg == pname.subseg + 1;
    let continues = pf.header.flags & FLAG_CONTINUES != 0;
    let continued = f.header.flags & FLAG_CONTINUED != 0;
    let mut problem = |p: &Path, what: String| problems.push(format!("{}: {what}", p.display()));
    if continues && !adjacent {
        problem(
            ppath,
            format!(
                "flagged CONTINUES, but the next file, {name}, is not sub-segment {} of the same WAL segment",
                pname.subseg + 1
            ),
        );
    } else if continues && !continued {
        problem(
            ppath,
            format!(
                "flagged CONTINUES, but the next file {} is not flagged CONTINUED",
                path.display()
            ),
        );
    } else if !continues && adjacent && continued {
        problem(
            path,
            format!(
                "flagged CONTINUED, but the previous file {} is not flagged CONTINUES",
                ppath.display()
            ),
        );
    } else if continues && pf.complete && f.complete {
        if let (Some(a), Some(b)) = (&pf.open_at_end, &f.continued) {
            if (a.xid, a.commit_lsn) != (b.xid, b.commit_lsn) {
                problem(
                    path,
                    format!(
                        "continues transaction {} (commit LSN {}), but {} ends inside transaction {} (commit LSN {})",
                        b.xid,
                        b.commit_lsn,
                        ppath.display(),
                        a.xid,
                        a.commit_lsn
                    ),
                );
            }
        }
    }
    let (last, first) = (pf.header.last_lsn, f.header.first_lsn);
    if first != Lsn(0) && first < last {
        problem(
            path,
            format!(
                "first commit LSN {first} is before the last one ({last}) of the previous file {}",
                ppath.display()
            ),
        );
    }
    let resume = pf.trailer.resume_lsn;
    if first != Lsn(0) && first < resume {
        problem(
            path,
            format!(
                "first commit LSN {first} is before {resume}, where the previous file {} says decoding resumes",
                ppath.display()
            ),
        );
    }
}

/// Checks one file on its own; `None` when it cannot be opened.
fn check_file(path: &Path, report: &mut VerifyReport) -> Option<Facts> {
    report.files += 1;
    let problem = |what: String| format!("{}: {what}", path.display());
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(LcrName::parse);
    if name.is_none() {
        report.problems.push(problem(
            "not an LCR file name (40 hex digits: timeline, WAL segment, sub-segment)".into(),
        ));
    }
    let file = match LcrFile::open(path) {
        Ok(f) => f,
        Err(e) => {
            report.problems.push(problem(lcr_problem(&e)));
            return None;
        }
    };
    let h = &file.header;
    if let Some(n) = name {
        if (h.timeline, h.segno, h.subseg) != (n.timeline, n.segno, n.subseg) {
            report.problems.push(problem(format!(
                "the header says timeline {}, WAL segment {:X}, sub-segment {}; the name timeline {}, WAL segment {:X}, sub-segment {}",
                h.timeline, h.segno, h.subseg, n.timeline, n.segno, n.subseg
            )));
        }
    }
    if h.flags & FLAG_CONTINUED != 0 && h.subseg == 0 {
        report.problems.push(problem(
            "flagged CONTINUED, but a transaction only continues in the next sub-segment of its WAL segment, and this is the first".into(),
        ));
    }
    let mut walk = Walk {
        path,
        flags: h.flags,
        problems: Vec::new(),
        frames: 0,
        transactions: 0,
        changes: 0,
        messages: 0,
        rels: FxHashMap::default(),
        open: None,
        txn_changes: 0,
        continued: None,
        first_event: None,
        last_event: None,
    };
    let mut complete = true;
    for frame in file.frames() {
        match frame {
            Ok(frame) => {
                walk.frames += 1;
                walk.frame(walk.frames, &frame);
            }
            Err(e) => {
                walk.problem(lcr_problem(&e));
                complete = false;
            }
        }
    }
    if complete {
        walk.finish(&file.header, &file.trailer);
    }
    report.frames += walk.frames;
    report.problems.append(&mut walk.problems);
    Some(Facts {
        continued: walk.continued,
        open_at_end: walk.open,
        complete,
        header: file.header,
        trailer: file.trailer,
    })
}

/// An [`LcrError`] without the path, which the problem starts with already.
fn lcr_problem(e: &LcrError) -> String {
    match e {
        LcrError::Io { source, .. } => format!("could not read: {source}"),
        LcrError::Format { source, .. } => source.to_string(),
        LcrError::Invalid { what, .. } => what.clone(),
    }
}

/// The frames of a file as they are read, and what they should add up to.
struct Walk<'a> {
    path: &'a Path,
    flags: u16,
    problems: Vec<String>,
    frames: u64,
    transactions: u64,
    changes: u64,
    messages: u64,
    /// Declared relations and their column counts.
    rels: FxHashMap<u32, usize>,
    open: Option<Begin>,
    /// Changes of the open transaction in this file.
    txn_changes: u64,
    continued: Option<Begin>,
    /// Commit LSNs of BEGINs and LSNs of non-transactional messages.
    first_event: Option<Lsn>,
    last_event: Option<Lsn>,
}

impl Walk<'_> {
    fn problem(&mut self, what: String) {
        self.problems
            .push(format!("{}: {what}", self.path.display()));
    }

    fn event(&mut self, n: u64, lsn: Lsn) {
        if let Some(last) = self.last_event.filter(|&l| lsn < l) {
            self.problem(format!(
                "frame {n}: commit LSN {lsn} goes backwards (after {last})"
            ));
        }
        self.first_event.get_or_insert(lsn);
        self.last_event = Some(lsn);
    }

    /// A change: inside a transaction, of declared relations, with tuples of their width.
    fn change(
        &mut self,
        n: u64,
        what: &str,
        lsn: Lsn,
        rel: Option<u32>,
        tuples: &[Option<&Vec<Datum>>],
    ) {
        self.changes += 1;
        match &self.open {
            Some(_) => self.txn_changes += 1,
            None => self.problem(format!("frame {n}: {what} at {lsn} outside a transaction")),
        }
        let Some(rel) = rel else { return };
        match self.rels.get(&rel).copied() {
            None => self.problem(format!(
                "frame {n}: {what} at {lsn} of relation {rel}, which no RELATION frame before it declares"
            )),
            Some(columns) => {
                for t in tuples.iter().flatten() {
                    if t.len() != columns {
                        self.problem(format!(
                            "frame {n}: {what} at {lsn} has a tuple of {} values, relation {rel} {columns} columns",
                            t.len()
                        ));
                    }
                }
            }
        }
    }

    fn frame(&mut self, n: u64, frame: &Frame) {
        let flagged_continued = self.flags & FLAG_CONTINUED != 0;
        if n == 1 && flagged_continued && !matches!(frame, Frame::Begin(b) if b.continued) {
            self.problem("flagged CONTINUED, but its first frame is not a continued BEGIN".into());
        }
        match frame {
            Frame::Relation(r) => {
                self.rels.insert(r.oid, r.columns.len());
            }
            Frame::Begin(b) => {
                if b.continued {
                    if n == 1 && flagged_continued {
                        self.continued = Some(b.clone());
                    } else {
                        self.problem(format!(
                            "frame {n}: continued BEGIN of transaction {} (commit LSN {}) other than at the start of a file flagged CONTINUED",
                            b.xid, b.commit_lsn
                        ));
                    }
                } else {
                    self.transactions += 1;
                }
                if let Some(o) = &self.open {
                    let what = format!(
                        "frame {n}: BEGIN of transaction {} (commit LSN {}) inside transaction {} (commit LSN {})",
                        b.xid, b.commit_lsn, o.xid, o.commit_lsn
                    );
                    self.problem(what);
                }
                self.event(n, b.commit_lsn);
                self.open = Some(b.clone());
                self.txn_changes = 0;
            }
            Frame::Insert { rel, lsn, new } => {
                self.change(n, "INSERT", *lsn, Some(*rel), &[Some(new)]);
            }
            Frame::Update { rel, lsn, old, new } => {
                self.change(n, "UPDATE", *lsn, Some(*rel), &[old.as_ref(), new.as_ref()]);
            }
            Frame::Delete { rel, lsn, old } => {
                self.change(n, "DELETE", *lsn, Some(*rel), &[old.as_ref()]);
            }
            Frame::Truncate { lsn, rels, .. } => {
                self.change(n, "TRUNCATE", *lsn, None, &[]);
                for rel in rels {
                    if !self.rels.contains_key(rel) {
                        self.problem(format!(
                            "frame {n}: TRUNCATE at {lsn} of relation {rel}, which no RELATION frame before it declares"
                        ));
                    }
                }
            }
            Frame::Message {
                lsn,
                transactional: true,
                xid,
                ..
            } => {
                self.change(n, "transactional message", *lsn, None, &[]);
                if let Some(o) = self.open.as_ref().filter(|o| o.xid != *xid) {
                    let what = format!(
                        "frame {n}: transactional message at {lsn} of transaction {xid} inside transaction {}",
                        o.xid
                    );
                    self.problem(what);
                }
            }
            Frame::Message { lsn, .. } => {
                self.messages += 1;
                if let Some(o) = &self.open {
                    let what = format!(
                        "frame {n}: non-transactional message at {lsn} inside transaction {}",
                        o.xid
                    );
                    self.problem(what);
                }
                self.event(n, *lsn);
            }
            Frame::Commit {
                commit_lsn,
                end_lsn,
                commit_time,
                changes,
            } => match self.open.take() {
                None => self.problem(format!(
                    "frame {n}: COMMIT at {commit_lsn} outside a transaction"
                )),
                Some(b) => {
                    if (b.commit_lsn, b.end_lsn, b.commit_time)
                        != (*commit_lsn, *end_lsn, *commit_time)
                    {
                        self.problem(format!(
                            "frame {n}: COMMIT at {commit_lsn} (end {end_lsn}, time {commit_time}) does not match the BEGIN of transaction {} (commit LSN {}, end {}, time {})",
                            b.xid, b.commit_lsn, b.end_lsn, b.commit_time
                        ));
                    }
                    // A continued transaction has changes in earlier files too.
                    let bad = if b.continued {
                        *changes < self.txn_changes
                    } else {
                        *changes != self.txn_changes
                    };
                    if bad {
                        let what = format!(
                            "frame {n}: COMMIT of transaction {} counts {changes} changes, the file holds {} of them",
                            b.xid, self.txn_changes
                        );
                        self.problem(what);
                    }
                }
            },
        }
    }

    /// Checks once every frame was read.
    fn finish(&mut self, header: &Header, trailer: &Trailer) {
        if self.frames == 0 && self.flags & FLAG_CONTINUED != 0 {
            self.problem("flagged CONTINUED, but holds no frames".into());
        }
        for (what, counted, found) in [
            ("frames", trailer.frames, self.frames),
            ("transactions", trailer.transactions, self.transactions),
            ("changes", trailer.changes, self.changes),
            (
                "non-transactional messages",
                trailer.messages,
                self.messages,
            ),
        ] {
            if counted != found {
                self.problem(format!(
                    "the trailer counts {counted} {what}, the frames hold {found}"
                ));
            }
        }
        let (first, last) = (
            self.first_event.unwrap_or(Lsn(0)),
            self.last_event.unwrap_or(Lsn(0)),
        );
        if (header.first_lsn, header.last_lsn) != (first, last) {
            self.problem(format!(
                "the header gives commit LSNs {}..{}, the frames {first}..{last}",
                header.first_lsn, header.last_lsn
            ));
        }
        let continues = self.flags & FLAG_CONTINUES != 0;
        match self.open.clone() {
            Some(b) if !continues => self.problem(format!(
                "ends inside transaction {} (commit LSN {}), but is not flagged CONTINUES",
                b.xid, b.commit_lsn
            )),
            None if continues => {
                self.problem("flagged CONTINUES, but ends outside a transaction".into())
            }
            Some(b) => {
                // Decoding resumes inside the transaction, after the changes written.
                if trailer.resume_lsn != b.commit_lsn || trailer.resume_skip < self.txn_changes {
                    self.problem(format!(
                        "ends inside transaction {} (commit LSN {}) after {} of its changes, but the trailer resumes at {} skipping {}",
                        b.xid, b.commit_lsn, self.txn_changes, trailer.resume_lsn, trailer.resume_skip
                    ));
                }
            }
            None => {
                if trailer.resume_skip != 0 || trailer.resume_lsn < last {
                    self.problem(format!(
                        "ends after its transactions, but the trailer resumes at {} skipping {} (last commit LSN {last})",
                        trailer.resume_lsn, trailer.resume_skip
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lcr::format::RelColumn;

    const SEG: u64 = 16 << 20;

    fn header(segno: u64, subseg: u64, flags: u16) -> Header {
        Header {
            system_identifier: 7_000_000_000_000_000_001,
            timeline: 1,
            database_oid: 5,
            database_name: "postgres".into(),
            server_version_num: 150018,
            wal_segment_size: SEG as u32,
            segno,
            subseg,
            first_lsn: Lsn(0),
            last_lsn: Lsn(0),
            first_time: 0,
            last_time: 0,
            flags,
            previous: None,
            previous_commit_end: Lsn(0),
        }
    }

    fn col(attnum: i16, name: &str, type_oid: u32, plain: &str, full: &str) -> RelColumn {
        RelColumn {
            attnum,
            name: name.into(),
            type_oid,
            typmod: -1,
            type_name: full.into(),
            type_name_plain: plain.into(),
            flags: if attnum == 1 {
                COL_KEY | COL_NOT_NULL
            } else {
                0
            },
        }
    }

    /// public.t (id integer, "Name" text, ok boolean, n numeric(10,2), b bit(3))
    fn rel_t() -> Frame {
        Frame::Relation(RelationInfo {
            oid: 16384,
            namespace: "public".into(),
            name: "t".into(),
            replica_identity: b'd',
            columns: vec![
                col(1, "id", 23, "integer", "integer"),
                col(2, "Name", 25, "text", "text"),
                col(3, "ok", 16, "boolean", "boolean"),
                col(4, "n", 1700, "numeric", "numeric(10,2)"),
                col(5, "b", 1560, "bit", "bit(3)"),
            ],
        })
    }

    /// "My Schema"."select" (v bigint)
    fn rel_s() -> Frame {
        Frame::Relation(RelationInfo {
            oid: 16390,
            namespace: "My Schema".into(),
            name: "select".into(),
            replica_identity: b'f',
            columns: vec![col(1, "v", 20, "bigint", "bigint")],
        })
    }

    fn text(s: &str) -> Datum {
        Datum::Text(s.as_bytes().to_vec())
    }

    fn begin(xid: u32, commit: u64, continued: bool) -> Begin {
        Begin {
            xid,
            commit_lsn: Lsn(commit),
            end_lsn: Lsn(commit + 0x30),
            commit_time: 0,
            origin: 0,
            origin_lsn: Lsn(0),
            first_lsn: Lsn(commit - 0x80),
            continued,
        }
    }

    fn commit(b: &Begin, changes: u64) -> Frame {
        Frame::Commit {
            commit_lsn: b.commit_lsn,
            end_lsn: b.end_lsn,
            commit_time: b.commit_time,
            changes,
        }
    }

    fn insert(lsn: u64, id: &str) -> Frame {
        Frame::Insert {
            rel: 16384,
            lsn: Lsn(lsn),
            new: vec![text(id), Datum::Null, Datum::Null, Datum::Null, Datum::Null],
        }
    }

    /// Writes a file as the writer does: header, blocks of up to three frames, trailer, with
    /// counts and commit LSNs taken from the frames, after the newest file of `dir` before it.
    fn write_lcr(dir: &Path, mut h: Header, frames: &[Frame], resume: (u64, u64)) -> PathBuf {
        let name = LcrName {
            timeline: h.timeline,
            segno: h.segno,
            subseg: h.subseg,
        };
        let before = list_dir(dir)
            .unwrap()
            .into_iter()
            .rev()
            .find(|(n, _)| *n < name);
        if let Some((previous, path)) = before {
            h.previous = Some(previous);
            h.previous_commit_end = LcrFile::read_ends(&path).unwrap().1.commit_end;
        }
        let mut t = Trailer {
            resume_lsn: Lsn(resume.0),
            resume_skip: resume.1,
            restart_lsn: Lsn(resume.0 - 0x100),
            commit_end: h.previous_commit_end,
            ..Default::default()
        };
        for f in frames {
            t.frames += 1;
            if let Frame::Commit { end_lsn, .. } = f {
                t.commit_end = *end_lsn;
            }
            let event = match f {
                Frame::Begin(b) => {
                    t.transactions += u64::from(!b.continued);
                    Some(b.commit_lsn)
                }
                Frame::Message {
                    transactional: false,
                    lsn,
                    ..
                } => {
                    t.messages += 1;
                    Some(*lsn)
                }
                Frame::Relation(_) | Frame::Commit { .. } => None,
                _ => {
                    t.changes += 1;
                    None
                }
            };
            if let Some(lsn) = event {
                if h.first_lsn == Lsn(0) {
                    h.first_lsn = lsn;
                }
                h.last_lsn = lsn;
            }
        }
        let mut body = Vec::new();
        for chunk in frames.chunks(3) {
            let mut raw = Vec::new();
            for f in chunk {
                f.encode(&mut raw);
            }
            let z = zstd::bulk::compress(&raw, 3).unwrap();
            body.extend_from_slice(&(raw.len() as u32).to_le_bytes());
            body.extend_from_slice(&(z.len() as u32).to_le_bytes());
            body.extend_from_slice(&crc32c::crc32c(&z).to_le_bytes());
            body.extend_from_slice(&z);
            t.blocks += 1;
            t.raw_bytes += raw.len() as u64;
        }
        body.extend_from_slice(&t.encode_body());
        let crc = crc32c::crc32c(&body);
        let mut bytes = h.encode();
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&crc.to_le_bytes());
        let path = dir.join(name.to_string());
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn dump_to_string(path: &Path, format: DumpFormat) -> (String, Result<(), InspectError>) {
        let file = LcrFile::open(path).unwrap();
        let mut out = Vec::new();
        let r = dump(&file, format, &mut out);
        (String::from_utf8(out).unwrap(), r)
    }

    /// Every kind of frame, in one transaction and a message after it.
    fn all_kinds(dir: &Path) -> PathBuf {
        let b = begin(740, 0x3000100, false);
        let frames = vec![
            rel_t(),
            rel_s(),
            Frame::Begin(b.clone()),
            Frame::Insert {
                rel: 16384,
                lsn: Lsn(0x3000010),
                new: vec![
                    text("1"),
                    text("it's"),
                    text("t"),
                    text("12.50"),
                    text("101"),
                ],
            },
            Frame::Update {
                rel: 16384,
                lsn: Lsn(0x3000020),
                old: Some(vec![
                    text("1"),
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                ]),
                new: Some(vec![
                    text("2"),
                    Datum::UnchangedToast,
                    text("f"),
                    Datum::Null,
                    Datum::Null,
                ]),
            },
            Frame::Update {
                rel: 16384,
                lsn: Lsn(0x3000030),
                old: None,
                new: None,
            },
            Frame::Delete {
                rel: 16384,
                lsn: Lsn(0x3000040),
                old: Some(vec![
                    text("2"),
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                ]),
            },
            Frame::Delete {
                rel: 16384,
                lsn: Lsn(0x3000050),
                old: None,
            },
            Frame::Truncate {
                lsn: Lsn(0x3000060),
                cascade: true,
                restart_seqs: true,
                rels: vec![16390, 16384],
            },
            Frame::Truncate {
                lsn: Lsn(0x3000070),
                cascade: false,
                restart_seqs: false,
                rels: vec![16384],
            },
            Frame::Message {
                lsn: Lsn(0x3000080),
                transactional: true,
                xid: 740,
                origin: 0,
                prefix: b"p".to_vec(),
                content: b"hi".to_vec(),
            },
            commit(&b, 8),
            Frame::Message {
                lsn: Lsn(0x3000200),
                transactional: false,
                xid: 0,
                origin: 3,
                prefix: b"q".to_vec(),
                content: vec![0xff, 0x00],
            },
        ];
        write_lcr(dir, header(3, 0, 0), &frames, (0x3000200, 0))
    }

    #[test]
    fn dump_text_is_test_decoding_output() {
        let dir = tempfile::tempdir().unwrap();
        let path = all_kinds(dir.path());
        let mut want = String::new();
        for line in [
            "BEGIN 740",
            "table public.t: INSERT: id[integer]:1 \"Name\"[text]:'it''s' ok[boolean]:true n[numeric]:12.50 b[bit]:B'101'",
            "table public.t: UPDATE: old-key: id[integer]:1 new-tuple: id[integer]:2 \"Name\"[text]:unchanged-toast-datum ok[boolean]:false n[numeric]:null b[bit]:null",
            "table public.t: UPDATE: (no-tuple-data)",
            "table public.t: DELETE: id[integer]:2",
            "table public.t: DELETE: (no-tuple-data)",
            "table \"My Schema\".\"select\", public.t: TRUNCATE: restart_seqs cascade",
            "table public.t: TRUNCATE: (no-flags)",
            "message: transactional: 1 prefix: p, sz: 2 content:hi",
            "COMMIT 740",
        ] {
            want.push_str(line);
            want.push('\n');
        }
        // The non-transactional message's content is not UTF-8: compare it as bytes.
        let file = LcrFile::open(&path).unwrap();
        let mut bytes = Vec::new();
        dump(&file, DumpFormat::Text, &mut bytes).unwrap();
        let mut want = want.into_bytes();
        want.extend_from_slice(b"message: transactional: 0 prefix: q, sz: 2 content:\xff\x00\n");
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&want)
        );
        assert_eq!(bytes, want);

        let b = begin(741, 0x3000400, true);
        let path = write_lcr(
            dir.path(),
            header(3, 1, FLAG_CONTINUED),
            &[
                Frame::Begin(b.clone()),
                rel_t(),
                insert(0x3000300, "7"),
                commit(&b, 3),
            ],
            (0x3000430, 0),
        );
        let (out, r) = dump_to_string(&path, DumpFormat::Text);
        r.unwrap();
        assert_eq!(
            out,
            "BEGIN 741 (continued)\n\
             table public.t: INSERT: id[integer]:7 \"Name\"[text]:null ok[boolean]:null n[numeric]:null b[bit]:null\n\
             COMMIT 741\n"
        );
    }

    #[test]
    fn dump_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = all_kinds(dir.path());
        let file = LcrFile::open(&path).unwrap();
        let mut out = Vec::new();
        dump(&file, DumpFormat::Json, &mut out).unwrap();
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "relation", "relation", "begin", "insert", "update", "update", "delete", "delete",
                "truncate", "truncate", "message", "commit", "message"
            ]
        );
        assert_eq!(lines[0]["columns"][3]["type_name"], "numeric(10,2)");
        assert_eq!(lines[0]["columns"][0]["key"], true);
        assert_eq!(lines[0]["columns"][1]["key"], false);
        assert_eq!(lines[1]["replica_identity"], "f");
        assert_eq!(lines[2]["xid"], 740);
        assert_eq!(lines[2]["commit_lsn"], "0/3000100");
        assert_eq!(lines[2]["commit_time_iso"], "2000-01-01T00:00:00Z");
        assert_eq!(lines[2]["origin"], serde_json::Value::Null);
        assert_eq!(
            lines[3]["new"][1],
            serde_json::json!({"name": "Name", "type": "text", "value": "it's"})
        );
        assert_eq!(lines[3]["new"][3]["type"], "numeric(10,2)");
        assert_eq!(lines[3]["lsn"], "0/3000010");
        assert_eq!(lines[3]["schema"], "public");
        assert_eq!(lines[4]["old"][1]["value"], serde_json::Value::Null);
        assert_eq!(
            lines[4]["new"][1]["value"],
            serde_json::json!({"unchanged_toast": true})
        );
        assert_eq!(lines[5]["old"], serde_json::Value::Null);
        assert_eq!(lines[5]["new"], serde_json::Value::Null);
        assert_eq!(lines[8]["relations"][0]["schema"], "My Schema");
        assert_eq!(lines[8]["cascade"], true);
        assert_eq!(lines[10]["content"], "hi");
        assert_eq!(lines[11]["xid"], 740);
        assert_eq!(lines[11]["changes"], 8);
        assert_eq!(lines[12]["content_hex"], "ff00");
        assert!(lines[12].get("content").is_none());
        assert_eq!(lines[12]["origin"], 3);
        assert_eq!(
            iso_time(1_000_001).as_deref(),
            Some("2000-01-01T00:00:01.000001Z")
        );
        assert_eq!(iso_time(i64::MAX), None);
    }

    #[test]
    fn dump_stops_at_an_undeclared_relation() {
        let dir = tempfile::tempdir().unwrap();
        let b = begin(740, 0x3000100, false);
        let path = write_lcr(
            dir.path(),
            header(3, 0, 0),
            &[
                Frame::Begin(b.clone()),
                insert(0x3000010, "1"),
                commit(&b, 1),
            ],
            (0x3000130, 0),
        );
        for format in [DumpFormat::Text, DumpFormat::Json] {
            let (out, r) = dump_to_string(&path, format);
            let err = r.unwrap_err().to_string();
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains("frame 2: relation 16384"), "{err}");
            assert_eq!(out.lines().count(), 1, "{out}");
        }
    }

    /// Three files: a transaction continuing from 3/0 into 3/1, then segment 4.
    fn good_stream(dir: &Path) -> Vec<PathBuf> {
        let b740 = begin(740, 0x3000100, false);
        let b741 = begin(741, 0x3000400, false);
        let b742 = begin(742, 0x4000100, false);
        let a = write_lcr(
            dir,
            header(3, 0, FLAG_CONTINUES),
            &[
                rel_t(),
                Frame::Begin(b740.clone()),
                insert(0x3000010, "1"),
                commit(&b740, 1),
                Frame::Begin(b741.clone()),
                insert(0x3000300, "2"),
                insert(0x3000310, "3"),
            ],
            (0x3000400, 2),
        );
        let b = write_lcr(
            dir,
            header(3, 1, FLAG_CONTINUED),
            &[
                Frame::Begin(Begin {
                    continued: true,
                    ..b741.clone()
                }),
                rel_t(),
                insert(0x3000320, "4"),
                commit(&b741, 3),
            ],
            (0x3000430, 0),
        );
        let c = write_lcr(
            dir,
            header(4, 0, 0),
            &[
                rel_t(),
                Frame::Begin(b742.clone()),
                Frame::Delete {
                    rel: 16384,
                    lsn: Lsn(0x4000010),
                    old: Some(vec![
                        text("1"),
                        Datum::Null,
                        Datum::Null,
                        Datum::Null,
                        Datum::Null,
                    ]),
                },
                commit(&b742, 1),
                Frame::Message {
                    lsn: Lsn(0x4000200),
                    transactional: false,
                    xid: 0,
                    origin: 0,
                    prefix: b"q".to_vec(),
                    content: b"x".to_vec(),
                },
            ],
            (0x4000200, 0),
        );
        std::fs::write(dir.join("state.json"), "{}").unwrap();
        vec![a, b, c]
    }

    #[test]
    fn ls_summarizes_files_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let paths = good_stream(dir.path());
        let files = ls(dir.path()).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "000000010000000000000003".to_string() + "0000000000000000",
                "000000010000000000000003".to_string() + "0000000000000001",
                "000000010000000000000004".to_string() + "0000000000000000",
            ]
        );
        let a = &files[0];
        assert_eq!((a.first_lsn, a.last_lsn), (Lsn(0x3000100), Lsn(0x3000400)));
        assert_eq!((a.transactions, a.changes, a.messages), (2, 3, 0));
        assert_eq!(a.size, std::fs::metadata(&paths[0]).unwrap().len());
        assert_eq!(files[2].messages, 1);

        let head = ls_header();
        let lines: Vec<String> = files.iter().map(format_ls_line).collect();
        assert_eq!(
            lines[0],
            format!(
                "{}  0/3000100..0/3000400                          2            3  {:>12}   >",
                a.name, a.size
            )
        );
        assert!(lines[1].ends_with("  +"), "{}", lines[1]);
        assert!(
            lines[2].ends_with(&files[2].size.to_string()),
            "{}",
            lines[2]
        );
        // Right-aligned numbers end under their titles.
        for (title, value) in [("XACTS", "2"), ("CHANGES", "3")] {
            let end = head.find(title).unwrap() + title.len();
            assert_eq!(&lines[0][end - value.len()..end], value, "{title}");
        }
        assert_eq!(head.find("CONT"), lines[0].find('>').map(|i| i - 1));

        std::fs::write(&paths[1], b"PGLCR\0\r\n").unwrap();
        let err = ls(dir.path()).unwrap_err().to_string();
        assert!(err.contains(&paths[1].display().to_string()), "{err}");
    }

    fn problems(paths: &[PathBuf]) -> Vec<String> {
        verify(paths).unwrap().problems
    }

    #[test]
    fn verify_accepts_a_good_stream() {
        let dir = tempfile::tempdir().unwrap();
        let paths = good_stream(dir.path());
        let report = verify(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(report.problems, Vec::<String>::new());
        assert_eq!((report.files, report.frames), (3, 7 + 4 + 5));
        let report = verify(&paths[2..]).unwrap();
        assert_eq!(
            (report.files, report.frames, report.problems.len()),
            (1, 5, 0)
        );
        let p = problems(&[dir.path().join("nowhere")]);
        assert!(p.iter().any(|p| p.contains("could not read")), "{p:?}");
    }

    #[test]
    fn verify_reports_a_flipped_byte() {
        let dir = tempfile::tempdir().unwrap();
        let paths = good_stream(dir.path());
        let mut bytes = std::fs::read(&paths[2]).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x10;
        std::fs::write(&paths[2], &bytes).unwrap();
        let p = problems(&[dir.path().to_path_buf()]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with(&format!("{}: ", paths[2].display())),
            "{p:?}"
        );
        assert!(p[0].contains("checksum mismatch"), "{p:?}");

        // A block whose own checksum fails, the file's being made to match.
        let mut bytes = std::fs::read(&paths[0]).unwrap();
        let (_, header_len) = Header::decode(&bytes).unwrap();
        bytes[header_len + 20] ^= 1;
        let crc_at = bytes.len() - 4;
        let crc = crc32c::crc32c(&bytes[header_len..crc_at]);
        bytes[crc_at..].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&paths[0], &bytes).unwrap();
        let p = problems(&paths[..1]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with(&format!(
                "{}: block at offset {header_len}",
                paths[0].display()
            )),
            "{p:?}"
        );
    }

    #[test]
    fn verify_reports_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let b1 = begin(740, 0x5000100, false);
        let b2 = begin(741, 0x5000200, false);
        let b3 = begin(742, 0x5000300, false);
        let mut paths = Vec::new();
        for (seg, sub, b) in [(5, 0, &b1), (5, 1, &b2), (7, 0, &b3)] {
            let frames = [
                rel_t(),
                Frame::Begin(b.clone()),
                insert(b.commit_lsn.0 - 8, "1"),
                commit(b, 1),
            ];
            paths.push(write_lcr(
                dir.path(),
                header(seg, sub, 0),
                &frames,
                (b.end_lsn.0, 0),
            ));
        }
        assert_eq!(problems(&[dir.path().to_path_buf()]), Vec::<String>::new());
        // The stream's second file gone, and with it the only sign of it but the third's
        // header: nothing in the names shows a gap between 5/0 and 7/0.
        std::fs::remove_file(&paths[1]).unwrap();
        let p = problems(&[dir.path().to_path_buf()]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(
            p[0],
            format!(
                "{}: missing: 0000000100000000000000070000000000000000 was written after it, but follows 0000000100000000000000050000000000000000 here",
                paths[1].display()
            )
        );
        // The first file gone is no problem: retention removes files from the start.
        std::fs::remove_file(&paths[0]).unwrap();
        assert_eq!(problems(&[dir.path().to_path_buf()]), Vec::<String>::new());
    }

    #[test]
    fn verify_reports_a_broken_continuation() {
        let dir = tempfile::tempdir().unwrap();
        let paths = good_stream(dir.path());
        // 3/1 rewritten as a file of its own, not flagged CONTINUED.
        let b = begin(741, 0x3000400, false);
        write_lcr(
            dir.path(),
            header(3, 1, 0),
            &[
                rel_t(),
                Frame::Begin(b.clone()),
                insert(0x3000320, "4"),
                commit(&b, 1),
            ],
            (0x3000430, 0),
        );
        let p = problems(&[dir.path().to_path_buf()]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with(&format!(
                "{}: flagged CONTINUES, but the next file {} is not flagged CONTINUED",
                paths[0].display(),
                paths[1].display()
            )),
            "{p:?}"
        );

        // Flagged CONTINUED, but continuing another transaction.
        let other = begin(999, 0x3000400, true);
        write_lcr(
            dir.path(),
            header(3, 1, FLAG_CONTINUED),
            &[
                Frame::Begin(other.clone()),
                rel_t(),
                insert(0x3000320, "4"),
                commit(&other, 3),
            ],
            (0x3000430, 0),
        );
        let p = problems(&[dir.path().to_path_buf()]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with(&format!(
                "{}: continues transaction 999",
                paths[1].display()
            )),
            "{p:?}"
        );

        // The continuation gone: 3/0 is followed by segment 4.
        std::fs::remove_file(&paths[1]).unwrap();
        let p = problems(&[dir.path().to_path_buf()]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].starts_with(&format!("{}: missing", paths[1].display())),
            "{p:?}"
        );
        assert!(
            p[1].starts_with(&format!(
                "{}: flagged CONTINUES, but the next file",
                paths[0].display()
            )),
            "{p:?}"
        );
        // …which is no problem when nothing follows yet.
        std::fs::remove_file(&paths[2]).unwrap();
        assert_eq!(problems(&[dir.path().to_path_buf()]), Vec::<String>::new());
    }

    #[test]
    fn verify_reports_bad_frames_names_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let b = begin(740, 0x3000100, false);
        let b0 = begin(739, 0x30000F0, false);
        let path = write_lcr(
            dir.path(),
            header(3, 0, 0),
            &[
                Frame::Begin(b.clone()),
                insert(0x3000010, "1"),
                rel_t(),
                Frame::Insert {
                    rel: 16384,
                    lsn: Lsn(0x3000020),
                    new: vec![text("1")],
                },
                commit(&b, 5),
                Frame::Begin(b0.clone()),
                insert(0x3000030, "2"),
            ],
            (0x3000100, 0),
        );
        let p = problems(std::slice::from_ref(&path));
        let shown = path.display().to_string();
        let want = [
            "frame 2: INSERT at 0/3000010 of relation 16384, which no RELATION frame before it declares",
            "frame 4: INSERT at 0/3000020 has a tuple of 1 values, relation 16384 5 columns",
            "frame 5: COMMIT of transaction 740 counts 5 changes, the file holds 2 of them",
            "frame 6: commit LSN 0/30000F0 goes backwards (after 0/3000100)",
            "ends inside transaction 739 (commit LSN 0/30000F0), but is not flagged CONTINUES",
        ];
        assert_eq!(p.len(), want.len(), "{p:?}");
        for (got, want) in p.iter().zip(want) {
            assert_eq!(got, &format!("{shown}: {want}"));
        }

        // A name that is not an LCR name, and one that does not match the header.
        let odd = dir.path().join("copy.lcr");
        std::fs::copy(&path, &odd).unwrap();
        let p = problems(std::slice::from_ref(&odd));
        assert!(
            p[0].starts_with(&format!("{}: not an LCR file name", odd.display())),
            "{p:?}"
        );
        let renamed = dir.path().join("0000000100000000000000030000000000000007");
        std::fs::rename(&odd, &renamed).unwrap();
        let p = problems(std::slice::from_ref(&renamed));
        assert!(
            p[0].contains("the header says timeline 1, WAL segment 3, sub-segment 0;"),
            "{p:?}"
        );
        assert!(
            p.iter()
                .all(|p| p.starts_with(&renamed.display().to_string())),
            "{p:?}"
        );
    }
}
