//! `schema fmt` proofs on every DBML file we have, as ruff and rustfmt gate their formatters:
//! the reference corpus (files, inline snippets, the two big benchmark files), our own check and
//! fuzz corpora, and generated schemas. For each file that parses:
//! - formatting twice gives what formatting once gave;
//! - the checked schema, its canonical form and the PostgreSQL DDL are the same before and
//!   after (the DDL byte for byte);
//! - the diagnostics are the same (severity, code, message; positions may move);
//! - every file the reference accepts formats (nothing is refused as "unstable").

use super::oracle::{generated_dbml, parallel, shared};
use nself::emit::sql::create_script_text;
use nself::ir::canonical::canonicalize;
use std::path::Path;

fn dbml_files(dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        panic!("cannot read {}", dir.display());
    };
    let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    for p in paths {
        if p.extension().is_some_and(|e| e == "dbml") {
            let bytes = std::fs::read(&p).unwrap();
            out.push((
                p.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
}

fn snippets(path: &Path, out: &mut Vec<(String, String)>) {
    let text = std::fs::read_to_string(path).unwrap();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        out.push((
            format!("{}#{}", path.display(), v["name"].as_str().unwrap()),
            v["source"].as_str().unwrap().to_string(),
        ));
    }
}

/// Diagnostics without positions.
fn diagnostics(p: &nself::ir::Project) -> Vec<String> {
    p.diagnostics
        .iter()
        .map(|d| format!("{:?} {} {}", d.severity, d.code, d.message))
        .collect()
}

/// What is wrong with formatting `text`, if anything; `Ok(false)` when it has syntax errors.
fn proof(name: &str, text: &str) -> Result<bool, String> {
    let once = match nself::fmt::format(text) {
        Ok(s) => s,
        Err(nself::fmt::Error::Syntax(_)) => return Ok(false),
        Err(nself::fmt::Error::Unstable(why)) => return Err(format!("{name}: refused: {why}")),
    };
    match nself::fmt::format(&once) {
        Ok(twice) if twice == once => {}
        Ok(twice) => {
            return Err(format!(
                "{name}: not idempotent:\n{}",
                super::oracle::text_diff(&once, &twice, 40)
            ))
        }
        Err(e) => return Err(format!("{name}: formatted text refused: {e:?}")),
    }
    let before = nself::ir::compile_str(name, text);
    let after = nself::ir::compile_str(name, &once);
    if diagnostics(&before) != diagnostics(&after) {
        return Err(format!(
            "{name}: diagnostics changed:\n{:#?}\n{:#?}",
            diagnostics(&before),
            diagnostics(&after)
        ));
    }
    if before.schema != after.schema {
        return Err(format!("{name}: the checked schema changed"));
    }
    let (a, b) = (canonicalize(&before.schema), canonicalize(&after.schema));
    if a != b {
        return Err(format!("{name}: the canonical schema changed"));
    }
    let (sa, sb) = (create_script_text(&a), create_script_text(&b));
    if sa != sb {
        return Err(format!(
            "{name}: the DDL changed:\n{}",
            super::oracle::text_diff(&sa, &sb, 40)
        ));
    }
    Ok(true)
}

#[test]
fn formatting_keeps_meaning_and_is_idempotent_on_every_corpus() {
    let corpus = shared().join("corpus/dbml-reference");
    let mut valid = Vec::new();
    dbml_files(&corpus.join("valid"), &mut valid);
    dbml_files(&corpus.join("bench"), &mut valid);
    snippets(&corpus.join("valid/inline-snippets.jsonl"), &mut valid);
    let mut others = Vec::new();
    dbml_files(&corpus.join("invalid"), &mut others);
    snippets(&corpus.join("invalid/inline-snippets.jsonl"), &mut others);
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    dbml_files(&ours.join("check/ok"), &mut valid);
    dbml_files(&ours.join("check/err"), &mut others);
    dbml_files(&ours.join("fuzz"), &mut others);
    for seed in 1..=3 {
        valid.push((format!("gen-dbml --seed {seed}"), generated_dbml(400, seed)));
    }
    assert!(valid.len() > 500, "corpus not found: {} files", valid.len());

    let results = parallel(&valid, |(name, text)| proof(name, text));
    let mut failures: Vec<String> = Vec::new();
    for ((name, _), r) in valid.iter().zip(&results) {
        match r {
            Ok(true) => {}
            Ok(false) => failures.push(format!(
                "{name}: the reference accepts it, fmt says syntax error"
            )),
            Err(e) => failures.push(e.clone()),
        }
    }
    let results = parallel(&others, |(name, text)| proof(name, text));
    let formatted = results.iter().filter(|r| matches!(r, Ok(true))).count();
    failures.extend(results.into_iter().filter_map(Result::err));
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // The invalid files include semantic errors, which format like any other file.
    assert!(
        formatted > 50,
        "only {formatted} invalid-corpus files formatted"
    );
}

#[test]
fn formatting_is_one_layout_whatever_the_spacing() {
    // The same schema written three ways formats to one text.
    let tidy = "Table users {\n  id   int  [pk]\n  name text\n}\n";
    let messy = "Table users{\n        id int [ pk ]\n name    text\n\n\n}";
    let tabs = "Table\tusers\n{\n\tid\tint\t[pk]\n\tname\ttext\n}\n\n";
    let a = nself::fmt::format(tidy).unwrap();
    assert_eq!(a, "Table users {\n  id   int [pk]\n  name text\n}\n");
    assert_eq!(nself::fmt::format(messy).unwrap(), a);
    assert_eq!(nself::fmt::format(tabs).unwrap(), a);
}

mod cli {
    use super::super::support::Project;

    const MESSY: &str = "// the people\nTable users{\nid int [pk]\n  full_name   text // shown\n}\nRef: posts.user_id>users.id\nTable posts {\n id int [pk]\n user_id int\n}\n";
    const TIDY: &str = "// the people\nTable users {\n  id        int [pk]\n  full_name text // shown\n}\n\nRef: posts.user_id > users.id\n\nTable posts {\n  id      int [pk]\n  user_id int\n}\n";

    fn read(p: &Project, name: &str) -> String {
        std::fs::read_to_string(p.path().join(name)).unwrap()
    }

    #[test]
    fn formats_in_place_and_check_and_diff_change_nothing() {
        let p = Project::new();
        p.write("a.dbml", MESSY);
        let r = p.run(&["db", "schema", "fmt", "a.dbml", "--check"], &[]);
        r.fails(
            1,
            &["would reformat a.dbml", "1 file(s) would be reformatted"],
        );
        assert_eq!(read(&p, "a.dbml"), MESSY, "--check wrote the file");
        let r = p.run(&["db", "schema", "fmt", "a.dbml", "--diff"], &[]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(
            r.stdout
                .starts_with("--- a.dbml\t(original)\n+++ a.dbml\t(formatted)\n@@"),
            "{}",
            r.stdout
        );
        assert!(
            r.stdout.contains("\n-Ref: posts.user_id>users.id\n"),
            "{}",
            r.stdout
        );
        assert!(
            r.stdout.contains("\n+Ref: posts.user_id > users.id\n"),
            "{}",
            r.stdout
        );
        assert_eq!(read(&p, "a.dbml"), MESSY, "--diff wrote the file");

        p.run(&["db", "schema", "fmt", "a.dbml"], &[]).ok();
        assert_eq!(read(&p, "a.dbml"), TIDY);
        let r = p.run(&["db", "schema", "fmt", "a.dbml", "--check"], &[]);
        r.ok();
        assert!(
            r.stderr
                .contains("0 file(s) would be reformatted, 1 already formatted"),
            "{}",
            r.stderr
        );
    }

    #[test]
    fn standard_input_goes_to_standard_output() {
        let p = Project::new();
        let r = p.run_stdin(&["db", "schema", "fmt", "-"], &[], MESSY.as_bytes());
        r.ok();
        assert_eq!(r.stdout, TIDY);
        let r = p.run_stdin(
            &["db", "schema", "fmt", "-", "--check"],
            &[],
            MESSY.as_bytes(),
        );
        r.fails(1, &["would reformat <stdin>"]);
        assert_eq!(r.stdout, "");
        let r = p.run_stdin(
            &["db", "schema", "fmt", "-", "--check"],
            &[],
            TIDY.as_bytes(),
        );
        r.ok();
    }

    #[test]
    fn a_file_with_syntax_errors_is_reported_and_left_alone() {
        let p = Project::new();
        let broken = "Table users {\n  id int [pk\n}\n\nTable  t {\n}\n";
        p.write("bad.dbml", broken).write("good.dbml", MESSY);
        let r = p.run(&["db", "schema", "fmt", "bad.dbml", "good.dbml"], &[]);
        r.fails(
            1,
            &[
                "bad.dbml:",
                "not formatted",
                "syntax error",
                "1 file(s) reformatted, 1 could not be formatted",
            ],
        );
        assert!(
            r.stderr.contains("bad.dbml:2:"),
            "no location: {}",
            r.stderr
        );
        assert_eq!(read(&p, "bad.dbml"), broken);
        assert_eq!(
            read(&p, "good.dbml"),
            TIDY,
            "the good file is still formatted"
        );
    }

    #[test]
    fn default_files_are_the_project_schema_and_its_imports_and_links_stay_links() {
        let p = Project::new();
        p.write(
            "nself/schema.dbml",
            "use { table posts } from './posts'\nTable users{\nid int}\n",
        );
        p.write("nself/shared/posts.dbml", "Table posts{\nid int}\n");
        std::os::unix::fs::symlink("shared/posts.dbml", p.path().join("nself/posts.dbml")).unwrap();
        let r = p.run(&["db", "schema", "fmt"], &[]);
        r.ok();
        assert!(r.stderr.contains("2 file(s) reformatted"), "{}", r.stderr);
        assert_eq!(
            read(&p, "nself/schema.dbml"),
            "use { table posts } from './posts'\n\nTable users {\n  id int\n}\n"
        );
        assert_eq!(
            read(&p, "nself/shared/posts.dbml"),
            "Table posts {\n  id int\n}\n"
        );
        assert!(
            nself::fsx::is_symlink(&p.path().join("nself/posts.dbml")),
            "the link was replaced"
        );
        let leftovers: Vec<_> = std::fs::read_dir(p.path().join("nself/shared"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "temporary files left: {leftovers:?}");
    }

    #[test]
    fn a_fifo_or_folder_is_refused_without_hanging() {
        let p = Project::new();
        let fifo = p.path().join("pipe.dbml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        std::fs::create_dir_all(p.path().join("dir.dbml")).unwrap();
        let r = p.run(&["db", "schema", "fmt", "pipe.dbml", "dir.dbml"], &[]);
        r.fails(
            1,
            &[
                "cannot read pipe.dbml: is not a regular file",
                "cannot read dir.dbml",
            ],
        );
    }
}
