//! `nself db schema check` through the real binary: exit codes, output formats, colour rules.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn nself() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_nself"));
    c.env_remove("NO_COLOR");
    c
}

fn temp_file(name: &str, text: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nself-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

fn check(args: &[&str]) -> Output {
    nself()
        .args(["db", "schema", "check"])
        .args(args)
        .output()
        .expect("run nself")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_example_schema_is_clean() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("nself/schema.dbml");
    let out = check(&[p.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(": ok"));
    assert!(
        out.stderr.is_empty(),
        "no warnings expected: {}",
        text(&out.stderr)
    );
}

#[test]
fn errors_exit_1_rendered_like_rustc_without_colour_off_a_terminal() {
    let p = temp_file("bad.dbml", b"Table t {\n  id int [pk, pk]\n}\n");
    let out = check(&[p.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("error[E0309]: setting `pk` is given twice"),
        "{err}"
    );
    assert!(err.contains("bad.dbml:2:15"), "{err}");
    assert!(err.contains("first given here"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "no ANSI escapes when not on a terminal: {err:?}"
    );
}

#[test]
fn warnings_alone_exit_0() {
    let p = temp_file("warn.dbml", b"Table t {\n  created datetime\n}\n");
    let out = check(&[p.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("warning[W0601]: PostgreSQL has no type `datetime`"));
    assert!(text(&out.stderr).contains("the PostgreSQL type is `timestamp`"));
}

#[test]
fn json_has_every_field_editors_need() {
    let p = temp_file("j.dbml", b"Table t {\n  id int\n}\nRef: t.id > nope.id\n");
    let out = check(&[p.to_str().expect("path"), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(v["errors"], 1);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "E0402");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["line"], 4);
    assert_eq!(d["column"], 13);
    assert_eq!(d["end_line"], 4);
    assert_eq!(d["end_column"], 20);
    assert_eq!(d["start"], 33);
    assert_eq!(d["end"], 40);
    assert!(d["file"].as_str().expect("file").ends_with("j.dbml"));
    assert!(!d["labels"].as_array().expect("labels").is_empty());
    assert!(d["message"].as_str().expect("message").contains("nope"));
}

#[test]
fn unreadable_input_is_a_usage_error() {
    let out = check(&["/definitely/not/here.dbml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot read /definitely/not/here.dbml"),
        "{}",
        text(&out.stderr)
    );
    let dir = std::env::temp_dir();
    let out = check(&[dir.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(2), "missing argument");
}

#[test]
fn binary_and_invalid_utf8_input_gives_diagnostics_not_a_crash() {
    let mut bytes = b"Table t {\n  id int\n}\n".to_vec();
    bytes.extend([0xff, 0xfe, 0x00, 0x80, b'\n']);
    let p = temp_file("bin.dbml", &bytes);
    let out = check(&[p.to_str().expect("path"), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"E0106"),
        "invalid UTF-8 is reported: {codes:?}"
    );
    assert_eq!(v["diagnostics"][0]["line"], 4);
}

#[test]
fn imports_are_followed_and_a_missing_one_is_reported_at_the_use() {
    let dir = std::env::temp_dir().join(format!("nself-cli-{}-imports", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("users.dbml"), "Table users {\n  id int [pk]\n}\n").expect("write");
    std::fs::write(
        dir.join("main.dbml"),
        "use { table users } from './users'\nuse * from './gone.dbml'\nTable posts {\n  user_id int [ref: > users.id]\n}\n",
    )
    .expect("write");
    let out = check(&[
        dir.join("main.dbml").to_str().expect("path"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let diags = v["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(diags.len(), 1, "{v:#}");
    assert_eq!(diags[0]["code"], "E0406");
    assert_eq!(diags[0]["line"], 2);
}
