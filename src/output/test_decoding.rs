//! The text of PostgreSQL's `test_decoding` output plugin, message by message.

use crate::catalog::{Catalog, Column, Relation};
use crate::logical::{Change, LoggedTuple, Message, Txn, TxnEnd};
use crate::tuple::types::OutputContext;

use super::driver::Plugin;
use super::ident::{push_qualified_identifier, push_quoted_identifier};
use super::{
    stored_row_parts, Job, OutputError, Raw, Resolved, Row, RowAction, RowParts, Sink, Value,
    ValueScratch,
};

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
    /// Where values are printed before quoting ([`Job::value_text`]).
    value_scratch: ValueScratch,
    names: std::cell::RefCell<rustc_hash::FxHashMap<u32, std::rc::Rc<RelNames>>>,
    opts: Options,
    catalog: &'c Catalog,
    ctx: OutputContext,
    major: u32,
    /// Something of the current transaction was written (skip-empty-xacts).
    wrote: bool,
}

impl<'c> Writer<'c> {
    pub fn new(opts: Options, catalog: &'c Catalog, ctx: OutputContext) -> Writer<'c> {
        let major = catalog.file.server_version_num / 10000;
        Writer {
            value_scratch: ValueScratch::default(),
            names: Default::default(),
            opts,
            catalog,
            ctx,
            major,
            wrote: false,
        }
    }

    fn catalog(&self) -> &'c Catalog {
        self.catalog
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

    fn begin_line(&self, txn: &Txn, out: &mut Vec<u8>) {
        if self.opts.include_xids {
            out.extend_from_slice(b"BEGIN ");
            push_u32(out, txn.xid);
            out.push(b'\n');
        } else {
            out.extend_from_slice(b"BEGIN\n");
        }
    }

    /// ` (at TIME)` with include-timestamp.
    fn at(&self, txn: &Txn, out: &mut Vec<u8>) -> Result<(), OutputError> {
        if self.opts.include_timestamp {
            out.extend_from_slice(b" (at ");
            out.extend_from_slice(
                super::commit_time_text(self.catalog, &self.ctx, txn.time, txn.end_lsn)?.as_bytes(),
            );
            out.push(b')');
        }
        Ok(())
    }

    fn txid(&self, txn: &Txn, out: &mut Vec<u8>) {
        if self.opts.include_xids {
            out.extend_from_slice(b", txid ");
            push_u32(out, txn.xid);
        }
    }
}

/// Each message is followed by a newline, as `pg_recvlogical -f` writes them.
impl<'c> Plugin<'c> for Writer<'c> {
    fn skips_txn(&self, txn: &Txn) -> bool {
        self.opts.only_local && txn.origin.is_some()
    }

    fn skips_origin(&self, origin: Option<u16>) -> bool {
        self.opts.only_local && origin.is_some()
    }

    fn set_catalog(&mut self, catalog: &'c Catalog) {
        self.catalog = catalog;
        self.names.borrow_mut().clear();
    }

    fn message(&mut self, msg: &Message, out: &mut Sink<'_>) -> Result<(), OutputError> {
        if !self.skips_origin(msg.origin) {
            write_message(out, false, &msg.prefix, &msg.content);
        }
        Ok(())
    }

    fn begin(&mut self, txn: &Txn, out: &mut Sink<'_>) -> Result<(), OutputError> {
        self.wrote = false;
        match txn.end {
            TxnEnd::CommitPrepared | TxnEnd::RollbackPrepared => {
                out.extend_from_slice(if txn.end == TxnEnd::CommitPrepared {
                    b"COMMIT PREPARED "
                } else {
                    b"ROLLBACK PREPARED "
                });
                push_quoted_literal(out, txn.gid.as_deref().unwrap_or(""));
                self.txid(txn, out);
                self.at(txn, out)?;
                out.push(b'\n');
            }
            TxnEnd::Commit | TxnEnd::Prepare if !self.opts.skip_empty_xacts => {
                self.begin_line(txn, out)
            }
            TxnEnd::Commit | TxnEnd::Prepare => {}
        }
        Ok(())
    }

    fn change(
        &mut self,
        txn: &Txn,
        change: &Change,
        resolved: &Resolved<'c>,
        out: &mut Sink<'_>,
    ) -> Result<(), OutputError> {
        // Before PostgreSQL 17 a transactional message neither opened the transaction
        // nor counted as a change for skip-empty-xacts.
        if self.major >= 17 || !matches!(resolved, Resolved::Message { .. }) {
            self.count_change(txn, out);
        }
        if let Resolved::Message { prefix, content } = resolved {
            write_message(out, true, prefix, content);
            return Ok(());
        }
        // Written in place; a change whose value cannot be printed leaves nothing behind.
        let at = out.len();
        let result = self.change_text(change.lsn, resolved, out);
        match result {
            Ok(()) => out.push(b'\n'),
            Err(_) => out.truncate(at),
        }
        result
    }

