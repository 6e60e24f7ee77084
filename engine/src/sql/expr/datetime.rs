//! Date, timestamp and interval operators and functions: the result type
//! of `timestamp + interval` and its kin (for the binder), their values,
//! and `extract`/`date_part`, `date_trunc`, `age`, `justify_*`,
//! `make_date`/`make_timestamp`, `to_timestamp(seconds)` and
//! `localtimestamp`. The calendar work itself is in `types::calendar`.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::BinOp;
use super::arith::to_f64;
use super::functions::Func;
use crate::SqlState;
use crate::sql::error::{SqlError, SqlResult};
use crate::types::{
    DataType, DateField, Interval, TypeError, Value, Zone, age, interval_add, interval_field,
    interval_scale, justify_days, justify_hours, justify_interval, make_timestamp, session_zone,
    timestamp_add_interval, timestamp_diff, timestamp_field, timestamp_trunc,
};

/// A date/time function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtFunc {
    /// `extract(field FROM x)`: numeric.
    Extract,
    /// `date_part(field, x)`: double precision.
    DatePart,
    /// `date_trunc(field, x)`
    DateTrunc,
    /// `age(a, b)`
    Age,
    /// `justify_hours(interval)`
    JustifyHours,
    /// `justify_days(interval)`
    JustifyDays,
    /// `justify_interval(interval)`
    JustifyInterval,
    /// `make_date(y, m, d)`
    MakeDate,
    /// `make_timestamp(y, m, d, h, min, sec)`
    MakeTimestamp,
    /// `to_timestamp(seconds since 1970)`
    ToTimestamp,
    /// `make_interval(years, months, weeks, days, hours, mins, secs)`
    MakeInterval,
    /// `localtimestamp`
    LocalTimestamp,
    /// `x AT TIME ZONE zone` (`timezone(zone, x)`)
    AtTimeZone,
}

fn is_timestamp(t: &DataType) -> bool {
    matches!(t, DataType::Timestamp | DataType::TimestampTz)
}

fn is_number(t: &DataType) -> bool {
    super::arith::is_numeric(t)
}

/// The type of `l op r` when one side is a date, timestamp or interval
/// and the operator applies; `None` otherwise.
pub(crate) fn temporal_result(op: BinOp, lt: DataType, rt: DataType) -> Option<DataType> {
    use DataType as T;
    Some(match (lt, rt, op) {
        (T::Date, T::Interval, BinOp::Add | BinOp::Sub) | (T::Interval, T::Date, BinOp::Add) => {
            T::Timestamp
        }
        (t, T::Interval, BinOp::Add | BinOp::Sub) if is_timestamp(&t) => t,
        (T::Interval, t, BinOp::Add) if is_timestamp(&t) => t,
        (a, b, BinOp::Sub) if is_timestamp(&a) && a == b => T::Interval,
        (T::Interval, T::Interval, BinOp::Add | BinOp::Sub) => T::Interval,
        (T::Interval, n, BinOp::Mul | BinOp::Div) if is_number(&n) => T::Interval,
        (n, T::Interval, BinOp::Mul) if is_number(&n) => T::Interval,
        _ => return None,
    })
}

fn date_ts(d: i32) -> SqlResult<i64> {
    Ok(crate::types::Value::Date(d)
        .cast(&DataType::Timestamp)
        .map(|v| match v {
            Value::Timestamp(t) => t,
            _ => 0,
        })?)
}

/// `l op r` for the combinations [`temporal_result`] accepts; `None` for
/// any other.
pub(super) fn arith(op: BinOp, l: &Value, r: &Value) -> Option<SqlResult<Value>> {
    let applies = matches!((l, r), (Value::Interval(_), _) | (_, Value::Interval(_)))
        || matches!(
            (l, r, op),
            (Value::Timestamp(_), Value::Timestamp(_), BinOp::Sub)
                | (Value::TimestampTz(_), Value::TimestampTz(_), BinOp::Sub)
        );
    applies.then(|| temporal_arith(op, l, r))
}

