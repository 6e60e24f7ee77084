//! Order-preserving key encoding: tuples of values become byte strings whose
//! `memcmp` order is the tuples' order, so B+trees compare keys as bytes.
//!
//! Each column is a marker byte (NULL first `0x00`, value `0x01`, NULL last
//! `0x02`) followed, for a value, by its encoding, complemented for a
//! descending column. Equal values in SQL encode to equal bytes: `-0` is
//! `0`, every NaN is one NaN, `1.0` and `1.00` are one numeric, and an
//! interval is only its [`span`](super::Interval::span). Decoding thus gives
//! back a value equal to the original, not always the same representation:
//! a numeric has its trailing zeros stripped unless the column type's scale
//! restores them, and an interval comes back with as much as possible in
//! months, then days. Text orders bytewise (the C collation).

use std::cmp::Ordering;

use rust_decimal::Decimal;

use super::datatype::DataType;
use super::error::TypeError;
use super::interval::Interval;
use super::value::Value;

/// How one key column orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyColumn {
    /// Descending order.
    pub desc: bool,
    /// NULLs before values (PostgreSQL's default for `DESC`) rather than
    /// after (its default for `ASC`).
    pub nulls_first: bool,
}

const NULL_FIRST: u8 = 0x00;
const PRESENT: u8 = 0x01;
const NULL_LAST: u8 = 0x02;

const NUMERIC_NEGATIVE: u8 = 0x01;
const NUMERIC_ZERO: u8 = 0x02;
const NUMERIC_POSITIVE: u8 = 0x03;

/// Appends the key of `values` to `out`. Column `i` orders by
/// `columns[i]`, or ascending with NULLs last if `columns` is shorter.
pub fn encode_key(values: &[Value], columns: &[KeyColumn], out: &mut Vec<u8>) {
    for (i, value) in values.iter().enumerate() {
        let column = columns.get(i).copied().unwrap_or_default();
        if value.is_null() {
            out.push(if column.nulls_first {
                NULL_FIRST
            } else {
                NULL_LAST
            });
            continue;
        }
        out.push(PRESENT);
        let start = out.len();
        encode_value(value, out);
        if column.desc {
            out.get_mut(start..)
                .into_iter()
                .flatten()
                .for_each(|b| *b = !*b);
        }
    }
}

/// Decodes a key of columns of `types`, ordered by `columns` as in
/// [`encode_key`]. Fails with [`TypeError::Corrupt`] on bytes no key
/// encodes to, and never panics.
pub fn decode_key(
    bytes: &[u8],
    types: &[DataType],
    columns: &[KeyColumn],
) -> Result<Vec<Value>, TypeError> {
    let mut r = Reader {
        bytes,
        pos: 0,
        mask: 0,
    };
    let mut values = Vec::with_capacity(types.len());
    for (i, ty) in types.iter().enumerate() {
        let column = columns.get(i).copied().unwrap_or_default();
        r.mask = 0;
        let marker = r.byte()?;
        let expected_null = if column.nulls_first {
            NULL_FIRST
        } else {
            NULL_LAST
        };
        if marker == expected_null {
            values.push(Value::Null);
            continue;
        }
        if marker != PRESENT {
            return Err(TypeError::Corrupt("bad key column marker"));
        }
        r.mask = if column.desc { 0xff } else { 0 };
        values.push(decode_value(&mut r, ty)?);
    }
    if r.pos != bytes.len() {
        return Err(TypeError::Corrupt("trailing bytes after key"));
    }
    Ok(values)
}

/// Compares two tuples the way their keys compare: the order for sorting
/// rows without encoding them.
pub fn compare_keys(a: &[Value], b: &[Value], columns: &[KeyColumn]) -> Ordering {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let column = columns.get(i).copied().unwrap_or_default();
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) if column.nulls_first => Ordering::Less,
            (true, false) => Ordering::Greater,
            (false, true) if column.nulls_first => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) if column.desc => x.total_cmp(y).reverse(),
            (false, false) => x.total_cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

