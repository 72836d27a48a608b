//! `nself db schema fmt`: format DBML files in place, check them, or show the diff.

use super::context::{self, Global};
use super::{stderr_color, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct FmtArgs {
    /// DBML files to format in place; `-` formats standard input to standard output. Default:
    /// nself/schema.dbml and the files it imports with `use`.
    pub files: Vec<PathBuf>,
    /// Change nothing; exit 1 when a file would change (and name it).
    #[arg(long)]
    pub check: bool,
    /// Change nothing; print what would change as a unified diff (exit 1 when anything would).
    #[arg(long)]
    pub diff: bool,
    /// With FILE `-`: the name shown in messages.
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<PathBuf>,
}

/// What happened to one file.
enum Outcome {
    Unchanged,
    Changed,
    Failed,
}

pub fn fmt(global: &Global, args: FmtArgs) -> i32 {
    let dry = args.check || args.diff;
    if args.stdin_filename.is_some() && !args.files.iter().any(|f| f == Path::new("-")) {
        errln!("error: --stdin-filename names standard input: give FILE as `-` to read it");
        return EXIT_USAGE;
    }
    let files = if args.files.is_empty() {
        match default_files(global) {
            Ok(f) => f,
            Err(code) => return code,
        }
    } else {
        args.files.clone()
    };
    let (mut changed, mut unchanged, mut failed) = (0usize, 0usize, 0usize);
    for file in &files {
        let outcome = if file == Path::new("-") {
            let label = args
                .stdin_filename
                .as_ref()
                .map_or_else(|| "<stdin>".to_owned(), |p| p.display().to_string());
            stdin(&label, &args)
        } else {
            one_file(file, &args)
        };
        match outcome {
            Outcome::Unchanged => unchanged += 1,
            Outcome::Changed => changed += 1,
            Outcome::Failed => failed += 1,
        }
    }
    let on_stdin = files.len() == 1 && files[0] == Path::new("-");
    if !on_stdin {
        let verb = if dry {
            "would be reformatted"
        } else {
            "reformatted"
        };
        let mut parts = vec![format!("{changed} file(s) {verb}")];
        if unchanged > 0 {
            parts.push(format!("{unchanged} already formatted"));
        }
        if failed > 0 {
            parts.push(format!("{failed} could not be formatted"));
        }
        errln!("{}", parts.join(", "));
    }
    if failed > 0 || (dry && changed > 0) {
        EXIT_FAILURE
    } else {
        EXIT_OK
    }
}

/// nself/schema.dbml of the project, and every file it imports.
fn default_files(global: &Global) -> Result<Vec<PathBuf>, i32> {
    let (dir, _) = context::project_dir(global);
    let entry = dir.join("nself/schema.dbml");
    match crate::ir::load_project(&entry) {
        Ok(project) => Ok(project
            .sources
            .ids()
            .map(|id| PathBuf::from(&project.sources.get(id).name))
            .collect()),
        Err(e) => {
            errln!(
                "error: cannot read {}: {e} (name the files to format: nself db schema fmt FILE…)",
                entry.display()
            );
            Err(EXIT_USAGE)
        }
    }
}

fn one_file(path: &Path, args: &FmtArgs) -> Outcome {
    let label = path.display().to_string();
    // A link is followed to the file it names (the file is what gets formatted); a FIFO or a
    // folder is refused without blocking.
    let opened = std::fs::canonicalize(path)
        .and_then(|target| crate::fsx::open_regular(&target).map_err(Into::into));
    let bytes = match read_capped(opened) {
        Ok(b) => b,
        Err(e) => {
            errln!("error: cannot read {label}: {e}");
            return Outcome::Failed;
        }
    };
    let Some(text) = decoded(&label, bytes) else {
        return Outcome::Failed;
    };
    let Some(formatted) = formatted(&label, &text) else {
        return Outcome::Failed;
    };
    if formatted == text {
        return Outcome::Unchanged;
    }
    if args.diff {
        print_diff(&label, &text, &formatted);
    } else if args.check {
        errln!("would reformat {label}");
    } else if let Err(e) = crate::fsx::replace_contents(path, formatted.as_bytes()) {
        errln!("error: cannot write {label}: {e} (the file is unchanged)");
        return Outcome::Failed;
    }
    Outcome::Changed
}

fn stdin(label: &str, args: &FmtArgs) -> Outcome {
    let bytes = match read_capped(Ok(std::io::stdin().lock())) {
        Ok(b) => b,
        Err(e) => {
            errln!("error: cannot read standard input ({label}): {e}");
            return Outcome::Failed;
        }
    };
    let Some(text) = decoded(label, bytes) else {
        return Outcome::Failed;
    };
    let Some(formatted) = formatted(label, &text) else {
        return Outcome::Failed;
    };
    let changed = formatted != text;
    if args.diff {
        if changed {
            print_diff(label, &text, &formatted);
        }
    } else if args.check {
        if changed {
            errln!("would reformat {label}");
        }
    } else {
        let mut out = crate::out::stdout();
        let _ = out.write_all(formatted.as_bytes());
        let _ = out.flush();
    }
    if changed {
        Outcome::Changed
    } else {
        Outcome::Unchanged
    }
}

/// Reads at most one byte more than the front end accepts, so memory stays bounded.
fn read_capped<R: Read>(reader: std::io::Result<R>) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader?
        .take(crate::ir::MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > crate::ir::MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB",
            crate::ir::MAX_FILE_BYTES >> 20
        )));
    }
    Ok(bytes)
}

fn decoded(label: &str, bytes: Vec<u8>) -> Option<String> {
    match String::from_utf8(bytes) {
        Ok(s) => Some(s),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            errln!("error: {label}: not UTF-8 (invalid byte at offset {at}); not formatted");
            None
        }
    }
}

/// The formatted text, or `None` after reporting why there is none.
fn formatted(label: &str, text: &str) -> Option<String> {
    match crate::fmt::format(text) {
        Ok(s) => Some(s),
        Err(crate::fmt::Error::Syntax(diags)) => {
            let mut map = crate::diag::SourceMap::new();
            map.add(label, text);
            let mut err = crate::out::stderr();
            let _ = crate::diag::render_human(&map, &diags[..], stderr_color(), &mut err);
            errln!(
                "{label}: not formatted: {} syntax error(s) (`nself db schema check` shows them all)",
                diags.errors()
            );
            None
        }
        Err(crate::fmt::Error::Unstable(why)) => {
            errln!(
                "error: {label}: not formatted: {why}; the file is left as it was. This is a bug \
                 in nself: please report it with the file."
            );
            None
        }
    }
}

fn print_diff(label: &str, old: &str, new: &str) {
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{label}\t(original)"),
            &format!("{label}\t(formatted)"),
        )
        .to_string();
    let mut out = crate::out::stdout();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
