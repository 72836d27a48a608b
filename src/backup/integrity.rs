//! `db update`'s integrity check, run inside the update's transaction before it commits: no
//! constraint left `NOT VALID` (`pg_constraint.convalidated`) and no invalid index
//! (`pg_index.indisvalid`) in the managed schemas; and [`schema_drift`], the live schema
//! against `nself/schema.dbml` (a warning for `db update` unless `--strict`, a line of
//! `db status`). One query per object kind.

use postgres::GenericClient;
use std::path::Path;

/// One thing the check found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem(pub String);

/// Constraints not validated and invalid indexes in `schemas`.
pub fn check(
    client: &mut impl GenericClient,
    schemas: &[String],
) -> Result<Vec<Problem>, postgres::Error> {
    let mut out = Vec::new();
    for row in client.query(
        "SELECT n.nspname::text, c.relname::text, k.conname::text \
           FROM pg_constraint k \
           JOIN pg_class c ON c.oid = k.conrelid \
           JOIN pg_namespace n ON n.oid = c.relnamespace \
          WHERE n.nspname = ANY($1) AND NOT k.convalidated \
          ORDER BY 1, 2, 3",
        &[&schemas],
    )? {
        let (nsp, table, name): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        out.push(Problem(format!(
            "constraint {name} on {nsp}.{table} is NOT VALID (existing rows were never checked); \
             run ALTER TABLE … VALIDATE CONSTRAINT in a migration"
        )));
    }
    for row in client.query(
        "SELECT n.nspname::text, i.relname::text, t.relname::text \
           FROM pg_index x \
           JOIN pg_class i ON i.oid = x.indexrelid \
           JOIN pg_class t ON t.oid = x.indrelid \
           JOIN pg_namespace n ON n.oid = i.relnamespace \
          WHERE n.nspname = ANY($1) AND NOT x.indisvalid \
          ORDER BY 1, 2",
        &[&schemas],
    )? {
        let (nsp, index, table): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        out.push(Problem(format!(
            "index {nsp}.{index} on {table} is invalid (a failed CREATE INDEX CONCURRENTLY?); \
             drop and create it again"
        )));
    }
    Ok(out)
}

/// How the live schema compares with the schema file.
#[derive(Clone, Debug)]
pub enum Drift {
    /// Compared: what would change in the database to match the file (empty: they match),
    /// in the order and form [`crate::diff::report`] lists.
    Compared {
        changes: Vec<crate::diff::Change>,
        hints: Vec<crate::diff::RenameHint>,
    },
    /// Could not be compared, and why (the file has errors, the catalog could not be read).
    NotCompared(String),
}

/// The live schema, as seen by `client` (inside the update's transaction, for `db update`),
/// compared with `schema_file` (`nself/schema.dbml`), the database being the side that would
/// change. `None` when there is no such file (nothing to compare). A file with errors is not
/// compared: nothing can be claimed about it.
pub fn schema_drift(
    client: &mut impl GenericClient,
    schema_file: &Path,
    schemas: &[String],
    tracking_table: &str,
) -> Option<Drift> {
    if !schema_file.is_file() {
        return None;
    }
    let project = match crate::ir::load_project(schema_file) {
        Ok(p) => p,
        Err(e) => {
            return Some(Drift::NotCompared(format!(
                "cannot read {}: {e}",
                schema_file.display()
            )))
        }
    };
    if project
        .diagnostics
        .iter()
        .any(crate::diff::source::blocking)
        || project.diagnostics.len() != project.diagnostics.total()
    {
        return Some(Drift::NotCompared(format!(
            "{} has errors, so the live schema cannot be compared with it; run `nself db schema check {}`",
            schema_file.display(),
            schema_file.display()
        )));
    }
    let mut desired = crate::ir::canonical::canonicalize(&project.schema);
    let mut managed: Vec<String> = schemas.to_vec();
    if !managed.iter().any(|s| s == "public") {
        managed.insert(0, "public".to_owned());
    }
    for s in &desired.schemas {
        if !managed.contains(s) {
            managed.push(s.clone());
        }
    }
    let options = crate::catalog::Options {
        schemas: managed,
        tracking_table: tracking_table.to_owned(),
    };
    let live = match crate::catalog::introspect(client, &options) {
        Ok(db) => db,
        Err(e) => return Some(Drift::NotCompared(format!("reading the live schema: {e}"))),
    };
    if let Err(e) = crate::diff::normalize::with_server(client, &mut desired, &live) {
        return Some(Drift::NotCompared(format!("comparing expressions: {e}")));
    }
    let (changes, hints) = crate::diff::migration::changes(&desired, &live, &[]);
    Some(Drift::Compared { changes, hints })
}
