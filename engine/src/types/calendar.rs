//! Arithmetic between timestamps and intervals, and the fields of both:
//! what `timestamp + interval`, `timestamp - timestamp`, `extract`,
//! `date_trunc`, `age` and the `justify_*` functions compute.
//!
//! Adding an interval adds its months on the calendar first (clamping the
//! day to the month's end, so Jan 31 + 1 month is Feb 29 in a leap year),
//! then its days, then its microseconds, as PostgreSQL does.

use super::datetime::{
    TIMESTAMP_END, TIMESTAMP_MIN, USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC,
    day_of_ymd, days_in_month, ymd_of,
};
use super::error::TypeError;
use super::interval::Interval;

fn timestamp_range() -> TypeError {
    TypeError::DatetimeOutOfRange {
        type_name: "timestamp",
    }
}

fn interval_range() -> TypeError {
    TypeError::DatetimeOutOfRange {
        type_name: "interval",
    }
}

fn is_infinite(ts: i64) -> bool {
    ts == i64::MAX || ts == i64::MIN
}

/// `ts + iv` (`sign` -1 for `ts - iv`).
pub(crate) fn timestamp_add_interval(ts: i64, iv: Interval, sign: i64) -> Result<i64, TypeError> {
    if is_infinite(ts) {
        return Ok(ts);
    }
    let mut ts = ts;
    if iv.months != 0 {
        let day = ts.div_euclid(USECS_PER_DAY);
        let time = ts.rem_euclid(USECS_PER_DAY);
        let (y, m, d) = ymd_of(day);
        let total = y * 12 + i64::from(m) - 1 + sign * i64::from(iv.months);
        let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
        let nd = d.min(days_in_month(ny, nm));
        ts = day_of_ymd(ny, nm, nd)
            .checked_mul(USECS_PER_DAY)
            .and_then(|t| t.checked_add(time))
            .ok_or_else(timestamp_range)?;
    }
    let delta = i64::from(iv.days)
        .checked_mul(USECS_PER_DAY)
        .and_then(|d| d.checked_add(iv.micros))
        .and_then(|d| d.checked_mul(sign))
        .ok_or_else(timestamp_range)?;
    let ts = ts.checked_add(delta).ok_or_else(timestamp_range)?;
    if !(TIMESTAMP_MIN..TIMESTAMP_END).contains(&ts) {
        return Err(timestamp_range());
    }
    Ok(ts)
}

/// `a - b` of two timestamps: whole days and the rest, never months.
pub(crate) fn timestamp_diff(a: i64, b: i64) -> Result<Interval, TypeError> {
    if is_infinite(a) || is_infinite(b) {
        return Err(interval_range());
    }
    let diff = a.checked_sub(b).ok_or_else(interval_range)?;
    let days = i32::try_from(diff / USECS_PER_DAY).map_err(|_| interval_range())?;
    Ok(Interval::new(0, days, diff % USECS_PER_DAY))
}

/// `iv * factor`, with fractional months and days spilling into the
/// smaller units (PostgreSQL's `interval_mul`).
pub(crate) fn interval_scale(iv: Interval, factor: f64) -> Result<Interval, TypeError> {
    if !factor.is_finite() {
        return Err(interval_range());
    }
    let months = f64::from(iv.months) * factor;
    let whole_months = months.trunc();
    let days = f64::from(iv.days) * factor + (months - whole_months) * 30.0;
    let whole_days = days.trunc();
    let micros = iv.micros as f64 * factor + (days - whole_days) * USECS_PER_DAY as f64;
    let fits32 = |v: f64| v >= f64::from(i32::MIN) && v <= f64::from(i32::MAX);
    if !fits32(whole_months) || !fits32(whole_days) || micros.abs() >= i64::MAX as f64 {
        return Err(interval_range());
    }
    Ok(Interval::new(
        whole_months as i32,
        whole_days as i32,
        micros.round() as i64,
    ))
}

