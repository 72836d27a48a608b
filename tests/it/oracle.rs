//! The independent references the database tests judge our code by: the reference DBML
//! implementation (`@dbml/core` through `../shared/tools/dbml-oracle.js`), `pg_dump`, and the
//! small helpers around `catalog::introspect` that catalog and diff tests share.
//!
//! The oracle needs `@dbml/core@10.2.0` in `DBML_PEER_DIR`; when that is unset it is installed
//! once into `target/dbml-peer` with npm. A judge that is missing (node, npm, the package,
//! pg_dump) fails the test that needs it with a message saying what to install: a test never
//! passes because its judge could not be asked. `.ci/run` installs them.

use nself::catalog::{self, Options};
use nself::ir::canonical::Database;
use nself::local::testing::TestDatabase;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The shared folder beside the repository (tools and reference corpora).
pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// What to install when a judge is missing (the message of every such failure).
pub const INSTALL_HINT: &str =
    "install node and npm (`apt-get install nodejs npm`; `.ci/run` does), \
     or set DBML_PEER_DIR to a folder where `npm install @dbml/core@10.2.0` was run";

/// Where `@dbml/core` is installed (installed with npm on first use); fails the calling test
/// when it cannot be.
pub fn peer_dir() -> &'static PathBuf {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        if let Some(d) = std::env::var_os("DBML_PEER_DIR") {
            let d = PathBuf::from(d);
            if !d.join("node_modules/@dbml/core/package.json").is_file() {
                return Err(format!(
                    "DBML_PEER_DIR={} has no node_modules/@dbml/core",
                    d.display()
                ));
            }
            return Ok(d);
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dbml-peer");
        if dir.join("node_modules/@dbml/core/package.json").is_file() {
            return Ok(dir);
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let status = Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg("@dbml/core@10.2.0")
            .status();
        match status {
            Ok(s) if s.success() => Ok(dir),
            Ok(s) => Err(format!("`npm install @dbml/core@10.2.0` failed ({s})")),
            Err(e) => Err(format!("cannot run npm: {e}")),
        }
    });
    match dir {
        Ok(d) => d,
        Err(e) => panic!("the reference DBML implementation is missing: {e}; {INSTALL_HINT}"),
    }
}

/// The reference's PostgreSQL DDL for a DBML file, or the reference's error when it rejects
/// the file. Fails the calling test when the reference cannot run at all.
///
/// Starting node and loading `@dbml/core` costs about a second, so a single-file project is
/// asked of one node process kept running for the whole test binary
/// (`tests/dbml-oracle-batch.js`, the oracle's `--sql` path over many files; its agreement with
/// the oracle is `the_batch_reference_answers_as_the_oracle_does`), and successful answers are
/// kept in `target/dbml-oracle-cache`, keyed by the SHA-256 of both scripts, the installed
/// `@dbml/core`'s package.json and the file. A project with imports is given to
/// `../shared/tools/dbml-oracle.js` itself and not cached.
pub fn oracle_sql(file: &Path) -> Result<String, String> {
    let peer = peer_dir();
    let text =
        std::fs::read(file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    if has_imports(&text) {
        return run_oracle(peer, file);
    }
    let cached = cache_path(peer, &text);
    if let Some(sql) = cached
        .as_ref()
        .and_then(|c| std::fs::read_to_string(c).ok())
    {
        return Ok(sql);
    }
    let answer = ask_batch(peer, file);
    if let (Some(path), Ok(sql)) = (&cached, &answer) {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::create_dir_all(path.parent().unwrap()).is_ok()
            && std::fs::write(&tmp, sql).is_ok()
        {
            let _ = std::fs::rename(&tmp, path);
        }
    }
    answer
}

fn has_imports(text: &[u8]) -> bool {
    String::from_utf8_lossy(text).lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("use ") || l.starts_with("reuse ")
    })
}

fn batch_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dbml-oracle-batch.js")
}

