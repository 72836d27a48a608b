//! The migration runner's overhead: 100 small pending migrations applied by `Runner::up`
//! (lock, tracking table, one transaction and tracking row per migration, one round trip per
//! statement) against the same SQL sent as one batch per migration in a transaction, the way
//! `psql -f` would. Each sample gets a fresh database on the suite's throwaway server.
//! The bar: under 1 s of overhead for the 100.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use nself::local::testing::{fresh_database, TempDir};
use nself::migrate::runner::{Runner, Settings, UpOptions};

fn sql(v: usize) -> String {
    format!("CREATE TABLE p_{v} (id int PRIMARY KEY, note text);\nINSERT INTO p_{v} VALUES ({v}, 'x');\n")
}

fn bench(c: &mut Criterion) {
    let dir = TempDir::new("nself-bench-migrations").unwrap();
    for v in 1..=100 {
        std::fs::write(
            dir.path().join(format!("{v:03}_p.sql")),
            format!("-- UP\n{}-- DOWN\nDROP TABLE p_{v};\n", sql(v)),
        )
        .unwrap();
    }
    let files = nself::migrate::discover(dir.path()).unwrap();
    let mut group = c.benchmark_group("runner");
    group.sample_size(10);
    group.bench_function("up_100_small_migrations", |b| {
        b.iter_batched(
            fresh_database,
            |db| {
                let mut client = db.client();
                let mut runner =
                    Runner::start(&mut client, &Settings::default(), &mut |_| {}).unwrap();
                let done = runner
                    .up(&files, UpOptions::default(), &mut |_| {})
                    .unwrap();
                assert_eq!(done.len(), 100);
                runner.finish().unwrap();
                db
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("same_sql_one_batch_per_migration", |b| {
        b.iter_batched(
            fresh_database,
            |db| {
                let mut client = db.client();
                for v in 1..=100 {
                    client
                        .batch_execute(&format!("BEGIN;\n{}COMMIT;", sql(v)))
                        .unwrap();
                }
                db
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