/// `a + b` (`sign` -1 for `a - b`) of intervals, field by field.
pub(crate) fn interval_add(a: Interval, b: Interval, sign: i32) -> Result<Interval, TypeError> {
    Ok(Interval::new(
        a.months
            .checked_add(b.months.checked_mul(sign).ok_or_else(interval_range)?)
            .ok_or_else(interval_range)?,
        a.days
            .checked_add(b.days.checked_mul(sign).ok_or_else(interval_range)?)
            .ok_or_else(interval_range)?,
        a.micros
            .checked_add(
                b.micros
                    .checked_mul(i64::from(sign))
                    .ok_or_else(interval_range)?,
            )
            .ok_or_else(interval_range)?,
    ))
}

/// A field `extract`/`date_part` can take from a timestamp or interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateField {
    /// `millennium`
    Millennium,
    /// `century`
    Century,
    /// `decade`
    Decade,
    /// `year`
    Year,
    /// `isoyear`
    IsoYear,
    /// `quarter`
    Quarter,
    /// `month`
    Month,
    /// `week` (ISO 8601)
    Week,
    /// `day`
    Day,
    /// `dow` (Sunday 0)
    Dow,
    /// `isodow` (Sunday 7)
    IsoDow,
    /// `doy`
    Doy,
    /// `hour`
    Hour,
    /// `minute`
    Minute,
    /// `second`, with its fraction
    Second,
    /// `milliseconds`
    Milliseconds,
    /// `microseconds`
    Microseconds,
    /// `epoch`: seconds since 1970-01-01 (for an interval, its length)
    Epoch,
    /// `timezone`: the session zone's offset east, in seconds (timestamptz
    /// only)
    Timezone,
    /// `timezone_hour`
    TimezoneHour,
    /// `timezone_minute`
    TimezoneMinute,
}

impl DateField {
    /// The field a name (any case, PostgreSQL's plural spellings too)
    /// stands for.
    pub fn parse(name: &str) -> Option<DateField> {
        use DateField as F;
        Some(match name.to_ascii_lowercase().as_str() {
            "millennium" | "millennia" | "mil" | "mils" => F::Millennium,
            "century" | "centuries" | "c" | "cent" => F::Century,
            "decade" | "decades" | "dec" | "decs" => F::Decade,
            "year" | "years" | "y" | "yr" | "yrs" => F::Year,
            "isoyear" => F::IsoYear,
            "quarter" | "qtr" => F::Quarter,
            "month" | "months" | "mon" | "mons" => F::Month,
            "week" | "weeks" | "w" => F::Week,
            "day" | "days" | "d" => F::Day,
            "dow" => F::Dow,
            "isodow" => F::IsoDow,
            "doy" => F::Doy,
            "hour" | "hours" | "h" | "hr" | "hrs" => F::Hour,
            "minute" | "minutes" | "m" | "min" | "mins" => F::Minute,
            "second" | "seconds" | "s" | "sec" | "secs" => F::Second,
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" => F::Milliseconds,
            "microsecond" | "microseconds" | "us" | "usec" | "usecs" => F::Microseconds,
            "epoch" => F::Epoch,
            "timezone" => F::Timezone,
            "timezone_h" | "timezone_hour" => F::TimezoneHour,
            "timezone_m" | "timezone_minute" => F::TimezoneMinute,
            _ => return None,
        })
    }
}

