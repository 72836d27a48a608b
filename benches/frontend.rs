//! Front-end benchmarks: lexing alone, parsing (lex + grammar), the whole `compile_str`
//! (parse, lower, check), and the formatter (`fmt::format`, its proof included) over the reference bench files and two generated schemas.
//!
//! Inputs: `../shared/corpus/dbml-reference/bench/{18k,25k}.dbml` and the output of
//! `python3 ../shared/tools/gen-dbml.py --tables 1000|5000 --seed 1`, both relative to the crate
//! root. A missing file or script skips that input with a message instead of failing, so
//! `cargo bench` still runs on a machine without the shared folder.
//!
//! Sample sizes are small on purpose (the whole run takes a few minutes); the figures are for
//! spotting regressions, and the whole-process numbers of the issue are measured on the binary.

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use nself::diag::FileId;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Input {
    name: String,
    text: String,
}

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

fn inputs() -> Vec<Input> {
    let mut inputs = Vec::new();
    for name in ["18k", "25k"] {
        let path = shared().join(format!("corpus/dbml-reference/bench/{name}.dbml"));
        match std::fs::read_to_string(&path) {
            Ok(text) => inputs.push(Input {
                name: name.to_string(),
                text,
            }),
            Err(e) => eprintln!("skipping {}: {e}", path.display()),
        }
    }
    let script = shared().join("tools/gen-dbml.py");
    for tables in [1000, 5000] {
        // Generated in memory at start: the files are large and deterministic, so they are
        // never committed.
        let out = std::process::Command::new("python3")
            .arg(&script)
            .args(["--tables", &tables.to_string(), "--seed", "1"])
            .output();
        match out {
            Ok(o) if o.status.success() => match String::from_utf8(o.stdout) {
                Ok(text) => inputs.push(Input {
                    name: format!("gen{tables}"),
                    text,
                }),
                Err(e) => eprintln!("skipping gen{tables}: output is not UTF-8: {e}"),
            },
            Ok(o) => eprintln!(
                "skipping gen{tables}: {} failed: {}",
                script.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => eprintln!("skipping gen{tables}: cannot run python3: {e}"),
        }
    }
    inputs
}

fn frontend(c: &mut Criterion) {
    let inputs = inputs();
    for (stage, run) in [
        ("lex", lex as fn(&str)),
        ("parse", parse as fn(&str)),
        ("compile", compile as fn(&str)),
        ("fmt", fmt as fn(&str)),
    ] {
        let mut g = c.benchmark_group(stage);
        // Each iteration takes milliseconds: flat sampling keeps the iteration count small.
        g.sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
        for input in &inputs {
            g.throughput(Throughput::Bytes(input.text.len() as u64));
            g.bench_function(&input.name, |b| b.iter(|| run(black_box(&input.text))));
        }
        g.finish();
    }
}

fn lex(src: &str) {
    black_box(nself::syntax::lexer::Lexer::new(src, FileId(0)).count());
}

fn parse(src: &str) {
    black_box(nself::syntax::parse(src, FileId(0)));
}

fn compile(src: &str) {
    black_box(nself::ir::compile_str("bench.dbml", src));
}

/// `schema fmt` on one file: parse, print, and the proof (parse again, compare trees and comments).
fn fmt(src: &str) {
    black_box(nself::fmt::format(src).ok());
}

criterion_group!(benches, frontend);
criterion_main!(benches);
