//! From changes to an ordered list of SQL statements.
//!
//! The order (SPEC.md §6): create schemas; renames; drop foreign keys, then indexes and other
//! constraints, then tables (referencing tables first, using the petgraph graph of the dropped
//! tables; a cycle among them has its foreign keys dropped first), then columns; create and
//! alter enum types; create tables without foreign keys; add columns; alter columns; add keys,
//! checks and indexes; add foreign keys (last, so cycles work in both directions); comments;
//! drop enum types and schemas.
//!
//! Beyond the changes themselves the plan adds what PostgreSQL needs around them:
//!
//! - a column whose type changes carries `USING col::type` (`col::text::type` to or from an
//!   enum), and its default is dropped before and set again after;
//! - a foreign key that is unchanged but involves a column whose type changes, or references
//!   a key that is dropped and re-created, is dropped first and added again at the end;
//! - enum values: appended or inserted in place with `ALTER TYPE … ADD VALUE … BEFORE/AFTER`
//!   when the old values are a subsequence of the new ones *and* the plan has nothing else (a
//!   value added in a transaction cannot be used in it; `migration` splits the additions into
//!   their own migration so this holds); otherwise the type is recreated: renamed away, created
//!   anew, every column of that type converted through `text`, the old type dropped.

use super::hazard::is_subsequence;
use super::{Change, CommentOn};
use crate::emit::sql::{
    AddForeignKey, Alter, ColumnChange, CommentTarget, CreateEnum, CreateIndex, CreateSchema,
    CreateTable, EnumPosition, Statement, TypeSql,
};
use crate::ir::canonical::{Column, Database, Enum, Expr, Generated, Table};
use crate::ir::model::QualifiedName;
use crate::ir::pgnames;
use crate::ir::pgtypes::PgType;
use crate::sql::{quote_literal, truncate_identifier, Ident};
use petgraph::graph::DiGraph;
use rustc_hash::{FxHashMap, FxHashSet};

/// Whether a plan with these changes may add enum values in place (see the module docs).
pub fn adds_values_in_place(changes: &[Change]) -> bool {
    !changes.is_empty()
        && changes.iter().all(|c| match c {
            Change::AlterEnum { from, to, .. } => is_subsequence(from, to),
            _ => false,
        })
}

/// The statements that carry out `changes`, which [`super::diff`] computed from `desired` and
/// `current` (with renames applied to `current`).
pub fn plan<'a>(
    desired: &'a Database,
    current: &'a Database,
    changes: &'a [Change],
) -> Vec<Statement<'a>> {
    plan_with(desired, current, changes, adds_values_in_place(changes))
}

