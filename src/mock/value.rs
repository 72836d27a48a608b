//! Values: what a column gets, chosen once per column ([`choose`]) from its type, its name, its
//! table's name and its checks, then drawn row by row ([`Gen::draw`]) from a deterministic RNG.
//!
//! Every value is written as PostgreSQL's text input for its type (what `COPY … FROM STDIN`
//! reads before its own escaping, [`copy_escape`]) and satisfies the type by construction:
//! lengths within `varchar(n)`/`char(n)`, numbers within `numeric(p,s)`, the integer type's
//! range and any range or list the checks give, host bits clear in a `cidr`, and so on. A
//! column that must be unique gets values made unique by construction where the generator can
//! (`n` in the value: integers count up, text carries a number, uuids are 122 random bits);
//! the caller guards the rest with a set of the values already used (`super::run`).
//!
//! Nothing here reads the clock or the environment: the same RNG gives the same text on
//! every machine (`rand`'s ChaCha8 stream, seeded by `SeedableRng::seed_from_u64`, is
//! documented as portable, and so are the bounded integer draws used here).

use super::checks::Bounds;
use crate::ir::pgtypes::PgType;
use fake::faker::{address::en as address, company::en as company, lorem::en as lorem};
use fake::faker::{internet::en as internet, name::en as name, phone_number::en as phone};
use fake::Fake;
use rand::rngs::ChaCha8Rng;
use rand::RngExt;
use std::fmt::Write;

/// The RNG of one table (seeded from the run's seed and the table's name).
pub type Rng = ChaCha8Rng;

/// What a text column holds, guessed from its name (and the table's, for `name`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    Email,
    FirstName,
    LastName,
    FullName,
    Username,
    Title,
    Slug,
    Url,
    Image,
    Phone,
    Street,
    City,
    Country,
    CountryCode,
    State,
    Zip,
    Company,
    Paragraph,
    Secret,
    Color,
    Currency,
    Locale,
    TimeZone,
    IpAddress,
    Code,
    Words,
}

impl TextKind {
    pub fn describe(self) -> &'static str {
        match self {
            TextKind::Email => "email addresses",
            TextKind::FirstName => "first names",
            TextKind::LastName => "last names",
            TextKind::FullName => "full names",
            TextKind::Username => "user names",
            TextKind::Title => "titles",
            TextKind::Slug => "slugs",
            TextKind::Url => "URLs",
            TextKind::Image => "image URLs",
            TextKind::Phone => "phone numbers",
            TextKind::Street => "street addresses",
            TextKind::City => "cities",
            TextKind::Country => "countries",
            TextKind::CountryCode => "country codes",
            TextKind::State => "states",
            TextKind::Zip => "postal codes",
            TextKind::Company => "company names",
            TextKind::Paragraph => "paragraphs",
            TextKind::Secret => "hex tokens",
            TextKind::Color => "colours",
            TextKind::Currency => "currency codes",
            TextKind::Locale => "locales",
            TextKind::TimeZone => "time zones",
            TextKind::IpAddress => "IP addresses",
            TextKind::Code => "codes",
            TextKind::Words => "words",
        }
    }
}

/// How a timestamp relates to the row's own moment (`created_at` is it; `updated_at` comes
/// after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeRole {
    /// The row's moment: `created_at`, `starts_at`, `joined_at`.
    Anchor,
    /// After the row's moment: `updated_at`, `published_at`, `ends_at`, `expires_at`.
    After,
    /// A birth date: decades ago.
    Birth,
    Any,
}

/// A column's generator.
#[derive(Clone, Debug, PartialEq)]
pub enum Gen {
    /// `min..=max`; `counting` values are `min + n` (unique by construction).
    Int {
        min: i64,
        max: i64,
        counting: bool,
    },
    /// A decimal with `scale` digits after the point in `min..=max` (numeric, real, double,
    /// money).
    Decimal {
        min: f64,
        max: f64,
        scale: u32,
    },
    Bool,
    Text {
        kind: TextKind,
        min_len: usize,
        max_len: Option<usize>,
        /// A number in the value makes it unique.
        unique: bool,
    },
    Uuid,
    /// A small object with these keys (and one to three more).
    Json(Vec<String>),
    Date(TimeRole),
    Time {
        tz: bool,
    },
    Timestamp {
        tz: bool,
        role: TimeRole,
    },
    Interval,
    Bytea,
    Inet {
        unique: bool,
    },
    Cidr {
        unique: bool,
    },
    MacAddr {
        bytes: usize,
    },
    Bits {
        len: usize,
        varying: bool,
    },
    /// One of these values (an enum's labels, a check's list).
    Choice(Vec<String>),
    /// One to three elements.
    Array(Box<Gen>),
    /// `[lo,hi)` of the element generator (`int4range`, `daterange`, …).
    Range(Box<Gen>),
    Point,
    TsVector,
    TsQuery,
    Xml,
}

