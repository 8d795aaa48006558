//! The LCR file format, byte by byte (documented for users in `man/pglcr-lcr.5`).
//!
//! ```text
//! file    = header block* trailer
//! header  = "PGLCR\0\r\n" u16 version u16 header_len fields… u32 crc32c(header before it)
//! block   = u32 raw_len u32 zstd_len u32 crc32c(zstd bytes) zstd bytes
//!           (the zstd bytes decompress to raw_len bytes of frames)
//! frame   = u8 kind u32 payload_len payload u32 crc32c(kind, payload_len, payload)
//! trailer = "PGLCREND" u64 counts… u64 resume fields… u32 crc32c(blocks and trailer before it)
//! ```
//! Integers are little-endian; strings and byte strings are a u32 length and the bytes. The
//! format is pglcr's own (nothing else reads these files), so it is written by hand here.

use super::LcrName;
use crate::wal::lsn::Lsn;

pub const MAGIC: &[u8; 8] = b"PGLCR\0\r\n";
pub const TRAILER_MAGIC: &[u8; 8] = b"PGLCREND";
pub const FORMAT_VERSION: u16 = 2;
/// Bytes of a block header: raw length, compressed length, CRC.
pub const BLOCK_HEADER_SIZE: usize = 12;
/// Bytes of the trailer, magic and CRC included.
pub const TRAILER_SIZE: usize = 8 + 10 * 8 + 4;
/// Frame overhead: kind, length, CRC.
pub const FRAME_OVERHEAD: usize = 1 + 4 + 4;

/// Header flag: the file starts inside a transaction begun in the previous file.
pub const FLAG_CONTINUED: u16 = 1;
/// Header flag: the file's last transaction continues in the next file.
pub const FLAG_CONTINUES: u16 = 2;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("at offset {offset}: {what} runs past the end of the data ({len} bytes)")]
    Truncated {
        offset: usize,
        len: usize,
        what: &'static str,
    },
    #[error("at offset {offset}: {what}")]
    Invalid { offset: usize, what: String },
}

/// The file header: what the file holds and where it came from. Nothing in it comes from the
/// wall clock, so the same WAL always gives the same bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub system_identifier: u64,
    pub timeline: u32,
    pub database_oid: u32,
    pub database_name: String,
    pub server_version_num: u32,
    pub wal_segment_size: u32,
    /// The WAL segment whose commits the file holds, and the file's place among that segment's
    /// files.
    pub segno: u64,
    pub subseg: u64,
    /// LSN and time of the first and last commit (or non-transactional message) in the file.
    pub first_lsn: Lsn,
    pub last_lsn: Lsn,
    pub first_time: i64,
    pub last_time: i64,
    /// [`FLAG_CONTINUED`], [`FLAG_CONTINUES`].
    pub flags: u16,
    /// The file before this one in the stream (`None` for the stream's first file), and the
    /// end LSN of the newest commit in the files before this one (0 when none): a reader
    /// knows from these alone whether a file it never saw is missing, and whether it held
    /// anything not yet applied.
    pub previous: Option<LcrName>,
    pub previous_commit_end: Lsn,
}

/// The trailer: counts, and where decoding resumes after this file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trailer {
    pub frames: u64,
    /// Transactions begun in this file (a continued one is counted where it began).
    pub transactions: u64,
    /// Row changes, TRUNCATEs and transactional messages.
    pub changes: u64,
    /// Non-transactional messages.
    pub messages: u64,
    pub blocks: u64,
    /// Bytes of frames before compression.
    pub raw_bytes: u64,
    /// Decoding continues with the events at or after this LSN…
    pub resume_lsn: Lsn,
    /// …leaving out this many changes of the transaction that commits at `resume_lsn`
    /// (those already written, when a transaction continues in the next file).
    pub resume_skip: u64,
    /// The oldest WAL position needed to decode what follows (the first change of the
    /// oldest transaction still open at `resume_lsn`).
    pub restart_lsn: Lsn,
    /// The end LSN of the newest commit in this file or, when it has none, before it.
    pub commit_end: Lsn,
}

