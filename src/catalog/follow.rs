//! The dictionary following the WAL: catalog rows written by DDL are read from the WAL
//! ([`pages`](super::pages), [`rows`](super::rows)) and applied to new versions of the
//! dictionary, as PostgreSQL's historic snapshots see the catalog: a transaction's catalog
//! rows are visible to its own later changes at once and to others from its commit on.
//!
//! Rows removed from catalogs are followed for relations (DROP TABLE), indexes (a dropped
//! primary key or replica identity index), types and partitions (DETACH); dropped schemas
//! stay known (no later change can use them).
//!
//! Rewrites of followed catalogs (VACUUM FULL, CLUSTER) fill a transient heap whose pages are
//! logged whole before the catalog takes its relfilenode over, in its pg_class row or, for
//! the relation-mapped catalogs (pg_class, pg_attribute, pg_type), only in the relation map
//! (`XLOG_RELMAP_UPDATE`): the transient heap's pages are kept from its pg_class row on.
//!
//! What the WAL read cannot tell: catalog rows written before the first record read. A
//! transaction that began before it and commits with invalidations after the dictionary was
//! taken may have written some; the follower stops there ([`FollowError::Unknown`]).

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use super::pages::{Pages, PagesError, TupleChange};
use super::rows::{self, AttributeRow, ClassRow, Layouts, Row, RowError, TypeRow};
use super::{Catalog, CatalogFile, Column, EnumLabel, Relation, Type};
use crate::rmgr::{xact, Data};
use crate::tuple::types::{OutputContext, TypeError};
use crate::tuple::{self, Varlena};
use crate::wal::lsn::Lsn;
use crate::wal::record::Record;

/// `pg_global`, the tablespace of shared catalogs.
const GLOBALTABLESPACE_OID: u32 = 1664;

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error(transparent)]
    Pages(#[from] PagesError),
    #[error("catalog change at {lsn}: {source}")]
    Row { lsn: Lsn, source: RowError },
    #[error("catalog change at {lsn}: {what}; re-export the catalog after {lsn}")]
    Unknown { lsn: Lsn, what: String },
    #[error("catalog change at {lsn}: default value of column {column} of relation {relation}: {source}")]
    Missing {
        lsn: Lsn,
        relation: u32,
        column: String,
        source: TypeError,
    },
    #[error("output settings from the catalog: {0}")]
    Settings(TypeError),
}

/// A catalog row a transaction wrote, at the LSN of its record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowChange {
    #[serde(with = "lsn_text")]
    pub lsn: Lsn,
    pub row: Row,
    /// The row was deleted (its last version).
    pub deleted: bool,
}

/// LSNs as `X/Y` text in JSON.
mod lsn_text {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    use crate::wal::lsn::Lsn;

    pub fn serialize<S: Serializer>(lsn: &Lsn, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(lsn)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Lsn, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}

/// The catalog rows of a transaction that committed at `lsn`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommittedRows {
    #[serde(with = "lsn_text")]
    pub lsn: Lsn,
    pub rows: Vec<RowChange>,
}

/// A dictionary and the catalog transactions committed after it, kept so that a later run
/// can continue following from an earlier point than where this one stops.
struct Carried {
    base: Arc<Catalog>,
    commits: Vec<CommittedRows>,
}

/// Follows the catalog pages and rows of one database through the WAL.
pub struct Follower {
    layouts: Layouts,
    pages: Pages,
    db: u32,
    /// The latest committed version.
    committed: Arc<Catalog>,
    /// The versions known at the start, each current from its LSN on.
    versions: Vec<(Lsn, Arc<Catalog>)>,
    ctx: OutputContext,
    /// Commits before this LSN are in the dictionary already.
    taken_at: Lsn,
    /// Redo points of the checkpoints read, in WAL order.
    redo_points: Vec<Lsn>,
    carried: Option<Carried>,
    /// Transient heaps a rewrite of a followed catalog fills (by tablespace and relfilenode),
    /// with the catalog rewritten, until a committed version knows their relfilenodes.
    rewrites: FxHashMap<(u32, u32), u32>,
    /// Where the followed catalogs and those transient heaps are stored (tablespace and
    /// relfilenode) and which catalog each holds: looked up for every block of every record.
    nodes: Nodes,
    /// Catalog rows of transactions still open, read while warming up.
    open: PendingRows,
    /// Where reading the WAL began: catalog rows before it were not seen.
    read_from: Option<Lsn>,
    /// `nextXid` of the first checkpoint whose redo point is at or after `read_from`: every
    /// transaction that began before `read_from` has an xid below it.
    xid_horizon: Option<u32>,
}

