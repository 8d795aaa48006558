//! `pglcr decode --spool` across DDL (testdata/pg15-ddl: the catalog and the slots were taken
//! before a workload of DDL mixed with DML): run after run, stopped anywhere, killed at random
//! points or dying before its state is saved, the spool writes LCR files whose `pglcr lcr
//! dump` is what test_decoding printed for the slot, and always the same files.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pglcr::lcr;
use pglcr::wal::lsn::Lsn;
use support::{pglcr, run_ok, testdata, unpack_wal};

const CASE: &str = "pg15-ddl";
/// Small files, so that a run's changes spread over several.
const MAX_LCR_SIZE: &str = "64kB";

fn case() -> PathBuf {
    testdata().join(CASE)
}

fn lsn(file: &str) -> Lsn {
    std::fs::read_to_string(case().join(file))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// A small deterministic generator (the tests must be repeatable).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Where cron-like runs stop: about every 6 kB of WAL, at no record boundary in particular,
/// and at the end of the workload.
fn run_ends() -> Vec<Lsn> {
    let (start, end) = (lsn("start-lsn"), lsn("end-lsn"));
    let mut rng = Lcg(4);
    let mut ends = Vec::new();
    let mut at = start.0;
    loop {
        at += 1000 + rng.next() % 10_000;
        if at >= end.0 {
            break;
        }
        ends.push(Lsn(at));
    }
    ends.push(end);
    ends
}

/// [`run_ends`] and, besides, right after every commit: also while a transaction that began
/// before DDL committed is still open.
fn run_ends_and_after_commits(wal: &Path) -> Vec<Lsn> {
    let (start, end) = (lsn("start-lsn"), lsn("end-lsn"));
    let out = run_ok(pglcr().args(["dump", "-p"]).arg(wal).args([
        "-s",
        &start.to_string(),
        "-e",
        &end.to_string(),
    ]));
    let records: Vec<(Lsn, bool)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let at = l.split("lsn: ").nth(1).unwrap().split(',').next().unwrap();
            (at.parse().unwrap(), l.contains("desc: COMMIT"))
        })
        .collect();
    let mut ends: Vec<Lsn> = records
        .windows(2)
        .filter(|w| w[0].1)
        .map(|w| w[1].0)
        .chain(run_ends())
        .collect();
    ends.sort();
    ends.dedup();
    ends
}

fn spool_cmd(spool: &Path, wal: &Path, end: Lsn) -> Command {
    let mut c = support::decode_spool(spool, wal, &case().join("catalog.json"));
    c.args(["--start", &lsn("start-lsn").to_string()])
        .args(["--end", &end.to_string()])
        .args(["--max-lcr-size", MAX_LCR_SIZE]);
    c
}

/// The LCR files of a spool by name.
fn lcr_files(spool: &Path) -> BTreeMap<String, Vec<u8>> {
    lcr::list_dir(spool)
        .unwrap()
        .into_iter()
        .map(|(name, path)| (name.to_string(), std::fs::read(path).unwrap()))
        .collect()
}

/// Every file of the spool but its lock, by name.
fn spool_files(spool: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(spool)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file() && e.file_name() != "lock")
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// test_decoding's default output for the slot, without the transactions it shows empty
/// (LCR files leave out transactions with no change to show).
fn test_decoding_output() -> String {
    let text = std::fs::read_to_string(case().join("decode/td-default.out")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        if i + 1 < lines.len()
            && lines[i].starts_with("BEGIN ")
            && lines[i + 1] == format!("COMMIT {}", &lines[i]["BEGIN ".len()..])
        {
            i += 2;
            continue;
        }
        out.push_str(lines[i]);
        out.push('\n');
        i += 1;
    }
    out
}

/// `pglcr lcr dump` of all the spool's files, without the lines of continued BEGINs.
fn dump(spool: &Path) -> String {
    let files: Vec<PathBuf> = lcr::list_dir(spool)
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert!(!files.is_empty(), "no LCR files in {}", spool.display());
    let out = run_ok(pglcr().args(["lcr", "dump"]).args(&files));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.ends_with(" (continued)"))
        .flat_map(|l| [l, "\n"])
        .collect()
}

