//! `nself db mock`: realistic rows for every table of the managed schemas (`crate::mock`),
//! `--TABLE N` per table, `--seed N` to repeat a run byte for byte, `--clear` to take out what
//! mock put in (and only that), `--dry-run` to see the plan. Local only: staging and production
//! refuse it (the environment rules).
//!
//! `--users 100` is not a flag clap knows: [`rewrite_counts`] turns every `--NAME N` after
//! `db mock` whose NAME is none of the command's own flags into `--count NAME=N` before
//! parsing, so a misspelt table is reported as an unknown table with the closest name.

use super::context::{self, Global};
use super::local::Format;
use super::migrate::{confirm, ConfirmArgs};
use super::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::config::Config;
use crate::mock::plan::{self, label, Plan, PlanError, Request};
use crate::mock::run::{self, Progress};
use crate::mock::state;
use crate::policy::Guarded;
use clap::Args;
use std::ffi::OsString;
use std::time::Instant;

/// Rows for a table not given a count.
pub const DEFAULT_ROWS: u64 = 20;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  nself db mock\n  nself db mock --users 100 --posts 500\n  nself db mock --seed 12345\n  nself db mock --app.orders 50 --rows 5\n  nself db mock --dry-run\n  nself db mock --clear"
)]
pub struct MockArgs {
    /// Rows for one table, as TABLE=N or schema.table=N; `--users 100` is the same as
    /// `--count users=100`.
    #[arg(long = "count", value_name = "TABLE=N", value_parser = parse_count)]
    pub counts: Vec<(String, u64)>,
    /// Rows for every table not given its own count.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ROWS)]
    pub rows: u64,
    /// Seed of the generator: the same seed, schema, counts and existing rows give the same
    /// rows on any machine. Without it a random seed is used and printed.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Delete the rows mock inserted into this database (only those), and set the sequences
    /// back when nothing else used them.
    #[arg(long, conflicts_with_all = ["seed", "counts", "dry_run"])]
    pub clear: bool,
    /// Show the plan (tables in order, counts, what each column gets, what is skipped and
    /// why) and insert nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The schemas to fill (default: public and NSELF_SCHEMAS).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub schemas: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Accepted as by every command that changes a database; mock runs only locally, where
    /// nothing is asked.
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

fn parse_count(s: &str) -> Result<(String, u64), String> {
    let (table, n) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("`{s}` is not TABLE=N"))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a number of rows"))?;
    if table.trim().is_empty() {
        return Err(format!("`{s}` names no table"));
    }
    Ok((table.trim().to_owned(), n))
}

/// Rewrites `db mock … --NAME N …` into `--count NAME=N` for every NAME that is not one of
/// `known` (the long flags `db mock` and the global options take). Other commands' arguments
/// are left alone.
pub fn rewrite_counts(args: Vec<OsString>, known: &[String]) -> Vec<OsString> {
    let Some(db) = args.iter().position(|a| a == "db") else {
        return args;
    };
    let Some(mock) = args
        .iter()
        .skip(db + 1)
        .position(|a| a == "mock")
        .map(|p| p + db + 1)
    else {
        return args;
    };
    let mut out: Vec<OsString> = args[..=mock].to_vec();
    let mut rest = args[mock + 1..].iter().peekable();
    while let Some(a) = rest.next() {
        let Some(text) = a.to_str() else {
            out.push(a.clone());
            continue;
        };
        if text == "--" {
            out.push(a.clone());
            out.extend(rest.cloned());
            break;
        }
        let Some(flag) = text.strip_prefix("--") else {
            out.push(a.clone());
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (flag, None),
        };
        if name.is_empty() || known.iter().any(|k| k == name) {
            out.push(a.clone());
            continue;
        }
        let is_count = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
        match inline {
            Some(v) if is_count(v) => {
                out.push("--count".into());
                out.push(format!("{name}={v}").into());
            }
            Some(_) => out.push(a.clone()),
            None => match rest.peek().and_then(|v| v.to_str()) {
                Some(v) if is_count(v) => {
                    out.push("--count".into());
                    out.push(format!("{name}={v}").into());
                    rest.next();
                }
                _ => out.push(a.clone()),
            },
        }
    }
    out
}

