//! The diff: what must change to turn one canonical schema into another.
//!
//! [`diff`] compares a desired [`Database`] with the current one and returns the [`Change`]s,
//! each an object added, dropped, altered or renamed, in a stable order (schemas, enums, then
//! table by table). It is pure: no I/O, no failure. Both sides must be in the canonical form
//! (`ir::canonical`), so comparing is `==` on its parts; the one approximation, expression
//! text, is settled beforehand by [`normalize`] when a server is at hand.
//!
//! Matching is by name. A constraint or index present on both sides under different names but
//! otherwise identical is a rename (`ALTER … RENAME`), not a drop and an add. Table and column
//! renames are never guessed: they are asked for ([`rename`]), and a drop paired with a
//! look-alike add is reported as a [`RenameHint`] naming the flag that would express it.
//! Column order is not compared: PostgreSQL cannot reorder columns, and the order carries no
//! meaning for the schema.
//!
//! [`plan`] turns changes into ordered SQL statements; [`migration`] writes migration files.

pub mod hazard;
pub mod migration;
pub mod normalize;
pub mod plan;
pub mod rename;
pub mod report;
pub mod source;
#[cfg(test)]
mod tests;

use crate::ir::canonical::{
    CheckConstraint, Column, Database, Enum, ForeignKey, Index, Key, Table,
};
use crate::ir::model::QualifiedName;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use std::fmt;

pub use hazard::{Hazard, HazardKind};

/// One difference between the desired and the current schema, seen as what must happen to the
/// current one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    CreateSchema(String),
    DropSchema(String),
    CreateEnum(Enum),
    DropEnum(Enum),
    /// The values differ: added in place when the old list is a subsequence of the new one,
    /// otherwise the type is recreated (see `plan`).
    AlterEnum {
        name: QualifiedName,
        from: Vec<String>,
        to: Vec<String>,
    },
    CreateTable(Table),
    DropTable(Table),
    RenameTable {
        from: QualifiedName,
        to: QualifiedName,
    },
    AddColumn {
        table: QualifiedName,
        column: Column,
    },
    DropColumn {
        table: QualifiedName,
        column: Column,
    },
    RenameColumn {
        table: QualifiedName,
        from: String,
        to: String,
    },
    /// Type, nullability, default or identity differ (comments are [`Change::Comment`]).
    AlterColumn {
        table: QualifiedName,
        from: Column,
        to: Column,
    },
    AddPrimaryKey {
        table: QualifiedName,
        key: Key,
    },
    DropPrimaryKey {
        table: QualifiedName,
        key: Key,
    },
    AddUnique {
        table: QualifiedName,
        key: Key,
    },
    DropUnique {
        table: QualifiedName,
        key: Key,
    },
    AddCheck {
        table: QualifiedName,
        check: CheckConstraint,
    },
    DropCheck {
        table: QualifiedName,
        check: CheckConstraint,
    },
    AddForeignKey {
        table: QualifiedName,
        fk: ForeignKey,
    },
    DropForeignKey {
        table: QualifiedName,
        fk: ForeignKey,
    },
    CreateIndex {
        table: QualifiedName,
        index: Index,
    },
    DropIndex {
        table: QualifiedName,
        index: Index,
    },
    /// A primary key, unique, check or foreign key constraint renamed.
    RenameConstraint {
        table: QualifiedName,
        kind: ConstraintKind,
        from: String,
        to: String,
    },
    RenameIndex {
        table: QualifiedName,
        from: String,
        to: String,
    },
    Comment {
        on: CommentOn,
        from: Option<String>,
        to: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    PrimaryKey,
    Unique,
    Check,
    ForeignKey,
}

impl ConstraintKind {
    fn label(self) -> &'static str {
        match self {
            ConstraintKind::PrimaryKey => "Primary key",
            ConstraintKind::Unique => "Unique",
            ConstraintKind::Check => "Check",
            ConstraintKind::ForeignKey => "Foreign key",
        }
    }
}

