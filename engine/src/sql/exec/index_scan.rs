//! Reading a table through an index: the primary key's B+tree (the table
//! itself) or a secondary index whose entries hold the row's key.
//!
//! When the scan starts, the probe expressions of its bounds are evaluated
//! once and turned into key ranges over the index: one per IN alternative,
//! sorted so rows come out in index order, duplicates merged. A primary
//! key bound on every column is a single point read. Each range is paged
//! through a chunk at a time like a sequential scan; secondary entries
//! lead to the row by one more point read. Every row is checked against
//! the whole WHERE predicate, because bounds are only a superset of it
//! (a probe cast to the column's type may round).

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use super::{ExecCtx, KeyedScan, Operator, Row};
use crate::catalog::{TableDef, index_prefix, prefix_end, table_prefix};
use crate::sql::binder::base_type;
use crate::sql::error::SqlResult;
use crate::sql::expr::{Expr, eval, eval_predicate};
use crate::sql::plan::{IndexBounds, IndexChoice};
use crate::types::{DataType, Value, decode_row, encode_key};

const CHUNK: usize = 256;

/// A lower and an upper bound of keys.
type KeyBounds = (Bound<Vec<u8>>, Bound<Vec<u8>>);

enum KeyRange {
    /// Exactly one key (a fully bound primary key).
    Point(Vec<u8>),
    /// Every key between the bounds.
    Range(Bound<Vec<u8>>, Bound<Vec<u8>>),
}

pub(crate) struct IndexScan {
    table: Arc<TableDef>,
    index: IndexChoice,
    bounds: Box<IndexBounds>,
    reverse: bool,
    filter: Option<Expr>,
    types: Vec<DataType>,
    /// Ranges not started yet; `None` before the first row is asked for.
    pending: Option<VecDeque<KeyRange>>,
    /// The range being paged through.
    current: Option<KeyBounds>,
    /// Index entries (key, value) read but not yet returned.
    buffer: VecDeque<(Vec<u8>, Vec<u8>)>,
}

impl IndexScan {
    pub(crate) fn new(
        table: Arc<TableDef>,
        index: IndexChoice,
        bounds: Box<IndexBounds>,
        reverse: bool,
        filter: Option<Expr>,
    ) -> Self {
        IndexScan {
            types: table.types(),
            table,
            index,
            bounds,
            reverse,
            filter: filter.map(super::folded),
            pending: None,
            current: None,
            buffer: VecDeque::new(),
        }
    }

    /// The types of the key parts, in key order: of the key columns, or of
    /// an index's expressions.
    fn key_types(&self) -> Vec<DataType> {
        let of = |cols: &[usize]| {
            cols.iter()
                .filter_map(|c| self.types.get(*c).copied())
                .collect()
        };
        match &self.index {
            IndexChoice::Primary => self
                .table
                .primary_key
                .as_ref()
                .map_or_else(Vec::new, |k| of(&k.columns)),
            IndexChoice::Secondary(i) if i.on_expressions() => {
                i.expressions.iter().map(|x| x.ty).collect()
            }
            IndexChoice::Secondary(i) => of(&i.columns),
        }
    }

    /// A probe's value as a key part of type `ty`: `Ok(None)` when it is
    /// NULL (nothing compares equal to or beyond NULL), `Err(())` when it
    /// does not fit the type, so the bound cannot narrow.
    fn probe(
        &self,
        e: &Expr,
        ty: DataType,
        cx: &mut ExecCtx<'_>,
    ) -> SqlResult<Result<Option<Value>, ()>> {
        let v = eval(e, &[], cx)?;
        if v.is_null() {
            return Ok(Ok(None));
        }
        Ok(v.cast(&base_type(ty)).map(Some).map_err(|_| ()))
    }