/// A field of a timestamp, in microseconds-scaled fixed point: the value
/// times 10^6 for `second`, `milliseconds` and `epoch` (which carry a
/// fraction), the plain value otherwise. `None`: the field does not apply.
pub(crate) fn timestamp_field(ts: i64, field: DateField) -> Option<(i64, u32)> {
    use DateField as F;
    let day = ts.div_euclid(USECS_PER_DAY);
    let time = ts.rem_euclid(USECS_PER_DAY);
    let (y, m, d) = ymd_of(day);
    // 2000-01-01 was a Saturday.
    let dow = (day + 6).rem_euclid(7);
    let (iso_year, iso_week) = iso_week(day);
    Some(match field {
        F::Millennium => (
            if y > 0 {
                (y + 999) / 1000
            } else {
                -((999 - y) / 1000)
            },
            0,
        ),
        F::Century => (
            if y > 0 {
                (y + 99) / 100
            } else {
                -((99 - y) / 100)
            },
            0,
        ),
        F::Decade => (y.div_euclid(10), 0),
        F::Year => (if y > 0 { y } else { y - 1 }, 0),
        F::IsoYear => (iso_year, 0),
        F::Quarter => ((i64::from(m) - 1) / 3 + 1, 0),
        F::Month => (i64::from(m), 0),
        F::Week => (iso_week, 0),
        F::Day => (i64::from(d), 0),
        F::Dow => (dow, 0),
        F::IsoDow => (if dow == 0 { 7 } else { dow }, 0),
        F::Doy => (day - day_of_ymd(y, 1, 1) + 1, 0),
        F::Hour => (time / USECS_PER_HOUR, 0),
        F::Minute => (time % USECS_PER_HOUR / USECS_PER_MINUTE, 0),
        F::Second => (time % USECS_PER_MINUTE, 6),
        F::Milliseconds => (time % USECS_PER_MINUTE, 3),
        F::Microseconds => (time % USECS_PER_MINUTE, 0),
        // Seconds from 1970-01-01: 946684800 s before 2000-01-01.
        F::Epoch => (ts.checked_add(946_684_800 * USECS_PER_SEC)?, 6),
        F::Timezone | F::TimezoneHour | F::TimezoneMinute => return None,
    })
}

/// The ISO 8601 (year, week) of a day counted from 2000-01-01.
pub(crate) fn iso_week(day: i64) -> (i64, i64) {
    // Monday 0 … Sunday 6.
    let weekday = (day + 5).rem_euclid(7);
    let thursday = day - weekday + 3;
    let (year, _, _) = ymd_of(thursday);
    let week = (thursday - day_of_ymd(year, 1, 1)) / 7 + 1;
    (year, week)
}

/// A field of an interval, scaled as [`timestamp_field`].
pub(crate) fn interval_field(iv: Interval, field: DateField) -> Option<(i64, u32)> {
    use DateField as F;
    let years = i64::from(iv.months / 12);
    Some(match field {
        F::Millennium => (years / 1000, 0),
        F::Century => (years / 100, 0),
        F::Decade => (years / 10, 0),
        F::Year => (years, 0),
        F::Quarter => (i64::from(iv.months % 12) / 3 + 1, 0),
        F::Month => (i64::from(iv.months % 12), 0),
        F::Day => (i64::from(iv.days), 0),
        F::Hour => (iv.micros / USECS_PER_HOUR, 0),
        F::Minute => (iv.micros % USECS_PER_HOUR / USECS_PER_MINUTE, 0),
        F::Second => (iv.micros % USECS_PER_MINUTE, 6),
        F::Milliseconds => (iv.micros % USECS_PER_MINUTE, 3),
        F::Microseconds => (iv.micros % USECS_PER_MINUTE, 0),
        // PostgreSQL counts a year as 365.25 days and a month as 30 here.
        F::Epoch => {
            let days_usecs = i128::from(iv.days) * i128::from(USECS_PER_DAY);
            let years_usecs = i128::from(years) * 36_525 * i128::from(USECS_PER_DAY) / 100;
            let months_usecs = i128::from(iv.months % 12) * 30 * i128::from(USECS_PER_DAY);
            let total = years_usecs + months_usecs + days_usecs + i128::from(iv.micros);
            (i64::try_from(total).ok()?, 6)
        }
        F::IsoYear
        | F::Week
        | F::Dow
        | F::IsoDow
        | F::Doy
        | F::Timezone
        | F::TimezoneHour
        | F::TimezoneMinute => return None,
    })
}

