//! Per-version differences of PostgreSQL 13, 14 and 17 (whose pg_waldump cannot be run here),
//! pinned with synthetic records built from the documented layouts.
//!
//! Sources of the expected strings and layouts:
//! * `/work/shared/wal-format.md` (the project's format reference, itself read from the 13.16,
//!   14.13 (`xlab-uiuc/postgresql-14.13`), 17.11 and 18.6 trees): §3 body layout, §4 rmgr ids,
//!   §5 payload structs, §7.3 format strings, §8 version switch checklist. Cited as "doc §x".
//! * For the index-AM `isCatalogRel` texts not spelled out in the doc: the `nbtdesc.c`,
//!   `gistdesc.c`, `spgdesc.c` and `hashdesc.c` of the PostgreSQL 18 tree (Copyright 1996-2025
//!   header, stored-code index) — unchanged from 17 per doc §8 ("pg_waldump desc style":
//!   17 "+ isCatalogRel", 18 "= 17") — and the 10–13 `hashdesc.c`
//!   (`"ntuples %d, latest removed xid %u"`).
//! * Where 15/16/18 are the contrast, the strings are those real pg_waldump 15.18 / 16.2 / 18.6
//!   printed (doc §7.4 and the captured cases in the per-module tests).

use crate::rmgr::common::testing::localize;
use crate::rmgr::{rmid_is_valid, write_description};
use crate::wal::lsn::Lsn;
use crate::wal::record::{decode_record, RECORD_HEADER_SIZE};
use crate::wal::version::PgVersion::{self, V13, V14, V15, V16, V17, V18};

/// One block reference of a synthetic record (main fork of 1663/5/16384, block 0): id and
/// block data (HAS_DATA is set when non-empty).
struct Blk<'a> {
    id: u8,
    data: &'a [u8],
}

/// Builds a record per doc §2.1/§3: header, block headers (main fork, explicit
/// 1663/5/16384, block 0), optional origin (253), main-data header (255), then block data
/// and main data.
fn build(rmid: u8, info: u8, origin: Option<u16>, blocks: &[Blk<'_>], main: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for b in blocks {
        let flags: u8 = if b.data.is_empty() { 0 } else { 0x20 }; // BKPBLOCK_HAS_DATA
        body.push(b.id);
        body.push(flags);
        body.extend_from_slice(&(b.data.len() as u16).to_le_bytes());
        for v in [1663u32, 5, 16384, 0] {
            body.extend_from_slice(&v.to_le_bytes());
        }
    }
    if let Some(o) = origin {
        body.push(253);
        body.extend_from_slice(&o.to_le_bytes());
    }
    if !main.is_empty() {
        assert!(main.len() < 256);
        body.extend_from_slice(&[255, main.len() as u8]);
    }
    for b in blocks {
        body.extend_from_slice(b.data);
    }
    body.extend_from_slice(main);
    let mut rec = vec![0u8; RECORD_HEADER_SIZE];
    rec[0..4].copy_from_slice(&((RECORD_HEADER_SIZE + body.len()) as u32).to_le_bytes());
    rec[16] = info;
    rec[17] = rmid;
    rec.extend_from_slice(&body);
    rec
}