/// `RM_XLOG_ID` and its checkpoint records, whose main data starts with the redo point
/// (`CheckPoint.redo`), with `nextXid` at offset 24.
const RM_XLOG_ID: u8 = 0;
const XLOG_CHECKPOINT_SHUTDOWN: u8 = 0x00;
const XLOG_CHECKPOINT_ONLINE: u8 = 0x10;
const RM_XACT_ID: u8 = 1;
/// `RM_RELMAP_ID` and `XLOG_RELMAP_UPDATE`: `xl_relmap_update { Oid dbid; Oid tsid; int32
/// nbytes; RelMapFile data }`, `RelMapFile { int32 magic; int32 num_mappings; RelMapping
/// mappings[]; … }`, `RelMapping { Oid mapoid; RelFileNumber mapfilenumber }`.
const RM_RELMAP_ID: u8 = 7;
const XLOG_RELMAP_UPDATE: u8 = 0x00;

impl Follower {
    pub fn new(base: &Catalog) -> Result<Follower, FollowError> {
        let layouts = Layouts::new(base).map_err(|source| FollowError::Row {
            lsn: base.taken_at,
            source,
        })?;
        let committed = Arc::new(base.clone());
        let mut f = Follower {
            layouts,
            pages: Pages::default(),
            db: base.database_oid(),
            versions: vec![(Lsn(0), committed.clone())],
            committed,
            ctx: OutputContext::from_catalog(base).map_err(FollowError::Settings)?,
            taken_at: base.taken_at,
            redo_points: Vec::new(),
            carried: None,
            rewrites: FxHashMap::default(),
            nodes: Nodes::default(),
            open: PendingRows::default(),
            read_from: None,
            xid_horizon: None,
        };
        f.find_nodes();
        Ok(f)
    }

    /// Refreshes [`Follower::nodes`] from the committed version and the rewrites.
    fn find_nodes(&mut self) {
        let committed = &self.committed;
        let all: Vec<((u32, u32), u32)> = rows::FOLLOWED
            .iter()
            .filter_map(|&oid| {
                let r = committed.relation(oid)?;
                Some(((r.tablespace, r.relfilenode?), oid))
            })
            .chain(self.rewrites.iter().map(|(&k, &oid)| (k, oid)))
            .collect();
        self.nodes = Nodes {
            lowest: all.iter().map(|((_, n), _)| *n).min().unwrap_or(u32::MAX),
            highest: all.iter().map(|((_, n), _)| *n).max().unwrap_or(0),
            all,
        };
    }

    /// A follower continuing an earlier one: `base` with `commits` (in commit order) applied,
    /// each version current from its commit on; commits before `known_until` are in them
    /// already and are not applied again. It keeps every commit it applies for
    /// [`Follower::carry`].
    pub fn resume(
        base: &Catalog,
        commits: Vec<CommittedRows>,
        known_until: Lsn,
    ) -> Result<Follower, FollowError> {
        let mut f = Follower::new(base)?;
        for c in &commits {
            f.committed = Arc::new(apply(&f.committed, &c.rows, &f.ctx)?);
            f.versions.push((c.lsn, f.committed.clone()));
        }
        f.find_nodes();
        f.taken_at = known_until.max(base.taken_at);
        f.carried = Some(Carried {
            base: f.versions[0].1.clone(),
            commits,
        });
        Ok(f)
    }

    /// The versions known at the start, each current from its LSN on (the first from the
    /// beginning): the decoder's initial history.
    pub fn versions(&self) -> &[(Lsn, Arc<Catalog>)] {
        &self.versions
    }

    /// Redo points of the checkpoints read so far, in WAL order.
    pub fn redo_points(&self) -> &[Lsn] {
        &self.redo_points
    }

    /// What a follower resumed with [`Follower::resume`] needs to continue from `restart`
    /// (where the next run starts reading): the dictionary as of `restart`, taken at that LSN
    /// and warmed up from the newest checkpoint redo point before it, and the catalog
    /// transactions committed after it. `None` for a follower not resumed.
    pub fn carry(
        &self,
        restart: Lsn,
    ) -> Result<Option<(CatalogFile, Vec<CommittedRows>)>, FollowError> {
        let Some(carried) = &self.carried else {
            return Ok(None);
        };
        let folded = carried.commits.partition_point(|c| c.lsn <= restart);
        let mut base = (*carried.base).clone();
        for c in &carried.commits[..folded] {
            base = apply(&base, &c.rows, &self.ctx)?;
        }
        let old_redo = Follower::warm_up_from(&carried.base);
        let redo = old_redo
            .into_iter()
            .chain(self.redo_points.iter().copied())
            .filter(|&r| r <= restart)
            .max()
            .or(old_redo);
        let mut file = base.to_file(restart.max(carried.base.taken_at));
        file.checkpoint_redo_lsn = redo.map(|r| r.to_string());
        Ok(Some((file, carried.commits[folded..].to_vec())))
    }

    /// Where to start reading WAL so that every catalog page changed after the dictionary
    /// was taken is seen whole first: the redo point of the checkpoint before it, when the
    /// dictionary records it.
    pub fn warm_up_from(catalog: &Catalog) -> Option<Lsn> {
        catalog
            .file
            .checkpoint_redo_lsn
            .as_deref()
            .and_then(|l| l.parse().ok())
    }

