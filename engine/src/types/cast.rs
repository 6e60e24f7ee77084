//! Conversions between types, following PostgreSQL's casts.
//!
//! An explicit cast (`CAST(x AS varchar(3))`) silently truncates strings; an
//! assignment cast (`INSERT`, `UPDATE`) rejects a string that would lose
//! anything but trailing spaces. Everything else behaves the same in both.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::datatype::DataType;
use super::datetime::{date_to_timestamp, timestamp_to_date};
use super::error::TypeError;
use super::parse::{check_text, parse, parse_numeric};
use super::value::Value;

impl Value {
    /// An explicit cast, `CAST(self AS to)`: strings longer than a
    /// `varchar(n)`/`char(n)` are truncated.
    pub fn cast(&self, to: &DataType) -> Result<Value, TypeError> {
        apply_typmod(convert(self, to)?, to, false)
    }

    /// An assignment cast, for storing into a column of type `to`: as
    /// [`Value::cast`], but a string that does not fit fails with 22001
    /// unless only spaces would be cut.
    pub fn assign(&self, to: &DataType) -> Result<Value, TypeError> {
        apply_typmod(convert(self, to)?, to, true)
    }
}

/// Makes a value of `to`'s base type fit its modifier: `numeric(p,s)`
/// rounds to `s` places and rejects more than `p - s` integer digits;
/// `varchar(n)` and `char(n)` cut (or, `strict`, reject) extra characters;
/// `char(n)` pads with spaces.
pub(crate) fn apply_typmod(v: Value, to: &DataType, strict: bool) -> Result<Value, TypeError> {
    Ok(match (v, to) {
        (
            Value::Numeric(d),
            DataType::Numeric {
                precision: Some(p),
                scale,
            },
        ) => Value::Numeric(fit_numeric(d, *p, scale.unwrap_or(0))?),
        (Value::Text(s), DataType::Varchar(Some(n))) => Value::Text(fit_length(s, *n, strict, to)?),
        (Value::Text(s), DataType::Char(Some(n))) => {
            let mut s = fit_length(s, *n, strict, to)?;
            let short = (*n as usize).saturating_sub(s.chars().count());
            s.extend(std::iter::repeat_n(' ', short));
            Value::Text(s)
        }
        (v, _) => v,
    })
}

fn fit_length(mut s: String, n: u32, strict: bool, ty: &DataType) -> Result<String, TypeError> {
    let Some((cut, _)) = s.char_indices().nth(n as usize) else {
        return Ok(s);
    };
    let excess_is_spaces = s
        .get(cut..)
        .is_some_and(|rest| rest.bytes().all(|b| b == b' '));
    if strict && !excess_is_spaces {
        return Err(TypeError::TooLong {
            type_name: ty.to_string(),
        });
    }
    s.truncate(cut);
    Ok(s)
}

fn fit_numeric(d: Decimal, precision: u32, scale: u32) -> Result<Decimal, TypeError> {
    let mut rounded = d.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    let integer_part = rounded.mantissa().unsigned_abs() / 10u128.pow(rounded.scale());
    let integer_digits = if integer_part == 0 {
        0
    } else {
        integer_part.ilog10() + 1
    };
    if integer_digits > precision.saturating_sub(scale) {
        return Err(TypeError::NumericFieldOverflow { precision, scale });
    }
    // Shows `1` as `1.00` in numeric(5,2); where 28 digits cannot hold the
    // scale, `rescale` keeps the most it can.
    rounded.rescale(scale);
    Ok(rounded)
}

fn cannot_cast(v: &Value, to: &DataType) -> TypeError {
    TypeError::CannotCast {
        from: v
            .data_type()
            .map_or_else(|| "unknown".to_owned(), |t| t.to_string()),
        to: to.to_string(),
    }
}

/// The conversion to `to`'s base type, before its modifier applies.
fn convert(v: &Value, to: &DataType) -> Result<Value, TypeError> {
    match (v, to) {
        (Value::Null, _) => Ok(Value::Null),
        (Value::Text(s), t) if !t.is_string() => parse(s, t),
        (Value::Json(s), DataType::Json | DataType::Jsonb) => Ok(Value::Json(s.clone())),
        (_, t) if t.is_string() => Ok(Value::Text(match v {
            Value::Text(s) => check_text(s)?.to_owned(),
            Value::Json(s) => s.clone(),
            // `boolout` prints t/f, but the cast to text spells it out.
            Value::Bool(b) => if *b { "true" } else { "false" }.to_owned(),
            other => other.to_pg_text().unwrap_or_default(),
        })),
        (Value::Bool(b), DataType::Bool) => Ok(Value::Bool(*b)),
        (Value::Bool(b), DataType::Int4) => Ok(Value::Int4(i32::from(*b))),
        (Value::Int4(i), DataType::Bool) => Ok(Value::Bool(*i != 0)),
        (Value::Bytea(b), DataType::Bytea) => Ok(Value::Bytea(b.clone())),
        (Value::Interval(i), DataType::Interval) => Ok(Value::Interval(*i)),
        (Value::Date(d), DataType::Date) => Ok(Value::Date(*d)),
        (Value::Date(d), DataType::Timestamp) => Ok(Value::Timestamp(date_to_timestamp(*d)?)),
        (Value::Date(d), DataType::TimestampTz) => Ok(Value::TimestampTz(date_to_timestamp(*d)?)),
        (Value::Timestamp(t) | Value::TimestampTz(t), DataType::Date) => {
            Ok(Value::Date(timestamp_to_date(*t)?))
        }
        // The session time zone is UTC, so wall-clock and instant agree.
        (Value::Timestamp(t) | Value::TimestampTz(t), DataType::Timestamp) => {
            Ok(Value::Timestamp(*t))
        }
        (Value::Timestamp(t) | Value::TimestampTz(t), DataType::TimestampTz) => {
            Ok(Value::TimestampTz(*t))
        }
        _ => match number(v) {
            Some(n) => convert_number(n, to).unwrap_or_else(|| Err(cannot_cast(v, to))),
            None => Err(cannot_cast(v, to)),
        },
    }
}

