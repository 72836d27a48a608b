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
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
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
    /// The final file path (with `numbered`, the first candidate: `-2`, `-3`, … are tried
    /// before the extension when a name is taken).
    pub path: PathBuf,
    /// Take the next free `-N` name instead of failing when the name is taken (backups/).
    pub numbered: bool,
    /// Make the folder (and keep it) private: true for the project's backups folder.
    pub private_folder: bool,
    pub options: DumpOptions,
    pub tracking_table: &'a TableName,
    /// The time to record, in Unix seconds.
    pub now: i64,
    /// The environment the backup is made in (recorded in the metadata).
    pub environment: &'a str,
    /// pg_restore, which writes the types a `--tables` backup needs (see [`table_needs`]).
    pub pg_restore: Option<&'a Path>,
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

/// Removes the temp file unless disarmed (only while its name is still the file this run
/// created), and unregisters it from the signal handler.
struct TempGuard(Option<(super::Owned, interrupt::Registered)>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some((own, reg)) = self.0.take() {
            own.remove();
            drop(reg);
        }
    }
}

/// The temp name of `base` for process `pid`: `.NAME.tmp-PID-N`.
fn temp_name(base: &str, pid: u32, n: u32) -> String {
    format!(".{base}.tmp-{pid}-{n}")
}

/// The pid in a temp file name made by [`temp_name`].
fn temp_pid(name: &str) -> Option<u32> {
    if !name.starts_with('.') {
        return None;
    }
    let (stem, tail) = name.rsplit_once(".tmp-")?;
    if !(stem.ends_with(".sql") || stem.ends_with(".sql.gz") || stem.ends_with(super::META_SUFFIX))
    {
        return None;
    }
    let (pid, n) = tail.split_once('-')?;
    if pid.is_empty() || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether a process with this pid exists (or might: EPERM means it exists under another
/// user).
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Removes temp files that nself processes which no longer run left in `dir` (SIGKILL, power
/// loss): regular files of this user named `.NAME.tmp-PID-N` whose process is gone. A live
/// process's temp file, another user's, a link or anything else is left alone. Returns the
/// names removed.
pub fn sweep_stale(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return removed;
    };
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = temp_pid(&name) else {
            continue;
        };
        if pid == std::process::id() || process_alive(pid) {
            continue;
        }
        let path = entry.path();
        match std::fs::symlink_metadata(&path) {
            Ok(m)
                if m.file_type().is_file()
                    && m.uid() == me
                    && std::fs::remove_file(&path).is_ok() =>
            {
                removed.push(name);
            }
            _ => {}
        }
    }
    removed
}

/// Creates a private file next to `path` that does not exist yet, registered with the signal
/// handler so that SIGINT/SIGTERM/SIGHUP remove it.
fn temp_beside(path: &Path) -> Result<(super::Owned, File, TempGuard), BackupError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let base = path.file_name().unwrap_or_default().to_string_lossy();
    for n in 0..100u32 {
        let tmp = dir.join(temp_name(&base, std::process::id(), n));
        match super::Owned::create(&tmp, 0o600) {
            Ok((own, f)) => {
                let reg = interrupt::register(&own);
                return Ok((own.at(&tmp), f, TempGuard(Some((own, reg)))));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(BackupError::io(format!("creating {}", tmp.display()))(e)),
        }
    }
    Err(BackupError::Usage(format!(
        "cannot create a temp file in {}",
        dir.display()
    )))
}

/// The `n`th candidate name: `n == 1` is `path`, then `-2`, `-3`, … before the extension.
pub fn numbered(path: &Path, n: u32) -> PathBuf {
    if n <= 1 {
        return path.to_path_buf();
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let (stem, ext) = [".sql.gz", ".sql"]
        .iter()
        .find_map(|e| name.strip_suffix(e).map(|s| (s.to_string(), *e)))
        .unwrap_or_else(|| (name.to_string(), ""));
    path.with_file_name(format!("{stem}-{n}{ext}"))
}

fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        if let Ok(d) = File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        }) {
            let _ = d.sync_all();
        }
    }
}

