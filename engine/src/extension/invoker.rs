//! Calling user code: the [`RoutineInvoker`] trait and what a call carries.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::describe::{ColumnDescription, RoutineDescription};
use super::dml_hooks::TriggerCalls;
use super::error::ExtensionError;
use super::host_sql::{HostSql, ResultSet, Row};
use super::modules::{LoadedModule, RoutineUsage};
use super::statement_calls::StatementCalls;
use crate::types::Value;

/// A routine by module and export name (`'bank', 'transfer'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoutineRef<'a> {
    /// The module, as named by `CREATE MODULE`.
    pub module: &'a str,
    /// The export name within the module.
    pub name: &'a str,
}

impl<'a> RoutineRef<'a> {
    /// `module.name`.
    pub fn new(module: &'a str, name: &'a str) -> RoutineRef<'a> {
        RoutineRef { module, name }
    }
}

/// Limits a caller imposes on one call, from the resource groups of its
/// database and role. `None` leaves the invoker's default; otherwise the
/// tighter of the two applies, so a resource group can only lower a limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallLimits {
    /// Fuel (roughly, Wasm instructions) for the call.
    pub fuel: Option<u64>,
    /// Wall-clock time for the call, including host work it triggers.
    pub time: Option<Duration>,
    /// Linear memory of the instance, in bytes.
    pub memory: Option<u64>,
    /// The resource groups that cap how many of their calls run at once
    /// (`max_concurrent_calls`): the call waits for a place in each.
    pub concurrency: Vec<ConcurrencyLimit>,
}

/// One resource group's cap on the calls running under it at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcurrencyLimit {
    /// The group's name.
    pub group: String,
    /// Calls (instances in use, a statement's trigger instance among them)
    /// that may run under the group at once.
    pub max: u32,
}

/// Everything a call needs from its caller.
#[derive(Clone)]
pub struct CallContext {
    /// SQL in the caller's transaction, and the way notices reach the client.
    pub sql: Arc<dyn HostSql>,
    /// The caller's resource-group limits.
    pub limits: CallLimits,
    /// Set by a cancel request or `statement_timeout`: the call stops with
    /// 57014 at its next check (within a millisecond or so of guest code).
    pub cancel: Arc<AtomicBool>,
}

impl CallContext {
    /// A context with no caller limits and a fresh cancel flag.
    pub fn new(sql: Arc<dyn HostSql>) -> CallContext {
        CallContext {
            sql,
            limits: CallLimits::default(),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// `TG_WHEN`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerTiming {
    /// `BEFORE`
    Before,
    /// `AFTER`
    After,
    /// `INSTEAD OF` (views)
    InsteadOf,
}

/// `TG_OP`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerOperation {
    /// `INSERT`
    Insert,
    /// `UPDATE`
    Update,
    /// `DELETE`
    Delete,
    /// `TRUNCATE`
    Truncate,
}

/// `TG_LEVEL`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerLevel {
    /// `FOR EACH ROW`
    Row,
    /// `FOR EACH STATEMENT`
    Statement,
}

/// What a trigger function sees: PL/pgSQL's `TG_*` variables, `OLD`, `NEW`.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerData {
    /// `TG_NAME`
    pub name: String,
    /// `TG_WHEN`
    pub timing: TriggerTiming,
    /// `TG_OP`
    pub operation: TriggerOperation,
    /// `TG_LEVEL`
    pub level: TriggerLevel,
    /// `TG_TABLE_SCHEMA`
    pub table_schema: String,
    /// `TG_TABLE_NAME`
    pub table_name: String,
    /// The table's columns, the shape of `old` and `new`.
    pub columns: Vec<ColumnDescription>,
    /// `OLD`, for row-level UPDATE and DELETE.
    pub old: Option<Row>,
    /// `NEW`, for row-level INSERT and UPDATE.
    pub new: Option<Row>,
    /// `TG_ARGV`
    pub args: Vec<String>,
}

/// One AFTER ROW event a statement queued: what a call of its trigger
/// function puts into [`TriggerData`]'s `operation`, `old` and `new`.
#[derive(Debug, Clone, PartialEq)]
pub struct RowEvent {
    /// `TG_OP`
    pub operation: TriggerOperation,
    /// `OLD`
    pub old: Option<Row>,
    /// `NEW`
    pub new: Option<Row>,
}

impl TriggerData {
    /// This data completed by `event`'s operation and rows.
    pub fn set_event(&mut self, event: RowEvent) {
        self.operation = event.operation;
        self.old = event.old;
        self.new = event.new;
    }
}

/// What a trigger function decided for its row.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerOutcome {
    /// Go on with the row unchanged.
    Keep,
    /// Go on with this row instead.
    Modified(Row),
    /// Skip the operation for this row.
    Skip,
}

