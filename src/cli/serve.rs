//! `rustydb serve`: configuration, TLS, metrics, signals, and the server.
//!
//! The order matters to an operator: the configuration and TLS files are
//! checked before the database is opened, so a typo fails fast with the
//! file and key named; the server logs what it serves and where; SIGTERM or
//! Ctrl-C starts the clean shutdown `Server::run` describes.
//!
//! [`open_backend`] is the one place the database is chosen: the embedded
//! engine, through the adapter in `crate::engine_backend`.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::{CliError, ServeArgs};
use crate::config::{Config, Overrides};
use crate::engine_backend::EngineBackend;
use crate::server::{Backend, Server, ServerOptions, serve_metrics, tls_acceptor};

/// Opens the database `config` describes: the embedded engine in
/// `[storage] data_dir`, with the buffer pool size and commit mode from
/// `[storage]`, initialised on first start.
pub fn open_backend(config: &Config) -> Result<EngineBackend, CliError> {
    let pool = usize::try_from(config.buffer_pool_bytes()?).unwrap_or(usize::MAX);
    Ok(EngineBackend::open_with_limits(
        &config.storage.data_dir,
        pool,
        config.storage.synchronous_commit,
        config.wasm.limits(),
    )?)
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
