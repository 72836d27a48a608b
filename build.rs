//! Runs lalrpop over `grammar/` into OUT_DIR; `src/syntax/parser.rs` is the only module that
//! includes the generated parser. Also sets `NSELF_LONG_VERSION` (what `nself --version` prints):
//! the package version and the commit it was built from (`abc1234`, `abc1234-dirty` when tracked
//! files differ from it), or `unknown commit` when the sources are not a git checkout of their
//! own (a crate tarball, an exported tree) or git is missing.
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .set_in_dir("grammar")
        .emit_rerun_directives(true)
        .process()
        .unwrap_or_else(|e| panic!("lalrpop failed on grammar/: {e}"));
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let commit = commit().unwrap_or_else(|| "unknown commit".to_owned());
    println!("cargo:rustc-env=NSELF_LONG_VERSION={version} ({commit})");
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(manifest_dir())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    Some(text.trim().to_owned())
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| ".".into()))
}

/// The short commit, with `-dirty`, when the crate is the top of its own git checkout.
fn commit() -> Option<String> {
    // A crate unpacked inside some other repository is not built from that repository's commit.
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?);
    let same = |a: &Path, b: &Path| {
        a.canonicalize()
            .ok()
            .is_some_and(|a| b.canonicalize().ok() == Some(a))
    };
    if !same(&top, &manifest_dir()) {
        return None;
    }
    // Rebuild the string when HEAD moves: HEAD itself (a checkout), the branch it points to (a
    // commit), packed refs, and the index and sources (for the dirty mark).
    for path in [
        git(&["rev-parse", "--git-path", "HEAD"]),
        git(&["symbolic-ref", "-q", "HEAD"])
            .and_then(|r| git(&["rev-parse", "--git-path", r.as_str()])),
        git(&["rev-parse", "--git-path", "packed-refs"]),
        git(&["rev-parse", "--git-path", "index"]),
    ]
    .into_iter()
    .flatten()
    {
        // Only files that exist: cargo reruns the script on every build for a missing one.
        let path = manifest_dir().join(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    for tracked in ["src", "grammar", "Cargo.toml", "Cargo.lock", "build.rs"] {
        println!("cargo:rerun-if-changed={tracked}");
    }
    let hash = git(&["rev-parse", "--short", "HEAD"])?;
    // `git diff --quiet HEAD` exits 1 when tracked files differ from the commit.
    let status = Command::new("git")
        .args(["diff", "--quiet", "HEAD", "--"])
        .current_dir(manifest_dir())
        .status()
        .ok()?;
    match status.code() {
        Some(0) => Some(hash),
        Some(1) => Some(format!("{hash}-dirty")),
        _ => None,
    }
}
