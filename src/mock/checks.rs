//! What a CHECK constraint says about single columns, read with PostgreSQL's own parser.
//!
//! [`read`] takes a check expression as the catalog prints it (`pg_get_expr`: `(price >=
//! (0)::numeric)`, `((status)::text = ANY ((ARRAY['a'::character varying, …])::text[]))`,
//! `(length((name)::text) >= 3)`) or as a person wrote it (`qty BETWEEN 1 AND 10`,
//! `kind IN ('a', 'b')`), and returns the [`Bounds`] it puts on each column it names: numeric
//! ranges, length ranges, a list of allowed values, values excluded. Only conjunctions are
//! followed; a disjunction is understood when every branch allows a list of values of one
//! column (or is `col IS NULL`), and anything else is ignored: the server still judges every
//! row, and the generator regenerates a row it rejects (`super::run`). Never fails: a text
//! that does not parse says nothing.

use pg_query::protobuf::{a_const, AExprKind, BoolExprType, NullTestType};
use pg_query::{Node, NodeEnum};
use std::collections::BTreeMap;

/// What the checks of a table allow for one column.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bounds {
    /// The smallest value, and whether it is excluded (`>` rather than `>=`).
    pub min: Option<(f64, bool)>,
    pub max: Option<(f64, bool)>,
    /// Length in characters (`length`, `char_length`, `character_length`).
    pub min_len: Option<usize>,
    pub max_len: Option<usize>,
    /// The only values allowed, as text (`IN`, `= ANY`, `=`, or a disjunction of those).
    pub one_of: Option<Vec<String>>,
    /// Values that are not allowed (`<>`).
    pub excluded: Vec<String>,
    /// Keys a JSON object must have (`col ? 'key'`, `col ?& ARRAY[…]`).
    pub json_keys: Vec<String>,
}

impl Bounds {
    /// Intersects `other` into `self`.
    fn and(&mut self, other: Bounds) {
        if let Some(m) = other.min {
            self.min = Some(match self.min {
                Some(old) if old.0 > m.0 || (old.0 == m.0 && old.1) => old,
                _ => m,
            });
        }
        if let Some(m) = other.max {
            self.max = Some(match self.max {
                Some(old) if old.0 < m.0 || (old.0 == m.0 && old.1) => old,
                _ => m,
            });
        }
        if let Some(l) = other.min_len {
            self.min_len = Some(self.min_len.map_or(l, |o| o.max(l)));
        }
        if let Some(l) = other.max_len {
            self.max_len = Some(self.max_len.map_or(l, |o| o.min(l)));
        }
        if let Some(list) = other.one_of {
            self.one_of = Some(match self.one_of.take() {
                Some(old) => old.into_iter().filter(|v| list.contains(v)).collect(),
                None => list,
            });
        }
        self.excluded.extend(other.excluded);
        for k in other.json_keys {
            if !self.json_keys.contains(&k) {
                self.json_keys.push(k);
            }
        }
    }

    /// Whether `value` (text) passes the list parts of these bounds.
    pub fn allows_text(&self, value: &str) -> bool {
        self.one_of
            .as_ref()
            .is_none_or(|list| list.iter().any(|v| v == value))
            && !self.excluded.iter().any(|v| v == value)
    }
}

/// The bounds of two checks on one column together.
pub fn intersect(mut a: Bounds, b: Bounds) -> Bounds {
    a.and(b);
    a
}

/// The bounds `expression` puts on columns, by column name.
pub fn read(expression: &str) -> BTreeMap<String, Bounds> {
    let mut out = BTreeMap::new();
    with_expression(expression, |v| conjunction(v, &mut out));
    out
}

/// The text input of an expression that is a constant (`'draft'::status`, `-1`, `true`),
/// as a default is printed by the catalog.
pub fn constant_expression(expression: &str) -> Option<String> {
    let mut out = None;
    with_expression(expression, |v| out = constant(v));
    out
}

/// Calls `f` with the parsed tree of `SELECT <expression>`'s one target, if it parses.
fn with_expression(expression: &str, f: impl FnOnce(&Node)) {
    let Ok(parsed) = pg_query::parse(&format!("SELECT {expression}"), 0) else {
        return;
    };
    if parsed.protobuf.stmts.len() != 1 {
        return;
    }
    let Some(NodeEnum::SelectStmt(s)) = parsed
        .protobuf
        .stmts
        .first()
        .and_then(|s| s.stmt.as_ref())
        .and_then(|n| n.node.as_ref())
    else {
        return;
    };
    if s.target_list.len() != 1 || !s.from_clause.is_empty() {
        return;
    }
    let Some(NodeEnum::ResTarget(t)) = s.target_list.first().and_then(|n| n.node.as_ref()) else {
        return;
    };
    if let Some(v) = t.val.as_deref() {
        f(v);
    }
}

