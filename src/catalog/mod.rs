//! Reading a live database's schema into the canonical form ([`crate::ir::canonical`]).
//!
//! [`introspect`] issues exactly [`QUERY_COUNT`] queries whatever the number of tables: one
//! per object kind (enum types, tables, columns, constraints, indexes), each filtered by the
//! managed schemas and joined in the server, never a query inside a loop over tables. Objects
//! that belong to an extension, system schemas (they are never managed) and the migration
//! tracking table are left out. Names come back as the server stores them; types through
//! `format_type` and [`pgtypes::parse`]; defaults, CHECK expressions, index expressions and
//! predicates as `pg_get_expr`/`pg_get_indexdef` print them. This module only reads: it never
//! changes the database and never prints.

use crate::ir::canonical::{
    CheckConstraint, Column, Database, Enum, Expr, ForeignKey, Generated, Index, IndexKey, Key,
    Table,
};
use crate::ir::model::{QualifiedName, RefAction};
use crate::ir::pgtypes::{self, PgType};
use postgres::GenericClient;
use rustc_hash::FxHashMap;
use std::fmt;

/// The number of queries [`introspect`] issues.
pub const QUERY_COUNT: usize = 5;

/// The tracking table's name when the project does not configure another.
pub const DEFAULT_TRACKING_TABLE: &str = "schema_migrations";

/// What to read.
#[derive(Clone, Debug)]
pub struct Options {
    /// The managed schemas (`public` plus those asked for).
    pub schemas: Vec<String>,
    /// The migration tracking table in `public`, left out of the result.
    pub tracking_table: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            schemas: vec!["public".to_owned()],
            tracking_table: DEFAULT_TRACKING_TABLE.to_owned(),
        }
    }
}

/// A failed catalog query.
#[derive(Debug)]
pub struct CatalogError {
    /// What was being read (`reading columns`).
    pub what: &'static str,
    pub source: postgres::Error,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = match self.source.as_db_error() {
            Some(db) => db.message().to_owned(),
            None => self.source.to_string(),
        };
        write!(f, "{}: {reason}", self.what)
    }
}

impl std::error::Error for CatalogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn query(
    client: &mut impl GenericClient,
    what: &'static str,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<Vec<postgres::Row>, CatalogError> {
    client
        .query(sql, params)
        .map_err(|source| CatalogError { what, source })
}

fn get<'a, T: postgres::types::FromSql<'a>>(
    row: &'a postgres::Row,
    idx: usize,
    what: &'static str,
) -> Result<T, CatalogError> {
    row.try_get(idx)
        .map_err(|source| CatalogError { what, source })
}

/// The relations that count as managed tables: ordinary and partitioned tables (not
/// partitions) in the managed schemas, not owned by an extension, not the tracking table.
/// Every query below restricts itself to these through this common table expression.
const MANAGED: &str = "WITH managed AS (
  SELECT c.oid, n.nspname, c.relname
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname = ANY($1::text[])
    AND NOT (n.nspname = 'public' AND c.relname = $2::text)
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype = 'e'))
";

const ENUMS: &str = "SELECT n.nspname::text, t.typname::text,
  array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid
WHERE n.nspname = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid
                    AND d.deptype = 'e')
GROUP BY n.nspname, t.typname";

const TABLES: &str = "SELECT m.oid, m.nspname::text, m.relname::text, d.description
FROM managed m
LEFT JOIN pg_catalog.pg_description d
  ON d.objoid = m.oid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0";

const COLUMNS: &str = "SELECT a.attrelid, a.attname::text,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  NOT a.attnotnull,
  pg_catalog.pg_get_expr(ad.adbin, ad.adrelid),
  a.attidentity::text,
  et.typtype::text, etn.nspname::text, et.typname::text,
  t.typcategory = 'A' AND t.typelem <> 0,
  seq.refobjid IS NOT NULL,
  d.description,
  a.attnum
FROM managed m
JOIN pg_catalog.pg_attribute a ON a.attrelid = m.oid
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_type et
  ON et.oid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem ELSE t.oid END
