//! CRC-32C (Castagnoli), as WAL records and LCR frames carry it.

/// Inputs up to this size (most WAL records and LCR frames) are checksummed by
/// [`short_crc32c`].
#[cfg(target_arch = "x86_64")]
const SHORT_MAX: usize = 256;

/// CRC-32C of `data`.
#[inline]
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c_append(0, data)
}

/// CRC-32C of `data` appended to input whose CRC-32C is `crc`.
#[inline]
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if data.len() <= SHORT_MAX && std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the CPU was just found to support SSE 4.2, all that the function needs.
        return unsafe { short_crc32c(crc, data) };
    }
    ::crc32c::crc32c_append(crc, data)
}

/// CRC-32C of a short input, 8 bytes per instruction in one chain: for the tens of bytes of
/// most records and frames, the `crc32c` crate's set-up for its three interleaved chains and
/// aligned middle costs more than the checksum itself.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
fn short_crc32c(crc: u32, data: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};
    let (words, tail) = data.as_chunks::<8>();
    let mut c = u64::from(!crc);
    for w in words {
        c = _mm_crc32_u64(c, u64::from_le_bytes(*w));
    }
    let mut c = c as u32;
    for &b in tail {
        c = _mm_crc32_u8(c, b);
    }
    !c
}

#[cfg(test)]
mod tests {
    #[test]
    fn agrees_with_the_crc32c_crate_at_every_length() {
        let bytes: Vec<u8> = (0..1200u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for len in 0..bytes.len() {
            let (a, b) = bytes[..len].split_at(len / 3);
            let want = ::crc32c::crc32c_append(::crc32c::crc32c(a), b);
            assert_eq!(
                super::crc32c_append(super::crc32c(a), b),
                want,
                "length {len}"
            );
        }
    }
}
