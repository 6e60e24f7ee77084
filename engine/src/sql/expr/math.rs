//! PostgreSQL's mathematical functions and operators beyond the basic
//! arithmetic: `sign`, `div`, logarithms, trigonometry, `gcd`/`lcm`,
//! `width_bucket`, the bitwise operators (bound to PostgreSQL's
//! `int4and`-style names) and `random()`.
//!
//! Argument types follow PostgreSQL's overload choice: an integer argument
//! of a function with `double precision` and `numeric` variants picks
//! `double precision` (the preferred type of the numeric category), except
//! where only a `numeric` variant exists (`div`, `log(b, x)`, `trunc(x, n)`).

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

use super::arith::{is_numeric, math_error, numeric_significant, to_decimal, to_f64};
use super::functions::Func;
use crate::SqlState;
use crate::sql::binder::promote;
use crate::sql::error::{SqlError, SqlResult};
use crate::types::{DataType, TypeError, Value};

/// A mathematical function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathFunc {
    /// `sign(x)`
    Sign,
    /// `trunc(x, digits)`
    TruncDigits,
    /// `div(a, b)`: the integer quotient, truncated toward zero.
    Div,
    /// `exp(x)`
    Exp,
    /// `ln(x)`
    Ln,
    /// `log(x)`, `log10(x)`
    Log10,
    /// `log(base, x)`
    LogBase,
    /// `cbrt(x)`
    Cbrt,
    /// `pi()`
    Pi,
    /// `degrees(x)`
    Degrees,
    /// `radians(x)`
    Radians,
    /// `sin`, `cos`, … of one argument.
    Trig(Trig),
    /// `atan2(y, x)`
    Atan2,
    /// `gcd(a, b)`
    Gcd,
    /// `lcm(a, b)`
    Lcm,
    /// `factorial(n)`
    Factorial,
    /// `width_bucket(operand, low, high, count)`
    WidthBucket,
    /// `scale(numeric)`: the digits after the point.
    Scale,
    /// `random()`
    Random,
    /// `&`, `|`, `#`, `<<`, `>>` on integers.
    Bit(BitOp),
    /// `~` on an integer.
    BitNot,
}

/// A one-argument trigonometric function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trig {
    /// `sin`
    Sin,
    /// `cos`
    Cos,
    /// `tan`
    Tan,
    /// `cot`
    Cot,
    /// `asin`
    Asin,
    /// `acos`
    Acos,
    /// `atan`
    Atan,
}

/// A binary bitwise operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    /// `&`
    And,
    /// `|`
    Or,
    /// `#`
    Xor,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
}

const NUMERIC: DataType = DataType::Numeric {
    precision: None,
    scale: None,
};

fn is_integer(t: &DataType) -> bool {
    matches!(t, DataType::Int2 | DataType::Int4 | DataType::Int8)
}

