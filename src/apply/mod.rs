//! `pglcr apply`: replays LCR files into a target database, each source transaction once.
//!
//! Progress is recorded in the target transaction that applies the source transaction: with a
//! replication origin (`pg_replication_origin_xact_setup` with the source commit's end LSN and
//! time, which also marks the changes with the origin, so that decoding the target with
//! `only-local` leaves them out), or, for a role that may not use origins, in the table
//! `pglcr.apply_progress`. A crash anywhere leaves either the whole transaction and its
//! progress, or neither.

mod batch;
mod conflict;
mod filter;
pub mod stream;

pub use conflict::{
    ConflictConfig, DeleteMissing, InsertExists, Policies, UpdateMissing, UpdateOriginDiffers,
    POLICY_HELP,
};
pub use filter::TableFilter;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use postgres::types::Type;
use postgres::Client;
use rustc_hash::FxHashMap;

use crate::lcr::format::{Datum, Frame, RelationInfo, COL_KEY};
use crate::pgconn::{self, ConnError, ConnParams};
use crate::wal::lsn::Lsn;
use stream::{SourceTxn, StreamError, TxnStream};

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_UNIX_US: i64 = 946_684_800_000_000;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Connect(#[from] ConnError),
    #[error("target: {0}")]
    Target(String),
    #[error(transparent)]
    Stream(#[from] StreamError),
    #[error("the target holds an unfinished pglcr init for origin \"{origin}\" (started {started}; a row in pglcr.init_state): its tables may be partly copied. Run the same pglcr init again to finish it, then apply")]
    InitUnfinished { origin: String, started: String },
    /// A deadlock or serialization failure: the target transaction is tried again.
    #[error(transparent)]
    Retryable(Box<ApplyError>),
    #[error("applying source transaction {xid} (commit {commit_lsn}) from \"{}\"{}: {message}", .file.display(), .relation.as_deref().map(|r| format!(", relation {r}")).unwrap_or_default())]
    Change {
        file: PathBuf,
        xid: u32,
        commit_lsn: Lsn,
        relation: Option<String>,
        message: String,
    },
}

/// How progress is kept on the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// A replication origin (needs the right to use origins: superuser, or EXECUTE granted).
    Origin,
    /// The table `pglcr.apply_progress` (changes are not marked with an origin).
    Table,
}

/// Where to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// Apply transactions committed at or before this LSN.
    Lsn(Lsn),
    /// Apply transactions committed at or before this time (µs since 2000-01-01 UTC).
    Time(i64),
}

#[derive(Clone, Debug)]
pub struct Request {
    pub from: PathBuf,
    pub target: ConnParams,
    /// The replication origin (or progress row) name; default `pglcr_<sysid>_<dboid>`.
    pub origin: Option<String>,
    pub progress: Option<ProgressMode>,
    /// The default conflict policies (`--on-conflict`).
    pub policies: Policies,
    /// Per-table policies (`--conflict-config`).
    pub conflict_config: ConflictConfig,
    pub until: Option<Until>,
    /// Apply a transaction only once its source commit is this old (`--apply-delay`).
    pub apply_delay: Option<std::time::Duration>,
    /// Wait for new files at the end of the files, until asked to stop (`--follow`).
    pub follow: bool,
    /// How often `--follow` looks for new files.
    pub poll_interval: std::time::Duration,
    /// Source transactions per target transaction.
    pub group_commit: usize,
    /// Print the SQL instead of running it.
    pub dry_run: bool,
    /// The relations to apply (`--tables`, `--exclude-tables`).
    pub tables: TableFilter,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counters {
    pub commits: u64,
    pub inserts: u64,
    pub updates: u64,
    pub deletes: u64,
    pub truncates: u64,
    pub insert_conflicts: u64,
    pub update_conflicts: u64,
    pub delete_conflicts: u64,
    pub retries: u64,
    /// Updates and deletes of tables without replica identity key, reported and skipped.
    pub unkeyed: u64,
}

#[derive(Debug, Default)]
pub struct Summary {
    pub origin: String,
    pub mode: Option<ProgressMode>,
    /// The position before and after the run (end LSN of the last source commit applied).
    pub from: Lsn,
    pub to: Lsn,
    pub counters: Counters,
    pub last_commit_time: Option<i64>,
    pub stopped: Option<Stopped>,
}

/// Why a run stopped before the end of the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// At the first transaction past `--until`.
    Until,
    /// At the first transaction younger than `--apply-delay`, committed at this time (µs since
    /// 2000-01-01 UTC).
    Delay(i64),
    /// Asked to by SIGTERM or SIGINT.
    Signal,
}

/// The SQL that sets up pglcr's objects on the target.
const SETUP_SQL: &str = "
CREATE SCHEMA IF NOT EXISTS pglcr;
CREATE TABLE IF NOT EXISTS pglcr.apply_progress (
    origin text PRIMARY KEY,
    remote_lsn pg_lsn NOT NULL,
    remote_commit_time timestamptz
);
CREATE TABLE IF NOT EXISTS pglcr.conflicts (
    id bigserial PRIMARY KEY,
    logged_at timestamptz NOT NULL DEFAULT now(),
    origin text NOT NULL,
    source_xid bigint NOT NULL,
    commit_lsn pg_lsn NOT NULL,
    commit_time timestamptz,
    relation text NOT NULL,
    kind text NOT NULL,
    resolution text NOT NULL,
    key jsonb,
    local_row jsonb,
    remote_row jsonb
);
CREATE TABLE IF NOT EXISTS pglcr.apply_stats (
    origin text PRIMARY KEY,
    commits bigint NOT NULL DEFAULT 0,
    inserts bigint NOT NULL DEFAULT 0,
    updates bigint NOT NULL DEFAULT 0,
    deletes bigint NOT NULL DEFAULT 0,
    truncates bigint NOT NULL DEFAULT 0,
    insert_conflicts bigint NOT NULL DEFAULT 0,
    update_conflicts bigint NOT NULL DEFAULT 0,
    delete_conflicts bigint NOT NULL DEFAULT 0,
    retries bigint NOT NULL DEFAULT 0,
    unkeyed bigint NOT NULL DEFAULT 0,
    last_remote_lsn pg_lsn,
    last_remote_commit_time timestamptz,
    updated_at timestamptz
);
DO $do$ BEGIN
    IF to_regprocedure('pglcr.expect_rows(bigint, bigint)') IS NULL THEN
        -- The fast path's check that a set statement touched each of its rows once.
        CREATE FUNCTION pglcr.expect_rows(touched bigint, expected bigint) RETURNS void
        LANGUAGE plpgsql AS $fn$
        BEGIN
            IF touched <> expected THEN
                RAISE EXCEPTION 'pglcr: a set statement touched % rows of %', touched, expected;
            END IF;
        END
        $fn$;
    END IF;
    IF to_regprocedure('pglcr.expect_rows(bigint[], bigint[])') IS NULL THEN
        -- The same for the set statements of a target transaction run as one statement.
        CREATE FUNCTION pglcr.expect_rows(touched bigint[], expected bigint[]) RETURNS void
        LANGUAGE plpgsql AS $fn$
        BEGIN
            IF touched IS DISTINCT FROM expected THEN
                RAISE EXCEPTION 'pglcr: set statements touched % rows of %', touched, expected;
            END IF;
        END
        $fn$;
    END IF;
END $do$;
";

fn target_error(e: &postgres::Error) -> ApplyError {
    retry_if_transient(e, ApplyError::Target(pgconn::error_text(e)))
}

/// Marks `err`, made from `e`, as retryable when the server reported a deadlock or a
/// serialization failure (by SQLSTATE: the message text depends on lc_messages).
fn retry_if_transient(e: &postgres::Error, err: ApplyError) -> ApplyError {
    use postgres::error::SqlState;
    match e.code() {
        Some(c)
            if *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::T_R_SERIALIZATION_FAILURE =>
        {
            ApplyError::Retryable(Box::new(err))
        }
        _ => err,
    }
}

/// `"schema"."name"`: always quoted, which every PostgreSQL version reads the same way.
fn qualified(r: &RelationInfo) -> String {
    format!("{}.{}", quote(&r.namespace), quote(&r.name))
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn text(d: &Datum) -> Option<&str> {
    match d {
        Datum::Text(b) => std::str::from_utf8(b).ok(),
        _ => None,
    }
}

/// A prepared statement's shape: relation, operation, and which columns it sets and matches.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct StatementKey {
    rel: u32,
    op: u8,
    set: Vec<bool>,
    by: Vec<bool>,
}

/// One change as SQL with text parameters.
struct Sql {
    key: StatementKey,
    sql: String,
    params: Vec<Option<String>>,
}

