//! Issue 12, "Real schemas": DBML the reference accepts but PostgreSQL cannot load is diagnosed
//! at its span — a warning in `schema check`, a refusal in `schema import` (which never writes
//! DDL the server rejects). Each case also runs the reference's DDL on a real server, so the
//! test fails if PostgreSQL would accept what we refuse.

use super::oracle::oracle_sql;
use super::support::Project;
use nself::local::testing::fresh_database;

/// `check` exits 0 with `code` on `line`; `import` refuses with it and writes nothing; the
/// reference's DDL is refused by PostgreSQL with `server`.
fn diagnosed(dbml: &str, code: &str, line: usize, help: &str, server: &str) {
    let at = format!("nself/schema.dbml:{line}:");
    let p = check_warns_and_import_refuses(dbml, code, &[&at, help]);
    let ddl = oracle_sql(&p.path().join("nself/schema.dbml")).unwrap();
    let db = fresh_database();
    let refused = db.client().batch_execute(&ddl).unwrap_err();
    let message = refused
        .as_db_error()
        .map(|d| d.message().to_owned())
        .unwrap_or_default();
    assert!(message.contains(server), "{message}\n{ddl}");
}

/// `check` of `dbml` exits 0 with `code` and `needles`; `import --from empty.dbml` refuses
/// with `code` and writes no migration.
fn check_warns_and_import_refuses(dbml: &str, code: &str, needles: &[&str]) -> Project {
    let p = Project::new();
    p.write("nself/schema.dbml", dbml)
        .write("empty.dbml", "")
        .write("nself/migrations/.keep", "");
    let check = p.run(&["db", "schema", "check", "nself/schema.dbml"], &[]);
    check.ok();
    for needle in std::iter::once(&code).chain(needles) {
        assert!(
            check.all().contains(needle),
            "{needle:?} not in:\n{}",
            check.all()
        );
    }
    let import = p.run(
        &[
            "db",
            "schema",
            "import",
            "nself/schema.dbml",
            "--from",
            "empty.dbml",
        ],
        &[],
    );
    assert_ne!(import.code, 0, "{}", import.all());
    assert!(import.all().contains(code), "{}", import.all());
    assert_eq!(
        p.migration_files(),
        Vec::<String>::new(),
        "{}",
        import.all()
    );
    p
}

#[test]
fn a_foreign_key_to_columns_that_are_no_key_is_diagnosed() {
    diagnosed(
        "Table a {\n  id int [pk]\n  code int\n}\nTable b {\n  id int [pk]\n  a_code int [ref: > a.code]\n}\n",
        "W0613",
        7,
        "[unique]",
        "no unique constraint matching given keys",
    );
    // Composite: (x, y) is not a key even though x alone is the primary key.
    diagnosed(
        "Table p {\n  x int [pk]\n  y int\n}\nTable c {\n  x int\n  y int\n}\nRef: c.(x, y) > p.(x, y)\n",
        "W0613",
        9,
        "(x, y) [unique]",
        "no unique constraint matching given keys",
    );
}

#[test]
fn keys_in_every_dbml_form_are_keys() {
    let p = Project::new();
    p.write(
        "s.dbml",
        "Table p {\n  x int\n  y int\n  u int [unique]\n  indexes {\n    (x, y) [pk]\n  }\n}\n\
         Table q {\n  a int [pk]\n  b int [pk]\n  i int\n  indexes {\n    i [unique]\n  }\n}\n\
         Table c {\n  x int\n  y int\n  u int [ref: > p.u]\n  a int\n  b int\n  i int [ref: > q.i]\n}\n\
         Ref: c.(x, y) > p.(x, y)\nRef: c.(a, b) > q.(a, b)\n",
    );
    let check = p.run(&["db", "schema", "check", "s.dbml"], &[]);
    check.ok();
    assert!(!check.all().contains("W0613"), "{}", check.all());
}

#[test]
fn a_default_that_is_a_bare_column_reference_is_diagnosed() {
    diagnosed(
        "Table t {\n  id int [pk]\n  created_at timestamp [default: `now`]\n}\n",
        "W0612",
        3,
        "`now()`",
        "cannot use column reference in DEFAULT expression",
    );
    let p = Project::new();
    p.write(
        "ok.dbml",
        "Table t {\n  id int [pk]\n  a timestamp [default: `now()`]\n  b text [default: `'now'`]\n  c int [default: `(1 + 2) * 3`]\n}\n",
    );
    let check = p.run(&["db", "schema", "check", "ok.dbml"], &[]);
    check.ok();
    assert!(!check.all().contains("W0612"), "{}", check.all());
}

#[test]
fn another_database_type_does_not_switch_off_the_postgresql_checks() {
    check_warns_and_import_refuses(
        "Project p {\n  database_type: 'MySQL'\n}\nTable t {\n  id int [pk]\n  created_at datetime\n}\n",
        "W0601",
        &["nself/schema.dbml:6:", "'MySQL'", "`timestamp`"],
    );
}
