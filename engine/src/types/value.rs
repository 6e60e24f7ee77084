//! SQL values and their PostgreSQL text output.

use std::fmt;
use std::fmt::Write;

use rust_decimal::Decimal;

use super::datatype::DataType;
use super::datetime::{format_date, format_timestamp};
use super::interval::Interval;

/// One SQL value.
///
/// `varchar` and `char` values are `Text` (the column's type carries the
/// length), and `jsonb` values are `Json` text of the normalized document
/// (see `types::json`). Dates count days and
/// timestamps microseconds from 2000-01-01 as PostgreSQL does, with the
/// extremes of the integer (`i32::MAX`, `i64::MIN`, ...) standing for
/// `infinity` and `-infinity`. `TimestampTz` is an instant in UTC.
///
/// `==`, `Ord` and `Hash` follow SQL's *grouping* rules (see
/// [`Value::total_cmp`]); [`Value::sql_cmp`] is the three-valued comparison
/// operators use.
#[derive(Debug, Clone)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// `boolean`
    Bool(bool),
    /// `smallint`
    Int2(i16),
    /// `integer`
    Int4(i32),
    /// `bigint`
    Int8(i64),
    /// `real`
    Float4(f32),
    /// `double precision`
    Float8(f64),
    /// `numeric`, limited to the 28 significant digits `Decimal` holds.
    Numeric(Decimal),
    /// `text`, `varchar` and `char`.
    Text(String),
    /// `bytea`
    Bytea(Vec<u8>),
    /// `date`: days since 2000-01-01.
    Date(i32),
    /// `timestamp`: microseconds since 2000-01-01 00:00, wall-clock.
    Timestamp(i64),
    /// `timestamptz`: microseconds since 2000-01-01 00:00 UTC.
    TimestampTz(i64),
    /// `interval`
    Interval(Interval),
    /// `json` and `jsonb`, as validated text (a jsonb value's normalized).
    Json(String),
}

impl Value {
    /// The type of the value, `None` for NULL (which has every type).
    pub fn data_type(&self) -> Option<DataType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => DataType::Bool,
            Value::Int2(_) => DataType::Int2,
            Value::Int4(_) => DataType::Int4,
            Value::Int8(_) => DataType::Int8,
            Value::Float4(_) => DataType::Float4,
            Value::Float8(_) => DataType::Float8,
            Value::Numeric(_) => DataType::Numeric {
                precision: None,
                scale: None,
            },
            Value::Text(_) => DataType::Text,
            Value::Bytea(_) => DataType::Bytea,
            Value::Date(_) => DataType::Date,
            Value::Timestamp(_) => DataType::Timestamp,
            Value::TimestampTz(_) => DataType::TimestampTz,
            Value::Interval(_) => DataType::Interval,
            Value::Json(_) => DataType::Json,
        })
    }

    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value in PostgreSQL's text output format (what the wire protocol
    /// sends in text mode), `None` for NULL.
    pub fn to_pg_text(&self) -> Option<String> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(b) => if *b { "t" } else { "f" }.to_owned(),
            Value::Int2(i) => i.to_string(),
            Value::Int4(i) => i.to_string(),
            Value::Int8(i) => i.to_string(),
            Value::Float4(f) => float4_text(*f),
            Value::Float8(f) => float8_text(*f),
            Value::Numeric(d) => numeric_text(*d),
            Value::Text(s) | Value::Json(s) => s.clone(),
            Value::Bytea(b) => bytea_text(b),
            Value::Date(d) => format_date(*d),
            Value::Timestamp(t) => format_timestamp(*t, false),
            Value::TimestampTz(t) => format_timestamp(*t, true),
            Value::Interval(i) => i.to_string(),
        })
    }
}

/// The PostgreSQL text form; NULL shows as `NULL`, as psql would print it.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_pg_text() {
            Some(text) => f.write_str(&text),
            None => f.write_str("NULL"),
        }
    }
}

pub(crate) fn float8_text(v: f64) -> String {
    // PostgreSQL 12+ prints the shortest text that reads back to the same
    // double, in fixed notation for decimal exponents -4..15.
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    shortest_text(&format!("{v:e}"), 15)
}

pub(crate) fn float4_text(v: f32) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    shortest_text(&format!("{v:e}"), 6)
}

/// Rewrites Rust's shortest round-trip `1.5e-7` form into PostgreSQL's:
/// fixed notation when `-4 <= exponent < fixed_limit`, else `1.5e-07`.
fn shortest_text(sci: &str, fixed_limit: i32) -> String {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::from(sign);
    if (-4..fixed_limit).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', exp.unsigned_abs() as usize - 1));
            out.push_str(&digits);
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
            } else {
                let (int_part, frac_part) = digits.split_at(int_len);
                let _ = write!(out, "{int_part}.{frac_part}");
            }
        }
    } else {
        let (first, rest) = digits.split_at(digits.len().min(1));
        out.push_str(first);
        if !rest.is_empty() {
            let _ = write!(out, ".{rest}");
        }
        let exp_sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "e{exp_sign}{:02}", exp.unsigned_abs());
    }
    out
}

pub(crate) fn numeric_text(d: Decimal) -> String {
    // Decimal can hold a negative zero; PostgreSQL has none.
    if d.is_zero() { d.abs() } else { d }.to_string()
}

/// PostgreSQL's default `hex` bytea output.
pub(crate) fn bytea_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 + bytes.len() * 2);
    out.push_str("\\x");
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_postgres() {
        let cases: [(f64, &str); 14] = [
            (0.1, "0.1"),
            (1e20, "1e+20"),
            (1e15, "1e+15"),
            (1e14, "100000000000000"),
            (123.456, "123.456"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-1.5e-7, "-1.5e-07"),
            (1e100, "1e+100"),
            (0.0, "0"),
            (-0.0, "-0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (1.0 / 3.0, "0.3333333333333333"),
        ];
        for (v, text) in cases {
            assert_eq!(float8_text(v), text, "{v}");
        }
        assert_eq!(float4_text(0.1), "0.1");
        assert_eq!(float4_text(123_456.0), "123456");
        assert_eq!(float4_text(1_234_567.0), "1.234567e+06");
        assert_eq!(float4_text(f32::INFINITY), "Infinity");
    }

    #[test]
    fn other_outputs() {
        assert_eq!(Value::Bool(true).to_string(), "t");
        assert_eq!(Value::Bytea(vec![10, 11]).to_string(), "\\x0a0b");
        assert_eq!(Value::Numeric(Decimal::new(150, 2)).to_string(), "1.50");
        assert_eq!(Value::Numeric(Decimal::new(-0, 1)).to_string(), "0.0");
        assert_eq!(Value::Date(0).to_string(), "2000-01-01");
        assert_eq!(
            Value::TimestampTz(1_500_000).to_string(),
            "2000-01-01 00:00:01.5+00"
        );
        assert_eq!(Value::Null.to_pg_text(), None);
        assert_eq!(Value::Int4(1).data_type(), Some(DataType::Int4));
        assert!(Value::Null.is_null());
    }
}
