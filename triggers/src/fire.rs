//! Firing: what the triggers of one table do around one statement.
//!
//! PostgreSQL's order, which this follows:
//!
//! 1. BEFORE STATEMENT triggers, for each operation the statement may do.
//! 2. Per row: BEFORE ROW triggers in name order, each seeing the row the
//!    previous one returned; any `Skip` ends the row. Then the engine
//!    checks constraints and writes the row. AFTER ROW triggers whose
//!    `WHEN` holds are queued with the row, and the row is added to the
//!    transition tables if a trigger asked for them.
//!    On a view, INSTEAD OF ROW triggers take the place of all of that:
//!    they are the write, chained like BEFORE ROW triggers.
//! 3. At the end: the queued AFTER ROW events in order, then AFTER
//!    STATEMENT triggers, which read the transition tables by the names
//!    their `REFERENCING` clause gave. Consecutive events of one trigger
//!    go to its function as one batch (one guest call for up to
//!    `BATCH_ROWS` rows), still one function run per row, in order.
//!
//! An error anywhere is returned to the engine, which fails the statement
//! and rolls back everything it did, trigger work included.

use std::sync::Arc;

use rustydb_engine::catalog::TableDef;
use rustydb_engine::catalog::routine::{self, RoutineDef};
use rustydb_engine::extension::{
    ColumnDescription, DmlEvent, ExtensionError, HookContext, Row, RowCondition, RowEvent,
    StatementHooks, TriggerData, TriggerLevel, TriggerOperation, TriggerOutcome, TriggerTiming,
};
use rustydb_engine::types::Value;

use crate::catalog::Trigger;
use crate::error::TriggerError;

/// How deeply triggers may fire triggers (a trigger's SQL changing a table
/// with triggers of its own) before the statement fails with 54001.
pub const MAX_TRIGGER_DEPTH: u32 = 8;

/// One trigger of the statement, ready to fire.
struct Armed {
    trigger: Trigger,
    condition: Option<RowCondition>,
    function: Option<RoutineDef>,
    /// What the function is called with, built once per statement: a call
    /// only puts the operation and rows in, so a row trigger does not copy
    /// the names, columns and arguments once per row.
    data: TriggerData,
}

/// An AFTER ROW call waiting for the end of the statement.
struct Queued {
    trigger: usize,
    op: TriggerOperation,
    old: Option<Row>,
    new: Option<Row>,
}

/// The rows one operation of the statement changed, for transition tables.
#[derive(Default)]
struct Transition {
    old: Vec<Row>,
    new: Vec<Row>,
}

/// The triggers of one table for one statement.
pub(crate) struct TableFiring {
    operations: Vec<TriggerOperation>,
    armed: Vec<Armed>,
    queue: Vec<Queued>,
    /// Per operation (index into `OPS`), when some trigger reads them.
    transitions: [Option<Transition>; 4],
}

fn op_index(op: TriggerOperation) -> usize {
    match op {
        TriggerOperation::Insert => 0,
        TriggerOperation::Update => 1,
        TriggerOperation::Delete => 2,
        TriggerOperation::Truncate => 3,
    }
}

/// Whether `trigger` fires for `op` of a statement whose SET list assigns
/// `updated` (PostgreSQL's `UPDATE OF`: a listed column is assigned, its
/// value changed or not).
fn fires_for(trigger: &Trigger, table: &TableDef, op: TriggerOperation, updated: &[usize]) -> bool {
    let d = &trigger.def;
    d.enabled
        && d.operations.contains(&op)
        && (op != TriggerOperation::Update
            || d.update_columns.is_empty()
            || d.update_columns
                .iter()
                .any(|c| table.column_index(c).is_some_and(|i| updated.contains(&i))))
}

/// How many queued AFTER ROW events of one trigger go to its function in
/// one call: enough that entering the guest costs little per row, few
/// enough that a batch's rows are a small copy.
const BATCH_ROWS: usize = 256;

fn event(q: Queued) -> RowEvent {
    RowEvent {
        operation: q.op,
        old: q.old,
        new: q.new,
    }
}

/// The trigger function `trigger` executes.
fn function_of(cx: &mut dyn HookContext, trigger: &Trigger) -> Result<RoutineDef, TriggerError> {
    let d = &trigger.def;
    routine::routine(cx.txn(), &d.function_schema, &d.function_name)?
        .filter(|r| r.kind == rustydb_engine::extension::RoutineKind::Trigger)
        .ok_or_else(|| {
            TriggerError::UndefinedFunction(if d.function_schema == "public" {
                d.function_name.clone()
            } else {
                format!("{}.{}", d.function_schema, d.function_name)
            })
        })
}

