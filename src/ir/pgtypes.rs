//! PostgreSQL 15's built-in types, as DBML column types name them.
//!
//! This module owns the mapping from a type as written (`int`, `varchar(255)`,
//! `"timestamp with time zone"`, `float(30)`, `serial`) to its canonical form: the [`PgType`]
//! whose `Display` is exactly what the server's `format_type(atttypid, atttypmod)` prints for a
//! column declared that way. Both sides of the diff compare types in this form, so `int`,
//! `integer` and `int4` are one type. It also owns the facts the checks need about a type: its
//! [`TypeCategory`], whether it is an integer, and which pairs of types a foreign key may join
//! ([`compatible_for_fk`]).
//!
//! Every canonical spelling, modifier rule and foreign-key pair here was checked against a
//! PostgreSQL 15.18 server (see the tests; `live_server_agrees` re-runs the check on the
//! test suite's own cluster). This module never guesses about types it does not know:
//! [`lookup`] reports [`TypeError::Unknown`] and the caller decides whether the name is an
//! enum, an extension's type or a mistake. It never does I/O.

use crate::sql::{is_integer_literal, quote_ident};
use std::fmt;

/// A column type in canonical form.
///
/// Invariant (for values made by [`lookup`], [`parse`] and [`PgType::user`]): `name` is the
/// name `format_type()` prints without modifiers (`character varying`, `integer`,
/// `timestamp with time zone`, `interval day to second`), `modifiers` are the type modifiers as
/// the server stores them (`numeric(10)` is `[10, 0]`, `char` is `[1]`, a clamped
/// `timestamp(7)` is `[6]`), and `array_dims` is 0 or 1: PostgreSQL records but ignores a
/// declared number of dimensions (`format_type` prints `integer[]` for `int[3][4]` and
/// `pg_dump` loses the count), so the canonical form only says whether it is an array.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PgType {
    /// Canonical name without modifiers; for a user-defined type its unquoted name.
    pub name: String,
    /// `Some(schema)` only for user-defined types (enums, extension types); `None` for
    /// built-ins.
    pub schema: Option<String>,
    pub modifiers: Vec<i64>,
    /// 0 for a scalar, 1 for an array (see the invariant above).
    pub array_dims: u32,
}

impl PgType {
    /// A user-defined type such as an enum, named by schema and name.
    pub fn user(schema: impl Into<String>, name: impl Into<String>) -> PgType {
        PgType {
            name: name.into(),
            schema: Some(schema.into()),
            modifiers: Vec::new(),
            array_dims: 0,
        }
    }

    /// The same type as an array (`x[]`).
    pub fn into_array(mut self) -> PgType {
        self.array_dims = 1;
        self
    }

    /// The element type of an array, or the type itself.
    pub fn element(&self) -> PgType {
        PgType {
            array_dims: 0,
            ..self.clone()
        }
    }

    pub fn is_array(&self) -> bool {
        self.array_dims > 0
    }

    /// Whether this is a user-defined type rather than a built-in.
    pub fn is_user_defined(&self) -> bool {
        self.schema.is_some()
    }

    /// The built-in this type is, if it is one (ignores modifiers and arrays).
    fn spec(&self) -> Option<&'static Spec> {
        if self.schema.is_some() {
            return None;
        }
        // `interval year to month` and the like are the `interval` type with a typmod.
        let name = if self.name.starts_with("interval ") {
            "interval"
        } else {
            self.name.as_str()
        };
        SPECS.iter().find(|s| s.name == name)
    }

    /// `pg_type.typname` of the element type: `int4` for `integer`, `bpchar` for `character`,
    /// `timestamptz` for `timestamp with time zone`; a user type's own name.
    pub fn typname(&self) -> &str {
        match self.spec() {
            Some(s) => s.typname,
            None => &self.name,
        }
    }
}

/// Prints what `format_type(oid, typmod)` prints, e.g. `character varying(255)`,
/// `numeric(10,2)`, `timestamp(3) with time zone`, `interval day to second(3)`,
/// `integer[]`. A user-defined type is quoted with [`quote_ident`] and qualified with its
/// schema unless that is `public` (as `format_type` does with the default `search_path`).
impl fmt::Display for PgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            if schema != "public" {
                write!(f, "{}.", quote_ident(schema))?;
            }
            f.write_str(&quote_ident(&self.name))?;
        } else {
            let mods = (!self.modifiers.is_empty()).then(|| {
                let list: Vec<String> = self.modifiers.iter().map(i64::to_string).collect();
                format!("({})", list.join(","))
            });
            // time and timestamp put the precision before "with/without time zone".
            match (mods, self.name.split_once(' ')) {
                (Some(m), Some((head @ ("time" | "timestamp"), rest))) => {
                    write!(f, "{head}{m} {rest}")?
                }
                (Some(m), _) => write!(f, "{}{m}", self.name)?,
                (None, _) => f.write_str(&self.name)?,
            }
        }
        if self.array_dims > 0 {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

/// A coarse classification of types, for the checks (does a default fit, may a column
/// `increment`, may two columns be compared).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypeCategory {
    /// `smallint`, `integer`, `bigint` (and the serial pseudo-types).
    Integer,
    /// Non-integer numbers: `numeric`, `real`, `double precision`.
    Numeric,
    /// `text`, `character varying`, `character`, `bpchar`, `name`.
    String,
    Boolean,
    /// `date`, `time`, `timetz`, `timestamp`, `timestamptz`.
    DateTime,
    /// `interval` (PostgreSQL's "timespan" category).
    Interval,
    Uuid,
    /// `json`, `jsonb`.
    Json,
    /// `bytea`.
    Binary,
    /// `inet`, `cidr`, `macaddr`, `macaddr8`.
    Network,
    Money,
    /// `point`, `line`, `lseg`, `box`, `path`, `polygon`, `circle`.
    Geometric,
    /// `bit`, `bit varying`.
    BitString,
    /// `tsvector`, `tsquery`.
    TextSearch,
    /// Range and multirange types.
    Range,
    /// Any array type, whatever its element.
    Array,
    /// Everything else: `xml`, `jsonpath`, `oid` and the `reg*` types, `pg_lsn`, snapshots,
    /// and user-defined types (enums included: the caller knows which names are enums).
    Other,
}

