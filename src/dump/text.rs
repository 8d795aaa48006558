//! pg_waldump's record line (`XLogDumpDisplayRecord`) and block references
//! (`XLogRecGetBlockRefInfo`).

use std::fmt::Write;

use crate::rmgr::fmt::{push_dec, push_lsn_padded};
use crate::rmgr::{self, DescError};
use crate::wal::record::{Compression, Fork, Record, RelFileLocator, BLCKSZ};

/// Appends one record as pg_waldump prints it, newline included.
pub fn write_record(
    out: &mut String,
    rec: &Record<'_>,
    bkp_details: bool,
) -> Result<(), DescError> {
    // "rmgr: %-11s len (rec/tot): %6u/%6u, tx: %10u, lsn: %X/%08X, prev %X/%08X, desc: "
    out.push_str("rmgr: ");
    let name = rmgr::name(rec.rmid());
    out.push_str(&name);
    for _ in name.len()..11 {
        out.push(' ');
    }
    out.push_str(" len (rec/tot): ");
    push_dec(out, u64::from(rec.rec_len()), 6);
    out.push('/');
    push_dec(out, u64::from(rec.header.tot_len), 6);
    out.push_str(", tx: ");
    push_dec(out, u64::from(rec.xid()), 10);
    out.push_str(", lsn: ");
    push_lsn_padded(out, rec.lsn);
    out.push_str(", prev ");
    push_lsn_padded(out, rec.header.prev);
    out.push_str(", desc: ");
    rmgr::write_description(rec, out)?;
    write_block_refs(out, rec, bkp_details);
    Ok(())
}

/// `rel %u/%u/%u`
fn push_rel(out: &mut String, l: &RelFileLocator) {
    out.push_str("rel ");
    push_dec(out, u64::from(l.spc), 0);
    out.push('/');
    push_dec(out, u64::from(l.db), 0);
    out.push('/');
    push_dec(out, u64::from(l.rel), 0);
}