/// Builds the SQL of row changes. Values travel as text and are cast to the column's type on
/// the target (its input function reads what the source's output function printed).
fn insert_sql(rel: &RelationInfo, new: &[Datum], on_conflict_nothing: bool) -> Result<Sql, String> {
    let set: Vec<bool> = new
        .iter()
        .map(|d| !matches!(d, Datum::UnchangedToast))
        .collect();
    let mut sql = format!("INSERT INTO {} (", qualified(rel));
    let mut values = String::new();
    let mut params = Vec::new();
    for ((col, d), _) in rel.columns.iter().zip(new).zip(&set).filter(|(_, s)| **s) {
        if !params.is_empty() {
            sql.push_str(", ");
            values.push_str(", ");
        }
        sql.push_str(&quote(&col.name));
        params.push(text(d).map(str::to_string));
        let _ = write!(values, "${}::{}", params.len(), col.type_name);
    }
    if params.len() != set.iter().filter(|s| **s).count() {
        return Err("a value the source did not log (unchanged TOAST) cannot be inserted".into());
    }
    let _ = write!(sql, ") VALUES ({values})");
    if on_conflict_nothing {
        sql.push_str(" ON CONFLICT DO NOTHING");
    }
    Ok(Sql {
        key: StatementKey {
            rel: rel.oid,
            op: if on_conflict_nothing { b'i' } else { b'I' },
            set,
            by: Vec::new(),
        },
        sql,
        params,
    })
}

/// The columns identifying a row: the replica identity key, or every column for FULL.
fn identity(rel: &RelationInfo) -> Vec<bool> {
    rel.columns
        .iter()
        .map(|c| rel.replica_identity == b'f' || c.flags & COL_KEY != 0)
        .collect()
}

/// ` WHERE k1 = $n::t AND …` over the identity columns of `row`.
/// Statement parameters as the postgres crate takes them.
fn sql_params<T: postgres::types::ToSql + Sync>(
    params: &[T],
) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| p as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

fn push_where(
    sql: &mut String,
    rel: &RelationInfo,
    row: &[Datum],
    by: &[bool],
    params: &mut Vec<Option<String>>,
) {
    let mut first = true;
    for ((col, d), _) in rel.columns.iter().zip(row).zip(by).filter(|(_, b)| **b) {
        sql.push_str(if first { " WHERE " } else { " AND " });
        first = false;
        params.push(text(d).map(str::to_string));
        // FULL identity compares every column, NULLs included.
        let op = if rel.replica_identity == b'f' {
            "IS NOT DISTINCT FROM"
        } else {
            "="
        };
        let _ = write!(
            sql,
            "{} {op} ${}::{}",
            quote(&col.name),
            params.len(),
            col.type_name
        );
    }
}

fn update_sql(rel: &RelationInfo, key_row: &[Datum], new: &[Datum]) -> Sql {
    let set: Vec<bool> = new
        .iter()
        .map(|d| !matches!(d, Datum::UnchangedToast))
        .collect();
    let by = identity(rel);
    let mut sql = format!("UPDATE ONLY {} SET ", qualified(rel));
    let mut params = Vec::new();
    for ((col, d), _) in rel.columns.iter().zip(new).zip(&set).filter(|(_, s)| **s) {
        if !params.is_empty() {
            sql.push_str(", ");
        }
        params.push(text(d).map(str::to_string));
        let _ = write!(
            sql,
            "{} = ${}::{}",
            quote(&col.name),
            params.len(),
            col.type_name
        );
    }
    push_where(&mut sql, rel, key_row, &by, &mut params);
    Sql {
        key: StatementKey {
            rel: rel.oid,
            op: b'U',
            set,
            by,
        },
        sql,
        params,
    }
}

fn delete_sql(rel: &RelationInfo, old: &[Datum]) -> Sql {
    let by = identity(rel);
    let mut sql = format!("DELETE FROM ONLY {}", qualified(rel));
    let mut params = Vec::new();
    push_where(&mut sql, rel, old, &by, &mut params);
    Sql {
        key: StatementKey {
            rel: rel.oid,
            op: b'D',
            set: Vec::new(),
            by,
        },
        sql,
        params,
    }
}

/// A row as JSON (column name to text), for the conflict log.
fn row_json(rel: &RelationInfo, row: &[Datum], only: Option<&[bool]>) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (i, (col, d)) in rel.columns.iter().zip(row).enumerate() {
        if only.is_some_and(|o| !o[i]) {
            continue;
        }
        let v = match d {
            Datum::Null => serde_json::Value::Null,
            Datum::UnchangedToast => serde_json::json!({"unchanged_toast": true}),
            Datum::Text(b) => serde_json::Value::String(String::from_utf8_lossy(b).into_owned()),
        };
        m.insert(col.name.clone(), v);
    }
    serde_json::Value::Object(m)
}

/// A conflict met while applying, with what was done about it.
struct Conflict {
    relation: String,
    kind: &'static str,
    resolution: &'static str,
    key: serde_json::Value,
    local: Option<serde_json::Value>,
    remote: Option<serde_json::Value>,
}

struct Applier {
    client: Client,
    origin: String,
    mode: ProgressMode,
    defaults: Policies,
    conflict_config: ConflictConfig,
    /// The policies of each relation met, from the two above.
    policies: FxHashMap<u32, Policies>,
    /// This target's name in last-update-wins ties, as a source it would be named by default
    /// (`pglcr_<system id>_<database oid>`); the rows it wrote itself carry no origin.
    node: String,
    statements: HashMap<StatementKey, postgres::Statement>,
    counters: Counters,
    /// Counters not yet in `pglcr.apply_stats`.
    unwritten: Counters,
    /// Names of the SQL-level prepared statements of the batched path.
    prepared: HashMap<StatementKey, String>,
    /// The same for the set statements of a one-level plan run as one statement, by their
    /// shapes in order.
    folded: HashMap<Vec<StatementKey>, String>,
    /// Shapes of inserts whose table and columns the target was seen to have, which may
    /// therefore go by COPY.
    copy_checked: std::collections::HashSet<StatementKey>,
    stats_written: std::time::Instant,
}

const STATS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// A row of the target as last-update-wins compares it.
struct LocalVersion {
    row: serde_json::Value,
    /// Written by the target transaction open now (an earlier change of the same group).
    ours: bool,
    /// Its commit time (µs since 2000-01-01), when the target recorded one.
    commit_time: Option<i64>,
    /// The replication origin that wrote it; empty when written on the target itself.
    origin: String,
}

impl Applier {
    fn policies(&mut self, rel: &RelationInfo) -> Policies {
        *self
            .policies
            .entry(rel.oid)
            .or_insert_with(|| self.conflict_config.policies_for(self.defaults, rel))
    }

    /// The target's row with the key of `row`, locked, with the commit time and origin of
    /// the transaction that wrote it.
    fn local_version(
        &mut self,
        rel: &RelationInfo,
        row: &[Datum],
    ) -> Result<Option<LocalVersion>, postgres::Error> {
        let by = identity(rel);
        let mut sql = format!(
            "SELECT to_jsonb(t)::text, age(t.xmin) = 0, \
             ((extract(epoch FROM c.timestamp) - 946684800) * 1000000)::bigint, \
             coalesce((SELECT roname FROM pg_replication_origin WHERE roident = c.roident), '') \
             FROM ONLY {} t, pg_xact_commit_timestamp_origin(t.xmin) c",
            qualified(rel)
        );
        let mut params = Vec::new();
        push_where(&mut sql, rel, row, &by, &mut params);
        sql.push_str(" LIMIT 1 FOR UPDATE OF t");
        let types = vec![Type::TEXT; params.len()];
        let stmt = self.client.prepare_typed(&sql, &types)?;
        let refs = sql_params(&params);
        Ok(self.client.query_opt(&stmt, &refs)?.map(|r| LocalVersion {
            row: r
                .get::<_, Option<String>>(0)
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default(),
            ours: r.get(1),
            commit_time: r.get(2),
            origin: r.get(3),
        }))
    }

    /// Whether `txn`'s change replaces `local` under last update wins.
    fn remote_wins(&self, local: &LocalVersion, txn: &SourceTxn) -> bool {
        let local_node = if local.origin.is_empty() {
            &self.node
        } else {
            &local.origin
        };
        conflict::remote_wins(
            local.commit_time,
            local_node,
            txn.begin.commit_time,
            &self.origin,
        )
    }

