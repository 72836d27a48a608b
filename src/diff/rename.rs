//! Renames the user asks for with `--rename OLD=NEW`.
//!
//! A table rename is `old=new` (`app.old=app.new` outside `public`); a column rename is
//! `table.old=table.new` (or `table.old=new`; `schema.table.old=…` outside `public`). Names
//! with dots, `=`, quotes or blanks are written in double quotes, with `""` for a quote.
//! [`resolve`] checks each against both schemas; [`apply`] renames the objects in the current
//! schema, so that [`super::diff`] then sees them as the same objects; [`changes`] lists the
//! renames as changes; [`reverse`] turns them around for the DOWN migration.

use super::Change;
use crate::ir::canonical::{Database, Expr, IndexKey};
use crate::ir::model::{QualifiedName, DEFAULT_SCHEMA};
use crate::sql::quote_ident;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rename {
    Table {
        from: QualifiedName,
        to: QualifiedName,
    },
    /// `table` is the table's name on the current side.
    Column {
        table: QualifiedName,
        from: String,
        to: String,
    },
}

/// How a table (and optionally a column) is written in a `--rename` flag.
pub fn path(table: &QualifiedName, column: Option<&str>) -> String {
    let part = |s: &str| {
        if s.is_empty() || s.contains(['.', '=', '"', ' ', '\t', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut out = String::new();
    if table.schema != DEFAULT_SCHEMA {
        out.push_str(&part(&table.schema));
        out.push('.');
    }
    out.push_str(&part(&table.name));
    if let Some(c) = column {
        out.push('.');
        out.push_str(&part(c));
    }
    out
}

/// Splits `a."b.c"=d` into `(["a", "b.c"], ["d"])`.
fn split(spec: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let mut sides: Vec<Vec<String>> = vec![Vec::new()];
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = spec.chars().peekable();
    let bad = || {
        format!("--rename {spec}: expected OLD=NEW, e.g. users.name=users.full_name or old_table=new_table")
    };
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                was_quoted = true;
            }
            '.' | '=' => {
                if cur.is_empty() && !was_quoted {
                    return Err(bad());
                }
                if let Some(side) = sides.last_mut() {
                    side.push(std::mem::take(&mut cur));
                }
                was_quoted = false;
                if c == '=' {
                    if sides.len() > 1 {
                        return Err(bad());
                    }
                    sides.push(Vec::new());
                }
            }
            c => cur.push(c),
        }
    }
    if quoted || (cur.is_empty() && !was_quoted) || sides.len() != 2 {
        return Err(bad());
    }
    if let Some(side) = sides.last_mut() {
        side.push(cur);
    }
    let right = sides.pop().unwrap_or_default();
    let left = sides.pop().unwrap_or_default();
    if left.is_empty() || right.is_empty() || left.len() > 3 || right.len() > 3 {
        return Err(bad());
    }
    Ok((left, right))
}

