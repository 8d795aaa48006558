//! The fast path's plan: the row changes of a group of source transactions as few set
//! statements as possible, each applying many rows of one table and one shape at once
//! (`UPDATE … FROM unnest(…)`), so that the target parses, plans and starts an executor once
//! per statement instead of once per row.
//!
//! Rows may move ahead of earlier changes only when they touch different rows: each change
//! gets a level one above the last level that touched one of its keys (replica identity
//! values), statements run level by level, and within a level every key appears once, so its
//! statements commute. A TRUNCATE is a level of its own that nothing crosses. Tables with FULL
//! identity are kept in source order (one key per table), their rows having no short key.
//! What reordering cannot foresee (a unique index other than the identity, say) shows as an
//! error or a row count that differs; the caller then applies the group change by change.

use std::fmt::Write as _;

use rustc_hash::FxHashMap;

use super::{identity, qualified, quote, StatementKey};
use crate::lcr::format::{Datum, RelationInfo};

/// One set statement: its shape, its SQL, and the values of its rows, by column.
pub(super) struct SetStatement<'a> {
    pub key: StatementKey,
    /// Writes the SQL, needed only when the shape is prepared.
    sql_of: fn(&RelationInfo, &StatementKey, bool) -> String,
    pub columns: Vec<Vec<Option<&'a str>>>,
    pub rows: u64,
}

/// The fewest inserted rows of one shape that go by COPY rather than by a set statement: COPY
/// skips the arrays' parsing and unnesting and the executor's per-row projection, but costs a
/// round trip of its own, which only pays for itself over many rows.
const COPY_MIN_ROWS: u64 = 1000;

impl SetStatement<'_> {
    /// Whether the statement is better sent as COPY: enough inserted rows.
    pub fn copies(&self) -> bool {
        self.key.op == b'J' && self.rows >= COPY_MIN_ROWS
    }

    /// `COPY t (c1, c2, …) FROM STDIN` for an insert statement: the columns its rows set.
    pub fn copy_sql(&self, rel: &RelationInfo) -> String {
        let cols: Vec<String> = rel
            .columns
            .iter()
            .zip(&self.key.set)
            .filter(|(_, s)| **s)
            .map(|(c, _)| quote(&c.name))
            .collect();
        format!("COPY {} ({}) FROM STDIN", qualified(rel), cols.join(", "))
    }

    /// The rows in COPY's text format: a line per row, columns separated by tabs, `\N` for
    /// NULL, backslash escapes for the separators. Written by hand because it is PostgreSQL's
    /// own format.
    pub fn copy_data(&self) -> Vec<u8> {
        let mut data = Vec::new();
        for row in 0..self.rows as usize {
            for (i, column) in self.columns.iter().enumerate() {
                if i > 0 {
                    data.push(b'\t');
                }
                match column[row] {
                    None => data.extend_from_slice(b"\\N"),
                    Some(v) => {
                        for &b in v.as_bytes() {
                            match b {
                                b'\\' => data.extend_from_slice(b"\\\\"),
                                b'\n' => data.extend_from_slice(b"\\n"),
                                b'\r' => data.extend_from_slice(b"\\r"),
                                b'\t' => data.extend_from_slice(b"\\t"),
                                b => data.push(b),
                            }
                        }
                    }
                }
            }
            data.push(b'\n');
        }
        data
    }

    /// The SQL of `rel`, the statement's relation: one `text[]` parameter per column it
    /// reads, or for a statement of one row one `text` parameter per column, planned for one
    /// row (an index lookup rather than a join with an array of unknown length).
    pub fn sql(&self, rel: &RelationInfo) -> String {
        (self.sql_of)(rel, &self.key, self.rows == 1)
    }
}

pub(super) enum Step<'a> {
    Set(SetStatement<'a>),
    /// A statement run as it is (TRUNCATE).
    Raw(String),
}

/// Why a group cannot take the fast path; the caller applies it change by change.
#[derive(Debug)]
pub(super) struct NotBatchable;

