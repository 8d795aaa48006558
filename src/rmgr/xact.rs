//! Transaction (rmid 1): commit, abort, prepare, subtransaction assignment and (14+)
//! invalidation records (`xactdesc.c`).
//!
//! The parsing (`ParseCommitRecord`, `ParseAbortRecord`, `ParsePrepareRecord`) is kept apart
//! from the description so logical decoding can use the same parsed structs.

use std::fmt::Write;

use super::common::{push_cstr, write_invalidations_for, SHARED_INVALIDATION_MESSAGE_SIZE};
use super::fmt::{write_lsn, write_relpath, write_timestamptz};
use super::{Data, DescError};
use crate::wal::record::{Fork, Record, RelFileLocator};
use crate::wal::version::PgVersion;

pub const XLOG_XACT_COMMIT: u8 = 0x00;
pub const XLOG_XACT_PREPARE: u8 = 0x10;
pub const XLOG_XACT_ABORT: u8 = 0x20;
pub const XLOG_XACT_COMMIT_PREPARED: u8 = 0x30;
pub const XLOG_XACT_ABORT_PREPARED: u8 = 0x40;
pub const XLOG_XACT_ASSIGNMENT: u8 = 0x50;
/// 14+.
pub const XLOG_XACT_INVALIDATIONS: u8 = 0x60;
pub const XLOG_XACT_OPMASK: u8 = 0x70;
/// An `xinfo` word follows the fixed part of a commit/abort record.
pub const XLOG_XACT_HAS_INFO: u8 = 0x80;

pub const XACT_XINFO_HAS_DBINFO: u32 = 1 << 0;
pub const XACT_XINFO_HAS_SUBXACTS: u32 = 1 << 1;
pub const XACT_XINFO_HAS_RELFILELOCATORS: u32 = 1 << 2;
pub const XACT_XINFO_HAS_INVALS: u32 = 1 << 3;
pub const XACT_XINFO_HAS_TWOPHASE: u32 = 1 << 4;
pub const XACT_XINFO_HAS_ORIGIN: u32 = 1 << 5;
// 1 << 6 is XACT_XINFO_HAS_AE_LOCKS, a flag without payload that nothing here needs.
pub const XACT_XINFO_HAS_GID: u32 = 1 << 7;
/// 15+.
pub const XACT_XINFO_HAS_DROPPED_STATS: u32 = 1 << 8;
pub const XACT_COMPLETION_APPLY_FEEDBACK: u32 = 1 << 29;
pub const XACT_COMPLETION_UPDATE_RELCACHE_FILE: u32 = 1 << 30;
pub const XACT_COMPLETION_FORCE_SYNC_COMMIT: u32 = 1 << 31;

const RELFILELOCATOR_SIZE: usize = 12;
/// `MAXALIGN(sizeof(xl_xact_prepare))`: 64 before 15 added the two stats counters, 72 after.
fn prepare_header_size(version: PgVersion) -> usize {
    if version >= PgVersion::V15 {
        72
    } else {
        64
    }
}

/// `sizeof(xl_xact_stats_item)`: 18 widened the object id to 64 bits.
fn stats_item_size(version: PgVersion) -> usize {
    if version >= PgVersion::V18 {
        16
    } else {
        12
    }
}

fn maxalign(n: usize) -> usize {
    (n + 7) & !7
}

/// One dropped statistics entry (`xl_xact_stats_item`, 15+).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatsItem {
    pub kind: i32,
    pub dboid: u32,
    /// `objoid` (15–17, 32 bits) or `objid_hi << 32 | objid_lo` (18).
    pub objid: u64,
}

/// `xl_xact_parsed_commit`: a COMMIT or COMMIT_PREPARED record taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedCommit<'a> {
    pub xact_time: i64,
    /// 0 when the record has no `XLOG_XACT_HAS_INFO`.
    pub xinfo: u32,
    pub db_id: u32,
    pub ts_id: u32,
    pub subxacts: Vec<u32>,
    pub rels: Vec<RelFileLocator>,
    pub stats: Vec<StatsItem>,
    pub nmsgs: i32,
    /// `nmsgs` 16-byte `SharedInvalidationMessage`s.
    pub msgs: &'a [u8],
    /// 0 unless this completes a prepared transaction.
    pub twophase_xid: u32,
    /// The GID (without its NUL) when `XACT_XINFO_HAS_GID`.
    pub gid: Option<&'a [u8]>,
    pub origin_lsn: u64,
    pub origin_timestamp: i64,
}

