//! One PostgreSQL cluster under a state folder: layout, initdb, start, stop, state, logs.
//!
//! Layout of a state folder (`<project>/.nself/postgres` for the project's local database):
//!
//! ```text
//! data/               the data directory (PGDATA), made by initdb
//! server.log          the server's log (pg_ctl -l)
//! .s.PGSQL.5432       the only way in: a unix socket (listen_addresses = '')
//! initdb.incomplete   present only while initdb runs; found later, it marks a half-made folder
//! ```
//!
//! When the socket path would be too long for a unix socket (107 bytes) the socket goes into a
//! private folder under /tmp named after a hash of the state folder. Every server program runs
//! through [`super::process`], as the `postgres` OS user when nself runs as root, with deadlines.
//! Invariant: this module never signals a process unless the pid file names it and it is a
//! `postgres` process; a stale pid file is removed, never trusted.

use super::bins::{find_server, ServerBins};
use super::process::{is_postgres_process, is_root, lookup_user, run, server_command, RunAs};
use super::LocalError;
use crate::config::{BinSearch, ConnParams, LocalTarget};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The port in the socket's name; nothing listens on TCP.
pub const PORT: u16 = 5432;
/// The superuser initdb creates.
pub const SUPERUSER: &str = "postgres";

/// Called with the state folder just before initdb creates a cluster (see [`on_init`]).
static INIT_NOTICE: std::sync::OnceLock<fn(&Path)> = std::sync::OnceLock::new();

/// Registers the process's announcement of a cluster being created (the CLI prints one line: the
/// first command in a new project otherwise sits silent for seconds). This module never prints;
/// without a registration, creating a cluster is silent (the test support's clusters).
pub fn on_init(notice: fn(&Path)) {
    let _ = INIT_NOTICE.set(notice);
}

const INIT_TIMEOUT: Duration = Duration::from_secs(180);
const PG_CTL_WAIT_SECS: u64 = 60;

/// Whether the cluster exists and runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    NotInitialized,
    Stopped,
    Running { pid: i32 },
}

/// What [`Cluster::ensure_running`] did.
#[derive(Clone, Debug)]
pub struct Running {
    pub pid: i32,
    pub initialized_now: bool,
    pub started_now: bool,
    /// The programs used, when it had to create or start the server (not looked up otherwise:
    /// probing them costs more than the rest of a warm start).
    pub bins: Option<ServerBins>,
}

/// Settings written to `data/nself.conf` on every start, on top of the defaults.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// pg_hba.conf content written after initdb.
    pub hba: Option<String>,
    /// Extra `name = value` lines (values already valid postgresql.conf syntax).
    pub extra: Vec<(String, String)>,
}

/// A cluster in a state folder.
#[derive(Clone, Debug)]
pub struct Cluster {
    state_dir: PathBuf,
    search: BinSearch,
    run_as: Option<RunAs>,
    settings: Settings,
}

impl Cluster {
    /// The project's local database.
    pub fn open(target: &LocalTarget) -> Result<Cluster, LocalError> {
        Cluster::with_settings(&target.state_dir, &target.bins, Settings::default())
    }

    pub fn with_settings(
        state_dir: &Path,
        search: &BinSearch,
        settings: Settings,
    ) -> Result<Cluster, LocalError> {
        let run_as = if is_root() {
            let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
            Some(lookup_user(&passwd, SUPERUSER).ok_or(LocalError::NoServerAccount)?)
        } else {
            None
        };
        let state_dir = if state_dir.is_absolute() {
            state_dir.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| LocalError::io("finding the current folder", Path::new("."), e))?
                .join(state_dir)
        };
        Ok(Cluster {
            state_dir,
            search: search.clone(),
            run_as,
            settings,
        })
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    pub fn data_dir(&self) -> PathBuf {
        self.state_dir.join("data")
    }

    pub fn log_file(&self) -> PathBuf {
        self.state_dir.join("server.log")
    }

    fn marker(&self) -> PathBuf {
        self.state_dir.join("initdb.incomplete")
    }

