//! Lowering: gives meaning to the generic syntax tree. Each top-level line is an element
//! (`Table`, `Ref`, `Enum`, …) whose parts are checked for shape here — settings known and not
//! repeated, bodies of the right kind — and turned into [`model`](super::model) items.
//! Names are not resolved here (that is `check`); nothing here knows PostgreSQL.

use super::codes;
use super::model::*;
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::syntax::ast::{Attr, AttrName, AttrValue, Block, Expr, Line, Name};
use crate::syntax::cook_string;
use rustc_hash::FxHashMap as HashMap;

/// The settings a column takes, for "did you mean".
pub const COLUMN_SETTINGS: &[&str] = &[
    "pk",
    "primary key",
    "not null",
    "null",
    "unique",
    "increment",
    "default",
    "note",
    "ref",
    "check",
];

/// A table partial before injection.
#[derive(Clone, Debug)]
pub struct Partial {
    pub name: String,
    pub span: Span,
    pub table: Table,
    pub injections: Vec<Injection>,
    /// Inline refs of the partial's columns; instantiated for each table that injects it.
    pub refs: Vec<RawRef>,
}

/// `~name` inside a table: where the partial's columns go.
#[derive(Clone, Debug)]
pub struct Injection {
    pub name: String,
    pub span: Span,
    /// Number of the table's own columns declared before the injection.
    pub position: usize,
}

/// A table with what lowering learned beyond the model: injections and name spans.
#[derive(Clone, Debug)]
pub struct LoweredTable {
    pub table: Table,
    pub name_span: Span,
    pub alias_span: Option<Span>,
    pub injections: Vec<Injection>,
    /// Spans of column names, by position, for duplicate reports.
    pub column_spans: Vec<Span>,
}

/// A ref endpoint before resolution: a path of names and its columns.
#[derive(Clone, Debug, Default)]
pub struct RawEnd {
    pub schema: Option<String>,
    pub table: String,
    pub columns: Vec<String>,
    pub span: Span,
    /// Where the table's name is written, when it is (else `span`).
    pub table_span: Option<Span>,
    /// Where each column is written, in the order of `columns` (empty when unknown).
    pub column_spans: Vec<Span>,
}

#[derive(Clone, Debug)]
pub struct RawRef {
    pub name: Option<(String, Span)>,
    pub op: String,
    pub op_span: Span,
    pub left: RawEnd,
    pub right: RawEnd,
    pub on_delete: Option<RefAction>,
    pub on_update: Option<RefAction>,
    pub inactive: bool,
    pub span: Span,
    /// Declared inline on a column (`ref: > t.c`).
    pub inline: bool,
}

#[derive(Clone, Debug)]
pub struct RawGroup {
    pub name: String,
    pub name_span: Span,
    pub tables: Vec<(Option<String>, String, Span)>,
    pub note: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Lowered {
    /// Every `Project` declared (more than one is reported by `check`).
    pub projects: Vec<(ProjectInfo, Span)>,
    pub tables: Vec<LoweredTable>,
    pub partials: Vec<Partial>,
    pub enums: Vec<(EnumType, Span, Vec<Span>)>,
    pub refs: Vec<RawRef>,
    pub groups: Vec<RawGroup>,
    pub notes: Vec<(String, Span)>,
    pub records: Vec<RawRecords>,
    /// Names listed in `DiagramView`s, resolved by `check`.
    pub view_refs: Vec<(ViewKind, Vec<String>, Span)>,
    /// Sticky notes by name.
    pub note_names: Vec<(String, Span)>,
}

/// Lowers lines one at a time. It keeps no state across lines (what spans lines, such as a
/// project declared twice, is `check`'s business), so lines may be lowered in any grouping and
/// the results joined with [`Lowered::append`].
impl Lowered {
    /// Appends what lowering later lines produced.
    pub fn append(&mut self, other: Lowered) {
        let Lowered {
            projects,
            tables,
            partials,
            enums,
            refs,
            groups,
            notes,
            records,
            view_refs,
            note_names,
        } = other;
        self.projects.extend(projects);
        self.tables.extend(tables);
        self.partials.extend(partials);
        self.enums.extend(enums);
        self.refs.extend(refs);
        self.groups.extend(groups);
        self.notes.extend(notes);
        self.records.extend(records);
        self.view_refs.extend(view_refs);
        self.note_names.extend(note_names);
    }
}

pub struct Lowerer<'d> {
    pub diags: &'d mut Diagnostics,
    pub out: Lowered,
}

fn lc(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// The parts of an element's head: `Kind name as alias [settings] { body }` or `Kind name: …`.
struct Header<'a> {
    kind: &'a Name,
    name: Option<&'a Expr>,
    alias: Option<&'a Expr>,
    settings: Option<&'a [Attr]>,
    settings_span: Option<Span>,
    block: Option<&'a Block>,
    simple: Option<(Span, &'a [Expr])>,
}

/// A settings list parsed into (lower-case name, whole span, value, value span, name span).
struct Setting<'a> {
    name: String,
    span: Span,
    value: Option<&'a AttrValue>,
    value_span: Option<Span>,
    /// The setting's name as written (`uniqe` in `uniqe: x`).
    name_span: Span,
}

fn attr_value_span(v: &AttrValue) -> Span {
    match v {
        AttrValue::Words(w) => match (w.first(), w.last()) {
            (Some(a), Some(b)) => a.span.to(b.span),
            _ => Span::default(),
        },
        AttrValue::Expr(e) => e.span(),
    }
}

/// Setting words joined by single spaces, lower-cased (`Not Null` gives `not null`).
fn words(w: &[Name]) -> String {
    let mut out = String::with_capacity(w.iter().map(|n| n.text.len() + 1).sum());
    for (i, n) in w.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.extend(n.text.chars().map(|c| c.to_ascii_lowercase()));
    }
    out
}

/// The text of a value that should be a string literal.
fn string_value(v: Option<&AttrValue>) -> Option<String> {
    match v {
        Some(AttrValue::Expr(e)) => as_string(e),
        _ => None,
    }
}

/// A string literal, or a double-quoted name, which the reference accepts wherever a string is.
pub(crate) fn as_string(e: &Expr) -> Option<String> {
    match e {
        Expr::Str(s) => Some(cook_string(s)),
        Expr::Name(n) if n.quoted => Some(n.text.clone()),
        _ => None,
    }
}

/// A number with any run of `+`/`-` signs before it, folded: `--+7` is `7`, `+-2` is `-2`.
fn signed_number(e: &Expr) -> Option<String> {
    match e {
        Expr::Number(n, _) => Some(n.clone()),
        Expr::Prefix(op, _, inner, _) if op == "-" || op == "+" => {
            let n = signed_number(inner)?;
            Some(match (op.as_str(), n.strip_prefix('-')) {
                ("-", Some(pos)) => pos.to_string(),
                ("-", None) => format!("-{n}"),
                _ => n,
            })
        }
        _ => None,
    }
}

fn expr_text(e: &Expr) -> Option<String> {
    match e {
        Expr::Name(n) => Some(n.text.clone()),
        Expr::Str(s) => Some(cook_string(s)),
        other => signed_number(other),
    }
}

