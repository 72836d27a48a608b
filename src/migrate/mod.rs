//! The migration runner: migration files, the tracking table, the advisory lock, and applying
//! and rolling back migrations safely (SPEC.md section 2).
//!
//! [`file`] reads and checks the files, [`script`] splits SQL into statements, [`tracking`]
//! owns the `schema_migrations` table and the lock, [`runner`] decides what is applied, pending,
//! modified, missing or dirty and runs migrations. Invariants: a migration and its tracking row
//! commit in one transaction (or, for a `-- nself:no-transaction` file, the row says dirty until
//! the last statement succeeded); every change runs under the session advisory lock, and the
//! plan is read only after the lock is held, so each migration runs once however many runners
//! start. This module never prints and never reads environment variables: progress goes to a
//! callback, settings arrive as values.

pub mod file;
pub mod runner;
pub mod script;
pub mod tracking;

pub use file::{discover, FileProblem, FilesError, Migration, Section, Step};
pub use runner::{Entry, Progress, Runner, Settings, Status, StepError, TxGuard};
pub use tracking::{Applied, TableName, Tracking};

use std::fmt;

/// A statement that the server rejected, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementError {
    pub file: String,
    pub line: usize,
    /// 1-based column, when the server gave a position.
    pub column: Option<usize>,
    /// The file's text on that line.
    pub source_line: String,
    pub message: String,
    pub code: Option<String>,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl fmt::Display for StatementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(c) = self.column {
            write!(f, ":{c}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(code) = &self.code {
            write!(f, " (SQLSTATE {code})")?;
        }
        let gutter = self.line.to_string();
        write!(f, "\n  {gutter} | {}", self.source_line.trim_end())?;
        if let Some(c) = self.column {
            let prefix: String = self
                .source_line
                .chars()
                .take(c.saturating_sub(1))
                .map(|ch| if ch == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n  {} | {prefix}^", " ".repeat(gutter.len()))?;
        }
        if let Some(d) = &self.detail {
            write!(f, "\n  detail: {d}")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// What can go wrong while migrating or seeding; each says what was being done and what to do.
#[derive(Debug)]
pub enum MigrateError {
    Files(FilesError),
    /// A database call of nself's own failed.
    Db {
        doing: String,
        message: String,
    },
    /// A statement of a migration or seed failed; nothing of that file was kept (unless it
    /// runs outside a transaction, see `dirty`).
    Statement {
        what: String,
        error: Box<StatementError>,
        /// The migration ran outside a transaction and is now marked dirty.
        dirty: bool,
    },
    /// A statement ended the transaction the runner opened (committed or rolled back on its
    /// own): the statements before it may be committed. Never reported as "nothing applied".
    Escaped {
        what: String,
        error: Box<StatementError>,
        /// The migration was recorded dirty in the tracking table.
        recorded_dirty: bool,
    },
    Tracking {
        message: String,
    },
    /// The state of the database and the files forbids going on.
    Blocked {
        reasons: Vec<String>,
        next: String,
    },
    LockTimeout,
    /// Bad request (unknown version and such): the user's to fix.
    Usage(String),
}

impl MigrateError {
    pub fn db(doing: &str, e: &postgres::Error) -> MigrateError {
        MigrateError::Db {
            doing: doing.to_string(),
            message: runner::server_message(e),
        }
    }
}

impl fmt::Display for MigrateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrateError::Files(e) => e.fmt(f),
            MigrateError::Db { doing, message } => write!(f, "{doing}: {message}"),
            MigrateError::Statement { what, error, dirty } => {
                write!(f, "{what} failed at {error}")?;
                if *dirty {
                    write!(
                        f,
                        "\nThis migration runs outside a transaction (-- nself:no-transaction): \
                         the statements before the failing one stay applied, and it is marked \
                         dirty. Fix the database by hand, then run `nself db migrate repair` \
                         (to mark it applied) or `nself db migrate repair --mark-pending V` (to \
                         run it again)."
                    )
                } else {
                    write!(
                        f,
                        "\nNothing of it was applied: its transaction was rolled back."
                    )
                }
            }
            MigrateError::Escaped {
                what,
                error,
                recorded_dirty,
            } => {
                write!(f, "{what} stopped at {error}")?;
                write!(
                    f,
                    "\nThis statement ended the transaction nself opened for it (it committed or \
                     rolled back on its own), so the statements before it MAY BE COMMITTED; the \
                     statements after it did not run."
                )?;
                if *recorded_dirty {
                    write!(
                        f,
                        " It is marked dirty. Check the database by hand, then run `nself db \
                         migrate repair` (to mark it applied) or `nself db migrate repair \
                         --mark-pending V` (to run it again)."
                    )?;
                } else {
                    write!(f, " Check the database by hand before running anything else.")?;
                }
                Ok(())
            }
            MigrateError::Tracking { message } => f.write_str(message),
            MigrateError::Blocked { reasons, next } => {
                for r in reasons {
                    writeln!(f, "{r}")?;
                }
                f.write_str(next)
            }
            MigrateError::LockTimeout => f.write_str(
                "another nself migration runner holds the migration lock and lock_timeout ran out; \
                 wait for it to finish (see `SELECT * FROM pg_locks WHERE locktype = 'advisory'`) \
                 or raise --lock-timeout",
            ),
            MigrateError::Usage(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for MigrateError {}

impl From<FilesError> for MigrateError {
    fn from(e: FilesError) -> Self {
        MigrateError::Files(e)
    }
}
