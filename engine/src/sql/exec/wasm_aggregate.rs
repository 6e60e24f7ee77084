//! The accumulator of a Wasm aggregate inside a hash aggregation.
//!
//! The state is the guest's bytes; the engine only carries it. A group's
//! argument rows are buffered and folded in with one `accumulate` call per
//! [`BATCH_ROWS`] rows (and once more at the end), so a million-row
//! `median(x)` makes about a thousand guest calls. DISTINCT, FILTER and
//! `ORDER BY` in the call are the engine's work before rows reach the
//! buffer; a STRICT aggregate skips rows with a NULL argument, as
//! PostgreSQL skips them for a strict transition function.
//!
//! The guest's `merge` is not called: a group's rows always fold into one
//! state here (the hash aggregate neither spills nor partitions a group,
//! and there is no parallel or two-phase aggregation), so there are never
//! two partial states of one group to combine. The SDK's own tests and
//! `tests/wasm_examples.rs` exercise it directly.

use super::{ExecCtx, Row};
use crate::sql::error::SqlResult;
use crate::sql::expr::RoutineCall;
use crate::sql::routine::query_calls::BATCH_ROWS;
use crate::types::Value;

/// One group's running state of one Wasm aggregate.
#[derive(Default, Clone)]
pub(super) struct WasmAcc {
    /// `None` until the first batch (or the finish of an empty group)
    /// asks the guest for its initial state.
    state: Option<Vec<u8>>,
    buffer: Vec<Row>,
}

impl WasmAcc {
    /// Adds one row of arguments.
    pub(super) fn add(
        &mut self,
        call: &RoutineCall,
        args: Row,
        cx: &mut ExecCtx<'_>,
    ) -> SqlResult<()> {
        if call.def.strict && args.iter().any(Value::is_null) {
            return Ok(());
        }
        self.buffer.push(args);
        if self.buffer.len() >= BATCH_ROWS {
            self.flush(call, cx)?;
        }
        Ok(())
    }

    fn flush(&mut self, call: &RoutineCall, cx: &mut ExecCtx<'_>) -> SqlResult<()> {
        let routines = cx.routines.ok_or_else(crate::sql::expr::no_host)?;
        let state = match self.state.take() {
            Some(s) => s,
            None => routines.aggregate_init(cx.txn, cx.catalog, &call.def)?,
        };
        let batch = std::mem::take(&mut self.buffer);
        self.state = Some(if batch.is_empty() {
            state
        } else {
            routines.aggregate_accumulate(cx.txn, cx.catalog, &call.def, &state, &batch)?
        });
        Ok(())
    }

    /// The aggregate's value for the group.
    pub(super) fn finish(mut self, call: &RoutineCall, cx: &mut ExecCtx<'_>) -> SqlResult<Value> {
        self.flush(call, cx)?;
        let routines = cx.routines.ok_or_else(crate::sql::expr::no_host)?;
        let state = self.state.unwrap_or_default();
        routines.aggregate_finish(cx.txn, cx.catalog, &call.def, call.ty, &state)
    }
}
