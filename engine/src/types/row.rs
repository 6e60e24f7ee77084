//! The storage encoding of a row: compact, not ordered (keys are
//! [`keycode`](super::keycode)'s job).
//!
//! A row is a varint column count, a bitmap with a set bit for each NULL,
//! then each non-NULL value: fixed-size types little-endian, numerics as a
//! scale byte and a zigzag varint mantissa, strings and byte strings as a
//! varint length and the bytes. The count lets a table gain columns without
//! rewriting its rows: columns past a row's count read as NULL.

use rust_decimal::Decimal;

use super::datatype::DataType;
use super::error::TypeError;
use super::interval::Interval;
use super::value::Value;

/// Appends the encoding of `values` to `out`. The values must already have
/// their columns' types (see [`Value::assign`]): decoding reads them by the
/// column types.
pub fn encode_row(values: &[Value], out: &mut Vec<u8>) {
    put_varint(out, values.len() as u128);
    let bitmap_start = out.len();
    out.resize(bitmap_start + values.len().div_ceil(8), 0);
    for (i, value) in values.iter().enumerate() {
        if value.is_null()
            && let Some(byte) = out.get_mut(bitmap_start + i / 8)
        {
            *byte |= 1 << (i % 8);
        }
    }
    for value in values {
        match value {
            Value::Null => {}
            Value::Bool(b) => out.push(u8::from(*b)),
            Value::Int2(i) => out.extend_from_slice(&i.to_le_bytes()),
            Value::Int4(i) | Value::Date(i) => out.extend_from_slice(&i.to_le_bytes()),
            Value::Int8(i) | Value::Timestamp(i) | Value::TimestampTz(i) => {
                out.extend_from_slice(&i.to_le_bytes())
            }
            Value::Float4(f) => out.extend_from_slice(&f.to_le_bytes()),
            Value::Float8(f) => out.extend_from_slice(&f.to_le_bytes()),
            Value::Numeric(d) => {
                out.push(d.scale() as u8);
                let m = d.mantissa();
                put_varint(out, ((m << 1) ^ (m >> 127)) as u128);
            }
            Value::Text(s) | Value::Json(s) => put_bytes(out, s.as_bytes()),
            Value::Bytea(b) => put_bytes(out, b),
            Value::Interval(i) => {
                out.extend_from_slice(&i.months.to_le_bytes());
                out.extend_from_slice(&i.days.to_le_bytes());
                out.extend_from_slice(&i.micros.to_le_bytes());
            }
        }
    }
}

/// Decodes a row of columns of `types`. Fails with [`TypeError::Corrupt`]
/// on bytes [`encode_row`] does not produce, and never panics.
pub fn decode_row(bytes: &[u8], types: &[DataType]) -> Result<Vec<Value>, TypeError> {
    let mut values = Vec::with_capacity(types.len());
    decode_row_into(bytes, types, &mut values)?;
    Ok(values)
}

/// [`decode_row`] into `values` (replacing what it held), so that a scan
/// can reuse one row's allocation for the next.
///
/// # Errors
/// As [`decode_row`]; `values` then holds part of the row.
pub fn decode_row_into(
    bytes: &[u8],
    types: &[DataType],
    values: &mut Vec<Value>,
) -> Result<(), TypeError> {
    values.clear();
    let mut r = Reader { bytes, pos: 0 };
    let stored = usize::try_from(r.varint(usize::BITS)?)
        .map_err(|_| TypeError::Corrupt("row column count"))?;
    if stored > types.len() {
        return Err(TypeError::Corrupt("row has more columns than its table"));
    }
    let bitmap = r.take(stored.div_ceil(8))?;
    values.reserve(types.len());
    for (i, ty) in types.iter().enumerate() {
        let null = i >= stored || bitmap.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0);
        values.push(if null { Value::Null } else { r.value(ty)? });
    }
    if r.pos != bytes.len() {
        return Err(TypeError::Corrupt("trailing bytes after row"));
    }
    Ok(())
}

