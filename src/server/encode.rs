//! Values on the wire: PostgreSQL's text and binary formats.
//!
//! Text is the engine's own business: [`Value::to_pg_text`] prints exactly
//! what PostgreSQL prints and [`parse`] reads what its input functions read,
//! so the text codec only adds NULL handling and UTF-8 checks. The binary
//! formats are PostgreSQL's `*send`/`*recv` functions: big-endian integers
//! and IEEE floats, dates and timestamps as days and microseconds since
//! 2000-01-01 (which the engine already uses, infinities included), intervals
//! as microseconds, days and months, `jsonb` behind a version byte, and
//! `numeric` as base-10000 digit groups with a weight, a sign and a display
//! scale. Decoding trusts nothing: every length is checked and malformed
//! input is a 22P03 error, never a panic.

use std::str::FromStr;

use rust_decimal::Decimal;
use rustydb_engine::types::{DataType, Interval, Value, parse};

use super::backend::BackendError;

/// Numeric sign words of PostgreSQL's binary format.
const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
/// The `jsonb` binary format version PostgreSQL writes.
const JSONB_VERSION: u8 = 1;
/// More base-10000 digits than any value `Decimal` holds could need; caps
/// the work a hostile numeric can ask for.
const MAX_NUMERIC_DIGITS: usize = 64;

/// The wire format of one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    /// Format code 0.
    Text,
    /// Format code 1.
    Binary,
}

impl WireFormat {
    /// The format for a protocol format code; anything but 0 and 1 is a
    /// protocol violation.
    pub fn from_code(code: i16) -> Result<WireFormat, BackendError> {
        match code {
            0 => Ok(WireFormat::Text),
            1 => Ok(WireFormat::Binary),
            other => Err(BackendError::new(
                "08P01",
                format!("invalid format code: {other}"),
            )),
        }
    }

    /// The format of column or parameter `index` under a Bind message's list
    /// of codes: none means all text, one applies to all, otherwise one per
    /// item (a count mismatch is a protocol violation).
    pub fn for_index(
        codes: &[i16],
        index: usize,
        count: usize,
    ) -> Result<WireFormat, BackendError> {
        match codes {
            [] => Ok(WireFormat::Text),
            [one] => WireFormat::from_code(*one),
            many if many.len() == count => {
                WireFormat::from_code(many.get(index).copied().unwrap_or(0))
            }
            many => Err(BackendError::new(
                "08P01",
                format!(
                    "bind message has {} format codes but {count} are needed",
                    many.len()
                ),
            )),
        }
    }
}

/// Encodes a value of a column of type `ty`; `None` is NULL.
pub fn encode(
    value: &Value,
    ty: &DataType,
    format: WireFormat,
) -> Result<Option<Vec<u8>>, BackendError> {
    if value.is_null() {
        return Ok(None);
    }
    // A value whose variant differs from the column's type (an `int4` in a
    // `bigint` column) is converted first, so the bytes match the OID the
    // RowDescription announced.
    let owned;
    let value = if value.data_type().is_some_and(|t| same_family(&t, ty)) {
        value
    } else {
        owned = value
            .cast(ty)
            .map_err(|e| BackendError::new(e.sqlstate().code(), e.to_string()))?;
        &owned
    };
    Ok(Some(match format {
        WireFormat::Text => value.to_pg_text().unwrap_or_default().into_bytes(),
        WireFormat::Binary => encode_binary(value, ty),
    }))
}

fn same_family(a: &DataType, b: &DataType) -> bool {
    a.oid() == b.oid()
        || (a.is_string() && b.is_string())
        || (matches!(a, DataType::Json) && matches!(b, DataType::Jsonb))
}

fn encode_binary(value: &Value, ty: &DataType) -> Vec<u8> {
    match value {
        Value::Null => Vec::new(),
        Value::Bool(b) => vec![u8::from(*b)],
        Value::Int2(i) => i.to_be_bytes().to_vec(),
        Value::Int4(i) => i.to_be_bytes().to_vec(),
        Value::Int8(i) => i.to_be_bytes().to_vec(),
        Value::Float4(f) => f.to_be_bytes().to_vec(),
        Value::Float8(f) => f.to_be_bytes().to_vec(),
        Value::Numeric(d) => encode_numeric(*d),
        Value::Text(s) => s.as_bytes().to_vec(),
        Value::Json(s) => {
            if matches!(ty, DataType::Jsonb) {
                let mut out = Vec::with_capacity(s.len() + 1);
                out.push(JSONB_VERSION);
                out.extend_from_slice(s.as_bytes());
                out
            } else {
                s.as_bytes().to_vec()
            }
        }
        Value::Bytea(b) => b.clone(),
        Value::Date(d) => d.to_be_bytes().to_vec(),
        Value::Timestamp(t) | Value::TimestampTz(t) => t.to_be_bytes().to_vec(),
        Value::Interval(i) => {
            let mut out = Vec::with_capacity(16);
            out.extend_from_slice(&i.micros.to_be_bytes());
            out.extend_from_slice(&i.days.to_be_bytes());
            out.extend_from_slice(&i.months.to_be_bytes());
            out
        }
    }
}

