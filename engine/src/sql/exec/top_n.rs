//! ORDER BY ... LIMIT n [OFFSET m] without an index: keeps the best
//! `n + m` rows seen so far instead of sorting the whole input, so memory
//! is bounded by the limit, not the table.

use super::limit::count;
use super::sort::compare;
use super::{ExecCtx, Operator, Row};
use crate::SqlState;
use crate::sql::error::SqlResult;
use crate::sql::expr::{Expr, eval};
use crate::sql::plan::SortKey;
use crate::types::Value;

pub(super) struct TopN {
    input: Box<dyn Operator>,
    keys: Vec<SortKey>,
    limit: Expr,
    offset: Option<Expr>,
    out: Option<std::vec::IntoIter<Row>>,
}

impl TopN {
    pub(super) fn new(
        input: Box<dyn Operator>,
        keys: Vec<SortKey>,
        limit: Expr,
        offset: Option<Expr>,
    ) -> Self {
        TopN {
            input,
            keys,
            limit,
            offset,
            out: None,
        }
    }

    fn run(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Vec<Row>> {
        let limit = count(
            &self.limit,
            cx,
            SqlState::INVALID_ROW_COUNT_IN_LIMIT,
            "LIMIT",
        )?;
        let offset = match &self.offset {
            Some(e) => count(e, cx, SqlState::INVALID_ROW_COUNT_IN_OFFSET, "OFFSET")?.unwrap_or(0),
            None => 0,
        };
        // LIMIT NULL is no limit: keep everything.
        let keep = limit.map(|l| usize::try_from(l.saturating_add(offset)).unwrap_or(usize::MAX));
        let mut best: Vec<(Vec<Value>, Row)> = Vec::new();
        while let Some(row) = self.input.next(cx)? {
            cx.check_cancel()?;
            let mut key = Vec::with_capacity(self.keys.len());
            for k in &self.keys {
                key.push(eval(&k.expr, &row, cx)?);
            }
            best.push((key, row));
            // Sorting (stably) and cutting once the buffer holds twice
            // what is kept makes each row cost O(log n) amortized.
            if let Some(keep) = keep
                && best.len() >= keep.saturating_mul(2).max(64)
            {
                best.sort_by(|a, b| compare(&a.0, &b.0, &self.keys));
                best.truncate(keep);
            }
        }
        best.sort_by(|a, b| compare(&a.0, &b.0, &self.keys));
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        Ok(best
            .into_iter()
            .skip(skip)
            .take(keep.map_or(usize::MAX, |k| k.saturating_sub(skip)))
            .map(|(_, r)| r)
            .collect())
    }
}

impl Operator for TopN {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        if self.out.is_none() {
            let rows = self.run(cx)?;
            self.out = Some(rows.into_iter());
        }
        Ok(self.out.as_mut().and_then(Iterator::next))
    }
}
