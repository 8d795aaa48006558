//! Catalog tuples as the WAL leaves them. PostgreSQL logs catalog rows for redo, not for
//! decoding: an insert or update carries no tuple when the page gets a full-page image, and an
//! update on the same page logs only the bytes that differ from the old version
//! (`log_heap_update`). So the tuples of catalog pages are kept here, from full-page images and
//! the heap records that follow them, as redo would rebuild them (`heap_xlog_*`).

use rustc_hash::FxHashMap;

use crate::logical::LoggedTuple;
use crate::rmgr::{Data, DescError};
use crate::wal::image::{restore_page, ImageError};
use crate::wal::lsn::Lsn;
use crate::wal::record::{Record, RelFileLocator};

const RM_HEAP2_ID: u8 = 9;
const RM_HEAP_ID: u8 = 10;
const XLOG_HEAP_OPMASK: u8 = 0x70;
const XLOG_HEAP_INIT_PAGE: u8 = 0x80;
const XLOG_HEAP_INSERT: u8 = 0x00;
const XLOG_HEAP_DELETE: u8 = 0x10;
const XLOG_HEAP_UPDATE: u8 = 0x20;
const XLOG_HEAP_HOT_UPDATE: u8 = 0x40;
const XLOG_HEAP_INPLACE: u8 = 0x70;
const XLOG_HEAP2_MULTI_INSERT: u8 = 0x50;
const XLH_UPDATE_PREFIX_FROM_OLD: u8 = 0x20;
const XLH_UPDATE_SUFFIX_FROM_OLD: u8 = 0x40;
const SIZE_OF_HEAP_HEADER: usize = 5;
const HEAP_TUPLE_HEADER_SIZE: usize = 23;

#[derive(Debug, thiserror::Error)]
pub enum PagesError {
    #[error("catalog record at {lsn}: {source}")]
    Record { lsn: Lsn, source: DescError },
    #[error("catalog record at {lsn}: full-page image of block {block}: {source}")]
    Image {
        lsn: Lsn,
        block: u32,
        source: ImageError,
    },
    #[error("catalog change at {lsn} in relfilenode {}/{}/{} block {block} offset {offnum}: the row it changes was last written before the WAL read; decode from the redo point of the checkpoint before the catalog was exported (pglcr catalog export records it), or re-export the catalog", .rel.spc, .rel.db, .rel.rel)]
    UnknownTuple {
        lsn: Lsn,
        rel: RelFileLocator,
        block: u32,
        offnum: u16,
    },
}

/// Where a tuple is: relation, block and line pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tid {
    pub rel: RelFileLocator,
    pub block: u32,
    pub offnum: u16,
}

/// A catalog row written, changed or removed by a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TupleChange {
    /// An insert or the new version of an update (the old version stays a row until then).
    Write { tid: Tid, tuple: LoggedTuple },
    /// `heap_inplace_update` (pg_class statistics, relfrozenxid, …): the row in place.
    Inplace { tid: Tid, tuple: LoggedTuple },
    /// A row deleted, with its last version when the page was seen.
    Delete { tid: Tid, old: Option<LoggedTuple> },
}

/// Tuples of the catalog pages seen, by relation and block.
#[derive(Default)]
pub struct Pages {
    pages: FxHashMap<(RelFileLocator, u32), FxHashMap<u16, LoggedTuple>>,
}

