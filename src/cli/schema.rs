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
    /// Format DBML files in place: one layout, every comment and note kept where it was.
    ///
    /// The result is proven before it is written: it parses to the same tree with the same
    /// comments, or the file is left alone. Files with syntax errors are not formatted.
    /// Exit status: 0; 1 when a file could not be formatted, or with --check/--diff when one
    /// would change; 2 on bad usage.
    ///
    /// Examples:
    ///   nself db schema fmt
    ///   nself db schema fmt nself/schema.dbml --check
    ///   nself db schema fmt --diff
    ///   nself db schema fmt - < schema.dbml > formatted.dbml
    #[command(verbatim_doc_comment)]
    Fmt(super::fmt::FmtArgs),
    /// Keep nself/schema.dbml and a dbdiagram.io diagram in step (its public API; a paid plan).
    ///
    /// `sync` pushes or pulls, whichever side alone changed since the last sync (recorded in
    /// .nself/dbdiagram.json); when both changed it stops and asks for `push --force` or
    /// `pull --force`. A push is checked with `schema check` first (errors stop it); empty
    /// content is never sent or written. The token comes from --token or DBDIAGRAM_TOKEN and is
    /// never printed. Exit status: 0, 1 on a conflict or failure, 2 on bad usage.
    ///
    /// Examples:
    ///   nself db schema sync --token YOUR_DBDIAGRAM_TOKEN --diagram my_app
    ///   nself db schema sync status
    ///   nself db schema sync pull
    ///   nself db schema sync push --force
    #[command(verbatim_doc_comment)]
    Sync(super::sync::SyncArgs),
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
    /// Write the database's schema as DBML, SQL DDL or JSON: every schema that holds tables
    /// or enums, or those given with --schemas.
    ///
    /// The DBML passes `schema check` and describes the database exactly: constraint and index
    /// names are kept where PostgreSQL's default naming would not give them back, comments
    /// become notes. Exit status 1 when the database cannot be read.
    ///
    /// Examples:
    ///   nself db schema export > nself/schema.dbml
    ///   nself db schema export --format sql --output schema.sql
    ///   nself db schema export --schemas app --format json
    ///   nself --env staging db schema export
    #[command(verbatim_doc_comment)]
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Dbml)]
        format: ExportFormat,
        /// Write here instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// Export only these schemas (default: every schema holding tables or enums, but
        /// system schemas, extensions' objects, the tracking table and hdb_catalog). Enums
        /// their columns use from other schemas are included; foreign keys to tables outside
        /// them are left out, with a warning.
        #[arg(long, value_delimiter = ',')]
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
        SchemaCommand::Fmt(args) => super::fmt::fmt(global, args),
        SchemaCommand::Sync(args) => super::sync::sync(global, args),
    }
}

fn export(
    global: &Global,
    format: ExportFormat,
    output: Option<&std::path::Path>,
    schemas: Vec<String>,
) -> i32 {
    let config = match context::load(global) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let target = &config.target;
    let mut client = match crate::connect::connect(target) {
        Ok(c) => c,
        Err(e) => return context::fail(&e),
    };
    let tracking = super::migrate::settings(&config, &Default::default()).table;
    let read_failed = |e: &dyn std::fmt::Display| {
        context::fail(&format!(
            "{e} at {}; check that the user may read the catalog of these schemas",
            target.redacted()
        ))
    };
    let mut selected: Vec<String> = Vec::new();
    for s in schemas.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if !selected.iter().any(|x| x == s) {
            selected.push(s.to_owned());
        }
    }
    if selected.is_empty() {
        selected = match crate::catalog::user_schemas(
            &mut client,
            &tracking.schema,
            &tracking.name,
            &["hdb_catalog"],
        ) {
            Ok(s) => s,
            Err(e) => return read_failed(&e),
        };
    }
    let options = crate::catalog::Options {
        schemas: selected.clone(),
        tracking_table: if tracking.schema == "public" {
            tracking.name.clone()
        } else {
            String::new()
        },
    };
    let mut db = match crate::catalog::introspect(&mut client, &options) {
        Ok(db) => db,
        Err(e) => return read_failed(&e),
    };
    // The tracking table outside public (the catalog reader only knows it in public).
    db.tables
        .retain(|t| !(t.name.schema == tracking.schema && t.name.name == tracking.name));
    if let Err(e) = self_contained(&mut client, &mut db, &selected, format) {
        return read_failed(&e);
    }
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
        None => crate::out::stdout()
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

/// Makes an export of `selected` stand on its own. Enum types its columns use from other
/// schemas are read and included (the file would not check or load without them), with a
/// note naming the schema; foreign keys to tables outside `selected` cannot be described, so
/// they are left out (the DBML says so in a comment) with a warning naming the `--schemas`
/// that would keep them.
fn self_contained(
    client: &mut postgres::Client,
    db: &mut crate::ir::canonical::Database,
    selected: &[String],
    format: ExportFormat,
) -> Result<(), crate::catalog::CatalogError> {
    use crate::ir::model::QualifiedName;
    use std::collections::BTreeMap;
    // Enum (schema, name) -> the first column that uses it.
    let mut wanted: BTreeMap<QualifiedName, String> = BTreeMap::new();
    for t in &db.tables {
        for c in &t.columns {
            if let Some(schema) = &c.ty.schema {
                let name = QualifiedName::new(schema.clone(), c.ty.name.clone());
                if !selected.contains(schema) && !db.enums.iter().any(|e| e.name == name) {
                    wanted
                        .entry(name)
                        .or_insert_with(|| format!("{}.{}", t.name, c.name));
                }
            }
        }
    }
    if !wanted.is_empty() {
        let mut schemas: Vec<String> = wanted.keys().map(|n| n.schema.clone()).collect();
        schemas.dedup();
        for e in crate::catalog::enums(client, &schemas)? {
            if let Some(column) = wanted.get(&e.name) {
                errln!(
                    "note: enum {} is included because {column} uses it, although schema {} is \
                     not exported; a `schema import` of this file manages schema {} too",
                    e.name,
                    e.name.schema,
                    e.name.schema
                );
                db.enums.push(e);
            }
        }
        db.normalize();
    }
    let mut missing: Vec<String> = Vec::new();
    for t in &db.tables {
        for fk in &t.foreign_keys {
            if db.table(&fk.references).is_none() {
                errln!(
                    "warning: foreign key {} of {} references {}, outside the exported schemas; \
                     it is left out{}",
                    fk.name,
                    t.name,
                    fk.references,
                    if format == ExportFormat::Dbml {
                        " (a comment in the DBML says so)"
                    } else {
                        ""
                    }
                );
                if !missing.contains(&fk.references.schema) {
                    missing.push(fk.references.schema.clone());
                }
            }
        }
    }
    if !missing.is_empty() {
        let all: Vec<&str> = selected
            .iter()
            .chain(missing.iter())
            .map(String::as_str)
            .collect();
        errln!(
            "warning: export with --schemas {} (or without --schemas) to keep them",
            all.join(",")
        );
        if format != ExportFormat::Dbml {
            let known: Vec<QualifiedName> = db.tables.iter().map(|t| t.name.clone()).collect();
            for t in &mut db.tables {
                t.foreign_keys.retain(|fk| known.contains(&fk.references));
            }
        }
    }
    Ok(())
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
                outln!("{}", crate::diag::to_json(&map, &diags, limit));
            } else {
                errln!("error: {message}");
            }
            return EXIT_USAGE;
        }
    };
    let mut out = crate::out::stdout();
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
            let mut err = crate::out::stderr();
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
