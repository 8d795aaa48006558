//! `pglcr catalog export`: run `sql/catalog-export.sql` on a live server and return the
//! dictionary it produces.

use std::path::Path;

use super::{Catalog, CatalogError};
use crate::pgconn::{self, ConnError, ConnParams, Target};

/// The export script, exactly as psql runs it (`BEGIN ISOLATION LEVEL REPEATABLE READ READ
/// ONLY; SELECT …; COMMIT;`).
pub const EXPORT_SQL: &str = include_str!("../../sql/catalog-export.sql");

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Connect(#[from] ConnError),
    #[error("catalog export query failed on {target}: {message}")]
    Query { target: Target, message: String },
    #[error("catalog export query on {target} returned {rows} rows; expected one JSON value")]
    Result { target: Target, rows: usize },
    #[error("the server's catalog export is not a valid dictionary: {0}")]
    Invalid(CatalogError),
}

/// An exported dictionary: its JSON text (as psql would print it) and the loaded form.
#[derive(Debug)]
pub struct Export {
    pub json: String,
    pub catalog: Catalog,
    /// The server it was taken from.
    pub target: Target,
}

/// The script's statements, comments left out.
fn statements() -> Vec<String> {
    let code = EXPORT_SQL
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    code.split(";\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Connects with `params`, runs the export script in one REPEATABLE READ READ ONLY
/// transaction and checks that the result loads.
pub fn export(params: &ConnParams) -> Result<Export, ExportError> {
    let (mut client, target) = params.connect()?;
    run_script(&mut client, target, EXPORT_SQL)
}

/// Runs the export query in a transaction that uses an exported snapshot (`pg_export_snapshot`,
/// or a slot's), so that the dictionary describes the database as that snapshot sees it.
pub fn export_with_snapshot(
    client: &mut postgres::Client,
    target: &Target,
    snapshot: &str,
) -> Result<Export, ExportError> {
    let select = statements()
        .into_iter()
        .find(|s| s.starts_with("SELECT "))
        .expect("the export script has a SELECT");
    let script = format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSET TRANSACTION SNAPSHOT '{}';\n{select};\nCOMMIT;",
        snapshot.replace('\'', "''")
    );
    run_script(client, target.clone(), &script)
}

fn run_script(
    client: &mut postgres::Client,
    target: Target,
    script: &str,
) -> Result<Export, ExportError> {
    let messages = client
        .simple_query(script)
        .map_err(|e| ExportError::Query {
            target: target.clone(),
            message: pgconn::error_text(&e),
        })?;
    let values: Vec<Option<String>> = messages
        .iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_string)),
            _ => None,
        })
        .collect();
    let json = match values.as_slice() {
        [Some(v)] => v.clone(),
        _ => {
            return Err(ExportError::Result {
                target,
                rows: values.len(),
            })
        }
    };
    let catalog =
        Catalog::from_json(&json, Path::new("(server output)")).map_err(ExportError::Invalid)?;
    Ok(Export {
        json,
        catalog,
        target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_is_one_read_only_repeatable_read_transaction() {
        let statements = statements();
        assert_eq!(statements.len(), 3, "{statements:#?}");
        assert_eq!(
            statements[0],
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        );
        assert!(statements[1].starts_with("SELECT "));
        assert_eq!(statements[2].trim_end_matches(';'), "COMMIT");
    }
}
