//! `pglcr init` with real servers: a source under write load (pgbench and transactions that
//! commit just before, during and just after the snapshot) is seeded into a target; then
//! archive → decode → ship → apply, and the target equals the source,
//! every transaction exactly once. Init killed at random points and rerun ends the same way.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::pipeline::{apply, archive_now, archiving_cluster, conninfo, ship_new_files};
use support::{pg_command, pglcr, run_ok, server_writable_tempdir, Cluster};

/// A source archiving with `pglcr archive` into a directory of its own.
struct Source {
    cluster: Cluster,
    archive: tempfile::TempDir,
}

fn source() -> Source {
    let archive = server_writable_tempdir("pglcr-init-archive-");
    let cluster = archiving_cluster(&[archive.path()], &[("max_connections", "40")]);
    Source { cluster, archive }
}

/// A psql session running `sql` in the background.
fn psql_background(c: &Cluster, sql: &str) -> Child {
    pg_command("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-h"])
        .arg(c.socket_dir())
        .args(["-p", &c.port.to_string(), "-d", "postgres", "-c", sql])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start psql")
}

fn wait_ok(child: Child, what: &str) {
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pgbench(c: &Cluster, args: &[&str]) -> Command {
    let mut cmd = pg_command("pgbench");
    cmd.args(["-h"])
        .arg(c.socket_dir())
        .args(["-p", &c.port.to_string(), "-U", "postgres"])
        .args(args)
        .arg("postgres");
    cmd
}

fn init_cmd(source: &Cluster, spool: &Path, target: &Cluster) -> Command {
    let mut c = pglcr();
    c.args(["init", "--source", &conninfo(source), "--spool"])
        .arg(spool)
        .args(["--target", &conninfo(target), "--jobs", "2"]);
    c
}

/// decode → ship → apply.
fn catch_up(s: &Source, spool: &Path, shipped: &Path, target: &Cluster) {
    archive_now(&s.cluster);
    let out = run_ok(
        pglcr()
            .args(["decode", "--spool"])
            .arg(spool)
            .arg("-p")
            .arg(s.archive.path()),
    );
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(ship_new_files(spool, "dr", shipped));
    run_ok(&mut apply(shipped, target));
}

/// `pglcr apply` refuses a target whose init did not finish (marked in pglcr.init_state).
fn refuses_unfinished_init(target: &Cluster, shipped: &Path) {
    let origin = target.psql("SELECT roname FROM pg_replication_origin");
    target.psql(&format!(
        "INSERT INTO pglcr.init_state (origin, source_system_identifier, consistent_point) \
         VALUES ('{origin}', '0', '0/0')"
    ));
    let out = apply(shipped, target).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("unfinished pglcr init"),
        "apply must refuse an unfinished init: {stderr}"
    );
    target.psql("DELETE FROM pglcr.init_state");
}

fn assert_compare_equal(source: &Cluster, target: &Cluster) {
    let out = pglcr()
        .args(["compare", "-d", &conninfo(source), "-d", &conninfo(target)])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "source and target differ:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn spool_start(spool: &Path) -> String {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(spool.join("state.json")).unwrap()).unwrap();
    state["start_lsn"].as_str().unwrap().to_string()
}

const MARKS: &str = "
CREATE TABLE marks (id bigserial PRIMARY KEY, phase text NOT NULL, at_lsn pg_lsn NOT NULL);
CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL);
INSERT INTO counters VALUES (1, 0);
";

/// `n` transactions, one every 10 ms, each adding a mark and bumping the counter: applied
/// twice or lost, one shows in the counter and the marks.
fn stream_sql(n: usize) -> String {
    format!(
        "DO $$ BEGIN FOR i IN 1..{n} LOOP \
           INSERT INTO marks (phase, at_lsn) VALUES ('stream', pg_current_wal_insert_lsn()); \
           UPDATE counters SET n = n + 1 WHERE id = 1; COMMIT; PERFORM pg_sleep(0.01); \
         END LOOP; END $$"
    )
}