/// `date_trunc(field, ts)`: the start of the unit the timestamp is in.
/// `None`: the unit cannot truncate.
pub(crate) fn timestamp_trunc(ts: i64, field: DateField) -> Option<i64> {
    use DateField as F;
    if is_infinite(ts) {
        return Some(ts);
    }
    let day = ts.div_euclid(USECS_PER_DAY);
    let time = ts.rem_euclid(USECS_PER_DAY);
    let (y, m, _) = ymd_of(day);
    let at_day = |d: i64| d.checked_mul(USECS_PER_DAY);
    match field {
        F::Millennium => at_day(day_of_ymd((y - 1).div_euclid(1000) * 1000 + 1, 1, 1)),
        F::Century => at_day(day_of_ymd((y - 1).div_euclid(100) * 100 + 1, 1, 1)),
        F::Decade => at_day(day_of_ymd(y.div_euclid(10) * 10, 1, 1)),
        F::Year => at_day(day_of_ymd(y, 1, 1)),
        F::Quarter => at_day(day_of_ymd(y, (m - 1) / 3 * 3 + 1, 1)),
        F::Month => at_day(day_of_ymd(y, m, 1)),
        F::Week => at_day(day - (day + 5).rem_euclid(7)),
        F::Day => at_day(day),
        F::Hour => Some(ts - time % USECS_PER_HOUR),
        F::Minute => Some(ts - time % USECS_PER_MINUTE),
        F::Second => Some(ts - time % USECS_PER_SEC),
        F::Milliseconds => Some(ts - time % 1000),
        F::Microseconds => Some(ts),
        F::IsoYear
        | F::Dow
        | F::IsoDow
        | F::Doy
        | F::Epoch
        | F::Timezone
        | F::TimezoneHour
        | F::TimezoneMinute => None,
    }
}

/// `age(a, b)`: the difference in years, months and days of the calendar
/// (borrowing the length of the earlier date's month), then the time.
pub(crate) fn age(a: i64, b: i64) -> Result<Interval, TypeError> {
    if is_infinite(a) || is_infinite(b) {
        return Err(interval_range());
    }
    let (later, earlier, sign) = if a >= b { (a, b, 1) } else { (b, a, -1) };
    let (ld, lt) = (
        later.div_euclid(USECS_PER_DAY),
        later.rem_euclid(USECS_PER_DAY),
    );
    let (ed, et) = (
        earlier.div_euclid(USECS_PER_DAY),
        earlier.rem_euclid(USECS_PER_DAY),
    );
    let (ly, lm, lday) = ymd_of(ld);
    let (ey, em, eday) = ymd_of(ed);
    let mut micros = lt - et;
    let mut days = i64::from(lday) - i64::from(eday);
    let mut months = (ly - ey) * 12 + i64::from(lm) - i64::from(em);
    if micros < 0 {
        micros += USECS_PER_DAY;
        days -= 1;
    }
    if days < 0 {
        days += i64::from(days_in_month(ey, em));
        months -= 1;
    }
    let months = i32::try_from(months * sign).map_err(|_| interval_range())?;
    let days = i32::try_from(days * sign).map_err(|_| interval_range())?;
    Ok(Interval::new(months, days, micros * sign))
}

/// `justify_hours`: whole days out of the time part.
pub(crate) fn justify_hours(iv: Interval) -> Result<Interval, TypeError> {
    let mut days = i64::from(iv.days) + iv.micros / USECS_PER_DAY;
    let mut micros = iv.micros % USECS_PER_DAY;
    borrow_to_sign(&mut days, &mut micros, USECS_PER_DAY);
    let days = i32::try_from(days).map_err(|_| interval_range())?;
    Ok(Interval::new(iv.months, days, micros))
}

/// `justify_days`: whole 30-day months out of the days.
pub(crate) fn justify_days(iv: Interval) -> Result<Interval, TypeError> {
    let mut months = i64::from(iv.months) + i64::from(iv.days / 30);
    let mut days = i64::from(iv.days % 30);
    borrow_to_sign(&mut months, &mut days, 30);
    let months = i32::try_from(months).map_err(|_| interval_range())?;
    let days = i32::try_from(days).map_err(|_| interval_range())?;
    Ok(Interval::new(months, days, iv.micros))
}

/// Moves one `unit` between `whole` and `part` when their signs disagree,
/// so both end with the sign of `whole` (PostgreSQL's justify_* rule).
fn borrow_to_sign(whole: &mut i64, part: &mut i64, unit: i64) {
    if *whole > 0 && *part < 0 {
        *part += unit;
        *whole -= 1;
    } else if *whole < 0 && *part > 0 {
        *part -= unit;
        *whole += 1;
    }
}

