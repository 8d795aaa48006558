//! `pglcr decode` with a catalog that does not fit the WAL: clear errors naming the relation,
//! the LSN and the cause, a non-zero exit, and no output passed off as right.

mod support;

use std::path::Path;

use support::{pglcr, testdata, unpack_wal};

fn case() -> std::path::PathBuf {
    testdata().join("pg15-logical")
}

fn catalog_json() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(case().join("catalog.json")).unwrap()).unwrap()
}

fn decode(catalog: &serde_json::Value, wal: &Path, extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.json");
    std::fs::write(&path, serde_json::to_vec(catalog).unwrap()).unwrap();
    let start = std::fs::read_to_string(case().join("start-lsn")).unwrap();
    let out = pglcr()
        .arg("decode")
        .arg("--catalog")
        .arg(&path)
        .arg("-p")
        .arg(wal)
        .args(["--start", start.trim()])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    out
}

fn relations_mut(c: &mut serde_json::Value) -> &mut Vec<serde_json::Value> {
    c["relations"].as_array_mut().unwrap()
}

#[test]
fn unknown_relation_is_an_error_or_skipped_on_request() {
    let wal = unpack_wal(&case());
    let mut c = catalog_json();
    relations_mut(&mut c).retain(|r| r["name"] != "t_types");
    let out = decode(&c, wal.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is not in the catalog") && stderr.contains("change at 0/"),
        "{stderr}"
    );
    let out = decode(&c, wal.path(), &["--unknown-relations=skip"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("table public.t_types:"));
}

#[test]
fn catalog_of_another_system_is_refused() {
    let wal = unpack_wal(&case());
    let mut c = catalog_json();
    c["system_identifier"] = serde_json::json!("12345");
    let out = decode(&c, wal.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("database system 12345"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn tuple_with_more_columns_than_the_catalog_is_an_error() {
    let wal = unpack_wal(&case());
    let mut c = catalog_json();
    for r in relations_mut(&mut c) {
        if r["name"] == "t_types" {
            r["columns"].as_array_mut().unwrap().pop();
        }
    }
    let out = decode(&c, wal.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("public.t_types") && stderr.contains("change at 0/"),
        "{stderr}"
    );
}

#[test]
fn unreadable_catalog_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.json");
    std::fs::write(&path, b"{ not json").unwrap();
    let out = pglcr()
        .args(["decode", "--catalog"])
        .arg(&path)
        .args(["-p", "/tmp"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("catalog.json") && stderr.contains("not valid"),
        "{stderr}"
    );
}

#[test]
fn value_of_a_type_not_in_the_catalog_is_an_error_in_text_and_in_lcr_files() {
    let wal = unpack_wal(&case());
    let mut c = catalog_json();
    for r in relations_mut(&mut c) {
        if r["name"] == "t_types" {
            for col in r["columns"].as_array_mut().unwrap() {
                if col["name"] == "c_int2" {
                    col["type_oid"] = serde_json::json!(999_999);
                }
            }
        }
    }
    let spool = tempfile::tempdir().unwrap();
    let spool_arg = spool.path().to_str().unwrap().to_string();
    for (extra, what) in [
        (vec!["--format", "test_decoding"], "test_decoding"),
        (vec!["--format", "wal2json"], "wal2json"),
        (vec!["--spool", spool_arg.as_str()], "LCR files"),
    ] {
        let out = decode(&c, wal.path(), &extra);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(
            stderr.contains("change at 0/")
                && stderr.contains("public.t_types")
                && stderr.contains("column c_int2")
                && stderr.contains("type with oid 999999 is not in the catalog"),
            "{what}: {stderr}"
        );
        // Nothing of the change that failed is written.
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("t_types"),
            "{what}"
        );
    }
}
