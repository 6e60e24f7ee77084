//! `generate_series`: one value per `next`, never the whole series.

use super::{ExecCtx, Operator, Row};
use crate::SqlState;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::{BinOp, Expr, eval};
use crate::types::Value;

pub(super) struct Series {
    start: Expr,
    stop: Expr,
    step: Expr,
    /// (next value, last value, step), once evaluated; `None` inside when
    /// the series is over.
    state: Option<Option<(Value, Value, Value)>>,
}

impl Series {
    pub(super) fn new(start: Expr, stop: Expr, step: Expr) -> Self {
        Series {
            start,
            stop,
            step,
            state: None,
        }
    }
}

impl Operator for Series {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        if self.state.is_none() {
            let start = eval(&self.start, &[], cx)?;
            let stop = eval(&self.stop, &[], cx)?;
            let step = eval(&self.step, &[], cx)?;
            if crate::sql::expr::compare_values(BinOp::Eq, &step, &Value::Int4(0)) == Some(true) {
                return Err(SqlError::data(
                    SqlState::INVALID_PARAMETER_VALUE,
                    "step size cannot equal zero",
                ));
            }
            // Any NULL argument makes an empty series.
            let any_null = start.is_null() || stop.is_null() || step.is_null();
            self.state = Some((!any_null).then_some((start, stop, step)));
        }
        let Some(Some((next, stop, step))) = self.state.as_mut() else {
            return Ok(None);
        };
        cx.check_cancel()?;
        let ascending =
            crate::sql::expr::compare_values(BinOp::Gt, step, &Value::Int4(0)) == Some(true);
        let past = if ascending { BinOp::Gt } else { BinOp::Lt };
        if crate::sql::expr::compare_values(past, next, stop) != Some(false) {
            self.state = Some(None);
            return Ok(None);
        }
        let value = next.clone();
        // Overflow past the type's range ends the series (it can only
        // happen beyond `stop`, which lies within the range).
        match crate::sql::expr::add_values(value.clone(), step.clone()) {
            Ok(v) => *next = v,
            Err(_) => self.state = Some(None),
        }
        Ok(Some(vec![value]))
    }
}
