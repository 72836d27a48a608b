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
    let (tmp, mut f, guard) = temp_beside(path)?;
    let doing = format!("writing {}", path.display());
    f.write_all(bytes).map_err(BackupError::io(doing.clone()))?;
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
    let (tmp, file, guard) = temp_beside(&req.path)?;

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
    let (path, meta) = publish(&tmp, req, &|path| Metadata {
        file: path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
        size,
        sha256: sha256.clone(),
        database: req.params.dbname.clone(),
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
