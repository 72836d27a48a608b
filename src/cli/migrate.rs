//! `nself db migrate status|up|down|create|fresh|repair` and `nself db reset`: the runner's
//! commands, with the environment rules (`policy`) applied before anything changes.
//!
//! Also the pieces the seed command shares: the confirmation flags and prompt, the runner
//! settings read from flags and configuration, and error reporting.

use super::context::{self, Global};
use super::local::Format;
use super::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::config::Config;
use crate::connect::{self, Session};
use crate::migrate::runner::{self, Repair, UpOptions};
use crate::migrate::{
    self, Applied, MigrateError, Migration, Progress, Runner, TableName, Tracking,
};
use crate::policy::{self, Consent, Decision, Guarded};
use clap::{Args, Subcommand};
use std::io::{BufRead, IsTerminal, Write};

/// Confirmation flags of every command that changes a database.
#[derive(Args, Debug, Clone, Default)]
pub struct ConfirmArgs {
    /// Confirm without a prompt (staging; in production use --confirm).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Confirm with the phrase production asks for (`production`, or `yes-destroy-production`
    /// for migrate down).
    #[arg(long, value_name = "PHRASE")]
    pub confirm: Option<String>,
}

/// Session settings of the runner.
#[derive(Args, Debug, Clone, Default)]
pub struct TimeoutArgs {
    /// lock_timeout for the run (e.g. 5s): bounds waiting for table locks and for another
    /// runner. Default: NSELF_LOCK_TIMEOUT, else none.
    #[arg(long, value_name = "DURATION")]
    pub lock_timeout: Option<String>,
    /// statement_timeout for the run (e.g. 10min). Default: NSELF_STATEMENT_TIMEOUT, else none.
    #[arg(long, value_name = "DURATION")]
    pub statement_timeout: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum MigrateCommand {
    /// Show every migration: Applied, Pending, Modified (file changed since it was applied),
    /// Missing (applied, file gone) or Failed (dirty).
    #[command(
        after_help = "Examples:\n  nself db migrate status\n  nself db migrate status --format json"
    )]
    Status {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Apply pending migrations in order, each in its own transaction with its tracking row.
    ///
    /// Refuses while an applied file has changed (`migrate repair` accepts it), a migration is
    /// dirty, or a pending file is older than the newest applied one (--allow-out-of-order).
    /// With --dry-run it prints the SQL each pending migration would run, in order, and
    /// changes nothing (no lock, no tracking table, no confirmation).
    #[command(
        after_help = "Examples:\n  nself db migrate up\n  nself db migrate up 1\n  nself db migrate up --dry-run\n  nself --env staging db migrate up --yes\n  nself --env production db migrate up --confirm production"
    )]
    Up {
        /// Apply at most N migrations.
        #[arg(value_name = "N")]
        count: Option<usize>,
        /// Print the statements that would run; apply nothing.
        #[arg(long)]
        dry_run: bool,
        /// Apply pending migrations older than the newest applied one.
        #[arg(long)]
        allow_out_of_order: bool,
        #[command(flatten)]
        confirm: ConfirmArgs,
        #[command(flatten)]
        timeouts: TimeoutArgs,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Roll back the newest applied migrations (default 1) by running their DOWN sections.
    #[command(
        after_help = "Examples:\n  nself db migrate down\n  nself db migrate down 2\n  nself --env production db migrate down --confirm yes-destroy-production"
    )]
    Down {
        /// Roll back N migrations.
        #[arg(value_name = "N", default_value_t = 1)]
        count: usize,
        #[command(flatten)]
        confirm: ConfirmArgs,
        #[command(flatten)]
        timeouts: TimeoutArgs,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Write the next numbered migration file with empty UP and DOWN sections.
    #[command(
        after_help = "Examples:\n  nself db migrate create add_indexes\n  nself db migrate create \"Add user avatars\"   # becomes add_user_avatars"
    )]
    Create {
        /// What the migration does; turned into snake_case.
        name: String,
    },
    /// Drop every object in the managed schemas, then apply all migrations. Local only.
    #[command(
        after_help = "Examples:\n  nself db migrate fresh\n  nself db migrate fresh --schemas public,app"
    )]
    Fresh {
        /// Managed schemas to empty (default: public plus NSELF_SCHEMAS).
        #[arg(long, value_delimiter = ',')]
        schemas: Vec<String>,
        #[command(flatten)]
        confirm: ConfirmArgs,
        #[command(flatten)]
        timeouts: TimeoutArgs,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Reconcile the tracking table with the files: accept changed files, clear dirty marks,
    /// or mark versions applied or pending. Shows what it will change and asks first.
    ///
    /// Without --mark-* flags it accepts every changed checksum and clears every dirty mark;
    /// with them it does only what they say. Nothing here runs migration SQL.
    #[command(
        after_help = "Examples:\n  nself db migrate repair\n  nself db migrate repair --mark-applied 3   # adopt a database made by hand\n  nself db migrate repair --mark-pending 4 --yes"
    )]
    Repair {
        /// Record version V as applied without running it.
        #[arg(long, value_name = "V")]
        mark_applied: Vec<u64>,
        /// Forget version V so that `up` runs it again (nothing is rolled back).
        #[arg(long, value_name = "V")]
        mark_pending: Vec<u64>,
        #[command(flatten)]
        confirm: ConfirmArgs,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

/// `nself db reset`.
#[derive(Args, Debug)]
pub struct ResetArgs {
    /// Managed schemas to empty (default: public plus NSELF_SCHEMAS).
    #[arg(long, value_delimiter = ',')]
    pub schemas: Vec<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    #[command(flatten)]
    pub timeouts: TimeoutArgs,
}

pub fn run(global: &Global, cmd: MigrateCommand) -> i32 {
    let config = match context::load(global) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let result = match cmd {
        MigrateCommand::Status { format } => status(&config, format),
        MigrateCommand::Up {
            count,
            dry_run,
            allow_out_of_order,
            confirm,
            timeouts,
            format,
        } => {
            let options = UpOptions {
                limit: count,
                allow_out_of_order,
            };
            if dry_run {
                up_dry_run(&config, options, &timeouts, format)
            } else {
                up(&config, options, &confirm, &timeouts, format)
            }
        }
        MigrateCommand::Down {
            count,
            confirm,
            timeouts,
            format,
        } => down(&config, count, &confirm, &timeouts, format),
        MigrateCommand::Create { name } => create(&config, &name),
        MigrateCommand::Fresh {
            schemas,
            confirm,
            timeouts,
            format,
        } => fresh(&config, &schemas, &confirm, &timeouts, format, false),
        MigrateCommand::Repair {
            mark_applied,
            mark_pending,
            confirm,
            format,
        } => repair(&config, &mark_applied, &mark_pending, &confirm, format),
    };
    finish(result)
}

pub fn reset(global: &Global, args: ResetArgs) -> i32 {
    let config = match context::load(global) {
        Ok(c) => c,
        Err(code) => return code,
    };
    finish(fresh(
        &config,
        &args.schemas,
        &args.confirm,
        &args.timeouts,
        Format::Human,
        true,
    ))
}

/// How a command ended: an exit code already reported, or an error to print.
pub enum Failure {
    Code(i32),
    Error(MigrateError),
}

impl From<migrate::FilesError> for Failure {
    fn from(e: migrate::FilesError) -> Self {
        Failure::Error(e.into())
    }
}

impl From<MigrateError> for Failure {
    fn from(e: MigrateError) -> Self {
        Failure::Error(e)
    }
}

pub fn finish(result: Result<(), Failure>) -> i32 {
    match result {
        Ok(()) => EXIT_OK,
        Err(Failure::Code(c)) => c,
        Err(Failure::Error(e)) => {
            errln!("error: {e}");
            if matches!(e, MigrateError::Usage(_)) {
                EXIT_USAGE
            } else {
                EXIT_FAILURE
            }
        }
    }
}

/// Runner settings: flags first, then NSELF_* configuration.
pub fn settings(config: &Config, t: &TimeoutArgs) -> runner::Settings {
    let mut table = TableName::default();
    if let Some(spec) = config.var("NSELF_MIGRATIONS_TABLE") {
        match spec.split_once('.') {
            Some((schema, name)) => {
                table.schema = schema.to_string();
                table.name = name.to_string();
            }
            None => table.name = spec.to_string(),
        }
    }
    runner::Settings {
        table,
        lock_timeout: t
            .lock_timeout
            .clone()
            .or_else(|| config.var("NSELF_LOCK_TIMEOUT").map(str::to_string)),
        statement_timeout: t
            .statement_timeout
            .clone()
            .or_else(|| config.var("NSELF_STATEMENT_TIMEOUT").map(str::to_string)),
    }
}

/// Managed schemas: the flag's, else public plus NSELF_SCHEMAS.
pub fn managed_schemas(config: &Config, flag: &[String]) -> Vec<String> {
    let mut out: Vec<String> = if flag.is_empty() {
        let mut v = vec!["public".to_string()];
        if let Some(list) = config.var("NSELF_SCHEMAS") {
            v.extend(list.split(',').map(|s| s.trim().to_string()));
        }
        v
    } else {
        flag.to_vec()
    };
    out.retain(|s| !s.is_empty());
    out.dedup();
    out
}

/// Asks the environment rules (and, on a terminal, the user) whether to go on.
pub fn confirm(
    config: &Config,
    cmd: Guarded,
    args: &ConfirmArgs,
    what: &str,
) -> Result<(), Failure> {
    // Every command that changes a database passes here first: say which one and why.
    errln!("{}", context::target_line(config));
    let consent = Consent {
        yes: args.yes,
        confirm: args.confirm.clone(),
    };
    let terminal = std::io::stdin().is_terminal();
    match policy::decide(cmd, config.environment, &consent, terminal, what) {
        Decision::Go => Ok(()),
        Decision::Refuse(message) => {
            errln!("error: {message}");
            Err(Failure::Code(EXIT_FAILURE))
        }
        Decision::Ask { prompt, expect } => {
            errout!("{prompt}");
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            let read = std::io::stdin().lock().read_line(&mut answer);
            if read.is_ok() && policy::accepts(&expect, &answer) {
                Ok(())
            } else {
                match (&expect, answer.trim()) {
                    (policy::Answer::Phrase(p), typed) if !typed.is_empty() => errln!(
                        "{typed:?} did not match {p:?} (type it exactly). Cancelled: nothing was changed."
                    ),
                    _ => errln!("Cancelled: nothing was changed."),
                }
                Err(Failure::Code(EXIT_FAILURE))
            }
        }
    }
}

pub fn open(config: &Config) -> Result<Session, Failure> {
    connect::open(&config.target).map_err(|e| {
        errln!("error: {e}");
        Failure::Code(EXIT_FAILURE)
    })
}

fn files(config: &Config) -> Result<Vec<Migration>, Failure> {
    Ok(migrate::discover(&config.migrations_dir())?)
}

/// The tracking rows without creating or locking anything.
pub fn read_rows(
    client: &mut postgres::Client,
    table: &TableName,
) -> Result<Vec<Applied>, MigrateError> {
    match Tracking::inspect(client, table)? {
        Some(t) => t.rows(client),
        None => Ok(Vec::new()),
    }
}

/// Migration counts for `db status`: a one-line summary and the same as JSON (an error
/// message when the files or the table cannot be read).
pub fn summary(config: &Config, client: &mut postgres::Client) -> (String, serde_json::Value) {
    let table = settings(config, &TimeoutArgs::default()).table;
    let outcome = migrate::discover(&config.migrations_dir())
        .map_err(MigrateError::from)
        .and_then(|files| Ok((read_rows(client, &table)?, files)));
    match outcome {
        Ok((rows, files)) => {
            let entries = runner::plan(&files, &rows);
            let n = |s: migrate::Status| entries.iter().filter(|e| e.status == s).count();
            let (applied, pending, modified, missing, failed) = (
                n(migrate::Status::Applied),
                n(migrate::Status::Pending),
                n(migrate::Status::Modified),
                n(migrate::Status::Missing),
                n(migrate::Status::Failed),
            );
            let mut line = format!("{applied} applied, {pending} pending, {modified} modified");
            if missing > 0 {
                line.push_str(&format!(", {missing} missing"));
            }
            if failed > 0 {
                line.push_str(&format!(", {failed} failed (dirty)"));
            }
            let json = serde_json::json!({
                "applied": applied, "pending": pending, "modified": modified,
                "missing": missing, "failed": failed,
            });
            (line, json)
        }
        Err(e) => {
            let first = e.to_string().lines().next().unwrap_or("").to_string();
            (
                format!(
                    "unknown ({first}; see `{}`)",
                    context::command(config, "db migrate status")
                ),
                serde_json::json!({ "error": e.to_string() }),
            )
        }
    }
}

/// Prints progress lines as the runner goes (human format only).
pub fn printer(human: bool) -> impl FnMut(Progress) {
    move |p| {
        let mut out = std::io::stdout();
        match p {
            Progress::Waiting => {
                errln!("Waiting for another nself migration runner to finish…")
            }
            Progress::Applying(m) if human => {
                let _ = write!(out, "Applying {}... ", m.id());
                let _ = out.flush();
            }
            Progress::RollingBack(m) if human => {
                let _ = write!(out, "Rolling back {}... ", m.id());
                let _ = out.flush();
            }
            Progress::Applied(_, ms) | Progress::RolledBack(_, ms) if human => {
                let _ = writeln!(out, "Done ({ms} ms)");
            }
            Progress::Adopted(m) if human => {
                let _ = writeln!(
                    out,
                    "Recorded the checksum of {} (tracked by an older nself without one)",
                    m.id()
                );
            }
            _ => {}
        }
    }
}

fn migration_json(m: &Migration) -> serde_json::Value {
    serde_json::json!({
        "version": m.version_text,
        "name": m.name,
        "file": m.file_name,
        "checksum": m.checksum,
    })
}

fn status(config: &Config, format: Format) -> Result<(), Failure> {
    let files = files(config)?;
    let mut session = open(config)?;
    let table = settings(config, &TimeoutArgs::default()).table;
    let rows = read_rows(&mut session.client, &table)?;
    let entries = runner::plan(&files, &rows);
    let count = |s: migrate::Status| entries.iter().filter(|e| e.status == s).count();
    if format == Format::Json {
        let list: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "version": e.version_text,
                    "name": e.name,
                    "status": e.status.label(),
                    "file": e.file.map(|f| f.file_name.clone()),
                    "checksum": e.file.map(|f| f.checksum.clone()),
                    "applied_checksum": e.applied.as_ref().and_then(|a| a.checksum.clone()),
                    "applied_at": e.applied.as_ref().and_then(|a| a.applied_unix).map(json_time),
                    "execution_ms": e.applied.as_ref().and_then(|a| a.execution_ms),
                    "out_of_order": e.out_of_order,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "environment": config.environment,
            "target": config.target.redacted(),
            "migrations_dir": config.migrations_dir(),
            "tracking_table": table.sql(),
            "migrations": list,
            "applied": count(migrate::Status::Applied),
            "pending": count(migrate::Status::Pending),
            "modified": count(migrate::Status::Modified),
            "missing": count(migrate::Status::Missing),
            "failed": count(migrate::Status::Failed),
        });
        outln!("{doc:#}");
        return Ok(());
    }
    outln!("Migration Status");
    outln!("{}", "─".repeat(44));
    let vw = entries
        .iter()
        .map(|e| e.version_text.len())
        .chain([7])
        .max()
        .unwrap_or(7);
    let nw = entries
        .iter()
        .map(|e| e.name.chars().count())
        .chain([20])
        .max()
        .unwrap_or(20);
    let sw = 14;
    outln!(
        "{:vw$}  {:nw$}  {:sw$}  APPLIED",
        "VERSION",
        "NAME",
        "STATUS"
    );
    for e in &entries {
        let applied = e
            .applied
            .as_ref()
            .map(|a| a.applied_at.clone())
            .unwrap_or_else(|| "-".into());
        let mut label = e.status.label().to_string();
        if e.out_of_order {
            label.push_str(" (out of order)");
        }
        outln!(
            "{:vw$}  {:nw$}  {:sw$}  {applied}",
            e.version_text,
            e.name,
            label
        );
    }
    if entries.is_empty() {
        outln!(
            "(no migrations in {}; `{}` writes one)",
            config.migrations_dir().display(),
            context::command(config, "db migrate create NAME")
        );
    }
    outln!();
    outln!(
        "{} applied, {} pending{}{}{}",
        count(migrate::Status::Applied),
        count(migrate::Status::Pending),
        match count(migrate::Status::Modified) {
            0 => String::new(),
            n => format!(
                ", {n} modified (run `{}` to accept)",
                context::command(config, "db migrate repair")
            ),
        },
        match count(migrate::Status::Missing) {
            0 => String::new(),
            n => format!(", {n} missing"),
        },
        match count(migrate::Status::Failed) {
            0 => String::new(),
            n => format!(
                ", {n} failed (dirty; fix, then `{}`)",
                context::command(config, "db migrate repair")
            ),
        },
    );
    Ok(())
}