fn put_varint(out: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u128);
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TypeError> {
        // `let … else` rather than `ok_or`, which builds (and drops) the
        // error for every value read.
        let Some(end) = self.pos.checked_add(n) else {
            return Err(TypeError::Corrupt("row length"));
        };
        let Some(slice) = self.bytes.get(self.pos..end) else {
            return Err(TypeError::Corrupt("row ends early"));
        };
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], TypeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A LEB128 varint of at most `bits` bits.
    fn varint(&mut self, bits: u32) -> Result<u128, TypeError> {
        let mut v: u128 = 0;
        let mut shift = 0;
        loop {
            let [b] = self.array()?;
            let room = bits.saturating_sub(shift);
            if room == 0 || (room < 7 && (b & 0x7f) >> room != 0) {
                return Err(TypeError::Corrupt("varint too long"));
            }
            v |= u128::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    fn bytes(&mut self) -> Result<&'a [u8], TypeError> {
        let len = usize::try_from(self.varint(usize::BITS)?)
            .map_err(|_| TypeError::Corrupt("row length"))?;
        self.take(len)
    }

    fn string(&mut self) -> Result<String, TypeError> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| TypeError::Corrupt("row string is not UTF-8"))
    }

    fn value(&mut self, ty: &DataType) -> Result<Value, TypeError> {
        Ok(match ty {
            DataType::Bool => match self.array()? {
                [0] => Value::Bool(false),
                [1] => Value::Bool(true),
                _ => return Err(TypeError::Corrupt("bad boolean in row")),
            },
            DataType::Int2 => Value::Int2(i16::from_le_bytes(self.array()?)),
            DataType::Int4 => Value::Int4(i32::from_le_bytes(self.array()?)),
            DataType::Date => Value::Date(i32::from_le_bytes(self.array()?)),
            DataType::Int8 => Value::Int8(i64::from_le_bytes(self.array()?)),
            DataType::Timestamp => Value::Timestamp(i64::from_le_bytes(self.array()?)),
            DataType::TimestampTz => Value::TimestampTz(i64::from_le_bytes(self.array()?)),
            DataType::Float4 => Value::Float4(f32::from_le_bytes(self.array()?)),
            DataType::Float8 => Value::Float8(f64::from_le_bytes(self.array()?)),
            DataType::Numeric { .. } => {
                let [scale] = self.array()?;
                let zigzag = self.varint(128)?;
                let mantissa = (zigzag >> 1) as i128 ^ -((zigzag & 1) as i128);
                Value::Numeric(
                    Decimal::try_from_i128_with_scale(mantissa, u32::from(scale))
                        .map_err(|_| TypeError::Corrupt("bad numeric in row"))?,
                )
            }
            DataType::Text | DataType::Varchar(_) | DataType::Char(_) => {
                Value::Text(self.string()?)
            }
            DataType::Json | DataType::Jsonb => Value::Json(self.string()?),
            DataType::Bytea => Value::Bytea(self.bytes()?.to_vec()),
            DataType::Interval => Value::Interval(Interval::new(
                i32::from_le_bytes(self.array()?),
                i32::from_le_bytes(self.array()?),
                i64::from_le_bytes(self.array()?),
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::keycode::tests::value_of;
    use proptest::prelude::*;

    const TYPES: [DataType; 13] = [
        DataType::Bool,
        DataType::Int2,
        DataType::Int4,
        DataType::Int8,
        DataType::Float4,
        DataType::Float8,
        DataType::Numeric {
            precision: None,
            scale: None,
        },
        DataType::Text,
        DataType::Bytea,
        DataType::Date,
        DataType::Timestamp,
        DataType::Interval,
        DataType::Json,
    ];

    fn row() -> impl Strategy<Value = (Vec<DataType>, Vec<Value>)> {
        proptest::collection::vec(0..TYPES.len(), 0..12).prop_flat_map(|idx| {
            let types: Vec<DataType> = idx.iter().map(|i| TYPES[*i]).collect();
            let values = types
                .iter()
                .map(|t| prop_oneof![1 => Just(Value::Null), 4 => value_of(*t)])
                .collect::<Vec<_>>();
            (Just(types), values)
        })
    }

    /// Exact equality, stricter than SQL's: the row must come back bit for
    /// bit, interval fields and numeric scale included.
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Float4(x), Value::Float4(y)) => x.to_bits() == y.to_bits(),
            (Value::Float8(x), Value::Float8(y)) => x.to_bits() == y.to_bits(),
            (Value::Numeric(x), Value::Numeric(y)) => {
                x.mantissa() == y.mantissa() && x.scale() == y.scale()
            }
            (Value::Interval(x), Value::Interval(y)) => x == y,
            _ => a == b && a.data_type() == b.data_type(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn rows_round_trip_exactly((types, values) in row()) {
            let mut out = Vec::new();
            encode_row(&values, &mut out);
            let back = decode_row(&out, &types).unwrap();
            prop_assert_eq!(back.len(), values.len());
            for (a, b) in values.iter().zip(&back) {
                prop_assert!(same(a, b), "{:?} became {:?}", a, b);
            }
            let mut wider = types.clone();
            wider.push(DataType::Int4);
            prop_assert_eq!(decode_row(&out, &wider).unwrap().pop(), Some(Value::Null));
            if !out.is_empty() {
                prop_assert!(decode_row(&out[..out.len() - 1], &types).is_err());
            }
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_row(&bytes, &TYPES);
            let _ = decode_row(&bytes, &[DataType::Numeric { precision: None, scale: None }; 4]);
            let _ = decode_row(&bytes, &[DataType::Text; 4]);
        }
    }

    #[test]
    fn hostile_lengths_are_errors() {
        let mut huge = vec![1, 0];
        huge.extend_from_slice(&[0xff; 9]);
        huge.push(0x01);
        assert!(decode_row(&huge, &[DataType::Text]).is_err());
        assert!(decode_row(&[0xff; 30], &[DataType::Text]).is_err());
        assert!(
            decode_row(
                &[1, 0, 29, 0],
                &[DataType::Numeric {
                    precision: None,
                    scale: None
                }]
            )
            .is_err()
        );
        assert_eq!(
            decode_row(&[0], &[DataType::Int4]).unwrap(),
            vec![Value::Null]
        );
    }
}
