//! Rendering decoded transactions: resolving changes to relations and column values (TOAST
//! reassembly included), and the output formats.

pub mod driver;
pub mod ident;
pub mod json;
pub mod test_decoding;
pub mod wal2json;

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use crate::catalog::follow::{TxnCatalogs, VersionCursor};
use crate::catalog::{Catalog, Column, Relation, Versions};
use crate::logical::{Change, ChangeKind, LoggedTuple};
use crate::tuple::types::{self, OutputContext, TypeError};
use crate::tuple::{self, Datum, HeapTuple, Varlena};
use crate::wal::lsn::Lsn;
use crate::wal::record::RelFileLocator;

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("change at {lsn}: relation with relfilenode {}/{}/{} is not in the catalog (taken at {catalog_lsn}); re-export the catalog or use --unknown-relations=skip", .locator.spc, .locator.db, .locator.rel)]
    UnknownRelation {
        lsn: Lsn,
        locator: RelFileLocator,
        catalog_lsn: Lsn,
    },
    #[error("could not write output: {0}")]
    Write(std::io::Error),
    #[error(transparent)]
    Lcr(Box<crate::lcr::writer::WriteError>),
    #[error(transparent)]
    Spill(#[from] crate::logical::SpillError),
    #[error("change at {lsn}: relation with OID {oid} is not in the catalog")]
    UnknownRelationOid { lsn: Lsn, oid: u32 },
    #[error("change at {lsn} in {relation}: {source}")]
    Tuple {
        lsn: Lsn,
        relation: String,
        source: Box<tuple::TupleError>,
    },
    #[error("change at {lsn} in {relation}, column {column}: {source}")]
    Value {
        lsn: Lsn,
        relation: String,
        column: String,
        source: Box<tuple::types::TypeError>,
    },
    /// An error the output plugin itself reports (wal2json: "… is not a number").
    #[error("change at {lsn}: {message}")]
    Plugin { lsn: Lsn, message: String },
    #[error(transparent)]
    Catalog(Box<crate::catalog::follow::FollowError>),
    #[error("change at {lsn} in {relation}, column {column}: the column's default for rows written before it was added (attmissingval) is not a one-element array literal")]
    MissingValue {
        lsn: Lsn,
        relation: String,
        column: String,
    },
}

/// Where writers put their text: a buffer flushed to the destination as it fills, so a
/// transaction of any size is written out in bounded memory.
pub struct Sink<'w> {
    buf: Vec<u8>,
    dest: &'w mut dyn std::io::Write,
}

impl<'w> Sink<'w> {
    const FLUSH_AT: usize = 1 << 20;

    pub fn new(dest: &'w mut dyn std::io::Write) -> Sink<'w> {
        Sink {
            buf: Vec::with_capacity(Self::FLUSH_AT + (Self::FLUSH_AT >> 2)),
            dest,
        }
    }

    /// Writes the buffer out once it holds enough; says whether it did.
    pub fn maybe_flush(&mut self) -> Result<bool, OutputError> {
        if self.buf.len() >= Self::FLUSH_AT {
            self.flush()?;
            return Ok(true);
        }
        Ok(false)
    }

    pub fn flush(&mut self) -> Result<(), OutputError> {
        self.dest.write_all(&self.buf).map_err(OutputError::Write)?;
        self.buf.clear();
        Ok(())
    }
}

impl std::ops::Deref for Sink<'_> {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.buf
    }
}

impl std::ops::DerefMut for Sink<'_> {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

/// A commit time (µs since 2000-01-01) as timestamptz prints it in the session's time zone.
pub fn commit_time_text(
    catalog: &Catalog,
    ctx: &OutputContext,
    time: i64,
    lsn: Lsn,
) -> Result<String, OutputError> {
    let mut s = String::new();
    types::write_output(
        catalog,
        crate::catalog::type_oids::TIMESTAMPTZ,
        &time.to_le_bytes(),
        ctx,
        &mut s,
    )
    .map_err(|source| OutputError::Value {
        lsn,
        relation: "(commit time)".into(),
        column: "time".into(),
        source: Box::new(source),
    })?;
    Ok(s)
}

