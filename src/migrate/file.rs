//! Migration files: finding them in the migrations folder, reading their names, versions,
//! checksums, `-- UP` / `-- DOWN` sections and directives, and turning each section into the
//! statements the runner sends.
//!
//! Everything wrong with the files is collected into one [`FileProblem`] list that names each
//! file, so a user fixes them all in one go; nothing here guesses. This module reads files and
//! never touches a database.

use super::script::{self, Kind, Statement, TxControl};
use crate::fsx::OpenError;
use pg_query::protobuf::Token;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};

/// The directive line that runs a migration outside a transaction.
pub const NO_TRANSACTION: &str = "nself:no-transaction";

/// A statement ready to send, with the file line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub sql: String,
    /// Byte offset of the statement in the file (for error positions).
    pub offset: usize,
    pub line: usize,
}

/// One section (`UP` or `DOWN`) as statements.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Section {
    pub steps: Vec<Step>,
    /// The file carried its own `BEGIN; … COMMIT;` around this section, which the runner
    /// replaced by its own transaction.
    pub own_transaction: bool,
}

/// A parsed migration file.
#[derive(Clone, Debug)]
pub struct Migration {
    pub version: u64,
    /// The version as the file writes it (`001`).
    pub version_text: String,
    pub name: String,
    pub file_name: String,
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, lower-case hex.
    pub checksum: String,
    pub text: String,
    pub up: Section,
    /// `None` when the file has no DOWN section or an empty one.
    pub down: Option<Section>,
    pub no_transaction: bool,
}

impl Migration {
    /// `001_create_users`.
    pub fn id(&self) -> String {
        format!("{}_{}", self.version_text, self.name)
    }

    /// The file's line `n` (1-based), for error excerpts.
    pub fn line(&self, n: usize) -> &str {
        self.text.lines().nth(n.saturating_sub(1)).unwrap_or("")
    }
}

/// Something wrong with one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileProblem {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Why the migration files cannot be used.
#[derive(Debug)]
pub enum FilesError {
    Io {
        doing: String,
        path: PathBuf,
        error: std::io::Error,
    },
    Problems(Vec<FileProblem>),
}

