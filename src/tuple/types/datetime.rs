//! date, time, timetz, timestamp, timestamptz with `DateStyle = ISO`: PostgreSQL's own
//! calendar arithmetic (`j2date`, `timestamp2tm`, `EncodeDateTime`), with the session time
//! zone's UTC offset taken from the tz database.

use super::{exact, i32_at, i64_at, Malformed, OutputContext};

pub const POSTGRES_EPOCH_JDATE: i64 = 2_451_545;
const UNIX_EPOCH_JDATE: i64 = 2_440_588;
pub const USECS_PER_SEC: i64 = 1_000_000;
pub const USECS_PER_DAY: i64 = 86_400 * USECS_PER_SEC;
const SECS_PER_DAY: i64 = 86_400;

/// Broken-down time (`struct pg_tm` plus fractional seconds).
struct Tm {
    year: i32,
    mon: u32,
    mday: u32,
    hour: i64,
    min: i64,
    sec: i64,
    fsec: i64,
}

/// `j2date`, with the same unsigned arithmetic.
pub fn j2date(jd: i32) -> (i32, u32, u32) {
    let mut julian = jd as u32;
    julian = julian.wrapping_add(32044);
    let mut quad = julian / 146_097;
    let extra = (julian.wrapping_sub(quad.wrapping_mul(146_097)))
        .wrapping_mul(4)
        .wrapping_add(3);
    julian = julian
        .wrapping_add(60)
        .wrapping_add(quad.wrapping_mul(3))
        .wrapping_add(extra / 146_097);
    quad = julian / 1461;
    julian = julian.wrapping_sub(quad.wrapping_mul(1461));
    let mut y = (julian.wrapping_mul(4) / 1461) as i32;
    julian = if y != 0 {
        (julian + 305) % 365
    } else {
        (julian + 306) % 366
    } + 123;
    y = y.wrapping_add(quad.wrapping_mul(4) as i32);
    let year = y.wrapping_sub(4800);
    let quad = julian * 2141 / 65536;
    let day = julian - 7834 * quad / 256;
    let month = (quad + 10) % 12 + 1;
    (year, month, day)
}

fn push_zeropad(out: &mut String, v: i64, width: usize) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(v.unsigned_abs());
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
}

/// `AppendSeconds` with `fillzeros` and precision 6: `SS[.ffffff]`, trailing zeros dropped.
pub fn append_seconds(out: &mut String, sec: i64, fsec: i64) {
    push_zeropad(out, sec, 2);
    push_fraction(out, fsec);
}

/// `.ffffff` of `fsec` microseconds, trailing zeros dropped; nothing for 0.
fn push_fraction(out: &mut String, fsec: i64) {
    if fsec != 0 {
        out.push('.');
        let at = out.len();
        push_zeropad(out, fsec, 6);
        let kept = out[at..].trim_end_matches('0').len();
        out.truncate(at + kept);
    }
}

/// `EncodeTimezone`: `tz` is seconds west of UTC.
fn encode_timezone(out: &mut String, tz: i32) {
    let mut sec = i64::from(tz).abs();
    let mut min = sec / 60;
    sec -= min * 60;
    let hour = min / 60;
    min -= hour * 60;
    out.push(if tz <= 0 { '+' } else { '-' });
    push_zeropad(out, hour, 2);
    if sec != 0 {
        out.push(':');
        push_zeropad(out, min, 2);
        out.push(':');
        push_zeropad(out, sec, 2);
    } else if min != 0 {
        out.push(':');
        push_zeropad(out, min, 2);
    }
}

fn push_year(out: &mut String, year: i32) {
    let shown = if year > 0 {
        i64::from(year)
    } else {
        -(i64::from(year) - 1)
    };
    push_zeropad(out, shown, 4);
}

/// Two ASCII digits of `v`, which is below 100.
fn two_digits(v: u32) -> [u8; 2] {
    [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]
}

fn encode_date_time(out: &mut String, tm: &Tm, tz: Option<i32>) {
    // Nearly every value is in years 1-9999: its fields then have fixed widths and are
    // assembled in one buffer rather than pushed one by one.
    if (1..=9999).contains(&tm.year) {
        let year = tm.year as u32;
        let mut text = *b"0000-00-00 00:00:00";
        let fields = [
            (0, year / 100),
            (2, year % 100),
            (5, tm.mon),
            (8, tm.mday),
            (11, tm.hour as u32),
            (14, tm.min as u32),
            (17, tm.sec as u32),
        ];
        for (at, v) in fields {
            text[at..at + 2].copy_from_slice(&two_digits(v));
        }
        out.push_str(std::str::from_utf8(&text).expect("ASCII digits"));
        push_fraction(out, tm.fsec);
        if let Some(tz) = tz {
            encode_timezone(out, tz);
        }
        return;
    }
    push_year(out, tm.year);
    out.push('-');
    push_zeropad(out, i64::from(tm.mon), 2);
    out.push('-');
    push_zeropad(out, i64::from(tm.mday), 2);
    out.push(' ');
    push_zeropad(out, tm.hour, 2);
    out.push(':');
    push_zeropad(out, tm.min, 2);
    out.push(':');
    append_seconds(out, tm.sec, tm.fsec);
    if let Some(tz) = tz {
        encode_timezone(out, tz);
    }
    if tm.year <= 0 {
        out.push_str(" BC");
    }
}

