//! SQL data types and values.
//!
//! A [`Value`] is what a row holds, what an expression yields and what a
//! WebAssembly component receives; a [`DataType`] is what a column
//! declares. The two are kept apart on purpose: `varchar(3)` and `text`
//! values are both `Value::Text`, and the column's type, not the value,
//! carries the length. Types and casts check a value against its column
//! when it is stored ([`Value::assign`]) or converted ([`Value::cast`]), so
//! everything downstream can trust a value's variant.
//!
//! PostgreSQL is the reference for every observable behaviour: the text a
//! value prints as ([`Value::to_pg_text`]) and parses from ([`parse`]), the
//! error and SQLSTATE a bad value earns ([`TypeError`]), how casts round and
//! truncate, and how values compare. Dates and timestamps use PostgreSQL's
//! own representation (days and microseconds since 2000-01-01), so the
//! binary wire format is a byte swap away.
//!
//! There are three orders. [`Value::sql_cmp`] is the comparison operators'
//! three-valued one, unknown for NULL. [`Value::total_cmp`], which `Eq`,
//! `Ord` and `Hash` follow, is the grouping and sorting order: NULLs equal
//! each other and sort last, numbers compare by exact value whatever their
//! type, `NaN` is one value above all numbers. The key encoding
//! ([`encode_key`]) turns tuples into bytes whose `memcmp` order is that
//! order, column by column ascending or descending, so B+trees never
//! decode to compare. Rows are stored in a separate compact encoding
//! ([`encode_row`]) that keeps each value bit for bit.
//!
//! Limits, each where its code is: `numeric` is `rust_decimal`'s 96-bit
//! mantissa (28 significant digits, no NaN or infinity); text compares in
//! the C collation. The session time zone ([`session_zone`]) is a
//! per-thread setting that `timestamptz` input, output and calendar
//! arithmetic read.

mod calendar;
mod cast;
mod compare;
mod datatype;
mod datetime;
mod error;
mod interval;
mod json;
mod keycode;
mod parse;
mod row;
mod timezone;
mod value;

pub(crate) use calendar::*;
pub use datatype::DataType;
pub(crate) use datetime::{TIMESTAMP_END, TIMESTAMP_MIN, day_of_ymd, ymd_of};
pub use error::TypeError;
pub use interval::Interval;
pub(crate) use json::{Json, JsonError};
pub use keycode::{KeyColumn, compare_keys, decode_key, encode_key};
pub use parse::parse;
pub use row::{decode_row, decode_row_into, encode_row};
pub use timezone::{Zone, session_zone, use_session_zone, with_session_zone};
pub use value::Value;
