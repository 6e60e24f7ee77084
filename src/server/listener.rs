//! Accepting connections, driving each one, and shutting down cleanly.
//!
//! Each connection is a task running its own message loop over pgwire's
//! codec and dispatcher (`negotiate_tls`, `process_message`,
//! `process_error`). The loop is ours rather than pgwire's `process_socket`
//! for three reasons: a byte stream that does not decode gets a FATAL 08P01
//! ErrorResponse before the socket closes (pgwire's loop just drops it), the
//! connection-limit and shutdown signals reach the connection between
//! messages, and the session's cancel flag is registered as soon as
//! start-up hands out the BackendKeyData.
//!
//! Shutdown (SIGTERM, Ctrl-C, or the future given to [`Server::run`]) stops
//! accepting at once; idle sessions are told FATAL 57P01 and closed; running
//! statements get [`ServerOptions::shutdown_grace`] to finish and are then
//! cancelled; when the last connection is gone the backend is shut down.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{FutureExt, SinkExt, StreamExt};
use pgwire::api::auth::AuthDriver;
use pgwire::api::auth::sasl::SaslMechanisms;
use pgwire::api::auth::sasl::scram::ScramAuth;
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::server::{negotiate_tls, process_error, process_message};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::auth::{BackendAuthSource, ServerParameters};
use super::backend::{Backend, BackendError, BackendResult};
use super::cancel::{CancelRegistry, RegistryCancelHandler};
use super::connection::{Connection, Shared};
use super::extended::Statement;
use super::metrics::Metrics;

/// How the server listens and when it gives up on clients.
#[derive(Clone)]
pub struct ServerOptions {
    /// Sessions allowed at once; the next start-up is refused with 53300.
    pub max_connections: usize,
    /// Set to accept TLS; without it SSLRequest is answered `N`.
    pub tls: Option<TlsAcceptor>,
    /// How long a client may take to finish start-up and authentication.
    pub startup_timeout: Duration,
    /// How long running statements may continue after shutdown begins.
    pub shutdown_grace: Duration,
    /// Whether loopback clients are trusted while no role has a password.
    pub trust_loopback: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_connections: 100,
            tls: None,
            startup_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
            trust_loopback: true,
        }
    }
}

/// A bound PostgreSQL wire-protocol server.
pub struct Server<B: Backend> {
    listener: TcpListener,
    shared: Arc<Shared<B>>,
    options: ServerOptions,
}

impl<B: Backend> Server<B> {
    /// Binds `addr` for `backend`.
    pub async fn bind(
        addr: &str,
        backend: Arc<B>,
        options: ServerOptions,
    ) -> io::Result<Server<B>> {
        let listener = TcpListener::bind(addr).await?;
        let parameters = Arc::new(ServerParameters::default());
        let scram = ScramAuth::new(Arc::new(BackendAuthSource(Arc::clone(&backend))));
        let shared = Arc::new(Shared {
            backend,
            cancels: Arc::new(CancelRegistry::default()),
            metrics: Arc::new(Metrics::default()),
            driver: AuthDriver::new(parameters),
            scram: SaslMechanisms::new(vec![Arc::new(scram)]),
            trust_loopback: options.trust_loopback,
        });
        Ok(Server {
            listener,
            shared,
            options,
        })
    }

