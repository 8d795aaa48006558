//! Seeding a target under the exported snapshot: schema with pg_dump and psql, rows with
//! COPY (parallel per table), sequence values, then the apply position.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use postgres::Client;

use super::{CopyProgress, InitError, Notice};
use crate::pgconn::{self, ConnParams};

pub use crate::apply::ProgressMode;

/// What to copy: BDR's synchronize_structure choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyMode {
    pub schema: bool,
    pub data: bool,
}

impl Default for CopyMode {
    fn default() -> Self {
        CopyMode {
            schema: true,
            data: true,
        }
    }
}

/// The marker of an unfinished init, and the progress table exactly as `pglcr apply` creates
/// it (so that either may come first).
const MARKER_SQL: &str = "
CREATE SCHEMA IF NOT EXISTS pglcr;
CREATE TABLE IF NOT EXISTS pglcr.init_state (
    origin text PRIMARY KEY,
    source_system_identifier text NOT NULL,
    consistent_point pg_lsn NOT NULL,
    -- 0: no schema restored yet, 1: pg_dump's pre-data section (tables), 2: also post-data
    -- (indexes, constraints, triggers)
    schema_step int NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now()
);
";

const PROGRESS_TABLE_SQL: &str = "
CREATE SCHEMA IF NOT EXISTS pglcr;
CREATE TABLE IF NOT EXISTS pglcr.apply_progress (
    origin text PRIMARY KEY,
    remote_lsn pg_lsn NOT NULL,
    remote_commit_time timestamptz
);
";

/// Everything the seeding needs from the source side.
pub(super) struct Job<'a> {
    pub source: &'a ConnParams,
    pub source_target: &'a pgconn::Target,
    pub snapshot: &'a str,
    pub server_version_num: u32,
    pub tables: &'a [String],
    pub copy: CopyMode,
    pub jobs: usize,
    pub origin: &'a str,
    pub system_identifier: &'a str,
    pub consistent_point: crate::wal::lsn::Lsn,
    pub pg_bindir: Option<&'a Path>,
    /// Where the schema script is kept while psql runs.
    pub spool: &'a Path,
}

#[derive(Debug, Default)]
pub(super) struct Copied {
    pub tables: u64,
    pub rows: u64,
    pub bytes: u64,
    pub sequences: u64,
    pub schema_copied: bool,
    pub restarted: bool,
}

/// A table to copy.
#[derive(Clone, Debug)]
struct Table {
    /// Quoted and schema-qualified.
    name: String,
    size: i64,
}

pub(super) struct Target {
    client: Client,
    params: ConnParams,
    target: pgconn::Target,
}

fn target_err(e: postgres::Error) -> InitError {
    InitError::Target(pgconn::error_text(&e))
}

fn source_err(e: postgres::Error) -> InitError {
    InitError::Source(pgconn::error_text(&e))
}

/// A libpq connection string for pg_dump and psql, for the server `target` of `params`
/// (password through the environment, never on a command line).
fn libpq_command(program: PathBuf, params: &ConnParams, target: &pgconn::Target) -> Command {
    let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut parts = Vec::new();
    if let Some(h) = &target.host {
        parts.push(format!("host={}", quote(h)));
    }
    if let Some(a) = target.hostaddr {
        parts.push(format!("hostaddr={}", quote(&a.to_string())));
    }
    parts.push(format!("port={}", target.port));
    parts.push(format!("user={}", quote(&params.user)));
    parts.push(format!("dbname={}", quote(&params.dbname)));
    parts.push(format!(
        "application_name={}",
        quote(&params.application_name)
    ));
    parts.push(format!("sslmode={}", quote(&params.sslmode)));
    if let Some(o) = &params.options {
        parts.push(format!("options={}", quote(o)));
    }
    if let Some(f) = &params.passfile {
        parts.push(format!("passfile={}", quote(&f.to_string_lossy())));
    }
    let mut cmd = Command::new(program);
    if let Some(p) = &params.password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.arg("-d").arg(parts.join(" "));
    cmd
}

/// A PostgreSQL client program: from `bindir`, else that of the source's major version as
/// Debian installs it, else from the PATH.
fn program(bindir: Option<&Path>, server_version_num: u32, name: &str) -> PathBuf {
    if let Some(dir) = bindir {
        return dir.join(name);
    }
    let debian = PathBuf::from(format!(
        "/usr/lib/postgresql/{}/bin/{name}",
        server_version_num / 10000
    ));
    if debian.is_file() {
        debian
    } else {
        PathBuf::from(name)
    }
}

