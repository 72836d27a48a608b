//! Convergence of `nself db schema import`, judged by references independent of our code.
//!
//! For every pair of schemas (A, B): build A from its reference DDL, put rows in, import B with
//! `--apply`, and then
//!
//! 1. a second import finds no changes (`--dry-run` says `No changes`, `--check` exits 0);
//! 2. the live catalog equals a database built from B's reference DDL, by three judges:
//!    `catalog::introspect` (columns sorted by name, since `ADD COLUMN` appends), the catalog
//!    queries of [`facts`] written here (`pg_get_constraintdef`, `pg_indexes`, `format_type`,
//!    …), and `pg_dump --schema-only` normalised for column order ([`dump_statements`]);
//! 3. the rows in columns both A and B have survive;
//! 4. `db migrate down` of the migration(s) just written returns the catalog to A (rows kept),
//!    and `db migrate up` brings B back.
//!
//! The reference DDL is `@dbml/core`'s (through `super::oracle`), or a hand-written `a.sql` /
//! `b.sql` beside the DBML where the reference cannot write it (it does not escape quotes in
//! names). Pairs come from two places:
//!
//! - `corpus/diff/<case>/`: `a.dbml`, `b.dbml`, optional `seed.sql` (run after A is built),
//!   optional `args` (extra import arguments, one per line, such as `--rename` and
//!   `users.name=users.full_name`), optional `a.sql`/`b.sql`, and `expected.sql`: the text
//!   `import b.dbml --from a.dbml --dry-run --name <case>` prints, `-- Created:` lines removed.
//!   `NSELF_BLESS=1` rewrites the `expected.sql` files; review that diff like code.
//!   `NSELF_DIFF_FILTER=text` runs only the cases whose name contains `text`.
//! - generated: `gen-dbml.py --pg-safe` schemas, mutated at random ([`mutate`]) with a seeded
//!   PRNG, written back with `emit::dbml::to_dbml`; one row in every table.
//!
//! A missing reference (node, `@dbml/core`) or `pg_dump` fails the tests, like `catalog.rs`.

use super::oracle::{
    compile, generated_dbml, introspect, oracle_sql, parallel, pg_dump, text_diff,
};
use super::support::{Project, Run};
use nself::ir::canonical::{
    canonicalize, CheckConstraint, Column, Database, Expr, ForeignKey, Generated, Index, IndexKey,
    Key, Table,
};
use nself::ir::model::{QualifiedName, RefAction};
use nself::ir::pgtypes::{self, PgType};
use nself::local::testing::{fresh_database, TestDatabase};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

// ---------------------------------------------------------------------------------------------
// Cases

/// One pair of schemas and what to do with it.
#[derive(Clone)]
struct Case {
    name: String,
    a: String,
    b: String,
    /// Hand-written reference DDL, where `@dbml/core` cannot write it.
    a_sql: Option<String>,
    b_sql: Option<String>,
    seed: Seed,
    /// Extra arguments for `schema import`.
    args: Vec<String>,
}

#[derive(Clone)]
enum Seed {
    None,
    Sql(String),
    /// One row in every table, values chosen by type (see [`one_row_per_table`]).
    OneRowPerTable,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/diff")
}

fn read_opt(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name)).ok()
}

fn corpus_cases() -> Vec<(Case, PathBuf)> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("b.dbml").is_file())
        .collect();
    dirs.sort();
    if let Ok(only) = std::env::var("NSELF_DIFF_FILTER") {
        dirs.retain(|d| d.file_name().unwrap().to_string_lossy().contains(&only));
    }
    dirs.into_iter()
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let case = Case {
                a: read_opt(&dir, "a.dbml").unwrap_or_default(),
                b: read_opt(&dir, "b.dbml").unwrap(),
                a_sql: read_opt(&dir, "a.sql"),
                b_sql: read_opt(&dir, "b.sql"),
                seed: read_opt(&dir, "seed.sql").map_or(Seed::None, Seed::Sql),
                args: read_opt(&dir, "args")
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_owned)
                    .collect(),
                name,
            };
            (case, dir)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The reference DDL

/// The reference DDL of a DBML text (cached: several tests ask for the same files), or the
/// hand-written one (a missing reference fails the test: `oracle::peer_dir`).
fn reference_sql(dbml: &str, hand: Option<&str>) -> Result<String, String> {
    if let Some(sql) = hand {
        return Ok(sql.to_owned());
    }
    if dbml.trim().is_empty() {
        return Ok(String::new());
    }
    static CACHE: OnceLock<Mutex<HashMap<String, Result<String, String>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(hit) = cache.lock().unwrap().get(dbml) {
        return hit.clone();
    }
    let p = Project::new();
    p.write("schema.dbml", dbml);
    let sql = oracle_sql(&p.path().join("schema.dbml"));
    cache.lock().unwrap().insert(dbml.to_owned(), sql.clone());
    sql
}

/// A database built from reference DDL. The reference's `DEFERRABLE` foreign keys let seeds
/// insert in any order inside one transaction.
fn build(sql: &str, what: &str) -> Result<TestDatabase, String> {
    let db = fresh_database();
    db.client().batch_execute(sql).map_err(|e| {
        format!(
            "building {what} from its reference DDL: {}\n{sql}",
            pg_error(&e)
        )
    })?;
    Ok(db)
}

/// Puts the case's rows into A.
fn seed(db: &TestDatabase, case: &Case, schemas: &[String]) -> Result<(), String> {
    let sql = match &case.seed {
        Seed::None => return Ok(()),
        Seed::Sql(sql) => sql.clone(),
        Seed::OneRowPerTable => {
            let refs: Vec<&str> = schemas.iter().map(String::as_str).collect();
            one_row_per_table(&introspect(db, &refs))
        }
    };
    db.client()
        .batch_execute(&sql)
        .map_err(|e| format!("seeding A: {}\n{sql}", pg_error(&e)))
}

/// Whether the import must change anything, checking that the case is what its name says:
/// a pair whose databases are equal passes whatever the import does, so only `no_changes`
/// (and renames, which the catalogs cannot see apart from names) may be one.
fn expect_changes(case: &Case, a: &State, b: &State) -> Result<bool, String> {
    let differ = a.differences(b).is_some();
    let renamed = !Renames::parse(&case.args).tables.is_empty();
    if differ != (case.name != "no_changes") && !renamed {
        return Err(format!(
            "A and B {} the same catalog",
            if differ { "do not build" } else { "build" }
        ));
    }
    Ok(differ || renamed)
}

