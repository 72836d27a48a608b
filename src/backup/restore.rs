//! Checking and restoring a backup: the file's SHA-256 against its metadata (before anything
//! connects to change the database), gzip or plain told apart by the magic bytes, and the
//! restore itself as ONE `psql` session in ONE transaction (`--single-transaction`,
//! `ON_ERROR_STOP=1`): for `--clean` the generated `DROP … CASCADE` preamble and then the dump,
//! streamed (decompressed on the fly) into psql's standard input. If any statement fails, psql
//! rolls the transaction back and the database is exactly as it was.

use super::dump::{client_env, collect_stderr, hex, BUFFER};
use super::{read_meta, BackupError, Metadata};
use crate::config::ConnParams;
use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The last line of every complete plain `pg_dump` script.
const DUMP_COMPLETE: &[u8] = b"-- PostgreSQL database dump complete";

/// Size and SHA-256 of a file, read in large chunks.
pub fn hash_file(path: &Path) -> Result<(u64, String), BackupError> {
    let doing = format!("reading {}", path.display());
    let mut f = File::open(path).map_err(BackupError::io(doing.clone()))?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; BUFFER];
    let mut total = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(BackupError::io(doing)(e)),
        };
        hash.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex(&hash.finalize())))
}

/// Whether a file starts with the gzip magic bytes.
pub fn is_gzip(path: &Path) -> Result<bool, BackupError> {
    let mut f = File::open(path).map_err(BackupError::io(format!("reading {}", path.display())))?;
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match f.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(BackupError::io(format!("reading {}", path.display()))(e)),
        }
    }
    Ok(got == 2 && magic == [0x1f, 0x8b])
}

/// A backup file that passed its checks.
#[derive(Clone, Debug)]
pub struct Checked {
    pub path: PathBuf,
    pub gzip: bool,
    pub size: u64,
    pub metadata: Option<Metadata>,
}

/// The plain SQL of a backup as a stream.
fn open_sql(path: &Path, gzip: bool) -> Result<Box<dyn Read + Send>, BackupError> {
    let f = File::open(path).map_err(BackupError::io(format!("reading {}", path.display())))?;
    let r = BufReader::with_capacity(BUFFER, f);
    Ok(if gzip {
        Box::new(MultiGzDecoder::new(r))
    } else {
        Box::new(r)
    })
}

/// Checks a backup without touching any database: with metadata, its size and SHA-256 must
/// match; without (a file from elsewhere), the whole content is read (for gzip, its CRC and
/// length) and must end like a complete `pg_dump` script.
pub fn check(path: &Path) -> Result<Checked, BackupError> {
    let shown = path.display().to_string();
    if !path.is_file() {
        return Err(BackupError::Usage(format!(
            "{shown} does not exist or is not a file; see `nself db backup list`"
        )));
    }
    let gzip = is_gzip(path)?;
    let metadata = read_meta(path)?;
    let size;
    match &metadata {
        Some(meta) => {
            let (actual_size, sha) = hash_file(path)?;
            if actual_size != meta.size {
                return Err(BackupError::Corrupt {
                    file: shown,
                    reason: format!(
                        "it has {actual_size} bytes but its metadata says {}",
                        meta.size
                    ),
                });
            }
            if sha != meta.sha256 {
                return Err(BackupError::Corrupt {
                    file: shown,
                    reason: format!("its SHA-256 is {sha} but its metadata says {}", meta.sha256),
                });
            }
            size = actual_size;
        }
        None => {
            size = std::fs::metadata(path)
                .map_err(BackupError::io(format!("reading {shown}")))?
                .len();
            let mut sql = open_sql(path, gzip)?;
            let mut buf = vec![0u8; BUFFER];
            let mut tail: Vec<u8> = Vec::new();
            loop {
                let n = match sql.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        return Err(BackupError::Corrupt {
                            file: shown,
                            reason: format!("it cannot be decompressed: {e}"),
                        })
                    }
                };
                tail.extend_from_slice(&buf[..n]);
                let keep = tail.len().saturating_sub(256);
                tail.drain(..keep);
            }
            if !tail
                .windows(DUMP_COMPLETE.len())
                .any(|w| w == DUMP_COMPLETE)
            {
                return Err(BackupError::Corrupt {
                    file: shown,
                    reason: "it does not end like a complete pg_dump script (no \"dump complete\" \
                             line), and it has no metadata file to check it against"
                        .into(),
                });
            }
        }
    }
    Ok(Checked {
        path: path.to_path_buf(),
        gzip,
        size,
        metadata,
    })
}

