//! Ranges and multiranges: `range_out` (`[1,5)`, `empty`, `(,"2020-01-01 00:00:00+00"]`)
//! and `multirange_out` (`{[1,3),[5,7)}`).

use crate::catalog::{align_of, Catalog, Type};

use super::record::push_quoted;
use super::{malformed, read_element, type_of, u32_at, write_typed, OutputContext, TypeError};

const RANGE_EMPTY: u8 = 0x01;
const RANGE_LB_INC: u8 = 0x02;
const RANGE_UB_INC: u8 = 0x04;
const RANGE_LB_INF: u8 = 0x08;
const RANGE_UB_INF: u8 = 0x10;
const RANGE_LB_NULL: u8 = 0x20;
const RANGE_UB_NULL: u8 = 0x40;

fn has_lbound(flags: u8) -> bool {
    flags & (RANGE_EMPTY | RANGE_LB_NULL | RANGE_LB_INF) == 0
}

fn has_ubound(flags: u8) -> bool {
    flags & (RANGE_EMPTY | RANGE_UB_NULL | RANGE_UB_INF) == 0
}

fn subtype<'c>(catalog: &'c Catalog, range: &Type) -> Result<&'c Type, TypeError> {
    let sub = range
        .range_subtype
        .ok_or_else(|| malformed(range, "range type without a subtype in the catalog"))?;
    type_of(catalog, sub)
}

pub fn range_out(
    catalog: &Catalog,
    ty: &Type,
    v: &[u8],
    ctx: &OutputContext,
    out: &mut String,
) -> Result<(), TypeError> {
    let sub = subtype(catalog, ty)?;
    let (&flags, body) = v.split_last().ok_or_else(|| malformed(ty, "empty value"))?;
    if body.len() < 4 {
        return Err(malformed(ty, "shorter than its type oid"));
    }
    // bounds start 8 bytes into the range (after the varlena header and type oid)
    write_range(catalog, ty, sub, flags, body, 4, 4, ctx, out)
}

#[allow(clippy::too_many_arguments)]
fn write_range(
    catalog: &Catalog,
    ty: &Type,
    sub: &Type,
    flags: u8,
    buf: &[u8],
    at: usize,
    bias: usize,
    ctx: &OutputContext,
    out: &mut String,
) -> Result<(), TypeError> {
    if flags & RANGE_EMPTY != 0 {
        out.push_str("empty");
        return Ok(());
    }
    let align = align_of(&sub.typalign);
    let mut off = at;
    let mut text = String::new();
    out.push(if flags & RANGE_LB_INC != 0 { '[' } else { '(' });
    if has_lbound(flags) {
        let e = read_element(buf, off, bias, sub.typlen, align, false, &ty.formatted)?;
        off = e.end;
        write_typed(catalog, sub, &e.value, ctx, &mut text)?;
        push_quoted(&text, &['"', '\\', '(', ')', '[', ']', ','], out);
    }
    out.push(',');
    if has_ubound(flags) {
        let e = read_element(buf, off, bias, sub.typlen, align, false, &ty.formatted)?;
        text.clear();
        write_typed(catalog, sub, &e.value, ctx, &mut text)?;
        push_quoted(&text, &['"', '\\', '(', ')', '[', ']', ','], out);
    }
    out.push(if flags & RANGE_UB_INC != 0 { ']' } else { ')' });
    Ok(())
}

pub fn multirange_out(
    catalog: &Catalog,
    ty: &Type,
    v: &[u8],
    ctx: &OutputContext,
    out: &mut String,
) -> Result<(), TypeError> {
    let m = |e: super::Malformed| malformed(ty, e.0);
    let range_oid = ty
        .multirange_of
        .ok_or_else(|| malformed(ty, "multirange type without its range type in the catalog"))?;
    let range = type_of(catalog, range_oid)?;
    let sub = subtype(catalog, range)?;
    let count = u32_at(v, 4).map_err(m)? as usize;
    out.push('{');
    if count == 0 {
        out.push('}');
        return Ok(());
    }
    // payload offsets (4 less than from the varlena start)
    let items_at = 8;
    let flags_at = items_at + 4 * (count - 1);
    let bounds_at = crate::tuple::align(4 + flags_at + count, align_of(&sub.typalign)) - 4;
    if bounds_at > v.len() {
        return Err(malformed(
            ty,
            format!("{count} ranges do not fit in {} bytes", v.len()),
        ));
    }
    for i in 0..count {
        if i > 0 {
            out.push(',');
        }
        // multirange_get_bounds_offset: sum lengths back to the previous stored offset
        let mut offset = 0usize;
        let mut j = i;
        while j > 0 {
            let item = u32_at(v, items_at + 4 * (j - 1)).map_err(m)?;
            offset += (item & 0x7FFF_FFFF) as usize;
            if item & 0x8000_0000 != 0 {
                break;
            }
            j -= 1;
        }
        let flags = v[flags_at + i];
        write_range(catalog, ty, sub, flags, v, bounds_at + offset, 4, ctx, out)?;
    }
    out.push('}');
    Ok(())
}