/// `xl_xact_parsed_abort`: an ABORT or ABORT_PREPARED record taken apart (aborts carry no
/// invalidations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedAbort<'a> {
    pub xact_time: i64,
    pub xinfo: u32,
    pub db_id: u32,
    pub ts_id: u32,
    pub subxacts: Vec<u32>,
    pub rels: Vec<RelFileLocator>,
    pub stats: Vec<StatsItem>,
    pub twophase_xid: u32,
    pub gid: Option<&'a [u8]>,
    pub origin_lsn: u64,
    pub origin_timestamp: i64,
}

/// `xl_xact_parsed_prepare`: a PREPARE record (the whole two-phase state file) taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedPrepare<'a> {
    pub xid: u32,
    pub db_id: u32,
    pub prepared_at: i64,
    pub owner: u32,
    pub subxacts: Vec<u32>,
    pub commit_rels: Vec<RelFileLocator>,
    pub abort_rels: Vec<RelFileLocator>,
    /// Empty before 15.
    pub commit_stats: Vec<StatsItem>,
    pub abort_stats: Vec<StatsItem>,
    pub nmsgs: i32,
    pub msgs: &'a [u8],
    pub initfileinval: bool,
    /// The GID up to its NUL (at most `gidlen` bytes).
    pub gid: &'a [u8],
    pub origin_lsn: u64,
    pub origin_timestamp: i64,
}

impl ParsedCommit<'_> {
    pub fn relcache_init_file_inval(&self) -> bool {
        self.xinfo & XACT_COMPLETION_UPDATE_RELCACHE_FILE != 0
    }
    pub fn apply_feedback(&self) -> bool {
        self.xinfo & XACT_COMPLETION_APPLY_FEEDBACK != 0
    }
    pub fn force_sync_commit(&self) -> bool {
        self.xinfo & XACT_COMPLETION_FORCE_SYNC_COMMIT != 0
    }
}

/// A count field as C reads it: negative counts are corrupt input for us (C would walk
/// backwards through memory).
fn count(d: &Data<'_>, off: usize, what: &str) -> Result<usize, DescError> {
    let n = d.i32(off)?;
    usize::try_from(n).map_err(|_| DescError::Invalid(format!("negative {what} count {n}")))
}

fn u32_array(d: &Data<'_>, off: usize, n: usize) -> Result<Vec<u32>, DescError> {
    // Check the whole extent first so a huge count fails before allocating.
    d.slice(off, n.saturating_mul(4))?;
    (0..n).map(|i| d.u32(off + 4 * i)).collect()
}

fn locator_array(d: &Data<'_>, off: usize, n: usize) -> Result<Vec<RelFileLocator>, DescError> {
    d.slice(off, n.saturating_mul(RELFILELOCATOR_SIZE))?;
    (0..n)
        .map(|i| {
            let b = off + RELFILELOCATOR_SIZE * i;
            Ok(RelFileLocator {
                spc: d.u32(b)?,
                db: d.u32(b + 4)?,
                rel: d.u32(b + 8)?,
            })
        })
        .collect()
}

fn stats_array(
    d: &Data<'_>,
    off: usize,
    n: usize,
    version: PgVersion,
) -> Result<Vec<StatsItem>, DescError> {
    let size = stats_item_size(version);
    d.slice(off, n.saturating_mul(size))?;
    (0..n)
        .map(|i| {
            let b = off + size * i;
            let objid = if size == 16 {
                u64::from(d.u32(b + 12)?) << 32 | u64::from(d.u32(b + 8)?)
            } else {
                u64::from(d.u32(b + 8)?)
            };
            Ok(StatsItem {
                kind: d.i32(b)?,
                dboid: d.u32(b + 4)?,
                objid,
            })
        })
        .collect()
}

