//! tsvector: `size`, `WordEntry` array (haspos:1, len:11, pos:20), lexemes, and for entries
//! with positions a SHORTALIGNed `npos` + `WordEntryPos` list; printed as `tsvectorout`.

use std::fmt::Write;

use super::{i32_at, u16_at, utf8, Malformed};

pub fn tsvector_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let size = i32_at(v, 0)?;
    let size = usize::try_from(size).map_err(|_| Malformed(format!("negative size {size}")))?;
    let strings = 4usize
        .checked_add(
            size.checked_mul(4)
                .ok_or_else(|| Malformed::new("size overflow"))?,
        )
        .filter(|&s| s <= v.len())
        .ok_or_else(|| Malformed(format!("{size} entries do not fit in {} bytes", v.len())))?;
    let lexemes = &v[strings..];
    for i in 0..size {
        let we = u32::from_le_bytes([v[4 + 4 * i], v[5 + 4 * i], v[6 + 4 * i], v[7 + 4 * i]]);
        let haspos = we & 1 != 0;
        let len = ((we >> 1) & 0x7FF) as usize;
        let pos = (we >> 12) as usize;
        let lexeme = lexemes
            .get(pos..pos + len)
            .ok_or_else(|| Malformed(format!("lexeme {i} at {pos}+{len} out of range")))?;
        if i > 0 {
            out.push(' ');
        }
        out.push('\'');
        for c in utf8(lexeme)?.chars() {
            if c == '\'' || c == '\\' {
                out.push(c);
            }
            out.push(c);
        }
        out.push('\'');
        if haspos {
            let at = (pos + len + 1) & !1;
            let npos = usize::from(u16_at(lexemes, at)?);
            if npos > 0 {
                out.push(':');
            }
            for j in 0..npos {
                let p = u16_at(lexemes, at + 2 + 2 * j)?;
                if j > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}", p & 0x3FFF);
                match p >> 14 {
                    3 => out.push('A'),
                    2 => out.push('B'),
                    1 => out.push('C'),
                    _ => {}
                }
            }
        }
    }
    Ok(())
}