/// What a comment belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommentOn {
    Table(QualifiedName),
    Column(QualifiedName, String),
    Index(QualifiedName, String),
}

/// A drop and an add that look like one rename, with the flag that would say so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RenameHint {
    /// `users.name` → `users.full_name`
    pub what: String,
    /// `--rename users.name=users.full_name`
    pub flag: String,
}

/// The `+`, `-` or `~` of a change in the guide's listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Sign {
    #[serde(rename = "+")]
    Add,
    #[serde(rename = "-")]
    Drop,
    #[serde(rename = "~")]
    Alter,
}

impl Sign {
    pub fn as_str(self) -> &'static str {
        match self {
            Sign::Add => "+",
            Sign::Drop => "-",
            Sign::Alter => "~",
        }
    }
}

/// A change as the listing and JSON show it.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub sign: Sign,
    /// `Table`, `Column`, `Index`, …
    pub kind: &'static str,
    /// `users`, `users.email`, `app.orders.orders_pkey`
    pub object: String,
    /// `different type: text → jsonb`, `renamed to members`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub hazards: Vec<Hazard>,
}

fn col_name(table: &QualifiedName, column: &str) -> String {
    format!("{table}.{column}")
}

impl Change {
    /// Sign, kind, object and detail for listings.
    pub fn summary(&self) -> Summary {
        let (sign, kind, object, detail) = match self {
            Change::CreateSchema(s) => (Sign::Add, "Schema", s.clone(), None),
            Change::DropSchema(s) => (Sign::Drop, "Schema", s.clone(), None),
            Change::CreateEnum(e) => (Sign::Add, "Enum", e.name.to_string(), None),
            Change::DropEnum(e) => (Sign::Drop, "Enum", e.name.to_string(), None),
            Change::AlterEnum { name, from, to } => (
                Sign::Alter,
                "Enum",
                name.to_string(),
                Some(enum_detail(from, to)),
            ),
            Change::CreateTable(t) => (Sign::Add, "Table", t.name.to_string(), None),
            Change::DropTable(t) => (Sign::Drop, "Table", t.name.to_string(), None),
            Change::RenameTable { from, to } => (
                Sign::Alter,
                "Table",
                from.to_string(),
                Some(format!("renamed to {}", to.name)),
            ),
            Change::AddColumn { table, column } => {
                (Sign::Add, "Column", col_name(table, &column.name), None)
            }
            Change::DropColumn { table, column } => {
                (Sign::Drop, "Column", col_name(table, &column.name), None)
            }
            Change::RenameColumn { table, from, to } => (
                Sign::Alter,
                "Column",
                col_name(table, from),
                Some(format!("renamed to {to}")),
            ),
            Change::AlterColumn { table, from, to } => (
                Sign::Alter,
                "Column",
                col_name(table, &to.name),
                Some(column_detail(from, to)),
            ),
            Change::AddPrimaryKey { table, key } => {
                (Sign::Add, "Primary key", col_name(table, &key.name), None)
            }
            Change::DropPrimaryKey { table, key } => {
                (Sign::Drop, "Primary key", col_name(table, &key.name), None)
            }
            Change::AddUnique { table, key } => {
                (Sign::Add, "Unique", col_name(table, &key.name), None)
            }
            Change::DropUnique { table, key } => {
                (Sign::Drop, "Unique", col_name(table, &key.name), None)
            }
            Change::AddCheck { table, check } => {
                (Sign::Add, "Check", col_name(table, &check.name), None)
            }
            Change::DropCheck { table, check } => {
                (Sign::Drop, "Check", col_name(table, &check.name), None)
            }
            Change::AddForeignKey { table, fk } => {
                (Sign::Add, "Foreign key", col_name(table, &fk.name), None)
            }
            Change::DropForeignKey { table, fk } => {
                (Sign::Drop, "Foreign key", col_name(table, &fk.name), None)
            }
            Change::CreateIndex { index, .. } => (Sign::Add, "Index", index.name.clone(), None),
            Change::DropIndex { index, .. } => (Sign::Drop, "Index", index.name.clone(), None),
            Change::RenameConstraint {
                table,
                kind,
                from,
                to,
            } => (
                Sign::Alter,
                kind.label(),
                col_name(table, from),
                Some(format!("renamed to {to}")),
            ),
            Change::RenameIndex { from, to, .. } => (
                Sign::Alter,
                "Index",
                from.clone(),
                Some(format!("renamed to {to}")),
            ),
            Change::Comment { on, from, to } => {
                let object = match on {
                    CommentOn::Table(t) => format!("table {t}"),
                    CommentOn::Column(t, c) => format!("column {}", col_name(t, c)),
                    CommentOn::Index(_, i) => format!("index {i}"),
                };
                let (sign, detail) = match (from, to) {
                    (None, _) => (Sign::Add, None),
                    (_, None) => (Sign::Drop, None),
                    _ => (Sign::Alter, Some("different text".to_owned())),
                };
                (sign, "Comment", object, detail)
            }
        };
        Summary {
            sign,
            kind,
            object,
            detail,
            hazards: hazard::of(self),
        }
    }
}

