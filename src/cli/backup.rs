//! `nself db backup [list|status]`, `nself db restore [FILE]` and `nself db update`: flags,
//! output as in the guide, the environment rules, and progress on a terminal. The work itself
//! is in `crate::backup` (dump, check, restore, cron, integrity) and `crate::migrate` (the
//! single-transaction update); this file only wires them to the user.

use super::context::{self, heading, human_size, Global};
use super::local::Format;
use super::migrate::{self as mcli, ConfirmArgs, Failure, TimeoutArgs};
use super::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::backup::{
    self, clock, cron, dump, integrity, restore, BackupError, DumpOptions, Metadata,
};
use crate::config::{Config, Environment};
use crate::local::bins::find_client;
use crate::migrate::{self, runner, MigrateError, Migration, Progress, Runner};
use crate::policy::Guarded;
use clap::{Args, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `nself db backup`.
#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  nself db backup\n  nself db backup --name before_migration\n  nself db backup --no-compress\n  nself db backup --output /path/to/backup.sql\n  nself db backup --tables users,posts,comments\n  nself db backup --exclude sessions,logs\n  nself db backup --schema-only\n  nself db backup list\n  nself db backup status"
)]
pub struct BackupArgs {
    #[command(subcommand)]
    command: Option<BackupCommand>,
    #[command(flatten)]
    create: CreateArgs,
}

