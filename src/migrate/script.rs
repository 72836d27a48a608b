//! Splitting SQL text into top-level statements, the way psql does, so that each statement can
//! be sent on its own and a failure can be reported at its line.
//!
//! The scanner knows just enough of PostgreSQL's lexical rules to find the semicolons that end
//! statements: `--` and nested `/* */` comments, `'…'` strings (with `''`), `E'…'` strings (with
//! backslash escapes), `"…"` identifiers, dollar quotes (`$$…$$`, `$tag$…$tag$`, but not `$1`
//! or `a$b`), parentheses, and SQL-standard function bodies (`CREATE FUNCTION … BEGIN ATOMIC …
//! END`), whose inner semicolons do not end the statement (psql's rule). It never fails: an
//! unterminated string or comment runs to the end of the text and the server reports it.
//! Offsets are bytes into the text given, so callers can map them to file lines.

/// One top-level statement: `text[start..end]`, from its first token to just before its `;`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub start: usize,
    pub end: usize,
    /// The statement's leading words, upper-cased (at most [`WORDS`]), outside strings and
    /// comments: enough to recognise `BEGIN`, `COMMIT`, `CREATE FUNCTION`, `COPY … FROM STDIN`.
    pub words: Vec<String>,
}

/// How many leading words a [`Statement`] remembers.
pub const WORDS: usize = 12;

impl Statement {
    pub fn first(&self) -> &str {
        self.words.first().map(String::as_str).unwrap_or("")
    }

    fn word(&self, i: usize) -> &str {
        self.words.get(i).map(String::as_str).unwrap_or("")
    }

    /// What this statement does to the transaction, if anything.
    pub fn transaction_control(&self) -> Option<TxControl> {
        match self.first() {
            "BEGIN" => Some(TxControl::Begin),
            "START" if self.word(1) == "TRANSACTION" => Some(TxControl::Begin),
            "COMMIT" | "END" if self.word(1) == "PREPARED" => Some(TxControl::Other),
            "COMMIT" | "END" => Some(TxControl::Commit),
            "ROLLBACK" | "ABORT" => {
                // ROLLBACK TO [SAVEPOINT] stays inside the transaction: harmless.
                if self.word(1) == "TO" || (self.word(1) == "WORK" && self.word(2) == "TO") {
                    None
                } else {
                    Some(TxControl::Other)
                }
            }
            "PREPARE" if self.word(1) == "TRANSACTION" => Some(TxControl::Other),
            _ => None,
        }
    }

    /// `COPY … FROM STDIN`: needs psql's inline data, which a migration cannot carry here.
    pub fn is_copy_from_stdin(&self) -> bool {
        self.first() == "COPY"
            && self
                .words
                .windows(2)
                .any(|w| w[0] == "FROM" && w[1] == "STDIN")
    }
}

