//! Issue 16, the schedule: `db backup schedule` in the foreground (every minute, real time),
//! `--due` passes, `--install`, the backup lock shared by scheduled and manual backups, and a
//! scheduled backup that skips while a migration holds the runners' lock.

use super::support::Project;
use nself::local::testing::{fresh_database, TempDir};
use std::io::Read;
use std::time::{Duration, Instant};

fn backups(p: &Project) -> usize {
    std::fs::read_dir(p.path().join("backups"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.ends_with(".sql.gz") && !n.starts_with('.')
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn due_passes_install_and_the_backup_lock() {
    let db = fresh_database();
    db.client()
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);")
        .unwrap();
    let url = db.params.to_url_with_password();
    let p = Project::new();
    let xdg = TempDir::new("nself-xdg").unwrap();
    let xdg_path = xdg.path().display().to_string();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("BACKUP_ENABLED", "true"),
        ("BACKUP_SCHEDULE", "@hourly"),
        ("XDG_CONFIG_HOME", xdg_path.as_str()),
    ];
    // The current hour's run is due once.
    let first = p.run(&["db", "backup", "schedule", "--due"], &env);
    first.ok();
    assert!(
        first.stdout.contains("UTC ok: backups/"),
        "{}",
        first.stdout
    );
    assert_eq!(backups(&p), 1);
    let second = p.run(&["db", "backup", "schedule", "--due"], &env);
    second.ok();
    assert!(second.stdout.contains("Not due"), "{}", second.stdout);
    assert_eq!(backups(&p), 1);
    let status = p.run(&["db", "backup", "status"], &env);
    status.ok();
    assert!(
        status.stdout.contains("Last Scheduled Run: ") && status.stdout.contains("UTC ok"),
        "{}",
        status.stdout
    );
    assert!(
        status
            .stdout
            .contains("Scheduler: not running or installed"),
        "{}",
        status.stdout
    );

    // --install: printed with --dry-run, written for systemd.
    let dry = p.run(
        &["db", "backup", "schedule", "--install", "--dry-run"],
        &env,
    );
    dry.ok();
    assert!(
        dry.stdout.contains("* * * * * ")
            && dry.stdout.contains("db backup schedule --due")
            && dry.stdout.contains("# nself backup schedule: "),
        "{}",
        dry.stdout
    );
    let sd = p.run(&["db", "backup", "schedule", "--install", "systemd"], &env);
    sd.ok();
    let units = xdg.path().join("systemd/user");
    let names: Vec<String> = std::fs::read_dir(&units)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let timer = names
        .iter()
        .find(|n| n.ends_with(".timer"))
        .expect("a timer");
    let text = std::fs::read_to_string(units.join(timer)).unwrap();
    assert!(text.contains("OnCalendar=minutely"), "{text}");
    let service = std::fs::read_to_string(units.join(timer.replace(".timer", ".service"))).unwrap();
    assert!(
        service.contains("db backup schedule --due") && !service.contains(&url),
        "{service}"
    );
    let status = p.run(&["db", "backup", "status"], &env);
    assert!(
        status
            .stdout
            .contains("Scheduler: installed (systemd user timer)"),
        "{}",
        status.stdout
    );

    // The backup lock: while someone holds it, a scheduled-style backup skips and a manual one
    // waits, then runs once it is free.
    let mut holder = db.client();
    holder
        .execute("SELECT pg_advisory_lock($1)", &[&nself::backup::LOCK_KEY])
        .unwrap();
    let skip = p.run(&["db", "backup", "--if-free"], &env);
    skip.ok();
    assert!(
        skip.stdout
            .contains("Skipped: another backup of this database is running"),
        "{}",
        skip.stdout
    );
    assert_eq!(backups(&p), 1);
    let mut manual = std::process::Command::new(env!("CARGO_BIN_EXE_nself"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &url)
        .current_dir(p.path())
        .args(["db", "backup", "--name", "manual"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        manual.try_wait().unwrap().is_none(),
        "the manual backup did not wait"
    );
    assert_eq!(backups(&p), 1);
    holder
        .execute("SELECT pg_advisory_unlock($1)", &[&nself::backup::LOCK_KEY])
        .unwrap();
    let out = manual.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Waiting: another backup"));
    assert_eq!(backups(&p), 2);
}

/// Every minute, for real: the first run falls while a migration holds the runners' lock and is
/// skipped (logged); the next one runs; SIGTERM stops the scheduler cleanly. A second
/// scheduler for the same project is refused while the first runs.
#[test]
fn the_foreground_scheduler_runs_every_minute_and_stops_on_sigterm() {
    let db = fresh_database();
    db.client()
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);")
        .unwrap();
    let url = db.params.to_url_with_password();
    let p = Project::new();
    let log_path = p.path().join("scheduler.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut migration = db.client();
    migration
        .execute(
            "SELECT pg_advisory_lock($1)",
            &[&nself::migrate::tracking::LOCK_KEY],
        )
        .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_nself"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &url)
        .env("BACKUP_SCHEDULE", "* * * * *")
        .current_dir(p.path())
        .args(["db", "backup", "schedule"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let wait_for = |needle: &str, secs: u64| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if read().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("no {needle:?} in the scheduler's log:\n{}", read());
    };
    wait_for("scheduler started", 20);
    let again = p.run(
        &["db", "backup", "schedule"],
        &[("DATABASE_URL", &url), ("BACKUP_SCHEDULE", "* * * * *")],
    );
    again.fails(1, &["a scheduler already runs for this project"]);
    let status = p.run(
        &["db", "backup", "status"],
        &[("BACKUP_SCHEDULE", "* * * * *")],
    );
    assert!(
        status
            .stdout
            .contains(&format!("Scheduler: running (pid {})", child.id())),
        "{}",
        status.stdout
    );
    wait_for("skipped: a migration is running", 75);
    assert_eq!(backups(&p), 0, "a backup ran during the migration");
    migration
        .execute(
            "SELECT pg_advisory_unlock($1)",
            &[&nself::migrate::tracking::LOCK_KEY],
        )
        .unwrap();
    wait_for("UTC ok: backups/", 75);
    assert_eq!(backups(&p), 1);
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the scheduler did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status:?}");
    let mut text = String::new();
    std::fs::File::open(&log_path)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.contains("scheduler stopped"), "{text}");
    // One line per run: the skip and the backup, each once.
    assert_eq!(text.matches(" UTC skipped: ").count(), 1, "{text}");
    assert_eq!(text.matches(" UTC ok: ").count(), 1, "{text}");
}
