//! Integration test modules; add yours here.

mod fuzz_regressions;