/// The changes as listed: a drop and an add of the same object (a constraint or index whose
/// definition changed) are one `~` line.
pub fn summaries(changes: &[Change]) -> Vec<Summary> {
    let all: Vec<Summary> = changes.iter().map(Change::summary).collect();
    let mut used = vec![false; all.len()];
    let mut out = Vec::with_capacity(all.len());
    for (i, s) in all.iter().enumerate() {
        if used[i] {
            continue;
        }
        if s.sign == Sign::Drop {
            let twin = all.iter().enumerate().position(|(j, t)| {
                !used[j]
                    && j != i
                    && t.sign == Sign::Add
                    && t.kind == s.kind
                    && t.object == s.object
            });
            if let Some(j) = twin {
                used[j] = true;
                let mut hazards = s.hazards.clone();
                hazards.extend(all[j].hazards.iter().cloned());
                out.push(Summary {
                    sign: Sign::Alter,
                    kind: s.kind,
                    object: s.object.clone(),
                    detail: Some("different definition: dropped and created again".to_owned()),
                    hazards,
                });
                continue;
            }
        }
        out.push(s.clone());
    }
    out
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.sign.as_str(), self.kind, self.object)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

fn enum_detail(from: &[String], to: &[String]) -> String {
    let added: Vec<&str> = to
        .iter()
        .filter(|v| !from.contains(v))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = from
        .iter()
        .filter(|v| !to.contains(v))
        .map(String::as_str)
        .collect();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("values added: {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("values removed: {}", removed.join(", ")));
    }
    if parts.is_empty() {
        parts.push("values reordered".to_owned());
    }
    parts.join("; ")
}

fn column_detail(from: &Column, to: &Column) -> String {
    let mut parts = Vec::new();
    if from.ty != to.ty {
        parts.push(format!("different type: {} → {}", from.ty, to.ty));
    }
    if from.nullable != to.nullable {
        parts.push(
            if to.nullable {
                "now nullable"
            } else {
                "now not null"
            }
            .to_owned(),
        );
    }
    if from.default != to.default {
        parts.push(match (&from.default, &to.default) {
            (None, Some(d)) => format!("default {d} added"),
            (Some(_), None) => "default removed".to_owned(),
            (_, Some(d)) => format!("different default: {d}"),
            (None, None) => "different default".to_owned(),
        });
    }
    if from.generated != to.generated {
        parts.push(
            match to.generated {
                None => "no longer generated",
                Some(crate::ir::canonical::Generated::Serial) => "now serial",
                Some(crate::ir::canonical::Generated::IdentityAlways) => "now identity (always)",
                Some(crate::ir::canonical::Generated::IdentityByDefault) => "now identity",
            }
            .to_owned(),
        );
    }
    parts.join("; ")
}

