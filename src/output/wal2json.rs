//! The text of the wal2json output plugin (version 2.5), format versions 1 and 2.
//!
//! Format 1 prints one JSON document per transaction (`{"change":[…]}`), format 2 one JSON
//! object per change, with optional BEGIN and COMMIT objects. Both follow wal2json's quirks
//! exactly: NaN and ±Infinity print as `null`, unchanged TOAST columns are left out, type
//! names that start with a double quote are not escaped again, and in format 1 a
//! non-transactional message counts the changes of the transaction before it when it decides
//! whether to print a leading comma.

use crate::catalog::type_oids::*;
use crate::catalog::{Catalog, Column, Relation};
use crate::logical::{Change, LoggedTuple, Message, Txn, TxnEnd};
use crate::tuple::types::OutputContext;
use crate::wal::lsn::Lsn;

use super::driver::Plugin;
use super::ident::push_qualified_identifier;
use super::{
    stored_row_parts, Job, OutputError, Raw, Resolved, Row, RowAction, RowParts, Sink, Value,
    ValueScratch,
};

const BOOL: u32 = 16;

/// Which changes are printed (`actions`).
#[derive(Clone, Debug)]
pub struct Actions {
    pub insert: bool,
    pub update: bool,
    pub delete: bool,
    pub truncate: bool,
}

/// One entry of `filter-tables` / `add-tables`: `schema.table`, `*` for any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectTable {
    pub schema: String,
    pub table: String,
    pub all_schemas: bool,
    pub all_tables: bool,
}

impl SelectTable {
    fn matches(&self, schema: &str, table: &str) -> bool {
        (self.all_schemas || self.schema == schema) && (self.all_tables || self.table == table)
    }
}

/// The plugin options (`pg_recvlogical -o name=value`), with wal2json's defaults.
#[derive(Clone, Debug)]
pub struct Options {
    pub format_version: i32,
    pub include_transaction: bool,
    pub include_xids: bool,
    pub include_timestamp: bool,
    pub include_origin: bool,
    pub include_schemas: bool,
    pub include_types: bool,
    pub include_type_oids: bool,
    pub include_typmod: bool,
    pub include_domain_data_type: bool,
    pub include_column_positions: bool,
    pub include_not_null: bool,
    pub include_pk: bool,
    pub include_lsn: bool,
    pub pretty_print: bool,
    pub actions: Actions,
    pub filter_origins: Vec<u32>,
    pub filter_tables: Vec<SelectTable>,
    pub add_tables: Vec<SelectTable>,
    pub filter_msg_prefixes: Vec<String>,
    pub add_msg_prefixes: Vec<String>,
    /// Horizontal tab, newline and space of `pretty-print` (empty otherwise). Kept apart from
    /// `pretty_print` as wal2json does: `pretty-print=0` after `pretty-print=1` keeps them.
    ht: &'static str,
    nl: &'static str,
    sp: &'static str,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            format_version: 1,
            include_transaction: true,
            include_xids: false,
            include_timestamp: false,
            include_origin: false,
            include_schemas: true,
            include_types: true,
            include_type_oids: false,
            include_typmod: true,
            include_domain_data_type: false,
            include_column_positions: false,
            include_not_null: false,
            include_pk: false,
            include_lsn: false,
            pretty_print: false,
            actions: Actions {
                insert: true,
                update: true,
                delete: true,
                truncate: true,
            },
            filter_origins: Vec::new(),
            filter_tables: Vec::new(),
            add_tables: vec![SelectTable {
                schema: String::new(),
                table: String::new(),
                all_schemas: true,
                all_tables: true,
            }],
            filter_msg_prefixes: Vec::new(),
            add_msg_prefixes: Vec::new(),
            ht: "",
            nl: "",
            sp: "",
        }
    }
}

/// PostgreSQL's `parse_bool` (no surrounding whitespace allowed): on/off, true/false,
/// yes/no, 1/0 and unique prefixes, case-insensitive.
fn parse_bool(v: &str) -> Option<bool> {
    let l = v.to_ascii_lowercase();
    let prefix_of = |word: &str| !l.is_empty() && word.starts_with(l.as_str());
    match l.as_str() {
        "1" => Some(true),
        "0" => Some(false),
        "on" => Some(true),
        "of" | "off" => Some(false),
        _ if l.len() >= 2 && "on".starts_with(l.as_str()) => Some(true),
        _ if prefix_of("true") || prefix_of("yes") => Some(true),
        _ if prefix_of("false") || prefix_of("no") => Some(false),
        _ => None,
    }
}

