//! Reaching a database: from a resolved [`Target`] to a `postgres::Client`, starting the local
//! database on demand, with one-line errors that name the target (redacted) and say what to do.
//!
//! This is the one place connections are opened; every other module asks here. It never prints,
//! never reads process environment variables, and never lets a password into an error: messages
//! from the driver or server pass through [`ConnParams::scrub`] before they are kept.

use crate::config::{ConnParams, LocalTarget, Target};
use crate::local::{Cluster, LocalError, Running};
use postgres::error::SqlState;
use postgres::{Client, NoTls};
use std::fmt;
use std::time::Duration;

/// The oldest server nself talks to, as `server_version_num`.
pub const MIN_SERVER_VERSION_NUM: i32 = 120_000;
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection could not be made. `target` fields are always redacted.
#[derive(Debug)]
pub enum ConnectError {
    Local(LocalError),
    Unreachable { target: String, reason: String },
    WrongPassword { target: String, user: String },
    NoPassword { target: String },
    Rejected { target: String, reason: String },
    DatabaseMissing { target: String, dbname: String },
    PermissionDenied { target: String, reason: String },
    TooOld { target: String, version: String },
    TlsUnsupported { target: String, sslmode: String },
    Server { target: String, reason: String },
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Local(e) => e.fmt(f),
            ConnectError::Unreachable { target, reason } => write!(
                f,
                "cannot reach {target}: {reason}; check that the server runs and the host and port \
                 are right (`nself status` for the local database)"
            ),
            ConnectError::WrongPassword { target, user } => write!(
                f,
                "password authentication failed for user {user:?} at {target}; fix the password in \
                 DATABASE_URL or POSTGRES_PASSWORD (or PGPASSWORD)"
            ),
            ConnectError::NoPassword { target } => write!(
                f,
                "{target} asks for a password and none is configured; put it in DATABASE_URL, \
                 POSTGRES_PASSWORD or PGPASSWORD"
            ),
            ConnectError::Rejected { target, reason } => write!(
                f,
                "{target} refused the login: {reason}; check the user name and the server's \
                 pg_hba.conf"
            ),
            ConnectError::DatabaseMissing { target, dbname } => write!(
                f,
                "database {dbname:?} does not exist at {target}; create it (createdb {dbname:?}) or \
                 fix the database name in DATABASE_URL or POSTGRES_DB"
            ),
            ConnectError::PermissionDenied { target, reason } => write!(
                f,
                "permission denied at {target}: {reason}; ask the database owner for CONNECT (GRANT \
                 CONNECT ON DATABASE …) or use another user"
            ),
            ConnectError::TooOld { target, version } => write!(
                f,
                "{target} runs PostgreSQL {version}, but nself needs 12 or newer; upgrade the server \
                 or point DATABASE_URL at a newer one"
            ),
            ConnectError::TlsUnsupported { target, sslmode } => write!(
                f,
                "{target} asks for sslmode={sslmode}, but this nself build has no TLS support; use \
                 sslmode=prefer or disable, or connect through a tunnel"
            ),
            ConnectError::Server { target, reason } => write!(f, "cannot connect to {target}: {reason}"),
        }
    }
}

impl std::error::Error for ConnectError {}

impl From<LocalError> for ConnectError {
    fn from(e: LocalError) -> Self {
        ConnectError::Local(e)
    }
}

/// An open connection with what it took to get it.
pub struct Session {
    pub client: Client,
    /// The parameters used (the password stays inside; show [`ConnParams::redacted`]).
    pub params: ConnParams,
    /// For the local database: whether it was created or started just now.
    pub local: Option<Running>,
}

/// Connects to a target: the one function the rest of nself uses.
pub fn connect(target: &Target) -> Result<Client, ConnectError> {
    open(target).map(|s| s.client)
}

/// Connects to a target and says how; for the local database, initialises and starts it if
/// needed and creates its database if it is missing.
pub fn open(target: &Target) -> Result<Session, ConnectError> {
    match target {
        Target::Server { params, .. } => Ok(Session {
            client: connect_params(params)?,
            params: params.clone(),
            local: None,
        }),
        Target::Local(local) => open_local(local),
    }
}

fn open_local(local: &LocalTarget) -> Result<Session, ConnectError> {
    let cluster = Cluster::open(local)?;
    let running = cluster.ensure_running()?;
    let params = cluster.params(&local.database);
    if running.initialized_now {
        // A new cluster has only `postgres`: create the database before the first connection
        // to it, so that the server log does not start with a "does not exist" error.
        let mut admin = connect_params(&cluster.params("postgres"))?;
        create_database(&mut admin, &local.database).map_err(|e| classify(&params, e))?;
    }
    let client = match connect_params(&params) {
        Err(ConnectError::DatabaseMissing { .. }) => {
            let mut admin = connect_params(&cluster.params("postgres"))?;
            create_database(&mut admin, &local.database).map_err(|e| classify(&params, e))?;
            connect_params(&params)?
        }
        other => other?,
    };
    Ok(Session {
        client,
        params,
        local: Some(running),
    })
}

