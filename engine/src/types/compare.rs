//! How values compare, group and hash.
//!
//! Numbers compare by their exact mathematical value across `smallint`,
//! `integer`, `bigint`, `numeric`, `real` and `double precision`, so
//! `1::int4`, `1::int8`, `1.00::numeric` and `1.0::float8` are one group.
//! (PostgreSQL compares `int8` with `float8` after rounding the integer to a
//! double; exact comparison differs only past 2^53 and, unlike rounding,
//! stays transitive, which sorting and hashing need.) Floats order as in
//! PostgreSQL: `-0 = 0` and `NaN` equals itself and is above every number.
//! Dates and timestamps compare as instants (a date is its midnight, UTC for
//! `timestamptz`), intervals by [`Interval::span`](super::Interval::span),
//! text and JSON bytewise (the C collation), as do byte strings.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use rust_decimal::Decimal;

use super::datetime::USECS_PER_DAY;
use super::value::Value;

/// A number reduced to what comparison needs.
#[derive(Clone, Copy)]
enum Num {
    Dec(Decimal),
    Float(f64),
}

/// A value reduced to its comparison family; values of different families
/// are not comparable in SQL.
enum Key<'a> {
    Bool(bool),
    Num(Num),
    Text(&'a str),
    Bytes(&'a [u8]),
    Instant(i128),
    Span(i128),
    Json(&'a str),
}

impl Key<'_> {
    /// Orders families against each other, only for [`Value::total_cmp`]'s
    /// sake.
    fn rank(&self) -> u8 {
        match self {
            Key::Bool(_) => 0,
            Key::Num(_) => 1,
            Key::Text(_) => 2,
            Key::Bytes(_) => 3,
            Key::Instant(_) => 4,
            Key::Span(_) => 5,
            Key::Json(_) => 6,
        }
    }
}

fn key(v: &Value) -> Option<Key<'_>> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => Key::Bool(*b),
        Value::Int2(i) => Key::Num(Num::Dec(Decimal::from(*i))),
        Value::Int4(i) => Key::Num(Num::Dec(Decimal::from(*i))),
        Value::Int8(i) => Key::Num(Num::Dec(Decimal::from(*i))),
        Value::Numeric(d) => Key::Num(Num::Dec(*d)),
        Value::Float4(f) => Key::Num(Num::Float(f64::from(*f))),
        Value::Float8(f) => Key::Num(Num::Float(*f)),
        Value::Text(s) => Key::Text(s),
        Value::Json(s) => Key::Json(s),
        Value::Bytea(b) => Key::Bytes(b),
        Value::Date(d) => Key::Instant(match *d {
            i32::MAX => i128::MAX,
            i32::MIN => i128::MIN,
            d => i128::from(d) * i128::from(USECS_PER_DAY),
        }),
        Value::Timestamp(t) | Value::TimestampTz(t) => Key::Instant(match *t {
            i64::MAX => i128::MAX,
            i64::MIN => i128::MIN,
            t => i128::from(t),
        }),
        Value::Interval(i) => Key::Span(i.span()),
    })
}

fn cmp_keys(a: &Key<'_>, b: &Key<'_>) -> Option<Ordering> {
    Some(match (a, b) {
        (Key::Bool(x), Key::Bool(y)) => x.cmp(y),
        (Key::Num(x), Key::Num(y)) => num_cmp(*x, *y),
        (Key::Text(x), Key::Text(y)) | (Key::Json(x), Key::Json(y)) => x.cmp(y),
        (Key::Bytes(x), Key::Bytes(y)) => x.cmp(y),
        (Key::Instant(x), Key::Instant(y)) | (Key::Span(x), Key::Span(y)) => x.cmp(y),
        _ => return None,
    })
}

impl Value {
    /// SQL comparison: `None` when either side is NULL (the comparison is
    /// unknown) or the two are of unrelated types, which the SQL layer rules
    /// out before it compares.
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        cmp_keys(&key(self)?, &key(other)?)
    }

    /// A total order for sorting, grouping and keys: [`Value::sql_cmp`]
    /// where that is defined, NULL after every value (PostgreSQL's default
    /// `ASC NULLS LAST`; NULLs equal each other, as `GROUP BY` and
    /// `DISTINCT` treat them), and unrelated types ordered by family.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        match (key(self), key(other)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) => cmp_keys(&a, &b).unwrap_or_else(|| a.rank().cmp(&b.rank())),
        }
    }
}

/// Grouping equality: "is not distinct from".
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        self.total_cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Value) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Value) -> Ordering {
        self.total_cmp(other)
    }
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let Some(k) = key(self) else {
            state.write_u8(u8::MAX);
            return;
        };
        state.write_u8(k.rank());
        match k {
            Key::Bool(b) => b.hash(state),
            Key::Num(n) => num_hash_key(n).hash(state),
            Key::Text(s) | Key::Json(s) => s.hash(state),
            Key::Bytes(b) => b.hash(state),
            Key::Instant(t) | Key::Span(t) => t.hash(state),
        }
    }
}

