//! Execution: each plan node becomes an operator that yields rows on
//! demand (the Volcano model). Only the operators that must see all their
//! input first — sort, aggregation, the build side of a join, set
//! operations — hold rows in memory; a scan reads the table in chunks.
//!
//! Operators do not own the transaction: every `next` call borrows it
//! through [`ExecCtx`], which is also where expression evaluation finds
//! parameters, the rows of enclosing queries (correlated subqueries), the
//! statement's clock and the cancel flag.

mod hash_aggregate;
mod index_nested_loop_join;
mod index_scan;
mod init_plan;
mod limit;
mod nested_loop_join;
mod project;
mod recursive;
mod seq_scan;
mod series;
mod set_op;
mod sort;
mod table_function;
mod top_n;
mod values;
mod wasm_aggregate;
mod wasm_batch;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::catalog::{Catalog, KvTxn};
use crate::types::{DataType, Value};

use super::error::{SqlError, SqlResult};
use super::expr::Expr;
use super::plan::Plan;
pub use super::sequence::SequenceOps;
pub(crate) use init_plan::{InSet, InitPlan, InitPlanKind, InitPlans};

/// A row: one value per output column.
pub type Row = Vec<Value>;

/// What operators and expressions need from the statement around them.
pub struct ExecCtx<'a> {
    /// The transaction.
    pub txn: &'a mut dyn KvTxn,
    /// The catalog the statement was planned against.
    pub catalog: &'a Catalog,
    /// Values of `$1`, `$2`, ...
    pub params: &'a [Value],
    /// Types of `$1`, `$2`, ... known before binding (declared or
    /// described), for the binder.
    pub param_types: &'a [Option<DataType>],
    /// Rows of the enclosing queries, innermost last.
    pub outer: Vec<Row>,
    /// `now()`: the transaction's start, microseconds since 2000-01-01 UTC.
    pub now: i64,
    /// Set by another thread to cancel the statement.
    pub cancel: &'a AtomicBool,
    /// `nextval`, `currval` and `setval` of sequences by id.
    pub sequences: &'a dyn SequenceOps,
    /// The current user: `current_user`, and whose privileges apply.
    pub user: &'a str,
    /// The role that connected: `session_user`.
    pub session_user: &'a str,
    /// The session's parameters: `current_setting`, and the search path
    /// the statement's binders use.
    pub(crate) settings: &'a crate::sql::settings::StatementSettings,
    /// Wasm routines called by the statement; `None` when the database has
    /// no routine host (a call then fails with 0A000).
    pub(crate) routines: Option<&'a super::routine::query_calls::QueryRoutines>,
    /// Results of the uncorrelated subqueries evaluated so far.
    pub(crate) init_plans: InitPlans,
}

impl ExecCtx<'_> {
    /// Fails with 57014 once the statement was cancelled.
    pub fn check_cancel(&self) -> SqlResult<()> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(SqlError::Canceled);
        }
        Ok(())
    }

    pub(crate) fn outer_value(&self, depth: usize, index: usize) -> SqlResult<Value> {
        self.outer
            .len()
            .checked_sub(depth)
            .and_then(|i| self.outer.get(i))
            .and_then(|r| r.get(index))
            .cloned()
            .ok_or_else(|| SqlError::Internal("outer reference out of range".into()))
    }

    pub(crate) fn nextval(&mut self, sequence: u32) -> SqlResult<i64> {
        self.sequences.nextval(sequence)
    }
}

/// `e` with its constant parts computed once (see
/// [`Expr::fold_constants`]), for an operator that evaluates it per row.
fn folded(mut e: Expr) -> Expr {
    e.fold_constants();
    e
}

/// A streaming operator.
pub trait Operator {
    /// The next row, or `None` when there are no more.
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>>;
}

