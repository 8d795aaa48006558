//! Writing LCR files from decoded transactions: an output plugin for the decoding driver.
//!
//! Frames collect in blocks of about `block_target` bytes; a block is compressed and appended
//! to the open file, or, when that would take the file past its maximum size, starts the next
//! sub-segment file. A file is published (fsynced, renamed to its final name, directory
//! fsynced) only when complete: when a commit of a later WAL segment arrives, when it is
//! full, or at the end of a run once its whole WAL segment was read. What a file holds
//! depends on the WAL alone, never on where runs stopped, so a rerun after a crash writes
//! byte-identical files.

use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use crate::catalog::{Catalog, Relation};
use crate::logical::{Change, LoggedTuple, Message, Txn};
use crate::output::driver::Plugin;
use crate::output::{
    self, Job, OutputError, Raw, Resolved, Row, RowAction, RowParts, Sink, Value, ValueScratch,
};
use crate::tuple::types::OutputContext;
use crate::wal::lsn::Lsn;

use super::format::{
    put_frame, put_null_value, put_text_value, put_unchanged_value, Begin, Frame, Header,
    RelColumn, RelationInfo, Trailer, BLOCK_HEADER_SIZE, COL_KEY, COL_NOT_NULL, COL_PRIMARY_KEY,
    FLAG_CONTINUED, FLAG_CONTINUES, K_DELETE, K_INSERT, K_UPDATE, TRAILER_SIZE,
};
use super::LcrName;

/// Where the stream stands: events before `resume_lsn` are written (and `resume_skip`
/// changes of the transaction committing there); `restart_lsn` is where reading must start
/// to produce what follows; `commit_end` is the end LSN of the newest COMMIT written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub resume_lsn: Lsn,
    pub resume_skip: u64,
    pub restart_lsn: Lsn,
    pub commit_end: Lsn,
}

/// What every file of a stream carries in its header.
#[derive(Clone, Debug)]
pub struct Settings {
    pub dir: PathBuf,
    /// Largest file size; a single block larger than this still gets a file of its own.
    pub max_size: u64,
    pub system_identifier: u64,
    pub timeline: u32,
    pub database_oid: u32,
    pub database_name: String,
    pub server_version_num: u32,
    pub wal_segment_size: u32,
}

/// A file the writer published.
#[derive(Clone, Debug)]
pub struct Published {
    pub name: LcrName,
    pub size: u64,
    pub trailer: Trailer,
}

/// A transaction being written.
struct TxnProgress {
    begin: Begin,
    /// Changes of the transaction written so far, in this run and earlier ones.
    written: u64,
    /// Changes still to leave out (written before a restart).
    skip: u64,
    /// Its BEGIN frame is out.
    begun: bool,
}

/// A RELATION frame.
type RelFrame = Rc<Vec<u8>>;

/// Whether two RELATION frames describe a relation alike.
fn same_frame(a: &RelFrame, b: &RelFrame) -> bool {
    Rc::ptr_eq(a, b) || a == b
}

/// Frames not yet compressed.
#[derive(Default)]
struct Block {
    body: Vec<u8>,
    /// Relations the body refers to, in order of first use.
    rels: Vec<u32>,
    /// By relation: the RELATION frame its first change in the block needs (declared before
    /// the body when the file has not declared it so), and the one its last change used
    /// (after DDL, a change may need another description than the one before it, which the
    /// body then carries right before it).
    rel_frames: FxHashMap<u32, (RelFrame, RelFrame)>,
    /// The stream's position before the block's first frame, and the transaction then open.
    start: Option<(Position, Option<Begin>)>,
    first_event: Option<(Lsn, i64)>,
    last_event: Option<(Lsn, i64)>,
    frames: u64,
    transactions: u64,
    changes: u64,
    messages: u64,
}

/// A sealed block whose compression is under way.
struct PendingBlock {
    block: Block,
    start_pos: Position,
    open_txn: Option<Begin>,
    /// Frames in the prefix compressed with the body.
    prefix_frames: u64,
}

/// Compresses blocks (zstd level 1, one context for the run). With more than one thread a
/// block is compressed on a rayon thread while the writer fills the next one; compression is
/// the largest single cost of writing LCR files. The bytes are the same either way.
struct BlockCompressor {
    background: bool,
    /// None while lent to a compression under way.
    ctx: Option<zstd::bulk::Compressor<'static>>,
    running: Option<std::sync::mpsc::Receiver<Compressed>>,
    /// A compression done on the writer's own thread.
    done: Option<Compressed>,
}

struct Compressed {
    ctx: zstd::bulk::Compressor<'static>,
    raw: Vec<u8>,
    z: Vec<u8>,
    result: std::io::Result<()>,
}