impl Gen {
    /// A phrase for `--dry-run`: "full names (unique)", "integers 1..=100".
    pub fn describe(&self) -> String {
        match self {
            Gen::Int {
                min,
                max,
                counting: true,
            } => format!("integers counting from {min} (at most {max})"),
            Gen::Int { min, max, .. } => format!("integers {min}..={max}"),
            Gen::Decimal { min, max, scale } => {
                format!(
                    "decimals {min:.*}..={max:.*}",
                    *scale as usize, *scale as usize
                )
            }
            Gen::Bool => "true/false".to_owned(),
            Gen::Text {
                kind,
                min_len,
                max_len,
                unique,
            } => {
                let mut s = kind.describe().to_owned();
                match (min_len, max_len) {
                    (0 | 1, Some(m)) => write!(s, ", at most {m} characters").unwrap_or(()),
                    (0 | 1, None) => {}
                    (l, Some(m)) => write!(s, ", {l} to {m} characters").unwrap_or(()),
                    (l, None) => write!(s, ", at least {l} characters").unwrap_or(()),
                }
                if *unique {
                    s.push_str(", numbered to be unique");
                }
                s
            }
            Gen::Uuid => "random uuids".to_owned(),
            Gen::Json(keys) if keys.is_empty() => "small JSON objects".to_owned(),
            Gen::Json(keys) => format!("small JSON objects with {}", keys.join(", ")),
            Gen::Date(TimeRole::Birth) => "birth dates".to_owned(),
            Gen::Date(_) => "dates 2020–2025".to_owned(),
            Gen::Time { .. } => "times of day".to_owned(),
            Gen::Timestamp { role, .. } => match role {
                TimeRole::Anchor => "the row's moment (2020–2025)".to_owned(),
                TimeRole::After => "after the row's moment".to_owned(),
                TimeRole::Birth => "birth dates".to_owned(),
                TimeRole::Any => "timestamps 2020–2025".to_owned(),
            },
            Gen::Interval => "intervals up to 30 days".to_owned(),
            Gen::Bytea => "random bytes".to_owned(),
            Gen::Inet { .. } => "addresses in 10.0.0.0/8".to_owned(),
            Gen::Cidr { .. } => "/24 networks in 10.0.0.0/8".to_owned(),
            Gen::MacAddr { .. } => "MAC addresses".to_owned(),
            Gen::Bits { len, varying } => {
                format!("{}{len} bits", if *varying { "up to " } else { "" })
            }
            Gen::Choice(values) => {
                let shown: Vec<&str> = values.iter().take(6).map(String::as_str).collect();
                let more = if values.len() > 6 { ", …" } else { "" };
                format!("one of {}{more}", shown.join(", "))
            }
            Gen::Array(inner) => format!("arrays of {}", inner.describe()),
            Gen::Range(inner) => format!("ranges of {}", inner.describe()),
            Gen::Point => "points".to_owned(),
            Gen::TsVector => "text-search vectors".to_owned(),
            Gen::TsQuery => "text-search queries".to_owned(),
            Gen::Xml => "XML fragments".to_owned(),
        }
    }

    /// Whether `value` (a column's constant default) is one this generator could make: a
    /// default that does not fit the column (`317.77` in `numeric(5,4)`) is never used.
    pub fn admits(&self, value: &str) -> bool {
        match self {
            Gen::Int { min, max, .. } => value
                .parse::<i64>()
                .is_ok_and(|v| (*min..=*max).contains(&v)),
            Gen::Decimal { min, max, .. } => {
                value.parse::<f64>().is_ok_and(|v| v >= *min && v <= *max)
            }
            Gen::Text {
                min_len, max_len, ..
            } => {
                let n = value.chars().count();
                n >= *min_len && max_len.is_none_or(|m| n <= m)
            }
            Gen::Choice(values) => values.iter().any(|v| v == value),
            Gen::Bool => crate::sql::parse_bool(value).is_some(),
            _ => true,
        }
    }

    /// Whether two rows never get the same value from this generator within one run.
    pub fn unique_by_construction(&self) -> bool {
        matches!(
            self,
            Gen::Int { counting: true, .. }
                | Gen::Text { unique: true, .. }
                | Gen::Uuid
                | Gen::Inet { unique: true }
                | Gen::Cidr { unique: true }
        )
    }
}

/// What one row shares between its columns: its number, a person (first and last name, so
/// that `email` matches `first_name`) and a moment (so that `updated_at` follows
/// `created_at`).
pub struct Row {
    /// Unique within the table across runs (rows already in the table are counted first) and
    /// across the retries of one row.
    pub n: u64,
    pub first: &'static str,
    pub last: &'static str,
    /// Seconds since 2020-01-01 00:00:00.
    pub moment: i64,
}

/// Six years of seconds: generated moments are in 2020–2025.
const SPAN: i64 = 6 * 365 * 86_400;
/// 2020-01-01 as days since 1970-01-01.
const EPOCH_2020: i64 = 18_262;

impl Row {
    pub fn new(rng: &mut Rng, n: u64) -> Row {
        Row {
            n,
            first: name::FirstName().fake_with_rng(rng),
            last: name::LastName().fake_with_rng(rng),
            moment: rng.random_range(0..SPAN),
        }
    }
}

