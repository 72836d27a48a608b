//! A restore runs only what a backup is, and backups never clobber or litter: the real binary,
//! real pg_dump/pg_restore/psql, real throwaway databases. Files with psql meta-commands or
//! transaction control are refused before the database is touched (metadata or not), psql
//! itself refuses meta-commands under nself's own `\restrict` key, custom-format dumps restore,
//! symlinked backups are refused, concurrent backups get distinct names, and interrupted or
//! killed backups leave no temp file behind.

use super::support::{Project, Run, NSELF};
use nself::local::testing::{fresh_database, TestDatabase};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn nself(p: &Project, db: &TestDatabase, args: &[&str]) -> Run {
    let u = db.params.to_url_with_password();
    p.run(args, &[("DATABASE_URL", &u)])
}

fn spawn(p: &Project, db: &TestDatabase, args: &[&str]) -> Child {
    Command::new(NSELF)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db.params.to_url_with_password())
        .current_dir(p.path())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn tables(db: &TestDatabase) -> Vec<(String, i64)> {
    let mut c = db.client();
    let names: Vec<String> = c
        .query(
            "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace \
              AND relkind = 'r' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    names
        .into_iter()
        .map(|t| {
            let n: i64 = c
                .query_one(&format!("SELECT count(*) FROM {t}"), &[])
                .unwrap()
                .get(0);
            (t, n)
        })
        .collect()
}

/// A plain pg_dump script of `db` written by nself (`--no-compress`), its text, and its path.
fn plain_dump(p: &Project, db: &TestDatabase, name: &str) -> (PathBuf, String) {
    nself(p, db, &["db", "backup", "--no-compress", "--output", name]).ok();
    let path = p.path().join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Rewrites a backup and forges its metadata to match (whoever hands over a file can).
fn forge(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    let meta_path = PathBuf::from(format!("{}.meta.json", path.display()));
    let mut meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
    meta["size"] = serde_json::json!(text.len());
    meta["sha256"] = serde_json::json!(sha256_hex(text.as_bytes()));
    std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
}

/// The number of the first line of `text` starting with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines().position(|l| l.starts_with(prefix)).unwrap() + 1
}

const DATA: &str = "CREATE TABLE aaa (id int, note text);
     INSERT INTO aaa SELECT g, E'line with \\\\! echo hi and \\\\. inside' FROM generate_series(1, 300) g;
     CREATE TABLE zzz (id int PRIMARY KEY); INSERT INTO zzz SELECT generate_series(1, 300);";

/// Defect 3: `\!` shell escapes. (a) A file without metadata that lifts pg_dump's own
/// protection with `\unrestrict` and its own key (the file knows it), then runs `\!`. (b) nself's
/// own file with the `\restrict` lines removed, `\!` after SQL on a line, and forged metadata.
/// Before: psql ran the shell command (checked with main's binary). Now: refused with the line
/// number and the command, the line's text never printed, nothing run, nothing changed.
#[test]
fn a_shell_escape_in_a_backup_is_refused_and_never_runs() {
    let db = fresh_database();
    db.client().batch_execute(DATA).unwrap();
    let p = Project::new();
    let (path, text) = plain_dump(&p, &db, "dump.sql");
    let meta = std::fs::read(format!("{}.meta.json", path.display())).unwrap();
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("\\restrict "))
        .expect("pg_dump 15.14+ writes \\restrict")
        .to_string();
    let marker = p.path().join("PWNED");
    let touch = format!("\\! touch {} # s3cr3t-token", marker.display());
    let before = tables(&db);

    // (a) no metadata; the file's own key lifts pg_dump's protection.
    std::fs::remove_file(format!("{}.meta.json", path.display())).unwrap();
    let lifted = text.replacen(
        "SET xmloption = content;\n",
        &format!("SET xmloption = content;\n\\unrestrict {key}\n{touch}\n"),
        1,
    );
    std::fs::write(&path, &lifted).unwrap();
    // (b) nself's own file, protection removed, forged metadata.
    let stripped: String = text
        .lines()
        .filter(|l| !l.starts_with("\\restrict ") && !l.starts_with("\\unrestrict "))
        .map(|l| {
            if l == "SET xmloption = content;" {
                format!("{l} SELECT 1; {touch}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let cases = [
        ("dump.sql", lifted.clone()),
        ("forged.sql", stripped.clone()),
    ];
    std::fs::write(p.path().join("forged.sql.meta.json"), &meta).unwrap();
    forge(&p.path().join("forged.sql"), &stripped);
    for (file, tampered) in &cases {
        let line = line_of(
            tampered,
            if *file == "dump.sql" {
                "\\!"
            } else {
                "SET xmloption"
            },
        );
        let run = nself(&p, &db, &["db", "restore", file, "--clean"]);
        run.fails(
            1,
            &[
                &format!("{file} is refused"),
                &format!("line {line}: a psql meta-command `\\!`"),
                "nothing was changed",
            ],
        );
        assert!(!run.all().contains("s3cr3t"), "{file}: {}", run.all());
        assert!(!marker.exists(), "{file}: the shell escape ran");
        assert_eq!(tables(&db), before);
    }
    // Without metadata, a script must carry pg_dump's \restrict protection.
    let unprotected: String = stripped.replace(&format!(" SELECT 1; {touch}"), "");
    std::fs::write(&path, &unprotected).unwrap();
    nself(&p, &db, &["db", "restore", "dump.sql", "--clean"])
        .fails(1, &["lacks pg_dump's `\\restrict` protection"]);
    // The same dump, untouched, restores.
    std::fs::write(&path, &text).unwrap();
    nself(&p, &db, &["db", "restore", "dump.sql", "--clean"]).ok();
    assert_eq!(tables(&db), before);
}

/// Defect 3: a COMMIT in the middle of a backup. Before: everything up to it was committed
/// although the restore then failed and said "the database is unchanged". Now: refused before
/// the database is touched, also when the metadata was forged to match the tampered file.
#[test]
fn transaction_control_in_a_backup_is_refused_even_with_forged_metadata() {
    let source = fresh_database();
    source.client().batch_execute(DATA).unwrap();
    let p = Project::new();
    let (path, text) = plain_dump(&p, &source, "other.sql");
    // The target conflicts late in the dump (zzz), after aaa was created and loaded.
    let target = fresh_database();
    target
        .client()
        .batch_execute("CREATE TABLE zzz (other text); INSERT INTO zzz VALUES ('keep me');")
        .unwrap();
    let before = tables(&target);
    for tx in [
        "COMMIT;",
        "END;",
        "ROLLBACK; BEGIN;",
        "PREPARE TRANSACTION 'x';",
    ] {
        let tampered = text.replacen(
            "CREATE TABLE public.zzz",
            &format!("{tx}\nCREATE TABLE public.zzz"),
            1,
        );
        forge(&path, &tampered);
        let line = line_of(&tampered, tx);
        let run = nself(&p, &target, &["db", "restore", "other.sql"]);
        run.fails(
            1,
            &[
                &format!("line {line}: transaction control"),
                "nothing was changed",
            ],
        );
        assert_eq!(tables(&target), before, "{tx}");
    }
}

/// Defence in depth: psql fed nself's own `\restrict` line first refuses any meta-command the
/// validator could have missed, stops (ON_ERROR_STOP) and rolls the transaction back.
#[test]
fn psql_refuses_meta_commands_under_nselfs_restrict_key() {
    let db = fresh_database();
    let dir = nself::local::testing::TempDir::new("nself-restrict").unwrap();
    let marker = dir.path().join("PWNED");
    let script = format!(
        "{}CREATE TABLE before_it (x int);\n\\unrestrict guessed\n\\! touch {}\nCREATE TABLE after_it (x int);\n",
        nself::backup::restore::restrict_preamble(),
        marker.display()
    );
    let mut cmd = Command::new("psql");
    nself::backup::dump::client_env(&mut cmd, &db.params, "test");
    let mut child = cmd
        .args([
            "--no-psqlrc",
            "--quiet",
            "--set",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "--file",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("wrong key"), "{err}");
    assert!(!marker.exists());
    assert!(tables(&db).is_empty(), "{:?}", tables(&db));
}

fn pg_dump_custom(db: &TestDatabase, file: &Path) {
    let mut cmd = Command::new("pg_dump");
    nself::backup::dump::client_env(&mut cmd, &db.params, "test");
    let out = cmd
        .args(["--format=custom", "--no-owner", "--file"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A real `pg_dump -Fc` archive: converted by pg_restore, validated like any script, restored
/// in one transaction; one that conflicts changes nothing.
#[test]
fn a_custom_format_dump_restores_in_one_transaction() {
    let source = fresh_database();
    source.client().batch_execute(DATA).unwrap();
    let expected = tables(&source);
    let p = Project::new();
    let file = p.path().join("prod.dump");
    pg_dump_custom(&source, &file);
    assert_eq!(&std::fs::read(&file).unwrap()[..5], b"PGDMP");

    let target = fresh_database();
    let dry = nself(&p, &target, &["db", "restore", "prod.dump", "--dry-run"]);
    dry.ok();
    assert!(
        dry.stdout.contains("pg_dump custom format"),
        "{}",
        dry.stdout
    );
    nself(&p, &target, &["db", "restore", "prod.dump"]).ok();
    assert_eq!(tables(&target), expected);

    let conflicting = fresh_database();
    conflicting
        .client()
        .batch_execute("CREATE TABLE zzz (other text); INSERT INTO zzz VALUES ('keep me');")
        .unwrap();
    let before = tables(&conflicting);
    // With `public` not managed, the pre-check (issue 11) lets it through to psql, which
    // meets the conflict halfway.
    nself(
        &p,
        &conflicting,
        &["db", "restore", "prod.dump", "--schemas", "elsewhere"],
    )
    .fails(1, &["rolled the whole restore back"]);
    assert_eq!(tables(&conflicting), before);
}

/// A backup in backups/ that is a symbolic link is refused with its path, and never taken as
/// "the newest backup".
#[test]
fn a_symlinked_backup_is_refused_with_its_path() {
    let db = fresh_database();
    db.client()
        .batch_execute("CREATE TABLE t (id int)")
        .unwrap();
    let p = Project::new();
    let (_, _) = plain_dump(&p, &db, "real.sql");
    std::fs::create_dir_all(p.path().join("backups")).unwrap();
    std::os::unix::fs::symlink(
        p.path().join("real.sql"),
        p.path().join("backups/2099-01-01_000000_x.sql"),
    )
    .unwrap();
    nself(
        &p,
        &db,
        &[
            "db",
            "restore",
            "backups/2099-01-01_000000_x.sql",
            "--dry-run",
        ],
    )
    .fails(
        2,
        &["backups/2099-01-01_000000_x.sql", "is a symbolic link"],
    );
    // The metadata beside a backup may not be a link either.
    std::os::unix::fs::symlink(
        p.path().join("real.sql.meta.json"),
        p.path().join("linked.sql.meta.json"),
    )
    .unwrap();
    std::fs::copy(p.path().join("real.sql"), p.path().join("linked.sql")).unwrap();
    nself(&p, &db, &["db", "restore", "linked.sql", "--dry-run"])
        .fails(2, &["linked.sql.meta.json", "is a symbolic link"]);
    // Not listed, so `db restore` without a file finds no backup.
    // No backup at all is exit 1 (issue 11), not a usage error.
    nself(&p, &db, &["db", "restore", "--dry-run"]).fails(1, &["no backups in backups/"]);
}

/// Defect 7: four backups started at once all succeed, with distinct complete files and
/// metadata (the README's `-2`, `-3` names).
#[test]
fn four_backups_at_once_get_distinct_names() {
    let db = fresh_database();
    db.client()
        .batch_execute("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000);")
        .unwrap();
    let p = Project::new();
    let children: Vec<Child> = (0..4)
        .map(|_| spawn(&p, &db, &["db", "backup", "--name", "same"]))
        .collect();
    let mut made = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("Backup created: "))
            .unwrap()
            .to_string();
        made.push(line);
    }
    let mut unique = made.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "{made:?}");
    for m in &made {
        assert!(p.path().join(m).is_file(), "{m}");
        assert!(p.path().join(format!("{m}.meta.json")).is_file(), "{m}");
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(p.path().join(format!("{m}.meta.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            meta["file"],
            Path::new(m).file_name().unwrap().to_str().unwrap()
        );
        nself(&p, &db, &["db", "restore", m, "--dry-run"]).ok();
    }
    let names: Vec<String> = std::fs::read_dir(p.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".gitignore")
        .collect();
    assert_eq!(names.len(), 8, "{names:?}");
}

fn temp_files(p: &Project) -> Vec<String> {
    std::fs::read_dir(p.path().join("backups"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Starts `db backup` while another session holds a lock on the only table, and waits until
/// the backup is mid-way: its temp file exists and pg_dump waits for the lock.
fn backup_stuck_on_a_lock(p: &Project, db: &TestDatabase) -> (Child, postgres::Client) {
    let mut holder = db.client();
    holder
        .batch_execute("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let child = spawn(p, db, &["db", "backup"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut watch = db.client();
    loop {
        let waiting: i64 = watch
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                  AND wait_event_type = 'Lock' AND application_name = 'nself db backup'",
                &[],
            )
            .unwrap()
            .get(0);
        if waiting > 0 && !temp_files(p).is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the backup never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, holder)
}

/// Defect 7: SIGTERM and SIGINT during `db backup` remove the temp file; the process dies of
/// the signal (the usual exit status).
#[test]
fn an_interrupted_backup_leaves_nothing() {
    use std::os::unix::process::ExitStatusExt;
    let db = fresh_database();
    db.client()
        .batch_execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1);")
        .unwrap();
    let p = Project::new();
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let (child, mut holder) = backup_stuck_on_a_lock(&p, &db);
        unsafe { libc::kill(child.id() as i32, sig) };
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.signal(), Some(sig), "{:?}", out);
        assert_eq!(temp_files(&p), Vec::<String>::new(), "signal {sig}");
        holder.batch_execute("COMMIT").unwrap();
    }
    let left: Vec<_> = std::fs::read_dir(p.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != ".gitignore")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Defect 7: `kill -9` mid-backup leaves the temp file (nothing can run); the next `db backup`
/// removes it, and leaves a live process's temp file alone.
#[test]
fn a_killed_backups_temp_file_is_swept_by_the_next_backup() {
    let db = fresh_database();
    db.client()
        .batch_execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1);")
        .unwrap();
    let p = Project::new();
    let (mut child, mut holder) = backup_stuck_on_a_lock(&p, &db);
    child.kill().unwrap();
    child.wait().unwrap();
    let stale = temp_files(&p);
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert!(
        stale[0].contains(&format!(".tmp-{}-", child.id())),
        "{stale:?}"
    );
    holder.batch_execute("COMMIT").unwrap();
    // A temp file of a live process (this test) is not touched.
    let live = format!(".other.sql.gz.tmp-{}-0", std::process::id());
    std::fs::write(p.path().join("backups").join(&live), "in progress").unwrap();
    nself(&p, &db, &["db", "backup"]).ok();
    assert_eq!(temp_files(&p), vec![live]);
}
