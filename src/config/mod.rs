//! Configuration: which environment a command runs in, the `.env` cascade, and which database
//! it talks to (SPEC.md section 3).
//!
//! Everything here is a function of a [`Request`]: a snapshot of the process environment, the
//! project folder and the global flags. This module reads `.env` files from the project folder
//! and libpq's password file (when no password is configured) and nothing else; it never reads process environment variables itself (only `cli` does), never
//! connects, never prints. Invariant: a password is never part of an error message or of any
//! `Display`/`Debug` output; targets show themselves through [`Target::redacted`].

mod conn;
pub mod dotenv;
mod pgpass;

pub use conn::{ConnParams, Defaults, ParseError};

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The three environments of the guide's environment table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Local,
    Staging,
    Production,
}

impl Environment {
    /// Accepts the canonical names and the aliases dev/development, stage, prod
    /// (case-insensitive, surrounding blanks ignored).
    pub fn parse(name: &str) -> Option<Environment> {
        match name.trim().to_ascii_lowercase().as_str() {
            "local" | "dev" | "development" => Some(Environment::Local),
            "staging" | "stage" => Some(Environment::Staging),
            "production" | "prod" => Some(Environment::Production),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Local => "local",
            Environment::Staging => "staging",
            Environment::Production => "production",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything configuration depends on, gathered by the caller.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The project folder: `nself/`, `.env*` and `.nself/` live here.
    pub project_dir: PathBuf,
    /// A snapshot of the process environment.
    pub process_env: BTreeMap<String, String>,
    /// `--env`.
    pub env_flag: Option<String>,
    /// `--database-url`.
    pub database_url_flag: Option<String>,
}

/// Where a setting came from, for messages ("DATABASE_URL from .env.staging").
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum Origin {
    Flag,
    ProcessEnv,
    File(String),
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag => f.write_str("the command line"),
            Origin::ProcessEnv => f.write_str("the process environment"),
            Origin::File(name) => f.write_str(name),
            Origin::Default => f.write_str("the default"),
        }
    }
}

/// How the server binaries for the local database are found: `NSELF_PG_BINDIR` alone when set,
/// else `PATH`, then the usual install folders (searched by `local`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BinSearch {
    pub override_dir: Option<PathBuf>,
    pub path: Vec<PathBuf>,
}

/// The project's own PostgreSQL cluster under `.nself/postgres/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalTarget {
    /// `<project>/.nself/postgres`.
    pub state_dir: PathBuf,
    pub database: String,
    pub bins: BinSearch,
}

/// The database a command talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A server someone else runs, from the flag, `DATABASE_URL`, `POSTGRES_*` or `PG*`.
    Server { params: ConnParams, source: String },
    /// The embedded local cluster, started on demand.
    Local(LocalTarget),
}

impl Target {
    /// The only way a target is shown to a user.
    pub fn redacted(&self) -> String {
        match self {
            Target::Server { params, .. } => params.redacted(),
            Target::Local(l) => format!(
                "local database {:?} ({})",
                l.database,
                l.state_dir.display()
            ),
        }
    }

