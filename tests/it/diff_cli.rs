//! `nself db schema diff` and the import modes, through the real binary: which side is which,
//! the three formats, `--exit-code`, `--generate-migration`, and `import --check`/`--dry-run`
//! leaving files alone. The convergence of what they generate is `diff.rs`'s business.

use super::support::{Project, Run};
use nself::local::testing::{fresh_database, TestDatabase};

const A: &str = "Table users {\n  id int [pk, increment]\n  name varchar(32)\n}\n\nTable obsolete {\n  id int [pk]\n}\n";
const B: &str = "Table users {\n  id int [pk, increment]\n  name varchar(64)\n  email text [unique]\n}\n\nTable posts {\n  id int [pk]\n  user_id int [ref: > users.id]\n}\n";

fn project() -> Project {
    let p = Project::new();
    p.write("a.dbml", A)
        .write("b.dbml", B)
        .write("nself/migrations/.keep", "");
    p
}

fn with_db(p: &Project, db: &TestDatabase, args: &[&str]) -> Run {
    let url = db.params.to_url_with_password();
    p.run(args, &[("DATABASE_URL", &url)])
}

#[test]
fn diff_of_two_files_brings_target_to_source_in_every_format() {
    let p = project();
    // TARGET a.dbml, source b.dbml: the changes that make a look like b.
    let r = p.run(&["db", "schema", "diff", "a.dbml", "--from", "b.dbml"], &[]);
    r.ok();
    let out = &r.stdout;
    assert!(
        out.starts_with("Schema Differences (b.dbml vs a.dbml)"),
        "{out}"
    );
    assert!(out.contains("+ Table: posts (missing in a.dbml)"), "{out}");
    assert!(
        out.contains("- Table: obsolete (missing in b.dbml)"),
        "{out}"
    );
    assert!(
        out.contains(
            "~ Column: users.name (different type: character varying(32) → character varying(64))"
        ),
        "{out}"
    );
    assert!(out.contains("+ Column: users.email"), "{out}");
    assert!(
        !out.contains('\x1b'),
        "no colour when not a terminal: {out:?}"
    );

    let r = p.run(
        &[
            "db", "schema", "diff", "a.dbml", "--from", "b.dbml", "--format", "json",
        ],
        &[],
    );
    r.ok();
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON output");
    assert_eq!(doc["from"], "b.dbml");
    assert_eq!(doc["to"], "a.dbml");
    assert_eq!(doc["differ"], true);
    let changes = doc["changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["object"] == "posts" && c["kind"] == "Table"),
        "{doc:#}"
    );

    let r = p.run(
        &[
            "db", "schema", "diff", "a.dbml", "--from", "b.dbml", "--format", "sql",
        ],
        &[],
    );
    r.ok();
    let sql = &r.stdout;
    for needle in [
        "CREATE TABLE public.posts",
        "ALTER TABLE public.users ALTER COLUMN name TYPE character varying(64)",
        "DROP TABLE public.obsolete;",
    ] {
        assert!(sql.contains(needle), "missing {needle:?} in\n{sql}");
    }
    // The reverse direction is the reverse change.
    let r = p.run(
        &[
            "db", "schema", "diff", "b.dbml", "--from", "a.dbml", "--format", "sql",
        ],
        &[],
    );
    assert!(
        r.ok().stdout.contains("DROP TABLE public.posts;"),
        "{}",
        r.stdout
    );
    assert!(
        p.migration_files().is_empty(),
        "diff without --generate-migration writes nothing"
    );
}

#[test]
fn exit_code_says_whether_the_sides_differ() {
    let p = project();
    let same = p.run(
        &[
            "db",
            "schema",
            "diff",
            "a.dbml",
            "--from",
            "a.dbml",
            "--exit-code",
        ],
        &[],
    );
    same.ok();
    assert!(same.stdout.contains("No differences."), "{}", same.stdout);
    let differ = p.run(
        &[
            "db",
            "schema",
            "diff",
            "a.dbml",
            "--from",
            "b.dbml",
            "--exit-code",
        ],
        &[],
    );
    assert_eq!(differ.code, 1, "{}", differ.all());
    // Without --exit-code a difference is not a failure.
    p.run(&["db", "schema", "diff", "a.dbml", "--from", "b.dbml"], &[])
        .ok();
}

