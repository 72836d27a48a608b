//! A five-field cron expression (`minute hour day-of-month month day-of-week`) for
//! `BACKUP_SCHEDULE`: parsing (`*`, numbers, names, lists, ranges, steps) and the previous and
//! next time it fires, in UTC. Pure: the caller passes the time.
//!
//! Day matching follows Vixie cron: when both day fields are restricted (neither starts with
//! `*`), a day matches if EITHER matches; otherwise both must. Day-of-week 7 is Sunday, like 0.

use super::clock::{civil_from_days, days_from_civil, weekday};
use std::fmt;

/// A parsed expression: one bit per allowed value of each field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    days_star: bool,
    weekdays_star: bool,
    text: String,
}

/// Why an expression was refused; says which field and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronError(pub String);

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CronError {}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
    },
    // 7 is accepted as Sunday and folded onto 0 below.
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &WEEKDAYS,
    },
];

fn value(field: &Field, text: &str) -> Result<u32, CronError> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = field.names.iter().position(|n| *n == lower) {
        // Month names count from 1 (like month numbers), weekday names from 0 (Sunday).
        return Ok(i as u32 + field.min);
    }
    let n: u32 = text
        .parse()
        .map_err(|_| CronError(format!("{}: {text:?} is not a number", field.name)))?;
    if n < field.min || n > field.max {
        return Err(CronError(format!(
            "{}: {n} is outside {}-{}",
            field.name, field.min, field.max
        )));
    }
    Ok(n)
}

