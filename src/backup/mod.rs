//! Backups and restores of the configured database (SPEC.md section 4, issue 6): `pg_dump`
//! streamed through gzip into `backups/` with a metadata file beside each backup, the list of
//! backups, the `BACKUP_*` schedule, verification and all-or-nothing restores through `psql`.
//!
//! [`dump`] makes a backup, [`restore`] checks and restores one, [`cron`] evaluates
//! `BACKUP_SCHEDULE`, [`integrity`] is `db update`'s final check, [`clock`] is civil UTC time.
//! Invariants: a backup file appears under its final name only once it is complete and synced
//! (temp file, fsync, link); files are 0600 and the backups folder 0700; a restore reads the
//! whole file and checks its SHA-256 before it connects to change anything; the password
//! reaches `pg_dump`/`psql` only through their environment. This module never prints and
//! never reads the process environment: progress goes to callbacks, settings arrive as values.

pub mod clock;
pub mod cron;
pub mod dump;
pub mod integrity;
pub mod remote;
pub mod restore;
pub mod s3;
pub mod script;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// The folder backups go to, under the project folder.
pub const FOLDER: &str = "backups";
/// The advisory lock a backup holds ("nself_bk" in ASCII): never two backups of a database at
/// once, from this machine or another.
pub const LOCK_KEY: i64 = 0x6e73_656c_665f_626b;
/// Appended to a backup's file name for its metadata file.
pub const META_SUFFIX: &str = ".meta.json";

/// What goes into a dump (recorded in the metadata).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpOptions {
    pub tables: Vec<String>,
    pub exclude: Vec<String>,
    pub schema_only: bool,
    pub data_only: bool,
    /// Whether the Hasura metadata schema `hdb_catalog` is included (excluded by default).
    pub include_metadata: bool,
    pub compressed: bool,
}

impl DumpOptions {
    /// Whether a backup with these options leaves part of the database out.
    pub fn is_partial(&self) -> bool {
        !self.tables.is_empty() || !self.exclude.is_empty() || self.schema_only || self.data_only
    }
}

/// The metadata file written beside every backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The backup's file name (without folder).
    pub file: String,
    /// Size of the backup file in bytes.
    pub size: u64,
    /// SHA-256 of the backup file's bytes (as stored, i.e. compressed), lower-case hex.
    pub sha256: String,
    /// The environment the backup was made in (`local`, `staging`, `production`, …). Missing
    /// in backups made before nself recorded it: such a backup is never picked by `restore`
    /// without a file name.
    #[serde(default)]
    pub environment: Option<String>,
    pub database: String,
    /// Whether the backup leaves something out (`--tables`, `--exclude`, `--schema-only`,
    /// `--data-only`): never picked by `restore` without a file name.
    #[serde(default)]
    pub partial: bool,
    pub server_version: String,
    pub pg_dump_version: String,
    /// The newest applied migration (`003_add_user_preferences`), if the database tracks any.
    pub migration: Option<String>,
    pub options: DumpOptions,
    /// `2026-01-24T14:30:52Z`.
    pub created_at: String,
    pub created_unix: i64,
}

/// What can go wrong with backups; each says what was being done.
#[derive(Debug)]
pub enum BackupError {
    Io {
        doing: String,
        error: std::io::Error,
    },
    Db {
        doing: String,
        message: String,
    },
    /// pg_dump or psql is missing, too old, or failed.
    Tool {
        doing: String,
        message: String,
    },
    /// The backup file does not match its metadata, or is damaged.
    Corrupt {
        file: String,
        reason: String,
    },
    /// The file holds something other than a database dump (a psql meta-command, transaction
    /// control, …); `reason` names the line and what was found, never the line's text.
    Refused {
        file: String,
        reason: String,
    },
    /// The user asked for something impossible (no backups, bad flags).
    Usage(String),
    /// Another backup or a migration holds the lock (a scheduled backup skips).
    Busy(String),
}

impl BackupError {
    pub fn io(doing: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
        let doing = doing.into();
        move |error| BackupError::Io { doing, error }
    }

    pub fn db(doing: &str, e: &postgres::Error) -> BackupError {
        BackupError::Db {
            doing: doing.to_string(),
            message: crate::migrate::runner::server_message(e),
        }
    }
}

impl fmt::Display for BackupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackupError::Io { doing, error } => write!(f, "{doing}: {error}"),
            BackupError::Db { doing, message } => write!(f, "{doing}: {message}"),
            BackupError::Tool { doing, message } => write!(f, "{doing}: {message}"),
            BackupError::Corrupt { file, reason } => write!(
                f,
                "{file} is damaged or incomplete: {reason}; nothing was changed. Use another \
                 backup (`nself db backup list`)"
            ),
            BackupError::Refused { file, reason } => write!(
                f,
                "{file} is refused: {reason}. A restore runs only what a database dump is \
                 (SQL statements and COPY data, in one transaction); nothing was changed"
            ),
            BackupError::Usage(m) => f.write_str(m),
            BackupError::Busy(what) => write!(f, "not started: {what}"),
        }
    }
}

impl std::error::Error for BackupError {}

/// The metadata file of a backup file.
pub fn meta_path(backup: &Path) -> PathBuf {
    let mut name = backup.file_name().unwrap_or_default().to_os_string();
    name.push(META_SUFFIX);
    backup.with_file_name(name)
}

