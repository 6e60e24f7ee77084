//! `stats`: exact medians.
//!
//! An exact median needs every value, so both states keep them all. The
//! `double precision` one owns its encoding (eight little-endian bytes per
//! value: folding a batch appends to the bytes the host hands back, it
//! never re-encodes the values already there); the `bigint` one is a plain
//! serde struct, the SDK's default.

use rustydb::{BytesState, Numeric, SqlError};
use serde::{Deserialize, Serialize};

/// The state of `median(double precision)`: the values seen, as bytes.
#[derive(Default)]
pub struct Median {
    raw: Vec<u8>,
}

impl BytesState for Median {
    fn from_bytes(bytes: Vec<u8>) -> Result<Median, SqlError> {
        if !bytes.len().is_multiple_of(8) {
            return Err(SqlError::new("22P03", "median state is not a list of doubles"));
        }
        Ok(Median { raw: bytes })
    }

    fn into_bytes(self) -> Vec<u8> {
        self.raw
    }
}

/// PostgreSQL's order for doubles: NaN equals NaN and sorts above every
/// other value, including infinity.
fn pg_order(a: &f64, b: &f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        (false, false) => a.total_cmp(b),
    }
}

/// The mean of the two middle values, without overflowing to infinity.
fn midpoint(a: f64, b: f64) -> f64 {
    let m = (a + b) / 2.0;
    if m.is_infinite() && a.is_finite() && b.is_finite() {
        a / 2.0 + b / 2.0
    } else {
        m
    }
}

/// The exact median of `double precision` values (NULLs ignored, NULL for
/// no rows): the middle value, or the mean of the two middle ones.
#[rustydb::aggregate(immutable, strict, state = bytes)]
impl Median {
    fn accumulate(&mut self, x: f64) {
        self.raw.extend_from_slice(&x.to_le_bytes());
    }

    fn merge(&mut self, other: Median) {
        self.raw.extend_from_slice(&other.raw);
    }

    fn finish(self) -> Option<f64> {
        let mut values: Vec<f64> = self
            .raw
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                f64::from_le_bytes(b)
            })
            .collect();
        let n = values.len();
        if n == 0 {
            return None;
        }
        let (below, upper, _) = values.select_nth_unstable_by(n / 2, pg_order);
        let upper = *upper;
        if !n.is_multiple_of(2) {
            return Some(upper);
        }
        let lower = below.iter().copied().max_by(pg_order).unwrap_or(upper);
        Some(midpoint(lower, upper))
    }
}

/// The state of `median_int8(bigint)`.
#[derive(Default, Serialize, Deserialize)]
pub struct MedianInt8 {
    values: Vec<i64>,
}

/// The exact median of `bigint` values as `numeric`: the mean of the two
/// middle values of an even count can end in `.5`, which neither a bigint
/// nor (past 2^53) a double holds.
#[rustydb::aggregate(immutable, strict)]
impl MedianInt8 {
    fn accumulate(&mut self, x: i64) {
        self.values.push(x);
    }

    fn merge(&mut self, mut other: MedianInt8) {
        self.values.append(&mut other.values);
    }

    fn finish(mut self) -> Option<Numeric> {
        let n = self.values.len();
        if n == 0 {
            return None;
        }
        let (below, upper, _) = self.values.select_nth_unstable(n / 2);
        let upper = i128::from(*upper);
        if !n.is_multiple_of(2) {
            return Some(Numeric(upper.to_string()));
        }
        let lower = below.iter().copied().max().map_or(upper, i128::from);
        let sum = lower + upper;
        let sign = if sum < 0 { "-" } else { "" };
        let half = sum.unsigned_abs() / 2;
        let frac = if sum % 2 == 0 { "" } else { ".5" };
        Some(Numeric(format!("{sign}{half}{frac}")))
    }
}

rustydb::export!(median, median_int8);
