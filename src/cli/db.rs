//! `nself db status` and `nself db shell`: what the configured database is and how it is doing,
//! and `psql` on it. The password reaches psql only through its environment (PGPASSWORD), never
//! its command line; everything printed shows the target redacted.

use super::context::{self, Global};
use super::local::Format;
use super::{EXIT_FAILURE, EXIT_OK};
use crate::config::Config;
use crate::connect::{self, Session};
use crate::local::find_client;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum DbConnectionCommand {
    /// Show the environment, the database (password hidden), whether it is reachable, its
    /// version, size and tables, migrations applied/pending/modified, and (as later features
    /// land) backups.
    ///
    /// For the local environment with nothing configured this starts the project's own
    /// database first. Exit status 1 when the database cannot be reached.
    #[command(
        after_help = "Examples:\n  nself db status\n  nself db status --env staging\n  nself db status --format json\n  nself db status --schemas public,app"
    )]
    Status {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Schemas whose tables are counted.
        #[arg(long, value_delimiter = ',', default_value = "public")]
        schemas: Vec<String>,
    },
    /// Open psql on the configured database, or run one command or file with it.
    ///
    /// The password is passed to psql in its environment (PGPASSWORD), never on its command line.
    /// With -c or -f, psql stops at the first error and the exit status is 1.
    #[command(
        after_help = "Examples:\n  nself db shell\n  nself db shell --database other_db\n  nself db shell -c \"SELECT count(*) FROM users\"\n  nself db shell -f query.sql"
    )]
    Shell {
        /// Connect to this database instead of the configured one (same server and user).
        #[arg(long, value_name = "NAME")]
        database: Option<String>,
        /// Run this SQL and exit.
        #[arg(
            short = 'c',
            long = "command",
            value_name = "SQL",
            conflicts_with = "file"
        )]
        command: Option<String>,
        /// Run the SQL in this file and exit.
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

pub fn run(global: &Global, cmd: DbConnectionCommand) -> i32 {
    let config = match context::load(global) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match cmd {
        DbConnectionCommand::Status { format, schemas } => status(&config, format, &schemas),
        DbConnectionCommand::Shell {
            database,
            command,
            file,
        } => shell(&config, database, command, file),
    }
}

/// At most this many drift lines in `db status` (the JSON has them all).
const STATUS_LINES: usize = 20;

struct Facts {
    version: String,
    database: String,
    user: String,
    size: i64,
    tables: i64,
}

/// The tracking table is nself's own bookkeeping and is not counted.
fn facts(
    session: &mut Session,
    schemas: &[String],
    tracking: &crate::migrate::TableName,
) -> Result<Facts, postgres::Error> {
    let row = session.client.query_one(
        "SELECT current_setting('server_version'), current_database()::text, current_user::text, \
                pg_database_size(current_database()), \
                (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
                    AND n.nspname = ANY($1) \
                    AND NOT (c.relname = $2 AND n.nspname = $3))",
        &[&schemas, &tracking.name, &tracking.schema],
    )?;
    Ok(Facts {
        version: row.get(0),
        database: row.get(1),
        user: row.get(2),
        size: row.get(3),
        tables: row.get(4),
    })
}

