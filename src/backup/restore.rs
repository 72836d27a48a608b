//! Checking and restoring a backup: the file's SHA-256 against its metadata (before anything
//! connects to change the database), gzip or plain told apart by the magic bytes, and the
//! restore itself as ONE `psql` session in ONE transaction (`--single-transaction`,
//! `ON_ERROR_STOP=1`): for `--clean` the generated `DROP … CASCADE` preamble and then the dump,
//! streamed (decompressed on the fly) into psql's standard input. If any statement fails, psql
//! rolls the transaction back and the database is exactly as it was.

use super::dump::{client_env, collect_stderr, hex, BUFFER};
use super::{read_meta, script, BackupError, Metadata};
use crate::config::ConnParams;
use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Size and SHA-256 of a file, read in large chunks (the file is opened without following a
/// symbolic link).
pub fn hash_file(path: &Path) -> Result<(u64, String), BackupError> {
    let doing = format!("reading {}", path.display());
    let f = crate::fsx::open_regular(path).map_err(|e| super::open_error(path, e))?;
    let mut reader = Hashing::new(f);
    let mut buf = vec![0u8; BUFFER];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(BackupError::io(doing)(e)),
        }
    }
    Ok(reader.done())
}

/// Counts and hashes what is read through it (also the upload's check of the bytes sent).
pub(super) struct Hashing<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl<R> Hashing<R> {
    pub(super) fn new(inner: R) -> Hashing<R> {
        Hashing {
            inner,
            hash: Sha256::new(),
            bytes: 0,
        }
    }