/// Resolves a name [`super::functions`] does not know.
pub(crate) fn resolve(
    name: &str,
    args: &[DataType],
) -> Option<(Func, DataType, Vec<Option<DataType>>)> {
    use DataType as T;
    let all_numeric = !args.is_empty() && args.iter().all(is_numeric);
    let any_numeric = args.iter().any(|t| matches!(t, T::Numeric { .. }));
    // The float8 variant unless an argument is numeric already.
    let float_or_numeric = |f: MathFunc| {
        let ty = if any_numeric { NUMERIC } else { T::Float8 };
        (Func::Math(f), ty, vec![Some(ty); args.len()])
    };
    let float = |f: MathFunc| (Func::Math(f), T::Float8, vec![Some(T::Float8); args.len()]);
    let numeric = |f: MathFunc| (Func::Math(f), NUMERIC, vec![Some(NUMERIC); args.len()]);
    let integers = args.iter().all(is_integer) && !args.is_empty();
    Some(match (name, args.len()) {
        ("sign", 1) if all_numeric => float_or_numeric(MathFunc::Sign),
        ("trunc", 2) if all_numeric => (
            Func::Math(MathFunc::TruncDigits),
            NUMERIC,
            vec![Some(NUMERIC), Some(T::Int4)],
        ),
        ("div", 2) if all_numeric => numeric(MathFunc::Div),
        ("exp", 1) if all_numeric => float_or_numeric(MathFunc::Exp),
        ("ln", 1) if all_numeric => float_or_numeric(MathFunc::Ln),
        ("log" | "log10", 1) if all_numeric => float_or_numeric(MathFunc::Log10),
        ("log", 2) if all_numeric => numeric(MathFunc::LogBase),
        ("cbrt", 1) if all_numeric => float(MathFunc::Cbrt),
        ("pi", 0) => float(MathFunc::Pi),
        ("random", 0) => float(MathFunc::Random),
        ("degrees", 1) if all_numeric => float(MathFunc::Degrees),
        ("radians", 1) if all_numeric => float(MathFunc::Radians),
        ("atan2", 2) if all_numeric => float(MathFunc::Atan2),
        ("sin" | "cos" | "tan" | "cot" | "asin" | "acos" | "atan", 1) if all_numeric => {
            float(MathFunc::Trig(match name {
                "sin" => Trig::Sin,
                "cos" => Trig::Cos,
                "tan" => Trig::Tan,
                "cot" => Trig::Cot,
                "asin" => Trig::Asin,
                "acos" => Trig::Acos,
                _ => Trig::Atan,
            }))
        }
        ("gcd" | "lcm", 2) if all_numeric => {
            let ty = if integers {
                promote(promote(args[0], args[1]), T::Int4)
            } else {
                NUMERIC
            };
            let f = if name == "gcd" {
                MathFunc::Gcd
            } else {
                MathFunc::Lcm
            };
            (Func::Math(f), ty, vec![Some(ty); 2])
        }
        ("factorial", 1) if integers => (
            Func::Math(MathFunc::Factorial),
            NUMERIC,
            vec![Some(T::Int8)],
        ),
        ("width_bucket", 4) if all_numeric => {
            let ty = if any_numeric || args[..3].iter().all(is_integer) {
                NUMERIC
            } else {
                T::Float8
            };
            (
                Func::Math(MathFunc::WidthBucket),
                T::Int4,
                vec![Some(ty), Some(ty), Some(ty), Some(T::Int4)],
            )
        }
        ("scale", 1) if all_numeric => (Func::Math(MathFunc::Scale), T::Int4, vec![Some(NUMERIC)]),
        ("int2and" | "int4and" | "int8and", 2)
        | ("int2or" | "int4or" | "int8or", 2)
        | ("int2xor" | "int4xor" | "int8xor", 2)
            if integers =>
        {
            let ty = promote(args[0], args[1]);
            let op = if name.ends_with("and") {
                BitOp::And
            } else if name.ends_with("xor") {
                BitOp::Xor
            } else {
                BitOp::Or
            };
            (Func::Math(MathFunc::Bit(op)), ty, vec![Some(ty); 2])
        }
        ("int2shl" | "int4shl" | "int8shl" | "int2shr" | "int4shr" | "int8shr", 2) if integers => {
            let op = if name.ends_with("shl") {
                BitOp::Shl
            } else {
                BitOp::Shr
            };
            (
                Func::Math(MathFunc::Bit(op)),
                args[0],
                vec![None, Some(T::Int4)],
            )
        }
        ("int2not" | "int4not" | "int8not", 1) if integers => {
            (Func::Math(MathFunc::BitNot), args[0], vec![None])
        }
        _ => return None,
    })
}

fn overflow() -> SqlError {
    SqlError::Type(TypeError::NumericOverflow)
}

fn float_result(x: f64) -> SqlResult<Value> {
    if x.is_nan() {
        return Err(math_error(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            "input is out of range",
        ));
    }
    Ok(Value::Float8(x))
}

/// A double-precision result of a numeric-variant function, with the 16
/// significant digits PostgreSQL's numeric math shows at least.
fn numeric_from_f64(x: f64) -> SqlResult<Value> {
    let d = Decimal::from_f64(x).ok_or_else(overflow)?;
    Ok(Value::Numeric(numeric_significant(d)?))
}

/// The square root of a numeric: Newton's method from the float
/// estimate, to the precision [`numeric_significant`] keeps.
pub(crate) fn numeric_sqrt(v: Decimal) -> SqlResult<Decimal> {
    if v.is_sign_negative() && !v.is_zero() {
        return Err(math_error(
            SqlState::INVALID_ARGUMENT_FOR_POWER,
            "cannot take square root of a negative number",
        ));
    }
    if v.is_zero() {
        return Ok(Decimal::ZERO);
    }
    let mut x = Decimal::from_f64(v.to_f64().unwrap_or(0.0).sqrt()).ok_or_else(overflow)?;
    let two = Decimal::TWO;
    for _ in 0..4 {
        if x.is_zero() {
            break;
        }
        let q = v.checked_div(x).ok_or_else(overflow)?;
        x = (x + q).checked_div(two).ok_or_else(overflow)?;
    }
    numeric_significant(x)
}

fn log_domain(x: f64, zero: &str) -> SqlResult<()> {
    if x == 0.0 {
        return Err(math_error(SqlState::INVALID_ARGUMENT_FOR_LOG, zero));
    }
    if x < 0.0 {
        return Err(math_error(
            SqlState::INVALID_ARGUMENT_FOR_LOG,
            "cannot take logarithm of a negative number",
        ));
    }
    Ok(())
}

