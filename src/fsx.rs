//! The one way nself opens files that someone else may have written (migrations, seeds, backups)
//! and creates files of its own. Nothing here follows a symbolic link: a link in a project's
//! `migrations/`, `seeds/` or `backups/` folder is refused with its path, so a file that git
//! checked out as a link to `.env` (or to anything outside the project) is never read as SQL.
//! New files are created exclusively (`O_EXCL`), so nself never truncates or later removes a file
//! it did not create itself.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Why a file could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The path is a symbolic link; nself does not follow links in project folders.
    Symlink,
    /// The path exists but is not a regular file (a folder, a FIFO, a device).
    NotRegular,
    /// Any other I/O error.
    Io(io::Error),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Symlink => {
                f.write_str("is a symbolic link; nself does not follow links in project folders")
            }
            OpenError::NotRegular => f.write_str("is not a regular file"),
            OpenError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for OpenError {}

impl From<OpenError> for io::Error {
    fn from(e: OpenError) -> io::Error {
        match e {
            OpenError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidInput, other.to_string()),
        }
    }
}

/// Opens an existing regular file for reading without following a symbolic link at its last
/// component. `O_NONBLOCK` keeps a FIFO planted under a migration's name from hanging the open;
/// the file is then checked to be regular through its descriptor (no race between the check and
/// the read).
pub fn open_regular(path: &Path) -> Result<File, OpenError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                OpenError::Symlink
            } else {
                OpenError::Io(e)
            }
        })?;
    let meta = file.metadata().map_err(OpenError::Io)?;
    if !meta.file_type().is_file() {
        return Err(OpenError::NotRegular);
    }
    Ok(file)
}

/// Reads a whole regular file (see [`open_regular`]) as bytes.
pub fn read_regular(path: &Path) -> Result<Vec<u8>, OpenError> {
    use std::io::Read;
    let mut file = open_regular(path)?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).map_err(OpenError::Io)?;
    Ok(buf)
}

/// Whether `path` itself (not what it points to) is a symbolic link.
pub fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Creates a new file for writing, failing if anything (a file, a link, a folder) already has
/// that name. `mode` is the permission bits (e.g. `0o600`). The caller owns the file and is the
/// only one allowed to remove it.
pub fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// The `.gitignore` nself writes in a folder of its own that it creates in a project
/// (`.nself/`, `backups/`): everything in it stays out of git, the file included.
pub const IGNORE_ALL: &str =
    "# Created by nself: this folder holds local state and backups, not sources.\n*\n";

/// Creates `dir` and its missing parents. The topmost folder this call created itself (not one
/// that already existed, nor one another process created first) gets a `.gitignore` holding
/// `*`, created exclusively, so a user's own file is never replaced. Returns whether `dir` was
/// created by this call.
pub fn create_dir_ignored(dir: &Path) -> io::Result<bool> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at {
        if d.as_os_str().is_empty() || std::fs::symlink_metadata(d).is_ok() {
            break;
        }
        missing.push(d);
        at = d.parent();
    }
    let mut topmost: Option<&Path> = None;
    for d in missing.iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => {
                topmost.get_or_insert(d);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    if let Some(top) = topmost {
        match create_new(&top.join(".gitignore"), 0o644) {
            Ok(mut f) => io::Write::write_all(&mut f, IGNORE_ALL.as_bytes())?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(topmost.is_some() && missing.first() == Some(&dir))
}

/// Replaces the contents of the file at `path` (following a symlink to the file it names; a
/// missing file is created) with `bytes`, all or nothing: the new text is written to a new file beside the target, with the
/// target's permission bits, flushed to disk and renamed over it. On any error the target is
/// unchanged and the temporary file removed.
pub fn replace_contents(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let (target, mode) = match std::fs::canonicalize(path) {
        Ok(target) => {
            let meta = std::fs::metadata(&target)?;
            if !meta.is_file() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a regular file",
                ));
            }
            (target, meta.permissions().mode() & 0o7777)
        }
        // A file that does not exist yet is created the same way, readable by all.
        Err(e) if e.kind() == io::ErrorKind::NotFound && !is_symlink(path) => {
            (path.to_path_buf(), 0o644)
        }
        Err(e) => return Err(e),
    };
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.nself-{}.tmp", std::process::id()));
    let mut file = create_new(&tmp, mode)?;
    let written = file
        .write_all(bytes)
        .and_then(|_| file.sync_all())
        .and_then(|_| std::fs::rename(&tmp, &target));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn created_folders_get_a_gitignore_existing_ones_do_not() {
        let d = scratch("ignore");
        let nested = d.join("a").join("b");
        assert!(create_dir_ignored(&nested).unwrap());
        assert!(nested.is_dir());
        assert_eq!(
            std::fs::read_to_string(d.join("a/.gitignore")).unwrap(),
            IGNORE_ALL
        );
        assert!(!nested.join(".gitignore").exists());
        // An existing folder is left alone.
        assert!(!create_dir_ignored(&nested).unwrap());
        let user = d.join("mine");
        std::fs::create_dir(&user).unwrap();
        assert!(!create_dir_ignored(&user).unwrap());
        assert!(!user.join(".gitignore").exists());
        let _ = std::fs::remove_dir_all(&d);
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("nself-fsx-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_link_is_refused_and_a_file_is_read() {
        let d = scratch("link");
        std::fs::write(d.join("secret"), "PASSWORD=x").unwrap();
        std::os::unix::fs::symlink(d.join("secret"), d.join("001_x.sql")).unwrap();
        assert!(matches!(
            read_regular(&d.join("001_x.sql")),
            Err(OpenError::Symlink)
        ));
        assert_eq!(read_regular(&d.join("secret")).unwrap(), b"PASSWORD=x");
        assert!(is_symlink(&d.join("001_x.sql")));
        assert!(!is_symlink(&d.join("secret")));
        std::fs::create_dir(d.join("dir")).unwrap();
        assert!(matches!(
            read_regular(&d.join("dir")),
            Err(OpenError::NotRegular)
        ));
    }

    #[test]
    fn a_fifo_does_not_hang() {
        let d = scratch("fifo");
        let p = d.join("f.sql");
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(read_regular(&p), Err(OpenError::NotRegular)));
    }

    #[test]
    fn create_new_never_replaces() {
        let d = scratch("excl");
        std::fs::write(d.join("a"), "theirs").unwrap();
        assert!(create_new(&d.join("a"), 0o600).is_err());
        assert_eq!(std::fs::read(d.join("a")).unwrap(), b"theirs");
        std::os::unix::fs::symlink(d.join("nowhere"), d.join("l")).unwrap();
        assert!(create_new(&d.join("l"), 0o600).is_err());
        assert!(!d.join("nowhere").exists());
        create_new(&d.join("b"), 0o600).unwrap();
        assert!(d.join("b").is_file());
    }
}
