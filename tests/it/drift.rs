//! Issue 11, "`db update` and drift" and "Schema export scope": drift from `nself/schema.dbml`
//! is a warning of `db update` (a failure with `--strict`); `schema diff`, `import --check`,
//! `db update` and `db status` list it with one sign convention (`+` = what applying
//! schema.dbml would add to the database); `schema export` covers every user schema by default
//! and stays self-contained when `--schemas` narrows it.

use super::oracle;
use super::support::{Project, Run};
use nself::local::testing::{fresh_database, TestDatabase};

fn nself(p: &Project, db: &TestDatabase, args: &[&str]) -> Run {
    let url = db.params.to_url_with_password();
    p.run(args, &[("DATABASE_URL", &url)])
}

/// The listing lines of an output (`+ …`, `- …`, `~ …`), trimmed, in order.
fn listed(out: &str) -> Vec<String> {
    out.lines()
        .map(str::trim)
        .filter(|l| {
            let mut c = l.chars();
            matches!(c.next(), Some('+' | '-' | '~'))
                && c.next() == Some(' ')
                && c.next().is_some_and(|c| c.is_ascii_uppercase())
        })
        .map(str::to_owned)
        .collect()
}

fn applied(db: &TestDatabase) -> Vec<String> {
    db.client()
        .query(
            "SELECT version::text FROM public.schema_migrations ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

const SCHEMA: &str = "Table users {
  id int [pk]
  email text
}
";

/// The guide's users table, then a teammate's edit not yet imported (a comments table, a
/// narrower email) while a hand-written migration (`migrate create add_indexes`) adds an index
/// the file does not have.
const EDITED: &str = "Table users {
  id int [pk]
  email varchar(255)
}

Table comments {
  id int [pk]
  body text
}
";