/// A column of a relation, as an applier needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelColumn {
    pub attnum: i16,
    pub name: String,
    pub type_oid: u32,
    pub typmod: i32,
    /// `format_type` with typmod, schema-qualified outside pg_catalog (`numeric(10,2)`,
    /// `public.mood`): what a cast on the target needs.
    pub type_name: String,
    /// Without typmod, as test_decoding prints it (`numeric`, `public.mood`).
    pub type_name_plain: String,
    /// [`COL_KEY`], [`COL_NOT_NULL`], [`COL_PRIMARY_KEY`].
    pub flags: u8,
}

/// Column flag: part of the replica identity key.
pub const COL_KEY: u8 = 1;
pub const COL_NOT_NULL: u8 = 2;
pub const COL_PRIMARY_KEY: u8 = 4;

/// A relation's metadata, written once per file before its first change there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelationInfo {
    pub oid: u32,
    pub namespace: String,
    pub name: String,
    /// `relreplident`: d, n, f or i.
    pub replica_identity: u8,
    /// Live columns in attnum order; tuples list their values in this order.
    pub columns: Vec<RelColumn>,
}

/// One column value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Datum {
    Null,
    /// An out-of-line value the UPDATE did not change (not logged).
    UnchangedToast,
    /// The text output of the source type.
    Text(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Begin {
    pub xid: u32,
    /// The LSN of the commit record, and the position after it.
    pub commit_lsn: Lsn,
    pub end_lsn: Lsn,
    /// Commit time, µs since 2000-01-01 UTC.
    pub commit_time: i64,
    /// Replication origin of the commit, 0 for none.
    pub origin: u16,
    pub origin_lsn: Lsn,
    /// The first change of the transaction.
    pub first_lsn: Lsn,
    /// The transaction began in the previous file.
    pub continued: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Relation(RelationInfo),
    Begin(Begin),
    Insert {
        rel: u32,
        lsn: Lsn,
        new: Vec<Datum>,
    },
    Update {
        rel: u32,
        lsn: Lsn,
        /// The old key (replica identity DEFAULT or INDEX) or old row (FULL), when logged.
        old: Option<Vec<Datum>>,
        /// `None` when the new row was not logged.
        new: Option<Vec<Datum>>,
    },
    Delete {
        rel: u32,
        lsn: Lsn,
        old: Option<Vec<Datum>>,
    },
    Truncate {
        lsn: Lsn,
        cascade: bool,
        restart_seqs: bool,
        rels: Vec<u32>,
    },
    Message {
        lsn: Lsn,
        transactional: bool,
        xid: u32,
        origin: u16,
        prefix: Vec<u8>,
        content: Vec<u8>,
    },
    Commit {
        commit_lsn: Lsn,
        end_lsn: Lsn,
        commit_time: i64,
        /// Changes of the whole transaction, in this file and earlier ones.
        changes: u64,
    },
}

const K_RELATION: u8 = b'R';
const K_BEGIN: u8 = b'B';
pub const K_INSERT: u8 = b'I';
pub const K_UPDATE: u8 = b'U';
pub const K_DELETE: u8 = b'D';
const K_TRUNCATE: u8 = b'T';
const K_MESSAGE: u8 = b'M';
const K_COMMIT: u8 = b'C';

// ---- encoding ----

fn put_u8(b: &mut Vec<u8>, v: u8) {
    b.push(v);
}
fn put_u16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put_bytes(b: &mut Vec<u8>, v: &[u8]) {
    put_u32(b, v.len() as u32);
    b.extend_from_slice(v);
}

impl Header {
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(128);
        b.extend_from_slice(MAGIC);
        put_u16(&mut b, FORMAT_VERSION);
        put_u16(&mut b, 0); // header length, set below
        put_u64(&mut b, self.system_identifier);
        put_u32(&mut b, self.timeline);
        put_u32(&mut b, self.database_oid);
        put_bytes(&mut b, self.database_name.as_bytes());
        put_u32(&mut b, self.server_version_num);
        put_u32(&mut b, self.wal_segment_size);
        put_u64(&mut b, self.segno);
        put_u64(&mut b, self.subseg);
        put_u64(&mut b, self.first_lsn.0);
        put_u64(&mut b, self.last_lsn.0);
        put_u64(&mut b, self.first_time as u64);
        put_u64(&mut b, self.last_time as u64);
        put_u16(&mut b, self.flags);
        // Timeline 0 does not exist: it stands for "no previous file".
        let previous = self.previous.unwrap_or(LcrName {
            timeline: 0,
            segno: 0,
            subseg: 0,
        });
        put_u32(&mut b, previous.timeline);
        put_u64(&mut b, previous.segno);
        put_u64(&mut b, previous.subseg);
        put_u64(&mut b, self.previous_commit_end.0);
        let len = (b.len() + 4) as u16;
        b[10..12].copy_from_slice(&len.to_le_bytes());
        let crc = crc32c::crc32c(&b);
        put_u32(&mut b, crc);
        b
    }

    /// Parses the header at the start of `bytes`; returns it and its length.
    pub fn decode(bytes: &[u8]) -> Result<(Header, usize), FormatError> {
        let mut c = Cur::new(bytes, 0);
        let magic = c.take(8, "file magic")?;
        if magic != MAGIC {
            return Err(FormatError::Invalid {
                offset: 0,
                what: "not an LCR file (bad magic)".into(),
            });
        }
        let version = c.u16("format version")?;
        if version != FORMAT_VERSION {
            return Err(FormatError::Invalid {
                offset: 8,
                what: format!(
                    "LCR format version {version} is not supported (this pglcr reads version {FORMAT_VERSION})"
                ),
            });
        }
        let len = usize::from(c.u16("header length")?);
        if len < 16 || len > bytes.len() {
            return Err(FormatError::Truncated {
                offset: 10,
                len: bytes.len(),
                what: "header",
            });
        }
        let stored = u32::from_le_bytes(bytes[len - 4..len].try_into().expect("4 bytes"));
        let computed = crc32c::crc32c(&bytes[..len - 4]);
        if stored != computed {
            return Err(FormatError::Invalid {
                offset: len - 4,
                what: format!(
                    "header checksum mismatch: stored {stored:08x}, computed {computed:08x}"
                ),
            });
        }
        let mut c = Cur::new(&bytes[..len - 4], 12);
        let h = Header {
            system_identifier: c.u64("system identifier")?,
            timeline: c.u32("timeline")?,
            database_oid: c.u32("database oid")?,
            database_name: c.string("database name")?,
            server_version_num: c.u32("server version")?,
            wal_segment_size: c.u32("WAL segment size")?,
            segno: c.u64("segment number")?,
            subseg: c.u64("sub-segment number")?,
            first_lsn: Lsn(c.u64("first LSN")?),
            last_lsn: Lsn(c.u64("last LSN")?),
            first_time: c.u64("first time")? as i64,
            last_time: c.u64("last time")? as i64,
            flags: c.u16("flags")?,
            previous: {
                let previous = LcrName {
                    timeline: c.u32("previous file's timeline")?,
                    segno: c.u64("previous file's segment number")?,
                    subseg: c.u64("previous file's sub-segment number")?,
                };
                (previous.timeline != 0).then_some(previous)
            },
            previous_commit_end: Lsn(c.u64("previous commit end LSN")?),
        };
        c.end("header")?;
        Ok((h, len))
    }
}

