//! Putting the planned rows in: one transaction, `COPY` in batches, parents first, and taking
//! them out again ([`clear`]).
//!
//! Each table has its own RNG, seeded from the run's seed and the table's name, so a table's
//! rows do not depend on how many rows another table got except through the parent keys it
//! picks. Parent keys are read from the database after the parents are in (`ORDER BY` their
//! text in the "C" collation, so the order is the same on every machine), at most
//! [`MAX_PARENTS`] per foreign key. A batch the server rejects (a check mock could not read, a
//! unique index on an expression) is rolled back to its savepoint and sent again row by row;
//! a rejected row is generated again, at most [`TRIES`] times, and then the table and the
//! constraint are reported and the whole transaction rolled back.
//!
//! What mock inserted is recognised later by the transaction that inserted it: every row has
//! the inserting transaction's id in its `xmin`, and the run's id is recorded (`super::state`).
//! Deferred foreign keys are set by one `UPDATE` per key in the same transaction, so those
//! rows keep the run's id.

use super::plan::{label, Plan, Source, TablePlan};
use super::value::{copy_escape, Rng, Row};
use crate::sql::{quote_ident, QualifiedName as Q};
use postgres::{Client, GenericClient, Transaction};
use rand::{RngExt, SeedableRng};
use rustc_hash::FxHashSet;
use std::fmt;
use std::io::Write;

/// Parent keys read per foreign key.
pub const MAX_PARENTS: i64 = 100_000;
/// Rows already in a table whose keys are read to avoid (beyond that the server judges).
const MAX_EXISTING_KEYS: u64 = 1_000_000;
/// Rows per COPY.
const BATCH: usize = 5_000;
/// Times a row the server rejects is generated again.
pub const TRIES: u32 = 10;
/// Times a row that repeats a key is generated again before the table stops.
const KEY_TRIES: u32 = 50;

/// Told how the work goes (the CLI draws progress bars with it).
pub trait Progress {
    fn table(&mut self, _name: &str, _rows: u64) {}
    fn rows(&mut self, _n: u64) {}
    fn done(&mut self) {}
}

/// No progress shown.
pub struct Silent;
impl Progress for Silent {}

#[derive(Clone, Debug, serde::Serialize)]
pub struct TableReport {
    pub table: String,
    pub asked: u64,
    pub inserted: u64,
    /// Why fewer rows went in than asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short: Option<String>,
    /// Rows the server rejected and mock generated again.
    pub regenerated: u64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub tables: Vec<TableReport>,
    /// Rows whose deferred foreign keys were pointed at parents afterwards.
    pub deferred_updates: u64,
    /// The inserting transaction (32-bit, as `xmin` shows it).
    pub transaction: String,
    /// The sequences of the filled tables, as they were before the run.
    #[serde(skip)]
    pub sequences: Vec<SeqState>,
}

#[derive(Debug)]
pub enum MockError {
    Db {
        what: String,
        source: postgres::Error,
    },
    /// The server kept rejecting generated rows.
    Rejected {
        table: String,
        constraint: Option<String>,
        message: String,
    },
    /// A NOT NULL foreign key found no parent rows.
    NoParents { table: String, key: String },
    /// Clearing would touch rows mock did not insert.
    Referenced {
        child: String,
        parent: String,
        rows: i64,
    },
}

impl fmt::Display for MockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MockError::Db { what, source } => {
                write!(
                    f,
                    "{what}: {}",
                    crate::migrate::runner::server_message(source)
                )
            }
            MockError::Rejected {
                table,
                constraint,
                message,
            } => {
                write!(
                    f,
                    "{table}: the server rejected {TRIES} generated rows in a row"
                )?;
                if let Some(c) = constraint {
                    write!(f, " (constraint {c})")?;
                }
                write!(
                    f,
                    ": {message}. Nothing was inserted. Give the table no rows (`--{table} 0`) \
                     or relax the constraint"
                )
            }
            MockError::NoParents { table, key } => write!(
                f,
                "{table}: the NOT NULL foreign key {key} found no parent rows; nothing was \
                 inserted"
            ),
            MockError::Referenced {
                child,
                parent,
                rows,
            } => write!(
                f,
                "{rows} row(s) of {child} that mock did not insert reference mock rows of \
                 {parent}; clearing would delete or change them. Delete those rows first; \
                 nothing was cleared"
            ),
        }
    }
}

