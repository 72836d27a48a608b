//! The names PostgreSQL gives unnamed constraints, indexes and sequences.
//!
//! The server computes them in `makeObjectName`, `ChooseRelationName`, `ChooseConstraintName`,
//! `ChooseIndexColumnNames` and `FigureIndexColname`; this module computes the same names so
//! that a schema made by hand and one made by this tool compare equal (`users_pkey`,
//! `users_email_key`, `posts_user_id_fkey`, `t_a_check`, `t_lower_idx`). The rules, each
//! checked on PostgreSQL 15.18 (the tests replay those sessions):
//!
//! - A name is `<name1>_<name2>_<label>`: the table, the column part (absent for `pkey`),
//!   and the label (`pkey`, `key`, `idx`, `fkey`, `check`, `seq`). If that is longer than 63
//!   bytes, the longer of the first two parts loses one byte at a time (the column part on a
//!   tie) until it fits, and each part is then cut back to a character boundary.
//! - The column part joins column names with `_`. A CHECK constraint's column part is the
//!   column it references if it references exactly one distinct column, and absent otherwise
//!   (`t_check`), whether it was written on a column or on the table.
//! - Index key names: a column's own name; for an expression, what `FigureIndexColname` makes
//!   of it (`lower(email)` gives `lower`, `(a + b)` gives `expr`, `(x)::text` gives `text`);
//!   repeated names get `1`, `2`, … appended (`t_lower_lower1_idx`). INCLUDE columns count.
//! - Collisions: while the name is taken, the label gets `1`, `2`, … (`t_x_key1`). Indexes
//!   (and therefore primary keys and unique constraints) and sequences are relations and must
//!   not clash with any relation in the schema; primary keys and unique constraints must not
//!   clash with any constraint in the schema either; foreign keys and checks only with
//!   constraints in the schema. A plain index may share its name with a constraint.
//!
//! [`SchemaNames`] holds what is taken in one schema and hands out names in the order the
//! server would create the objects. This module never invents a naming scheme of its own and
//! never does I/O.

use crate::sql::ident::clip_to_bytes;
use crate::sql::MAX_IDENT_BYTES;
use std::collections::HashSet;

/// `makeObjectName`: `name1[_name2]_label`, shortened to 63 bytes as the server does it.
pub fn make_object_name(name1: &str, name2: Option<&str>, label: &str) -> String {
    let mut overhead = 0;
    let mut n1 = name1.len();
    let mut n2 = 0;
    if let Some(n) = name2 {
        n2 = n.len();
        overhead += 1;
    }
    if !label.is_empty() {
        overhead += label.len() + 1;
    }
    let avail = MAX_IDENT_BYTES.saturating_sub(overhead);
    while n1 + n2 > avail {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    let mut out = String::with_capacity(MAX_IDENT_BYTES);
    out.push_str(clip_to_bytes(name1, n1));
    if let Some(n) = name2 {
        out.push('_');
        out.push_str(clip_to_bytes(n, n2));
    }
    if !label.is_empty() {
        out.push('_');
        out.push_str(label);
    }
    out
}

/// The collision loop shared by `ChooseRelationName` and `ChooseConstraintName`: try `label`,
/// then `label1`, `label2`, … until `taken` says no.
pub fn choose_name(
    name1: &str,
    name2: Option<&str>,
    label: &str,
    taken: impl Fn(&str) -> bool,
) -> String {
    let mut name = make_object_name(name1, name2, label);
    let mut pass = 0u32;
    while taken(&name) {
        pass += 1;
        name = make_object_name(name1, name2, &format!("{label}{pass}"));
    }
    name
}

/// `ChooseIndexNameAddition` / `ChooseForeignKeyConstraintNameAddition`: the names joined with
/// `_`, stopping once the result reaches 64 bytes (later parts could not survive
/// [`make_object_name`] anyway). `None` for no names.
fn name_addition<S: AsRef<str>>(names: &[S]) -> Option<String> {
    let mut buf = String::new();
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            buf.push('_');
        }
        buf.push_str(clip_to_bytes(n.as_ref(), MAX_IDENT_BYTES));
        if buf.len() > MAX_IDENT_BYTES {
            break;
        }
    }
    (!names.is_empty()).then_some(buf)
}

