//! pglcr: read PostgreSQL write-ahead log offline.

pub mod apply;
pub mod archive;
pub mod catalog;
pub mod compare;
pub mod decode;
pub mod drill;
pub mod dump;
pub mod durable;
pub mod init;
pub mod lcr;
pub mod logical;
pub mod output;
pub mod pgconn;
pub mod retain;
pub mod rmgr;
pub mod ship;
pub mod spool;
pub mod status;
pub mod tuple;
pub mod units;
pub mod wal;
