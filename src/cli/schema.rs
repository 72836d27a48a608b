//! `nself db schema …`: check (and, as later issues land, import, export, diff).

use super::{stderr_color, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use clap::{Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum CheckFormat {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum SchemaCommand {
    /// Lint a DBML file: every syntax and semantic error and warning.
    ///
    /// Exit status: 0 with no errors (warnings allowed), 1 with errors, 2 when the file cannot be
    /// read.
    ///
    /// Examples:
    ///   nself db schema check nself/schema.dbml
    ///   nself db schema check schema.dbml --format json
    #[command(verbatim_doc_comment)]
    Check {
        /// The DBML file (imports with `use` are followed relative to it).
        file: PathBuf,
        /// `human` renders like rustc; `json` prints one document for editors.
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
        /// Show at most this many diagnostics (the totals still count them all).
        #[arg(long, value_name = "N", default_value_t = 1000)]
        max_diagnostics: usize,
    },
}

pub fn run(cmd: SchemaCommand) -> i32 {
    match cmd {
        SchemaCommand::Check {
            file,
            format,
            max_diagnostics,
        } => check(&file, format, max_diagnostics),
    }
}

fn check(file: &std::path::Path, format: CheckFormat, limit: usize) -> i32 {
    let project = match crate::ir::load_project(file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return EXIT_USAGE;
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = match format {
        CheckFormat::Json => {
            writeln!(
                out,
                "{}",
                crate::diag::to_json(&project.sources, &project.diagnostics, limit)
            )
        }
        CheckFormat::Human => {
            let color = stderr_color();
            let mut err = std::io::stderr().lock();
            let shown = &project.diagnostics[..project.diagnostics.len().min(limit)];
            crate::diag::render_human(&project.sources, shown, color, &mut err).and_then(|_| {
                let (e, w) = project.counts();
                let hidden = project.diagnostics.len() - shown.len();
                if hidden > 0 {
                    writeln!(
                        err,
                        "… {hidden} more not shown (--max-diagnostics {} shows them)",
                        project.diagnostics.len()
                    )?;
                }
                if e + w > 0 {
                    writeln!(err, "{}: {e} error(s), {w} warning(s)", file.display())
                } else {
                    writeln!(out, "{}: ok", file.display())
                }
            })
        }
    };
    let code = if result.is_err() || project.has_errors() {
        EXIT_FAILURE
    } else {
        EXIT_OK
    };
    // The process ends right after this; freeing a large tree node by node would only add time.
    std::mem::forget(project);
    code
}