/// Splits `specs` into those still to do and those `current` already shows done: the source
/// is gone and the target is there (an import run again with the same flags, before or after
/// its migration was applied). Specs that do not parse are left to [`resolve`] to report.
pub fn split_done(specs: &[String], current: &Database) -> (Vec<String>, Vec<String>) {
    let public = |n: &str| QualifiedName::new(DEFAULT_SCHEMA, n);
    let table_done =
        |spec: &str, from: QualifiedName, right: &[String]| match table_rename(spec, from, right) {
            Ok(Rename::Table { from, to }) => {
                current.table(&from).is_none() && current.table(&to).is_some()
            }
            _ => false,
        };
    // The table a column rename names by its old name, wherever it is now.
    let table_now = |t: &QualifiedName| {
        current.table(t).or_else(|| {
            specs.iter().find_map(|other| {
                let (l, r) = split(other).ok()?;
                let from = match l.as_slice() {
                    [t] => public(t),
                    [a, b] => QualifiedName::new(a.as_str(), b.as_str()),
                    _ => return None,
                };
                match table_rename(other, from, &r) {
                    Ok(Rename::Table { from, to }) if &from == t => current.table(&to),
                    _ => None,
                }
            })
        })
    };
    let column_done = |t: &QualifiedName, from: &str, right: &[String]| {
        right.last().is_some_and(|to| {
            table_now(t).is_some_and(|t| t.column(from).is_none() && t.column(to).is_some())
        })
    };
    let mut todo = Vec::new();
    let mut done = Vec::new();
    for spec in specs {
        let is_done = match split(spec) {
            Ok((left, right)) => match left.as_slice() {
                [t] => table_done(spec, public(t), &right),
                [a, b] => {
                    let qualified = QualifiedName::new(a.as_str(), b.as_str());
                    let source_exists = current.table(&qualified).is_some()
                        || current
                            .table(&public(a))
                            .is_some_and(|t| t.column(b).is_some());
                    !source_exists
                        && (table_done(spec, qualified, &right)
                            || column_done(&public(a), b, &right))
                }
                [sc, t, c] => column_done(&QualifiedName::new(sc.as_str(), t.as_str()), c, &right),
                _ => false,
            },
            Err(_) => false,
        };
        if is_done {
            done.push(spec.clone());
        } else {
            todo.push(spec.clone());
        }
    }
    (todo, done)
}

/// Parses and checks `--rename` flags against the current and desired schemas.
pub fn resolve(
    specs: &[String],
    current: &Database,
    desired: &Database,
) -> Result<Vec<Rename>, String> {
    let mut out = Vec::new();
    for spec in specs {
        let (left, right) = split(spec)?;
        let public = |n: &str| QualifiedName::new(DEFAULT_SCHEMA, n);
        let column_of =
            |t: &QualifiedName, c: &str| current.table(t).is_some_and(|t| t.column(c).is_some());
        let rename = match left.as_slice() {
            [t] => table_rename(spec, public(t), &right)?,
            [a, b] if column_of(&public(a), b) => column_rename(spec, public(a), b, &right)?,
            [a, b]
                if current
                    .table(&QualifiedName::new(a.as_str(), b.as_str()))
                    .is_some() =>
            {
                table_rename(spec, QualifiedName::new(a.as_str(), b.as_str()), &right)?
            }
            [s, t, c] => {
                column_rename(spec, QualifiedName::new(s.as_str(), t.as_str()), c, &right)?
            }
            _ => {
                return Err(format!(
                    "--rename {spec}: {} names no table or column of the current schema",
                    left.join(".")
                ))
            }
        };
        out.push(rename);
    }
    // Check the results against both sides.
    let table_after = |t: &QualifiedName| -> QualifiedName {
        out.iter()
            .find_map(|r| match r {
                Rename::Table { from, to } if from == t => Some(to.clone()),
                _ => None,
            })
            .unwrap_or_else(|| t.clone())
    };
    for r in &out {
        match r {
            Rename::Table { from, to } => {
                if current.table(from).is_none() {
                    return Err(format!("--rename: there is no table {from} to rename"));
                }
                if current.table(to).is_some() {
                    return Err(format!(
                        "--rename: table {to} already exists; it cannot be the new name of {from}"
                    ));
                }
                if desired.table(to).is_none() {
                    return Err(format!(
                        "--rename: the new schema has no table {to} (renaming {from})"
                    ));
                }
            }
            Rename::Column { table, from, to } => {
                let Some(t) = current.table(table) else {
                    return Err(format!("--rename: there is no table {table}"));
                };
                if t.column(from).is_none() {
                    return Err(format!("--rename: table {table} has no column {from}"));
                }
                if t.column(to).is_some() {
                    return Err(format!("--rename: table {table} already has a column {to}"));
                }
                let new_table = table_after(table);
                if desired
                    .table(&new_table)
                    .is_none_or(|t| t.column(to).is_none())
                {
                    return Err(format!(
                        "--rename: the new schema has no column {new_table}.{to} (renaming {table}.{from})"
                    ));
                }
            }
        }
    }
    for (i, a) in out.iter().enumerate() {
        if out[..i].iter().any(|b| same_source(a, b)) {
            return Err("--rename: the same object is renamed twice".to_owned());
        }
    }
    Ok(out)
}

