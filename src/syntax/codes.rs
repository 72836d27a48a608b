//! Stable diagnostic codes of the syntax stage (E01xx: lexical, E02xx: grammar).
//! A code, once released, keeps its meaning; new problems get new codes.

pub const UNKNOWN_SYMBOL: &str = "E0101";
pub const UNTERMINATED: &str = "E0102";
pub const INVALID_NUMBER: &str = "E0103";
pub const INVALID_ESCAPE: &str = "E0104";
pub const TOO_DEEP: &str = "E0105";
pub const INVALID_UTF8: &str = "E0106";
pub const UNEXPECTED_TOKEN: &str = "E0201";
pub const UNEXPECTED_EOF: &str = "E0202";
pub const MISSING_BODY: &str = "E0203";
pub const UNCLOSED: &str = "E0204";
pub const LINE_TOO_LONG: &str = "E0107";
pub const FILE_TOO_LARGE: &str = "E0108";