/// Links a complete, synced temp file to `path`, never replacing an existing file. `Ok(false)`
/// when the name is taken.
fn link_new(tmp: &Path, path: &Path) -> Result<bool, BackupError> {
    match std::fs::hard_link(tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(BackupError::io(format!("writing {}", path.display()))(e)),
    }
}

/// Writes `bytes` to `path` atomically and privately (temp file, fsync, link), never replacing
/// an existing file: `Ok(false)` when `path` exists.
pub fn write_private_new(path: &Path, bytes: &[u8]) -> Result<bool, BackupError> {
    write_stream_new(path, &mut |f| f.write_all(bytes))
}

/// Writes a file at `path` atomically and privately from `fill` (temp file, fsync, link), never
/// replacing an existing file: `Ok(false)` when `path` exists. The temp file is removed on
/// every error.
pub fn write_stream_new(
    path: &Path,
    fill: &mut dyn FnMut(&mut File) -> std::io::Result<()>,
) -> Result<bool, BackupError> {
    let (tmp, mut f, guard) = temp_beside(path)?;
    let doing = format!("writing {}", path.display());
    fill(&mut f).map_err(BackupError::io(doing.clone()))?;
    f.sync_all().map_err(BackupError::io(doing))?;
    let linked = link_new(&tmp.path, path)?;
    drop(guard);
    if linked {
        sync_dir(path);
    }
    Ok(linked)
}

/// Publishes the complete temp file and its metadata under the first free name (only
/// `req.path` unless `req.numbered`): the backup is linked first (exclusively), then the
/// metadata (exclusively); if the metadata's name is taken, the backup link is removed again and
/// the next name tried.
fn publish(
    tmp: &super::Owned,
    req: &Request,
    meta_for: &dyn Fn(&Path) -> Metadata,
) -> Result<(PathBuf, Metadata), BackupError> {
    let tries = if req.numbered { 1000 } else { 1 };
    for n in 1..=tries {
        let path = numbered(&req.path, n);
        let meta_file = super::meta_path(&path);
        if std::fs::symlink_metadata(&meta_file).is_ok() {
            continue;
        }
        if !link_new(&tmp.path, &path)? {
            continue;
        }
        let published = tmp.at(&path);
        let reg = interrupt::register(&published);
        let meta = meta_for(&path);
        let json = serde_json::to_vec_pretty(&meta).unwrap_or_default();
        match write_private_new(&meta_file, &json) {
            Ok(true) => {
                drop(reg);
                sync_dir(&path);
                return Ok((path, meta));
            }
            Ok(false) => {
                published.remove();
                drop(reg);
            }
            Err(e) => {
                published.remove();
                drop(reg);
                return Err(e);
            }
        }
    }
    Err(BackupError::Usage(format!(
        "{} already exists; choose another --name or --output",
        req.path.display()
    )))
}

