//! The migration runner and seeds through the real binary, on real throwaway databases: the
//! example project end to end, atomic failures, concurrent runners, killed runners, modified
//! files and repair, no-transaction migrations, the older tracking table, file problems.

use super::support::{tracked, Project, Run, NSELF};
use nself::local::testing::{fresh_database, TestDatabase};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A project whose migrations folder holds `files`.
fn project(files: &[(&str, &str)]) -> Project {
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("nself/migrations")).unwrap();
    for (name, text) in files {
        p.write(&format!("nself/migrations/{name}"), text);
    }
    p
}

fn url(db: &TestDatabase) -> String {
    db.params.to_url_with_password()
}

fn nself(p: &Project, db: &TestDatabase, args: &[&str]) -> Run {
    let u = url(db);
    p.run(args, &[("DATABASE_URL", &u)])
}

/// Tables in public, except the tracking table.
fn tables(db: &TestDatabase) -> BTreeSet<String> {
    db.client()
        .query(
            "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace \
              AND relkind = 'r' AND relname <> 'schema_migrations'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn example_project_migrates_seeds_rolls_back_and_reapplies() {
    let db = fresh_database();
    let p = Project::new();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("nself"),
        &p.path().join("nself"),
    );
    let status = nself(&p, &db, &["db", "migrate", "status"])
        .ok()
        .stdout
        .clone();
    assert!(status.contains("VERSION  NAME"), "{status}");
    assert!(
        status.contains("003      add_user_preferences  Pending"),
        "{status}"
    );
    let up = nself(&p, &db, &["db", "migrate", "up"]).ok().stdout.clone();
    for id in [
        "001_create_users",
        "002_create_posts",
        "003_add_user_preferences",
        "004_create_comments",
    ] {
        assert!(up.contains(&format!("Applying {id}... Done")), "{up}");
    }
    assert_eq!(tracked(&db).len(), 4);
    // The guide's 003 has its own BEGIN/COMMIT: applied atomically with its row.
    let mut c = db.client();
    let has_check: bool = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'check_preferences_format')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(has_check);
    let seeded = nself(&p, &db, &["db", "seed"]).ok().stdout.clone();
    assert!(
        seeded.contains("Running common/01_roles.sql... Done"),
        "{seeded}"
    );
    assert!(
        seeded.contains("Running local/02_sample_posts.sql... Done"),
        "{seeded}"
    );
    // Seeds run again without harm.
    nself(&p, &db, &["db", "seed"]).ok();
    let users: i64 = c
        .query_one("SELECT count(*) FROM users", &[])
        .unwrap()
        .get(0);
    assert_eq!(users, 3);
    let comments: i64 = c
        .query_one("SELECT count(*) FROM comments", &[])
        .unwrap()
        .get(0);
    assert_eq!(comments, 2);
    let dry = nself(&p, &db, &["db", "seed", "--dry-run", "--format", "json"])
        .ok()
        .json();
    let files: Vec<&str> = dry["seeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "common/01_roles.sql",
            "common/02_default_settings.sql",
            "local/01_test_users.sql",
            "local/02_sample_posts.sql"
        ]
    );
    nself(&p, &db, &["db", "seed", "01_test_users.sql"]).ok();
    let s = nself(&p, &db, &["db", "status", "--format", "json"])
        .ok()
        .json();
    assert_eq!(s["migrations"]["applied"], 4);
    assert_eq!(s["migrations"]["pending"], 0);
    // Every DOWN section undoes its UP: down 4 leaves nothing, up again works.
    drop(c);
    nself(&p, &db, &["db", "migrate", "down", "4"]).ok();
    assert!(tables(&db).is_empty(), "{:?}", tables(&db));
    assert!(tracked(&db).is_empty());
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    assert_eq!(tables(&db).len(), 3);
}

