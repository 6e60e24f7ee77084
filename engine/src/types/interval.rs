//! Intervals: months, days and microseconds kept apart, as in PostgreSQL,
//! because a month is not a fixed number of days nor a day a fixed number
//! of hours once time zones enter.

use std::fmt;

use super::datetime::{USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC, write_hms};
use super::error::TypeError;
use super::parse::pg_trim;

/// A PostgreSQL `interval`.
///
/// Its derived equality is field by field; SQL compares intervals by
/// [`Interval::span`], so `1 mon` equals `30 days` there (and in
/// [`Value`](super::Value)'s comparisons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    /// Whole months.
    pub months: i32,
    /// Whole days.
    pub days: i32,
    /// Microseconds.
    pub micros: i64,
}

impl Interval {
    /// An interval from its three fields.
    pub const fn new(months: i32, days: i32, micros: i64) -> Interval {
        Interval {
            months,
            days,
            micros,
        }
    }

    /// The length in microseconds with a month as 30 days and a day as 24
    /// hours: PostgreSQL's comparison key for intervals.
    pub fn span(&self) -> i128 {
        let day = i128::from(USECS_PER_DAY);
        i128::from(self.months) * 30 * day + i128::from(self.days) * day + i128::from(self.micros)
    }

    /// The interval of a span with as much as possible in months, then days:
    /// the representative a key decodes to, since keys hold only the span.
    pub(crate) fn from_span(span: i128) -> Option<Interval> {
        let day = i128::from(USECS_PER_DAY);
        let clamp32 = |v: i128| v.clamp(i128::from(i32::MIN), i128::from(i32::MAX));
        let total_days = span.div_euclid(day);
        let months = clamp32(total_days.div_euclid(30));
        let rest_days = total_days - months * 30;
        let days = clamp32(rest_days);
        let micros = span.rem_euclid(day) + (rest_days - days) * day;
        Some(Interval {
            months: i32::try_from(months).ok()?,
            days: i32::try_from(days).ok()?,
            micros: i64::try_from(micros).ok()?,
        })
    }
}

/// PostgreSQL's default `postgres` interval style:
/// `1 year 2 mons -3 days +04:05:06.5`.
impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        let mut is_zero = true;
        let mut is_before = false;
        let mut part = |value: i64, unit: &str| {
            if value == 0 {
                return;
            }
            let space = if is_zero { "" } else { " " };
            let plus = if is_before && value > 0 { "+" } else { "" };
            let plural = if value == 1 { "" } else { "s" };
            out.push_str(&format!("{space}{plus}{value} {unit}{plural}"));
            // PostgreSQL marks only the field after a negative one with `+`.
            is_before = value < 0;
            is_zero = false;
        };
        part(i64::from(self.months / 12), "year");
        part(i64::from(self.months % 12), "mon");
        part(i64::from(self.days), "day");
        if is_zero || self.micros != 0 {
            if !is_zero {
                out.push(' ');
            }
            if self.micros < 0 {
                out.push('-');
            } else if is_before {
                out.push('+');
            }
            let t = self.micros.unsigned_abs();
            write_hms(
                &mut out,
                t / USECS_PER_HOUR as u64,
                t % USECS_PER_HOUR as u64,
            );
        }
        f.write_str(&out)
    }
}

/// An amount being summed; wide so that overflow is found once, at the end.
#[derive(Default)]
struct Sum {
    months: i128,
    days: i128,
    micros: i128,
}

/// A number token: its integer part and the fraction, both signed.
struct Number {
    whole: i128,
    fraction: f64,
}

impl Number {
    fn parse(token: &str) -> Option<Number> {
        let (negative, body) = match token.as_bytes().first()? {
            b'-' => (true, token.get(1..)?),
            b'+' => (false, token.get(1..)?),
            _ => (false, token),
        };
        let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() && frac_part.is_empty()
            || !all_digits(int_part)
            || !all_digits(frac_part)
            || int_part.len() > 30
        {
            return None;
        }
        let whole = if int_part.is_empty() {
            0
        } else {
            int_part.parse::<i128>().ok()?
        };
        let fraction = if frac_part.is_empty() {
            0.0
        } else {
            format!("0.{frac_part}").parse::<f64>().ok()?
        };
        Some(if negative {
            Number {
                whole: -whole,
                fraction: -fraction,
            }
        } else {
            Number { whole, fraction }
        })
    }
}

