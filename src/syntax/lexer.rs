//! The DBML lexer: logos turns text into raw tokens, and [`Lexer`] adapts them for the grammar.
//!
//! The adapter is where DBML's layout rules live, so that the grammar stays context-free:
//! - a newline ends a line only at top level or directly inside `{ }`; inside `( )` and `[ ]` it
//!   is white space, and a newline before `{` is dropped (`Table t` / `{` on the next line);
//! - `(` and `[` written right after a token, with no white space, are *tight* (`varchar(255)`,
//!   `int[]`), otherwise *loose* (`id int [pk]`, `(a, b) [unique]`); inside `( )` and `[ ]` every
//!   `(` is tight, as the reference reads `varchar (255)` in a list as a call;
//! - `use` / `reuse` at the start of a top-level line are keywords;
//! - nesting deeper than [`MAX_DEPTH`] is cut off with one diagnostic, so nothing downstream can
//!   recurse without bound.
//!
//! Bad input never stops lexing: it becomes an `Error` token plus a diagnostic.

use crate::diag::{Diagnostic, FileId, Span};
use crate::syntax::codes;
use logos::Logos;

/// Deepest bracket nesting accepted; deeper input is reported once and skipped.
pub const MAX_DEPTH: usize = 128;

/// Most tokens on one line; the rest of a longer line is reported once and skipped, so a
/// pathological one-line file cannot make one line's tree grow without bound.
pub const MAX_LINE_TOKENS: usize = 65_536;

// Every pattern that can match an unbounded run (white space, comments, names, numbers,
// literals) matches only its first character here and scans the rest in a callback with a loop:
// logos compiles repetitions into state functions that call each other, which a debug build does
// not turn into a loop, so a 1 MB name would overflow the stack.
#[derive(Logos, Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    #[regex(r"[ \t\r\x0C\u{FEFF}]", blank)]
    #[token("//", line_comment)]
    Blank,
    #[token("\n")]
    Newline,
    #[token("/*", block_comment)]
    BlockComment(bool),
    #[regex(r"[\p{L}\p{M}_]", ident_rest)]
    Ident,
    #[regex(r"[0-9]", number)]
    Number(NumKind),
    #[token("'", string)]
    Str(bool),
    #[token("\"", quoted)]
    Quoted(bool),
    #[token("`", backtick)]
    Backtick(bool),
    #[token("#", ident_rest)]
    Color,
    #[token(",")]
    Comma,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token(";")]
    Semicolon,
    #[token(":")]
    Colon,
    #[token("*")]
    Star,
    #[token(".")]
    Dot,
    #[token("~")]
    Tilde,
    #[token("<")]
    #[token(">")]
    #[token("<>")]
    #[token("-")]
    #[token("<=")]
    #[token(">=")]
    #[token("->")]
    #[token("<-")]
    #[token("-?")]
    #[token("?-")]
    #[token("?-?")]
    #[token("?>")]
    #[token(">?")]
    #[token("?>?")]
    #[token("?<")]
    #[token("<?")]
    #[token("?<?")]
    #[token("?<>")]
    #[token("<>?")]
    #[token("?<>?")]
    #[token("?")]
    RelOp,
    #[token("+")]
    #[token("/")]
    #[token("%")]
    #[token("&")]
    #[token("|")]
    #[token("!")]
    #[token("=")]
    #[token("==")]
    #[token("!=")]
    OtherOp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumKind {
    Number,
    Ident,
    Invalid,
}

fn blank(lex: &mut logos::Lexer<Raw>) -> logos::Skip {
    let n = lex
        .remainder()
        .bytes()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\x0C'))
        .count();
    lex.bump(n);
    logos::Skip
}

fn line_comment(lex: &mut logos::Lexer<Raw>) -> logos::Skip {
    let rest = lex.remainder();
    lex.bump(rest.find('\n').unwrap_or(rest.len()));
    logos::Skip
}

/// The rest of a name (or of a color after `#`).
fn ident_rest(lex: &mut logos::Lexer<Raw>) {
    let rest = lex.remainder();
    // ASCII first (nearly every name), then characters if a non-ASCII one follows.
    let ascii = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    let n = if rest.as_bytes().get(ascii).is_some_and(|b| !b.is_ascii()) {
        rest[ascii..]
            .char_indices()
            .find(|&(_, c)| !is_ident_char(c))
            .map_or(rest.len(), |(i, _)| ascii + i)
    } else {
        ascii
    };
    lex.bump(n);
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || is_mark(c)
}