    pub(super) fn done(self) -> (u64, String) {
        (self.bytes, hex(&self.hash.finalize()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The first bytes of a file.
fn magic(f: &mut File) -> std::io::Result<Vec<u8>> {
    let mut magic = [0u8; 5];
    let mut got = 0;
    while got < magic.len() {
        match f.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(magic[..got].to_vec())
}

/// Whether a file starts with the gzip magic bytes.
pub fn is_gzip(path: &Path) -> Result<bool, BackupError> {
    let mut f = crate::fsx::open_regular(path).map_err(|e| super::open_error(path, e))?;
    let m = magic(&mut f).map_err(BackupError::io(format!("reading {}", path.display())))?;
    Ok(m.starts_with(&[0x1f, 0x8b]))
}

/// A backup file that passed its checks.
#[derive(Clone, Debug)]
pub struct Checked {
    pub path: PathBuf,
    pub gzip: bool,
    pub format: Format,
    /// The pg_restore that converts a custom-format archive (the same one for check and run).
    pub pg_restore: Option<PathBuf>,
    pub size: u64,
    /// SHA-256 of the bytes that were checked: the restore feeds psql only these bytes.
    pub sha256: String,
    pub metadata: Option<Metadata>,
    /// What the check found in the SQL.
    pub summary: script::Summary,
}

/// How a backup file is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Plain,
    Gzip,
    /// `pg_dump -Fc` (magic `PGDMP`): turned into a script by `pg_restore --file=-`.
    Custom,
}

impl Format {
    pub fn describe(self) -> &'static str {
        match self {
            Format::Plain => "plain SQL",
            Format::Gzip => "gzip",
            Format::Custom => "pg_dump custom format",
        }
    }
}

/// Reads the file (decompressing on the fly, or through `pg_restore --file=-` for the custom
/// format) through the validator; `out` gets what psql would get. Returns the format, the raw
/// bytes' size and SHA-256, and the validator's verdict.
fn stream(
    path: &Path,
    pg_restore: Option<&Path>,
    out: &mut script::Sink<'_>,
) -> Result<
    (
        Format,
        u64,
        String,
        Result<script::Summary, script::Refusal>,
    ),
    StreamError,
> {
    let mut f = crate::fsx::open_regular(path)
        .map_err(|e| StreamError::Open(super::open_error(path, e)))?;
    let m = magic(&mut f).map_err(StreamError::Read)?;
    let format = if m.starts_with(&[0x1f, 0x8b]) {
        Format::Gzip
    } else if m.starts_with(b"PGDMP") {
        Format::Custom
    } else {
        Format::Plain
    };
    f.seek(SeekFrom::Start(0)).map_err(StreamError::Read)?;
    if format == Format::Custom {
        let (size, sha, verdict) = through_pg_restore(f, pg_restore, out)?;
        return Ok((format, size, sha, verdict));
    }
    let mut raw = Hashing::new(BufReader::with_capacity(BUFFER, f));
    let verdict = if format == Format::Gzip {
        let mut sql = BufReader::with_capacity(BUFFER, MultiGzDecoder::new(&mut raw));
        script::validate(&mut sql, out)
    } else {
        let mut sql = BufReader::with_capacity(BUFFER, &mut raw);
        script::validate(&mut sql, out)
    }
    .map_err(StreamError::Read)?;
    // Whatever the validator did not need is still part of the file.
    std::io::copy(&mut raw, &mut std::io::sink()).map_err(StreamError::Read)?;
    let (size, sha) = raw.done();
    Ok((format, size, sha, verdict))
}

/// A custom-format archive as the script `pg_restore --file=-` makes of it, validated like any
/// plain script. The archive reaches pg_restore through a pipe from this process (hashed on the
/// way), so the bytes converted are the bytes hashed.
#[allow(clippy::type_complexity)]
fn through_pg_restore(
    f: File,
    pg_restore: Option<&Path>,
    out: &mut script::Sink<'_>,
) -> Result<(u64, String, Result<script::Summary, script::Refusal>), StreamError> {
    let Some(tool) = pg_restore else {
        return Err(StreamError::Open(BackupError::Tool {
            doing: "looking for pg_restore".into(),
            message: "the backup is in pg_dump's custom format, which needs pg_restore; install \
                      the PostgreSQL client (Debian/Ubuntu: apt-get install postgresql-client)"
                .into(),
        }));
    };
    let mut child = Command::new(tool)
        .arg("--file=-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            StreamError::Open(BackupError::io(format!("starting {}", tool.display()))(e))
        })?;
    let errors = collect_stderr(&mut child);
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(StreamError::Read(std::io::Error::other(
            "pg_restore has no pipes",
        )));
    };
    let feeder = std::thread::spawn(move || -> std::io::Result<(u64, String)> {
        let mut raw = Hashing::new(BufReader::with_capacity(BUFFER, f));
        match std::io::copy(&mut raw, &mut stdin) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            Err(e) => return Err(e),
        }
        drop(stdin);
        std::io::copy(&mut raw, &mut std::io::sink())?;
        Ok(raw.done())
    });
    let mut sql = BufReader::with_capacity(BUFFER, stdout);
    let verdict = script::validate(&mut sql, out);
    if verdict.is_err() || matches!(verdict, Ok(Err(_))) {
        let _ = child.kill();
    }
    let _ = std::io::copy(&mut sql, &mut std::io::sink());
    let status = child.wait().map_err(StreamError::Read)?;
    let messages = errors.join().unwrap_or_default();
    let hashed = feeder
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the reading thread failed")));
    let verdict = verdict.map_err(StreamError::Read)?;
    let (size, sha) = hashed.map_err(StreamError::Read)?;
    if verdict.is_ok() && !status.success() {
        return Err(StreamError::Read(std::io::Error::other(format!(
            "pg_restore could not read it ({status}): {}",
            messages.trim()
        ))));
    }
    Ok((size, sha, verdict))
}

enum StreamError {
    Open(BackupError),
    /// Reading or decompressing failed, or `out` failed.
    Read(std::io::Error),
}

