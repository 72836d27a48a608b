//! Issue 11, "Backups and restores": backups belong to an environment and a database,
//! partial backups carry their types and are never the default, a restore into a database that
//! has objects is refused before it changes anything (and the command `db update` prints after
//! a failure works as printed), `--output` names decide the format, `db update` backs up only
//! what it will change, the terminal keeps its `Creating backup...` label, cron macros, S3
//! honesty, and the `.gitignore` of the folders nself creates.

use super::support::{on_terminal, screen, Project, Run};
use nself::local::testing::{fresh_database, TestDatabase};
use std::path::{Path, PathBuf};

fn url(db: &TestDatabase) -> String {
    db.params.to_url_with_password()
}

/// nself against `db` in environment `env`.
fn in_env(p: &Project, db: &TestDatabase, env: &str, args: &[&str]) -> Run {
    let u = url(db);
    p.run(args, &[("DATABASE_URL", &u), ("NSELF_ENV", env)])
}

/// The backups in the project's backups folder (not metadata, not dot files), sorted.
fn backups(p: &Project) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(p.path().join("backups")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = dir
        .map(|e| e.unwrap().path())
        .filter(|f| {
            let n = f.file_name().unwrap().to_string_lossy().into_owned();
            !n.starts_with('.') && !n.ends_with(".meta.json")
        })
        .collect();
    files.sort();
    files
}

fn meta(path: &Path) -> serde_json::Value {
    let mut m = path.as_os_str().to_os_string();
    m.push(".meta.json");
    serde_json::from_slice(&std::fs::read(m).unwrap()).unwrap()
}

/// The path after "Backup created: ".
pub fn created(run: &Run) -> String {
    run.ok();
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix("Backup created: "))
        .unwrap_or_else(|| panic!("no backup line:\n{}", run.stdout))
        .trim()
        .to_string()
}

fn count(db: &TestDatabase, sql: &str) -> i64 {
    db.client().query_one(sql, &[]).unwrap().get(0)
}

