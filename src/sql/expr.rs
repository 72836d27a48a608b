//! Is a piece of SQL text exactly one expression?
//!
//! DBML carries SQL in backticks (a column `default`, a `check`, an index expression), and
//! nself embeds that text in statements it sends to the server: a default in
//! `ALTER TABLE … SET DEFAULT (…)`, a check in `CHECK (…)`, an index expression in
//! `CREATE INDEX … ((…))`. [`one_expression`] decides, with PostgreSQL's own parser
//! (libpg_query), whether the text is one expression and nothing else, so that embedding it in
//! parentheses cannot end the statement, open another one, or add a clause to it.
//!
//! The decision: the text's tokens (the server's scanner, `standard_conforming_strings` on)
//! contain no `;`, no `--` comment (it would swallow whatever follows the text on its line),
//! and balanced `(`/`)` and `[`/`]`, so the parentheses put around it pair with each other;
//! then `SELECT (<text>\n)` parses as exactly one `SELECT` with one unnamed target and no
//! other clause, and that target is neither a list (`1, 2`, which parses as a row) nor a bare
//! query (`SELECT 1`, which parses as a subquery). A subquery written in parentheses inside
//! the text, `(SELECT max(id) FROM t) + 1`, is one expression: the server rejects it in a
//! default, a check or an index, with its own message.

use pg_query::protobuf::Token;
use pg_query::NodeEnum;

/// Where `text` starts inside the wrapper `SELECT (` … `\n)`.
const PREFIX: &str = "SELECT (";

/// Why a text is not exactly one SQL expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotOne {
    /// A phrase that completes "the expression …".
    pub why: String,
    /// Whether the text could reach past the place it is written for (a `;`, a `--` comment,
    /// an unterminated string or comment, a bracket it closes without opening, a NUL): text
    /// that must never be sent. Otherwise it is merely not one PostgreSQL expression (another
    /// dialect's syntax, a list, a query): the server would reject it, and nself does not
    /// send it either.
    pub escapes: bool,
}

/// `Ok(())` when `text` is exactly one SQL expression; otherwise why not.
pub fn one_expression(text: &str) -> Result<(), NotOne> {
    let enclosed = structure(text).map_err(|why| NotOne {
        escapes: why != EMPTY,
        why,
    })?;
    parse_one(text, enclosed).map_err(|why| NotOne {
        why,
        escapes: false,
    })
}

const EMPTY: &str = "is empty";

/// The scanner's part: no NUL, no `;`, no `--` comment, no unterminated string or comment,
/// brackets balanced. Returns whether the text is parenthesized as a whole.
fn structure(text: &str) -> Result<bool, String> {
    if text.contains('\0') {
        return Err("contains a NUL character".to_owned());
    }
    if text.trim().is_empty() {
        return Err(EMPTY.to_owned());
    }
    let scanned = pg_query::scan(text).map_err(|e| format!("is not valid SQL: {}", message(e)))?;
    let mut depth: Vec<i32> = Vec::new();
    // Whether the first token is a `(` closed by the last token: the text is parenthesized
    // as a whole.
    let mut enclosed = false;
    let last = scanned.tokens.len().saturating_sub(1);
    for (n, t) in scanned.tokens.iter().enumerate() {
        let tok = Token::try_from(t.token).unwrap_or(Token::Nul);
        match tok {
            Token::SqlComment => {
                return Err("contains a `--` comment, which would swallow the rest of the line where the expression is written".to_owned())
            }
            Token::Ascii59 => return Err("contains `;`, which ends a statement".to_owned()),
            Token::Ascii40 | Token::Ascii91 => depth.push(t.token),
            Token::Ascii41 | Token::Ascii93 => {
                let open = if tok == Token::Ascii41 {
                    Token::Ascii40
                } else {
                    Token::Ascii91
                };
                if depth.pop() != Some(open as i32) {
                    let c = if tok == Token::Ascii41 { ')' } else { ']' };
                    return Err(format!(
                        "has a `{c}` without its opening bracket (at byte {})",
                        t.start
                    ));
                }
                if depth.is_empty() && n == last && tok == Token::Ascii41 {
                    enclosed = scanned.tokens.first().is_some_and(|f| {
                        f.token == Token::Ascii40 as i32
                    }) && !closes_earlier(&scanned.tokens);
                }
            }
            _ => {}
        }
    }
    if !depth.is_empty() {
        return Err("has an unclosed `(` or `[`".to_owned());
    }
    Ok(enclosed)
}