/// A scan of one table that also yields each row's storage key, which
/// UPDATE and DELETE need to change the row they found.
pub(crate) trait KeyedScan {
    /// The next row and its key, or `None` when there are no more.
    fn next_keyed(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<(Vec<u8>, Row)>>;
}

/// The keyed scan of a table-access plan (a sequential or index scan).
pub(crate) fn build_keyed(plan: &Plan) -> SqlResult<Box<dyn KeyedScan>> {
    match plan {
        Plan::Scan { table, filter, .. } => Ok(Box::new(seq_scan::SeqScan::new(
            table.clone(),
            filter.clone(),
        ))),
        Plan::IndexScan {
            table,
            index,
            bounds,
            reverse,
            filter,
            ..
        } => Ok(Box::new(index_scan::IndexScan::new(
            table.clone(),
            index.clone(),
            bounds.clone(),
            *reverse,
            filter.clone(),
        ))),
        _ => Err(SqlError::Internal("not a table scan".into())),
    }
}

/// A keyed scan as an operator: each row with its key appended.
struct WithKeys(Box<dyn KeyedScan>);

impl Operator for WithKeys {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        Ok(self.0.next_keyed(cx)?.map(|(key, mut row)| {
            row.push(Value::Bytea(key));
            row
        }))
    }
}