/// How a built-in takes type modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mods {
    /// None allowed (`type modifier is not allowed for type …`).
    None,
    /// One length from 1 to `max`; `default` applies when none is given.
    Length { max: i64, default: Option<i64> },
    /// `numeric(p)` or `numeric(p, s)`: 1 ≤ p ≤ 1000, -1000 ≤ s ≤ 1000 (PostgreSQL 15).
    Numeric,
    /// Fractional-second precision 0..=6; larger values are reduced to 6 with a warning.
    Precision,
}

/// One built-in type: its canonical name, `pg_type.typname`, category and modifier rule.
struct Spec {
    name: &'static str,
    typname: &'static str,
    category: TypeCategory,
    mods: Mods,
    /// Whether the type has a default btree operator class, i.e. can be a key.
    btree: bool,
}

const fn spec(
    name: &'static str,
    typname: &'static str,
    category: TypeCategory,
    mods: Mods,
    btree: bool,
) -> Spec {
    Spec {
        name,
        typname,
        category,
        mods,
        btree,
    }
}

/// The names a type can be written with that every built-in type answers to: the canonical
/// name and `pg_type.typname` (for completion in an editor).
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    SPECS.iter().flat_map(|s| [s.name, s.typname])
}

/// PostgreSQL's maximum for `varchar(n)`/`char(n)` and for `bit(n)`/`varbit(n)`.
const MAX_CHAR_LEN: i64 = 10_485_760;
const MAX_BIT_LEN: i64 = 83_886_080;

use TypeCategory as C;

/// Every built-in this module knows, by canonical name. `btree: false` were verified on the
/// server: `data type X has no default operator class for access method "btree"`.
static SPECS: &[Spec] = &[
    spec("smallint", "int2", C::Integer, Mods::None, true),
    spec("integer", "int4", C::Integer, Mods::None, true),
    spec("bigint", "int8", C::Integer, Mods::None, true),
    spec("real", "float4", C::Numeric, Mods::None, true),
    spec("double precision", "float8", C::Numeric, Mods::None, true),
    spec("numeric", "numeric", C::Numeric, Mods::Numeric, true),
    spec("boolean", "bool", C::Boolean, Mods::None, true),
    spec(
        "character varying",
        "varchar",
        C::String,
        Mods::Length {
            max: MAX_CHAR_LEN,
            default: None,
        },
        true,
    ),
    spec(
        "character",
        "bpchar",
        C::String,
        Mods::Length {
            max: MAX_CHAR_LEN,
            default: Some(1),
        },
        true,
    ),
    // `bpchar` without a length is its own spelling: format_type prints `bpchar`.
    spec("bpchar", "bpchar", C::String, Mods::None, true),
    spec("text", "text", C::String, Mods::None, true),
    spec("name", "name", C::String, Mods::None, true),
    spec("bytea", "bytea", C::Binary, Mods::None, true),
    spec("date", "date", C::DateTime, Mods::None, true),
    spec(
        "time without time zone",
        "time",
        C::DateTime,
        Mods::Precision,
        true,
    ),
    spec(
        "time with time zone",
        "timetz",
        C::DateTime,
        Mods::Precision,
        true,
    ),
    spec(
        "timestamp without time zone",
        "timestamp",
        C::DateTime,
        Mods::Precision,
        true,
    ),
    spec(
        "timestamp with time zone",
        "timestamptz",
        C::DateTime,
        Mods::Precision,
        true,
    ),
    spec("interval", "interval", C::Interval, Mods::Precision, true),
    spec("uuid", "uuid", C::Uuid, Mods::None, true),
    spec("json", "json", C::Json, Mods::None, false),
    spec("jsonb", "jsonb", C::Json, Mods::None, true),
    spec("jsonpath", "jsonpath", C::Other, Mods::None, false),
    spec("xml", "xml", C::Other, Mods::None, false),
    spec("inet", "inet", C::Network, Mods::None, true),
    spec("cidr", "cidr", C::Network, Mods::None, true),
    spec("macaddr", "macaddr", C::Network, Mods::None, true),
    spec("macaddr8", "macaddr8", C::Network, Mods::None, true),
    spec("money", "money", C::Money, Mods::None, true),
    spec("point", "point", C::Geometric, Mods::None, false),
    spec("line", "line", C::Geometric, Mods::None, false),
    spec("lseg", "lseg", C::Geometric, Mods::None, false),
    spec("box", "box", C::Geometric, Mods::None, false),
    spec("path", "path", C::Geometric, Mods::None, false),
    spec("polygon", "polygon", C::Geometric, Mods::None, false),
    spec("circle", "circle", C::Geometric, Mods::None, false),
    spec(
        "bit",
        "bit",
        C::BitString,
        Mods::Length {
            max: MAX_BIT_LEN,
            default: Some(1),
        },
        true,
    ),
    spec(
        "bit varying",
        "varbit",
        C::BitString,
        Mods::Length {
            max: MAX_BIT_LEN,
            default: None,
        },
        true,
    ),
    spec("tsvector", "tsvector", C::TextSearch, Mods::None, true),
    spec("tsquery", "tsquery", C::TextSearch, Mods::None, true),
    spec("int4range", "int4range", C::Range, Mods::None, true),
    spec("int8range", "int8range", C::Range, Mods::None, true),
    spec("numrange", "numrange", C::Range, Mods::None, true),
    spec("tsrange", "tsrange", C::Range, Mods::None, true),
    spec("tstzrange", "tstzrange", C::Range, Mods::None, true),
    spec("daterange", "daterange", C::Range, Mods::None, true),
    spec(
        "int4multirange",
        "int4multirange",
        C::Range,
        Mods::None,
        true,
    ),
    spec(
        "int8multirange",
        "int8multirange",
        C::Range,
        Mods::None,
        true,
    ),
    spec("nummultirange", "nummultirange", C::Range, Mods::None, true),
    spec("tsmultirange", "tsmultirange", C::Range, Mods::None, true),
    spec(
        "tstzmultirange",
        "tstzmultirange",
        C::Range,
        Mods::None,
        true,
    ),
    spec(
        "datemultirange",
        "datemultirange",
        C::Range,
        Mods::None,
        true,
    ),
    spec("oid", "oid", C::Other, Mods::None, true),
    spec("regclass", "regclass", C::Other, Mods::None, true),
    spec("regtype", "regtype", C::Other, Mods::None, true),
    spec("regproc", "regproc", C::Other, Mods::None, true),
    spec("regprocedure", "regprocedure", C::Other, Mods::None, true),
    spec("regnamespace", "regnamespace", C::Other, Mods::None, true),
    spec("regrole", "regrole", C::Other, Mods::None, true),
    spec("regconfig", "regconfig", C::Other, Mods::None, true),
    spec("pg_lsn", "pg_lsn", C::Other, Mods::None, true),
    spec(
        "txid_snapshot",
        "txid_snapshot",
        C::Other,
        Mods::None,
        false,
    ),
    spec("pg_snapshot", "pg_snapshot", C::Other, Mods::None, false),
    spec("xid8", "xid8", C::Other, Mods::None, true),
    spec("tid", "tid", C::Other, Mods::None, true),
];

