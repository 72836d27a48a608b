//! The plan: which tables get how many rows, in which order, and what each column gets.
//!
//! [`plan`] works on the canonical schema the catalog reader produced plus a few [`Facts`]
//! the canonical form does not carry (stored generated columns, domains' base types, the rows
//! already in each table). It never does I/O and never fails on a schema it does not
//! understand: a column it cannot fill is left to its default or NULL, and only a column that
//! can be neither (NOT NULL, no default, a type mock cannot make) or a cycle of NOT NULL
//! foreign keys stops the plan, by name.
//!
//! Order: parents before children (petgraph's topological order of the foreign-key graph over
//! the tables that get rows). A foreign key whose columns are all nullable and that closes a
//! cycle (a self-reference, or an edge inside a strongly connected component) is *deferred*:
//! its rows go in with NULL there, and `super::run` points them at parent rows afterwards.

use super::checks::{self, Bounds};
use super::value::{self, Gen};
use crate::ir::canonical::{Database, Expr, IndexKey, Table};
use crate::ir::model::QualifiedName;
use crate::ir::pgtypes::PgType;
use petgraph::graph::{DiGraph, NodeIndex};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;
use std::fmt;

/// What the plan needs to know about the database besides its schema.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// Stored generated columns (`GENERATED ALWAYS AS (…) STORED`), by table and column.
    pub generated: FxHashSet<(QualifiedName, String)>,
    /// Domains by schema and name: their base type.
    pub domains: FxHashMap<QualifiedName, PgType>,
    /// Rows already in each table.
    pub rows: FxHashMap<QualifiedName, u64>,
}

/// What was asked: a count per table (`--users 100`, `--app.posts 5`) and the count of every
/// other table.
#[derive(Clone, Debug)]
pub struct Request {
    pub counts: Vec<(String, u64)>,
    pub default_rows: u64,
}

#[derive(Clone, Debug)]
pub struct Plan {
    /// In insertion order (parents first). Tables asked for 0 rows are not here.
    pub tables: Vec<TablePlan>,
    /// Tables that get no rows, and why.
    pub skipped: Vec<(QualifiedName, String)>,
}

#[derive(Clone, Debug)]
pub struct TablePlan {
    pub name: QualifiedName,
    pub rows: u64,
    /// Rows the table held before.
    pub existing: u64,
    /// Every column, in attribute order.
    pub columns: Vec<ColumnPlan>,
    pub foreign_keys: Vec<ForeignPlan>,
    /// Unique keys the generator guards (not those with a column the database fills).
    pub keys: Vec<KeyPlan>,
    /// Why the number of rows may come out lower than asked (a key with few values).
    pub note: Option<String>,
    /// The table's checks (name, expression as the catalog prints it): the server judges
    /// generated rows by them before they go in.
    pub checks: Vec<(String, String)>,
    /// A column's type is a domain (whose checks the cast runs).
    pub domains: bool,
}

impl TablePlan {
    /// The columns the rows carry (those the database does not fill), as indexes.
    pub fn written(&self) -> impl Iterator<Item = usize> + '_ {
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, c)| !matches!(c.source, Source::Database(_)))
            .map(|(i, _)| i)
    }
}

#[derive(Clone, Debug)]
pub struct ColumnPlan {
    pub name: String,
    pub ty: PgType,
    pub source: Source,
}

#[derive(Clone, Debug)]
pub enum Source {
    /// Left out of the rows: the database fills it (identity, serial, a generated column, a
    /// default of a type mock cannot make). The text says which.
    Database(String),
    /// Always NULL; the text says why.
    Null(String),
    /// From the parent rows of foreign key `fk` (its `position`-th column).
    Foreign { fk: usize, position: usize },
    Value {
        gen: Gen,
        /// NULL in about one row in ten.
        nulls: bool,
        /// The column's constant default, used in about one row in four.
        default: Option<String>,
    },
}

