//! The environment rules (SPEC.md section 4) as a full matrix through the real binary: every
//! guarded command that exists × local/staging/production × each way of confirming, with no
//! terminal; checked by exit code, message and whether the database changed. Then the
//! terminal prompts, through a pseudo-terminal (`script`). `restore` and `backup` have their own
//! tests (`it::backup*`); their cells are also covered by `policy`'s unit tests.

use super::support::{Project, Run, NSELF};
use nself::local::testing::{fresh_database, TestDatabase};

const MIGRATION: &str = "-- UP\nCREATE TABLE t (id int);\n-- DOWN\nDROP TABLE t;\n";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Rule {
    Run,
    Confirm,
    Phrase(&'static str),
    Blocked,
}

/// The guide's table, written out independently of the code's.
fn expected(cmd: &str, env: &str) -> Rule {
    match (cmd, env) {
        ("migrate repair", _) => Rule::Confirm,
        (_, "local") => Rule::Run,
        ("migrate fresh" | "reset" | "mock", _) => Rule::Blocked,
        ("migrate down", "production") => Rule::Phrase("yes-destroy-production"),
        _ => Rule::Confirm,
    }
}

fn sql(db: &TestDatabase, q: &str) {
    db.client().batch_execute(q).unwrap();
}

fn exists(db: &TestDatabase, rel: &str) -> bool {
    db.client()
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&rel])
        .unwrap()
        .get(0)
}

fn seeded(db: &TestDatabase) -> bool {
    exists(db, "t")
        && db
            .client()
            .query_one("SELECT count(*) > 0 FROM t", &[])
            .unwrap()
            .get::<_, bool>(0)
}

fn checksum_ok(db: &TestDatabase) -> bool {
    exists(db, "schema_migrations")
        && db
            .client()
            .query_one(
                "SELECT coalesce(bool_and(checksum <> 'tampered'), false) FROM schema_migrations",
                &[],
            )
            .unwrap()
            .get(0)
}

/// Puts the database in the state where `cmd` has work to do.
fn prepare(p: &Project, db: &TestDatabase, url: &str, cmd: &str) {
    sql(db, "DROP TABLE IF EXISTS t, stray, schema_migrations");
    if cmd == "migrate up" {
        return;
    }
    p.run(
        &["--env", "local", "db", "migrate", "up"],
        &[("DATABASE_URL", url)],
    )
    .ok();
    match cmd {
        "migrate fresh" | "reset" => sql(db, "CREATE TABLE stray (id int)"),
        "migrate repair" => sql(db, "UPDATE schema_migrations SET checksum = 'tampered'"),
        _ => {}
    }
}

/// Whether `cmd` did its work.
fn effect(db: &TestDatabase, cmd: &str) -> bool {
    match cmd {
        "migrate up" => exists(db, "t"),
        "migrate down" => !exists(db, "t"),
        "migrate fresh" => !exists(db, "stray") && exists(db, "t"),
        "reset" => !exists(db, "stray") && seeded(db),
        "seed" | "mock" => seeded(db),
        "migrate repair" => checksum_ok(db),
        other => panic!("{other}"),
    }
}

