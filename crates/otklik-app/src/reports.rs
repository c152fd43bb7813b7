//! Reports: what the feedback of a period says about the business, compared with the period
//! before, with its weak spots; and the period's cases for export. Days are the business's days
//! (its calendar's time zone). The arithmetic is `otklik_core::report`'s; docs/reports.md
//! defines each figure.

use otklik_core::report::{Figures, TOPIC_SAMPLE, Topic, WeakSpot, rising_topics, summarize, weak_spots};
use otklik_core::{Case, Right, in_time_zone};
use time::{Date, Duration, OffsetDateTime};

use crate::{Actor, App, AppError};

/// The longest period a report covers.
pub const MAX_DAYS: i64 = 3_660;

/// The years a report's days may fall in.
pub const FIRST_YEAR: i32 = 1970;
pub const LAST_YEAR: i32 = 9000;

/// A period of whole days, `from` to `to` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

impl Period {
    /// Checks a period asked for: `from` not after `to`, at most `MAX_DAYS` days.
    pub fn new(from: Date, to: Date) -> Result<Period, AppError> {
        // Days far from now would overflow the arithmetic of the previous period.
        for (field, day) in [("from", from), ("to", to)] {
            if !(FIRST_YEAR..=LAST_YEAR).contains(&day.year()) {
                return Err(AppError::Invalid(format!("{field}: a day from {FIRST_YEAR} to {LAST_YEAR}")));
            }
        }
        if from > to {
            return Err(AppError::Invalid(format!("from ({from}) is after to ({to})")));
        }
        if (to - from).whole_days() >= MAX_DAYS {
            return Err(AppError::Invalid(format!("a report covers at most {MAX_DAYS} days")));
        }
        Ok(Period { from, to })
    }

    pub fn days(self) -> i64 {
        (self.to - self.from).whole_days() + 1
    }

    /// The period of as many days just before this one.
    pub fn previous(self) -> Period {
        let days = Duration::days(self.days());
        Period { from: self.from - days, to: self.to - days }
    }
}

/// A period's figures, the previous period's for comparison, and the weak spots.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub period: Period,
    pub previous_period: Period,
    pub current: Figures,
    pub previous: Figures,
    pub weak_spots: Vec<WeakSpot>,
    /// The complaint topics that rose the most against the period before.
    pub rising_topics: Vec<Topic>,
}

impl App {
    /// The instant a business day starts, in the business calendar's time zone.
    fn day_start(&self, day: Date) -> OffsetDateTime {
        let zone = self.workflow.deadlines.calendar.time_zone();
        let noon = day.with_time(time::macros::time!(12:00)).assume_utc();
        let offset = in_time_zone(zone, noon).map_or(time::UtcOffset::UTC, |local| local.offset());
        day.midnight().assume_offset(offset).to_offset(time::UtcOffset::UTC)
    }

    pub(crate) fn bounds(&self, period: Period) -> (OffsetDateTime, OffsetDateTime) {
        (self.day_start(period.from), self.day_start(period.to + Duration::days(1)))
    }

    /// The report of a period, compared with the period before.
    pub async fn report(&self, actor: &Actor, period: Period) -> Result<Report, AppError> {
        actor.require(Right::ViewReports)?;
        let previous_period = period.previous();
        let (from, to) = self.bounds(period);
        let (before_from, before_to) = self.bounds(previous_period);
        // The four reads at once (each on its own connections).
        let sample = TOPIC_SAMPLE as u32;
        let (rows, before, complaints, complaints_before) = tokio::join!(
            self.store.report_rows(from, to),
            self.store.report_rows(before_from, before_to),
            self.store.complaint_texts(from, to, sample),
            self.store.complaint_texts(before_from, before_to, sample),
        );
        let (rows, before, complaints, complaints_before) = (rows?, before?, complaints?, complaints_before?);
        Ok(Report {
            period,
            previous_period,
            current: summarize(&rows, self.iceberg_factor),
            previous: summarize(&before, self.iceberg_factor),
            weak_spots: weak_spots(&rows),
            rising_topics: rising_topics(&complaints, &complaints_before),
        })
    }

    /// Whether the actor may see reports: asked before an export starts streaming.
    pub fn may_see_reports(&self, actor: &Actor) -> Result<(), AppError> {
        actor.require(Right::ViewReports)
    }

    /// The period's cases with ids above `after`, up to `limit`, by id: one page of an export.
    pub async fn export_page(
        &self,
        actor: &Actor,
        period: Period,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Case>, AppError> {
        actor.require(Right::ViewReports)?;
        let (from, to) = self.bounds(period);
        Ok(self.store.export_cases(from, to, after, limit).await?)
    }

    /// Today in the business's time zone, for a default period.
    pub fn business_today(&self) -> Date {
        let now = self.clock.now();
        in_time_zone(self.workflow.deadlines.calendar.time_zone(), now).unwrap_or(now).date()
    }
}
