//! The pure half of `schema export` and of the diff's preparation on 5,000 generated tables:
//! `canonicalize` (DBML as written to the canonical form) and `emit::dbml::to_dbml` (canonical
//! form to DBML text). The catalog half needs a server; `tests/it/catalog.rs` measures it
//! (`introspects_5000_tables_in_under_a_second`, run with `--ignored`).

use criterion::{criterion_group, criterion_main, Criterion};
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

fn export(c: &mut Criterion) {
    let text = generated(5000);
    let project = nself::ir::compile_str("gen5000.dbml", &text);
    let canonical = nself::ir::canonical::canonicalize(&project.schema);
    let mut group = c.benchmark_group("export_5000_tables");
    group.sample_size(10);
    group.bench_function("canonicalize", |b| {
        b.iter(|| nself::ir::canonical::canonicalize(&project.schema))
    });
    group.bench_function("to_dbml", |b| {
        b.iter(|| nself::emit::dbml::to_dbml(&canonical))
    });
    group.finish();
}

criterion_group!(benches, export);
criterion_main!(benches);