/// What to do with changes of relations the catalog does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UnknownRelations {
    #[default]
    Error,
    Skip,
}

/// One column value, as a type output function printed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    /// An out-of-line value this transaction did not write (an UPDATE that kept it).
    UnchangedToast,
    /// The value's text: a range of [`Row::text`].
    Text(Range<usize>),
    /// The type's output function failed; an error only if a writer prints the value.
    Unprintable(Box<TypeError>),
}

/// A tuple's live columns (dropped columns left out) with their values' text.
#[derive(Debug, Default)]
pub struct Row<'c> {
    pub values: Vec<(&'c Column, Value)>,
    text: String,
}

impl Row<'_> {
    /// The text a [`Value::Text`] range points to.
    pub fn text(&self, range: &Range<usize>) -> &str {
        &self.text[range.clone()]
    }

    /// The text of a value (`None` for NULL and an unchanged TOAST value), or the error its
    /// output function gave, naming the change, relation and column.
    #[inline]
    pub fn text_of(
        &self,
        lsn: Lsn,
        rel: &Relation,
        col: &Column,
        value: &Value,
    ) -> Result<Option<&str>, OutputError> {
        match value {
            Value::Null | Value::UnchangedToast => Ok(None),
            Value::Text(r) => Ok(Some(&self.text[r.clone()])),
            Value::Unprintable(e) => Err(OutputError::value(lsn, rel, col, e.clone())),
        }
    }
}

impl OutputError {
    /// A value its type's output function could not print.
    pub fn value(lsn: Lsn, rel: &Relation, col: &Column, source: Box<TypeError>) -> OutputError {
        OutputError::Value {
            lsn,
            relation: format!("{}.{}", rel.namespace, rel.name),
            column: col.name.clone(),
            source,
        }
    }
}

pub enum Resolved<'c> {
    Insert {
        rel: &'c Relation,
        new: Row<'c>,
    },
    Update {
        rel: &'c Relation,
        old: Option<Row<'c>>,
        new: Option<Row<'c>>,
    },
    Delete {
        rel: &'c Relation,
        old: Option<Row<'c>>,
    },
    Truncate {
        rels: Vec<&'c Relation>,
        cascade: bool,
        restart_seqs: bool,
    },
    Message {
        prefix: Vec<u8>,
        content: Vec<u8>,
    },
}

/// What a row change does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowAction {
    Insert,
    Update,
    Delete,
}

/// A row change's action with its old and new tuple, as writers lay them out: `T` is a
/// rendered [`Row`] or a stored [`LoggedTuple`].
pub struct RowParts<T> {
    pub action: RowAction,
    pub old: Option<T>,
    pub new: Option<T>,
}

impl<T> RowParts<T> {
    fn of(action: RowAction, old: Option<T>, new: Option<T>) -> RowParts<T> {
        RowParts { action, old, new }
    }
}

/// The stored tuples of an INSERT, UPDATE or DELETE.
pub fn stored_row_parts(kind: &ChangeKind) -> Option<RowParts<&LoggedTuple>> {
    Some(match kind {
        ChangeKind::Insert { new, .. } => RowParts::of(RowAction::Insert, None, Some(new)),
        ChangeKind::Update { old, new, .. } => {
            RowParts::of(RowAction::Update, old.as_ref(), new.as_ref())
        }
        ChangeKind::Delete { old, .. } => RowParts::of(RowAction::Delete, old.as_ref(), None),
        ChangeKind::Truncate { .. } | ChangeKind::Message { .. } => return None,
    })
}

impl<'c> Resolved<'c> {
    /// The relation and rendered rows of an INSERT, UPDATE or DELETE.
    pub fn row_parts(&self) -> Option<(&'c Relation, RowParts<&Row<'c>>)> {
        Some(match self {
            Resolved::Insert { rel, new } => {
                (rel, RowParts::of(RowAction::Insert, None, Some(new)))
            }
            Resolved::Update { rel, old, new } => (
                rel,
                RowParts::of(RowAction::Update, old.as_ref(), new.as_ref()),
            ),
            Resolved::Delete { rel, old } => {
                (rel, RowParts::of(RowAction::Delete, old.as_ref(), None))
            }
            Resolved::Truncate { .. } | Resolved::Message { .. } => return None,
        })
    }