JOIN pg_catalog.pg_namespace etn ON etn.oid = et.typnamespace
LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN (SELECT dep.refobjid, dep.refobjsubid
           FROM pg_catalog.pg_depend dep
           JOIN pg_catalog.pg_class s ON s.oid = dep.objid AND s.relkind = 'S'
           WHERE dep.classid = 'pg_catalog.pg_class'::regclass
             AND dep.refclassid = 'pg_catalog.pg_class'::regclass
             AND dep.deptype = 'a') seq
  ON seq.refobjid = a.attrelid AND seq.refobjsubid = a.attnum
LEFT JOIN pg_catalog.pg_description d
  ON d.objoid = a.attrelid AND d.classoid = 'pg_catalog.pg_class'::regclass
 AND d.objsubid = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum";

/// Column lists come back as attribute numbers, named from the columns already read; only a
/// foreign key to a table outside the managed schemas has its target's names looked up here.
const CONSTRAINTS: &str = "SELECT con.conrelid, con.conname::text, con.contype::text,
  con.conkey,
  CASE WHEN con.contype = 'c' THEN pg_catalog.pg_get_expr(con.conbin, con.conrelid) END,
  fn.nspname::text, fc.relname::text,
  con.confrelid, con.confkey,
  CASE WHEN con.contype = 'f' AND mf.oid IS NULL THEN
    ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n
          ORDER BY k.o) END,
  con.confdeltype::text, con.confupdtype::text, con.condeferrable, con.condeferred
FROM managed m
JOIN pg_catalog.pg_constraint con ON con.conrelid = m.oid
LEFT JOIN managed mf ON mf.oid = con.confrelid
LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.contype IN ('p', 'u', 'c', 'f')";

/// Key columns come back as attribute numbers (0 for an expression); expressions are printed
/// only for indexes that have any.
const INDEXES: &str = "SELECT i.indrelid, ic.relname::text, i.indisunique, am.amname::text,
  i.indkey::int2[], i.indnkeyatts,
  CASE WHEN i.indexprs IS NOT NULL THEN
    ARRAY(SELECT pg_catalog.pg_get_indexdef(i.indexrelid, k.o::int, true)
          FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
          WHERE k.n = 0 AND k.o <= i.indnkeyatts
          ORDER BY k.o) END,
  pg_catalog.pg_get_expr(i.indpred, i.indrelid, true),
  d.description
FROM managed m
JOIN pg_catalog.pg_index i ON i.indrelid = m.oid
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
LEFT JOIN pg_catalog.pg_description d
  ON d.objoid = i.indexrelid AND d.classoid = 'pg_catalog.pg_class'::regclass
 AND d.objsubid = 0
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con
                  WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                    AND con.contype IN ('p', 'u', 'x'))";

fn action(code: &str) -> RefAction {
    match code {
        "r" => RefAction::Restrict,
        "c" => RefAction::Cascade,
        "n" => RefAction::SetNull,
        "d" => RefAction::SetDefault,
        _ => RefAction::NoAction,
    }
}

/// The column type from `format_type` and the element type's catalog entry.
fn column_type(formatted: &str, typtype: &str, nsp: &str, typname: &str, array: bool) -> PgType {
    let user = || {
        let t = PgType::user(nsp, typname);
        if array {
            t.into_array()
        } else {
            t
        }
    };
    if typtype == "e" || (nsp != "pg_catalog" && nsp != "information_schema") {
        return user();
    }
    match pgtypes::parse(formatted) {
        Ok(b) => b.ty,
        Err(_) => user(),
    }
}

/// The enum types of `schemas` (not those of extensions): one query, the first of
/// [`introspect`]'s; also how `schema export` reads the enums its tables use from schemas it
/// was not asked to export.
pub fn enums(
    client: &mut impl GenericClient,
    schemas: &[String],
) -> Result<Vec<Enum>, CatalogError> {
    let mut out = Vec::new();
    for row in query(client, "reading enum types", ENUMS, &[&schemas])? {
        const W: &str = "reading enum types";
        out.push(Enum {
            name: QualifiedName::new(get::<String>(&row, 0, W)?, get::<String>(&row, 1, W)?),
            values: get(&row, 2, W)?,
        });
    }
    Ok(out)
}

