//! Arrays: the `ArrayType` header (ndim, data offset, element type, dims, lower bounds,
//! optional null bitmap) and `array_out` quoting (`{1,NULL,"a b"}`, `[0:1]={…}`).

use std::fmt::Write;

use crate::catalog::{align_of, Catalog, Type};

use super::{
    i32_at, malformed, read_element, type_of, u32_at, write_typed, OutputContext, TypeError,
};

const MAXDIM: usize = 6;

pub fn array_out(
    catalog: &Catalog,
    ty: &Type,
    v: &[u8],
    ctx: &OutputContext,
    out: &mut String,
) -> Result<(), TypeError> {
    let bad = |reason: String| malformed(ty, reason);
    let m = |e: super::Malformed| malformed(ty, e.0);
    let ndim = i32_at(v, 0).map_err(m)?;
    let dataoffset = i32_at(v, 4).map_err(m)?;
    let elemtype = u32_at(v, 8).map_err(m)?;
    let ndim = usize::try_from(ndim)
        .ok()
        .filter(|&n| n <= MAXDIM)
        .ok_or_else(|| bad(format!("invalid number of dimensions {ndim}")))?;
    if ndim == 0 {
        out.push_str("{}");
        return Ok(());
    }
    let mut dims = [0usize; MAXDIM];
    let mut lbounds = [0i32; MAXDIM];
    let mut nitems: usize = 1;
    for d in 0..ndim {
        let n = i32_at(v, 12 + 4 * d).map_err(m)?;
        dims[d] = usize::try_from(n).map_err(|_| bad(format!("negative dimension {n}")))?;
        lbounds[d] = i32_at(v, 12 + 4 * ndim + 4 * d).map_err(m)?;
        nitems = nitems
            .checked_mul(dims[d])
            .filter(|&n| n <= v.len() * 8 + 1)
            .ok_or_else(|| bad("too many elements for the value's size".into()))?;
    }
    if nitems == 0 {
        out.push_str("{}");
        return Ok(());
    }
    let bitmap_at = 12 + 8 * ndim;
    let (bitmap, data_start) = if dataoffset != 0 {
        let start = usize::try_from(dataoffset)
            .ok()
            .and_then(|o| o.checked_sub(4))
            .filter(|&s| s >= bitmap_at + nitems.div_ceil(8) && s <= v.len())
            .ok_or_else(|| bad(format!("invalid data offset {dataoffset}")))?;
        (Some(&v[bitmap_at..bitmap_at + nitems.div_ceil(8)]), start)
    } else {
        (None, crate::tuple::align(16 + 8 * ndim, 8) - 4)
    };
    if data_start > v.len() {
        return Err(bad("header runs past the end of the value".into()));
    }
    let elem = type_of(catalog, elemtype)?;
    let delim = elem.typdelim.chars().next().unwrap_or(',');

    if lbounds[..ndim].iter().any(|&lb| lb != 1) {
        for d in 0..ndim {
            let upper = i64::from(lbounds[d]) + dims[d] as i64 - 1;
            let _ = write!(out, "[{}:{}]", lbounds[d], upper);
        }
        out.push('=');
    }

    let mut off = data_start;
    let mut text = String::new();
    let mut index = [0usize; MAXDIM];
    for _ in 0..ndim {
        out.push('{');
    }
    for item in 0..nitems {
        if item > 0 {
            // close the dimensions that wrapped, then open them again
            let mut d = ndim - 1;
            index[d] += 1;
            let mut closed = 0;
            while index[d] == dims[d] {
                index[d] = 0;
                closed += 1;
                d -= 1;
                index[d] += 1;
            }
            for _ in 0..closed {
                out.push('}');
            }
            out.push(delim);
            for _ in 0..closed {
                out.push('{');
            }
        }
        let is_null = bitmap.is_some_and(|b| b[item / 8] & (1 << (item % 8)) == 0);
        if is_null {
            out.push_str("NULL");
            continue;
        }
        let e = read_element(
            v,
            off,
            4,
            elem.typlen,
            align_of(&elem.typalign),
            true,
            &ty.formatted,
        )?;
        off = e.end;
        text.clear();
        write_typed(catalog, elem, &e.value, ctx, &mut text)?;
        push_array_element(&text, delim, out);
    }
    for _ in 0..ndim {
        out.push('}');
    }
    Ok(())
}

fn array_isspace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}')
}

/// Quotes an element as `array_out` does.
fn push_array_element(s: &str, delim: char, out: &mut String) {
    let needquote = s.is_empty()
        || s.eq_ignore_ascii_case("NULL")
        || s.chars()
            .any(|c| matches!(c, '"' | '\\' | '{' | '}') || c == delim || array_isspace(c));
    if !needquote {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}