impl std::error::Error for MockError {}

fn db(what: impl Into<String>) -> impl FnOnce(postgres::Error) -> MockError {
    let what = what.into();
    move |source| MockError::Db { what, source }
}

fn q(name: &crate::ir::model::QualifiedName) -> Q {
    Q::new(name.schema.as_str(), name.name.as_str())
}

/// The RNG of one table: the first 8 bytes of SHA-256 over the seed and the table's name.
fn table_rng(seed: u64, table: &crate::ir::model::QualifiedName) -> Rng {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(table.schema.as_bytes());
    h.update([0]);
    h.update(table.name.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    Rng::seed_from_u64(u64::from_le_bytes(b))
}

/// The current transaction's id as `xmin` prints it.
pub fn transaction_id(tx: &mut Transaction<'_>) -> Result<String, MockError> {
    let row = tx
        .query_one(
            "SELECT (pg_current_xact_id()::text::bigint % 4294967296)::text",
            &[],
        )
        .map_err(db("reading the transaction id"))?;
    Ok(row.get(0))
}

/// Inserts the plan's rows in `tx` (the caller commits).
///
/// `sequences` are the tables' sequences as [`sequences_before`] read them (the caller keeps a
/// copy to set them back if the transaction does not commit: sequences are not transactional).
pub fn insert(
    tx: &mut Transaction<'_>,
    plan: &Plan,
    seed: u64,
    sequences: Vec<SeqState>,
    progress: &mut dyn Progress,
) -> Result<Report, MockError> {
    let xid = transaction_id(tx)?;
    let mut report = Report {
        tables: Vec::new(),
        deferred_updates: 0,
        transaction: xid.clone(),
        sequences,
    };
    for t in &plan.tables {
        progress.table(&label(&t.name), t.rows);
        let r = fill(tx, t, seed, progress)?;
        progress.done();
        report.tables.push(r);
    }
    for t in &plan.tables {
        for f in t.foreign_keys.iter().filter(|f| f.deferred) {
            report.deferred_updates += point_deferred(tx, t, f, &xid, seed)?;
        }
    }
    Ok(report)
}

/// A sequence and its state (`last_value`, `is_called`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SeqState {
    pub schema: String,
    pub name: String,
    pub last: i64,
    pub called: bool,
}

/// The sequences behind the identity and serial columns of the planned tables, with their
/// state before the run.
pub fn sequences_before(tx: &mut Transaction<'_>, plan: &Plan) -> Result<Vec<SeqState>, MockError> {
    let mut out = Vec::new();
    for t in &plan.tables {
        for c in &t.columns {
            if !matches!(&c.source, Source::Database(w) if w == "identity" || w == "serial") {
                continue;
            }
            // The column argument is taken literally; the table is parsed as SQL.
            let row = tx
                .query_opt(
                    "SELECT n.nspname::text, s.relname::text FROM pg_catalog.pg_class s \
                     JOIN pg_catalog.pg_namespace n ON n.oid = s.relnamespace \
                     WHERE s.oid = pg_catalog.pg_get_serial_sequence($1, $2)::regclass",
                    &[&q(&t.name).to_string(), &c.name],
                )
                .map_err(db(format!(
                    "finding the sequence of {}.{}",
                    label(&t.name),
                    c.name
                )))?;
            let Some(row) = row else {
                continue;
            };
            let (schema, name): (String, String) = (row.get(0), row.get(1));
            let seq = Q::new(schema.as_str(), name.as_str());
            let state = tx
                .query_one(&format!("SELECT last_value, is_called FROM {seq}"), &[])
                .map_err(db(format!("reading sequence {seq}")))?;
            out.push(SeqState {
                schema,
                name,
                last: state.get(0),
                called: state.get(1),
            });
        }
    }
    Ok(out)
}