/// PostgreSQL's `parse_int` without units: `strtol(…, 0)` (decimal, 0x hex, 0 octal), a
/// fractional part rounded, trailing whitespace allowed.
fn parse_int(v: &str) -> Option<i32> {
    let s = v.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if rest.len() > 2
        && (rest.starts_with("0x") || rest.starts_with("0X"))
        && rest.as_bytes()[2].is_ascii_hexdigit()
    {
        (16, &rest[2..])
    } else if rest.starts_with('0') {
        (8, rest)
    } else {
        (10, rest)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let mut val = i64::from_str_radix(&digits[..end], radix).ok()?;
    if neg {
        val = -val;
    }
    let mut tail = &digits[end..];
    if radix != 16 && (tail.starts_with('.') || tail.starts_with('e') || tail.starts_with('E')) {
        // strtod over the whole number, then rint.
        let num_end = s
            .char_indices()
            .skip(1)
            .find(|&(i, c)| {
                !(c.is_ascii_digit()
                    || c == '.'
                    || ((c == 'e' || c == 'E') && i > 0)
                    || ((c == '-' || c == '+') && matches!(s.as_bytes()[i - 1], b'e' | b'E')))
            })
            .map_or(s.len(), |(i, _)| i);
        let f: f64 = s[..num_end].parse().ok()?;
        let r = f.round();
        // rint rounds half to even.
        let r = if (f - f.trunc()).abs() == 0.5 {
            2.0 * (f / 2.0).round()
        } else {
            r
        };
        if !r.is_finite() || r > i32::MAX as f64 || r < i32::MIN as f64 {
            return None;
        }
        val = r as i64;
        tail = &s[num_end..];
    }
    if !tail
        .trim_start_matches(|c: char| c.is_ascii_whitespace())
        .is_empty()
    {
        return None;
    }
    i32::try_from(val).ok()
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The items of a wal2json list option: separated by `separator` with optional whitespace
/// around them; a backslash makes the next character part of the item (the backslash is
/// kept). `None` on invalid syntax, or on an empty item unless `allow_empty`.
fn split_items(raw: &str, separator: u8, allow_empty: bool) -> Option<Vec<&[u8]>> {
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() && is_space(b[i]) {
        i += 1;
    }
    let mut out = Vec::new();
    if i == b.len() {
        return Some(out);
    }
    loop {
        let start = i;
        while i < b.len() && b[i] != separator && !is_space(b[i]) {
            if b[i] == b'\\' {
                i += 1;
            }
            i += 1;
        }
        let end = i.min(b.len());
        i = end;
        if start == end && !allow_empty {
            return None;
        }
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        let done = if i < b.len() && b[i] == separator {
            i += 1;
            while i < b.len() && is_space(b[i]) {
                i += 1;
            }
            false
        } else if i == b.len() {
            true
        } else {
            return None;
        };
        out.push(&b[start..end]);
        if done {
            return Some(out);
        }
    }
}

/// wal2json's `split_string_to_list`.
fn split_list(raw: &str, separator: u8) -> Option<Vec<String>> {
    let items = split_items(raw, separator, false)?;
    Some(
        items
            .into_iter()
            .map(|i| String::from_utf8_lossy(i).into_owned())
            .collect(),
    )
}

/// wal2json's `split_string_to_oid_list`: empty items allowed, each item read with `atoi`.
fn split_oid_list(raw: &str) -> Option<Vec<u32>> {
    let items = split_items(raw, b',', true)?;
    Some(items.into_iter().map(|i| atoi(i) as u32).collect())
}

fn atoi(b: &[u8]) -> i32 {
    let mut i = 0;
    while i < b.len() && is_space(b[i]) {
        i += 1;
    }
    let neg = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut v: i64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        v = (v * 10 + i64::from(b[i] - b'0')).min(1 << 40);
        i += 1;
    }
    (if neg { -v } else { v }) as i32
}

/// Removes wal2json's escape backslashes from `s` (each backslash drops out and protects the
/// character after it) up to the first unescaped `stop` byte; returns the name and where the
/// scan stopped.
fn unescape_until(s: &[u8], stop: Option<u8>) -> (Vec<u8>, usize) {
    let mut name = Vec::new();
    let mut i = 0;
    while i < s.len() && Some(s[i]) != stop {
        if s[i] == b'\\' {
            i += 1;
            if i == s.len() {
                break;
            }
        }
        name.push(s[i]);
        i += 1;
    }
    (name, i)
}

/// wal2json's `string_to_SelectTable`: a comma-separated list of `schema.table`, `*` for all
/// schemas or all tables, backslash escapes for `.`, `,`, `*`, spaces.
fn parse_select_tables(raw: &str) -> Option<Vec<SelectTable>> {
    let mut out = Vec::new();
    for item in split_list(raw, b',')? {
        let b = item.as_bytes();
        let all_schemas = b.len() >= 2 && b[0] == b'*' && b[1] == b'.';
        let (schema, stop) = unescape_until(b, Some(b'.'));
        if stop >= b.len() {
            return None;
        }
        let rest = &b[stop + 1..];
        let all_tables = rest == b"*";
        let (table, _) = unescape_until(rest, None);
        out.push(SelectTable {
            schema: String::from_utf8_lossy(&schema).into_owned(),
            table: String::from_utf8_lossy(&table).into_owned(),
            all_schemas,
            all_tables,
        });
    }
    Some(out)
}

/// Parses one option as wal2json 2.5 does (no value means true for flags). Options wal2json
/// has but pglcr cannot honour offline (`include-default`: the catalog has no column
/// defaults; `write-in-chunks`: the messages would be split differently) are rejected when
/// turned on.
pub fn set_option(opts: &mut Options, name: &str, value: Option<&str>) -> Result<(), String> {
    let bad = |v: &str| format!("could not parse value \"{v}\" for parameter \"{name}\"");
    let flag = || -> Result<bool, String> {
        match value {
            None => Ok(true),
            Some(v) => parse_bool(v).ok_or_else(|| bad(v)),
        }
    };
    match name {
        "include-transaction" => opts.include_transaction = flag()?,
        "include-xids" => opts.include_xids = flag()?,
        "include-timestamp" => opts.include_timestamp = flag()?,
        "include-pk" => opts.include_pk = flag()?,
        "include-origin" => opts.include_origin = flag()?,
        "include-schemas" => opts.include_schemas = flag()?,
        "include-types" => opts.include_types = flag()?,
        "include-type-oids" => opts.include_type_oids = flag()?,
        "include-typmod" => opts.include_typmod = flag()?,
        "include-domain-data-type" => opts.include_domain_data_type = flag()?,
        "include-column-positions" => opts.include_column_positions = flag()?,
        "include-not-null" => opts.include_not_null = flag()?,
        "include-lsn" => opts.include_lsn = flag()?,
        "include-default" => {
            if flag()? {
                return Err(
                    "wal2json option \"include-default\" is not supported: the catalog has no \
                     column default expressions"
                        .into(),
                );
            }
        }
        "write-in-chunks" => {
            if flag()? {
                return Err("wal2json option \"write-in-chunks\" is not supported".into());
            }
        }
        "pretty-print" => {
            opts.pretty_print = flag()?;
            if opts.pretty_print {
                opts.ht = "\t";
                opts.nl = "\n";
                opts.sp = " ";
            }
        }
        "include-unchanged-toast" => {
            return Err(format!("parameter \"{name}\" was deprecated"));
        }
        "actions" => {
            if let Some(v) = value {
                let list = split_list(v, b',').ok_or_else(|| bad(v))?;
                opts.actions = Actions {
                    insert: false,
                    update: false,
                    delete: false,
                    truncate: false,
                };
                for a in list {
                    match a.as_str() {
                        "insert" => opts.actions.insert = true,
                        "update" => opts.actions.update = true,
                        "delete" => opts.actions.delete = true,
                        "truncate" => opts.actions.truncate = true,
                        _ => return Err(bad(&a)),
                    }
                }
            }
        }
        "filter-origins" => match value {
            None => opts.filter_origins.clear(),
            Some(v) => opts
                .filter_origins
                .extend(split_oid_list(v).ok_or_else(|| bad(v))?),
        },
        "filter-tables" => match value {
            None => opts.filter_tables.clear(),
            Some(v) => opts
                .filter_tables
                .extend(parse_select_tables(v).ok_or_else(|| bad(v))?),
        },
        "add-tables" => {
            opts.add_tables.clear();
            if let Some(v) = value {
                opts.add_tables = parse_select_tables(v).ok_or_else(|| bad(v))?;
            }
        }
        "filter-msg-prefixes" => match value {
            None => opts.filter_msg_prefixes.clear(),
            Some(v) => opts
                .filter_msg_prefixes
                .extend(split_list(v, b',').ok_or_else(|| bad(v))?),
        },
        "add-msg-prefixes" => match value {
            None => opts.add_msg_prefixes.clear(),
            Some(v) => opts
                .add_msg_prefixes
                .extend(split_list(v, b',').ok_or_else(|| bad(v))?),
        },
        "format-version" => {
            let v = match value {
                None => 2,
                Some(v) => parse_int(v).ok_or_else(|| bad(v))?,
            };
            if v > 2 {
                return Err(format!(
                    "client sent format_version={v} but we only support format 2 or lower"
                ));
            }
            if v < 1 {
                return Err(format!(
                    "client sent format_version={v} but we only support format 1 or higher"
                ));
            }
            opts.format_version = v;
        }
        _ => {
            return Err(format!(
                "option \"{name}\" = \"{}\" is unknown",
                value.unwrap_or("(null)")
            ))
        }
    }
    Ok(())
}

/// PostgreSQL's `escape_json` over a C string: stops at the first NUL byte.
fn escape_json(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    let mut rest = s;
    loop {
        let plain = plain_prefix(rest);
        out.extend_from_slice(&rest[..plain]);
        let Some(&c) = rest.get(plain) else { break };
        rest = &rest[plain + 1..];
        let escaped: &[u8] = match c {
            // wal2json works on C strings: a NUL ends the text.
            0 => break,
            b'\x08' => b"\\b",
            b'\x0c' => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            c => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 15)]);
                continue;
            }
        };
        out.extend_from_slice(escaped);
    }
    out.push(b'"');
}

/// Whether JSON text needs `c` escaped (or, for NUL, cut there).
fn needs_escape(c: u8) -> bool {
    c < b' ' || c == b'"' || c == b'\\'
}

/// The length of the start of `s` that goes out as it is. Bytes are tested 16 at a time
/// without an early exit, which the compiler turns into vector compares: most values need
/// no escaping at all.
fn plain_prefix(s: &[u8]) -> usize {
    let mut at = 0;
    for chunk in s.chunks_exact(16) {
        if chunk.iter().fold(false, |any, &c| any | needs_escape(c)) {
            break;
        }
        at += 16;
    }
    at + s[at..]
        .iter()
        .position(|&c| needs_escape(c))
        .unwrap_or(s.len() - at)
}

