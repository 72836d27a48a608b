//! Unit tests of the pure diff: changes, plan order and migration text. The convergence
//! tests against a real server are in `tests/it/diff.rs`.

use super::migration::{self, Planned};
use super::rename;
use super::{diff, Change};
use crate::ir::canonical::{canonicalize, Database};

fn db(text: &str) -> Database {
    let p = crate::ir::compile_str("t.dbml", text);
    let errors: Vec<_> = p.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    canonicalize(&p.schema)
}

fn up(a: &str, b: &str) -> Vec<String> {
    let (a, b) = (db(a), db(b));
    migration::build(&b, &a, &[])
        .into_iter()
        .flat_map(|p| p.up)
        .collect()
}

fn pos(list: &[String], needle: &str) -> usize {
    list.iter()
        .position(|s| s.contains(needle))
        .unwrap_or_else(|| panic!("no statement with {needle:?} in {list:#?}"))
}

#[test]
fn same_schema_no_changes() {
    let text = "Enum s {\n a\n b\n}\nTable t { id int [pk]\n x s [default: 'a']\n y varchar(10) [unique]\n indexes { (x, y) } }\nTable u { id int [pk, ref: > t.id] }";
    assert!(diff(&db(text), &db(text)).is_empty());
}

#[test]
fn generated_schema_has_no_changes_against_itself_reordered() {
    // Column order is not compared: the same table with its columns shuffled is unchanged.
    let a = db("Table t { id int [pk]\n a text\n b text }");
    let b = db("Table t { b text\n id int [pk]\n a text }");
    assert!(diff(&a, &b).is_empty());
}

#[test]
fn type_change_drops_and_restores_the_default_and_rebuilds_foreign_keys() {
    let s = up(
        "Table users { id int [pk]\n score int [default: 0] }\nTable posts { id int [pk]\n user_id int [ref: > users.id] }",
        "Table users { id bigint [pk]\n score bigint [default: 0] }\nTable posts { id int [pk]\n user_id bigint [ref: > users.id] }",
    );
    let drop_fk = pos(&s, "DROP CONSTRAINT posts_user_id_fkey");
    let drop_default = pos(&s, "score DROP DEFAULT");
    let retype = pos(&s, "score TYPE bigint USING score::bigint");
    let set_default = pos(&s, "score SET DEFAULT 0");
    let users_id = pos(&s, "users ALTER COLUMN id TYPE bigint");
    let add_fk = pos(&s, "ADD CONSTRAINT posts_user_id_fkey");
    assert!(drop_fk < users_id && users_id < add_fk, "{s:#?}");
    assert!(drop_default < retype && retype < set_default, "{s:#?}");
}

#[test]
fn foreign_key_cycles_are_created_and_dropped_in_both_directions() {
    let none = "Table z { id int [pk] }";
    let cycle = "Table a { id int [pk]\n b_id int [ref: > b.id] }\nTable b { id int [pk]\n a_id int [ref: > a.id] }\nTable z { id int [pk] }";
    let s = up(none, cycle);
    let last_create = s
        .iter()
        .rposition(|x| x.starts_with("CREATE TABLE"))
        .unwrap();
    let first_fk = pos(&s, "FOREIGN KEY");
    assert!(last_create < first_fk, "{s:#?}");
    let s = up(cycle, none);
    let drop_fk = pos(&s, "DROP CONSTRAINT");
    let first_drop = pos(&s, "DROP TABLE");
    assert!(drop_fk < first_drop, "{s:#?}");
    assert_eq!(s.iter().filter(|x| x.starts_with("DROP TABLE")).count(), 2);
}

#[test]
fn a_table_dropped_while_referenced_loses_the_reference_first() {
    let s = up(
        "Table a { id int [pk] }\nTable b { id int [pk]\n a_id int [ref: > a.id] }",
        "Table b { id int [pk]\n a_id int }",
    );
    assert!(pos(&s, "DROP CONSTRAINT b_a_id_fkey") < pos(&s, "DROP TABLE public.a"));
}

#[test]
fn enum_values_added_in_place_in_their_own_migration() {
    let (a, b) = (
        db("Enum s {\n a\n c\n}\nTable t { id int [pk]\n x s }"),
        db("Enum s {\n z\n a\n b\n c\n d\n}\nTable t { id int [pk]\n x s\n y text }"),
    );
    let planned = migration::build(&b, &a, &[]);
    assert_eq!(planned.len(), 2, "{planned:#?}");
    assert_eq!(
        planned[0].up,
        vec![
            "ALTER TYPE public.s ADD VALUE 'z' BEFORE 'a';",
            "ALTER TYPE public.s ADD VALUE 'b' AFTER 'a';",
            "ALTER TYPE public.s ADD VALUE 'd' AFTER 'c';",
        ]
    );
    assert!(!planned[1].up.iter().any(|s| s.contains("ADD VALUE")));
    // Alone, additions make one migration.
    let only = db("Enum s {\n a\n b\n c\n}\nTable t { id int [pk]\n x s }");
    assert_eq!(migration::build(&only, &a, &[]).len(), 1);
}

#[test]
fn enum_values_removed_or_reordered_recreate_the_type() {
    let s = up(
        "Enum s {\n a\n b\n c\n}\nTable t { id int [pk]\n x s [default: 'b'] }",
        "Enum s {\n c\n a\n}\nTable t { id int [pk]\n x s [default: 'a'] }",
    );
    let rename = pos(&s, "ALTER TYPE public.s RENAME TO s__nself_old");
    let create = pos(&s, "CREATE TYPE public.s AS ENUM ('c', 'a')");
    let drop_default = pos(&s, "x DROP DEFAULT");
    let convert = pos(&s, "x TYPE public.s USING x::text::public.s");
    let set_default = pos(&s, "x SET DEFAULT 'a'::s");
    let drop_old = pos(&s, "DROP TYPE public.s__nself_old");
    assert!(
        rename < create && create < convert && drop_default < convert,
        "{s:#?}"
    );
    assert!(convert < set_default && set_default < drop_old, "{s:#?}");
}

