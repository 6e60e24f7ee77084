//! Time zones: the session's (`SET TIME ZONE`), `AT TIME ZONE`'s and the
//! ones a `timestamptz` literal names.
//!
//! A zone is either a fixed offset or a rule set from the IANA database.
//! The database is the one `jiff` bundles into the binary, not the host's
//! `/usr/share/zoneinfo`, so every machine answers alike.
//!
//! The session zone is kept per thread: a statement runs on one thread from
//! start to end, and [`use_session_zone`] installs its session's zone before
//! it starts. The zone stays after the statement, so the rows it returned
//! print (see [`Value::to_pg_text`](super::Value::to_pg_text)) in the zone
//! of the session that produced them; a server that prints rows on another
//! thread installs that zone there with [`with_session_zone`].

use std::cell::RefCell;
use std::sync::Arc;

use jiff::tz::{AmbiguousOffset, TimeZone};

use super::datetime::{TIMESTAMP_END, TIMESTAMP_MIN, USECS_PER_SEC};
use super::error::TypeError;

/// Seconds from 1970-01-01 (jiff's epoch) to 2000-01-01 (PostgreSQL's).
const PG_EPOCH_UNIX_SECS: i64 = 946_684_800;

/// A time zone.
#[derive(Debug, Clone)]
pub struct Zone {
    /// The name SHOW and `current_setting` report.
    name: String,
    rule: Rule,
}

#[derive(Debug, Clone)]
enum Rule {
    /// Seconds east of UTC.
    Fixed(i64),
    Tz(TimeZone),
}

/// The abbreviations PostgreSQL's `Default` abbreviation set reads as fixed
/// offsets (in seconds east) in `AT TIME ZONE` and in timestamp literals;
/// the common ones only.
const ABBREVIATIONS: &[(&str, i64)] = &[
    ("utc", 0),
    ("gmt", 0),
    ("z", 0),
    ("zulu", 0),
    ("ut", 0),
    ("wet", 0),
    ("west", 3600),
    ("bst", 3600),
    ("cet", 3600),
    ("cest", 7200),
    ("met", 3600),
    ("mest", 7200),
    ("eet", 7200),
    ("eest", 10800),
    ("msk", 10800),
    ("ist", 7200),
    ("jst", 32400),
    ("kst", 32400),
    ("awst", 28800),
    ("acst", 34200),
    ("aest", 36000),
    ("aedt", 39600),
    ("nzst", 43200),
    ("nzdt", 46800),
    ("ast", -14400),
    ("adt", -10800),
    ("est", -18000),
    ("edt", -14400),
    ("cst", -21600),
    ("cdt", -18000),
    ("mst", -25200),
    ("mdt", -21600),
    ("pst", -28800),
    ("pdt", -25200),
    ("akst", -32400),
    ("akdt", -28800),
    ("hst", -36000),
];