    /// Runs a change statement, prepared once per shape; returns the rows it touched.
    fn execute(&mut self, s: &Sql) -> Result<u64, postgres::Error> {
        let stmt = match self.statements.get(&s.key) {
            Some(st) => st.clone(),
            None => {
                let types = vec![Type::TEXT; s.params.len()];
                let st = self.client.prepare_typed(&s.sql, &types)?;
                self.statements.insert(s.key.clone(), st.clone());
                st
            }
        };
        self.client.execute(&stmt, &sql_params(&s.params))
    }

    /// The target's row with the key of `row`, for the conflict log.
    fn local_row(
        &mut self,
        rel: &RelationInfo,
        row: &[Datum],
    ) -> Result<Option<serde_json::Value>, postgres::Error> {
        let by = identity(rel);
        let mut sql = format!("SELECT to_jsonb(t)::text FROM ONLY {} t", qualified(rel));
        let mut params = Vec::new();
        push_where(&mut sql, rel, row, &by, &mut params);
        sql.push_str(" LIMIT 1");
        let types = vec![Type::TEXT; params.len()];
        let stmt = self.client.prepare_typed(&sql, &types)?;
        let refs = sql_params(&params);
        let rows = self.client.query(&stmt, &refs)?;
        Ok(rows
            .first()
            .and_then(|r| r.get::<_, Option<String>>(0))
            .and_then(|t| serde_json::from_str(&t).ok()))
    }

    fn log_conflict(&mut self, txn: &SourceTxn, c: &Conflict) -> Result<(), postgres::Error> {
        let key = c.key.to_string();
        let local = c.local.as_ref().map(|v| v.to_string());
        let remote = c.remote.as_ref().map(|v| v.to_string());
        self.client.execute(
            "INSERT INTO pglcr.conflicts (origin, source_xid, commit_lsn, commit_time, relation, \
             kind, resolution, key, local_row, remote_row) VALUES ($1, $2, $3::text::pg_lsn, \
             to_timestamp($4::float8), $5, $6, $7, $8::text::jsonb, $9::text::jsonb, \
             $10::text::jsonb)",
            &[
                &self.origin,
                &i64::from(txn.begin.xid),
                &txn.begin.commit_lsn.to_string(),
                &unix_seconds(txn.begin.commit_time),
                &c.relation,
                &c.kind,
                &c.resolution,
                &key,
                &local,
                &remote,
            ],
        )?;
        Ok(())
    }

    /// Applies one source transaction's changes inside the open target transaction.
    fn apply_changes(
        &mut self,
        txn: &SourceTxn,
        relations: &FxHashMap<u32, RelationInfo>,
    ) -> Result<(), ApplyError> {
        for change in &txn.changes {
            self.apply_change(txn, change, relations)?;
        }
        Ok(())
    }

    fn apply_change(
        &mut self,
        txn: &SourceTxn,
        change: &Frame,
        relations: &FxHashMap<u32, RelationInfo>,
    ) -> Result<(), ApplyError> {
        let fail = |relation: Option<&RelationInfo>, message: String| ApplyError::Change {
            file: txn.file.clone(),
            xid: txn.begin.xid,
            commit_lsn: txn.begin.commit_lsn,
            relation: relation.map(qualified),
            message,
        };
        let rel_of = |oid: u32| {
            relations.get(&oid).ok_or_else(|| {
                fail(
                    None,
                    format!("relation {oid} is not described in the LCR files"),
                )
            })
        };
        let db = |rel: &RelationInfo, row: &[Datum], e: postgres::Error| {
            let err = fail(
                Some(rel),
                format!(
                    "{}; row {}",
                    pgconn::error_text(&e),
                    row_json(rel, row, None)
                ),
            );
            retry_if_transient(&e, err)
        };
        match change {
            Frame::Insert { rel, new, .. } => {
                let rel = rel_of(*rel)?;
                let sql = insert_sql(rel, new, true).map_err(|m| fail(Some(rel), m))?;
                let n = self.execute(&sql).map_err(|e| db(rel, new, e))?;
                self.counters.inserts += 1;
                if n == 0 {
                    self.counters.insert_conflicts += 1;
                    let by = identity(rel);
                    let policy = self.policies(rel).insert_exists;
                    let (local, remote_wins) = if policy == InsertExists::LastUpdateWins {
                        match self.local_version(rel, new).map_err(|e| db(rel, new, e))? {
                            Some(v) => (Some(v.row.clone()), Some(self.remote_wins(&v, txn))),
                            None => (None, None),
                        }
                    } else {
                        let local = self.local_row(rel, new).map_err(|e| db(rel, new, e))?;
                        (local, None)
                    };
                    let resolution = match policy {
                        // The insert met a unique index other than the identity: no row to
                        // compare with.
                        InsertExists::LastUpdateWins if remote_wins.is_none() => {
                            return Err(fail(
                                Some(rel),
                                format!(
                                    "insert_exists: the row {} conflicts with a row of another key on the target; last_update_wins compares rows of the same key only",
                                    row_json(rel, new, None)
                                ),
                            ))
                        }
                        InsertExists::LastUpdateWins if remote_wins == Some(true) => {
                            let sql = update_sql(rel, new, new);
                            self.execute(&sql).map_err(|e| db(rel, new, e))?;
                            "apply_remote"
                        }
                        InsertExists::LastUpdateWins => "keep_local",
                        InsertExists::Error => {
                            return Err(fail(
                                Some(rel),
                                format!(
                                    "insert_exists: a row with key {} exists on the target (local row {}); --on-conflict insert_exists=skip or =update resolves it",
                                    row_json(rel, new, Some(&by)),
                                    local.clone().unwrap_or(serde_json::Value::Null)
                                ),
                            ))
                        }
                        InsertExists::Skip => "skip",
                        InsertExists::Update => {
                            let sql = update_sql(rel, new, new);
                            self.execute(&sql).map_err(|e| db(rel, new, e))?;
                            "update"
                        }
                    };
                    self.log_conflict(
                        txn,
                        &Conflict {
                            relation: qualified(rel),
                            kind: "insert_exists",
                            resolution,
                            key: row_json(rel, new, Some(&by)),
                            local,
                            remote: Some(row_json(rel, new, None)),
                        },
                    )
                    .map_err(|e| db(rel, new, e))?;
                }
            }
            Frame::Update { rel, old, new, .. } => {
                let rel = rel_of(*rel)?;
                let Some(new) = new else {
                    return Ok(());
                };
                let by = identity(rel);
                if !by.iter().any(|b| *b) {
                    self.counters.unkeyed += 1;
                    return self.unkeyed(txn, rel, "update", new);
                }
                let key_row = old.as_deref().unwrap_or(new);
                let policies = self.policies(rel);
                if policies.update_origin_differs == UpdateOriginDiffers::LastUpdateWins {
                    let local = self
                        .local_version(rel, key_row)
                        .map_err(|e| db(rel, new, e))?;
                    if let Some(v) = local.filter(|v| !v.ours && v.origin != self.origin) {
                        self.counters.updates += 1;
                        self.counters.update_conflicts += 1;
                        let resolution = if self.remote_wins(&v, txn) {
                            let sql = update_sql(rel, key_row, new);
                            self.execute(&sql).map_err(|e| db(rel, new, e))?;
                            "apply_remote"
                        } else {
                            "keep_local"
                        };
                        return self
                            .log_conflict(
                                txn,
                                &Conflict {
                                    relation: qualified(rel),
                                    kind: "update_origin_differs",
                                    resolution,
                                    key: row_json(rel, key_row, Some(&by)),
                                    local: Some(v.row),
                                    remote: Some(row_json(rel, new, None)),
                                },
                            )
                            .map_err(|e| db(rel, new, e));
                    }
                }
                let sql = update_sql(rel, key_row, new);
                let n = self.execute(&sql).map_err(|e| db(rel, new, e))?;
                self.counters.updates += 1;
                if n == 0 {
                    self.counters.update_conflicts += 1;
                    let resolution = match policies.update_missing {
                        UpdateMissing::Error => {
                            return Err(fail(
                                Some(rel),
                                format!(
                                    "update_missing: no row with key {} on the target; --on-conflict update_missing=skip or =insert resolves it",
                                    row_json(rel, key_row, Some(&by))
                                ),
                            ))
                        }
                        UpdateMissing::Skip => "skip",
                        UpdateMissing::Insert => {
                            let sql = insert_sql(rel, new, false).map_err(|m| fail(Some(rel), m))?;
                            self.execute(&sql).map_err(|e| db(rel, new, e))?;
                            "insert"
                        }
                    };
                    self.log_conflict(
                        txn,
                        &Conflict {
                            relation: qualified(rel),
                            kind: "update_missing",
                            resolution,
                            key: row_json(rel, key_row, Some(&by)),
                            local: None,
                            remote: Some(row_json(rel, new, None)),
                        },
                    )
                    .map_err(|e| db(rel, new, e))?;
                }
            }
            Frame::Delete { rel, old, .. } => {
                let rel = rel_of(*rel)?;
                let by = identity(rel);
                let Some(old) = old.as_deref().filter(|_| by.iter().any(|b| *b)) else {
                    self.counters.unkeyed += 1;
                    return self.unkeyed(txn, rel, "delete", old.as_deref().unwrap_or(&[]));
                };
                let sql = delete_sql(rel, old);
                let n = self.execute(&sql).map_err(|e| db(rel, old, e))?;
                self.counters.deletes += 1;
                if n == 0 {
                    self.counters.delete_conflicts += 1;
                    if self.policies(rel).delete_missing == DeleteMissing::Error {
                        return Err(fail(
                            Some(rel),
                            format!(
                                "delete_missing: no row with key {} on the target; --on-conflict delete_missing=skip resolves it",
                                row_json(rel, old, Some(&by))
                            ),
                        ));
                    }
                    self.log_conflict(
                        txn,
                        &Conflict {
                            relation: qualified(rel),
                            kind: "delete_missing",
                            resolution: "skip",
                            key: row_json(rel, old, Some(&by)),
                            local: None,
                            remote: None,
                        },
                    )
                    .map_err(|e| db(rel, old, e))?;
                }
            }
            Frame::Truncate { rels, .. } => {
                let names = rels
                    .iter()
                    .map(|oid| rel_of(*oid).map(qualified))
                    .collect::<Result<Vec<_>, _>>()?;
                if names.is_empty() {
                    return Ok(());
                }
                self.client
                    .batch_execute(&truncate_sql(&names, change))
                    .map_err(|e| retry_if_transient(&e, fail(None, pgconn::error_text(&e))))?;
                self.counters.truncates += 1;
            }
            // Transactional messages carry nothing for tables.
            _ => {}
        }
        Ok(())
    }

