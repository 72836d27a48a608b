//! PostgreSQL checks on a checked schema: problems the server would reject or that would
//! surprise, in a file the reference DBML implementation accepts. They are warnings here
//! (`schema check`); `schema import` treats them as errors. Nothing here changes the schema.
//! One check is an error everywhere: a backtick expression that is not exactly one SQL
//! expression ([`crate::sql::expr::one_expression`], PostgreSQL's own parser), because nself
//! embeds that text in statements it sends to the server.

use super::codes;
use super::model::*;
use super::pgtypes::{self, TypeCategory, TypeError};
use crate::diag::{Diagnostic, Span};
use crate::sql::MAX_IDENT_BYTES;
use rustc_hash::FxHashMap;

/// What a column's type is to PostgreSQL.
pub enum Resolved<'a> {
    Builtin(pgtypes::Builtin),
    Enum(&'a EnumType),
    /// Not a built-in and no enum of that name: the reason is kept for the diagnostic.
    Unknown(TypeError),
}

/// The schema's tables and enums by name, built once so that every lookup is constant time.
pub struct Index<'a> {
    tables: FxHashMap<(&'a str, &'a str), &'a Table>,
    enums: FxHashMap<(&'a str, &'a str), &'a EnumType>,
    /// Built-in lookups by the type as written: schemas repeat a handful of types thousands of
    /// times, and a lookup normalises and allocates.
    builtins: std::cell::RefCell<FxHashMap<TypeRef, Result<pgtypes::Builtin, TypeError>>>,
}

impl<'a> Index<'a> {
    pub fn new(schema: &'a Schema) -> Index<'a> {
        Index {
            tables: schema
                .tables
                .iter()
                .map(|t| ((t.name.schema.as_str(), t.name.name.as_str()), t))
                .collect(),
            enums: schema
                .enums
                .iter()
                .map(|e| ((e.name.schema.as_str(), e.name.name.as_str()), e))
                .collect(),
            builtins: std::cell::RefCell::default(),
        }
    }
    pub fn table(&self, name: &QualifiedName) -> Option<&'a Table> {
        self.tables
            .get(&(name.schema.as_str(), name.name.as_str()))
            .copied()
    }
    pub fn enum_(&self, schema: &str, name: &str) -> Option<&'a EnumType> {
        self.enums.get(&(schema, name)).copied()
    }
}

/// Resolves a DBML column type against PostgreSQL's built-ins and the schema's enums.
pub fn resolve_type<'a>(index: &Index<'a>, table: &QualifiedName, ty: &TypeRef) -> Resolved<'a> {
    let find_enum = |s: &str| index.enum_(s, &ty.name);
    if let Some(s) = &ty.schema {
        if let Some(e) = find_enum(s) {
            return Resolved::Enum(e);
        }
    } else if let Some(e) = find_enum(&table.schema).or_else(|| find_enum(DEFAULT_SCHEMA)) {
        return Resolved::Enum(e);
    }
    if ty
        .schema
        .as_deref()
        .is_some_and(|s| !s.eq_ignore_ascii_case("pg_catalog"))
    {
        return Resolved::Unknown(TypeError::Unknown {
            name: ty.to_string(),
        });
    }
    let cached = index.builtins.borrow().get(ty).cloned();
    let result = cached.unwrap_or_else(|| {
        let args: Vec<&str> = ty.args.iter().map(String::as_str).collect();
        let r = pgtypes::lookup(&ty.name, &args, ty.array_dims);
        index.builtins.borrow_mut().insert(ty.clone(), r.clone());
        r
    });
    match result {
        Ok(b) => Resolved::Builtin(b),
        Err(e) => Resolved::Unknown(e),
    }
}

/// Common spellings from other databases, with what PostgreSQL calls them.
fn suggestion(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "datetime" | "datetime2" | "smalldatetime" => "timestamp",
        "datetimeoffset" => "timestamptz",
        "string" | "longtext" | "mediumtext" | "tinytext" | "clob" | "ntext" => "text",
        "nvarchar" | "nvarchar2" | "varchar2" => "varchar",
        "nchar" => "char",
        "number" => "numeric",
        "tinyint" | "mediumint" => "smallint",
        "double" => "double precision",
        "blob" | "longblob" | "binary" | "varbinary" | "image" | "raw" => "bytea",
        "bit" => "boolean",
        "uniqueidentifier" => "uuid",
        "int unsigned" | "unsigned" => "bigint",
        _ => return None,
    })
}

