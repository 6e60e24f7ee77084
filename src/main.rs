//! The `rustydb` binary: parse the command line, run it, report failure.

use std::process::ExitCode;

use clap::Parser;
use rustydb::cli::{Cli, run};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUSTYDB_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rustydb: {e}");
            ExitCode::FAILURE
        }
    }
}