/// What one table's rows are made with.
struct Maker<'p> {
    t: &'p TablePlan,
    rng: Rng,
    /// Parent key tuples per foreign key (empty for deferred ones).
    parents: Vec<Vec<Vec<String>>>,
    /// The next unused parent of a `distinct` foreign key, in a shuffled order.
    distinct_next: Vec<usize>,
    distinct_order: Vec<Vec<usize>>,
    /// Key tuples already used, per key (the table's old rows, and this run's for keys
    /// that are not unique by construction).
    used: Vec<FxHashSet<Vec<String>>>,
    /// The row counter (`Row::n`): starts after the rows already in the table.
    n: u64,
    /// Use every constant default (a row the server rejected is made again with them: a
    /// column's default usually passes its checks).
    defaults: bool,
}

/// Why a row could not be made.
enum NoRow {
    /// A key or a distinct foreign key ran out of values: the table stops here.
    Exhausted(String),
    /// A NOT NULL foreign key has no parents.
    NoParents(String),
}

impl Maker<'_> {
    /// One row's values, by column (None is NULL); `None` for the columns the database fills.
    fn row(&mut self) -> Result<Vec<Option<String>>, NoRow> {
        let t = self.t;
        for _ in 0..KEY_TRIES {
            self.n += 1;
            let row = Row::new(&mut self.rng, self.n);
            let mut values: Vec<Option<String>> = vec![None; t.columns.len()];
            for (fi, f) in t.foreign_keys.iter().enumerate() {
                if f.deferred {
                    continue;
                }
                let owned: Vec<usize> = f
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(_, &ci)| matches!(t.columns[ci].source, Source::Foreign { fk, .. } if fk == fi))
                    .map(|(p, _)| p)
                    .collect();
                if owned.is_empty() {
                    continue;
                }
                let parents = &self.parents[fi];
                if f.nullable && (parents.is_empty() || self.rng.random_range(0..10) == 0) {
                    continue;
                }
                let pick = if parents.is_empty() {
                    return Err(NoRow::NoParents(f.name.clone()));
                } else if f.distinct {
                    let Some(&p) = self.distinct_order[fi].get(self.distinct_next[fi]) else {
                        return Err(NoRow::Exhausted(format!(
                            "each row needs its own row of {} and there are {}",
                            label(&f.parent),
                            parents.len()
                        )));
                    };
                    self.distinct_next[fi] += 1;
                    p
                } else {
                    // A column shared with an earlier key must agree with it.
                    let fixed: Vec<(usize, &String)> = f
                        .columns
                        .iter()
                        .enumerate()
                        .filter_map(|(p, &ci)| values[ci].as_ref().map(|v| (p, v)))
                        .collect();
                    if fixed.is_empty() {
                        self.rng.random_range(0..parents.len())
                    } else {
                        let fits: Vec<usize> = (0..parents.len())
                            .filter(|&i| fixed.iter().all(|(p, v)| &parents[i][*p] == *v))
                            .collect();
                        if fits.is_empty() {
                            continue;
                        }
                        fits[self.rng.random_range(0..fits.len())]
                    }
                };
                for p in owned {
                    values[f.columns[p]] = Some(parents[pick][p].clone());
                }
            }
            for (ci, c) in t.columns.iter().enumerate() {
                if let Source::Value {
                    gen,
                    nulls,
                    default,
                } = &c.source
                {
                    if *nulls && self.rng.random_range(0..10) == 0 {
                        continue;
                    }
                    if let Some(d) = default {
                        if self.defaults || self.rng.random_range(0..4) == 0 {
                            values[ci] = Some(d.clone());
                            continue;
                        }
                    }
                    let mut s = String::new();
                    gen.draw(&mut self.rng, &row, &mut s);
                    values[ci] = Some(s);
                }
            }
            // Keys: a tuple with a NULL never collides.
            let tuples: Vec<Option<Vec<String>>> = t
                .keys
                .iter()
                .map(|k| k.columns.iter().map(|&ci| values[ci].clone()).collect())
                .collect();
            let clash = tuples
                .iter()
                .zip(&self.used)
                .any(|(tuple, used)| tuple.as_ref().is_some_and(|v| used.contains(v)));
            if clash {
                continue;
            }
            for ((tuple, used), k) in tuples.into_iter().zip(&mut self.used).zip(&t.keys) {
                if let (Some(v), false) = (tuple, k.constructive) {
                    used.insert(v);
                }
            }
            return Ok(values);
        }
        let key = t.keys.first().map_or("a key", |k| k.name.as_str());
        Err(NoRow::Exhausted(format!(
            "{KEY_TRIES} rows in a row repeated a value of {key}: it has no more distinct values"
        )))
    }
}

