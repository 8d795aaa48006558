//! `pglcr decode --spool`: incremental LCR decoding of real WAL (testdata/pg15-logical-big, a
//! 200k-row transaction among many small ones over 13 segments of 1 MiB), resumed run after
//! run, killed at random points, with any thread count: always the same files.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pglcr::lcr::{self, LcrFile};
use support::{testdata, unpack_wal};

const CASE: &str = "pg15-logical-big";
/// Small files, so that the workload spreads over many sub-segments and the 200k-row
/// transaction over several files.
const MAX_LCR_SIZE: &str = "64kB";

fn case() -> PathBuf {
    testdata().join(CASE)
}

fn start_lsn() -> String {
    std::fs::read_to_string(case().join("start-lsn"))
        .unwrap()
        .trim()
        .to_string()
}

fn spool_cmd(spool: &Path, wal: &Path) -> Command {
    let mut c = support::decode_spool(spool, wal, &case().join("catalog.json"));
    c.args(["--start", &start_lsn(), "--max-lcr-size", MAX_LCR_SIZE]);
    c
}

fn run_spool(spool: &Path, wal: &Path) -> std::process::Output {
    support::run_ok(&mut spool_cmd(spool, wal))
}

/// The LCR files of a spool by name.
fn lcr_files(spool: &Path) -> BTreeMap<String, Vec<u8>> {
    lcr::list_dir(spool)
        .unwrap()
        .into_iter()
        .map(|(name, path)| (name.to_string(), std::fs::read(path).unwrap()))
        .collect()
}

fn segments(wal: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Every LCR file visible in the spool is complete and is the file the reference run wrote
/// under that name.
fn check_published(spool: &Path, reference: &BTreeMap<String, Vec<u8>>, when: &str) {
    for (name, path) in lcr::list_dir(spool).unwrap() {
        let name = name.to_string();
        let file = LcrFile::open(&path)
            .unwrap_or_else(|e| panic!("{when}: {name} is visible but not complete: {e}"));
        file.verify()
            .unwrap_or_else(|e| panic!("{when}: {name} does not verify: {e}"));
        let want = reference
            .get(&name)
            .unwrap_or_else(|| panic!("{when}: {name} is not a file of the reference run"));
        assert!(
            std::fs::read(&path).unwrap() == *want,
            "{when}: {name} differs from the reference run's"
        );
    }
}

/// A small deterministic generator for kill delays (the test must be repeatable).
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

/// The reference: one uninterrupted run over all the WAL.
fn reference() -> (tempfile::TempDir, BTreeMap<String, Vec<u8>>, Duration) {
    let wal = unpack_wal(&case());
    let spool = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    run_spool(spool.path(), wal.path());
    let took = t0.elapsed();
    let files = lcr_files(spool.path());
    assert!(
        files.len() >= 20,
        "expected many LCR files with --max-lcr-size {MAX_LCR_SIZE}, got {}",
        files.len()
    );
    // The 200k-row transaction runs over several files.
    let continued = files
        .keys()
        .filter(|n| {
            let f = LcrFile::open(&spool.path().join(n)).unwrap();
            f.header.flags & lcr::format::FLAG_CONTINUED != 0
        })
        .count();
    assert!(
        continued >= 3,
        "only {continued} files continue a transaction"
    );
    (wal, files, took)
}

#[test]
fn killed_runs_as_wal_arrives_write_the_same_files_as_one_run() {
    let (all_wal, reference, took) = reference();
    let all_segments = segments(all_wal.path());
    let mut rng = Lcg(20261122);
    // Kill anywhere from the start to a little past a whole run. Each run here decodes only
    // the segment that arrived since the last one, and how long that takes depends on what
    // else the machine is doing: the range shrinks after a run that finished before its
    // kill and grows after a kill, so that about half the runs are killed.
    let longest_us = (took.as_micros() as u64 * 6 / 5).max(20_000);
    let mut span_us = longest_us;
    let (mut kills, mut completed) = (0, 0);
    // How many files were published when runs were killed: the kills must spread over the
    // work, not all hit the start of a run.
    let mut kill_points = std::collections::BTreeSet::new();
    // Rounds on fresh spools until enough kills have landed all over the work.
    for round in 1.. {
        let wal = tempfile::tempdir().unwrap();
        let spool = tempfile::tempdir().unwrap();
        let mut arrived = 0;
        for run in 1.. {
            // WAL arrives as from archive_command, a segment before each run.
            if arrived < all_segments.len() {
                let seg = &all_segments[arrived];
                std::fs::copy(seg, wal.path().join(seg.file_name().unwrap())).unwrap();
                arrived += 1;
            }
            let mut child = spool_cmd(spool.path(), wal.path())
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
                    completed += 1;
                    span_us = (span_us * 3 / 4).max(2_000);
                    true
                }
                None => {
                    child.kill().unwrap(); // SIGKILL
                    child.wait().unwrap();
                    kills += 1;
                    span_us = (span_us * 5 / 4).min(longest_us);
                    kill_points.insert(lcr_files(spool.path()).len());
                    false
                }
            };
            check_published(
                spool.path(),
                &reference,
                &format!("round {round}, after run {run} (killed: {})", !finished),
            );
            if arrived == all_segments.len() && finished {
                break;
            }
            assert!(run < 500, "round {round}: no end after {run} runs");
        }
        let got = lcr_files(spool.path());
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            reference.keys().collect::<Vec<_>>(),
            "file names after round {round}"
        );
        assert!(
            got == reference,
            "round {round}: contents differ from the reference run"
        );
        if kills >= 50 && kill_points.len() >= 8 {
            break;
        }
        assert!(
            round < 40,
            "after {round} rounds: {kills} kills at {kill_points:?} published files"
        );
    }
    eprintln!(
        "{kills} kills, {completed} completed runs, kills with {kill_points:?} files published"
    );
}

