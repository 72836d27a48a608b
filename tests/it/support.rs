//! Helpers shared by the integration tests: running the real `nself` binary in a temporary
//! project with a controlled environment, and stopping any local database it started.

use nself::local::testing::TempDir;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const NSELF: &str = env!("CARGO_BIN_EXE_nself");

/// A temporary project folder; its local database (if any was started) is stopped on drop.
pub struct Project {
    _dir: TempDir,
    root: PathBuf,
}

impl Project {
    /// The names of the `.sql` files in `nself/migrations`, sorted.
    pub fn migration_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path().join("nself/migrations"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    pub fn new() -> Project {
        Project::nested("")
    }

    /// A project in a subfolder of the temporary folder (e.g. to make a long path).
    pub fn nested(sub: &str) -> Project {
        let dir = TempDir::new("nself-it").unwrap();
        let root = dir.path().join(sub);
        std::fs::create_dir_all(&root).unwrap();
        Project { _dir: dir, root }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn write(&self, name: &str, text: &str) -> &Project {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, text).unwrap();
        self
    }

    /// Runs nself in this project with a clean environment: PATH plus `env`.
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_in("", args, env)
    }

    /// Like [`Project::run`], with the current folder `sub` (relative to the project folder).
    pub fn run_in(&self, sub: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(NSELF);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(self.path().join(sub))
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::from(cmd.output().unwrap())
    }

    /// Like [`Project::run`], with `input` on standard input.
    pub fn run_stdin(&self, args: &[&str], env: &[(&str, &str)], input: &[u8]) -> Run {
        use std::io::Write;
        let mut cmd = Command::new(NSELF);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(self.path())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // A writer thread: a child that answers before reading all of it cannot block us.
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        Run::from(out)
    }

    pub fn state_dir(&self) -> PathBuf {
        self.path().join(".nself").join("postgres")
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        if self.state_dir().join("data").exists() {
            let _ = Command::new(NSELF)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .arg("stop")
                .arg("--project-dir")
                .arg(self.path())
                .output();
        }
    }
}

/// The outcome of one run, with stdout and stderr as text.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn ok(&self) -> &Run {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts the exit code and that stderr mentions every one of `needles`.
    #[track_caller]
    pub fn fails(&self, code: i32, needles: &[&str]) -> &Run {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "stderr lacks {n:?}:\n{}",
                self.stderr
            );
        }
        self
    }

    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr)
        })
    }
}

/// Runs nself under a pseudo-terminal (util-linux's `script`), with a clean environment plus
/// `env`, typing `input` once the command had time to show its prompt. The judge of "on a
/// terminal" is `script`: without it the test fails.
pub fn on_terminal(p: &Project, args: &str, env: &[(&str, &str)], input: &str) -> Run {
    assert!(
        Path::new("/usr/bin/script").exists(),
        "no /usr/bin/script: install util-linux (`apt-get install bsdutils`) to test terminals"
    );
    use std::io::Write;
    let mut cmd = Command::new("/usr/bin/script");
    cmd.args(["-qec", &format!("{NSELF} {args}"), "/dev/null"])
        .current_dir(p.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    Run::from(child.wait_with_output().unwrap())
}

/// What a terminal shows after `text`: carriage returns move back to the start of the line
/// and later characters overwrite earlier ones (what a person reads, not the bytes).
pub fn screen(text: &str) -> Vec<String> {
    let mut lines = vec![Vec::<char>::new()];
    let mut col = 0;
    for c in text.chars() {
        match c {
            '\r' => col = 0,
            '\n' => {
                lines.push(Vec::new());
                col = 0;
            }
            c => {
                let line = lines.last_mut().unwrap();
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    lines
        .into_iter()
        .map(|l| l.into_iter().collect::<String>().trim_end().to_string())
        .collect()
}

/// The tracking table's rows (version, name, success) in version order; none when the table
/// does not exist yet.
pub fn tracked(db: &nself::local::testing::TestDatabase) -> Vec<(i64, String, bool)> {
    let mut c = db.client();
    let exists: bool = c
        .query_one(
            "SELECT to_regclass('public.schema_migrations') IS NOT NULL",
            &[],
        )
        .unwrap()
        .get(0);
    if !exists {
        return Vec::new();
    }
    c.query(
        "SELECT version, name, success FROM schema_migrations ORDER BY version",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}
