//! RustyDB: a relational database that hosts WebAssembly components.
//!
//! This root package wires the layers together: today it re-exports the
//! engine for embedding; the PostgreSQL wire server and the `rustydb` CLI
//! join it as they are built (see the README's status table).

pub use rustydb_engine as engine;