#[test]
fn drift_is_a_warning_of_update_listed_alike_by_diff_check_update_and_status() {
    let db = fresh_database();
    let p = Project::new();
    p.write(
        "nself/migrations/001_create_users.sql",
        "-- UP\nCREATE TABLE users (id int PRIMARY KEY, email text);\n-- DOWN\nDROP TABLE users;\n",
    )
    .write("nself/schema.dbml", SCHEMA);
    let run = nself(&p, &db, &["db", "update", "--no-backup"]);
    run.ok();
    assert!(
        run.stdout
            .contains("Comparing with nself/schema.dbml... Matches"),
        "{}",
        run.stdout
    );

    // A hand-written migration and an unimported edit: the update applies the migration and
    // warns about the drift (on main it failed, with no way past it).
    p.write(
        "nself/migrations/002_add_indexes.sql",
        "-- UP\nCREATE INDEX idx_users_email ON users (email);\n-- DOWN\nDROP INDEX idx_users_email;\n",
    )
    .write("nself/schema.dbml", EDITED);
    let update = nself(&p, &db, &["db", "update", "--no-backup"]);
    update.ok();
    assert_eq!(applied(&db), ["1", "2"], "{}", update.all());
    assert!(
        update.stdout.contains("Applying 002_add_indexes... Done"),
        "{}",
        update.stdout
    );
    assert!(
        update
            .stdout
            .contains("Comparing with nself/schema.dbml... 3 differences"),
        "{}",
        update.stdout
    );
    assert!(
        update
            .stderr
            .contains("warning: the local database differs")
            && update.stderr.contains("--strict")
            && update
                .stderr
                .contains("nself db schema import nself/schema.dbml"),
        "{}",
        update.stderr
    );
    assert!(
        update
            .stdout
            .contains("Update complete! 1 migration applied."),
        "{}",
        update.stdout
    );

    // --strict: the same drift fails the update and nothing of it is committed.
    p.write(
        "nself/migrations/003_more.sql",
        "-- UP\nCREATE TABLE extra (id int);\n-- DOWN\nDROP TABLE extra;\n",
    );
    let strict = nself(&p, &db, &["db", "update", "--no-backup", "--strict"]);
    strict.fails(
        1,
        &["differs from nself/schema.dbml", "--strict", "rolled back"],
    );
    assert_eq!(applied(&db), ["1", "2"]);
    std::fs::remove_file(p.path().join("nself/migrations/003_more.sql")).unwrap();

    // One drifted database, four commands, the same lines.
    let want = [
        "+ Table: comments (missing in local)",
        "~ Column: users.email (different type: text → character varying(255))",
        "- Index: idx_users_email (missing in nself/schema.dbml)",
    ];
    let mut want_sorted: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
    want_sorted.sort();
    let diff = nself(&p, &db, &["db", "schema", "diff"]);
    diff.ok();
    assert!(
        diff.stdout
            .starts_with("Schema Differences (nself/schema.dbml vs local)"),
        "{}",
        diff.stdout
    );
    let check = nself(
        &p,
        &db,
        &["db", "schema", "import", "nself/schema.dbml", "--check"],
    );
    assert_eq!(check.code, 1, "{}", check.all());
    let update = nself(&p, &db, &["db", "update", "--no-backup"]);
    update.ok();
    let status = nself(&p, &db, &["db", "status"]);
    status.ok();
    let mut lists = Vec::new();
    for (name, run) in [
        ("schema diff", &diff),
        ("import --check", &check),
        ("db update", &update),
        ("db status", &status),
    ] {
        let mut got = listed(&run.stdout);
        got.sort();
        assert_eq!(got, want_sorted, "{name}:\n{}", run.all());
        lists.push(listed(&run.stdout));
    }
    assert!(
        lists.windows(2).all(|w| w[0] == w[1]),
        "the same order everywhere: {lists:#?}"
    );
    // Hazards only for the direction that would run: narrowing email is listed by the two
    // commands that show a migration; none of them shows the hazards of the opposite
    // direction (dropping the comments table, widening back).
    for run in [&diff, &check] {
        assert!(
            run.stdout.contains("    ") && run.stdout.contains("users.email"),
            "{}",
            run.stdout
        );
        assert!(
            !run.stdout.contains("dropping table comments"),
            "{}",
            run.stdout
        );
    }
    for run in [&update, &status] {
        assert_eq!(
            run.stdout
                .lines()
                .filter(|l| l.starts_with("      "))
                .count(),
            0,
            "no hazard lines where nothing runs:\n{}",
            run.stdout
        );
    }
    // JSON: the same changes, the same signs.
    let doc = nself(&p, &db, &["db", "status", "--format", "json"]).json();
    assert_eq!(doc["schema_matches"], false, "{doc:#}");
    assert_eq!(doc["schema_differences"], 3, "{doc:#}");
    let signs: Vec<String> = doc["schema_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["sign"].as_str().unwrap(),
                c["object"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        signs,
        ["+ comments", "~ users.email", "- idx_users_email"],
        "{doc:#}"
    );
    let json = nself(&p, &db, &["db", "schema", "diff", "--format", "json"]).json();
    assert_eq!(json["desired"], "nself/schema.dbml", "{json:#}");
    assert_eq!(json["changed"], "local", "{json:#}");
    assert_eq!(json["changes"], doc["schema_changes"], "{json:#}");

    // A schema file with errors: not compared, a warning; --strict fails.
    p.write("nself/schema.dbml", "Table users {\n  id int [pk\n}\n");
    let broken = nself(&p, &db, &["db", "update", "--no-backup"]);
    broken.ok();
    assert!(
        broken
            .stdout
            .contains("Comparing with nself/schema.dbml... Not compared")
            && broken.stderr.contains("has errors"),
        "{}",
        broken.all()
    );
    nself(&p, &db, &["db", "update", "--no-backup", "--strict"])
        .fails(1, &["has errors", "--strict"]);

    // Integrity still fails the update, drift or not.
    p.write("nself/schema.dbml", EDITED).write(
        "nself/migrations/003_not_valid.sql",
        "-- UP\nALTER TABLE users ADD CONSTRAINT email_has_at CHECK (email LIKE '%@%') NOT VALID;\n",
    );
    nself(&p, &db, &["db", "update", "--no-backup"]).fails(1, &["NOT VALID", "email_has_at"]);
    assert_eq!(applied(&db), ["1", "2"]);
}

/// Six schemas' worth of variety: enums used across schemas, foreign keys across schemas, a
/// schema holding only the tracking table, an empty schema. (An array of an enum outside
/// `public` is left out: the reference writes `app.role[]` as the one identifier
/// `"app"."role[]"`, so its DDL cannot load it; see NOTES.md.)
const MULTI: &str = "
CREATE TYPE public.status AS ENUM ('active', 'closed');
CREATE SCHEMA app;
CREATE TYPE app.role AS ENUM ('admin', 'member');
CREATE SCHEMA billing;
CREATE TYPE billing.currency AS ENUM ('eur', 'usd');
CREATE SCHEMA audit;
CREATE SCHEMA empty;
CREATE SCHEMA meta;
CREATE TABLE meta.applied (version text PRIMARY KEY);
CREATE TABLE public.users (id int PRIMARY KEY, role app.role NOT NULL, status public.status);
CREATE TABLE app.accounts (
  id int PRIMARY KEY,
  owner_id int NOT NULL REFERENCES public.users (id) DEFERRABLE,
  states public.status[]
);
CREATE TABLE billing.invoices (
  id int PRIMARY KEY,
  account_id int NOT NULL REFERENCES app.accounts (id) DEFERRABLE,
  currency billing.currency NOT NULL,
  status public.status
);
CREATE TABLE audit.log (id bigint PRIMARY KEY, at timestamptz NOT NULL, what text);
";

#[test]
fn export_reads_every_user_schema_and_a_narrowed_export_stands_alone() {
    let db = fresh_database();
    db.client().batch_execute(MULTI).unwrap();
    let p = Project::new();
    p.write("nself/migrations/.keep", "");
    let url = db.params.to_url_with_password();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("NSELF_MIGRATIONS_TABLE", "meta.applied"),
    ];

    // The README's example: every schema that holds tables or enums.
    let export = p.run(
        &["db", "schema", "export", "--output", "nself/schema.dbml"],
        &env,
    );
    export.ok();
    assert!(export.stderr.is_empty(), "{}", export.stderr);
    let dbml = std::fs::read_to_string(p.path().join("nself/schema.dbml")).unwrap();
    for needle in [
        "Enum app.role",
        "Enum billing.currency",
        "Enum status",
        "Table users",
        "Table app.accounts",
        "Table billing.invoices",
        "Table audit.log",
    ] {
        assert!(dbml.contains(needle), "missing {needle:?}:\n{dbml}");
    }
    assert!(
        !dbml.contains("meta") && !dbml.contains("empty") && !dbml.contains("//"),
        "{dbml}"
    );
    let check = p.run(&["db", "schema", "check", "nself/schema.dbml"], &[]);
    check.ok();
    assert!(check.stderr.is_empty(), "no warnings: {}", check.stderr);
    let again = p.run(
        &["db", "schema", "import", "nself/schema.dbml", "--check"],
        &env,
    );
    again.ok();
    assert!(again.stdout.contains("No changes"), "{}", again.all());
    // The reference implementation's DDL of it builds the same database.
    let ddl = oracle::oracle_sql(&p.path().join("nself/schema.dbml")).unwrap();
    let rebuilt = fresh_database();
    rebuilt.client().batch_execute(&ddl).unwrap();
    let schemas = ["public", "app", "audit", "billing"];
    oracle::assert_same(
        &oracle::introspect(&rebuilt, &schemas),
        &oracle::introspect(&db, &schemas),
        "the reference's DDL of the export",
    );

    // --schemas narrows; what the narrowed file uses from elsewhere: enums included (with a
    // note), the foreign key to app.accounts left out (with a warning naming the flag).
    let narrow = p.run(
        &[
            "db",
            "schema",
            "export",
            "--schemas",
            "billing",
            "--output",
            "billing.dbml",
        ],
        &env,
    );
    narrow.ok();
    assert!(
        narrow
            .stderr
            .contains("enum status is included because billing.invoices.status"),
        "{}",
        narrow.stderr
    );
    assert!(
        narrow.stderr.contains("references app.accounts")
            && narrow.stderr.contains("--schemas billing,app"),
        "{}",
        narrow.stderr
    );
    let text = std::fs::read_to_string(p.path().join("billing.dbml")).unwrap();
    assert!(
        text.contains("Table billing.invoices")
            && text.contains("Enum billing.currency")
            && text.contains("Enum status")
            && !text.contains("Table users")
            && !text.contains("Table app.accounts"),
        "{text}"
    );
    let check = p.run(&["db", "schema", "check", "billing.dbml"], &[]);
    check.ok();
    assert!(check.stderr.is_empty(), "no warnings: {}", check.stderr);
    let ddl = oracle::oracle_sql(&p.path().join("billing.dbml")).unwrap();
    fresh_database().client().batch_execute(&ddl).unwrap();
    // The SQL form of the narrowed export runs on an empty database.
    let sql = p.run(
        &[
            "db",
            "schema",
            "export",
            "--schemas",
            "billing",
            "--format",
            "sql",
        ],
        &env,
    );
    sql.ok();
    assert!(
        sql.stdout.contains("CREATE TYPE public.status"),
        "{}",
        sql.stdout
    );
    fresh_database()
        .client()
        .batch_execute(&sql.stdout)
        .unwrap();
    // A narrowing that needs nothing from elsewhere says nothing.
    let audit = p.run(&["db", "schema", "export", "--schemas", "audit"], &env);
    audit.ok();
    assert!(audit.stderr.is_empty(), "{}", audit.stderr);
    assert!(
        audit.stdout.contains("Table audit.log") && !audit.stdout.contains("Table users"),
        "{}",
        audit.stdout
    );
}

