//! `nself db status` and `nself db shell` through the real binary.

use super::support::Project;
use nself::local::testing::{fresh_database, TempDir};

#[test]
fn db_status_in_an_empty_folder_starts_the_local_database_and_reuses_it() {
    let p = Project::new();
    let first = p
        .run(&["db", "status", "--format", "json"], &[])
        .ok()
        .json();
    assert_eq!(first["environment"], "local");
    assert_eq!(first["reachable"], true);
    assert_eq!(first["local"]["initialized_now"], true);
    assert_eq!(first["database"], "nself");
    assert!(first["server_version"].as_str().unwrap().len() >= 2);
    let pid = first["local"]["pid"].as_i64().unwrap();
    assert!(pid > 0);
    assert!(p.state_dir().join("data/PG_VERSION").is_file());

    let second = p
        .run(&["db", "status", "--format", "json"], &[])
        .ok()
        .json();
    assert_eq!(second["local"]["initialized_now"], false);
    assert_eq!(second["local"]["started_now"], false);
    assert_eq!(
        second["local"]["pid"].as_i64(),
        Some(pid),
        "the same cluster is reused"
    );
    assert_eq!(second["local"]["data_dir"], first["local"]["data_dir"]);

    let human = p.run(&["db", "status"], &[]).ok().stdout.clone();
    for line in [
        "Environment:  local",
        "Connection:   ok",
        "Tables:       0",
        "Migrations:   0 applied, 0 pending, 0 modified",
    ] {
        assert!(human.contains(line), "{human}");
    }
    let status = p.run(&["status", "--format", "json"], &[]).ok().json();
    assert_eq!(status["state"], "running");
    assert_eq!(status["pid"].as_i64(), Some(pid));
    // Only the unix socket: no TCP listener was asked for.
    let conf = std::fs::read_to_string(p.state_dir().join("data/nself.conf")).unwrap();
    assert!(conf.contains("listen_addresses = ''"), "{conf}");
}

#[test]
fn db_status_counts_tables_in_managed_schemas_but_not_the_tracking_table() {
    let db = fresh_database();
    db.client()
        .batch_execute(
            "CREATE TABLE users (id int); CREATE TABLE posts (id int); \
             CREATE TABLE schema_migrations (version bigint); \
             CREATE SCHEMA app; CREATE TABLE app.things (id int);",
        )
        .unwrap();
    let p = Project::new();
    let url = db.params.to_url_with_password();
    let doc = p
        .run(
            &["db", "status", "--format", "json"],
            &[("DATABASE_URL", &url)],
        )
        .ok()
        .json();
    assert_eq!(doc["tables"], 2);
    assert_eq!(doc["database"], db.name.as_str());
    assert!(doc["local"].is_null());
    assert!(
        !p.state_dir().exists(),
        "a configured server must not start the local database"
    );
    let doc = p
        .run(
            &[
                "db",
                "status",
                "--format",
                "json",
                "--schemas",
                "public,app",
            ],
            &[("DATABASE_URL", &url)],
        )
        .ok()
        .json();
    assert_eq!(doc["tables"], 3);
}

#[test]
fn db_shell_runs_psql_on_the_configured_database() {
    let db = fresh_database();
    let p = Project::new();
    let url = db.params.to_url_with_password();
    let r = p.run(
        &["db", "shell", "-c", "SELECT current_database()"],
        &[("DATABASE_URL", &url)],
    );
    r.ok();
    assert!(r.stdout.contains(&db.name), "{}", r.stdout);
    p.write("q.sql", "SELECT 'from-file' AS x;\n");
    let r = p.run(&["db", "shell", "-f", "q.sql"], &[("DATABASE_URL", &url)]);
    r.ok();
    assert!(r.stdout.contains("from-file"), "{}", r.stdout);
    let r = p.run(
        &["db", "shell", "-c", "SELECT * FROM no_such_table"],
        &[("DATABASE_URL", &url)],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    let r = p.run(
        &[
            "db",
            "shell",
            "--database",
            "postgres",
            "-c",
            "SELECT current_database()",
        ],
        &[("DATABASE_URL", &url)],
    );
    assert!(r.ok().stdout.contains("postgres"), "{}", r.stdout);
}

#[test]
fn db_shell_passes_the_password_in_the_environment_only() {
    let db = fresh_database();
    let p = Project::new();
    // A stand-in psql first on PATH records its arguments and PGPASSWORD.
    let bin = TempDir::new("nself-fake-psql").unwrap();
    let record = bin.path().join("record");
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{r}.args'\nprintf '%s' \"$PGPASSWORD\" > '{r}.pw'\nprintf '%s' \"$PGUSER@$PGDATABASE\" > '{r}.who'\n",
        r = record.display()
    );
    let fake = bin.path().join("psql");
    std::fs::write(&fake, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut params = db.params.clone();
    params.set_password(Some("pass-through-env".into()));
    let url = params.to_url_with_password();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let r = p.run(
        &["db", "shell", "-c", "SELECT 1"],
        &[("DATABASE_URL", &url), ("PATH", &path)],
    );
    // The superuser of our test cluster logs in by trust, so the password is not checked; an
    // external test server may reject it, which is fine for this test's purpose only if psql ran.
    if r.code != 0 {
        assert!(!r.all().contains("pass-through-env"), "{}", r.all());
        eprintln!(
            "server refused the stand-in password; skipped: {}",
            r.stderr
        );
        return;
    }
    let args = std::fs::read_to_string(format!("{}.args", record.display())).unwrap();
    assert!(
        !args.contains("pass-through-env"),
        "password on the command line: {args}"
    );
    assert!(args.contains("SELECT 1"), "{args}");
    let pw = std::fs::read_to_string(format!("{}.pw", record.display())).unwrap();
    assert_eq!(pw, "pass-through-env");
    let who = std::fs::read_to_string(format!("{}.who", record.display())).unwrap();
    assert_eq!(who, format!("{}@{}", db.params.user, db.name));
}

#[test]
fn db_shell_without_psql_says_how_to_install_it() {
    let p = Project::new();
    let empty = TempDir::new("nself-empty-bin").unwrap();
    let dir = empty.path().to_str().unwrap();
    let r = p.run(&["db", "shell"], &[("PATH", dir), ("NSELF_PG_BINDIR", dir)]);
    r.fails(1, &["psql not found", "apt-get install postgresql-client"]);
}