fn is_mark(c: char) -> bool {
    // Combining marks (\p{M}) that `is_alphanumeric` does not cover; the common blocks suffice.
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Numbers follow the reference: digits, at most one `.`, an optional exponent; digits followed
/// by letters make an identifier (`2fa_codes`); a second `.` or letters after a fraction make an
/// invalid number.
fn number(lex: &mut logos::Lexer<Raw>) -> NumKind {
    let rest = lex.remainder();
    let bytes = rest.as_bytes();
    let mut i = 0;
    let mut seen_dot = false;
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii_digit() {
            i += 1;
        } else if b == b'.' && !seen_dot && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            seen_dot = true;
            i += 1;
        } else if (b == b'e' || b == b'E') && exponent_follows(&bytes[i + 1..]) {
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let tail = rest[i..].chars().next();
            if tail.is_some_and(|c| is_ident_char(c) || c == '.') {
                return invalid_tail(lex, i);
            }
            lex.bump(i);
            return NumKind::Number;
        } else {
            break;
        }
    }
    let tail = rest[i..].chars().next();
    match tail {
        Some(c) if is_ident_char(c) && !seen_dot => {
            let end = rest[i..]
                .char_indices()
                .find(|&(_, c)| !is_ident_char(c))
                .map_or(rest.len(), |(j, _)| i + j);
            lex.bump(end);
            NumKind::Ident
        }
        Some(c) if is_ident_char(c) || (c == '.' && seen_dot) => invalid_tail(lex, i),
        _ => {
            lex.bump(i);
            NumKind::Number
        }
    }
}

/// After `e`/`E`: an optional sign, then a digit.
fn exponent_follows(after: &[u8]) -> bool {
    let digits = match after.first() {
        Some(b'+' | b'-') => &after[1..],
        _ => after,
    };
    digits.first().is_some_and(u8::is_ascii_digit)
}

fn invalid_tail(lex: &mut logos::Lexer<Raw>, from: usize) -> NumKind {
    let rest = lex.remainder();
    let end = rest[from..]
        .char_indices()
        .find(|&(_, c)| !(is_ident_char(c) || c == '.'))
        .map_or(rest.len(), |(j, _)| from + j);
    lex.bump(end);
    NumKind::Invalid
}

/// Scans to `close`, skipping backslash escapes when `escapes`; stops at a newline when
/// `!multiline`. Returns whether the literal was terminated.
fn scan_until(lex: &mut logos::Lexer<Raw>, close: &str, multiline: bool, escapes: bool) -> bool {
    let rest = lex.remainder();
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(close.as_bytes()) {
            lex.bump(i + close.len());
            return true;
        }
        match bytes[i] {
            b'\\' if escapes => {
                // Skip the escaped character whole (it may be multi-byte or a newline).
                i += 1;
                if let Some(c) = rest.get(i..).and_then(|s| s.chars().next()) {
                    i += c.len_utf8();
                }
            }
            b'\n' if !multiline => {
                lex.bump(i);
                return false;
            }
            _ => i += 1,
        }
    }
    lex.bump(bytes.len().min(rest.len()));
    false
}

fn string(lex: &mut logos::Lexer<Raw>) -> bool {
    if lex.remainder().starts_with("''") {
        lex.bump(2);
        scan_until(lex, "'''", true, true)
    } else {
        scan_until(lex, "'", false, true)
    }
}

fn quoted(lex: &mut logos::Lexer<Raw>) -> bool {
    scan_until(lex, "\"", false, true)
}

fn backtick(lex: &mut logos::Lexer<Raw>) -> bool {
    scan_until(lex, "`", true, false)
}

fn block_comment(lex: &mut logos::Lexer<Raw>) -> logos::FilterResult<bool, ()> {
    if scan_until(lex, "*/", true, false) {
        logos::FilterResult::Skip
    } else {
        logos::FilterResult::Emit(false)
    }
}

