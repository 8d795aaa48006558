//! `pglcr apply` end to end with real servers: a source cluster (wal_level=logical) runs a
//! workload, `pglcr decode --spool` turns its WAL into LCR files, and `pglcr apply` replays
//! them into a target cluster that started from the source's schema (`pg_dump
//! --schema-only`, no rows at the decoder's start point). The target must then equal the
//! source, table by table, exactly once even when apply is killed with SIGKILL.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::{pg_command, pglcr, run_ok, Cluster};

const SCHEMA: &str = "
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2),
    opened date, seen timestamptz, tags text[], mood mood, doc jsonb, note text);
CREATE TABLE history (aid int, delta int, at timestamp, filler char(10));
CREATE TABLE full_ident (a int, b text, c float8);
ALTER TABLE full_ident REPLICA IDENTITY FULL;
CREATE TABLE big (id int PRIMARY KEY, payload text, small int);
ALTER TABLE big ALTER COLUMN payload SET STORAGE EXTERNAL;
CREATE TABLE measures (city int, logdate date, peak int, PRIMARY KEY (city, logdate))
    PARTITION BY RANGE (logdate);
CREATE TABLE measures_2025 PARTITION OF measures FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE measures_2026 PARTITION OF measures FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE wiped (id int PRIMARY KEY, v text);
CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL);
CREATE TABLE kv (id int PRIMARY KEY, v text);
CREATE TABLE swap (id int PRIMARY KEY, email text UNIQUE);
CREATE TABLE no_ident (id int PRIMARY KEY, v text);
ALTER TABLE no_ident REPLICA IDENTITY NOTHING;
";

const WORKLOAD: &str = "
INSERT INTO accounts SELECT i, 'owner ' || i, i * 10.5, date '2025-01-01' + i,
    timestamptz '2026-01-01 00:00:00+00' + i * interval '1 hour', ARRAY['a' || i, NULL, 'x''y'],
    (ARRAY['sad','ok','happy'])[1 + i % 3]::mood, jsonb_build_object('i', i, 'l', ARRAY[1,2]),
    CASE WHEN i % 4 = 0 THEN NULL ELSE 'note ' || i END
  FROM generate_series(1, 200) i;
UPDATE accounts SET balance = balance + 1, seen = seen + interval '1 day' WHERE id % 3 = 0;
UPDATE accounts SET id = id + 1000 WHERE id % 50 = 0;
DELETE FROM accounts WHERE id % 7 = 0;
INSERT INTO history SELECT i % 20, i, timestamp '2026-02-01' + i * interval '1 min', 'f' || i
  FROM generate_series(1, 300) i;
INSERT INTO full_ident VALUES (1, 'one', 1.5), (2, NULL, 2.5), (3, 'three', NULL);
UPDATE full_ident SET c = 9.75 WHERE a = 1;
DELETE FROM full_ident WHERE a = 2;
INSERT INTO big SELECT i, repeat(md5(i::text), 300), i FROM generate_series(1, 20) i;
UPDATE big SET small = small + 100 WHERE id <= 10;
UPDATE big SET payload = repeat('z', 9000) WHERE id = 3;
INSERT INTO measures SELECT i % 10, date '2025-06-01' + i * 3, i FROM generate_series(1, 150) i;
UPDATE measures SET peak = peak * 2 WHERE city = 3;
INSERT INTO wiped SELECT i, 'w' || i FROM generate_series(1, 50) i;
BEGIN;
INSERT INTO accounts VALUES (5000, 'rolled back');
ROLLBACK;
BEGIN;
INSERT INTO accounts VALUES (5001, 'kept', 1);
SAVEPOINT s;
INSERT INTO accounts VALUES (5002, 'rolled back to savepoint', 2);
ROLLBACK TO s;
UPDATE accounts SET owner = 'kept, updated' WHERE id = 5001;
COMMIT;
INSERT INTO counters VALUES (1, 0);
-- After a TRUNCATE the table has a new relfilenode, which only a catalog that follows the
-- WAL knows: nothing is written to it afterwards.
TRUNCATE wiped;
";

/// Many small transactions, each one bumping a counter: applied twice, a transaction would
/// show in the counter and in the history rows.
fn small_transactions(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "BEGIN; UPDATE counters SET n = n + 1 WHERE id = 1; \
             INSERT INTO history VALUES ({}, 1, now()::timestamp, 'tx'); COMMIT;\n",
            i % 20
        ));
    }
    s
}