/// Appends the COPY text of `rows` rows of a table that needs no parent rows, as
/// [`insert`] makes them, without a database (what `benches/mock.rs` measures: the
/// generator's share of a run). Stops early where the table would.
pub fn render(t: &TablePlan, seed: u64, rows: u64, out: &mut String) -> u64 {
    let mut maker = Maker {
        t,
        rng: table_rng(seed, &t.name),
        parents: vec![Vec::new(); t.foreign_keys.len()],
        distinct_next: vec![0; t.foreign_keys.len()],
        distinct_order: vec![Vec::new(); t.foreign_keys.len()],
        used: vec![FxHashSet::default(); t.keys.len()],
        n: 0,
        defaults: false,
    };
    let mut made = 0;
    for _ in 0..rows {
        let Ok(values) = maker.row() else { break };
        line(t, &values, out);
        made += 1;
    }
    made
}

/// Appends a row as a line of COPY text.
fn line(t: &TablePlan, values: &[Option<String>], out: &mut String) {
    let mut first = true;
    for ci in t.written() {
        if !first {
            out.push('\t');
        }
        first = false;
        match &values[ci] {
            Some(v) => copy_escape(v, out),
            None => out.push_str("\\N"),
        }
    }
    out.push('\n');
}

/// Reads the key tuples of `table` (none NULL) as text: with `limit`, at most that many in a
/// fixed order (their text in the "C" collation, the same on every machine); without, all of
/// them in no order.
fn key_tuples(
    tx: &mut Transaction<'_>,
    table: &crate::ir::model::QualifiedName,
    columns: &[String],
    limit: Option<i64>,
) -> Result<Vec<Vec<String>>, MockError> {
    let cols: Vec<String> = columns
        .iter()
        .map(|c| quote_ident(c).into_owned())
        .collect();
    let select: Vec<String> = cols.iter().map(|c| format!("{c}::text")).collect();
    let not_null: Vec<String> = cols.iter().map(|c| format!("{c} IS NOT NULL")).collect();
    let mut sql = format!(
        "SELECT {} FROM {} WHERE {}",
        select.join(", "),
        q(table),
        not_null.join(" AND ")
    );
    if let Some(n) = limit {
        let order: Vec<String> = cols
            .iter()
            .map(|c| format!("{c}::text COLLATE \"C\""))
            .collect();
        sql.push_str(&format!(" ORDER BY {} LIMIT {n}", order.join(", ")));
    }
    let rows = tx
        .query(&sql, &[])
        .map_err(db(format!("reading the keys of {}", label(table))))?;
    Ok(rows
        .iter()
        .map(|r| (0..columns.len()).map(|i| r.get::<_, String>(i)).collect())
        .collect())
}

