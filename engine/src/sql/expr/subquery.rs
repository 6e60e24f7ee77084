//! Subqueries in expressions. An uncorrelated one (see
//! [`Plan::is_correlated`]) runs once per execution of the statement and
//! its result is kept in [`ExecCtx::init_plans`]; a correlated one runs for
//! every row it is evaluated on.

use std::sync::Arc;

use super::eval::{eval, in_values};
use super::{BinOp, SubqueryKind};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::exec::{ExecCtx, InSet, InitPlan, InitPlanKind, Row, run_subplan};
use crate::sql::plan::Plan;
use crate::types::Value;

/// The value of the subquery `plan` of kind `kind` for `row`.
pub(super) fn eval_subquery(
    plan: &Arc<Plan>,
    kind: &SubqueryKind,
    row: &[Value],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<Value> {
    let slot = match kind {
        SubqueryKind::Exists => InitPlanKind::Exists,
        SubqueryKind::Scalar => InitPlanKind::Scalar,
        SubqueryKind::Array => InitPlanKind::Array,
        SubqueryKind::In { .. } => InitPlanKind::Set,
        SubqueryKind::RowIn { .. } => InitPlanKind::Table,
        SubqueryKind::Quantified { .. } => InitPlanKind::Rows,
    };
    let entry = match cx.init_plans.get(plan, slot) {
        Some(entry) => entry,
        None => {
            let entry = if plan.is_correlated() {
                InitPlan::Correlated
            } else {
                // Nothing in the plan reads the row pushed for it.
                let rows = run_subplan(plan, &[], cx, slot == InitPlanKind::Exists)?;
                init_plan(kind, rows)?
            };
            cx.init_plans.insert(plan, slot, entry.clone());
            entry
        }
    };
    match (entry, kind) {
        (InitPlan::Value(v), _) => Ok(v),
        (InitPlan::Set(set), SubqueryKind::In { expr, negated }) => {
            Ok(set.probe(&eval(expr, row, cx)?, *negated))
        }
        (InitPlan::Rows(rows), SubqueryKind::Quantified { expr, op, all }) => {
            let v = eval(expr, row, cx)?;
            Ok(quantified(&v, *op, *all, rows.iter()))
        }
        (InitPlan::Table(rows), SubqueryKind::RowIn { exprs, negated }) => {
            let probe = eval_row(exprs, row, cx)?;
            Ok(row_in(&probe, rows.iter(), *negated))
        }
        _ => per_row(plan, kind, row, cx),
    }
}

/// What an uncorrelated subquery of kind `kind` keeps of its `rows`.
fn init_plan(kind: &SubqueryKind, rows: Vec<Row>) -> SqlResult<InitPlan> {
    let first = |r: Row| r.into_iter().next().unwrap_or(Value::Null);
    Ok(match kind {
        SubqueryKind::In { .. } => InitPlan::Set(Arc::new(InSet::new(rows.into_iter().map(first)))),
        SubqueryKind::Quantified { .. } => InitPlan::Rows(rows.into_iter().map(first).collect()),
        SubqueryKind::RowIn { .. } => InitPlan::Table(rows.into()),
        _ => InitPlan::Value(value(kind, rows)?),
    })
}

/// The value of an EXISTS, scalar or ARRAY subquery that yielded `rows`.
fn value(kind: &SubqueryKind, rows: Vec<Row>) -> SqlResult<Value> {
    Ok(match kind {
        SubqueryKind::Exists => Value::Bool(!rows.is_empty()),
        SubqueryKind::Array => Value::Text(array_text(
            rows.into_iter()
                .map(|r| r.into_iter().next().unwrap_or(Value::Null)),
        )),
        _ => {
            if rows.len() > 1 {
                return Err(SqlError::CardinalityViolation);
            }
            rows.into_iter()
                .next()
                .and_then(|r| r.into_iter().next())
                .unwrap_or(Value::Null)
        }
    })
}

/// A correlated subquery, run for `row`.
fn per_row(
    plan: &Plan,
    kind: &SubqueryKind,
    row: &[Value],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<Value> {
    let rows = run_subplan(plan, row, cx, matches!(kind, SubqueryKind::Exists))?;
    match kind {
        SubqueryKind::In { expr, negated } => {
            let v = eval(expr, row, cx)?;
            Ok(in_values(
                &v,
                rows.iter().filter_map(|r| r.first()),
                *negated,
            ))
        }
        SubqueryKind::Quantified { expr, op, all } => {
            let v = eval(expr, row, cx)?;
            Ok(quantified(
                &v,
                *op,
                *all,
                rows.iter().filter_map(|r| r.first()),
            ))
        }
        SubqueryKind::RowIn { exprs, negated } => {
            let probe = eval_row(exprs, row, cx)?;
            Ok(row_in(&probe, rows.iter(), *negated))
        }
        _ => value(kind, rows),
    }
}

fn eval_row(exprs: &[super::Expr], row: &[Value], cx: &mut ExecCtx<'_>) -> SqlResult<Row> {
    exprs.iter().map(|e| eval(e, row, cx)).collect()
}

/// `probe [NOT] IN (rows)` for a row-valued probe, as PostgreSQL compares
/// rows: a row matches when every column is equal, fails to when one
/// column differs, and is unknown otherwise; IN is true on a match, NULL
/// when no row matched but one was unknown, and false on an empty set.
fn row_in<'a>(probe: &[Value], rows: impl Iterator<Item = &'a Row>, negated: bool) -> Value {
    let mut saw_null = false;
    for r in rows {
        let mut unknown = false;
        let mut differs = false;
        for (p, v) in probe.iter().zip(r) {
            match super::arith::compare(BinOp::Eq, p, v) {
                Some(true) => {}
                Some(false) => {
                    differs = true;
                    break;
                }
                None => unknown = true,
            }
        }
        if differs {
            continue;
        }
        if !unknown {
            return Value::Bool(!negated);
        }
        saw_null = true;
    }
    if saw_null {
        Value::Null
    } else {
        Value::Bool(negated)
    }
}

/// `v op ANY (rows)` / `v op ALL (rows)` with SQL's three-valued logic:
/// ANY is true on the first true comparison, ALL false on the first
/// false one; otherwise a NULL comparison makes the answer NULL.
fn quantified<'a>(v: &Value, op: BinOp, all: bool, rows: impl Iterator<Item = &'a Value>) -> Value {
    let mut saw_null = false;
    for r in rows {
        match super::arith::compare(op, v, r) {
            Some(b) if b != all => return Value::Bool(b),
            Some(_) => {}
            None => saw_null = true,
        }
    }
    if saw_null {
        Value::Null
    } else {
        Value::Bool(all)
    }
}

/// PostgreSQL's text form of a one-dimensional array: elements quoted
/// when they are empty, `NULL`, or hold a delimiter, brace, quote,
/// backslash or white space.
fn array_text(values: impl Iterator<Item = Value>) -> String {
    let mut out = String::from("{");
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let Some(text) = v.to_pg_text() else {
            out.push_str("NULL");
            continue;
        };
        let quote = text.is_empty()
            || text.eq_ignore_ascii_case("null")
            || text
                .chars()
                .any(|c| matches!(c, ',' | '{' | '}' | '"' | '\\') || c.is_whitespace());
        if quote {
            out.push('"');
            for c in text.chars() {
                if matches!(c, '"' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        } else {
            out.push_str(&text);
        }
    }
    out.push('}');
    out
}
