//! What a plain SQL backup is, decided before `psql` sees it: a streaming reader that follows the
//! file the way psql 15 reads it (line by line; its lexer's quotes, comments, dollar quotes,
//! parentheses and `BEGIN … END` heuristic decide where psql sends a statement; a
//! `COPY … FROM stdin` statement makes the following lines data up to a line `\.`) and asks
//! PostgreSQL's own parser (`pg_query`) what each statement psql would send is.
//!
//! A script is accepted only if:
//! - no psql meta-command appears outside quotes (a backslash, `\;` included), except pg_dump's
//!   own `\restrict KEY` line before the first statement and its `\unrestrict KEY` line (same key)
//!   after the last one; those two lines are dropped from what psql gets, and nself puts a
//!   `\restrict` line with its own random key first, so psql itself refuses any meta-command;
//! - no psql variable reference (`:name`, `:'name'`, `:"name"`) appears outside quotes;
//! - no statement controls the transaction (BEGIN, START, COMMIT, END, ROLLBACK, ABORT,
//!   SAVEPOINT, RELEASE, PREPARE TRANSACTION), and each text psql sends is at most ONE statement
//!   for the server's parser (a disagreement between psql's heuristic and the server is refused);
//! - COPY reads only from stdin (no server file or program, no binary format), and nothing follows
//!   a `COPY … FROM stdin;` on its line;
//! - nothing is read differently under another `standard_conforming_strings` or client encoding:
//!   a plain string with a backslash right before a quote, an `E'…'` string with a backslash
//!   right after a non-ASCII byte, or an `E'` right after a number is refused; and no NUL byte.
//!
//! Memory is bounded by the longest statement ([`MAX_STATEMENT`]); COPY data is checked in pieces.
//! A refusal names the line and what was found, never the line's text.

use std::fmt;
use std::io::BufRead;

/// The longest statement (and SQL line) accepted.
pub const MAX_STATEMENT: usize = 64 << 20;
/// COPY data is checked in pieces of at most this many bytes.
const PIECE: usize = 1 << 20;

/// Why a script is refused: the line (1-based) and what was found there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub line: u64,
    pub what: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

/// What to do with a piece of input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Keep,
    /// pg_dump's `\restrict` / `\unrestrict` line: psql gets an empty line instead.
    Drop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lex {
    Normal,
    /// A plain, `B`, `X`, `N` or `U&` string: `''` doubles, no backslash escapes.
    Quote,
    /// An `E'…'` string: a backslash escapes the next byte.
    EQuote,
    /// A quoted identifier.
    Ident,
    /// A dollar-quoted string; the tag is in `tag`.
    Dollar,
    /// A block comment, nested this deep.
    Block(u32),
}

/// What the script holds, once read to the end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// pg_dump's `\restrict` key, if the script has one (and the matching `\unrestrict`).
    pub restrict: Option<String>,
    /// Whether the closing `\unrestrict` line was seen.
    pub unrestricted: bool,
    /// Whether the `-- PostgreSQL database dump complete` line was seen after the last statement.
    pub complete: bool,
    pub statements: u64,
    pub copies: u64,
    pub lines: u64,
}

/// The streaming checker. Feed it lines (see [`Validator::feed`]) or a whole reader
/// ([`validate`]).
pub struct Validator {
    line: u64,
    copy: bool,
    lex: Lex,
    tag: Vec<u8>,
    paren: u32,
    begin_depth: u32,
    idents: [u8; 4],
    ident_count: usize,
    unit: Vec<u8>,
    unit_line: u64,
    significant: bool,
    words: Vec<String>,
    summary: Summary,
    /// `COPY … FROM stdin` ended on the current line.
    copy_next: bool,
    /// The start of the current line is a line start (false for the later pieces of a long
    /// COPY data line).
    at_line_start: bool,
}

