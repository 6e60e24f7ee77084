//! PostgreSQL's template patterns for dates and times (formatting.c):
//! `to_char(timestamp, text)` writes a value through a picture such as
//! `'YYYY-MM-DD HH24:MI:SS'`, and `to_date`/`to_timestamp(text, text)`
//! read one back. Numbers have their own pictures ([`super::number_picture`]).
//!
//! A picture is split once into [`Node`]s: template patterns, with the
//! `FM` prefix and `TH` suffix that modify them, and literal text (double
//! quotes make anything literal). Names of months and days are English,
//! as under PostgreSQL's C locale. Reading text back is in [`read`].

mod read;

pub(crate) use read::parse_timestamp;

use crate::types::{day_of_ymd, iso_week, ymd_of};

const USECS_PER_DAY: i64 = 86_400_000_000;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A template pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pat {
    /// `AM`, `PM` and their dotted forms
    Meridiem { dots: bool },
    /// `AD`, `BC` and their dotted forms
    Era { dots: bool },
    /// `CC`
    Century,
    /// `DAY`, `Day`, `day`
    DayName,
    /// `DY`, `Dy`, `dy`
    DayAbbrev,
    /// `DDD`
    DayOfYear,
    /// `DD`
    Day,
    /// `D`: Sunday is 1
    DayOfWeek,
    /// `ID`: Monday is 1
    IsoDayOfWeek,
    /// `IDDD`: the day of the ISO year, 1 to 371
    IsoDayOfYear,
    /// `IW`: the ISO week, 1 to 53
    IsoWeek,
    /// `IYYY`, `IYY`, `IY`, `I`: the last n digits of the ISO year
    IsoYear(u8),
    /// `FX`: exact matching when reading; accepted and ignored
    Fx,
    /// `HH24`
    Hour24,
    /// `HH`, `HH12`
    Hour12,
    /// `J`
    Julian,
    /// `MI`
    Minute,
    /// `MM`
    Month,
    /// `MONTH`, `Month`, `month`
    MonthName,
    /// `MON`, `Mon`, `mon`
    MonthAbbrev,
    /// `MS`
    Millis,
    /// `Q`
    Quarter,
    /// `SSSS`, `SSSSS`
    SecondsOfDay,
    /// `SS`
    Second,
    /// `US`
    Micros,
    /// `WW`
    WeekOfYear,
    /// `W`
    WeekOfMonth,
    /// `Y,YYY`
    YearComma,
    /// `YYYY`, `YYY`, `YY`, `Y`: the last n digits
    Year(u8),
}

/// How a pattern's letters were written: `MON` prints `FEB`, `Mon`
/// prints `Feb`, `mon` prints `feb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Upper,
    Capital,
    Lower,
}

/// The patterns, longest first where one is a prefix of another, in the
/// spellings PostgreSQL accepts (upper and lower case; capitalized for
/// names).
const PATTERNS: &[(&str, Pat)] = &[
    ("A.D.", Pat::Era { dots: true }),
    ("A.M.", Pat::Meridiem { dots: true }),
    ("AD", Pat::Era { dots: false }),
    ("AM", Pat::Meridiem { dots: false }),
    ("B.C.", Pat::Era { dots: true }),
    ("BC", Pat::Era { dots: false }),
    ("CC", Pat::Century),
    ("DAY", Pat::DayName),
    ("DDD", Pat::DayOfYear),
    ("DD", Pat::Day),
    ("DY", Pat::DayAbbrev),
    ("Day", Pat::DayName),
    ("Dy", Pat::DayAbbrev),
    ("D", Pat::DayOfWeek),
    ("FX", Pat::Fx),
    ("HH24", Pat::Hour24),
    ("HH12", Pat::Hour12),
    ("HH", Pat::Hour12),
    ("IDDD", Pat::IsoDayOfYear),
    ("ID", Pat::IsoDayOfWeek),
    ("IW", Pat::IsoWeek),
    ("IYYY", Pat::IsoYear(4)),
    ("IYY", Pat::IsoYear(3)),
    ("IY", Pat::IsoYear(2)),
    ("I", Pat::IsoYear(1)),
    ("J", Pat::Julian),
    ("MI", Pat::Minute),
    ("MM", Pat::Month),
    ("MONTH", Pat::MonthName),
    ("MON", Pat::MonthAbbrev),
    ("MS", Pat::Millis),
    ("Month", Pat::MonthName),
    ("Mon", Pat::MonthAbbrev),
    ("P.M.", Pat::Meridiem { dots: true }),
    ("PM", Pat::Meridiem { dots: false }),
    ("Q", Pat::Quarter),
    ("SSSSS", Pat::SecondsOfDay),
    ("SSSS", Pat::SecondsOfDay),
    ("SS", Pat::Second),
    ("US", Pat::Micros),
    ("WW", Pat::WeekOfYear),
    ("W", Pat::WeekOfMonth),
    ("Y,YYY", Pat::YearComma),
    ("YYYY", Pat::Year(4)),
    ("YYY", Pat::Year(3)),
    ("YY", Pat::Year(2)),
    ("Y", Pat::Year(1)),
];

