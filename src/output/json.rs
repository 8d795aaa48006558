//! pglcr's own JSON lines (`--format json`): one object per change, every change carrying its
//! transaction (xid, commit LSN and time), column values as PostgreSQL's output text. The key
//! order is fixed, so the same WAL and catalog always give the same bytes. The format is
//! documented in README.md ("pglcr decode").

use crate::catalog::{Catalog, Column, Relation};
use crate::logical::{Change, Message, Txn, TxnEnd};
use crate::tuple::types::OutputContext;
use crate::wal::lsn::Lsn;

use super::driver::Plugin;
use super::{OutputError, Resolved, Row, Sink, Value};

/// `--format json` takes no `-o` options.
pub fn set_option(name: &str, value: Option<&str>) -> Result<(), String> {
    let shown = match value {
        Some(v) => format!("\"{name}\" = \"{v}\""),
        None => format!("\"{name}\""),
    };
    Err(format!(
        "option {shown} is unknown: --format json takes no -o options"
    ))
}

/// Appends `s` as a JSON string: `"` and `\` escaped, control characters as `\n`, `\t`, …
/// or `\u00XX`, everything else (non-ASCII included) as UTF-8.
fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &c in s.as_bytes() {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            c if c < b' ' => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn push_lsn(out: &mut Vec<u8>, lsn: Lsn) {
    out.extend_from_slice(format!("\"{lsn}\"").as_bytes());
}

fn push_origin(out: &mut Vec<u8>, origin: Option<u16>) {
    match origin {
        Some(o) => out.extend_from_slice(o.to_string().as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
}

fn push_bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
    out.push(b'"');
}

/// What every line of one transaction starts with.
struct Header {
    xid: Option<u32>,
    commit: Option<(Lsn, String)>,
}

impl Header {
    /// `{"kind":KIND,"xid":…,"commit_lsn":…,"commit_time":…,"lsn":…,"origin":…`
    fn push(&self, out: &mut Vec<u8>, kind: &str, lsn: Lsn, origin: Option<u16>) {
        out.extend_from_slice(b"{\"kind\":");
        push_str(out, kind);
        out.extend_from_slice(b",\"xid\":");
        match self.xid {
            Some(x) => out.extend_from_slice(x.to_string().as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"commit_lsn\":");
        match &self.commit {
            Some((l, _)) => push_lsn(out, *l),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"commit_time\":");
        match &self.commit {
            Some((_, t)) => push_str(out, t),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"lsn\":");
        push_lsn(out, lsn);
        out.extend_from_slice(b",\"origin\":");
        push_origin(out, origin);
    }
}

pub struct Writer<'c> {
    catalog: &'c Catalog,
    ctx: OutputContext,
    major: u32,
    /// The line being built; appended to the output only when complete.
    line: Vec<u8>,
    /// The header of the current transaction's lines.
    header: Header,
}

impl<'c> Writer<'c> {
    pub fn new(catalog: &'c Catalog, ctx: OutputContext) -> Writer<'c> {
        let major = catalog.file.server_version_num / 10000;
        Writer {
            catalog,
            ctx,
            major,
            line: Vec::new(),
            header: Header {
                xid: None,
                commit: None,
            },
        }
    }

    fn catalog(&self) -> &'c Catalog {
        self.catalog
    }

    /// A line for COMMIT PREPARED, ROLLBACK PREPARED or PREPARE.
    fn two_phase_line(&self, txn: &Txn, kind: &str, out: &mut Vec<u8>) {
        self.header.push(out, kind, txn.end_lsn, txn.origin);
        out.extend_from_slice(b",\"gid\":");
        push_str(out, txn.gid.as_deref().unwrap_or(""));
        out.extend_from_slice(b"}\n");
    }
}

/// One line per change (none for a transaction without changes to show).
impl<'c> Plugin<'c> for Writer<'c> {
    fn set_catalog(&mut self, catalog: &'c Catalog) {
        self.catalog = catalog;
    }

    fn message(&mut self, msg: &Message, out: &mut Sink<'_>) -> Result<(), OutputError> {
        let header = Header {
            xid: (msg.xid != 0).then_some(msg.xid),
            commit: None,
        };
        header.push(out, "message", msg.lsn, msg.origin);
        push_message(out, false, &msg.prefix, &msg.content);
        out.extend_from_slice(b"}\n");
        Ok(())
    }

    fn begin(&mut self, txn: &Txn, out: &mut Sink<'_>) -> Result<(), OutputError> {
        self.header = Header {
            xid: Some(txn.xid),
            commit: Some((
                txn.end_lsn,
                super::commit_time_text(self.catalog, &self.ctx, txn.time, txn.end_lsn)?,
            )),
        };
        match txn.end {
            TxnEnd::CommitPrepared => self.two_phase_line(txn, "commit_prepared", out),
            TxnEnd::RollbackPrepared => self.two_phase_line(txn, "rollback_prepared", out),
            TxnEnd::Commit | TxnEnd::Prepare => {}
        }
        Ok(())
    }

    fn change(
        &mut self,
        _txn: &Txn,
        change: &Change,
        resolved: &Resolved<'c>,
        out: &mut Sink<'_>,
    ) -> Result<(), OutputError> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let result = self.change_line(change.lsn, change.origin, resolved, &mut line);
        if result.is_ok() {
            out.extend_from_slice(&line);
        }
        self.line = line;
        result
    }

    fn end(&mut self, txn: &Txn, out: &mut Sink<'_>) -> Result<(), OutputError> {
        if txn.end == TxnEnd::Prepare {
            self.two_phase_line(txn, "prepare", out);
        }
        Ok(())
    }
}

