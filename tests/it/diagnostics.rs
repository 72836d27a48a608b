//! Diagnostics an editor can use (issue 11): where recovery from a missing closer reports, and
//! that the elements after it keep their own errors.

use nself::diag::Diagnostic;

fn errors(text: &str) -> (nself::ir::Project, Vec<Diagnostic>) {
    let p = nself::ir::compile_str("schema.dbml", text);
    let e = p
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    (p, e)
}

fn line(p: &nself::ir::Project, d: &Diagnostic) -> usize {
    p.sources
        .get(d.primary.span.file)
        .line_col(d.primary.span.start as usize)
        .0
}

#[test]
fn a_missing_bracket_is_reported_at_the_unclosed_bracket() {
    let text = "Table users {\n  id int [pk\n  name varchar\n  email varchar [unique]\n}\n";
    let (p, e) = errors(text);
    let first = e.first().expect("an error");
    assert_eq!(first.code, "E0204", "{e:#?}");
    assert_eq!(line(&p, first), 2, "{e:#?}");
    assert_eq!(
        first.primary.span.start as usize,
        text.find('[').unwrap(),
        "the primary label is at the `[`: {first:#?}"
    );
    assert!(!first.primary.message.is_empty(), "{first:#?}");
    assert!(
        !e.iter().any(|d| d.message.contains("at least one column")),
        "no false empty-table error: {e:#?}"
    );
    // The lines after it keep their meaning: exactly the one error.
    assert_eq!(e.len(), 1, "{e:#?}");
}

#[test]
fn a_missing_brace_does_not_hide_the_errors_after_it() {
    let text = "Table users {\n  id int [pk]\n\nTable posts {\n  id int [pk]\n  user_id int [ref: > nobody.id]\n}\n";
    let (p, e) = errors(text);
    assert!(
        e.iter().any(|d| d.code == "E0204" && line(&p, d) == 1),
        "the `{{` of line 1 is reported where it opens: {e:#?}"
    );
    assert!(
        e.iter()
            .any(|d| line(&p, d) == 6 && d.message.contains("nobody")),
        "the unresolved ref in the next table is still reported: {e:#?}"
    );
    assert!(
        !e.iter().any(|d| d.message.contains("at least one column")),
        "{e:#?}"
    );
}