impl Default for Validator {
    fn default() -> Self {
        Validator::new()
    }
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_cont(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

fn is_restrict_key(k: &[u8]) -> bool {
    !k.is_empty() && k.len() <= 256 && k.iter().all(u8::is_ascii_alphanumeric)
}

/// Names of psql meta-commands worth naming in a refusal (anything else is "a backslash").
const KNOWN_META: &[&str] = &[
    "!",
    "?",
    ";",
    ":",
    ".",
    "\\",
    "c",
    "cd",
    "connect",
    "copy",
    "e",
    "echo",
    "edit",
    "ef",
    "ev",
    "encoding",
    "g",
    "gexec",
    "gset",
    "gx",
    "i",
    "include",
    "include_relative",
    "ir",
    "lo_export",
    "lo_import",
    "o",
    "out",
    "password",
    "prompt",
    "q",
    "qecho",
    "restrict",
    "s",
    "set",
    "setenv",
    "unrestrict",
    "unset",
    "w",
    "write",
    "x",
];

fn meta_name(rest: &[u8]) -> String {
    let name: Vec<u8> = match rest.first() {
        Some(c) if c.is_ascii_alphabetic() => rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .take(20)
            .copied()
            .collect(),
        Some(c) => vec![*c],
        None => Vec::new(),
    };
    let name = String::from_utf8_lossy(&name).into_owned();
    if KNOWN_META.contains(&name.as_str()) {
        format!("a psql meta-command `\\{name}`")
    } else {
        "a backslash outside quotes (a psql meta-command)".into()
    }
}

impl Validator {
    pub fn new() -> Validator {
        Validator {
            line: 0,
            copy: false,
            lex: Lex::Normal,
            tag: Vec::new(),
            paren: 0,
            begin_depth: 0,
            idents: [0; 4],
            ident_count: 0,
            unit: Vec::new(),
            unit_line: 0,
            significant: false,
            words: Vec::new(),
            summary: Summary::default(),
            copy_next: false,
            at_line_start: true,
        }
    }

    fn refuse<T>(&self, what: impl Into<String>) -> Result<T, Refusal> {
        Err(Refusal {
            line: self.line,
            what: what.into(),
        })
    }

    /// Whether the next line is read as COPY data (then feed it in pieces of any size).
    pub fn in_copy(&self) -> bool {
        self.copy
    }

    /// One line (without its `\n`) in SQL mode, or one piece of a line in COPY mode; `ends_line`
    /// says whether a `\n` followed it.
    pub fn feed(&mut self, bytes: &[u8], ends_line: bool) -> Result<Action, Refusal> {
        if self.at_line_start {
            self.line += 1;
        }
        let starts = self.at_line_start;
        self.at_line_start = ends_line;
        if bytes.contains(&0) {
            return self.refuse("a NUL byte");
        }
        if self.copy {
            if starts && ends_line && (bytes == b"\\." || bytes == b"\\.\r") {
                self.copy = false;
            }
            return Ok(Action::Keep);
        }
        if !ends_line && bytes.len() >= MAX_STATEMENT {
            return self.refuse(format!(
                "a line longer than {} MB outside COPY data",
                MAX_STATEMENT >> 20
            ));
        }
        let action = self.sql_line(bytes)?;
        if self.copy_next {
            self.copy_next = false;
            self.copy = true;
        }
        Ok(action)
    }

    fn sql_line(&mut self, b: &[u8]) -> Result<Action, Refusal> {
        let trimmed = b.strip_suffix(b"\r").unwrap_or(b);
        if self.lex == Lex::Normal && self.paren == 0 && !self.significant {
            if let Some(key) = trimmed.strip_prefix(b"\\restrict ") {
                if is_restrict_key(key) {
                    if self.summary.restrict.is_some() || self.summary.statements > 0 {
                        return self.refuse(
                            "a `\\restrict` line that is not pg_dump's one before the first statement",
                        );
                    }
                    self.summary.restrict = Some(String::from_utf8_lossy(key).into_owned());
                    self.unit.push(b'\n');
                    return Ok(Action::Drop);
                }
            }
            if let Some(key) = trimmed.strip_prefix(b"\\unrestrict ") {
                if is_restrict_key(key) {
                    if self.summary.restrict.as_deref().map(str::as_bytes) != Some(key)
                        || self.summary.unrestricted
                    {
                        return self.refuse(
                            "an `\\unrestrict` line that does not close pg_dump's `\\restrict`",
                        );
                    }
                    self.summary.unrestricted = true;
                    self.unit.push(b'\n');
                    return Ok(Action::Drop);
                }
            }
            if trimmed == b"-- PostgreSQL database dump complete" {
                self.summary.complete = true;
            }
        }
        let mut i = 0;
        let mut from = 0;
        let n = b.len();
        while i < n {
            let c = b[i];
            match self.lex {
                Lex::Quote => {
                    if c == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                        } else {
                            self.lex = Lex::Normal;
                            i += 1;
                        }
                    } else if c == b'\\' && b.get(i + 1) == Some(&b'\'') {
                        return self.refuse(
                            "a backslash right before a quote in a string (read differently when \
                             standard_conforming_strings is off)",
                        );
                    } else {
                        i += 1;
                    }
                }
                Lex::EQuote => {
                    if c == b'\\' {
                        if i > 0 && b[i - 1] >= 0x80 {
                            return self.refuse(
                                "a backslash right after a non-ASCII byte in an E'' string (read \
                                 differently in client encodings such as SJIS)",
                            );
                        }
                        i += 2;
                    } else if c == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                        } else {
                            self.lex = Lex::Normal;
                            i += 1;
                        }
                    } else {
                        i += 1;
                    }
                }
                Lex::Ident => {
                    if c == b'"' {
                        if b.get(i + 1) == Some(&b'"') {
                            i += 2;
                        } else {
                            self.lex = Lex::Normal;
                            i += 1;
                        }
                    } else {
                        i += 1;
                    }
                }
                Lex::Dollar => {
                    let tag = &self.tag;
                    match b[i..].windows(tag.len()).position(|w| w == tag.as_slice()) {
                        Some(p) => {
                            i += p + tag.len();
                            self.lex = Lex::Normal;
                        }
                        None => i = n,
                    }
                }
                Lex::Block(depth) => {
                    if c == b'/' && b.get(i + 1) == Some(&b'*') {
                        self.lex = Lex::Block(depth + 1);
                        i += 2;
                    } else if c == b'*' && b.get(i + 1) == Some(&b'/') {
                        self.lex = if depth <= 1 {
                            Lex::Normal
                        } else {
                            Lex::Block(depth - 1)
                        };
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                Lex::Normal => {
                    if c == b' ' || c == b'\t' || c == b'\r' || c == b'\x0c' || c == b'\x0b' {
                        i += 1;
                        continue;
                    }
                    if c == b'-' && b.get(i + 1) == Some(&b'-') {
                        i = n;
                        continue;
                    }
                    if c == b'/' && b.get(i + 1) == Some(&b'*') {
                        self.lex = Lex::Block(1);
                        i += 2;
                        continue;
                    }
                    if c == b'\\' {
                        return self.refuse(meta_name(&b[i + 1..]));
                    }
                    self.token()?;
                    match c {
                        b'\'' => {
                            self.lex = Lex::Quote;
                            i += 1;
                        }
                        b'"' => {
                            self.lex = Lex::Ident;
                            i += 1;
                        }
                        b'$' => {
                            let rest = &b[i + 1..];
                            if rest.first().is_some_and(u8::is_ascii_digit) {
                                i += 1 + rest.iter().take_while(|c| c.is_ascii_digit()).count();
                            } else {
                                let name = if rest.first().is_some_and(|c| {
                                    c.is_ascii_alphabetic() || *c == b'_' || *c >= 0x80
                                }) {
                                    rest.iter()
                                        .take_while(|c| {
                                            c.is_ascii_alphanumeric() || **c == b'_' || **c >= 0x80
                                        })
                                        .count()
                                } else {
                                    0
                                };
                                if rest.get(name) == Some(&b'$') {
                                    self.tag = b[i..i + name + 2].to_vec();
                                    self.lex = Lex::Dollar;
                                    i += name + 2;
                                } else {
                                    i += 1;
                                }
                            }
                        }
                        b':' => {
                            let next = b.get(i + 1).copied();
                            if next == Some(b':') {
                                i += 2;
                            } else if next.is_some_and(is_ident_start)
                                || (matches!(next, Some(b'\'') | Some(b'"'))
                                    && b.get(i + 2).is_some_and(|c| is_ident_cont(*c)))
                                || (next == Some(b'{') && b.get(i + 2) == Some(&b'?'))
                            {
                                return self
                                    .refuse("a psql variable reference (`:name`) outside quotes");
                            } else {
                                i += 1;
                            }
                        }
                        b'(' => {
                            self.paren += 1;
                            i += 1;
                        }
                        b')' => {
                            self.paren = self.paren.saturating_sub(1);
                            i += 1;
                        }
                        b';' => {
                            i += 1;
                            if self.paren == 0 && self.begin_depth == 0 {
                                self.unit.extend_from_slice(&b[from..i]);
                                from = i;
                                self.end_unit()?;
                                if self.copy_next {
                                    if b[i..].iter().any(|c| !matches!(c, b' ' | b'\t' | b'\r')) {
                                        return self.refuse(
                                            "text after `COPY … FROM stdin;` on the same line",
                                        );
                                    }
                                    self.unit.clear();
                                    return Ok(Action::Keep);
                                }
                            }
                        }
                        c if c.is_ascii_digit() => {
                            i += b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                        }
                        c if is_ident_start(c) => {
                            let len = b[i..].iter().take_while(|c| is_ident_cont(**c)).count();
                            let word = &b[i..i + len];
                            let next = b.get(i + len).copied();
                            if len == 1 && next == Some(b'\'') {
                                let prev = if i > 0 { b[i - 1] } else { b'\n' };
                                if c == b'e' || c == b'E' {
                                    if prev.is_ascii_digit() || prev == b'.' {
                                        return self.refuse(
                                            "an E'' string right after a number (ambiguous)",
                                        );
                                    }
                                    self.lex = Lex::EQuote;
                                    i += 2;
                                    continue;
                                }
                                if matches!(c, b'b' | b'B' | b'x' | b'X' | b'n' | b'N') {
                                    self.lex = Lex::Quote;
                                    i += 2;
                                    continue;
                                }
                            }
                            if len == 1 && (c == b'u' || c == b'U') && next == Some(b'&') {
                                match b.get(i + 2) {
                                    Some(b'\'') => {
                                        self.lex = Lex::Quote;
                                        i += 3;
                                        continue;
                                    }
                                    Some(b'"') => {
                                        self.lex = Lex::Ident;
                                        i += 3;
                                        continue;
                                    }
                                    _ => {}
                                }
                            }
                            let lower = String::from_utf8_lossy(word).to_ascii_lowercase();
                            self.identifier(&lower);
                            i += len;
                        }
                        _ => i += 1,
                    }
                }
            }
        }
        self.unit.extend_from_slice(&b[from..]);
        self.unit.push(b'\n');
        if self.unit.len() > MAX_STATEMENT {
            return Err(Refusal {
                line: self.unit_line,
                what: format!("a statement longer than {} MB", MAX_STATEMENT >> 20),
            });
        }
        Ok(Action::Keep)
    }

