//! The two sides of a diff: a DBML project, or a live database as its migrations leave it.

use super::plan;
use crate::catalog::{self, Options};
use crate::diag::Diagnostic;
use crate::ir::canonical::Database;
use crate::ir::model::QualifiedName;
use crate::migrate::file::Migration;
use crate::migrate::runner::{self};
use crate::migrate::tracking::{TableName, Tracking};
use crate::migrate::Status;
use std::fmt;

/// Whether a diagnostic stops an import: every error, and the PostgreSQL warnings that mean
/// the migration would fail (an unknown type, `increment` on a non-integer, two primary keys,
/// a foreign key between incomparable types, a default that does not fit, a bad type
/// modifier) or would never converge (a name over 63 bytes, which the server truncates).
/// `set null` on a NOT NULL column and a cycle of NOT NULL foreign keys are accepted by the
/// server (they fail only when rows are deleted or inserted), so they stay warnings.
pub fn blocking(d: &Diagnostic) -> bool {
    use crate::ir::codes::*;
    d.is_error()
        || [
            PG_UNKNOWN_TYPE,
            PG_INCREMENT_TYPE,
            PG_TWO_PRIMARY_KEYS,
            PG_NAME_TOO_LONG,
            PG_REF_TYPE_MISMATCH,
            PG_DEFAULT_TYPE,
            PG_BAD_MODIFIER,
            PG_NOT_AN_EXPRESSION,
            PG_DEFAULT_COLUMN_REF,
            PG_REF_NOT_UNIQUE,
        ]
        .contains(&d.code)
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

/// Enum types (not created in this transaction) that got values in it.
const ADDED_VALUES: &str = "SELECT DISTINCT n.nspname::text, t.typname::text
FROM pg_catalog.pg_enum e
JOIN pg_catalog.pg_type t ON t.oid = e.enumtypid
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = ANY($1::text[])
  AND e.xmin::text::bigint = txid_current() % 4294967296
  AND t.xmin::text::bigint <> txid_current() % 4294967296";

/// A value added with `ALTER TYPE … ADD VALUE` cannot be used in the transaction that added
/// it, and a provisional run of pending migrations is one transaction: the next migration
/// (split off for exactly this reason) would fail. So after each migration, the types that
/// got values are recreated in the transaction with the same values (see
/// `plan::recreate_enums`); the catalog then reads the same, and the values are usable.
pub fn recreate_new_values(
    tx: &mut postgres::Transaction<'_>,
    schemas: &[String],
) -> Result<(), String> {
    let rows = tx
        .query(ADDED_VALUES, &[&schemas])
        .map_err(|e| e.to_string())?;
    if rows.is_empty() {
        return Ok(());
    }
    let names: Vec<QualifiedName> = rows
        .iter()
        .map(|r| QualifiedName::new(r.get::<_, String>(0), r.get::<_, String>(1)))
        .collect();
    let options = Options {
        schemas: schemas.to_vec(),
        tracking_table: String::new(),
    };
    let db = catalog::introspect(tx, &options).map_err(|e| e.to_string())?;
    for sql in plan::recreate_enums(&db, &names) {
        tx.batch_execute(&sql).map_err(|e| format!("{sql}: {e}"))?;
    }
    Ok(())
}

/// Rewrites every sequence of `schemas` (identity columns' too) in `tx`, keeping its exact
/// state, so that what the pending migrations do to it is undone by the rollback.
///
/// `nextval` and `setval` are not transactional: a rollback keeps what they did. But since
/// PostgreSQL 10 an `ALTER SEQUENCE` that changes a parameter gives the sequence a new storage
/// file in the transaction, holding a copy of its state (`last_value`, `is_called`), and what
/// later `nextval`/`setval` calls of the transaction write there disappears with the file on
/// rollback. `INCREMENT BY` its current increment changes nothing else. So each sequence gets
/// `ALTER SEQUENCE … INCREMENT BY <its increment>` before any pending migration runs.
/// Cost: `ALTER SEQUENCE` takes a SHARE ROW EXCLUSIVE lock on each sequence until the dry
/// run's rollback, so concurrent `nextval` on those sequences waits for the dry run; the wait
/// for the lock is bounded by the session's `lock_timeout`. Only done when a pending migration
/// is about to run; needs ownership of the sequences (as the migrations themselves usually do).
pub fn pin_sequences(tx: &mut postgres::Transaction<'_>, schemas: &[String]) -> Result<(), String> {
    let fail = |e: postgres::Error| {
        format!(
            "pinning the managed schemas' sequences so that the dry run cannot move them: {}",
            runner::server_message(&e)
        )
    };
    let rows = tx
        .query(
            "SELECT n.nspname::text, c.relname::text, s.seqincrement \
               FROM pg_catalog.pg_sequence s \
               JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
              WHERE n.nspname = ANY($1::text[]) AND c.relpersistence <> 't' \
              ORDER BY 1, 2",
            &[&schemas],
        )
        .map_err(fail)?;
    let mut sql = String::new();
    for r in &rows {
        let name = crate::sql::QualifiedName::new(r.get::<_, String>(0), r.get::<_, String>(1));
        let increment: i64 = r.get(2);
        sql.push_str(&format!(
            "ALTER SEQUENCE {name} INCREMENT BY {increment};\n"
        ));
    }
    if !sql.is_empty() {
        tx.batch_execute(&sql).map_err(fail)?;
    }
    Ok(())
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
        Ok(Some(t)) => t.rows(tx).map_err(|e| LiveError::Database(e.to_string()))?,
        Ok(None) => Vec::new(),
        Err(e) => return Err(LiveError::Database(e.to_string())),
    };
    let mut ran = Vec::new();
    let mut guard = runner::TxGuard::new();
    let mut sequences_pinned = false;
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
        if !sequences_pinned {
            pin_sequences(tx, schemas).map_err(LiveError::Database)?;
            sequences_pinned = true;
        }
        runner::run_steps(
            tx,
            &file.file_name,
            &file.text,
            &file.up.steps,
            Some(&mut guard),
        )
        .map_err(|e| match e {
            runner::StepError::Failed(e) => LiveError::Pending(format!(
                "pending migration {} fails, so the import cannot tell what it would change: {e}; \
                 fix it, or remove it, and import again",
                file.file_name
            )),
            runner::StepError::Escaped(e) => LiveError::Pending(format!(
                "pending migration {} ended the provisional transaction at {}:{} (the statements \
                 before it MAY BE COMMITTED: check the database by hand); nothing after it ran",
                file.file_name, e.file, e.line
            )),
        })?;
        ran.push(file.id());
        recreate_new_values(tx, schemas).map_err(|e| {
            LiveError::Database(format!(
                "after pending migration {}: making its new enum values usable: {e}",
                file.file_name
            ))
        })?;
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