fn fill(
    tx: &mut Transaction<'_>,
    t: &TablePlan,
    seed: u64,
    progress: &mut dyn Progress,
) -> Result<TableReport, MockError> {
    let name = label(&t.name);
    let mut rng = table_rng(seed, &t.name);
    let mut parents = Vec::new();
    let mut distinct_order = Vec::new();
    for f in &t.foreign_keys {
        let keys = if f.deferred {
            Vec::new()
        } else {
            key_tuples(tx, &f.parent, &f.parent_columns, Some(MAX_PARENTS))?
        };
        let mut order: Vec<usize> = Vec::new();
        if f.distinct {
            order = (0..keys.len()).collect();
            // Fisher–Yates with the table's RNG.
            for i in (1..order.len()).rev() {
                let j = rng.random_range(0..=i);
                order.swap(i, j);
            }
        }
        distinct_order.push(order);
        parents.push(keys);
    }
    let mut used = Vec::new();
    for k in &t.keys {
        let mut set = FxHashSet::default();
        if t.existing > 0 && t.existing <= MAX_EXISTING_KEYS {
            let names: Vec<String> = k
                .columns
                .iter()
                .map(|&ci| t.columns[ci].name.clone())
                .collect();
            for tuple in key_tuples(tx, &t.name, &names, None)? {
                set.insert(tuple);
            }
        }
        used.push(set);
    }
    let mut maker = Maker {
        t,
        rng,
        parents,
        distinct_next: vec![0; t.foreign_keys.len()],
        distinct_order,
        used,
        n: t.existing,
        defaults: false,
    };
    let written: Vec<usize> = t.written().collect();
    let mut report = TableReport {
        table: name.clone(),
        asked: t.rows,
        inserted: 0,
        short: None,
        regenerated: 0,
    };
    if written.is_empty() {
        // Every column is the database's: let it fill them all.
        let n = i64::try_from(t.rows).unwrap_or(i64::MAX);
        let done = tx
            .execute(
                &format!(
                    "INSERT INTO {} SELECT FROM generate_series(1, $1::bigint)",
                    q(&t.name)
                ),
                &[&n],
            )
            .map_err(db(format!("inserting into {name}")))?;
        report.inserted = done;
        progress.rows(done);
        return Ok(report);
    }
    let columns: Vec<String> = written
        .iter()
        .map(|&ci| quote_ident(&t.columns[ci].name).into_owned())
        .collect();
    let copy = format!("COPY {} ({}) FROM STDIN", q(&t.name), columns.join(", "));
    let judge = Judge::new(t);
    let mut left = t.rows;
    let mut text = String::new();
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    while left > 0 {
        rows.clear();
        let want = left.min(BATCH as u64);
        for _ in 0..want {
            match maker.row() {
                Ok(values) => rows.push(values),
                Err(NoRow::Exhausted(why)) => {
                    report.short = Some(why);
                    break;
                }
                Err(NoRow::NoParents(key)) => {
                    return Err(MockError::NoParents {
                        table: name.clone(),
                        key,
                    })
                }
            }
        }
        if rows.is_empty() {
            break;
        }
        if let Some(judge) = &judge {
            report.regenerated += judge.settle(tx, &mut rows, &mut maker, &name)?;
        }
        text.clear();
        for r in &rows {
            line(t, r, &mut text);
        }
        let sent = rows.len() as u64;
        copy_rows(tx, &copy, &text).map_err(|e| rejected_or_db(&name, e))?;
        report.inserted += sent;
        progress.rows(sent);
        left -= want;
        if report.short.is_some() {
            break;
        }
    }
    Ok(report)
}

/// A COPY the server refused: the table and the constraint it named.
fn rejected_or_db(table: &str, e: postgres::Error) -> MockError {
    match e.as_db_error() {
        Some(d) if d.code().code().starts_with("23") => MockError::Rejected {
            table: table.to_owned(),
            constraint: d.constraint().map(str::to_owned),
            message: d.message().to_owned(),
        },
        _ => MockError::Db {
            what: format!("inserting into {table}"),
            source: e,
        },
    }
}

fn copy_rows(tx: &mut Transaction<'_>, copy: &str, text: &str) -> Result<u64, postgres::Error> {
    let mut w = tx.copy_in(copy)?;
    // When the server ends the COPY early, finishing reports its error.
    let _ = w.write_all(text.as_bytes());
    w.finish()
}

/// The server's verdict on generated rows before they are inserted: the table's checks
/// evaluated over the rows cast to the columns' types (which also runs domains' checks), in a
/// query that writes nothing. Rows are never inserted inside a savepoint, so every row of a run
/// carries the run's own transaction id.
struct Judge {
    /// `SELECT n, <failed check names> FROM unnest($1::text[], …) … WHERE NOT all checks`.
    sql: String,
}

