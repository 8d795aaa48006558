//! The text of PostgreSQL's `test_decoding` output plugin, message by message.

use crate::catalog::Catalog;
use crate::logical::{Event, Txn, TxnEnd};
use crate::tuple::types::{self, OutputContext};

use super::ident::{push_qualified_identifier, push_quoted_identifier};
use super::{OutputError, Resolved, Resolver, Row, Sink, Value};

const TIMESTAMPTZ_OID: u32 = 1184;

/// The plugin options (`pg_recvlogical -o name=value`).
#[derive(Clone, Debug)]
pub struct Options {
    pub include_xids: bool,
    pub include_timestamp: bool,
    pub skip_empty_xacts: bool,
    pub only_local: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            include_xids: true,
            include_timestamp: false,
            skip_empty_xacts: false,
            only_local: false,
        }
    }
}

/// Parses one option as test_decoding does (`parse_bool`; no value means true).
pub fn set_option(opts: &mut Options, name: &str, value: Option<&str>) -> Result<(), String> {
    let flag = match value {
        None => true,
        Some(v) => parse_bool(v)
            .ok_or_else(|| format!("could not parse value \"{v}\" for parameter \"{name}\""))?,
    };
    match name {
        "include-xids" => opts.include_xids = flag,
        "include-timestamp" => opts.include_timestamp = flag,
        "skip-empty-xacts" => opts.skip_empty_xacts = flag,
        "only-local" => opts.only_local = flag,
        // Accepted and without effect offline: rewrites are not decoded, output is text,
        // and transactions are never streamed.
        "include-rewrites" | "force-binary" | "stream-changes" => {}
        _ => {
            return Err(format!(
                "option \"{name}\" = \"{}\" is unknown",
                value.unwrap_or("(null)")
            ))
        }
    }
    Ok(())
}

/// PostgreSQL's `parse_bool`: on/off, true/false, yes/no, 1/0 and unique prefixes.
pub fn parse_bool(v: &str) -> Option<bool> {
    let l = v.trim().to_ascii_lowercase();
    let prefix_of = |word: &str| !l.is_empty() && word.starts_with(l.as_str());
    match l.as_str() {
        "1" => Some(true),
        "0" => Some(false),
        "on" => Some(true),
        "of" | "off" => Some(false),
        _ if prefix_of("true") || prefix_of("yes") => Some(true),
        _ if prefix_of("false") || prefix_of("no") => Some(false),
        _ => None,
    }
}

/// `quote_literal_cstr`.
fn push_quoted_literal(out: &mut Vec<u8>, s: &str) {
    if s.contains('\\') {
        out.push(b'E');
    }
    out.push(b'\'');
    for c in s.bytes() {
        if c == b'\'' || c == b'\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push(b'\'');
}

/// A relation's quoted name and column headers (` name[type]:`), built once per relation:
/// quoting and type-name lookups are otherwise the bulk of the work per row.
struct RelNames {
    table: String,
    /// Indexed by `attnum - 1`.
    headers: Vec<String>,
}

pub struct Writer<'c> {
    names: std::cell::RefCell<rustc_hash::FxHashMap<u32, std::rc::Rc<RelNames>>>,
    opts: Options,
    resolver: Resolver<'c>,
    ctx: OutputContext,
    major: u32,
    text: String,
}

impl<'c> Writer<'c> {
    pub fn new(opts: Options, resolver: Resolver<'c>, ctx: OutputContext) -> Writer<'c> {
        let major = resolver.catalog().file.server_version_num / 10000;
        Writer {
            names: Default::default(),
            opts,
            resolver,
            ctx,
            major,
            text: String::new(),
        }
    }

    fn catalog(&self) -> &'c Catalog {
        self.resolver.catalog()
    }

    fn names(&self, rel: &crate::catalog::Relation) -> std::rc::Rc<RelNames> {
        if let Some(n) = self.names.borrow().get(&rel.oid) {
            return n.clone();
        }
        let mut table = String::new();
        push_qualified_identifier(&mut table, &rel.namespace, &rel.name, self.major);
        let headers = rel
            .columns
            .iter()
            .flatten()
            .map(|col| {
                let mut h = String::from(" ");
                push_quoted_identifier(&mut h, &col.name, self.major);
                h.push('[');
                h.push_str(&super::decoding_type_name(self.catalog(), col, self.major));
                h.push_str("]:");
                h
            })
            .collect();
        let names = std::rc::Rc::new(RelNames { table, headers });
        self.names.borrow_mut().insert(rel.oid, names.clone());
        names
    }

    /// Appends the messages for one event, each followed by a newline as `pg_recvlogical -f`
    /// writes them.
    pub fn write_event(
        &mut self,
        event: &mut Event,
        out: &mut Sink<'_>,
    ) -> Result<(), OutputError> {
        match event {
            Event::Message {
                origin,
                prefix,
                content,
                ..
            } => {
                if self.opts.only_local && origin.is_some() {
                    return Ok(());
                }
                write_message(out, false, prefix, content);
                Ok(())
            }
            Event::Txn(txn) => self.write_txn(txn, out),
        }
    }