const TABLES: [&str; 10] = [
    "accounts",
    "history",
    "full_ident",
    "big",
    "measures_2025",
    "measures_2026",
    "wiped",
    "counters",
    "kv",
    "swap",
];

fn conninfo(c: &Cluster) -> String {
    format!(
        "host={} port={} user=postgres dbname=postgres",
        c.socket_dir().display(),
        c.port
    )
}

/// Every row of a table as text, in a stable order.
fn table_text(c: &Cluster, table: &str) -> String {
    c.psql(&format!(
        "SELECT count(*) || E'\\n' || coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM {table} t"
    ))
}

fn assert_same_tables(source: &Cluster, target: &Cluster, when: &str) {
    for t in TABLES {
        let (s, d) = (table_text(source, t), table_text(target, t));
        assert!(
            s == d,
            "{when}: table {t} differs\nsource:\n{s}\ntarget:\n{d}"
        );
    }
}

struct Pipeline {
    source: Cluster,
    spool: tempfile::TempDir,
}

/// A source that ran the workload, and its LCR files.
fn pipeline(extra: &str) -> Pipeline {
    pipeline_with(&[], extra)
}

fn pipeline_with(settings: &[(&str, &str)], extra: &str) -> Pipeline {
    let recording = Recording::start(settings);
    recording.source.psql_script(WORKLOAD);
    if !extra.is_empty() {
        recording.source.psql_script(extra);
    }
    recording.decode()
}

/// A source with the schema, its catalog exported and a slot created: what it runs from now
/// on is decoded by [`Recording::decode`].
struct Recording {
    source: Cluster,
    catalog: PathBuf,
    /// The slot's consistent point, where decoding starts; the slot also keeps the WAL.
    start: String,
    _work: tempfile::TempDir,
}

impl Recording {
    fn start(settings: &[(&str, &str)]) -> Recording {
        let mut all = vec![("wal_level", "logical")];
        all.extend_from_slice(settings);
        let source = Cluster::start(&["--wal-segsize=1"], &all);
        source.psql_script(SCHEMA);
        let work = tempfile::tempdir().unwrap();
        let catalog = work.path().join("catalog.json");
        run_ok(
            pglcr()
                .args(["catalog", "export", "-d", &conninfo(&source), "-o"])
                .arg(&catalog),
        );
        let start =
            source.psql("SELECT lsn FROM pg_create_logical_replication_slot('s', 'test_decoding')");
        Recording {
            source,
            catalog,
            start,
            _work: work,
        }
    }

    /// The LCR files of what the source ran since the start.
    fn decode(self) -> Pipeline {
        let end = self.source.psql("SELECT pg_current_wal_insert_lsn()");
        self.source.psql("SELECT pg_switch_wal()");
        let spool = tempfile::tempdir().unwrap();
        run_ok(
            support::decode_spool(spool.path(), &self.source.wal_dir(), &self.catalog).args([
                "--start",
                &self.start,
                "--end",
                &end,
                "--max-lcr-size",
                "64kB",
            ]),
        );
        Pipeline {
            source: self.source,
            spool,
        }
    }
}

/// A target with the source's schema and no rows.
fn target_for(source: &Cluster) -> Cluster {
    target_with(source, &[])
}

fn target_with(source: &Cluster, settings: &[(&str, &str)]) -> Cluster {
    let target = Cluster::start(&[], settings);
    let dump = run_ok(
        pg_command("pg_dump")
            .args(["--schema-only", "-d", &conninfo(source)])
            .env("PGCONNECT_TIMEOUT", "10"),
    );
    target.psql_script(&String::from_utf8(dump.stdout).unwrap());
    target
}

fn apply_cmd(spool: &Path, target: &Cluster) -> Command {
    let mut c = pglcr();
    c.arg("apply")
        .arg("--from")
        .arg(spool)
        .args(["-d", &conninfo(target)]);
    c
}