impl<'d> Lowerer<'d> {
    pub fn new(diags: &'d mut Diagnostics) -> Lowerer<'d> {
        Lowerer {
            diags,
            out: Lowered::default(),
        }
    }

    fn err(&mut self, code: &'static str, msg: impl Into<String>, span: Span) {
        self.diags.push(Diagnostic::error(code, msg, span));
    }

    /// "Unknown {what} setting", at the setting's name, with the closest of `known` as a
    /// suggestion.
    fn unknown_setting(&mut self, what: &str, s: &Setting<'_>, known: &[&str]) {
        self.diags.push(
            Diagnostic::error(
                codes::UNKNOWN_SETTING,
                format!("unknown {what} setting `{}`", s.name),
                s.name_span,
            )
            .suggest(s.name_span, &s.name, known.iter().copied()),
        );
    }

    fn settings<'a>(&mut self, attrs: &'a [Attr]) -> Vec<Setting<'a>> {
        let mut out = Vec::with_capacity(attrs.len());
        for a in attrs {
            let (name, name_span) = match &a.name {
                AttrName::Words(w) => (
                    words(w),
                    match (w.first(), w.last()) {
                        (Some(f), Some(l)) => f.span.to(l.span),
                        _ => a.span,
                    },
                ),
                AttrName::Other(e) => {
                    self.err(
                        codes::INVALID_SETTING_VALUE,
                        "a setting name must be a plain word",
                        e.span(),
                    );
                    continue;
                }
                AttrName::Empty(s) => {
                    self.err(codes::UNKNOWN_SETTING, "a setting needs a name", *s);
                    continue;
                }
            };
            out.push(Setting {
                name,
                name_span,
                span: a.span,
                value: a.value.as_ref(),
                value_span: a.value.as_ref().map(attr_value_span),
            });
        }
        out
    }

    /// [`Self::settings`], reporting a setting given twice and keeping its first occurrence.
    fn distinct_settings<'a>(&mut self, attrs: &'a [Attr]) -> Vec<Setting<'a>> {
        let mut seen: HashMap<String, Span> = HashMap::default();
        let mut out = Vec::new();
        for s in self.settings(attrs) {
            if let Some(&prev) = seen.get(&s.name) {
                self.diags.push(
                    Diagnostic::error(
                        codes::DUPLICATE_SETTING,
                        format!("setting `{}` is given twice", s.name),
                        s.span,
                    )
                    .with_secondary(prev, "first given here"),
                );
                continue;
            }
            seen.insert(s.name.clone(), s.span);
            out.push(s);
        }
        out
    }

    fn header<'a>(&mut self, l: &'a Line, kind: &'a Name) -> Header<'a> {
        let mut h = Header {
            kind,
            name: None,
            alias: None,
            settings: None,
            settings_span: None,
            block: None,
            simple: None,
        };
        let mut rest = l.head[1..].iter().peekable();
        if let Some(e) = rest.peek() {
            if !matches!(e, Expr::List(..) | Expr::Block(_)) {
                h.name = rest.next();
            }
        }
        if let Some(Expr::Name(n)) = rest.peek() {
            if !n.quoted && n.text.eq_ignore_ascii_case("as") {
                rest.next();
                match rest.next() {
                    Some(e @ (Expr::Name(_) | Expr::Member(..))) => h.alias = Some(e),
                    other => {
                        let span = other.map_or(n.span, Expr::span);
                        self.err(codes::INVALID_NAME, "expected an alias after `as`", span);
                    }
                }
            }
        }
        for e in rest {
            match e {
                Expr::List(items, span) if h.settings.is_none() && h.block.is_none() => {
                    h.settings = Some(items);
                    h.settings_span = Some(*span);
                }
                Expr::Block(b) if h.block.is_none() => h.block = Some(b),
                other => self.err(
                    codes::UNEXPECTED_PART,
                    format!(
                        "unexpected {} in a `{}` declaration",
                        describe(other),
                        kind.text
                    ),
                    other.span(),
                ),
            }
        }
        if let Some((span, body)) = &l.colon {
            if h.block.is_some() {
                self.err(
                    codes::UNEXPECTED_PART,
                    "a body cannot have both `:` and `{`",
                    *span,
                );
            }
            h.simple = Some((*span, body));
        }
        h
    }

    /// `schema.name` or `name` as a qualified name.
    fn qualified(&mut self, e: &Expr, what: &str) -> Option<(Option<String>, String, Span)> {
        match e.as_path().as_deref() {
            Some([n]) => Some((None, n.text.clone(), n.span)),
            Some([s, n]) => Some((Some(s.text.clone()), n.text.clone(), e.span())),
            Some([first, .., n]) if what == "table" => {
                // `a.b.c`: the reference takes everything before the last part as the schema.
                let parts = e.as_path().unwrap_or_default();
                let schema: Vec<&str> = parts[..parts.len() - 1]
                    .iter()
                    .map(|p| p.text.as_str())
                    .collect();
                let _ = first;
                Some((Some(schema.join(".")), n.text.clone(), e.span()))
            }
            _ => {
                self.err(
                    codes::INVALID_NAME,
                    format!("invalid {what} name: expected `name` or `schema.name`"),
                    e.span(),
                );
                None
            }
        }
    }

    /// Lowers one top-level line of some file of the project.
    pub fn file_line(&mut self, l: &Line) {
        self.top_line(l);
    }

    fn top_line(&mut self, l: &Line) {
        if l.error || (l.head.is_empty() && l.colon.is_none()) {
            return;
        }
        let Some(kw) = l.keyword() else {
            let span = l.head.first().map_or(l.span, Expr::span);
            self.err(
                codes::UNKNOWN_ELEMENT,
                "expected an element such as `Table`, `Ref`, `Enum` or `Project`",
                span,
            );
            return;
        };
        if l.block().is_none() && l.colon.is_none() {
            let end = l.head.last().map_or(l.span, Expr::span);
            self.diags.push(
                Diagnostic::error(
                    crate::syntax::codes::MISSING_BODY,
                    format!("expected `{{` or `:` to open the body of `{}`", kw.text),
                    Span::new(end.file, end.end as usize, end.end as usize),
                )
                .with_secondary(kw.span, "this element has no body"),
            );
            return;
        }
        match lc(&kw.text).as_str() {
            "table" => self.table(l, kw, false),
            "tablepartial" => self.table(l, kw, true),
            "enum" => self.enum_(l, kw),
            "ref" => self.top_ref(l, kw),
            "project" => self.project(l, kw),
            "tablegroup" => self.group(l, kw),
            "note" => self.sticky_note(l, kw),
            "records" => self.records(l, kw, None),
            "diagramview" => self.diagram_view(l, kw),
            _ => self.err(
                codes::UNKNOWN_ELEMENT,
                format!("unknown element `{}`", kw.text),
                kw.span,
            ),
        }
    }

    fn note_of_simple_or_block(&mut self, h: &Header<'_>) -> Option<String> {
        if let Some((span, body)) = h.simple {
            return match body {
                [e] | [e, Expr::List(..)] if as_string(e).is_some() => as_string(e),
                _ => {
                    self.err(
                        codes::INVALID_SETTING_VALUE,
                        "a note must be a string",
                        span,
                    );
                    None
                }
            };
        }
        if let Some(b) = h.block {
            let mut note = None;
            for line in &b.lines {
                match line.head.as_slice() {
                    [e] | [e, Expr::List(..)]
                        if note.is_none() && line.colon.is_none() && as_string(e).is_some() =>
                    {
                        note = as_string(e)
                    }
                    _ if line.error => {}
                    _ => self.err(
                        codes::INVALID_FIELD,
                        "a note's body must be one string",
                        line.span,
                    ),
                }
            }
            if note.is_none() {
                self.err(codes::EMPTY_ELEMENT, "a note must not be empty", b.span);
            }
            return note;
        }
        self.err(
            codes::MISSING_BODY,
            "a note needs `: 'text'` or `{ 'text' }`",
            h.kind.span,
        );
        None
    }

    fn sticky_note(&mut self, l: &Line, kw: &Name) {
        let h = self.header(l, kw);
        let name = match h.name {
            None => {
                self.err(
                    codes::INVALID_CONTEXT,
                    "a top-level note needs a name: `Note name { '…' }`",
                    kw.span,
                );
                None
            }
            Some(e) => match e.as_name() {
                Some(n) => Some(n),
                None => {
                    self.err(
                        codes::INVALID_NAME,
                        "a sticky note's name must be a single name",
                        e.span(),
                    );
                    None
                }
            },
        };
        if let Some(n) = name {
            self.out.note_names.push((n.text.clone(), n.span));
        }
        if let Some(attrs) = h.settings {
            for s in self.distinct_settings(attrs) {
                if s.name != "color" {
                    self.unknown_setting("note", &s, &["color"]);
                    continue;
                }
                let ok = match s.value {
                    Some(AttrValue::Expr(Expr::Color(..))) => true,
                    Some(AttrValue::Expr(Expr::Name(n))) => n.text.eq_ignore_ascii_case("none"),
                    _ => false,
                };
                if !ok {
                    self.err(
                        codes::INVALID_SETTING_VALUE,
                        "`color` must be a color such as `#3457DB`, or `none`",
                        s.value_span.unwrap_or(s.span),
                    );
                }
            }
        }
        if let Some(text) = self.note_of_simple_or_block(&h) {
            self.out.notes.push((text, l.span));
        }
    }

    fn project(&mut self, l: &Line, kw: &Name) {
        let h = self.header(l, kw);
        let mut info = ProjectInfo {
            name: h.name.and_then(expr_text),
            ..ProjectInfo::default()
        };
        let Some(block) = h.block else {
            self.err(
                codes::MISSING_BODY,
                "a project needs a `{ … }` body",
                kw.span,
            );
            return;
        };
        for line in &block.lines {
            if line.error {
                continue;
            }
            let Some(k) = line.keyword() else {
                self.err(
                    codes::INVALID_FIELD,
                    "expected `name: value` in a project",
                    line.span,
                );
                continue;
            };
            let key = lc(&k.text);
            if key == "note" {
                let lh = self.header(line, k);
                if let Some(n) = self.note_of_simple_or_block(&lh) {
                    if info.note.is_some() {
                        self.err(
                            codes::REDEFINED,
                            "the project's note is declared twice",
                            k.span,
                        );
                    }
                    info.note = Some(n);
                }
                continue;
            }
            match (&line.colon, line.head.len()) {
                (Some((_, body)), 1) => match body.as_slice() {
                    [e] if as_string(e).is_some() => {
                        if key == "database_type" {
                            info.database_type = as_string(e);
                        }
                    }
                    _ => self.err(
                        codes::INVALID_SETTING_VALUE,
                        format!("`{}` must be a string", k.text),
                        line.span,
                    ),
                },
                _ => self.err(
                    codes::INVALID_CONTEXT,
                    format!(
                        "unexpected `{}` in a project: expected `name: 'value'`",
                        k.text
                    ),
                    line.span,
                ),
            }
        }
        self.out.projects.push((info, kw.span));
    }

    fn table(&mut self, l: &Line, kw: &Name, partial: bool) {
        let h = self.header(l, kw);
        let what = if partial { "table partial" } else { "table" };
        let Some(name_expr) = h.name else {
            self.err(
                codes::INVALID_NAME,
                format!("a {what} needs a name"),
                kw.span,
            );
            return;
        };
        let Some((schema, name, name_span)) = self.qualified(name_expr, what) else {
            return;
        };
        if partial && schema.is_some() {
            self.err(
                codes::INVALID_NAME,
                "a table partial's name cannot have a schema",
                name_span,
            );
        }
        let mut alias = None;
        let mut alias_span = None;
        if let Some(a) = h.alias {
            if partial {
                self.err(
                    codes::UNEXPECTED_PART,
                    "a table partial cannot have an alias",
                    a.span(),
                );
            }
            match a.as_name() {
                Some(n) => {
                    alias = Some(n.text.clone());
                    alias_span = Some(n.span);
                }
                None => self.err(
                    codes::INVALID_NAME,
                    "an alias must be a single name",
                    a.span(),
                ),
            }
        }
        let mut table = Table {
            name: QualifiedName::new(
                schema.unwrap_or_else(|| DEFAULT_SCHEMA.into()),
                name.clone(),
            ),
            alias,
            columns: Vec::new(),
            indexes: Vec::new(),
            checks: Vec::new(),
            note: None,
            origin: Origin(Some(name_span)),
        };
        if let Some(attrs) = h.settings {
            for s in self.distinct_settings(attrs) {
                match s.name.as_str() {
                    "headercolor" => match s.value {
                        Some(AttrValue::Expr(Expr::Color(..))) => {}
                        _ => self.err(
                            codes::INVALID_SETTING_VALUE,
                            "`headercolor` must be a color such as `#3498db`",
                            s.value_span.unwrap_or(s.span),
                        ),
                    },
                    "note" => match string_value(s.value) {
                        Some(n) => table.note = Some(n),
                        None => self.err(
                            codes::INVALID_SETTING_VALUE,
                            "`note` must be a string",
                            s.value_span.unwrap_or(s.span),
                        ),
                    },
                    _ => self.unknown_setting(what, &s, &["headercolor", "note"]),
                }
            }
        }
        let Some(block) = h.block else {
            self.err(
                codes::MISSING_BODY,
                format!("a {what} needs a `{{ … }}` body"),
                kw.span,
            );
            return;
        };
        let refs_before = self.out.refs.len();
        let mut injections = Vec::new();
        // Most lines are columns: one allocation instead of log2(n) growing ones.
        table.columns.reserve_exact(block.lines.len());
        let mut column_spans = Vec::with_capacity(block.lines.len());
        let mut note_span: Option<Span> = None;
        for line in &block.lines {
            if line.error {
                continue;
            }
            if let [Expr::Prefix(op, _, inner, span)] = line.head.as_slice() {
                if op == "~" {
                    match inner.as_name() {
                        Some(n) => injections.push(Injection {
                            name: n.text.clone(),
                            span: *span,
                            position: table.columns.len(),
                        }),
                        None => self.err(
                            codes::INVALID_NAME,
                            "expected a partial's name after `~`",
                            *span,
                        ),
                    }
                    if partial {
                        self.err(
                            codes::INVALID_CONTEXT,
                            "a table partial cannot inject another partial",
                            *span,
                        );
                    }
                    continue;
                }
            }
            let kw2 = line.keyword();
            let sub = kw2.map(|k| lc(&k.text));
            let is_sub_element =
                line.block().is_some() || (line.colon.is_some() && line.head.len() == 1);
            match (sub.as_deref(), is_sub_element) {
                (Some("indexes"), true) => self.indexes(line, &mut table),
                (Some("checks"), true) => self.checks(line, &mut table),
                (Some("note"), true) => {
                    let lh = self.header(line, kw2.unwrap_or(kw));
                    if let Some(prev) = note_span {
                        self.diags.push(
                            Diagnostic::error(codes::REDEFINED, "the table's note is declared twice", line.span)
                                .with_secondary(prev, "first declared here"),
                        );
                    } else if table.note.is_some() {
                        self.err(codes::REDEFINED, "the table's note is already given in its settings", line.span);
                    }
                    note_span = Some(line.span);
                    if let Some(n) = self.note_of_simple_or_block(&lh) {
                        table.note = Some(n);
                    }
                }
                (Some("records"), _) if line.block().is_some() => {
                    self.records(line, kw2.unwrap_or(kw), Some(&table.name));
                }
                (_, true) => self.err(
                    codes::INVALID_CONTEXT,
                    format!(
                        "unexpected `{}` inside a {what}: expected columns, `indexes`, `checks` or `Note`",
                        kw2.map_or("element", |k| k.text.as_str())
                    ),
                    line.span,
                ),
                _ => {
                    if let Some(c) = self.column(line, &table.name) {
                        column_spans.push(line.head.first().map_or(line.span, Expr::span));
                        table.columns.push(c);
                    }
                }
            }
        }
        if partial {
            let refs = self.out.refs.split_off(refs_before);
            self.out.partials.push(Partial {
                name,
                span: name_span,
                table,
                injections,
                refs,
            });
        } else {
            if table.columns.is_empty() && injections.is_empty() {
                self.err(
                    codes::EMPTY_TABLE,
                    "a table must have at least one column",
                    name_span,
                );
            }
            self.out.tables.push(LoweredTable {
                table,
                name_span,
                alias_span,
                injections,
                column_spans,
            });
        }
    }

    fn column(&mut self, line: &Line, table: &QualifiedName) -> Option<Column> {
        if let Some((span, _)) = &line.colon {
            self.err(
                codes::INVALID_COLUMN,
                "unexpected `:` in a column definition",
                *span,
            );
            return None;
        }
        let mut it = line.head.iter();
        let name = match it.next() {
            Some(Expr::Name(n)) => n,
            Some(other) => {
                self.err(
                    codes::INVALID_COLUMN,
                    "expected a column name",
                    other.span(),
                );
                return None;
            }
            None => return None,
        };
        let Some(ty_expr) = it.next() else {
            self.err(
                codes::INVALID_COLUMN,
                format!("column `{}` has no type", name.text),
                name.span,
            );
            return None;
        };
        let mut ty = self.type_ref(ty_expr)?;
        let mut type_span = ty_expr.span();
        // `int (10)`: the reference reads a spaced tuple right after the type as its arguments.
        let mut it = it.peekable();
        if let Some(Expr::Tuple(args, span)) = it.peek() {
            if ty.args.is_empty() && ty.array_dims == 0 {
                type_span = type_span.to(*span);
                for a in args {
                    match expr_text(a) {
                        Some(t) => ty.args.push(t),
                        None => self.err(
                            codes::INVALID_TYPE,
                            "a type argument must be a number or a name",
                            *span,
                        ),
                    }
                }
                it.next();
            }
        }
        let mut col = Column {
            name: name.text.clone(),
            ty,
            primary_key: false,
            unique: false,
            nullable: None,
            increment: false,
            default: None,
            default_origin: Origin::default(),
            type_origin: Origin(Some(type_span)),
            increment_origin: Origin::default(),
            checks: Vec::new(),
            note: None,
            origin: Origin(Some(name.span)),
        };
        // The old syntax allows bare settings after the type: `id int PK unique`.
        let mut inline = Vec::new();
        while let Some(Expr::Name(n)) = it.peek() {
            if n.quoted {
                break;
            }
            inline.push(n.clone());
            it.next();
        }
        for n in &inline {
            match lc(&n.text).as_str() {
                "pk" => col.primary_key = true,
                "unique" => col.unique = true,
                "increment" => {
                    col.increment = true;
                    col.increment_origin = Origin(Some(n.span));
                }
                "null" => col.nullable = Some(true),
                _ => self.err(
                    codes::INVALID_COLUMN,
                    format!(
                        "unexpected `{}` after the column's type: settings go in `[…]`",
                        n.text
                    ),
                    n.span,
                ),
            }
        }
        match (it.next(), it.next()) {
            (None, _) => {}
            (Some(Expr::List(attrs, _)), None) => {
                self.column_settings(attrs, &mut col, table, line.span)
            }
            (Some(Expr::List(..)), Some(other)) | (Some(other), _) => {
                self.err(
                    codes::INVALID_COLUMN,
                    format!("unexpected {} after the column's type", describe(other)),
                    other.span(),
                );
            }
        }
        Some(col)
    }

    pub(crate) fn type_ref(&mut self, e: &Expr) -> Option<TypeRef> {
        match e {
            Expr::Name(n) => Some(TypeRef {
                schema: None,
                name: n.text.clone(),
                args: Vec::new(),
                array_dims: 0,
            }),
            Expr::Member(..) => match e.as_path().as_deref() {
                Some([s, n]) => Some(TypeRef {
                    schema: Some(s.text.clone()),
                    name: n.text.clone(),
                    args: Vec::new(),
                    array_dims: 0,
                }),
                _ => {
                    self.err(codes::INVALID_TYPE, "invalid column type", e.span());
                    None
                }
            },
            Expr::Call(callee, args, _) => {
                let mut t = self.type_ref(callee)?;
                if !t.args.is_empty() || t.array_dims > 0 {
                    self.err(codes::INVALID_TYPE, "invalid column type", e.span());
                    return None;
                }
                for a in args {
                    match expr_text(a) {
                        Some(s) => t.args.push(s),
                        None => {
                            self.err(
                                codes::INVALID_TYPE,
                                "a type argument must be a number or a name",
                                a.span(),
                            );
                            return None;
                        }
                    }
                }
                Some(t)
            }
            Expr::Index(inner, items, _) => {
                let mut t = self.type_ref(inner)?;
                if items.len() > 1 {
                    self.err(
                        codes::INVALID_TYPE,
                        "an array type takes at most one size",
                        e.span(),
                    );
                }
                t.array_dims += 1;
                Some(t)
            }
            other => {
                self.err(
                    codes::INVALID_TYPE,
                    format!("expected a column type, found {}", describe(other)),
                    other.span(),
                );
                None
            }
        }
    }

    fn column_settings(
        &mut self,
        attrs: &[Attr],
        col: &mut Column,
        table: &QualifiedName,
        line_span: Span,
    ) {
        let mut seen: HashMap<&'static str, Span> = HashMap::default();
        for s in self.settings(attrs) {
            let key: &'static str = match s.name.as_str() {
                "pk" | "primary key" => "pk",
                "null" | "not null" => "null",
                "unique" => "unique",
                "increment" => "increment",
                "default" => "default",
                "note" => "note",
                "ref" => "ref",
                "check" => "check",
                _ => {
                    self.unknown_setting("column", &s, COLUMN_SETTINGS);
                    continue;
                }
            };
            if key != "ref" && key != "check" {
                if let Some(prev) = seen.insert(key, s.span) {
                    let (code, msg) = if key == "null" {
                        (
                            codes::CONFLICTING_SETTINGS,
                            "`null` and `not null` given together or twice".to_string(),
                        )
                    } else {
                        (
                            codes::DUPLICATE_SETTING,
                            format!("setting `{}` is given twice", s.name),
                        )
                    };
                    self.diags.push(
                        Diagnostic::error(code, msg, s.span)
                            .with_secondary(prev, "first given here"),
                    );
                    continue;
                }
            }
            let takes_value = matches!(key, "default" | "note" | "ref" | "check");
            if takes_value && s.value.is_none() {
                self.err(
                    codes::INVALID_SETTING_VALUE,
                    format!("setting `{}` needs a value: `{}: …`", s.name, s.name),
                    s.span,
                );
                continue;
            }
            if !takes_value && s.value.is_some() {
                self.err(
                    codes::INVALID_SETTING_VALUE,
                    format!("setting `{}` takes no value", s.name),
                    s.value_span.unwrap_or(s.span),
                );
                continue;
            }
            let vspan = s.value_span.unwrap_or(s.span);
            match key {
                "pk" => col.primary_key = true,
                "null" => col.nullable = Some(s.name == "null"),
                "unique" => col.unique = true,
                "increment" => {
                    col.increment = true;
                    col.increment_origin = Origin(Some(s.span));
                }
                "note" => match string_value(s.value) {
                    Some(n) => col.note = Some(n),
                    None => self.err(
                        codes::INVALID_SETTING_VALUE,
                        "`note` must be a string",
                        vspan,
                    ),
                },
                "check" => match s.value {
                    Some(AttrValue::Expr(Expr::Backtick(text, span))) => col.checks.push(Check {
                        name: None,
                        expression: text.clone(),
                        origin: Origin(Some(*span)),
                    }),
                    _ => self.err(
                        codes::INVALID_SETTING_VALUE,
                        "`check` must be an expression in backticks, such as `check: `price > 0``",
                        vspan,
                    ),
                },
                "default" => {
                    col.default = self.default_value(s.value, vspan);
                    col.default_origin = Origin(Some(vspan));
                }
                _ => {
                    // ref
                    let Some(AttrValue::Expr(Expr::Prefix(op, op_span, target, _))) = s.value
                    else {
                        self.err(
                            codes::INVALID_SETTING_VALUE,
                            "an inline ref is written `ref: > table.column`",
                            vspan,
                        );
                        continue;
                    };
                    if !is_relation_op(op) {
                        self.err(
                            codes::INVALID_REF,
                            format!("`{op}` is not a relation"),
                            *op_span,
                        );
                        continue;
                    }
                    let Some(right) =
                        self.endpoint(target, false, Some((&table.schema, &table.name)))
                    else {
                        continue;
                    };
                    let left = RawEnd {
                        schema: Some(table.schema.clone()),
                        table: table.name.clone(),
                        columns: vec![col.name.clone()],
                        span: col.origin.span().unwrap_or(line_span),
                        ..RawEnd::default()
                    };
                    self.out.refs.push(RawRef {
                        name: None,
                        op: op.clone(),
                        op_span: *op_span,
                        left,
                        right,
                        on_delete: None,
                        on_update: None,
                        inactive: false,
                        span: s.span,
                        inline: true,
                    });
                }
            }
        }
    }

    fn default_value(&mut self, v: Option<&AttrValue>, span: Span) -> Option<DefaultValue> {
        let bad = |this: &mut Self| {
            this.err(
                codes::INVALID_SETTING_VALUE,
                "a default must be a number, a string, `true`, `false`, `null`, an enum value or an expression in backticks",
                span,
            );
            None
        };
        match v {
            Some(AttrValue::Expr(e)) => match e {
                Expr::Number(..) | Expr::Prefix(..) => match signed_number(e) {
                    Some(n) => Some(DefaultValue::Number(n)),
                    None => bad(self),
                },
                Expr::Str(s) => Some(DefaultValue::String(cook_string(s))),
                Expr::Name(n) if n.quoted => Some(DefaultValue::String(n.text.clone())),
                Expr::Backtick(t, _) => Some(DefaultValue::Expression(t.clone())),
                Expr::Name(n) if !n.quoted => match lc(&n.text).as_str() {
                    "true" => Some(DefaultValue::Bool(true)),
                    "false" => Some(DefaultValue::Bool(false)),
                    "null" => Some(DefaultValue::Null),
                    _ => bad(self),
                },
                Expr::Member(..) => match e.as_path() {
                    Some(p) if p.len() == 2 || p.len() == 3 => Some(DefaultValue::EnumMember {
                        path: p.iter().map(|n| n.text.clone()).collect(),
                    }),
                    _ => bad(self),
                },
                _ => bad(self),
            },
            _ => bad(self),
        }
    }

    /// `t.c`, `s.t.c`, `t.(a, b)`, `s.t.(a, b)`.
    fn endpoint(
        &mut self,
        e: &Expr,
        composite_ok: bool,
        same_table: Option<(&str, &str)>,
    ) -> Option<RawEnd> {
        let span = e.span();
        let bad = |this: &mut Self| {
            this.err(
                codes::INVALID_REF,
                "a ref end is written `table.column`, `schema.table.column` or `table.(a, b)`",
                span,
            );
            None
        };
        if let (Some(n), Some((schema, table))) = (e.as_name(), same_table) {
            // `ref: - id`: a column of the same table.
            return Some(RawEnd {
                schema: Some(schema.to_string()),
                table: table.to_string(),
                columns: vec![n.text.clone()],
                span,
                table_span: None,
                column_spans: vec![n.span],
            });
        }
        let Expr::Member(lhs, last, _) = e else {
            return bad(self);
        };
        let mut column_spans = Vec::new();
        let columns: Vec<String> = match last.as_ref() {
            Expr::Name(n) => {
                column_spans.push(n.span);
                vec![n.text.clone()]
            }
            Expr::Tuple(items, tspan) => {
                if !composite_ok {
                    self.err(
                        codes::INVALID_REF,
                        "an inline ref cannot be composite",
                        *tspan,
                    );
                    return None;
                }
                let mut cols = Vec::new();
                for i in items {
                    match i.as_name() {
                        Some(n) => {
                            cols.push(n.text.clone());
                            column_spans.push(n.span);
                        }
                        None => return bad(self),
                    }
                }
                if cols.is_empty() {
                    return bad(self);
                }
                cols
            }
            _ => return bad(self),
        };
        match lhs.as_path().as_deref() {
            Some([t]) => Some(RawEnd {
                schema: None,
                table: t.text.clone(),
                columns,
                span,
                table_span: Some(t.span),
                column_spans,
            }),
            Some([s, t]) => Some(RawEnd {
                schema: Some(s.text.clone()),
                table: t.text.clone(),
                columns,
                span,
                table_span: Some(s.span.to(t.span)),
                column_spans,
            }),
            _ => bad(self),
        }
    }

    fn top_ref(&mut self, l: &Line, kw: &Name) {
        let h = self.header(l, kw);
        let name = h
            .name
            .and_then(|n| n.as_name())
            .map(|n| (n.text.clone(), n.span));
        if let Some(n) = h.name {
            if n.as_name().is_none() {
                self.err(
                    codes::INVALID_NAME,
                    "a ref's name must be a single name",
                    n.span(),
                );
            }
        }
        if let Some(a) = h.alias {
            self.err(
                codes::UNEXPECTED_PART,
                "a ref cannot have an alias",
                a.span(),
            );
        }
        if let Some(s) = h.settings_span {
            self.err(
                codes::UNEXPECTED_PART,
                "a ref's settings go after its relation",
                s,
            );
        }
        let bodies: Vec<(&[Expr], Span)> = if let Some((span, body)) = h.simple {
            vec![(body, span)]
        } else if let Some(b) = h.block {
            let v: Vec<_> = b
                .lines
                .iter()
                .filter(|x| !x.error)
                .map(|x| (x.head.as_slice(), x.span))
                .collect();
            if v.is_empty() {
                self.err(codes::EMPTY_ELEMENT, "a ref must have a relation", b.span);
            }
            if v.len() > 1 {
                self.err(
                    codes::INVALID_REF,
                    "a ref block holds exactly one relation",
                    v[1].1,
                );
                vec![v[0]]
            } else {
                v
            }
        } else {
            self.err(
                codes::MISSING_BODY,
                "a ref needs `: a.x > b.y` or `{ a.x > b.y }`",
                kw.span,
            );
            return;
        };
        for (body, span) in bodies {
            self.relation(body, span, name.clone());
        }
    }

    fn relation(&mut self, body: &[Expr], span: Span, name: Option<(String, Span)>) {
        let (rel, settings) = match body {
            [rel] => (rel, None),
            [rel, Expr::List(attrs, _)] => (rel, Some(attrs)),
            [] => {
                self.err(codes::EMPTY_ELEMENT, "a ref must have a relation", span);
                return;
            }
            [_, other, ..] => {
                self.err(
                    codes::INVALID_REF,
                    format!("unexpected {} in a ref", describe(other)),
                    other.span(),
                );
                return;
            }
        };
        let Expr::Binary(op, op_span, l, r, _) = rel else {
            self.err(
                codes::INVALID_REF,
                "a ref is written `a.x > b.y` (or `<`, `-`, `<>`)",
                rel.span(),
            );
            return;
        };
        if !is_relation_op(op) {
            self.err(
                codes::INVALID_REF,
                format!("`{op}` is not a relation: use `>`, `<`, `-` or `<>`"),
                *op_span,
            );
            return;
        }
        let (Some(left), Some(right)) =
            (self.endpoint(l, true, None), self.endpoint(r, true, None))
        else {
            return;
        };
        let mut rf = RawRef {
            name,
            op: op.clone(),
            op_span: *op_span,
            left,
            right,
            on_delete: None,
            on_update: None,
            inactive: false,
            span: rel.span(),
            inline: false,
        };
        if let Some(attrs) = settings {
            for s in self.distinct_settings(attrs) {
                let vspan = s.value_span.unwrap_or(s.span);
                match s.name.as_str() {
                    "delete" | "update" => {
                        let action = match s.value {
                            Some(AttrValue::Words(w)) => parse_action(&words(w)),
                            Some(AttrValue::Expr(Expr::Name(n))) if !n.quoted => {
                                parse_action(&lc(&n.text))
                            }
                            _ => None,
                        };
                        match action {
                            Some(a) if s.name == "delete" => rf.on_delete = Some(a),
                            Some(a) => rf.on_update = Some(a),
                            None => self.err(
                                codes::INVALID_SETTING_VALUE,
                                format!("`{}` must be one of cascade, restrict, set null, set default, no action", s.name),
                                vspan,
                            ),
                        }
                    }
                    "color" => {
                        if !matches!(s.value, Some(AttrValue::Expr(Expr::Color(..)))) {
                            self.err(
                                codes::INVALID_SETTING_VALUE,
                                "`color` must be a color such as `#79AD51`",
                                vspan,
                            );
                        }
                    }
                    "inactive" => {
                        if s.value.is_some() {
                            self.err(
                                codes::INVALID_SETTING_VALUE,
                                "`inactive` takes no value",
                                vspan,
                            );
                        }
                        rf.inactive = true;
                    }
                    _ => {
                        self.unknown_setting("ref", &s, &["delete", "update", "color", "inactive"])
                    }
                }
            }
        }
        self.out.refs.push(rf);
    }

    fn indexes(&mut self, line: &Line, table: &mut Table) {
        let Some(block) = line.block() else { return };
        if line.head.len() > 2 {
            self.err(
                codes::UNEXPECTED_PART,
                "`indexes` takes no name or settings",
                line.head[1].span(),
            );
        }
        for l in &block.lines {
            if l.error {
                continue;
            }
            if let Some((span, _)) = &l.colon {
                self.err(codes::INVALID_INDEX, "unexpected `:` in an index", *span);
                continue;
            }
            let names: Vec<&Name> = l.head.iter().map_while(Expr::as_name).collect();
            if names.len() > 1 {
                // The old syntax `id name` lists the columns of a composite index.
                let settings = match &l.head[names.len()..] {
                    [] => None,
                    [Expr::List(a, _)] => Some(a),
                    [other, ..] => {
                        self.err(
                            codes::INVALID_INDEX,
                            format!("unexpected {} in an index", describe(other)),
                            other.span(),
                        );
                        continue;
                    }
                };
                let parts = names
                    .iter()
                    .map(|n| IndexPart::Column(n.text.clone()))
                    .collect();
                self.index_entry(
                    parts,
                    Vec::new(),
                    settings.map(Vec::as_slice),
                    l.span,
                    table,
                );
                continue;
            }
            let (target, settings) = match l.head.as_slice() {
                [t] => (t, None),
                [t, Expr::List(a, _)] => (t, Some(a)),
                [_, other, ..] => {
                    self.err(
                        codes::INVALID_INDEX,
                        format!("unexpected {} in an index", describe(other)),
                        other.span(),
                    );
                    continue;
                }
                [] => continue,
            };
            let mut parts = Vec::new();
            let mut origins = Vec::new();
            let mut ok = true;
            let mut push = |e: &Expr, parts: &mut Vec<IndexPart>| match e {
                Expr::Name(n) => {
                    parts.push(IndexPart::Column(n.text.clone()));
                    true
                }
                Expr::Backtick(t, span) => {
                    parts.push(IndexPart::Expression(t.clone()));
                    origins.push(Origin(Some(*span)));
                    true
                }
                _ => false,
            };
            match target {
                Expr::Tuple(items, _) if !items.is_empty() => {
                    for i in items {
                        if !push(i, &mut parts) {
                            self.err(
                                codes::INVALID_INDEX,
                                "an index part must be a column name or an expression in backticks",
                                i.span(),
                            );
                            ok = false;
                        }
                    }
                }
                other => {
                    if !push(other, &mut parts) {
                        self.err(
                            codes::INVALID_INDEX,
                            "an index is a column, `(a, b)` or an expression in backticks",
                            other.span(),
                        );
                        ok = false;
                    }
                }
            }
            if !ok {
                continue;
            }
            self.index_entry(parts, origins, settings.map(Vec::as_slice), l.span, table);
        }
    }

    fn index_entry(
        &mut self,
        parts: Vec<IndexPart>,
        expression_origins: Vec<Origin>,
        settings: Option<&[Attr]>,
        span: Span,
        table: &mut Table,
    ) {
        {
            let l_span = span;
            let mut idx = Index {
                name: None,
                parts,
                unique: false,
                primary_key: false,
                method: None,
                note: None,
                origin: Origin(Some(l_span)),
                expression_origins,
            };
            if let Some(attrs) = settings {
                for s in self.distinct_settings(attrs) {
                    let vspan = s.value_span.unwrap_or(s.span);
                    match s.name.as_str() {
                        "pk" | "primary key" if s.value.is_none() => idx.primary_key = true,
                        "unique" if s.value.is_none() => idx.unique = true,
                        "name" => match string_value(s.value) {
                            Some(n) => idx.name = Some(n),
                            None => self.err(
                                codes::INVALID_SETTING_VALUE,
                                "an index `name` must be a string",
                                vspan,
                            ),
                        },
                        "note" => match string_value(s.value) {
                            Some(n) => idx.note = Some(n),
                            None => self.err(
                                codes::INVALID_SETTING_VALUE,
                                "`note` must be a string",
                                vspan,
                            ),
                        },
                        "type" => match s.value {
                            Some(AttrValue::Expr(Expr::Name(n))) => idx.method = Some(lc(&n.text)),
                            _ => self.err(
                                codes::INVALID_SETTING_VALUE,
                                "an index `type` is a method name such as `btree` or `hash`",
                                vspan,
                            ),
                        },
                        "pk" | "primary key" | "unique" => self.err(
                            codes::INVALID_SETTING_VALUE,
                            format!("`{}` takes no value", s.name),
                            vspan,
                        ),
                        _ => self.unknown_setting(
                            "index",
                            &s,
                            &["pk", "primary key", "unique", "name", "note", "type"],
                        ),
                    }
                }
            }
            if idx.primary_key
                && idx
                    .parts
                    .iter()
                    .any(|p| matches!(p, IndexPart::Expression(_)))
            {
                self.err(
                    codes::INVALID_INDEX,
                    "a primary key cannot contain an expression",
                    l_span,
                );
            }
            table.indexes.push(idx);
        }
    }

    fn checks(&mut self, line: &Line, table: &mut Table) {
        let Some(block) = line.block() else { return };
        for l in &block.lines {
            if l.error {
                continue;
            }
            let (expr, settings) = match l.head.as_slice() {
                [Expr::Backtick(t, s)] => ((t, s), None),
                [Expr::Backtick(t, s), Expr::List(a, _)] => ((t, s), Some(a)),
                _ => {
                    self.err(
                        codes::INVALID_CHECK,
                        "a check is an expression in backticks, optionally with `[name: '…']`",
                        l.span,
                    );
                    continue;
                }
            };
            let mut check = Check {
                name: None,
                expression: expr.0.clone(),
                origin: Origin(Some(*expr.1)),
            };
            if let Some(attrs) = settings {
                for s in self.settings(attrs) {
                    match s.name.as_str() {
                        "name" => match string_value(s.value) {
                            Some(n) => check.name = Some(n),
                            None => self.err(
                                codes::INVALID_SETTING_VALUE,
                                "a check `name` must be a string",
                                s.value_span.unwrap_or(s.span),
                            ),
                        },
                        _ => self.unknown_setting("check", &s, &["name"]),
                    }
                }
            }
            table.checks.push(check);
        }
    }

    fn enum_(&mut self, l: &Line, kw: &Name) {
        let h = self.header(l, kw);
        let Some(name_expr) = h.name else {
            self.err(codes::INVALID_NAME, "an enum needs a name", kw.span);
            return;
        };
        let Some((schema, name, span)) = self.qualified(name_expr, "enum") else {
            return;
        };
        if let Some(s) = h.settings_span {
            self.err(codes::UNEXPECTED_PART, "an enum has no settings", s);
        }
        if let Some(a) = h.alias {
            self.err(
                codes::UNEXPECTED_PART,
                "an enum cannot have an alias",
                a.span(),
            );
        }
        let Some(block) = h.block else {
            self.err(
                codes::MISSING_BODY,
                "an enum needs a `{ … }` body with its values",
                kw.span,
            );
            return;
        };
        let mut values = Vec::new();
        let mut spans = Vec::new();
        for line in &block.lines {
            if line.error {
                continue;
            }
            let (value, settings) = match line.head.as_slice() {
                [Expr::Name(n)] if line.colon.is_none() => (n, None),
                [Expr::Name(n), Expr::List(a, _)] if line.colon.is_none() => (n, Some(a)),
                _ => {
                    self.err(
                        codes::INVALID_ENUM_VALUE,
                        "an enum value is a name, optionally with `[note: '…']`",
                        line.span,
                    );
                    continue;
                }
            };
            let mut v = EnumValue {
                name: value.text.clone(),
                note: None,
                origin: Origin(Some(value.span)),
            };
            if let Some(attrs) = settings {
                for s in self.settings(attrs) {
                    match s.name.as_str() {
                        "note" => match string_value(s.value) {
                            Some(n) => v.note = Some(n),
                            None => self.err(
                                codes::INVALID_SETTING_VALUE,
                                "`note` must be a string",
                                s.value_span.unwrap_or(s.span),
                            ),
                        },
                        _ => self.unknown_setting("enum value", &s, &["note"]),
                    }
                }
            }
            spans.push(value.span);
            values.push(v);
        }
        if values.is_empty() {
            self.err(
                codes::EMPTY_ELEMENT,
                "an enum must have at least one value",
                span,
            );
        }
        self.out.enums.push((
            EnumType {
                name: QualifiedName::new(schema.unwrap_or_else(|| DEFAULT_SCHEMA.into()), name),
                values,
                origin: Origin(Some(span)),
            },
            span,
            spans,
        ));
    }

    fn group(&mut self, l: &Line, kw: &Name) {
        let h = self.header(l, kw);
        let Some(n) = h.name.and_then(|e| e.as_name()) else {
            self.err(
                codes::INVALID_NAME,
                "a table group needs a single name",
                h.name.map_or(kw.span, Expr::span),
            );
            return;
        };
        let mut g = RawGroup {
            name: n.text.clone(),
            name_span: n.span,
            tables: Vec::new(),
            note: None,
        };
        let mut note_span: Option<Span> = None;
        if let Some(attrs) = h.settings {
            for s in self.distinct_settings(attrs) {
                match s.name.as_str() {
                    "color" => {
                        if !matches!(s.value, Some(AttrValue::Expr(Expr::Color(..)))) {
                            self.err(
                                codes::INVALID_SETTING_VALUE,
                                "`color` must be a color such as `#79AD51`",
                                s.value_span.unwrap_or(s.span),
                            );
                        }
                    }
                    "note" => g.note = string_value(s.value),
                    _ => self.unknown_setting("table group", &s, &["color", "note"]),
                }
            }
        }
        let Some(block) = h.block else {
            self.err(
                codes::MISSING_BODY,
                "a table group needs a `{ … }` body",
                kw.span,
            );
            return;
        };
        for line in &block.lines {
            if line.error {
                continue;
            }
            if let Some(k) = line.keyword() {
                if lc(&k.text) == "note" && (line.colon.is_some() || line.block().is_some()) {
                    if let Some(prev) = note_span {
                        self.diags.push(
                            Diagnostic::error(
                                codes::REDEFINED,
                                "the group's note is declared twice",
                                line.span,
                            )
                            .with_secondary(prev, "first declared here"),
                        );
                    }
                    note_span = Some(line.span);
                    let lh = self.header(line, k);
                    g.note = self.note_of_simple_or_block(&lh);
                    continue;
                }
            }
            match line.head.as_slice() {
                [e] if line.colon.is_none() => {
                    if let Some((s, t, span)) = self.qualified(e, "table") {
                        g.tables.push((s, t, span));
                    }
                }
                _ => self.err(
                    codes::INVALID_FIELD,
                    "a table group lists one table name per line",
                    line.span,
                ),
            }
        }
        self.out.groups.push(g);
    }

    fn records(&mut self, l: &Line, kw: &Name, table: Option<&QualifiedName>) {
        let h = self.header(l, kw);
        let Some(block) = h.block else {
            self.err(codes::MISSING_BODY, "records need a `{ … }` body", kw.span);
            return;
        };
        let mut col_exprs: &[Expr] = &[];
        let (schema, tname) = match (h.name, table) {
            (Some(Expr::Call(callee, args, _)), None) => {
                let Some((s, t, _)) = self.qualified(callee, "table") else {
                    return;
                };
                col_exprs = args;
                (s, t)
            }
            (Some(e), None) => match self.qualified(e, "table") {
                Some((s, t, _)) => (s, t),
                None => return,
            },
            (Some(Expr::Tuple(args, _)), Some(t)) => {
                col_exprs = args;
                (Some(t.schema.clone()), t.name.clone())
            }
            (None, Some(t)) => (Some(t.schema.clone()), t.name.clone()),
            (Some(e), Some(_)) => {
                self.err(
                    codes::INVALID_RECORDS,
                    "records inside a table take `(columns)` only",
                    e.span(),
                );
                return;
            }
            (None, None) => {
                self.err(
                    codes::INVALID_RECORDS,
                    "records need a table: `records t(a, b) { … }`",
                    kw.span,
                );
                return;
            }
        };
        let mut columns: Vec<(String, Span)> = Vec::new();
        for e in col_exprs {
            match e.as_name() {
                Some(n) => {
                    if let Some((_, prev)) = columns.iter().find(|(c, _)| *c == n.text) {
                        let prev = *prev;
                        self.diags.push(
                            Diagnostic::error(
                                codes::DUPLICATE_NAME,
                                format!("column `{}` is listed twice in the records", n.text),
                                n.span,
                            )
                            .with_secondary(prev, "first listed here"),
                        );
                        continue;
                    }
                    columns.push((n.text.clone(), n.span));
                }
                None => self.err(
                    codes::INVALID_RECORDS,
                    "a records column must be a name",
                    e.span(),
                ),
            }
        }
        let mut rows = Vec::with_capacity(block.lines.len());
        for line in &block.lines {
            if line.error {
                continue;
            }
            let values: Vec<&Expr> = match line.head.as_slice() {
                [Expr::Comma(items, _)] => items.iter().collect(),
                [single] => vec![single],
                [] => continue,
                [_, other, ..] => {
                    self.err(
                        codes::INVALID_RECORDS,
                        format!(
                            "unexpected {} in a records row: separate values with `,`",
                            describe(other)
                        ),
                        other.span(),
                    );
                    continue;
                }
            };
            let mut row = Vec::with_capacity(values.len());
            for v in values {
                match record_value(v) {
                    Some(rv) => row.push((rv, v.span())),
                    None => self.err(
                        codes::INVALID_RECORDS,
                        "a record value must be a literal, `null`, `true`, `false`, an enum value or an expression in backticks",
                        v.span(),
                    ),
                }
            }
            rows.push(row);
        }
        self.out.records.push(RawRecords {
            schema,
            table: tname,
            span: l.span,
            columns,
            rows,
        });
    }

    fn diagram_view(&mut self, l: &Line, kw: &Name) {
        let h = self.header(l, kw);
        if h.name.is_none() {
            self.err(codes::INVALID_NAME, "a `DiagramView` needs a name", kw.span);
        }
        let Some(block) = h.block else {
            self.err(
                codes::MISSING_BODY,
                "a `DiagramView` needs a `{ … }` body",
                kw.span,
            );
            return;
        };
        for line in &block.lines {
            if line.error {
                continue;
            }
            if let [Expr::Wildcard(_)] = line.head.as_slice() {
                continue;
            }
            let kind = line.keyword().map(|k| lc(&k.text));
            let kind = match kind.as_deref() {
                Some("tables") => ViewKind::Table,
                Some("notes") => ViewKind::Note,
                Some("tablegroups") => ViewKind::Group,
                Some("schemas") => ViewKind::Schema,
                _ => {
                    self.err(
                        codes::INVALID_FIELD,
                        "a `DiagramView` lists `Tables`, `Notes`, `TableGroups` or `Schemas` blocks, or `*`",
                        line.span,
                    );
                    continue;
                }
            };
            let Some(b) = line.block() else {
                self.err(codes::MISSING_BODY, "expected a `{ … }` list", line.span);
                continue;
            };
            for item in &b.lines {
                if item.error {
                    continue;
                }
                match item.head.as_slice() {
                    [Expr::Wildcard(_)] => {}
                    [e] => match e.as_path() {
                        Some(p) => self.out.view_refs.push((
                            kind,
                            p.iter().map(|n| n.text.clone()).collect(),
                            e.span(),
                        )),
                        None => self.err(codes::INVALID_FIELD, "expected a name", e.span()),
                    },
                    _ => self.err(
                        codes::INVALID_FIELD,
                        "expected one name per line",
                        item.span,
                    ),
                }
            }
        }
    }
}

