//! Sorting: reads all input, then yields it in order. NULL placement
//! follows each key's NULLS FIRST/LAST.

use std::cmp::Ordering;

use super::{ExecCtx, Operator, Row};
use crate::sql::error::SqlResult;
use crate::sql::expr::eval;
use crate::sql::plan::SortKey;
use crate::types::Value;

pub(super) struct Sort {
    input: Box<dyn Operator>,
    keys: Vec<SortKey>,
    sorted: Option<std::vec::IntoIter<Row>>,
}

impl Sort {
    pub(super) fn new(input: Box<dyn Operator>, keys: Vec<SortKey>) -> Self {
        Sort {
            input,
            keys,
            sorted: None,
        }
    }
}

/// Compares two key tuples under the keys' directions.
pub(super) fn compare(a: &[Value], b: &[Value], keys: &[SortKey]) -> Ordering {
    for ((x, y), k) in a.iter().zip(b).zip(keys) {
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if k.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if k.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, false) => {
                let o = x.total_cmp(y);
                if k.desc { o.reverse() } else { o }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

impl Operator for Sort {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        if self.sorted.is_none() {
            let mut keyed = Vec::new();
            while let Some(row) = self.input.next(cx)? {
                cx.check_cancel()?;
                let mut key = Vec::with_capacity(self.keys.len());
                for k in &self.keys {
                    key.push(eval(&k.expr, &row, cx)?);
                }
                keyed.push((key, row));
            }
            keyed.sort_by(|a, b| compare(&a.0, &b.0, &self.keys));
            self.sorted = Some(
                keyed
                    .into_iter()
                    .map(|(_, r)| r)
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
        }
        Ok(self.sorted.as_mut().and_then(Iterator::next))
    }
}
