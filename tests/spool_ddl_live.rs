//! `pglcr decode --spool` run from time to time while a real PostgreSQL 15 server runs DDL
//! between the runs, with a transaction open across a run and another session's DDL: applied
//! into a target that gets the same DDL, the tables end up as the source's.

mod support;

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::pipeline::{apply, conninfo, table_text, target_for, Source};
use support::{pg_command, run_ok};

const SCHEMA: &str = "CREATE TABLE t (id int PRIMARY KEY, v text);
CREATE TABLE u (id int PRIMARY KEY, v text);";

/// A psql session kept open, fed statements one at a time.
struct Session {
    child: Child,
    name: String,
}

impl Session {
    fn open(source: &Source, name: &str) -> Session {
        let child = pg_command("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(format!(
                "{} application_name={name}",
                conninfo(&source.cluster)
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Session {
            child,
            name: name.into(),
        }
    }

    /// Sends SQL ending inside a transaction and waits until the session has run it.
    fn in_transaction(&mut self, source: &Source, sql: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{sql}").unwrap();
        stdin.flush().unwrap();
        let t0 = Instant::now();
        let query = format!(
            "SELECT state = 'idle in transaction' AND backend_xid IS NOT NULL FROM pg_stat_activity WHERE application_name = '{}'",
            self.name
        );
        while source.cluster.psql(&query) != "t" {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "session {} stuck",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn finish(mut self, sql: &str) {
        let mut stdin = self.child.stdin.take().unwrap();
        writeln!(stdin, "{sql}").unwrap();
        drop(stdin);
        assert!(
            self.child.wait().unwrap().success(),
            "session {}",
            self.name
        );
    }
}

/// Decodes what was archived into the spool, then applies the spool into the target.
fn decode_and_apply(source: &Source, spool: &std::path::Path, target: &support::Cluster) {
    source.archive_now();
    run_ok(&mut source.decode(spool));
    run_ok(&mut apply(spool, target));
}

#[test]
fn ddl_between_runs_applies_like_the_source() {
    let source = Source::start(SCHEMA);
    let target = target_for(&source.cluster);
    let spool = tempfile::tempdir().unwrap();
    let sp = spool.path();

    source
        .cluster
        .psql_script("INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 100) g;");
    decode_and_apply(&source, sp, &target);

    // DDL between runs: a new column with a default, a new table filled in the transaction
    // that creates it, a rename, a dropped column and a TRUNCATE.
    let ddl = "ALTER TABLE t ADD COLUMN n int DEFAULT 7;
ALTER TABLE u RENAME COLUMN v TO w;
ALTER TABLE u ADD COLUMN x numeric;";
    source.cluster.psql_script(ddl);
    target.psql_script(ddl);
    source.cluster.psql_script(
        "UPDATE t SET v = v || ' updated' WHERE id % 10 = 0;
INSERT INTO t (id, v) VALUES (101, 'after ADD COLUMN');
INSERT INTO u VALUES (1, 'u one', 1.5), (2, 'u two', NULL);
BEGIN;
CREATE TABLE c (id int PRIMARY KEY, label text);
INSERT INTO c VALUES (1, 'created and filled together');
COMMIT;",
    );
    target.psql_script("CREATE TABLE c (id int PRIMARY KEY, label text);");
    decode_and_apply(&source, sp, &target);

    // A transaction open across a run while another session's DDL commits, then using what
    // that DDL made.
    let mut a = Session::open(&source, "pglcr_a");
    a.in_transaction(
        &source,
        "BEGIN; INSERT INTO t (id, v) VALUES (200, 'A before the DDL');",
    );
    let ddl = "ALTER TABLE c ADD COLUMN extra int DEFAULT 5;
TRUNCATE u;";
    source.cluster.psql_script(ddl);
    target.psql_script(ddl);
    decode_and_apply(&source, sp, &target);
    a.finish("INSERT INTO c (id, label) VALUES (2, 'A after the DDL'); UPDATE t SET v = 'A' WHERE id = 1; COMMIT;");
    // The target gets each DDL once what came before it in the stream is applied.
    decode_and_apply(&source, sp, &target);
    let ddl = "ALTER TABLE t DROP COLUMN n;";
    source.cluster.psql_script(ddl);
    target.psql_script(ddl);
    source.cluster.psql_script(
        "INSERT INTO u VALUES (3, 'after truncate', 3); UPDATE t SET v = 'last' WHERE id = 2;",
    );
    decode_and_apply(&source, sp, &target);

    for table in ["t", "u", "c"] {
        assert_eq!(
            table_text(&target, table),
            table_text(&source.cluster, table),
            "table {table}"
        );
    }
    assert!(table_text(&target, "c").contains("A after the DDL"));
    target.stop();
    source.cluster.stop();
}
