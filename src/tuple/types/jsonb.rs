//! jsonb: walks the on-disk `JsonbContainer` tree and prints it as `JsonbToCString` does
//! (`{"a": 1, "b": [true, null]}`).

use std::fmt::Write;

use super::{numeric, u32_at, utf8, Malformed};

const JB_CMASK: u32 = 0x0FFF_FFFF;
const JB_FSCALAR: u32 = 0x1000_0000;
const JB_FOBJECT: u32 = 0x2000_0000;
const JB_FARRAY: u32 = 0x4000_0000;
const JENTRY_OFFLENMASK: u32 = 0x0FFF_FFFF;
const JENTRY_TYPEMASK: u32 = 0x7000_0000;
const JENTRY_HAS_OFF: u32 = 0x8000_0000;
const JENTRY_ISSTRING: u32 = 0x0000_0000;
const JENTRY_ISNUMERIC: u32 = 0x1000_0000;
const JENTRY_ISBOOL_FALSE: u32 = 0x2000_0000;
const JENTRY_ISBOOL_TRUE: u32 = 0x3000_0000;
const JENTRY_ISNULL: u32 = 0x4000_0000;
const JENTRY_ISCONTAINER: u32 = 0x5000_0000;
/// Deeper nesting than PostgreSQL's parser accepts means corrupt data.
const MAX_DEPTH: usize = 10_000;

pub fn jsonb_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    write_container(v, out, 0)
}

struct Container<'a> {
    bytes: &'a [u8],
    count: usize,
    /// Offset of the children's data area.
    base: usize,
}

impl<'a> Container<'a> {
    fn parse(bytes: &'a [u8], object: bool, count: usize) -> Result<Container<'a>, Malformed> {
        let nentries = if object { 2 * count } else { count };
        let base = 4 + 4 * nentries;
        if base > bytes.len() {
            return Err(Malformed(format!(
                "container of {count} children needs {base} bytes of entries, has {}",
                bytes.len()
            )));
        }
        Ok(Container { bytes, count, base })
    }

    fn jentry(&self, i: usize) -> u32 {
        let at = 4 + 4 * i;
        u32::from_le_bytes([
            self.bytes[at],
            self.bytes[at + 1],
            self.bytes[at + 2],
            self.bytes[at + 3],
        ])
    }

    /// `getJsonbOffset`.
    fn offset(&self, i: usize) -> usize {
        let mut offset = 0usize;
        for j in (0..i).rev() {
            let je = self.jentry(j);
            offset += (je & JENTRY_OFFLENMASK) as usize;
            if je & JENTRY_HAS_OFF != 0 {
                break;
            }
        }
        offset
    }

    fn write_child(&self, i: usize, out: &mut String, depth: usize) -> Result<(), Malformed> {
        let je = self.jentry(i);
        let offset = self.offset(i);
        let field = (je & JENTRY_OFFLENMASK) as usize;
        let len = if je & JENTRY_HAS_OFF != 0 {
            field
                .checked_sub(offset)
                .ok_or_else(|| Malformed(format!("child {i} ends before it starts")))?
        } else {
            field
        };
        let data = self.bytes.get(self.base..).unwrap_or(&[]);
        let slice = |from: usize, to: usize| {
            data.get(from..to).ok_or_else(|| {
                Malformed(format!(
                    "child {i} at {from}..{to} runs past the data area ({} bytes)",
                    data.len()
                ))
            })
        };
        match je & JENTRY_TYPEMASK {
            JENTRY_ISSTRING => escape_json(utf8(slice(offset, offset + len)?)?, out),
            JENTRY_ISNUMERIC => {
                let start = (offset + 3) & !3;
                let bytes = slice(start, offset + len)?;
                let (var, _) = crate::tuple::read_varlena(bytes, 0, 0)
                    .map_err(|e| Malformed(format!("numeric child {i}: {e}")))?;
                let payload = var
                    .detoast_inline()
                    .map_err(|e| Malformed(format!("numeric child {i}: {e}")))?;
                numeric::numeric_out(&payload, out)?;
            }
            JENTRY_ISBOOL_FALSE => out.push_str("false"),
            JENTRY_ISBOOL_TRUE => out.push_str("true"),
            JENTRY_ISNULL => out.push_str("null"),
            JENTRY_ISCONTAINER => {
                let start = (offset + 3) & !3;
                write_container(slice(start, offset + len)?, out, depth + 1)?;
            }
            other => return Err(Malformed(format!("unknown JEntry type {other:#x}"))),
        }
        Ok(())
    }
}

fn write_container(bytes: &[u8], out: &mut String, depth: usize) -> Result<(), Malformed> {
    if depth > MAX_DEPTH {
        return Err(Malformed("nesting too deep".into()));
    }
    let header = u32_at(bytes, 0)?;
    let count = (header & JB_CMASK) as usize;
    if header & JB_FOBJECT != 0 {
        let c = Container::parse(bytes, true, count)?;
        out.push('{');
        for i in 0..c.count {
            if i > 0 {
                out.push_str(", ");
            }
            if c.jentry(i) & JENTRY_TYPEMASK != JENTRY_ISSTRING {
                return Err(Malformed(format!("object key {i} is not a string")));
            }
            c.write_child(i, out, depth)?;
            out.push_str(": ");
            c.write_child(count + i, out, depth)?;
        }
        out.push('}');
    } else if header & JB_FARRAY != 0 {
        let c = Container::parse(bytes, false, count)?;
        if header & JB_FSCALAR != 0 {
            if count != 1 {
                return Err(Malformed(format!("scalar container with {count} elements")));
            }
            return c.write_child(0, out, depth);
        }
        out.push('[');
        for i in 0..c.count {
            if i > 0 {
                out.push_str(", ");
            }
            c.write_child(i, out, depth)?;
        }
        out.push(']');
    } else {
        return Err(Malformed(format!(
            "container header {header:#010x} is neither object nor array"
        )));
    }
    Ok(())
}

/// `escape_json`.
pub fn escape_json(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