    /// The socket folder: the state folder, or a private /tmp folder when that path is too long.
    pub fn socket_dir(&self) -> PathBuf {
        let socket_name_len = format!("/.s.PGSQL.{PORT}").len();
        if self.state_dir.as_os_str().len() + socket_name_len <= 100 {
            return self.state_dir.clone();
        }
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.state_dir.as_os_str().as_encoded_bytes() {
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        // Fixed, not $TMPDIR: every nself process must compute the same folder to find the server.
        PathBuf::from("/tmp").join(format!("nself-{hash:016x}"))
    }

    /// Connection parameters for a database of this cluster (socket, superuser, no password).
    pub fn params(&self, dbname: &str) -> ConnParams {
        let host = self.socket_dir().to_string_lossy().into_owned();
        ConnParams::new(&host, PORT, SUPERUSER, None, dbname)
    }

    /// The server's major version recorded in the data folder, if initialised.
    pub fn data_major(&self) -> Option<u32> {
        fs::read_to_string(self.data_dir().join("PG_VERSION"))
            .ok()
            .and_then(|v| v.trim().parse().ok())
    }

    pub fn state(&self) -> Result<State, LocalError> {
        if self.run_as.is_none() && self.state_dir.exists() {
            // Another user's cluster cannot be read, let alone run, by this one.
            check_owned(&self.state_dir)?;
        }
        let data = self.data_dir();
        let complete =
            data.join("PG_VERSION").is_file() && data.join("global/pg_control").is_file();
        if !complete || self.marker().exists() {
            if self.marker().exists() || dir_is_empty_or_missing(&data) {
                return Ok(State::NotInitialized);
            }
            return Err(LocalError::HalfInitialized { data_dir: data });
        }
        match self.pid_from_file() {
            Some(pid) if is_postgres_process(pid, Some(&data)) => Ok(State::Running { pid }),
            _ => Ok(State::Stopped),
        }
    }

    fn pid_from_file(&self) -> Option<i32> {
        read_pid(&self.data_dir().join("postmaster.pid"))
    }

    /// Initialises the cluster if needed and starts it if it is not running. Serialised with
    /// other nself processes by a lock file beside the state folder.
    pub fn ensure_running(&self) -> Result<Running, LocalError> {
        let already = |pid| Running {
            pid,
            initialized_now: false,
            started_now: false,
            bins: None,
        };
        // The common case needs neither the lock nor the programs.
        if let Ok(State::Running { pid }) = self.state() {
            return Ok(already(pid));
        }
        let _lock = self.lock()?;
        let state = self.state()?;
        if let State::Running { pid } = state {
            return Ok(already(pid));
        }
        let (bins, initialized_now) = self.prepare(state)?;
        let mut cmd = server_command(&bins.program("pg_ctl"), self.run_as.as_ref());
        cmd.arg("start")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_file())
            .args(["-w", "-s", "-t", &PG_CTL_WAIT_SECS.to_string()]);
        let out = run(&mut cmd, Duration::from_secs(PG_CTL_WAIT_SECS + 15)).map_err(|e| {
            LocalError::StartFailed {
                reason: format!("pg_ctl start: {e}"),
                log: self.log_file(),
            }
        })?;
        if !out.status.success() {
            return Err(self.explain_start_failure(&out.stderr));
        }
        let pid = self.pid_from_file().unwrap_or(0);
        Ok(Running {
            pid,
            initialized_now,
            started_now: true,
            bins: Some(bins),
        })
    }

    /// Initialises (if needed) and configures the cluster without starting it, for a caller
    /// that runs `postgres` itself (the test support keeps the server as its child).
    pub fn prepare_for_direct_start(&self) -> Result<ServerBins, LocalError> {
        let _lock = self.lock()?;
        let state = self.state()?;
        self.prepare(state).map(|(bins, _)| bins)
    }

    /// Everything before the server starts: programs, folders, initdb when needed, a version
    /// check, stale files, settings. Returns the programs and whether initdb ran.
    fn prepare(&self, state: State) -> Result<(ServerBins, bool), LocalError> {
        let bins = find_server(&self.search, self.data_major())?;
        self.prepare_dirs()?;
        let initialized = state == State::NotInitialized;
        if initialized {
            if let Some(notice) = INIT_NOTICE.get() {
                notice(&self.state_dir);
            }
            self.init(&bins)?;
        }
        if let Some(major) = self.data_major() {
            if major != bins.major {
                return Err(LocalError::VersionMismatch {
                    data_dir: self.data_dir(),
                    data_major: major,
                    bins_dir: bins.dir.clone(),
                    bins_major: bins.major,
                });
            }
        }
        self.remove_stale_files()?;
        self.write_settings()?;
        Ok((bins, initialized))
    }

