//! Source transactions read back from LCR files in order, whole even when they span files.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use crate::lcr::format::{Begin, Frame, RelationInfo};
use crate::lcr::{self, LcrError, LcrFile, LcrName};
use crate::wal::lsn::Lsn;

/// A committed source transaction.
#[derive(Debug)]
pub struct SourceTxn {
    pub begin: Begin,
    /// Its changes: INSERT, UPDATE, DELETE, TRUNCATE and transactional MESSAGE frames.
    pub changes: Vec<Frame>,
    /// The file holding its COMMIT (named in errors).
    pub file: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("could not list LCR directory \"{}\": {source}", .dir.display())]
    List {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Lcr(#[from] LcrError),
    #[error("LCR file \"{}\": {what}", .file.display())]
    Sequence { file: PathBuf, what: String },
    #[error(
        "LCR file \"{}\" is missing: \"{}\" was written after it, but follows \"{}\" here",
        .missing.display(), .next.display(), .before.display()
    )]
    Missing {
        missing: PathBuf,
        next: PathBuf,
        before: PathBuf,
    },
    #[error(
        "LCR file \"{}\" has already been removed, but this target still needs it: the files \
         up to it hold transactions committed up to {committed}, and the target has applied up \
         to {applied}",
        .missing.display()
    )]
    Removed {
        missing: PathBuf,
        committed: Lsn,
        applied: Lsn,
    },
}

/// Reads the LCR files of a directory in name order, from the first that may hold a
/// transaction committed after `after`.
pub struct TxnStream {
    dir: PathBuf,
    files: Vec<(LcrName, PathBuf)>,
    /// The file read last, and the end LSN of the newest commit up to its end.
    previous: Option<(LcrName, Lsn)>,
    /// Whether the files before the first one here must hold only applied transactions.
    check_first: bool,
    next_file: usize,
    frames: std::vec::IntoIter<Frame>,
    current: Option<PathBuf>,
    relations: FxHashMap<u32, RelationInfo>,
    open: Option<SourceTxn>,
    after: Lsn,
}

impl TxnStream {
    /// `after` is the end LSN of the last transaction applied (0 for none): files that
    /// held transactions after it must all be there.
    pub fn open(dir: &Path, after: Lsn) -> Result<TxnStream, StreamError> {
        let files = lcr::list_dir(dir).map_err(|source| StreamError::List {
            dir: dir.to_path_buf(),
            source,
        })?;
        Ok(TxnStream {
            dir: dir.to_path_buf(),
            files,
            previous: None,
            check_first: true,
            next_file: 0,
            frames: Vec::new().into_iter(),
            current: None,
            relations: Default::default(),
            open: None,
            after,
        })
    }

    /// Reads all the files, from the first one here, whatever came before it.
    pub fn open_from_first(dir: &Path) -> Result<TxnStream, StreamError> {
        Ok(TxnStream {
            check_first: false,
            ..Self::open(dir, Lsn(0))?
        })
    }

    /// Takes in the files that arrived since the directory was listed: those named after the
    /// last one listed (a file being shipped has no LCR name until it is complete).
    pub fn refresh(&mut self) -> Result<(), StreamError> {
        let files = lcr::list_dir(&self.dir).map_err(|source| StreamError::List {
            dir: self.dir.clone(),
            source,
        })?;
        let last = self.files.last().map(|(name, _)| *name);
        self.files
            .extend(files.into_iter().filter(|(name, _)| Some(*name) > last));
        Ok(())
    }

    pub fn relation(&self, oid: u32) -> Option<&RelationInfo> {
        self.relations.get(&oid)
    }

    /// Every relation described so far.
    pub fn relations(&self) -> &FxHashMap<u32, RelationInfo> {
        &self.relations
    }

    /// The next frame, moving on to the next file as needed; `None` at the end of the files.
    fn next_frame(&mut self) -> Result<Option<Frame>, StreamError> {
        loop {
            if let Some(f) = self.frames.next() {
                return Ok(Some(f));
            }
            let Some((_, path)) = self.files.get(self.next_file).cloned() else {
                return Ok(None);
            };
            self.next_file += 1;
            let (header, trailer, _) = LcrFile::read_ends(&path)?;
            self.check_chain(&path, &header)?;
            self.previous = Some((self.files[self.next_file - 1].0, trailer.commit_end));
            // A file whose commits all precede the position is skipped without reading its
            // blocks, unless it ends inside a transaction whose end is still to come.
            let continues = header.flags & lcr::format::FLAG_CONTINUES != 0;
            if header.last_lsn < self.after && !continues && self.open.is_none() {
                continue;
            }
            let file = LcrFile::open(&path)?;
            let frames = file.frames().collect::<Result<Vec<_>, _>>()?;
            self.frames = frames.into_iter();
            self.current = Some(path);
        }
    }

