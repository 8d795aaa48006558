//! Heap tuples: splitting a tuple's bytes into one datum per column (`heap_deform_tuple`),
//! varlena headers, inline compression and TOAST pointers; `types` turns datums into text.

pub mod types;

use std::borrow::Cow;

use crate::catalog::Column;

/// `SizeofHeapTupleHeader`: the fixed header before the null bitmap.
pub const HEAP_TUPLE_HEADER_SIZE: usize = 23;
const HEAP_HASNULL: u16 = 0x0001;
const HEAP_NATTS_MASK: u16 = 0x07FF;
/// `VARTAG_ONDISK`: the only TOAST pointer kind stored on disk.
const VARTAG_ONDISK: u8 = 18;
/// Size of `varatt_external`, after the two header bytes of a TOAST pointer.
const TOAST_POINTER_SIZE: usize = 16;

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum TupleError {
    #[error(
        "tuple truncated: {what} needs {needed} bytes at offset {offset}, only {available} present"
    )]
    Truncated {
        what: String,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("tuple header length t_hoff {hoff} is invalid: expected at least {minimum} (header and null bitmap for {natts} attributes), at most {maximum}")]
    BadHoff {
        hoff: u8,
        natts: usize,
        minimum: usize,
        maximum: usize,
    },
    #[error("tuple has {natts} attributes but the relation has only {columns} columns")]
    TooManyAttributes { natts: usize, columns: usize },
    #[error("column {attnum} has invalid attlen {attlen}")]
    BadAttlen { attnum: i16, attlen: i16 },
    #[error("invalid varlena header at offset {offset}: {reason}")]
    BadVarlena { offset: usize, reason: String },
    #[error(
        "TOAST pointer at offset {offset} has vartag {tag}, expected {VARTAG_ONDISK} (on-disk)"
    )]
    BadVartag { offset: usize, tag: u8 },
    #[error("unknown compression method id {id} (expected 0 pglz or 1 lz4)")]
    BadCompression { id: u32 },
    #[error("cstring at offset {offset} has no terminating NUL byte")]
    UnterminatedCString { offset: usize },
    #[error("could not decompress {method} data: {reason}")]
    Decompress {
        method: CompressionMethod,
        reason: String,
    },
    #[error("value is stored out of line (TOAST value {value_id} in relation {toast_relid}); its chunks are needed")]
    External { value_id: u32, toast_relid: u32 },
    #[error("TOAST value {value_id}: {reason}")]
    Toast { value_id: u32, reason: String },
}

/// A heap tuple as WAL records and pages carry it: the header fields needed to walk the
/// attributes and the bytes from offset 23 on (null bitmap, padding, user data).
#[derive(Clone, Copy, Debug)]
pub struct HeapTuple<'a> {
    pub infomask2: u16,
    pub infomask: u16,
    pub hoff: u8,
    pub data: &'a [u8],
}

