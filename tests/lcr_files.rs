//! LCR files hold what PostgreSQL's logical decoding emits: `pglcr lcr dump` of the files a
//! spool gets from real WAL equals test_decoding's output of a slot over the same WAL (saved in
//! testdata by the generator), and `pglcr lcr verify` and `ls` agree with the files.

mod support;

use std::path::Path;

use support::{pglcr, run_ok, testdata, unpack_wal};

/// test_decoding's default output without the transactions it shows empty (LCR files leave
/// out transactions with no change to show).
fn without_empty_transactions(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let empty_pair = i + 1 < lines.len()
            && lines[i].starts_with("BEGIN ")
            && lines[i + 1] == format!("COMMIT {}", &lines[i]["BEGIN ".len()..]);
        if empty_pair {
            i += 2;
            continue;
        }
        out.push_str(lines[i]);
        out.push('\n');
        i += 1;
    }
    out
}

fn read_case(case: &Path, name: &str) -> String {
    let plain = case.join("decode").join(name);
    if plain.exists() {
        return std::fs::read_to_string(plain).unwrap();
    }
    let zst = case.join("decode").join(format!("{name}.zst"));
    String::from_utf8(zstd::decode_all(std::fs::File::open(&zst).unwrap()).unwrap()).unwrap()
}

fn lsn(case: &Path, file: &str) -> String {
    std::fs::read_to_string(case.join(file))
        .unwrap()
        .trim()
        .to_string()
}

fn check_case(name: &str, max_lcr_size: &str) {
    let case = testdata().join(name);
    let wal = unpack_wal(&case);
    let spool = tempfile::tempdir().unwrap();
    run_ok(
        support::decode_spool(spool.path(), wal.path(), &case.join("catalog.json"))
            .args([
                "--start",
                &lsn(&case, "start-lsn"),
                "--end",
                &lsn(&case, "end-lsn"),
            ])
            .args(["--max-lcr-size", max_lcr_size]),
    );
    let files: Vec<_> = pglcr::lcr::list_dir(spool.path())
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert!(!files.is_empty(), "{name}: no LCR files");

    let dump = run_ok(pglcr().args(["lcr", "dump"]).args(&files));
    let text = String::from_utf8(dump.stdout).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.ends_with(" (continued)"))
        .flat_map(|l| [l, "\n"])
        .collect();
    let want = without_empty_transactions(&read_case(&case, "td-default.out"));
    if text != want {
        let at = text
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(text.lines().count().min(want.lines().count()));
        panic!(
            "{name}: lcr dump differs from test_decoding at line {}:\n  lcr:  {:?}\n  slot: {:?}",
            at + 1,
            text.lines().nth(at),
            want.lines().nth(at)
        );
    }

    let json = run_ok(
        pglcr()
            .args(["lcr", "dump", "--format", "json"])
            .args(&files),
    );
    let mut kinds = std::collections::BTreeSet::new();
    for line in String::from_utf8(json.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        kinds.insert(v["kind"].as_str().unwrap().to_string());
    }
    for k in ["relation", "begin", "insert", "commit"] {
        assert!(
            kinds.contains(k),
            "{name}: no {k} in the JSON dump: {kinds:?}"
        );
    }

    let verify = run_ok(pglcr().args(["lcr", "verify"]).arg(spool.path()));
    let err = String::from_utf8_lossy(&verify.stderr);
    assert!(err.contains("no problems"), "{name}: {err}");
    let ls = run_ok(pglcr().args(["lcr", "ls"]).arg(spool.path()));
    assert_eq!(
        String::from_utf8(ls.stdout).unwrap().lines().count(),
        files.len() + 1,
        "{name}: one line per file and a header"
    );
}

#[test]
fn pg15_types_toast_identities_and_messages() {
    check_case("pg15-logical", "64kB");
}

#[test]
fn pg18_types_toast_identities_and_messages() {
    check_case("pg18-logical", "64kB");
}

#[test]
fn pg15_large_transaction_over_many_files() {
    check_case("pg15-logical-big", "64kB");
}

#[test]
fn verify_names_a_damaged_file_and_a_missing_one() {
    let case = testdata().join("pg15-logical-big");
    let wal = unpack_wal(&case);
    let spool = tempfile::tempdir().unwrap();
    run_ok(
        support::decode_spool(spool.path(), wal.path(), &case.join("catalog.json")).args([
            "--start",
            &lsn(&case, "start-lsn"),
            "--max-lcr-size",
            "64kB",
        ]),
    );
    let files = pglcr::lcr::list_dir(spool.path()).unwrap();
    let damaged = &files[3].1;
    let mut bytes = std::fs::read(damaged).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(damaged, bytes).unwrap();
    std::fs::remove_file(&files[6].1).unwrap();
    let out = pglcr()
        .args(["lcr", "verify"])
        .arg(spool.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains(&damaged.display().to_string()) && report.contains("checksum"),
        "{report}"
    );
    assert!(
        report.contains(&files[6].0.to_string()),
        "the missing file is not named: {report}"
    );
    let dump = pglcr().args(["lcr", "dump"]).arg(damaged).output().unwrap();
    assert_eq!(dump.status.code(), Some(1));
    let err = String::from_utf8_lossy(&dump.stderr);
    assert!(err.contains(&damaged.display().to_string()), "{err}");
}