/// SIGINT, SIGTERM and SIGHUP during a backup: the handler removes the registered files (temp
/// files, and a published backup whose metadata is not written yet), stops pg_dump and then
/// dies of the same signal (so the exit status is the usual one). Only async-signal-safe calls
/// (lstat, unlink, kill, signal, raise) run in the handler.
mod interrupt {
    use std::ffi::CString;
    use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};

    struct Entry {
        path: CString,
        dev: u64,
        ino: u64,
    }

    const SLOTS: usize = 8;
    static FILES: [AtomicPtr<Entry>; SLOTS] =
        [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];
    static CHILD: AtomicI32 = AtomicI32::new(0);
    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    extern "C" fn on_signal(sig: libc::c_int) {
        for slot in &FILES {
            let e = slot.load(Ordering::SeqCst);
            if e.is_null() {
                continue;
            }
            // SAFETY: entries are never freed once registered (see `Registered::drop`), and
            // lstat/unlink are async-signal-safe.
            unsafe {
                let e = &*e;
                let mut st: libc::stat = std::mem::zeroed();
                if libc::lstat(e.path.as_ptr(), &mut st) == 0
                    && st.st_dev as u64 == e.dev
                    && st.st_ino as u64 == e.ino
                {
                    libc::unlink(e.path.as_ptr());
                }
            }
        }
        let child = CHILD.load(Ordering::SeqCst);
        // SAFETY: kill, signal and raise are async-signal-safe.
        unsafe {
            if child > 0 {
                libc::kill(child, libc::SIGTERM);
            }
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }

    /// The handlers while a backup runs; the previous ones come back on drop.
    pub struct Handlers {
        old: Vec<(libc::c_int, libc::sigaction)>,
    }

    pub fn install() -> Handlers {
        let mut old = Vec::new();
        for sig in SIGNALS {
            // SAFETY: a zeroed sigaction with a valid handler and an empty mask is valid.
            unsafe {
                let mut act: libc::sigaction = std::mem::zeroed();
                act.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                libc::sigemptyset(&mut act.sa_mask);
                act.sa_flags = libc::SA_RESTART;
                let mut prev: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &act, &mut prev) == 0 {
                    old.push((sig, prev));
                }
            }
        }
        Handlers { old }
    }

    impl Drop for Handlers {
        fn drop(&mut self) {
            CHILD.store(0, Ordering::SeqCst);
            for (sig, prev) in &self.old {
                // SAFETY: restoring what sigaction returned.
                unsafe {
                    libc::sigaction(*sig, prev, std::ptr::null_mut());
                }
            }
        }
    }

    /// pg_dump's pid, stopped by the handler.
    pub fn set_child(pid: u32) {
        CHILD.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
    }

    /// A registered file; dropping it unregisters it (the entry itself is leaked, a few bytes,
    /// because the handler may be reading it at that moment).
    pub struct Registered(Option<usize>);

    pub fn register(own: &super::super::Owned) -> Registered {
        let Ok(path) = CString::new(own.path.as_os_str().as_encoded_bytes()) else {
            return Registered(None);
        };
        let (dev, ino) = own.id();
        let entry = Box::into_raw(Box::new(Entry { path, dev, ino }));
        for (i, slot) in FILES.iter().enumerate() {
            if slot
                .compare_exchange(
                    std::ptr::null_mut(),
                    entry,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                )
                .is_ok()
            {
                return Registered(Some(i));
            }
        }
        Registered(None)
    }

    impl Drop for Registered {
        fn drop(&mut self) {
            if let Some(i) = self.0 {
                FILES[i].store(std::ptr::null_mut(), Ordering::SeqCst);
            }
        }
    }
}

/// Makes the backup and its metadata. `progress` gets the bytes read from pg_dump so far.
pub fn create(
    client: &mut postgres::Client,
    req: &Request,
    progress: &mut dyn FnMut(u64),
) -> Result<(PathBuf, Metadata), BackupError> {
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
    // Temp files of backups that were killed (their process is gone) go first.
    sweep_stale(dir);
    let _handlers = interrupt::install();
    // A `--tables` backup also carries the types and sequences its tables need.
    let (prelude, extra_tables) = if req.options.tables.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        table_needs(client, req)?
    };
    let (tmp, file, guard) = temp_beside(&req.path)?;

    let mut cmd = Command::new(req.pg_dump);
    client_env(&mut cmd, req.params, "nself db backup");
    cmd.args(dump_args(&req.options))
        .args(extra_tables.iter().map(|t| format!("--table={t}")))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(BackupError::io(format!(
        "starting {}",
        req.pg_dump.display()
    )))?;
    interrupt::set_child(child.id());
    let errors = collect_stderr(&mut child);
    let writing = format!("writing {}", tmp.path.display());
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
            let gz = GzEncoder::new(hashing, Compression::new(GZIP_LEVEL));
            let mut splice = Splice::new(gz, prelude);
            pump(&mut out, &mut splice, &writing, progress)?;
            let gz = splice.finish().map_err(BackupError::io(writing.clone()))?;
            hashing = gz.finish().map_err(BackupError::io(writing.clone()))?;
        } else {
            let mut splice = Splice::new(hashing, prelude);
            pump(&mut out, &mut splice, &writing, progress)?;
            hashing = splice.finish().map_err(BackupError::io(writing.clone()))?;
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
    let (path, meta) = publish(&tmp, req, &|path| Metadata {
        file: path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
        size,
        sha256: sha256.clone(),
        environment: Some(req.environment.to_string()),
        database: req.params.dbname.clone(),
        partial: req.options.is_partial(),
        server_version: server_version.clone(),
        pg_dump_version: dump_version.clone(),
        migration: migration.clone(),
        options: req.options.clone(),
        created_at: clock::Civil::from_unix(req.now).rfc3339(),
        created_unix: req.now,
    })?;
    drop(guard);
    Ok((path, meta))
}

