//! `nself start`, `stop`, `status`, `restart postgres`, `logs postgres`: the project's local
//! database (`.nself/postgres/`). These commands manage that cluster whatever the configured
//! target is, and say so when the configuration points elsewhere.

use super::context::{self, Global};
use super::{EXIT_FAILURE, EXIT_OK};
use crate::config::{Config, Target};
use crate::connect;
use crate::local::{find_server, Cluster, State};
use clap::{Subcommand, ValueEnum};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Service {
    /// The local PostgreSQL server.
    Postgres,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum LocalCommand {
    /// Start the local database (created on first use in .nself/postgres/).
    ///
    /// The server programs (initdb, pg_ctl, postgres) come from PATH, then the usual install
    /// folders (/usr/lib/postgresql/<newest>/bin, /usr/pgsql-<n>/bin, Homebrew); NSELF_PG_BINDIR
    /// names the folder explicitly. The server listens only on a unix socket in .nself/postgres/
    /// and runs as the `postgres` OS account when nself runs as root.
    #[command(
        after_help = "Examples:\n  nself start\n  nself start --project-dir ~/code/my-app\n  NSELF_PG_BINDIR=/usr/lib/postgresql/16/bin nself start"
    )]
    Start,
    /// Stop the local database.
    #[command(after_help = "Examples:\n  nself stop")]
    Stop,
    /// Show whether the local database runs, where it lives and what the project connects to.
    #[command(after_help = "Examples:\n  nself status\n  nself status --format json")]
    Status {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Restart a service (only `postgres`).
    #[command(after_help = "Examples:\n  nself restart postgres")]
    Restart { service: Service },
    /// Show the end of a service's log (only `postgres`).
    #[command(after_help = "Examples:\n  nself logs postgres\n  nself logs postgres -n 200")]
    Logs {
        service: Service,
        /// How many lines.
        #[arg(short = 'n', long = "lines", default_value_t = 50)]
        lines: usize,
    },
}

pub fn run(global: &Global, cmd: LocalCommand) -> i32 {
    let config = match context::load(global) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let cluster = match Cluster::open(&config.local) {
        Ok(c) => c,
        Err(e) => return context::fail(&e),
    };
    match cmd {
        LocalCommand::Start => start(&config, &cluster),
        LocalCommand::Stop => stop(&cluster),
        LocalCommand::Status { format } => status(&config, &cluster, format),
        LocalCommand::Restart {
            service: Service::Postgres,
        } => {
            let code = stop(&cluster);
            if code != EXIT_OK {
                return code;
            }
            start(&config, &cluster)
        }
        LocalCommand::Logs {
            service: Service::Postgres,
            lines,
        } => match cluster.log_tail(lines) {
            Ok(tail) if tail.is_empty() => {
                errln!("no log yet at {}", cluster.log_file().display());
                EXIT_OK
            }
            Ok(tail) => {
                for line in tail {
                    outln!("{line}");
                }
                EXIT_OK
            }
            Err(e) => context::fail(&e),
        },
    }
}

fn note_other_target(config: &Config) {
    if !matches!(config.target, Target::Local(_)) {
        errln!(
            "note: the {} environment connects to {} ({}), not to this local database",
            config.environment,
            config.target.redacted(),
            config.target.source()
        );
    }
}

fn start(config: &Config, cluster: &Cluster) -> i32 {
    // Through `connect` so that the configured database exists once this returns.
    let session = match connect::open(&Target::Local(config.local.clone())) {
        Ok(s) => s,
        Err(e) => return context::fail(&e),
    };
    if let Some(running) = &session.local {
        if running.initialized_now {
            outln!(
                "Created the local database in {}",
                cluster.data_dir().display()
            );
        }
        if let (true, Some(bins)) = (running.started_now, &running.bins) {
            outln!(
                "Local database started: PostgreSQL {} (pid {})",
                bins.version,
                running.pid
            );
        } else {
            outln!("Local database already running (pid {})", running.pid);
        }
    }
    outln!(
        "Connect with: nself db shell   (socket folder {})",
        cluster.socket_dir().display()
    );
    note_other_target(config);
    EXIT_OK
}

fn stop(cluster: &Cluster) -> i32 {
    match cluster.stop() {
        Ok(true) => {
            outln!("Local database stopped");
            EXIT_OK
        }
        Ok(false) => {
            outln!("Local database is not running");
            EXIT_OK
        }
        Err(e) => context::fail(&e),
    }
}

fn status(config: &Config, cluster: &Cluster, format: Format) -> i32 {
    let (state, error) = match cluster.state() {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let (state_name, pid) = match state {
        Some(State::Running { pid }) => ("running", Some(pid)),
        Some(State::Stopped) => ("stopped", None),
        Some(State::NotInitialized) => ("not created yet", None),
        None => ("broken", None),
    };
    let bins = find_server(&config.local.bins, cluster.data_major());
    let version = bins.as_ref().ok().map(|b| b.version.clone());
    if format == Format::Json {
        let doc = serde_json::json!({
            "state": state_name,
            "pid": pid,
            "error": error,
            "data_dir": cluster.data_dir(),
            "socket_dir": cluster.socket_dir(),
            "log": cluster.log_file(),
            "server_version": version,
            "server_bin_dir": bins.as_ref().ok().map(|b| b.dir.clone()),
            "binaries_error": bins.as_ref().err().map(|e| e.to_string()),
            "environment": config.environment,
            "target": config.target.redacted(),
            "target_source": config.target.source(),
        });
        outln!("{doc:#}");
        return if error.is_some() {
            EXIT_FAILURE
        } else {
            EXIT_OK
        };
    }
    outln!("{}", context::heading("Local database"));
    match pid {
        Some(pid) => outln!("State:        running (pid {pid})"),
        None => outln!("State:        {state_name}"),
    }
    match &bins {
        Ok(b) => outln!(
            "Server:       PostgreSQL {} ({})",
            b.version,
            b.dir.display()
        ),
        Err(e) => outln!("Server:       {e}"),
    }
    outln!("Data:         {}", cluster.data_dir().display());
    outln!("Socket:       {}", cluster.socket_dir().display());
    outln!("Log:          {}", cluster.log_file().display());
    outln!("Environment:  {}", config.environment);
    outln!(
        "Target:       {} ({})",
        config.target.redacted(),
        config.target.source()
    );
    if let Some(e) = error {
        errln!("error: {e}");
        return EXIT_FAILURE;
    }
    EXIT_OK
}