/// Transaction-control statements a migration may contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxControl {
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END`.
    Commit,
    /// `ROLLBACK`, `ABORT`, `PREPARE TRANSACTION`, `COMMIT PREPARED`.
    Other,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_char(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

/// The tag of a dollar quote opening at `i` (`$$` or `$tag$`), as its full delimiter.
fn dollar_tag(bytes: &[u8], i: usize) -> Option<&[u8]> {
    let mut j = i + 1;
    if j < bytes.len() && bytes[j] == b'$' {
        return Some(&bytes[i..=j]);
    }
    if j >= bytes.len() || !is_ident_start(bytes[j]) {
        return None;
    }
    while j < bytes.len() && bytes[j] != b'$' {
        if !(is_ident_start(bytes[j]) || bytes[j].is_ascii_digit()) {
            return None;
        }
        j += 1;
    }
    if j < bytes.len() {
        Some(&bytes[i..=j])
    } else {
        None
    }
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || from > bytes.len() {
        return None;
    }
    bytes[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// Splits `text` into statements. Text that holds only blanks and comments yields nothing.
pub fn split(text: &str) -> Vec<Statement> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut current: Option<Statement> = None;
    let mut parens: usize = 0;
    let mut begin_depth: usize = 0;
    // Whether the statement so far reads `CREATE [OR REPLACE] FUNCTION|PROCEDURE`.
    let routine = |s: &Statement| {
        let w: Vec<&str> = s.words.iter().take(4).map(String::as_str).collect();
        matches!(
            w.as_slice(),
            ["CREATE", "FUNCTION" | "PROCEDURE", ..]
                | ["CREATE", "OR", "REPLACE", "FUNCTION" | "PROCEDURE", ..]
        )
    };
    let start_here = |current: &mut Option<Statement>, at: usize| {
        if current.is_none() {
            *current = Some(Statement {
                start: at,
                end: at,
                words: Vec::new(),
            });
        }
    };
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = find(bytes, i, b"\n").unwrap_or(bytes.len());
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 1;
                i += 2;
                while i < bytes.len() && depth > 0 {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ => {}
        }
        start_here(&mut current, i);
        let Some(stmt) = current.as_mut() else {
            continue;
        };
        match c {
            b';' if parens == 0 && begin_depth == 0 => {
                stmt.end = i;
                // A lone `;` is an empty statement: nothing to send.
                if let Some(s) = current.take().filter(|s| s.start < s.end) {
                    out.push(s);
                }
                parens = 0;
                i += 1;
                continue;
            }
            b'\'' => {
                i = skip_string(bytes, i, false);
            }
            b'"' => {
                i += 1;
                loop {
                    match find(bytes, i, b"\"") {
                        Some(q) if bytes.get(q + 1) == Some(&b'"') => i = q + 2,
                        Some(q) => {
                            i = q + 1;
                            break;
                        }
                        None => {
                            i = bytes.len();
                            break;
                        }
                    }
                }
            }
            b'$' => match dollar_tag(bytes, i) {
                Some(tag) => {
                    let body = i + tag.len();
                    i = find(bytes, body, tag)
                        .map(|e| e + tag.len())
                        .unwrap_or(bytes.len());
                }
                None => i += 1,
            },
            b'(' => {
                parens += 1;
                i += 1;
            }
            b')' => {
                parens = parens.saturating_sub(1);
                i += 1;
            }
            c if is_ident_start(c) => {
                // E'…' (and e'…'): a string with backslash escapes.
                if (c == b'E' || c == b'e') && bytes.get(i + 1) == Some(&b'\'') {
                    i = skip_string(bytes, i + 1, true);
                } else {
                    let s = i;
                    while i < bytes.len() && is_ident_char(bytes[i]) {
                        i += 1;
                    }
                    let word = String::from_utf8_lossy(&bytes[s..i]).to_ascii_uppercase();
                    if routine(stmt) {
                        match word.as_str() {
                            "BEGIN" | "CASE" => begin_depth += 1,
                            "END" => begin_depth = begin_depth.saturating_sub(1),
                            _ => {}
                        }
                    }
                    if stmt.words.len() < WORDS {
                        stmt.words.push(word);
                    }
                }
            }
            _ => {
                // Numbers, operators, punctuation: skip a whole run of identifier characters
                // so that `1e5` or `$1` never starts a word or a quote.
                i += 1;
                while c.is_ascii_digit() && i < bytes.len() && is_ident_char(bytes[i]) {
                    i += 1;
                }
            }
        }
        if let Some(s) = current.as_mut() {
            s.end = i.min(bytes.len());
        }
    }
    if let Some(mut s) = current.take() {
        s.end = trim_end(text, s.start, s.end);
        out.push(s);
    }
    out
}

/// The end of `text[start..end]` without trailing blanks.
fn trim_end(text: &str, start: usize, end: usize) -> usize {
    start + text[start..end].trim_end().len()
}

/// Skips a `'…'` string starting at the quote at `i`; `backslash` for `E'…'` strings.
fn skip_string(bytes: &[u8], i: usize, backslash: bool) -> usize {
    let mut j = i + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' if backslash => j += 2,
            b'\'' if bytes.get(j + 1) == Some(&b'\'') => j += 2,
            b'\'' => return j + 1,
            _ => j += 1,
        }
    }
    bytes.len()
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The byte offset of the 1-based character `position` within `text` (as the server counts
/// positions in an error), clamped to the text.
pub fn char_offset(text: &str, position: usize) -> usize {
    text.char_indices()
        .nth(position.saturating_sub(1))
        .map(|(o, _)| o)
        .unwrap_or(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql)
            .into_iter()
            .map(|s| &sql[s.start..s.end])
            .collect()
    }

    #[test]
    fn plain_statements_and_comments() {
        assert_eq!(
            texts("-- c\nSELECT 1; /* a; /* b; */ */ SELECT 2;\n\n-- end\n"),
            ["SELECT 1", "SELECT 2"]
        );
        assert_eq!(texts("SELECT 1"), ["SELECT 1"]);
        assert_eq!(texts("SELECT 1 \n  -- tail\n"), ["SELECT 1"]);
        assert!(texts("  -- only\n/* x; */ ;;").is_empty());
    }

    #[test]
    fn quotes_hide_semicolons() {
        let sql = "SELECT 'a;''b'; SELECT E'x\\';y'; SELECT \"q;\"\"\" FROM t; SELECT $$;$$, $f$ $$; $f$;";
        assert_eq!(
            texts(sql),
            [
                "SELECT 'a;''b'",
                "SELECT E'x\\';y'",
                "SELECT \"q;\"\"\" FROM t",
                "SELECT $$;$$, $f$ $$; $f$"
            ]
        );
        // $1 and a$b are not dollar quotes.
        assert_eq!(
            texts("PREPARE p AS SELECT $1; SELECT a$b FROM t;"),
            ["PREPARE p AS SELECT $1", "SELECT a$b FROM t"]
        );
    }

    #[test]
    fn plpgsql_body_and_begin_atomic() {
        let sql = "CREATE OR REPLACE FUNCTION f() RETURNS TRIGGER AS $$\nBEGIN\n  NEW.x = 1;\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\nSELECT 1;";
        let s = split(sql);
        assert_eq!(s.len(), 2);
        assert_eq!(line_of(sql, s[1].start), 7);
        let atomic = "CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 END; SELECT 2; END; SELECT 3;";
        assert_eq!(texts(atomic).len(), 2, "{:?}", texts(atomic));
    }

    #[test]
    fn transaction_control_is_recognised() {
        let s = split("BEGIN; START TRANSACTION ISOLATION LEVEL SERIALIZABLE; COMMIT; END; ROLLBACK; ROLLBACK TO SAVEPOINT a; COMMIT PREPARED 'x'; SELECT 1; COPY t FROM STDIN;");
        let kinds: Vec<_> = s.iter().map(|s| s.transaction_control()).collect();
        use TxControl::*;
        assert_eq!(
            kinds,
            [
                Some(Begin),
                Some(Begin),
                Some(Commit),
                Some(Commit),
                Some(Other),
                None,
                Some(Other),
                None,
                None
            ]
        );
        assert!(s[8].is_copy_from_stdin());
    }

    #[test]
    fn unterminated_input_never_panics() {
        for sql in [
            "SELECT '",
            "SELECT $$",
            "/*",
            "SELECT \"",
            "E'\\",
            "$a",
            "$",
            "é;'",
        ] {
            let _ = split(sql);
        }
        assert_eq!(char_offset("aé b", 3), 3);
        assert_eq!(char_offset("ab", 9), 2);
    }
}