/// Where a key was last written: the level, the statement in it, the row in that.
#[derive(Clone, Copy)]
struct Touch {
    level: usize,
    step: usize,
    row: usize,
    /// Whether the row holds every column of the new row, so a later update may replace it.
    whole: bool,
}

#[derive(Default)]
pub(super) struct Plan<'a> {
    levels: Vec<Vec<Step<'a>>>,
    /// The open statement of each shape in each level: (level, shape) → index in the level.
    open: FxHashMap<(usize, StatementKey), usize>,
    /// The last change of each key: (relation, encoded identity values).
    last: FxHashMap<(u32, Vec<u8>), Touch>,
    /// The lowest level a change may take (the one after the last TRUNCATE).
    floor: usize,
}

impl<'a> Plan<'a> {
    /// The statements in the order to run them.
    pub fn into_steps(self) -> impl Iterator<Item = Step<'a>> {
        self.levels.into_iter().flatten()
    }

    /// Whether a statement of the plan goes by COPY.
    pub fn copies(&self) -> bool {
        self.levels
            .iter()
            .flatten()
            .any(|s| matches!(s, Step::Set(s) if s.copies()))
    }

    /// The set statements of a plan of one level, which commute and may therefore run as
    /// one statement; the plan back when it has several levels or a barrier.
    pub fn into_one_level(mut self) -> Result<Vec<SetStatement<'a>>, Self> {
        if self.levels.len() != 1 || self.levels[0].iter().any(|s| matches!(s, Step::Raw(_))) {
            return Err(self);
        }
        Ok(self
            .levels
            .pop()
            .into_iter()
            .flatten()
            .filter_map(|s| match s {
                Step::Set(s) => Some(s),
                Step::Raw(_) => None,
            })
            .collect())
    }

    pub fn insert(&mut self, rel: &RelationInfo, new: &'a [Datum]) -> Result<(), NotBatchable> {
        let set: Vec<bool> = new
            .iter()
            .map(|d| !matches!(d, Datum::UnchangedToast))
            .collect();
        if set.contains(&false) {
            return Err(NotBatchable);
        }
        let keys = row_key(rel, new).into_iter().collect::<Vec<_>>();
        let shape = StatementKey {
            rel: rel.oid,
            op: b'J',
            set,
            by: Vec::new(),
        };
        self.add(rel, shape, &keys, &[new], insert_set_sql, true)
    }

    pub fn update(
        &mut self,
        rel: &RelationInfo,
        old: Option<&'a [Datum]>,
        new: &'a [Datum],
    ) -> Result<(), NotBatchable> {
        let by = identity(rel);
        if !by.contains(&true) {
            return Err(NotBatchable);
        }
        let key_row = old.unwrap_or(new);
        let mut keys = Vec::with_capacity(2);
        keys.extend(row_key(rel, key_row));
        if old.is_some() {
            keys.extend(row_key(rel, new));
        }
        let set: Vec<bool> = new
            .iter()
            .map(|d| !matches!(d, Datum::UnchangedToast))
            .collect();
        let whole = old.is_none() && rel.replica_identity != b'f' && !set.contains(&false);
        if whole {
            if let Some(t) = keys
                .first()
                .and_then(|k| self.last.get(&(rel.oid, k.clone())))
            {
                if t.whole {
                    return self.replace(*t, new);
                }
            }
        }
        let shape = StatementKey {
            rel: rel.oid,
            op: b'V',
            set,
            by,
        };
        self.add(rel, shape, &keys, &[new, key_row], update_set_sql, whole)
    }

    pub fn delete(&mut self, rel: &RelationInfo, old: &'a [Datum]) -> Result<(), NotBatchable> {
        let by = identity(rel);
        if !by.contains(&true) {
            return Err(NotBatchable);
        }
        let keys = row_key(rel, old).into_iter().collect::<Vec<_>>();
        let shape = StatementKey {
            rel: rel.oid,
            op: b'E',
            set: Vec::new(),
            by,
        };
        self.add(rel, shape, &keys, &[old], delete_set_sql, false)
    }

    /// A statement nothing may cross.
    pub fn barrier(&mut self, sql: String) {
        let level = self.levels.len().max(self.floor);
        self.levels.resize_with(level + 1, Vec::new);
        self.levels[level].push(Step::Raw(sql));
        self.floor = level + 1;
    }

    /// Adds a row to the statement of its shape at its level. `rows` are the rows whose
    /// values the statement reads, in the order its SQL numbers the columns: for each row,
    /// the columns the shape sets (`set`), then those it matches (`by`).
    fn add(
        &mut self,
        rel: &RelationInfo,
        shape: StatementKey,
        keys: &[Vec<u8>],
        rows: &[&'a [Datum]],
        sql: fn(&RelationInfo, &StatementKey, bool) -> String,
        whole: bool,
    ) -> Result<(), NotBatchable> {
        let level = keys
            .iter()
            .filter_map(|k| self.last.get(&(rel.oid, k.clone())))
            .map(|t| t.level + 1)
            .fold(self.floor, usize::max);
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Vec::new);
        }
        let steps = &mut self.levels[level];
        let index = *self.open.entry((level, shape.clone())).or_insert_with(|| {
            let columns = shape.set.iter().chain(&shape.by).filter(|c| **c).count();
            steps.push(Step::Set(SetStatement {
                sql_of: sql,
                key: shape.clone(),
                columns: vec![Vec::new(); columns],
                rows: 0,
            }));
            steps.len() - 1
        });
        let Step::Set(statement) = &mut steps[index] else {
            unreachable!("open statements are set statements")
        };
        let masks = [&shape.set, &shape.by];
        let mut column = 0;
        for (row, mask) in rows.iter().zip(masks.iter().filter(|m| !m.is_empty())) {
            for (d, _) in row.iter().zip(mask.iter()).filter(|(_, m)| **m) {
                let value = match d {
                    Datum::Null => None,
                    Datum::Text(b) => Some(std::str::from_utf8(b).map_err(|_| NotBatchable)?),
                    Datum::UnchangedToast => return Err(NotBatchable),
                };
                statement.columns[column].push(value);
                column += 1;
            }
        }
        let touch = Touch {
            level,
            step: index,
            row: statement.rows as usize,
            whole,
        };
        for k in keys {
            self.last.insert((rel.oid, k.clone()), touch);
        }
        statement.rows += 1;
        Ok(())
    }

    /// Writes `new` over the row a whole-row insert or update wrote before; the statement's
    /// first columns are the row's columns in order.
    fn replace(&mut self, t: Touch, new: &'a [Datum]) -> Result<(), NotBatchable> {
        let Step::Set(statement) = &mut self.levels[t.level][t.step] else {
            unreachable!("rows are written by set statements")
        };
        for (column, d) in statement.columns.iter_mut().zip(new) {
            column[t.row] = match d {
                Datum::Null => None,
                Datum::Text(b) => Some(std::str::from_utf8(b).map_err(|_| NotBatchable)?),
                Datum::UnchangedToast => return Err(NotBatchable),
            };
        }
        Ok(())
    }
}

