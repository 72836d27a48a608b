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
    },
}

pub fn run(cmd: SchemaCommand) -> i32 {
    match cmd {
        SchemaCommand::Check { file, format } => check(&file, format),
    }
}

fn check(file: &std::path::Path, format: CheckFormat) -> i32 {
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
                crate::diag::to_json(&project.sources, &project.diagnostics)
            )
        }
        CheckFormat::Human => {
            let color = stderr_color();
            let mut err = std::io::stderr().lock();
            crate::diag::render_human(&project.sources, &project.diagnostics, color, &mut err)
                .and_then(|_| {
                    let (e, w) = project.counts();
                    if e + w > 0 {
                        writeln!(err, "{}: {e} error(s), {w} warning(s)", file.display())
                    } else {
                        writeln!(out, "{}: ok", file.display())
                    }
                })
        }
    };
    if result.is_err() {
        return EXIT_FAILURE;
    }
    if project.has_errors() {
        EXIT_FAILURE
    } else {
        EXIT_OK
    }
}