    /// The account server programs run as, when it is not the current one.
    pub fn run_as(&self) -> Option<&RunAs> {
        self.run_as.as_ref()
    }

    /// Stops the server if it runs (fast shutdown, then immediate). Returns whether it ran.
    pub fn stop(&self) -> Result<bool, LocalError> {
        let _lock = self.lock()?;
        let pid = match self.state()? {
            State::Running { pid } => pid,
            State::Stopped | State::NotInitialized => return Ok(false),
        };
        let bins = find_server(&self.search, self.data_major());
        if let Ok(bins) = &bins {
            for mode in ["fast", "immediate"] {
                let mut cmd = server_command(&bins.program("pg_ctl"), self.run_as.as_ref());
                cmd.arg("stop")
                    .arg("-D")
                    .arg(self.data_dir())
                    .args(["-m", mode, "-w", "-s", "-t", "30"]);
                let ok = run(&mut cmd, Duration::from_secs(45)).is_ok_and(|o| o.status.success());
                if ok || !is_postgres_process(pid, Some(&self.data_dir())) {
                    self.remove_socket_dir_if_separate();
                    return Ok(true);
                }
            }
        } else {
            // No binaries any more, but the server named by its pid file runs: ask it directly.
            // SAFETY: kill only sends a signal; the pid was checked to be a postgres process.
            unsafe { libc::kill(pid, libc::SIGINT) };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if !is_postgres_process(pid, Some(&self.data_dir())) {
                    self.remove_socket_dir_if_separate();
                    return Ok(true);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Err(LocalError::StopFailed {
            pid,
            log: self.log_file(),
        })
    }

    /// A /tmp socket folder (long project paths) is removed once the server is gone; it is
    /// empty then, and `remove_dir` refuses anything else.
    fn remove_socket_dir_if_separate(&self) {
        let dir = self.socket_dir();
        if dir != self.state_dir {
            let _ = fs::remove_dir(dir);
        }
    }

    /// The last `n` lines of the server log.
    pub fn log_tail(&self, n: usize) -> Result<Vec<String>, LocalError> {
        let path = self.log_file();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(LocalError::io("reading the server log", &path, e)),
        };
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        Ok(lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| l.to_string())
            .collect())
    }