/// One element of a parsed picture.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Pattern {
        pat: Pat,
        /// The pattern as written, for error messages.
        text: &'static str,
        case: Case,
        /// `FM`: no padding.
        fill: bool,
        /// `TH`/`th`: an ordinal suffix, upper case when `Some(true)`.
        ordinal: Option<bool>,
    },
    Literal(char),
    /// Double-quoted text: printed as is, skipped when reading.
    Quoted(String),
}

/// The pattern spelled at the start of `s`, in any accepted case.
fn pattern_at(s: &str) -> Option<(Pat, &'static str, Case, usize)> {
    for &(name, pat) in PATTERNS {
        let Some(head) = s.get(..name.len()) else {
            continue;
        };
        let case = if head == name {
            if name.chars().skip(1).any(|c| c.is_ascii_lowercase()) {
                Case::Capital
            } else {
                Case::Upper
            }
        } else if head == name.to_ascii_lowercase()
            && name.chars().skip(1).all(|c| !c.is_ascii_lowercase())
        {
            Case::Lower
        } else {
            continue;
        };
        return Some((pat, name, case, name.len()));
    }
    None
}

fn parse_picture(picture: &str) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut rest = picture;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            let mut text = String::new();
            let mut chars = rest[1..].char_indices();
            let mut end = rest.len();
            while let Some((i, ch)) = chars.next() {
                match ch {
                    '"' => {
                        end = i + 2;
                        break;
                    }
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            text.push(escaped);
                        }
                    }
                    _ => text.push(ch),
                }
            }
            nodes.push(Node::Quoted(text));
            rest = rest.get(end..).unwrap_or("");
            continue;
        }
        if c == '\\' && rest[1..].starts_with('"') {
            nodes.push(Node::Literal('"'));
            rest = &rest[2..];
            continue;
        }
        let fill = rest.starts_with("FM") || rest.starts_with("fm");
        let after_fill = if fill { &rest[2..] } else { rest };
        if let Some((pat, text, case, len)) = pattern_at(after_fill) {
            let after = &after_fill[len..];
            let ordinal = if after.starts_with("TH") {
                Some(true)
            } else if after.starts_with("th") {
                Some(false)
            } else {
                None
            };
            nodes.push(Node::Pattern {
                pat,
                text,
                case,
                fill,
                ordinal,
            });
            rest = if ordinal.is_some() {
                &after[2..]
            } else {
                after
            };
            continue;
        }
        if fill {
            // A lone FM modifies nothing.
            rest = after_fill;
            continue;
        }
        nodes.push(Node::Literal(c));
        rest = &rest[c.len_utf8()..];
    }
    nodes
}

/// The fields of a timestamp that pictures print.
struct Fields {
    /// Astronomical: 0 is 1 BC.
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
    micros: i64,
    /// 0 is Sunday.
    dow: i64,
    doy: i64,
    julian: i64,
    /// ISO 8601's year, week and day of the year (counted from the Monday
    /// of week 1).
    iso_year: i64,
    iso_week: i64,
    iso_doy: i64,
}

