//! Logical decoding offline: WAL records in, committed transactions out, in commit order, with
//! PostgreSQL's semantics (`decode.c`, `reorderbuffer.c`): changes grouped per transaction,
//! subtransactions merged, aborted work dropped, two-phase commit, speculative insertions,
//! transactional and non-transactional logical messages.
//!
//! Start rule: decoding starts at `start` (a slot's consistent point). Transactions that
//! commit before it are not emitted; if the first record read is a RUNNING_XACTS record (as at
//! a consistent point), transactions with an xid below its `nextXid` began before the start
//! and are not emitted either, as a slot created there would not emit them.

pub mod heap;
pub mod spill;

use std::collections::VecDeque;

// Lookups by xid on every record: a fast non-cryptographic hash (xids are not attacker-chosen
// keys in a way that matters to an offline reader).
use rustc_hash::FxHashMap as HashMap;

use std::sync::Arc;

use crate::catalog::follow::{FollowError, Follower, RowChange, TxnCatalogs};
use crate::catalog::Catalog;
use crate::rmgr::{logicalmsg, standby, xact, DescError};
use crate::wal::lsn::Lsn;
use crate::wal::record::{Record, RelFileLocator};

use heap::HeapChange;
pub use heap::LoggedTuple;
pub use spill::{ChangeStream, SpillError};
use spill::{Source, SpillFile};

const RM_XACT_ID: u8 = 1;
const RM_STANDBY_ID: u8 = 8;
const RM_HEAP2_ID: u8 = 9;
const RM_HEAP_ID: u8 = 10;
const RM_LOGICALMSG_ID: u8 = 21;
const XLOG_RUNNING_XACTS: u8 = 0x10;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("record at {lsn}: {source}")]
    Record { lsn: Lsn, source: DescError },
    #[error(transparent)]
    Spill(#[from] SpillError),
    #[error(transparent)]
    Catalog(Box<FollowError>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Insert {
        rel: RelFileLocator,
        new: LoggedTuple,
    },
    Update {
        rel: RelFileLocator,
        old: Option<LoggedTuple>,
        new: Option<LoggedTuple>,
    },
    Delete {
        rel: RelFileLocator,
        old: Option<LoggedTuple>,
    },
    Truncate {
        relids: Vec<u32>,
        cascade: bool,
        restart_seqs: bool,
    },
    Message {
        prefix: Vec<u8>,
        content: Vec<u8>,
    },
}

/// One change, with the replication origin of the record that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub lsn: Lsn,
    pub origin: Option<u16>,
    pub kind: ChangeKind,
}

