//! float4 and float8: `float4out` / `float8out`.
//!
//! With `extra_float_digits > 0` (the default since PostgreSQL 12) PostgreSQL prints the
//! shortest decimal that reads back exactly (its Ryu port): plain notation when the decimal
//! exponent is in `-4 ..= 14` (float8) or `-4 ..= 5` (float4), otherwise `d.ddde+XX` with at
//! least two exponent digits. Otherwise it prints `%.{15|6 + extra_float_digits}g`.
//! PostgreSQL's Ryu port is built without `STRICTLY_SHORTEST`: it never accepts a decimal
//! lying exactly on the boundary of the value's rounding interval, so the double nearest 1e23
//! prints as `9.999999999999999e+22`. The `ryu` crate accepts such bounds for even
//! mantissas; its result is used unless it sits exactly on a boundary, in which case the
//! shortest decimal strictly inside the interval is searched for (a rare, slower path).

use super::{exact, Malformed, OutputContext};

pub fn float4_out(v: &[u8], ctx: &OutputContext, out: &mut String) -> Result<(), Malformed> {
    let x = f32::from_le_bytes(exact(v)?);
    write_float4(x, ctx.extra_float_digits, out);
    Ok(())
}

pub fn float8_out(v: &[u8], ctx: &OutputContext, out: &mut String) -> Result<(), Malformed> {
    let x = f64::from_le_bytes(exact(v)?);
    write_float8(x, ctx.extra_float_digits, out);
    Ok(())
}

pub fn write_float8(x: f64, extra_float_digits: i32, out: &mut String) {
    if special(x.is_nan(), x.is_infinite(), x < 0.0, out) {
        return;
    }
    if extra_float_digits > 0 {
        let bits = x.to_bits();
        let exp = ((bits >> 52) & 0x7FF) as i32;
        let frac = bits & ((1 << 52) - 1);
        let interval = Interval::new(frac, exp, 52, 1075);
        let text = ryu::Buffer::new().format_finite(x).to_string();
        let text = exclusive_shortest(
            &text,
            &interval,
            17,
            |p| format!("{:.*e}", p - 1, x),
            |d| d.parse::<f64>().is_ok_and(|y| y == x),
        );
        shortest(&text, 15, out);
    } else {
        let digits = (15 + extra_float_digits).max(1) as usize;
        format_g(&format!("{:.*e}", digits - 1, x), digits, out);
    }
}

pub fn write_float4(x: f32, extra_float_digits: i32, out: &mut String) {
    if special(x.is_nan(), x.is_infinite(), x < 0.0, out) {
        return;
    }
    if extra_float_digits > 0 {
        let bits = x.to_bits();
        let exp = ((bits >> 23) & 0xFF) as i32;
        let frac = u64::from(bits & ((1 << 23) - 1));
        let interval = Interval::new(frac, exp, 23, 150);
        let text = ryu::Buffer::new().format_finite(x).to_string();
        let text = exclusive_shortest(
            &text,
            &interval,
            9,
            |p| format!("{:.*e}", p - 1, x),
            |d| d.parse::<f32>().is_ok_and(|y| y == x),
        );
        shortest(&text, 6, out);
    } else {
        let digits = (6 + extra_float_digits).max(1) as usize;
        format_g(&format!("{:.*e}", digits - 1, x), digits, out);
    }
}

fn special(nan: bool, inf: bool, negative: bool, out: &mut String) -> bool {
    if nan {
        out.push_str("NaN");
    } else if inf {
        out.push_str(if negative { "-Infinity" } else { "Infinity" });
    } else {
        return false;
    }
    true
}

