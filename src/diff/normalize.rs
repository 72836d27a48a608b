//! Expression text as the server prints it.
//!
//! The canonical form compares defaults, CHECKs, index expressions and predicates as text
//! (see `ir::canonical::Expr`), and the server rewrites what it stores: it adds casts
//! (`'a'` on a varchar column is `'a'::character varying`), parentheses, respells typed
//! literals (`interval '1 day'` is `'1 day'::interval`) and drops casts that do nothing. So
//! before diffing against a live database, [`with_server`] asks the server how it would print
//! every desired expression that differs from its counterpart: it builds scratch copies of
//! just those tables in a throwaway schema inside a savepoint, reads them back with the catalog
//! reader (the same code that read the current side), rolls the savepoint back, and puts the
//! server's text into the desired schema. An expression the server rejects is left as written
//! (the migration will then show, and fail on, it). Only tables with such differences are
//! copied, so the cost follows the size of the change, not of the schema.

use crate::catalog::{self, CatalogError};
use crate::emit::sql::{Alter, ColumnChange, CreateIndex, TypeSql};
use crate::ir::canonical::{CheckConstraint, Database, Index, IndexKey, Table};
use crate::ir::model::QualifiedName;
use crate::sql::Ident;
use postgres::GenericClient;
use std::fmt::Write;

/// What differs in one table and needs the server's printing.
struct Work {
    table: usize,
    defaults: Vec<usize>,
    checks: Vec<usize>,
    indexes: Vec<usize>,
}

fn expression_work(desired: &Database, current: &Database) -> Vec<Work> {
    let mut out = Vec::new();
    for (ti, t) in desired.tables.iter().enumerate() {
        let Some(c) = current.table(&t.name) else {
            continue;
        };
        let defaults: Vec<usize> = t
            .columns
            .iter()
            .enumerate()
            .filter(|(_, col)| {
                c.column(&col.name).is_some_and(|old| {
                    col.default.is_some() && old.default.is_some() && old.default != col.default
                })
            })
            .map(|(i, _)| i)
            .collect();
        let checks: Vec<usize> = t
            .checks
            .iter()
            .enumerate()
            .filter(|(_, k)| {
                c.checks
                    .iter()
                    .any(|old| old.name == k.name && old.expression != k.expression)
                    || !c.checks.iter().any(|old| old.name == k.name)
            })
            .map(|(i, _)| i)
            .collect();
        let indexes: Vec<usize> = t
            .indexes
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                let has_expr = i.predicate.is_some()
                    || i.keys.iter().any(|k| matches!(k, IndexKey::Expression(_)));
                has_expr
                    && !c.indexes.iter().any(|old| {
                        old.keys == i.keys && old.predicate == i.predicate && old.name == i.name
                    })
            })
            .map(|(i, _)| i)
            .collect();
        if !(defaults.is_empty() && checks.is_empty() && indexes.is_empty()) {
            out.push(Work {
                table: ti,
                defaults,
                checks,
                indexes,
            });
        }
    }
    out
}

/// Rewrites `desired`'s expressions that differ from `current` as the server prints them.
/// Returns how many tables were copied. Leaves the database as it was (everything happens in a
/// savepoint that is rolled back).
pub fn with_server(
    client: &mut impl GenericClient,
    desired: &mut Database,
    current: &Database,
) -> Result<usize, CatalogError> {
    let work = expression_work(desired, current);
    if work.is_empty() {
        return Ok(0);
    }
    let err = |source| CatalogError {
        what: "preparing expressions for comparison",
        source,
    };
    let mut tx = client.transaction().map_err(err)?;
    let scratch = format!("nself_scratch_{}", std::process::id());
    tx.batch_execute(&format!("CREATE SCHEMA {}", Ident::new(scratch.as_str())))
        .map_err(err)?;
    let mut built: Vec<&Work> = Vec::new();
    for (k, w) in work.iter().enumerate() {
        let Some(t) = desired.tables.get(w.table) else {
            continue;
        };
        let name = QualifiedName::new(scratch.as_str(), format!("t{k}"));
        // The table with the desired columns' types only; each expression then in its own
        // savepoint, so one the server rejects does not lose the others.
        if try_sql(&mut tx, &scratch_table(&name, t)).is_err() {
            continue;
        }
        built.push(w);
        for &ci in &w.defaults {
            if let Some(col) = t.columns.get(ci) {
                if let Some(d) = &col.default {
                    let st = Alter::AlterColumn(
                        name.clone(),
                        col.name.clone(),
                        ColumnChange::SetDefault(d.clone()),
                    );
                    let _ = try_sql(&mut tx, &st.to_string());
                }
            }
        }
        for &ki in &w.checks {
            if let Some(check) = t.checks.get(ki) {
                let st = Alter::AddCheck(name.clone(), check.clone());
                let _ = try_sql(&mut tx, &st.to_string());
            }
        }
        for &ii in &w.indexes {
            if let Some(index) = t.indexes.get(ii) {
                let copy = Index {
                    name: format!("t{k}_i{ii}"),
                    comment: None,
                    ..index.clone()
                };
                let st = CreateIndex {
                    table: &name,
                    index: &copy,
                };
                let _ = try_sql(&mut tx, &st.to_string());
            }
        }
    }
    let options = catalog::Options {
        schemas: vec![scratch.clone()],
        tracking_table: String::new(),
    };
    let seen = catalog::introspect(&mut tx, &options)?;
    // Dropping `tx` without commit rolls the savepoint back.
    drop(tx);

    for (k, w) in work.iter().enumerate() {
        let name = QualifiedName::new(scratch.as_str(), format!("t{k}"));
        let (Some(copy), Some(t)) = (seen.table(&name), desired.tables.get_mut(w.table)) else {
            continue;
        };
        for &ci in &w.defaults {
            if let Some(col) = t.columns.get_mut(ci) {
                if let Some(d) = copy.column(&col.name).and_then(|c| c.default.clone()) {
                    col.default = Some(d);
                }
            }
        }
        for &ki in &w.checks {
            if let Some(check) = t.checks.get_mut(ki) {
                if let Some(printed) = copy.checks.iter().find(|c| c.name == check.name) {
                    *check = CheckConstraint {
                        name: check.name.clone(),
                        expression: printed.expression.clone(),
                    };
                }
            }
        }
        for &ii in &w.indexes {
            let copy_name = format!("t{k}_i{ii}");
            if let (Some(index), Some(printed)) = (
                t.indexes.get_mut(ii),
                copy.indexes.iter().find(|i| i.name == copy_name),
            ) {
                index.keys = printed.keys.clone();
                index.predicate = printed.predicate.clone();
            }
        }
    }
    Ok(built.len())
}

fn scratch_table(name: &QualifiedName, t: &Table) -> String {
    let mut sql = format!(
        "CREATE TABLE {} (",
        crate::sql::QualifiedName::new(name.schema.as_str(), name.name.as_str())
    );
    for (i, c) in t.columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "{} {}", Ident::new(c.name.as_str()), TypeSql(&c.ty));
    }
    sql.push(')');
    sql
}

/// Runs one statement in its own savepoint; a failure rolls just that back.
fn try_sql(tx: &mut postgres::Transaction<'_>, sql: &str) -> Result<(), postgres::Error> {
    let mut sp = tx.transaction()?;
    sp.batch_execute(sql)?;
    sp.commit()
}
