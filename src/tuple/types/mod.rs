//! Text output of datums, byte-identical to PostgreSQL's type output functions (what
//! `SELECT col::text` prints), chosen by the type's `typoutput` function name. One file per
//! type family; anything not implemented is [`TypeError::Unsupported`], never guessed text.

pub mod array;
pub mod bits;
pub mod datetime;
pub mod float;
pub mod geometric;
pub mod interval;
pub mod jsonb;
pub mod money;
pub mod network;
pub mod numeric;
pub mod range;
pub mod record;
pub mod regproc;
pub mod scalar;
pub mod tsquery;
pub mod tsvector;
pub mod xml;

use std::borrow::Cow;
use std::collections::HashMap;

use crate::catalog::{Catalog, Type};

use super::TupleError;

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum TypeError {
    #[error("output of type {type_name} (output function {output_fn}) is not supported")]
    Unsupported {
        type_name: String,
        output_fn: String,
    },
    #[error("type with oid {oid} is not in the catalog")]
    UnknownType { oid: u32 },
    #[error("malformed {type_name} value: {reason}")]
    Malformed { type_name: String, reason: String },
    #[error("setting {name} = {value:?} is not supported: {reason}")]
    Setting {
        name: String,
        value: String,
        reason: String,
    },
    #[error("{type_name} value: {source}")]
    Tuple {
        type_name: String,
        source: TupleError,
    },
}

/// A malformed value, before the caller names its type.
#[derive(Debug)]
pub struct Malformed(pub String);

impl Malformed {
    pub fn new(reason: impl Into<String>) -> Malformed {
        Malformed(reason.into())
    }
}

/// The session settings that change how values print.
#[derive(Clone, Debug)]
pub struct OutputContext {
    /// `TimeZone`, for timestamptz.
    pub time_zone: jiff::tz::TimeZone,
    pub time_zone_name: String,
    /// `extra_float_digits`: above 0 prints the shortest exact text.
    pub extra_float_digits: i32,
    /// `lc_monetary`, kept to report it when money values need an unknown locale.
    pub lc_monetary: String,
    money_c_locale: bool,
}

impl OutputContext {
    /// PostgreSQL's defaults (DateStyle ISO, IntervalStyle postgres, extra_float_digits 1,
    /// bytea_output hex, lc_monetary C) in the given time zone.
    pub fn new(time_zone: &str) -> Result<OutputContext, TypeError> {
        let tz = load_time_zone(time_zone)?;
        Ok(OutputContext {
            time_zone: tz,
            time_zone_name: time_zone.to_string(),
            extra_float_digits: 1,
            lc_monetary: "C".into(),
            money_c_locale: true,
        })
    }

    /// From `pg_settings` values (as the catalog dictionary keeps them); settings absent from
    /// the map take PostgreSQL's defaults.
    pub fn from_settings(settings: &HashMap<String, String>) -> Result<OutputContext, TypeError> {
        let get = |name: &str| settings.get(name).map(String::as_str);
        let mut ctx = OutputContext::new(get("TimeZone").unwrap_or("GMT"))?;
        let unsupported = |name: &str, value: &str, reason: &str| TypeError::Setting {
            name: name.into(),
            value: value.into(),
            reason: reason.into(),
        };
        if let Some(v) = get("DateStyle") {
            if !v.trim_start().to_ascii_uppercase().starts_with("ISO") {
                return Err(unsupported(
                    "DateStyle",
                    v,
                    "only ISO output is implemented",
                ));
            }
        }
        if let Some(v) = get("IntervalStyle") {
            if v != "postgres" {
                return Err(unsupported(
                    "IntervalStyle",
                    v,
                    "only postgres output is implemented",
                ));
            }
        }
        if let Some(v) = get("bytea_output") {
            if v != "hex" {
                return Err(unsupported("bytea_output", v, "only hex is implemented"));
            }
        }
        if let Some(v) = get("server_encoding") {
            if v != "UTF8" && v != "SQL_ASCII" {
                return Err(unsupported(
                    "server_encoding",
                    v,
                    "text is passed through as UTF-8",
                ));
            }
        }
        if let Some(v) = get("extra_float_digits") {
            ctx.extra_float_digits = v
                .trim()
                .parse()
                .map_err(|_| unsupported("extra_float_digits", v, "not an integer"))?;
        }
        if let Some(v) = get("lc_monetary") {
            ctx.set_lc_monetary(v);
        }
        Ok(ctx)
    }

