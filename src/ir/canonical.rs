//! The canonical form: a schema exactly as PostgreSQL stores it, the one form both sides of a
//! comparison are brought to.
//!
//! [`canonicalize`] turns DBML as written (a checked [`model::Schema`]) into a [`Database`];
//! the catalog reader (`crate::catalog`) produces the same type from a live database. The
//! invariant is that for any DBML file `D` the reference implementation turns into runnable
//! PostgreSQL, `canonicalize(lower(D)) == introspect(database built from D's DDL)`. Everything
//! here is explicit where DBML leaves things implicit: canonical types ([`PgType`], as
//! `format_type()` prints them, user types schema-qualified), nullability, identity and serial,
//! constraint and index names (PostgreSQL's defaults from [`pgnames`] when unnamed), actions
//! and deferrability of foreign keys, default expressions as `pg_get_expr` prints them, and
//! many-to-many refs as the junction table the reference generates. Lists whose order the
//! server does not keep are sorted by name; columns and enum values keep their order.
//!
//! The rules for default values, which are the part of this that interprets text:
//!
//! - `null` is no default (the server stores none); `true`/`false` print bare.
//! - A number: a non-negative integer that fits in `integer` prints bare, a larger one as
//!   `'n'::bigint` (or `'n'::numeric` beyond `bigint`), a negative one as `'-n'::integer`
//!   (`bigint`, `numeric`); a decimal with a point prints bare, or `'-d'::numeric` when
//!   negative. Anything else numeric (exponents) is kept as written and compared as text.
//! - A string or an enum member is `'text'::type`, where `type` is `format_type` of the
//!   column's type without modifiers (`character varying`, `bpchar`, `x.status`, `integer[]`).
//! - A backtick expression is kept as written, and so are every CHECK expression, index
//!   expression and partial-index predicate: these are [`Expr`] values, which compare by their
//!   text with whitespace, parentheses and ASCII case outside quotes ignored (the server adds
//!   parentheses and casts as it pleases; telling `(a + b) * c` from `a + (b * c)` would need
//!   the server, and the diff engine may ask it).
//!
//! This module never does I/O and never fails: a type it cannot resolve is kept by name.

use super::model::{self, Cardinality, DefaultValue, IndexPart, QualifiedName, RefAction};
use super::pg;
use super::pgnames::{self, SchemaNames};
use super::pgtypes::{self, PgType};
use rustc_hash::FxHashMap;
use serde::Serialize;