    /// A significant token starts (anything but whitespace and comments).
    fn token(&mut self) -> Result<(), Refusal> {
        if !self.significant {
            self.significant = true;
            self.unit_line = self.line;
            if self.summary.unrestricted {
                return self.refuse("SQL after pg_dump's closing `\\unrestrict` line");
            }
            self.summary.complete = false;
        }
        Ok(())
    }

    /// psql's heuristic (psqlscan.l) for `CREATE [OR REPLACE] FUNCTION|PROCEDURE … BEGIN … END`,
    /// whose semicolons do not end the statement.
    fn identifier(&mut self, w: &str) {
        if self.words.len() < 2 {
            self.words.push(w.to_owned());
        }
        if self.ident_count == 0 {
            self.idents = [0; 4];
        }
        if matches!(w, "create" | "function" | "procedure" | "or" | "replace")
            && self.ident_count < self.idents.len()
        {
            self.idents[self.ident_count] = w.as_bytes()[0];
        }
        self.ident_count += 1;
        let id = self.idents;
        if id[0] == b'c'
            && (id[1] == b'f'
                || id[1] == b'p'
                || (id[1] == b'o' && id[2] == b'r' && (id[3] == b'f' || id[3] == b'p')))
            && self.paren == 0
        {
            match w {
                "begin" => self.begin_depth += 1,
                "case" if self.begin_depth >= 1 => self.begin_depth += 1,
                "end" if self.begin_depth > 0 => self.begin_depth -= 1,
                _ => {}
            }
        }
    }

