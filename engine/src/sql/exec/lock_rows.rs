//! `SELECT … FOR UPDATE | FOR SHARE`: locks the table rows each output row
//! was made of, as it passes.
//!
//! The node sits above the sort and below LIMIT, as PostgreSQL's LockRows
//! does, so `ORDER BY … LIMIT 1 FOR UPDATE SKIP LOCKED` (a job queue) locks
//! the one row it returns, not every row it sorted. Each input row carries
//! its whole FROM row after the output columns. When a lock had to wait
//! for a transaction that then committed a new version of the row (READ
//! COMMITTED only; above it the lock fails with 40001), the new version
//! replaces the old in the FROM row, the WHERE is checked again, and the
//! output columns are computed again: the caller gets the row as it is
//! now, or not at all if it was deleted or no longer qualifies.

use super::{ExecCtx, Operator, Row};
use crate::catalog::RowLock;
use crate::sql::error::SqlResult;
use crate::sql::expr::{Expr, eval, eval_predicate};
use crate::sql::plan::LockTarget;
use crate::types::{Value, decode_row};

pub(super) struct LockRows {
    input: Box<dyn Operator>,
    targets: Vec<LockTarget>,
    from: usize,
    recheck: Option<Expr>,
    outputs: Vec<Expr>,
}

impl LockRows {
    pub(super) fn new(
        input: Box<dyn Operator>,
        targets: &[LockTarget],
        from: usize,
        recheck: Option<Expr>,
        outputs: Vec<Expr>,
    ) -> Self {
        LockRows {
            input,
            targets: targets.to_vec(),
            from,
            recheck,
            outputs,
        }
    }

    /// Locks the rows `row` was made of; `false` leaves the row out (a row
    /// skipped, deleted, or no longer meeting the WHERE).
    fn lock(&self, row: &mut Row, cx: &mut ExecCtx<'_>) -> SqlResult<bool> {
        let mut changed = false;
        for t in &self.targets {
            // NULL: the table's side of an outer join found no row.
            let Some(Value::Bytea(key)) = row.get(self.from + t.key) else {
                continue;
            };
            let key = key.clone();
            match cx.txn.lock_row(&key, t.strength, t.wait)? {
                RowLock::Unchanged => {}
                RowLock::Skipped | RowLock::Changed(None) => return Ok(false),
                RowLock::Changed(Some(bytes)) => {
                    let start = self.from + t.start;
                    let new = decode_row(&bytes, &t.table.types())?;
                    row.splice(start..start + new.len(), new);
                    changed = true;
                }
            }
        }
        if changed {
            let from_row = &row[self.from..];
            if let Some(p) = &self.recheck
                && !eval_predicate(p, from_row, cx)?
            {
                return Ok(false);
            }
            let outputs = self
                .outputs
                .iter()
                .map(|e| eval(e, from_row, cx))
                .collect::<SqlResult<Vec<_>>>()?;
            row.splice(..self.from, outputs);
        }
        Ok(true)
    }
}

impl Operator for LockRows {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        while let Some(mut row) = self.input.next(cx)? {
            if self.lock(&mut row, cx)? {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}
