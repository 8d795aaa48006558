//! Geometric types (`point_out`, `box_out`, `lseg_out`, `line_out`, `path_out`, `poly_out`,
//! `circle_out`): coordinates print as float8 does.

use super::float::write_float8;
use super::{f64_at, i32_at, Malformed, OutputContext};

fn num(v: &[u8], at: usize, ctx: &OutputContext, out: &mut String) -> Result<(), Malformed> {
    write_float8(f64_at(v, at)?, ctx.extra_float_digits, out);
    Ok(())
}

fn pair(v: &[u8], at: usize, ctx: &OutputContext, out: &mut String) -> Result<(), Malformed> {
    out.push('(');
    num(v, at, ctx, out)?;
    out.push(',');
    num(v, at + 8, ctx, out)?;
    out.push(')');
    Ok(())
}

fn points(
    v: &[u8],
    at: usize,
    n: usize,
    ctx: &OutputContext,
    out: &mut String,
) -> Result<(), Malformed> {
    if v.len() != at + 16 * n {
        return Err(Malformed(format!(
            "{n} points need {} bytes, found {}",
            at + 16 * n,
            v.len()
        )));
    }
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        pair(v, at + 16 * i, ctx, out)?;
    }
    Ok(())
}

fn check_len(v: &[u8], len: usize) -> Result<(), Malformed> {
    if v.len() != len {
        return Err(Malformed(format!(
            "expected {len} bytes, found {}",
            v.len()
        )));
    }
    Ok(())
}

pub fn point_out(v: &[u8], ctx: &OutputContext, out: &mut String) -> Result<(), Malformed> {
    check_len(v, 16)?;
    pair(v, 0, ctx, out)
}

pub fn box_out(v: &[u8], ctx: &OutputContext, out: &mut String) -> Result<(), Malformed> {
    check_len(v, 32)?;
    points(v, 0, 2, ctx, out)
}

pub fn lseg_out(v: &[u8], ctx: &OutputContext, out: &mut String) -> Result<(), Malformed> {
    check_len(v, 32)?;
    out.push('[');
    points(v, 0, 2, ctx, out)?;
    out.push(']');
    Ok(())
}

pub fn line_out(v: &[u8], ctx: &OutputContext, out: &mut String) -> Result<(), Malformed> {
    check_len(v, 24)?;
    out.push('{');
    num(v, 0, ctx, out)?;
    out.push(',');
    num(v, 8, ctx, out)?;
    out.push(',');
    num(v, 16, ctx, out)?;
    out.push('}');
    Ok(())
}

pub fn circle_out(v: &[u8], ctx: &OutputContext, out: &mut String) -> Result<(), Malformed> {
    check_len(v, 24)?;
    out.push('<');
    pair(v, 0, ctx, out)?;
    out.push(',');
    num(v, 16, ctx, out)?;
    out.push('>');
    Ok(())
}

fn count(v: &[u8]) -> Result<usize, Malformed> {
    let n = i32_at(v, 0)?;
    usize::try_from(n).map_err(|_| Malformed(format!("negative point count {n}")))
}

/// Path payload: `npts`, `closed`, a pad word, then the points.
pub fn path_out(v: &[u8], ctx: &OutputContext, out: &mut String) -> Result<(), Malformed> {
    let n = count(v)?;
    let closed = i32_at(v, 4)? != 0;
    out.push(if closed { '(' } else { '[' });
    points(v, 12, n, ctx, out)?;
    out.push(if closed { ')' } else { ']' });
    Ok(())
}

/// Polygon payload: `npts`, the bounding box, then the points.
pub fn poly_out(v: &[u8], ctx: &OutputContext, out: &mut String) -> Result<(), Malformed> {
    let n = count(v)?;
    out.push('(');
    points(v, 36, n, ctx, out)?;
    out.push(')');
    Ok(())
}