/// Restores a checked backup with `psql`, in one transaction, `preamble` (DROP statements for
/// `--clean`, or empty) first. `progress` gets the SQL bytes sent so far.
pub fn run(
    psql: &Path,
    params: &ConnParams,
    backup: &Checked,
    preamble: &str,
    progress: &mut dyn FnMut(u64),
) -> Result<(), BackupError> {
    let mut cmd = Command::new(psql);
    client_env(&mut cmd, params, "nself db restore");
    cmd.args([
        "--no-psqlrc",
        "--quiet",
        "--no-password",
        "--set",
        "ON_ERROR_STOP=1",
        "--single-transaction",
        "--file",
        "-",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(BackupError::io(format!("starting {}", psql.display())))?;
    let errors = collect_stderr(&mut child);
    let Some(mut stdin) = child.stdin.take() else {
        let _ = child.kill();
        return Err(BackupError::Usage("psql has no input pipe".into()));
    };
    let mut sql = open_sql(&backup.path, backup.gzip)?;
    let fed = (|| -> std::io::Result<()> {
        stdin.write_all(preamble.as_bytes())?;
        let mut buf = vec![0u8; BUFFER];
        let mut total = 0u64;
        loop {
            let n = match sql.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            stdin.write_all(&buf[..n])?;
            total += n as u64;
            progress(total);
        }
    })();
    let fed = match fed {
        // psql stopped reading: it failed, and says why on stderr.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => {
            // Reading the backup failed: psql must not see end of input (it would commit what
            // it got). Killing it drops its connection, and the server rolls back.
            let _ = child.kill();
            Err(BackupError::io(format!(
                "reading {} during the restore (nothing was kept)",
                backup.path.display()
            ))(e))
        }
        Ok(()) => Ok(()),
    };
    drop(stdin);
    // psql's input is closed: it commits (or rolled back already) and exits.
    let status = child.wait().map_err(BackupError::io("waiting for psql"))?;
    let messages = errors.join().unwrap_or_default();
    fed?;
    if !status.success() {
        let lines: Vec<&str> = messages.lines().filter(|l| !l.trim().is_empty()).collect();
        let shown = lines[lines.len().saturating_sub(8)..].join("\n");
        return Err(BackupError::Tool {
            doing: format!(
                "restoring {} into {}",
                backup.path.display(),
                params.redacted()
            ),
            message: format!(
                "psql stopped at the first error and rolled the whole restore back; the \
                 database is unchanged.\n{}",
                params.scrub(&shown)
            ),
        });
    }
    Ok(())
}

/// The `--clean` preamble: what it drops (for `--dry-run`) and the SQL. `public` is emptied
/// object by object (it stays, with its owner and grants, as pg_dump expects it to exist);
/// every other managed schema that exists is dropped whole, because the dump recreates it
/// with `CREATE SCHEMA`, which would fail on an existing one.
pub fn clean_preamble(
    client: &mut postgres::Client,
    schemas: &[String],
) -> Result<(Vec<String>, String), BackupError> {
    let wrap = |e: crate::migrate::MigrateError| BackupError::Db {
        doing: "listing what --clean drops".into(),
        message: e.to_string(),
    };
    let public: Vec<String> = schemas.iter().filter(|s| *s == "public").cloned().collect();
    let (mut objects, mut sql) =
        crate::migrate::runner::drop_script(client, &public).map_err(wrap)?;
    let others: Vec<&String> = schemas.iter().filter(|s| *s != "public").collect();
    let existing = client
        .query(
            "SELECT nspname::text FROM pg_namespace WHERE nspname = ANY($1) ORDER BY 1",
            &[&others],
        )
        .map_err(|e| BackupError::db("listing the managed schemas", &e))?;
    for row in existing {
        let name: String = row.get(0);
        let quoted = crate::sql::quote_ident(&name);
        sql.push_str(&format!("DROP SCHEMA {quoted} CASCADE;\n"));
        objects.push(format!("SCHEMA {quoted} (and everything in it)"));
    }
    Ok((objects, sql))
}
