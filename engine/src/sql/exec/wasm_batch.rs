//! Wasm calls evaluated a batch of rows at a time.
//!
//! A Wasm scalar function or model in a SELECT list, WHERE clause, GROUP BY
//! key or aggregate argument is not evaluated row by row: when the operator
//! tree is built, every such call (outside a CASE or COALESCE, whose
//! branches run only for some rows) is lifted out of its expression into a
//! *slot*, and the expression reads the slot's value as an extra column
//! past the input's own. [`WasmExtend`] then pulls a batch of up to
//! [`BATCH_ROWS`] input rows, evaluates each slot's arguments for all of
//! them and makes one guest call per slot for the whole batch, appending
//! the results. The operator above (a projection, a filter, an aggregation)
//! runs its rewritten expressions unchanged. So `SELECT f(x) FROM t` over a
//! million rows makes about a thousand guest calls.
//!
//! Nested calls (`f(g(x))`) become two slots, the inner first; an IMMUTABLE
//! call whose arguments are constant is made once per statement and its
//! value repeated.
//!
//! [`BATCH_ROWS`]: crate::sql::routine::query_calls::BATCH_ROWS

use std::sync::Arc;

use super::{Batch, ExecCtx, Operator, Row};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::{Expr, Func, RoutineCall, eval, eval_predicate};
use crate::types::Value;

/// One lifted call: its routine and its arguments over the extended row.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    call: Arc<RoutineCall>,
    args: Vec<Expr>,
    /// The last batch's argument rows, kept so that the next batch reuses
    /// their allocations: one per row per batch was a tenth of a scan's
    /// time in `SELECT sum(f(x))`.
    scratch: Vec<Row>,
}

/// Lifts the batchable Wasm calls out of `exprs`, whose input rows have
/// `width` columns; slot `k` becomes column `width + k`.
pub(crate) fn lift(exprs: &mut [&mut Expr], width: usize) -> Vec<Slot> {
    let mut slots = Vec::new();
    for e in exprs {
        lift_one(e, width, &mut slots);
    }
    slots
}

fn lift_one(e: &mut Expr, width: usize, slots: &mut Vec<Slot>) {
    // A CASE branch or a later COALESCE argument runs only for the rows
    // that reach it; calling it for every row could raise an error the
    // query never asked for. Those calls stay row by row.
    if matches!(e, Expr::Case { .. } | Expr::Func(Func::Coalesce, ..)) {
        return;
    }
    for c in e.children_mut() {
        lift_one(c, width, slots);
    }
    if let Expr::Routine(call, args) = e {
        let ty = call.ty;
        slots.push(Slot {
            call: Arc::clone(call),
            args: std::mem::take(args),
            scratch: Vec::new(),
        });
        *e = Expr::Column(width + slots.len() - 1, ty);
    }
}

/// Its input's rows, each extended by the values of the slots.
pub(crate) struct WasmExtend {
    input: Box<dyn Operator>,
    slots: Vec<Slot>,
    width: usize,
    /// The batch `next` hands out rows of, from `pos`.
    ready: Batch,
    pos: usize,
    done: bool,
}

impl WasmExtend {
    pub(crate) fn new(input: Box<dyn Operator>, mut slots: Vec<Slot>, width: usize) -> WasmExtend {
        for s in &mut slots {
            s.args.iter_mut().for_each(Expr::fold_constants);
        }
        WasmExtend {
            input,
            slots,
            width,
            ready: Batch::default(),
            pos: 0,
            done: false,
        }
    }

    /// Reads the next input batch into `batch` and extends its rows.
    fn fill(&mut self, cx: &mut ExecCtx<'_>, batch: &mut Batch) -> SqlResult<()> {
        if self.done {
            batch.clear();
            return Ok(());
        }
        self.input.next_batch(cx, batch)?;
        self.done = batch.is_empty();
        cx.check_cancel()?;
        if let Some(r) = batch.rows().iter().find(|r| r.len() != self.width) {
            return Err(SqlError::Internal(format!(
                "a batched row has {} columns, not {}",
                r.len(),
                self.width
            )));
        }
        for slot in &mut self.slots {
            compute(slot, batch.rows_mut(), cx)?;
        }
        Ok(())
    }
}

