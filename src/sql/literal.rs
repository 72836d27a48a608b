//! The one place values become SQL literals.
//!
//! [`quote_literal`] produces exactly what the server's `quote_literal(text)` produces: `'…'`
//! with single quotes doubled, and, only when the value contains a backslash, the escape-string
//! form `E'…'` with backslashes doubled as well. That choice keeps every literal meaning the
//! same whatever `standard_conforming_strings` is set to: a plain `'…'` without backslashes
//! reads the same under both settings, and `E'…'` is independent of the setting. (The setting
//! is on by default since PostgreSQL 9.1, but a migration file may be replayed by any client
//! with any session settings, and with it off a bare `\'` would end a literal early.) Control
//! characters such as newlines and tabs are written as they are, which the server accepts
//! inside both forms. This module never emits anything but a complete literal and never
//! panics; the other helpers validate numbers and booleans so that a "number" taken from user
//! input can never carry SQL text.

/// Quote `value` as a string literal, as the server's `quote_literal()` does.
///
/// A NUL character cannot be stored in a PostgreSQL text value; it is written as U+FFFD so the
/// literal stays well-formed (callers should reject such values before getting here).
pub fn quote_literal(value: &str) -> String {
    let escape = value.contains('\\');
    let mut out = String::with_capacity(value.len() + 3);
    if escape {
        out.push('E');
    }
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A literal as the server prints it back (`simple_quote_literal` in `ruleutils.c`, used by
/// `pg_get_expr`): `'…'` with single quotes doubled and backslashes as they are. This is the
/// text the catalog shows for a stored default, so the canonical form uses it to compare; it
/// means the same as [`quote_literal`] only with `standard_conforming_strings` on, which is
/// why SQL that carries such text sets it first.
pub fn stored_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The SQL spelling of a boolean constant.
pub fn bool_literal(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

/// Parse `text` the way the server's `boolin` does: surrounding whitespace ignored, case
/// ignored, and any prefix of `true`, `false`, `yes`, `no` accepted, plus `on`, `off` (and
/// `of`), `1` and `0`. `None` when PostgreSQL would reject the value.
pub fn parse_bool(text: &str) -> Option<bool> {
    let t = text.trim().to_ascii_lowercase();
    let prefix_of = |word: &str| !t.is_empty() && word.starts_with(t.as_str());
    match t.as_bytes().first()? {
        b't' if prefix_of("true") => Some(true),
        b'f' if prefix_of("false") => Some(false),
        b'y' if prefix_of("yes") => Some(true),
        b'n' if prefix_of("no") => Some(false),
        b'o' if t == "on" => Some(true),
        b'o' if t.len() >= 2 && prefix_of("off") => Some(false),
        b'1' if t.len() == 1 => Some(true),
        b'0' if t.len() == 1 => Some(false),
        _ => None,
    }
}

/// `text` (surrounding whitespace removed) if it is a numeric constant PostgreSQL 15's lexer
/// accepts, optionally preceded by a minus sign: `digits`, `digits.digits`, `digits.`,
/// `.digits`, each with an optional exponent `e[+-]digits`. Anything else gives `None`, so the
/// result is safe to splice into SQL as is. (PostgreSQL 15 has no `_` separators and no
/// `0x` literals; those came in 16. `NaN` and `Infinity` are not constants but strings:
/// quote them with [`quote_literal`].)
pub fn numeric_literal(text: &str) -> Option<&str> {
    let t = text.trim();
    let body = t.strip_prefix('-').unwrap_or(t).as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while body.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut mantissa = digits(&mut i);
    if body.get(i) == Some(&b'.') {
        i += 1;
        mantissa += digits(&mut i);
    }
    if mantissa == 0 {
        return None;
    }
    if matches!(body.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(body.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    (i == body.len()).then_some(t)
}

/// Whether `text` is an integer constant (optional minus sign, then digits only).
pub fn is_integer_literal(text: &str) -> bool {
    let t = text.trim();
    let body = t.strip_prefix('-').unwrap_or(t);
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Expected values are what `SELECT quote_literal($1)` returned on PostgreSQL 15.18.
    #[test]
    fn quote_literal_matches_server() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
        assert_eq!(quote_literal("\\"), "E'\\\\'");
        assert_eq!(quote_literal("\\'"), "E'\\\\'''");
        assert_eq!(quote_literal("x\ny"), "'x\ny'");
        assert_eq!(quote_literal(""), "''");
        assert_eq!(
            quote_literal("'); DROP TABLE x; --"),
            "'''); DROP TABLE x; --'"
        );
    }

    #[test]
    fn nul_does_not_panic() {
        assert_eq!(quote_literal("a\0b"), "'a\u{FFFD}b'");
    }

    /// Expected values are what `SELECT $1::boolean` gave on PostgreSQL 15.18 (None: error).
    #[test]
    fn parse_bool_matches_server() {
        let cases = [
            ("t", Some(true)),
            ("tr", Some(true)),
            ("tru", Some(true)),
            ("true", Some(true)),
            ("TRUE", Some(true)),
            (" yes ", Some(true)),
            ("y", Some(true)),
            ("ye", Some(true)),
            ("on", Some(true)),
            ("oN", Some(true)),
            ("o", None),
            ("of", Some(false)),
            ("off", Some(false)),
            ("1", Some(true)),
            ("0", Some(false)),
            ("n", Some(false)),
            ("no", Some(false)),
            ("f", Some(false)),
            ("fa", Some(false)),
            ("false", Some(false)),
            ("2", None),
            ("", None),
            ("truex", None),
            ("01", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_bool(text), expected, "{text:?}");
        }
        assert_eq!(bool_literal(true), "true");
        assert_eq!(bool_literal(false), "false");
    }

    /// `SELECT 1e3, .5, 5., -1.5e-3` is accepted and `1_000` rejected by PostgreSQL 15.18.
    #[test]
    fn numeric_literals() {
        for ok in [
            "0", "42", "-7", "1e3", ".5", "5.", "-1.5e-3", "1E+10", " 3.14 ",
        ] {
            assert!(numeric_literal(ok).is_some(), "{ok:?}");
        }
        for bad in [
            "", "-", ".", "e3", "1e", "1_000", "0x1F", "1;DROP", "NaN", "1.2.3", "--1", "+1",
        ] {
            assert_eq!(numeric_literal(bad), None, "{bad:?}");
        }
        assert_eq!(numeric_literal(" -1.5 "), Some("-1.5"));
        assert!(is_integer_literal("-12"));
        assert!(!is_integer_literal("1.0"));
        assert!(!is_integer_literal("-"));
    }
}