impl Source {
    pub fn describe(&self, table: &TablePlan) -> String {
        match self {
            Source::Database(why) => format!("left to the database ({why})"),
            Source::Null(why) => format!("NULL ({why})"),
            Source::Foreign { fk, position } => {
                let f = &table.foreign_keys[*fk];
                let mut s = format!(
                    "{}.{} of {} parent rows",
                    crate::sql::QualifiedName::new(
                        f.parent.schema.as_str(),
                        f.parent.name.as_str()
                    ),
                    crate::sql::quote_ident(&f.parent_columns[*position]),
                    if f.distinct { "distinct" } else { "existing" }
                );
                if f.deferred {
                    s.push_str(", set after all rows are in (cycle)");
                } else if f.nullable {
                    s.push_str(", NULL in one row in ten");
                }
                s
            }
            Source::Value {
                gen,
                nulls,
                default,
            } => {
                let mut s = gen.describe();
                if *nulls {
                    s.push_str("; NULL in one row in ten");
                }
                if let Some(d) = default {
                    s.push_str(&format!("; its default {d:?} in one row in four"));
                }
                s
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct ForeignPlan {
    pub name: String,
    /// Column indexes in the table, in the constraint's order.
    pub columns: Vec<usize>,
    pub parent: QualifiedName,
    pub parent_columns: Vec<String>,
    /// Every column is nullable (a row may leave it NULL).
    pub nullable: bool,
    /// Filled after every table's rows are in (it closes a cycle).
    pub deferred: bool,
    /// The columns are a unique key of the table: each parent row is used once.
    pub distinct: bool,
}

#[derive(Clone, Debug)]
pub struct KeyPlan {
    pub name: String,
    pub columns: Vec<usize>,
    /// A column's generator makes the key unique within the run: only the rows already in
    /// the table need checking.
    pub constructive: bool,
}

/// Why there is no plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// `--NAME N` names no table (with the closest names).
    UnknownTable {
        name: String,
        suggestion: Option<String>,
    },
    /// `--NAME N` names a table in two schemas.
    Ambiguous {
        name: String,
        candidates: Vec<String>,
    },
    /// A NOT NULL column mock cannot fill.
    Unfillable {
        table: String,
        column: String,
        why: String,
    },
    /// Tables whose NOT NULL foreign keys form a cycle.
    Cycle {
        tables: Vec<String>,
        keys: Vec<String>,
    },
    /// A NOT NULL foreign key to a table that will have no rows.
    NoParents {
        table: String,
        key: String,
        parent: String,
    },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::UnknownTable { name, suggestion } => {
                write!(f, "there is no table `{name}` in the managed schemas")?;
                match suggestion {
                    Some(s) => write!(f, "; did you mean `--{s}`?"),
                    None => Ok(()),
                }
            }
            PlanError::Ambiguous { name, candidates } => write!(
                f,
                "`{name}` names a table in more than one schema: write one of --{}",
                candidates.join(", --")
            ),
            PlanError::Unfillable { table, column, why } => write!(
                f,
                "{table}.{column}: {why}; give the table no rows (`--{table} 0`) or a default to \
                 the column"
            ),
            PlanError::Cycle { tables, keys } => write!(
                f,
                "the NOT NULL foreign keys {} form a cycle between {}: no row of one can go in \
                 before a row of the other. Give one of them no rows (`--{} 0`) or make one of \
                 the keys nullable",
                keys.join(", "),
                tables.join(", "),
                tables.first().map_or("TABLE", String::as_str)
            ),
            PlanError::NoParents { table, key, parent } => write!(
                f,
                "{table} cannot get rows: its NOT NULL foreign key {key} needs rows in {parent}, \
                 which has none and gets none; ask for some (`--{parent} 10`)"
            ),
        }
    }
}

/// `schema.table` for messages (`table` alone in `public`).
pub fn label(name: &QualifiedName) -> String {
    if name.schema == "public" {
        name.name.clone()
    } else {
        format!("{}.{}", name.schema, name.name)
    }
}

/// Resolves `--NAME` to a table: `schema.table`, or a table name in one schema.
fn resolve<'d>(db: &'d Database, name: &str) -> Result<&'d Table, PlanError> {
    let by_label: Vec<&Table> = db
        .tables
        .iter()
        .filter(|t| label(&t.name) == name || format!("{}.{}", t.name.schema, t.name.name) == name)
        .collect();
    if let [one] = by_label.as_slice() {
        return Ok(one);
    }
    let by_name: Vec<&Table> = db.tables.iter().filter(|t| t.name.name == name).collect();
    match by_name.as_slice() {
        [one] => Ok(one),
        [] => Err(PlanError::UnknownTable {
            name: name.to_owned(),
            suggestion: crate::diag::closest(name, db.tables.iter().map(|t| t.name.name.as_str()))
                .map(str::to_owned),
        }),
        many => Err(PlanError::Ambiguous {
            name: name.to_owned(),
            candidates: many
                .iter()
                .map(|t| format!("{}.{}", t.name.schema, t.name.name))
                .collect(),
        }),
    }
}