/// Tokens as the grammar sees them. Values are slices of the source (cooked later by
/// [`crate::syntax::cook`]), so lexing allocates nothing per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok<'a> {
    Newline,
    Ident(&'a str),
    /// `"…"` including the quotes.
    Quoted(&'a str),
    Number(&'a str),
    /// `'…'` or `'''…'''` including the quotes.
    Str(&'a str),
    /// `` `…` `` including the backticks.
    Backtick(&'a str),
    Color(&'a str),
    Comma,
    LParenTight,
    LParen,
    RParen,
    LBracketTight,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Colon,
    Semicolon,
    Star,
    Dot,
    Tilde,
    RelOp(&'a str),
    OtherOp(&'a str),
    Use(&'a str),
    /// Something the lexer could not make sense of; a diagnostic was already reported.
    Error,
}

impl std::fmt::Display for Tok<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Tok::Newline => "a newline",
            Tok::Ident(s) | Tok::Use(s) => return write!(f, "`{s}`"),
            Tok::Quoted(_) => "a quoted name",
            Tok::Number(s) => return write!(f, "number `{s}`"),
            Tok::Str(_) => "a string",
            Tok::Backtick(_) => "an expression",
            Tok::Color(s) => return write!(f, "color `{s}`"),
            Tok::Comma => "`,`",
            Tok::LParenTight | Tok::LParen => "`(`",
            Tok::RParen => "`)`",
            Tok::LBracketTight | Tok::LBracket => "`[`",
            Tok::RBracket => "`]`",
            Tok::LBrace => "`{`",
            Tok::RBrace => "`}`",
            Tok::Colon => "`:`",
            Tok::Semicolon => "`;`",
            Tok::Star => "`*`",
            Tok::Dot => "`.`",
            Tok::Tilde => "`~`",
            Tok::RelOp(s) | Tok::OtherOp(s) => return write!(f, "`{s}`"),
            Tok::Error => "an invalid token",
        };
        f.write_str(s)
    }
}

pub type Spanned<'a> = (usize, Tok<'a>, usize);

/// The adapter over logos; an iterator of `(start, token, end)` as lalrpop wants.
pub struct Lexer<'a> {
    raw: logos::Lexer<'a, Raw>,
    file: FileId,
    src: &'a str,
    /// Open brackets (b'(' b'[' b'{') with their offsets.
    stack: Vec<(u8, usize)>,
    /// Depth beyond MAX_DEPTH while skipping a too-deep region.
    skipping: usize,
    prev_end: Option<usize>,
    at_line_start: bool,
    pending: Option<Spanned<'a>>,
    pending_newline: Option<(usize, usize)>,
    /// Whether the last token handed out was a newline (the stream always ends with one).
    ended_line: bool,
    /// The current top-level line started with `use`/`reuse`.
    line_is_use: bool,
    /// A top-level block just closed: the next token starts a new line.
    pending_newline_after: bool,
    /// Where this lexer stops (the end of the source, or a split point; see `parser`).
    end: usize,
    /// A token ran past `end`: the split point was not a clean line boundary.
    pub crossed_end: bool,
    /// Tokens handed out since the last newline.
    line_tokens: usize,
    /// Skipping the rest of an over-long line: the bracket depth when skipping began.
    line_skip: Option<usize>,
    pub diagnostics: crate::diag::Diagnostics,
    /// Closing brackets (and a newline) made up by recovery, handed out before lexing goes on;
    /// the last one first.
    synth: Vec<Spanned<'a>>,
    /// The last token handed out by [`Lexer::next_raw`].
    prev_tok: Option<Tok<'a>>,
}

/// Top-level elements whose line, written at the start of a line inside a block with a `{` on
/// it, shows the block before it lacks its `}` (none of them can start a line in a block).
const ELEMENTS: &[&str] = &[
    "table",
    "tablepartial",
    "enum",
    "tablegroup",
    "project",
    "diagramview",
    "ref",
    "note",
    "records",
];

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str, file: FileId) -> Lexer<'a> {
        Lexer::range(src, file, 0, src.len())
    }

    /// Lexes `src[start..end]` with positions relative to the whole of `src`. `start` must be
    /// the start of a top-level line; [`Lexer::clean_end`] tells afterwards whether `end` was.
    pub fn range(src: &'a str, file: FileId, start: usize, end: usize) -> Lexer<'a> {
        let mut raw = Raw::lexer(src);
        raw.bump(start.min(src.len()));
        Lexer {
            raw,
            file,
            src,
            stack: Vec::new(),
            skipping: 0,
            prev_end: None,
            at_line_start: true,
            pending: None,
            pending_newline: None,
            ended_line: true,
            line_is_use: false,
            pending_newline_after: false,
            end: end.min(src.len()),
            crossed_end: false,
            line_tokens: 0,
            line_skip: None,
            diagnostics: crate::diag::Diagnostics::new(),
            synth: Vec::new(),
            prev_tok: None,
        }
    }

    /// After lexing to the end: whether the range ended at top level between tokens, so that
    /// lexing the rest separately gives the same tokens as lexing everything at once.
    pub fn clean_end(&self) -> bool {
        !self.crossed_end && self.stack.is_empty() && self.skipping == 0
    }

    fn span(&self, s: usize, e: usize) -> Span {
        Span::new(self.file, s, e)
    }

    fn error(&mut self, code: &'static str, msg: impl Into<String>, s: usize, e: usize) {
        let span = self.span(s, e);
        self.diagnostics.push(Diagnostic::error(code, msg, span));
    }

    fn newline_counts(&self) -> bool {
        matches!(self.stack.last(), None | Some((b'{', _)))
    }

    /// The next token with layout rules applied, before newline folding.
    fn next_raw(&mut self) -> Option<Spanned<'a>> {
        let t = match self.synth.pop() {
            Some(t) => Some(t),
            None => self.lex_raw(),
        };
        self.prev_tok = t.map(|t| t.1);
        t
    }

    fn lex_raw(&mut self) -> Option<Spanned<'a>> {
        loop {
            let Some(raw) = self.raw.next() else {
                return self.close_at_eof();
            };
            let range = self.raw.span();
            let (s, e) = (range.start, range.end);
            if s >= self.end {
                return self.close_at_eof();
            }
            if e > self.end {
                self.crossed_end = true;
            }
            let text = &self.src[s..e];
            let tight = self.prev_end == Some(s);
            let raw = match raw {
                Ok(r) => r,
                Err(()) => {
                    let c = text.chars().next().unwrap_or('?');
                    self.error(
                        codes::UNKNOWN_SYMBOL,
                        format!("unexpected character {c:?}"),
                        s,
                        e,
                    );
                    self.prev_end = Some(e);
                    return Some((s, Tok::Error, e));
                }
            };
            // Bracket bookkeeping and the depth limit.
            let opens = match raw {
                Raw::LParen => Some(b'('),
                Raw::LBracket => Some(b'['),
                Raw::LBrace => Some(b'{'),
                _ => None,
            };
            if self.skipping > 0 {
                match raw {
                    _ if opens.is_some() => self.skipping += 1,
                    Raw::RParen | Raw::RBracket | Raw::RBrace => self.skipping -= 1,
                    _ => {}
                }
                continue;
            }
            if let Some(o) = opens {
                if self.stack.len() >= MAX_DEPTH {
                    self.error(
                        codes::TOO_DEEP,
                        format!("brackets nested deeper than {MAX_DEPTH} levels"),
                        s,
                        e,
                    );
                    self.skipping = 1;
                    continue;
                }
                let inside_group = matches!(self.stack.last(), Some((b'(' | b'[', _)));
                self.stack.push((o, s));
                self.prev_end = Some(e);
                let tok = match raw {
                    Raw::LParen if tight || inside_group => Tok::LParenTight,
                    Raw::LParen => Tok::LParen,
                    Raw::LBracket if tight => Tok::LBracketTight,
                    Raw::LBracket => Tok::LBracket,
                    _ => Tok::LBrace,
                };
                return Some((s, tok, e));
            }
            let tok = match raw {
                Raw::Newline => {
                    self.prev_end = None;
                    if !self.newline_counts() && self.bracket_ends_here() {
                        self.close_brackets(s, true);
                    }
                    if self.stack.last().is_some_and(|&(b, _)| b == b'{') {
                        if let Some(kw) = self.element_after(e) {
                            self.close_blocks(kw, s);
                        }
                    }
                    if !self.synth.is_empty() {
                        self.synth.insert(0, (s, Tok::Newline, e));
                        return self.synth.pop();
                    }
                    if self.newline_counts() {
                        return Some((s, Tok::Newline, e));
                    }
                    continue;
                }
                Raw::RParen | Raw::RBracket | Raw::RBrace => {
                    let want = match raw {
                        Raw::RParen => b'(',
                        Raw::RBracket => b'[',
                        _ => b'{',
                    };
                    // A closer that skips open `(`/`[` (`[pk }`): those are reported where they
                    // open and closed here, so the line keeps its meaning.
                    if let Some(pos) = self.stack.iter().rposition(|&(b, _)| b == want) {
                        if pos + 1 < self.stack.len()
                            && self.stack[pos + 1..].iter().all(|&(b, _)| b != b'{')
                        {
                            self.close_brackets(s, false);
                        }
                    }
                    // Pop to the matching opener; an unmatched closer leaves the stack alone
                    // (the grammar reports it).
                    if let Some(pos) = self.stack.iter().rposition(|&(b, _)| b == want) {
                        self.stack.truncate(pos);
                        // `Table a { … }Table b { … }`: a top-level block ends its line.
                        if pos == 0 && want == b'{' && !self.line_is_use {
                            self.pending_newline_after = true;
                        }
                    }
                    let tok = match raw {
                        Raw::RParen => Tok::RParen,
                        Raw::RBracket => Tok::RBracket,
                        _ => Tok::RBrace,
                    };
                    if !self.synth.is_empty() {
                        self.prev_end = Some(e);
                        self.synth.insert(0, (s, tok, e));
                        return self.synth.pop();
                    }
                    tok
                }
                Raw::BlockComment(_) => {
                    self.error(
                        codes::UNTERMINATED,
                        "unterminated block comment",
                        s,
                        (s + 2).min(e),
                    );
                    continue;
                }
                Raw::Ident => Tok::Ident(text),
                Raw::Number(NumKind::Number) => Tok::Number(text),
                Raw::Number(NumKind::Ident) => Tok::Ident(text),
                Raw::Number(NumKind::Invalid) => {
                    self.error(
                        codes::INVALID_NUMBER,
                        format!("invalid number `{text}`"),
                        s,
                        e,
                    );
                    Tok::Error
                }
                Raw::Str(ok) | Raw::Quoted(ok) | Raw::Backtick(ok) => {
                    if !ok {
                        let what = match raw {
                            Raw::Str(_) => "string",
                            Raw::Quoted(_) => "quoted name",
                            _ => "expression",
                        };
                        let hint = if self.src[e..].starts_with('\n') {
                            " before the end of the line"
                        } else {
                            " before the end of the file"
                        };
                        self.error(
                            codes::UNTERMINATED,
                            format!("unterminated {what}: the closing quote is missing{hint}"),
                            s,
                            e,
                        );
                        Tok::Error
                    } else {
                        if !matches!(raw, Raw::Backtick(_)) {
                            if let Some((at, n)) = crate::syntax::cook::invalid_escape(text) {
                                self.error(
                                    codes::INVALID_ESCAPE,
                                    "invalid unicode escape: expected `\\u` and four hexadecimal digits",
                                    s + at,
                                    s + at + n,
                                );
                            }
                        }
                        match raw {
                            Raw::Str(_) => Tok::Str(text),
                            Raw::Quoted(_) => Tok::Quoted(text),
                            _ => Tok::Backtick(text),
                        }
                    }
                }
                Raw::Color => Tok::Color(text),
                Raw::Comma => Tok::Comma,
                Raw::Semicolon => Tok::Semicolon,
                Raw::Colon => Tok::Colon,
                Raw::Star => Tok::Star,
                Raw::Dot => Tok::Dot,
                Raw::Tilde => Tok::Tilde,
                Raw::RelOp => Tok::RelOp(text),
                Raw::OtherOp => Tok::OtherOp(text),
                Raw::LParen | Raw::LBracket | Raw::LBrace | Raw::Blank => Tok::Error,
            };
            self.prev_end = Some(e);
            return Some((s, tok, e));
        }
    }
}