/// Checks a backup without touching any database. The whole file is read once: its size and
/// SHA-256 must match its metadata if it has one; gzip must decompress; and the SQL must be
/// only what a database dump is ([`script`]: no psql meta-command, no transaction control, COPY
/// only from stdin). A file without metadata must also be a complete pg_dump script carrying
/// pg_dump's own `\restrict` protection.
pub fn check(path: &Path, pg_restore: Option<&Path>) -> Result<Checked, BackupError> {
    let shown = path.display().to_string();
    let metadata = read_meta(path)?;
    let (format, size, sha256, verdict) = match stream(path, pg_restore, &mut |_, _, _| Ok(())) {
        Ok(x) => x,
        Err(StreamError::Open(e)) => return Err(e),
        Err(StreamError::Read(e)) => {
            // A damaged file with metadata is reported against its metadata.
            if let Some(meta) = &metadata {
                if let Ok((actual, sha)) = hash_file(path) {
                    mismatch(&shown, meta, actual, &sha)?;
                }
            }
            return Err(BackupError::Corrupt {
                file: shown,
                reason: format!("it cannot be read or decompressed: {e}"),
            });
        }
    };
    if let Some(meta) = &metadata {
        mismatch(&shown, meta, size, &sha256)?;
    }
    let summary = verdict.map_err(|r| BackupError::Refused {
        file: shown.clone(),
        reason: r.to_string(),
    })?;
    if metadata.is_none() {
        if !summary.complete {
            return Err(BackupError::Corrupt {
                file: shown,
                reason: "it does not end like a complete pg_dump script (no \"dump complete\" \
                         line), and it has no metadata file to check it against"
                    .into(),
            });
        }
        if summary.restrict.is_none() || !summary.unrestricted {
            return Err(BackupError::Refused {
                file: shown,
                reason: "it has no metadata file (so nself did not write it) and lacks pg_dump's \
                         `\\restrict` protection (written by pg_dump 13.22, 14.19, 15.14, 16.10, \
                         17.6 and newer); dump it again with a current pg_dump"
                    .into(),
            });
        }
    }
    Ok(Checked {
        path: path.to_path_buf(),
        gzip: format == Format::Gzip,
        format,
        pg_restore: pg_restore.map(Path::to_path_buf),
        size,
        sha256,
        metadata,
        summary,
    })
}

fn mismatch(shown: &str, meta: &Metadata, size: u64, sha: &str) -> Result<(), BackupError> {
    if size != meta.size {
        return Err(BackupError::Corrupt {
            file: shown.to_string(),
            reason: format!("it has {size} bytes but its metadata says {}", meta.size),
        });
    }
    if sha != meta.sha256 {
        return Err(BackupError::Corrupt {
            file: shown.to_string(),
            reason: format!("its SHA-256 is {sha} but its metadata says {}", meta.sha256),
        });
    }
    Ok(())
}

/// A random `\restrict` key of nself's own (the file cannot know it, so it cannot lift psql's
/// restricted mode).
fn restrict_key() -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 48];
    let mut got = 0;
    while got < bytes.len() {
        // SAFETY: the pointer and length describe the unfilled part of `bytes`.
        let n = unsafe { libc::getrandom(bytes[got..].as_mut_ptr().cast(), bytes.len() - got, 0) };
        if n <= 0 {
            // No randomness: fall back to the clock and pid (still unknown to the file).
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let seed = Sha256::digest(format!("{t}-{}", std::process::id()));
            bytes[..32].copy_from_slice(&seed);
            bytes[32..].copy_from_slice(&seed[..16]);
            break;
        }
        got += n as usize;
    }
    bytes
        .iter()
        .map(|b| ALNUM[*b as usize % ALNUM.len()] as char)
        .collect()
}

/// The first lines psql reads: restricted mode under nself's own key (psql refuses every
/// meta-command after it, whatever the validator missed), and the server-side settings the
/// validator's reading assumes.
pub fn restrict_preamble() -> String {
    format!(
        "\\restrict {}\nSET standard_conforming_strings = on;\n",
        restrict_key()
    )
}