    /// Where the target came from ("DATABASE_URL from .env", "local database").
    pub fn source(&self) -> &str {
        match self {
            Target::Server { source, .. } => source,
            Target::Local(_) => "the local database (nothing configured)",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A resolved configuration. Its `Debug` lists variable names only, never values.
#[derive(Clone)]
pub struct Config {
    pub environment: Environment,
    /// Where the environment name came from.
    pub environment_origin: Origin,
    pub project_dir: PathBuf,
    /// The `.env` files that were read, in cascade order.
    pub files: Vec<PathBuf>,
    /// Every variable after the cascade, with the process environment on top.
    pub vars: BTreeMap<String, (String, Origin)>,
    pub target: Target,
    /// The project's own cluster, whether or not it is the target (for `nself start` and
    /// friends); its `bins` is also where client programs such as psql are looked up.
    pub local: LocalTarget,
    /// Process-environment connection settings left out because they belong to another
    /// environment (see [`resolve`]); the caller says so.
    pub ignored: Vec<String>,
    /// The environment the process environment (and the `.env` files) select without `--env`:
    /// the one its connection settings belong to.
    pub shell_environment: Environment,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("environment", &self.environment)
            .field("environment_origin", &self.environment_origin)
            .field("project_dir", &self.project_dir)
            .field("files", &self.files)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("target", &self.target)
            .field("local", &self.local)
            .field("ignored", &self.ignored)
            .field("shell_environment", &self.shell_environment)
            .finish()
    }
}

impl Config {
    /// A variable after the cascade (process environment wins), if set and not empty.
    pub fn var(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(|(v, _)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn schema_file(&self) -> PathBuf {
        self.project_dir.join("nself").join("schema.dbml")
    }

    /// `NSELF_MIGRATIONS_DIR` (relative to the project folder), else `nself/migrations`.
    pub fn migrations_dir(&self) -> PathBuf {
        match self.var("NSELF_MIGRATIONS_DIR") {
            Some(d) => self.project_dir.join(d),
            None => self.project_dir.join("nself").join("migrations"),
        }
    }

    /// `NSELF_SEEDS_DIR` (relative to the project folder), else `nself/seeds`.
    pub fn seeds_dir(&self) -> PathBuf {
        match self.var("NSELF_SEEDS_DIR") {
            Some(d) => self.project_dir.join(d),
            None => self.project_dir.join("nself").join("seeds"),
        }
    }

    pub fn state_dir(&self) -> PathBuf {
        state_dir(&self.project_dir)
    }
}

/// The project folder of a command run in `cwd` without `--project-dir`, found upward the way
/// git and cargo find theirs: the nearest folder, from `cwd` up, that holds a folder `nself/`
/// or `.nself/` or a file `.env`. A folder named `nself` that holds a schema folder's contents
/// (`schema.dbml`, `migrations/` or `seeds/`) and no `nself/` of its own is the project's
/// schema folder, never its root, even if an older nself left a `.nself/` or someone a `.env`
/// in it: its parent is the root. `None` when no folder up to `/` qualifies (a new project:
/// the caller uses `cwd`). Reads file metadata only.
///
/// Two limits keep a stray file from capturing unrelated work: a `.env` alone does not make the
/// home folder (`$HOME`) or `/` a project (many tools keep a `~/.env`), and the search does not
/// cross into another file system (as git does not).
pub fn find_project_dir(cwd: &Path) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    find_project_dir_below(cwd, home.as_deref())
}

/// [`find_project_dir`] with the home folder given.
fn find_project_dir_below(cwd: &Path, home: Option<&Path>) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let is_dir = |p: PathBuf| std::fs::metadata(p).is_ok_and(|m| m.is_dir());
    let is_file = |p: PathBuf| std::fs::metadata(p).is_ok_and(|m| m.is_file());
    let device = |p: &Path| std::fs::metadata(p).ok().map(|m| m.dev());
    let start_device = device(cwd);
    let home = home.and_then(|h| std::fs::canonicalize(h).ok());
    for dir in cwd.ancestors() {
        if start_device.is_some() && device(dir) != start_device {
            break;
        }
        let env_counts = dir.parent().is_some()
            && home
                .as_deref()
                .is_none_or(|h| std::fs::canonicalize(dir).ok().as_deref() != Some(h));
        let holds_nself = is_dir(dir.join("nself"));
        let schema_folder = !holds_nself
            && dir.file_name().is_some_and(|n| n == "nself")
            && (is_file(dir.join("schema.dbml"))
                || is_dir(dir.join("migrations"))
                || is_dir(dir.join("seeds")));
        if schema_folder {
            continue;
        }
        if holds_nself || is_dir(dir.join(".nself")) || (env_counts && is_file(dir.join(".env"))) {
            return Some(dir.to_path_buf());
        }
    }
    None
}

/// `<project>/.nself`.
pub fn state_dir(project_dir: &Path) -> PathBuf {
    project_dir.join(".nself")
}

/// Why a configuration could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    UnknownEnvironment {
        name: String,
        origin: Origin,
    },
    Unreadable {
        file: PathBuf,
        reason: String,
    },
    Malformed {
        file: PathBuf,
        problems: Vec<dotenv::Problem>,
    },
    BadConnection {
        setting: String,
        origin: Origin,
        reason: String,
    },
    NoConnection {
        environment: Environment,
        files: Vec<String>,
        /// Connection settings of the process environment that were left out because the
        /// process environment selects `shell` (another environment).
        ignored: Vec<String>,
        shell: Environment,
        /// The environment is a side named by `schema diff`, where `--database-url` sets the
        /// other side and so is no advice.
        named_side: bool,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownEnvironment { name, origin } => write!(
                f,
                "unknown environment {name:?} (from {origin}); use local, staging or production \
                 (aliases: dev, development, stage, prod)"
            ),
            ConfigError::Unreadable { file, reason } => {
                write!(f, "cannot read {}: {reason}", file.display())
            }
            ConfigError::Malformed { file, problems } => {
                let list: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{}:{}: {}", file.display(), p.line, p.message))
                    .collect();
                write!(
                    f,
                    "malformed .env file: {}; fix or remove these lines",
                    list.join("; ")
                )
            }
            ConfigError::BadConnection {
                setting,
                origin,
                reason,
            } => {
                write!(f, "{setting} (from {origin}) is not usable: {reason}")
            }
            ConfigError::NoConnection {
                environment,
                files,
                ignored,
                shell,
                named_side,
            } => {
                write!(f, "no database configured for {environment}")?;
                if !ignored.is_empty() {
                    write!(
                        f,
                        " ({} in the process environment belongs to {shell}, the environment \
                         the process environment selects, so it is not used for {environment})",
                        ignored.join(", ")
                    )?;
                }
                let file = files.last().map(String::as_str).unwrap_or(".env");
                write!(
                    f,
                    ": set DATABASE_URL (or POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, \
                     POSTGRES_PASSWORD, POSTGRES_DB) in {file}, or export it together with \
                     NSELF_ENV={environment}"
                )?;
                if *named_side {
                    write!(
                        f,
                        ", or name the database by its URL instead of {environment} \
                         (nself db schema diff postgres://USER@HOST/DB)"
                    )
                } else {
                    write!(f, ", or pass --database-url")
                }
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// The database name the local cluster uses when `POSTGRES_DB` does not say.
pub const DEFAULT_LOCAL_DATABASE: &str = "nself";

/// Resolves the configuration for the environment the request selects.
///
/// Precedence, for the command's own database: `--database-url`; else the connection settings
/// (`DATABASE_URL`, else `POSTGRES_*`, else `PG*`) of the process environment, but only when
/// the process environment belongs to this environment; else those of the `.env` cascade
/// (`.env`, then `.env.<environment>`, later wins); else, for local only, the project's own
/// database. The process environment belongs to the environment it selects without `--env`
/// (`NSELF_ENV`, else `ENV`, else `ENV` from `.env`/`.env.local`, else local): an exported
/// `DATABASE_URL` is the database of the shell's environment, so `--env staging` in a shell
/// that selects local does not use it (it is listed in [`Config::ignored`], and when nothing
/// else configures staging the error says why).
pub fn resolve(req: &Request) -> Result<Config, ConfigError> {
    let (environment, origin) = select_environment(req)?;
    build(
        req,
        environment,
        origin,
        req.database_url_flag.as_deref(),
        false,
    )
}

/// Resolves another environment's configuration by name, the same way as [`resolve`] but with
/// the environment forced (for `schema diff staging`). `--database-url` belongs to the command's
/// own target and is not used here.
pub fn resolve_for(req: &Request, name: &str) -> Result<Config, ConfigError> {
    let environment = Environment::parse(name).ok_or_else(|| ConfigError::UnknownEnvironment {
        name: name.to_string(),
        origin: Origin::Flag,
    })?;
    build(req, environment, Origin::Flag, None, true)
}

/// The process-environment variables that say which database to use; they belong to the
/// environment the process environment selects (see [`resolve`]).
pub const CONNECTION_VARS: &[&str] = &[
    "DATABASE_URL",
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
];

/// `--env`, else `NSELF_ENV`, else `ENV` (process), else `ENV` from `.env` then `.env.local`,
/// else local.
fn select_environment(req: &Request) -> Result<(Environment, Origin), ConfigError> {
    select(req, req.env_flag.as_deref())
}

/// The environment the process environment and the files select, without `--env`.
fn shell_environment(req: &Request) -> Result<(Environment, Origin), ConfigError> {
    select(req, None)
}

fn select(req: &Request, flag: Option<&str>) -> Result<(Environment, Origin), ConfigError> {
    let from_process = |k: &str| req.process_env.get(k).filter(|v| !v.trim().is_empty());
    let chosen = if let Some(name) = flag {
        Some((name.to_string(), Origin::Flag))
    } else if let Some(name) = from_process("NSELF_ENV") {
        Some((name.clone(), Origin::ProcessEnv))
    } else if let Some(name) = from_process("ENV") {
        Some((name.clone(), Origin::ProcessEnv))
    } else {
        let mut found = None;
        for file in [".env", ".env.local"] {
            if let Some(vars) = read_env_file(&req.project_dir.join(file))? {
                if let Some(v) = vars.get("ENV").filter(|v| !v.trim().is_empty()) {
                    found = Some((v.clone(), Origin::File(file.to_string())));
                }
            }
        }
        found
    };
    match chosen {
        None => Ok((Environment::Local, Origin::Default)),
        Some((name, origin)) => match Environment::parse(&name) {
            Some(e) => Ok((e, origin)),
            None => Err(ConfigError::UnknownEnvironment { name, origin }),
        },
    }
}

/// The cascade for one environment, later files win: `.env`, `.env.<environment>`, and
/// `.env.local` only for local (where it is also `.env.<environment>`, so it is read once).
pub fn cascade_files(environment: Environment) -> Vec<String> {
    vec![".env".to_string(), format!(".env.{environment}")]
}

fn read_env_file(path: &Path) -> Result<Option<BTreeMap<String, String>>, ConfigError> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| ConfigError::Unreadable {
            file: path.to_path_buf(),
            reason: "not UTF-8 text".into(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConfigError::Unreadable {
                file: path.to_path_buf(),
                reason: e.to_string(),
            })
        }
    };
    let (entries, problems) = dotenv::parse(&text);
    if !problems.is_empty() {
        return Err(ConfigError::Malformed {
            file: path.to_path_buf(),
            problems,
        });
    }
    Ok(Some(
        entries.into_iter().map(|e| (e.key, e.value)).collect(),
    ))
}

/// A file's text if only its owner can read it (libpq ignores a password file others can read).
fn read_private(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).ok()?;
    if meta.permissions().mode() & 0o077 != 0 {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

fn build(
    req: &Request,
    environment: Environment,
    environment_origin: Origin,
    url_flag: Option<&str>,
    named_side: bool,
) -> Result<Config, ConfigError> {
    // An unknown NSELF_ENV is reported by `resolve` itself; here it only means the process
    // environment belongs to no environment we know, so none of them uses its settings.
    let shell = shell_environment(req).ok().map(|(e, _)| e);
    let process_belongs = shell == Some(environment);
    let mut ignored = Vec::new();
    let mut vars: BTreeMap<String, (String, Origin)> = BTreeMap::new();
    let mut files = Vec::new();
    let names = cascade_files(environment);
    for name in &names {
        let path = req.project_dir.join(name);
        if let Some(file_vars) = read_env_file(&path)? {
            files.push(path);
            for (k, v) in file_vars {
                vars.insert(k, (v, Origin::File(name.clone())));
            }
        }
    }
    for (k, v) in &req.process_env {
        if !process_belongs && CONNECTION_VARS.contains(&k.as_str()) {
            if !v.is_empty() {
                ignored.push(k.clone());
            }
            continue;
        }
        vars.insert(k.clone(), (v.clone(), Origin::ProcessEnv));
    }
    let get = |k: &str| {
        vars.get(k)
            .filter(|(v, _)| !v.is_empty())
            .map(|(v, o)| (v.clone(), o.clone()))
    };
    let pg = |k: &str| get(k).map(|(v, _)| v);
    let defaults = Defaults {
        host: pg("PGHOST"),
        port: pg("PGPORT"),
        user: pg("PGUSER").or_else(|| pg("USER")),
        password: pg("PGPASSWORD"),
        dbname: pg("PGDATABASE"),
        sslmode: pg("PGSSLMODE"),
        connect_timeout: pg("PGCONNECT_TIMEOUT"),
    };
    let local = LocalTarget {
        state_dir: state_dir(&req.project_dir).join("postgres"),
        database: pg("POSTGRES_DB").unwrap_or_else(|| DEFAULT_LOCAL_DATABASE.to_string()),
        bins: BinSearch {
            override_dir: pg("NSELF_PG_BINDIR").map(PathBuf::from),
            path: pg("PATH")
                .map(|p| std::env::split_paths(&p).collect())
                .unwrap_or_default(),
        },
    };
    let bad = |setting: &str, origin: Origin, e: ParseError| ConfigError::BadConnection {
        setting: setting.to_string(),
        origin,
        reason: e.0,
    };
    let target = if let Some(url) = url_flag {
        let params = ConnParams::parse(url, &defaults)
            .map_err(|e| bad("--database-url", Origin::Flag, e))?;
        Target::Server {
            params,
            source: "--database-url".into(),
        }
    } else if let Some((url, origin)) = get("DATABASE_URL") {
        let params = ConnParams::parse(&url, &defaults)
            .map_err(|e| bad("DATABASE_URL", origin.clone(), e))?;
        Target::Server {
            params,
            source: format!("DATABASE_URL from {origin}"),
        }
    } else if let Some((host, origin)) = get("POSTGRES_HOST") {
        let p = |k: &str, fallback: &Option<String>| pg(k).or_else(|| fallback.clone());
        let fields = Defaults {
            host: Some(host),
            port: p("POSTGRES_PORT", &defaults.port),
            user: p("POSTGRES_USER", &defaults.user),
            password: p("POSTGRES_PASSWORD", &defaults.password),
            dbname: p("POSTGRES_DB", &defaults.dbname),
            ..defaults.clone()
        };
        let params =
            ConnParams::parse("", &fields).map_err(|e| bad("POSTGRES_*", origin.clone(), e))?;
        Target::Server {
            params,
            source: format!("POSTGRES_HOST and friends from {origin}"),
        }
    } else if let Some((_, origin)) = get("PGHOST") {
        let params = ConnParams::parse("", &defaults).map_err(|e| bad("PG*", origin.clone(), e))?;
        Target::Server {
            params,
            source: format!("PGHOST and friends from {origin}"),
        }
    } else if environment == Environment::Local {
        Target::Local(local.clone())
    } else {
        return Err(ConfigError::NoConnection {
            environment,
            files: names,
            ignored,
            shell: shell.unwrap_or(Environment::Local),
            named_side,
        });
    };
    let mut target = target;
    if let Target::Server { params, .. } = &mut target {
        if params.password().is_none() {
            let file = pg("PGPASSFILE")
                .map(PathBuf::from)
                .or_else(|| pg("HOME").map(|h| Path::new(&h).join(".pgpass")));
            if let Some(text) = file.as_deref().and_then(read_private) {
                params.set_password(pgpass::lookup(&text, params));
            }
        }
    }
    Ok(Config {
        environment,
        environment_origin,
        project_dir: req.project_dir.clone(),
        files,
        vars,
        target,
        local,
        ignored,
        shell_environment: shell.unwrap_or(Environment::Local),
    })
}

#[cfg(test)]
mod tests;
