//! Filtering and projection, row by row.

use super::{ExecCtx, Operator, Row};
use crate::sql::error::SqlResult;
use crate::sql::expr::{Expr, eval, eval_predicate};

pub(super) struct Filter {
    input: Box<dyn Operator>,
    predicate: Expr,
}

impl Filter {
    pub(super) fn new(input: Box<dyn Operator>, predicate: Expr) -> Self {
        Filter {
            input,
            predicate: super::folded(predicate),
        }
    }
}

impl Operator for Filter {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        while let Some(row) = self.input.next(cx)? {
            if eval_predicate(&self.predicate, &row, cx)? {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}

pub(super) struct Project {
    input: Box<dyn Operator>,
    exprs: Vec<Expr>,
}

impl Project {
    pub(super) fn new(input: Box<dyn Operator>, exprs: Vec<Expr>) -> Self {
        Project {
            input,
            exprs: exprs.into_iter().map(super::folded).collect(),
        }
    }
}

impl Operator for Project {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        let Some(row) = self.input.next(cx)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(self.exprs.len());
        for e in &self.exprs {
            out.push(eval(e, &row, cx)?);
        }
        Ok(Some(out))
    }
}
