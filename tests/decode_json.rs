//! `pglcr decode --format json` checked against PostgreSQL's own decoding: over every logical
//! case in testdata/, the JSON lines must say the same as the test_decoding output PostgreSQL
//! printed for the same WAL (`decode/td-default.out`, `td-two-phase.out`, `td-timestamp.out`):
//! the same changes in the same order, the same tables, column names, types, value texts,
//! NULLs, old keys, unchanged TOAST columns, truncates, messages, transaction ids, commit
//! times and two-phase events. Every line must also be exactly the documented shape (keys,
//! order, value kinds), and the output must not depend on the run or the thread count.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};
use support::{pglcr, testdata, unpack_wal};

// ---------------------------------------------------------------------------------------
// test_decoding output, parsed

#[derive(Debug, Clone, PartialEq)]
enum TdValue {
    Null,
    UnchangedToast,
    /// The type output text, with test_decoding's quoting undone.
    Text(String),
}

#[derive(Debug, Clone)]
struct TdColumn {
    name: String,
    type_name: String,
    value: TdValue,
}

#[derive(Debug)]
enum TdItem {
    Begin(u32),
    Commit(u32),
    Insert {
        table: (String, String),
        new: Vec<TdColumn>,
    },
    Update {
        table: (String, String),
        old: Option<Vec<TdColumn>>,
        new: Option<Vec<TdColumn>>,
    },
    Delete {
        table: (String, String),
        old: Option<Vec<TdColumn>>,
    },
    Truncate {
        tables: Vec<(String, String)>,
        restart_seqs: bool,
        cascade: bool,
    },
    Message {
        transactional: bool,
        prefix: String,
        content: Vec<u8>,
    },
    Prepare {
        gid: String,
        xid: u32,
    },
    CommitPrepared {
        gid: String,
        xid: u32,
    },
    RollbackPrepared {
        gid: String,
        xid: u32,
    },
}