/// What `up` and `up --dry-run` read before deciding anything: the folder's migrations, a
/// session, the runner's settings and the tracking table's rows (read without the lock).
struct First {
    files: Vec<Migration>,
    session: Session,
    settings: runner::Settings,
    rows: Vec<Applied>,
}

fn first_look(config: &Config, timeouts: &TimeoutArgs) -> Result<First, Failure> {
    let files = files(config)?;
    let mut session = open(config)?;
    let settings = settings(config, timeouts);
    let rows = read_rows(&mut session.client, &settings.table)?;
    Ok(First {
        files,
        session,
        settings,
        rows,
    })
}

/// The pending migrations `up` would apply, in order, at most `--limit` of them.
fn pending_files<'a>(entries: &[runner::Entry<'a>], options: &UpOptions) -> Vec<&'a Migration> {
    entries
        .iter()
        .filter(|e| e.status == migrate::Status::Pending)
        .filter_map(|e| e.file)
        .take(options.limit.unwrap_or(usize::MAX))
        .collect()
}

fn up(
    config: &Config,
    options: UpOptions,
    confirm_args: &ConfirmArgs,
    timeouts: &TimeoutArgs,
    format: Format,
) -> Result<(), Failure> {
    // A first look without the lock, to say what confirmation is for; the runner decides
    // again under the lock.
    let First {
        files,
        mut session,
        settings,
        rows,
    } = first_look(config, timeouts)?;
    let entries = runner::plan(&files, &rows);
    let pending = pending_files(&entries, &options).len();
    if pending > 0 {
        let what = format!(
            "apply {pending} migration{} to {} ({})",
            plural(pending),
            config.environment,
            config.target.redacted()
        );
        confirm(config, Guarded::MigrateUp, confirm_args, &what)?;
    }
    let human = format == Format::Human;
    let mut runner = Runner::start(&mut session.client, &settings, &mut printer(human))?;
    let result = runner.up(&files, options, &mut printer(human));
    settle(runner, result, format, "applied")?;
    Ok(())
}