impl Compressed {
    fn new(mut ctx: zstd::bulk::Compressor<'static>, raw: Vec<u8>, mut z: Vec<u8>) -> Compressed {
        z.clear();
        z.reserve(zstd::zstd_safe::compress_bound(raw.len()));
        let result = ctx.compress_to_buffer(&raw, &mut z).map(drop);
        Compressed {
            ctx,
            raw,
            z,
            result,
        }
    }
}

impl BlockCompressor {
    fn new(background: bool) -> BlockCompressor {
        BlockCompressor {
            background,
            ctx: None,
            running: None,
            done: None,
        }
    }

    /// Starts compressing `raw` into `z` (what `z` holds is replaced). One at a time: the
    /// result is taken with [`BlockCompressor::finish`] before the next start.
    fn start(&mut self, raw: Vec<u8>, z: Vec<u8>) -> std::io::Result<()> {
        let ctx = match self.ctx.take() {
            Some(ctx) => ctx,
            // Level 1: about twice as fast as zstd's default level 3 on these frames, for
            // files some 4% larger (pgbench: 10.7% of the WAL instead of 10.3%).
            None => zstd::bulk::Compressor::new(1)?,
        };
        if self.background {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            rayon::spawn(move || {
                // The writer may have stopped on an error and dropped the receiver.
                let _ = tx.send(Compressed::new(ctx, raw, z));
            });
            self.running = Some(rx);
        } else {
            self.done = Some(Compressed::new(ctx, raw, z));
        }
        Ok(())
    }

    /// The block started last, as it was given and compressed.
    fn finish(&mut self) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
        let done = match (self.done.take(), self.running.take()) {
            (Some(done), _) => done,
            (None, Some(running)) => running.recv().map_err(|_| {
                std::io::Error::other("the thread compressing an LCR block ended without a result")
            })?,
            (None, None) => unreachable!("finish follows start"),
        };
        self.ctx = Some(done.ctx);
        done.result.map(|()| (done.raw, done.z))
    }
}

/// Publishes finished files on a thread of its own, one at a time and in order, so that
/// decoding goes on while a file is checksummed, fsynced and renamed: its fsyncs wait for the
/// disk (tens of milliseconds per file here), not for a CPU. A file is handed over complete;
/// a failure is reported by the next [`Publisher::start`] or by [`Publisher::wait`].
#[derive(Default)]
struct Publisher {
    running: Option<std::thread::JoinHandle<Result<(), WriteError>>>,
}

impl Publisher {
    /// Publishes with `job` once the file before it is published.
    fn start(
        &mut self,
        job: impl FnOnce() -> Result<(), WriteError> + Send + 'static,
    ) -> Result<(), WriteError> {
        self.wait()?;
        self.running = Some(std::thread::spawn(job));
        Ok(())
    }

    /// Waits until every file handed over is published.
    fn wait(&mut self) -> Result<(), WriteError> {
        match self.running.take() {
            Some(job) => job
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => Ok(()),
        }
    }
}

impl Drop for Publisher {
    /// A writer dropped on an error still completes the file under way, as a run killed
    /// after its rename would have.
    fn drop(&mut self) {
        let _ = self.wait();
    }
}

struct OpenFile {
    name: LcrName,
    tmp: tempfile::NamedTempFile,
    header: Header,
    trailer: Trailer,
    /// The RELATION frame in force for each relation declared in the file so far.
    declared: FxHashMap<u32, RelFrame>,
    size: u64,
    /// Running CRC of everything after the header.
    crc: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("could not write LCR file in \"{}\": {source}", .dir.display())]
    Io {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("LCR file \"{}\" already exists with different content: the spool does not match this WAL or catalog", .path.display())]
    Conflict { path: PathBuf },
}

pub struct Writer<'c> {
    catalog: &'c Catalog,
    major: u32,
    settings: Settings,
    block_target: usize,
    /// The last file published (or, at the start, the stream's last file so far).
    last_name: Option<LcrName>,
    /// The transaction committing at this LSN had this many changes written already.
    resume: Option<(Lsn, u64)>,
    pos: Position,
    file: Option<OpenFile>,
    block: Block,
    txn: Option<TxnProgress>,
    /// RELATION frames of the relations used, as of the catalog version `catalog`.
    relations: FxHashMap<u32, RelFrame>,
    published: Vec<Published>,
    /// The position after the last file published.
    published_pos: Option<Position>,
    /// Where the stream stood when the run began.
    start_pos: Position,
    compressor: BlockCompressor,
    publisher: Publisher,
    /// The block being compressed, written into the file when the next one is sealed.
    pending: Option<PendingBlock>,
    /// Reused from block to block: a block's frames (the one not in use by the open block
    /// or the pending one), its frames with their prefix, and the compressed bytes.
    spare_body: Vec<u8>,
    raw: Vec<u8>,
    compressed: Vec<u8>,
    /// A row change's frame payload after its LSN (flags and tuples), built before the frame
    /// so that a value that cannot be printed leaves nothing half-written.
    row_payload: Vec<u8>,
    /// Where values are printed ([`Job::value_text`]).
    value_scratch: ValueScratch,
}

