//! The `rustydb` command line.
//!
//! Scripts depend on these forms exactly (DESIGN.md §8), so the argument
//! structs here are the contract: `serve`, `shell`, `deploy`, `backup` and
//! `restore`, each in its own file. Every command returns a [`CliError`];
//! `main` prints it after `rustydb:` and exits 1 (clap exits 2 on usage
//! errors before any of this runs).

mod backup;
mod deploy;
mod serve;
mod shell;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use backup::{backup, restore};
pub use deploy::deploy;
pub use serve::{open_backend, serve};
pub use shell::{render_outcome, run_shell};

use crate::config::{ConfigError, DEFAULT_DATA_DIR};
use crate::server::{BackendError, TlsError};

/// `rustydb`: a relational database that hosts WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "rustydb", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the PostgreSQL wire protocol.
    Serve(ServeArgs),
    /// An embedded SQL shell (no server).
    Shell(ShellArgs),
    /// Deploy a WebAssembly module to a running server.
    Deploy(DeployArgs),
    /// Copy a stopped server's data directory.
    Backup(BackupArgs),
    /// Restore a backup into a new data directory.
    Restore(RestoreArgs),
}

/// `rustydb serve`
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The data directory [default: ./rustydb-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// HOST:PORT to listen on [default: 127.0.0.1:5433].
    #[arg(long)]
    pub listen: Option<String>,
    /// A TOML configuration file; flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// HOST:PORT for Prometheus metrics on /metrics.
    #[arg(long)]
    pub metrics: Option<String>,
}

/// `rustydb shell`
#[derive(Debug, clap::Args)]
pub struct ShellArgs {
    /// The data directory.
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Run these statements and exit (non-zero on error).
    #[arg(short = 'c')]
    pub command: Option<String>,
    /// The prompt's history file [default: $RUSTYDB_HISTORY, else
    /// ~/.rustydb_history].
    #[arg(long)]
    pub history: Option<PathBuf>,
}

/// `rustydb deploy`
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The compiled component.
    pub file: PathBuf,
    /// The module name [default: the file name without `.wasm`].
    #[arg(long)]
    pub name: Option<String>,
    /// Replace a module of the same name.
    #[arg(long)]
    pub replace: bool,
    /// Server host.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Server port.
    #[arg(long, default_value_t = 5433)]
    pub port: u16,
    /// Role to connect as (password from PGPASSWORD).
    #[arg(long, default_value = "rustydb")]
    pub user: String,
    /// Database to deploy into.
    #[arg(long, default_value = "rustydb")]
    pub dbname: String,
    /// Deploy into this data directory directly (embedded, no server; the
    /// server must not be running on it) instead of over the wire.
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
}

/// `rustydb backup`
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The data directory of a stopped server.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Where to write the backup (must not exist).
    pub out: PathBuf,
}

/// `rustydb restore`
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A directory made by `rustydb backup`.
    pub backup: PathBuf,
    /// The data directory to create (must not exist or be empty).
    #[arg(long)]
    pub data_dir: PathBuf,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The database reported an error.
    #[error("{}: {}", .0.code, .0.message)]
    Backend(#[from] BackendError),
    /// A file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// Talking to a server failed.
    #[error("{0}")]
    Client(String),
    /// Statements in `shell -c` failed.
    #[error("{0}")]
    Statement(String),
}

impl CliError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let what = what.into();
        move |source| CliError::Io { what, source }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Shell(args) => {
            let config =
                crate::config::Config::default().override_with(crate::config::Overrides {
                    data_dir: Some(args.data_dir.clone()),
                    ..Default::default()
                })?;
            let backend = open_backend(&config)?;
            let history = args.history.or_else(shell::default_history_file);
            run_shell(&backend, args.command.as_deref(), history.as_deref())
        }
        Command::Deploy(args) => deploy(&args),
        Command::Backup(args) => backup(&args.data_dir, &args.out),
        Command::Restore(args) => restore(&args.backup, &args.data_dir),
    }
}