    pub fn from_catalog(catalog: &Catalog) -> Result<OutputContext, TypeError> {
        OutputContext::from_settings(&catalog.file.settings)
    }

    pub fn set_time_zone(&mut self, name: &str) -> Result<(), TypeError> {
        self.time_zone = load_time_zone(name)?;
        self.time_zone_name = name.to_string();
        Ok(())
    }

    /// Locales whose monetary format is `$1,234.56` / `-$1,234.56` (C and en_US).
    pub fn set_lc_monetary(&mut self, locale: &str) {
        let l = locale.to_ascii_lowercase();
        self.money_c_locale = matches!(
            l.as_str(),
            "" | "c" | "posix" | "c.utf8" | "c.utf-8" | "en_us" | "en_us.utf8" | "en_us.utf-8"
        );
        self.lc_monetary = locale.to_string();
    }

    pub(crate) fn money_c_locale(&self) -> bool {
        self.money_c_locale
    }
}

fn load_time_zone(name: &str) -> Result<jiff::tz::TimeZone, TypeError> {
    let fixed_utc = ["UTC", "GMT", "Etc/UTC", "Etc/GMT", "Z", "UCT", "Zulu"];
    if fixed_utc.iter().any(|z| z.eq_ignore_ascii_case(name)) {
        return Ok(jiff::tz::TimeZone::UTC);
    }
    jiff::tz::TimeZone::get(name).map_err(|e| TypeError::Setting {
        name: "TimeZone".into(),
        value: name.into(),
        reason: e.to_string(),
    })
}

/// The text of a value of type `type_oid`. `value` is the fixed-length bytes, or the varlena
/// payload without its header, detoasted and decompressed.
pub fn output(
    catalog: &Catalog,
    type_oid: u32,
    value: &[u8],
    ctx: &OutputContext,
) -> Result<String, TypeError> {
    let mut out = String::new();
    write_output(catalog, type_oid, value, ctx, &mut out)?;
    Ok(out)
}

/// The output text of a stored value of the types most columns have (integers, OIDs and
/// text types), for callers that copy it into their own output without a `String` in
/// between: integers are printed into `digits`, text is the value itself. `None` for other
/// types and for a value the output function would reject, whose error [`write_output`]
/// gives.
#[inline(always)]
pub fn stored_text<'b>(
    type_oid: u32,
    bytes: &'b [u8],
    digits: &'b mut itoa::Buffer,
) -> Option<&'b str> {
    use crate::catalog::type_oids::*;
    match (type_oid, bytes.len()) {
        (INT4, 4) => Some(digits.format(i32::from_le_bytes(bytes.try_into().ok()?))),
        (INT8, 8) => Some(digits.format(i64::from_le_bytes(bytes.try_into().ok()?))),
        (INT2, 2) => Some(digits.format(i16::from_le_bytes(bytes.try_into().ok()?))),
        (OID, 4) => Some(digits.format(u32::from_le_bytes(bytes.try_into().ok()?))),
        (TEXT | VARCHAR | BPCHAR, _) => std::str::from_utf8(bytes).ok(),
        _ => None,
    }
}

/// As [`output`], appending to `out`.
pub fn write_output(
    catalog: &Catalog,
    type_oid: u32,
    value: &[u8],
    ctx: &OutputContext,
    out: &mut String,
) -> Result<(), TypeError> {
    use crate::catalog::type_oids::*;
    const DATE: u32 = 1082;
    // The built-in types most columns have print without a catalog lookup and a dispatch
    // on the output function's name: their oids and output functions are fixed in every
    // version. A value they reject goes the long way, for the error naming its type.
    if let Some(text) = stored_text(type_oid, value, &mut itoa::Buffer::new()) {
        out.push_str(text);
        return Ok(());
    }
    let at = out.len();
    let printed = match type_oid {
        BOOL => scalar::bool_out(value, out),
        NUMERIC => numeric::numeric_out(value, out),
        FLOAT8 => float::float8_out(value, ctx, out),
        FLOAT4 => float::float4_out(value, ctx, out),
        DATE => datetime::date_out(value, out),
        TIMESTAMP => datetime::timestamp_out(value, out),
        TIMESTAMPTZ => datetime::timestamptz_out(value, ctx, out),
        _ => Err(Malformed(String::new())),
    };
    if printed.is_ok() {
        return Ok(());
    }
    out.truncate(at);
    let ty = catalog
        .type_(type_oid)
        .ok_or(TypeError::UnknownType { oid: type_oid })?;
    write_typed(catalog, ty, value, ctx, out)
}

