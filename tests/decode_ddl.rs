//! `pglcr catalog follow` against a fresh `pglcr catalog export` at the same LSN, on a real
//! PostgreSQL 15 server that ran the DDL workload of the pg15-ddl case after the first
//! export. (Decoding across that DDL is compared with test_decoding and wal2json by
//! tests/decode_compat.rs over testdata/pg15-ddl.)
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

/// User types by OID: name, schema, kind and enum labels.
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
    let out = run_ok(
        pglcr()
            .args(["catalog", "follow", "--catalog"])
            .arg(&before)
            .arg("-p")
            .arg(cluster.wal_dir())
            .args(["--end", &at, "-o"])
            .arg(&followed_path),
    );
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
    run_ok(
        pglcr()
            .args(["catalog", "follow", "--catalog"])
            .arg(&followed_path)
            .arg("-p")
            .arg(cluster.wal_dir())
            .args(["--end", &at, "-o"])
            .arg(&again),
    );
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