impl<'c> Writer<'c> {
    fn change_line(
        &self,
        lsn: Lsn,
        origin: Option<u16>,
        change: &Resolved<'c>,
        out: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        match change {
            Resolved::Insert { rel, new } => {
                self.header.push(out, "insert", lsn, origin);
                self.row_change(lsn, rel, Some(new), None, out)?;
            }
            Resolved::Update { rel, old, new } => {
                self.header.push(out, "update", lsn, origin);
                self.row_change(lsn, rel, new.as_ref(), Some(old.as_ref()), out)?;
            }
            Resolved::Delete { rel, old } => {
                self.header.push(out, "delete", lsn, origin);
                self.row_change(lsn, rel, None, Some(old.as_ref()), out)?;
            }
            Resolved::Truncate {
                rels,
                cascade,
                restart_seqs,
            } => {
                self.header.push(out, "truncate", lsn, origin);
                out.extend_from_slice(b",\"relations\":[");
                for (i, rel) in rels.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.push(b'{');
                    push_relation(out, rel);
                    out.push(b'}');
                }
                out.extend_from_slice(b"],\"cascade\":");
                push_bool(out, *cascade);
                out.extend_from_slice(b",\"restart_seqs\":");
                push_bool(out, *restart_seqs);
            }
            Resolved::Message { prefix, content } => {
                self.header.push(out, "message", lsn, origin);
                push_message(out, true, prefix, content);
            }
        }
        out.extend_from_slice(b"}\n");
        Ok(())
    }

    /// `"schema":…,"table":…,"relid":…,"columns":…,"old_key":…[,"unchanged_toast":[…]]`.
    /// `old` is `None` for an insert, `Some(None)` when the old tuple was not logged.
    fn row_change(
        &self,
        lsn: Lsn,
        rel: &Relation,
        new: Option<&Row<'c>>,
        old: Option<Option<&Row<'c>>>,
        out: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        out.push(b',');
        push_relation(out, rel);
        let mut unchanged: Vec<&str> = Vec::new();
        out.extend_from_slice(b",\"columns\":");
        match new {
            Some(row) => {
                out.push(b'[');
                let mut first = true;
                for (col, value) in &row.values {
                    if *value == Value::UnchangedToast {
                        unchanged.push(&col.name);
                        continue;
                    }
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    self.column(lsn, rel, row, col, value, out)?;
                }
                out.push(b']');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"old_key\":");
        match old.flatten() {
            Some(row) => {
                out.push(b'[');
                let mut first = true;
                for (col, value) in &row.values {
                    if !in_old_key(rel, col, value) {
                        continue;
                    }
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    self.column(lsn, rel, row, col, value, out)?;
                }
                out.push(b']');
            }
            None => out.extend_from_slice(b"null"),
        }
        if !unchanged.is_empty() {
            out.extend_from_slice(b",\"unchanged_toast\":[");
            for (i, name) in unchanged.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_str(out, name);
            }
            out.push(b']');
        }
        Ok(())
    }

    /// `{"name":…,"type":…,"type_oid":…,"value":…}`
    fn column(
        &self,
        lsn: Lsn,
        rel: &Relation,
        row: &Row<'c>,
        col: &Column,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        out.extend_from_slice(b"{\"name\":");
        push_str(out, &col.name);
        out.extend_from_slice(b",\"type\":");
        push_str(
            out,
            &super::decoding_type_name_typmod(self.catalog(), col, self.major),
        );
        out.extend_from_slice(format!(",\"type_oid\":{},\"value\":", col.type_oid).as_bytes());
        // An old key never holds an unchanged TOAST value (PostgreSQL logs it flattened);
        // shown as null should one appear.
        match row.text_of(lsn, rel, col, value)? {
            Some(text) => push_str(out, text),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
        Ok(())
    }
}

