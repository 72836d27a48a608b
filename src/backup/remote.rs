//! Backups in an S3 bucket (issue 16): where nself puts them, how an upload is verified, which
//! objects are nself's own, retention, stale uploads, and downloads for `db restore`.
//!
//! Layout: `s3://BUCKET/<prefix>/<environment>/<database>/<file>` and `<file>.meta.json` beside
//! it, the same names as in `backups/`. An object is nself's own backup only when all of these
//! hold: it is directly in that folder, its name is a backup name nself makes (a UTC stamp
//! `YYYY-MM-DD_HHMMSS_`, then `.sql` or `.sql.gz`), and its metadata object is beside it. The
//! metadata is uploaded last, after the backup's size and SHA-256 were verified, so its
//! presence also means "verified". Retention and the sweep touch nothing else in the bucket.

use super::s3::{self, S3Error};
use super::{clock, Metadata};
use std::path::{Path, PathBuf};

/// One of nself's backups in the bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteBackup {
    pub name: String,
    pub key: String,
    pub size: u64,
    /// From the name's stamp (UTC).
    pub created_unix: i64,
}

/// The bucket folder of one environment's database.
pub struct Remote {
    pub client: s3::Client,
    /// `nself/production/app/` (ends with `/`; empty prefix allowed).
    pub folder: String,
    /// `nself/` (the prefix of every nself folder, for the sweep).
    pub prefix: String,
}

/// The creation time in a backup name nself makes (`2026-01-24_143052_…sql[.gz]`, UTC).
pub fn stamp_of(name: &str) -> Option<i64> {
    if !(name.ends_with(".sql") || name.ends_with(".sql.gz")) {
        return None;
    }
    let b = name.as_bytes();
    if b.len() < 18 || b[4] != b'-' || b[7] != b'-' || b[10] != b'_' || b[17] != b'_' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = name.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(13..15)?, num(15..17)?);
    clock::Civil::checked(i64::from(year), month, day, hour, minute, second)
}