/// The parser's part: `SELECT (<text>)` is one plain select of one target that is neither a
/// row nor a query made by the parentheses.
fn parse_one(text: &str, enclosed: bool) -> Result<(), String> {
    let wrapped = format!("{PREFIX}{text}\n)");
    let parsed = match pg_query::parse(&wrapped, 0) {
        Ok(p) => p,
        Err(pg_query::Error::Decode(_)) => {
            return Err(
                "is nested too deeply to be checked (at most about 40 levels of operators)"
                    .to_owned(),
            )
        }
        Err(e) => return Err(format!("does not parse as one expression: {}", message(e))),
    };
    let stmts = &parsed.protobuf.stmts;
    if stmts.len() != 1 {
        return Err("is more than one statement".to_owned());
    }
    let Some(NodeEnum::SelectStmt(s)) = stmts[0].stmt.as_ref().and_then(|n| n.node.as_ref()) else {
        return Err("is not an expression".to_owned());
    };
    let plain = s.distinct_clause.is_empty()
        && s.into_clause.is_none()
        && s.from_clause.is_empty()
        && s.where_clause.is_none()
        && s.group_clause.is_empty()
        && !s.group_distinct
        && s.having_clause.is_none()
        && s.window_clause.is_empty()
        && s.values_lists.is_empty()
        && s.sort_clause.is_empty()
        && s.limit_offset.is_none()
        && s.limit_count.is_none()
        && s.locking_clause.is_empty()
        && s.with_clause.is_none()
        && s.op == pg_query::protobuf::SetOperation::SetopNone as i32
        && s.larg.is_none()
        && s.rarg.is_none();
    if !plain || s.target_list.len() != 1 {
        return Err("is more than one expression".to_owned());
    }
    let Some(NodeEnum::ResTarget(target)) = s.target_list[0].node.as_ref() else {
        return Err("is not an expression".to_owned());
    };
    if !target.name.is_empty() || !target.indirection.is_empty() {
        return Err("is more than one expression".to_owned());
    }
    let outer = PREFIX.len() as i32 - 1;
    match target.val.as_ref().and_then(|v| v.node.as_ref()) {
        None => Err("is not an expression".to_owned()),
        // The parentheses put around the text made it a row: the text is a list.
        Some(NodeEnum::RowExpr(r)) if r.location == outer => {
            Err("is a list of expressions (separated by `,`), not one".to_owned())
        }
        // The parentheses put around the text made it a subquery: the text is a query (unless
        // it is itself a query in parentheses, which the parser folds into the same node).
        Some(NodeEnum::SubLink(l)) if l.location == outer && !enclosed => {
            Err("is a query, not an expression".to_owned())
        }
        Some(_) => Ok(()),
    }
}

/// Whether the bracket opened by the first token closes before the last token.
fn closes_earlier(tokens: &[pg_query::protobuf::ScanToken]) -> bool {
    let mut depth = 0usize;
    for t in &tokens[..tokens.len().saturating_sub(1)] {
        if t.token == Token::Ascii40 as i32 || t.token == Token::Ascii91 as i32 {
            depth += 1;
        } else if t.token == Token::Ascii41 as i32 || t.token == Token::Ascii93 as i32 {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return true;
            }
        }
    }
    false
}

fn message(e: pg_query::Error) -> String {
    match e {
        pg_query::Error::Parse(m) | pg_query::Error::Scan(m) => m,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::one_expression;

    #[test]
    fn single_expressions_are_accepted() {
        for ok in [
            "price > 0",
            "lower(name)",
            "now() - interval '5 days'",
            "'{}'::text[]",
            "kind IN ('a', 'b')",
            "price BETWEEN 0.5 AND 100",
            "(price * 2)",
            "x = 1 AND (y OR z)",
            "'a;b' || '--c' || $$;)$$",
            "\"weird;name\" > 0",
            "CASE WHEN a THEN 1 ELSE 2 END",
            "arr[1] /* a (comment */ > 0",
            "(1, 2) = (a, b)",
            "ROW(1, 2)",
            "(SELECT max(id) FROM t) + 1",
            "((SELECT 1))",
            "(SELECT 1)",
            "(SELECT 1) + (SELECT 2)",
            "x ~ '^\\d+$'",
            "E'it\\'s'",
        ] {
            assert_eq!(one_expression(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn statements_lists_and_clauses_are_refused() {
        for bad in [
            "x > 0); COMMIT; DROP TABLE keep.victim; SELECT (1",
            "1; DROP TABLE t",
            "1) , (2",
            "1) FROM t WHERE (1",
            "1) UNION (SELECT 2",
            "1) ORDER BY (1",
            "1 --",
            "1 -- )",
            "1, 2",
            "x AS y",
            "SELECT 1",
            "(SELECT 1) UNION (SELECT 2)",
            "(SELECT 1) ORDER BY 1",
            "(SELECT 1) LIMIT 1",
            "VALUES (1)",
            "WITH a AS (SELECT 1) SELECT 1",
            "1 FROM t",
            "(1",
            "1)",
            "a[1",
            "a]",
            "'unterminated",
            "/* unterminated",
            "",
            "   ",
            "1\0",
            "x > 0 /*",
            "1 ) + ( 2",
            "x = 1 INTO t",
        ] {
            assert!(one_expression(bad).is_err(), "{bad:?} was accepted");
        }
        // What could reach past its place is told apart from what is merely not PostgreSQL.
        for (text, escapes) in [
            ("x > 0); COMMIT; DROP TABLE keep.victim; SELECT (1", true),
            ("1 -- x", true),
            ("1) , (2", true),
            ("'unterminated", true),
            ("[status] IN ('a')", false),
            ("current_date + interval 1 year", false),
            ("1, 2", false),
            ("SELECT 1", false),
        ] {
            let not = one_expression(text).expect_err(text);
            assert_eq!(not.escapes, escapes, "{text:?}: {}", not.why);
        }
    }

    #[test]
    fn deep_input_is_refused_without_a_crash() {
        let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(one_expression(&deep).is_err());
        let long = (0..5000)
            .map(|i| format!("a{i}"))
            .collect::<Vec<_>>()
            .join(" + ");
        assert!(one_expression(&long).is_err());
        let flat = (0..5000)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        assert_eq!(one_expression(&format!("x IN ({flat})")), Ok(()));
    }
}