#[derive(Clone, Copy)]
enum Unit {
    Micros(i64),
    Days(i64),
    Months(i64),
}

fn unit(word: &str) -> Option<Unit> {
    Some(match word {
        "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "useconds" => Unit::Micros(1),
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "mseconds" => Unit::Micros(1000),
        "second" | "seconds" | "s" | "sec" | "secs" => Unit::Micros(USECS_PER_SEC),
        "minute" | "minutes" | "m" | "min" | "mins" => Unit::Micros(USECS_PER_MINUTE),
        "hour" | "hours" | "h" | "hr" | "hrs" => Unit::Micros(USECS_PER_HOUR),
        "day" | "days" | "d" => Unit::Days(1),
        "week" | "weeks" | "w" => Unit::Days(7),
        "month" | "months" | "mon" | "mons" => Unit::Months(1),
        "year" | "years" | "y" | "yr" | "yrs" => Unit::Months(12),
        "decade" | "decades" | "dec" | "decs" => Unit::Months(120),
        "century" | "centuries" | "c" | "cent" => Unit::Months(1200),
        "millennium" | "millennia" | "mil" | "mils" => Unit::Months(12_000),
        _ => return None,
    })
}

impl Sum {
    /// Adds `n` units, cascading a fraction down to smaller fields the way
    /// PostgreSQL does (a month's fraction in 30-day days, a day's in
    /// 24-hour time).
    fn add(&mut self, n: &Number, unit: Unit) -> Option<()> {
        let day = USECS_PER_DAY as f64;
        let whole = |per: i64| n.whole.checked_mul(i128::from(per));
        // Float-to-int `as` saturates, and every sum is checked, so absurd
        // input ends as an out-of-range error rather than an overflow.
        let (months, days, micros) = match unit {
            Unit::Micros(per) => {
                let frac = (n.fraction * per as f64).round() as i128;
                (0, 0, whole(per)?.checked_add(frac)?)
            }
            Unit::Days(per) => {
                let frac_days = n.fraction * per as f64;
                let micros = (frac_days.fract() * day).round() as i128;
                (
                    0,
                    whole(per)?.checked_add(frac_days.trunc() as i128)?,
                    micros,
                )
            }
            Unit::Months(1) => {
                let frac_days = n.fraction * 30.0;
                let micros = (frac_days.fract() * day).round() as i128;
                (n.whole, frac_days.trunc() as i128, micros)
            }
            Unit::Months(per) => {
                let frac_months = (n.fraction * per as f64).round() as i128;
                (whole(per)?.checked_add(frac_months)?, 0, 0)
            }
        };
        self.months = self.months.checked_add(months)?;
        self.days = self.days.checked_add(days)?;
        self.micros = self.micros.checked_add(micros)?;
        Some(())
    }
}

/// `[+-]H:MM[:SS[.ffffff]]` in microseconds; `None` if malformed.
fn parse_clock(token: &str) -> Option<Result<i128, ()>> {
    let (negative, body) = match token.as_bytes().first()? {
        b'-' => (true, token.get(1..)?),
        b'+' => (false, token.get(1..)?),
        _ => (false, token),
    };
    let mut parts = body.split(':');
    let hours = parts.next()?;
    let minutes = parts.next()?;
    let seconds = parts.next().unwrap_or("0");
    if parts.next().is_some() || hours.len() > 12 {
        return None;
    }
    let field = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i128>().ok())
            .flatten()
    };
    let hours = field(hours)?;
    let minutes = field(minutes)?;
    let (sec_int, sec_frac) = seconds.split_once('.').unwrap_or((seconds, ""));
    let secs = field(sec_int)?;
    let frac = if sec_frac.is_empty() {
        0
    } else {
        field(sec_frac)?;
        (format!("0.{sec_frac}").parse::<f64>().ok()? * 1e6).round() as i128
    };
    if minutes >= 60 || secs >= 60 {
        return Some(Err(()));
    }
    let micros = ((hours * 60 + minutes) * 60 + secs) * i128::from(USECS_PER_SEC) + frac;
    Some(Ok(if negative { -micros } else { micros }))
}

/// Splits `1day` into `1` and `day`, as PostgreSQL's lexer does.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let split = word
            .char_indices()
            .find(|&(i, c)| c.is_ascii_alphabetic() && i > 0 && !word.contains(':'))
            .map(|(i, _)| i);
        match split.and_then(|i| Some((word.get(..i)?, word.get(i..)?))) {
            Some((number, unit)) if Number::parse(number).is_some() => {
                out.push(number.to_owned());
                out.push(unit.to_owned());
            }
            _ => out.push(word.to_owned()),
        }
    }
    out
}

