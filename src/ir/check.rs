//! Binding and checking: merges table partials, resolves every name (tables by name, schema or
//! alias; columns; enums; partials; groups), reports duplicates and inconsistencies, and builds
//! the final [`Schema`] with its petgraph graph of tables and references.

use super::codes;
use super::lower::{relation_ends, Lowered, RawEnd, RecordValue, ViewKind};
use super::model::*;
use crate::diag::{Diagnostic, Diagnostics, Span};
use petgraph::graph::{DiGraph, NodeIndex};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// The graph of tables (nodes, by index into `Schema::tables`) and foreign keys (edges from the
/// referencing table to the referenced one, by index into `Schema::refs`). Many-to-many refs
/// have no foreign key of their own and no edge.
pub type SchemaGraph = DiGraph<usize, usize>;

pub fn graph(schema: &Schema) -> SchemaGraph {
    let mut g = DiGraph::with_capacity(schema.tables.len(), schema.refs.len());
    let mut index: HashMap<&QualifiedName, NodeIndex> =
        HashMap::with_capacity_and_hasher(schema.tables.len(), Default::default());
    for (i, t) in schema.tables.iter().enumerate() {
        index.insert(&t.name, g.add_node(i));
    }
    for (i, r) in schema.refs.iter().enumerate() {
        let Some((from, to)) = r.fk_sides() else {
            continue;
        };
        if let (Some(&a), Some(&b)) = (index.get(&from.table), index.get(&to.table)) {
            g.add_edge(a, b, i);
        }
    }
    g
}

struct Ctx<'d> {
    diags: &'d mut Diagnostics,
}

impl Ctx<'_> {
    fn err(&mut self, code: &'static str, msg: impl Into<String>, span: Span) {
        self.diags.push(Diagnostic::error(code, msg, span));
    }
    fn dup(&mut self, what: &str, name: &str, span: Span, prev: Span) {
        self.diags.push(
            Diagnostic::error(
                codes::DUPLICATE_NAME,
                format!("{what} `{name}` is declared twice"),
                span,
            )
            .with_secondary(prev, "first declared here"),
        );
    }
}

