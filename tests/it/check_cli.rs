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
    // The table that does not resolve, not the whole ref end (issue 11: the culprit token).
    assert_eq!(d["end_column"], 17);
    assert_eq!(d["start"], 33);
    assert_eq!(d["end"], 37);
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

#[test]
fn thousands_of_errors_on_one_long_line_stay_fast_and_small() {
    // 20,000 duplicate tables on a single 380 kB line: every diagnostic quotes that line.
    let p = temp_file(
        "longline.dbml",
        "Table t { id int } ".repeat(20_000).as_bytes(),
    );
    let out = check(&[p.to_str().expect("path"), "--max-diagnostics", "50"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("19949 more not shown"),
        "{}",
        &err[err.len().saturating_sub(300)..]
    );
    assert!(err.contains("19999 error(s)"));
    // Lines that long are not quoted: the output stays small.
    assert!(
        out.stderr.len() < 50_000,
        "{} bytes of output",
        out.stderr.len()
    );
    let out = check(&[
        p.to_str().expect("path"),
        "--format",
        "json",
        "--max-diagnostics",
        "10",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["errors"], 19_999);
    assert_eq!(v["not_shown"], 19_989);
    assert_eq!(v["diagnostics"].as_array().expect("array").len(), 10);
    assert_eq!(v["diagnostics"][0]["line"], 1);
    assert_eq!(v["diagnostics"][0]["column"], 26);
}

#[test]
fn a_line_of_too_many_tokens_is_cut_off_once() {
    let p = temp_file("tokens.dbml", "x ".repeat(200_000).as_bytes());
    let out = check(&[p.to_str().expect("path"), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert_eq!(
        codes.iter().filter(|c| **c == "E0107").count(),
        1,
        "{codes:?}"
    );
}

#[test]
fn a_file_over_the_size_limit_is_refused_with_a_diagnostic() {
    let big = vec![b'a'; nself::ir::MAX_FILE_BYTES + 1];
    let p = temp_file("huge.dbml", &big);
    let out = check(&[p.to_str().expect("path"), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["diagnostics"][0]["code"], "E0108");
    assert!(v["diagnostics"][0]["message"]
        .as_str()
        .expect("message")
        .contains("16 MB"));
}

#[test]
fn messages_quoting_a_huge_name_are_bounded() {
    let name = "n".repeat(1_000_000);
    let p = temp_file("hugename.dbml", format!("Table {name}\n").as_bytes());
    let out = check(&[p.to_str().expect("path"), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let msg = v["diagnostics"][0]["message"].as_str().expect("message");
    assert!(msg.len() <= 400, "{} bytes", msg.len());
}

/// Peak resident memory of a finished child, from `wait4`'s resource usage (kB on Linux).
fn run_with_max_rss(cmd: &mut Command) -> (Output, i64) {
    use std::os::unix::process::ExitStatusExt;
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run nself");
    let pid = child.id() as libc::pid_t;
    // Read the pipes on threads so a full pipe cannot stall the child.
    let mut child = child;
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let t1 = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut so, &mut v).ok();
        v
    });
    let t2 = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut se, &mut v).ok();
        v
    });
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    let out = Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: t1.join().expect("stdout thread"),
        stderr: t2.join().expect("stderr thread"),
    };
    (out, usage.ru_maxrss)
}

/// A million broken lines: every one is counted, only the first diagnostics are kept, and
/// memory stays near the input's size (it was ~1.3 kB a diagnostic: 1.3 GB here).
#[test]
fn a_flood_of_errors_is_counted_not_kept() {
    let lines = 1_000_000;
    let p = temp_file("flood.dbml", "}\n".repeat(lines).as_bytes());
    let (out, max_rss_kb) = run_with_max_rss(
        nself()
            .args(["db", "schema", "check", "--format", "json"])
            .arg(&p),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["errors"], lines, "every error is counted");
    assert_eq!(doc["diagnostics"].as_array().map(Vec::len), Some(1000));
    assert_eq!(doc["not_shown"], lines - 1000);
    assert_eq!(
        doc["diagnostics"][999]["line"], 1000,
        "the first ones are shown, in order"
    );
    assert!(
        max_rss_kb < 300_000,
        "peak memory {max_rss_kb} kB for a 2 MB input"
    );
    // Asking for more than is kept shows what is kept and says so.
    let out = check(&["--max-diagnostics", "50000", p.to_str().expect("path")]);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "{} more not shown (at most the first",
            lines - nself::diag::KEEP
        )),
        "{}",
        &err[err.len().saturating_sub(300)..]
    );
    assert!(err.contains(&format!("{lines} error(s)")));
}
