//! `nself db backup schedule`: BACKUP_SCHEDULE run for real (issue 16).
//!
//! - Foreground (the default): sleeps until the next scheduled time (UTC), runs `nself db
//!   backup --if-free` as a child process (the backup, its upload and retention), logs one line
//!   per run, repeats; SIGTERM or SIGINT stops it (a running backup gets the signal too and
//!   removes its temp file). One scheduler per project: `.nself/backup-schedule.lock` is held
//!   (flock) while it runs and names its pid.
//! - `--due`: one pass for cron or a systemd timer that fires every minute: runs the backup
//!   when a scheduled time has passed that no scheduled run covered yet. The schedule stays in
//!   UTC whatever the machine's time zone, and a run missed while the machine was off is made
//!   up at the next pass.
//! - `--install [cron|systemd] [--dry-run]`: the crontab line, or a systemd user timer and
//!   service, that call `--due` every minute.
//!
//! Both record the last scheduled time they covered in `.nself/backup-schedule.json`, which
//! `backup status` reads. A backup never overlaps another backup or a migration: the child
//! takes the backup lock and the migration lock (shared) and, when either is busy, skips with
//! "Skipped: …" and the scheduler logs it (the next time runs as usual).

use super::context::Global;
use super::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::backup::{clock, cron};
use crate::config::Config;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);
static CHILD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn on_stop(_sig: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
    let child = CHILD.load(Ordering::SeqCst);
    if child > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe {
            libc::kill(child, libc::SIGTERM);
        }
    }
}

fn install_stop_handlers() {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: the handler only stores atomics and calls kill (async-signal-safe).
        unsafe {
            libc::signal(sig, on_stop as *const () as libc::sighandler_t);
        }
    }
}

/// Where the scheduler records what it covered.
#[derive(serde::Serialize, serde::Deserialize, Default, Debug)]
pub struct State {
    /// The last scheduled time (Unix seconds, UTC) a scheduled run covered.
    pub last_slot: Option<i64>,
    /// When that run ended and how ("ok", "skipped: …", "failed: …").
    pub last_result: Option<String>,
}

pub fn state_path(config: &Config) -> PathBuf {
    config
        .project_dir
        .join(".nself")
        .join("backup-schedule.json")
}

fn lock_path(config: &Config) -> PathBuf {
    config
        .project_dir
        .join(".nself")
        .join("backup-schedule.lock")
}

pub fn read_state(config: &Config) -> State {
    std::fs::read(state_path(config))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_state(config: &Config, state: &State) {
    let dir = config.project_dir.join(".nself");
    let _ = crate::fsx::create_dir_ignored(&dir);
    let _ = crate::fsx::replace_contents(
        &state_path(config),
        &serde_json::to_vec_pretty(state).unwrap_or_default(),
    );
}

/// The pid of the foreground scheduler running for this project, if one is.
pub fn running(config: &Config) -> Option<u32> {
    let path = lock_path(config);
    let f = std::fs::File::open(&path).ok()?;
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on an open descriptor.
    let free = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0;
    if free {
        return None;
    }
    std::fs::read_to_string(&path).ok()?.trim().parse().ok()
}

/// How the scheduler is installed for this project ("crontab", "systemd user timer"), if it is.
pub fn installed(config: &Config) -> Option<&'static str> {
    if unit_dir().is_some_and(|d| d.join(format!("{}.timer", unit_name(config))).is_file()) {
        return Some("systemd user timer");
    }
    let out = std::process::Command::new("crontab")
        .arg("-l")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.ends_with(&marker(config)))
        .then_some("crontab")
}

fn log(line: &str) {
    outln!(
        "{} {line}",
        clock::Civil::from_unix(clock::now_unix()).rfc3339()
    );
    let _ = std::io::stdout().flush();
}

/// `schedule` of `db backup`.
pub fn command(
    global: &Global,
    config: &Config,
    due: bool,
    install: Option<&str>,
    dry_run: bool,
) -> i32 {
    let schedule = match config.var("BACKUP_SCHEDULE").map(cron::Schedule::parse) {
        None => {
            errln!("error: BACKUP_SCHEDULE is not set (e.g. BACKUP_SCHEDULE=\"0 2 * * *\")");
            return EXIT_USAGE;
        }
        Some(Err(e)) => {
            errln!("error: BACKUP_SCHEDULE: {e}");
            return EXIT_USAGE;
        }
        Some(Ok(s)) => s,
    };
    if let Some(kind) = install {
        return install_command(config, kind, dry_run);
    }
    if dry_run {
        errln!("error: --dry-run goes with --install");
        return EXIT_USAGE;
    }
    if due {
        return due_pass(global, config, &schedule);
    }
    foreground(global, config, &schedule)
}

