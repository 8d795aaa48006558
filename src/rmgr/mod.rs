//! Resource managers: the name, record-type identification and description text of every
//! record, identical to what pg_waldump of the record's PostgreSQL version prints.
//!
//! Each resource manager has its own module with two functions:
//! `identify(info, version) -> Option<&'static str>` (pg_waldump's `rm_identify`, `None` where
//! it returns NULL) and `describe(rec, out) -> Result<(), DescError>` (`rm_desc`).

pub mod data;
pub mod fmt;

mod brin;
mod btree;
mod clog;
mod commit_ts;
mod dbase;
mod generic;
mod gin;
mod gist;
mod hash;
mod heap;
mod heap2;
pub mod logicalmsg;
mod multixact;
mod relmap;
mod replorigin;
mod seq;
mod smgr;
mod spgist;
pub mod standby;
mod tblspc;
#[cfg(test)]
mod version_tests;
pub mod xact;
mod xlog;

pub(crate) mod common;

use crate::wal::record::Record;
use crate::wal::version::PgVersion;

pub use data::Data;

/// Why a record's payload could not be described.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DescError {
    #[error("{what} too short: needed {needed} bytes, found {got}")]
    Short {
        what: &'static str,
        needed: usize,
        got: usize,
    },
    #[error("{what}: string is not NUL-terminated")]
    Unterminated { what: &'static str },
    #[error("{0}")]
    Invalid(String),
}

type IdentifyFn = fn(u8, PgVersion) -> Option<&'static str>;
type DescribeFn = fn(&Record<'_>, &mut String) -> Result<(), DescError>;

/// One built-in resource manager (`RmgrData` as pg_waldump sees it).
pub struct Rmgr {
    pub id: u8,
    pub name: &'static str,
    pub identify: IdentifyFn,
    pub describe: DescribeFn,
}

macro_rules! rmgr {
    ($id:expr, $name:expr, $module:ident) => {
        Rmgr {
            id: $id,
            name: $name,
            identify: $module::identify,
            describe: $module::describe,
        }
    };
}

/// Built-in resource managers, ids 0–21 (the same in PostgreSQL 13–18).
pub static BUILTIN: [Rmgr; 22] = [
    rmgr!(0, "XLOG", xlog),
    rmgr!(1, "Transaction", xact),
    rmgr!(2, "Storage", smgr),
    rmgr!(3, "CLOG", clog),
    rmgr!(4, "Database", dbase),
    rmgr!(5, "Tablespace", tblspc),
    rmgr!(6, "MultiXact", multixact),
    rmgr!(7, "RelMap", relmap),
    rmgr!(8, "Standby", standby),
    rmgr!(9, "Heap2", heap2),
    rmgr!(10, "Heap", heap),
    rmgr!(11, "Btree", btree),
    rmgr!(12, "Hash", hash),
    rmgr!(13, "Gin", gin),
    rmgr!(14, "Gist", gist),
    rmgr!(15, "Sequence", seq),
    rmgr!(16, "SPGist", spgist),
    rmgr!(17, "BRIN", brin),
    rmgr!(18, "CommitTs", commit_ts),
    rmgr!(19, "ReplicationOrigin", replorigin),
    rmgr!(20, "Generic", generic),
    rmgr!(21, "LogicalMessage", logicalmsg),
];

pub const RM_MAX_BUILTIN_ID: u8 = 21;
pub const RM_MIN_CUSTOM_ID: u8 = 128;

/// Whether a record header's rmid is acceptable for the WAL's version (`RmgrIdIsValid`).
pub fn rmid_is_valid(rmid: u8, version: PgVersion) -> bool {
    rmid <= RM_MAX_BUILTIN_ID || (version.has_custom_rmgrs() && rmid >= RM_MIN_CUSTOM_ID)
}

pub fn builtin(rmid: u8) -> Option<&'static Rmgr> {
    BUILTIN.get(usize::from(rmid))
}

/// pg_waldump's name for a resource manager, including `custom%03d` for custom ids.
pub fn name(rmid: u8) -> std::borrow::Cow<'static, str> {
    match builtin(rmid) {
        Some(r) => r.name.into(),
        None => format!("custom{rmid:03}").into(),
    }
}

/// Writes `identify` (or `UNKNOWN (%x)`), a space, then the description, as pg_waldump does
/// after `desc: `.
pub fn write_description(rec: &Record<'_>, out: &mut String) -> Result<(), DescError> {
    use std::fmt::Write;
    match builtin(rec.rmid()) {
        Some(r) => {
            match (r.identify)(rec.info(), rec.version) {
                Some(id) => out.push_str(id),
                None => {
                    let _ = write!(out, "UNKNOWN ({:x})", rec.info() & 0xF0);
                }
            }
            out.push(' ');
            (r.describe)(rec, out)
        }
        None => {
            let _ = write!(
                out,
                "UNKNOWN ({:x}) rmid: {}",
                rec.info() & 0xF0,
                rec.rmid()
            );
            Ok(())
        }
    }
}