struct TdParser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> TdParser<'a> {
    fn rest(&self) -> &'a [u8] {
        &self.s[self.pos..]
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.rest().starts_with(lit.as_bytes()) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, lit: &str) {
        assert!(
            self.eat(lit),
            "test_decoding output at byte {}: expected {lit:?}, found {:?}",
            self.pos,
            String::from_utf8_lossy(&self.rest()[..self.rest().len().min(80)])
        );
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn take_until(&mut self, stop: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|c| !stop(c)) {
            self.pos += 1;
        }
        std::str::from_utf8(&self.s[start..self.pos]).expect("UTF-8")
    }

    fn number(&mut self) -> u32 {
        self.take_until(|c| !c.is_ascii_digit())
            .parse()
            .expect("a number")
    }

    /// `quote_identifier`'s output: bare, or in double quotes with "" for ".
    fn identifier(&mut self, bare_stop: &[u8]) -> String {
        if self.eat("\"") {
            let mut out = Vec::new();
            loop {
                match self.peek().expect("unterminated quoted identifier") {
                    b'"' if self.s.get(self.pos + 1) == Some(&b'"') => {
                        out.push(b'"');
                        self.pos += 2;
                    }
                    b'"' => {
                        self.pos += 1;
                        break;
                    }
                    c => {
                        out.push(c);
                        self.pos += 1;
                    }
                }
            }
            String::from_utf8(out).unwrap()
        } else {
            self.take_until(|c| bare_stop.contains(&c)).to_string()
        }
    }

    fn qualified(&mut self) -> (String, String) {
        let schema = self.identifier(b".");
        self.expect(".");
        let table = self.identifier(b",:");
        (schema, table)
    }

    /// `'…'` with '' for ' (`E'…'` also doubles backslashes).
    fn quoted_literal(&mut self) -> String {
        let escaped = self.eat("E");
        self.expect("'");
        let mut out = Vec::new();
        loop {
            match self.peek().expect("unterminated literal") {
                b'\'' if self.s.get(self.pos + 1) == Some(&b'\'') => {
                    out.push(b'\'');
                    self.pos += 2;
                }
                b'\\' if escaped && self.s.get(self.pos + 1) == Some(&b'\\') => {
                    out.push(b'\\');
                    self.pos += 2;
                }
                b'\'' => {
                    self.pos += 1;
                    break;
                }
                c => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// `print_literal`: numbers bare, B'…' for bits, true/false, 'quoted' otherwise; or
    /// `null`, `unchanged-toast-datum`.
    fn value(&mut self) -> TdValue {
        if self.peek() == Some(b'\'') {
            return TdValue::Text(self.quoted_literal());
        }
        if self.eat("B'") {
            let bits = self.take_until(|c| c == b'\'').to_string();
            self.expect("'");
            return TdValue::Text(bits);
        }
        match self.take_until(|c| c == b' ' || c == b'\n') {
            "null" => TdValue::Null,
            "unchanged-toast-datum" => TdValue::UnchangedToast,
            "true" => TdValue::Text("t".into()),
            "false" => TdValue::Text("f".into()),
            bare => {
                assert!(!bare.is_empty(), "empty value at byte {}", self.pos);
                TdValue::Text(bare.to_string())
            }
        }
    }

    /// ` name[type]:value` … up to the end of the line or ` new-tuple:`.
    fn tuple(&mut self) -> Vec<TdColumn> {
        let mut cols = Vec::new();
        while self.peek() == Some(b' ') && !self.rest().starts_with(b" new-tuple:") {
            self.pos += 1;
            let name = self.identifier(b"[");
            self.expect("[");
            let end = self
                .rest()
                .windows(2)
                .position(|w| w == b"]:")
                .expect("]: after a type name");
            let type_name = std::str::from_utf8(&self.rest()[..end])
                .unwrap()
                .to_string();
            self.pos += end + 2;
            let value = self.value();
            cols.push(TdColumn {
                name,
                type_name,
                value,
            });
        }
        cols
    }

    fn tuple_or_none(&mut self) -> Option<Vec<TdColumn>> {
        if self.eat(" (no-tuple-data)") {
            None
        } else {
            Some(self.tuple())
        }
    }

    fn item(&mut self) -> TdItem {
        let item = if self.eat("BEGIN ") {
            TdItem::Begin(self.number())
        } else if self.eat("COMMIT PREPARED ") {
            let gid = self.quoted_literal();
            self.expect(", txid ");
            TdItem::CommitPrepared {
                gid,
                xid: self.number(),
            }
        } else if self.eat("ROLLBACK PREPARED ") {
            let gid = self.quoted_literal();
            self.expect(", txid ");
            TdItem::RollbackPrepared {
                gid,
                xid: self.number(),
            }
        } else if self.eat("PREPARE TRANSACTION ") {
            let gid = self.quoted_literal();
            self.expect(", txid ");
            TdItem::Prepare {
                gid,
                xid: self.number(),
            }
        } else if self.eat("COMMIT ") {
            TdItem::Commit(self.number())
        } else if self.eat("message: transactional: ") {
            let transactional = self.number() == 1;
            self.expect(" prefix: ");
            let end = self
                .rest()
                .windows(6)
                .position(|w| w == b", sz: ")
                .expect("message size");
            let prefix = String::from_utf8(self.rest()[..end].to_vec()).unwrap();
            self.pos += end + 6;
            let size = self.number() as usize;
            self.expect(" content:");
            let content = self.rest()[..size].to_vec();
            self.pos += size;
            TdItem::Message {
                transactional,
                prefix,
                content,
            }
        } else if self.eat("table ") {
            let mut tables = vec![self.qualified()];
            while self.eat(", ") {
                tables.push(self.qualified());
            }
            self.expect(": ");
            if self.eat("TRUNCATE:") {
                let (mut restart_seqs, mut cascade) = (false, false);
                if !self.eat(" (no-flags)") {
                    restart_seqs = self.eat(" restart_seqs");
                    cascade = self.eat(" cascade");
                }
                TdItem::Truncate {
                    tables,
                    restart_seqs,
                    cascade,
                }
            } else {
                assert_eq!(tables.len(), 1);
                let table = tables.pop().unwrap();
                if self.eat("INSERT:") {
                    TdItem::Insert {
                        table,
                        new: self.tuple(),
                    }
                } else if self.eat("UPDATE:") {
                    let old = if self.eat(" old-key:") {
                        let old = self.tuple();
                        self.expect(" new-tuple:");
                        Some(old)
                    } else {
                        None
                    };
                    TdItem::Update {
                        table,
                        old,
                        new: self.tuple_or_none(),
                    }
                } else {
                    self.expect("DELETE:");
                    TdItem::Delete {
                        table,
                        old: self.tuple_or_none(),
                    }
                }
            }
        } else {
            panic!(
                "unexpected test_decoding line at byte {}: {:?}",
                self.pos,
                String::from_utf8_lossy(&self.rest()[..self.rest().len().min(80)])
            );
        };
        // COMMIT … (at <time>) with include-timestamp: read by commit_times.
        if self.eat(" (at ") {
            self.take_until(|c| c == b')');
            self.expect(")");
        }
        self.expect("\n");
        item
    }
}

fn parse_test_decoding(text: &[u8]) -> Vec<TdItem> {
    let mut p = TdParser { s: text, pos: 0 };
    let mut items = Vec::new();
    while p.pos < text.len() {
        items.push(p.item());
    }
    items
}

/// xid → commit time, from `COMMIT <xid> (at <time>)` lines (td-timestamp).
fn commit_times(text: &str) -> HashMap<u32, String> {
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("COMMIT ")?;
            let (xid, at) = rest.split_once(" (at ")?;
            Some((xid.parse().ok()?, at.strip_suffix(')')?.to_string()))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// the JSON lines: exact shape

const HEADER: [&str; 6] = ["kind", "xid", "commit_lsn", "commit_time", "lsn", "origin"];

/// The documented keys of a line, in order.
fn documented_keys(obj: &Map<String, Json>) -> Vec<&'static str> {
    let mut keys = HEADER.to_vec();
    match obj["kind"].as_str().expect("kind is a string") {
        "insert" | "update" | "delete" => {
            keys.extend(["schema", "table", "relid", "columns", "old_key"]);
            if obj.contains_key("unchanged_toast") {
                keys.push("unchanged_toast");
            }
        }
        "truncate" => keys.extend(["relations", "cascade", "restart_seqs"]),
        "message" => {
            keys.extend(["transactional", "prefix"]);
            keys.push(if obj.contains_key("content_hex") {
                "content_hex"
            } else {
                "content"
            });
        }
        "prepare" | "commit_prepared" | "rollback_prepared" => keys.push("gid"),
        other => panic!("undocumented kind {other:?}"),
    }
    keys
}

fn is_lsn(v: &Json) -> bool {
    v.as_str().is_some_and(|s| {
        s.split_once('/').is_some_and(|(a, b)| {
            [a, b].iter().all(|h| {
                !h.is_empty()
                    && h.len() <= 8
                    && h.bytes()
                        .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c))
            })
        })
    })
}