#[test]
fn target_equals_source_and_a_rerun_applies_nothing() {
    let p = pipeline(&small_transactions(50));
    let target = target_for(&p.source);
    let out = run_ok(&mut apply_cmd(p.spool.path(), &target));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("replication origin"), "{err}");
    assert_same_tables(&p.source, &target, "after apply");
    assert_eq!(target.psql("SELECT count(*) FROM pglcr.conflicts"), "0");
    // The position is the last commit applied; a rerun finds nothing to do.
    let out = run_ok(&mut apply_cmd(p.spool.path(), &target));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("applied 0 transactions"), "{err}");
    assert_same_tables(&p.source, &target, "after a rerun");
    let stats = run_ok(pglcr().args(["apply", "--stats", "-d", &conninfo(&target)]));
    let stats = String::from_utf8_lossy(&stats.stdout);
    assert!(
        stats.contains("commits") && stats.contains("inserts"),
        "{stats}"
    );

    // The same with a progress table, group commit and another target.
    let target2 = target_for(&p.source);
    run_ok(apply_cmd(p.spool.path(), &target2).args([
        "--progress",
        "table",
        "--group-commit",
        "16",
    ]));
    assert_same_tables(&p.source, &target2, "progress table, group commit");
    assert_eq!(
        target2.psql("SELECT count(*) FROM pglcr.apply_progress"),
        "1"
    );
}

