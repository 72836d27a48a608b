//! `nself db schema …`: check, export (and, as later issues land, import, diff).

use super::context::{self, Global};
use super::{stderr_color, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use clap::{Subcommand, ValueEnum};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum CheckFormat {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum SchemaCommand {
    /// Lint a DBML file: every syntax and semantic error and warning.
    ///
    /// FILE `-` reads standard input (an editor's unsaved buffer); --stdin-filename names it in
    /// messages, and its folder is where `use` imports are looked up (the current folder
    /// without it). With --format json every outcome is one JSON document on stdout, a file
    /// that cannot be read included (code E0001).
    ///
    /// Exit status: 0 with no errors (warnings allowed), 1 with errors, 2 when the file cannot be
    /// read.
    ///
    /// Examples:
    ///   nself db schema check nself/schema.dbml
    ///   nself db schema check schema.dbml --format json
    ///   nself db schema check - --stdin-filename nself/schema.dbml --format json < buffer.dbml
    #[command(verbatim_doc_comment)]
    Check {
        /// The DBML file (imports with `use` are followed relative to it), or `-` for standard
        /// input.
        file: PathBuf,
        /// With FILE `-`: the name shown in messages; `use` imports are read relative to its
        /// folder.
        #[arg(long, value_name = "NAME")]
        stdin_filename: Option<PathBuf>,
        /// `human` renders like rustc; `json` prints one document for editors.
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
        /// Show at most this many diagnostics (the totals still count them all).
        #[arg(long, value_name = "N", default_value_t = 1000)]
        max_diagnostics: usize,
    },
    /// Diff a DBML file against the database (with pending migrations applied provisionally)
    /// and write the next numbered migration with UP and DOWN.
    ///
    /// Every change carries its hazards (data loss, table rewrite or lock, may fail on existing
    /// data), shown with --dry-run and in the file. A drop and an add that look like a rename
    /// are pointed out with the --rename flag that would express it. Exit status: 0 (also when
    /// nothing changed), 1 on failure, 2 on bad usage; with --check: 0 no differences, 1
    /// differences, 2 could not compare (any failure).
    ///
    /// Examples:
    ///   nself db schema import nself/schema.dbml --dry-run
    ///   nself db schema import nself/schema.dbml --name add_comments
    ///   nself db schema import nself/schema.dbml --apply
    ///   nself db schema import nself/schema.dbml --check
    ///   nself db schema import new.dbml --from old.dbml --dry-run
    ///   nself db schema import nself/schema.dbml --rename users.name=users.full_name
    #[command(verbatim_doc_comment)]
    Import(super::import::ImportArgs),
    /// Compare two schemas: an environment, a URL or a DBML file against the configured
    /// database (or --from). `+` exists only in the source, `-` only in TARGET.
    ///
    /// Exit status: 0, 1 on failure, 2 on bad usage; with --exit-code: 0 no differences, 1
    /// differences, 2 could not compare (any failure).
    ///
    /// Examples:
    ///   nself db schema diff staging
    ///   nself db schema diff production --format json
    ///   nself db schema diff staging --generate-migration
    ///   nself db schema diff nself/schema.dbml --exit-code
    ///   nself db schema diff old.dbml --from new.dbml --format sql
    #[command(verbatim_doc_comment)]
    Diff(super::import::DiffArgs),
    /// Write the database's schema (the managed schemas) as DBML, SQL DDL or JSON.
    ///
    /// The DBML passes `schema check` and describes the database exactly: constraint and index
    /// names are kept where PostgreSQL's default naming would not give them back, comments
    /// become notes. Exit status 1 when the database cannot be read.
    ///
    /// Examples:
    ///   nself db schema export > nself/schema.dbml
    ///   nself db schema export --format sql --output schema.sql
    ///   nself db schema export --schemas public,app --format json
    ///   nself --env staging db schema export
    #[command(verbatim_doc_comment)]
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Dbml)]
        format: ExportFormat,
        /// Write here instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// Managed schemas (public is always included).
        #[arg(long, value_delimiter = ',', default_value = "public")]
        schemas: Vec<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    Dbml,
    Sql,
    Json,
}

pub fn run(global: &Global, cmd: SchemaCommand) -> i32 {
    match cmd {
        SchemaCommand::Check {
            file,
            stdin_filename,
            format,
            max_diagnostics,
        } => check(&file, stdin_filename.as_deref(), format, max_diagnostics),
        SchemaCommand::Export {
            format,
            output,
            schemas,
        } => export(global, format, output.as_deref(), schemas),
        SchemaCommand::Import(args) => super::import::import(global, args),
        SchemaCommand::Diff(args) => super::import::diff(global, args),
    }
}