fn span_of(o: Origin) -> Span {
    o.span().unwrap_or_default()
}

fn long_name(diags: &mut crate::diag::Diagnostics, what: &str, name: &str, span: Span) {
    if name.len() > MAX_IDENT_BYTES {
        diags.push(
            Diagnostic::warning(
                codes::PG_NAME_TOO_LONG,
                format!(
                    "{what} name is {} bytes; PostgreSQL keeps only the first {MAX_IDENT_BYTES}",
                    name.len()
                ),
                span,
            )
            .with_label("too long for PostgreSQL")
            .with_help(format!(
                "PostgreSQL would store it as `{}`; choose a shorter name",
                crate::sql::truncate_identifier(name)
            )),
        );
    }
}

/// Runs every PostgreSQL check and appends warnings.
pub fn check(schema: &Schema, diags: &mut crate::diag::Diagnostics) {
    let index = Index::new(schema);
    // A project that names another database still becomes PostgreSQL DDL in nself (import
    // targets PostgreSQL whatever it says): its types are checked, and the message says why.
    let other_database = schema
        .project
        .as_ref()
        .and_then(|p| p.database_type.as_deref())
        .filter(|t| {
            !(t.trim().eq_ignore_ascii_case("postgresql")
                || t.trim().eq_ignore_ascii_case("postgres"))
        });

    for e in &schema.enums {
        long_name(diags, "enum", &e.name.name, span_of(e.origin));
        long_name(diags, "schema", &e.name.schema, span_of(e.origin));
        for v in &e.values {
            long_name(diags, "enum value", &v.name, span_of(v.origin));
        }
    }
    for t in &schema.tables {
        check_expressions(t, diags);
        let tspan = span_of(t.origin);
        long_name(diags, "table", &t.name.name, tspan);
        long_name(diags, "schema", &t.name.schema, tspan);
        let mut pk_defs: Vec<Span> = Vec::new();
        if let Some(c) = t.columns.iter().find(|c| c.primary_key) {
            pk_defs.push(span_of(c.origin));
        }
        for i in &t.indexes {
            if let Some(n) = &i.name {
                long_name(diags, "index", n, span_of(i.origin));
            }
            if i.primary_key {
                pk_defs.push(span_of(i.origin));
            }
        }
        if pk_defs.len() > 1 {
            let mut d = Diagnostic::warning(
                codes::PG_TWO_PRIMARY_KEYS,
                format!("table `{}` declares its primary key more than once", t.name),
                pk_defs[1],
            )
            .with_label("a second primary key")
            .with_secondary(pk_defs[0], "first primary key")
            .with_help(
                "PostgreSQL allows one primary key per table: keep one, make the other `unique`",
            );
            for s in &pk_defs[2..] {
                d = d.with_secondary(*s, "another primary key");
            }
            diags.push(d);
        }
        for c in &t.columns {
            let cspan = span_of(c.origin);
            // Each warning underlines what is wrong: the type, the `increment`, the default.
            let tyspan = c.type_origin.span().unwrap_or(cspan);
            long_name(diags, "column", &c.name, cspan);
            let resolved = resolve_type(&index, &t.name, &c.ty);
            match &resolved {
                Resolved::Unknown(TypeError::Unknown { .. }) => {
                    let because = other_database.map_or(String::new(), |db| {
                        format!(
                            " (the project's database_type is '{db}', but nself's migrations are PostgreSQL)"
                        )
                    });
                    let mut d = Diagnostic::warning(
                        codes::PG_UNKNOWN_TYPE,
                        format!("PostgreSQL has no type `{}`{because}", c.ty),
                        tyspan,
                    )
                    .with_label(format!("column `{}` has an unknown type", c.name));
                    d = match suggestion(&c.ty.name) {
                        Some(s) => {
                            let mut d = d.with_help(format!("the PostgreSQL type is `{s}`"));
                            // A bare name can be replaced whole (an editor's quick fix); with
                            // modifiers or brackets the help line says what to write.
                            if c.ty.args.is_empty() && c.ty.array_dims == 0 && c.ty.schema.is_none()
                            {
                                d.suggestion = Some(crate::diag::Suggestion {
                                    span: tyspan,
                                    replacement: s.to_string(),
                                });
                            }
                            d
                        }
                        None => match c.ty.schema.is_none().then(|| {
                            crate::diag::closest(
                                &c.ty.name,
                                schema.enums.iter().map(|e| e.name.name.as_str()),
                            )
                        }) {
                            Some(Some(e)) => d.with_help(format!(
                                "did you mean enum `{e}`? Otherwise declare an `Enum` of that name, or use a PostgreSQL type"
                            )),
                            _ => d.with_help(
                                "declare an `Enum` of that name, or use a PostgreSQL type",
                            ),
                        },
                    };
                    diags.push(d);
                }
                Resolved::Unknown(TypeError::BadModifier { message, .. }) => diags.push(
                    Diagnostic::warning(
                        codes::PG_BAD_MODIFIER,
                        format!("type `{}` is invalid in PostgreSQL: {message}", c.ty),
                        tyspan,
                    )
                    .with_label(format!("column `{}`", c.name)),
                ),
                Resolved::Builtin(b) if c.increment && b.category != TypeCategory::Integer => diags
                    .push(
                        Diagnostic::warning(
                            codes::PG_INCREMENT_TYPE,
                            format!(
                                "`increment` needs an integer column, but `{}` is `{}`",
                                c.name, b.ty
                            ),
                            c.increment_origin.span().unwrap_or(cspan),
                        )
                        .with_secondary(tyspan, "not an integer type")
                        .with_help("use `int`, `bigint` or `smallint`, or drop `increment`"),
                    ),
                Resolved::Enum(_) if c.increment => diags.push(
                    Diagnostic::warning(
                        codes::PG_INCREMENT_TYPE,
                        format!(
                            "`increment` needs an integer column, but `{}` is an enum",
                            c.name
                        ),
                        c.increment_origin.span().unwrap_or(cspan),
                    )
                    .with_secondary(tyspan, "an enum"),
                ),
                _ => {}
            }
            if let Some(d) = &c.default {
                let dspan = c.default_origin.span().unwrap_or(cspan);
                if c.ty.array_dims > 0 {
                    check_array_default(diags, &c.name, dspan, d, &resolved);
                } else {
                    check_default(diags, &c.name, dspan, d, &resolved);
                }
            }
        }
    }
    for r in &schema.refs {
        check_ref(&index, r, diags);
    }
    check_required_cycles(schema, &index, diags);
}

