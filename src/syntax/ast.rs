//! The DBML syntax tree: deliberately generic, like the reference's.
//!
//! A file is a list of [`Line`]s. A line is a sequence of juxtaposed expressions (`id int [pk]`),
//! optionally followed by `:` and more (`Note: 'x'`, `Ref r: a.b > c.d`). What a line *means*
//! (a table, a column, an index…) is decided by `ir::lower`, not here: the grammar stays small,
//! recovers at every line, and every DBML element, old or new, parses the same way. Every node
//! carries its span. Strings are kept raw here and cooked (escapes, indentation) on demand.

use crate::diag::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Line(Line),
    Use(Box<Use>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub span: Span,
    /// Juxtaposed expressions before any colon: `Table users as U [note: 'x'] { … }` gives
    /// `Table`, `users`, `as`, `U`, a list and a block.
    pub head: Vec<Expr>,
    /// The colon and what follows it on the line, for simple bodies: `Note: 'x'`.
    pub colon: Option<(Span, Vec<Expr>)>,
    /// A line that failed to parse; its tokens were skipped and a diagnostic reported.
    pub error: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Use {
    pub span: Span,
    pub keyword: Name,
    /// `None` for `use *`.
    pub specifiers: Option<Block>,
    pub from: Option<Name>,
    pub path: Option<StrLit>,
}

/// An identifier or quoted name, with the text as written (quotes removed, escapes applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub text: String,
    pub span: Span,
    pub quoted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrLit {
    /// The raw source of the literal, quotes included; see `syntax::cook_string`.
    pub raw: String,
    pub span: Span,
    pub triple: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub span: Span,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    pub span: Span,
    /// `pk`, `not null`, `primary key`, `delete` … (identifiers joined by one space), or a
    /// literal where the user wrote one (reported by the checker).
    pub name: AttrName,
    /// After the colon: an expression, or several identifiers (`set null`, `no action`).
    pub value: Option<AttrValue>,
    pub colon: Option<Span>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttrName {
    Words(Vec<Name>),
    Other(Expr),
    Empty(Span),
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Words(Vec<Name>),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Name(Name),
    Str(StrLit),
    Number(String, Span),
    Color(String, Span),
    /// `` `now()` ``: the text between the backticks.
    Backtick(String, Span),
    Wildcard(Span),
    /// `a.b`, `a.(b, c)`.
    Member(Box<Expr>, Box<Expr>, Span),
    Binary(String, Span, Box<Expr>, Box<Expr>, Span),
    Prefix(String, Span, Box<Expr>, Span),
    /// `f(a, b)` written tight.
    Call(Box<Expr>, Vec<Expr>, Span),
    /// `int[]`, `int[3]` written tight.
    Index(Box<Expr>, Vec<Attr>, Span),
    Tuple(Vec<Expr>, Span),
    List(Vec<Attr>, Span),
    Block(Block),
    /// `1, 'a', null` on a records line.
    Comma(Vec<Expr>, Span),
    /// A missing value between commas in a records row: `1, , 3`.
    Empty(Span),
    /// Where the parser recovered from an error.
    Error(Span),
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Name(n) => n.span,
            Expr::Str(s) => s.span,
            Expr::Block(b) => b.span,
            Expr::Number(_, s)
            | Expr::Color(_, s)
            | Expr::Backtick(_, s)
            | Expr::Wildcard(s)
            | Expr::Member(_, _, s)
            | Expr::Binary(_, _, _, _, s)
            | Expr::Prefix(_, _, _, s)
            | Expr::Call(_, _, s)
            | Expr::Index(_, _, s)
            | Expr::Tuple(_, s)
            | Expr::List(_, s)
            | Expr::Comma(_, s)
            | Expr::Empty(s)
            | Expr::Error(s) => *s,
        }
    }

    /// The identifier or quoted name this expression is, if it is one.
    pub fn as_name(&self) -> Option<&Name> {
        match self {
            Expr::Name(n) => Some(n),
            _ => None,
        }
    }

    /// `a.b.c` as its parts, if the expression is a plain dotted name.
    pub fn as_path(&self) -> Option<Vec<&Name>> {
        match self {
            Expr::Name(n) => Some(vec![n]),
            Expr::Member(l, r, _) => {
                let mut v = l.as_path()?;
                v.push(r.as_name()?);
                Some(v)
            }
            _ => None,
        }
    }
}

impl Line {
    /// The keyword that starts the line (`Table`, `Ref`, `indexes`…), if it starts with a plain
    /// identifier.
    pub fn keyword(&self) -> Option<&Name> {
        match self.head.first() {
            Some(Expr::Name(n)) if !n.quoted => Some(n),
            _ => None,
        }
    }

    /// The block that ends the head, if the line declares a body in braces.
    pub fn block(&self) -> Option<&Block> {
        match self.head.last() {
            Some(Expr::Block(b)) if self.colon.is_none() => Some(b),
            _ => None,
        }
    }
}
