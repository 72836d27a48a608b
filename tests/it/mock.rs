//! Issue 14, `nself db mock`: every table gets rows the server accepts, the same seed gives the
//! same table contents in another database, `--clear` gives the database back exactly as it
//! was (seeds and later rows stay), and the hard shapes: adversarial names, composite keys and
//! foreign keys, a self-reference, a NOT NULL cycle, checks, many types, the environment rules.
//! The real binary against real PostgreSQL; the schemas are built with the reference's DDL or
//! the project's own migrations.

use super::oracle::{generated_dbml, oracle_sql};
use super::support::{Project, Run};
use nself::local::testing::{fresh_database, TestDatabase};
use std::collections::BTreeMap;

fn mock(p: &Project, db: &TestDatabase, args: &[&str]) -> Run {
    let u = db.params.to_url_with_password();
    let mut all = vec!["db", "mock"];
    all.extend_from_slice(args);
    p.run(&all, &[("DATABASE_URL", &u)])
}

/// Each table's row count and an ordered checksum of its rows (their text, in the "C" order).
fn contents(db: &TestDatabase) -> BTreeMap<String, (i64, String)> {
    let mut c = db.client();
    let tables: Vec<(String, String)> = c
        .query(
            "SELECT n.nspname::text, r.relname::text FROM pg_class r \
             JOIN pg_namespace n ON n.oid = r.relnamespace \
             WHERE r.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg_toast%' AND r.relname <> 'schema_migrations'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut out = BTreeMap::new();
    for (s, t) in tables {
        let q = format!(
            "{}.{}",
            nself::sql::quote_ident(&s),
            nself::sql::quote_ident(&t)
        );
        let row = c
            .query_one(
                &format!(
                    "SELECT count(*), coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text COLLATE \"C\")), '') FROM {q} x"
                ),
                &[],
            )
            .unwrap();
        out.insert(format!("{s}.{t}"), (row.get(0), row.get(1)));
    }
    out
}

/// Everything `pg_dump` writes of the database (schema, data, sequence values), without the
/// lines that name it.
fn dump(db: &TestDatabase) -> String {
    let p = &db.params;
    let mut cmd = std::process::Command::new("pg_dump");
    cmd.args(["--no-owner", "--no-privileges", "--inserts"])
        .args(["-h", &p.host, "-p", &p.port.to_string(), "-U", &p.user])
        .arg(&db.name);
    if let Some(pw) = p.password() {
        cmd.env("PGPASSWORD", pw);
    }
    let o = cmd
        .output()
        .expect("pg_dump runs (apt-get install postgresql-client)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| {
            !l.starts_with("-- Dumped")
                && !l.starts_with("\\restrict")
                && !l.starts_with("\\unrestrict")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A database built from DBML with the reference implementation's DDL.
fn from_dbml(p: &Project, dbml: &str) -> (TestDatabase, String) {
    p.write("schema.dbml", dbml);
    let sql = oracle_sql(&p.path().join("schema.dbml")).unwrap();
    let db = fresh_database();
    db.client().batch_execute(&sql).unwrap();
    (db, sql)
}

fn with_sql(sql: &str) -> TestDatabase {
    let db = fresh_database();
    db.client()
        .batch_execute(sql)
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
    db
}

/// The guide's users/posts schema: its DBML example, as printed in the guide.
fn guide_dbml() -> String {
    let guide = std::fs::read_to_string(
        super::oracle::shared().join("reference/database-workflow-guide.txt"),
    )
    .unwrap();
    let start = guide
        .find("Table users {")
        .expect("the guide's DBML example");
    let end = guide[start..].find("Visual Schema Design").unwrap() + start;
    guide[start..end].to_owned()
}

#[test]
fn the_guides_schema_gets_the_counts_asked_for_and_the_same_seed_gives_the_same_rows() {
    let p = Project::new();
    let dbml = guide_dbml();
    let (a, sql) = from_dbml(&p, &dbml);
    let b = with_sql(&sql);
    let c = with_sql(&sql);
    mock(
        &p,
        &a,
        &["--users", "100", "--posts", "500", "--seed", "12345"],
    )
    .ok();
    mock(
        &p,
        &b,
        &["--seed", "12345", "--users", "100", "--posts=500"],
    )
    .ok();
    mock(
        &p,
        &c,
        &["--users", "100", "--posts", "500", "--seed", "54321"],
    )
    .ok();
    let (ca, cb, cc) = (contents(&a), contents(&b), contents(&c));
    assert_eq!(ca["public.users"].0, 100);
    assert_eq!(ca["public.posts"].0, 500);
    assert_eq!(ca, cb, "the same seed gave different rows");
    assert_ne!(ca["public.users"].1, cc["public.users"].1);
    assert_ne!(ca["public.posts"].1, cc["public.posts"].1);
    // Realistic and consistent values: emails of the row's person, posts after their author.
    let mut client = a.client();
    let bad: i64 = client
        .query_one(
            "SELECT count(*) FROM users WHERE email NOT LIKE '%@example.%' \
             OR (display_name IS NOT NULL AND lower(split_part(display_name, ' ', 1)) <> \
                 split_part(email, '.', 1) AND display_name ~ '^[A-Za-z]+ [A-Za-z]+$') \
             OR updated_at < created_at",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(bad, 0, "emails, names or times are inconsistent");
    let authors: i64 = client
        .query_one("SELECT count(DISTINCT user_id) FROM posts", &[])
        .unwrap()
        .get(0);
    assert!(authors > 50, "posts spread over {authors} of 100 users");
}

#[test]
fn the_example_project_fills_and_clears_back_to_the_byte_with_seeds_before_and_rows_after() {
    let p = Project::new();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("nself");
    copy_dir(&example, &p.path().join("nself"));
    let db = fresh_database();
    let u = db.params.to_url_with_password();
    let env = [("DATABASE_URL", u.as_str())];
    p.run(&["db", "migrate", "up"], &env).ok();
    p.run(&["db", "seed"], &env).ok();
    let before = dump(&db);
    let seeded = contents(&db);
    assert!(
        seeded.values().any(|(n, _)| *n > 0),
        "the example's seeds put rows in"
    );
    let run = mock(
        &p,
        &db,
        &[
            "--seed",
            "7",
            "--users",
            "40",
            "--posts",
            "80",
            "--comments",
            "300",
        ],
    );
    run.ok();
    let after = contents(&db);
    for (table, (n, _)) in &after {
        assert!(*n > seeded[table].0, "{table} got no rows:\n{}", run.all());
    }
    // The self-reference of comments points at earlier comments.
    let replies: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM comments WHERE parent_id IS NOT NULL",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(replies > 100, "{replies} replies");
    // A row added after mock that references nothing of mock stays; one that references a
    // mock row makes --clear refuse and change nothing.
    let mut c = db.client();
    c.batch_execute("INSERT INTO users (email, password_hash) VALUES ('later@example.test', 'x')")
        .unwrap();
    c.batch_execute(
        "INSERT INTO posts (user_id, title, slug) SELECT id, 'Mine', 'mine' FROM users \
         WHERE email ~ '[0-9]@example[.](com|org|net)$' ORDER BY email LIMIT 1",
    )
    .unwrap();
    let held = contents(&db);
    mock(&p, &db, &["--clear"]).fails(1, &["reference mock rows", "nothing was cleared"]);
    assert_eq!(contents(&db), held, "a refused --clear changed rows");
    c.batch_execute("DELETE FROM posts WHERE slug = 'mine'")
        .unwrap();
    let cleared = mock(&p, &db, &["--clear"]);
    cleared.ok();
    assert!(cleared.stdout.contains("users"), "{}", cleared.stdout);
    c.batch_execute("DELETE FROM users WHERE email = 'later@example.test'")
        .unwrap();
    assert_eq!(
        similar::TextDiff::from_lines(&before, &dump(&db))
            .unified_diff()
            .to_string(),
        "",
        "--clear did not give the database back as it was"
    );
    let again = mock(&p, &db, &["--clear"]);
    assert!(
        again.ok().stdout.contains("nothing to clear"),
        "{}",
        again.stdout
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn a_generated_200_table_schema_fills_every_table_reproducibly() {
    let p = Project::new();
    let dbml = generated_dbml(200, 5);
    let (a, sql) = from_dbml(&p, &dbml);
    let b = with_sql(&sql);
    let c = with_sql(&sql);
    let schemas =
        super::oracle::schemas_of(&super::oracle::compile("gen.dbml", &dbml).schema).join(",");
    let s = schemas.as_str();
    mock(&p, &a, &["--rows", "15", "--seed", "99", "--schemas", s]).ok();
    mock(&p, &b, &["--schemas", s, "--rows", "15", "--seed", "99"]).ok();
    mock(&p, &c, &["--rows", "15", "--seed", "100", "--schemas", s]).ok();
    let (ca, cb, cc) = (contents(&a), contents(&b), contents(&c));
    assert!(ca.len() >= 200, "{} tables", ca.len());
    let empty: Vec<&String> = ca
        .iter()
        .filter(|(_, (n, _))| *n == 0)
        .map(|(t, _)| t)
        .collect();
    assert!(empty.is_empty(), "tables without rows: {empty:?}");
    assert_eq!(ca, cb, "the same seed gave different rows");
    let same = ca.iter().filter(|(t, v)| cc[*t] == **v).count();
    assert!(
        same < ca.len() / 10,
        "{same} tables identical with another seed"
    );
}

const HARD: &str = r#"
CREATE TYPE "Mood" AS ENUM ('it''s fine', 'a"b', 'Ω', 'select');
CREATE TABLE "Order Items" (
  "Order" int NOT NULL,
  "select" int NOT NULL,
  "Ünïcødé" text NOT NULL,
  "mood" "Mood" NOT NULL,
  PRIMARY KEY ("Order", "select")
);
CREATE TABLE "user" (
  id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  "group" varchar(3) NOT NULL UNIQUE,
  manager int REFERENCES "user" (id)
);
CREATE TABLE shipment (
  id bigserial PRIMARY KEY,
  order_no int NOT NULL,
  line int NOT NULL,
  FOREIGN KEY (order_no, line) REFERENCES "Order Items" ("Order", "select"),
  UNIQUE (order_no, line)
);
CREATE TABLE tag (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE item_tag (
  item_order int NOT NULL, item_line int NOT NULL, tag_id int NOT NULL REFERENCES tag,
  PRIMARY KEY (item_order, item_line, tag_id),
  FOREIGN KEY (item_order, item_line) REFERENCES "Order Items" ("Order", "select")
);
"#;

#[test]
fn adversarial_names_composite_keys_and_a_self_reference() {
    let db = with_sql(HARD);
    let p = Project::new();
    let run = mock(
        &p,
        &db,
        &[
            "--seed",
            "3",
            "--rows",
            "30",
            "--Order Items",
            "40",
            "--shipment",
            "50",
        ],
    );
    run.ok();
    let c = contents(&db);
    assert_eq!(c["public.Order Items"].0, 40);
    // One shipment per order line at most: the unique foreign key uses each parent once.
    assert_eq!(c["public.shipment"].0, 40, "{}", run.all());
    assert!(run.stdout.contains("asked for 50"), "{}", run.stdout);
    assert_eq!(c["public.user"].0, 30);
    assert!(c["public.item_tag"].0 > 0);
    let mut client = db.client();
    let moods: i64 = client
        .query_one("SELECT count(DISTINCT mood) FROM \"Order Items\"", &[])
        .unwrap()
        .get(0);
    assert_eq!(moods, 4);
    let managed: i64 = client
        .query_one(
            "SELECT count(*) FROM \"user\" WHERE manager IS NOT NULL",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(managed > 10, "{managed} users have a manager");
    let cyclic: i64 = client
        .query_one("SELECT count(*) FROM \"user\" WHERE manager >= id", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        cyclic, 0,
        "a manager is an earlier user (a forest, no cycle)"
    );
    let codes: i64 = client
        .query_one(
            "SELECT count(*) FROM \"user\" WHERE length(\"group\") > 3",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(codes, 0);
    // Clear takes everything out again, sequences included.
    let dump_before = {
        let fresh = with_sql(HARD);
        dump(&fresh).replace(&fresh.name, "DB")
    };
    mock(&p, &db, &["--clear"]).ok();
    assert_eq!(dump(&db).replace(&db.name, "DB"), dump_before);
}

#[test]
fn a_not_null_cycle_is_reported_by_name_and_nothing_is_inserted() {
    let db = with_sql(
        "CREATE TABLE a (id int PRIMARY KEY, b_id int NOT NULL);
         CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES a);
         ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b;
         CREATE TABLE other (id int PRIMARY KEY);",
    );
    let p = Project::new();
    mock(&p, &db, &[]).fails(1, &["cycle", "a_b", "b_a_id_fkey", "--a 0"]);
    assert!(contents(&db).values().all(|(n, _)| *n == 0));
    // Giving one of them no rows breaks the cycle (the other then needs parents: refused too).
    mock(&p, &db, &["--a", "0"]).fails(1, &["needs rows in a"]);
    mock(&p, &db, &["--a", "0", "--b", "0"]).ok();
    assert_eq!(contents(&db)["public.other"].0, 20);
}

#[test]
fn checks_types_and_domains_are_satisfied() {
    let db = with_sql(
        "CREATE DOMAIN positive AS int CHECK (VALUE > 0);
         CREATE TABLE t (
           id uuid PRIMARY KEY,
           price numeric(6,2) NOT NULL CHECK (price > 0 AND price < 1000),
           status text NOT NULL CHECK (status IN ('new', 'paid', 'sent')),
           code varchar(5) NOT NULL CHECK (length(code) = 5),
           qty int NOT NULL CHECK (qty BETWEEN 1 AND 10),
           starts_on date NOT NULL, ends_on date NOT NULL,
           weight positive NOT NULL,
           CHECK (starts_on < ends_on),
           c char(2) NOT NULL, tags text[] NOT NULL, data jsonb NOT NULL, doc json NOT NULL,
           ip inet NOT NULL, net cidr NOT NULL, mac macaddr NOT NULL, t time NOT NULL,
           tz timetz NOT NULL, ts timestamp(3) NOT NULL, tstz timestamptz NOT NULL,
           span interval NOT NULL, raw bytea NOT NULL, ok boolean NOT NULL, cash money NOT NULL,
           flags bit(4) NOT NULL, vflags varbit(8) NOT NULL, r int4range NOT NULL,
           tr tstzrange NOT NULL, small smallint NOT NULL, big bigint NOT NULL,
           f real NOT NULL, d double precision NOT NULL, x xml NOT NULL,
           gen int GENERATED ALWAYS AS (qty * 2) STORED
         );",
    );
    let p = Project::new();
    let run = mock(&p, &db, &["--t", "300", "--seed", "1", "--format", "json"]);
    run.ok();
    let report = run.json();
    assert_eq!(report["rows"], 300, "{report:#}");
    assert!(
        report["tables"][0]["regenerated"].as_u64().unwrap() > 0,
        "the check mock cannot read (starts_on < ends_on) made rows again: {report:#}"
    );
    assert_eq!(contents(&db)["public.t"].0, 300);
}

#[test]
fn dry_run_and_mistakes_change_nothing() {
    let p = Project::new();
    let (db, _) = from_dbml(&p, &guide_dbml());
    let before = dump(&db);
    let run = mock(&p, &db, &["--dry-run", "--users", "5", "--seed", "4"]);
    run.ok();
    for needle in [
        "users: 5 rows",
        "posts: 20 rows",
        "email addresses",
        "public.users.id",
    ] {
        assert!(
            run.stdout.contains(needle),
            "{needle:?} not in\n{}",
            run.stdout
        );
    }
    let json = mock(&p, &db, &["--dry-run", "--format", "json", "--posts", "0"]).json();
    assert_eq!(json["tables"][0]["table"], "users");
    assert_eq!(json["skipped"][0]["table"], "posts");
    mock(&p, &db, &["--usres", "5"]).fails(2, &["no table `usres`", "--users"]);
    mock(&p, &db, &["--users", "lots"]).fails(2, &["--users"]);
    let u = db.params.to_url_with_password();
    for env in ["staging", "production"] {
        p.run(&["db", "mock"], &[("DATABASE_URL", &u), ("NSELF_ENV", env)])
            .fails(1, &["blocked"]);
    }
    assert_eq!(dump(&db), before);
    assert!(!p.path().join(".nself/mock.json").exists());
}

#[test]
fn a_failed_run_leaves_the_database_as_it_was_sequences_included() {
    let db = with_sql(
        "CREATE TABLE ok (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text NOT NULL);
         CREATE TABLE never (id bigserial PRIMARY KEY, ok_id int NOT NULL REFERENCES ok,
                             x int NOT NULL CHECK (x % 7 = 3 AND x % 11 = 5 AND x % 13 = 2));",
    );
    let p = Project::new();
    let before = dump(&db);
    mock(&p, &db, &["--seed", "1"]).fails(1, &["never", "never_x_check", "Nothing was inserted"]);
    assert_eq!(dump(&db), before, "the failed run left something behind");
}