/// The shared walk of `ParseCommitRecord` / `ParseAbortRecord`. Every part up to the two-phase
/// xid is int-sized, so the data stays 4-aligned and no padding is skipped; the GID and the
/// origin that follow are unaligned.
fn parse_completion<'a>(
    info: u8,
    version: PgVersion,
    data: &'a [u8],
    is_commit: bool,
) -> Result<ParsedCommit<'a>, DescError> {
    let d = Data::new(data, "main data");
    let mut p = ParsedCommit {
        xact_time: d.i64(0)?,
        xinfo: 0,
        db_id: 0,
        ts_id: 0,
        subxacts: Vec::new(),
        rels: Vec::new(),
        stats: Vec::new(),
        nmsgs: 0,
        msgs: &[],
        twophase_xid: 0,
        gid: None,
        origin_lsn: 0,
        origin_timestamp: 0,
    };
    let mut off = 8;
    if info & XLOG_XACT_HAS_INFO != 0 {
        p.xinfo = d.u32(off)?;
        off += 4;
    }
    if p.xinfo & XACT_XINFO_HAS_DBINFO != 0 {
        p.db_id = d.u32(off)?;
        p.ts_id = d.u32(off + 4)?;
        off += 8;
    }
    if p.xinfo & XACT_XINFO_HAS_SUBXACTS != 0 {
        let n = count(&d, off, "subxact")?;
        p.subxacts = u32_array(&d, off + 4, n)?;
        off += 4 + 4 * n;
    }
    if p.xinfo & XACT_XINFO_HAS_RELFILELOCATORS != 0 {
        let n = count(&d, off, "relation")?;
        p.rels = locator_array(&d, off + 4, n)?;
        off += 4 + RELFILELOCATOR_SIZE * n;
    }
    // The flag bit had no meaning before 15, so older records never carry the array.
    if version >= PgVersion::V15 && p.xinfo & XACT_XINFO_HAS_DROPPED_STATS != 0 {
        let n = count(&d, off, "dropped stats")?;
        p.stats = stats_array(&d, off + 4, n, version)?;
        off += 4 + stats_item_size(version) * n;
    }
    if is_commit && p.xinfo & XACT_XINFO_HAS_INVALS != 0 {
        let n = count(&d, off, "invalidation message")?;
        let len = n.saturating_mul(SHARED_INVALIDATION_MESSAGE_SIZE);
        p.nmsgs = n as i32;
        p.msgs = d.slice(off + 4, len)?;
        off += 4 + len;
    }
    if p.xinfo & XACT_XINFO_HAS_TWOPHASE != 0 {
        p.twophase_xid = d.u32(off)?;
        off += 4;
        if p.xinfo & XACT_XINFO_HAS_GID != 0 {
            let gid = d.cstr(off)?;
            p.gid = Some(gid);
            off += gid.len() + 1;
        }
    }
    if p.xinfo & XACT_XINFO_HAS_ORIGIN != 0 {
        p.origin_lsn = d.u64(off)?;
        p.origin_timestamp = d.i64(off + 8)?;
    }
    Ok(p)
}

/// `ParseCommitRecord` over main data; `info` is the full `xl_info` (for `XLOG_XACT_HAS_INFO`).
pub fn parse_commit_data(
    info: u8,
    version: PgVersion,
    data: &[u8],
) -> Result<ParsedCommit<'_>, DescError> {
    parse_completion(info, version, data, true)
}

/// `ParseAbortRecord` over main data.
pub fn parse_abort_data(
    info: u8,
    version: PgVersion,
    data: &[u8],
) -> Result<ParsedAbort<'_>, DescError> {
    let p = parse_completion(info, version, data, false)?;
    Ok(ParsedAbort {
        xact_time: p.xact_time,
        xinfo: p.xinfo,
        db_id: p.db_id,
        ts_id: p.ts_id,
        subxacts: p.subxacts,
        rels: p.rels,
        stats: p.stats,
        twophase_xid: p.twophase_xid,
        gid: p.gid,
        origin_lsn: p.origin_lsn,
        origin_timestamp: p.origin_timestamp,
    })
}

