//! The only module that touches the lalrpop-generated parser: it feeds it the lexer adapter's
//! tokens and turns its errors into diagnostics. [`parse`] never fails.

use crate::diag::{Diagnostic, Diagnostics, FileId, Span};
use crate::syntax::ast::{File, Item, Line, Name, StrLit};
use crate::syntax::codes;
use crate::syntax::lexer::{Lexer, Tok};
use lalrpop_util::{lalrpop_mod, ErrorRecovery, ParseError};

lalrpop_mod!(
    #[allow(
        clippy::all,
        clippy::pedantic,
        unused_parens,
        clippy::unwrap_used,
        clippy::expect_used
    )]
    grammar,
    "/dbml.rs"
);

pub(crate) fn name(text: &str, span: Span) -> Name {
    Name {
        text: text.to_string(),
        span,
        quoted: false,
    }
}

pub(crate) fn quoted_name(raw: &str, span: Span) -> Name {
    Name {
        text: crate::syntax::unquote_name(raw),
        span,
        quoted: true,
    }
}

pub(crate) fn strlit(raw: &str, span: Span) -> StrLit {
    StrLit {
        raw: raw.to_string(),
        span,
        triple: raw.starts_with("'''") && raw.len() >= 6,
    }
}

/// Where the grammar's error recovery reports: each error becomes its diagnostic at once (a
/// recovery record holds the list of expected terminals, about a kilobyte), kept up to the
/// diagnostics cap and counted beyond it.
pub(crate) struct Recovered {
    pub diags: Diagnostics,
    file: FileId,
    end: usize,
}

impl Recovered {
    pub(crate) fn push(&mut self, e: ErrorRecovery<usize, Tok<'_>, ()>) {
        if let Some(d) = convert(e.error, self.file, self.end) {
            self.diags.push(d);
        }
    }
}

/// Adds a top-level item, leaving out lines that carry nothing: blank lines and lines the
/// parser gave up on (already reported; lowering skips both). Keeps a file of two million
/// broken lines from holding two million tree nodes.
pub(crate) fn push_item(items: &mut Vec<Item>, item: Option<Item>) {
    match item {
        Some(Item::Line(l)) if l.error || (l.head.is_empty() && l.colon.is_none()) => {}
        Some(i) => items.push(i),
        None => {}
    }
}

/// Adds a line to a block; a broken line right after another broken line is folded into it
/// (lowering needs to know a block had broken lines, not how many).
pub(crate) fn push_block_line(lines: &mut Vec<Line>, line: Option<Line>) {
    let Some(line) = line else { return };
    if line.error {
        if let Some(prev) = lines.last_mut().filter(|p| p.error) {
            prev.span = Span::new(
                prev.span.file,
                prev.span.start as usize,
                line.span.end as usize,
            );
            return;
        }
    }
    lines.push(line);
}

pub(crate) fn unbox<T>(v: Vec<Box<T>>) -> Vec<T> {
    v.into_iter().map(|b| *b).collect()
}

/// Files at least this large are parsed in two halves on two threads.
const PARALLEL_MIN_BYTES: usize = 256 * 1024;

/// Parses one file. The tree is always returned; problems are in the diagnostics.
///
/// A large file is cut at a top-level line boundary near its middle and the halves are parsed
/// on two threads. The grammar ends every top-level line at its newline, so the result is the
/// same as parsing the whole; if the cut turns out not to be a clean boundary (the first half's
/// lexer ends inside brackets or a token runs over the cut), the file is parsed in one piece.
pub fn parse(src: &str, file: FileId) -> (File, Diagnostics) {
    if src.len() >= PARALLEL_MIN_BYTES
        && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
    {
        if let Some(at) = split_point(src, src.len() / 2) {
            if let Some(result) = parse_split(src, file, at) {
                return result;
            }
        }
    }
    parse_whole(src, file)
}

/// Parses the whole of `src` on the current thread.
pub fn parse_whole(src: &str, file: FileId) -> (File, Diagnostics) {
    parse_range(src, file, 0, src.len()).0
}

