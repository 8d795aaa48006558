//! The manifest a destination keeps beside the LCR files, `pglcr.manifest`: one line per file
//! the destination holds, so that a receiver can check what it has with standard tools:
//!
//! ```text
//! # pglcr ship manifest 1: name size sha256 first_lsn last_lsn
//! 0000000100000000000000030000000000000001  65498  9f86d0…  0/3000148  0/30F2A10
//! ```
//!
//! Fields are separated by one tab. A run appends the lines of the files it ships, so a name
//! listed twice means its last line. Plain text rather than JSON so that
//! `awk -F'\t' '!/^#/ {print $3"  "$1}' pglcr.manifest | sha256sum -c` checks a directory
//! without pglcr installed.

use std::collections::BTreeMap;

use crate::wal::lsn::Lsn;

pub const MANIFEST_FILE: &str = "pglcr.manifest";
const HEADER: &str = "# pglcr ship manifest 1: name size sha256 first_lsn last_lsn";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub size: u64,
    /// Lowercase hex SHA-256 of the file, as sha256sum prints it.
    pub sha256: String,
    pub first_lsn: Lsn,
    pub last_lsn: Lsn,
}

/// The entries by LCR file name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest(pub BTreeMap<String, Entry>);

impl Manifest {
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(64 + self.0.len() * 140);
        text.push_str(HEADER);
        text.push('\n');
        for (name, e) in &self.0 {
            text.push_str(&line(name, e));
        }
        text
    }

    /// Parses a manifest; the error names the line and what is wrong with it.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, HEADER)) => {}
            Some((_, first)) => {
                return Err(format!(
                    "line 1: expected \"{HEADER}\", found \"{}\"",
                    first.chars().take(80).collect::<String>()
                ))
            }
            None => return Err("the file is empty".to_string()),
        }
        let mut entries = BTreeMap::new();
        for (i, line) in lines {
            let bad = |what: &str| format!("line {}: {what}: \"{line}\"", i + 1);
            let fields: Vec<&str> = line.split('\t').collect();
            let [name, size, sha256, first, last] = fields[..] else {
                return Err(bad("expected 5 tab-separated fields"));
            };
            if crate::lcr::LcrName::parse(name).is_none() {
                return Err(bad("invalid LCR file name"));
            }
            if sha256.len() != 64
                || !sha256
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            {
                return Err(bad("invalid SHA-256"));
            }
            let entry = Entry {
                size: size.parse().map_err(|_| bad("invalid size"))?,
                sha256: sha256.to_string(),
                first_lsn: first.parse().map_err(|_| bad("invalid first LSN"))?,
                last_lsn: last.parse().map_err(|_| bad("invalid last LSN"))?,
            };
            entries.insert(name.to_string(), entry);
        }
        Ok(Manifest(entries))
    }
}

/// The manifest line of one file.
pub fn line(name: &str, e: &Entry) -> String {
    format!(
        "{name}\t{}\t{}\t{}\t{}\n",
        e.size, e.sha256, e.first_lsn, e.last_lsn
    )
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// A digest as lower-case hexadecimal, as sha256sum prints it.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let mut m = Manifest::default();
        m.0.insert(
            "0000000100000000000000030000000000000001".to_string(),
            Entry {
                size: 65498,
                sha256: sha256_hex(b"abc"),
                first_lsn: Lsn(0x3000148),
                last_lsn: Lsn(0x30F2A10),
            },
        );
        let text = m.render();
        assert!(text.contains(
            "0000000100000000000000030000000000000001\t65498\tba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\t0/3000148\t0/30F2A10\n"
        ));
        assert_eq!(Manifest::parse(&text), Ok(m));
        assert!(Manifest::parse("").is_err());
        let err = Manifest::parse(&text.replace("\t65498", "\tx")).unwrap_err();
        assert!(err.starts_with("line 2: invalid size"), "{err}");
        assert!(Manifest::parse(&text.replace("ba78", "BA78")).is_err());
    }
}
