//! The generator's share of `db mock`: rows of the guide's `users` table (uuid, numbered
//! email, hex token, names, enum with a default, JSON, timestamps) made and written as COPY
//! text, without a database. The whole-process figures (COPY into a real server) are in the
//! README; this is the part that is ours alone.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const USERS: &str = "
Enum user_role { admin\n moderator\n user\n guest }
Table users {
  id uuid [pk, default: `gen_random_uuid()`]
  email varchar(255) [not null, unique]
  password_hash text [not null]
  display_name varchar(100)
  avatar_url text
  role user_role [default: 'user']
  email_verified boolean [default: false]
  created_at timestamptz [default: `now()`]
  updated_at timestamptz [default: `now()`]
}
";

fn mock(c: &mut Criterion) {
    let project = nself::ir::compile_str("users.dbml", USERS);
    let db = nself::ir::canonical::canonicalize(&project.schema);
    let request = nself::mock::plan::Request {
        counts: Vec::new(),
        default_rows: 10_000,
    };
    let plan = match nself::mock::plan::plan(&db, &Default::default(), &request) {
        Ok(p) => p,
        Err(e) => panic!("no plan for the users table: {e}"),
    };
    let users = &plan.tables[0];
    let mut group = c.benchmark_group("mock");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("users_10000_rows", |b| {
        let mut out = String::new();
        b.iter(|| {
            out.clear();
            nself::mock::run::render(users, 7, 10_000, &mut out)
        })
    });
    group.finish();
}

criterion_group!(benches, mock);
criterion_main!(benches);
