//! Evaluating bound expressions over a row, with SQL's three-valued logic.

use super::arith::{arith, compare, negate};
use super::{BinOp, Expr, Func, functions};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::exec::ExecCtx;
use crate::sql::sequence_privilege::{SequenceUse, check_use};
use crate::types::{DataType, TypeError, Value};

/// Arguments a strict function call evaluates into a stack array.
const SMALL_ARGS: usize = 3;

/// The value of `expr` for `row`.
///
/// The nodes every row meets — constants, columns, arithmetic, function
/// calls — are handled here, in a function with a small stack frame, since
/// evaluation recurses once per node; the rest go to [`eval_node`].
pub fn eval(expr: &Expr, row: &[Value], cx: &mut ExecCtx<'_>) -> SqlResult<Value> {
    match expr {
        Expr::Literal(v, _) => Ok(v.clone()),
        Expr::Column(i, _) => match row.get(*i) {
            Some(v) => Ok(v.clone()),
            None => Err(SqlError::Internal(format!("column {i} out of range"))),
        },
        Expr::Binary(op @ (BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div), a, b, _) => {
            let l = eval(a, row, cx)?;
            let r = eval(b, row, cx)?;
            match (&l, &r) {
                (Value::Float8(x), Value::Float8(y)) => {
                    Ok(Value::Float8(super::arith::float_op(*op, *x, *y)?))
                }
                (Value::Int8(x), Value::Int8(y)) if *op != BinOp::Div => {
                    let v = match op {
                        BinOp::Add => x.checked_add(*y),
                        BinOp::Sub => x.checked_sub(*y),
                        _ => x.checked_mul(*y),
                    };
                    // Not `ok_or`: an error built per row only to be
                    // dropped showed in profiles.
                    match v {
                        Some(v) => Ok(Value::Int8(v)),
                        None => Err(SqlError::Type(TypeError::OutOfRange {
                            type_name: "bigint",
                        })),
                    }
                }
                _ => arith(*op, l, r),
            }
        }
        Expr::Func(f, args, _) if args.len() <= SMALL_ARGS && functions::is_strict(*f) => {
            call_small(*f, args, row, cx)
        }
        _ => eval_node(expr, row, cx),
    }
}

/// A strict function call with few arguments: they stay on the stack
/// rather than in a vector allocated per row.
fn call_small(f: Func, args: &[Expr], row: &[Value], cx: &mut ExecCtx<'_>) -> SqlResult<Value> {
    let mut values = [const { Value::Null }; SMALL_ARGS];
    for (v, a) in values.iter_mut().zip(args) {
        *v = eval(a, row, cx)?;
    }
    functions::call_strict(f, values.get(..args.len()).unwrap_or_default(), cx.now)
}

