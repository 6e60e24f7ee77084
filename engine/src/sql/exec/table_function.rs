//! A Wasm table function in FROM: its rows for one argument row, or, over
//! an input (LATERAL), each input row joined to the rows the function
//! returns for it — one guest call per input row.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{ExecCtx, Operator, Row};
use crate::sql::error::SqlResult;
use crate::sql::expr::{Expr, RoutineCall, eval};

pub(super) struct TableFunction {
    call: Arc<RoutineCall>,
    args: Vec<Expr>,
    input: Option<Box<dyn Operator>>,
    pending: VecDeque<Row>,
    /// Without an input: whether the one call was made.
    called: bool,
}

impl TableFunction {
    pub(super) fn new(
        call: Arc<RoutineCall>,
        args: Vec<Expr>,
        input: Option<Box<dyn Operator>>,
    ) -> TableFunction {
        TableFunction {
            call,
            args,
            input,
            pending: VecDeque::new(),
            called: false,
        }
    }

    /// The function's rows for the arguments over `row`, each after `row`.
    fn rows_for(&mut self, row: &[crate::types::Value], cx: &mut ExecCtx<'_>) -> SqlResult<()> {
        let args = self
            .args
            .iter()
            .map(|a| eval(a, row, cx))
            .collect::<SqlResult<Row>>()?;
        let routines = cx.routines.ok_or_else(crate::sql::expr::no_host)?;
        let rows = routines.table(cx.txn, cx.catalog, &self.call.def, &args)?;
        self.pending.extend(rows.into_iter().map(|r| {
            let mut out = row.to_vec();
            out.extend(r);
            out
        }));
        Ok(())
    }
}

impl Operator for TableFunction {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Ok(Some(r));
            }
            match self.input.as_mut() {
                None if self.called => return Ok(None),
                None => {
                    self.called = true;
                    self.rows_for(&[], cx)?;
                }
                Some(input) => match input.next(cx)? {
                    None => return Ok(None),
                    Some(left) => {
                        cx.check_cancel()?;
                        self.rows_for(&left, cx)?;
                    }
                },
            }
        }
    }
}