    /// Creates the state folder (and a long-path socket folder), owned by the server's account,
    /// and checks that account can reach it.
    fn prepare_dirs(&self) -> Result<(), LocalError> {
        let mut dirs = vec![self.state_dir.clone()];
        if self.socket_dir() != self.state_dir {
            dirs.push(self.socket_dir());
        }
        for dir in &dirs {
            if *dir == self.state_dir {
                // `.nself/` gets a `.gitignore` when nself creates it (see `lock`).
                if let Some(parent) = dir.parent() {
                    crate::fsx::create_dir_ignored(parent)
                        .map_err(|e| LocalError::io("creating", parent, e))?;
                }
            }
            fs::create_dir_all(dir).map_err(|e| LocalError::io("creating", dir, e))?;
            if let Some(user) = &self.run_as {
                std::os::unix::fs::chown(dir, Some(user.uid), Some(user.gid))
                    .map_err(|e| LocalError::io("giving the postgres user", dir, e))?;
                check_reachable(dir, user)?;
            } else {
                check_owned(dir)?;
            }
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| LocalError::io("restricting", dir, e))?;
        }
        Ok(())
    }

    fn init(&self, bins: &ServerBins) -> Result<(), LocalError> {
        let data = self.data_dir();
        let marker = self.marker();
        // A folder left by an interrupted initdb holds no user data: start over.
        if marker.exists() || data.exists() {
            fs::remove_dir_all(&data)
                .or_else(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
                .map_err(|e| LocalError::io("removing the half-made", &data, e))?;
        }
        fs::write(
            &marker,
            "initdb started by nself; if this file stays, initdb did not finish\n",
        )
        .map_err(|e| LocalError::io("writing", &marker, e))?;
        let mut cmd = server_command(&bins.program("initdb"), self.run_as.as_ref());
        cmd.arg("-D").arg(&data).args([
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        let out = run(&mut cmd, INIT_TIMEOUT).map_err(|e| LocalError::InitFailed {
            reason: format!("initdb: {e}"),
        })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let reason = stderr
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("initdb failed without a message")
                .to_string();
            return Err(LocalError::InitFailed { reason });
        }
        let hba = self.settings.hba.clone().unwrap_or_else(|| {
            "# Written by nself: the unix socket is the only way in.\nlocal all all trust\n".into()
        });
        let hba_path = data.join("pg_hba.conf");
        fs::write(&hba_path, hba).map_err(|e| LocalError::io("writing", &hba_path, e))?;
        let conf = data.join("postgresql.conf");
        let mut text =
            fs::read_to_string(&conf).map_err(|e| LocalError::io("reading", &conf, e))?;
        text.push_str("\n# nself writes nself.conf on every start (socket folder, no TCP).\ninclude_if_exists = 'nself.conf'\n");
        fs::write(&conf, text).map_err(|e| LocalError::io("writing", &conf, e))?;
        fs::remove_file(&marker).map_err(|e| LocalError::io("removing", &marker, e))?;
        Ok(())
    }

    fn write_settings(&self) -> Result<(), LocalError> {
        let mut text = String::from(
            "# Written by nself on every start; put your own settings in postgresql.conf.\n",
        );
        let socket = conf_string(&self.socket_dir().to_string_lossy());
        for (k, v) in [
            ("listen_addresses", "''".to_string()),
            ("port", PORT.to_string()),
            ("unix_socket_directories", socket),
            ("unix_socket_permissions", "0700".to_string()),
        ] {
            text.push_str(&format!("{k} = {v}\n"));
        }
        for (k, v) in &self.settings.extra {
            text.push_str(&format!("{k} = {v}\n"));
        }
        let path = self.data_dir().join("nself.conf");
        fs::write(&path, text).map_err(|e| LocalError::io("writing", &path, e))?;
        if let Some(user) = &self.run_as {
            std::os::unix::fs::chown(&path, Some(user.uid), Some(user.gid))
                .map_err(|e| LocalError::io("giving the postgres user", &path, e))?;
        }
        Ok(())
    }

    /// Removes a pid file and socket lock whose process is gone (or is no longer a postgres
    /// process: the pid was reused), so that the server starts instead of refusing.
    fn remove_stale_files(&self) -> Result<(), LocalError> {
        let pid_file = self.data_dir().join("postmaster.pid");
        if let Some(pid) = read_pid(&pid_file) {
            if !is_postgres_process(pid, Some(&self.data_dir())) {
                remove_if_exists(&pid_file)?;
            }
        } else if pid_file.exists() {
            remove_if_exists(&pid_file)?;
        }
        let socket_dir = self.socket_dir();
        let lock = socket_dir.join(format!(".s.PGSQL.{PORT}.lock"));
        // The lock's second line names the data folder of the server that holds it.
        let owner_dir = fs::read_to_string(&lock)
            .ok()
            .and_then(|t| t.lines().nth(1).map(PathBuf::from))
            .filter(|p| p.is_absolute());
        let stale = match read_pid(&lock) {
            Some(pid) => !is_postgres_process(pid, owner_dir.as_deref()),
            None => lock.exists(),
        };
        if stale {
            remove_if_exists(&lock)?;
            remove_if_exists(&socket_dir.join(format!(".s.PGSQL.{PORT}")))?;
        }
        Ok(())
    }

    fn explain_start_failure(&self, stderr: &[u8]) -> LocalError {
        let log = self.log_tail(20).unwrap_or_default().join("\n");
        let all = format!("{}\n{log}", String::from_utf8_lossy(stderr));
        if all.contains("could not create lock file")
            || all.contains("Is another postmaster")
            || all.contains("Address already in use")
        {
            return LocalError::SocketInUse {
                socket_dir: self.socket_dir(),
                log: self.log_file(),
            };
        }
        let reason = all
            .lines()
            .rev()
            .find(|l| l.contains("FATAL") || l.contains("ERROR") || l.contains("PANIC"))
            .or_else(|| all.lines().rev().find(|l| !l.trim().is_empty()))
            .unwrap_or("the server did not start")
            .trim()
            .to_string();
        LocalError::StartFailed {
            reason,
            log: self.log_file(),
        }
    }

    fn lock(&self) -> Result<FileLock, LocalError> {
        let mut name = self
            .state_dir
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "postgres".into());
        name.push(".lock");
        let path = self.state_dir.with_file_name(name);
        if let Some(parent) = path.parent() {
            // The project's `.nself/`: when nself creates it, a `.gitignore` (`*`) in it keeps
            // the cluster out of git.
            crate::fsx::create_dir_ignored(parent)
                .map_err(|e| LocalError::io("creating", parent, e))?;
        }
        FileLock::acquire(&path, Duration::from_secs(PG_CTL_WAIT_SECS * 3))
    }
}

