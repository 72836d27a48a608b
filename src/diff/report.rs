//! The one way differences are listed: `schema diff`, `schema import --check`, `db update` and
//! `db status` all print their changes through [`lines`], so signs and wording are the same
//! everywhere.
//!
//! The convention: a listing names two sides, the *desired* one and the one that would be
//! *changed* to match it (a migration runs on the changed side). Each change is what would
//! happen to the changed side:
//!
//! - `+ Kind: object (missing in CHANGED)`: the desired side has it; it would be added;
//! - `- Kind: object (missing in DESIRED)`: only the changed side has it; it would be dropped;
//! - `~ Kind: object (detail)`: both have it, differently; it would be altered.
//!
//! Between a DBML file and a database, the database is always the changed side (what
//! `schema import` would do), so `+` is always "what applying schema.dbml would add to the
//! database". Between two databases or two files, the changed side is `schema diff`'s TARGET
//! (what `--generate-migration` would write). Hazards belong to the direction that runs and are
//! shown only where the listing is a migration a command would write ([`Style::hazards`]).

use super::{summaries, Change, RenameHint, Sign, Summary};

/// The two sides of a listing, as the user knows them (`nself/schema.dbml`, `local`, `staging`).
#[derive(Clone, Copy, Debug)]
pub struct Sides<'a> {
    /// The side the other is made to match.
    pub desired: &'a str,
    /// The side a migration would change.
    pub changed: &'a str,
}

impl Sides<'_> {
    /// `Schema Differences (DESIRED vs CHANGED)`, the guide's heading.
    pub fn title(&self) -> String {
        format!("Schema Differences ({} vs {})", self.desired, self.changed)
    }
}

/// How the lines are laid out.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// Put before every line (hazard lines get four more spaces).
    pub indent: &'static str,
    /// Show each change's hazards under it: only where the listing is what a command would
    /// run (`schema diff`, `import --check`), never where nothing of it runs.
    pub hazards: bool,
    /// ANSI colours: green `+`, red `-`, yellow `~`.
    pub color: bool,
}

/// One change's line, without indent or colour: `+ Table: comments (missing in local)`.
pub fn line(s: &Summary, sides: &Sides<'_>) -> String {
    let suffix = match (s.sign, &s.detail) {
        (_, Some(d)) => format!(" ({d})"),
        (Sign::Add, None) => format!(" (missing in {})", sides.changed),
        (Sign::Drop, None) => format!(" (missing in {})", sides.desired),
        (Sign::Alter, None) => String::new(),
    };
    format!("{} {}: {}{suffix}", s.sign.as_str(), s.kind, s.object)
}

/// Every line of a listing: the changes (a drop and an add of one object as one `~`), their
/// hazards when asked, then the rename hints.
pub fn lines(
    changes: &[Change],
    hints: &[RenameHint],
    sides: &Sides<'_>,
    style: &Style,
) -> Vec<String> {
    let mut out = Vec::new();
    let indent = style.indent;
    for s in summaries(changes) {
        let text = line(&s, sides);
        let text = if style.color {
            let code = match s.sign {
                Sign::Add => "32",
                Sign::Drop => "31",
                Sign::Alter => "33",
            };
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text
        };
        out.push(format!("{indent}{text}"));
        if style.hazards {
            for h in &s.hazards {
                out.push(format!("{indent}    {h}"));
            }
        }
    }
    for h in hints {
        out.push(format!(
            "{indent}Looks like a rename: {} ({} says so)",
            h.what, h.flag
        ));
    }
    out
}

/// `1 difference`, `3 differences`: the count as listings say it (a drop and an add of one
/// object count once, as they are listed).
pub fn count(changes: &[Change]) -> String {
    let n = summaries(changes).len();
    format!("{n} difference{}", if n == 1 { "" } else { "s" })
}

/// The two ways out of a drift between a schema file and a database;
/// `command` spells a command line from its words after `nself` (the CLI adds `--env` when the
/// environment was chosen by flag).
pub fn drift_advice(schema_file: &str, command: &dyn Fn(&str) -> String) -> String {
    format!(
        "to make the database match {schema_file}: `{}` (writes a migration); to make \
         {schema_file} match the database: edit it (`{}` prints the database as DBML)",
        command(&format!("db schema import {schema_file}")),
        command("db schema export")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::canonical::Table;
    use crate::ir::model::QualifiedName;

    fn table(name: &str) -> Table {
        Table::empty(
            QualifiedName::new("public".to_owned(), name.to_owned()),
            None,
        )
    }

    #[test]
    fn signs_name_the_side_that_lacks_the_object() {
        let sides = Sides {
            desired: "nself/schema.dbml",
            changed: "local",
        };
        let changes = vec![
            Change::CreateTable(table("comments")),
            Change::DropTable(table("legacy")),
        ];
        let out = lines(&changes, &[], &sides, &Style::default());
        assert_eq!(
            out,
            [
                "+ Table: comments (missing in local)",
                "- Table: legacy (missing in nself/schema.dbml)"
            ]
        );
        let hazards = lines(
            &changes,
            &[],
            &sides,
            &Style {
                indent: "  ",
                hazards: true,
                color: false,
            },
        );
        assert!(hazards[0].starts_with("  + Table: comments"), "{hazards:?}");
        assert!(
            hazards.iter().any(|l| l.starts_with("      data loss")),
            "dropping a table is data loss: {hazards:?}"
        );
        assert_eq!(count(&changes), "2 differences");
        assert_eq!(
            sides.title(),
            "Schema Differences (nself/schema.dbml vs local)"
        );
    }
}
