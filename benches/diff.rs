//! The diff engine on 5,000 generated tables (`gen-dbml.py --tables 5000 --seed 7 --pg-safe`):
//! `diff` of the schema against itself (the no-change case every import starts with), `diff`
//! against a copy with 50 differences (column types widened, columns added and dropped,
//! indexes dropped, a table dropped), and `migration::build` for the same pair (UP and DOWN
//! planned and rendered). Whole-process figures (`schema import --from`, `--dry-run` against
//! a database) are measured on the binary; see ARCHITECTURE.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use nself::ir::canonical::{Column, Database};
use std::process::Command;

fn generated(tables: usize) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/tools/gen-dbml.py");
    match Command::new("python3")
        .args([
            script,
            "--tables",
            &tables.to_string(),
            "--seed",
            "7",
            "--pg-safe",
        ])
        .output()
    {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        _ => panic!("cannot run {script}"),
    }
}

/// 50 differences spread over the schema.
fn mutate(db: &Database) -> Database {
    let mut out = db.clone();
    let n = out.tables.len();
    for k in 0..10 {
        let t = &mut out.tables[(k * 97) % n];
        if let Some(c) = t
            .columns
            .iter_mut()
            .find(|c| c.ty.name == "character varying")
        {
            if let Some(m) = c.ty.modifiers.first_mut() {
                *m += 10;
            }
        }
        let t = &mut out.tables[(k * 89 + 1) % n];
        t.columns.push(Column {
            name: format!("added_{k}"),
            ty: nself::ir::pgtypes::parse("text").map(|b| b.ty).unwrap(),
            nullable: true,
            default: None,
            generated: None,
            comment: None,
        });
        let t = &mut out.tables[(k * 83 + 2) % n];
        if t.columns.len() > 3 {
            let dropped = t.columns.pop().map(|c| c.name).unwrap_or_default();
            t.indexes.retain(|i| {
                !i.keys.iter().any(
                    |k| matches!(k, nself::ir::canonical::IndexKey::Column(c) if *c == dropped),
                )
            });
            t.uniques.retain(|u| !u.columns.contains(&dropped));
            t.checks.clear();
            t.foreign_keys.retain(|f| !f.columns.contains(&dropped));
            if t.primary_key
                .as_ref()
                .is_some_and(|p| p.columns.contains(&dropped))
            {
                t.primary_key = None;
            }
        }
        let t = &mut out.tables[(k * 79 + 3) % n];
        t.indexes.pop();
        t.comment = Some(format!("changed {k}"));
    }
    out
}

fn diff(c: &mut Criterion) {
    let text = generated(5000);
    let project = nself::ir::compile_str("gen5000.dbml", &text);
    let a = nself::ir::canonical::canonicalize(&project.schema);
    let b = mutate(&a);
    let n = nself::diff::diff(&b, &a).changes.len();
    eprintln!("{n} changes between the two schemas");
    let mut group = c.benchmark_group("diff_5000_tables");
    group.sample_size(20);
    group.bench_function("diff_unchanged", |bn| bn.iter(|| nself::diff::diff(&a, &a)));
    group.bench_function("diff_50_changes", |bn| {
        bn.iter(|| nself::diff::diff(&b, &a))
    });
    group.bench_function("build_migration_up_and_down", |bn| {
        bn.iter(|| nself::diff::migration::build(&b, &a, &[]))
    });
    group.finish();
}

criterion_group!(benches, diff);
criterion_main!(benches);