fn encode_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push(u8::from(*b)),
        Value::Int2(i) => out.extend_from_slice(&(*i as u16 ^ 1 << 15).to_be_bytes()),
        Value::Int4(i) | Value::Date(i) => {
            out.extend_from_slice(&(*i as u32 ^ 1 << 31).to_be_bytes())
        }
        Value::Int8(i) | Value::Timestamp(i) | Value::TimestampTz(i) => {
            out.extend_from_slice(&(*i as u64 ^ 1 << 63).to_be_bytes());
        }
        Value::Float4(f) => {
            let bits = if f.is_nan() {
                f32::NAN.to_bits()
            } else {
                (f + 0.0).to_bits()
            };
            let key = if bits >> 31 == 1 {
                !bits
            } else {
                bits | 1 << 31
            };
            out.extend_from_slice(&key.to_be_bytes());
        }
        Value::Float8(f) => {
            // `+ 0.0` turns -0 into 0; the sign flip makes positive floats
            // sort above negative ones, and the complement reverses the
            // negatives' magnitude order.
            let bits = if f.is_nan() {
                f64::NAN.to_bits()
            } else {
                (f + 0.0).to_bits()
            };
            let key = if bits >> 63 == 1 {
                !bits
            } else {
                bits | 1 << 63
            };
            out.extend_from_slice(&key.to_be_bytes());
        }
        Value::Numeric(d) => encode_numeric(*d, out),
        Value::Text(s) | Value::Json(s) => encode_bytes(s.as_bytes(), out),
        Value::Bytea(b) => encode_bytes(b, out),
        Value::Interval(i) => out.extend_from_slice(&(i.span() as u128 ^ 1 << 127).to_be_bytes()),
    }
}

/// Bytes with each 0x00 escaped as 0x00 0xff and a 0x00 0x01 terminator, so
/// a string sorts before its extensions and the key after it stays apart.
fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xff);
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