/// Whether a column of a logged old tuple belongs to the old key: every column with
/// REPLICA IDENTITY FULL, the identity index's columns otherwise (the other columns of the
/// logged tuple are nulls that stand for "not logged").
fn in_old_key(rel: &Relation, col: &Column, value: &Value) -> bool {
    if *value == Value::UnchangedToast {
        return false;
    }
    if rel.replica_identity == "f" {
        return true;
    }
    match rel
        .identity_columns
        .as_deref()
        .filter(|c| c.iter().any(|&a| a > 0))
    {
        Some(key) => key.contains(&col.attnum),
        None => *value != Value::Null,
    }
}

/// `"schema":…,"table":…,"relid":…`
fn push_relation(out: &mut Vec<u8>, rel: &Relation) {
    out.extend_from_slice(b"\"schema\":");
    push_str(out, &rel.namespace);
    out.extend_from_slice(b",\"table\":");
    push_str(out, &rel.name);
    out.extend_from_slice(format!(",\"relid\":{}", rel.oid).as_bytes());
}

/// `,"transactional":…,"prefix":…,"content":…` (or `"content_hex"` when the content is not
/// valid UTF-8).
fn push_message(out: &mut Vec<u8>, transactional: bool, prefix: &[u8], content: &[u8]) {
    out.extend_from_slice(b",\"transactional\":");
    push_bool(out, transactional);
    out.extend_from_slice(b",\"prefix\":");
    push_str(out, &String::from_utf8_lossy(prefix));
    match std::str::from_utf8(content) {
        Ok(text) => {
            out.extend_from_slice(b",\"content\":");
            push_str(out, text);
        }
        Err(_) => {
            out.extend_from_slice(b",\"content_hex\":");
            push_hex(out, content);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let mut v = Vec::new();
        push_str(&mut v, "a\"b\\c\nd\te\u{1}é✓");
        assert_eq!(v, "\"a\\\"b\\\\c\\nd\\te\\u0001é✓\"".as_bytes());
        let parsed: String = serde_json::from_slice(&v).unwrap();
        assert_eq!(parsed, "a\"b\\c\nd\te\u{1}é✓");
    }

    #[test]
    fn messages_keep_their_bytes() {
        let mut v = Vec::new();
        push_message(&mut v, false, b"p", b"\xff\x00a");
        assert_eq!(
            v,
            b",\"transactional\":false,\"prefix\":\"p\",\"content_hex\":\"ff0061\""
        );
        v.clear();
        push_message(&mut v, true, b"p", "h\u{e9}".as_bytes());
        assert_eq!(
            v,
            ",\"transactional\":true,\"prefix\":\"p\",\"content\":\"h\u{e9}\"".as_bytes()
        );
    }

    #[test]
    fn options_are_refused() {
        let e = set_option("include-xids", Some("1")).unwrap_err();
        assert!(e.contains("\"include-xids\" = \"1\""), "{e}");
        assert!(e.contains("takes no -o options"), "{e}");
    }
}