impl Zone {
    /// UTC, the default session zone.
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".to_owned(),
            rule: Rule::Fixed(0),
        }
    }

    /// A zone the way `AT TIME ZONE` and timestamp literals read its name:
    /// an abbreviation (`EST`), a database name (`Europe/Paris`, any case),
    /// or a POSIX specification, in which `+02` and `UTC+3` count hours
    /// *west* of Greenwich.
    pub fn by_name(name: &str) -> Option<Zone> {
        let trimmed = name.trim();
        let lower = trimmed.to_ascii_lowercase();
        if let Some((_, offset)) = ABBREVIATIONS.iter().find(|(a, _)| *a == lower) {
            return Some(Zone::fixed(trimmed.to_uppercase(), *offset));
        }
        if let Some(east) = numeric_offset(trimmed) {
            return Some(Zone::fixed(trimmed.to_owned(), -east));
        }
        Zone::from_database(trimmed).or_else(|| {
            TimeZone::posix(trimmed).ok().map(|tz| Zone {
                name: trimmed.to_owned(),
                rule: Rule::Tz(tz),
            })
        })
    }

    /// A zone the way `SET TIME ZONE` reads its value: a plain number is
    /// hours *east* of Greenwich (ISO's sign), anything else a database name
    /// or POSIX specification.
    pub fn for_setting(value: &str) -> Option<Zone> {
        let trimmed = value.trim();
        if let Ok(hours) = trimmed.parse::<f64>()
            && hours.is_finite()
            && hours.abs() < 168.0
        {
            let east = (hours * 3600.0).round() as i64;
            return Some(Zone::fixed(posix_name(east), east));
        }
        Zone::from_database(trimmed).or_else(|| {
            TimeZone::posix(trimmed).ok().map(|tz| Zone {
                name: trimmed.to_owned(),
                rule: Rule::Tz(tz),
            })
        })
    }

    fn fixed(name: String, east: i64) -> Zone {
        Zone {
            name,
            rule: Rule::Fixed(east),
        }
    }

    fn from_database(name: &str) -> Option<Zone> {
        if name.is_empty() {
            return None;
        }
        let tz = jiff::tz::db().get(name).ok()?;
        // The database's spelling, as PostgreSQL shows `america/new_york`.
        let name = tz.iana_name().unwrap_or(name).to_owned();
        Some(Zone {
            name,
            rule: Rule::Tz(tz),
        })
    }

    /// The name SHOW reports.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The offset east of UTC, in seconds, in force at `utc` (microseconds
    /// since 2000-01-01 UTC).
    pub fn offset_at(&self, utc: i64) -> i64 {
        match &self.rule {
            Rule::Fixed(east) => *east,
            Rule::Tz(tz) => i64::from(tz.to_offset(jiff_timestamp(utc)).seconds()),
        }
    }

    /// The offset east of UTC, in seconds, of the wall-clock time `local`
    /// (microseconds since 2000-01-01) in this zone. As in PostgreSQL, a
    /// time a spring-forward skips takes the offset before the jump, and a
    /// time a fall-back repeats the offset after it.
    pub fn offset_of_local(&self, local: i64) -> i64 {
        match &self.rule {
            Rule::Fixed(east) => *east,
            Rule::Tz(tz) => {
                let civil = jiff_timestamp(local).to_zoned(TimeZone::UTC).datetime();
                let offset = match tz.to_ambiguous_timestamp(civil).offset() {
                    AmbiguousOffset::Unambiguous { offset } => offset,
                    AmbiguousOffset::Gap { before, .. } => before,
                    AmbiguousOffset::Fold { after, .. } => after,
                };
                i64::from(offset.seconds())
            }
        }
    }

    /// The wall-clock time in this zone of the instant `utc`, keeping the
    /// infinities.
    pub fn to_local(&self, utc: i64) -> i64 {
        if is_infinite(utc) {
            return utc;
        }
        utc.saturating_add(self.offset_at(utc) * USECS_PER_SEC)
    }

    /// The instant of the wall-clock time `local` in this zone, keeping the
    /// infinities.
    pub fn to_utc(&self, local: i64) -> Result<i64, TypeError> {
        if is_infinite(local) {
            return Ok(local);
        }
        local
            .checked_sub(self.offset_of_local(local) * USECS_PER_SEC)
            .filter(|t| (TIMESTAMP_MIN..TIMESTAMP_END).contains(t))
            .ok_or(TypeError::DatetimeOutOfRange {
                type_name: "timestamp",
            })
    }
}

fn is_infinite(t: i64) -> bool {
    t == i64::MAX || t == i64::MIN
}

/// An instant for jiff, clamped to the years jiff covers (-9999..=9999);
/// past them the rules of the last covered year go on.
fn jiff_timestamp(pg_micros: i64) -> jiff::Timestamp {
    let unix = (pg_micros / USECS_PER_SEC).saturating_add(PG_EPOCH_UNIX_SECS);
    let unix = unix.clamp(
        jiff::Timestamp::MIN.as_second(),
        jiff::Timestamp::MAX.as_second(),
    );
    jiff::Timestamp::from_second(unix).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// `±hh[:mm[:ss]]` or `±hhmm` as seconds east (ISO's sign), the form of the
/// numeric zones AT TIME ZONE reads the POSIX way.
fn numeric_offset(s: &str) -> Option<i64> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let mut parts = rest.split(':');
    let first = parts.next()?;
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, mut m) = match first.len() {
        1 | 2 => (first.parse::<i64>().ok()?, 0),
        4 => {
            let n = first.parse::<i64>().ok()?;
            (n / 100, n % 100)
        }
        _ => return None,
    };
    let mut sec = 0;
    if first.len() <= 2 {
        if let Some(mm) = parts.next() {
            m = mm.parse().ok()?;
        }
        if let Some(ss) = parts.next() {
            sec = ss.parse().ok()?;
        }
    }
    if parts.next().is_some() || h > 15 || m > 59 || sec > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60 + sec))
}

/// PostgreSQL's name for a numeric `SET TIME ZONE`: `-5` is `<-05>+05`.
fn posix_name(east: i64) -> String {
    format!("<{}>{}", offset_text(east), offset_text(-east))
}

/// An offset as timestamptz output shows it: `+00`, `-05`, `+05:30`,
/// `+05:21:10`.
pub(crate) fn offset_text(east: i64) -> String {
    let sign = if east < 0 { '-' } else { '+' };
    let abs = east.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    match (m, s) {
        (0, 0) => format!("{sign}{h:02}"),
        (_, 0) => format!("{sign}{h:02}:{m:02}"),
        _ => format!("{sign}{h:02}:{m:02}:{s:02}"),
    }
}