/// The result of comparing two schemas.
#[derive(Clone, Debug, Default)]
pub struct Diff {
    pub changes: Vec<Change>,
    pub hints: Vec<RenameHint>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Compares `desired` with `current`; table and column renames must already be applied to
/// `current` (see [`rename::apply`]), and are then listed first by [`rename::changes`].
pub fn diff(desired: &Database, current: &Database) -> Diff {
    let mut out = Diff::default();
    let changes = &mut out.changes;

    let cur_schemas: FxHashSet<&str> = current.schemas.iter().map(String::as_str).collect();
    let want_schemas: FxHashSet<&str> = desired.schemas.iter().map(String::as_str).collect();
    for s in &desired.schemas {
        if !cur_schemas.contains(s.as_str()) {
            changes.push(Change::CreateSchema(s.clone()));
        }
    }

    let cur_enums: FxHashMap<&QualifiedName, &Enum> =
        current.enums.iter().map(|e| (&e.name, e)).collect();
    let want_enums: FxHashSet<&QualifiedName> = desired.enums.iter().map(|e| &e.name).collect();
    for e in &desired.enums {
        match cur_enums.get(&e.name) {
            None => changes.push(Change::CreateEnum(e.clone())),
            Some(c) if c.values != e.values => changes.push(Change::AlterEnum {
                name: e.name.clone(),
                from: c.values.clone(),
                to: e.values.clone(),
            }),
            Some(_) => {}
        }
    }

    let cur_tables: FxHashMap<&QualifiedName, &Table> =
        current.tables.iter().map(|t| (&t.name, t)).collect();
    let want_tables: FxHashSet<&QualifiedName> = desired.tables.iter().map(|t| &t.name).collect();
    let mut created: Vec<&Table> = Vec::new();
    for t in &desired.tables {
        match cur_tables.get(&t.name) {
            None => {
                created.push(t);
                changes.push(Change::CreateTable(t.clone()));
            }
            Some(c) => table_changes(t, c, changes, &mut out.hints),
        }
    }
    let mut dropped: Vec<&Table> = Vec::new();
    for t in &current.tables {
        if !want_tables.contains(&t.name) {
            dropped.push(t);
            changes.push(Change::DropTable(t.clone()));
        }
    }
    // Foreign keys of kept tables into dropped tables are dropped by `table_changes` already
    // (the desired side cannot reference a table it does not have).
    for e in &current.enums {
        if !want_enums.contains(&e.name) {
            changes.push(Change::DropEnum(e.clone()));
        }
    }
    for s in &current.schemas {
        if !want_schemas.contains(s.as_str()) {
            changes.push(Change::DropSchema(s.clone()));
        }
    }
    table_rename_hints(&created, &dropped, &mut out.hints);
    out
}

/// A dropped table and a created one in the same schema with the same columns (names and
/// types) look like a rename.
fn table_rename_hints(created: &[&Table], dropped: &[&Table], hints: &mut Vec<RenameHint>) {
    let shape = |t: &Table| {
        let mut cols: Vec<(String, String)> = t
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.ty.to_string()))
            .collect();
        cols.sort();
        cols
    };
    let mut used = FxHashSet::default();
    for d in dropped {
        let ds = shape(d);
        let found = created
            .iter()
            .enumerate()
            .find(|(i, c)| !used.contains(i) && c.name.schema == d.name.schema && shape(c) == ds);
        if let Some((i, c)) = found {
            used.insert(i);
            hints.push(RenameHint {
                what: format!("table {} → {}", d.name, c.name),
                flag: format!(
                    "--rename {}={}",
                    rename::path(&d.name, None),
                    rename::path(&c.name, None)
                ),
            });
        }
    }
}

