//! Business hours: a time zone, working intervals per weekday and holidays, and the arithmetic of
//! deadlines that count only working time and stop while a case waits on the customer.
//! Pure functions over instants the caller passes in; never reads the clock.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use time::{Duration, OffsetDateTime};

/// Minutes in a day; an interval may end at `24:00`.
const DAY_MINUTES: u16 = 24 * 60;

/// How far ahead [`BusinessCalendar::add_business`] looks before giving up on a calendar that
/// has (almost) no working time: about ten years of days.
const MAX_DAYS_SCANNED: u32 = 3660;

/// One working interval within a day, in minutes since midnight, `start < end <= 1440`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorkingHours {
    pub start_minute: u16,
    pub end_minute: u16,
}

/// A day off: one date, or the same day every year (`01-01`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Holiday {
    Date(time::Date),
    EveryYear { month: u8, day: u8 },
}

/// A time zone, working hours per weekday (Monday first) and holidays.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessCalendar {
    time_zone: TimeZone,
    time_zone_name: String,
    week: [Vec<WorkingHours>; 7],
    holidays: BTreeSet<Holiday>,
    /// Days worked although their weekday is off or they are holidays (a working Saturday, a
    /// day off moved), with the hours of an ordinary working day.
    working_days: BTreeSet<time::Date>,
}

/// A stretch during which a case's clock was stopped (it waited on the customer). `to: None`
/// means the clock is stopped still.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub from: OffsetDateTime,
    pub to: Option<OffsetDateTime>,
}

/// A calendar setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("unknown time zone `{0}`; expected an IANA name such as Europe/Moscow")]
    UnknownTimeZone(String),
    #[error("the week has no working hours")]
    NoWorkingHours,
    #[error("working hours overlap on weekday {0} (1 = Monday)")]
    Overlap(usize),
}

impl BusinessCalendar {
    /// A calendar in the IANA time zone `time_zone` with `week[0]` Monday's hours.
    pub fn new(
        time_zone: &str,
        mut week: [Vec<WorkingHours>; 7],
        holidays: impl IntoIterator<Item = Holiday>,
    ) -> Result<BusinessCalendar, CalendarError> {
        let zone = TimeZone::get(time_zone).map_err(|_| CalendarError::UnknownTimeZone(time_zone.to_owned()))?;
        if week.iter().all(Vec::is_empty) {
            return Err(CalendarError::NoWorkingHours);
        }
        for (index, day) in week.iter_mut().enumerate() {
            day.sort();
            if day.windows(2).any(|pair| pair[0].end_minute > pair[1].start_minute) {
                return Err(CalendarError::Overlap(index + 1));
            }
        }
        Ok(BusinessCalendar {
            time_zone: zone,
            time_zone_name: time_zone.to_owned(),
            week,
            holidays: holidays.into_iter().collect(),
            working_days: BTreeSet::new(),
        })
    }

    /// This calendar with `days` worked although their weekday is off or they are holidays (a
    /// working Saturday): they get the hours of an ordinary working day (the first weekday,
    /// from Monday, that has hours).
    pub fn with_working_days(mut self, days: impl IntoIterator<Item = time::Date>) -> BusinessCalendar {
        self.working_days.extend(days);
        self
    }

    /// The same hours and holidays in another IANA time zone (a location far from the head
    /// office keeps the business's hours on its own clocks).
    pub fn in_zone(&self, time_zone: &str) -> Result<BusinessCalendar, CalendarError> {
        self.adapted(Some(time_zone), None)
    }

    /// This calendar with another time zone, other weekly hours, or both (the holidays stay).
    pub fn adapted(
        &self,
        time_zone: Option<&str>,
        week: Option<[Vec<WorkingHours>; 7]>,
    ) -> Result<BusinessCalendar, CalendarError> {
        BusinessCalendar::new(
            time_zone.unwrap_or(&self.time_zone_name),
            week.unwrap_or_else(|| self.week.clone()),
            self.holidays.iter().copied(),
        )
        .map(|calendar| calendar.with_working_days(self.working_days.iter().copied()))
    }

    /// Round the clock in UTC with no holidays: for targets counted in calendar hours.
    pub fn always() -> BusinessCalendar {
        let whole_day = vec![WorkingHours { start_minute: 0, end_minute: DAY_MINUTES }];
        BusinessCalendar {
            time_zone: TimeZone::UTC,
            time_zone_name: "UTC".to_owned(),
            week: std::array::from_fn(|_| whole_day.clone()),
            holidays: BTreeSet::new(),
            working_days: BTreeSet::new(),
        }
    }

    /// The same instant as the business's clocks show it (in the calendar's time zone).
    pub fn local(&self, at: OffsetDateTime) -> OffsetDateTime {
        let offset = self.time_zone.to_offset(timestamp(at.unix_timestamp_nanos())).seconds();
        time::UtcOffset::from_whole_seconds(offset).map_or(at, |offset| at.to_offset(offset))
    }