impl Pages {
    /// Follows one record: full-page images of the blocks of relations `tracked` accepts
    /// replace what was known of those pages, and heap records change their tuples. Returns the
    /// changed rows of those relations.
    pub fn apply(
        &mut self,
        rec: &Record<'_>,
        tracked: impl Fn(&RelFileLocator) -> bool,
    ) -> Result<Vec<TupleChange>, PagesError> {
        let mut any = false;
        for b in &rec.blocks {
            if b.fork.number() != 0 || !tracked(&b.locator) {
                continue;
            }
            any = true;
            if let Some(img) = b.image.as_ref().filter(|i| i.apply) {
                let page = restore_page(img).map_err(|source| PagesError::Image {
                    lsn: rec.lsn,
                    block: b.blkno,
                    source,
                })?;
                self.pages.insert((b.locator, b.blkno), page_tuples(&page));
            }
        }
        if !any {
            return Ok(Vec::new());
        }
        let rmid = rec.rmid();
        let op = rec.info() & XLOG_HEAP_OPMASK;
        let at = |source| PagesError::Record {
            lsn: rec.lsn,
            source,
        };
        let d = Data::new(rec.main_data, "main data");
        let mut out = Vec::new();
        match (rmid, op) {
            (RM_HEAP_ID, XLOG_HEAP_INSERT) => {
                let offnum = d.u16(0).map_err(at)?;
                let b = block(rec, 0).map_err(at)?;
                if rec.info() & XLOG_HEAP_INIT_PAGE != 0 && b.image.is_none() {
                    self.pages
                        .insert((b.locator, b.blkno), FxHashMap::default());
                }
                let tid = tid(b, offnum);
                let tuple = if b.has_data() {
                    let t = logged_tuple(&Data::new(b.data, "block 0 data")).map_err(at)?;
                    self.put(tid, t.clone());
                    t
                } else {
                    self.get(rec.lsn, tid)?.clone()
                };
                out.push(TupleChange::Write { tid, tuple });
            }
            (RM_HEAP2_ID, XLOG_HEAP2_MULTI_INSERT) => {
                let ntuples = usize::from(d.u16(2).map_err(at)?);
                let b = block(rec, 0).map_err(at)?;
                let init = rec.info() & XLOG_HEAP_INIT_PAGE != 0;
                if init && b.image.is_none() {
                    self.pages
                        .insert((b.locator, b.blkno), FxHashMap::default());
                }
                let data = Data::new(b.data, "block 0 data");
                let mut off = 0usize;
                for i in 0..ntuples {
                    // With a page initialised by the record, offsets are 1, 2, … and not logged.
                    let offnum = if init {
                        i as u16 + 1
                    } else {
                        d.u16(4 + 2 * i).map_err(at)?
                    };
                    let tid = tid(b, offnum);
                    let tuple = if b.has_data() {
                        off = (off + 1) & !1;
                        let datalen = usize::from(data.u16(off).map_err(at)?);
                        let body = off + 7;
                        let t = LoggedTuple {
                            infomask2: data.u16(off + 2).map_err(at)?,
                            infomask: data.u16(off + 4).map_err(at)?,
                            hoff: data.u8(off + 6).map_err(at)?,
                            data: data.slice(body, datalen).map_err(at)?.to_vec(),
                        };
                        off = body + datalen;
                        self.put(tid, t.clone());
                        t
                    } else {
                        self.get(rec.lsn, tid)?.clone()
                    };
                    out.push(TupleChange::Write { tid, tuple });
                }
            }
            (RM_HEAP_ID, XLOG_HEAP_UPDATE | XLOG_HEAP_HOT_UPDATE) => {
                let old_offnum = d.u16(4).map_err(at)?;
                let flags = d.u8(7).map_err(at)?;
                let new_offnum = d.u16(12).map_err(at)?;
                let new_block = block(rec, 0).map_err(at)?;
                let old_block = rec.block(1).unwrap_or(new_block);
                if rec.info() & XLOG_HEAP_INIT_PAGE != 0 && new_block.image.is_none() {
                    self.pages
                        .insert((new_block.locator, new_block.blkno), FxHashMap::default());
                }
                let old_tid = tid(old_block, old_offnum);
                let new_tid = tid(new_block, new_offnum);
                let tuple = if new_block.has_data() {
                    let t = self
                        .updated_tuple(rec.lsn, old_tid, flags, new_block.data)
                        .map_err(|e| match e {
                            Rebuild::Desc(source) => at(source),
                            Rebuild::Pages(e) => e,
                        })?;
                    self.put(new_tid, t.clone());
                    t
                } else {
                    self.get(rec.lsn, new_tid)?.clone()
                };
                out.push(TupleChange::Write {
                    tid: new_tid,
                    tuple,
                });
            }
            (RM_HEAP_ID, XLOG_HEAP_DELETE) => {
                let offnum = d.u16(4).map_err(at)?;
                let b = block(rec, 0).map_err(at)?;
                let tid = tid(b, offnum);
                let old = self.get(rec.lsn, tid).ok().cloned();
                out.push(TupleChange::Delete { tid, old });
            }
            (RM_HEAP_ID, XLOG_HEAP_INPLACE) => {
                let offnum = d.u16(0).map_err(at)?;
                let b = block(rec, 0).map_err(at)?;
                let tid = tid(b, offnum);
                if b.has_data() {
                    let t = self.get_mut(rec.lsn, tid)?;
                    let start = usize::from(t.hoff).saturating_sub(HEAP_TUPLE_HEADER_SIZE);
                    t.data.truncate(start);
                    t.data.extend_from_slice(b.data);
                }
                let tuple = self.get(rec.lsn, tid)?.clone();
                out.push(TupleChange::Inplace { tid, tuple });
            }
            _ => {}
        }
        Ok(out)
    }

    fn put(&mut self, tid: Tid, t: LoggedTuple) {
        self.pages
            .entry((tid.rel, tid.block))
            .or_default()
            .insert(tid.offnum, t);
    }

    fn get(&self, lsn: Lsn, tid: Tid) -> Result<&LoggedTuple, PagesError> {
        self.pages
            .get(&(tid.rel, tid.block))
            .and_then(|p| p.get(&tid.offnum))
            .ok_or_else(|| unknown(lsn, tid))
    }

    fn get_mut(&mut self, lsn: Lsn, tid: Tid) -> Result<&mut LoggedTuple, PagesError> {
        self.pages
            .get_mut(&(tid.rel, tid.block))
            .and_then(|p| p.get_mut(&tid.offnum))
            .ok_or_else(|| unknown(lsn, tid))
    }