impl Trailer {
    /// The trailer's bytes before its CRC (the CRC covers the blocks and these bytes).
    pub fn encode_body(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(TRAILER_SIZE);
        b.extend_from_slice(TRAILER_MAGIC);
        for v in [
            self.frames,
            self.transactions,
            self.changes,
            self.messages,
            self.blocks,
            self.raw_bytes,
            self.resume_lsn.0,
            self.resume_skip,
            self.restart_lsn.0,
            self.commit_end.0,
        ] {
            put_u64(&mut b, v);
        }
        b
    }

    /// Parses the trailer at `offset` of `bytes`, which end where its CRC begins.
    pub fn decode_body(bytes: &[u8], offset: usize) -> Result<Trailer, FormatError> {
        let mut c = Cur::new(bytes, offset);
        if c.take(8, "trailer magic")? != TRAILER_MAGIC {
            return Err(FormatError::Invalid {
                offset,
                what: "trailer not found where the file ends (incomplete file?)".into(),
            });
        }
        let t = Trailer {
            frames: c.u64("frame count")?,
            transactions: c.u64("transaction count")?,
            changes: c.u64("change count")?,
            messages: c.u64("message count")?,
            blocks: c.u64("block count")?,
            raw_bytes: c.u64("raw bytes")?,
            resume_lsn: Lsn(c.u64("resume LSN")?),
            resume_skip: c.u64("resume skip")?,
            restart_lsn: Lsn(c.u64("restart LSN")?),
            commit_end: Lsn(c.u64("commit end LSN")?),
        };
        c.end("trailer")?;
        Ok(t)
    }
}