/// Every backtick expression of `t` must be exactly one SQL expression: defaults, column and
/// table checks, index expressions. Only backtick text is parsed, so the cost follows the
/// number of expressions, not of tables.
fn check_expressions(t: &Table, diags: &mut crate::diag::Diagnostics) {
    let mut one = |what: &str, text: &str, origin: Origin, fallback: Origin| {
        if let Err(not) = crate::sql::expr::one_expression(text) {
            let span = origin.span().or(fallback.span()).unwrap_or_default();
            let message = format!(
                "the {what} of `{}` is not one SQL expression: it {}",
                t.name, not.why
            );
            // Text that could reach past its place is an error; text that is merely not
            // PostgreSQL (another dialect's expression, which the reference accepts) is a
            // PostgreSQL warning, and every command that talks to PostgreSQL stops on it
            // (`diff::source::blocking`) before connecting.
            let d = if not.escapes {
                Diagnostic::error(codes::PG_NOT_ONE_EXPRESSION, message, span)
            } else {
                Diagnostic::warning(codes::PG_NOT_AN_EXPRESSION, message, span)
            };
            diags.push(
                d.with_label("must be exactly one SQL expression")
                    .with_help(
                        "nself sends this text to PostgreSQL inside parentheses; write a single \
                     expression, without `;`, `--` comments or unbalanced brackets",
                    ),
            );
        }
    };
    for c in &t.columns {
        if let Some(DefaultValue::Expression(e)) = &c.default {
            one(
                &format!("default of column `{}`", c.name),
                e,
                c.default_origin,
                c.origin,
            );
        }
        for k in &c.checks {
            one(
                &format!("check of column `{}`", c.name),
                &k.expression,
                k.origin,
                c.origin,
            );
        }
    }
    for k in &t.checks {
        one("check", &k.expression, k.origin, t.origin);
    }
    for i in &t.indexes {
        let exprs = i.parts.iter().filter_map(|p| match p {
            IndexPart::Expression(e) => Some(e),
            IndexPart::Column(_) => None,
        });
        for (n, e) in exprs.enumerate() {
            let origin = i.expression_origins.get(n).copied().unwrap_or(i.origin);
            one("index expression", e, origin, i.origin);
        }
    }
    for c in &t.columns {
        let Some(DefaultValue::Expression(e)) = &c.default else {
            continue;
        };
        if let Some(name) = column_reference(e) {
            let span = c
                .default_origin
                .span()
                .or(c.origin.span())
                .unwrap_or_default();
            let help = if name.contains('.') {
                "a default cannot read other columns; compute it in the application or a trigger"
                    .to_owned()
            } else {
                format!(
                        "`{name}` reads as a column here: a function call needs parentheses (`{name}()`), a text value quotes ('{name}')"
                    )
            };
            diags.push(
                Diagnostic::warning(
                    codes::PG_DEFAULT_COLUMN_REF,
                    format!(
                        "the default of column `{}` of `{}` refers to a column (`{name}`): \
                             PostgreSQL does not allow column references in a DEFAULT",
                        c.name, t.name
                    ),
                    span,
                )
                .with_label("a column reference")
                .with_help(help),
            );
        }
    }
}