    /// Gives the rows' buffers back to `spare`, for [`Job::render_reusing`].
    pub fn recycle(self, spare: &mut Vec<Row<'c>>) {
        match self {
            Resolved::Insert { new, .. } => spare.push(new),
            Resolved::Update { old, new, .. } => spare.extend(old.into_iter().chain(new)),
            Resolved::Delete { old, .. } => spare.extend(old),
            Resolved::Truncate { .. } | Resolved::Message { .. } => {}
        }
    }
}

/// TOAST chunks by value id: `(chunk_seq, chunk_data)`.
type ToastChunks = rustc_hash::FxHashMap<u32, Vec<(i32, Vec<u8>)>>;

/// What [`Resolver::classify`] found out about a change, enough to [`Job::render`] it on any
/// thread: its relations, and the TOAST chunks its row may point to.
pub struct Job<'c> {
    /// The catalog version the change sees.
    catalog: &'c Catalog,
    target: Target<'c>,
    toast: Option<Arc<ToastChunks>>,
}

enum Target<'c> {
    /// An INSERT, UPDATE or DELETE of this relation.
    Rows(&'c Relation),
    Truncate(Vec<&'c Relation>),
    Message,
}

/// Classifies a transaction's changes in order, keeping the TOAST chunks it wrote, as the
/// reorder buffer does while replaying a transaction. Rendering the rows ([`Job::render`])
/// needs no state and runs in parallel.
pub struct Resolver<'c> {
    catalog: &'c Catalog,
    ctx: OutputContext,
    unknown: UnknownRelations,
    /// Relations with OIDs below this are catalogs (`IsCatalogRelationOid`).
    first_user_oid: u32,
    /// Shared with the jobs of the rows that may point to them; copied on write.
    toast: Option<Arc<ToastChunks>>,
    /// Where catalog versions learnt from WAL are kept, when following them.
    versions: Option<&'c Versions>,
    /// The versions the current transaction's changes see, and the one `catalog` is.
    cursor: Option<VersionCursor>,
    current: Option<Arc<Catalog>>,
}