/// The interval field qualifiers PostgreSQL's grammar accepts (`interval year to month`…).
/// A precision is allowed only with the ones that end in `second`.
static INTERVAL_FIELDS: &[&str] = &[
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "year to month",
    "day to hour",
    "day to minute",
    "day to second",
    "hour to minute",
    "hour to second",
    "minute to second",
];

/// How a spelling maps to a built-in.
enum Alias {
    /// Plainly this canonical type.
    Is(&'static str),
    /// A serial pseudo-type for this integer type (no modifiers, no arrays).
    Serial(&'static str),
    /// `float` / `float(p)`: `real` for p ≤ 24, `double precision` for 25 ≤ p ≤ 53.
    Float,
    /// `bpchar`: `bpchar` without a length, `character(n)` with one.
    Bpchar,
}

/// Every accepted spelling (lower case, single spaces) and what it means. Canonical names and
/// `pg_type.typname`s map to themselves through [`SPECS`] and are not repeated here.
static ALIASES: &[(&str, Alias)] = &[
    ("int", Alias::Is("integer")),
    ("int2", Alias::Is("smallint")),
    ("int4", Alias::Is("integer")),
    ("int8", Alias::Is("bigint")),
    ("serial", Alias::Serial("integer")),
    ("serial4", Alias::Serial("integer")),
    ("smallserial", Alias::Serial("smallint")),
    ("serial2", Alias::Serial("smallint")),
    ("bigserial", Alias::Serial("bigint")),
    ("serial8", Alias::Serial("bigint")),
    ("float4", Alias::Is("real")),
    ("float8", Alias::Is("double precision")),
    ("float", Alias::Float),
    ("decimal", Alias::Is("numeric")),
    ("dec", Alias::Is("numeric")),
    ("bool", Alias::Is("boolean")),
    ("varchar", Alias::Is("character varying")),
    ("char varying", Alias::Is("character varying")),
    ("national character varying", Alias::Is("character varying")),
    ("national char varying", Alias::Is("character varying")),
    ("nchar varying", Alias::Is("character varying")),
    ("char", Alias::Is("character")),
    ("nchar", Alias::Is("character")),
    ("national character", Alias::Is("character")),
    ("national char", Alias::Is("character")),
    ("bpchar", Alias::Bpchar),
    ("time", Alias::Is("time without time zone")),
    ("timetz", Alias::Is("time with time zone")),
    ("timestamp", Alias::Is("timestamp without time zone")),
    ("timestamptz", Alias::Is("timestamp with time zone")),
    ("varbit", Alias::Is("bit varying")),
];

/// The result of a successful [`lookup`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Builtin {
    /// The canonical type (for a serial, the integer type it stands for).
    pub ty: PgType,
    pub category: TypeCategory,
    /// Whether the spelling was a serial pseudo-type (`serial`, `bigserial`, …): the column
    /// gets a sequence default; the IR records that separately from the type.
    pub serial: bool,
    /// Set when PostgreSQL would accept the type but lower a precision, with a warning
    /// (`TIMESTAMP(7) precision reduced to maximum allowed, 6`). `ty` has the lowered value.
    pub precision_reduced: Option<PrecisionReduced>,
}

/// A precision PostgreSQL lowers to its maximum instead of refusing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrecisionReduced {
    pub requested: i64,
    pub used: i64,
}

/// Why a type could not be resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeError {
    /// Not a built-in type: an enum, an extension's type or a mistake; the caller decides.
    Unknown { name: String },
    /// A built-in whose modifiers or array suffix PostgreSQL would refuse; `message` says why
    /// in the server's terms (for example `length for type varchar must be at least 1`).
    BadModifier { ty: String, message: String },
}

impl fmt::Display for TypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeError::Unknown { name } => write!(f, "type {name} is not a PostgreSQL built-in"),
            TypeError::BadModifier { ty, message } => write!(f, "invalid type {ty}: {message}"),
        }
    }
}

impl std::error::Error for TypeError {}

/// Lower-case ASCII, single spaces, no surrounding blanks, no `pg_catalog.` prefix.
fn normalize(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let joined = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.strip_prefix("pg_catalog.") {
        Some(rest) => rest.trim_start().to_owned(),
        None => joined,
    }
}

/// Resolve a built-in type from its name, its modifiers as written and its number of array
/// dimensions (`varchar(255)[]` is `lookup("varchar", &["255"], 1)`).
///
/// The name is case-insensitive, may contain several words (`"timestamp with time zone"`,
/// `"double precision"`, `"interval day to second"`) and may carry a `pg_catalog.` prefix. The
/// result mirrors what PostgreSQL 15 does with `CREATE TABLE t (c <type>)`: the canonical type
/// it stores, an error where it refuses (`varchar(0)`, `numeric(1001)`, `int4(11)`, `text(5)`,
/// `float(54)`, `serial[]`), and [`Builtin::precision_reduced`] where it lowers a precision
/// with a warning (`timestamp(7)` becomes `timestamp(6) without time zone`). The server
/// reports some of the refusals as syntax errors (`int(11)`, `boolean(1)`); they are
/// [`TypeError::BadModifier`] here all the same.
///
/// A name that carries its own modifiers or brackets (`"timestamp(3) with time zone"`, as a
/// quoted DBML type may) is read with [`parse`] when `args` is empty.
pub fn lookup(name: &str, args: &[&str], array_dims: u32) -> Result<Builtin, TypeError> {
    if args.is_empty() && name.contains(['(', '[']) {
        let dims = if array_dims > 0 { "[]" } else { "" };
        return parse(&format!("{name}{dims}"));
    }
    let norm = normalize(name);
    let mut nums = Vec::with_capacity(args.len());
    for a in args {
        nums.push(parse_modifier(&norm, a)?);
    }
    resolve(&norm, &nums, array_dims)
}

