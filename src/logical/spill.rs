//! Spilling transactions to disk so decoding stays within `--max-memory` (the reorder
//! buffer's spill files): changes are appended to a per-transaction temporary file in WAL
//! order and read back as a stream at commit, merged with what stayed in memory.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::{Change, ChangeKind, LoggedTuple};
use crate::wal::lsn::Lsn;
use crate::wal::record::RelFileLocator;

#[derive(Debug, thiserror::Error)]
#[error("transaction spill file: {0}")]
pub struct SpillError(#[from] pub std::io::Error);

/// An approximation of what a change occupies in memory, for the memory bound.
pub fn change_size(c: &Change) -> usize {
    const OVERHEAD: usize = 96;
    let tuple = |t: &Option<LoggedTuple>| t.as_ref().map_or(0, |t| t.data.len() + 8);
    OVERHEAD
        + match &c.kind {
            ChangeKind::Insert { new, .. } => new.data.len(),
            ChangeKind::Update { old, new, .. } => tuple(old) + tuple(new),
            ChangeKind::Delete { old, .. } => tuple(old),
            ChangeKind::Truncate { relids, .. } => relids.len() * 4,
            ChangeKind::Message { prefix, content } => prefix.len() + content.len(),
        }
}

/// The changes of one transaction (or subtransaction) written out so far.
pub struct SpillFile {
    file: BufWriter<File>,
    count: usize,
}

impl SpillFile {
    pub fn create(dir: Option<&Path>) -> Result<SpillFile, SpillError> {
        // Unlinked at once: nothing is left behind if the process dies.
        let file = match dir {
            Some(d) => tempfile::tempfile_in(d)?,
            None => tempfile::tempfile()?,
        };
        Ok(SpillFile {
            file: BufWriter::with_capacity(1 << 16, file),
            count: 0,
        })
    }

    pub fn append(&mut self, changes: impl IntoIterator<Item = Change>) -> Result<(), SpillError> {
        let mut buf = Vec::new();
        for c in changes {
            buf.clear();
            encode(&c, &mut buf);
            self.file.write_all(&(buf.len() as u32).to_le_bytes())?;
            self.file.write_all(&buf)?;
            self.count += 1;
        }
        Ok(())
    }

    /// Reads the changes back, in the order they were written.
    pub fn into_reader(self) -> Result<SpillReader, SpillError> {
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        Ok(SpillReader {
            file: BufReader::with_capacity(1 << 16, file),
            left: self.count,
        })
    }
}

pub struct SpillReader {
    file: BufReader<File>,
    left: usize,
}

impl SpillReader {
    pub fn next_change(&mut self) -> Result<Option<Change>, SpillError> {
        if self.left == 0 {
            return Ok(None);
        }
        let mut len = [0u8; 4];
        self.file.read_exact(&mut len)?;
        let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
        self.file.read_exact(&mut buf)?;
        self.left -= 1;
        decode(&buf)
            .map(Some)
            .ok_or_else(|| SpillError(std::io::Error::other("corrupt spill record")))
    }
}

/// One source of a transaction's changes: spilled ones first, then those still in memory.
pub struct Source {
    spilled: Option<SpillReader>,
    memory: VecDeque<Change>,
    head: Option<Change>,
}

impl Source {
    pub fn new(spilled: Option<SpillReader>, memory: Vec<Change>) -> Result<Source, SpillError> {
        let mut s = Source {
            spilled,
            memory: memory.into(),
            head: None,
        };
        s.advance()?;
        Ok(s)
    }

    fn advance(&mut self) -> Result<(), SpillError> {
        self.head = match &mut self.spilled {
            Some(r) => match r.next_change()? {
                Some(c) => Some(c),
                None => {
                    self.spilled = None;
                    self.memory.pop_front()
                }
            },
            None => self.memory.pop_front(),
        };
        Ok(())
    }
}

/// A transaction's changes in LSN order, merged from the sources of its subtransactions.
pub struct ChangeStream {
    sources: Vec<Source>,
}

impl std::fmt::Debug for ChangeStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChangeStream({} sources)", self.sources.len())
    }
}

impl ChangeStream {
    pub fn new(sources: Vec<Source>) -> ChangeStream {
        ChangeStream { sources }
    }

    pub fn from_vec(changes: Vec<Change>) -> ChangeStream {
        ChangeStream {
            sources: vec![Source {
                spilled: None,
                memory: changes.into(),
                head: None,
            }],
        }
        .primed()
    }

    fn primed(mut self) -> ChangeStream {
        for s in &mut self.sources {
            if s.head.is_none() {
                s.head = s.memory.pop_front();
            }
        }
        self
    }

    fn min_source(&self) -> Option<usize> {
        self.sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.head.as_ref().map(|c| (c.lsn, i)))
            .min()
            .map(|(_, i)| i)
    }

    /// The LSN of the change `next_change` will return.
    pub fn peek_lsn(&self) -> Option<Lsn> {
        self.min_source()
            .and_then(|i| self.sources[i].head.as_ref().map(|c| c.lsn))
    }

    pub fn next_change(&mut self) -> Result<Option<Change>, SpillError> {
        let Some(i) = self.min_source() else {
            return Ok(None);
        };
        let change = self.sources[i].head.take();
        self.sources[i].advance()?;
        Ok(change)
    }

    /// All remaining changes (tests and small transactions).
    pub fn collect_all(mut self) -> Result<Vec<Change>, SpillError> {
        let mut v = Vec::new();
        while let Some(c) = self.next_change()? {
            v.push(c);
        }
        Ok(v)
    }
}

fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(b: &mut Vec<u8>, v: &[u8]) {
    put_u32(b, v.len() as u32);
    b.extend_from_slice(v);
}

fn put_rel(b: &mut Vec<u8>, r: &RelFileLocator) {
    put_u32(b, r.spc);
    put_u32(b, r.db);
    put_u32(b, r.rel);
}

fn put_tuple(b: &mut Vec<u8>, t: &Option<LoggedTuple>) {
    match t {
        None => b.push(0),
        Some(t) => {
            b.push(1);
            b.extend_from_slice(&t.infomask2.to_le_bytes());
            b.extend_from_slice(&t.infomask.to_le_bytes());
            b.push(t.hoff);
            put_bytes(b, &t.data);
        }
    }
}

fn encode(c: &Change, b: &mut Vec<u8>) {
    b.extend_from_slice(&c.lsn.0.to_le_bytes());
    match c.origin {
        None => b.push(0),
        Some(o) => {
            b.push(1);
            b.extend_from_slice(&o.to_le_bytes());
        }
    }
    match &c.kind {
        ChangeKind::Insert { rel, new } => {
            b.push(0);
            put_rel(b, rel);
            put_tuple(b, &Some(new.clone()));
        }
        ChangeKind::Update { rel, old, new } => {
            b.push(1);
            put_rel(b, rel);
            put_tuple(b, old);
            put_tuple(b, new);
        }
        ChangeKind::Delete { rel, old } => {
            b.push(2);
            put_rel(b, rel);
            put_tuple(b, old);
        }
        ChangeKind::Truncate {
            relids,
            cascade,
            restart_seqs,
        } => {
            b.push(3);
            b.push(u8::from(*cascade));
            b.push(u8::from(*restart_seqs));
            put_u32(b, relids.len() as u32);
            for r in relids {
                put_u32(b, *r);
            }
        }
        ChangeKind::Message { prefix, content } => {
            b.push(4);
            put_bytes(b, prefix);
            put_bytes(b, content);
        }
    }
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.u32()? as usize;
        self.take(n).map(<[u8]>::to_vec)
    }
    fn rel(&mut self) -> Option<RelFileLocator> {
        Some(RelFileLocator {
            spc: self.u32()?,
            db: self.u32()?,
            rel: self.u32()?,
        })
    }
    fn tuple(&mut self) -> Option<Option<LoggedTuple>> {
        Some(match self.u8()? {
            0 => None,
            _ => Some(LoggedTuple {
                infomask2: self.u16()?,
                infomask: self.u16()?,
                hoff: self.u8()?,
                data: self.bytes()?,
            }),
        })
    }
}

fn decode(buf: &[u8]) -> Option<Change> {
    let mut i = Input(buf);
    let lsn = Lsn(i.u64()?);
    let origin = match i.u8()? {
        0 => None,
        _ => Some(i.u16()?),
    };
    let kind = match i.u8()? {
        0 => ChangeKind::Insert {
            rel: i.rel()?,
            new: i.tuple()??,
        },
        1 => ChangeKind::Update {
            rel: i.rel()?,
            old: i.tuple()?,
            new: i.tuple()?,
        },
        2 => ChangeKind::Delete {
            rel: i.rel()?,
            old: i.tuple()?,
        },
        3 => {
            let cascade = i.u8()? != 0;
            let restart_seqs = i.u8()? != 0;
            let n = i.u32()? as usize;
            let relids = (0..n).map(|_| i.u32()).collect::<Option<Vec<_>>>()?;
            ChangeKind::Truncate {
                relids,
                cascade,
                restart_seqs,
            }
        }
        4 => ChangeKind::Message {
            prefix: i.bytes()?,
            content: i.bytes()?,
        },
        _ => return None,
    };
    Some(Change { lsn, origin, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple(n: u8) -> LoggedTuple {
        LoggedTuple {
            infomask2: 3,
            infomask: 0x0802,
            hoff: 24,
            data: vec![n; 10],
        }
    }

    #[test]
    fn spilled_changes_merge_back_in_lsn_order() {
        let rel = RelFileLocator {
            spc: 1663,
            db: 5,
            rel: 16384,
        };
        let c = |lsn: u64, kind: ChangeKind| Change {
            lsn: Lsn(lsn),
            origin: lsn.is_multiple_of(2).then_some(7),
            kind,
        };
        let top_spilled = vec![
            c(10, ChangeKind::Insert { rel, new: tuple(1) }),
            c(
                30,
                ChangeKind::Update {
                    rel,
                    old: None,
                    new: Some(tuple(2)),
                },
            ),
        ];
        let top_memory = vec![c(
            50,
            ChangeKind::Delete {
                rel,
                old: Some(tuple(3)),
            },
        )];
        let sub_memory = vec![
            c(
                20,
                ChangeKind::Truncate {
                    relids: vec![1, 2],
                    cascade: true,
                    restart_seqs: false,
                },
            ),
            c(
                40,
                ChangeKind::Message {
                    prefix: b"p".to_vec(),
                    content: vec![0, 255],
                },
            ),
        ];
        let mut file = SpillFile::create(None).unwrap();
        file.append(top_spilled.clone()).unwrap();
        let stream = ChangeStream::new(vec![
            Source::new(Some(file.into_reader().unwrap()), top_memory.clone()).unwrap(),
            Source::new(None, sub_memory.clone()).unwrap(),
        ]);
        let got = stream.collect_all().unwrap();
        let mut want = [top_spilled, top_memory, sub_memory].concat();
        want.sort_by_key(|c| c.lsn);
        assert_eq!(got, want);
    }
}
