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
use super::parse::{check_text, parse, parse_jsonb, parse_numeric};
use super::timezone::session_zone;
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
        (Value::Json(s), DataType::Json) => Ok(Value::Json(s.clone())),
        // A json value becomes the normalized document; a jsonb one already
        // is one, and normalizing again leaves it as it is.
        (Value::Json(s), DataType::Jsonb) => Ok(Value::Json(parse_jsonb(s)?)),
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
        // A wall-clock time becomes an instant, and back, in the session
        // zone.
        (Value::Date(d), DataType::TimestampTz) => Ok(Value::TimestampTz(
            session_zone().to_utc(date_to_timestamp(*d)?)?,
        )),
        (Value::Timestamp(t), DataType::TimestampTz) => {
            Ok(Value::TimestampTz(session_zone().to_utc(*t)?))
        }
        (Value::Timestamp(t), DataType::Date) => Ok(Value::Date(timestamp_to_date(*t)?)),
        (Value::TimestampTz(t), DataType::Date) => {
            Ok(Value::Date(timestamp_to_date(session_zone().to_local(*t))?))
        }
        (Value::Timestamp(t), DataType::Timestamp) => Ok(Value::Timestamp(*t)),
        (Value::TimestampTz(t), DataType::Timestamp) => {
            Ok(Value::Timestamp(session_zone().to_local(*t)))
        }
        (Value::TimestampTz(t), DataType::TimestampTz) => Ok(Value::TimestampTz(*t)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Interval;
    use crate::types::keycode::tests::value_of;
    use proptest::prelude::*;

    fn dec(s: &str) -> Value {
        Value::Numeric(s.parse().unwrap())
    }

    fn err(v: Value, to: DataType) -> String {
        v.cast(&to).unwrap_err().to_string()
    }

    #[test]
    fn integers_narrow_with_range_checks() {
        assert_eq!(
            Value::Int8(-32768).cast(&DataType::Int2).unwrap(),
            Value::Int2(-32768)
        );
        assert_eq!(
            err(Value::Int4(40_000), DataType::Int2),
            "smallint out of range"
        );
        assert_eq!(
            err(Value::Int8(1 << 40), DataType::Int4),
            "integer out of range"
        );
        let e = Value::Int8(1 << 40).cast(&DataType::Int4).unwrap_err();
        assert_eq!(e.sqlstate().code(), "22003");
    }

    #[test]
    fn rounding_rules() {
        // rint() for floats: ties to even.
        assert_eq!(
            Value::Float8(2.5).cast(&DataType::Int4).unwrap(),
            Value::Int4(2)
        );
        assert_eq!(
            Value::Float8(-3.5).cast(&DataType::Int4).unwrap(),
            Value::Int4(-4)
        );
        assert_eq!(
            Value::Float4(0.5).cast(&DataType::Int2).unwrap(),
            Value::Int2(0)
        );
        // Numerics round half away from zero.
        assert_eq!(dec("2.5").cast(&DataType::Int4).unwrap(), Value::Int4(3));
        assert_eq!(dec("-2.5").cast(&DataType::Int8).unwrap(), Value::Int8(-3));
        assert_eq!(
            err(Value::Float8(f64::NAN), DataType::Int4),
            "integer out of range"
        );
        assert_eq!(
            err(Value::Float8(9.3e18), DataType::Int8),
            "bigint out of range"
        );
        assert_eq!(
            err(dec("2147483647.5"), DataType::Int4),
            "integer out of range"
        );
    }

    #[test]
    fn floats_and_numerics() {
        assert_eq!(
            Value::Float8(0.1)
                .cast(&DataType::Numeric {
                    precision: None,
                    scale: None
                })
                .unwrap()
                .to_string(),
            "0.1"
        );
        assert_eq!(
            Value::Float4(0.1)
                .cast(&DataType::Numeric {
                    precision: None,
                    scale: None
                })
                .unwrap()
                .to_string(),
            "0.1"
        );
        assert_eq!(
            Value::Float8(100.0)
                .cast(&DataType::Numeric {
                    precision: None,
                    scale: None
                })
                .unwrap()
                .to_string(),
            "100"
        );
        assert_eq!(
            Value::Float8(1e300)
                .cast(&DataType::Numeric {
                    precision: None,
                    scale: None
                })
                .unwrap_err()
                .sqlstate()
                .code(),
            "22003"
        );
        assert_eq!(
            Value::Float8(f64::NAN)
                .cast(&DataType::Numeric {
                    precision: None,
                    scale: None
                })
                .unwrap_err()
                .sqlstate()
                .code(),
            "0A000"
        );
        assert_eq!(
            dec("0.1").cast(&DataType::Float8).unwrap(),
            Value::Float8(0.1)
        );
        assert_eq!(
            dec("0.1").cast(&DataType::Float4).unwrap(),
            Value::Float4(0.1)
        );
        assert_eq!(
            Value::Int8(i64::MAX).cast(&DataType::Float8).unwrap(),
            Value::Float8(9.223_372_036_854_776e18)
        );
        assert_eq!(
            err(Value::Float8(1e39), DataType::Float4),
            "value out of range: overflow"
        );
        assert_eq!(
            err(Value::Float8(1e-50), DataType::Float4),
            "value out of range: underflow"
        );
        assert!(
            matches!(Value::Float8(f64::NAN).cast(&DataType::Float4).unwrap(), Value::Float4(f) if f.is_nan())
        );
    }

    #[test]
    fn numeric_typmod() {
        let ty = DataType::numeric(5, 2).unwrap();
        assert_eq!(dec("123.455").cast(&ty).unwrap().to_string(), "123.46");
        assert_eq!(dec("-123.455").cast(&ty).unwrap().to_string(), "-123.46");
        assert_eq!(Value::Int4(7).cast(&ty).unwrap().to_string(), "7.00");
        let e = dec("999.995").cast(&ty).unwrap_err();
        assert_eq!(e.to_string(), "numeric field overflow");
        assert_eq!(
            e.detail().unwrap(),
            "A field with precision 5, scale 2 must round to an absolute value less than 10^3."
        );
        assert_eq!(
            Value::Int4(1000).assign(&ty).unwrap_err().sqlstate().code(),
            "22003"
        );
        assert_eq!(dec("0.004").cast(&ty).unwrap().to_string(), "0.00");
        let int_only = DataType::numeric(3, 0).unwrap();
        assert_eq!(
            Value::Float8(99.5).cast(&int_only).unwrap().to_string(),
            "100"
        );
        assert_eq!(
            dec("999.5").cast(&int_only).unwrap_err().sqlstate().code(),
            "22003"
        );
    }

    #[test]
    fn strings_truncate_on_cast_and_fail_on_assignment() {
        let v3 = DataType::Varchar(Some(3));
        let t = |s: &str| Value::Text(s.into());
        assert_eq!(t("abcdef").cast(&v3).unwrap(), t("abc"));
        assert_eq!(t("héllo").cast(&v3).unwrap(), t("hél"));
        let e = t("abcdef").assign(&v3).unwrap_err();
        assert_eq!(
            e.to_string(),
            "value too long for type character varying(3)"
        );
        assert_eq!(e.sqlstate().code(), "22001");
        assert_eq!(t("abc   ").assign(&v3).unwrap(), t("abc"));
        assert_eq!(t("ab").assign(&DataType::Char(Some(4))).unwrap(), t("ab  "));
        assert_eq!(
            t("abcde").cast(&DataType::Char(Some(4))).unwrap(),
            t("abcd")
        );
        assert_eq!(
            t("abcde")
                .assign(&DataType::Char(Some(4)))
                .unwrap_err()
                .to_string(),
            "value too long for type character(4)"
        );
        assert_eq!(Value::Int4(12345).cast(&v3).unwrap(), t("123"));
        assert_eq!(
            Value::Int4(12345)
                .assign(&v3)
                .unwrap_err()
                .sqlstate()
                .code(),
            "22001"
        );
    }

    #[test]
    fn text_in_and_out() {
        let t = |s: &str| Value::Text(s.into());
        assert_eq!(Value::Bool(true).cast(&DataType::Text).unwrap(), t("true"));
        assert_eq!(
            Value::Float8(1e20).cast(&DataType::Text).unwrap(),
            t("1e+20")
        );
        assert_eq!(
            Value::Interval(Interval::new(14, 3, 0))
                .cast(&DataType::Text)
                .unwrap(),
            t("1 year 2 mons 3 days")
        );
        assert_eq!(t(" 42 ").cast(&DataType::Int8).unwrap(), Value::Int8(42));
        assert_eq!(t("yes").cast(&DataType::Bool).unwrap(), Value::Bool(true));
        assert_eq!(
            t("2024-01-31").cast(&DataType::Date).unwrap().to_string(),
            "2024-01-31"
        );
        assert_eq!(
            t("[1]").cast(&DataType::Jsonb).unwrap(),
            Value::Json("[1]".into())
        );
        assert_eq!(
            t("nope")
                .cast(&DataType::Json)
                .unwrap_err()
                .sqlstate()
                .code(),
            "22P02"
        );
        assert_eq!(
            Value::Json("{}".into()).cast(&DataType::Text).unwrap(),
            t("{}")
        );
        assert_eq!(
            t("a\0")
                .cast(&DataType::Varchar(None))
                .unwrap_err()
                .sqlstate()
                .code(),
            "22021"
        );
        assert_eq!(Value::Null.cast(&DataType::Int4).unwrap(), Value::Null);
    }

    #[test]
    fn booleans_dates_and_refusals() {
        assert_eq!(
            Value::Bool(true).cast(&DataType::Int4).unwrap(),
            Value::Int4(1)
        );
        assert_eq!(
            Value::Int4(-7).cast(&DataType::Bool).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            err(Value::Bool(true), DataType::Int8),
            "cannot cast type boolean to bigint"
        );
        assert_eq!(
            err(Value::Int8(1), DataType::Bool),
            "cannot cast type bigint to boolean"
        );
        assert_eq!(
            err(Value::Date(0), DataType::Int4),
            "cannot cast type date to integer"
        );
        assert_eq!(
            err(Value::Bytea(vec![]), DataType::Json),
            "cannot cast type bytea to json"
        );
        let day = crate::types::datetime::USECS_PER_DAY;
        assert_eq!(
            Value::Date(1).cast(&DataType::Timestamp).unwrap(),
            Value::Timestamp(day)
        );
        assert_eq!(
            Value::Timestamp(-1).cast(&DataType::Date).unwrap(),
            Value::Date(-1)
        );
        assert_eq!(
            Value::Date(i32::MAX).cast(&DataType::TimestampTz).unwrap(),
            Value::TimestampTz(i64::MAX)
        );
        assert_eq!(
            Value::TimestampTz(i64::MIN).cast(&DataType::Date).unwrap(),
            Value::Date(i32::MIN)
        );
        assert_eq!(
            Value::Date(2_000_000_000)
                .cast(&DataType::Timestamp)
                .unwrap_err()
                .sqlstate()
                .code(),
            "22008"
        );
        let ts = Value::Timestamp(5).cast(&DataType::TimestampTz).unwrap();
        assert!(matches!(ts, Value::TimestampTz(5)));
    }

    fn any_type() -> impl Strategy<Value = DataType> {
        prop_oneof![
            Just(DataType::Bool),
            Just(DataType::Int2),
            Just(DataType::Int4),
            Just(DataType::Int8),
            Just(DataType::Float4),
            Just(DataType::Float8),
            Just(DataType::Numeric {
                precision: None,
                scale: None
            }),
            (1u32..40, 0u32..40)
                .prop_filter_map("scale <= precision", |(p, s)| DataType::numeric(p, s).ok()),
            Just(DataType::Text),
            Just(DataType::Varchar(Some(2))),
            Just(DataType::Char(Some(3))),
            Just(DataType::Bytea),
            Just(DataType::Date),
            Just(DataType::Timestamp),
            Just(DataType::TimestampTz),
            Just(DataType::Interval),
            Just(DataType::Json),
        ]
    }

    proptest! {
        #[test]
        fn casts_never_panic(from in any_type(), to in any_type(), seed in any::<u64>()) {
            let mut runner = proptest::test_runner::TestRunner::new_with_rng(
                proptest::test_runner::Config::default(),
                proptest::test_runner::TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &seed.to_le_bytes().repeat(4)),
            );
            let v = value_of(from).new_tree(&mut runner).unwrap().current();
            let _ = v.cast(&to);
            let _ = v.assign(&to);
        }

        #[test]
        fn text_round_trips_through_casts(from in any_type(), seed in any::<u64>()) {
            let mut runner = proptest::test_runner::TestRunner::new_with_rng(
                proptest::test_runner::Config::default(),
                proptest::test_runner::TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &seed.to_le_bytes().repeat(4)),
            );
            let v = value_of(from).new_tree(&mut runner).unwrap().current();
            use crate::types::datetime::{DATE_END, DATE_MIN, TIMESTAMP_END, TIMESTAMP_MIN};
            let representable = match v {
                Value::Date(d) => (DATE_MIN..DATE_END).contains(&d) || d == i32::MAX || d == i32::MIN,
                Value::Timestamp(t) | Value::TimestampTz(t) => {
                    (TIMESTAMP_MIN..TIMESTAMP_END).contains(&t) || t == i64::MAX || t == i64::MIN
                }
                _ => true,
            };
            // Arbitrary strings are not JSON, so JSON values have no round trip here.
            prop_assume!(representable && !matches!(v, Value::Json(_)));
            if let (Some(ty), false, Ok(text)) = (v.data_type(), from.is_string(), v.cast(&DataType::Text)) {
                prop_assert_eq!(text.cast(&ty).unwrap(), v);
            }
        }
    }
}