impl Judge {
    /// `None` when the table has no check to ask about and no domain-typed column.
    fn new(t: &TablePlan) -> Option<Judge> {
        let usable: Vec<&(String, String)> = t
            .checks
            .iter()
            .filter(|(_, e)| crate::sql::expr::one_expression(e).is_ok())
            .collect();
        if usable.is_empty() && !t.domains {
            return None;
        }
        let written: Vec<usize> = t.written().collect();
        let args: Vec<String> = (0..written.len())
            .map(|i| format!("${}::text[]", i + 1))
            .collect();
        let names: Vec<String> = (0..written.len()).map(|i| format!("a{i}")).collect();
        let cast: Vec<String> = t
            .columns
            .iter()
            .enumerate()
            .map(|(ci, c)| match written.iter().position(|&w| w == ci) {
                Some(p) => format!("u.a{p}::{} AS {}", c.ty, quote_ident(&c.name)),
                None => format!("NULL::{} AS {}", c.ty, quote_ident(&c.name)),
            })
            .collect();
        let failed: Vec<String> = usable
            .iter()
            .map(|(n, e)| {
                format!(
                    "CASE WHEN ({e}) IS FALSE THEN {} END",
                    crate::sql::quote_literal(n)
                )
            })
            .collect();
        let any_failed = if usable.is_empty() {
            "false".to_owned()
        } else {
            usable
                .iter()
                .map(|(_, e)| format!("({e}) IS FALSE"))
                .collect::<Vec<_>>()
                .join(" OR ")
        };
        let sql = format!(
            "SELECT v.n::bigint, array_remove(ARRAY[{}]::text[], NULL) FROM \
             (SELECT u.n, {} FROM unnest({}) WITH ORDINALITY AS u({}, n)) v WHERE {any_failed}",
            if failed.is_empty() {
                "NULL".to_owned()
            } else {
                failed.join(", ")
            },
            cast.join(", "),
            args.join(", "),
            names.join(", "),
        );
        Some(Judge { sql })
    }

    /// The rows (0-based) the server rejects, with a constraint each; a row whose cast fails
    /// (a domain's check) is found by asking row by row.
    fn rejected(
        &self,
        tx: &mut Transaction<'_>,
        t: &TablePlan,
        rows: &[Vec<Option<String>>],
    ) -> Result<Vec<(usize, Option<String>, String)>, postgres::Error> {
        let written: Vec<usize> = t.written().collect();
        let ask = |tx: &mut Transaction<'_>, rows: &[Vec<Option<String>>]| {
            let arrays: Vec<Vec<Option<String>>> = written
                .iter()
                .map(|&ci| rows.iter().map(|r| r[ci].clone()).collect())
                .collect();
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> = arrays
                .iter()
                .map(|a| a as &(dyn postgres::types::ToSql + Sync))
                .collect();
            let mut sp = tx.savepoint("nself_mock_judge")?;
            let out = sp.query(&self.sql, &params);
            match out {
                Ok(r) => {
                    sp.commit()?;
                    Ok(r)
                }
                Err(e) => {
                    sp.rollback()?;
                    Err(e)
                }
            }
        };
        match ask(tx, rows) {
            Ok(found) => Ok(found
                .iter()
                .map(|r| {
                    let n: i64 = r.get(0);
                    let names: Vec<String> = r.get(1);
                    let i = usize::try_from(n - 1).unwrap_or(0);
                    let c = names.first().cloned();
                    let m = format!(
                        "check constraint {:?} is false",
                        c.clone().unwrap_or_default()
                    );
                    (i, c, m)
                })
                .collect()),
            Err(e) if e.as_db_error().is_some() => {
                let mut bad = Vec::new();
                for (i, r) in rows.iter().enumerate() {
                    match ask(tx, std::slice::from_ref(r)) {
                        Ok(found) if found.is_empty() => {}
                        Ok(found) => {
                            let names: Vec<String> = found[0].get(1);
                            let c = names.first().cloned();
                            bad.push((
                                i,
                                c.clone(),
                                format!("check constraint {:?} is false", c.unwrap_or_default()),
                            ));
                        }
                        Err(e) => match e.as_db_error() {
                            Some(d) => bad.push((
                                i,
                                d.constraint().map(str::to_owned),
                                d.message().to_owned(),
                            )),
                            None => return Err(e),
                        },
                    }
                }
                Ok(bad)
            }
            Err(e) => Err(e),
        }
    }

    /// Makes the rejected rows again until the server accepts them all, at most [`TRIES`]
    /// times (from the second try on with the columns' constant defaults). Returns how many
    /// rows were made again.
    fn settle(
        &self,
        tx: &mut Transaction<'_>,
        rows: &mut [Vec<Option<String>>],
        maker: &mut Maker<'_>,
        table: &str,
    ) -> Result<u64, MockError> {
        let mut regenerated = 0;
        for attempt in 0..=TRIES {
            let bad = self
                .rejected(tx, maker.t, rows)
                .map_err(db(format!("checking the rows of {table}")))?;
            let Some((_, constraint, message)) = bad.first().cloned() else {
                return Ok(regenerated);
            };
            if attempt == TRIES {
                return Err(MockError::Rejected {
                    table: table.to_owned(),
                    constraint,
                    message,
                });
            }
            maker.defaults = attempt > 0;
            for (i, _, _) in &bad {
                match maker.row() {
                    Ok(values) => rows[*i] = values,
                    Err(_) => {
                        maker.defaults = false;
                        return Err(MockError::Rejected {
                            table: table.to_owned(),
                            constraint: constraint.clone(),
                            message: message.clone(),
                        });
                    }
                }
                regenerated += 1;
            }
            maker.defaults = false;
        }
        Ok(regenerated)
    }
}

