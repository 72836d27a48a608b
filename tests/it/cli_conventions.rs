//! CLI conventions (issue 11): shell completions and the man page, `--version` with the commit,
//! `migrate up --dry-run`, the line before the local database is created, `schema check -`,
//! exit codes a hook can tell apart, and one time format in JSON.

use super::support::{Project, Run, NSELF};
use nself::local::testing::{fresh_database, TestDatabase};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn url(db: &TestDatabase) -> String {
    db.params.to_url_with_password()
}

fn with_db(p: &Project, db: &TestDatabase, args: &[&str]) -> Run {
    p.run(args, &[("DATABASE_URL", &url(db))])
}

/// PATH with the built binary's folder first, so that `nself …` runs as a user types it.
fn path_with_nself() -> String {
    let dir = Path::new(NSELF).parent().unwrap().display().to_string();
    format!("{dir}:{}", std::env::var("PATH").unwrap_or_default())
}

fn bash(p: &Project, script: &str) -> Run {
    Run::from(
        Command::new("bash")
            .arg("-c")
            .arg(script)
            .env_clear()
            .env("PATH", path_with_nself())
            .current_dir(p.path())
            .output()
            .unwrap(),
    )
}

#[test]
fn completions_complete_in_a_real_bash_and_the_man_page_renders() {
    let p = Project::new();
    // The README's line, then what bash does on TAB after `nself db sch` and `nself db migrate u`.
    let r = bash(
        &p,
        r#"source <(nself completions bash)
complete -p nself
COMP_WORDS=(nself db sch); COMP_CWORD=2; COMP_LINE="nself db sch"; COMP_POINT=${#COMP_LINE}
_nself nself sch db; echo "first=[${COMPREPLY[*]}]"
COMP_WORDS=(nself db migrate u); COMP_CWORD=3; COMP_LINE="nself db migrate u"; COMP_POINT=${#COMP_LINE}
_nself nself u migrate; echo "second=[${COMPREPLY[*]}]""#,
    );
    r.ok();
    assert!(r.stdout.contains("-F _nself nself"), "{}", r.all());
    assert!(r.stdout.contains("first=[schema]"), "{}", r.all());
    assert!(r.stdout.contains("second=[up]"), "{}", r.all());
    for (shell, marker) in [
        ("zsh", "#compdef nself"),
        ("fish", "complete -c nself"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[nself]"),
    ] {
        let r = p.run(&["completions", shell], &[]);
        assert!(r.ok().stdout.contains(marker), "{shell}:\n{}", r.stdout);
        assert!(r.stdout.contains("schema"), "{shell}");
    }
    p.run(&["completions", "tcsh"], &[])
        .fails(2, &["invalid value"]);

    let page = p.run(&["man"], &[]);
    let roff = &page.ok().stdout;
    for needle in [".TH nself 1", ".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS"] {
        assert!(roff.contains(needle), "{needle} missing:\n{roff}");
    }
    assert!(roff.contains("completions"), "{roff}");
    let have_man = Command::new("man").arg("--version").output().is_ok();
    if have_man {
        // README: `nself man | man -l -` (a pager replaced by cat).
        let r = bash(&p, "nself man | MANWIDTH=100 man -P cat -l -");
        assert!(r.ok().stdout.contains("NAME"), "{}", r.all());
        assert!(r.stdout.contains("SYNOPSIS"), "{}", r.all());
        assert!(!r.stdout.contains(".TH"), "not rendered:\n{}", r.stdout);
    }
    let r = p.run(&["man", "--dir", "man1"], &[]);
    r.ok();
    for page in ["nself.1", "nself-db.1", "nself-db-migrate-up.1"] {
        assert!(p.path().join("man1").join(page).is_file(), "{page}");
    }
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let p = Project::new();
    let line = p.run(&["--version"], &[]).ok().stdout.trim().to_owned();
    let v = env!("CARGO_PKG_VERSION");
    let git = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    match git {
        Ok(o) if o.status.success() => {
            let hash = String::from_utf8_lossy(&o.stdout).trim().to_owned();
            assert!(
                line == format!("nself {v} ({hash})")
                    || line == format!("nself {v} ({hash}-dirty)"),
                "{line:?} does not name commit {hash}"
            );
        }
        _ => assert_eq!(line, format!("nself {v} (unknown commit)")),
    }
    // Subcommands print the same.
    let sub = p
        .run(&["db", "migrate", "--version"], &[])
        .ok()
        .stdout
        .clone();
    assert!(sub.contains(line.trim_start_matches("nself ")), "{sub}");
}

fn tracked(db: &TestDatabase) -> Vec<(String, bool)> {
    super::support::tracked(db)
        .into_iter()
        .map(|(v, _, ok)| (v.to_string(), ok))
        .collect()
}

fn relations(db: &TestDatabase) -> BTreeSet<String> {
    db.client()
        .query(
            "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

const M1: &str = "-- UP\nCREATE TABLE a (id int PRIMARY KEY);\n-- DOWN\nDROP TABLE a;\n";
const M2: &str = "-- UP\nCREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);\n\
                  CREATE INDEX b_a_id ON b (a_id);\n-- DOWN\nDROP TABLE b;\n";
const M3: &str =
    "-- nself:no-transaction\n-- UP\nCREATE INDEX CONCURRENTLY b_id_a ON b (id, a_id);\n\
                  -- DOWN\nDROP INDEX CONCURRENTLY b_id_a;\n";

#[test]
fn migrate_up_dry_run_prints_the_pending_sql_and_applies_nothing() {
    let db = fresh_database();
    let p = Project::new();
    p.write("nself/migrations/001_a.sql", M1)
        .write("nself/migrations/002_b.sql", M2)
        .write("nself/migrations/003_b_index.sql", M3);
    with_db(&p, &db, &["db", "migrate", "up", "1"]).ok();
    let (rows, rels) = (tracked(&db), relations(&db));
    assert_eq!(rows.len(), 1);

    // The README's example.
    let r = with_db(&p, &db, &["db", "migrate", "up", "--dry-run"]);
    let out = &r.ok().stdout;
    assert!(out.contains("Dry run: nothing is applied"), "{out}");
    assert!(out.contains("2 migrations would be applied"), "{out}");
    let b = out.find("CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);");
    let idx = out.find("CREATE INDEX b_a_id ON b (a_id);");
    let conc = out.find("CREATE INDEX CONCURRENTLY b_id_a ON b (id, a_id);");
    assert!(
        b.is_some() && b < idx && idx < conc,
        "statements missing or out of order:\n{out}"
    );
    assert!(out.contains("-- 002_b.sql (in one transaction"), "{out}");
    assert!(
        out.contains("-- 003_b_index.sql (outside a transaction"),
        "{out}"
    );
    assert!(
        !out.contains("CREATE TABLE a"),
        "an applied one is shown:\n{out}"
    );
    assert!(
        !out.contains("DROP TABLE"),
        "a DOWN section is shown:\n{out}"
    );
    assert!(!out.contains("Applying"), "{out}");
    assert_eq!(tracked(&db), rows, "the tracking table changed");
    assert_eq!(relations(&db), rels, "the schema changed");

    // At most N, with the session settings it would use; JSON lists the same statements.
    let r = with_db(
        &p,
        &db,
        &[
            "db",
            "migrate",
            "up",
            "1",
            "--dry-run",
            "--lock-timeout",
            "5s",
        ],
    );
    let out = &r.ok().stdout;
    assert!(out.contains("SET lock_timeout = '5s';"), "{out}");
    assert!(
        out.contains("002_b.sql") && !out.contains("003_b_index"),
        "{out}"
    );
    let doc = with_db(
        &p,
        &db,
        &["db", "migrate", "up", "--dry-run", "--format", "json"],
    )
    .ok()
    .json();
    assert_eq!(doc["dry_run"], true, "{doc}");
    let list = doc["would_apply"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{doc}");
    assert_eq!(list[0]["file"], "002_b.sql");
    assert_eq!(list[0]["transaction"], true);
    assert_eq!(list[1]["transaction"], false);
    assert_eq!(
        list[0]["statements"][1], "CREATE INDEX b_a_id ON b (a_id);",
        "{doc}"
    );

    // Production: no confirmation is needed to look.
    p.write(".env.production", &format!("DATABASE_URL={}\n", url(&db)));
    let r = p.run(
        &["--env", "production", "db", "migrate", "up", "--dry-run"],
        &[],
    );
    assert!(r.ok().stdout.contains("CREATE TABLE b"), "{}", r.all());

    // Refused the way `up` would refuse, still changing nothing.
    p.write(
        "nself/migrations/001_a.sql",
        &M1.replace("PRIMARY KEY", "PRIMARY KEY, x int"),
    );
    with_db(&p, &db, &["db", "migrate", "up", "--dry-run"])
        .fails(1, &["changed since it was applied", "Nothing was done"]);
    assert_eq!(tracked(&db), rows);
    assert_eq!(relations(&db), rels);
}

#[test]
fn the_first_command_says_it_creates_the_local_database() {
    let p = Project::new();
    p.write("nself/migrations/001_a.sql", M1);
    // No DATABASE_URL: the project's own local database, created by this first command.
    let r = p.run(&["db", "migrate", "up", "--dry-run"], &[]);
    r.ok();
    let line = format!("Creating the local database in {}", p.state_dir().display());
    assert!(r.stderr.contains(&line), "{}", r.all());
    assert!(
        r.stdout.contains("CREATE TABLE a (id int PRIMARY KEY);"),
        "{}",
        r.all()
    );
    // Once, not on every command; and the dry run created nothing.
    let r = p.run(
        &[
            "db",
            "shell",
            "-c",
            "SELECT coalesce(to_regclass('public.schema_migrations')::text, 'no-tracking') \
             || '/' || coalesce(to_regclass('public.a')::text, 'no-a')",
        ],
        &[],
    );
    assert!(r.ok().stdout.contains("no-tracking/no-a"), "{}", r.all());
    assert!(
        !r.stderr.contains("Creating the local database"),
        "{}",
        r.all()
    );
}

#[test]
fn schema_check_reads_standard_input_and_reports_every_failure_as_json() {
    let p = Project::new();
    p.write("nself/users.dbml", "Table users {\n  id int [pk]\n}\n");
    let posts = "use { table users } from './users'\nTable posts {\n  id int [pk]\n  user_id int [ref: > users.id]\n}\n";

    // Imports relative to --stdin-filename's folder; the name in messages.
    let r = p.run_stdin(
        &[
            "db",
            "schema",
            "check",
            "-",
            "--stdin-filename",
            "nself/schema.dbml",
        ],
        &[],
        posts.as_bytes(),
    );
    assert!(
        r.ok().stdout.contains("nself/schema.dbml: ok"),
        "{}",
        r.all()
    );
    // Without it, relative to the current folder: here `./users` is not there.
    let r = p.run_stdin(
        &["db", "schema", "check", "-", "--format", "json"],
        &[],
        posts.as_bytes(),
    );
    assert_eq!(r.code, 1, "{}", r.all());
    let doc = r.json();
    assert_eq!(doc["diagnostics"][0]["code"], "E0406", "{doc}");
    assert_eq!(doc["diagnostics"][0]["file"], "<stdin>", "{doc}");

    // The README's example: an editor's buffer with an error, positions in the named file.
    p.write("buffer.dbml", "Table t {\n  id int [pk, pk]\n}\n");
    let r = bash(
        &p,
        "nself db schema check - --stdin-filename nself/schema.dbml --format json < buffer.dbml",
    );
    assert_eq!(r.code, 1, "{}", r.all());
    let doc = r.json();
    assert_eq!(doc["errors"], 1, "{doc}");
    let d = &doc["diagnostics"][0];
    assert_eq!(
        (&d["code"], &d["file"], &d["line"]),
        (&"E0309".into(), &"nself/schema.dbml".into(), &2.into()),
        "{doc}"
    );

    // A file that cannot be read: one JSON document on stdout (same shape), exit 2.
    let r = p.run(
        &["db", "schema", "check", "gone.dbml", "--format", "json"],
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.all());
    let doc = r.json();
    assert_eq!(doc["errors"], 1, "{doc}");
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "E0001", "{doc}");
    assert_eq!(d["file"], "gone.dbml", "{doc}");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("cannot read gone.dbml"),
        "{doc}"
    );
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    // A folder given as the file.
    let r = p.run(&["db", "schema", "check", "nself", "--format", "json"], &[]);
    assert_eq!(
        (r.code, &r.json()["diagnostics"][0]["code"]),
        (2, &"E0001".into())
    );
    // Human format keeps the message on stderr.
    p.run(&["db", "schema", "check", "gone.dbml"], &[])
        .fails(2, &["cannot read gone.dbml"]);
    // --stdin-filename without `-` is a mistake, reported in the chosen format.
    let r = p.run(
        &[
            "db",
            "schema",
            "check",
            "buffer.dbml",
            "--stdin-filename",
            "x.dbml",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.json()["diagnostics"][0]["message"]
        .as_str()
        .unwrap()
        .contains("give FILE as `-`"));
    // Invalid UTF-8 and an empty input on stdin are diagnostics, not crashes.
    let r = p.run_stdin(
        &["db", "schema", "check", "-", "--format", "json"],
        &[],
        b"Table \xff {}",
    );
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.json()["errors"].as_u64().unwrap() >= 1);
    let r = p.run_stdin(&["db", "schema", "check", "-"], &[], b"");
    assert!(r.ok().stdout.contains("<stdin>: ok"), "{}", r.all());
}

#[test]
fn check_and_exit_code_tell_differences_from_could_not_compare() {
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("nself/migrations")).unwrap();
    let a = "Table users {\n  id int [pk]\n}\n";
    let b = "Table users {\n  id int [pk]\n  name text\n}\n";
    p.write("a.dbml", a)
        .write("same.dbml", a)
        .write("b.dbml", b)
        .write("broken.dbml", "Table users {\n  id int [pk, pk]\n}\n");
    let diff = |target: &str, from: &str| {
        p.run(
            &[
                "db",
                "schema",
                "diff",
                target,
                "--from",
                from,
                "--exit-code",
            ],
            &[],
        )
    };
    assert_eq!(diff("a.dbml", "same.dbml").code, 0);
    assert_eq!(diff("a.dbml", "b.dbml").code, 1);
    assert_eq!(diff("a.dbml", "gone.dbml").code, 2, "a missing file");
    let r = diff("a.dbml", "broken.dbml");
    assert_eq!(r.code, 2, "a file with errors:\n{}", r.all());
    // Without --exit-code a failure stays 1 (a side that is nothing known is bad usage, 2).
    let r = p.run(
        &["db", "schema", "diff", "a.dbml", "--from", "broken.dbml"],
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.all());

    let db = fresh_database();
    let check =
        |file: &str, env: &[(&str, &str)]| p.run(&["db", "schema", "import", file, "--check"], env);
    let u = url(&db);
    let live = [("DATABASE_URL", u.as_str())];
    assert_eq!(
        check("a.dbml", &live).code,
        1,
        "differences from the empty database"
    );
    p.write(
        "nself/migrations/001_users.sql",
        "-- UP\nCREATE TABLE users (id int PRIMARY KEY);\n",
    );
    assert_eq!(
        check("a.dbml", &live).code,
        0,
        "matches with its pending migration"
    );
    assert_eq!(check("b.dbml", &live).code, 1);
    assert_eq!(check("gone.dbml", &live).code, 2);
    assert_eq!(check("broken.dbml", &live).code, 2);
    // A database out of reach.
    let nowhere = [("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")];
    let r = check("a.dbml", &nowhere);
    assert_eq!(r.code, 2, "{}", r.all());
    let r = p.run(&["db", "schema", "diff", "a.dbml", "--exit-code"], &nowhere);
    assert_eq!(r.code, 2, "{}", r.all());
    // A migration folder the runner refuses: could not compare either.
    p.write("nself/migrations/002_bad.sql", "-- UP\nCREATE TABLE x (;\n");
    assert_eq!(check("a.dbml", &live).code, 2);
    // Without --check that failure is 1, as before.
    let r = p.run(&["db", "schema", "import", "a.dbml", "--dry-run"], &live);
    assert_eq!(r.code, 1, "{}", r.all());
}

fn is_rfc3339_utc(v: &serde_json::Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    s.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

#[test]
fn json_times_are_rfc3339_with_zone() {
    let db = fresh_database();
    let p = Project::new();
    p.write("nself/migrations/001_a.sql", M1);
    with_db(&p, &db, &["db", "migrate", "up"]).ok();
    let doc = with_db(&p, &db, &["db", "migrate", "status", "--format", "json"])
        .ok()
        .json();
    let at = &doc["migrations"][0]["applied_at"];
    assert!(is_rfc3339_utc(at), "migrate status applied_at: {at}");

    with_db(&p, &db, &["db", "backup"]).ok();
    let list = with_db(&p, &db, &["db", "backup", "list", "--format", "json"])
        .ok()
        .json();
    let at = &list[0]["created_at"];
    assert!(is_rfc3339_utc(at), "backup list created_at: {at}");
    let status = with_db(&p, &db, &["db", "status", "--format", "json"])
        .ok()
        .json();
    let at = &status["last_backup"]["created_at"];
    assert!(
        is_rfc3339_utc(at),
        "db status last_backup: {}",
        status["last_backup"]
    );
    let bs = with_db(&p, &db, &["db", "backup", "status", "--format", "json"])
        .ok()
        .json();
    assert!(is_rfc3339_utc(&bs["last_backup"]), "backup status: {bs}");
    // The metadata file beside the backup.
    let meta = std::fs::read_dir(p.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".json"))
        .expect("a metadata file");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(meta).unwrap()).unwrap();
    assert!(is_rfc3339_utc(&meta["created_at"]), "metadata: {meta}");
}
