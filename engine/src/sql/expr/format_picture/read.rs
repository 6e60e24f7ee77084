//! Reading text through a picture: `to_date` and `to_timestamp(text,
//! text)`. Outside FX mode, as in PostgreSQL, spaces before a field are
//! skipped and a separator in the picture matches any one separator of
//! the input, or none.

use super::{DAYS, MONTHS, Node, Pat, USECS_PER_DAY, iso_year_start, parse_picture};
use crate::SqlState;
use crate::sql::error::{SqlError, SqlResult};
use crate::types::{TIMESTAMP_END, TIMESTAMP_MIN, TypeError, make_timestamp};

/// What a picture read from text.
#[derive(Default)]
struct Parsed {
    year: Option<i64>,
    bc: bool,
    month: Option<i64>,
    day: Option<i64>,
    doy: Option<i64>,
    julian: Option<i64>,
    hour: i64,
    hour12: bool,
    pm: Option<bool>,
    minute: i64,
    second: i64,
    micros: i64,
    /// `IW`, `ID` and `IDDD`: with an ISO year they decide the date.
    iso_week: Option<i64>,
    iso_dow: Option<i64>,
    iso_doy: Option<i64>,
    /// Which convention the date fields so far follow: `Some(true)` for
    /// ISO 8601 weeks, `Some(false)` for the Gregorian calendar; a picture
    /// must not mix them.
    iso: Option<bool>,
}

/// The convention a date pattern belongs to; `None` for the rest.
fn convention(pat: Pat) -> Option<bool> {
    match pat {
        Pat::IsoYear(_) | Pat::IsoWeek | Pat::IsoDayOfWeek | Pat::IsoDayOfYear => Some(true),
        Pat::Year(_)
        | Pat::YearComma
        | Pat::Month
        | Pat::MonthName
        | Pat::MonthAbbrev
        | Pat::Day
        | Pat::DayOfYear
        | Pat::DayOfWeek
        | Pat::WeekOfYear
        | Pat::WeekOfMonth => Some(false),
        _ => None,
    }
}

fn invalid_value(value: &str, pattern: &str) -> SqlError {
    SqlError::Data {
        state: SqlState::INVALID_DATETIME_FORMAT,
        message: format!("invalid value \"{value}\" for \"{pattern}\""),
    }
}

fn is_separator(c: char) -> bool {
    !c.is_alphanumeric()
}

/// Reads the text of `input` through `picture`: `to_timestamp(text,
/// text)` as microseconds since 2000-01-01 (in UTC, the session's zone).
pub(crate) fn parse_timestamp(input: &str, picture: &str) -> SqlResult<i64> {
    let nodes = parse_picture(picture);
    let mut p = Parsed::default();
    let mut rest = input;
    for (i, node) in nodes.iter().enumerate() {
        match node {
            Node::Literal(c) if c.is_whitespace() => {
                rest = rest.trim_start();
            }
            Node::Literal(c) if is_separator(*c) => {
                // A separator matches any one separator of the input, or
                // none at all.
                rest = rest.trim_start();
                if let Some(next) = rest.chars().next().filter(|n| is_separator(*n)) {
                    rest = &rest[next.len_utf8()..];
                }
            }
            Node::Literal(_) => {
                if let Some(next) = rest.chars().next() {
                    rest = &rest[next.len_utf8()..];
                }
            }
            Node::Quoted(text) => {
                for _ in text.chars() {
                    if let Some(next) = rest.chars().next() {
                        rest = &rest[next.len_utf8()..];
                    }
                }
            }
            Node::Pattern { pat, text, .. } => {
                rest = rest.trim_start();
                let next_is_digit_field = matches!(
                    nodes.get(i + 1),
                    Some(Node::Pattern { pat, .. }) if reads_digits(*pat)
                );
                rest = read_pattern(*pat, text, rest, next_is_digit_field, &mut p)?;
            }
        }
    }
    assemble(&p, input)
}

fn reads_digits(pat: Pat) -> bool {
    !matches!(
        pat,
        Pat::Meridiem { .. }
            | Pat::Era { .. }
            | Pat::DayName
            | Pat::DayAbbrev
            | Pat::MonthName
            | Pat::MonthAbbrev
            | Pat::Fx
    )
}

/// The width a numeric pattern reads, at most.
fn width(pat: Pat) -> usize {
    match pat {
        Pat::DayOfYear | Pat::IsoDayOfYear | Pat::Millis => 3,
        Pat::DayOfWeek | Pat::IsoDayOfWeek | Pat::Quarter | Pat::WeekOfMonth => 1,
        Pat::Micros => 6,
        Pat::Julian | Pat::SecondsOfDay | Pat::YearComma => usize::MAX,
        Pat::Year(n) | Pat::IsoYear(n) => usize::from(n),
        _ => 2,
    }
}

