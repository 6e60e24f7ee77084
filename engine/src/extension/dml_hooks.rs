//! Row and statement hooks around writing statements: the seam the
//! trigger machinery plugs into.
//!
//! The engine knows when rows change — INSERT (with ON CONFLICT), UPDATE,
//! DELETE, TRUNCATE and COPY, whoever runs them: a client or SQL inside a
//! Wasm routine — but not what a trigger is. It asks an injected
//! [`DmlHooks`] once per statement and table what should happen around the
//! rows, and calls the [`StatementHooks`] it gets back at each point:
//!
//! ```text
//! before_statement
//!   for each row:  before_row (may change or skip it) → constraints → write → after_row
//!   (on a view:    instead_of_row, which does the writing)
//! after_statement
//! ```
//!
//! Everything a hook needs from the engine — the transaction, the catalog,
//! expressions over OLD and NEW, trigger functions run in the statement's
//! transaction — comes through [`HookContext`], so the hooks never reach
//! into the SQL layer.

use std::sync::Arc;

use super::error::ExtensionError;
use super::host_sql::Row;
use super::invoker::{RowEvent, TriggerData, TriggerOperation, TriggerOutcome};
use crate::catalog::routine::RoutineDef;
use crate::catalog::{Catalog, KvTxn, TableDef};
use crate::sql::parser::TriggerDdl;

/// A condition over a table's OLD and NEW rows (a trigger's `WHEN`),
/// bound once per statement by [`HookContext::bind_condition`].
pub struct RowCondition(pub(crate) crate::sql::expr::Expr);

/// What one statement does to one table, as the hooks are asked about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmlEvent {
    /// The operations the statement may perform: one, or INSERT and UPDATE
    /// for `INSERT … ON CONFLICT DO UPDATE`.
    pub operations: Vec<TriggerOperation>,
    /// For UPDATE: the positions of the columns its SET list assigns
    /// (`UPDATE OF col` triggers fire only when one of theirs is there).
    pub updated_columns: Vec<usize>,
}

/// The engine's side of a hook call.
pub trait HookContext {
    /// The statement's transaction.
    fn txn(&mut self) -> &mut dyn KvTxn;

    /// The catalog the statement runs against.
    fn catalog(&self) -> &Catalog;

    /// How deeply the running statement is nested inside routine calls: 0
    /// for a client's statement, n for SQL a routine n levels down ran.
    fn depth(&self) -> u32;

    /// Binds `condition` over `table`'s rows as `OLD.col` and `NEW.col`
    /// (and bare `col`, which means NEW's).
    ///
    /// # Errors
    /// The SQL errors of binding (42703 unknown column, 42804 not boolean).
    fn bind_condition(
        &mut self,
        table: &TableDef,
        condition: &sqlparser::ast::Expr,
    ) -> Result<RowCondition, ExtensionError>;

    /// The view `name` as a table of its output columns, under the view's
    /// object id (which keys its triggers); `None` when no view has that
    /// name. A view stores no rows: only INSTEAD OF triggers write
    /// through it.
    ///
    /// # Errors
    /// Binding the view's query.
    fn view(&mut self, name: &str) -> Result<Option<Arc<TableDef>>, ExtensionError>;

    /// Evaluates a bound condition; a missing row reads as NULLs. NULL is
    /// false, as in `WHERE`.
    ///
    /// # Errors
    /// Errors of evaluation (division by zero, …).
    fn eval_condition(
        &mut self,
        condition: &RowCondition,
        old: Option<&[crate::types::Value]>,
        new: Option<&[crate::types::Value]>,
    ) -> Result<bool, ExtensionError>;

    /// Runs trigger function `function` in the statement's transaction.
    /// `transition` names the rows a statement trigger's function may read
    /// as relations (`REFERENCING NEW TABLE AS name`) while it runs.
    ///
    /// # Errors
    /// The function's own error, or the sandbox's; either aborts the
    /// statement.
    fn call_trigger(
        &mut self,
        function: &RoutineDef,
        data: &TriggerData,
        transition: &[(String, Arc<Vec<Row>>)],
    ) -> Result<TriggerOutcome, ExtensionError>;

    /// Runs AFTER ROW trigger function `function` once per event, in
    /// order, each time with `data` completed by the event (and no
    /// transition tables), as that many [`HookContext::call_trigger`] calls
    /// would; the first error stops them. What the calls return is ignored,
    /// as it is for every AFTER trigger.
    ///
    /// # Errors
    /// The first call's error; it aborts the statement.
    fn call_trigger_rows(
        &mut self,
        function: &RoutineDef,
        data: &TriggerData,
        events: Vec<RowEvent>,
    ) -> Result<(), ExtensionError> {
        let mut one = data.clone();
        for event in events {
            one.set_event(event);
            self.call_trigger(function, &one, &[])?;
        }
        Ok(())
    }
}

/// The hooks of one statement on one table.
pub trait StatementHooks {
    /// Before the first row (`BEFORE … FOR EACH STATEMENT`).
    ///
    /// # Errors
    /// Any error aborts the statement.
    fn before_statement(&mut self, cx: &mut dyn HookContext) -> Result<(), ExtensionError>;

