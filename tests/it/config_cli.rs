//! Configuration through the real binary: environment selection, the .env cascade, redaction.
//! `nself status --format json` reports both without starting anything.

use super::support::Project;

fn status(p: &Project, args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let mut all = vec!["status", "--format", "json"];
    all.extend_from_slice(args);
    p.run(&all, env).ok().json()
}

#[test]
fn environment_selection_through_the_binary() {
    let p = Project::new();
    p.write(
        ".env",
        "ENV=staging\nDATABASE_URL=postgres://base@base-host/app\n",
    )
    .write(
        ".env.staging",
        "DATABASE_URL=postgres://stage@staging-host/app\n",
    )
    .write(
        ".env.production",
        "DATABASE_URL=postgres://prod@prod-host/app\n",
    )
    .write(".env.local", "DATABASE_URL=postgres://me@local-host/app\n");
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (&[], &[], "staging", "staging-host"),
        (&[], &[("ENV", "prod")], "production", "prod-host"),
        (
            &[],
            &[("ENV", "prod"), ("NSELF_ENV", "development")],
            "local",
            "local-host",
        ),
        (
            &["--env", "stage"],
            &[("NSELF_ENV", "prod")],
            "staging",
            "staging-host",
        ),
        // The exported DATABASE_URL belongs to the environment the process environment and
        // the files select (staging, from .env): `--env dev` names another one, so it uses
        // local's files (issue 11; it used to take the exported URL).
        (
            &["--env", "dev"],
            &[("DATABASE_URL", "postgres://x@process-host/app")],
            "local",
            "local-host",
        ),
        (
            &["--env", "dev"],
            &[
                ("DATABASE_URL", "postgres://x@process-host/app"),
                ("NSELF_ENV", "dev"),
            ],
            "local",
            "process-host",
        ),
    ];
    for (args, env, want_env, want_host) in cases {
        let doc = status(&p, args, env);
        assert_eq!(doc["environment"], *want_env, "{args:?} {env:?}");
        let target = doc["target"].as_str().unwrap();
        assert!(target.contains(want_host), "{args:?} {env:?}: {target}");
    }
    let flag = status(&p, &["--database-url", "postgres://f@flag-host/x"], &[]);
    assert!(flag["target"].as_str().unwrap().contains("flag-host"));
}

#[test]
fn unknown_environments_are_rejected_clearly() {
    let p = Project::new();
    let r = p.run(&["--env", "qa", "status"], &[]);
    r.fails(2, &["unknown environment \"qa\"", "staging"]);
    let r = p.run(&["status"], &[("NSELF_ENV", "qa")]);
    r.fails(1, &["process environment"]);
}

#[test]
fn staging_without_a_database_says_what_to_set() {
    let p = Project::new();
    let r = p.run(&["db", "status", "--env", "staging"], &[]);
    r.fails(1, &["no database configured for staging", ".env.staging"]);
    assert!(
        !p.state_dir().exists(),
        "staging must never start the local database"
    );
}

#[test]
fn malformed_env_files_name_the_line_and_hide_values() {
    let p = Project::new();
    p.write(".env", "OK=1\nPOSTGRES_PASSWORD=\"hunter2-secret\" junk\n");
    let r = p.run(&["status"], &[]);
    r.fails(1, &[".env:2"]);
    assert!(!r.all().contains("hunter2-secret"), "{}", r.all());
}

#[test]
fn passwords_never_appear_in_output() {
    let p = Project::new();
    p.write(
        ".env",
        "POSTGRES_HOST=127.0.0.1\nPOSTGRES_PORT=1\nPOSTGRES_PASSWORD=sw0rdfish-pw\n",
    );
    for args in [
        vec!["status"],
        vec!["status", "--format", "json"],
        vec!["db", "status"],
        vec!["db", "status", "--format", "json"],
        vec!["db", "shell", "-c", "select 1"],
    ] {
        let r = p.run(&args, &[]);
        assert!(!r.all().contains("sw0rdfish-pw"), "{args:?}: {}", r.all());
        if args[0] == "db" {
            assert_eq!(r.code, 1, "{args:?}: {}", r.all());
            assert!(
                r.all().contains("postgres:****@127.0.0.1:1"),
                "{args:?}: {}",
                r.all()
            );
        }
    }
    let r = p.run(
        &["db", "status"],
        &[("DATABASE_URL", "postgres://u:sw0rdfish-pw@127.0.0.1:1/d")],
    );
    assert_eq!(r.code, 1);
    assert!(
        !r.all().contains("sw0rdfish-pw")
            && r.stderr
                .contains("cannot reach postgresql://u:****@127.0.0.1:1/d"),
        "{}",
        r.all()
    );
}

#[test]
fn every_command_has_help_with_examples_and_bad_usage_exits_2() {
    let p = Project::new();
    for args in [
        vec!["--help"],
        vec!["db", "--help"],
        vec!["start", "--help"],
        vec!["stop", "--help"],
        vec!["status", "--help"],
        vec!["restart", "--help"],
        vec!["logs", "--help"],
        vec!["db", "status", "--help"],
        vec!["db", "shell", "--help"],
    ] {
        let r = p.run(&args, &[]);
        assert_eq!(r.code, 0, "{args:?}");
        assert!(r.stdout.contains("Examples:"), "{args:?}: {}", r.stdout);
    }
    for args in [
        vec!["restart", "redis"],
        vec!["logs"],
        vec!["db", "status", "--format", "xml"],
        vec!["db", "shell", "-c", "x", "-f", "y"],
    ] {
        assert_eq!(p.run(&args, &[]).code, 2, "{args:?}");
    }
}
