//! Reading what PostgreSQL stored and printed, for tests that compare value by value: raw
//! tuples through `pageinspect`, PostgreSQL's own text through `COPY … TO STDOUT`, and the
//! catalog dictionary through `sql/catalog-export.sql`.

use std::collections::HashMap;

use pglcr::catalog::{Catalog, CatalogFile};
use pglcr::tuple::{deform, Datum, HeapTuple, Varlena};

use super::Cluster;

/// Undoes `COPY … TO STDOUT` text escaping; `None` for `\N`.
pub fn copy_field(field: &str) -> Option<String> {
    if field == "\\N" {
        return None;
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Some(out)
}

/// PostgreSQL's text for every row of `table` (ctid → column values), after `setup_sql`
/// (session settings such as TimeZone).
pub fn copy_rows(
    cluster: &Cluster,
    table: &str,
    setup_sql: &str,
) -> HashMap<String, Vec<Option<String>>> {
    let text = cluster.psql_script(&format!(
        "{setup_sql}COPY (SELECT ctid, *, 'END' FROM {table}) TO STDOUT;\n"
    ));
    let mut rows = HashMap::new();
    for line in text.lines() {
        let mut fields: Vec<Option<String>> = line.split('\t').map(copy_field).collect();
        assert_eq!(
            fields.pop().flatten().as_deref(),
            Some("END"),
            "line {line:?}"
        );
        let ctid = fields.remove(0).expect("ctid");
        rows.insert(ctid, fields);
    }
    rows
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// The raw tuples of a relation: (ctid text, tuple bytes from `t_xmin` on).
pub fn raw_tuples(cluster: &Cluster, qualified: &str) -> Vec<(String, Vec<u8>)> {
    let pages = cluster.psql(&format!(
        "SELECT encode(get_raw_page('{qualified}', b::int), 'hex') \
         FROM generate_series(0, pg_relation_size('{qualified}') / 8192 - 1) b ORDER BY b"
    ));
    let mut tuples = Vec::new();
    for (blk, hex) in pages.lines().enumerate() {
        let page = unhex(hex.trim());
        let lower = usize::from(u16::from_le_bytes([page[12], page[13]]));
        for i in 0..(lower - 24) / 4 {
            let at = 24 + 4 * i;
            let v = u32::from_le_bytes([page[at], page[at + 1], page[at + 2], page[at + 3]]);
            let (off, flags, len) = ((v & 0x7FFF) as usize, (v >> 15) & 3, (v >> 17) as usize);
            if flags != 1 {
                continue;
            }
            tuples.push((format!("({blk},{})", i + 1), page[off..off + len].to_vec()));
        }
    }
    tuples
}

pub fn load_catalog(cluster: &Cluster) -> Catalog {
    let sql = std::fs::read_to_string(super::repo_root().join("sql/catalog-export.sql"))
        .expect("read catalog-export.sql");
    let json = cluster.psql_script(&sql);
    let file: CatalogFile = serde_json::from_str(&json).expect("catalog JSON");
    Catalog::new(file).expect("catalog")
}

/// All TOAST chunks of a TOAST table, by value id.
pub fn toast_chunks(
    cluster: &Cluster,
    catalog: &Catalog,
    toast_relid: u32,
) -> HashMap<u32, Vec<(i32, Vec<u8>)>> {
    let rel = catalog.relation(toast_relid).expect("toast relation");
    let columns = rel.columns.as_deref().expect("toast columns");
    let mut chunks: HashMap<u32, Vec<(i32, Vec<u8>)>> = HashMap::new();
    for (_, bytes) in raw_tuples(cluster, &format!("pg_toast.{}", rel.name)) {
        let t = HeapTuple::from_bytes(&bytes).expect("toast tuple");
        let d = deform(&t, columns).expect("deform toast tuple");
        let (Datum::Fixed(id), Datum::Fixed(seq), Datum::Varlena(Varlena::Plain(data))) =
            (d[0], d[1], d[2])
        else {
            panic!("unexpected toast tuple {d:?}");
        };
        chunks
            .entry(u32::from_le_bytes(id.try_into().unwrap()))
            .or_default()
            .push((i32::from_le_bytes(seq.try_into().unwrap()), data.to_vec()));
    }
    chunks
}