impl<'c> Writer<'c> {
    /// A writer continuing a stream at `pos`, after the file `last_name`.
    pub fn new(
        catalog: &'c Catalog,
        settings: Settings,
        pos: Position,
        last_name: Option<LcrName>,
    ) -> Writer<'c> {
        // Blocks of a quarter of the file size at most, so that files come out close to
        // their maximum; 1 MiB compresses well and bounds memory.
        let block_target = (settings.max_size / 4).clamp(4096, 1 << 20) as usize;
        Writer {
            catalog,
            major: catalog.file.server_version_num / 10000,
            settings,
            block_target,
            last_name,
            resume: (pos.resume_skip > 0).then_some((pos.resume_lsn, pos.resume_skip)),
            pos,
            file: None,
            block: Block::default(),
            txn: None,
            relations: Default::default(),
            published: Vec::new(),
            published_pos: None,
            start_pos: pos,
            compressor: BlockCompressor::new(rayon::current_num_threads() > 1),
            publisher: Publisher::default(),
            pending: None,
            spare_body: Vec::new(),
            raw: Vec::new(),
            compressed: Vec::new(),
            row_payload: Vec::new(),
            value_scratch: ValueScratch::default(),
        }
    }

    /// Files published so far.
    pub fn published(&self) -> &[Published] {
        &self.published
    }

    /// Ends the run after the WAL was read up to `read_end`: the open file is published if
    /// its WAL segment was read completely or if `final_end` says that no later commit is
    /// wanted (an explicit end position), dropped otherwise (the next run writes it again).
    /// Returns where the stream stands in files published, or `None` when nothing is pending
    /// (the caller's reading position then holds).
    pub fn finish(
        mut self,
        read_end: Lsn,
        final_end: bool,
    ) -> Result<(Option<Position>, Vec<Published>), WriteError> {
        let seg_size = u64::from(self.settings.wal_segment_size);
        let pending = match &self.file {
            Some(f) if final_end || read_end.0 >= (f.name.segno + 1) * seg_size => {
                self.write_blocks()?;
                let pos = self.pos;
                self.publish(pos, false)?;
                false
            }
            Some(_) => true,
            None => false,
        };
        self.publisher.wait()?;
        let pos = if pending {
            // The open file and its block are dropped with `self`.
            Some(self.published_pos.unwrap_or(self.start_pos))
        } else {
            None
        };
        Ok((pos, std::mem::take(&mut self.published)))
    }

    fn io(&self, source: std::io::Error) -> WriteError {
        WriteError::Io {
            dir: self.settings.dir.clone(),
            source,
        }
    }

    fn file_name_for(&self, segno: u64) -> LcrName {
        let subseg = match self.last_name {
            Some(last) if last.segno == segno => last.subseg + 1,
            _ => 0,
        };
        LcrName {
            timeline: self.settings.timeline,
            segno,
            subseg,
        }
    }

    fn open(&mut self, name: LcrName, continued: bool) -> Result<(), WriteError> {
        let header = Header {
            system_identifier: self.settings.system_identifier,
            timeline: self.settings.timeline,
            database_oid: self.settings.database_oid,
            database_name: self.settings.database_name.clone(),
            server_version_num: self.settings.server_version_num,
            wal_segment_size: self.settings.wal_segment_size,
            segno: name.segno,
            subseg: name.subseg,
            first_lsn: Lsn(0),
            last_lsn: Lsn(0),
            first_time: 0,
            last_time: 0,
            flags: if continued { FLAG_CONTINUED } else { 0 },
            previous: self.last_name,
            previous_commit_end: self.published_pos.unwrap_or(self.start_pos).commit_end,
        };
        let mut tmp =
            crate::durable::temp_file_for(&self.settings.dir.join(name.to_string()), 0o644)
                .map_err(|e| self.io(e))?;
        let bytes = header.encode();
        tmp.write_all(&bytes).map_err(|e| self.io(e))?;
        self.file = Some(OpenFile {
            name,
            tmp,
            header,
            trailer: Trailer::default(),
            declared: Default::default(),
            size: bytes.len() as u64,
            crc: 0,
        });
        Ok(())
    }

    /// Makes sure the open file is the one for commits of WAL segment `segno`; a new one is
    /// flagged `continued` when it starts inside a transaction.
    fn file_for(&mut self, segno: u64, continued: bool) -> Result<(), WriteError> {
        if self.file.as_ref().is_some_and(|f| f.name.segno == segno) {
            return Ok(());
        }
        if self.file.is_some() {
            self.write_blocks()?;
            let pos = self.pos;
            self.publish(pos, false)?;
        }
        let name = self.file_name_for(segno);
        self.open(name, continued)
    }

    /// Hands the block to the compressor, after writing the one handed over before it: the
    /// compression of one block overlaps the filling of the next.
    fn seal_block(&mut self) -> Result<(), WriteError> {
        self.write_pending()?;
        if self.block.body.is_empty() {
            return Ok(());
        }
        let (start_pos, open_txn) = self
            .block
            .start
            .clone()
            .expect("a block with frames has a start");
        // The next block fills the spare buffer: no regrowing it frame after frame.
        let body = std::mem::take(&mut self.spare_body);
        let block = std::mem::replace(
            &mut self.block,
            Block {
                body,
                ..Block::default()
            },
        );
        let mut raw = std::mem::take(&mut self.raw);
        let prefix_frames = self.block_prefix(&block, open_txn.as_ref(), &mut raw);
        let z = std::mem::take(&mut self.compressed);
        self.compressor.start(raw, z).map_err(|e| self.io(e))?;
        self.pending = Some(PendingBlock {
            block,
            start_pos,
            open_txn,
            prefix_frames,
        });
        Ok(())
    }

    /// Seals the block and writes it: nothing is left for the open file but its trailer.
    fn write_blocks(&mut self) -> Result<(), WriteError> {
        self.seal_block()?;
        self.write_pending()
    }

    /// Appends the block being compressed to the open file, or to the next file when it does
    /// not fit.
    fn write_pending(&mut self) -> Result<(), WriteError> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let PendingBlock {
            block,
            start_pos,
            open_txn,
            mut prefix_frames,
        } = pending;
        let (mut raw, mut z) = self.compressor.finish().map_err(|e| self.io(e))?;
        let file = self.file.as_ref().expect("a block belongs to an open file");
        let too_big = file.trailer.blocks > 0
            && file.size + (BLOCK_HEADER_SIZE + z.len() + TRAILER_SIZE) as u64
                > self.settings.max_size;
        if too_big {
            let next = LcrName {
                subseg: file.name.subseg + 1,
                ..file.name
            };
            self.publish(start_pos, open_txn.is_some())?;
            self.open(next, open_txn.is_some())?;
            prefix_frames = self.block_prefix(&block, open_txn.as_ref(), &mut raw);
            self.compressor.start(raw, z).map_err(|e| self.io(e))?;
            (raw, z) = self.compressor.finish().map_err(|e| self.io(e))?;
        }
        let file = self.file.as_mut().expect("open file");
        let mut head = Vec::with_capacity(BLOCK_HEADER_SIZE);
        head.extend_from_slice(&(raw.len() as u32).to_le_bytes());
        head.extend_from_slice(&(z.len() as u32).to_le_bytes());
        head.extend_from_slice(&crc32c::crc32c(&z).to_le_bytes());
        let write = file
            .tmp
            .write_all(&head)
            .and_then(|()| file.tmp.write_all(&z));
        if let Err(e) = write {
            return Err(WriteError::Io {
                dir: self.settings.dir.clone(),
                source: e,
            });
        }
        file.crc = crc32c::crc32c_append(crc32c::crc32c_append(file.crc, &head), &z);
        file.size += (head.len() + z.len()) as u64;
        let t = &mut file.trailer;
        t.blocks += 1;
        t.raw_bytes += raw.len() as u64;
        t.frames += block.frames + prefix_frames;
        t.transactions += block.transactions;
        t.changes += block.changes;
        t.messages += block.messages;
        file.declared.extend(
            block
                .rel_frames
                .into_iter()
                .map(|(oid, (_, last))| (oid, last)),
        );
        let first = match open_txn {
            Some(b) if file.header.first_lsn == Lsn(0) => Some((b.commit_lsn, b.commit_time)),
            _ => block.first_event,
        };
        if file.header.first_lsn == Lsn(0) {
            if let Some((lsn, time)) = first {
                file.header.first_lsn = lsn;
                file.header.first_time = time;
            }
        }
        if let Some((lsn, time)) = block.last_event.or(first) {
            file.header.last_lsn = lsn;
            file.header.last_time = time;
        }
        let mut body = block.body;
        body.clear();
        self.spare_body = body;
        self.raw = raw;
        self.compressed = z;
        Ok(())
    }

    /// The frames `block` needs before its body in the open file: a continued BEGIN when the
    /// file starts inside a transaction, and the relations not yet declared in the file.
    /// The block's bytes (prefix and body) go into `raw`; returns the prefix's frame count.
    fn block_prefix(&self, block: &Block, open_txn: Option<&Begin>, raw: &mut Vec<u8>) -> u64 {
        let file = self.file.as_ref().expect("open file");
        raw.clear();
        let mut frames = 0;
        if let Some(b) = open_txn.filter(|_| file.trailer.blocks == 0) {
            Frame::Begin(Begin {
                continued: true,
                ..b.clone()
            })
            .encode(raw);
            frames += 1;
        }
        for oid in &block.rels {
            let (first, _) = &block.rel_frames[oid];
            if !file.declared.get(oid).is_some_and(|d| same_frame(d, first)) {
                raw.extend_from_slice(first);
                frames += 1;
            }
        }
        raw.extend_from_slice(&block.body);
        frames
    }

    /// Writes the trailer and header, syncs and publishes the open file.
    fn publish(&mut self, end: Position, continues: bool) -> Result<(), WriteError> {
        let mut file = self.file.take().expect("open file");
        let dir = self.settings.dir.clone();
        let io = |source| WriteError::Io {
            dir: dir.clone(),
            source,
        };
        file.trailer.resume_lsn = end.resume_lsn;
        file.trailer.resume_skip = end.resume_skip;
        file.trailer.restart_lsn = end.restart_lsn;
        file.trailer.commit_end = end.commit_end;
        if continues {
            file.header.flags |= FLAG_CONTINUES;
        }
        let body = file.trailer.encode_body();
        let crc = crc32c::crc32c_append(file.crc, &body);
        let f = file.tmp.as_file_mut();
        f.write_all(&body).map_err(io)?;
        f.write_all(&crc.to_le_bytes()).map_err(io)?;
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        f.write_all(&file.header.encode()).map_err(io)?;
        let size = file.size + (body.len() + 4) as u64;
        let path = dir.join(file.name.to_string());
        let tmp = file.tmp;
        self.publisher.start(move || {
            let io = |source| WriteError::Io { dir, source };
            if path.exists() {
                // A rerun writes again what an interrupted run had published: it must match.
                let same = std::fs::read(&path)
                    .and_then(|old| Ok(old == std::fs::read(tmp.path())?))
                    .map_err(io)?;
                if !same {
                    return Err(WriteError::Conflict { path });
                }
            } else {
                crate::ship::checksum::record(tmp.as_file(), &path)
                    .and_then(|()| crate::durable::publish(tmp, &path))
                    .map_err(io)?;
            }
            Ok(())
        })?;
        self.last_name = Some(file.name);
        self.published_pos = Some(end);
        self.published.push(Published {
            name: file.name,
            size,
            trailer: file.trailer,
        });
        Ok(())
    }

    /// The RELATION frame of a relation, built once per catalog version.
    fn relation_frame(&mut self, rel: &Relation) -> RelFrame {
        if let Some(f) = self.relations.get(&rel.oid) {
            return f.clone();
        }
        let has =
            |set: &Option<Vec<i16>>, attnum| set.as_ref().is_some_and(|s| s.contains(&attnum));
        let columns = rel
            .columns
            .iter()
            .flatten()
            .filter(|c| !c.attisdropped)
            .map(|c| RelColumn {
                attnum: c.attnum,
                name: c.name.clone(),
                type_oid: c.type_oid,
                typmod: c.typmod,
                type_name: output::decoding_type_name_typmod(self.catalog, c, self.major),
                type_name_plain: output::decoding_type_name(self.catalog, c, self.major),
                flags: if has(&rel.identity_columns, c.attnum) {
                    COL_KEY
                } else {
                    0
                } | if c.attnotnull { COL_NOT_NULL } else { 0 }
                    | if has(&rel.primary_key, c.attnum) {
                        COL_PRIMARY_KEY
                    } else {
                        0
                    },
            })
            .collect();
        let mut bytes = Vec::new();
        Frame::Relation(RelationInfo {
            oid: rel.oid,
            namespace: rel.namespace.clone(),
            name: rel.name.clone(),
            replica_identity: rel.replica_identity.bytes().next().unwrap_or(b'd'),
            columns,
        })
        .encode(&mut bytes);
        let f = Rc::new(bytes);
        self.relations.insert(rel.oid, f.clone());
        f
    }

    /// Notes a change of `rel` about to go into the block, after the block's first frame
    /// when the relation was used in the block before.
    fn note_rel(&mut self, rel: &Relation) {
        let frame = self.relation_frame(rel);
        match self.block.rel_frames.entry(rel.oid) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert((frame.clone(), frame));
                self.block.rels.push(rel.oid);
            }
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let (_, last) = e.get_mut();
                if !same_frame(last, &frame) {
                    self.block.body.extend_from_slice(&frame);
                    self.block.frames += 1;
                }
                *last = frame;
            }
        }
    }

    /// Called before a frame goes into the block.
    fn block_frame_start(&mut self) {
        if self.block.body.is_empty() {
            let open = self
                .txn
                .as_ref()
                .filter(|t| t.begun)
                .map(|t| t.begin.clone());
            if let Some(b) = &open {
                self.block.first_event = Some((b.commit_lsn, b.commit_time));
            }
            self.block.start = Some((self.pos, open));
        }
        self.block.frames += 1;
    }

    /// Called after a frame went into the block.
    fn block_frame_end(&mut self) -> Result<(), WriteError> {
        if self.block.body.len() >= self.block_target {
            self.seal_block()?;
        }
        Ok(())
    }

    fn event(&mut self, lsn: Lsn, time: i64) {
        if self.block.first_event.is_none() {
            self.block.first_event = Some((lsn, time));
        }
        self.block.last_event = Some((lsn, time));
    }

    fn segno(&self, lsn: Lsn) -> u64 {
        lsn.0 / u64::from(self.settings.wal_segment_size)
    }

    /// Writes the transaction's BEGIN before its first frame. Resuming inside a transaction,
    /// its file starts as a continuation instead, and the block's prefix carries the continued
    /// BEGIN, as when a file fills up.
    fn begin_output(&mut self, txn: &Txn) -> Result<(), WriteError> {
        let t = self.txn.as_ref().expect("open transaction");
        if t.begun {
            return Ok(());
        }
        let continued = t.written > 0;
        self.file_for(self.segno(txn.end_lsn), continued)?;
        if !continued {
            let begin = self.txn.as_ref().expect("open transaction").begin.clone();
            self.block_frame_start();
            self.block.transactions += 1;
            self.event(begin.commit_lsn, begin.commit_time);
            Frame::Begin(begin).encode(&mut self.block.body);
        }
        self.txn.as_mut().expect("open transaction").begun = true;
        Ok(())
    }

    /// Passes over a change a resumed run wrote before; says whether it did.
    fn skip_written(&mut self) -> bool {
        let t = self
            .txn
            .as_mut()
            .expect("a change comes inside a transaction");
        if t.skip > 0 {
            t.skip -= 1;
            return true;
        }
        false
    }

    fn write_change(
        &mut self,
        txn: &Txn,
        change: &Change,
        resolved: &Resolved<'c>,
    ) -> Result<(), OutputError> {
        if self.skip_written() {
            return Ok(());
        }
        if let Some((rel, parts)) = resolved.row_parts() {
            let mut payload = std::mem::take(&mut self.row_payload);
            // A row with a value that cannot be printed stops the change before its frame.
            let kind = row_payload(&mut payload, parts, |b, row| {
                for (col, value) in &row.values {
                    row.text_of(change.lsn, rel, col, value)?;
                }
                put_row(b, row);
                Ok(())
            });
            self.row_payload = payload;
            return self.write_row_frame(txn, change, rel, kind?);
        }
        match resolved {
            Resolved::Insert { .. } | Resolved::Update { .. } | Resolved::Delete { .. } => {
                unreachable!("row changes are written above")
            }
            Resolved::Truncate {
                rels,
                cascade,
                restart_seqs,
            } => {
                self.start_change(txn, rels)?;
                Frame::Truncate {
                    lsn: change.lsn,
                    cascade: *cascade,
                    restart_seqs: *restart_seqs,
                    rels: rels.iter().map(|r| r.oid).collect(),
                }
                .encode(&mut self.block.body);
            }
            Resolved::Message { prefix, content } => {
                self.start_change(txn, &[])?;
                Frame::Message {
                    lsn: change.lsn,
                    transactional: true,
                    xid: txn.xid,
                    origin: change.origin.unwrap_or(0),
                    prefix: prefix.clone(),
                    content: content.clone(),
                }
                .encode(&mut self.block.body);
            }
        }
        self.change_written(txn)
    }

    /// Writes an INSERT, UPDATE or DELETE frame whose payload after the LSN is
    /// `row_payload`.
    fn write_row_frame(
        &mut self,
        txn: &Txn,
        change: &Change,
        rel: &Relation,
        kind: u8,
    ) -> Result<(), OutputError> {
        self.start_change(txn, &[rel])?;
        let payload = &self.row_payload;
        put_frame(&mut self.block.body, kind, |b| {
            b.extend_from_slice(&rel.oid.to_le_bytes());
            b.extend_from_slice(&change.lsn.0.to_le_bytes());
            b.extend_from_slice(payload);
        });
        self.change_written(txn)
    }

    /// Makes room for a change's frame: the transaction's BEGIN when it is the first, the
    /// relations the change uses, and the frame's place in the block.
    fn start_change(&mut self, txn: &Txn, rels: &[&Relation]) -> Result<(), OutputError> {
        self.begin_output(txn).map_err(write_error)?;
        for rel in rels {
            self.note_rel(rel);
        }
        self.block_frame_start();
        self.block.changes += 1;
        Ok(())
    }

    /// Counts a change written and moves the resume position past it.
    fn change_written(&mut self, txn: &Txn) -> Result<(), OutputError> {
        let t = self.txn.as_mut().expect("open transaction");
        t.written += 1;
        self.pos = Position {
            resume_lsn: txn.end_lsn,
            resume_skip: t.written,
            restart_lsn: txn.first_lsn.min(txn.restart_lsn),
            commit_end: self.pos.commit_end,
        };
        self.block_frame_end().map_err(write_error)
    }
}