/// Column and constraint differences of one table present on both sides.
fn table_changes(
    want: &Table,
    cur: &Table,
    changes: &mut Vec<Change>,
    hints: &mut Vec<RenameHint>,
) {
    // Most tables are unchanged: one structural comparison settles them.
    if want == cur {
        return;
    }
    let table = &want.name;
    let mut added: Vec<&Column> = Vec::new();
    for c in &want.columns {
        match cur.column(&c.name) {
            None => {
                added.push(c);
                changes.push(Change::AddColumn {
                    table: table.clone(),
                    column: c.clone(),
                });
            }
            Some(old) => {
                if old.ty != c.ty
                    || old.nullable != c.nullable
                    || old.default != c.default
                    || old.generated != c.generated
                {
                    changes.push(Change::AlterColumn {
                        table: table.clone(),
                        from: old.clone(),
                        to: c.clone(),
                    });
                }
                if old.comment != c.comment {
                    changes.push(Change::Comment {
                        on: CommentOn::Column(table.clone(), c.name.clone()),
                        from: old.comment.clone(),
                        to: c.comment.clone(),
                    });
                }
            }
        }
    }
    let mut used = FxHashSet::default();
    for old in &cur.columns {
        if want.column(&old.name).is_none() {
            changes.push(Change::DropColumn {
                table: table.clone(),
                column: old.clone(),
            });
            let twin = added
                .iter()
                .enumerate()
                .find(|(i, c)| !used.contains(i) && c.ty == old.ty);
            if let Some((i, c)) = twin {
                used.insert(i);
                hints.push(RenameHint {
                    what: format!("column {table}.{} → {}", old.name, c.name),
                    flag: format!(
                        "--rename {}={}",
                        rename::path(table, Some(&old.name)),
                        rename::path(table, Some(&c.name))
                    ),
                });
            }
        }
    }

    // Primary key.
    match (&want.primary_key, &cur.primary_key) {
        (Some(w), Some(c)) if w == c => {}
        (Some(w), Some(c)) if w.columns == c.columns => changes.push(Change::RenameConstraint {
            table: table.clone(),
            kind: ConstraintKind::PrimaryKey,
            from: c.name.clone(),
            to: w.name.clone(),
        }),
        (w, c) => {
            if let Some(c) = c {
                changes.push(Change::DropPrimaryKey {
                    table: table.clone(),
                    key: c.clone(),
                });
            }
            if let Some(w) = w {
                changes.push(Change::AddPrimaryKey {
                    table: table.clone(),
                    key: w.clone(),
                });
            }
        }
    }

    named_changes(
        &want.uniques,
        &cur.uniques,
        |k| &k.name,
        |a, b| a.columns == b.columns,
        |k, add| {
            if add {
                Change::AddUnique {
                    table: table.clone(),
                    key: k.clone(),
                }
            } else {
                Change::DropUnique {
                    table: table.clone(),
                    key: k.clone(),
                }
            }
        },
        |from, to| Change::RenameConstraint {
            table: table.clone(),
            kind: ConstraintKind::Unique,
            from,
            to,
        },
        changes,
    );
    named_changes(
        &want.checks,
        &cur.checks,
        |k| &k.name,
        |a, b| a.expression == b.expression,
        |k, add| {
            if add {
                Change::AddCheck {
                    table: table.clone(),
                    check: k.clone(),
                }
            } else {
                Change::DropCheck {
                    table: table.clone(),
                    check: k.clone(),
                }
            }
        },
        |from, to| Change::RenameConstraint {
            table: table.clone(),
            kind: ConstraintKind::Check,
            from,
            to,
        },
        changes,
    );
    named_changes(
        &want.foreign_keys,
        &cur.foreign_keys,
        |k| &k.name,
        same_foreign_key,
        |k, add| {
            if add {
                Change::AddForeignKey {
                    table: table.clone(),
                    fk: k.clone(),
                }
            } else {
                Change::DropForeignKey {
                    table: table.clone(),
                    fk: k.clone(),
                }
            }
        },
        |from, to| Change::RenameConstraint {
            table: table.clone(),
            kind: ConstraintKind::ForeignKey,
            from,
            to,
        },
        changes,
    );
    // Indexes: the definition without name and comment; comments are compared separately.
    let same_index = |a: &Index, b: &Index| {
        a.unique == b.unique
            && a.method == b.method
            && a.keys == b.keys
            && a.predicate == b.predicate
    };
    named_changes(
        &want.indexes,
        &cur.indexes,
        |k| &k.name,
        |a, b| same_index(a, b),
        |k, add| {
            if add {
                Change::CreateIndex {
                    table: table.clone(),
                    index: k.clone(),
                }
            } else {
                Change::DropIndex {
                    table: table.clone(),
                    index: k.clone(),
                }
            }
        },
        |from, to| Change::RenameIndex {
            table: table.clone(),
            from,
            to,
        },
        changes,
    );
    // Index comments where the index is kept (same name and definition, or renamed).
    for w in &want.indexes {
        let old = cur
            .indexes
            .iter()
            .find(|c| c.name == w.name && same_index(c, w))
            .or_else(|| {
                cur.indexes
                    .iter()
                    .find(|c| same_index(c, w) && !want.indexes.iter().any(|x| x.name == c.name))
            });
        if let Some(old) = old {
            if old.comment != w.comment {
                changes.push(Change::Comment {
                    on: CommentOn::Index(table.clone(), w.name.clone()),
                    from: old.comment.clone(),
                    to: w.comment.clone(),
                });
            }
        }
    }
    if want.comment != cur.comment {
        changes.push(Change::Comment {
            on: CommentOn::Table(table.clone()),
            from: cur.comment.clone(),
            to: want.comment.clone(),
        });
    }
}

