//! Rows of the system catalogs that decoding depends on, read from catalog tuples with the
//! catalogs' own column layouts from the dictionary.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{Catalog, Column};
use crate::logical::LoggedTuple;
use crate::tuple::{self, Datum, HeapTuple, TupleError, Varlena};

pub const PG_TYPE: u32 = 1247;
pub const PG_ATTRIBUTE: u32 = 1249;
pub const PG_CLASS: u32 = 1259;
pub const PG_NAMESPACE: u32 = 2615;
pub const PG_INDEX: u32 = 2610;
pub const PG_INHERITS: u32 = 2611;
pub const PG_ENUM: u32 = 3501;
pub const PG_RANGE: u32 = 3541;
/// The catalogs followed, in no particular order.
pub const FOLLOWED: [u32; 8] = [
    PG_TYPE,
    PG_ATTRIBUTE,
    PG_CLASS,
    PG_NAMESPACE,
    PG_INDEX,
    PG_INHERITS,
    PG_ENUM,
    PG_RANGE,
];

#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("the catalog has no columns for system catalog {0}; re-export it with this version's sql/catalog-export.sql")]
    NoLayout(u32),
    #[error("{table}: {source}")]
    Tuple {
        table: &'static str,
        source: TupleError,
    },
    #[error("{table}: column {column} is missing or has an unexpected value")]
    Field {
        table: &'static str,
        column: &'static str,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassRow {
    pub oid: u32,
    pub relname: String,
    pub relnamespace: u32,
    pub relfilenode: u32,
    pub reltablespace: u32,
    pub reltoastrelid: u32,
    pub relisshared: bool,
    pub relpersistence: char,
    pub relkind: char,
    pub relreplident: char,
    pub relispartition: bool,
    pub relrewrite: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributeRow {
    pub attrelid: u32,
    pub attnum: i16,
    pub attname: String,
    pub atttypid: u32,
    pub atttypmod: i32,
    pub attlen: i16,
    pub attbyval: bool,
    pub attalign: char,
    pub attstorage: char,
    pub attisdropped: bool,
    pub attnotnull: bool,
    pub attcompression: Option<char>,
    pub atthasmissing: bool,
    /// The `attmissingval` array: its element type and the element's bytes.
    pub missing: Option<Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeRow {
    pub oid: u32,
    pub typname: String,
    pub typnamespace: u32,
    pub typlen: i16,
    pub typbyval: bool,
    pub typtype: char,
    pub typcategory: char,
    pub typdelim: char,
    pub typrelid: u32,
    pub typelem: u32,
    pub typarray: u32,
    pub typoutput: u32,
    pub typalign: char,
    pub typbasetype: u32,
    pub typtypmod: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexRow {
    pub indexrelid: u32,
    pub indrelid: u32,
    pub indisprimary: bool,
    pub indisreplident: bool,
    pub indkey: Vec<i16>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Row {
    Class(ClassRow),
    Attribute(AttributeRow),
    Type(TypeRow),
    Namespace {
        oid: u32,
        name: String,
    },
    Enum {
        oid: u32,
        typid: u32,
        label: String,
    },
    Index(IndexRow),
    Inherits {
        rel: u32,
        parent: u32,
    },
    /// A `pg_range` row: the range type, its subtype and (14+) its multirange type.
    Range {
        typid: u32,
        subtype: u32,
        multirange: Option<u32>,
    },
    /// A relation-mapped catalog (pg_class, pg_attribute, pg_type, …) got a new relfilenode
    /// in the relation map (`XLOG_RELMAP_UPDATE`), not in its pg_class row.
    Mapped {
        oid: u32,
        relfilenode: u32,
    },
}

/// The column layouts of the followed catalogs.
#[derive(Clone, Debug)]
pub struct Layouts {
    tables: FxHashMap<u32, Layout>,
}

#[derive(Clone, Debug)]
struct Layout {
    columns: Vec<Column>,
    by_name: FxHashMap<String, usize>,
}

impl Layouts {
    pub fn new(catalog: &Catalog) -> Result<Layouts, RowError> {
        let mut tables = FxHashMap::default();
        for oid in FOLLOWED {
            let columns = catalog
                .relation(oid)
                .and_then(|r| r.columns.clone())
                .filter(|c| !c.is_empty())
                .ok_or(RowError::NoLayout(oid))?;
            let by_name = columns
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.clone(), i))
                .collect();
            tables.insert(oid, Layout { columns, by_name });
        }
        Ok(Layouts { tables })
    }

    /// Reads a tuple of catalog `table`.
    pub fn read(&self, table: u32, t: &LoggedTuple) -> Result<Row, RowError> {
        let layout = &self.tables[&table];
        let name = table_name(table);
        let tuple = HeapTuple {
            infomask2: t.infomask2,
            infomask: t.infomask,
            hoff: t.hoff,
            data: &t.data,
        };
        let datums = tuple::deform(&tuple, &layout.columns).map_err(|source| RowError::Tuple {
            table: name,
            source,
        })?;
        let f = Fields {
            layout,
            datums: &datums,
            table: name,
        };
        Ok(match table {
            PG_CLASS => Row::Class(ClassRow {
                oid: f.u32("oid")?,
                relname: f.name("relname")?,
                relnamespace: f.u32("relnamespace")?,
                relfilenode: f.u32("relfilenode")?,
                reltablespace: f.u32("reltablespace")?,
                reltoastrelid: f.u32("reltoastrelid")?,
                relisshared: f.bool("relisshared")?,
                relpersistence: f.char("relpersistence")?,
                relkind: f.char("relkind")?,
                relreplident: f.char("relreplident")?,
                relispartition: f.bool("relispartition")?,
                relrewrite: f.opt_u32("relrewrite")?.unwrap_or(0),
            }),
            PG_ATTRIBUTE => Row::Attribute(AttributeRow {
                attrelid: f.u32("attrelid")?,
                attnum: f.i16("attnum")?,
                attname: f.name("attname")?,
                atttypid: f.u32("atttypid")?,
                atttypmod: f.i32("atttypmod")?,
                attlen: f.i16("attlen")?,
                attbyval: f.bool("attbyval")?,
                attalign: f.char("attalign")?,
                attstorage: f.char("attstorage")?,
                attisdropped: f.bool("attisdropped")?,
                attnotnull: f.bool("attnotnull")?,
                attcompression: f.opt_char("attcompression")?,
                atthasmissing: f.bool("atthasmissing")?,
                missing: f.varlena("attmissingval")?,
            }),
            PG_TYPE => Row::Type(TypeRow {
                oid: f.u32("oid")?,
                typname: f.name("typname")?,
                typnamespace: f.u32("typnamespace")?,
                typlen: f.i16("typlen")?,
                typbyval: f.bool("typbyval")?,
                typtype: f.char("typtype")?,
                typcategory: f.char("typcategory")?,
                typdelim: f.char("typdelim")?,
                typrelid: f.u32("typrelid")?,
                typelem: f.u32("typelem")?,
                typarray: f.u32("typarray")?,
                typoutput: f.u32("typoutput")?,
                typalign: f.char("typalign")?,
                typbasetype: f.u32("typbasetype")?,
                typtypmod: f.i32("typtypmod")?,
            }),
            PG_NAMESPACE => Row::Namespace {
                oid: f.u32("oid")?,
                name: f.name("nspname")?,
            },
            PG_ENUM => Row::Enum {
                oid: f.u32("oid")?,
                typid: f.u32("enumtypid")?,
                label: f.name("enumlabel")?,
            },
            PG_INDEX => Row::Index(IndexRow {
                indexrelid: f.u32("indexrelid")?,
                indrelid: f.u32("indrelid")?,
                indisprimary: f.bool("indisprimary")?,
                indisreplident: f.bool("indisreplident")?,
                indkey: int2vector(&f.varlena("indkey")?.ok_or(RowError::Field {
                    table: name,
                    column: "indkey",
                })?)
                .ok_or(RowError::Field {
                    table: name,
                    column: "indkey",
                })?,
            }),
            PG_INHERITS => Row::Inherits {
                rel: f.u32("inhrelid")?,
                parent: f.u32("inhparent")?,
            },
            PG_RANGE => Row::Range {
                typid: f.u32("rngtypid")?,
                subtype: f.u32("rngsubtype")?,
                multirange: f.opt_u32("rngmultitypid")?.filter(|&m| m != 0),
            },
            _ => unreachable!("only followed catalogs are read"),
        })
    }
}

fn table_name(oid: u32) -> &'static str {
    match oid {
        PG_CLASS => "pg_class",
        PG_ATTRIBUTE => "pg_attribute",
        PG_TYPE => "pg_type",
        PG_NAMESPACE => "pg_namespace",
        PG_ENUM => "pg_enum",
        PG_INDEX => "pg_index",
        PG_INHERITS => "pg_inherits",
        PG_RANGE => "pg_range",
        _ => "catalog",
    }
}

struct Fields<'a, 't> {
    layout: &'a Layout,
    datums: &'a [Datum<'t>],
    table: &'static str,
}

