//! RustyDB: a relational database that hosts WebAssembly components.
//!
//! This root package wires the layers together: it re-exports the engine
//! for embedding, and holds the PostgreSQL wire server ([`server`]), the
//! configuration file ([`config`]), the `rustydb` command line ([`cli`]), and
//! the adapter that serves the engine over the wire ([`engine_backend`]), and
//! the wiring of the Wasm host into the engine ([`wasm`]).

pub use rustydb_engine as engine;

pub mod cli;
pub mod config;
pub mod engine_backend;
pub mod server;
pub mod wasm;

/// Every binary that links RustyDB allocates through mimalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