/// Decodes a parameter or COPY field of type `ty`; `None` is NULL.
pub fn decode(
    bytes: Option<&[u8]>,
    ty: &DataType,
    format: WireFormat,
) -> Result<Value, BackendError> {
    let Some(bytes) = bytes else {
        return Ok(Value::Null);
    };
    match format {
        WireFormat::Text => {
            let text = std::str::from_utf8(bytes).map_err(|_| {
                BackendError::new("22021", "invalid byte sequence for encoding \"UTF8\"")
            })?;
            parse(text, ty).map_err(|e| BackendError::new(e.sqlstate().code(), e.to_string()))
        }
        WireFormat::Binary => decode_binary(bytes, ty).ok_or_else(|| {
            BackendError::new(
                "22P03",
                format!("incorrect binary data format for type {}", ty.name()),
            )
        }),
    }
}

fn fixed<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    bytes.try_into().ok()
}

fn decode_binary(bytes: &[u8], ty: &DataType) -> Option<Value> {
    let value = match ty {
        DataType::Bool => match bytes {
            [0] => Value::Bool(false),
            [1] => Value::Bool(true),
            _ => return None,
        },
        DataType::Int2 => Value::Int2(i16::from_be_bytes(fixed(bytes)?)),
        DataType::Int4 => Value::Int4(i32::from_be_bytes(fixed(bytes)?)),
        DataType::Int8 => Value::Int8(i64::from_be_bytes(fixed(bytes)?)),
        DataType::Float4 => Value::Float4(f32::from_be_bytes(fixed(bytes)?)),
        DataType::Float8 => Value::Float8(f64::from_be_bytes(fixed(bytes)?)),
        DataType::Numeric { .. } => Value::Numeric(decode_numeric(bytes)?),
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) => {
            Value::Text(utf8_without_nul(bytes)?)
        }
        DataType::Json => Value::Json(utf8_without_nul(bytes)?),
        DataType::Jsonb => match bytes.split_first() {
            Some((&JSONB_VERSION, rest)) => Value::Json(utf8_without_nul(rest)?),
            _ => return None,
        },
        DataType::Bytea => Value::Bytea(bytes.to_vec()),
        DataType::Date => Value::Date(i32::from_be_bytes(fixed(bytes)?)),
        DataType::Timestamp => Value::Timestamp(i64::from_be_bytes(fixed(bytes)?)),
        DataType::TimestampTz => Value::TimestampTz(i64::from_be_bytes(fixed(bytes)?)),
        DataType::Interval => {
            let raw: [u8; 16] = fixed(bytes)?;
            let (micros, rest) = raw.split_at(8);
            let (days, months) = rest.split_at(4);
            Value::Interval(Interval::new(
                i32::from_be_bytes(fixed(months)?),
                i32::from_be_bytes(fixed(days)?),
                i64::from_be_bytes(fixed(micros)?),
            ))
        }
    };
    // Text-shaped values still go through the type's checks (JSON validity,
    // `varchar(n)` length) by a round trip through its input function.
    match &value {
        Value::Text(s) | Value::Json(s) => parse(s, ty).ok(),
        _ => value.assign(ty).ok(),
    }
}

fn utf8_without_nul(bytes: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(bytes).ok()?;
    (!s.contains('\0')).then(|| s.to_owned())
}