fn put_tuple(b: &mut Vec<u8>, t: &[Datum]) {
    put_u16(b, t.len() as u16);
    for d in t {
        match d {
            Datum::Null => put_null_value(b),
            Datum::UnchangedToast => put_unchanged_value(b),
            Datum::Text(v) => put_text_value(b, v),
        }
    }
}

/// A NULL column value in a tuple.
pub fn put_null_value(b: &mut Vec<u8>) {
    put_u8(b, b'n');
}

/// An unchanged out-of-line column value in a tuple.
pub fn put_unchanged_value(b: &mut Vec<u8>) {
    put_u8(b, b'u');
}

/// A column value's text in a tuple.
pub fn put_text_value(b: &mut Vec<u8>, text: &[u8]) {
    put_u8(b, b't');
    put_bytes(b, text);
}

/// Builds one frame at the end of `out`. `payload` appends the payload.
pub fn put_frame(out: &mut Vec<u8>, kind: u8, payload: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.push(kind);
    put_u32(out, 0);
    payload(out);
    let len = (out.len() - start - 5) as u32;
    out[start + 1..start + 5].copy_from_slice(&len.to_le_bytes());
    let crc = crate::wal::crc::crc32c(&out[start..]);
    put_u32(out, crc);
}

impl Frame {
    /// Appends the frame's bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Frame::Relation(r) => put_frame(out, K_RELATION, |b| {
                put_u32(b, r.oid);
                put_bytes(b, r.namespace.as_bytes());
                put_bytes(b, r.name.as_bytes());
                put_u8(b, r.replica_identity);
                put_u16(b, r.columns.len() as u16);
                for c in &r.columns {
                    put_u16(b, c.attnum as u16);
                    put_bytes(b, c.name.as_bytes());
                    put_u32(b, c.type_oid);
                    put_u32(b, c.typmod as u32);
                    put_bytes(b, c.type_name.as_bytes());
                    put_bytes(b, c.type_name_plain.as_bytes());
                    put_u8(b, c.flags);
                }
            }),
            Frame::Begin(x) => put_frame(out, K_BEGIN, |b| {
                put_u32(b, x.xid);
                put_u64(b, x.commit_lsn.0);
                put_u64(b, x.end_lsn.0);
                put_u64(b, x.commit_time as u64);
                put_u16(b, x.origin);
                put_u64(b, x.origin_lsn.0);
                put_u64(b, x.first_lsn.0);
                put_u8(b, u8::from(x.continued));
            }),
            Frame::Insert { rel, lsn, new } => put_frame(out, K_INSERT, |b| {
                put_u32(b, *rel);
                put_u64(b, lsn.0);
                put_tuple(b, new);
            }),
            Frame::Update { rel, lsn, old, new } => put_frame(out, K_UPDATE, |b| {
                put_u32(b, *rel);
                put_u64(b, lsn.0);
                put_u8(b, u8::from(old.is_some()) | (u8::from(new.is_some()) << 1));
                for t in [old, new].into_iter().flatten() {
                    put_tuple(b, t);
                }
            }),
            Frame::Delete { rel, lsn, old } => put_frame(out, K_DELETE, |b| {
                put_u32(b, *rel);
                put_u64(b, lsn.0);
                put_u8(b, u8::from(old.is_some()));
                if let Some(t) = old {
                    put_tuple(b, t);
                }
            }),
            Frame::Truncate {
                lsn,
                cascade,
                restart_seqs,
                rels,
            } => put_frame(out, K_TRUNCATE, |b| {
                put_u64(b, lsn.0);
                put_u8(b, u8::from(*cascade) | (u8::from(*restart_seqs) << 1));
                put_u32(b, rels.len() as u32);
                for r in rels {
                    put_u32(b, *r);
                }
            }),
            Frame::Message {
                lsn,
                transactional,
                xid,
                origin,
                prefix,
                content,
            } => put_frame(out, K_MESSAGE, |b| {
                put_u64(b, lsn.0);
                put_u8(b, u8::from(*transactional));
                put_u32(b, *xid);
                put_u16(b, *origin);
                put_bytes(b, prefix);
                put_bytes(b, content);
            }),
            Frame::Commit {
                commit_lsn,
                end_lsn,
                commit_time,
                changes,
            } => put_frame(out, K_COMMIT, |b| {
                put_u64(b, commit_lsn.0);
                put_u64(b, end_lsn.0);
                put_u64(b, *commit_time as u64);
                put_u64(b, *changes);
            }),
        }
    }

    /// Parses the frame at `bytes[at..]`, whose first byte is at `offset` of the block's
    /// decompressed data; returns it and the offset after it.
    pub fn decode(bytes: &[u8], at: usize) -> Result<(Frame, usize), FormatError> {
        let mut c = Cur::new(bytes, at);
        let kind = c.u8("frame kind")?;
        let len = c.u32("frame length")? as usize;
        let payload_at = c.pos;
        c.take(len, "frame payload")?;
        let stored = c.u32("frame checksum")?;
        let computed = crate::wal::crc::crc32c(&bytes[at..payload_at + len]);
        if stored != computed {
            return Err(FormatError::Invalid {
                offset: at,
                what: format!(
                    "frame checksum mismatch: stored {stored:08x}, computed {computed:08x}"
                ),
            });
        }
        let next = c.pos;
        let mut p = Cur::new(&bytes[..payload_at + len], payload_at);
        let frame = match kind {
            K_RELATION => {
                let oid = p.u32("relation oid")?;
                let namespace = p.string("schema name")?;
                let name = p.string("relation name")?;
                let replica_identity = p.u8("replica identity")?;
                let n = p.u16("column count")?;
                let mut columns = Vec::with_capacity(usize::from(n));
                for _ in 0..n {
                    columns.push(RelColumn {
                        attnum: p.u16("attnum")? as i16,
                        name: p.string("column name")?,
                        type_oid: p.u32("type oid")?,
                        typmod: p.u32("typmod")? as i32,
                        type_name: p.string("type name")?,
                        type_name_plain: p.string("type name")?,
                        flags: p.u8("column flags")?,
                    });
                }
                Frame::Relation(RelationInfo {
                    oid,
                    namespace,
                    name,
                    replica_identity,
                    columns,
                })
            }
            K_BEGIN => Frame::Begin(Begin {
                xid: p.u32("xid")?,
                commit_lsn: Lsn(p.u64("commit LSN")?),
                end_lsn: Lsn(p.u64("end LSN")?),
                commit_time: p.u64("commit time")? as i64,
                origin: p.u16("origin")?,
                origin_lsn: Lsn(p.u64("origin LSN")?),
                first_lsn: Lsn(p.u64("first LSN")?),
                continued: p.u8("flags")? & 1 != 0,
            }),
            K_INSERT => Frame::Insert {
                rel: p.u32("relation oid")?,
                lsn: Lsn(p.u64("LSN")?),
                new: p.tuple()?,
            },
            K_UPDATE => {
                let rel = p.u32("relation oid")?;
                let lsn = Lsn(p.u64("LSN")?);
                let flags = p.u8("flags")?;
                let old = if flags & 1 != 0 {
                    Some(p.tuple()?)
                } else {
                    None
                };
                let new = if flags & 2 != 0 {
                    Some(p.tuple()?)
                } else {
                    None
                };
                Frame::Update { rel, lsn, old, new }
            }
            K_DELETE => {
                let rel = p.u32("relation oid")?;
                let lsn = Lsn(p.u64("LSN")?);
                let old = if p.u8("flags")? & 1 != 0 {
                    Some(p.tuple()?)
                } else {
                    None
                };
                Frame::Delete { rel, lsn, old }
            }
            K_TRUNCATE => {
                let lsn = Lsn(p.u64("LSN")?);
                let flags = p.u8("flags")?;
                let n = p.u32("relation count")?;
                let mut rels = Vec::new();
                for _ in 0..n {
                    rels.push(p.u32("relation oid")?);
                }
                Frame::Truncate {
                    lsn,
                    cascade: flags & 1 != 0,
                    restart_seqs: flags & 2 != 0,
                    rels,
                }
            }
            K_MESSAGE => Frame::Message {
                lsn: Lsn(p.u64("LSN")?),
                transactional: p.u8("transactional")? != 0,
                xid: p.u32("xid")?,
                origin: p.u16("origin")?,
                prefix: p.bytes("prefix")?.to_vec(),
                content: p.bytes("content")?.to_vec(),
            },
            K_COMMIT => Frame::Commit {
                commit_lsn: Lsn(p.u64("commit LSN")?),
                end_lsn: Lsn(p.u64("end LSN")?),
                commit_time: p.u64("commit time")? as i64,
                changes: p.u64("change count")?,
            },
            other => {
                return Err(FormatError::Invalid {
                    offset: at,
                    what: format!("unknown frame kind 0x{other:02x}"),
                })
            }
        };
        p.end("frame")?;
        Ok((frame, next))
    }
}

