//! The two sides of a diff: a DBML project, or a live database as its migrations leave it.

use crate::catalog::{self, Options};
use crate::diag::Diagnostic;
use crate::ir::canonical::Database;
use crate::migrate::file::Migration;
use crate::migrate::runner::{self};
use crate::migrate::tracking::{TableName, Tracking};
use crate::migrate::Status;
use std::fmt;

/// Whether a diagnostic stops an import: every error, and the PostgreSQL warnings (`W06xx`),
/// which `schema check` only warns about because the reference accepts the file, but which
/// would make the migration fail or mean something else than the DBML says.
pub fn blocking(d: &Diagnostic) -> bool {
    d.is_error() || d.code.starts_with("W06")
}

/// Why the live side could not be read.
#[derive(Debug)]
pub enum LiveError {
    Catalog(catalog::CatalogError),
    Database(String),
    /// A pending migration failed (or cannot run in a transaction).
    Pending(String),
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveError::Catalog(e) => e.fmt(f),
            LiveError::Database(m) | LiveError::Pending(m) => f.write_str(m),
        }
    }
}

/// The managed schemas of `db` read inside `tx`, after running the UP section of every
/// pending migration in `files` there. The caller rolls `tx` back, so nothing is applied; the
/// point is that importing twice before migrating does not produce the same migration twice.
/// Returns the schema and the ids of the pending migrations that were run.
pub fn live_with_pending(
    tx: &mut postgres::Transaction<'_>,
    files: &[Migration],
    table: &TableName,
    schemas: &[String],
) -> Result<(Database, Vec<String>), LiveError> {
    let rows = match Tracking::inspect(tx, table) {
        Ok(Some(t)) => t
            .rows(tx)
            .map_err(|e| LiveError::Database(e.to_string()))?,
        Ok(None) => Vec::new(),
        Err(e) => return Err(LiveError::Database(e.to_string())),
    };
    let mut ran = Vec::new();
    for entry in runner::plan(files, &rows) {
        let Some(file) = entry.file else { continue };
        if entry.status != Status::Pending {
            continue;
        }
        if file.no_transaction {
            return Err(LiveError::Pending(format!(
                "pending migration {} runs outside a transaction, so the import cannot apply it \
                 provisionally; apply it first with `nself db migrate up`",
                file.file_name
            )));
        }
        runner::run_steps(tx, &file.file_name, &file.text, &file.up.steps).map_err(|e| {
            LiveError::Pending(format!(
                "pending migration {} fails, so the import cannot tell what it would change: {e}; \
                 fix it, or remove it, and import again",
                file.file_name
            ))
        })?;
        ran.push(file.id());
    }
    let options = Options {
        schemas: schemas.to_vec(),
        tracking_table: if table.schema == "public" {
            table.name.clone()
        } else {
            catalog::DEFAULT_TRACKING_TABLE.to_owned()
        },
    };
    let db = catalog::introspect(tx, &options).map_err(LiveError::Catalog)?;
    Ok((db, ran))
}
