//! Runs lalrpop over `grammar/` into OUT_DIR; `src/syntax/parser.rs` is the only module that
//! includes the generated parser.
fn main() {
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .set_in_dir("grammar")
        .emit_rerun_directives(true)
        .process()
        .unwrap_or_else(|e| panic!("lalrpop failed on grammar/: {e}"));
}