#[test]
fn constraints_differing_only_by_name_are_renamed() {
    let (a, b) = (
        db("Table t { id int [pk]\n x int\n indexes { x [name: 'old_x'] } }"),
        db("Table t { id int [pk]\n x int\n indexes { x [name: 'new_x'] } }"),
    );
    let d = diff(&b, &a);
    assert_eq!(
        d.changes,
        vec![Change::RenameIndex {
            table: b.tables[0].name.clone(),
            from: "old_x".into(),
            to: "new_x".into()
        }]
    );
}

#[test]
fn renames_replace_drop_and_add_and_reverse_for_down() {
    let (a, b) = (
        db("Table users { id int [pk]\n name text\n indexes { name } }"),
        db("Table members { id int [pk]\n full_name text\n indexes { full_name } }"),
    );
    let hints = diff(
        &db("Table members { id int [pk]\n name text }"),
        &db("Table users { id int [pk]\n name text }"),
    )
    .hints;
    assert!(
        hints.iter().any(|h| h.flag == "--rename users=members"),
        "{hints:?}"
    );
    let renames = rename::resolve(
        &["users.name=users.full_name".into(), "users=members".into()],
        &a,
        &b,
    )
    .unwrap();
    let planned: Vec<Planned> = migration::build(&b, &a, &renames);
    let up = &planned[0].up;
    assert_eq!(
        up[0],
        "ALTER TABLE public.users RENAME COLUMN name TO full_name;"
    );
    assert_eq!(up[1], "ALTER TABLE public.users RENAME TO members;");
    assert!(!up.iter().any(|s| s.contains("DROP")), "{up:#?}");
    let down = &planned[0].down;
    assert!(
        down.contains(&"ALTER TABLE public.members RENAME COLUMN full_name TO name;".to_owned()),
        "{down:#?}"
    );
    assert!(down.contains(&"ALTER TABLE public.members RENAME TO users;".to_owned()));
    assert!(rename::resolve(&["nope=x".into()], &a, &b).is_err());
    assert!(rename::resolve(&["users=nope".into()], &a, &b).is_err());
}

#[test]
fn hostile_names_are_quoted_and_cannot_forge_a_marker() {
    let (a, b) = (
        db("Table t { id int [pk] }"),
        db("Table t { id int [pk]\n \"x\\\"; DROP TABLE t; --\" text [note: '''line\n-- DOWN\nDROP TABLE t;'''] }"),
    );
    let planned = migration::build(&b, &a, &[]);
    let text = migration::render("002_x", "now", "test", &planned[0]);
    assert!(
        text.contains("ADD COLUMN \"x\"\"; DROP TABLE t; --\" text;"),
        "{text}"
    );
    // The note's `-- DOWN` line is inside a string literal, which the server's scanner (and so
    // the runner) reads as text, not as a marker: the file reads back as exactly its
    // statements, the note's text intact.
    migration::verify("002_x.sql", &text, &planned[0]).unwrap();
    let parsed = crate::migrate::file::parse("002_x.sql", &text).unwrap();
    let up: Vec<String> = parsed
        .up
        .steps
        .iter()
        .map(|s| format!("{};", s.sql))
        .collect();
    assert_eq!(up, planned[0].up, "{text}");
    assert!(
        up.iter()
            .any(|s| s.contains("line\n-- DOWN\nDROP TABLE t;")),
        "{up:#?}"
    );
}

#[test]
fn dropping_a_not_null_column_without_default_warns_that_down_needs_an_empty_table() {
    let a = db("Table t {\n id int [pk]\n code text [not null]\n note text\n flag bool [not null, default: false]\n}");
    let b = db("Table t {\n id int [pk]\n}");
    let hazards: Vec<String> = diff(&b, &a)
        .changes
        .iter()
        .flat_map(super::hazard::of)
        .map(|h| h.message)
        .collect();
    let down: Vec<&String> = hazards.iter().filter(|h| h.starts_with("DOWN")).collect();
    assert_eq!(down.len(), 1, "{hazards:#?}");
    assert!(down[0].contains("t.code"), "{hazards:#?}");
    assert_eq!(
        hazards
            .iter()
            .filter(|h| h.contains("deletes its values"))
            .count(),
        3
    );
}

#[test]
fn renames_already_done_are_set_aside() {
    let before = db("Table users { id int [pk]\n name text }");
    let after = db("Table members { id int [pk]\n full_name text }");
    let specs: Vec<String> = vec!["users.name=users.full_name".into(), "users=members".into()];
    // Against the old schema both are to do.
    let (todo, done) = rename::split_done(&specs, &before);
    assert_eq!((todo.len(), done.len()), (2, 0));
    // Against the renamed schema both are done (the column found through the table rename).
    let (todo, done) = rename::split_done(&specs, &after);
    assert_eq!(todo, Vec::<String>::new());
    assert_eq!(done, specs);
    assert!(rename::resolve(&todo, &after, &after).unwrap().is_empty());
    // A source that is gone without its target being there is still an error for resolve.
    let (todo, _) = rename::split_done(&["users=people".into()], &after);
    assert_eq!(todo.len(), 1);
    assert!(rename::resolve(&todo, &after, &after).is_err());
    // Schema-qualified column form.
    let (_, done) = rename::split_done(&["public.members.name=full_name".into()], &after);
    assert_eq!(done.len(), 1);
}