fn temporal_arith(op: BinOp, l: &Value, r: &Value) -> SqlResult<Value> {
    let sign = if op == BinOp::Sub { -1 } else { 1 };
    Ok(match (l, r, op) {
        (Value::Date(d), Value::Interval(iv), BinOp::Add | BinOp::Sub) => {
            Value::Timestamp(timestamp_add_interval(date_ts(*d)?, *iv, sign)?)
        }
        (Value::Interval(iv), Value::Date(d), BinOp::Add) => {
            Value::Timestamp(timestamp_add_interval(date_ts(*d)?, *iv, 1)?)
        }
        (Value::Timestamp(t), Value::Interval(iv), BinOp::Add | BinOp::Sub) => {
            Value::Timestamp(timestamp_add_interval(*t, *iv, sign)?)
        }
        (Value::TimestampTz(t), Value::Interval(iv), BinOp::Add | BinOp::Sub) => {
            Value::TimestampTz(timestamptz_add_interval(*t, *iv, sign)?)
        }
        (Value::Interval(iv), Value::Timestamp(t), BinOp::Add) => {
            Value::Timestamp(timestamp_add_interval(*t, *iv, 1)?)
        }
        (Value::Interval(iv), Value::TimestampTz(t), BinOp::Add) => {
            Value::TimestampTz(timestamptz_add_interval(*t, *iv, 1)?)
        }
        (Value::Timestamp(a), Value::Timestamp(b), BinOp::Sub)
        | (Value::TimestampTz(a), Value::TimestampTz(b), BinOp::Sub) => {
            Value::Interval(timestamp_diff(*a, *b)?)
        }
        (Value::Interval(a), Value::Interval(b), BinOp::Add | BinOp::Sub) => {
            Value::Interval(interval_add(*a, *b, sign as i32)?)
        }
        (Value::Interval(iv), n, BinOp::Mul) | (n, Value::Interval(iv), BinOp::Mul) => {
            Value::Interval(interval_scale(*iv, to_f64(n).unwrap_or(0.0))?)
        }
        (Value::Interval(iv), n, BinOp::Div) => {
            let f = to_f64(n).unwrap_or(0.0);
            if f == 0.0 {
                return Err(SqlError::DivisionByZero);
            }
            Value::Interval(interval_scale(*iv, 1.0 / f)?)
        }
        (l, r, _) => {
            return Err(SqlError::UndefinedFunction(format!(
                "operator does not exist: {} {} {}",
                l.data_type().map_or("unknown", |t| t.name()),
                super::arith::op_symbol(op),
                r.data_type().map_or("unknown", |t| t.name())
            )));
        }
    })
}

/// `t ± iv` of a timestamptz, as PostgreSQL computes it: months and days
/// move the wall clock in the session zone (a day is 23 or 25 hours
/// across a DST change), the time part moves the instant.
fn timestamptz_add_interval(t: i64, iv: Interval, sign: i64) -> SqlResult<i64> {
    let mut t = t;
    if iv.months != 0 || iv.days != 0 {
        let zone = session_zone();
        let calendar = Interval::new(iv.months, iv.days, 0);
        t = zone.to_utc(timestamp_add_interval(zone.to_local(t), calendar, sign)?)?;
    }
    Ok(timestamp_add_interval(
        t,
        Interval::new(0, 0, iv.micros),
        sign,
    )?)
}

