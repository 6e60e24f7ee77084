//! A table scan in primary-key order, a chunk of keys at a time, so no
//! iterator holds the transaction between rows and memory stays bounded.

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use super::{ExecCtx, KeyedScan, Operator, Row};
use crate::catalog::{TableDef, prefix_end, table_prefix};
use crate::sql::error::SqlResult;
use crate::sql::expr::{Expr, eval_predicate};
use crate::types::{DataType, decode_row};

const CHUNK: usize = 256;

pub(crate) struct SeqScan {
    /// The column types rows are decoded with, taken once from the table.
    types: Vec<DataType>,
    filter: Option<Expr>,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    buffer: VecDeque<(Vec<u8>, Vec<u8>)>,
    done: bool,
}

impl SeqScan {
    pub(crate) fn new(table: Arc<TableDef>, filter: Option<Expr>) -> Self {
        let prefix = table_prefix(table.id);
        SeqScan {
            upper: prefix_end(&prefix),
            lower: Bound::Included(prefix),
            types: table.types(),
            filter: filter.map(super::folded),
            buffer: VecDeque::new(),
            done: false,
        }
    }
}

impl Operator for SeqScan {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        Ok(self.next_keyed(cx)?.map(|(_, row)| row))
    }
}

impl KeyedScan for SeqScan {
    fn next_keyed(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<(Vec<u8>, Row)>> {
        loop {
            if self.buffer.is_empty() {
                if self.done {
                    return Ok(None);
                }
                cx.check_cancel()?;
                let chunk =
                    cx.txn
                        .scan_chunk(self.lower.clone(), self.upper.clone(), false, CHUNK)?;
                if chunk.len() < CHUNK {
                    self.done = true;
                }
                if let Some((last, _)) = chunk.last() {
                    self.lower = Bound::Excluded(last.clone());
                }
                self.buffer.extend(chunk);
                continue;
            }
            let Some((key, value)) = self.buffer.pop_front() else {
                continue;
            };
            let row = decode_row(&value, &self.types)?;
            if let Some(f) = &self.filter
                && !eval_predicate(f, &row, cx)?
            {
                continue;
            }
            return Ok(Some((key, row)));
        }
    }
}