/// The key of a row for ordering: its identity values, or nothing for a table without one (its
/// rows are only inserted). FULL identity gives every row of the table the same key.
fn row_key(rel: &RelationInfo, row: &[Datum]) -> Option<Vec<u8>> {
    if rel.replica_identity == b'f' {
        return Some(Vec::new());
    }
    let by = identity(rel);
    if !by.contains(&true) {
        return None;
    }
    let mut key = Vec::new();
    for (d, _) in row.iter().zip(&by).filter(|(_, b)| **b) {
        match d {
            Datum::Text(b) => {
                key.push(1);
                key.extend_from_slice(&(b.len() as u32).to_le_bytes());
                key.extend_from_slice(b);
            }
            _ => key.push(0),
        }
    }
    Some(key)
}

/// `unnest($1, $2, …) AS pglcr_v(c1, c2, …)` over `n` text arrays, or for a single row
/// `(VALUES ($1, $2, …)) AS pglcr_v(c1, c2, …)` over `n` texts.
fn unnest(n: usize, single: bool) -> String {
    let params: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    let names: Vec<String> = (1..=n).map(|i| format!("c{i}")).collect();
    if single {
        format!(
            "(VALUES ({})) AS pglcr_v({})",
            params.join(", "),
            names.join(", ")
        )
    } else {
        format!(
            "unnest({}) AS pglcr_v({})",
            params.join(", "),
            names.join(", ")
        )
    }
}

