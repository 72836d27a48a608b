//! Backups, restores and `db update` through the real binary on real throwaway databases:
//! round trips (every common column type, 100k rows; schema only; some tables), damaged files
//! refused before the database is touched, a restore failing halfway leaving the database as it
//! was, `--clean`, and an update whose second migration fails.

use super::support::{Project, Run};
use nself::local::testing::{fresh_database, TestDatabase};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

fn nself(p: &Project, db: &TestDatabase, args: &[&str]) -> Run {
    let u = db.params.to_url_with_password();
    p.run(args, &[("DATABASE_URL", &u)])
}

/// A table of every common column type, 100k rows, plus a second table and an enum.
const SCHEMA: &str = r#"
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'it''s "fine"');
CREATE TABLE everything (
  id bigserial PRIMARY KEY,
  i2 smallint, i4 integer, i8 bigint, n numeric(12,4), r real, d double precision,
  b boolean, t text, vc varchar(40), ch char(3), by bytea,
  dt date, tm time, ts timestamp, tz timestamptz, iv interval,
  u uuid, j json, jb jsonb, ia integer[], ta text[], ip inet, m mood, x xml
);
INSERT INTO everything (i2, i4, i8, n, r, d, b, t, vc, ch, by, dt, tm, ts, tz, iv, u, j, jb, ia, ta, ip, m, x)
SELECT (g % 30000)::smallint, g, g::bigint * 1000003, g / 7.0, g / 3.0, g / 11.0, g % 2 = 0,
       'row ' || g || E' tab\there, newline\n, quote '' "dq" \\ back', left(md5(g::text), 40),
       'abc', decode(md5(g::text), 'hex'), date '2000-01-01' + g % 9000, time '00:00' + g * interval '1 second',
       timestamp '2020-01-01' + g * interval '1 minute', timestamptz '2020-01-01 00:00+02' + g * interval '1 second',
       g * interval '1 hour', md5(g::text)::uuid, json_build_object('g', g), jsonb_build_object('k', g, 'a', ARRAY[g, g+1]),
       ARRAY[g, g * 2], ARRAY['a' || g, NULL], ('10.0.' || (g % 256) || '.1')::inet,
       (ARRAY['sad', 'ok', 'happy', 'it''s "fine"'])[1 + g % 4]::mood, ('<r>' || g || '</r>')::xml
  FROM generate_series(1, 100000) g;
UPDATE everything SET t = NULL, u = NULL WHERE id % 97 = 0;
CREATE TABLE other (id int PRIMARY KEY, everything_id bigint REFERENCES everything(id), note text);
INSERT INTO other SELECT g, g, 'note ' || g FROM generate_series(1, 1000) g;
CREATE INDEX other_note ON other (note);
"#;

