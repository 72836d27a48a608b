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
    /// The project folder (holds nself/, .env files and .nself/). Default: the current folder.
    #[arg(long, global = true, value_name = "DIR")]
    pub project_dir: Option<PathBuf>,
}

/// A snapshot of the process environment (non-UTF-8 variables are left out).
pub fn process_env() -> std::collections::BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

pub fn request(global: &Global) -> Request {
    let project_dir = match &global.project_dir {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => std::env::current_dir()
            .map(|c| c.join(d))
            .unwrap_or_else(|_| d.clone()),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    Request {
        project_dir,
        process_env: process_env(),
        env_flag: global.env.clone(),
        database_url_flag: global.database_url.clone(),
    }
}

/// Resolves the configuration, or prints why not and gives the exit code.
pub fn load(global: &Global) -> Result<Config, i32> {
    config::resolve(&request(global)).map_err(|e| fail_config(&e))
}

/// Prints a configuration error; a bad `--env`/`--database-url` value is bad usage (2).
pub fn fail_config(e: &ConfigError) -> i32 {
    eprintln!("error: {e}");
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
    eprintln!("error: {e}");
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
    #[test]
    fn sizes() {
        assert_eq!(super::human_size(512), "512 bytes");
        assert_eq!(super::human_size(2_411_724), "2.3 MB");
    }
}
