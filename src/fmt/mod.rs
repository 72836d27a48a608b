//! `schema fmt`: one canonical layout for DBML, lossless.
//!
//! The formatter prints the generic syntax tree (`syntax::ast`) again: every leaf (name, string,
//! number, expression, operator) is copied from the source as written, only the white space
//! between them is decided here. Comments are not in the tree; they are found in the gaps
//! between leaves (which hold nothing but white space, punctuation and comments) and put back
//! where they were: before a line, at the end of one, or, when a comment sits inside a line's
//! head, by copying that head as written.
//!
//! The layout: two spaces per level, one space between the units of a line, `, ` in lists, one
//! blank line around every top-level element that has a block (other lines keep at most one),
//! no blank lines just inside braces, the names and types of consecutive columns aligned,
//! settings lists that were written across lines kept one setting per line.
//!
//! [`format`] proves its own result before returning it: the output must parse without errors
//! into the same tree (leaves and structure, positions aside) with the same comments in the same
//! order. If it does not, nothing is returned but [`Error::Unstable`]; a formatter bug can make
//! `fmt` refuse a file, never change what it means.

use crate::diag::{Diagnostics, FileId, Span};
use crate::syntax::ast::{Attr, AttrName, AttrValue, Block, Expr, File, Item, Line};

const INDENT: &str = "  ";

#[derive(Debug)]
pub enum Error {
    /// The text does not parse; these are its syntax errors. Nothing was formatted.
    Syntax(Diagnostics),
    /// The formatted text would not mean the same as the input (a bug in the formatter); what
    /// differed.
    Unstable(&'static str),
}

/// Formats DBML text. `Ok` holds text that parses into the same tree with the same comments.
pub fn format(src: &str) -> Result<String, Error> {
    let file = FileId(0);
    let (tree, diags) = crate::syntax::parse(src, file);
    if diags.has_errors() {
        return Err(Error::Syntax(diags));
    }
    let out = print(src, &tree);
    let (again, diags) = crate::syntax::parse(&out, file);
    if diags.has_errors() {
        return Err(Error::Unstable("the formatted text does not parse"));
    }
    if !same_tree(src, &tree, &out, &again) {
        return Err(Error::Unstable("the formatted text parses differently"));
    }
    if comments(src, &tree) != comments(&out, &again) {
        return Err(Error::Unstable("the formatted text has different comments"));
    }
    Ok(out)
}

/// The formatted text of `tree`, parsed from `src`.
fn print(src: &str, tree: &File) -> String {
    let bom = if src.starts_with('\u{FEFF}') {
        "\u{FEFF}"
    } else {
        ""
    };
    let mut p = Printer {
        src,
        out: String::with_capacity(src.len() + src.len() / 8),
        pos: bom.len(),
        depth: 0,
        fresh: true,
        table_block: false,
    };
    p.out.push_str(bom);
    let mut prev_multiline = false;
    for item in &tree.items {
        let span = item_span(item);
        let multiline = is_multiline(src, item);
        let forced = !p.fresh && (prev_multiline || multiline);
        let blank = p.gap(span.start as usize, forced);
        p.start_line(blank);
        match item {
            Item::Use(u) => {
                p.out.push_str(slice(src, u.span));
                p.fresh = false;
            }
            Item::Line(line) => p.line(line, None),
        }
        p.pos = span.end as usize;
        prev_multiline = multiline;
    }
    p.gap(src.len(), false);
    if !p.out.is_empty() && !p.out.ends_with('\n') {
        p.out.push('\n');
    }
    if p.out == bom {
        p.out.clear();
    }
    if src.contains("\r\n") {
        crlf(&p.out)
    } else {
        p.out
    }
}

/// `\n` that is not already part of `\r\n` becomes `\r\n`.
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut prev = '\0';
    for c in text.chars() {
        if c == '\n' && prev != '\r' {
            out.push('\r');
        }
        out.push(c);
        prev = c;
    }
    out
}

fn slice(src: &str, span: Span) -> &str {
    src.get(span.start as usize..span.end as usize)
        .unwrap_or("")
}

fn item_span(item: &Item) -> Span {
    match item {
        Item::Line(l) => l.span,
        Item::Use(u) => u.span,
    }
}

