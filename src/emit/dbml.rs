//! Writing a canonical [`Database`] as DBML.
//!
//! The output is DBML that `schema check` accepts and that canonicalizes back to the same
//! database: a name is written only where PostgreSQL's default naming would not reproduce
//! it, a default value is written as a DBML string, number or boolean only when that value
//! canonicalizes to exactly the stored expression (otherwise as a backtick expression), and
//! identity and serial columns become `increment` and `serial` types. What DBML cannot say is
//! documented in ARCHITECTURE.md (identity ALWAYS, non-deferrable foreign keys, multi-column
//! unique constraints, partial indexes). Names that are not plain identifiers are quoted with
//! DBML's escapes. This module never does I/O.

use crate::ir::canonical::{
    cast_type_name, default_expr, Column, Database, Expr, ForeignKey, Generated, IndexKey, Table,
};
use crate::ir::model::{self, DefaultValue, RefAction, DEFAULT_SCHEMA};
use crate::ir::pgnames::make_object_name;
use crate::ir::pgtypes::PgType;
use std::fmt::Write;

/// A DBML name: bare when it is a plain identifier, else `"…"` with escapes.
pub fn name(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        s.to_owned()
    } else {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        escape_into(&mut out, s, '"');
        out.push('"');
        out
    }
}

fn escape_into(out: &mut String, s: &str, quote: char) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

/// A DBML `'…'` string.
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    escape_into(&mut out, s, '\'');
    out.push('\'');
    out
}

fn qualified(n: &model::QualifiedName) -> String {
    if n.schema == DEFAULT_SCHEMA {
        name(&n.name)
    } else {
        format!("{}.{}", name(&n.schema), name(&n.name))
    }
}

/// A type as DBML writes it: short names where DBML has them, the `format_type` spelling in
/// quotes otherwise.
fn type_name(c: &Column) -> String {
    let ty = &c.ty;
    if c.generated == Some(Generated::Serial) {
        return match ty.name.as_str() {
            "bigint" => "bigserial",
            "smallint" => "smallserial",
            _ => "serial",
        }
        .to_owned();
    }
    if let Some(schema) = &ty.schema {
        let base = if schema == DEFAULT_SCHEMA {
            name(&ty.name)
        } else {
            format!("{}.{}", name(schema), name(&ty.name))
        };
        return if ty.is_array() {
            format!("{base}[]")
        } else {
            base
        };
    }
    let short = match ty.name.as_str() {
        "character varying" => Some("varchar"),
        "character" => Some("char"),
        "timestamp with time zone" => Some("timestamptz"),
        "timestamp without time zone" => Some("timestamp"),
        "time with time zone" => Some("timetz"),
        "time without time zone" => Some("time"),
        "double precision" => Some("float8"),
        "bit varying" => Some("varbit"),
        n if !n.contains([' ', '"']) => Some(n),
        _ => None,
    };
    let array = if ty.is_array() { "[]" } else { "" };
    match short {
        Some(s) => {
            let mods = if ty.modifiers.is_empty() {
                String::new()
            } else {
                let m: Vec<String> = ty.modifiers.iter().map(i64::to_string).collect();
                format!("({})", m.join(","))
            };
            format!("{s}{mods}{array}")
        }
        None => {
            let scalar = PgType {
                array_dims: 0,
                ..ty.clone()
            };
            format!("{}{array}", name(&scalar.to_string()))
        }
    }
}

/// The DBML value that canonicalizes to `expr` on a column of type `ty`.
fn default_value(expr: &Expr, ty: &PgType) -> String {
    let text = expr.as_str();
    let same = |v: &DefaultValue| default_expr(v, ty).is_some_and(|e| e.as_str() == text);
    if text == "true" || text == "false" {
        return text.to_owned();
    }
    // A number, bare or as `'n'::type`.
    let number = text
        .strip_prefix('\'')
        .and_then(|r| r.split_once("'::"))
        .map_or(text, |(n, _)| n);
    if !number.is_empty()
        && number
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && same(&DefaultValue::Number(number.to_owned()))
    {
        return number.to_owned();
    }
    // A string literal cast to the column's type.
    if let Some(lit) = text.strip_suffix(&format!("::{}", cast_type_name(ty))) {
        if let Some(body) = lit.strip_prefix('\'').and_then(|b| b.strip_suffix('\'')) {
            let value = body.replace("''", "'");
            if same(&DefaultValue::String(value.clone())) {
                return string(&value);
            }
        }
    }
    format!("`{text}`")
}