/// The statements that recreate the enum types `names` of `db` with the values they have:
/// rename, create, convert every column, drop the old type. Values a transaction added with
/// `ADD VALUE` cannot be used in it, but those of a type created in it can, so this is how a
/// provisional run of pending migrations (`source::live_with_pending`) goes on after one.
pub fn recreate_enums(db: &Database, names: &[QualifiedName]) -> Vec<String> {
    let changes: Vec<Change> = db
        .enums
        .iter()
        .filter(|e| names.contains(&e.name))
        .map(|e| Change::AlterEnum {
            name: e.name.clone(),
            from: e.values.clone(),
            to: e.values.clone(),
        })
        .collect();
    plan_with(db, db, &changes, false)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn plan_with<'a>(
    desired: &'a Database,
    current: &'a Database,
    changes: &'a [Change],
    in_place: bool,
) -> Vec<Statement<'a>> {
    let mut p = Phases::default();

    // Enums recreated, and the columns converted with them.
    let mut recreated: FxHashMap<&QualifiedName, String> = FxHashMap::default();
    for c in changes {
        if let Change::AlterEnum { name, from, to } = c {
            if in_place {
                add_values(name, from, to, &mut p.enums);
            } else {
                let tmp = truncate_identifier(&format!("{}__nself_old", name.name)).to_owned();
                p.enums.push(Statement::Alter(Alter::RenameType(
                    name.clone(),
                    tmp.clone(),
                )));
                if let Some(e) = desired.enums.iter().find(|e| &e.name == name) {
                    p.enums.push(Statement::CreateEnum(CreateEnum(e)));
                }
                p.drop_types
                    .push(Statement::Alter(Alter::DropType(QualifiedName::new(
                        name.schema.as_str(),
                        tmp.as_str(),
                    ))));
                recreated.insert(name, tmp);
            }
        }
    }

    // What is dropped, added or altered, to find the foreign keys to rebuild and the columns
    // to convert.
    let dropped_tables: FxHashSet<&QualifiedName> = changes
        .iter()
        .filter_map(|c| match c {
            Change::DropTable(t) => Some(&t.name),
            _ => None,
        })
        .collect();
    let dropped_columns: FxHashSet<(&QualifiedName, &str)> = changes
        .iter()
        .filter_map(|c| match c {
            Change::DropColumn { table, column } => Some((table, column.name.as_str())),
            _ => None,
        })
        .collect();
    let altered: FxHashMap<(&QualifiedName, &str), (&Column, &Column)> = changes
        .iter()
        .filter_map(|c| match c {
            Change::AlterColumn { table, from, to } => {
                Some(((table, to.name.as_str()), (from, to)))
            }
            _ => None,
        })
        .collect();
    // Columns converted because their enum type is recreated (and not otherwise altered).
    let mut converted: Vec<(&QualifiedName, &Column, &Column)> = Vec::new();
    let mut retyped: FxHashSet<(&QualifiedName, &str)> = altered
        .iter()
        .filter(|(_, (f, t))| f.ty != t.ty)
        .map(|(k, _)| *k)
        .collect();
    if !recreated.is_empty() {
        for t in &current.tables {
            if dropped_tables.contains(&t.name) {
                continue;
            }
            let Some(want) = desired.table(&t.name) else {
                continue;
            };
            for c in &t.columns {
                let key = (&t.name, c.name.as_str());
                if dropped_columns.contains(&key) || !uses_enum(&c.ty, &recreated) {
                    continue;
                }
                retyped.insert(key);
                if !altered.contains_key(&key) {
                    if let Some(w) = want.column(&c.name) {
                        converted.push((&t.name, c, w));
                    }
                }
            }
        }
    }

    let dropped_keys: FxHashSet<(&QualifiedName, Vec<&str>)> = changes
        .iter()
        .filter_map(|c| match c {
            Change::DropPrimaryKey { table, key } | Change::DropUnique { table, key } => {
                Some((table, sorted(&key.columns)))
            }
            Change::DropIndex { table, index } if index.unique => {
                let mut cols: Vec<&str> = index
                    .keys
                    .iter()
                    .filter_map(|k| match k {
                        crate::ir::canonical::IndexKey::Column(c) => Some(c.as_str()),
                        crate::ir::canonical::IndexKey::Expression(_) => None,
                    })
                    .collect();
                cols.sort_unstable();
                Some((table, cols))
            }
            _ => None,
        })
        .collect();
    let added_fks: FxHashSet<(&QualifiedName, &str)> = changes
        .iter()
        .filter_map(|c| match c {
            Change::AddForeignKey { table, fk } => Some((table, fk.name.as_str())),
            _ => None,
        })
        .collect();
    let created_tables: FxHashSet<&QualifiedName> = changes
        .iter()
        .filter_map(|c| match c {
            Change::CreateTable(t) => Some(&t.name),
            _ => None,
        })
        .collect();
    // Unchanged foreign keys that must be dropped and added again.
    for t in &desired.tables {
        if created_tables.contains(&t.name) {
            continue;
        }
        for fk in &t.foreign_keys {
            if added_fks.contains(&(&t.name, fk.name.as_str())) {
                continue;
            }
            let touches = fk
                .columns
                .iter()
                .any(|c| retyped.contains(&(&t.name, c.as_str())))
                || fk
                    .referenced_columns
                    .iter()
                    .any(|c| retyped.contains(&(&fk.references, c.as_str())))
                || dropped_keys.contains(&(&fk.references, sorted(&fk.referenced_columns)));
            if touches {
                p.drop_fks.push(Statement::Alter(Alter::DropConstraint(
                    t.name.clone(),
                    fk.name.clone(),
                )));
                p.add_fks.push(Statement::AddForeignKey(AddForeignKey {
                    table: &t.name,
                    fk,
                }));
            }
        }
    }

    for c in changes {
        match c {
            Change::CreateSchema(s) => p.schemas.push(Statement::CreateSchema(CreateSchema(s))),
            Change::DropSchema(s) => p
                .drop_schemas
                .push(Statement::Alter(Alter::DropSchema(s.clone()))),
            Change::CreateEnum(e) => p.enums.push(Statement::CreateEnum(CreateEnum(e))),
            Change::DropEnum(e) => p
                .drop_types
                .push(Statement::Alter(Alter::DropType(e.name.clone()))),
            Change::AlterEnum { .. } => {}
            Change::CreateTable(t) => create_table(t, &mut p),
            Change::DropTable(_) => {}
            Change::RenameTable { from, to } => {
                p.renames.push(Statement::Alter(Alter::RenameTable(
                    from.clone(),
                    to.name.clone(),
                )));
                // PostgreSQL keeps the sequence names; a table built fresh would have these.
                let columns = current.tables.iter().find(|t| &t.name == to);
                for c in columns.into_iter().flat_map(|t| &t.columns) {
                    if c.generated.is_some() {
                        p.renames
                            .push(rename_sequence(from, &c.name, &to.name, &c.name));
                    }
                }
            }
            Change::RenameColumn { table, from, to } => {
                p.renames.push(Statement::Alter(Alter::RenameColumn(
                    table.clone(),
                    from.clone(),
                    to.clone(),
                )));
                if renamed_column_generated(current, changes, table, to) {
                    p.renames
                        .push(rename_sequence(table, from, &table.name, to));
                }
            }
            Change::AddColumn { table, column } => {
                p.add_columns.push(Statement::Alter(Alter::AddColumn(
                    table.clone(),
                    column.clone(),
                )));
                if let Some(text) = &column.comment {
                    p.comments.push(Statement::Alter(Alter::Comment(
                        CommentTarget::Column(table.clone(), column.name.clone()),
                        Some(text.clone()),
                    )));
                }
            }
            Change::DropColumn { table, column } => p.drop_columns.push(Statement::Alter(
                Alter::DropColumn(table.clone(), column.name.clone()),
            )),
            Change::AlterColumn { table, from, to } => {
                let force = uses_enum(&from.ty, &recreated);
                column_steps(table, from, to, force, &mut p.alter_columns)
            }
            Change::AddPrimaryKey { table, key } => p.add_keys.push(Statement::Alter(
                Alter::AddPrimaryKey(table.clone(), key.clone()),
            )),
            Change::AddUnique { table, key } => p.add_keys.push(Statement::Alter(
                Alter::AddUnique(table.clone(), key.clone()),
            )),
            Change::AddCheck { table, check } => p.add_keys.push(Statement::Alter(
                Alter::AddCheck(table.clone(), check.clone()),
            )),
            Change::DropPrimaryKey { table, key } | Change::DropUnique { table, key } => p
                .drop_constraints
                .push(Statement::Alter(Alter::DropConstraint(
                    table.clone(),
                    key.name.clone(),
                ))),
            Change::DropCheck { table, check } => {
                p.drop_constraints
                    .push(Statement::Alter(Alter::DropConstraint(
                        table.clone(),
                        check.name.clone(),
                    )))
            }
            Change::AddForeignKey { table, fk } => p
                .add_fks
                .push(Statement::AddForeignKey(AddForeignKey { table, fk })),
            Change::DropForeignKey { table, fk } => p.drop_fks.push(Statement::Alter(
                Alter::DropConstraint(table.clone(), fk.name.clone()),
            )),
            Change::CreateIndex { table, index } => {
                p.indexes
                    .push(Statement::CreateIndex(CreateIndex { table, index }));
                if let Some(text) = &index.comment {
                    p.comments.push(Statement::Alter(Alter::Comment(
                        CommentTarget::Index(table.schema.clone(), index.name.clone()),
                        Some(text.clone()),
                    )));
                }
            }
            Change::DropIndex { table, index } => p.drop_indexes.push(Statement::Alter(
                Alter::DropIndex(table.schema.clone(), index.name.clone()),
            )),
            Change::RenameConstraint {
                table, from, to, ..
            } => p
                .renames_late
                .push(Statement::Alter(Alter::RenameConstraint(
                    table.clone(),
                    from.clone(),
                    to.clone(),
                ))),
            Change::RenameIndex { table, from, to } => p.renames_late.push(Statement::Alter(
                Alter::RenameIndex(table.schema.clone(), from.clone(), to.clone()),
            )),
            Change::Comment { on, to, .. } => {
                let target = match on {
                    CommentOn::Table(t) => CommentTarget::Table(t.clone()),
                    CommentOn::Column(t, c) => CommentTarget::Column(t.clone(), c.clone()),
                    CommentOn::Index(t, i) => CommentTarget::Index(t.schema.clone(), i.clone()),
                };
                p.comments
                    .push(Statement::Alter(Alter::Comment(target, to.clone())));
            }
        }
    }
    for (table, from, to) in converted {
        column_steps(table, from, to, true, &mut p.alter_columns);
    }
    drop_tables(current, changes, &mut p.drop_tables);

    let Phases {
        schemas,
        renames,
        renames_late,
        drop_fks,
        drop_indexes,
        drop_constraints,
        drop_tables,
        drop_columns,
        enums,
        create_tables,
        add_columns,
        alter_columns,
        add_keys,
        indexes,
        add_fks,
        comments,
        drop_types,
        drop_schemas,
    } = p;
    [
        schemas,
        renames,
        renames_late,
        drop_fks,
        drop_indexes,
        drop_constraints,
        drop_tables,
        drop_columns,
        enums,
        create_tables,
        add_columns,
        alter_columns,
        add_keys,
        indexes,
        add_fks,
        comments,
        drop_types,
        drop_schemas,
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[derive(Default)]
struct Phases<'a> {
    schemas: Vec<Statement<'a>>,
    renames: Vec<Statement<'a>>,
    renames_late: Vec<Statement<'a>>,
    drop_fks: Vec<Statement<'a>>,
    drop_indexes: Vec<Statement<'a>>,
    drop_constraints: Vec<Statement<'a>>,
    drop_tables: Vec<Statement<'a>>,
    drop_columns: Vec<Statement<'a>>,
    enums: Vec<Statement<'a>>,
    create_tables: Vec<Statement<'a>>,
    add_columns: Vec<Statement<'a>>,
    alter_columns: Vec<Statement<'a>>,
    add_keys: Vec<Statement<'a>>,
    indexes: Vec<Statement<'a>>,
    add_fks: Vec<Statement<'a>>,
    comments: Vec<Statement<'a>>,
    drop_types: Vec<Statement<'a>>,
    drop_schemas: Vec<Statement<'a>>,
}

