//! The `nself` binary: everything lives in the library; this only hands over to the CLI layer.

// mimalloc: the front end allocates many small, short-lived nodes; glibc's malloc spent close to
// half of `schema check`'s time in allocation and consolidation on a 5,000-table file.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(nself::cli::main());
}
