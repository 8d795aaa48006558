//! LCR (logical change record) files: decoded transactions in commit order, in sub-segment
//! files named like BDR's, self-describing and checksummed (`man/pglcr-lcr.5`).

pub mod format;
pub mod inspect;
pub mod reader;
pub mod writer;

pub use reader::{LcrError, LcrFile};

/// An LCR file name: 8 hex digits of timeline, 16 of the WAL segment number whose commits the
/// file holds, 16 of the sub-segment number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LcrName {
    pub timeline: u32,
    pub segno: u64,
    pub subseg: u64,
}

impl LcrName {
    pub fn parse(name: &str) -> Option<LcrName> {
        if name.len() != 40 || !name.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        Some(LcrName {
            timeline: u32::from_str_radix(&name[..8], 16).ok()?,
            segno: u64::from_str_radix(&name[8..24], 16).ok()?,
            subseg: u64::from_str_radix(&name[24..], 16).ok()?,
        })
    }
}

impl std::fmt::Display for LcrName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:08X}{:016X}{:016X}",
            self.timeline, self.segno, self.subseg
        )
    }
}

/// The LCR files of a directory, in name order (names that are not LCR file names are left
/// out).
pub fn list_dir(dir: &std::path::Path) -> std::io::Result<Vec<(LcrName, std::path::PathBuf)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(name) = entry.file_name().to_str().and_then(LcrName::parse) {
            if entry.file_type()?.is_file() {
                files.push((name, entry.path()));
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let n = LcrName {
            timeline: 1,
            segno: 0x2A,
            subseg: 3,
        };
        assert_eq!(n.to_string(), "00000001000000000000002A0000000000000003");
        assert_eq!(LcrName::parse(&n.to_string()), Some(n));
        assert_eq!(
            LcrName::parse("00000001000000000000002A000000000000000"),
            None
        );
        assert_eq!(
            LcrName::parse("00000001000000000000002A000000000000000G"),
            None
        );
    }
}
