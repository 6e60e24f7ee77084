//! Literal rows.

use super::{ExecCtx, Operator, Row};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::{Expr, eval};

pub(super) struct Values {
    rows: std::vec::IntoIter<Vec<Expr>>,
}

impl Values {
    pub(super) fn new(rows: Vec<Vec<Expr>>) -> Self {
        Values {
            rows: rows.into_iter(),
        }
    }
}

impl Operator for Values {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        let Some(exprs) = self.rows.next() else {
            return Ok(None);
        };
        let mut row = Vec::with_capacity(exprs.len());
        for e in &exprs {
            row.push(eval(e, &[], cx)?);
        }
        Ok(Some(row))
    }
}

/// An operator that could not be built: its error comes out of the first
/// `next`, so building stays infallible.
pub(super) struct Failed(pub(super) Option<SqlError>);

impl Operator for Failed {
    fn next(&mut self, _: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }
}
