//! Deadline targets per kind, priority and public visibility, and a case's deadline state at a
//! given instant: ok, warning (most of the time used) or breached. No clock reads: `now` is passed.

use std::borrow::Cow;

use time::{Duration, OffsetDateTime};

use crate::calendar::{BusinessCalendar, Pause};
use crate::vocab::{Kind, Priority};

/// What a deadline is measured to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Milestone {
    /// The first customer-facing message: the first transition that emits a template.
    FirstResponse,
    /// The case reaching a resolved or closed status.
    Resolution,
    /// The date promised to the customer (an accepted idea's delivery date), watched instead of
    /// the resolution clock while the case is in a stage that carries one; met when the case
    /// is resolved or closed.
    DueDate,
}

impl Milestone {
    /// Whether a case reached the milestone: the one definition the work view and the deadline
    /// watch share. The first response is any message the customer was sent (a step's or a reply
    /// written on the case); the resolution is the case entering a resolved or closed status.
    pub fn is_met(self, first_response_at: Option<OffsetDateTime>, resolved_at: Option<OffsetDateTime>) -> bool {
        match self {
            Milestone::FirstResponse => first_response_at.is_some(),
            Milestone::Resolution | Milestone::DueDate => resolved_at.is_some(),
        }
    }

    /// How the milestone is written in the API and stored on deadline marks.
    pub fn as_str(self) -> &'static str {
        match self {
            Milestone::FirstResponse => "first_response",
            Milestone::Resolution => "resolution",
            Milestone::DueDate => "due_date",
        }
    }

    /// How a notification names the clock.
    pub fn words(self) -> &'static str {
        match self {
            Milestone::FirstResponse => "first response",
            Milestone::Resolution => "resolution",
            Milestone::DueDate => "promised date",
        }
    }
}

/// Whether a target counts working hours of the business calendar or every hour of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hours {
    Business,
    Calendar,
}

/// A time allowed to reach a milestone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub within: Duration,
    pub hours: Hours,
}

/// One row of the policy. A `None` field matches every case; the most specific matching row
/// that sets a milestone wins, and among equally specific rows the later one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineRule {
    pub kind: Option<Kind>,
    pub priority: Option<Priority>,
    pub public: Option<bool>,
    pub first_response: Option<Target>,
    pub resolution: Option<Target>,
}

impl DeadlineRule {
    fn matches(&self, kind: Kind, priority: Priority, public: bool) -> bool {
        self.kind.is_none_or(|k| k == kind)
            && self.priority.is_none_or(|p| p == priority)
            && self.public.is_none_or(|p| p == public)
    }

    fn specificity(&self) -> usize {
        usize::from(self.kind.is_some()) + usize::from(self.priority.is_some()) + usize::from(self.public.is_some())
    }

    fn target(&self, milestone: Milestone) -> Option<Target> {
        match milestone {
            Milestone::FirstResponse => self.first_response,
            Milestone::Resolution => self.resolution,
            Milestone::DueDate => None,
        }
    }
}

/// Where a deadline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadlineState {
    Ok,
    /// More than [`DeadlinePolicy::warn_at`] of the time is used: time to escalate.
    Warning,
    Breached,
}

/// A deadline's state at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineStatus {
    pub state: DeadlineState,
    /// When the target is (or was) reached; `None` while the clock is stopped and not yet breached.
    pub due_at: Option<OffsetDateTime>,
    /// Counted time used so far, pauses excluded.
    pub elapsed: Duration,
    /// True when the clock is stopped at this instant (the case waits on the customer).
    pub paused: bool,
}

/// The calendars of locations kept in the database (made from their time zones), beside the
/// playbook file's: they change while the server runs, so they sit behind a lock.
#[derive(Debug, Default)]
pub struct LocationZones(std::sync::RwLock<std::collections::BTreeMap<String, BusinessCalendar>>);