/// `ParsePrepareRecord` over main data: the fixed header, then GID, subxacts, commit rels,
/// abort rels, (15+) commit and abort stats, invalidations — each section MAXALIGNed.
pub fn parse_prepare_data(version: PgVersion, data: &[u8]) -> Result<ParsedPrepare<'_>, DescError> {
    let d = Data::new(data, "main data");
    let nsubxacts = count(&d, 28, "subxact")?;
    let ncommitrels = count(&d, 32, "commit relation")?;
    let nabortrels = count(&d, 36, "abort relation")?;
    let (ncommitstats, nabortstats, rest) = if version >= PgVersion::V15 {
        (
            count(&d, 40, "commit stats")?,
            count(&d, 44, "abort stats")?,
            48,
        )
    } else {
        (0, 0, 40)
    };
    let ninvalmsgs = count(&d, rest, "invalidation message")?;
    let initfileinval = d.bool(rest + 4)?;
    let gidlen = usize::from(d.u16(rest + 6)?);
    let origin_lsn = d.u64(rest + 8)?;
    let origin_timestamp = d.i64(rest + 16)?;

    let mut off = prepare_header_size(version);
    // strncpy(gid, buf, gidlen): the name ends at the first NUL within gidlen bytes.
    let gid_area = d.slice(off, gidlen)?;
    let gid = &gid_area[..gid_area.iter().position(|&b| b == 0).unwrap_or(gidlen)];
    off += maxalign(gidlen);
    let subxacts = u32_array(&d, off, nsubxacts)?;
    off += maxalign(4 * nsubxacts);
    let commit_rels = locator_array(&d, off, ncommitrels)?;
    off += maxalign(RELFILELOCATOR_SIZE * ncommitrels);
    let abort_rels = locator_array(&d, off, nabortrels)?;
    off += maxalign(RELFILELOCATOR_SIZE * nabortrels);
    let commit_stats = stats_array(&d, off, ncommitstats, version)?;
    off += maxalign(stats_item_size(version) * ncommitstats);
    let abort_stats = stats_array(&d, off, nabortstats, version)?;
    off += maxalign(stats_item_size(version) * nabortstats);
    let msgs = d.slice(
        off,
        ninvalmsgs.saturating_mul(SHARED_INVALIDATION_MESSAGE_SIZE),
    )?;
    Ok(ParsedPrepare {
        xid: d.u32(8)?,
        db_id: d.u32(12)?,
        prepared_at: d.i64(16)?,
        owner: d.u32(24)?,
        subxacts,
        commit_rels,
        abort_rels,
        commit_stats,
        abort_stats,
        nmsgs: ninvalmsgs as i32,
        msgs,
        initfileinval,
        gid,
        origin_lsn,
        origin_timestamp,
    })
}

pub fn parse_commit<'a>(rec: &Record<'a>) -> Result<ParsedCommit<'a>, DescError> {
    parse_commit_data(rec.info(), rec.version, rec.main_data)
}

pub fn parse_abort<'a>(rec: &Record<'a>) -> Result<ParsedAbort<'a>, DescError> {
    parse_abort_data(rec.info(), rec.version, rec.main_data)
}

pub fn parse_prepare<'a>(rec: &Record<'a>) -> Result<ParsedPrepare<'a>, DescError> {
    parse_prepare_data(rec.version, rec.main_data)
}

/// `xl_xact_assignment`: the top-level xid and the subtransaction xids assigned to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub xtop: u32,
    pub subxacts: Vec<u32>,
}

pub fn parse_assignment(data: &[u8]) -> Result<Assignment, DescError> {
    let d = Data::new(data, "main data");
    let n = count(&d, 4, "subxact")?;
    Ok(Assignment {
        xtop: d.u32(0)?,
        subxacts: u32_array(&d, 8, n)?,
    })
}