/// The first column reference in an expression (`now`, `t.x`), by PostgreSQL's parser; `None`
/// when there is none or the text does not parse (reported elsewhere).
fn column_reference(expression: &str) -> Option<String> {
    crate::sql::expr::one_expression(expression).ok()?;
    let parsed = pg_query::parse(&format!("SELECT ({expression}\n)"), 0).ok()?;
    parsed
        .protobuf
        .nodes()
        .into_iter()
        .find_map(|(n, _, _, _)| match n {
            pg_query::NodeRef::ColumnRef(c) => {
                let parts: Vec<String> = c
                    .fields
                    .iter()
                    .filter_map(|f| match f.node.as_ref() {
                        Some(pg_query::NodeEnum::String(s)) => Some(s.sval.clone()),
                        Some(pg_query::NodeEnum::AStar(_)) => Some("*".to_owned()),
                        _ => None,
                    })
                    .collect();
                Some(parts.join("."))
            }
            _ => None,
        })
}

/// Whether `cols` are the primary key or a unique key of `t` (a column's `pk`/`unique`, the
/// columns marked `pk` together, or a `pk`/`unique` index on exactly those columns).
fn is_key(t: &Table, cols: &[String]) -> bool {
    let mut want: Vec<&str> = cols.iter().map(String::as_str).collect();
    want.sort_unstable();
    want.dedup();
    let same = |mut have: Vec<&str>| {
        have.sort_unstable();
        have.dedup();
        have == want
    };
    if let [one] = want.as_slice() {
        if t.column(one).is_some_and(|c| c.primary_key || c.unique) {
            return true;
        }
    }
    let pk: Vec<&str> = t
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| c.name.as_str())
        .collect();
    if !pk.is_empty() && same(pk) {
        return true;
    }
    t.indexes.iter().any(|i| {
        (i.unique || i.primary_key)
            && i.parts
                .iter()
                .map(|p| match p {
                    IndexPart::Column(c) => Some(c.as_str()),
                    IndexPart::Expression(_) => None,
                })
                .collect::<Option<Vec<&str>>>()
                .is_some_and(&same)
    })
}

/// Tables that reference each other in a cycle through NOT NULL foreign keys can never get
/// their first row (each insert needs a row of the next table first), unless the constraints
/// are deferred, which DBML cannot say.
fn check_required_cycles(schema: &Schema, index: &Index<'_>, diags: &mut crate::diag::Diagnostics) {
    let mut g = super::check::graph(schema);
    g.retain_edges(|g, e| {
        let Some(r) = g.edge_weight(e).and_then(|&i| schema.refs.get(i)) else {
            return false;
        };
        let Some((from, _)) = r.fk_sides() else {
            return false;
        };
        let Some(t) = index.table(&from.table) else {
            return false;
        };
        from.columns.iter().all(|c| {
            t.column(c)
                .is_some_and(|c| c.primary_key || c.nullable == Some(false))
        })
    });
    for scc in petgraph::algo::tarjan_scc(&g) {
        if scc.len() < 2 {
            continue;
        }
        let members: rustc_hash::FxHashSet<_> = scc.iter().copied().collect();
        let mut refs: Vec<usize> = g
            .edge_indices()
            .filter(|&e| {
                g.edge_endpoints(e)
                    .is_some_and(|(a, b)| members.contains(&a) && members.contains(&b))
            })
            .filter_map(|e| g.edge_weight(e).copied())
            .collect();
        refs.sort_unstable();
        let mut names: Vec<String> = scc
            .iter()
            .filter_map(|&n| g.node_weight(n))
            .filter_map(|&i| schema.tables.get(i))
            .map(|t| format!("`{}`", t.name))
            .collect();
        names.sort();
        let Some((&first, rest)) = refs.split_first() else {
            continue;
        };
        let mut d = Diagnostic::warning(
            codes::PG_REQUIRED_CYCLE,
            format!(
                "{} reference each other through NOT NULL foreign keys: none of them can get a first row",
                names.join(", ")
            ),
            span_of(schema.refs[first].origin),
        )
        .with_help("make one of these columns nullable, so that a row can be inserted before the row it points to");
        for &i in rest {
            d = d.with_secondary(span_of(schema.refs[i].origin), "part of the cycle");
        }
        diags.push(d);
    }
}