fn export(
    global: &Global,
    format: ExportFormat,
    output: Option<&std::path::Path>,
    mut schemas: Vec<String>,
) -> i32 {
    let config = match context::load(global) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if !schemas.iter().any(|s| s == "public") {
        schemas.insert(0, "public".to_owned());
    }
    let target = &config.target;
    let mut client = match crate::connect::connect(target) {
        Ok(c) => c,
        Err(e) => return context::fail(&e),
    };
    let options = crate::catalog::Options {
        schemas,
        ..crate::catalog::Options::default()
    };
    let db = match crate::catalog::introspect(&mut client, &options) {
        Ok(db) => db,
        Err(e) => {
            return context::fail(&format!(
                "{e} at {}; check that the user may read the catalog of these schemas",
                target.redacted()
            ))
        }
    };
    let text = match format {
        ExportFormat::Dbml => crate::emit::dbml::to_dbml(&db),
        ExportFormat::Sql => crate::emit::sql::create_script_text(&db),
        ExportFormat::Json => match serde_json::to_string_pretty(&db) {
            Ok(s) => s + "\n",
            Err(e) => return context::fail(&format!("writing JSON: {e}")),
        },
    };
    let written = match output {
        Some(path) => std::fs::write(path, text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| format!("writing to standard output: {e}")),
    };
    let code = match written {
        Ok(()) => EXIT_OK,
        Err(e) => context::fail(&e),
    };
    // The process ends right after this; freeing the whole model would only add time.
    std::mem::forget(db);
    code
}

/// Reads the entry file, or standard input for `-` (named and placed by `--stdin-filename`).
fn load_for_check(
    file: &Path,
    stdin_filename: Option<&Path>,
) -> Result<crate::ir::Project, (String, String)> {
    if file != Path::new("-") {
        if stdin_filename.is_some() {
            return Err((
                file.display().to_string(),
                "--stdin-filename names standard input: give FILE as `-` to read it".to_owned(),
            ));
        }
        return crate::ir::load_project(file).map_err(|e| {
            let name = file.display().to_string();
            let message = format!("cannot read {name}: {e}");
            (name, message)
        });
    }
    let name = stdin_filename
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "<stdin>".to_owned());
    let mut bytes = Vec::new();
    // One byte past the largest file the front end reads: it reports the size, and memory stays
    // bounded whatever is piped in.
    let cap = crate::ir::MAX_FILE_BYTES as u64 + 1;
    if let Err(e) = std::io::stdin().lock().take(cap).read_to_end(&mut bytes) {
        let message = format!("cannot read standard input ({name}): {e}");
        return Err((name, message));
    }
    // Imports are looked up beside the named file, else in the current folder.
    let cwd = std::env::current_dir().unwrap_or_default();
    let path = match stdin_filename {
        Some(p) => cwd.join(p),
        None => cwd.join("<stdin>"),
    };
    Ok(crate::ir::load_project_bytes(&path, name, &bytes))
}

fn check(file: &Path, stdin_filename: Option<&Path>, format: CheckFormat, limit: usize) -> i32 {
    let label = match (file == Path::new("-"), stdin_filename) {
        (true, Some(name)) => name.display().to_string(),
        (true, None) => "<stdin>".to_owned(),
        (false, _) => file.display().to_string(),
    };
    let project = match load_for_check(file, stdin_filename) {
        Ok(p) => p,
        Err((name, message)) => {
            if format == CheckFormat::Json {
                let mut map = crate::diag::SourceMap::new();
                let id = map.add(name, String::new());
                let mut diags = crate::diag::Diagnostics::new();
                diags.push(crate::diag::Diagnostic::error(
                    crate::diag::UNREADABLE,
                    message,
                    crate::diag::Span::new(id, 0, 0),
                ));
                println!("{}", crate::diag::to_json(&map, &diags, limit));
            } else {
                eprintln!("error: {message}");
            }
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
                let hidden = project.diagnostics.total() - shown.len();
                if hidden > 0 && shown.len() < project.diagnostics.len() {
                    writeln!(
                        err,
                        "… {hidden} more not shown (--max-diagnostics {} shows them)",
                        project.diagnostics.len()
                    )?;
                } else if hidden > 0 {
                    writeln!(
                        err,
                        "… {hidden} more not shown (at most the first {} are kept)",
                        crate::diag::KEEP
                    )?;
                }
                if e + w > 0 {
                    writeln!(err, "{label}: {e} error(s), {w} warning(s)")
                } else {
                    writeln!(out, "{label}: ok")
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