/// A row change frame's payload after its LSN (which of the tuples follow, then the tuples,
/// each put by `tuple`), replacing what `b` held; returns the frame's kind.
fn row_payload<T>(
    b: &mut Vec<u8>,
    parts: RowParts<T>,
    mut tuple: impl FnMut(&mut Vec<u8>, T) -> Result<(), OutputError>,
) -> Result<u8, OutputError> {
    b.clear();
    let RowParts { action, old, new } = parts;
    let kind = match action {
        RowAction::Insert => K_INSERT,
        RowAction::Update => {
            b.push(u8::from(old.is_some()) | (u8::from(new.is_some()) << 1));
            K_UPDATE
        }
        RowAction::Delete => {
            b.push(u8::from(old.is_some()));
            K_DELETE
        }
    };
    for t in [old, new].into_iter().flatten() {
        tuple(b, t)?;
    }
    Ok(kind)
}

/// A tuple as a row change frame carries it, printed straight from the stored values: what
/// [`put_row`] writes for the tuple's rendered row.
fn put_tuple<'c>(
    b: &mut Vec<u8>,
    job: &Job<'c>,
    lsn: Lsn,
    rel: &'c Relation,
    t: &LoggedTuple,
    ctx: &OutputContext,
    scratch: &mut ValueScratch,
) -> Result<(), OutputError> {
    let count_at = b.len();
    b.extend_from_slice(&0u16.to_le_bytes());
    let mut count = 0u16;
    job.for_each_value(lsn, rel, t, |col, raw| {
        count = count.wrapping_add(1);
        match raw {
            Raw::Null => put_null_value(b),
            Raw::UnchangedToast => put_unchanged_value(b),
            Raw::Text(s) => put_text_value(b, s.as_bytes()),
            Raw::Bytes(bytes) => {
                let text = job.value_text(lsn, rel, col, &bytes, ctx, scratch)?;
                put_text_value(b, text.as_bytes());
            }
        }
        Ok(())
    })?;
    b[count_at..count_at + 2].copy_from_slice(&count.to_le_bytes());
    Ok(())
}

