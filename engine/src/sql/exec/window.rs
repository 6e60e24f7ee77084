//! Window functions (PostgreSQL's WindowAgg): each row gets, per call, a
//! value computed over the rows of its partition.
//!
//! The input is read whole, as a window can look at any row of a
//! partition. For each call the rows are ordered by (PARTITION BY, ORDER
//! BY); the values then come from one walk over each partition: ranks
//! from where each group of peers (rows equal in the ORDER BY) starts and
//! ends, `lag` / `lead` from neighbouring positions, frame functions and
//! aggregates from each row's frame. A frame that starts at the
//! partition's first row (the default) grows with the row, so its
//! aggregate is kept running and read at each row; any other frame is
//! aggregated afresh per row. Rows come out in the order of the first
//! call's window, as PostgreSQL's do when a query has one window.

use std::cmp::Ordering;

use super::hash_aggregate::Acc;
use super::sort::compare;
use super::{ExecCtx, Operator, Row};
use crate::SqlState;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::eval;
use crate::sql::plan::{FrameBound, SortKey, WindowCall, WindowFunc};
use crate::types::{DataType, Value};

pub(super) struct Window {
    input: Box<dyn Operator>,
    calls: Vec<WindowCall>,
    output: Option<std::vec::IntoIter<Row>>,
}

impl Window {
    pub(super) fn new(input: Box<dyn Operator>, calls: Vec<WindowCall>) -> Self {
        Window {
            input,
            calls,
            output: None,
        }
    }

    fn run(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Vec<Row>> {
        let mut rows = Vec::new();
        while let Some(row) = self.input.next(cx)? {
            rows.push(row);
        }
        let mut first_order = None;
        let mut values: Vec<Vec<Value>> = Vec::with_capacity(self.calls.len());
        for call in &self.calls {
            cx.check_cancel()?;
            let order = window_order(call, &rows, cx)?;
            values.push(call_values(call, &rows, &order, cx)?);
            first_order.get_or_insert(order.positions);
        }
        let order = first_order.unwrap_or_default();
        let mut slots: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(slots.len());
        for i in order {
            let Some(mut row) = slots.get_mut(i).and_then(Option::take) else {
                return Err(SqlError::Internal("window row used twice".into()));
            };
            for v in &mut values {
                row.push(std::mem::replace(&mut v[i], Value::Null));
            }
            out.push(row);
        }
        Ok(out)
    }
}

impl Operator for Window {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        if self.output.is_none() {
            let rows = self.run(cx)?;
            self.output = Some(rows.into_iter());
        }
        Ok(self.output.as_mut().and_then(Iterator::next))
    }
}

/// The rows of one call's window in order, with their partition and
/// ORDER BY values.
struct Ordered {
    /// Input row indexes, by (partition, order).
    positions: Vec<usize>,
    /// Per input row: partition values.
    partition: Vec<Vec<Value>>,
    /// Per input row: ORDER BY values.
    keys: Vec<Vec<Value>>,
}

fn window_order(call: &WindowCall, rows: &[Row], cx: &mut ExecCtx<'_>) -> SqlResult<Ordered> {
    let mut partition = Vec::with_capacity(rows.len());
    let mut keys = Vec::with_capacity(rows.len());
    for row in rows {
        partition.push(
            call.partition_by
                .iter()
                .map(|e| eval(e, row, cx))
                .collect::<SqlResult<Vec<_>>>()?,
        );
        keys.push(
            call.order_by
                .iter()
                .map(|k| eval(&k.expr, row, cx))
                .collect::<SqlResult<Vec<_>>>()?,
        );
    }
    let ascending: Vec<SortKey> = call
        .partition_by
        .iter()
        .map(|e| SortKey {
            expr: e.clone(),
            desc: false,
            nulls_first: false,
        })
        .collect();
    let mut positions: Vec<usize> = (0..rows.len()).collect();
    // A stable sort: rows equal in both keep their input order.
    positions.sort_by(|&a, &b| {
        compare(&partition[a], &partition[b], &ascending)
            .then_with(|| compare(&keys[a], &keys[b], &call.order_by))
    });
    Ok(Ordered {
        positions,
        partition,
        keys,
    })
}

