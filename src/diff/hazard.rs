//! What can go wrong when a change runs on a database that holds data.
//!
//! Three kinds, as SPEC.md §6 names them: data loss, a table rewrite or strong lock, and
//! failure on existing data. [`of`] gives every hazard of one [`Change`]; the type-change rules
//! ([`type_change`]) know which conversions PostgreSQL does without touching the rows
//! (binary-coercible ones) and which can lose or reject data.

use super::Change;
use crate::ir::canonical::{Column, Generated};
use crate::ir::pgtypes::PgType;
use serde::Serialize;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HazardKind {
    /// Rows or values are lost for good.
    DataLoss,
    /// The table is rewritten or scanned, or locked against writes (or reads) meanwhile.
    Lock,
    /// Existing rows can make the statement fail (the migration then rolls back).
    MayFail,
}

impl HazardKind {
    pub fn label(self) -> &'static str {
        match self {
            HazardKind::DataLoss => "data loss",
            HazardKind::Lock => "table rewrite or lock",
            HazardKind::MayFail => "may fail on existing data",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hazard {
    pub kind: HazardKind,
    pub message: String,
}

impl fmt::Display for Hazard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.label(), self.message)
    }
}

fn h(kind: HazardKind, message: impl Into<String>) -> Hazard {
    Hazard {
        kind,
        message: message.into(),
    }
}

/// Every hazard of one change (none for harmless ones such as creating a table).
pub fn of(change: &Change) -> Vec<Hazard> {
    use HazardKind::*;
    match change {
        Change::DropTable(t) => vec![h(
            DataLoss,
            format!("dropping table {} deletes all its rows", t.name),
        )],
        Change::DropColumn { table, column } => {
            let mut out = vec![h(
                DataLoss,
                format!("dropping column {table}.{} deletes its values", column.name),
            )];
            if !column.nullable && column.default.is_none() && column.generated.is_none() {
                out.push(h(
                    MayFail,
                    format!(
                        "DOWN adds {table}.{} back NOT NULL without a default: it fails if the table has rows then",
                        column.name
                    ),
                ));
            }
            out
        }
        Change::DropEnum(e) => vec![h(
            MayFail,
            format!("dropping type {} fails while anything still uses it", e.name),
        )],
        Change::DropSchema(s) => vec![h(
            MayFail,
            format!("dropping schema {s} fails while it holds objects nself does not manage"),
        )],
        Change::AlterEnum { name, from, to } => {
            let removed: Vec<&str> = from
                .iter()
                .filter(|v| !to.contains(v))
                .map(String::as_str)
                .collect();
            if is_subsequence(from, to) {
                return Vec::new();
            }
            let mut out = vec![h(
                Lock,
                format!(
                    "recreating type {name} rewrites every table with a column of that type"
                ),
            )];
            if !removed.is_empty() {
                out.push(h(
                    MayFail,
                    format!(
                        "rows holding the removed value(s) {} make the conversion fail",
                        removed.join(", ")
                    ),
                ));
            }
            out
        }
        Change::AddColumn { table, column } => {
            let mut out = Vec::new();
            if !column.nullable && column.default.is_none() && column.generated.is_none() {
                out.push(h(
                    MayFail,
                    format!(
                        "adding NOT NULL column {table}.{} without a default fails if the table has rows",
                        column.name
                    ),
                ));
            }
            if column.generated.is_some() {
                out.push(h(
                    Lock,
                    format!(
                        "adding generated column {table}.{} fills every row (table rewrite)",
                        column.name
                    ),
                ));
            }
            out
        }
        Change::AlterColumn { table, from, to } => alter_column(&format!("{table}.{}", to.name), from, to),
        Change::AddPrimaryKey { table, key } | Change::AddUnique { table, key } => vec![
            h(
                MayFail,
                format!(
                    "{} fails if {table} has duplicate (or, for a primary key, NULL) values in ({})",
                    key.name,
                    key.columns.join(", ")
                ),
            ),
            h(
                Lock,
                format!("building the index for {} blocks writes to {table}", key.name),
            ),
        ],
        Change::AddCheck { table, check } => vec![
            h(
                MayFail,
                format!("{} fails if existing rows of {table} violate it", check.name),
            ),
            h(Lock, format!("checking {} scans {table} under a lock", check.name)),
        ],
        Change::AddForeignKey { table, fk } => vec![
            h(
                MayFail,
                format!(
                    "{} fails if rows of {table} reference missing rows of {}",
                    fk.name, fk.references
                ),
            ),
            h(
                Lock,
                format!(
                    "validating {} scans {table} and blocks writes to {table} and {}",
                    fk.name, fk.references
                ),
            ),
        ],
        Change::CreateIndex { table, index } => {
            let mut out = vec![h(
                Lock,
                format!("building index {} blocks writes to {table}", index.name),
            )];
            if index.unique {
                out.push(h(
                    MayFail,
                    format!("unique index {} fails if {table} has duplicates", index.name),
                ));
            }
            out
        }
        _ => Vec::new(),
    }
}