/// Parses `src` cut at `at` (on two threads); `None` when `at` is not a clean boundary.
pub fn parse_split(src: &str, file: FileId, at: usize) -> Option<(File, Diagnostics)> {
    std::thread::scope(|scope| {
        let first = scope.spawn(|| parse_range(src, file, 0, at));
        let (second, _) = parse_range(src, file, at, src.len());
        let ((mut tree, mut diags), clean) = first.join().ok()?;
        if !clean {
            return None;
        }
        tree.items.extend(second.0.items);
        diags.append(second.1);
        Some((tree, diags))
    })
}

/// The first top-level line start at or after `from` that begins with a letter, found by a
/// quick scan that skips strings, quoted names, expressions and comments and counts brackets.
/// A heuristic: [`parse_split`] verifies the cut with the real lexer.
pub fn split_point(src: &str, from: usize) -> Option<usize> {
    let b = src.as_bytes();
    let find = |mut i: usize, close: &[u8], multiline: bool, escapes: bool| -> usize {
        while i < b.len() {
            if b[i..].starts_with(close) {
                return i + close.len();
            }
            match b[i] {
                b'\\' if escapes => i += 2,
                b'\n' if !multiline => return i,
                _ => i += 1,
            }
        }
        b.len()
    };
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' if b[i + 1..].starts_with(b"''") => i = find(i + 3, b"\'\'\'", true, true),
            b'\'' => i = find(i + 1, b"\'", false, true),
            b'"' => i = find(i + 1, b"\"", false, true),
            b'`' => i = find(i + 1, b"`", true, false),
            b'/' if b.get(i + 1) == Some(&b'/') => i = find(i + 2, b"\n", false, false),
            b'/' if b.get(i + 1) == Some(&b'*') => i = find(i + 2, b"*/", true, false),
            b'(' | b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'\n' => {
                i += 1;
                if i >= from && depth == 0 && b.get(i).is_some_and(u8::is_ascii_alphabetic) {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Parses `src[start..end]`; also says whether the range ended cleanly at top level.
fn parse_range(src: &str, file: FileId, start: usize, end: usize) -> ((File, Diagnostics), bool) {
    let mut lexer = Lexer::range(src, file, start, end);
    let mut recovered = Recovered {
        diags: Diagnostics::new(),
        file,
        end,
    };
    let result = grammar::FileParser::new().parse(file, &mut recovered, &mut lexer);
    let clean = lexer.clean_end();
    let mut diags = std::mem::take(&mut lexer.diagnostics);
    let ast = match result {
        Ok(ast) => ast,
        Err(e) => {
            diags.extend(convert(e, file, end));
            File { items: Vec::new() }
        }
    };
    diags.append(recovered.diags);
    ((ast, diags), clean)
}

fn describe_expected(expected: &[String]) -> Option<String> {
    let mut names: Vec<&str> = expected
        .iter()
        .map(|e| match e.as_str() {
            "NL" => "a newline",
            "Ident" => "a name",
            "Quoted" => "a quoted name",
            "Num" => "a number",
            "Str" => "a string",
            "Tick" => "an expression in backticks",
            "Color" => "a color",
            "RelOp" | "OtherOp" => "an operator",
            "Use" => "`use`",
            "\"(t\"" => "`(`",
            "\"[t\"" => "`[`",
            other => other.trim_matches('"'),
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() || names.len() > 8 {
        return None;
    }
    let shown: Vec<String> = names
        .iter()
        .map(|n| {
            if n.starts_with(|c: char| c.is_ascii_punctuation()) && !n.starts_with('`') {
                format!("`{n}`")
            } else {
                n.to_string()
            }
        })
        .collect();
    Some(format!("expected {}", shown.join(", ")))
}

fn convert(e: ParseError<usize, Tok<'_>, ()>, file: FileId, len: usize) -> Option<Diagnostic> {
    match e {
        ParseError::UnrecognizedToken {
            token: (_, Tok::Error, _),
            ..
        }
        | ParseError::ExtraToken {
            token: (_, Tok::Error, _),
        } => None,
        ParseError::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        } => {
            let what = if tok == Tok::Newline && l == len {
                return Some(eof(file, len, &expected));
            } else if tok == Tok::Newline {
                "unexpected end of line".to_string()
            } else {
                format!("unexpected {tok}")
            };
            let r = if tok == Tok::Newline {
                l.max(r.min(l + 1))
            } else {
                r
            };
            let mut d = Diagnostic::error(codes::UNEXPECTED_TOKEN, what, Span::new(file, l, r));
            if let Some(help) = describe_expected(&expected) {
                d = d.with_label(help);
            }
            Some(d)
        }
        ParseError::ExtraToken { token: (l, tok, r) } => Some(Diagnostic::error(
            codes::UNEXPECTED_TOKEN,
            format!("unexpected {tok}"),
            Span::new(file, l, r),
        )),
        ParseError::UnrecognizedEof {
            location: _,
            expected,
        } => Some(eof(file, len, &expected)),
        ParseError::InvalidToken { location } => Some(Diagnostic::error(
            codes::UNKNOWN_SYMBOL,
            "invalid token",
            Span::new(file, location, location + 1),
        )),
        ParseError::User { .. } => None,
    }
}

fn eof(file: FileId, len: usize, expected: &[String]) -> Diagnostic {
    let mut d = Diagnostic::error(
        codes::UNEXPECTED_EOF,
        "unexpected end of file",
        Span::new(file, len, len),
    );
    if expected.iter().any(|e| e == "\"}\"") {
        d = d.with_label("a `}` is missing");
    } else if let Some(help) = describe_expected(expected) {
        d = d.with_label(help);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::ast::{Expr, Item};

    fn ok(src: &str) -> File {
        let (f, d) = parse(src, FileId(0));
        assert!(d.is_empty(), "{src:?}: {d:#?}");
        f
    }

    #[test]
    fn table_with_columns() {
        let f = ok("Table users as U [headercolor: #fff] {\n  id int [pk, not null]\n  name varchar(255)\n}\n");
        let Item::Line(l) = &f.items[0] else { panic!() };
        assert_eq!(l.head.len(), 6);
        let b = l.block().unwrap();
        assert_eq!(b.lines.len(), 2);
        assert!(matches!(b.lines[1].head[1], Expr::Call(..)));
    }

    #[test]
    fn refs_and_notes() {
        let f = ok("Ref: a.b > c.d\nRef r { a.(x, y) <> c.(z, w) [delete: set null] }\nNote: '''\n  hi\n'''");
        assert_eq!(f.items.len(), 3);
    }

    #[test]
    fn recovery_reports_each_broken_line() {
        let (f, d) = parse(
            "Table a {\n  id int ]\n  x )\n}\nTable b { y int }\n",
            FileId(0),
        );
        assert_eq!(d.len(), 2, "{d:#?}");
        assert_eq!(f.items.len(), 2);
    }

    #[test]
    fn lines_before_an_unclosed_bracket_survive() {
        let (f, d) = parse("Table a { id int }\nTable b { x int (\n", FileId(0));
        assert!(d.iter().any(|d| d.code == codes::UNCLOSED), "{d:#?}");
        assert!(
            d.iter().filter(|d| d.code == codes::UNCLOSED).count() == 2,
            "{d:#?}"
        );
        assert!(f.items.len() >= 2, "{f:#?}");
    }

    #[test]
    fn invalid_tokens_do_not_abort_the_parse() {
        let (f, d) = parse("Table a { id int ; }\nTable b { x int }\n", FileId(0));
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(f.items.len(), 2);
    }

    #[test]
    fn use_declarations() {
        let f = ok("use { table a as b } from './x.dbml'\nreuse * from './y'\n");
        assert!(matches!(f.items[0], Item::Use(_)));
        assert!(matches!(f.items[1], Item::Use(_)));
    }

    #[test]
    fn never_panics_on_garbage() {
        for src in [
            "{{{{",
            "}}}}",
            "[[[",
            "Table {",
            "'",
            "\"",
            "`",
            "a.b.",
            ":::",
            "~",
            "Ref: >",
            "\u{0}\u{1}",
        ] {
            let _ = parse(src, FileId(0));
        }
    }
}