/// The call's value for every input row (indexed as the input).
fn call_values(
    call: &WindowCall,
    rows: &[Row],
    ordered: &Ordered,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<Vec<Value>> {
    let mut out = vec![Value::Null; rows.len()];
    let pos = &ordered.positions;
    let same_partition = |a: usize, b: usize| {
        ordered.partition[a]
            .iter()
            .zip(&ordered.partition[b])
            .all(|(x, y)| match (x.is_null(), y.is_null()) {
                (true, true) => true,
                (false, false) => x.total_cmp(y) == Ordering::Equal,
                _ => false,
            })
    };
    let mut start = 0;
    while start < pos.len() {
        let mut end = start + 1;
        while end < pos.len() && same_partition(pos[start], pos[end]) {
            end += 1;
        }
        let part = Partition {
            rows,
            positions: &pos[start..end],
            keys: &ordered.keys,
            order: &call.order_by,
        };
        part.compute(call, &mut out, cx)?;
        start = end;
    }
    Ok(out)
}

/// One partition of one call's window.
struct Partition<'a> {
    rows: &'a [Row],
    /// Input row indexes in window order.
    positions: &'a [usize],
    keys: &'a [Vec<Value>],
    order: &'a [SortKey],
}

impl Partition<'_> {
    fn row(&self, i: usize) -> &Row {
        &self.rows[self.positions[i]]
    }

    fn peers(&self, a: usize, b: usize) -> bool {
        compare(
            &self.keys[self.positions[a]],
            &self.keys[self.positions[b]],
            self.order,
        ) == Ordering::Equal
    }

    /// For each position, the first and one-past-the-last position of its
    /// peer group.
    fn peer_groups(&self) -> Vec<(usize, usize)> {
        let n = self.positions.len();
        let mut groups = vec![(0, 0); n];
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && self.peers(start, end) {
                end += 1;
            }
            for g in &mut groups[start..end] {
                *g = (start, end);
            }
            start = end;
        }
        groups
    }

    /// The frame of position `i`, as positions `[lo, hi)` (empty if
    /// `lo >= hi`).
    fn frame(&self, call: &WindowCall, i: usize, peers: (usize, usize)) -> (usize, usize) {
        let n = self.positions.len();
        let offset = |i: usize, by: u64, back: bool| {
            let by = usize::try_from(by).unwrap_or(usize::MAX);
            if back {
                i.saturating_sub(by)
            } else {
                i.saturating_add(by).min(n)
            }
        };
        let f = call.frame;
        let lo = match f.start {
            FrameBound::UnboundedPreceding => 0,
            FrameBound::Preceding(k) => offset(i, k, true),
            FrameBound::CurrentRow if f.rows => i,
            FrameBound::CurrentRow => peers.0,
            FrameBound::Following(k) => offset(i, k, false),
            FrameBound::UnboundedFollowing => n,
        };
        let hi = match f.end {
            FrameBound::UnboundedPreceding => 0,
            FrameBound::Preceding(k) => {
                (i + 1).saturating_sub(usize::try_from(k).unwrap_or(usize::MAX))
            }
            FrameBound::CurrentRow if f.rows => i + 1,
            FrameBound::CurrentRow => peers.1,
            FrameBound::Following(k) => offset(i, k, false).saturating_add(1).min(n),
            FrameBound::UnboundedFollowing => n,
        };
        (lo, hi)
    }

    fn compute(&self, call: &WindowCall, out: &mut [Value], cx: &mut ExecCtx<'_>) -> SqlResult<()> {
        let n = self.positions.len();
        let groups = self.peer_groups();
        let arg = |e: usize, i: usize, cx: &mut ExecCtx<'_>| -> SqlResult<Value> {
            match call.args.get(e) {
                Some(a) => eval(a, self.row(i), cx),
                None => Ok(Value::Null),
            }
        };
        let mut dense = 0i64;
        let mut running: Option<(Acc, usize)> = None;
        for i in 0..n {
            let (first_peer, last_peer) = groups[i];
            if first_peer == i {
                dense += 1;
            }
            let value = match &call.func {
                WindowFunc::RowNumber => Value::Int8(i as i64 + 1),
                WindowFunc::Rank => Value::Int8(first_peer as i64 + 1),
                WindowFunc::DenseRank => Value::Int8(dense),
                WindowFunc::PercentRank => Value::Float8(if n > 1 {
                    first_peer as f64 / (n - 1) as f64
                } else {
                    0.0
                }),
                WindowFunc::CumeDist => Value::Float8(last_peer as f64 / n as f64),
                WindowFunc::Ntile => ntile(arg(0, i, cx)?, i, n)?,
                WindowFunc::Lag | WindowFunc::Lead => {
                    let by = match call.args.get(1) {
                        Some(e) => match eval(e, self.row(i), cx)? {
                            Value::Null => {
                                out[self.positions[i]] = Value::Null;
                                continue;
                            }
                            v => int_arg(&v)?,
                        },
                        None => 1,
                    };
                    let by = if matches!(call.func, WindowFunc::Lag) {
                        -by
                    } else {
                        by
                    };
                    let at = i64::try_from(i).ok().and_then(|i| i.checked_add(by));
                    match at
                        .and_then(|at| usize::try_from(at).ok())
                        .filter(|&at| at < n)
                    {
                        Some(at) => arg(0, at, cx)?,
                        None => arg(2, i, cx)?,
                    }
                }
                WindowFunc::FirstValue | WindowFunc::LastValue | WindowFunc::NthValue => {
                    let (lo, hi) = self.frame(call, i, (first_peer, last_peer));
                    let at = match call.func {
                        WindowFunc::FirstValue => Some(lo),
                        WindowFunc::LastValue => hi.checked_sub(1),
                        _ => match arg(1, i, cx)? {
                            Value::Null => None,
                            v => {
                                let k = int_arg(&v)?;
                                if k <= 0 {
                                    return Err(SqlError::data(
                                        SqlState::INVALID_ARGUMENT_FOR_NTH_VALUE,
                                        "argument of nth_value must be greater than zero",
                                    ));
                                }
                                usize::try_from(k - 1).ok().map(|k| lo.saturating_add(k))
                            }
                        },
                    };
                    match at.filter(|&at| at >= lo && at < hi) {
                        Some(at) => arg(0, at, cx)?,
                        None => Value::Null,
                    }
                }
                WindowFunc::Aggregate(agg) => {
                    let (lo, hi) = self.frame(call, i, (first_peer, last_peer));
                    if lo == 0 && call.frame.start == FrameBound::UnboundedPreceding {
                        // A growing frame: add the rows it gained.
                        let (acc, upto) = running.get_or_insert_with(|| (Acc::new(agg), 0));
                        while *upto < hi {
                            self.add(agg, acc, *upto, cx)?;
                            *upto += 1;
                        }
                        acc.clone().finish(agg, cx)?
                    } else {
                        let mut acc = Acc::new(agg);
                        for j in lo..hi {
                            self.add(agg, &mut acc, j, cx)?;
                        }
                        acc.finish(agg, cx)?
                    }
                }
            };
            out[self.positions[i]] = value;
        }
        Ok(())
    }

    /// Feeds the row at position `j` to a window aggregate.
    fn add(
        &self,
        agg: &crate::sql::plan::AggCall,
        acc: &mut Acc,
        j: usize,
        cx: &mut ExecCtx<'_>,
    ) -> SqlResult<()> {
        let row = self.row(j);
        if let Some(f) = &agg.filter
            && !crate::sql::expr::eval_predicate(f, row, cx)?
        {
            return Ok(());
        }
        let mut args = agg
            .args
            .iter()
            .map(|a| eval(a, row, cx))
            .collect::<SqlResult<Vec<_>>>()?;
        acc.add(agg, &mut args, cx)
    }
}

fn int_arg(v: &Value) -> SqlResult<i64> {
    match v.cast(&DataType::Int8)? {
        Value::Int8(n) => Ok(n),
        _ => Err(SqlError::Internal("window offset is not an integer".into())),
    }
}

/// `ntile(buckets)` of position `i` of `n`: PostgreSQL's buckets, the
/// first `n % buckets` of them one row larger.
fn ntile(buckets: Value, i: usize, n: usize) -> SqlResult<Value> {
    if buckets.is_null() {
        return Ok(Value::Null);
    }
    let b = int_arg(&buckets)?;
    if b <= 0 {
        return Err(SqlError::data(
            SqlState::INVALID_ARGUMENT_FOR_NTILE,
            "argument of ntile must be greater than zero",
        ));
    }
    let b = usize::try_from(b).unwrap_or(usize::MAX).min(n.max(1));
    let small = n / b;
    let large = small + 1;
    let big_buckets = n % b;
    let in_big = big_buckets * large;
    let bucket = if i < in_big {
        i / large
    } else {
        big_buckets + (i - in_big) / small.max(1)
    };
    Ok(Value::Int4(i32::try_from(bucket + 1).unwrap_or(i32::MAX)))
}