/// Runs one scheduled backup for `slot` (a child `nself db backup --if-free`); logs it and
/// records it when it ran or failed (a skip is not recorded, so the next pass tries again).
fn run_slot(global: &Global, config: &Config, slot: i64) -> bool {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("nself"));
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--project-dir").arg(&config.project_dir);
    if let Some(env) = &global.env {
        cmd.arg("--env").arg(env);
    }
    // Through the environment, not the command line (where `ps` shows a password).
    if let Some(url) = &global.database_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd.args(["db", "backup", "--if-free"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let slot_text = clock::Civil::from_unix(slot).display();
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            log(&format!(
                "run of {slot_text} UTC failed: cannot start nself: {e}"
            ));
            return false;
        }
    };
    CHILD.store(child.id() as i32, Ordering::SeqCst);
    let out = child.wait_with_output();
    CHILD.store(0, Ordering::SeqCst);
    let Ok(out) = out else {
        log(&format!(
            "run of {slot_text} UTC failed: lost the backup process"
        ));
        return false;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (line, record) =
        if let Some(skip) = stdout.lines().find_map(|l| l.strip_prefix("Skipped: ")) {
            (format!("run of {slot_text} UTC skipped: {skip}"), false)
        } else if out.status.success() {
            let file = stdout
                .lines()
                .find_map(|l| l.strip_prefix("Backup created: "))
                .unwrap_or("?");
            let uploaded = stdout
                .lines()
                .find(|l| l.starts_with("Uploading to "))
                .map(|_| ", uploaded and verified")
                .unwrap_or("");
            let removed = stdout
                .lines()
                .filter(|l| l.starts_with("Retention: "))
                .count();
            (
                format!(
                    "run of {slot_text} UTC ok: {file}{uploaded}{}",
                    if removed > 0 {
                        format!(", retention removed {removed}")
                    } else {
                        String::new()
                    }
                ),
                true,
            )
        } else {
            let why = stderr
                .lines()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or("see `nself db backup` for details");
            (
                format!(
                    "run of {slot_text} UTC failed (exit {}): {why}",
                    out.status.code().unwrap_or(-1)
                ),
                true,
            )
        };
    log(&line);
    if record {
        write_state(
            config,
            &State {
                last_slot: Some(slot),
                last_result: Some(line),
            },
        );
    }
    out.status.success()
}

fn due_pass(global: &Global, config: &Config, schedule: &cron::Schedule) -> i32 {
    let now = clock::now_unix();
    let Some(slot) = schedule.last_at_or_before(now) else {
        return EXIT_OK;
    };
    let state = read_state(config);
    if state.last_slot.is_some_and(|s| s >= slot) {
        outln!(
            "Not due: the run of {} UTC is done; next at {} UTC.",
            clock::Civil::from_unix(slot).display(),
            schedule
                .next_after(now)
                .map(|t| clock::Civil::from_unix(t).display())
                .unwrap_or_else(|| "-".into())
        );
        return EXIT_OK;
    }
    if run_slot(global, config, slot) {
        EXIT_OK
    } else {
        EXIT_FAILURE
    }
}

fn foreground(global: &Global, config: &Config, schedule: &cron::Schedule) -> i32 {
    let dir = config.project_dir.join(".nself");
    if let Err(e) = crate::fsx::create_dir_ignored(&dir) {
        errln!("error: creating {}: {e}", dir.display());
        return EXIT_FAILURE;
    }
    let path = lock_path(config);
    let lock = match std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .read(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) => {
            errln!("error: opening {}: {e}", path.display());
            return EXIT_FAILURE;
        }
    };
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on an open descriptor; held until the process ends.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let pid = std::fs::read_to_string(&path).unwrap_or_default();
        errln!(
            "error: a scheduler already runs for this project (pid {}); one is enough",
            pid.trim()
        );
        return EXIT_FAILURE;
    }
    let _ = lock.set_len(0);
    let _ = (&lock).write_all(std::process::id().to_string().as_bytes());
    install_stop_handlers();
    log(&format!(
        "scheduler started (pid {}): {} (UTC)",
        std::process::id(),
        schedule.describe()
    ));
    let mut after = clock::now_unix();
    while !STOP.load(Ordering::SeqCst) {
        let Some(next) = schedule.next_after(after) else {
            log("the schedule has no further run; stopping");
            break;
        };
        log(&format!(
            "next run at {} UTC",
            clock::Civil::from_unix(next).display()
        ));
        while !STOP.load(Ordering::SeqCst) && clock::now_unix() < next {
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        if STOP.load(Ordering::SeqCst) {
            break;
        }
        run_slot(global, config, next);
        after = next.max(clock::now_unix() - 1);
    }
    log("scheduler stopped");
    drop(lock);
    EXIT_OK
}