impl<'a> Lexer<'a> {
    /// At a newline inside `(`/`[`: whether the bracket was left open on its line. It was when
    /// the line ended on a value (not on `,`, `:`, an operator or the bracket itself) and the
    /// next line starts like a new line of the block: a name followed by a name or `{`
    /// (`id int [pk` then `name text`). A list continued on the next line always starts
    /// with `,`, `]`, a setting (`note:`) or a lone word, so valid input never matches.
    /// Looks two tokens ahead, and only at newlines inside brackets.
    fn bracket_ends_here(&self) -> bool {
        let value_end = matches!(
            self.prev_tok,
            Some(
                Tok::Ident(_)
                    | Tok::Quoted(_)
                    | Tok::Number(_)
                    | Tok::Str(_)
                    | Tok::Backtick(_)
                    | Tok::Color(_)
                    | Tok::RParen
                    | Tok::RBracket
            )
        );
        if !value_end {
            return false;
        }
        let mut peek = self.raw.clone();
        let mut next = || loop {
            match peek.next() {
                Some(Ok(Raw::Newline)) => continue,
                other => return other,
            }
        };
        let name = |t: &Option<Result<Raw, ()>>| {
            matches!(
                t,
                Some(Ok(Raw::Ident
                    | Raw::Quoted(true)
                    | Raw::Number(NumKind::Ident)))
            )
        };
        let first = next();
        if !name(&first) {
            return false;
        }
        let second = peek.next();
        name(&second) || matches!(second, Some(Ok(Raw::LBrace)))
    }