/// Resolves the date/time function names.
pub(crate) fn resolve(
    name: &str,
    args: &[DataType],
) -> Option<(Func, DataType, Vec<Option<DataType>>)> {
    use DataType as T;
    let temporal = |t: &DataType| matches!(t, T::Date | T::Timestamp | T::TimestampTz);
    let f = |d: DtFunc| Func::Dt(d);
    let numeric = T::Numeric {
        precision: None,
        scale: None,
    };
    Some(match (name, args) {
        ("extract" | "date_part", [s, t])
            if s.is_string() && (temporal(t) || *t == T::Interval) =>
        {
            let (func, ty) = if name == "extract" {
                (DtFunc::Extract, numeric)
            } else {
                (DtFunc::DatePart, T::Float8)
            };
            (f(func), ty, vec![Some(T::Text), None])
        }
        ("date_trunc", [s, t]) if s.is_string() && (temporal(t) || *t == T::Interval) => {
            // A date truncates as the timestamptz it converts to.
            let ty = if *t == T::Date { T::TimestampTz } else { *t };
            (f(DtFunc::DateTrunc), ty, vec![Some(T::Text), Some(ty)])
        }
        ("age", [a, b]) if temporal(a) && temporal(b) => {
            let ty = if *a == T::TimestampTz || *b == T::TimestampTz {
                T::TimestampTz
            } else {
                T::Timestamp
            };
            (f(DtFunc::Age), T::Interval, vec![Some(ty), Some(ty)])
        }
        ("justify_hours", [T::Interval]) => (f(DtFunc::JustifyHours), T::Interval, vec![None]),
        ("justify_days", [T::Interval]) => (f(DtFunc::JustifyDays), T::Interval, vec![None]),
        ("justify_interval", [T::Interval]) => {
            (f(DtFunc::JustifyInterval), T::Interval, vec![None])
        }
        ("make_date", [a, b, c]) if [a, b, c].iter().all(|t| is_number(t)) => {
            (f(DtFunc::MakeDate), T::Date, vec![Some(T::Int4); 3])
        }
        ("make_timestamp", [a, b, c, d, e, g])
            if [a, b, c, d, e, g].iter().all(|t| is_number(t)) =>
        {
            let mut casts = vec![Some(T::Int4); 5];
            casts.push(Some(T::Float8));
            (f(DtFunc::MakeTimestamp), T::Timestamp, casts)
        }
        ("to_timestamp", [n]) if is_number(n) => (
            f(DtFunc::ToTimestamp),
            T::TimestampTz,
            vec![Some(T::Float8)],
        ),
        ("make_interval", args) if args.len() == 7 && args.iter().all(is_number) => {
            let mut casts = vec![Some(T::Int4); 6];
            casts.push(Some(T::Float8));
            (f(DtFunc::MakeInterval), T::Interval, casts)
        }
        ("localtimestamp", []) => (f(DtFunc::LocalTimestamp), T::Timestamp, vec![]),
        _ => return None,
    })
}

fn field_of(name: &str, ty: &str) -> SqlResult<DateField> {
    DateField::parse(name).ok_or_else(|| SqlError::Data {
        state: SqlState::INVALID_PARAMETER_VALUE,
        message: format!("unit \"{name}\" not recognized for type {ty}"),
    })
}

fn unsupported_unit(name: &str, ty: &str) -> SqlError {
    SqlError::Data {
        state: SqlState::FEATURE_NOT_SUPPORTED,
        message: format!("unit \"{name}\" not supported for type {ty}"),
    }
}

fn interval_range() -> SqlError {
    SqlError::Type(TypeError::DatetimeOutOfRange {
        type_name: "interval",
    })
}