/// Points the rows this run inserted at parent rows for a deferred foreign key: a
/// self-reference at an earlier row of the run (a forest: the first row, and about one in
/// ten, stay roots), another table's key at one of its rows. Returns the rows changed.
fn point_deferred(
    tx: &mut Transaction<'_>,
    t: &TablePlan,
    f: &super::plan::ForeignPlan,
    xid: &str,
    seed: u64,
) -> Result<u64, MockError> {
    let child = q(&t.name);
    let parent = q(&f.parent);
    let pcols: Vec<String> = f
        .parent_columns
        .iter()
        .map(|c| quote_ident(c).into_owned())
        .collect();
    let set: Vec<String> = f
        .columns
        .iter()
        .zip(0..)
        .map(|(&ci, i)| format!("{} = p.k{i}", quote_ident(&t.columns[ci].name)))
        .collect();
    let keys: Vec<String> = pcols
        .iter()
        .zip(0..)
        .map(|(c, i)| format!("{c} AS k{i}"))
        .collect();
    let not_null: Vec<String> = pcols.iter().map(|c| format!("{c} IS NOT NULL")).collect();
    let salt = i64::try_from(seed % 1_000_003).unwrap_or(0);
    let sql = if f.parent == t.name {
        format!(
            "WITH kids AS (SELECT ctid AS tid, row_number() OVER (ORDER BY ctid) AS n \
                           FROM {child} WHERE xmin::text = $1), \
                  p AS (SELECT {keys}, row_number() OVER (ORDER BY ctid) AS i \
                        FROM {child} WHERE xmin::text = $1 AND {nn}) \
             UPDATE {child} SET {set} FROM kids, p \
             WHERE {child}.ctid = kids.tid AND kids.n > 1 AND (kids.n * 31 + $2) % 10 <> 0 \
               AND p.i = 1 + (kids.n * 7919 + $2) % (kids.n - 1)",
            keys = keys.join(", "),
            nn = not_null.join(" AND "),
            set = set.join(", "),
        )
    } else {
        let order: Vec<String> = pcols
            .iter()
            .map(|c| format!("{c}::text COLLATE \"C\""))
            .collect();
        let pick = if f.distinct {
            "p.i = kids.n"
        } else {
            "p.i = 1 + (kids.n * 7919 + $2) % m.m"
        };
        format!(
            "WITH kids AS (SELECT ctid AS tid, row_number() OVER (ORDER BY ctid) AS n \
                           FROM {child} WHERE xmin::text = $1), \
                  p AS (SELECT {keys}, row_number() OVER (ORDER BY {order}) AS i \
                        FROM {parent} WHERE {nn}), \
                  m AS (SELECT count(*) AS m FROM p) \
             UPDATE {child} SET {set} FROM kids, m, p \
             WHERE {child}.ctid = kids.tid AND m.m > 0 AND (kids.n * 31 + $2) % 10 <> 0 AND {pick}",
            keys = keys.join(", "),
            order = order.join(", "),
            nn = not_null.join(" AND "),
            set = set.join(", "),
        )
    };
    tx.execute(&sql, &[&xid, &salt]).map_err(db(format!(
        "pointing {} at {} ({})",
        label(&t.name),
        label(&f.parent),
        f.name
    )))
}

