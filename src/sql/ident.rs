//! The one place identifiers are quoted.
//!
//! [`quote_ident`] applies exactly the rule of the server's `quote_ident()` (`quote_identifier`
//! in `ruleutils.c`): a name is left bare only if its first byte is `a`-`z` or `_`, every other
//! byte is `a`-`z`, `0`-`9` or `_` (note: not `$`, and nothing outside ASCII), and it is not a
//! keyword other than an unreserved one; otherwise it is wrapped in double quotes with inner
//! double quotes doubled. [`Ident`] and [`QualifiedName`] print themselves through it, so SQL
//! built with `Display` can never carry an unquoted name. This module never truncates or
//! rewrites a name silently: [`validate_ident`] reports what PostgreSQL would refuse or change,
//! and [`truncate_identifier`] does the server's truncation only when asked.

use super::keywords::{keyword_category, KeywordCategory};
use std::borrow::Cow;
use std::fmt;

/// `NAMEDATALEN - 1`: the longest identifier PostgreSQL stores, in bytes.
pub const MAX_IDENT_BYTES: usize = 63;

/// Quote `name` the way PostgreSQL's `quote_ident()` does.
///
/// Never panics. A NUL character cannot occur in a PostgreSQL identifier (the server's strings
/// are NUL-terminated), so it is written as U+FFFD instead: the output is always one complete,
/// well-formed quoted identifier. Callers reject such names first with [`validate_ident`].
pub fn quote_ident(name: &str) -> Cow<'_, str> {
    if is_bare_safe(name) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        match c {
            '"' => out.push_str("\"\""),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

/// Whether `name` may be written without quotes (see the module documentation for the rule).
fn is_bare_safe(name: &str) -> bool {
    let bytes = name.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if !(first.is_ascii_lowercase() || first == b'_') {
        return false;
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
    {
        return false;
    }
    !matches!(
        keyword_category(name),
        Some(KeywordCategory::ColName | KeywordCategory::TypeFuncName | KeywordCategory::Reserved)
    )
}

/// A problem PostgreSQL would have with an identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentProblem {
    /// The empty string: PostgreSQL rejects `""` as a zero-length delimited identifier.
    Empty,
    /// A NUL character: it cannot be represented in a PostgreSQL name at all.
    ContainsNul,
    /// Longer than [`MAX_IDENT_BYTES`]: the server would silently truncate it to `truncated`.
    TooLong { bytes: usize, truncated: String },
}

impl fmt::Display for IdentProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentProblem::Empty => f.write_str("identifier is empty"),
            IdentProblem::ContainsNul => f.write_str("identifier contains a NUL character"),
            IdentProblem::TooLong { bytes, truncated } => write!(
                f,
                "identifier is {bytes} bytes long; PostgreSQL keeps only {MAX_IDENT_BYTES} \
                 bytes and would truncate it to {}",
                quote_ident(truncated)
            ),
        }
    }
}

/// Every problem PostgreSQL would have with `name` as an identifier (empty when none).
pub fn validate_ident(name: &str) -> Vec<IdentProblem> {
    let mut problems = Vec::new();
    if name.is_empty() {
        problems.push(IdentProblem::Empty);
    }
    if name.contains('\0') {
        problems.push(IdentProblem::ContainsNul);
    }
    if name.len() > MAX_IDENT_BYTES {
        problems.push(IdentProblem::TooLong {
            bytes: name.len(),
            truncated: truncate_identifier(name).to_owned(),
        });
    }
    problems
}

/// What the server stores for `name`: at most [`MAX_IDENT_BYTES`] bytes, cut back to a
/// character boundary (`truncate_identifier` + `pg_mbcliplen` in a UTF-8 database).
/// Verified: `CREATE TABLE "zé…é"` with 40 `é` (81 bytes) is stored as `z` and 31 `é`.
pub fn truncate_identifier(name: &str) -> &str {
    clip_to_bytes(name, MAX_IDENT_BYTES)
}

/// The longest prefix of `s` that is at most `max` bytes and ends on a character boundary.
pub(crate) fn clip_to_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// An SQL identifier. Holds the name as PostgreSQL stores it (unquoted, case preserved);
/// `Display` writes it quoted by [`quote_ident`]. Equality is equality of the stored name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ident(String);

impl Ident {
    pub fn new(name: impl Into<String>) -> Ident {
        Ident(name.into())
    }
    /// The name as stored, without quotes.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&quote_ident(&self.0))
    }
}

impl From<&str> for Ident {
    fn from(s: &str) -> Ident {
        Ident(s.to_owned())
    }
}

impl From<String> for Ident {
    fn from(s: String) -> Ident {
        Ident(s)
    }
}

impl AsRef<str> for Ident {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A schema-qualified name. `Display` always writes both parts, `schema.name`, each quoted by
/// [`quote_ident`], so the statement does not depend on the session's `search_path`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct QualifiedName {
    pub schema: Ident,
    pub name: Ident,
}