impl fmt::Display for FilesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilesError::Io { doing, path, error } => {
                write!(f, "{doing} {}: {error}", path.display())
            }
            FilesError::Problems(list) => {
                write!(
                    f,
                    "the migration files have problems; fix them and try again:"
                )?;
                for p in list {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for FilesError {}

/// SHA-256 of some bytes as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Splits `NNN_snake_case_name.sql` into the version text and the name.
pub fn parse_file_name(file_name: &str) -> Result<(u64, &str, &str), String> {
    let stem = file_name
        .strip_suffix(".sql")
        .ok_or_else(|| "a migration file name ends in .sql".to_string())?;
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    let (number, rest) = stem.split_at(digits);
    let expected = "expected NNN_snake_case_name.sql (at least three digits, an underscore, then \
                    lower-case letters, digits and underscores), e.g. 004_create_comments.sql";
    if digits < 3 {
        return Err(format!(
            "the name does not start with a 3-digit version; {expected}"
        ));
    }
    let name = rest
        .strip_prefix('_')
        .ok_or_else(|| format!("no `_` after the version; {expected}"))?;
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.starts_with('_')
        && !name.ends_with('_');
    if !valid {
        return Err(format!("the name {name:?} is not snake_case; {expected}"));
    }
    let version = number
        .parse::<u64>()
        .map_err(|_| format!("the version {number} is too large"))?;
    Ok((version, number, name))
}

/// Finds and parses every migration in `dir`, sorted by version. A missing folder holds no
/// migrations. Files not ending in `.sql`, hidden files and folders are ignored.
pub fn discover(dir: &Path) -> Result<Vec<Migration>, FilesError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(FilesError::Io {
                doing: "reading the migrations folder".into(),
                path: dir.to_path_buf(),
                error,
            })
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| FilesError::Io {
            doing: "reading the migrations folder".into(),
            path: dir.to_path_buf(),
            error,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // `symlink_metadata`: a link to a folder is not skipped as a folder but refused below.
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if name.starts_with('.') || !name.ends_with(".sql") || is_dir {
            continue;
        }
        names.push(name);
    }
    names.sort();
    let mut problems = Vec::new();
    let mut found: Vec<Migration> = Vec::new();
    for file_name in names {
        let path = dir.join(&file_name);
        let (version, number, name) = match parse_file_name(&file_name) {
            Ok(v) => v,
            Err(message) => {
                problems.push(FileProblem {
                    file: file_name.clone(),
                    line: None,
                    message,
                });
                continue;
            }
        };
        let bytes = match crate::fsx::read_regular(&path) {
            Ok(b) => b,
            Err(e @ (OpenError::Symlink | OpenError::NotRegular)) => {
                // Refused with its path, before anything runs; its target is never read.
                problems.push(FileProblem {
                    file: file_name.clone(),
                    line: None,
                    message: format!("{} {e}; replace it with the file itself", path.display()),
                });
                continue;
            }
            Err(OpenError::Io(error)) => {
                return Err(FilesError::Io {
                    doing: format!("reading migration {file_name}:"),
                    path: path.clone(),
                    error,
                })
            }
        };
        let checksum = sha256_hex(&bytes);
        let Ok(text) = String::from_utf8(bytes) else {
            problems.push(FileProblem {
                file: file_name.clone(),
                line: None,
                message: "not UTF-8 text".into(),
            });
            continue;
        };
        match parse(&file_name, &text) {
            Ok(parsed) => found.push(Migration {
                version,
                version_text: number.to_string(),
                name: name.to_string(),
                file_name: file_name.clone(),
                path,
                checksum,
                text,
                up: parsed.up,
                down: parsed.down,
                no_transaction: parsed.no_transaction,
            }),
            Err(mut p) => problems.append(&mut p),
        }
    }
    found.sort_by_key(|m| m.version);
    for pair in found.windows(2) {
        if pair[0].version == pair[1].version {
            problems.push(FileProblem {
                file: pair[1].file_name.clone(),
                line: None,
                message: format!(
                    "version {} is also used by {}; renumber one of them (`nself db migrate \
                     create` picks the next free number)",
                    pair[1].version, pair[0].file_name
                ),
            });
        }
    }
    if problems.is_empty() {
        Ok(found)
    } else {
        Err(FilesError::Problems(problems))
    }
}

/// A file's sections and directives.
#[derive(Debug, Default)]
pub struct Parsed {
    pub up: Section,
    pub down: Option<Section>,
    pub no_transaction: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Marker {
    Up,
    Down,
    NoTransaction,
}

/// What a whole-line `--` comment says: `-- UP` / `-- DOWN` (case-insensitive, blanks allowed
/// around) or the `-- nself:no-transaction` directive.
fn marker(comment: &str) -> Option<Marker> {
    let rest = comment.strip_prefix("--")?.trim();
    if rest.eq_ignore_ascii_case("up") {
        Some(Marker::Up)
    } else if rest.eq_ignore_ascii_case("down") {
        Some(Marker::Down)
    } else if rest.eq_ignore_ascii_case(NO_TRANSACTION) {
        Some(Marker::NoTransaction)
    } else {
        None
    }
}

/// The byte length of a UTF-8 byte order mark at the start of `text` (psql skips it), else 0.
pub fn bom_len(text: &str) -> usize {
    if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    }
}

/// The markers and directives of `text`: `--` comment tokens of the server's own scanner
/// (so never inside a string, a quoted name, a dollar quote or a block comment) that are
/// alone on their line. Each with its line, the offset of its line's start and the offset
/// just after its line.
fn markers(
    file: &str,
    text: &str,
    from: usize,
) -> Result<Vec<(Marker, usize, usize, usize)>, FileProblem> {
    let toks = script::tokens(&text[from..]).map_err(|e| FileProblem {
        file: file.to_string(),
        line: Some(script::line_of(text, from + e.offset)),
        message: format!("syntax error: {}", e.message),
    })?;
    let mut out = Vec::new();
    let (mut line, mut counted) = (1usize, 0usize);
    for t in toks.iter().filter(|t| t.token == Token::SqlComment) {
        let (start, end) = (from + t.start, from + t.end);
        let Some(m) = text.get(start..end).and_then(marker) else {
            continue;
        };
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let before = &text[line_start..start];
        if !before.trim_start_matches('\u{feff}').trim().is_empty() {
            continue; // `SELECT 1; -- UP` is a comment, not a marker
        }
        line += text.as_bytes()[counted..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        counted = start;
        let after = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
        out.push((m, line, line_start, after));
    }
    Ok(out)
}

/// Parses a migration's text: markers, directive, statements. `file` names it in problems.
pub fn parse(file: &str, text: &str) -> Result<Parsed, Vec<FileProblem>> {
    let problem = |line: Option<usize>, message: String| FileProblem {
        file: file.to_string(),
        line,
        message,
    };
    let mut problems = Vec::new();
    let from = bom_len(text);
    let found = markers(file, text, from).map_err(|p| vec![p])?;
    let mut up_marker: Option<(usize, usize)> = None; // (line, byte offset after the line)
    let mut down_marker: Option<(usize, usize, usize)> = None; // (line, start, after)
    let mut no_transaction = false;
    for (m, n, line_start, after) in found {
        match m {
            Marker::Up if up_marker.is_some() => {
                problems.push(problem(Some(n), "a second `-- UP` marker".into()))
            }
            Marker::Down if down_marker.is_some() => {
                problems.push(problem(Some(n), "a second `-- DOWN` marker".into()))
            }
            Marker::Up => {
                if down_marker.is_some() {
                    problems.push(problem(
                        Some(n),
                        "`-- UP` comes after `-- DOWN`; put the UP section first".into(),
                    ));
                }
                up_marker = Some((n, after));
            }
            Marker::Down => down_marker = Some((n, line_start, after)),
            Marker::NoTransaction => no_transaction = true,
        }
    }
    let (up_range, down_range) = match (up_marker, down_marker) {
        (None, None) => ((from, text.len()), None),
        (Some((_, up)), None) => ((up, text.len()), None),
        (Some((_, up)), Some((_, down_start, down))) => {
            ((up, down_start.max(up)), Some((down, text.len())))
        }
        (None, Some((n, _, _))) => {
            problems.push(problem(
                Some(n),
                "a `-- DOWN` marker without a `-- UP` marker before it; add `-- UP` above the \
                 migration's statements"
                    .into(),
            ));
            return Err(problems);
        }
    };
    let up = section(file, text, up_range, no_transaction, "UP", &mut problems);
    if up.steps.is_empty() && problems.is_empty() {
        let line = up_marker.map(|(n, _)| n);
        problems.push(problem(
            line,
            "the UP section is empty; write the migration's SQL after `-- UP`".into(),
        ));
    }
    let down = down_range
        .map(|r| section(file, text, r, no_transaction, "DOWN", &mut problems))
        .filter(|s| !s.steps.is_empty());
    if problems.is_empty() {
        Ok(Parsed {
            up,
            down,
            no_transaction,
        })
    } else {
        Err(problems)
    }
}

/// A whole file as one transactional section (seed files have no markers). Empty is fine.
pub fn body(file: &str, text: &str) -> Result<Section, Vec<FileProblem>> {
    let mut problems = Vec::new();
    let s = section(
        file,
        text,
        (bom_len(text), text.len()),
        false,
        "file",
        &mut problems,
    );
    if problems.is_empty() {
        Ok(s)
    } else {
        Err(problems)
    }
}

/// The statements of `text[range]`. In a transactional migration, a `BEGIN` first and a
/// `COMMIT` last are the file's own wrapping: they are dropped (a `BEGIN` with options becomes
/// `SET TRANSACTION` with them) and the runner's transaction takes their place, so the section
/// and its tracking row still commit together. Any other transaction control would commit part
/// of the migration on its own, and is refused.
fn section(
    file: &str,
    text: &str,
    (start, end): (usize, usize),
    no_transaction: bool,
    which: &str,
    problems: &mut Vec<FileProblem>,
) -> Section {
    let body = &text[start..end];
    let statements: Vec<Statement> = match script::split(body) {
        Ok(s) => s,
        Err(e) => {
            problems.push(FileProblem {
                file: file.to_string(),
                line: Some(script::line_of(text, start + e.offset)),
                message: format!(
                    "syntax error in the {which} section: {} (nothing was run)",
                    e.message
                ),
            });
            return Section::default();
        }
    };
    // Statements come in order, so their lines are counted incrementally (one pass over the
    // text, not one per statement).
    let mut lines = vec![0usize; statements.len()];
    let (mut at, mut line) = (start, script::line_of(text, start));
    for (i, s) in statements.iter().enumerate() {
        let to = start + s.start;
        if let Some(between) = text.as_bytes().get(at..to) {
            line += between.iter().filter(|b| **b == b'\n').count();
            at = to;
        }
        lines[i] = line;
    }
    let line_at = |i: usize| lines.get(i).copied().unwrap_or(0);
    let step = |i: usize, s: &Statement, sql: String| Step {
        sql,
        offset: start + s.start,
        line: line_at(i),
    };
    let mut own_transaction = false;
    let mut steps = Vec::with_capacity(statements.len());
    let last = statements.len().saturating_sub(1);
    let wrapped = statements.len() >= 2
        && statements[0].transaction_control() == Some(TxControl::Begin)
        && statements[last].transaction_control() == Some(TxControl::Commit);
    for (i, s) in statements.iter().enumerate() {
        let sql = &body[s.start..s.end];
        let line = line_at(i);
        if s.is_copy_from_stdin() {
            problems.push(FileProblem {
                file: file.to_string(),
                line: Some(line),
                message: "COPY … FROM STDIN needs data inline, which only psql can send; use \
                          INSERT statements or COPY from a server-side file"
                    .into(),
            });
            continue;
        }
        if no_transaction {
            steps.push(step(i, s, sql.to_string()));
            continue;
        }
        match s.transaction_control() {
            Some(TxControl::Begin) if wrapped && i == 0 => {
                own_transaction = true;
                if let Some(options) = begin_options(s, body) {
                    steps.push(step(i, s, format!("SET TRANSACTION {options}")));
                }
            }
            Some(TxControl::Commit) if wrapped && i == last => {}
            Some(_) => problems.push(FileProblem {
                file: file.to_string(),
                line: Some(line),
                message: format!(
                    "`{}` inside the {which} section: nself runs each migration in one \
                     transaction (seeds: one per file), and this would commit or abort part of it on its own. Wrap the \
                     whole section in one BEGIN; … COMMIT; (or none), split the file, or add a \
                     `-- {NO_TRANSACTION}` line to run it statement by statement",
                    sql.split_whitespace().collect::<Vec<_>>().join(" ")
                ),
            }),
            None => steps.push(step(i, s, sql.to_string())),
        }
    }
    Section {
        steps,
        own_transaction,
    }
}

/// The transaction modes of `BEGIN [WORK | TRANSACTION] modes` / `START TRANSACTION modes`.
fn begin_options<'a>(s: &Statement, body: &'a str) -> Option<&'a str> {
    match s.kind {
        Kind::Begin {
            modes: Some((a, b)),
        } => body.get(a..b).map(str::trim).filter(|m| !m.is_empty()),
        _ => None,
    }
}