/// Resolve a type written out in full as SQL spells it: `varchar(255)`, `numeric(10, 2)`,
/// `timestamp(3) with time zone`, `interval day to second(3)`, `int[]`, `text[3][4]`. Also
/// parses every string [`PgType`]'s `Display` (that is, `format_type()`) produces for a
/// built-in, so the catalog reader can use it on `format_type` output. Quoted or
/// schema-qualified user type names are not parsed here: they give [`TypeError::Unknown`].
pub fn parse(text: &str) -> Result<Builtin, TypeError> {
    let mut rest = text.trim();
    let mut array_dims = 0u32;
    while let Some(before) = rest.strip_suffix(']') {
        let Some(open) = before.rfind('[') else {
            return Err(bad(text, "unbalanced array brackets"));
        };
        let (head, dim) = before.split_at(open);
        let dim = dim.trim_start_matches('[').trim();
        if !(dim.is_empty() || dim.bytes().all(|b| b.is_ascii_digit())) {
            return Err(bad(text, "array bounds must be integer constants"));
        }
        array_dims = array_dims.saturating_add(1);
        rest = head.trim_end();
    }
    let (name, args) = match rest.find('(') {
        None => (normalize(rest), Vec::new()),
        Some(open) => {
            let close = rest
                .get(open..)
                .and_then(|s| s.find(')'))
                .map(|i| i + open)
                .ok_or_else(|| bad(text, "unbalanced parentheses"))?;
            let head = rest.get(..open).unwrap_or_default();
            let inner = rest.get(open + 1..close).unwrap_or_default();
            let tail = rest.get(close + 1..).unwrap_or_default();
            if tail.contains('(') || tail.contains(')') {
                return Err(bad(text, "more than one modifier list"));
            }
            let head_norm = normalize(head);
            let tail_norm = normalize(tail);
            // Only time/timestamp take the modifier between the words, and they take it
            // nowhere else (`time with time zone(3)` is a syntax error).
            let split_ok = matches!(head_norm.as_str(), "time" | "timestamp");
            if (!tail_norm.is_empty() && !split_ok) || head_norm.ends_with("time zone") {
                return Err(bad(text, "type modifier in the wrong place"));
            }
            if matches!(
                tail_norm.as_str(),
                "" | "with time zone" | "without time zone"
            ) {
                let name = format!("{head_norm} {tail_norm}").trim().to_owned();
                let args: Vec<&str> = if inner.trim().is_empty() {
                    vec![""]
                } else {
                    inner.split(',').collect()
                };
                (name, args.into_iter().map(str::to_owned).collect())
            } else {
                return Err(bad(text, "type modifier in the wrong place"));
            }
        }
    };
    let mut nums = Vec::with_capacity(args.len());
    for a in &args {
        nums.push(parse_modifier(&name, a)?);
    }
    resolve(&name, &nums, array_dims)
}

fn bad(ty: &str, message: impl Into<String>) -> TypeError {
    TypeError::BadModifier {
        ty: ty.trim().to_owned(),
        message: message.into(),
    }
}

/// A modifier must be an integer constant that fits PostgreSQL's `int4`.
fn parse_modifier(ty: &str, arg: &str) -> Result<i64, TypeError> {
    let t = arg.trim();
    if !is_integer_literal(t) {
        return Err(bad(
            ty,
            format!("type modifier {t:?} is not an integer constant"),
        ));
    }
    match t.parse::<i32>() {
        Ok(n) => Ok(i64::from(n)),
        Err(_) => Err(bad(
            ty,
            format!("value \"{t}\" is out of range for type integer"),
        )),
    }
}

/// Resolve a normalized name with numeric modifiers.
fn resolve(norm: &str, args: &[i64], array_dims: u32) -> Result<Builtin, TypeError> {
    let alias = ALIASES.iter().find(|(a, _)| *a == norm).map(|(_, t)| t);
    let (canonical, serial): (&str, bool) = match alias {
        Some(Alias::Is(c)) => (c, false),
        Some(Alias::Serial(c)) => {
            if array_dims > 0 {
                return Err(bad(norm, "array of serial is not implemented"));
            }
            (c, true)
        }
        Some(Alias::Float) => {
            let canonical = match args {
                [] => "double precision",
                [p] if *p < 1 => {
                    return Err(bad(norm, "precision for type float must be at least 1 bit"))
                }
                [p] if *p <= 24 => "real",
                [p] if *p <= 53 => "double precision",
                [_] => {
                    return Err(bad(
                        norm,
                        "precision for type float must be less than 54 bits",
                    ))
                }
                _ => return Err(bad(norm, "float takes at most one precision")),
            };
            return finish(canonical, &[], array_dims, false);
        }
        Some(Alias::Bpchar) => {
            if args.is_empty() {
                ("bpchar", false)
            } else {
                ("character", false)
            }
        }
        None => {
            if let Some(fields) = norm.strip_prefix("interval ") {
                return interval_with_fields(norm, fields, args, array_dims);
            }
            match SPECS.iter().find(|s| s.name == norm || s.typname == norm) {
                Some(s) => (s.name, false),
                None => {
                    return Err(TypeError::Unknown {
                        name: norm.to_owned(),
                    })
                }
            }
        }
    };
    finish(canonical, args, array_dims, serial)
}

/// `interval <fields>` with an optional precision (only after `second`).
fn interval_with_fields(
    norm: &str,
    fields: &str,
    args: &[i64],
    array_dims: u32,
) -> Result<Builtin, TypeError> {
    if !INTERVAL_FIELDS.contains(&fields) {
        return Err(TypeError::Unknown {
            name: norm.to_owned(),
        });
    }
    if !args.is_empty() && !fields.ends_with("second") {
        return Err(bad(
            norm,
            "a precision is allowed only on an interval ending in second",
        ));
    }
    let mut b = finish("interval", args, array_dims, false)?;
    b.ty.name = norm.to_owned();
    Ok(b)
}