fn write_block_refs(out: &mut String, rec: &Record<'_>, detailed: bool) {
    if detailed {
        out.push('\n');
    }
    for b in &rec.blocks {
        let l = &b.locator;
        if detailed {
            let _ = write!(
                out,
                "\tblkref #{}: rel {}/{}/{} fork {} blk {}",
                b.id,
                l.spc,
                l.db,
                l.rel,
                b.fork.name(),
                b.blkno
            );
            if let Some(img) = &b.image {
                let verification = if img.apply {
                    ""
                } else {
                    " for WAL verification"
                };
                let _ = write!(
                    out,
                    " (FPW{verification}); hole: offset: {}, length: {}",
                    img.hole_offset, img.hole_length
                );
                if img.compression != Compression::None {
                    let saved = BLCKSZ as i64 - i64::from(img.hole_length) - img.bytes.len() as i64;
                    let _ = write!(out, ", compression saved: {saved}");
                    if rec.version >= crate::wal::version::PgVersion::V15 {
                        let _ = write!(out, ", method: {}", img.compression.name());
                    }
                }
            }
            out.push('\n');
        } else {
            out.push_str(", blkref #");
            push_dec(out, u64::from(b.id), 0);
            out.push_str(": ");
            push_rel(out, l);
            if b.fork != Fork::Main {
                out.push_str(" fork ");
                out.push_str(b.fork.name());
            }
            out.push_str(" blk ");
            push_dec(out, u64::from(b.blkno), 0);
            if let Some(img) = &b.image {
                out.push_str(if img.apply {
                    " FPW"
                } else {
                    " FPW for WAL verification"
                });
            }
        }
    }
    if !detailed {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::lsn::Lsn;
    use crate::wal::record::{decode_record, RECORD_HEADER_SIZE};
    use crate::wal::version::PgVersion;

    /// An XLOG FPI record (info 0xB0) with one image of block 7 of 1663/5/16384 (main fork):
    /// block header, XLogRecordBlockImageHeader { bimg_len, hole_offset, bimg_info },
    /// the compress header { hole_length } when compressed with a hole, the locator, the
    /// block number, then `bimg_len` image bytes (wal-format.md §3.1, §3.2).
    fn fpi(bimg_info: u8, bimg_len: u16, hole_offset: u16, hole_length: Option<u16>) -> Vec<u8> {
        let mut body = vec![0u8, 0x10, 0, 0]; // id 0, HAS_IMAGE, no data
        body.extend_from_slice(&bimg_len.to_le_bytes());
        body.extend_from_slice(&hole_offset.to_le_bytes());
        body.push(bimg_info);
        if let Some(h) = hole_length {
            body.extend_from_slice(&h.to_le_bytes());
        }
        for v in [1663u32, 5, 16384, 7] {
            body.extend_from_slice(&v.to_le_bytes());
        }
        body.extend(std::iter::repeat_n(0xAB, usize::from(bimg_len)));
        let mut rec = vec![0u8; RECORD_HEADER_SIZE];
        rec[0..4].copy_from_slice(&((RECORD_HEADER_SIZE + body.len()) as u32).to_le_bytes());
        rec[8..16].copy_from_slice(&0x0100_0000u64.to_le_bytes());
        rec[16] = 0xB0;
        rec.extend_from_slice(&body);
        rec
    }

    fn dump(version: PgVersion, bytes: &[u8], detailed: bool) -> String {
        let rec = decode_record(Lsn(0x0100_0028), version, bytes).unwrap();
        let mut out = String::new();
        write_record(&mut out, &rec, detailed).unwrap();
        out
    }

    const HEAD: &str = "rmgr: XLOG        len (rec/tot):     51/    61, tx:          0, \
                        lsn: 0/01000028, prev 0/01000000, desc: FPI ";

    #[test]
    fn pg13_14_image_bits_and_detail_without_method() {
        // 13/14 bimg_info: HAS_HOLE 0x01 | IS_COMPRESSED 0x02 | APPLY 0x04 (§3.2).
        for v in [PgVersion::V13, PgVersion::V14] {
            let bytes = fpi(0x07, 10, 100, Some(200));
            let rec = decode_record(Lsn(0x0100_0028), v, &bytes).unwrap();
            let img = rec.blocks[0].image.unwrap();
            assert_eq!(img.compression, Compression::Pglz);
            assert!(img.apply);
            assert_eq!((img.hole_offset, img.hole_length), (100, 200));
            // -b (§7.1): 13–14 print no ", method: …"; saved = 8192 - 200 - 10.
            assert_eq!(
                dump(v, &bytes, true),
                format!(
                    "{HEAD}\n\tblkref #0: rel 1663/5/16384 fork main blk 7 (FPW); hole: \
                     offset: 100, length: 200, compression saved: 7982\n"
                ),
                "{v}"
            );
            assert_eq!(
                dump(v, &bytes, false),
                format!("{HEAD}, blkref #0: rel 1663/5/16384 blk 7 FPW\n")
            );
            // Without APPLY (0x03): compressed image for WAL verification only.
            let bytes = fpi(0x03, 10, 100, Some(200));
            assert_eq!(
                dump(v, &bytes, true),
                format!(
                    "{HEAD}\n\tblkref #0: rel 1663/5/16384 fork main blk 7 (FPW for WAL \
                     verification); hole: offset: 100, length: 200, compression saved: 7982\n"
                ),
                "{v}"
            );
        }
    }

    #[test]
    fn pg15_image_bits_give_the_method() {
        // The same byte 0x07 means HAS_HOLE | APPLY 0x02 | COMPRESS_PGLZ 0x04 from 15 on.
        let bytes = fpi(0x07, 10, 100, Some(200));
        let rec = decode_record(Lsn(0x0100_0028), PgVersion::V15, &bytes).unwrap();
        let img = rec.blocks[0].image.unwrap();
        assert_eq!((img.compression, img.apply), (Compression::Pglz, true));
        assert_eq!(
            dump(PgVersion::V15, &bytes, true),
            format!(
                "{HEAD}\n\tblkref #0: rel 1663/5/16384 fork main blk 7 (FPW); hole: offset: \
                 100, length: 200, compression saved: 7982, method: pglz\n"
            )
        );
        // LZ4 0x08 without APPLY, 17.
        let bytes = fpi(0x09, 10, 100, Some(200));
        assert_eq!(
            dump(PgVersion::V17, &bytes, true),
            format!(
                "{HEAD}\n\tblkref #0: rel 1663/5/16384 fork main blk 7 (FPW for WAL \
                 verification); hole: offset: 100, length: 200, compression saved: 7982, \
                 method: lz4\n"
            )
        );
        // 0x04 alone: APPLY of an uncompressed full page in 13, pglz without APPLY in 15.
        let bytes = fpi(0x04, 8192, 0, None);
        let rec = decode_record(Lsn(0x0100_0028), PgVersion::V13, &bytes).unwrap();
        let img = rec.blocks[0].image.unwrap();
        assert_eq!((img.compression, img.apply), (Compression::None, true));
        let bytes = fpi(0x04, 10, 0, None);
        let rec = decode_record(Lsn(0x0100_0028), PgVersion::V15, &bytes).unwrap();
        let img = rec.blocks[0].image.unwrap();
        assert_eq!((img.compression, img.apply), (Compression::Pglz, false));
    }
}
