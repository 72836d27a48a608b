//! Integration test modules; add yours here.

mod config_cli;
mod connect_errors;
mod db_cli;
mod local_cluster;
mod support;