impl Gen {
    /// Appends one value's text input to `out` (not yet escaped for COPY).
    pub fn draw(&self, rng: &mut Rng, row: &Row, out: &mut String) {
        match self {
            Gen::Int {
                min,
                max,
                counting: true,
            } => {
                let v = min
                    .saturating_add_unsigned(row.n.saturating_sub(1))
                    .min(*max);
                write!(out, "{v}").unwrap_or(());
            }
            Gen::Int { min, max, .. } => {
                let v = rng.random_range(*min..=*max);
                write!(out, "{v}").unwrap_or(());
            }
            Gen::Decimal { min, max, scale } => {
                let unit = 10f64.powi(*scale as i32);
                let (lo, hi) = ((min * unit).ceil() as i64, (max * unit).floor() as i64);
                let v = if lo < hi {
                    rng.random_range(lo..=hi)
                } else {
                    lo
                };
                write_scaled(out, v, *scale);
            }
            Gen::Bool => out.push_str(if rng.random_bool(0.5) { "t" } else { "f" }),
            Gen::Text {
                kind,
                min_len,
                max_len,
                unique,
            } => text(rng, row, *kind, *min_len, *max_len, *unique, out),
            Gen::Uuid => {
                let mut b: [u8; 16] = rng.random();
                b[6] = (b[6] & 0x0f) | 0x40;
                b[8] = (b[8] & 0x3f) | 0x80;
                for (i, byte) in b.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        out.push('-');
                    }
                    write!(out, "{byte:02x}").unwrap_or(());
                }
            }
            Gen::Json(keys) => {
                let mut map = serde_json::Map::new();
                for k in keys {
                    map.insert(k.clone(), serde_json::Value::from(rng.random_bool(0.5)));
                }
                for _ in 0..rng.random_range(1..=3) {
                    let key: &str = lorem::Word().fake_with_rng(rng);
                    let value = match rng.random_range(0..3) {
                        0 => serde_json::Value::from(rng.random_range(0..1000)),
                        1 => serde_json::Value::from(rng.random_bool(0.5)),
                        _ => serde_json::Value::from(lorem::Word().fake_with_rng::<&str, _>(rng)),
                    };
                    map.insert(key.to_owned(), value);
                }
                out.push_str(&serde_json::Value::Object(map).to_string());
            }
            Gen::Date(role) => {
                let secs = moment(rng, row, *role);
                write_date(out, EPOCH_2020 + secs.div_euclid(86_400));
            }
            Gen::Time { tz } => {
                let s = rng.random_range(0..86_400);
                write!(out, "{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60).unwrap_or(());
                if *tz {
                    out.push_str("+00");
                }
            }
            Gen::Timestamp { tz, role } => {
                let secs = moment(rng, row, *role);
                write_timestamp(out, secs, *tz);
            }
            Gen::Interval => {
                let s: i64 = rng.random_range(0..30 * 86_400);
                write!(
                    out,
                    "{} days {:02}:{:02}:{:02}",
                    s / 86_400,
                    s / 3600 % 24,
                    s / 60 % 60,
                    s % 60
                )
                .unwrap_or(());
            }
            Gen::Bytea => {
                out.push_str("\\x");
                for _ in 0..rng.random_range(4..=16) {
                    write!(out, "{:02x}", rng.random::<u8>()).unwrap_or(());
                }
            }
            Gen::Inet { unique } => {
                let v: u32 = if *unique {
                    (row.n % (1 << 24)) as u32
                } else {
                    rng.random_range(1..(1 << 24))
                };
                write!(out, "10.{}.{}.{}", v >> 16, (v >> 8) & 255, v & 255).unwrap_or(());
            }
            Gen::Cidr { unique } => {
                let v: u32 = if *unique {
                    (row.n % (1 << 16)) as u32
                } else {
                    rng.random_range(0..(1 << 16))
                };
                write!(out, "10.{}.{}.0/24", v >> 8, v & 255).unwrap_or(());
            }
            Gen::MacAddr { bytes } => {
                for i in 0..*bytes {
                    if i > 0 {
                        out.push(':');
                    }
                    // Locally administered, unicast.
                    let b: u8 = rng.random();
                    let b = if i == 0 { (b | 2) & !1 } else { b };
                    write!(out, "{b:02x}").unwrap_or(());
                }
            }
            Gen::Bits { len, varying } => {
                let n = if *varying {
                    rng.random_range(1..=(*len).max(1))
                } else {
                    *len
                };
                for _ in 0..n {
                    out.push(if rng.random_bool(0.5) { '1' } else { '0' });
                }
            }
            Gen::Choice(values) => {
                if !values.is_empty() {
                    out.push_str(&values[rng.random_range(0..values.len())]);
                }
            }
            Gen::Array(inner) => {
                out.push('{');
                for i in 0..rng.random_range(1..=3) {
                    if i > 0 {
                        out.push(',');
                    }
                    let mut element = String::new();
                    inner.draw(rng, row, &mut element);
                    out.push('"');
                    for c in element.chars() {
                        if c == '"' || c == '\\' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push('"');
                }
                out.push('}');
            }
            Gen::Range(inner) => range(rng, row, inner, out),
            Gen::Point => {
                let (x, y): (i32, i32) =
                    (rng.random_range(-1000..1000), rng.random_range(-1000..1000));
                write!(out, "({x},{y})").unwrap_or(());
            }
            Gen::TsVector | Gen::TsQuery => {
                let sep = if *self == Gen::TsQuery { " & " } else { " " };
                for i in 0..rng.random_range(1..=4) {
                    if i > 0 {
                        out.push_str(sep);
                    }
                    out.push_str(lorem::Word().fake_with_rng::<&str, _>(rng));
                }
            }
            Gen::Xml => {
                let w: &str = lorem::Word().fake_with_rng(rng);
                write!(out, "<note>{w}</note>").unwrap_or(());
            }
        }
    }
}