/// A whole managed database (or the part of it in the managed schemas).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize)]
pub struct Database {
    /// Schemas other than `public` that hold at least one table or enum, sorted.
    pub schemas: Vec<String>,
    /// Sorted by schema and name.
    pub enums: Vec<Enum>,
    /// Sorted by schema and name.
    pub tables: Vec<Table>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Enum {
    pub name: QualifiedName,
    /// In the order of the type (`enumsortorder`).
    pub values: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Table {
    pub name: QualifiedName,
    /// In attribute order.
    pub columns: Vec<Column>,
    pub primary_key: Option<Key>,
    /// Unique constraints (not unique indexes), sorted by name.
    pub uniques: Vec<Key>,
    /// Sorted by name.
    pub checks: Vec<CheckConstraint>,
    /// Sorted by name.
    pub foreign_keys: Vec<ForeignKey>,
    /// Indexes that back no constraint, sorted by name.
    pub indexes: Vec<Index>,
    pub comment: Option<String>,
}

impl Table {
    /// A table with nothing in it yet (columns, keys, indexes added as they are read).
    pub fn empty(name: QualifiedName, comment: Option<String>) -> Table {
        Table {
            name,
            columns: Vec::new(),
            primary_key: None,
            uniques: Vec::new(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            comment,
        }
    }
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: String,
    #[serde(serialize_with = "display")]
    pub ty: PgType,
    pub nullable: bool,
    /// As `pg_get_expr` prints it; `None` for identity and serial columns (their sequence is
    /// part of [`Generated`]).
    pub default: Option<Expr>,
    pub generated: Option<Generated>,
    pub comment: Option<String>,
}

/// How a column numbers itself. `increment` in DBML is an identity `BY DEFAULT` (what the
/// reference generates); a `serial` type is [`Generated::Serial`]: an owned sequence whose
/// `nextval` is the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Generated {
    IdentityByDefault,
    IdentityAlways,
    Serial,
}

/// A primary key or unique constraint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Key {
    pub name: String,
    pub columns: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckConstraint {
    pub name: String,
    pub expression: Expr,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub references: QualifiedName,
    pub referenced_columns: Vec<String>,
    pub on_delete: RefAction,
    pub on_update: RefAction,
    pub deferrable: bool,
    pub initially_deferred: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Index {
    pub name: String,
    pub unique: bool,
    /// `btree`, `hash`, `gin`, … (always explicit).
    pub method: String,
    pub keys: Vec<IndexKey>,
    /// The `WHERE` of a partial index.
    pub predicate: Option<Expr>,
    pub comment: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum IndexKey {
    Column(String),
    Expression(Expr),
}

/// SQL expression text. Equality ignores whitespace, parentheses and ASCII case outside
/// quoted strings and quoted names (see the module documentation); the text is kept as given.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct Expr(pub String);

impl Expr {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text equality compares: whitespace, parentheses and ASCII case outside quotes
    /// dropped, and two spellings the server rewrites brought to the server's: a typed
    /// literal `interval '1 day'` is `'1 day'::interval`, and a cast of an integer constant to
    /// a numeric type (`0::numeric`, which the server adds for `x >= 0` on a numeric column)
    /// is the constant. Both keep the meaning; anything else is left to the server
    /// (`diff::normalize`).
    pub fn key(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        let mut quote: Option<char> = None;
        for c in self.0.chars() {
            match quote {
                Some(q) => {
                    out.push(c);
                    if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    '\'' | '"' => {
                        quote = Some(c);
                        out.push(c);
                    }
                    '(' | ')' => {}
                    c if c.is_whitespace() => {}
                    c => out.push(c.to_ascii_lowercase()),
                },
            }
        }
        strip_integer_casts(&typed_literals(&out))
    }
}

/// The length of the `'…'` literal (with `''` inside) that `s` starts with, up to the end of
/// `s` if it is not closed.
fn literal_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    let mut end = 1;
    while end < bytes.len() {
        if bytes[end] == b'\'' {
            if bytes.get(end + 1) == Some(&b'\'') {
                end += 2;
                continue;
            }
            return end + 1;
        }
        end += 1;
    }
    bytes.len()
}

const LITERAL_TYPES: [&str; 6] = [
    "interval",
    "date",
    "timestamptz",
    "timestamp",
    "time",
    "numeric",
];
const NUMERIC_CASTS: [&str; 6] = [
    "::numeric",
    "::doubleprecision",
    "::real",
    "::bigint",
    "::integer",
    "::smallint",
];

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || c == '"'
}

/// `interval'1 day'` (a key, blanks gone) to `'1 day'::interval`.
fn typed_literals(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 16);
    let mut rest = key;
    let mut prev: Option<char> = None;
    'outer: while !rest.is_empty() {
        if rest.starts_with('\'') {
            // Copy a whole literal.
            let (lit, tail) = rest.split_at(literal_len(rest));
            out.push_str(lit);
            prev = lit.chars().last();
            rest = tail;
            continue;
        }
        if !prev.is_some_and(ident_char) {
            for ty in LITERAL_TYPES {
                if let Some(tail) = rest.strip_prefix(ty) {
                    if tail.starts_with('\'') {
                        let (lit, after) = tail.split_at(literal_len(tail));
                        out.push_str(lit);
                        out.push_str("::");
                        out.push_str(ty);
                        prev = ty.chars().last();
                        rest = after;
                        continue 'outer;
                    }
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
            prev = Some(c);
        }
        rest = chars.as_str();
    }
    out
}

/// `0::numeric` (a key) to `0`: an integer constant cast to a numeric type.
fn strip_integer_casts(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut rest = key;
    let mut quote = false;
    while let Some(c) = rest.chars().next() {
        if c == '\'' {
            quote = !quote;
        }
        let starts_number = !quote
            && c.is_ascii_digit()
            && !out
                .chars()
                .last()
                .is_some_and(|p| ident_char(p) || p == '.');
        if starts_number {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let (num, tail) = rest.split_at(digits);
            out.push_str(num);
            rest = tail;
            if !tail.starts_with('.') {
                while let Some(cast) = NUMERIC_CASTS.iter().find(|k| {
                    rest.starts_with(**k) && !rest[k.len()..].chars().next().is_some_and(ident_char)
                }) {
                    rest = &rest[cast.len()..];
                }
            }
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        self.0 == other.0 || self.key() == other.key()
    }
}
impl Eq for Expr {}

impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn display<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl Database {
    pub fn table(&self, name: &QualifiedName) -> Option<&Table> {
        self.tables
            .binary_search_by(|t| t.name.cmp(name))
            .ok()
            .and_then(|i| self.tables.get(i))
    }

    /// Sorts what the canonical form keeps sorted and fills in `schemas`. Both producers call
    /// this last.
    pub fn normalize(&mut self) {
        self.enums.sort_by(|a, b| a.name.cmp(&b.name));
        self.tables.sort_by(|a, b| a.name.cmp(&b.name));
        for t in &mut self.tables {
            t.uniques.sort_by(|a, b| a.name.cmp(&b.name));
            t.checks.sort_by(|a, b| a.name.cmp(&b.name));
            t.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
            t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        }
        let mut schemas: Vec<String> = self
            .enums
            .iter()
            .map(|e| &e.name.schema)
            .chain(self.tables.iter().map(|t| &t.name.schema))
            .filter(|s| s.as_str() != model::DEFAULT_SCHEMA)
            .cloned()
            .collect();
        schemas.sort();
        schemas.dedup();
        self.schemas = schemas;
    }
}

/// The type name `format_type(oid, NULL)` prints: no modifiers, and `bpchar` for `character`.
pub fn cast_type_name(ty: &PgType) -> String {
    let mut bare = PgType {
        modifiers: Vec::new(),
        ..ty.clone()
    };
    if bare.schema.is_none() {
        if bare.name == "character" {
            bare.name = "bpchar".to_owned();
        } else if bare.name.starts_with("interval ") {
            bare.name = "interval".to_owned();
        }
    }
    bare.to_string()
}

/// What `pg_get_expr` prints for a DBML default on a column of type `ty`; `None` for `null`.
pub fn default_expr(value: &DefaultValue, ty: &PgType) -> Option<Expr> {
    let text = match value {
        DefaultValue::Null => return None,
        DefaultValue::Bool(b) => b.to_string(),
        DefaultValue::Number(n) => number_expr(n),
        DefaultValue::String(s) => typed_literal(s, ty),
        DefaultValue::EnumMember { path } => {
            typed_literal(path.last().map(String::as_str).unwrap_or_default(), ty)
        }
        DefaultValue::Expression(e) => e.clone(),
    };
    Some(Expr(text))
}

fn typed_literal(s: &str, ty: &PgType) -> String {
    format!(
        "{}::{}",
        crate::sql::literal::stored_literal(s),
        cast_type_name(ty)
    )
}

fn number_expr(n: &str) -> String {
    let t = n.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let sign = if neg { "-" } else { "" };
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = digits.trim_start_matches('0');
        let digits = if trimmed.is_empty() { "0" } else { trimmed };
        let value = format!("{sign}{digits}");
        return match value.parse::<i64>() {
            Ok(v) if i32::try_from(v).is_ok() && !neg => value,
            Ok(v) if i32::try_from(v).is_ok() => format!("'{value}'::integer"),
            Ok(_) => format!("'{value}'::bigint"),
            Err(_) => format!("'{value}'::numeric"),
        };
    }
    let is_decimal = digits.bytes().filter(|b| *b == b'.').count() == 1
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.len() > 1;
    if is_decimal {
        // The reference reads a number as a JavaScript number: `938.90` is written `938.9`.
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let frac = frac.trim_end_matches('0');
        let int = int.trim_start_matches('0');
        let int = if int.is_empty() { "0" } else { int };
        if frac.is_empty() {
            return number_expr(&format!("{sign}{int}"));
        }
        return if neg {
            format!("'-{int}.{frac}'::numeric")
        } else {
            format!("{int}.{frac}")
        };
    }
    t.to_owned()
}

/// The canonical form of a checked DBML schema (see the module documentation).
pub fn canonicalize(schema: &model::Schema) -> Database {
    let index = pg::Index::new(schema);
    let mut names: FxHashMap<String, SchemaNames> = FxHashMap::default();
    let mut db = Database::default();

    for e in &schema.enums {
        db.enums.push(Enum {
            name: e.name.clone(),
            values: e.values.iter().map(|v| v.name.clone()).collect(),
        });
    }

    // Explicit names first: the server would refuse an explicit name a default one took.
    for t in &schema.tables {
        let n = names.entry(t.name.schema.clone()).or_default();
        n.add_relation(t.name.name.clone());
        for c in t.columns.iter().flat_map(|c| &c.checks).chain(&t.checks) {
            if let Some(name) = &c.name {
                n.add_constraint(name.clone());
            }
        }
        for i in &t.indexes {
            if let Some(name) = &i.name {
                n.add_relation(name.clone());
                if i.primary_key {
                    n.add_constraint(name.clone());
                }
            }
        }
    }
    for r in &schema.refs {
        if let (Some(name), Some((from, _))) = (&r.name, r.fk_sides()) {
            names
                .entry(from.table.schema.clone())
                .or_default()
                .add_constraint(name.clone());
        }
    }

    // CREATE TABLE, in file order: columns, their keys and checks, then table checks and a
    // composite primary key.
    for t in &schema.tables {
        let n = names.entry(t.name.schema.clone()).or_default();
        db.tables.push(table(&index, t, n));
    }
    // CREATE INDEX, in file order.
    for (t, out) in schema.tables.iter().zip(db.tables.iter_mut()) {
        let n = names.entry(t.name.schema.clone()).or_default();
        for i in t.indexes.iter().filter(|i| !i.primary_key) {
            out.indexes.push(index_of(t, i, n));
        }
    }
    // Foreign keys and junction tables, in ref order.
    let mut junctions = Vec::new();
    // The reference names a junction `a_b`, then `a_b(1)`, … while the name is taken by any
    // table (in any schema) or an earlier junction.
    let mut taken: rustc_hash::FxHashSet<String> =
        schema.tables.iter().map(|t| t.name.name.clone()).collect();
    for r in schema.refs.iter().filter(|r| !r.inactive) {
        match r.fk_sides() {
            Some((from, to)) => {
                let n = names.entry(from.table.schema.clone()).or_default();
                let name = match &r.name {
                    Some(name) => name.clone(),
                    None => n.foreign_key(&from.table.name, &from.columns),
                };
                let fk = ForeignKey {
                    name,
                    columns: from.columns.clone(),
                    references: to.table.clone(),
                    referenced_columns: to.columns.clone(),
                    on_delete: r.on_delete.unwrap_or(RefAction::NoAction),
                    on_update: r.on_update.unwrap_or(RefAction::NoAction),
                    deferrable: true,
                    initially_deferred: false,
                };
                if let Some(t) = db.tables.iter_mut().find(|t| t.name == from.table) {
                    t.foreign_keys.push(fk);
                }
            }
            None => {
                if r.left.cardinality == Cardinality::Many
                    && r.right.cardinality == Cardinality::Many
                {
                    junctions.push(junction(&db, r, &mut names, &mut taken));
                }
            }
        }
    }
    db.tables.extend(junctions);
    db.normalize();
    db
}

fn resolve(index: &pg::Index<'_>, table: &QualifiedName, ty: &model::TypeRef) -> (PgType, bool) {
    match pg::resolve_type(index, table, ty) {
        pg::Resolved::Builtin(b) => (b.ty, b.serial),
        pg::Resolved::Enum(e) => {
            let t = PgType::user(e.name.schema.clone(), e.name.name.clone());
            (if ty.array_dims > 0 { t.into_array() } else { t }, false)
        }
        pg::Resolved::Unknown(_) => {
            let t = PgType::user(
                ty.schema.clone().unwrap_or_else(|| "public".to_owned()),
                ty.name.clone(),
            );
            (if ty.array_dims > 0 { t.into_array() } else { t }, false)
        }
    }
}

fn table(index: &pg::Index<'_>, t: &model::Table, n: &mut SchemaNames) -> Table {
    let pk_index = t.indexes.iter().find(|i| i.primary_key);
    // Several columns marked `pk` make one composite key, as the reference writes it.
    let pk_flagged: Vec<&str> = t
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| c.name.as_str())
        .collect();
    let composite_flags = pk_index.is_none() && pk_flagged.len() > 1;
    let pk_cols: Vec<&str> = if composite_flags {
        pk_flagged
    } else {
        pk_index
            .map(|i| {
                i.parts
                    .iter()
                    .filter_map(|p| match p {
                        IndexPart::Column(c) => Some(c.as_str()),
                        IndexPart::Expression(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let col_names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    let mut out = Table::empty(t.name.clone(), t.note.clone());
    out.columns.reserve(t.columns.len());
    for c in &t.columns {
        let (ty, serial) = resolve(index, &t.name, &c.ty);
        let generated = if serial {
            Some(Generated::Serial)
        } else if c.increment {
            if pgtypes::is_integer(&ty) {
                Some(Generated::IdentityByDefault)
            } else {
                Some(Generated::Serial)
            }
        } else {
            None
        };
        let ty = if generated == Some(Generated::Serial) && !pgtypes::is_integer(&ty) {
            PgType {
                name: "integer".to_owned(),
                schema: None,
                modifiers: Vec::new(),
                array_dims: 0,
            }
        } else {
            ty
        };
        let pk = c.primary_key || pk_cols.contains(&c.name.as_str());
        let nullable = !(pk || generated.is_some()) && c.nullable != Some(false);
        let default = if generated.is_some() {
            None
        } else {
            c.default.as_ref().and_then(|d| default_expr(d, &ty))
        };
        // The server drops a unique constraint that repeats the primary key or another one.
        let repeats = out.uniques.iter().any(|k| k.columns == [c.name.as_str()])
            || (c.primary_key && pk_cols.len() <= 1)
            || pk_cols == [c.name.as_str()];
        if c.unique && !repeats {
            out.uniques.push(Key {
                name: n.unique(&t.name.name, &[c.name.as_str()]),
                columns: vec![c.name.clone()],
            });
        }
        if c.primary_key && pk_cols.len() <= 1 && out.primary_key.is_none() {
            out.primary_key = Some(Key {
                name: n.primary_key(&t.name.name),
                columns: vec![c.name.clone()],
            });
        }
        // The reference writes several checks on one column as one constraint.
        let check = match c.checks.as_slice() {
            [] => None,
            [one] => Some((one.name.clone(), one.expression.clone())),
            many => Some((
                None,
                many.iter()
                    .map(|k| format!("({})", k.expression))
                    .collect::<Vec<_>>()
                    .join(" AND "),
            )),
        };
        if let Some((name, expression)) = check {
            let name = name.unwrap_or_else(|| {
                n.check(
                    &t.name.name,
                    &pgnames::check_columns(&expression, &col_names),
                )
            });
            out.checks.push(CheckConstraint {
                name,
                expression: Expr(expression),
            });
        }
        out.columns.push(Column {
            name: c.name.clone(),
            ty,
            nullable,
            default,
            generated,
            comment: c.note.clone(),
        });
    }
    for k in &t.checks {
        let name = k.name.clone().unwrap_or_else(|| {
            n.check(
                &t.name.name,
                &pgnames::check_columns(&k.expression, &col_names),
            )
        });
        out.checks.push(CheckConstraint {
            name,
            expression: Expr(k.expression.clone()),
        });
    }
    if pk_index.is_some() || composite_flags {
        out.primary_key = Some(Key {
            name: pk_index
                .and_then(|i| i.name.clone())
                .unwrap_or_else(|| n.primary_key(&t.name.name)),
            columns: pk_cols.iter().map(|c| (*c).to_owned()).collect(),
        });
    }
    out
}

fn index_of(t: &model::Table, i: &model::Index, n: &mut SchemaNames) -> Index {
    let name = i.name.clone().unwrap_or_else(|| {
        let keys: Vec<pgnames::IndexKey<'_>> = i
            .parts
            .iter()
            .map(|p| match p {
                IndexPart::Column(c) => pgnames::IndexKey::Column(c),
                IndexPart::Expression(e) => pgnames::IndexKey::Expression(e),
            })
            .collect();
        n.index(&t.name.name, &keys)
    });
    Index {
        name,
        unique: i.unique,
        method: i.method.as_deref().unwrap_or("btree").to_ascii_lowercase(),
        keys: i
            .parts
            .iter()
            .map(|p| match p {
                IndexPart::Column(c) => IndexKey::Column(c.clone()),
                IndexPart::Expression(e) => IndexKey::Expression(Expr(e.clone())),
            })
            .collect(),
        predicate: None,
        comment: None,
    }
}

/// The table the reference creates for `a.x <> b.y`: `a_b` in `a`'s schema with columns
/// `a_x` and `b_y` of the referenced types, a primary key on both and a foreign key to each.
fn junction(
    db: &Database,
    r: &model::Ref,
    names: &mut FxHashMap<String, SchemaNames>,
    taken: &mut rustc_hash::FxHashSet<String>,
) -> Table {
    // The reference lists an inline ref's target first.
    let (l, rt) = if r.inline {
        (&r.right, &r.left)
    } else {
        (&r.left, &r.right)
    };
    let base = format!("{}_{}", l.table.name, rt.table.name);
    let mut junction_name = base.clone();
    let mut i = 1;
    while taken.contains(&junction_name) {
        junction_name = format!("{base}({i})");
        i += 1;
    }
    taken.insert(junction_name.clone());
    let name = QualifiedName::new(l.table.schema.clone(), junction_name);
    let n = names.entry(name.schema.clone()).or_default();
    n.add_relation(name.name.clone());
    let mut columns = Vec::new();
    let mut side_cols = [Vec::new(), Vec::new()];
    for (side, end) in [l, rt].into_iter().enumerate() {
        let target = db.tables.iter().find(|t| t.name == end.table);
        for c in &end.columns {
            let col = format!("{}_{}", end.table.name, c);
            let ty = target
                .and_then(|t| t.column(c))
                .map(|c| c.ty.clone())
                .unwrap_or_else(|| PgType::user("public", "unknown"));
            if let Some(s) = side_cols.get_mut(side) {
                s.push(col.clone());
            }
            columns.push(Column {
                name: col,
                ty,
                nullable: false,
                default: None,
                generated: None,
                comment: None,
            });
        }
    }
    let pk = Key {
        name: n.primary_key(&name.name),
        columns: columns.iter().map(|c| c.name.clone()).collect(),
    };
    let mut fks = Vec::new();
    for (cols, end) in side_cols.iter().zip([l, rt]) {
        fks.push(ForeignKey {
            name: n.foreign_key(&name.name, cols),
            columns: cols.clone(),
            references: end.table.clone(),
            referenced_columns: end.columns.clone(),
            on_delete: RefAction::NoAction,
            on_update: RefAction::NoAction,
            deferrable: true,
            initially_deferred: false,
        });
    }
    Table {
        name,
        columns,
        primary_key: Some(pk),
        uniques: Vec::new(),
        checks: Vec::new(),
        foreign_keys: fks,
        indexes: Vec::new(),
        comment: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Expected values are what `pg_get_expr` printed on PostgreSQL 15.18.
    #[test]
    fn numbers_print_as_the_server_stores_them() {
        assert_eq!(number_expr("713"), "713");
        assert_eq!(number_expr("-1"), "'-1'::integer");
        assert_eq!(number_expr("217.37"), "217.37");
        assert_eq!(number_expr("-1.5"), "'-1.5'::numeric");
        assert_eq!(number_expr("3000000000"), "'3000000000'::bigint");
        assert_eq!(number_expr(".5"), "0.5");
        // The reference's JavaScript numbers drop trailing zeros.
        assert_eq!(number_expr("938.90"), "938.9");
        assert_eq!(number_expr("2.0"), "2");
        assert_eq!(number_expr("-2.0"), "'-2'::integer");
    }

    #[test]
    fn string_defaults_cast_to_the_bare_type() {
        let vc = pgtypes::lookup("varchar", &["5"], 0).unwrap().ty;
        let ch = pgtypes::lookup("char", &["2"], 0).unwrap().ty;
        let arr = pgtypes::lookup("int", &[], 1).unwrap().ty;
        let en = PgType::user("x", "st");
        let s = |v: &str| DefaultValue::String(v.to_owned());
        assert_eq!(
            default_expr(&s("abc"), &vc).unwrap().0,
            "'abc'::character varying"
        );
        assert_eq!(default_expr(&s("ab"), &ch).unwrap().0, "'ab'::bpchar");
        assert_eq!(
            default_expr(&s("{1,2}"), &arr).unwrap().0,
            "'{1,2}'::integer[]"
        );
        assert_eq!(default_expr(&s("a"), &en).unwrap().0, "'a'::x.st");
        assert_eq!(default_expr(&s("a\\b"), &en).unwrap().0, "'a\\b'::x.st");
        assert!(default_expr(&DefaultValue::Null, &en).is_none());
    }

    #[test]
    fn expressions_ignore_parentheses_space_and_case_outside_quotes() {
        let e = |s: &str| Expr(s.to_owned());
        assert_eq!(e("lower(is_public::text)"), e("lower((is_public)::text)"));
        assert_eq!(e("price > 0"), e("(price > 0)"));
        assert_ne!(e("x = 'A'"), e("x = 'a'"));
        assert_ne!(e("\"A\" > 0"), e("\"a\" > 0"));
        assert_eq!(e("NOW()"), e("now()"));
    }
}

#[cfg(test)]
mod expr_tests {
    use super::Expr;

    fn e(s: &str) -> Expr {
        Expr(s.to_owned())
    }

    #[test]
    fn server_spellings_compare_equal() {
        assert_eq!(
            e("now() - interval '5 days'"),
            e("(now() - '5 days'::interval)")
        );
        assert_eq!(e("balance >= 0"), e("(balance >= (0)::numeric)"));
        assert_eq!(e("x > 0"), e("(x > (0)::double precision)"));
        assert_eq!(e("d > date '2020-01-01'"), e("(d > '2020-01-01'::date)"));
    }

    #[test]
    fn different_meanings_stay_different() {
        assert_ne!(e("x >= 1.5"), e("x >= (1)::numeric"));
        assert_ne!(e("x >= 0"), e("x >= 1"));
        assert_ne!(e("'interval ''x'''"), e("'''x''::interval'"));
        assert_ne!(e("myinterval '1'"), e("'1'::myinterval"));
        assert_ne!(e("a1::integer"), e("a1"));
        assert_ne!(e("x = '0::numeric'"), e("x = '0'"));
    }
}