fn parse_field(field: &Field, text: &str) -> Result<u64, CronError> {
    let mut bits = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| {
                    CronError(format!("{}: step {s:?} is not a number", field.name))
                })?;
                if step == 0 {
                    return Err(CronError(format!("{}: a step of 0", field.name)));
                }
                (r, step)
            }
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (field.min, field.max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (value(field, a)?, value(field, b)?);
            if a > b {
                return Err(CronError(format!(
                    "{}: range {a}-{b} runs backwards",
                    field.name
                )));
            }
            (a, b)
        } else if range.is_empty() {
            return Err(CronError(format!("{}: an empty item", field.name)));
        } else {
            let a = value(field, range)?;
            // `5/15` means from 5 to the end in steps of 15.
            (a, if item.contains('/') { field.max } else { a })
        };
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Schedule, CronError> {
        let trimmed = text.trim();
        let text = if trimmed.starts_with('@') {
            expand_macro(trimmed)?
        } else {
            text
        };
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(CronError(format!(
                "{text:?} has {} fields; a schedule has five: minute hour day-of-month month \
                 day-of-week (e.g. \"0 2 * * *\" for daily at 2:00)",
                parts.len()
            )));
        }
        let mut bits = [0u64; 5];
        for (i, (field, part)) in FIELDS.iter().zip(&parts).enumerate() {
            bits[i] = parse_field(field, part)?;
        }
        // Sunday as 7 is Sunday as 0.
        let weekdays = ((bits[4] | (bits[4] >> 7)) & 0x7f) as u8;
        Ok(Schedule {
            minutes: bits[0],
            hours: bits[1] as u32,
            days: bits[2] as u32,
            months: bits[3] as u16,
            weekdays,
            days_star: parts[2].starts_with('*'),
            weekdays_star: parts[4].starts_with('*'),
            text: parts.join(" "),
        })
    }

    fn day_matches(&self, days: i64) -> bool {
        let (_, month, day) = civil_from_days(days);
        if self.months & (1 << month) == 0 {
            return false;
        }
        let dom = self.days & (1 << day) != 0;
        let dow = self.weekdays & (1 << weekday(days)) != 0;
        if self.days_star || self.weekdays_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first firing strictly after `after` (Unix seconds), within the next nine years
    /// (enough for a 29 February schedule across a skipped leap year).
    pub fn next_after(&self, after: i64) -> Option<i64> {
        let start = after.div_euclid(60) * 60 + 60;
        let first_day = start.div_euclid(86_400);
        let first_minute = (start.rem_euclid(86_400) / 60) as u32;
        for day in first_day..first_day + 9 * 366 {
            if !self.day_matches(day) {
                continue;
            }
            let from = if day == first_day { first_minute } else { 0 };
            if let Some(m) = (from..1440).find(|m| self.minute_matches(*m)) {
                return Some(day * 86_400 + i64::from(m) * 60);
            }
        }
        None
    }

    /// The last firing at or before `at` (Unix seconds), within the previous nine years.
    pub fn last_at_or_before(&self, at: i64) -> Option<i64> {
        let end = at.div_euclid(60) * 60;
        let last_day = end.div_euclid(86_400);
        let last_minute = (end.rem_euclid(86_400) / 60) as u32;
        for day in (last_day - 9 * 366..=last_day).rev() {
            if !self.day_matches(day) {
                continue;
            }
            let to = if day == last_day { last_minute } else { 1439 };
            if let Some(m) = (0..=to).rev().find(|m| self.minute_matches(*m)) {
                return Some(day * 86_400 + i64::from(m) * 60);
            }
        }
        None
    }

    fn minute_matches(&self, minute_of_day: u32) -> bool {
        self.hours & (1 << (minute_of_day / 60)) != 0
            && self.minutes & (1 << (minute_of_day % 60)) != 0
    }

    /// In words where the shape is common ("Daily at 2:00 AM"), else the expression itself.
    pub fn describe(&self) -> String {
        let parts: Vec<&str> = self.text.split(' ').collect();
        let single = |s: &str| s.parse::<u32>().ok();
        match (single(parts[0]), single(parts[1]), &parts[2..]) {
            (Some(m), Some(h), ["*", "*", "*"]) => {
                let (h12, ampm) = match h {
                    0 => (12, "AM"),
                    1..=11 => (h, "AM"),
                    12 => (12, "PM"),
                    _ => (h - 12, "PM"),
                };
                format!("Daily at {h12}:{m:02} {ampm}")
            }
            (Some(m), None, ["*", "*", "*"]) if parts[1] == "*" => {
                format!("Hourly at minute {m}")
            }
            _ => format!("cron \"{}\"", self.text),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The five fields a cron macro stands for (as cron and cronie define them).
const MACROS: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

fn expand_macro(text: &str) -> Result<&'static str, CronError> {
    let lower = text.to_ascii_lowercase();
    if let Some((_, fields)) = MACROS.iter().find(|(m, _)| *m == lower) {
        return Ok(fields);
    }
    let known: Vec<&str> = MACROS.iter().map(|(m, _)| *m).collect();
    Err(CronError(if lower == "@reboot" {
        "\"@reboot\" is not a time of day: nself does not run in the background; use a \
         schedule such as @daily or \"0 2 * * *\""
            .to_string()
    } else {
        format!(
            "{text:?} is not a cron macro; the macros are {} (or write five fields, e.g. \
             \"0 2 * * *\")",
            known.join(", ")
        )
    }))
}

/// Unix seconds of a UTC date and time (tests and callers that build times by hand).
pub fn at(year: i64, month: u32, day: u32, hour: u32, minute: u32) -> i64 {
    days_from_civil(year, month, day) * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::clock::Civil;

    fn next(expr: &str, from: i64) -> String {
        let s = Schedule::parse(expr).unwrap();
        Civil::from_unix(s.next_after(from).unwrap()).display()
    }

    fn last(expr: &str, from: i64) -> String {
        let s = Schedule::parse(expr).unwrap();
        Civil::from_unix(s.last_at_or_before(from).unwrap()).display()
    }

    #[test]
    fn daily_at_two() {
        let now = at(2026, 1, 24, 14, 30) + 52;
        assert_eq!(next("0 2 * * *", now), "2026-01-25 02:00:00");
        assert_eq!(last("0 2 * * *", now), "2026-01-24 02:00:00");
        assert_eq!(
            Schedule::parse("0 2 * * *").unwrap().describe(),
            "Daily at 2:00 AM"
        );
        assert_eq!(
            Schedule::parse("30 14 * * *").unwrap().describe(),
            "Daily at 2:30 PM"
        );
        // Exactly at a firing: next is the one after, last is this one.
        let two = at(2026, 1, 25, 2, 0);
        assert_eq!(next("0 2 * * *", two), "2026-01-26 02:00:00");
        assert_eq!(last("0 2 * * *", two), "2026-01-25 02:00:00");
    }

    #[test]
    fn lists_ranges_steps_names() {
        let now = at(2026, 1, 24, 14, 31); // Saturday
        assert_eq!(next("*/15 * * * *", now), "2026-01-24 14:45:00");
        assert_eq!(next("5/20 * * * *", now), "2026-01-24 14:45:00");
        assert_eq!(next("0 9-17/4 * * *", now), "2026-01-24 17:00:00");
        assert_eq!(next("0 0 * * mon-fri", now), "2026-01-26 00:00:00");
        assert_eq!(next("0 0 * * 7", now), "2026-01-25 00:00:00");
        assert_eq!(next("0 0 1,15 * *", now), "2026-02-01 00:00:00");
        assert_eq!(next("0 0 1 jul *", now), "2026-07-01 00:00:00");
        assert_eq!(last("0 0 * * 1,3", now), "2026-01-21 00:00:00");
        // Both day fields restricted: either matches (the 1st, or any Friday).
        assert_eq!(next("0 0 1 * 5", now), "2026-01-30 00:00:00");
        // Only the day of month restricted with a star weekday: must be the 31st.
        assert_eq!(
            next("0 0 31 * *", at(2026, 2, 1, 0, 0)),
            "2026-03-31 00:00:00"
        );
        // 29 February, across 2100 (not a leap year).
        assert_eq!(
            next("0 0 29 2 *", at(2097, 1, 1, 0, 0)),
            "2104-02-29 00:00:00"
        );
    }

    #[test]
    fn macros() {
        let now = at(2026, 1, 24, 14, 31); // Saturday
        for (m, want) in [
            ("@hourly", "2026-01-24 15:00:00"),
            ("@daily", "2026-01-25 00:00:00"),
            ("@midnight", "2026-01-25 00:00:00"),
            ("@weekly", "2026-01-25 00:00:00"),
            ("@monthly", "2026-02-01 00:00:00"),
            ("@yearly", "2027-01-01 00:00:00"),
            ("@annually", "2027-01-01 00:00:00"),
            (" @DAILY ", "2026-01-25 00:00:00"),
        ] {
            assert_eq!(next(m, now), want, "{m}");
        }
        assert_eq!(
            Schedule::parse("@daily").unwrap().describe(),
            "Daily at 12:00 AM"
        );
        let e = Schedule::parse("@reboot").unwrap_err().to_string();
        assert!(e.contains("@daily"), "{e}");
        let e = Schedule::parse("@dayly").unwrap_err().to_string();
        assert!(e.contains("@hourly") && e.contains("@annually"), "{e}");
    }

    #[test]
    fn errors_name_the_field() {
        for (expr, needle) in [
            ("0 2 * *", "five"),
            ("60 * * * *", "minute: 60 is outside 0-59"),
            ("* 24 * * *", "hour"),
            ("* * 0 * *", "day of month"),
            ("* * * 13 *", "month"),
            ("* * * * 8", "day of week"),
            ("*/0 * * * *", "step of 0"),
            ("5-1 * * * *", "backwards"),
            ("a * * * *", "not a number"),
            ("1,,2 * * * *", "empty"),
        ] {
            let e = Schedule::parse(expr).unwrap_err();
            assert!(e.0.contains(needle), "{expr}: {e}");
        }
    }

    #[test]
    fn agrees_with_brute_force() {
        // Every minute over ~two months, for several expressions.
        let exprs = [
            "*/7 3,5 * * *",
            "15 10 2-9 * 0",
            "0 */6 13 * fri",
            "59 23 * feb,mar *",
        ];
        let start = at(2028, 1, 20, 0, 0);
        for expr in exprs {
            let s = Schedule::parse(expr).unwrap();
            let fires = |t: i64| {
                let c = Civil::from_unix(t);
                s.day_matches(t.div_euclid(86_400)) && s.minute_matches(c.hour * 60 + c.minute)
            };
            let mut t = start;
            while t < start + 60 * 86_400 {
                let mut brute = t + 60;
                while !fires(brute) {
                    brute += 60;
                }
                assert_eq!(s.next_after(t), Some(brute), "{expr} after {t}");
                t += 60 * 37;
            }
        }
    }
}