    /// The text psql sends (from the previous statement's end to this `;`, or to the end).
    fn end_unit(&mut self) -> Result<(), Refusal> {
        let significant = self.significant;
        let words = std::mem::take(&mut self.words);
        let unit = std::mem::take(&mut self.unit);
        self.significant = false;
        self.ident_count = 0;
        self.paren = 0;
        self.begin_depth = 0;
        if !significant {
            return Ok(());
        }
        let at = Refusal {
            line: self.unit_line,
            what: String::new(),
        };
        let refuse = |what: String| Err(Refusal { what, ..at.clone() });
        if unit.len() > MAX_STATEMENT {
            return refuse(format!(
                "a statement longer than {} MB",
                MAX_STATEMENT >> 20
            ));
        }
        let first = words.first().map(String::as_str).unwrap_or("");
        let second = words.get(1).map(String::as_str).unwrap_or("");
        if matches!(
            first,
            "begin" | "start" | "commit" | "end" | "rollback" | "abort" | "savepoint" | "release"
        ) || (first == "prepare" && second == "transaction")
        {
            let kw = if first == "prepare" {
                "PREPARE TRANSACTION".to_string()
            } else {
                first.to_ascii_uppercase()
            };
            return refuse(format!(
                "transaction control (`{kw}`): a restore is one transaction, the file may not \
                 end or split it"
            ));
        }
        let text = String::from_utf8_lossy(&unit);
        match pg_query::split_with_parser(&text) {
            Err(_) => {
                return refuse(
                    "a statement PostgreSQL's parser does not accept (or that psql would split \
                     differently)"
                        .into(),
                )
            }
            Ok(parts) if parts.len() > 1 => {
                return refuse(format!(
                    "text that psql sends as one statement but the server reads as {} statements",
                    parts.len()
                ))
            }
            Ok(_) => {}
        }
        if first == "copy" {
            self.copy_statement(&text, &at)?;
        }
        self.summary.statements += 1;
        Ok(())
    }

