//! `pglcr catalog follow` against a fresh `pglcr catalog export` at the same LSN, on a real
//! PostgreSQL 15 server that ran the DDL workload of the pg15-ddl case after the first
//! export. (Decoding across that DDL is compared with test_decoding and wal2json by
//! tests/decode_compat.rs over testdata/pg15-ddl.) Also DDL of a transaction still open when
//! the dictionary is taken.
//!
//! Fields that legitimately differ, and are left out of the comparison:
//! - `taken_at_lsn`: the export's insert position; follow stops at the end of the last
//!   record read (the requested end).
//! - `checkpoint_redo_lsn`: follow records the last checkpoint it read.
//! - indexes, sequences and TOAST tables' own entries: followed as relations, but only the
//!   tables' entries decide decoding; `toast_relfilenode` of a table is refreshed when the
//!   table's own row changes, not when only its TOAST table's does.
//! - types' `formatted` and columns' `type_name` of types created after the export: the
//!   export prints them as visible in its search_path, follow qualifies types outside
//!   `pg_catalog` and `public`.

mod support;

use std::collections::BTreeMap;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{pglcr, run_ok, Cluster};

fn export(cluster: &Cluster) -> String {
    cluster.psql_script(pglcr::catalog::export::EXPORT_SQL)
}

/// User tables (and partitioned tables) by OID, with the fields decoding depends on.
fn tables(doc: &Value) -> BTreeMap<u64, Value> {
    let keep = [
        "oid",
        "relfilenode",
        "tablespace",
        "namespace",
        "name",
        "kind",
        "persistence",
        "replica_identity",
        "replica_identity_index",
        "primary_key",
        "identity_columns",
        "toast_relid",
        "partition_parent",
    ];
    let col_keep = [
        "attnum",
        "name",
        "type_oid",
        "type_name",
        "type_name_no_typmod",
        "typmod",
        "attlen",
        "attbyval",
        "attalign",
        "attisdropped",
        "atthasmissing",
        "attmissingval",
    ];
    doc["relations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["oid"].as_u64().unwrap() >= 16384)
        .filter(|r| matches!(r["kind"].as_str(), Some("r" | "p")))
        .map(|r| {
            let mut m = serde_json::Map::new();
            for k in keep {
                m.insert(k.into(), r[k].clone());
            }
            let cols: Vec<Value> = r["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    Value::Object(
                        col_keep
                            .iter()
                            .map(|k| (k.to_string(), c[*k].clone()))
                            .collect(),
                    )
                })
                .collect();
            m.insert("columns".into(), Value::Array(cols));
            (r["oid"].as_u64().unwrap(), Value::Object(m))
        })
        .collect()
}

/// User types by OID: name, schema, kind, enum labels, range subtypes and the rest decoding
/// reads.
fn types(doc: &Value) -> BTreeMap<u64, Value> {
    doc["types"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["oid"].as_u64().unwrap() >= 16384)
        .map(|t| {
            let labels: Vec<&Value> = t["enum_labels"]
                .as_array()
                .map(|l| l.iter().map(|e| &e["label"]).collect())
                .unwrap_or_default();
            (
                t["oid"].as_u64().unwrap(),
                serde_json::json!({
                    "name": t["name"], "namespace": t["namespace"], "typtype": t["typtype"],
                    "typelem": t["typelem"], "typarray": t["typarray"],
                    "typoutput": t["typoutput"], "enum_labels": labels,
                    "typbasetype": t["typbasetype"], "typrelid": t["typrelid"],
                    "typlen": t["typlen"], "typbyval": t["typbyval"], "typalign": t["typalign"],
                    "range_subtype": t["range_subtype"], "multirange_of": t["multirange_of"],
                }),
            )
        })
        .collect()
}

#[test]
fn followed_catalog_matches_a_fresh_export_at_the_same_lsn() {
    let cluster = Cluster::start(&["--wal-segsize=1"], &[("wal_level", "logical")]);
    let root = support::repo_root();
    let schema = std::fs::read_to_string(root.join("testdata/ddl-schema.sql")).unwrap();
    let workload = std::fs::read_to_string(root.join("testdata/ddl-workload.sql")).unwrap();
    cluster.psql_script(&schema);
    let work = tempfile::tempdir().unwrap();
    let before = work.path().join("before.json");
    std::fs::write(&before, export(&cluster)).unwrap();
    cluster.psql_script(&workload);
    // A transaction left open at the end changes nothing the export sees.
    let fresh_text = export(&cluster);
    let fresh: Value = serde_json::from_str(&fresh_text).unwrap();
    let at = fresh["taken_at_lsn"].as_str().unwrap().to_string();

    let followed_path = work.path().join("followed.json");
    let out = run_ok(&mut follow(&cluster, &before, &at, &followed_path));
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(note.contains("catalog changes applied"), "{note}");
    let followed: Value =
        serde_json::from_str(&std::fs::read_to_string(&followed_path).unwrap()).unwrap();
    assert_eq!(followed["taken_at_lsn"], Value::String(at.clone()));

    let (ours, theirs) = (tables(&followed), tables(&fresh));
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "same tables"
    );
    for (oid, t) in &theirs {
        assert_eq!(&ours[oid], t, "table {oid}");
    }
    assert_eq!(types(&followed), types(&fresh), "user types");
    let names = |d: &Value| d["namespaces"].clone();
    assert_eq!(names(&followed), names(&fresh), "schemas");

    // The followed file is a dictionary `pglcr decode` reads, and following it further
    // from its own LSN changes nothing.
    let again = work.path().join("again.json");
    run_ok(&mut follow(&cluster, &followed_path, &at, &again));
    let again: Value = serde_json::from_str(&std::fs::read_to_string(&again).unwrap()).unwrap();
    assert_eq!(tables(&again), ours);
    cluster.stop();
}