fn insert_set_sql(rel: &RelationInfo, shape: &StatementKey, single: bool) -> String {
    let cols: Vec<_> = rel
        .columns
        .iter()
        .zip(&shape.set)
        .filter(|(_, s)| **s)
        .map(|(c, _)| c)
        .collect();
    let mut sql = format!("INSERT INTO {} (", qualified(rel));
    for (i, c) in cols.iter().enumerate() {
        let _ = write!(sql, "{}{}", if i > 0 { ", " } else { "" }, quote(&c.name));
    }
    sql.push_str(") SELECT ");
    for (i, c) in cols.iter().enumerate() {
        let _ = write!(
            sql,
            "{}pglcr_v.c{}::{}",
            if i > 0 { ", " } else { "" },
            i + 1,
            c.type_name
        );
    }
    let _ = write!(
        sql,
        " FROM {} ON CONFLICT DO NOTHING",
        unnest(cols.len(), single)
    );
    sql
}

/// ` WHERE pglcr_t.k = pglcr_v.cN::type AND …`, the identity columns numbered from `first`.
fn push_match(sql: &mut String, rel: &RelationInfo, by: &[bool], first: usize) {
    let op = if rel.replica_identity == b'f' {
        "IS NOT DISTINCT FROM"
    } else {
        "="
    };
    let cols = rel.columns.iter().zip(by).filter(|(_, b)| **b);
    for (i, (c, _)) in cols.enumerate() {
        let _ = write!(
            sql,
            "{}pglcr_t.{} {op} pglcr_v.c{}::{}",
            if i > 0 { " AND " } else { " WHERE " },
            quote(&c.name),
            first + i,
            c.type_name
        );
    }
}

fn update_set_sql(rel: &RelationInfo, shape: &StatementKey, single: bool) -> String {
    let mut sql = format!("UPDATE ONLY {} AS pglcr_t SET ", qualified(rel));
    let set = rel.columns.iter().zip(&shape.set).filter(|(_, s)| **s);
    let mut n = 0;
    for (i, (c, _)) in set.enumerate() {
        let _ = write!(
            sql,
            "{}{} = pglcr_v.c{}::{}",
            if i > 0 { ", " } else { "" },
            quote(&c.name),
            i + 1,
            c.type_name
        );
        n = i + 1;
    }
    let keys = shape.by.iter().filter(|b| **b).count();
    let _ = write!(sql, " FROM {}", unnest(n + keys, single));
    push_match(&mut sql, rel, &shape.by, n + 1);
    sql
}

fn delete_set_sql(rel: &RelationInfo, shape: &StatementKey, single: bool) -> String {
    let keys = shape.by.iter().filter(|b| **b).count();
    let mut sql = format!(
        "DELETE FROM ONLY {} AS pglcr_t USING {}",
        qualified(rel),
        unnest(keys, single)
    );
    push_match(&mut sql, rel, &shape.by, 1);
    sql
}