    fn copy_statement(&mut self, text: &str, at: &Refusal) -> Result<(), Refusal> {
        let refuse = |what: &str| {
            Err(Refusal {
                what: what.into(),
                ..at.clone()
            })
        };
        let Ok(parsed) = pg_query::parse(text, pg_query::ParserOptions::default()) else {
            return refuse("a COPY statement PostgreSQL's parser does not accept");
        };
        let copy = parsed
            .protobuf
            .stmts
            .first()
            .and_then(|s| s.stmt.as_ref())
            .and_then(|n| n.node.as_ref());
        let Some(pg_query::NodeEnum::CopyStmt(copy)) = copy else {
            return refuse("a statement starting with COPY that is not a COPY");
        };
        if copy.is_program || !copy.filename.is_empty() {
            return refuse("COPY to or from a server file or program");
        }
        let binary = copy.options.iter().any(|o| match &o.node {
            Some(pg_query::NodeEnum::DefElem(d)) => {
                d.defname.eq_ignore_ascii_case("format")
                    && match d.arg.as_ref().and_then(|a| a.node.as_ref()) {
                        Some(pg_query::NodeEnum::String(s)) => {
                            !matches!(s.sval.to_ascii_lowercase().as_str(), "text" | "csv")
                        }
                        _ => true,
                    }
            }
            _ => false,
        });
        if binary {
            return refuse("COPY in a format other than text or csv");
        }
        if copy.is_from {
            self.copy_next = true;
            self.summary.copies += 1;
        }
        Ok(())
    }

