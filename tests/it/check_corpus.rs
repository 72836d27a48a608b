//! Data-driven tests of `schema check`: every `corpus/check/ok/*.dbml` compiles without errors,
//! every `corpus/check/err/*.dbml` with at least one, and each file's rendered diagnostics
//! equal the `.out` file beside it. `NSELF_BLESS=1 cargo test` rewrites the `.out` files; review
//! that diff like code.

use std::path::{Path, PathBuf};

fn cases(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus/check")
        .join(kind);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "dbml"))
        .collect();
    v.sort();
    v
}

fn render(path: &Path) -> (String, bool) {
    let name = path
        .file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned();
    let text = std::fs::read(path).expect("read case");
    let project = nself::ir::compile_str(&name, &String::from_utf8_lossy(&text));
    let mut out = Vec::new();
    nself::diag::render_human(&project.sources, &project.diagnostics, false, &mut out)
        .expect("render");
    (
        String::from_utf8(out).expect("utf-8 output"),
        project.has_errors(),
    )
}

fn run(kind: &str, expect_errors: bool) {
    let bless = std::env::var_os("NSELF_BLESS").is_some();
    let files = cases(kind);
    assert!(!files.is_empty(), "no cases in corpus/check/{kind}");
    let mut failures = Vec::new();
    for f in files {
        let (rendered, has_errors) = render(&f);
        if has_errors != expect_errors {
            failures.push(format!(
                "{}: expected errors: {expect_errors}, got:\n{rendered}",
                f.display()
            ));
            continue;
        }
        let expected_path = f.with_extension("out");
        if bless {
            std::fs::write(&expected_path, &rendered).expect("write .out");
            continue;
        }
        let expected = match std::fs::read_to_string(&expected_path) {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!(
                    "{}: cannot read {} ({e}); NSELF_BLESS=1 writes it",
                    f.display(),
                    expected_path.display()
                ));
                continue;
            }
        };
        if expected != rendered {
            failures.push(format!(
                "{}: output differs (NSELF_BLESS=1 rewrites it)\n{}",
                f.display(),
                similar::TextDiff::from_lines(&expected, &rendered)
                    .unified_diff()
                    .header("expected", "actual")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ok_cases_have_no_errors_and_match_their_output() {
    run("ok", false);
}

#[test]
fn err_cases_have_errors_and_match_their_output() {
    run("err", true);
}
