//! Sizes as PostgreSQL settings spell them: a number with an optional unit `B`, `kB`, `MB`,
//! `GB` or `TB` (powers of 1024, case as PostgreSQL accepts it).

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
}
