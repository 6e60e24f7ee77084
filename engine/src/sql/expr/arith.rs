//! Arithmetic and comparison on values whose types binding already
//! unified: overflow is 22003 and division by zero 22012, as in
//! PostgreSQL; integer division truncates toward zero.

use std::cmp::Ordering;

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

use super::BinOp;
use crate::SqlState;
use crate::sql::error::{SqlError, SqlResult};
use crate::types::{DataType, TypeError, Value};

fn out_of_range(name: &'static str) -> SqlError {
    SqlError::Type(TypeError::OutOfRange { type_name: name })
}

/// `left op right` for arithmetic and `||`; NULL in, NULL out.
pub(super) fn arith(op: BinOp, left: Value, right: Value) -> SqlResult<Value> {
    if left.is_null() || right.is_null() {
        return Ok(Value::Null);
    }
    if op == BinOp::Concat {
        let mut s = text(&left);
        s.push_str(&text(&right));
        return Ok(Value::Text(s));
    }
    Ok(match (left, right) {
        (Value::Int2(a), Value::Int2(b)) => Value::Int2(
            int_op(op, a.into(), b.into(), "smallint")
                .and_then(|v| i16::try_from(v).map_err(|_| out_of_range("smallint")))?,
        ),
        (Value::Int4(a), Value::Int4(b)) => Value::Int4(
            int_op(op, a.into(), b.into(), "integer")
                .and_then(|v| i32::try_from(v).map_err(|_| out_of_range("integer")))?,
        ),
        (Value::Int8(a), Value::Int8(b)) => Value::Int8(
            int_op(op, a.into(), b.into(), "bigint")
                .and_then(|v| i64::try_from(v).map_err(|_| out_of_range("bigint")))?,
        ),
        (Value::Float8(a), Value::Float8(b)) => Value::Float8(float_op(op, a, b)?),
        (Value::Float4(a), Value::Float4(b)) => {
            let v = float_op(op, a.into(), b.into())?;
            if v.is_finite() && (v as f32).is_infinite() {
                return Err(SqlError::Type(TypeError::FloatOutOfRange("overflow")));
            }
            Value::Float4(v as f32)
        }
        (Value::Numeric(a), Value::Numeric(b)) => Value::Numeric(numeric_op(op, a, b)?),
        (Value::Date(d), Value::Int4(n)) if matches!(op, BinOp::Add | BinOp::Sub) => {
            let n = if op == BinOp::Add { n } else { -n };
            Value::Date(d.checked_add(n).ok_or_else(|| out_of_range("date"))?)
        }
        (Value::Date(a), Value::Date(b)) if op == BinOp::Sub => {
            Value::Int4(a.checked_sub(b).ok_or_else(|| out_of_range("integer"))?)
        }
        (l, r) => {
            if let Some(result) = super::datetime::arith(op, &l, &r) {
                return result;
            }
            return Err(SqlError::UndefinedFunction(format!(
                "operator does not exist: {} {} {}",
                type_name(&l),
                op_symbol(op),
                type_name(&r)
            )));
        }
    })
}

fn type_name(v: &Value) -> &'static str {
    v.data_type().map_or("unknown", |t| t.name())
}

pub(crate) fn op_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Mod => "%",
        BinOp::Concat => "||",
        BinOp::Eq => "=",
        BinOp::NotEq => "<>",
        BinOp::Lt => "<",
        BinOp::LtEq => "<=",
        BinOp::Gt => ">",
        BinOp::GtEq => ">=",
        BinOp::And => "AND",
        BinOp::Or => "OR",
    }
}

fn text(v: &Value) -> String {
    v.to_pg_text().unwrap_or_default()
}

fn int_op(op: BinOp, a: i128, b: i128, name: &'static str) -> SqlResult<i128> {
    Ok(match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div | BinOp::Mod if b == 0 => return Err(SqlError::DivisionByZero),
        BinOp::Div => a / b,
        BinOp::Mod => a % b,
        _ => return Err(out_of_range(name)),
    })
}

