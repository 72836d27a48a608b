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

/// HOOK for the catalog/diff engine (branch `cat`): compare the live schema, as seen inside
/// the update's transaction, with `schema_file` (`nself/schema.dbml`) and describe each
/// difference. Until that engine is merged this returns `None`, meaning "not compared", and
/// `db update` says so; it must then become: parse + check the DBML (`ir`), introspect the
/// managed schemas through `client` (`catalog`), `diff(&dbml, &live)` and map each change
/// (ignoring the tracking table) to a [`Problem`].
pub fn schema_drift(
    _client: &mut impl GenericClient,
    schema_file: &Path,
    _schemas: &[String],
) -> Option<Vec<Problem>> {
    let _ = schema_file;
    None
}