impl TableFiring {
    /// The firing state for `event` on `table`, or `None` when none of
    /// `triggers` fires for it.
    pub(crate) fn new(
        cx: &mut dyn HookContext,
        table: &Arc<TableDef>,
        event: &DmlEvent,
        triggers: &[Trigger],
    ) -> Result<Option<TableFiring>, TriggerError> {
        let mut armed = Vec::new();
        let mut transitions: [Option<Transition>; 4] = Default::default();
        for t in triggers {
            let ops: Vec<TriggerOperation> = event
                .operations
                .iter()
                .copied()
                .filter(|op| fires_for(t, table, *op, &event.updated_columns))
                .collect();
            if ops.is_empty() {
                continue;
            }
            if t.def.old_table.is_some() || t.def.new_table.is_some() {
                for op in &ops {
                    transitions[op_index(*op)].get_or_insert_with(Transition::default);
                }
            }
            let condition = match &t.condition {
                Some(e) => Some(cx.bind_condition(table, e)?),
                None => None,
            };
            let d = &t.def;
            let data = TriggerData {
                name: d.name.clone(),
                timing: d.timing,
                operation: ops[0],
                level: d.level,
                table_schema: "public".into(),
                table_name: table.name.clone(),
                columns: table
                    .columns
                    .iter()
                    .map(|c| ColumnDescription::new(c.name.clone(), c.ty))
                    .collect(),
                old: None,
                new: None,
                args: d.args.clone(),
            };
            armed.push(Armed {
                trigger: Trigger {
                    def: t.def.clone(),
                    condition: None,
                },
                condition,
                function: None,
                data,
            });
        }
        if armed.is_empty() {
            return Ok(None);
        }
        Ok(Some(TableFiring {
            operations: event.operations.clone(),
            armed,
            queue: Vec::new(),
            transitions,
        }))
    }