/// A bounds-checked reader over `bytes`, reporting offsets in them.
struct Cur<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    fn new(bytes: &'a [u8], pos: usize) -> Cur<'a> {
        Cur { bytes, pos }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FormatError> {
        match self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()) {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(FormatError::Truncated {
                offset: self.pos,
                len: self.bytes.len(),
                what,
            }),
        }
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, FormatError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, FormatError> {
        Ok(u16::from_le_bytes(
            self.take(2, what)?.try_into().expect("2"),
        ))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4"),
        ))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8"),
        ))
    }
    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], FormatError> {
        let n = self.u32(what)? as usize;
        self.take(n, what)
    }
    fn string(&mut self, what: &'static str) -> Result<String, FormatError> {
        let at = self.pos;
        String::from_utf8(self.bytes(what)?.to_vec()).map_err(|_| FormatError::Invalid {
            offset: at,
            what: format!("{what} is not valid UTF-8"),
        })
    }
    fn tuple(&mut self) -> Result<Vec<Datum>, FormatError> {
        let n = self.u16("tuple column count")?;
        let mut t = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let at = self.pos;
            t.push(match self.u8("value kind")? {
                b'n' => Datum::Null,
                b'u' => Datum::UnchangedToast,
                b't' => Datum::Text(self.bytes("value")?.to_vec()),
                k => {
                    return Err(FormatError::Invalid {
                        offset: at,
                        what: format!("unknown value kind 0x{k:02x}"),
                    })
                }
            });
        }
        Ok(t)
    }
    fn end(&self, what: &'static str) -> Result<(), FormatError> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(FormatError::Invalid {
                offset: self.pos,
                what: format!(
                    "{} unexpected bytes at the end of the {what}",
                    self.bytes.len() - self.pos
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_detect_corruption() {
        let frames = vec![
            Frame::Relation(RelationInfo {
                oid: 16384,
                namespace: "public".into(),
                name: "t".into(),
                replica_identity: b'd',
                columns: vec![RelColumn {
                    attnum: 1,
                    name: "id".into(),
                    type_oid: 23,
                    typmod: -1,
                    type_name: "integer".into(),
                    type_name_plain: "integer".into(),
                    flags: COL_KEY | COL_PRIMARY_KEY | COL_NOT_NULL,
                }],
            }),
            Frame::Begin(Begin {
                xid: 740,
                commit_lsn: Lsn(0x1000),
                end_lsn: Lsn(0x1030),
                commit_time: 1234,
                origin: 0,
                origin_lsn: Lsn(0),
                first_lsn: Lsn(0x800),
                continued: false,
            }),
            Frame::Update {
                rel: 16384,
                lsn: Lsn(0x900),
                old: Some(vec![Datum::Text(b"1".to_vec())]),
                new: Some(vec![Datum::Null, Datum::UnchangedToast]),
            },
            Frame::Truncate {
                lsn: Lsn(0x950),
                cascade: true,
                restart_seqs: false,
                rels: vec![16384, 16390],
            },
            Frame::Message {
                lsn: Lsn(0x990),
                transactional: true,
                xid: 740,
                origin: 0,
                prefix: b"p".to_vec(),
                content: b"\0\x01".to_vec(),
            },
            Frame::Commit {
                commit_lsn: Lsn(0x1000),
                end_lsn: Lsn(0x1030),
                commit_time: 1234,
                changes: 3,
            },
        ];
        let mut bytes = Vec::new();
        for f in &frames {
            f.encode(&mut bytes);
        }
        let mut at = 0;
        let mut back = Vec::new();
        while at < bytes.len() {
            let (f, next) = Frame::decode(&bytes, at).unwrap();
            back.push(f);
            at = next;
        }
        assert_eq!(back, frames);
        for i in [0, 7, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            let mut at = 0;
            let err = loop {
                match Frame::decode(&bad, at) {
                    Ok((_, next)) if next < bad.len() => at = next,
                    Ok(_) => panic!("corruption at {i} not detected"),
                    Err(e) => break e,
                }
            };
            assert!(err.to_string().starts_with("at offset"), "{err}");
        }
        assert!(Frame::decode(&bytes[..bytes.len() - 2], 0).is_ok());
        let last_start = bytes.len() - {
            let mut v = Vec::new();
            frames.last().unwrap().encode(&mut v);
            v.len()
        };
        assert!(matches!(
            Frame::decode(&bytes[..bytes.len() - 1], last_start),
            Err(FormatError::Truncated { .. })
        ));
    }

    #[test]
    fn header_and_trailer_round_trip() {
        let h = Header {
            system_identifier: 7_000_000_000_000_000_001,
            timeline: 2,
            database_oid: 5,
            database_name: "postgres".into(),
            server_version_num: 150018,
            wal_segment_size: 16 << 20,
            segno: 3,
            subseg: 1,
            first_lsn: Lsn(0x3000028),
            last_lsn: Lsn(0x3FF0000),
            first_time: -5,
            last_time: 99,
            flags: FLAG_CONTINUED,
            previous: Some(LcrName {
                timeline: 2,
                segno: 3,
                subseg: 0,
            }),
            previous_commit_end: Lsn(0x2FFFF00),
        };
        let bytes = h.encode();
        let first = Header {
            previous: None,
            previous_commit_end: Lsn(0),
            ..h.clone()
        };
        let first_bytes = first.encode();
        assert_eq!(
            Header::decode(&first_bytes).unwrap(),
            (first, first_bytes.len())
        );
        assert_eq!(Header::decode(&bytes).unwrap(), (h, bytes.len()));
        let mut bad = bytes.clone();
        bad[20] ^= 1;
        assert!(Header::decode(&bad)
            .unwrap_err()
            .to_string()
            .contains("checksum"));
        let t = Trailer {
            frames: 10,
            resume_lsn: Lsn(77),
            commit_end: Lsn(70),
            ..Default::default()
        };
        let body = t.encode_body();
        assert_eq!(body.len() + 4, TRAILER_SIZE);
        assert_eq!(Trailer::decode_body(&body, 0).unwrap(), t);
    }
}