/// A number's canonical form for hashing: equal numbers, whatever their
/// types, must hash alike. Every number a `Decimal` can hold exactly hashes
/// as that decimal without trailing zeros; other floats by their bits.
#[derive(Hash)]
enum NumHash {
    Exact(i128, u32),
    Float(u64),
}

fn num_hash_key(n: Num) -> NumHash {
    let exact = |d: Decimal| {
        let d = d.normalize();
        NumHash::Exact(d.mantissa(), d.scale())
    };
    match n {
        Num::Dec(d) if d.is_zero() => NumHash::Exact(0, 0),
        Num::Dec(d) => exact(d),
        // The pattern matches -0.0 too: float patterns compare with `==`.
        Num::Float(0.0) => NumHash::Exact(0, 0),
        Num::Float(f) if f.is_nan() => NumHash::Float(f64::NAN.to_bits()),
        Num::Float(f) => match float_as_decimal(f) {
            Some(d) => exact(d),
            None => NumHash::Float(f.to_bits()),
        },
    }
}

/// A finite double as `m * 2^e` with `m` odd, or `(0, 0)` for zero.
fn float_parts(f: f64) -> (u64, i32) {
    let bits = f.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1 << 52) - 1);
    let (m, e) = if exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1 << 52), exp - 1075)
    };
    if m == 0 {
        return (0, 0);
    }
    let tz = m.trailing_zeros();
    (m >> tz, e + tz as i32)
}

fn shl(v: u128, by: u32) -> Option<u128> {
    (by < 128 && v.leading_zeros() >= by).then(|| v << by)
}

/// The double exactly, if a `Decimal` can hold it: `m * 2^-k` is
/// `m * 5^k / 10^k`, and that scale `k` is the least possible since `m` is
/// odd.
fn float_as_decimal(f: f64) -> Option<Decimal> {
    if !f.is_finite() {
        return None;
    }
    let (m, e) = float_parts(f);
    let (mantissa, scale) = if e >= 0 {
        (shl(u128::from(m), e.unsigned_abs())?, 0)
    } else {
        let k = e.unsigned_abs();
        if k > 28 {
            return None;
        }
        (u128::from(m).checked_mul(5u128.pow(k))?, k)
    };
    let signed = i128::try_from(mantissa).ok()?;
    Decimal::try_from_i128_with_scale(if f < 0.0 { -signed } else { signed }, scale).ok()
}

fn float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

fn num_cmp(a: Num, b: Num) -> Ordering {
    match (a, b) {
        (Num::Dec(x), Num::Dec(y)) => x.cmp(&y),
        (Num::Float(x), Num::Float(y)) => float_cmp(x, y),
        (Num::Dec(d), Num::Float(f)) => dec_float_cmp(d, f),
        (Num::Float(f), Num::Dec(d)) => dec_float_cmp(d, f).reverse(),
    }
}

/// Compares a decimal with a double exactly, in integers: no rounding
/// through either type.
fn dec_float_cmp(d: Decimal, f: f64) -> Ordering {
    if f.is_nan() || f == f64::INFINITY {
        return Ordering::Less;
    }
    if f == f64::NEG_INFINITY {
        return Ordering::Greater;
    }
    let sign = |negative: bool, zero: bool| {
        if zero {
            0
        } else if negative {
            -1
        } else {
            1
        }
    };
    let ds = sign(d.is_sign_negative(), d.is_zero());
    let fs = sign(f < 0.0, f == 0.0);
    if ds != fs || ds == 0 {
        return ds.cmp(&fs);
    }
    let magnitude = abs_cmp(d.mantissa().unsigned_abs(), d.scale(), f);
    if ds < 0 {
        magnitude.reverse()
    } else {
        magnitude
    }
}

