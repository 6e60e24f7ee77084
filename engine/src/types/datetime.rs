//! Calendar arithmetic and the text forms of dates and timestamps.
//!
//! Dates count days and timestamps microseconds from 2000-01-01, as
//! PostgreSQL does, on the proleptic Gregorian calendar with astronomical
//! years (year 0 is 1 BC). The extremes of each integer type stand for
//! `-infinity` and `infinity`, again as in PostgreSQL.

use std::fmt::Write;

use super::error::TypeError;
use super::parse::pg_trim;
use super::timezone::{Zone, offset_text, session_zone};

pub(crate) const USECS_PER_SEC: i64 = 1_000_000;
pub(crate) const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
pub(crate) const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
pub(crate) const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
/// Days from 1970-01-01 to 2000-01-01.
const UNIX_EPOCH_DAYS: i64 = 10_957;
/// 4714-11-24 BC, Julian day 0: PostgreSQL's first date and timestamp.
pub(crate) const DATE_MIN: i32 = -2_451_545;
/// 5874898-01-01, the first date past PostgreSQL's range.
pub(crate) const DATE_END: i32 = 2_145_031_949;
pub(crate) const TIMESTAMP_MIN: i64 = -211_813_488_000_000_000;
/// 294277-01-01 00:00, the first timestamp past PostgreSQL's range.
pub(crate) const TIMESTAMP_END: i64 = 9_223_371_331_200_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm, exact for every year an `i64` day count can hold).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are in range by construction: day 1..=31, month 1..=12.
    (year, month as u32, day as u32)
}

/// The (year, month, day) of a day counted from 2000-01-01.
pub(crate) fn ymd_of(days: i64) -> (i64, u32, u32) {
    civil_from_days(days + UNIX_EPOCH_DAYS)
}

/// The day, counted from 2000-01-01, of a (year, month, day).
pub(crate) fn day_of_ymd(year: i64, month: u32, day: u32) -> i64 {
    days_from_civil(year, month, day) - UNIX_EPOCH_DAYS
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The zone a date/time literal names after its time.
enum LiteralZone {
    /// `+02`, `-05:30`, `Z`: seconds east of UTC.
    Offset(i64),
    /// `America/New_York`, `EST`: the offset is the zone's at that time.
    Named(Zone),
}

/// A parsed date/time literal before it is narrowed to a type.
enum Parsed {
    NegInfinity,
    Infinity,
    At {
        /// Days since 2000-01-01.
        days: i64,
        /// Microseconds into the day; up to a whole day for `24:00:00`.
        micros: i64,
        /// The literal's zone, if it named one.
        zone: Option<LiteralZone>,
    },
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.pos += usize::from(hit);
        hit
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let hit = self
            .bytes
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(word.as_bytes()));
        if hit {
            self.pos += word.len();
        }
        hit
    }

    /// A zone name (`z`, `utc`, `america/new_york`, `etc/gmt+5`), not
    /// taking the era words `bc` and `ad`.
    fn zone_word(&mut self) -> Option<&[u8]> {
        let rest = self.bytes.get(self.pos..)?;
        if !rest.first()?.is_ascii_alphabetic() {
            return None;
        }
        let len = rest
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || b"/_+-".contains(b)))
            .unwrap_or(rest.len());
        let word = &rest[..len];
        if word == b"bc" || word == b"ad" {
            return None;
        }
        self.pos += len;
        Some(word)
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// A run of digits as a number and its length; runs longer than nine
    /// digits saturate, which every caller then rejects as out of range.
    fn number(&mut self) -> Option<(i64, usize)> {
        let start = self.pos;
        let mut value: i64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            value = (value * 10 + i64::from(c - b'0')).min(9_999_999_999);
            self.pos += 1;
        }
        (self.pos > start).then_some((value, self.pos - start))
    }
}

