//! Cooking raw literals: escapes in strings and quoted names, indentation in `'''` strings.
//! Invalid escapes were already reported by the lexer; here they are kept as written.

use crate::syntax::ast::StrLit;

/// Applies DBML's backslash escapes to `body` (the text between the quotes).
fn unescape(body: &str) -> String {
    if !body.contains('\\') {
        return body.to_string();
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => out.push('\\'),
            Some('\n') => {}
            Some('\r') => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
            }
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('b') => out.push('\u{8}'),
            Some('v') => out.push('\u{b}'),
            Some('f') => out.push('\u{c}'),
            Some(' ') => out.push_str("\\ "),
            Some('u') => {
                let hex: String = chars.clone().take(4).collect();
                match (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .and_then(char::from_u32)
                {
                    Some(ch) => {
                        out.push(ch);
                        for _ in 0..4 {
                            chars.next();
                        }
                    }
                    None => out.push_str("\\u"),
                }
            }
            Some(other) => out.push(other),
        }
    }
    out
}

/// The offset of the first invalid `\u` escape in a literal's body, with its length.
pub(crate) fn invalid_escape(body: &str) -> Option<(usize, usize)> {
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1) == Some(&b'u') {
                let hex = body.get(i + 2..).unwrap_or("");
                let n = hex
                    .chars()
                    .take(4)
                    .take_while(char::is_ascii_hexdigit)
                    .count();
                if n < 4 {
                    return Some((i, 2 + n));
                }
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    None
}

/// A quoted name's text: `"a\"b"` gives `a"b`.
pub fn unquote_name(raw: &str) -> String {
    let body = raw
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(raw);
    unescape(body)
}

/// A string literal's value. For `'''` strings the common indentation is removed, and a blank
/// first and last line (next to the quotes) are dropped, so notes can be indented with the code.
pub fn cook_string(lit: &StrLit) -> String {
    let (open, close) = if lit.triple {
        ("'''", "'''")
    } else {
        ("'", "'")
    };
    let body = lit
        .raw
        .strip_prefix(open)
        .and_then(|s| s.strip_suffix(close))
        .unwrap_or(&lit.raw);
    if !lit.triple {
        return unescape(body);
    }
    let text = unescape(body).replace("\r\n", "\n");
    let mut lines: Vec<&str> = text.split('\n').collect();
    // As the reference does: blank lines at the top go, and the last line (the one the
    // closing quotes sit on) stays, dedented like the others, so the text ends with a newline.
    let blank_top = lines
        .iter()
        .take(lines.len().saturating_sub(1))
        .take_while(|l| l.trim().is_empty())
        .count();
    lines.drain(..blank_top);
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or_else(|| l.trim_start()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;

    fn lit(raw: &str) -> StrLit {
        StrLit {
            raw: raw.to_string(),
            span: Span::default(),
            triple: raw.starts_with("'''"),
        }
    }

    #[test]
    fn escapes() {
        assert_eq!(cook_string(&lit(r"'a\'b\n\u0041\\'")), "a'b\nA\\");
        assert_eq!(unquote_name(r#""say \"hi\"""#), "say \"hi\"");
        assert_eq!(invalid_escape(r"ab\u12"), Some((2, 4)));
        assert_eq!(invalid_escape(r"\u0041"), None);
    }

    #[test]
    fn triple_strings_lose_common_indentation() {
        let s = lit("'''\n    first\n      second\n    '''");
        assert_eq!(cook_string(&s), "first\n  second\n");
        let s = lit("'''\n\n      \n    first\n      second'''");
        assert_eq!(cook_string(&s), "first\n  second");
        let s = lit("'''\n    first\n      '''");
        assert_eq!(cook_string(&s), "first\n  ");
    }
}