fn put_row(b: &mut Vec<u8>, row: &Row<'_>) {
    b.extend_from_slice(&(row.values.len() as u16).to_le_bytes());
    for (_, value) in &row.values {
        match value {
            // Unprintable values were rejected before the frame was started.
            Value::Null | Value::Unprintable(_) => put_null_value(b),
            Value::UnchangedToast => put_unchanged_value(b),
            Value::Text(r) => put_text_value(b, row.text(r).as_bytes()),
        }
    }
}

/// File system errors travel through the plugin interface as output errors.
fn write_error(e: WriteError) -> OutputError {
    OutputError::Lcr(Box::new(e))
}

impl<'c> Plugin<'c> for Writer<'c> {
    fn begin(&mut self, txn: &Txn, _out: &mut Sink<'_>) -> Result<(), OutputError> {
        let skip = match self.resume {
            Some((lsn, n)) if lsn == txn.end_lsn => n,
            _ => 0,
        };
        self.txn = Some(TxnProgress {
            begin: Begin {
                xid: txn.xid,
                commit_lsn: txn.end_lsn,
                end_lsn: txn.end_next,
                commit_time: txn.time,
                origin: txn.origin.unwrap_or(0),
                origin_lsn: txn.origin_lsn.unwrap_or(Lsn(0)),
                first_lsn: txn.first_lsn,
                continued: false,
            },
            written: skip,
            skip,
            begun: false,
        });
        Ok(())
    }

    fn change(
        &mut self,
        txn: &Txn,
        change: &Change,
        resolved: &Resolved<'c>,
        _out: &mut Sink<'_>,
    ) -> Result<(), OutputError> {
        self.write_change(txn, change, resolved)
    }

    fn change_from_tuples<'t>(
        &mut self,
        txn: &Txn,
        change: &'t Change,
        job: &Job<'c>,
        ctx: &OutputContext,
        _out: &mut Sink<'_>,
    ) -> Result<bool, OutputError> {
        let Some(rel) = job.row_relation() else {
            return Ok(false);
        };
        if self.skip_written() {
            return Ok(true);
        }
        let mut payload = std::mem::take(&mut self.row_payload);
        let parts = output::stored_row_parts(&change.kind)
            .expect("a job with a row relation is a row change");
        let kind = row_payload(&mut payload, parts, |b, t: &'t LoggedTuple| {
            put_tuple(b, job, change.lsn, rel, t, ctx, &mut self.value_scratch)
        });
        self.row_payload = payload;
        self.write_row_frame(txn, change, rel, kind?).map(|()| true)
    }

    fn end(&mut self, txn: &Txn, _out: &mut Sink<'_>) -> Result<(), OutputError> {
        let t = self.txn.as_ref().expect("end of an open transaction");
        // Resumed after every change was written, the COMMIT is still to write.
        if !t.begun && t.written > 0 {
            self.begin_output(txn).map_err(write_error)?;
        }
        let t = self.txn.as_ref().expect("end of an open transaction");
        let (begun, written) = (t.begun, t.written);
        if begun {
            // Still open here: a block starting with this COMMIT starts inside the transaction.
            self.block_frame_start();
            Frame::Commit {
                commit_lsn: txn.end_lsn,
                end_lsn: txn.end_next,
                commit_time: txn.time,
                changes: written,
            }
            .encode(&mut self.block.body);
        }
        self.txn = None;
        self.pos = Position {
            resume_lsn: txn.end_next,
            resume_skip: 0,
            restart_lsn: txn.restart_lsn,
            // A transaction with nothing written has no COMMIT frame a reader could know.
            commit_end: if begun {
                txn.end_next
            } else {
                self.pos.commit_end
            },
        };
        if begun {
            self.block_frame_end().map_err(write_error)?;
        }
        Ok(())
    }

    fn set_catalog(&mut self, catalog: &'c Catalog) {
        if !std::ptr::eq(self.catalog, catalog) {
            self.catalog = catalog;
            self.relations.clear();
        }
    }

    fn message(&mut self, msg: &Message, _out: &mut Sink<'_>) -> Result<(), OutputError> {
        let segno = self.segno(msg.lsn);
        self.file_for(segno, false).map_err(write_error)?;
        self.block_frame_start();
        self.block.messages += 1;
        self.event(msg.lsn, 0);
        Frame::Message {
            lsn: msg.lsn,
            transactional: false,
            xid: msg.xid,
            origin: msg.origin.unwrap_or(0),
            prefix: msg.prefix.clone(),
            content: msg.content.clone(),
        }
        .encode(&mut self.block.body);
        self.pos = Position {
            resume_lsn: msg.lsn,
            resume_skip: 0,
            restart_lsn: msg.restart_lsn,
            commit_end: self.pos.commit_end,
        };
        self.block_frame_end().map_err(write_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(name: &str) -> WriteError {
        WriteError::Conflict {
            path: PathBuf::from(name),
        }
    }

    #[test]
    fn a_failed_publication_is_reported_once_and_the_next_file_waits_for_it() {
        let mut publisher = Publisher::default();
        let (tx, rx) = std::sync::mpsc::channel();
        publisher.start(move || Err(failure("first"))).unwrap();
        let reported = publisher.start(move || {
            tx.send(()).unwrap();
            Ok(())
        });
        assert!(
            matches!(reported, Err(WriteError::Conflict { path }) if path == std::path::Path::new("first"))
        );
        // The file after a failed one is not published.
        assert!(rx.try_recv().is_err());
        assert!(publisher.wait().is_ok());
    }

    #[test]
    fn files_are_published_one_after_the_other() {
        let mut publisher = Publisher::default();
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        for i in 0..5 {
            let order = order.clone();
            publisher
                .start(move || {
                    std::thread::sleep(std::time::Duration::from_millis(5 - i));
                    order.lock().unwrap().push(i);
                    Ok(())
                })
                .unwrap();
        }
        publisher.wait().unwrap();
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
        assert!(matches!(publisher.start(|| Err(failure("last"))), Ok(())));
        assert!(publisher.wait().is_err());
    }
}
