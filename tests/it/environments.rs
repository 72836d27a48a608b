//! Environments and sides (issue 11): a diff between two environments as their migrations
//! leave them, which configuration a named environment uses, hints that name the environment,
//! and the project folder found from a subfolder. Two databases of the test cluster stand for
//! local (exported `DATABASE_URL`, as a developer's shell has it) and staging (`.env.staging`).

use super::support::{Project, Run};
use nself::local::testing::{fresh_database, TestDatabase};

const M1: &str =
    "-- UP\nCREATE TABLE users (id int PRIMARY KEY, name text);\n-- DOWN\nDROP TABLE users;\n";
const M2: &str = "-- UP\nCREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users (id), created_at timestamptz);\n-- DOWN\nDROP TABLE posts;\n";
const M3: &str = "-- UP\nCREATE INDEX idx_posts_created_at ON posts (created_at);\n-- DOWN\nDROP INDEX idx_posts_created_at;\n";
const M4: &str = "-- UP\nALTER TABLE posts ADD COLUMN title text;\n-- DOWN\nALTER TABLE posts DROP COLUMN title;\n";
const M5: &str = "-- UP\nDROP INDEX idx_posts_created_at;\n-- DOWN\nCREATE INDEX idx_posts_created_at ON posts (created_at);\n";

fn url(db: &TestDatabase) -> String {
    db.params.to_url_with_password()
}

