//! Full-page image restore (`RestoreBlockImage`): decompression and hole filling.

use super::record::{BlockImage, Compression, BLCKSZ};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    #[error("could not decompress {method} image: {reason}")]
    Decompress {
        method: &'static str,
        reason: String,
    },
    #[error(
        "image hole at offset {offset} of length {length} does not fit in a {BLCKSZ}-byte page"
    )]
    BadHole { offset: u16, length: u16 },
}

/// Rebuilds the 8 kB page an image describes.
pub fn restore_page(image: &BlockImage<'_>) -> Result<Vec<u8>, ImageError> {
    let stored_len =
        BLCKSZ
            .checked_sub(usize::from(image.hole_length))
            .ok_or(ImageError::BadHole {
                offset: image.hole_offset,
                length: image.hole_length,
            })?;
    let fail = |reason: String| ImageError::Decompress {
        method: image.compression.name(),
        reason,
    };
    let stored: std::borrow::Cow<[u8]> = match image.compression {
        Compression::None => image.bytes.into(),
        Compression::Pglz => pglz_decompress(image.bytes, stored_len)
            .map_err(fail)?
            .into(),
        Compression::Lz4 => lz4_flex::block::decompress(image.bytes, stored_len)
            .map_err(|e| fail(e.to_string()))?
            .into(),
        Compression::Zstd => zstd::bulk::decompress(image.bytes, stored_len)
            .map_err(|e| fail(e.to_string()))?
            .into(),
    };
    if stored.len() != stored_len {
        return Err(fail(format!(
            "got {} bytes, expected {stored_len}",
            stored.len()
        )));
    }
    let hole_offset = usize::from(image.hole_offset);
    if hole_offset > stored_len {
        return Err(ImageError::BadHole {
            offset: image.hole_offset,
            length: image.hole_length,
        });
    }
    let mut page = Vec::with_capacity(BLCKSZ);
    page.extend_from_slice(&stored[..hole_offset]);
    page.resize(hole_offset + usize::from(image.hole_length), 0);
    page.extend_from_slice(&stored[hole_offset..]);
    Ok(page)
}

/// PostgreSQL's pglz decompression with the completeness check WAL and TOAST use. No crate
/// implements pglz, which only PostgreSQL uses, so it is written here from the format.
pub fn pglz_decompress(src: &[u8], raw_size: usize) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::with_capacity(raw_size);
    let mut sp = 0;
    while sp < src.len() && out.len() < raw_size {
        let mut ctrl = src[sp];
        sp += 1;
        for _ in 0..8 {
            if sp >= src.len() || out.len() >= raw_size {
                break;
            }
            if ctrl & 1 == 1 {
                let (Some(&b0), Some(&b1)) = (src.get(sp), src.get(sp + 1)) else {
                    return Err(format!("match tag truncated at input offset {sp}"));
                };
                let mut len = usize::from(b0 & 0x0F) + 3;
                let off = (usize::from(b0 & 0xF0) << 4) | usize::from(b1);
                sp += 2;
                if len == 18 {
                    let extra = *src
                        .get(sp)
                        .ok_or_else(|| format!("match length truncated at input offset {sp}"))?;
                    len += usize::from(extra);
                    sp += 1;
                }
                if off == 0 || off > out.len() {
                    return Err(format!(
                        "match offset {off} points before the start of the output ({} bytes)",
                        out.len()
                    ));
                }
                let len = len.min(raw_size - out.len());
                // Byte by byte: an overlapping copy repeats the run, as in pglz.
                let from = out.len() - off;
                for i in 0..len {
                    let b = out[from + i];
                    out.push(b);
                }
            } else {
                out.push(src[sp]);
                sp += 1;
            }
            ctrl >>= 1;
        }
    }
    if out.len() != raw_size || sp != src.len() {
        return Err(format!(
            "incomplete data: produced {} of {raw_size} bytes, consumed {sp} of {} input bytes",
            out.len(),
            src.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pglz_literal_and_match() {
        // ctrl 0b0000_0010: literal 'a', then a match (offset 1, length 3+2=5) → "aaaaaa"
        let src = [0b0000_0010, b'a', 0x02, 0x01];
        assert_eq!(pglz_decompress(&src, 6).unwrap(), b"aaaaaa");
        assert!(pglz_decompress(&src, 7).is_err());
        assert!(pglz_decompress(&[0x01, 0x01, 0x05], 6).is_err());
    }
}