/// A progress bar per table on a terminal (stderr), nothing otherwise.
struct Bars {
    bar: Option<indicatif::ProgressBar>,
    on: bool,
}

impl Progress for Bars {
    fn table(&mut self, name: &str, rows: u64) {
        if !self.on {
            return;
        }
        let bar = indicatif::ProgressBar::new(rows);
        let style = indicatif::ProgressStyle::with_template(
            "  {prefix:<28} {bar:30} {pos:>9}/{len:<9} {per_sec}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(name.to_owned());
        self.bar = Some(bar);
    }
    fn rows(&mut self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }
    fn done(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

pub fn run(global: &Global, args: MockArgs) -> i32 {
    let config = match context::load(global) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let what = if args.clear {
        format!("delete the mock rows in {}", config.target.redacted())
    } else {
        format!("insert mock rows into {}", config.target.redacted())
    };
    if let Err(f) = confirm(&config, Guarded::Mock, &args.confirm, &what) {
        return super::migrate::finish(Err(f));
    }
    let mut session = match crate::connect::open(&config.target) {
        Ok(s) => s,
        Err(e) => return context::fail(&e),
    };
    let client = &mut session.client;
    let schemas = super::migrate::managed_schemas(&config, &args.schemas);
    let tracking = super::migrate::settings(&config, &Default::default()).table;
    let options = crate::catalog::Options {
        schemas: schemas.clone(),
        tracking_table: if tracking.schema == "public" {
            tracking.name.clone()
        } else {
            String::new()
        },
    };
    let mut db = match crate::catalog::introspect(client, &options) {
        Ok(db) => db,
        Err(e) => return context::fail(&e),
    };
    db.tables
        .retain(|t| !(t.name.schema == tracking.schema && t.name.name == tracking.name));
    // Enums the tables use from schemas that are not filled.
    let mut others: Vec<String> = db
        .tables
        .iter()
        .flat_map(|t| t.columns.iter())
        .filter_map(|c| c.ty.schema.clone())
        .filter(|s| !schemas.contains(s))
        .collect();
    others.sort();
    others.dedup();
    if !others.is_empty() {
        match crate::catalog::enums(client, &others) {
            Ok(e) => db.enums.extend(e),
            Err(e) => return context::fail(&e),
        }
    }
    let state_path = state::path(&config.state_dir());
    let key = match state::database_key(client) {
        Ok(k) => k,
        Err(e) => return context::fail(&format!("reading the database's identity: {e}")),
    };
    if args.clear {
        return clear(&config, client, &db, &state_path, &key, args.format);
    }
    let facts = match crate::mock::read_facts(client, &db, &schemas) {
        Ok(f) => f,
        Err(e) => return context::fail(&format!("reading the tables: {e}")),
    };
    let request = Request {
        counts: args.counts.clone(),
        default_rows: args.rows,
    };
    let plan = match plan::plan(&db, &facts, &request) {
        Ok(p) => p,
        Err(e) => {
            errln!("error: {e}");
            return if matches!(
                e,
                PlanError::UnknownTable { .. } | PlanError::Ambiguous { .. }
            ) {
                EXIT_USAGE
            } else {
                EXIT_FAILURE
            };
        }
    };
    let seed = args.seed.unwrap_or_else(rand::random::<u64>);
    if args.dry_run {
        show_plan(&config, &plan, seed, args.seed.is_some(), args.format);
        return EXIT_OK;
    }
    insert(&config, client, &plan, seed, &state_path, &key, args.format)
}

fn show_plan(config: &Config, plan: &Plan, seed: u64, seeded: bool, format: Format) {
    if format == Format::Json {
        let tables: Vec<serde_json::Value> = plan
            .tables
            .iter()
            .map(|t| {
                let columns: Vec<serde_json::Value> = t
                    .columns
                    .iter()
                    .map(|c| serde_json::json!({"column": c.name, "type": c.ty.to_string(), "gets": c.source.describe(t)}))
                    .collect();
                serde_json::json!({
                    "table": label(&t.name), "rows": t.rows, "existing_rows": t.existing,
                    "columns": columns, "note": t.note,
                })
            })
            .collect();
        let skipped: Vec<serde_json::Value> = plan
            .skipped
            .iter()
            .map(|(n, why)| serde_json::json!({"table": label(n), "why": why}))
            .collect();
        outln!(
            "{:#}",
            serde_json::json!({
                "environment": config.environment, "seed": seed, "dry_run": true,
                "tables": tables, "skipped": skipped,
            })
        );
        return;
    }
    let repeat = if seeded {
        String::new()
    } else {
        format!("; --seed {seed} repeats it")
    };
    outln!(
        "Mock plan for {} (seed {seed}{repeat}; dry run: nothing is inserted)",
        config.environment
    );
    outln!("{}", "─".repeat(40));
    for (i, t) in plan.tables.iter().enumerate() {
        outln!("{}. {}: {} rows", i + 1, label(&t.name), t.rows);
        let width = t
            .columns
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(0);
        for c in &t.columns {
            outln!("     {:<width$}  {}", c.name, c.source.describe(t));
        }
        if let Some(n) = &t.note {
            outln!("     ({n})");
        }
    }
    for (n, why) in &plan.skipped {
        outln!("Skipped: {} ({why})", label(n));
    }
    if plan.tables.is_empty() && plan.skipped.is_empty() {
        outln!("  (no tables in the managed schemas)");
    }
}

fn insert(
    config: &Config,
    client: &mut postgres::Client,
    plan: &Plan,
    seed: u64,
    state_path: &std::path::Path,
    key: &str,
    format: Format,
) -> i32 {
    let started = Instant::now();
    let mut bars = Bars {
        bar: None,
        on: format == Format::Human && super::stderr_color(),
    };
    let mut before = Vec::new();
    let outcome = (|| -> Result<run::Report, String> {
        let mut tx = run::begin(client).map_err(|e| e.to_string())?;
        before = run::sequences_before(&mut tx, plan).map_err(|e| e.to_string())?;
        let report = run::insert(&mut tx, plan, seed, before.clone(), &mut bars)
            .map_err(|e| e.to_string())?;
        // The record goes down before the commit: a crash after it cannot lose it.
        let mut st = state::load(state_path)?;
        st.databases
            .entry(key.to_owned())
            .or_default()
            .push(state::Run {
                transaction: report.transaction.clone(),
                seed,
                rows: report
                    .tables
                    .iter()
                    .map(|t| (t.table.clone(), t.inserted))
                    .collect(),
                sequences: report.sequences.clone(),
            });
        state::save(state_path, &st)?;
        tx.commit()
            .map_err(|e| format!("committing: {}", crate::migrate::runner::server_message(&e)))?;
        Ok(report)
    })();
    bars.done();
    let report = match outcome {
        Ok(r) => r,
        Err(e) => {
            // Sequences are not transactional: set back the ones this run moved.
            let _ = run::rewind_sequences(client, &before);
            errln!("error: {e}");
            errln!("Nothing was inserted.");
            return EXIT_FAILURE;
        }
    };
    let secs = started.elapsed().as_secs_f64();
    let rows: u64 = report.tables.iter().map(|t| t.inserted).sum();
    let rate = if secs > 0.0 { rows as f64 / secs } else { 0.0 };
    if format == Format::Json {
        outln!(
            "{:#}",
            serde_json::json!({
                "environment": config.environment, "seed": seed, "tables": report.tables,
                "rows": rows, "deferred_updates": report.deferred_updates,
                "seconds": (secs * 1000.0).round() / 1000.0, "rows_per_second": rate.round(),
                "transaction": report.transaction,
            })
        );
        return EXIT_OK;
    }
    outln!("Mock data for {} (seed {seed})", config.environment);
    outln!("{}", "─".repeat(40));
    let width = report
        .tables
        .iter()
        .map(|t| t.table.chars().count())
        .max()
        .unwrap_or(0);
    for t in &report.tables {
        let mut line = format!("  {:<width$}  {:>8} rows", t.table, t.inserted);
        if let Some(why) = &t.short {
            line.push_str(&format!(" (asked for {}: {why})", t.asked));
        }
        outln!("{line}");
    }
    outln!(
        "\nInserted {} into {} in {secs:.2} s ({:.0} rows/s). Remove them with `{}`.",
        plural(rows, "row"),
        plural(report.tables.len() as u64, "table"),
        rate,
        context::command(config, "db mock --clear")
    );
    EXIT_OK
}

fn clear(
    config: &Config,
    client: &mut postgres::Client,
    db: &crate::ir::canonical::Database,
    state_path: &std::path::Path,
    key: &str,
    format: Format,
) -> i32 {
    let mut st = match state::load(state_path) {
        Ok(s) => s,
        Err(e) => return context::fail(&e),
    };
    let runs = st.databases.get(key).cloned().unwrap_or_default();
    if runs.is_empty() {
        if format == Format::Json {
            outln!(
                "{:#}",
                serde_json::json!({"environment": config.environment, "cleared": []})
            );
        } else {
            outln!(
                "No mock data recorded for this database ({}): nothing to clear.",
                state_path.display()
            );
        }
        return EXIT_OK;
    }
    let xids: Vec<String> = runs.iter().map(|r| r.transaction.clone()).collect();
    let outcome = (|| -> Result<Vec<run::Cleared>, run::MockError> {
        let mut tx = run::begin(client)?;
        let cleared = run::clear(&mut tx, db, &xids)?;
        // Newest run first: each sequence ends at its state before the oldest run.
        for r in runs.iter().rev() {
            run::rewind_sequences(&mut tx, &r.sequences)?;
        }
        tx.commit().map_err(|source| run::MockError::Db {
            what: "committing".to_owned(),
            source,
        })?;
        Ok(cleared)
    })();
    let cleared = match outcome {
        Ok(c) => c,
        Err(e) => {
            errln!("error: {e}");
            return EXIT_FAILURE;
        }
    };
    st.databases.remove(key);
    if let Err(e) = state::save(state_path, &st) {
        errln!("warning: the mock rows were deleted but the record was not updated: {e}");
    }
    let total: i64 = cleared.iter().map(|c| c.rows).sum();
    if format == Format::Json {
        outln!(
            "{:#}",
            serde_json::json!({"environment": config.environment, "cleared": cleared, "rows": total})
        );
        return EXIT_OK;
    }
    outln!("Cleared mock data in {}", config.environment);
    outln!("{}", "─".repeat(40));
    let width = cleared
        .iter()
        .map(|c| c.table.chars().count())
        .max()
        .unwrap_or(0);
    for c in &cleared {
        outln!("  {:<width$}  {:>8} rows", c.table, c.rows);
    }
    outln!(
        "\nDeleted {} inserted by {} of mock; other rows were not touched.",
        plural(total.max(0) as u64, "row"),
        plural(runs.len() as u64, "run")
    );
    EXIT_OK
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn table_counts_become_count_flags() {
        let known = vec!["seed".to_owned(), "rows".to_owned(), "env".to_owned()];
        assert_eq!(
            rewrite_counts(
                os(&[
                    "nself",
                    "db",
                    "mock",
                    "--users",
                    "100",
                    "--seed",
                    "5",
                    "--app.posts=7"
                ]),
                &known
            ),
            os(&[
                "nself",
                "db",
                "mock",
                "--count",
                "users=100",
                "--seed",
                "5",
                "--count",
                "app.posts=7"
            ])
        );
        // Not a number: left for clap to reject; other commands untouched.
        assert_eq!(
            rewrite_counts(os(&["nself", "db", "mock", "--users", "many"]), &known),
            os(&["nself", "db", "mock", "--users", "many"])
        );
        assert_eq!(
            rewrite_counts(os(&["nself", "db", "seed", "--users", "1"]), &known),
            os(&["nself", "db", "seed", "--users", "1"])
        );
        assert_eq!(parse_count("app.users=3"), Ok(("app.users".to_owned(), 3)));
        assert!(parse_count("users").is_err());
    }
}
