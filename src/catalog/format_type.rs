//! `format_type` (PostgreSQL's `format_type.c`) for columns learnt from WAL: the SQL names of
//! built-in types and their typmods, and names of other types as the export would print them.

use super::type_oids::*;
use super::{Catalog, Type};

/// `format_type(oid, typmod)` when `typmod` is given, `format_type(oid, NULL)` otherwise.
pub fn format_type(catalog: &Catalog, oid: u32, typmod: Option<i32>) -> String {
    let Some(t) = catalog.type_(oid) else {
        return "???".into();
    };
    // An array prints as its element type, with the typmod, followed by [].
    if t.typlen == -1 && t.typelem.is_some() && t.typcategory == "A" {
        if let Some(elem) = t.typelem {
            return format!("{}[]", format_type(catalog, elem, typmod));
        }
    }
    let with = typmod.filter(|&m| m >= 0);
    let given = typmod.is_some();
    match oid {
        BPCHAR => match with {
            Some(m) => format!("character({})", m - 4),
            None if given => "character".into(),
            None => "bpchar".into(),
        },
        VARCHAR => match with {
            Some(m) => format!("character varying({})", m - 4),
            None => "character varying".into(),
        },
        NUMERIC => match with {
            Some(m) => {
                let m = m - 4;
                format!(
                    "numeric({},{})",
                    (m >> 16) & 0xffff,
                    ((m & 0x7ff) ^ 1024) - 1024
                )
            }
            None => "numeric".into(),
        },
        TIME => with_precision("time", with, " without time zone"),
        TIMETZ => with_precision("time", with, " with time zone"),
        TIMESTAMP => with_precision("timestamp", with, " without time zone"),
        TIMESTAMPTZ => with_precision("timestamp", with, " with time zone"),
        BIT => match with {
            Some(m) => format!("bit({m})"),
            None => "bit".into(),
        },
        VARBIT => match with {
            Some(m) => format!("bit varying({m})"),
            None => "bit varying".into(),
        },
        // Interval typmods name fields; only the plain form is known here.
        INTERVAL => "interval".into(),
        _ => plain_name(t),
    }
}

fn with_precision(base: &str, typmod: Option<i32>, zone: &str) -> String {
    match typmod {
        Some(p) => format!("{base}({p}){zone}"),
        None => format!("{base}{zone}"),
    }
}

/// The name the export prints for a type without typmod: built-in types have their SQL
/// names in the dictionary already; others are qualified unless in `pg_catalog` or `public`.
fn plain_name(t: &Type) -> String {
    if !t.formatted.is_empty() {
        return t.formatted.clone();
    }
    let mut s = String::new();
    if t.namespace != "pg_catalog" && t.namespace != "public" {
        crate::output::ident::push_quoted_identifier(&mut s, &t.namespace, 15);
        s.push('.');
    }
    crate::output::ident::push_quoted_identifier(&mut s, &t.name, 15);
    s
}