    /// Reading the WAL begins at `lsn` (before the first record fed).
    pub fn read_from(&mut self, lsn: Lsn) {
        self.read_from.get_or_insert(lsn);
    }

    /// Follows a record read before decoding starts: the catalog pages it changes, and the
    /// catalog rows of transactions, applied when they commit after the dictionary was taken
    /// and kept for the decoder ([`Follower::take_open`]) while they are still open.
    pub fn warm_up(&mut self, rec: &Record<'_>) -> Result<(), FollowError> {
        let rows = self.feed(rec)?;
        let xid = rec.xid();
        if !rows.is_empty() && xid != 0 {
            self.open.entry(xid).or_default().extend(rows);
        }
        if rec.rmid() != RM_XACT_ID {
            return Ok(());
        }
        let bad = |source| {
            FollowError::Pages(PagesError::Record {
                lsn: rec.lsn,
                source,
            })
        };
        match rec.info() & xact::XLOG_XACT_OPMASK {
            info @ (xact::XLOG_XACT_COMMIT | xact::XLOG_XACT_COMMIT_PREPARED) => {
                let p = xact::parse_commit(rec).map_err(bad)?;
                let top = if info == xact::XLOG_XACT_COMMIT_PREPARED {
                    p.twophase_xid
                } else {
                    xid
                };
                let rows = self.take_rows(top, &p.subxacts);
                self.check_commit(top, p.xinfo, p.db_id, rec.lsn)?;
                if self.commit(rec.lsn, &rows)? {
                    self.versions.push((rec.lsn, self.committed.clone()));
                }
            }
            info @ (xact::XLOG_XACT_ABORT | xact::XLOG_XACT_ABORT_PREPARED) => {
                let p = xact::parse_abort(rec).map_err(bad)?;
                let top = if info == xact::XLOG_XACT_ABORT_PREPARED {
                    p.twophase_xid
                } else {
                    xid
                };
                self.take_rows(top, &p.subxacts);
            }
            _ => {}
        }
        Ok(())
    }

    /// The catalog rows read while warming up of a transaction and its subtransactions, in
    /// LSN order.
    fn take_rows(&mut self, xid: u32, subxacts: &[u32]) -> Vec<RowChange> {
        let mut rows: Vec<RowChange> = std::iter::once(&xid)
            .chain(subxacts)
            .filter_map(|x| self.open.remove(x))
            .flatten()
            .collect();
        rows.sort_by_key(|r| r.lsn);
        rows
    }

    /// The catalog rows of transactions still open when warming up ended, by xid: the
    /// decoder applies them when they commit.
    pub fn take_open(&mut self) -> PendingRows {
        std::mem::take(&mut self.open)
    }

    /// Checks a commit at `lsn` of transaction `xid` (`xinfo` and database from its commit
    /// record): a transaction that changed this database's catalog and began before the WAL
    /// read may have written catalog rows that were not read.
    pub fn check_commit(&self, xid: u32, xinfo: u32, db: u32, lsn: Lsn) -> Result<(), FollowError> {
        if lsn < self.taken_at || xinfo & xact::XACT_XINFO_HAS_INVALS == 0 || db != self.db {
            return Ok(());
        }
        match (self.xid_horizon, self.read_from) {
            (Some(horizon), Some(from)) if xid_precedes(xid, horizon) => {
                Err(FollowError::Unknown {
                    lsn,
                    what: format!(
                        "transaction {xid} commits catalog changes and began before {from}, \
                         where the WAL read for the dictionary taken at {} begins: what it \
                         changed before then is unknown",
                        self.taken_at
                    ),
                })
            }
            _ => Ok(()),
        }
    }

    /// The catalog as of the last commit fed.
    pub fn committed(&self) -> &Arc<Catalog> {
        &self.committed
    }

    /// Whether [`Follower::feed`] has anything to do with a record: most records touch no
    /// followed catalog, and this is all they cost.
    #[inline]
    pub fn needs(&self, rec: &Record<'_>) -> bool {
        self.read_from.is_none()
            || matches!(rec.rmid(), RM_XLOG_ID | RM_RELMAP_ID)
            || rec.blocks.iter().any(|b| {
                self.catalog_of(b.locator.spc, b.locator.db, b.locator.rel)
                    .is_some()
            })
    }

    /// Which followed catalog a relfilenode of this database holds, as of the committed
    /// version, or which one a transient heap being filled rewrites.
    #[inline]
    fn catalog_of(&self, spc: u32, db: u32, node: u32) -> Option<u32> {
        catalog_of(&self.nodes, self.db, spc, db, node)
    }