/// The plan for `request` on `db`.
pub fn plan(db: &Database, facts: &Facts, request: &Request) -> Result<Plan, PlanError> {
    let mut counts: FxHashMap<&QualifiedName, u64> = FxHashMap::default();
    for (name, n) in &request.counts {
        let t = resolve(db, name)?;
        counts.insert(&t.name, *n);
    }
    let count = |t: &Table| counts.get(&t.name).copied().unwrap_or(request.default_rows);
    let mut skipped = Vec::new();
    let mut tables: Vec<TablePlan> = Vec::new();
    for t in &db.tables {
        let rows = count(t);
        if rows == 0 {
            skipped.push((t.name.clone(), "asked for 0 rows".to_owned()));
            continue;
        }
        tables.push(table_plan(db, facts, t, rows)?);
    }
    let order = order(&mut tables)?;
    let mut by_name: FxHashMap<QualifiedName, TablePlan> =
        tables.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut ordered: Vec<TablePlan> = order.iter().filter_map(|n| by_name.remove(n)).collect();
    // A NOT NULL foreign key needs parent rows: from this run or already there.
    let getting: FxHashSet<QualifiedName> = ordered.iter().map(|t| t.name.clone()).collect();
    for t in &mut ordered {
        let table_label = label(&t.name);
        for f in &t.foreign_keys {
            let parent_has = getting.contains(&f.parent)
                || facts.rows.get(&f.parent).copied().unwrap_or(0) > 0
                || !db.tables.iter().any(|x| x.name == f.parent);
            if !parent_has && !f.nullable {
                return Err(PlanError::NoParents {
                    table: table_label,
                    key: f.name.clone(),
                    parent: label(&f.parent),
                });
            }
        }
        if t.foreign_keys
            .iter()
            .any(|f| f.parent == t.name && !f.nullable && t.existing == 0)
        {
            let f = t
                .foreign_keys
                .iter()
                .find(|f| f.parent == t.name && !f.nullable)
                .map(|f| f.name.clone())
                .unwrap_or_default();
            return Err(PlanError::Cycle {
                tables: vec![table_label],
                keys: vec![f],
            });
        }
    }
    Ok(Plan {
        tables: ordered,
        skipped,
    })
}

/// The keys a table's rows must keep unique: the primary key, unique constraints, and unique
/// indexes on plain columns without a predicate.
fn unique_keys(t: &Table) -> Vec<(String, Vec<String>)> {
    let mut keys: Vec<(String, Vec<String>)> = Vec::new();
    keys.extend(
        t.primary_key
            .iter()
            .map(|k| (k.name.clone(), k.columns.clone())),
    );
    keys.extend(
        t.uniques
            .iter()
            .map(|k| (k.name.clone(), k.columns.clone())),
    );
    for i in &t.indexes {
        if !i.unique || i.predicate.is_some() {
            continue;
        }
        let cols: Option<Vec<String>> = i
            .keys
            .iter()
            .map(|k| match k {
                IndexKey::Column(c) => Some(c.clone()),
                IndexKey::Expression(_) => None,
            })
            .collect();
        if let Some(cols) = cols {
            keys.push((i.name.clone(), cols));
        }
    }
    keys
}