/// A sign byte; then, for non-zero values, the decimal exponent `e` of
/// `0.d1d2... * 10^e` (biased by 128) and the significant digits two to a
/// byte as `10*a + b + 1`, ending in 0x00. Without trailing zeros, a longer
/// digit string at the same exponent is the larger magnitude, and 0x00
/// sorts before any digit pair. Negatives complement all but the sign byte.
fn encode_numeric(d: Decimal, out: &mut Vec<u8>) {
    if d.is_zero() {
        out.push(NUMERIC_ZERO);
        return;
    }
    let all_digits = d.mantissa().unsigned_abs().to_string();
    let digits = all_digits.trim_end_matches('0').as_bytes();
    // At most 29 digits and a scale of at most 28: -27..=29.
    let exponent = all_digits.len() as i32 - d.scale() as i32;
    let negative = d.is_sign_negative();
    out.push(if negative {
        NUMERIC_NEGATIVE
    } else {
        NUMERIC_POSITIVE
    });
    let start = out.len();
    out.push((exponent + 128) as u8);
    for pair in digits.chunks(2) {
        let digit = |i: usize| pair.get(i).map_or(0, |c| c - b'0');
        out.push(digit(0) * 10 + digit(1) + 1);
    }
    out.push(0);
    if negative {
        out.get_mut(start..)
            .into_iter()
            .flatten()
            .for_each(|b| *b = !*b);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// 0xff inside a descending column: every byte read is un-complemented.
    mask: u8,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, TypeError> {
        let b = self
            .bytes
            .get(self.pos)
            .ok_or(TypeError::Corrupt("key ends early"))?;
        self.pos += 1;
        Ok(b ^ self.mask)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], TypeError> {
        let mut out = [0; N];
        for b in &mut out {
            *b = self.byte()?;
        }
        Ok(out)
    }

    fn escaped_bytes(&mut self) -> Result<Vec<u8>, TypeError> {
        let mut out = Vec::new();
        loop {
            match self.byte()? {
                0 => match self.byte()? {
                    0x01 => return Ok(out),
                    0xff => out.push(0),
                    _ => return Err(TypeError::Corrupt("bad escape in key string")),
                },
                b => out.push(b),
            }
        }
    }
}

fn decode_value(r: &mut Reader<'_>, ty: &DataType) -> Result<Value, TypeError> {
    Ok(match ty {
        DataType::Bool => match r.byte()? {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            _ => return Err(TypeError::Corrupt("bad boolean in key")),
        },
        DataType::Int2 => Value::Int2((u16::from_be_bytes(r.array()?) ^ 1 << 15) as i16),
        DataType::Int4 => Value::Int4((u32::from_be_bytes(r.array()?) ^ 1 << 31) as i32),
        DataType::Date => Value::Date((u32::from_be_bytes(r.array()?) ^ 1 << 31) as i32),
        DataType::Int8 => Value::Int8((u64::from_be_bytes(r.array()?) ^ 1 << 63) as i64),
        DataType::Timestamp => Value::Timestamp((u64::from_be_bytes(r.array()?) ^ 1 << 63) as i64),
        DataType::TimestampTz => {
            Value::TimestampTz((u64::from_be_bytes(r.array()?) ^ 1 << 63) as i64)
        }
        DataType::Float4 => {
            let key = u32::from_be_bytes(r.array()?);
            let bits = if key >> 31 == 1 {
                key & !(1 << 31)
            } else {
                !key
            };
            Value::Float4(f32::from_bits(bits))
        }
        DataType::Float8 => {
            let key = u64::from_be_bytes(r.array()?);
            let bits = if key >> 63 == 1 {
                key & !(1 << 63)
            } else {
                !key
            };
            Value::Float8(f64::from_bits(bits))
        }
        DataType::Numeric { scale, .. } => {
            let mut d = decode_numeric(r)?;
            if let Some(scale) = scale {
                d.rescale(*scale);
            }
            Value::Numeric(d)
        }
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) => {
            Value::Text(utf8(r.escaped_bytes()?)?)
        }
        DataType::Json | DataType::Jsonb => Value::Json(utf8(r.escaped_bytes()?)?),
        DataType::Bytea => Value::Bytea(r.escaped_bytes()?),
        DataType::Interval => {
            let span = (u128::from_be_bytes(r.array()?) ^ 1 << 127) as i128;
            Value::Interval(
                Interval::from_span(span).ok_or(TypeError::Corrupt("interval key out of range"))?,
            )
        }
    })
}

fn utf8(bytes: Vec<u8>) -> Result<String, TypeError> {
    String::from_utf8(bytes).map_err(|_| TypeError::Corrupt("key string is not UTF-8"))
}