    fn change_from_tuples<'t>(
        &mut self,
        txn: &Txn,
        change: &'t Change,
        job: &Job<'c>,
        ctx: &OutputContext,
        out: &mut Sink<'_>,
    ) -> Result<bool, OutputError> {
        let Some(rel) = job.row_relation() else {
            return Ok(false);
        };
        self.count_change(txn, out);
        let at = out.len();
        let result = self.row_change_text(change, job, rel, ctx, out);
        match result {
            Ok(()) => out.push(b'\n'),
            Err(_) => out.truncate(at),
        }
        result.map(|()| true)
    }

    fn end(&mut self, txn: &Txn, out: &mut Sink<'_>) -> Result<(), OutputError> {
        match txn.end {
            TxnEnd::CommitPrepared | TxnEnd::RollbackPrepared => return Ok(()),
            _ if self.opts.skip_empty_xacts && !self.wrote => return Ok(()),
            TxnEnd::Prepare => {
                out.extend_from_slice(b"PREPARE TRANSACTION ");
                push_quoted_literal(out, txn.gid.as_deref().unwrap_or(""));
                self.txid(txn, out);
            }
            TxnEnd::Commit if self.opts.include_xids => {
                out.extend_from_slice(b"COMMIT ");
                push_u32(out, txn.xid);
            }
            TxnEnd::Commit => out.extend_from_slice(b"COMMIT"),
        }
        self.at(txn, out)?;
        out.push(b'\n');
        Ok(())
    }
}

fn push_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

impl<'c> Writer<'c> {
    /// A change that counts for skip-empty-xacts: the first one opens the transaction.
    fn count_change(&mut self, txn: &Txn, out: &mut Vec<u8>) {
        if self.opts.skip_empty_xacts && !self.wrote {
            self.begin_line(txn, out);
        }
        self.wrote = true;
    }

