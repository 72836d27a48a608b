//! Where every name of a DBML file is declared and used, read off the syntax tree: what go to
//! definition, find references, rename, hover and document symbols answer from.
//!
//! A symbol is identified by a key that spells what it is: `table public.users`, `column
//! public.users.id`, `enum public.status`, `value public.status.active`, `partial base`,
//! `group core`. Tables without a schema are in `public`, as DBML says. Each occurrence is the
//! span of the one name token that spells the symbol (in `auth.users.id` the `users` token is a
//! table occurrence, `id` a column occurrence); an alias (`U.id`) counts as a use of its table
//! only for definition, references and hover, never for rename (the alias keeps its own name).

use crate::diag::Span;
use crate::syntax::ast::{Attr, AttrName, AttrValue, Expr, File, Item, Line, Name};
use rustc_hash::FxHashMap as HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Table,
    Column,
    Enum,
    Value,
    Partial,
    Group,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Table => "table",
            Kind::Column => "column",
            Kind::Enum => "enum",
            Kind::Value => "value",
            Kind::Partial => "partial",
            Kind::Group => "group",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Occurrence {
    pub key: String,
    pub kind: Kind,
    pub span: Span,
    pub def: bool,
    /// Spelled through an alias: not renamed with its table.
    pub alias: bool,
}

/// A declared element, for document symbols and hover.
#[derive(Clone, Debug)]
pub struct Element {
    pub key: String,
    pub kind: Kind,
    pub name: String,
    /// The whole element (for a column: its line).
    pub span: Span,
    pub name_span: Span,
    pub children: Vec<Element>,
}

#[derive(Default, Debug)]
pub struct Index {
    pub occurrences: Vec<Occurrence>,
    pub elements: Vec<Element>,
}

pub fn key(kind: Kind, path: &str) -> String {
    format!("{} {path}", kind.word())
}

/// Names declared in a set of files, for resolving uses.
#[derive(Default)]
struct Scope {
    /// `schema.table` of each alias.
    aliases: HashMap<String, String>,
    tables: rustc_hash::FxHashSet<String>,
    enums: rustc_hash::FxHashSet<String>,
}

/// Indexes `files` together (a project: an entry and what it imports), so that uses in one
/// file resolve to declarations in another.
pub fn index(files: &[&File]) -> Index {
    let mut scope = Scope::default();
    for f in files {
        declare(f, &mut scope);
    }
    let mut ix = Index::default();
    for f in files {
        let mut w = Walker {
            scope: &scope,
            ix: &mut ix,
        };
        for item in &f.items {
            if let Item::Line(l) = item {
                w.top(l);
            }
        }
    }
    ix
}

fn text(n: &Name) -> &str {
    &n.text
}

/// `[schema.]name` of a path expression.
fn qualified(path: &[&Name]) -> Option<(String, String)> {
    match path {
        [n] => Some(("public".into(), n.text.clone())),
        [s, n] => Some((s.text.clone(), n.text.clone())),
        _ => None,
    }
}

fn is_kw(l: &Line, kw: &str) -> bool {
    l.keyword().is_some_and(|k| k.text.eq_ignore_ascii_case(kw))
}

fn declare(f: &File, scope: &mut Scope) {
    for item in &f.items {
        let Item::Line(l) = item else { continue };
        let Some(path) = l.head.get(1).and_then(Expr::as_path) else {
            continue;
        };
        let Some((schema, name)) = qualified(&path) else {
            continue;
        };
        if is_kw(l, "table") {
            let full = format!("{schema}.{name}");
            if let (Some(Expr::Name(a)), Some(Expr::Name(alias))) = (l.head.get(2), l.head.get(3)) {
                if a.text.eq_ignore_ascii_case("as") {
                    scope.aliases.insert(alias.text.clone(), full.clone());
                }
            }
            scope.tables.insert(full);
        } else if is_kw(l, "enum") {
            scope.enums.insert(format!("{schema}.{name}"));
        }
    }
}

struct Walker<'a> {
    scope: &'a Scope,
    ix: &'a mut Index,
}

