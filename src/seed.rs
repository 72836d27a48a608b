//! Seed files: `seeds/common/*.sql` then `seeds/<environment>/*.sql`, in natural file-name
//! order (`2_x.sql` before `10_x.sql`), each run in its own transaction.
//!
//! A seed file is plain SQL (no sections); a `BEGIN; … COMMIT;` around it is handled like a
//! migration's. Statements are sent one at a time, so the first failure stops and is reported
//! at its line, and that file's transaction is rolled back (earlier files stay). This module
//! never prints; the CLI reports progress.

use crate::config::Environment;
use crate::migrate::file::{self, FileProblem, FilesError, Step};
use crate::migrate::{runner, MigrateError};
use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One seed file, parsed.
#[derive(Clone, Debug)]
pub struct SeedFile {
    /// `common` or the environment's folder name.
    pub folder: String,
    pub file_name: String,
    pub path: PathBuf,
    pub text: String,
    pub steps: Vec<Step>,
}

impl SeedFile {
    /// `common/01_roles.sql`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.folder, self.file_name)
    }
}

/// Compares names the way people count: runs of digits by value, the rest as text.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (&a[..da], &b[..db]);
                let ta: &[u8] = {
                    let z = na.iter().take_while(|&&c| c == b'0').count();
                    &na[z.min(na.len().saturating_sub(1))..]
                };
                let tb: &[u8] = {
                    let z = nb.iter().take_while(|&&c| c == b'0').count();
                    &nb[z.min(nb.len().saturating_sub(1))..]
                };
                let ord = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

/// The folders seeds are read from for an environment, in order.
pub fn folders(seeds_dir: &Path, env: Environment) -> Vec<(String, PathBuf)> {
    ["common", env.as_str()]
        .iter()
        .map(|f| (f.to_string(), seeds_dir.join(f)))
        .collect()
}

fn list(dir: &Path) -> Result<Vec<String>, FilesError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(FilesError::Io {
                doing: "reading the seeds folder".into(),
                path: dir.to_path_buf(),
                error,
            })
        }
    };
    let mut names: Vec<String> = entries
        .flatten()
        // Not `is_file()`, which follows links: a link named `*.sql` is listed, then refused by
        // `fsx::read_regular` with its path.
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql") && !n.starts_with('.'))
        .collect();
    names.sort_by(|a, b| natural_cmp(a, b).then_with(|| a.cmp(b)));
    Ok(names)
}

fn load(folder: &str, path: PathBuf) -> Result<SeedFile, FilesError> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let label = format!("{folder}/{file_name}");
    let bytes = crate::fsx::read_regular(&path).map_err(|error| FilesError::Io {
        doing: format!("reading seed {label}:"),
        path: path.clone(),
        error: error.into(),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        FilesError::Problems(vec![FileProblem {
            file: label.clone(),
            line: None,
            message: "not UTF-8 text".into(),
        }])
    })?;
    let section = file::body(&label, &text).map_err(FilesError::Problems)?;
    Ok(SeedFile {
        folder: folder.to_string(),
        file_name,
        path,
        text,
        steps: section.steps,
    })
}

/// Every seed file for the environment, common first.
pub fn discover(seeds_dir: &Path, env: Environment) -> Result<Vec<SeedFile>, FilesError> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (folder, dir) in folders(seeds_dir, env) {
        for name in list(&dir)? {
            match load(&folder, dir.join(&name)) {
                Ok(f) => out.push(f),
                Err(FilesError::Problems(mut p)) => problems.append(&mut p),
                Err(e) => return Err(e),
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(FilesError::Problems(problems))
    }
}

/// A seed named on the command line: a path to a file, or a file name looked up in the
/// environment's folders (`common`, then the environment's); a name found in both is ambiguous.
pub fn find(seeds_dir: &Path, env: Environment, name: &str) -> Result<SeedFile, MigrateError> {
    let direct = Path::new(name);
    if direct.components().count() > 1 && direct.is_file() {
        let folder = direct
            .parent()
            .and_then(|p| p.file_name())
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(load(&folder, direct.to_path_buf())?);
    }
    let wanted = if name.ends_with(".sql") {
        name.to_string()
    } else {
        format!("{name}.sql")
    };
    let hits: Vec<(String, PathBuf)> = folders(seeds_dir, env)
        .into_iter()
        .map(|(f, d)| (f, d.join(&wanted)))
        .filter(|(_, p)| p.is_file())
        .collect();
    match hits.as_slice() {
        [(folder, path)] => Ok(load(folder, path.clone())?),
        [] => Err(MigrateError::Usage(format!(
            "no seed file {wanted} in {} or {}; `nself db seed --dry-run` lists the seeds for \
             {env}",
            seeds_dir.join("common").display(),
            seeds_dir.join(env.as_str()).display()
        ))),
        _ => Err(MigrateError::Usage(format!(
            "{wanted} is in both {} and {}; name it with its folder (e.g. {})",
            hits[0].0,
            hits[1].0,
            seeds_dir.join(&hits[1].0).join(&wanted).display()
        ))),
    }
}

/// Runs one seed file in its own transaction; returns the milliseconds it took.
pub fn run(client: &mut postgres::Client, seed: &SeedFile) -> Result<i64, MigrateError> {
    let start = Instant::now();
    let mut tx = client
        .transaction()
        .map_err(|e| MigrateError::db("starting a transaction", &e))?;
    let mut guard = runner::TxGuard::new();
    runner::run_steps(
        &mut tx,
        &seed.label(),
        &seed.text,
        &seed.steps,
        Some(&mut guard),
    )
    .map_err(|e| e.into_error(&format!("seed {}", seed.label()), false, false))?;
    tx.commit()
        .map_err(|e| MigrateError::db(&format!("committing seed {}", seed.label()), &e))?;
    Ok(i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec![
            "10_x.sql", "2_x.sql", "01_a.sql", "1_b.sql", "b.sql", "a10.sql", "a9.sql",
        ];
        v.sort_by(|a, b| natural_cmp(a, b).then_with(|| a.cmp(b)));
        assert_eq!(
            v,
            ["01_a.sql", "1_b.sql", "2_x.sql", "10_x.sql", "a9.sql", "a10.sql", "b.sql"]
        );
    }
}