fn is_multiline(src: &str, item: &Item) -> bool {
    match item {
        Item::Line(l) => l.block().is_some() || slice(src, l.span).contains('\n'),
        Item::Use(u) => slice(src, u.span).contains('\n'),
    }
}

/// A comment found between leaves.
#[derive(Debug, Clone, Copy)]
struct Comment<'a> {
    text: &'a str,
    /// Newlines between what came before and this comment.
    newlines_before: usize,
}

/// The comments in `src[from..to]` (white space, punctuation and comments only), and the
/// newlines after the last of them.
fn scan_gap(src: &str, from: usize, to: usize) -> (Vec<Comment<'_>>, usize) {
    let bytes = src.as_bytes();
    let to = to.min(bytes.len());
    let mut i = from.min(to);
    let mut found = Vec::new();
    let mut newlines = 0;
    while i < to {
        match bytes[i] {
            b'\n' => {
                newlines += 1;
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') && i + 1 < to => {
                let end = src[i..to].find('\n').map_or(to, |n| i + n);
                found.push(Comment {
                    text: src[i..end].trim_end(),
                    newlines_before: newlines,
                });
                newlines = 0;
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') && i + 1 < to => {
                let end = src[i + 2..to].find("*/").map_or(to, |n| i + 2 + n + 2);
                found.push(Comment {
                    text: &src[i..end],
                    newlines_before: newlines,
                });
                newlines = 0;
                i = end;
            }
            _ => i += 1,
        }
    }
    (found, newlines)
}

/// Spans of the leaves of `e` in source order; a block counts as one leaf (its inside is
/// formatted on its own), or with `open` gives the leaves of its lines.
fn leaves_in(e: &Expr, out: &mut Vec<Span>, open: bool) {
    let leaves = |e: &Expr, out: &mut Vec<Span>| leaves_in(e, out, open);
    let attr_leaves = |a: &Attr, out: &mut Vec<Span>| attr_leaves_in(a, out, open);
    match e {
        Expr::Name(n) => out.push(n.span),
        Expr::Str(s) => out.push(s.span),
        Expr::Number(_, s)
        | Expr::Color(_, s)
        | Expr::Backtick(_, s)
        | Expr::Wildcard(s)
        | Expr::Error(s) => out.push(*s),
        Expr::Block(b) if open => b.lines.iter().for_each(|l| line_leaves_in(l, out, true)),
        Expr::Block(b) => out.push(b.span),
        Expr::Empty(_) => {}
        Expr::Member(a, b, _) => {
            leaves(a, out);
            leaves(b, out);
        }
        Expr::Binary(_, op, a, b, _) => {
            leaves(a, out);
            out.push(*op);
            leaves(b, out);
        }
        Expr::Prefix(_, op, e, _) => {
            out.push(*op);
            leaves(e, out);
        }
        Expr::Call(f, args, _) => {
            leaves(f, out);
            args.iter().for_each(|a| leaves(a, out));
        }
        Expr::Index(a, attrs, _) => {
            leaves(a, out);
            attrs.iter().for_each(|a| attr_leaves(a, out));
        }
        Expr::Tuple(items, _) | Expr::Comma(items, _) => items.iter().for_each(|a| leaves(a, out)),
        Expr::List(attrs, _) => attrs.iter().for_each(|a| attr_leaves(a, out)),
    }
}

fn attr_leaves(a: &Attr, out: &mut Vec<Span>) {
    attr_leaves_in(a, out, false)
}

fn attr_leaves_in(a: &Attr, out: &mut Vec<Span>, open: bool) {
    let leaves = |e: &Expr, out: &mut Vec<Span>| leaves_in(e, out, open);
    match &a.name {
        AttrName::Words(w) => out.extend(w.iter().map(|n| n.span)),
        AttrName::Other(e) => leaves(e, out),
        AttrName::Empty(_) => {}
    }
    if let Some(c) = a.colon {
        out.push(c);
    }
    match &a.value {
        Some(AttrValue::Words(w)) => out.extend(w.iter().map(|n| n.span)),
        Some(AttrValue::Expr(e)) => leaves(e, out),
        None => {}
    }
}

