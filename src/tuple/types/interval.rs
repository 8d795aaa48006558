//! interval with `IntervalStyle = postgres`: `interval2itm` then `EncodeInterval`.

use std::fmt::Write;

use super::datetime::append_seconds;
use super::{exact, i32_at, i64_at, Malformed};

/// `AddPostgresIntPart`.
fn add_part(out: &mut String, value: i64, unit: &str, is_zero: &mut bool, is_before: &mut bool) {
    if value == 0 {
        return;
    }
    let _ = write!(
        out,
        "{}{}{} {}{}",
        if *is_zero { "" } else { " " },
        if *is_before && value > 0 { "+" } else { "" },
        value,
        unit,
        if value != 1 { "s" } else { "" }
    );
    *is_before = value < 0;
    *is_zero = false;
}

pub fn interval_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    exact::<16>(v)?;
    let time = i64_at(v, 0)?;
    let day = i32_at(v, 8)?;
    let month = i32_at(v, 12)?;
    let year = i64::from(month / 12);
    let mon = i64::from(month % 12);
    let hour = time / 3_600_000_000;
    let mut rest = time - hour * 3_600_000_000;
    let min = rest / 60_000_000;
    rest -= min * 60_000_000;
    let sec = rest / 1_000_000;
    let fsec = rest - sec * 1_000_000;

    let mut is_zero = true;
    let mut is_before = false;
    add_part(out, year, "year", &mut is_zero, &mut is_before);
    add_part(out, mon, "mon", &mut is_zero, &mut is_before);
    add_part(out, i64::from(day), "day", &mut is_zero, &mut is_before);
    if is_zero || hour != 0 || min != 0 || sec != 0 || fsec != 0 {
        let minus = hour < 0 || min < 0 || sec < 0 || fsec < 0;
        let _ = write!(
            out,
            "{}{}{:02}:{:02}:",
            if is_zero { "" } else { " " },
            if minus {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            },
            hour.unsigned_abs(),
            min.unsigned_abs()
        );
        append_seconds(out, sec, fsec);
    }
    Ok(())
}