/// What a `DiagramView` list names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewKind {
    Table,
    Note,
    Group,
    Schema,
}

#[derive(Clone, Debug)]
pub enum RecordValue {
    Literal,
    Empty,
    /// `enum.value` or `schema.enum.value`.
    EnumMember(Vec<String>),
}

#[derive(Clone, Debug)]
pub struct RawRecords {
    pub schema: Option<String>,
    pub table: String,
    pub span: Span,
    pub columns: Vec<(String, Span)>,
    pub rows: Vec<Vec<(RecordValue, Span)>>,
}

fn record_value(e: &Expr) -> Option<RecordValue> {
    match e {
        Expr::Number(..) | Expr::Str(_) | Expr::Backtick(..) => Some(RecordValue::Literal),
        Expr::Prefix(..) => signed_number(e).map(|_| RecordValue::Literal),
        Expr::Name(n) if n.quoted => Some(RecordValue::Literal),
        Expr::Name(n) if matches!(lc(&n.text).as_str(), "null" | "true" | "false") => {
            Some(RecordValue::Literal)
        }
        Expr::Empty(_) => Some(RecordValue::Empty),
        Expr::Member(..) => match e.as_path() {
            Some(p) if p.len() == 2 || p.len() == 3 => Some(RecordValue::EnumMember(
                p.iter().map(|n| n.text.clone()).collect(),
            )),
            _ => None,
        },
        _ => None,
    }
}