#[inline]
pub(super) fn float_op(op: BinOp, a: f64, b: f64) -> SqlResult<f64> {
    let v = match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div if b == 0.0 => return Err(SqlError::DivisionByZero),
        BinOp::Div => a / b,
        BinOp::Mod if b == 0.0 => return Err(SqlError::DivisionByZero),
        BinOp::Mod => a % b,
        _ => return Err(SqlError::Internal("float operator".into())),
    };
    if v.is_infinite() && a.is_finite() && b.is_finite() {
        return Err(SqlError::Type(TypeError::FloatOutOfRange("overflow")));
    }
    Ok(v)
}

fn numeric_op(op: BinOp, a: Decimal, b: Decimal) -> SqlResult<Decimal> {
    let overflow = || SqlError::Type(TypeError::NumericOverflow);
    match op {
        BinOp::Add => a.checked_add(b).ok_or_else(overflow),
        BinOp::Sub => a.checked_sub(b).ok_or_else(overflow),
        BinOp::Mul => {
            let mut product = a.checked_mul(b).ok_or_else(overflow)?;
            // A zero product comes back without decimals; PostgreSQL shows
            // the operands' summed scale (`7 * 0.00` is `0.00`).
            if product.is_zero() {
                product.rescale((a.scale() + b.scale()).min(28));
            }
            Ok(product)
        }
        BinOp::Div => numeric_div(a, b),
        BinOp::Mod if b.is_zero() => Err(SqlError::DivisionByZero),
        BinOp::Mod => a.checked_rem(b).ok_or_else(overflow),
        _ => Err(SqlError::Internal("numeric operator".into())),
    }
}

/// PostgreSQL's `select_div_scale`: at least 16 significant digits, and
/// no fewer decimals than either operand shows.
pub fn numeric_div(a: Decimal, b: Decimal) -> SqlResult<Decimal> {
    divide(a, b, true)
}

/// `x` with at least 16 significant digits and no fewer decimals than it
/// shows: the precision the numeric results computed through floats
/// (`sqrt`, `power`, …) and the variances keep.
pub fn numeric_significant(x: Decimal) -> SqlResult<Decimal> {
    divide(x, Decimal::ONE, false)
}

/// `a / b` to about the scale [`numeric_div`] gives, for the statistics
/// (variances) whose scale PostgreSQL derives otherwise.
pub fn numeric_div_estimate(a: Decimal, b: Decimal) -> SqlResult<Decimal> {
    divide(a, b, false)
}

/// `a / b` to the scale `select_div_scale` picks. `tie_is_smaller`: equal
/// leading digits count as a smaller dividend, as PostgreSQL's division
/// assumes, keeping four more decimals.
fn divide(a: Decimal, b: Decimal, tie_is_smaller: bool) -> SqlResult<Decimal> {
    if b.is_zero() {
        return Err(SqlError::DivisionByZero);
    }
    let q = a
        .checked_div(b)
        .ok_or(SqlError::Type(TypeError::NumericOverflow))?;
    let (w1, f1) = weight_and_first(a);
    let (w2, f2) = weight_and_first(b);
    let mut qweight = w1 - w2;
    if f1 < f2 || (tie_is_smaller && f1 == f2) {
        qweight -= 1;
    }
    let rscale = (16 - qweight * 4)
        .max(a.scale() as i32)
        .max(b.scale() as i32)
        .clamp(0, 28) as u32;
    let rounded = q.round_dp(rscale);
    // Decimal keeps at most 28 digits: pad with zeros only where it can.
    let mut padded = rounded;
    if padded.scale() < rscale {
        let mut r = rscale;
        while r > padded.scale() {
            let mut candidate = rounded;
            candidate.rescale(r);
            if candidate == rounded {
                padded = candidate;
                break;
            }
            r -= 1;
        }
    }
    Ok(padded)
}