fn read_pattern<'a>(
    pat: Pat,
    text: &str,
    rest: &'a str,
    next_is_digit_field: bool,
    p: &mut Parsed,
) -> SqlResult<&'a str> {
    if let Some(iso) = convention(pat) {
        if p.iso.is_some_and(|seen| seen != iso) {
            return Err(SqlError::Data {
                state: SqlState::INVALID_DATETIME_FORMAT,
                message: "invalid combination of date conventions".into(),
            });
        }
        p.iso = Some(iso);
    }
    let upper = rest.to_ascii_uppercase();
    let word = |options: &[&str]| -> Option<usize> {
        options
            .iter()
            .find(|o| upper.starts_with(&o.to_ascii_uppercase()))
            .map(|o| o.len())
    };
    match pat {
        Pat::Fx => return Ok(rest),
        Pat::Meridiem { .. } => {
            let len = word(&["A.M.", "AM"])
                .map(|l| (l, false))
                .or_else(|| word(&["P.M.", "PM"]).map(|l| (l, true)));
            let Some((len, pm)) = len else {
                return Err(invalid_value(rest, text));
            };
            p.pm = Some(pm);
            return Ok(&rest[len..]);
        }
        Pat::Era { .. } => {
            let len = word(&["A.D.", "AD"])
                .map(|l| (l, false))
                .or_else(|| word(&["B.C.", "BC"]).map(|l| (l, true)));
            let Some((len, bc)) = len else {
                return Err(invalid_value(rest, text));
            };
            p.bc = bc;
            return Ok(&rest[len..]);
        }
        Pat::MonthName | Pat::MonthAbbrev => {
            let abbrev = pat == Pat::MonthAbbrev;
            for (m, full) in MONTHS.iter().enumerate() {
                let name = if abbrev { &full[..3] } else { full };
                if upper.starts_with(&name.to_ascii_uppercase()) {
                    p.month = Some(m as i64 + 1);
                    return Ok(&rest[name.len()..]);
                }
            }
            return Err(invalid_value(rest, text));
        }
        Pat::DayName | Pat::DayAbbrev => {
            let abbrev = pat == Pat::DayAbbrev;
            for full in DAYS {
                let name = if abbrev { &full[..3] } else { full };
                if upper.starts_with(&name.to_ascii_uppercase()) {
                    // The day of the week does not decide the date.
                    return Ok(&rest[name.len()..]);
                }
            }
            return Err(invalid_value(rest, text));
        }
        _ => {}
    }
    let four_digit_year = matches!(pat, Pat::Year(4) | Pat::IsoYear(4));
    let digits_allowed = if four_digit_year && !next_is_digit_field {
        usize::MAX
    } else {
        width(pat)
    };
    let (value, used) = if pat == Pat::YearComma {
        let digits: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .collect();
        let n = digits
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .parse::<i64>()
            .ok();
        (n, digits.len())
    } else {
        let len = rest
            .char_indices()
            .take_while(|(i, c)| *i < digits_allowed && c.is_ascii_digit())
            .count();
        (rest[..len].parse::<i64>().ok(), len)
    };
    let Some(value) = value else {
        let shown: String = rest
            .chars()
            .take(width(pat).min(rest.len().max(1)))
            .collect();
        return Err(invalid_value(&shown, text));
    };
    match pat {
        Pat::Year(n) | Pat::IsoYear(n) => {
            // Two digits mean the year nearest 2020, as in PostgreSQL.
            p.year = Some(match n {
                2 if used <= 2 => {
                    if value < 70 {
                        2000 + value
                    } else {
                        1900 + value
                    }
                }
                3 if used <= 3 => {
                    if value < 100 {
                        2000 + value
                    } else {
                        1000 + value
                    }
                }
                1 if used == 1 => 2000 + value,
                _ => value,
            })
        }
        Pat::YearComma => p.year = Some(value),
        Pat::Century => {}
        Pat::Month => p.month = Some(value),
        Pat::Day => p.day = Some(value),
        Pat::DayOfYear => p.doy = Some(value),
        Pat::Julian => p.julian = Some(value),
        Pat::Hour24 => p.hour = value,
        Pat::Hour12 => {
            p.hour = value;
            p.hour12 = true;
        }
        Pat::IsoWeek => p.iso_week = Some(value),
        Pat::IsoDayOfWeek => p.iso_dow = Some(value),
        Pat::IsoDayOfYear => p.iso_doy = Some(value),
        Pat::Minute => p.minute = value,
        Pat::Second => p.second = value,
        Pat::Millis => p.micros = value * 10i64.pow(3 - used as u32) * 1000,
        Pat::Micros => p.micros = value * 10i64.pow(6 - used as u32),
        Pat::SecondsOfDay => {
            p.hour = value / 3600;
            p.minute = value / 60 % 60;
            p.second = value % 60;
        }
        _ => {}
    }
    Ok(&rest[used..])
}

fn out_of_range(input: &str) -> SqlError {
    SqlError::Type(TypeError::DatetimeFieldOverflow {
        input: input.to_owned(),
    })
}