fn parse_datetime(input: &str, type_name: &'static str) -> Result<Parsed, TypeError> {
    let syntax = || TypeError::InvalidDatetime {
        type_name,
        input: input.to_owned(),
    };
    let field = || TypeError::DatetimeFieldOverflow {
        input: input.to_owned(),
    };
    let text = pg_trim(input).to_ascii_lowercase();
    match text.as_str() {
        "infinity" | "+infinity" => return Ok(Parsed::Infinity),
        "-infinity" => return Ok(Parsed::NegInfinity),
        "epoch" => {
            return Ok(Parsed::At {
                days: -UNIX_EPOCH_DAYS,
                micros: 0,
                zone: None,
            });
        }
        _ => {}
    }
    let mut c = Cursor {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let (year, _) = c.number().ok_or_else(syntax)?;
    let (month, _) = (c.eat(b'-'))
        .then(|| c.number())
        .flatten()
        .ok_or_else(syntax)?;
    let (day, _) = (c.eat(b'-'))
        .then(|| c.number())
        .flatten()
        .ok_or_else(syntax)?;

    let mut micros = 0;
    let mut zone = None;
    let had_separator = c.eat(b't') || {
        let before = c.pos;
        c.skip_spaces();
        c.pos > before
    };
    if had_separator && c.peek().is_some_and(|b| b.is_ascii_digit()) {
        micros = parse_time(&mut c)
            .ok_or_else(syntax)?
            .map_err(|()| field())?;
    }
    c.skip_spaces();
    if let Some(sign @ (b'+' | b'-')) = c.peek() {
        c.pos += 1;
        let seconds = parse_offset(&mut c).ok_or_else(syntax)?;
        zone = Some(LiteralZone::Offset(if sign == b'-' {
            -seconds
        } else {
            seconds
        }));
    } else if let Some(name) = c.zone_word() {
        let name = std::str::from_utf8(name).map_err(|_| syntax())?;
        // As in PostgreSQL, an unknown word is bad syntax, an unknown
        // `Area/Location` an unknown zone.
        let named = match Zone::by_name(name) {
            Some(zone) => zone,
            None if name.contains('/') => {
                return Err(TypeError::UnknownTimeZone(name.to_owned()));
            }
            None => return Err(syntax()),
        };
        zone = Some(LiteralZone::Named(named));
    }
    c.skip_spaces();
    let bc = c.eat_word("bc");
    if !bc {
        c.eat_word("ad");
    }
    c.skip_spaces();
    if c.pos != c.bytes.len() {
        return Err(syntax());
    }

    if year == 0 || year > 9_999_999 {
        return Err(field());
    }
    let year = if bc { 1 - year } else { year };
    let month = u32::try_from(month).map_err(|_| field())?;
    let day = u32::try_from(day).map_err(|_| field())?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(field());
    }
    Ok(Parsed::At {
        days: days_from_civil(year, month, day) - UNIX_EPOCH_DAYS,
        micros,
        zone,
    })
}

/// `HH:MM[:SS[.ffffff]]`; `None` for bad syntax, `Some(Err)` for a field out
/// of range.
fn parse_time(c: &mut Cursor<'_>) -> Option<Result<i64, ()>> {
    let (hour, _) = c.number()?;
    if !c.eat(b':') {
        return None;
    }
    let (minute, _) = c.number()?;
    let mut second = 0;
    let mut fraction = 0;
    if c.eat(b':') {
        second = c.number()?.0;
        if c.eat(b'.') {
            fraction = parse_fraction(c)?;
        }
    }
    // 24:00:00 is midnight at the day's end, and second 60 a leap second
    // rolling into the next minute, both as PostgreSQL allows. Fields are
    // checked before they are multiplied, so a huge hour cannot overflow.
    if hour > 24 || minute >= 60 || second > 60 {
        return Some(Err(()));
    }
    let total = ((hour * 60 + minute) * 60 + second) * USECS_PER_SEC + fraction;
    let valid = total <= USECS_PER_DAY;
    Some(if valid { Ok(total) } else { Err(()) })
}

