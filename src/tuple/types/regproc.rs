//! The OID alias types that name catalog objects. Only `regnamespace` can be printed from the
//! catalog dictionary, which keeps `pg_namespace`; `regproc`, `regprocedure`, `regoper`,
//! `regoperator`, `regrole`, `regconfig`, `regdictionary` and `regcollation` need `pg_proc`,
//! `pg_operator`, `pg_authid`, `pg_ts_config`, `pg_ts_dict` or `pg_collation`, which it does
//! not hold, so their output stays unsupported (`regclass` and `regtype` are in `scalar`).

use crate::catalog::Catalog;

use super::scalar::quote_ident;
use super::{exact, Malformed};

/// `regnamespaceout`: `-` for 0, else the schema name as `quote_identifier` writes it.
pub fn regnamespace_out(catalog: &Catalog, v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let oid = u32::from_le_bytes(exact(v)?);
    if oid == 0 {
        out.push('-');
        return Ok(());
    }
    let ns = catalog
        .file
        .namespaces
        .iter()
        .find(|n| n.oid == oid)
        .ok_or_else(|| Malformed(format!("namespace oid {oid} is not in the catalog")))?;
    quote_ident(&ns.name, out);
    Ok(())
}