impl<'c> Resolver<'c> {
    pub fn new(
        catalog: &'c Catalog,
        unknown: UnknownRelations,
        ctx: OutputContext,
    ) -> Resolver<'c> {
        // FirstUnpinnedObjectId since PostgreSQL 15, FirstBootstrapObjectId before.
        let first_user_oid = if catalog.file.server_version_num >= 150000 {
            12000
        } else {
            10000
        };
        Resolver {
            catalog,
            ctx,
            unknown,
            first_user_oid,
            toast: None,
            versions: None,
            cursor: None,
            current: None,
        }
    }

    /// Resolves each change with the catalog version it sees (a transaction's
    /// [`TxnCatalogs`]), kept in `versions`.
    pub fn following(mut self, versions: &'c Versions) -> Resolver<'c> {
        self.versions = Some(versions);
        self
    }

    pub fn catalog(&self) -> &'c Catalog {
        self.catalog
    }

    pub fn output_context(&self) -> &OutputContext {
        &self.ctx
    }

    /// Starts a new transaction: forgets TOAST chunks of the previous one, and takes the
    /// catalog versions it sees.
    pub fn begin(&mut self, catalogs: &TxnCatalogs) {
        self.toast = None;
        self.cursor = None;
        if self.versions.is_none() || catalogs.committed.is_empty() {
            return;
        }
        if catalogs.is_single() {
            self.use_version(catalogs.committed[0].1.clone());
        } else {
            self.cursor = Some(VersionCursor::new(catalogs.clone(), self.ctx.clone()));
        }
    }

    fn use_version(&mut self, version: Arc<Catalog>) {
        if self
            .current
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &version))
        {
            return;
        }
        if let Some(versions) = self.versions {
            self.catalog = versions.keep(version.clone());
            self.current = Some(version);
        }
    }

    fn relation(
        &self,
        lsn: Lsn,
        locator: RelFileLocator,
        has_tuple: bool,
    ) -> Result<Option<&'c Relation>, OutputError> {
        match self.catalog.relation_by_filenode(locator.spc, locator.rel) {
            // Catalogs, and the transient table a rewriting ALTER TABLE fills (PostgreSQL's
            // decoding skips it unless a plugin asks for rewrites).
            Some(rel) if rel.oid < self.first_user_oid || rel.rewrite_of.is_some() => Ok(None),
            Some(rel) => Ok(Some(rel)),
            // Without tuple data nothing would be shown, as PostgreSQL does for such changes.
            None if !has_tuple || self.unknown == UnknownRelations::Skip => Ok(None),
            None => Err(OutputError::UnknownRelation {
                lsn,
                locator,
                catalog_lsn: self.catalog.taken_at,
            }),
        }
    }

    /// Stores a TOAST chunk (`chunk_id`, `chunk_seq`, `chunk_data`).
    fn add_chunk(
        &mut self,
        lsn: Lsn,
        rel: &'c Relation,
        t: &LoggedTuple,
    ) -> Result<(), OutputError> {
        let mut raw = Vec::with_capacity(3);
        for_each_raw(lsn, rel, t, None, |col, value| {
            raw.push((col, value));
            Ok(())
        })?;
        let bad = || OutputError::Tuple {
            lsn,
            relation: format!("{}.{}", rel.namespace, rel.name),
            source: Box::new(tuple::TupleError::Toast {
                value_id: 0,
                reason: "TOAST chunk row is not (oid, int4, bytea)".into(),
            }),
        };
        let [(_, Raw::Bytes(id)), (_, Raw::Bytes(seq)), (_, Raw::Bytes(data))] = raw.as_slice()
        else {
            return Err(bad());
        };
        let (Ok(id), Ok(seq)) = (<[u8; 4]>::try_from(&id[..]), <[u8; 4]>::try_from(&seq[..]))
        else {
            return Err(bad());
        };
        Arc::make_mut(self.toast.get_or_insert_with(Default::default))
            .entry(u32::from_le_bytes(id))
            .or_default()
            .push((i32::from_le_bytes(seq), data.to_vec()));
        Ok(())
    }

    /// Decides what a change shows; `None` for changes nothing is shown for (catalog
    /// tables, TOAST chunks, which are kept for the row that follows).
    /// `more_from_same_record` says the next change comes from the same record, to keep
    /// TOAST chunks across the rows of one multi-insert.
    pub fn classify(
        &mut self,
        change: &Change,
        more_from_same_record: bool,
    ) -> Result<Option<Job<'c>>, OutputError> {
        let lsn = change.lsn;
        if let Some(cursor) = self.cursor.as_mut() {
            let version = cursor.at(lsn)?;
            self.use_version(version);
        }
        let target = match &change.kind {
            ChangeKind::Insert { rel, new } => {
                let Some(r) = self.relation(lsn, *rel, true)? else {
                    return Ok(None);
                };
                if r.kind == "t" {
                    self.add_chunk(lsn, r, new)?;
                    return Ok(None);
                }
                Target::Rows(r)
            }
            ChangeKind::Update { rel, old, new } => {
                match self.relation(lsn, *rel, old.is_some() || new.is_some())? {
                    Some(r) if r.kind != "t" => Target::Rows(r),
                    _ => return Ok(None),
                }
            }
            ChangeKind::Delete { rel, old } => match self.relation(lsn, *rel, old.is_some())? {
                Some(r) if r.kind != "t" => Target::Rows(r),
                _ => return Ok(None),
            },
            ChangeKind::Truncate { relids, .. } => {
                let mut rels = Vec::with_capacity(relids.len());
                for &oid in relids {
                    let r = self
                        .catalog
                        .relation(oid)
                        .ok_or(OutputError::UnknownRelationOid { lsn, oid })?;
                    if r.oid >= self.first_user_oid {
                        rels.push(r);
                    }
                }
                Target::Truncate(rels)
            }
            ChangeKind::Message { .. } => Target::Message,
        };
        let toast = self.toast.clone();
        // TOAST chunks belong to the next row change; the rows of one multi-insert (same
        // record) share the chunks written before it.
        if !more_from_same_record {
            self.toast = None;
        }
        Ok(Some(Job {
            catalog: self.catalog,
            target,
            toast,
        }))
    }

    /// [`Resolver::classify`] and [`Job::render`] in one step.
    pub fn resolve(
        &mut self,
        change: &Change,
        more_from_same_record: bool,
    ) -> Result<Option<Resolved<'c>>, OutputError> {
        match self.classify(change, more_from_same_record)? {
            Some(job) => job.render(change, &self.ctx).map(Some),
            None => Ok(None),
        }
    }
}