fn assert_same_text(what: &str, got: &str, want: &str) {
    if got != want {
        let at = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(got.lines().count().min(want.lines().count()));
        panic!(
            "{what}: lcr dump differs from test_decoding at line {}:\n  lcr:  {:?}\n  slot: {:?}",
            at + 1,
            got.lines().nth(at),
            want.lines().nth(at)
        );
    }
}

/// The spool's state as JSON.
fn state(spool: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(spool.join("state.json")).unwrap()).unwrap()
}

/// The catalog file the state names, parsed; it is the only one carried.
fn carried(spool: &Path) -> serde_json::Value {
    let name = state(spool)["catalog"].as_str().unwrap().to_string();
    let others: Vec<String> = spool_files(spool)
        .into_keys()
        .filter(|n| n.starts_with("catalog-") && *n != name)
        .collect();
    assert!(others.is_empty(), "catalogs left over: {others:?}");
    serde_json::from_slice(&std::fs::read(spool.join(name)).unwrap()).unwrap()
}

/// The reference: uninterrupted runs, one after the other, stopping at each of `ends`.
fn reference(wal: &Path, ends: &[Lsn]) -> tempfile::TempDir {
    let spool = tempfile::tempdir().unwrap();
    for &end in ends {
        run_ok(&mut spool_cmd(spool.path(), wal, end));
    }
    spool
}

#[test]
fn runs_stopping_anywhere_across_ddl_give_test_decoding_output() {
    let wal = unpack_wal(&case());
    let want = test_decoding_output();
    let end = lsn("end-lsn");

    let one = tempfile::tempdir().unwrap();
    run_ok(&mut spool_cmd(one.path(), wal.path(), end));
    assert_same_text("one run", &dump(one.path()), &want);
    // The catalog carried forward is the dictionary as of the end, DDL included.
    let cat = carried(one.path());
    assert_eq!(cat["restart_lsn"], end.to_string());
    let names: Vec<&str> = cat["catalog"]["relations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"d_new"), "{names:?}");

    // Many runs: transactions and DDL cross run boundaries everywhere.
    let ends = run_ends_and_after_commits(wal.path());
    assert!(ends.len() >= 80, "{} runs", ends.len());
    let spool = tempfile::tempdir().unwrap();
    let mut carried_commits = 0;
    for &end in &ends {
        run_ok(&mut spool_cmd(spool.path(), wal.path(), end));
        let cat = carried(spool.path());
        assert_eq!(cat["restart_lsn"], state(spool.path())["restart_lsn"]);
        carried_commits += cat["commits"].as_array().unwrap().len();
    }
    assert_same_text("runs", &dump(spool.path()), &want);
    // Some runs stopped while a transaction that began before DDL committed was still open:
    // the catalog then carries that DDL's rows past its restart point.
    assert!(carried_commits > 0, "no run carried catalog commits");

    // A relation whose columns changed declares itself again before its next change (within
    // one LCR file: every file declares the relations it uses).
    let mut described: BTreeMap<(String, u64), std::collections::BTreeSet<String>> =
        BTreeMap::new();
    for (name, path) in lcr::list_dir(one.path()).unwrap() {
        let json = run_ok(pglcr().args(["lcr", "dump", "--format", "json"]).arg(path));
        for line in String::from_utf8(json.stdout).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["kind"] == "relation" {
                described
                    .entry((name.to_string(), v["relid"].as_u64().unwrap()))
                    .or_default()
                    .insert(v.to_string());
            }
        }
    }
    assert!(
        described.values().any(|d| d.len() > 1),
        "no relation was described twice: {described:?}"
    );

    let verify = run_ok(pglcr().args(["lcr", "verify"]).arg(spool.path()));
    let err = String::from_utf8_lossy(&verify.stderr);
    assert!(err.contains("no problems"), "{err}");
}