    /// Closes every `(`/`[` above the innermost `{` with a made-up closer at `at`, reporting
    /// each where it opens (innermost first). `line_end`: closed because its line ended.
    fn close_brackets(&mut self, at: usize, line_end: bool) {
        let mut closers = Vec::new();
        while let Some(&(open, pos)) = self.stack.last() {
            if open == b'{' {
                break;
            }
            self.stack.pop();
            let (what, close, tok) = if open == b'(' {
                ("`(`", ')', Tok::RParen)
            } else {
                ("`[`", ']', Tok::RBracket)
            };
            let mut d = Diagnostic::error(
                codes::UNCLOSED,
                format!("this {what} is never closed"),
                self.span(pos, pos + 1),
            );
            d = if line_end {
                d.with_label(format!("expected a matching `{close}` on this line"))
                    .with_secondary(self.span(at, at), format!("the `{close}` is missing here"))
            } else {
                d.with_label(format!("expected a matching `{close}`"))
                    .with_secondary(self.span(at, at + 1), "closed here without it")
            };
            // After a token the lexer already reported (an unterminated string swallowed the
            // `]`), the closer is made up silently.
            if line_end || self.prev_tok != Some(Tok::Error) {
                self.diagnostics.push(d);
            }
            closers.push((at, tok, at));
        }
        // Handed out innermost first: `synth` pops from the end.
        closers.reverse();
        self.synth.extend(closers);
    }