fn assemble(p: &Parsed, input: &str) -> SqlResult<i64> {
    let mut hour = p.hour;
    if p.hour12 || p.pm.is_some() {
        if !(1..=12).contains(&hour) {
            return Err(SqlError::Data {
                state: SqlState::DATETIME_FIELD_OVERFLOW,
                message: format!("hour \"{hour}\" is invalid for the 12-hour clock"),
            });
        }
        hour %= 12;
        if p.pm == Some(true) {
            hour += 12;
        }
    }
    let time = hour
        .checked_mul(3_600_000_000)
        .and_then(|t| t.checked_add(p.minute.checked_mul(60_000_000)?))
        .and_then(|t| t.checked_add(p.second.checked_mul(1_000_000)?))
        .and_then(|t| t.checked_add(p.micros))
        .filter(|_| hour < 24 && p.minute < 60 && p.second < 60)
        .ok_or_else(|| out_of_range(input))?;
    let day_start = if let Some(j) = p.julian {
        j.checked_sub(2_451_545)
            .and_then(|d| d.checked_mul(USECS_PER_DAY))
            .ok_or_else(|| out_of_range(input))?
    } else {
        // Without a year field the year is 0, 1 BC, as in PostgreSQL.
        let year = match p.year {
            None => 0,
            Some(y) if p.bc => 1 - y,
            Some(y) => y,
        };
        // make_timestamp reads negative years as BC.
        let pg_year = if year <= 0 { year - 1 } else { year };
        let iso_day = match (p.iso_week, p.iso_doy) {
            (Some(week), _) => Some((week - 1) * 7 + p.iso_dow.unwrap_or(1) - 1),
            (None, Some(doy)) => Some(doy - 1),
            (None, None) => None,
        };
        if let Some(offset) = iso_day {
            // An ISO week date counts from the Monday of week 1.
            return iso_year_start(year)
                .checked_add(offset)
                .and_then(|d| d.checked_mul(USECS_PER_DAY))
                .and_then(|t| t.checked_add(time))
                .filter(|t| (TIMESTAMP_MIN..TIMESTAMP_END).contains(t))
                .ok_or_else(|| out_of_range(input));
        }
        match (p.doy, p.month, p.day) {
            (Some(doy), None, None) => make_timestamp(pg_year, 1, 1, 0, 0, 0)
                .filter(|_| (1..=366).contains(&doy))
                .and_then(|t| t.checked_add((doy - 1) * USECS_PER_DAY))
                .ok_or_else(|| out_of_range(input))?,
            (_, month, day) => {
                make_timestamp(pg_year, month.unwrap_or(1), day.unwrap_or(1), 0, 0, 0)
                    .ok_or_else(|| out_of_range(input))?
            }
        }
    };
    day_start
        .checked_add(time)
        .filter(|t| (TIMESTAMP_MIN..TIMESTAMP_END).contains(t))
        .ok_or_else(|| out_of_range(input))
}

#[cfg(test)]
mod tests {
    use super::super::tests::ts;
    use super::*;

    #[test]
    fn reading_skips_separators_and_names() {
        assert_eq!(
            parse_timestamp("05 Mar 2024 8:07 PM", "DD Mon YYYY HH12:MI AM").unwrap(),
            ts("2024-03-05 20:07:00")
        );
        assert_eq!(
            parse_timestamp("2024/03/05", "YYYY-MM-DD").unwrap(),
            ts("2024-03-05")
        );
        assert_eq!(
            parse_timestamp("20240305", "YYYYMMDD").unwrap(),
            ts("2024-03-05")
        );
    }

    #[test]
    fn reading_rejects_bad_fields() {
        let code = |r: SqlResult<i64>| r.unwrap_err().sqlstate().code().to_owned();
        assert_eq!(code(parse_timestamp("2024-13-01", "YYYY-MM-DD")), "22008");
        assert_eq!(code(parse_timestamp("2024-02-30", "YYYY-MM-DD")), "22008");
        assert_eq!(code(parse_timestamp("2024-xx-01", "YYYY-MM-DD")), "22007");
        assert_eq!(code(parse_timestamp("13:00 PM", "HH12:MI PM")), "22008");
        assert_eq!(code(parse_timestamp("2006-42", "YYYY-IW")), "22007");
        assert_eq!(
            code(parse_timestamp("2006-42-4 10", "IYYY-IW-ID MM")),
            "22007"
        );
    }

    #[test]
    fn iso_week_dates_read_from_the_monday_of_week_1() {
        let read = |s: &str, pic: &str| parse_timestamp(s, pic).unwrap();
        assert_eq!(read("2006-42-4", "IYYY-IW-ID"), ts("2006-10-19"));
        assert_eq!(read("2020 001", "IYYY IDDD"), ts("2019-12-30"));
        assert_eq!(read("2020 371", "IYYY IDDD"), ts("2021-01-03"));
        assert_eq!(read("24-01-1", "IY-IW-ID"), ts("2024-01-01"));
        assert_eq!(read("2024 10", "IYYY IW"), ts("2024-03-04"));
        // Without a week or day the ISO year reads as a plain year.
        assert_eq!(read("2020", "IYYY"), ts("2020-01-01"));
    }
}