impl LocationZones {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, std::collections::BTreeMap<String, BusinessCalendar>> {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clone for LocationZones {
    fn clone(&self) -> LocationZones {
        LocationZones(std::sync::RwLock::new(self.read().clone()))
    }
}

impl PartialEq for LocationZones {
    fn eq(&self, other: &LocationZones) -> bool {
        *self.read() == *other.read()
    }
}

/// The business calendar, the targets and when to warn.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadlinePolicy {
    /// The business's calendar: its time zone, working hours and holidays.
    pub calendar: BusinessCalendar,
    /// Locations (shop, branch, point of sale, as written on cases) with calendars of their own.
    pub locations: std::collections::BTreeMap<String, BusinessCalendar>,
    pub rules: Vec<DeadlineRule>,
    /// The share of a target after which a deadline is in warning, `0 < warn_at < 1`.
    pub warn_at: f64,
    /// How long before a promised date (the end of that day) its warning comes, in calendar time.
    pub due_date_warning: Duration,
    /// Locations kept in the database whose time zone differs from the business's and which
    /// the file gives no calendar: the business's hours on their clocks.
    pub zones: LocationZones,
}

/// The share of a target after which a deadline is in warning, unless configured.
pub const DEFAULT_WARN_AT: f64 = 0.75;

/// How long before a promised date its warning comes, unless configured: a day.
pub const DEFAULT_DUE_DATE_WARNING: Duration = Duration::DAY;

/// What a case's clocks are read from. The deadline watch and the work view both read a case's
/// clocks through [`DeadlinePolicy::clocks`], so they never disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockFacts<'a> {
    pub kind: Kind,
    pub priority: Priority,
    pub public: bool,
    pub location: Option<&'a str>,
    pub created_at: OffsetDateTime,
    pub pauses: &'a [Pause],
    pub first_response_at: Option<OffsetDateTime>,
    pub resolved_at: Option<OffsetDateTime>,
    /// The case's stage carries a promised date (`watch_due_date`): the resolution clock stops.
    pub watches_due_date: bool,
    /// The date promised to the customer, if one was set.
    pub due_on: Option<time::Date>,
}

/// One of a case's clocks at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockReading {
    pub milestone: Milestone,
    pub status: DeadlineStatus,
    /// The milestone was reached.
    pub met: bool,
    /// When the clock reaches its warning, while it is ok and running.
    pub warning_at: Option<OffsetDateTime>,
}

impl DeadlinePolicy {
    /// The target for a milestone of a case, if any row sets one.
    pub fn target(&self, kind: Kind, priority: Priority, public: bool, milestone: Milestone) -> Option<Target> {
        self.rules
            .iter()
            .filter(|rule| rule.matches(kind, priority, public))
            .filter_map(|rule| Some((rule.specificity(), rule.target(milestone)?)))
            .fold(None, |best: Option<(usize, Target)>, (score, target)| match best {
                Some((best_score, _)) if best_score > score => best,
                _ => Some((score, target)),
            })
            .map(|(_, target)| target)
    }

    /// A case's clocks at `now`: first response and resolution by the targets for its kind,
    /// priority and visibility; in a stage that carries a promised date, that date instead of
    /// the resolution clock.
    pub fn clocks(&self, facts: &ClockFacts<'_>, now: OffsetDateTime) -> Vec<ClockReading> {
        let mut clocks = Vec::with_capacity(2);
        for milestone in [Milestone::FirstResponse, Milestone::Resolution] {
            if milestone == Milestone::Resolution && facts.watches_due_date {
                continue;
            }
            let Some(target) = self.target(facts.kind, facts.priority, facts.public, milestone) else { continue };
            let status = self.status_at(target, facts.location, facts.created_at, facts.pauses, now);
            let warning_at = (status.state == DeadlineState::Ok)
                .then(|| self.warning_at(target, facts.location, facts.created_at, facts.pauses, now))
                .flatten();
            let met = milestone.is_met(facts.first_response_at, facts.resolved_at);
            clocks.push(ClockReading { milestone, status, met, warning_at });
        }
        if facts.watches_due_date
            && let Some(due_at) =
                facts.due_on.and_then(|date| self.calendar_at(facts.location, Hours::Business).end_of(date))
        {
            let warn_from = due_at - self.due_date_warning;
            let state = if now >= due_at {
                DeadlineState::Breached
            } else if now >= warn_from {
                DeadlineState::Warning
            } else {
                DeadlineState::Ok
            };
            let elapsed = (now - facts.created_at).max(Duration::ZERO);
            let status = DeadlineStatus { state, due_at: Some(due_at), elapsed, paused: false };
            let warning_at = (state == DeadlineState::Ok).then_some(warn_from);
            let met = Milestone::DueDate.is_met(facts.first_response_at, facts.resolved_at);
            clocks.push(ClockReading { milestone: Milestone::DueDate, status, met, warning_at });
        }
        clocks
    }