pub fn identify(info: u8, version: PgVersion) -> Option<&'static str> {
    Some(match info & XLOG_XACT_OPMASK {
        XLOG_XACT_COMMIT => "COMMIT",
        XLOG_XACT_PREPARE => "PREPARE",
        XLOG_XACT_ABORT => "ABORT",
        XLOG_XACT_COMMIT_PREPARED => "COMMIT_PREPARED",
        XLOG_XACT_ABORT_PREPARED => "ABORT_PREPARED",
        XLOG_XACT_ASSIGNMENT => "ASSIGNMENT",
        XLOG_XACT_INVALIDATIONS if version >= PgVersion::V14 => "INVALIDATION",
        _ => return None,
    })
}

fn write_relations(out: &mut String, version: PgVersion, label: &str, rels: &[RelFileLocator]) {
    if rels.is_empty() {
        return;
    }
    let _ = write!(out, "; {label}:");
    for loc in rels {
        out.push(' ');
        write_relpath(out, version, loc, Fork::Main);
    }
}

fn write_subxacts(out: &mut String, subxacts: &[u32]) {
    if subxacts.is_empty() {
        return;
    }
    out.push_str("; subxacts:");
    for x in subxacts {
        let _ = write!(out, " {x}");
    }
}

fn write_stats(out: &mut String, label: &str, stats: &[StatsItem]) {
    if stats.is_empty() {
        return;
    }
    let _ = write!(out, "; {label}dropped stats:");
    for s in stats {
        let _ = write!(out, " {}/{}/{}", s.kind, s.dboid, s.objid);
    }
}

fn write_origin(out: &mut String, node: u16, lsn: u64, ts: i64) {
    let _ = write!(out, "; origin: node {node}, lsn ");
    write_lsn(out, lsn);
    out.push_str(", at ");
    write_timestamptz(out, ts);
}

/// Whether this pg_waldump shows a PREPARE's dropped stats. `ParsePrepareRecord` left the
/// stats counts zero until the August 2025 minor releases (15.14, 16.10, 17.6; 18 has the fix),
/// so older builds print nothing. We follow the builds we compare against — 15.18 and 18.6
/// show them, 16.2 does not — and current minor releases for 17.
fn prepare_shows_stats(version: PgVersion) -> bool {
    version != PgVersion::V16
}

fn describe_commit(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    let version = rec.version;
    let p = parse_commit(rec)?;
    if p.twophase_xid != 0 {
        let _ = write!(out, "{}: ", p.twophase_xid);
    }
    write_timestamptz(out, p.xact_time);
    write_relations(out, version, "rels", &p.rels);
    write_subxacts(out, &p.subxacts);
    write_stats(out, "", &p.stats);
    write_invalidations_for(
        out,
        version,
        p.nmsgs,
        Data::new(p.msgs, "main data"),
        p.db_id,
        p.ts_id,
        p.relcache_init_file_inval(),
    )?;
    if version >= PgVersion::V15 && p.apply_feedback() {
        out.push_str("; apply_feedback");
    }
    if p.force_sync_commit() {
        out.push_str("; sync");
    }
    if p.xinfo & XACT_XINFO_HAS_ORIGIN != 0 {
        write_origin(
            out,
            rec.origin.unwrap_or(0),
            p.origin_lsn,
            p.origin_timestamp,
        );
    }
    Ok(())
}

fn describe_abort(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    let version = rec.version;
    let p = parse_abort(rec)?;
    if p.twophase_xid != 0 {
        let _ = write!(out, "{}: ", p.twophase_xid);
    }
    write_timestamptz(out, p.xact_time);
    write_relations(out, version, "rels", &p.rels);
    write_subxacts(out, &p.subxacts);
    // 13/14 never showed an abort's origin; 15+ shows it before the stats.
    if version >= PgVersion::V15 {
        if p.xinfo & XACT_XINFO_HAS_ORIGIN != 0 {
            write_origin(
                out,
                rec.origin.unwrap_or(0),
                p.origin_lsn,
                p.origin_timestamp,
            );
        }
        write_stats(out, "", &p.stats);
    }
    Ok(())
}