#[test]
fn lcr_files_are_the_same_whatever_the_thread_count() {
    let wal = unpack_wal(&case());
    let mut sets = Vec::new();
    for threads in ["1", "2", "4"] {
        let spool = tempfile::tempdir().unwrap();
        support::run_ok(spool_cmd(spool.path(), wal.path()).env("RAYON_NUM_THREADS", threads));
        sets.push((threads, lcr_files(spool.path())));
    }
    for (threads, files) in &sets[1..] {
        assert!(
            *files == sets[0].1,
            "LCR files with {threads} threads differ from those with 1"
        );
    }
}

#[test]
fn a_second_run_on_a_busy_spool_is_refused_with_its_own_exit_code() {
    let wal = unpack_wal(&case());
    let spool = tempfile::tempdir().unwrap();
    std::fs::write(spool.path().join("lock"), b"").unwrap();
    let holder = std::fs::File::open(spool.path().join("lock")).unwrap();
    holder.lock().unwrap();
    let out = spool_cmd(spool.path(), wal.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(75), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another pglcr process"), "{err}");
    drop(holder);
    run_spool(spool.path(), wal.path());
}

#[test]
fn missing_wal_is_an_error_naming_the_segment() {
    let wal = unpack_wal(&case());
    let segs = segments(wal.path());
    // A gap in the middle of the WAL the spool needs.
    let spool = tempfile::tempdir().unwrap();
    std::fs::remove_file(&segs[4]).unwrap();
    let out = spool_cmd(spool.path(), wal.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let name = segs[4].file_name().unwrap().to_string_lossy().into_owned();
    assert!(err.contains(&name) && err.contains("missing"), "{err}");
    assert!(
        lcr_files(spool.path()).len() < 20,
        "it went on past the gap"
    );

    // The segment where the spool must restart (the start of the open 200k-row transaction)
    // was removed after a run, later ones remain.
    let wal = unpack_wal(&case());
    let spool = tempfile::tempdir().unwrap();
    run_spool(spool.path(), wal.path());
    let first = segments(wal.path())[0].clone();
    std::fs::remove_file(&first).unwrap();
    let out = spool_cmd(spool.path(), wal.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let name = first.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        err.contains(&format!(
            "requested WAL segment {name} has already been removed"
        )),
        "{err}"
    );
}

/// A run that dies right after publishing any one file, before saving its state, leaves a
/// spool from which the next run writes the remaining files exactly as one run would: tried
/// at every file boundary (including boundaries inside a transaction and just before its
/// COMMIT).
#[test]
fn resuming_after_any_published_file_gives_the_same_files() {
    for (name, end) in [(CASE, None), ("pg18-logical", Some("end-lsn"))] {
        let case = testdata().join(name);
        let wal = unpack_wal(&case);
        let start = std::fs::read_to_string(case.join("start-lsn")).unwrap();
        let end = end.map(|f| std::fs::read_to_string(case.join(f)).unwrap());
        let cmd = |spool: &Path| {
            let mut c = support::decode_spool(spool, wal.path(), &case.join("catalog.json"));
            c.args(["--start", start.trim(), "--max-lcr-size", MAX_LCR_SIZE]);
            if let Some(end) = &end {
                c.args(["--end", end.trim()]);
            }
            c
        };
        let reference = tempfile::tempdir().unwrap();
        support::run_ok(&mut cmd(reference.path()));
        let files = lcr_files(reference.path());
        assert!(files.len() >= 2, "{name}: {} files", files.len());
        // The state as the first run saves it before writing anything.
        let mut state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(reference.path().join("state.json")).unwrap())
                .unwrap();
        let start_lsn = state["start_lsn"].clone();
        state["resume_lsn"] = start_lsn.clone();
        state["restart_lsn"] = start_lsn;
        state["resume_skip"] = 0.into();
        state["last_file"] = serde_json::Value::Null;
        state["catalog"] = serde_json::Value::Null;
        let names: Vec<&String> = files.keys().collect();
        for kept in 1..names.len() {
            let spool = tempfile::tempdir().unwrap();
            std::fs::copy(
                reference.path().join("catalog.json"),
                spool.path().join("catalog.json"),
            )
            .unwrap();
            std::fs::write(
                spool.path().join("state.json"),
                serde_json::to_vec_pretty(&state).unwrap(),
            )
            .unwrap();
            for n in &names[..kept] {
                std::fs::write(spool.path().join(n), &files[*n]).unwrap();
            }
            support::run_ok(&mut cmd(spool.path()));
            assert!(
                lcr_files(spool.path()) == files,
                "{name}: resuming after {} gives other files",
                names[kept - 1]
            );
        }
    }
}