/// A type name as wal2json prints it: `format_type` already quotes identifiers, so a name
/// starting with a double quote goes out as it is, unless (`check_array`) it ends in `]`.
fn push_type_name(out: &mut Vec<u8>, name: &str, check_array: bool) {
    if name.starts_with('"') && !(check_array && name.ends_with(']')) {
        out.extend_from_slice(name.as_bytes());
    } else {
        escape_json(out, name.as_bytes());
    }
}

/// The columns of an index as a set (`RelationGetIndexAttrBitmap`): `None` is the empty set,
/// which wal2json takes as "every column".
fn bitmap(cols: &Option<Vec<i16>>) -> Option<&[i16]> {
    cols.as_deref().filter(|c| c.iter().any(|&a| a > 0))
}

fn in_bitmap(bs: Option<&[i16]>, attnum: i16) -> bool {
    bs.is_none_or(|b| b.contains(&attnum))
}

/// `rd_replidindex` is set: replica identity DEFAULT with a primary key, or USING INDEX.
fn has_replident_index(rel: &Relation) -> bool {
    bitmap(&rel.identity_columns).is_some()
}

fn has_pk_index(rel: &Relation) -> bool {
    rel.primary_key.is_some()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TupleKind {
    Change,
    Identity,
    Pk,
}

/// What a transaction-level field needs: xid and origin.
#[derive(Default)]
struct TxnInfo {
    xid: u32,
    origin: u16,
}

/// The options `tuple_to_stringinfo` looks at.
struct Flags {
    include_types: bool,
    include_type_oids: bool,
    include_column_positions: bool,
    include_not_null: bool,
}

pub struct Writer<'c> {
    opts: Options,
    catalog: &'c Catalog,
    ctx: OutputContext,
    major: u32,
    /// wal2json's `nr_changes`: reset at BEGIN, not at a non-transactional message.
    nr_changes: u64,
    current: Current,
    /// Format 2's quoted names per relation (by OID), built once: type names take catalog
    /// lookups, and names quoting.
    v2_names: rustc_hash::FxHashMap<u32, V2Names>,
    /// Where values are printed ([`Job::value_text`]).
    value_scratch: ValueScratch,
    /// Scratch: where each identity column's entry was written among a row's columns.
    identity_spans: Vec<(usize, usize)>,
}

impl<'c> Writer<'c> {
    pub fn new(opts: Options, catalog: &'c Catalog, ctx: OutputContext) -> Writer<'c> {
        let major = catalog.file.server_version_num / 10000;
        Writer {
            opts,
            catalog,
            ctx,
            major,
            nr_changes: 0,
            current: Current::default(),
            v2_names: Default::default(),
            value_scratch: ValueScratch::default(),
            identity_spans: Vec::new(),
        }
    }

    fn catalog(&self) -> &'c Catalog {
        self.catalog
    }

    fn filtered_origin(&self, origin: Option<u16>) -> bool {
        origin.is_some_and(|o| o != 0 && self.opts.filter_origins.contains(&u32::from(o)))
    }
}

/// A relation's names as format 2 prints them.
#[derive(Default)]
struct V2Names {
    /// `{"name":NAME` and, with include-types, `,"type":TYPE` of each column, by
    /// `attnum - 1`.
    columns: Vec<Option<Vec<u8>>>,
    /// `,"schema":SCHEMA` (with include-schemas) and `,"table":TABLE`.
    schema_table: Vec<u8>,
}

/// The transaction being written.
#[derive(Default)]
struct Current {
    info: TxnInfo,
    /// Its commit time, with include-timestamp.
    ts: String,
    /// Format 1 builds the whole document and writes it at COMMIT.
    doc: Vec<u8>,
}

/// Each message is followed by a newline, as `pg_recvlogical -f` writes them.
impl<'c> Plugin<'c> for Writer<'c> {
    fn skips_txn(&self, txn: &Txn) -> bool {
        // wal2json has no two-phase callbacks, so PostgreSQL decodes prepared transactions
        // at COMMIT PREPARED for it; the decoder is set up that way.
        matches!(txn.end, TxnEnd::CommitPrepared | TxnEnd::RollbackPrepared)
            || self.filtered_origin(txn.origin)
    }

    fn skips_origin(&self, origin: Option<u16>) -> bool {
        self.filtered_origin(origin)
    }

    fn set_catalog(&mut self, catalog: &'c Catalog) {
        self.catalog = catalog;
        self.v2_names.clear();
    }

    fn message(&mut self, msg: &Message, out: &mut Sink<'_>) -> Result<(), OutputError> {
        if !self.filtered_origin(msg.origin) {
            self.message(None, msg.lsn, &msg.prefix, &msg.content, out);
        }
        Ok(())
    }

    fn begin(&mut self, txn: &Txn, out: &mut Sink<'_>) -> Result<(), OutputError> {
        let info = TxnInfo {
            xid: txn.xid,
            origin: txn.origin.unwrap_or(0),
        };
        let ts = if self.opts.include_timestamp {
            super::commit_time_text(self.catalog, &self.ctx, txn.time, txn.end_lsn)?
        } else {
            String::new()
        };
        let (ht, nl, sp) = (self.opts.ht, self.opts.nl, self.opts.sp);
        let mut doc = Vec::new();
        if self.opts.format_version == 1 {
            self.nr_changes = 0;
            doc.push(b'{');
            doc.extend_from_slice(nl.as_bytes());
            if self.opts.include_xids {
                doc.extend_from_slice(format!("{ht}\"xid\":{sp}{},{nl}", txn.xid).as_bytes());
            }
            if self.opts.include_lsn {
                doc.extend_from_slice(
                    format!("{ht}\"nextlsn\":{sp}\"{}\",{nl}", txn.end_next).as_bytes(),
                );
            }
            if self.opts.include_timestamp {
                doc.extend_from_slice(format!("{ht}\"timestamp\":{sp}\"{ts}\",{nl}").as_bytes());
            }
            if self.opts.include_origin {
                doc.extend_from_slice(
                    format!("{ht}\"origin\":{sp}{},{nl}", info.origin).as_bytes(),
                );
            }
            doc.extend_from_slice(format!("{ht}\"change\":{sp}[").as_bytes());
        } else if self.opts.include_transaction {
            self.v2_txn_line(b'B', txn, &ts, out);
        }
        self.current = Current { info, ts, doc };
        Ok(())
    }

    fn change(
        &mut self,
        _txn: &Txn,
        change: &Change,
        resolved: &Resolved<'c>,
        out: &mut Sink<'_>,
    ) -> Result<(), OutputError> {
        let mut cur = std::mem::take(&mut self.current);
        let result = if self.opts.format_version == 1 {
            self.v1_change(&cur.info, change, resolved, &mut cur.doc)
        } else {
            self.v2_change(&cur.info, &cur.ts, change, resolved, out)
        };
        self.current = cur;
        result
    }

    fn change_from_tuples<'t>(
        &mut self,
        _txn: &Txn,
        change: &'t Change,
        job: &Job<'c>,
        ctx: &OutputContext,
        out: &mut Sink<'_>,
    ) -> Result<bool, OutputError> {
        // Format 2 rows without the pk list and without fields only column entries have, so
        // that identity entries are column entries again; the rest goes by rendered rows, as
        // do rows left out, so that their values fail alike whatever the thread count.
        let Some(rel) = job.row_relation() else {
            return Ok(false);
        };
        if self.opts.format_version != 2
            || self.opts.include_pk
            || self.opts.include_not_null
            || self.opts.include_column_positions
        {
            return Ok(false);
        }
        let parts =
            stored_row_parts(&change.kind).expect("a job with a row relation is a row change");
        let Some(action) = self.v2_row_action(rel, &parts) else {
            return Ok(false);
        };
        let cur = std::mem::take(&mut self.current);
        let at = out.len();
        let tuples = TupleSource {
            job,
            ctx,
            lsn: change.lsn,
            rel,
        };
        let result = self.v2_row_line_from_tuples(&cur.info, &cur.ts, action, parts, &tuples, out);
        self.current = cur;
        if result.is_err() {
            out.truncate(at);
        }
        result.map(|()| true)
    }

    fn end(&mut self, txn: &Txn, out: &mut Sink<'_>) -> Result<(), OutputError> {
        let (ht, nl) = (self.opts.ht, self.opts.nl);
        let mut cur = std::mem::take(&mut self.current);
        if self.opts.format_version == 1 {
            cur.doc
                .extend_from_slice(format!("{nl}{ht}]{nl}}}\n").as_bytes());
            out.extend_from_slice(&cur.doc);
        } else if self.opts.include_transaction {
            self.v2_txn_line(b'C', txn, &cur.ts, out);
        }
        Ok(())
    }
}

