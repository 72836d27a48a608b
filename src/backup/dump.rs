//! Making a backup: the real `pg_dump` (plain SQL), its output streamed through gzip (flate2,
//! fast level, large buffers) and SHA-256 straight into a private temp file in the target
//! folder, which is synced and linked to its final name only when everything succeeded.
//!
//! `pg_dump` runs as its own process, so dumping and compressing proceed concurrently through
//! the pipe, in constant memory. Also the environment shared with `psql` for restores: the
//! connection goes to the tools as `PG*` variables, the password as `PGPASSWORD`, never argv.

use super::{clock, BackupError, DumpOptions, Metadata};
use crate::config::ConnParams;
use crate::migrate::{TableName, Tracking};
use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The gzip level. With the zlib-rs backend, level 1 is a "quick" strategy that compresses a
/// typical dump ~45% worse for no speed gain; level 2 measured as fast and smaller than
/// `gzip -6` (520 MB database: 96.5 MB in 2.0 s; level 1: 141.7 MB in 2.0 s; level 3: 2.4 s).
const GZIP_LEVEL: u32 = 2;

/// Chunk size of the streams (pipe reads, file writes).
pub const BUFFER: usize = 1 << 20;

/// Points a `pg_dump`/`psql` command at `params` through its environment only.
pub fn client_env(cmd: &mut Command, params: &ConnParams, app: &str) {
    for key in [
        "PGSERVICE",
        "PGSERVICEFILE",
        "PGOPTIONS",
        "PGHOSTADDR",
        "PGDATABASE",
    ] {
        cmd.env_remove(key);
    }
    cmd.env("PGHOST", &params.host)
        .env("PGPORT", params.port.to_string())
        .env("PGUSER", &params.user)
        .env("PGDATABASE", &params.dbname)
        .env("PGAPPNAME", app)
        .env(
            "PGCONNECT_TIMEOUT",
            params.connect_timeout.unwrap_or(10).to_string(),
        );
    match params.password() {
        Some(p) => cmd.env("PGPASSWORD", p),
        None => cmd.env_remove("PGPASSWORD"),
    };
    match &params.sslmode {
        Some(m) => cmd.env("PGSSLMODE", m),
        None => cmd.env_remove("PGSSLMODE"),
    };
    if let Some(o) = &params.options {
        cmd.env("PGOPTIONS", o);
    }
}

/// `pg_dump --version` → (major, "15.10").
pub fn tool_version(tool: &Path) -> Result<(u32, String), BackupError> {
    let doing = format!("running {} --version", tool.display());
    let out = Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(BackupError::io(doing.clone()))?;
    crate::local::bins::parse_version(&String::from_utf8_lossy(&out.stdout)).ok_or(
        BackupError::Tool {
            doing,
            message: "could not read its version".into(),
        },
    )
}

/// The server's (major, version text).
pub fn server_version(client: &mut postgres::Client) -> Result<(u32, String), BackupError> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version_num')::int, current_setting('server_version')",
            &[],
        )
        .map_err(|e| BackupError::db("reading the server version", &e))?;
    let num: i32 = row.get(0);
    Ok(((num / 10_000) as u32, row.get(1)))
}

/// The newest applied migration as `003_name`, if the database has a tracking table.
pub fn newest_migration(
    client: &mut postgres::Client,
    table: &TableName,
) -> Result<Option<String>, BackupError> {
    let wrap = |e: crate::migrate::MigrateError| BackupError::Db {
        doing: "reading the migration version".into(),
        message: e.to_string(),
    };
    let Some(tracking) = Tracking::inspect(client, table).map_err(wrap)? else {
        return Ok(None);
    };
    let rows = tracking.rows(client).map_err(wrap)?;
    Ok(rows
        .iter()
        .filter(|r| r.success)
        .max_by_key(|r| r.version)
        .map(|r| format!("{:03}_{}", r.version, r.name)))
}

/// A backup to make.
pub struct Request<'a> {
    pub pg_dump: &'a Path,
    pub params: &'a ConnParams,
    /// The final file path.
    pub path: PathBuf,
    /// Make the folder (and keep it) private: true for the project's backups folder.
    pub private_folder: bool,
    pub options: DumpOptions,
    pub tracking_table: &'a TableName,
    /// The time to record, in Unix seconds.
    pub now: i64,
}

