//! Bad input never panics: every `corpus/fuzz/*.dbml` (inputs the fuzzer once crashed or hung
//! on, minimised) and the named cases (invalid UTF-8, deep nesting, unterminated forms
//! at end of file) go through the same path as `nself db schema check`: lossy decoding,
//! `compile_str`, and both renderings. A case must produce at least one error unless its file
//! name starts with `valid-`.

use std::ffi::OsStr;
use std::path::Path;

/// Compiles and renders like the CLI; returns the number of errors.
fn check(name: &str, bytes: &[u8]) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let project = nself::ir::compile_str(name, &text);
    let mut out = Vec::new();
    nself::diag::render_human(&project.sources, &project.diagnostics, false, &mut out)
        .unwrap_or_else(|e| panic!("{name}: rendering failed: {e}"));
    let json = nself::diag::to_json(&project.sources, &project.diagnostics, usize::MAX);
    serde_json::from_str::<serde_json::Value>(&json)
        .unwrap_or_else(|e| panic!("{name}: JSON output does not parse: {e}"));
    project.counts().0
}

/// Runs `check` on a thread with the main thread's usual 8 MiB stack, so a recursion that
/// would overflow the binary's stack overflows here too (test threads get only 2 MiB).
fn check_like_cli(name: &str, bytes: Vec<u8>) -> usize {
    let name = name.to_string();
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || check(&name, &bytes))
        .unwrap()
        .join()
        .unwrap_or_else(|_| panic!("panicked (see above)"))
}

#[test]
fn fuzz_corpus_cases_give_diagnostics_without_panicking() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/fuzz");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension() != Some(OsStr::new("dbml")) {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let errors = check_like_cli(&name, std::fs::read(&path).unwrap());
        if !name.starts_with("valid-") {
            assert!(errors > 0, "{name}: invalid input but no error reported");
        }
        seen += 1;
    }
    assert!(seen > 0, "no cases found in {}", dir.display());
}

#[test]
fn named_bad_inputs_give_diagnostics() {
    let deep = 10_000;
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        (
            "invalid-utf8".into(),
            b"Table t {\n  id int \xff\xfe\n}\n".to_vec(),
        ),
        ("binary".into(), (0..=255u8).cycle().take(4096).collect()),
        (
            "unterminated-string".into(),
            b"Table t {\n  id int [note: 'abc".to_vec(),
        ),
        ("unterminated-triple".into(), b"Note: '''abc\n".to_vec()),
        ("unterminated-quoted".into(), b"Table \"abc".to_vec()),
        (
            "unterminated-comment".into(),
            b"Table t {\n  id int\n}\n/* abc".to_vec(),
        ),
        (
            "unterminated-backtick".into(),
            b"Table t {\n  id int [default: `now(".to_vec(),
        ),
    ];
    for open in ["[", "(", "{", "[({"] {
        let text = format!("Table t {{\n  id int {}\n}}\n", open.repeat(deep));
        cases.push((format!("deep-{open}"), text.into_bytes()));
    }
    let mixed: String = "([{".chars().cycle().take(deep).collect();
    cases.push(("deep-mixed-unclosed".into(), mixed.into_bytes()));
    let balanced = format!(
        "Table t {{\n  id int [note: {}x{}]\n}}\n",
        "(".repeat(deep),
        ")".repeat(deep)
    );
    cases.push(("deep-balanced".into(), balanced.into_bytes()));
    for (name, bytes) in cases {
        assert!(
            check_like_cli(&name, bytes) > 0,
            "{name}: no error reported"
        );
    }
}