#[test]
fn backups_belong_to_their_environment_and_database() {
    let db = fresh_database();
    db.client()
        .batch_execute("CREATE TABLE users (id int PRIMARY KEY); INSERT INTO users VALUES (1);")
        .unwrap();
    let p = Project::new();

    // `db restore` with no backups at all: exit 1.
    in_env(&p, &db, "local", &["db", "restore", "--dry-run"]).fails(1, &["no backups in backups/"]);

    let local = created(&in_env(&p, &db, "local", &["db", "backup"]));
    let staging = created(&in_env(&p, &db, "staging", &["db", "backup"]));
    let production = created(&in_env(&p, &db, "production", &["db", "backup"]));
    // Local keeps the guide's name; the others carry their environment in it.
    assert!(!local.contains("_local_"), "{local}");
    assert!(staging.contains("_staging_"), "{staging}");
    assert!(production.contains("_production_"), "{production}");
    for (file, env) in [
        (&local, "local"),
        (&staging, "staging"),
        (&production, "production"),
    ] {
        let m = meta(&p.path().join(file));
        assert_eq!(m["environment"], env, "{m:#}");
        assert_eq!(m["database"], db.name.as_str(), "{m:#}");
        assert_eq!(m["partial"], false, "{m:#}");
    }
    // A newer partial backup in staging is labelled, and is never the default.
    let partial = in_env(&p, &db, "staging", &["db", "backup", "--tables", "users"]);
    assert!(
        partial.stdout.contains("Partial: tables users"),
        "{}",
        partial.stdout
    );
    let partial = created(&partial);
    assert_eq!(meta(&p.path().join(&partial))["partial"], true);

    // The list shows environment, database and kind.
    let list = in_env(&p, &db, "staging", &["db", "backup", "list"]);
    list.ok();
    assert!(list.stdout.contains("ENVIRONMENT"), "{}", list.stdout);
    let row = |name: &str| {
        let file = Path::new(name)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        list.stdout
            .lines()
            .find(|l| l.starts_with(&file))
            .unwrap_or_else(|| panic!("{file} not listed:\n{}", list.stdout))
            .to_string()
    };
    assert!(row(&production).contains(" production "), "{}", list.stdout);
    assert!(row(&staging).contains(" staging "), "{}", list.stdout);
    assert!(row(&staging).contains(&db.name), "{}", list.stdout);
    assert!(row(&staging).contains(" complete "), "{}", list.stdout);
    assert!(row(&partial).contains(" partial "), "{}", list.stdout);
    let json = in_env(
        &p,
        &db,
        "staging",
        &["db", "backup", "list", "--format", "json"],
    )
    .json();
    let entry = json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| partial.ends_with(e["name"].as_str().unwrap()))
        .unwrap();
    assert_eq!(entry["environment"], "staging");
    assert_eq!(entry["partial"], true);

    // Each environment restores its own newest complete backup.
    for (env, want) in [
        ("staging", &staging),
        ("production", &production),
        ("local", &local),
    ] {
        let dry = in_env(&p, &db, env, &["db", "restore", "--dry-run"]);
        dry.ok();
        assert!(
            dry.stdout.contains(&format!("Backup: {want} (")),
            "{env}: {}",
            dry.stdout
        );
        assert!(!dry.stdout.contains("note:"), "{}", dry.stdout);
    }
    // Another environment's backup needs its name, and the restore says whose it is.
    let dry = in_env(
        &p,
        &db,
        "staging",
        &["db", "restore", &production, "--dry-run"],
    );
    dry.ok();
    assert!(
        dry.stdout.contains("was made in production from database"),
        "{}",
        dry.stdout
    );

    // Another database has no backup of its own: nothing is picked, the others are named.
    let other = fresh_database();
    in_env(&p, &other, "staging", &["db", "restore", "--dry-run"]).fails(
        1,
        &[
            &format!("no complete backup of database {} in staging", other.name),
            "name its file",
        ],
    );

    // `db status` shows its own environment's and database's last backup only.
    let status = |env: &str, db: &TestDatabase| {
        let s = in_env(&p, db, env, &["db", "status", "--format", "json"]);
        s.json()["last_backup"].clone()
    };
    let last = status("staging", &db);
    let staging_name = Path::new(&staging)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(last["name"].as_str(), Some(staging_name.as_str()), "{last}");
    assert_eq!(status("staging", &other), serde_json::Value::Null);

    // A backup from before environments were recorded is never the default.
    let old = p.path().join(&production);
    let mut m = meta(&old);
    m.as_object_mut().unwrap().remove("environment");
    m.as_object_mut().unwrap().remove("partial");
    let mut meta_file = old.as_os_str().to_os_string();
    meta_file.push(".meta.json");
    std::fs::write(&meta_file, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    in_env(&p, &db, "production", &["db", "restore", "--dry-run"])
        .fails(1, &["no complete backup", "an unrecorded environment"]);
    // … but it restores when named.
    let dry = in_env(
        &p,
        &db,
        "production",
        &["db", "restore", &production, "--dry-run"],
    );
    dry.ok();
    assert!(
        dry.stdout.contains("unrecorded environment"),
        "{}",
        dry.stdout
    );
}

const TYPED: &str = "
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');
CREATE SCHEMA app;
CREATE TYPE app.level AS ENUM ('low', 'high');
CREATE SEQUENCE post_ids START 100;
CREATE TABLE users (id serial PRIMARY KEY, m mood NOT NULL, e email, history mood[]);
CREATE TABLE posts (id bigint PRIMARY KEY DEFAULT nextval('post_ids'),
                    user_id int REFERENCES users, lvl app.level);
CREATE TABLE other (id int);
INSERT INTO users (m, e, history) VALUES ('happy', 'a@b', '{sad,happy}'), ('sad', NULL, NULL);
INSERT INTO posts (user_id, lvl) VALUES (1, 'high'), (2, 'low');
";

