//! pglcr: read PostgreSQL write-ahead log offline.

pub mod catalog;
pub mod dump;
pub mod rmgr;
pub mod wal;