#[test]
fn broken_dbml_stops_the_diff_with_its_location() {
    let p = project();
    p.write("bad.dbml", "Table t {\n  id int [pk\n}\n");
    let r = p.run(
        &["db", "schema", "diff", "a.dbml", "--from", "bad.dbml"],
        &[],
    );
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(r.stderr.contains("bad.dbml:"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn generate_migration_between_files_writes_up_and_down() {
    let p = project();
    p.run(
        &[
            "db",
            "schema",
            "diff",
            "a.dbml",
            "--from",
            "b.dbml",
            "--generate-migration",
            "--name",
            "to_b",
        ],
        &[],
    )
    .ok();
    assert_eq!(p.migration_files(), ["001_to_b.sql"]);
    let text = std::fs::read_to_string(p.path().join("nself/migrations/001_to_b.sql")).unwrap();
    let (up, down) = text.split_once("-- DOWN").expect("a DOWN section");
    assert!(up.contains("CREATE TABLE public.posts"), "{text}");
    assert!(down.contains("DROP TABLE public.posts;"), "{text}");
    assert!(down.contains("CREATE TABLE public.obsolete"), "{text}");
}

#[test]
fn database_against_schema_file_and_the_migration_that_syncs_it() {
    let db = fresh_database();
    let p = project();
    p.write("nself/schema.dbml", A);
    with_db(
        &p,
        &db,
        &["db", "schema", "import", "nself/schema.dbml", "--apply"],
    )
    .ok();
    assert_eq!(p.migration_files().len(), 1);

    // The database matches schema.dbml.
    let r = with_db(&p, &db, &["db", "schema", "diff", "--exit-code"]);
    r.ok();
    assert!(r.stdout.contains("No differences."), "{}", r.stdout);

    // schema.dbml moves on; the default diff shows it, and --exit-code fails.
    p.write("nself/schema.dbml", B);
    let r = with_db(&p, &db, &["db", "schema", "diff", "--exit-code"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("Table: posts"), "{}", r.stdout);

    // A migration for the database from a DBML TARGET makes no sense: refused, nothing written.
    let r = with_db(&p, &db, &["db", "schema", "diff", "--generate-migration"]);
    r.fails(2, &["schema import"]);
    assert_eq!(p.migration_files().len(), 1);

    // import --check and --dry-run: report, write nothing, change nothing.
    let r = with_db(
        &p,
        &db,
        &["db", "schema", "import", "nself/schema.dbml", "--check"],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    let r = with_db(
        &p,
        &db,
        &["db", "schema", "import", "nself/schema.dbml", "--dry-run"],
    );
    r.ok();
    assert!(r.stdout.contains("-- UP"), "{}", r.stdout);
    assert_eq!(p.migration_files().len(), 1);

    // The database as TARGET, schema.dbml as the source: the migration that brings the
    // database to the file; applying it makes them match.
    let url = db.params.to_url_with_password();
    with_db(
        &p,
        &db,
        &[
            "db",
            "schema",
            "diff",
            &url,
            "--from",
            "nself/schema.dbml",
            "--generate-migration",
            "--name",
            "sync",
        ],
    )
    .ok();
    let files = p.migration_files();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files[1].ends_with("_sync.sql"), "{files:?}");
    with_db(&p, &db, &["db", "migrate", "up"]).ok();
    with_db(
        &p,
        &db,
        &["db", "schema", "import", "nself/schema.dbml", "--check"],
    )
    .ok();
    with_db(&p, &db, &["db", "schema", "diff", "--exit-code"]).ok();
}

#[test]
fn bad_surroundings_give_a_clear_error_and_write_nothing() {
    let p = project();
    // A database that cannot be reached.
    let r = p.run(
        &["db", "schema", "import", "b.dbml", "--dry-run"],
        &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("cannot reach"), "{}", r.stderr);
    let r = p.run(
        &["db", "schema", "diff", "b.dbml"],
        &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
    );
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(r.stdout.is_empty(), "{}", r.stdout);

    // A migrations folder the runner would refuse: no new file beside it.
    p.write(
        "nself/migrations/001_one.sql",
        "-- UP\nSELECT 1;\n-- DOWN\nSELECT 1;\n",
    )
    .write(
        "nself/migrations/001_two.sql",
        "-- UP\nSELECT 2;\n-- DOWN\nSELECT 2;\n",
    );
    let r = p.run(
        &["db", "schema", "import", "b.dbml", "--from", "a.dbml"],
        &[],
    );
    r.fails(1, &["001_two.sql", "version 1"]);
    assert_eq!(p.migration_files(), ["001_one.sql", "001_two.sql"]);

    // A migrations "folder" that is a file: nothing can be written there.
    let q = Project::new();
    q.write("a.dbml", A)
        .write("b.dbml", B)
        .write("nself/migrations", "");
    let r = q.run(
        &["db", "schema", "import", "b.dbml", "--from", "a.dbml"],
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("nself/migrations"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(q.path().join("nself/migrations")).unwrap(),
        ""
    );
}

#[test]
fn the_same_rename_flags_work_again_once_applied() {
    let db = fresh_database();
    let p = project();
    p.write("old.dbml", "Table users {\n  id int [pk]\n  name text\n}\n")
        .write(
            "new.dbml",
            "Table members {\n  id int [pk]\n  full_name text\n}\n",
        );
    with_db(&p, &db, &["db", "schema", "import", "old.dbml", "--apply"]).ok();
    let flags = [
        "--rename",
        "users.name=users.full_name",
        "--rename",
        "users=members",
    ];
    let args = |mode: &'static str| {
        let mut a = vec!["db", "schema", "import", "new.dbml", mode];
        a.extend(flags);
        a
    };
    with_db(&p, &db, &args("--apply")).ok();
    // Run again (a script or hook that keeps its flags): nothing to do, and no error.
    let r = with_db(&p, &db, &args("--check"));
    r.ok();
    assert!(r.stderr.contains("already done"), "{}", r.stderr);
    let r = with_db(&p, &db, &args("--dry-run"));
    assert!(r.ok().stdout.contains("No changes"), "{}", r.stdout);
    assert_eq!(p.migration_files().len(), 2);
}