/// Runs user routines. Implemented by the Wasm host; called by the SQL
/// executor, the trigger machinery and `CREATE MODULE`.
///
/// Every call is independent: it gets its own sandbox, so a failed call
/// leaves nothing behind for the next. Every method fails with the routine's
/// own SQLSTATE when the routine returns an error, and with the host's
/// (42883 unknown routine, 38000 trap, 54000 fuel, 53200 memory, 57014
/// deadline or cancel, 54001 stack) when the sandbox stops it.
pub trait RoutineInvoker: Send + Sync {
    /// Validates `bytes` as module `name` (the contract's worlds, no foreign
    /// imports, a sound description), compiles it (or loads its cached
    /// artifact) and keeps it ready for calls under the returned handle.
    /// Loading the same name and bytes again is cheap and yields the same
    /// handle.
    ///
    /// # Errors
    /// 42P17 for a component that breaks the contract; the module's own
    /// error if describing itself fails; 58030 for the artifact cache.
    fn load_module(&self, name: &str, bytes: &[u8]) -> Result<LoadedModule, ExtensionError>;

    /// Whether a module version is prepared under `handle`.
    fn is_loaded(&self, handle: &str) -> bool;

    /// Forgets a prepared module version (after `DROP MODULE` or a
    /// replacement). Calls in flight finish on it; a later call through the
    /// catalog loads it again if it is still there.
    fn unload_module(&self, handle: &str);

    /// Usage of every routine called since the host started.
    fn usage(&self) -> Vec<RoutineUsage>;

    /// The routines module `module` describes.
    ///
    /// # Errors
    /// 42883 for an unknown module; the sandbox errors above.
    fn describe(&self, module: &str) -> Result<Vec<RoutineDescription>, ExtensionError>;

    /// Runs a procedure and returns the rows it sends to the client.
    ///
    /// # Errors
    /// As the trait says.
    fn call_procedure(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        args: &[Value],
    ) -> Result<ResultSet, ExtensionError>;

    /// Evaluates a scalar function once per argument row, in one guest call.
    ///
    /// # Errors
    /// As the trait says; 39000 when the result count differs from the row
    /// count.
    fn call_scalar(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        args: &[Row],
    ) -> Result<Vec<Value>, ExtensionError>;

    /// The empty state of an aggregate.
    ///
    /// # Errors
    /// As the trait says.
    fn aggregate_init(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
    ) -> Result<Vec<u8>, ExtensionError>;

    /// Folds a batch of argument rows into an aggregate state.
    ///
    /// # Errors
    /// As the trait says.
    fn aggregate_accumulate(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        state: &[u8],
        args: &[Row],
    ) -> Result<Vec<u8>, ExtensionError>;

    /// Combines two partial aggregate states.
    ///
    /// # Errors
    /// As the trait says.
    fn aggregate_merge(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        left: &[u8],
        right: &[u8],
    ) -> Result<Vec<u8>, ExtensionError>;

    /// An aggregate's final value.
    ///
    /// # Errors
    /// As the trait says.
    fn aggregate_finish(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        state: &[u8],
    ) -> Result<Value, ExtensionError>;

    /// The rows of a table function for one argument row.
    ///
    /// # Errors
    /// As the trait says.
    fn call_table(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        args: &[Value],
    ) -> Result<Vec<Row>, ExtensionError>;

    /// Runs a trigger function.
    ///
    /// # Errors
    /// As the trait says; an error aborts the triggering statement.
    fn call_trigger(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        data: &TriggerData,
    ) -> Result<TriggerOutcome, ExtensionError>;

    /// Trigger calls into module `module` sharing one sandbox until the
    /// returned value is dropped (the end of a statement); `None` when the
    /// host has no such thing, and each call goes through
    /// [`RoutineInvoker::call_trigger`].
    ///
    /// # Errors
    /// 42883 for an unknown module; the sandbox errors of instantiation.
    fn open_trigger_calls(
        &self,
        ctx: &CallContext,
        module: &str,
    ) -> Result<Option<Box<dyn TriggerCalls>>, ExtensionError> {
        let _ = (ctx, module);
        Ok(None)
    }

    /// Calls of one statement into module `module` (a handle) sharing one
    /// warm instance until the returned value is dropped; `None` when the
    /// host has no such thing, and each batch goes through the methods
    /// above on a fresh sandbox.
    ///
    /// # Errors
    /// 42883 for an unknown module; the sandbox errors of instantiation.
    fn open_statement_calls(
        &self,
        ctx: &CallContext,
        module: &str,
    ) -> Result<Option<Box<dyn StatementCalls>>, ExtensionError> {
        let _ = (ctx, module);
        Ok(None)
    }

    /// Loads a model's parameters into a fresh instance and scores a batch
    /// of feature rows, one value per row.
    ///
    /// # Errors
    /// As the trait says; 39000 when the result count differs from the row
    /// count.
    fn score_model(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        params: &[u8],
        batch: &[Row],
    ) -> Result<Vec<Value>, ExtensionError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traits_are_object_safe() {
        fn takes(_: Option<&dyn RoutineInvoker>, _: Option<&dyn HostSql>) {}
        takes(None, None);
    }
}