fn line_leaves(line: &Line) -> Vec<Span> {
    let mut out = Vec::new();
    line_leaves_in(line, &mut out, false);
    out
}

fn line_leaves_in(line: &Line, out: &mut Vec<Span>, open: bool) {
    line.head.iter().for_each(|e| leaves_in(e, out, open));
    if let Some((colon, body)) = &line.colon {
        out.push(*colon);
        body.iter().for_each(|e| leaves_in(e, out, open));
    }
}

/// Whether a gap between two of `spans` (within `[from, to)`) holds a comment or, with
/// `newline`, a line break.
fn gaps_hold(src: &str, spans: &[Span], from: usize, to: usize, newline: bool) -> bool {
    let mut at = from;
    for s in spans
        .iter()
        .map(|s| (s.start as usize, s.end as usize))
        .chain([(to, to)])
    {
        if s.0 > at {
            let gap = src.get(at..s.0).unwrap_or("");
            if gap.contains("//") || gap.contains("/*") || (newline && gap.contains('\n')) {
                return true;
            }
        }
        at = at.max(s.1);
    }
    false
}

struct Printer<'a> {
    src: &'a str,
    out: String,
    /// Source offset up to which everything has been printed (or deliberately dropped).
    pos: usize,
    depth: usize,
    /// Nothing printed yet in the current block (or file): no blank line goes here.
    fresh: bool,
    /// The next block printed is a table's (its columns are aligned).
    table_block: bool,
}