impl<'t> Fields<'_, 't> {
    fn bad(&self, column: &'static str) -> RowError {
        RowError::Field {
            table: self.table,
            column,
        }
    }

    fn datum(&self, column: &'static str) -> Option<&Datum<'t>> {
        self.layout
            .by_name
            .get(column)
            .and_then(|&i| self.datums.get(i))
    }

    fn fixed<const N: usize>(&self, column: &'static str) -> Result<[u8; N], RowError> {
        match self.datum(column) {
            Some(Datum::Fixed(b)) => b
                .get(..N)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| self.bad(column)),
            _ => Err(self.bad(column)),
        }
    }

    fn u32(&self, column: &'static str) -> Result<u32, RowError> {
        self.fixed::<4>(column).map(u32::from_le_bytes)
    }

    fn opt_u32(&self, column: &'static str) -> Result<Option<u32>, RowError> {
        if self.datum(column).is_none() {
            return Ok(None);
        }
        self.u32(column).map(Some)
    }

    fn i32(&self, column: &'static str) -> Result<i32, RowError> {
        self.fixed::<4>(column).map(i32::from_le_bytes)
    }

    fn i16(&self, column: &'static str) -> Result<i16, RowError> {
        self.fixed::<2>(column).map(i16::from_le_bytes)
    }

    fn bool(&self, column: &'static str) -> Result<bool, RowError> {
        self.fixed::<1>(column).map(|b| b[0] != 0)
    }

    fn char(&self, column: &'static str) -> Result<char, RowError> {
        self.fixed::<1>(column).map(|b| char::from(b[0]))
    }

    fn opt_char(&self, column: &'static str) -> Result<Option<char>, RowError> {
        match self.datum(column) {
            None => Ok(None),
            Some(_) => self.char(column).map(|c| (c != '\0').then_some(c)),
        }
    }

    fn name(&self, column: &'static str) -> Result<String, RowError> {
        match self.datum(column) {
            Some(Datum::Fixed(b)) | Some(Datum::CString(b)) => {
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                Ok(String::from_utf8_lossy(&b[..end]).into_owned())
            }
            _ => Err(self.bad(column)),
        }
    }

    /// A varlena's bytes (without header), `None` for NULL.
    fn varlena(&self, column: &'static str) -> Result<Option<Vec<u8>>, RowError> {
        match self.datum(column) {
            Some(Datum::Null) | Some(Datum::Missing) | None => Ok(None),
            Some(Datum::Varlena(v @ (Varlena::Plain(_) | Varlena::Compressed { .. }))) => v
                .detoast_inline()
                .map(|b| Some(b.into_owned()))
                .map_err(|source| RowError::Tuple {
                    table: self.table,
                    source,
                }),
            _ => Err(self.bad(column)),
        }
    }
}

