//! Sizes and durations as PostgreSQL settings spell them: a number with an optional unit,
//! `B`, `kB`, `MB`, `GB` or `TB` for sizes (powers of 1024), `us`, `ms`, `s`, `min`, `h` or `d`
//! for durations (a bare number counts in the setting's own unit); case as PostgreSQL accepts
//! it.

pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid size \"{text}\": expected a number with an optional unit"))?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "kB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        "TB" => 1 << 40,
        u => {
            return Err(format!(
                "invalid size unit \"{u}\" in \"{text}\": valid units are B, kB, MB, GB and TB"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size \"{text}\" is too large"))
}

/// A duration; a bare number counts in `bare_unit`, as a PostgreSQL time setting counts in its
/// own unit (milliseconds for `recovery_min_apply_delay`, seconds for `checkpoint_timeout`).
pub fn parse_duration(
    text: &str,
    bare_unit: std::time::Duration,
) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| {
        format!("invalid duration \"{text}\": expected a number with an optional unit")
    })?;
    let micros: u64 = match unit.trim() {
        "" => bare_unit.as_micros() as u64,
        "us" => 1,
        "ms" => 1_000,
        "s" => 1_000_000,
        "min" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        u => {
            return Err(format!(
            "invalid duration unit \"{u}\" in \"{text}\": valid units are us, ms, s, min, h and d"
        ))
        }
    };
    n.checked_mul(micros)
        .map(std::time::Duration::from_micros)
        .ok_or_else(|| format!("duration \"{text}\" is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256MB"), Ok(256 << 20));
        assert_eq!(parse_size("1 GB"), Ok(1 << 30));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64kB"), Ok(64 << 10));
        assert!(parse_size("12mb").is_err());
        assert!(parse_size("MB").is_err());
        assert!(parse_size("99999999999TB").is_err());
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        let ms = |t| parse_duration(t, Duration::from_millis(1));
        assert_eq!(ms("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(ms("5min"), Ok(Duration::from_secs(300)));
        assert_eq!(ms("1 h"), Ok(Duration::from_secs(3600)));
        assert_eq!(ms("1d"), Ok(Duration::from_secs(86400)));
        assert_eq!(ms("250"), Ok(Duration::from_millis(250)));
        assert!(ms("5m").is_err());
        assert!(ms("1S").is_err());
        assert!(ms("s").is_err());
    }
}