/// A checksum of each table's rows, and a fingerprint of the schema.
fn checksums(db: &TestDatabase) -> Vec<(String, i64, Option<String>)> {
    let mut c = db.client();
    let tables: Vec<String> = c
        .query(
            "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace \
              AND relkind = 'r' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    tables
        .into_iter()
        .map(|t| {
            let row = c
                .query_one(
                    &format!(
                        "SELECT count(*), md5(string_agg(x::text, ',' ORDER BY x::text)) FROM {t} x"
                    ),
                    &[],
                )
                .unwrap();
            (t, row.get(0), row.get(1))
        })
        .collect()
}

fn schema_fingerprint(db: &TestDatabase) -> Vec<String> {
    db.client()
        .query(
            "SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) \
                    || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END \
                    || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') \
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
              WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped \
             UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
              WHERE connamespace = 'public'::regnamespace \
             UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' \
             ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn drop_everything(db: &TestDatabase) {
    db.client()
        .batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        .unwrap();
}

/// The one backup in the project's backups folder.
fn only_backup(p: &Project) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(p.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".meta.json"))
        // The folder's own `.gitignore`, written when nself created it.
        .filter(|p| !p.ends_with(".gitignore"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.pop().unwrap()
}

#[test]
fn backup_round_trip_every_type_100k_rows() {
    let db = fresh_database();
    db.client().batch_execute(SCHEMA).unwrap();
    let before = checksums(&db);
    let schema_before = schema_fingerprint(&db);
    assert_eq!(
        before.iter().find(|t| t.0 == "everything").unwrap().1,
        100_000
    );
    let p = Project::new();
    let run = nself(&p, &db, &["db", "backup"]);
    run.ok();
    assert!(
        run.stdout
            .starts_with("Creating backup...\nBackup created: backups/"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Size: "), "{}", run.stdout);
    let file = only_backup(&p);
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.ends_with(&format!("_{}.sql.gz", db.name)), "{name}");
    // YYYY-MM-DD_HHMMSS_
    assert_eq!(&name[4..5], "-");
    assert_eq!(&name[10..11], "_");
    // Private files and folder; gzip content; metadata with the checksum.
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&p.path().join("backups")), 0o700);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}.meta.json", file.display())).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["size"], bytes.len() as u64);
    assert_eq!(meta["database"], db.name.as_str());
    assert_eq!(meta["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(
        mode(&PathBuf::from(format!("{}.meta.json", file.display()))),
        0o600
    );
    // No password anywhere in the files.
    let url = db.params.to_url_with_password();
    assert!(!run.all().contains(&url));

    let list = nself(&p, &db, &["db", "backup", "list", "--format", "json"]);
    list.ok();
    assert_eq!(list.json()[0]["name"], name.as_str());

    drop_everything(&db);
    assert!(checksums(&db).is_empty());
    nself(&p, &db, &["db", "restore"]).ok();
    assert_eq!(checksums(&db), before);
    assert_eq!(schema_fingerprint(&db), schema_before);

    // --clean over the restored database gives the same again.
    db.client()
        .batch_execute("DELETE FROM other WHERE id < 10")
        .unwrap();
    nself(&p, &db, &["db", "restore", "--clean"]).ok();
    assert_eq!(checksums(&db), before);
}

/// Three small tables, b referencing a.
const ABC: &str =
    "CREATE TABLE a (id int PRIMARY KEY, v text); CREATE TABLE b (id int REFERENCES a, w text);
     CREATE TABLE c (x int); INSERT INTO a SELECT g, 'v' || g FROM generate_series(1, 500) g;
     INSERT INTO b SELECT g, 'w' FROM generate_series(1, 500) g; INSERT INTO c VALUES (1);";

#[test]
fn schema_only_tables_and_plain_backups() {
    let db = fresh_database();
    db.client().batch_execute(ABC).unwrap();
    let before = checksums(&db);
    let schema_before = schema_fingerprint(&db);
    let p = Project::new();

    nself(
        &p,
        &db,
        &["db", "backup", "--schema-only", "--output", "s.sql.gz"],
    )
    .ok();
    drop_everything(&db);
    nself(&p, &db, &["db", "restore", "s.sql.gz"]).ok();
    assert_eq!(schema_fingerprint(&db), schema_before);
    assert!(
        checksums(&db).iter().all(|t| t.1 == 0),
        "{:?}",
        checksums(&db)
    );

    drop_everything(&db);
    db.client().batch_execute(ABC).unwrap();
    // Only a and b, plain SQL (issue 11: the --output name decides the format, so plain SQL
    // is named .sql).
    nself(
        &p,
        &db,
        &[
            "db",
            "backup",
            "--tables",
            "a,b",
            "--no-compress",
            "--output",
            "ab.sql",
        ],
    )
    .ok();
    assert_ne!(
        &std::fs::read(p.path().join("ab.sql")).unwrap()[..2],
        &[0x1f, 0x8b]
    );
    drop_everything(&db);
    nself(&p, &db, &["db", "restore", "ab.sql"]).ok();
    let after = checksums(&db);
    assert_eq!(after.len(), 2);
    assert_eq!(after[..], before[..2]);

    // --exclude leaves c out.
    nself(
        &p,
        &db,
        &["db", "backup", "--exclude", "b", "--output", "nob.sql"],
    )
    .ok();
    // A `.sql` name is plain SQL (issue 11).
    let text = std::fs::read_to_string(p.path().join("nob.sql")).unwrap();
    assert!(text.contains("CREATE TABLE public.a"));
    assert!(!text.contains("CREATE TABLE public.b"));
}

#[test]
fn damaged_backups_are_refused_before_touching_the_database() {
    let db = fresh_database();
    db.client()
        .batch_execute("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 20000);")
        .unwrap();
    let p = Project::new();
    nself(&p, &db, &["db", "backup"]).ok();
    let file = only_backup(&p);
    let good = std::fs::read(&file).unwrap();
    db.client()
        .batch_execute("INSERT INTO t VALUES (-1)")
        .unwrap();
    let before = checksums(&db);

    // Truncated.
    std::fs::write(&file, &good[..good.len() / 2]).unwrap();
    nself(&p, &db, &["db", "restore", "--clean"])
        .fails(1, &["damaged or incomplete", "metadata says"]);
    assert_eq!(checksums(&db), before);
    // Same size, one byte changed.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    std::fs::write(&file, &bad).unwrap();
    nself(&p, &db, &["db", "restore", "--clean"]).fails(1, &["SHA-256"]);
    assert_eq!(checksums(&db), before);
    // Without metadata: a truncated gzip file is still caught.
    std::fs::remove_file(format!("{}.meta.json", file.display())).unwrap();
    // (Issue 11: a file without metadata is restored only when named.)
    let named = file.to_str().unwrap();
    std::fs::write(&file, &good[..good.len() - 20]).unwrap();
    nself(&p, &db, &["db", "restore", "--clean", named]).fails(1, &["damaged or incomplete"]);
    assert_eq!(checksums(&db), before);
    // The intact file without metadata restores.
    std::fs::write(&file, &good).unwrap();
    nself(&p, &db, &["db", "restore", "--clean", named]).ok();
    assert_ne!(checksums(&db), before);
}

#[test]
fn a_restore_failing_halfway_changes_nothing() {
    let source = fresh_database();
    source
        .client()
        .batch_execute(
            "CREATE TABLE aaa (id int); INSERT INTO aaa SELECT generate_series(1, 1000);
             CREATE TABLE zzz (id int PRIMARY KEY); INSERT INTO zzz SELECT generate_series(1, 1000);",
        )
        .unwrap();
    let p = Project::new();
    nself(&p, &source, &["db", "backup", "--output", "other.sql.gz"]).ok();
    // The target has a conflicting zzz (created late in the dump, after aaa was loaded).
    let target = fresh_database();
    target
        .client()
        .batch_execute("CREATE TABLE zzz (other text); INSERT INTO zzz VALUES ('keep me');")
        .unwrap();
    let before = checksums(&target);
    let schema_before = schema_fingerprint(&target);
    // Issue 11: a restore into a database with objects in its managed schemas is refused
    // before psql starts; with `public` not managed (`--schemas elsewhere`) the conflict is
    // met by psql halfway through, which is what this test is about.
    let run = nself(
        &p,
        &target,
        &["db", "restore", "other.sql.gz", "--schemas", "elsewhere"],
    );
    run.fails(
        1,
        &["rolled the whole restore back", "already exists", "--clean"],
    );
    assert_eq!(checksums(&target), before);
    assert_eq!(schema_fingerprint(&target), schema_before);
    // --dry-run says what --clean would drop and changes nothing.
    let dry = nself(
        &p,
        &target,
        &["db", "restore", "other.sql.gz", "--clean", "--dry-run"],
    );
    dry.ok();
    assert!(
        dry.stdout.contains("DROP TABLE public.zzz"),
        "{}",
        dry.stdout
    );
    assert!(dry.stdout.contains(&target.name), "{}", dry.stdout);
    assert_eq!(checksums(&target), before);
}

#[test]
fn production_restore_needs_the_phrase() {
    let db = fresh_database();
    db.client()
        .batch_execute("CREATE TABLE t (id int)")
        .unwrap();
    let p = Project::new();
    nself(&p, &db, &["db", "backup"]).ok();
    let u = db.params.to_url_with_password();
    let env = [("DATABASE_URL", u.as_str()), ("NSELF_ENV", "production")];
    // The backup was made in local: other environments restore it only when it is named
    // (issue 11).
    let file = only_backup(&p);
    let file = file.to_str().unwrap();
    p.run(&["db", "restore", "--clean", file], &env)
        .fails(1, &["yes-restore-production"]);
    p.run(&["db", "restore", "--clean", "--yes", file], &env)
        .fails(1, &["yes-restore-production"]);
    p.run(
        &[
            "db",
            "restore",
            "--clean",
            "--confirm",
            "yes-restore-production",
            file,
        ],
        &env,
    )
    .ok();
    let staging = [("DATABASE_URL", u.as_str()), ("NSELF_ENV", "staging")];
    p.run(&["db", "restore", "--clean", file], &staging)
        .fails(1, &["--yes"]);
    p.run(&["db", "restore", "--clean", "--yes", file], &staging)
        .ok();
    // Backups run everywhere.
    p.run(&["db", "backup", "--name", "prod"], &env).ok();
}

fn update_project() -> Project {
    let p = Project::new();
    p.write(
        "nself/migrations/001_create_users.sql",
        "-- UP\nCREATE TABLE users (id int PRIMARY KEY, email text);\n-- DOWN\nDROP TABLE users;\n",
    );
    p
}

#[test]
fn update_applies_all_in_one_transaction_and_rolls_back_on_failure() {
    let db = fresh_database();
    let p = update_project();
    let run = nself(&p, &db, &["db", "update"]);
    run.ok();
    assert!(
        run.stdout.starts_with("Database Update\n────"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Checking migrations... 1 pending"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Creating backup... Done ("),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Applying 001_create_users... Done"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Verifying integrity... Passed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Update complete! 1 migration applied."),
        "{}",
        run.stdout
    );
    db.client()
        .batch_execute("INSERT INTO users VALUES (1, 'a@b'), (2, 'c@d')")
        .unwrap();

    // Two pending; the second fails.
    p.write(
        "nself/migrations/002_add_name.sql",
        "-- UP\nALTER TABLE users ADD COLUMN name text;\nUPDATE users SET name = 'x';\n-- DOWN\nALTER TABLE users DROP COLUMN name;\n",
    );
    p.write(
        "nself/migrations/003_broken.sql",
        "-- UP\nCREATE TABLE posts (id int);\nALTER TABLE nope ADD COLUMN z int;\n-- DOWN\nDROP TABLE posts;\n",
    );
    let before = checksums(&db);
    let schema_before = schema_fingerprint(&db);
    let run = nself(&p, &db, &["db", "update"]);
    run.fails(
        1,
        &[
            "003_broken",
            "nope",
            "rolled back",
            // Issue 11: a restore into a database that has its schema needs --clean.
            "nself db restore --clean backups/",
        ],
    );
    assert!(
        run.stdout.contains("Checking migrations... 2 pending"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Applying 002_add_name... Done"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Applying 003_broken... Failed"),
        "{}",
        run.stdout
    );
    assert_eq!(checksums(&db), before);
    assert_eq!(schema_fingerprint(&db), schema_before);
    // The restore command names a backup that exists and passes its check.
    let restore_line = run
        .stderr
        .lines()
        .find(|l| l.contains("nself db restore "))
        .unwrap();
    let path = restore_line.rsplit(' ').next().unwrap().trim();
    assert!(p.path().join(path).is_file(), "{path}");
    nself(&p, &db, &["db", "restore", path, "--dry-run"]).ok();

    // A NOT VALID constraint fails the integrity check; nothing is kept.
    p.write(
        "nself/migrations/003_broken.sql",
        "-- UP\nALTER TABLE users ADD CONSTRAINT email_has_at CHECK (email LIKE '%@%') NOT VALID;\n",
    );
    nself(&p, &db, &["db", "update", "--no-backup"]).fails(1, &["NOT VALID", "email_has_at"]);
    assert_eq!(schema_fingerprint(&db), schema_before);

    // --no-backup is local only.
    let u = db.params.to_url_with_password();
    p.run(
        &["db", "update", "--no-backup", "--yes"],
        &[("DATABASE_URL", &u), ("NSELF_ENV", "staging")],
    )
    .fails(2, &["local environment only"]);

    // A no-transaction migration is refused with the way out.
    p.write(
        "nself/migrations/003_broken.sql",
        "-- nself:no-transaction\n-- UP\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n",
    );
    nself(&p, &db, &["db", "update", "--no-backup"])
        .fails(1, &["no-transaction", "nself db migrate up"]);
    assert_eq!(schema_fingerprint(&db), schema_before);
}