pub(crate) fn write_typed(
    catalog: &Catalog,
    ty: &Type,
    value: &[u8],
    ctx: &OutputContext,
    out: &mut String,
) -> Result<(), TypeError> {
    if ty.typtype == "d" {
        let base = ty.typbasetype.ok_or_else(|| TypeError::Malformed {
            type_name: ty.formatted.clone(),
            reason: "domain without a base type in the catalog".into(),
        })?;
        return write_output(catalog, base, value, ctx, out);
    }
    let named = |r: Result<(), Malformed>| {
        r.map_err(|Malformed(reason)| TypeError::Malformed {
            type_name: ty.formatted.clone(),
            reason,
        })
    };
    match ty.typoutput.as_str() {
        "boolout" => named(scalar::bool_out(value, out)),
        "charout" => named(scalar::char_out(value, out)),
        "nameout" => named(scalar::name_out(value, out)),
        "int2out" => named(scalar::int2_out(value, out)),
        "int4out" => named(scalar::int4_out(value, out)),
        "int8out" => named(scalar::int8_out(value, out)),
        "oidout" | "xidout" | "cidout" => named(scalar::uint4_out(value, out)),
        "xid8out" => named(scalar::uint8_out(value, out)),
        "textout" | "varcharout" | "bpcharout" | "json_out" | "unknownout" | "cstring_out" => {
            named(scalar::text_out(value, out))
        }
        "xml_out" => named(xml::xml_out(value, out)),
        "byteaout" => named(scalar::bytea_out(value, out)),
        "uuid_out" => named(scalar::uuid_out(value, out)),
        "pg_lsn_out" => named(scalar::pg_lsn_out(value, out)),
        "tidout" => named(scalar::tid_out(value, out)),
        "regclassout" => named(scalar::regclass_out(catalog, value, out)),
        "regtypeout" => named(scalar::regtype_out(catalog, value, out)),
        "regnamespaceout" => named(regproc::regnamespace_out(catalog, value, out)),
        "enum_out" => named(scalar::enum_out(ty, value, out)),
        "float4out" => named(float::float4_out(value, ctx, out)),
        "float8out" => named(float::float8_out(value, ctx, out)),
        "numeric_out" => named(numeric::numeric_out(value, out)),
        "cash_out" => {
            if !ctx.money_c_locale() {
                return Err(TypeError::Setting {
                    name: "lc_monetary".into(),
                    value: ctx.lc_monetary.clone(),
                    reason: "money output is implemented for the C and en_US locales only".into(),
                });
            }
            named(money::cash_out(value, out))
        }
        "date_out" => named(datetime::date_out(value, out)),
        "time_out" => named(datetime::time_out(value, out)),
        "timetz_out" => named(datetime::timetz_out(value, out)),
        "timestamp_out" => named(datetime::timestamp_out(value, out)),
        "timestamptz_out" => named(datetime::timestamptz_out(value, ctx, out)),
        "interval_out" => named(interval::interval_out(value, out)),
        "jsonb_out" => named(jsonb::jsonb_out(value, out)),
        "inet_out" => named(network::inet_out(value, false, out)),
        "cidr_out" => named(network::inet_out(value, true, out)),
        "macaddr_out" => named(network::macaddr_out(value, 6, out)),
        "macaddr8_out" => named(network::macaddr_out(value, 8, out)),
        "bit_out" | "varbit_out" => named(bits::bit_out(value, out)),
        "tsvectorout" => named(tsvector::tsvector_out(value, out)),
        "tsqueryout" => named(tsquery::tsquery_out(value, out)),
        "point_out" => named(geometric::point_out(value, ctx, out)),
        "box_out" => named(geometric::box_out(value, ctx, out)),
        "lseg_out" => named(geometric::lseg_out(value, ctx, out)),
        "line_out" => named(geometric::line_out(value, ctx, out)),
        "path_out" => named(geometric::path_out(value, ctx, out)),
        "poly_out" => named(geometric::poly_out(value, ctx, out)),
        "circle_out" => named(geometric::circle_out(value, ctx, out)),
        "array_out" => array::array_out(catalog, ty, value, ctx, out),
        "record_out" => record::record_out(catalog, ty, value, ctx, out),
        "range_out" => range::range_out(catalog, ty, value, ctx, out),
        "multirange_out" => range::multirange_out(catalog, ty, value, ctx, out),
        other => Err(TypeError::Unsupported {
            type_name: ty.formatted.clone(),
            output_fn: other.to_string(),
        }),
    }
}