/// `migrate up --dry-run`: what `up` would run, read without the lock and without creating the
/// tracking table; refused the same way `up` would refuse.
fn up_dry_run(
    config: &Config,
    options: UpOptions,
    timeouts: &TimeoutArgs,
    format: Format,
) -> Result<(), Failure> {
    let First {
        files,
        settings,
        rows,
        ..
    } = first_look(config, timeouts)?;
    let entries = runner::plan(&files, &rows);
    runner::blockers(
        &entries,
        options.allow_out_of_order,
        "showing the migrations that would be applied",
    )?;
    let pending = pending_files(&entries, &options);
    let statements = |m: &Migration| -> Vec<String> {
        m.up.steps.iter().map(|s| format!("{};", s.sql)).collect()
    };
    if format == Format::Json {
        let list: Vec<serde_json::Value> = pending
            .iter()
            .map(|m| {
                let mut doc = migration_json(m);
                doc["transaction"] = serde_json::Value::Bool(!m.no_transaction);
                doc["statements"] = statements(m).into();
                doc
            })
            .collect();
        let doc = serde_json::json!({
            "dry_run": true,
            "environment": config.environment,
            "target": config.target.redacted(),
            "would_apply": list,
        });
        outln!("{doc:#}");
        return Ok(());
    }
    if pending.is_empty() {
        outln!("-- Dry run: nothing to apply, the database is up to date.");
        return Ok(());
    }
    let mut out = crate::out::stdout();
    let io = |e: std::io::Error| {
        errln!("error: writing to standard output: {e}");
        Failure::Code(EXIT_FAILURE)
    };
    writeln!(
        out,
        "-- Dry run: nothing is applied. {} migration{} would be applied to {} ({}), in this order:",
        pending.len(),
        plural(pending.len()),
        config.environment,
        config.target.redacted()
    )
    .map_err(io)?;
    for (name, value) in [
        ("lock_timeout", &settings.lock_timeout),
        ("statement_timeout", &settings.statement_timeout),
    ] {
        if let Some(v) = value {
            writeln!(out, "SET {name} = {};", crate::sql::quote_literal(v)).map_err(io)?;
        }
    }
    for m in &pending {
        let how = if m.no_transaction {
            "outside a transaction (-- nself:no-transaction), marked dirty until it finishes"
        } else {
            "in one transaction with its tracking row"
        };
        writeln!(out, "\n-- {} ({how})", m.file_name).map_err(io)?;
        for st in statements(m) {
            writeln!(out, "{st}").map_err(io)?;
        }
        writeln!(
            out,
            "-- then records version {} in {}",
            m.version_text,
            settings.table.sql()
        )
        .map_err(io)?;
    }
    Ok(())
}

