//! Splitting SQL text into top-level statements exactly as the PostgreSQL server reads it, so
//! that each statement can be sent on its own (one statement per protocol message) and a
//! failure can be reported at its line.
//!
//! Nothing here is a hand-written lexer: statements come from libpg_query (`pg_query`), the
//! server's own scanner and grammar, so a routine parameter named `begin`, a `BEGIN ATOMIC`
//! body, a dollar quote or a nested comment end a statement exactly where the server would.
//! Transaction control (`BEGIN`, `COMMIT`, …) and `COPY … FROM STDIN` are recognised from the
//! parse tree, never from leading words. Text the parser rejects is a [`SyntaxError`] located
//! at its statement, reported before anything runs. Offsets are bytes into the text given, so
//! callers can map them to file lines.

use pg_query::protobuf::{ScanToken, Token, TransactionStmtKind};
use pg_query::NodeEnum;

/// One top-level statement: `text[start..end]`, from its first token to its last (comments
/// around it and the `;` excluded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

/// What the parse tree says a statement is, as far as the runner cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Anything else: sent as written.
    Plain,
    /// `BEGIN` / `START TRANSACTION`; `modes` is the byte range of its transaction modes
    /// (`ISOLATION LEVEL SERIALIZABLE`), if any.
    Begin { modes: Option<(usize, usize)> },
    /// `COMMIT` / `END` (without `AND CHAIN`).
    Commit,
    /// Any other statement that ends or changes the transaction: `ROLLBACK`, `ABORT`,
    /// `COMMIT AND CHAIN`, `PREPARE TRANSACTION`, `COMMIT PREPARED`, `ROLLBACK PREPARED`.
    OtherTransaction,
    /// `COPY … FROM STDIN`: needs psql's inline data, which a migration cannot carry here.
    CopyFromStdin,
}

impl Statement {
    /// What this statement does to the transaction, if anything.
    pub fn transaction_control(&self) -> Option<TxControl> {
        match self.kind {
            Kind::Begin { .. } => Some(TxControl::Begin),
            Kind::Commit => Some(TxControl::Commit),
            Kind::OtherTransaction => Some(TxControl::Other),
            Kind::Plain | Kind::CopyFromStdin => None,
        }
    }

    pub fn is_copy_from_stdin(&self) -> bool {
        self.kind == Kind::CopyFromStdin
    }
}

