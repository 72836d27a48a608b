//! Any bytes through the same path as `nself db schema check`: lossy UTF-8 decoding, lex,
//! parse, lower and check (`compile_str`), then both renderings of every diagnostic, so that
//! span arithmetic in codespan-reporting and the JSON line/column code is fuzzed as well.
//! Run with `RUSTC_BOOTSTRAP=1 cargo fuzz run check` (see fuzz/README.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let project = nself::ir::compile_str("fuzz.dbml", &text);
    let mut out = Vec::new();
    // Rendering writes into memory; an Err here would be a codespan span error, which we want
    // to see as a failure rather than ignore.
    if let Err(e) =
        nself::diag::render_human(&project.sources, &project.diagnostics, false, &mut out)
    {
        panic!("render_human failed: {e}");
    }
    let json = nself::diag::to_json(&project.sources, &project.diagnostics, usize::MAX);
    assert!(!json.starts_with("{\"error\""), "to_json failed: {json}");
});