/// Fractional seconds to microseconds, rounding half to even past the sixth
/// digit.
fn parse_fraction(c: &mut Cursor<'_>) -> Option<i64> {
    let mut micros = 0;
    let mut digits = 0;
    let mut next = 0;
    let mut rest_nonzero = false;
    while let Some(d @ b'0'..=b'9') = c.peek() {
        let d = i64::from(d - b'0');
        match digits {
            0..=5 => micros = micros * 10 + d,
            6 => next = d,
            _ => rest_nonzero |= d != 0,
        }
        digits += 1;
        c.pos += 1;
    }
    if digits == 0 {
        return None;
    }
    for _ in digits..6 {
        micros *= 10;
    }
    let round_up = next > 5 || (next == 5 && (rest_nonzero || micros % 2 == 1));
    Some(micros + i64::from(round_up))
}

/// `HH`, `HHMM`, `HH:MM` or `HH:MM:SS` after the sign, in seconds.
fn parse_offset(c: &mut Cursor<'_>) -> Option<i64> {
    let (first, len) = c.number()?;
    let (hours, mut minutes) = match len {
        1 | 2 => (first, 0),
        4 => (first / 100, first % 100),
        _ => return None,
    };
    let mut seconds = 0;
    if len <= 2 && c.eat(b':') {
        minutes = c.number()?.0;
        if c.eat(b':') {
            seconds = c.number()?.0;
        }
    }
    (hours <= 15 && minutes < 60 && seconds < 60).then_some((hours * 60 + minutes) * 60 + seconds)
}

/// Parses a `date` literal; any time of day in it is ignored, as in
/// PostgreSQL.
pub(crate) fn parse_date(input: &str) -> Result<i32, TypeError> {
    match parse_datetime(input, "date")? {
        Parsed::Infinity => Ok(i32::MAX),
        Parsed::NegInfinity => Ok(i32::MIN),
        Parsed::At { days, .. } => i32::try_from(days)
            .ok()
            .filter(|d| (DATE_MIN..DATE_END).contains(d))
            .ok_or(TypeError::DatetimeOutOfRange { type_name: "date" }),
    }
}

/// Parses a `timestamp` (`with_tz` false: any zone is ignored, as in
/// PostgreSQL) or `timestamptz` literal (no zone means the session zone).
pub(crate) fn parse_timestamp(input: &str, with_tz: bool) -> Result<i64, TypeError> {
    let type_name = if with_tz {
        "timestamp with time zone"
    } else {
        "timestamp"
    };
    match parse_datetime(input, type_name)? {
        Parsed::Infinity => Ok(i64::MAX),
        Parsed::NegInfinity => Ok(i64::MIN),
        Parsed::At { days, micros, zone } => {
            let out_of_range = TypeError::DatetimeOutOfRange {
                type_name: "timestamp",
            };
            let local =
                i64::try_from(i128::from(days) * i128::from(USECS_PER_DAY) + i128::from(micros))
                    .ok()
                    .filter(|t| (TIMESTAMP_MIN..TIMESTAMP_END).contains(t))
                    .ok_or(out_of_range.clone())?;
            if !with_tz {
                return Ok(local);
            }
            let offset = match zone {
                Some(LiteralZone::Offset(seconds)) => seconds,
                Some(LiteralZone::Named(zone)) => zone.offset_of_local(local),
                None => session_zone().offset_of_local(local),
            };
            local
                .checked_sub(offset * USECS_PER_SEC)
                .filter(|t| (TIMESTAMP_MIN..TIMESTAMP_END).contains(t))
                .ok_or(out_of_range)
        }
    }
}

/// Writes `YYYY-MM-DD` and returns whether the year is BC.
fn write_ymd(out: &mut String, days: i64) -> bool {
    let (year, month, day) = civil_from_days(days + UNIX_EPOCH_DAYS);
    let (year, bc) = if year <= 0 {
        (1 - year, true)
    } else {
        (year, false)
    };
    let _ = write!(out, "{year:04}-{month:02}-{day:02}");
    bc
}