impl<'c> Job<'c> {
    /// The catalog version the change sees.
    pub fn catalog(&self) -> &'c Catalog {
        self.catalog
    }

    /// The relation of an INSERT, UPDATE or DELETE.
    pub fn row_relation(&self) -> Option<&'c Relation> {
        match self.target {
            Target::Rows(rel) => Some(rel),
            Target::Truncate(_) | Target::Message => None,
        }
    }

    /// Deforms one of the change's tuples (of `rel`, its [`Job::row_relation`]) and passes each
    /// live column's stored value to `f`, TOAST values reassembled, for writers that print
    /// values straight into their output rather than from a rendered [`Row`].
    pub fn for_each_value<'t>(
        &self,
        lsn: Lsn,
        rel: &'c Relation,
        t: &'t LoggedTuple,
        f: impl FnMut(&'c Column, Raw<'t>) -> Result<(), OutputError>,
    ) -> Result<(), OutputError> {
        for_each_raw(lsn, rel, t, self.toast.as_deref(), f)
    }

    /// The output text of a column's stored value, for writers printing from tuples: straight
    /// from its bytes for the types most columns have ([`types::stored_text`]), otherwise
    /// printed by its type's output function into `scratch`.
    /// Inlined where values are printed, as the fast path is a few instructions.
    #[inline(always)]
    pub fn value_text<'b>(
        &self,
        lsn: Lsn,
        rel: &Relation,
        col: &Column,
        bytes: &'b [u8],
        ctx: &OutputContext,
        scratch: &'b mut ValueScratch,
    ) -> Result<&'b str, OutputError> {
        let ValueScratch { digits, text } = scratch;
        match types::stored_text(col.type_oid, bytes, digits) {
            Some(stored) => Ok(stored),
            None => self.output_text(lsn, rel, col, bytes, ctx, text),
        }
    }

    /// [`Job::value_text`] by the type's output function.
    #[inline(never)]
    fn output_text<'b>(
        &self,
        lsn: Lsn,
        rel: &Relation,
        col: &Column,
        bytes: &[u8],
        ctx: &OutputContext,
        text: &'b mut String,
    ) -> Result<&'b str, OutputError> {
        text.clear();
        types::write_output(self.catalog, col.type_oid, bytes, ctx, text)
            .map_err(|e| OutputError::value(lsn, rel, col, Box::new(e)))?;
        Ok(text)
    }

    /// Deforms the change's tuples and prints their values; the change must be the one the
    /// job was classified from.
    pub fn render(
        &self,
        change: &Change,
        ctx: &OutputContext,
    ) -> Result<Resolved<'c>, OutputError> {
        self.render_reusing(change, ctx, &mut Vec::new())
    }

    /// As [`Job::render`], filling rows taken from `spare` (see [`Resolved::recycle`]) rather
    /// than new ones.
    pub fn render_reusing(
        &self,
        change: &Change,
        ctx: &OutputContext,
        spare: &mut Vec<Row<'c>>,
    ) -> Result<Resolved<'c>, OutputError> {
        let lsn = change.lsn;
        let toast = self.toast.as_deref();
        let catalog = self.catalog;
        let mut row = |rel: &'c Relation, t: &LoggedTuple| {
            let mut row = spare.pop().unwrap_or_default();
            render_row(lsn, rel, t, toast, catalog, ctx, &mut row)?;
            Ok::<_, OutputError>(row)
        };
        Ok(match (&self.target, &change.kind) {
            (Target::Rows(rel), ChangeKind::Insert { new, .. }) => Resolved::Insert {
                rel,
                new: row(rel, new)?,
            },
            (Target::Rows(rel), ChangeKind::Update { old, new, .. }) => Resolved::Update {
                rel,
                old: old.as_ref().map(|t| row(rel, t)).transpose()?,
                new: new.as_ref().map(|t| row(rel, t)).transpose()?,
            },
            (Target::Rows(rel), ChangeKind::Delete { old, .. }) => Resolved::Delete {
                rel,
                old: old.as_ref().map(|t| row(rel, t)).transpose()?,
            },
            (
                Target::Truncate(rels),
                ChangeKind::Truncate {
                    cascade,
                    restart_seqs,
                    ..
                },
            ) => Resolved::Truncate {
                rels: rels.clone(),
                cascade: *cascade,
                restart_seqs: *restart_seqs,
            },
            (Target::Message, ChangeKind::Message { prefix, content }) => Resolved::Message {
                prefix: prefix.clone(),
                content: content.clone(),
            },
            _ => unreachable!("a job is rendered with the change it was classified from"),
        })
    }
}

