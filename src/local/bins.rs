//! Finding the installed PostgreSQL server programs (`initdb`, `pg_ctl`, `postgres`) and the
//! `psql` client.
//!
//! The search is explicit data ([`BinSearch`]): `NSELF_PG_BINDIR` alone when set, else each `PATH`
//! folder, then the usual install folders (Debian's `/usr/lib/postgresql/<major>/bin` newest
//! first, RHEL's `/usr/pgsql-<major>/bin`, `/usr/local/pgsql/bin`, Homebrew). Tests inject the
//! search to simulate a machine without PostgreSQL. This module only looks at files and runs
//! `postgres --version`; it never installs anything.

use super::process::{run, server_command};
use super::LocalError;
use crate::config::BinSearch;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The oldest server major version nself supports.
pub const MIN_MAJOR: u32 = 12;

/// A folder holding a complete set of server programs, and their version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerBins {
    pub dir: PathBuf,
    pub major: u32,
    /// As printed by `postgres --version`, e.g. `15.10`.
    pub version: String,
}

impl ServerBins {
    pub fn program(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

const SERVER_PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// The folders searched, in order (install folders are listed from the file system).
pub fn candidate_dirs(search: &BinSearch) -> Vec<PathBuf> {
    if let Some(dir) = &search.override_dir {
        return vec![dir.clone()];
    }
    let mut dirs: Vec<PathBuf> = search.path.clone();
    let mut versioned: Vec<(u32, PathBuf)> = Vec::new();
    for (parent, prefix, suffix) in [
        ("/usr/lib/postgresql", "", "bin"),
        ("/usr", "pgsql-", "bin"),
        ("/opt/homebrew/opt", "postgresql@", "bin"),
        ("/usr/local/opt", "postgresql@", "bin"),
    ] {
        let Ok(entries) = std::fs::read_dir(parent) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(v) = name.strip_prefix(prefix) {
                let major = v.split('.').next().and_then(|m| m.parse::<u32>().ok());
                if let Some(major) = major {
                    versioned.push((major, entry.path().join(suffix)));
                }
            }
        }
    }
    versioned.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    dirs.extend(versioned.into_iter().map(|(_, p)| p));
    dirs.push(PathBuf::from("/usr/local/pgsql/bin"));
    dirs.push(PathBuf::from("/opt/homebrew/bin"));
    let mut seen = std::collections::BTreeSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Finds the server programs. With `prefer_major` (the version an existing data folder was made
/// with) a folder of that version wins over the first complete one.
pub fn find_server(
    search: &BinSearch,
    prefer_major: Option<u32>,
) -> Result<ServerBins, LocalError> {
    let dirs = candidate_dirs(search);
    let mut first: Option<ServerBins> = None;
    for dir in &dirs {
        if !SERVER_PROGRAMS.iter().all(|p| is_executable(&dir.join(p))) {
            continue;
        }
        let Some((major, version)) = probe_version(&dir.join("postgres")) else {
            continue;
        };
        let bins = ServerBins {
            dir: dir.clone(),
            major,
            version,
        };
        match prefer_major {
            Some(want) if want != major => {
                first.get_or_insert(bins);
            }
            _ => return check_min(bins),
        }
    }
    match first {
        Some(bins) => check_min(bins),
        None => Err(LocalError::MissingBinaries {
            searched: dirs,
            override_set: search.override_dir.is_some(),
        }),
    }
}

fn check_min(bins: ServerBins) -> Result<ServerBins, LocalError> {
    if bins.major < MIN_MAJOR {
        return Err(LocalError::BinariesTooOld {
            dir: bins.dir,
            version: bins.version,
        });
    }
    Ok(bins)
}

/// Finds a client program (`psql`, `pg_dump`): the search folders first, then next to the server.
pub fn find_client(search: &BinSearch, name: &str) -> Option<PathBuf> {
    let mut dirs = candidate_dirs(search);
    if search.override_dir.is_some() {
        // The override names where the server lives; clients are still looked up on PATH.
        dirs.extend(search.path.iter().cloned());
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

/// `postgres --version` → (major, "15.10").
fn probe_version(postgres: &Path) -> Option<(u32, String)> {
    let out = run(
        server_command(postgres, None).arg("--version"),
        Duration::from_secs(10),
    )
    .ok()?;
    if !out.status.success() {
        return None;
    }
    parse_version(&String::from_utf8_lossy(&out.stdout))
}

/// Parses `postgres (PostgreSQL) 15.10 (Debian 15.10-1.pgdg120+1)` or `… 16beta2`.
pub fn parse_version(text: &str) -> Option<(u32, String)> {
    let after = text.split(") ").nth(1).unwrap_or(text).trim();
    let version: String = after.chars().take_while(|c| !c.is_whitespace()).collect();
    let major: String = version.chars().take_while(|c| c.is_ascii_digit()).collect();
    let major = major.parse::<u32>().ok()?;
    Some((major, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("postgres (PostgreSQL) 15.10 (Debian 15.10-1.pgdg120+1)\n"),
            Some((15, "15.10".into()))
        );
        assert_eq!(
            parse_version("postgres (PostgreSQL) 16beta2"),
            Some((16, "16beta2".into()))
        );
        assert_eq!(
            parse_version("postgres (PostgreSQL) 9.6.24"),
            Some((9, "9.6.24".into()))
        );
        assert_eq!(parse_version("garbage"), None);
    }

    #[test]
    fn override_is_the_only_place_searched() {
        let search = BinSearch {
            override_dir: Some("/nonexistent/nself".into()),
            path: vec!["/usr/bin".into()],
        };
        assert_eq!(
            candidate_dirs(&search),
            vec![PathBuf::from("/nonexistent/nself")]
        );
        match find_server(&search, None) {
            Err(LocalError::MissingBinaries {
                override_set: true, ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }
}