/// Two foreign keys with the same definition, names aside. `DEFERRABLE INITIALLY IMMEDIATE`
/// and `NOT DEFERRABLE` count as the same: they behave the same unless a transaction defers
/// the constraint, DBML cannot tell them apart (the reference writes every foreign key
/// `DEFERRABLE INITIALLY IMMEDIATE`), and a schema made by hand has the other.
pub fn same_foreign_key(a: &ForeignKey, b: &ForeignKey) -> bool {
    let deferred = |f: &ForeignKey| f.deferrable && f.initially_deferred;
    a.columns == b.columns
        && a.references == b.references
        && a.referenced_columns == b.referenced_columns
        && a.on_delete == b.on_delete
        && a.on_update == b.on_update
        && deferred(a) == deferred(b)
}

/// Matches two lists of named things: same name and same definition is no change; same name,
/// other definition is a drop and an add; a definition present on both sides under different
/// names is a rename; the rest are drops and adds.
#[allow(clippy::too_many_arguments)]
fn named_changes<T>(
    want: &[T],
    cur: &[T],
    name: impl Fn(&T) -> &String,
    same: impl Fn(&T, &T) -> bool,
    make: impl Fn(&T, bool) -> Change,
    rename: impl Fn(String, String) -> Change,
    changes: &mut Vec<Change>,
) {
    let mut drops: Vec<&T> = Vec::new();
    let mut adds: Vec<&T> = Vec::new();
    for c in cur {
        match want.iter().find(|w| name(w) == name(c)) {
            Some(w) if same(w, c) => {}
            Some(_) => drops.push(c),
            None => drops.push(c),
        }
    }
    for w in want {
        match cur.iter().find(|c| name(c) == name(w)) {
            Some(c) if same(w, c) => {}
            _ => adds.push(w),
        }
    }
    let mut renamed_from: FxHashSet<usize> = FxHashSet::default();
    let mut remaining_adds = Vec::new();
    for w in adds {
        // Only a current object whose name is free on the desired side can be renamed.
        let found = drops.iter().enumerate().find(|(i, c)| {
            !renamed_from.contains(i) && same(w, c) && !want.iter().any(|x| name(x) == name(c))
        });
        match found {
            Some((i, c)) if !cur.iter().any(|x| name(x) == name(w)) => {
                renamed_from.insert(i);
                changes.push(rename(name(c).clone(), name(w).clone()));
            }
            _ => remaining_adds.push(w),
        }
    }
    for (i, c) in drops.iter().enumerate() {
        if !renamed_from.contains(&i) {
            changes.push(make(c, false));
        }
    }
    for w in remaining_adds {
        changes.push(make(w, true));
    }
}