#[test]
fn follow_names_the_catalog_file_it_cannot_read() {
    let work = tempfile::tempdir().unwrap();
    let out = pglcr()
        .args(["catalog", "follow", "--catalog"])
        .arg(work.path().join("missing.json"))
        .arg("-p")
        .arg(work.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing.json"), "{err}");
}

fn conninfo(cluster: &Cluster) -> String {
    format!(
        "host={} port={} user=postgres dbname=postgres",
        cluster.socket_dir().display(),
        cluster.port
    )
}

/// `pglcr catalog follow` of the cluster's WAL from where `catalog` was taken to `end`,
/// written to `out`.
fn follow(cluster: &Cluster, catalog: &Path, end: &str, out: &Path) -> Command {
    let mut cmd = pglcr();
    cmd.args(["catalog", "follow", "--catalog"])
        .arg(catalog)
        .arg("-p")
        .arg(cluster.wal_dir())
        .args(["--end", end, "-o"])
        .arg(out);
    cmd
}

/// `pglcr decode` of the cluster's WAL from where `catalog` was taken to `end`, as
/// test_decoding with include-xids=0 and skip-empty-xacts=1.
fn decode(cluster: &Cluster, catalog: &Path, end: &str) -> std::process::Output {
    pglcr()
        .args(["decode", "--catalog"])
        .arg(catalog)
        .arg("-p")
        .arg(cluster.wal_dir())
        .args([
            "-e",
            end,
            "-o",
            "include-xids=0",
            "-o",
            "skip-empty-xacts=1",
        ])
        .output()
        .unwrap()
}

#[test]
fn ddl_of_a_transaction_open_when_the_catalog_is_taken() {
    let cluster = Cluster::start(&["--wal-segsize=1"], &[("wal_level", "logical")]);
    cluster.psql_script(
        "CREATE TABLE t_open (id int PRIMARY KEY, v text);
         INSERT INTO t_open VALUES (1, 'one');
         CREATE TABLE t_early (id int PRIMARY KEY, v text);
         INSERT INTO t_early VALUES (1, 'one');
         CHECKPOINT;",
    );
    let work = tempfile::tempdir().unwrap();
    cluster.psql("SELECT pg_create_logical_replication_slot('td', 'test_decoding')");

    // DDL after the checkpoint the export records: read from the WAL when warming up, applied
    // at the commit after the export, and seen by the transaction's own later changes.
    let mut a = postgres::Client::connect(&conninfo(&cluster), postgres::NoTls).unwrap();
    a.batch_execute(
        "BEGIN;
         ALTER TABLE t_open ADD COLUMN n int DEFAULT 5;
         ALTER TABLE t_open RENAME COLUMN v TO w;
         CREATE TABLE t_new (id int PRIMARY KEY, x numeric(6,2));",
    )
    .unwrap();
    let open = work.path().join("open.json");
    std::fs::write(&open, export(&cluster)).unwrap();
    a.batch_execute("INSERT INTO t_new VALUES (1, 2.5); COMMIT;")
        .unwrap();
    cluster.psql_script(
        "INSERT INTO t_open VALUES (2, 'two', 7);
         UPDATE t_open SET w = 'one, updated' WHERE id = 1;
         INSERT INTO t_new VALUES (2, 3.25);",
    );
    let end = cluster.psql("SELECT pg_current_wal_lsn()");
    let expected = cluster.psql(&format!(
        "SELECT data FROM pg_logical_slot_peek_changes('td', '{end}', NULL, \
         'include-xids', '0', 'skip-empty-xacts', '1')"
    ));
    let out = decode(&cluster, &open, &end);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected);

    // DDL before that checkpoint: not in the WAL read, so decoding stops at its commit.
    let mut b = postgres::Client::connect(&conninfo(&cluster), postgres::NoTls).unwrap();
    b.batch_execute("BEGIN; ALTER TABLE t_early ADD COLUMN n int DEFAULT 5;")
        .unwrap();
    let xid: i64 = b.query_one("SELECT txid_current()", &[]).unwrap().get(0);
    cluster.psql("CHECKPOINT");
    let late = work.path().join("late.json");
    std::fs::write(&late, export(&cluster)).unwrap();
    b.batch_execute("COMMIT").unwrap();
    let commit_lsn = cluster.psql("SELECT pg_current_wal_lsn()");
    cluster.psql("INSERT INTO t_early VALUES (2, 'two', 7)");
    let end = cluster.psql("SELECT pg_current_wal_lsn()");
    let followed = work.path().join("followed.json");
    for cmd in [
        pglcr()
            .args(["decode", "--catalog"])
            .arg(&late)
            .arg("-p")
            .arg(cluster.wal_dir())
            .args(["-e", &end]),
        &mut follow(&cluster, &late, &end, &followed),
    ] {
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}: {err}");
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(err.contains(&format!("transaction {xid} ")), "{err}");
        assert!(err.contains("re-export the catalog"), "{err}");
        // The commit record ends before the position read after it.
        let at = err
            .split("catalog change at ")
            .nth(1)
            .and_then(|r| r.split(':').next())
            .unwrap_or_else(|| panic!("no LSN in {err}"));
        let lsn = |s: &str| s.parse::<pglcr::wal::lsn::Lsn>().unwrap();
        assert!(lsn(at) < lsn(&commit_lsn), "{at} {commit_lsn}: {err}");
    }
    assert!(!followed.exists());
    cluster.stop();
}
