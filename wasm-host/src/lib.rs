//! RustyDB's WebAssembly component host.
//!
//! User routines — procedures, functions, aggregates, table functions,
//! triggers, models — arrive as Wasm components built against the WIT
//! package in `wit/`. This crate deploys them ([`ModuleRegistry`]) and runs
//! them for the engine ([`WasmInvoker`], the engine's
//! [`RoutineInvoker`](rustydb_engine::extension::RoutineInvoker)).
//!
//! The design follows from one rule: a guest is hostile until proven
//! otherwise, and proof never comes. So a module is checked against the
//! contract before it is compiled into the registry; each call gets a fresh
//! instance in its own store, with fuel, a wall-clock deadline (which a
//! cancel request also fires), a memory cap, and WASI with no capabilities;
//! every way a call can end maps to a SQLSTATE a user can act on
//! (`error.rs` has the table); and nothing a guest does reaches a panic in
//! the host. [`Limits`] gathers every knob in one place.
//!
//! Guest SQL goes back through the engine's
//! [`HostSql`](rustydb_engine::extension::HostSql), so it runs in the
//! caller's transaction; the host adds nothing but conversion and limits.

mod bindings;
mod call;
mod columnar;
mod concurrency;
mod convert;
mod error;
mod host_api;
mod invoker;
mod limits;
mod output;
mod pool;
mod registry;
mod runtime;
mod statement_calls;
mod stats;
mod trigger_calls;

pub use error::DeployError;
pub use invoker::{WasmInvoker, version_handle};
pub use limits::Limits;
pub use registry::{Module, ModuleRegistry};
pub use stats::{CallUsage, RoutineStats};
