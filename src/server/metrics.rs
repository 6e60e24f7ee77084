//! Prometheus metrics: a few counters and a tiny HTTP endpoint.
//!
//! The counters are plain atomics bumped on the connection path; reading
//! them never blocks a client. The endpoint is a deliberately small
//! HTTP/1.0 responder (one request per connection, a bounded read, a
//! timeout) rather than a web framework: it serves one text page to a
//! scraper, and keeping it tiny keeps it easy to trust.

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long a scraper may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of a request the responder reads.
const MAX_REQUEST: usize = 8 * 1024;

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    connections_total: AtomicU64,
    connections_active: AtomicU64,
    connections_rejected: AtomicU64,
    queries_total: AtomicU64,
    errors_total: AtomicU64,
}

impl Metrics {
    /// A connection was accepted.
    pub fn connection_opened(&self) {
        self.connections_total.fetch_add(1, Ordering::Relaxed);
        self.connections_active.fetch_add(1, Ordering::Relaxed);
    }

    /// An accepted connection ended.
    pub fn connection_closed(&self) {
        self.connections_active.fetch_sub(1, Ordering::Relaxed);
    }

    /// A connection was turned away by the connection limit.
    pub fn connection_rejected(&self) {
        self.connections_rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// A statement ran (simple or extended protocol).
    pub fn query(&self) {
        self.queries_total.fetch_add(1, Ordering::Relaxed);
    }

    /// An error was sent to a client.
    pub fn error(&self) {
        self.errors_total.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: &AtomicU64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        };
        metric(
            "rustydb_connections_total",
            "counter",
            "Client connections accepted.",
            &self.connections_total,
        );
        metric(
            "rustydb_connections_active",
            "gauge",
            "Client connections open now.",
            &self.connections_active,
        );
        metric(
            "rustydb_connections_rejected_total",
            "counter",
            "Connections refused by max_connections.",
            &self.connections_rejected,
        );
        metric(
            "rustydb_queries_total",
            "counter",
            "Statements executed.",
            &self.queries_total,
        );
        metric(
            "rustydb_errors_total",
            "counter",
            "Error responses sent to clients.",
            &self.errors_total,
        );
        out
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` turns true.
pub async fn serve_metrics(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => {
                if let Ok((stream, peer)) = accepted {
                    tokio::spawn(respond(stream, peer, Arc::clone(&metrics)));
                }
            }
        }
    }
}

async fn respond(mut stream: TcpStream, peer: SocketAddr, metrics: Arc<Metrics>) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(REQUEST_TIMEOUT, async {
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < MAX_REQUEST {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(buf.get(..n).unwrap_or_default()),
            }
        }
    })
    .await;
    if read.is_err() {
        return;
    }
    let line = request.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (status, body) = match (parts.next(), parts.next()) {
        (Some("GET"), Some("/metrics")) => ("200 OK", metrics.render()),
        (Some("GET"), Some(_)) => ("404 Not Found", "not found\n".to_owned()),
        _ => ("400 Bad Request", "bad request\n".to_owned()),
    };
    let response = format!(
        "HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if let Err(e) = stream.write_all(response.as_bytes()).await {
        tracing::debug!(%peer, error = %e, "metrics response not sent");
    }
    let _ = stream.shutdown().await;
}
