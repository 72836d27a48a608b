//! A closed standard output (`nself … | head -1`) never panics: each command finishes what it
//! was doing and exits with its own code, quietly. Real binary, real throwaway database.

use super::support::{Project, NSELF};
use nself::local::testing::fresh_database;
use std::io::Read;
use std::process::{Command, Stdio};

/// Runs nself with stdout a pipe whose reading end is closed before nself writes anything, and
/// stderr captured. Returns the exit code and stderr.
fn with_closed_stdout(p: &Project, url: &str, args: &[&str]) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = Command::new(NSELF)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .current_dir(p.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let code = child.wait().unwrap().code().unwrap_or(-1);
    (code, stderr)
}

#[test]
fn a_closed_stdout_ends_output_quietly_and_the_work_is_still_done() {
    let db = fresh_database();
    let url = db.params.to_url_with_password();
    let p = Project::new();
    p.write(
        "nself/migrations/001_users.sql",
        "-- UP\nCREATE TABLE users (id int PRIMARY KEY, email text);\n-- DOWN\nDROP TABLE users;\n",
    );
    p.write(
        "nself/migrations/002_posts.sql",
        "-- UP\nCREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users);\n-- DOWN\nDROP TABLE posts;\n",
    );
    p.write(
        "nself/schema.dbml",
        "Table users {\n  id int [pk]\n  email text\n}\nTable posts {\n  id int [pk]\n  user_id int [ref: > users.id]\n  title text\n}\n",
    );

    // The command that writes and changes: every migration applied, exit 0, no panic.
    let (code, stderr) = with_closed_stdout(&p, &url, &["db", "migrate", "up"]);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, 0, "{stderr}");
    let mut c = db.client();
    let applied: i64 = c
        .query_one("SELECT count(*) FROM public.schema_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(applied, 2);

    for args in [
        &["db", "migrate", "status"][..],
        &["db", "status"],
        &["db", "schema", "check", "nself/schema.dbml"],
        &[
            "db",
            "schema",
            "check",
            "nself/schema.dbml",
            "--format",
            "json",
        ],
        &["db", "schema", "export"],
        &["db", "schema", "diff"],
        &["db", "schema", "import", "nself/schema.dbml", "--dry-run"],
        &["db", "backup", "list"],
        &["db", "backup", "status"],
        &["--help"],
        &["--version"],
        &["db", "migrate", "--help"],
        &["completions", "bash"],
        &["man"],
        &["db", "schema", "export", "--format", "json"],
    ] {
        let (code, stderr) = with_closed_stdout(&p, &url, args);
        assert!(!stderr.contains("panicked"), "nself {args:?}: {stderr}");
        assert_ne!(code, 101, "nself {args:?}: {stderr}");
        // Quietly: a closed pipe is not an error to report.
        assert!(
            !stderr.contains("Broken pipe") && !stderr.contains("standard output"),
            "nself {args:?}: {stderr}"
        );
    }
    // Commands whose whole output is one write end with their own success code.
    for args in [
        &["completions", "bash"][..],
        &["man"],
        &["db", "schema", "export"],
    ] {
        let (code, stderr) = with_closed_stdout(&p, &url, args);
        assert_eq!(code, 0, "nself {args:?}: {stderr}");
    }
}
