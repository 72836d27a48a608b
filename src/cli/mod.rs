//! The command line: clap definitions and the only place that reads environment variables,
//! prints, or decides the exit code (0 success, 1 failure, 2 bad usage; with `import --check`
//! and `diff --exit-code`, 1 means the schemas differ and 2 that they could not be compared).

mod backup;
mod context;
mod db;
mod fmt;
mod import;
mod local;
mod migrate;
mod mock;
mod schedule;
mod schema;
mod seed;
mod storage;
mod sync;

use clap::{CommandFactory, Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "nself",
    version = env!("NSELF_LONG_VERSION"),
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
    /// Print a shell completion script to standard output.
    ///
    /// Load it in the running shell, or install it where the shell looks for completions.
    #[command(
        after_help = "Examples:\n  source <(nself completions bash)\n  nself completions bash > ~/.local/share/bash-completion/completions/nself\n  nself completions zsh > \"${fpath[1]}/_nself\"\n  nself completions fish > ~/.config/fish/completions/nself.fish\n  nself completions powershell >> $PROFILE\n  nself completions elvish >> ~/.config/elvish/rc.elv"
    )]
    Completions {
        /// bash, zsh, fish, powershell or elvish.
        shell: clap_complete::Shell,
    },
    /// Run the DBML language server on standard input and output (for editors).
    ///
    /// Diagnostics as `db schema check` gives them, on open, change and save; go to definition,
    /// references, rename, hover, symbols, completion, formatting (`db schema fmt`) and quick
    /// fixes.
    #[command(
        after_help = "Examples:\n  nself lsp\n  # Neovim: vim.lsp.start({ name = 'nself', cmd = { 'nself', 'lsp' } })"
    )]
    Lsp,
    /// Print the manual page (roff) to standard output, or write one page per command.
    #[command(
        after_help = "Examples:\n  nself man | man -l -\n  nself man > ~/.local/share/man/man1/nself.1\n  nself man --dir ~/.local/share/man/man1   # nself.1, nself-db.1, nself-db-migrate-up.1, …"
    )]
    Man {
        /// Write nself.1 and a page for every subcommand into this folder instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
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
    /// Fill every table with realistic rows that satisfy the schema (parents first), `--TABLE N`
    /// per table, reproducible with `--seed`; `--clear` deletes them again. Local only.
    Mock(mock::MockArgs),
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
/// `schema import --check` and `schema diff --exit-code`: the two sides could not be compared
/// (1 there means "they differ"). The same as bad usage, as for diff(1).
pub const EXIT_NOT_CHECKED: i32 = 2;

/// Whether to colour output written to stdout/stderr: only on a terminal, never with NO_COLOR.
pub(crate) fn use_color(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub(crate) fn stderr_color() -> bool {
    use_color(std::io::stderr().is_terminal())
}

pub fn main() -> i32 {
    crate::local::cluster::on_init(announce_local_init);
    let args = mock::rewrite_counts(std::env::args_os().collect(), &mock_flags());
    let cli = match Cli::try_parse_from(args) {
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
            DbCommand::Mock(args) => mock::run(&cli.global, args),
            DbCommand::Reset(args) => migrate::reset(&cli.global, args),
            DbCommand::Backup(args) => backup::backup_command(&cli.global, args),
            DbCommand::Restore(args) => backup::restore_command(&cli.global, args),
            DbCommand::Update(args) => backup::update_command(&cli.global, args),
            DbCommand::Connection(command) => db::run(&cli.global, command),
        },
        Command::Local(command) => local::run(&cli.global, command),
        Command::Lsp => match crate::lsp::run_stdio() {
            Ok(()) => EXIT_OK,
            Err(e) => context::fail(&format!("language server: {e}")),
        },
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "nself", &mut out);
            write_stdout(&out)
        }
        Command::Man { dir: None } => {
            let mut out = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut out) {
                Ok(()) => write_stdout(&out),
                Err(e) => context::fail(&format!("rendering the manual page: {e}")),
            }
        }
        Command::Man { dir: Some(dir) } => {
            if let Err(e) = std::fs::create_dir_all(&dir) {
                return context::fail(&format!("cannot create {}: {e}", dir.display()));
            }
            match clap_mangen::generate_to(Cli::command(), &dir) {
                Ok(()) => {
                    outln!("Wrote the manual pages into {}", dir.display());
                    EXIT_OK
                }
                Err(e) => context::fail(&format!("writing into {}: {e}", dir.display())),
            }
        }
    }
}

/// The long flags `db mock` takes (its own and the global ones): every other `--NAME N` after
/// `db mock` is a table's count.
fn mock_flags() -> Vec<String> {
    let cmd = Cli::command();
    let longs = |c: &clap::Command| -> Vec<String> {
        c.get_arguments()
            .filter_map(|a| a.get_long().map(str::to_owned))
            .collect()
    };
    let mut known = longs(&cmd);
    if let Some(m) = cmd
        .find_subcommand("db")
        .and_then(|d| d.find_subcommand("mock"))
    {
        known.extend(longs(m));
    }
    known.extend(["help".to_owned(), "version".to_owned()]);
    known
}

fn write_stdout(bytes: &[u8]) -> i32 {
    let mut out = crate::out::stdout();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => EXIT_OK,
        Err(e) => context::fail(&format!("writing to standard output: {e}")),
    }
}

/// Says so on stderr before the local database is created (initdb takes seconds).
fn announce_local_init(state_dir: &std::path::Path) {
    errln!(
        "Creating the local database in {} (first use; this takes a few seconds)…",
        state_dir.display()
    );
}