    /// An UPDATE or DELETE of a table without a replica identity key cannot find its row: it
    /// is logged and left out, as PostgreSQL's publications refuse them.
    fn unkeyed(
        &mut self,
        txn: &SourceTxn,
        rel: &RelationInfo,
        what: &'static str,
        row: &[Datum],
    ) -> Result<(), ApplyError> {
        let c = Conflict {
            relation: qualified(rel),
            kind: if what == "update" {
                "update_without_key"
            } else {
                "delete_without_key"
            },
            resolution: "skip",
            key: serde_json::Value::Null,
            local: None,
            remote: (!row.is_empty()).then(|| row_json(rel, row, None)),
        };
        self.log_conflict(txn, &c).map_err(|e| ApplyError::Change {
            file: txn.file.clone(),
            xid: txn.begin.xid,
            commit_lsn: txn.begin.commit_lsn,
            relation: Some(qualified(rel)),
            message: pgconn::error_text(&e),
        })
    }

    /// The statements recording progress and statistics in the open target transaction.
    /// Statistics are written with the progress at most every [`STATS_EVERY`] (one hot row
    /// updated per source transaction would slow apply down), and at the end of a run; they
    /// are committed with the transactions they count.
    /// Returns the SQL and whether it writes the statistics; [`Applier::committed`] is to be
    /// called once it is committed.
    fn progress_sql(
        &self,
        last: &SourceTxn,
        delta: Option<&Counters>,
        position: bool,
    ) -> (String, bool) {
        let stats_due = delta.is_some() && self.stats_due();
        let lsn = literal(&last.begin.end_lsn.to_string());
        let time = unix_seconds(last.begin.commit_time);
        let origin = literal(&self.origin);
        let mut sql = match self.mode {
            _ if !position => String::new(),
            ProgressMode::Origin => format!(
                "SELECT pg_replication_origin_xact_setup({lsn}::pg_lsn, to_timestamp({time}));\n"
            ),
            ProgressMode::Table => format!(
                "INSERT INTO pglcr.apply_progress (origin, remote_lsn, remote_commit_time) \
                 VALUES ({origin}, {lsn}::pg_lsn, to_timestamp({time})) ON CONFLICT (origin) \
                 DO UPDATE SET remote_lsn = excluded.remote_lsn, \
                 remote_commit_time = excluded.remote_commit_time;\n"
            ),
        };
        if let Some(delta) = delta.filter(|_| stats_due) {
            let mut pending = self.unwritten.clone();
            add(&mut pending, delta);
            sql.push_str(&self.stats_sql(&pending, &last.begin.end_lsn.to_string(), time));
        }
        (sql, stats_due)
    }

    fn stats_due(&self) -> bool {
        self.stats_written.elapsed() >= STATS_EVERY
    }

    /// Accounts for the statistics of a committed target transaction.
    fn note_stats(&mut self, delta: &Counters, stats_written: bool) {
        if stats_written {
            self.unwritten = Counters::default();
            self.stats_written = std::time::Instant::now();
        } else {
            add(&mut self.unwritten, delta);
        }
    }

    /// The statement adding `delta` to `pglcr.apply_stats`.
    fn stats_sql(&self, delta: &Counters, remote_lsn: &str, remote_time: f64) -> String {
        let (origin, lsn, time) = (literal(&self.origin), literal(remote_lsn), remote_time);
        let mut sql = String::new();
        let _ = writeln!(
            sql,
            "INSERT INTO pglcr.apply_stats AS s (origin, commits, inserts, updates, deletes, \
             truncates, insert_conflicts, update_conflicts, delete_conflicts, retries, unkeyed, \
             last_remote_lsn, last_remote_commit_time, updated_at) VALUES ({origin}, {}, {}, {}, \
             {}, {}, {}, {}, {}, {}, {}, {lsn}::pg_lsn, to_timestamp({time}), now()) \
             ON CONFLICT (origin) DO UPDATE SET commits = s.commits + excluded.commits, \
             inserts = s.inserts + excluded.inserts, updates = s.updates + excluded.updates, \
             deletes = s.deletes + excluded.deletes, truncates = s.truncates + excluded.truncates, \
             insert_conflicts = s.insert_conflicts + excluded.insert_conflicts, \
             update_conflicts = s.update_conflicts + excluded.update_conflicts, \
             delete_conflicts = s.delete_conflicts + excluded.delete_conflicts, \
             retries = s.retries + excluded.retries, unkeyed = s.unkeyed + excluded.unkeyed, \
             last_remote_lsn = excluded.last_remote_lsn, \
             last_remote_commit_time = excluded.last_remote_commit_time, updated_at = now();",
            delta.commits,
            delta.inserts,
            delta.updates,
            delta.deletes,
            delta.truncates,
            delta.insert_conflicts,
            delta.update_conflicts,
            delta.delete_conflicts,
            delta.retries,
            delta.unkeyed,
        );
        sql
    }

    /// Writes counters still unwritten at the end of a run.
    fn flush_stats(&mut self, remote_lsn: Lsn, remote_time: i64) -> Result<(), ApplyError> {
        if self.unwritten == Counters::default() {
            return Ok(());
        }
        let sql = self.stats_sql(
            &self.unwritten,
            &remote_lsn.to_string(),
            unix_seconds(remote_time),
        );
        self.client
            .batch_execute(&sql)
            .map_err(|e| target_error(&e))?;
        self.unwritten = Counters::default();
        Ok(())
    }

    /// Waits until what was committed is on disk on the target (commits are asynchronous in
    /// origin mode): reading the origin's progress with flush does.
    fn make_durable(&mut self) -> Result<(), ApplyError> {
        if self.mode == ProgressMode::Origin {
            self.position()?;
        }
        Ok(())
    }