/// PostgreSQL's `numeric_send`.
fn encode_numeric(d: Decimal) -> Vec<u8> {
    let scale = d.scale() as usize;
    let digits = d.mantissa().unsigned_abs().to_string();
    let (int_part, frac_part) = if digits.len() > scale {
        digits.split_at(digits.len() - scale)
    } else {
        ("", digits.as_str())
    };
    let frac_full = format!("{}{frac_part}", "0".repeat(scale - frac_part.len()));
    let int_pad = (4 - int_part.len() % 4) % 4;
    let int_full = format!("{}{int_part}", "0".repeat(int_pad));
    let frac_pad = (4 - frac_full.len() % 4) % 4;
    let frac_full = format!("{frac_full}{}", "0".repeat(frac_pad));

    let group = |chunk: &[u8]| -> i16 {
        chunk
            .iter()
            .fold(0i16, |acc, c| acc * 10 + i16::from(c.saturating_sub(b'0')))
    };
    let int_groups: Vec<i16> = int_full.as_bytes().chunks(4).map(group).collect();
    let frac_groups: Vec<i16> = frac_full.as_bytes().chunks(4).map(group).collect();
    let mut weight = int_groups.len() as i16 - 1;
    let mut groups: Vec<i16> = int_groups.into_iter().chain(frac_groups).collect();
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let sign = if d.is_sign_negative() && !groups.is_empty() {
        NUMERIC_NEG
    } else {
        NUMERIC_POS
    };
    let mut out = Vec::with_capacity(8 + groups.len() * 2);
    out.extend_from_slice(&(groups.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&(scale as u16).to_be_bytes());
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    out
}

/// PostgreSQL's `numeric_recv`, limited to what `Decimal` holds.
fn decode_numeric(bytes: &[u8]) -> Option<Decimal> {
    let word = |i: usize| -> Option<u16> {
        Some(u16::from_be_bytes(fixed(bytes.get(i * 2..i * 2 + 2)?)?))
    };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = usize::from(word(3)?);
    if ndigits > MAX_NUMERIC_DIGITS || bytes.len() != 8 + ndigits * 2 || sign == NUMERIC_NAN {
        return None;
    }
    if sign != NUMERIC_POS && sign != NUMERIC_NEG {
        return None;
    }
    let mut groups = Vec::with_capacity(ndigits);
    for i in 0..ndigits {
        let g = word(4 + i)?;
        if g >= 10_000 {
            return None;
        }
        groups.push(g);
    }
    // Lay the groups out as decimal text: group i stands for
    // g * 10000^(weight - i).
    let first_exp = weight;
    let last_exp = weight - ndigits as i32 + 1;
    let mut int_text = String::new();
    let mut frac_text = String::new();
    for exp in (last_exp.min(0)..=first_exp.max(0)).rev() {
        let index = weight - exp;
        let g = if (0..ndigits as i32).contains(&index) {
            groups.get(index as usize).copied().unwrap_or(0)
        } else {
            0
        };
        if exp >= 0 {
            int_text.push_str(&format!("{g:04}"));
        } else {
            frac_text.push_str(&format!("{g:04}"));
        }
        if int_text.len() + frac_text.len() > MAX_NUMERIC_DIGITS * 4 + 8 {
            return None;
        }
    }
    frac_text.truncate(dscale.min(frac_text.len()));
    let int_text = int_text.trim_start_matches('0');
    let text = format!(
        "{}{}.{frac_text}",
        if sign == NUMERIC_NEG { "-" } else { "" },
        if int_text.is_empty() { "0" } else { int_text }
    );
    let mut d = Decimal::from_str(text.trim_end_matches('.')).ok()?;
    if dscale > d.scale() as usize {
        d.rescale(u32::try_from(dscale).ok()?.min(28));
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerics_round_trip_through_postgres_binary() {
        for text in [
            "0",
            "0.00",
            "1",
            "-1",
            "12345.6789",
            "0.0001",
            "-0.5",
            "10000",
            "99999999.99",
            "123456789012345678.1234567891",
            "1.50",
        ] {
            let d = Decimal::from_str(text).unwrap();
            let bytes = encode_numeric(d);
            let back = decode_numeric(&bytes).unwrap();
            assert_eq!(back, d, "{text}");
            assert_eq!(back.scale(), d.scale(), "{text}");
        }
        // 12345.6789 is PostgreSQL's [2 digits: 1 2345 | 6789], weight 1.
        let bytes = encode_numeric(Decimal::from_str("12345.6789").unwrap());
        assert_eq!(
            bytes,
            [0, 3, 0, 1, 0, 0, 0, 4, 0, 1, 0x09, 0x29, 0x1a, 0x85]
        );
    }

    #[test]
    fn malformed_binary_is_rejected() {
        assert!(decode(Some(&[1, 2, 3]), &DataType::Int4, WireFormat::Binary).is_err());
        assert!(
            decode(
                Some(&[0, 0xff, 0xff]),
                &DataType::Numeric {
                    precision: None,
                    scale: None
                },
                WireFormat::Binary
            )
            .is_err()
        );
        assert!(decode(Some(&[2]), &DataType::Jsonb, WireFormat::Binary).is_err());
        assert!(decode(Some(&[0xff]), &DataType::Text, WireFormat::Binary).is_err());
    }
}
