//! The data type formatting functions: `to_char`, `to_date`,
//! `to_timestamp(text, text)` and `to_number`, over the pictures of
//! [`super::format_picture`] (dates and times) and
//! [`super::number_picture`] (numbers).

use super::arith::is_numeric;
use super::functions::Func;
use crate::sql::error::{SqlError, SqlResult};
use crate::types::{DataType, TypeError, Value, session_zone};

/// A formatting function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FmtFunc {
    /// `to_char(timestamp | timestamptz | date, text)`
    ToCharTime,
    /// `to_char(number, text)`
    ToCharNumber,
    /// `to_date(text, text)`
    ToDate,
    /// `to_timestamp(text, text)`
    ToTimestamp,
    /// `to_number(text, text)`
    ToNumber,
}

/// Resolves the formatting function names.
pub(crate) fn resolve(
    name: &str,
    args: &[DataType],
) -> Option<(Func, DataType, Vec<Option<DataType>>)> {
    use DataType as T;
    let [value, picture] = args else {
        return None;
    };
    if !picture.is_string() {
        return None;
    }
    let f = Func::Fmt;
    let text = Some(T::Text);
    Some(match name {
        "to_char" => match value {
            T::Timestamp | T::TimestampTz => (f(FmtFunc::ToCharTime), T::Text, vec![None, text]),
            // A date prints as its midnight.
            T::Date => (
                f(FmtFunc::ToCharTime),
                T::Text,
                vec![Some(T::Timestamp), text],
            ),
            n if is_numeric(n) => (f(FmtFunc::ToCharNumber), T::Text, vec![None, text]),
            _ => return None,
        },
        "to_date" if value.is_string() => (f(FmtFunc::ToDate), T::Date, vec![text; 2]),
        "to_timestamp" if value.is_string() => {
            (f(FmtFunc::ToTimestamp), T::TimestampTz, vec![text; 2])
        }
        "to_number" if value.is_string() => (
            f(FmtFunc::ToNumber),
            T::Numeric {
                precision: None,
                scale: None,
            },
            vec![text; 2],
        ),
        _ => return None,
    })
}

/// Computes a formatting function on evaluated, non-NULL arguments.
pub(crate) fn call(f: FmtFunc, args: &[Value]) -> SqlResult<Value> {
    let text = |i: usize| match args.get(i) {
        Some(Value::Text(s)) => s.as_str(),
        _ => "",
    };
    Ok(match f {
        FmtFunc::ToCharTime => match args.first() {
            Some(Value::Timestamp(t)) => super::format_picture::timestamp_to_char(*t, text(1))
                .map_or(Value::Null, Value::Text),
            // A timestamptz prints its wall-clock time in the session zone.
            Some(Value::TimestampTz(t)) => {
                super::format_picture::timestamp_to_char(session_zone().to_local(*t), text(1))
                    .map_or(Value::Null, Value::Text)
            }
            other => return Err(SqlError::Internal(format!("to_char of {other:?}"))),
        },
        FmtFunc::ToCharNumber => match args.first() {
            Some(v) => Value::Text(super::number_picture::number_to_char(v, text(1))?),
            None => Value::Null,
        },
        FmtFunc::ToDate => {
            let ts = super::format_picture::parse_timestamp(text(0), text(1))?;
            let day = i32::try_from(ts.div_euclid(86_400_000_000))
                .map_err(|_| TypeError::DatetimeOutOfRange { type_name: "date" })?;
            Value::Date(day)
        }
        // The wall-clock time read is in the session zone.
        FmtFunc::ToTimestamp => Value::TimestampTz(
            session_zone().to_utc(super::format_picture::parse_timestamp(text(0), text(1))?)?,
        ),
        FmtFunc::ToNumber => Value::Numeric(super::number_picture::to_number(text(0), text(1))?),
    })
}