/// Schemas that hold something [`introspect`] describes: a table (ordinary or partitioned,
/// not a partition) or an enum type that no extension owns, other than the tracking table
/// (`tracking_schema.tracking_table`). System schemas (`pg_*`, `information_schema`) and
/// `excluded` are left out; `public` is always in. Sorted, `public` first. One query.
pub fn user_schemas(
    client: &mut impl GenericClient,
    tracking_schema: &str,
    tracking_table: &str,
    excluded: &[&str],
) -> Result<Vec<String>, CatalogError> {
    let excluded: Vec<String> = excluded.iter().map(|s| (*s).to_owned()).collect();
    let rows = query(
        client,
        "listing schemas",
        USER_SCHEMAS,
        &[&tracking_schema, &tracking_table, &excluded],
    )?;
    let mut out = vec!["public".to_owned()];
    for row in rows {
        let name: String = get(&row, 0, "listing schemas")?;
        if name != "public" {
            out.push(name);
        }
    }
    Ok(out)
}

const USER_SCHEMAS: &str = "SELECT n.nspname::text
FROM pg_catalog.pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  AND n.nspname <> ALL($3::text[])
  AND (EXISTS (SELECT 1 FROM pg_catalog.pg_class c
               WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                 AND NOT (n.nspname = $1::text AND c.relname = $2::text)
                 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                                 WHERE d.classid = 'pg_catalog.pg_class'::regclass
                                   AND d.objid = c.oid AND d.deptype = 'e'))
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_type t
                  WHERE t.typnamespace = n.oid AND t.typtype = 'e'
                    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                                    WHERE d.classid = 'pg_catalog.pg_type'::regclass
                                      AND d.objid = t.oid AND d.deptype = 'e')))
ORDER BY 1";