    /// Records progress and statistics in the open target transaction.
    fn record_progress(
        &mut self,
        last: &SourceTxn,
        delta: &Counters,
    ) -> Result<bool, postgres::Error> {
        let (sql, stats) = self.progress_sql(last, Some(delta), true);
        self.client.batch_execute(&sql)?;
        Ok(stats)
    }
    /// The fast path: the changes of many groups as set statements (see [`batch`]), each
    /// group a target transaction (`BEGIN; …; progress; COMMIT;`), all sent as one query:
    /// one round trip for all of them. A set statement that touches other than as many rows
    /// as it carries (a conflict) raises an error in `pglcr.expect_rows`; an error leaves the
    /// transaction block aborted, so nothing after it in the query runs, and the groups before
    /// it are committed. Returns how many groups were committed: the position recorded on the
    /// target says so after an error. Stops before a group that needs the per-statement path
    /// (no identity key, a relation not described, a conflict): the caller applies it.
    fn apply_groups_batched(
        &mut self,
        groups: &[Vec<SourceTxn>],
        relations: &FxHashMap<u32, RelationInfo>,
    ) -> Result<usize, ApplyError> {
        let (mut out, mut prepare) = (Outgoing::default(), String::new());
        let mut deltas = Vec::with_capacity(groups.len());
        let mut total = Counters::default();
        let mut stats_in_sql = false;
        for group in groups {
            let mut checked = |rel: &RelationInfo| {
                self.policies(rel).update_origin_differs == UpdateOriginDiffers::LastUpdateWins
            };
            let Some((plan, delta)) = plan_group(group, relations, &mut checked) else {
                break;
            };
            out.sql.push_str("BEGIN;\n");
            let last = group.last().expect("non-empty group");
            let one_level = if plan.copies() {
                Err(plan)
            } else {
                plan.into_one_level()
            };
            let position_written = match one_level {
                Ok(statements) => {
                    self.push_folded(&mut out.sql, &mut prepare, &statements, last, relations)
                }
                Err(plan) => {
                    for step in plan.into_steps() {
                        self.push_step(&mut out, &mut prepare, step, relations);
                    }
                    false
                }
            };
            add(&mut total, &delta);
            // Statistics, when due, are written by the last group with those of them all.
            let is_last = deltas.len() + 1 == groups.len();
            let (progress, stats) =
                self.progress_sql(last, is_last.then_some(&total), !position_written);
            stats_in_sql |= stats;
            out.sql.push_str(&progress);
            out.sql.push_str("COMMIT;\n");
            deltas.push(delta);
        }
        if deltas.is_empty() {
            return Ok(0);
        }
        // A statement prepared in a query keeps that query's text, which each EXECUTE copies:
        // new statements are prepared in a query of their own.
        let sent = if prepare.is_empty() {
            Ok(())
        } else {
            self.client.batch_execute(&prepare)
        };
        let committed = match sent.and_then(|()| out.send(&mut self.client)) {
            Ok(()) => deltas.len(),
            Err(e) => {
                let _ = self.client.batch_execute("ROLLBACK; DEALLOCATE ALL");
                // DEALLOCATE ALL drops the per-statement path's statements too.
                self.prepared.clear();
                self.folded.clear();
                self.statements.clear();
                if e.code().is_some_and(|c| c.code().starts_with("08")) || self.client.is_closed() {
                    return Err(target_error(&e));
                }
                let position = self.position()?;
                groups[..deltas.len()]
                    .iter()
                    .take_while(|g| g.last().is_some_and(|t| t.begin.end_lsn <= position))
                    .count()
            }
        };
        let stats_written = committed == deltas.len() && stats_in_sql;
        for delta in &deltas[..committed] {
            add(&mut self.counters, delta);
            add(&mut self.unwritten, delta);
        }
        if stats_written {
            self.note_stats(&Counters::default(), true);
        }
        Ok(committed)
    }

    /// Whether the target has the table and columns of an insert statement, for COPY: a
    /// COPY that fails as it starts leaves the client library out of step with the server
    /// (it ends the failed exchange twice), so only one that can start is sent. The insert is
    /// parsed, which is where a missing table or column shows; the set statement it stands
    /// for then fails the same way and is applied change by change, naming the row.
    fn may_copy(
        &mut self,
        statement: &batch::SetStatement,
        relations: &FxHashMap<u32, RelationInfo>,
    ) -> bool {
        if self.copy_checked.contains(&statement.key) {
            return true;
        }
        let types = vec![Type::TEXT_ARRAY; statement.columns.len()];
        let parsed = self
            .client
            .prepare_typed(&statement.sql(&relations[&statement.key.rel]), &types)
            .is_ok();
        if parsed {
            self.copy_checked.insert(statement.key.clone());
        }
        parsed
    }

    /// Appends one step of a plan to `sql`: a set statement with its check; its PREPARE, on
    /// first use, to `prepare`.
    fn push_step(
        &mut self,
        out: &mut Outgoing,
        prepare: &mut String,
        step: batch::Step,
        relations: &FxHashMap<u32, RelationInfo>,
    ) {
        let statement = match step {
            batch::Step::Raw(raw) => {
                out.sql.push_str(&raw);
                out.sql.push_str(";\n");
                return;
            }
            batch::Step::Set(s) if s.copies() && self.may_copy(&s, relations) => {
                out.copy(s.copy_sql(&relations[&s.key.rel]), s.copy_data(), s.rows);
                return;
            }
            batch::Step::Set(s) => s,
        };
        let sql = &mut out.sql;
        // Named prepared statements skip parsing and planning per execution; PREPARE is not
        // transactional, so a failed query forgets them all (see above). A statement of one
        // row takes plain values (another shape), planned as a one-row lookup.
        let single = statement.rows == 1;
        let mut key = statement.key.clone();
        if single {
            key.op = key.op.to_ascii_lowercase();
        }
        let next_id = self.prepared.len() + self.folded.len();
        let name = match self.prepared.get(&key) {
            Some(name) => name.clone(),
            None => {
                let name = format!("pglcr_{next_id}");
                let n = statement.columns.len();
                let _ = writeln!(
                    prepare,
                    "PREPARE {name} ({}bigint) AS WITH pglcr_w AS ({} RETURNING 1) \
                     SELECT pglcr.expect_rows(count(*), ${}) FROM pglcr_w;",
                    if single { "text, " } else { "text[], " }.repeat(n),
                    statement.sql(&relations[&statement.key.rel]),
                    n + 1
                );
                self.prepared.insert(key, name.clone());
                name
            }
        };
        sql.push_str("EXECUTE ");
        sql.push_str(&name);
        sql.push('(');
        push_arguments(sql, &statement);
        let _ = writeln!(sql, "{});", statement.rows);
    }

    /// Appends the set statements of a one-level plan as one statement: its data-modifying
    /// WITH queries share a snapshot, which is right as they touch different rows (the plan
    /// puts each key once in a level). One check covers what each touched, and in origin
    /// mode the statement records the progress too: one statement per target transaction
    /// instead of one per shape, each with its own start-up, plus the progress's. Returns
    /// whether the statement records the progress.
    fn push_folded(
        &mut self,
        sql: &mut String,
        prepare: &mut String,
        statements: &[batch::SetStatement],
        last: &SourceTxn,
        relations: &FxHashMap<u32, RelationInfo>,
    ) -> bool {
        let with_position = self.mode == ProgressMode::Origin;
        let shapes: Vec<StatementKey> = statements
            .iter()
            .map(|s| {
                let mut key = s.key.clone();
                if s.rows == 1 {
                    key.op = key.op.to_ascii_lowercase();
                }
                key
            })
            .collect();
        let next_id = self.prepared.len() + self.folded.len();
        let name = match self.folded.get(&shapes) {
            Some(name) => name.clone(),
            None => {
                let name = format!("pglcr_{next_id}");
                let (mut types, mut body, mut n) = (String::new(), String::new(), 0);
                for (i, s) in statements.iter().enumerate() {
                    let single = s.rows == 1;
                    let text = s.sql(&relations[&s.key.rel]);
                    let _ = write!(
                        body,
                        "{}pglcr_w{i} AS ({} RETURNING 1)",
                        if i > 0 { ", " } else { "WITH " },
                        shift_params(&text, n)
                    );
                    types.push_str(
                        &if single { "text, " } else { "text[], " }.repeat(s.columns.len()),
                    );
                    n += s.columns.len();
                }
                body.push_str(" SELECT ");
                if with_position {
                    let _ = write!(
                        body,
                        "pg_replication_origin_xact_setup(${}::pg_lsn, to_timestamp(${}::float8)), ",
                        n + 1,
                        n + 2
                    );
                    types.push_str("text, text, ");
                    n += 2;
                }
                let counts: Vec<String> = (0..statements.len())
                    .map(|i| format!("(SELECT count(*) FROM pglcr_w{i})"))
                    .collect();
                let _ = writeln!(
                    prepare,
                    "PREPARE {name} ({types}bigint[]) AS {body}pglcr.expect_rows(ARRAY[{}], ${});",
                    counts.join(", "),
                    n + 1
                );
                self.folded.insert(shapes, name.clone());
                name
            }
        };
        sql.push_str("EXECUTE ");
        sql.push_str(&name);
        sql.push('(');
        for s in statements {
            push_arguments(sql, s);
        }
        if with_position {
            let _ = write!(
                sql,
                "{}, '{}', ",
                literal(&last.begin.end_lsn.to_string()),
                unix_seconds(last.begin.commit_time)
            );
        }
        let rows: Vec<String> = statements.iter().map(|s| s.rows.to_string()).collect();
        let _ = writeln!(sql, "'{{{}}}');", rows.join(","));
        with_position
    }