fn fields_of(ts: i64) -> Fields {
    let day_count = ts.div_euclid(USECS_PER_DAY);
    let time = ts.rem_euclid(USECS_PER_DAY);
    let (year, month, day) = ymd_of(day_count);
    let (iso_year, iso_week) = iso_week(day_count);
    Fields {
        year,
        month,
        day,
        hour: time / 3_600_000_000,
        minute: time / 60_000_000 % 60,
        second: time / 1_000_000 % 60,
        micros: time % 1_000_000,
        // 2000-01-01 was a Saturday.
        dow: (day_count + 6).rem_euclid(7),
        doy: day_count - day_of_ymd(year, 1, 1) + 1,
        // 2000-01-01 is Julian day 2451545.
        julian: day_count + 2_451_545,
        iso_year,
        iso_week,
        iso_doy: day_count - iso_year_start(iso_year) + 1,
    }
}

/// The Monday that starts ISO week 1 of `iso_year` (the week with the
/// year's first Thursday, so the one with January 4th), as days since
/// 2000-01-01.
pub(super) fn iso_year_start(iso_year: i64) -> i64 {
    let jan4 = day_of_ymd(iso_year, 1, 4);
    // 2000-01-01 was a Saturday: Monday counts 0.
    jan4 - (jan4 + 5).rem_euclid(7)
}

fn ordinal_suffix(n: i64, upper: bool) -> &'static str {
    let n = n.abs();
    let s = if (11..=13).contains(&(n % 100)) {
        "th"
    } else {
        match n % 10 {
            1 => "st",
            2 => "nd",
            3 => "rd",
            _ => "th",
        }
    };
    match (upper, s) {
        (false, s) => s,
        (true, "st") => "ST",
        (true, "nd") => "ND",
        (true, "rd") => "RD",
        (true, _) => "TH",
    }
}

fn cased(name: &str, case: Case) -> String {
    match case {
        Case::Upper => name.to_ascii_uppercase(),
        Case::Lower => name.to_ascii_lowercase(),
        Case::Capital => name.to_owned(),
    }
}

