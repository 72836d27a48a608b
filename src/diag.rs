//! Source files, spans and the project's one diagnostic type.
//!
//! Every stage reports user mistakes as [`Diagnostic`] values: a severity, a stable code, a
//! message, a primary label, secondary labels and help. Positions are fields (a [`Span`] is a
//! file id plus a byte range), never text inside the message. Rendering happens at the edge:
//! [`render_human`] draws them like rustc with codespan-reporting, [`to_json`] serializes the same
//! data for editors. This module never prints; the caller chooses the writer.

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{self as csf, Files};
use codespan_reporting::term;
use serde::Serialize;
use std::ops::Range;

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A byte range in one source file. Spans never take part in equality of IR items: they are
/// compared with [`Span::eq`] only where a test asks for positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: clamp_u32(start),
            end: clamp_u32(end.max(start)),
        }
    }
    /// The smallest span covering both (they must be in the same file; the first one's file wins).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// One loaded source file, with its line table.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// 0-based line index of a byte offset.
    pub fn line_index(&self, byte: usize) -> usize {
        match self.line_starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, byte: usize) -> (usize, usize) {
        let byte = floor_char_boundary(&self.text, byte.min(self.text.len()));
        let line = self.line_index(byte);
        let start = self.line_starts[line];
        // Characters are the bytes that do not continue a UTF-8 sequence; counting them this
        // way is fast even on a very long line.
        let col = self.text.as_bytes()[start..byte]
            .iter()
            .filter(|&&b| (b as i8) >= -0x40)
            .count()
            + 1;
        (line + 1, col)
    }

    /// 1-based column of a byte offset in UTF-16 code units, as LSP clients count positions
    /// (a character outside the Basic Multilingual Plane, such as most emoji, counts two).
    pub fn col_utf16(&self, byte: usize) -> usize {
        let byte = floor_char_boundary(&self.text, byte.min(self.text.len()));
        let start = self.line_starts[self.line_index(byte)];
        // A UTF-8 lead byte of a character outside the BMP (0xF0..) adds a second unit.
        self.text.as_bytes()[start..byte]
            .iter()
            .map(|&b| usize::from((b as i8) >= -0x40) + usize::from(b >= 0xF0))
            .sum::<usize>()
            + 1
    }

    /// Length in bytes of the line holding `byte`.
    pub fn line_len_at(&self, byte: usize) -> usize {
        self.line_range(self.line_index(byte.min(self.text.len())))
            .map_or(0, |r| r.len())
    }

    fn line_range(&self, line: usize) -> Option<Range<usize>> {
        let start = *self.line_starts.get(line)?;
        let end = self
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        Some(start..end)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// All files of one compilation (a DBML project may span several through `use`).
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile::new(name, text));
        FileId(clamp_u32(self.files.len() - 1))
    }
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }
    pub fn text(&self, id: FileId) -> &str {
        &self.get(id).text
    }
    /// The source text a span covers (empty when the span is out of range).
    pub fn slice(&self, span: Span) -> &str {
        self.text(span.file).get(span.range()).unwrap_or("")
    }
    pub fn len(&self) -> usize {
        self.files.len()
    }
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
    pub fn ids(&self) -> impl Iterator<Item = FileId> {
        (0..self.files.len()).map(|i| FileId(clamp_u32(i)))
    }
}