impl QualifiedName {
    pub fn new(schema: impl Into<Ident>, name: impl Into<Ident>) -> QualifiedName {
        QualifiedName {
            schema: schema.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::keywords::KEYWORDS;
    use super::*;

    /// Each expected value is what `SELECT quote_ident($1)` returned on PostgreSQL 15.18.
    #[test]
    fn quote_ident_matches_server() {
        let cases = [
            ("users", "users"),
            ("_x", "_x"),
            ("a1_b2", "a1_b2"),
            ("a$b", "\"a$b\""),
            ("$a", "\"$a\""),
            ("1a", "\"1a\""),
            ("Ab", "\"Ab\""),
            ("é", "\"é\""),
            ("a\"b", "\"a\"\"b\""),
            ("", "\"\""),
            ("a b", "\"a b\""),
            ("a\"b; DROP TABLE x", "\"a\"\"b; DROP TABLE x\""),
            // unreserved keywords stay bare
            ("abort", "abort"),
            ("name", "name"),
            ("key", "key"),
            // column-name keywords (int, between), type/function-name keywords (left,
            // authorization), reserved keywords (user, select) are quoted
            ("int", "\"int\""),
            ("between", "\"between\""),
            ("left", "\"left\""),
            ("authorization", "\"authorization\""),
            ("user", "\"user\""),
            ("select", "\"select\""),
            ("SELECT", "\"SELECT\""),
        ];
        for (input, expected) in cases {
            assert_eq!(quote_ident(input), expected, "quote_ident({input:?})");
        }
    }

    #[test]
    fn bare_names_are_borrowed() {
        assert!(matches!(quote_ident("users"), Cow::Borrowed("users")));
    }

    #[test]
    fn nul_never_panics_and_stays_inside_the_quotes() {
        assert_eq!(quote_ident("a\0b"), "\"a\u{FFFD}b\"");
        assert_eq!(validate_ident("a\0b"), vec![IdentProblem::ContainsNul]);
    }

    #[test]
    fn keyword_table_is_sorted_and_complete() {
        assert!(KEYWORDS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(KEYWORDS.len(), 460);
        let count = |c: KeywordCategory| KEYWORDS.iter().filter(|(_, k)| *k == c).count();
        // Counts per category as pg_get_keywords() reported on PostgreSQL 15.18.
        assert_eq!(count(KeywordCategory::Unreserved), 309);
        assert_eq!(count(KeywordCategory::ColName), 51);
        assert_eq!(count(KeywordCategory::TypeFuncName), 23);
        assert_eq!(count(KeywordCategory::Reserved), 77);
        assert_eq!(keyword_category("zone"), Some(KeywordCategory::Unreserved));
        assert_eq!(keyword_category("abort"), Some(KeywordCategory::Unreserved));
        assert_eq!(keyword_category("users"), None);
    }

    #[test]
    fn validate_reports_each_problem() {
        assert!(validate_ident("users").is_empty());
        assert_eq!(validate_ident(""), vec![IdentProblem::Empty]);
        let a63 = "a".repeat(63);
        assert!(validate_ident(&a63).is_empty());
        let a64 = "a".repeat(64);
        assert_eq!(
            validate_ident(&a64),
            vec![IdentProblem::TooLong {
                bytes: 64,
                truncated: a63.clone()
            }]
        );
    }

    /// Verified on PostgreSQL 15.18: `CREATE TABLE "z" || 'é' x 40` gave a NOTICE and stored
    /// `z` followed by 31 `é` (63 bytes); 40 `é` alone (80 bytes) stored 31 `é` (62 bytes).
    #[test]
    fn truncation_respects_char_boundaries() {
        let z = format!("z{}", "é".repeat(40));
        assert_eq!(truncate_identifier(&z), format!("z{}", "é".repeat(31)));
        let e = "é".repeat(40);
        assert_eq!(truncate_identifier(&e), "é".repeat(31));
        assert_eq!(truncate_identifier("short"), "short");
    }

    #[test]
    fn display_quotes_through_the_one_function() {
        assert_eq!(Ident::new("Users").to_string(), "\"Users\"");
        assert_eq!(
            QualifiedName::new("public", "users").to_string(),
            "public.users"
        );
        assert_eq!(
            QualifiedName::new("My Schema", "user").to_string(),
            "\"My Schema\".\"user\""
        );
    }

    /// Compares [`KEYWORDS`] and [`quote_ident`] with a live server. Runs against the test suite's own throwaway cluster.
    #[test]
    fn keywords_match_live_server() {
        let db = crate::local::testing::fresh_database();
        let mut client = db.client();
        let rows = client
            .query(
                "SELECT word, catcode::text, quote_ident(word) FROM pg_get_keywords() \
                 ORDER BY word COLLATE \"C\"",
                &[],
            )
            .unwrap();
        assert_eq!(rows.len(), KEYWORDS.len());
        for (row, (word, cat)) in rows.iter().zip(KEYWORDS) {
            let w: String = row.get(0);
            let c: String = row.get(1);
            let q: String = row.get(2);
            assert_eq!((w.as_str(), c.chars().next()), (*word, Some(cat.code())));
            assert_eq!(quote_ident(word), q);
        }
    }
}
