//! SQL text building blocks shared by the checks, the catalog reader, the diff and the emitter.
//!
//! This module owns the only identifier-quoting function ([`quote_ident`], through [`Ident`]
//! and [`QualifiedName`]) and the only literal escaper ([`quote_literal`]), both matching the
//! server's own functions of the same names. Nothing else in the crate may quote a name or a
//! value by hand. It knows nothing of DBML or of the IR and never does I/O.

pub mod expr;
pub mod ident;
pub mod keywords;
pub mod literal;

pub use ident::{
    quote_ident, truncate_identifier, validate_ident, Ident, IdentProblem, QualifiedName,
    MAX_IDENT_BYTES,
};
pub use keywords::{keyword_category, KeywordCategory};
pub use literal::{bool_literal, is_integer_literal, numeric_literal, parse_bool, quote_literal};
