//! `BACKUP_STORAGE=s3` for the backup commands (issue 16): the S3 settings from the
//! environment, the upload step after a backup, retention in `backups/` and in the bucket, and
//! fetching a backup from the bucket for `db restore`. The S3 work itself is in
//! `crate::backup::{s3, remote}`.

use super::context::human_size;
use crate::backup::{self, clock, remote, s3, BackupError, Metadata};
use crate::config::Config;
use std::path::{Path, PathBuf};

/// The bucket folder of this environment's database, when BACKUP_STORAGE=s3; an error names
/// the missing or bad setting (never a credential's value).
pub fn remote(config: &Config) -> Result<Option<remote::Remote>, String> {
    match config.var("BACKUP_STORAGE").map(str::to_ascii_lowercase) {
        Some(s) if s == "s3" => {}
        Some(s) if s == "local" => return Ok(None),
        None => return Ok(None),
        Some(other) => {
            return Err(format!(
                "BACKUP_STORAGE={other} is not supported; use local or s3"
            ))
        }
    }
    let need = |name: &str| {
        config
            .var(name)
            .map(str::to_string)
            .ok_or_else(|| format!("BACKUP_STORAGE=s3 needs {name}"))
    };
    let bucket = need("AWS_BACKUP_BUCKET")?;
    let credentials = s3::Credentials {
        access_key: need("AWS_ACCESS_KEY_ID")?,
        secret_key: need("AWS_SECRET_ACCESS_KEY")?,
        session_token: config.var("AWS_SESSION_TOKEN").map(str::to_string),
    };
    let region = config
        .var("AWS_REGION")
        .or_else(|| config.var("AWS_DEFAULT_REGION"))
        .unwrap_or("us-east-1")
        .to_string();
    let endpoint = config
        .var("AWS_ENDPOINT_URL_S3")
        .or_else(|| config.var("AWS_ENDPOINT_URL"))
        .map(str::to_string);
    let part_size = match config.var("BACKUP_S3_PART_SIZE_MB") {
        None => s3::DEFAULT_PART,
        Some(v) => match v.parse::<usize>() {
            Ok(mb) if (5..=5120).contains(&mb) => mb << 20,
            _ => {
                return Err(format!(
                    "BACKUP_S3_PART_SIZE_MB={v}: a whole number of MiB from 5 (S3's smallest \
                     part) to 5120"
                ))
            }
        },
    };
    let prefix = config
        .var("BACKUP_S3_PREFIX")
        .unwrap_or("nself")
        .trim_matches('/')
        .to_string();
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    let folder = format!(
        "{prefix}{}/{}/",
        backup::safe_name(&config.environment.to_string()),
        backup::safe_name(&super::backup::target_database(config))
    );
    let client = s3::Client::new(s3::Settings {
        bucket,
        region,
        endpoint,
        credentials,
        part_size,
    })
    .map_err(|e| e.to_string())?;
    Ok(Some(remote::Remote {
        client,
        folder,
        prefix,
    }))
}

/// Uploads a backup that was just written, verifies it, and says so on stdout (`human`).
pub fn upload(
    r: &remote::Remote,
    path: &Path,
    meta: &Metadata,
    human: bool,
) -> Result<String, String> {
    if human {
        out!("Uploading to {}... ", r.url(&meta.file));
        let _ = std::io::Write::flush(&mut std::io::stdout());
    }
    let started = std::time::Instant::now();
    match r.upload(path, meta, &mut |_| {}) {
        Ok(url) => {
            if human {
                let secs = started.elapsed().as_secs_f64().max(0.001);
                outln!(
                    "Done ({}, size and SHA-256 verified, {:.1} MB/s)",
                    human_size(meta.size as i64),
                    meta.size as f64 / 1e6 / secs
                );
            }
            Ok(url)
        }
        Err(e) => {
            if human {
                outln!("Failed");
            }
            Err(e.to_string())
        }
    }
}

/// What retention removed (or would remove): lines for the user.
#[derive(Default)]
pub struct Pruned {
    pub lines: Vec<String>,
}

/// A setting that must be a number above 0, if set.
fn positive<T: std::str::FromStr + PartialOrd + Default>(
    config: &Config,
    name: &str,
    what: &str,
) -> Result<Option<T>, String> {
    config
        .var(name)
        .map(|v| {
            v.parse::<T>()
                .ok()
                .filter(|n| *n > T::default())
                .ok_or_else(|| format!("{name}={v}: {what} above 0"))
        })
        .transpose()
}

fn retention_settings(config: &Config) -> Result<(Option<i64>, Option<usize>), String> {
    Ok((
        positive(config, "BACKUP_RETENTION_DAYS", "a number of days")?,
        positive(config, "BACKUP_RETENTION_COUNT", "a number")?,
    ))
}

