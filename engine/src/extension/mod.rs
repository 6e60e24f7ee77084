//! The engine's extension points for user code.
//!
//! Stored procedures, functions, aggregates, table functions, triggers and
//! models are written by users and run outside the engine's own code — today
//! as WebAssembly components in `rustydb-wasm-host`. The engine does not know
//! how; it owns two small traits and the vocabulary they speak:
//!
//! * [`RoutineInvoker`] is what the engine calls: run a procedure, a scalar
//!   function over a batch of argument rows, an aggregate step, a table
//!   function, a trigger or a model. The Wasm host implements it.
//! * [`HostSql`] is what user code calls back: SQL run inside the caller's
//!   transaction (a query as a [`RowCursor`] read in batches, a statement
//!   and its row count) and notices for the client. The SQL layer implements
//!   it.
//!
//! Values crossing in either direction are the engine's own [`Value`]s.
//! Failures are [`ExtensionError`]s, each with a SQLSTATE: user code picks
//! its own codes (`P0001` for a business rule), so the code is an
//! [`ErrorCode`] held by value rather than one of the engine's constants.
//!
//! * [`DmlHooks`] is called around every write (INSERT, UPDATE, DELETE,
//!   TRUNCATE, COPY): row and statement hooks with OLD and NEW rows. The
//!   trigger machinery (`rustydb-triggers`) implements it.
//!
//! The traits are object-safe and `Send + Sync`, so the root package can
//! wire them as `Arc<dyn …>` without this crate depending on wasmtime.
//!
//! [`Value`]: crate::types::Value

mod describe;
mod dml_hooks;
mod error;
mod host_sql;
mod invoker;
mod modules;
mod statement_calls;

pub use describe::{ColumnDescription, RoutineDescription, RoutineKind, Volatility};
pub use dml_hooks::{DmlEvent, DmlHooks, HookContext, RowCondition, StatementHooks, TriggerCalls};
pub use error::{ErrorCode, ExtensionError};
pub use host_sql::{HostSql, Notice, NoticeLevel, ResultSet, Row, RowCursor};
pub use invoker::{
    CallContext, CallLimits, ConcurrencyLimit, RoutineInvoker, RoutineRef, RowEvent, TriggerData,
    TriggerLevel, TriggerOperation, TriggerOutcome, TriggerTiming,
};
pub use modules::{LoadedModule, RoutineUsage};
pub use statement_calls::{SessionUsage, StatementCalls};
