//! `pglcr compare`: are two databases' tables the same, row for row?
//!
//! Each side computes, per table, the row count and an order-independent content hash (the sum
//! of the first 64 bits of each row's md5) in SQL, so rows never travel. When a table differs
//! and has a primary key, both sides stream key and row hash ordered by the key's text in the
//! "C" collation (the same order on both servers, whatever their collations), and a merge names
//! the keys only in one side or with different rows.
//!
//! Rows are compared as text: both sessions use the same output settings (UTC, ISO dates,
//! shortest exact floats, hex bytea), so equal values print equally on both servers.

use fallible_iterator::FallibleIterator;
use postgres::Client;
use serde::Serialize;

use crate::pgconn::{self, ConnError, ConnParams};

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Connect(#[from] ConnError),
    #[error("database {side}: {message}")]
    Query { side: Side, message: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Side {
    A,
    B,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::A => "A",
            Side::B => "B",
        })
    }
}

#[derive(Clone, Debug)]
pub struct Request {
    pub a: ConnParams,
    pub b: ConnParams,
    /// Tables (`name` or `schema.name`); every ordinary table of either side when empty.
    pub tables: Vec<String>,
    /// Differing keys to name per table.
    pub sample: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Equal,
    Different,
    MissingInA,
    MissingInB,
    /// Column names differ: rows cannot be compared.
    ColumnsDiffer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    OnlyInA,
    OnlyInB,
    Changed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyDiff {
    pub kind: DiffKind,
    /// The key's values as text, in the order of `TableReport::key`.
    pub key: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TableReport {
    /// Quoted and schema-qualified, as `quote_ident` prints it.
    pub table: String,
    pub status: Status,
    pub rows_a: Option<i64>,
    pub rows_b: Option<i64>,
    pub hash_a: Option<String>,
    pub hash_b: Option<String>,
    /// Primary key columns (of side A); empty when there is none.
    pub key: Vec<String>,
    /// Counts from the key merge, when the table differs and has a key.
    pub only_in_a: Option<u64>,
    pub only_in_b: Option<u64>,
    pub changed: Option<u64>,
    /// Up to `Request::sample` differing keys, in key order.
    pub sample: Vec<KeyDiff>,
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub equal: bool,
    pub tables: Vec<TableReport>,
}

/// Same text for the same values on both servers.
const SESSION_SQL: &str = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; \
     SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'; \
     SET lc_monetary = 'C'";

const USER_TABLES: &str = "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind = 'r' AND c.relpersistence = 'p' \
     AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pglcr') \
     AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1";

struct Db {
    client: Client,
    side: Side,
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl Db {
    fn connect(params: &ConnParams, side: Side) -> Result<Db, CompareError> {
        let (client, _) = params.connect()?;
        let mut db = Db { client, side };
        db.client
            .batch_execute(SESSION_SQL)
            .map_err(|e| db.err(e))?;
        Ok(db)
    }

    fn err(&self, e: postgres::Error) -> CompareError {
        CompareError::Query {
            side: self.side,
            message: pgconn::error_text(&e),
        }
    }

    fn tables(&mut self) -> Result<Vec<String>, CompareError> {
        let rows = self
            .client
            .query(USER_TABLES, &[])
            .map_err(|e| self.err(e))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// The quoted qualified name of `name`, if the table exists here.
    fn resolve(&mut self, name: &str) -> Result<Option<String>, CompareError> {
        let row = self
            .client
            .query_opt(
                "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.oid = to_regclass($1)",
                &[&name],
            )
            .map_err(|e| self.err(e))?;
        Ok(row.map(|r| r.get(0)))
    }

    fn columns(&mut self, table: &str) -> Result<Vec<String>, CompareError> {
        let rows = self
            .client
            .query(
                "SELECT attname::text FROM pg_attribute WHERE attrelid = $1::text::regclass \
                 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                &[&table],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn primary_key(&mut self, table: &str) -> Result<Vec<String>, CompareError> {
        let rows = self
            .client
            .query(
                "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a \
                 ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
                 WHERE i.indrelid = $1::text::regclass AND i.indisprimary \
                 ORDER BY array_position(i.indkey::int2[], a.attnum)",
                &[&table],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Row count and content hash.
    fn summary(&mut self, table: &str, row: &str) -> Result<(i64, String), CompareError> {
        let r = self
            .client
            .query_one(
                &format!(
                    "SELECT count(*), coalesce(sum(('x' || substr(md5({row}::text), 1, 16))::bit(64)::bigint::numeric), 0)::text \
                     FROM ONLY {table} t"
                ),
                &[],
            )
            .map_err(|e| self.err(e))?;
        Ok((r.get(0), r.get(1)))
    }
}

/// `ROW(t.c1, t.c2, …)` over `columns`.
fn row_expr(columns: &[String]) -> String {
    let cols: Vec<String> = columns
        .iter()
        .map(|c| format!("t.{}", quote_ident(c)))
        .collect();
    format!("ROW({})", cols.join(", "))
}

/// Streams (key texts, row hash) of both sides in the same order and merges them.
fn diff_keys(
    a: &mut Db,
    b: &mut Db,
    table: &str,
    key: &[String],
    row: &str,
    report: &mut TableReport,
    sample: usize,
) -> Result<(), CompareError> {
    let key_text: Vec<String> = key
        .iter()
        .map(|k| format!("t.{}::text", quote_ident(k)))
        .collect();
    let order: Vec<String> = key_text
        .iter()
        .map(|k| format!("{k} COLLATE \"C\""))
        .collect();
    let sql = format!(
        "SELECT {}, md5({row}::text) FROM ONLY {table} t ORDER BY {}",
        key_text.join(", "),
        order.join(", ")
    );
    let n = key.len();
    let fetch = |r: &postgres::Row| -> (Vec<String>, String) {
        (
            (0..n).map(|i| r.get::<_, String>(i)).collect(),
            r.get::<_, String>(n),
        )
    };
    let none: [&str; 0] = [];
    let side_a = a.side;
    let side_b = b.side;
    let mut ia = a
        .client
        .query_raw(sql.as_str(), none)
        .map_err(|e| CompareError::Query {
            side: side_a,
            message: pgconn::error_text(&e),
        })?;
    let mut ib = b
        .client
        .query_raw(sql.as_str(), none)
        .map_err(|e| CompareError::Query {
            side: side_b,
            message: pgconn::error_text(&e),
        })?;
    let err_a = |e: postgres::Error| CompareError::Query {
        side: side_a,
        message: pgconn::error_text(&e),
    };
    let err_b = |e: postgres::Error| CompareError::Query {
        side: side_b,
        message: pgconn::error_text(&e),
    };
    let mut ra = ia.next().map_err(err_a)?.map(|r| fetch(&r));
    let mut rb = ib.next().map_err(err_b)?.map(|r| fetch(&r));
    let (mut only_a, mut only_b, mut changed) = (0u64, 0u64, 0u64);
    let mut note = |kind: DiffKind, key: &[String]| {
        if report.sample.len() < sample {
            report.sample.push(KeyDiff {
                kind,
                key: key.to_vec(),
            });
        }
    };
    loop {
        let step = match (&ra, &rb) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((ka, _)), Some((kb, _))) => ka.cmp(kb),
        };
        match step {
            std::cmp::Ordering::Less => {
                let (k, _) = ra.as_ref().expect("side A has a row");
                only_a += 1;
                note(DiffKind::OnlyInA, k);
                ra = ia.next().map_err(err_a)?.map(|r| fetch(&r));
            }
            std::cmp::Ordering::Greater => {
                let (k, _) = rb.as_ref().expect("side B has a row");
                only_b += 1;
                note(DiffKind::OnlyInB, k);
                rb = ib.next().map_err(err_b)?.map(|r| fetch(&r));
            }
            std::cmp::Ordering::Equal => {
                let ((k, ha), (_, hb)) = (
                    ra.as_ref().expect("side A has a row"),
                    rb.as_ref().expect("side B has a row"),
                );
                if ha != hb {
                    changed += 1;
                    note(DiffKind::Changed, k);
                }
                ra = ia.next().map_err(err_a)?.map(|r| fetch(&r));
                rb = ib.next().map_err(err_b)?.map(|r| fetch(&r));
            }
        }
    }
    report.only_in_a = Some(only_a);
    report.only_in_b = Some(only_b);
    report.changed = Some(changed);
    Ok(())
}

fn compare_table(
    a: &mut Db,
    b: &mut Db,
    name_a: Option<String>,
    name_b: Option<String>,
    sample: usize,
) -> Result<TableReport, CompareError> {
    let table = name_a.clone().or(name_b.clone()).expect("one side has it");
    let mut report = TableReport {
        table: table.clone(),
        status: Status::Equal,
        rows_a: None,
        rows_b: None,
        hash_a: None,
        hash_b: None,
        key: Vec::new(),
        only_in_a: None,
        only_in_b: None,
        changed: None,
        sample: Vec::new(),
        note: None,
    };
    let (ta, tb) = match (name_a, name_b) {
        (Some(x), Some(y)) => (x, y),
        (None, _) => {
            report.status = Status::MissingInA;
            return Ok(report);
        }
        (_, None) => {
            report.status = Status::MissingInB;
            return Ok(report);
        }
    };
    let cols_a = a.columns(&ta)?;
    let cols_b = b.columns(&tb)?;
    let (mut sa, mut sb) = (cols_a.clone(), cols_b.clone());
    sa.sort();
    sb.sort();
    if sa != sb {
        report.status = Status::ColumnsDiffer;
        report.note = Some(format!(
            "columns in A: {}; in B: {}",
            cols_a.join(", "),
            cols_b.join(", ")
        ));
        return Ok(report);
    }
    // Side A's column order on both sides: a table rebuilt with another order still matches.
    let row = row_expr(&cols_a);
    let (rows_a, hash_a) = a.summary(&ta, &row)?;
    let (rows_b, hash_b) = b.summary(&tb, &row)?;
    report.key = a.primary_key(&ta)?;
    let equal = rows_a == rows_b && hash_a == hash_b;
    report.rows_a = Some(rows_a);
    report.rows_b = Some(rows_b);
    report.hash_a = Some(hash_a);
    report.hash_b = Some(hash_b);
    if !equal {
        report.status = Status::Different;
        if report.key.is_empty() {
            report.note = Some("no primary key: differing rows cannot be named".into());
        } else {
            let key = report.key.clone();
            diff_keys(a, b, &ta, &key, &row, &mut report, sample)?;
        }
    }
    Ok(report)
}

/// Compares the tables of two databases.
pub fn compare(req: &Request) -> Result<Report, CompareError> {
    let mut a = Db::connect(&req.a, Side::A)?;
    let mut b = Db::connect(&req.b, Side::B)?;
    let mut pairs: Vec<(Option<String>, Option<String>)> = Vec::new();
    if req.tables.is_empty() {
        let ta = a.tables()?;
        let tb = b.tables()?;
        let mut all: Vec<&String> = ta.iter().chain(tb.iter()).collect();
        all.sort();
        all.dedup();
        for t in all {
            pairs.push((
                ta.contains(t).then(|| t.clone()),
                tb.contains(t).then(|| t.clone()),
            ));
        }
    } else {
        for t in &req.tables {
            let (ra, rb) = (a.resolve(t)?, b.resolve(t)?);
            if ra.is_none() && rb.is_none() {
                return Err(CompareError::Usage(format!(
                    "table \"{t}\" exists in neither database"
                )));
            }
            pairs.push((ra, rb));
        }
    }
    let mut tables = Vec::with_capacity(pairs.len());
    for (ta, tb) in pairs {
        tables.push(compare_table(&mut a, &mut b, ta, tb, req.sample)?);
    }
    Ok(Report {
        equal: tables.iter().all(|t| t.status == Status::Equal),
        tables,
    })
}