    /// The IANA name of the calendar's time zone.
    pub fn time_zone(&self) -> &str {
        &self.time_zone_name
    }

    /// True when `date` (in the calendar's zone) is a holiday.
    pub fn is_holiday(&self, date: time::Date) -> bool {
        self.holidays.contains(&Holiday::Date(date))
            || self.holidays.contains(&Holiday::EveryYear { month: date.month() as u8, day: date.day() })
    }

    /// True when `at` falls within working hours.
    pub fn is_business_time(&self, at: OffsetDateTime) -> bool {
        let at = nanos(at);
        self.intervals_on(self.local_date(at)).any(|(start, end)| start <= at && at < end)
    }

    /// The instant when `duration` of working time has passed since `start`.
    pub fn add_business(&self, start: OffsetDateTime, duration: Duration) -> OffsetDateTime {
        instant(self.add_nanos(nanos(start), duration.whole_nanoseconds().max(0)))
    }

    /// The working time between `from` and `to`; zero when `to` is not after `from`.
    pub fn business_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> Duration {
        duration(self.between_nanos(nanos(from), nanos(to)))
    }

    /// The working time a case's clock has run between `start` and `now`, not counting pauses.
    pub fn elapsed(&self, start: OffsetDateTime, pauses: &[Pause], now: OffsetDateTime) -> Duration {
        let (start, now) = (nanos(start), nanos(now));
        let (paused, _) = merge_pauses(pauses, start, now);
        let stopped: i128 = paused.iter().map(|&(from, to)| self.between_nanos(from, to)).sum();
        duration(self.between_nanos(start, now) - stopped)
    }

    /// When a clock started at `start` reaches `target` of working time, given the pauses known at
    /// `now`. `None` while the clock is stopped at `now` and the target was not reached before.
    pub fn due(
        &self,
        start: OffsetDateTime,
        target: Duration,
        pauses: &[Pause],
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        let (start, now) = (nanos(start), nanos(now));
        let (paused, stopped_now) = merge_pauses(pauses, start, now);
        let mut remaining = target.whole_nanoseconds().max(0);
        let mut cursor = start;
        for (from, to) in paused {
            let available = self.between_nanos(cursor, from);
            if available >= remaining {
                return Some(instant(self.add_nanos(cursor, remaining)));
            }
            remaining -= available;
            cursor = to;
        }
        (!stopped_now).then(|| instant(self.add_nanos(cursor, remaining)))
    }

    /// The instant `date` ends here: the local midnight that begins the day after it.
    pub fn end_of(&self, date: time::Date) -> Option<OffsetDateTime> {
        let date = Date::new(date.year() as i16, u8::from(date.month()) as i8, date.day() as i8).ok()?;
        self.at_minute(date, DAY_MINUTES).map(instant)
    }

    fn local_date(&self, at: i128) -> Date {
        timestamp(at).to_zoned(self.time_zone.clone()).date()
    }

