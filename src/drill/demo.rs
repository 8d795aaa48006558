//! `pglcr drill --demo`: the whole pipeline on throwaway clusters, with nothing but PostgreSQL
//! installed. A source cluster (wal_level=logical, archive_command = `pglcr archive`) and a
//! target cluster are created in a temporary directory, the pipeline is started with
//! `pglcr init` (which seeds the target), a pgbench workload runs next to one that writes
//! many data types and TOASTed values, and the drill decodes, ships to a directory, applies,
//! compares and reports. Everything is removed afterwards unless asked to keep it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::init;
use crate::pgconn::{ConnOptions, ConnParams};

#[derive(Debug, thiserror::Error)]
#[error("drill demo: {0}")]
pub struct DemoError(String);

fn fail(what: impl std::fmt::Display) -> DemoError {
    DemoError(what.to_string())
}

#[derive(Clone, Debug)]
pub struct DemoRequest {
    /// Directory of initdb, pg_ctl and pgbench (default: the newest PostgreSQL under
    /// /usr/lib/postgresql, else the PATH).
    pub pg_bindir: Option<PathBuf>,
    /// How long the workload runs.
    pub workload: Duration,
    /// Keep the clusters' directory (it is printed) instead of removing it.
    pub keep: bool,
    pub group_commit: usize,
}

