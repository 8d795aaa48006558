//! `pglcr retain` on a real pipeline: a source cluster archiving with `pglcr archive`,
//! `pglcr decode --spool`, `pglcr ship` to two destinations and `pglcr apply` of one of them
//! into a real target. Retention keeps what a stalled destination needs and says so, lets it go
//! once the destination caught up, refuses a size cap that would lose it, and with
//! --allow-consumer-loss marks it broken (its next ship fails saying so, and files shipped to
//! it past the gap are refused by apply) while the other one goes on. As
//! archive_cleanup_command it removes what pg_archivecleanup removes.

mod support;

use std::path::Path;

use pglcr::lcr::{LcrFile, LcrName};
use pglcr::ship::state::DestinationState;
use support::pipeline::{
    apply, conninfo, file_names, lcr_names, ship, ship_new_files, table_text, target_for, Source,
};
use support::{pg_bin, pglcr, run_ok};

const SCHEMA: &str = "CREATE TABLE t (id int PRIMARY KEY, v text, n int);";

/// Transactions enough for several 1 MB segments and many 64 kB LCR files.
fn workload(source: &Source, round: u32) {
    let mut s = String::new();
    for k in 0..8 {
        let base = round * 100_000 + k * 1000;
        s.push_str(&format!(
            "INSERT INTO t SELECT g, repeat(md5(g::text), 4), 0 FROM generate_series({}, {}) g;\n\
             UPDATE t SET n = n + 1 WHERE id % 7 = {};\n",
            base + 1,
            base + 1000,
            k % 7
        ));
    }
    source.cluster.psql_script(&s);
    source.archive_now();
}