    /// The text of an INSERT, UPDATE or DELETE, printed from its tuples: what
    /// [`Writer::change_text`] prints from rendered rows.
    fn row_change_text<'t>(
        &mut self,
        change: &'t Change,
        job: &Job<'c>,
        rel: &'c Relation,
        ctx: &OutputContext,
        s: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        let names = self.table_prefix(rel, s);
        let parts =
            stored_row_parts(&change.kind).expect("a job with a row relation is a row change");
        row_change_body(s, parts, |s, t: &'t LoggedTuple, skip_nulls| {
            job.for_each_value(change.lsn, rel, t, |col, raw| {
                if skip_nulls && matches!(raw, Raw::Null) {
                    return Ok(());
                }
                self.column_header(&names, col, s);
                match raw {
                    Raw::Null => s.extend_from_slice(b"null"),
                    Raw::UnchangedToast => s.extend_from_slice(b"unchanged-toast-datum"),
                    Raw::Text(text) => print_literal(s, col.type_oid, &text),
                    Raw::Bytes(bytes) => {
                        let text = job.value_text(
                            change.lsn,
                            rel,
                            col,
                            &bytes,
                            ctx,
                            &mut self.value_scratch,
                        )?;
                        print_literal(s, col.type_oid, text);
                    }
                }
                Ok(())
            })
        })
    }

    /// `table NAME:`; returns the relation's names.
    #[inline]
    fn table_prefix(&self, rel: &Relation, s: &mut Vec<u8>) -> std::rc::Rc<RelNames> {
        let names = self.names(rel);
        s.extend_from_slice(b"table ");
        s.extend_from_slice(names.table.as_bytes());
        s.push(b':');
        names
    }

    /// ` name[type]:` of a column.
    fn column_header(&self, names: &RelNames, col: &Column, s: &mut Vec<u8>) {
        // The catalog lists a relation's columns by attnum from 1 on, so attnum indexes the
        // headers; a hand-edited catalog that does not gets its header built here.
        match usize::try_from(col.attnum - 1)
            .ok()
            .and_then(|i| names.headers.get(i))
        {
            Some(h) => s.extend_from_slice(h.as_bytes()),
            None => {
                let mut header = String::from(" ");
                push_quoted_identifier(&mut header, &col.name, self.major);
                header.push('[');
                header.push_str(&super::decoding_type_name(self.catalog(), col, self.major));
                header.push_str("]:");
                s.extend_from_slice(header.as_bytes());
            }
        }
    }

    fn change_text(
        &self,
        lsn: crate::wal::lsn::Lsn,
        change: &Resolved<'c>,
        s: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        if let Some((rel, parts)) = change.row_parts() {
            let names = self.table_prefix(rel, s);
            return row_change_body(s, parts, |s, row, skip_nulls| {
                self.tuple(lsn, rel, &names, row, skip_nulls, s)
            });
        }
        match change {
            Resolved::Insert { .. } | Resolved::Update { .. } | Resolved::Delete { .. } => {
                unreachable!("row changes are written above")
            }
            Resolved::Truncate {
                rels,
                cascade,
                restart_seqs,
            } => {
                s.extend_from_slice(b"table ");
                for (i, rel) in rels.iter().enumerate() {
                    if i > 0 {
                        s.extend_from_slice(b", ");
                    }
                    let mut name = String::new();
                    push_qualified_identifier(&mut name, &rel.namespace, &rel.name, self.major);
                    s.extend_from_slice(name.as_bytes());
                }
                s.extend_from_slice(b": TRUNCATE:");
                if *restart_seqs || *cascade {
                    if *restart_seqs {
                        s.extend_from_slice(b" restart_seqs");
                    }
                    if *cascade {
                        s.extend_from_slice(b" cascade");
                    }
                } else {
                    s.extend_from_slice(b" (no-flags)");
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
        names: &RelNames,
        row: &Row<'c>,
        skip_nulls: bool,
        s: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        for (col, value) in &row.values {
            if skip_nulls && *value == Value::Null {
                continue;
            }
            self.column_header(names, col, s);
            match value {
                Value::Null => s.extend_from_slice(b"null"),
                Value::UnchangedToast => s.extend_from_slice(b"unchanged-toast-datum"),
                _ => {
                    let text = row.text_of(lsn, rel, col, value)?.unwrap_or_default();
                    print_literal(s, col.type_oid, text);
                }
            }
        }
        Ok(())
    }
}

/// What follows `table NAME:` for an INSERT, UPDATE or DELETE; `tuple` prints a tuple's
/// columns, leaving out NULLs when asked (an old key).
fn row_change_body<T>(
    s: &mut Vec<u8>,
    parts: RowParts<T>,
    mut tuple: impl FnMut(&mut Vec<u8>, T, bool) -> Result<(), OutputError>,
) -> Result<(), OutputError> {
    let RowParts { action, old, new } = parts;
    match action {
        RowAction::Insert => {
            s.extend_from_slice(b" INSERT:");
            if let Some(new) = new {
                tuple(s, new, false)?;
            }
        }
        RowAction::Update => {
            s.extend_from_slice(b" UPDATE:");
            if let Some(old) = old {
                s.extend_from_slice(b" old-key:");
                tuple(s, old, true)?;
                s.extend_from_slice(b" new-tuple:");
            }
            match new {
                Some(new) => tuple(s, new, false)?,
                None => s.extend_from_slice(b" (no-tuple-data)"),
            }
        }
        RowAction::Delete => {
            s.extend_from_slice(b" DELETE:");
            match old {
                Some(old) => tuple(s, old, true)?,
                None => s.extend_from_slice(b" (no-tuple-data)"),
            }
        }
    }
    Ok(())
}

/// `print_literal`: numbers bare, bits as B'…', booleans as true/false, the rest quoted.
/// Numbers, most values, are written here, inlined where values are printed.
#[inline]
fn print_literal(s: &mut Vec<u8>, type_oid: u32, text: &str) {
    use crate::catalog::type_oids::*;
    match type_oid {
        INT2 | INT4 | INT8 | OID | FLOAT4 | FLOAT8 | NUMERIC => {
            s.extend_from_slice(text.as_bytes())
        }
        _ => print_other_literal(s, type_oid, text),
    }
}

/// [`print_literal`] of anything but a number.
fn print_other_literal(s: &mut Vec<u8>, type_oid: u32, text: &str) {
    use crate::catalog::type_oids::*;
    match type_oid {
        BIT | VARBIT => {
            s.extend_from_slice(b"B'");
            s.extend_from_slice(text.as_bytes());
            s.push(b'\'');
        }
        BOOL => s.extend_from_slice(if text == "t" { "true" } else { "false" }.as_bytes()),
        _ => {
            s.push(b'\'');
            let mut rest = text;
            while let Some(i) = rest.find('\'') {
                s.extend_from_slice(&rest.as_bytes()[..=i]);
                s.push(b'\'');
                rest = &rest[i + 1..];
            }
            s.extend_from_slice(rest.as_bytes());
            s.push(b'\'');
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
