//! Integration test modules; add yours here.

mod backup;
mod backup_env;
mod backup_safety;
mod catalog;
mod check_cli;
mod check_corpus;
mod cli_conventions;
mod closed_pipe;
mod config_cli;
mod conformance;
mod connect_errors;
mod db_cli;
mod diagnostics;
mod diff;
mod diff_cli;
mod drift;
mod environments;
mod fuzz_regressions;
mod local_cluster;
mod migrate;
mod migrate_safety;
mod oracle;
mod parse_split;
mod policy_cli;
mod readonly;
mod support;