#[test]
fn backup_status_reads_the_settings() {
    let p = Project::new();
    let run = p.run(
        &["db", "backup", "status"],
        &[
            ("BACKUP_ENABLED", "true"),
            ("BACKUP_SCHEDULE", "0 2 * * *"),
            ("BACKUP_RETENTION_DAYS", "30"),
            ("BACKUP_STORAGE", "s3"),
            ("AWS_BACKUP_BUCKET", "my-app-backups"),
            ("AWS_SECRET_ACCESS_KEY", "sekrit"),
        ],
    );
    run.ok();
    for needle in [
        "Backup Configuration",
        "Schedule: Daily at 2:00 AM",
        "Retention: 30 days",
        "Storage: S3 (my-app-backups)",
        "Last Backup: -",
        "Next Backup: ",
        "Backups Count: 0",
    ] {
        assert!(run.stdout.contains(needle), "{needle}\n{}", run.stdout);
    }
    assert!(!run.all().contains("sekrit"));
    p.run(
        &["db", "backup", "status"],
        &[("BACKUP_SCHEDULE", "0 25 * * *")],
    )
    .fails(1, &["hour: 25 is outside 0-23"]);
}

#[test]
fn a_failed_backup_leaves_no_file_and_names_are_unique() {
    let db = fresh_database();
    db.client()
        .batch_execute("CREATE TABLE t (id int)")
        .unwrap();
    let p = Project::new();
    // pg_dump refuses a table pattern that matches nothing.
    nself(&p, &db, &["db", "backup", "--tables", "no_such_table"])
        .fails(1, &["pg_dump failed", "no matching tables"]);
    let left: Vec<_> = std::fs::read_dir(p.path().join("backups"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name())
                .filter(|n| n != ".gitignore")
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    // Two named backups in quick succession both exist; the list shows both, newest first.
    nself(&p, &db, &["db", "backup", "--name", "before_migration"]).ok();
    nself(&p, &db, &["db", "backup", "--name", "before_migration"]).ok();
    let list = nself(&p, &db, &["db", "backup", "list"]);
    list.ok();
    assert_eq!(
        list.stdout.matches("_before_migration").count(),
        2,
        "{}",
        list.stdout
    );
    assert!(list.stdout.contains("NAME"), "{}", list.stdout);
    // db status reports the last backup.
    let status = nself(&p, &db, &["db", "status"]);
    assert!(
        status.stdout.contains("Last backup:  2"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("before_migration"),
        "{}",
        status.stdout
    );
}

#[test]
fn clean_restore_replaces_other_managed_schemas() {
    let db = fresh_database();
    db.client()
        .batch_execute(
            "CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY, label text);
             INSERT INTO app.items SELECT g, 'i' || g FROM generate_series(1, 300) g;
             CREATE TABLE public.p (id int); INSERT INTO public.p VALUES (1);",
        )
        .unwrap();
    let p = Project::new();
    let u = db.params.to_url_with_password();
    let env = [("DATABASE_URL", u.as_str()), ("NSELF_SCHEMAS", "app")];
    p.run(&["db", "backup"], &env).ok();
    let count = |sql: &str| -> i64 { db.client().query_one(sql, &[]).unwrap().get(0) };
    db.client()
        .batch_execute("DELETE FROM app.items WHERE id > 100; CREATE TABLE app.extra (x int);")
        .unwrap();
    let dry = p.run(&["db", "restore", "--clean", "--dry-run"], &env);
    dry.ok();
    assert!(
        dry.stdout.contains("SCHEMA app (and everything in it)"),
        "{}",
        dry.stdout
    );
    p.run(&["db", "restore", "--clean"], &env).ok();
    assert_eq!(count("SELECT count(*) FROM app.items"), 300);
    assert_eq!(count("SELECT count(*) FROM public.p"), 1);
    assert_eq!(
        count("SELECT count(*) FROM pg_class WHERE relname = 'extra'"),
        0
    );
}