/// Inserts `prelude` into a pg_dump script as it streams by: right after pg_dump's
/// `\restrict` line (so it is inside the protected part the restore checks), or before the
/// first line that is neither empty nor a comment when the script has no such line.
struct Splice<W> {
    inner: W,
    /// `None` once the prelude is written.
    prelude: Option<Vec<u8>>,
    /// The beginning of the script, held until the place for the prelude is found.
    head: Vec<u8>,
}

impl<W: Write> Splice<W> {
    fn new(inner: W, prelude: Vec<u8>) -> Splice<W> {
        Splice {
            inner,
            prelude: if prelude.is_empty() {
                None
            } else {
                Some(prelude)
            },
            head: Vec::new(),
        }
    }

    /// Writes what is held (and the prelude, if its place never came) and returns the writer.
    fn finish(mut self) -> std::io::Result<W> {
        if let Some(prelude) = self.prelude.take() {
            self.inner.write_all(&self.head)?;
            self.inner.write_all(&prelude)?;
            self.head.clear();
        }
        Ok(self.inner)
    }

    /// Looks for the prelude's place in the complete lines held so far.
    fn place(&mut self) -> std::io::Result<()> {
        let mut start = 0;
        while let Some(nl) = self.head[start..].iter().position(|b| *b == b'\n') {
            let line = &self.head[start..start + nl];
            let trimmed = line.trim_ascii();
            let at = if trimmed.starts_with(b"\\restrict ") {
                Some(start + nl + 1)
            } else if !(trimmed.is_empty() || trimmed.starts_with(b"--")) {
                Some(start)
            } else {
                None
            };
            if let Some(at) = at {
                let prelude = self.prelude.take().unwrap_or_default();
                self.inner.write_all(&self.head[..at])?;
                self.inner.write_all(&prelude)?;
                self.inner.write_all(&self.head[at..])?;
                self.head = Vec::new();
                return Ok(());
            }
            start += nl + 1;
        }
        // pg_dump's header is a few lines; a script whose first line is this long has no
        // header, so the prelude goes first.
        if self.head.len() > 1 << 16 {
            let prelude = self.prelude.take().unwrap_or_default();
            self.inner.write_all(&prelude)?;
            self.inner.write_all(&self.head)?;
            self.head = Vec::new();
        }
        Ok(())
    }
}

impl<W: Write> Write for Splice<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.prelude.is_none() {
            return self.inner.write(buf);
        }
        self.head.extend_from_slice(buf);
        self.place()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A pg_dump `--table` pattern that matches exactly this schema and name (double quotes make
/// every pattern character literal; a double quote is doubled).
pub fn exact_pattern(schema: &str, name: &str) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    format!("{}.{}", q(schema), q(name))
}

/// The object ids in a `pg_restore --list` of entries of catalog `catalog` whose kind is one of
/// `kinds` (a line is `ID; CATALOG OID KIND SCHEMA NAME OWNER`).
fn toc_oids(list: &str, catalog: u32, kinds: &[&str]) -> Vec<u32> {
    list.lines()
        .filter(|l| !l.trim_start().starts_with(';'))
        .filter_map(|l| {
            let (_, rest) = l.split_once(';')?;
            let mut words = rest.split_whitespace();
            let cat: u32 = words.next()?.parse().ok()?;
            let oid: u32 = words.next()?.parse().ok()?;
            let kind: Vec<&str> = words.collect();
            let matches = kinds.iter().any(|k| {
                let k: Vec<&str> = k.split(' ').collect();
                kind.len() > k.len() && kind[..k.len()] == k[..]
                    // "TABLE" is not "TABLE DATA"
                    && !(k == ["TABLE"] && kind.get(1) == Some(&"DATA"))
            });
            (cat == catalog && matches).then_some(oid)
        })
        .collect()
}