pub fn is_relation_op(op: &str) -> bool {
    matches!(
        op,
        ">" | "<"
            | "-"
            | "<>"
            | "-?"
            | "?-"
            | "?-?"
            | "?>"
            | ">?"
            | "?>?"
            | "?<"
            | "<?"
            | "?<?"
            | "?<>"
            | "<>?"
            | "?<>?"
    )
}

/// Cardinalities and optionality of `left op right`.
pub fn relation_ends(op: &str) -> ((Cardinality, bool), (Cardinality, bool)) {
    let left_opt = op.starts_with('?');
    let right_opt = op.len() > 1 && op.ends_with('?');
    let core = op.trim_matches('?');
    let (l, r) = match core {
        ">" => (Cardinality::Many, Cardinality::One),
        "<" => (Cardinality::One, Cardinality::Many),
        "<>" => (Cardinality::Many, Cardinality::Many),
        _ => (Cardinality::One, Cardinality::One),
    };
    ((l, left_opt), (r, right_opt))
}

fn parse_action(s: &str) -> Option<RefAction> {
    Some(match s {
        "cascade" => RefAction::Cascade,
        "restrict" => RefAction::Restrict,
        "set null" => RefAction::SetNull,
        "set default" => RefAction::SetDefault,
        "no action" => RefAction::NoAction,
        _ => return None,
    })
}

pub(crate) fn describe(e: &Expr) -> &'static str {
    match e {
        Expr::Name(_) => "a name",
        Expr::Str(_) => "a string",
        Expr::Number(..) => "a number",
        Expr::Color(..) => "a color",
        Expr::Backtick(..) => "an expression",
        Expr::Wildcard(_) => "`*`",
        Expr::Member(..) => "a dotted name",
        Expr::Binary(..) => "an operator expression",
        Expr::Prefix(..) => "an operator",
        Expr::Call(..) => "a call",
        Expr::Index(..) => "an index expression",
        Expr::Tuple(..) => "a parenthesised list",
        Expr::List(..) => "a settings list",
        Expr::Block(_) => "a block",
        Expr::Comma(..) => "a comma-separated list",
        Expr::Empty(_) => "an empty value",
        Expr::Error(_) => "an error",
    }
}