/// Sets each sequence back to its state before the run when no row of its table holds a
/// value it handed out since (after a rollback, or after `--clear`).
pub fn rewind_sequences(
    client: &mut impl GenericClient,
    sequences: &[SeqState],
) -> Result<(), MockError> {
    for s in sequences {
        let seq = Q::new(s.schema.as_str(), s.name.as_str());
        let owner = client
            .query_opt(
                "SELECT tn.nspname::text, t.relname::text, a.attname::text \
                 FROM pg_catalog.pg_class sc \
                 JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace \
                 JOIN pg_catalog.pg_depend d ON d.objid = sc.oid \
                  AND d.classid = 'pg_catalog.pg_class'::regclass \
                  AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i') \
                 JOIN pg_catalog.pg_class t ON t.oid = d.refobjid \
                 JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace \
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid \
                 WHERE sn.nspname = $1 AND sc.relname = $2",
                &[&s.schema, &s.name],
            )
            .map_err(db(format!("reading the owner of sequence {seq}")))?;
        let Some(owner) = owner else {
            continue;
        };
        let (schema, table, column): (String, String, String) =
            (owner.get(0), owner.get(1), owner.get(2));
        let next = if s.called { s.last + 1 } else { s.last };
        let max: Option<i64> = client
            .query_one(
                &format!(
                    "SELECT max({})::bigint FROM {}",
                    quote_ident(&column),
                    Q::new(schema.as_str(), table.as_str())
                ),
                &[],
            )
            .map_err(db(format!("reading the largest value of {table}.{column}")))?
            .get(0);
        if max.is_none_or(|m| m < next) {
            client
                .execute(
                    "SELECT pg_catalog.setval($1::text::regclass, $2, $3)",
                    &[&seq.to_string(), &s.last, &s.called],
                )
                .map_err(db(format!("setting sequence {seq} back")))?;
        }
    }
    Ok(())
}

/// How many rows `--clear` removed from each table.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Cleared {
    pub table: String,
    pub rows: i64,
}

/// Deletes the rows the runs `xids` inserted into `tables`, in one statement (so foreign keys
/// between them are checked once, after all are gone). Refuses when a row mock did not insert
/// references one it did.
pub fn clear(
    tx: &mut Transaction<'_>,
    db_schema: &crate::ir::canonical::Database,
    xids: &[String],
) -> Result<Vec<Cleared>, MockError> {
    let xids: Vec<String> = xids.to_vec();
    for t in &db_schema.tables {
        for f in &t.foreign_keys {
            let on: Vec<String> = f
                .columns
                .iter()
                .zip(&f.referenced_columns)
                .map(|(c, p)| format!("c.{} = p.{}", quote_ident(c), quote_ident(p)))
                .collect();
            let sql = format!(
                "SELECT count(*) FROM {} c JOIN {} p ON {} \
                 WHERE p.xmin::text = ANY($1) AND NOT (c.xmin::text = ANY($1))",
                q(&t.name),
                q(&f.references),
                on.join(" AND ")
            );
            let n: i64 = tx
                .query_one(&sql, &[&xids])
                .map_err(db(format!(
                    "checking what references mock rows of {}",
                    label(&f.references)
                )))?
                .get(0);
            if n > 0 {
                return Err(MockError::Referenced {
                    child: label(&t.name),
                    parent: label(&f.references),
                    rows: n,
                });
            }
        }
    }
    if db_schema.tables.is_empty() {
        return Ok(Vec::new());
    }
    let mut ctes = Vec::new();
    let mut counts = Vec::new();
    for (i, t) in db_schema.tables.iter().enumerate() {
        ctes.push(format!(
            "d{i} AS (DELETE FROM {} WHERE xmin::text = ANY($1) RETURNING 1)",
            q(&t.name)
        ));
        counts.push(format!("(SELECT count(*) FROM d{i})"));
    }
    let sql = format!("WITH {} SELECT {}", ctes.join(", "), counts.join(", "));
    let row = tx
        .query_one(&sql, &[&xids])
        .map_err(db("deleting the mock rows"))?;
    Ok(db_schema
        .tables
        .iter()
        .enumerate()
        .map(|(i, t)| Cleared {
            table: label(&t.name),
            rows: row.get(i),
        })
        .filter(|c| c.rows > 0)
        .collect())
}

/// Opens the transaction every mock change runs in.
pub fn begin(client: &mut Client) -> Result<Transaction<'_>, MockError> {
    client.transaction().map_err(db("starting a transaction"))
}