fn retain(args: &[&str]) -> std::process::Output {
    pglcr().arg("retain").args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn acked(spool: &Path, name: &str) -> String {
    DestinationState::load(spool, name)
        .unwrap()
        .unwrap()
        .acked
        .unwrap()
}

/// The names of the files of a spool that have a checksum file (`NAME.sha256`).
fn checksummed(spool: &Path) -> Vec<String> {
    file_names(spool)
        .iter()
        .filter_map(|n| n.strip_suffix(".sha256").map(String::from))
        .collect()
}

/// The archive's segment files from the one holding `lsn` on, and the ones before it.
fn split_archive(archive: &Path, restart_segment: &str) -> (Vec<String>, Vec<String>) {
    file_names(archive)
        .into_iter()
        .filter(|n| n.len() == 24)
        .partition(|n| n[8..] >= restart_segment[8..])
}

fn restart_segment(spool: &Path) -> String {
    let st = pglcr::spool::State::load(spool).unwrap().unwrap();
    let lsn = st.wal_need(spool).unwrap();
    pglcr::wal::lsn::segment_file_name(
        st.timeline,
        lsn.0 / st.wal_segment_size,
        st.wal_segment_size,
    )
}

#[test]
fn a_stalled_destination_keeps_its_files_until_it_catches_up() {
    let source = Source::start(SCHEMA);
    let spool = tempfile::tempdir().unwrap();
    let (dr1, dr2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let sp = spool.path();
    let target = target_for(&source.cluster);
    let spool_arg = sp.to_str().unwrap();
    let archive_arg = source.archive.path().to_str().unwrap();
    run_ok(pglcr().args([
        "retain",
        "--spool",
        spool_arg,
        "--register",
        &format!("t1={}", conninfo(&target)),
    ]));

    workload(&source, 0);
    run_ok(&mut source.decode(sp));
    assert!(ship_new_files(sp, "dr1", dr1.path()));
    assert!(ship_new_files(sp, "dr2", dr2.path()));
    run_ok(&mut apply(dr1.path(), &target));
    let dr2_acked = acked(sp, "dr2");

    // dr2 stalls while the others go on.
    workload(&source, 1);
    run_ok(&mut source.decode(sp));
    assert!(ship_new_files(sp, "dr1", dr1.path()));
    run_ok(&mut apply(dr1.path(), &target));
    let before = lcr_names(sp);
    let archived_before = file_names(source.archive.path());

    let dry = retain(&["--archive", archive_arg, "--spool", spool_arg]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let out = text(&dry.stdout);
    assert!(
        out.contains(&format!(
            "destination \"dr2\" has acknowledged only up to {dr2_acked}"
        )),
        "{out}"
    );
    assert!(out.contains("would remove"), "{out}");
    assert_eq!(lcr_names(sp), before, "a dry run removes nothing");
    assert_eq!(file_names(source.archive.path()), archived_before);
    assert_eq!(
        checksummed(sp),
        before,
        "decode records each file's checksum"
    );
    // As a decode killed between writing a checksum file and publishing its LCR file leaves.
    let unpublished = LcrName {
        subseg: 0x7FFF,
        ..LcrName::parse(before.last().unwrap()).unwrap()
    };
    std::fs::write(sp.join(format!("{unpublished}.sha256")), "0  x\n").unwrap();

    let run = retain(&["--archive", archive_arg, "--spool", spool_arg, "--confirm"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let dr2_name = LcrName::parse(&dr2_acked).unwrap();
    let kept = lcr_names(sp);
    assert_eq!(
        checksummed(sp),
        kept,
        "checksum files go with their LCR files, none is left without one"
    );
    let want: Vec<String> = before
        .iter()
        .filter(|n| LcrName::parse(n).unwrap() > dr2_name)
        .cloned()
        .collect();
    assert!(!want.is_empty() && want.len() < before.len());
    assert_eq!(
        kept, want,
        "exactly the files dr2 has not acknowledged are kept"
    );
    let (_, older) = split_archive(source.archive.path(), &restart_segment(sp));
    assert!(
        older.is_empty(),
        "WAL before the decoder's need is removed: {older:?}"
    );

    // The status tells who holds what back.
    let st = pglcr()
        .args([
            "status",
            "--archive",
            archive_arg,
            "--spool",
            spool_arg,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", text(&st.stderr));
    let json: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    let s = &json["spools"][0];
    let dest = |n: &str| {
        s["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(dest("dr1")["files_held"], 0);
    assert_eq!(dest("dr2")["files_held"].as_u64(), Some(want.len() as u64));
    assert!(dest("dr2")["lag_bytes"].as_u64().unwrap() > 0);
    assert!(dest("dr2")["lag_seconds"].as_f64().is_some());
    let holders: Vec<&str> = s["retention_held_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["holder"].as_str().unwrap())
        .collect();
    assert!(holders.contains(&"destination \"dr2\""), "{holders:?}");
    let consumer = &s["consumers"][0];
    assert_eq!(consumer["name"], "t1");
    assert_eq!(consumer["lag_bytes"], 0, "{consumer}");
    assert!(s["last_retain"]["removed_files"].as_u64().unwrap() > 0);
    let prom = pglcr()
        .args([
            "status",
            "--archive",
            archive_arg,
            "--spool",
            spool_arg,
            "--format",
            "prometheus",
        ])
        .output()
        .unwrap();
    let prom = text(&prom.stdout);
    assert!(
        prom.contains(&format!(
            "pglcr_ship_files_held{{spool=\"{spool_arg}\",destination=\"dr2\"}} {}",
            want.len()
        )),
        "{prom}"
    );
    assert!(
        prom.contains("# TYPE pglcr_apply_lag_bytes gauge"),
        "{prom}"
    );

    // The decoder still finds all the WAL it needs, dr2 catches up from the spool, the
    // consumer applies; then the files go.
    workload(&source, 2);
    run_ok(&mut source.decode(sp));
    assert!(ship_new_files(sp, "dr1", dr1.path()));
    assert!(ship_new_files(sp, "dr2", dr2.path()));
    assert_eq!(lcr_names(dr1.path()), lcr_names(dr2.path()));
    for n in lcr_names(dr1.path()) {
        assert!(
            std::fs::read(dr1.path().join(&n)).unwrap()
                == std::fs::read(dr2.path().join(&n)).unwrap(),
            "{n} differs between the destinations"
        );
    }
    // Not applied yet: the registered consumer holds the newest files.
    let run = retain(&["--archive", archive_arg, "--spool", spool_arg, "--confirm"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let out = text(&run.stdout);
    assert!(
        out.contains("consumer \"t1\" has applied only up to"),
        "{out}"
    );
    assert!(!lcr_names(sp).is_empty());
    run_ok(&mut apply(dr1.path(), &target));
    let run = retain(&["--archive", archive_arg, "--spool", spool_arg, "--confirm"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(lcr_names(sp).is_empty(), "{}", text(&run.stdout));
    assert!(checksummed(sp).is_empty());
    assert_eq!(table_text(&source.cluster, "t"), table_text(&target, "t"));
}

#[test]
fn max_size_refuses_then_marks_the_stalled_destination_broken() {
    let source = Source::start(SCHEMA);
    let spool = tempfile::tempdir().unwrap();
    let (dr1, dr2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let sp = spool.path();
    let target = target_for(&source.cluster);
    let dr2_target = target_for(&source.cluster);
    let spool_arg = sp.to_str().unwrap();
    let archive_arg = source.archive.path().to_str().unwrap();

    // dr2 receives the first files and its consumer applies them; then dr2 stalls.
    source
        .cluster
        .psql("INSERT INTO t SELECT -g, 'first', 0 FROM generate_series(1, 100) g");
    source.archive_now();
    run_ok(&mut source.decode(sp));
    assert!(ship_new_files(sp, "dr2", dr2.path()));
    run_ok(&mut apply(dr2.path(), &dr2_target));
    workload(&source, 0);
    run_ok(&mut source.decode(sp));
    assert!(ship_new_files(sp, "dr1", dr1.path()));
    run_ok(&mut apply(dr1.path(), &target));
    let dr2_acked = acked(sp, "dr2");
    let dr2_holds = lcr_names(dr2.path());
    assert_eq!(dr2_holds.last(), Some(&dr2_acked));
    let lcr_before = lcr_names(sp);

    // The cap leaves room for the WAL the decoder needs, not for dr2's backlog.
    let (needed, _) = split_archive(source.archive.path(), &restart_segment(sp));
    let wal_needed: u64 = needed
        .iter()
        .map(|n| {
            std::fs::metadata(source.archive.path().join(n))
                .unwrap()
                .len()
        })
        .sum();
    let cap = (wal_needed + 1024).to_string();
    let refused = retain(&[
        "--archive",
        archive_arg,
        "--spool",
        spool_arg,
        "--max-size",
        &cap,
        "--confirm",
    ]);
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused.stderr));
    let err = text(&refused.stderr);
    assert!(
        err.contains("destination \"dr2\" holds")
            && err.contains(&format!("has acknowledged only up to {dr2_acked}")),
        "{err}"
    );
    let dr2_needs: Vec<String> = lcr_before
        .iter()
        .filter(|n| **n > dr2_acked)
        .cloned()
        .collect();
    assert!(dr2_needs.len() > 1);
    assert_eq!(lcr_names(sp), dr2_needs, "only what dr2 has is removed");
    assert!(DestinationState::load(sp, "dr2")
        .unwrap()
        .unwrap()
        .broken
        .is_none());

    let run = retain(&[
        "--archive",
        archive_arg,
        "--spool",
        spool_arg,
        "--max-size",
        &cap,
        "--allow-consumer-loss",
        "--confirm",
    ]);
    assert!(
        run.status.success(),
        "{}\n{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    assert!(lcr_names(sp).is_empty());
    let broken = DestinationState::load(sp, "dr2")
        .unwrap()
        .unwrap()
        .broken
        .unwrap();
    let removed = format!(
        "LCR file {} has already been removed by pglcr retain at",
        dr2_needs[0]
    );
    assert!(broken.starts_with(&removed), "{broken}");
    // dr2's next run fails with that message and ships nothing.
    let refused = ship(sp, "dr2", dr2.path()).output().unwrap();
    let err = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "destination \"dr2\" of spool \"{spool_arg}\" is broken: {removed}"
        )),
        "{err}"
    );
    assert_eq!(lcr_names(dr2.path()), dr2_holds);
    assert_eq!(acked(sp, "dr2"), dr2_acked);
    let st = pglcr()
        .args(["status", "--spool", spool_arg])
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(1));
    assert!(
        text(&st.stdout).contains("BROKEN: LCR file"),
        "{}",
        text(&st.stdout)
    );

    // The decoder and dr1 go on.
    workload(&source, 1);
    run_ok(&mut source.decode(sp));
    assert!(ship_new_files(sp, "dr1", dr1.path()));
    run_ok(&mut apply(dr1.path(), &target));
    assert_eq!(table_text(&source.cluster, "t"), table_text(&target, "t"));

    // An operator who clears dr2's broken state (its acknowledgement file) has ship start it
    // afresh: dr2 receives the files after the gap, and its consumer stops at the gap, naming
    // the file the first one after it follows (each header names the file written before it).
    std::fs::remove_file(sp.join("ship").join("dr2.json")).unwrap();
    assert!(ship_new_files(sp, "dr2", dr2.path()));
    let received: Vec<String> = lcr_names(dr2.path())
        .into_iter()
        .filter(|n| !dr2_holds.contains(n))
        .collect();
    assert_eq!(received, lcr_names(sp));
    let after_gap = dr2.path().join(&received[0]);
    let missing = LcrFile::open(&after_gap)
        .unwrap()
        .header
        .previous
        .unwrap()
        .to_string();
    assert_eq!(Some(&missing), dr2_needs.last(), "the newest removed file");
    let applied_before = table_text(&dr2_target, "t");
    let origin_before = dr2_target.psql("SELECT remote_lsn FROM pg_replication_origin_status");
    let out = apply(dr2.path(), &dr2_target).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "LCR file \"{}\" is missing: \"{}\" was written after it, but follows \"{}\" here",
            dr2.path().join(&missing).display(),
            after_gap.display(),
            dr2.path().join(&dr2_acked).display()
        )),
        "{err}"
    );
    // Nothing past the gap was applied, though there was plenty to apply.
    assert_eq!(table_text(&dr2_target, "t"), applied_before);
    assert_eq!(
        dr2_target.psql("SELECT remote_lsn FROM pg_replication_origin_status"),
        origin_before
    );
    assert_ne!(table_text(&source.cluster, "t"), applied_before);
}

#[test]
fn archive_cleanup_removes_what_pg_archivecleanup_removes() {
    let names = [
        "000000010000000000000001",
        "000000010000000000000002.partial",
        "000000010000000000000003.00000028.backup",
        "000000010000000000000004",
        "000000020000000000000004",
        "000000020000000000000005",
        "00000002.history",
        "000000010000000100000001",
        "other.txt",
    ];
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    for n in names {
        std::fs::write(ours.path().join(n), b"x").unwrap();
        std::fs::write(theirs.path().join(n), b"x").unwrap();
    }
    let keep_from = "000000020000000000000004";
    run_ok(
        std::process::Command::new(pg_bin("pg_archivecleanup"))
            .arg(theirs.path())
            .arg(keep_from),
    );
    run_ok(
        pglcr()
            .args(["retain", "--confirm", "--archive-cleanup"])
            .arg(ours.path())
            .arg(keep_from),
    );
    let mut want = file_names(theirs.path());
    // pg_archivecleanup 15 leaves backup history files; we remove those before %r too, as
    // pg_archivecleanup -b (PostgreSQL 17) does.
    want.retain(|n| !n.ends_with(".backup"));
    assert_eq!(file_names(ours.path()), want);
}

/// A small deterministic generator: the interleaving is the same on every run (seed from
/// PGLCR_SEED to explore others).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Runs `cmd`, killing it with SIGKILL after `kill_after_ms` when given. Returns its exit
/// status when it ran to the end (then it must be one of `ok`), None when it was killed.
fn run_maybe_killed(
    cmd: &mut std::process::Command,
    kill_after_ms: Option<u64>,
    ok: &[i32],
    ctx: &str,
) -> Option<i32> {
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(ms) = kill_after_ms {
        std::thread::sleep(std::time::Duration::from_millis(ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            child.wait().unwrap();
            return None;
        }
    }
    let out = child.wait_with_output().unwrap();
    let code = out.status.code();
    assert!(
        code.is_some_and(|c| ok.contains(&c)),
        "{ctx}: {cmd:?} ended with {}: {}",
        out.status,
        text(&out.stderr)
    );
    code
}

#[test]
fn random_interleavings_never_remove_what_a_later_step_needs() {
    let seed = std::env::var("PGLCR_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_u64);
    let mut rng = Lcg(seed);
    let source = Source::start(SCHEMA);
    let target = target_for(&source.cluster);
    let spool = tempfile::tempdir().unwrap();
    let (dr1, dr2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let sp = spool.path();
    let spool_arg = sp.to_str().unwrap().to_string();
    let archive_arg = source.archive.path().to_str().unwrap().to_string();
    run_ok(pglcr().args([
        "retain",
        "--spool",
        &spool_arg,
        "--register",
        &format!("t1={}", conninfo(&target)),
    ]));
    // The spool's first run (a new spool needs the WAL at its start point).
    source
        .cluster
        .psql("INSERT INTO t SELECT g, 'first', 0 FROM generate_series(1, 100) g");
    source.archive_now();
    run_ok(&mut source.decode(sp));
    // Both destinations exist before anything is removed (a destination retention has never
    // heard of cannot hold files back), each with files to start from.
    assert!(ship_new_files(sp, "dr1", dr1.path()));
    assert!(ship_new_files(sp, "dr2", dr2.path()));
    let mut next_id = 101u64;
    let (mut kills, mut ship_kills, mut removed_runs) = (0, 0, 0);
    let mut log = Vec::new();
    for step in 0..45 {
        let op = rng.next(7);
        log.push(op);
        let ctx = || format!("seed {seed:#x}, step {step}, ops so far {log:?}");
        match op {
            0 => {
                let mut s = String::new();
                for _ in 0..1 + rng.next(12) {
                    let n = 1 + rng.next(300);
                    s.push_str(&format!(
                        "BEGIN; INSERT INTO t SELECT g, md5(g::text), 0 FROM generate_series({next_id}, {}) g; \
                         UPDATE t SET n = n + 1 WHERE id % 11 = {}; DELETE FROM t WHERE id % 97 = {}; COMMIT;\n",
                        next_id + n - 1,
                        rng.next(11),
                        rng.next(97)
                    ));
                    next_id += n;
                }
                source.cluster.psql_script(&s);
                source.archive_now();
            }
            1 => {
                let kill = (rng.next(2) == 0).then(|| rng.next(60));
                if run_maybe_killed(&mut source.decode(sp), kill, &[0], &ctx()).is_none() {
                    kills += 1;
                }
            }
            // Each destination ships whatever is there when its turn comes, so they fall
            // behind by different amounts; a kill leaves files unacknowledged or half written.
            2 | 3 => {
                let (name, dest) = if op == 2 {
                    ("dr1", dr1.path())
                } else {
                    ("dr2", dr2.path())
                };
                let kill = (rng.next(2) == 0).then(|| rng.next(30));
                let mut cmd = ship(sp, name, dest);
                if kill.is_some() {
                    // Slow enough that the kill lands mid-transfer whenever there is a file to
                    // send, however fast the machine.
                    cmd.args(["--max-rate", "256kB"]);
                }
                if run_maybe_killed(&mut cmd, kill, &[0, 3], &ctx()).is_none() {
                    ship_kills += 1;
                }
            }
            4 => {
                let out = apply(dr1.path(), &target).output().unwrap();
                assert!(out.status.success(), "{}: {}", ctx(), text(&out.stderr));
            }
            _ => {
                let keep = rng.next(3).to_string();
                let kill = (rng.next(3) == 0).then(|| rng.next(15));
                let mut cmd = pglcr();
                cmd.args([
                    "retain",
                    "--archive",
                    &archive_arg,
                    "--spool",
                    &spool_arg,
                    "--keep-segments",
                    &keep,
                    "--confirm",
                    "--quiet",
                ]);
                if run_maybe_killed(&mut cmd, kill, &[0], &ctx()).is_some() {
                    removed_runs += 1;
                } else {
                    kills += 1;
                }
            }
        }
    }
    // Everything catches up; every step still finds what it needs.
    source.archive_now();
    run_ok(&mut source.decode(sp));
    ship_new_files(sp, "dr1", dr1.path());
    ship_new_files(sp, "dr2", dr2.path());
    run_ok(&mut apply(dr1.path(), &target));
    run_ok(pglcr().args([
        "retain",
        "--archive",
        &archive_arg,
        "--spool",
        &spool_arg,
        "--confirm",
    ]));
    eprintln!(
        "seed {seed:#x}: ops {log:?}; {kills} kills of decode and retain, {ship_kills} of ship, \
         {removed_runs} retain runs"
    );
    assert!(
        kills > 0 && ship_kills > 0 && removed_runs > 0,
        "kills of decode and retain {kills}, of ship {ship_kills}, retain runs {removed_runs}"
    );
    assert_eq!(
        table_text(&source.cluster, "t"),
        table_text(&target, "t"),
        "seed {seed:#x}"
    );
    // Both destinations hold exactly what one uninterrupted decode of all the WAL writes.
    let reference = tempfile::tempdir().unwrap();
    run_ok(
        support::decode_spool(reference.path(), source.full.path(), &source.catalog).args([
            "--start",
            &source.start,
            "--max-lcr-size",
            "64kB",
        ]),
    );
    let want = lcr_names(reference.path());
    assert!(want.len() > 5);
    for (name, dest) in [("dr1", dr1.path()), ("dr2", dr2.path())] {
        assert_eq!(lcr_names(dest), want, "seed {seed:#x}");
        // What ship recorded there (its manifest) agrees with what is there.
        run_ok(ship(sp, name, dest).arg("--verify"));
        for n in &want {
            assert!(
                std::fs::read(dest.join(n)).unwrap()
                    == std::fs::read(reference.path().join(n)).unwrap(),
                "{n} differs from the reference (seed {seed:#x})"
            );
        }
    }
    // And the archive kept nothing older than the decoder needs.
    let (_, older) = split_archive(source.archive.path(), &restart_segment(sp));
    assert!(older.is_empty(), "{older:?}");
}

#[test]
fn interval_mode_runs_again_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let seg = |n: u32| dir.path().join(format!("0000000100000000000000{n:02X}"));
    std::fs::write(seg(1), b"").unwrap();
    std::fs::write(seg(5), b"").unwrap();
    let mut child = pglcr()
        .args([
            "retain",
            "--confirm",
            "--quiet",
            "--interval",
            "200ms",
            "--archive-cleanup",
        ])
        .arg(dir.path())
        .arg("000000010000000000000005")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (send, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    // Each run reports when it is done, so the test waits for the report, not the unlink.
    let removal_reported = |what: &str| loop {
        let line = lines
            .recv_timeout(std::time::Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{what}"));
        if line.starts_with("removed 1 files") {
            return;
        }
    };
    removal_reported("first run did not remove");
    assert!(!seg(1).exists());
    // A file that appears later goes in a later run.
    std::fs::write(seg(2), b"").unwrap();
    removal_reported("no later run removed it");
    assert!(!seg(2).exists());
    assert!(
        child.try_wait().unwrap().is_none(),
        "the long-running mode ended"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(seg(5).exists());
}