/// Check `args` against the canonical type's modifier rule and build the result.
fn finish(
    canonical: &str,
    args: &[i64],
    array_dims: u32,
    serial: bool,
) -> Result<Builtin, TypeError> {
    let Some(spec) = SPECS.iter().find(|s| s.name == canonical) else {
        return Err(TypeError::Unknown {
            name: canonical.to_owned(),
        });
    };
    let mut precision_reduced = None;
    let modifiers = match (spec.mods, args) {
        (_, []) => match spec.mods {
            Mods::Length {
                default: Some(d), ..
            } => vec![d],
            _ => Vec::new(),
        },
        (Mods::None, _) => {
            return Err(bad(
                canonical,
                format!("type modifier is not allowed for type {canonical}"),
            ))
        }
        (Mods::Length { max, .. }, [n]) => {
            // The server's messages name `bpchar` as `char`.
            let short = match spec.typname {
                "bpchar" => "char",
                other => other,
            };
            if *n < 1 {
                return Err(bad(
                    canonical,
                    format!("length for type {short} must be at least 1"),
                ));
            }
            if *n > max {
                return Err(bad(
                    canonical,
                    format!("length for type {short} cannot exceed {max}"),
                ));
            }
            vec![*n]
        }
        (Mods::Numeric, [p, rest @ ..]) if rest.len() <= 1 => {
            if !(1..=1000).contains(p) {
                return Err(bad(
                    canonical,
                    format!("NUMERIC precision {p} must be between 1 and 1000"),
                ));
            }
            let s = rest.first().copied().unwrap_or(0);
            if !(-1000..=1000).contains(&s) {
                return Err(bad(
                    canonical,
                    format!("NUMERIC scale {s} must be between -1000 and 1000"),
                ));
            }
            vec![*p, s]
        }
        (Mods::Precision, [p]) => {
            if *p < 0 {
                return Err(bad(canonical, "precision must not be negative"));
            }
            if *p > 6 {
                precision_reduced = Some(PrecisionReduced {
                    requested: *p,
                    used: 6,
                });
                vec![6]
            } else {
                vec![*p]
            }
        }
        _ => {
            return Err(bad(
                canonical,
                format!("invalid type modifier for type {canonical}"),
            ))
        }
    };
    Ok(Builtin {
        ty: PgType {
            name: canonical.to_owned(),
            schema: None,
            modifiers,
            array_dims: array_dims.min(1),
        },
        category: if array_dims > 0 {
            TypeCategory::Array
        } else {
            spec.category
        },
        serial,
        precision_reduced,
    })
}

/// The category of a canonical type: [`TypeCategory::Array`] for any array,
/// [`TypeCategory::Other`] for user-defined and unknown types.
pub fn category(ty: &PgType) -> TypeCategory {
    if ty.is_array() {
        return TypeCategory::Array;
    }
    ty.spec().map_or(TypeCategory::Other, |s| s.category)
}

/// Whether a column of this type may `increment` (`smallint`, `integer`, `bigint`).
pub fn is_integer(ty: &PgType) -> bool {
    category(ty) == TypeCategory::Integer
}

/// The canonical name a built-in goes by for foreign-key purposes (`interval day` is an
/// `interval`, `bpchar` is a `character`).
fn fk_base(ty: &PgType) -> Option<&str> {
    if ty.schema.is_some() {
        return None;
    }
    if ty.name.starts_with("interval ") {
        return Some("interval");
    }
    if ty.name == "bpchar" {
        return Some("character");
    }
    Some(ty.name.as_str())
}

