mod check_cli;
mod check_corpus;
mod conformance;
