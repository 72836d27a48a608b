//! `nself db schema import` and `nself db schema diff`: the diff engine on the command line.

use super::context::{self, Global};
use super::migrate::{self as mcli, snake_case, utc_timestamp};
use super::{stderr_color, use_color, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::config::{self, Config, Environment};
use crate::diff::migration::{self, Planned};
use crate::diff::{self, normalize, rename, report, source, Sign};
use crate::ir::canonical::{canonicalize, Database};
use clap::{Args, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The DBML file with the schema you want.
    pub file: PathBuf,
    /// The migration's name (snake_case is made from it). Default: from the changes.
    #[arg(long)]
    pub name: Option<String>,
    /// Print the migration and its hazards; write nothing.
    #[arg(long, conflicts_with_all = ["apply", "check"])]
    pub dry_run: bool,
    /// Write the migration and apply it (local environment only).
    #[arg(long, conflicts_with = "check")]
    pub apply: bool,
    /// Write nothing; exit 0 when the DBML and the database with its migrations agree, 1 when
    /// they differ, 2 when they could not be compared (for pre-commit).
    #[arg(long)]
    pub check: bool,
    /// Compare with this DBML file instead of the database (no database needed).
    #[arg(long, value_name = "OTHER.dbml")]
    pub from: Option<PathBuf>,
    /// Rename instead of drop and add: `table.old=table.new` (a column) or `old=new` (a table).
    #[arg(long, value_name = "OLD=NEW")]
    pub rename: Vec<String>,
    /// Managed schemas besides public and those the DBML names.
    #[arg(long, value_delimiter = ',')]
    pub schemas: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum DiffFormat {
    Text,
    Json,
    Sql,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// What to compare with: an environment (staging, production), a postgres:// URL or a
    /// DBML file. Default: the DBML file nself/schema.dbml.
    pub target: Option<String>,
    /// The other side (same forms). Default: the configured database (local unless --env).
    #[arg(long, value_name = "SOURCE")]
    pub from: Option<String>,
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Write the migration that makes TARGET look like the source into nself/migrations.
    #[arg(long)]
    pub generate_migration: bool,
    /// The migration's name with --generate-migration.
    #[arg(long)]
    pub name: Option<String>,
    /// Exit 0 when the schemas match, 1 when they differ, 2 when they could not be compared
    /// (a side unreadable, with errors or out of reach; bad usage).
    #[arg(long)]
    pub exit_code: bool,
    /// Rename instead of drop and add (as for import).
    #[arg(long, value_name = "OLD=NEW")]
    pub rename: Vec<String>,
    /// Managed schemas besides public and those a DBML side names.
    #[arg(long, value_delimiter = ',')]
    pub schemas: Vec<String>,
}

/// A failure already reported, with its exit code.
struct Exit(i32);

fn fail(message: impl std::fmt::Display) -> Exit {
    errln!("error: {message}");
    Exit(EXIT_FAILURE)
}

/// Reads and checks a DBML file; diagnostics that block an import are rendered and stop it.
/// `--rename` flags checked against both sides; those the current side shows done already are
/// left out, with a note.
fn resolve_renames(
    specs: &[String],
    current: &Database,
    desired: &Database,
) -> Result<Vec<rename::Rename>, Exit> {
    let (todo, done) = rename::split_done(specs, current);
    for spec in &done {
        errln!("note: --rename {spec} is already done in the current schema; ignored");
    }
    rename::resolve(&todo, current, desired).map_err(|e| {
        errln!("error: {e}");
        Exit(EXIT_USAGE)
    })
}

fn load_dbml(path: &Path) -> Result<Database, Exit> {
    accept_dbml(path, read_dbml(path))
}

/// A DBML project read and, when nothing in it stops an import, canonicalized.
type Read = std::io::Result<(crate::ir::Project, Option<Database>)>;

fn read_dbml(path: &Path) -> Read {
    let project = crate::ir::load_project(path)?;
    // Diagnostics past the kept ones are only counted: with some not kept, the import cannot
    // know that none of them blocks, so it stops.
    let ok = !project.diagnostics.iter().any(source::blocking)
        && project.diagnostics.len() == project.diagnostics.total();
    let db = ok.then(|| canonicalize(&project.schema));
    Ok((project, db))
}

/// Two DBML files, read, checked and canonicalized side by side (one thread each).
fn load_two(a: &Path, b: &Path) -> Result<(Database, Database), Exit> {
    let (pa, pb) = std::thread::scope(|s| {
        let hb = s.spawn(|| read_dbml(b));
        let pa = read_dbml(a);
        let pb = hb
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the reading thread failed")));
        (pa, pb)
    });
    let da = accept_dbml(a, pa)?;
    let db = accept_dbml(b, pb)?;
    Ok((da, db))
}

fn accept_dbml(path: &Path, loaded: Read) -> Result<Database, Exit> {
    let (project, db) = match loaded {
        Ok(p) => p,
        Err(e) => {
            errln!("error: cannot read {}: {e}", path.display());
            return Err(Exit(EXIT_USAGE));
        }
    };
    let blocking: Vec<_> = project
        .diagnostics
        .iter()
        .filter(|d| source::blocking(d))
        .cloned()
        .collect();
    if !blocking.is_empty() || db.is_none() {
        let mut err = crate::out::stderr();
        let shown = &blocking[..blocking.len().min(50)];
        let _ = crate::diag::render_human(&project.sources, shown, stderr_color(), &mut err);
        let _ = writeln!(
            err,
            "error: {} has {} problem(s) that stop the import (PostgreSQL warnings count: the \
             migration would fail or not mean what the DBML says); nothing was written",
            path.display(),
            blocking.len()
        );
        return Err(Exit(EXIT_FAILURE));
    }
    let warnings = project.diagnostics.total();
    if warnings > 0 {
        errln!(
            "note: {} has {warnings} warning(s) that do not stop the import; `nself db schema check {}` shows them",
            path.display(),
            path.display()
        );
    }
    // The process ends soon; freeing the tree node by node would only add time.
    std::mem::forget(project);
    db.ok_or(Exit(EXIT_FAILURE))
}

fn managed(config: &Config, flag: &[String], dbs: &[&Database]) -> Vec<String> {
    let mut out = mcli::managed_schemas(config, flag);
    if !out.iter().any(|s| s == "public") {
        out.insert(0, "public".to_owned());
    }
    for db in dbs {
        for s in &db.schemas {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
    }
    out
}

/// The next version and the width its number is written with, from the file names alone.
fn next_version(dir: &Path) -> Result<(u64, usize), String> {
    crate::migrate::file::next_version(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))
}

/// The default migration name, from the changes.
fn default_name(planned: &[Planned]) -> String {
    let all: Vec<&diff::Summary> = planned.iter().flat_map(|p| p.changes.iter()).collect();
    let name = match all.as_slice() {
        [one] => {
            let verb = match (one.sign, one.kind) {
                (Sign::Add, "Table") => "create",
                (Sign::Add, _) => "add",
                (Sign::Drop, _) => "drop",
                (Sign::Alter, _) => "alter",
            };
            format!("{verb} {} {}", one.kind, one.object).replace("Table ", "")
        }
        _ if all.iter().all(|c| c.sign == Sign::Add && c.kind == "Table") && all.len() <= 3 => {
            format!(
                "create {}",
                all.iter()
                    .map(|c| c.object.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
        _ => "update schema".to_owned(),
    };
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    let mut s = snake_case(&cleaned).unwrap_or_else(|| "update_schema".to_owned());
    if s.len() > 60 {
        s.truncate(60);
        s = s.trim_end_matches('_').to_owned();
    }
    s
}

/// File names, ids and texts of the migrations, numbered from the folder's next version.
fn files_for(
    dir: &Path,
    planned: &[Planned],
    name: &str,
    description: &str,
) -> Result<Vec<(PathBuf, String, String)>, String> {
    let (first, width) = next_version(dir)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let created = utc_timestamp(now);
    let mut out = Vec::new();
    for (i, m) in planned.iter().enumerate() {
        let version = first + i as u64;
        let stem = if m.part.is_empty() {
            name.to_owned()
        } else {
            format!("{name}_{}", m.part)
        };
        let id = format!("{version:0width$}_{stem}");
        let file = format!("{id}.sql");
        let text = migration::render(&id, &created, description, m);
        migration::verify(&file, &text, m).map_err(|e| format!("{file}: {e}"))?;
        out.push((dir.join(&file), id, text));
    }
    Ok(out)
}

/// Writes the files (all or none). Each is created exclusively; when one cannot be written,
/// only the files this call created are removed: a name another process already holds (the
/// reason `create_new` failed) is left alone.
fn write_files(dir: &Path, files: &[(PathBuf, String, String)]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut written: Vec<crate::backup::Owned> = Vec::new();
    for (path, _, text) in files {
        let result = match crate::backup::Owned::create(path, 0o666) {
            Ok((owned, mut f)) => {
                let done = f.write_all(text.as_bytes()).and_then(|_| f.sync_all());
                written.push(owned);
                done
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            for own in &written {
                own.remove();
            }
            return Err(format!(
                "cannot write {}: {e}; nothing was written",
                path.display()
            ));
        }
    }
    Ok(())
}

fn shown(config: &Config, path: &Path) -> String {
    path.strip_prefix(&config.project_dir)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn print_hazards(planned: &[Planned]) {
    let hazards: Vec<String> = planned
        .iter()
        .flat_map(|p| p.changes.iter())
        .flat_map(|c| c.hazards.iter().map(ToString::to_string))
        .collect();
    if !hazards.is_empty() {
        outln!("Hazards:");
        for h in hazards {
            outln!("  {h}");
        }
    }
    for p in planned {
        for h in &p.hints {
            outln!(
                "Looks like a rename: {} (import again with {} to rename instead of drop and add)",
                h.what,
                h.flag
            );
        }
    }
}

pub fn import(global: &Global, args: ImportArgs) -> i32 {
    let check = args.check;
    match run_import(global, args) {
        Ok(code) => code,
        Err(Exit(code)) => could_not_check(check, code),
    }
}

/// With `--check` / `--exit-code` a hook must tell "the schemas differ" (1) from "could not
/// compare them" (a file that cannot be read or has errors, a database out of reach): every
/// failure is then EXIT_NOT_CHECKED, as diff(1) and cmp(1) do.
fn could_not_check(checking: bool, code: i32) -> i32 {
    if checking && code != EXIT_OK {
        super::EXIT_NOT_CHECKED
    } else {
        code
    }
}

fn run_import(global: &Global, args: ImportArgs) -> Result<i32, Exit> {
    let config = context::load(global).map_err(Exit)?;
    let (mut desired, from_db) = match &args.from {
        Some(other) => {
            let (d, c) = load_two(&args.file, other)?;
            (d, Some(c))
        }
        None => (load_dbml(&args.file)?, None),
    };
    let shown_file = args.file.display().to_string();
    if args.apply && config.environment != Environment::Local {
        return Err(fail(format!(
            "--apply runs only in the local environment (this is {}); write the migration \
             without --apply, review it, commit it, and apply it with `{}`",
            config.environment,
            context::command(&config, "db migrate up")
        )));
    }

    let (current, against, changed_label) = match (from_db, &args.from) {
        (Some(current), Some(other)) => {
            // No database to run them on, but a folder whose files the runner would refuse
            // gets no new file next to them.
            crate::migrate::discover(&config.migrations_dir()).map_err(fail)?;
            let shown = other.display().to_string();
            (current, shown.clone(), shown)
        }
        _ => {
            let files = crate::migrate::discover(&config.migrations_dir()).map_err(fail)?;
            let mut session = mcli::open(&config).map_err(|_| Exit(EXIT_FAILURE))?;
            let table = mcli::settings(&config, &mcli::TimeoutArgs::default()).table;
            let schemas = managed(&config, &args.schemas, &[&desired]);
            let mut tx = session
                .client
                .transaction()
                .map_err(|e| fail(format!("{}: {e}", config.target.redacted())))?;
            let (current, ran) = source::live_with_pending(&mut tx, &files, &table, &schemas)
                .map_err(|e| fail(format!("{e} ({})", config.target.redacted())))?;
            normalize::with_server(&mut tx, &mut desired, &current).map_err(fail)?;
            drop(tx); // rolled back: the pending migrations were only tried
            let mut against = format!("the {} database", config.environment);
            if !ran.is_empty() {
                against.push_str(&format!(
                    " with {} pending migration{}",
                    ran.len(),
                    if ran.len() == 1 { "" } else { "s" }
                ));
            }
            (current, against, config.environment.to_string())
        }
    };

    let renames = resolve_renames(&args.rename, &current, &desired)?;
    let planned = migration::build(&desired, &current, &renames);
    if planned.is_empty() {
        outln!("No changes: {shown_file} matches {against}.");
        return Ok(EXIT_OK);
    }
    if args.check {
        outln!("{shown_file} and {against} differ:");
        let (changes, hints) = migration::changes(&desired, &current, &renames);
        let sides = report::Sides {
            desired: &shown_file,
            changed: &changed_label,
        };
        let style = report::Style {
            indent: "  ",
            hazards: true,
            color: use_color(std::io::stdout().is_terminal()),
        };
        for l in report::lines(&changes, &hints, &sides, &style) {
            outln!("{l}");
        }
        outln!(
            "Run `{}` to write the migration.",
            context::command(&config, &format!("db schema import {shown_file}"))
        );
        return Ok(EXIT_FAILURE);
    }

    let name = match &args.name {
        Some(raw) => snake_case(raw).ok_or_else(|| {
            errln!(
                "error: {raw:?} cannot be a migration name: use letters, digits, spaces, `-` or `_`"
            );
            Exit(EXIT_USAGE)
        })?,
        None => default_name(&planned),
    };
    let description = format!("nself db schema import {shown_file}");
    let dir = config.migrations_dir();
    let files = files_for(&dir, &planned, &name, &description).map_err(fail)?;

    if args.dry_run {
        for (i, (_, _, text)) in files.iter().enumerate() {
            if i > 0 {
                outln!();
            }
            out!("{text}");
        }
        return Ok(EXIT_OK);
    }
    write_files(&dir, &files).map_err(fail)?;
    for (path, _, _) in &files {
        outln!("Created {}", shown(&config, path));
    }
    print_hazards(&planned);
    if args.apply {
        let code = mcli::run(
            global,
            mcli::MigrateCommand::Up {
                count: None,
                dry_run: false,
                allow_out_of_order: false,
                confirm: mcli::ConfirmArgs::default(),
                timeouts: mcli::TimeoutArgs::default(),
                format: super::local::Format::Human,
            },
        );
        return Ok(code);
    }
    outln!(
        "Review it, then apply it with `{}`.",
        context::command(&config, "db migrate up")
    );
    Ok(EXIT_OK)
}

/// One side of `schema diff`.
enum Side {
    Dbml(PathBuf),
    Database { config: Box<Config>, label: String },
}

fn side(global: &Global, spec: Option<&str>, default_dbml: bool) -> Result<Side, Exit> {
    let request = context::request(global);
    match spec {
        None if default_dbml => Ok(Side::Dbml(request.project_dir.join("nself/schema.dbml"))),
        None => {
            let config = context::load(global).map_err(Exit)?;
            let label = config.environment.to_string();
            Ok(Side::Database {
                config: Box::new(config),
                label,
            })
        }
        Some(s) if s.contains("://") => {
            let req = config::Request {
                database_url_flag: Some(s.to_owned()),
                ..request
            };
            let config = config::resolve(&req).map_err(|e| Exit(context::fail_config(&e)))?;
            let label = config.target.redacted();
            Ok(Side::Database {
                config: Box::new(config),
                label,
            })
        }
        Some(s) if Environment::parse(s).is_some() && !Path::new(s).is_file() => {
            let config =
                config::resolve_for(&request, s).map_err(|e| Exit(context::fail_config(&e)))?;
            let label = config.environment.to_string();
            Ok(Side::Database {
                config: Box::new(config),
                label,
            })
        }
        Some(s) => {
            let path = PathBuf::from(s);
            if !path.is_file() {
                errln!(
                    "error: {s} is neither an environment (local, staging, production), a \
                     postgres:// URL nor a DBML file"
                );
                return Err(Exit(EXIT_USAGE));
            }
            Ok(Side::Dbml(path))
        }
    }
}

fn side_label(s: &Side) -> String {
    match s {
        Side::Dbml(p) => {
            // As the user would type it: relative to the current folder when inside it.
            let cwd = std::env::current_dir().ok();
            let shown = cwd
                .as_deref()
                .and_then(|c| p.strip_prefix(c).ok())
                .unwrap_or(p);
            shown.display().to_string()
        }
        Side::Database { label, .. } => label.clone(),
    }
}

pub fn diff(global: &Global, args: DiffArgs) -> i32 {
    let check = args.exit_code;
    match run_diff(global, args) {
        Ok(code) => code,
        Err(Exit(code)) => could_not_check(check, code),
    }
}

fn run_diff(global: &Global, args: DiffArgs) -> Result<i32, Exit> {
    let target = side(global, args.target.as_deref(), true)?;
    let from = side(global, args.from.as_deref(), false)?;
    let (to_label, from_label) = (side_label(&target), side_label(&from));
    if args.generate_migration
        && matches!(target, Side::Dbml(_))
        && matches!(from, Side::Database { .. })
    {
        // The migration would bring the DBML file to the database: nothing to apply it to.
        let import = match &from {
            Side::Database { config, .. } => {
                context::command(config, &format!("db schema import {to_label}"))
            }
            Side::Dbml(_) => format!("nself db schema import {to_label}"),
        };
        errln!(
            "error: --generate-migration writes the migration that brings TARGET to the source; \
             here TARGET is the DBML file {to_label} and the source the database.\n\
             To write the migration that brings the database to {to_label}: {import}"
        );
        return Err(Exit(EXIT_USAGE));
    }

    // DBML sides first (they decide the managed schemas), then the databases.
    let (mut from_db, mut target_db) = match (&from, &target) {
        (Side::Dbml(f), Side::Dbml(t)) => {
            let (f, t) = load_two(f, t)?;
            (Some(f), Some(t))
        }
        (Side::Dbml(f), _) => (Some(load_dbml(f)?), None),
        (_, Side::Dbml(t)) => (None, Some(load_dbml(t)?)),
        _ => (None, None),
    };
    let named: Vec<&Database> = from_db.iter().chain(target_db.iter()).collect();
    let base = context::load(global).map_err(Exit)?;
    let schemas = managed(&base, &args.schemas, &named);
    let databases = [&from, &target]
        .iter()
        .filter(|s| matches!(s, Side::Database { .. }))
        .count();
    // Each database side is read as the folder's migrations leave it: its pending ones are run
    // in a transaction that is rolled back (as `schema import` reads the local side), so that a
    // generated migration is what that database needs after them.
    let files = if databases > 0 {
        crate::migrate::discover(&base.migrations_dir()).map_err(fail)?
    } else {
        Vec::new()
    };
    let mut clients: Vec<DbSide> = Vec::new();
    let mut identities: Vec<(String, String)> = Vec::new();
    for is_from in [true, false] {
        let (side, other) = if is_from {
            (&from, &target)
        } else {
            (&target, &from)
        };
        let Side::Database { config, label } = side else {
            continue;
        };
        let mut session = mcli::open(config).map_err(|_| Exit(EXIT_FAILURE))?;
        let identity = server_identity(&mut session)
            .map_err(|e| fail(format!("{e} ({})", config.target.redacted())))?;
        if let Some((_, first)) = identities.iter().find(|(id, _)| *id == identity) {
            return Err(fail(format!(
                "both sides of the diff are the same database ({}): {first} and {label} name \
                 one database on one server, so there is nothing to compare; check which \
                 database each environment's configuration names (`nself --env ENV db status`)",
                config.target.redacted()
            )));
        }
        identities.push((identity, label.clone()));
        let table = mcli::settings(config, &mcli::TimeoutArgs::default()).table;
        let mut tx = session
            .client
            .transaction()
            .map_err(|e| fail(format!("{}: {e}", config.target.redacted())))?;
        let (db, ran) = source::live_with_pending(&mut tx, &files, &table, &schemas)
            .map_err(|e| fail(format!("{e} ({label}: {})", config.target.redacted())))?;
        // A DBML side against this database: the server prints its expressions (inside the
        // transaction, where the pending migrations' types exist).
        if matches!(other, Side::Dbml(_)) {
            let dbml = if is_from {
                target_db.as_mut()
            } else {
                from_db.as_mut()
            };
            if let Some(dbml) = dbml {
                normalize::with_server(&mut tx, dbml, &db).map_err(fail)?;
            }
        }
        drop(tx); // rolled back: the pending migrations were only tried
        if !ran.is_empty() {
            errln!(
                "note: {label} has {} pending migration{} ({}); it is compared as it will be \
                 after them (they were run provisionally and rolled back)",
                ran.len(),
                if ran.len() == 1 { "" } else { "s" },
                ran.join(", ")
            );
        }
        if is_from {
            from_db = Some(db);
        } else {
            target_db = Some(db);
        }
        clients.push((is_from, session, config.clone(), ran));
    }
    let (Some(mut desired), Some(mut current)) = (from_db, target_db) else {
        return Err(fail("internal: a side of the diff was not read"));
    };
    // Between a DBML file and a database the database is the side that changes, whichever
    // was named TARGET (one sign convention: `diff::report`).
    let flip = matches!(target, Side::Dbml(_)) && matches!(from, Side::Database { .. });
    if flip {
        std::mem::swap(&mut desired, &mut current);
    }
    let (desired_label, changed_label) = if flip {
        (to_label.clone(), from_label.clone())
    } else {
        (from_label.clone(), to_label.clone())
    };
    // A DBML side was brought to the server's spelling of its expressions while its database
    // side was read (above).
    let renames = resolve_renames(&args.rename, &current, &desired)?;
    let (changes, hints) = migration::changes(&desired, &current, &renames);
    // The migration text only when it is shown or written.
    let planned = if args.format == DiffFormat::Sql || args.generate_migration {
        migration::build(&desired, &current, &renames)
    } else {
        Vec::new()
    };
    let differ = !changes.is_empty();

    let mut out = crate::out::stdout();
    let io = |e: std::io::Error| fail(format!("writing to standard output: {e}"));
    match args.format {
        DiffFormat::Text => {
            let color = use_color(std::io::stdout().is_terminal());
            let sides = report::Sides {
                desired: &desired_label,
                changed: &changed_label,
            };
            writeln!(out, "{}", context::heading(&sides.title())).map_err(io)?;
            if !differ {
                writeln!(out, "No differences.").map_err(io)?;
            }
            let style = report::Style {
                indent: "",
                hazards: true,
                color,
            };
            for l in report::lines(&changes, &hints, &sides, &style) {
                writeln!(out, "{l}").map_err(io)?;
            }
        }
        DiffFormat::Json => {
            let doc = serde_json::json!({
                "from": from_label,
                "to": to_label,
                "desired": desired_label,
                "changed": changed_label,
                "differ": differ,
                "changes": diff::summaries(&changes),
                "rename_hints": hints,
            });
            writeln!(out, "{doc:#}").map_err(io)?;
        }
        DiffFormat::Sql => {
            for p in &planned {
                for st in &p.up {
                    writeln!(out, "{st}").map_err(io)?;
                }
            }
        }
    }
    drop(out);
    if args.generate_migration && differ {
        let name = match &args.name {
            Some(raw) => snake_case(raw).ok_or_else(|| {
                errln!("error: {raw:?} cannot be a migration name");
                Exit(EXIT_USAGE)
            })?,
            None => default_name(&planned),
        };
        let dir = base.migrations_dir();
        let description = format!("nself db schema diff: {to_label} to {from_label}");
        let files = files_for(&dir, &planned, &name, &description).map_err(fail)?;
        write_files(&dir, &files).map_err(fail)?;
        for (path, _, _) in &files {
            errln!("Created {}", shown(&base, path));
        }
        advise_generated(&target, &from, &clients, &files);
    }
    Ok(if args.exit_code && differ {
        EXIT_FAILURE
    } else {
        EXIT_OK
    })
}

/// Which database a session is on, for telling two sides apart: the server's
/// `system_identifier` (unique per cluster, from `pg_control_system()`) and the database name.
/// Where the function is not allowed, the server's address and port as it sees them, else (a
/// Unix socket) the connection's host and port.
fn server_identity(session: &mut crate::connect::Session) -> Result<String, String> {
    let db: String = session
        .client
        .query_one("SELECT current_database()::text", &[])
        .map_err(|e| e.to_string())?
        .get(0);
    let system = session
        .client
        .query_one(
            "SELECT system_identifier::text FROM pg_catalog.pg_control_system()",
            &[],
        )
        .ok()
        .and_then(|r| r.get::<_, Option<String>>(0));
    if let Some(id) = system {
        return Ok(format!("system {id} database {db}"));
    }
    let addr = session
        .client
        .query_one(
            "SELECT inet_server_addr()::text || ':' || inet_server_port()::text",
            &[],
        )
        .ok()
        .and_then(|r| r.get::<_, Option<String>>(0));
    let addr = addr.unwrap_or_else(|| format!("{}:{}", session.params.host, session.params.port));
    Ok(format!("server {addr} database {db}"))
}

/// A database side as read: whether it is the source, its session, its configuration and the
/// pending migrations that were run provisionally on it.
type DbSide = (bool, crate::connect::Session, Box<Config>, Vec<String>);

/// After `--generate-migration`: where the new files run, and what the source database needs
/// instead (it has the changes already, so running them there would fail).
fn advise_generated(
    target: &Side,
    from: &Side,
    sides: &[DbSide],
    files: &[(PathBuf, String, String)],
) {
    let find = |want: bool| sides.iter().find(|(is_from, ..)| *is_from == want);
    let versions: Vec<&str> = files
        .iter()
        .filter_map(|(_, id, _)| id.split('_').next())
        .collect();
    if let Side::Database { label, .. } = target {
        if let Some((_, _, config, _)) = find(false) {
            errln!(
                "Apply it to {label} with its pending migrations: {}",
                context::command(config, "db migrate up")
            );
        }
    }
    if let Side::Database { label, .. } = from {
        if let Some((_, _, config, ran)) = find(true) {
            let mark: Vec<String> = versions
                .iter()
                .map(|v| format!("--mark-applied {v}"))
                .collect();
            let repair = context::command(config, &format!("db migrate repair {}", mark.join(" ")));
            if ran.is_empty() {
                errln!(
                    "{label} has these changes already: record the migration there without \
                     running it: {repair}"
                );
            } else {
                errln!(
                    "{label} will have these changes after its pending migrations: apply those \
                     with {}, then record the new one without running it: {repair}",
                    context::command(config, &format!("db migrate up {}", ran.len()))
                );
            }
        }
    }
}

#[cfg(test)]
mod write_tests {
    #![allow(clippy::unwrap_used)]
    use super::write_files;

    /// Defect 6: another process holds the second file's name when the import writes it. The
    /// import fails, removes the first file (its own) and leaves the other process's file.
    #[test]
    fn a_failed_write_removes_only_files_it_created() {
        let dir = std::env::temp_dir().join(format!("nself-import-race-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let theirs = dir.join("002_b.sql");
        std::fs::write(&theirs, "-- written by someone else\n").unwrap();
        let files = vec![
            (
                dir.join("001_a.sql"),
                "001_a".to_string(),
                "-- UP\n".to_string(),
            ),
            (theirs.clone(), "002_b".to_string(), "-- UP\n".to_string()),
        ];
        let e = write_files(&dir, &files).unwrap_err();
        assert!(
            e.contains("002_b.sql") && e.contains("nothing was written"),
            "{e}"
        );
        assert!(!dir.join("001_a.sql").exists());
        assert_eq!(
            std::fs::read_to_string(&theirs).unwrap(),
            "-- written by someone else\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
