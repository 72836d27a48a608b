//! DBML text to a syntax tree plus diagnostics. Parsing never fails: it always returns a tree
//! (with error lines where it had to recover) and the list of problems. This module knows
//! nothing of PostgreSQL and nothing of what a `Table` is; see `ir::lower` for meaning.

pub mod ast;
pub mod codes;
pub(crate) mod cook;
pub mod lexer;
pub mod parser;

pub use cook::{cook_string, unquote_name};
pub use parser::parse;
