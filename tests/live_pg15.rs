//! `pglcr dump` against the real pg_waldump 15 on WAL written just now by a throwaway
//! PostgreSQL 15 cluster (1 MiB segments, wal_level=logical): every option set must give
//! byte-identical stdout over all segments left in the cluster's pg_wal.

mod support;

use std::path::Path;
use std::process::Command;

use support::{pg_bin, pglcr, Cluster};

/// Tables with inserts, HOT and non-HOT updates and deletes, an index, COPY, a two-phase
/// commit and a two-phase rollback, logical messages, a sequence, TRUNCATE, VACUUM,
/// segment switches and checkpoints (so later changes write full-page images).
const WORKLOAD: &str = r"
CREATE TABLE items (id int PRIMARY KEY, name text, qty int, note text);
CREATE INDEX items_name ON items (name);
INSERT INTO items SELECT g, 'item-' || g, g % 100, repeat('n', g % 50)
  FROM generate_series(1, 3000) g;
CHECKPOINT;
UPDATE items SET qty = qty + 1 WHERE id % 3 = 0;
UPDATE items SET name = name || '-renamed' WHERE id % 11 = 0;
DELETE FROM items WHERE id % 7 = 0;
CREATE TABLE loaded (id int, label text);
COPY loaded FROM stdin;
1	one
2	two
3	three
4	four
5	\N
\.
BEGIN;
INSERT INTO loaded SELECT g, 'bulk ' || g FROM generate_series(6, 2000) g;
COMMIT;
CREATE SEQUENCE counter;
SELECT nextval('counter') FROM generate_series(1, 40);
BEGIN;
INSERT INTO items VALUES (100001, 'prepared', 1, 'committed later');
PREPARE TRANSACTION 'pglcr_commit';
COMMIT PREPARED 'pglcr_commit';
BEGIN;
UPDATE items SET note = 'rolled back' WHERE id = 1;
PREPARE TRANSACTION 'pglcr_rollback';
ROLLBACK PREPARED 'pglcr_rollback';
SELECT pg_logical_emit_message(true, 'pglcr', 'transactional message');
SELECT pg_logical_emit_message(false, 'pglcr', 'non-transactional message');
BEGIN;
INSERT INTO items VALUES (100002, 'aborted', 0, NULL);
ROLLBACK;
SELECT pg_switch_wal();
TRUNCATE loaded;
VACUUM items;
CHECKPOINT;
UPDATE items SET qty = 0 WHERE id % 13 = 0;
DROP TABLE loaded;
SELECT pg_switch_wal();
CHECKPOINT;
";

/// Segment file names (24 hex digits) in a pg_wal directory, sorted.
fn segments(wal_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(wal_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", wal_dir.display()))
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.len() == 24 && n.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    names.sort();
    names
}

/// Where two outputs first differ, for the failure message.
fn first_difference(ours: &[u8], theirs: &[u8]) -> String {
    let ours = String::from_utf8_lossy(ours);
    let theirs = String::from_utf8_lossy(theirs);
    ours.lines()
        .zip(theirs.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| format!("line {}:\n  pglcr:      {a}\n  pg_waldump: {b}", i + 1))
        .unwrap_or_else(|| {
            format!(
                "pglcr {} lines, pg_waldump {} lines",
                ours.lines().count(),
                theirs.lines().count()
            )
        })
}

#[test]
fn dump_matches_pg_waldump_on_fresh_wal() {
    let cluster = Cluster::start(
        &["--wal-segsize=1"],
        &[
            ("wal_level", "logical"),
            ("max_prepared_transactions", "5"),
            // keep every segment written from now on: checkpoints must not remove them
            ("wal_keep_size", "1GB"),
        ],
    );
    let workload_seg = cluster.psql("SELECT pg_walfile_name(pg_current_wal_lsn())");
    assert_eq!(cluster.psql("SHOW wal_segment_size"), "1MB");
    cluster.psql_script(WORKLOAD);
    // A clean shutdown flushes all WAL and ends it with a shutdown checkpoint.
    cluster.stop();

    let wal_dir = cluster.wal_dir();
    let segs = segments(&wal_dir);
    assert!(
        segs.len() >= 3,
        "expected several segments in {}, found {segs:?}",
        wal_dir.display()
    );
    assert!(
        segs.contains(&workload_seg),
        "{workload_seg}, where the workload began, is gone from {}: {segs:?}",
        wal_dir.display()
    );
    let (start, end) = (&segs[0], &segs[segs.len() - 1]);
    let pg_waldump = pg_bin("pg_waldump");

    let option_sets: &[&[&str]] = &[
        &[],
        &["-b"],
        &["--stats"],
        &["--stats=record"],
        &["-r", "Heap"],
        &["-w"],
    ];
    let mut failures = Vec::new();
    for opts in option_sets {
        let theirs = Command::new(&pg_waldump)
            .env("TZ", "UTC")
            .arg("-p")
            .arg(&wal_dir)
            .args(*opts)
            .args([start, end])
            .output()
            .expect("run pg_waldump");
        let ours = pglcr()
            .arg("dump")
            .arg("-p")
            .arg(&wal_dir)
            .args(*opts)
            .args([start, end])
            .output()
            .expect("run pglcr");
        let label = ["pglcr", "dump"]
            .iter()
            .chain(opts.iter())
            .chain([start.as_str(), end.as_str()].iter())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let stderr = String::from_utf8_lossy(&ours.stderr);
        assert!(
            !theirs.stdout.is_empty(),
            "pg_waldump printed nothing for {label}: {}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        println!(
            "{label}: {} lines of stdout",
            theirs.stdout.iter().filter(|&&b| b == b'\n').count()
        );
        if stderr.contains("panicked") {
            failures.push(format!("{label}: panic: {stderr}"));
        } else if ours.stdout != theirs.stdout {
            failures.push(format!(
                "{label}: stdout differs from pg_waldump, {}\n  pglcr stderr: {stderr}\n  pg_waldump stderr: {}",
                first_difference(&ours.stdout, &theirs.stdout),
                String::from_utf8_lossy(&theirs.stderr)
            ));
        } else if !ours.status.success() {
            failures.push(format!(
                "{label}: exit status {} at the normal end of WAL: {stderr}",
                ours.status
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} option sets differ (segments {segs:?}):\n{}",
        failures.len(),
        option_sets.len(),
        failures.join("\n")
    );
}