    /// The calendar a target counts in.
    pub fn calendar_for(&self, hours: Hours) -> Cow<'_, BusinessCalendar> {
        self.calendar_at(None, hours)
    }

    /// The calendar a target counts in at a location: the location's own when it has one, the
    /// business's otherwise.
    pub fn calendar_at(&self, location: Option<&str>, hours: Hours) -> Cow<'_, BusinessCalendar> {
        match (hours, location) {
            (Hours::Calendar, _) => Cow::Owned(BusinessCalendar::always()),
            (Hours::Business, None) => Cow::Borrowed(&self.calendar),
            (Hours::Business, Some(name)) => match self.locations.get(name) {
                Some(calendar) => Cow::Borrowed(calendar),
                None => self.zones.read().get(name).cloned().map_or(Cow::Borrowed(&self.calendar), Cow::Owned),
            },
        }
    }

    /// Takes the locations kept in the database: `(slug, time zone, weekly hours)`. Each that
    /// the file gives no calendar and that has a zone or hours of its own counts its deadlines
    /// in them from now on (what it does not give is the business's; holidays are the
    /// business's).
    pub fn set_location_calendars(
        &self,
        locations: impl IntoIterator<Item = (String, Option<String>, Option<[Vec<crate::WorkingHours>; 7]>)>,
    ) {
        let calendars = locations
            .into_iter()
            .filter(|(slug, zone, week)| {
                let own_zone = zone.as_deref().is_some_and(|zone| zone != self.calendar.time_zone());
                !self.locations.contains_key(slug) && (own_zone || week.is_some())
            })
            .filter_map(|(slug, zone, week)| {
                self.calendar.adapted(zone.as_deref(), week).ok().map(|calendar| (slug, calendar))
            })
            .collect();
        *self.zones.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = calendars;
    }

    /// When a deadline reaches its warning share (`warn_at` of the target), counting business
    /// time in the location's calendar; `None` while its clock is stopped.
    pub fn warning_at(
        &self,
        target: Target,
        location: Option<&str>,
        started_at: OffsetDateTime,
        pauses: &[Pause],
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        let share = Duration::seconds_f64(target.within.as_seconds_f64() * self.warn_at);
        self.calendar_at(location, target.hours).due(started_at, share, pauses, now)
    }

    /// Like [`DeadlinePolicy::status`], counting business time in the location's calendar.
    pub fn status_at(
        &self,
        target: Target,
        location: Option<&str>,
        started_at: OffsetDateTime,
        pauses: &[Pause],
        now: OffsetDateTime,
    ) -> DeadlineStatus {
        self.status_in(&self.calendar_at(location, target.hours), target, started_at, pauses, now)
    }

    /// The state at `now` of a deadline whose clock started at `started_at` and stopped during
    /// `pauses`. For a milestone already reached, pass the instant it was reached as `now`.
    pub fn status(
        &self,
        target: Target,
        started_at: OffsetDateTime,
        pauses: &[Pause],
        now: OffsetDateTime,
    ) -> DeadlineStatus {
        self.status_in(&self.calendar_for(target.hours), target, started_at, pauses, now)
    }

    fn status_in(
        &self,
        calendar: &BusinessCalendar,
        target: Target,
        started_at: OffsetDateTime,
        pauses: &[Pause],
        now: OffsetDateTime,
    ) -> DeadlineStatus {
        let elapsed = calendar.elapsed(started_at, pauses, now);
        let due_at = calendar.due(started_at, target.within, pauses, now);
        let paused = pauses.iter().any(|pause| pause.from <= now && pause.to.is_none_or(|to| to > now));
        let state = if elapsed >= target.within {
            DeadlineState::Breached
        } else if elapsed.as_seconds_f64() >= target.within.as_seconds_f64() * self.warn_at {
            DeadlineState::Warning
        } else {
            DeadlineState::Ok
        };
        DeadlineStatus { state, due_at, elapsed, paused }
    }
}