/// Reads the managed part of the database the client is connected to.
pub fn introspect(
    client: &mut impl GenericClient,
    options: &Options,
) -> Result<Database, CatalogError> {
    let schemas = &options.schemas;
    let tracking = &options.tracking_table;
    let mut db = Database {
        enums: enums(client, schemas)?,
        ..Database::default()
    };

    let mut by_oid: FxHashMap<u32, usize> = FxHashMap::default();
    let sql = format!("{MANAGED}{TABLES}");
    for row in query(client, "reading tables", &sql, &[schemas, tracking])? {
        const W: &str = "reading tables";
        by_oid.insert(get(&row, 0, W)?, db.tables.len());
        db.tables.push(Table::empty(
            QualifiedName::new(get::<String>(&row, 1, W)?, get::<String>(&row, 2, W)?),
            get(&row, 3, W)?,
        ));
    }
    let table_of = |db: &Database, oid: u32| -> Option<usize> {
        by_oid.get(&oid).copied().filter(|i| *i < db.tables.len())
    };
    // Each table's attribute numbers, parallel to its columns, to name key columns.
    let mut attnums: Vec<Vec<i16>> = vec![Vec::new(); db.tables.len()];
    let column_names = |db: &Database, attnums: &[Vec<i16>], t: usize, keys: &[i16]| {
        let (Some(table), Some(nums)) = (db.tables.get(t), attnums.get(t)) else {
            return Vec::new();
        };
        keys.iter()
            .filter_map(|k| nums.iter().position(|n| n == k))
            .filter_map(|i| table.columns.get(i).map(|c| c.name.clone()))
            .collect::<Vec<String>>()
    };

    let sql = format!("{MANAGED}{COLUMNS}");
    for row in query(client, "reading columns", &sql, &[schemas, tracking])? {
        const W: &str = "reading columns";
        let Some(t) = table_of(&db, get(&row, 0, W)?) else {
            continue;
        };
        let formatted: String = get(&row, 2, W)?;
        let ty = column_type(
            &formatted,
            &get::<String>(&row, 6, W)?,
            &get::<String>(&row, 7, W)?,
            &get::<String>(&row, 8, W)?,
            get(&row, 9, W)?,
        );
        let mut default: Option<String> = get(&row, 4, W)?;
        let identity: String = get(&row, 5, W)?;
        let owns_sequence: bool = get(&row, 10, W)?;
        let generated = match identity.as_str() {
            "d" => Some(Generated::IdentityByDefault),
            "a" => Some(Generated::IdentityAlways),
            _ if owns_sequence
                && default
                    .as_deref()
                    .is_some_and(|d| d.starts_with("nextval(")) =>
            {
                default = None;
                Some(Generated::Serial)
            }
            _ => None,
        };
        let column = Column {
            name: get(&row, 1, W)?,
            ty,
            nullable: get(&row, 3, W)?,
            default: default.map(Expr),
            generated,
            comment: get(&row, 11, W)?,
        };
        if let (Some(table), Some(nums)) = (db.tables.get_mut(t), attnums.get_mut(t)) {
            table.columns.push(column);
            nums.push(get(&row, 12, W)?);
        }
    }

    let sql = format!("{MANAGED}{CONSTRAINTS}");
    for row in query(client, "reading constraints", &sql, &[schemas, tracking])? {
        const W: &str = "reading constraints";
        let Some(t) = table_of(&db, get(&row, 0, W)?) else {
            continue;
        };
        let name: String = get(&row, 1, W)?;
        let kind: String = get(&row, 2, W)?;
        let keys: Option<Vec<i16>> = get(&row, 3, W)?;
        let columns = column_names(&db, &attnums, t, keys.as_deref().unwrap_or_default());
        let referenced_columns = match get::<Option<Vec<String>>>(&row, 9, W)? {
            Some(names) => names,
            None => {
                let target = table_of(&db, get(&row, 7, W)?).unwrap_or(usize::MAX);
                let keys: Option<Vec<i16>> = get(&row, 8, W)?;
                column_names(&db, &attnums, target, keys.as_deref().unwrap_or_default())
            }
        };
        let Some(table) = db.tables.get_mut(t) else {
            continue;
        };
        match kind.as_str() {
            "p" => table.primary_key = Some(Key { name, columns }),
            "u" => table.uniques.push(Key { name, columns }),
            "c" => table.checks.push(CheckConstraint {
                name,
                expression: Expr(get::<Option<String>>(&row, 4, W)?.unwrap_or_default()),
            }),
            _ => table.foreign_keys.push(ForeignKey {
                name,
                columns,
                references: QualifiedName::new(
                    get::<Option<String>>(&row, 5, W)?.unwrap_or_default(),
                    get::<Option<String>>(&row, 6, W)?.unwrap_or_default(),
                ),
                referenced_columns,
                on_delete: action(&get::<String>(&row, 10, W)?),
                on_update: action(&get::<String>(&row, 11, W)?),
                deferrable: get(&row, 12, W)?,
                initially_deferred: get(&row, 13, W)?,
            }),
        }
    }

    let sql = format!("{MANAGED}{INDEXES}");
    for row in query(client, "reading indexes", &sql, &[schemas, tracking])? {
        const W: &str = "reading indexes";
        let Some(t) = table_of(&db, get(&row, 0, W)?) else {
            continue;
        };
        let indkey: Vec<i16> = get(&row, 4, W)?;
        let key_count = usize::try_from(get::<i16>(&row, 5, W)?).unwrap_or_default();
        let mut expressions = get::<Option<Vec<String>>>(&row, 6, W)?
            .unwrap_or_default()
            .into_iter();
        let mut keys = Vec::with_capacity(key_count);
        for n in indkey.iter().take(key_count) {
            if *n == 0 {
                keys.push(IndexKey::Expression(Expr(
                    expressions.next().unwrap_or_default(),
                )));
            } else if let Some(c) = column_names(&db, &attnums, t, &[*n]).pop() {
                keys.push(IndexKey::Column(c));
            }
        }
        let index = Index {
            name: get(&row, 1, W)?,
            unique: get(&row, 2, W)?,
            method: get(&row, 3, W)?,
            keys,
            predicate: get::<Option<String>>(&row, 7, W)?.map(Expr),
            comment: get(&row, 8, W)?,
        };
        if let Some(table) = db.tables.get_mut(t) {
            table.indexes.push(index);
        }
    }

    db.normalize();
    Ok(db)
}
