//! The hooks of `.pre-commit-hooks.yaml`, run as pre-commit runs them: the staged files are
//! filtered with each hook's `files` pattern (Python's `re.search`, as pre-commit does), the
//! entry is run from the repository root with the matching files appended unless
//! `pass_filenames: false`, and a non-zero exit fails the commit.

use super::support::{Project, Run, NSELF};
use nself::local::testing::fresh_database;
use std::process::Command;

#[derive(Debug, Default)]
struct Hook {
    id: String,
    entry: String,
    files: String,
    pass_filenames: bool,
}

/// The hooks file, read line by line (it is a flat list of maps of scalars).
fn hooks() -> Vec<Hook> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    let mut hooks: Vec<Hook> = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (starts, body) = match line.strip_prefix("- ") {
            Some(rest) => (true, rest),
            None => (false, line.trim_start()),
        };
        if starts {
            hooks.push(Hook {
                pass_filenames: true,
                ..Hook::default()
            });
        }
        let (k, v) = body.split_once(':').unwrap();
        let h = hooks.last_mut().unwrap();
        let v = v.trim().to_string();
        match k.trim() {
            "id" => h.id = v,
            "entry" => h.entry = v,
            "files" => h.files = v,
            "pass_filenames" => h.pass_filenames = v == "true",
            "language" => assert_eq!(v, "rust", "{line}"),
            _ => {}
        }
    }
    hooks
}

fn matching(pattern: &str, staged: &[&str]) -> Vec<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import re,sys\nfor f in sys.argv[2:]:\n  print(f) if re.search(sys.argv[1], f) else None",
            pattern,
        ])
        .args(staged)
        .output()
        .expect("python3 (pre-commit's regular expressions)");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// Runs one hook over `staged`; `None` when pre-commit would skip it (no file matches).
fn run(p: &Project, hook: &Hook, staged: &[&str], env: &[(&str, &str)]) -> Option<Run> {
    let files = matching(&hook.files, staged);
    if files.is_empty() {
        return None;
    }
    let mut words = hook.entry.split_whitespace();
    assert_eq!(words.next(), Some("nself"), "{hook:?}");
    let mut args: Vec<String> = words.map(String::from).collect();
    if hook.pass_filenames {
        args.extend(files);
    }
    let mut cmd = Command::new(NSELF);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(p.path())
        .args(&args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Some(Run::from(cmd.output().unwrap()))
}

fn hook<'a>(hooks: &'a [Hook], id: &str) -> &'a Hook {
    hooks
        .iter()
        .find(|h| h.id == id)
        .unwrap_or_else(|| panic!("no hook {id}"))
}

#[test]
fn every_hook_runs_as_pre_commit_runs_it() {
    let hooks = hooks();
    assert_eq!(hooks.len(), 4, "{hooks:?}");
    let db = fresh_database();
    let url = db.params.to_url_with_password();
    let env = [("DATABASE_URL", url.as_str())];
    let p = Project::new();
    p.write(
        "nself/schema.dbml",
        "Table users{\nid int [pk]\n  name text\n}\n",
    )
    .write("nself/migrations/.keep", "")
    .write("docs/other.dbml", "Table t {\n  id int\n}\n");
    let staged = ["nself/schema.dbml", "docs/other.dbml", "README.md"];

    // A staged README alone runs nothing.
    for h in &hooks {
        assert!(
            run(&p, h, &["README.md"], &env).is_none(),
            "{} ran for README.md",
            h.id
        );
    }
    run(&p, hook(&hooks, "nself-schema-check"), &staged, &env)
        .unwrap()
        .ok();

    let fmt = hook(&hooks, "nself-schema-fmt");
    run(&p, fmt, &staged, &env).unwrap().fails(
        1,
        &["would reformat nself/schema.dbml", "1 already formatted"],
    );
    run(&p, hook(&hooks, "nself-schema-fmt-write"), &staged, &env)
        .unwrap()
        .ok();
    run(&p, fmt, &staged, &env).unwrap().ok();

    // No migration yet: the hook fails; once `schema import` wrote one, it passes; a new
    // column without a migration fails it again. The database is never changed.
    let migrations = hook(&hooks, "nself-migrations-up-to-date");
    assert!(run(&p, migrations, &["docs/other.dbml"], &env).is_none());
    let r = run(&p, migrations, &staged, &env).unwrap();
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    p.run(&["db", "schema", "import", "nself/schema.dbml"], &env)
        .ok();
    run(&p, migrations, &staged, &env).unwrap().ok();
    p.write(
        "nself/schema.dbml",
        "Table users {\n  id   int [pk]\n  name text\n  age  int\n}\n",
    );
    let r = run(&p, migrations, &staged, &env).unwrap();
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.all().contains("age"), "{}", r.all());
    let mut client = db.client();
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'users'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "the check created the table");

    // An error in the schema fails the check hook.
    p.write(
        "nself/schema.dbml",
        "Table users {\n  id int [pk]\n  owner int [ref: > nobody.id]\n}\n",
    );
    let r = run(&p, hook(&hooks, "nself-schema-check"), &staged, &env).unwrap();
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
}