/// Ends a run: closes an open progress line on failure ("Applying …" + "Failed"), releases
/// the lock, and reports what was done.
fn settle(
    runner: Runner,
    result: Result<Vec<&Migration>, MigrateError>,
    format: Format,
    verb: &str,
) -> Result<(), Failure> {
    let interrupted = matches!(
        result,
        Err(MigrateError::Statement { .. }
            | MigrateError::Escaped { .. }
            | MigrateError::Db { .. })
    );
    if format == Format::Human && interrupted {
        outln!("Failed");
    }
    let done = result?;
    runner.finish()?;
    report_applied(&done, format, verb);
    Ok(())
}

fn report_applied(list: &[&Migration], format: Format, verb: &str) {
    if format == Format::Json {
        let doc = serde_json::json!({
            verb.replace(' ', "_"): list.iter().map(|m| migration_json(m)).collect::<Vec<_>>(),
        });
        outln!("{doc:#}");
    } else if list.is_empty() {
        outln!("Nothing to do: the database is up to date.");
    } else {
        outln!(
            "\nMigrations complete! {} migration{} {verb}.",
            list.len(),
            plural(list.len())
        );
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn down(
    config: &Config,
    count: usize,
    confirm_args: &ConfirmArgs,
    timeouts: &TimeoutArgs,
    format: Format,
) -> Result<(), Failure> {
    let files = files(config)?;
    let mut session = open(config)?;
    let settings = settings(config, timeouts);
    let rows = read_rows(&mut session.client, &settings.table)?;
    let names: Vec<String> = rows
        .iter()
        .rev()
        .take(count)
        .map(|r| format!("{:03}_{}", r.version, r.name))
        .collect();
    if names.is_empty() {
        if format == Format::Json {
            outln!("{:#}", serde_json::json!({ "rolled_back": [] }));
        } else {
            outln!("Nothing to roll back: no migration is applied.");
        }
        return Ok(());
    }
    let what = format!(
        "roll back {} ({}) in {} ({})",
        names.join(", "),
        if names.len() == 1 {
            "1 migration".to_string()
        } else {
            format!("{} migrations", names.len())
        },
        config.environment,
        config.target.redacted()
    );
    confirm(config, Guarded::MigrateDown, confirm_args, &what)?;
    let human = format == Format::Human;
    let mut runner = Runner::start(&mut session.client, &settings, &mut printer(human))?;
    let result = runner.down(&files, count, &mut printer(human));
    settle(runner, result, format, "rolled back")?;
    Ok(())
}

/// `fresh` and `reset` (which also seeds).
fn fresh(
    config: &Config,
    schemas: &[String],
    confirm_args: &ConfirmArgs,
    timeouts: &TimeoutArgs,
    format: Format,
    seed: bool,
) -> Result<(), Failure> {
    let cmd = if seed {
        Guarded::Reset
    } else {
        Guarded::MigrateFresh
    };
    let schemas = managed_schemas(config, schemas);
    let what = format!(
        "drop every object in {} and re-apply all migrations{} in {}",
        schemas.join(", "),
        if seed { " and seeds" } else { "" },
        config.target.redacted()
    );
    confirm(config, cmd, confirm_args, &what)?;
    let files = files(config)?;
    let seeds = if seed {
        crate::seed::discover(&config.seeds_dir(), config.environment)?
    } else {
        Vec::new()
    };
    let mut session = open(config)?;
    let human = format == Format::Human;
    let settings = settings(config, timeouts);
    let mut runner = Runner::start(&mut session.client, &settings, &mut printer(human))?;
    let dropped = runner.drop_all(&schemas)?;
    if human {
        outln!(
            "Dropped {dropped} object{} in {}.",
            plural(dropped),
            schemas.join(", ")
        );
    }
    let result = runner.up(
        &files,
        UpOptions {
            limit: None,
            allow_out_of_order: true,
        },
        &mut printer(human),
    );
    settle(runner, result, format, "applied")?;
    if seed {
        super::seed::run_seeds(&mut session.client, &seeds, config.environment)?;
    }
    Ok(())
}

fn repair(
    config: &Config,
    mark_applied: &[u64],
    mark_pending: &[u64],
    confirm_args: &ConfirmArgs,
    format: Format,
) -> Result<(), Failure> {
    let files = files(config)?;
    let mut session = open(config)?;
    let settings = settings(config, &TimeoutArgs::default());
    let human = format == Format::Human;
    let mut runner = Runner::start(&mut session.client, &settings, &mut printer(human))?;
    let plan = runner.repair_plan(&files, mark_applied, mark_pending)?;
    if plan.is_empty() {
        runner.finish()?;
        if human {
            outln!("Nothing to repair: the tracking table matches the files.");
        } else {
            outln!(
                "{:#}",
                serde_json::json!({ "changes": [], "applied": false })
            );
        }
        return Ok(());
    }
    if human {
        outln!("Repair plan ({})", settings.table.sql());
        outln!("{}", "─".repeat(44));
        for r in &plan {
            outln!("  {r}");
        }
    }
    let what = format!(
        "change {} tracking row{} in {}",
        plan.len(),
        plural(plan.len()),
        config.target.redacted()
    );
    // The lock is held while asking: another runner waits rather than changing the state the
    // plan was made from.
    confirm(config, Guarded::MigrateRepair, confirm_args, &what)?;
    runner.repair(&files, &plan)?;
    runner.finish()?;
    if human {
        outln!(
            "Repaired: {} change{} made.",
            plan.len(),
            plural(plan.len())
        );
    } else {
        let changes: Vec<&Repair> = plan.iter().collect();
        outln!(
            "{:#}",
            serde_json::json!({ "changes": changes, "applied": true })
        );
    }
    Ok(())
}

/// snake_case from free text: `Add user-avatars` → `add_user_avatars`.
pub fn snake_case(name: &str) -> Option<String> {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        } else if c.is_whitespace() || c == '-' || c == '_' || c == '.' {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        } else {
            return None;
        }
    }
    let out = out.trim_end_matches('_').to_string();
    (!out.is_empty()).then_some(out)
}