/// `to_char(timestamp, picture)`; `None` for an infinite timestamp, which
/// PostgreSQL formats as NULL.
pub(crate) fn timestamp_to_char(ts: i64, picture: &str) -> Option<String> {
    if ts == i64::MAX || ts == i64::MIN {
        return None;
    }
    let f = fields_of(ts);
    let bc = f.year <= 0;
    let year = if bc { 1 - f.year } else { f.year };
    let mut out = String::new();
    for node in parse_picture(picture) {
        let (pat, case, fill, ordinal) = match node {
            Node::Literal(c) => {
                out.push(c);
                continue;
            }
            Node::Quoted(text) => {
                out.push_str(&text);
                continue;
            }
            Node::Pattern {
                pat,
                case,
                fill,
                ordinal,
                ..
            } => (pat, case, fill, ordinal),
        };
        let number = |n: i64, width: usize| {
            if fill {
                n.to_string()
            } else {
                format!("{n:0width$}")
            }
        };
        let name = |full: &str, abbrev: bool| {
            if abbrev {
                cased(&full[..3], case)
            } else if fill {
                cased(full, case)
            } else {
                format!("{:<9}", cased(full, case))
            }
        };
        let (text, value) = match pat {
            Pat::Meridiem { dots } => {
                let pm = f.hour >= 12;
                let s = match (pm, dots) {
                    (false, false) => "AM",
                    (true, false) => "PM",
                    (false, true) => "A.M.",
                    (true, true) => "P.M.",
                };
                (cased(s, case), None)
            }
            Pat::Era { dots } => {
                let s = match (bc, dots) {
                    (false, false) => "AD",
                    (true, false) => "BC",
                    (false, true) => "A.D.",
                    (true, true) => "B.C.",
                };
                (cased(s, case), None)
            }
            Pat::Century => {
                let cc = (year + 99) / 100;
                (number(if bc { -cc } else { cc }, 2), Some(cc))
            }
            Pat::DayName => (name(DAYS[f.dow as usize % 7], false), None),
            Pat::DayAbbrev => (name(DAYS[f.dow as usize % 7], true), None),
            Pat::DayOfYear => (number(f.doy, 3), Some(f.doy)),
            Pat::Day => (number(i64::from(f.day), 2), Some(i64::from(f.day))),
            Pat::DayOfWeek => (number(f.dow + 1, 1), Some(f.dow + 1)),
            Pat::IsoDayOfWeek => {
                let id = if f.dow == 0 { 7 } else { f.dow };
                (number(id, 1), Some(id))
            }
            Pat::IsoDayOfYear => (number(f.iso_doy, 3), Some(f.iso_doy)),
            Pat::IsoWeek => (number(f.iso_week, 2), Some(f.iso_week)),
            Pat::IsoYear(n) => {
                let iso = if f.iso_year <= 0 {
                    1 - f.iso_year
                } else {
                    f.iso_year
                };
                let last = iso % 10i64.pow(u32::from(n));
                (number(last, usize::from(n)), Some(last))
            }
            Pat::Fx => (String::new(), None),
            Pat::Hour24 => (number(f.hour, 2), Some(f.hour)),
            Pat::Hour12 => {
                let h = match f.hour % 12 {
                    0 => 12,
                    h => h,
                };
                (number(h, 2), Some(h))
            }
            Pat::Julian => (f.julian.to_string(), Some(f.julian)),
            Pat::Minute => (number(f.minute, 2), Some(f.minute)),
            Pat::Month => (number(i64::from(f.month), 2), Some(i64::from(f.month))),
            Pat::MonthName => (name(MONTHS[f.month as usize - 1], false), None),
            Pat::MonthAbbrev => (name(MONTHS[f.month as usize - 1], true), None),
            Pat::Millis => (number(f.micros / 1000, 3), Some(f.micros / 1000)),
            Pat::Quarter => {
                let q = (i64::from(f.month) - 1) / 3 + 1;
                (q.to_string(), Some(q))
            }
            Pat::SecondsOfDay => {
                let s = f.hour * 3600 + f.minute * 60 + f.second;
                (s.to_string(), Some(s))
            }
            Pat::Second => (number(f.second, 2), Some(f.second)),
            Pat::Micros => (number(f.micros, 6), Some(f.micros)),
            Pat::WeekOfYear => {
                let w = (f.doy - 1) / 7 + 1;
                (number(w, 2), Some(w))
            }
            Pat::WeekOfMonth => {
                let w = (i64::from(f.day) - 1) / 7 + 1;
                (w.to_string(), Some(w))
            }
            Pat::YearComma => (format!("{},{:03}", year / 1000, year % 1000), Some(year)),
            Pat::Year(4) => (number(year, 4), Some(year)),
            Pat::Year(n) => {
                let last = year % 10i64.pow(u32::from(n));
                (number(last, usize::from(n)), Some(last))
            }
        };
        out.push_str(&text);
        if let (Some(upper), Some(v)) = (ordinal, value) {
            out.push_str(ordinal_suffix(v, upper));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{DataType, Value, parse};

    /// The microseconds of timestamp text `s` (the reading tests use it too).
    pub(super) fn ts(s: &str) -> i64 {
        match parse(s, &DataType::Timestamp) {
            Ok(Value::Timestamp(t)) => t,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn patterns_print_fields_padded_unless_fm() {
        let t = ts("2024-03-05 08:07:06.5");
        assert_eq!(
            timestamp_to_char(t, "YYYY-MM-DD HH24:MI:SS.MS").as_deref(),
            Some("2024-03-05 08:07:06.500")
        );
        assert_eq!(
            timestamp_to_char(t, "FMMonth FMDDth, YYYY").as_deref(),
            Some("March 5th, 2024")
        );
        assert_eq!(
            timestamp_to_char(t, "Day|DY|mon|Q|\"Q\"").as_deref(),
            Some("Tuesday  |TUE|mar|1|Q")
        );
        assert_eq!(
            timestamp_to_char(t, "HH12 a.m.").as_deref(),
            Some("08 a.m.")
        );
        assert_eq!(timestamp_to_char(i64::MAX, "YYYY"), None);
    }

    #[test]
    fn iso_week_patterns_count_from_the_week_with_january_4th() {
        // 2024-12-30 is the Monday of 2025's first ISO week.
        assert_eq!(
            timestamp_to_char(ts("2024-12-30"), "IYYY-IW-ID IDDD IYY IY I").as_deref(),
            Some("2025-01-1 001 025 25 5")
        );
        // 2021-01-03 is the Sunday ending 2020's week 53.
        assert_eq!(
            timestamp_to_char(ts("2021-01-03"), "IYYY IW ID IDDD").as_deref(),
            Some("2020 53 7 371")
        );
        assert_eq!(
            timestamp_to_char(ts("2024-03-06"), "FMIW FMIDDD IWth").as_deref(),
            Some("10 66 10th")
        );
    }
}
