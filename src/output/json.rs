//! pglcr's own JSON lines (`--format json`): one object per change, every change carrying its
//! transaction (xid, commit LSN and time), column values as PostgreSQL's output text. The key
//! order is fixed, so the same WAL and catalog always give the same bytes. The format is
//! documented in README.md ("pglcr decode").

use crate::catalog::{Catalog, Column, Relation};
use crate::logical::{Event, Txn, TxnEnd};
use crate::tuple::types::{self, OutputContext};
use crate::wal::lsn::Lsn;

use super::{OutputError, Resolved, Resolver, Row, Sink, Value};

const TIMESTAMPTZ_OID: u32 = 1184;

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
    resolver: Resolver<'c>,
    ctx: OutputContext,
    major: u32,
    /// Reused for value text.
    text: String,
    /// The line being built; appended to the output only when complete.
    line: Vec<u8>,
}

impl<'c> Writer<'c> {
    pub fn new(resolver: Resolver<'c>, ctx: OutputContext) -> Writer<'c> {
        let major = resolver.catalog().file.server_version_num / 10000;
        Writer {
            resolver,
            ctx,
            major,
            text: String::new(),
            line: Vec::new(),
        }
    }

    fn catalog(&self) -> &'c Catalog {
        self.resolver.catalog()
    }

    /// Appends one line per change of the event (none for a transaction without changes to
    /// show).
    pub fn write_event(
        &mut self,
        event: &mut Event,
        out: &mut Sink<'_>,
    ) -> Result<(), OutputError> {
        match event {
            Event::Message {
                lsn,
                xid,
                origin,
                prefix,
                content,
            } => {
                let header = Header {
                    xid: (*xid != 0).then_some(*xid),
                    commit: None,
                };
                header.push(out, "message", *lsn, *origin);
                push_message(out, false, prefix, content);
                out.extend_from_slice(b"}\n");
                Ok(())
            }
            Event::Txn(txn) => self.write_txn(txn, out),
        }
    }

    fn commit_time(&self, txn: &Txn) -> Result<String, OutputError> {
        let mut s = String::new();
        types::write_output(
            self.catalog(),
            TIMESTAMPTZ_OID,
            &txn.time.to_le_bytes(),
            &self.ctx,
            &mut s,
        )
        .map_err(|source| OutputError::Value {
            lsn: txn.end_lsn,
            relation: "(commit time)".into(),
            column: "time".into(),
            source: Box::new(source),
        })?;
        Ok(s)
    }

    fn write_txn(&mut self, txn: &mut Txn, out: &mut Sink<'_>) -> Result<(), OutputError> {
        let header = Header {
            xid: Some(txn.xid),
            commit: Some((txn.end_lsn, self.commit_time(txn)?)),
        };
        let gid = txn.gid.as_deref().unwrap_or("");
        let two_phase_line = |out: &mut Vec<u8>, kind: &str| {
            header.push(out, kind, txn.end_lsn, txn.origin);
            out.extend_from_slice(b",\"gid\":");
            push_str(out, gid);
            out.extend_from_slice(b"}\n");
        };
        match txn.end {
            TxnEnd::CommitPrepared => {
                two_phase_line(out, "commit_prepared");
                return Ok(());
            }
            TxnEnd::RollbackPrepared => {
                two_phase_line(out, "rollback_prepared");
                return Ok(());
            }
            TxnEnd::Commit | TxnEnd::Prepare => {}
        }
        self.resolver.begin();
        while let Some(change) = txn.changes.next_change()? {
            let change = &change;
            let more_from_same_record = txn.changes.peek_lsn() == Some(change.lsn);
            let Some(resolved) = self.resolver.resolve(change, more_from_same_record)? else {
                continue;
            };
            let mut line = std::mem::take(&mut self.line);
            line.clear();
            let result = self.change_line(&header, change.lsn, change.origin, &resolved, &mut line);
            if result.is_ok() {
                out.extend_from_slice(&line);
            }
            self.line = line;
            result?;
            out.maybe_flush()?;
        }
        if txn.end == TxnEnd::Prepare {
            two_phase_line(out, "prepare");
        }
        Ok(())
    }

    fn change_line(
        &mut self,
        header: &Header,
        lsn: Lsn,
        origin: Option<u16>,
        change: &Resolved<'c, '_>,
        out: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        match change {
            Resolved::Insert { rel, new } => {
                header.push(out, "insert", lsn, origin);
                self.row_change(lsn, rel, Some(new), None, out)?;
            }
            Resolved::Update { rel, old, new } => {
                header.push(out, "update", lsn, origin);
                self.row_change(lsn, rel, new.as_ref(), Some(old.as_ref()), out)?;
            }
            Resolved::Delete { rel, old } => {
                header.push(out, "delete", lsn, origin);
                self.row_change(lsn, rel, None, Some(old.as_ref()), out)?;
            }
            Resolved::Truncate {
                rels,
                cascade,
                restart_seqs,
            } => {
                header.push(out, "truncate", lsn, origin);
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
                header.push(out, "message", lsn, origin);
                push_message(out, true, prefix, content);
            }
        }
        out.extend_from_slice(b"}\n");
        Ok(())
    }

    /// `"schema":…,"table":…,"relid":…,"columns":…,"old_key":…[,"unchanged_toast":[…]]`.
    /// `old` is `None` for an insert, `Some(None)` when the old tuple was not logged.
    fn row_change(
        &mut self,
        lsn: Lsn,
        rel: &Relation,
        new: Option<&Row<'c, '_>>,
        old: Option<Option<&Row<'c, '_>>>,
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
                    self.column(lsn, rel, col, value, out)?;
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
                    self.column(lsn, rel, col, value, out)?;
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
        &mut self,
        lsn: Lsn,
        rel: &Relation,
        col: &Column,
        value: &Value<'_>,
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
        match value {
            Value::Bytes(bytes) => {
                self.text.clear();
                types::write_output(
                    self.catalog(),
                    col.type_oid,
                    bytes,
                    &self.ctx,
                    &mut self.text,
                )
                .map_err(|source| OutputError::Value {
                    lsn,
                    relation: format!("{}.{}", rel.namespace, rel.name),
                    column: col.name.clone(),
                    source: Box::new(source),
                })?;
                push_str(out, &self.text);
            }
            // An old key never holds an unchanged TOAST value (PostgreSQL logs it
            // flattened); shown as null should one appear.
            Value::Null | Value::UnchangedToast => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
        Ok(())
    }
}

/// Whether a column of a logged old tuple belongs to the old key: every column with
/// REPLICA IDENTITY FULL, the identity index's columns otherwise (the other columns of the
/// logged tuple are nulls that stand for "not logged").
fn in_old_key(rel: &Relation, col: &Column, value: &Value<'_>) -> bool {
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