    /// At a newline inside a block: the span of an element keyword that starts the next line
    /// at its first column, on a line with a `{` (`Table posts {`; `Ref` also with `:` and a
    /// relation; `Note` and `Records` only with a name before the `{`) — the block was never
    /// closed. Costs one byte test per newline, and a look at the next line when it starts
    /// with a letter.
    fn element_after(&self, nl_end: usize) -> Option<(usize, usize)> {
        if !self.src.as_bytes().get(nl_end)?.is_ascii_alphabetic() || nl_end >= self.end {
            return None;
        }
        let mut peek = self.raw.clone();
        let kw = match peek.next()? {
            Ok(Raw::Ident) => peek.slice(),
            _ => return None,
        };
        let kw_span = (peek.span().start, peek.span().end);
        if kw_span.0 != nl_end {
            return None;
        }
        let kw = kw.to_ascii_lowercase();
        if !ELEMENTS.contains(&kw.as_str()) {
            return None;
        }
        let needs_name = kw == "note" || kw == "records";
        let mut first = true;
        let (mut brace, mut colon, mut relation) = (false, false, false);
        for t in peek {
            match t {
                Ok(Raw::Newline) => break,
                Ok(Raw::Ident | Raw::Quoted(true)) => {}
                Ok(Raw::LBrace) => brace = true,
                Ok(Raw::Colon) => colon = true,
                Ok(Raw::RelOp) if colon => relation = true,
                _ if first && needs_name => return None,
                _ => {}
            }
            if first && needs_name && brace {
                return None;
            }
            first = false;
        }
        (brace || (kw == "ref" && relation)).then_some(kw_span)
    }

    /// Closes every bracket open (each reported where it opens, innermost first) with a
    /// made-up closer at `at` (the newline), because an element starts at `kw`.
    fn close_blocks(&mut self, kw: (usize, usize), at: usize) {
        let mut closers = Vec::new();
        while let Some((open, pos)) = self.stack.pop() {
            let (what, close, tok) = match open {
                b'(' => ("`(`", ')', Tok::RParen),
                b'[' => ("`[`", ']', Tok::RBracket),
                _ => ("`{`", '}', Tok::RBrace),
            };
            self.diagnostics.push(
                Diagnostic::error(
                    codes::UNCLOSED,
                    format!("this {what} is never closed"),
                    self.span(pos, pos + 1),
                )
                .with_label(format!(
                    "expected a matching `{close}` before the next element"
                ))
                .with_secondary(self.span(kw.0, kw.1), "the next element starts here"),
            );
            closers.push((at, tok, at));
        }
        closers.reverse();
        self.synth.extend(closers);
    }