impl Printer<'_> {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str(INDENT);
        }
    }

    fn at_line_start(&self) -> bool {
        self.out.is_empty() || self.out.ends_with('\n') || self.out == "\u{FEFF}"
    }

    /// Ends the current output line and indents a new one, with a blank line before it when
    /// `blank` (never at the start of a block or file, never two).
    fn start_line(&mut self, blank: bool) {
        if !self.at_line_start() {
            self.out.push('\n');
        }
        if blank && !self.fresh && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
        self.indent();
    }

    /// Prints the comments between `self.pos` and `to`: those on the line of what came before
    /// stay at its end, the others get lines of their own (after a blank line where the source
    /// had one, or the first of them when `forced`). Returns whether a blank line belongs before
    /// what follows; the caller starts its line.
    fn gap(&mut self, to: usize, forced: bool) -> bool {
        let (found, tail) = scan_gap(self.src, self.pos, to);
        let mut forced = forced;
        for c in found {
            if c.newlines_before == 0 && !self.at_line_start() {
                self.out.push(' ');
            } else {
                self.start_line(forced || c.newlines_before >= 2);
                forced = false;
            }
            self.out.push_str(c.text);
            self.fresh = false;
        }
        self.pos = to;
        forced || tail >= 2
    }

    fn line(&mut self, line: &Line, align: Option<(usize, usize)>) {
        if line.error {
            self.out.push_str(slice(self.src, line.span).trim_end());
            self.fresh = false;
            return;
        }
        let table = line.keyword().is_some_and(|k| {
            k.text.eq_ignore_ascii_case("table") || k.text.eq_ignore_ascii_case("tablepartial")
        });
        let block = line.block();
        let spans = line_leaves(line);
        let head_end = block.map_or(line.span.end, |b| b.span.start) as usize;
        let inner: Vec<Span> = spans
            .iter()
            .copied()
            .filter(|s| (s.end as usize) <= head_end)
            .collect();
        if gaps_hold(self.src, &inner, line.span.start as usize, head_end, false) {
            // A comment inside the head: the head as written.
            let head = slice(
                self.src,
                Span::new(line.span.file, line.span.start as usize, head_end),
            )
            .trim_end();
            self.out.push_str(head);
            self.fresh = false;
            if let Some(b) = block {
                let last_leaf = inner.last().map_or(0, |s| s.end as usize);
                let (found, _) = scan_gap(self.src, last_leaf, head_end);
                if found.last().is_some_and(|c| c.text.starts_with("//")) {
                    self.out.push('\n');
                    self.indent();
                } else {
                    self.out.push(' ');
                }
                self.table_block = table;
                self.block(b);
            }
            return;
        }
        for (i, e) in line.head.iter().enumerate() {
            if i > 0 {
                self.out.push(' ');
            }
            if let Expr::Block(_) = e {
                self.table_block = table;
            }
            let before = self.out.len();
            self.expr(e);
            if let Some((name_w, type_w)) = align {
                let width = match i {
                    0 => Some(name_w),
                    1 if line.head.len() > 2 => Some(type_w),
                    _ => None,
                };
                if let Some(w) = width {
                    let used = self.out[before..].chars().count();
                    for _ in used..w {
                        self.out.push(' ');
                    }
                }
            }
        }
        if let Some((_, body)) = &line.colon {
            self.out.push(':');
            for e in body {
                self.out.push(' ');
                self.expr(e);
            }
        }
        self.fresh = false;
    }

    fn render(&mut self, e: &Expr) -> String {
        let saved = std::mem::take(&mut self.out);
        self.expr(e);
        std::mem::replace(&mut self.out, saved)
    }

    fn block(&mut self, b: &Block) {
        let table = std::mem::take(&mut self.table_block);
        self.out.push('{');
        self.pos = b.span.start as usize + 1;
        self.depth += 1;
        self.fresh = true;
        let aligns = if table {
            self.alignment(&b.lines)
        } else {
            vec![None; b.lines.len()]
        };
        for (line, align) in b.lines.iter().zip(aligns) {
            let blank = self.gap(line.span.start as usize, false);
            self.start_line(blank);
            self.line(line, align);
            self.pos = line.span.end as usize;
        }
        let close = (b.span.end as usize).saturating_sub(1).max(self.pos);
        self.gap(close, false);
        self.pos = b.span.end as usize;
        self.depth -= 1;
        self.start_line(false);
        self.out.push('}');
        self.fresh = false;
    }

    /// Widths to pad names and types to, for each line of a table's block: groups of
    /// consecutive column lines (no blank line between them) share them.
    fn alignment(&mut self, lines: &[Line]) -> Vec<Option<(usize, usize)>> {
        let mut shapes: Vec<Option<(usize, usize, bool)>> = Vec::with_capacity(lines.len());
        for line in lines {
            shapes.push(self.column_shape(line));
        }
        let mut result = vec![None; lines.len()];
        let mut i = 0;
        while i < lines.len() {
            if shapes[i].is_none() {
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < lines.len() && shapes[j].is_some() {
                let gap = self
                    .src
                    .get(lines[j - 1].span.end as usize..lines[j].span.start as usize)
                    .unwrap_or("");
                if blank_line_in(gap) {
                    break;
                }
                j += 1;
            }
            let name_w = (i..j)
                .filter_map(|k| shapes[k])
                .map(|s| s.0)
                .max()
                .unwrap_or(0);
            let type_w = (i..j)
                .filter_map(|k| shapes[k])
                .filter(|s| s.2)
                .map(|s| s.1)
                .max()
                .unwrap_or(0);
            for slot in result.iter_mut().take(j).skip(i) {
                *slot = Some((name_w, type_w));
            }
            i = j;
        }
        result
    }

    /// For a column line (`name type [settings]`, printed on one line): the widths of its name
    /// and type, and whether it has settings.
    fn column_shape(&mut self, line: &Line) -> Option<(usize, usize, bool)> {
        if line.error || line.colon.is_some() || !(2..=3).contains(&line.head.len()) {
            return None;
        }
        if !matches!(line.head[0], Expr::Name(_)) {
            return None;
        }
        if line.head.iter().any(|e| matches!(e, Expr::Block(_))) {
            return None;
        }
        if line.head.len() == 3 && !matches!(line.head[2], Expr::List(..)) {
            return None;
        }
        let spans = line_leaves(line);
        if gaps_hold(
            self.src,
            &spans,
            line.span.start as usize,
            line.span.end as usize,
            false,
        ) {
            return None;
        }
        let name = self.render(&line.head[0]);
        let ty = self.render(&line.head[1]);
        if name.contains('\n') || ty.contains('\n') {
            return None;
        }
        Some((
            name.chars().count(),
            ty.chars().count(),
            line.head.len() == 3,
        ))
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Name(n) => self.out.push_str(slice(self.src, n.span)),
            Expr::Str(s) => self.out.push_str(slice(self.src, s.span)),
            Expr::Number(_, s)
            | Expr::Color(_, s)
            | Expr::Backtick(_, s)
            | Expr::Wildcard(s)
            | Expr::Error(s) => self.out.push_str(slice(self.src, *s)),
            Expr::Empty(_) => {}
            Expr::Member(a, b, _) => {
                self.expr(a);
                self.out.push('.');
                self.expr(b);
            }
            Expr::Binary(_, op, a, b, _) => {
                self.expr(a);
                self.out.push(' ');
                self.out.push_str(slice(self.src, *op));
                self.out.push(' ');
                self.expr(b);
            }
            Expr::Prefix(_, op, operand, _) => {
                let op_text = slice(self.src, *op);
                self.out.push_str(op_text);
                if op_text != "~" && !matches!(**operand, Expr::Number(..)) {
                    self.out.push(' ');
                }
                self.expr(operand);
            }
            Expr::Call(f, args, _) => {
                self.expr(f);
                self.out.push('(');
                self.exprs(args);
                self.out.push(')');
            }
            Expr::Index(a, attrs, span) => {
                self.expr(a);
                self.attrs(attrs, *span);
            }
            Expr::Tuple(items, _) => {
                self.out.push('(');
                self.exprs(items);
                self.out.push(')');
            }
            Expr::List(attrs, span) => self.attrs(attrs, *span),
            Expr::Block(b) => self.block(b),
            Expr::Comma(items, _) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                        if matches!(item, Expr::Empty(_)) && i + 1 == items.len() {
                            continue;
                        }
                        self.out.push(' ');
                    }
                    self.expr(item);
                }
            }
        }
    }

    fn exprs(&mut self, items: &[Expr]) {
        for (i, e) in items.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.expr(e);
        }
    }

    /// `[a, b]`, or one setting per line when the list was written across lines.
    fn attrs(&mut self, attrs: &[Attr], span: Span) {
        let mut spans = Vec::new();
        attrs.iter().for_each(|a| attr_leaves(a, &mut spans));
        let multiline = !attrs.is_empty()
            && gaps_hold(
                self.src,
                &spans,
                span.start as usize,
                span.end as usize,
                true,
            );
        self.out.push('[');
        if multiline {
            self.depth += 1;
        }
        for (i, a) in attrs.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
                if !multiline {
                    self.out.push(' ');
                }
            }
            if multiline {
                self.out.push('\n');
                self.indent();
            }
            self.attr(a);
        }
        if multiline {
            self.depth -= 1;
            self.out.push('\n');
            self.indent();
        }
        self.out.push(']');
    }

    fn attr(&mut self, a: &Attr) {
        match &a.name {
            AttrName::Words(words) => self.words(words),
            AttrName::Other(e) => self.expr(e),
            AttrName::Empty(_) => {}
        }
        if a.colon.is_some() {
            self.out.push(':');
        }
        match &a.value {
            Some(AttrValue::Words(words)) => {
                self.out.push(' ');
                self.words(words);
            }
            Some(AttrValue::Expr(e)) => {
                self.out.push(' ');
                self.expr(e);
            }
            None => {}
        }
    }

    fn words(&mut self, words: &[crate::syntax::ast::Name]) {
        for (i, w) in words.iter().enumerate() {
            if i > 0 {
                self.out.push(' ');
            }
            self.out.push_str(slice(self.src, w.span));
        }
    }
}