/// Computes a date/time function on evaluated, non-NULL arguments
/// (`now`: the statement's timestamp).
pub(crate) fn call(f: DtFunc, args: &[Value], now: i64) -> SqlResult<Value> {
    let text = |i: usize| match args.get(i) {
        Some(Value::Text(s)) => s.as_str(),
        _ => "",
    };
    let int = |i: usize| match args.get(i) {
        Some(Value::Int4(n)) => i64::from(*n),
        _ => 0,
    };
    let interval = |i: usize| match args.get(i) {
        Some(Value::Interval(iv)) => *iv,
        _ => Interval::default(),
    };
    match f {
        DtFunc::LocalTimestamp => Ok(Value::Timestamp(session_zone().to_local(now))),
        DtFunc::AtTimeZone => at_time_zone(&args[0], text(1)),
        DtFunc::Extract | DtFunc::DatePart => {
            let (scaled, scale) = extract(text(0), &args[1])?;
            let d = Decimal::new(scaled, scale);
            Ok(if f == DtFunc::Extract {
                Value::Numeric(d)
            } else {
                Value::Float8(d.to_f64().unwrap_or(0.0))
            })
        }
        DtFunc::DateTrunc => {
            let unit = text(0);
            match &args[1] {
                Value::Interval(iv) => Ok(Value::Interval(trunc_interval(*iv, unit)?)),
                Value::Timestamp(t) => {
                    let ty = "timestamp without time zone";
                    let field = field_of(unit, ty)?;
                    let r = timestamp_trunc(*t, field).ok_or_else(|| unsupported_unit(unit, ty))?;
                    Ok(Value::Timestamp(r))
                }
                Value::TimestampTz(t) => {
                    let ty = "timestamp with time zone";
                    let field = field_of(unit, ty)?;
                    Ok(Value::TimestampTz(
                        trunc_timestamptz(*t, field)
                            .ok_or_else(|| unsupported_unit(unit, ty))??,
                    ))
                }
                _ => Ok(Value::Null),
            }
        }
        DtFunc::Age => match (&args[0], &args[1]) {
            (Value::Timestamp(a), Value::Timestamp(b)) => Ok(Value::Interval(age(*a, *b)?)),
            (Value::TimestampTz(a), Value::TimestampTz(b)) => {
                let zone = session_zone();
                Ok(Value::Interval(age(zone.to_local(*a), zone.to_local(*b))?))
            }
            _ => Ok(Value::Null),
        },
        DtFunc::JustifyHours => Ok(Value::Interval(justify_hours(interval(0))?)),
        DtFunc::JustifyDays => Ok(Value::Interval(justify_days(interval(0))?)),
        DtFunc::JustifyInterval => Ok(Value::Interval(justify_interval(interval(0))?)),
        DtFunc::MakeDate => {
            let ts = make_timestamp(int(0), int(1), int(2), 0, 0, 0)
                .ok_or_else(|| field_overflow(format!("{}-{:02}-{:02}", int(0), int(1), int(2))))?;
            let day = i32::try_from(ts.div_euclid(86_400_000_000))
                .map_err(|_| SqlError::Type(TypeError::DatetimeOutOfRange { type_name: "date" }))?;
            Ok(Value::Date(day))
        }
        DtFunc::MakeTimestamp => {
            let secs = match args.get(5) {
                Some(Value::Float8(s)) => *s,
                _ => 0.0,
            };
            let micros = (secs * 1e6).round();
            let ts = (micros.is_finite() && micros >= 0.0)
                .then(|| make_timestamp(int(0), int(1), int(2), int(3), int(4), micros as i64))
                .flatten()
                .ok_or_else(|| {
                    field_overflow(format!(
                        "{}-{:02}-{:02} {:02}:{:02}:{secs}",
                        int(0),
                        int(1),
                        int(2),
                        int(3),
                        int(4)
                    ))
                })?;
            Ok(Value::Timestamp(ts))
        }
        DtFunc::MakeInterval => {
            let secs = match args.get(6) {
                Some(Value::Float8(s)) => *s,
                _ => 0.0,
            };
            make_interval([0, 1, 2, 3, 4, 5].map(int), secs).ok_or_else(interval_range)
        }
        DtFunc::ToTimestamp => {
            let secs = match args.first() {
                Some(Value::Float8(s)) => *s,
                _ => 0.0,
            };
            if secs.is_infinite() {
                return Ok(Value::TimestampTz(if secs > 0.0 {
                    i64::MAX
                } else {
                    i64::MIN
                }));
            }
            let micros = (secs - 946_684_800.0) * 1e6;
            if !micros.is_finite() || micros.abs() >= 9.2e18 {
                return Err(SqlError::Type(TypeError::DatetimeOutOfRange {
                    type_name: "timestamp",
                }));
            }
            Ok(Value::TimestampTz(micros.round() as i64))
        }
    }
}

/// The interval of `make_interval`'s fields, `None` past its range.
fn make_interval([years, months, weeks, days, hours, mins]: [i64; 6], secs: f64) -> Option<Value> {
    let months = i32::try_from(years.checked_mul(12)?.checked_add(months)?).ok()?;
    let days = i32::try_from(weeks.checked_mul(7)?.checked_add(days)?).ok()?;
    let whole = hours
        .checked_mul(3_600_000_000)?
        .checked_add(mins.checked_mul(60_000_000)?)?;
    let micros = (secs * 1e6).round();
    if !micros.is_finite() || micros.abs() >= 9.2e18 {
        return None;
    }
    let micros = whole.checked_add(micros as i64)?;
    Some(Value::Interval(Interval::new(months, days, micros)))
}

fn field_overflow(input: String) -> SqlError {
    SqlError::Type(TypeError::DatetimeFieldOverflow { input })
}

