//! Routine calls of one statement into one module, sharing a warm
//! instance: the seam that makes Wasm functions in queries cheap.
//!
//! A query calling `geo.haversine` over a million rows sends about a
//! thousand batches; instantiating a fresh sandbox per batch would cost
//! more than the arithmetic. The engine therefore asks the host once per
//! statement and module for a [`StatementCalls`]
//! ([`RoutineInvoker::open_statement_calls`](super::RoutineInvoker::open_statement_calls))
//! and sends every batch of that module's functions, aggregates, table
//! functions and models through it. Each call still gets its own fuel and
//! deadline; a trap poisons the instance (the statement fails anyway). A
//! model's parameters are loaded into the instance once, not per batch.

use std::time::Duration;

use super::error::ExtensionError;
use super::host_sql::Row;
use crate::types::Value;

/// What the calls of one routine cost inside one statement's session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionUsage {
    /// Guest calls made.
    pub calls: u64,
    /// Fuel consumed.
    pub fuel: u64,
    /// The instance's largest linear memory, in bytes.
    pub peak_memory: u64,
    /// Time inside the guest (instantiation included for the first call).
    pub time: Duration,
}

/// Calls into one module for the length of one statement.
pub trait StatementCalls: Send {
    /// Scalar function `name` over a batch of argument rows, one value per
    /// row, in one guest call.
    ///
    /// # Errors
    /// As [`RoutineInvoker::call_scalar`](super::RoutineInvoker::call_scalar).
    fn scalar(&mut self, name: &str, args: &[Row]) -> Result<Vec<Value>, ExtensionError>;

    /// Model `name` scoring a batch of feature rows. `params` is loaded into
    /// the instance the first time it is seen (per model), not per batch.
    ///
    /// # Errors
    /// As [`RoutineInvoker::score_model`](super::RoutineInvoker::score_model).
    fn score(
        &mut self,
        name: &str,
        params: &[u8],
        batch: &[Row],
    ) -> Result<Vec<Value>, ExtensionError>;

    /// The empty state of aggregate `name`.
    ///
    /// # Errors
    /// As the invoker's.
    fn aggregate_init(&mut self, name: &str) -> Result<Vec<u8>, ExtensionError>;

    /// Folds a batch of argument rows into a state.
    ///
    /// # Errors
    /// As the invoker's.
    fn aggregate_accumulate(
        &mut self,
        name: &str,
        state: &[u8],
        args: &[Row],
    ) -> Result<Vec<u8>, ExtensionError>;

    /// Combines two partial states.
    ///
    /// # Errors
    /// As the invoker's.
    fn aggregate_merge(
        &mut self,
        name: &str,
        left: &[u8],
        right: &[u8],
    ) -> Result<Vec<u8>, ExtensionError>;

    /// An aggregate's final value.
    ///
    /// # Errors
    /// As the invoker's.
    fn aggregate_finish(&mut self, name: &str, state: &[u8]) -> Result<Value, ExtensionError>;

    /// The rows of table function `name` for one argument row.
    ///
    /// # Errors
    /// As the invoker's.
    fn table(&mut self, name: &str, args: &[Value]) -> Result<Vec<Row>, ExtensionError>;

    /// What the calls of routine `name` cost in this session so far.
    fn usage(&self, name: &str) -> SessionUsage;
}