fn same_source(a: &Rename, b: &Rename) -> bool {
    match (a, b) {
        (Rename::Table { from: x, .. }, Rename::Table { from: y, .. }) => x == y,
        (
            Rename::Column {
                table: t1,
                from: c1,
                ..
            },
            Rename::Column {
                table: t2,
                from: c2,
                ..
            },
        ) => t1 == t2 && c1 == c2,
        _ => false,
    }
}

fn table_rename(spec: &str, from: QualifiedName, right: &[String]) -> Result<Rename, String> {
    let to = match right {
        [n] => QualifiedName::new(from.schema.as_str(), n.as_str()),
        [s, n] => QualifiedName::new(s.as_str(), n.as_str()),
        _ => {
            return Err(format!(
                "--rename {spec}: the new table name has too many parts"
            ))
        }
    };
    if to.schema != from.schema {
        return Err(format!(
            "--rename {spec}: a table cannot move to another schema; rename it within {}",
            from.schema
        ));
    }
    Ok(Rename::Table { from, to })
}

fn column_rename(
    spec: &str,
    table: QualifiedName,
    from: &str,
    right: &[String],
) -> Result<Rename, String> {
    let Some(to) = right.last() else {
        return Err(format!("--rename {spec}: missing the new column name"));
    };
    Ok(Rename::Column {
        table,
        from: from.to_owned(),
        to: to.clone(),
    })
}

/// The renames as changes, columns first (they name the table by its old name), then tables.
pub fn changes(renames: &[Rename]) -> Vec<Change> {
    let columns = renames.iter().filter_map(|r| match r {
        Rename::Column { table, from, to } => Some(Change::RenameColumn {
            table: table.clone(),
            from: from.clone(),
            to: to.clone(),
        }),
        Rename::Table { .. } => None,
    });
    let tables = renames.iter().filter_map(|r| match r {
        Rename::Table { from, to } => Some(Change::RenameTable {
            from: from.clone(),
            to: to.clone(),
        }),
        Rename::Column { .. } => None,
    });
    columns.chain(tables).collect()
}

/// The same renames the other way round (for DOWN).
pub fn reverse(renames: &[Rename]) -> Vec<Rename> {
    let table_after = |t: &QualifiedName| -> QualifiedName {
        renames
            .iter()
            .find_map(|r| match r {
                Rename::Table { from, to } if from == t => Some(to.clone()),
                _ => None,
            })
            .unwrap_or_else(|| t.clone())
    };
    renames
        .iter()
        .map(|r| match r {
            Rename::Table { from, to } => Rename::Table {
                from: to.clone(),
                to: from.clone(),
            },
            Rename::Column { table, from, to } => Rename::Column {
                table: table_after(table),
                from: to.clone(),
                to: from.clone(),
            },
        })
        .collect()
}