#[test]
fn killed_runs_across_ddl_write_the_same_files() {
    let wal = unpack_wal(&case());
    let ends = run_ends();
    let reference = reference(wal.path(), &ends);
    let want = lcr_files(reference.path());
    // One run's duration, for kill delays anywhere from its start to a little past its end.
    let spool = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    run_ok(&mut spool_cmd(spool.path(), wal.path(), ends[0]));
    let span_us = (t0.elapsed().as_micros() as u64 * 3 / 2).max(20_000);

    let mut rng = Lcg(20261122);
    let (mut kills, mut kill_points) = (0, std::collections::BTreeSet::new());
    for round in 1.. {
        let spool = tempfile::tempdir().unwrap();
        for (run, &end) in ends.iter().enumerate() {
            for attempt in 1.. {
                let mut child = spool_cmd(spool.path(), wal.path(), end)
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                std::thread::sleep(Duration::from_micros(rng.next() % span_us));
                let finished = match child.try_wait().unwrap() {
                    Some(status) => {
                        let out = child.wait_with_output().unwrap();
                        assert!(
                            status.success(),
                            "round {round}, run {run} failed: {}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                        true
                    }
                    None => {
                        child.kill().unwrap(); // SIGKILL
                        child.wait().unwrap();
                        kills += 1;
                        kill_points.insert(lcr_files(spool.path()).len());
                        false
                    }
                };
                for (name, bytes) in lcr_files(spool.path()) {
                    assert!(
                        want.get(&name) == Some(&bytes),
                        "round {round}, run {run}, attempt {attempt}: {name} is not the reference's"
                    );
                }
                if finished {
                    break;
                }
                assert!(attempt < 200, "run {run} never finished");
            }
        }
        assert!(
            lcr_files(spool.path()) == want,
            "round {round}: the files differ from the reference runs'"
        );
        if kills >= 50 && kill_points.len() >= 8 {
            break;
        }
        assert!(
            round < 20,
            "{kills} kills at {kill_points:?} published files"
        );
    }
    eprintln!("{kills} kills, with {kill_points:?} files published");
}

/// A run that dies after publishing its files, or after writing the catalog for the next run,
/// but before saving its state: the next run, from the state saved before and the catalog it
/// names, leaves the spool exactly as the run would have, at every run boundary.
#[test]
fn a_run_dying_before_its_state_is_saved_is_finished_by_the_next() {
    let wal = unpack_wal(&case());
    let ends = run_ends_and_after_commits(wal.path());
    let spool = tempfile::tempdir().unwrap();
    let mut reconciled = 0;
    for (run, &end) in ends.iter().enumerate() {
        let before = spool_files(spool.path());
        run_ok(&mut spool_cmd(spool.path(), wal.path(), end));
        let after = spool_files(spool.path());
        if before.is_empty() {
            continue;
        }
        // The spool as the run would leave it dying just before saving its state.
        let died = tempfile::tempdir().unwrap();
        for (name, bytes) in &after {
            if name != "state.json" && !(name.starts_with("catalog-") && before.contains_key(name))
            {
                std::fs::write(died.path().join(name), bytes).unwrap();
            }
        }
        for (name, bytes) in &before {
            if name == "state.json" || name.starts_with("catalog-") {
                std::fs::write(died.path().join(name), bytes).unwrap();
            }
        }
        if lcr_files(spool.path()).len() > before.keys().filter(|n| n.len() == 40).count() {
            reconciled += 1;
        }
        run_ok(&mut spool_cmd(died.path(), wal.path(), end));
        let finished = spool_files(died.path());
        assert_eq!(
            finished.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>(),
            "run {run}: file names"
        );
        for (name, bytes) in &after {
            assert!(
                finished[name] == *bytes,
                "run {run}: {name} differs from the uninterrupted run's"
            );
        }
    }
    assert!(reconciled > 10, "{reconciled}");
}