    /// Working intervals of `date` as unix nanoseconds, in order; none on a holiday.
    fn intervals_on(&self, date: Date) -> impl Iterator<Item = (i128, i128)> + '_ {
        let day = time::Month::try_from(date.month() as u8)
            .and_then(|month| time::Date::from_calendar_date(i32::from(date.year()), month, date.day() as u8))
            .ok();
        let hours: &[WorkingHours] = if day.is_some_and(|day| self.working_days.contains(&day)) {
            self.week.iter().find(|hours| !hours.is_empty()).map_or(&[], Vec::as_slice)
        } else if day.is_some_and(|day| self.is_holiday(day)) {
            &[]
        } else {
            &self.week[date.weekday().to_monday_zero_offset() as usize]
        };
        hours.iter().filter_map(move |hours| {
            Some((self.at_minute(date, hours.start_minute)?, self.at_minute(date, hours.end_minute)?))
        })
    }

    fn at_minute(&self, date: Date, minute: u16) -> Option<i128> {
        let civil: DateTime = if minute >= DAY_MINUTES {
            date.tomorrow().ok()?.at(0, 0, 0, 0)
        } else {
            date.at((minute / 60) as i8, (minute % 60) as i8, 0, 0)
        };
        // In a daylight-saving gap or overlap, the earlier reading of the wall clock wins.
        let zoned = self.time_zone.to_ambiguous_zoned(civil).compatible().ok()?;
        Some(zoned.timestamp().as_nanosecond())
    }

    fn add_nanos(&self, start: i128, mut remaining: i128) -> i128 {
        let mut date = self.local_date(start);
        let mut last_end = start;
        for _ in 0..MAX_DAYS_SCANNED {
            for (from, to) in self.intervals_on(date) {
                let from = from.max(start);
                if to <= from {
                    continue;
                }
                if to - from >= remaining {
                    return from + remaining;
                }
                remaining -= to - from;
                last_end = to;
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        last_end
    }

    fn between_nanos(&self, from: i128, to: i128) -> i128 {
        if to <= from {
            return 0;
        }
        let last = self.local_date(to);
        let mut date = self.local_date(from);
        let mut total = 0;
        while date <= last {
            total += self.intervals_on(date).map(|(start, end)| (end.min(to) - start.max(from)).max(0)).sum::<i128>();
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        total
    }
}

/// The pauses clipped to `[start, now]`, sorted and merged, and whether the clock is stopped at
/// `now`.
fn merge_pauses(pauses: &[Pause], start: i128, now: i128) -> (Vec<(i128, i128)>, bool) {
    let mut stopped_now = false;
    let mut clipped: Vec<(i128, i128)> = Vec::with_capacity(pauses.len());
    for pause in pauses {
        if nanos(pause.from) <= now && pause.to.is_none_or(|to| nanos(to) > now) {
            stopped_now = true;
        }
        let from = nanos(pause.from).max(start);
        let to = pause.to.map_or(now, nanos).min(now);
        if from < to {
            clipped.push((from, to));
        }
    }
    clipped.sort();
    let mut merged: Vec<(i128, i128)> = Vec::with_capacity(clipped.len());
    for (from, to) in clipped {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    (merged, stopped_now)
}

fn nanos(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos()
}

fn timestamp(nanos: i128) -> Timestamp {
    Timestamp::from_nanosecond(nanos).unwrap_or(if nanos < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

/// The instant `nanos` after the epoch, saturating at the ends of the supported range.
fn instant(nanos: i128) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or_else(|_| {
        let end = if nanos < 0 { time::PrimitiveDateTime::MIN } else { time::PrimitiveDateTime::MAX };
        end.assume_utc()
    })
}

fn duration(nanos: i128) -> Duration {
    Duration::nanoseconds_i128(nanos)
}

/// A moment in words as the clocks of the IANA time zone `zone` show it: `30.11.2026 14:05`
/// (in UTC for a zone we do not know).
pub fn clock_words(at: OffsetDateTime, zone: &str) -> String {
    let format = time::macros::format_description!("[day].[month].[year] [hour]:[minute]");
    in_time_zone(zone, at).unwrap_or(at).format(&format).unwrap_or_default()
}

/// `at` as the clocks of the IANA time zone `name` show it; `None` for a zone we do not know.
pub fn in_time_zone(name: &str, at: OffsetDateTime) -> Option<OffsetDateTime> {
    let zone = TimeZone::get(name).ok()?;
    let offset = zone.to_offset(timestamp(at.unix_timestamp_nanos())).seconds();
    time::UtcOffset::from_whole_seconds(offset).ok().map(|offset| at.to_offset(offset))
}

/// A week's working hours written in one line, as a location's are kept: days or day ranges
/// with their hours, `;` between them — `mon-fri 09:00-13:00, 14:00-18:00; sat 10:00-16:00`.
/// Days not named are days off. Days are `mon tue wed thu fri sat sun`.
pub fn parse_week(text: &str) -> Result<[Vec<WorkingHours>; 7], String> {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let day = |name: &str| {
        DAYS.iter()
            .position(|known| *known == name.trim().to_ascii_lowercase())
            .ok_or_else(|| format!("`{name}` is not a day: mon, tue, wed, thu, fri, sat or sun"))
    };
    let mut week: [Vec<WorkingHours>; 7] = Default::default();
    for part in text.split(';').map(str::trim).filter(|part| !part.is_empty()) {
        let (days, hours) = part
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("`{part}` should look like `mon-fri 09:00-18:00`"))?;
        let (first, last) = match days.split_once('-') {
            Some((first, last)) => (day(first)?, day(last)?),
            None => (day(days)?, day(days)?),
        };
        if first > last {
            return Err(format!("`{days}`: the first day comes after the last"));
        }
        for interval in hours.split(',').map(str::trim) {
            let interval = working_hours(interval)?;
            for hours in &mut week[first..=last] {
                hours.push(interval);
            }
        }
    }
    if week.iter().all(Vec::is_empty) {
        return Err("no working hours: write them like `mon-fri 09:00-18:00`".into());
    }
    Ok(week)
}

/// `09:00-18:00`; the end may be `24:00`.
pub(crate) fn working_hours(text: &str) -> Result<WorkingHours, String> {
    let wrong = || format!("working hours `{text}` should look like `09:00-18:00`");
    let (start, end) = text.split_once('-').ok_or_else(wrong)?;
    let minute = |clock: &str| -> Option<u16> {
        let (hours, minutes) = clock.trim().split_once(':')?;
        let (hours, minutes): (u16, u16) = (hours.parse().ok()?, minutes.parse().ok()?);
        (minutes < 60 && hours * 60 + minutes <= 24 * 60).then_some(hours * 60 + minutes)
    };
    let (start_minute, end_minute) = (minute(start).ok_or_else(wrong)?, minute(end).ok_or_else(wrong)?);
    if start_minute >= end_minute {
        return Err(format!("working hours `{text}` end before they start"));
    }
    Ok(WorkingHours { start_minute, end_minute })
}