fn sorted(cols: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = cols.iter().map(String::as_str).collect();
    v.sort_unstable();
    v
}

fn uses_enum(ty: &PgType, recreated: &FxHashMap<&QualifiedName, String>) -> bool {
    match &ty.schema {
        Some(s) => recreated.contains_key(&QualifiedName::new(s.as_str(), ty.name.as_str())),
        None => false,
    }
}

/// `ADD VALUE` statements that turn `from` into `to` (a supersequence of it).
fn add_values<'a>(
    name: &QualifiedName,
    from: &[String],
    to: &[String],
    out: &mut Vec<Statement<'a>>,
) {
    let mut present: Vec<&String> = from.iter().collect();
    for (i, v) in to.iter().enumerate() {
        if present.contains(&v) {
            continue;
        }
        // Place it after the nearest earlier value already in the type, else before the first.
        let position = match to[..i].iter().rev().find(|x| present.contains(x)) {
            Some(prev) => EnumPosition::After(prev.clone()),
            None => match to[i + 1..].iter().find(|x| present.contains(x)) {
                Some(next) => EnumPosition::Before(next.clone()),
                None => EnumPosition::End,
            },
        };
        out.push(Statement::Alter(Alter::AddEnumValue {
            ty: name.clone(),
            value: v.clone(),
            position,
        }));
        present.push(v);
    }
}