#[test]
fn a_partial_backup_carries_its_types_and_restores_with_clean() {
    let db = fresh_database();
    db.client().batch_execute(TYPED).unwrap();
    let p = Project::new();
    let file = created(&in_env(
        &p,
        &db,
        "local",
        &["db", "backup", "--tables", "users,posts"],
    ));
    // Only the partial backup exists: it is not restored without its name.
    in_env(&p, &db, "local", &["db", "restore", "--dry-run"])
        .fails(1, &["no complete backup", "partial"]);

    // --clean empties public (and the types there), then the backup rebuilds what it needs.
    db.client()
        .batch_execute("DROP SCHEMA app CASCADE; INSERT INTO users (m) VALUES ('sad');")
        .unwrap();
    in_env(&p, &db, "local", &["db", "restore", "--clean", &file]).ok();
    assert_eq!(count(&db, "SELECT count(*) FROM users"), 2);
    assert_eq!(
        count(&db, "SELECT count(*) FROM users WHERE m = 'happy' AND e = 'a@b' AND history = '{sad,happy}'"),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM posts WHERE lvl = 'high'::app.level"
        ),
        1
    );
    // The sequences continue where they were.
    assert_eq!(count(&db, "SELECT nextval('post_ids')"), 102);
    assert_eq!(count(&db, "SELECT nextval('users_id_seq')"), 3);
    // The domain's check came along; the table the backup left out is gone.
    assert!(db
        .client()
        .batch_execute("INSERT INTO users (m, e) VALUES ('sad', 'no-at')")
        .is_err());
    assert_eq!(
        count(&db, "SELECT count(*) FROM pg_class WHERE relname = 'other'"),
        0
    );

    // A data-only partial backup goes into the existing tables without --clean.
    let data = created(&in_env(
        &p,
        &db,
        "local",
        &["db", "backup", "--tables", "posts", "--data-only"],
    ));
    db.client().batch_execute("DELETE FROM posts").unwrap();
    in_env(&p, &db, "local", &["db", "restore", &data]).ok();
    assert_eq!(count(&db, "SELECT count(*) FROM posts"), 2);
}

#[test]
fn output_names_decide_the_format() {
    let db = fresh_database();
    db.client()
        .batch_execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1);")
        .unwrap();
    let p = Project::new();
    let gz = |f: &str| std::fs::read(p.path().join(f)).unwrap()[..2] == [0x1f, 0x8b];
    in_env(
        &p,
        &db,
        "local",
        &["db", "backup", "--output", "out/backup.sql"],
    )
    .ok();
    assert!(!gz("out/backup.sql"));
    // Plain SQL that psql reads as it is.
    let text = std::fs::read_to_string(p.path().join("out/backup.sql")).unwrap();
    assert!(text.contains("CREATE TABLE public.t"), "{text}");
    in_env(
        &p,
        &db,
        "local",
        &["db", "backup", "--output", "out/backup.sql.gz"],
    )
    .ok();
    assert!(gz("out/backup.sql.gz"));
    // BACKUP_COMPRESSION=false is for backups/; the name still decides.
    let u = url(&db);
    p.run(
        &["db", "backup", "--output", "c.sql.gz"],
        &[("DATABASE_URL", &u), ("BACKUP_COMPRESSION", "false")],
    )
    .ok();
    assert!(gz("c.sql.gz"));
    in_env(
        &p,
        &db,
        "local",
        &["db", "backup", "--no-compress", "--output", "x.sql.gz"],
    )
    .fails(2, &["--no-compress", "without .gz"]);
    assert!(!p.path().join("x.sql.gz").exists());
    // Both restore.
    in_env(
        &p,
        &db,
        "local",
        &["db", "restore", "--clean", "out/backup.sql"],
    )
    .ok();
    in_env(
        &p,
        &db,
        "local",
        &["db", "restore", "--clean", "out/backup.sql.gz"],
    )
    .ok();
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 1);
}

fn migration(p: &Project, name: &str, up: &str) {
    p.write(
        &format!("nself/migrations/{name}.sql"),
        &format!("-- UP\n{up}\n"),
    );
}

