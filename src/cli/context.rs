//! The global flags and the bridge from the process to `config`: the one place that snapshots
//! the process environment into a [`Request`], and that turns configuration errors into messages
//! and exit codes. Nothing here prints a password: targets are shown redacted.

use super::{EXIT_FAILURE, EXIT_USAGE};
use crate::config::{self, Config, ConfigError, Origin, Request};
use clap::Args;
use std::path::PathBuf;

/// Flags every command accepts.
#[derive(Args, Debug, Clone, Default)]
pub struct Global {
    /// Environment: local, staging or production (aliases dev, development, stage, prod).
    /// Default: NSELF_ENV, else ENV, else ENV from .env, else local.
    #[arg(long, global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// Database to use instead of the configured one (prefer DATABASE_URL: a password on the
    /// command line is visible to other users of the machine).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// The project folder (holds nself/, .env files and .nself/). Default: the nearest folder,
    /// from the current one up, that holds nself/, .nself/ or .env (else the current folder).
    #[arg(long, global = true, value_name = "DIR")]
    pub project_dir: Option<PathBuf>,
}

/// A snapshot of the process environment (non-UTF-8 variables are left out).
pub fn process_env() -> std::collections::BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// The project folder: `--project-dir`, else the nearest folder upward from the current one
/// that holds `nself/`, `.nself/` or `.env` (see [`config::find_project_dir`]), else the
/// current folder. The second value says whether it was found above the current folder.
pub fn project_dir(global: &Global) -> (PathBuf, bool) {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    match &global.project_dir {
        Some(d) if d.is_absolute() => (d.clone(), false),
        Some(d) => (cwd.join(d), false),
        None => match config::find_project_dir(&cwd) {
            Some(found) if found != cwd => (found, true),
            _ => (cwd, false),
        },
    }
}

pub fn request(global: &Global) -> Request {
    let (project_dir, found_above) = project_dir(global);
    if found_above {
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            errln!("Using the project folder {}", project_dir.display());
        });
    }
    Request {
        project_dir,
        process_env: process_env(),
        env_flag: global.env.clone(),
        database_url_flag: global.database_url.clone(),
    }
}

/// Resolves the configuration, or prints why not and gives the exit code. Connection settings
/// of the process environment that belong to another environment are named on stderr.
pub fn load(global: &Global) -> Result<Config, i32> {
    let config = config::resolve(&request(global)).map_err(|e| fail_config(&e))?;
    note_ignored(&config);
    Ok(config)
}

/// Says (once per process) which process-environment settings a configuration left out.
pub fn note_ignored(config: &Config) {
    if config.ignored.is_empty() {
        return;
    }
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        errln!(
            "note: {} in the process environment belongs to {} (the environment the process \
             environment selects), so {} does not use it",
            config.ignored.join(", "),
            config.shell_environment,
            config.environment
        );
    });
}

/// A command to suggest, as the user must type it to act on the same environment: `nself
/// --env staging db migrate up` when the environment was chosen with `--env` (or named, as
/// `schema diff staging` names it), plain `nself db migrate up` when the process environment
/// or the files select it anyway. Every hint that names a command is built here.
pub fn command(config: &Config, rest: &str) -> String {
    command_for(config.environment, &config.environment_origin, rest)
}

/// [`command`] from the environment and where it came from.
pub fn command_for(environment: config::Environment, origin: &Origin, rest: &str) -> String {
    if *origin == Origin::Flag {
        format!("nself --env {environment} {rest}")
    } else {
        format!("nself {rest}")
    }
}

/// Which database a command is about to change and why: "Database: <redacted> (staging:
/// DATABASE_URL from .env.staging)". Printed (on stderr) before any change.
pub fn target_line(config: &Config) -> String {
    format!(
        "Database: {} ({}: {})",
        config.target.redacted(),
        config.environment,
        config.target.source()
    )
}

/// Prints a configuration error; a bad `--env`/`--database-url` value is bad usage (2).
pub fn fail_config(e: &ConfigError) -> i32 {
    errln!("error: {e}");
    match e {
        ConfigError::UnknownEnvironment {
            origin: Origin::Flag,
            ..
        }
        | ConfigError::BadConnection {
            origin: Origin::Flag,
            ..
        } => EXIT_USAGE,
        _ => EXIT_FAILURE,
    }
}

/// Prints any error as one line and returns the failure exit code.
pub fn fail(e: &dyn std::fmt::Display) -> i32 {
    errln!("error: {e}");
    EXIT_FAILURE
}

/// Bytes as the guide shows sizes ("2.3 MB").
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["bytes", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A title with the guide's rule underneath.
pub fn heading(title: &str) -> String {
    format!("{title}\n{}", "─".repeat(40))
}

#[cfg(test)]
mod tests {
    use crate::config::{Environment, Origin};

    #[test]
    fn hints_name_the_environment_only_when_it_was_chosen_on_the_command_line() {
        assert_eq!(
            super::command_for(Environment::Staging, &Origin::Flag, "db schema diff"),
            "nself --env staging db schema diff"
        );
        assert_eq!(
            super::command_for(Environment::Staging, &Origin::ProcessEnv, "db schema diff"),
            "nself db schema diff"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(super::human_size(512), "512 bytes");
        assert_eq!(super::human_size(2_411_724), "2.3 MB");
    }
}
