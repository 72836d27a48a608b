//! The typed schema: what DBML lowers to and what the catalog reader will produce.
//!
//! Invariant: an [`Origin`] (where an item came from) never takes part in equality, so a schema
//! lowered from DBML and one read from a database compare equal when they describe the same
//! objects. Names are stored as written (case preserved), unquoted.

use crate::diag::Span;
use serde::Serialize;

/// Where an item was declared. Always equal to any other origin.
#[derive(Clone, Copy, Debug, Default)]
pub struct Origin(pub Option<Span>);

impl Serialize for Origin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_none()
    }
}

impl PartialEq for Origin {
    fn eq(&self, _: &Origin) -> bool {
        true
    }
}
impl Eq for Origin {}

impl Origin {
    pub fn span(self) -> Option<Span> {
        self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> QualifiedName {
        QualifiedName {
            schema: schema.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.schema == DEFAULT_SCHEMA {
            f.write_str(&self.name)
        } else {
            write!(f, "{}.{}", self.schema, self.name)
        }
    }
}

pub const DEFAULT_SCHEMA: &str = "public";

#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize)]
pub struct Schema {
    pub project: Option<ProjectInfo>,
    pub enums: Vec<EnumType>,
    pub tables: Vec<Table>,
    pub refs: Vec<Ref>,
    pub groups: Vec<TableGroup>,
}

impl Schema {
    pub fn table(&self, name: &QualifiedName) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == *name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize)]
pub struct ProjectInfo {
    pub name: Option<String>,
    pub database_type: Option<String>,
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnumType {
    pub name: QualifiedName,
    pub values: Vec<EnumValue>,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnumValue {
    pub name: String,
    pub note: Option<String>,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Table {
    pub name: QualifiedName,
    pub alias: Option<String>,
    pub columns: Vec<Column>,
    pub indexes: Vec<Index>,
    pub checks: Vec<Check>,
    pub note: Option<String>,
    pub origin: Origin,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A column type as written in DBML, split into its parts (`varchar(255)[]` gives name
/// `varchar`, args `["255"]`, one array dimension). Canonical PostgreSQL forms are computed
/// from this by the PostgreSQL layer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TypeRef {
    pub schema: Option<String>,
    pub name: String,
    pub args: Vec<String>,
    pub array_dims: u32,
}

impl std::fmt::Display for TypeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(s) = &self.schema {
            write!(f, "{s}.")?;
        }
        f.write_str(&self.name)?;
        if !self.args.is_empty() {
            write!(f, "({})", self.args.join(","))?;
        }
        for _ in 0..self.array_dims {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: String,
    pub ty: TypeRef,
    pub primary_key: bool,
    pub unique: bool,
    /// `Some(false)` for `not null`, `Some(true)` for `null`, `None` when unsaid.
    pub nullable: Option<bool>,
    pub increment: bool,
    pub default: Option<DefaultValue>,
    /// Where the default's value is written (the backtick text for an expression).
    pub default_origin: Origin,
    /// Where the type is written (`int(11)`, `varchar[]`), for diagnostics about the type.
    #[serde(skip)]
    pub type_origin: Origin,
    /// Where the `increment` setting is written, if it is.
    #[serde(skip)]
    pub increment_origin: Origin,
    pub checks: Vec<Check>,
    pub note: Option<String>,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum DefaultValue {
    Number(String),
    String(String),
    Bool(bool),
    Null,
    /// A backtick expression, passed to PostgreSQL as written.
    Expression(String),
    /// `status.active` or `schema.status.active`: a member of an enum.
    EnumMember {
        path: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Index {
    pub name: Option<String>,
    pub parts: Vec<IndexPart>,
    pub unique: bool,
    pub primary_key: bool,
    pub method: Option<String>,
    pub note: Option<String>,
    pub origin: Origin,
    /// Where each expression part is written, in the order of the expression parts.
    pub expression_origins: Vec<Origin>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum IndexPart {
    Column(String),
    Expression(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: Option<String>,
    pub expression: String,
    pub origin: Origin,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cardinality {
    One,
    Many,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefEnd {
    pub table: QualifiedName,
    pub columns: Vec<String>,
    pub cardinality: Cardinality,
    /// `?` on this side: the relation is optional here.
    pub optional: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefAction {
    Cascade,
    Restrict,
    SetNull,
    SetDefault,
    NoAction,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ref {
    pub name: Option<String>,
    /// The left end as written (`left > right`: left is the many side).
    pub left: RefEnd,
    pub right: RefEnd,
    pub on_delete: Option<RefAction>,
    pub on_update: Option<RefAction>,
    pub inactive: bool,
    /// Written on a column (`ref: - t.c`): the column's table is the left end.
    pub inline: bool,
    pub origin: Origin,
}

impl Ref {
    /// The (referencing, referenced) ends: where PostgreSQL's foreign key lives. `a > b` and
    /// `b < a` put it on `a`; one-to-one `a - b` puts it on `b`, as the reference does, except
    /// for an inline ref, where the reference puts it on the column that declares the ref.
    /// Many-to-many has no foreign key of its own (it needs a junction table).
    pub fn fk_sides(&self) -> Option<(&RefEnd, &RefEnd)> {
        match (self.left.cardinality, self.right.cardinality) {
            (Cardinality::Many, Cardinality::One) => Some((&self.left, &self.right)),
            (Cardinality::One, Cardinality::One) if self.inline => Some((&self.left, &self.right)),
            (Cardinality::One, Cardinality::Many) | (Cardinality::One, Cardinality::One) => {
                Some((&self.right, &self.left))
            }
            (Cardinality::Many, Cardinality::Many) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TableGroup {
    pub name: String,
    pub tables: Vec<QualifiedName>,
    pub note: Option<String>,
    pub origin: Origin,
}