/// The field of a date, timestamp or interval as a fixed-point value
/// (`scaled`, `scale`).
fn extract(unit: &str, v: &Value) -> SqlResult<(i64, u32)> {
    let (ty, found) = match v {
        Value::Date(d) => {
            let field = field_of(unit, "date")?;
            if matches!(
                field,
                DateField::Hour
                    | DateField::Minute
                    | DateField::Second
                    | DateField::Milliseconds
                    | DateField::Microseconds
            ) {
                return Err(unsupported_unit(unit, "date"));
            }
            // A date's fields are whole numbers, epoch included.
            let r = timestamp_field(date_ts(*d)?, field).map(|(n, s)| (n / 10i64.pow(s), 0));
            ("date", r)
        }
        Value::Timestamp(t) => (
            "timestamp without time zone",
            timestamp_field(*t, field_of(unit, "timestamp without time zone")?),
        ),
        Value::TimestampTz(t) => (
            "timestamp with time zone",
            timestamptz_field(*t, field_of(unit, "timestamp with time zone")?),
        ),
        Value::Interval(iv) => ("interval", interval_field(*iv, field_of(unit, "interval")?)),
        _ => return Ok((0, 0)),
    };
    found.ok_or_else(|| unsupported_unit(unit, ty))
}

/// `date_trunc` of a timestamptz in the session zone. From `day` up the
/// truncated wall-clock time takes the offset in force then; below, the
/// offset stays the one the instant had, as in PostgreSQL (so an hour a
/// fall-back repeats truncates within itself). `None`: not a unit for
/// truncating.
fn trunc_timestamptz(t: i64, field: DateField) -> Option<SqlResult<i64>> {
    use DateField as F;
    let zone = session_zone();
    let truncated = timestamp_trunc(zone.to_local(t), field)?;
    Some(match field {
        F::Hour | F::Minute | F::Second | F::Milliseconds | F::Microseconds => {
            Ok(truncated - zone.offset_at(t) * 1_000_000)
        }
        _ => zone.to_utc(truncated).map_err(SqlError::from),
    })
}

/// A field of a timestamptz: the calendar fields of its wall-clock time in
/// the session zone, `epoch` of the instant, `timezone*` of the zone's
/// offset then.
fn timestamptz_field(t: i64, field: DateField) -> Option<(i64, u32)> {
    use DateField as F;
    let zone = session_zone();
    let offset = zone.offset_at(t);
    Some(match field {
        F::Epoch => return timestamp_field(t, field),
        F::Timezone => (offset, 0),
        F::TimezoneHour => (offset / 3600, 0),
        F::TimezoneMinute => (offset / 60 % 60, 0),
        _ => return timestamp_field(zone.to_local(t), field),
    })
}

fn trunc_interval(iv: Interval, unit: &str) -> SqlResult<Interval> {
    use crate::types::DateField as F;
    const HOUR: i64 = 3_600_000_000;
    let field = field_of(unit, "interval")?;
    let years = iv.months / 12 * 12;
    Ok(match field {
        F::Millennium => Interval::new(iv.months / 12000 * 12000, 0, 0),
        F::Century => Interval::new(iv.months / 1200 * 1200, 0, 0),
        F::Decade => Interval::new(iv.months / 120 * 120, 0, 0),
        F::Year => Interval::new(years, 0, 0),
        F::Quarter => Interval::new(years + iv.months % 12 / 3 * 3, 0, 0),
        F::Month => Interval::new(iv.months, 0, 0),
        F::Day => Interval::new(iv.months, iv.days, 0),
        F::Hour => Interval::new(iv.months, iv.days, iv.micros / HOUR * HOUR),
        F::Minute => Interval::new(iv.months, iv.days, iv.micros / 60_000_000 * 60_000_000),
        F::Second => Interval::new(iv.months, iv.days, iv.micros / 1_000_000 * 1_000_000),
        F::Milliseconds => Interval::new(iv.months, iv.days, iv.micros / 1000 * 1000),
        F::Microseconds => iv,
        _ => return Err(unsupported_unit(unit, "interval")),
    })
}

/// `x AT TIME ZONE zone`: a `timestamptz` becomes the wall-clock
/// `timestamp` in `zone`; a `timestamp` is read as wall-clock time there.
/// The zone is an abbreviation, a database name or a POSIX specification
/// (see [`Zone::by_name`]); an unknown one is 22023.
pub(crate) fn at_time_zone(v: &Value, zone: &str) -> SqlResult<Value> {
    let zone = Zone::by_name(zone).ok_or_else(|| TypeError::UnknownTimeZone(zone.to_owned()))?;
    Ok(match v {
        Value::TimestampTz(t) => Value::Timestamp(zone.to_local(*t)),
        Value::Timestamp(t) => Value::TimestampTz(zone.to_utc(*t)?),
        _ => Value::Null,
    })
}
