//! Extension conditions, FreeSWITCH style: every condition of an extension must hold
//! for its `actions` to run, otherwise its `anti_actions` run (or, when it has none,
//! the extension is skipped and the search goes on).
//!
//! ```toml
//! when = [
//!   { weekdays = "mon-fri", time = "08:00-18:00", tz = "Europe/London" },
//!   { dates = "2026-12-24..2026-12-26", tz = "Europe/London" },   # inclusive
//!   { caller = "^\\+44" },             # regex, or a `_` pattern such as "_0X."
//!   { var = "lang", equals = "fr" },   # or { var = "lang", regex = "^fr" }
//! ]
//! ```
//!
//! Time conditions are evaluated at `RouteContext::now` converted to `tz` (IANA name,
//! default `UTC`), so daylight saving time is that zone's. `time` is `start-end` with the
//! start included and the end excluded; `22:00-06:00` spans midnight, `24:00` is a valid
//! end. `weekdays` is a list or range of `mon tue wed thu fri sat sun` (`fri-mon` wraps).

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::pattern::{Matcher, PatternError};

/// A condition as written in TOML (one inline table of `when`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCondition {
    weekdays: Option<String>,
    time: Option<String>,
    dates: Option<String>,
    tz: Option<String>,
    caller: Option<String>,
    var: Option<String>,
    equals: Option<String>,
    regex: Option<String>,
}

/// Why a condition was rejected at load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum ConditionError {
    #[error("condition needs one of weekdays/time/dates, caller, or var")]
    Empty,
    #[error("condition mixes {0} and {1}; write them as two conditions")]
    Mixed(&'static str, &'static str),
    #[error("unknown time zone \"{0}\"")]
    BadTimeZone(String),
    #[error("bad weekdays \"{0}\" (want e.g. \"mon-fri\" or \"sat,sun\")")]
    BadWeekdays(String),
    #[error("bad time range \"{0}\" (want \"HH:MM-HH:MM\", start and end differ)")]
    BadTimeRange(String),
    #[error("bad date range \"{0}\" (want \"YYYY-MM-DD..YYYY-MM-DD\", start not after end)")]
    BadDateRange(String),
    #[error("var condition needs exactly one of equals or regex")]
    VarTest,
    #[error("caller: {0}")]
    Caller(PatternError),
    #[error("regex: {0}")]
    VarRegex(PatternError),
}

/// A time-of-day / day-of-week / date-range window in a time zone.
#[derive(Debug, Clone, Serialize)]
pub struct TimeWindow {
    pub tz: Tz,
    pub weekdays: Option<String>,
    pub time: Option<String>,
    pub dates: Option<String>,
    #[serde(skip)]
    days: [bool; 7],
    #[serde(skip)]
    minutes: Option<(u32, u32)>,
    #[serde(skip)]
    date_range: Option<(NaiveDate, NaiveDate)>,
}

/// How a variable is tested.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VarTest {
    Equals(String),
    Regex(Matcher),
}

/// A validated condition.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Time(TimeWindow),
    Caller(Matcher),
    Var { name: String, test: VarTest },
}

impl RawCondition {
    pub(crate) fn validate(self) -> Result<Condition, ConditionError> {
        let is_time = self.weekdays.is_some()
            || self.time.is_some()
            || self.dates.is_some()
            || self.tz.is_some();
        let is_caller = self.caller.is_some();
        let is_var = self.var.is_some() || self.equals.is_some() || self.regex.is_some();
        match (is_time, is_caller, is_var) {
            (false, false, false) => Err(ConditionError::Empty),
            (true, true, _) => Err(ConditionError::Mixed("time", "caller")),
            (true, _, true) => Err(ConditionError::Mixed("time", "var")),
            (_, true, true) => Err(ConditionError::Mixed("caller", "var")),
            (true, false, false) => self.time_window().map(Condition::Time),
            (false, true, false) => {
                let text = self.caller.unwrap_or_default();
                Matcher::pattern_or_regex(&text)
                    .map(Condition::Caller)
                    .map_err(ConditionError::Caller)
            }
            (false, false, true) => {
                let name = self.var.ok_or(ConditionError::VarTest)?;
                let test = match (self.equals, self.regex) {
                    (Some(v), None) => VarTest::Equals(v),
                    (None, Some(r)) => {
                        VarTest::Regex(Matcher::regex(&r).map_err(ConditionError::VarRegex)?)
                    }
                    _ => return Err(ConditionError::VarTest),
                };
                Ok(Condition::Var { name, test })
            }
        }
    }