impl<'a> Files<'a> for SourceMap {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, csf::Error> {
        self.files
            .get(id.0 as usize)
            .map(|f| f.name.as_str())
            .ok_or(csf::Error::FileMissing)
    }
    fn source(&'a self, id: FileId) -> Result<&'a str, csf::Error> {
        self.files
            .get(id.0 as usize)
            .map(|f| f.text.as_str())
            .ok_or(csf::Error::FileMissing)
    }
    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, csf::Error> {
        let f = self
            .files
            .get(id.0 as usize)
            .ok_or(csf::Error::FileMissing)?;
        Ok(f.line_index(byte_index))
    }
    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, csf::Error> {
        let f = self
            .files
            .get(id.0 as usize)
            .ok_or(csf::Error::FileMissing)?;
        f.line_range(line_index).ok_or(csf::Error::LineTooLarge {
            given: line_index,
            max: f.line_starts.len().saturating_sub(1),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// A user-facing problem found in input. `code` is stable across releases (see
/// [`crate::syntax::codes`] and [`crate::ir::codes`] for the tables).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
    /// A replacement for the text at a span that would fix the problem (a "did you mean"):
    /// shown as the help line, and in JSON as a structured `suggestions` entry an editor can
    /// apply.
    pub suggestion: Option<Suggestion>,
}

/// Replace the text at `span` with `replacement`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub span: Span,
    pub replacement: String,
}

/// Longest message kept whole: names quoted from a pathological input (a 100 MB identifier) must
/// not make every message that large.
const MAX_MESSAGE_BYTES: usize = 400;

fn bounded(mut s: String) -> String {
    if s.len() > MAX_MESSAGE_BYTES {
        let mut cut = MAX_MESSAGE_BYTES - 3;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: bounded(message.into()),
            primary: Label {
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            help: None,
            suggestion: None,
        }
    }
    pub fn warning(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message, span)
        }
    }
    /// Text under the primary caret.
    pub fn with_label(mut self, message: impl Into<String>) -> Diagnostic {
        self.primary.message = bounded(message.into());
        self
    }
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            message: bounded(message.into()),
        });
        self
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(bounded(help.into()));
        self
    }
    /// "Did you mean `replacement`?": the help line, and a suggestion to replace `span`.
    pub fn with_suggestion(mut self, span: Span, replacement: impl Into<String>) -> Diagnostic {
        let replacement = bounded(replacement.into());
        self.help = Some(bounded(format!("did you mean `{replacement}`?")));
        self.suggestion = Some(Suggestion { span, replacement });
        self
    }
    /// [`Self::with_suggestion`] with the closest of `candidates` to `name` (see
    /// [`closest`]), if one is close enough; unchanged otherwise.
    pub fn suggest<'c>(
        self,
        span: Span,
        name: &str,
        candidates: impl IntoIterator<Item = &'c str>,
    ) -> Diagnostic {
        match closest(name, candidates) {
            Some(c) => self.with_suggestion(span, c),
            None => self,
        }
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    fn to_codespan(&self) -> cs::Diagnostic<FileId> {
        let base = match self.severity {
            Severity::Error => cs::Diagnostic::error(),
            Severity::Warning => cs::Diagnostic::warning(),
        };
        let mut labels =
            vec![
                cs::Label::primary(self.primary.span.file, self.primary.span.range())
                    .with_message(self.primary.message.clone()),
            ];
        labels.extend(self.secondary.iter().map(|l| {
            cs::Label::secondary(l.span.file, l.span.range()).with_message(l.message.clone())
        }));
        let mut d = base
            .with_code(self.code)
            .with_message(self.message.clone())
            .with_labels(labels);
        if let Some(h) = &self.help {
            d = d.with_notes(vec![format!("help: {h}")]);
        }
        d
    }
}

/// The stage a code belongs to, from its number: E01/E02 syntax, E03 structure, E04 names,
/// E05 consistency, W06 PostgreSQL. Diagnostics are reported stage by stage, like a compiler:
/// a later stage's finding is often a consequence of an earlier one.
fn stage(code: &str) -> u8 {
    match code.get(1..3) {
        Some("01" | "02") => 0,
        Some("03") => 1,
        Some("04") => 2,
        Some("05") => 3,
        _ => 4,
    }
}

/// Sorts diagnostics by stage, then file and position, so output is stable whatever order the
/// checks ran in.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (
            stage(a.code),
            a.primary.span.file,
            a.primary.span.start,
            a.code,
        )
            .cmp(&(
                stage(b.code),
                b.primary.span.file,
                b.primary.span.start,
                b.code,
            ))
    });
}

/// Source lines longer than this are not quoted: the diagnostic is shown in one line instead.
const MAX_QUOTED_LINE_BYTES: usize = 512;

