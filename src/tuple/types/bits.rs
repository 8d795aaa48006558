//! bit and varbit: `bit_len i32` then the bits, most significant first.

use super::{i32_at, Malformed};

pub fn bit_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let len = i32_at(v, 0)?;
    let bytes = &v[4..];
    let len = usize::try_from(len).map_err(|_| Malformed(format!("negative bit length {len}")))?;
    if bytes.len() != len.div_ceil(8) {
        return Err(Malformed(format!(
            "{len} bits need {} bytes, found {}",
            len.div_ceil(8),
            bytes.len()
        )));
    }
    out.reserve(len);
    for i in 0..len {
        out.push(if bytes[i / 8] & (0x80 >> (i % 8)) != 0 {
            '1'
        } else {
            '0'
        });
    }
    Ok(())
}