#[test]
fn update_backs_up_only_what_it_changes_and_its_restore_advice_works() {
    let db = fresh_database();
    let p = Project::new();
    let update = |args: &[&str]| in_env(&p, &db, "local", &[&["db", "update"], args].concat());

    // Nothing pending: no backup, no advice.
    let run = update(&[]);
    run.ok();
    assert!(
        run.stdout
            .contains("Creating backup... Skipped (nothing pending)"),
        "{}",
        run.stdout
    );
    assert!(!run.all().contains("nself db restore"), "{}", run.all());
    assert!(backups(&p).is_empty(), "{:?}", backups(&p));

    migration(
        &p,
        "001_users",
        "CREATE TABLE users (id int PRIMARY KEY, email text);\nINSERT INTO users VALUES (1, 'a@b');",
    );
    let run = update(&[]);
    run.ok();
    assert_eq!(backups(&p).len(), 1);
    // Something changed: the way back is named.
    assert!(
        run.stdout.contains("nself db restore --clean backups/"),
        "{}",
        run.stdout
    );
    let run = update(&[]);
    run.ok();
    assert_eq!(backups(&p).len(), 1, "nothing pending made a backup");
    assert!(!run.all().contains("nself db restore"), "{}", run.all());

    // A no-transaction migration is refused before any backup.
    p.write(
        "nself/migrations/002_index.sql",
        "-- nself:no-transaction\n-- UP\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n",
    );
    update(&[]).fails(1, &["no-transaction"]);
    assert_eq!(backups(&p).len(), 1, "a refused update made a backup");
    std::fs::remove_file(p.path().join("nself/migrations/002_index.sql")).unwrap();

    // A failed update prints a restore command; run as printed, it works.
    migration(
        &p,
        "002_add_name",
        "ALTER TABLE users ADD COLUMN name text;",
    );
    migration(&p, "003_broken", "ALTER TABLE nope ADD COLUMN z int;");
    let run = update(&[]);
    run.fails(1, &["rolled back", "nself db restore --clean backups/"]);
    assert_eq!(backups(&p).len(), 2);
    let printed = run
        .stderr
        .lines()
        .find_map(|l| l.split_once("to go back to it anyway: ").map(|x| x.1))
        .unwrap()
        .trim()
        .to_string();
    // Meanwhile the database changed (by hand): the restore brings back the backup.
    db.client()
        .batch_execute("INSERT INTO users VALUES (2, 'c@d'); CREATE TABLE scratch (x int);")
        .unwrap();
    // Without --clean a restore into this database is refused before it changes anything.
    let backup = printed.rsplit(' ').next().unwrap();
    in_env(&p, &db, "local", &["db", "restore", backup]).fails(
        1,
        &[
            "is not empty",
            "Nothing was changed",
            "nself db restore --clean",
        ],
    );
    let dry = in_env(&p, &db, "local", &["db", "restore", backup, "--dry-run"]);
    dry.ok();
    assert!(dry.stdout.contains("Would be refused"), "{}", dry.stdout);
    assert_eq!(count(&db, "SELECT count(*) FROM users"), 2);
    let words: Vec<&str> = printed.split_whitespace().collect();
    assert_eq!(words[0], "nself", "{printed}");
    in_env(&p, &db, "local", &words[1..]).ok();
    assert_eq!(count(&db, "SELECT count(*) FROM users"), 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_class WHERE relname = 'scratch'"
        ),
        0
    );
}

#[test]
fn on_a_terminal_update_keeps_its_backup_label() {
    let db = fresh_database();
    // Enough data that the dump takes a while and the byte counter shows.
    db.client()
        .batch_execute(
            "CREATE TABLE big AS SELECT g, repeat(md5(g::text), 4) AS t \
               FROM generate_series(1, 300000) g",
        )
        .unwrap();
    let p = Project::new();
    migration(&p, "001_t", "CREATE TABLE t (id int);");
    let u = url(&db);
    let run = on_terminal(&p, "db update", &[("DATABASE_URL", &u)], "");
    assert_eq!(run.code, 0, "{}", run.all());
    let shown = screen(&run.all());
    assert!(
        shown
            .iter()
            .any(|l| l.starts_with("Creating backup... Done (")),
        "{shown:#?}"
    );
}