    /// Whether [`StatementHooks::before_row`] would do anything for `op`,
    /// so the engine can skip copying rows for it.
    fn has_before_row(&self, op: TriggerOperation) -> bool;

    /// Before a row is written, constraints not yet checked: `old` for
    /// UPDATE and DELETE, `new` for INSERT and UPDATE. `Keep` goes on with
    /// the row, `Modified` with another (INSERT and UPDATE), `Skip` leaves
    /// the row alone.
    ///
    /// # Errors
    /// Any error aborts the statement.
    fn before_row(
        &mut self,
        cx: &mut dyn HookContext,
        op: TriggerOperation,
        old: Option<&[crate::types::Value]>,
        new: Option<&[crate::types::Value]>,
    ) -> Result<TriggerOutcome, ExtensionError>;

    /// Whether [`StatementHooks::instead_of_row`] would do anything for
    /// `op`: whether a write of that kind on a view can happen at all.
    fn has_instead_of_row(&self, op: TriggerOperation) -> bool;

    /// In place of writing a row into a view (`INSTEAD OF … FOR EACH
    /// ROW`): `old` for UPDATE and DELETE, `new` for INSERT and UPDATE.
    /// `Keep` and `Modified` count the row as written (`Modified` being
    /// what RETURNING shows), `Skip` does not.
    ///
    /// # Errors
    /// Any error aborts the statement.
    fn instead_of_row(
        &mut self,
        cx: &mut dyn HookContext,
        op: TriggerOperation,
        old: Option<&[crate::types::Value]>,
        new: Option<&[crate::types::Value]>,
    ) -> Result<TriggerOutcome, ExtensionError>;

    /// After a row was written.
    ///
    /// # Errors
    /// Any error aborts the statement.
    fn after_row(
        &mut self,
        cx: &mut dyn HookContext,
        op: TriggerOperation,
        old: Option<&[crate::types::Value]>,
        new: Option<&[crate::types::Value]>,
    ) -> Result<(), ExtensionError>;

    /// After the last row (`AFTER … FOR EACH STATEMENT`, and the queued
    /// `AFTER … FOR EACH ROW` events, which PostgreSQL fires at the end of
    /// the statement).
    ///
    /// # Errors
    /// Any error aborts the statement.
    fn after_statement(&mut self, cx: &mut dyn HookContext) -> Result<(), ExtensionError>;
}

/// The trigger machinery, injected into the database by whoever opens it.
pub trait DmlHooks: Send + Sync {
    /// The hooks for `event` on `table`; `None` when nothing would fire,
    /// which keeps a statement on a table without triggers at full speed.
    ///
    /// # Errors
    /// Reading the hooks' own catalog records, or binding conditions.
    fn statement(
        &self,
        cx: &mut dyn HookContext,
        table: &Arc<TableDef>,
        event: &DmlEvent,
    ) -> Result<Option<Box<dyn StatementHooks>>, ExtensionError>;

    /// Runs a trigger DDL statement the engine parsed, returning its
    /// command tag.
    ///
    /// # Errors
    /// PostgreSQL's errors for the DDL (42P01, 42710, 42704, 42883, …).
    fn ddl(&self, cx: &mut dyn HookContext, ddl: &TriggerDdl) -> Result<String, ExtensionError>;

    /// The hooks' objects that call routine `schema.name` (triggers), each
    /// as PostgreSQL names a dependent object (`trigger t on table x`), so
    /// DROP FUNCTION and DROP MODULE refuse (2BP01) while there are any;
    /// with `drop` they are removed as well (`CASCADE`).
    ///
    /// # Errors
    /// Reading or writing the hooks' catalog records.
    fn routine_dependents(
        &self,
        cx: &mut dyn HookContext,
        schema: &str,
        name: &str,
        drop: bool,
    ) -> Result<Vec<String>, ExtensionError>;
}

/// Trigger calls into one module that share a sandbox for the length of a
/// statement, so a trigger firing for 100 000 rows instantiates its module
/// once, not 100 000 times.
pub trait TriggerCalls: Send {
    /// Runs trigger function `name` of the module.
    ///
    /// # Errors
    /// As [`RoutineInvoker::call_trigger`](super::RoutineInvoker::call_trigger).
    fn call(&mut self, name: &str, data: &TriggerData) -> Result<TriggerOutcome, ExtensionError>;

    /// Runs AFTER ROW trigger function `name` once per event, as
    /// [`HookContext::call_trigger_rows`] describes; a host that can hand
    /// the guest all of them at once does, saving a call per row.
    ///
    /// # Errors
    /// As [`TriggerCalls::call`], for the first event that fails.
    fn call_rows(
        &mut self,
        name: &str,
        data: &TriggerData,
        events: Vec<RowEvent>,
    ) -> Result<(), ExtensionError> {
        let mut one = data.clone();
        for event in events {
            one.set_event(event);
            self.call(name, &one)?;
        }
        Ok(())
    }
}