/// Whether every element of `a` appears in `b` in the same order.
pub fn is_subsequence(a: &[String], b: &[String]) -> bool {
    let mut it = b.iter();
    a.iter().all(|x| it.any(|y| y == x))
}

fn alter_column(name: &str, from: &Column, to: &Column) -> Vec<Hazard> {
    use HazardKind::*;
    let mut out = Vec::new();
    if from.ty != to.ty {
        out.extend(type_change(name, &from.ty, &to.ty));
    }
    if from.nullable && !to.nullable {
        out.push(h(
            MayFail,
            format!("SET NOT NULL on {name} fails if it holds NULLs (and scans the table)"),
        ));
    }
    match (from.generated, to.generated) {
        (a, b) if a == b => {}
        (_, Some(Generated::IdentityAlways | Generated::IdentityByDefault | Generated::Serial)) => {
            out.push(h(
                MayFail,
                format!(
                    "the new sequence of {name} starts at 1: inserts collide with existing values until it is advanced (setval)"
                ),
            ))
        }
        _ => {}
    }
    out
}

/// The hazards of converting a column from one type to another with `USING col::type`.
pub fn type_change(name: &str, from: &PgType, to: &PgType) -> Vec<Hazard> {
    use HazardKind::*;
    let mut out = Vec::new();
    if binary_coercible(from, to) {
        return out;
    }
    out.push(h(
        Lock,
        format!("changing the type of {name} rewrites the table under an exclusive lock"),
    ));
    if from.is_array() != to.is_array() {
        out.push(h(
            MayFail,
            format!("converting {name} between an array and a scalar fails on most values"),
        ));
        return out;
    }
    let (f, t) = (from.name.as_str(), to.name.as_str());
    let len = |ty: &PgType| ty.modifiers.first().copied();
    match (f, t) {
        _ if from.is_user_defined() || to.is_user_defined() => out.push(h(
            MayFail,
            format!("values of {name} that are not valid {to} make the conversion fail"),
        )),
        ("character varying" | "character" | "text", "character varying" | "character") => {
            if let Some(n) = len(to) {
                if len(from).is_none_or(|m| m > n) {
                    out.push(h(
                        DataLoss,
                        format!("values of {name} longer than {n} characters are cut to {n}"),
                    ));
                }
            }
        }
        (_, "text" | "character varying") if to.modifiers.is_empty() => {}
        ("numeric", "numeric") => {
            let (fp, fs) = (from.modifiers.first(), from.modifiers.get(1));
            let (tp, ts) = (to.modifiers.first(), to.modifiers.get(1));
            if ts.is_some() && fs.is_none_or(|fs| Some(fs) > ts) {
                out.push(h(
                    DataLoss,
                    format!("values of {name} are rounded to the new scale"),
                ));
            }
            if tp.is_some() && fp.is_none_or(|fp| Some(fp) > tp) {
                out.push(h(
                    MayFail,
                    format!("values of {name} too large for {to} make the conversion fail"),
                ));
            }
        }
        ("numeric" | "real" | "double precision" | "money", "smallint" | "integer" | "bigint") => {
            out.push(h(DataLoss, format!("fractions in {name} are rounded away")));
            out.push(h(
                MayFail,
                format!("values of {name} out of range for {to} make the conversion fail"),
            ));
        }
        ("double precision" | "numeric", "real") | ("numeric", "double precision") => {
            out.push(h(DataLoss, format!("values of {name} lose precision")))
        }
        ("bigint", "integer" | "smallint") | ("integer", "smallint") => out.push(h(
            MayFail,
            format!("values of {name} out of range for {to} make the conversion fail"),
        )),
        ("smallint" | "integer" | "bigint", "smallint" | "integer" | "bigint" | "numeric")
        | ("smallint" | "integer", "real" | "double precision")
        | ("real", "double precision") => {}
        (
            "timestamp with time zone" | "timestamp without time zone",
            "date" | "time without time zone" | "time with time zone",
        ) => out.push(h(
            DataLoss,
            format!("part of each value of {name} is dropped"),
        )),
        (
            "timestamp with time zone" | "timestamp without time zone",
            "timestamp with time zone" | "timestamp without time zone",
        ) if f == t => out.push(h(
            DataLoss,
            format!("values of {name} are rounded to the new precision"),
        )),
        ("timestamp with time zone", "timestamp without time zone")
        | ("timestamp without time zone", "timestamp with time zone") => out.push(h(
            DataLoss,
            format!("values of {name} are converted using the session's time zone"),
        )),
        ("date", "timestamp with time zone" | "timestamp without time zone") => {}
        ("json", "jsonb") => out.push(h(
            DataLoss,
            format!("jsonb does not keep key order, duplicate keys or whitespace of {name}"),
        )),
        ("jsonb", "json") => {}
        _ => out.push(h(
            MayFail,
            format!("values of {name} that do not convert to {to} make the conversion fail"),
        )),
    }
    out
}

