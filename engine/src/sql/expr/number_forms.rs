//! The number pictures that replace the digit layout altogether:
//! `RN` (Roman numerals) and `EEEE` (scientific notation), as
//! `to_char(number, text)` prints them.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::sql::error::{SqlError, SqlResult};
use crate::types::{TypeError, Value};

/// The value as a float for the two forms (both round it anyway).
fn as_f64(v: &Value) -> SqlResult<f64> {
    Ok(match v {
        Value::Int2(n) => f64::from(*n),
        Value::Int4(n) => f64::from(*n),
        Value::Int8(n) => *n as f64,
        Value::Float4(f) => f64::from(*f),
        Value::Float8(f) => *f,
        Value::Numeric(d) => d.to_f64().unwrap_or(f64::NAN),
        other => {
            return Err(SqlError::Internal(format!(
                "to_char of a number got {other:?}"
            )));
        }
    })
}

/// `RN`: the value rounded to an integer in Roman numerals, right-aligned
/// in 15 characters unless `fill` (`FM`); outside 1..=3999 PostgreSQL
/// prints 15 `#`.
pub(super) fn roman(v: &Value, lower: bool, fill: bool) -> SqlResult<String> {
    let n = match v {
        Value::Numeric(d) => d
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
            .to_i64(),
        other => {
            let f = as_f64(other)?.round();
            f.is_finite().then_some(f as i64)
        }
    };
    let Some(mut n) = n.filter(|n| (1..=3999).contains(n)) else {
        return Ok("#".repeat(15));
    };
    const NUMERALS: [(i64, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut out = String::new();
    for (value, numeral) in NUMERALS {
        while n >= value {
            out.push_str(numeral);
            n -= value;
        }
    }
    if lower {
        out.make_ascii_lowercase();
    }
    Ok(if fill { out } else { format!("{out:>15}") })
}

/// `EEEE`: `d.ddde+XX` with `post` fraction digits, after a sign position
/// (`-` or a space).
pub(super) fn scientific(v: &Value, post: usize) -> SqlResult<String> {
    let (negative, mantissa, exponent) = match v {
        Value::Numeric(d) => {
            let (m, e) = decimal_scientific(*d, post)?;
            (d.is_sign_negative() && !d.is_zero(), m, e)
        }
        other => {
            let f = as_f64(other)?;
            if !f.is_finite() {
                return Ok(format!(" {}", "#".repeat(post + 6)));
            }
            let text = format!("{:.*e}", post, f.abs());
            let (m, e) = text.split_once('e').unwrap_or((&text, "0"));
            (f < 0.0, m.to_owned(), e.parse().unwrap_or(0))
        }
    };
    let sign = if negative { "-" } else { " " };
    let exp_sign = if exponent < 0 { '-' } else { '+' };
    Ok(format!(
        "{sign}{mantissa}e{exp_sign}{:02}",
        exponent.unsigned_abs()
    ))
}

/// A decimal's mantissa (`post` fraction digits, rounded half away from
/// zero) and exponent. The exponent is the unrounded value's, so 9.996
/// with two digits is `10.00e+00`, as PostgreSQL prints it.
fn decimal_scientific(d: Decimal, post: usize) -> SqlResult<(String, i32)> {
    let abs = d.abs().normalize();
    if abs.is_zero() {
        return Ok((format!("{:.post$}", 0.0), 0));
    }
    let digits = abs.mantissa().to_string().len() as u32;
    let exponent = digits as i32 - 1 - abs.scale() as i32;
    // The coefficient with one digit before the point.
    let mantissa = Decimal::try_from_i128_with_scale(abs.mantissa(), digits - 1)
        .map_err(|_| SqlError::Type(TypeError::NumericOverflow))?;
    let dp = u32::try_from(post.min(28)).unwrap_or(28);
    let rounded = mantissa.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    Ok((format!("{rounded:.post$}"), exponent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roman_numerals_round_and_pad() {
        assert_eq!(roman(&Value::Int4(1994), false, true).unwrap(), "MCMXCIV");
        assert_eq!(
            roman(&Value::Int4(1994), false, false).unwrap(),
            "        MCMXCIV"
        );
        assert_eq!(
            roman(&Value::Int4(4), true, false).unwrap(),
            "             iv"
        );
        assert_eq!(roman(&Value::Float8(12.7), false, true).unwrap(), "XIII");
        assert_eq!(
            roman(&Value::Int4(4000), false, true).unwrap(),
            "#".repeat(15)
        );
    }

    #[test]
    fn scientific_notation_keeps_the_picture_digits() {
        let n = |m: i64, s: u32| Value::Numeric(Decimal::new(m, s));
        assert_eq!(scientific(&n(12_345_678, 3), 2).unwrap(), " 1.23e+04");
        assert_eq!(scientific(&n(-123, 6), 1).unwrap(), "-1.2e-04");
        assert_eq!(scientific(&n(0, 0), 2).unwrap(), " 0.00e+00");
        assert_eq!(scientific(&n(9_996, 3), 2).unwrap(), " 10.00e+00");
        assert_eq!(scientific(&n(12_345, 1), 0).unwrap(), " 1e+03");
        assert_eq!(scientific(&Value::Float8(1.5e300), 1).unwrap(), " 1.5e+300");
    }
}