/// `HH:MM:SS` with the fraction's trailing zeros trimmed, as PostgreSQL
/// prints both times of day and interval times.
pub(crate) fn write_hms(out: &mut String, hours: u64, micros_in_hour: u64) {
    let minutes = micros_in_hour / USECS_PER_MINUTE as u64;
    let rest = micros_in_hour % USECS_PER_MINUTE as u64;
    let seconds = rest / USECS_PER_SEC as u64;
    let fraction = rest % USECS_PER_SEC as u64;
    let _ = write!(out, "{hours:02}:{minutes:02}:{seconds:02}");
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

pub(crate) fn format_date(date: i32) -> String {
    match date {
        i32::MAX => "infinity".to_owned(),
        i32::MIN => "-infinity".to_owned(),
        _ => {
            let mut out = String::with_capacity(13);
            if write_ymd(&mut out, i64::from(date)) {
                out.push_str(" BC");
            }
            out
        }
    }
}

/// A timestamp as PostgreSQL's ISO style prints it; `with_tz` reads `ts`
/// as an instant and prints it in the session zone with that zone's
/// offset at the instant.
pub(crate) fn format_timestamp(ts: i64, with_tz: bool) -> String {
    match ts {
        i64::MAX => "infinity".to_owned(),
        i64::MIN => "-infinity".to_owned(),
        _ => {
            let (local, offset) = if with_tz {
                let zone = session_zone();
                let offset = zone.offset_at(ts);
                (ts.saturating_add(offset * USECS_PER_SEC), Some(offset))
            } else {
                (ts, None)
            };
            let mut out = String::with_capacity(32);
            let bc = write_ymd(&mut out, local.div_euclid(USECS_PER_DAY));
            let time = local.rem_euclid(USECS_PER_DAY).unsigned_abs();
            out.push(' ');
            write_hms(
                &mut out,
                time / USECS_PER_HOUR as u64,
                time % USECS_PER_HOUR as u64,
            );
            if let Some(offset) = offset {
                out.push_str(&offset_text(offset));
            }
            if bc {
                out.push_str(" BC");
            }
            out
        }
    }
}

/// A `date` as the first microsecond of its day, keeping the infinities.
pub(crate) fn date_to_timestamp(date: i32) -> Result<i64, TypeError> {
    match date {
        i32::MAX => Ok(i64::MAX),
        i32::MIN => Ok(i64::MIN),
        _ => i64::from(date)
            .checked_mul(USECS_PER_DAY)
            .filter(|t| (TIMESTAMP_MIN..TIMESTAMP_END).contains(t))
            .ok_or(TypeError::DatetimeOutOfRange {
                type_name: "timestamp",
            }),
    }
}

/// The day a timestamp falls on, keeping the infinities.
pub(crate) fn timestamp_to_date(ts: i64) -> Result<i32, TypeError> {
    match ts {
        i64::MAX => Ok(i32::MAX),
        i64::MIN => Ok(i32::MIN),
        _ => i32::try_from(ts.div_euclid(USECS_PER_DAY))
            .map_err(|_| TypeError::DatetimeOutOfRange { type_name: "date" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_constants_are_the_calendar_dates() {
        assert_eq!(
            days_from_civil(-4713, 11, 24) - UNIX_EPOCH_DAYS,
            i64::from(DATE_MIN)
        );
        assert_eq!(
            days_from_civil(5_874_898, 1, 1) - UNIX_EPOCH_DAYS,
            i64::from(DATE_END)
        );
        assert_eq!(
            (days_from_civil(294_277, 1, 1) - UNIX_EPOCH_DAYS) * USECS_PER_DAY,
            TIMESTAMP_END
        );
        assert_eq!(i64::from(DATE_MIN) * USECS_PER_DAY, TIMESTAMP_MIN);
        assert_eq!(days_from_civil(2000, 1, 1), UNIX_EPOCH_DAYS);
    }

    #[test]
    fn civil_round_trip() {
        for days in (-3_000_000..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2000-01-01").unwrap(), 0);
        assert_eq!(
            format_date(parse_date(" 2024-01-31 ").unwrap()),
            "2024-01-31"
        );
        assert_eq!(
            format_date(parse_date("2024-02-29 13:00").unwrap()),
            "2024-02-29"
        );
        assert_eq!(
            format_date(parse_date("0044-03-15 BC").unwrap()),
            "0044-03-15 BC"
        );
        assert_eq!(
            format_date(parse_date("4714-11-24 BC").unwrap()),
            "4714-11-24 BC"
        );
        assert_eq!(format_date(parse_date("Infinity").unwrap()), "infinity");
        assert_eq!(parse_date("epoch").unwrap(), -10_957);
        let code = |s: &str| parse_date(s).unwrap_err().sqlstate().code();
        assert_eq!(code("2023-02-29"), "22008");
        assert_eq!(code("2024-13-01"), "22008");
        assert_eq!(code("0000-01-01"), "22008");
        assert_eq!(code("4714-11-23 BC"), "22008");
        assert_eq!(code("2024/01/01"), "22007");
        assert_eq!(code("yesterday-ish"), "22007");
        assert_eq!(code(""), "22007");
    }

    #[test]
    fn timestamps() {
        let ts = |s: &str| format_timestamp(parse_timestamp(s, false).unwrap(), false);
        let tz = |s: &str| format_timestamp(parse_timestamp(s, true).unwrap(), true);
        assert_eq!(ts("2024-01-31 12:34:56.789"), "2024-01-31 12:34:56.789");
        assert_eq!(ts("2024-01-31T12:34:56"), "2024-01-31 12:34:56");
        assert_eq!(ts("2024-01-31 12:34"), "2024-01-31 12:34:00");
        assert_eq!(ts("2024-01-31"), "2024-01-31 00:00:00");
        assert_eq!(ts("2024-01-31 12:00:00+02"), "2024-01-31 12:00:00");
        assert_eq!(ts("2024-01-31 24:00:00"), "2024-02-01 00:00:00");
        assert_eq!(ts("2024-01-31 00:00:00.0000005"), "2024-01-31 00:00:00");
        assert_eq!(
            ts("2024-01-31 00:00:00.0000015"),
            "2024-01-31 00:00:00.000002"
        );
        assert_eq!(
            ts("1999-12-31 23:59:59.999999"),
            "1999-12-31 23:59:59.999999"
        );
        assert_eq!(tz("2024-01-31 12:00:00+02"), "2024-01-31 10:00:00+00");
        assert_eq!(tz("2024-01-31 12:00:00 -05:30"), "2024-01-31 17:30:00+00");
        assert_eq!(tz("2024-01-31T12:00:00Z"), "2024-01-31 12:00:00+00");
        assert_eq!(tz("2024-01-31 12:00:00+0530"), "2024-01-31 06:30:00+00");
        assert_eq!(tz("2024-01-31 12:00 UTC"), "2024-01-31 12:00:00+00");
        assert_eq!(tz("0001-01-01 00:00:00 BC"), "0001-01-01 00:00:00+00 BC");
        // A zone name gives the zone's offset at that wall-clock time.
        assert_eq!(
            tz("2024-01-01 12:00:00 America/New_York"),
            "2024-01-01 17:00:00+00"
        );
        assert_eq!(
            tz("2024-07-01 12:00:00 america/new_york"),
            "2024-07-01 16:00:00+00"
        );
        assert_eq!(tz("2024-07-01 12:00:00 EST"), "2024-07-01 17:00:00+00");
        let tz_code = |s: &str| parse_timestamp(s, true).unwrap_err().sqlstate().code();
        assert_eq!(tz_code("2024-01-01 12:00 Mars/Olympus"), "22023");
        assert_eq!(tz_code("2024-01-01 12:00 nowhere"), "22007");
        assert_eq!(ts("-infinity"), "-infinity");
        let code = |s: &str| parse_timestamp(s, false).unwrap_err().sqlstate().code();
        assert_eq!(code("2024-01-31 25:00"), "22008");
        assert_eq!(code("2024-01-31 12:60"), "22008");
        assert_eq!(code("2024-01-31 12:"), "22007");
        assert_eq!(code("2024-01-31 12:00:00+2x"), "22007");
        assert_eq!(code("294277-01-01"), "22008");
        assert_eq!(code("2024-01-01 9999999999:00"), "22008");
    }
}