/// The README's `import --check` example, run as printed: the database holds the guide's users
/// table and a hand-written index, schema.dbml the teammate's edit. Every line of the README's
/// block is in the output in order (`…` stands for the rest of a line).
#[test]
fn the_readme_import_check_example_runs_as_printed() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let command = "$ nself db schema import nself/schema.dbml --check\n";
    let block: Vec<&str> = readme
        .split("```text\n")
        .find_map(|b| b.strip_prefix(command))
        .expect("the README has the import --check example")
        .split("```")
        .next()
        .unwrap_or_default()
        .lines()
        .collect();
    assert!(block.len() >= 4, "{block:?}");

    let db = fresh_database();
    db.client()
        .batch_execute(
            "CREATE TABLE public.users (id int PRIMARY KEY, email text);
             CREATE INDEX idx_users_email ON public.users (email);",
        )
        .unwrap();
    let p = Project::new();
    p.write("nself/schema.dbml", EDITED)
        .write("nself/migrations/.keep", "");
    let r = nself(
        &p,
        &db,
        &["db", "schema", "import", "nself/schema.dbml", "--check"],
    );
    assert_eq!(r.code, 1, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    let out = format!("{}{}", r.stdout, r.stderr);
    let mut lines = out.lines();
    for want in &block {
        let (prefix, open) = match want.strip_suffix('…') {
            Some(p) => (p, true),
            None => (*want, false),
        };
        assert!(
            lines.any(|l| if open {
                l.starts_with(prefix)
            } else {
                l == prefix
            }),
            "README line {want:?} not in the output (in order):\n{out}"
        );
    }
}