fn int_value(v: &Value) -> Option<i64> {
    match v {
        Value::Int2(i) => Some(i64::from(*i)),
        Value::Int4(i) => Some(i64::from(*i)),
        Value::Int8(i) => Some(*i),
        _ => None,
    }
}

/// An integer result in the type of `like`, 22003 when it does not fit.
fn same_int(like: &Value, n: i128) -> SqlResult<Value> {
    let range = |t| SqlError::Type(TypeError::OutOfRange { type_name: t });
    Ok(match like {
        Value::Int2(_) => Value::Int2(i16::try_from(n).map_err(|_| range("smallint"))?),
        Value::Int4(_) => Value::Int4(i32::try_from(n).map_err(|_| range("integer"))?),
        _ => Value::Int8(i64::try_from(n).map_err(|_| range("bigint"))?),
    })
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

/// Computes a function on evaluated arguments.
pub(crate) fn call(f: MathFunc, args: &[Value]) -> SqlResult<Value> {
    match f {
        MathFunc::Pi => return Ok(Value::Float8(std::f64::consts::PI)),
        MathFunc::Random => return Ok(Value::Float8(random_unit()?)),
        _ => {}
    }
    if args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let x = args.first().and_then(to_f64).unwrap_or(0.0);
    let y = args.get(1).and_then(to_f64).unwrap_or(0.0);
    let is_numeric_arg = matches!(args.first(), Some(Value::Numeric(_)));
    let dec = |i: usize| -> SqlResult<Decimal> {
        Ok(args
            .get(i)
            .map(to_decimal)
            .transpose()?
            .flatten()
            .unwrap_or_default())
    };
    match f {
        MathFunc::Sign => Ok(match &args[0] {
            Value::Numeric(d) => Value::Numeric(if d.is_zero() {
                Decimal::ZERO
            } else if d.is_sign_negative() {
                Decimal::NEGATIVE_ONE
            } else {
                Decimal::ONE
            }),
            _ => Value::Float8(if x == 0.0 { 0.0 } else { x.signum() }),
        }),
        MathFunc::TruncDigits => {
            let digits = int_value(&args[1]).unwrap_or(0);
            let d = dec(0)?;
            Ok(Value::Numeric(if digits >= 0 {
                let dp = digits.min(28) as u32;
                let mut r = d.trunc_with_scale(dp);
                r.rescale(dp);
                r
            } else {
                let factor = Decimal::from(10u64.pow(digits.unsigned_abs().min(18) as u32));
                (d / factor).trunc() * factor
            }))
        }
        MathFunc::Div => {
            let b = dec(1)?;
            if b.is_zero() {
                return Err(SqlError::DivisionByZero);
            }
            let q = dec(0)?.checked_div(b).ok_or_else(overflow)?.trunc();
            Ok(Value::Numeric(q.normalize()))
        }
        MathFunc::Exp => {
            if is_numeric_arg {
                numeric_from_f64(x.exp())
            } else {
                float_result(x.exp())
            }
        }
        MathFunc::Ln | MathFunc::Log10 => {
            log_domain(x, "cannot take logarithm of zero")?;
            let r = if f == MathFunc::Ln { x.ln() } else { x.log10() };
            if is_numeric_arg {
                numeric_from_f64(r)
            } else {
                float_result(r)
            }
        }
        MathFunc::LogBase => {
            log_domain(x, "cannot take logarithm of zero")?;
            log_domain(y, "cannot take logarithm of zero")?;
            if x == 1.0 {
                return Err(SqlError::DivisionByZero);
            }
            numeric_from_f64(y.ln() / x.ln())
        }
        MathFunc::Cbrt => float_result(x.cbrt()),
        MathFunc::Degrees => float_result(x.to_degrees()),
        MathFunc::Radians => float_result(x.to_radians()),
        MathFunc::Atan2 => float_result(x.atan2(y)),
        MathFunc::Trig(t) => {
            let r = match t {
                Trig::Sin => x.sin(),
                Trig::Cos => x.cos(),
                Trig::Tan => x.tan(),
                Trig::Cot => 1.0 / x.tan(),
                Trig::Asin | Trig::Acos if !(-1.0..=1.0).contains(&x) => {
                    return Err(math_error(
                        SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                        "input is out of range",
                    ));
                }
                Trig::Asin => x.asin(),
                Trig::Acos => x.acos(),
                Trig::Atan => x.atan(),
            };
            float_result(r)
        }
        MathFunc::Gcd | MathFunc::Lcm => match (int_value(&args[0]), int_value(&args[1])) {
            (Some(a), Some(b)) => {
                let (a, b) = (i128::from(a), i128::from(b));
                let g = gcd(a, b);
                let r = if f == MathFunc::Gcd {
                    g
                } else if g == 0 {
                    0
                } else {
                    (a / g * b).abs()
                };
                same_int(&args[0], r)
            }
            _ => {
                let (mut a, mut b) = (dec(0)?.abs(), dec(1)?.abs());
                let (a0, b0) = (a, b);
                while !b.is_zero() {
                    (a, b) = (b, a.checked_rem(b).ok_or_else(overflow)?);
                }
                Ok(Value::Numeric(if f == MathFunc::Gcd {
                    a
                } else if a.is_zero() {
                    Decimal::ZERO
                } else {
                    (a0 / a).checked_mul(b0).ok_or_else(overflow)?
                }))
            }
        },
        MathFunc::Factorial => {
            let n = int_value(&args[0]).unwrap_or(0);
            if n < 0 {
                return Err(math_error(
                    SqlState::INVALID_PARAMETER_VALUE,
                    "factorial of a negative number is undefined",
                ));
            }
            let mut r = Decimal::ONE;
            for k in 2..=n {
                r = r.checked_mul(Decimal::from(k)).ok_or_else(overflow)?;
            }
            Ok(Value::Numeric(r))
        }
        MathFunc::WidthBucket => width_bucket(args),
        MathFunc::Scale => Ok(Value::Int4(dec(0)?.scale() as i32)),
        MathFunc::Bit(op) => bit(op, &args[0], &args[1]),
        MathFunc::BitNot => {
            let n = int_value(&args[0]).unwrap_or(0);
            same_int(&args[0], i128::from(!n))
        }
        MathFunc::Pi | MathFunc::Random => Err(SqlError::Internal("handled above".into())),
    }
}

fn bit(op: BitOp, a: &Value, b: &Value) -> SqlResult<Value> {
    let (Some(x), Some(y)) = (int_value(a), int_value(b)) else {
        return Ok(Value::Null);
    };
    let bits = match a {
        Value::Int2(_) => 16,
        Value::Int4(_) => 32,
        _ => 64,
    };
    let r: i64 = match op {
        BitOp::And => x & y,
        BitOp::Or => x | y,
        BitOp::Xor => x ^ y,
        // PostgreSQL shifts in the operand's width, the count taken
        // modulo the width as the C operators do on its platforms.
        BitOp::Shl | BitOp::Shr => {
            let count = y.rem_euclid(bits) as u32;
            match (op, bits) {
                (BitOp::Shl, 16) => i64::from((x as i16).wrapping_shl(count)),
                (BitOp::Shl, 32) => i64::from((x as i32).wrapping_shl(count)),
                (BitOp::Shl, _) => x.wrapping_shl(count),
                (_, 16) => i64::from((x as i16).wrapping_shr(count)),
                (_, 32) => i64::from((x as i32).wrapping_shr(count)),
                _ => x.wrapping_shr(count),
            }
        }
    };
    same_int(a, i128::from(r))
}

/// `width_bucket(operand, low, high, count)`: which of `count` equal
/// buckets between `low` and `high` holds the operand; 0 below, count+1
/// at or above the range.
fn width_bucket(args: &[Value]) -> SqlResult<Value> {
    let count = int_value(&args[3]).unwrap_or(0);
    if count <= 0 {
        return Err(math_error(
            SqlState::INVALID_ARGUMENT_FOR_WIDTH_BUCKET,
            "count must be greater than zero",
        ));
    }
    let (Some(op), Some(lo), Some(hi)) = (
        to_decimal(&args[0])?,
        to_decimal(&args[1])?,
        to_decimal(&args[2])?,
    ) else {
        return Ok(Value::Null);
    };
    if lo == hi {
        return Err(math_error(
            SqlState::INVALID_ARGUMENT_FOR_WIDTH_BUCKET,
            "lower bound cannot equal upper bound",
        ));
    }
    let n = Decimal::from(count);
    let bucket = if lo < hi {
        if op < lo {
            0
        } else if op >= hi {
            count + 1
        } else {
            ((op - lo) * n / (hi - lo)).floor().to_i64().unwrap_or(0) + 1
        }
    } else if op > lo {
        0
    } else if op <= hi {
        count + 1
    } else {
        ((lo - op) * n / (lo - hi)).floor().to_i64().unwrap_or(0) + 1
    };
    Ok(Value::Int4(i32::try_from(bucket).map_err(|_| {
        SqlError::Type(TypeError::OutOfRange {
            type_name: "integer",
        })
    })?))
}

/// A uniformly distributed number in [0, 1) from the system's random
/// source.
pub(crate) fn random_unit() -> SqlResult<f64> {
    let bytes = random_bytes::<8>()?;
    // 53 random bits fill a double's mantissa exactly.
    Ok((u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64)
}

/// Random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> SqlResult<[u8; N]> {
    use ring::rand::SecureRandom;
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| SqlError::Internal("the system random source failed".into()))?;
    Ok(out)
}