/// Reads a backup's metadata; `Ok(None)` when there is no metadata file. The file is opened
/// without following a symbolic link (a link is refused with its path).
pub fn read_meta(backup: &Path) -> Result<Option<Metadata>, BackupError> {
    let path = meta_path(backup);
    let bytes = match crate::fsx::read_regular(&path) {
        Ok(t) => t,
        Err(crate::fsx::OpenError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None)
        }
        Err(e) => return Err(open_error(&path, e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| BackupError::Corrupt {
            file: path.display().to_string(),
            reason: format!("the metadata is not valid: {e}"),
        })
}

/// The error for a backup or metadata file that could not be opened.
pub fn open_error(path: &Path, e: crate::fsx::OpenError) -> BackupError {
    match e {
        crate::fsx::OpenError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
            BackupError::Usage(format!(
                "{} does not exist; see `nself db backup list`",
                path.display()
            ))
        }
        crate::fsx::OpenError::Io(e) => BackupError::io(format!("reading {}", path.display()))(e),
        other => BackupError::Usage(format!("{} {other}", path.display())),
    }
}

/// One backup found in a folder.
#[derive(Clone, Debug, Serialize)]
pub struct Listed {
    pub path: PathBuf,
    pub name: String,
    pub size: u64,
    /// From the metadata, else from the file's modification time.
    pub created_unix: i64,
    pub created_at: String,
    pub migration: Option<String>,
    pub has_metadata: bool,
    /// From the metadata; `None` without metadata or in backups made before it was recorded.
    pub environment: Option<String>,
    /// From the metadata; `None` without metadata.
    pub database: Option<String>,
    /// From the metadata; a backup without metadata counts as partial (nothing says what it
    /// holds).
    pub partial: bool,
}

impl Listed {
    /// Whether this backup is a complete backup of `database` made in `environment`: the only
    /// kind `restore` picks without a file name.
    pub fn is_complete_of(&self, environment: &str, database: &str) -> bool {
        self.has_metadata
            && !self.partial
            && self.environment.as_deref() == Some(environment)
            && self.database.as_deref() == Some(database)
    }
}

/// Backups in `dir` (files ending `.sql` or `.sql.gz`, not temp files), oldest first. A missing
/// folder has none.
pub fn list(dir: &Path) -> Result<Vec<Listed>, BackupError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(BackupError::io(format!("reading {}", dir.display()))(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(BackupError::io(format!("reading {}", dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !(name.ends_with(".sql") || name.ends_with(".sql.gz")) {
            continue;
        }
        let path = entry.path();
        // A link is not listed (and so never restored as "the newest backup").
        let stat = match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => m,
            _ => continue,
        };
        let meta = read_meta(&path).ok().flatten();
        let mtime = stat
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let created_unix = meta.as_ref().map(|m| m.created_unix).unwrap_or(mtime);
        out.push(Listed {
            path,
            name,
            size: stat.len(),
            created_unix,
            created_at: clock::Civil::from_unix(created_unix).display(),
            migration: meta.as_ref().and_then(|m| m.migration.clone()),
            has_metadata: meta.is_some(),
            environment: meta.as_ref().and_then(|m| m.environment.clone()),
            database: meta.as_ref().map(|m| m.database.clone()),
            partial: meta
                .as_ref()
                .is_none_or(|m| m.partial || m.options.is_partial()),
        });
    }
    out.sort_by(|a, b| (a.created_unix, &a.name).cmp(&(b.created_unix, &b.name)));
    Ok(out)
}

/// A file this run created (with [`crate::fsx::create_new`]), remembered by its device and inode
/// so that clean-up removes it only while the name still points at that same file: a name that
/// another process took over (or already held) is never removed.
#[derive(Debug)]
pub struct Owned {
    pub path: PathBuf,
    id: (u64, u64),
}

impl Owned {
    /// Creates `path` exclusively (`O_EXCL|O_NOFOLLOW`) with `mode`; the file and its record.
    pub fn create(path: &Path, mode: u32) -> std::io::Result<(Owned, std::fs::File)> {
        use std::os::unix::fs::MetadataExt;
        let file = crate::fsx::create_new(path, mode)?;
        let meta = file.metadata()?;
        Ok((
            Owned {
                path: path.to_path_buf(),
                id: (meta.dev(), meta.ino()),
            },
            file,
        ))
    }

    /// Removes the file if its name still refers to the file this run created.
    pub fn remove(&self) {
        remove_if_same(&self.path, self.id);
    }

    /// The file's (device, inode).
    pub fn id(&self) -> (u64, u64) {
        self.id
    }

    /// The same file under another name (after a hard link).
    pub fn at(&self, path: &Path) -> Owned {
        Owned {
            path: path.to_path_buf(),
            id: self.id,
        }
    }
}

fn remove_if_same(path: &Path, id: (u64, u64)) {
    use std::os::unix::fs::MetadataExt;
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if (m.dev(), m.ino()) == id {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A file-name-safe version of a database or backup name.
pub fn safe_name(name: &str) -> String {
    let out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        "backup".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert_eq!(super::safe_name("my db/../x"), "my_db____x");
        assert_eq!(super::safe_name(""), "backup");
        assert_eq!(
            super::meta_path(std::path::Path::new("backups/a.sql.gz")),
            std::path::Path::new("backups/a.sql.gz.meta.json")
        );
    }
}