/// `identify` + " " + `desc`, as after pg_waldump's `desc: `.
fn desc_full(
    version: PgVersion,
    rmid: u8,
    info: u8,
    origin: Option<u16>,
    blocks: &[Blk<'_>],
    main: &[u8],
) -> String {
    let bytes = build(rmid, info, origin, blocks, main);
    let rec = decode_record(Lsn(0x0100_0000), version, &bytes).expect("synthetic record decodes");
    let mut out = String::new();
    write_description(&rec, &mut out).expect("describes");
    out
}

fn desc(version: PgVersion, rmid: u8, info: u8, main: &[u8]) -> String {
    desc_full(version, rmid, info, None, &[], main)
}

/// Little-endian byte builder.
#[derive(Default)]
struct B(Vec<u8>);

impl B {
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    fn u16(mut self, v: u16) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn i32(self, v: i32) -> Self {
        self.u32(v as u32)
    }
    fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn i64(self, v: i64) -> Self {
        self.u64(v as u64)
    }
    fn bytes(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    /// Zero-pads to a multiple of 8 (MAXALIGN).
    fn maxalign(mut self) -> Self {
        while !self.0.len().is_multiple_of(8) {
            self.0.push(0);
        }
        self
    }
    fn done(self) -> Vec<u8> {
        self.0
    }
}

/// `expected_utc` with every rendering of TimestampTz 0 under TZ=UTC (doc §7.2) localised to
/// this process's time zone.
fn ts0(expected_utc: &str) -> String {
    localize(expected_utc, &[0])
}

// ---------------------------------------------------------------------------------------------
// §4: resource manager ids

#[test]
fn custom_rmgr_ids_are_valid_from_15() {
    // doc §4 / §1.7: 13, 14 accept only 0..=21; 15+ also 128..=255; 22..=127 never.
    for v in PgVersion::ALL {
        let custom = v >= V15;
        assert!(rmid_is_valid(0, v) && rmid_is_valid(21, v), "{v}");
        assert!(!rmid_is_valid(22, v) && !rmid_is_valid(127, v), "{v}");
        assert_eq!(rmid_is_valid(128, v), custom, "{v}");
        assert_eq!(rmid_is_valid(200, v), custom, "{v}");
        assert_eq!(rmid_is_valid(255, v), custom, "{v}");
    }
}

// ---------------------------------------------------------------------------------------------
// §5.2 / §7.3: Heap2

#[test]
fn heap2_identify_numbering_per_version() {
    // doc §5.2 opcode table.
    let names: &[(PgVersion, [&str; 3])] = &[
        (V13, ["CLEAN", "FREEZE_PAGE", "CLEANUP_INFO"]),
        (V14, ["PRUNE", "VACUUM", "FREEZE_PAGE"]),
        (V15, ["PRUNE", "VACUUM", "FREEZE_PAGE"]),
        (V16, ["PRUNE", "VACUUM", "FREEZE_PAGE"]),
        (
            V17,
            [
                "PRUNE_ON_ACCESS",
                "PRUNE_VACUUM_SCAN",
                "PRUNE_VACUUM_CLEANUP",
            ],
        ),
        (
            V18,
            [
                "PRUNE_ON_ACCESS",
                "PRUNE_VACUUM_SCAN",
                "PRUNE_VACUUM_CLEANUP",
            ],
        ),
    ];
    for (v, [a, b, c]) in names {
        let id = |info| (crate::rmgr::BUILTIN[9].identify)(info, *v);
        assert_eq!(id(0x10), Some(*a), "{v}");
        assert_eq!(id(0x20), Some(*b), "{v}");
        assert_eq!(id(0x30), Some(*c), "{v}");
        // Unchanged opcodes (doc §5.2).
        assert_eq!(id(0x00), Some("REWRITE"), "{v}");
        assert_eq!(id(0x40), Some("VISIBLE"), "{v}");
        assert_eq!(id(0xD0), Some("MULTI_INSERT+INIT"), "{v}");
        assert_eq!(id(0x70), Some("NEW_CID"), "{v}");
    }
}

#[test]
fn heap2_13_clean_freeze_cleanup_info() {
    // xl_heap_clean { latestRemovedXid @0, nredirected @4, ndead @6 }: "remxid %u" (doc §7.3).
    let clean = B::default().u32(731).u16(1).u16(2).done();
    assert_eq!(desc(V13, 9, 0x10, &clean), "CLEAN remxid 731");
    // xl_heap_freeze_page { cutoff_xid @0, ntuples u16 @4 } is 0x20 in 13.
    let freeze = B::default().u32(612).u16(3).done();
    assert_eq!(
        desc(V13, 9, 0x20, &freeze),
        "FREEZE_PAGE cutoff xid 612 ntuples 3"
    );
    // xl_heap_cleanup_info { RelFileNode @0, latestRemovedXid @12 }.
    let cleanup = B::default().u32(1663).u32(5).u32(16384).u32(733).done();
    assert_eq!(desc(V13, 9, 0x30, &cleanup), "CLEANUP_INFO remxid 733");
}

#[test]
fn heap2_14_prune_vacuum_freeze() {
    // 14–15 forms (doc §7.3), with 14's numbering: PRUNE 0x10, VACUUM 0x20, FREEZE_PAGE 0x30.
    let prune = B::default().u32(731).u16(1).u16(2).done();
    let offsets = B::default().u16(1).u16(5).u16(2).u16(3).u16(4).done();
    assert_eq!(
        desc_full(
            V14,
            9,
            0x10,
            None,
            &[Blk {
                id: 0,
                data: &offsets
            }],
            &prune
        ),
        "PRUNE latestRemovedXid 731 nredirected 1 ndead 2"
    );
    let vacuum = B::default().u16(4).done();
    assert_eq!(desc(V14, 9, 0x20, &vacuum), "VACUUM nunused 4");
    let freeze = B::default().u32(612).u16(3).done();
    assert_eq!(
        desc(V14, 9, 0x30, &freeze),
        "FREEZE_PAGE cutoff xid 612 ntuples 3"
    );
}

#[test]
fn heap2_17_prune_and_freeze_layout() {
    // xl_heap_prune { reason u8 @0, flags u8 @1 } + unaligned horizon @2 (doc §5.2, 17).
    // flags: IS_CATALOG_REL 0x02 | HAS_CONFLICT_HORIZON 0x08 | HAS_FREEZE_PLANS 0x10 |
    // HAS_REDIRECTIONS 0x20 | HAS_DEAD_ITEMS 0x40 | HAS_NOW_UNUSED_ITEMS 0x80.
    let main = B::default().u8(1).u8(0xFA).u32(700).done();
    // Block 0: freeze plans { nplans, pad, plan[] }, redirections { n, pairs }, dead { n, [] },
    // unused { n, [] }, then the plans' offsets.
    let block = B::default()
        .u16(1)
        .u16(0)
        // xlhp_freeze_plan: xmax @0, t_infomask2 @4, t_infomask @6, frzflags @8, ntuples @10
        .u32(0)
        .u16(3)
        .u16(0x0B00)
        .u8(0)
        .u8(0)
        .u16(2)
        .u16(1)
        .u16(1)
        .u16(5)
        .u16(1)
        .u16(2)
        .u16(2)
        .u16(3)
        .u16(4)
        .u16(6)
        .u16(7)
        .done();
    // Format: doc §7.3 Heap2 17–18 column; plan element as in 16's FREEZE_PAGE.
    assert_eq!(
        desc_full(
            V17,
            9,
            0x20,
            None,
            &[Blk {
                id: 0,
                data: &block
            }],
            &main
        ),
        "PRUNE_VACUUM_SCAN snapshotConflictHorizon: 700, isCatalogRel: T, nplans: 1, \
         nredirected: 1, ndead: 1, nunused: 2, plans: [{ xmax: 0, infomask: 2816, \
         infomask2: 3, ntuples: 2, offsets: [6, 7] }], redirected: [1->5], dead: [2], \
         unused: [3, 4]"
    );
    // No horizon: the isCatalogRel part keeps its leading comma; no block data, no counts.
    let main = B::default().u8(0).u8(0x00).done();
    assert_eq!(
        desc(V17, 9, 0x10, &main),
        "PRUNE_ON_ACCESS , isCatalogRel: F"
    );
    // Only unused items, reason VACUUM_CLEANUP.
    let main = B::default().u8(2).u8(0x80).done();
    let block = B::default().u16(1).u16(9).done();
    assert_eq!(
        desc_full(
            V17,
            9,
            0x30,
            None,
            &[Blk {
                id: 0,
                data: &block
            }],
            &main
        ),
        "PRUNE_VACUUM_CLEANUP , isCatalogRel: F, nplans: 0, nredirected: 0, ndead: 0, \
         nunused: 1, unused: [9]"
    );
}

// ---------------------------------------------------------------------------------------------
// §5.3 / §7.3: Transaction

const XACT: u8 = 1;

#[test]
fn xact_invalidations_record_from_14() {
    // XLOG_XACT_INVALIDATIONS 0x60 (doc §5.3: 14+): `xl_xact_invals { nmsgs, msgs[] }`,
    // description = invalidation text only. A relcache message is { id -2, dbId @4, relId @8 }.
    let main = B::default()
        .i32(1)
        .u8((-2i8) as u8)
        .bytes(&[0, 0, 0])
        .u32(5)
        .u32(16384)
        .u32(0)
        .done();
    for v in [V14, V17] {
        assert_eq!(
            desc(v, XACT, 0x60, &main),
            "INVALIDATION ; inval msgs: relcache 16384",
            "{v}"
        );
    }
    // 13 has no such record: pg_waldump prints UNKNOWN and no description.
    assert_eq!(desc(V13, XACT, 0x60, &main), "UNKNOWN (60) ");
}

/// A commit/abort main part: xact_time 0, xinfo, then the given sections.
fn completion(xinfo: u32) -> B {
    B::default().i64(0).u32(xinfo)
}

#[test]
fn xact_commit_dropped_stats_and_apply_feedback() {
    // xinfo: HAS_DBINFO | HAS_RELFILENODES | HAS_INVALS | HAS_DROPPED_STATS |
    // XACT_COMPLETION_APPLY_FEEDBACK (doc §5.3).
    let xinfo = 1 | 4 | 8 | (1 << 8) | (1 << 29);
    let inval = B::default()
        .i32(1)
        .u8((-2i8) as u8)
        .bytes(&[0, 0, 0])
        .u32(5)
        .u32(16385)
        .u32(0)
        .done();
    let head = || {
        completion(xinfo)
            .u32(5)
            .u32(1663)
            .i32(1)
            .u32(1663)
            .u32(5)
            .u32(16384)
    };
    // 15–17: { kind i32, dboid, objoid } (12 bytes).
    let main17 = head().i32(1).i32(2).u32(5).u32(16384).bytes(&inval).done();
    // 18: { kind, dboid, objid_lo, objid_hi } (16 bytes).
    let main18 = head()
        .i32(1)
        .i32(2)
        .u32(5)
        .u32(16384)
        .u32(1)
        .bytes(&inval)
        .done();
    // Order (doc §7.3): rels, subxacts, dropped stats, invals, apply_feedback.
    assert_eq!(
        desc(V17, XACT, 0x80, &main17),
        ts0(
            "COMMIT 2000-01-01 00:00:00.000000 UTC; rels: base/5/16384; dropped stats: \
             2/5/16384; inval msgs: relcache 16385; apply_feedback"
        )
    );
    assert_eq!(
        desc(V18, XACT, 0x80, &main18),
        ts0(
            "COMMIT 2000-01-01 00:00:00.000000 UTC; rels: base/5/16384; dropped stats: \
             2/5/4294983680; inval msgs: relcache 16385; apply_feedback"
        )
    );
    // 13/14 have neither dropped stats nor apply_feedback (doc §7.3, §8): the same record
    // without the stats section prints rels and invals only.
    let main14 = head().bytes(&inval).done();
    for v in [V13, V14] {
        assert_eq!(
            desc(v, XACT, 0x80, &main14),
            ts0(
                "COMMIT 2000-01-01 00:00:00.000000 UTC; rels: base/5/16384; inval msgs: \
                 relcache 16385"
            ),
            "{v}"
        );
    }
}

#[test]
fn xact_commit_tablespace_path_uses_the_catalog_version() {
    // relpath of a non-default tablespace: pg_tblspc/<spc>/PG_<major>_<catversion>/<db>/<rel>
    // (doc §3.3).
    let main = completion(4).i32(1).u32(16500).u32(5).u32(16384).done();
    assert_eq!(
        desc(V13, XACT, 0x80, &main),
        ts0("COMMIT 2000-01-01 00:00:00.000000 UTC; rels: pg_tblspc/16500/PG_13_202007201/5/16384")
    );
    assert_eq!(
        desc(V17, XACT, 0x80, &main),
        ts0("COMMIT 2000-01-01 00:00:00.000000 UTC; rels: pg_tblspc/16500/PG_17_202406281/5/16384")
    );
}

#[test]
fn xact_abort_origin_only_from_15() {
    // xinfo HAS_SUBXACTS | HAS_ORIGIN; origin { lsn u64, timestamp i64 } unaligned at the end.
    let main = completion(2 | (1 << 5))
        .i32(1)
        .u32(901)
        .u64(0xAABB_CCDD)
        .i64(0)
        .done();
    for v in [V13, V14] {
        assert_eq!(
            desc_full(v, XACT, 0xA0, Some(3), &[], &main),
            ts0("ABORT 2000-01-01 00:00:00.000000 UTC; subxacts: 901"),
            "{v}"
        );
    }
    assert_eq!(
        desc_full(V17, XACT, 0xA0, Some(3), &[], &main),
        ts0(
            "ABORT 2000-01-01 00:00:00.000000 UTC; subxacts: 901; origin: node 3, lsn \
             0/AABBCCDD, at 2000-01-01 00:00:00.000000 UTC"
        )
    );
}

#[test]
fn xact_prepare_header_is_64_bytes_before_15() {
    // xl_xact_prepare (doc §5.3): magic, total_len, xid, database, prepared_at @16, owner,
    // nsubxacts @28, ncommitrels @32, nabortrels @36, then
    //   13/14: ninvalmsgs @40, initfileinval @44, gidlen @46, origin_lsn @48, origin_ts @56 (64)
    //   15+:   ncommitstats @40, nabortstats @44, ninvalmsgs @48, initfileinval @52,
    //          gidlen @54, origin_lsn @56, origin_ts @64 (72)
    // then MAXALIGNed sections: gid, subxacts, commit rels, abort rels, [stats], invals.
    let common = || {
        B::default()
            .u32(0x57F9_4534)
            .u32(0)
            .u32(900)
            .u32(5)
            .i64(0)
            .u32(10)
            .i32(1)
            .i32(1)
            .i32(0)
    };
    let sections = |b: B| {
        b.bytes(b"g1\0")
            .maxalign()
            .u32(901)
            .maxalign()
            .u32(1663)
            .u32(5)
            .u32(16384)
            .maxalign()
    };
    let main14 = sections(common().i32(0).u8(0).u8(0).u16(3).u64(0).i64(0)).done();
    let main17 = sections(
        common()
            .i32(1)
            .i32(0)
            .i32(0)
            .u8(0)
            .u8(0)
            .u16(3)
            .u64(0)
            .i64(0),
    )
    .i32(2)
    .u32(5)
    .u32(16384)
    .maxalign()
    .done();
    // PREPARE: "gid %s: <ts>" + rels(commit) + (15+) commit dropped stats + subxacts.
    for v in [V13, V14] {
        assert_eq!(
            desc(v, XACT, 0x10, &main14),
            ts0(
                "PREPARE gid g1: 2000-01-01 00:00:00.000000 UTC; rels(commit): base/5/16384; \
                 subxacts: 901"
            ),
            "{v}"
        );
    }
    assert_eq!(
        desc(V17, XACT, 0x10, &main17),
        ts0(
            "PREPARE gid g1: 2000-01-01 00:00:00.000000 UTC; rels(commit): base/5/16384; \
             commit dropped stats: 2/5/16384; subxacts: 901"
        )
    );
}

// ---------------------------------------------------------------------------------------------
// §5.5 / §7.3: XLOG

fn checkpoint(wal_level_slot: i32) -> Vec<u8> {
    // CheckPoint (doc §5.5): redo @0, tli @8, prev tli @12, fpw @16, wal_level @20 (17+,
    // padding before), nextXid @24 (xid lo, epoch hi), nextOid @32, nextMulti @36,
    // nextMultiOffset @40, oldestXid @44, oldestXidDB @48, oldestMulti @52, oldestMultiDB @56,
    // pad, time @64, oldestCommitTsXid @72, newestCommitTsXid @76, oldestActiveXid @80.
    B::default()
        .u64(0x0100_0028)
        .u32(1)
        .u32(1)
        .u8(1)
        .bytes(&[0, 0, 0])
        .i32(wal_level_slot)
        .u32(750)
        .u32(0)
        .u32(16400)
        .u32(1)
        .u32(0)
        .u32(720)
        .u32(1)
        .u32(1)
        .u32(1)
        .u32(0)
        .i64(0)
        .u32(0)
        .u32(0)
        .u32(750)
        .u32(0)
        .done()
}

#[test]
fn xlog_checkpoint_wal_level_from_17() {
    let main = checkpoint(1);
    assert_eq!(main.len(), 88);
    let tail = "xid 0:750; oid 16400; multi 1; offset 0; oldest xid 720 in DB 1; oldest multi 1 \
                in DB 1; oldest/newest commit timestamp xid: 0/0; oldest running xid 750; online";
    // 13–16: the slot is padding and never printed (doc §7.3).
    for v in [V13, V14] {
        assert_eq!(
            desc(v, 0, 0x10, &main),
            format!("CHECKPOINT_ONLINE redo 0/1000028; tli 1; prev tli 1; fpw true; {tail}"),
            "{v}"
        );
    }
    assert_eq!(
        desc(V17, 0, 0x10, &main),
        format!(
            "CHECKPOINT_ONLINE redo 0/1000028; tli 1; prev tli 1; fpw true; wal_level replica; \
             {tail}"
        )
    );
}

#[test]
fn xlog_end_of_recovery_and_checkpoint_redo_17() {
    // xl_end_of_recovery: end_time @0, ThisTimeLineID @8, PrevTimeLineID @12, (17+)
    // wal_level @16.
    let main = B::default().i64(0).u32(2).u32(1).i32(2).u32(0).done();
    assert_eq!(
        desc(V14, 0, 0x90, &main[..16]),
        ts0("END_OF_RECOVERY tli 2; prev tli 1; time 2000-01-01 00:00:00.000000 UTC")
    );
    assert_eq!(
        desc(V17, 0, 0x90, &main),
        ts0(
            "END_OF_RECOVERY tli 2; prev tli 1; time 2000-01-01 00:00:00.000000 UTC; \
             wal_level logical"
        )
    );
    // CHECKPOINT_REDO 0xE0 exists from 17 (doc §5.5): "wal_level %s".
    let redo = B::default().i32(0).done();
    assert_eq!(
        desc(V17, 0, 0xE0, &redo),
        "CHECKPOINT_REDO wal_level minimal"
    );
    for v in [V13, V14] {
        assert_eq!(desc(v, 0, 0xE0, &redo), "UNKNOWN (e0) ", "{v}");
    }
}

// ---------------------------------------------------------------------------------------------
// §5.7 / §7.3: CLOG

#[test]
fn clog_page_numbers_are_64_bit_from_17() {
    // ZEROPAGE: i32 page (13–16), i64 (17+); "page %d".
    assert_eq!(
        desc(V13, 3, 0x00, &B::default().i32(5).done()),
        "ZEROPAGE page 5"
    );
    assert_eq!(
        desc(V14, 3, 0x00, &B::default().i32(-1).done()),
        "ZEROPAGE page -1"
    );
    assert_eq!(
        desc(V17, 3, 0x00, &B::default().i64(0x1_0000_0005).done()),
        "ZEROPAGE page 4294967301"
    );
    // TRUNCATE: 13–16 { pageno i32 @0, oldestXact @4, oldestXactDb @8 };
    // 17+ { pageno i64 @0, oldestXact @8, oldestXactDb @12 }; "page %d; oldestXact %u".
    let t13 = B::default().i32(7).u32(700).u32(5).done();
    assert_eq!(desc(V13, 3, 0x10, &t13), "TRUNCATE page 7; oldestXact 700");
    let t17 = B::default().i64(7).u32(700).u32(5).done();
    assert_eq!(desc(V17, 3, 0x10, &t17), "TRUNCATE page 7; oldestXact 700");
    // The 17 layout read as 14 would take the i64's high half as oldestXact.
    assert_eq!(desc(V14, 3, 0x10, &t17), "TRUNCATE page 7; oldestXact 0");
}

// ---------------------------------------------------------------------------------------------
// §5.6 / §7.3: LogicalMessage

#[test]
fn logical_message_13_prints_only_the_size() {
    // xl_logical_message { dbId @0, transactional @4, prefix_size u64 @8, message_size u64 @16,
    // message[] @24 = "np\0" + payload }.
    let msg = |transactional: u8| {
        B::default()
            .u32(5)
            .u8(transactional)
            .bytes(&[0, 0, 0])
            .u64(3)
            .u64(3)
            .bytes(b"np\0")
            .bytes(&[0x00, 0xFF, 0x10])
            .done()
    };
    assert_eq!(
        desc(V13, 21, 0x00, &msg(1)),
        "MESSAGE transactional message size 3 bytes"
    );
    assert_eq!(
        desc(V13, 21, 0x00, &msg(0)),
        "MESSAGE nontransactional message size 3 bytes"
    );
    for v in [V14, V17] {
        assert_eq!(
            desc(v, 21, 0x00, &msg(0)),
            "MESSAGE non-transactional, prefix \"np\"; payload (3 bytes): 00 FF 10",
            "{v}"
        );
        assert_eq!(
            desc(v, 21, 0x00, &msg(1)),
            "MESSAGE transactional, prefix \"np\"; payload (3 bytes): 00 FF 10",
            "{v}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Index AMs: 16's key: value style and 17's isCatalogRel

#[test]
fn btree_style_by_version() {
    // xl_btree_insert { offnum }: 13–15 "off %u", 16+ "off: %u" (doc §7.3).
    let ins = B::default().u16(3).done();
    for v in [V13, V14] {
        assert_eq!(desc(v, 11, 0x00, &ins), "INSERT_LEAF off 3", "{v}");
    }
    assert_eq!(desc(V17, 11, 0x00, &ins), "INSERT_LEAF off: 3");
    // xl_btree_split { level @0, firstrightoff @4, newitemoff @6, postingoff @8 }.
    let split = B::default().u32(0).u16(5).u16(7).u16(0).done();
    for v in [V13, V14] {
        assert_eq!(
            desc(v, 11, 0x30, &split),
            "SPLIT_L level 0, firstrightoff 5, newitemoff 7, postingoff 0",
            "{v}"
        );
    }
    assert_eq!(
        desc(V17, 11, 0x40, &split),
        "SPLIT_R level: 0, firstrightoff: 5, newitemoff: 7, postingoff: 0"
    );
}

#[test]
fn btree_17_is_catalog_rel() {
    // xl_btree_delete (16+) { snapshotConflictHorizon @0, ndeleted u16 @4, nupdated u16 @6,
    // isCatalogRel @8 }; block 0 = deleted offsets. 17 adds ", isCatalogRel: %c" before the
    // arrays (nbtdesc.c, doc §7.3).
    let main = B::default().u32(10).u16(2).u16(0).u8(1).done();
    let offsets = B::default().u16(3).u16(4).done();
    let blocks = [Blk {
        id: 0,
        data: &offsets,
    }];
    assert_eq!(
        desc_full(V17, 11, 0x70, None, &blocks, &main),
        "DELETE snapshotConflictHorizon: 10, ndeleted: 2, nupdated: 0, isCatalogRel: T, \
         deleted: [3, 4], updated: []"
    );
    assert_eq!(
        desc_full(V16, 11, 0x70, None, &blocks, &main),
        "DELETE snapshotConflictHorizon: 10, ndeleted: 2, nupdated: 0, deleted: [3, 4], \
         updated: []"
    );
    // xl_btree_reuse_page { locator @0, block @12, snapshotConflictHorizon u64 @16,
    // isCatalogRel @24 }: "rel: %u/%u/%u, snapshotConflictHorizon: %u:%u, isCatalogRel: %c".
    let reuse = B::default()
        .u32(1663)
        .u32(5)
        .u32(16390)
        .u32(14)
        .u64(900)
        .u8(1)
        .done();
    assert_eq!(
        desc(V17, 11, 0xD0, &reuse),
        "REUSE_PAGE rel: 1663/5/16390, snapshotConflictHorizon: 0:900, isCatalogRel: T"
    );
    // 14: "rel %u/%u/%u; latestRemovedXid %u:%u" (same as the 15.18 output).
    assert_eq!(
        desc(V14, 11, 0xD0, &reuse[..24]),
        "REUSE_PAGE rel 1663/5/16390; latestRemovedXid 0:900"
    );
}

#[test]
fn gist_17_is_catalog_rel() {
    // gistxlogDelete { snapshotConflictHorizon/latestRemovedXid @0, ntodelete u16 @4,
    // (16+) isCatalogRel @6 }: "delete: %s %u, nitems: %u" + (17) ", isCatalogRel %c".
    let main = B::default().u32(10).u16(2).u8(1).done();
    assert_eq!(
        desc(V17, 14, 0x10, &main),
        "DELETE delete: snapshotConflictHorizon 10, nitems: 2, isCatalogRel T"
    );
    assert_eq!(
        desc(V14, 14, 0x10, &main[..6]),
        "DELETE delete: latestRemovedXid 10, nitems: 2"
    );
}

#[test]
fn spgist_17_is_catalog_rel() {
    // spgxlogVacuumRedirect { nToPlaceholder u16 @0, firstPlaceholder u16 @2,
    // snapshotConflictHorizon/newestRedirectXid @4, (16+) isCatalogRel @8 }.
    let main = B::default().u16(3).u16(0).u32(900).u8(1).done();
    assert_eq!(
        desc(V17, 16, 0x80, &main),
        "VACUUM_REDIRECT ntoplaceholder: 3, firstplaceholder: 0, snapshotConflictHorizon: 900, \
         isCatalogRel: T"
    );
    assert_eq!(
        desc(V14, 16, 0x80, &main[..8]),
        "VACUUM_REDIRECT ntoplaceholder: 3, firstplaceholder: 0, newestredirectxid: 900"
    );
}

#[test]
fn hash_vacuum_one_page_by_version() {
    // 13–15: xl_hash_vacuum_one_page { latestRemovedXid @0, ntuples int @4 };
    // 16+: { snapshotConflictHorizon @0, ntuples u16 @4, isCatalogRel @6 }.
    let old = B::default().u32(900).i32(2).done();
    assert_eq!(
        desc(V13, 12, 0xC0, &old),
        "VACUUM_ONE_PAGE ntuples 2, latest removed xid 900"
    );
    assert_eq!(
        desc(V14, 12, 0xC0, &old),
        "VACUUM_ONE_PAGE ntuples 2, latestRemovedXid 900"
    );
    let new = B::default().u32(900).u16(2).u8(1).done();
    assert_eq!(
        desc(V17, 12, 0xC0, &new),
        "VACUUM_ONE_PAGE ntuples 2, snapshotConflictHorizon 900, isCatalogRel T"
    );
}

#[test]
fn btree_13_unlink_and_reuse_page() {
    // 13 xl_btree_unlink_page { leftsib @0, rightsib @4, leafleftsib @8, leafrightsib @12,
    // topparent @16, btpo_xact @20 }: "left %u; right %u; btpo_xact %u; " + "leafleft %u;
    // leafright %u; topparent %u" (12/13-era nbtdesc.c; 14 replaced btpo_xact with
    // level/safexid, doc §7.3 15.18 output).
    let unlink = B::default()
        .u32(0)
        .u32(106)
        .u32(0)
        .u32(106)
        .u32(4294967295)
        .u32(745)
        .done();
    assert_eq!(
        desc(V13, 11, 0x80, &unlink),
        "UNLINK_PAGE left 0; right 106; btpo_xact 745; leafleft 0; leafright 106; topparent \
         4294967295"
    );
    // 13 xl_btree_reuse_page { node @0, block @12, latestRemovedXid u32 @16 }:
    // "rel %u/%u/%u; latestRemovedXid %u" (14 widened it to a FullTransactionId, "%u:%u").
    let reuse = B::default()
        .u32(1663)
        .u32(5)
        .u32(16390)
        .u32(14)
        .u32(734)
        .done();
    assert_eq!(
        desc(V13, 11, 0xD0, &reuse),
        "REUSE_PAGE rel 1663/5/16390; latestRemovedXid 734"
    );
}

#[test]
fn heap_old_style_in_13_14_and_key_value_in_17() {
    // xl_heap_delete { xmax @0, offnum @4, infobits_set @6, flags @7 } (doc §5.1); infobits
    // KEYS_UPDATED 0x10. 13–15 "off %u flags 0x%02X " + infobits with trailing spaces; 16+
    // "xmax: %u, off: %u, infobits: [...], flags: 0x%02X" (doc §7.3).
    let main = B::default().u32(900).u16(1).u8(0x10).u8(0).done();
    for v in [V13, V14] {
        assert_eq!(
            desc(v, 10, 0x10, &main),
            "DELETE off 1 flags 0x00 KEYS_UPDATED ",
            "{v}"
        );
    }
    assert_eq!(
        desc(V17, 10, 0x10, &main),
        "DELETE xmax: 900, off: 1, infobits: [KEYS_UPDATED], flags: 0x00"
    );
}

#[test]
fn standby_running_xacts_subxids() {
    // xl_running_xacts { xcnt @0, subxcnt @4, subxid_overflow @8, nextXid @12,
    // oldestRunningXid @16, latestCompletedXid @20, xids[xcnt + subxcnt] @24 } (doc §5.4).
    let running = |subxcnt: i32, overflow: u8| {
        let b = B::default()
            .i32(1)
            .i32(subxcnt)
            .u8(overflow)
            .bytes(&[0, 0, 0])
            .u32(905)
            .u32(900)
            .u32(903)
            .u32(900);
        if subxcnt > 0 {
            b.u32(901).done()
        } else {
            b.done()
        }
    };
    let head =
        "RUNNING_XACTS nextXid 905 latestCompletedXid 903 oldestRunningXid 900; 1 xacts: 900";
    // 13–15: "; subxid ovf"; subxids are not listed (doc §7.3).
    for v in [V13, V14] {
        assert_eq!(
            desc(v, 8, 0x10, &running(0, 1)),
            format!("{head}; subxid ovf"),
            "{v}"
        );
        assert_eq!(desc(v, 8, 0x10, &running(1, 0)), head, "{v}");
    }
    // 16+: "; subxid overflowed" and "; %d subxacts: %u …".
    assert_eq!(
        desc(V17, 8, 0x10, &running(0, 1)),
        format!("{head}; subxid overflowed")
    );
    assert_eq!(
        desc(V17, 8, 0x10, &running(1, 0)),
        format!("{head}; 1 subxacts: 901")
    );
}

#[test]
fn xlog_overwrite_contrecord_in_13() {
    // XLOG_OVERWRITE_CONTRECORD 0xD0 (13.5+): xl_overwrite_contrecord { overwritten_lsn @0,
    // overwrite_time @8 }: "lsn %X/%X; time <ts>" (doc §5.5, §7.3).
    let main = B::default().u64(0x0300_0F00).i64(0).done();
    for v in [V13, V14, V17] {
        assert_eq!(
            desc(v, 0, 0xD0, &main),
            ts0("OVERWRITE_CONTRECORD lsn 0/3000F00; time 2000-01-01 00:00:00.000000 UTC"),
            "{v}"
        );
    }
}