fn cache_path(peer: &Path, text: &[u8]) -> Option<PathBuf> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(std::fs::read(shared().join("tools/dbml-oracle.js")).ok()?);
    h.update(std::fs::read(batch_script()).ok()?);
    h.update(std::fs::read(peer.join("node_modules/@dbml/core/package.json")).ok()?);
    h.update(text);
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Some(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/dbml-oracle-cache")
            .join(format!("{hex}.sql")),
    )
}

/// The running batch reference: its input and the lines it answers with.
struct Batch {
    _child: std::process::Child,
    input: std::process::ChildStdin,
    output: std::io::BufReader<std::process::ChildStdout>,
}

/// Asks the batch reference about one file (one question at a time: an answer takes
/// milliseconds once `@dbml/core` is loaded).
fn ask_batch(peer: &Path, file: &Path) -> Result<String, String> {
    use std::io::{BufRead, Write};
    use std::process::Stdio;
    static BATCH: OnceLock<std::sync::Mutex<Option<Batch>>> = OnceLock::new();
    let mut slot = BATCH
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if slot.is_none() {
        let mut child = Command::new("node")
            .arg(batch_script())
            .env("DBML_PEER_DIR", peer)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run node: {e}; {INSTALL_HINT}"));
        let input = child.stdin.take().unwrap();
        let output = std::io::BufReader::new(child.stdout.take().unwrap());
        *slot = Some(Batch {
            _child: child,
            input,
            output,
        });
    }
    let batch = slot.as_mut().unwrap();
    let path = std::path::absolute(file).unwrap();
    let path = path.to_str().expect("a test file path is UTF-8");
    assert!(!path.contains('\n'), "a path with a newline: {path:?}");
    let mut line = String::new();
    let asked = writeln!(batch.input, "{path}").and_then(|()| batch.input.flush());
    let read = asked.and_then(|()| batch.output.read_line(&mut line));
    if !matches!(read, Ok(n) if n > 0) {
        *slot = None;
        panic!("the batch reference stopped answering ({read:?}) on {path}; {INSTALL_HINT}");
    }
    let reply: serde_json::Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("the batch reference answered {line:?}: {e}"));
    if let Some(sql) = reply["sql"].as_str() {
        Ok(sql.to_owned())
    } else if let Some(errors) = reply["rejected"].as_str() {
        Err(errors.to_owned())
    } else {
        panic!("the batch reference failed on {path}: {reply}; {INSTALL_HINT}")
    }
}

fn run_oracle(peer: &Path, file: &Path) -> Result<String, String> {
    let out = Command::new("node")
        .arg(shared().join("tools/dbml-oracle.js"))
        .arg(file)
        .arg("--sql")
        .env("DBML_PEER_DIR", peer)
        .output();
    match out {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        // Exit 1 is the reference rejecting the file (its errors on stdout); anything else is
        // the oracle itself failing, which must not pass for a verdict.
        Ok(o) if o.status.code() == Some(1) => Err(format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )),
        Ok(o) => panic!(
            "the reference oracle failed on {} ({}): {}; {INSTALL_HINT}",
            file.display(),
            o.status,
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("cannot run node: {e}; {INSTALL_HINT}"),
    }
}

/// The batch reference agrees with `../shared/tools/dbml-oracle.js` on files it accepts and on
/// files it rejects, asked in one process one after another (so state kept between files in
/// `@dbml/core` would show).
#[test]
fn the_batch_reference_answers_as_the_oracle_does() {
    let peer = peer_dir();
    let corpus = shared().join("corpus/dbml-reference");
    let mut files: Vec<PathBuf> = ["valid", "invalid"]
        .iter()
        .flat_map(|d| std::fs::read_dir(corpus.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dbml"))
        .filter(|p| !has_imports(&std::fs::read(p).unwrap()))
        .collect();
    files.sort();
    // Every seventh file: both verdicts, many sizes, a few seconds of node starts.
    let sample: Vec<&PathBuf> = files.iter().step_by(7).collect();
    let (mut accepted, mut rejected) = (0, 0);
    for f in &sample {
        let batch = ask_batch(peer, f);
        let oracle = run_oracle(peer, f);
        match (&batch, &oracle) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "{}: the DDL differs", f.display());
                accepted += 1;
            }
            (Err(a), Err(b)) => {
                assert_eq!(a, b, "{}: the errors differ", f.display());
                rejected += 1;
            }
            _ => panic!(
                "{}: the batch says {:?}, the oracle {:?}",
                f.display(),
                batch.is_ok(),
                oracle.is_ok()
            ),
        }
    }
    assert!(
        accepted >= 10 && rejected >= 3,
        "{accepted} accepted, {rejected} rejected"
    );
}