    /// The end of the input.
    pub fn finish(mut self) -> Result<Summary, Refusal> {
        if !self.copy {
            let what = match self.lex {
                Lex::Normal => None,
                Lex::Quote | Lex::EQuote => Some("the file ends inside a quoted string"),
                Lex::Ident => Some("the file ends inside a quoted identifier"),
                Lex::Dollar => Some("the file ends inside a dollar-quoted string"),
                Lex::Block(_) => Some("the file ends inside a /* comment */"),
            };
            if let Some(what) = what {
                return self.refuse(what);
            }
            self.end_unit()?;
        }
        self.summary.lines = self.line;
        Ok(self.summary)
    }
}

/// Where the validator hands each piece of input: the bytes, what they are, and whether a
/// `\n` followed them.
pub type Sink<'a> = dyn FnMut(&[u8], Action, bool) -> std::io::Result<()> + 'a;

/// Reads `input` line by line (COPY data in pieces), checking it; `out` gets each piece with
/// its action and whether a `\n` followed it.
pub fn validate(
    input: &mut impl BufRead,
    out: &mut Sink<'_>,
) -> Result<Result<Summary, Refusal>, std::io::Error> {
    let mut v = Validator::new();
    let mut line: Vec<u8> = Vec::new();
    loop {
        line.clear();
        let cap = if v.in_copy() { PIECE } else { MAX_STATEMENT };
        let ends = read_capped(input, &mut line, cap)?;
        if line.is_empty() && !ends {
            return Ok(v.finish());
        }
        match v.feed(&line, ends) {
            Ok(action) => out(&line, action, ends)?,
            Err(r) => return Ok(Err(r)),
        }
    }
}

/// Reads up to `cap` bytes or through the next `\n` (not kept); returns whether a `\n` ended it.
fn read_capped(input: &mut impl BufRead, buf: &mut Vec<u8>, cap: usize) -> std::io::Result<bool> {
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(false);
        }
        let room = cap - buf.len();
        let window = &chunk[..chunk.len().min(room)];
        if let Some(p) = window.iter().position(|c| *c == b'\n') {
            buf.extend_from_slice(&window[..p]);
            input.consume(p + 1);
            return Ok(true);
        }
        let took = window.len();
        buf.extend_from_slice(window);
        input.consume(took);
        if buf.len() >= cap {
            return Ok(false);
        }
    }
}