fn node(n: &Node) -> Option<&NodeEnum> {
    n.node.as_ref()
}

/// Adds what a conjunction of terms says to `out`.
fn conjunction(n: &Node, out: &mut BTreeMap<String, Bounds>) {
    match node(n) {
        Some(NodeEnum::BoolExpr(b)) if b.boolop == BoolExprType::AndExpr as i32 => {
            for a in &b.args {
                conjunction(a, out);
            }
        }
        Some(NodeEnum::BoolExpr(b)) if b.boolop == BoolExprType::OrExpr as i32 => {
            if let Some((col, bounds)) = disjunction(&b.args) {
                out.entry(col).or_default().and(bounds);
            }
        }
        _ => {
            if let Some((col, bounds)) = term(n) {
                out.entry(col).or_default().and(bounds);
            }
        }
    }
}

/// `a IN (…) OR a = 'x' OR a IS NULL`: the union of the branches' lists, when every branch
/// is about the same column. `a IS NULL OR <term>` is the term (a row that is not NULL must
/// satisfy it).
fn disjunction(args: &[Node]) -> Option<(String, Bounds)> {
    let mut column: Option<String> = None;
    let mut values: Vec<String> = Vec::new();
    let mut single: Option<Bounds> = None;
    let mut branches = 0;
    for a in args {
        if let Some(NodeEnum::NullTest(t)) = node(a) {
            if t.nulltesttype == NullTestType::IsNull as i32 {
                let c = column_of(t.arg.as_deref()?)?;
                if column.get_or_insert_with(|| c.clone()) != &c {
                    return None;
                }
                continue;
            }
        }
        let (c, b) = term(a)?;
        if column.get_or_insert_with(|| c.clone()) != &c {
            return None;
        }
        branches += 1;
        match &b.one_of {
            Some(list) => values.extend(list.iter().cloned()),
            None => single = Some(b.clone()),
        }
        if b.one_of.is_none() && branches > 1 {
            return None;
        }
        if single.is_some() && b.one_of.is_some() {
            return None;
        }
    }
    let column = column?;
    match single {
        Some(b) if branches == 1 => Some((column, b)),
        Some(_) => None,
        None => Some((
            column,
            Bounds {
                one_of: Some(values),
                ..Bounds::default()
            },
        )),
    }
}

/// One comparison about one column.
fn term(n: &Node) -> Option<(String, Bounds)> {
    let NodeEnum::AExpr(e) = node(n)? else {
        return None;
    };
    let op = e.name.first().and_then(|n| match node(n) {
        Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
        _ => None,
    });
    let (l, r) = (e.lexpr.as_deref(), e.rexpr.as_deref());
    let kind = e.kind;
    if kind == AExprKind::AexprOpAny as i32 && op == Some("=") {
        let col = column_of(l?)?;
        let list = array_constants(r?)?;
        return Some((col, one_of(list)));
    }
    if kind == AExprKind::AexprIn as i32 && op == Some("=") {
        let col = column_of(l?)?;
        let Some(NodeEnum::List(items)) = node(r?) else {
            return None;
        };
        let list = items
            .items
            .iter()
            .map(constant)
            .collect::<Option<Vec<_>>>()?;
        return Some((col, one_of(list)));
    }
    if kind == AExprKind::AexprBetween as i32 {
        let col = column_of(l?)?;
        let Some(NodeEnum::List(items)) = node(r?) else {
            return None;
        };
        let [lo, hi] = items.items.as_slice() else {
            return None;
        };
        let (lo, hi) = (number(&constant(lo)?)?, number(&constant(hi)?)?);
        return Some((
            col,
            Bounds {
                min: Some((lo, false)),
                max: Some((hi, false)),
                ..Bounds::default()
            },
        ));
    }
    if kind != AExprKind::AexprOp as i32 {
        return None;
    }
    let op = op?;
    if op == "?" || op == "?&" {
        let col = column_of(l?)?;
        let keys = if op == "?" {
            vec![constant(r?)?]
        } else {
            array_constants(r?)?
        };
        return Some((
            col,
            Bounds {
                json_keys: keys,
                ..Bounds::default()
            },
        ));
    }
    // The column (or its length) on the left, a constant on the right; flip when written the
    // other way round.
    let (subject, value, op) = match (subject_of(l?), constant(r?)) {
        (Some(s), Some(v)) => (s, v, op),
        _ => (subject_of(r?)?, constant(l?)?, flip(op)?),
    };
    let mut b = Bounds::default();
    match subject {
        Subject::Column(col) => {
            match op {
                "=" => b.one_of = Some(vec![value]),
                "<>" | "!=" => b.excluded.push(value),
                ">" => b.min = Some((number(&value)?, true)),
                ">=" => b.min = Some((number(&value)?, false)),
                "<" => b.max = Some((number(&value)?, true)),
                "<=" => b.max = Some((number(&value)?, false)),
                _ => return None,
            }
            Some((col, b))
        }
        Subject::Length(col) => {
            let n = number(&value)?;
            if !(0.0..=1e9).contains(&n) {
                return None;
            }
            let (floor, ceil) = (n.floor() as usize, n.ceil() as usize);
            match op {
                "=" => {
                    b.min_len = Some(ceil);
                    b.max_len = Some(floor);
                }
                ">" => b.min_len = Some(floor + 1),
                ">=" => b.min_len = Some(ceil),
                "<" => b.max_len = Some(ceil.checked_sub(1)?),
                "<=" => b.max_len = Some(floor),
                _ => return None,
            }
            Some((col, b))
        }
    }
}