    fn time_window(self) -> Result<TimeWindow, ConditionError> {
        let tz_name = self.tz.unwrap_or_else(|| "UTC".to_string());
        let tz: Tz = tz_name
            .parse()
            .map_err(|_| ConditionError::BadTimeZone(tz_name.clone()))?;
        let days = match &self.weekdays {
            None => [true; 7],
            Some(w) => parse_weekdays(w).ok_or_else(|| ConditionError::BadWeekdays(w.clone()))?,
        };
        let minutes = match &self.time {
            None => None,
            Some(t) => {
                Some(parse_time_range(t).ok_or_else(|| ConditionError::BadTimeRange(t.clone()))?)
            }
        };
        let date_range = match &self.dates {
            None => None,
            Some(d) => {
                Some(parse_date_range(d).ok_or_else(|| ConditionError::BadDateRange(d.clone()))?)
            }
        };
        Ok(TimeWindow {
            tz,
            weekdays: self.weekdays,
            time: self.time,
            dates: self.dates,
            days,
            minutes,
            date_range,
        })
    }
}

fn weekday(name: &str) -> Option<usize> {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let n = name.trim().to_ascii_lowercase();
    NAMES.iter().position(|d| *d == n)
}

fn parse_weekdays(text: &str) -> Option<[bool; 7]> {
    let mut days = [false; 7];
    for item in text.split(',') {
        match item.split_once('-') {
            Some((a, b)) => {
                let (mut d, end) = (weekday(a)?, weekday(b)?);
                loop {
                    days[d] = true;
                    if d == end {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[weekday(item)?] = true,
        }
    }
    Some(days)
}

fn parse_hhmm(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

fn parse_time_range(text: &str) -> Option<(u32, u32)> {
    let (a, b) = text.split_once('-')?;
    let (start, end) = (parse_hhmm(a)?, parse_hhmm(b)?);
    (start != end && start < 1440).then_some((start, end))
}

fn parse_date_range(text: &str) -> Option<(NaiveDate, NaiveDate)> {
    let date = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    let (start, end) = match text.split_once("..") {
        Some((a, b)) => (date(a)?, date(b)?),
        None => (date(text)?, date(text)?),
    };
    (start <= end).then_some((start, end))
}

/// What a condition is evaluated against.
pub(crate) struct Facts<'a> {
    pub caller: &'a str,
    pub now: DateTime<Utc>,
    pub var: &'a dyn Fn(&str) -> Option<String>,
}

impl TimeWindow {
    /// `Ok(())` when `now` falls inside, else why not (for `explain`).
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), String> {
        let local = now.with_timezone(&self.tz);
        let stamp = local.format("%a %Y-%m-%d %H:%M %Z");
        let day = local.weekday();
        if !self.days[day.num_days_from_monday() as usize] {
            return Err(format!(
                "{stamp}: {day:?} is not in {}",
                self.weekdays.as_deref().unwrap_or("")
            ));
        }
        if let Some((start, end)) = self.minutes {
            let m = local.hour() * 60 + local.minute();
            let inside = if start < end {
                start <= m && m < end
            } else {
                m >= start || m < end
            };
            if !inside {
                return Err(format!(
                    "{stamp}: outside {}",
                    self.time.as_deref().unwrap_or("")
                ));
            }
        }
        if let Some((start, end)) = self.date_range {
            let d = local.date_naive();
            if d < start || d > end {
                return Err(format!(
                    "{stamp}: outside {}",
                    self.dates.as_deref().unwrap_or("")
                ));
            }
        }
        Ok(())
    }
}

impl Condition {
    pub(crate) fn check(&self, facts: &Facts<'_>) -> Result<(), String> {
        match self {
            Condition::Time(w) => w.check(facts.now),
            Condition::Caller(m) => match m.matches(facts.caller) {
                Some(_) => Ok(()),
                None => Err(format!("caller \"{}\" does not match {m}", facts.caller)),
            },
            Condition::Var { name, test } => {
                let value = (facts.var)(name).unwrap_or_default();
                let ok = match test {
                    VarTest::Equals(v) => *v == value,
                    VarTest::Regex(m) => m.matches(&value).is_some(),
                };
                if ok {
                    Ok(())
                } else {
                    Err(format!("${{{name}}} = \"{value}\" fails {self}"))
                }
            }
        }
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Condition::Time(w) => {
                write!(f, "time")?;
                for (k, v) in [
                    ("weekdays", &w.weekdays),
                    ("time", &w.time),
                    ("dates", &w.dates),
                ] {
                    if let Some(v) = v {
                        write!(f, " {k}={v}")?;
                    }
                }
                write!(f, " tz={}", w.tz)
            }
            Condition::Caller(m) => write!(f, "caller {m}"),
            Condition::Var {
                name,
                test: VarTest::Equals(v),
            } => write!(f, "var {name} == \"{v}\""),
            Condition::Var {
                name,
                test: VarTest::Regex(m),
            } => write!(f, "var {name} ~ {m}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn window(
        weekdays: Option<&str>,
        time: Option<&str>,
        dates: Option<&str>,
        tz: &str,
    ) -> TimeWindow {
        let raw = RawCondition {
            weekdays: weekdays.map(String::from),
            time: time.map(String::from),
            dates: dates.map(String::from),
            tz: Some(tz.to_string()),
            caller: None,
            var: None,
            equals: None,
            regex: None,
        };
        match raw.validate() {
            Ok(Condition::Time(w)) => w,
            other => panic!("not a time window: {other:?}"),
        }
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("valid instant")
    }

    #[test]
    fn office_hours_in_london() {
        let w = window(Some("mon-fri"), Some("08:00-18:00"), None, "Europe/London");
        // Tue 2026-01-13, GMT = UTC.
        assert!(w.check(at(2026, 1, 13, 8, 0)).is_ok(), "start included");
        assert!(w.check(at(2026, 1, 13, 7, 59)).is_err());
        assert!(w.check(at(2026, 1, 13, 17, 59)).is_ok());
        assert!(w.check(at(2026, 1, 13, 18, 0)).is_err(), "end excluded");
        // Sat 2026-01-17 12:00.
        let why = w.check(at(2026, 1, 17, 12, 0)).unwrap_err();
        assert!(why.contains("Sat"), "{why}");
    }

    #[test]
    fn dst_boundary_europe_london() {
        // Clocks go forward on Sun 2026-03-29 at 01:00 UTC. 07:30 UTC is 07:30 GMT on the
        // Friday before (closed), and 08:30 BST on the Monday after (open).
        let w = window(Some("mon-fri"), Some("08:00-18:00"), None, "Europe/London");
        assert!(w.check(at(2026, 3, 27, 7, 30)).is_err());
        assert!(w.check(at(2026, 3, 30, 7, 30)).is_ok());
        // 17:30 UTC is 18:30 BST: closed in summer, open in winter.
        assert!(w.check(at(2026, 3, 30, 17, 30)).is_err());
        assert!(w.check(at(2026, 3, 27, 17, 30)).is_ok());
        // Clocks go back on Sun 2026-10-25 at 01:00 UTC.
        assert!(w.check(at(2026, 10, 23, 7, 30)).is_ok(), "Fri 08:30 BST");
        assert!(w.check(at(2026, 10, 26, 7, 30)).is_err(), "Mon 07:30 GMT");
    }

    #[test]
    fn overnight_and_wrapping_weekdays() {
        let w = window(Some("fri-mon"), Some("22:00-06:00"), None, "UTC");
        assert!(w.check(at(2026, 1, 17, 23, 0)).is_ok(), "Sat 23:00");
        assert!(w.check(at(2026, 1, 19, 5, 59)).is_ok(), "Mon 05:59");
        assert!(w.check(at(2026, 1, 19, 6, 0)).is_err(), "Mon 06:00");
        assert!(w.check(at(2026, 1, 20, 23, 0)).is_err(), "Tue");
        let list = window(Some("sat,sun"), None, None, "UTC");
        assert!(list.check(at(2026, 1, 18, 9, 0)).is_ok());
        assert!(list.check(at(2026, 1, 16, 9, 0)).is_err());
    }

    #[test]
    fn date_ranges_are_inclusive_and_local() {
        let w = window(
            None,
            None,
            Some("2026-12-24..2026-12-26"),
            "America/New_York",
        );
        assert!(
            w.check(at(2026, 12, 24, 5, 0)).is_ok(),
            "00:00 EST on the 24th"
        );
        assert!(
            w.check(at(2026, 12, 24, 4, 59)).is_err(),
            "still the 23rd in New York"
        );
        assert!(
            w.check(at(2026, 12, 27, 4, 59)).is_ok(),
            "23:59 on the 26th"
        );
        assert!(w.check(at(2026, 12, 27, 5, 0)).is_err());
        let single = window(None, None, Some("2026-12-25"), "UTC");
        assert!(single.check(at(2026, 12, 25, 12, 0)).is_ok());
    }

    #[test]
    fn bad_windows_are_rejected() {
        let bad = |w: Option<&str>, t: Option<&str>, d: Option<&str>, tz: &str| {
            RawCondition {
                weekdays: w.map(String::from),
                time: t.map(String::from),
                dates: d.map(String::from),
                tz: Some(tz.into()),
                caller: None,
                var: None,
                equals: None,
                regex: None,
            }
            .validate()
            .unwrap_err()
        };
        assert_eq!(
            bad(None, None, None, "Mars/Olympus"),
            ConditionError::BadTimeZone("Mars/Olympus".into())
        );
        assert_eq!(
            bad(Some("mon-fry"), None, None, "UTC"),
            ConditionError::BadWeekdays("mon-fry".into())
        );
        for t in [
            "8:00-18:00",
            "08:00-25:00",
            "08:00-08:00",
            "08:60-09:00",
            "0800-1800",
            "24:00-01:00",
        ] {
            assert_eq!(
                bad(None, Some(t), None, "UTC"),
                ConditionError::BadTimeRange(t.into()),
                "{t}"
            );
        }
        assert_eq!(
            bad(None, None, Some("2026-12-26..2026-12-24"), "UTC"),
            ConditionError::BadDateRange("2026-12-26..2026-12-24".into())
        );
    }
}