/// Space [`Job::value_text`] prints into, kept by a writer from value to value.
#[derive(Default)]
pub struct ValueScratch {
    digits: itoa::Buffer,
    text: String,
}

/// A column value before its type's output function runs.
pub enum Raw<'t> {
    Null,
    UnchangedToast,
    Bytes(Cow<'t, [u8]>),
    /// A column added after the row was written, with the default it was added with.
    Text(String),
}

/// Deforms a tuple and passes each live column's value to `f` as it is read, TOAST values
/// reassembled from `toast`.
fn for_each_raw<'c, 't>(
    lsn: Lsn,
    rel: &'c Relation,
    t: &'t LoggedTuple,
    toast: Option<&ToastChunks>,
    mut f: impl FnMut(&'c Column, Raw<'t>) -> Result<(), OutputError>,
) -> Result<(), OutputError> {
    /// Why deforming stopped: the tuple itself, or a value.
    enum Stop {
        Tuple(tuple::TupleError),
        Value(OutputError),
    }
    impl From<tuple::TupleError> for Stop {
        fn from(e: tuple::TupleError) -> Stop {
            Stop::Tuple(e)
        }
    }
    let relname = || format!("{}.{}", rel.namespace, rel.name);
    let columns: &'c [Column] = rel.columns.as_deref().unwrap_or(&[]);
    let tuple = HeapTuple {
        infomask2: t.infomask2,
        infomask: t.infomask,
        hoff: t.hoff,
        data: &t.data,
    };
    let deformed = tuple::deform_each(&tuple, columns, |col, datum| {
        let value = match datum {
            Datum::Dropped => return Ok(()),
            Datum::Null => Raw::Null,
            Datum::Missing if !col.atthasmissing => Raw::Null,
            Datum::Missing => match col
                .attmissingval
                .as_deref()
                .and_then(crate::catalog::rows::array_literal_element)
            {
                Some(text) => Raw::Text(text),
                None => {
                    return Err(Stop::Value(OutputError::MissingValue {
                        lsn,
                        relation: relname(),
                        column: col.name.clone(),
                    }))
                }
            },
            Datum::Fixed(b) | Datum::CString(b) => Raw::Bytes(Cow::Borrowed(b)),
            Datum::Varlena(Varlena::External(p)) => match toast.and_then(|m| m.get(&p.value_id)) {
                Some(chunks) => Raw::Bytes(Cow::Owned(tuple::toast_chunks_to_value(
                    &p,
                    chunks.iter().map(|(seq, d)| (*seq, d.as_slice())),
                )?)),
                None => Raw::UnchangedToast,
            },
            Datum::Varlena(v) => Raw::Bytes(v.detoast_inline()?),
        };
        f(col, value).map_err(Stop::Value)
    });
    deformed.map_err(|stop| match stop {
        Stop::Tuple(source) => OutputError::Tuple {
            lsn,
            relation: relname(),
            source: Box::new(source),
        },
        Stop::Value(e) => e,
    })
}