    /// At the end of input, closes every bracket still open (innermost first) with a token of
    /// its own, after reporting it: the grammar then always completes, and the lines before
    /// the unclosed bracket keep their meaning.
    fn close_at_eof(&mut self) -> Option<Spanned<'a>> {
        let (open, at) = self.stack.pop()?;
        let (what, tok) = match open {
            b'(' => ("`(`", Tok::RParen),
            b'[' => ("`[`", Tok::RBracket),
            _ => ("`{`", Tok::RBrace),
        };
        let close = match open {
            b'(' => ')',
            b'[' => ']',
            _ => '}',
        };
        let span = self.span(at, at + 1);
        self.diagnostics.push(
            Diagnostic::error(
                codes::UNCLOSED,
                format!("this {what} is never closed"),
                span,
            )
            .with_label(format!(
                "expected a matching `{close}` before the end of the file"
            )),
        );
        let n = self.end;
        Some((n, tok, n))
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Spanned<'a>;

    fn next(&mut self) -> Option<Spanned<'a>> {
        let t = self.next_capped();
        match t {
            Some(t) => {
                self.ended_line = t.1 == Tok::Newline;
                Some(t)
            }
            None if !self.ended_line => {
                self.ended_line = true;
                let n = self.end;
                Some((n, Tok::Newline, n))
            }
            None => None,
        }
    }
}

impl<'a> Lexer<'a> {
    /// Applies [`MAX_LINE_TOKENS`]: past it, tokens are dropped up to the next newline, except
    /// closing brackets that close what was open before the cut.
    fn next_capped(&mut self) -> Option<Spanned<'a>> {
        loop {
            let t = self.next_folded()?;
            if t.1 == Tok::Newline {
                self.line_tokens = 0;
                self.line_skip = None;
                return Some(t);
            }
            if let Some(depth) = self.line_skip {
                let closes = matches!(t.1, Tok::RBrace | Tok::RParen | Tok::RBracket);
                if closes && self.stack.len() < depth {
                    self.line_skip = Some(self.stack.len());
                    return Some(t);
                }
                continue;
            }
            self.line_tokens += 1;
            if self.line_tokens > MAX_LINE_TOKENS {
                self.error(
                    codes::LINE_TOO_LONG,
                    format!(
                        "line has more than {MAX_LINE_TOKENS} tokens; the rest of it is skipped"
                    ),
                    t.0,
                    t.2,
                );
                // The depth before this token: an opener it dropped has its closer dropped too.
                let opener = matches!(
                    t.1,
                    Tok::LBrace
                        | Tok::LParen
                        | Tok::LParenTight
                        | Tok::LBracket
                        | Tok::LBracketTight
                );
                self.line_skip = Some(self.stack.len().saturating_sub(usize::from(opener)));
                continue;
            }
            return Some(t);
        }
    }

    fn next_folded(&mut self) -> Option<Spanned<'a>> {
        if let Some(t) = self.pending.take() {
            return Some(t);
        }
        loop {
            let newline_due = std::mem::take(&mut self.pending_newline_after);
            let Some(tok) = self.next_raw() else {
                // A final newline lets the grammar end the last line uniformly.
                if let Some((s, e)) = self.pending_newline.take() {
                    self.at_line_start = true;
                    return Some((s, Tok::Newline, e));
                }
                return None;
            };
            if newline_due && tok.1 != Tok::Newline && self.pending_newline.is_none() {
                self.pending_newline = Some((tok.0, tok.0));
            }
            if tok.1 == Tok::Newline {
                // Fold runs of newlines into one, and hold it back to see what follows.
                if self.pending_newline.is_none() {
                    self.pending_newline = Some((tok.0, tok.2));
                }
                continue;
            }
            let mut tok = tok;
            if let Some((s, e)) = self.pending_newline.take() {
                if tok.1 != Tok::LBrace {
                    self.at_line_start = true;
                    self.pending = Some(self.keyword(tok, true));
                    return Some((s, Tok::Newline, e));
                }
            }
            let start = self.at_line_start;
            self.at_line_start = false;
            tok = self.keyword(tok, start);
            return Some(tok);
        }
    }
}