/// Writes `v` back with the documented key order and no spaces: equal to the line exactly
/// when the line has the documented keys, in order, and nothing else.
fn canonical(v: &Json, out: &mut String) {
    match v {
        Json::Object(obj) => {
            let order: Vec<&str> = if obj.contains_key("kind") {
                documented_keys(obj)
            } else if obj.contains_key("type_oid") {
                vec!["name", "type", "type_oid", "value"]
            } else {
                vec!["schema", "table", "relid"]
            };
            assert_eq!(
                obj.len(),
                order.len(),
                "keys {:?}, documented {order:?}",
                obj.keys().collect::<Vec<_>>()
            );
            out.push('{');
            for (i, k) in order.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push(':');
                canonical(obj.get(*k).unwrap_or_else(|| panic!("missing {k}")), out);
            }
            out.push('}');
        }
        Json::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(e, out);
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
}

fn check_column(c: &Json) {
    let c = c.as_object().expect("a column is an object");
    assert!(c["name"].is_string() && c["type"].is_string());
    assert!(c["type_oid"].is_u64());
    assert!(c["value"].is_string() || c["value"].is_null());
}

/// Parses the output and checks every line's shape and value kinds.
fn parse_json_lines(out: &[u8]) -> Vec<Map<String, Json>> {
    let text = std::str::from_utf8(out).expect("output is UTF-8");
    assert!(text.is_empty() || text.ends_with('\n'));
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let v: Json = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {}: not JSON ({e}): {line}", n + 1));
        let mut again = String::new();
        canonical(&v, &mut again);
        assert_eq!(again, line, "line {} is not in the documented shape", n + 1);
        let obj = v.as_object().unwrap().clone();
        let kind = obj["kind"].as_str().unwrap();
        assert!(is_lsn(&obj["lsn"]), "line {}: lsn", n + 1);
        assert!(obj["origin"].is_u64() || obj["origin"].is_null());
        let non_tx_message = kind == "message" && obj["transactional"] == Json::Bool(false);
        if non_tx_message {
            assert!(obj["commit_lsn"].is_null() && obj["commit_time"].is_null());
            assert!(obj["xid"].is_u64() || obj["xid"].is_null());
        } else {
            assert!(obj["xid"].is_u64(), "line {}: xid", n + 1);
            assert!(is_lsn(&obj["commit_lsn"]), "line {}: commit_lsn", n + 1);
            assert!(obj["commit_time"].is_string(), "line {}", n + 1);
        }
        match kind {
            "insert" | "update" | "delete" => {
                assert!(obj["schema"].is_string() && obj["table"].is_string());
                assert!(obj["relid"].is_u64());
                for key in ["columns", "old_key"] {
                    match &obj[key] {
                        Json::Null => {}
                        Json::Array(cols) => cols.iter().for_each(check_column),
                        other => panic!("line {}: {key} is {other}", n + 1),
                    }
                }
                assert_eq!(obj["columns"].is_null(), kind == "delete", "line {}", n + 1);
                if kind == "insert" {
                    assert!(obj["old_key"].is_null());
                }
                if let Some(u) = obj.get("unchanged_toast") {
                    let u = u.as_array().unwrap();
                    assert!(!u.is_empty() && u.iter().all(Json::is_string));
                }
            }
            "truncate" => {
                assert!(obj["cascade"].is_boolean() && obj["restart_seqs"].is_boolean());
            }
            "message" => {
                assert!(obj["transactional"].is_boolean() && obj["prefix"].is_string());
            }
            _ => assert!(obj["gid"].is_string()),
        }
        lines.push(obj);
    }
    lines
}

