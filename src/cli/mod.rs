//! The command line: clap definitions and the only place that reads environment variables,
//! prints, or decides the exit code (0 success, 1 failure, 2 bad usage).

mod backup;
mod context;
mod db;
mod import;
mod local;
mod migrate;
mod schema;
mod seed;

use clap::{Parser, Subcommand};
use std::io::IsTerminal;

#[derive(Parser, Debug)]
#[command(
    name = "nself",
    version,
    about = "Own a PostgreSQL schema's whole life: DBML checked like code, diffed, migrated safely.",
    propagate_version = true,
    after_help = "Examples:\n  nself db status\n  nself db schema check nself/schema.dbml\n  nself --env staging db status\n  nself start && nself db shell"
)]
struct Cli {
    #[command(flatten)]
    global: context::Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Database workflow: schema, migrations, seeds, backups.
    #[command(
        after_help = "Examples:\n  nself db status\n  nself db shell -c \"SELECT 1\"\n  nself db schema check nself/schema.dbml"
    )]
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    #[command(flatten)]
    Local(local::LocalCommand),
}

#[derive(Subcommand, Debug)]
enum DbCommand {
    /// Schema files: check, import, export, diff.
    Schema {
        #[command(subcommand)]
        command: schema::SchemaCommand,
    },
    /// Migrations: status, up, down, create, fresh, repair.
    Migrate {
        #[command(subcommand)]
        command: migrate::MigrateCommand,
    },
    /// Run the seed files for the environment (seeds/common, then seeds/<env>).
    Seed(seed::SeedArgs),
    /// Drop everything in the managed schemas, apply all migrations, run the seeds. Local only.
    #[command(after_help = "Examples:\n  nself db reset")]
    Reset(migrate::ResetArgs),
    /// Back up the database with pg_dump into backups/ (gzip, with a metadata file); list the
    /// backups; show the BACKUP_* settings.
    Backup(backup::BackupArgs),
    /// Restore a backup (default: the newest) in one transaction: all or nothing.
    #[command(
        after_help = "Examples:\n  nself db restore\n  nself db restore backups/2026-01-24_143052_nhost.sql.gz\n  nself db restore backup.sql --dry-run\n  nself db restore backup.sql --clean\n  nself --env production db restore --confirm yes-restore-production"
    )]
    Restore(backup::RestoreArgs),
    /// The safe team command: back up, apply every pending migration in one transaction,
    /// verify integrity; on failure nothing changes and the restore command is shown.
    #[command(
        after_help = "Examples:\n  nself db update\n  nself db update --no-backup   # local only\n  nself --env staging db update --yes"
    )]
    Update(backup::UpdateArgs),
    #[command(flatten)]
    Connection(db::DbConnectionCommand),
}

/// Exit codes shared by every command.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILURE: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

/// Whether to colour output written to stdout/stderr: only on a terminal, never with NO_COLOR.
pub(crate) fn use_color(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub(crate) fn stderr_color() -> bool {
    use_color(std::io::stderr().is_terminal())
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Db { command } => match command {
            DbCommand::Schema { command } => schema::run(&cli.global, command),
            DbCommand::Migrate { command } => migrate::run(&cli.global, command),
            DbCommand::Seed(args) => seed::run(&cli.global, args),
            DbCommand::Reset(args) => migrate::reset(&cli.global, args),
            DbCommand::Backup(args) => backup::backup_command(&cli.global, args),
            DbCommand::Restore(args) => backup::restore_command(&cli.global, args),
            DbCommand::Update(args) => backup::update_command(&cli.global, args),
            DbCommand::Connection(command) => db::run(&cli.global, command),
        },
        Command::Local(command) => local::run(&cli.global, command),
    }
}
