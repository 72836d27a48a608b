//! Running the PostgreSQL server programs: as which OS user, with what environment, and never
//! for longer than a deadline.
//!
//! PostgreSQL refuses to run as root, so when nself runs as root every server program runs as the
//! `postgres` OS user (std's `Command::uid`/`gid`, which also drops supplementary groups). The
//! children get a clean environment (no inherited `PG*` or locale settings) so that results do
//! not depend on the caller's shell. This module never kills processes it did not start.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The OS account the server runs as, when it is not the current one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// Whether the current process runs as root (effective uid 0).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Finds an account in passwd-format text (`name:x:uid:gid:…`).
pub fn lookup_user(passwd: &str, name: &str) -> Option<RunAs> {
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != name {
            return None;
        }
        let _password = f.next()?;
        let uid = f.next()?.parse().ok()?;
        let gid = f.next()?.parse().ok()?;
        Some(RunAs {
            name: name.to_string(),
            uid,
            gid,
        })
    })
}

/// A command for a server program, with a clean environment, `/` as working directory (the
/// project folder may not be readable by the server's account) and the account switched if
/// `run_as` says so.
pub fn server_command(program: &Path, run_as: Option<&RunAs>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LC_ALL", "C")
        .current_dir("/")
        .stdin(Stdio::null());
    if let Some(user) = run_as {
        cmd.uid(user.uid).gid(user.gid).env("USER", &user.name);
    }
    cmd
}

/// Why a program did not produce an output.
#[derive(Debug)]
pub enum RunError {
    Spawn(std::io::Error),
    Timeout(Duration),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Spawn(e) => write!(f, "could not start it: {e}"),
            RunError::Timeout(d) => write!(f, "gave up after {} s", d.as_secs()),
        }
    }
}

/// Runs `cmd` to completion, capturing stdout and stderr, killing it after `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Output, RunError> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(RunError::Spawn)?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                kill_own(&mut child);
                return Err(RunError::Timeout(timeout));
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(25));
            }
            Err(e) => {
                kill_own(&mut child);
                return Err(RunError::Spawn(e));
            }
        }
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

fn kill_own(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

/// Whether a process with this pid exists (it may belong to another user).
pub fn pid_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether `pid` is a running PostgreSQL server process, and (given `data_dir`) the one serving
/// that data folder. Where `/proc` exists the process name must be `postgres` and, when it can
/// be read, its working folder must be the data folder (the postmaster and its children work
/// there): a pid reused after a crash is not mistaken for our server. Elsewhere being alive is
/// all we can tell.
pub fn is_postgres_process(pid: i32, data_dir: Option<&Path>) -> bool {
    if !pid_alive(pid) {
        return false;
    }
    let comm = match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
        Ok(comm) => comm,
        Err(_) => return !Path::new("/proc/self").exists(),
    };
    if comm.trim() != "postgres" {
        return false;
    }
    match (data_dir, std::fs::read_link(format!("/proc/{pid}/cwd"))) {
        (Some(dir), Ok(cwd)) => std::fs::canonicalize(dir).is_ok_and(|d| d == cwd),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lookup() {
        let text = "root:x:0:0:root:/root:/bin/bash\npostgres:x:101:104:PostgreSQL:/var/lib/postgresql:/bin/bash\nbad:x:zz:1::/:/bin/sh\n";
        assert_eq!(
            lookup_user(text, "postgres"),
            Some(RunAs {
                name: "postgres".into(),
                uid: 101,
                gid: 104
            })
        );
        assert_eq!(lookup_user(text, "bad"), None);
        assert_eq!(lookup_user(text, "nobody"), None);
    }

    #[test]
    fn run_times_out_instead_of_hanging() {
        let mut cmd = Command::new("sleep");
        cmd.arg("5");
        let started = Instant::now();
        assert!(matches!(
            run(&mut cmd, Duration::from_millis(200)),
            Err(RunError::Timeout(_))
        ));
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn own_pid_is_alive_but_not_postgres() {
        let me = std::process::id() as i32;
        assert!(pid_alive(me));
        assert!(!is_postgres_process(me, None));
        assert!(!pid_alive(0));
    }
}