/// A server error with its message and detail (`Display` of `postgres::Error` says only
/// "db error").
fn pg_error(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!(
            "{}: {}{}",
            d.severity(),
            d.message(),
            d.detail().map(|x| format!(" ({x})")).unwrap_or_default()
        ),
        None => e.to_string(),
    }
}

/// `public`, every schema A or B names (nself's own reading of them) and those a
/// `--schemas` argument names. Only `introspect` is limited to these: the other judges look
/// at every schema in the database.
fn managed_schemas(case: &Case) -> Vec<String> {
    let mut all: Vec<String> = [&case.a, &case.b]
        .iter()
        .flat_map(|text| super::oracle::schemas_of(&compile("case.dbml", text).schema))
        .collect();
    let mut args = case.args.iter();
    while let Some(a) = args.next() {
        let list = match a.strip_prefix("--schemas=") {
            Some(v) => Some(v.to_owned()),
            None if a == "--schemas" => args.next().cloned(),
            None => None,
        };
        all.extend(list.iter().flat_map(|l| l.split(',').map(str::to_owned)));
    }
    all.sort();
    all.dedup();
    all
}

// ---------------------------------------------------------------------------------------------
// Judging a catalog

/// What the three judges read from one database.
struct State {
    /// `catalog::introspect`, every table's columns sorted by name.
    canonical: Database,
    /// [`facts`], sorted.
    facts: Vec<String>,
    /// [`dump_statements`] of `pg_dump`, when pg_dump can run.
    dump: Option<Vec<String>>,
}

impl State {
    fn read(db: &TestDatabase, schemas: &[String]) -> State {
        State::read_with(db, schemas, true)
    }

    /// Without `pg_dump` (the slowest judge), for checks the others suffice for.
    fn read_with(db: &TestDatabase, schemas: &[String], dump: bool) -> State {
        let refs: Vec<&str> = schemas.iter().map(String::as_str).collect();
        let mut canonical = introspect(db, &refs);
        for t in &mut canonical.tables {
            t.columns.sort_by(|a, b| a.name.cmp(&b.name));
        }
        State {
            canonical,
            facts: facts(db),
            dump: if dump {
                Some(dump_statements(&pg_dump(db)))
            } else {
                None
            },
        }
    }

    /// None when all three judges agree the two catalogs are the same, else what differs.
    fn differences(&self, other: &State) -> Option<String> {
        let mut out = Vec::new();
        if self.canonical != other.canonical {
            let a = serde_json::to_string_pretty(&self.canonical).unwrap();
            let b = serde_json::to_string_pretty(&other.canonical).unwrap();
            out.push(format!("introspect differs:\n{}", text_diff(&a, &b, 60)));
        }
        if self.facts != other.facts {
            out.push(format!(
                "catalog facts differ:\n{}",
                text_diff(
                    &(self.facts.join("\n") + "\n"),
                    &(other.facts.join("\n") + "\n"),
                    60
                )
            ));
        }
        if let (Some(a), Some(b)) = (&self.dump, &other.dump) {
            if a != b {
                out.push(format!(
                    "pg_dump differs:\n{}",
                    text_diff(&(a.join("\n") + "\n"), &(b.join("\n") + "\n"), 60)
                ));
            }
        }
        (!out.is_empty()).then(|| out.join("\n"))
    }
}

/// Every schema, enum, table, column, constraint, index and sequence outside the system
/// schemas (the tracking table aside), one line each, read with the server's own printing
/// functions. Written here, independent of `catalog`.
const FACTS: &str = r#"
WITH ns AS (
  SELECT oid, nspname FROM pg_namespace
   WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'
), rel AS (
  SELECT c.oid, c.relname, c.relkind, n.nspname FROM pg_class c JOIN ns n ON n.oid = c.relnamespace
   WHERE NOT (n.nspname = 'public' AND c.relname = 'schema_migrations')
     AND NOT EXISTS (SELECT FROM pg_index i WHERE i.indexrelid = c.oid
                        AND i.indrelid = to_regclass('public.schema_migrations'))
)
SELECT 'schema ' || quote_ident(nspname) FROM ns
UNION ALL
SELECT format('enum %I.%I (%s)', n.nspname, t.typname,
              (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                 FROM pg_enum e WHERE e.enumtypid = t.oid))
  FROM pg_type t JOIN ns n ON n.oid = t.typnamespace WHERE t.typtype = 'e'
UNION ALL
SELECT format('table %I.%I kind %s comment %s', nspname, relname, relkind,
              quote_nullable(obj_description(oid, 'pg_class')))
  FROM rel WHERE relkind IN ('r', 'p', 'v', 'm', 'f')
UNION ALL
SELECT format('sequence %I.%I owned by %s', r.nspname, r.relname,
              (SELECT format('%s.%I', d.refobjid::regclass, a.attname) FROM pg_depend d
                 JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid
                  AND d.deptype IN ('a', 'i')))
  FROM rel r WHERE relkind = 'S'
UNION ALL
SELECT format('column %I.%I.%I %s not null %s default %s identity %L generated %L comment %s',
              r.nspname, r.relname, a.attname, format_type(a.atttypid, a.atttypmod),
              a.attnotnull, quote_nullable(pg_get_expr(d.adbin, d.adrelid)), a.attidentity,
              a.attgenerated, quote_nullable(col_description(r.oid, a.attnum)))
  FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE r.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT format('constraint %I on %I.%I: %s', co.conname, r.nspname, r.relname,
              pg_get_constraintdef(co.oid))
  FROM pg_constraint co JOIN rel r ON r.oid = co.conrelid
UNION ALL
SELECT format('index %s comment %s', pg_get_indexdef(r.oid),
              quote_nullable(obj_description(r.oid, 'pg_class')))
  FROM rel r WHERE relkind IN ('i', 'I')
"#;