thread_local! {
    static SESSION_ZONE: RefCell<Arc<Zone>> = RefCell::new(Arc::new(Zone::utc()));
}

/// The zone of the session whose statement this thread runs (or ran last).
pub fn session_zone() -> Arc<Zone> {
    SESSION_ZONE.with(|z| Arc::clone(&z.borrow()))
}

/// Installs the zone a session's `timezone` setting names (`None`: UTC)
/// for the statement about to run on this thread. The setting was checked
/// when it was SET, so a name that no longer resolves falls back to UTC.
pub fn use_session_zone(setting: Option<&str>) {
    let name = setting.unwrap_or("UTC");
    SESSION_ZONE.with(|z| {
        let mut current = z.borrow_mut();
        if current.name != name {
            let zone = Zone::for_setting(name).unwrap_or_else(Zone::utc);
            // A database name comes back in its own spelling; keep the
            // setting's, so the next statement finds it unchanged.
            *current = Arc::new(Zone {
                name: name.to_owned(),
                rule: zone.rule,
            });
        }
    });
}

/// Runs `f` with `zone` as this thread's session zone, restoring the one
/// before afterwards.
pub fn with_session_zone<R>(zone: Arc<Zone>, f: impl FnOnce() -> R) -> R {
    let before = SESSION_ZONE.with(|z| std::mem::replace(&mut *z.borrow_mut(), zone));
    let r = f();
    SESSION_ZONE.with(|z| *z.borrow_mut() = before);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000;
    /// 2024-03-10 00:00 (the US spring-forward day) in PostgreSQL micros.
    const MAR_10_2024: i64 = 8835 * 24 * HOUR;

    #[test]
    fn database_names_resolve_in_any_case_with_their_offsets() {
        let ny = Zone::by_name("america/new_york").expect("bundled zone");
        assert_eq!(ny.name(), "America/New_York");
        // 06:00 UTC is 01:00 EST; 08:00 UTC is 04:00 EDT.
        assert_eq!(ny.offset_at(MAR_10_2024 + 6 * HOUR), -5 * 3600);
        assert_eq!(ny.offset_at(MAR_10_2024 + 8 * HOUR), -4 * 3600);
    }

    #[test]
    fn skipped_and_repeated_wall_times_follow_postgres() {
        let ny = Zone::by_name("America/New_York").expect("bundled zone");
        // 02:30 does not exist on 2024-03-10: read with EST, it is 07:30 UTC.
        let gap = MAR_10_2024 + 2 * HOUR + HOUR / 2;
        assert_eq!(ny.to_utc(gap).unwrap(), MAR_10_2024 + 7 * HOUR + HOUR / 2);
        // 01:30 happens twice on 2024-11-03: PostgreSQL takes EST (-05).
        let nov_3 = MAR_10_2024 + 238 * 24 * HOUR;
        assert_eq!(ny.offset_of_local(nov_3 + HOUR + HOUR / 2), -5 * 3600);
    }

    #[test]
    fn numeric_zones_count_west_in_at_time_zone_and_east_in_set() {
        assert_eq!(Zone::by_name("+02").unwrap().offset_at(0), -7200);
        assert_eq!(Zone::by_name("UTC+3").unwrap().offset_at(0), -10800);
        assert_eq!(Zone::by_name("est").unwrap().offset_at(0), -18000);
        let set = Zone::for_setting("-5").unwrap();
        assert_eq!(set.offset_at(0), -18000);
        assert_eq!(set.name(), "<-05>+05");
        assert!(Zone::by_name("Foo/Bar").is_none());
        assert!(Zone::for_setting("Foo/Bar").is_none());
    }

    #[test]
    fn offsets_print_like_postgres() {
        assert_eq!(offset_text(0), "+00");
        assert_eq!(offset_text(-4 * 3600), "-04");
        assert_eq!(offset_text(5 * 3600 + 1800), "+05:30");
        assert_eq!(offset_text(5 * 3600 + 21 * 60 + 10), "+05:21:10");
    }

    #[test]
    fn the_session_zone_is_per_thread_and_scoped() {
        use_session_zone(Some("Europe/Paris"));
        assert_eq!(session_zone().offset_at(0), 3600);
        let inner = with_session_zone(Arc::new(Zone::utc()), || session_zone().offset_at(0));
        assert_eq!(inner, 0);
        assert_eq!(session_zone().name(), "Europe/Paris");
        use_session_zone(None);
        assert_eq!(session_zone().offset_at(0), 0);
    }
}