    /// Follows one record; returns the catalog rows it wrote, for the transaction that wrote
    /// them. Records that touch no followed catalog cost a comparison or two per block.
    pub fn feed(&mut self, rec: &Record<'_>) -> Result<Vec<RowChange>, FollowError> {
        if !self.needs(rec) {
            return Ok(Vec::new());
        }
        let read_from = *self.read_from.get_or_insert(rec.lsn);
        match rec.rmid() {
            RM_XLOG_ID
                if matches!(
                    rec.info() & 0xF0,
                    XLOG_CHECKPOINT_SHUTDOWN | XLOG_CHECKPOINT_ONLINE
                ) =>
            {
                let d = Data::new(rec.main_data, "checkpoint");
                if let (Ok(redo), Ok(next_xid)) = (d.u64(0), d.u32(24)) {
                    self.redo_points.push(Lsn(redo));
                    if self.xid_horizon.is_none() && Lsn(redo) >= read_from {
                        self.xid_horizon = Some(next_xid);
                    }
                }
            }
            RM_RELMAP_ID if rec.info() & 0xF0 == XLOG_RELMAP_UPDATE => {
                return self.relmap_update(rec);
            }
            _ => {}
        }
        if !rec.blocks.iter().any(|b| {
            self.catalog_of(b.locator.spc, b.locator.db, b.locator.rel)
                .is_some()
        }) {
            return Ok(Vec::new());
        }
        let (nodes, db) = (&self.nodes, self.db);
        let is_catalog = |l: &crate::wal::record::RelFileLocator| {
            catalog_of(nodes, db, l.spc, l.db, l.rel).is_some()
        };
        let changes = self.pages.apply(rec, is_catalog)?;
        let mut out = Vec::new();
        for c in changes {
            // In-place updates change statistics and frozen xids only.
            let (tid, tuple, deleted) = match c {
                TupleChange::Write { tid, tuple } => (tid, tuple, false),
                TupleChange::Delete {
                    tid,
                    old: Some(tuple),
                } => (tid, tuple, true),
                _ => continue,
            };
            let Some(table) = self.catalog_of(tid.rel.spc, tid.rel.db, tid.rel.rel) else {
                continue;
            };
            let row = self
                .layouts
                .read(table, &tuple)
                .map_err(|source| FollowError::Row {
                    lsn: rec.lsn,
                    source,
                })?;
            if let Row::Class(c) = &row {
                if !deleted && c.relrewrite != 0 && rows::FOLLOWED.contains(&c.relrewrite) {
                    // A transient heap created with storage of its own: its relfilenode is
                    // its OID when pg_class does not name it (a mapped catalog's).
                    let node = if c.relfilenode != 0 {
                        c.relfilenode
                    } else {
                        c.oid
                    };
                    self.rewrites
                        .insert((self.tablespace_of(c), node), c.relrewrite);
                    self.find_nodes();
                }
            }
            out.push(RowChange {
                lsn: rec.lsn,
                row,
                deleted,
            });
        }
        Ok(out)
    }

    /// The tablespace a pg_class row's relation is stored in.
    fn tablespace_of(&self, c: &ClassRow) -> u32 {
        tablespace_of(c, self.committed.file.database.tablespace)
    }

    /// An update of this database's relation map: the mapped relations whose relfilenode
    /// it changes, as rows of the transaction that wrote it (the map is written just
    /// before its commit record).
    fn relmap_update(&mut self, rec: &Record<'_>) -> Result<Vec<RowChange>, FollowError> {
        let d = Data::new(rec.main_data, "relation map update");
        let parsed = (|| {
            let db = d.u32(0)?;
            if db != self.db {
                return Ok(Vec::new());
            }
            let n = usize::try_from(d.i32(16)?).unwrap_or(0);
            (0..n)
                .map(|i| Ok((d.u32(20 + 8 * i)?, d.u32(24 + 8 * i)?)))
                .collect()
        })();
        let mappings: Vec<(u32, u32)> = parsed.map_err(|source| PagesError::Record {
            lsn: rec.lsn,
            source,
        })?;
        let rows: Vec<RowChange> = mappings
            .into_iter()
            .filter(|&(oid, node)| {
                self.committed
                    .relation(oid)
                    .is_some_and(|r| r.mapped && r.relfilenode != Some(node))
            })
            .map(|(oid, relfilenode)| RowChange {
                lsn: rec.lsn,
                row: Row::Mapped { oid, relfilenode },
                deleted: false,
            })
            .collect();
        if rec.xid() == 0 && !rows.is_empty() {
            self.commit(rec.lsn, &rows)?;
            return Ok(Vec::new());
        }
        Ok(rows)
    }

    /// A transaction committed at `lsn` with these catalog rows: they are visible from now on.
    /// Returns whether the catalog changed.
    pub fn commit(&mut self, lsn: Lsn, rows: &[RowChange]) -> Result<bool, FollowError> {
        if rows.is_empty() || lsn < self.taken_at {
            return Ok(false);
        }
        self.committed = Arc::new(apply(&self.committed, rows, &self.ctx)?);
        let committed = &self.committed;
        self.rewrites
            .retain(|&(spc, node), _| committed.relation_by_filenode(spc, node).is_none());
        self.find_nodes();
        if let Some(c) = self.carried.as_mut() {
            c.commits.push(CommittedRows {
                lsn,
                rows: rows.to_vec(),
            });
        }
        Ok(true)
    }