impl<'c> Writer<'c> {
    fn v2_txn_line(&self, action: u8, txn: &Txn, ts: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"action\":\"");
        out.push(action);
        out.push(b'"');
        if self.opts.include_xids {
            out.extend_from_slice(format!(",\"xid\":{}", txn.xid).as_bytes());
        }
        if self.opts.include_timestamp {
            out.extend_from_slice(format!(",\"timestamp\":\"{ts}\"").as_bytes());
        }
        if self.opts.include_origin {
            out.extend_from_slice(format!(",\"origin\":{}", txn.origin.unwrap_or(0)).as_bytes());
        }
        if self.opts.include_lsn {
            out.extend_from_slice(
                format!(
                    ",\"lsn\":\"{}\",\"nextlsn\":\"{}\"",
                    txn.end_lsn, txn.end_next
                )
                .as_bytes(),
            );
        }
        out.extend_from_slice(b"}\n");
    }

    fn skip_message(&self, prefix: &[u8]) -> bool {
        let prefix = prefix.split(|&b| b == 0).next().unwrap_or(&[]);
        if self
            .opts
            .filter_msg_prefixes
            .iter()
            .any(|p| p.as_bytes() == prefix)
        {
            return true;
        }
        !self.opts.add_msg_prefixes.is_empty()
            && !self
                .opts
                .add_msg_prefixes
                .iter()
                .any(|p| p.as_bytes() == prefix)
    }

    fn skip_table(&self, rel: &Relation) -> bool {
        self.opts
            .filter_tables
            .iter()
            .any(|t| t.matches(&rel.namespace, &rel.name))
            || !self
                .opts
                .add_tables
                .iter()
                .any(|t| t.matches(&rel.namespace, &rel.name))
    }

    /// A logical message; `txn` is `None` for a non-transactional one.
    fn message(
        &mut self,
        txn: Option<(&TxnInfo, &str)>,
        lsn: Lsn,
        prefix: &[u8],
        content: &[u8],
        out: &mut Vec<u8>,
    ) {
        if self.skip_message(prefix) {
            return;
        }
        let (ht, nl, sp) = (self.opts.ht, self.opts.nl, self.opts.sp);
        if self.opts.format_version == 1 {
            let transactional = txn.is_some();
            if transactional {
                self.nr_changes += 1;
                out.extend_from_slice(nl.as_bytes());
            } else {
                out.extend_from_slice(format!("{{{nl}{ht}\"change\":{sp}[{nl}").as_bytes());
            }
            out.extend_from_slice(format!("{ht}{ht}").as_bytes());
            if self.nr_changes > 1 {
                out.push(b',');
            }
            out.extend_from_slice(
                format!("{{{nl}{ht}{ht}{ht}\"kind\":{sp}\"message\",{nl}").as_bytes(),
            );
            out.extend_from_slice(
                format!("{ht}{ht}{ht}\"transactional\":{sp}{transactional},{nl}").as_bytes(),
            );
            out.extend_from_slice(format!("{ht}{ht}{ht}\"prefix\":{sp}").as_bytes());
            escape_json(out, prefix);
            out.extend_from_slice(format!(",{nl}{ht}{ht}{ht}\"content\":{sp}").as_bytes());
            escape_json(out, content);
            out.extend_from_slice(format!("{nl}{ht}{ht}}}").as_bytes());
            if !transactional {
                out.extend_from_slice(format!("{nl}{ht}]{nl}}}\n").as_bytes());
            }
            return;
        }
        out.extend_from_slice(b"{\"action\":\"M\"");
        if self.opts.include_xids {
            match txn {
                Some((t, _)) => out.extend_from_slice(format!(",\"xid\":{}", t.xid).as_bytes()),
                None => out.extend_from_slice(b",\"xid\":null"),
            }
        }
        if self.opts.include_timestamp {
            match txn {
                Some((_, ts)) => {
                    out.extend_from_slice(format!(",\"timestamp\":\"{ts}\"").as_bytes())
                }
                None => out.extend_from_slice(b",\"timestamp\":null"),
            }
        }
        if self.opts.include_origin {
            match txn {
                Some((t, _)) => {
                    out.extend_from_slice(format!(",\"origin\":{}", t.origin).as_bytes())
                }
                None => out.extend_from_slice(b",\"origin\":null"),
            }
        }
        if self.opts.include_lsn {
            out.extend_from_slice(format!(",\"lsn\":\"{lsn}\"").as_bytes());
        }
        out.extend_from_slice(if txn.is_some() {
            b",\"transactional\":true"
        } else {
            b",\"transactional\":false"
        });
        out.extend_from_slice(b",\"prefix\":");
        escape_json(out, prefix);
        out.extend_from_slice(b",\"content\":");
        escape_json(out, content);
        out.extend_from_slice(b"}\n");
    }

    // ---- format 1 ----

    fn v1_change(
        &mut self,
        info: &TxnInfo,
        change: &Change,
        resolved: &Resolved<'c>,
        out: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        let (ht, nl, sp) = (self.opts.ht, self.opts.nl, self.opts.sp);
        let (rel, kind) = match resolved {
            Resolved::Message { prefix, content } => {
                let ts = String::new();
                self.message(Some((info, &ts)), change.lsn, prefix, content, out);
                return Ok(());
            }
            // wal2json 2.5 prints nothing for TRUNCATE in format 1.
            Resolved::Truncate { .. } => return Ok(()),
            Resolved::Insert { rel, .. } => (rel, "insert"),
            Resolved::Update { rel, .. } => (rel, "update"),
            Resolved::Delete { rel, .. } => (rel, "delete"),
        };
        let allowed = match resolved {
            Resolved::Insert { .. } => self.opts.actions.insert,
            Resolved::Update { .. } => self.opts.actions.update,
            _ => self.opts.actions.delete,
        };
        if !allowed || self.skip_table(rel) {
            return Ok(());
        }
        let keyed = has_replident_index(rel) || rel.replica_identity == "f";
        match resolved {
            Resolved::Update { new: None, .. } => return Ok(()),
            Resolved::Update { .. } if !keyed => return Ok(()),
            Resolved::Delete { old: None, .. } => return Ok(()),
            Resolved::Delete { .. } if !keyed => return Ok(()),
            _ => {}
        }
        let mut s = Vec::new();
        self.nr_changes += 1;
        s.extend_from_slice(format!("{nl}{ht}{ht}").as_bytes());
        if self.nr_changes > 1 {
            s.push(b',');
        }
        s.extend_from_slice(format!("{{{nl}{ht}{ht}{ht}\"kind\":{sp}\"{kind}\",{nl}").as_bytes());
        if self.opts.include_schemas {
            s.extend_from_slice(format!("{ht}{ht}{ht}\"schema\":{sp}").as_bytes());
            escape_json(&mut s, rel.namespace.as_bytes());
            s.extend_from_slice(format!(",{nl}").as_bytes());
        }
        s.extend_from_slice(format!("{ht}{ht}{ht}\"table\":{sp}").as_bytes());
        escape_json(&mut s, rel.name.as_bytes());
        s.extend_from_slice(format!(",{nl}").as_bytes());
        let with_pk =
            self.opts.include_pk && has_replident_index(rel) && rel.replica_identity == "d";
        let pk = bitmap(&rel.primary_key);
        let ri = bitmap(&rel.identity_columns);
        let lsn = change.lsn;
        match resolved {
            Resolved::Insert { new, .. } => {
                self.v1_tuple(lsn, rel, new, None, false, with_pk, &mut s)?;
                if with_pk {
                    self.v1_pk(rel, pk, false, &mut s)?;
                }
            }
            Resolved::Update {
                old,
                new: Some(new),
                ..
            } => {
                self.v1_tuple(lsn, rel, new, None, false, true, &mut s)?;
                if with_pk {
                    self.v1_pk(rel, pk, true, &mut s)?;
                }
                match old {
                    None => self.v1_tuple(lsn, rel, new, ri, true, false, &mut s)?,
                    Some(old) => self.v1_tuple(lsn, rel, old, None, true, false, &mut s)?,
                }
            }
            Resolved::Delete { old: Some(old), .. } => {
                if with_pk {
                    self.v1_pk(rel, pk, true, &mut s)?;
                }
                self.v1_tuple(lsn, rel, old, ri, true, false, &mut s)?;
            }
            _ => {}
        }
        s.extend_from_slice(format!("{ht}{ht}}}").as_bytes());
        out.extend_from_slice(&s);
        Ok(())
    }

    /// The type of a column as format 1 prints it, and the type whose output rules apply.
    fn v1_type(&self, col: &Column) -> Result<(String, u32), OutputError> {
        let cat = self.catalog();
        let ty = cat.type_(col.type_oid);
        if let Some(t) = ty.filter(|t| t.typtype == "d" && self.opts.include_domain_data_type) {
            let base = t.typbasetype.unwrap_or(col.type_oid);
            let name = if self.opts.include_typmod {
                format_type_typmod(cat, base, t.typtypmod, self.major)?
            } else {
                cat.type_(base).map(|b| b.name.clone()).unwrap_or_default()
            };
            return Ok((name, base));
        }
        let name = if self.opts.include_typmod {
            super::decoding_type_name_typmod(cat, col, self.major)
        } else {
            ty.map(|t| t.name.clone()).unwrap_or_default()
        };
        Ok((name, col.type_oid))
    }

    /// `tuple_to_stringinfo`: the column name, type, … and value lists of a tuple (`replident`:
    /// as "oldkeys", nulls left out).
    #[allow(clippy::too_many_arguments)]
    fn v1_tuple(
        &mut self,
        lsn: Lsn,
        rel: &Relation,
        row: &Row<'c>,
        bs: Option<&[i16]>,
        replident: bool,
        addcomma: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        let (ht, nl, sp) = (self.opts.ht, self.opts.nl, self.opts.sp);
        let o = Flags {
            include_types: self.opts.include_types,
            include_type_oids: self.opts.include_type_oids,
            include_column_positions: self.opts.include_column_positions,
            include_not_null: self.opts.include_not_null,
        };
        let mut names = Vec::new();
        let mut types_ = Vec::new();
        let mut oids = Vec::new();
        let mut positions = Vec::new();
        let mut notnulls = Vec::new();
        let mut values = Vec::new();
        if replident {
            names.extend_from_slice(
                format!("{ht}{ht}{ht}\"oldkeys\":{sp}{{{nl}{ht}{ht}{ht}{ht}\"keynames\":{sp}[")
                    .as_bytes(),
            );
            types_.extend_from_slice(format!("{ht}{ht}{ht}{ht}\"keytypes\":{sp}[").as_bytes());
            if o.include_type_oids {
                oids.extend_from_slice(format!("{ht}{ht}{ht}{ht}\"keytypeoids\":{sp}[").as_bytes());
            }
            values.extend_from_slice(format!("{ht}{ht}{ht}{ht}\"keyvalues\":{sp}[").as_bytes());
        } else {
            names.extend_from_slice(format!("{ht}{ht}{ht}\"columnnames\":{sp}[").as_bytes());
            types_.extend_from_slice(format!("{ht}{ht}{ht}\"columntypes\":{sp}[").as_bytes());
            if o.include_type_oids {
                oids.extend_from_slice(format!("{ht}{ht}{ht}\"columntypeoids\":{sp}[").as_bytes());
            }
            if o.include_column_positions {
                positions
                    .extend_from_slice(format!("{ht}{ht}{ht}\"columnpositions\":{sp}[").as_bytes());
            }
            if o.include_not_null {
                notnulls
                    .extend_from_slice(format!("{ht}{ht}{ht}\"columnoptionals\":{sp}[").as_bytes());
            }
            values.extend_from_slice(format!("{ht}{ht}{ht}\"columnvalues\":{sp}[").as_bytes());
        }
        let comma_after = format!(",{sp}");
        let mut comma = "";
        for (col, value) in &row.values {
            if !in_bitmap(bs, col.attnum) {
                continue;
            }
            if replident && *value == Value::Null {
                continue;
            }
            if *value == Value::UnchangedToast {
                continue;
            }
            names.extend_from_slice(comma.as_bytes());
            escape_json(&mut names, col.name.as_bytes());
            let mut typid = col.type_oid;
            if o.include_types {
                let (name, t) = self.v1_type(col)?;
                typid = t;
                types_.extend_from_slice(comma.as_bytes());
                push_type_name(&mut types_, &name, true);
                if !replident && o.include_not_null {
                    notnulls.extend_from_slice(
                        format!("{comma}{}", if col.attnotnull { "false" } else { "true" })
                            .as_bytes(),
                    );
                }
            }
            if o.include_type_oids {
                oids.extend_from_slice(format!("{comma}{typid}").as_bytes());
            }
            if !replident && o.include_column_positions {
                positions.extend_from_slice(format!("{comma}{}", col.attnum).as_bytes());
            }
            values.extend_from_slice(comma.as_bytes());
            write_value(lsn, rel, col, typid, row, value, &mut values)?;
            comma = &comma_after;
        }
        names.extend_from_slice(format!("],{nl}").as_bytes());
        if o.include_types {
            types_.extend_from_slice(format!("],{nl}").as_bytes());
        }
        if o.include_type_oids {
            oids.extend_from_slice(format!("],{nl}").as_bytes());
        }
        if replident {
            values.extend_from_slice(format!("]{nl}{ht}{ht}{ht}}}{nl}").as_bytes());
        } else {
            if o.include_column_positions {
                positions.extend_from_slice(format!("],{nl}").as_bytes());
            }
            if o.include_not_null {
                notnulls.extend_from_slice(format!("],{nl}").as_bytes());
            }
            if addcomma {
                values.extend_from_slice(format!("],{nl}").as_bytes());
            } else {
                values.extend_from_slice(format!("]{nl}").as_bytes());
            }
        }
        out.extend_from_slice(&names);
        if o.include_types {
            out.extend_from_slice(&types_);
        }
        out.extend_from_slice(&oids);
        out.extend_from_slice(&positions);
        out.extend_from_slice(&notnulls);
        out.extend_from_slice(&values);
        Ok(())
    }

    /// `pk_to_stringinfo`.
    fn v1_pk(
        &self,
        rel: &Relation,
        bs: Option<&[i16]>,
        addcomma: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        let (ht, nl, sp) = (self.opts.ht, self.opts.nl, self.opts.sp);
        let mut names =
            format!("{ht}{ht}{ht}\"pk\":{sp}{{{nl}{ht}{ht}{ht}{ht}\"pknames\":{sp}[").into_bytes();
        let mut types_ = format!("{ht}{ht}{ht}{ht}\"pktypes\":{sp}[").into_bytes();
        let comma_after = format!(",{sp}");
        let mut comma = "";
        for col in rel.columns.as_deref().unwrap_or(&[]) {
            if col.attisdropped || !in_bitmap(bs, col.attnum) {
                continue;
            }
            names.extend_from_slice(comma.as_bytes());
            escape_json(&mut names, col.name.as_bytes());
            if self.opts.include_types {
                let (name, _) = self.v1_type(col)?;
                types_.extend_from_slice(comma.as_bytes());
                push_type_name(&mut types_, &name, false);
            }
            comma = &comma_after;
        }
        names.extend_from_slice(format!("],{nl}").as_bytes());
        types_.extend_from_slice(format!("]{nl}{ht}{ht}{ht}}}").as_bytes());
        if addcomma {
            types_.push(b',');
        }
        types_.extend_from_slice(nl.as_bytes());
        out.extend_from_slice(&names);
        out.extend_from_slice(&types_);
        Ok(())
    }

    // ---- format 2 ----

    fn v2_change(
        &mut self,
        info: &TxnInfo,
        ts: &str,
        change: &Change,
        resolved: &Resolved<'c>,
        out: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        if let Some((rel, parts)) = resolved.row_parts() {
            let Some(action) = self.v2_row_action(rel, &parts) else {
                return Ok(());
            };
            // Written in place; a line that cannot be completed leaves nothing behind.
            let at = out.len();
            let result =
                self.v2_row_line(info, ts, action, change.lsn, rel, parts.old, parts.new, out);
            if result.is_err() {
                out.truncate(at);
            }
            return result;
        }
        match resolved {
            Resolved::Message { prefix, content } => {
                self.message(Some((info, ts)), change.lsn, prefix, content, out);
            }
            Resolved::Truncate { rels, .. } => {
                if !self.opts.actions.truncate {
                    return Ok(());
                }
                for rel in rels {
                    if self.skip_table(rel) {
                        continue;
                    }
                    self.v2_header(info, ts, change.lsn, b'T', rel, out);
                    out.extend_from_slice(b"}\n");
                }
            }
            Resolved::Insert { .. } | Resolved::Update { .. } | Resolved::Delete { .. } => {
                unreachable!("row changes are written above")
            }
        }
        Ok(())
    }

    /// The action letter of a format 2 row line; `None` when wal2json prints nothing for the
    /// change (action or table not selected, or no tuple to print).
    fn v2_row_action<T>(&self, rel: &Relation, parts: &RowParts<T>) -> Option<u8> {
        let (action, allowed) = match parts.action {
            RowAction::Insert => (b'I', self.opts.actions.insert),
            RowAction::Update => (b'U', self.opts.actions.update),
            RowAction::Delete => (b'D', self.opts.actions.delete),
        };
        if !allowed || self.skip_table(rel) {
            return None;
        }
        let keyed = has_replident_index(rel) || rel.replica_identity == "f";
        match action {
            b'I' | b'U' if parts.new.is_none() => None,
            b'U' | b'D' if parts.old.is_none() && !keyed => None,
            _ => Some(action),
        }
    }

    /// `{"action":…,"xid":…,…,"table":…` of a format 2 line.
    fn v2_header(
        &mut self,
        info: &TxnInfo,
        ts: &str,
        lsn: Lsn,
        action: u8,
        rel: &Relation,
        out: &mut Vec<u8>,
    ) {
        out.extend_from_slice(b"{\"action\":\"");
        out.push(action);
        out.push(b'"');
        if self.opts.include_xids {
            out.extend_from_slice(b",\"xid\":");
            out.extend_from_slice(itoa::Buffer::new().format(info.xid).as_bytes());
        }
        if self.opts.include_timestamp {
            out.extend_from_slice(format!(",\"timestamp\":\"{ts}\"").as_bytes());
        }
        if self.opts.include_origin {
            out.extend_from_slice(format!(",\"origin\":{}", info.origin).as_bytes());
        }
        if self.opts.include_lsn {
            out.extend_from_slice(format!(",\"lsn\":\"{}\"", lsn).as_bytes());
        }
        let names = self.v2_names.entry(rel.oid).or_default();
        if names.schema_table.is_empty() {
            if self.opts.include_schemas {
                names.schema_table.extend_from_slice(b",\"schema\":");
                escape_json(&mut names.schema_table, rel.namespace.as_bytes());
            }
            names.schema_table.extend_from_slice(b",\"table\":");
            escape_json(&mut names.schema_table, rel.name.as_bytes());
        }
        out.extend_from_slice(&names.schema_table);
    }

    #[allow(clippy::too_many_arguments)]
    fn v2_row_line(
        &mut self,
        info: &TxnInfo,
        ts: &str,
        action: u8,
        lsn: Lsn,
        rel: &Relation,
        old: Option<&Row<'c>>,
        new: Option<&Row<'c>>,
        s: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        self.v2_header(info, ts, lsn, action, rel, s);
        let ri = bitmap(&rel.identity_columns);
        if let Some(new) = new {
            s.extend_from_slice(b",\"columns\":[");
            self.v2_tuple(lsn, rel, new, TupleKind::Change, None, s)?;
            s.push(b']');
        }
        match (old, new) {
            (Some(old), _) => {
                s.extend_from_slice(b",\"identity\":[");
                self.v2_tuple(lsn, rel, old, TupleKind::Identity, ri, s)?;
                s.push(b']');
            }
            (None, Some(new)) if action == b'U' && (has_pk_index(rel) || ri.is_some()) => {
                s.extend_from_slice(b",\"identity\":[");
                self.v2_tuple(lsn, rel, new, TupleKind::Identity, ri, s)?;
                s.push(b']');
            }
            _ => {}
        }
        if self.opts.include_pk {
            s.extend_from_slice(b",\"pk\":[");
            if has_pk_index(rel) {
                if let Some(row) = old.or(new) {
                    let pk = bitmap(&rel.primary_key);
                    self.v2_tuple(lsn, rel, row, TupleKind::Pk, pk, s)?;
                }
            }
            s.push(b']');
        }
        s.extend_from_slice(b"}\n");
        Ok(())
    }

    /// `pg_decode_write_tuple`.
    fn v2_tuple(
        &mut self,
        lsn: Lsn,
        rel: &Relation,
        row: &Row<'c>,
        kind: TupleKind,
        bs: Option<&[i16]>,
        out: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        let catalog = self.catalog;
        let rel_fields = &mut self.v2_names.entry(rel.oid).or_default().columns;
        let mut need_sep = false;
        for (col, value) in &row.values {
            if !in_bitmap(bs, col.attnum) || matches!(value, Value::UnchangedToast) {
                continue;
            }
            if need_sep {
                out.push(b',');
            }
            need_sep = true;
            push_column_fields(rel_fields, col, catalog, &self.opts, self.major, out)?;
            if kind != TupleKind::Pk {
                out.extend_from_slice(b",\"value\":");
                write_value(lsn, rel, col, col.type_oid, row, value, out)?;
            }
            if kind == TupleKind::Change && self.opts.include_not_null {
                out.extend_from_slice(if col.attnotnull {
                    b",\"optional\":false"
                } else {
                    b",\"optional\":true"
                });
            }
            if kind == TupleKind::Change && self.opts.include_column_positions {
                out.extend_from_slice(format!(",\"position\":{}", col.attnum).as_bytes());
            }
            out.push(b'}');
        }
        Ok(())
    }

    /// A format 2 row line printed from the change's tuples: what [`Writer::v2_row_line`]
    /// prints from rendered rows without `pk`, `optional` and `position`. An UPDATE's
    /// identity taken from its new tuple copies the entries written among its columns.
    #[allow(clippy::too_many_arguments)]
    fn v2_row_line_from_tuples<'t>(
        &mut self,
        info: &TxnInfo,
        ts: &str,
        action: u8,
        parts: RowParts<&'t LoggedTuple>,
        tuples: &TupleSource<'_, 'c>,
        s: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        let rel = tuples.rel;
        self.v2_header(info, ts, tuples.lsn, action, rel, s);
        let ri = bitmap(&rel.identity_columns);
        let identity_from_new =
            parts.old.is_none() && action == b'U' && (has_pk_index(rel) || ri.is_some());
        let mut spans = std::mem::take(&mut self.identity_spans);
        spans.clear();
        if let Some(new) = parts.new {
            s.extend_from_slice(b",\"columns\":[");
            let spans = identity_from_new.then_some(EntrySpans {
                columns: ri,
                spans: &mut spans,
            });
            self.v2_entries_from_tuple(new, None, spans, tuples, s)?;
            s.push(b']');
        }
        if let Some(old) = parts.old {
            s.extend_from_slice(b",\"identity\":[");
            self.v2_entries_from_tuple(old, ri, None, tuples, s)?;
            s.push(b']');
        } else if identity_from_new {
            s.extend_from_slice(b",\"identity\":[");
            for (i, &(start, end)) in spans.iter().enumerate() {
                if i > 0 {
                    s.push(b',');
                }
                s.extend_from_within(start..end);
            }
            s.push(b']');
        }
        self.identity_spans = spans;
        s.extend_from_slice(b"}\n");
        Ok(())
    }

    /// The entries of a tuple's columns in `bs` (all when `None`), as [`Writer::v2_tuple`]
    /// writes them for columns and identity; with `spans`, notes where the entries of the
    /// columns in its bitmap were written.
    fn v2_entries_from_tuple<'t>(
        &mut self,
        t: &'t LoggedTuple,
        bs: Option<&[i16]>,
        mut spans: Option<EntrySpans<'_>>,
        tuples: &TupleSource<'_, 'c>,
        s: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        let (catalog, opts, major, lsn, rel) =
            (self.catalog, &self.opts, self.major, tuples.lsn, tuples.rel);
        let rel_fields = &mut self.v2_names.entry(rel.oid).or_default().columns;
        let scratch = &mut self.value_scratch;
        let mut need_sep = false;
        tuples.job.for_each_value(lsn, rel, t, |col, raw| {
            if !in_bitmap(bs, col.attnum) || matches!(raw, Raw::UnchangedToast) {
                return Ok(());
            }
            if need_sep {
                s.push(b',');
            }
            need_sep = true;
            let start = s.len();
            push_column_fields(rel_fields, col, catalog, opts, major, s)?;
            s.extend_from_slice(b",\"value\":");
            match raw {
                Raw::Null => s.extend_from_slice(b"null"),
                Raw::UnchangedToast => unreachable!("left out above"),
                Raw::Text(text) => write_value_text(lsn, col.type_oid, &text, s)?,
                Raw::Bytes(bytes) => {
                    let text = tuples
                        .job
                        .value_text(lsn, rel, col, &bytes, tuples.ctx, scratch)?;
                    write_value_text(lsn, col.type_oid, text, s)?;
                }
            }
            s.push(b'}');
            if let Some(noted) = &mut spans {
                if in_bitmap(noted.columns, col.attnum) {
                    noted.spans.push((start, s.len()));
                }
            }
            Ok(())
        })
    }
}

