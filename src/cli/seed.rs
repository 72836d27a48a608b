//! `nself db seed [FILE]`: run the seed files for the environment (`seeds/common`, then
//! `seeds/<env>`), each in its own transaction, stopping at the first failure; `--dry-run`
//! lists them. Staging and production ask first (the environment rules).

use super::context::{self, Global};
use super::local::Format;
use super::migrate::{confirm, finish, open, ConfirmArgs, Failure};
use crate::config::Environment;
use crate::migrate::MigrateError;
use crate::policy::Guarded;
use crate::seed::{self, SeedFile};
use clap::Args;
use std::io::Write;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  nself db seed\n  nself db seed 01_test_users.sql\n  nself db seed --env staging --yes\n  nself db seed --dry-run"
)]
pub struct SeedArgs {
    /// Run only this seed file: a name looked up in seeds/common and seeds/<env>, or a path.
    #[arg(value_name = "FILE")]
    pub file: Option<String>,
    /// List the files that would run, in order, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub fn run(global: &Global, args: SeedArgs) -> i32 {
    let config = match context::load(global) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let dir = config.seeds_dir();
    let env = config.environment;
    let seeds = match &args.file {
        Some(name) => seed::find(&dir, env, name).map(|s| vec![s]),
        None => seed::discover(&dir, env).map_err(MigrateError::from),
    };
    let seeds = match seeds {
        Ok(s) => s,
        Err(e) => return finish(Err(e.into())),
    };
    if args.dry_run {
        if args.format == Format::Json {
            let list: Vec<serde_json::Value> = seeds
                .iter()
                .map(|s| serde_json::json!({"file": s.label(), "path": s.path, "statements": s.steps.len()}))
                .collect();
            outln!(
                "{:#}",
                serde_json::json!({ "environment": env, "seeds": list, "dry_run": true })
            );
        } else {
            outln!("Seeds for {env} (dry run: nothing is run)");
            outln!("{}", "─".repeat(40));
            for s in &seeds {
                outln!(
                    "  {}  ({} statement{})",
                    s.label(),
                    s.steps.len(),
                    if s.steps.len() == 1 { "" } else { "s" }
                );
            }
            if seeds.is_empty() {
                outln!(
                    "  (none in {} or {})",
                    dir.join("common").display(),
                    dir.join(env.as_str()).display()
                );
            }
        }
        return 0;
    }
    if seeds.is_empty() {
        outln!(
            "No seed files for {env} in {} or {}.",
            dir.join("common").display(),
            dir.join(env.as_str()).display()
        );
        return 0;
    }
    let what = format!(
        "run {} seed file{} in {} ({})",
        seeds.len(),
        if seeds.len() == 1 { "" } else { "s" },
        env,
        config.target.redacted()
    );
    let result = (|| {
        confirm(&config, Guarded::Seed, &args.confirm, &what)?;
        let mut session = open(&config)?;
        if args.format == Format::Json {
            let mut done = Vec::new();
            for s in &seeds {
                let ms = seed::run(&mut session.client, s)?;
                done.push(serde_json::json!({"file": s.label(), "ms": ms}));
            }
            outln!(
                "{:#}",
                serde_json::json!({ "environment": env, "seeds": done })
            );
            Ok(())
        } else {
            run_seeds(&mut session.client, &seeds, env)
        }
    })();
    finish(result)
}

/// Runs seed files in order with the guide's progress lines; stops at the first failure.
pub fn run_seeds(
    client: &mut postgres::Client,
    seeds: &[SeedFile],
    env: Environment,
) -> Result<(), Failure> {
    let mut out = std::io::stdout();
    outln!("Seeding {env}");
    for s in seeds {
        let _ = write!(out, "Running {}... ", s.label());
        let _ = out.flush();
        match seed::run(client, s) {
            Ok(ms) => outln!("Done ({ms} ms)"),
            Err(e) => {
                outln!("Failed");
                return Err(e.into());
            }
        }
    }
    outln!(
        "\nSeeding complete! {} file{} run.",
        seeds.len(),
        if seeds.len() == 1 { "" } else { "s" }
    );
    Ok(())
}