    /// The position recorded on the target: the end LSN of the last source commit applied.
    fn position(&mut self) -> Result<Lsn, ApplyError> {
        read_position(&mut self.client, self.mode, &self.origin)
    }
}

/// What the fast path sends: SQL text, in which runs of many inserted rows go by COPY.
#[derive(Default)]
struct Outgoing {
    /// What goes before `sql`, in order.
    before: Vec<Piece>,
    sql: String,
}

enum Piece {
    Sql(String),
    Copy {
        statement: String,
        data: Vec<u8>,
        rows: u64,
    },
}

impl Outgoing {
    /// Ends the SQL so far and adds a COPY of `rows` rows after it.
    fn copy(&mut self, statement: String, data: Vec<u8>, rows: u64) {
        let sql = std::mem::take(&mut self.sql);
        if !sql.is_empty() {
            self.before.push(Piece::Sql(sql));
        }
        self.before.push(Piece::Copy {
            statement,
            data,
            rows,
        });
    }

    /// Sends it all; stops at the first error. A COPY that loads other than its rows is an
    /// error too (raised on the target, so that its transaction is rolled back).
    fn send(self, client: &mut Client) -> Result<(), postgres::Error> {
        for piece in self.before {
            match piece {
                Piece::Sql(sql) => client.batch_execute(&sql)?,
                Piece::Copy {
                    statement,
                    data,
                    rows,
                } => {
                    let loaded = copy_in(client, &statement, &data)?;
                    if loaded != rows {
                        client.batch_execute(&format!(
                            "SELECT pglcr.expect_rows({loaded}, {rows})"
                        ))?;
                    }
                }
            }
        }
        client.batch_execute(&self.sql)
    }
}

/// Runs `COPY … FROM STDIN` with `data`, in messages of 1 MiB; returns the rows loaded.
fn copy_in(client: &mut Client, statement: &str, data: &[u8]) -> Result<u64, postgres::Error> {
    use std::io::Write as _;
    let mut writer = client.copy_in(statement)?;
    for chunk in data.chunks(1 << 20) {
        if let Err(e) = writer.write_all(chunk) {
            // The writer wraps the target's error; give it back as it was.
            match e
                .into_inner()
                .map(|inner| inner.downcast::<postgres::Error>())
            {
                Some(Ok(e)) => return Err(*e),
                // A failed write leaves the copy failed: finishing it reports why.
                _ => break,
            }
        }
    }
    writer.finish()
}

/// The set statements of a group and what they count, or `None` when a change needs the
/// per-statement path (as updates of the relations `checked` names do: last update wins).
fn plan_group<'a>(
    group: &'a [SourceTxn],
    relations: &FxHashMap<u32, RelationInfo>,
    checked: &mut dyn FnMut(&RelationInfo) -> bool,
) -> Option<(batch::Plan<'a>, Counters)> {
    let mut plan = batch::Plan::default();
    let mut delta = Counters::default();
    for txn in group {
        for change in &txn.changes {
            match change {
                Frame::Insert { rel, new, .. } => {
                    plan.insert(relations.get(rel)?, new).ok()?;
                    delta.inserts += 1;
                }
                Frame::Update { new: None, .. } => {}
                Frame::Update {
                    rel,
                    old,
                    new: Some(new),
                    ..
                } => {
                    let rel = relations.get(rel)?;
                    if checked(rel) {
                        return None;
                    }
                    plan.update(rel, old.as_deref(), new).ok()?;
                    delta.updates += 1;
                }
                Frame::Delete {
                    rel,
                    old: Some(old),
                    ..
                } => {
                    plan.delete(relations.get(rel)?, old).ok()?;
                    delta.deletes += 1;
                }
                Frame::Delete { .. } => return None,
                Frame::Truncate { rels, .. } => {
                    let names = rels
                        .iter()
                        .map(|oid| relations.get(oid).map(qualified))
                        .collect::<Option<Vec<_>>>()?;
                    if !names.is_empty() {
                        plan.barrier(truncate_sql(&names, change));
                        delta.truncates += 1;
                    }
                }
                _ => {}
            }
        }
        delta.commits += 1;
    }
    Some((plan, delta))
}

fn add(a: &mut Counters, d: &Counters) {
    a.commits += d.commits;
    a.inserts += d.inserts;
    a.updates += d.updates;
    a.deletes += d.deletes;
    a.truncates += d.truncates;
    a.insert_conflicts += d.insert_conflicts;
    a.update_conflicts += d.update_conflicts;
    a.delete_conflicts += d.delete_conflicts;
    a.retries += d.retries;
    a.unkeyed += d.unkeyed;
}

/// Appends the values of a set statement as arguments of its EXECUTE, each followed by `, `:
/// texts for a statement of one row, text arrays otherwise.
fn push_arguments(sql: &mut String, statement: &batch::SetStatement) {
    for column in &statement.columns {
        if statement.rows == 1 {
            match column[0] {
                Some(v) => sql.push_str(&literal(v)),
                None => sql.push_str("NULL"),
            }
        } else {
            batch::push_text_array(sql, column);
        }
        sql.push_str(", ");
    }
}

/// `sql` with its parameters `$n` renumbered `$(n + by)`; `$` inside double-quoted
/// identifiers is left alone (the generated statements hold no string literals).
fn shift_params(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '"' {
            quoted = !quoted;
        }
        if c != '$' || quoted {
            continue;
        }
        let digits: String = std::iter::from_fn(|| chars.next_if(char::is_ascii_digit)).collect();
        match digits.parse::<usize>() {
            Ok(n) => {
                let _ = write!(out, "{}", n + by);
            }
            Err(_) => out.push_str(&digits),
        }
    }
    out
}