fn create_table<'a>(t: &'a Table, p: &mut Phases<'a>) {
    p.create_tables.push(Statement::CreateTable(CreateTable(t)));
    for i in &t.indexes {
        p.indexes.push(Statement::CreateIndex(CreateIndex {
            table: &t.name,
            index: i,
        }));
    }
    for fk in &t.foreign_keys {
        p.add_fks.push(Statement::AddForeignKey(AddForeignKey {
            table: &t.name,
            fk,
        }));
    }
    if let Some(c) = &t.comment {
        p.comments.push(Statement::Alter(Alter::Comment(
            CommentTarget::Table(t.name.clone()),
            Some(c.clone()),
        )));
    }
    for col in &t.columns {
        if let Some(c) = &col.comment {
            p.comments.push(Statement::Alter(Alter::Comment(
                CommentTarget::Column(t.name.clone(), col.name.clone()),
                Some(c.clone()),
            )));
        }
    }
    for i in &t.indexes {
        if let Some(c) = &i.comment {
            p.comments.push(Statement::Alter(Alter::Comment(
                CommentTarget::Index(t.name.schema.clone(), i.name.clone()),
                Some(c.clone()),
            )));
        }
    }
}

fn is_identity(g: Option<Generated>) -> bool {
    matches!(
        g,
        Some(Generated::IdentityAlways | Generated::IdentityByDefault)
    )
}

