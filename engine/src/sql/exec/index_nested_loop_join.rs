//! Index nested-loop join: for each outer row, the inner table is read
//! through an index (or its primary key) bounded by values of that row,
//! so only matching inner rows are touched and nothing is held in memory.
//!
//! The inner plan is an ordinary index scan whose probe expressions read
//! the outer row as `Expr::Outer { depth: 1 }` — the way a correlated
//! subquery reads its enclosing row. The outer row is pushed onto
//! [`ExecCtx::outer`] only for the duration of each call into the inner
//! scan, so operators above this one keep seeing their own outer rows.
//! LEFT joins emit the outer row padded with NULLs when nothing matched.

use super::{ExecCtx, Operator, Row, build};
use crate::sql::error::SqlResult;
use crate::sql::expr::{Expr, eval_predicate};
use crate::sql::plan::{JoinKind, Plan};
use crate::types::Value;

pub(super) struct IndexNestedLoopJoin {
    kind: JoinKind,
    outer: Box<dyn Operator>,
    inner_plan: Plan,
    on: Option<Expr>,
    inner_width: usize,
    /// The outer row being joined, its inner scan, and whether any inner
    /// row matched it yet.
    current: Option<(Row, Box<dyn Operator>, bool)>,
}

impl IndexNestedLoopJoin {
    pub(super) fn new(
        kind: JoinKind,
        outer: Box<dyn Operator>,
        inner_plan: Plan,
        on: Option<Expr>,
        inner_width: usize,
    ) -> Self {
        IndexNestedLoopJoin {
            kind,
            outer,
            inner_plan,
            on,
            inner_width,
            current: None,
        }
    }
}

/// The next inner row for `outer`, with `outer` visible to the scan.
fn next_inner(
    inner: &mut dyn Operator,
    outer: &Row,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<Option<Row>> {
    cx.outer.push(outer.clone());
    let r = inner.next(cx);
    cx.outer.pop();
    r
}

impl Operator for IndexNestedLoopJoin {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        loop {
            let Some((outer, inner, matched)) = self.current.as_mut() else {
                let Some(row) = self.outer.next(cx)? else {
                    return Ok(None);
                };
                cx.check_cancel()?;
                self.current = Some((row, build(&self.inner_plan), false));
                continue;
            };
            match next_inner(inner.as_mut(), outer, cx)? {
                Some(right) => {
                    let mut joined = outer.clone();
                    joined.extend(right);
                    let pass = match &self.on {
                        Some(on) => eval_predicate(on, &joined, cx)?,
                        None => true,
                    };
                    if pass {
                        *matched = true;
                        return Ok(Some(joined));
                    }
                }
                None => {
                    let unmatched = !*matched;
                    let finished = self.current.take();
                    if unmatched
                        && self.kind == JoinKind::Left
                        && let Some((mut row, _, _)) = finished
                    {
                        row.extend(std::iter::repeat_n(Value::Null, self.inner_width));
                        return Ok(Some(row));
                    }
                }
            }
        }
    }
}