#[test]
fn schedules_storage_confirmations_and_ignored_folders() {
    let p = Project::new();
    for (macro_, want) in [
        ("@daily", "Schedule: Daily at 12:00 AM"),
        ("@midnight", "Schedule: Daily at 12:00 AM"),
        ("@hourly", "Schedule: Hourly at minute 0"),
        ("@weekly", "Schedule: cron \"0 0 * * 0\""),
        ("@monthly", "Schedule: cron \"0 0 1 * *\""),
        ("@yearly", "Schedule: cron \"0 0 1 1 *\""),
        ("@annually", "Schedule: cron \"0 0 1 1 *\""),
    ] {
        let run = p.run(&["db", "backup", "status"], &[("BACKUP_SCHEDULE", macro_)]);
        run.ok();
        assert!(run.stdout.contains(want), "{macro_}: {}", run.stdout);
    }
    p.run(
        &["db", "backup", "status"],
        &[("BACKUP_SCHEDULE", "@reboot")],
    )
    .fails(1, &["@reboot"]);
    let s3 = p.run(
        &["db", "backup", "status"],
        &[("BACKUP_STORAGE", "s3"), ("AWS_BACKUP_BUCKET", "b")],
    );
    s3.ok();
    // Storage that cannot be used is said so, with the missing setting.
    assert!(
        s3.stdout
            .contains("S3 (b), not usable: BACKUP_STORAGE=s3 needs AWS_ACCESS_KEY_ID"),
        "{}",
        s3.stdout
    );

    // --confirm help names each command's phrase.
    let help = p.run(&["db", "restore", "--help"], &[]);
    help.ok();
    assert!(
        help.stdout.contains("yes-restore-production"),
        "{}",
        help.stdout
    );
    assert!(
        !help.stdout.contains("yes-destroy-production"),
        "{}",
        help.stdout
    );
    let help = p.run(&["db", "update", "--help"], &[]);
    help.ok();
    let words = help.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("asks for: production"), "{}", help.stdout);
    assert!(
        !help.stdout.contains("yes-destroy-production"),
        "{}",
        help.stdout
    );

    // .nself/ gets a .gitignore when nself creates it (here: the lock `stop` takes).
    assert!(!p.path().join(".nself").exists());
    p.run(&["stop"], &[]).ok();
    assert_eq!(
        std::fs::read_to_string(p.path().join(".nself/.gitignore"))
            .unwrap()
            .lines()
            .last(),
        Some("*")
    );
    // A user's own .gitignore in backups/ is left alone; a created backups/ gets one.
    let db = fresh_database();
    created(&in_env(&p, &db, "local", &["db", "backup"]));
    let ignore = std::fs::read_to_string(p.path().join("backups/.gitignore")).unwrap();
    assert_eq!(ignore.lines().last(), Some("*"), "{ignore}");
    std::fs::write(p.path().join("backups/.gitignore"), "mine\n").unwrap();
    created(&in_env(
        &p,
        &db,
        "local",
        &["db", "backup", "--name", "again"],
    ));
    assert_eq!(
        std::fs::read_to_string(p.path().join("backups/.gitignore")).unwrap(),
        "mine\n"
    );
    // The repository itself ignores the folder backups go to.
    let repo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.gitignore")).unwrap();
    assert!(repo.lines().any(|l| l == "/backups/"), "{repo}");
    assert!(!repo.lines().any(|l| l == "/nself/backups/"), "{repo}");
}

#[test]
fn a_wrong_phrase_on_the_terminal_says_it_did_not_match() {
    let db = fresh_database();
    db.client()
        .batch_execute("CREATE TABLE t (id int)")
        .unwrap();
    let p = Project::new();
    let file = created(&in_env(&p, &db, "production", &["db", "backup"]));
    let u = url(&db);
    let run = on_terminal(
        &p,
        &format!("--env production db restore --clean {file}"),
        &[("DATABASE_URL", &u), ("NSELF_ENV", "production")],
        "yes-restore-prod\n",
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.all()
            .contains("\"yes-restore-prod\" did not match \"yes-restore-production\""),
        "{}",
        run.all()
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM pg_class WHERE relname = 't'"),
        1
    );
}