fn moment(rng: &mut Rng, row: &Row, role: TimeRole) -> i64 {
    match role {
        TimeRole::Anchor => row.moment,
        TimeRole::After => row.moment + rng.random_range(0..90 * 86_400),
        // 1950–2005.
        TimeRole::Birth => rng.random_range(-70 * 365 * 86_400..-15 * 365 * 86_400),
        TimeRole::Any => rng.random_range(0..SPAN),
    }
}

fn range(rng: &mut Rng, row: &Row, inner: &Gen, out: &mut String) {
    match inner {
        Gen::Int { min, max, .. } => {
            let a = rng.random_range(*min..=*max);
            let b = a.saturating_add(rng.random_range(1..=100)).min(*max);
            write!(out, "[{a},{})", b.max(a)).unwrap_or(());
        }
        Gen::Decimal { scale, .. } => {
            let a: i64 = rng.random_range(0..100_000);
            let b = a + rng.random_range(1..10_000);
            out.push('[');
            write_scaled(out, a, *scale);
            out.push(',');
            write_scaled(out, b, *scale);
            out.push(')');
        }
        Gen::Date(_) => {
            let a = EPOCH_2020 + rng.random_range(0..6 * 365);
            out.push('[');
            write_date(out, a);
            out.push(',');
            write_date(out, a + rng.random_range(1..60));
            out.push(')');
        }
        Gen::Timestamp { tz, .. } => {
            let a = row.moment;
            out.push_str("[\"");
            write_timestamp(out, a, *tz);
            out.push_str("\",\"");
            write_timestamp(out, a + rng.random_range(60..30 * 86_400), *tz);
            out.push_str("\")");
        }
        _ => out.push_str("empty"),
    }
}

fn write_scaled(out: &mut String, v: i64, scale: u32) {
    if scale == 0 {
        write!(out, "{v}").unwrap_or(());
        return;
    }
    let unit = 10i64.pow(scale);
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let u = unit as u64;
    write!(out, "{sign}{}.{:0w$}", a / u, a % u, w = scale as usize).unwrap_or(());
}

/// `YYYY-MM-DD` of a day number since 1970-01-01 (the proleptic Gregorian calendar).
fn write_date(out: &mut String, days: i64) {
    let (y, m, d) = crate::backup::clock::civil_from_days(days);
    write!(out, "{y:04}-{m:02}-{d:02}").unwrap_or(());
}