fn table_plan(db: &Database, facts: &Facts, t: &Table, rows: u64) -> Result<TablePlan, PlanError> {
    let index_of = |name: &str| t.columns.iter().position(|c| c.name == name);
    let keys = unique_keys(t);
    let single_unique: FxHashSet<&str> = keys
        .iter()
        .filter(|(_, cols)| cols.len() == 1)
        .map(|(_, cols)| cols[0].as_str())
        .collect();
    let mut bounds: BTreeMap<String, Bounds> = BTreeMap::new();
    for c in &t.checks {
        for (col, b) in checks::read(c.expression.as_str()) {
            let entry = bounds.entry(col).or_default();
            merge(entry, b);
        }
    }
    // Foreign keys, and the first one each column belongs to.
    let mut foreign_keys = Vec::new();
    let mut fk_of: FxHashMap<usize, (usize, usize)> = FxHashMap::default();
    for f in &t.foreign_keys {
        let Some(columns) = f
            .columns
            .iter()
            .map(|c| index_of(c))
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        let mut sorted = f.columns.clone();
        sorted.sort();
        let distinct = keys.iter().any(|(_, k)| {
            let mut k = k.clone();
            k.sort();
            k == sorted
        });
        let nullable = columns.iter().all(|&i| t.columns[i].nullable);
        let fk = foreign_keys.len();
        for (position, &i) in columns.iter().enumerate() {
            fk_of.entry(i).or_insert((fk, position));
        }
        foreign_keys.push(ForeignPlan {
            name: f.name.clone(),
            columns,
            parent: f.references.clone(),
            parent_columns: f.referenced_columns.clone(),
            nullable,
            deferred: false,
            distinct,
        });
    }
    let mut columns = Vec::new();
    let table_label = label(&t.name);
    for (i, c) in t.columns.iter().enumerate() {
        let source = if facts.generated.contains(&(t.name.clone(), c.name.clone())) {
            Source::Database("a generated column".to_owned())
        } else if let Some(g) = c.generated {
            use crate::ir::canonical::Generated;
            Source::Database(
                match g {
                    Generated::Serial => "serial",
                    Generated::IdentityAlways | Generated::IdentityByDefault => "identity",
                }
                .to_owned(),
            )
        } else if let Some(&(fk, position)) = fk_of.get(&i) {
            Source::Foreign { fk, position }
        } else {
            let ty = resolve_type(&c.ty, facts);
            let b = bounds.get(&c.name).cloned().unwrap_or_default();
            let enum_values = enum_values(db, &ty);
            let unique = single_unique.contains(c.name.as_str());
            match value::choose(&ty, &c.name, &t.name.name, &b, enum_values, unique) {
                Some(Gen::Choice(v)) if v.is_empty() => {
                    unfillable(c, &table_label, "its checks allow none of its type's values")?
                }
                Some(gen) => Source::Value {
                    // A column with a default is one the application fills: no NULLs.
                    nulls: c.nullable && !unique && c.default.is_none(),
                    default: if unique {
                        None
                    } else {
                        c.default
                            .as_ref()
                            .and_then(constant_default)
                            .filter(|d| gen.admits(d))
                    },
                    gen,
                },
                None if c.default.is_some() => {
                    Source::Database(format!("its default: mock cannot make values of {}", c.ty))
                }
                None if c.nullable => Source::Null(format!("mock cannot make values of {}", c.ty)),
                None => unfillable(
                    c,
                    &table_label,
                    &format!("mock cannot make values of {} and the column is NOT NULL without a default", c.ty),
                )?,
            }
        };
        columns.push(ColumnPlan {
            name: c.name.clone(),
            ty: c.ty.clone(),
            source,
        });
    }
    let mut key_plans = Vec::new();
    let mut note = None;
    for (name, cols) in keys {
        let Some(idx) = cols
            .iter()
            .map(|c| index_of(c))
            .collect::<Option<Vec<usize>>>()
        else {
            continue;
        };
        // A column the database fills (identity, serial) makes the key the database's.
        if idx
            .iter()
            .any(|&i| matches!(columns[i].source, Source::Database(_)))
        {
            continue;
        }
        let constructive = idx.iter().any(|&i| match &columns[i].source {
            Source::Value { gen, .. } => gen.unique_by_construction(),
            _ => false,
        });
        if !constructive {
            note = Some(format!(
                "the rows stop early if {} runs out of distinct values",
                name
            ));
        }
        key_plans.push(KeyPlan {
            name,
            columns: idx,
            constructive,
        });
    }
    Ok(TablePlan {
        name: t.name.clone(),
        rows,
        existing: facts.rows.get(&t.name).copied().unwrap_or(0),
        columns,
        foreign_keys,
        keys: key_plans,
        note,
        checks: t
            .checks
            .iter()
            .map(|c| (c.name.clone(), c.expression.as_str().to_owned()))
            .collect(),
        domains: t.columns.iter().any(|c| {
            c.ty.schema.as_ref().is_some_and(|s| {
                facts
                    .domains
                    .contains_key(&QualifiedName::new(s.clone(), c.ty.name.clone()))
            })
        }),
    })
}

fn unfillable(
    c: &crate::ir::canonical::Column,
    table: &str,
    why: &str,
) -> Result<Source, PlanError> {
    Err(PlanError::Unfillable {
        table: table.to_owned(),
        column: c.name.clone(),
        why: why.to_owned(),
    })
}