/// A time in JSON output: RFC 3339 in UTC (`2026-01-24T14:30:52Z`), the one format every
/// `--format json` document and metadata file uses.
pub fn json_time(unix: i64) -> String {
    crate::backup::clock::Civil::from_unix(unix).rfc3339()
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the Unix epoch (UTC).
pub fn utc_timestamp(secs: u64) -> String {
    json_time(i64::try_from(secs).unwrap_or(i64::MAX))
}

fn create(config: &Config, raw: &str) -> Result<(), Failure> {
    let Some(name) = snake_case(raw) else {
        return Err(MigrateError::Usage(format!(
            "{raw:?} cannot be a migration name: use letters, digits, spaces, `-` or `_` (it \
             becomes snake_case, e.g. add_indexes)"
        ))
        .into());
    };
    let dir = config.migrations_dir();
    let io = |doing: &str, e: std::io::Error| {
        MigrateError::Files(migrate::FilesError::Io {
            doing: doing.to_string(),
            path: dir.clone(),
            error: e,
        })
    };
    std::fs::create_dir_all(&dir).map_err(|e| io("creating the migrations folder", e))?;
    let (version, width) =
        migrate::file::next_version(&dir).map_err(|e| io("reading the migrations folder", e))?;
    let id = format!("{version:0width$}_{name}");
    let path = dir.join(format!("{id}.sql"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let description = {
        let words = name.replace('_', " ");
        let mut c = words.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    let text = format!(
        "-- Migration: {id}\n-- Created: {}\n-- Description: {description}\n\n-- UP\n\n\n-- DOWN\n\n",
        utc_timestamp(now)
    );
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| io(&format!("creating {id}.sql in"), e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| io(&format!("writing {id}.sql in"), e))?;
    let shown = path
        .strip_prefix(&config.project_dir)
        .unwrap_or(&path)
        .display()
        .to_string();
    outln!("Created {shown}");
    if name != raw {
        outln!("(named {name:?} from {raw:?})");
    }
    outln!(
        "Write the change after `-- UP` and how to undo it after `-- DOWN`, then run `{}`.",
        context::command(config, "db migrate up")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_snake_case() {
        assert_eq!(snake_case("add_indexes").as_deref(), Some("add_indexes"));
        assert_eq!(
            snake_case("Add user-avatars").as_deref(),
            Some("add_user_avatars")
        );
        assert_eq!(
            snake_case("addUserAvatars").as_deref(),
            Some("add_user_avatars")
        );
        assert_eq!(snake_case("  x  ").as_deref(), Some("x"));
        assert_eq!(snake_case("drop; table"), None);
        assert_eq!(snake_case("__"), None);
    }

    #[test]
    fn timestamps() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(1_769_265_052), "2026-01-24T14:30:52Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
    }
}