fn decode_numeric(r: &mut Reader<'_>) -> Result<Decimal, TypeError> {
    let corrupt = || TypeError::Corrupt("bad numeric in key");
    let negative = match r.byte()? {
        NUMERIC_ZERO => return Ok(Decimal::ZERO),
        NUMERIC_NEGATIVE => true,
        NUMERIC_POSITIVE => false,
        _ => return Err(corrupt()),
    };
    let outer = r.mask;
    r.mask ^= if negative { 0xff } else { 0 };
    let exponent = i64::from(r.byte()?) - 128;
    let mut digits = Vec::with_capacity(30);
    loop {
        match r.byte()? {
            0 => break,
            pair @ 1..=100 if digits.len() < 30 => {
                digits.push((pair - 1) / 10);
                digits.push((pair - 1) % 10);
            }
            _ => return Err(corrupt()),
        }
    }
    r.mask = outer;
    while digits.last() == Some(&0) {
        digits.pop();
    }
    let count = digits.len() as i64;
    let mut mantissa = digits
        .iter()
        .try_fold(0u128, |m, d| m.checked_mul(10)?.checked_add(u128::from(*d)));
    let mut scale = count - exponent;
    if scale < 0 {
        mantissa =
            mantissa.and_then(|m| m.checked_mul(10u128.checked_pow(u32::try_from(-scale).ok()?)?));
        scale = 0;
    }
    let mantissa = i128::try_from(mantissa.ok_or_else(corrupt)?).map_err(|_| corrupt())?;
    let scale = u32::try_from(scale).map_err(|_| corrupt())?;
    Decimal::try_from_i128_with_scale(if negative { -mantissa } else { mantissa }, scale)
        .map_err(|_| corrupt())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Arbitrary values of one type, biased to the edges that break
    /// encodings.
    pub(crate) fn value_of(ty: DataType) -> BoxedStrategy<Value> {
        match ty {
            DataType::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
            DataType::Int2 => any::<i16>().prop_map(Value::Int2).boxed(),
            DataType::Int4 => any::<i32>().prop_map(Value::Int4).boxed(),
            DataType::Int8 => any::<i64>().prop_map(Value::Int8).boxed(),
            DataType::Float4 => prop_oneof![
                any::<f32>(),
                Just(-0.0f32),
                Just(f32::NAN),
                Just(f32::INFINITY)
            ]
            .prop_map(Value::Float4)
            .boxed(),
            DataType::Float8 => prop_oneof![
                any::<f64>(),
                Just(-0.0),
                Just(f64::NAN),
                Just(f64::NEG_INFINITY),
                -1e3f64..1e3
            ]
            .prop_map(Value::Float8)
            .boxed(),
            DataType::Numeric { .. } => {
                prop_oneof![
                    (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
                    (-1000i64..1000, 0u32..4).prop_map(|(m, s)| Decimal::new(m, s)),
                    (any::<i128>(), 0u32..=28)
                        .prop_map(|(m, s)| Decimal::try_from_i128_with_scale(m >> 32, s)
                            .unwrap_or(Decimal::MAX)),
                ]
                .prop_map(Value::Numeric)
                .boxed()
            }
            DataType::Bytea => proptest::collection::vec(
                prop_oneof![Just(0u8), Just(1), Just(0xff), any::<u8>()],
                0..6,
            )
            .prop_map(Value::Bytea)
            .boxed(),
            DataType::Date => prop_oneof![any::<i32>(), -1000i32..1000]
                .prop_map(Value::Date)
                .boxed(),
            DataType::Timestamp => prop_oneof![any::<i64>(), -(1i64 << 50)..1 << 50]
                .prop_map(Value::Timestamp)
                .boxed(),
            DataType::TimestampTz => prop_oneof![any::<i64>(), -(1i64 << 50)..1 << 50]
                .prop_map(Value::TimestampTz)
                .boxed(),
            DataType::Interval => (any::<i32>(), any::<i32>(), any::<i64>())
                .prop_map(|(m, d, u)| Value::Interval(Interval::new(m % 50, d % 100, u)))
                .boxed(),
            DataType::Json | DataType::Jsonb => {
                "[a\\x00\\x01\u{e9}]{0,5}".prop_map(Value::Json).boxed()
            }
            _ => "[a\\x00\\x01\u{e9}]{0,5}".prop_map(Value::Text).boxed(),
        }
    }

    const TYPES: [DataType; 10] = [
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
        DataType::Interval,
    ];

    fn nullable(ty: DataType) -> BoxedStrategy<Value> {
        prop_oneof![1 => Just(Value::Null), 6 => value_of(ty)].boxed()
    }

    /// Two tuples of the same column types, with their key orderings.
    fn tuple_pair() -> impl Strategy<Value = (Vec<DataType>, Vec<KeyColumn>, Vec<Value>, Vec<Value>)>
    {
        proptest::collection::vec((0..TYPES.len() + 2, any::<bool>(), any::<bool>()), 1..4)
            .prop_flat_map(|cols| {
                let all = [&TYPES[..], &[DataType::Date, DataType::Timestamp]].concat();
                let types: Vec<DataType> = cols.iter().map(|(t, _, _)| all[*t]).collect();
                let keys = cols
                    .iter()
                    .map(|&(_, desc, nulls_first)| KeyColumn { desc, nulls_first })
                    .collect();
                let a = types.iter().map(|t| nullable(*t)).collect::<Vec<_>>();
                let b = types.iter().map(|t| nullable(*t)).collect::<Vec<_>>();
                (Just(types), Just(keys), a, b)
            })
    }

    fn key(values: &[Value], columns: &[KeyColumn]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_key(values, columns, &mut out);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn key_order_is_value_order((types, cols, a, b) in tuple_pair()) {
            let (ka, kb) = (key(&a, &cols), key(&b, &cols));
            prop_assert_eq!(ka.cmp(&kb), compare_keys(&a, &b, &cols), "{:?} vs {:?}", a, b);
            prop_assert_eq!(decode_key(&ka, &types, &cols).unwrap(), a);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40), desc in any::<bool>()) {
            let cols = [KeyColumn { desc, nulls_first: desc }; 3];
            for types in [&TYPES[..3], &TYPES[3..6], &TYPES[6..9], &TYPES[7..]] {
                let _ = decode_key(&bytes, types, &cols);
            }
        }
    }

    #[test]
    fn numeric_keys_follow_decimal_order() {
        let mut values: Vec<Decimal> = [
            "-79228162514264337593543950335",
            "-1000",
            "-100.5",
            "-100",
            "-10",
            "-1.01",
            "-1",
            "-0.99",
            "-0.1",
            "-0.0000000000000000000000000001",
            "0",
            "0.0000000000000000000000000001",
            "0.0001",
            "0.00012",
            "0.1",
            "0.12",
            "0.123",
            "1",
            "1.5",
            "9",
            "10",
            "10.01",
            "12",
            "100",
            "101",
            "1000",
            "79228162514264337593543950335",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let keys: Vec<Vec<u8>> = values
            .iter()
            .map(|d| key(&[Value::Numeric(*d)], &[]))
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        values.sort();
        for (d, k) in values.iter().zip(&keys) {
            assert_eq!(
                decode_key(
                    k,
                    &[DataType::Numeric {
                        precision: None,
                        scale: None
                    }],
                    &[]
                )
                .unwrap(),
                [Value::Numeric(*d)]
            );
        }
        let ten = key(&[Value::Numeric("10.00".parse().unwrap())], &[]);
        assert_eq!(ten, key(&[Value::Numeric("10".parse().unwrap())], &[]));
        let typed = decode_key(&ten, &[DataType::numeric(6, 2).unwrap()], &[]).unwrap();
        assert_eq!(typed[0].to_string(), "10.00");
    }

    #[test]
    fn prefixes_and_nulls() {
        let t = |s: &str| Value::Text(s.into());
        let asc = [KeyColumn::default(), KeyColumn::default()];
        assert!(key(&[t("a"), t("z")], &asc) < key(&[t("ab"), t("a")], &asc));
        assert!(key(&[t("a"), t("z")], &asc) < key(&[t("a\0"), t("a")], &asc));
        let desc = [KeyColumn {
            desc: true,
            nulls_first: true,
        }];
        assert!(key(&[Value::Null], &desc) < key(&[t("b")], &desc));
        assert!(key(&[t("b")], &desc) < key(&[t("a")], &desc));
        assert!(key(&[t("ab")], &desc) < key(&[t("a")], &desc));
        assert!(key(&[Value::Int4(5)], &[]) < key(&[Value::Null], &[]));
        assert!(decode_key(&key(&[t("x")], &[]), &[DataType::Text, DataType::Text], &[]).is_err());
        assert!(decode_key(&[1, 0x80, 0, 0, 0, 9], &[DataType::Int4], &[]).is_err());
    }
}