impl Change {
    /// Bytes of tuple and message data the change holds.
    pub fn tuple_bytes(&self) -> usize {
        let len = |t: &Option<LoggedTuple>| t.as_ref().map_or(0, |t| t.data.len());
        match &self.kind {
            ChangeKind::Insert { new, .. } => new.data.len(),
            ChangeKind::Update { old, new, .. } => len(old) + len(new),
            ChangeKind::Delete { old, .. } => len(old),
            ChangeKind::Truncate { relids, .. } => 4 * relids.len(),
            ChangeKind::Message { prefix, content } => prefix.len() + content.len(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnEnd {
    Commit,
    /// Emitted at PREPARE TRANSACTION (two-phase decoding).
    Prepare,
    /// COMMIT PREPARED of a transaction already emitted at its PREPARE.
    CommitPrepared,
    /// ROLLBACK PREPARED of a transaction already emitted at its PREPARE.
    RollbackPrepared,
}

/// A decoded transaction, emitted when it ends.
#[derive(Clone, Debug)]
pub struct Txn {
    pub xid: u32,
    pub end: TxnEnd,
    pub gid: Option<String>,
    pub first_lsn: Lsn,
    /// LSN of the record that ended it (commit, prepare, …).
    pub end_lsn: Lsn,
    /// Position after that record.
    pub end_next: Lsn,
    /// Commit or prepare time (µs since 2000-01-01).
    pub time: i64,
    /// Replication origin of the ending record.
    pub origin: Option<u16>,
    pub origin_lsn: Option<Lsn>,
    /// The oldest WAL position a decoder must read from to produce what follows this
    /// transaction: the first record of the oldest transaction still open after it ended.
    pub restart_lsn: Lsn,
    /// The catalog versions its changes see (when the decoder follows the catalog).
    pub catalogs: TxnCatalogs,
}

#[derive(Debug)]
pub enum Event {
    /// A transaction and its changes in LSN order, read from memory and spill files as they
    /// are consumed.
    Txn(Txn, ChangeStream),
    /// A non-transactional logical message, emitted when it is read.
    Message(Message),
}

/// A non-transactional logical message (`pg_logical_emit_message(false, …)`).
#[derive(Debug)]
pub struct Message {
    pub lsn: Lsn,
    pub xid: u32,
    pub origin: Option<u16>,
    pub prefix: Vec<u8>,
    pub content: Vec<u8>,
    /// As [`Txn::restart_lsn`].
    pub restart_lsn: Lsn,
}

#[derive(Clone, Debug)]
pub struct DecoderOptions {
    /// Only changes of this database are decoded.
    pub database: u32,
    pub start: Lsn,
    /// Decode prepared transactions at PREPARE (a slot with `two_phase`).
    pub two_phase: bool,
    /// Prepared transactions whose GID contains this are decoded at COMMIT PREPARED instead
    /// (test_decoding's `_nodecode` filter).
    pub two_phase_skip_gid: Option<String>,
    /// Changes kept in memory before the largest transaction is spilled to disk.
    pub max_memory: usize,
    /// Where spill files go (the system's temporary directory when `None`).
    pub spill_dir: Option<std::path::PathBuf>,
    /// Resuming where an earlier run stopped (`start` is then where its output ended):
    /// the first record read is not taken as a consistent point, and transactions below
    /// this xid (the first run's start rule) stay left out.
    pub resume: Option<Resume>,
}

/// How a resumed decoder applies the start rule of the run that began the stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resume {
    pub skip_xids_below: Option<u32>,
}

#[derive(Default)]
struct TxnState {
    first_lsn: Option<Lsn>,
    /// In PostgreSQL terms, the transaction has a base snapshot: it made a heap change or a
    /// transactional message, so it is shown even when nothing in it is decodable.
    has_changes: bool,
    changes: Vec<Change>,
    /// Approximate bytes held in `changes`.
    mem: usize,
    /// Earlier changes written to disk.
    spill: Option<SpillFile>,
    speculative: Option<Change>,
    /// Catalog rows it wrote, in LSN order.
    catalog_rows: Vec<RowChange>,
}

/// A transaction and its subtransactions, collected at their end.
#[derive(Default)]
struct Collected {
    first_lsn: Option<Lsn>,
    has_changes: bool,
    parts: Vec<TxnState>,
}

impl Collected {
    fn add(&mut self, part: TxnState) {
        self.first_lsn = match (self.first_lsn, part.first_lsn) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.has_changes |= part.has_changes;
        self.parts.push(part);
    }

    fn merge(&mut self, other: Collected) {
        for p in other.parts {
            self.add(p);
        }
        self.has_changes |= other.has_changes;
    }

    /// The catalog rows of all parts, in LSN order.
    fn catalog_rows(&self) -> Vec<RowChange> {
        let mut rows: Vec<RowChange> = self
            .parts
            .iter()
            .flat_map(|p| p.catalog_rows.iter().cloned())
            .collect();
        rows.sort_by_key(|r| r.lsn);
        rows
    }

    fn into_stream(self) -> Result<ChangeStream, SpillError> {
        let sources = self
            .parts
            .into_iter()
            .map(|p| Source::new(p.spill.map(SpillFile::into_reader).transpose()?, p.changes))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ChangeStream::new(sources))
    }
}

/// How a transaction ended, from its ending record.
struct Ending {
    xid: u32,
    kind: TxnEnd,
    gid: Option<String>,
    time: i64,
    origin_lsn: u64,
}

/// A transaction prepared but not yet committed or rolled back.
struct Prepared {
    gid: String,
    /// Its catalog rows, visible once it commits.
    catalog_rows: Vec<RowChange>,
    /// `None` once it was emitted at PREPARE.
    state: Option<Collected>,
}

pub struct Decoder {
    opts: DecoderOptions,
    txns: HashMap<u32, TxnState>,
    top_of: HashMap<u32, u32>,
    prepared: HashMap<u32, Prepared>,
    skip_xids_below: Option<u32>,
    seen_first_record: bool,
    out: VecDeque<Event>,
    /// Approximate bytes of changes held in memory, over all transactions.
    mem: usize,
    follower: Option<Follower>,
    /// Committed catalog versions, each current from its commit LSN on; the first from
    /// before the oldest open transaction.
    history: VecDeque<(Lsn, Arc<Catalog>)>,
}

/// Attaches the record's LSN to a payload error.
trait At<T> {
    fn at(self, rec: &Record<'_>) -> Result<T, DecodeError>;
}

impl<T> At<T> for Result<T, DescError> {
    fn at(self, rec: &Record<'_>) -> Result<T, DecodeError> {
        self.map_err(|source| DecodeError::Record {
            lsn: rec.lsn,
            source,
        })
    }
}

fn running_xacts(rec: &Record<'_>) -> Result<Option<standby::RunningXacts>, DecodeError> {
    if rec.rmid() == RM_STANDBY_ID && rec.info() & 0xF0 == XLOG_RUNNING_XACTS {
        return standby::parse_running_xacts(rec.main_data)
            .at(rec)
            .map(Some);
    }
    Ok(None)
}

/// The start rule for a decoder whose first record is `rec`: transactions below the returned
/// xid began before it (see the module documentation).
pub fn start_rule(rec: &Record<'_>) -> Result<Option<u32>, DecodeError> {
    Ok(running_xacts(rec)?.map(|r| r.next_xid))
}

/// `TransactionIdPrecedes` for normal xids.
fn xid_precedes(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl Decoder {
    pub fn new(opts: DecoderOptions) -> Decoder {
        let resume = opts.resume;
        Decoder {
            opts,
            txns: HashMap::default(),
            top_of: HashMap::default(),
            prepared: HashMap::default(),
            skip_xids_below: resume.and_then(|r| r.skip_xids_below),
            seen_first_record: resume.is_some(),
            out: VecDeque::new(),
            mem: 0,
            follower: None,
            history: VecDeque::new(),
        }
    }

    /// Follows catalog changes from the WAL, starting from `follower`'s dictionary: each
    /// emitted transaction then carries the catalog versions its changes see.
    pub fn follow_catalog(&mut self, mut follower: Follower) {
        self.history = follower.versions().iter().cloned().collect();
        // Catalog rows that transactions still open wrote before the first record fed here.
        for (xid, rows) in follower.take_open() {
            if let Some(first) = rows.first() {
                self.state(xid, first.lsn).catalog_rows.extend(rows);
            }
        }
        self.follower = Some(follower);
    }

    /// The catalog as of the last commit fed (when following the catalog).
    pub fn committed_catalog(&self) -> Option<&Arc<Catalog>> {
        self.follower.as_ref().map(Follower::committed)
    }

    /// The catalog follower, when following the catalog.
    pub fn follower(&self) -> Option<&Follower> {
        self.follower.as_ref()
    }

    /// The committed versions a transaction that began at `first` and ends now saw.
    fn txn_catalogs(&self, first: Lsn, own: Vec<RowChange>) -> TxnCatalogs {
        if self.follower.is_none() {
            return TxnCatalogs::default();
        }
        let from = self
            .history
            .iter()
            .rposition(|(at, _)| *at <= first)
            .unwrap_or(0);
        TxnCatalogs {
            committed: self.history.iter().skip(from).cloned().collect(),
            own,
        }
    }

    /// Makes a transaction's catalog rows visible to what follows its commit at `lsn`.
    fn commit_catalog(
        &mut self,
        lsn: Lsn,
        rows: &[RowChange],
        next: Lsn,
    ) -> Result<(), DecodeError> {
        let Some(f) = self.follower.as_mut() else {
            return Ok(());
        };
        if !f.commit(lsn, rows)? {
            return Ok(());
        }
        self.history.push_back((lsn, f.committed().clone()));
        // Versions older than the one the oldest open transaction began with are not needed.
        let oldest = self.restart_lsn(next);
        while self.history.len() > 1 && self.history[1].0 <= oldest {
            self.history.pop_front();
        }
        Ok(())
    }

    /// The next finished event, in the order PostgreSQL emits them.
    pub fn pop(&mut self) -> Option<Event> {
        self.out.pop_front()
    }

    /// Transactions still open (for the caller's end-of-input report).
    pub fn open_transactions(&self) -> usize {
        self.txns.len()
    }

    /// Where a later run must start reading to produce what follows the records fed so far:
    /// the first record of the oldest open or prepared-but-unfinished transaction, or
    /// `next` (the position after the last record) when there is none.
    pub fn restart_lsn(&self, next: Lsn) -> Lsn {
        let prepared = self.prepared.values().filter_map(|p| p.state.as_ref());
        self.txns
            .values()
            .filter_map(|t| t.first_lsn)
            .chain(prepared.filter_map(|c| c.first_lsn))
            .fold(next, Lsn::min)
    }

    fn top(&self, xid: u32) -> u32 {
        self.top_of.get(&xid).copied().unwrap_or(xid)
    }

    fn state(&mut self, xid: u32, lsn: Lsn) -> &mut TxnState {
        let st = self.txns.entry(xid).or_default();
        if st.first_lsn.is_none() {
            st.first_lsn = Some(lsn);
        }
        st
    }

    fn queue(&mut self, rec: &Record<'_>, kind: ChangeKind) -> Result<(), SpillError> {
        let change = Change {
            lsn: rec.lsn,
            origin: rec.origin,
            kind,
        };
        self.push(rec.xid(), rec.lsn, change)
    }

    fn push(&mut self, xid: u32, lsn: Lsn, change: Change) -> Result<(), SpillError> {
        let size = spill::change_size(&change);
        let st = self.state(xid, lsn);
        st.changes.push(change);
        st.mem += size;
        self.mem += size;
        if self.mem > self.opts.max_memory {
            self.spill_largest()?;
        }
        Ok(())
    }

    /// Writes the changes of the transaction holding the most memory to its spill file.
    fn spill_largest(&mut self) -> Result<(), SpillError> {
        while self.mem > self.opts.max_memory / 2 {
            let Some((&xid, _)) = self.txns.iter().max_by_key(|(_, st)| st.mem) else {
                return Ok(());
            };
            let dir = self.opts.spill_dir.clone();
            let st = self.txns.get_mut(&xid).expect("chosen above");
            if st.mem == 0 {
                return Ok(());
            }
            let file = match &mut st.spill {
                Some(f) => f,
                None => st.spill.insert(SpillFile::create(dir.as_deref())?),
            };
            file.append(st.changes.drain(..))?;
            // The emptied vector's capacity would stay allocated, outside the accounting.
            st.changes = Vec::new();
            self.mem -= st.mem;
            st.mem = 0;
        }
        Ok(())
    }

    /// Removes a transaction from memory accounting when it leaves the reorder buffer.
    fn release(&mut self, st: &TxnState) {
        self.mem -= st.mem;
    }

    /// Feeds one record, in WAL order.
    pub fn feed(&mut self, rec: &Record<'_>) -> Result<(), DecodeError> {
        if let Some(running) = running_xacts(rec)? {
            if !self.seen_first_record {
                self.skip_xids_below = Some(running.next_xid);
            }
            self.forget_older_than(running.oldest_running_xid);
        }
        self.seen_first_record = true;
        let xid = rec.xid();
        if let Some(top) = rec.toplevel_xid {
            if top != 0 && xid != 0 {
                self.top_of.insert(xid, top);
            }
        }
        if xid != 0 {
            self.state(xid, rec.lsn);
        }
        if let Some(f) = self.follower.as_mut().filter(|f| f.needs(rec)) {
            let rows = f.feed(rec)?;
            if !rows.is_empty() && xid != 0 {
                self.state(xid, rec.lsn).catalog_rows.extend(rows);
            }
        }
        match rec.rmid() {
            RM_HEAP_ID | RM_HEAP2_ID => self.feed_heap(rec),
            RM_XACT_ID => self.feed_xact(rec),
            RM_LOGICALMSG_ID => self.feed_message(rec),
            _ => Ok(()),
        }
    }

    fn mark_changed(&mut self, rec: &Record<'_>) {
        let xid = rec.xid();
        if xid == 0 {
            return;
        }
        // PostgreSQL gives the base snapshot to the top-level transaction when it knows it.
        let top = self.top(xid);
        if top != xid {
            self.state(top, rec.lsn).has_changes = true;
        }
        self.state(xid, rec.lsn).has_changes = true;
    }

    fn feed_heap(&mut self, rec: &Record<'_>) -> Result<(), DecodeError> {
        if heap::gives_base_snapshot(rec.rmid(), rec.info()) {
            self.mark_changed(rec);
        }
        let change = if rec.rmid() == RM_HEAP_ID {
            heap::decode_heap(rec).at(rec)?
        } else {
            heap::decode_heap2(rec).at(rec)?
        };
        let Some(change) = change else { return Ok(()) };
        let db = self.opts.database;
        match change {
            HeapChange::Insert {
                rel,
                tuple,
                speculative,
            } if rel.db == db => {
                let kind = ChangeKind::Insert { rel, new: tuple };
                if speculative {
                    let change = Change {
                        lsn: rec.lsn,
                        origin: rec.origin,
                        kind,
                    };
                    self.state(rec.xid(), rec.lsn).speculative = Some(change);
                } else {
                    self.queue(rec, kind)?;
                }
            }
            HeapChange::MultiInsert { rel, tuples } if rel.db == db => {
                for new in tuples {
                    self.queue(rec, ChangeKind::Insert { rel, new })?;
                }
            }
            HeapChange::Update { rel, old, new } if rel.db == db => {
                self.queue(rec, ChangeKind::Update { rel, old, new })?;
            }
            HeapChange::Delete { rel, old } if rel.db == db => {
                self.queue(rec, ChangeKind::Delete { rel, old })?;
            }
            HeapChange::SpeculativeConfirm { rel } if rel.db == db => {
                let st = self.state(rec.xid(), rec.lsn);
                // The confirmed insertion keeps its own LSN, as the reorder buffer's does.
                if let Some(change) = st.speculative.take() {
                    st.changes.push(change);
                }
            }
            HeapChange::SpeculativeAbort { rel } if rel.db == db => {
                self.state(rec.xid(), rec.lsn).speculative = None;
            }
            HeapChange::Truncate {
                db: tdb,
                relids,
                cascade,
                restart_seqs,
            } if tdb == db => {
                self.queue(
                    rec,
                    ChangeKind::Truncate {
                        relids,
                        cascade,
                        restart_seqs,
                    },
                )?;
            }
            _ => {}
        }
        Ok(())
    }

    fn feed_message(&mut self, rec: &Record<'_>) -> Result<(), DecodeError> {
        let msg = logicalmsg::parse_message(rec.main_data).at(rec)?;
        if msg.transactional {
            self.mark_changed(rec);
        }
        if msg.db_id != self.opts.database {
            return Ok(());
        }
        // PostgreSQL reports a message at the end of its record (`buf->endptr`).
        if msg.transactional {
            let change = Change {
                lsn: rec.end,
                origin: rec.origin,
                kind: ChangeKind::Message {
                    prefix: msg.prefix.to_vec(),
                    content: msg.payload.to_vec(),
                },
            };
            self.push(rec.xid(), rec.lsn, change)?;
        } else if rec.lsn >= self.opts.start {
            let restart_lsn = self.restart_lsn(rec.end);
            self.out.push_back(Event::Message(Message {
                lsn: rec.end,
                xid: rec.xid(),
                origin: rec.origin,
                prefix: msg.prefix.to_vec(),
                content: msg.payload.to_vec(),
                restart_lsn,
            }));
        }
        Ok(())
    }

    /// Drops transactions older than the oldest one still running: they ended without an
    /// abort record (a crash), as `ReorderBufferAbortOld` does.
    fn forget_older_than(&mut self, oldest_running: u32) {
        let gone: Vec<u32> = self
            .txns
            .keys()
            .copied()
            .filter(|&x| xid_precedes(x, oldest_running))
            .collect();
        for xid in gone {
            if let Some(st) = self.txns.remove(&xid) {
                self.release(&st);
            }
            self.top_of.remove(&xid);
        }
    }

    /// Removes a transaction and its subtransactions from the buffer.
    fn take_merged(&mut self, xid: u32, subxacts: &[u32]) -> Collected {
        let mut collected = Collected::default();
        let children: Vec<u32> = self
            .top_of
            .iter()
            .filter(|(_, &top)| top == xid)
            .map(|(&sub, _)| sub)
            .collect();
        for x in std::iter::once(xid)
            .chain(subxacts.iter().copied())
            .chain(children)
        {
            if x != xid {
                self.top_of.remove(&x);
            }
            if let Some(st) = self.txns.remove(&x) {
                self.release(&st);
                collected.add(st);
            }
        }
        collected
    }

    fn skipped(&self, xid: u32, end_lsn: Lsn, db: u32) -> bool {
        end_lsn < self.opts.start
            || (db != 0 && db != self.opts.database)
            || self.skip_xids_below.is_some_and(|n| xid_precedes(xid, n))
    }

    fn emit(&mut self, rec: &Record<'_>, end: Ending, st: Collected) -> Result<(), SpillError> {
        let first_lsn = st.first_lsn.unwrap_or(rec.lsn);
        let catalogs = self.txn_catalogs(first_lsn, st.catalog_rows());
        self.out.push_back(Event::Txn(
            Txn {
                xid: end.xid,
                end: end.kind,
                gid: end.gid,
                first_lsn,
                end_lsn: rec.lsn,
                end_next: rec.end,
                time: end.time,
                origin: rec.origin,
                origin_lsn: (end.origin_lsn != 0).then_some(Lsn(end.origin_lsn)),
                restart_lsn: self.restart_lsn(rec.end),
                catalogs,
            },
            st.into_stream()?,
        ));
        Ok(())
    }

    fn feed_xact(&mut self, rec: &Record<'_>) -> Result<(), DecodeError> {
        let info = rec.info() & xact::XLOG_XACT_OPMASK;
        match info {
            xact::XLOG_XACT_COMMIT | xact::XLOG_XACT_COMMIT_PREPARED => {
                let p = xact::parse_commit(rec).at(rec)?;
                let prepared = info == xact::XLOG_XACT_COMMIT_PREPARED;
                let xid = if prepared { p.twophase_xid } else { rec.xid() };
                if let Some(f) = &self.follower {
                    f.check_commit(xid, p.xinfo, p.db_id, rec.lsn)?;
                }
                let mut st = self.take_merged(xid, &p.subxacts);
                let mut gid = None;
                let mut end = TxnEnd::Commit;
                let mut rows = Vec::new();
                if prepared {
                    if let Some(prep) = self.prepared.remove(&xid) {
                        gid = Some(prep.gid);
                        rows = prep.catalog_rows;
                        match prep.state {
                            Some(s) => st.merge(s),
                            None => end = TxnEnd::CommitPrepared,
                        }
                    }
                }
                if end == TxnEnd::Commit {
                    rows = st.catalog_rows();
                }
                let skip = self.skipped(xid, rec.lsn, p.db_id)
                    || (end == TxnEnd::Commit && !st.has_changes);
                if skip {
                    return self.commit_catalog(rec.lsn, &rows, rec.end);
                }
                // A commit replayed from another origin reports the origin's commit time
                // (`DecodeCommit`).
                let time = if p.xinfo & xact::XACT_XINFO_HAS_ORIGIN != 0 {
                    p.origin_timestamp
                } else {
                    p.xact_time
                };
                let ending = Ending {
                    xid,
                    kind: end,
                    gid,
                    time,
                    origin_lsn: p.origin_lsn,
                };
                self.emit(rec, ending, st)?;
                self.commit_catalog(rec.lsn, &rows, rec.end)?;
            }
            xact::XLOG_XACT_ABORT | xact::XLOG_XACT_ABORT_PREPARED => {
                let p = xact::parse_abort(rec).at(rec)?;
                let prepared = info == xact::XLOG_XACT_ABORT_PREPARED;
                let xid = if prepared { p.twophase_xid } else { rec.xid() };
                let st = self.take_merged(xid, &p.subxacts);
                if prepared {
                    if let Some(prep) = self.prepared.remove(&xid) {
                        if prep.state.is_none() && !self.skipped(xid, rec.lsn, p.db_id) {
                            let ending = Ending {
                                xid,
                                kind: TxnEnd::RollbackPrepared,
                                gid: Some(prep.gid),
                                time: p.xact_time,
                                origin_lsn: p.origin_lsn,
                            };
                            self.emit(rec, ending, st)?;
                        }
                    }
                }
            }
            xact::XLOG_XACT_PREPARE => {
                let p = xact::parse_prepare(rec).at(rec)?;
                let xid = rec.xid();
                let st = self.take_merged(xid, &p.subxacts);
                let catalog_rows = st.catalog_rows();
                let gid = String::from_utf8_lossy(p.gid).into_owned();
                let decode_now = self.opts.two_phase
                    && !self
                        .opts
                        .two_phase_skip_gid
                        .as_deref()
                        .is_some_and(|s| gid.contains(s));
                if decode_now && st.has_changes && !self.skipped(xid, rec.lsn, p.db_id) {
                    let ending = Ending {
                        xid,
                        kind: TxnEnd::Prepare,
                        gid: Some(gid.clone()),
                        time: p.prepared_at,
                        origin_lsn: p.origin_lsn,
                    };
                    self.emit(rec, ending, st)?;
                    self.prepared.insert(
                        xid,
                        Prepared {
                            gid,
                            catalog_rows,
                            state: None,
                        },
                    );
                } else {
                    self.prepared.insert(
                        xid,
                        Prepared {
                            gid,
                            catalog_rows,
                            state: Some(st),
                        },
                    );
                }
            }
            xact::XLOG_XACT_ASSIGNMENT => {
                let a = xact::parse_assignment(rec.main_data).at(rec)?;
                for sub in a.subxacts {
                    self.top_of.insert(sub, a.xtop);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl From<FollowError> for DecodeError {
    fn from(e: FollowError) -> DecodeError {
        DecodeError::Catalog(Box::new(e))
    }
}