/// Intersects the bounds of two checks on one column.
fn merge(into: &mut Bounds, b: Bounds) {
    *into = checks::intersect(std::mem::take(into), b);
}

fn resolve_type(ty: &PgType, facts: &Facts) -> PgType {
    if let Some(schema) = &ty.schema {
        let key = QualifiedName::new(schema.clone(), ty.name.clone());
        if let Some(base) = facts.domains.get(&key) {
            return if ty.is_array() {
                base.clone().into_array()
            } else {
                base.clone()
            };
        }
        if ty.name == "citext" {
            return PgType {
                name: "text".to_owned(),
                schema: None,
                modifiers: Vec::new(),
                array_dims: ty.array_dims,
            };
        }
    }
    ty.clone()
}

fn enum_values<'d>(db: &'d Database, ty: &PgType) -> Option<&'d [String]> {
    let schema = ty.schema.as_deref()?;
    db.enums
        .iter()
        .find(|e| e.name.schema == schema && e.name.name == ty.name)
        .map(|e| e.values.as_slice())
}

/// The value of a default that is a constant (`'draft'::status`, `0`, `true`), as text
/// input; `None` for anything the server computes (`now()`, `nextval(…)`, `'now'`).
pub fn constant_default(e: &Expr) -> Option<String> {
    let v = checks::constant_expression(e.as_str())?;
    let special = ["now", "today", "tomorrow", "yesterday", "allballs"];
    (!special.iter().any(|s| v.trim().eq_ignore_ascii_case(s))).then_some(v)
}

/// Defers the nullable foreign keys that close cycles, and returns the insertion order.
fn order(tables: &mut [TablePlan]) -> Result<Vec<QualifiedName>, PlanError> {
    let index: FxHashMap<QualifiedName, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    // Self-references first: nullable ones are always deferred.
    for t in tables.iter_mut() {
        let name = t.name.clone();
        for f in &mut t.foreign_keys {
            if f.parent == name && f.nullable {
                f.deferred = true;
            }
        }
    }
    let build = |tables: &[TablePlan]| {
        let mut g: DiGraph<usize, (usize, usize)> = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..tables.len()).map(|i| g.add_node(i)).collect();
        for (ci, t) in tables.iter().enumerate() {
            for (fi, f) in t.foreign_keys.iter().enumerate() {
                if f.deferred || f.parent == t.name {
                    continue;
                }
                if let Some(&pi) = index.get(&f.parent) {
                    g.add_edge(nodes[pi], nodes[ci], (ci, fi));
                }
            }
        }
        g
    };
    let g = build(tables);
    let mut defer = Vec::new();
    for scc in petgraph::algo::tarjan_scc(&g) {
        if scc.len() < 2 {
            continue;
        }
        let members: FxHashSet<usize> = scc.iter().map(|n| g[*n]).collect();
        for &ci in &members {
            for (fi, f) in tables[ci].foreign_keys.iter().enumerate() {
                if f.nullable && index.get(&f.parent).is_some_and(|p| members.contains(p)) {
                    defer.push((ci, fi));
                }
            }
        }
    }
    for (ci, fi) in defer {
        tables[ci].foreign_keys[fi].deferred = true;
    }
    let g = build(tables);
    for scc in petgraph::algo::tarjan_scc(&g) {
        if scc.len() < 2 {
            continue;
        }
        let members: FxHashSet<usize> = scc.iter().map(|n| g[*n]).collect();
        let mut names: Vec<String> = members.iter().map(|&i| label(&tables[i].name)).collect();
        names.sort();
        let mut keys: Vec<String> = Vec::new();
        for &ci in &members {
            for f in &tables[ci].foreign_keys {
                if !f.deferred && index.get(&f.parent).is_some_and(|p| members.contains(p)) {
                    keys.push(format!("{}.{}", label(&tables[ci].name), f.name));
                }
            }
        }
        keys.sort();
        return Err(PlanError::Cycle {
            tables: names,
            keys,
        });
    }
    let sorted = petgraph::algo::toposort(&g, None).map_err(|_| PlanError::Cycle {
        tables: Vec::new(),
        keys: Vec::new(),
    })?;
    Ok(sorted
        .into_iter()
        .map(|n| tables[g[n]].name.clone())
        .collect())
}