/// Fills `row` (emptied first, its buffers kept) with a tuple's live columns and their values
/// printed by their types' output functions.
fn render_row<'c>(
    lsn: Lsn,
    rel: &'c Relation,
    t: &LoggedTuple,
    toast: Option<&ToastChunks>,
    catalog: &Catalog,
    ctx: &OutputContext,
    row: &mut Row<'c>,
) -> Result<(), OutputError> {
    let Row { values, text } = row;
    values.clear();
    text.clear();
    // Most values print in about twice their stored size: one allocation in the common case.
    text.reserve(2 * t.data.len() + 16);
    values.reserve(rel.columns.as_ref().map_or(0, Vec::len));
    for_each_raw(lsn, rel, t, toast, |col, raw| {
        let value = match raw {
            Raw::Null => Value::Null,
            Raw::UnchangedToast => Value::UnchangedToast,
            Raw::Text(s) => {
                let at = text.len();
                text.push_str(&s);
                Value::Text(at..text.len())
            }
            Raw::Bytes(bytes) => {
                let at = text.len();
                match types::write_output(catalog, col.type_oid, &bytes, ctx, text) {
                    Ok(()) => Value::Text(at..text.len()),
                    Err(e) => {
                        text.truncate(at);
                        Value::Unprintable(Box::new(e))
                    }
                }
            }
        };
        values.push((col, value));
        Ok(())
    })
}

/// `format_type_be` as it runs inside logical decoding, where `search_path` holds only
/// `pg_catalog`: types of other schemas are schema-qualified (`public.mood`, `public.mood[]`).
/// Types of `pg_catalog` print as the catalog export saw them (`integer`, `character varying`).
pub fn decoding_type_name(catalog: &Catalog, col: &Column, server_major: u32) -> String {
    let fallback = || col.type_name_no_typmod.clone().unwrap_or_default();
    let Some(t) = catalog.type_(col.type_oid) else {
        return fallback();
    };
    let qualified = |t: &crate::catalog::Type| {
        let mut s = String::new();
        ident::push_qualified_identifier(&mut s, &t.namespace, &t.name, server_major);
        s
    };
    // An array prints as its element type followed by [] (`public.mood[]`, not
    // `public._mood`).
    match t.typelem.and_then(|e| catalog.type_(e)) {
        Some(elem) if t.typlen == -1 && elem.namespace != "pg_catalog" => {
            format!("{}[]", qualified(elem))
        }
        _ if t.namespace != "pg_catalog" => qualified(t),
        _ => fallback(),
    }
}

/// `format_type_with_typemod` as it runs inside logical decoding: like
/// [`decoding_type_name`], with the column's typmod (`character varying(10)`,
/// `numeric(10,2)`, `public.short_text`, `public.mood[]`).
pub fn decoding_type_name_typmod(catalog: &Catalog, col: &Column, server_major: u32) -> String {
    let with_typmod = col.type_name.clone().unwrap_or_default();
    let Some(t) = catalog.type_(col.type_oid) else {
        return with_typmod;
    };
    let elem = t
        .typelem
        .filter(|_| t.typlen == -1)
        .and_then(|e| catalog.type_(e));
    let user = t.namespace != "pg_catalog" || elem.is_some_and(|e| e.namespace != "pg_catalog");
    if !user {
        return with_typmod;
    }
    let qualified = decoding_type_name(catalog, col, server_major);
    if col.typmod < 0 {
        return qualified;
    }
    // A typmod of a type outside pg_catalog: keep what follows the base name.
    let no_typmod = col.type_name_no_typmod.as_deref().unwrap_or("");
    let base_seen = no_typmod.strip_suffix("[]").unwrap_or(no_typmod);
    let base_qualified = qualified.strip_suffix("[]").unwrap_or(&qualified);
    match with_typmod.strip_prefix(base_seen) {
        Some(rest) if !base_seen.is_empty() => format!("{base_qualified}{rest}"),
        _ => with_typmod,
    }
}