#[test]
fn every_cell_of_the_environment_table_without_a_terminal() {
    let p = Project::new();
    p.write("nself/migrations/001_t.sql", MIGRATION);
    p.write("nself/seeds/common/01.sql", "INSERT INTO t VALUES (1);\n");
    p.write("nself/seeds/staging/01.sql", "INSERT INTO t VALUES (2);\n");
    p.write(
        "nself/seeds/production/01.sql",
        "INSERT INTO t VALUES (3);\n",
    );
    let consents: [&[&str]; 5] = [
        &[],
        &["--yes"],
        &["--confirm", "production"],
        &["--confirm", "yes-destroy-production"],
        &["--confirm", "wrong"],
    ];
    let commands = [
        "migrate up",
        "migrate down",
        "migrate fresh",
        "seed",
        "reset",
        "migrate repair",
        "mock",
    ];
    let mut cells = 0;
    for env in ["local", "staging", "production"] {
        let db = fresh_database();
        let url = db.params.to_url_with_password();
        for cmd in commands {
            let rule = expected(cmd, env);
            for consent in consents {
                prepare(&p, &db, &url, cmd);
                let mut args = vec!["--env", env, "db"];
                args.extend(cmd.split(' '));
                args.extend_from_slice(consent);
                let r: Run = p.run(&args, &[("DATABASE_URL", &url), ("NSELF_ENV", env)]);
                let given = consent.get(1).copied();
                let yes = consent.first() == Some(&"--yes");
                let go = match rule {
                    Rule::Run => true,
                    Rule::Blocked => false,
                    Rule::Confirm if env == "production" => given == Some("production"),
                    Rule::Confirm => yes,
                    Rule::Phrase(phrase) => given == Some(phrase),
                };
                let ctx = format!("{cmd} in {env} with {consent:?}:\n{}", r.all());
                if go {
                    assert_eq!(r.code, 0, "{ctx}");
                    assert!(effect(&db, cmd), "no effect: {ctx}");
                } else {
                    assert_eq!(r.code, 1, "{ctx}");
                    let needle = match rule {
                        Rule::Blocked => format!("blocked in {env}"),
                        Rule::Phrase(phrase) => format!("--confirm {phrase}"),
                        _ if env == "production" => "--confirm production".to_string(),
                        _ => "--yes".to_string(),
                    };
                    assert!(r.stderr.contains(&needle), "lacks {needle:?}: {ctx}");
                    assert!(!effect(&db, cmd), "changed anyway: {ctx}");
                }
                cells += 1;
            }
        }
    }
    assert_eq!(cells, 3 * 7 * 5);
}

/// Runs nself under a pseudo-terminal, typing `input`.
fn on_terminal(p: &Project, url: &str, args: &str, input: &str) -> Run {
    // The judge of "on a terminal" is util-linux's `script`; without it the test fails.
    assert!(
        std::path::Path::new("/usr/bin/script").exists(),
        "no /usr/bin/script: install util-linux (`apt-get install bsdutils`) to test prompts"
    );
    use std::io::Write;
    let mut child = std::process::Command::new("/usr/bin/script")
        .args(["-qec", &format!("{NSELF} {args}"), "/dev/null"])
        .current_dir(p.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        // An exported DATABASE_URL belongs to the environment the process environment selects
        // (issue 11): select the one the command names, so the URL is that environment's.
        .env(
            "NSELF_ENV",
            args.split_whitespace()
                .skip_while(|w| *w != "--env")
                .nth(1)
                .unwrap_or("local"),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Let the prompt appear before answering, as a person would.
    std::thread::sleep(std::time::Duration::from_millis(300));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    Run::from(child.wait_with_output().unwrap())
}

#[test]
fn on_a_terminal_the_user_is_asked() {
    let db = fresh_database();
    let url = db.params.to_url_with_password();
    let p = Project::new();
    p.write("nself/migrations/001_t.sql", MIGRATION);
    let r = on_terminal(&p, &url, "--env staging db migrate up", "n\n");
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.all().contains("Continue? [y/N]"), "{}", r.all());
    assert!(r.all().contains("Cancelled"), "{}", r.all());
    assert!(!exists(&db, "t"));
    let r = on_terminal(&p, &url, "--env staging db migrate up", "y\n");
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(exists(&db, "t"));
    let r = on_terminal(&p, &url, "--env production db migrate down", "yes\n");
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all().contains("Type yes-destroy-production to continue"),
        "{}",
        r.all()
    );
    assert!(exists(&db, "t"));
    let r = on_terminal(
        &p,
        &url,
        "--env production db migrate down",
        "yes-destroy-production\n",
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(!exists(&db, "t"));
}