/// The weight (in base-10000 digits) and leading base-10000 digit of a
/// number, as PostgreSQL's numeric stores it.
fn weight_and_first(d: Decimal) -> (i32, u32) {
    let abs = d.abs();
    if abs.is_zero() {
        return (0, 0);
    }
    let digits_before_point = abs.trunc().to_string().trim_start_matches('0').len() as i32;
    let exp10 = if digits_before_point > 0 {
        digits_before_point - 1
    } else {
        let frac = abs.fract().to_string();
        let zeros = frac
            .trim_start_matches("0.")
            .chars()
            .take_while(|c| *c == '0')
            .count() as i32;
        -(zeros + 1)
    };
    let weight = exp10.div_euclid(4);
    let scaled = abs.to_f64().unwrap_or(0.0) / 10000f64.powi(weight);
    (weight, scaled.trunc() as u32)
}

/// Three-valued comparison; `None` is unknown (NULL).
pub(super) fn compare(op: BinOp, left: &Value, right: &Value) -> Option<bool> {
    let ord = left.sql_cmp(right)?;
    Some(match op {
        BinOp::Eq => ord == Ordering::Equal,
        BinOp::NotEq => ord != Ordering::Equal,
        BinOp::Lt => ord == Ordering::Less,
        BinOp::LtEq => ord != Ordering::Greater,
        BinOp::Gt => ord == Ordering::Greater,
        BinOp::GtEq => ord != Ordering::Less,
        _ => return None,
    })
}

/// Unary minus.
pub(super) fn negate(v: Value) -> SqlResult<Value> {
    Ok(match v {
        Value::Null => Value::Null,
        Value::Int2(i) => Value::Int2(i.checked_neg().ok_or_else(|| out_of_range("smallint"))?),
        Value::Int4(i) => Value::Int4(i.checked_neg().ok_or_else(|| out_of_range("integer"))?),
        Value::Int8(i) => Value::Int8(i.checked_neg().ok_or_else(|| out_of_range("bigint"))?),
        Value::Float4(f) => Value::Float4(-f),
        Value::Float8(f) => Value::Float8(-f),
        Value::Numeric(d) => Value::Numeric(-d),
        Value::Interval(i) => Value::Interval(crate::types::Interval::new(
            i.months
                .checked_neg()
                .ok_or_else(|| out_of_range("interval"))?,
            i.days
                .checked_neg()
                .ok_or_else(|| out_of_range("interval"))?,
            i.micros
                .checked_neg()
                .ok_or_else(|| out_of_range("interval"))?,
        )),
        other => {
            return Err(SqlError::UndefinedFunction(format!(
                "operator does not exist: - {}",
                type_name(&other)
            )));
        }
    })
}

/// A numeric value as `f64`, for math functions that PostgreSQL computes
/// in double precision.
pub(crate) fn to_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int2(i) => Some(f64::from(*i)),
        Value::Int4(i) => Some(f64::from(*i)),
        Value::Int8(i) => Some(*i as f64),
        Value::Float4(f) => Some(f64::from(*f)),
        Value::Float8(f) => Some(*f),
        Value::Numeric(d) => d.to_f64(),
        _ => None,
    }
}

/// A numeric value as `Decimal`.
pub(crate) fn to_decimal(v: &Value) -> SqlResult<Option<Decimal>> {
    Ok(match v {
        Value::Int2(i) => Some(Decimal::from(*i)),
        Value::Int4(i) => Some(Decimal::from(*i)),
        Value::Int8(i) => Some(Decimal::from(*i)),
        Value::Numeric(d) => Some(*d),
        Value::Float4(f) => Decimal::from_f32(*f),
        Value::Float8(f) => Decimal::from_f64(*f),
        _ => None,
    })
}

/// 22003 or 22012 raised by a math function.
pub(crate) fn math_error(state: SqlState, message: &str) -> SqlError {
    SqlError::data(state, message)
}

/// Whether `ty` is one of the number types.
pub(crate) fn is_numeric(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::Int2
            | DataType::Int4
            | DataType::Int8
            | DataType::Float4
            | DataType::Float8
            | DataType::Numeric { .. }
    )
}