/// An element of a container value (array element, record field, range bound), as found in
/// the container's bytes: its length and where it ends.
pub(crate) struct Element<'a> {
    /// Fixed bytes, or the varlena payload (decompressed if it was compressed inline).
    pub value: Cow<'a, [u8]>,
    /// Offset just past the element.
    pub end: usize,
}

/// Reads an element of type `(typlen, typalign)` at `at` in `buf`, aligning like
/// `att_align_pointer` (varlena: only when the byte at `at` is a pad byte) if
/// `align_varlena_always` is false, or unconditionally (arrays) if true. `bias` is the
/// offset of `buf[0]` from the start of the container (whose start is maximally aligned).
pub(crate) fn read_element<'a>(
    buf: &'a [u8],
    at: usize,
    bias: usize,
    typlen: i16,
    typalign: usize,
    align_varlena_always: bool,
    type_name: &str,
) -> Result<Element<'a>, TypeError> {
    let aligned = |off: usize| super::align(off + bias, typalign) - bias;
    let truncated = |needed: usize, at: usize| TypeError::Malformed {
        type_name: type_name.to_string(),
        reason: format!(
            "element of {needed} bytes at offset {at} runs past the end ({} bytes)",
            buf.len()
        ),
    };
    match typlen {
        len if len > 0 => {
            let len = len as usize;
            let at = aligned(at);
            let bytes = buf
                .get(at..at.saturating_add(len))
                .ok_or_else(|| truncated(len, at))?;
            Ok(Element {
                value: Cow::Borrowed(bytes),
                end: at + len,
            })
        }
        -1 => {
            let first = *buf.get(at).ok_or_else(|| truncated(1, at))?;
            let at = if align_varlena_always || first == 0 {
                aligned(at)
            } else {
                at
            };
            let (v, size) =
                super::read_varlena(buf, at, bias).map_err(|source| TypeError::Tuple {
                    type_name: type_name.to_string(),
                    source,
                })?;
            let value = v.detoast_inline().map_err(|source| TypeError::Tuple {
                type_name: type_name.to_string(),
                source,
            })?;
            Ok(Element {
                value,
                end: at + size,
            })
        }
        -2 => {
            let rest = buf.get(at..).unwrap_or(&[]);
            let nul = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| truncated(1, at))?;
            Ok(Element {
                value: Cow::Borrowed(&rest[..nul]),
                end: at + nul + 1,
            })
        }
        other => Err(TypeError::Malformed {
            type_name: type_name.to_string(),
            reason: format!("element type has invalid typlen {other}"),
        }),
    }
}

pub(crate) fn type_of(catalog: &Catalog, oid: u32) -> Result<&Type, TypeError> {
    catalog.type_(oid).ok_or(TypeError::UnknownType { oid })
}

pub(crate) fn malformed(ty: &Type, reason: impl Into<String>) -> TypeError {
    TypeError::Malformed {
        type_name: ty.formatted.clone(),
        reason: reason.into(),
    }
}

/// Fixed-size little-endian reads with a length check.
pub(crate) fn fixed<const N: usize>(value: &[u8], at: usize) -> Result<[u8; N], Malformed> {
    value
        .get(at..at + N)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            Malformed(format!(
                "needs {N} bytes at offset {at}, value has {}",
                value.len()
            ))
        })
}

pub(crate) fn exact<const N: usize>(value: &[u8]) -> Result<[u8; N], Malformed> {
    value
        .try_into()
        .map_err(|_| Malformed(format!("expected {N} bytes, found {}", value.len())))
}

pub(crate) fn u16_at(v: &[u8], at: usize) -> Result<u16, Malformed> {
    fixed::<2>(v, at).map(u16::from_le_bytes)
}
pub(crate) fn i32_at(v: &[u8], at: usize) -> Result<i32, Malformed> {
    fixed::<4>(v, at).map(i32::from_le_bytes)
}
pub(crate) fn u32_at(v: &[u8], at: usize) -> Result<u32, Malformed> {
    fixed::<4>(v, at).map(u32::from_le_bytes)
}
pub(crate) fn i64_at(v: &[u8], at: usize) -> Result<i64, Malformed> {
    fixed::<8>(v, at).map(i64::from_le_bytes)
}
pub(crate) fn f64_at(v: &[u8], at: usize) -> Result<f64, Malformed> {
    fixed::<8>(v, at).map(f64::from_le_bytes)
}

pub(crate) fn utf8(v: &[u8]) -> Result<&str, Malformed> {
    std::str::from_utf8(v).map_err(|e| Malformed(format!("text is not valid UTF-8: {e}")))
}
