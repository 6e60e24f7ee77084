//! `rustydb serve`: configuration, TLS, metrics, signals, and the server.
//!
//! The order matters to an operator: the configuration and TLS files are
//! checked before the database is opened, so a typo fails fast with the
//! file and key named; the server logs what it serves and where; SIGTERM or
//! Ctrl-C starts the clean shutdown `Server::run` describes.
//!
//! [`open_backend`] is the one place the database is chosen. Until the
//! adapter from `rustydb_engine::sql` to the server's `Backend` trait lands,
//! the only backend this build has is [`NoEngine`], which cannot be
//! constructed, so `serve` and `shell` say so and exit instead of serving
//! something that is not the database.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rustydb_engine::types::{DataType, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::{CliError, ServeArgs};
use crate::config::{Config, Overrides};
use crate::server::{
    Backend, BackendError, BackendResult, Column, Notice, Outcome, PasswordVerifier,
    PreparedStatement, Server, ServerOptions, Session, TransactionState, serve_metrics,
    tls_acceptor,
};

/// The backend of a build without a SQL engine: an empty type, so no value
/// of it — and no session pretending to be a database — can exist.
#[derive(Debug)]
pub enum NoEngine {}

impl PreparedStatement for NoEngine {
    fn parameter_types(&self) -> Vec<DataType> {
        match *self {}
    }
    fn columns(&self) -> Vec<Column> {
        match *self {}
    }
}

impl Session for NoEngine {
    type Prepared = NoEngine;
    fn simple_query(&mut self, _sql: &str) -> Vec<BackendResult<Outcome>> {
        match *self {}
    }
    fn prepare(&mut self, _sql: &str, _types: &[Option<DataType>]) -> BackendResult<NoEngine> {
        match *self {}
    }
    fn execute(&mut self, _statement: &NoEngine, _params: &[Value]) -> BackendResult<Outcome> {
        match *self {}
    }
    fn copy_in(&mut self, _rows: Vec<Vec<Value>>) -> BackendResult<u64> {
        match *self {}
    }
    fn copy_abort(&mut self, _error: &BackendError) {
        match *self {}
    }
    fn transaction_state(&self) -> TransactionState {
        match *self {}
    }
    fn cancel_flag(&self) -> Arc<AtomicBool> {
        match *self {}
    }
    fn take_notices(&mut self) -> Vec<Notice> {
        match *self {}
    }
}

impl Backend for NoEngine {
    type Session = NoEngine;
    fn connect(&self, _user: &str, _database: &str) -> BackendResult<NoEngine> {
        match *self {}
    }
    fn passwords_enabled(&self) -> bool {
        match *self {}
    }
    fn password_verifier(&self, _user: &str) -> Option<PasswordVerifier> {
        match *self {}
    }
    fn description(&self) -> String {
        match *self {}
    }
    fn shutdown(&self) -> BackendResult<()> {
        match *self {}
    }
}

/// Opens the database `config` describes. The seam for the engine adapter:
/// it will open `rustydb_engine::sql::Database` in `config.storage.data_dir`
/// with the buffer pool size and commit mode from `[storage]`.
pub fn open_backend(config: &Config) -> Result<NoEngine, CliError> {
    config.buffer_pool_bytes()?;
    Err(CliError::NoEngine)
}

/// `rustydb serve`.
pub fn serve(args: ServeArgs) -> Result<(), CliError> {
    let file = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let config = file.override_with(Overrides {
        data_dir: args.data_dir,
        listen: args.listen,
        metrics: args.metrics,
    })?;
    let tls = match (&config.tls.cert, &config.tls.key) {
        (Some(cert), Some(key)) => Some(tls_acceptor(cert, key)?),
        _ => None,
    };
    let backend = Arc::new(open_backend(&config)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("starting the runtime"))?;
    runtime.block_on(async move {
        let options = ServerOptions {
            max_connections: config.server.max_connections,
            tls,
            startup_timeout: Duration::from_secs(config.server.startup_timeout_secs),
            shutdown_grace: Duration::from_secs(config.server.shutdown_grace_secs),
            trust_loopback: config.auth.trust_loopback,
        };
        let description = backend.description();
        let server = Server::bind(&config.server.listen, backend, options)
            .await
            .map_err(CliError::io(format!(
                "listening on {}",
                config.server.listen
            )))?;
        let addr = server
            .local_addr()
            .map_err(CliError::io("reading the listen address"))?;
        tracing::info!(%addr, backend = %description, "rustydb serving");
        eprintln!("rustydb: serving {description} on {addr}");
        let (stop_tx, stop_rx) = watch::channel(false);
        if let Some(metrics_addr) = &config.server.metrics {
            let listener = TcpListener::bind(metrics_addr)
                .await
                .map_err(CliError::io(format!("listening on {metrics_addr}")))?;
            eprintln!("rustydb: metrics on http://{metrics_addr}/metrics");
            tokio::spawn(serve_metrics(listener, server.metrics(), stop_rx));
        }
        server.run(shutdown_signal()).await?;
        let _ = stop_tx.send(true);
        eprintln!("rustydb: shut down cleanly");
        Ok(())
    })
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