fn default_problem(diags: &mut crate::diag::Diagnostics, col: &str, span: Span, problem: &str) {
    diags.push(
        Diagnostic::warning(
            codes::PG_DEFAULT_TYPE,
            format!("the default of `{col}` does not fit its type: {problem}"),
            span,
        )
        .with_help("PostgreSQL would reject this default when the table is created"),
    );
}

/// The default of an array column: a string must be an array literal (`'{a,b}'`), and the
/// unquoted elements of an enum array must be values of the enum. Elements of other types are
/// left to the server: their literal forms are many.
fn check_array_default(
    diags: &mut crate::diag::Diagnostics,
    col: &str,
    span: Span,
    d: &DefaultValue,
    ty: &Resolved<'_>,
) {
    let problem: Option<String> = match d {
        DefaultValue::Null | DefaultValue::Expression(_) => None,
        DefaultValue::Number(n) => Some(format!("`{n}` is not an array")),
        DefaultValue::Bool(b) => Some(format!("`{b}` is not an array")),
        DefaultValue::EnumMember { path } => Some(format!("`{}` is not an array", path.join("."))),
        DefaultValue::String(s) => {
            let t = s.trim();
            match t.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                None => Some(format!(
                    "'{s}' is not an array literal (write it as '{{{s}}}')"
                )),
                Some(inner) => match ty {
                    Resolved::Enum(e) if !inner.contains(['"', '{', '\\']) => inner
                        .split(',')
                        .map(str::trim)
                        .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("null"))
                        .find(|v| !e.values.iter().any(|x| x.name == *v))
                        .map(|v| format!("'{v}' is not a value of enum `{}`", e.name)),
                    _ => None,
                },
            }
        }
    };
    if let Some(p) = problem {
        default_problem(diags, col, span, &p);
    }
}

fn check_default(
    diags: &mut crate::diag::Diagnostics,
    col: &str,
    span: Span,
    d: &DefaultValue,
    ty: &Resolved<'_>,
) {
    let problem: Option<String> = match (d, ty) {
        (DefaultValue::Null | DefaultValue::Expression(_), _) => None,
        (_, Resolved::Unknown(_)) => None,
        (DefaultValue::Number(n), Resolved::Builtin(b)) => match b.category {
            TypeCategory::Integer if n.contains(['.', 'e', 'E']) => {
                Some(format!("`{n}` is not an integer"))
            }
            TypeCategory::Integer | TypeCategory::Numeric | TypeCategory::Money => None,
            _ => Some(format!("a number does not fit a `{}` column", b.ty)),
        },
        (DefaultValue::Number(_), Resolved::Enum(e)) => {
            Some(format!("a number does not fit enum `{}`", e.name))
        }
        (DefaultValue::Bool(_), Resolved::Builtin(b)) if b.category != TypeCategory::Boolean => {
            Some(format!("a boolean does not fit a `{}` column", b.ty))
        }
        (DefaultValue::Bool(_), Resolved::Enum(e)) => {
            Some(format!("a boolean does not fit enum `{}`", e.name))
        }
        (DefaultValue::Bool(_), _) => None,
        (DefaultValue::String(s), Resolved::Builtin(b)) => match b.category {
            TypeCategory::Integer if s.trim().parse::<i64>().is_err() => {
                Some(format!("'{s}' is not an integer"))
            }
            TypeCategory::Numeric if s.trim().parse::<f64>().is_err() => {
                Some(format!("'{s}' is not a number"))
            }
            TypeCategory::Boolean if crate::sql::parse_bool(s).is_none() => {
                Some(format!("'{s}' is not a boolean"))
            }
            _ => None,
        },
        (DefaultValue::String(s), Resolved::Enum(e)) if !e.values.iter().any(|v| v.name == *s) => {
            Some(format!("'{s}' is not a value of enum `{}`", e.name))
        }
        (DefaultValue::String(_), _) => None,
        (DefaultValue::EnumMember { path }, Resolved::Enum(e)) => {
            let named = match path.as_slice() {
                [en, _] => e.name.name == *en,
                [s, en, _] => e.name.schema == *s && e.name.name == *en,
                _ => true,
            };
            (!named).then(|| format!("the default is a value of another enum than `{}`", e.name))
        }
        (DefaultValue::EnumMember { .. }, Resolved::Builtin(b)) => {
            Some(format!("an enum value does not fit a `{}` column", b.ty))
        }
    };
    if let Some(p) = problem {
        default_problem(diags, col, span, &p);
    }
}