#[derive(Subcommand, Debug)]
enum BackupCommand {
    /// List the backups in backups/: name, size, created, migration version.
    List {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Show the BACKUP_* settings: schedule (with the last and next run), retention,
    /// compression, storage, and the backups made so far.
    Status {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Apply BACKUP_RETENTION_DAYS / BACKUP_RETENTION_COUNT now, in backups/ and (with
    /// BACKUP_STORAGE=s3) in the bucket, and abort nself's stale multipart uploads. Only
    /// nself's own backups are touched; the newest verified one is always kept.
    Prune {
        /// List what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run BACKUP_SCHEDULE (UTC): in the foreground until SIGTERM (one log line per run), or
    /// one pass with --due, or install a crontab line or systemd user timer with --install.
    Schedule {
        /// One pass: back up if a scheduled time passed that no scheduled run covered (for cron
        /// or a timer that calls it every minute).
        #[arg(long, conflicts_with = "install")]
        due: bool,
        /// Install a crontab line (cron, the default) or a systemd user timer (systemd) that
        /// runs `schedule --due` every minute.
        #[arg(long, value_name = "cron|systemd", num_args = 0..=1, default_missing_value = "cron")]
        install: Option<String>,
        /// With --install: print what would be installed; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Flags of `db backup` itself.
#[derive(Args, Debug, Clone)]
pub struct CreateArgs {
    /// Name the backup (backups/YYYY-MM-DD_HHMMSS_NAME.sql.gz); default: the database name.
    #[arg(long)]
    name: Option<String>,
    /// Write plain SQL (.sql) instead of gzip (also BACKUP_COMPRESSION=false).
    #[arg(long)]
    no_compress: bool,
    /// Write the backup to this file instead of backups/ (its metadata goes beside it).
    #[arg(long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Only these tables (pg_dump --table patterns, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    tables: Vec<String>,
    /// Leave these tables out (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    exclude: Vec<String>,
    /// The schema without data.
    #[arg(long, conflicts_with = "data_only")]
    schema_only: bool,
    /// The data without the schema.
    #[arg(long)]
    data_only: bool,
    /// Include the Hasura metadata schema (hdb_catalog), left out by default.
    #[arg(long)]
    include_metadata: bool,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Skip (exit 0, "Skipped: …") instead of waiting when another backup or a migration is
    /// running: how the scheduler runs backups.
    #[arg(long, hide = true)]
    if_free: bool,
}

impl Default for CreateArgs {
    fn default() -> Self {
        CreateArgs {
            name: None,
            no_compress: false,
            output: None,
            tables: Vec::new(),
            exclude: Vec::new(),
            schema_only: false,
            data_only: false,
            include_metadata: false,
            format: Format::Human,
            if_free: false,
        }
    }
}

/// `nself db restore`.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The backup to restore (default: the newest in backups/).
    file: Option<PathBuf>,
    /// Check the backup and show what would be restored where (and what --clean would drop);
    /// change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Drop the existing objects of the managed schemas first, in the same transaction.
    #[arg(long)]
    clean: bool,
    /// Managed schemas that --clean empties (default: public plus NSELF_SCHEMAS).
    #[arg(long, value_delimiter = ',')]
    schemas: Vec<String>,
    #[command(flatten)]
    confirm: RestoreConfirm,
}

/// The confirmation flags of `db restore`.
#[derive(Args, Debug)]
pub struct RestoreConfirm {
    /// Confirm without a prompt (staging; production needs --confirm yes-restore-production).
    #[arg(long, short = 'y')]
    yes: bool,
    /// Confirm with the phrase production asks for: yes-restore-production.
    #[arg(long, value_name = "PHRASE")]
    confirm: Option<String>,
}

/// The confirmation flags of `db update`.
#[derive(Args, Debug)]
pub struct UpdateConfirm {
    /// Confirm without a prompt (staging; production needs --confirm production).
    #[arg(long, short = 'y')]
    yes: bool,
    /// Confirm with the phrase production asks for: production.
    #[arg(long, value_name = "PHRASE")]
    confirm: Option<String>,
}

fn consent(yes: bool, confirm: &Option<String>) -> ConfirmArgs {
    ConfirmArgs {
        yes,
        confirm: confirm.clone(),
    }
}

/// `nself db update`.
#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// Skip the backup (local environment only).
    #[arg(long)]
    no_backup: bool,
    /// Managed schemas the integrity check covers (default: public plus NSELF_SCHEMAS).
    #[arg(long, value_delimiter = ',')]
    schemas: Vec<String>,
    /// Fail (and commit nothing) when the database then differs from nself/schema.dbml;
    /// without it a difference is a warning.
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    confirm: UpdateConfirm,
    #[command(flatten)]
    timeouts: TimeoutArgs,
}

fn fail_backup(e: &BackupError) -> i32 {
    errln!("error: {e}");
    if matches!(e, BackupError::Usage(_)) {
        EXIT_USAGE
    } else {
        EXIT_FAILURE
    }
}

/// A path as the user should see it: relative to the project folder when inside it.
fn shown(config: &Config, path: &Path) -> String {
    path.strip_prefix(&config.project_dir)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn backups_dir(config: &Config) -> PathBuf {
    config.project_dir.join(backup::FOLDER)
}

/// Progress on stderr, on a terminal only: from the first chunk, then at most four times a
/// second.
fn progress_line(label: &'static str) -> impl FnMut(u64) {
    let on = std::io::stderr().is_terminal();
    let every = Duration::from_millis(250);
    let mut last = Instant::now()
        .checked_sub(every)
        .unwrap_or_else(Instant::now);
    move |bytes| {
        if on && last.elapsed() >= every {
            last = Instant::now();
            errout!("\r{label} {}   ", human_size(bytes as i64));
        }
    }
}

/// Wipes the progress line; `keep` is what stood on it before the progress (a label printed
/// on stdout without a newline, such as `Creating backup... `), written back when stdout is
/// the same terminal so that the rest of the line follows it.
fn clear_progress(keep: &str) {
    if std::io::stderr().is_terminal() {
        errout!("\r{}\r", " ".repeat(60));
        if !keep.is_empty() && std::io::stdout().is_terminal() {
            errout!("{keep}");
        }
    }
}

/// The database a command would talk to, by name.
pub fn target_database(config: &Config) -> String {
    match &config.target {
        crate::config::Target::Server { params, .. } => params.dbname.clone(),
        crate::config::Target::Local(l) => l.database.clone(),
    }
}

/// The newest complete backup of the configured environment and database, for `db status`
/// ("2026-01-24 14:30:52 (NAME)").
pub fn last_backup(config: &Config) -> Option<backup::Listed> {
    let env = config.environment.to_string();
    let db = target_database(config);
    backup::list(&backups_dir(config))
        .ok()
        .and_then(|all| all.into_iter().rev().find(|b| b.is_complete_of(&env, &db)))
}

/// Creates the project's backups folder with a `.gitignore` (`*`) in it when nself creates
/// it (an existing folder, and a user's own `.gitignore`, are left as they are).
fn ensure_backups_dir(config: &Config) -> Result<(), BackupError> {
    let dir = backups_dir(config);
    crate::fsx::create_dir_ignored(&dir)
        .map(|_| ())
        .map_err(BackupError::io(format!("creating {}", dir.display())))
}

pub fn backup_command(global: &Global, args: BackupArgs) -> i32 {
    let config = match context::load(global) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match args.command {
        Some(BackupCommand::List { format }) => list(&config, format),
        Some(BackupCommand::Status { format }) => status(&config, format),
        Some(BackupCommand::Prune { dry_run }) => prune_command(&config, dry_run),
        Some(BackupCommand::Schedule {
            due,
            install,
            dry_run,
        }) => super::schedule::command(global, &config, due, install.as_deref(), dry_run),
        None => create(&config, &args.create),
    }
}

/// Makes a backup on an open session; returns its path and metadata.
/// `label` goes before the byte counter on a terminal; `keep` is written back when the
/// counter is wiped (see [`clear_progress`]).
fn make(
    config: &Config,
    session: &mut crate::connect::Session,
    args: &CreateArgs,
    label: &'static str,
    keep: &str,
) -> Result<(PathBuf, Metadata), BackupError> {
    let Some(pg_dump) = find_client(&config.local.bins, "pg_dump") else {
        return Err(BackupError::Tool {
            doing: "looking for pg_dump".into(),
            message: "pg_dump not found on PATH or beside the PostgreSQL server programs; install \
                      the PostgreSQL client (Debian/Ubuntu: apt-get install postgresql-client)"
                .into(),
        });
    };
    let compress_setting = config.var("BACKUP_COMPRESSION").is_none_or(|v| {
        !matches!(
            v.to_ascii_lowercase().as_str(),
            "false" | "0" | "no" | "off"
        )
    });
    let mut compressed = compress_setting && !args.no_compress;
    let now = clock::now_unix();
    let (path, private_folder) = match &args.output {
        Some(p) => {
            // The name decides: `.gz` is gzip, anything else plain SQL (so `psql -f` reads a
            // `.sql` file); `--no-compress` with a `.gz` name is a contradiction.
            let gz = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
            if gz && args.no_compress {
                return Err(BackupError::Usage(format!(
                    "--output {} names a gzip file but --no-compress asks for plain SQL; name                      it without .gz (e.g. backup.sql) or leave out --no-compress",
                    p.display()
                )));
            }
            compressed = gz;
            (
                if p.is_absolute() {
                    p.clone()
                } else {
                    std::env::current_dir().unwrap_or_default().join(p)
                },
                false,
            )
        }
        None => {
            let name = backup::safe_name(args.name.as_deref().unwrap_or(&session.params.dbname));
            let ext = if compressed { "sql.gz" } else { "sql" };
            let stamp = clock::Civil::from_unix(now).file_stamp();
            // Backups of other environments carry it in their name (local ones keep the
            // guide's `STAMP_NAME`); the metadata records it for every backup.
            let env = match config.environment {
                Environment::Local => String::new(),
                other => format!("{}_", backup::safe_name(&other.to_string())),
            };
            ensure_backups_dir(config)?;
            // Two backups within one second get -2, -3 …: publishing takes the first free
            // name exclusively and never replaces a file.
            let path = backups_dir(config).join(format!("{stamp}_{env}{name}.{ext}"));
            (path, true)
        }
    };
    let pg_restore = find_client(&config.local.bins, "pg_restore");
    let environment = config.environment.to_string();
    let table = mcli::settings(config, &TimeoutArgs::default()).table;
    let request = dump::Request {
        pg_dump: &pg_dump,
        params: &session.params,
        path,
        numbered: private_folder,
        private_folder,
        options: DumpOptions {
            tables: args.tables.clone(),
            exclude: args.exclude.clone(),
            schema_only: args.schema_only,
            data_only: args.data_only,
            include_metadata: args.include_metadata,
            compressed,
        },
        tracking_table: &table,
        now,
        environment: &environment,
        pg_restore: pg_restore.as_deref(),
    };
    let _locks = BackupLocks::take(&mut session.client, args.if_free)?;
    let made = dump::create(&mut session.client, &request, &mut progress_line(label));
    clear_progress(keep);
    BackupLocks::release(&mut session.client);
    made
}

/// A backup holds the backups' lock, and the migration lock in shared mode: a migration that
/// starts during a backup waits for the lock (polling, without a transaction) instead of
/// queueing its ACCESS EXCLUSIVE locks behind pg_dump's, where every reader of those tables
/// would queue behind it; and a backup does not start while a migration runs.
struct BackupLocks;

impl BackupLocks {
    fn take(client: &mut postgres::Client, if_free: bool) -> Result<BackupLocks, BackupError> {
        let mut said = false;
        loop {
            let row = client
                .query_one(
                    "SELECT pg_try_advisory_lock($1), pg_try_advisory_lock_shared($2)",
                    &[&backup::LOCK_KEY, &crate::migrate::tracking::LOCK_KEY],
                )
                .map_err(|e| BackupError::db("taking the backup lock", &e))?;
            let (backup_free, migration_free): (bool, bool) = (row.get(0), row.get(1));
            if backup_free && migration_free {
                return Ok(BackupLocks);
            }
            Self::release(client);
            let what = if backup_free {
                "a migration is running"
            } else {
                "another backup of this database is running"
            };
            if if_free {
                return Err(BackupError::Busy(what.to_string()));
            }
            if !said {
                errln!("Waiting: {what}...");
                said = true;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn release(client: &mut postgres::Client) {
        let _ = client.query(
            "SELECT pg_advisory_unlock($1) FROM pg_catalog.pg_locks l
              WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.granted
                AND l.mode = 'ExclusiveLock'
                AND (l.classid::bigint << 32) | l.objid::bigint = $1
             UNION ALL
             SELECT pg_advisory_unlock_shared($2) FROM pg_catalog.pg_locks l
              WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.granted
                AND l.mode = 'ShareLock'
                AND (l.classid::bigint << 32) | l.objid::bigint = $2",
            &[&backup::LOCK_KEY, &crate::migrate::tracking::LOCK_KEY],
        );
    }
}

fn create(config: &Config, args: &CreateArgs) -> i32 {
    let human = args.format == Format::Human;
    if human {
        outln!("Creating backup...");
    }
    let mut session = match mcli::open(config) {
        Ok(s) => s,
        Err(Failure::Code(c)) => return c,
        Err(Failure::Error(e)) => return context::fail(&e),
    };
    let (path, meta) = match make(config, &mut session, args, "Dumping…", "") {
        Ok(x) => x,
        Err(BackupError::Busy(what)) => {
            outln!("Skipped: {what}.");
            return EXIT_OK;
        }
        Err(e) => return fail_backup(&e),
    };
    if human {
        outln!("Backup created: {}", shown(config, &path));
        outln!("Size: {}", human_size(meta.size as i64));
        if meta.partial {
            outln!(
                "Partial: {} (never restored without naming the file)",
                scope(&meta.options)
            );
        }
    } else {
        let mut doc = serde_json::to_value(&meta).unwrap_or_default();
        doc["path"] = serde_json::Value::String(shown(config, &path));
        outln!("{doc:#}");
    }
    if args.output.is_some() {
        return EXIT_OK;
    }
    let r = match super::storage::remote(config) {
        Ok(r) => r,
        Err(e) => {
            errln!(
                "error: {e}; the backup is in {} and was not uploaded",
                shown(config, &path)
            );
            return EXIT_FAILURE;
        }
    };
    if let Some(r) = &r {
        if let Err(e) = super::storage::upload(r, &path, &meta, human) {
            errln!("error: {e}");
            errln!(
                "The backup is in {} (not uploaded); retention was not applied. Upload it again \
                 with the next backup, or restore it from there.",
                shown(config, &path)
            );
            return EXIT_FAILURE;
        }
    }
    match super::storage::prune(config, r.as_ref(), false) {
        Ok(p) => {
            if human {
                for l in &p.lines {
                    outln!("Retention: {l}");
                }
            }
            EXIT_OK
        }
        Err(e) => {
            errln!("error: applying retention: {e} (the new backup is kept)");
            EXIT_FAILURE
        }
    }
}

fn prune_command(config: &Config, dry_run: bool) -> i32 {
    let r = match super::storage::remote(config) {
        Ok(r) => r,
        Err(e) => {
            errln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    match super::storage::prune(config, r.as_ref(), dry_run) {
        Ok(p) => {
            outln!(
                "{}",
                heading(if dry_run {
                    "Retention (dry run: nothing is removed)"
                } else {
                    "Retention"
                })
            );
            if p.lines.is_empty() {
                outln!("Nothing to remove.");
            }
            for l in &p.lines {
                outln!("{l}");
            }
            EXIT_OK
        }
        Err(e) => {
            errln!("error: {e}");
            EXIT_FAILURE
        }
    }
}

/// What a partial backup holds ("tables users, posts; schema only").
fn scope(o: &DumpOptions) -> String {
    let mut parts = Vec::new();
    if !o.tables.is_empty() {
        parts.push(format!("tables {}", o.tables.join(", ")));
    }
    if !o.exclude.is_empty() {
        parts.push(format!("without tables {}", o.exclude.join(", ")));
    }
    if o.schema_only {
        parts.push("schema only".to_string());
    }
    if o.data_only {
        parts.push("data only".to_string());
    }
    parts.join("; ")
}

/// The KIND column of `backup list`.
fn kind(b: &backup::Listed) -> &'static str {
    if !b.has_metadata {
        "no metadata"
    } else if b.partial {
        "partial"
    } else {
        "complete"
    }
}

fn list(config: &Config, format: Format) -> i32 {
    let all = match backup::list(&backups_dir(config)) {
        Ok(a) => a,
        Err(e) => return fail_backup(&e),
    };
    if format == Format::Json {
        let doc: Vec<serde_json::Value> = all
            .iter()
            .rev()
            .map(|b| {
                serde_json::json!({
                    "name": b.name,
                    "path": shown(config, &b.path),
                    "size": b.size,
                    "created_at": mcli::json_time(b.created_unix),
                    "migration": b.migration,
                    "has_metadata": b.has_metadata,
                    "environment": b.environment,
                    "database": b.database,
                    "partial": b.partial,
                    "location": "local",
                })
            })
            .collect();
        let mut doc = doc;
        match remote_rows(config) {
            Ok(Some((url, rows, _))) => {
                for b in rows.iter().rev() {
                    doc.push(serde_json::json!({
                        "name": b.name,
                        "url": format!("{url}{}", b.name),
                        "size": b.size,
                        "created_at": mcli::json_time(b.created_unix),
                        "verified": true,
                        "location": "s3",
                    }));
                }
            }
            Ok(None) => {}
            Err(e) => {
                errln!("error: {e}");
                return EXIT_FAILURE;
            }
        }
        outln!("{:#}", serde_json::Value::Array(doc));
        return EXIT_OK;
    }
    outln!("{}", heading("Backups"));
    let code = list_remote(config, &all);
    if all.is_empty() {
        outln!(
            "No backups yet in {}/. Make one with `{}`.",
            backup::FOLDER,
            context::command(config, "db backup")
        );
        return code;
    }
    let width = all.iter().map(|b| b.name.len()).max().unwrap_or(4).max(4);
    let env_width = all
        .iter()
        .filter_map(|b| b.environment.as_ref().map(String::len))
        .max()
        .unwrap_or(0)
        .max(11);
    let db_width = all
        .iter()
        .filter_map(|b| b.database.as_ref().map(String::len))
        .max()
        .unwrap_or(0)
        .max(8);
    outln!(
        "{:width$}  {:>10}  {:19}  {:env_width$}  {:db_width$}  {:11}  MIGRATION",
        "NAME",
        "SIZE",
        "CREATED",
        "ENVIRONMENT",
        "DATABASE",
        "KIND"
    );
    for b in all.iter().rev() {
        outln!(
            "{:width$}  {:>10}  {:19}  {:env_width$}  {:db_width$}  {:11}  {}",
            b.name,
            human_size(b.size as i64),
            b.created_at,
            b.environment.as_deref().unwrap_or("-"),
            b.database.as_deref().unwrap_or("-"),
            kind(b),
            b.migration.as_deref().unwrap_or("-")
        );
    }
    let env = config.environment.to_string();
    let db = target_database(config);
    if !all.iter().any(|b| b.is_complete_of(&env, &db)) {
        outln!(
            "None of these is a complete backup of database {db} in {env}: `{}` \
             without a file restores none of them.",
            context::command(config, "db restore")
        );
    }
    code
}

type RemoteRows = (String, Vec<backup::remote::RemoteBackup>, usize);

/// nself's backups in the bucket folder of this environment's database (with BACKUP_STORAGE=s3):
/// the folder's URL, the backups, and how many other objects the folder holds.
fn remote_rows(config: &Config) -> Result<Option<RemoteRows>, String> {
    let Some(r) = super::storage::remote(config)? else {
        return Ok(None);
    };
    let (rows, foreign) = r.list().map_err(|e| e.to_string())?;
    Ok(Some((r.client.url(&r.folder), rows, foreign)))
}

/// The bucket's part of `backup list` (human), printed before the local list; the exit code.
fn list_remote(config: &Config, local: &[backup::Listed]) -> i32 {
    match remote_rows(config) {
        Ok(None) => EXIT_OK,
        Err(e) => {
            errln!("error: listing the bucket: {e}");
            EXIT_FAILURE
        }
        Ok(Some((url, rows, foreign))) => {
            outln!("In {url}:");
            if rows.is_empty() {
                outln!("  none");
            }
            let width = rows.iter().map(|b| b.name.len()).max().unwrap_or(4).max(4);
            for b in rows.iter().rev() {
                let here = local.iter().any(|l| l.name == b.name);
                outln!(
                    "  {:width$}  {:>10}  {:19}  verified{}",
                    b.name,
                    human_size(b.size as i64),
                    clock::Civil::from_unix(b.created_unix).display(),
                    if here { ", also local" } else { "" }
                );
            }
            if foreign > 0 {
                outln!("  ({foreign} other object(s) in that folder are not nself backups and are left alone)");
            }
            outln!("In {}/:", backup::FOLDER);
            EXIT_OK
        }
    }
}

fn is_true(v: Option<&str>) -> bool {
    v.is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on"))
}

fn status(config: &Config, format: Format) -> i32 {
    let all = match backup::list(&backups_dir(config)) {
        Ok(a) => a,
        Err(e) => return fail_backup(&e),
    };
    let enabled = is_true(config.var("BACKUP_ENABLED"));
    let now = clock::now_unix();
    let schedule = config.var("BACKUP_SCHEDULE").map(cron::Schedule::parse);
    let mut problem = None;
    let (schedule_text, last_due, next_due) = match &schedule {
        None => ("not set (BACKUP_SCHEDULE)".to_string(), None, None),
        Some(Err(e)) => {
            problem = Some(format!("BACKUP_SCHEDULE: {e}"));
            (format!("invalid ({e})"), None, None)
        }
        Some(Ok(s)) => (
            format!("{} (UTC)", s.describe()),
            s.last_at_or_before(now),
            s.next_after(now),
        ),
    };
    let retention = config.var("BACKUP_RETENTION_DAYS");
    let compression = config
        .var("BACKUP_COMPRESSION")
        .is_none_or(|v| is_true(Some(v)));
    let storage = match config.var("BACKUP_STORAGE").map(str::to_ascii_lowercase) {
        Some(s) if s == "s3" => match remote_rows(config) {
            Ok(Some((url, rows, _))) => format!(
                "S3 ({}): {url}, {} backup(s) there, newest {}",
                config.var("AWS_BACKUP_BUCKET").unwrap_or("-"),
                rows.len(),
                rows.last()
                    .map(|b| clock::Civil::from_unix(b.created_unix).display())
                    .unwrap_or_else(|| "-".into())
            ),
            Ok(None) => "S3".into(),
            Err(e) => {
                errln!("warning: the S3 storage cannot be used: {e}");
                format!(
                    "S3 ({}), not usable: {e}",
                    config
                        .var("AWS_BACKUP_BUCKET")
                        .unwrap_or("AWS_BACKUP_BUCKET not set")
                )
            }
        },
        Some(s) if s == "local" => format!("Local ({}/)", backup::FOLDER),
        Some(other) => format!("{other} (not supported; backups stay local)"),
        None => format!("Local ({}/)", backup::FOLDER),
    };
    // The last backup is this environment's and database's own (complete) one.
    let env = config.environment.to_string();
    let db = target_database(config);
    let last = all.iter().rev().find(|b| b.is_complete_of(&env, &db));
    let total: u64 = all.iter().map(|b| b.size).sum();
    let show = |t: Option<i64>| {
        t.map(|t| clock::Civil::from_unix(t).display())
            .unwrap_or_else(|| "-".into())
    };
    let running_pid = super::schedule::running(config);
    let installed_by = super::schedule::installed(config);
    let sched_state = super::schedule::read_state(config);
    let scheduler = match (running_pid, installed_by) {
        (Some(pid), Some(how)) => format!("running (pid {pid}); installed ({how})"),
        (Some(pid), None) => format!("running (pid {pid})"),
        (None, Some(how)) => format!("installed ({how})"),
        (None, None) => format!(
            "not running or installed (`{}`)",
            context::command(config, "db backup schedule --install")
        ),
    };
    if format == Format::Json {
        let doc = serde_json::json!({
            "scheduler_pid": running_pid,
            "scheduler_installed": installed_by,
            "last_scheduled_result": sched_state.last_result,
            "enabled": enabled,
            "schedule": config.var("BACKUP_SCHEDULE"),
            "schedule_description": schedule_text,
            "last_scheduled_run": last_due.map(|t| clock::Civil::from_unix(t).rfc3339()),
            "next_scheduled_run": if enabled { next_due.map(|t| clock::Civil::from_unix(t).rfc3339()) } else { None },
            "retention_days": retention.and_then(|r| r.parse::<i64>().ok()),
            "compression": compression,
            "storage": storage,
            "s3_upload": config.var("BACKUP_STORAGE").is_some_and(|s| s.eq_ignore_ascii_case("s3")),
            "last_backup": last.map(|b| mcli::json_time(b.created_unix)),
            "count": all.len(),
            "total_size": total,
            "error": problem,
        });
        outln!("{doc:#}");
    } else {
        outln!("{}", heading("Backup Configuration"));
        outln!(
            "Enabled: {}",
            if enabled {
                "yes"
            } else {
                "no (BACKUP_ENABLED)"
            }
        );
        outln!("Schedule: {schedule_text}");
        outln!(
            "Retention: {}",
            retention
                .map(|r| format!("{r} days"))
                .unwrap_or_else(|| "keep all".into())
        );
        outln!("Compression: {}", if compression { "gzip" } else { "none" });
        outln!("Storage: {storage}");
        outln!(
            "Last Backup: {}",
            last.map(|b| b.created_at.clone())
                .unwrap_or_else(|| "-".into())
        );
        outln!(
            "Next Backup: {}",
            if enabled {
                show(next_due)
            } else {
                "- (not enabled)".into()
            }
        );
        outln!("Backups Count: {}", all.len());
        outln!("Total Size: {}", human_size(total as i64));
        outln!("Scheduler: {scheduler}");
        if let Some(r) = &sched_state.last_result {
            outln!("Last Scheduled Run: {r}");
        }
        if enabled {
            // A scheduled time that passed (a minute of grace for the run itself) with no
            // backup since.
            if let Some(due) = last_due.filter(|d| now - d > 60) {
                if last.is_none_or(|b| b.created_unix < due) {
                    outln!(
                        "warning: the run due at {} UTC has no backup{}; see `{}`",
                        show(Some(due)),
                        if running_pid.is_none() && installed_by.is_none() {
                            " and no scheduler is running or installed"
                        } else {
                            ""
                        },
                        context::command(config, "db backup schedule --help")
                    );
                }
            }
        }
    }
    match problem {
        Some(p) => {
            errln!("error: {p}");
            EXIT_FAILURE
        }
        None => EXIT_OK,
    }
}

pub fn restore_command(global: &Global, args: RestoreArgs) -> i32 {
    let config = match context::load(global) {
        Ok(c) => c,
        Err(code) => return code,
    };
    mcli::finish(restore_run(&config, &args))
}

fn backup_failure(e: BackupError) -> Failure {
    Failure::Code(fail_backup(&e))
}

fn restore_run(config: &Config, args: &RestoreArgs) -> Result<(), Failure> {
    let env = config.environment.to_string();
    let db = target_database(config);
    // A download for --dry-run goes to a temp folder, removed when `_scratch` goes.
    let (path, _scratch) = match &args.file {
        Some(f) if f.to_string_lossy().starts_with("s3://") => {
            super::storage::fetch(config, &f.to_string_lossy(), args.dry_run)
                .map_err(backup_failure)?
        }
        Some(f) => (f.clone(), None),
        None => default_backup(config, &env, &db, args.dry_run)?,
    };
    // Everything about the file is checked before any connection.
    let pg_restore = find_client(&config.local.bins, "pg_restore");
    let checked = restore::check(&path, pg_restore.as_deref()).map_err(backup_failure)?;
    let mut session = mcli::open(config)?;
    let schemas = mcli::managed_schemas(config, &args.schemas);
    // What --clean would drop: also what makes the database "not empty".
    let (objects, preamble) =
        restore::clean_preamble(&mut session.client, &schemas).map_err(backup_failure)?;
    let preamble = if args.clean { preamble } else { String::new() };
    let into = format!(
        "database {} in {} ({})",
        session.params.dbname,
        config.environment,
        config.target.redacted()
    );
    let from = match &checked.metadata {
        Some(m) => format!(
            "{} ({}, {}, SHA-256 verified), made {} in {} from database {} (PostgreSQL {}), migration {}{}",
            shown(config, &path),
            human_size(checked.size as i64),
            checked.format.describe(),
            m.created_at,
            m.environment.as_deref().unwrap_or("an unrecorded environment"),
            m.database,
            m.server_version,
            m.migration.as_deref().unwrap_or("none"),
            if m.partial || m.options.is_partial() {
                format!(", partial: {}", scope(&m.options))
            } else {
                String::new()
            }
        ),
        None => format!(
            "{} ({}, {}, no metadata: checked that it is a complete pg_dump script with \
             pg_dump's \\restrict protection)",
            shown(config, &path),
            human_size(checked.size as i64),
            checked.format.describe(),
        ),
    };
    // A named backup of another environment or database is restored, and said so.
    let foreign = match &checked.metadata {
        Some(m)
            if m.environment.as_deref() != Some(env.as_str())
                || m.database != session.params.dbname =>
        {
            Some(format!(
                "note: {} was made {} from database {}; restoring it into database {} in {env} \
             because it was named",
                shown(config, &path),
                m.environment
                    .as_deref()
                    .map(|e| format!("in {e}"))
                    .unwrap_or_else(|| "in an unrecorded environment".into()),
                m.database,
                session.params.dbname,
            ))
        }
        Some(_) => None,
        None => Some(format!(
            "note: {} has no metadata, so nothing says which environment and database it \
             comes from; restoring it because it was named",
            shown(config, &path)
        )),
    };
    // A backup that creates objects cannot go into a database that already has them: the
    // restore is refused before it changes anything, and --clean is the way to replace them.
    let creates = checked
        .metadata
        .as_ref()
        .is_none_or(|m| !m.options.data_only);
    let refused = !args.clean && creates && !objects.is_empty();
    let not_empty = || {
        format!(
            "{into} is not empty ({} object(s) in schema(s) {}, e.g. {}), and {} creates its \
             objects, which would fail on the ones that exist. Nothing was changed. To replace \
             what the database holds with the backup, add --clean: `{}` \
             (it drops those objects first, in the same transaction; --dry-run lists them)",
            objects.len(),
            schemas.join(", "),
            objects[0],
            shown(config, &path),
            context::command(
                config,
                &format!("db restore --clean {}", shown(config, &path))
            ),
        )
    };
    if args.dry_run {
        outln!("{}", heading("Restore (dry run: nothing is changed)"));
        outln!("Backup: {from}");
        outln!("Into:   {into}");
        if let Some(n) = &foreign {
            outln!("{n}");
        }
        if args.clean {
            outln!(
                "--clean drops {} object(s) in schema(s) {} first, in the same transaction:",
                objects.len(),
                schemas.join(", ")
            );
            for o in &objects {
                outln!("  DROP {o}");
            }
        } else if refused {
            outln!("Would be refused: {}", not_empty());
        } else if creates {
            outln!("The database is empty: the backup's objects are created.");
        } else {
            outln!("A data-only backup: its rows go into the existing tables.");
        }
        return Ok(());
    }
    if refused {
        errln!("error: {}", not_empty());
        return Err(Failure::Code(EXIT_FAILURE));
    }
    if let Some(n) = &foreign {
        errln!("{n}");
    }
    let guard = consent(args.confirm.yes, &args.confirm.confirm);
    mcli::confirm(
        config,
        Guarded::Restore,
        &guard,
        &format!("restore {} into {into}", shown(config, &path)),
    )?;
    let Some(psql) = find_client(&config.local.bins, "psql") else {
        return Err(backup_failure(BackupError::Tool {
            doing: "looking for psql".into(),
            message: "psql not found on PATH or beside the PostgreSQL server programs; install \
                      the PostgreSQL client (Debian/Ubuntu: apt-get install postgresql-client)"
                .into(),
        }));
    };
    let params = session.params.clone();
    drop(session);
    outln!("Restoring {}...", shown(config, &path));
    let result = restore::run(
        &psql,
        &params,
        &checked,
        &preamble,
        &mut progress_line("Restoring…"),
    );
    clear_progress("");
    if let Err(e) = result {
        errln!("error: {e}");
        if !args.clean {
            errln!("hint: to replace what the database holds, add --clean (drops the managed schemas' objects first, in the same transaction)");
        }
        return Err(Failure::Code(EXIT_FAILURE));
    }
    outln!("Restore complete: {} into {into}.", shown(config, &path));
    Ok(())
}

/// The newest complete backup of this environment and database in backups/, else in the
/// bucket (downloaded: into backups/, or a temp folder for `dry_run`); the reason (exit 1)
/// when there is none, with what is there instead.
fn default_backup(
    config: &Config,
    env: &str,
    db: &str,
    dry_run: bool,
) -> Result<super::storage::Fetched, Failure> {
    let all = backup::list(&backups_dir(config)).map_err(backup_failure)?;
    if let Some(b) = all.iter().rev().find(|b| b.is_complete_of(env, db)) {
        return Ok((b.path.clone(), None));
    }
    // None here: the newest complete backup of the same environment and database in the bucket.
    if let Some(r) = super::storage::remote(config).map_err(|e| {
        errln!("error: {e}");
        Failure::Code(EXIT_USAGE)
    })? {
        let (remote_all, _) = r.list().map_err(|e| {
            errln!("error: {e}");
            Failure::Code(EXIT_FAILURE)
        })?;
        for b in remote_all.iter().rev() {
            let meta = r.metadata(&b.name).map_err(|e| {
                errln!("error: {e}");
                Failure::Code(EXIT_FAILURE)
            })?;
            let complete = meta.is_some_and(|m| {
                !m.partial
                    && !m.options.is_partial()
                    && m.environment.as_deref() == Some(env)
                    && m.database == db
            });
            if complete {
                errln!(
                    "No complete backup of database {db} in {env} in {}/; using the newest in the bucket.",
                    backup::FOLDER
                );
                return super::storage::download_into(config, &r.client, &b.key, dry_run)
                    .map_err(backup_failure);
            }
        }
    }
    if all.is_empty() {
        errln!(
            "error: no backups in {}/; make one with `{}` or name a file",
            backup::FOLDER,
            context::command(config, "db backup")
        );
    } else {
        let mut others = std::collections::BTreeMap::<String, usize>::new();
        for b in &all {
            let what = if !b.has_metadata {
                "without metadata".to_string()
            } else {
                format!(
                    "{}of database {} in {}",
                    if b.partial { "partial, " } else { "" },
                    b.database.as_deref().unwrap_or("-"),
                    b.environment
                        .as_deref()
                        .unwrap_or("an unrecorded environment")
                )
            };
            *others.entry(what).or_default() += 1;
        }
        let others: Vec<String> = others.iter().map(|(w, n)| format!("{n} {w}")).collect();
        errln!(
            "error: no complete backup of database {db} in {env} in {}/ ({}). Without a file, \
             `{}` restores only a complete backup of the same environment and \
             database; to restore one of these, name its file (`{}`)",
            backup::FOLDER,
            others.join("; "),
            context::command(config, "db restore"),
            context::command(config, "db backup list")
        );
    }
    Err(Failure::Code(EXIT_FAILURE))
}

pub fn update_command(global: &Global, args: UpdateArgs) -> i32 {
    let config = match context::load(global) {
        Ok(c) => c,
        Err(code) => return code,
    };
    mcli::finish(update_run(&config, &args))
}

fn update_run(config: &Config, args: &UpdateArgs) -> Result<(), Failure> {
    if args.no_backup && config.environment != Environment::Local {
        errln!(
            "error: --no-backup is for the local environment only; `nself db update` in {} always \
             makes a backup first",
            config.environment
        );
        return Err(Failure::Code(EXIT_USAGE));
    }
    let files = migrate::discover(&config.migrations_dir())?;
    let mut session = mcli::open(config)?;
    let settings = mcli::settings(config, &args.timeouts);
    let rows = mcli::read_rows(&mut session.client, &settings.table)?;
    // What would refuse the update refuses it now, before the backup (the runner asks again
    // under its lock).
    let pending = runner::update_plan(&files, &rows, &mut |_| {})?.len();
    if pending > 0 {
        mcli::confirm(
            config,
            Guarded::MigrateUp,
            &consent(args.confirm.yes, &args.confirm.confirm),
            &format!(
                "update {} ({}): back it up and apply {pending} migration(s) in one transaction",
                config.environment,
                config.target.redacted()
            ),
        )?;
    }
    let mut out = std::io::stdout();
    outln!("{}", heading("Database Update"));
    let mut made: Option<String> = None;
    if pending == 0 {
        // Nothing will change, so there is nothing to go back to.
        outln!("Creating backup... Skipped (nothing pending)");
    } else if args.no_backup {
        outln!("Creating backup... Skipped (--no-backup)");
    } else {
        const LABEL: &str = "Creating backup... ";
        out!("{LABEL}");
        let _ = out.flush();
        match make(
            config,
            &mut session,
            &CreateArgs::default(),
            "Creating backup...",
            LABEL,
        ) {
            Ok((path, meta)) => {
                outln!("Done ({})", human_size(meta.size as i64));
                made = Some(shown(config, &path));
                // The copy off this machine exists before anything changes.
                let uploaded = super::storage::remote(config).and_then(|r| match r {
                    Some(r) => super::storage::upload(&r, &path, &meta, true).map(|_| ()),
                    None => Ok(()),
                });
                if let Err(e) = uploaded {
                    errln!("error: {e}");
                    errln!(
                        "Nothing was changed: the update stops when it cannot store its backup \
                         (BACKUP_STORAGE=s3). The backup is in {}.",
                        shown(config, &path)
                    );
                    return Err(Failure::Code(EXIT_FAILURE));
                }
            }
            Err(e) => {
                outln!("Failed");
                errln!("error: {e}");
                errln!("Nothing was changed: the update stops when it cannot make its backup.");
                return Err(Failure::Code(EXIT_FAILURE));
            }
        }
    }
    out!("Checking migrations... ");
    let _ = out.flush();
    let schemas = mcli::managed_schemas(config, &args.schemas);
    let schema_file = config.schema_file();
    let line_open = std::cell::Cell::new(true);
    let result = (|| -> Result<Vec<&Migration>, MigrateError> {
        let mut runner = Runner::start(&mut session.client, &settings, &mut |_| {})?;
        let applied = runner.up_atomic(
            &files,
            &mut |list| {
                outln!("{} pending", list.len());
                line_open.set(false);
            },
            &mut |p| match p {
                Progress::Applying(m) => {
                    out!("Applying {}... ", m.id());
                    let _ = std::io::stdout().flush();
                    line_open.set(true);
                }
                Progress::Applied(..) => {
                    outln!("Done");
                    line_open.set(false);
                }
                _ => {}
            },
            &mut |tx| {
                crate::diff::source::recreate_new_values(tx, &schemas).map_err(|e| {
                    MigrateError::Blocked {
                        reasons: vec![format!("making new enum values usable: {e}")],
                        next: "Nothing was committed.".into(),
                    }
                })
            },
            &mut |tx| {
                out!("Verifying integrity... ");
                let _ = std::io::stdout().flush();
                line_open.set(true);
                let problems = integrity::check(tx, &schemas)
                    .map_err(|e| MigrateError::db("verifying integrity", &e))?;
                if !problems.is_empty() {
                    return Err(MigrateError::Blocked {
                        reasons: problems.into_iter().map(|p| p.0).collect(),
                        next: "The integrity check failed, so the update was not committed.".into(),
                    });
                }
                outln!("Passed");
                line_open.set(false);
                drift_step(
                    tx,
                    config,
                    args.strict,
                    &schema_file,
                    &schemas,
                    &settings.table.name,
                    &line_open,
                )
            },
        )?;
        runner.finish()?;
        Ok(applied)
    })();
    match result {
        Ok(applied) => {
            outln!();
            if applied.is_empty() {
                outln!("Update complete! The database was already up to date.");
            } else {
                outln!(
                    "Update complete! {} migration{} applied.",
                    applied.len(),
                    if applied.len() == 1 { "" } else { "s" }
                );
                if let Some(p) = &made {
                    outln!(
                        "The backup made before the update is {p}; to go back to it: {}",
                        context::command(config, &format!("db restore --clean {p}"))
                    );
                }
            }
            Ok(())
        }
        Err(e) => {
            if line_open.get() {
                outln!("Failed");
            }
            errln!("error: {e}");
            errln!(
                "The database is unchanged: every migration of this update ran in one transaction, which was rolled back."
            );
            match &made {
                Some(p) => errln!(
                    "The backup made before the update is {p}; to go back to it anyway: {}",
                    context::command(config, &format!("db restore --clean {p}"))
                ),
                None if args.no_backup && pending > 0 => {
                    errln!("No backup was made (--no-backup).")
                }
                None => {}
            }
            Err(Failure::Code(EXIT_FAILURE))
        }
    }
}

/// `db update`'s comparison with `nself/schema.dbml`, inside its transaction after the
/// migrations: the differences are listed as `schema diff` lists them (the database the
/// changed side) and are a warning, or a failure with `--strict`. No file: nothing to do.
fn drift_step(
    tx: &mut postgres::Transaction<'_>,
    config: &Config,
    strict: bool,
    schema_file: &Path,
    schemas: &[String],
    tracking_table: &str,
    line_open: &std::cell::Cell<bool>,
) -> Result<(), MigrateError> {
    use crate::diff::report;
    if !schema_file.is_file() {
        return Ok(());
    }
    let shown_file = shown(config, schema_file);
    out!("Comparing with {shown_file}... ");
    let _ = std::io::stdout().flush();
    line_open.set(true);
    let Some(drift) = integrity::schema_drift(tx, schema_file, schemas, tracking_table) else {
        outln!("Skipped (no such file)");
        line_open.set(false);
        return Ok(());
    };
    let env = config.environment.to_string();
    let problem = match drift {
        integrity::Drift::Compared { changes, .. } if changes.is_empty() => {
            outln!("Matches");
            line_open.set(false);
            return Ok(());
        }
        integrity::Drift::Compared { changes, hints } => {
            outln!("{}", report::count(&changes));
            line_open.set(false);
            let sides = report::Sides {
                desired: &shown_file,
                changed: &env,
            };
            let style = report::Style {
                indent: "  ",
                ..report::Style::default()
            };
            for l in report::lines(&changes, &hints, &sides, &style) {
                outln!("{l}");
            }
            format!(
                "the {env} database differs from {shown_file} ({}, listed above): {}",
                report::count(&changes),
                report::drift_advice(&shown_file, &|rest| context::command(config, rest))
            )
        }
        integrity::Drift::NotCompared(why) => {
            outln!("Not compared");
            line_open.set(false);
            format!("the {env} database was not compared with {shown_file}: {why}")
        }
    };
    if strict {
        return Err(MigrateError::Blocked {
            reasons: vec![problem],
            next: "--strict: the update was not committed.".into(),
        });
    }
    errln!(
        "warning: {problem}; `{}` fails on this",
        context::command(config, "db update --strict")
    );
    Ok(())
}
