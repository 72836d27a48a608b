//! nself: a PostgreSQL schema's whole life in one tool.
//!
//! The pipeline is `syntax` (DBML text to a tree and diagnostics) → `ir` (a checked, typed
//! schema graph) → later `catalog`, `diff`, `emit` and `migrate`. The database side is `config`
//! (environment, .env cascade, which database), `local` (the embedded PostgreSQL cluster) and
//! `connect` (the one way to a `postgres::Client`); `migrate` (the runner), `seed` and `policy`
//! (the environment rules) build on them. Only `cli` does terminal I/O, reads
//! environment variables or exits; see ARCHITECTURE.md for the map and its invariants.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
#[macro_use]
pub mod out;
pub mod backup;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod connect;
pub mod dbdiagram;
pub mod diag;
pub mod diff;
pub mod emit;
pub mod fmt;
pub mod fsx;
pub mod ir;
pub mod local;
pub mod lsp;
pub mod migrate;
pub mod mock;
pub mod policy;
pub mod seed;
pub mod sql;
pub mod syntax;