/// Everything about the schema and data a failed migration could have touched.
fn snapshot(db: &TestDatabase) -> String {
    let mut c = db.client();
    let rows = c
        .query(
            "SELECT string_agg(x, E'\\n' ORDER BY x) FROM ( \
               SELECT c.relname || ' ' || c.relkind::text || ' ' || coalesce(string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum), '') AS x \
                 FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
                WHERE c.relnamespace = 'public'::regnamespace GROUP BY c.relname, c.relkind \
               UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace \
               UNION ALL SELECT typname FROM pg_type WHERE typnamespace = 'public'::regnamespace \
               UNION ALL SELECT 'row ' || t::text FROM accounts t \
               UNION ALL SELECT 'tracked ' || version || ' ' || name FROM schema_migrations \
             ) s",
            &[],
        )
        .unwrap();
    rows[0].get::<_, Option<String>>(0).unwrap_or_default()
}

#[test]
fn a_migration_failing_halfway_leaves_schema_data_and_tracking_as_before() {
    let db = fresh_database();
    let p = project(&[(
        "001_accounts.sql",
        "-- UP\nCREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);\nINSERT INTO accounts VALUES (1, 100), (2, 50);\n-- DOWN\nDROP TABLE accounts;\n",
    )]);
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    let before = snapshot(&db);
    assert!(before.contains("row (1,100)"), "{before}");
    p.write(
        "nself/migrations/002_half.sql",
        "-- UP\nCREATE TYPE mood AS ENUM ('ok');\nALTER TABLE accounts ADD COLUMN note text;\nUPDATE accounts SET balance = balance - 75;\nCREATE TABLE audit (id int);\nCREATE INDEX audit_id ON audit (id);\n-- the constraint fails: account 2 went negative\nALTER TABLE accounts ADD CONSTRAINT positive CHECK (balance >= 0);\nCREATE TABLE never (id int);\n",
    );
    let r = nself(&p, &db, &["db", "migrate", "up"]);
    r.fails(1, &["002_half.sql:8", "positive", "rolled back"]);
    assert_eq!(snapshot(&db), before);
    assert_eq!(tracked(&db).len(), 1);
    let json = nself(&p, &db, &["db", "migrate", "status", "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["migrations"][1]["status"], "Pending");
}

#[test]
fn eight_runners_at_once_apply_every_migration_exactly_once() {
    let db = fresh_database();
    let mut files = vec![(
        "001_log.sql".to_string(),
        "CREATE TABLE runs (version int NOT NULL, backend int NOT NULL DEFAULT pg_backend_pid());\n".to_string(),
    )];
    for v in 2..=15 {
        files.push((
            format!("{v:03}_step.sql"),
            format!("-- UP\nCREATE TABLE t_{v} (id int);\nINSERT INTO runs (version) VALUES ({v});\nSELECT pg_sleep(0.01);\n-- DOWN\nDROP TABLE t_{v};\n"),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let p = project(&refs);
    let u = url(&db);
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(NSELF)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .current_dir(p.path())
                .args(["db", "migrate", "up", "--database-url", &u])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rows = tracked(&db);
    assert_eq!(rows.len(), 15);
    assert!(rows.iter().all(|r| r.2));
    let runs: Vec<i32> = db
        .client()
        .query("SELECT version FROM runs ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        runs,
        (2..=15).collect::<Vec<i32>>(),
        "each migration ran once"
    );
}

/// A small, seeded generator (xorshift64*): the same kill times on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

#[test]
fn a_runner_killed_at_any_moment_leaves_tracking_matching_the_schema() {
    const MIGRATIONS: usize = 12;
    let db = fresh_database();
    let files: Vec<(String, String)> = (1..=MIGRATIONS)
        .map(|v| {
            (
                format!("{v:03}_t.sql"),
                format!("-- UP\nCREATE TABLE t_{v} (id int);\nSELECT pg_sleep(0.00{});\nINSERT INTO t_{v} VALUES ({v});\n-- DOWN\nDROP TABLE t_{v};\n", v % 5),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let p = project(&refs);
    let u = url(&db);
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let mut outcomes = [0usize; 2]; // [killed before finishing, finished]
    let mut partial = 0; // kills that left some but not all of the pending migrations applied
    let mut before = 0;
    let started = Instant::now();
    for iteration in 0..50 {
        let mut child = Command::new(NSELF)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(p.path())
            .args(["db", "migrate", "up", "--database-url", &u])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.below(70)));
        // SIGKILL: no chance to clean up.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let status = child.wait().unwrap();
        outcomes[usize::from(status.success())] += 1;
        let versions: BTreeSet<String> = tracked(&db)
            .iter()
            .map(|(v, _, ok)| {
                assert!(ok, "iteration {iteration}: a dirty row");
                format!("t_{v}")
            })
            .collect();
        assert_eq!(versions, tables(&db), "iteration {iteration}");
        // Every table a tracked migration made has its row, too.
        for t in &versions {
            let n: i64 = db
                .client()
                .query_one(&format!("SELECT count(*) FROM {t}"), &[])
                .unwrap()
                .get(0);
            assert_eq!(n, 1, "iteration {iteration}: {t}");
        }
        if before < versions.len() && versions.len() < MIGRATIONS {
            partial += 1;
        }
        // A new run completes.
        let r = p.run(&["db", "migrate", "up", "--database-url", &u], &[]);
        r.ok();
        assert_eq!(tracked(&db).len(), MIGRATIONS, "iteration {iteration}");
        // Back to a random earlier state for the next kill.
        let keep = rng.below(MIGRATIONS as u64 / 2) as i64;
        let mut c = db.client();
        for v in keep + 1..=MIGRATIONS as i64 {
            c.batch_execute(&format!("DROP TABLE t_{v}")).unwrap();
        }
        c.execute("DELETE FROM schema_migrations WHERE version > $1", &[&keep])
            .unwrap();
        before = keep as usize;
    }
    assert!(
        partial > 0,
        "no kill landed mid-run: the test proved nothing"
    );
    eprintln!(
        "killed-runner test: {} killed before finishing ({partial} of them between two \
         migrations' commits), {} finished before the kill, {:?}",
        outcomes[0],
        outcomes[1],
        started.elapsed()
    );
}

#[test]
fn an_edited_migration_shows_as_modified_and_blocks_up_until_repaired() {
    let db = fresh_database();
    let p = project(&[(
        "001_a.sql",
        "-- UP\nCREATE TABLE a (id int);\n-- DOWN\nDROP TABLE a;\n",
    )]);
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    p.write(
        "nself/migrations/001_a.sql",
        "-- UP\nCREATE TABLE a (id bigint);\n-- DOWN\nDROP TABLE a;\n",
    );
    p.write("nself/migrations/002_b.sql", "CREATE TABLE b (id int);\n");
    let s = nself(&p, &db, &["db", "migrate", "status"])
        .ok()
        .stdout
        .clone();
    assert!(s.contains("001      a                     Modified"), "{s}");
    let j = nself(&p, &db, &["db", "migrate", "status", "--format", "json"])
        .ok()
        .json();
    assert_eq!(j["modified"], 1);
    assert_ne!(
        j["migrations"][0]["checksum"],
        j["migrations"][0]["applied_checksum"]
    );
    nself(&p, &db, &["db", "migrate", "up"]).fails(
        1,
        &["001_a.sql changed since it was applied", "migrate repair"],
    );
    assert!(!tables(&db).contains("b"), "nothing ran");
    nself(&p, &db, &["db", "migrate", "down"]).fails(1, &["migrate repair"]);
    // Without a terminal, repair needs --yes and changes nothing before it.
    let r = nself(&p, &db, &["db", "migrate", "repair"]);
    r.fails(1, &["--yes"]);
    assert!(r.stdout.contains("001_a: accept the file"), "{}", r.stdout);
    nself(&p, &db, &["db", "migrate", "repair", "--yes"]).ok();
    let j = nself(&p, &db, &["db", "migrate", "status", "--format", "json"])
        .ok()
        .json();
    assert_eq!(j["migrations"][0]["status"], "Applied");
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    assert!(tables(&db).contains("b"));
    // No DOWN section: rolling back 002 is refused, nothing changes.
    nself(&p, &db, &["db", "migrate", "down"]).fails(1, &["002_b.sql has no DOWN section"]);
    assert_eq!(tracked(&db).len(), 2);
    // --mark-pending / --mark-applied.
    nself(
        &p,
        &db,
        &["db", "migrate", "repair", "--mark-pending", "2", "--yes"],
    )
    .ok();
    assert_eq!(tracked(&db).len(), 1);
    nself(
        &p,
        &db,
        &["db", "migrate", "repair", "--mark-applied", "2", "--yes"],
    )
    .ok();
    assert_eq!(tracked(&db).len(), 2);
    nself(
        &p,
        &db,
        &["db", "migrate", "repair", "--mark-applied", "9", "--yes"],
    )
    .fails(2, &["no migration file has version 9"]);
}

#[test]
fn a_no_transaction_migration_is_dirty_until_it_finishes() {
    let db = fresh_database();
    db.client()
        .batch_execute("CREATE TABLE big (id int)")
        .unwrap();
    // Without the directive, the server refuses and nself says what to do.
    let p = project(&[(
        "001_index.sql",
        "CREATE INDEX CONCURRENTLY big_id ON big (id);\n",
    )]);
    nself(&p, &db, &["db", "migrate", "up"])
        .fails(1, &["001_index.sql:1", "hint:", "-- nself:no-transaction"]);
    let p = project(&[(
        "001_index.sql",
        "-- nself:no-transaction\n-- UP\nCREATE INDEX CONCURRENTLY big_id ON big (id);\nSELECT 1/0;\n-- DOWN\nDROP INDEX CONCURRENTLY big_id;\n",
    )]);
    nself(&p, &db, &["db", "migrate", "up"]).fails(
        1,
        &[
            "001_index.sql:4",
            "division by zero",
            "dirty",
            "migrate repair",
        ],
    );
    assert_eq!(tracked(&db), [(1, "index".to_string(), false)]);
    let s = nself(&p, &db, &["db", "migrate", "status"])
        .ok()
        .stdout
        .clone();
    assert!(s.contains("Failed (dirty)"), "{s}");
    nself(&p, &db, &["db", "migrate", "up"]).fails(1, &["marked dirty", "migrate repair"]);
    // Fixed by hand: the file no longer fails; repair clears the mark.
    p.write(
        "nself/migrations/001_index.sql",
        "-- nself:no-transaction\n-- UP\nCREATE INDEX CONCURRENTLY big_id ON big (id);\n-- DOWN\nDROP INDEX CONCURRENTLY big_id;\n",
    );
    nself(&p, &db, &["db", "migrate", "repair", "--yes"]).ok();
    assert_eq!(tracked(&db), [(1, "index".to_string(), true)]);
    nself(&p, &db, &["db", "migrate", "down"]).ok();
    assert!(tracked(&db).is_empty());
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    assert_eq!(tracked(&db), [(1, "index".to_string(), true)]);
}

#[test]
fn the_older_tracking_table_is_upgraded_in_place() {
    let db = fresh_database();
    db.client()
        .batch_execute(
            "CREATE TABLE schema_migrations (version varchar(255) PRIMARY KEY, applied_at timestamp DEFAULT now()); \
             INSERT INTO schema_migrations VALUES ('001', '2025-06-01 10:00'); \
             CREATE TABLE a (id int);",
        )
        .unwrap();
    let p = project(&[
        ("001_a.sql", "CREATE TABLE a (id int);\n"),
        (
            "002_b.sql",
            "-- UP\nCREATE TABLE b (id int);\n-- DOWN\nDROP TABLE b;\n",
        ),
    ]);
    let s = nself(&p, &db, &["db", "migrate", "status", "--format", "json"])
        .ok()
        .json();
    assert_eq!(s["migrations"][0]["status"], "Applied");
    assert_eq!(s["migrations"][1]["status"], "Pending");
    let r = nself(&p, &db, &["db", "migrate", "up"]).ok().stdout.clone();
    assert!(r.contains("Recorded the checksum of 001_a"), "{r}");
    let mut c = db.client();
    let rows = c
        .query("SELECT version, to_char(applied_at, 'YYYY-MM-DD'), checksum IS NOT NULL, success FROM schema_migrations ORDER BY version", &[])
        .unwrap();
    let got: Vec<(String, String, bool, bool)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(got[0], ("001".into(), "2025-06-01".into(), true, true));
    assert_eq!(got[1].0, "002");
    nself(&p, &db, &["db", "migrate", "down"]).ok();
    assert_eq!(tracked_versions_text(&db), ["001"]);
}

fn tracked_versions_text(db: &TestDatabase) -> Vec<String> {
    db.client()
        .query(
            "SELECT version::text FROM schema_migrations ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn file_problems_are_named_and_nothing_runs() {
    let db = fresh_database();
    let p = project(&[
        ("001_a.sql", "CREATE TABLE a (id int);\n"),
        ("001_again.sql", "CREATE TABLE again (id int);\n"),
        ("02_short.sql", "SELECT 1;\n"),
        ("003_Bad-Name.sql", "SELECT 1;\n"),
        ("004_empty.sql", "-- UP\n\n-- DOWN\nSELECT 1;\n"),
        ("README.md", "not a migration"),
    ]);
    let r = nself(&p, &db, &["db", "migrate", "up"]);
    r.fails(
        1,
        &[
            "001_again.sql",
            "also used by 001_a.sql",
            "02_short.sql",
            "003_Bad-Name.sql",
            "004_empty.sql:1",
            "UP section is empty",
        ],
    );
    assert!(tables(&db).is_empty());
}

#[test]
fn out_of_order_pending_files_need_the_flag() {
    let db = fresh_database();
    let p = project(&[("002_b.sql", "CREATE TABLE b (id int);\n")]);
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    p.write("nself/migrations/001_a.sql", "CREATE TABLE a (id int);\n");
    let s = nself(&p, &db, &["db", "migrate", "status"])
        .ok()
        .stdout
        .clone();
    assert!(s.contains("Pending (out of order)"), "{s}");
    nself(&p, &db, &["db", "migrate", "up"]).fails(
        1,
        &[
            "001_a.sql is pending but older than",
            "--allow-out-of-order",
        ],
    );
    nself(&p, &db, &["db", "migrate", "up", "--allow-out-of-order"]).ok();
    assert!(tables(&db).contains("a"));
}

#[test]
fn up_n_down_n_and_create() {
    let db = fresh_database();
    let p = project(&[]);
    for name in ["first", "Second step", "third-one"] {
        p.run(&["db", "migrate", "create", name], &[]).ok();
    }
    let mut names: Vec<String> = std::fs::read_dir(p.path().join("nself/migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["001_first.sql", "002_second_step.sql", "003_third_one.sql"]
    );
    let text =
        std::fs::read_to_string(p.path().join("nself/migrations/002_second_step.sql")).unwrap();
    assert!(
        text.starts_with("-- Migration: 002_second_step\n-- Created: 20"),
        "{text}"
    );
    assert!(
        text.contains("\n-- UP\n") && text.contains("\n-- DOWN\n"),
        "{text}"
    );
    // Empty UP sections are refused until written.
    nself(&p, &db, &["db", "migrate", "up"]).fails(1, &["UP section is empty"]);
    for (i, name) in names.iter().enumerate() {
        p.write(
            &format!("nself/migrations/{name}"),
            &format!("-- UP\nCREATE TABLE t{i} (id int);\n-- DOWN\nDROP TABLE t{i};\n"),
        );
    }
    p.run(&["db", "migrate", "create", "drop; table"], &[])
        .fails(2, &["cannot be a migration name"]);
    nself(&p, &db, &["db", "migrate", "up", "2"]).ok();
    assert_eq!(tracked(&db).len(), 2);
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    assert_eq!(tracked(&db).len(), 3);
    let j = nself(&p, &db, &["db", "migrate", "down", "2", "--format", "json"])
        .ok()
        .json();
    let versions: Vec<&str> = j["rolled_back"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["003", "002"], "newest first");
    assert_eq!(tables(&db), BTreeSet::from(["t0".to_string()]));
    let r = nself(&p, &db, &["db", "migrate", "up"]).ok().stdout.clone();
    assert!(r.contains("2 migrations applied"), "{r}");
    let r = nself(&p, &db, &["db", "migrate", "up"]).ok().stdout.clone();
    assert!(r.contains("up to date"), "{r}");
}

#[test]
fn seeds_run_in_natural_order_and_stop_at_the_first_failure() {
    let db = fresh_database();
    let p = project(&[("001_log.sql", "CREATE TABLE log (n int PRIMARY KEY);\n")]);
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    p.write(
        "nself/seeds/common/10_ten.sql",
        "INSERT INTO log VALUES (10);\n",
    );
    p.write(
        "nself/seeds/common/2_two.sql",
        "BEGIN;\nINSERT INTO log VALUES (2);\nCOMMIT;\n",
    );
    p.write(
        "nself/seeds/local/1_one.sql",
        "INSERT INTO log VALUES (1);\n",
    );
    p.write(
        "nself/seeds/staging/1_staging.sql",
        "INSERT INTO log VALUES (100);\n",
    );
    let r = nself(&p, &db, &["db", "seed"]).ok().stdout.clone();
    let order: Vec<&str> = r.lines().filter(|l| l.starts_with("Running")).collect();
    let want = ["common/2_two.sql", "common/10_ten.sql", "local/1_one.sql"];
    assert_eq!(order.len(), 3, "{r}");
    for (line, file) in order.iter().zip(want) {
        assert!(line.starts_with(&format!("Running {file}... Done")), "{r}");
    }
    // A failing file: its own statements roll back; earlier files stay; later ones do not run.
    p.write(
        "nself/seeds/local/1_one.sql",
        "INSERT INTO log VALUES (50);\nINSERT INTO log VALUES (1);\nINSERT INTO log VALUES (1);\n",
    );
    db.client().batch_execute("DELETE FROM log").unwrap();
    p.write(
        "nself/seeds/local/2_after.sql",
        "INSERT INTO log VALUES (99);\n",
    );
    nself(&p, &db, &["db", "seed"]).fails(1, &["local/1_one.sql:3", "duplicate key"]);
    let logged: Vec<i32> = db
        .client()
        .query("SELECT n FROM log ORDER BY n", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(logged, [2, 10]);
    nself(&p, &db, &["db", "seed", "nope.sql"]).fails(2, &["no seed file nope.sql"]);
    let dry = nself(&p, &db, &["db", "seed", "--dry-run"])
        .ok()
        .stdout
        .clone();
    assert!(
        dry.contains("common/2_two.sql") && dry.contains("local/2_after.sql"),
        "{dry}"
    );
}

#[test]
fn fresh_and_reset_drop_everything_in_the_managed_schemas() {
    let db = fresh_database();
    db.client()
        .batch_execute(
            "CREATE TABLE stray (id int); CREATE VIEW stray_v AS SELECT * FROM stray; \
             CREATE TYPE stray_e AS ENUM ('x'); CREATE DOMAIN stray_d AS int; \
             CREATE FUNCTION stray_f(a int) RETURNS int LANGUAGE sql AS 'SELECT a'; \
             CREATE SEQUENCE stray_s; CREATE SCHEMA app; CREATE TABLE app.thing (id int); \
             CREATE SCHEMA other; CREATE TABLE other.kept (id int);",
        )
        .unwrap();
    let p = project(&[(
        "001_a.sql",
        "CREATE TABLE a (id int);\nCREATE TABLE app.b (id int);\n",
    )]);
    p.write("nself/seeds/common/01.sql", "INSERT INTO a VALUES (1);\n");
    let u = url(&db);
    p.run(
        &["db", "migrate", "fresh", "--schemas", "public,app"],
        &[("DATABASE_URL", &u)],
    )
    .ok();
    let left: Vec<String> = db
        .client()
        .query(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
              WHERE n.nspname IN ('public', 'app', 'other') AND c.relkind IN ('r', 'v', 'S') ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        left,
        [
            "app.b",
            "other.kept",
            "public.a",
            "public.schema_migrations"
        ]
    );
    let leftovers: i64 = db
        .client()
        .query_one(
            "SELECT (SELECT count(*) FROM pg_type WHERE typname IN ('stray_e', 'stray_d')) + \
                    (SELECT count(*) FROM pg_proc WHERE proname = 'stray_f')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(leftovers, 0);
    p.run(
        &["db", "reset"],
        &[("DATABASE_URL", &u), ("NSELF_SCHEMAS", "app")],
    )
    .ok();
    let n: i64 = db
        .client()
        .query_one("SELECT count(*) FROM a", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "reset seeds");
}

/// 100 small pending migrations: the runner's overhead beyond the SQL itself. Prints the
/// figures (run with --nocapture); asserts only correctness.
#[test]
fn performance_of_one_hundred_small_migrations() {
    let sql = |v: usize| {
        format!("CREATE TABLE p_{v} (id int PRIMARY KEY, note text);\nINSERT INTO p_{v} VALUES ({v}, 'x');\n")
    };
    let files: Vec<(String, String)> = (1..=100)
        .map(|v| {
            (
                format!("{v:03}_p.sql"),
                format!("-- UP\n{}-- DOWN\nDROP TABLE p_{v};\n", sql(v)),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let p = project(&refs);
    // Baseline: the same SQL through psql, each migration in its own transaction.
    let base_db = fresh_database();
    let mut script = String::new();
    for v in 1..=100 {
        script.push_str(&format!("BEGIN;\n{}COMMIT;\n", sql(v)));
    }
    p.write("all.sql", &script);
    let t = Instant::now();
    nself(&p, &base_db, &["db", "shell", "-f", "all.sql"]).ok();
    let psql = t.elapsed();
    let db = fresh_database();
    let t = Instant::now();
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    let runner = t.elapsed();
    assert_eq!(tracked(&db).len(), 100);
    eprintln!(
        "100 migrations: nself migrate up {runner:?}, same SQL via psql (nself db shell -f) {psql:?}, overhead {:?}",
        runner.saturating_sub(psql)
    );
}

#[test]
fn lock_timeout_and_statement_timeout_are_applied() {
    let db = fresh_database();
    let p = project(&[(
        "001_slow.sql",
        "CREATE TABLE slow (id int);\nSELECT pg_sleep(3);\n",
    )]);
    // Another runner holds the lock: with --lock-timeout the wait is bounded.
    let mut holder = db.client();
    holder
        .execute(
            "SELECT pg_advisory_lock($1)",
            &[&nself::migrate::tracking::LOCK_KEY],
        )
        .unwrap();
    let t = Instant::now();
    let r = nself(&p, &db, &["db", "migrate", "up", "--lock-timeout", "300ms"]);
    r.fails(1, &["migration lock", "lock_timeout"]);
    assert!(
        r.stderr
            .contains("Waiting for another nself migration runner"),
        "{}",
        r.stderr
    );
    assert!(t.elapsed() < Duration::from_secs(3));
    drop(holder);
    // statement_timeout from the configuration (a variable here; .env works the same way).
    let u = url(&db);
    let r = p.run(
        &["db", "migrate", "up"],
        &[("DATABASE_URL", &u), ("NSELF_STATEMENT_TIMEOUT", "200ms")],
    );
    r.fails(1, &["001_slow.sql:2", "statement timeout", "rolled back"]);
    assert!(tracked(&db).is_empty());
    assert!(!tables(&db).contains("slow"));
    nself(
        &p,
        &db,
        &["db", "migrate", "up", "--lock-timeout", "nonsense"],
    )
    .fails(2, &["lock_timeout"]);
}

#[test]
fn folders_and_tracking_table_are_configurable() {
    let db = fresh_database();
    let p = Project::new();
    p.write("db/changes/001_a.sql", "CREATE TABLE a (id int);\n");
    p.write("db/seed-data/common/1.sql", "INSERT INTO a VALUES (1);\n");
    p.write(
        ".env",
        "NSELF_MIGRATIONS_DIR=db/changes\nNSELF_SEEDS_DIR=db/seed-data\nNSELF_MIGRATIONS_TABLE=meta.applied\n",
    );
    nself(&p, &db, &["db", "migrate", "up"]).ok();
    nself(&p, &db, &["db", "seed", "--env", "local"]).ok();
    let mut c = db.client();
    let n: i64 = c
        .query_one("SELECT count(*) FROM meta.applied", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    let n: i64 = c.query_one("SELECT count(*) FROM a", &[]).unwrap().get(0);
    assert_eq!(n, 1);
    assert!(!tables(&db).contains("schema_migrations"));
    let j = nself(&p, &db, &["db", "migrate", "status", "--format", "json"])
        .ok()
        .json();
    assert_eq!(j["tracking_table"], "meta.applied");
    assert_eq!(j["applied"], 1);
}