/// Transaction-control statements a migration may contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxControl {
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END`.
    Commit,
    /// `ROLLBACK`, `ABORT`, `PREPARE TRANSACTION`, `COMMIT PREPARED`, `COMMIT AND CHAIN`.
    Other,
}

/// Text the server's scanner or parser rejects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset (into the text given) of the statement, or of the line, where it fails.
    pub offset: usize,
    pub message: String,
}

/// A token of the server's scanner, with byte offsets into the text given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tok {
    pub start: usize,
    pub end: usize,
    pub token: Token,
}

impl Tok {
    pub fn is_comment(&self) -> bool {
        matches!(self.token, Token::SqlComment | Token::CComment)
    }
}

fn tok(t: &ScanToken) -> Tok {
    Tok {
        start: usize::try_from(t.start).unwrap_or(0),
        end: usize::try_from(t.end).unwrap_or(0),
        token: Token::try_from(t.token).unwrap_or(Token::Nul),
    }
}

/// The first NUL byte, which no SQL text may hold (the server refuses it too).
fn nul(text: &str) -> Option<SyntaxError> {
    text.find('\0').map(|offset| SyntaxError {
        offset,
        message: "a NUL byte (\\0), which SQL text cannot contain".into(),
    })
}

/// The server scanner's tokens (comments included) of `text`.
pub fn tokens(text: &str) -> Result<Vec<Tok>, SyntaxError> {
    if let Some(e) = nul(text) {
        return Err(e);
    }
    match pg_query::scan_tokens(text) {
        Ok(t) => Ok(t.iter().map(tok).collect()),
        Err(e) => {
            let message = strip(e);
            Err(SyntaxError {
                offset: near(text, &message).unwrap_or_else(|| scan_error_offset(text)),
                message,
            })
        }
    }
}

fn strip(e: pg_query::Error) -> String {
    match e {
        pg_query::Error::Scan(m) | pg_query::Error::Split(m) | pg_query::Error::Parse(m) => m,
        other => other.to_string(),
    }
}

/// Where the scanner's error is, from its message: `… at or near "REST"` quotes the text from
/// the failing token on, which for an unterminated string, comment or dollar quote is the
/// whole rest of the text.
fn near(text: &str, message: &str) -> Option<usize> {
    let (_, quoted) = message.split_once(" at or near \"")?;
    let rest = quoted.strip_suffix('"')?;
    if rest.is_empty() {
        return None;
    }
    if text.ends_with(rest) {
        return Some(text.len() - rest.len());
    }
    text.find(rest)
}

fn scans(text: &str) -> bool {
    pg_query::scan_tokens(text).is_ok()
}

/// Where the scanner's error starts: the start of the last line before which the text scans
/// cleanly (an unterminated string, comment or dollar quote opens on that line). Found by
/// bisection over line starts, so O(log lines) scans on the error path only.
fn scan_error_offset(text: &str) -> usize {
    let mut starts = vec![0usize];
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    starts.retain(|&s| s < text.len());
    // Invariant: text[..starts[lo]] scans; text[..starts[hi]] does not (or hi is the end).
    let (mut lo, mut hi) = (0usize, starts.len());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if scans(&text[..starts[mid]]) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    starts.get(lo).copied().unwrap_or(0)
}

/// Splits `text` into statements as the server's parser does. Text that holds only blanks
/// and comments yields nothing.
pub fn split(text: &str) -> Result<Vec<Statement>, SyntaxError> {
    let toks = tokens(text)?;
    let pieces = match pg_query::split_with_parser(text) {
        Ok(p) => p,
        Err(e) => {
            return Err(SyntaxError {
                offset: parse_error_offset(text, &toks),
                message: strip(e),
            })
        }
    };
    let base = text.as_ptr() as usize;
    let mut out = Vec::with_capacity(pieces.len());
    let mut next = 0usize; // index into toks
    for piece in pieces {
        let from = (piece.as_ptr() as usize).saturating_sub(base);
        let to = from + piece.len();
        while next < toks.len() && toks[next].start < from {
            next += 1;
        }
        let mut own: Vec<Tok> = Vec::new();
        let mut j = next;
        while j < toks.len() && toks[j].end <= to {
            if !toks[j].is_comment() && toks[j].token != Token::Ascii59 {
                own.push(toks[j]);
            }
            j += 1;
        }
        next = j;
        let (Some(first), Some(last)) = (own.first(), own.last()) else {
            continue;
        };
        let (start, end) = (first.start, last.end);
        let kind = classify(text, start, end, &own)?;
        out.push(Statement { start, end, kind });
    }
    Ok(out)
}

/// The first token kinds a `TransactionStmt` or a `CopyStmt` can start with in the grammar;
/// only statements starting with one of them need their parse tree.
fn may_matter(first: Token) -> bool {
    matches!(
        first,
        Token::BeginP
            | Token::Start
            | Token::Commit
            | Token::EndP
            | Token::Rollback
            | Token::AbortP
            | Token::Prepare
            | Token::Copy
    )
}

fn classify(text: &str, start: usize, end: usize, own: &[Tok]) -> Result<Kind, SyntaxError> {
    if !may_matter(own[0].token) {
        return Ok(Kind::Plain);
    }
    let sql = &text[start..end];
    let parsed =
        pg_query::parse(sql, pg_query::ParserOptions::default()).map_err(|e| SyntaxError {
            offset: start,
            message: strip(e),
        })?;
    let node = parsed
        .protobuf
        .stmts
        .first()
        .and_then(|s| s.stmt.as_ref())
        .and_then(|n| n.node.as_ref());
    Ok(match node {
        Some(NodeEnum::TransactionStmt(t)) => match t.kind() {
            TransactionStmtKind::TransStmtBegin | TransactionStmtKind::TransStmtStart => {
                // Skip BEGIN [WORK | TRANSACTION] / START TRANSACTION; the rest are the modes.
                let skip = match (own[0].token, own.get(1).map(|t| t.token)) {
                    (Token::BeginP, Some(Token::Work | Token::Transaction)) => 2,
                    (Token::BeginP, _) => 1,
                    _ => 2,
                };
                let modes = own.get(skip).map(|t| (t.start, end));
                Kind::Begin { modes }
            }
            TransactionStmtKind::TransStmtCommit if !t.chain => Kind::Commit,
            TransactionStmtKind::TransStmtSavepoint
            | TransactionStmtKind::TransStmtRelease
            | TransactionStmtKind::TransStmtRollbackTo => Kind::Plain,
            _ => Kind::OtherTransaction,
        },
        Some(NodeEnum::CopyStmt(c)) if c.is_from && c.filename.is_empty() && !c.is_program => {
            Kind::CopyFromStdin
        }
        _ => Kind::Plain,
    })
}

/// Where the parser's error is: the start of the first statement (cut at the scanner's
/// top-level `;`) that does not parse on its own.
fn parse_error_offset(text: &str, toks: &[Tok]) -> usize {
    let mut depth = 0usize;
    let mut start: Option<usize> = None;
    let try_piece = |s: usize, e: usize| {
        pg_query::parse(&text[s..e], pg_query::ParserOptions::default()).is_err()
    };
    for t in toks {
        if t.is_comment() {
            continue;
        }
        match t.token {
            Token::Ascii40 => depth += 1,
            Token::Ascii41 => depth = depth.saturating_sub(1),
            Token::Ascii59 if depth == 0 => {
                if let Some(s) = start.take() {
                    if try_piece(s, t.start) {
                        return s;
                    }
                }
                continue;
            }
            _ => {}
        }
        start.get_or_insert(t.start);
    }
    start.unwrap_or(0)
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
            .expect("parses")
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
        assert_eq!(
            texts("PREPARE p AS SELECT $1; SELECT a$b FROM t;"),
            ["PREPARE p AS SELECT $1", "SELECT a$b FROM t"]
        );
    }

    #[test]
    fn plpgsql_body_and_begin_atomic() {
        let sql = "CREATE OR REPLACE FUNCTION f() RETURNS TRIGGER AS $$\nBEGIN\n  NEW.x = 1;\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\nSELECT 1;";
        let s = split(sql).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(line_of(sql, s[1].start), 7);
        let atomic = "CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 END; SELECT 2; END; SELECT 3;";
        assert_eq!(texts(atomic).len(), 2, "{:?}", texts(atomic));
    }

    #[test]
    fn a_parameter_named_begin_does_not_open_a_block() {
        let sql = "CREATE FUNCTION f(begin int) RETURNS int LANGUAGE sql AS 'SELECT 1';\nCOMMIT;\nSELECT 2;";
        let s = split(sql).unwrap();
        assert_eq!(s.len(), 3, "{s:?}");
        assert_eq!(s[1].transaction_control(), Some(TxControl::Commit));
    }

    #[test]
    fn transaction_control_is_recognised() {
        let s = split("BEGIN; START TRANSACTION ISOLATION LEVEL SERIALIZABLE; COMMIT; END; ROLLBACK; ROLLBACK TO SAVEPOINT a; COMMIT PREPARED 'x'; SELECT 1; COPY t FROM STDIN; COMMIT AND CHAIN; COPY t FROM '/x';").unwrap();
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
                None,
                Some(Other),
                None,
            ]
        );
        assert!(s[8].is_copy_from_stdin());
        assert!(!s[10].is_copy_from_stdin());
        let sql = "START TRANSACTION ISOLATION LEVEL SERIALIZABLE";
        let s = split(sql).unwrap();
        let Kind::Begin {
            modes: Some((a, b)),
        } = s[0].kind
        else {
            panic!("{s:?}")
        };
        assert_eq!(&sql[a..b], "ISOLATION LEVEL SERIALIZABLE");
    }

    #[test]
    fn bad_input_is_a_located_error_and_never_panics() {
        let sql = "SELECT 1;\nSELECT 2;\nSELEC 3;\nSELECT 4;";
        let e = split(sql).unwrap_err();
        assert_eq!(line_of(sql, e.offset), 3, "{e:?}");
        let sql = "SELECT 1;\nSELECT 'a\nb';\nSELECT 'open;\nSELECT 4;";
        let e = split(sql).unwrap_err();
        assert_eq!(line_of(sql, e.offset), 4, "{e:?}");
        for sql in [
            "SELECT '",
            "SELECT $$",
            "/*",
            "SELECT \"",
            "E'\\",
            "$a",
            "$",
            "é;'",
            "SELECT 1\0",
        ] {
            assert!(split(sql).is_err(), "{sql}");
        }
        assert_eq!(char_offset("aé b", 3), 3);
        assert_eq!(char_offset("ab", 9), 2);
    }
}
