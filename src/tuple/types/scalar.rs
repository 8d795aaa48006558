//! Simple types: bool, "char", name, integers, oids, text, bytea, uuid, pg_lsn, tid, enums,
//! regclass and regtype.

use std::fmt::Write;

use crate::catalog::{Catalog, Type};

use super::{exact, u32_at, utf8, Malformed};

pub fn bool_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let [b] = exact::<1>(v)?;
    out.push(if b != 0 { 't' } else { 'f' });
    Ok(())
}

/// `charout`: high-bit bytes as `\ooo`; a zero byte prints nothing.
pub fn char_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let [b] = exact::<1>(v)?;
    if b & 0x80 != 0 {
        let _ = write!(out, "\\{}{}{}", b >> 6, (b >> 3) & 7, b & 7);
    } else if b != 0 {
        out.push(char::from(b));
    }
    Ok(())
}

pub fn name_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    out.push_str(utf8(&v[..end])?);
    Ok(())
}

pub fn int2_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    out.push_str(itoa::Buffer::new().format(i16::from_le_bytes(exact(v)?)));
    Ok(())
}

pub fn int4_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    out.push_str(itoa::Buffer::new().format(i32::from_le_bytes(exact(v)?)));
    Ok(())
}

pub fn int8_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    out.push_str(itoa::Buffer::new().format(i64::from_le_bytes(exact(v)?)));
    Ok(())
}

pub fn uint4_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    out.push_str(itoa::Buffer::new().format(u32::from_le_bytes(exact(v)?)));
    Ok(())
}

pub fn uint8_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    out.push_str(itoa::Buffer::new().format(u64::from_le_bytes(exact(v)?)));
    Ok(())
}

pub fn text_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    out.push_str(utf8(v)?);
    Ok(())
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `byteaout` with `bytea_output = hex`.
pub fn bytea_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    out.reserve(2 + 2 * v.len());
    out.push_str("\\x");
    for &b in v {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    Ok(())
}

pub fn uuid_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let b = exact::<16>(v)?;
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 15)]));
    }
    Ok(())
}

pub fn pg_lsn_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let lsn = u64::from_le_bytes(exact(v)?);
    let _ = write!(out, "{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF);
    Ok(())
}

pub fn tid_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let b = exact::<6>(v)?;
    let block = (u32::from(u16::from_le_bytes([b[0], b[1]])) << 16)
        | u32::from(u16::from_le_bytes([b[2], b[3]]));
    let offset = u16::from_le_bytes([b[4], b[5]]);
    let _ = write!(out, "({block},{offset})");
    Ok(())
}

/// `enum_out`: the label of the `pg_enum` row whose oid is stored.
pub fn enum_out(ty: &Type, v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let oid = u32_at(v, 0)?;
    let label = ty
        .enum_labels
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|l| l.oid == oid)
        .ok_or_else(|| Malformed(format!("enum value oid {oid} is not a label of the type")))?;
    out.push_str(&label.label);
    Ok(())
}

/// `regtypeout`: `format_type`'s text, or `-` for 0.
pub fn regtype_out(catalog: &Catalog, v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let oid = u32::from_le_bytes(exact(v)?);
    if oid == 0 {
        out.push('-');
        return Ok(());
    }
    let ty = catalog
        .type_(oid)
        .ok_or_else(|| Malformed(format!("type oid {oid} is not in the catalog")))?;
    out.push_str(&ty.formatted);
    Ok(())
}

/// `regclassout`, for the default `search_path` (`"$user", public`): relations in
/// `pg_catalog`, and in `public` unless a `pg_catalog` relation has the same name, print
/// unqualified.
pub fn regclass_out(catalog: &Catalog, v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let oid = u32::from_le_bytes(exact(v)?);
    if oid == 0 {
        out.push('-');
        return Ok(());
    }
    let rel = catalog
        .relation(oid)
        .ok_or_else(|| Malformed(format!("relation oid {oid} is not in the catalog")))?;
    let visible = rel.namespace == "pg_catalog"
        || (rel.namespace == "public"
            && !catalog
                .file
                .relations
                .iter()
                .any(|r| r.namespace == "pg_catalog" && r.name == rel.name));
    if !visible {
        quote_ident(&rel.namespace, out);
        out.push('.');
    }
    quote_ident(&rel.name, out);
    Ok(())
}

/// Keywords that `quote_identifier` quotes (all but the unreserved ones), PostgreSQL 15.
const QUOTED_KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// `quote_identifier`.
pub fn quote_ident(ident: &str, out: &mut String) {
    let safe = ident
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && ident
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !QUOTED_KEYWORDS.contains(&ident);
    if safe {
        out.push_str(ident);
    } else {
        out.push('"');
        for c in ident.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    }
}