/// Builds the operator tree for a plan.
pub fn build(plan: &Plan) -> Box<dyn Operator> {
    match plan {
        Plan::Values { rows, .. } => Box::new(values::Values::new(rows.clone())),
        // A predicate calling Wasm is evaluated a batch at a time above
        // the scan, not row by row inside it.
        Plan::Scan {
            table,
            filter: Some(f),
            ..
        } if f.has_routine() => Box::new(wasm_batch::WasmFilter::new(
            Box::new(seq_scan::SeqScan::new(table.clone(), None)),
            f.clone(),
            plan.columns().len(),
        )),
        Plan::Scan { table, filter, .. } => {
            Box::new(seq_scan::SeqScan::new(table.clone(), filter.clone()))
        }
        Plan::IndexScan {
            table,
            index,
            bounds,
            reverse,
            filter: Some(f),
            ..
        } if f.has_routine() => Box::new(wasm_batch::WasmFilter::new(
            Box::new(index_scan::IndexScan::new(
                table.clone(),
                index.clone(),
                bounds.clone(),
                *reverse,
                None,
            )),
            f.clone(),
            plan.columns().len(),
        )),
        Plan::IndexScan {
            table,
            index,
            bounds,
            reverse,
            filter,
            ..
        } => Box::new(index_scan::IndexScan::new(
            table.clone(),
            index.clone(),
            bounds.clone(),
            *reverse,
            filter.clone(),
        )),
        Plan::Series {
            start, stop, step, ..
        } => Box::new(series::Series::new(
            start.clone(),
            stop.clone(),
            step.clone(),
        )),
        Plan::TableFunction {
            call,
            args,
            input,
            left_join,
            ..
        } => Box::new(table_function::TableFunction::new(
            Arc::clone(call),
            args.clone(),
            input.as_deref().map(build),
            left_join.clone(),
        )),
        Plan::RecursiveCte {
            anchor,
            step,
            all,
            work,
            ..
        } => Box::new(recursive::RecursiveCte::new(
            (**anchor).clone(),
            (**step).clone(),
            *all,
            work.clone(),
        )),
        Plan::WorkTableScan { work, .. } => Box::new(recursive::WorkTableScan::new(work.clone())),
        Plan::KeyedScan { input, .. } => match build_keyed(input) {
            Ok(scan) => Box::new(WithKeys(scan)),
            Err(e) => Box::new(values::Failed(Some(e))),
        },
        Plan::Filter { input, predicate } if predicate.has_routine() => Box::new(
            wasm_batch::WasmFilter::new(build(input), predicate.clone(), input.columns().len()),
        ),
        Plan::Filter { input, predicate } => {
            Box::new(project::Filter::new(build(input), predicate.clone()))
        }
        Plan::Project { input, exprs, .. } if exprs.iter().any(Expr::has_routine) => {
            let mut exprs = exprs.clone();
            let width = input.columns().len();
            let slots = wasm_batch::lift(&mut exprs.iter_mut().collect::<Vec<_>>(), width);
            Box::new(project::Project::new(
                Box::new(wasm_batch::WasmExtend::new(build(input), slots, width)),
                exprs,
            ))
        }
        Plan::Project { input, exprs, .. } => {
            Box::new(project::Project::new(build(input), exprs.clone()))
        }
        Plan::Join {
            kind,
            left,
            right,
            on,
            equi,
            ..
        } => Box::new(nested_loop_join::NestedLoopJoin::new(
            *kind,
            build(left),
            build(right),
            on.clone(),
            equi.clone(),
            right.columns().len(),
            left.columns().len(),
        )),
        Plan::IndexJoin {
            kind,
            outer,
            inner,
            on,
            ..
        } => Box::new(index_nested_loop_join::IndexNestedLoopJoin::new(
            *kind,
            build(outer),
            (**inner).clone(),
            on.clone(),
            inner.columns().len(),
        )),
        Plan::Aggregate {
            input,
            group_by,
            aggs,
            ..
        } if group_by.iter().any(Expr::has_routine)
            || aggs.iter().any(|a| {
                a.args.iter().any(Expr::has_routine)
                    || a.filter.as_ref().is_some_and(Expr::has_routine)
            }) =>
        {
            let (mut group_by, mut aggs) = (group_by.clone(), aggs.clone());
            let width = input.columns().len();
            let mut exprs: Vec<&mut Expr> = group_by.iter_mut().collect();
            for a in &mut aggs {
                exprs.extend(a.args.iter_mut());
                exprs.extend(a.filter.iter_mut());
                exprs.extend(a.order.iter_mut().map(|k| &mut k.expr));
            }
            let slots = wasm_batch::lift(&mut exprs, width);
            Box::new(hash_aggregate::HashAggregate::new(
                Box::new(wasm_batch::WasmExtend::new(build(input), slots, width)),
                group_by,
                aggs,
            ))
        }
        Plan::Aggregate {
            input,
            group_by,
            aggs,
            ..
        } => Box::new(hash_aggregate::HashAggregate::new(
            build(input),
            group_by.clone(),
            aggs.clone(),
        )),
        Plan::Sort { input, keys } => Box::new(sort::Sort::new(build(input), keys.clone())),
        Plan::Limit {
            input,
            limit,
            offset,
        } => Box::new(limit::Limit::new(
            build(input),
            limit.clone(),
            offset.clone(),
        )),
        Plan::TopN {
            input,
            keys,
            limit,
            offset,
        } => Box::new(top_n::TopN::new(
            build(input),
            keys.clone(),
            limit.clone(),
            offset.clone(),
        )),
        Plan::Distinct { input } => Box::new(set_op::Distinct::new(build(input))),
        Plan::DistinctOn { input, keys } => {
            Box::new(set_op::DistinctOn::new(build(input), keys.clone()))
        }
        Plan::SetOp {
            kind,
            all,
            left,
            right,
        } => Box::new(set_op::SetOp::new(*kind, *all, build(left), build(right))),
    }
}

/// Runs a plan to completion.
pub fn collect(plan: &Plan, cx: &mut ExecCtx<'_>) -> SqlResult<Vec<Row>> {
    let mut op = build(plan);
    let mut rows = Vec::new();
    while let Some(row) = op.next(cx)? {
        cx.check_cancel()?;
        rows.push(row);
    }
    Ok(rows)
}

/// Runs a subquery with `row` as its outer row; `first_only` stops after
/// one row (EXISTS).
pub fn run_subplan(
    plan: &Plan,
    row: &[Value],
    cx: &mut ExecCtx<'_>,
    first_only: bool,
) -> SqlResult<Vec<Row>> {
    cx.outer.push(row.to_vec());
    let result = (|| {
        let mut op = build(plan);
        let mut rows = Vec::new();
        while let Some(r) = op.next(cx)? {
            rows.push(r);
            if first_only || rows.len() > 1 && matches!(plan, Plan::Limit { .. }) {
                break;
            }
        }
        Ok(rows)
    })();
    cx.outer.pop();
    result
}