/// Parses interval text: `1 year 2 mons`, `2 hours 30 minutes`, `1.5 days`,
/// `01:02:03`, `3 04:05:06`, `-1 days +02:00:00`, `1 day ago`, `@ 1 hour`.
pub(crate) fn parse_interval(input: &str) -> Result<Interval, TypeError> {
    let syntax = || TypeError::InvalidDatetime {
        type_name: "interval",
        input: input.to_owned(),
    };
    let field = || TypeError::DatetimeFieldOverflow {
        input: input.to_owned(),
    };
    let range = || TypeError::DatetimeOutOfRange {
        type_name: "interval",
    };
    let lower = pg_trim(input).to_ascii_lowercase();
    if let Some(designators) = lower.strip_prefix('p') {
        return parse_iso8601(designators, input);
    }
    let tokens = tokens(&lower);
    let mut sum = Sum::default();
    let mut seen = false;
    let mut ago = false;
    let mut i = 0;
    while let Some(token) = tokens.get(i) {
        i += 1;
        if ago {
            return Err(syntax());
        }
        if token == "@" && i == 1 {
            continue;
        }
        if token == "ago" && seen {
            ago = true;
            continue;
        }
        if token.contains(':') {
            let micros = parse_clock(token)
                .ok_or_else(syntax)?
                .map_err(|()| field())?;
            sum.micros = sum.micros.checked_add(micros).ok_or_else(range)?;
            seen = true;
            continue;
        }
        let number = Number::parse(token).ok_or_else(syntax)?;
        let next = tokens.get(i);
        let unit = match next.map(|t| (unit(t), t.contains(':'))) {
            Some((Some(unit), _)) => {
                i += 1;
                unit
            }
            // `3 04:05:06`: a bare number before a time is days.
            Some((None, true)) => Unit::Days(1),
            None => Unit::Micros(USECS_PER_SEC),
            Some((None, false)) => return Err(syntax()),
        };
        sum.add(&number, unit).ok_or_else(range)?;
        seen = true;
    }
    if !seen {
        return Err(syntax());
    }
    let sign = if ago { -1 } else { 1 };
    let narrow = |v: i128| v.checked_mul(sign).ok_or_else(range);
    Ok(Interval {
        months: i32::try_from(narrow(sum.months)?).map_err(|_| range())?,
        days: i32::try_from(narrow(sum.days)?).map_err(|_| range())?,
        micros: i64::try_from(narrow(sum.micros)?).map_err(|_| range())?,
    })
}

