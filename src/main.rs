//! The `nself` binary: everything lives in the library; this only hands over to the CLI layer.
fn main() {
    std::process::exit(nself::cli::main());
}