impl<'a> Lexer<'a> {
    fn keyword(&mut self, tok: Spanned<'a>, line_start: bool) -> Spanned<'a> {
        self.at_line_start = false;
        if line_start {
            self.line_is_use = false;
        }
        match tok.1 {
            Tok::Ident(s)
                if line_start
                    && self.stack.is_empty()
                    && (s.eq_ignore_ascii_case("use") || s.eq_ignore_ascii_case("reuse")) =>
            {
                self.line_is_use = true;
                (tok.0, Tok::Use(s), tok.2)
            }
            _ => tok,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tokens without the newline that always ends the stream.
    fn toks(src: &str) -> Vec<Tok<'_>> {
        let mut v: Vec<_> = Lexer::new(src, FileId(0)).map(|t| t.1).collect();
        assert_eq!(v.pop(), Some(Tok::Newline));
        v
    }

    #[test]
    fn numbers_and_identifiers() {
        assert_eq!(
            toks("1 1.5 2e10 3E-2 2fa x1"),
            vec![
                Tok::Number("1"),
                Tok::Number("1.5"),
                Tok::Number("2e10"),
                Tok::Number("3E-2"),
                Tok::Ident("2fa"),
                Tok::Ident("x1"),
            ]
        );
        let mut l = Lexer::new("1.2.3", FileId(0));
        assert_eq!(l.next().map(|t| t.1), Some(Tok::Error));
        assert_eq!(l.diagnostics.len(), 1);
    }

    #[test]
    fn tight_and_loose_brackets() {
        assert_eq!(
            toks("varchar(2) int[] x [pk] (a)"),
            vec![
                Tok::Ident("varchar"),
                Tok::LParenTight,
                Tok::Number("2"),
                Tok::RParen,
                Tok::Ident("int"),
                Tok::LBracketTight,
                Tok::RBracket,
                Tok::Ident("x"),
                Tok::LBracket,
                Tok::Ident("pk"),
                Tok::RBracket,
                Tok::LParen,
                Tok::Ident("a"),
                Tok::RParen,
            ]
        );
    }

    #[test]
    fn newlines_fold_and_vanish_inside_brackets() {
        assert_eq!(
            toks("a\n\n[b,\nc]\nT\n{}"),
            vec![
                Tok::Ident("a"),
                Tok::Newline,
                Tok::LBracket,
                Tok::Ident("b"),
                Tok::Comma,
                Tok::Ident("c"),
                Tok::RBracket,
                Tok::Newline,
                Tok::Ident("T"),
                Tok::LBrace,
                Tok::RBrace,
            ]
        );
    }

    #[test]
    fn strings_and_comments() {
        assert_eq!(
            toks("'a\\'b' '''x\ny''' \"q\" `now()` // c\n/* d */ #fff"),
            vec![
                Tok::Str("'a\\'b'"),
                Tok::Str("'''x\ny'''"),
                Tok::Quoted("\"q\""),
                Tok::Backtick("`now()`"),
                Tok::Newline,
                Tok::Color("#fff"),
            ]
        );
        let mut l = Lexer::new("'abc\nx", FileId(0));
        assert_eq!(l.next().map(|t| t.1), Some(Tok::Error));
        assert!(l.diagnostics[0].message.contains("unterminated string"));
    }

    #[test]
    fn relation_operators_munch() {
        assert_eq!(
            toks("<> ?>? - > <? ~"),
            vec![
                Tok::RelOp("<>"),
                Tok::RelOp("?>?"),
                Tok::RelOp("-"),
                Tok::RelOp(">"),
                Tok::RelOp("<?"),
                Tok::Tilde
            ]
        );
    }

    #[test]
    fn deep_nesting_is_cut_off_once() {
        let src = "[".repeat(10_000) + &"]".repeat(10_000) + " x";
        let mut l = Lexer::new(&src, FileId(0));
        let n = l.by_ref().count();
        assert_eq!(l.diagnostics.len(), 1);
        assert!(n < 2 * MAX_DEPTH + 5);
    }

    #[test]
    fn use_is_a_keyword_only_at_top_level_line_start() {
        assert_eq!(toks("use x")[0], Tok::Use("use"));
        assert_eq!(toks("t { use }")[2], Tok::Ident("use"));
    }
}