/// Where the entries of the columns in `columns` (all when `None`) were written: byte ranges
/// of the output.
struct EntrySpans<'s> {
    columns: Option<&'s [i16]>,
    spans: &'s mut Vec<(usize, usize)>,
}

/// Where a row change's tuples are printed from.
struct TupleSource<'j, 'c> {
    job: &'j Job<'c>,
    ctx: &'j OutputContext,
    lsn: Lsn,
    rel: &'c Relation,
}

/// `{"name":NAME` and, with include-types, `,"type":TYPE` of a column, then `,"typeoid":OID`
/// with include-type-oids. The names come from the relation's cache `fields` (by
/// `attnum - 1`), built there on first use.
fn push_column_fields(
    fields: &mut Vec<Option<Vec<u8>>>,
    col: &Column,
    catalog: &Catalog,
    opts: &Options,
    major: u32,
    out: &mut Vec<u8>,
) -> Result<(), OutputError> {
    // Catalog columns are numbered from 1; anything else is simply not cached.
    let slot = usize::try_from(col.attnum - 1).ok();
    if let Some(cached) = slot.and_then(|i| fields.get(i)).and_then(Option::as_ref) {
        out.extend_from_slice(cached);
    } else {
        let mut built = b"{\"name\":".to_vec();
        escape_json(&mut built, col.name.as_bytes());
        if opts.include_types {
            let name = match catalog.type_(col.type_oid) {
                Some(t) if t.typtype == "d" && opts.include_domain_data_type => format_type_typmod(
                    catalog,
                    t.typbasetype.unwrap_or(col.type_oid),
                    t.typtypmod,
                    major,
                )?,
                _ => super::decoding_type_name_typmod(catalog, col, major),
            };
            built.extend_from_slice(b",\"type\":");
            push_type_name(&mut built, &name, true);
        }
        out.extend_from_slice(&built);
        if let Some(i) = slot {
            if fields.len() <= i {
                fields.resize(i + 1, None);
            }
            fields[i] = Some(built);
        }
    }
    if opts.include_type_oids {
        out.extend_from_slice(format!(",\"typeoid\":{}", col.type_oid as i32).as_bytes());
    }
    Ok(())
}

