//! The PostgreSQL wire-protocol server.
//!
//! Clients — psql, pgbench, any driver — talk to RustyDB as they would to
//! PostgreSQL 15. The protocol machinery (framing, the start-up and SSL
//! exchange, SCRAM, the extended-query state of statements and portals) is
//! the `pgwire` crate's; this module supplies what is RustyDB's: how a
//! connection reaches a database session ([`Backend`], [`Session`]), how
//! values look on the wire in text and binary, COPY's text and CSV formats,
//! who is trusted and who must prove a password, cancellation, limits,
//! metrics and shutdown.
//!
//! The server never interprets SQL. A [`Backend`] is anything that hands out
//! sessions; the engine's SQL layer is one, and tests use a small in-memory
//! double. Sessions are synchronous and run on blocking threads, so a slow
//! statement never stalls another connection, and a hostile client — bad
//! bytes, absurd lengths, a half-finished start-up — costs only its own
//! connection: it gets a FATAL 08P01 and is closed.
//!
//! One concern per file: `listener` (accept loop, per-connection message
//! loop, shutdown), `connection` (a client's state and its session calls),
//! `auth` (start-up, trust, SCRAM, ParameterStatus), `tls`, `simple` and
//! `extended` (the two query protocols), `copy`, `encode` (value codecs),
//! `cancel`, `metrics`.

mod auth;
mod backend;
mod cancel;
mod connection;
mod copy;
mod encode;
mod extended;
mod listener;
mod metrics;
mod simple;
mod tls;

pub use auth::{PasswordVerifier, SCRAM_ITERATIONS};
pub use backend::{
    Backend, BackendError, BackendResult, Column, CopyFormat, Notice, Outcome, PreparedStatement,
    Session, TransactionState,
};
pub use copy::{MAX_COPY_IN_BYTES, format_row, parse_rows};
pub use encode::{WireFormat, decode, encode};
pub use listener::{Server, ServerOptions};
pub use metrics::{Metrics, serve_metrics};
pub use tls::{TlsError, acceptor as tls_acceptor};