/// A string literal (standard_conforming_strings is on for the session).
fn literal(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// `TRUNCATE ONLY a, b [RESTART IDENTITY] [CASCADE]` for a TRUNCATE frame.
fn truncate_sql(names: &[String], frame: &Frame) -> String {
    let mut sql = format!("TRUNCATE ONLY {}", names.join(", "));
    if let Frame::Truncate {
        cascade,
        restart_seqs,
        ..
    } = frame
    {
        if *restart_seqs {
            sql.push_str(" RESTART IDENTITY");
        }
        if *cascade {
            sql.push_str(" CASCADE");
        }
    }
    sql
}

fn unix_seconds(pg_us: i64) -> f64 {
    (pg_us + PG_EPOCH_UNIX_US) as f64 / 1e6
}

fn sub(a: &Counters, b: &Counters) -> Counters {
    Counters {
        commits: a.commits - b.commits,
        inserts: a.inserts - b.inserts,
        updates: a.updates - b.updates,
        deletes: a.deletes - b.deletes,
        truncates: a.truncates - b.truncates,
        insert_conflicts: a.insert_conflicts - b.insert_conflicts,
        update_conflicts: a.update_conflicts - b.update_conflicts,
        delete_conflicts: a.delete_conflicts - b.delete_conflicts,
        retries: a.retries - b.retries,
        unkeyed: a.unkeyed - b.unkeyed,
    }
}

/// The origin name when none is given: one per source system and database.
fn default_origin(dir: &std::path::Path) -> Result<Option<String>, ApplyError> {
    let files = crate::lcr::list_dir(dir).map_err(|source| {
        ApplyError::Stream(StreamError::List {
            dir: dir.to_path_buf(),
            source,
        })
    })?;
    let Some((_, path)) = files.first() else {
        return Ok(None);
    };
    let f = crate::lcr::LcrFile::open(path).map_err(StreamError::from)?;
    Ok(Some(format!(
        "pglcr_{}_{}",
        f.header.system_identifier, f.header.database_oid
    )))
}

fn past_until(until: Option<Until>, txn: &SourceTxn) -> bool {
    match until {
        Some(Until::Lsn(l)) => txn.begin.commit_lsn > l,
        Some(Until::Time(t)) => txn.begin.commit_time > t,
        None => false,
    }
}

/// How long to wait for an origin another session holds, and how often to look.
const ORIGIN_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
const ORIGIN_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// Sets up the session and reads the position applied so far.
fn connect(req: &Request, origin: &str) -> Result<(Applier, Lsn), ApplyError> {
    let (mut client, _) = req.target.connect()?;
    client
        .batch_execute(SETUP_SQL)
        .map_err(|e| target_error(&e))?;
    // `pglcr init` marks the target until its copy is complete: applying on top of a partial
    // copy would make the target look ready when it is not.
    let unfinished = client
        .query_opt(
            "SELECT started_at::text FROM pglcr.init_state \
             WHERE to_regclass('pglcr.init_state') IS NOT NULL AND origin = $1",
            &[&origin],
        )
        .or_else(|e| match e.code() {
            Some(&postgres::error::SqlState::UNDEFINED_TABLE) => Ok(None),
            _ => Err(e),
        })
        .map_err(|e| target_error(&e))?;
    if let Some(row) = unfinished {
        return Err(ApplyError::InitUnfinished {
            origin: origin.to_string(),
            started: row.get(0),
        });
    }
    // Triggers and rules do not fire, as in logical replication apply. Rows are found by their
    // identity index, as PostgreSQL's apply worker finds them: a generic plan made while a
    // table is small would otherwise read the whole table for each row, for good.
    client
        .batch_execute(
            "SET session_replication_role = replica; SET standard_conforming_strings = on; \
             SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off",
        )
        .map_err(|e| target_error(&e))?;
    let mode = match req.progress {
        Some(m) => m,
        None => {
            let may: bool = client
                .query_one(
                    "SELECT has_function_privilege('pg_replication_origin_session_setup(text)', 'EXECUTE')",
                    &[],
                )
                .map_err(|e| target_error(&e))?
                .get(0);
            if may {
                ProgressMode::Origin
            } else {
                ProgressMode::Table
            }
        }
    };
    if mode == ProgressMode::Origin {
        client
            .execute(
                "SELECT pg_replication_origin_create($1) WHERE NOT EXISTS \
                 (SELECT FROM pg_replication_origin WHERE roname = $1)",
                &[&origin],
            )
            .map_err(|e| target_error(&e))?;
        // The backend of a killed apply finishes the query it was given before it notices;
        // its origin is free once it has. Another apply running holds it as long as it runs.
        let mut waited = std::time::Duration::ZERO;
        while let Err(e) =
            client.execute("SELECT pg_replication_origin_session_setup($1)", &[&origin])
        {
            if e.code() != Some(&postgres::error::SqlState::OBJECT_IN_USE) || waited >= ORIGIN_WAIT
            {
                return Err(ApplyError::Target(format!(
                    "{} (is another pglcr apply using origin \"{origin}\"?)",
                    pgconn::error_text(&e)
                )));
            }
            std::thread::sleep(ORIGIN_POLL);
            waited += ORIGIN_POLL;
        }
    }
    let mut node = String::new();
    if req.conflict_config.uses_commit_timestamps(req.policies) {
        let row = client
            .query_one(
                "SELECT current_setting('track_commit_timestamp')::bool, \
                 format('pglcr_%s_%s', (SELECT system_identifier FROM pg_control_system()), \
                 (SELECT oid FROM pg_database WHERE datname = current_database()))",
                &[],
            )
            .map_err(|e| target_error(&e))?;
        if !row.get::<_, bool>(0) {
            return Err(ApplyError::Target(
                "last_update_wins compares commit times, but the target has \
                 track_commit_timestamp = off: set it on (it needs a restart) or choose another \
                 policy"
                    .into(),
            ));
        }
        if mode != ProgressMode::Origin {
            return Err(ApplyError::Target(
                "last_update_wins tells rows applied from this origin by their replication \
                 origin: it needs --progress origin"
                    .into(),
            ));
        }
        node = row.get(1);
    }
    if mode == ProgressMode::Origin {
        // As in PostgreSQL's apply worker: a commit lost in a crash of the target loses the
        // origin's progress with it, so the transaction is applied again; the position is read
        // back flushed (below, and by pglcr retain).
        client
            .batch_execute("SET synchronous_commit = off")
            .map_err(|e| target_error(&e))?;
    }
    let position = read_position(&mut client, mode, origin)?;
    Ok((
        Applier {
            client,
            origin: origin.to_string(),
            mode,
            defaults: req.policies,
            conflict_config: req.conflict_config.clone(),
            policies: FxHashMap::default(),
            node,
            statements: HashMap::new(),
            counters: Counters::default(),
            unwritten: Counters::default(),
            prepared: HashMap::new(),
            folded: HashMap::new(),
            copy_checked: Default::default(),
            stats_written: std::time::Instant::now(),
        },
        position,
    ))
}

/// The position recorded on the target, `0/0` when there is none. An origin's progress is read
/// with its commit flushed to disk, so that it never runs ahead of what a crash keeps.
fn read_position(client: &mut Client, mode: ProgressMode, origin: &str) -> Result<Lsn, ApplyError> {
    let position: Option<String> = match mode {
        ProgressMode::Origin => client
            .query_one(
                "SELECT pg_replication_origin_progress($1, true)::text",
                &[&origin],
            )
            .map_err(|e| target_error(&e))?
            .get(0),
        ProgressMode::Table => client
            .query_opt(
                "SELECT remote_lsn::text FROM pglcr.apply_progress WHERE origin = $1",
                &[&origin],
            )
            .map_err(|e| target_error(&e))?
            .map(|r| r.get(0)),
    };
    Ok(position
        .map(|p| {
            p.parse::<Lsn>()
                .map_err(|_| ApplyError::Target(format!("progress \"{p}\" is not an LSN")))
        })
        .transpose()?
        .unwrap_or(Lsn(0)))
}

/// Applies what the LCR directory holds beyond the target's position.
pub fn run(req: &Request, out: &mut dyn std::io::Write) -> Result<Summary, ApplyError> {
    let origin = loop {
        let origin = req
            .origin
            .clone()
            .map_or_else(|| default_origin(&req.from), |o| Ok(Some(o)))?;
        match origin {
            Some(o) => break o,
            None if req.follow && !req.dry_run => {
                if !pause_unless_stopped(req.poll_interval) {
                    return Ok(Summary::default());
                }
            }
            None => return Ok(Summary::default()),
        }
    };
    if req.group_commit == 0 {
        return Err(ApplyError::Usage(
            "--group-commit must be at least 1".into(),
        ));
    }
    if req.dry_run {
        return dry_run(req, &origin, out);
    }
    let (mut applier, position) = connect(req, &origin)?;
    let mut stream = TxnStream::open(&req.from, position)?;
    let mut summary = Summary {
        origin: origin.clone(),
        mode: Some(applier.mode),
        from: position,
        to: position,
        ..Default::default()
    };
    let delay_us = req
        .apply_delay
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    // A transaction read but not applied yet: too young for --apply-delay.
    let mut waiting: Option<SourceTxn> = None;
    while summary.stopped.is_none() {
        if stop_requested() {
            summary.stopped = Some(Stopped::Signal);
            break;
        }
        // Groups of source transactions, each applied in one target transaction, as many as
        // one query carries on the fast path.
        let mut groups: Vec<Vec<SourceTxn>> = Vec::new();
        let mut changes = 0;
        let mut young = None;
        'chunk: while groups.len() < CHUNK_GROUPS && changes < CHUNK_CHANGES {
            let mut group = Vec::with_capacity(req.group_commit);
            while group.len() < req.group_commit {
                let txn = match waiting.take() {
                    Some(t) => t,
                    None => {
                        let Some(mut txn) = stream.next_txn()? else {
                            break;
                        };
                        req.tables.retain(&mut txn, stream.relations());
                        txn
                    }
                };
                if past_until(req.until, &txn) {
                    summary.stopped = Some(Stopped::Until);
                    break;
                }
                if let Some(age) = delay_us.map(|d| d - (now_pg_us() - txn.begin.commit_time)) {
                    if age > 0 {
                        young = Some((txn.begin.commit_time, age));
                        waiting = Some(txn);
                        if !group.is_empty() {
                            groups.push(group);
                        }
                        break 'chunk;
                    }
                }
                changes += txn.changes.len();
                group.push(txn);
            }
            if group.is_empty() {
                break;
            }
            groups.push(group);
            if summary.stopped.is_some() {
                break;
            }
        }
        if !groups.is_empty() {
            apply_groups(&mut applier, &groups, stream.relations())?;
            let last = groups.last().and_then(|g| g.last()).expect("non-empty");
            summary.to = last.begin.end_lsn;
            summary.last_commit_time = Some(last.begin.commit_time);
            continue;
        }
        if summary.stopped.is_some() {
            break;
        }
        // Nothing to apply now: the files end, or the next transaction is too young.
        if !req.follow {
            if let Some((time, _)) = young {
                summary.stopped = Some(Stopped::Delay(time));
            }
            break;
        }
        if let Some(time) = summary.last_commit_time {
            applier.flush_stats(summary.to, time)?;
        }
        let pause = match young {
            Some((_, wait_us)) => std::time::Duration::from_micros(wait_us as u64),
            None => req.poll_interval,
        };
        if !pause_unless_stopped(pause) {
            summary.stopped = Some(Stopped::Signal);
            break;
        }
        if young.is_none() {
            stream.refresh()?;
        }
    }
    if let Some(time) = summary.last_commit_time {
        applier.flush_stats(summary.to, time)?;
    }
    applier.make_durable()?;
    summary.counters = applier.counters.clone();
    Ok(summary)
}