/// [`eval`] for every other node.
#[inline(never)]
fn eval_node(expr: &Expr, row: &[Value], cx: &mut ExecCtx<'_>) -> SqlResult<Value> {
    Ok(match expr {
        Expr::Literal(v, _) => v.clone(),
        Expr::Column(i, _) => row
            .get(*i)
            .cloned()
            .ok_or_else(|| SqlError::Internal(format!("column {i} out of range")))?,
        Expr::Outer { depth, index, .. } => cx.outer_value(*depth, *index)?,
        Expr::Param(i, ty) => match cx.params.get(*i) {
            Some(v) => v.cast(ty)?,
            None => {
                return Err(SqlError::Semantic {
                    state: crate::SqlState::UNDEFINED_PARAMETER,
                    message: format!("there is no parameter ${}", i + 1),
                });
            }
        },
        Expr::Binary(BinOp::And, a, b, _) => {
            let l = truth(eval(a, row, cx)?)?;
            if l == Some(false) {
                return Ok(Value::Bool(false));
            }
            let r = truth(eval(b, row, cx)?)?;
            match (l, r) {
                (_, Some(false)) => Value::Bool(false),
                (Some(true), Some(true)) => Value::Bool(true),
                _ => Value::Null,
            }
        }
        Expr::Binary(BinOp::Or, a, b, _) => {
            let l = truth(eval(a, row, cx)?)?;
            if l == Some(true) {
                return Ok(Value::Bool(true));
            }
            let r = truth(eval(b, row, cx)?)?;
            match (l, r) {
                (_, Some(true)) => Value::Bool(true),
                (Some(false), Some(false)) => Value::Bool(false),
                _ => Value::Null,
            }
        }
        Expr::Binary(
            op @ (BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq),
            a,
            b,
            _,
        ) => {
            let l = eval(a, row, cx)?;
            let r = eval(b, row, cx)?;
            compare(*op, &l, &r).map_or(Value::Null, Value::Bool)
        }
        Expr::Binary(op, a, b, _) => {
            let l = eval(a, row, cx)?;
            let r = eval(b, row, cx)?;
            arith(*op, l, r)?
        }
        Expr::Not(e) => match truth(eval(e, row, cx)?)? {
            Some(b) => Value::Bool(!b),
            None => Value::Null,
        },
        Expr::Neg(e) => negate(eval(e, row, cx)?)?,
        Expr::IsNull(e, negated) => Value::Bool(eval(e, row, cx)?.is_null() != *negated),
        Expr::IsDistinct(a, b, negated) => {
            let l = eval(a, row, cx)?;
            let r = eval(b, row, cx)?;
            Value::Bool((l != r) != *negated)
        }
        Expr::IsBool(e, want, negated) => {
            let t = truth(eval(e, row, cx)?)?;
            Value::Bool((t == Some(*want)) != *negated)
        }
        Expr::Cast(e, ty) => cast(eval(e, row, cx)?, ty)?,
        Expr::Case {
            branches,
            otherwise,
            ..
        } => {
            for (cond, result) in branches {
                if truth(eval(cond, row, cx)?)? == Some(true) {
                    return eval(result, row, cx);
                }
            }
            eval(otherwise, row, cx)?
        }
        Expr::Func(Func::Lastval, _, _) => {
            let id = cx
                .sequences
                .last_used()
                .filter(|id| cx.catalog.sequences().any(|s| s.id == *id))
                .ok_or_else(|| SqlError::Data {
                    state: crate::SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                    message: "lastval is not yet defined in this session".into(),
                })?;
            check_use(cx.catalog, cx.user, id, SequenceUse::Read)?;
            Value::Int8(cx.sequences.currval(id)?)
        }
        Expr::Func(f @ (Func::Nextval | Func::Currval | Func::Setval), args, _) => {
            let id = match args.first() {
                Some(Expr::Literal(Value::Int8(id), _)) => {
                    u32::try_from(*id).map_err(|_| SqlError::Internal("bad sequence id".into()))?
                }
                _ => {
                    return Err(SqlError::Internal(
                        "sequence function without a sequence".into(),
                    ));
                }
            };
            match f {
                Func::Nextval => {
                    check_use(cx.catalog, cx.user, id, SequenceUse::Advance)?;
                    Value::Int8(cx.nextval(id)?)
                }
                Func::Currval => {
                    check_use(cx.catalog, cx.user, id, SequenceUse::Read)?;
                    Value::Int8(cx.sequences.currval(id)?)
                }
                _ => {
                    let value = match args.get(1).map(|a| eval(a, row, cx)).transpose()? {
                        Some(Value::Int8(v)) => v,
                        // setval is strict: NULL in, NULL out.
                        _ => return Ok(Value::Null),
                    };
                    let is_called = match args.get(2).map(|a| eval(a, row, cx)).transpose()? {
                        None => true,
                        Some(Value::Bool(b)) => b,
                        Some(_) => return Ok(Value::Null),
                    };
                    // After the NULL checks: a strict function given NULL
                    // is not called, so PostgreSQL checks nothing then.
                    check_use(cx.catalog, cx.user, id, SequenceUse::Set)?;
                    Value::Int8(cx.sequences.setval(id, value, is_called)?)
                }
            }
        }
        Expr::Func(Func::Coalesce, args, _) => {
            for a in args {
                let v = eval(a, row, cx)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Value::Null
        }
        Expr::Func(f, args, _) => {
            let mut values = Vec::with_capacity(args.len());
            for a in args {
                values.push(eval(a, row, cx)?);
            }
            functions::call(*f, values, cx)?
        }
        Expr::Routine(call, args) => {
            let mut values = Vec::with_capacity(args.len());
            for a in args {
                values.push(eval(a, row, cx)?);
            }
            routine_value(call, values, args, cx)?
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let v = eval(expr, row, cx)?;
            let mut values = Vec::with_capacity(list.len());
            for item in list {
                values.push(eval(item, row, cx)?);
            }
            in_values(&v, values.iter(), *negated)
        }
        Expr::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
        } => {
            let v = eval(expr, row, cx)?;
            let p = eval(pattern, row, cx)?;
            match (v, p) {
                (Value::Text(s), Value::Text(p)) => {
                    let m = if *case_insensitive {
                        like(&s.to_lowercase(), &p.to_lowercase())
                    } else {
                        like(&s, &p)
                    };
                    Value::Bool(m != *negated)
                }
                _ => Value::Null,
            }
        }
        Expr::Subquery(plan, kind, _) => super::subquery::eval_subquery(plan, kind, row, cx)?,
    })
}