/// `python3 ../shared/tools/gen-dbml.py --tables N --seed S --pg-safe`.
pub fn generated_dbml(tables: usize, seed: u64) -> String {
    let gen = Command::new("python3")
        .arg(shared().join("tools/gen-dbml.py"))
        .args(["--tables", &tables.to_string(), "--seed", &seed.to_string()])
        .arg("--pg-safe")
        .output()
        .unwrap();
    assert!(
        gen.status.success(),
        "gen-dbml.py: {}",
        String::from_utf8_lossy(&gen.stderr)
    );
    String::from_utf8(gen.stdout).unwrap()
}

/// `public` and every schema a DBML project names.
pub fn schemas_of(schema: &nself::ir::Schema) -> Vec<String> {
    let mut schemas: Vec<String> = schema
        .tables
        .iter()
        .map(|t| t.name.schema.clone())
        .chain(schema.enums.iter().map(|e| e.name.schema.clone()))
        .collect();
    schemas.push("public".into());
    schemas.sort();
    schemas.dedup();
    schemas
}

pub fn introspect(db: &TestDatabase, schemas: &[&str]) -> Database {
    let options = Options {
        schemas: schemas.iter().map(|s| (*s).to_owned()).collect(),
        ..Options::default()
    };
    catalog::introspect(&mut db.client(), &options).unwrap()
}

/// Compiles DBML text, failing the test on any error.
pub fn compile(name: &str, text: &str) -> nself::ir::Project {
    let p = nself::ir::compile_str(name, text);
    let errors: Vec<String> = p
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{d:?}"))
        .collect();
    assert!(errors.is_empty(), "{name} has errors: {errors:#?}");
    p
}

/// `pg_dump --schema-only` of a database, without the lines that name the database and
/// without the migration tracking table (never part of a compared schema). Fails the calling
/// test when pg_dump cannot run.
pub fn pg_dump(db: &TestDatabase) -> String {
    let p = &db.params;
    let mut cmd = Command::new("pg_dump");
    cmd.args(["--schema-only", "--no-owner", "--no-privileges"])
        .arg("--exclude-table=public.schema_migrations")
        .args(["-h", &p.host, "-p", &p.port.to_string(), "-U", &p.user])
        .arg(&db.name);
    if let Some(pw) = p.password() {
        cmd.env("PGPASSWORD", pw);
    }
    match cmd.output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.starts_with("-- Dumped") && !l.starts_with("\\restrict"))
            .filter(|l| !l.starts_with("\\unrestrict"))
            .collect::<Vec<_>>()
            .join("\n"),
        Ok(o) => panic!("pg_dump failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => panic!(
            "cannot run pg_dump ({e}): install the PostgreSQL client programs \
             (`apt-get install postgresql-client`; `.ci/run` does)"
        ),
    }
}

/// A unified diff of two texts, at most `lines` lines of it.
pub fn text_diff(a: &str, b: &str, lines: usize) -> String {
    similar::TextDiff::from_lines(a, b)
        .unified_diff()
        .context_radius(2)
        .to_string()
        .lines()
        .take(lines)
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn pretty_diff(a: &Database, b: &Database) -> String {
    let a = serde_json::to_string_pretty(a).unwrap();
    let b = serde_json::to_string_pretty(b).unwrap();
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .to_string()
}

pub fn assert_same(left: &Database, right: &Database, what: &str) {
    if left != right {
        let diff = pretty_diff(left, right);
        let short: String = diff.lines().take(120).collect::<Vec<_>>().join("\n");
        panic!("{what}:\n{short}");
    }
}

/// Runs `f` over `items` on three threads (the oracle and the binary are separate processes,
/// so this keeps two cores busy) and returns the results in order.
pub fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        out.push((i, f(item)));
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}