/// Now, in µs since 2000-01-01 UTC (as commit times are).
fn now_pg_us() -> i64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    unix - PG_EPOCH_UNIX_US
}

static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn request_stop(_: libc::c_int) {
    STOP.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Makes SIGTERM and SIGINT ask apply to stop between target transactions, with its progress
/// saved (as a service manager stopping a daemon expects); a second signal ends the process
/// at once.
pub fn stop_on_signals() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = request_stop as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART | libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

fn stop_requested() -> bool {
    STOP.load(std::sync::atomic::Ordering::SeqCst)
}

/// Sleeps for `pause`, waking early to a stop request; false when asked to stop.
fn pause_unless_stopped(pause: std::time::Duration) -> bool {
    const SLICE: std::time::Duration = std::time::Duration::from_millis(50);
    let end = std::time::Instant::now() + pause;
    loop {
        if stop_requested() {
            return false;
        }
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(SLICE));
    }
}

/// At most this many groups, or groups holding this many changes, are sent as one query.
const CHUNK_GROUPS: usize = 1000;
const CHUNK_CHANGES: usize = 5_000;

/// Applies groups of source transactions, each in one target transaction, in order: on the
/// fast path where it can, change by change where it cannot.
fn apply_groups(
    applier: &mut Applier,
    groups: &[Vec<SourceTxn>],
    relations: &FxHashMap<u32, RelationInfo>,
) -> Result<(), ApplyError> {
    let mut done = 0;
    while done < groups.len() {
        done += applier.apply_groups_batched(&groups[done..], relations)?;
        if let Some(group) = groups.get(done) {
            apply_group(applier, group, relations)?;
            done += 1;
        }
    }
    Ok(())
}

/// Applies a group of source transactions in one target transaction change by change, retried
/// whole after a deadlock or serialization failure.
fn apply_group(
    applier: &mut Applier,
    group: &[SourceTxn],
    relations: &FxHashMap<u32, RelationInfo>,
) -> Result<(), ApplyError> {
    const ATTEMPTS: u32 = 5;
    let before = applier.counters.clone();
    for attempt in 1..=ATTEMPTS {
        let result = (|| -> Result<(), ApplyError> {
            applier
                .client
                .batch_execute("BEGIN")
                .map_err(|e| target_error(&e))?;
            for txn in group {
                applier.apply_changes(txn, relations)?;
                applier.counters.commits += 1;
            }
            let delta = sub(&applier.counters, &before);
            let last = group.last().expect("non-empty group");
            let stats = applier
                .record_progress(last, &delta)
                .map_err(|e| target_error(&e))?;
            applier
                .client
                .batch_execute("COMMIT")
                .map_err(|e| target_error(&e))?;
            applier.note_stats(&delta, stats);
            Ok(())
        })();
        match result {
            Ok(()) => return Ok(()),
            Err(e) => {
                let _ = applier.client.batch_execute("ROLLBACK");
                applier.counters = before.clone();
                match e {
                    ApplyError::Retryable(_) if attempt < ATTEMPTS => {
                        applier.counters.retries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(50 << attempt));
                    }
                    ApplyError::Retryable(inner) => return Err(*inner),
                    e => return Err(e),
                }
            }
        }
    }
    unreachable!("the last attempt returns")
}

/// Prints the SQL each transaction would run, with values inline; touches nothing.
fn dry_run(
    req: &Request,
    origin: &str,
    out: &mut dyn std::io::Write,
) -> Result<Summary, ApplyError> {
    let mut stream = TxnStream::open_from_first(&req.from)?;
    let mut summary = Summary {
        origin: origin.to_string(),
        ..Default::default()
    };
    let w = |out: &mut dyn std::io::Write, s: String| {
        out.write_all(s.as_bytes())
            .map_err(|e| ApplyError::Target(format!("could not write output: {e}")))
    };
    while let Some(mut txn) = stream.next_txn()? {
        req.tables.retain(&mut txn, stream.relations());
        if past_until(req.until, &txn) {
            summary.stopped = Some(Stopped::Until);
            break;
        }
        w(
            out,
            format!(
                "-- source transaction {} committed at {} ({})\nBEGIN;\n",
                txn.begin.xid,
                txn.begin.commit_lsn,
                txn.file.display()
            ),
        )?;
        for change in &txn.changes {
            let sql = match change {
                Frame::Insert { rel, new, .. } => stream
                    .relation(*rel)
                    .and_then(|r| insert_sql(r, new, true).ok()),
                Frame::Update {
                    rel,
                    old,
                    new: Some(new),
                    ..
                } => stream
                    .relation(*rel)
                    .map(|r| update_sql(r, old.as_deref().unwrap_or(new), new)),
                Frame::Delete {
                    rel,
                    old: Some(old),
                    ..
                } => stream.relation(*rel).map(|r| delete_sql(r, old)),
                Frame::Truncate { rels, .. } => {
                    let names: Vec<String> = rels
                        .iter()
                        .filter_map(|oid| stream.relation(*oid).map(qualified))
                        .collect();
                    w(out, format!("{};\n", truncate_sql(&names, change)))?;
                    None
                }
                _ => None,
            };
            if let Some(s) = sql {
                w(out, format!("{};\n", inline(&s)))?;
            }
        }
        w(
            out,
            format!(
                "SELECT pg_replication_origin_xact_setup('{}', ...);\nCOMMIT;\n",
                txn.begin.end_lsn
            ),
        )?;
        summary.to = txn.begin.end_lsn;
        summary.counters.commits += 1;
    }
    Ok(summary)
}

/// The statement with its parameters written in as literals: `$n` outside double-quoted
/// identifiers is replaced, in one pass (a value holding `$2` stays as it is).
fn inline(s: &Sql) -> String {
    let mut out = String::with_capacity(s.sql.len() + 16 * s.params.len());
    let mut chars = s.sql.char_indices().peekable();
    let mut quoted = false;
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            quoted = !quoted;
        }
        if c != '$' || quoted {
            out.push(c);
            continue;
        }
        let digits: String =
            std::iter::from_fn(|| chars.next_if(|(_, d)| d.is_ascii_digit()).map(|(_, d)| d))
                .collect();
        match digits
            .parse::<usize>()
            .ok()
            .and_then(|n| s.params.get(n.wrapping_sub(1)))
        {
            Some(Some(v)) => out.push_str(&literal(v)),
            Some(None) => out.push_str("NULL"),
            None => {
                out.push_str(&s.sql[i..i + 1]);
                out.push_str(&digits);
            }
        }
    }
    out
}

/// The counters of one origin on the target, by name.
pub struct OriginStats {
    pub origin: String,
    pub fields: Vec<(String, String)>,
}

/// The counters kept on the target (`pglcr apply --stats`).
pub fn stats(target: &ConnParams) -> Result<Vec<OriginStats>, ApplyError> {
    let (mut client, _) = target.connect()?;
    let rows = client
        .query(
            "SELECT origin, commits::text, inserts::text, updates::text, deletes::text, \
             truncates::text, insert_conflicts::text, update_conflicts::text, \
             delete_conflicts::text, retries::text, unkeyed::text, \
             coalesce(last_remote_lsn::text, ''), coalesce(last_remote_commit_time::text, ''), \
             coalesce(updated_at::text, '') FROM pglcr.apply_stats ORDER BY origin",
            &[],
        )
        .map_err(|e| target_error(&e))?;
    const NAMES: [&str; 13] = [
        "commits",
        "inserts",
        "updates",
        "deletes",
        "truncates",
        "insert_conflicts",
        "update_conflicts",
        "delete_conflicts",
        "retries",
        "unkeyed",
        "last_remote_lsn",
        "last_remote_commit_time",
        "updated_at",
    ];
    Ok(rows
        .iter()
        .map(|r| {
            let origin: String = r.get(0);
            let fields = NAMES
                .iter()
                .enumerate()
                .map(|(i, n)| (n.to_string(), r.get::<_, String>(i + 1)))
                .collect();
            OriginStats { origin, fields }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::shift_params;

    #[test]
    fn parameters_are_renumbered_outside_quoted_identifiers() {
        assert_eq!(
            shift_params(r#"UPDATE "a$1" SET "x" = $1::int WHERE k = $12::"t$2""#, 3),
            r#"UPDATE "a$1" SET "x" = $4::int WHERE k = $15::"t$2""#
        );
    }
}
