//! Filtering and projection, row by row or a batch at a time.

use super::{Batch, ExecCtx, Operator, Row};
use crate::sql::error::SqlResult;
use crate::sql::expr::{Expr, RowExpr, eval_predicate};

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

    fn next_batch(&mut self, cx: &mut ExecCtx<'_>, batch: &mut Batch) -> SqlResult<()> {
        loop {
            self.input.next_batch(cx, batch)?;
            if batch.is_empty() {
                return Ok(());
            }
            batch.retain(|row| eval_predicate(&self.predicate, row, cx))?;
            if !batch.is_empty() {
                return Ok(());
            }
        }
    }
}

pub(super) struct Project {
    input: Box<dyn Operator>,
    exprs: Vec<RowExpr>,
    /// The input batch, read again and again into the same rows.
    input_batch: Batch,
}

impl Project {
    pub(super) fn new(input: Box<dyn Operator>, exprs: Vec<Expr>) -> Self {
        Project {
            input,
            exprs: exprs
                .into_iter()
                .map(|e| RowExpr::new(super::folded(e)))
                .collect(),
            input_batch: Batch::default(),
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
            out.push(e.eval(&row, cx)?);
        }
        Ok(Some(out))
    }

    fn next_batch(&mut self, cx: &mut ExecCtx<'_>, batch: &mut Batch) -> SqlResult<()> {
        self.input.next_batch(cx, &mut self.input_batch)?;
        batch.clear();
        for row in self.input_batch.rows() {
            let out = batch.push_empty();
            for e in &self.exprs {
                out.push(e.eval(row, cx)?);
            }
        }
        Ok(())
    }
}
