//! The PostgreSQL major version a WAL page was written by, and every per-version constant the
//! parsers need. Version differences live here as data so the parsers stay free of version `if`s.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PgVersion {
    V13,
    V14,
    V15,
    V16,
    V17,
    V18,
}

/// Versions whose pg_waldump output has been compared byte for byte against this tool's output.
pub const VERIFIED: &[PgVersion] = &[PgVersion::V15, PgVersion::V16, PgVersion::V18];

/// Full-page image flag bits (`bimg_info`), which were renumbered in PostgreSQL 15.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageFlags {
    pub has_hole: u8,
    pub apply: u8,
    pub pglz: u8,
    pub lz4: u8,
    pub zstd: u8,
}

const IMAGE_FLAGS_13: ImageFlags = ImageFlags {
    has_hole: 0x01,
    apply: 0x04,
    pglz: 0x02,
    lz4: 0,
    zstd: 0,
};

const IMAGE_FLAGS_15: ImageFlags = ImageFlags {
    has_hole: 0x01,
    apply: 0x02,
    pglz: 0x04,
    lz4: 0x08,
    zstd: 0x10,
};

impl PgVersion {
    pub const ALL: [PgVersion; 6] = [
        PgVersion::V13,
        PgVersion::V14,
        PgVersion::V15,
        PgVersion::V16,
        PgVersion::V17,
        PgVersion::V18,
    ];

    /// `XLOG_PAGE_MAGIC` of each major version.
    pub fn page_magic(self) -> u16 {
        match self {
            PgVersion::V13 => 0xD106,
            PgVersion::V14 => 0xD10D,
            PgVersion::V15 => 0xD110,
            PgVersion::V16 => 0xD113,
            PgVersion::V17 => 0xD116,
            PgVersion::V18 => 0xD118,
        }
    }

    pub fn from_page_magic(magic: u16) -> Option<PgVersion> {
        PgVersion::ALL.into_iter().find(|v| v.page_magic() == magic)
    }

    pub fn major(self) -> u32 {
        match self {
            PgVersion::V13 => 13,
            PgVersion::V14 => 14,
            PgVersion::V15 => 15,
            PgVersion::V16 => 16,
            PgVersion::V17 => 17,
            PgVersion::V18 => 18,
        }
    }

    /// `CATALOG_VERSION_NO`, part of tablespace paths (`pg_tblspc/…/PG_15_202209061/…`).
    pub fn catalog_version(self) -> u32 {
        match self {
            PgVersion::V13 => 202007201,
            PgVersion::V14 => 202107181,
            PgVersion::V15 => 202209061,
            PgVersion::V16 => 202307071,
            PgVersion::V17 => 202406281,
            PgVersion::V18 => 202506291,
        }
    }

    pub fn image_flags(self) -> ImageFlags {
        if self >= PgVersion::V15 {
            IMAGE_FLAGS_15
        } else {
            IMAGE_FLAGS_13
        }
    }

    /// Block id 252 (`XLR_BLOCK_ID_TOPLEVEL_XID`) exists from 14 on.
    pub fn has_toplevel_xid_block(self) -> bool {
        self >= PgVersion::V14
    }

    /// Custom resource managers (ids 128–255) exist from 15 on.
    pub fn has_custom_rmgrs(self) -> bool {
        self >= PgVersion::V15
    }

    pub fn verified(self) -> bool {
        VERIFIED.contains(&self)
    }
}

impl fmt::Display for PgVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.major())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_round_trip() {
        for v in PgVersion::ALL {
            assert_eq!(PgVersion::from_page_magic(v.page_magic()), Some(v));
        }
        assert_eq!(PgVersion::from_page_magic(0xD120), None);
    }

    /// XLOG_PAGE_MAGIC of each major and the bimg_info bits (wal-format.md §1.1, §3.2, §8).
    #[test]
    fn documented_magics_and_image_bits() {
        let magics = [
            (0xD106, PgVersion::V13),
            (0xD10D, PgVersion::V14),
            (0xD110, PgVersion::V15),
            (0xD113, PgVersion::V16),
            (0xD116, PgVersion::V17),
            (0xD118, PgVersion::V18),
        ];
        for (magic, v) in magics {
            assert_eq!(PgVersion::from_page_magic(magic), Some(v));
        }
        // 13/14: HAS_HOLE 0x01, IS_COMPRESSED (pglz) 0x02, APPLY 0x04; no lz4/zstd.
        for v in [PgVersion::V13, PgVersion::V14] {
            let f = v.image_flags();
            assert_eq!(
                (f.has_hole, f.pglz, f.apply, f.lz4, f.zstd),
                (1, 2, 4, 0, 0)
            );
        }
        // 15+: HAS_HOLE 0x01, APPLY 0x02, PGLZ 0x04, LZ4 0x08, ZSTD 0x10.
        for v in [
            PgVersion::V15,
            PgVersion::V16,
            PgVersion::V17,
            PgVersion::V18,
        ] {
            let f = v.image_flags();
            assert_eq!(
                (f.has_hole, f.apply, f.pglz, f.lz4, f.zstd),
                (1, 2, 4, 8, 16)
            );
        }
        // Block id 252 from 14, custom rmgrs from 15 (§8).
        assert!(!PgVersion::V13.has_toplevel_xid_block());
        assert!(PgVersion::V14.has_toplevel_xid_block());
        assert!(!PgVersion::V14.has_custom_rmgrs());
        assert!(PgVersion::V15.has_custom_rmgrs());
    }
}
