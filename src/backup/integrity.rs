//! `db update`'s integrity check, run inside the update's transaction before it commits: no
//! constraint left `NOT VALID` (`pg_constraint.convalidated`) and no invalid index
//! (`pg_index.indisvalid`) in the managed schemas, and — once the catalog/diff engine lands —
//! the live schema equal to `nself/schema.dbml` (see [`schema_drift`]). One query per object kind.

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

/// The live schema, as seen inside the update's transaction, compared with `schema_file`
/// (`nself/schema.dbml`): one [`Problem`] per difference, in the words of `schema diff`.
/// `None` when there is no such file (nothing to compare). A file with errors is a problem
/// itself: the update cannot claim the schema matches it.
pub fn schema_drift(
    client: &mut impl GenericClient,
    schema_file: &Path,
    schemas: &[String],
) -> Option<Vec<Problem>> {
    if !schema_file.is_file() {
        return None;
    }
    let project = match crate::ir::load_project(schema_file) {
        Ok(p) => p,
        Err(e) => {
            return Some(vec![Problem(format!(
                "cannot read {}: {e}",
                schema_file.display()
            ))])
        }
    };
    if project
        .diagnostics
        .iter()
        .any(crate::diff::source::blocking)
    {
        return Some(vec![Problem(format!(
            "{} has errors, so the live schema cannot be compared with it; run `nself db schema check {}`",
            schema_file.display(),
            schema_file.display()
        ))]);
    }
    let mut desired = crate::ir::canonical::canonicalize(&project.schema);
    let mut managed: Vec<String> = schemas.to_vec();
    for s in &desired.schemas {
        if !managed.contains(s) {
            managed.push(s.clone());
        }
    }
    let options = crate::catalog::Options {
        schemas: managed,
        ..crate::catalog::Options::default()
    };
    let live = match crate::catalog::introspect(client, &options) {
        Ok(db) => db,
        Err(e) => return Some(vec![Problem(format!("reading the live schema: {e}"))]),
    };
    if let Err(e) = crate::diff::normalize::with_server(client, &mut desired, &live) {
        return Some(vec![Problem(format!("comparing expressions: {e}"))]);
    }
    let (changes, _) = crate::diff::migration::changes(&desired, &live, &[]);
    Some(
        changes
            .iter()
            .map(|c| {
                Problem(format!(
                    "the live schema differs from {}: {}",
                    schema_file.display(),
                    c.summary()
                ))
            })
            .collect(),
    )
}