fn write_timestamp(out: &mut String, secs_since_2020: i64, tz: bool) {
    let days = secs_since_2020.div_euclid(86_400);
    let s = secs_since_2020.rem_euclid(86_400);
    write_date(out, EPOCH_2020 + days);
    write!(out, " {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60).unwrap_or(());
    if tz {
        out.push_str("+00");
    }
}

const DOMAINS: &[&str] = &["example.com", "example.org", "example.net"];
const CURRENCIES: &[&str] = &["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "SEK"];
const LOCALES: &[&str] = &[
    "en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "ja-JP", "pt-BR",
];

fn pick<'a>(rng: &mut Rng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn lower_ascii(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn words(rng: &mut Rng, count: std::ops::RangeInclusive<usize>, sep: &str, out: &mut String) {
    for i in 0..rng.random_range(count) {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(lorem::Word().fake_with_rng::<&str, _>(rng));
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A text value of `kind` within the lengths, with `row.n` in it when it must be unique.
fn text(
    rng: &mut Rng,
    row: &Row,
    kind: TextKind,
    min_len: usize,
    max_len: Option<usize>,
    unique: bool,
    out: &mut String,
) {
    let mut s = String::new();
    // Where the row number goes, when the value must be unique: `first.last42@…`.
    let mut tail = String::new();
    let n = row.n;
    match kind {
        TextKind::Email => {
            s.push_str(&lower_ascii(row.first));
            s.push('.');
            s.push_str(&lower_ascii(row.last));
            if unique {
                write!(tail, "{n}").unwrap_or(());
            }
            tail.push('@');
            tail.push_str(pick(rng, DOMAINS));
        }
        TextKind::FirstName => s.push_str(row.first),
        TextKind::LastName => s.push_str(row.last),
        TextKind::FullName => {
            s.push_str(row.first);
            s.push(' ');
            s.push_str(row.last);
        }
        TextKind::Username => {
            s.push_str(&lower_ascii(row.first));
            s.push('_');
            s.push_str(&lower_ascii(row.last));
        }
        TextKind::Title => {
            let mut w = String::new();
            words(rng, 2..=6, " ", &mut w);
            s.push_str(&capitalized(&w));
        }
        TextKind::Slug => words(rng, 2..=4, "-", &mut s),
        TextKind::Url => {
            s.push_str("https://www.");
            s.push_str(lorem::Word().fake_with_rng::<&str, _>(rng));
            s.push_str(".example.com/");
            words(rng, 1..=2, "/", &mut s);
        }
        TextKind::Image => {
            write!(
                s,
                "https://images.example.com/{}.png",
                rng.random_range(1..100_000u32)
            )
            .unwrap_or(());
        }
        TextKind::Phone => s.push_str(&phone::PhoneNumber().fake_with_rng::<String, _>(rng)),
        TextKind::Street => {
            s.push_str(&address::BuildingNumber().fake_with_rng::<String, _>(rng));
            s.push(' ');
            s.push_str(&address::StreetName().fake_with_rng::<String, _>(rng));
        }
        TextKind::City => s.push_str(&address::CityName().fake_with_rng::<String, _>(rng)),
        TextKind::Country => s.push_str(address::CountryName().fake_with_rng::<&str, _>(rng)),
        TextKind::CountryCode => s.push_str(address::CountryCode().fake_with_rng::<&str, _>(rng)),
        TextKind::State => s.push_str(address::StateName().fake_with_rng::<&str, _>(rng)),
        TextKind::Zip => s.push_str(&address::ZipCode().fake_with_rng::<String, _>(rng)),
        TextKind::Company => s.push_str(&company::CompanyName().fake_with_rng::<String, _>(rng)),
        TextKind::Paragraph => {
            let sentences = rng.random_range(1..=3);
            for i in 0..sentences {
                if i > 0 {
                    s.push(' ');
                }
                let mut w = String::new();
                words(rng, 4..=12, " ", &mut w);
                s.push_str(&capitalized(&w));
                s.push('.');
            }
        }
        TextKind::Secret => {
            for _ in 0..32 {
                write!(s, "{:02x}", rng.random::<u8>()).unwrap_or(());
            }
        }
        TextKind::Color => {
            write!(s, "#{:06x}", rng.random_range(0..0x0100_0000u32)).unwrap_or(());
        }
        TextKind::Currency => s.push_str(pick(rng, CURRENCIES)),
        TextKind::Locale => s.push_str(pick(rng, LOCALES)),
        TextKind::TimeZone => s.push_str(address::TimeZone().fake_with_rng::<&str, _>(rng)),
        TextKind::IpAddress => {
            s.push_str(&internet::IPv4().fake_with_rng::<String, _>(rng));
        }
        TextKind::Code => {
            for _ in 0..8 {
                let c = rng.random_range(0..36u8);
                s.push(char::from(if c < 10 { b'0' + c } else { b'A' + c - 10 }));
            }
        }
        TextKind::Words => {
            let mut w = String::new();
            words(rng, 1..=3, " ", &mut w);
            s.push_str(&capitalized(&w));
        }
    }
    if unique && kind != TextKind::Email {
        let sep = match kind {
            TextKind::Slug | TextKind::Code | TextKind::Secret => "-",
            TextKind::Username => "",
            _ => " ",
        };
        write!(tail, "{sep}{n}").unwrap_or(());
    }
    fit(&mut s, &tail, min_len, max_len, rng);
    out.push_str(&s);
    out.push_str(&tail);
}

/// Makes `head + tail` between `min_len` and `max_len` characters: pads the head with
/// letters, cuts it (keeping the tail, which carries the uniqueness), or cuts the tail when it
/// alone is too long.
fn fit(head: &mut String, tail: &str, min_len: usize, max_len: Option<usize>, rng: &mut Rng) {
    let tail_len = tail.chars().count();
    let mut len = head.chars().count() + tail_len;
    while len < min_len {
        head.push(char::from(b'a' + rng.random_range(0..26u8)));
        len += 1;
    }
    if let Some(max) = max_len {
        if len > max {
            let keep = max.saturating_sub(tail_len);
            let cut = head.char_indices().nth(keep).map_or(head.len(), |(i, _)| i);
            head.truncate(cut);
            // No trailing space: `char(n)` would drop it and `btrim` checks would count it.
            while head.ends_with(' ') {
                head.pop();
            }
            while head.chars().count() + tail_len < min_len.min(max) {
                head.push(char::from(b'a' + rng.random_range(0..26u8)));
            }
        }
    }
}

/// Appends `value` escaped for COPY's text format (backslash, tab, newline, carriage return).
pub fn copy_escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// The generator for a column, or `None` when mock does not know how to make its type.
pub fn choose(
    ty: &PgType,
    column: &str,
    table: &str,
    bounds: &Bounds,
    enum_values: Option<&[String]>,
    unique: bool,
) -> Option<Gen> {
    if ty.is_array() {
        let element = choose(&ty.element(), column, table, bounds, enum_values, false)?;
        return Some(Gen::Array(Box::new(element)));
    }
    if let Some(values) = enum_values {
        let allowed: Vec<String> = values
            .iter()
            .filter(|v| bounds.allows_text(v))
            .cloned()
            .collect();
        return Some(Gen::Choice(allowed));
    }
    if let Some(list) = &bounds.one_of {
        let allowed: Vec<String> = list
            .iter()
            .filter(|v| bounds.allows_text(v))
            .cloned()
            .collect();
        return Some(Gen::Choice(allowed));
    }
    if ty.is_user_defined() {
        return None;
    }
    let name = column.to_ascii_lowercase();
    let m = &ty.modifiers;
    let g = match ty.name.as_str() {
        "smallint" => int(
            &name,
            i64::from(i16::MIN),
            i64::from(i16::MAX),
            bounds,
            unique,
        ),
        "integer" => int(
            &name,
            i64::from(i32::MIN),
            i64::from(i32::MAX),
            bounds,
            unique,
        ),
        "bigint" => int(&name, i64::MIN, i64::MAX, bounds, unique),
        "numeric" => {
            let (p, s) = match m.as_slice() {
                [p, s] => (*p, *s),
                [p] => (*p, 0),
                _ => (12, 2),
            };
            let s = s.clamp(0, 6) as u32;
            let limit =
                10f64.powi((p - i64::from(s)).clamp(0, 15) as i32) - 10f64.powi(-(s as i32));
            decimal(&name, -limit, limit, s, bounds)
        }
        "real" | "double precision" => decimal(&name, -1e6, 1e6, 2, bounds),
        "money" => decimal(&name, 0.0, 1e6, 2, bounds),
        "boolean" => Gen::Bool,
        "text" | "character varying" | "character" | "name" | "citext" => {
            let max = match (ty.name.as_str(), m.first()) {
                ("name", _) => Some(63),
                ("character", None) => Some(1),
                (_, Some(n)) => Some(*n as usize),
                _ => None,
            };
            let max = match (max, bounds.max_len) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let min = bounds
                .min_len
                .unwrap_or(0)
                .max(usize::from(bounds.excluded.iter().any(String::is_empty)));
            let kind = text_kind(&name, table);
            // A number must fit beside a few characters of the value.
            let numbered = unique && max.is_none_or(|m| m >= 12);
            if unique && !numbered {
                return Some(Gen::Text {
                    kind: TextKind::Code,
                    min_len: min.max(max.unwrap_or(8).min(8)),
                    max_len: max,
                    unique: false,
                });
            }
            Gen::Text {
                kind,
                min_len: min,
                max_len: max,
                unique: numbered,
            }
        }
        "uuid" => Gen::Uuid,
        "json" | "jsonb" => Gen::Json(bounds.json_keys.clone()),
        "date" => Gen::Date(time_role(&name)),
        "time without time zone" => Gen::Time { tz: false },
        "time with time zone" => Gen::Time { tz: true },
        "timestamp without time zone" => Gen::Timestamp {
            tz: false,
            role: time_role(&name),
        },
        "timestamp with time zone" => Gen::Timestamp {
            tz: true,
            role: time_role(&name),
        },
        n if n == "interval" || n.starts_with("interval ") => Gen::Interval,
        "bytea" => Gen::Bytea,
        "inet" => Gen::Inet { unique },
        "cidr" => Gen::Cidr { unique },
        "macaddr" => Gen::MacAddr { bytes: 6 },
        "macaddr8" => Gen::MacAddr { bytes: 8 },
        "bit" => Gen::Bits {
            len: m.first().map_or(1, |n| *n as usize),
            varying: false,
        },
        "bit varying" => Gen::Bits {
            len: m.first().map_or(16, |n| *n as usize),
            varying: true,
        },
        "int4range" => range_of(int("", 0, 1_000_000, &Bounds::default(), false)),
        "int8range" => range_of(int("", 0, 1_000_000, &Bounds::default(), false)),
        "numrange" => range_of(Gen::Decimal {
            min: 0.0,
            max: 1e6,
            scale: 2,
        }),
        "daterange" => range_of(Gen::Date(TimeRole::Any)),
        "tsrange" => range_of(Gen::Timestamp {
            tz: false,
            role: TimeRole::Any,
        }),
        "tstzrange" => range_of(Gen::Timestamp {
            tz: true,
            role: TimeRole::Any,
        }),
        "point" => Gen::Point,
        "tsvector" => Gen::TsVector,
        "tsquery" => Gen::TsQuery,
        "xml" => Gen::Xml,
        _ => return None,
    };
    Some(g)
}

fn range_of(g: Gen) -> Gen {
    Gen::Range(Box::new(g))
}

/// The range a name suggests (`age`: 18..=90), within the type's range and the checks'.
fn int(name: &str, type_min: i64, type_max: i64, bounds: &Bounds, unique: bool) -> Gen {
    let lo = bounds.min.map_or(type_min, |(v, strict)| {
        let f = if strict { v.floor() + 1.0 } else { v.ceil() };
        clamp_f(f, type_min, type_max)
    });
    let hi = bounds.max.map_or(type_max, |(v, strict)| {
        let f = if strict { v.ceil() - 1.0 } else { v.floor() };
        clamp_f(f, type_min, type_max)
    });
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (lo, lo) };
    if unique {
        return Gen::Int {
            min: lo.max(1).min(hi),
            max: hi,
            counting: true,
        };
    }
    let (want_lo, want_hi) = suggested_int(name);
    let (a, b) = (want_lo.max(lo), want_hi.min(hi));
    let (min, max) = if a <= b {
        (a, b)
    } else {
        (lo, lo.saturating_add(1000).min(hi))
    };
    Gen::Int {
        min,
        max,
        counting: false,
    }
}

fn clamp_f(f: f64, lo: i64, hi: i64) -> i64 {
    if f <= lo as f64 {
        lo
    } else if f >= hi as f64 {
        hi
    } else {
        f as i64
    }
}

fn has(name: &str, words: &[&str]) -> bool {
    words.iter().any(|w| {
        name == *w
            || name.starts_with(&format!("{w}_"))
            || name.ends_with(&format!("_{w}"))
            || name.contains(&format!("_{w}_"))
    })
}

fn suggested_int(name: &str) -> (i64, i64) {
    if has(name, &["age"]) {
        (18, 90)
    } else if has(name, &["year"]) {
        (1990, 2025)
    } else if has(name, &["rating", "stars", "score"]) {
        (1, 5)
    } else if has(
        name,
        &["price", "amount", "total", "cost", "balance", "cents"],
    ) {
        (100, 100_000)
    } else if has(
        name,
        &["quantity", "qty", "count", "stock", "percent", "percentage"],
    ) {
        (0, 100)
    } else {
        (1, 10_000)
    }
}

fn decimal(name: &str, type_min: f64, type_max: f64, scale: u32, bounds: &Bounds) -> Gen {
    let step = 10f64.powi(-(scale as i32));
    let lo = bounds
        .min
        .map_or(type_min, |(v, strict)| if strict { v + step } else { v })
        .max(type_min);
    let hi = bounds
        .max
        .map_or(type_max, |(v, strict)| if strict { v - step } else { v })
        .min(type_max);
    let (want_lo, want_hi): (f64, f64) = if has(name, &["lat", "latitude"]) {
        (-90.0, 90.0)
    } else if has(name, &["lng", "lon", "long", "longitude"]) {
        (-180.0, 180.0)
    } else if has(name, &["salary"]) {
        (30_000.0, 200_000.0)
    } else if has(name, &["rating", "score"]) {
        (1.0, 5.0)
    } else if has(name, &["percent", "percentage", "rate", "ratio"]) {
        (0.0, 100.0)
    } else {
        (1.0, 1000.0)
    };
    let (a, b) = (want_lo.max(lo), want_hi.min(hi));
    let (min, max) = if a <= b { (a, b) } else { (lo, hi.max(lo)) };
    Gen::Decimal { min, max, scale }
}

fn time_role(name: &str) -> TimeRole {
    if has(name, &["birth", "birthday", "dob", "born", "birthdate"]) || name.contains("birth") {
        TimeRole::Birth
    } else if has(
        name,
        &[
            "updated",
            "modified",
            "changed",
            "published",
            "ends",
            "end",
            "expires",
            "expiry",
            "finished",
            "completed",
            "closed",
            "deleted",
            "last",
            "due",
            "until",
            "to",
            "resolved",
            "shipped",
            "delivered",
            "cancelled",
            "canceled",
        ],
    ) {
        TimeRole::After
    } else if has(
        name,
        &[
            "created",
            "inserted",
            "joined",
            "registered",
            "starts",
            "start",
            "started",
            "signed",
            "at",
            "on",
            "date",
            "from",
            "since",
            "opened",
        ],
    ) {
        TimeRole::Anchor
    } else {
        TimeRole::Any
    }
}

/// The kind of text a column's name (and for a bare `name`, its table's) suggests.
fn text_kind(name: &str, table: &str) -> TextKind {
    let table = table.to_ascii_lowercase();
    if name.contains("email") {
        return TextKind::Email;
    }
    let kinds: &[(&[&str], TextKind)] = &[
        (
            &["first_name", "firstname", "given_name", "forename"],
            TextKind::FirstName,
        ),
        (
            &["last_name", "lastname", "surname", "family_name"],
            TextKind::LastName,
        ),
        (
            &[
                "full_name",
                "fullname",
                "display_name",
                "author",
                "contact_name",
            ],
            TextKind::FullName,
        ),
        (
            &[
                "username",
                "user_name",
                "login",
                "handle",
                "nickname",
                "screen_name",
            ],
            TextKind::Username,
        ),
        (&["slug", "permalink"], TextKind::Slug),
        (
            &[
                "avatar",
                "avatar_url",
                "image",
                "image_url",
                "photo",
                "picture",
                "thumbnail",
                "logo",
                "icon",
            ],
            TextKind::Image,
        ),
        (
            &["url", "website", "homepage", "link", "href", "site"],
            TextKind::Url,
        ),
        (
            &[
                "phone",
                "mobile",
                "telephone",
                "tel",
                "cell",
                "fax",
                "phone_number",
            ],
            TextKind::Phone,
        ),
        (
            &[
                "address",
                "street",
                "address_line",
                "address1",
                "address2",
                "line1",
                "line2",
            ],
            TextKind::Street,
        ),
        (&["city", "town"], TextKind::City),
        (&["country_code"], TextKind::CountryCode),
        (&["country", "nationality"], TextKind::Country),
        (&["state", "province", "region"], TextKind::State),
        (
            &["zip", "zipcode", "zip_code", "postal_code", "postcode"],
            TextKind::Zip,
        ),
        (
            &[
                "company",
                "organization",
                "organisation",
                "employer",
                "company_name",
            ],
            TextKind::Company,
        ),
        (
            &[
                "title", "headline", "subject", "heading", "label", "caption",
            ],
            TextKind::Title,
        ),
        (
            &[
                "description",
                "bio",
                "about",
                "summary",
                "body",
                "content",
                "text",
                "comment",
                "message",
                "notes",
                "note",
                "details",
                "excerpt",
                "review",
            ],
            TextKind::Paragraph,
        ),
        (
            &[
                "password",
                "password_hash",
                "hash",
                "token",
                "secret",
                "api_key",
                "salt",
                "digest",
                "checksum",
            ],
            TextKind::Secret,
        ),
        (&["color", "colour", "hex"], TextKind::Color),
        (&["currency", "currency_code"], TextKind::Currency),
        (&["locale", "language", "lang"], TextKind::Locale),
        (&["timezone", "time_zone", "tz"], TextKind::TimeZone),
        (
            &["ip", "ip_address", "ipaddress", "remote_addr"],
            TextKind::IpAddress,
        ),
        (
            &[
                "code",
                "sku",
                "reference",
                "ref",
                "serial",
                "coupon",
                "barcode",
            ],
            TextKind::Code,
        ),
    ];
    for (names, kind) in kinds {
        if has(name, names) {
            return *kind;
        }
    }
    if name == "name" {
        let person = [
            "user", "person", "people", "customer", "member", "employee", "author", "student",
            "contact", "account", "profile", "staff", "teacher", "patient", "client", "owner",
        ];
        let firm = [
            "company",
            "companies",
            "organization",
            "organisation",
            "org",
            "team",
            "vendor",
            "supplier",
            "tenant",
            "brand",
            "publisher",
            "merchant",
        ];
        if person.iter().any(|p| table.contains(p)) {
            return TextKind::FullName;
        }
        if firm.iter().any(|p| table.contains(p)) {
            return TextKind::Company;
        }
    }
    TextKind::Words
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn draw(g: &Gen, n: u64, seed: u64) -> String {
        let mut rng = Rng::seed_from_u64(seed);
        let row = Row::new(&mut rng, n);
        let mut out = String::new();
        g.draw(&mut rng, &row, &mut out);
        out
    }

    fn ty(name: &str, modifiers: &[i64]) -> PgType {
        PgType {
            name: name.to_owned(),
            schema: None,
            modifiers: modifiers.to_vec(),
            array_dims: 0,
        }
    }

    #[test]
    fn the_stream_is_the_same_for_the_same_seed() {
        let g = choose(
            &ty("text", &[]),
            "email",
            "users",
            &Bounds::default(),
            None,
            true,
        )
        .unwrap();
        assert_eq!(draw(&g, 7, 42), draw(&g, 7, 42));
        assert_ne!(draw(&g, 7, 42), draw(&g, 7, 43));
        assert!(
            draw(&g, 7, 42).contains("7@example."),
            "{}",
            draw(&g, 7, 42)
        );
    }

    #[test]
    fn lengths_fit_the_type_and_keep_the_number() {
        let g = choose(
            &ty("character varying", &[14]),
            "title",
            "posts",
            &Bounds::default(),
            None,
            true,
        )
        .unwrap();
        for n in [1, 99, 123_456] {
            for seed in 0..20 {
                let v = draw(&g, n, seed);
                assert!(v.chars().count() <= 14, "{v:?}");
                assert!(v.ends_with(&n.to_string()), "{v:?}");
                assert!(!v.starts_with(' '), "{v:?}");
            }
        }
        let b = Bounds {
            min_len: Some(30),
            ..Bounds::default()
        };
        let g = choose(&ty("text", &[]), "nick", "t", &b, None, false).unwrap();
        for seed in 0..20 {
            assert!(draw(&g, 1, seed).chars().count() >= 30);
        }
        let g = choose(
            &ty("character varying", &[3]),
            "code",
            "t",
            &Bounds::default(),
            None,
            true,
        )
        .unwrap();
        for seed in 0..20 {
            assert!(draw(&g, 1, seed).chars().count() <= 3);
        }
    }

    #[test]
    fn numbers_respect_precision_and_checks() {
        let b = Bounds {
            min: Some((0.0, true)),
            max: Some((5.0, false)),
            ..Bounds::default()
        };
        let g = choose(&ty("numeric", &[4, 2]), "price", "t", &b, None, false).unwrap();
        for seed in 0..50 {
            let v: f64 = draw(&g, 1, seed).parse().unwrap();
            assert!(v > 0.0 && v <= 5.0, "{v}");
        }
        let g = choose(
            &ty("numeric", &[3, 1]),
            "x",
            "t",
            &Bounds::default(),
            None,
            false,
        )
        .unwrap();
        for seed in 0..50 {
            let v: f64 = draw(&g, 1, seed).parse().unwrap();
            assert!(v.abs() < 100.0, "{v}");
        }
        let g = choose(
            &ty("smallint", &[]),
            "id",
            "t",
            &Bounds::default(),
            None,
            true,
        )
        .unwrap();
        assert_eq!(draw(&g, 5, 0), "5");
        assert_eq!(draw(&g, 70_000, 0), "32767");
    }

    #[test]
    fn dates_and_times_are_valid_text() {
        let mut s = String::new();
        write_date(&mut s, EPOCH_2020 + 59);
        assert_eq!(s, "2020-02-29");
        let mut s = String::new();
        write_timestamp(&mut s, 86_399, true);
        assert_eq!(s, "2020-01-01 23:59:59+00");
        let mut s = String::new();
        write_scaled(&mut s, -1234, 2);
        assert_eq!(s, "-12.34");
    }

    #[test]
    fn copy_escaping() {
        let mut s = String::new();
        copy_escape("a\tb\\c\nd\re", &mut s);
        assert_eq!(s, "a\\tb\\\\c\\nd\\re");
    }

    #[test]
    fn names_pick_kinds() {
        assert_eq!(text_kind("email_address", "x"), TextKind::Email);
        assert_eq!(text_kind("name", "users"), TextKind::FullName);
        assert_eq!(text_kind("name", "companies"), TextKind::Company);
        assert_eq!(text_kind("name", "tags"), TextKind::Words);
        assert_eq!(text_kind("avatar_url", "x"), TextKind::Image);
        assert_eq!(time_role("updated_at"), TimeRole::After);
        assert_eq!(time_role("created_at"), TimeRole::Anchor);
        assert_eq!(time_role("date_of_birth"), TimeRole::Birth);
    }
}