/// `USING col::type`, through `text` when an enum (or other user type) is on either side.
pub fn using(column: &str, from: &PgType, to: &PgType) -> String {
    let col = Ident::new(column);
    if from.is_user_defined() || to.is_user_defined() {
        let text = if from.is_array() { "text[]" } else { "text" };
        format!("{col}::{text}::{}", TypeSql(to))
    } else {
        format!("{col}::{}", TypeSql(to))
    }
}

/// The name PostgreSQL gives the sequence of serial or identity column `column` of `table`
/// (`table_column_seq`, truncated), when no other relation has it.
fn serial_sequence(table: &QualifiedName, column: &str) -> QualifiedName {
    let seq = pgnames::choose_name(&table.name, Some(column), "seq", |_| false);
    QualifiedName::new(table.schema.as_str(), seq.as_str())
}

/// `ALTER SEQUENCE IF EXISTS` from the sequence name of `table.column` to that of
/// `new_table.new_column` (same schema).
fn rename_sequence<'a>(
    table: &QualifiedName,
    column: &str,
    new_table: &str,
    new_column: &str,
) -> Statement<'a> {
    let to = serial_sequence(
        &QualifiedName::new(table.schema.as_str(), new_table),
        new_column,
    );
    Statement::Alter(Alter::RenameSequence(
        serial_sequence(table, column),
        to.name,
    ))
}

/// Whether column `column` (its new name) of `table` (its old name) numbers itself, looking
/// the table up in `current` (renames applied) under its new name.
fn renamed_column_generated(
    current: &Database,
    changes: &[Change],
    table: &QualifiedName,
    column: &str,
) -> bool {
    let name = changes
        .iter()
        .find_map(|c| match c {
            Change::RenameTable { from, to } if from == table => Some(to),
            _ => None,
        })
        .unwrap_or(table);
    current
        .tables
        .iter()
        .find(|t| &t.name == name)
        .and_then(|t| t.columns.iter().find(|c| c.name == column))
        .is_some_and(|c| c.generated.is_some())
}

