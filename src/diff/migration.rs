//! Migrations out of a diff: UP planned from the diff, DOWN from the diff the other way round
//! (so UP then DOWN restores the schema), and the file text of SPEC.md §2.
//!
//! Enum values are never used in the transaction that adds them: when a diff adds enum values
//! in place *and* changes anything else, [`build`] makes two migrations, the first holding only
//! the `ALTER TYPE … ADD VALUE`s (the runner commits it before the second starts). See
//! ARCHITECTURE.md ("Enum values") for why this and not recreating the type.

use super::rename::{self, Rename};
use super::{diff, plan, Change, RenameHint, Summary};
use crate::ir::canonical::Database;

/// One migration to write.
#[derive(Clone, Debug)]
pub struct Planned {
    /// A suffix for the file name (`enum_values` for the split-off first part), or empty.
    pub part: &'static str,
    pub changes: Vec<Summary>,
    pub up: Vec<String>,
    pub down: Vec<String>,
    pub hints: Vec<RenameHint>,
}

/// The changes that take `current` to `desired` (renames first), with rename hints.
pub fn changes(
    desired: &Database,
    current: &Database,
    renames: &[Rename],
) -> (Vec<Change>, Vec<RenameHint>) {
    let renamed = rename::apply(current, renames);
    let d = diff(desired, &renamed);
    let mut out = rename::changes(renames);
    out.extend(d.changes);
    (out, d.hints)
}

/// The migrations that take `current` to `desired`; empty when they are the same.
pub fn build(desired: &Database, current: &Database, renames: &[Rename]) -> Vec<Planned> {
    let (all, hints) = changes(desired, current, renames);
    if all.is_empty() {
        return Vec::new();
    }
    // Enum values added in place, split off when anything else changes.
    let additions: Vec<&Change> = all
        .iter()
        .filter(|c| matches!(c, Change::AlterEnum { from, to, .. } if super::hazard::is_subsequence(from, to)))
        .collect();
    if !additions.is_empty() && additions.len() < all.len() {
        let mut mid = current.clone();
        for c in &additions {
            if let Change::AlterEnum { name, to, .. } = c {
                if let Some(e) = mid.enums.iter_mut().find(|e| &e.name == name) {
                    e.values = to.clone();
                }
            }
        }
        let (first_changes, first_hints) = changes(&mid, current, &[]);
        let mut first = one(&mid, current, &[], first_changes, first_hints);
        first.part = "enum_values";
        let (second_changes, second_hints) = changes(desired, &mid, renames);
        let second = one(desired, &mid, renames, second_changes, second_hints);
        return vec![first, second];
    }
    vec![one(desired, current, renames, all, hints)]
}

fn one(
    desired: &Database,
    current: &Database,
    renames: &[Rename],
    up_changes: Vec<Change>,
    hints: Vec<RenameHint>,
) -> Planned {
    let renamed = rename::apply(current, renames);
    let up = plan::plan(desired, &renamed, &up_changes)
        .iter()
        .map(ToString::to_string)
        .collect();
    let back = rename::reverse(renames);
    let desired_back = rename::apply(desired, &back);
    let (down_changes, _) = changes(current, desired, &back);
    let down = plan::plan(current, &desired_back, &down_changes)
        .iter()
        .map(ToString::to_string)
        .collect();
    Planned {
        part: "",
        changes: up_changes.iter().map(Change::summary).collect(),
        up,
        down,
        hints,
    }
}

/// A comment line's text with control characters shown escaped, so that no name can start a
/// new line (and so a marker) in the file.
pub fn comment_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The text of a migration file.
pub fn render(id: &str, created: &str, description: &str, m: &Planned) -> String {
    let mut s = format!(
        "-- Migration: {}\n-- Created: {created}\n-- Description: {}\n",
        comment_safe(id),
        comment_safe(description)
    );
    if !m.changes.is_empty() {
        s.push_str("--\n-- Changes:\n");
        for c in &m.changes {
            s.push_str(&format!("--   {}\n", comment_safe(&c.to_string())));
        }
    }
    let hazards: Vec<String> = m
        .changes
        .iter()
        .flat_map(|c| c.hazards.iter().map(ToString::to_string))
        .collect();
    if !hazards.is_empty() {
        s.push_str("--\n-- Hazards:\n");
        for h in hazards {
            s.push_str(&format!("--   {}\n", comment_safe(&h)));
        }
    }
    if !m.hints.is_empty() {
        s.push_str("--\n-- Looks like a rename? Import again with the flag to rename instead:\n");
        for h in &m.hints {
            s.push_str(&format!(
                "--   {}: {}\n",
                comment_safe(&h.what),
                comment_safe(&h.flag)
            ));
        }
    }
    s.push_str("\n-- UP\n");
    push_statements(&mut s, &m.up);
    s.push_str("\n-- DOWN\n");
    push_statements(&mut s, &m.down);
    s
}

fn push_statements(s: &mut String, statements: &[String]) {
    let mut prev_multiline = false;
    for (i, st) in statements.iter().enumerate() {
        let multiline = st.contains('\n');
        if i > 0 && (multiline || prev_multiline) {
            s.push('\n');
        }
        s.push_str(st);
        s.push('\n');
        prev_multiline = multiline;
    }
}

/// Checks that the runner reads `text` back as exactly `m`'s statements (a string or a name
/// with a line break inside could otherwise be taken for a `-- DOWN` marker or a directive).
pub fn verify(file: &str, text: &str, m: &Planned) -> Result<(), String> {
    let parsed = crate::migrate::file::parse(file, text).map_err(|problems| {
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let up = parsed.up.steps.len();
    let down = parsed.down.as_ref().map_or(0, |d| d.steps.len());
    if parsed.no_transaction || up != m.up.len() || down != m.down.len() {
        return Err(format!(
            "the migration text would not read back as written ({up} of {} UP and {down} of {} DOWN statements); a name, note or expression contains a line that looks like a migration marker",
            m.up.len(),
            m.down.len()
        ));
    }
    Ok(())
}