/// The `pg_dump` arguments for the options (no connection settings: those go in the
/// environment).
pub fn dump_args(o: &DumpOptions) -> Vec<String> {
    let mut args = vec![
        "--format=plain".to_string(),
        "--no-password".into(),
        // Roles differ between environments; the restoring user owns what it restores.
        "--no-owner".into(),
    ];
    if o.schema_only {
        args.push("--schema-only".into());
    }
    if o.data_only {
        args.push("--data-only".into());
    }
    if !o.include_metadata {
        args.push("--exclude-schema=hdb_catalog".into());
    }
    for t in &o.tables {
        args.push(format!("--table={t}"));
    }
    for t in &o.exclude {
        args.push(format!("--exclude-table={t}"));
    }
    args
}

/// Hashes and counts what passes through to the file.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Removes the temp file unless disarmed.
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Creates a private file next to `path` that does not exist yet.
fn temp_beside(path: &Path) -> Result<(PathBuf, File), BackupError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let base = path.file_name().unwrap_or_default().to_string_lossy();
    for n in 0..100u32 {
        let tmp = dir.join(format!(".{base}.tmp-{}-{n}", std::process::id()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(BackupError::io(format!("creating {}", tmp.display()))(e)),
        }
    }
    Err(BackupError::Usage(format!(
        "cannot create a temp file in {}",
        dir.display()
    )))
}

/// Moves a complete, synced temp file to `path`, refusing to replace an existing file, and
/// syncs the folder.
fn publish(tmp: &Path, path: &Path) -> Result<(), BackupError> {
    std::fs::hard_link(tmp, path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            BackupError::Usage(format!(
                "{} already exists; choose another --name or --output",
                path.display()
            ))
        } else {
            BackupError::io(format!("writing {}", path.display()))(e)
        }
    })?;
    let _ = std::fs::remove_file(tmp);
    if let Some(dir) = path.parent() {
        if let Ok(d) = File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        }) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically and privately (used for the metadata file).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let (tmp, mut f) = temp_beside(path)?;
    let mut guard = TempGuard(Some(tmp.clone()));
    let doing = format!("writing {}", path.display());
    f.write_all(bytes).map_err(BackupError::io(doing.clone()))?;
    f.sync_all().map_err(BackupError::io(doing.clone()))?;
    std::fs::rename(&tmp, path).map_err(BackupError::io(doing))?;
    guard.0 = None;
    Ok(())
}

/// Makes the backup and its metadata. `progress` gets the bytes read from pg_dump so far.
pub fn create(
    client: &mut postgres::Client,
    req: &Request,
    progress: &mut dyn FnMut(u64),
) -> Result<Metadata, BackupError> {
    let (server_major, server_version) = server_version(client)?;
    let (dump_major, dump_version) = tool_version(req.pg_dump)?;
    check_versions(
        req.pg_dump,
        (dump_major, &dump_version),
        (server_major, &server_version),
    )?;
    let migration = newest_migration(client, req.tracking_table)?;
    let dir = req.path.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::create_dir_all(dir).map_err(BackupError::io(format!("creating {}", dir.display())))?;
    if req.private_folder {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(BackupError::io(format!("making {} private", dir.display())))?;
    }
    let (tmp, file) = temp_beside(&req.path)?;
    let guard = TempGuard(Some(tmp.clone()));

    let mut cmd = Command::new(req.pg_dump);
    client_env(&mut cmd, req.params, "nself db backup");
    cmd.args(dump_args(&req.options))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(BackupError::io(format!(
        "starting {}",
        req.pg_dump.display()
    )))?;
    let errors = collect_stderr(&mut child);
    let writing = format!("writing {}", tmp.display());
    let result = (|| -> Result<(u64, String), BackupError> {
        let Some(mut out) = child.stdout.take() else {
            return Err(BackupError::Usage("pg_dump has no output pipe".into()));
        };
        let mut hashing = Hashing {
            inner: BufWriter::with_capacity(BUFFER, file),
            hash: Sha256::new(),
            bytes: 0,
        };
        if req.options.compressed {
            let mut gz = GzEncoder::new(hashing, Compression::new(GZIP_LEVEL));
            pump(&mut out, &mut gz, &writing, progress)?;
            hashing = gz.finish().map_err(BackupError::io(writing.clone()))?;
        } else {
            pump(&mut out, &mut hashing, &writing, progress)?;
        }
        let Hashing { inner, hash, bytes } = hashing;
        let file = inner
            .into_inner()
            .map_err(|e| BackupError::io(writing.clone())(e.into_error()))?;
        file.sync_all().map_err(BackupError::io(writing.clone()))?;
        Ok((bytes, hex(&hash.finalize())))
    })();
    let status = child
        .wait()
        .map_err(BackupError::io("waiting for pg_dump"))?;
    let messages = errors.join().unwrap_or_default();
    // A failed write closes the pipe and so also fails pg_dump: report the write first.
    let (size, sha256) = result?;
    if !status.success() {
        return Err(BackupError::Tool {
            doing: format!("dumping {}", req.params.redacted()),
            message: format!(
                "pg_dump failed ({status}): {}",
                req.params.scrub(messages.trim())
            ),
        });
    }
    publish(&tmp, &req.path)?;
    drop(guard);
    let meta = Metadata {
        file: req
            .path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
        size,
        sha256,
        database: req.params.dbname.clone(),
        server_version,
        pg_dump_version: dump_version,
        migration,
        options: req.options.clone(),
        created_at: clock::Civil::from_unix(req.now).rfc3339(),
        created_unix: req.now,
    };
    let json = serde_json::to_vec_pretty(&meta).unwrap_or_default();
    if let Err(e) = write_private(&super::meta_path(&req.path), &json) {
        let _ = std::fs::remove_file(&req.path);
        return Err(e);
    }
    Ok(meta)
}