/// Empties the target's tables and forgets its position, for another round.
fn reset(target: &Cluster) {
    // The backend of a killed apply runs on to the end of the query it was given: stop it
    // first, so that nothing of the last round lands after the tables are emptied.
    target.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
    );
    target.psql(&format!(
        "TRUNCATE {}, measures; DELETE FROM pglcr.conflicts; DELETE FROM pglcr.apply_stats",
        TABLES.join(", ")
    ));
    // The backend of a killed apply may still hold the origin for a moment.
    for attempt in 0.. {
        let out = pg_command("psql")
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &conninfo(target),
                "-c",
            ])
            .arg("SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin")
            .output()
            .unwrap();
        if out.status.success() {
            return;
        }
        assert!(attempt < 100, "{}", String::from_utf8_lossy(&out.stderr));
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn killed_apply_reruns_to_the_same_target_exactly_once() {
    let p = pipeline(&small_transactions(1500));
    let target = target_for(&p.source);
    let t0 = std::time::Instant::now();
    run_ok(&mut apply_cmd(p.spool.path(), &target));
    let span_us = (t0.elapsed().as_micros() as u64).max(50_000);
    let mut seed = 0x5eed_u64;
    let (mut kills, mut rounds) = (0, 0);
    // Rounds from an empty target: kill at random points until a run completes.
    while kills < 30 {
        rounds += 1;
        assert!(rounds <= 60, "only {kills} kills in {rounds} rounds");
        reset(&target);
        loop {
            let mut child = apply_cmd(p.spool.path(), &target)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            std::thread::sleep(Duration::from_micros((seed >> 33) % span_us));
            if let Some(status) = child.try_wait().unwrap() {
                let out = child.wait_with_output().unwrap();
                assert!(status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                break;
            }
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
        }
        assert_same_tables(
            &p.source,
            &target,
            &format!("round {rounds}, {kills} kills"),
        );
        assert_eq!(target.psql("SELECT n FROM counters WHERE id = 1"), "1500");
        assert_eq!(target.psql("SELECT count(*) FROM pglcr.conflicts"), "0");
    }
}

#[test]
fn conflicts_follow_the_policies_and_are_logged() {
    let extra = "INSERT INTO kv VALUES (100, 'remote'); \
                 INSERT INTO kv VALUES (101, 'to delete'); \
                 UPDATE kv SET v = 'remote update' WHERE id = 100; \
                 DELETE FROM kv WHERE id = 101;";
    let p = pipeline(extra);

    // insert_exists=error (the default) stops, naming the relation, with nothing applied of
    // that transaction.
    let target = target_for(&p.source);
    target.psql("INSERT INTO kv VALUES (100, 'local')");
    let out = apply_cmd(p.spool.path(), &target).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("insert_exists")
            && err.contains("\"public\".\"kv\"")
            && err.contains("commit"),
        "{err}"
    );
    assert_eq!(target.psql("SELECT v FROM kv WHERE id = 100"), "local");

    // skip keeps the local row, logs the conflict; the update that follows applies.
    run_ok(apply_cmd(p.spool.path(), &target).args(["--on-conflict", "insert_exists=skip"]));
    assert_eq!(
        target.psql("SELECT v FROM kv WHERE id = 100"),
        "remote update"
    );
    assert_eq!(
        target.psql(
            "SELECT kind || ' ' || resolution || ' ' || relation || ' ' || (local_row->>'v') \
             || ' ' || (remote_row->>'v') FROM pglcr.conflicts"
        ),
        "insert_exists skip \"public\".\"kv\" local remote"
    );

    // update: the remote row replaces the local one.
    let target = target_for(&p.source);
    target.psql("INSERT INTO kv VALUES (100, 'local')");
    run_ok(apply_cmd(p.spool.path(), &target).args(["--on-conflict", "insert_exists=update"]));
    assert_same_tables(&p.source, &target, "insert_exists=update");

    // update_missing and delete_missing: the rows were removed on the target before the
    // source's UPDATE and DELETE arrive (apply stops before them with --until).
    let target = target_for(&p.source);
    let commits = p.source.psql(
        "SELECT string_agg(lsn::text, ' ' ORDER BY lsn) FROM pg_logical_slot_peek_changes('s', NULL, NULL) WHERE data LIKE 'COMMIT%'",
    );
    let commits: Vec<&str> = commits.split(' ').collect();
    // The last four source transactions are the four statements of `extra`: stop after the
    // two inserts.
    let before_update = commits[commits.len() - 3];
    run_ok(apply_cmd(p.spool.path(), &target).args(["--until", before_update]));
    target.psql("DELETE FROM kv WHERE id = 100");
    target.psql("DELETE FROM kv WHERE id = 101");
    let out = apply_cmd(p.spool.path(), &target)
        .args(["--on-conflict", "update_missing=error"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("update_missing"));
    run_ok(apply_cmd(p.spool.path(), &target).args(["--on-conflict", "update_missing=insert"]));
    assert_eq!(
        target.psql("SELECT v FROM kv WHERE id = 100"),
        "remote update"
    );
    assert_eq!(
        target.psql(
            "SELECT string_agg(kind || ':' || resolution, ',' ORDER BY id) FROM pglcr.conflicts"
        ),
        "update_missing:insert,delete_missing:skip"
    );
}

/// Rows of one group are reordered only across different keys; a unique index other than the
/// identity can still be violated on the way (two rows swapping a unique value), which the
/// fast path meets as an error: the group is then applied change by change, in source order.
#[test]
fn a_group_the_fast_path_cannot_order_is_applied_change_by_change() {
    let extra = "INSERT INTO swap VALUES (1, 'a'), (2, 'b');
                 BEGIN;
                 UPDATE swap SET email = 'tmp' WHERE id = 1;
                 UPDATE swap SET email = 'a' WHERE id = 2;
                 UPDATE swap SET email = 'b' WHERE id = 1;
                 COMMIT;
                 UPDATE counters SET n = n + 1 WHERE id = 1;";
    let p = pipeline(extra);
    let target = target_for(&p.source);
    let out = run_ok(apply_cmd(p.spool.path(), &target).args(["--group-commit", "64"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("0 conflicts"), "{err}");
    assert_same_tables(&p.source, &target, "after apply");
    assert_eq!(
        target.psql("SELECT string_agg(id || email, ',' ORDER BY id) FROM swap"),
        "1b,2a"
    );
}

/// A run of many inserted rows goes by COPY; values holding COPY's own separators and escapes
/// arrive intact; a conflict among the rows is handled by its policy, as on any other path.
#[test]
fn many_inserted_rows_go_by_copy_and_a_conflict_among_them_follows_the_policy() {
    let extra = r#"INSERT INTO kv SELECT i, CASE i % 5 WHEN 0 THEN NULL
        WHEN 1 THEN E'tab\there' WHEN 2 THEN E'line\nbreak\r' WHEN 3 THEN E'back\\slash \\N'
        ELSE 'plain ''quoted'' ' || i END FROM generate_series(1, 5000) i;"#;
    let p = pipeline(extra);
    let target = target_with(&p.source, &[("log_statement", "all")]);
    run_ok(&mut apply_cmd(p.spool.path(), &target));
    assert_same_tables(&p.source, &target, "after apply");
    let log = std::fs::read_to_string(target.socket_dir().join("log")).unwrap();
    assert!(
        log.contains(r#"COPY "public"."kv" ("id", "v") FROM STDIN"#),
        "{log}"
    );

    let target = target_for(&p.source);
    target.psql("INSERT INTO kv VALUES (2500, 'local')");
    let out =
        run_ok(apply_cmd(p.spool.path(), &target).args(["--on-conflict", "insert_exists=skip"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 conflicts"), "{err}");
    assert_eq!(target.psql("SELECT v FROM kv WHERE id = 2500"), "local");
    let others = "SELECT count(*) || md5(string_agg(id || ':' || coalesce(v, 'NULL'), ',' \
                  ORDER BY id)) FROM kv WHERE id <> 2500";
    assert_eq!(target.psql(others), p.source.psql(others));
    assert_eq!(
        target.psql("SELECT kind || ' ' || resolution FROM pglcr.conflicts"),
        "insert_exists skip"
    );

    // A column the target lacks (its schema is the operator's) stops apply with the source
    // transaction and the row named.
    let target = target_for(&p.source);
    target.psql("ALTER TABLE kv DROP COLUMN v");
    let out = apply_cmd(p.spool.path(), &target).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("applying source transaction")
            && err.contains(r#"relation "public"."kv""#)
            && err.contains(r#"column "v" of relation "kv" does not exist; row {"id":"1""#),
        "{err}"
    );
}

#[test]
fn only_the_tables_asked_for_are_applied() {
    let p = pipeline("");
    let target = target_for(&p.source);
    run_ok(apply_cmd(p.spool.path(), &target).args([
        "--tables",
        "public.ACC*",
        "--tables",
        "full_ident",
        "--tables",
        "wiped",
        "--exclude-tables",
        "*.full*",
    ]));
    assert_eq!(
        table_text(&p.source, "accounts"),
        table_text(&target, "accounts")
    );
    assert_eq!(table_text(&p.source, "wiped"), table_text(&target, "wiped"));
    for left_out in ["history", "full_ident", "big", "counters"] {
        assert_eq!(
            target.psql(&format!("SELECT count(*) FROM {left_out}")),
            "0"
        );
    }
    // The transactions count as applied: a rerun has nothing to do.
    let out = run_ok(&mut apply_cmd(p.spool.path(), &target));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("applied 0 transactions"), "{err}");
}

#[test]
fn dry_run_prints_sql_and_touches_nothing() {
    let p = pipeline("");
    let out = run_ok(
        pglcr()
            .args(["apply", "--dry-run", "--from"])
            .arg(p.spool.path())
            .args(["-d", "host=/nonexistent dbname=none"]),
    );
    let sql = String::from_utf8_lossy(&out.stdout);
    assert!(
        sql.contains("INSERT INTO \"public\".\"accounts\"")
            && sql.contains("TRUNCATE ONLY \"public\".\"wiped\"")
            && sql.contains("DELETE FROM ONLY \"public\".\"full_ident\" WHERE \"a\" IS NOT DISTINCT FROM '2'::integer"),
        "{}",
        &sql[..sql.len().min(3000)]
    );
    assert!(sql.contains("COMMIT;"));
}

/// Changes applied with a replication origin carry it: decoding the target's WAL with
/// test_decoding's `only-local` leaves them out (no loop when two sites feed each other),
/// while a change made on the target itself still shows.
#[test]
fn applied_changes_are_left_out_by_only_local() {
    let p = pipeline("");
    let target = Cluster::start(&["--wal-segsize=1"], &[("wal_level", "logical")]);
    let dump = run_ok(pg_command("pg_dump").args(["--schema-only", "-d", &conninfo(&p.source)]));
    target.psql_script(&String::from_utf8(dump.stdout).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.json");
    run_ok(
        pglcr()
            .args(["catalog", "export", "-d", &conninfo(&target), "-o"])
            .arg(&catalog),
    );
    let start =
        target.psql("SELECT lsn FROM pg_create_logical_replication_slot('t', 'test_decoding')");
    run_ok(&mut apply_cmd(p.spool.path(), &target));
    target.psql("INSERT INTO kv VALUES (7, 'made on the target')");
    let end = target.psql("SELECT pg_current_wal_insert_lsn()");
    target.psql("SELECT pg_switch_wal()");
    let decode = |extra: &[&str]| {
        let out = run_ok(
            pglcr()
                .arg("decode")
                .arg("--catalog")
                .arg(&catalog)
                .arg("-p")
                .arg(target.wal_dir())
                .args(["--start", &start, "--end", &end, "-o", "skip-empty-xacts=1"])
                // pglcr's own tables on the target were created after the catalog.
                .arg("--unknown-relations=skip")
                .args(extra),
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let all = decode(&[]);
    let local = decode(&["-o", "only-local=1"]);
    assert!(
        all.contains("table public.accounts: INSERT") && all.contains("made on the target"),
        "{}",
        &all[..all.len().min(2000)]
    );
    assert_eq!(
        local
            .lines()
            .filter(|l| l.starts_with("table "))
            .collect::<Vec<_>>(),
        vec!["table public.kv: INSERT: id[integer]:7 v[text]:'made on the target'"],
        "only-local keeps only the change made on the target"
    );
    // PostgreSQL's own decoding of the target agrees.
    let theirs = target.psql(&format!(
        "SELECT data FROM pg_logical_slot_peek_changes('t', '{end}', NULL, \
         'skip-empty-xacts', '1', 'only-local', '1') WHERE data LIKE 'table %'"
    ));
    assert_eq!(
        theirs,
        "table public.kv: INSERT: id[integer]:7 v[text]:'made on the target'"
    );
}

/// Copies the named LCR files of the spool into `dir`.
fn copy_files(files: &[(pglcr::lcr::LcrName, std::path::PathBuf)], dir: &Path) {
    for (name, path) in files {
        std::fs::copy(path, dir.join(name.to_string())).unwrap();
    }
}

#[test]
fn a_missing_lcr_file_stops_apply_before_the_gap() {
    // Rows that compress badly, for many files.
    let p = pipeline(&format!(
        "{}INSERT INTO kv SELECT g, md5(g::text) || md5((g * 7)::text) \
         FROM generate_series(1, 20000) g;",
        small_transactions(1500)
    ));
    let files = pglcr::lcr::list_dir(p.spool.path()).unwrap();
    assert!(files.len() >= 8, "{} LCR files only", files.len());
    let third = files.len() / 3;
    let gap = third + 2;
    let gap_name = files[gap].0.to_string();

    // A site that applied the first third, then received the rest but one file.
    let target = target_for(&p.source);
    let shipped = tempfile::tempdir().unwrap();
    copy_files(&files[..third], shipped.path());
    run_ok(&mut apply_cmd(shipped.path(), &target));
    copy_files(&files[third..gap], shipped.path());
    copy_files(&files[gap + 1..], shipped.path());
    for _ in 0..2 {
        let out = apply_cmd(shipped.path(), &target).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!(
                "LCR file \"{}\" is missing: \"{}\" was written after it",
                shipped.path().join(&gap_name).display(),
                shipped.path().join(files[gap + 1].0.to_string()).display()
            )),
            "{err}"
        );
    }
    let verify = pglcr()
        .args(["lcr", "verify"])
        .arg(shipped.path())
        .output()
        .unwrap();
    assert_eq!(verify.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&verify.stdout).contains(&format!(
            "{}: missing",
            shipped.path().join(&gap_name).display()
        )),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    // Nothing from the gap on was applied; with the file back, apply goes on to the end.
    let applied: pglcr::wal::lsn::Lsn = target
        .psql("SELECT remote_lsn FROM pg_replication_origin_status")
        .parse()
        .unwrap();
    let (gap_header, ..) = pglcr::lcr::LcrFile::read_ends(&files[gap].1).unwrap();
    assert!(
        applied <= gap_header.first_lsn,
        "applied up to {applied}, the missing file begins at {}",
        gap_header.first_lsn
    );
    copy_files(&files[gap..=gap], shipped.path());
    run_ok(&mut apply_cmd(shipped.path(), &target));
    assert_same_tables(&p.source, &target, "after the missing file came");

    // A new site given only the files from the third one on: what the first two held was
    // never applied there.
    let late = target_for(&p.source);
    let partial = tempfile::tempdir().unwrap();
    copy_files(&files[2..], partial.path());
    let out = apply_cmd(partial.path(), &late).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "LCR file \"{}\" has already been removed, but this target still needs it",
            partial.path().join(files[1].0.to_string()).display()
        )),
        "{err}"
    );
    assert_eq!(late.psql("SELECT count(*) FROM accounts"), "0");
}

/// Waits up to a minute for `done`.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

fn sigterm(child: &std::process::Child) {
    run_ok(Command::new("kill").args(["-TERM", &child.id().to_string()]));
}

/// `--follow` applies files as shipping delivers them (each written under a temporary name,
/// then renamed), a transaction spanning files waiting for the rest of it; SIGTERM stops it
/// with exit status 0 and its progress saved, whether it is waiting or applying.
#[test]
fn follow_applies_files_as_they_arrive_and_stops_on_sigterm() {
    let p = pipeline(&format!(
        "{}INSERT INTO kv SELECT g, md5(g::text) || md5((g * 7)::text) \
         FROM generate_series(1, 20000) g;",
        small_transactions(300)
    ));
    let files = pglcr::lcr::list_dir(p.spool.path()).unwrap();
    assert!(files.len() >= 4, "{} LCR files only", files.len());
    let target = target_for(&p.source);
    let shipped = tempfile::tempdir().unwrap();
    let mut child = apply_cmd(shipped.path(), &target)
        .args(["--follow", "--poll-interval", "50ms"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let kv_rows = p.source.psql("SELECT count(*) FROM kv");
    for (i, (name, path)) in files.iter().enumerate() {
        let partial = shipped.path().join(format!("{name}.partial"));
        std::fs::copy(path, &partial).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        std::fs::rename(&partial, shipped.path().join(name.to_string())).unwrap();
        if i + 1 < files.len() {
            // The big transaction's rows show only once its last file is there.
            std::thread::sleep(Duration::from_millis(150));
            let kv = target.psql("SELECT count(*) FROM kv");
            assert!(kv == "0" || kv == kv_rows, "{kv} rows of kv applied");
        }
    }
    wait_for("apply --follow to apply every file", || {
        target.psql("SELECT count(*) FROM kv") == kv_rows
            && target.psql("SELECT n FROM counters") == "300"
    });
    assert!(child.try_wait().unwrap().is_none(), "apply --follow ended");
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("stopped by a signal"), "{err}");
    assert_same_tables(&p.source, &target, "after apply --follow");
    let out = run_ok(&mut apply_cmd(shipped.path(), &target));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("applied 0 transactions"), "{err}");

    // Stopped while it applies: it stops between target transactions, and a rerun goes on
    // from there, each transaction once.
    let target = target_for(&p.source);
    let child = apply_cmd(p.spool.path(), &target)
        .arg("--follow")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.contains("stopped by a signal"),
        "{err}"
    );
    run_ok(&mut apply_cmd(p.spool.path(), &target));
    assert_same_tables(&p.source, &target, "after a stop and a rerun");
    assert_eq!(target.psql("SELECT n FROM counters"), "300");
}

/// `--apply-delay` applies a transaction only once its source commit is old enough: without
/// --follow, the run stops at the first younger one; with it, apply waits.
#[test]
fn apply_delay_keeps_the_target_behind_the_source() {
    let on = [("track_commit_timestamp", "on")];
    let p = pipeline_with(&on, "");
    let target = target_with(&p.source, &on);
    let out = run_ok(apply_cmd(p.spool.path(), &target).args(["--apply-delay", "1h"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("applied 0 transactions") && err.contains("less than --apply-delay 1h ago"),
        "{err}"
    );
    assert_eq!(target.psql("SELECT count(*) FROM accounts"), "0");

    let child = apply_cmd(p.spool.path(), &target)
        .args([
            "--apply-delay",
            "3s",
            "--follow",
            "--poll-interval",
            "100ms",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The workload's first transaction inserts the accounts; row 1 is never changed after.
    let inserted: f64 = p
        .source
        .psql(
            "SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin)) FROM accounts WHERE id = 1",
        )
        .parse()
        .unwrap();
    let source_rows = p.source.psql("SELECT count(*) FROM accounts");
    wait_for("the delayed apply", || {
        let rows = target.psql("SELECT count(*) FROM accounts");
        // Read after the rows: they were applied before this time.
        let now: f64 = p
            .source
            .psql("SELECT extract(epoch FROM clock_timestamp())")
            .parse()
            .unwrap();
        assert!(
            rows == "0" || now - inserted >= 3.0,
            "{rows} accounts applied {} s after their source commit",
            now - inserted
        );
        rows == source_rows
    });
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_same_tables(&p.source, &target, "after the delayed apply");
}

/// Last update wins by commit time, per table from a conflict config file; the other tables
/// keep the --on-conflict defaults until the file names them.
#[test]
fn last_update_wins_per_table_from_a_conflict_config() {
    let on = [("track_commit_timestamp", "on")];
    let recording = Recording::start(&on);
    let source = &recording.source;
    let target = target_with(source, &on);
    // Each statement its own transaction, local and remote ones interleaved in time.
    target.psql("INSERT INTO kv VALUES (1, 'local, older')");
    source.psql("INSERT INTO kv VALUES (1, 'remote, newer')");
    source.psql("INSERT INTO kv VALUES (2, 'remote, older')");
    source.psql("INSERT INTO kv VALUES (3, 'remote 3')");
    source.psql("UPDATE kv SET v = 'remote 3, updated' WHERE id = 3");
    source.psql("INSERT INTO kv VALUES (4, 'remote 4')");
    source.psql("UPDATE kv SET v = 'remote 4, updated' WHERE id = 4");
    source.psql("INSERT INTO swap VALUES (10, 'remote')");
    target.psql("INSERT INTO kv VALUES (2, 'local, newer')");
    target.psql("INSERT INTO kv VALUES (3, 'local 3, newer')");
    target.psql("INSERT INTO swap VALUES (10, 'local')");
    source.psql("UPDATE kv SET v = 'remote 2, updated later' WHERE id = 2");
    let Pipeline { source, spool } = recording.decode();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("conflicts.conf");
    std::fs::write(
        &config,
        "# last update wins for kv only\n\
         public.kv  insert_exists=last_update_wins update_origin_differs=last_update_wins\n",
    )
    .unwrap();
    let with_config = |target: &Cluster| {
        let mut c = apply_cmd(spool.path(), target);
        c.arg("--conflict-config").arg(&config);
        c
    };

    // Without commit timestamps on the target: a clear error, nothing applied.
    let untracked = target_for(&source);
    let out = with_config(&untracked).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("track_commit_timestamp = off"), "{err}");
    assert_eq!(untracked.psql("SELECT count(*) FROM kv"), "0");

    // swap keeps the default insert_exists=error.
    let out = with_config(&target).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("insert_exists") && err.contains("\"swap\""),
        "{err}"
    );
    std::fs::write(
        &config,
        "public.kv  insert_exists=last_update_wins update_origin_differs=last_update_wins\n\
         swap insert_exists=skip\n",
    )
    .unwrap();
    run_ok(&mut with_config(&target));
    assert_eq!(
        target.psql("SELECT string_agg(id || ': ' || v, ', ' ORDER BY id) FROM kv"),
        "1: remote, newer, 2: remote 2, updated later, 3: local 3, newer, 4: remote 4, updated"
    );
    assert_eq!(target.psql("SELECT email FROM swap WHERE id = 10"), "local");
    assert_eq!(
        target.psql(
            "SELECT string_agg(kind || ' ' || resolution || ' ' || (key->>'id'), ', ' ORDER BY id) \
             FROM pglcr.conflicts"
        ),
        "insert_exists apply_remote 1, insert_exists keep_local 2, insert_exists keep_local 3, \
         update_origin_differs keep_local 3, insert_exists skip 10, \
         update_origin_differs apply_remote 2"
    );
    assert_eq!(
        target.psql(
            "SELECT local_row->>'v' || ' / ' || (remote_row->>'v') FROM pglcr.conflicts \
             WHERE kind = 'update_origin_differs' AND resolution = 'keep_local'"
        ),
        "local 3, newer / remote 3, updated"
    );
}

/// A table with REPLICA IDENTITY NOTHING gets its inserts; its updates and deletes cannot
/// find their rows, and are logged and counted instead.
#[test]
fn identity_nothing_gets_inserts_only_and_the_rest_is_reported() {
    let p = pipeline(
        "INSERT INTO no_ident VALUES (1, 'a'), (2, 'b');
         UPDATE no_ident SET v = 'c' WHERE id = 1;
         DELETE FROM no_ident WHERE id = 2;",
    );
    let target = target_for(&p.source);
    let out = run_ok(&mut apply_cmd(p.spool.path(), &target));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 conflicts"), "{err}");
    assert_eq!(
        target.psql("SELECT string_agg(id || v, ',' ORDER BY id) FROM no_ident"),
        "1a,2b"
    );
    assert_eq!(
        target.psql(
            "SELECT string_agg(kind || ' ' || resolution || ' ' || relation, ', ' ORDER BY id) \
             FROM pglcr.conflicts"
        ),
        "update_without_key skip \"public\".\"no_ident\", \
         delete_without_key skip \"public\".\"no_ident\""
    );
    assert_eq!(target.psql("SELECT unkeyed FROM pglcr.apply_stats"), "2");
}
