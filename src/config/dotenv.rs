//! A small, strict parser for `.env` files.
//!
//! It understands blank lines, `#` comments, an optional `export ` prefix, unquoted values (a
//! ` #` starts a trailing comment), single-quoted values (literal, may span lines) and
//! double-quoted values (may span lines; `\n`, `\r`, `\t`, `\"`, `\\`, `\$` are escapes). It never
//! panics and never stops at the first problem: every malformed line is reported with its line
//! number. Invariant: a problem message never contains a value from the file, only key names,
//! because values are where passwords live.

/// One `KEY=value` assignment, with the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// A malformed line: where it is and what is wrong (never the value itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

/// Parses a whole file. Entries come in file order (a later duplicate key overrides an earlier
/// one when the caller folds them into a map).
pub fn parse(text: &str) -> (Vec<Entry>, Vec<Problem>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let line = lines[i].strip_suffix('\r').unwrap_or(lines[i]);
        i += 1;
        let rest = line.trim_start();
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        let rest = match rest.strip_prefix("export") {
            Some(r) if r.starts_with([' ', '\t']) => r.trim_start(),
            _ => rest,
        };
        let Some(eq) = rest.find('=') else {
            problems.push(Problem {
                line: line_no,
                message: "expected KEY=VALUE".into(),
            });
            continue;
        };
        let key = rest[..eq].trim_end();
        if !valid_key(key) {
            problems.push(Problem {
                line: line_no,
                message: if key.is_empty() {
                    "missing variable name before `=`".into()
                } else {
                    "variable name must be letters, digits and `_`, not starting with a digit"
                        .into()
                },
            });
            continue;
        }
        let raw = rest[eq + 1..].trim_start();
        let parsed = match raw.chars().next() {
            Some(q @ ('"' | '\'')) => quoted(&raw[1..], q, &lines, &mut i),
            _ => Ok(unquoted(raw)),
        };
        match parsed {
            Ok(value) => entries.push(Entry {
                key: key.to_string(),
                value,
                line: line_no,
            }),
            Err(message) => problems.push(Problem {
                line: line_no,
                message: format!("{key}: {message}"),
            }),
        }
    }
    (entries, problems)
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// An unquoted value: up to a ` #` comment, surrounding blanks trimmed.
fn unquoted(raw: &str) -> String {
    let mut end = raw.len();
    let bytes = raw.as_bytes();
    for (pos, b) in bytes.iter().enumerate() {
        if *b == b'#' && pos > 0 && matches!(bytes[pos - 1], b' ' | b'\t') {
            end = pos;
            break;
        }
    }
    raw[..end].trim().to_string()
}

/// A quoted value starting just after the opening quote. It may continue on following lines
/// (`next` is advanced past them). After the closing quote only blanks or a comment may follow.
fn quoted(first: &str, quote: char, lines: &[&str], next: &mut usize) -> Result<String, String> {
    let mut value = String::new();
    let mut current = first.to_string();
    loop {
        let mut chars = current.char_indices();
        while let Some((pos, c)) = chars.next() {
            if c == quote {
                let after = current[pos + 1..].trim_start();
                if after.is_empty() || after.starts_with('#') {
                    return Ok(value);
                }
                return Err("unexpected text after the closing quote".into());
            }
            if c == '\\' && quote == '"' {
                match chars.next().map(|(_, e)| e) {
                    Some('n') => value.push('\n'),
                    Some('r') => value.push('\r'),
                    Some('t') => value.push('\t'),
                    Some(e @ ('"' | '\\' | '$' | '\'')) => value.push(e),
                    Some(e) => {
                        value.push('\\');
                        value.push(e);
                    }
                    None => value.push('\\'),
                }
                continue;
            }
            value.push(c);
        }
        // No closing quote on this line: the value continues on the next one.
        let Some(line) = lines.get(*next) else {
            return Err(format!("missing closing {quote}"));
        };
        *next += 1;
        value.push('\n');
        current = line.strip_suffix('\r').unwrap_or(line).to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Vec<(String, String)> {
        let (entries, problems) = parse(text);
        assert_eq!(problems, vec![], "unexpected problems for {text:?}");
        entries.into_iter().map(|e| (e.key, e.value)).collect()
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plain_comments_and_export() {
        let text = "# comment\n\nA=1\nexport B = two words  # trailing\n  C=x#notcomment\nD=\n";
        assert_eq!(
            ok(text),
            kv(&[
                ("A", "1"),
                ("B", "two words"),
                ("C", "x#notcomment"),
                ("D", "")
            ])
        );
    }

    #[test]
    fn quotes_and_escapes() {
        let text = "S='a \"b\" $c \\n'\nD=\"l1\\nl2 \\\"q\\\" \\\\ \\$x\" # c\nE=\"\"\n";
        assert_eq!(
            ok(text),
            kv(&[
                ("S", "a \"b\" $c \\n"),
                ("D", "l1\nl2 \"q\" \\ $x"),
                ("E", "")
            ])
        );
    }

    #[test]
    fn multi_line_values_and_crlf() {
        let text = "K=\"line1\r\nline2\"\r\nN=after\r\n";
        assert_eq!(ok(text), kv(&[("K", "line1\nline2"), ("N", "after")]));
        let (entries, _) = parse(text);
        assert_eq!(entries[1].line, 3);
    }

    #[test]
    fn malformed_lines_are_reported_with_numbers_and_never_values() {
        let text = "GOOD=1\nthis is not an assignment\n1BAD=x\nQ=\"secret-value\" trailing\nU='unterminated secret\nLAST=2";
        let (entries, problems) = parse(text);
        assert_eq!(entries.len(), 1);
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5]);
        for p in &problems {
            assert!(!p.message.contains("secret"), "{}", p.message);
        }
    }

    #[test]
    fn odd_input_never_panics() {
        for text in [
            "=",
            "export",
            "export =",
            "\"",
            "A=\\",
            "A=\"\\",
            "\u{feff}A=1",
            "é=1",
            "A=é#",
        ] {
            let _ = parse(text);
        }
        assert_eq!(ok("\u{feff}A=1"), kv(&[("A", "1")]));
    }
}