/// Whether `gap` holds an empty line (two newlines with only blanks between them).
fn blank_line_in(gap: &str) -> bool {
    let mut newline = false;
    for c in gap.chars() {
        match c {
            '\n' if newline => return true,
            '\n' => newline = true,
            ' ' | '\t' | '\r' => {}
            _ => newline = false,
        }
    }
    false
}

/// Whether two trees are the same, positions aside: the same structure, and leaves with the
/// same text as written (`sa` and `sb` are their sources).
fn same_tree(sa: &str, a: &File, sb: &str, b: &File) -> bool {
    let t = Texts { a: sa, b: sb };
    a.items.len() == b.items.len()
        && a.items.iter().zip(&b.items).all(|pair| match pair {
            (Item::Use(x), Item::Use(y)) => t.same(x.span, y.span),
            (Item::Line(x), Item::Line(y)) => t.line(x, y),
            _ => false,
        })
}

struct Texts<'a> {
    a: &'a str,
    b: &'a str,
}

impl Texts<'_> {
    fn same(&self, x: Span, y: Span) -> bool {
        slice(self.a, x) == slice(self.b, y)
    }

    fn all<T>(&self, x: &[T], y: &[T], f: impl Fn(&T, &T) -> bool) -> bool {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| f(p, q))
    }

    fn line(&self, x: &Line, y: &Line) -> bool {
        x.error == y.error
            && self.all(&x.head, &y.head, |p, q| self.expr(p, q))
            && match (&x.colon, &y.colon) {
                (None, None) => true,
                (Some((_, p)), Some((_, q))) => self.all(p, q, |p, q| self.expr(p, q)),
                _ => false,
            }
    }

    fn names(&self, x: &[crate::syntax::ast::Name], y: &[crate::syntax::ast::Name]) -> bool {
        self.all(x, y, |p, q| p.text == q.text && p.quoted == q.quoted)
    }

    fn attr(&self, x: &Attr, y: &Attr) -> bool {
        let name = match (&x.name, &y.name) {
            (AttrName::Words(p), AttrName::Words(q)) => self.names(p, q),
            (AttrName::Other(p), AttrName::Other(q)) => self.expr(p, q),
            (AttrName::Empty(_), AttrName::Empty(_)) => true,
            _ => false,
        };
        let value = match (&x.value, &y.value) {
            (None, None) => true,
            (Some(AttrValue::Words(p)), Some(AttrValue::Words(q))) => self.names(p, q),
            (Some(AttrValue::Expr(p)), Some(AttrValue::Expr(q))) => self.expr(p, q),
            _ => false,
        };
        name && value && x.colon.is_some() == y.colon.is_some()
    }

    fn expr(&self, x: &Expr, y: &Expr) -> bool {
        let exprs = |p: &[Expr], q: &[Expr]| self.all(p, q, |p, q| self.expr(p, q));
        let attrs = |p: &[Attr], q: &[Attr]| self.all(p, q, |p, q| self.attr(p, q));
        match (x, y) {
            (Expr::Name(p), Expr::Name(q)) => p.quoted == q.quoted && self.same(p.span, q.span),
            (Expr::Str(p), Expr::Str(q)) => p.triple == q.triple && p.raw == q.raw,
            (Expr::Number(_, p), Expr::Number(_, q))
            | (Expr::Color(_, p), Expr::Color(_, q))
            | (Expr::Backtick(_, p), Expr::Backtick(_, q)) => self.same(*p, *q),
            (Expr::Wildcard(_), Expr::Wildcard(_))
            | (Expr::Error(_), Expr::Error(_))
            | (Expr::Empty(_), Expr::Empty(_)) => true,
            (Expr::Member(a, b, _), Expr::Member(c, d, _)) => self.expr(a, c) && self.expr(b, d),
            (Expr::Binary(o, _, a, b, _), Expr::Binary(p, _, c, d, _)) => {
                o == p && self.expr(a, c) && self.expr(b, d)
            }
            (Expr::Prefix(o, _, a, _), Expr::Prefix(p, _, c, _)) => o == p && self.expr(a, c),
            (Expr::Call(f, p, _), Expr::Call(g, q, _)) => self.expr(f, g) && exprs(p, q),
            (Expr::Index(e, p, _), Expr::Index(f, q, _)) => self.expr(e, f) && attrs(p, q),
            (Expr::Tuple(p, _), Expr::Tuple(q, _)) | (Expr::Comma(p, _), Expr::Comma(q, _)) => {
                exprs(p, q)
            }
            (Expr::List(p, _), Expr::List(q, _)) => attrs(p, q),
            (Expr::Block(p), Expr::Block(q)) => {
                self.all(&p.lines, &q.lines, |p, q| self.line(p, q))
            }
            _ => false,
        }
    }
}