/// The values of an `int2vector` (a one-dimensional int2 array without nulls).
fn int2vector(b: &[u8]) -> Option<Vec<i16>> {
    let n = usize::try_from(i32::from_le_bytes(b.get(12..16)?.try_into().ok()?)).ok()?;
    (0..n)
        .map(|i| {
            let at = 20 + 2 * i;
            Some(i16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
        })
        .collect()
}

/// The only element of a one-element array (`attmissingval`), as bytes of its element type:
/// `(element type, bytes)`; varlena elements keep their header.
pub fn single_element(b: &[u8]) -> Option<(u32, &[u8])> {
    let ndim = i32::from_le_bytes(b.get(0..4)?.try_into().ok()?);
    let dataoffset = i32::from_le_bytes(b.get(4..8)?.try_into().ok()?);
    let elemtype = u32::from_le_bytes(b.get(8..12)?.try_into().ok()?);
    if ndim != 1 || dataoffset != 0 {
        return None;
    }
    // ARR_OVERHEAD_NONULLS(1) = MAXALIGN(16 + 8) counted from the 4-byte header.
    Some((elemtype, b.get(24 - 4..)?))
}

/// Quotes one element of an array literal as `array_out` does.
pub fn array_literal(element: &str) -> String {
    let needs_quotes = element.is_empty()
        || element.eq_ignore_ascii_case("NULL")
        || element
            .chars()
            .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_ascii_whitespace());
    if !needs_quotes {
        return format!("{{{element}}}");
    }
    let mut s = String::from("{\"");
    for c in element.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push_str("\"}");
    s
}

/// The element of a one-element array literal (`{42}`, `{"a b"}`).
pub fn array_literal_element(literal: &str) -> Option<String> {
    let inner = literal.strip_prefix('{')?.strip_suffix('}')?;
    let Some(quoted) = inner.strip_prefix('"') else {
        return Some(inner.to_string());
    };
    let quoted = quoted.strip_suffix('"')?;
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push(chars.next()?);
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_literals_round_trip() {
        for v in ["42", "hello, \"world\"", "", "NULL", "a\\b", "{1,2}", "x y"] {
            let lit = array_literal(v);
            assert_eq!(array_literal_element(&lit).as_deref(), Some(v), "{lit}");
        }
        assert_eq!(array_literal("42"), "{42}");
        assert_eq!(array_literal("a b"), "{\"a b\"}");
    }
}