fn check_ref(index: &Index<'_>, r: &Ref, diags: &mut crate::diag::Diagnostics) {
    let span = span_of(r.origin);
    // The referenced columns must be a key: of the `1` end, or of both ends of a many-to-many
    // (the junction table references both).
    let referenced: Vec<&RefEnd> = match r.fk_sides() {
        Some((_, to)) => vec![to],
        None => vec![&r.left, &r.right],
    };
    for end in referenced {
        let Some(t) = index.table(&end.table) else {
            continue;
        };
        if end.columns.iter().all(|c| t.column(c).is_some()) && !is_key(t, &end.columns) {
            let cols = end.columns.join(", ");
            let help = if end.columns.len() == 1 {
                format!(
                    "mark `{}.{cols}` `[unique]` or `[pk]`, or reference the table's primary key",
                    t.name
                )
            } else {
                format!(
                    "add `({cols}) [unique]` to the indexes of `{}`, or reference its primary key",
                    t.name
                )
            };
            diags.push(
                Diagnostic::warning(
                    codes::PG_REF_NOT_UNIQUE,
                    format!(
                        "`{}` ({cols}) is not a primary key or unique key of its table: \
                         PostgreSQL refuses a foreign key to it",
                        t.name
                    ),
                    span,
                )
                .with_help(help),
            );
        }
    }
    let Some((from, to)) = r.fk_sides() else {
        return;
    };
    let (Some(ft), Some(tt)) = (index.table(&from.table), index.table(&to.table)) else {
        return;
    };
    for (fc, tc) in from.columns.iter().zip(&to.columns) {
        let (Some(fcol), Some(tcol)) = (ft.column(fc), tt.column(tc)) else {
            continue;
        };
        let compatible = match (
            resolve_type(index, &ft.name, &fcol.ty),
            resolve_type(index, &tt.name, &tcol.ty),
        ) {
            (Resolved::Builtin(a), Resolved::Builtin(b)) => {
                pgtypes::compatible_for_fk(&a.ty, &b.ty)
            }
            (Resolved::Enum(a), Resolved::Enum(b)) => a.name == b.name,
            (Resolved::Unknown(_), _) | (_, Resolved::Unknown(_)) => true,
            _ => false,
        };
        if !compatible {
            diags.push(
                Diagnostic::warning(
                    codes::PG_REF_TYPE_MISMATCH,
                    format!(
                        "`{}.{fc}` ({}) cannot reference `{}.{tc}` ({}): PostgreSQL needs comparable types",
                        ft.name, fcol.ty, tt.name, tcol.ty
                    ),
                    span,
                )
                .with_help("give both columns the same type"),
            );
        }
        let set_null = [r.on_delete, r.on_update].contains(&Some(RefAction::SetNull));
        if set_null && (fcol.nullable == Some(false) || fcol.primary_key) {
            diags.push(
                Diagnostic::warning(
                    codes::PG_SET_NULL_NOT_NULL,
                    format!("`set null` on `{}.{fc}`, which cannot be null", ft.name),
                    span,
                )
                .with_help("make the column nullable, or use `cascade` or `restrict`"),
            );
        }
    }
}