    /// The new version of an updated tuple, with the prefix and suffix it shares with the old
    /// one taken from there (`heap_xlog_update`).
    fn updated_tuple(
        &self,
        lsn: Lsn,
        old_tid: Tid,
        flags: u8,
        data: &[u8],
    ) -> Result<LoggedTuple, Rebuild> {
        let d = Data::new(data, "block 0 data");
        let mut pos = 0;
        let mut prefix = 0usize;
        let mut suffix = 0usize;
        if flags & XLH_UPDATE_PREFIX_FROM_OLD != 0 {
            prefix = usize::from(d.u16(pos)?);
            pos += 2;
        }
        if flags & XLH_UPDATE_SUFFIX_FROM_OLD != 0 {
            suffix = usize::from(d.u16(pos)?);
            pos += 2;
        }
        let infomask2 = d.u16(pos)?;
        let infomask = d.u16(pos + 2)?;
        let hoff = d.u8(pos + 4)?;
        let logged = d.rest(pos + SIZE_OF_HEAP_HEADER)?.bytes();
        if prefix == 0 && suffix == 0 {
            return Ok(LoggedTuple {
                infomask2,
                infomask,
                hoff,
                data: logged.to_vec(),
            });
        }
        let old = self.get(lsn, old_tid)?;
        let old_start = usize::from(old.hoff).saturating_sub(HEAP_TUPLE_HEADER_SIZE);
        let old_values = old.data.get(old_start..).unwrap_or(&[]);
        let short = || {
            Rebuild::Desc(DescError::Invalid(format!(
                "update shares {prefix} prefix and {suffix} suffix bytes with an old tuple of {} bytes",
                old_values.len()
            )))
        };
        if prefix + suffix > old_values.len() {
            return Err(short());
        }
        let bitmap_len = usize::from(hoff).saturating_sub(HEAP_TUPLE_HEADER_SIZE);
        let mut out = Vec::with_capacity(logged.len() + prefix + suffix);
        if prefix > 0 {
            let bitmap = logged.get(..bitmap_len).ok_or_else(short)?;
            out.extend_from_slice(bitmap);
            out.extend_from_slice(&old_values[..prefix]);
            out.extend_from_slice(&logged[bitmap_len..]);
        } else {
            out.extend_from_slice(logged);
        }
        out.extend_from_slice(&old_values[old_values.len() - suffix..]);
        Ok(LoggedTuple {
            infomask2,
            infomask,
            hoff,
            data: out,
        })
    }
}

enum Rebuild {
    Desc(DescError),
    Pages(PagesError),
}

impl From<DescError> for Rebuild {
    fn from(e: DescError) -> Rebuild {
        Rebuild::Desc(e)
    }
}

impl From<PagesError> for Rebuild {
    fn from(e: PagesError) -> Rebuild {
        Rebuild::Pages(e)
    }
}

fn unknown(lsn: Lsn, tid: Tid) -> PagesError {
    PagesError::UnknownTuple {
        lsn,
        rel: tid.rel,
        block: tid.block,
        offnum: tid.offnum,
    }
}

fn block<'a>(
    rec: &'a Record<'_>,
    id: u8,
) -> Result<&'a crate::wal::record::BlockRef<'a>, DescError> {
    rec.block(id)
        .ok_or_else(|| DescError::Invalid(format!("heap record without block {id}")))
}

fn tid(b: &crate::wal::record::BlockRef<'_>, offnum: u16) -> Tid {
    Tid {
        rel: b.locator,
        block: b.blkno,
        offnum,
    }
}

fn logged_tuple(d: &Data<'_>) -> Result<LoggedTuple, DescError> {
    Ok(LoggedTuple {
        infomask2: d.u16(0)?,
        infomask: d.u16(2)?,
        hoff: d.u8(4)?,
        data: d.rest(SIZE_OF_HEAP_HEADER)?.bytes().to_vec(),
    })
}

/// The normal tuples of a heap page, by line pointer number.
fn page_tuples(page: &[u8]) -> FxHashMap<u16, LoggedTuple> {
    const LP_NORMAL: u32 = 1;
    let mut out = FxHashMap::default();
    let lower = page
        .get(12..14)
        .map_or(0, |b| usize::from(u16::from_le_bytes([b[0], b[1]])));
    let mut at = 24;
    let mut offnum = 1u16;
    while at + 4 <= lower.min(page.len()) {
        let lp = u32::from_le_bytes([page[at], page[at + 1], page[at + 2], page[at + 3]]);
        let (off, flags, len) = ((lp & 0x7fff) as usize, (lp >> 15) & 3, (lp >> 17) as usize);
        if flags == LP_NORMAL && len >= HEAP_TUPLE_HEADER_SIZE && off + len <= page.len() {
            let t = &page[off..off + len];
            out.insert(
                offnum,
                LoggedTuple {
                    infomask2: u16::from_le_bytes([t[18], t[19]]),
                    infomask: u16::from_le_bytes([t[20], t[21]]),
                    hoff: t[22],
                    data: t[HEAP_TUPLE_HEADER_SIZE..].to_vec(),
                },
            );
        }
        at += 4;
        offnum += 1;
    }
    out
}