/// Every comment of the file in order (line comments without trailing white space).
fn comments<'a>(src: &'a str, tree: &File) -> Vec<&'a str> {
    let mut spans = Vec::new();
    for item in &tree.items {
        match item {
            Item::Use(u) => spans.push(u.span),
            Item::Line(l) => line_leaves_in(l, &mut spans, true),
        }
    }
    let mut found = Vec::new();
    let mut at = 0;
    for (start, end) in spans
        .iter()
        .map(|s| (s.start as usize, s.end as usize))
        .chain([(src.len(), src.len())])
    {
        if start > at && src.get(at..start).is_some_and(|g| g.contains('/')) {
            found.extend(scan_gap(src, at, start).0.into_iter().map(|c| c.text));
        }
        at = at.max(end);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(src: &str) -> String {
        match format(src) {
            Ok(s) => s,
            Err(e) => panic!("{e:?} for {src:?}"),
        }
    }

    #[test]
    fn a_table_is_laid_out_and_aligned() {
        let src = "Table   users{\n id integer [pk,increment]\n  full_name varchar(255)   [not null]\nemail text\n}\n";
        assert_eq!(
            fmt(src),
            "Table users {\n  id        integer      [pk, increment]\n  full_name varchar(255) [not null]\n  email     text\n}\n"
        );
    }

    #[test]
    fn comments_stay_where_they_were() {
        let src = "// users\nTable users { // the people\n  id int // key\n\n  // a name\n  name text\n  // last\n}\n/* end */\n";
        let out = fmt(src);
        assert_eq!(
            out,
            "// users\nTable users { // the people\n  id int // key\n\n  // a name\n  name text\n  // last\n}\n/* end */\n"
        );
        assert_eq!(fmt(&out), out);
    }

    #[test]
    fn a_comment_inside_a_line_keeps_the_line_as_written() {
        let src = "Table t {\n    id int [pk, /* why */ note: 'x']\n}\n";
        assert_eq!(
            fmt(src),
            "Table t {\n  id int [pk, /* why */ note: 'x']\n}\n"
        );
        let src = "Table t // c\n{\n  id int\n}\n";
        let out = fmt(src);
        assert_eq!(out, "Table t // c\n{\n  id int\n}\n");
        assert_eq!(fmt(&out), out);
    }

    #[test]
    fn top_level_blocks_get_one_blank_line_between_them() {
        let src = "Table a {\nid int\n}\nTable b {\nid int\n}\n\n\n\nRef: a.id > b.id\nRef: b.id - a.id\n";
        assert_eq!(
            fmt(src),
            "Table a {\n  id int\n}\n\nTable b {\n  id int\n}\n\nRef: a.id > b.id\nRef: b.id - a.id\n"
        );
    }

    #[test]
    fn multi_line_settings_stay_one_per_line_and_strings_are_untouched() {
        let src =
            "Table t {\n  id int [\n  pk,   note: 'a  b'\n  ]\n  Note: '''\n    x\n  y'''\n}\n";
        let out = fmt(src);
        assert_eq!(
            out,
            "Table t {\n  id int [\n    pk,\n    note: 'a  b'\n  ]\n  Note: '''\n    x\n  y'''\n}\n"
        );
        assert_eq!(fmt(&out), out);
    }

    #[test]
    fn spelling_is_kept() {
        let src = "table \"My Table\" as MT [headercolor: #fff] {\n  \"id\" int [ref: > other.id, default: -1]\n  ~base\n}\nRecords t(a, b) {\n  1, , 'x'\n  2,\n}\n";
        assert_eq!(
            fmt(src),
            "table \"My Table\" as MT [headercolor: #fff] {\n  \"id\" int [ref: > other.id, default: -1]\n  ~base\n}\n\nRecords t(a, b) {\n  1, , 'x'\n  2,\n}\n"
        );
    }

    #[test]
    fn syntax_errors_are_refused() {
        assert!(matches!(
            format("Table t {\n  id int [\n"),
            Err(Error::Syntax(_))
        ));
    }

    #[test]
    fn empty_and_crlf_files() {
        assert_eq!(fmt(""), "");
        assert_eq!(fmt("\n\n"), "");
        assert_eq!(fmt("// only\n"), "// only\n");
        assert_eq!(
            fmt("Table t {\r\nid int\r\n}\r\n"),
            "Table t {\r\n  id int\r\n}\r\n"
        );
    }
}