/// Whether PostgreSQL accepts a foreign key from a `referencing` column to a `referenced`
/// column (it needs an equality operator in the referenced key's btree operator family that
/// takes the referencing type, possibly after an implicit cast).
///
/// The relation is not symmetric: `integer` may reference `numeric` but not the other way
/// round. Modifiers never matter (`varchar(10)` may reference `text`, `numeric` may reference
/// `numeric(10,2)`). Arrays need the same element type. Two user-defined types are compatible
/// only when they are the same type (two enums with the same labels are not). Types without a
/// btree operator class (`json`, `xml`, geometric types, `jsonpath`, snapshots) cannot be keys
/// at all and are never compatible. Every pair here was tried on PostgreSQL 15.18 with
/// `CREATE TABLE f (r <referencing> REFERENCES p(k))` against `p (k <referenced> PRIMARY KEY)`.
pub fn compatible_for_fk(referencing: &PgType, referenced: &PgType) -> bool {
    if referencing.is_array() != referenced.is_array() {
        return false;
    }
    if referencing.is_user_defined() || referenced.is_user_defined() {
        return referencing.schema == referenced.schema && referencing.name == referenced.name;
    }
    if referenced.spec().is_some_and(|s| !s.btree) {
        return false;
    }
    let (Some(from), Some(to)) = (fk_base(referencing), fk_base(referenced)) else {
        return false;
    };
    if from == to {
        return true;
    }
    if referencing.is_array() {
        // Verified: integer[] may not reference bigint[], character varying[] not text[].
        return false;
    }
    const INTS: &[&str] = &["smallint", "integer", "bigint"];
    const DATES: &[&str] = &[
        "date",
        "timestamp without time zone",
        "timestamp with time zone",
    ];
    let accepted: &[&str] = match to {
        "smallint" | "integer" | "bigint" => INTS,
        "numeric" => &["smallint", "integer", "bigint", "numeric"],
        "real" | "double precision" => &[
            "smallint",
            "integer",
            "bigint",
            "numeric",
            "real",
            "double precision",
        ],
        "text" | "character varying" | "name" => {
            &["text", "character varying", "character", "name"]
        }
        "character" => &["text", "character varying", "character"],
        "bit" | "bit varying" => &["bit", "bit varying"],
        "date" | "timestamp without time zone" | "timestamp with time zone" => DATES,
        "time with time zone" => &["time with time zone", "time without time zone"],
        "interval" => &["interval", "time without time zone"],
        "inet" | "cidr" => &["inet", "cidr"],
        "macaddr" | "macaddr8" => &["macaddr", "macaddr8"],
        "oid" => &["oid", "smallint", "integer", "bigint", "regclass"],
        "regclass" => &["oid", "regclass"],
        _ => &[],
    };
    accepted.contains(&from)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn show(name: &str, args: &[&str], dims: u32) -> String {
        match lookup(name, args, dims) {
            Ok(b) => b.ty.to_string(),
            Err(e) => format!("ERR {e}"),
        }
    }

    /// Every spelling with the `format_type(atttypid, atttypmod)` PostgreSQL 15.18 printed for
    /// `CREATE TABLE t (c <spelling>)`. Also run against a live server by
    /// `live_server_agrees`.
    pub(super) const CANONICAL: &[(&str, &str)] = &[
        ("int", "integer"),
        ("int2", "smallint"),
        ("int4", "integer"),
        ("int8", "bigint"),
        ("smallint", "smallint"),
        ("integer", "integer"),
        ("bigint", "bigint"),
        ("serial", "integer"),
        ("serial4", "integer"),
        ("bigserial", "bigint"),
        ("serial8", "bigint"),
        ("smallserial", "smallint"),
        ("serial2", "smallint"),
        ("real", "real"),
        ("float4", "real"),
        ("float8", "double precision"),
        ("float", "double precision"),
        ("float(1)", "real"),
        ("float(24)", "real"),
        ("float(25)", "double precision"),
        ("float(53)", "double precision"),
        ("double precision", "double precision"),
        ("decimal", "numeric"),
        ("numeric", "numeric"),
        ("dec", "numeric"),
        ("numeric(10)", "numeric(10,0)"),
        ("numeric(10,2)", "numeric(10,2)"),
        ("decimal(5,2)", "numeric(5,2)"),
        ("dec(7,3)", "numeric(7,3)"),
        ("numeric(5,6)", "numeric(5,6)"),
        ("numeric(5,-2)", "numeric(5,-2)"),
        ("numeric(1000)", "numeric(1000,0)"),
        ("numeric(5,1000)", "numeric(5,1000)"),
        ("numeric(5,-1000)", "numeric(5,-1000)"),
        ("bool", "boolean"),
        ("boolean", "boolean"),
        ("varchar", "character varying"),
        ("varchar(255)", "character varying(255)"),
        ("varchar(10485760)", "character varying(10485760)"),
        ("character varying", "character varying"),
        ("character varying(10)", "character varying(10)"),
        ("char varying(5)", "character varying(5)"),
        ("national character varying(4)", "character varying(4)"),
        ("nchar varying(3)", "character varying(3)"),
        ("char", "character(1)"),
        ("char(5)", "character(5)"),
        ("character", "character(1)"),
        ("character(3)", "character(3)"),
        ("national char(3)", "character(3)"),
        ("bpchar", "bpchar"),
        ("bpchar(4)", "character(4)"),
        ("nchar", "character(1)"),
        ("nchar(5)", "character(5)"),
        ("text", "text"),
        ("bytea", "bytea"),
        ("date", "date"),
        ("time", "time without time zone"),
        ("time(3)", "time(3) without time zone"),
        ("timetz", "time with time zone"),
        ("timetz(2)", "time(2) with time zone"),
        ("time with time zone", "time with time zone"),
        ("time without time zone", "time without time zone"),
        ("time(4) with time zone", "time(4) with time zone"),
        ("timestamp", "timestamp without time zone"),
        ("timestamp(3)", "timestamp(3) without time zone"),
        ("timestamptz", "timestamp with time zone"),
        ("timestamptz(0)", "timestamp(0) with time zone"),
        ("timestamp with time zone", "timestamp with time zone"),
        ("timestamp without time zone", "timestamp without time zone"),
        ("timestamp(6) with time zone", "timestamp(6) with time zone"),
        ("timestamp(7)", "timestamp(6) without time zone"),
        ("timestamptz(7)", "timestamp(6) with time zone"),
        ("time(7)", "time(6) without time zone"),
        ("timetz(9)", "time(6) with time zone"),
        ("interval", "interval"),
        ("interval(3)", "interval(3)"),
        ("interval(0)", "interval(0)"),
        ("interval(7)", "interval(6)"),
        ("interval year to month", "interval year to month"),
        ("interval day to second(3)", "interval day to second(3)"),
        ("interval minute", "interval minute"),
        ("interval second(7)", "interval second(6)"),
        ("interval hour to second(2)", "interval hour to second(2)"),
        ("uuid", "uuid"),
        ("json", "json"),
        ("jsonb", "jsonb"),
        ("jsonpath", "jsonpath"),
        ("xml", "xml"),
        ("inet", "inet"),
        ("cidr", "cidr"),
        ("macaddr", "macaddr"),
        ("macaddr8", "macaddr8"),
        ("money", "money"),
        ("point", "point"),
        ("line", "line"),
        ("lseg", "lseg"),
        ("box", "box"),
        ("path", "path"),
        ("polygon", "polygon"),
        ("circle", "circle"),
        ("bit", "bit(1)"),
        ("bit(5)", "bit(5)"),
        ("bit(83886080)", "bit(83886080)"),
        ("bit varying", "bit varying"),
        ("bit varying(5)", "bit varying(5)"),
        ("varbit", "bit varying"),
        ("varbit(7)", "bit varying(7)"),
        ("tsvector", "tsvector"),
        ("tsquery", "tsquery"),
        ("oid", "oid"),
        ("regclass", "regclass"),
        ("regtype", "regtype"),
        ("pg_lsn", "pg_lsn"),
        ("int4range", "int4range"),
        ("int8range", "int8range"),
        ("numrange", "numrange"),
        ("tsrange", "tsrange"),
        ("tstzrange", "tstzrange"),
        ("daterange", "daterange"),
        ("int4multirange", "int4multirange"),
        ("int8multirange", "int8multirange"),
        ("nummultirange", "nummultirange"),
        ("tsmultirange", "tsmultirange"),
        ("tstzmultirange", "tstzmultirange"),
        ("datemultirange", "datemultirange"),
        ("txid_snapshot", "txid_snapshot"),
        ("pg_snapshot", "pg_snapshot"),
        ("name", "name"),
        ("xid8", "xid8"),
        ("tid", "tid"),
        ("int[]", "integer[]"),
        ("integer[][]", "integer[]"),
        ("int[3][4]", "integer[]"),
        ("varchar(10)[]", "character varying(10)[]"),
        ("varchar(5)[2]", "character varying(5)[]"),
        ("varchar[]", "character varying[]"),
        ("text[3]", "text[]"),
        ("timestamp with time zone[]", "timestamp with time zone[]"),
        (
            "timestamp(2) with time zone[]",
            "timestamp(2) with time zone[]",
        ),
        ("jsonb[]", "jsonb[]"),
    ];

    /// Spellings PostgreSQL 15.18 refused in `CREATE TABLE t (c <spelling>)`.
    pub(super) const REFUSED: &[&str] = &[
        "varchar(0)",
        "varchar(10485761)",
        "char(0)",
        "char(10485761)",
        "character(0)",
        "bpchar(0)",
        "nchar(0)",
        "numeric(0)",
        "numeric(1001)",
        "numeric(5,1001)",
        "numeric(5,-1001)",
        "numeric(10,2,3)",
        "numeric(2147483648)",
        "numeric()",
        "varchar()",
        "varchar(10,2)",
        "int(11)",
        "int4(11)",
        "integer(11)",
        "bigint(20)",
        "serial(5)",
        "boolean(1)",
        "double precision(5)",
        "real(3)",
        "float4(3)",
        "float8(10)",
        "text(5)",
        "uuid(1)",
        "money(2)",
        "bit(0)",
        "bit(83886081)",
        "varbit(0)",
        "float(0)",
        "float(54)",
        "time with time zone(3)",
        "serial[]",
        "interval year(3)",
    ];

    #[test]
    fn canonical_forms_match_format_type() {
        for (spelling, expected) in CANONICAL {
            let got = parse(spelling).map(|b| b.ty.to_string());
            assert_eq!(got.as_deref(), Ok(*expected), "{spelling}");
            // format_type's output parses back to the same type (the catalog reader's path).
            let again = parse(expected).map(|b| b.ty);
            assert_eq!(again, parse(spelling).map(|b| b.ty), "{expected}");
        }
    }

    #[test]
    fn refused_spellings_are_errors() {
        for spelling in REFUSED {
            assert!(
                matches!(parse(spelling), Err(TypeError::BadModifier { .. })),
                "{spelling}: {:?}",
                parse(spelling)
            );
        }
    }

    #[test]
    fn lookup_takes_name_args_and_dims() {
        assert_eq!(show("VARCHAR", &["255"], 0), "character varying(255)");
        assert_eq!(
            show("Timestamp  With Time Zone", &["3"], 0),
            "timestamp(3) with time zone"
        );
        assert_eq!(show("pg_catalog.int4", &[], 2), "integer[]");
        assert_eq!(show("numeric", &[" 10 ", "2"], 0), "numeric(10,2)");
        assert_eq!(
            show("interval day to second", &["3"], 0),
            "interval day to second(3)"
        );
        assert_eq!(
            show("timestamp(3) with time zone", &[], 1),
            "timestamp(3) with time zone[]"
        );
        assert_eq!(show("numeric(10, 2)", &[], 0), "numeric(10,2)");
        assert_eq!(
            show("varchar", &["max"], 0),
            "ERR invalid type varchar: type modifier \"max\" is not an integer constant"
        );
        assert_eq!(
            lookup("citext", &[], 0),
            Err(TypeError::Unknown {
                name: "citext".into()
            })
        );
        assert_eq!(
            lookup("interval fortnight", &[], 0),
            Err(TypeError::Unknown {
                name: "interval fortnight".into()
            })
        );
        // Messages follow the server's wording.
        assert_eq!(
            show("varchar", &["0"], 0),
            "ERR invalid type character varying: length for type varchar must be at least 1"
        );
        assert_eq!(
            show("char", &["0"], 0),
            "ERR invalid type character: length for type char must be at least 1"
        );
        assert_eq!(
            show("numeric", &["1001"], 0),
            "ERR invalid type numeric: NUMERIC precision 1001 must be between 1 and 1000"
        );
    }

    #[test]
    fn serials_and_reduced_precision_are_reported() {
        let b = lookup("bigserial", &[], 0).unwrap();
        assert!(b.serial);
        assert_eq!(b.ty.to_string(), "bigint");
        assert!(!lookup("bigint", &[], 0).unwrap().serial);
        let t = lookup("timestamptz", &["7"], 0).unwrap();
        assert_eq!(
            t.precision_reduced,
            Some(PrecisionReduced {
                requested: 7,
                used: 6
            })
        );
        assert_eq!(
            lookup("timestamptz", &["6"], 0).unwrap().precision_reduced,
            None
        );
    }

    #[test]
    fn aliases_compare_equal() {
        let ty = |s: &str| parse(s).unwrap().ty;
        assert_eq!(ty("int"), ty("integer"));
        assert_eq!(ty("int"), ty("int4"));
        assert_eq!(ty("varchar(255)"), ty("character varying(255)"));
        assert_eq!(ty("timestamptz"), ty("timestamp with time zone"));
        assert_ne!(ty("varchar(255)"), ty("varchar(256)"));
        assert_ne!(ty("bpchar"), ty("char"));
    }

    /// `pg_type.typname` of each canonical type, from
    /// `SELECT typname FROM pg_type WHERE oid = '<name>'::regtype` on PostgreSQL 15.18.
    #[test]
    fn typnames() {
        let tn = |s: &str| parse(s).unwrap().ty.typname().to_owned();
        assert_eq!(tn("int"), "int4");
        assert_eq!(tn("char(3)"), "bpchar");
        assert_eq!(tn("varchar"), "varchar");
        assert_eq!(tn("double precision"), "float8");
        assert_eq!(tn("timestamp with time zone"), "timestamptz");
        assert_eq!(tn("time"), "time");
        assert_eq!(tn("bit varying"), "varbit");
        assert_eq!(tn("interval day"), "interval");
        assert_eq!(PgType::user("public", "mood").typname(), "mood");
    }

    #[test]
    fn categories() {
        let cat = |s: &str| category(&parse(s).unwrap().ty);
        assert_eq!(cat("serial"), TypeCategory::Integer);
        assert_eq!(cat("numeric(3)"), TypeCategory::Numeric);
        assert_eq!(cat("float"), TypeCategory::Numeric);
        assert_eq!(cat("char"), TypeCategory::String);
        assert_eq!(cat("timestamptz"), TypeCategory::DateTime);
        assert_eq!(cat("interval hour"), TypeCategory::Interval);
        assert_eq!(cat("jsonb"), TypeCategory::Json);
        assert_eq!(cat("int[]"), TypeCategory::Array);
        assert_eq!(cat("daterange"), TypeCategory::Range);
        assert_eq!(
            category(&PgType::user("public", "mood")),
            TypeCategory::Other
        );
        assert!(is_integer(&parse("int8").unwrap().ty));
        assert!(!is_integer(&parse("int8[]").unwrap().ty));
        assert!(!is_integer(&parse("numeric").unwrap().ty));
        assert_eq!(lookup("int", &[], 1).unwrap().category, TypeCategory::Array);
    }

    #[test]
    fn user_types_display_quoted_and_qualified() {
        assert_eq!(PgType::user("public", "mood").to_string(), "mood");
        assert_eq!(PgType::user("public", "Mood").to_string(), "\"Mood\"");
        assert_eq!(
            PgType::user("app", "user").into_array().to_string(),
            "app.\"user\"[]"
        );
    }

    /// Each `(referenced, referencing, accepted)` triple is what PostgreSQL 15.18 did with
    /// `CREATE TABLE p (k <referenced> PRIMARY KEY); CREATE TABLE f (r <referencing>
    /// REFERENCES p(k))`.
    pub(super) const FK_CASES: &[(&str, &str, bool)] = &[
        ("integer", "bigint", true),
        ("bigint", "smallint", true),
        ("numeric", "integer", true),
        ("integer", "numeric", false),
        ("bigint", "numeric", false),
        ("double precision", "numeric", true),
        ("real", "double precision", true),
        ("integer", "real", false),
        ("integer", "double precision", false),
        ("text", "character varying(10)", true),
        ("character varying(10)", "text", true),
        ("text", "name", true),
        ("character(5)", "name", false),
        ("character(5)", "text", true),
        ("bpchar", "character(5)", true),
        ("character(5)", "bpchar", true),
        ("uuid", "text", false),
        ("text", "uuid", false),
        ("numeric(10,2)", "numeric", true),
        ("numeric", "numeric(10,2)", true),
        ("timestamp with time zone", "date", true),
        ("date", "timestamp with time zone", true),
        (
            "timestamp without time zone",
            "timestamp with time zone",
            true,
        ),
        ("time with time zone", "time without time zone", true),
        ("time without time zone", "time with time zone", false),
        ("interval", "time without time zone", true),
        ("interval(3)", "interval", true),
        (
            "timestamp(3) with time zone",
            "timestamp with time zone",
            true,
        ),
        ("inet", "cidr", true),
        ("cidr", "inet", true),
        ("macaddr", "macaddr8", true),
        ("bit(3)", "bit(5)", true),
        ("bit varying", "bit(3)", true),
        ("money", "numeric", false),
        ("oid", "integer", true),
        ("regclass", "oid", true),
        ("oid", "regclass", true),
        ("bytea", "text", false),
        ("int4range", "int8range", false),
        ("int4range", "int4range", true),
        ("jsonb", "jsonb", true),
        ("json", "json", false),
        ("xml", "xml", false),
        ("point", "point", false),
        ("jsonpath", "jsonpath", false),
        ("txid_snapshot", "txid_snapshot", false),
        ("integer[]", "integer[]", true),
        ("bigint[]", "integer[]", false),
        ("text[]", "character varying[]", false),
        ("character varying(5)[]", "character varying[]", true),
        ("integer", "integer[]", false),
        ("boolean", "boolean", true),
        ("uuid", "uuid", true),
        ("tsquery", "tsquery", true),
        ("datemultirange", "datemultirange", true),
    ];

    #[test]
    fn foreign_key_compatibility() {
        for (referenced, referencing, ok) in FK_CASES {
            let a = parse(referencing).unwrap().ty;
            let b = parse(referenced).unwrap().ty;
            assert_eq!(
                compatible_for_fk(&a, &b),
                *ok,
                "{referencing} -> {referenced}"
            );
        }
        let mood = PgType::user("public", "mood");
        let mood2 = PgType::user("public", "mood2");
        let text = parse("text").unwrap().ty;
        assert!(compatible_for_fk(&mood, &mood));
        assert!(!compatible_for_fk(&mood, &mood2));
        assert!(!compatible_for_fk(&mood, &text));
        assert!(!compatible_for_fk(&text, &mood));
    }

    #[test]
    fn odd_input_never_panics() {
        for s in [
            "",
            "(",
            ")",
            "[",
            "]",
            "int[",
            "int]",
            "varchar(",
            "varchar(1",
            "()",
            "a(1)(2)",
            "é(1)",
            "int[x]",
            "numeric(1,",
            "  ",
            "timestamp(3) with",
            "int(-0)",
        ] {
            let _ = parse(s);
        }
        assert!(parse("int[x]").is_err());
        let alphabet: Vec<char> = "i([)] ,1-é".chars().collect();
        let mut stack = vec![String::new()];
        while let Some(s) = stack.pop() {
            let _ = parse(&s);
            let _ = lookup(&s, &[s.as_str()], 1);
            if s.chars().count() < 5 {
                for c in &alphabet {
                    stack.push(format!("{s}{c}"));
                }
            }
        }
        assert!(parse("").is_err());
    }

    /// Re-checks the tables above against a live server. Runs against the test suite's own throwaway cluster.
    #[test]
    fn live_server_agrees() {
        let db = crate::local::testing::fresh_database();
        let mut c = db.client();
        c.batch_execute("DROP SCHEMA IF EXISTS nself_pgtypes CASCADE; CREATE SCHEMA nself_pgtypes")
            .unwrap();
        for (i, (spelling, expected)) in CANONICAL.iter().enumerate() {
            let sql = format!("CREATE TABLE nself_pgtypes.t{i} (c {spelling})");
            c.batch_execute(&sql).unwrap();
            let row = c
                .query_one(
                    "SELECT format_type(a.atttypid, a.atttypmod), \
                     (SELECT e.typname::text FROM pg_type e WHERE e.oid = \
                      CASE WHEN ty.typcategory = 'A' THEN ty.typelem ELSE ty.oid END) \
                     FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid \
                     WHERE a.attrelid = $1::text::regclass AND a.attname = 'c'",
                    &[&format!("nself_pgtypes.t{i}")],
                )
                .unwrap();
            let shown: String = row.get(0);
            let typname: String = row.get(1);
            assert_eq!(shown, *expected, "{spelling}");
            assert_eq!(parse(spelling).unwrap().ty.typname(), typname, "{spelling}");
        }
        for (i, spelling) in REFUSED.iter().enumerate() {
            let sql = format!("CREATE TABLE nself_pgtypes.r{i} (c {spelling})");
            assert!(c.batch_execute(&sql).is_err(), "{spelling} was accepted");
        }
        for (i, (referenced, referencing, ok)) in FK_CASES.iter().enumerate() {
            let mut tx = c.transaction().unwrap();
            let made = tx.batch_execute(&format!(
                "CREATE TABLE nself_pgtypes.p{i} (k {referenced} PRIMARY KEY); \
                 CREATE TABLE nself_pgtypes.f{i} (r {referencing} REFERENCES nself_pgtypes.p{i}(k))"
            ));
            assert_eq!(made.is_ok(), *ok, "{referencing} -> {referenced}: {made:?}");
            tx.rollback().unwrap();
        }
        c.batch_execute("DROP SCHEMA nself_pgtypes CASCADE")
            .unwrap();
    }
}