fn status(config: &Config, format: Format, schemas: &[String]) -> i32 {
    let target = &config.target;
    let outcome = connect::open(target).and_then(|mut s| {
        let tracking = super::migrate::settings(config, &Default::default()).table;
        let f = facts(&mut s, schemas, &tracking).map_err(|e| connect::classify(&s.params, e))?;
        Ok((s, f))
    });
    let (session, facts, error) = match outcome {
        Ok((s, f)) => (Some(s), Some(f), None),
        Err(e) => (None, None, Some(e.to_string())),
    };
    let mut session = session;
    let migrations = session
        .as_mut()
        .map(|s| super::migrate::summary(config, &mut s.client));
    let schema_file = config.schema_file();
    let tracking_table = super::migrate::settings(config, &Default::default())
        .table
        .name;
    // None: no schema file; Some(Ok(changes)): what would change in the database to match it.
    type Compared = (Vec<crate::diff::Change>, Vec<crate::diff::RenameHint>);
    let drift: Option<Result<Compared, String>> = session.as_mut().and_then(|s| {
        use crate::backup::integrity::{schema_drift, Drift};
        schema_drift(&mut s.client, &schema_file, schemas, &tracking_table).map(|d| match d {
            Drift::Compared { changes, hints } => Ok((changes, hints)),
            Drift::NotCompared(why) => Err(why),
        })
    });
    let local = session.as_ref().and_then(|s| s.local.as_ref());
    // This environment's and database's own last complete backup.
    let newest = super::backup::last_backup(config);
    let last_backup = newest
        .as_ref()
        .map(|b| format!("{} ({})", b.created_at, b.name));
    if format == Format::Json {
        let doc = serde_json::json!({
            "environment": config.environment,
            "project_dir": config.project_dir,
            "target": target.redacted(),
            "target_source": target.source(),
            "reachable": error.is_none(),
            "error": error,
            "server_version": facts.as_ref().map(|f| f.version.clone()),
            "database": facts.as_ref().map(|f| f.database.clone()),
            "user": facts.as_ref().map(|f| f.user.clone()),
            "size_bytes": facts.as_ref().map(|f| f.size),
            "tables": facts.as_ref().map(|f| f.tables),
            "schemas": schemas,
            "local": local.map(|r| serde_json::json!({
                "pid": r.pid,
                "started_now": r.started_now,
                "initialized_now": r.initialized_now,
                "data_dir": config.local.state_dir.join("data"),
            })),
            "migrations": migrations.as_ref().map(|m| m.1.clone()),
            "last_backup": newest.as_ref().map(|b| serde_json::json!({
                "name": b.name,
                "created_at": super::migrate::json_time(b.created_unix),
            })),
            "schema_file": schema_file,
            "schema_matches": drift.as_ref().and_then(|d| d.as_ref().ok().map(|c| c.0.is_empty())),
            "schema_differences": drift
                .as_ref()
                .and_then(|d| d.as_ref().ok().map(|c| crate::diff::summaries(&c.0).len())),
            "schema_changes": drift
                .as_ref()
                .and_then(|d| d.as_ref().ok().map(|c| crate::diff::summaries(&c.0))),
            "schema_error": drift.as_ref().and_then(|d| d.as_ref().err()),
        });
        outln!("{doc:#}");
        return if error.is_some() {
            EXIT_FAILURE
        } else {
            EXIT_OK
        };
    }
    outln!("{}", context::heading("Database Status"));
    outln!("Environment:  {}", config.environment);
    outln!("Project:      {}", config.project_dir.display());
    outln!("Target:       {}", target.redacted());
    outln!("Source:       {}", target.source());
    if let Some(r) = local {
        let how = if r.initialized_now {
            "created and started now"
        } else if r.started_now {
            "started now"
        } else {
            "running"
        };
        outln!("Local server: {how} (pid {})", r.pid);
    }
    match (&facts, &error) {
        (Some(f), _) => {
            outln!(
                "Connection:   ok (database {:?} as {:?})",
                f.database,
                f.user
            );
            outln!("Server:       PostgreSQL {}", f.version);
            outln!("Size:         {}", context::human_size(f.size));
            outln!(
                "Tables:       {} (schemas: {})",
                f.tables,
                schemas.join(", ")
            );
        }
        (None, Some(_)) => outln!("Connection:   failed (reason below)"),
        (None, None) => {}
    }
    if let Some((line, _)) = &migrations {
        outln!("Migrations:   {line}");
    }
    outln!(
        "Last backup:  {}",
        last_backup
            .clone()
            .unwrap_or_else(|| format!("none (`{}`)", context::command(config, "db backup")))
    );
    let shown = schema_file
        .strip_prefix(&config.project_dir)
        .unwrap_or(&schema_file)
        .display()
        .to_string();
    match &drift {
        None if error.is_none() => outln!("Schema file:  none ({shown} does not exist)"),
        None => {}
        Some(Ok((changes, _))) if changes.is_empty() => {
            outln!("Schema file:  matches the live schema ({shown})")
        }
        Some(Ok((changes, hints))) => {
            use crate::diff::report;
            let env = config.environment.to_string();
            outln!(
                "Schema file:  {shown} and the live schema differ ({}):",
                report::count(changes)
            );
            let sides = report::Sides {
                desired: &shown,
                changed: &env,
            };
            let style = report::Style {
                indent: "  ",
                ..report::Style::default()
            };
            let all = report::lines(changes, hints, &sides, &style);
            for l in all.iter().take(STATUS_LINES) {
                outln!("{l}");
            }
            if all.len() > STATUS_LINES {
                outln!(
                    "  … {} more (`{}` lists them all)",
                    all.len() - STATUS_LINES,
                    context::command(config, "db schema diff")
                );
            } else {
                outln!(
                    "  (`{}` shows them with their hazards)",
                    context::command(config, "db schema diff")
                );
            }
        }
        Some(Err(e)) => outln!("Schema file:  not compared: {e}"),
    }
    if let Some(e) = error {
        errln!("error: {e}");
        return EXIT_FAILURE;
    }
    EXIT_OK
}

fn shell(
    config: &Config,
    database: Option<String>,
    command: Option<String>,
    file: Option<PathBuf>,
) -> i32 {
    let Some(psql) = find_client(&config.local.bins, "psql") else {
        return context::fail(&format!(
            "psql not found on PATH or beside the PostgreSQL server programs; install the \
             PostgreSQL client (Debian/Ubuntu: apt-get install postgresql-client; macOS: brew \
             install libpq) to use `{}` for {}",
            context::command(config, "db shell"),
            config.target.redacted()
        ));
    };
    if let Some(f) = &file {
        if !f.is_file() {
            return context::fail(&format!("cannot read {}: no such file", f.display()));
        }
    }
    // Connecting first gives nself's own one-line errors and starts the local database.
    let session = match connect::open(&config.target) {
        Ok(s) => s,
        Err(e) => return context::fail(&e),
    };
    let mut params = session.params.clone();
    drop(session);
    if let Some(db) = database {
        params = params.with_dbname(&db);
    }
    let mut cmd = std::process::Command::new(&psql);
    // The connection through PG* variables (the password as PGPASSWORD), overriding any
    // service file or options of the user's; the password file stays usable.
    crate::backup::dump::client_env(&mut cmd, &params, "nself db shell");
    if command.is_some() || file.is_some() {
        cmd.args(["-v", "ON_ERROR_STOP=1"]);
    }
    if let Some(sql) = &command {
        cmd.arg("-c").arg(sql);
    }
    if let Some(f) = &file {
        cmd.arg("-f").arg(f);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return context::fail(&format!("could not run {}: {e}", psql.display())),
    };
    // psql handles Ctrl-C itself (cancelling the query); nself must not die of it meanwhile.
    // SAFETY: setting a signal disposition to ignore, restored below.
    let previous = unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    let status = child.wait();
    // SAFETY: restores the disposition saved above.
    unsafe { libc::signal(libc::SIGINT, previous) };
    match status {
        Ok(s) if s.success() => EXIT_OK,
        Ok(_) => EXIT_FAILURE,
        Err(e) => context::fail(&format!("waiting for psql: {e}")),
    }
}