impl Walker<'_> {
    fn add(&mut self, kind: Kind, path: String, span: Span, def: bool, alias: bool) {
        self.ix.occurrences.push(Occurrence {
            key: key(kind, &path),
            kind,
            span,
            def,
            alias,
        });
    }

    /// A use of column `c` of `table` (`schema.table`).
    fn column_use(&mut self, table: &str, c: &Name) {
        self.add(
            Kind::Column,
            format!("{table}.{}", c.text),
            c.span,
            false,
            false,
        );
    }

    /// A table named by a path's leading parts (`users`, `auth.users`, or an alias): its
    /// `schema.table`, with the occurrence recorded at the name token.
    fn table_use(&mut self, parts: &[&Name]) -> Option<String> {
        match parts {
            [n] => {
                if let Some(full) = self.scope.aliases.get(&n.text) {
                    let full = full.clone();
                    self.add(Kind::Table, full.clone(), n.span, false, true);
                    return Some(full);
                }
                let full = format!("public.{}", n.text);
                self.add(Kind::Table, full.clone(), n.span, false, false);
                Some(full)
            }
            [s, n] => {
                let full = format!("{}.{}", s.text, n.text);
                self.add(Kind::Table, full.clone(), n.span, false, false);
                Some(full)
            }
            _ => None,
        }
    }

    /// A ref endpoint: `[schema.]table.column` or `[schema.]table.(a, b)`.
    fn endpoint(&mut self, e: &Expr) {
        match e {
            Expr::Member(left, right, _) => {
                let Some(table_path) = left.as_path() else {
                    return;
                };
                let Some(table) = self.table_use(&table_path) else {
                    return;
                };
                match &**right {
                    Expr::Name(c) => self.column_use(&table, c),
                    Expr::Tuple(items, _) => {
                        for c in items.iter().filter_map(Expr::as_name) {
                            self.column_use(&table, c);
                        }
                    }
                    _ => {}
                }
            }
            Expr::Prefix(_, _, inner, _) => self.endpoint(inner),
            Expr::Binary(_, _, a, b, _) => {
                self.endpoint(a);
                self.endpoint(b);
            }
            _ => {}
        }
    }

    fn top(&mut self, l: &Line) {
        let Some(kw) = l.keyword() else { return };
        let kw = kw.text.to_ascii_lowercase();
        match kw.as_str() {
            "table" | "tablepartial" => self.table(l, kw == "tablepartial"),
            "enum" => self.enumeration(l),
            "ref" => {
                for e in l.colon.iter().flat_map(|(_, body)| body.iter()) {
                    self.endpoint(e);
                }
                if let Some(b) = l.block() {
                    for line in &b.lines {
                        line.head.iter().for_each(|e| self.endpoint(e));
                    }
                }
            }
            "tablegroup" => {
                if let Some(Expr::Name(n)) = l.head.get(1) {
                    self.add(Kind::Group, n.text.clone(), n.span, true, false);
                    self.element(Kind::Group, n.text.clone(), n, l.span, Vec::new());
                }
                if let Some(b) = l.block() {
                    for line in &b.lines {
                        if let Some(path) = line.head.first().and_then(Expr::as_path) {
                            if line.head.len() == 1 {
                                self.table_use(&path);
                            }
                        }
                    }
                }
            }
            "records" => {
                if let Some(Expr::Call(target, cols, _)) = l.head.get(1) {
                    if let Some(table) = target.as_path().and_then(|p| self.table_use(&p)) {
                        for c in cols.iter().filter_map(Expr::as_name) {
                            self.column_use(&table, c);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn element(
        &mut self,
        kind: Kind,
        key_path: String,
        name: &Name,
        span: Span,
        children: Vec<Element>,
    ) {
        self.ix.elements.push(Element {
            key: key(kind, &key_path),
            kind,
            name: name.text.clone(),
            span,
            name_span: name.span,
            children,
        });
    }

    fn table(&mut self, l: &Line, partial: bool) {
        let Some(path) = l.head.get(1).and_then(Expr::as_path) else {
            return;
        };
        let name = *path.last().unwrap_or(&path[0]);
        let (owner, kind) = if partial {
            (format!("~{}", name.text), Kind::Partial)
        } else {
            let Some((schema, table)) = qualified(&path) else {
                return;
            };
            (format!("{schema}.{table}"), Kind::Table)
        };
        let def_key = if partial {
            name.text.clone()
        } else {
            owner.clone()
        };
        self.add(kind, def_key.clone(), name.span, true, false);
        if let (Some(Expr::Name(a)), Some(Expr::Name(alias))) = (l.head.get(2), l.head.get(3)) {
            if a.text.eq_ignore_ascii_case("as") && !partial {
                self.add(kind, owner.clone(), alias.span, false, true);
            }
        }
        let mut columns = Vec::new();
        if let Some(b) = l.block() {
            for line in &b.lines {
                if line.error {
                    continue;
                }
                if let Some(Expr::Prefix(op, _, inner, _)) = line.head.first() {
                    if op == "~" {
                        if let Some(n) = inner.as_name() {
                            self.add(Kind::Partial, n.text.clone(), n.span, false, false);
                        }
                    }
                    continue;
                }
                let Some(first) = line
                    .keyword()
                    .or_else(|| line.head.first().and_then(Expr::as_name))
                else {
                    continue;
                };
                let lower = first.text.to_ascii_lowercase();
                if !first.quoted && line.head.len() == 1 && line.colon.is_some() {
                    continue; // Note: '…'
                }
                if !first.quoted
                    && (lower == "indexes"
                        || lower == "checks"
                        || lower == "note"
                        || lower == "records")
                    && line.block().is_some()
                {
                    if lower == "indexes" {
                        self.indexes(&owner, line);
                    }
                    continue;
                }
                if line.head.len() < 2 {
                    continue;
                }
                let col = format!("{owner}.{}", first.text);
                self.add(Kind::Column, col.clone(), first.span, true, false);
                self.column_type(&line.head[1]);
                for e in &line.head[2..] {
                    if let Expr::List(attrs, _) = e {
                        self.settings(attrs);
                    }
                }
                columns.push(Element {
                    key: key(Kind::Column, &col),
                    kind: Kind::Column,
                    name: first.text.clone(),
                    span: line.span,
                    name_span: first.span,
                    children: Vec::new(),
                });
            }
        }
        self.element(kind, def_key, name, l.span, columns);
    }

    fn column_type(&mut self, e: &Expr) {
        let base = match e {
            Expr::Call(f, _, _) | Expr::Index(f, _, _) => &**f,
            other => other,
        };
        if let Some(path) = base.as_path() {
            if let Some((schema, name)) = qualified(&path) {
                let full = format!("{schema}.{name}");
                if self.scope.enums.contains(&full) {
                    let last = path[path.len() - 1];
                    self.add(Kind::Enum, full, last.span, false, false);
                }
            }
        }
    }

    fn settings(&mut self, attrs: &[Attr]) {
        for a in attrs {
            let AttrName::Words(words) = &a.name else {
                continue;
            };
            let name: Vec<&str> = words.iter().map(text).collect();
            if name.len() == 1 && name[0].eq_ignore_ascii_case("ref") {
                if let Some(AttrValue::Expr(e)) = &a.value {
                    self.endpoint(e);
                }
            }
        }
    }

    fn indexes(&mut self, table: &str, l: &Line) {
        let Some(b) = l.block() else { return };
        for line in &b.lines {
            match line.head.first() {
                Some(Expr::Name(c)) => self.column_use(table, c),
                Some(Expr::Tuple(items, _)) => {
                    for c in items.iter().filter_map(Expr::as_name) {
                        self.column_use(table, c);
                    }
                }
                _ => {}
            }
        }
    }

    fn enumeration(&mut self, l: &Line) {
        let Some(path) = l.head.get(1).and_then(Expr::as_path) else {
            return;
        };
        let Some((schema, name)) = qualified(&path) else {
            return;
        };
        let full = format!("{schema}.{name}");
        let name_tok = path[path.len() - 1];
        self.add(Kind::Enum, full.clone(), name_tok.span, true, false);
        let mut values = Vec::new();
        if let Some(b) = l.block() {
            for line in &b.lines {
                if let Some(Expr::Name(v)) = line.head.first() {
                    if line.colon.is_some() {
                        continue;
                    }
                    let vk = format!("{full}.{}", v.text);
                    self.add(Kind::Value, vk.clone(), v.span, true, false);
                    values.push(Element {
                        key: key(Kind::Value, &vk),
                        kind: Kind::Value,
                        name: v.text.clone(),
                        span: line.span,
                        name_span: v.span,
                        children: Vec::new(),
                    });
                }
            }
        }
        self.element(Kind::Enum, full, name_tok, l.span, values);
    }
}

impl Index {
    /// The occurrence whose name token holds `offset` in `file`.
    pub fn at(&self, file: crate::diag::FileId, offset: usize) -> Option<&Occurrence> {
        self.occurrences.iter().find(|o| {
            o.span.file == file
                && (o.span.start as usize) <= offset
                && offset <= o.span.end as usize
        })
    }

    pub fn of<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Occurrence> + 'a {
        self.occurrences.iter().filter(move |o| o.key == key)
    }

    pub fn element(&self, key: &str) -> Option<&Element> {
        self.elements
            .iter()
            .flat_map(|e| std::iter::once(e).chain(e.children.iter()))
            .find(|e| e.key == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::FileId;

    fn ix(src: &str) -> Index {
        let (tree, _) = crate::syntax::parse(src, FileId(0));
        index(&[&tree])
    }

    fn keys_at(src: &str, ix: &Index, key: &str) -> Vec<String> {
        ix.of(key)
            .map(|o| {
                format!(
                    "{}{}",
                    &src[o.span.start as usize..o.span.end as usize],
                    if o.def { "*" } else { "" }
                )
            })
            .collect()
    }

    #[test]
    fn tables_columns_enums_and_their_uses() {
        let src = "Enum status { active\n done }\nTable users as U {\n  id int [pk]\n  st status\n  boss int [ref: > U.id]\n  indexes {\n    (id, st)\n  }\n}\nTable auth.posts {\n  user_id int\n}\nRef: auth.posts.user_id > users.id\nTableGroup g {\n  users\n}\nRecords users(id, st) {\n  1, 'active'\n}\n";
        let ix = ix(src);
        assert_eq!(
            keys_at(src, &ix, "table public.users"),
            ["users*", "U", "U", "users", "users", "users"]
        );
        assert_eq!(
            keys_at(src, &ix, "column public.users.id"),
            ["id*", "id", "id", "id", "id"]
        );
        assert_eq!(
            keys_at(src, &ix, "enum public.status"),
            ["status*", "status"]
        );
        assert_eq!(keys_at(src, &ix, "table auth.posts"), ["posts*", "posts"]);
        assert_eq!(
            keys_at(src, &ix, "column auth.posts.user_id"),
            ["user_id*", "user_id"]
        );
        assert_eq!(keys_at(src, &ix, "value public.status.done"), ["done*"]);
        let users = ix.element("table public.users").unwrap();
        assert_eq!(
            users
                .children
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["id", "st", "boss"]
        );
    }
}