/// pg_dump must be at least as new as the server (an older one refuses or, worse, dumps
/// what it understands).
fn check_versions(
    pg_dump: &Path,
    (dump_major, dump_version): (u32, &str),
    (server_major, server_version): (u32, &str),
) -> Result<(), BackupError> {
    if dump_major >= server_major {
        return Ok(());
    }
    Err(BackupError::Tool {
        doing: "checking pg_dump".into(),
        message: format!(
            "{} is version {dump_version} but the server runs PostgreSQL {server_version}; \
             pg_dump must be at least as new as the server. Install the PostgreSQL {server_major} \
             client (e.g. apt-get install postgresql-client-{server_major}) and put it first on PATH",
            pg_dump.display()
        ),
    })
}

/// Copies a stream into a writer in large chunks, reporting the bytes copied so far.
fn pump(
    input: &mut impl Read,
    sink: &mut impl Write,
    writing: &str,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, BackupError> {
    let mut buf = vec![0u8; BUFFER];
    let mut total = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(BackupError::io("reading pg_dump's output")(e)),
        };
        sink.write_all(&buf[..n])
            .map_err(BackupError::io(writing.to_string()))?;
        total += n as u64;
        progress(total);
    }
}

/// Reads a child's stderr to the end on a thread (so the child never blocks on a full pipe).
pub fn collect_stderr(child: &mut std::process::Child) -> std::thread::JoinHandle<String> {
    let stderr = child.stderr.take();
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut s) = stderr {
            let _ = s.read_to_string(&mut text);
        }
        text
    })
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_dump_must_be_as_new_as_the_server() {
        let p = Path::new("/usr/bin/pg_dump");
        assert!(check_versions(p, (15, "15.4"), (15, "15.10")).is_ok());
        assert!(check_versions(p, (16, "16.1"), (15, "15.10")).is_ok());
        let e = check_versions(p, (14, "14.9"), (16, "16.2"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("14.9") && e.contains("PostgreSQL 16.2"), "{e}");
        assert!(e.contains("postgresql-client-16"), "{e}");
    }

    #[test]
    fn arguments() {
        let args = dump_args(&DumpOptions {
            tables: vec!["users".into()],
            exclude: vec!["logs".into()],
            schema_only: true,
            ..DumpOptions::default()
        });
        for a in [
            "--schema-only",
            "--exclude-schema=hdb_catalog",
            "--table=users",
            "--exclude-table=logs",
        ] {
            assert!(args.iter().any(|x| x == a), "{a}: {args:?}");
        }
        let with_meta = dump_args(&DumpOptions {
            include_metadata: true,
            ..DumpOptions::default()
        });
        assert!(!with_meta.iter().any(|x| x.contains("hdb_catalog")));
    }
}
