//! Reading WAL: positions, versions, pages, records, segment files and record assembly.

pub mod crc;
pub mod image;
pub mod lsn;
pub mod page;
pub mod reader;
pub mod record;
pub mod segment;
pub mod version;
