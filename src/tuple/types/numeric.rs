//! numeric: `numeric_out` over the on-disk form (short or long header, base-10000 digits).

use std::fmt::Write;

use super::{u16_at, Malformed};

const NUMERIC_SIGN_MASK: u16 = 0xC000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_SHORT: u16 = 0x8000;
const NUMERIC_SPECIAL: u16 = 0xC000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;
const NUMERIC_EXT_SIGN_MASK: u16 = 0xF000;
const NUMERIC_SHORT_SIGN_MASK: u16 = 0x2000;
const NUMERIC_SHORT_DSCALE_MASK: u16 = 0x1F80;
const NUMERIC_SHORT_DSCALE_SHIFT: u16 = 7;
const NUMERIC_SHORT_WEIGHT_SIGN_MASK: u16 = 0x0040;
const NUMERIC_SHORT_WEIGHT_MASK: u16 = 0x003F;
const NUMERIC_DSCALE_MASK: u16 = 0x3FFF;

/// A decoded numeric: sign, weight of the first digit, display scale, base-10000 digits.
pub struct NumericVar<'a> {
    pub negative: bool,
    pub weight: i32,
    pub dscale: u32,
    /// Little-endian i16 digits.
    pub digits: &'a [u8],
}

pub enum Numeric<'a> {
    NaN,
    PosInf,
    NegInf,
    Finite(NumericVar<'a>),
}

/// Decodes the varlena payload of a numeric (without the varlena header).
pub fn decode(v: &[u8]) -> Result<Numeric<'_>, Malformed> {
    let header = u16_at(v, 0)?;
    if header & NUMERIC_SIGN_MASK == NUMERIC_SPECIAL {
        return match header & NUMERIC_EXT_SIGN_MASK {
            NUMERIC_NAN => Ok(Numeric::NaN),
            NUMERIC_PINF => Ok(Numeric::PosInf),
            NUMERIC_NINF => Ok(Numeric::NegInf),
            other => Err(Malformed(format!(
                "unknown special numeric header {other:#06x}"
            ))),
        };
    }
    let (negative, weight, dscale, start) = if header & NUMERIC_SHORT != 0 {
        let mut weight = i32::from(header & NUMERIC_SHORT_WEIGHT_MASK);
        if header & NUMERIC_SHORT_WEIGHT_SIGN_MASK != 0 {
            weight |= !i32::from(NUMERIC_SHORT_WEIGHT_MASK);
        }
        (
            header & NUMERIC_SHORT_SIGN_MASK != 0,
            weight,
            u32::from((header & NUMERIC_SHORT_DSCALE_MASK) >> NUMERIC_SHORT_DSCALE_SHIFT),
            2,
        )
    } else {
        let weight = i32::from(u16_at(v, 2)? as i16);
        (
            header & NUMERIC_SIGN_MASK == NUMERIC_NEG,
            weight,
            u32::from(header & NUMERIC_DSCALE_MASK),
            4,
        )
    };
    let digits = &v[start..];
    if !digits.len().is_multiple_of(2) {
        return Err(Malformed(format!(
            "odd number of digit bytes ({})",
            digits.len()
        )));
    }
    Ok(Numeric::Finite(NumericVar {
        negative,
        weight,
        dscale,
        digits,
    }))
}

pub fn numeric_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    match decode(v)? {
        Numeric::NaN => out.push_str("NaN"),
        Numeric::PosInf => out.push_str("Infinity"),
        Numeric::NegInf => out.push_str("-Infinity"),
        Numeric::Finite(var) => write_var(&var, out)?,
    }
    Ok(())
}

/// `get_str_from_var`.
fn write_var(var: &NumericVar<'_>, out: &mut String) -> Result<(), Malformed> {
    let ndigits = var.digits.len() / 2;
    let digit = |i: i32| -> Result<u16, Malformed> {
        if i < 0 || i as usize >= ndigits {
            return Ok(0);
        }
        let at = 2 * i as usize;
        let d = u16::from_le_bytes([var.digits[at], var.digits[at + 1]]);
        if d >= 10000 {
            return Err(Malformed(format!("digit {d} out of range at position {i}")));
        }
        Ok(d)
    };
    if var.negative {
        out.push('-');
    }
    if var.weight < 0 {
        out.push('0');
    } else {
        for i in 0..=var.weight {
            let d = digit(i)?;
            if i == 0 {
                let _ = write!(out, "{d}");
            } else {
                let _ = write!(out, "{d:04}");
            }
        }
    }
    if var.dscale > 0 {
        out.push('.');
        let mut remaining = var.dscale as usize;
        let mut i = var.weight + 1;
        while remaining > 0 {
            let d = digit(i)?;
            let text = format!("{d:04}");
            let take = remaining.min(4);
            out.push_str(&text[..take]);
            remaining -= take;
            i += 1;
        }
    }
    Ok(())
}