/// A name as DBML would write it: quoted unless it is a plain identifier.
fn dbml_name(n: &str) -> String {
    let plain = n
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && n.chars().all(|c| c.is_alphanumeric() || c == '_');
    if plain {
        n.to_string()
    } else {
        format!("\"{}\"", n.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The names a table reference could have meant: in `schema`, or for an unqualified one the
/// default schema's tables and every alias.
fn table_names<'t>(tables: &'t [Table], schema: Option<&'t str>) -> Vec<&'t str> {
    let want = schema.unwrap_or(DEFAULT_SCHEMA);
    let mut v: Vec<&str> = tables
        .iter()
        .filter(|t| t.name.schema == want)
        .map(|t| t.name.name.as_str())
        .collect();
    if schema.is_none() {
        v.extend(tables.iter().filter_map(|t| t.alias.as_deref()));
    }
    v
}

/// "Table `x` does not exist", with the closest table name as a suggestion for `span`.
fn unknown_table(tables: &[Table], end: &RawEnd, shown: &str) -> Diagnostic {
    let span = end.table_span.unwrap_or(end.span);
    Diagnostic::error(
        codes::UNKNOWN_TABLE,
        format!("table `{shown}` does not exist"),
        span,
    )
    .suggest(span, &end.table, table_names(tables, end.schema.as_deref()))
}

/// "Enum `e` does not exist" or "has no value `v`" for `path` (`e.v` or `s.e.v`) written at
/// `span`, with the closest enum or value as a suggestion; `None` when the path resolves.
fn unknown_enum_member(enums: &[EnumType], path: &[String], span: Span) -> Option<Diagnostic> {
    let (schema, ename, value) = match path {
        [e, v] => (DEFAULT_SCHEMA, e.as_str(), v.as_str()),
        [s, e, v] => (s.as_str(), e.as_str(), v.as_str()),
        _ => return None,
    };
    let qn = QualifiedName::new(schema, ename);
    let prefix = &path[..path.len() - 2];
    let written = |e: &str, v: &str| {
        let mut parts: Vec<String> = prefix.iter().map(|p| dbml_name(p)).collect();
        parts.push(dbml_name(e));
        parts.push(dbml_name(v));
        parts.join(".")
    };
    match enums.iter().find(|e| e.name == qn) {
        None => {
            let d = Diagnostic::error(
                codes::UNKNOWN_ENUM,
                format!("enum `{qn}` does not exist"),
                span,
            );
            let names = enums
                .iter()
                .filter(|e| e.name.schema == schema)
                .map(|e| e.name.name.as_str());
            Some(match crate::diag::closest(ename, names) {
                Some(e) => d.with_suggestion(span, written(e, value)),
                None => d,
            })
        }
        Some(e) if !e.values.iter().any(|v| v.name == value) => {
            let d = Diagnostic::error(
                codes::UNKNOWN_ENUM,
                format!("enum `{qn}` has no value `{value}`"),
                span,
            );
            Some(
                match crate::diag::closest(value, e.values.iter().map(|v| v.name.as_str())) {
                    Some(v) => d.with_suggestion(span, written(ename, v)),
                    None => d,
                },
            )
        }
        Some(_) => None,
    }
}

pub fn check(lowered: Lowered, diags: &mut Diagnostics) -> Schema {
    let mut cx = Ctx { diags };
    let Lowered {
        projects,
        tables,
        partials,
        enums,
        refs,
        groups,
        notes: _,
        records,
        view_refs,
        note_names,
    } = lowered;

    // One project; one sticky note of each name.
    if let Some((_, first)) = projects.first() {
        for (_, span) in &projects[1..] {
            cx.diags.push(
                Diagnostic::error(codes::REDEFINED, "a project is declared twice", *span)
                    .with_secondary(*first, "first declared here"),
            );
        }
    }
    let mut notes_seen: HashMap<&str, Span> = HashMap::default();
    for (n, span) in &note_names {
        if let Some(&prev) = notes_seen.get(n.as_str()) {
            cx.diags.push(
                Diagnostic::error(
                    codes::REDEFINED,
                    format!("note `{n}` is declared twice"),
                    *span,
                )
                .with_secondary(prev, "first declared here"),
            );
        } else {
            notes_seen.insert(n, *span);
        }
    }

    // Partials by name.
    let mut partial_by_name: HashMap<String, usize> = HashMap::default();
    for (i, p) in partials.iter().enumerate() {
        if let Some(&prev) = partial_by_name.get(&p.name) {
            cx.dup("table partial", &p.name, p.span, partials[prev].span);
        } else {
            partial_by_name.insert(p.name.clone(), i);
        }
        check_columns_unique(&mut cx, &p.table);
        check_index_columns(&mut cx, &p.table, "table partial");
        for r in &p.refs {
            let own = r
                .right
                .schema
                .as_deref()
                .is_none_or(|s| s == DEFAULT_SCHEMA)
                && r.right.table == p.name;
            if own && r.left.columns == r.right.columns {
                cx.err(
                    codes::SAME_ENDPOINT,
                    "both ends of the ref are the same column",
                    r.span,
                );
            }
        }
    }

    let mut partial_refs = Vec::new();
    // Tables: merge partials, then names and aliases.
    let mut out_tables = Vec::with_capacity(tables.len());
    let mut by_name: HashMap<QualifiedName, (usize, Span)> =
        HashMap::with_capacity_and_hasher(tables.len(), Default::default());
    let mut by_alias: HashMap<String, (usize, Span)> = HashMap::default();
    for lt in tables {
        let mut table = lt.table;
        // Duplicate columns declared directly in the table.
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for (c, span) in table.columns.iter().zip(&lt.column_spans) {
            if let Some(prev) = seen.insert(&c.name, *span) {
                cx.diags.push(
                    Diagnostic::error(
                        codes::DUPLICATE_NAME,
                        format!("column `{}` is declared twice", c.name),
                        *span,
                    )
                    .with_secondary(prev, "first declared here"),
                );
            }
        }
        if !lt.injections.is_empty() {
            let mut injected_names: HashMap<&str, Span> = HashMap::default();
            let own: HashSet<String> = table.columns.iter().map(|c| c.name.clone()).collect();
            let mut merged: Vec<Column> = Vec::new();
            let mut own_iter = std::mem::take(&mut table.columns)
                .into_iter()
                .enumerate()
                .peekable();
            for inj in &lt.injections {
                if let Some(prev) = injected_names.insert(&inj.name, inj.span) {
                    cx.diags.push(
                        Diagnostic::error(
                            codes::DUPLICATE_NAME,
                            format!("partial `{}` is injected twice", inj.name),
                            inj.span,
                        )
                        .with_secondary(prev, "first injected here"),
                    );
                    continue;
                }
                while own_iter.peek().is_some_and(|(i, _)| *i < inj.position) {
                    if let Some((_, c)) = own_iter.next() {
                        merged.push(c);
                    }
                }
                let Some(&pi) = partial_by_name.get(&inj.name) else {
                    cx.err(
                        codes::UNKNOWN_PARTIAL,
                        format!("table partial `{}` does not exist", inj.name),
                        inj.span,
                    );
                    continue;
                };
                let p = &partials[pi].table;
                for c in &p.columns {
                    if own.contains(&c.name) {
                        continue; // the table's own definition wins
                    }
                    // A later partial overrides an earlier one's column of the same name.
                    merged.retain(|m| m.name != c.name);
                    merged.push(c.clone());
                    for r in partials[pi]
                        .refs
                        .iter()
                        .filter(|r| r.left.columns == [c.name.clone()])
                    {
                        let mut r = r.clone();
                        r.left.schema = Some(table.name.schema.clone());
                        r.left.table.clone_from(&table.name.name);
                        if r.right.schema.as_deref() == Some(DEFAULT_SCHEMA)
                            && r.right.table == p.name.name
                        {
                            r.right.schema = Some(table.name.schema.clone());
                            r.right.table.clone_from(&table.name.name);
                        }
                        partial_refs.push(r);
                    }
                }
                table.indexes.extend(p.indexes.iter().cloned());
                table.checks.extend(p.checks.iter().cloned());
                if table.note.is_none() {
                    table.note.clone_from(&p.note);
                }
            }
            merged.extend(own_iter.map(|(_, c)| c));
            table.columns = merged;
            if table.columns.is_empty() {
                cx.err(
                    codes::EMPTY_ELEMENT,
                    "a table must have at least one column",
                    lt.name_span,
                );
            }
        }
        let idx = out_tables.len();
        if let Some(&(_, prev)) = by_name.get(&table.name) {
            cx.dup("table", &table.name.to_string(), lt.name_span, prev);
            continue;
        }
        by_name.insert(table.name.clone(), (idx, lt.name_span));
        if let Some(a) = &table.alias {
            let span = lt.alias_span.unwrap_or(lt.name_span);
            if let Some(&(_, prev)) = by_alias.get(a) {
                cx.dup("alias", a, span, prev);
            } else {
                by_alias.insert(a.clone(), (idx, span));
            }
        }
        out_tables.push(table);
    }
    // An alias may not shadow a table name in the default schema.
    for (a, (ti, span)) in &by_alias {
        if let Some(&(other, prev)) = by_name.get(&QualifiedName::new(DEFAULT_SCHEMA, a.as_str())) {
            if other != *ti {
                cx.dup("name", a, *span, prev);
            }
        }
    }
    let refs: Vec<_> = refs.into_iter().chain(partial_refs).collect();

    // Enums.
    let mut out_enums = Vec::with_capacity(enums.len());
    let mut enum_names: HashMap<QualifiedName, Span> = HashMap::default();
    for (e, span, value_spans) in enums {
        if let Some(&prev) = enum_names.get(&e.name) {
            cx.dup("enum", &e.name.to_string(), span, prev);
            continue;
        }
        enum_names.insert(e.name.clone(), span);
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for (v, vs) in e.values.iter().zip(&value_spans) {
            if let Some(prev) = seen.insert(&v.name, *vs) {
                cx.dup("enum value", &v.name, *vs, prev);
            }
        }
        out_enums.push(e);
    }

    let find_table = |end: &RawEnd| -> Option<usize> {
        match &end.schema {
            Some(s) => by_name
                .get(&QualifiedName::new(s.as_str(), end.table.as_str()))
                .map(|x| x.0),
            None => by_name
                .get(&QualifiedName::new(DEFAULT_SCHEMA, end.table.as_str()))
                .or_else(|| by_alias.get(&end.table))
                .map(|x| x.0),
        }
    };

    // Column-level checks: enum defaults.
    for t in &out_tables {
        for c in &t.columns {
            if let Some(DefaultValue::EnumMember { path }) = &c.default {
                // The default's value is what is wrong, not the column.
                let span = c
                    .default_origin
                    .span()
                    .or(c.origin.span())
                    .unwrap_or_default();
                if let Some(d) = unknown_enum_member(&out_enums, path, span) {
                    cx.diags.push(d);
                }
            }
        }
        check_index_columns(&mut cx, t, "table");
    }

    // Refs.
    let mut out_refs = Vec::with_capacity(refs.len());
    let mut ref_names: HashMap<String, Span> = HashMap::default();
    let mut seen_pairs: HashMap<(QualifiedName, Vec<String>, QualifiedName, Vec<String>), Span> =
        HashMap::default();
    for r in refs {
        if let Some((n, span)) = &r.name {
            if let Some(&prev) = ref_names.get(n) {
                cx.dup("ref", n, *span, prev);
            } else {
                ref_names.insert(n.clone(), *span);
            }
        }
        let mut resolved = Vec::with_capacity(2);
        for end in [&r.left, &r.right] {
            let Some(ti) = find_table(end) else {
                let shown = match &end.schema {
                    Some(s) => format!("{s}.{}", end.table),
                    None => end.table.clone(),
                };
                cx.diags.push(unknown_table(&out_tables, end, &shown));
                continue;
            };
            let t = &out_tables[ti];
            let mut ok = true;
            for (i, c) in end.columns.iter().enumerate() {
                if t.column(c).is_none() {
                    let span = end.column_spans.get(i).copied().unwrap_or(end.span);
                    cx.diags.push(
                        Diagnostic::error(
                            codes::UNKNOWN_COLUMN,
                            format!("column `{c}` does not exist in table `{}`", t.name),
                            span,
                        )
                        .suggest(
                            span,
                            c,
                            t.columns.iter().map(|c| c.name.as_str()),
                        ),
                    );
                    ok = false;
                }
            }
            if ok {
                resolved.push(ti);
            }
        }
        if resolved.len() != 2 {
            continue;
        }
        if r.left.columns.len() != r.right.columns.len() {
            cx.err(
                codes::ARITY_MISMATCH,
                format!(
                    "the two ends of a ref must have as many columns ({} and {})",
                    r.left.columns.len(),
                    r.right.columns.len()
                ),
                r.span,
            );
            continue;
        }
        let lt = out_tables[resolved[0]].name.clone();
        let rt = out_tables[resolved[1]].name.clone();
        if lt == rt && r.left.columns == r.right.columns {
            cx.err(
                codes::SAME_ENDPOINT,
                "both ends of the ref are the same columns",
                r.span,
            );
            continue;
        }
        let key = (
            lt.clone(),
            r.left.columns.clone(),
            rt.clone(),
            r.right.columns.clone(),
        );
        let rev = (
            rt.clone(),
            r.right.columns.clone(),
            lt.clone(),
            r.left.columns.clone(),
        );
        if let Some(&prev) = seen_pairs.get(&key).or_else(|| seen_pairs.get(&rev)) {
            cx.diags.push(
                Diagnostic::error(
                    codes::CIRCULAR_REF,
                    "these columns are already related by another ref",
                    r.span,
                )
                .with_secondary(prev, "the other ref"),
            );
            continue;
        }
        seen_pairs.insert(key, r.span);
        let ((lc, lo), (rc, ro)) = relation_ends(&r.op);
        let left = RefEnd {
            table: lt,
            columns: r.left.columns,
            cardinality: lc,
            optional: lo,
        };
        let right = RefEnd {
            table: rt,
            columns: r.right.columns,
            cardinality: rc,
            optional: ro,
        };
        out_refs.push(Ref {
            name: r.name.map(|n| n.0),
            left,
            right,
            on_delete: r.on_delete,
            on_update: r.on_update,
            inactive: r.inactive,
            inline: r.inline,
            origin: Origin(Some(r.span)),
        });
    }

    // Groups.
    let mut out_groups = Vec::with_capacity(groups.len());
    let mut group_names: HashMap<String, Span> = HashMap::default();
    let mut grouped: HashMap<usize, Span> = HashMap::default();
    for g in groups {
        if let Some(&prev) = group_names.get(&g.name) {
            cx.dup("table group", &g.name, g.name_span, prev);
        } else {
            group_names.insert(g.name.clone(), g.name_span);
        }
        let mut tables = Vec::new();
        for (schema, t, span) in g.tables {
            let end = RawEnd {
                schema,
                table: t.clone(),
                columns: Vec::new(),
                span,
                ..RawEnd::default()
            };
            let Some(ti) = find_table(&end) else {
                cx.diags.push(unknown_table(&out_tables, &end, &t));
                continue;
            };
            if let Some(&prev) = grouped.get(&ti) {
                cx.diags.push(
                    Diagnostic::error(
                        codes::TABLE_IN_TWO_GROUPS,
                        format!("table `{t}` is already in a group"),
                        span,
                    )
                    .with_secondary(prev, "listed here"),
                );
                continue;
            }
            grouped.insert(ti, span);
            tables.push(out_tables[ti].name.clone());
        }
        out_groups.push(TableGroup {
            name: g.name,
            tables,
            note: g.note,
            origin: Origin(Some(g.name_span)),
        });
    }

    // Records must name an existing table (once) and its columns; enum values must exist.
    let mut records_for: HashMap<usize, Span> = HashMap::default();
    for rec in &records {
        let end = RawEnd {
            schema: rec.schema.clone(),
            table: rec.table.clone(),
            columns: Vec::new(),
            span: rec.span,
            ..RawEnd::default()
        };
        let Some(ti) = find_table(&end) else {
            cx.diags.push(unknown_table(&out_tables, &end, &rec.table));
            continue;
        };
        if let Some(&prev) = records_for.get(&ti) {
            cx.diags.push(
                Diagnostic::error(
                    codes::DUPLICATE_RECORDS,
                    format!("table `{}` already has records", rec.table),
                    rec.span,
                )
                .with_secondary(prev, "the first records block"),
            );
        } else {
            records_for.insert(ti, rec.span);
        }
        for (c, cs) in &rec.columns {
            if out_tables[ti].column(c).is_none() {
                cx.diags.push(
                    Diagnostic::error(
                        codes::UNKNOWN_COLUMN,
                        format!("column `{c}` does not exist in table `{}`", rec.table),
                        *cs,
                    )
                    .suggest(
                        *cs,
                        c,
                        out_tables[ti].columns.iter().map(|c| c.name.as_str()),
                    ),
                );
            }
        }
        for row in &rec.rows {
            for (v, span) in row {
                if let RecordValue::EnumMember(path) = v {
                    if let Some(d) = unknown_enum_member(&out_enums, path, *span) {
                        cx.diags.push(d);
                    }
                }
            }
        }
    }

    // Names listed in diagram views.
    for (kind, path, span) in &view_refs {
        let found = match kind {
            ViewKind::Table => {
                let end = match path.as_slice() {
                    [t] => RawEnd {
                        schema: None,
                        table: t.clone(),
                        columns: Vec::new(),
                        span: *span,
                        ..RawEnd::default()
                    },
                    [s, t] => RawEnd {
                        schema: Some(s.clone()),
                        table: t.clone(),
                        columns: Vec::new(),
                        span: *span,
                        ..RawEnd::default()
                    },
                    _ => {
                        cx.err(
                            codes::UNKNOWN_TABLE,
                            format!("table `{}` does not exist", path.join(".")),
                            *span,
                        );
                        continue;
                    }
                };
                find_table(&end).is_some()
            }
            ViewKind::Note => note_names
                .iter()
                .any(|(n, _)| path.len() == 1 && *n == path[0]),
            ViewKind::Group => out_groups
                .iter()
                .any(|g| path.len() == 1 && g.name == path[0]),
            ViewKind::Schema => {
                path.len() == 1
                    && (path[0] == DEFAULT_SCHEMA
                        || out_tables.iter().any(|t| t.name.schema == path[0])
                        || out_enums.iter().any(|e| e.name.schema == path[0]))
            }
        };
        if !found {
            let what = match kind {
                ViewKind::Table => "table",
                ViewKind::Note => "note",
                ViewKind::Group => "table group",
                ViewKind::Schema => "schema",
            };
            cx.err(
                codes::UNKNOWN_NAME,
                format!("{what} `{}` does not exist", path.join(".")),
                *span,
            );
        }
    }

    Schema {
        project: projects.into_iter().next().map(|p| p.0),
        enums: out_enums,
        tables: out_tables,
        refs: out_refs,
        groups: out_groups,
    }
}

fn check_columns_unique(cx: &mut Ctx<'_>, t: &Table) {
    let mut seen: HashMap<&str, Span> = HashMap::default();
    for c in &t.columns {
        let span = c.origin.span().unwrap_or_default();
        if let Some(prev) = seen.insert(&c.name, span) {
            cx.diags.push(
                Diagnostic::error(
                    codes::DUPLICATE_NAME,
                    format!("column `{}` is declared twice", c.name),
                    span,
                )
                .with_secondary(prev, "first declared here"),
            );
        }
    }
}

fn check_index_columns(cx: &mut Ctx<'_>, t: &Table, what: &str) {
    for i in &t.indexes {
        for p in &i.parts {
            if let IndexPart::Column(c) = p {
                if t.column(c).is_none() {
                    let mut d = Diagnostic::error(
                        codes::UNKNOWN_COLUMN,
                        format!("column `{c}` does not exist in {what} `{}`", t.name),
                        i.origin.span().unwrap_or_default(),
                    );
                    if let Some(m) =
                        crate::diag::closest(c, t.columns.iter().map(|c| c.name.as_str()))
                    {
                        d = d.with_help(format!("did you mean `{m}`?"));
                    }
                    cx.diags.push(d);
                }
            }
        }
    }
}