    fn timestamp(&mut self, t: i64) -> Result<String, OutputError> {
        let mut s = String::new();
        types::write_output(
            self.catalog(),
            TIMESTAMPTZ_OID,
            &t.to_le_bytes(),
            &self.ctx,
            &mut s,
        )
        .map_err(|source| OutputError::Value {
            lsn: crate::wal::lsn::Lsn(0),
            relation: "(commit time)".into(),
            column: "time".into(),
            source: Box::new(source),
        })?;
        Ok(s)
    }

    fn begin_line(&self, txn: &Txn, out: &mut Vec<u8>) {
        if self.opts.include_xids {
            out.extend_from_slice(format!("BEGIN {}\n", txn.xid).as_bytes());
        } else {
            out.extend_from_slice(b"BEGIN\n");
        }
    }

    fn write_txn(&mut self, txn: &mut Txn, out: &mut Sink<'_>) -> Result<(), OutputError> {
        if self.opts.only_local && txn.origin.is_some() {
            return Ok(());
        }
        let gid = txn.gid.as_deref().unwrap_or("");
        let at = |w: &mut Self, out: &mut Vec<u8>| -> Result<(), OutputError> {
            if w.opts.include_timestamp {
                let ts = w.timestamp(txn.time)?;
                out.extend_from_slice(format!(" (at {ts})").as_bytes());
            }
            Ok(())
        };
        let txid = |w: &Self, out: &mut Vec<u8>| {
            if w.opts.include_xids {
                out.extend_from_slice(format!(", txid {}", txn.xid).as_bytes());
            }
        };
        match txn.end {
            TxnEnd::CommitPrepared | TxnEnd::RollbackPrepared => {
                out.extend_from_slice(if txn.end == TxnEnd::CommitPrepared {
                    b"COMMIT PREPARED "
                } else {
                    b"ROLLBACK PREPARED "
                });
                push_quoted_literal(out, gid);
                txid(self, out);
                at(self, out)?;
                out.push(b'\n');
                return Ok(());
            }
            TxnEnd::Commit | TxnEnd::Prepare => {}
        }
        if !self.opts.skip_empty_xacts {
            self.begin_line(txn, out);
        }
        let mut wrote = false;
        self.resolver.begin();
        while let Some(change) = txn.changes.next_change()? {
            let change = &change;
            let more_from_same_record = txn.changes.peek_lsn() == Some(change.lsn);
            if self.opts.only_local && change.origin.is_some() {
                continue;
            }
            let Some(resolved) = self.resolver.resolve(change, more_from_same_record)? else {
                continue;
            };
            // Before PostgreSQL 17 a transactional message neither opened the transaction
            // nor counted as a change for skip-empty-xacts.
            let counts = self.major >= 17 || !matches!(resolved, Resolved::Message { .. });
            if counts {
                if self.opts.skip_empty_xacts && !wrote {
                    self.begin_line(txn, out);
                }
                wrote = true;
            }
            self.write_change(change.lsn, &resolved, out)?;
            out.maybe_flush()?;
        }
        if self.opts.skip_empty_xacts && !wrote {
            return Ok(());
        }
        if txn.end == TxnEnd::Prepare {
            out.extend_from_slice(b"PREPARE TRANSACTION ");
            push_quoted_literal(out, gid);
            txid(self, out);
        } else if self.opts.include_xids {
            out.extend_from_slice(format!("COMMIT {}", txn.xid).as_bytes());
        } else {
            out.extend_from_slice(b"COMMIT");
        }
        at(self, out)?;
        out.push(b'\n');
        Ok(())
    }

    fn write_change(
        &mut self,
        lsn: crate::wal::lsn::Lsn,
        change: &Resolved<'c, '_>,
        out: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        let mut s = std::mem::take(&mut self.text);
        s.clear();
        let result = self.change_text(lsn, change, &mut s);
        if result.is_ok() {
            match change {
                Resolved::Message { prefix, content } => write_message(out, true, prefix, content),
                _ => {
                    out.extend_from_slice(s.as_bytes());
                    out.push(b'\n');
                }
            }
        }
        self.text = s;
        result
    }