/// The comment that marks this project's crontab line.
fn marker(config: &Config) -> String {
    format!("# nself backup schedule: {}", config.project_dir.display())
}

fn unit_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|c| c.join("systemd").join("user"))
}

/// `nself-backup-<hash of the project folder>`.
fn unit_name(config: &Config) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(config.project_dir.as_os_str().as_encoded_bytes());
    format!("nself-backup-{}", &crate::backup::dump::hex(&h)[..12])
}

fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

fn install_command(config: &Config, kind: &str, dry_run: bool) -> i32 {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("nself"));
    let log_file = config
        .project_dir
        .join(".nself")
        .join("backup-schedule.log");
    let call = format!(
        "{} --project-dir {} db backup schedule --due",
        sh_quote(&exe),
        sh_quote(&config.project_dir)
    );
    match kind {
        "cron" => {
            let line = format!(
                "* * * * * {call} >> {} 2>&1 {}",
                sh_quote(&log_file),
                marker(config)
            );
            if dry_run {
                outln!("Would add to the crontab (every minute; the schedule itself is checked in UTC):");
                outln!("{line}");
                return EXIT_OK;
            }
            let current = std::process::Command::new("crontab").arg("-l").output();
            let mut text = match current {
                Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
                Ok(_) => String::new(),
                Err(e) => {
                    errln!(
                        "error: crontab is not available ({e}); add this line with your scheduler, \
                         or use --install systemd:\n{line}"
                    );
                    return EXIT_FAILURE;
                }
            };
            if text.lines().any(|l| l.ends_with(&marker(config))) {
                outln!("Already installed in the crontab.");
                return EXIT_OK;
            }
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&line);
            text.push('\n');
            let mut child = match std::process::Command::new("crontab")
                .arg("-")
                .stdin(std::process::Stdio::piped())
                .spawn()
            {
                Ok(c) => c,
                Err(e) => {
                    errln!("error: running crontab: {e}");
                    return EXIT_FAILURE;
                }
            };
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(text.as_bytes());
            }
            match child.wait() {
                Ok(s) if s.success() => {
                    outln!("Installed in the crontab: {line}");
                    EXIT_OK
                }
                _ => {
                    errln!("error: crontab refused the new table; nothing was changed");
                    EXIT_FAILURE
                }
            }
        }
        "systemd" => {
            let Some(dir) = unit_dir() else {
                errln!("error: neither XDG_CONFIG_HOME nor HOME is set");
                return EXIT_FAILURE;
            };
            let name = unit_name(config);
            let service = format!(
                "[Unit]\nDescription=nself scheduled backup of {}\n\n[Service]\nType=oneshot\nExecStart={call}\n",
                config.project_dir.display()
            );
            let timer = format!(
                "[Unit]\nDescription=nself backup schedule of {} (checked every minute, in UTC)\n\n[Timer]\nOnCalendar=minutely\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n",
                config.project_dir.display()
            );
            let files = [
                (dir.join(format!("{name}.service")), service),
                (dir.join(format!("{name}.timer")), timer),
            ];
            if dry_run {
                for (path, text) in &files {
                    outln!("Would write {}:\n{text}", path.display());
                }
                outln!("Then: systemctl --user daemon-reload && systemctl --user enable --now {name}.timer");
                return EXIT_OK;
            }
            if let Err(e) = std::fs::create_dir_all(&dir) {
                errln!("error: creating {}: {e}", dir.display());
                return EXIT_FAILURE;
            }
            for (path, text) in &files {
                if let Err(e) = crate::fsx::replace_contents(path, text.as_bytes()) {
                    errln!("error: writing {}: {e}", path.display());
                    return EXIT_FAILURE;
                }
                outln!("Wrote {}", path.display());
            }
            outln!("Enable it: systemctl --user daemon-reload && systemctl --user enable --now {name}.timer");
            EXIT_OK
        }
        other => {
            errln!("error: --install {other}: use cron or systemd");
            EXIT_USAGE
        }
    }
}
