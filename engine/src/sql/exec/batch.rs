//! [`Batch`]: rows passed between operators many at a time.
//!
//! A consumer that reads its whole input (an aggregation, a Wasm call
//! batch) asks for rows with [`super::Operator::next_batch`] and hands the
//! same batch back each time. The rows' vectors stay in it from batch to
//! batch, so a scan decodes into last batch's rows and a projection writes
//! into last batch's outputs instead of allocating a row per row.

use super::Row;
use crate::sql::error::SqlResult;
use crate::sql::routine::query_calls::BATCH_ROWS;

/// Rows a batch-producing operator yields at most per call: the rows of
/// one Wasm call, so a batch above a scan is one guest call.
pub(crate) const BATCH: usize = BATCH_ROWS;

/// A batch of rows; `rows[..len]` are its rows, the rest spare vectors.
#[derive(Default)]
pub struct Batch {
    rows: Vec<Row>,
    len: usize,
}

impl Batch {
    /// Empties the batch, keeping the rows' allocations.
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn rows(&self) -> &[Row] {
        self.rows.get(..self.len).unwrap_or_default()
    }

    pub(crate) fn rows_mut(&mut self) -> &mut [Row] {
        self.rows.get_mut(..self.len).unwrap_or_default()
    }

    /// Appends an empty row (a spare one when there is one) to be filled.
    pub(crate) fn push_empty(&mut self) -> &mut Row {
        if self.len == self.rows.len() {
            self.rows.push(Row::new());
        }
        self.len += 1;
        let row = &mut self.rows[self.len - 1];
        row.clear();
        row
    }

    /// Appends `row`.
    pub(crate) fn push(&mut self, row: Row) {
        if self.len == self.rows.len() {
            self.rows.push(row);
        } else {
            self.rows[self.len] = row;
        }
        self.len += 1;
    }

    /// Row `i`, moved out (an empty row is left in its place).
    pub(crate) fn take(&mut self, i: usize) -> Option<Row> {
        if i >= self.len {
            return None;
        }
        self.rows.get_mut(i).map(std::mem::take)
    }

    /// Keeps the rows `keep` accepts, in order.
    pub(crate) fn retain(
        &mut self,
        mut keep: impl FnMut(&mut Row) -> SqlResult<bool>,
    ) -> SqlResult<()> {
        let mut kept = 0;
        for i in 0..self.len {
            if keep(&mut self.rows[i])? {
                self.rows.swap(kept, i);
                kept += 1;
            }
        }
        self.len = kept;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Value;

    fn ints(batch: &Batch) -> Vec<Vec<i64>> {
        batch
            .rows()
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| match v {
                        Value::Int8(i) => *i,
                        _ => -1,
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn rows_are_reused_after_clear() {
        let mut batch = Batch::default();
        batch.push_empty().push(Value::Int8(1));
        batch.push(vec![Value::Int8(2), Value::Int8(3)]);
        assert_eq!(ints(&batch), [vec![1], vec![2, 3]]);
        let spare = batch.rows()[1].as_ptr();
        batch.clear();
        assert!(batch.is_empty());
        batch.push_empty();
        let reused = batch.push_empty();
        assert!(reused.is_empty(), "a reused row starts empty");
        assert_eq!(reused.as_ptr(), spare, "the spare row's vector is reused");
        assert_eq!(batch.len(), 2);
    }

    #[test]
    fn retain_keeps_order_and_drops_the_rest() {
        let mut batch = Batch::default();
        for i in 0..6 {
            batch.push(vec![Value::Int8(i)]);
        }
        batch
            .retain(|r| Ok(matches!(r.first(), Some(Value::Int8(i)) if i % 2 == 1)))
            .unwrap();
        assert_eq!(ints(&batch), [vec![1], vec![3], vec![5]]);
        assert_eq!(batch.rows_mut().len(), 3);
    }

    #[test]
    fn take_moves_a_row_out() {
        let mut batch = Batch::default();
        batch.push(vec![Value::Int8(4)]);
        assert_eq!(batch.take(0), Some(vec![Value::Int8(4)]));
        assert_eq!(batch.take(1), None);
        batch.clear();
        assert_eq!(batch.take(0), None, "a cleared batch has no rows");
    }
}