/// Where the demo ran, for the operator to look at when kept.
pub struct DemoRun {
    pub report: super::Report,
    pub dir: Option<PathBuf>,
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn default_bindir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let major: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

struct Tools {
    bindir: Option<PathBuf>,
}

impl Tools {
    /// A PostgreSQL program, run as the `postgres` user when we are root (the server refuses
    /// to run as root, and its files must belong to the user it runs as).
    fn command(&self, program: &str) -> Command {
        let path = match &self.bindir {
            Some(dir) => dir.join(program),
            None => PathBuf::from(program),
        };
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, what: &str, cmd: &mut Command) -> Result<(), DemoError> {
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| fail(format!("could not run {what}: {e}")))?;
        if !out.status.success() {
            return Err(fail(format!(
                "{what} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(())
    }
}

struct Cluster {
    data: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    running: bool,
}

impl Cluster {
    fn params(&self, dbname: &str) -> Result<ConnParams, DemoError> {
        ConnParams::resolve(&ConnOptions {
            dbname: Some(dbname.to_string()),
            host: Some(self.socket_dir.display().to_string()),
            port: Some(self.port.to_string()),
            user: Some("postgres".to_string()),
        })
        .map_err(fail)
    }

    fn client(&self, dbname: &str) -> Result<postgres::Client, DemoError> {
        let (client, _) = self.params(dbname)?.connect().map_err(fail)?;
        Ok(client)
    }
}

/// The clusters of one demo; dropping it stops them and, unless kept, removes their files.
struct Demo {
    tools: Tools,
    dir: Option<tempfile::TempDir>,
    clusters: Vec<Cluster>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        for c in self.clusters.iter().filter(|c| c.running) {
            let _ = self
                .tools
                .command("pg_ctl")
                .args(["-w", "-m", "immediate", "-D"])
                .arg(&c.data)
                .arg("stop")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A port number nobody listens on; the servers listen only on their unix socket, named after
/// the port, so two clusters need two numbers.
fn free_port() -> Result<u16, DemoError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| fail(format!("no free port: {e}")))?;
    Ok(l.local_addr().map_err(fail)?.port())
}

impl Demo {
    fn root(&self) -> &Path {
        self.dir.as_ref().expect("demo directory").path()
    }

    fn create_cluster(
        &mut self,
        name: &'static str,
        settings: &[(&str, String)],
    ) -> Result<usize, DemoError> {
        let data = self.root().join(name);
        self.tools.run(
            &format!("initdb ({name})"),
            self.tools
                .command("initdb")
                .args([
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                    "--wal-segsize=1",
                    "-D",
                ])
                .arg(&data),
        )?;
        let port = free_port()?;
        let mut opts = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c port={port} \
             -c fsync=off -c max_wal_senders=4 -c max_replication_slots=4",
            self.root().display()
        );
        for (k, v) in settings {
            opts.push_str(&format!(" -c {k}={v}"));
        }
        self.tools.run(
            &format!("pg_ctl start ({name})"),
            self.tools
                .command("pg_ctl")
                .args(["-w", "-D"])
                .arg(&data)
                .arg("-l")
                .arg(self.root().join(format!("{name}.log")))
                .args(["-o", &opts, "start"]),
        )?;
        self.clusters.push(Cluster {
            data,
            socket_dir: self.root().to_path_buf(),
            port,
            running: true,
        });
        Ok(self.clusters.len() - 1)
    }

    fn pgbench(&self, c: &Cluster, args: &[&str]) -> Command {
        let mut cmd = self.tools.command("pgbench");
        cmd.arg("-h")
            .arg(&c.socket_dir)
            .args(["-p", &c.port.to_string(), "-U", "postgres"])
            .args(args)
            .arg("demo");
        cmd
    }
}

/// Tables with the data types a DBA's schema has, and values large enough to be TOASTed.
const TYPES_SCHEMA: &str = "
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE demo_types (
    id bigserial PRIMARY KEY, small smallint, num numeric(14,4), real8 float8, label text,
    code varchar(16), flag boolean, day date, at timestamp, at_tz timestamptz, span interval,
    uid uuid, doc jsonb, ints int[], raw bytea, feeling mood, addr inet
);
CREATE TABLE demo_toast (id int PRIMARY KEY, body text, note text);
";

/// One round of the typed workload: inserts, updates (some touching the TOASTed column, some
/// leaving it unchanged) and deletes, as separate transactions.
const TYPES_ROUND: &str = "
INSERT INTO demo_types (small, num, real8, label, code, flag, day, at, at_tz, span, uid, doc,
                        ints, raw, feeling, addr)
SELECT (random() * 1000)::int, (random() * 1e6)::numeric(14,4), random() * 1e3,
       'label ' || g || ' ' || md5(random()::text), substr(md5(g::text), 1, 16), g % 2 = 0,
       date '2026-01-01' + g, timestamp '2026-01-01 12:00' + g * interval '1 minute',
       now() - g * interval '1 second', g * interval '1 hour 2 minutes',
       md5(g::text || random()::text)::uuid,
       jsonb_build_object('g', g, 'tags', jsonb_build_array('a', 'b', g)),
       ARRAY[g, g * 2, g * 3], decode(md5(g::text), 'hex'),
       (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::mood, ('10.0.' || g % 256 || '.1')::inet
FROM generate_series(1, 20) g;
UPDATE demo_types SET num = num + 1, label = label || '+', doc = doc || '{\"seen\": true}'
WHERE id % 7 = 0 AND id > (SELECT max(id) - 40 FROM demo_types);
DELETE FROM demo_types WHERE id % 11 = 0 AND id > (SELECT max(id) - 40 FROM demo_types);
INSERT INTO demo_toast (id, body, note)
SELECT coalesce(max(id), 0) + 1,
       (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 2000)), 'new'
FROM demo_toast;
UPDATE demo_toast SET note = 'touched ' || id WHERE id % 3 = 0;
UPDATE demo_toast SET body = body || md5(random()::text) WHERE id % 5 = 1;
";

/// Runs the demo and its drill.
pub fn run(req: &DemoRequest, step: &mut dyn FnMut(&str)) -> Result<DemoRun, DemoError> {
    let started = Instant::now();
    let tools = Tools {
        bindir: req.pg_bindir.clone().or_else(default_bindir),
    };
    let dir = tempfile::Builder::new()
        .prefix("pglcr-drill-demo-")
        .tempdir()
        .map_err(|e| fail(format!("could not create a temporary directory: {e}")))?;
    if is_root() {
        let status = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path())
            .status()
            .map_err(|e| fail(format!("could not run chown: {e}")))?;
        if !status.success() {
            return Err(fail(
                "could not give the demo directory to the postgres user (does it exist?)",
            ));
        }
    }
    let mut demo = Demo {
        tools,
        dir: Some(dir),
        clusters: Vec::new(),
    };
    let root = demo.root().to_path_buf();
    let archive = root.join("wal-archive");
    let spool = root.join("spool");
    let standby_lcr = root.join("standby-lcr");
    for d in [&archive, &standby_lcr] {
        std::fs::create_dir(d).map_err(|e| fail(format!("{}: {e}", d.display())))?;
    }
    if is_root() {
        // The archiver runs as the server's user.
        demo.tools.run(
            "chown",
            Command::new("chown").arg("postgres:postgres").arg(&archive),
        )?;
    }
    let pglcr = std::env::current_exe().map_err(fail)?;

    step("creating the source cluster (wal_level=logical, archive_command = pglcr archive)");
    let archive_command = format!(
        "'\"{}\" archive %p %f --to \"{}\"'",
        pglcr.display(),
        archive.display()
    );
    let source = demo.create_cluster(
        "source",
        &[
            ("wal_level", "logical".into()),
            ("archive_mode", "on".into()),
            ("archive_command", archive_command),
        ],
    )?;
    step("creating the target cluster");
    let target = demo.create_cluster("target", &[])?;
    for i in [source, target] {
        demo.clusters[i]
            .client("postgres")?
            .batch_execute("CREATE DATABASE demo")
            .map_err(fail)?;
    }

    step("loading the source: pgbench -i -s 1 and tables of many types");
    let src = &demo.clusters[source];
    demo.tools.run(
        "pgbench -i",
        &mut demo.pgbench(src, &["-i", "-s", "1", "-q"]),
    )?;
    let mut src_client = src.client("demo")?;
    src_client
        .batch_execute(TYPES_SCHEMA)
        .and_then(|()| src_client.batch_execute(TYPES_ROUND))
        .map_err(fail)?;

    step("pglcr init: consistent point, catalog, spool, schema and data copied to the target");
    let source_params = src.params("demo")?;
    let target_params = demo.clusters[target].params("demo")?;
    init::run(
        &init::Request {
            source: source_params.clone(),
            spool: spool.clone(),
            target: Some(target_params.clone()),
            tables: Vec::new(),
            copy: init::CopyMode::default(),
            jobs: 2,
            origin: None,
            progress: None,
            pg_bindir: demo.tools.bindir.clone(),
        },
        &init::CopyProgress::default(),
        &mut |_| {},
    )
    .map_err(fail)?;

    step(&format!(
        "workload: pgbench -c 2 for {} s, and typed/TOAST transactions",
        req.workload.as_secs()
    ));
    let secs = req.workload.as_secs().max(1).to_string();
    let bench: Child = demo
        .pgbench(src, &["-c", "2", "-T", &secs, "-n"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("could not run pgbench: {e}")))?;
    let until = Instant::now() + req.workload;
    while Instant::now() < until {
        src_client.batch_execute(TYPES_ROUND).map_err(fail)?;
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = bench.wait_with_output().map_err(fail)?;
    if !out.status.success() {
        return Err(fail(format!(
            "pgbench failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }

    step("switching WAL and waiting for the archiver");
    let row = src_client
        .query_one("SELECT pg_walfile_name(pg_switch_wal())", &[])
        .map_err(fail)?;
    let last: String = row.get(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let row = src_client
            .query_one(
                "SELECT coalesce(last_archived_wal, ''), coalesce(last_failed_wal, '') \
                 FROM pg_stat_archiver",
                &[],
            )
            .map_err(fail)?;
        let (archived, failed): (String, String) = (row.get(0), row.get(1));
        if archived.len() == 24 && archived >= last {
            break;
        }
        if Instant::now() > deadline {
            return Err(fail(format!(
                "the archiver did not archive {last} within 60 s (last archived: {archived:?}, \
                 last failed: {failed:?}; see {})",
                root.join("source.log").display()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(src_client);

    let drill = super::Request {
        source: source_params,
        wal: archive,
        spool,
        ship_to: standby_lcr.display().to_string(),
        apply_from: None,
        target: target_params,
        until: None,
        compare_with: None,
        tables: Vec::new(),
        max_memory: 256 << 20,
        group_commit: req.group_commit,
    };
    let mut report = super::run(&drill, step);
    report.seconds = started.elapsed().as_secs_f64();
    let kept = if req.keep {
        let dir = demo.dir.take().expect("demo directory").keep();
        Some(dir)
    } else {
        None
    };
    if kept.is_some() {
        // Left running for a look; the operator stops them (the directory names them).
        for c in &mut demo.clusters {
            c.running = false;
        }
    }
    Ok(DemoRun { report, dir: kept })
}