fn facts(db: &TestDatabase) -> Vec<String> {
    let mut out: Vec<String> = db
        .client()
        .query(FACTS, &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    out.sort();
    out
}

/// `pg_dump` output as a sorted list of statements, comment lines dropped and the lines
/// inside each `CREATE TABLE ( … )` sorted, so that attribute order (which `ADD COLUMN`
/// legitimately changes) and object order do not count.
fn dump_statements(dump: &str) -> Vec<String> {
    let body: Vec<&str> = dump.lines().filter(|l| !l.starts_with("--")).collect();
    let body = body.join("\n");
    let mut out: Vec<String> = body
        .split(";\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|stmt| {
            let table = stmt.starts_with("CREATE TABLE ");
            match (table, stmt.split_once(" (\n"), stmt.rsplit_once("\n)")) {
                (true, Some((head, _)), Some((_, tail))) => {
                    let inner = &stmt[head.len() + 3..stmt.len() - tail.len() - 2];
                    let mut lines: Vec<&str> = inner
                        .lines()
                        .map(|l| l.trim().trim_end_matches(','))
                        .collect();
                    lines.sort_unstable();
                    format!("{head} (\n    {}\n){tail}", lines.join(",\n    "))
                }
                _ => stmt.to_owned(),
            }
        })
        .collect();
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// Rows

/// A double-quoted SQL identifier, written here rather than borrowed from the code under test.
fn qi(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn qtable(n: &QualifiedName) -> String {
    format!("{}.{}", qi(&n.schema), qi(&n.name))
}

fn ql(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Table and column renames given with `--rename`, as maps from A's names to B's.
#[derive(Default)]
struct Renames {
    tables: HashMap<String, String>,
    /// (table, old column) → new column; the table as written in the flag.
    columns: HashMap<(String, String), String>,
}

impl Renames {
    fn parse(args: &[String]) -> Renames {
        let mut r = Renames::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let value = match a.strip_prefix("--rename=") {
                Some(v) => v,
                None if a == "--rename" => match it.next() {
                    Some(v) => v,
                    None => break,
                },
                None => continue,
            };
            let Some((old, new)) = value.split_once('=') else {
                continue;
            };
            match (old.split_once('.'), new.split_once('.')) {
                (Some((t, oc)), Some((_, nc))) => {
                    r.columns
                        .insert((t.to_owned(), oc.to_owned()), nc.to_owned());
                }
                _ => {
                    r.tables.insert(old.to_owned(), new.to_owned());
                }
            }
        }
        r
    }

    fn table(&self, a: &QualifiedName) -> QualifiedName {
        match self.tables.get(&a.name) {
            Some(n) if a.schema == "public" => QualifiedName::new("public", n.clone()),
            _ => a.clone(),
        }
    }

    fn column(&self, a_table: &str, b_table: &str, col: &str) -> String {
        [a_table, b_table]
            .iter()
            .find_map(|t| self.columns.get(&((*t).to_owned(), col.to_owned())))
            .cloned()
            .unwrap_or_else(|| col.to_owned())
    }
}

/// For each table in both A and B: its name in A, in B, and the (A, B) names of the columns
/// in both.
type Common = Vec<(QualifiedName, QualifiedName, Vec<(String, String)>)>;

fn common_columns(a: &Database, b: &Database, renames: &Renames) -> Common {
    let mut out = Vec::new();
    for ta in &a.tables {
        let bn = renames.table(&ta.name);
        let Some(tb) = b.table(&bn) else { continue };
        let cols: Vec<(String, String)> = ta
            .columns
            .iter()
            .filter_map(|c| {
                let cb = renames.column(&ta.name.name, &bn.name, &c.name);
                tb.column(&cb).map(|_| (c.name.clone(), cb))
            })
            .collect();
        if !cols.is_empty() {
            out.push((ta.name.clone(), bn, cols));
        }
    }
    out
}

/// The rows of the common columns as text, per table (A's name), each table's rows sorted.
/// `side_b` picks B's names for the query.
type Rows = Vec<(String, Vec<Vec<Option<String>>>)>;

fn rows(db: &TestDatabase, common: &Common, side_b: bool) -> Rows {
    let mut client = db.client();
    common
        .iter()
        .map(|(ta, tb, cols)| {
            let list: Vec<String> = cols
                .iter()
                .map(|(ca, cb)| format!("{}::text", qi(if side_b { cb } else { ca })))
                .collect();
            let sql = format!(
                "SELECT {} FROM {}",
                list.join(", "),
                qtable(if side_b { tb } else { ta })
            );
            let mut rows: Vec<Vec<Option<String>>> = client
                .query(&sql, &[])
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(|r| (0..cols.len()).map(|i| r.get(i)).collect())
                .collect();
            rows.sort();
            (ta.to_string(), rows)
        })
        .collect()
}

fn rows_differ(before: &Rows, after: &Rows) -> Option<String> {
    let lost: Vec<String> = before
        .iter()
        .zip(after)
        .filter(|(a, b)| a != b)
        .map(|((t, a), (_, b))| format!("{t}: before {a:?}\n  after {b:?}"))
        .collect();
    (!lost.is_empty()).then(|| lost.join("\n"))
}

/// One row in every table, every column given a value its type accepts (the same value for
/// every integer and every uuid, so that foreign keys, composite ones included, find their
/// row). Foreign keys from the reference are deferrable, so order does not matter.
fn one_row_per_table(db: &Database) -> String {
    let mut sql = String::from("BEGIN;\nSET CONSTRAINTS ALL DEFERRED;\n");
    for t in &db.tables {
        let (cols, values): (Vec<String>, Vec<String>) = t
            .columns
            .iter()
            .map(|c| (qi(&c.name), value_for(db, &c.ty)))
            .unzip();
        sql.push_str(&format!(
            "INSERT INTO {} ({}) VALUES ({});\n",
            qtable(&t.name),
            cols.join(", "),
            values.join(", ")
        ));
    }
    sql.push_str("COMMIT;\n");
    sql
}

fn value_for(db: &Database, ty: &PgType) -> String {
    if ty.array_dims > 0 {
        return "'{}'".into();
    }
    if let Some(schema) = &ty.schema {
        let name = QualifiedName::new(schema.clone(), ty.name.clone());
        return db
            .enums
            .iter()
            .find(|e| e.name == name)
            .and_then(|e| e.values.first())
            .map_or_else(|| "NULL".into(), |v| ql(v));
    }
    match ty.name.as_str() {
        "smallint" | "integer" | "bigint" | "numeric" | "real" | "double precision" => "1",
        "character varying" | "text" | "character" => "'x'",
        "boolean" => "true",
        "date" => "'2024-01-02'",
        "timestamp without time zone" | "timestamp with time zone" => "'2024-01-02 03:04:05'",
        "uuid" => "'00000000-0000-0000-0000-000000000001'",
        "json" | "jsonb" => "'{}'",
        "inet" | "cidr" => "'10.0.0.1'",
        "bytea" => "'\\x00'",
        _ => "NULL",
    }
    .into()
}

// ---------------------------------------------------------------------------------------------
// Running the binary

fn migrations(p: &Project) -> BTreeSet<String> {
    std::fs::read_dir(p.path().join("nself/migrations"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn nself(p: &Project, db: &TestDatabase, args: &[&str]) -> Run {
    let url = db.params.to_url_with_password();
    p.run(args, &[("DATABASE_URL", &url)])
}

fn import_args<'a>(case: &'a Case, file: &'a str, mode: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["db", "schema", "import", file];
    all.extend_from_slice(mode);
    all.extend(["--name", case.name.as_str()]);
    all.extend(case.args.iter().map(String::as_str));
    all
}

/// The arguments of a later import, once the renames are done: the case's without its
/// `--rename` flags (the old names no longer exist).
fn later_import_args<'a>(case: &'a Case, file: &'a str, mode: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["db", "schema", "import", file];
    all.extend_from_slice(mode);
    let mut it = case.args.iter();
    while let Some(a) = it.next() {
        if a == "--rename" {
            it.next();
        } else if !a.starts_with("--rename=") {
            all.push(a);
        }
    }
    all
}

fn shown(r: &Run) -> String {
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        r.code, r.stdout, r.stderr
    )
}

/// The database-free migration text for A → B: `--from a.dbml --dry-run`, `-- Created:`
/// lines removed.
fn offline_migration(case: &Case) -> Result<String, String> {
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("nself/migrations")).unwrap();
    p.write("a.dbml", &case.a).write("b.dbml", &case.b);
    let args = import_args(case, "b.dbml", &["--from", "a.dbml", "--dry-run"]);
    let r = p.run(&args, &[]);
    if r.code != 0 {
        return Err(format!(
            "{}: import --from --dry-run failed\n{}",
            case.name,
            shown(&r)
        ));
    }
    if !migrations(&p).is_empty() {
        return Err(format!("{}: --dry-run wrote a migration file", case.name));
    }
    Ok(r.stdout
        .lines()
        .filter(|l| !l.starts_with("-- Created:"))
        .map(|l| format!("{l}\n"))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// The convergence check

enum Verdict {
    Passed,
    Failed(String),
}

fn converge(case: &Case) -> Verdict {
    match try_converge(case) {
        Ok(()) => Verdict::Passed,
        Err(e) => Verdict::Failed(format!("{}: {e}", case.name)),
    }
}

fn try_converge(case: &Case) -> Result<(), String> {
    let a_sql = reference_sql(&case.a, case.a_sql.as_deref());
    let b_sql = reference_sql(&case.b, case.b_sql.as_deref());
    let a_sql = a_sql.map_err(|e| format!("the reference rejects a.dbml: {e}"))?;
    let b_sql = b_sql.map_err(|e| format!("the reference rejects b.dbml: {e}"))?;
    let schemas = managed_schemas(case);

    // A, with rows, and B as the reference builds them.
    let live = build(&a_sql, "A")?;
    let reference = build(&b_sql, "B")?;
    let a_canonical = introspect(
        &live,
        &schemas.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    seed(&live, case, &schemas)?;
    let a_state = State::read(&live, &schemas);
    let b_state = State::read(&reference, &schemas);
    let b_canonical = introspect(
        &reference,
        &schemas.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let renames = Renames::parse(&case.args);
    let common = common_columns(&a_canonical, &b_canonical, &renames);
    let a_rows = rows(&live, &common, false);
    let changes = expect_changes(case, &a_state, &b_state)?;

    let p = Project::new();
    std::fs::create_dir_all(p.path().join("nself/migrations")).unwrap();
    p.write("b.dbml", &case.b);

    // Before: --check sees the difference, --dry-run writes nothing.
    let check = nself(&p, &live, &import_args(case, "b.dbml", &["--check"]));
    let want = if changes { 1 } else { 0 };
    if check.code != want {
        return Err(format!(
            "before the import, --check should exit {want}\n{}",
            shown(&check)
        ));
    }
    let dry = nself(&p, &live, &import_args(case, "b.dbml", &["--dry-run"]));
    if dry.code != 0 || !migrations(&p).is_empty() {
        return Err(format!("--dry-run failed or wrote a file\n{}", shown(&dry)));
    }

    // The import.
    let run = nself(&p, &live, &import_args(case, "b.dbml", &["--apply"]));
    if run.code != 0 {
        return Err(format!("import --apply failed\n{}", shown(&run)));
    }
    let written = migrations(&p);
    let listing = || -> String {
        written
            .iter()
            .map(|f| {
                let text =
                    std::fs::read_to_string(p.path().join("nself/migrations").join(f)).unwrap();
                format!("=== {f}\n{text}")
            })
            .collect()
    };
    if !changes {
        if !written.is_empty() {
            return Err(format!("A equals B, yet the import wrote\n{}", listing()));
        }
        return Ok(());
    }
    if written.is_empty() || written.len() > 2 {
        return Err(format!(
            "expected one or two migration files, got {}\n{}",
            written.len(),
            listing()
        ));
    }

    // (1) A second import finds nothing (without the renames, now done).
    let again = nself(
        &p,
        &live,
        &later_import_args(case, "b.dbml", &["--dry-run"]),
    );
    if again.code != 0 || !again.stdout.starts_with("No changes") {
        return Err(format!(
            "a second import still finds changes\n{}\nafter applying\n{}",
            shown(&again),
            listing()
        ));
    }
    // With the case's flags again (renames now done are ignored, with a note).
    let check = nself(&p, &live, &import_args(case, "b.dbml", &["--check"]));
    if check.code != 0 {
        return Err(format!(
            "--check (same flags) after the import should exit 0\n{}",
            shown(&check)
        ));
    }

    // (2) The catalog is B's.
    let after = State::read(&live, &schemas);
    if let Some(d) = after.differences(&b_state) {
        return Err(format!(
            "after the import the catalog is not B's (left: live, right: reference)\n{d}\nmigration:\n{}",
            listing()
        ));
    }

    // (3) Rows survive.
    if let Some(d) = rows_differ(&a_rows, &rows(&live, &common, true)) {
        return Err(format!(
            "rows changed by the import\n{d}\nmigration:\n{}",
            listing()
        ));
    }

    // (4) DOWN returns to A, and UP again to B.
    let n = written.len().to_string();
    let down = nself(&p, &live, &["db", "migrate", "down", &n]);
    if down.code != 0 {
        return Err(format!(
            "migrate down {n} failed\n{}\nmigration:\n{}",
            shown(&down),
            listing()
        ));
    }
    if let Some(d) = State::read(&live, &schemas).differences(&a_state) {
        return Err(format!(
            "after DOWN the catalog is not A's (left: live, right: A)\n{d}\nmigration:\n{}",
            listing()
        ));
    }
    if let Some(d) = rows_differ(&a_rows, &rows(&live, &common, false)) {
        return Err(format!(
            "rows changed by UP then DOWN\n{d}\nmigration:\n{}",
            listing()
        ));
    }
    let up = nself(&p, &live, &["db", "migrate", "up"]);
    if up.code != 0 {
        return Err(format!(
            "migrate up after down failed\n{}\nmigration:\n{}",
            shown(&up),
            listing()
        ));
    }
    if let Some(d) = State::read_with(&live, &schemas, false).differences(&b_state) {
        return Err(format!(
            "after DOWN then UP the catalog is not B's\n{d}\nmigration:\n{}",
            listing()
        ));
    }
    Ok(())
}

fn report(what: &str, verdicts: Vec<Verdict>) {
    let total = verdicts.len();
    let failures: Vec<String> = verdicts
        .into_iter()
        .filter_map(|v| match v {
            Verdict::Failed(f) => Some(f),
            _ => None,
        })
        .collect();
    eprintln!(
        "{what}: {} of {total} pairs converge, {} fail",
        total - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {total} pairs fail:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn corpus_pairs_converge() {
    let cases: Vec<Case> = corpus_cases().into_iter().map(|(c, _)| c).collect();
    assert!(!cases.is_empty(), "no cases in corpus/diff");
    report("corpus/diff", parallel(&cases, converge));
}

#[test]
fn corpus_migrations_match_expected() {
    let bless = std::env::var_os("NSELF_BLESS").is_some();
    let cases = corpus_cases();
    assert!(!cases.is_empty(), "no cases in corpus/diff");
    let results = parallel(&cases, |(case, dir)| {
        let text = offline_migration(case)?;
        let path = dir.join("expected.sql");
        if bless {
            std::fs::write(&path, &text).unwrap();
            return Ok(());
        }
        let expected = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{}: cannot read {} ({e}); NSELF_BLESS=1 writes it",
                case.name,
                path.display()
            )
        })?;
        if expected == text {
            Ok(())
        } else {
            Err(format!(
                "{}: the migration differs from expected.sql (NSELF_BLESS=1 rewrites it)\n{}",
                case.name,
                text_diff(&expected, &text, 80)
            ))
        }
    });
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The judges themselves, without `schema import`: on the cases with the oddest names, on
/// `no_changes` and on generated pairs seeded with a row per table, B built twice compares
/// equal (so equality is not noise) and A and B differ exactly when the case says so (the
/// convergence check asserts the same on every pair).
#[test]
fn judges_tell_pairs_apart_and_agree_on_equals() {
    let twice = [
        "adversarial_names",
        "adversarial_quotes",
        "many_changes",
        "names_63_bytes",
    ];
    let mut cases: Vec<Case> = corpus_cases()
        .into_iter()
        .map(|(c, _)| c)
        .filter(|c| twice.contains(&c.name.as_str()) || c.name == "no_changes")
        .collect();
    cases.extend((1..=2).map(|seed| generated_pair(seed, 20).0));
    let results = parallel(&cases, |case| -> Result<(), String> {
        let fail = |e: String| format!("{}: {e}", case.name);
        compile("a.dbml", &case.a);
        compile("b.dbml", &case.b);
        let a_sql = reference_sql(&case.a, case.a_sql.as_deref());
        let b_sql = reference_sql(&case.b, case.b_sql.as_deref());
        let a_sql = a_sql.map_err(|e| fail(format!("the reference rejects a.dbml: {e}")))?;
        let b_sql = b_sql.map_err(|e| fail(format!("the reference rejects b.dbml: {e}")))?;
        let schemas = managed_schemas(case);
        let a = build(&a_sql, "A").map_err(fail)?;
        seed(&a, case, &schemas).map_err(fail)?;
        let b = build(&b_sql, "B").map_err(fail)?;
        let (sa, sb) = (State::read(&a, &schemas), State::read(&b, &schemas));
        expect_changes(case, &sa, &sb).map_err(fail)?;
        let b2 = build(&b_sql, "B").map_err(fail)?;
        if let Some(d) = State::read(&b2, &schemas).differences(&sb) {
            return Err(fail(format!("B built twice differs:\n{d}")));
        }
        Ok(())
    });
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------
// Generated pairs

/// xorshift64*: a few lines, seeded, enough for picking mutations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }
}

fn builtin(text: &str) -> PgType {
    pgtypes::parse(text).unwrap().ty
}

/// Whether a column takes part in a key, constraint, index or foreign key (either end), so
/// that dropping or retyping it would drag other objects along.
fn entangled(db: &Database, t: &Table, col: &str) -> bool {
    let named = |cols: &[String]| cols.iter().any(|c| c == col);
    let in_expr = |e: &Expr| e.as_str().contains(col);
    t.primary_key.as_ref().is_some_and(|k| named(&k.columns))
        || t.uniques.iter().any(|k| named(&k.columns))
        || t.checks.iter().any(|k| in_expr(&k.expression))
        || t.foreign_keys.iter().any(|f| named(&f.columns))
        || t.indexes.iter().any(|i| {
            i.predicate.as_ref().is_some_and(in_expr)
                || i.keys.iter().any(|k| match k {
                    IndexKey::Column(c) => c == col,
                    IndexKey::Expression(e) => in_expr(e),
                })
        })
        || db.tables.iter().any(|o| {
            o.foreign_keys
                .iter()
                .any(|f| f.references == t.name && named(&f.referenced_columns))
        })
}

/// Picks a (table, column) index pair among the columns `ok` accepts.
fn pick_column(
    db: &Database,
    rng: &mut Rng,
    ok: impl Fn(&Table, &Column) -> bool,
) -> Option<(usize, usize)> {
    let all: Vec<(usize, usize)> = db
        .tables
        .iter()
        .enumerate()
        .flat_map(|(ti, t)| {
            t.columns
                .iter()
                .enumerate()
                .filter(|(_, c)| ok(t, c))
                .map(move |(ci, _)| (ti, ci))
                .collect::<Vec<_>>()
        })
        .collect();
    rng.pick(&all).copied()
}

/// A wider type the server converts every value to without changing its text, if any.
fn widened(ty: &PgType, rng: &mut Rng) -> Option<PgType> {
    if ty.array_dims > 0 || ty.schema.is_some() {
        return None;
    }
    match (ty.name.as_str(), ty.modifiers.as_slice()) {
        ("smallint", _) => Some(builtin("integer")),
        ("integer", _) => Some(builtin("bigint")),
        ("character varying", [n]) if rng.chance(50) => {
            Some(builtin(&format!("varchar({})", n * 2)))
        }
        ("character varying", _) => Some(builtin("text")),
        _ => None,
    }
}

/// A literal default for a type, as `pg_get_expr` prints it (the canonical form).
fn literal_default(ty: &PgType, rng: &mut Rng) -> Option<Expr> {
    if ty.array_dims > 0 || ty.schema.is_some() {
        return None;
    }
    let text = match ty.name.as_str() {
        "smallint" | "integer" | "bigint" => format!("{}", rng.below(1000)),
        "text" => format!("'mut {}'::text", rng.below(100)),
        "character varying" => format!("'m{}'::character varying", rng.below(100)),
        "boolean" => (if rng.chance(50) { "true" } else { "false" }).to_owned(),
        _ => return None,
    };
    Some(Expr(text))
}

/// Changes `db` at random, in ways every database holding [`one_row_per_table`]'s rows can
/// follow, forwards and back: what is dropped is unreferenced, types only widen, NOT NULL is
/// safe because every column has a value, enum values dropped are neither the first (the
/// rows') nor in a default, and columns dropped can come back (nullable or with a default).
fn mutate(db: &mut Database, rng: &mut Rng, count: usize) -> Vec<String> {
    let mut log = Vec::new();
    let mut k = 0;
    // The rows hold each enum's first value; swaps may move it to the end.
    let firsts: Vec<(QualifiedName, String)> = db
        .enums
        .iter()
        .filter_map(|e| Some((e.name.clone(), e.values.first()?.clone())))
        .collect();
    while log.len() < count && k < count * 20 {
        k += 1;
        match rng.below(18) {
            0 => {
                // DOWN adds a dropped column back, which a NOT NULL column without a default
                // cannot be on a table with rows.
                let Some((ti, ci)) = pick_column(db, rng, |t, c| {
                    t.columns.len() > 2
                        && !entangled(db, t, &c.name)
                        && (c.nullable || c.default.is_some() || c.generated.is_some())
                }) else {
                    continue;
                };
                let t = &mut db.tables[ti];
                log.push(format!("drop column {}.{}", t.name, t.columns[ci].name));
                t.columns.remove(ci);
            }
            1 => {
                let Some(ti) = rng.pick(&(0..db.tables.len()).collect::<Vec<_>>()).copied() else {
                    continue;
                };
                let ty = builtin(
                    rng.pick(&["integer", "text", "varchar(40)", "boolean", "bigint"])
                        .unwrap(),
                );
                let default = if rng.chance(50) {
                    literal_default(&ty, rng)
                } else {
                    None
                };
                let t = &mut db.tables[ti];
                let col = Column {
                    name: odd_or(rng, format!("added_{k}"), k),
                    nullable: default.is_none() || rng.chance(50),
                    ty,
                    default,
                    generated: None,
                    comment: rng.chance(30).then(|| format!("added column {k}")),
                };
                log.push(format!("add column {}.{} {}", t.name, col.name, col.ty));
                t.columns.push(col);
            }
            2 => {
                let Some((ti, ci)) = pick_column(db, rng, |t, c| {
                    !entangled(db, t, &c.name)
                        && c.generated.is_none()
                        && c.default
                            .as_ref()
                            .is_none_or(|d| !d.as_str().contains("::"))
                }) else {
                    continue;
                };
                let Table { name, columns, .. } = &mut db.tables[ti];
                let col = &mut columns[ci];
                let Some(ty) = widened(&col.ty, rng) else {
                    continue;
                };
                log.push(format!("retype {}.{} {} -> {ty}", name, col.name, col.ty));
                col.ty = ty;
            }
            3 => {
                let Some((ti, ci)) = pick_column(db, rng, |t, c| {
                    c.generated.is_none()
                        && !t
                            .primary_key
                            .as_ref()
                            .is_some_and(|k| k.columns.contains(&c.name))
                }) else {
                    continue;
                };
                let Table { name, columns, .. } = &mut db.tables[ti];
                let col = &mut columns[ci];
                col.nullable = !col.nullable;
                log.push(format!("{}.{} nullable: {}", name, col.name, col.nullable));
            }
            4 => {
                let Some((ti, ci)) = pick_column(db, rng, |_, c| {
                    c.generated.is_none() && literal_default(&c.ty, &mut Rng::new(1)).is_some()
                }) else {
                    continue;
                };
                let Table { name, columns, .. } = &mut db.tables[ti];
                let col = &mut columns[ci];
                col.default = if col.default.is_some() && rng.chance(40) {
                    None
                } else {
                    literal_default(&col.ty, rng)
                };
                log.push(format!("{}.{} default: {:?}", name, col.name, col.default));
            }
            5 => {
                let Some((ti, ci)) = pick_column(db, rng, |_, c| {
                    c.ty.array_dims == 0 && !matches!(c.ty.name.as_str(), "json" | "jsonb")
                }) else {
                    continue;
                };
                let hash = rng.chance(30);
                let t = &mut db.tables[ti];
                let index = Index {
                    name: odd_or(rng, format!("mut_ix_{k}"), k),
                    unique: false,
                    method: (if hash { "hash" } else { "btree" }).to_owned(),
                    keys: vec![IndexKey::Column(t.columns[ci].name.clone())],
                    predicate: None,
                    comment: None,
                };
                log.push(format!("add index {} on {}", index.name, t.name));
                t.indexes.push(index);
            }
            6 => {
                let with: Vec<usize> = (0..db.tables.len())
                    .filter(|&i| !db.tables[i].indexes.is_empty())
                    .collect();
                let Some(&ti) = rng.pick(&with) else { continue };
                let t = &mut db.tables[ti];
                let i = rng.below(t.indexes.len());
                log.push(format!("drop index {} on {}", t.indexes[i].name, t.name));
                t.indexes.remove(i);
            }
            7 => {
                let with: Vec<usize> = (0..db.tables.len())
                    .filter(|&i| !db.tables[i].foreign_keys.is_empty())
                    .collect();
                let Some(&ti) = rng.pick(&with) else { continue };
                let t = &mut db.tables[ti];
                let i = rng.below(t.foreign_keys.len());
                log.push(format!(
                    "drop foreign key {} on {}",
                    t.foreign_keys[i].name, t.name
                ));
                t.foreign_keys.remove(i);
            }
            8 => {
                let Some(ei) = rng.pick(&(0..db.enums.len()).collect::<Vec<_>>()).copied() else {
                    continue;
                };
                let e = &mut db.enums[ei];
                e.values.push(format!("mut_v{k}"));
                log.push(format!("add value to {}", e.name));
            }
            9 => {
                let droppable: Vec<usize> = (0..db.enums.len())
                    .filter(|&i| {
                        let e = &db.enums[i];
                        let last = ql(e.values.last().unwrap());
                        e.values.len() >= 2
                            && !firsts.iter().any(|(n, v)| *n == e.name && ql(v) == last)
                            && !db.tables.iter().any(|t| {
                                t.columns.iter().any(|c| {
                                    c.default
                                        .as_ref()
                                        .is_some_and(|d| d.as_str().contains(&last))
                                }) || t
                                    .checks
                                    .iter()
                                    .any(|c| c.expression.as_str().contains(&last))
                            })
                    })
                    .collect();
                let Some(&ei) = rng.pick(&droppable) else {
                    continue;
                };
                let e = &mut db.enums[ei];
                let v = e.values.pop().unwrap();
                log.push(format!("drop value {v} of {}", e.name));
            }
            10 => {
                let droppable: Vec<usize> = (0..db.tables.len())
                    .filter(|&i| {
                        let name = &db.tables[i].name;
                        !db.tables.iter().any(|t| {
                            &t.name != name && t.foreign_keys.iter().any(|f| &f.references == name)
                        })
                    })
                    .collect();
                let Some(&ti) = rng.pick(&droppable) else {
                    continue;
                };
                log.push(format!("drop table {}", db.tables[ti].name));
                db.tables.remove(ti);
            }
            11 => {
                let parents: Vec<usize> = (0..db.tables.len())
                    .filter(|&i| {
                        db.tables[i].primary_key.as_ref().is_some_and(|k| {
                            k.columns.len() == 1
                                && db.tables[i].column(&k.columns[0]).is_some_and(|c| {
                                    matches!(c.ty.name.as_str(), "integer" | "bigint" | "uuid")
                                })
                        })
                    })
                    .collect();
                let Some(&pi) = rng.pick(&parents) else {
                    continue;
                };
                let parent = &db.tables[pi];
                let pk = parent.primary_key.as_ref().unwrap().columns[0].clone();
                let ty = parent.column(&pk).unwrap().ty.clone();
                let name = odd_or(rng, format!("mut_table_{k}"), k);
                let on_delete = *rng
                    .pick(&[RefAction::NoAction, RefAction::Cascade, RefAction::SetNull])
                    .unwrap();
                let table = Table {
                    name: QualifiedName::new("public", name.clone()),
                    columns: vec![
                        Column {
                            name: "id".into(),
                            ty: builtin("bigint"),
                            nullable: false,
                            default: None,
                            generated: Some(Generated::IdentityByDefault),
                            comment: None,
                        },
                        Column {
                            name: "parent_id".into(),
                            ty,
                            nullable: true,
                            default: None,
                            generated: None,
                            comment: Some("the parent".into()),
                        },
                        Column {
                            name: "label".into(),
                            ty: builtin("text"),
                            nullable: false,
                            default: Some(Expr("''::text".into())),
                            generated: None,
                            comment: None,
                        },
                    ],
                    primary_key: Some(Key {
                        name: format!("{name}_pkey"),
                        columns: vec!["id".into()],
                    }),
                    uniques: Vec::new(),
                    checks: Vec::new(),
                    foreign_keys: vec![ForeignKey {
                        name: format!("{name}_parent_id_fkey"),
                        columns: vec!["parent_id".into()],
                        references: parent.name.clone(),
                        referenced_columns: vec![pk],
                        on_delete,
                        on_update: RefAction::NoAction,
                        deferrable: true,
                        initially_deferred: false,
                    }],
                    indexes: Vec::new(),
                    comment: rng
                        .chance(50)
                        .then(|| format!("table added by mutation {k}")),
                };
                log.push(format!("add table {name} -> {}", parent.name));
                db.tables.push(table);
            }
            12 => {
                let Some((ti, ci)) = pick_column(db, rng, |_, _| true) else {
                    continue;
                };
                let Table { name, columns, .. } = &mut db.tables[ti];
                let col = &mut columns[ci];
                col.comment = match col.comment {
                    Some(_) if rng.chance(50) => None,
                    _ => Some(format!("note {k}: it's changed")),
                };
                log.push(format!("{}.{} comment", name, col.name));
            }
            14 => {
                let Some(e) = rng.pick(&(0..db.enums.len()).collect::<Vec<_>>()).copied() else {
                    continue;
                };
                let e = &mut db.enums[e];
                let at = 1 + rng.below(e.values.len());
                e.values.insert(at.min(e.values.len()), format!("mut_m{k}"));
                log.push(format!("insert value at {at} into {}", e.name));
            }
            15 => {
                let Some(e) = rng.pick(&(0..db.enums.len()).collect::<Vec<_>>()).copied() else {
                    continue;
                };
                let e = &mut db.enums[e];
                let (i, j) = (rng.below(e.values.len()), rng.below(e.values.len()));
                if i == j {
                    continue;
                }
                e.values.swap(i, j);
                log.push(format!("swap values {i} and {j} of {}", e.name));
            }
            16 => {
                let Some((ti, ci)) = pick_column(db, rng, |_, c| {
                    c.generated.is_none()
                        && c.ty.array_dims == 0
                        && matches!(c.ty.name.as_str(), "smallint" | "integer" | "bigint")
                }) else {
                    continue;
                };
                let t = &mut db.tables[ti];
                let check = CheckConstraint {
                    name: odd_or(rng, format!("mut_chk_{k}"), k),
                    expression: Expr(format!("{} >= 0", qi(&t.columns[ci].name))),
                };
                log.push(format!("add check {} on {}", check.name, t.name));
                t.checks.push(check);
            }
            17 => {
                let with: Vec<usize> = (0..db.tables.len())
                    .filter(|&i| !db.tables[i].foreign_keys.is_empty())
                    .collect();
                let Some(&ti) = rng.pick(&with) else { continue };
                let t = &mut db.tables[ti];
                let i = rng.below(t.foreign_keys.len());
                let actions = [
                    RefAction::NoAction,
                    RefAction::Cascade,
                    RefAction::Restrict,
                    RefAction::SetNull,
                ];
                let fk = &mut t.foreign_keys[i];
                fk.on_delete = *rng.pick(&actions).unwrap();
                fk.on_update = *rng.pick(&actions).unwrap();
                log.push(format!("actions of {} on {}", fk.name, t.name));
            }
            _ => {
                let Some(ti) = rng.pick(&(0..db.tables.len()).collect::<Vec<_>>()).copied() else {
                    continue;
                };
                let t = &mut db.tables[ti];
                t.comment = match t.comment {
                    Some(_) if rng.chance(50) => None,
                    _ => Some(format!("table note {k}")),
                };
                log.push(format!("{} comment", t.name));
            }
        }
    }
    db.normalize();
    log
}

/// Names that need quoting but that the reference still writes correctly (it does not escape
/// quote characters): spaces, capitals, keywords, semicolons, non-ASCII.
const ODD_NAMES: [&str; 7] = [
    "Select",
    "with space",
    "Ünï; code",
    "order",
    "CamelCase",
    "x;y",
    "名前",
];

/// `plain`, or three times in ten an odd name made unique with `k`.
fn odd_or(rng: &mut Rng, plain: String, k: usize) -> String {
    if rng.chance(30) {
        format!("{} {k}", rng.pick(&ODD_NAMES).unwrap())
    } else {
        plain
    }
}

/// A generated schema and a mutation of it.
fn generated_pair(seed: u64, tables: usize) -> (Case, Vec<String>) {
    let a = generated_dbml(tables, seed);
    let mut db = canonicalize(&compile("gen.dbml", &a).schema);
    let mut rng = Rng::new(seed);
    let count = 3 + rng.below(6);
    let log = mutate(&mut db, &mut rng, count);
    let b = nself::emit::dbml::to_dbml(&db);
    compile("mutated.dbml", &b);
    let case = Case {
        name: format!("gen_{seed}"),
        a,
        b,
        a_sql: None,
        b_sql: None,
        seed: Seed::OneRowPerTable,
        args: Vec::new(),
    };
    (case, log)
}

#[test]
fn mutation_is_deterministic_and_changes_something() {
    let (one, log) = generated_pair(3, 20);
    let (two, _) = generated_pair(3, 20);
    assert_eq!(one.b, two.b);
    assert!(!log.is_empty());
    let a = canonicalize(&compile("a", &one.a).schema);
    let b = canonicalize(&compile("b", &one.b).schema);
    assert_ne!(a, b, "mutations {log:?} changed nothing");
}

#[test]
fn generated_pairs_converge() {
    let mut cases: Vec<Case> = (1..=12)
        .map(|seed| {
            let (case, log) = generated_pair(seed, 20 + (seed as usize * 7) % 21);
            eprintln!("{}: {}", case.name, log.join("; "));
            case
        })
        .collect();
    // Everything created from nothing, and everything dropped.
    let whole = generated_dbml(25, 101);
    cases.push(Case {
        name: "gen_from_empty".into(),
        a: String::new(),
        b: whole.clone(),
        a_sql: None,
        b_sql: None,
        seed: Seed::None,
        args: Vec::new(),
    });
    cases.push(Case {
        name: "gen_to_empty".into(),
        a: whole,
        b: String::new(),
        a_sql: None,
        b_sql: None,
        seed: Seed::OneRowPerTable,
        args: Vec::new(),
    });
    if let Ok(only) = std::env::var("NSELF_DIFF_FILTER") {
        cases.retain(|c| c.name.contains(&only));
    }
    report("generated pairs", parallel(&cases, converge));
}

/// Imports on top of earlier ones: from an empty database to a generated schema and two
/// mutations of it, one import each (the middle one written without `--apply`, so `--check`
/// and the next import must count it as pending), then `migrate down` one import at a time
/// back to nothing, the catalog judged against the reference at every step.
#[test]
fn successive_imports_stack_and_unwind() {
    let first = generated_dbml(20, 21);
    let mut db = canonicalize(&compile("gen.dbml", &first).schema);
    let mut rng = Rng::new(21);
    let mut steps = vec![first];
    for _ in 0..2 {
        let log = mutate(&mut db, &mut rng, 5);
        eprintln!("step {}: {}", steps.len(), log.join("; "));
        steps.push(nself::emit::dbml::to_dbml(&db));
    }
    let case = |text: &String| Case {
        name: "stack".into(),
        a: String::new(),
        b: text.clone(),
        a_sql: None,
        b_sql: None,
        seed: Seed::None,
        args: Vec::new(),
    };
    let mut schemas: Vec<String> = steps
        .iter()
        .flat_map(|s| managed_schemas(&case(s)))
        .collect();
    schemas.sort();
    schemas.dedup();
    let mut references = Vec::new();
    for text in &steps {
        let sql = reference_sql(text, None).unwrap();
        let reference = build(&sql, "a step").unwrap();
        references.push(State::read(&reference, &schemas));
    }

    let live = fresh_database();
    let empty = State::read(&live, &schemas);
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("nself/migrations")).unwrap();
    let mut written = Vec::new();
    for (i, (text, reference)) in steps.iter().zip(&references).enumerate() {
        p.write("schema.dbml", text);
        let name = format!("step_{i}");
        let before = migrations(&p).len();
        let import = ["db", "schema", "import", "schema.dbml", "--name", &name];
        if i == 1 {
            let r = nself(&p, &live, &import);
            assert_eq!(r.code, 0, "{}", shown(&r));
            let check = nself(
                &p,
                &live,
                &["db", "schema", "import", "schema.dbml", "--check"],
            );
            assert_eq!(check.code, 0, "pending migrations count: {}", shown(&check));
            let dry = nself(
                &p,
                &live,
                &["db", "schema", "import", "schema.dbml", "--dry-run"],
            );
            assert!(dry.stdout.starts_with("No changes"), "{}", shown(&dry));
            nself(&p, &live, &["db", "migrate", "up"]).ok();
        } else {
            let r = nself(&p, &live, &[&import[..], &["--apply"]].concat());
            assert_eq!(r.code, 0, "{}", shown(&r));
        }
        let added = migrations(&p).len() - before;
        assert!((1..=2).contains(&added), "step {i} wrote {added} files");
        written.push(added);
        let names: Vec<String> = migrations(&p).into_iter().collect();
        assert!(
            names.iter().rev().take(added).all(|n| n.contains(&name)),
            "step {i}: {names:?}"
        );
        if let Some(d) = State::read(&live, &schemas).differences(reference) {
            panic!("after step {i} the catalog is not the reference's:\n{d}");
        }
    }
    for i in (0..steps.len()).rev() {
        nself(
            &p,
            &live,
            &["db", "migrate", "down", &written[i].to_string()],
        )
        .ok();
        let want = if i == 0 { &empty } else { &references[i - 1] };
        if let Some(d) = State::read(&live, &schemas).differences(want) {
            panic!("after undoing step {i} the catalog is not the previous step's:\n{d}");
        }
    }
}