fn run_program(mut cmd: Command, input: Option<Vec<u8>>) -> Result<Vec<u8>, InitError> {
    let name = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| InitError::Program {
        program: name.clone(),
        message: format!("could not start: {e}"),
    })?;
    let writer = input.map(|bytes| {
        let mut stdin = child.stdin.take().expect("piped stdin");
        std::thread::spawn(move || stdin.write_all(&bytes))
    });
    let out = child.wait_with_output().map_err(|e| InitError::Program {
        program: name.clone(),
        message: e.to_string(),
    })?;
    let written = writer.map(|w| w.join().expect("stdin writer does not panic"));
    if !out.status.success() {
        return Err(InitError::Program {
            program: name,
            message: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    if let Some(Err(e)) = written {
        return Err(InitError::Program {
            program: name,
            message: format!("could not write its input: {e}"),
        });
    }
    Ok(out.stdout)
}

/// A source connection inside a transaction that uses the exported snapshot.
fn snapshot_client(job: &Job<'_>) -> Result<Client, InitError> {
    let (mut c, _) = job.source.connect()?;
    c.batch_execute(&format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{}'",
        job.snapshot.replace('\'', "''")
    ))
    .map_err(source_err)?;
    Ok(c)
}

const USER_TABLES: &str = "c.relkind = 'r' AND c.relpersistence = 'p' \
     AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pglcr') \
     AND n.nspname NOT LIKE 'pg\\_%' \
     AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
                     AND d.objid = c.oid AND d.deptype = 'e')";

/// The tables to copy, as the snapshot sees them, largest first; and the names pg_dump is
/// given (the requested tables and the partitions copied for them).
fn list_tables(
    src: &mut Client,
    wanted: &[String],
) -> Result<(Vec<Table>, Vec<String>), InitError> {
    let rows = if wanted.is_empty() {
        src.query(
            &format!(
                "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), \
                 pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE {USER_TABLES} ORDER BY 2 DESC, 1"
            ),
            &[],
        )
    } else {
        src.query(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), \
             pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' AND c.oid IN (SELECT t.relid FROM unnest($1::text[]::regclass[]) r, \
             pg_partition_tree(r) t WHERE t.isleaf) ORDER BY 2 DESC, 1",
            &[&wanted],
        )
    }
    .map_err(source_err)?;
    let tables: Vec<Table> = rows
        .iter()
        .map(|r| Table {
            name: r.get(0),
            size: r.get(1),
        })
        .collect();
    let mut dump_names: Vec<String> = Vec::new();
    if !wanted.is_empty() {
        let given = src
            .query(
                "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.oid = ANY($1::text[]::regclass[]::oid[])",
                &[&wanted],
            )
            .map_err(source_err)?;
        dump_names.extend(given.iter().map(|r| r.get::<_, String>(0)));
        dump_names.extend(tables.iter().map(|t| t.name.clone()));
        dump_names.sort();
        dump_names.dedup();
    }
    Ok((tables, dump_names))
}

/// Sequences that belong with the copied tables and their values (sequences are not
/// transactional: this is their value now, never less than at the snapshot).
fn list_sequences(
    src: &mut Client,
    wanted: &[String],
) -> Result<Vec<(String, Option<i64>)>, InitError> {
    let rows = if wanted.is_empty() {
        src.query(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value \
             FROM pg_sequences WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'pglcr') \
             ORDER BY 1",
            &[],
        )
    } else {
        src.query(
            "SELECT quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename), s.last_value \
             FROM pg_sequences s WHERE (quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename))::regclass IN \
             (SELECT d.objid FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
              AND d.deptype IN ('a', 'i') AND d.refobjid IN (SELECT t.relid FROM \
              unnest($1::text[]::regclass[]) r, pg_partition_tree(r) t)) ORDER BY 1",
            &[&wanted],
        )
    }
    .map_err(source_err)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

impl Target {
    pub(super) fn connect(params: &ConnParams) -> Result<Target, InitError> {
        let (client, target) = params.connect()?;
        Ok(Target {
            client,
            params: params.clone(),
            target,
        })
    }