fn describe_prepare(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    let version = rec.version;
    let p = parse_prepare(rec)?;
    out.push_str("gid ");
    push_cstr(out, p.gid);
    out.push_str(": ");
    write_timestamptz(out, p.prepared_at);
    write_relations(out, version, "rels(commit)", &p.commit_rels);
    write_relations(out, version, "rels(abort)", &p.abort_rels);
    if prepare_shows_stats(version) {
        write_stats(out, "commit ", &p.commit_stats);
        write_stats(out, "abort ", &p.abort_stats);
    }
    write_subxacts(out, &p.subxacts);
    // The parsed prepare never sets a tablespace, so the init-file line shows tsid 0.
    write_invalidations_for(
        out,
        version,
        p.nmsgs,
        Data::new(p.msgs, "main data"),
        p.db_id,
        0,
        p.initfileinval,
    )?;
    // 15+ shows the origin whenever the record carries one (as PrepareRedoAdd decides).
    if version >= PgVersion::V15 {
        if let Some(node) = rec.origin.filter(|&n| n != 0) {
            write_origin(out, node, p.origin_lsn, p.origin_timestamp);
        }
    }
    Ok(())
}

pub fn describe(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    match rec.info() & XLOG_XACT_OPMASK {
        XLOG_XACT_COMMIT | XLOG_XACT_COMMIT_PREPARED => describe_commit(rec, out),
        XLOG_XACT_ABORT | XLOG_XACT_ABORT_PREPARED => describe_abort(rec, out),
        XLOG_XACT_PREPARE => describe_prepare(rec, out),
        XLOG_XACT_ASSIGNMENT => {
            let a = parse_assignment(rec.main_data)?;
            let _ = write!(out, "xtop {}: subxacts:", a.xtop);
            for x in &a.subxacts {
                let _ = write!(out, " {x}");
            }
            Ok(())
        }
        XLOG_XACT_INVALIDATIONS if rec.version >= PgVersion::V14 => {
            let d = Data::new(rec.main_data, "main data");
            let n = d.i32(0)?;
            write_invalidations_for(out, rec.version, n, d.rest(4)?, 0, 0, false)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rmgr::common::testing::{describe_hex, localize, unhex};

    /// PREPARE of a transaction that created a table (so it drops its relation and stats on
    /// abort), as written by 16.2 and 18.6.
    const PREPARE_16: &str = "3445f9579c030000e302000005000000a3d2f404d30303000a00000000000000000000000100000000000000010000001600000000020800000000000000000000000000000000006769645f74776f007f060000050000000d4000001400000002000000050000000d400000140000005000000005000000422a6f1c000000004f00000005000000d826332000400000500000000500000055792138000000004f000000050000004417e69300000000370000000500000096054dd6000000003600000005000000d8263320000000000700000005000000c7b26598000000000600000005000000d6b43dc5000000000700000005000000173c2227000000000600000005000000239ddb09000000000700000005000000ef018e43000000000600000005000000c3429b390000000007000000050000003ce9ece000000000060000000500000054f25bb5000000000700000005000000dcba097600000000060000000500000021a5e26d000000000700000005000000054b0ca9000000000600000005000000837993ca00000000070000000500000054cdd996000000000600000005000000d20338a100000000fb00000005000000300a0000b77f0000fe72392a050000000d400000000000001400000001000000050000000d40000000000000000000010800000005000000140000000100000005000000370a0000980800000000080101000000050000001400000001000000e3020000000000000000000000000501070000000500000014000000017f0000050000000040000000000000000000010300000005000000380000000200000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000400000000000003800000002000000070000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000e1040000000000003800000002000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000eb040000000000003800000002000000030000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000300a0000000000003800000002000000020000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000df040000000000000000000000000000";
    const PREPARE_18: &str = "3445f957bc030000f902000005000000113d4f05d30303000a00000000000000000000000100000000000000010000001600000000020800000000000000000000000000000000006769645f74776f007f060000050000000e4000000500000002000000050000000e40000000000000520000000500000098eadfb2050000005100000005000000d8263320000000005200000005000000422a6f1c0000000051000000050000004417e69300000000390000000500000055792138000000003800000005000000d826332005000000074356f20500000004ce0976050000000671c9910500000015c8512b0500000007b2532d05000000d4404ec90500000006adb83605000000e0e1b7e70500000007e1b6bb050000002c7de2ad0500000006fa01ee05000000003ef7d7050000000709d41805000000ff95800e05000000064ac16205000000978e375b050000000734787c050000001fc66598050000000695815205000000e2d98e830500000007ba3fc305000000c63760470500000006bc679e050000004005ff2405000000070d178d0500000097b1b578050000000619027105000000117f544f00000000fbce837a05000000300a000000000000feaf167a050000000e400000000000001400000001000000050000000e40000000000000000000010800000000000000140000000100000005000000370a00009808000000000801010000000500000014000000017f000005000000004000000000000000000001030000000500000014000000017f0000f9020000000000000000000000000501070000000500000014000000017f000005000000df04000010400000000008010100000005000000380000000200000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000400000000000003800000002000000070000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000e1040000000000003800000002000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000eb040000000000003800000002000000030000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000300a0000000000003800000002000000020000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000df040000000000000000000000000000";
    const PREPARE_INVALS: &str = "; inval msgs: catcache 80 catcache 79 catcache 80 catcache 79 catcache 55 catcache 54 catcache 7 catcache 6 catcache 7 catcache 6 catcache 7 catcache 6 catcache 7 catcache 6 catcache 7 catcache 6 catcache 7 catcache 6 catcache 7 catcache 6 snapshot 2608 relcache";

    fn check(version: PgVersion, info: u8, origin: Option<u16>, hex: &str, expected_utc: &str) {
        let main = unhex(hex);
        let times: Vec<i64> = match info & XLOG_XACT_OPMASK {
            XLOG_XACT_PREPARE => {
                let p = parse_prepare_data(version, &main).unwrap();
                let mut t = vec![p.prepared_at];
                if origin.is_some() {
                    t.push(p.origin_timestamp);
                }
                t
            }
            XLOG_XACT_ASSIGNMENT | XLOG_XACT_INVALIDATIONS => vec![],
            _ => {
                let p = parse_commit_data(info, version, &main).unwrap();
                let mut t = vec![p.xact_time];
                if p.xinfo & XACT_XINFO_HAS_ORIGIN != 0 {
                    t.push(p.origin_timestamp);
                }
                t
            }
        };
        let got = describe_hex(describe, version, 1, info, origin, hex).unwrap();
        assert_eq!(got, localize(expected_utc, &times));
    }

    #[test]
    fn prepare_dropped_stats_follow_the_reference_builds() {
        // 16.2 did not fill the parsed stats counts, so nothing is shown; the layout still
        // skips the stats array to find the invalidations.
        check(
            PgVersion::V16,
            0x10,
            None,
            PREPARE_16,
            &format!(
                "gid gid_two: 2026-11-22 02:29:46.268323 UTC; rels(abort): base/5/16397{PREPARE_INVALS} 16397"
            ),
        );
        check(
            PgVersion::V18,
            0x10,
            None,
            PREPARE_18,
            &format!(
                "gid gid_two: 2026-11-22 02:29:52.193809 UTC; rels(abort): base/5/16398; abort dropped stats: 2/5/16398{} 16398",
                PREPARE_INVALS.replace("catcache 80 catcache 79 catcache 80 catcache 79 catcache 55 catcache 54", "catcache 82 catcache 81 catcache 82 catcache 81 catcache 57 catcache 56")
            ),
        );
        let main = unhex(PREPARE_16);
        let p = parse_prepare_data(PgVersion::V16, &main).unwrap();
        assert_eq!(p.gid, b"gid_two");
        assert_eq!(
            p.abort_stats,
            vec![StatsItem {
                kind: 2,
                dboid: 5,
                objid: 16397
            }]
        );
        assert_eq!(p.nmsgs, 22);
    }

    #[test]
    fn prepare_with_origin() {
        check(
            PgVersion::V15,
            0x10,
            None,
            "3445f957dc000000dc020000050000005beb0204d30303000a0000000000000000000000000000000000000000000000000000000003080000000000000000000000000000000000676964206f6e650014000000017f0000dc020000000000000000000000000501070000000500000014000000017f0000050000000040000000000000000000010300000005000000380000000200000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000400000000000000000000000000000",
            "gid gid one: 2026-11-22 02:29:30.414939 UTC",
        );
        check(
            PgVersion::V18,
            0x10,
            Some(1),
            "3445f957e400000007030000050000009d225205d30303000a00000000000000000000000000000000000000000000000000000000030a00eeccbbaa0000000080352585ecb002006f72696720707265700000000000000014000000017f000005000000004000000000000000000001030000000000000014000000017f0000070300000000000000000000000005010700000005000000380000000200000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000400000000000000000000000000000",
            "gid orig prep: 2026-11-22 02:29:52.383645 UTC; origin: node 1, lsn 0/AABBCCEE, at 2024-01-02 03:04:06.000000 UTC",
        );
    }

    #[test]
    fn commit_and_abort() {
        check(
            PgVersion::V15,
            0x80,
            None,
            "e5dc0204d303030003000000050000007f06000001000000d7020000",
            "2026-11-22 02:29:30.411237 UTC; subxacts: 727",
        );
        // COMMIT_PREPARED with a GID and an origin after it (unaligned).
        check(
            PgVersion::V15,
            0xb0,
            Some(1),
            "0b620504d3030300f1000000050000007f060000eb0200006f726967207072657000eeccbbaa0000000080352585ecb00200",
            "747: 2026-11-22 02:29:30.576395 UTC; origin: node 1, lsn 0/AABBCCEE, at 2024-01-02 03:04:06.000000 UTC",
        );
        check(
            PgVersion::V16,
            0xa1,
            None,
            "82a5f404d303030044010000010000007f060000050000000740000001000000020000000500000007400000",
            "2026-11-22 02:29:46.256770 UTC; rels: base/5/16391; dropped stats: 2/5/16391",
        );
        // 18: 16-byte stats items; the abort's origin comes before its stats.
        check(
            PgVersion::V18,
            0xa1,
            Some(1),
            "8b245205d303030064010000010000007f060000050000001d4000000100000002000000050000001d40000000000000ffccbbaa00000000c0773485ecb00200",
            "2026-11-22 02:29:52.384139 UTC; rels: base/5/16413; origin: node 1, lsn 0/AABBCCFF, at 2024-01-02 03:04:07.000000 UTC; dropped stats: 2/5/16413",
        );
        let main = unhex("0b620504d3030300f1000000050000007f060000eb0200006f726967207072657000eeccbbaa0000000080352585ecb00200");
        let p = parse_commit_data(0xb0, PgVersion::V15, &main).unwrap();
        assert_eq!(p.twophase_xid, 747);
        assert_eq!(p.gid, Some(&b"orig prep"[..]));
        assert_eq!((p.db_id, p.ts_id), (5, 1663));
        assert_eq!(p.origin_lsn, 0xAABB_CCEE);
    }

    #[test]
    fn assignment_and_invalidation() {
        check(
            PgVersion::V15,
            0x50,
            None,
            "f502000001000000f6020000",
            "xtop 757: subxacts: 758",
        );
        check(
            PgVersion::V18,
            0x60,
            None,
            "0300000013000000050000000ad0afc300000000fbce837a05000000300a000000000000fe000000050000000040000000000000",
            "; inval msgs: catcache 19 snapshot 2608 relcache 16384",
        );
        assert_eq!(identify(0x60, PgVersion::V13), None);
        assert_eq!(identify(0xe0, PgVersion::V14), Some("INVALIDATION"));
        assert_eq!(identify(0x70, PgVersion::V18), None);
    }

    #[test]
    fn truncated_records_are_errors() {
        // A commit whose xinfo claims subxacts that are not there.
        let r = describe_hex(
            describe,
            PgVersion::V15,
            1,
            0x80,
            None,
            "e5dc0204d3030300020000000500",
        );
        assert!(r.is_err());
        let r = describe_hex(describe, PgVersion::V15, 1, 0x10, None, "3445f957");
        assert!(r.is_err());
    }
}
