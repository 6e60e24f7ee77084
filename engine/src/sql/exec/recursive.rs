//! WITH RECURSIVE at run time: the recursive union and the scan of its
//! work table.

use std::collections::HashSet;

use super::{ExecCtx, Operator, Row, collect};
use crate::sql::error::SqlResult;
use crate::sql::plan::{Plan, WorkTable};

/// Computes the whole CTE on the first row asked for: the recursion must
/// finish before its rows are known to be complete (UNION) and each round
/// needs the previous one whole.
pub(crate) struct RecursiveCte {
    anchor: Plan,
    step: Plan,
    all: bool,
    work: WorkTable,
    rows: Option<std::vec::IntoIter<Row>>,
}

impl RecursiveCte {
    pub(crate) fn new(anchor: Plan, step: Plan, all: bool, work: WorkTable) -> RecursiveCte {
        RecursiveCte {
            anchor,
            step,
            all,
            work,
            rows: None,
        }
    }

    fn run(&self, cx: &mut ExecCtx<'_>) -> SqlResult<Vec<Row>> {
        let mut seen: HashSet<Row> = HashSet::new();
        let keep = |rows: Vec<Row>, seen: &mut HashSet<Row>| -> Vec<Row> {
            if self.all {
                rows
            } else {
                rows.into_iter()
                    .filter(|r| seen.insert(r.clone()))
                    .collect()
            }
        };
        let mut round = keep(collect(&self.anchor, cx)?, &mut seen);
        let mut out = round.clone();
        // A recursion that never ends is stopped by the statement timeout
        // or a cancel, as in PostgreSQL; collect checks both per row.
        while !round.is_empty() {
            cx.check_cancel()?;
            *self.work.0.lock() = round;
            let next = collect(&self.step, cx);
            self.work.0.lock().clear();
            round = keep(next?, &mut seen);
            out.extend(round.iter().cloned());
        }
        Ok(out)
    }
}

impl Operator for RecursiveCte {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        if self.rows.is_none() {
            self.rows = Some(self.run(cx)?.into_iter());
        }
        Ok(self.rows.as_mut().and_then(Iterator::next))
    }
}

/// The previous round's rows, as they were when the scan started.
pub(crate) struct WorkTableScan {
    work: WorkTable,
    rows: Option<std::vec::IntoIter<Row>>,
}

impl WorkTableScan {
    pub(crate) fn new(work: WorkTable) -> WorkTableScan {
        WorkTableScan { work, rows: None }
    }
}

impl Operator for WorkTableScan {
    fn next(&mut self, _cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        let rows = self
            .rows
            .get_or_insert_with(|| self.work.0.lock().clone().into_iter());
        Ok(rows.next())
    }
}
