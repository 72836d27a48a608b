//! The embedded local database: a PostgreSQL cluster run from the server binaries installed on
//! the machine, with its data in `<project>/.nself/postgres/`, reachable only through a unix
//! socket in that folder, started on demand (SPEC.md section 3).
//!
//! [`bins`] finds the programs, [`process`] runs them (as the `postgres` account under root, with
//! deadlines), [`cluster`] owns one cluster's life, and [`testing`] gives the test suite
//! throwaway clusters and databases built from the same code. This module never reads process
//! environment variables (the search path arrives in [`crate::config::BinSearch`]; the single,
//! documented exception is the test-only [`testing`] module), never prints, and never touches a
//! process it cannot prove is its own PostgreSQL server.

pub mod bins;
pub mod cluster;
pub mod process;
pub mod testing;

pub use bins::{find_client, find_server, ServerBins};
pub use cluster::{Cluster, Running, State};

use std::fmt;
use std::path::{Path, PathBuf};

/// Everything that can go wrong with the local database, each with what to do next.
#[derive(Debug)]
pub enum LocalError {
    MissingBinaries {
        searched: Vec<PathBuf>,
        override_set: bool,
    },
    BinariesTooOld {
        dir: PathBuf,
        version: String,
    },
    NoServerAccount,
    NotOwner {
        dir: PathBuf,
    },
    Unreachable {
        dir: PathBuf,
        blocked_at: PathBuf,
        user: String,
    },
    HalfInitialized {
        data_dir: PathBuf,
    },
    VersionMismatch {
        data_dir: PathBuf,
        data_major: u32,
        bins_dir: PathBuf,
        bins_major: u32,
    },
    InitFailed {
        reason: String,
    },
    StartFailed {
        reason: String,
        log: PathBuf,
    },
    SocketInUse {
        socket_dir: PathBuf,
        log: PathBuf,
    },
    StopFailed {
        pid: i32,
        log: PathBuf,
    },
    Busy {
        lock: PathBuf,
    },
    Io {
        doing: String,
        path: PathBuf,
        error: std::io::Error,
    },
}

impl LocalError {
    pub(crate) fn io(doing: &str, path: &Path, error: std::io::Error) -> LocalError {
        LocalError::Io {
            doing: doing.to_string(),
            path: path.to_path_buf(),
            error,
        }
    }
}

impl fmt::Display for LocalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalError::MissingBinaries {
                searched,
                override_set,
            } => {
                let shown: Vec<String> = searched
                    .iter()
                    .take(6)
                    .map(|p| p.display().to_string())
                    .collect();
                let more = if searched.len() > 6 { ", …" } else { "" };
                write!(
                    f,
                    "PostgreSQL server programs (initdb, pg_ctl, postgres) not found{} (looked in {}{more}); \
                     install them (Debian/Ubuntu: apt-get install postgresql; Fedora: dnf install \
                     postgresql-server; macOS: brew install postgresql) or set DATABASE_URL to use \
                     another server",
                    if *override_set { " in NSELF_PG_BINDIR" } else { "" },
                    shown.join(", ")
                )
            }
            LocalError::BinariesTooOld { dir, version } => write!(
                f,
                "PostgreSQL {version} in {} is too old: nself needs 12 or newer; install a newer \
                 server or set DATABASE_URL",
                dir.display()
            ),
            LocalError::NoServerAccount => write!(
                f,
                "running as root, but there is no `postgres` OS account to run the server as \
                 (PostgreSQL refuses root); install the postgresql package, create the account \
                 (useradd --system postgres), or run nself as a normal user"
            ),
            LocalError::NotOwner { dir } => write!(
                f,
                "{} belongs to another user, so this user cannot run its database; run nself as \
                 its owner",
                dir.display()
            ),
            LocalError::Unreachable {
                dir,
                blocked_at,
                user,
            } => write!(
                f,
                "the {user} OS account cannot reach {}: {} is not searchable by it; run `chmod o+x \
                 {}`, move the project, or set DATABASE_URL",
                dir.display(),
                blocked_at.display(),
                blocked_at.display()
            ),
            LocalError::HalfInitialized { data_dir } => write!(
                f,
                "{} is not a complete PostgreSQL data folder (no PG_VERSION or global/pg_control); \
                 if it holds nothing you need, delete it (rm -rf {}) and run `nself start` again",
                data_dir.display(),
                data_dir.display()
            ),
            LocalError::VersionMismatch {
                data_dir,
                data_major,
                bins_dir,
                bins_major,
            } => write!(
                f,
                "{} was made by PostgreSQL {data_major} but the server programs found ({}) are \
                 version {bins_major}; install PostgreSQL {data_major}, or delete {} to start over \
                 (its data is lost)",
                data_dir.display(),
                bins_dir.display(),
                data_dir.display()
            ),
            LocalError::InitFailed { reason } => {
                write!(f, "could not create the local database (initdb): {reason}")
            }
            LocalError::StartFailed { reason, log } => write!(
                f,
                "the local database did not start: {reason}; see `nself logs postgres` ({})",
                log.display()
            ),
            LocalError::SocketInUse { socket_dir, log } => write!(
                f,
                "the local database cannot start: another server already uses the socket in {}; \
                 stop that server, or run `nself stop` in the project that owns it (log: {})",
                socket_dir.display(),
                log.display()
            ),
            LocalError::StopFailed { pid, log } => write!(
                f,
                "the local database (pid {pid}) did not stop within the time limit; see {}",
                log.display()
            ),
            LocalError::Busy { lock } => write!(
                f,
                "another nself process is starting or stopping this database (lock {}); try again",
                lock.display()
            ),
            LocalError::Io { doing, path, error } => {
                write!(f, "{doing} {}: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for LocalError {}