impl<'a> HeapTuple<'a> {
    /// Splits a whole tuple (from `t_xmin` on, as a page item holds it).
    pub fn from_bytes(tuple: &'a [u8]) -> Result<HeapTuple<'a>, TupleError> {
        if tuple.len() < HEAP_TUPLE_HEADER_SIZE {
            return Err(TupleError::Truncated {
                what: "heap tuple header".into(),
                offset: 0,
                needed: HEAP_TUPLE_HEADER_SIZE,
                available: tuple.len(),
            });
        }
        Ok(HeapTuple {
            infomask2: u16::from_le_bytes([tuple[18], tuple[19]]),
            infomask: u16::from_le_bytes([tuple[20], tuple[21]]),
            hoff: tuple[22],
            data: &tuple[HEAP_TUPLE_HEADER_SIZE..],
        })
    }

    /// Number of attributes stored in the tuple.
    pub fn natts(&self) -> usize {
        usize::from(self.infomask2 & HEAP_NATTS_MASK)
    }

    pub fn has_nulls(&self) -> bool {
        self.infomask & HEAP_HASNULL != 0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompressionMethod {
    Pglz,
    Lz4,
}

impl CompressionMethod {
    /// From the 2-bit method id of `va_tcinfo` / `va_extinfo`.
    pub fn from_id(id: u32) -> Result<CompressionMethod, TupleError> {
        match id {
            0 => Ok(CompressionMethod::Pglz),
            1 => Ok(CompressionMethod::Lz4),
            _ => Err(TupleError::BadCompression { id }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CompressionMethod::Pglz => "pglz",
            CompressionMethod::Lz4 => "lz4",
        }
    }
}

impl std::fmt::Display for CompressionMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `varatt_external`: where an out-of-line value lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ToastPointer {
    /// Original size including the 4-byte varlena header.
    pub raw_size: i32,
    /// Stored size (without header), compressed or not.
    pub ext_size: u32,
    /// Set when the stored bytes are compressed.
    pub compression: Option<CompressionMethod>,
    pub value_id: u32,
    pub toast_relid: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Varlena<'a> {
    /// The value itself, without its 1- or 4-byte header.
    Plain(&'a [u8]),
    /// Compressed inline: `raw_size` bytes once decompressed.
    Compressed {
        method: CompressionMethod,
        raw_size: u32,
        data: &'a [u8],
    },
    External(ToastPointer),
}

impl<'a> Varlena<'a> {
    /// The value's bytes: borrowed when plain, decompressed when compressed inline; an
    /// out-of-line value is an error (its chunks live in the TOAST table).
    pub fn detoast_inline(&self) -> Result<Cow<'a, [u8]>, TupleError> {
        match *self {
            Varlena::Plain(b) => Ok(Cow::Borrowed(b)),
            Varlena::Compressed {
                method,
                raw_size,
                data,
            } => decompress(method, raw_size, data).map(Cow::Owned),
            Varlena::External(p) => Err(TupleError::External {
                value_id: p.value_id,
                toast_relid: p.toast_relid,
            }),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Datum<'a> {
    Null,
    /// The column is beyond the tuple's attribute count (added later): its value is the
    /// column's `attmissingval`, or NULL.
    Missing,
    /// A dropped column: skip it.
    Dropped,
    /// Fixed-length value (`attlen > 0`), by value or by reference.
    Fixed(&'a [u8]),
    Varlena(Varlena<'a>),
    /// `attlen = -2`: the bytes before the terminating NUL.
    CString(&'a [u8]),
}

pub fn align(off: usize, align: usize) -> usize {
    (off + align - 1) & !(align - 1)
}

fn need(
    buf: &[u8],
    at: usize,
    len: usize,
    base: usize,
    what: impl FnOnce() -> String,
) -> Result<(), TupleError> {
    if at.checked_add(len).is_none_or(|end| end > buf.len()) {
        return Err(TupleError::Truncated {
            what: what(),
            offset: base + at,
            needed: len,
            available: buf.len().saturating_sub(at),
        });
    }
    Ok(())
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

/// Reads the varlena starting at `buf[at]` (already aligned by the caller if needed).
/// Returns the datum and its total size including the header. `base` is added to offsets in
/// error messages.
pub fn read_varlena(
    buf: &[u8],
    at: usize,
    base: usize,
) -> Result<(Varlena<'_>, usize), TupleError> {
    need(buf, at, 1, base, || "varlena header".into())?;
    let b = buf[at];
    let bad = |reason: String| TupleError::BadVarlena {
        offset: base + at,
        reason,
    };
    if b == 0x01 {
        need(buf, at, 2, base, || "TOAST pointer tag".into())?;
        let tag = buf[at + 1];
        if tag != VARTAG_ONDISK {
            return Err(TupleError::BadVartag {
                offset: base + at,
                tag,
            });
        }
        need(buf, at, 2 + TOAST_POINTER_SIZE, base, || {
            "TOAST pointer".into()
        })?;
        let p = at + 2;
        let raw_size = u32_at(buf, p) as i32;
        let extinfo = u32_at(buf, p + 4);
        let ext_size = extinfo & 0x3FFF_FFFF;
        let compressed = i64::from(ext_size) < i64::from(raw_size) - 4;
        let compression = if compressed {
            Some(CompressionMethod::from_id(extinfo >> 30)?)
        } else {
            None
        };
        let pointer = ToastPointer {
            raw_size,
            ext_size,
            compression,
            value_id: u32_at(buf, p + 8),
            toast_relid: u32_at(buf, p + 12),
        };
        return Ok((Varlena::External(pointer), 2 + TOAST_POINTER_SIZE));
    }
    if b & 0x01 == 0x01 {
        let size = usize::from(b >> 1);
        need(buf, at, size, base, || "short varlena".into())?;
        return Ok((Varlena::Plain(&buf[at + 1..at + size]), size));
    }
    // 4-byte header (its first byte may be 0: callers align before reading one)
    need(buf, at, 4, base, || "4-byte varlena header".into())?;
    let header = u32_at(buf, at);
    let size = (header >> 2) as usize;
    if b & 0x03 == 0x02 {
        if size < 8 {
            return Err(bad(format!(
                "compressed varlena of size {size}, expected at least 8"
            )));
        }
        need(buf, at, size, base, || "compressed varlena".into())?;
        let tcinfo = u32_at(buf, at + 4);
        let method = CompressionMethod::from_id(tcinfo >> 30)?;
        return Ok((
            Varlena::Compressed {
                method,
                raw_size: tcinfo & 0x3FFF_FFFF,
                data: &buf[at + 8..at + size],
            },
            size,
        ));
    }
    if size < 4 {
        return Err(bad(format!("varlena of size {size}, expected at least 4")));
    }
    need(buf, at, size, base, || "varlena".into())?;
    Ok((Varlena::Plain(&buf[at + 4..at + size]), size))
}

/// `heap_deform_tuple`: one datum per column, in attnum order.
pub fn deform<'a>(tuple: &HeapTuple<'a>, columns: &[Column]) -> Result<Vec<Datum<'a>>, TupleError> {
    let mut out = Vec::with_capacity(columns.len());
    deform_each(tuple, columns, |_, datum| {
        out.push(datum);
        Ok(())
    })?;
    Ok(out)
}

/// As [`deform`], passing each column's datum to `f` as it is read rather than collecting
/// them. A tuple found malformed at a column stops with its error after `f` saw the columns
/// before it.
pub fn deform_each<'a, 'c, E: From<TupleError>>(
    tuple: &HeapTuple<'a>,
    columns: &'c [Column],
    mut f: impl FnMut(&'c Column, Datum<'a>) -> Result<(), E>,
) -> Result<(), E> {
    let natts = tuple.natts();
    if natts > columns.len() {
        return Err(TupleError::TooManyAttributes {
            natts,
            columns: columns.len(),
        }
        .into());
    }
    let hasnull = tuple.has_nulls();
    let bitmap_len = if hasnull { natts.div_ceil(8) } else { 0 };
    let hoff = usize::from(tuple.hoff);
    let maximum = HEAP_TUPLE_HEADER_SIZE + tuple.data.len();
    if hoff < HEAP_TUPLE_HEADER_SIZE + bitmap_len || hoff > maximum {
        return Err(TupleError::BadHoff {
            hoff: tuple.hoff,
            natts,
            minimum: HEAP_TUPLE_HEADER_SIZE + bitmap_len,
            maximum,
        }
        .into());
    }
    let bitmap = &tuple.data[..bitmap_len];
    let user = &tuple.data[hoff - HEAP_TUPLE_HEADER_SIZE..];
    let mut off = 0usize;
    for (i, col) in columns.iter().enumerate() {
        let datum = if i >= natts {
            Datum::Missing
        } else if hasnull && bitmap[i >> 3] & (1 << (i & 7)) == 0 {
            Datum::Null
        } else {
            let (datum, next) = read_attribute(user, off, hoff, col)?;
            off = next;
            datum
        };
        f(
            col,
            if col.attisdropped {
                Datum::Dropped
            } else {
                datum
            },
        )?;
    }
    Ok(())
}

/// Reads one non-null attribute at `off` of the user data; returns it and the next offset.
fn read_attribute<'a>(
    user: &'a [u8],
    off: usize,
    base: usize,
    col: &Column,
) -> Result<(Datum<'a>, usize), TupleError> {
    match col.attlen {
        len if len > 0 => {
            let len = len as usize;
            let at = align(off, col.align());
            need(user, at, len, base, || {
                format!("column {} ({len} bytes)", col.attnum)
            })?;
            Ok((Datum::Fixed(&user[at..at + len]), at + len))
        }
        -1 => {
            let first = *user.get(off).ok_or_else(|| TupleError::Truncated {
                what: format!("column {} (varlena)", col.attnum),
                offset: base + off,
                needed: 1,
                available: 0,
            })?;
            let at = if first == 0 {
                align(off, col.align())
            } else {
                off
            };
            let (v, size) = read_varlena(user, at, base)?;
            Ok((Datum::Varlena(v), at + size))
        }
        -2 => {
            let at = align(off, col.align());
            let rest = user.get(at..).unwrap_or(&[]);
            let nul = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or(TupleError::UnterminatedCString { offset: base + at })?;
            Ok((Datum::CString(&rest[..nul]), at + nul + 1))
        }
        attlen => Err(TupleError::BadAttlen {
            attnum: col.attnum,
            attlen,
        }),
    }
}

/// Decompresses an inline-compressed or reassembled external value to its `raw_size` bytes.
pub fn decompress(
    method: CompressionMethod,
    raw_size: u32,
    data: &[u8],
) -> Result<Vec<u8>, TupleError> {
    let raw_size = raw_size as usize;
    let out = match method {
        CompressionMethod::Pglz => crate::wal::image::pglz_decompress(data, raw_size),
        CompressionMethod::Lz4 => {
            lz4_flex::block::decompress(data, raw_size).map_err(|e| e.to_string())
        }
    }
    .map_err(|reason| TupleError::Decompress { method, reason })?;
    if out.len() != raw_size {
        return Err(TupleError::Decompress {
            method,
            reason: format!("got {} bytes, expected {raw_size}", out.len()),
        });
    }
    Ok(out)
}

/// Rebuilds an out-of-line value from its TOAST chunks `(chunk_seq, chunk_data payload)`,
/// in any order: concatenated in `chunk_seq` order and decompressed if the pointer says so.
/// Returns the value without its varlena header.
pub fn toast_chunks_to_value<'c>(
    pointer: &ToastPointer,
    chunks: impl IntoIterator<Item = (i32, &'c [u8])>,
) -> Result<Vec<u8>, TupleError> {
    let fail = |reason: String| TupleError::Toast {
        value_id: pointer.value_id,
        reason,
    };
    let mut chunks: Vec<(i32, &[u8])> = chunks.into_iter().collect();
    chunks.sort_by_key(|&(seq, _)| seq);
    let mut stored = Vec::with_capacity(pointer.ext_size as usize);
    for (expected, &(seq, payload)) in chunks.iter().enumerate() {
        if i64::from(seq) != expected as i64 {
            return Err(fail(format!(
                "expected chunk {expected}, found chunk {seq}"
            )));
        }
        stored.extend_from_slice(payload);
    }
    if stored.len() != pointer.ext_size as usize {
        return Err(fail(format!(
            "chunks hold {} bytes, the pointer says {}",
            stored.len(),
            pointer.ext_size
        )));
    }
    let expected_raw = i64::from(pointer.raw_size) - 4;
    let value = match pointer.compression {
        None => stored,
        Some(_) => {
            if stored.len() < 4 {
                return Err(fail(
                    "compressed value shorter than its 4-byte header".into(),
                ));
            }
            let tcinfo = u32_at(&stored, 0);
            let method = CompressionMethod::from_id(tcinfo >> 30)?;
            let raw = tcinfo & 0x3FFF_FFFF;
            if i64::from(raw) != expected_raw {
                return Err(fail(format!(
                    "compressed header says {raw} bytes, the pointer says {expected_raw}"
                )));
            }
            decompress(method, raw, &stored[4..])?
        }
    };
    if value.len() as i64 != expected_raw {
        return Err(fail(format!(
            "value has {} bytes, the pointer says {expected_raw}",
            value.len()
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(attnum: i16, attlen: i16, align: &str) -> Column {
        Column {
            attnum,
            name: format!("c{attnum}"),
            type_oid: 0,
            type_name: None,
            type_name_no_typmod: None,
            typmod: -1,
            attlen,
            attbyval: attlen > 0 && attlen <= 8,
            attalign: align.into(),
            attstorage: "p".into(),
            attisdropped: false,
            attnotnull: false,
            attcompression: None,
            atthasmissing: false,
            attmissingval: None,
        }
    }

    #[test]
    fn deform_alignment_and_nulls() {
        // int2, (null) int8, text 'ab' short header, int4 aligned after varlena
        let cols = [
            col(1, 2, "s"),
            col(2, 8, "d"),
            col(3, -1, "i"),
            col(4, 4, "i"),
        ];
        let mut data = vec![0b0000_1101u8]; // bitmap: 1,3,4 not null
        data.resize(24 - 23, 0);
        data.extend_from_slice(&7i16.to_le_bytes());
        data.extend_from_slice(&[0x07, b'a', b'b']); // short varlena, size 3
        data.extend_from_slice(&[0, 0, 0]); // pad to 8
        data.extend_from_slice(&9i32.to_le_bytes());
        let t = HeapTuple {
            infomask2: 4,
            infomask: HEAP_HASNULL,
            hoff: 24,
            data: &data,
        };
        let d = deform(&t, &cols).unwrap();
        assert_eq!(d[0], Datum::Fixed(&7i16.to_le_bytes()));
        assert_eq!(d[1], Datum::Null);
        assert_eq!(d[2], Datum::Varlena(Varlena::Plain(b"ab")));
        assert_eq!(d[3], Datum::Fixed(&9i32.to_le_bytes()));
    }

    #[test]
    fn corrupt_tuples_are_errors() {
        let cols = [col(1, 4, "i"), col(2, -1, "i")];
        let data = [1u8, 0, 0, 0, 0xFF];
        let t = HeapTuple {
            infomask2: 2,
            infomask: 0,
            hoff: 24,
            data: &data,
        };
        assert!(matches!(
            deform(&t, &cols),
            Err(TupleError::Truncated { .. })
        ));
        let t = HeapTuple {
            infomask2: 3,
            infomask: 0,
            hoff: 24,
            data: &data,
        };
        assert!(deform(&t, &cols).is_err());
        let t = HeapTuple {
            infomask2: 1,
            infomask: 0,
            hoff: 200,
            data: &data,
        };
        assert!(matches!(deform(&t, &cols), Err(TupleError::BadHoff { .. })));
    }

    #[test]
    fn toast_pointer_fields() {
        let mut buf = vec![0x01, 18];
        buf.extend_from_slice(&10_004i32.to_le_bytes());
        buf.extend_from_slice(&(3000u32 | (1 << 30)).to_le_bytes());
        buf.extend_from_slice(&77u32.to_le_bytes());
        buf.extend_from_slice(&16_400u32.to_le_bytes());
        let (v, size) = read_varlena(&buf, 0, 0).unwrap();
        assert_eq!(size, 18);
        assert_eq!(
            v,
            Varlena::External(ToastPointer {
                raw_size: 10_004,
                ext_size: 3000,
                compression: Some(CompressionMethod::Lz4),
                value_id: 77,
                toast_relid: 16_400,
            })
        );
        assert!(read_varlena(&buf[..10], 0, 0).is_err());
    }
}