    /// The address the server listens on (useful with port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The server's counters, for the metrics endpoint.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.shared.metrics)
    }

    /// Serves until `shutdown` completes, then shuts down as the module
    /// describes and closes the backend.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> BackendResult<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let active = Arc::new(AtomicUsize::new(0));
        let mut tasks = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => {
                    let (tcp, peer) = match accepted {
                        Ok(pair) => pair,
                        Err(e) => {
                            // Out of file descriptors and the like: back off
                            // instead of spinning on the error.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let open = active.fetch_add(1, Ordering::SeqCst);
                    let over_limit = open >= self.options.max_connections;
                    let conn = Connection::new(Arc::clone(&self.shared), peer, over_limit);
                    let tls = self.options.tls.clone();
                    let timeout = self.options.startup_timeout;
                    let stop = stop_rx.clone();
                    let active = Arc::clone(&active);
                    let metrics = Arc::clone(&self.shared.metrics);
                    tasks.spawn(async move {
                        let _slot = Slot::open(active, metrics);
                        if let Err(e) = serve_connection(conn, tcp, tls, timeout, stop).await {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                    });
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        drop(self.listener);
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(self.options.shutdown_grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::info!("cancelling statements still running after the grace period");
            self.shared.cancels.cancel_all();
            if tokio::time::timeout(self.options.shutdown_grace, async {
                while tasks.join_next().await.is_some() {}
            })
            .await
            .is_err()
            {
                tasks.abort_all();
            }
        }
        let backend = Arc::clone(&self.shared.backend);
        match tokio::task::spawn_blocking(move || backend.shutdown()).await {
            Ok(result) => result,
            Err(_) => Err(BackendError::new("XX000", "closing the backend panicked")),
        }
    }
}

/// A connection's place under `max_connections`, given back when the
/// connection's task ends in any way, a panic included: a slot that leaked
/// would lock every client out once enough of them had.
struct Slot {
    active: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
}

impl Slot {
    fn open(active: Arc<AtomicUsize>, metrics: Arc<Metrics>) -> Slot {
        metrics.connection_opened();
        Slot { active, metrics }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.metrics.connection_closed();
        self.active.fetch_sub(1, Ordering::SeqCst);
    }
}

fn fatal_info(code: &str, message: impl Into<String>) -> ErrorInfo {
    ErrorInfo::new("FATAL".to_owned(), code.to_owned(), message.into())
}

async fn serve_connection<B: Backend>(
    conn: Arc<Connection<B>>,
    tcp: TcpStream,
    tls: Option<TlsAcceptor>,
    startup_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let deadline = tokio::time::sleep(startup_timeout);
    tokio::pin!(deadline);
    let negotiated = tokio::select! {
        () = &mut deadline => return Ok(()),
        negotiated = negotiate_tls::<Statement<B>>(tcp, tls) => negotiated?,
    };
    let Some(mut socket) = negotiated else {
        return Ok(());
    };
    let cancel_handler = Arc::new(RegistryCancelHandler(Arc::clone(&conn.shared.cancels)));
    loop {
        let starting = matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup
                | PgWireConnectionState::AuthenticationInProgress
        );
        let next = tokio::select! {
            () = &mut deadline, if starting => {
                let info = fatal_info("08006", "start-up timed out");
                let _ = socket.send(PgWireBackendMessage::ErrorResponse(info.into())).await;
                return Ok(());
            }
            _ = stop.changed() => {
                let info = fatal_info("57P01", "terminating connection due to administrator command");
                let _ = socket.send(PgWireBackendMessage::ErrorResponse(info.into())).await;
                return Ok(());
            }
            next = AssertUnwindSafe(socket.next()).catch_unwind() => next,
        };
        let message = match next {
            // pgwire's decoders trust a message's length field: one below 4
            // makes them read past the frame, and can panic (found by
            // tests/fuzz). The panic is this client's alone: answer as for
            // any undecodable message. The socket is not read again.
            Err(_) => {
                conn.shared.metrics.error();
                let info = fatal_info("08P01", "invalid frontend message: malformed length");
                let _ = socket
                    .send(PgWireBackendMessage::ErrorResponse(info.into()))
                    .await;
                return Ok(());
            }
            Ok(next) => next,
        };
        let message = match message {
            None => return Ok(()),
            Some(Err(e)) => {
                conn.shared.metrics.error();
                let info = fatal_info("08P01", format!("invalid frontend message: {e}"));
                let _ = socket
                    .send(PgWireBackendMessage::ErrorResponse(info.into()))
                    .await;
                return Ok(());
            }
            Some(Ok(PgWireFrontendMessage::Terminate(_))) => return Ok(()),
            Some(Ok(message)) => message,
        };
        let is_cancel = matches!(message, PgWireFrontendMessage::CancelRequest(_));
        let is_extended = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => message.is_extended_query(),
        };
        let processed = AssertUnwindSafe(process_message(
            message,
            &mut socket,
            Arc::clone(&conn),
            Arc::clone(&conn),
            Arc::clone(&conn),
            Arc::clone(&conn),
            Arc::clone(&cancel_handler),
        ))
        .catch_unwind()
        .await;
        // Statements' panics are caught closer to the engine (connection.rs);
        // what is left is pgwire reading a malformed message body (a short
        // SASL response, found by tests/fuzz).
        let Ok(result) = processed else {
            conn.shared.metrics.error();
            let info = fatal_info("08P01", "invalid frontend message: malformed body");
            let _ = socket
                .send(PgWireBackendMessage::ErrorResponse(info.into()))
                .await;
            return Ok(());
        };
        if conn.has_session() {
            let (pid, key) = socket.pid_and_secret_key();
            conn.register_cancel(pid, &key);
        }
        if let Err(error) = result {
            conn.shared.metrics.error();
            if is_fatal(&error) {
                let info: ErrorInfo = error.into();
                let _ = socket
                    .send(PgWireBackendMessage::ErrorResponse(info.into()))
                    .await;
                return Ok(());
            }
            if conn.has_session() {
                socket.set_transaction_status(conn.transaction_status());
            }
            process_error(&mut socket, error, is_extended).await?;
        }
        if is_cancel {
            return Ok(());
        }
    }
}

/// Errors that end the connection: FATAL ones, and failures of the socket
/// itself, after which nothing more can be said.
fn is_fatal(error: &PgWireError) -> bool {
    error.is_fatal() || matches!(error, PgWireError::IoError(_))
}
