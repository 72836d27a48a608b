//! A migration or seed file runs only what it visibly is: statements split as the server
//! splits them, markers only where the server sees comments, no file read through a link, the
//! runner's transaction proven intact after every statement, dry runs that change nothing (not
//! even sequences), and concurrent runners that wait for each other without a snapshot.
//! Real binary, real throwaway databases.

use super::support::{Project, Run, NSELF};
use nself::local::testing::{fresh_database, TestDatabase};
use nself::migrate::file::{Migration, Section, Step};
use nself::migrate::runner::{Runner, Settings, UpOptions};
use nself::migrate::MigrateError;
use std::collections::BTreeSet;
use std::process::{Command, Stdio};

fn project(files: &[(&str, &str)]) -> Project {
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("nself/migrations")).unwrap();
    for (name, text) in files {
        p.write(&format!("nself/migrations/{name}"), text);
    }
    p
}

fn nself(p: &Project, db: &TestDatabase, args: &[&str]) -> Run {
    let u = db.params.to_url_with_password();
    p.run(args, &[("DATABASE_URL", &u)])
}

/// Tables in public, except the tracking table.
fn tables(db: &TestDatabase) -> BTreeSet<String> {
    db.client()
        .query(
            "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace \
              AND relkind = 'r' AND relname <> 'schema_migrations'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// (version, success) of every tracking row; empty without a tracking table.
fn tracked(db: &TestDatabase) -> Vec<(i64, bool)> {
    super::support::tracked(db)
        .into_iter()
        .map(|(v, _, ok)| (v, ok))
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

const SCHEMA: &str = "Table other {\n  id int [pk]\n}\n";

/// Defect 2: `begin` as a routine parameter made the old splitter open a `BEGIN ATOMIC` block
/// that never ended, so the rest went to the server as one multi-statement query and its
/// COMMIT committed half the migration ("Nothing of it was applied", version Pending). The
/// same file pending during `schema import --dry-run` committed for real.
#[test]
fn a_parameter_named_begin_cannot_smuggle_a_commit() {
    let text = "-- UP\nCREATE TABLE kept_a (id int);\nCREATE FUNCTION f(begin int) RETURNS int LANGUAGE sql AS 'SELECT 1';\nCOMMIT;\nCREATE TABLE kept_b (id int);\nSELECT 1/0;\n-- DOWN\nDROP TABLE kept_b;\n";
    let db = fresh_database();
    let p = project(&[("001_smuggle.sql", text)]);
    p.write("nself/schema.dbml", SCHEMA);

    // The dry run refuses before running anything, and commits nothing.
    let r = nself(
        &p,
        &db,
        &["db", "schema", "import", "nself/schema.dbml", "--dry-run"],
    );
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(r.all().contains("001_smuggle.sql:4"), "{}", r.all());
    assert_eq!(tables(&db), set(&[]), "the dry run committed something");

    // `migrate up` refuses it at its line, before anything runs.
    let r = nself(&p, &db, &["db", "migrate", "up"]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(r.stderr.contains("001_smuggle.sql:4"), "{}", r.stderr);
    assert!(r.stderr.contains("COMMIT"), "{}", r.stderr);
    assert!(
        !r.all().contains("Nothing of it was applied"),
        "{}",
        r.all()
    );
    assert_eq!(tables(&db), set(&[]));
    assert_eq!(tracked(&db), vec![]);
    let f: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM pg_proc WHERE proname = 'f' AND pronamespace = 'public'::regnamespace",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(f, 0);
}

/// Defect 2, the other half: the same routine without the COMMIT is one statement and runs.
#[test]
fn a_parameter_named_begin_is_just_a_parameter() {
    let text = "-- UP\nCREATE FUNCTION f(begin int) RETURNS int LANGUAGE sql AS 'SELECT begin + 1';\nCREATE TABLE after_f (id int DEFAULT f(1));\n-- DOWN\nDROP TABLE after_f;\nDROP FUNCTION f(int);\n";
    let db = fresh_database();
    let p = project(&[("001_param.sql", text)]);
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    assert_eq!(tables(&db), set(&["after_f"]));
    assert_eq!(tracked(&db), vec![(1, true)]);
    nself(&p, &db, &["db", "migrate", "down"]).ok();
    assert_eq!(tables(&db), set(&[]));
}

/// Defect 4: a migration that is a link (git keeps links) to the project's `.env` was read and
/// sent as SQL, and the failing line, the password, was printed. Seeds likewise.
#[test]
fn a_linked_migration_or_seed_is_refused_with_its_path() {
    let db = fresh_database();
    let p = project(&[("001_ok.sql", "CREATE TABLE ok (id int);\n")]);
    p.write(".env", "DB_PASSWORD=hunter2-secret-value\n");
    std::os::unix::fs::symlink(
        p.path().join(".env"),
        p.path().join("nself/migrations/002_env.sql"),
    )
    .unwrap();
    let r = nself(&p, &db, &["db", "migrate", "up"]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(r.stderr.contains("002_env.sql"), "{}", r.stderr);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert!(!r.all().contains("hunter2"), "{}", r.all());
    assert_eq!(tables(&db), set(&[]), "nothing runs when a file is refused");

    // Seeds: the link is refused with its path, and nothing of the target is printed.
    std::fs::remove_file(p.path().join("nself/migrations/002_env.sql")).unwrap();
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    p.write(
        "nself/seeds/common/001_a.sql",
        "INSERT INTO ok VALUES (1);\n",
    );
    std::os::unix::fs::symlink(
        p.path().join(".env"),
        p.path().join("nself/seeds/common/002_env.sql"),
    )
    .unwrap();
    let r = nself(&p, &db, &["db", "seed"]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(r.stderr.contains("002_env.sql"), "{}", r.stderr);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert!(!r.all().contains("hunter2"), "{}", r.all());
    let n: i64 = db
        .client()
        .query_one("SELECT count(*) FROM ok", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "no seed ran");
}

/// Defect 9: a directive inside a multi-line string made the file statement-by-statement, so a
/// failure kept its first statements, where psql would have run it atomically.
#[test]
fn markers_inside_strings_dollar_quotes_and_comments_are_text() {
    let text = "-- UP\nCREATE TABLE a (id int);\nCOMMENT ON TABLE a IS 'line\n-- nself:no-transaction\n-- DOWN\n';\nCREATE FUNCTION g() RETURNS text LANGUAGE sql AS $$\n-- DOWN\nSELECT 'x'\n$$;\n/*\n-- UP\n*/\nCREATE TABLE b (id int);\nSELECT 1/0;\n-- DOWN\nDROP TABLE b;\nDROP FUNCTION g();\nDROP TABLE a;\n";
    let db = fresh_database();
    let p = project(&[("001_strings.sql", text)]);
    let r = nself(&p, &db, &["db", "migrate", "up"]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(r.stderr.contains("001_strings.sql:15"), "{}", r.stderr);
    assert!(
        r.stderr.contains("Nothing of it was applied"),
        "{}",
        r.stderr
    );
    assert_eq!(
        tables(&db),
        set(&[]),
        "the migration ran in one transaction"
    );
    assert_eq!(tracked(&db), vec![]);

    // Without the failing statement it applies, with the string as written, and rolls back.
    let fixed = text.replace("SELECT 1/0;\n", "");
    p.write("nself/migrations/001_strings.sql", &fixed);
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    let comment: String = db
        .client()
        .query_one("SELECT obj_description('a'::regclass, 'pg_class')", &[])
        .unwrap()
        .get(0);
    assert_eq!(comment, "line\n-- nself:no-transaction\n-- DOWN\n");
    nself(&p, &db, &["db", "migrate", "down"]).ok();
    assert_eq!(tables(&db), set(&[]));
}

/// Defect 9: a UTF-8 byte order mark at the start made a migration fail; psql accepts it.
#[test]
fn a_byte_order_mark_is_accepted_and_lines_stay_right() {
    let db = fresh_database();
    let p = project(&[
        (
            "001_bom.sql",
            "\u{feff}-- UP\nCREATE TABLE bom (id int);\n-- DOWN\nDROP TABLE bom;\n",
        ),
        (
            "002_bom_nomarker.sql",
            "\u{feff}CREATE TABLE bom2 (id int);\nSELECT nosuchcolumn FROM bom2;\n",
        ),
    ]);
    let r = nself(&p, &db, &["db", "migrate", "up"]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(
        r.stderr.contains("002_bom_nomarker.sql:2:8"),
        "{}",
        r.stderr
    );
    assert_eq!(tables(&db), set(&["bom"]));
    assert_eq!(tracked(&db), vec![(1, true)]);
}

/// Defect 9: a DBML note whose text held a line `-- DOWN` could not be imported. Every
/// character that could end a string or comment, or look like a marker, goes through
/// `schema import --apply` and `migrate down`.
#[test]
fn a_dbml_note_cannot_break_the_migration_it_is_written_into() {
    let note =
        "first\n-- DOWN\n-- UP\n-- nself:no-transaction\n$$ $x$ */ /* ' '' \" ; COMMIT;\nlast";
    let dbml = format!("Table noted {{\n  id int [pk]\n  Note: '''{note}'''\n}}\n");
    let db = fresh_database();
    let p = project(&[]);
    p.write("nself/schema.dbml", &dbml);
    nself(
        &p,
        &db,
        &["db", "schema", "import", "nself/schema.dbml", "--apply"],
    )
    .ok();
    assert_eq!(tables(&db), set(&["noted"]));
    let comment: String = db
        .client()
        .query_one("SELECT obj_description('noted'::regclass, 'pg_class')", &[])
        .unwrap()
        .get(0);
    assert_eq!(comment, note);
    assert_eq!(tracked(&db), vec![(1, true)]);
    nself(&p, &db, &["db", "migrate", "down"]).ok();
    assert_eq!(tables(&db), set(&[]));
    assert_eq!(tracked(&db), vec![]);
}

fn sequence_state(db: &TestDatabase) -> Vec<(String, i64, bool)> {
    let mut c = db.client();
    let mut out = Vec::new();
    for s in ["serialed_id_seq", "identified_id_seq"] {
        let r = c
            .query_one(&format!("SELECT last_value, is_called FROM {s}"), &[])
            .unwrap();
        out.push((s.to_string(), r.get(0), r.get(1)));
    }
    out
}

/// Defect 10: three dry runs of a pending `INSERT … generate_series(1, 1000)` left the
/// serial's sequence at 3000 with no rows: sequences are not transactional.
#[test]
fn dry_runs_leave_sequences_exactly_where_they_were() {
    let db = fresh_database();
    let p = project(&[
        (
            "001_tables.sql",
            "CREATE TABLE serialed (id serial PRIMARY KEY, n int);\nCREATE TABLE identified (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n int);\nINSERT INTO serialed (n) VALUES (1), (2);\nINSERT INTO identified (n) VALUES (1);\n",
        ),
    ]);
    p.write("nself/schema.dbml", SCHEMA);
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    let before = sequence_state(&db);
    assert_eq!(before[0], ("serialed_id_seq".into(), 2, true));
    p.write(
        "nself/migrations/002_many.sql",
        "INSERT INTO serialed (n) SELECT g FROM generate_series(1, 1000) g;\nINSERT INTO identified (n) SELECT g FROM generate_series(1, 1000) g;\nSELECT setval('serialed_id_seq', 50000);\n",
    );
    for _ in 0..3 {
        let r = nself(
            &p,
            &db,
            &["db", "schema", "import", "nself/schema.dbml", "--dry-run"],
        );
        r.ok();
    }
    assert_eq!(sequence_state(&db), before, "a dry run moved a sequence");
    let rows: i64 = db
        .client()
        .query_one(
            "SELECT (SELECT count(*) FROM serialed) + (SELECT count(*) FROM identified)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(rows, 3);
    // The real run still takes its values from where the sequences were.
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    let max: i32 = db
        .client()
        .query_one("SELECT max(id) FROM identified", &[])
        .unwrap()
        .get(0);
    assert_eq!(max, 1001);
}

/// Defect 8: while one runner built an index concurrently, the others waited in a blocking
/// `pg_advisory_lock`, a query holding a snapshot the index build waits for: "deadlock
/// detected". Eight runners, each migration applied once.
#[test]
fn eight_runners_with_a_concurrent_index_finish_without_deadlock() {
    let db = fresh_database();
    let mut files = vec![
        (
            "001_t.sql".to_string(),
            "CREATE TABLE runs (version int NOT NULL, n int);\nINSERT INTO runs SELECT 0, g FROM generate_series(1, 2000) g;\n".to_string(),
        ),
        (
            "002_index.sql".to_string(),
            "-- nself:no-transaction\n-- UP\nCREATE INDEX CONCURRENTLY runs_n ON runs (n);\nINSERT INTO runs (version) VALUES (2);\n-- DOWN\nDROP INDEX CONCURRENTLY runs_n;\n".to_string(),
        ),
    ];
    for v in 3..=6 {
        files.push((
            format!("{v:03}_step.sql"),
            format!("INSERT INTO runs (version) VALUES ({v});\nSELECT pg_sleep(0.02);\n"),
        ));
    }
    files.push((
        "007_index2.sql".to_string(),
        "-- nself:no-transaction\nCREATE INDEX CONCURRENTLY runs_v ON runs (version);\nINSERT INTO runs (version) VALUES (7);\n".to_string(),
    ));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let p = project(&refs);
    let u = db.params.to_url_with_password();
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(NSELF)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .current_dir(p.path())
                .args(["db", "migrate", "up", "--database-url", &u])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rows = tracked(&db);
    assert_eq!(rows, (1..=7).map(|v| (v, true)).collect::<Vec<_>>());
    let runs: Vec<i32> = db
        .client()
        .query(
            "SELECT version FROM runs WHERE version > 0 ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        runs,
        (2..=7).collect::<Vec<i32>>(),
        "each migration ran once"
    );
}

/// Statements the server runs only outside a transaction, or that hold semicolons, go one per
/// message through the extended protocol in a `-- nself:no-transaction` file.
#[test]
fn no_transaction_files_run_concurrent_indexes_do_blocks_functions_and_vacuum() {
    let db = fresh_database();
    let p = project(&[
        ("001_t.sql", "CREATE TABLE t (id int, n int);\n"),
        (
            "002_nt.sql",
            "-- nself:no-transaction\nCREATE INDEX CONCURRENTLY t_n ON t (n);\nDO $$ BEGIN INSERT INTO t VALUES (1, 1); END $$;\nCREATE FUNCTION h(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT a; SELECT a + 1; END;\nVACUUM t;\nINSERT INTO t VALUES (h(1), 2);\n",
        ),
    ]);
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    let ids: Vec<i32> = db
        .client()
        .query("SELECT id FROM t ORDER BY n", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, [1, 2]);
    assert_eq!(tracked(&db), vec![(1, true), (2, true)]);
}

fn handmade(steps: &[&str]) -> Migration {
    let text = steps.join(";\n") + ";\n";
    let mut offset = 0;
    let mut out = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        out.push(Step {
            sql: s.to_string(),
            offset,
            line: i + 1,
        });
        offset += s.len() + 2;
    }
    Migration {
        version: 1,
        version_text: "001".into(),
        name: "handmade".into(),
        file_name: "001_handmade.sql".into(),
        path: "001_handmade.sql".into(),
        checksum: "0".repeat(64),
        text,
        up: Section {
            steps: out,
            own_transaction: false,
        },
        down: None,
        no_transaction: false,
    }
}

/// The runner's second line of defence: whatever ends its transaction is caught after that
/// statement (the parser refuses COMMIT in files, so the steps are made by hand here), the
/// rest does not run, the migration is recorded dirty, and the message never says nothing was
/// applied. And one step is one statement: the protocol refuses two.
#[test]
fn a_statement_that_ends_the_runners_transaction_is_caught() {
    let db = fresh_database();
    let files = vec![handmade(&[
        "CREATE TABLE g1 (id int)",
        "COMMIT",
        "CREATE TABLE g2 (id int)",
    ])];
    let mut client = db.client();
    let mut runner = Runner::start(&mut client, &Settings::default(), &mut |_| {}).unwrap();
    let e = runner
        .up(&files, UpOptions::default(), &mut |_| {})
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, MigrateError::Escaped { .. }), "{text}");
    assert!(text.contains("001_handmade.sql:2"), "{text}");
    assert!(text.contains("MAY BE COMMITTED"), "{text}");
    assert!(!text.contains("Nothing of it was applied"), "{text}");
    runner.finish().unwrap();
    drop(client);
    assert_eq!(tables(&db), set(&["g1"]), "g1 was committed, g2 never ran");
    assert_eq!(tracked(&db), vec![(1, false)], "recorded dirty");

    // `db update`'s single transaction cannot be committed by a migration either.
    let db = fresh_database();
    let files = vec![handmade(&["CREATE TABLE u1 (id int)", "ROLLBACK"])];
    let mut client = db.client();
    let mut runner = Runner::start(&mut client, &Settings::default(), &mut |_| {}).unwrap();
    let e = runner
        .up_atomic(
            &files,
            &mut |_| {},
            &mut |_| {},
            &mut |_| Ok(()),
            &mut |_| Ok(()),
        )
        .unwrap_err();
    assert!(matches!(e, MigrateError::Escaped { .. }), "{e}");
    drop(runner);
    drop(client);
    assert_eq!(tracked(&db), vec![]);

    // Two statements in one step: the server refuses the message, nothing runs.
    let db = fresh_database();
    let files = vec![handmade(&["CREATE TABLE m1 (id int); COMMIT"])];
    let mut client = db.client();
    let mut runner = Runner::start(&mut client, &Settings::default(), &mut |_| {}).unwrap();
    let e = runner
        .up(&files, UpOptions::default(), &mut |_| {})
        .unwrap_err();
    assert!(e.to_string().contains("multiple commands"), "{e}");
    drop(runner);
    drop(client);
    assert_eq!(tables(&db), set(&[]));
}

/// The provisional run of pending migrations (`schema import --dry-run`) is guarded too.
#[test]
fn the_provisional_run_of_pending_migrations_cannot_commit() {
    let db = fresh_database();
    let files = vec![handmade(&["CREATE TABLE p1 (id int)", "COMMIT"])];
    let mut client = db.client();
    let mut tx = client.transaction().unwrap();
    let e = nself::diff::source::live_with_pending(
        &mut tx,
        &files,
        &Default::default(),
        &["public".to_string()],
    )
    .map(|_| ())
    .unwrap_err();
    assert!(e.to_string().contains("MAY BE COMMITTED"), "{e}");
    assert!(e.to_string().contains("001_handmade.sql:2"), "{e}");
}