/// A WHERE-style test: only TRUE passes.
pub fn eval_predicate(expr: &Expr, row: &[Value], cx: &mut ExecCtx<'_>) -> SqlResult<bool> {
    Ok(truth(eval(expr, row, cx)?)? == Some(true))
}

fn truth(v: Value) -> SqlResult<Option<bool>> {
    match v {
        Value::Bool(b) => Ok(Some(b)),
        Value::Null => Ok(None),
        other => Err(SqlError::DatatypeMismatch(format!(
            "argument of boolean test must be type boolean, not type {}",
            other.data_type().map_or("unknown", |t| t.name())
        ))),
    }
}

fn cast(v: Value, ty: &DataType) -> SqlResult<Value> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    Ok(v.cast(ty)?)
}

/// `v IN (values)`: true on a match, NULL when no match but a NULL was
/// involved, false otherwise (and the reverse for NOT IN).
pub(super) fn in_values<'a>(
    v: &Value,
    values: impl Iterator<Item = &'a Value>,
    negated: bool,
) -> Value {
    let mut values = values.peekable();
    if v.is_null() {
        // Nothing to compare with: NULL IN (empty subquery) is false.
        return if values.peek().is_none() {
            Value::Bool(negated)
        } else {
            Value::Null
        };
    }
    let mut saw_null = false;
    for item in values {
        match v.sql_cmp(item) {
            Some(o) if o.is_eq() => return Value::Bool(!negated),
            None => saw_null = true,
            _ => {}
        }
    }
    if saw_null {
        Value::Null
    } else {
        Value::Bool(negated)
    }
}

/// SQL LIKE with `%`, `_` and `\` as the escape character.
pub(crate) fn like(s: &str, p: &str) -> bool {
    let s: Vec<char> = s.chars().collect();
    let p: Vec<char> = p.chars().collect();
    // Iterative matching with one backtrack point for the last `%`: linear
    // in practice and never recursive, so hostile patterns cannot blow the
    // stack.
    let (mut si, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        let (pc, escaped, width) = match p.get(pi) {
            Some('\\') => (p.get(pi + 1).copied(), true, 2),
            Some(c) => (Some(*c), false, 1),
            None => (None, false, 1),
        };
        match pc {
            Some('%') if !escaped => {
                star = Some((pi, si));
                pi += 1;
                continue;
            }
            Some('_') if !escaped => {
                si += 1;
                pi += width;
                continue;
            }
            Some(c) if c == s[si] => {
                si += 1;
                pi += width;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    while p.get(pi) == Some(&'%') {
        pi += 1;
    }
    pi == p.len()
}

/// One call of a Wasm scalar function or model outside a batch (a CASE
/// branch, a join condition, a DML value): a batch of one row. IMMUTABLE
/// calls whose arguments are constant are made once per statement.
fn routine_value(
    call: &std::sync::Arc<super::RoutineCall>,
    values: Vec<Value>,
    args: &[Expr],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<Value> {
    let routines = cx.routines.ok_or_else(no_host)?;
    let key = std::sync::Arc::as_ptr(call) as usize;
    let fold = call.foldable() && args.iter().all(Expr::is_constant);
    if fold && let Some(v) = routines.folded(key) {
        return Ok(v);
    }
    let v = routines
        .scalar(cx.txn, cx.catalog, &call.def, call.ty, &[values])?
        .pop()
        .unwrap_or(Value::Null);
    if fold {
        routines.fold(key, v.clone());
    }
    Ok(v)
}

/// 0A000 for a Wasm routine called where no routine host was injected.
pub(crate) fn no_host() -> SqlError {
    SqlError::unsupported(
        "Wasm routines are not available: this database was opened without a routine host",
    )
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_patterns() {
        assert!(like("hello", "h%o"));
        assert!(like("hello", "_ello"));
        assert!(!like("hello", "h_o"));
        assert!(like("50%", "50\\%"));
        assert!(!like("500", "50\\%"));
        assert!(like("", "%"));
        assert!(like("abcabc", "%abc"));
        assert!(!like("ab", "abc%"));
    }
}
