//! LIMIT and OFFSET: stops pulling once enough rows went out.

use super::{ExecCtx, Operator, Row};
use crate::SqlState;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::{Expr, eval};
use crate::types::{DataType, Value};

pub(super) struct Limit {
    input: Box<dyn Operator>,
    limit: Option<Expr>,
    offset: Option<Expr>,
    bounds: Option<(Option<u64>, u64)>,
    returned: u64,
}

impl Limit {
    pub(super) fn new(input: Box<dyn Operator>, limit: Option<Expr>, offset: Option<Expr>) -> Self {
        Limit {
            input,
            limit,
            offset,
            bounds: None,
            returned: 0,
        }
    }
}

pub(super) fn count(
    expr: &Expr,
    cx: &mut ExecCtx<'_>,
    state: SqlState,
    what: &str,
) -> SqlResult<Option<u64>> {
    match eval(expr, &[], cx)?.cast(&DataType::Int8)? {
        Value::Null => Ok(None),
        Value::Int8(n) if n >= 0 => Ok(Some(n as u64)),
        _ => Err(SqlError::data(
            state,
            format!("{what} must not be negative"),
        )),
    }
}

impl Operator for Limit {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        let (limit, offset) = match self.bounds {
            Some(b) => b,
            None => {
                let limit = match &self.limit {
                    Some(e) => count(e, cx, SqlState::INVALID_ROW_COUNT_IN_LIMIT, "LIMIT")?,
                    None => None,
                };
                let offset = match &self.offset {
                    Some(e) => {
                        count(e, cx, SqlState::INVALID_ROW_COUNT_IN_OFFSET, "OFFSET")?.unwrap_or(0)
                    }
                    None => 0,
                };
                for _ in 0..offset {
                    if self.input.next(cx)?.is_none() {
                        break;
                    }
                }
                self.bounds = Some((limit, offset));
                (limit, offset)
            }
        };
        let _ = offset;
        if limit.is_some_and(|l| self.returned >= l) {
            return Ok(None);
        }
        let row = self.input.next(cx)?;
        if row.is_some() {
            self.returned += 1;
        }
        Ok(row)
    }
}