fn dir_is_empty_or_missing(dir: &Path) -> bool {
    match fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(_) => !dir.exists(),
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    fs::read_to_string(path)
        .ok()?
        .lines()
        .next()?
        .trim()
        .trim_start_matches('-')
        .parse()
        .ok()
}

fn remove_if_exists(path: &Path) -> Result<(), LocalError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LocalError::io("removing the stale", path, e)),
    }
}

/// A postgresql.conf string literal.
fn conf_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// `dir` must belong to the current user (who will run the server).
fn check_owned(dir: &Path) -> Result<(), LocalError> {
    let meta = fs::metadata(dir).map_err(|e| LocalError::io("reading", dir, e))?;
    // SAFETY: geteuid has no preconditions.
    if meta.uid() != unsafe { libc::geteuid() } {
        return Err(LocalError::NotOwner {
            dir: dir.to_path_buf(),
        });
    }
    Ok(())
}

/// Every folder from `/` down to `dir` must be searchable by the server's account.
fn check_reachable(dir: &Path, user: &RunAs) -> Result<(), LocalError> {
    for ancestor in dir.ancestors().collect::<Vec<_>>().into_iter().rev() {
        let Ok(meta) = fs::metadata(ancestor) else {
            continue;
        };
        let mode = meta.mode();
        let ok = if meta.uid() == user.uid {
            mode & 0o100 != 0
        } else if meta.gid() == user.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !ok {
            return Err(LocalError::Unreachable {
                dir: dir.to_path_buf(),
                blocked_at: ancestor.to_path_buf(),
                user: user.name.clone(),
            });
        }
    }
    Ok(())
}

/// An exclusive `flock` held until dropped.
struct FileLock {
    _file: fs::File,
}

impl FileLock {
    fn acquire(path: &Path, timeout: Duration) -> Result<FileLock, LocalError> {
        use std::os::fd::AsRawFd;
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| LocalError::io("opening the lock file", path, e))?;
        let deadline = Instant::now() + timeout;
        loop {
            // SAFETY: flock on a file descriptor we own; released when the file closes.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if r == 0 {
                return Ok(FileLock { _file: file });
            }
            if Instant::now() >= deadline {
                return Err(LocalError::Busy {
                    lock: path.to_path_buf(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_strings_are_quoted() {
        assert_eq!(conf_string("/a b/it's\\x"), "'/a b/it''s\\\\x'");
    }

    #[test]
    fn long_state_dirs_get_a_short_socket_dir() {
        let search = BinSearch::default();
        let short = Cluster::with_settings(
            Path::new("/tmp/p/.nself/postgres"),
            &search,
            Settings::default(),
        );
        let long_path = format!("/tmp/{}/.nself/postgres", "x".repeat(120));
        let long = Cluster::with_settings(Path::new(&long_path), &search, Settings::default());
        match (short, long) {
            (Ok(short), Ok(long)) => {
                assert_eq!(short.socket_dir(), PathBuf::from("/tmp/p/.nself/postgres"));
                let s = long.socket_dir();
                assert!(s.as_os_str().len() < 60, "{}", s.display());
                assert_eq!(
                    s,
                    long.socket_dir(),
                    "the same state folder always maps to one socket folder"
                );
            }
            _ => errln!("no postgres account on this machine; skipped"),
        }
    }
}