/// Splits Rust's `{:e}` text (`-1.2345e-7`) into sign, digits without the point, exponent.
fn split_exp(s: &str) -> (bool, &str, &str, i32) {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (mantissa, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    (neg, int, frac, exp)
}

fn push_exponent(exp: i32, out: &mut String) {
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
}

/// The value `m · 2^q` and its rounding interval's boundaries as `odd · 2^e`.
struct Interval {
    upper: (u128, i32),
    lower: (u128, i32),
}

impl Interval {
    /// From the IEEE fields: `frac` mantissa bits, biased exponent `exp`, `bits` mantissa
    /// width, `bias` = exponent bias + mantissa width.
    fn new(frac: u64, exp: i32, bits: u32, bias: i32) -> Interval {
        let (m, q) = if exp == 0 {
            (u128::from(frac), 1 - bias)
        } else {
            (u128::from(frac | (1 << bits)), exp - bias)
        };
        let upper = (2 * m + 1, q - 1);
        // Zero (m = 0) has no lower neighbour; saturating keeps it from wrapping.
        let lower = if frac == 0 && exp > 1 {
            ((4 * m).saturating_sub(1), q - 2)
        } else {
            ((2 * m).saturating_sub(1), q - 1)
        };
        Interval { upper, lower }
    }

    /// Whether `n · 10^k` equals one of the boundaries exactly.
    fn on_boundary(&self, n: u64, k: i32) -> bool {
        if n == 0 {
            return false;
        }
        let (odd, e2) = if k >= 0 {
            if k > 27 {
                return false;
            }
            let v = u128::from(n) * 5u128.pow(k as u32);
            let tz = v.trailing_zeros();
            (v >> tz, tz as i32 + k)
        } else {
            let j = (-k) as u32;
            if j > 27 {
                return false;
            }
            let p5 = 5u128.pow(j);
            let v = u128::from(n);
            if v % p5 != 0 {
                return false;
            }
            let v = v / p5;
            let tz = v.trailing_zeros();
            (v >> tz, tz as i32 - j as i32)
        };
        (odd, e2) == self.upper || (odd, e2) == self.lower
    }
}

/// `digits · 10^k` as an integer and `k`, from [`decimal_parts`].
fn integer_form(digits: &str, exp: i32) -> Option<(u64, i32)> {
    let n: u64 = digits.parse().ok()?;
    Some((n, exp - digits.len() as i32 + 1))
}

/// The shortest decimal strictly inside the rounding interval: `ryu_text` unless it is on a
/// boundary; then, by increasing precision, the correctly rounded decimal or a neighbour.
fn exclusive_shortest(
    ryu_text: &str,
    interval: &Interval,
    max_digits: usize,
    rounded: impl Fn(usize) -> String,
    reads_back: impl Fn(&str) -> bool,
) -> String {
    let (neg, digits, exp) = decimal_parts(ryu_text);
    let sign = if neg { "-" } else { "" };
    let inside = |digits: &str, exp: i32| {
        integer_form(digits, exp).is_some_and(|(n, k)| {
            !interval.on_boundary(n, k) && reads_back(&format!("{sign}{n}e{k}"))
        })
    };
    if integer_form(&digits, exp).is_none_or(|(n, k)| !interval.on_boundary(n, k)) {
        return ryu_text.to_string();
    }
    for p in digits.len().max(1)..=max_digits {
        let text = rounded(p);
        let (_, int, frac, e) = split_exp(&text);
        let d: u64 = format!("{int}{frac}").parse().unwrap_or(0);
        let k = e - p as i32 + 1;
        for cand in [d, d + 1, d.saturating_sub(1)] {
            let text = cand.to_string();
            // exponent of the first digit of `cand · 10^k`
            let first = k + text.len() as i32 - 1;
            let trimmed = text.trim_end_matches('0');
            if cand != 0 && inside(trimmed, first) {
                return format!("{sign}{text}e{k}");
            }
        }
    }
    ryu_text.to_string()
}

/// Significant digits and the decimal exponent of the first one, from any decimal text
/// (`123.0`, `1.5e-7`, `0.001`, `1e23`).
fn decimal_parts(text: &str) -> (bool, String, i32) {
    let (neg, int, frac, exp) = split_exp(text);
    let mut digits = String::with_capacity(int.len() + frac.len());
    digits.push_str(int);
    digits.push_str(frac);
    // exponent of the first digit of `int`
    let mut first_exp = exp + int.len() as i32 - 1;
    let lead = digits.len() - digits.trim_start_matches('0').len();
    first_exp -= lead as i32;
    let trimmed = digits[lead..].trim_end_matches('0');
    if trimmed.is_empty() {
        return (neg, "0".into(), 0);
    }
    (neg, trimmed.to_string(), first_exp)
}

/// Ryu-style layout of the shortest digits: fixed when `-4 <= exp < fixed_limit`.
fn shortest(text: &str, fixed_limit: i32, out: &mut String) {
    let (neg, digits, exp) = decimal_parts(text);
    let digits = digits.as_str();
    if neg {
        out.push('-');
    }
    if (-4..fixed_limit).contains(&exp) {
        fixed_layout(digits, exp, out);
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        push_exponent(exp, out);
    }
}

/// `d1d2d3… × 10^(exp - len + 1)` written without an exponent.
fn fixed_layout(digits: &str, exp: i32, out: &mut String) {
    let len = digits.len() as i32;
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else if exp + 1 >= len {
        out.push_str(digits);
        for _ in 0..(exp + 1 - len) {
            out.push('0');
        }
    } else {
        let point = (exp + 1) as usize;
        out.push_str(&digits[..point]);
        out.push('.');
        out.push_str(&digits[point..]);
    }
}

/// C's `%.{precision}g` from the `%.{precision-1}e` text of the same value.
fn format_g(e_text: &str, precision: usize, out: &mut String) {
    let (neg, int, frac, exp) = split_exp(e_text);
    if neg {
        out.push('-');
    }
    let mut digits = String::with_capacity(precision);
    digits.push_str(int);
    digits.push_str(frac);
    let trimmed = digits.trim_end_matches('0');
    let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
    if exp < -4 || exp >= precision as i32 {
        out.push_str(&trimmed[..1]);
        if trimmed.len() > 1 {
            out.push('.');
            out.push_str(&trimmed[1..]);
        }
        push_exponent(exp, out);
    } else {
        fixed_layout(trimmed, exp, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f8(x: f64) -> String {
        let mut s = String::new();
        write_float8(x, 1, &mut s);
        s
    }

    #[test]
    fn shortest_layouts() {
        assert_eq!(f8(1e100), "1e+100");
        assert_eq!(f8(1.5e-7), "1.5e-07");
        assert_eq!(f8(0.0001), "0.0001");
        assert_eq!(f8(123456789012345.0), "123456789012345");
        assert_eq!(f8(1e15), "1e+15");
        assert_eq!(f8(-0.0), "-0");
        assert_eq!(f8(0.1), "0.1");
        assert_eq!(f8(12.5), "12.5");
        let mut s = String::new();
        write_float8(0.1, 0, &mut s);
        assert_eq!(s, "0.1");
        s.clear();
        write_float8(1234567.0, -10, &mut s);
        assert_eq!(s, "1.2346e+06");
        assert_eq!(f8(1e23), "9.999999999999999e+22");
        assert_eq!(f8(-1e23), "-9.999999999999999e+22");
    }
}