#[derive(Clone, Copy)]
enum Number {
    Int(i64),
    Float4(f32),
    Float8(f64),
    Dec(Decimal),
}

fn number(v: &Value) -> Option<Number> {
    Some(match v {
        Value::Int2(i) => Number::Int(i64::from(*i)),
        Value::Int4(i) => Number::Int(i64::from(*i)),
        Value::Int8(i) => Number::Int(*i),
        Value::Float4(f) => Number::Float4(*f),
        Value::Float8(f) => Number::Float8(*f),
        Value::Numeric(d) => Number::Dec(*d),
        _ => return None,
    })
}

/// `None` when `to` is not a numeric type.
fn convert_number(n: Number, to: &DataType) -> Option<Result<Value, TypeError>> {
    Some(match to {
        DataType::Int2 => to_int(n, to).map(Value::Int2),
        DataType::Int4 => to_int(n, to).map(Value::Int4),
        DataType::Int8 => to_int(n, to).map(Value::Int8),
        DataType::Float4 => to_float4(n).map(Value::Float4),
        DataType::Float8 => Ok(Value::Float8(to_float8(n))),
        DataType::Numeric { .. } => to_numeric(n).map(Value::Numeric),
        _ => return None,
    })
}

/// Floats round half to even (`rint`), numerics half away from zero, as
/// PostgreSQL does.
fn to_int<T: TryFrom<i64>>(n: Number, to: &DataType) -> Result<T, TypeError> {
    let out_of_range = || TypeError::OutOfRange {
        type_name: to.name(),
    };
    let float_to_i64 = |f: f64| {
        let r = f.round_ties_even();
        // 2^63 is exact in f64; NaN fails both comparisons.
        (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0)
            .contains(&r)
            .then_some(r as i64)
    };
    let wide = match n {
        Number::Int(i) => Some(i),
        Number::Float4(f) => float_to_i64(f64::from(f)),
        Number::Float8(f) => float_to_i64(f),
        Number::Dec(d) => d
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
            .to_i64(),
    };
    wide.and_then(|i| T::try_from(i).ok())
        .ok_or_else(out_of_range)
}

/// Decimal to float through its text, which `str::parse` rounds correctly
/// (as PostgreSQL's `numeric_float8` does through `strtod`).
fn dec_to<T: std::str::FromStr + Default>(d: Decimal) -> T {
    d.to_string().parse().unwrap_or_default()
}

fn to_float4(n: Number) -> Result<f32, TypeError> {
    Ok(match n {
        Number::Int(i) => i as f32,
        Number::Float4(f) => f,
        Number::Float8(f) => {
            let narrowed = f as f32;
            if narrowed.is_infinite() && f.is_finite() {
                return Err(TypeError::FloatOutOfRange("overflow"));
            }
            if narrowed == 0.0 && f != 0.0 {
                return Err(TypeError::FloatOutOfRange("underflow"));
            }
            narrowed
        }
        Number::Dec(d) => dec_to(d),
    })
}

fn to_float8(n: Number) -> f64 {
    match n {
        Number::Int(i) => i as f64,
        Number::Float4(f) => f64::from(f),
        Number::Float8(f) => f,
        Number::Dec(d) => dec_to(d),
    }
}

/// Floats convert through their text at 15 (`double`) or 6 (`real`)
/// significant digits, as PostgreSQL's `float8_numeric` does, so
/// `0.1::float8::numeric` is `0.1`.
fn to_numeric(n: Number) -> Result<Decimal, TypeError> {
    let via_text = |text: String| parse_numeric(&text).map(|d| d.normalize());
    match n {
        Number::Int(i) => Ok(Decimal::from(i)),
        Number::Dec(d) => Ok(d),
        Number::Float4(f) if f.is_finite() => via_text(format!("{f:.5e}")),
        Number::Float8(f) if f.is_finite() => via_text(format!("{f:.14e}")),
        Number::Float4(_) | Number::Float8(_) => {
            Err(TypeError::Unsupported("numeric NaN and Infinity"))
        }
    }
}
