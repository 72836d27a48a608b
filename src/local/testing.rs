//! Throwaway PostgreSQL for tests: one cluster per test binary, a fresh database per test.
//!
//! [`server`] starts the cluster once, from the same [`Cluster`] code the product uses, in a
//! temporary folder; [`fresh_database`] creates a uniquely named database on it and drops it when
//! the returned value is dropped. When `NSELF_TEST_DATABASE_URL` names a server, databases are
//! made there instead and no cluster starts. Reading that one variable is this module's
//! documented exception to "only `cli` reads the environment": it is test support, not product.
//!
//! The server is a child of the test process, started directly (not through pg_ctl) with a
//! parent-death signal on Linux, so it stops even when the test process is killed; at a normal
//! exit it is stopped and its folder removed. Functions here panic with a clear message when
//! PostgreSQL cannot be set up: they are for tests only.

use super::cluster::{Cluster, Settings};
use super::process::server_command;
use crate::config::{BinSearch, ConnParams, Defaults};
use crate::connect::{connect_params, create_database, drop_database};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A folder under the system temp folder, removed when dropped.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("{prefix}-{}-{n}-{nanos:x}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The shared test server: admin connection parameters, and the cluster when we run one.
pub struct TestServer {
    pub admin: ConnParams,
    /// Whether this is our own cluster (password authentication for every role but `postgres`).
    pub owned: bool,
    /// Our own cluster's server process.
    pub pid: Option<i32>,
}

struct Owned {
    dir: PathBuf,
    pid: i32,
}

static SERVER: OnceLock<Result<TestServer, String>> = OnceLock::new();
static OWNED: Mutex<Option<Owned>> = Mutex::new(None);

/// pg_hba for test clusters: the superuser by trust, every other role by password, so that
/// tests can check wrong-password and permission errors against a real server.
const TEST_HBA: &str = "local all postgres trust\nlocal all all scram-sha-256\n";

/// The server tests use, started on first call.
pub fn server() -> &'static TestServer {
    match SERVER.get_or_init(start_server) {
        Ok(s) => s,
        Err(e) => panic!("cannot set up PostgreSQL for tests: {e}"),
    }
}

fn start_server() -> Result<TestServer, String> {
    if let Some(url) = std::env::var("NSELF_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        let admin = ConnParams::parse(&url, &Defaults::default())
            .map_err(|e| format!("NSELF_TEST_DATABASE_URL: {e}"))?;
        return Ok(TestServer {
            admin,
            owned: false,
            pid: None,
        });
    }
    remove_abandoned_dirs();
    let dir = std::env::temp_dir().join(format!(
        "nself-test-pg-{}-{:x}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let search = BinSearch {
        override_dir: None,
        path: std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default(),
    };
    let settings = Settings {
        hba: Some(TEST_HBA.to_string()),
        extra: [
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
            ("shared_buffers", "'32MB'"),
            ("max_connections", "200"),
            ("log_min_messages", "warning"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    };
    let cluster = Cluster::with_settings(&dir.join("postgres"), &search, settings)
        .map_err(|e| e.to_string())?;
    let bins = cluster
        .prepare_for_direct_start()
        .map_err(|e| e.to_string())?;
    let pid = spawn_supervised(&cluster, &bins.program("postgres"))?;
    if let Ok(mut owned) = OWNED.lock() {
        *owned = Some(Owned {
            dir: dir.clone(),
            pid,
        });
    }
    // SAFETY: registering a plain extern "C" function with no captured state.
    unsafe { libc::atexit(stop_at_exit) };
    let admin = cluster.params("postgres");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match connect_params(&admin) {
            Ok(_) => break,
            Err(e) if Instant::now() >= deadline => {
                let log = cluster.log_tail(20).unwrap_or_default().join("\n");
                return Err(format!(
                    "test server did not accept connections: {e}\n{log}"
                ));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    Ok(TestServer {
        admin,
        owned: true,
        pid: Some(pid),
    })
}

/// Removes the folders of test servers whose test process was killed (their server died with
/// it through the parent-death signal, but nothing removed the folder).
fn remove_abandoned_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix("nself-test-pg-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<i32>().ok());
        if let Some(pid) = pid {
            if !super::process::pid_alive(pid) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Starts `postgres -D data` as a child held by a thread that lives as long as the process.
fn spawn_supervised(cluster: &Cluster, postgres: &Path) -> Result<i32, String> {
    let mut cmd = server_command(postgres, cluster.run_as());
    cmd.arg("-D").arg(cluster.data_dir());
    let log = std::fs::File::create(cluster.log_file())
        .map_err(|e| format!("creating the test server log: {e}"))?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    cmd.stdout(Stdio::from(log)).stderr(Stdio::from(log2));
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let parent = std::process::id() as i32;
        // SAFETY: the closure only calls async-signal-safe functions (prctl, getppid).
        unsafe {
            cmd.pre_exec(move || {
                // Runs after the uid switch, which would otherwise clear the setting.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("test process already gone"));
                }
                Ok(())
            });
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    // PR_SET_PDEATHSIG fires when the *thread* that forked exits, so the fork happens on a
    // thread that never ends: it waits for the server for the rest of the process's life.
    std::thread::spawn(move || match cmd.spawn() {
        Ok(mut child) => {
            let _ = tx.send(Ok(child.id() as i32));
            let _ = child.wait();
        }
        Err(e) => {
            let _ = tx.send(Err(format!("starting postgres: {e}")));
        }
    });
    rx.recv().map_err(|e| e.to_string())?
}

extern "C" fn stop_at_exit() {
    let owned = OWNED.lock().ok().and_then(|mut o| o.take());
    if let Some(Owned { dir, pid }) = owned {
        // SAFETY: the pid is our own child server; SIGINT asks for a fast shutdown.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while super::process::pid_alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A database of its own for one test, dropped with this value.
pub struct TestDatabase {
    pub name: String,
    pub params: ConnParams,
}

impl TestDatabase {
    pub fn client(&self) -> postgres::Client {
        match connect_params(&self.params) {
            Ok(c) => c,
            Err(e) => panic!("connecting to test database {}: {e}", self.name),
        }
    }

    /// The admin client of the server (to create roles and such).
    pub fn admin(&self) -> postgres::Client {
        admin_client()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = connect_params(&server().admin) {
            let _ = drop_database(&mut admin, &self.name);
        }
    }
}

fn admin_client() -> postgres::Client {
    match connect_params(&server().admin) {
        Ok(c) => c,
        Err(e) => panic!("connecting to the test server: {e}"),
    }
}

/// A new, empty, uniquely named database on the test server.
pub fn fresh_database() -> TestDatabase {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!("nself_test_{}_{n}", std::process::id());
    let mut admin = admin_client();
    if let Err(e) = create_database(&mut admin, &name) {
        panic!("creating test database {name}: {e}");
    }
    TestDatabase {
        params: server().admin.with_dbname(&name),
        name,
    }
}
