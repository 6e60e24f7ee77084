//! Grouping and aggregates: one hash table entry per group, each with an
//! accumulator per aggregate. With no GROUP BY there is exactly one group,
//! even over no rows (`count(*)` of an empty table is 0).

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;

use super::wasm_aggregate::WasmAcc;
use super::{Batch, ExecCtx, Operator, Row};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::{Expr, RowExpr, eval, eval_predicate};
use crate::sql::plan::{AggCall, AggFunc};
use crate::types::{DataType, TypeError, Value};

pub(super) struct HashAggregate {
    input: Box<dyn Operator>,
    group_by: Vec<Expr>,
    aggs: Vec<AggCall>,
    /// Each aggregate's arguments, compiled for per-row evaluation.
    args: Vec<Vec<RowExpr>>,
    output: Option<std::vec::IntoIter<Row>>,
}

impl HashAggregate {
    pub(super) fn new(
        input: Box<dyn Operator>,
        group_by: Vec<Expr>,
        mut aggs: Vec<AggCall>,
    ) -> Self {
        for a in &mut aggs {
            a.args.iter_mut().for_each(Expr::fold_constants);
            a.filter.iter_mut().for_each(Expr::fold_constants);
        }
        let args = aggs
            .iter()
            .map(|a| a.args.iter().cloned().map(RowExpr::new).collect())
            .collect();
        HashAggregate {
            input,
            group_by: group_by.into_iter().map(super::folded).collect(),
            aggs,
            args,
            output: None,
        }
    }