    fn matching(
        &self,
        timing: TriggerTiming,
        level: TriggerLevel,
        op: TriggerOperation,
    ) -> Vec<usize> {
        self.armed
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                let d = &a.trigger.def;
                d.timing == timing && d.level == level && d.operations.contains(&op)
            })
            .map(|(i, _)| i)
            .collect()
    }

    fn condition_holds(
        &self,
        cx: &mut dyn HookContext,
        i: usize,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Result<bool, ExtensionError> {
        match &self.armed[i].condition {
            Some(c) => cx.eval_condition(c, old, new),
            None => Ok(true),
        }
    }

    /// Calls trigger `i`'s function.
    fn call(
        &mut self,
        cx: &mut dyn HookContext,
        i: usize,
        op: TriggerOperation,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Result<TriggerOutcome, TriggerError> {
        if cx.depth() >= MAX_TRIGGER_DEPTH {
            return Err(TriggerError::DepthExceeded {
                limit: MAX_TRIGGER_DEPTH,
            });
        }
        self.call_owned(
            cx,
            i,
            op,
            old.map(<[Value]>::to_vec),
            new.map(<[Value]>::to_vec),
        )
    }

    /// [`TableFiring::call`] with rows the caller gives up (queued AFTER
    /// ROW events), which go to the function without another copy.
    fn call_owned(
        &mut self,
        cx: &mut dyn HookContext,
        i: usize,
        op: TriggerOperation,
        old: Option<Row>,
        new: Option<Row>,
    ) -> Result<TriggerOutcome, TriggerError> {
        if cx.depth() >= MAX_TRIGGER_DEPTH {
            return Err(TriggerError::DepthExceeded {
                limit: MAX_TRIGGER_DEPTH,
            });
        }
        let transitions = &self.transitions[op_index(op)];
        let armed = &mut self.armed[i];
        let d = &armed.trigger.def;
        let function = match armed.function.take() {
            Some(f) => f,
            None => function_of(cx, &armed.trigger)?,
        };
        let mut transition = Vec::new();
        if let Some(t) = transitions {
            if let Some(name) = &d.old_table {
                transition.push((name.clone(), Arc::new(t.old.clone())));
            }
            if let Some(name) = &d.new_table {
                transition.push((name.clone(), Arc::new(t.new.clone())));
            }
        }
        armed.data.operation = op;
        armed.data.old = old;
        armed.data.new = new;
        let result = cx.call_trigger(&function, &armed.data, &transition);
        armed.function = Some(function);
        armed.data.old = None;
        armed.data.new = None;
        Ok(result?)
    }

    /// Calls AFTER ROW trigger `i`'s function once per event, in one batch
    /// where the host can.
    fn call_rows(
        &mut self,
        cx: &mut dyn HookContext,
        i: usize,
        events: Vec<RowEvent>,
    ) -> Result<(), TriggerError> {
        if cx.depth() >= MAX_TRIGGER_DEPTH {
            return Err(TriggerError::DepthExceeded {
                limit: MAX_TRIGGER_DEPTH,
            });
        }
        let armed = &mut self.armed[i];
        let function = match armed.function.take() {
            Some(f) => f,
            None => function_of(cx, &armed.trigger)?,
        };
        let result = cx.call_trigger_rows(&function, &armed.data, events);
        armed.function = Some(function);
        Ok(result?)
    }

    fn has_row(&self, timing: TriggerTiming, op: TriggerOperation) -> bool {
        self.armed.iter().any(|a| {
            let d = &a.trigger.def;
            d.timing == timing && d.level == TriggerLevel::Row && d.operations.contains(&op)
        })
    }

    /// The BEFORE (or INSTEAD OF) row triggers for `op`, in name order,
    /// each seeing the row the previous one returned; a `Skip` ends the
    /// row, as a NULL return does in PostgreSQL.
    fn row_chain(
        &mut self,
        cx: &mut dyn HookContext,
        timing: TriggerTiming,
        op: TriggerOperation,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Result<TriggerOutcome, ExtensionError> {
        let mut current: Option<Row> = None;
        for i in self.matching(timing, TriggerLevel::Row, op) {
            let row = current.as_deref().or(new);
            if !self.condition_holds(cx, i, old, row)? {
                continue;
            }
            match self.call(cx, i, op, old, row)? {
                TriggerOutcome::Keep => {}
                TriggerOutcome::Skip => return Ok(TriggerOutcome::Skip),
                // A DELETE trigger returning a row means "go on".
                TriggerOutcome::Modified(_) if op == TriggerOperation::Delete => {}
                TriggerOutcome::Modified(r) => current = Some(r),
            }
        }
        Ok(current.map_or(TriggerOutcome::Keep, TriggerOutcome::Modified))
    }

    fn statement_triggers(
        &mut self,
        cx: &mut dyn HookContext,
        timing: TriggerTiming,
    ) -> Result<(), TriggerError> {
        for op in self.operations.clone() {
            for i in self.matching(timing, TriggerLevel::Statement, op) {
                if self.condition_holds(cx, i, None, None)? {
                    self.call(cx, i, op, None, None)?;
                }
            }
        }
        Ok(())
    }
}

impl StatementHooks for TableFiring {
    fn before_statement(&mut self, cx: &mut dyn HookContext) -> Result<(), ExtensionError> {
        Ok(self.statement_triggers(cx, TriggerTiming::Before)?)
    }

    fn has_before_row(&self, op: TriggerOperation) -> bool {
        self.has_row(TriggerTiming::Before, op)
    }

    fn before_row(
        &mut self,
        cx: &mut dyn HookContext,
        op: TriggerOperation,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Result<TriggerOutcome, ExtensionError> {
        self.row_chain(cx, TriggerTiming::Before, op, old, new)
    }

    fn has_instead_of_row(&self, op: TriggerOperation) -> bool {
        self.has_row(TriggerTiming::InsteadOf, op)
    }

    fn instead_of_row(
        &mut self,
        cx: &mut dyn HookContext,
        op: TriggerOperation,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Result<TriggerOutcome, ExtensionError> {
        self.row_chain(cx, TriggerTiming::InsteadOf, op, old, new)
    }

    fn after_row(
        &mut self,
        cx: &mut dyn HookContext,
        op: TriggerOperation,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Result<(), ExtensionError> {
        if let Some(t) = &mut self.transitions[op_index(op)] {
            if let Some(o) = old {
                t.old.push(o.to_vec());
            }
            if let Some(n) = new {
                t.new.push(n.to_vec());
            }
        }
        for i in self.matching(TriggerTiming::After, TriggerLevel::Row, op) {
            if self.condition_holds(cx, i, old, new)? {
                self.queue.push(Queued {
                    trigger: i,
                    op,
                    old: old.map(<[Value]>::to_vec),
                    new: new.map(<[Value]>::to_vec),
                });
            }
        }
        Ok(())
    }

    fn after_statement(&mut self, cx: &mut dyn HookContext) -> Result<(), ExtensionError> {
        let mut queue = std::mem::take(&mut self.queue).into_iter().peekable();
        while let Some(q) = queue.next() {
            let d = &self.armed[q.trigger].trigger.def;
            // A trigger reading transition tables gets them call by call.
            if d.old_table.is_some() || d.new_table.is_some() {
                self.call_owned(cx, q.trigger, q.op, q.old, q.new)?;
                continue;
            }
            // Consecutive events of one trigger go in one batch; events of
            // several triggers interleave row by row and stay in that order.
            let trigger = q.trigger;
            let mut events = Vec::with_capacity(BATCH_ROWS.min(queue.len() + 1));
            events.push(event(q));
            while events.len() < BATCH_ROWS
                && let Some(next) = queue.next_if(|n| n.trigger == trigger)
            {
                events.push(event(next));
            }
            self.call_rows(cx, trigger, events)?;
        }
        Ok(self.statement_triggers(cx, TriggerTiming::After)?)
    }
}