// ---------------------------------------------------------------------------------------
// comparison

/// A type name without its typmod: `character varying(10)[]` → `character varying[]`.
fn strip_typmod(t: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in t.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn check_columns(what: &str, td: &[TdColumn], json: &Json, skip_nulls: bool) {
    let json: Vec<&Map<String, Json>> = json
        .as_array()
        .unwrap_or_else(|| panic!("{what}: expected columns, found {json}"))
        .iter()
        .map(|c| c.as_object().unwrap())
        .filter(|c| !(skip_nulls && c["value"].is_null()))
        .collect();
    let names = |v: &mut dyn Iterator<Item = String>| v.collect::<Vec<_>>();
    assert_eq!(
        names(&mut td.iter().map(|c| c.name.clone())),
        names(&mut json.iter().map(|c| c["name"].as_str().unwrap().to_string())),
        "{what}: columns"
    );
    for (t, j) in td.iter().zip(&json) {
        let jt = j["type"].as_str().unwrap();
        assert_eq!(t.type_name, strip_typmod(jt), "{what}, column {}", t.name);
        let jv = match &j["value"] {
            Json::Null => TdValue::Null,
            Json::String(s) => TdValue::Text(s.clone()),
            other => panic!("{what}: value {other}"),
        };
        assert_eq!(t.value, jv, "{what}, column {}", t.name);
    }
}

/// The new tuple of test_decoding against "columns" and "unchanged_toast".
fn check_new_row(what: &str, td: &[TdColumn], obj: &Map<String, Json>) {
    let shown: Vec<TdColumn> = td
        .iter()
        .filter(|c| c.value != TdValue::UnchangedToast)
        .cloned()
        .collect();
    check_columns(what, &shown, &obj["columns"], false);
    let unchanged: Vec<&str> = td
        .iter()
        .filter(|c| c.value == TdValue::UnchangedToast)
        .map(|c| c.name.as_str())
        .collect();
    let json_unchanged: Vec<&str> = obj
        .get("unchanged_toast")
        .map(|u| {
            u.as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(unchanged, json_unchanged, "{what}: unchanged TOAST columns");
}

/// test_decoding's old-key (NULLs left out) against "old_key".
fn check_old_key(what: &str, td: &Option<Vec<TdColumn>>, json: &Json) {
    match td {
        None => assert!(json.is_null(), "{what}: old_key should be null, is {json}"),
        Some(cols) => check_columns(what, cols, json, true),
    }
}

#[derive(Default)]
struct Counts {
    rows: usize,
    unchanged_toast: usize,
    old_keys: usize,
    truncates: usize,
    messages: usize,
    two_phase: usize,
}

/// Walks the test_decoding items and the JSON lines together.
fn compare(
    name: &str,
    td: &[TdItem],
    json: &[Map<String, Json>],
    times: &HashMap<u32, String>,
) -> Counts {
    let mut counts = Counts::default();
    let mut lines = json.iter().enumerate();
    let mut txn: Option<u32> = None;
    // commit_lsn and commit_time of the lines of the open transaction
    let mut commit: Option<(Json, Json)> = None;
    let mut next = |what: &str| {
        lines
            .next()
            .unwrap_or_else(|| panic!("{name}: no JSON line for {what}"))
    };
    for item in td {
        let mut expect_line = |kind: &str, xid: Option<u32>, fresh: bool| {
            if fresh {
                commit = None;
            }
            let (i, obj) = next(kind);
            let what = format!("{name}: line {}", i + 1);
            assert_eq!(obj["kind"], Json::from(kind), "{what}: kind");
            if let Some(xid) = xid {
                assert_eq!(obj["xid"], Json::from(xid), "{what}: xid");
                if let Some(t) = times.get(&xid) {
                    assert_eq!(obj["commit_time"], Json::from(t.as_str()), "{what}: time");
                }
                let this = (obj["commit_lsn"].clone(), obj["commit_time"].clone());
                match &commit {
                    Some(c) => assert_eq!(c, &this, "{what}: same transaction"),
                    None => commit = Some(this),
                }
            }
            (what, obj)
        };
        let table_of = |obj: &Map<String, Json>| {
            (
                obj["schema"].as_str().unwrap().to_string(),
                obj["table"].as_str().unwrap().to_string(),
            )
        };
        match item {
            TdItem::Begin(xid) => {
                assert!(txn.is_none(), "{name}: nested BEGIN");
                txn = Some(*xid);
                commit = None;
            }
            TdItem::Commit(xid) => {
                assert_eq!(txn.take(), Some(*xid), "{name}: COMMIT");
            }
            TdItem::Insert { table, new } => {
                let (what, obj) = expect_line("insert", txn, false);
                assert_eq!(&table_of(obj), table, "{what}");
                check_new_row(&what, new, obj);
                assert!(obj["old_key"].is_null(), "{what}");
                counts.rows += 1;
            }
            TdItem::Update { table, old, new } => {
                let (what, obj) = expect_line("update", txn, false);
                assert_eq!(&table_of(obj), table, "{what}");
                match new {
                    Some(new) => check_new_row(&what, new, obj),
                    None => assert!(obj["columns"].is_null(), "{what}"),
                }
                check_old_key(&what, old, &obj["old_key"]);
                counts.rows += 1;
                counts.old_keys += usize::from(old.is_some());
                counts.unchanged_toast += usize::from(obj.contains_key("unchanged_toast"));
            }
            TdItem::Delete { table, old } => {
                let (what, obj) = expect_line("delete", txn, false);
                assert_eq!(&table_of(obj), table, "{what}");
                check_old_key(&what, old, &obj["old_key"]);
                counts.rows += 1;
                counts.old_keys += usize::from(old.is_some());
            }
            TdItem::Truncate {
                tables,
                restart_seqs,
                cascade,
            } => {
                let (what, obj) = expect_line("truncate", txn, false);
                let rels: Vec<(String, String)> = obj["relations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| table_of(r.as_object().unwrap()))
                    .collect();
                assert_eq!(&rels, tables, "{what}");
                assert_eq!(obj["restart_seqs"], Json::Bool(*restart_seqs), "{what}");
                assert_eq!(obj["cascade"], Json::Bool(*cascade), "{what}");
                counts.truncates += 1;
            }
            TdItem::Message {
                transactional,
                prefix,
                content,
            } => {
                let (what, obj) = expect_line("message", txn.filter(|_| *transactional), false);
                assert_eq!(obj["transactional"], Json::Bool(*transactional), "{what}");
                assert_eq!(obj["prefix"], Json::from(prefix.as_str()), "{what}");
                let ours = match (obj.get("content"), obj.get("content_hex")) {
                    (Some(Json::String(s)), None) => s.as_bytes().to_vec(),
                    (None, Some(Json::String(h))) => (0..h.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                        .collect(),
                    _ => panic!("{what}: content"),
                };
                assert_eq!(&ours, content, "{what}: content");
                counts.messages += 1;
            }
            TdItem::Prepare { gid, xid } => {
                assert_eq!(txn.take(), Some(*xid), "{name}: PREPARE TRANSACTION");
                let (what, obj) = expect_line("prepare", Some(*xid), false);
                assert_eq!(obj["gid"], Json::from(gid.as_str()), "{what}");
                assert_eq!(obj["lsn"], obj["commit_lsn"], "{what}");
                counts.two_phase += 1;
            }
            TdItem::CommitPrepared { gid, xid } | TdItem::RollbackPrepared { gid, xid } => {
                let kind = if matches!(item, TdItem::CommitPrepared { .. }) {
                    "commit_prepared"
                } else {
                    "rollback_prepared"
                };
                let (what, obj) = expect_line(kind, Some(*xid), true);
                assert_eq!(obj["gid"], Json::from(gid.as_str()), "{what}");
                counts.two_phase += 1;
            }
        }
    }
    if let Some((i, obj)) = lines.next() {
        panic!(
            "{name}: line {} has no test_decoding counterpart: {obj:?}",
            i + 1
        );
    }
    counts
}

// ---------------------------------------------------------------------------------------
// running

struct Case {
    dir: PathBuf,
    name: String,
    wal: tempfile::TempDir,
    start: String,
    end: String,
}

fn cases() -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(testdata())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("decode/td-default.opts").is_file() && p.join("wal").is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no logical decoding cases in testdata/");
    dirs.into_iter()
        .map(|dir| {
            let read = |f: &str| {
                std::fs::read_to_string(dir.join(f))
                    .unwrap()
                    .trim()
                    .to_string()
            };
            Case {
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                wal: unpack_wal(&dir),
                start: read("start-lsn"),
                end: read("end-lsn"),
                dir,
            }
        })
        .collect()
}

/// The saved output of a run, plain or zstd-compressed.
fn saved(case: &Path, run: &str) -> Option<Vec<u8>> {
    let plain = case.join("decode").join(format!("{run}.out"));
    if let Ok(b) = std::fs::read(&plain) {
        return Some(b);
    }
    let f = std::fs::File::open(plain.with_extension("out.zst")).ok()?;
    Some(zstd::decode_all(f).unwrap())
}

fn decode_json(case: &Case, extra: &[&str], threads: &str) -> Vec<u8> {
    let out = pglcr()
        .env("RAYON_NUM_THREADS", threads)
        .args(["decode", "--format", "json", "--catalog"])
        .arg(case.dir.join("catalog.json"))
        .arg("-p")
        .arg(case.wal.path())
        .args(["--start", &case.start, "--end", &case.end])
        .args(extra)
        .output()
        .expect("run pglcr");
    assert!(
        out.status.success(),
        "{}: pglcr decode --format json {extra:?} failed: {}",
        case.name,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn check_against(case: &Case, run: &str, extra: &[&str]) -> Option<Counts> {
    let td = saved(&case.dir, run)?;
    // td-timestamp shows commit times without two-phase decoding: a prepared transaction
    // has its COMMIT PREPARED time there, its PREPARE time with --two-phase.
    let times = saved(&case.dir, "td-timestamp")
        .filter(|_| extra.is_empty())
        .map(|t| commit_times(&String::from_utf8_lossy(&t)))
        .unwrap_or_default();
    let json = decode_json(case, extra, "2");
    let lines = parse_json_lines(&json);
    let name = format!("{}/{run}", case.name);
    Some(compare(&name, &parse_test_decoding(&td), &lines, &times))
}

#[test]
fn json_agrees_with_test_decoding() {
    let mut total = Counts::default();
    for case in cases() {
        let c = check_against(&case, "td-default", &[]).expect("td-default output");
        total.rows += c.rows;
        total.unchanged_toast += c.unchanged_toast;
        total.old_keys += c.old_keys;
        total.truncates += c.truncates;
        total.messages += c.messages;
        if let Some(c) = check_against(&case, "td-two-phase", &["--two-phase"]) {
            assert!(c.two_phase > 0, "{}: no two-phase events", case.name);
            total.two_phase += c.two_phase;
        }
    }
    // The cases cover every kind of line.
    assert!(total.rows > 0, "no row changes compared");
    assert!(
        total.unchanged_toast > 0,
        "no unchanged TOAST values compared"
    );
    assert!(total.old_keys > 0, "no old keys compared");
    assert!(total.truncates > 0, "no truncates compared");
    assert!(total.messages > 0, "no messages compared");
    assert!(total.two_phase > 0, "no two-phase events compared");
}

#[test]
fn json_is_reproducible() {
    for case in cases() {
        let first = decode_json(&case, &[], "1");
        assert!(!first.is_empty(), "{}: no output", case.name);
        let second = decode_json(&case, &[], "1");
        assert!(first == second, "{}: two runs differ", case.name);
        // Two threads render as one does, on the thread after the decoding one; more render
        // in batches in parallel.
        for threads in ["2", "4"] {
            let parallel = decode_json(&case, &[], threads);
            assert!(
                first == parallel,
                "{}: 1 and {threads} threads differ",
                case.name
            );
        }
        let two_phase = decode_json(&case, &["--two-phase"], "1");
        let two_phase_parallel = decode_json(&case, &["--two-phase"], "4");
        assert!(
            two_phase == two_phase_parallel,
            "{} --two-phase: 1 and 4 threads differ",
            case.name
        );
    }
}

#[test]
fn json_refuses_plugin_options() {
    let case = &cases()[0];
    for opt in ["include-xids=1", "pretty-print"] {
        let out = pglcr()
            .args(["decode", "--format", "json", "--catalog"])
            .arg(case.dir.join("catalog.json"))
            .arg("-p")
            .arg(case.wal.path())
            .args(["--start", &case.start, "--end", &case.end, "-o", opt])
            .output()
            .expect("run pglcr");
        assert!(!out.status.success(), "-o {opt} was accepted");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        let name = opt.split('=').next().unwrap();
        assert!(
            err.contains(&format!("\"{name}\"")) && err.contains("takes no -o options"),
            "-o {opt}: {err}"
        );
    }
}

#[test]
fn test_decoding_parser_reads_quoting() {
    let text = b"BEGIN 5\ntable public.\"T x\": UPDATE: old-key: id[integer]:1 new-tuple: id[integer]:2 t[text]:'it''s\nnull' b[bit(3)]:B'101' f[boolean]:false n[text]:null u[text]:unchanged-toast-datum a[integer[]]:'{1}'\nmessage: transactional: 1 prefix: p, sz: 3 content:a\nb\nCOMMIT 5\n";
    let items = parse_test_decoding(text);
    assert_eq!(items.len(), 4);
    let TdItem::Update { table, old, new } = &items[1] else {
        panic!("{items:?}")
    };
    assert_eq!(table, &("public".to_string(), "T x".to_string()));
    assert_eq!(old.as_ref().unwrap()[0].value, TdValue::Text("1".into()));
    let new = new.as_ref().unwrap();
    let values: Vec<&TdValue> = new.iter().map(|c| &c.value).collect();
    assert_eq!(
        values,
        [
            &TdValue::Text("2".into()),
            &TdValue::Text("it's\nnull".into()),
            &TdValue::Text("101".into()),
            &TdValue::Text("f".into()),
            &TdValue::Null,
            &TdValue::UnchangedToast,
            &TdValue::Text("{1}".into()),
        ]
    );
    assert_eq!(new[6].type_name, "integer[]");
    assert_eq!(
        strip_typmod("character varying(10)[]"),
        "character varying[]"
    );
    let TdItem::Message { content, .. } = &items[2] else {
        panic!()
    };
    assert_eq!(content, b"a\nb");
}