    /// The unfinished init recorded on the target for `origin`: how far its schema is.
    fn marker(&mut self, origin: &str) -> Result<Option<i32>, InitError> {
        let exists: bool = self
            .client
            .query_one("SELECT to_regclass('pglcr.init_state') IS NOT NULL", &[])
            .map_err(target_err)?
            .get(0);
        if !exists {
            return Ok(None);
        }
        Ok(self
            .client
            .query_opt(
                "SELECT schema_step FROM pglcr.init_state WHERE origin = $1",
                &[&origin],
            )
            .map_err(target_err)?
            .map(|r| r.get(0)))
    }

    /// The position recorded for `origin` when no init is unfinished there.
    pub(super) fn finished_at(
        &mut self,
        origin: &str,
    ) -> Result<Option<crate::wal::lsn::Lsn>, InitError> {
        if self.marker(origin)?.is_some() {
            return Ok(None);
        }
        let has_table: bool = self
            .client
            .query_one(
                "SELECT to_regclass('pglcr.apply_progress') IS NOT NULL",
                &[],
            )
            .map_err(target_err)?
            .get(0);
        let sql = if has_table {
            "SELECT remote_lsn::text FROM pg_replication_origin_status WHERE external_id = $1 \
             UNION ALL SELECT remote_lsn::text FROM pglcr.apply_progress WHERE origin = $1"
        } else {
            "SELECT remote_lsn::text FROM pg_replication_origin_status WHERE external_id = $1"
        };
        let row = self.client.query(sql, &[&origin]).map_err(target_err)?;
        Ok(row
            .first()
            .and_then(|r| r.get::<_, Option<String>>(0))
            .and_then(|s| s.parse().ok()))
    }

    /// Refuses a target that already follows the source: pglcr apply ran there, or an init
    /// completed.
    fn refuse_followed(&mut self, origin: &str) -> Result<(), InitError> {
        let row = self
            .client
            .query_one(
                "SELECT EXISTS (SELECT FROM pg_replication_origin WHERE roname = $1), \
                        to_regclass('pglcr.apply_progress') IS NOT NULL",
                &[&origin],
            )
            .map_err(target_err)?;
        let (has_origin, has_table): (bool, bool) = (row.get(0), row.get(1));
        let has_row = has_table
            && self
                .client
                .query_opt(
                    "SELECT FROM pglcr.apply_progress WHERE origin = $1",
                    &[&origin],
                )
                .map_err(target_err)?
                .is_some();
        if has_origin || has_row {
            return Err(InitError::Target(format!(
                "the target already follows this source: {} \"{origin}\" exists, from pglcr \
                 apply or a completed pglcr init. pglcr init seeds new targets only: use an \
                 empty database (or drop the origin with pg_replication_origin_drop and the \
                 row in pglcr.apply_progress, and empty the tables, to start over)",
                if has_origin {
                    "replication origin"
                } else {
                    "progress row"
                }
            )));
        }
        Ok(())
    }

    pub(super) fn seed(
        &mut self,
        job: &Job<'_>,
        progress: &CopyProgress,
        notify: &mut dyn FnMut(Notice),
    ) -> Result<Copied, InitError> {
        let mut copied = Copied::default();
        let marker = self.marker(job.origin)?;
        match marker {
            Some(_) => {
                copied.restarted = true;
                notify(Notice::Step(
                    "the target holds an unfinished pglcr init (pglcr.init_state): starting over"
                        .into(),
                ));
            }
            None => self.refuse_followed(job.origin)?,
        }
        // Written first, removed last: until then the target is visibly incomplete.
        self.client.batch_execute(MARKER_SQL).map_err(target_err)?;
        self.client
            .execute(
                "INSERT INTO pglcr.init_state (origin, source_system_identifier, consistent_point) \
                 VALUES ($1, $2, $3::text::pg_lsn) ON CONFLICT (origin) DO UPDATE SET \
                 consistent_point = excluded.consistent_point, started_at = now()",
                &[
                    &job.origin,
                    &job.system_identifier,
                    &job.consistent_point.to_string(),
                ],
            )
            .map_err(target_err)?;

        let mut src = snapshot_client(job)?;
        let (tables, dump_names) = list_tables(&mut src, job.tables)?;

        // As pg_restore does: tables first, indexes and constraints once the rows are in.
        let step = marker.unwrap_or(0);
        if job.copy.schema && step < 1 {
            notify(Notice::Step(
                "copying the schema: tables (pg_dump --section=pre-data)".into(),
            ));
            self.restore_section(job, &dump_names, "pre-data", 1)?;
            copied.schema_copied = true;
        }

        if job.copy.data {
            let sequences = list_sequences(&mut src, job.tables)?;
            if !tables.is_empty() {
                // The rows of an interrupted attempt (or any the target had) go first.
                let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
                self.client
                    .batch_execute(&format!("TRUNCATE {}", names.join(", ")))
                    .map_err(target_err)?;
            }
            notify(Notice::Step(format!(
                "copying {} tables with {} jobs",
                tables.len(),
                job.jobs.min(tables.len()).max(1)
            )));
            progress
                .tables_total
                .store(tables.len() as u64, Ordering::Relaxed);
            progress.bytes_total.store(
                tables.iter().map(|t| t.size.max(0) as u64).sum(),
                Ordering::Relaxed,
            );
            let (rows, bytes) = copy_tables(&self.params, job, tables.clone(), progress)?;
            copied.tables = tables.len() as u64;
            copied.rows = rows;
            copied.bytes = bytes;
            for (name, value) in &sequences {
                if let Some(v) = value {
                    self.client
                        .execute("SELECT setval($1::text::regclass, $2, true)", &[name, v])
                        .map_err(target_err)?;
                }
            }
            copied.sequences = sequences.len() as u64;
        }
        if job.copy.schema && step < 2 {
            notify(Notice::Step(
                "copying the schema: indexes and constraints (pg_dump --section=post-data)".into(),
            ));
            self.restore_section(job, &dump_names, "post-data", 2)?;
            copied.schema_copied = true;
        }
        src.batch_execute("COMMIT").map_err(source_err)?;
        Ok(copied)
    }

