//! nself: a PostgreSQL schema's whole life in one tool.
//!
//! The pipeline is `syntax` (DBML text to a tree and diagnostics) → `ir` (a checked, typed
//! schema graph) → later `catalog`, `diff`, `emit` and `migrate`. Only `cli` does terminal I/O,
//! reads environment variables or exits; see ARCHITECTURE.md for the map and its invariants.
pub mod cli;
pub mod config;
pub mod connect;
pub mod diag;
pub mod ir;
pub mod local;
pub mod syntax;