    /// The output settings the dictionary was taken with (to print missing values).
    pub fn output_context(&self) -> &OutputContext {
        &self.ctx
    }
}

/// Where followed catalogs are stored, with the range of their relfilenodes: the catalogs'
/// own are below those of user relations until a catalog is rewritten.
#[derive(Default)]
struct Nodes {
    all: Vec<((u32, u32), u32)>,
    lowest: u32,
    highest: u32,
}

#[inline]
fn catalog_of(nodes: &Nodes, our_db: u32, spc: u32, db: u32, node: u32) -> Option<u32> {
    if db != our_db || node < nodes.lowest || node > nodes.highest {
        return None;
    }
    nodes
        .all
        .iter()
        .find(|&&(k, _)| k == (spc, node))
        .map(|&(_, oid)| oid)
}

/// `TransactionIdPrecedes` for normal xids.
fn xid_precedes(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn tablespace_of(c: &ClassRow, db_tablespace: u32) -> u32 {
    if c.reltablespace != 0 {
        c.reltablespace
    } else if c.relisshared {
        GLOBALTABLESPACE_OID
    } else {
        db_tablespace
    }
}

/// A new version: `base` with `rows` applied in order.
pub fn apply(
    base: &Catalog,
    rows: &[RowChange],
    ctx: &OutputContext,
) -> Result<Catalog, FollowError> {
    let mut cat = base.clone();
    for r in rows {
        apply_row(&mut cat, r, ctx)?;
    }
    Ok(cat)
}

fn apply_row(
    cat: &mut Catalog,
    change: &RowChange,
    ctx: &OutputContext,
) -> Result<(), FollowError> {
    let lsn = change.lsn;
    if change.deleted {
        apply_delete(cat, &change.row);
        return Ok(());
    }
    match &change.row {
        Row::Class(c) => apply_class(cat, c, lsn),
        Row::Attribute(a) => apply_attribute(cat, a, lsn, ctx)?,
        Row::Type(t) => apply_type(cat, t),
        Row::Namespace { oid, name } => apply_namespace(cat, *oid, name),
        Row::Enum { oid, typid, label } => {
            let Some(mut t) = cat.type_(*typid).cloned() else {
                return Err(FollowError::Unknown {
                    lsn,
                    what: format!(
                        "enum label {label:?} of type {typid}, which is not in the catalog"
                    ),
                });
            };
            let labels = t.enum_labels.get_or_insert_with(Vec::new);
            if !labels.iter().any(|l| l.oid == *oid) {
                labels.push(EnumLabel {
                    oid: *oid,
                    label: label.clone(),
                });
            }
            cat.overlay_mut().types.insert(t.oid, Some(Arc::new(t)));
        }
        Row::Index(ix) => {
            let Some(mut rel) = cat.relation(ix.indrelid).cloned() else {
                return Ok(());
            };
            if ix.indisprimary {
                rel.primary_key = Some(ix.indkey.clone());
            }
            if ix.indisreplident {
                rel.replica_identity_index = Some(ix.indexrelid);
                if rel.replica_identity == "i" {
                    rel.identity_columns = Some(ix.indkey.clone());
                }
            } else if rel.replica_identity_index == Some(ix.indexrelid) {
                rel.replica_identity_index = None;
                if rel.replica_identity == "i" {
                    rel.identity_columns = None;
                }
            }
            if rel.replica_identity == "d" {
                rel.identity_columns = rel.primary_key.clone();
            }
            put_relation(cat, rel);
        }
        Row::Range {
            typid,
            subtype,
            multirange,
        } => {
            let Some(mut t) = cat.type_(*typid).cloned() else {
                return Err(FollowError::Unknown {
                    lsn,
                    what: format!("range type {typid}, which is not in the catalog"),
                });
            };
            t.range_subtype = Some(*subtype);
            cat.overlay_mut().types.insert(t.oid, Some(Arc::new(t)));
            if let Some(mut m) = multirange.and_then(|m| cat.type_(m).cloned()) {
                m.multirange_of = Some(*typid);
                cat.overlay_mut().types.insert(m.oid, Some(Arc::new(m)));
            }
        }
        Row::Mapped { oid, relfilenode } => {
            let Some(mut rel) = cat.relation(*oid).cloned() else {
                return Ok(());
            };
            let old = rel.relfilenode.replace(*relfilenode);
            if let Some(old) = old.filter(|&old| {
                cat.relation_by_filenode(rel.tablespace, old).map(|r| r.oid) == Some(*oid)
            }) {
                cat.overlay_mut()
                    .by_filenode
                    .insert((rel.tablespace, old), None);
            }
            put_relation(cat, rel);
        }
        Row::Inherits { rel, parent } => {
            cat.overlay_mut().parents.insert(*rel, *parent);
            if let Some(mut r) = cat.relation(*rel).cloned() {
                if cat.overlay.as_ref().and_then(|o| o.partitions.get(rel)) == Some(&true) {
                    r.partition_parent = Some(*parent);
                    put_relation(cat, r);
                }
            }
        }
    }
    Ok(())
}

fn apply_delete(cat: &mut Catalog, row: &Row) {
    match row {
        Row::Class(c) => {
            let Some(rel) = cat.relation(c.oid).cloned() else {
                return;
            };
            let gone = rel.relfilenode.filter(|&node| {
                cat.relation_by_filenode(rel.tablespace, node)
                    .map(|r| r.oid)
                    == Some(c.oid)
            });
            let o = cat.overlay_mut();
            if let Some(node) = gone {
                o.by_filenode.insert((rel.tablespace, node), None);
            }
            o.relations.insert(c.oid, None);
        }
        Row::Index(ix) => {
            let Some(mut rel) = cat.relation(ix.indrelid).cloned() else {
                return;
            };
            if ix.indisprimary {
                rel.primary_key = None;
            }
            if rel.replica_identity_index == Some(ix.indexrelid) {
                rel.replica_identity_index = None;
            }
            rel.identity_columns = match rel.replica_identity.as_str() {
                "d" => rel.primary_key.clone(),
                "i" if rel.replica_identity_index.is_some() => rel.identity_columns,
                _ => None,
            };
            put_relation(cat, rel);
        }
        Row::Inherits { rel, .. } => {
            cat.overlay_mut().parents.remove(rel);
            if let Some(mut r) = cat.relation(*rel).cloned() {
                r.partition_parent = None;
                put_relation(cat, r);
            }
        }
        Row::Type(t) => {
            cat.overlay_mut().types.insert(t.oid, None);
        }
        Row::Attribute(_)
        | Row::Namespace { .. }
        | Row::Enum { .. }
        | Row::Range { .. }
        | Row::Mapped { .. } => {}
    }
}

fn char_str(c: char) -> String {
    c.to_string()
}

fn has_columns(kind: char) -> bool {
    matches!(kind, 'r' | 'p' | 't' | 'm' | 'c' | 'f' | 'v')
}

fn apply_class(cat: &mut Catalog, c: &ClassRow, lsn: Lsn) {
    let prev = cat.relation(c.oid).cloned();
    let tablespace = tablespace_of(c, cat.file.database.tablespace);
    let relfilenode = if c.relfilenode != 0 {
        Some(c.relfilenode)
    } else {
        prev.as_ref().and_then(|p| p.relfilenode)
    };
    let replica_identity = char_str(c.relreplident);
    let primary_key = prev.as_ref().and_then(|p| p.primary_key.clone());
    let identity_columns = match c.relreplident {
        'd' => primary_key.clone(),
        'i' => prev
            .as_ref()
            .filter(|p| p.replica_identity == "i")
            .and_then(|p| p.identity_columns.clone()),
        _ => None,
    };
    let parent = cat
        .overlay
        .as_ref()
        .and_then(|o| o.parents.get(&c.oid))
        .copied();
    let namespace = cat
        .namespace(c.relnamespace)
        .map(str::to_string)
        .unwrap_or_else(|| format!("(namespace {} at {lsn})", c.relnamespace));
    let rel = Relation {
        oid: c.oid,
        relfilenode,
        tablespace,
        shared: c.relisshared,
        mapped: c.relfilenode == 0 && matches!(c.relkind, 'r' | 'i' | 't' | 'm' | 'S'),
        namespace,
        name: c.relname.clone(),
        kind: char_str(c.relkind),
        persistence: char_str(c.relpersistence),
        replica_identity,
        replica_identity_index: prev.as_ref().and_then(|p| p.replica_identity_index),
        primary_key,
        identity_columns,
        toast_relid: (c.reltoastrelid != 0).then_some(c.reltoastrelid),
        toast_relfilenode: (c.reltoastrelid != 0)
            .then(|| cat.relation(c.reltoastrelid).and_then(|t| t.relfilenode))
            .flatten(),
        partition_parent: if c.relispartition {
            prev.as_ref().and_then(|p| p.partition_parent).or(parent)
        } else {
            None
        },
        columns: prev
            .as_ref()
            .and_then(|p| p.columns.clone())
            .or_else(|| has_columns(c.relkind).then(Vec::new)),
        namespace_oid: Some(c.relnamespace),
        rewrite_of: (c.relrewrite != 0).then_some(c.relrewrite),
    };
    // The relation leaves its old relfilenode, unless another one took it meanwhile (the
    // two pg_class rows a rewrite swaps are updated one after the other).
    let left = prev
        .as_ref()
        .and_then(|p| Some((p.tablespace, p.relfilenode?)))
        .filter(|&(spc, node)| {
            (Some(node), spc) != (rel.relfilenode, rel.tablespace)
                && cat.relation_by_filenode(spc, node).map(|r| r.oid) == Some(c.oid)
        });
    let o = cat.overlay_mut();
    o.partitions.insert(c.oid, c.relispartition);
    if let Some(key) = left {
        o.by_filenode.insert(key, None);
    }
    put_relation(cat, rel);
}

fn put_relation(cat: &mut Catalog, rel: Relation) {
    let o = cat.overlay_mut();
    if let Some(node) = rel.relfilenode {
        o.by_filenode.insert((rel.tablespace, node), Some(rel.oid));
    }
    o.relations.insert(rel.oid, Some(Arc::new(rel)));
}

fn apply_attribute(
    cat: &mut Catalog,
    a: &AttributeRow,
    lsn: Lsn,
    ctx: &OutputContext,
) -> Result<(), FollowError> {
    if a.attnum <= 0 {
        return Ok(());
    }
    // Attributes of indexes and other relations without columns are not kept.
    let Some(mut rel) = cat.relation(a.attrelid).cloned() else {
        return Ok(());
    };
    if rel.columns.is_none() {
        return Ok(());
    }
    let missing = match (&a.missing, a.atthasmissing) {
        (Some(array), true) => {
            Some(
                missing_value(cat, a, array, ctx).map_err(|source| FollowError::Missing {
                    lsn,
                    relation: a.attrelid,
                    column: a.attname.clone(),
                    source,
                })?,
            )
        }
        _ => None,
    };
    if !a.attisdropped && cat.type_(a.atttypid).is_none() {
        return Err(FollowError::Unknown {
            lsn,
            what: format!(
                "column {:?} of relation {} has type {}, which is not in the catalog",
                a.attname, rel.name, a.atttypid
            ),
        });
    }
    let col = Column {
        attnum: a.attnum,
        name: a.attname.clone(),
        type_oid: a.atttypid,
        type_name: (!a.attisdropped)
            .then(|| super::format_type::format_type(cat, a.atttypid, Some(a.atttypmod))),
        type_name_no_typmod: (!a.attisdropped)
            .then(|| super::format_type::format_type(cat, a.atttypid, None)),
        typmod: a.atttypmod,
        attlen: a.attlen,
        attbyval: a.attbyval,
        attalign: char_str(a.attalign),
        attstorage: char_str(a.attstorage),
        attisdropped: a.attisdropped,
        attnotnull: a.attnotnull,
        attcompression: a.attcompression.map(char_str),
        atthasmissing: a.atthasmissing,
        attmissingval: missing,
    };
    let columns = rel.columns.get_or_insert_with(Vec::new);
    match columns.binary_search_by_key(&a.attnum, |c| c.attnum) {
        Ok(i) => columns[i] = col,
        Err(i) => columns.insert(i, col),
    }
    put_relation(cat, rel);
    Ok(())
}

/// `attmissingval` (a one-element array) as the export prints it: an array literal.
fn missing_value(
    cat: &Catalog,
    a: &AttributeRow,
    array: &[u8],
    ctx: &OutputContext,
) -> Result<String, TypeError> {
    let bad = |reason: &str| TypeError::Malformed {
        type_name: "anyarray".into(),
        reason: reason.into(),
    };
    let (elemtype, bytes) =
        rows::single_element(array).ok_or_else(|| bad("not a one-element array"))?;
    let value: std::borrow::Cow<[u8]> = match a.attlen {
        -1 => {
            let (v, _) = tuple::read_varlena(bytes, 0, 0).map_err(|e| bad(&e.to_string()))?;
            match v {
                Varlena::External(_) => return Err(bad("out-of-line element")),
                v => v.detoast_inline().map_err(|e| bad(&e.to_string()))?,
            }
        }
        -2 => {
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            bytes[..end].into()
        }
        n => bytes
            .get(..usize::try_from(n).unwrap_or(0))
            .ok_or_else(|| bad("element shorter than its type"))?
            .into(),
    };
    let mut text = String::new();
    crate::tuple::types::write_output(cat, elemtype, &value, ctx, &mut text)?;
    Ok(rows::array_literal(&text))
}

fn apply_type(cat: &mut Catalog, t: &TypeRow) {
    let prev = cat.type_(t.oid).cloned();
    let namespace = cat
        .namespace(t.typnamespace)
        .unwrap_or("pg_catalog")
        .to_string();
    let nonzero = |v: u32| (v != 0).then_some(v);
    // The output function by OID: from a known type with the same function, else the
    // functions every enum, composite, array, range and multirange type uses.
    let typoutput = prev
        .as_ref()
        .map(|p| p.typoutput.clone())
        .or_else(|| {
            cat.types()
                .into_iter()
                .find(|k| k.typoutput_oid == Some(t.typoutput))
                .map(|k| k.typoutput.clone())
        })
        .or_else(|| {
            nonzero(t.typbasetype)
                .and_then(|b| cat.type_(b))
                .map(|b| b.typoutput.clone())
        })
        .unwrap_or_else(|| {
            match t.typoutput {
                751 => "array_out",
                2291 => "record_out",
                3533 => "enum_out",
                3835 => "range_out",
                4230 => "multirange_out",
                _ => "",
            }
            .to_string()
        });
    let mut ty = Type {
        oid: t.oid,
        name: t.typname.clone(),
        namespace,
        formatted: String::new(),
        typlen: t.typlen,
        typbyval: t.typbyval,
        typalign: char_str(t.typalign),
        typtype: char_str(t.typtype),
        typcategory: char_str(t.typcategory),
        typdelim: char_str(t.typdelim),
        typelem: nonzero(t.typelem),
        typarray: nonzero(t.typarray),
        typbasetype: nonzero(t.typbasetype),
        typtypmod: t.typtypmod,
        typrelid: nonzero(t.typrelid),
        typoutput,
        typoutput_oid: Some(t.typoutput),
        enum_labels: prev
            .as_ref()
            .and_then(|p| p.enum_labels.clone())
            .or_else(|| (t.typtype == 'e').then(Vec::new)),
        range_subtype: prev.as_ref().and_then(|p| p.range_subtype),
        multirange_of: prev.as_ref().and_then(|p| p.multirange_of),
    };
    ty.formatted = match &prev {
        Some(p) if p.name == ty.name && p.namespace == ty.namespace => p.formatted.clone(),
        _ => super::format_type::format_type(&with_type(cat, &ty), ty.oid, None),
    };
    cat.overlay_mut().types.insert(ty.oid, Some(Arc::new(ty)));
}

/// `cat` with `ty` in it, with `formatted` left empty (to compute it).
fn with_type(cat: &Catalog, ty: &Type) -> Catalog {
    let mut c = cat.clone();
    c.overlay_mut()
        .types
        .insert(ty.oid, Some(Arc::new(ty.clone())));
    c
}

fn apply_namespace(cat: &mut Catalog, oid: u32, name: &str) {
    let old = cat.namespace(oid).map(str::to_string);
    cat.overlay_mut().namespaces.insert(oid, name.to_string());
    let Some(old) = old.filter(|o| o != name) else {
        return;
    };
    let moved: Vec<Relation> = cat
        .relations()
        .into_iter()
        .filter(|r| r.namespace_oid.map_or(r.namespace == old, |n| n == oid))
        .cloned()
        .collect();
    for mut r in moved {
        r.namespace = name.to_string();
        r.namespace_oid = Some(oid);
        put_relation(cat, r);
    }
    let types: Vec<Type> = cat
        .types()
        .into_iter()
        .filter(|t| t.namespace == old)
        .cloned()
        .collect();
    for mut t in types {
        t.namespace = name.to_string();
        t.formatted = String::new();
        t.formatted = super::format_type::format_type(&with_type(cat, &t), t.oid, None);
        cat.overlay_mut().types.insert(t.oid, Some(Arc::new(t)));
    }
}

/// Versions of the catalog a transaction's changes see: the committed version current at each
/// change, with the transaction's own catalog rows before that change applied.
#[derive(Clone, Debug, Default)]
pub struct TxnCatalogs {
    /// Committed versions, each current from its LSN on (the first from the transaction's
    /// start); mostly one.
    pub committed: SmallVec<[(Lsn, Arc<Catalog>); 1]>,
    /// The transaction's own catalog rows, in LSN order.
    pub own: Vec<RowChange>,
}

impl TxnCatalogs {
    /// Whether every change sees the same version.
    pub fn is_single(&self) -> bool {
        self.committed.len() <= 1 && self.own.is_empty()
    }
}

/// Keeps the version a change sees as a transaction's changes are walked in LSN order.
pub struct VersionCursor {
    catalogs: TxnCatalogs,
    ctx: OutputContext,
    /// Index into `committed` of the version in use, own rows applied so far, and the result.
    state: Option<(usize, usize, Arc<Catalog>)>,
}

impl VersionCursor {
    pub fn new(catalogs: TxnCatalogs, ctx: OutputContext) -> VersionCursor {
        VersionCursor {
            catalogs,
            ctx,
            state: None,
        }
    }

    /// The version a change at `lsn` sees; the same `Arc` as long as nothing changed.
    pub fn at(&mut self, lsn: Lsn) -> Result<Arc<Catalog>, FollowError> {
        let committed = &self.catalogs.committed;
        let ci = committed
            .iter()
            .rposition(|(from, _)| *from <= lsn)
            .unwrap_or(0);
        let own = self.catalogs.own.partition_point(|r| r.lsn < lsn);
        if let Some((c, o, v)) = &self.state {
            if *c == ci && *o == own {
                return Ok(v.clone());
            }
        }
        let base = &committed[ci].1;
        let version = match &self.state {
            Some((c, o, v)) if *c == ci && *o < own => {
                Arc::new(apply(v, &self.catalogs.own[*o..own], &self.ctx)?)
            }
            _ if own == 0 => base.clone(),
            _ => Arc::new(apply(base, &self.catalogs.own[..own], &self.ctx)?),
        };
        self.state = Some((ci, own, version.clone()));
        Ok(version)
    }
}

/// Rows by transaction, collected while following (for `pglcr catalog follow`).
pub type PendingRows = FxHashMap<u32, Vec<RowChange>>;