fn one_of(list: Vec<String>) -> Bounds {
    Bounds {
        one_of: Some(list),
        ..Bounds::default()
    }
}

fn flip(op: &str) -> Option<&'static str> {
    Some(match op {
        "=" => "=",
        "<>" => "<>",
        "!=" => "!=",
        "<" => ">",
        "<=" => ">=",
        ">" => "<",
        ">=" => "<=",
        _ => return None,
    })
}

enum Subject {
    Column(String),
    Length(String),
}

/// A column, or `length(col)` / `char_length(col)` (of the column, trimmed or cast).
fn subject_of(n: &Node) -> Option<Subject> {
    if let Some(c) = column_of(n) {
        return Some(Subject::Column(c));
    }
    let NodeEnum::FuncCall(f) = node(n)? else {
        return None;
    };
    let name = match node(f.funcname.last()?)? {
        NodeEnum::String(s) => s.sval.as_str(),
        _ => return None,
    };
    if !matches!(name, "length" | "char_length" | "character_length") || f.args.len() != 1 {
        return None;
    }
    let arg = &f.args[0];
    if let Some(c) = column_of(arg) {
        return Some(Subject::Length(c));
    }
    // length(btrim(col)) and length(trim(col)): the generated text has no outer spaces.
    if let Some(NodeEnum::FuncCall(inner)) = node(arg) {
        let inner_name = match inner.funcname.last().and_then(node) {
            Some(NodeEnum::String(s)) => s.sval.as_str(),
            _ => return None,
        };
        if matches!(inner_name, "btrim" | "trim") && inner.args.len() == 1 {
            return column_of(&inner.args[0]).map(Subject::Length);
        }
    }
    None
}

/// A bare column name, possibly cast (`(status)::text`).
fn column_of(n: &Node) -> Option<String> {
    match node(n)? {
        NodeEnum::ColumnRef(c) => match c.fields.as_slice() {
            [one] => match node(one)? {
                NodeEnum::String(s) => Some(s.sval.clone()),
                _ => None,
            },
            _ => None,
        },
        NodeEnum::TypeCast(t) => column_of(t.arg.as_deref()?),
        _ => None,
    }
}

/// A constant's text: `'x'`, `12`, `1.5`, `true`, possibly cast, possibly negated.
fn constant(n: &Node) -> Option<String> {
    match node(n)? {
        NodeEnum::AConst(c) => match c.val.as_ref()? {
            a_const::Val::Ival(i) => Some(i.ival.to_string()),
            a_const::Val::Fval(f) => Some(f.fval.clone()),
            a_const::Val::Sval(s) => Some(s.sval.clone()),
            a_const::Val::Boolval(b) => Some(b.boolval.to_string()),
            a_const::Val::Bsval(_) => None,
        },
        NodeEnum::TypeCast(t) => constant(t.arg.as_deref()?),
        NodeEnum::AExpr(e)
            if e.kind == AExprKind::AexprOp as i32
                && e.lexpr.is_none()
                && matches!(e.name.first().and_then(node), Some(NodeEnum::String(s)) if s.sval == "-") =>
        {
            let inner = constant(e.rexpr.as_deref()?)?;
            number(&inner)?;
            Some(match inner.strip_prefix('-') {
                Some(positive) => positive.to_owned(),
                None => format!("-{inner}"),
            })
        }
        _ => None,
    }
}