impl From<crate::catalog::follow::FollowError> for OutputError {
    fn from(e: crate::catalog::follow::FollowError) -> OutputError {
        OutputError::Catalog(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::record::RelFileLocator;

    fn catalog() -> Catalog {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/pg15-logical/catalog.json");
        Catalog::load(&path).expect("test catalog")
    }

    fn insert(rel: u32, lsn: u64, new: LoggedTuple) -> Change {
        Change {
            lsn: Lsn(lsn),
            origin: None,
            kind: ChangeKind::Insert {
                rel: RelFileLocator {
                    spc: 1663,
                    db: 5,
                    rel,
                },
                new,
            },
        }
    }

    /// A row of `pg_toast_16416`: (chunk_id oid, chunk_seq int4, chunk_data bytea).
    fn chunk(value_id: u32, seq: i32, payload: &[u8]) -> LoggedTuple {
        let mut data = vec![0u8]; // padding from offset 23 to t_hoff 24
        data.extend_from_slice(&value_id.to_le_bytes());
        data.extend_from_slice(&seq.to_le_bytes());
        data.extend_from_slice(&(((payload.len() + 4) as u32) << 2).to_le_bytes());
        data.extend_from_slice(payload);
        LoggedTuple {
            infomask2: 3,
            infomask: 0x0002,
            hoff: 24,
            data,
        }
    }

    /// A row of `public.t_toast` (id, n, comp, rnd, ext, lz) whose `ext` is an out-of-line
    /// value of `len` bytes and whose other varlena columns are NULL.
    fn row_with_external(value_id: u32, len: u32) -> LoggedTuple {
        let mut data = vec![0b0001_0011]; // null bitmap: id, n and ext are present
        data.extend_from_slice(&1i32.to_le_bytes());
        data.extend_from_slice(&2i32.to_le_bytes());
        data.extend_from_slice(&[0x01, 18]); // 1-byte header, VARTAG_ONDISK
        data.extend_from_slice(&((len + 4) as i32).to_le_bytes());
        data.extend_from_slice(&len.to_le_bytes());
        data.extend_from_slice(&value_id.to_le_bytes());
        data.extend_from_slice(&16419u32.to_le_bytes());
        LoggedTuple {
            infomask2: 6,
            infomask: 0x0007,
            hoff: 24,
            data,
        }
    }

    #[test]
    fn toast_value_is_reassembled_from_its_chunks() {
        let cat = catalog();
        let mut r = Resolver::new(
            &cat,
            UnknownRelations::Error,
            OutputContext::new("UTC").unwrap(),
        );
        for (seq, part) in [(0, &b"abc"[..]), (1, b"def")] {
            let c = insert(16419, 0x100 + seq as u64, chunk(77, seq, part));
            assert!(r.resolve(&c, false).unwrap().is_none());
        }
        let main = insert(16416, 0x200, row_with_external(77, 6));
        let Some(Resolved::Insert { new, .. }) = r.resolve(&main, false).unwrap() else {
            panic!("expected an insert");
        };
        let (col, value) = new.values.iter().find(|(c, _)| c.name == "ext").unwrap();
        let rel = cat.relation_by_filenode(1663, 16416).unwrap();
        assert_eq!(
            new.text_of(Lsn(0x200), rel, col, value).unwrap(),
            Some("abcdef")
        );
    }

    #[test]
    fn missing_toast_chunk_is_an_error_naming_relation_and_lsn() {
        let cat = catalog();
        let mut r = Resolver::new(
            &cat,
            UnknownRelations::Error,
            OutputContext::new("UTC").unwrap(),
        );
        for (seq, part) in [(0, &b"abc"[..]), (2, b"ghi")] {
            let c = insert(16419, 0x100 + seq as u64, chunk(77, seq, part));
            r.resolve(&c, false).unwrap();
        }
        let main = insert(16416, 0x200, row_with_external(77, 9));
        let err = r.resolve(&main, false).err().expect("an error").to_string();
        assert!(
            err.contains("0/200") && err.contains("public.t_toast") && err.contains("chunk 1"),
            "{err}"
        );
        // A value whose chunks are not in this transaction was left unchanged by an UPDATE.
        let mut r = Resolver::new(
            &cat,
            UnknownRelations::Error,
            OutputContext::new("UTC").unwrap(),
        );
        let main = insert(16416, 0x300, row_with_external(78, 9));
        let Some(Resolved::Insert { new, .. }) = r.resolve(&main, false).unwrap() else {
            panic!("expected an insert");
        };
        assert!(new.values.iter().any(|(_, v)| *v == Value::UnchangedToast));
    }
}
