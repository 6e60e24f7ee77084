//! RustyDB's native core.
//!
//! The engine is built bottom-up, and each layer only calls the ones below it:
//!
//! * [`storage`] — a durable, ordered key-value store: a page file behind a
//!   bounded buffer pool, B+trees, a write-ahead log with group commit,
//!   checkpoints through a double-write file, crash recovery, optional
//!   encryption at rest.
//! * [`types`] — the SQL data types and values, shared with the Wasm boundary,
//!   and the order-preserving encoding that turns values into B+tree keys.
//! * [`mvcc`] — transactions: snapshots, row locks with deadlock
//!   detection, savepoints and version reclamation, as a transactional
//!   ordered key-value store over one tree of the store.
//! * [`error`] — the one error type of the engine, each variant with its
//!   PostgreSQL SQLSTATE.
//! * [`extension`] — the traits user code plugs in through: the routine
//!   invoker the Wasm host implements, and the SQL it calls back.
//!
//! The catalog and SQL execution are built on these next; the
//! engine knows nothing of WebAssembly or triggers, which plug in through
//! traits it owns. `ARCHITECTURE.md` at the repository root is the tour.

pub mod catalog;
pub mod error;
pub mod extension;
pub mod mvcc;
pub mod sql;
pub mod storage;
pub mod types;

pub use error::{Error, Result, SqlState};
pub use sql::{Database, DatabaseOptions, Session, StatementResult};