/// A rendered value as wal2json prints it ([`write_value_text`]).
#[allow(clippy::too_many_arguments)]
fn write_value<'c>(
    lsn: Lsn,
    rel: &Relation,
    col: &Column,
    typid: u32,
    row: &Row<'c>,
    value: &Value,
    out: &mut Vec<u8>,
) -> Result<(), OutputError> {
    let text = match value {
        Value::Null => {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        // Left out by the callers, as wal2json does.
        Value::UnchangedToast => return Ok(()),
        Value::Text(range) => row.text(range),
        Value::Unprintable(e) => return Err(OutputError::value(lsn, rel, col, e.clone())),
    };
    write_value_text(lsn, typid, text, out)
}

/// A value's output text as wal2json prints it: `typid` picks the rules (numbers bare,
/// booleans, bytea without `\x`, the rest JSON strings). Inlined where values are printed.
#[inline(always)]
fn write_value_text(
    lsn: Lsn,
    typid: u32,
    text: &str,
    out: &mut Vec<u8>,
) -> Result<(), OutputError> {
    match typid {
        // Integer output is digits and a sign: never NaN, always a number.
        INT2 | INT4 | INT8 | OID => out.extend_from_slice(text.as_bytes()),
        FLOAT4 | FLOAT8 | NUMERIC => {
            let starts = |word: &str| {
                text.get(..word.len())
                    .is_some_and(|t| t.eq_ignore_ascii_case(word))
            };
            // NaN and the infinities contain letters no number has: test for them only then.
            if text
                .bytes()
                .all(|c| matches!(c, b'0'..=b'9' | b'+' | b'-' | b'e' | b'E' | b'.'))
            {
                out.extend_from_slice(text.as_bytes());
            } else if starts("nan") || starts("infinity") || starts("-infinity") {
                out.extend_from_slice(b"null");
            } else {
                return Err(OutputError::Plugin {
                    lsn,
                    message: format!("{text} is not a number"),
                });
            }
        }
        BOOL => out.extend_from_slice(if text == "t" { b"true" } else { b"false" }),
        BYTEA => escape_json(out, text.as_bytes().get(2..).unwrap_or(&[])),
        _ => escape_json(out, text.as_bytes()),
    }
    Ok(())
}

/// `format_type_with_typemod(oid, typmod)` for a domain's base type: built-in typmods are
/// formatted as their `typmodout` functions do.
fn format_type_typmod(
    catalog: &Catalog,
    oid: u32,
    typmod: i32,
    major: u32,
) -> Result<String, OutputError> {
    let unsupported = |what: String| OutputError::Plugin {
        lsn: Lsn(0),
        message: format!(
            "cannot format type {what} with typmod {typmod} (include-domain-data-type)"
        ),
    };
    let Some(t) = catalog.type_(oid) else {
        return Err(unsupported(format!("with OID {oid}")));
    };
    let qualify = |t: &crate::catalog::Type| {
        if t.namespace == "pg_catalog" {
            t.formatted.clone()
        } else {
            let mut s = String::new();
            push_qualified_identifier(&mut s, &t.namespace, &t.name, major);
            s
        }
    };
    // Arrays print their element type with the typmod, then [].
    if t.typlen == -1 {
        if let Some(e) = t.typelem.and_then(|e| catalog.type_(e)) {
            return Ok(format!(
                "{}[]",
                format_type_typmod(catalog, e.oid, typmod, major)?
            ));
        }
    }
    if typmod < 0 {
        return Ok(if oid == BPCHAR {
            "bpchar".into()
        } else {
            qualify(t)
        });
    }
    let precision = |p: i32, name: &str, tz: &str| format!("{name}({p}){tz}");
    Ok(match oid {
        BPCHAR => format!("character({})", typmod - 4),
        VARCHAR => format!("character varying({})", typmod - 4),
        NUMERIC => {
            let t = typmod - 4;
            let p = (t >> 16) & 0xffff;
            let s = ((t & 0x7ff) ^ 1024) - 1024;
            format!("numeric({p},{s})")
        }
        BIT => format!("bit({typmod})"),
        VARBIT => format!("bit varying({typmod})"),
        TIME => precision(typmod, "time", " without time zone"),
        TIMETZ => precision(typmod, "time", " with time zone"),
        TIMESTAMP => precision(typmod, "timestamp", " without time zone"),
        TIMESTAMPTZ => precision(typmod, "timestamp", " with time zone"),
        INTERVAL => {
            let fields = (typmod >> 16) & 0x7fff;
            let prec = typmod & 0xffff;
            const YEAR: i32 = 1 << 2;
            const MONTH: i32 = 1 << 1;
            const DAY: i32 = 1 << 3;
            const HOUR: i32 = 1 << 10;
            const MINUTE: i32 = 1 << 11;
            const SECOND: i32 = 1 << 12;
            let f = match fields {
                YEAR => " year",
                MONTH => " month",
                DAY => " day",
                HOUR => " hour",
                MINUTE => " minute",
                SECOND => " second",
                x if x == YEAR | MONTH => " year to month",
                x if x == DAY | HOUR => " day to hour",
                x if x == DAY | HOUR | MINUTE => " day to minute",
                x if x == DAY | HOUR | MINUTE | SECOND => " day to second",
                x if x == HOUR | MINUTE => " hour to minute",
                x if x == HOUR | MINUTE | SECOND => " hour to second",
                x if x == MINUTE | SECOND => " minute to second",
                0x7fff => "",
                _ => return Err(unsupported(t.formatted.clone())),
            };
            if prec != 0xffff {
                format!("interval{f}({prec})")
            } else {
                format!("interval{f}")
            }
        }
        _ => return Err(unsupported(t.formatted.clone())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_like_wal2json() {
        let mut o = Options::default();
        set_option(&mut o, "format-version", Some("2")).unwrap();
        assert_eq!(o.format_version, 2);
        assert!(set_option(&mut o, "format-version", Some("3")).is_err());
        assert!(set_option(&mut o, "format-version", Some("0")).is_err());
        assert_eq!(
            set_option(&mut o, "numeric-data-types-as-string", Some("1")).unwrap_err(),
            "option \"numeric-data-types-as-string\" = \"1\" is unknown"
        );
        set_option(&mut o, "actions", Some("insert, delete")).unwrap();
        assert!(o.actions.insert && o.actions.delete && !o.actions.update && !o.actions.truncate);
        assert!(set_option(&mut o, "actions", Some("insert,upsert")).is_err());
        assert!(set_option(&mut o, "write-in-chunks", Some("0")).is_ok());
        assert!(set_option(&mut o, "write-in-chunks", Some("1")).is_err());
        assert!(set_option(&mut o, "include-xids", Some("maybe")).is_err());
        set_option(&mut o, "filter-origins", Some("1, 7")).unwrap();
        assert_eq!(o.filter_origins, vec![1, 7]);
        assert_eq!(parse_int(" 0x2 "), Some(2));
        assert_eq!(parse_int("1.6"), Some(2));
        assert_eq!(parse_int("2x"), None);
    }

    #[test]
    fn select_tables_escapes_and_wildcards() {
        let t = parse_select_tables(r"public.t, *.foo, s.*, a\.b.c\,d, x\ y.z").unwrap();
        assert_eq!(t.len(), 5);
        assert_eq!((t[0].schema.as_str(), t[0].table.as_str()), ("public", "t"));
        assert!(t[1].all_schemas && !t[1].all_tables && t[1].table == "foo");
        assert!(!t[2].all_schemas && t[2].all_tables);
        assert_eq!((t[3].schema.as_str(), t[3].table.as_str()), ("a.b", "c,d"));
        assert_eq!((t[4].schema.as_str(), t[4].table.as_str()), ("x y", "z"));
        assert!(t[1].matches("any", "foo") && !t[1].matches("any", "bar"));
        // An escaped star is a table named "*".
        let t = parse_select_tables(r"s.\*").unwrap();
        assert!(!t[0].all_tables && t[0].table == "*");
        assert!(parse_select_tables("nodot").is_none());
        assert_eq!(parse_select_tables("  ").unwrap(), vec![]);
    }

    #[test]
    fn json_escaping() {
        let mut v = Vec::new();
        escape_json(&mut v, b"a\"b\\c\n\t\x01\x7f\xc3\xa9\0rest");
        assert_eq!(v, b"\"a\\\"b\\\\c\\n\\t\\u0001\x7f\xc3\xa9\"");
        // Past the first 16 bytes, which are tested together.
        v.clear();
        escape_json(&mut v, b"0123456789abcdefghijklmnopq\x1fr\"s\0t");
        assert_eq!(v, b"\"0123456789abcdefghijklmnopq\\u001fr\\\"s\"");
        v.clear();
        escape_json(&mut v, b"0123456789abcdefghijklmnopqrstuvwxyz");
        assert_eq!(v, b"\"0123456789abcdefghijklmnopqrstuvwxyz\"");
        v.clear();
        push_type_name(&mut v, "\"My Type\"", true);
        assert_eq!(v, b"\"My Type\"");
        v.clear();
        push_type_name(&mut v, "\"My Type\"[]", true);
        assert_eq!(v, b"\"\\\"My Type\\\"[]\"");
    }
}