/// Connects with explicit parameters and checks the server is new enough.
pub fn connect_params(params: &ConnParams) -> Result<Client, ConnectError> {
    let target = params.redacted();
    let mut config = postgres::Config::new();
    config
        .host(&params.host)
        .port(params.port)
        .user(&params.user)
        .dbname(&params.dbname)
        .application_name("nself")
        .connect_timeout(
            params
                .connect_timeout
                .filter(|t| *t > 0)
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        );
    if let Some(p) = params.password() {
        config.password(p);
    }
    if let Some(o) = &params.options {
        config.options(o);
    }
    match params.sslmode.as_deref() {
        Some(mode @ ("require" | "verify-ca" | "verify-full")) => {
            return Err(ConnectError::TlsUnsupported {
                target,
                sslmode: mode.to_string(),
            })
        }
        Some("disable") => {
            config.ssl_mode(postgres::config::SslMode::Disable);
        }
        _ => {
            config.ssl_mode(postgres::config::SslMode::Prefer);
        }
    }
    let mut client = config.connect(NoTls).map_err(|e| classify(params, e))?;
    let row = client
        .query_one(
            "SELECT current_setting('server_version_num')::int, current_setting('server_version')",
            &[],
        )
        .map_err(|e| classify(params, e))?;
    let num: i32 = row.get(0);
    let version: String = row.get(1);
    check_server_version(num, &version, &target)?;
    Ok(client)
}

/// Refuses servers older than PostgreSQL 12.
pub fn check_server_version(num: i32, version: &str, target: &str) -> Result<(), ConnectError> {
    if num < MIN_SERVER_VERSION_NUM {
        return Err(ConnectError::TooOld {
            target: target.to_string(),
            version: version.to_string(),
        });
    }
    Ok(())
}

/// Turns a driver error into a one-line, password-free [`ConnectError`].
pub fn classify(params: &ConnParams, e: postgres::Error) -> ConnectError {
    let target = params.redacted();
    if let Some(db) = e.as_db_error() {
        let reason = params.scrub(db.message());
        let code = db.code();
        return if *code == SqlState::INVALID_PASSWORD {
            ConnectError::WrongPassword {
                target,
                user: params.user.clone(),
            }
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            ConnectError::DatabaseMissing {
                target,
                dbname: params.dbname.clone(),
            }
        } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            ConnectError::PermissionDenied { target, reason }
        } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            ConnectError::Rejected { target, reason }
        } else {
            ConnectError::Server { target, reason }
        };
    }
    // The driver's own message is often generic ("invalid configuration"); the cause is in the
    // source chain.
    let mut text = e.to_string();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    let text = params.scrub(&text);
    if text.contains("password missing") {
        return ConnectError::NoPassword { target };
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            let reason = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                std::io::ErrorKind::NotFound if params.is_socket() => {
                    format!("no server socket in {}", params.host)
                }
                std::io::ErrorKind::TimedOut => "timed out".to_string(),
                _ => params.scrub(&io.to_string()),
            };
            return ConnectError::Unreachable { target, reason };
        }
        source = s.source();
    }
    if text.contains("timeout") || text.contains("timed out") {
        return ConnectError::Unreachable {
            target,
            reason: "timed out".into(),
        };
    }
    ConnectError::Server {
        target,
        reason: text,
    }
}

/// Creates a database unless it exists. The name is quoted by the server (`format('%I')`), so
/// any name is safe; a concurrent creation of the same name is not an error.
pub fn create_database(client: &mut Client, name: &str) -> Result<(), postgres::Error> {
    let exists: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&name],
        )?
        .get(0);
    if exists {
        return Ok(());
    }
    let sql: String = client
        .query_one("SELECT format('CREATE DATABASE %I', $1::text)", &[&name])?
        .get(0);
    match client.batch_execute(&sql) {
        // Two creators racing: the loser sees either error, depending on timing.
        Err(e)
            if e.code() == Some(&SqlState::DUPLICATE_DATABASE)
                || e.code() == Some(&SqlState::UNIQUE_VIOLATION) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Drops a database if it exists, disconnecting its sessions (PostgreSQL 13+; older servers get
/// a plain drop).
pub fn drop_database(client: &mut Client, name: &str) -> Result<(), postgres::Error> {
    let row = client.query_one(
        "SELECT format('DROP DATABASE IF EXISTS %I', $1::text), current_setting('server_version_num')::int >= 130000",
        &[&name],
    )?;
    let sql: String = row.get(0);
    let force: bool = row.get(1);
    client.batch_execute(&if force {
        format!("{sql} WITH (FORCE)")
    } else {
        sql
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_servers_are_refused() {
        assert!(check_server_version(150_010, "15.10", "t").is_ok());
        assert!(check_server_version(120_000, "12.0", "t").is_ok());
        let e = check_server_version(110_022, "11.22", "postgresql://u:****@h:5432/d");
        match e {
            Err(e @ ConnectError::TooOld { .. }) => {
                let s = e.to_string();
                assert!(
                    s.contains("11.22") && s.contains("12 or newer") && s.contains("****@h"),
                    "{s}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tls_modes_are_refused_before_connecting() {
        let mut p = ConnParams::new("db.invalid", 5432, "u", Some("pw-secret"), "d");
        p.sslmode = Some("require".into());
        match connect_params(&p) {
            Err(e @ ConnectError::TlsUnsupported { .. }) => {
                assert!(!e.to_string().contains("pw-secret"))
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("connected"),
        }
    }
}
