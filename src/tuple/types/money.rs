//! money: `cash_out` for locales whose monetary format is C's (`$`, `,` groups of 3, `.`,
//! two fraction digits, leading `-`); the caller rejects other `lc_monetary` settings.

use super::{exact, Malformed};

pub fn cash_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let value = i64::from_le_bytes(exact(v)?);
    let points = 2i32;
    let mut rest = value.unsigned_abs();
    // digits right to left, as cash_out builds them
    let mut buf: Vec<u8> = Vec::with_capacity(32);
    let mut digit_pos = points;
    loop {
        if points != 0 && digit_pos == 0 {
            buf.push(b'.');
        } else if digit_pos < 0 && digit_pos % 3 == 0 {
            buf.push(b',');
        }
        buf.push(b'0' + (rest % 10) as u8);
        rest /= 10;
        digit_pos -= 1;
        if rest == 0 && digit_pos < 0 {
            break;
        }
    }
    if value < 0 {
        out.push('-');
    }
    out.push('$');
    out.extend(buf.iter().rev().map(|&b| char::from(b)));
    Ok(())
}