/// Appends `values` as a string literal holding a PostgreSQL array of text: array_in's syntax
/// (every element double-quoted, `"` and `\` escaped with `\`, NULL bare) inside a standard
/// SQL literal. Written by hand because it is PostgreSQL's own text format.
pub(super) fn push_text_array(sql: &mut String, values: &[Option<&str>]) {
    sql.push_str("'{");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        match v {
            None => sql.push_str("NULL"),
            Some(v) => {
                sql.push('"');
                for c in v.chars() {
                    match c {
                        '"' | '\\' => {
                            sql.push('\\');
                            sql.push(c);
                        }
                        '\'' => sql.push_str("''"),
                        c => sql.push(c),
                    }
                }
                sql.push('"');
            }
        }
    }
    sql.push_str("}'");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lcr::format::{RelColumn, COL_KEY};

    fn rel() -> RelationInfo {
        let col = |attnum, name: &str, flags| RelColumn {
            attnum,
            name: name.into(),
            type_oid: 23,
            typmod: -1,
            type_name: "integer".into(),
            type_name_plain: "integer".into(),
            flags,
        };
        RelationInfo {
            oid: 1,
            namespace: "public".into(),
            name: "t".into(),
            replica_identity: b'd',
            columns: vec![col(1, "id", COL_KEY), col(2, "v", 0)],
        }
    }

    fn row(id: &str, v: &str) -> Vec<Datum> {
        vec![
            Datum::Text(id.as_bytes().to_vec()),
            Datum::Text(v.as_bytes().to_vec()),
        ]
    }

    fn rows_per_step(plan: Plan) -> Vec<u64> {
        plan.into_steps()
            .map(|s| match s {
                Step::Set(s) => s.rows,
                Step::Raw(_) => 0,
            })
            .collect()
    }

    #[test]
    fn rows_of_different_keys_share_a_statement_and_a_key_seen_again_waits_for_them() {
        let rel = rel();
        let (a, b, a2, c) = (row("1", "x"), row("2", "y"), row("1", "z"), row("3", "w"));
        let mut plan = Plan::default();
        plan.insert(&rel, &a).unwrap();
        plan.insert(&rel, &b).unwrap();
        plan.delete(&rel, &a2).unwrap();
        plan.insert(&rel, &c).unwrap();
        // Level 0: the three inserts; level 1: the delete of the row inserted first.
        assert_eq!(rows_per_step(plan), vec![3, 1]);
    }

    #[test]
    fn whole_row_updates_of_one_key_become_one_row() {
        let rel = rel();
        let (a, a2, a3, b) = (row("1", "x"), row("1", "y"), row("1", "z"), row("2", "w"));
        let mut plan = Plan::default();
        plan.insert(&rel, &a).unwrap();
        plan.update(&rel, None, &a2).unwrap();
        plan.insert(&rel, &b).unwrap();
        plan.update(&rel, None, &a3).unwrap();
        let steps: Vec<_> = plan.into_steps().collect();
        assert_eq!(steps.len(), 1);
        let Step::Set(s) = &steps[0] else { panic!() };
        assert_eq!(s.rows, 2);
        assert_eq!(s.columns[1], vec![Some("z"), Some("w")]);
    }

    #[test]
    fn nothing_crosses_a_truncate() {
        let rel = rel();
        let (a, b) = (row("1", "x"), row("2", "y"));
        let mut plan = Plan::default();
        plan.insert(&rel, &a).unwrap();
        plan.barrier("TRUNCATE".into());
        plan.insert(&rel, &b).unwrap();
        assert_eq!(rows_per_step(plan), vec![1, 0, 1]);
    }

    #[test]
    fn a_key_change_orders_both_keys() {
        let rel = rel();
        let (old, new, again) = (row("1", "x"), row("2", "x"), row("2", "y"));
        let mut plan = Plan::default();
        plan.update(&rel, Some(&old), &new).unwrap();
        plan.delete(&rel, &again).unwrap();
        assert_eq!(rows_per_step(plan), vec![1, 1]);
    }

    #[test]
    fn text_arrays_escape_both_layers() {
        let mut s = String::new();
        push_text_array(&mut s, &[Some("a\"b\\c'd"), None, Some("NULL"), Some("")]);
        assert_eq!(s, r#"'{"a\"b\\c''d",NULL,"NULL",""}'"#);
    }
}