/// Renders diagnostics like rustc, writing each as it is made. `color` decides ANSI colours; the
/// caller decides it from the terminal and `NO_COLOR`.
pub fn render_human(
    map: &SourceMap,
    diags: &[Diagnostic],
    color: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let rich = term::Config::default();
    let short = term::Config {
        display_style: term::DisplayStyle::Medium,
        ..term::Config::default()
    };
    let mut ansi;
    let mut plain;
    let writer: &mut dyn term::termcolor::WriteColor = if color {
        ansi = term::termcolor::Ansi::new(&mut *out);
        &mut ansi
    } else {
        plain = term::termcolor::NoColor::new(&mut *out);
        &mut plain
    };
    for d in diags {
        let long_line = std::iter::once(&d.primary).chain(&d.secondary).any(|l| {
            map.get(l.span.file).line_len_at(l.span.start as usize) > MAX_QUOTED_LINE_BYTES
        });
        let config = if long_line { &short } else { &rich };
        term::emit(writer, config, map, &d.to_codespan())
            .map_err(|e| std::io::Error::other(e.to_string()))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    column_utf16: usize,
    end_column_utf16: usize,
    start: u32,
    end: u32,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    severity: Severity,
    message: &'a str,
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    column_utf16: usize,
    end_column_utf16: usize,
    start: u32,
    end: u32,
    labels: Vec<JsonLabel<'a>>,
    help: Option<&'a str>,
    /// Edits that would fix the problem (empty or one today).
    suggestions: Vec<JsonSuggestion<'a>>,
}

#[derive(Serialize)]
struct JsonSuggestion<'a> {
    #[serde(flatten)]
    at: JsonLabel<'a>,
    replacement: &'a str,
}

/// The entry file (or standard input) could not be read at all: `schema check --format json`
/// reports it as this one error, at the start of the named file, so that an editor reads every
/// outcome in one shape.
pub const UNREADABLE: &str = "E0001";

/// How many diagnostics a compilation keeps, at most: the first ones in [`sort`] order. The
/// rest are only counted, so memory stays bounded whatever the input (two million broken lines
/// once took 2.6 GB as kept diagnostics). `--max-diagnostics` shows at most this many.
pub const KEEP: usize = 10_000;

/// The diagnostics of a compilation: at most `cap` of them kept (the first in [`sort`] order,
/// deduplicated), and the count of every one, kept or not.
///
/// Pushing is amortised O(log cap): when twice the cap is held, the set is sorted and cut back
/// to the cap. Reading (`iter`, indexing, `len`) sees the kept ones; [`Diagnostics::errors`],
/// [`Diagnostics::warnings`] and [`Diagnostics::total`] count all.
#[derive(Clone, Debug)]
pub struct Diagnostics {
    kept: Vec<Diagnostic>,
    cap: usize,
    dropped_errors: usize,
    dropped_warnings: usize,
    sorted: bool,
}

/// Equal when the same diagnostics are kept in the same order and the same are counted.
impl PartialEq for Diagnostics {
    fn eq(&self, other: &Diagnostics) -> bool {
        self.kept == other.kept
            && self.dropped_errors == other.dropped_errors
            && self.dropped_warnings == other.dropped_warnings
    }
}

impl Eq for Diagnostics {}

impl Default for Diagnostics {
    fn default() -> Diagnostics {
        Diagnostics::with_cap(KEEP)
    }
}

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }
    pub fn with_cap(cap: usize) -> Diagnostics {
        Diagnostics {
            kept: Vec::new(),
            cap: cap.max(1),
            dropped_errors: 0,
            dropped_warnings: 0,
            sorted: true,
        }
    }
    pub fn push(&mut self, d: Diagnostic) {
        self.kept.push(d);
        self.sorted = false;
        if self.kept.len() >= self.cap.saturating_mul(2) {
            self.compact();
        }
    }
    /// Takes over another set's diagnostics and counts.
    pub fn append(&mut self, other: Diagnostics) {
        self.dropped_errors += other.dropped_errors;
        self.dropped_warnings += other.dropped_warnings;
        self.extend(other.kept);
    }
    /// Sorts ([`sort`]), removes duplicates and cuts back to the cap, counting what is cut.
    pub fn compact(&mut self) {
        if !self.sorted {
            sort(&mut self.kept);
            self.kept.dedup();
            self.sorted = true;
        }
        if self.kept.len() > self.cap {
            for d in self.kept.drain(self.cap..) {
                if d.is_error() {
                    self.dropped_errors += 1;
                } else {
                    self.dropped_warnings += 1;
                }
            }
        }
    }
    /// Errors, kept or not.
    pub fn errors(&self) -> usize {
        self.kept.iter().filter(|d| d.is_error()).count() + self.dropped_errors
    }
    /// Warnings, kept or not.
    pub fn warnings(&self) -> usize {
        self.kept.iter().filter(|d| !d.is_error()).count() + self.dropped_warnings
    }
    /// Every diagnostic, kept or not.
    pub fn total(&self) -> usize {
        self.kept.len() + self.dropped_errors + self.dropped_warnings
    }
    pub fn has_errors(&self) -> bool {
        self.dropped_errors > 0 || self.kept.iter().any(Diagnostic::is_error)
    }
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.kept
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        for d in iter {
            self.push(d);
        }
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Diagnostics {
        let mut d = Diagnostics::new();
        d.extend(iter);
        d
    }
}