    /// Checks that no file is missing before `path`: the one its header names as its
    /// predecessor is the one read before it or, for the first file here, one whose
    /// transactions are all applied.
    fn check_chain(&self, path: &Path, header: &lcr::format::Header) -> Result<(), StreamError> {
        let in_dir = |name: &LcrName| self.dir.join(name.to_string());
        match (self.previous, header.previous) {
            (None, None) => Ok(()),
            (None, Some(missing))
                if self.check_first && header.previous_commit_end > self.after =>
            {
                Err(StreamError::Removed {
                    missing: in_dir(&missing),
                    committed: header.previous_commit_end,
                    applied: self.after,
                })
            }
            (None, Some(_)) => Ok(()),
            (Some((before, _)), None) => Err(StreamError::Sequence {
                file: path.to_path_buf(),
                what: format!(
                    "begins a stream of its own, but follows \"{}\"",
                    in_dir(&before).display()
                ),
            }),
            (Some((before, _)), Some(previous)) if previous != before => {
                Err(StreamError::Missing {
                    missing: in_dir(&previous),
                    next: path.to_path_buf(),
                    before: in_dir(&before),
                })
            }
            (Some((before, commit_end)), Some(_)) if commit_end != header.previous_commit_end => {
                Err(StreamError::Sequence {
                    file: path.to_path_buf(),
                    what: format!(
                        "was written after commits up to {}, but \"{}\" ends with commits up to {commit_end}",
                        header.previous_commit_end,
                        in_dir(&before).display()
                    ),
                })
            }
            (Some(_), Some(_)) => Ok(()),
        }
    }

    fn sequence_error(&self, what: String) -> StreamError {
        StreamError::Sequence {
            file: self.current.clone().unwrap_or_default(),
            what,
        }
    }

    /// The next committed transaction; `None` when the files end (a transaction continued in a
    /// file not yet there stays unread).
    pub fn next_txn(&mut self) -> Result<Option<SourceTxn>, StreamError> {
        while let Some(frame) = self.next_frame()? {
            match frame {
                Frame::Relation(r) => {
                    self.relations.insert(r.oid, r);
                }
                Frame::Begin(b) if b.continued => match &self.open {
                    Some(t) if t.begin.xid == b.xid && t.begin.commit_lsn == b.commit_lsn => {}
                    // Reading starts with this file: the transaction began before, and was
                    // applied already or must wait for its earlier files.
                    None if b.end_lsn <= self.after => {
                        self.open = Some(SourceTxn {
                            begin: b,
                            changes: Vec::new(),
                            file: PathBuf::new(),
                        })
                    }
                    _ => {
                        return Err(self.sequence_error(format!(
                            "continues transaction {} (commit {}), whose beginning is missing",
                            b.xid, b.commit_lsn
                        )))
                    }
                },
                Frame::Begin(b) => {
                    if let Some(t) = &self.open {
                        return Err(self.sequence_error(format!(
                            "transaction {} begins before transaction {} ended",
                            b.xid, t.begin.xid
                        )));
                    }
                    self.open = Some(SourceTxn {
                        begin: b,
                        changes: Vec::new(),
                        file: PathBuf::new(),
                    });
                }
                Frame::Commit { .. } => {
                    let Some(mut t) = self.open.take() else {
                        return Err(self.sequence_error("COMMIT without BEGIN".into()));
                    };
                    if t.begin.end_lsn <= self.after {
                        continue;
                    }
                    t.file = self.current.clone().unwrap_or_default();
                    return Ok(Some(t));
                }
                // Non-transactional messages are for consumers of the stream, not for tables.
                Frame::Message {
                    transactional: false,
                    ..
                } => {}
                change => match &mut self.open {
                    Some(t) if t.begin.end_lsn <= self.after => {}
                    Some(t) => t.changes.push(change),
                    None => {
                        return Err(self.sequence_error("a change outside a transaction".into()))
                    }
                },
            }
        }
        Ok(None)
    }
}