/// Applies retention to `backups/` (nself's backups, those with metadata, per environment and
/// database) and to the bucket folder, and aborts nself's multipart uploads older than
/// BACKUP_S3_STALE_UPLOAD_HOURS (24). `dry_run` removes nothing.
pub fn prune(config: &Config, r: Option<&remote::Remote>, dry_run: bool) -> Result<Pruned, String> {
    let (days, count) = retention_settings(config)?;
    let now = clock::now_unix();
    let verb = if dry_run { "would remove" } else { "removed" };
    let mut out = Pruned::default();
    let dir = config.project_dir.join(backup::FOLDER);
    let local = backup::list(&dir).map_err(|e| e.to_string())?;
    let mut groups: std::collections::BTreeMap<
        (Option<String>, Option<String>),
        Vec<&backup::Listed>,
    > = Default::default();
    for b in local.iter().filter(|b| b.has_metadata) {
        groups
            .entry((b.environment.clone(), b.database.clone()))
            .or_default()
            .push(b);
    }
    for list in groups.values() {
        let items: Vec<(i64, bool)> = list.iter().map(|b| (b.created_unix, !b.partial)).collect();
        for i in remote::expired(&items, now, days, count) {
            let b = list[i];
            if !dry_run {
                std::fs::remove_file(&b.path)
                    .map_err(|e| format!("removing {}: {e}", b.path.display()))?;
                let _ = std::fs::remove_file(backup::meta_path(&b.path));
            }
            out.lines.push(format!(
                "{verb} {}/{} ({})",
                backup::FOLDER,
                b.name,
                b.created_at
            ));
        }
    }
    if let Some(r) = r {
        let (all, _) = r.list().map_err(|e| e.to_string())?;
        let items: Vec<(i64, bool)> = all.iter().map(|b| (b.created_unix, true)).collect();
        for i in remote::expired(&items, now, days, count) {
            let b = &all[i];
            if !dry_run {
                r.remove(&b.name).map_err(|e| e.to_string())?;
            }
            out.lines.push(format!(
                "{verb} {} ({})",
                r.url(&b.name),
                clock::Civil::from_unix(b.created_unix).display()
            ));
        }
        let hours = match config.var("BACKUP_S3_STALE_UPLOAD_HOURS") {
            None => 24,
            Some(v) => v.parse::<i64>().ok().filter(|h| *h >= 0).ok_or_else(|| {
                format!("BACKUP_S3_STALE_UPLOAD_HOURS={v}: a number of hours (0 or more)")
            })?,
        };
        for u in r
            .stale_uploads(now - hours * 3600)
            .map_err(|e| e.to_string())?
        {
            if !dry_run {
                r.client
                    .abort(&u.key, &u.upload_id)
                    .map_err(|e| e.to_string())?;
            }
            out.lines.push(format!(
                "{} the unfinished upload of {} (started {})",
                if dry_run { "would abort" } else { "aborted" },
                r.client.url(&u.key),
                clock::Civil::from_unix(u.initiated_unix).display()
            ));
        }
    }
    Ok(out)
}

/// `s3://BUCKET/KEY` as (bucket, key).
pub fn parse_url(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

/// A private temp folder (0700) for a `--dry-run` download, removed with what is in it when
/// dropped: a dry run leaves no file behind, in the project or elsewhere.
pub struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, BackupError> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = base.join(format!("nself-restore-{}-{nanos}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(BackupError::io(format!("creating {}", dir.display())))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A downloaded backup's path, and the temp folder that holds it for a dry run.
pub type Fetched = (PathBuf, Option<Scratch>);

/// Downloads `s3://bucket/key` for a restore (the configured credentials and endpoint; the
/// bucket must be AWS_BACKUP_BUCKET): into backups/, or a temp folder with `dry_run`.
pub fn fetch(config: &Config, url: &str, dry_run: bool) -> Result<Fetched, BackupError> {
    let Some((bucket, key)) = parse_url(url) else {
        return Err(BackupError::Usage(format!(
            "{url} is not an S3 URL of a backup (s3://BUCKET/PATH/NAME.sql.gz)"
        )));
    };
    let r = remote(config).map_err(BackupError::Usage)?.ok_or_else(|| {
        BackupError::Usage(format!(
            "restoring {url} needs BACKUP_STORAGE=s3 and the AWS_* settings of its bucket"
        ))
    })?;
    if r.client.bucket() != bucket {
        return Err(BackupError::Usage(format!(
            "{url} is in bucket {bucket}, but the configured bucket is {} (AWS_BACKUP_BUCKET); \
             nself restores from the bucket it is configured for",
            r.client.bucket()
        )));
    }
    download_into(config, &r.client, key, dry_run)
}

/// Downloads a key of the bucket into backups/, or with `dry_run` into a temp folder that is
/// removed when the returned [`Scratch`] is dropped.
pub fn download_into(
    config: &Config,
    client: &s3::Client,
    key: &str,
    dry_run: bool,
) -> Result<Fetched, BackupError> {
    let (dir, scratch) = if dry_run {
        let s = Scratch::new()?;
        (s.0.clone(), Some(s))
    } else {
        let dir = config.project_dir.join(backup::FOLDER);
        crate::fsx::create_dir_ignored(&dir)
            .map_err(BackupError::io(format!("creating {}", dir.display())))?;
        (dir, None)
    };
    outln!("Downloading {}...", client.url(key));
    Ok((remote::download(client, key, &dir, &mut |_| {})?, scratch))
}