/// The constants of `ARRAY[…]` (possibly cast).
fn array_constants(n: &Node) -> Option<Vec<String>> {
    match node(n)? {
        NodeEnum::AArrayExpr(a) => a.elements.iter().map(constant).collect(),
        NodeEnum::TypeCast(t) => array_constants(t.arg.as_deref()?),
        _ => None,
    }
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn one(expr: &str, col: &str) -> Bounds {
        read(expr).remove(col).unwrap_or_default()
    }

    #[test]
    fn comparisons_as_the_catalog_prints_them() {
        let b = one("(price >= (0)::numeric)", "price");
        assert_eq!(b.min, Some((0.0, false)));
        let b = one("((age >= 18) AND (age <= 120))", "age");
        assert_eq!((b.min, b.max), (Some((18.0, false)), Some((120.0, false))));
        let b = one("(score > '-5'::integer)", "score");
        assert_eq!(b.min, Some((-5.0, true)));
        let b = one("(10 > qty)", "qty");
        assert_eq!(b.max, Some((10.0, true)));
        let b = one("(qty > (- 3))", "qty");
        assert_eq!(b.min, Some((-3.0, true)));
    }

    #[test]
    fn lists_between_and_lengths() {
        let b = one(
            "((status)::text = ANY ((ARRAY['draft'::character varying, 'live'::character varying])::text[]))",
            "status",
        );
        assert_eq!(b.one_of, Some(vec!["draft".to_owned(), "live".to_owned()]));
        let b = one("kind IN ('a', 'b')", "kind");
        assert_eq!(b.one_of, Some(vec!["a".to_owned(), "b".to_owned()]));
        let b = one("qty BETWEEN 1 AND 10", "qty");
        assert_eq!((b.min, b.max), (Some((1.0, false)), Some((10.0, false))));
        let b = one(
            "(length((name)::text) >= 3) AND char_length(name) < 20",
            "name",
        );
        assert_eq!((b.min_len, b.max_len), (Some(3), Some(19)));
        let b = one("length(btrim(code)) = 4", "code");
        assert_eq!((b.min_len, b.max_len), (Some(4), Some(4)));
        let b = one("(name <> ''::text)", "name");
        assert_eq!(b.excluded, vec![String::new()]);
    }

    #[test]
    fn disjunctions_of_lists_and_nulls() {
        let b = one("kind = 'a' OR kind = 'b' OR kind IS NULL", "kind");
        assert_eq!(b.one_of, Some(vec!["a".to_owned(), "b".to_owned()]));
        let b = one("(n IS NULL) OR (n > 0)", "n");
        assert_eq!(b.min, Some((0.0, true)));
        // Two columns, or a range in a disjunction: nothing is claimed.
        assert!(read("a > 0 OR b > 0").is_empty());
        assert!(read("a > 0 OR a < -10").is_empty());
    }

    #[test]
    fn json_keys() {
        let b = one(
            "((preferences ? 'theme'::text) AND (preferences ? 'notifications'::text))",
            "preferences",
        );
        assert_eq!(
            b.json_keys,
            vec!["theme".to_owned(), "notifications".to_owned()]
        );
        let b = one("data ?& ARRAY['a', 'b']", "data");
        assert_eq!(b.json_keys, vec!["a".to_owned(), "b".to_owned()]);
    }

    #[test]
    fn what_is_not_understood_says_nothing() {
        assert!(read("start_at < end_at").is_empty());
        assert!(read("email ~ '^[^@]+@'").is_empty());
        assert!(read("not valid sql (((").is_empty());
        assert!(read("NOT (a > 1)").is_empty());
    }

    #[test]
    fn constant_defaults() {
        assert_eq!(
            constant_expression("'draft'::post_status").as_deref(),
            Some("draft")
        );
        assert_eq!(constant_expression("0").as_deref(), Some("0"));
        assert_eq!(constant_expression("'-1'::integer").as_deref(), Some("-1"));
        assert_eq!(constant_expression("true").as_deref(), Some("true"));
        assert_eq!(constant_expression("'{}'::jsonb").as_deref(), Some("{}"));
        assert_eq!(constant_expression("now()"), None);
        assert_eq!(constant_expression("nextval('s'::regclass)"), None);
        assert_eq!(constant_expression("1 + 1"), None);
        assert_eq!(constant_expression("1; DROP TABLE x"), None);
    }

    #[test]
    fn conjunctions_intersect() {
        let b = one("a > 0 AND a >= 5 AND a < 100 AND a <= 50", "a");
        assert_eq!((b.min, b.max), (Some((5.0, false)), Some((50.0, false))));
        let b = one("k IN ('x', 'y', 'z') AND k IN ('y', 'z', 'w')", "k");
        assert_eq!(b.one_of, Some(vec!["y".to_owned(), "z".to_owned()]));
    }
}