impl std::ops::Deref for Diagnostics {
    type Target = [Diagnostic];
    fn deref(&self) -> &[Diagnostic] {
        &self.kept
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.kept.iter()
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    errors: usize,
    warnings: usize,
    /// Diagnostics left out of `diagnostics` because of the limit.
    not_shown: usize,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

fn json_label<'a>(map: &'a SourceMap, l: &'a Label) -> JsonLabel<'a> {
    json_at(map, l.span, &l.message)
}

fn json_at<'a>(map: &'a SourceMap, span: Span, message: &'a str) -> JsonLabel<'a> {
    let f = map.get(span.file);
    let (line, column) = f.line_col(span.start as usize);
    let (end_line, end_column) = f.line_col(span.end as usize);
    JsonLabel {
        file: &f.name,
        line,
        column,
        end_line,
        end_column,
        column_utf16: f.col_utf16(span.start as usize),
        end_column_utf16: f.col_utf16(span.end as usize),
        start: span.start,
        end: span.end,
        message,
    }
}

/// One JSON document with the first `limit` diagnostics: code, severity, message, file, 1-based
/// line and column of start and end (columns in characters, i.e. Unicode scalar values, and
/// again in UTF-16 code units as `column_utf16`/`end_column_utf16`), byte range, labels
/// (primary first), help and suggestions (a span and its replacement). The totals count them
/// all; `not_shown` says how many were left out.
pub fn to_json(map: &SourceMap, diags: &Diagnostics, limit: usize) -> String {
    let diagnostics = diags
        .iter()
        .take(limit)
        .map(|d| {
            let p = json_label(map, &d.primary);
            let mut labels = vec![json_label(map, &d.primary)];
            labels.extend(d.secondary.iter().map(|l| json_label(map, l)));
            JsonDiagnostic {
                code: d.code,
                severity: d.severity,
                message: &d.message,
                file: p.file,
                line: p.line,
                column: p.column,
                end_line: p.end_line,
                end_column: p.end_column,
                column_utf16: p.column_utf16,
                end_column_utf16: p.end_column_utf16,
                start: p.start,
                end: p.end,
                labels,
                help: d.help.as_deref(),
                suggestions: d
                    .suggestion
                    .iter()
                    .map(|s| JsonSuggestion {
                        at: json_at(map, s.span, ""),
                        replacement: &s.replacement,
                    })
                    .collect(),
            }
        })
        .collect();
    let report = JsonReport {
        errors: diags.errors(),
        warnings: diags.warnings(),
        not_shown: diags.total().saturating_sub(limit.min(diags.len())),
        diagnostics,
    };
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Longest name compared by [`closest`]: the distance costs the product of the two lengths, and
/// nobody misspells a 65-character name into another.
const MAX_SUGGEST_CHARS: usize = 64;

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions, each edit
/// costing 1) between `a` and `b`, compared without regard to ASCII case, or `None` once it
/// exceeds `limit`.
pub fn edit_distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    // Three rows: the one before last (for transpositions), the last and the current.
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    Some(prev[b.len()]).filter(|&d| d <= limit)
}

/// The candidate closest to `name` for a "did you mean", if one is close enough: at most half
/// as many edits as `name` has characters (one for two or three), fewer than the candidate has
/// characters, and only for names of two characters or more. Ties go to the first candidate
/// given; a candidate equal to `name` is not suggested. Meant to run only when a name was not
/// found: it costs the product of the lengths per candidate.
pub fn closest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let n = name.chars().count();
    if !(2..=MAX_SUGGEST_CHARS).contains(&n) {
        return None;
    }
    let limit = (n / 2).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == name || c.is_empty() || c.chars().count() > MAX_SUGGEST_CHARS {
            continue;
        }
        let bound = match best {
            Some((0, _)) => break,
            Some((d, _)) => d - 1,
            None => limit,
        };
        if let Some(d) = edit_distance(name, c, bound) {
            if d < c.chars().count() && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, c));
            }
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_keep_the_first_in_order_and_count_the_rest() {
        let mut map = SourceMap::new();
        let f = map.add("t.dbml", "x".repeat(100));
        let mut d = Diagnostics::with_cap(10);
        // Pushed out of order, with duplicates and both severities.
        for i in (0..100u32).rev() {
            let span = Span::new(f, i as usize, i as usize + 1);
            if i % 2 == 0 {
                d.push(Diagnostic::error("E0201", "e", span));
            } else {
                d.push(Diagnostic::warning("W0601", "w", span));
            }
            if i == 50 {
                d.push(Diagnostic::error("E0201", "e", span));
            }
        }
        d.compact();
        assert_eq!(d.len(), 10);
        assert_eq!((d.errors(), d.warnings(), d.total()), (50, 50, 100));
        // Errors of stage 0 first, then PostgreSQL warnings, each by position.
        let starts: Vec<u32> = d.iter().map(|x| x.primary.span.start).collect();
        assert_eq!(starts, (0..20).step_by(2).collect::<Vec<u32>>());
        assert!(d.has_errors());
        let mut other = Diagnostics::with_cap(10);
        other.append(d.clone());
        other.compact();
        assert_eq!(other, d);
    }

    #[test]
    fn line_col_is_one_based_and_counts_chars() {
        let f = SourceFile::new("a", "ab\nçd\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(5), (2, 2)); // after the two-byte ç
        assert_eq!(f.line_col(100), (3, 1));
    }

    #[test]
    fn renders_code_message_and_location() {
        let mut map = SourceMap::new();
        let id = map.add("s.dbml", "Table t {\n  id intt\n}\n");
        let d = Diagnostic::error("E0001", "unknown type", Span::new(id, 15, 19))
            .with_label("here")
            .with_help("did you mean `int`?");
        let mut out = Vec::new();
        render_human(&map, std::slice::from_ref(&d), false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("error[E0001]: unknown type"), "{text}");
        assert!(text.contains("s.dbml:2:6"), "{text}");
        assert!(text.contains("help: did you mean"), "{text}");
        let json: serde_json::Value =
            serde_json::from_str(&to_json(&map, &Diagnostics::from_iter([d]), 10)).unwrap();
        assert_eq!(json["diagnostics"][0]["line"], 2);
        assert_eq!(json["diagnostics"][0]["column"], 6);
        assert_eq!(json["errors"], 1);
    }

    #[test]
    fn closest_name_within_half_its_length() {
        let settings = [
            "pk",
            "primary key",
            "unique",
            "not null",
            "null",
            "default",
            "note",
        ];
        assert_eq!(closest("uniqe", settings), Some("unique"));
        assert_eq!(closest("uinque", settings), Some("unique")); // a transposition is one edit
        assert_eq!(closest("defualt", settings), Some("default"));
        assert_eq!(
            closest("author_id", ["id", "user_id", "name"]),
            Some("user_id")
        );
        assert_eq!(closest("Users", ["posts", "users"]), Some("users"));
        assert_eq!(closest("zzzzzz", settings), None);
        assert_eq!(closest("x", ["y"]), None);
        assert_eq!(closest("ab", ["b"]), None, "never the whole candidate");
        assert_eq!(closest("", settings), None);
        let long = "a".repeat(10_000);
        assert_eq!(closest(&long, [long.as_str()]), None);
        assert_eq!(edit_distance("kitten", "sitting", 5), Some(3));
        assert_eq!(edit_distance("kitten", "sitting", 2), None);
        assert_eq!(edit_distance("ca", "ac", 1), Some(1));
    }

    #[test]
    fn json_columns_in_characters_and_utf16_units() {
        let mut map = SourceMap::new();
        // `é` is one character (two bytes), the emoji one character, four bytes, two UTF-16 units.
        let text = "Note n { 'é 🚀' } x\n";
        let id = map.add("u.dbml", text);
        let at = text.find('x').unwrap();
        let d = Diagnostic::error("E0301", "m", Span::new(id, at, at + 1))
            .with_suggestion(Span::new(id, at, at + 1), "y");
        let json: serde_json::Value =
            serde_json::from_str(&to_json(&map, &Diagnostics::from_iter([d]), 10)).unwrap();
        let d = &json["diagnostics"][0];
        assert_eq!(d["start"], 21);
        assert_eq!(d["column"], 18);
        assert_eq!(d["end_column"], 19);
        assert_eq!(d["column_utf16"], 19);
        assert_eq!(d["end_column_utf16"], 20);
        assert_eq!(d["labels"][0]["column_utf16"], 19);
        assert_eq!(d["help"], "did you mean `y`?");
        assert_eq!(d["suggestions"][0]["replacement"], "y");
        assert_eq!(d["suggestions"][0]["column_utf16"], 19);
        assert_eq!(d["suggestions"][0]["end"], 22);
    }
}
