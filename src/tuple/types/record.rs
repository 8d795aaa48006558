//! Composite values: a heap tuple inside a varlena (`HeapTupleHeader` whose first fields
//! are the datum length, typmod and type oid), printed as `record_out` does: `(1,,"a b")`.

use crate::catalog::{Catalog, Type};
use crate::tuple::{deform, Datum, HeapTuple};

use super::{malformed, type_of, u16_at, write_typed, OutputContext, TypeError};

pub fn record_out(
    catalog: &Catalog,
    ty: &Type,
    v: &[u8],
    ctx: &OutputContext,
    out: &mut String,
) -> Result<(), TypeError> {
    let m = |e: super::Malformed| malformed(ty, e.0);
    let relid = ty.typrelid.ok_or_else(|| TypeError::Unsupported {
        type_name: ty.formatted.clone(),
        output_fn: ty.typoutput.clone(),
    })?;
    let columns = catalog
        .relation(relid)
        .and_then(|r| r.columns.as_deref())
        .ok_or_else(|| {
            malformed(
                ty,
                format!("relation {relid} of the type is not in the catalog"),
            )
        })?;
    // payload offsets: the 4-byte length is gone, so header fields sit 4 bytes earlier
    let infomask2 = u16_at(v, 14).map_err(m)?;
    let infomask = u16_at(v, 16).map_err(m)?;
    let hoff = *v
        .get(18)
        .ok_or_else(|| malformed(ty, "truncated tuple header"))?;
    let tuple = HeapTuple {
        infomask2,
        infomask,
        hoff,
        data: &v[19..],
    };
    let datums = deform(&tuple, columns).map_err(|source| TypeError::Tuple {
        type_name: ty.formatted.clone(),
        source,
    })?;
    out.push('(');
    let mut first = true;
    let mut text = String::new();
    for (col, datum) in columns.iter().zip(datums) {
        if col.attisdropped {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        let bytes = match datum {
            Datum::Null | Datum::Missing | Datum::Dropped => continue,
            Datum::Fixed(b) | Datum::CString(b) => std::borrow::Cow::Borrowed(b),
            Datum::Varlena(var) => var.detoast_inline().map_err(|source| TypeError::Tuple {
                type_name: ty.formatted.clone(),
                source,
            })?,
        };
        text.clear();
        write_typed(
            catalog,
            type_of(catalog, col.type_oid)?,
            &bytes,
            ctx,
            &mut text,
        )?;
        push_quoted(&text, &['"', '\\', '(', ')', ','], out);
    }
    out.push(')');
    Ok(())
}

/// Quotes like `record_out` and `range_bound_escape`: when empty or containing one of
/// `special` or white space; `"` and `\` are doubled.
pub(crate) fn push_quoted(s: &str, special: &[char], out: &mut String) {
    let nq = s.is_empty()
        || s.chars().any(|c| {
            special.contains(&c) || matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}')
        });
    if nq {
        out.push('"');
    }
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    if nq {
        out.push('"');
    }
}