/// `timestamp2tm` without zone: splits µs since 2000-01-01 into fields.
fn timestamp2tm(dt: i64) -> Result<Tm, Malformed> {
    let mut date = dt / USECS_PER_DAY;
    let mut time = dt - date * USECS_PER_DAY;
    if time < 0 {
        time += USECS_PER_DAY;
        date -= 1;
    }
    date += POSTGRES_EPOCH_JDATE;
    if date < 0 || date > i64::from(i32::MAX) {
        return Err(Malformed(format!("timestamp {dt} out of range")));
    }
    let (year, mon, mday) = j2date(date as i32);
    let hour = time / 3_600_000_000;
    time -= hour * 3_600_000_000;
    let min = time / 60_000_000;
    time -= min * 60_000_000;
    let sec = time / USECS_PER_SEC;
    let fsec = time - sec * USECS_PER_SEC;
    Ok(Tm {
        year,
        mon,
        mday,
        hour,
        min,
        sec,
        fsec,
    })
}

pub fn date_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let d = i32::from_le_bytes(exact(v)?);
    if d == i32::MIN {
        out.push_str("-infinity");
    } else if d == i32::MAX {
        out.push_str("infinity");
    } else {
        let (year, mon, mday) = j2date(d.wrapping_add(POSTGRES_EPOCH_JDATE as i32));
        push_year(out, year);
        out.push('-');
        push_zeropad(out, i64::from(mon), 2);
        out.push('-');
        push_zeropad(out, i64::from(mday), 2);
        if year <= 0 {
            out.push_str(" BC");
        }
    }
    Ok(())
}

fn encode_time(out: &mut String, time: i64) {
    let hour = time / 3_600_000_000;
    let mut rest = time - hour * 3_600_000_000;
    let min = rest / 60_000_000;
    rest -= min * 60_000_000;
    let sec = rest / USECS_PER_SEC;
    let fsec = rest - sec * USECS_PER_SEC;
    push_zeropad(out, hour, 2);
    out.push(':');
    push_zeropad(out, min, 2);
    out.push(':');
    append_seconds(out, sec, fsec);
}

pub fn time_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    encode_time(out, i64::from_le_bytes(exact(v)?));
    Ok(())
}

pub fn timetz_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    exact::<12>(v)?;
    encode_time(out, i64_at(v, 0)?);
    encode_timezone(out, i32_at(v, 8)?);
    Ok(())
}

pub fn timestamp_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let dt = i64::from_le_bytes(exact(v)?);
    if !push_infinity(dt, out) {
        encode_date_time(out, &timestamp2tm(dt)?, None);
    }
    Ok(())
}

fn push_infinity(dt: i64, out: &mut String) -> bool {
    match dt {
        i64::MIN => out.push_str("-infinity"),
        i64::MAX => out.push_str("infinity"),
        _ => return false,
    }
    true
}

/// Seconds in 400 Gregorian years: time zone rules repeat with this period.
const SECS_PER_400_YEARS: i64 = 146_097 * SECS_PER_DAY;

/// UTC offset (seconds east) of the zone at Unix time `secs`; beyond the years the tz
/// library represents, shifted by whole 400-year cycles as PostgreSQL's `localsub` does.
fn utc_offset(tz: &jiff::tz::TimeZone, secs: i64) -> Result<i32, Malformed> {
    let max = jiff::Timestamp::MAX.as_second();
    let min = jiff::Timestamp::MIN.as_second();
    let mut s = secs;
    if s > max {
        s -= ((s - max) / SECS_PER_400_YEARS + 1) * SECS_PER_400_YEARS;
    } else if s < min {
        s += ((min - s) / SECS_PER_400_YEARS + 1) * SECS_PER_400_YEARS;
    }
    let ts = jiff::Timestamp::from_second(s)
        .map_err(|e| Malformed(format!("time {secs} outside the time zone's range: {e}")))?;
    Ok(tz.to_offset(ts).seconds())
}

pub fn timestamptz_out(v: &[u8], ctx: &OutputContext, out: &mut String) -> Result<(), Malformed> {
    let dt = i64::from_le_bytes(exact(v)?);
    if push_infinity(dt, out) {
        return Ok(());
    }
    // the UTC fields validate the range and give the fraction, as in timestamp2tm
    let utc = timestamp2tm(dt)?;
    let secs =
        (dt - utc.fsec) / USECS_PER_SEC + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
    let gmtoff = utc_offset(&ctx.time_zone, secs)?;
    let local_secs = secs + i64::from(gmtoff);
    let local_dt = (local_secs - (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)
        .checked_mul(USECS_PER_SEC)
        .and_then(|d| d.checked_add(utc.fsec))
        .ok_or_else(|| Malformed(format!("timestamp {dt} out of range")))?;
    let tm = timestamp2tm(local_dt)?;
    encode_date_time(out, &tm, Some(-gmtoff));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn julian_days() {
        assert_eq!(j2date(POSTGRES_EPOCH_JDATE as i32), (2000, 1, 1));
        assert_eq!(j2date(0), (-4713, 11, 24));
    }

    #[test]
    fn time_zone_offsets() {
        let mut s = String::new();
        encode_timezone(&mut s, -19800);
        encode_timezone(&mut s, 10800);
        encode_timezone(&mut s, 0);
        encode_timezone(&mut s, 17762);
        assert_eq!(s, "+05:30-03+00-04:56:02");
    }
}