/// Appends `slot`'s value to every row of the batch.
fn compute(slot: &mut Slot, rows: &mut [Row], cx: &mut ExecCtx<'_>) -> SqlResult<()> {
    let routines = cx.routines.ok_or_else(crate::sql::expr::no_host)?;
    if rows.is_empty() {
        return Ok(());
    }
    if slot.call.foldable() && slot.args.iter().all(Expr::is_constant) {
        let key = Arc::as_ptr(&slot.call) as usize;
        let v = match routines.folded(key) {
            Some(v) => v,
            None => {
                let args = slot
                    .args
                    .iter()
                    .map(|a| eval(a, &[], cx))
                    .collect::<SqlResult<Row>>()?;
                let def = &slot.call.def;
                let v = routines
                    .scalar(cx.txn, cx.catalog, def, slot.call.ty, &[args])?
                    .pop()
                    .unwrap_or(Value::Null);
                routines.fold(key, v.clone());
                v
            }
        };
        for r in rows.iter_mut() {
            r.push(v.clone());
        }
        return Ok(());
    }
    // `f(a, b)` over rows of exactly `a, b` (a table scan's rows, most
    // often): the rows are the argument rows, with nothing copied.
    let whole_rows = rows.first().is_some_and(|r| r.len() == slot.args.len())
        && slot
            .args
            .iter()
            .enumerate()
            .all(|(j, a)| matches!(a, Expr::Column(i, _) if *i == j));
    if whole_rows {
        let values = routines.scalar(cx.txn, cx.catalog, &slot.call.def, slot.call.ty, rows)?;
        for (r, v) in rows.iter_mut().zip(values) {
            r.push(v);
        }
        return Ok(());
    }
    slot.scratch.resize_with(rows.len(), Vec::new);
    for (r, args) in rows.iter().zip(&mut slot.scratch) {
        args.clear();
        for a in &slot.args {
            // Arguments are mostly bare columns: copied here, not through
            // a call of `eval` per row and argument.
            let column = match a {
                Expr::Column(i, _) => r.get(*i).cloned(),
                _ => None,
            };
            args.push(match column {
                Some(v) => v,
                None => eval(a, r, cx)?,
            });
        }
    }
    let args = &slot.scratch[..rows.len()];
    let values = routines.scalar(cx.txn, cx.catalog, &slot.call.def, slot.call.ty, args)?;
    for (r, v) in rows.iter_mut().zip(values) {
        r.push(v);
    }
    Ok(())
}

impl Operator for WasmExtend {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        if self.pos >= self.ready.len() {
            let mut ready = std::mem::take(&mut self.ready);
            let filled = self.fill(cx, &mut ready);
            self.ready = ready;
            self.pos = 0;
            filled?;
        }
        self.pos += 1;
        Ok(self.ready.take(self.pos - 1))
    }

    fn next_batch(&mut self, cx: &mut ExecCtx<'_>, batch: &mut Batch) -> SqlResult<()> {
        self.fill(cx, batch)
    }
}

/// A WHERE predicate with Wasm calls: the batch's calls are made once,
/// then each row is tested and cut back to the input's columns.
pub(crate) struct WasmFilter {
    input: WasmExtend,
    predicate: Expr,
}

impl WasmFilter {
    /// Filters `input` (rows of `width` columns) by `predicate`.
    pub(crate) fn new(input: Box<dyn Operator>, mut predicate: Expr, width: usize) -> WasmFilter {
        let slots = lift(&mut [&mut predicate], width);
        predicate.fold_constants();
        WasmFilter {
            input: WasmExtend::new(input, slots, width),
            predicate,
        }
    }
}

impl Operator for WasmFilter {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        while let Some(mut row) = self.input.next(cx)? {
            if eval_predicate(&self.predicate, &row, cx)? {
                row.truncate(self.input.width);
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    fn next_batch(&mut self, cx: &mut ExecCtx<'_>, batch: &mut Batch) -> SqlResult<()> {
        let width = self.input.width;
        loop {
            self.input.next_batch(cx, batch)?;
            if batch.is_empty() {
                return Ok(());
            }
            batch.retain(|row| {
                let keep = eval_predicate(&self.predicate, row, cx)?;
                row.truncate(width);
                Ok(keep)
            })?;
            if !batch.is_empty() {
                return Ok(());
            }
        }
    }
}
