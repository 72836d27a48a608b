//! `nself db mock`: fills the live schema with realistic rows that satisfy it, reproducibly,
//! and takes them out again.
//!
//! The pipeline: the catalog reader's canonical schema and a few [`plan::Facts`]
//! ([`read_facts`]) → [`plan::plan`] (counts, order, a generator per column, deferred foreign
//! keys; pure) → [`run::insert`] (one transaction, COPY in batches, parents first) → the
//! record in `.nself/mock.json` ([`state`]). `--clear` is [`run::clear`] over the recorded
//! transactions. The CLI (`cli::mock`) does the environment rules, the output and the
//! progress bars; nothing here prints.
//!
//! Reproducible: the same seed, schema, counts and rows already there give byte-identical
//! table contents on any machine (ChaCha8 per table, parent keys read in a collation-free
//! order, no clock). Values never come from the server's volatile defaults (`now()`,
//! `gen_random_uuid()`): mock makes them; identity and serial columns are the database's.

pub mod checks;
pub mod plan;
pub mod run;
pub mod state;
pub mod value;

use crate::ir::canonical::Database;
use crate::ir::model::QualifiedName;
use crate::sql::QualifiedName as Q;
use postgres::GenericClient;

/// Reads what the plan needs beyond the canonical schema: stored generated columns, domains'
/// base types, and the rows already in each table.
pub fn read_facts(
    client: &mut impl GenericClient,
    db: &Database,
    schemas: &[String],
) -> Result<plan::Facts, postgres::Error> {
    let mut facts = plan::Facts::default();
    for row in client.query(
        "SELECT n.nspname::text, c.relname::text, a.attname::text \
         FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE a.attgenerated <> '' AND a.attnum > 0 AND NOT a.attisdropped \
           AND n.nspname = ANY($1)",
        &[&schemas],
    )? {
        facts.generated.insert((
            QualifiedName::new(row.get::<_, String>(0), row.get::<_, String>(1)),
            row.get(2),
        ));
    }
    for row in client.query(
        "SELECT n.nspname::text, t.typname::text, \
                pg_catalog.format_type(t.typbasetype, t.typtypmod) \
         FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
         WHERE t.typtype = 'd'",
        &[],
    )? {
        let base: String = row.get(2);
        if let Ok(b) = crate::ir::pgtypes::parse(&base) {
            facts.domains.insert(
                QualifiedName::new(row.get::<_, String>(0), row.get::<_, String>(1)),
                b.ty,
            );
        }
    }
    for t in &db.tables {
        let n: i64 = client
            .query_one(
                &format!(
                    "SELECT count(*) FROM {}",
                    Q::new(t.name.schema.as_str(), t.name.name.as_str())
                ),
                &[],
            )?
            .get(0);
        facts.rows.insert(t.name.clone(), n.max(0) as u64);
    }
    Ok(facts)
}