/// `current` with the renames done, as the server would show it afterwards (borrowed as it is
/// when there are none).
pub fn apply<'a>(current: &'a Database, renames: &[Rename]) -> std::borrow::Cow<'a, Database> {
    if renames.is_empty() {
        return std::borrow::Cow::Borrowed(current);
    }
    let mut db = current.clone();
    for r in renames {
        if let Rename::Column { table, from, to } = r {
            for t in &mut db.tables {
                if &t.name == table {
                    for c in &mut t.columns {
                        if &c.name == from {
                            c.name = to.clone();
                        }
                    }
                    let keys = t.primary_key.iter_mut().chain(t.uniques.iter_mut());
                    for k in keys {
                        rename_in(&mut k.columns, from, to);
                    }
                    for fk in &mut t.foreign_keys {
                        rename_in(&mut fk.columns, from, to);
                    }
                    for ch in &mut t.checks {
                        ch.expression = rename_in_expr(&ch.expression, from, to);
                    }
                    for i in &mut t.indexes {
                        for k in &mut i.keys {
                            match k {
                                IndexKey::Column(c) if c == from => *c = to.clone(),
                                IndexKey::Column(_) => {}
                                IndexKey::Expression(e) => *e = rename_in_expr(e, from, to),
                            }
                        }
                        if let Some(p) = &mut i.predicate {
                            *p = rename_in_expr(p, from, to);
                        }
                    }
                }
                for fk in &mut t.foreign_keys {
                    if &fk.references == table {
                        rename_in(&mut fk.referenced_columns, from, to);
                    }
                }
            }
        }
    }
    for r in renames {
        if let Rename::Table { from, to } = r {
            for t in &mut db.tables {
                if &t.name == from {
                    t.name = to.clone();
                }
                for fk in &mut t.foreign_keys {
                    if &fk.references == from {
                        fk.references = to.clone();
                    }
                }
            }
        }
    }
    db.normalize();
    std::borrow::Cow::Owned(db)
}

fn rename_in(list: &mut [String], from: &str, to: &str) {
    for c in list {
        if c == from {
            *c = to.to_owned();
        }
    }
}

/// Replaces the column name `from` by `to` in SQL expression text, as the server would print
/// the expression after `RENAME COLUMN`: names outside string literals, bare (folded to lower
/// case) or double-quoted.
pub fn rename_in_expr(expr: &Expr, from: &str, to: &str) -> Expr {
    let text = expr.as_str();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    let new = quote_ident(to);
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => {
                out.push(c);
                while let Some((_, d)) = chars.next() {
                    out.push(d);
                    if d == '\'' {
                        if chars.peek().is_some_and(|(_, e)| *e == '\'') {
                            if let Some((_, e)) = chars.next() {
                                out.push(e);
                            }
                        } else {
                            break;
                        }
                    }
                }
            }
            '"' => {
                let mut name = String::new();
                let mut raw = String::from('"');
                while let Some((_, d)) = chars.next() {
                    raw.push(d);
                    if d == '"' {
                        if chars.peek().is_some_and(|(_, e)| *e == '"') {
                            if let Some((_, e)) = chars.next() {
                                raw.push(e);
                            }
                            name.push('"');
                        } else {
                            break;
                        }
                    } else {
                        name.push(d);
                    }
                }
                if name == from {
                    out.push_str(&new);
                } else {
                    out.push_str(&raw);
                }
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut end = i + c.len_utf8();
                while let Some((j, d)) = chars.peek().copied() {
                    if d.is_alphanumeric() || d == '_' || d == '$' {
                        end = j + d.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let word = text.get(i..end).unwrap_or_default();
                if word.to_lowercase() == from {
                    out.push_str(&new);
                } else {
                    out.push_str(word);
                }
            }
            c => out.push(c),
        }
    }
    Expr(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_paths() {
        assert_eq!(
            split("users.name=users.full_name").unwrap(),
            (
                vec!["users".to_owned(), "name".to_owned()],
                vec!["users".to_owned(), "full_name".to_owned()]
            )
        );
        assert_eq!(
            split("\"a.b\"=\"c\"\"d\"").unwrap(),
            (vec!["a.b".to_owned()], vec!["c\"d".to_owned()])
        );
        assert!(split("users").is_err());
        assert!(split("a=b=c").is_err());
        assert!(split("a.=b").is_err());
        assert!(split("\"a=b").is_err());
        assert_eq!(
            path(&QualifiedName::new("public", "a.b"), Some("c")),
            "\"a.b\".c"
        );
    }

    #[test]
    fn renames_names_in_expressions_but_not_in_strings() {
        let e = Expr("(name <> 'name'::text) AND (\"name\" IS NOT NULL) AND (names > 1)".into());
        assert_eq!(
            rename_in_expr(&e, "name", "Full Name").as_str(),
            "(\"Full Name\" <> 'name'::text) AND (\"Full Name\" IS NOT NULL) AND (names > 1)"
        );
    }
}
