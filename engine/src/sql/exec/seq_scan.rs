//! A table scan in primary-key order, a chunk of keys at a time, so no
//! iterator holds the transaction between rows and memory stays bounded.
//!
//! Each chunk is lent by the store row by row ([`KvTxn::scan_visit`]) and
//! decoded straight into the rows of a [`Batch`], whose vectors the next
//! chunk reuses: read through [`Operator::next_batch`], a scan allocates
//! nothing per row for tables of fixed-size columns.
//!
//! [`KvTxn::scan_visit`]: crate::catalog::KvTxn::scan_visit

use std::ops::Bound;
use std::sync::Arc;

use super::batch::{BATCH, Batch};
use super::{ExecCtx, KeyedScan, Operator, Row};
use crate::catalog::{ScanKey, TableDef, prefix_end, table_prefix};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::{Expr, eval_predicate};
use crate::types::{DataType, Value, decode_row_into};

pub(crate) struct SeqScan {
    reader: Reader,
    /// Rows read for `next` and `next_keyed`, handed out from `pos`.
    buffered: Batch,
    pos: usize,
}

/// The scan's position and what it decodes and tests rows with.
struct Reader {
    /// The column types rows are decoded with, taken once from the table.
    types: Vec<DataType>,
    filter: Option<Expr>,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    /// The last key of the last full chunk, where the next one starts
    /// after, kept in one buffer for the whole scan.
    last: Vec<u8>,
    done: bool,
}

impl SeqScan {
    pub(crate) fn new(table: Arc<TableDef>, filter: Option<Expr>) -> Self {
        let prefix = table_prefix(table.id);
        SeqScan {
            reader: Reader {
                upper: prefix_end(&prefix),
                lower: Bound::Included(prefix),
                types: table.types(),
                filter: filter.map(super::folded),
                last: Vec::new(),
                done: false,
            },
            buffered: Batch::default(),
            pos: 0,
        }
    }

    /// The next buffered row, reading a chunk when they are used up.
    fn next_buffered(&mut self, cx: &mut ExecCtx<'_>, keyed: bool) -> SqlResult<Option<Row>> {
        while self.pos >= self.buffered.len() {
            if self.reader.done {
                return Ok(None);
            }
            self.reader.read(cx, &mut self.buffered, keyed)?;
            self.pos = 0;
        }
        self.pos += 1;
        Ok(self.buffered.take(self.pos - 1))
    }
}

impl Reader {
    /// Replaces `batch` with the matching rows of the next chunks, until
    /// some match or the table ends; `keyed` appends each row's storage
    /// key as a last column.
    fn read(&mut self, cx: &mut ExecCtx<'_>, batch: &mut Batch, keyed: bool) -> SqlResult<()> {
        batch.clear();
        while batch.is_empty() && !self.done {
            cx.check_cancel()?;
            let mut failed: Option<SqlError> = None;
            let (types, last) = (&self.types, &mut self.last);
            let mut seen = 0;
            let visited = cx.txn.scan_visit(
                self.lower.clone(),
                self.upper.clone(),
                false,
                BATCH,
                &mut |key, value| {
                    let row = batch.push_empty();
                    if let Err(e) = decode_row_into(value, types, row) {
                        failed = Some(e.into());
                        return false;
                    }
                    seen += 1;
                    if let Err(e) = keep_key(key, keyed, seen == BATCH, row, last) {
                        failed = Some(e);
                        return false;
                    }
                    true
                },
            )?;
            if let Some(e) = failed {
                return Err(e);
            }
            if visited < BATCH {
                self.done = true;
            } else {
                self.lower = Bound::Excluded(self.last.clone());
            }
            if let Some(f) = &self.filter {
                batch.retain(|row| eval_predicate(f, row, cx))?;
            }
        }
        Ok(())
    }
}

/// Copies what the scan keeps of a row's key: the key itself as the row's
/// last column when `keyed`, and the position to resume after when the row
/// ends a full chunk. Only a full chunk is resumed after, so the other
/// rows' keys are never turned back into user keys.
fn keep_key(
    key: ScanKey<'_>,
    keyed: bool,
    ends_chunk: bool,
    row: &mut Row,
    last: &mut Vec<u8>,
) -> SqlResult<()> {
    let lower = |e| SqlError::from(crate::Error::Txn(e));
    if keyed {
        row.push(Value::Bytea(key.to_vec().map_err(lower)?));
    }
    if ends_chunk {
        key.copy_into(last).map_err(lower)?;
    }
    Ok(())
}

impl Operator for SeqScan {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        self.next_buffered(cx, false)
    }

    fn next_batch(&mut self, cx: &mut ExecCtx<'_>, batch: &mut Batch) -> SqlResult<()> {
        if self.reader.done {
            batch.clear();
            return Ok(());
        }
        self.reader.read(cx, batch, false)
    }
}

impl KeyedScan for SeqScan {
    fn next_keyed(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<(Vec<u8>, Row)>> {
        let Some(mut row) = self.next_buffered(cx, true)? else {
            return Ok(None);
        };
        match row.pop() {
            Some(Value::Bytea(key)) => Ok(Some((key, row))),
            _ => Err(SqlError::Internal(
                "a keyed scan row without its key".into(),
            )),
        }
    }
}