/// The next migration version in `dir` and the width its number is written with (at least 3),
/// from the file names alone, so that a broken file does not stop a new one being written. A
/// missing folder gives version 1.
pub fn next_version(dir: &std::path::Path) -> std::io::Result<(u64, usize)> {
    let mut newest = 0u64;
    let mut width = 3usize;
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries.flatten() {
                let file = entry.file_name().to_string_lossy().into_owned();
                let digits: String = file.chars().take_while(char::is_ascii_digit).collect();
                if let Ok(v) = digits.parse::<u64>() {
                    newest = newest.max(v);
                    width = width.max(digits.len());
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok((newest + 1, width))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqls(s: &Section) -> Vec<&str> {
        s.steps.iter().map(|s| s.sql.as_str()).collect()
    }

    #[test]
    fn names() {
        assert_eq!(
            parse_file_name("001_create_users.sql").unwrap(),
            (1, "001", "create_users")
        );
        assert_eq!(parse_file_name("1000_x2.sql").unwrap().0, 1000);
        for bad in [
            "01_x.sql",
            "001-x.sql",
            "001_.sql",
            "001_Create.sql",
            "001_a b.sql",
            "x_001.sql",
            "001.sql",
            "99999999999999999999999_x.sql",
        ] {
            assert!(parse_file_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sections_and_lines() {
        let text = "-- Migration: 001_x\n\n--   up  \nCREATE TABLE a (id int);\n\nCREATE TABLE b (id int);\n-- Down\nDROP TABLE b;\nDROP TABLE a;\n";
        let p = parse("001_x.sql", text).unwrap();
        assert_eq!(
            sqls(&p.up),
            ["CREATE TABLE a (id int)", "CREATE TABLE b (id int)"]
        );
        assert_eq!(p.up.steps[1].line, 6);
        let down = p.down.unwrap();
        assert_eq!(sqls(&down), ["DROP TABLE b", "DROP TABLE a"]);
        assert_eq!(down.steps[0].line, 8);
        assert!(!p.no_transaction);
    }

    #[test]
    fn no_markers_is_all_up_and_no_down() {
        let p = parse("001_x.sql", "SELECT 1;\n").unwrap();
        assert_eq!(sqls(&p.up), ["SELECT 1"]);
        assert!(p.down.is_none());
        let p = parse("001_x.sql", "-- UP\nSELECT 1;\n-- DOWN\n-- nothing\n").unwrap();
        assert!(p.down.is_none(), "an empty DOWN is no DOWN");
    }

    #[test]
    fn own_transaction_is_replaced() {
        let text = "-- UP\nBEGIN;\nALTER TABLE t ADD c int;\nCOMMIT;\n-- DOWN\nBEGIN ISOLATION LEVEL SERIALIZABLE;\nALTER TABLE t DROP c;\nEND;\n";
        let p = parse("003_x.sql", text).unwrap();
        assert!(p.up.own_transaction);
        assert_eq!(sqls(&p.up), ["ALTER TABLE t ADD c int"]);
        assert_eq!(p.up.steps[0].line, 3);
        assert_eq!(
            sqls(&p.down.unwrap()),
            [
                "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
                "ALTER TABLE t DROP c"
            ]
        );
    }

    #[test]
    fn stray_transaction_control_is_refused_with_its_line() {
        let e = parse("003_x.sql", "-- UP\nSELECT 1;\nCOMMIT;\nSELECT 2;\n").unwrap_err();
        assert_eq!(e[0].line, Some(3));
        assert!(e[0].message.contains("COMMIT"), "{}", e[0].message);
        let e = parse("003_x.sql", "BEGIN;\nSELECT 1;\n").unwrap_err();
        assert_eq!(e[0].line, Some(1));
        // Without a transaction, statements run as written.
        let p = parse("003_x.sql", "-- nself:no-transaction\nBEGIN;\nSELECT 1;\n").unwrap();
        assert!(p.no_transaction);
        assert_eq!(sqls(&p.up), ["BEGIN", "SELECT 1"]);
    }

    #[test]
    fn empty_up_and_bad_markers() {
        let e = parse("005_x.sql", "-- UP\n\n-- DOWN\nDROP TABLE x;\n").unwrap_err();
        assert!(e[0].message.contains("UP section is empty"));
        assert_eq!(e[0].line, Some(1));
        assert!(parse("005_x.sql", "-- DOWN\nSELECT 1;\n").is_err());
        assert!(parse("005_x.sql", "-- DOWN\nSELECT 1;\n-- UP\nSELECT 2;\n").is_err());
        assert!(parse("005_x.sql", "-- UP\nSELECT 1;\n-- UP\nSELECT 2;\n").is_err());
        assert!(parse("005_x.sql", "   -- comment only\n").is_err());
    }
}