fn write_table(out: &mut String, t: &Table) {
    let default_pk = make_object_name(&t.name.name, None, "pkey");
    let inline_pk = t
        .primary_key
        .as_ref()
        .filter(|k| k.columns.len() == 1 && k.name == default_pk)
        .and_then(|k| k.columns.first());
    let inline_uniques: Vec<&str> = t
        .uniques
        .iter()
        .filter(|k| {
            k.columns.len() == 1
                && k.columns
                    .first()
                    .is_some_and(|c| k.name == make_object_name(&t.name.name, Some(c), "key"))
        })
        .filter_map(|k| k.columns.first().map(String::as_str))
        .collect();
    let _ = writeln!(out, "Table {} {{", qualified(&t.name));
    for c in &t.columns {
        let mut settings: Vec<String> = Vec::new();
        let pk = inline_pk == Some(&c.name);
        if pk {
            settings.push("pk".to_owned());
        }
        if matches!(
            c.generated,
            Some(Generated::IdentityByDefault | Generated::IdentityAlways)
        ) {
            settings.push("increment".to_owned());
        }
        if !c.nullable && !pk && c.generated.is_none() {
            settings.push("not null".to_owned());
        }
        if inline_uniques.contains(&c.name.as_str()) {
            settings.push("unique".to_owned());
        }
        if let Some(d) = &c.default {
            settings.push(format!("default: {}", default_value(d, &c.ty)));
        }
        if let Some(n) = &c.comment {
            settings.push(format!("note: {}", string(n)));
        }
        let _ = write!(out, "  {} {}", name(&c.name), type_name(c));
        if !settings.is_empty() {
            let _ = write!(out, " [{}]", settings.join(", "));
        }
        out.push('\n');
    }
    let mut indexes: Vec<String> = Vec::new();
    if let Some(k) = t.primary_key.as_ref().filter(|_| inline_pk.is_none()) {
        let cols: Vec<String> = k.columns.iter().map(|c| name(c)).collect();
        let mut s = format!("({}) [pk", cols.join(", "));
        if k.name != default_pk {
            let _ = write!(s, ", name: {}", string(&k.name));
        }
        s.push(']');
        indexes.push(s);
    }
    for k in t
        .uniques
        .iter()
        .filter(|k| !(k.columns.len() == 1 && inline_uniques.contains(&k.columns[0].as_str())))
    {
        // DBML has no table-level unique constraint: the nearest is a unique index.
        let cols: Vec<String> = k.columns.iter().map(|c| name(c)).collect();
        indexes.push(format!(
            "({}) [unique, name: {}]",
            cols.join(", "),
            string(&k.name)
        ));
    }
    for i in &t.indexes {
        let keys: Vec<String> = i
            .keys
            .iter()
            .map(|k| match k {
                IndexKey::Column(c) => name(c),
                IndexKey::Expression(e) => format!("`{e}`"),
            })
            .collect();
        let mut settings = Vec::new();
        if i.unique {
            settings.push("unique".to_owned());
        }
        if i.method != "btree" {
            settings.push(format!("type: {}", i.method));
        }
        settings.push(format!("name: {}", string(&i.name)));
        if let Some(n) = &i.comment {
            settings.push(format!("note: {}", string(n)));
        }
        indexes.push(format!("({}) [{}]", keys.join(", "), settings.join(", ")));
    }
    if !indexes.is_empty() {
        out.push_str("\n  indexes {\n");
        for i in indexes {
            let _ = writeln!(out, "    {i}");
        }
        out.push_str("  }\n");
    }
    if !t.checks.is_empty() {
        out.push_str("\n  checks {\n");
        for c in &t.checks {
            let _ = writeln!(out, "    `{}` [name: {}]", c.expression, string(&c.name));
        }
        out.push_str("  }\n");
    }
    if let Some(n) = &t.comment {
        let _ = writeln!(out, "\n  Note: {}", string(n));
    }
    out.push_str("}\n\n");
}

fn action(a: RefAction) -> &'static str {
    match a {
        RefAction::Cascade => "cascade",
        RefAction::Restrict => "restrict",
        RefAction::SetNull => "set null",
        RefAction::SetDefault => "set default",
        RefAction::NoAction => "no action",
    }
}

fn write_ref(out: &mut String, t: &Table, fk: &ForeignKey) {
    let cols = |c: &[String]| -> String {
        match c {
            [one] => name(one),
            many => format!(
                "({})",
                many.iter().map(|c| name(c)).collect::<Vec<_>>().join(", ")
            ),
        }
    };
    out.push_str("Ref");
    let default = make_object_name(&t.name.name, Some(&fk.columns.join("_")), "fkey");
    if fk.name != default {
        let _ = write!(out, " {}", name(&fk.name));
    }
    let _ = write!(
        out,
        ": {}.{} > {}.{}",
        qualified(&t.name),
        cols(&fk.columns),
        qualified(&fk.references),
        cols(&fk.referenced_columns)
    );
    let mut settings = Vec::new();
    if fk.on_delete != RefAction::NoAction {
        settings.push(format!("delete: {}", action(fk.on_delete)));
    }
    if fk.on_update != RefAction::NoAction {
        settings.push(format!("update: {}", action(fk.on_update)));
    }
    if !settings.is_empty() {
        let _ = write!(out, " [{}]", settings.join(", "));
    }
    out.push('\n');
}

/// The whole database as one DBML document.
pub fn to_dbml(db: &Database) -> String {
    let mut out = String::with_capacity(db.tables.len() * 1024);
    out.push_str("Project exported {\n  database_type: 'PostgreSQL'\n}\n\n");
    for e in &db.enums {
        let _ = writeln!(out, "Enum {} {{", qualified(&e.name));
        for v in &e.values {
            let _ = writeln!(out, "  {}", name(v));
        }
        out.push_str("}\n\n");
    }
    for t in &db.tables {
        write_table(&mut out, t);
    }
    for t in &db.tables {
        for fk in &t.foreign_keys {
            if db.table(&fk.references).is_some() {
                write_ref(&mut out, t, fk);
            } else {
                // A ref to a table DBML does not describe would not check; say it instead.
                let _ = writeln!(
                    out,
                    "// {}: foreign key {} references {}, outside the exported schemas",
                    qualified(&t.name),
                    name(&fk.name),
                    qualified(&fk.references)
                );
            }
        }
    }
    out
}
