//! A Wasm table function in FROM: its rows for one argument row, or, over
//! an input (LATERAL), each input row joined to the rows the function
//! returns for it — one guest call per input row. As the right side of a
//! LEFT JOIN, an input row that no function row joins is kept, padded with
//! NULLs.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{ExecCtx, Operator, Row};
use crate::sql::error::SqlResult;
use crate::sql::expr::{Expr, RoutineCall, eval};
use crate::types::Value;

pub(super) struct TableFunction {
    call: Arc<RoutineCall>,
    args: Vec<Expr>,
    input: Option<Box<dyn Operator>>,
    /// The ON condition of a LEFT JOIN.
    left_join: Option<Expr>,
    pending: VecDeque<Row>,
    /// Without an input: whether the one call was made.
    called: bool,
}

impl TableFunction {
    pub(super) fn new(
        call: Arc<RoutineCall>,
        args: Vec<Expr>,
        input: Option<Box<dyn Operator>>,
        left_join: Option<Expr>,
    ) -> TableFunction {
        TableFunction {
            call,
            args,
            input,
            left_join,
            pending: VecDeque::new(),
            called: false,
        }
    }

    /// The function's rows for the arguments over `row`, each after `row`.
    fn rows_for(&mut self, row: &[Value], cx: &mut ExecCtx<'_>) -> SqlResult<()> {
        let args = self
            .args
            .iter()
            .map(|a| eval(a, row, cx))
            .collect::<SqlResult<Row>>()?;
        let routines = cx.routines.ok_or_else(crate::sql::expr::no_host)?;
        let rows = routines.table(cx.txn, cx.catalog, &self.call.def, &args)?;
        let joined = rows.into_iter().map(|r| {
            let mut out = row.to_vec();
            out.extend(r);
            out
        });
        let Some(on) = &self.left_join else {
            self.pending.extend(joined);
            return Ok(());
        };
        let before = self.pending.len();
        for out in joined {
            // Only TRUE joins: FALSE and NULL both leave the row unmatched.
            if matches!(eval(on, &out, cx)?, Value::Bool(true)) {
                self.pending.push_back(out);
            }
        }
        if self.pending.len() == before {
            let mut out = row.to_vec();
            out.extend(std::iter::repeat_n(
                Value::Null,
                self.call.def.returns.len(),
            ));
            self.pending.push_back(out);
        }
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