/// The `ALTER COLUMN` steps from `from` to `to`, in an order PostgreSQL accepts.
fn column_steps<'a>(
    table: &QualifiedName,
    from: &Column,
    to: &Column,
    force_retype: bool,
    out: &mut Vec<Statement<'a>>,
) {
    let step =
        |c: ColumnChange| Statement::Alter(Alter::AlterColumn(table.clone(), to.name.clone(), c));
    let retype = force_retype || from.ty != to.ty;
    if is_identity(from.generated) && !is_identity(to.generated) {
        out.push(step(ColumnChange::DropIdentity));
    }
    if from.generated == Some(Generated::Serial) && to.generated != Some(Generated::Serial) {
        out.push(step(ColumnChange::DropDefault));
        // The sequence stays (owned by the column) unless dropped; an identity added next
        // would otherwise be named `…_seq1`.
        out.push(Statement::Alter(Alter::DropSequence(serial_sequence(
            table, &from.name,
        ))));
    }
    if from.default.is_some() && (retype || (to.default.is_none() && from.default != to.default)) {
        out.push(step(ColumnChange::DropDefault));
    }
    if retype {
        out.push(step(ColumnChange::Type {
            ty: to.ty.clone(),
            using: using(&to.name, &from.ty, &to.ty),
        }));
    }
    if from.nullable && !to.nullable {
        out.push(step(ColumnChange::SetNotNull));
    } else if !from.nullable && to.nullable {
        out.push(step(ColumnChange::DropNotNull));
    }
    if let Some(d) = &to.default {
        if retype || from.default.as_ref() != Some(d) {
            out.push(step(ColumnChange::SetDefault(d.clone())));
        }
    }
    match (from.generated, to.generated) {
        (f, Some(g @ (Generated::IdentityAlways | Generated::IdentityByDefault)))
            if !is_identity(f) =>
        {
            out.push(step(ColumnChange::AddIdentity {
                always: g == Generated::IdentityAlways,
            }))
        }
        (Some(f), Some(g)) if is_identity(Some(f)) && is_identity(Some(g)) && f != g => {
            out.push(step(ColumnChange::SetGenerated {
                always: g == Generated::IdentityAlways,
            }))
        }
        (f, Some(Generated::Serial)) if f != Some(Generated::Serial) => {
            let seq_name = serial_sequence(table, &to.name);
            let seq = seq_name.name.clone();
            out.push(Statement::Alter(Alter::CreateSequence {
                name: seq_name.clone(),
                ty: to.ty.clone(),
                table: table.clone(),
                column: to.name.clone(),
            }));
            let regclass = crate::sql::QualifiedName::new(seq_name.schema.as_str(), seq.as_str());
            out.push(Statement::Alter(Alter::AlterColumn(
                table.clone(),
                to.name.clone(),
                ColumnChange::SetDefault(Expr(format!(
                    "nextval({}::regclass)",
                    quote_literal(&regclass.to_string())
                ))),
            )));
        }
        _ => {}
    }
}

/// `DROP TABLE` for every dropped table, referencing tables first; foreign keys inside a cycle
/// of dropped tables are dropped before the tables.
fn drop_tables<'a>(current: &Database, changes: &[Change], out: &mut Vec<Statement<'a>>) {
    let dropped: Vec<&Table> = changes
        .iter()
        .filter_map(|c| match c {
            Change::DropTable(t) => Some(t),
            _ => None,
        })
        .collect();
    if dropped.is_empty() {
        return;
    }
    let _ = current;
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<_> = (0..dropped.len()).map(|i| graph.add_node(i)).collect();
    let index: FxHashMap<&QualifiedName, usize> = dropped
        .iter()
        .enumerate()
        .map(|(i, t)| (&t.name, i))
        .collect();
    for (i, t) in dropped.iter().enumerate() {
        for fk in &t.foreign_keys {
            if let Some(&j) = index.get(&fk.references) {
                if i != j {
                    graph.add_edge(nodes[i], nodes[j], ());
                }
            }
        }
    }
    // Tarjan's components come in reverse topological order; referencing tables go first.
    let mut sccs = petgraph::algo::tarjan_scc(&graph);
    sccs.reverse();
    for scc in sccs {
        let members: Vec<usize> = scc.iter().map(|n| graph[*n]).collect();
        if members.len() > 1 {
            for &m in &members {
                let t = dropped[m];
                for fk in &t.foreign_keys {
                    if index
                        .get(&fk.references)
                        .is_some_and(|j| members.contains(j) && *j != m)
                    {
                        out.push(Statement::Alter(Alter::DropConstraint(
                            t.name.clone(),
                            fk.name.clone(),
                        )));
                    }
                }
            }
        }
        let mut members = members;
        members.sort_unstable();
        for m in members {
            out.push(Statement::Alter(Alter::DropTable(dropped[m].name.clone())));
        }
    }
}

/// A type's enum, if `ty` is one of `db`'s enums.
pub fn enum_of<'a>(db: &'a Database, ty: &PgType) -> Option<&'a Enum> {
    let schema = ty.schema.as_deref()?;
    db.enums
        .iter()
        .find(|e| e.name.schema == schema && e.name.name == ty.name)
}