/// Checks a whole script held in memory (tests, small files).
pub fn check_text(text: &[u8]) -> Result<Summary, Refusal> {
    let mut r = std::io::BufReader::new(text);
    validate(&mut r, &mut |_, _, _| Ok(())).unwrap_or_else(|e| {
        Err(Refusal {
            line: 0,
            what: e.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn refused(text: &str) -> Refusal {
        check_text(text.as_bytes()).unwrap_err()
    }

    const HEAD: &str = "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc123\n\nSET x = 1;\n";
    const TAIL: &str = "\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc123\n\n";

    #[test]
    fn a_pg_dump_script_passes() {
        let text = format!(
            "{HEAD}CREATE TABLE t (id int, s text DEFAULT 'a\\b');\n\
             CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n SELECT 1;\n SELECT 2;\nEND;\n\
             CREATE FUNCTION g() RETURNS text AS $_$ select 'x;'; \\! $_$ LANGUAGE sql;\n\
             COPY public.t (id, s) FROM stdin;\n1\t\\\\! echo hi\n\\! rm -rf /\nBEGIN;\n\\.\n\
             SELECT E'it\\'s', 'a''b', \"we\"\"ird\", x::int, arr[1:2] FROM t;\n{TAIL}"
        );
        let s = check_text(text.as_bytes()).unwrap();
        assert_eq!(s.restrict.as_deref(), Some("abc123"));
        assert!(s.unrestricted && s.complete);
        assert_eq!((s.statements, s.copies), (6, 1));
    }

    #[test]
    fn meta_commands_and_transaction_control_are_refused_with_their_line() {
        let r = refused("SELECT 1;\n\\! echo hi\n");
        assert_eq!((r.line, r.what.as_str()), (2, "a psql meta-command `\\!`"));
        let r = refused("SELECT 1; \\gexec\n");
        assert_eq!(r.line, 1);
        assert!(r.what.contains("\\gexec"), "{r}");
        assert!(refused("SELECT 1\\; COMMIT;\n").what.contains("`\\;`"));
        for tx in [
            "COMMIT;",
            "commit work;",
            "END;",
            "BEGIN;",
            "START TRANSACTION;",
            "ROLLBACK;",
            "ABORT;",
            "SAVEPOINT a;",
            "RELEASE a;",
            "PREPARE TRANSACTION 'x';",
            "/* c */ COMMIT;",
        ] {
            let r = refused(&format!("CREATE TABLE a (x int);\n\n{tx}\n"));
            assert_eq!(r.line, 3, "{tx}");
            assert!(r.what.contains("transaction control"), "{tx}: {r}");
        }
        // psql's BEGIN heuristic fooled: the server sees two statements in one send.
        let r = refused(
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql RETURN begin; COMMIT; CREATE TABLE x (a int);\n",
        );
        assert!(r.what.contains("reads as 3 statements"), "{r}");
    }

    #[test]
    fn lexing_ambiguities_are_refused() {
        assert!(refused("SELECT 'a\\';\n")
            .what
            .contains("standard_conforming"));
        assert!(refused("SELECT E'\u{e9}\\'';\n").what.contains("non-ASCII"));
        assert!(refused("SELECT 1e'x';\n").what.contains("number"));
        assert!(refused("SELECT :foo;\n").what.contains("variable"));
        assert!(refused("SELECT 1;\0\n").what.contains("NUL"));
        assert!(refused("SELECT 'open\n").what.contains("quoted string"));
        assert!(refused("COPY t FROM stdin; SELECT 1;\n\\.\n")
            .what
            .contains("same line"));
        assert!(refused("COPY t FROM '/etc/passwd';\n")
            .what
            .contains("server file"));
        assert!(refused("COPY t FROM PROGRAM 'id';\n")
            .what
            .contains("program"));
        assert!(refused("COPY t FROM stdin (FORMAT binary);\n")
            .what
            .contains("format"));
        assert!(refused("\\restrict k1\nSELECT 1;\n\\unrestrict k2\n")
            .what
            .contains("unrestrict"));
        assert!(
            refused("\\restrict k1\nSELECT 1;\n\\unrestrict k1\nSELECT 2;\n")
                .what
                .contains("after")
        );
        // COPY data ends only at a line that is exactly \. ; what follows is SQL again.
        let r = refused("COPY t FROM stdin;\n1\n \\.\n\\.x\n\\.\n\\! id\n");
        assert_eq!(r.line, 6);
    }
}