    /// Restores one section of the source's schema (pg_dump under the snapshot) in one
    /// transaction that also records `step` in the marker, so a rerun never restores it twice.
    fn restore_section(
        &mut self,
        job: &Job<'_>,
        dump_names: &[String],
        section: &str,
        step: i32,
    ) -> Result<(), InitError> {
        let mut dump = libpq_command(
            program(job.pg_bindir, job.server_version_num, "pg_dump"),
            job.source,
            job.source_target,
        );
        dump.args([
            "--schema-only",
            "--no-publications",
            "--no-subscriptions",
            "--exclude-schema=pglcr",
        ])
        .arg(format!("--section={section}"))
        .arg(format!("--snapshot={}", job.snapshot));
        for t in dump_names {
            dump.arg("-t").arg(t);
        }
        let mut script = run_program(dump, None)?;
        script.extend_from_slice(
            format!(
                "\nUPDATE pglcr.init_state SET schema_step = {step} WHERE origin = '{}';\n",
                job.origin.replace('\'', "''")
            )
            .as_bytes(),
        );
        // From a file, not a pipe: were pglcr killed while writing a pipe, psql would run the
        // truncated script and commit part of the schema. The temporary name is one a decode
        // run cleans up.
        let file = crate::durable::temp_file_for(&job.spool.join("schema.sql"), 0o600)
            .and_then(|mut f| f.write_all(&script).map(|_| f))
            .map_err(|source| InitError::Io {
                what: "could not write the schema script in",
                path: job.spool.to_path_buf(),
                source,
            })?;
        let mut restore = libpq_command(
            program(job.pg_bindir, job.server_version_num, "psql"),
            &self.params,
            &self.target,
        );
        restore
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--single-transaction",
                "-f",
            ])
            .arg(file.path());
        run_program(restore, None)?;
        Ok(())
    }

    /// Records the apply position (the consistent point) as `pglcr apply` reads it, then
    /// removes the marker: from then on the target is ready.
    pub(super) fn finish(
        &mut self,
        origin: &str,
        mode: Option<ProgressMode>,
        consistent_point: crate::wal::lsn::Lsn,
    ) -> Result<ProgressMode, InitError> {
        let mode = match mode {
            Some(m) => m,
            None => {
                let may: bool = self
                    .client
                    .query_one(
                        "SELECT has_function_privilege('pg_replication_origin_session_setup(text)', 'EXECUTE')",
                        &[],
                    )
                    .map_err(target_err)?
                    .get(0);
                if may {
                    ProgressMode::Origin
                } else {
                    ProgressMode::Table
                }
            }
        };
        let lsn = consistent_point.to_string();
        let mut tx = self.client.transaction().map_err(target_err)?;
        match mode {
            ProgressMode::Origin => {
                tx.execute(
                    "SELECT pg_replication_origin_create($1) WHERE NOT EXISTS \
                     (SELECT FROM pg_replication_origin WHERE roname = $1)",
                    &[&origin],
                )
                .map_err(target_err)?;
                // Not transactional, and allowed to move back: a rerun after a kill between
                // here and the commit below sets it again.
                tx.execute(
                    "SELECT pg_replication_origin_advance($1, $2::text::pg_lsn)",
                    &[&origin, &lsn],
                )
                .map_err(target_err)?;
            }
            ProgressMode::Table => {
                tx.batch_execute(PROGRESS_TABLE_SQL).map_err(target_err)?;
                tx.execute(
                    "INSERT INTO pglcr.apply_progress (origin, remote_lsn) VALUES ($1, $2::text::pg_lsn) \
                     ON CONFLICT (origin) DO UPDATE SET remote_lsn = excluded.remote_lsn, \
                     remote_commit_time = NULL",
                    &[&origin, &lsn],
                )
                .map_err(target_err)?;
            }
        }
        tx.execute("DELETE FROM pglcr.init_state WHERE origin = $1", &[&origin])
            .map_err(target_err)?;
        tx.commit().map_err(target_err)?;
        Ok(mode)
    }
}