/// ISO 8601's format with designators, after its `P`: `1Y2M3DT4H5M6.5S`
/// (weeks as `W`; `M` is months before the `T`, minutes after it).
fn parse_iso8601(designators: &str, input: &str) -> Result<Interval, TypeError> {
    let syntax = || TypeError::InvalidDatetime {
        type_name: "interval",
        input: input.to_owned(),
    };
    let range = || TypeError::DatetimeOutOfRange {
        type_name: "interval",
    };
    let mut sum = Sum::default();
    let mut in_time = false;
    let mut rest = designators;
    let mut seen = false;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('t') {
            if in_time {
                return Err(syntax());
            }
            in_time = true;
            rest = after;
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
            .ok_or_else(syntax)?;
        let number = Number::parse(&rest[..end]).ok_or_else(syntax)?;
        let designator = rest[end..].chars().next().ok_or_else(syntax)?;
        let unit = match (in_time, designator) {
            (false, 'y') => Unit::Months(12),
            (false, 'm') => Unit::Months(1),
            (false, 'w') => Unit::Days(7),
            (false, 'd') => Unit::Days(1),
            (true, 'h') => Unit::Micros(USECS_PER_HOUR),
            (true, 'm') => Unit::Micros(USECS_PER_MINUTE),
            (true, 's') => Unit::Micros(USECS_PER_SEC),
            _ => return Err(syntax()),
        };
        sum.add(&number, unit).ok_or_else(range)?;
        seen = true;
        rest = &rest[end + designator.len_utf8()..];
    }
    if !seen {
        return Err(syntax());
    }
    Ok(Interval {
        months: i32::try_from(sum.months).map_err(|_| range())?,
        days: i32::try_from(sum.days).map_err(|_| range())?,
        micros: i64::try_from(sum.micros).map_err(|_| range())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(text: &str) -> String {
        parse_interval(text).unwrap().to_string()
    }

    #[test]
    fn iso_8601_designators() {
        assert_eq!(round("P1Y2M"), "1 year 2 mons");
        assert_eq!(round("p1dt2h30m"), "1 day 02:30:00");
        assert_eq!(round("P2W"), "14 days");
        assert_eq!(round("PT1.5S"), "00:00:01.5");
        assert!(parse_interval("P1H").is_err());
        assert!(parse_interval("P").is_err());
    }

    #[test]
    fn postgres_style_output() {
        let h = USECS_PER_HOUR;
        assert_eq!(
            Interval::new(14, 3, 4 * h + 5 * 60_000_000 + 6_000_000).to_string(),
            "1 year 2 mons 3 days 04:05:06"
        );
        assert_eq!(Interval::default().to_string(), "00:00:00");
        assert_eq!(Interval::new(1, 1, 0).to_string(), "1 mon 1 day");
        assert_eq!(
            Interval::new(-1, 2, h).to_string(),
            "-1 mons +2 days 01:00:00"
        );
        assert_eq!(Interval::new(0, -1, h).to_string(), "-1 days +01:00:00");
        assert_eq!(Interval::new(0, 1, -h).to_string(), "1 day -01:00:00");
        assert_eq!(Interval::new(-12, 0, 0).to_string(), "-1 years");
        assert_eq!(Interval::new(0, 0, 1_500_000).to_string(), "00:00:01.5");
        assert_eq!(Interval::new(0, 0, 100 * h).to_string(), "100:00:00");
    }

    #[test]
    fn input_forms() {
        assert_eq!(round("1 day"), "1 day");
        assert_eq!(round("2 hours 30 minutes"), "02:30:00");
        assert_eq!(round("1 year 2 mons"), "1 year 2 mons");
        assert_eq!(round("01:02:03"), "01:02:03");
        assert_eq!(
            round("1 year 2 mons 3 days 04:05:06"),
            "1 year 2 mons 3 days 04:05:06"
        );
        assert_eq!(round("-1 days +02:00:00"), "-1 days +02:00:00");
        assert_eq!(round("3 04:05:06"), "3 days 04:05:06");
        assert_eq!(round("1.5 days"), "1 day 12:00:00");
        assert_eq!(round("1.5 months"), "1 mon 15 days");
        assert_eq!(round("1.5 years"), "1 year 6 mons");
        assert_eq!(round("1 day ago"), "-1 days");
        assert_eq!(round("@ 1 hour"), "01:00:00");
        assert_eq!(round("1day 2h"), "1 day 02:00:00");
        assert_eq!(round("90"), "00:01:30");
        assert_eq!(round("2 weeks"), "14 days");
        assert_eq!(round("1 century"), "100 years");
        assert_eq!(round("0.5 seconds"), "00:00:00.5");
        assert_eq!(round("-01:30"), "-01:30:00");
    }

    #[test]
    fn input_errors() {
        let code = |s: &str| parse_interval(s).unwrap_err().sqlstate().code();
        assert_eq!(code(""), "22007");
        assert_eq!(code("1 fortnight"), "22007");
        assert_eq!(code("1 2"), "22007");
        assert_eq!(code("ago"), "22007");
        assert_eq!(code("00:61:00"), "22008");
        assert_eq!(code("3000000000 days"), "22015");
        assert_eq!(code("99999999999999999999999999999999 years"), "22007");
    }

    #[test]
    fn span_comparison_and_canonical_form() {
        assert_eq!(
            Interval::new(1, 0, 0).span(),
            Interval::new(0, 30, 0).span()
        );
        let odd = Interval::new(0, 45, -1);
        let canon = Interval::from_span(odd.span()).unwrap();
        assert_eq!(canon, Interval::new(1, 14, USECS_PER_DAY - 1));
        let extreme = Interval::new(i32::MAX, i32::MAX, i64::MAX);
        assert_eq!(
            Interval::from_span(extreme.span()).unwrap().span(),
            extreme.span()
        );
        let low = Interval::new(i32::MIN, i32::MIN, i64::MIN);
        assert_eq!(Interval::from_span(low.span()).unwrap().span(), low.span());
    }
}