/// One key of an index, as far as naming is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexKey<'a> {
    /// A plain column (also a parenthesized lone column, `((a))`, which the server treats as
    /// the column itself).
    Column(&'a str),
    /// An expression, as SQL text (`lower(email)`).
    Expression(&'a str),
}

/// `ChooseIndexColumnNames`: each key's name (see [`expression_column_name`] for expressions,
/// `expr` when it has none), with `1`, `2`, … appended to repeats.
pub fn index_column_names(keys: &[IndexKey<'_>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(keys.len());
    for key in keys {
        let orig = match key {
            IndexKey::Column(c) => (*c).to_owned(),
            IndexKey::Expression(e) => {
                expression_column_name(e).unwrap_or_else(|| "expr".to_owned())
            }
        };
        let mut cur = orig.clone();
        let mut i = 1u32;
        while out.contains(&cur) {
            let suffix = i.to_string();
            let keep = MAX_IDENT_BYTES.saturating_sub(suffix.len());
            cur = format!("{}{suffix}", clip_to_bytes(&orig, keep));
            i += 1;
        }
        out.push(cur);
    }
    out
}

/// What is already named in one schema, in the two namespaces the server checks: relations
/// (tables, indexes, sequences, views, …) and constraints. Register every existing or
/// explicitly named object first, then ask for default names in the order the objects are
/// created; each method records the name it returns.
///
/// Order matters only among objects with the same label (the labels differ in their last
/// characters, so `x_pkey` can never equal a `…_key` or `…_idx` name); among those, the
/// server names them in the order they are written, including within one `CREATE TABLE`.
/// Register explicitly named objects first: the server would refuse a later explicit name
/// that an earlier default name took.
#[derive(Clone, Debug, Default)]
pub struct SchemaNames {
    relations: HashSet<String>,
    constraints: HashSet<String>,
}

impl SchemaNames {
    pub fn new() -> SchemaNames {
        SchemaNames::default()
    }

    /// Record a relation name (table, index, sequence, view, …).
    pub fn add_relation(&mut self, name: impl Into<String>) {
        self.relations.insert(name.into());
    }

    /// Record a constraint name (of any table in the schema).
    pub fn add_constraint(&mut self, name: impl Into<String>) {
        self.constraints.insert(name.into());
    }

    pub fn has_relation(&self, name: &str) -> bool {
        self.relations.contains(name)
    }

    pub fn has_constraint(&self, name: &str) -> bool {
        self.constraints.contains(name)
    }

    /// An index-backed constraint: its index must be a new relation name and a new
    /// constraint name.
    fn index_constraint(&mut self, table: &str, addition: Option<&str>, label: &str) -> String {
        let name = choose_name(table, addition, label, |n| {
            self.relations.contains(n) || self.constraints.contains(n)
        });
        self.relations.insert(name.clone());
        self.constraints.insert(name.clone());
        name
    }

    /// `<table>_pkey`.
    pub fn primary_key(&mut self, table: &str) -> String {
        self.index_constraint(table, None, "pkey")
    }

    /// `<table>_<col>[_<col>…]_key` for a unique constraint.
    pub fn unique<S: AsRef<str>>(&mut self, table: &str, columns: &[S]) -> String {
        let cols: Vec<IndexKey<'_>> = columns
            .iter()
            .map(|c| IndexKey::Column(c.as_ref()))
            .collect();
        let addition = name_addition(&index_column_names(&cols));
        self.index_constraint(table, addition.as_deref(), "key")
    }

    /// `<table>_<key>[_<key>…]_idx` for a plain (or unique) index; `keys` lists the key
    /// columns and expressions, then the INCLUDE columns.
    pub fn index(&mut self, table: &str, keys: &[IndexKey<'_>]) -> String {
        let addition = name_addition(&index_column_names(keys));
        let name = choose_name(table, addition.as_deref(), "idx", |n| {
            self.relations.contains(n)
        });
        self.relations.insert(name.clone());
        name
    }

    /// `<table>_<col>[_<col>…]_fkey`.
    pub fn foreign_key<S: AsRef<str>>(&mut self, table: &str, columns: &[S]) -> String {
        let addition = name_addition(columns);
        self.constraint(table, addition.as_deref(), "fkey")
    }

    /// `<table>_<col>_check` when the expression references exactly one distinct column,
    /// `<table>_check` otherwise. `columns` are the distinct columns the expression references
    /// (see [`check_columns`]).
    pub fn check<S: AsRef<str>>(&mut self, table: &str, columns: &[S]) -> String {
        let col = match columns {
            [only] => Some(only.as_ref()),
            _ => None,
        };
        self.constraint(table, col, "check")
    }

    /// `<table>_<column>_seq`, the sequence of a serial or identity column.
    pub fn sequence(&mut self, table: &str, column: &str) -> String {
        let name = choose_name(table, Some(column), "seq", |n| self.relations.contains(n));
        self.relations.insert(name.clone());
        name
    }

    fn constraint(&mut self, table: &str, addition: Option<&str>, label: &str) -> String {
        let name = choose_name(table, addition, label, |n| self.constraints.contains(n));
        self.constraints.insert(name.clone());
        name
    }
}

// ---------------------------------------------------------------------------------------------
// A small reader for SQL expressions, enough to name index keys and find a CHECK's columns.

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// An identifier or keyword; unquoted ones are lower-cased (ASCII only, as the server
    /// does in UTF-8 databases).
    Ident {
        text: String,
        quoted: bool,
    },
    /// A string constant.
    Literal,
    /// A numeric constant, as written.
    Number(String),
    Op(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Cast,
}

fn tokenize(sql: &str) -> Vec<Tok> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied();
    while let Some(c) = at(i) {
        match c {
            c if c.is_whitespace() => i += 1,
            '-' if at(i + 1) == Some('-') => {
                while at(i).is_some_and(|c| c != '\n') {
                    i += 1;
                }
            }
            '/' if at(i + 1) == Some('*') => {
                i += 2;
                while at(i).is_some() && !(at(i) == Some('*') && at(i + 1) == Some('/')) {
                    i += 1;
                }
                i += 2;
            }
            '(' | ')' | '[' | ']' | ',' => {
                out.push(match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '[' => Tok::LBracket,
                    ']' => Tok::RBracket,
                    _ => Tok::Comma,
                });
                i += 1;
            }
            ':' if at(i + 1) == Some(':') => {
                out.push(Tok::Cast);
                i += 2;
            }
            '.' if !at(i + 1).is_some_and(|c| c.is_ascii_digit()) => {
                out.push(Tok::Dot);
                i += 1;
            }
            '"' => {
                let mut text = String::new();
                i += 1;
                while let Some(c) = at(i) {
                    if c == '"' {
                        if at(i + 1) == Some('"') {
                            text.push('"');
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    text.push(c);
                    i += 1;
                }
                i += 1;
                out.push(Tok::Ident { text, quoted: true });
            }
            '\'' => {
                i = skip_string(&chars, i + 1, false);
                out.push(Tok::Literal);
            }
            'e' | 'E' if at(i + 1) == Some('\'') => {
                i = skip_string(&chars, i + 2, true);
                out.push(Tok::Literal);
            }
            '$' => {
                // Dollar quoting: $tag$ … $tag$.
                let mut j = i + 1;
                while at(j).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    j += 1;
                }
                if at(j) == Some('$') {
                    let tag = chars.get(i..=j).unwrap_or_default();
                    let mut k = j + 1;
                    while k < chars.len() && chars.get(k..k + tag.len()) != Some(tag) {
                        k += 1;
                    }
                    i = (k + tag.len()).min(chars.len());
                    out.push(Tok::Literal);
                } else {
                    out.push(Tok::Op("$".into()));
                    i = j;
                }
            }
            c if c.is_ascii_digit() || c == '.' => {
                let mut text = String::new();
                while let Some(c) = at(i).filter(|c| c.is_ascii_alphanumeric() || *c == '.') {
                    text.push(c);
                    i += 1;
                }
                out.push(Tok::Number(text));
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut text = String::new();
                while let Some(c) = at(i).filter(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
                {
                    text.push(c.to_ascii_lowercase());
                    i += 1;
                }
                out.push(Tok::Ident {
                    text,
                    quoted: false,
                });
            }
            _ => {
                let mut op = String::new();
                while let Some(c) = at(i).filter(|c| "+-*/<>=~!@#%^&|`?:;".contains(*c)) {
                    op.push(c);
                    i += 1;
                }
                if op.is_empty() {
                    op.push(c);
                    i += 1;
                }
                out.push(Tok::Op(op));
            }
        }
    }
    out
}

/// Skip a quoted string starting after its opening quote; returns the index after it.
fn skip_string(chars: &[char], mut i: usize, backslash_escapes: bool) -> usize {
    while let Some(&c) = chars.get(i) {
        if backslash_escapes && c == '\\' {
            i += 2;
            continue;
        }
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    i
}

fn word(t: Option<&Tok>) -> Option<&str> {
    match t {
        Some(Tok::Ident {
            text,
            quoted: false,
        }) => Some(text),
        _ => None,
    }
}

/// Index of the token after the bracket group opening at `open` (`(`…`)` or `[`…`]`).
fn skip_group(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0i32;
    let mut i = open;
    while let Some(t) = toks.get(i) {
        match t {
            Tok::LParen | Tok::LBracket => depth += 1,
            Tok::RParen | Tok::RBracket => {
                depth -= 1;
                if depth <= 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// Keywords that begin a type name in PostgreSQL's grammar (as opposed to a generic name
/// looked up in the catalog). A cast to one of them is named after the type's `typname`.
const KEYWORD_TYPES: &[&str] = &[
    "int",
    "integer",
    "smallint",
    "bigint",
    "real",
    "float",
    "double",
    "decimal",
    "dec",
    "numeric",
    "boolean",
    "bit",
    "character",
    "char",
    "varchar",
    "national",
    "nchar",
    "timestamp",
    "time",
    "interval",
];

/// Read a type name starting at `i`; returns the name a cast to it gets and the next index.
fn read_type(toks: &[Tok], mut i: usize) -> (Option<String>, usize) {
    let first = toks.get(i);
    if let Some(w) = word(first).filter(|w| KEYWORD_TYPES.contains(w)) {
        // Gather the words and modifiers of the keyword type, then ask pgtypes.
        let mut text = w.to_owned();
        i += 1;
        loop {
            match toks.get(i) {
                Some(Tok::Ident {
                    text: t,
                    quoted: false,
                }) if matches!(
                    t.as_str(),
                    "precision"
                        | "varying"
                        | "with"
                        | "without"
                        | "time"
                        | "zone"
                        | "character"
                        | "char"
                ) || (w == "interval" && is_interval_field(t)) =>
                {
                    text.push(' ');
                    text.push_str(t);
                    i += 1;
                }
                Some(Tok::Ident { text: t, .. }) if w == "interval" && t == "to" => {
                    text.push_str(" to");
                    i += 1;
                }
                Some(Tok::LParen) => {
                    let end = skip_group(toks, i);
                    // Keep numeric modifiers: float(p) is real or double precision by p.
                    let inner = toks.get(i + 1..end.saturating_sub(1)).unwrap_or_default();
                    let mut mods = Vec::new();
                    for t in inner {
                        match t {
                            Tok::Number(n) => mods.push(n.as_str()),
                            Tok::Comma => {}
                            _ => mods.clear(),
                        }
                    }
                    if !mods.is_empty() {
                        text.push_str(&format!("({})", mods.join(",")));
                    }
                    i = end;
                }
                _ => break,
            }
        }
        let typname = super::pgtypes::parse(&text)
            .ok()
            .map(|b| b.ty.typname().to_owned());
        return (typname, skip_array_suffix(toks, i));
    }
    // A generic name, possibly qualified: the last part, as written.
    let mut last = None;
    while let Some(Tok::Ident { text, .. }) = toks.get(i) {
        last = Some(text.clone());
        i += 1;
        if toks.get(i) == Some(&Tok::Dot) {
            i += 1;
        } else {
            break;
        }
    }
    if toks.get(i) == Some(&Tok::LParen) {
        i = skip_group(toks, i);
    }
    (last, skip_array_suffix(toks, i))
}

fn is_interval_field(w: &str) -> bool {
    matches!(w, "year" | "month" | "day" | "hour" | "minute" | "second")
}

fn skip_array_suffix(toks: &[Tok], mut i: usize) -> usize {
    while toks.get(i) == Some(&Tok::LBracket) {
        i = skip_group(toks, i);
    }
    i
}

/// A figured name and its strength: 2 for a column, function or other strong name, 1 for a
/// type name from a cast (weaker: `(a + b)::text` is `text`, but `a::text` is `a`).
type Figured = Option<(String, u8)>;

/// Names for the primary expression at `i` and the index after it and its postfixes.
fn figure_primary(toks: &[Tok], i: usize) -> (Figured, usize) {
    let (mut name, mut i) = match toks.get(i) {
        Some(Tok::LParen) => {
            let end = skip_group(toks, i);
            let inner = toks.get(i + 1..end.saturating_sub(1)).unwrap_or_default();
            (figure(inner), end)
        }
        Some(Tok::Literal | Tok::Number(_)) => (None, i + 1),
        Some(Tok::Ident { text, quoted }) => figure_ident(toks, i, text, *quoted),
        _ => return (None, toks.len() + 1),
    };
    // Postfixes: casts, subscripts, field selection, COLLATE.
    loop {
        match toks.get(i) {
            Some(Tok::Cast) => {
                let (ty, next) = read_type(toks, i + 1);
                if !matches!(name, Some((_, s)) if s > 1) {
                    name = ty.map(|t| (t, 1));
                }
                i = next;
            }
            Some(Tok::LBracket) => i = skip_group(toks, i),
            Some(Tok::Dot) => match toks.get(i + 1) {
                Some(Tok::Ident { text, .. }) => {
                    name = Some((text.clone(), 2));
                    i += 2;
                }
                _ => return (None, toks.len() + 1),
            },
            Some(Tok::Ident {
                text,
                quoted: false,
            }) if text == "collate" => {
                let (_, next) = read_type(toks, i + 1);
                i = next;
            }
            _ => break,
        }
    }
    (name, i)
}

/// An identifier at the start of a primary expression: a column, a function call, a special
/// form (`CASE`, `COALESCE`, `TRIM`…), a typed literal (`date '…'`) or a constant keyword.
fn figure_ident(toks: &[Tok], i: usize, text: &str, quoted: bool) -> (Figured, usize) {
    let strong = |s: &str| Some((s.to_owned(), 2u8));
    if !quoted {
        match text {
            "case" => {
                // Skip to the matching END.
                let mut depth = 0;
                let mut j = i;
                while let Some(t) = toks.get(j) {
                    match word(Some(t)) {
                        Some("case") => depth += 1,
                        Some("end") => {
                            depth -= 1;
                            if depth == 0 {
                                return (strong("case"), j + 1);
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                return (strong("case"), j);
            }
            "true" | "false" | "null" => return (None, i + 1),
            "not" => return (None, toks.len() + 1),
            "current_date" | "current_time" | "current_timestamp" | "localtime"
            | "localtimestamp" | "current_role" | "current_user" | "session_user" | "user"
            | "current_catalog" | "current_schema"
                if toks.get(i + 1) != Some(&Tok::LParen) =>
            {
                return (strong(text), i + 1)
            }
            "array" if toks.get(i + 1) == Some(&Tok::LBracket) => {
                return (strong("array"), skip_group(toks, i + 1))
            }
            _ => {}
        }
        if toks.get(i + 1) == Some(&Tok::Literal) {
            // A typed literal such as `date '2020-01-01'` is a cast of a constant.
            let (ty, _) = read_type(toks, i);
            return (ty.map(|t| (t, 1)), i + 2);
        }
    }
    // A dotted chain: column reference or function name.
    let mut j = i;
    let mut last = text.to_owned();
    let mut last_quoted = quoted;
    while toks.get(j + 1) == Some(&Tok::Dot) {
        match toks.get(j + 2) {
            Some(Tok::Ident { text, quoted }) => {
                last = text.clone();
                last_quoted = *quoted;
                j += 2;
            }
            _ => return (None, toks.len() + 1),
        }
    }
    if toks.get(j + 1) != Some(&Tok::LParen) {
        return (strong(&last), j + 1);
    }
    let end = skip_group(toks, j + 1);
    if last_quoted || j != i {
        return (strong(&last), end);
    }
    // Special function-call forms of the grammar and the names they produce.
    let name = match last.as_str() {
        "trim" => match word(toks.get(j + 2)) {
            Some("leading") => "ltrim",
            Some("trailing") => "rtrim",
            _ => "btrim",
        },
        "cast" => {
            // CAST(x AS t): like x::t.
            let inner = toks.get(j + 2..end.saturating_sub(1)).unwrap_or_default();
            let as_at = inner.iter().rposition(|t| word(Some(t)) == Some("as"));
            let (arg, ty) = match as_at {
                Some(k) => (
                    figure(inner.get(..k).unwrap_or_default()),
                    read_type(inner, k + 1).0,
                ),
                None => (None, None),
            };
            let name = match arg {
                Some((n, 2)) => Some((n, 2)),
                _ => ty.map(|t| (t, 1)),
            };
            return (name, end);
        }
        other => other,
    };
    (strong(name), end)
}

/// `FigureColnameInternal` over a token slice: `None` unless the whole slice is one primary
/// expression (with postfixes), optionally followed by `AT TIME ZONE x`.
fn figure(toks: &[Tok]) -> Figured {
    let (name, i) = figure_primary(toks, 0);
    if i == toks.len() {
        return name;
    }
    let rest: Vec<Option<&str>> = toks
        .get(i..)
        .unwrap_or_default()
        .iter()
        .take(3)
        .map(|t| word(Some(t)))
        .collect();
    if rest == [Some("at"), Some("time"), Some("zone")] {
        let (_, end) = figure_primary(toks, i + 3);
        if end == toks.len() {
            return Some(("timezone".to_owned(), 2));
        }
    }
    None
}

/// The name PostgreSQL gives an index key written as the expression `expr`
/// (`FigureIndexColname`), or `None` where it falls back to `expr`.
///
/// This reads the expression's outermost shape only, as the server does: a column reference
/// gives the column (`t.a` is `a`), a function call the function (`lower(email)` is `lower`,
/// `pg_catalog.upper(x)` is `upper`, `"Upper"(x)` is `Upper`, `trim(x)` is `btrim`), `CASE`
/// is `case`, `COALESCE`, `GREATEST`, `LEAST`, `NULLIF` and `ARRAY[…]` their keyword, a cast
/// keeps its argument's name or else takes the type's `typname` (`(a + b)::text` is `text`,
/// `(a + b)::integer` is `int4`), `COLLATE` and subscripts are transparent, and `AT TIME ZONE`
/// is `timezone`. Operators, constants, `IS NULL` and the like have no name.
pub fn expression_column_name(expr: &str) -> Option<String> {
    figure(&tokenize(expr)).map(|(n, _)| n)
}

/// The distinct columns of `table_columns` that the CHECK expression `expr` references, in
/// order of first mention. An identifier counts when it names a column and is not a function
/// name (followed by `(`), a type name (after `::`) or inside a string literal.
pub fn check_columns<'c, S: AsRef<str>>(expr: &str, table_columns: &'c [S]) -> Vec<&'c str> {
    let toks = tokenize(expr);
    let mut out: Vec<&'c str> = Vec::new();
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        if *t == Tok::Cast {
            let (_, next) = read_type(&toks, i + 1);
            i = next.max(i + 1);
            continue;
        }
        if let Tok::Ident { text, .. } = t {
            let is_call = toks.get(i + 1) == Some(&Tok::LParen);
            if !is_call {
                if let Some(col) = table_columns
                    .iter()
                    .map(AsRef::as_ref)
                    .find(|c| *c == text.as_str())
                {
                    if !out.contains(&col) {
                        out.push(col);
                    }
                }
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn s(n: usize, c: &str) -> String {
        c.repeat(n)
    }

    /// Replays a PostgreSQL 15.18 session in schema `n1` (names in comments are what the
    /// server chose; see the module documentation).
    #[test]
    fn replay_session_one() {
        let mut ns = SchemaNames::new();
        // create table users (id serial primary key, email text unique, a int, b int,
        //   c int check (c > 0), d int check (d > a), check (a > 0), check (a > b),
        //   check (1 > 0), unique (a, b), unique (a), unique (a));
        assert_eq!(ns.sequence("users", "id"), "users_id_seq");
        ns.add_relation("users");
        let cols = ["id", "email", "a", "b", "c", "d"];
        assert_eq!(
            ns.check("users", &check_columns("c > 0", &cols)),
            "users_c_check"
        );
        assert_eq!(
            ns.check("users", &check_columns("d > a", &cols)),
            "users_check"
        );
        assert_eq!(
            ns.check("users", &check_columns("a > 0", &cols)),
            "users_a_check"
        );
        assert_eq!(
            ns.check("users", &check_columns("a > b", &cols)),
            "users_check1"
        );
        assert_eq!(
            ns.check("users", &check_columns("1 > 0", &cols)),
            "users_check2"
        );
        assert_eq!(ns.primary_key("users"), "users_pkey");
        assert_eq!(ns.unique("users", &["email"]), "users_email_key");
        assert_eq!(ns.unique("users", &["a", "b"]), "users_a_b_key");
        assert_eq!(ns.unique("users", &["a"]), "users_a_key");
        // (the second, identical unique (a) is dropped by the server as redundant)

        // create table posts (id int primary key, user_id int references users(id),
        //   user_id2 int references users(id), user_id3 int, a int, b int,
        //   foreign key (a, b) references users(a, b),
        //   foreign key (user_id3) references users(id), (the same again));
        ns.add_relation("posts");
        assert_eq!(ns.primary_key("posts"), "posts_pkey");
        assert_eq!(ns.foreign_key("posts", &["user_id"]), "posts_user_id_fkey");
        assert_eq!(
            ns.foreign_key("posts", &["user_id2"]),
            "posts_user_id2_fkey"
        );
        assert_eq!(ns.foreign_key("posts", &["a", "b"]), "posts_a_b_fkey");
        assert_eq!(
            ns.foreign_key("posts", &["user_id3"]),
            "posts_user_id3_fkey"
        );
        assert_eq!(
            ns.foreign_key("posts", &["user_id3"]),
            "posts_user_id3_fkey1"
        );
        use IndexKey::{Column as Col, Expression as Ex};
        let idx = |ns: &mut SchemaNames, keys: &[IndexKey<'_>]| ns.index("posts", keys);
        assert_eq!(idx(&mut ns, &[Col("user_id")]), "posts_user_id_idx");
        assert_eq!(idx(&mut ns, &[Col("user_id")]), "posts_user_id_idx1");
        assert_eq!(idx(&mut ns, &[Col("a"), Col("b")]), "posts_a_b_idx");
        assert_eq!(idx(&mut ns, &[Ex("lower(a::text)")]), "posts_lower_idx");
        assert_eq!(
            idx(&mut ns, &[Ex("lower(a::text)"), Ex("upper(b::text)")]),
            "posts_lower_upper_idx"
        );
        assert_eq!(
            idx(&mut ns, &[Col("a"), Ex("lower(b::text)"), Col("b")]),
            "posts_a_lower_b_idx"
        );
        // create index on posts (a) include (b)
        assert_eq!(idx(&mut ns, &[Col("a"), Col("b")]), "posts_a_b_idx1");
        // create index on posts ((a))
        assert_eq!(idx(&mut ns, &[Col("a")]), "posts_a_idx");
        assert_eq!(idx(&mut ns, &[Ex("a + b")]), "posts_expr_idx");
        // create unique index on posts (b): a plain index, label idx
        assert_eq!(idx(&mut ns, &[Col("b")]), "posts_b_idx");
        assert_eq!(ns.unique("posts", &["b"]), "posts_b_key");
        let pcols = ["id", "user_id", "user_id2", "user_id3", "a", "b"];
        let chk = |e: &str| check_columns(e, &pcols);
        assert_eq!(ns.check("posts", &chk("a > 0 and a < 10")), "posts_a_check");
        assert_eq!(ns.check("posts", &chk("a > 0")), "posts_a_check1");
        assert_eq!(ns.check("posts", &chk("a > 0")), "posts_a_check2");

        // A unique index may not take a table's name: table t_x_key exists.
        ns.add_relation("t_x_key");
        ns.add_relation("t");
        assert_eq!(ns.unique("t", &["x"]), "t_x_key1");
        // Constraint names are schema-wide: u has a constraint named t_x_check.
        ns.add_relation("u");
        ns.add_constraint("t_x_check");
        assert_eq!(ns.check("t", &["x"]), "t_x_check1");
        // A plain index may share a constraint's name; a unique constraint may not.
        ns.add_relation("v");
        ns.add_constraint("v_x_idx");
        assert_eq!(ns.index("v", &[Col("x")]), "v_x_idx");
        ns.add_constraint("v_x_key");
        assert_eq!(ns.unique("v", &["x"]), "v_x_key1");
        // A primary key may not take a table's name.
        ns.add_relation("w_pkey");
        ns.add_relation("w");
        assert_eq!(ns.primary_key("w"), "w_pkey1");
    }

    /// Replays a PostgreSQL 15.18 session in schema `n2`: long and multi-byte names.
    #[test]
    fn replay_session_two_truncation() {
        let mut ns = SchemaNames::new();
        let a63 = s(63, "a");
        let b63 = s(63, "b");
        ns.add_relation(a63.as_str());
        assert_eq!(ns.primary_key(&a63), format!("{}_pkey", s(58, "a")));
        assert_eq!(
            ns.unique(&a63, &[b63.as_str()]),
            format!("{}_{}_key", s(29, "a"), s(29, "b"))
        );
        ns.add_relation("t");
        assert_eq!(
            ns.unique("t", &[b63.as_str()]),
            format!("t_{}_key", s(57, "b"))
        );
        use IndexKey::{Column as Col, Expression as Ex};
        assert_eq!(ns.index("t", &[Col(&b63)]), format!("t_{}_idx", s(57, "b")));
        assert_eq!(ns.index("t", &[Col("c"), Col("c")]), "t_c_c1_idx");
        let ix = |ns: &mut SchemaNames, e: &str| ns.index("t", &[Ex(e)]);
        assert_eq!(
            ns.index("t", &[Ex("lower(c::text)"), Ex("lower(d::text)")]),
            "t_lower_lower1_idx"
        );
        assert_eq!(ix(&mut ns, "c::text"), "t_c_idx");
        assert_eq!(ix(&mut ns, "(c+d)::text"), "t_text_idx");
        assert_eq!(ix(&mut ns, "c::varchar(10) || 'x'"), "t_expr_idx");
        assert_eq!(ix(&mut ns, "coalesce(c, d)"), "t_coalesce_idx");
        assert_eq!(
            ix(&mut ns, "case when c > 0 then 1 else 0 end"),
            "t_case_idx"
        );
        assert_eq!(ix(&mut ns, "pg_catalog.upper(d::text)"), "t_upper_idx");
        assert_eq!(ix(&mut ns, "\"Upper\"(d::text)"), "t_Upper_idx");
        assert_eq!(ix(&mut ns, "c::integer + 1"), "t_expr_idx1");
        assert_eq!(ix(&mut ns, "(c+d)::integer"), "t_int4_idx");
        assert_eq!(ix(&mut ns, "c + 0"), "t_expr_idx2");
        assert_eq!(ix(&mut ns, "trim(c::text)"), "t_btrim_idx");
        assert_eq!(
            ix(&mut ns, "substring(c::text from 1 for 2)"),
            "t_substring_idx"
        );
        assert_eq!(ix(&mut ns, "-c"), "t_expr_idx3");
        assert_eq!(ix(&mut ns, "nullif(c, 0)"), "t_nullif_idx");
        assert_eq!(ix(&mut ns, "greatest(c, d)"), "t_greatest_idx");
        assert_eq!(ix(&mut ns, "c::text collate \"C\""), "t_c_idx1");
        assert_eq!(ix(&mut ns, "array[c, d]"), "t_array_idx");
        assert_eq!(
            ix(&mut ns, "extract(hour from make_time(c, 0, 0))"),
            "t_extract_idx"
        );
        assert_eq!(ix(&mut ns, "(c+d)::double precision"), "t_float8_idx");
        assert_eq!(ix(&mut ns, "(c+d)::text::json::jsonb"), "t_jsonb_idx");
        assert_eq!(ix(&mut ns, "(c+d)::\"Mytype\""), "t_Mytype_idx");
        assert_eq!(ix(&mut ns, "c is null"), "t_expr_idx4");

        // 31 × é (62 bytes) and 31 × ü: each part is cut on a character boundary.
        let e31 = s(31, "é");
        let u31 = s(31, "ü");
        ns.add_relation(e31.as_str());
        assert_eq!(ns.primary_key(&e31), format!("{}_pkey", s(29, "é")));
        assert_eq!(
            ns.unique(&e31, &[u31.as_str()]),
            format!("{}_{}_key", s(14, "é"), s(14, "ü"))
        );
        ns.add_relation("MixedCase");
        assert_eq!(ns.unique("MixedCase", &["Col"]), "MixedCase_Col_key");

        // create table c2 (a int references t(id), b int references t(id), check (a > 0),
        //   check (b > 0), check (a > 0)); alter table c2 add foreign key (a) references t(id);
        ns.add_relation("c2");
        let cols = ["a", "b"];
        assert_eq!(ns.check("c2", &check_columns("a > 0", &cols)), "c2_a_check");
        assert_eq!(ns.check("c2", &check_columns("b > 0", &cols)), "c2_b_check");
        assert_eq!(
            ns.check("c2", &check_columns("a > 0", &cols)),
            "c2_a_check1"
        );
        assert_eq!(ns.foreign_key("c2", &["a"]), "c2_a_fkey");
        assert_eq!(ns.foreign_key("c2", &["b"]), "c2_b_fkey");
        assert_eq!(ns.foreign_key("c2", &["a"]), "c2_a_fkey1");

        // A 40-byte table with a 63-byte column: both parts cut to 28 for `check`.
        let b40 = s(40, "b");
        ns.add_relation(b40.as_str());
        assert_eq!(ns.primary_key(&b40), format!("{b40}_pkey"));
        assert_eq!(
            ns.check(&b40, &[b63.as_str()]),
            format!("{}_{}_check", s(28, "b"), s(28, "b"))
        );
        assert_eq!(ns.foreign_key(&b40, &["a"]), format!("{b40}_a_fkey"));

        // Sequences: s_x_seq existed, so serial x got s_x_seq1; identity y got s_y_seq.
        ns.add_relation("s_x_seq");
        assert_eq!(ns.sequence("s", "x"), "s_x_seq1");
        assert_eq!(ns.sequence("s", "y"), "s_y_seq");
    }

    #[test]
    fn make_object_name_rules() {
        assert_eq!(make_object_name("users", None, "pkey"), "users_pkey");
        assert_eq!(make_object_name("t", Some("a_b"), "key"), "t_a_b_key");
        // Ties shorten the second part first.
        let n = make_object_name(&s(40, "x"), Some(&s(40, "y")), "idx");
        assert_eq!(n, format!("{}_{}_idx", s(29, "x"), s(29, "y")));
        assert_eq!(n.len(), 63);
        // A longer label (after collisions) leaves less room.
        assert_eq!(
            make_object_name(&s(63, "a"), None, "pkey1"),
            format!("{}_pkey1", s(57, "a"))
        );
    }

    #[test]
    fn additions_join_and_stop_past_64_bytes() {
        let long: Vec<String> = (0..10).map(|i| format!("{}{i}", s(19, "c"))).collect();
        let add = name_addition(&long).unwrap();
        assert_eq!(add.len(), 83); // four names of 20 bytes and three underscores
        let mut ns = SchemaNames::new();
        let name = ns.unique("t", &long);
        assert_eq!(name.len(), 63);
        assert_eq!(name, format!("t_{}_key", add.get(..57).unwrap()));
        assert!(name.starts_with(&format!("t_{}0_{}1_", s(19, "c"), s(19, "c"))));
        assert_eq!(name_addition::<&str>(&[]), None);
    }

    /// Index expressions and the key name PostgreSQL 15.18 gave each (`None`: `expr`), from
    /// `CREATE INDEX ON t ((<expr>))` on a table with columns `a int, email text, "Email"
    /// text, created_at timestamp, data comp, arr int[]`, `comp` being `(field int)`.
    const EXPRESSION_CASES: &[(&str, Option<&str>)] = &[
        ("lower(email)", Some("lower")),
        ("LOWER(Email)", Some("lower")),
        ("t.a", Some("a")),
        ("(email)", Some("email")),
        ("a + 1", None),
        ("'x'::text", Some("text")),
        ("$$x$$::text", Some("text")),
        ("E'a\\b'::text", Some("text")),
        ("date '2020-01-01'", Some("date")),
        ("interval '1 day' + created_at", None),
        ("trim(leading 'x' from email)", Some("ltrim")),
        ("trim(trailing from email)", Some("rtrim")),
        ("cast(a as text)", Some("a")),
        ("cast(a + 1 as bigint)", Some("int8")),
        ("(a + 1)::varchar(10)", Some("varchar")),
        ("(a + 1)::character varying", Some("varchar")),
        ("(a + 1)::float(10)", Some("float4")),
        ("(a + 1)::float(30)", Some("float8")),
        ("(a + 1)::char(3)", Some("bpchar")),
        ("(a > 1)::bool", Some("bool")),
        ("(a + 1)::numeric(10,2)", Some("numeric")),
        ("created_at at time zone 'UTC'", Some("timezone")),
        ("date(created_at)", Some("date")),
        ("arr[1]", Some("arr")),
        ("(data).field", Some("field")),
        ("not (a > 1)", None),
        ("(a > 1) is true", None),
        ("a -- comment\n", Some("a")),
        ("coalesce(email, 'x') || 'y'", None),
    ];

    #[test]
    fn expression_names() {
        for (expr, expected) in EXPRESSION_CASES {
            assert_eq!(
                expression_column_name(expr).as_deref(),
                *expected,
                "{expr:?}"
            );
        }
        // Malformed input never panics (no server truth to compare with).
        for bad in [
            "",
            "(",
            ")",
            "f(",
            "'unterminated",
            "$tag$x",
            "a::",
            "cast(",
            "case",
        ] {
            let _ = expression_column_name(bad);
        }
    }

    /// Every string of up to four characters from an alphabet of troublemakers: the reader
    /// must never panic or loop.
    #[test]
    fn reader_survives_every_short_input() {
        let alphabet: Vec<char> = "a(\"'$:.[]e- é".chars().collect();
        let mut stack = vec![String::new()];
        while let Some(s) = stack.pop() {
            let _ = expression_column_name(&s);
            let _ = check_columns(&s, &["a", "e"]);
            if s.chars().count() < 4 {
                for c in &alphabet {
                    stack.push(format!("{s}{c}"));
                }
            }
        }
    }

    #[test]
    fn check_columns_skip_functions_types_and_strings() {
        let cols = ["price", "text", "status", "Qty"];
        assert_eq!(check_columns("price > 0", &cols), vec!["price"]);
        assert_eq!(
            check_columns("lower(status::text) <> 'price'", &cols),
            vec!["status"]
        );
        assert_eq!(check_columns("\"Qty\" > 0 AND qty > 1", &cols), vec!["Qty"]);
        assert_eq!(
            check_columns("price > 0 and price < 100", &cols),
            vec!["price"]
        );
        assert!(check_columns("1 > 0", &cols).is_empty());
    }

    /// Creates the objects of `replay_session_*` on a live server and compares every name
    /// with [`SchemaNames`]. Runs against the test suite's own throwaway cluster.
    #[test]
    fn live_server_agrees() {
        let db = crate::local::testing::fresh_database();
        let mut c = db.client();
        let b63 = s(63, "b");
        let setup = format!(
            "DROP SCHEMA IF EXISTS nself_names CASCADE; CREATE SCHEMA nself_names;
             SET search_path = nself_names;
             CREATE TABLE p (id int PRIMARY KEY, {b63} int UNIQUE, c int, d int,
               CHECK (c > d), CHECK (c > 0), FOREIGN KEY (c) REFERENCES p(id));
             CREATE INDEX ON p ((c + d), lower(c::text), c) INCLUDE (d);
             CREATE INDEX ON p (((c+d)::bigint));
             CREATE INDEX ON p ((c::text || 'x'), (date '2020-01-01' + c));
             CREATE TABLE p_c_key (i int);
             ALTER TABLE p ADD UNIQUE (c);"
        );
        c.batch_execute(&setup).unwrap();
        let mut ns = SchemaNames::new();
        ns.add_relation("p");
        let cols = ["id", b63.as_str(), "c", "d"];
        let mut expected = vec![
            ns.check("p", &check_columns("c > d", &cols)),
            ns.check("p", &check_columns("c > 0", &cols)),
            ns.primary_key("p"),
            ns.unique("p", &[b63.as_str()]),
            ns.foreign_key("p", &["c"]),
        ];
        use IndexKey::{Column as Col, Expression as Ex};
        expected.push(ns.index(
            "p",
            &[Ex("(c + d)"), Ex("lower(c::text)"), Col("c"), Col("d")],
        ));
        expected.push(ns.index("p", &[Ex("(c+d)::bigint")]));
        expected.push(ns.index("p", &[Ex("c::text || 'x'"), Ex("date '2020-01-01' + c")]));
        ns.add_relation("p_c_key");
        expected.push(ns.unique("p", &["c"]));
        let rows = c
            .query(
                "SELECT conname::text FROM pg_constraint WHERE connamespace = \
                 'nself_names'::regnamespace UNION SELECT indexname::text FROM pg_indexes \
                 WHERE schemaname = 'nself_names'",
                &[],
            )
            .unwrap();
        let mut got: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        got.sort();
        expected.sort();
        expected.dedup();
        c.batch_execute("DROP SCHEMA nself_names CASCADE").unwrap();
        assert_eq!(got, expected);
    }

    /// Checks [`EXPRESSION_CASES`] on a live server (see `live_server_agrees`).
    #[test]
    fn expression_names_match_live_server() {
        let db = crate::local::testing::fresh_database();
        let mut c = db.client();
        c.batch_execute(
            "DROP SCHEMA IF EXISTS nself_expr CASCADE; CREATE SCHEMA nself_expr;
             SET search_path = nself_expr; CREATE TYPE comp AS (field int);",
        )
        .unwrap();
        for (i, (expr, expected)) in EXPRESSION_CASES.iter().enumerate() {
            let sql = format!(
                "CREATE TABLE t (a int, email text, \"Email\" text, created_at timestamp, \
                 data comp, arr int[]); CREATE INDEX ON t (({expr}\n));"
            );
            c.batch_execute(&sql).unwrap();
            let row = c
                .query_one(
                    "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'nself_expr'",
                    &[],
                )
                .unwrap();
            let got: String = row.get(0);
            assert_eq!(
                got,
                format!("t_{}_idx", expected.unwrap_or("expr")),
                "case {i}: {expr}"
            );
            c.batch_execute("DROP TABLE t").unwrap();
        }
        c.batch_execute("DROP SCHEMA nself_expr CASCADE").unwrap();
    }
}