fn tables(db: &TestDatabase) -> Vec<String> {
    db.client()
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[track_caller]
fn says(r: &Run, needle: &str) {
    assert!(
        r.all().contains(needle),
        "output lacks {needle:?}:\nstdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
}

/// Bullet 1 and the "which database and why" part of bullet 2: staging has 001–003, local
/// 001–005 plus a table made by hand. The generated migration holds only that table (not 004's
/// column nor 005's dropped index), applies on staging after 004/005, and on local is recorded
/// as applied by the command the diff prints; a fresh database built from all six files is
/// local's schema. The exported DATABASE_URL (local's) never reaches staging.
#[test]
fn generated_migration_is_what_staging_needs_after_its_pending_migrations() {
    let (local, staging, fresh) = (fresh_database(), fresh_database(), fresh_database());
    let p = Project::new();
    p.write(".env.staging", &format!("DATABASE_URL={}\n", url(&staging)))
        .write("nself/migrations/001_users.sql", M1)
        .write("nself/migrations/002_posts.sql", M2)
        .write("nself/migrations/003_posts_index.sql", M3);
    let local_url = url(&local);
    let env = [("DATABASE_URL", local_url.as_str())];

    let r = p.run(&["--env", "staging", "db", "migrate", "up", "--yes"], &env);
    r.ok();
    says(&r, "Database: ");
    says(&r, "(staging: DATABASE_URL from .env.staging)");
    says(
        &r,
        "DATABASE_URL in the process environment belongs to local",
    );
    assert_eq!(tables(&staging), ["posts", "schema_migrations", "users"]);
    assert!(
        tables(&local).is_empty(),
        "the exported DATABASE_URL was used for staging"
    );

    p.write("nself/migrations/004_post_title.sql", M4)
        .write("nself/migrations/005_drop_posts_index.sql", M5);
    let r = p.run(&["db", "migrate", "up"], &env);
    r.ok();
    says(&r, "(local: DATABASE_URL from the process environment)");
    local
        .client()
        .batch_execute("CREATE TABLE comments (id int PRIMARY KEY, body text)")
        .unwrap();

    let r = p.run(&["db", "schema", "diff", "staging"], &env);
    r.ok();
    says(&r, "+ Table: comments (missing in staging)");
    says(
        &r,
        "staging has 2 pending migrations (004_post_title, 005_drop_posts_index)",
    );
    assert!(
        !r.stdout.contains("title") && !r.stdout.contains("idx_posts_created_at"),
        "staging's pending migrations were ignored:\n{}",
        r.stdout
    );

    let r = p.run(
        &["db", "schema", "diff", "staging", "--generate-migration"],
        &env,
    );
    r.ok();
    let files = p.migration_files();
    assert_eq!(files.len(), 6, "{files:?}");
    let text = std::fs::read_to_string(p.path().join("nself/migrations").join(&files[5])).unwrap();
    assert!(text.contains("comments"), "{text}");
    assert!(
        !text.contains("title") && !text.contains("idx_posts_created_at"),
        "the migration repeats what 004/005 do:\n{text}"
    );
    says(
        &r,
        "Apply it to staging with its pending migrations: nself --env staging db migrate up",
    );
    says(
        &r,
        "record the migration there without running it: nself db migrate repair --mark-applied 006",
    );
    assert!(staging.client().query("SELECT 1 FROM posts", &[]).is_ok());
    assert_eq!(
        tables(&staging),
        ["posts", "schema_migrations", "users"],
        "the provisional run was rolled back"
    );

    // Staging: 004, 005 and the new 006 apply cleanly.
    let r = p.run(&["--env", "staging", "db", "migrate", "up", "--yes"], &env);
    r.ok();
    says(&r, "006_");

    // Local: the printed command records 006 without running it; nothing is left pending.
    let r = p.run(
        &["db", "migrate", "repair", "--mark-applied", "006", "--yes"],
        &env,
    );
    r.ok();
    let status = p
        .run(&["db", "migrate", "status", "--format", "json"], &env)
        .ok()
        .json();
    assert_eq!(status["pending"], 0, "{status:#}");
    p.run(&["db", "migrate", "up"], &env).ok();
    // And the two environments now match.
    let r = p.run(&["db", "schema", "diff", "staging", "--exit-code"], &env);
    r.ok();
    says(&r, "No differences.");

    // A new teammate's database: the six files build exactly local's schema.
    let fresh_url = url(&fresh);
    p.run(&["--database-url", &fresh_url, "db", "migrate", "up"], &[])
        .ok();
    let r = p.run(&["db", "schema", "diff", &fresh_url, "--exit-code"], &env);
    r.ok();
    says(&r, "No differences.");
}

/// Bullet 2: an exported DATABASE_URL does not stand in for a named environment; the same
/// database on both sides of a diff is an error, however its URL is spelled.
#[test]
fn a_named_environment_uses_its_own_configuration_or_refuses() {
    let local = fresh_database();
    let p = Project::new();
    p.write("nself/migrations/001_users.sql", M1);
    let local_url = url(&local);
    let env = [("DATABASE_URL", local_url.as_str())];

    // No .env.staging: refused, with the reason and what works.
    let r = p.run(&["--env", "staging", "db", "migrate", "status"], &env);
    r.fails(
        1,
        &[
            "no database configured for staging",
            "DATABASE_URL in the process environment belongs to local",
            "NSELF_ENV=staging",
            "--database-url",
        ],
    );
    // Exported together with NSELF_ENV=staging, it is staging's.
    let both = [
        ("DATABASE_URL", local_url.as_str()),
        ("NSELF_ENV", "staging"),
    ];
    let r = p.run(&["--env", "staging", "db", "migrate", "status"], &both);
    r.ok();
    says(&r, "001");
    // A diff side: --database-url would set the other side, so the advice is the URL form.
    let r = p.run(&["db", "schema", "diff", "staging"], &env);
    r.fails(
        1,
        &[
            "no database configured for staging",
            "nself db schema diff postgres://",
        ],
    );
    assert!(!r.stderr.contains("--database-url"), "{}", r.stderr);

    // .env.staging names the same database (spelled differently): an error, not "No differences".
    let sep = if local_url.contains('?') { '&' } else { '?' };
    p.write(
        ".env.staging",
        &format!("DATABASE_URL={local_url}{sep}application_name=other\n"),
    );
    let r = p.run(&["db", "schema", "diff", "staging"], &env);
    r.fails(1, &["same database"]);
    assert!(!r.stdout.contains("No differences"), "{}", r.stdout);
}

/// Bullet 3: hints for `--env staging` name `--env staging`.
#[test]
fn hints_name_the_environment_the_command_ran_in() {
    let staging = fresh_database();
    let p = Project::new();
    p.write(".env.staging", &format!("DATABASE_URL={}\n", url(&staging)))
        .write("nself/schema.dbml", "Table users {\n  id int [pk]\n}\n")
        .write("nself/migrations/.keep", "");
    let r = p.run(&["--env", "staging", "db", "status"], &[]);
    r.ok();
    says(&r, "`nself --env staging db schema diff`");
    says(&r, "`nself --env staging db backup`");
    let r = p.run(&["--env", "staging", "db", "migrate", "status"], &[]);
    r.ok();
    says(&r, "`nself --env staging db migrate create NAME`");
    // The backup and restore hints too.
    let r = p.run(&["--env", "staging", "db", "backup", "list"], &[]);
    r.ok();
    says(&r, "Make one with `nself --env staging db backup`");
    let r = p.run(&["--env", "staging", "db", "restore", "--yes"], &[]);
    r.fails(1, &["make one with `nself --env staging db backup`"]);
    // Selected by the process environment, the plain command works as printed.
    let r = p.run(&["db", "status"], &[("NSELF_ENV", "staging")]);
    r.ok();
    says(&r, "(`nself db schema diff` shows them with their hazards)");
}

/// Bullet 4: from a subfolder, the project folder is found upward (never `nself/` itself, even
/// with a `.nself/` an older nself left there); it is named; `--project-dir` still wins.
#[test]
fn the_project_folder_is_found_from_a_subfolder() {
    let db = fresh_database();
    let p = Project::new();
    p.write("nself/migrations/001_users.sql", M1)
        .write("nself/.nself/postgres/.keep", "")
        .write("elsewhere/nself/migrations/001_other.sql", M1);
    let db_url = url(&db);
    let env = [("DATABASE_URL", db_url.as_str())];
    let root = p.path().display().to_string();
    let root = root.trim_end_matches('/').to_string();
    for sub in ["nself/migrations", "nself"] {
        let r = p.run_in(sub, &["db", "migrate", "status"], &env);
        r.ok();
        says(&r, "001      users");
        says(&r, &format!("Using the project folder {root}"));
    }
    let r = p.run_in("nself/migrations", &["db", "status"], &env);
    r.ok();
    says(&r, &format!("Project:      {root}\n"));
    assert!(
        !p.path().join("nself/migrations/.nself").exists()
            && !p.path().join("nself/.nself/postgres/data").exists(),
        "a second local database was made in a subfolder"
    );
    // In the root itself nothing is said; --project-dir wins over the search.
    let r = p.run(&["db", "migrate", "status"], &env);
    r.ok();
    assert!(
        !r.stderr.contains("Using the project folder"),
        "{}",
        r.stderr
    );
    let r = p.run_in(
        "nself/migrations",
        &[
            "--project-dir",
            "../../elsewhere",
            "db",
            "migrate",
            "status",
        ],
        &env,
    );
    r.ok();
    says(&r, "001      other");
}