/// Runs a tool to the end; its stdout, or its scrubbed messages as the error.
fn run_tool(
    mut cmd: Command,
    doing: &str,
    params: &ConnParams,
    stdin: Option<Stdio>,
) -> Result<Vec<u8>, BackupError> {
    cmd.stdin(stdin.unwrap_or_else(Stdio::null))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = cmd.output().map_err(BackupError::io(doing.to_string()))?;
    if !out.status.success() {
        return Err(BackupError::Tool {
            doing: doing.to_string(),
            message: format!(
                "{}: {}",
                out.status,
                params.scrub(String::from_utf8_lossy(&out.stderr).trim())
            ),
        });
    }
    Ok(out.stdout)
}

/// What a `--tables` backup needs besides its tables, so that it restores into an empty
/// database: the SQL (as pg_dump writes it, owners and privileges left out) of the schemas,
/// enums, domains, composite and range types its tables use (also through arrays, domains and
/// other types), and `--table` patterns for the sequences their defaults use. The tables are
/// the ones pg_dump itself selects for the patterns (read from a schema-only listing).
pub fn table_needs(
    client: &mut postgres::Client,
    req: &Request,
) -> Result<(Vec<u8>, Vec<String>), BackupError> {
    let Some(pg_restore) = req.pg_restore else {
        return Err(BackupError::Tool {
            doing: "looking for pg_restore (a --tables backup uses it to include its types)".into(),
            message: "pg_restore not found on PATH or beside the PostgreSQL server programs; \
                      install the PostgreSQL client (Debian/Ubuntu: apt-get install \
                      postgresql-client)"
                .into(),
        });
    };
    let schema_dump = |args: Vec<String>| -> Result<String, BackupError> {
        let mut dump = Command::new(req.pg_dump);
        client_env(&mut dump, req.params, "nself db backup");
        dump.args(["--format=custom", "--schema-only", "--no-password"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = dump.spawn().map_err(BackupError::io(format!(
            "starting {}",
            req.pg_dump.display()
        )))?;
        let errors = collect_stderr(&mut child);
        let stdout = child.stdout.take().map(Stdio::from);
        let mut list = Command::new(pg_restore);
        list.arg("--list");
        let listed = run_tool(
            list,
            "listing the schema (pg_restore --list)",
            req.params,
            stdout,
        );
        let status = child
            .wait()
            .map_err(BackupError::io("waiting for pg_dump"))?;
        let messages = errors.join().unwrap_or_default();
        if !status.success() {
            return Err(BackupError::Tool {
                doing: format!("dumping the schema of {}", req.params.redacted()),
                message: format!(
                    "pg_dump failed ({status}): {}",
                    req.params.scrub(messages.trim())
                ),
            });
        }
        Ok(String::from_utf8_lossy(&listed?).into_owned())
    };
    // The tables (and views …) pg_dump selects for the patterns.
    let mut selecting: Vec<String> = req
        .options
        .tables
        .iter()
        .map(|t| format!("--table={t}"))
        .collect();
    selecting.extend(
        req.options
            .exclude
            .iter()
            .map(|t| format!("--exclude-table={t}")),
    );
    if !req.options.include_metadata {
        selecting.push("--exclude-schema=hdb_catalog".into());
    }
    let tables = toc_oids(
        &schema_dump(selecting)?,
        1259,
        &["TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE"],
    );
    // The types they need, through arrays, domains, composite and range types; the schemas of
    // those types and of the tables; the sequences of their defaults.
    let rows = client
        .query(
            "WITH RECURSIVE t(oid) AS ( \
               SELECT a.atttypid FROM pg_attribute a \
                WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped \
               UNION \
               SELECT n.x FROM t JOIN pg_type ty ON ty.oid = t.oid \
                 CROSS JOIN LATERAL ( \
                   SELECT ty.typelem UNION ALL SELECT ty.typbasetype \
                   UNION ALL SELECT a.atttypid FROM pg_class c \
                     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 \
                      AND NOT a.attisdropped \
                    WHERE c.oid = ty.typrelid AND c.relkind = 'c' \
                   UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE r.rngtypid = ty.oid \
                 ) n(x) WHERE n.x <> 0 \
             ) \
             SELECT 'type', ty.oid, ty.typnamespace::oid, tn.nspname::text, ''::text FROM t \
               JOIN pg_type ty ON ty.oid = t.oid \
               JOIN pg_namespace tn ON tn.oid = ty.typnamespace \
              WHERE ty.typtype IN ('e', 'd', 'r', 'm') \
                 OR (ty.typtype = 'c' AND EXISTS (SELECT FROM pg_class c \
                      WHERE c.oid = ty.typrelid AND c.relkind = 'c')) \
             UNION ALL \
             SELECT 'schema', c.relnamespace::oid, c.relnamespace::oid, cn.nspname::text, '' \
               FROM pg_class c JOIN pg_namespace cn ON cn.oid = c.relnamespace \
              WHERE c.oid = ANY($1) \
             UNION ALL \
             SELECT DISTINCT 'sequence', s.oid, s.relnamespace::oid, n.nspname::text, s.relname::text \
               FROM pg_attrdef d \
               JOIN pg_depend dep ON dep.classid = 'pg_attrdef'::regclass AND dep.objid = d.oid \
                AND dep.refclassid = 'pg_class'::regclass \
               JOIN pg_class s ON s.oid = dep.refobjid AND s.relkind = 'S' \
               JOIN pg_namespace n ON n.oid = s.relnamespace \
              WHERE d.adrelid = ANY($1)",
            &[&tables],
        )
        .map_err(|e| BackupError::db("reading the types the tables use", &e))?;
    // (oid, schema) of the types; the schemas of the tables; the sequences.
    let mut types: Vec<(u32, String)> = Vec::new();
    let mut schemas: Vec<String> = Vec::new();
    let mut sequences = Vec::new();
    for row in &rows {
        let kind: &str = row.get(0);
        let oid: postgres::types::Oid = row.get(1);
        match kind {
            "type" => types.push((oid, row.get(3))),
            "schema" => schemas.push(row.get(3)),
            "sequence" => sequences.push(exact_pattern(row.get(3), row.get(4))),
            _ => {}
        }
    }
    if req.options.data_only {
        return Ok((Vec::new(), sequences));
    }
    // The entries of those types and schemas, as pg_dump writes them, from a listing of the
    // whole schema (pg_restore --use-list picks them from a temp copy of it).
    let mut whole = Command::new(req.pg_dump);
    client_env(&mut whole, req.params, "nself db backup");
    whole.args(["--format=custom", "--schema-only", "--no-password"]);
    let archive = run_tool(
        whole,
        "dumping the schema (pg_dump --schema-only)",
        req.params,
        None,
    )?;
    let (tmp, mut f, _guard) = temp_beside(&req.path)?;
    f.write_all(&archive)
        .and_then(|_| f.sync_all())
        .map_err(BackupError::io(format!("writing {}", tmp.path.display())))?;
    drop(f);
    let mut list = Command::new(pg_restore);
    list.arg("--list").arg(&tmp.path);
    let listing = String::from_utf8_lossy(&run_tool(
        list,
        "listing the schema (pg_restore --list)",
        req.params,
        None,
    )?)
    .into_owned();
    // The types pg_dump dumps (not the system's, not an extension's).
    let chosen: Vec<&str> = listing
        .lines()
        .filter(|l| {
            toc_oids(l, 1247, &["TYPE", "DOMAIN"])
                .first()
                .is_some_and(|o| types.iter().any(|(t, _)| t == o))
        })
        .collect();
    let chosen_oids: Vec<u32> = chosen
        .iter()
        .flat_map(|l| toc_oids(l, 1247, &["TYPE", "DOMAIN"]))
        .collect();
    for (oid, schema) in &types {
        if chosen_oids.contains(oid) {
            schemas.push(schema.clone());
        }
    }
    // `public` exists in every database. The others are created if missing (a restore
    // without --clean into a database that has them must not fail on them).
    schemas.retain(|s| s != "public");
    schemas.sort();
    schemas.dedup();
    let mut prelude = b"\n-- nself: the schemas and types the tables of this backup use\n".to_vec();
    for schema in &schemas {
        prelude.extend_from_slice(
            format!(
                "CREATE SCHEMA IF NOT EXISTS {};\n",
                crate::sql::quote_ident(schema)
            )
            .as_bytes(),
        );
    }
    if chosen.is_empty() {
        if schemas.is_empty() {
            return Ok((Vec::new(), sequences));
        }
        prelude.extend_from_slice(b"\n-- nself: end of the types\n\n");
        return Ok((prelude, sequences));
    }
    let (list_tmp, mut lf, _list_guard) = temp_beside(&req.path)?;
    lf.write_all(format!("{}\n", chosen.join("\n")).as_bytes())
        .map_err(BackupError::io(format!(
            "writing {}",
            list_tmp.path.display()
        )))?;
    drop(lf);
    let mut sql = Command::new(pg_restore);
    sql.args(["--no-owner", "--no-privileges", "--file=-", "--use-list"])
        .arg(&list_tmp.path)
        .arg(&tmp.path);
    let text = run_tool(
        sql,
        "writing the tables' types (pg_restore)",
        req.params,
        None,
    )?;
    // pg_restore's own `\restrict` pair is left out: the prelude goes inside pg_dump's.
    for line in text.split_inclusive(|b| *b == b'\n') {
        let t = line.trim_ascii();
        if t.starts_with(b"\\restrict ") || t.starts_with(b"\\unrestrict ") || t.starts_with(b"--")
        {
            continue;
        }
        prelude.extend_from_slice(line);
    }
    prelude.extend_from_slice(b"\n-- nself: end of the types\n\n");
    Ok((prelude, sequences))
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
    fn the_prelude_goes_inside_pg_dumps_restrict_block() {
        let splice = |script: &str, chunk: usize| {
            let mut s = Splice::new(Vec::new(), b"PRELUDE\n".to_vec());
            for part in script.as_bytes().chunks(chunk) {
                s.write_all(part).unwrap();
            }
            String::from_utf8(s.finish().unwrap()).unwrap()
        };
        let dump = "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\nSET x = 1;\n";
        for chunk in [1, 3, 1000] {
            assert_eq!(
                splice(dump, chunk),
                "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\nPRELUDE\n\nSET x = 1;\n"
            );
            // Without a \\restrict line: before the first statement.
            assert_eq!(splice("-- c\nSET x;\n", chunk), "-- c\nPRELUDE\nSET x;\n");
        }
        // Nothing but comments: at the end.
        assert_eq!(splice("-- c\n", 2), "-- c\nPRELUDE\n");
        // No prelude: the bytes pass through.
        let mut s = Splice::new(Vec::new(), Vec::new());
        s.write_all(b"SET x;\n").unwrap();
        assert_eq!(s.finish().unwrap(), b"SET x;\n");
    }

    #[test]
    fn table_of_contents_entries() {
        let list = ";\n; Archive created at …\n;\n215; 1247 16386 TYPE public mood postgres\n\
                    216; 1247 16390 DOMAIN public email postgres\n\
                    217; 1259 16400 TABLE public users postgres\n\
                    3400; 0 16400 TABLE DATA public users postgres\n\
                    7; 2615 2200 SCHEMA - app postgres\n";
        assert_eq!(
            toc_oids(list, 1247, &["TYPE", "DOMAIN"]),
            vec![16386, 16390]
        );
        assert_eq!(toc_oids(list, 1259, &["TABLE"]), vec![16400]);
        assert_eq!(toc_oids(list, 2615, &["SCHEMA"]), vec![2200]);
        assert_eq!(exact_pattern("a\"b", "x.*"), "\"a\"\"b\".\"x.*\"");
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