    fn change_text(
        &self,
        lsn: crate::wal::lsn::Lsn,
        change: &Resolved<'c, '_>,
        s: &mut String,
    ) -> Result<(), OutputError> {
        let table = |s: &mut String, rel: &crate::catalog::Relation| {
            s.push_str("table ");
            s.push_str(&self.names(rel).table);
            s.push(':');
        };
        match change {
            Resolved::Insert { rel, new } => {
                table(s, rel);
                s.push_str(" INSERT:");
                self.tuple(lsn, rel, new, false, s)?;
            }
            Resolved::Update { rel, old, new } => {
                table(s, rel);
                s.push_str(" UPDATE:");
                if let Some(old) = old {
                    s.push_str(" old-key:");
                    self.tuple(lsn, rel, old, true, s)?;
                    s.push_str(" new-tuple:");
                }
                match new {
                    Some(new) => self.tuple(lsn, rel, new, false, s)?,
                    None => s.push_str(" (no-tuple-data)"),
                }
            }
            Resolved::Delete { rel, old } => {
                table(s, rel);
                s.push_str(" DELETE:");
                match old {
                    Some(old) => self.tuple(lsn, rel, old, true, s)?,
                    None => s.push_str(" (no-tuple-data)"),
                }
            }
            Resolved::Truncate {
                rels,
                cascade,
                restart_seqs,
            } => {
                s.push_str("table ");
                for (i, rel) in rels.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    push_qualified_identifier(s, &rel.namespace, &rel.name, self.major);
                }
                s.push_str(": TRUNCATE:");
                if *restart_seqs || *cascade {
                    if *restart_seqs {
                        s.push_str(" restart_seqs");
                    }
                    if *cascade {
                        s.push_str(" cascade");
                    }
                } else {
                    s.push_str(" (no-flags)");
                }
            }
            Resolved::Message { .. } => {}
        }
        Ok(())
    }

    /// `tuple_to_stringinfo`.
    fn tuple(
        &self,
        lsn: crate::wal::lsn::Lsn,
        rel: &crate::catalog::Relation,
        row: &Row<'c, '_>,
        skip_nulls: bool,
        s: &mut String,
    ) -> Result<(), OutputError> {
        let mut text = String::new();
        let names = self.names(rel);
        for (col, value) in &row.values {
            if skip_nulls && *value == Value::Null {
                continue;
            }
            // The catalog lists a relation's columns by attnum from 1 on, so attnum indexes the
            // headers; a hand-edited catalog that does not gets its header built here.
            match usize::try_from(col.attnum - 1)
                .ok()
                .and_then(|i| names.headers.get(i))
            {
                Some(h) => s.push_str(h),
                None => {
                    s.push(' ');
                    push_quoted_identifier(s, &col.name, self.major);
                    s.push('[');
                    s.push_str(&super::decoding_type_name(self.catalog(), col, self.major));
                    s.push_str("]:");
                }
            }
            match value {
                Value::Null => s.push_str("null"),
                Value::UnchangedToast => s.push_str("unchanged-toast-datum"),
                Value::Bytes(bytes) => {
                    text.clear();
                    types::write_output(self.catalog(), col.type_oid, bytes, &self.ctx, &mut text)
                        .map_err(|source| OutputError::Value {
                            lsn,
                            relation: format!("{}.{}", rel.namespace, rel.name),
                            column: col.name.clone(),
                            source: Box::new(source),
                        })?;
                    print_literal(s, col.type_oid, &text);
                }
            }
        }
        Ok(())
    }
}

/// `print_literal`: numbers bare, bits as B'…', booleans as true/false, the rest quoted.
fn print_literal(s: &mut String, type_oid: u32, text: &str) {
    const INT2: u32 = 21;
    const INT4: u32 = 23;
    const INT8: u32 = 20;
    const OID: u32 = 26;
    const FLOAT4: u32 = 700;
    const FLOAT8: u32 = 701;
    const NUMERIC: u32 = 1700;
    const BIT: u32 = 1560;
    const VARBIT: u32 = 1562;
    const BOOL: u32 = 16;
    match type_oid {
        INT2 | INT4 | INT8 | OID | FLOAT4 | FLOAT8 | NUMERIC => s.push_str(text),
        BIT | VARBIT => {
            s.push_str("B'");
            s.push_str(text);
            s.push('\'');
        }
        BOOL => s.push_str(if text == "t" { "true" } else { "false" }),
        _ => {
            s.push('\'');
            for c in text.chars() {
                if c == '\'' {
                    s.push('\'');
                }
                s.push(c);
            }
            s.push('\'');
        }
    }
}

fn write_message(out: &mut Vec<u8>, transactional: bool, prefix: &[u8], content: &[u8]) {
    out.extend_from_slice(b"message: transactional: ");
    out.extend_from_slice(if transactional { b"1" } else { b"0" });
    out.extend_from_slice(b" prefix: ");
    out.extend_from_slice(prefix);
    out.extend_from_slice(format!(", sz: {} content:", content.len()).as_bytes());
    out.extend_from_slice(content);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bool_parsing_like_postgres() {
        for (v, want) in [
            ("1", Some(true)),
            ("0", Some(false)),
            ("on", Some(true)),
            ("off", Some(false)),
            ("of", Some(false)),
            ("o", None),
            ("t", Some(true)),
            ("fal", Some(false)),
            ("y", Some(true)),
            ("n", Some(false)),
            ("maybe", None),
        ] {
            assert_eq!(parse_bool(v), want, "{v}");
        }
        let mut v = Vec::new();
        push_quoted_literal(&mut v, "it's");
        assert_eq!(v, b"'it''s'");
        v.clear();
        push_quoted_literal(&mut v, "a\\b");
        assert_eq!(v, b"E'a\\\\b'");
    }
}