    /// The key ranges of the bounds, in scan order.
    fn ranges(&self, cx: &mut ExecCtx<'_>) -> SqlResult<VecDeque<KeyRange>> {
        let cols = self.key_types();
        let mut prefix = match &self.index {
            IndexChoice::Primary => table_prefix(self.table.id),
            IndexChoice::Secondary(i) => index_prefix(i.id),
        };
        let primary = matches!(self.index, IndexChoice::Primary);
        let mut narrowing = true;
        let mut fixed = 0;
        for (e, col) in self.bounds.eq.iter().zip(&cols) {
            match self.probe(e, *col, cx)? {
                Ok(None) => return Ok(VecDeque::new()),
                Ok(Some(v)) => {
                    encode_key(&[v], &[], &mut prefix);
                    fixed += 1;
                }
                Err(()) => {
                    narrowing = false;
                    break;
                }
            }
        }
        let whole = |p: &[u8]| (Bound::Included(p.to_vec()), prefix_end(p));
        let mut out = Vec::new();
        let next = cols.get(fixed).copied();
        match next {
            Some(col) if narrowing && !self.bounds.any_of.is_empty() => {
                let mut keys = Vec::new();
                for e in &self.bounds.any_of {
                    match self.probe(e, col, cx)? {
                        Ok(None) => {}
                        Ok(Some(v)) => {
                            let mut k = prefix.clone();
                            encode_key(&[v], &[], &mut k);
                            keys.push(k);
                        }
                        Err(()) => {
                            keys = vec![prefix.clone()];
                            break;
                        }
                    }
                }
                keys.sort();
                keys.dedup();
                let point = primary && fixed + 1 == cols.len();
                for k in keys {
                    out.push(if point && k.len() > prefix.len() {
                        KeyRange::Point(k)
                    } else {
                        let (l, u) = whole(&k);
                        KeyRange::Range(l, u)
                    });
                }
            }
            Some(col) if narrowing => {
                let mut lower = Bound::Included(prefix.clone());
                let mut upper = prefix_end(&prefix);
                if let Some(e) = &self.bounds.lower {
                    match self.probe(e, col, cx)? {
                        Ok(None) => return Ok(VecDeque::new()),
                        Ok(Some(v)) => {
                            let mut k = prefix.clone();
                            encode_key(&[v], &[], &mut k);
                            lower = Bound::Included(k);
                        }
                        Err(()) => {}
                    }
                }
                if let Some(e) = &self.bounds.upper {
                    match self.probe(e, col, cx)? {
                        Ok(None) => return Ok(VecDeque::new()),
                        Ok(Some(v)) => {
                            let mut k = prefix.clone();
                            encode_key(&[v], &[], &mut k);
                            upper = prefix_end(&k);
                        }
                        Err(()) => {}
                    }
                }
                out.push(KeyRange::Range(lower, upper));
            }
            None if primary && narrowing => out.push(KeyRange::Point(prefix)),
            _ => {
                let (l, u) = whole(&prefix);
                out.push(KeyRange::Range(l, u));
            }
        }
        if self.reverse {
            out.reverse();
        }
        Ok(out.into())
    }

    /// Fills the buffer with the next entries; `false` when none are left.
    fn refill(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<bool> {
        loop {
            if let Some((lower, upper)) = self.current.take() {
                cx.check_cancel()?;
                let chunk = cx
                    .txn
                    .scan_chunk(lower.clone(), upper.clone(), self.reverse, CHUNK)?;
                let full = chunk.len() == CHUNK;
                if full && let Some((last, _)) = chunk.last() {
                    // Move the bound past what was read, the way the walk
                    // goes, and come back for more.
                    self.current = Some(if self.reverse {
                        (lower, Bound::Excluded(last.clone()))
                    } else {
                        (Bound::Excluded(last.clone()), upper)
                    });
                }
                if !chunk.is_empty() {
                    self.buffer.extend(chunk);
                    return Ok(true);
                }
                continue;
            }
            let Some(range) = self.pending.as_mut().and_then(VecDeque::pop_front) else {
                return Ok(false);
            };
            match range {
                KeyRange::Point(k) => {
                    if let Some(v) = cx.txn.get(&k)? {
                        self.buffer.push_back((k, v));
                        return Ok(true);
                    }
                }
                KeyRange::Range(l, u) => self.current = Some((l, u)),
            }
        }
    }
}

impl KeyedScan for IndexScan {
    fn next_keyed(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<(Vec<u8>, Row)>> {
        if self.pending.is_none() {
            self.pending = Some(self.ranges(cx)?);
        }
        loop {
            let Some((key, value)) = self.buffer.pop_front() else {
                if !self.refill(cx)? {
                    return Ok(None);
                }
                continue;
            };
            let (row_key, bytes) = match self.index {
                IndexChoice::Primary => (key, value),
                // A secondary entry's value is the row's key.
                IndexChoice::Secondary(_) => match cx.txn.get(&value)? {
                    Some(bytes) => (value, bytes),
                    None => continue,
                },
            };
            let row = decode_row(&bytes, &self.types)?;
            if let Some(f) = &self.filter
                && !eval_predicate(f, &row, cx)?
            {
                continue;
            }
            return Ok(Some((row_key, row)));
        }
    }
}

impl Operator for IndexScan {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        Ok(self.next_keyed(cx)?.map(|(_, row)| row))
    }
}