/// What retention removes from a set of backups, by index: those older than `days`, and those
/// beyond the newest `count` verified ones; never the newest verified backup, and nothing at
/// all when `days` and `count` are both unset. `items` are (created, verified).
pub fn expired(
    items: &[(i64, bool)],
    now: i64,
    days: Option<i64>,
    count: Option<usize>,
) -> Vec<usize> {
    if days.is_none() && count.is_none() {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    // Newest first.
    order.sort_by(|a, b| items[*b].0.cmp(&items[*a].0).then(b.cmp(a)));
    let newest_verified = order.iter().copied().find(|i| items[*i].1);
    let cutoff = days.map(|d| now - d * 86_400);
    let mut verified_seen = 0usize;
    let mut out = Vec::new();
    for i in order {
        let (created, verified) = items[i];
        if verified {
            verified_seen += 1;
        }
        if Some(i) == newest_verified {
            continue;
        }
        let too_old = cutoff.is_some_and(|c| created < c);
        let too_many = count.is_some_and(|n| verified && verified_seen > n);
        if too_old || too_many {
            out.push(i);
        }
    }
    out.sort_unstable();
    out
}

impl Remote {
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.folder)
    }

    pub fn url(&self, name: &str) -> String {
        self.client.url(&self.key(name))
    }

    /// Uploads a backup and then its metadata, verifying each (size, and the SHA-256 recorded
    /// on the object against the metadata's; S3 checks every request's payload hash itself).
    /// Nothing counts until the metadata object is there.
    pub fn upload(
        &self,
        path: &Path,
        meta: &Metadata,
        progress: &mut dyn FnMut(u64),
    ) -> Result<String, S3Error> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let key = self.key(&name);
        let io = |doing: &str| {
            let doing = doing.to_string();
            move |error| S3Error::Io { doing, error }
        };
        let file = crate::fsx::open_regular(path).map_err(|e| S3Error::Io {
            doing: format!("reading {}", path.display()),
            error: match e {
                crate::fsx::OpenError::Io(e) => e,
                other => std::io::Error::other(other.to_string()),
            },
        })?;
        let len = file
            .metadata()
            .map_err(io(&format!("reading {}", path.display())))?
            .len();
        if len != meta.size {
            return Err(S3Error::Io {
                doing: format!("uploading {}", path.display()),
                error: std::io::Error::other(format!(
                    "the file has {len} bytes, its metadata says {}",
                    meta.size
                )),
            });
        }
        let size = meta.size.to_string();
        let headers = [
            ("nself-sha256", meta.sha256.as_str()),
            ("nself-size", size.as_str()),
        ];
        let mut hashing = super::restore::Hashing::new(file);
        self.client
            .put(&key, &mut hashing, len, &headers, progress)?;
        // The bytes sent are the bytes the metadata describes (the file did not change under
        // the upload).
        let (_, sent) = hashing.done();
        if sent != meta.sha256 {
            return Err(S3Error::Io {
                doing: format!("uploading {}", path.display()),
                error: std::io::Error::other(
                    "the file changed during the upload (its SHA-256 differs from its metadata)",
                ),
            });
        }
        self.verify(&key, meta.size, Some(&meta.sha256))?;
        let json = serde_json::to_vec_pretty(meta).unwrap_or_default();
        let meta_key = format!("{key}{}", super::META_SUFFIX);
        self.client.put(
            &meta_key,
            &mut json.as_slice(),
            json.len() as u64,
            &[],
            &mut |_| {},
        )?;
        self.verify(&meta_key, json.len() as u64, None)?;
        Ok(self.client.url(&key))
    }

    fn verify(&self, key: &str, size: u64, sha256: Option<&str>) -> Result<(), S3Error> {
        let doing = format!("verifying {}", self.client.url(key));
        let head = self.client.head(key)?.ok_or_else(|| S3Error::BadAnswer {
            doing: doing.clone(),
            message: "the object is not there after its upload".into(),
        })?;
        if head.size != size {
            return Err(S3Error::BadAnswer {
                doing,
                message: format!("the bucket holds {} bytes, {size} were sent", head.size),
            });
        }
        if let Some(want) = sha256 {
            if head.meta("nself-sha256") != Some(want) {
                return Err(S3Error::BadAnswer {
                    doing,
                    message: "the object's recorded SHA-256 is not the backup's".into(),
                });
            }
        }
        Ok(())
    }

    /// nself's backups in this folder (oldest first; each with its metadata beside it, so
    /// verified), and how many other objects are there (metadata objects not counted).
    pub fn list(&self) -> Result<(Vec<RemoteBackup>, usize), S3Error> {
        let objects = self.client.list(&self.folder)?;
        let names: std::collections::HashSet<&str> = objects
            .iter()
            .filter_map(|o| o.key.strip_prefix(&self.folder))
            .collect();
        let mut out = Vec::new();
        let mut foreign = 0;
        for o in &objects {
            let Some(name) = o.key.strip_prefix(&self.folder) else {
                foreign += 1;
                continue;
            };
            if let Some(base) = name.strip_suffix(super::META_SUFFIX) {
                if !name.contains('/') && stamp_of(base).is_some() {
                    continue;
                }
            }
            // Without its metadata beside it, an object is not (or not yet) a backup of nself's.
            let with_meta = names.contains(format!("{name}{}", super::META_SUFFIX).as_str());
            match stamp_of(name) {
                Some(created) if !name.contains('/') && with_meta => out.push(RemoteBackup {
                    name: name.to_string(),
                    key: o.key.clone(),
                    size: o.size,
                    created_unix: created,
                }),
                _ => foreign += 1,
            }
        }
        out.sort_by(|a, b| (a.created_unix, &a.name).cmp(&(b.created_unix, &b.name)));
        Ok((out, foreign))
    }

    /// The metadata of a backup in this folder, if it has any.
    pub fn metadata(&self, name: &str) -> Result<Option<Metadata>, S3Error> {
        let key = format!("{}{}", self.key(name), super::META_SUFFIX);
        let mut bytes = Vec::new();
        match self
            .client
            .get(&key, &mut LimitedVec(&mut bytes), &mut |_| {})
        {
            Ok(_) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(S3Error::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes a backup and then its metadata.
    pub fn remove(&self, name: &str) -> Result<(), S3Error> {
        let key = self.key(name);
        self.client.delete(&key)?;
        self.client.delete(&format!("{key}{}", super::META_SUFFIX))
    }

    /// Unfinished multipart uploads of nself's backup names under its prefix, started before
    /// `before`.
    pub fn stale_uploads(&self, before: i64) -> Result<Vec<s3::Upload>, S3Error> {
        Ok(self
            .client
            .uploads(&self.prefix)?
            .into_iter()
            .filter(|u| {
                let name = u.key.rsplit('/').next().unwrap_or("");
                u.initiated_unix < before
                    && (stamp_of(name).is_some()
                        || name
                            .strip_suffix(super::META_SUFFIX)
                            .is_some_and(|b| stamp_of(b).is_some()))
            })
            .collect())
    }
}

/// Downloads `key` (and `key.meta.json` when there is one) into `dir` under the key's last
/// component, atomically, never replacing a file; a file of that name that is already there is
/// used when it has the same SHA-256 as the metadata says. Returns the local path.
pub fn download(
    client: &s3::Client,
    key: &str,
    dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<PathBuf, super::BackupError> {
    use super::BackupError;
    let name = key.rsplit('/').next().unwrap_or("");
    if name.is_empty() || name.starts_with('.') {
        return Err(BackupError::Usage(format!(
            "{} does not name a backup file",
            client.url(key)
        )));
    }
    let failed = |e: S3Error| BackupError::Tool {
        doing: format!("downloading {}", client.url(key)),
        message: e.to_string(),
    };
    let path = dir.join(name);
    let meta_key = format!("{key}{}", super::META_SUFFIX);
    let mut meta = Vec::new();
    let has_meta = match client.get(&meta_key, &mut LimitedVec(&mut meta), &mut |_| {}) {
        Ok(_) => true,
        Err(S3Error::Status { status: 404, .. }) => false,
        Err(e) => return Err(failed(e)),
    };
    if std::fs::symlink_metadata(&path).is_ok() {
        // Already here: the same backup (by its hash) is used as it is.
        let parsed: Option<Metadata> = serde_json::from_slice(&meta).ok();
        let (_, sha) = super::restore::hash_file(&path)?;
        if parsed.as_ref().is_some_and(|m| m.sha256 == sha) {
            return Ok(path);
        }
        return Err(BackupError::Usage(format!(
            "{} exists and is not the backup {} (another SHA-256); move it away or restore it \
             by its path",
            path.display(),
            client.url(key)
        )));
    }
    let mut result = Ok(());
    let linked = super::dump::write_stream_new(&path, &mut |f| {
        result = client.get(key, f, progress).map(|_| ());
        if result.is_err() {
            return Err(std::io::Error::other("download failed"));
        }
        Ok(())
    });
    result.map_err(failed)?;
    if !linked? {
        return Err(BackupError::Usage(format!(
            "{} appeared during the download; nothing was replaced",
            path.display()
        )));
    }
    if has_meta {
        super::dump::write_private_new(&super::meta_path(&path), &meta)?;
    }
    Ok(path)
}

/// A writer into a vector that refuses more than 16 MiB (metadata objects are small).
struct LimitedVec<'a>(&'a mut Vec<u8>);

impl std::io::Write for LimitedVec<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > 16 << 20 {
            return Err(std::io::Error::other("more than 16 MiB of metadata"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps() {
        let t = stamp_of("2026-01-24_143052_production_app.sql.gz");
        assert_eq!(t, Some(clock::Civil::from_unix(t.unwrap_or(0)).to_unix()));
        assert_eq!(
            clock::Civil::from_unix(t.unwrap_or(0)).file_stamp(),
            "2026-01-24_143052"
        );
        assert!(stamp_of("2026-01-24_143052_app-2.sql").is_some());
        for foreign in [
            "2026-01-24_143052_app.sql.gz.bak",
            "report-2026-01-24_143052_app.sql.gz",
            "2026-13-24_143052_app.sql.gz",
            "2026-01-24-143052_app.sql.gz",
            "2026-01-24_1430x2_app.sql.gz",
            "notes.txt",
        ] {
            assert_eq!(stamp_of(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn retention_keeps_the_newest_verified_whatever_its_age() {
        let day = 86_400;
        let now = 100 * day;
        // All expired: only the newest verified one stays (an unverified newer one goes).
        let items = [
            (now - 40 * day, true),
            (now - 35 * day, true),
            (now - 31 * day, false),
        ];
        assert_eq!(expired(&items, now, Some(30), None), vec![0, 2]);
        // Nothing set: nothing goes.
        assert!(expired(&items, now, None, None).is_empty());
        // A count keeps the newest N verified.
        let items = [
            (now - 4 * day, true),
            (now - 3 * day, true),
            (now - 2 * day, false),
            (now - day, true),
        ];
        assert_eq!(expired(&items, now, None, Some(2)), vec![0]);
        assert_eq!(expired(&items, now, Some(3), Some(2)), vec![0]);
        assert_eq!(expired(&items, now, Some(1), None), vec![0, 1, 2]);
    }
}