/// Conversions PostgreSQL makes without rewriting or scanning the table.
pub fn binary_coercible(from: &PgType, to: &PgType) -> bool {
    if from.is_array() != to.is_array() || from.schema != to.schema {
        return false;
    }
    let len = |ty: &PgType| ty.modifiers.first().copied();
    match (from.name.as_str(), to.name.as_str()) {
        ("character varying", "character varying") => {
            len(to).is_none() || len(from).is_some_and(|f| len(to).is_some_and(|t| t >= f))
        }
        ("character varying", "text") => true,
        ("text", "character varying") => to.modifiers.is_empty(),
        ("numeric", "numeric") => {
            to.modifiers.is_empty()
                || (from.modifiers.get(1) == to.modifiers.get(1)
                    && from
                        .modifiers
                        .first()
                        .zip(to.modifiers.first())
                        .is_some_and(|(f, t)| t >= f))
        }
        ("bit varying", "bit varying") => {
            len(to).is_none() || len(from).is_some_and(|f| len(to).is_some_and(|t| t >= f))
        }
        ("cidr", "inet") => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::pgtypes;

    fn ty(s: &str) -> PgType {
        pgtypes::parse(s).map(|b| b.ty).unwrap()
    }

    #[test]
    fn widening_varchar_is_free_and_narrowing_loses_data() {
        assert!(type_change("t.c", &ty("varchar(50)"), &ty("varchar(200)")).is_empty());
        assert!(type_change("t.c", &ty("varchar(50)"), &ty("text")).is_empty());
        let h = type_change("t.c", &ty("varchar(200)"), &ty("varchar(50)"));
        assert!(h.iter().any(|h| h.kind == HazardKind::DataLoss), "{h:?}");
        let h = type_change("t.c", &ty("text"), &ty("integer"));
        assert!(h.iter().any(|h| h.kind == HazardKind::MayFail), "{h:?}");
        let h = type_change("t.c", &ty("integer"), &ty("bigint"));
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h[0].kind, HazardKind::Lock);
        let h = type_change("t.c", &ty("bigint"), &ty("integer"));
        assert!(h.iter().any(|h| h.kind == HazardKind::MayFail), "{h:?}");
        let h = type_change("t.c", &ty("numeric(10,2)"), &ty("numeric(10,1)"));
        assert!(h.iter().any(|h| h.kind == HazardKind::DataLoss), "{h:?}");
        assert!(type_change("t.c", &ty("numeric(10,2)"), &ty("numeric(12,2)")).is_empty());
    }

    #[test]
    fn subsequences() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(is_subsequence(&v(&["a", "c"]), &v(&["a", "b", "c"])));
        assert!(!is_subsequence(&v(&["c", "a"]), &v(&["a", "b", "c"])));
        assert!(!is_subsequence(&v(&["a", "d"]), &v(&["a", "b", "c"])));
    }
}