    fn run(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Vec<Row>> {
        // Groups in first-seen order, each with its accumulators; the map
        // finds a key's place. Without GROUP BY the one group exists from
        // the start and no row is hashed.
        let mut groups: HashMap<Vec<Value>, usize> = HashMap::new();
        let mut order: Vec<(Vec<Value>, Vec<Acc>)> = Vec::new();
        if self.group_by.is_empty() {
            order.push((Vec::new(), self.aggs.iter().map(Acc::new).collect()));
        }
        // One argument buffer for every row and aggregate, and one batch of
        // input rows read again and again.
        let mut args = Vec::new();
        let mut batch = Batch::default();
        let in_place: Vec<Option<usize>> = self.aggs.iter().map(in_place_column).collect();
        loop {
            self.input.next_batch(cx, &mut batch)?;
            if batch.is_empty() {
                break;
            }
            cx.check_cancel()?;
            for row in batch.rows() {
                let index = if self.group_by.is_empty() {
                    0
                } else {
                    let mut key = Vec::with_capacity(self.group_by.len());
                    for g in &self.group_by {
                        key.push(eval(g, row, cx)?);
                    }
                    match groups.get(&key) {
                        Some(&i) => i,
                        None => {
                            groups.insert(key.clone(), order.len());
                            order.push((key, self.aggs.iter().map(Acc::new).collect()));
                            order.len() - 1
                        }
                    }
                };
                let accs = &mut order[index].1;
                let each = self.aggs.iter().zip(&self.args).zip(&in_place);
                for (((agg, arg_exprs), column), acc) in each.zip(accs.iter_mut()) {
                    if let Some(v) = column.and_then(|i| row.get(i))
                        && acc.add_in_place(agg.func, v)?
                    {
                        continue;
                    }
                    if let Some(f) = &agg.filter
                        && !eval_predicate(f, row, cx)?
                    {
                        continue;
                    }
                    args.clear();
                    for a in arg_exprs {
                        args.push(a.eval(row, cx)?);
                    }
                    if let Some(pending) = &mut acc.pending {
                        let mut keys = Vec::with_capacity(agg.order.len());
                        for k in &agg.order {
                            keys.push(eval(&k.expr, row, cx)?);
                        }
                        pending.push((keys, std::mem::take(&mut args)));
                    } else {
                        acc.add(agg, &mut args, cx)?;
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(order.len());
        for (key, accs) in order {
            let mut row = key;
            for (agg, acc) in self.aggs.iter().zip(accs) {
                row.push(acc.finish(agg, cx)?);
            }
            out.push(row);
        }
        Ok(out)
    }
}

impl Operator for HashAggregate {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        if self.output.is_none() {
            let rows = self.run(cx)?;
            self.output = Some(rows.into_iter());
        }
        Ok(self.output.as_mut().and_then(Iterator::next))
    }
}

/// One aggregate's running state for one group (or one window frame).
#[derive(Clone)]
pub(super) struct Acc {
    count: i64,
    value: Value,
    /// The sum of the integer arguments of `sum` and `avg`.
    int_sum: Option<i128>,
    /// The sum of squares, for the variance family.
    squares: Value,
    text: Option<String>,
    seen: Option<HashSet<Vec<Value>>>,
    /// With `ORDER BY` in the call: the (sort keys, arguments) of each row,
    /// fed to the aggregate in order when the group is finished.
    pending: Option<Vec<(Vec<Value>, Vec<Value>)>>,
    /// The guest's state, for a Wasm aggregate.
    wasm: Option<WasmAcc>,
}

impl Acc {
    pub(super) fn new(agg: &AggCall) -> Acc {
        Acc {
            count: 0,
            value: Value::Null,
            int_sum: None,
            squares: Value::Null,
            text: None,
            seen: agg.distinct.then(HashSet::new),
            pending: (!agg.order.is_empty()).then(Vec::new),
            wasm: agg.routine.is_some().then(WasmAcc::default),
        }
    }

    /// [`Acc::add`] of a plain aggregate's one argument, read where it
    /// lies: `count` and the sums of integers and float8, which every
    /// row of `SELECT sum(x) FROM t` meets. `false` (nothing added) leaves
    /// the value to `add`.
    #[inline]
    fn add_in_place(&mut self, func: AggFunc, v: &Value) -> SqlResult<bool> {
        match (func, v) {
            (AggFunc::Count | AggFunc::Sum | AggFunc::Avg, Value::Null) => {}
            (AggFunc::Count, _) => self.count += 1,
            (AggFunc::Sum | AggFunc::Avg, Value::Float8(y)) => {
                self.value = match self.value {
                    Value::Null => Value::Float8(*y),
                    Value::Float8(x) => Value::Float8(x + y),
                    _ => return Ok(false),
                };
                self.count += 1;
            }
            (AggFunc::Sum | AggFunc::Avg, _) => match int_value(v) {
                Some(i) => {
                    self.add_int(i)?;
                    self.count += 1;
                }
                None => return Ok(false),
            },
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Adds an integer argument of `sum` or `avg` to the exact sum.
    #[inline]
    fn add_int(&mut self, i: i128) -> SqlResult<()> {
        match self.int_sum.unwrap_or(0).checked_add(i) {
            Some(sum) => self.int_sum = Some(sum),
            None => return Err(TypeError::NumericOverflow.into()),
        }
        Ok(())
    }

    /// Adds one row's arguments; `args` may be left emptied.
    pub(super) fn add(
        &mut self,
        agg: &AggCall,
        args: &mut Vec<Value>,
        cx: &mut ExecCtx<'_>,
    ) -> SqlResult<()> {
        if let (Some(wasm), Some(call)) = (&mut self.wasm, &agg.routine) {
            if let Some(seen) = &mut self.seen
                && !seen.insert(args.clone())
            {
                return Ok(());
            }
            return wasm.add(call, std::mem::take(args), cx);
        }
        if agg.func != AggFunc::CountStar && args.first().is_none_or(Value::is_null) {
            return Ok(());
        }
        if let Some(seen) = &mut self.seen
            && !seen.insert(args.clone())
        {
            return Ok(());
        }
        self.count += 1;
        let v = args
            .first_mut()
            .map_or(Value::Null, |v| std::mem::replace(v, Value::Null));
        match agg.func {
            // A Wasm aggregate's rows went to its guest state above.
            AggFunc::CountStar | AggFunc::Count | AggFunc::Wasm => {}
            AggFunc::Sum | AggFunc::Avg => match int_value(&v) {
                // Integers add up in an i128, exact and far cheaper than a
                // numeric per row; it joins the numeric sum when finished.
                Some(i) => self.add_int(i)?,
                None => {
                    self.value = if self.value.is_null() {
                        widen(v, agg.func)?
                    } else {
                        add(
                            std::mem::replace(&mut self.value, Value::Null),
                            widen(v, agg.func)?,
                        )?
                    };
                }
            },
            AggFunc::StddevSamp | AggFunc::StddevPop | AggFunc::VarSamp | AggFunc::VarPop => {
                let v = widen(v, agg.func)?;
                let sq = square(&v)?;
                self.value = accumulate(std::mem::replace(&mut self.value, Value::Null), v)?;
                self.squares = accumulate(std::mem::replace(&mut self.squares, Value::Null), sq)?;
            }
            AggFunc::Min | AggFunc::Max => {
                let replace = self.value.is_null() || {
                    let ord = v.total_cmp(&self.value);
                    if agg.func == AggFunc::Min {
                        ord.is_lt()
                    } else {
                        ord.is_gt()
                    }
                };
                if replace {
                    self.value = v;
                }
            }
            AggFunc::BoolAnd | AggFunc::BoolOr => {
                let b = matches!(v, Value::Bool(true));
                self.value = match &self.value {
                    Value::Bool(acc) if agg.func == AggFunc::BoolAnd => Value::Bool(*acc && b),
                    Value::Bool(acc) => Value::Bool(*acc || b),
                    _ => Value::Bool(b),
                };
            }
            AggFunc::StringAgg => {
                let s = v.to_pg_text().unwrap_or_default();
                match &mut self.text {
                    Some(t) => {
                        if let Some(sep) = args.get(1).and_then(Value::to_pg_text) {
                            t.push_str(&sep);
                        }
                        t.push_str(&s);
                    }
                    None => self.text = Some(s),
                }
            }
        }
        Ok(())
    }

    pub(super) fn finish(mut self, agg: &AggCall, cx: &mut ExecCtx<'_>) -> SqlResult<Value> {
        if let Some(mut pending) = self.pending.take() {
            pending.sort_by(|a, b| super::sort::compare(&a.0, &b.0, &agg.order));
            for (_, mut args) in pending {
                self.add(agg, &mut args, cx)?;
            }
        }
        if let Some(sum) = self.int_sum.take() {
            let sum = Value::Numeric(
                Decimal::try_from_i128_with_scale(sum, 0)
                    .map_err(|_| TypeError::NumericOverflow)?,
            );
            self.value = accumulate(std::mem::replace(&mut self.value, Value::Null), sum)?;
        }
        if let (Some(wasm), Some(call)) = (self.wasm.take(), &agg.routine) {
            return wasm.finish(call, cx);
        }
        Ok(match agg.func {
            AggFunc::StddevSamp | AggFunc::StddevPop | AggFunc::VarSamp | AggFunc::VarPop => {
                variance(agg.func, self.count, self.value, self.squares)?
            }
            AggFunc::CountStar | AggFunc::Count => Value::Int8(self.count),
            AggFunc::StringAgg => self.text.map_or(Value::Null, Value::Text),
            AggFunc::Avg => match self.value {
                Value::Null => Value::Null,
                Value::Numeric(sum) => Value::Numeric(crate::sql::expr::numeric_div(
                    sum,
                    Decimal::from(self.count),
                )?),
                Value::Float8(sum) => Value::Float8(sum / self.count as f64),
                Value::Interval(sum) => {
                    Value::Interval(crate::types::interval_scale(sum, 1.0 / self.count as f64)?)
                }
                other => other,
            },
            AggFunc::Sum => match (self.value, agg.ty) {
                (Value::Numeric(d), DataType::Int8) => {
                    Value::Int8(i64::try_from(d.mantissa() / 10i128.pow(d.scale())).map_err(
                        |_| TypeError::OutOfRange {
                            type_name: "bigint",
                        },
                    )?)
                }
                (v, ty) if !v.is_null() => v.cast(&ty)?,
                (v, _) => v,
            },
            _ => self.value,
        })
    }
}

/// The column that aggregate `agg`'s one argument is, when the aggregate
/// is plain enough for [`Acc::add_in_place`]: no FILTER, DISTINCT, ORDER BY
/// or Wasm state.
fn in_place_column(agg: &AggCall) -> Option<usize> {
    let plain = agg.filter.is_none()
        && agg.order.is_empty()
        && !agg.distinct
        && agg.routine.is_none()
        && matches!(agg.func, AggFunc::Count | AggFunc::Sum | AggFunc::Avg);
    match agg.args.as_slice() {
        [Expr::Column(i, _)] if plain => Some(*i),
        _ => None,
    }
}

/// An integer argument of `sum` or `avg`.
fn int_value(v: &Value) -> Option<i128> {
    match v {
        Value::Int2(i) => Some(i128::from(*i)),
        Value::Int4(i) => Some(i128::from(*i)),
        Value::Int8(i) => Some(i128::from(*i)),
        _ => None,
    }
}

/// Sums of integers accumulate in numeric so they cannot overflow midway;
/// floats stay floats.
fn widen(v: Value, func: AggFunc) -> SqlResult<Value> {
    Ok(match v {
        Value::Int2(i) => Value::Numeric(Decimal::from(i)),
        Value::Int4(i) => Value::Numeric(Decimal::from(i)),
        Value::Int8(i) => Value::Numeric(Decimal::from(i)),
        Value::Float4(f) => Value::Float8(f64::from(f)),
        Value::Numeric(_) | Value::Float8(_) | Value::Interval(_) => v,
        other => {
            return Err(SqlError::UndefinedFunction(format!(
                "function {}({}) does not exist",
                match func {
                    AggFunc::Sum => "sum",
                    AggFunc::Avg => "avg",
                    _ => "variance",
                },
                other.data_type().map_or("unknown", |t| t.name())
            )));
        }
    })
}

fn accumulate(acc: Value, v: Value) -> SqlResult<Value> {
    if acc.is_null() { Ok(v) } else { add(acc, v) }
}

fn square(v: &Value) -> SqlResult<Value> {
    Ok(match v {
        Value::Numeric(d) => Value::Numeric(d.checked_mul(*d).ok_or(TypeError::NumericOverflow)?),
        Value::Float8(f) => Value::Float8(f * f),
        other => other.clone(),
    })
}

/// The variance family from the count, sum and sum of squares:
/// `(n·Σx² − (Σx)²) / (n·(n−1))` for the sample, `/ n²` for the
/// population; NULL where the divisor would be zero, as in PostgreSQL.
fn variance(func: AggFunc, n: i64, sum: Value, squares: Value) -> SqlResult<Value> {
    let sample = matches!(func, AggFunc::StddevSamp | AggFunc::VarSamp);
    let root = matches!(func, AggFunc::StddevSamp | AggFunc::StddevPop);
    if n == 0 || (sample && n == 1) {
        return Ok(Value::Null);
    }
    let divisor = if sample { n * (n - 1) } else { n * n };
    Ok(match (sum, squares) {
        (Value::Float8(s), Value::Float8(q)) => {
            let nf = n as f64;
            let var = ((nf * q - s * s) / divisor as f64).max(0.0);
            Value::Float8(if root { var.sqrt() } else { var })
        }
        (Value::Numeric(s), Value::Numeric(q)) => {
            let overflow = || SqlError::from(TypeError::NumericOverflow);
            let num = Decimal::from(n)
                .checked_mul(q)
                .and_then(|nq| nq.checked_sub(s.checked_mul(s)?))
                .ok_or_else(overflow)?
                .max(Decimal::ZERO);
            let var = crate::sql::expr::numeric_div_estimate(num, Decimal::from(divisor))?;
            if root {
                Value::Numeric(crate::sql::expr::numeric_sqrt(var)?)
            } else {
                Value::Numeric(var)
            }
        }
        _ => Value::Null,
    })
}

fn add(a: Value, b: Value) -> SqlResult<Value> {
    Ok(match (a, b) {
        (Value::Numeric(x), Value::Numeric(y)) => {
            Value::Numeric(x.checked_add(y).ok_or(TypeError::NumericOverflow)?)
        }
        (Value::Float8(x), Value::Float8(y)) => Value::Float8(x + y),
        (Value::Interval(x), Value::Interval(y)) => {
            Value::Interval(crate::types::interval_add(x, y, 1)?)
        }
        (a, _) => a,
    })
}
