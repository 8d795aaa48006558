//! `--format=json`: one JSON object per record.

use serde::Serialize;

use crate::rmgr::{self, DescError};
use crate::wal::record::Record;

#[derive(Serialize)]
struct JsonBlock<'a> {
    id: u8,
    spc: u32,
    db: u32,
    rel: u32,
    fork: &'a str,
    blk: u32,
    will_init: bool,
    data_len: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<JsonImage<'a>>,
}

#[derive(Serialize)]
struct JsonImage<'a> {
    len: usize,
    hole_offset: u16,
    hole_length: u16,
    compression: &'a str,
    apply: bool,
}

#[derive(Serialize)]
struct JsonRecord<'a> {
    lsn: String,
    prev: String,
    rmgr: &'a str,
    #[serde(rename = "type")]
    record_type: String,
    info: u8,
    xid: u32,
    rec_len: u32,
    tot_len: u32,
    fpi_len: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    toplevel_xid: Option<u32>,
    main_data_len: usize,
    description: String,
    blocks: Vec<JsonBlock<'a>>,
}

pub fn write_record(out: &mut String, rec: &Record<'_>) -> Result<(), DescError> {
    let name = rmgr::name(rec.rmid());
    let record_type = rmgr::builtin(rec.rmid())
        .and_then(|r| (r.identify)(rec.info(), rec.version))
        .map(str::to_string)
        .unwrap_or_else(|| format!("UNKNOWN ({:x})", rec.info() & 0xF0));
    let mut full = String::new();
    rmgr::write_description(rec, &mut full)?;
    // write_description puts the record type and one space first; keep only the details.
    let description = full
        .strip_prefix(record_type.as_str())
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .unwrap_or(&full)
        .to_string();
    let json = JsonRecord {
        lsn: rec.lsn.to_string(),
        prev: rec.header.prev.to_string(),
        rmgr: &name,
        record_type,
        info: rec.info(),
        xid: rec.xid(),
        rec_len: rec.rec_len(),
        tot_len: rec.header.tot_len,
        fpi_len: rec.fpi_len(),
        origin: rec.origin,
        toplevel_xid: rec.toplevel_xid,
        main_data_len: rec.main_data.len(),
        description,
        blocks: rec
            .blocks
            .iter()
            .map(|b| JsonBlock {
                id: b.id,
                spc: b.locator.spc,
                db: b.locator.db,
                rel: b.locator.rel,
                fork: b.fork.name(),
                blk: b.blkno,
                will_init: b.will_init(),
                data_len: b.data.len(),
                image: b.image.as_ref().map(|i| JsonImage {
                    len: i.bytes.len(),
                    hole_offset: i.hole_offset,
                    hole_length: i.hole_length,
                    compression: i.compression.name(),
                    apply: i.apply,
                }),
            })
            .collect(),
    };
    // Serializing plain strings and numbers cannot fail.
    out.push_str(&serde_json::to_string(&json).expect("record serializes"));
    out.push('\n');
    Ok(())
}