/// Compares `mantissa / 10^scale` with `|f|`, `f` finite and non-zero.
fn abs_cmp(mantissa: u128, scale: u32, f: f64) -> Ordering {
    let (m, e) = float_parts(f);
    let m = u128::from(m);
    if e >= 0 {
        // mantissa vs m * 2^e * 10^scale; a right side past u128 is larger
        // than any 96-bit mantissa.
        return match shl(m, e.unsigned_abs()).and_then(|r| r.checked_mul(10u128.pow(scale))) {
            Some(r) => mantissa.cmp(&r),
            None => Ordering::Less,
        };
    }
    // mantissa * 2^k vs m * 10^scale, both divided by 2^min(k, scale):
    // m * 5^scale < 2^119 always fits, and one shift is zero.
    let k = e.unsigned_abs();
    let common = k.min(scale);
    let left = shl(mantissa, k - common);
    let right = m
        .checked_mul(5u128.pow(scale))
        .and_then(|r| shl(r, scale - common));
    match (left, right) {
        (Some(l), Some(r)) => l.cmp(&r),
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Interval;
    use proptest::prelude::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash(v: &Value) -> u64 {
        let mut h = DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    }

    fn dec(s: &str) -> Value {
        Value::Numeric(s.parse().unwrap())
    }

    #[test]
    fn numbers_group_across_types() {
        let ones = [
            Value::Int2(1),
            Value::Int4(1),
            Value::Int8(1),
            dec("1.000"),
            Value::Float4(1.0),
            Value::Float8(1.0),
        ];
        for a in &ones {
            for b in &ones {
                assert_eq!(a, b);
                assert_eq!(hash(a), hash(b));
            }
        }
        assert_eq!(dec("0.5"), Value::Float8(0.5));
        assert_eq!(hash(&dec("0.50")), hash(&Value::Float4(0.5)));
        assert_ne!(dec("0.1"), Value::Float8(0.1));
        assert!(dec("0.1") < Value::Float8(0.1));
        assert!(Value::Float4(0.1) > Value::Float8(0.1));
        assert_eq!(Value::Float8(-0.0), Value::Int4(0));
        assert_eq!(hash(&Value::Float8(-0.0)), hash(&Value::Int4(0)));
        assert_eq!(
            Value::Int8(9_007_199_254_740_993).sql_cmp(&Value::Float8(9_007_199_254_740_992.0)),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn floats_order_like_postgres() {
        let nan = Value::Float8(f64::NAN);
        assert_eq!(nan, Value::Float4(f32::NAN));
        assert!(nan > Value::Float8(f64::INFINITY));
        assert!(nan > dec("79228162514264337593543950335"));
        assert!(Value::Float8(f64::NEG_INFINITY) < dec("-79228162514264337593543950335"));
        assert!(Value::Float8(1e30) > dec("79228162514264337593543950335"));
        assert!(Value::Float8(5e-324) > dec("0"));
        assert!(Value::Float8(5e-324) < dec("0.0000000000000000000000000001"));
    }

    #[test]
    fn nulls_and_families() {
        assert_eq!(Value::Null.sql_cmp(&Value::Int4(1)), None);
        assert_eq!(Value::Int4(1).sql_cmp(&Value::Text("1".into())), None);
        assert_eq!(Value::Null, Value::Null);
        assert!(Value::Null > Value::Int4(i32::MAX));
        assert_eq!(Value::Date(1), Value::Timestamp(USECS_PER_DAY));
        assert_eq!(Value::Date(i32::MAX), Value::TimestampTz(i64::MAX));
        assert_eq!(
            Value::Interval(Interval::new(1, 0, 0)),
            Value::Interval(Interval::new(0, 30, 0))
        );
        assert_eq!(
            hash(&Value::Interval(Interval::new(1, 0, 0))),
            hash(&Value::Interval(Interval::new(0, 30, 0)))
        );
        assert!(Value::Text("a".into()) < Value::Text("b".into()));
        assert!(Value::Text("Z".into()) < Value::Text("a".into()));
    }

    fn number() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i16>().prop_map(Value::Int2),
            any::<i32>().prop_map(Value::Int4),
            any::<i64>().prop_map(Value::Int8),
            any::<f32>().prop_map(Value::Float4),
            any::<f64>().prop_map(Value::Float8),
            (-20i32..20).prop_map(|e| Value::Float8(2f64.powi(e) * 3.0)),
            (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Value::Numeric(Decimal::new(m, s))),
            (any::<i128>(), 0u32..=28).prop_filter_map("fits", |(m, s)| {
                Decimal::try_from_i128_with_scale(m >> 32, s)
                    .ok()
                    .map(Value::Numeric)
            }),
        ]
    }

    proptest! {
        #[test]
        fn numeric_order_is_total_and_hash_consistent(a in number(), b in number(), c in number()) {
            prop_assert_eq!(a.total_cmp(&b), b.total_cmp(&a).reverse());
            if a == b {
                prop_assert_eq!(hash(&a), hash(&b));
            }
            if a <= b && b <= c {
                prop_assert!(a <= c);
            }
        }

        #[test]
        fn decimal_vs_float_agrees_with_float_order_when_exact(m in any::<i32>(), s in 0u32..8, f in any::<f64>()) {
            let d = Decimal::new(i64::from(m), s);
            if let Some(fd) = float_as_decimal(f) {
                prop_assert_eq!(dec_float_cmp(d, f), d.cmp(&fd));
            }
        }
    }
}