/// `justify_interval`: both, with one sign throughout.
pub(crate) fn justify_interval(iv: Interval) -> Result<Interval, TypeError> {
    let days = i64::from(iv.days) + iv.micros / USECS_PER_DAY;
    let mut micros = iv.micros % USECS_PER_DAY;
    let mut months = i64::from(iv.months) + days / 30;
    let mut days = days % 30;
    if months > 0 && (days < 0 || (days == 0 && micros < 0)) {
        days += 30;
        months -= 1;
    } else if months < 0 && (days > 0 || (days == 0 && micros > 0)) {
        days -= 30;
        months += 1;
    }
    borrow_to_sign(&mut days, &mut micros, USECS_PER_DAY);
    let months = i32::try_from(months).map_err(|_| interval_range())?;
    let days = i32::try_from(days).map_err(|_| interval_range())?;
    Ok(Interval::new(months, days, micros))
}

/// `make_date`/`make_timestamp`: the timestamp of the fields, or `None`
/// when a field is out of its range.
pub(crate) fn make_timestamp(
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    micros_of_minute: i64,
) -> Option<i64> {
    let month = u32::try_from(month).ok().filter(|m| (1..=12).contains(m))?;
    // PostgreSQL reads negative years as BC: year -1 is astronomical 0.
    let year = match year {
        0 => return None,
        y if y < 0 => y + 1,
        y => y,
    };
    let day = u32::try_from(day)
        .ok()
        .filter(|d| (1..=days_in_month(year, month)).contains(d))?;
    if !(0..24).contains(&hour)
        || !(0..60).contains(&minute)
        || !(0..60 * USECS_PER_SEC).contains(&micros_of_minute)
    {
        return None;
    }
    day_of_ymd(year, month, day)
        .checked_mul(USECS_PER_DAY)?
        .checked_add(hour * USECS_PER_HOUR + minute * USECS_PER_MINUTE + micros_of_minute)
        .filter(|t| (TIMESTAMP_MIN..TIMESTAMP_END).contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::datetime::parse_timestamp;

    fn ts(s: &str) -> i64 {
        parse_timestamp(s, false).unwrap()
    }

    #[test]
    fn adding_a_month_clamps_to_the_month_end() {
        let r = timestamp_add_interval(ts("2024-01-31"), Interval::new(1, 0, 0), 1).unwrap();
        assert_eq!(r, ts("2024-02-29"));
        let r = timestamp_add_interval(ts("2024-03-31"), Interval::new(1, 0, 0), -1).unwrap();
        assert_eq!(r, ts("2024-02-29"));
    }

    #[test]
    fn fields_of_a_leap_day() {
        let t = ts("2024-02-29 13:45:06.25");
        assert_eq!(timestamp_field(t, DateField::Dow), Some((4, 0)));
        assert_eq!(timestamp_field(t, DateField::Doy), Some((60, 0)));
        assert_eq!(timestamp_field(t, DateField::Second), Some((6_250_000, 6)));
        assert_eq!(
            timestamp_field(ts("2024-01-01"), DateField::Week),
            Some((1, 0))
        );
    }

    #[test]
    fn age_borrows_the_length_of_the_earlier_month() {
        let a = age(ts("2024-03-15"), ts("2023-01-10")).unwrap();
        assert_eq!(a, Interval::new(14, 5, 0));
        let a = age(ts("2024-03-01"), ts("2024-01-31")).unwrap();
        assert_eq!(a, Interval::new(1, 1, 0));
    }

    #[test]
    fn justify_moves_units_up_with_one_sign() {
        let hour = USECS_PER_HOUR;
        assert_eq!(
            justify_hours(Interval::new(0, 0, 50 * hour)).unwrap(),
            Interval::new(0, 2, 2 * hour)
        );
        assert_eq!(
            justify_interval(Interval::new(1, 0, -hour)).unwrap(),
            Interval::new(0, 29, 23 * hour)
        );
    }
}