#[test]
fn seeded_target_then_pipeline_equals_the_source_exactly_once() {
    let s = source();
    let src = &s.cluster;
    run_ok(&mut pgbench(src, &["-i", "-s", "2", "-q"]));
    src.psql_script(MARKS);
    src.psql("INSERT INTO marks (phase, at_lsn) VALUES ('before', pg_current_wal_insert_lsn())");
    let target = Cluster::start(&[], &[]);
    let spool = tempfile::tempdir().unwrap();
    let shipped = tempfile::tempdir().unwrap();

    // Write load for the whole init: pgbench, and a stream of small transactions.
    let bench = pgbench(src, &["-n", "-c", "3", "-T", "12"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stream = psql_background(src, &stream_sql(600));
    // Holds an xid when the slot is created: the slot waits for it, so it commits before the
    // consistent point and must come with the copy.
    let held = psql_background(
        src,
        "BEGIN; INSERT INTO marks (phase, at_lsn) VALUES ('held', pg_current_wal_insert_lsn()); \
         SELECT pg_sleep(2); COMMIT;",
    );
    // Begins before the snapshot without an xid and commits long after it: through apply.
    let late = psql_background(
        src,
        "BEGIN; SELECT count(*) FROM marks; SELECT pg_sleep(7); \
         INSERT INTO marks (phase, at_lsn) VALUES ('late', pg_current_wal_insert_lsn()); \
         UPDATE counters SET n = n + 1000 WHERE id = 1; COMMIT;",
    );
    std::thread::sleep(Duration::from_millis(500));

    let out = run_ok(&mut init_cmd(src, spool.path(), &target));
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let start = spool_start(spool.path());
    assert!(
        stdout.contains(&format!("consistent point {start}")),
        "{stdout}"
    );
    // The target follows the source from the consistent point, and is marked ready.
    assert_eq!(
        target.psql("SELECT remote_lsn FROM pg_replication_origin_status"),
        start
    );
    assert_eq!(target.psql("SELECT count(*) FROM pglcr.init_state"), "0");
    assert_eq!(
        target.psql("SELECT phase FROM marks WHERE phase IN ('before', 'held', 'late') ORDER BY 1"),
        "before\nheld",
        "the copy shows what committed before the consistent point"
    );
    src.psql("INSERT INTO marks (phase, at_lsn) VALUES ('after', pg_current_wal_insert_lsn())");

    wait_ok(held, "held transaction");
    wait_ok(late, "late transaction");
    wait_ok(stream, "stream of transactions");
    wait_ok(bench, "pgbench");
    // The boundary was exercised: stream transactions on both sides of it, and the late one
    // after it.
    let lt = |phase: &str, cmp: &str| {
        src.psql(&format!(
            "SELECT count(*) FROM marks WHERE phase = '{phase}' AND at_lsn {cmp} '{start}'"
        ))
        .parse::<u64>()
        .unwrap()
    };
    assert!(
        lt("stream", "<") > 0 && lt("stream", ">") > 0,
        "stream did not span the point"
    );
    assert_eq!(lt("late", ">"), 1);

    catch_up(&s, spool.path(), shipped.path(), &target);
    refuses_unfinished_init(&target, shipped.path());
    assert_compare_equal(src, &target);
    assert_eq!(
        target.psql("SELECT n FROM counters"),
        (600 + 1000).to_string(),
        "each stream transaction once, the late one once"
    );
    assert_eq!(
        target.psql("SELECT phase, count(*) FROM marks GROUP BY 1 ORDER BY 1"),
        "after|1\nbefore|1\nheld|1\nlate|1\nstream|600"
    );
    // pgbench's history has no key: compare checked its content hash; its rows match too.
    assert_eq!(
        target.psql("SELECT count(*) FROM pgbench_history"),
        src.psql("SELECT count(*) FROM pgbench_history")
    );

    // A second init of the same spool is refused.
    let out = init_cmd(src, spool.path(), &target).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already holds a started stream"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The child's stderr, line by line, as it comes.
fn stderr_lines(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let stderr = child.stderr.take().unwrap();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
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

#[test]
fn init_killed_at_random_points_reruns_to_a_correct_target() {
    let s = source();
    let src = &s.cluster;
    run_ok(&mut pgbench(src, &["-i", "-s", "3", "-q"]));
    src.psql_script(MARKS);
    let target = Cluster::start(&[], &[]);
    let spool = tempfile::tempdir().unwrap();
    let shipped = tempfile::tempdir().unwrap();
    let stream = psql_background(src, &stream_sql(1500));

    // Each attempt is killed shortly after init reports a given step, so every stage is hit
    // whatever the speed of the machine; the small random delay varies where inside it.
    let kill_points = [
        "creating temporary logical slot",
        "consistent point",
        "copying the schema: tables",
        "tables with 2 jobs",
        "indexes and constraints",
    ];
    let mut rng = Lcg(10);
    let mut kills = 0;
    let mut finished = false;
    for step in kill_points {
        let delay = Duration::from_millis(rng.next() % 300);
        let mut child = init_cmd(src, spool.path(), &target)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = stderr_lines(&mut child);
        let mut said = Vec::new();
        let reached = loop {
            match lines.recv_timeout(Duration::from_secs(120)) {
                Ok(line) => {
                    let hit = line.contains(step);
                    said.push(line);
                    if hit {
                        break true;
                    }
                }
                Err(_) => break false,
            }
        };
        // Not reached: init ended (or stalled, which the wait exposes) before that step.
        let exited = if reached {
            std::thread::sleep(delay);
            child.try_wait().unwrap()
        } else {
            Some(child.wait().unwrap())
        };
        if let Some(status) = exited {
            assert!(
                status.success(),
                "init failed before it was killed: {}",
                said.join("\n")
            );
            finished = true;
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        said.extend(lines.try_iter());
        eprintln!(
            "killed {delay:?} after {step:?}, at: {}",
            said.last().map_or("(start)", String::as_str)
        );
        kills += 1;
        // Never a target that looks ready without a spool that is.
        let marker = if target.psql("SELECT to_regclass('pglcr.init_state') IS NULL") == "t" {
            "none".to_string()
        } else {
            target.psql("SELECT count(*) FROM pglcr.init_state")
        };
        let origin = target.psql("SELECT count(*) FROM pg_replication_origin");
        let spool_ready =
            spool.path().join("state.json").exists() && !spool.path().join("init-pending").exists();
        if marker == "0" && origin == "1" {
            assert!(
                spool.path().join("state.json").exists(),
                "target ready, spool not"
            );
        }
        if spool_ready {
            assert_eq!(marker, "0", "spool ready, target not");
        }
        if spool.path().join("init-pending").exists() {
            let out = pglcr()
                .args(["decode", "--spool"])
                .arg(spool.path())
                .arg("-p")
                .arg(s.archive.path())
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1));
            assert!(String::from_utf8_lossy(&out.stderr).contains("pglcr init has not finished"));
        }
    }
    if !finished {
        let out = run_ok(&mut init_cmd(src, spool.path(), &target));
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(kills >= 4, "init was killed {kills} times only");
    wait_ok(stream, "stream of transactions");
    run_ok(&mut pgbench(src, &["-n", "-c", "2", "-t", "200"]));
    catch_up(&s, spool.path(), shipped.path(), &target);
    assert_compare_equal(src, &target);
    assert_eq!(target.psql("SELECT n FROM counters"), "1500");
    assert_eq!(target.psql("SELECT count(*) FROM marks"), "1500");
}

#[test]
fn source_checks_and_password_authentication() {
    let s = Cluster::start(&[], &[("wal_level", "replica")]);
    let spool = tempfile::tempdir().unwrap();
    let out = pglcr()
        .args(["init", "--source", &conninfo(&s), "--spool"])
        .arg(spool.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("wal_level is \"replica\""), "{err}");
    assert!(err.contains("archive") || !err.contains("warning"), "{err}");
    assert!(!spool.path().join("state.json").exists());
    drop(s);

    // SCRAM and MD5 over the replication connection, and a role without REPLICATION.
    let s = Cluster::start(&[], &[("wal_level", "logical")]);
    s.psql_script(
        "CREATE ROLE scram_user LOGIN REPLICATION PASSWORD 'scram secret';
         SET password_encryption = 'md5';
         CREATE ROLE md5_user LOGIN REPLICATION PASSWORD 'md5 secret';
         CREATE ROLE plain_user LOGIN PASSWORD 'plain';
         GRANT pg_read_all_data, pg_monitor TO scram_user, md5_user, plain_user;",
    );
    let hba = s.data_dir().join("pg_hba.conf");
    let old = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        format!(
            "local all scram_user scram-sha-256\nlocal all md5_user md5\nlocal all plain_user md5\n{old}"
        ),
    )
    .unwrap();
    s.psql("SELECT pg_reload_conf()");
    let connect = |user: &str, password: Option<&str>| {
        let spool = tempfile::tempdir().unwrap();
        let mut c = pglcr();
        c.args([
            "init",
            "--source",
            &format!(
                "host={} port={} user={user} dbname=postgres",
                s.socket_dir().display(),
                s.port
            ),
            "--spool",
        ])
        .arg(spool.path())
        .env_remove("PGPASSWORD");
        if let Some(p) = password {
            c.env("PGPASSWORD", p);
        }
        let out = c.output().unwrap();
        let ok = spool.path().join("state.json").exists();
        (out, ok)
    };
    for (user, password) in [("scram_user", "scram secret"), ("md5_user", "md5 secret")] {
        let (out, ok) = connect(user, Some(password));
        assert!(
            out.status.success() && ok,
            "{user}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("archive_mode is off"), "{stderr}");
        let (out, _) = connect(user, Some("wrong"));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("password authentication failed"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (out, _) = connect("scram_user", None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no password was supplied"));
    let (out, ok) = connect("plain_user", Some("plain"));
    assert!(!ok);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("role \"plain_user\" may not replicate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
