//! Parsing a file in two halves on two threads must give exactly what parsing it whole gives:
//! the same tree and the same diagnostics, for every corpus file and several cut points.

use nself::diag::FileId;
use nself::syntax::parser::{parse_split, parse_whole, split_point};
use std::path::Path;

fn files() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![
        root.join("../shared/corpus/dbml-reference/valid"),
        root.join("../shared/corpus/dbml-reference/invalid"),
        root.join("../shared/corpus/dbml-reference/bench"),
        root.join("corpus/check/ok"),
        root.join("corpus/check/err"),
    ];
    if root.join("corpus/fuzz").is_dir() {
        dirs.push(root.join("corpus/fuzz"));
    }
    let mut v = Vec::new();
    for d in dirs {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "dbml") {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

#[test]
fn split_parse_equals_whole_parse() {
    let mut compared = 0;
    for f in files() {
        let bytes = std::fs::read(&f).expect("read");
        let src = String::from_utf8_lossy(&bytes);
        let whole = parse_whole(&src, FileId(0));
        for frac in [1, 2, 3, 5, 7] {
            let Some(at) = split_point(&src, src.len() * frac / 8) else {
                continue;
            };
            let Some(split) = parse_split(&src, FileId(0), at) else {
                continue;
            };
            assert_eq!(
                split.0,
                whole.0,
                "{} cut at {at}: trees differ",
                f.display()
            );
            assert_eq!(
                split.1,
                whole.1,
                "{} cut at {at}: diagnostics differ",
                f.display()
            );
            compared += 1;
        }
    }
    assert!(compared > 300, "only {compared} cuts compared");
}

#[test]
fn a_cut_inside_a_string_or_block_is_refused() {
    let src = "Table a {\n  id int [note: '''\nTable b {\n''']\n}\nTable c {\n  id int\n}\n";
    // Offset of the `Table b` inside the string: a bad cut the real lexer must reject.
    let inside = src.find("Table b").expect("marker");
    assert!(parse_split(src, FileId(0), inside).is_none());
    let good = src.find("Table c").expect("marker");
    let split = parse_split(src, FileId(0), good).expect("a clean cut");
    assert_eq!(split.0, parse_whole(src, FileId(0)).0);
}