/// Restores a checked backup with `psql`, in one transaction, `preamble` (DROP statements for
/// `--clean`, or empty) first. The file is read again through the same validator (pg_dump's own
/// `\restrict` lines dropped), after nself's own `\restrict` line; psql's input is closed (and
/// so the transaction committed) only if the bytes fed have the SHA-256 that was checked.
/// `progress` gets the SQL bytes sent so far.
pub fn run(
    psql: &Path,
    params: &ConnParams,
    backup: &Checked,
    preamble: &str,
    progress: &mut dyn FnMut(u64),
) -> Result<(), BackupError> {
    let mut cmd = Command::new(psql);
    client_env(&mut cmd, params, "nself db restore");
    // The validator reads the file as psql does in the database's own (ASCII-safe) encoding.
    cmd.env_remove("PGCLIENTENCODING");
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
    let Some(stdin) = child.stdin.take() else {
        let _ = child.kill();
        return Err(BackupError::Usage("psql has no input pipe".into()));
    };
    let mut stdin = std::io::BufWriter::with_capacity(BUFFER, stdin);
    let mut write_failed: Option<std::io::Error> = None;
    let mut total = 0u64;
    let head = restrict_preamble();
    let fed = match stdin
        .write_all(head.as_bytes())
        .and_then(|_| stdin.write_all(preamble.as_bytes()))
    {
        Err(e) => {
            write_failed = Some(e);
            None
        }
        Ok(()) => Some(stream(
            &backup.path,
            backup.pg_restore.as_deref(),
            &mut |bytes, action, ends| {
                let r = (|| -> std::io::Result<()> {
                    if action == script::Action::Keep {
                        stdin.write_all(bytes)?;
                        total += bytes.len() as u64;
                    }
                    if ends {
                        stdin.write_all(b"\n")?;
                        total += 1;
                    }
                    Ok(())
                })();
                if let Err(e) = &r {
                    write_failed = Some(std::io::Error::new(e.kind(), e.to_string()));
                }
                progress(total);
                r
            },
        )),
    };
    // What went wrong on our side (not psql's): psql must not see the end of its input (it
    // would commit what it got). Killing it drops its connection, and the server rolls back.
    let ours: Option<BackupError> = match (&write_failed, fed) {
        (Some(_), _) => None,
        (None, None) => None,
        (None, Some(Err(StreamError::Open(e)))) => Some(e),
        (None, Some(Err(StreamError::Read(e)))) => Some(BackupError::io(format!(
            "reading {} during the restore (nothing was kept)",
            backup.path.display()
        ))(e)),
        (None, Some(Ok((_, size, sha, verdict)))) => match verdict {
            Err(r) => Some(BackupError::Refused {
                file: backup.path.display().to_string(),
                reason: format!("{r} (the file changed after it was checked)"),
            }),
            Ok(_) if size != backup.size || sha != backup.sha256 => Some(BackupError::Corrupt {
                file: backup.path.display().to_string(),
                reason: "it changed while it was being restored (its SHA-256 differs from the \
                         checked one); nothing was kept"
                    .into(),
            }),
            Ok(_) => None,
        },
    };
    if let Some(e) = ours {
        let _ = child.kill();
        let _ = child.wait();
        let _ = errors.join();
        return Err(e);
    }
    if write_failed.is_none() {
        if let Err(e) = stdin.flush() {
            write_failed = Some(e);
        }
    }
    drop(stdin);
    // psql's input is closed: it commits (or rolled back already) and exits.
    let status = child.wait().map_err(BackupError::io("waiting for psql"))?;
    let messages = errors.join().unwrap_or_default();
    if let Some(e) = write_failed {
        // psql stopped reading: it failed, and says why on stderr.
        if e.kind() != std::io::ErrorKind::BrokenPipe && status.success() {
            return Err(BackupError::io("feeding psql")(e));
        }
    }
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