/// Copies the tables with `jobs` workers, each with its own source connection in the
/// snapshot and its own target connection; one target transaction per table.
fn copy_tables(
    target: &ConnParams,
    job: &Job<'_>,
    tables: Vec<Table>,
    progress: &CopyProgress,
) -> Result<(u64, u64), InitError> {
    let queue = Mutex::new(VecDeque::from(tables));
    let failed = AtomicBool::new(false);
    let workers = job.jobs.min(queue.lock().expect("not poisoned").len());
    let results: Vec<Result<(u64, u64), InitError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let r = copy_worker(target, job, &queue, &failed, progress);
                    if r.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    r
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("copy worker does not panic"))
            .collect()
    });
    let mut total = (0, 0);
    for r in results {
        let (rows, bytes) = r?;
        total.0 += rows;
        total.1 += bytes;
    }
    Ok(total)
}

fn copy_worker(
    target: &ConnParams,
    job: &Job<'_>,
    queue: &Mutex<VecDeque<Table>>,
    failed: &AtomicBool,
    progress: &CopyProgress,
) -> Result<(u64, u64), InitError> {
    let mut src = snapshot_client(job)?;
    let (mut dst, _) = target.connect()?;
    // As pg_restore --disable-triggers and logical replication's table sync: no triggers,
    // no foreign-key checks while tables fill in any order.
    dst.batch_execute("SET session_replication_role = replica")
        .map_err(target_err)?;
    let mut total = (0u64, 0u64);
    loop {
        if failed.load(Ordering::Relaxed) {
            break;
        }
        let Some(table) = queue.lock().expect("not poisoned").pop_front() else {
            break;
        };
        let (rows, bytes) = copy_table(&mut src, &mut dst, &table.name, progress)?;
        total.0 += rows;
        total.1 += bytes;
        progress.tables_done.fetch_add(1, Ordering::Relaxed);
    }
    src.batch_execute("COMMIT").map_err(source_err)?;
    Ok(total)
}

/// Streams one table from the source's COPY TO into the target's COPY FROM, in one target
/// transaction. Text format: portable across server versions, and one line per row, which
/// counts rows as they pass.
fn copy_table(
    src: &mut Client,
    dst: &mut Client,
    name: &str,
    progress: &CopyProgress,
) -> Result<(u64, u64), InitError> {
    let mut tx = dst.transaction().map_err(target_err)?;
    let mut writer = tx
        .copy_in(&format!("COPY {name} FROM STDIN"))
        .map_err(target_err)?;
    let mut reader = src
        .copy_out(&format!("COPY {name} TO STDOUT"))
        .map_err(source_err)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| InitError::Source(format!("COPY {name} TO STDOUT: {e}")))?;
        if n == 0 {
            break;
        }
        writer
            .write_all(&buf[..n])
            .map_err(|e| InitError::Target(format!("COPY {name} FROM STDIN: {e}")))?;
        bytes += n as u64;
        let lines = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        progress.rows.fetch_add(lines, Ordering::Relaxed);
        progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }
    drop(reader);
    let rows = writer.finish().map_err(target_err)?;
    tx.commit().map_err(target_err)?;
    Ok((rows, bytes))
}
