//! Business-hours arithmetic on fixed instants: within a day, overnight, weekends, holidays,
//! time zones with and without daylight saving, pauses while a case waits on the customer; and
//! the deadline policy's targets and states.

use otklik_core::{
    BusinessCalendar, CalendarError, DeadlinePolicy, DeadlineState, Holiday, Hours, Kind, Milestone, Pause, Priority,
    Target, Workflow, WorkingHours,
};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

/// The built-in calendar: Europe/Moscow, Monday to Friday 09:00–18:00, Russian public holidays.
fn moscow() -> BusinessCalendar {
    Workflow::builtin().deadlines.calendar
}

fn policy() -> DeadlinePolicy {
    Workflow::builtin().deadlines
}

fn hours(start: &str, end: &str) -> WorkingHours {
    let minute = |clock: &str| {
        let (h, m) = clock.split_once(':').unwrap();
        h.parse::<u16>().unwrap() * 60 + m.parse::<u16>().unwrap()
    };
    WorkingHours { start_minute: minute(start), end_minute: minute(end) }
}

/// New York, Monday to Friday 09:00–17:00, Sunday round the clock.
fn new_york() -> BusinessCalendar {
    let weekday = vec![hours("09:00", "17:00")];
    let week = [
        weekday.clone(),
        weekday.clone(),
        weekday.clone(),
        weekday.clone(),
        weekday,
        vec![],
        vec![hours("00:00", "24:00")],
    ];
    BusinessCalendar::new("America/New_York", week, []).unwrap()
}

// ── Adding business time ────────────────────────────────────────────────────────────────────

#[test]
fn business_time_within_one_day() {
    let due = moscow().add_business(datetime!(2026-03-10 10:00 +3), Duration::hours(2));
    assert_eq!(due, datetime!(2026-03-10 12:00 +3));
}

#[test]
fn business_time_continues_next_morning() {
    let due = moscow().add_business(datetime!(2026-03-10 17:00 +3), Duration::hours(2));
    assert_eq!(due, datetime!(2026-03-11 10:00 +3));
}

#[test]
fn question_deadline_skips_weekend() {
    let due = moscow().add_business(datetime!(2026-03-13 17:30 +3), Duration::hours(1));
    assert_eq!(due, datetime!(2026-03-16 09:30 +3), "Friday 17:30 + 1 working hour = Monday 09:30");
}

#[test]
fn clock_started_at_the_weekend_starts_counting_on_monday() {
    let due = moscow().add_business(datetime!(2026-03-14 12:00 +3), Duration::hours(1));
    assert_eq!(due, datetime!(2026-03-16 10:00 +3));
}

#[test]
fn input_in_another_offset_gives_the_same_instant() {
    let due = moscow().add_business(datetime!(2026-03-10 14:00 UTC), Duration::hours(2));
    assert_eq!(due, datetime!(2026-03-11 10:00 +3), "14:00 UTC is 17:00 in Moscow");
}

#[test]
fn every_year_holiday_is_skipped() {
    // 12 June 2026, Russia Day, is a Friday.
    let calendar = moscow();
    assert!(calendar.is_holiday(date!(2026 - 06 - 12)));
    let due = calendar.add_business(datetime!(2026-06-11 17:00 +3), Duration::hours(2));
    assert_eq!(due, datetime!(2026-06-15 10:00 +3));
}

#[test]
fn new_year_holidays_are_skipped() {
    // 1–8 January are days off; 9 January 2026 is a Friday.
    let due = moscow().add_business(datetime!(2025-12-31 17:00 +3), Duration::hours(2));
    assert_eq!(due, datetime!(2026-01-09 10:00 +3));
}

#[test]
fn one_day_holiday_is_skipped() {
    let weekday = vec![hours("09:00", "18:00")];
    let week = std::array::from_fn(|day| if day < 5 { weekday.clone() } else { vec![] });
    let calendar = BusinessCalendar::new("Europe/Moscow", week, [Holiday::Date(date!(2026 - 03 - 11))]).unwrap();
    let due = calendar.add_business(datetime!(2026-03-10 17:00 +3), Duration::hours(2));
    assert_eq!(due, datetime!(2026-03-12 10:00 +3));
}

#[test]
fn lunch_break_is_not_counted() {
    let day = vec![hours("09:00", "13:00"), hours("14:00", "18:00")];
    let week = std::array::from_fn(|index| if index < 5 { day.clone() } else { vec![] });
    let calendar = BusinessCalendar::new("Europe/Moscow", week, []).unwrap();
    assert_eq!(
        calendar.add_business(datetime!(2026-03-10 12:00 +3), Duration::hours(2)),
        datetime!(2026-03-10 15:00 +3)
    );
    assert!(!calendar.is_business_time(datetime!(2026-03-10 13:30 +3)));
    assert!(calendar.is_business_time(datetime!(2026-03-10 14:00 +3)));
}

// ── Counting business time between two instants ─────────────────────────────────────────────

#[test]
fn business_between_counts_only_working_hours() {
    let calendar = moscow();
    let between = |a, b| calendar.business_between(a, b);
    assert_eq!(between(datetime!(2026-03-13 17:00 +3), datetime!(2026-03-16 10:00 +3)), Duration::hours(2));
    assert_eq!(between(datetime!(2026-03-16 09:00 +3), datetime!(2026-03-23 09:00 +3)), Duration::hours(45));
    assert_eq!(between(datetime!(2026-03-16 12:00 +3), datetime!(2026-03-16 10:00 +3)), Duration::ZERO);
}

#[test]
fn business_between_and_add_business_agree() {
    let calendar = moscow();
    let start = datetime!(2026-03-12 15:17 +3);
    for minutes in [1, 59, 60, 180, 540, 541, 2000, 10_000] {
        let due = calendar.add_business(start, Duration::minutes(minutes));
        assert_eq!(calendar.business_between(start, due), Duration::minutes(minutes), "{minutes} minutes");
    }
}

// ── Daylight saving ─────────────────────────────────────────────────────────────────────────

#[test]
fn new_york_business_hours_across_spring_forward() {
    // Friday 6 March 2026 16:00 EST; clocks move forward on Sunday 8 March.
    let friday = datetime!(2026-03-06 16:00 -5);
    let due = new_york().add_business(friday, Duration::hours(26));
    // 1 hour on Friday, 23 real hours on the short Sunday, 2 hours on Monday (EDT).
    assert_eq!(due, datetime!(2026-03-09 11:00 -4));
}

#[test]
fn new_york_sunday_of_fall_back_has_25_hours() {
    let calendar = new_york();
    let sunday = calendar.business_between(datetime!(2026-11-01 00:00 -4), datetime!(2026-11-02 00:00 -5));
    assert_eq!(sunday, Duration::hours(25));
}

#[test]
fn monday_hours_keep_local_wall_clock_after_the_change() {
    let due = new_york().add_business(datetime!(2026-03-09 08:00 -4), Duration::hours(1));
    assert_eq!(due, datetime!(2026-03-09 10:00 -4), "09:00 EDT + 1 hour");
}

#[test]
fn calendar_hours_are_real_hours_across_a_change() {
    let start = datetime!(2026-03-07 12:00 -5);
    assert_eq!(BusinessCalendar::always().add_business(start, Duration::hours(24)), datetime!(2026-03-08 13:00 -4));
}

// ── Pauses while waiting on the customer ────────────────────────────────────────────────────

const START: OffsetDateTime = datetime!(2026-03-16 09:00 +3);

#[test]
fn closed_pause_moves_the_due_time() {
    let pauses = [Pause { from: datetime!(2026-03-16 10:00 +3), to: Some(datetime!(2026-03-16 14:00 +3)) }];
    let now = datetime!(2026-03-16 15:00 +3);
    let calendar = moscow();
    assert_eq!(calendar.due(START, Duration::hours(4), &pauses, now), Some(datetime!(2026-03-16 17:00 +3)));
    assert_eq!(calendar.elapsed(START, &pauses, now), Duration::hours(2));
}

#[test]
fn open_pause_has_no_due_time() {
    let pauses = [Pause { from: datetime!(2026-03-16 10:00 +3), to: None }];
    let now = datetime!(2026-03-17 16:00 +3);
    let calendar = moscow();
    assert_eq!(calendar.due(START, Duration::hours(4), &pauses, now), None);
    assert_eq!(calendar.elapsed(START, &pauses, now), Duration::hours(1));
}

#[test]
fn overlapping_pauses_count_once() {
    let pauses = [
        Pause { from: datetime!(2026-03-16 10:00 +3), to: Some(datetime!(2026-03-16 12:00 +3)) },
        Pause { from: datetime!(2026-03-16 11:00 +3), to: Some(datetime!(2026-03-16 13:00 +3)) },
    ];
    let now = datetime!(2026-03-16 18:00 +3);
    assert_eq!(moscow().elapsed(START, &pauses, now), Duration::hours(6));
}

#[test]
fn pause_after_the_deadline_does_not_hide_the_breach() {
    let pauses = [Pause { from: datetime!(2026-03-16 11:00 +3), to: None }];
    let target = Target { within: Duration::hours(1), hours: Hours::Business };
    let status = policy().status(target, START, &pauses, datetime!(2026-03-16 12:00 +3));
    assert_eq!(status.state, DeadlineState::Breached);
    assert_eq!(status.due_at, Some(datetime!(2026-03-16 10:00 +3)));
    assert!(status.paused);
}

// ── The deadline policy ─────────────────────────────────────────────────────────────────────

#[test]
fn public_complaints_get_the_fastest_first_response() {
    let policy = policy();
    let first = |kind, priority, public| policy.target(kind, priority, public, Milestone::FirstResponse).unwrap();
    let one_working_hour = Target { within: Duration::hours(1), hours: Hours::Business };
    assert_eq!(first(Kind::Complaint, Priority::Normal, true), one_working_hour);
    assert_eq!(first(Kind::Complaint, Priority::Normal, false).within, Duration::hours(2));
    assert_eq!(first(Kind::Complaint, Priority::Urgent, false), one_working_hour);
}

#[test]
fn question_answered_and_referral_contacted_within_a_calendar_day() {
    let policy = policy();
    let day = Target { within: Duration::hours(24), hours: Hours::Calendar };
    assert_eq!(policy.target(Kind::Question, Priority::Low, false, Milestone::FirstResponse), Some(day));
    assert_eq!(policy.target(Kind::Question, Priority::High, true, Milestone::Resolution), Some(day));
    assert_eq!(policy.target(Kind::Referral, Priority::Normal, false, Milestone::FirstResponse), Some(day));
}

#[test]
fn most_specific_row_wins_per_milestone() {
    let policy = policy();
    // The public-complaint row sets no resolution: the complaint row's applies.
    let resolution = policy.target(Kind::Complaint, Priority::Normal, true, Milestone::Resolution).unwrap();
    assert_eq!(resolution.within, Duration::hours(27));
    let urgent = policy.target(Kind::Complaint, Priority::Urgent, true, Milestone::Resolution).unwrap();
    assert_eq!(urgent.within, Duration::hours(9));
    let idea = policy.target(Kind::Idea, Priority::Normal, false, Milestone::FirstResponse).unwrap();
    assert_eq!(idea, Target { within: Duration::hours(4), hours: Hours::Business }, "the catch-all row");
}

#[test]
fn question_deadline_goes_ok_warning_breached_in_calendar_hours() {
    let policy = policy();
    let target = policy.target(Kind::Question, Priority::Normal, false, Milestone::FirstResponse).unwrap();
    let asked = datetime!(2026-03-13 20:00 +3);
    let at = |now| policy.status(target, asked, &[], now);
    let ok = at(datetime!(2026-03-14 13:59 +3));
    assert_eq!(ok.state, DeadlineState::Ok);
    assert_eq!(ok.due_at, Some(datetime!(2026-03-14 20:00 +3)), "calendar hours run through Saturday");
    assert_eq!(at(datetime!(2026-03-14 14:00 +3)).state, DeadlineState::Warning, "18 of 24 hours is 75%");
    let breached = at(datetime!(2026-03-14 20:00 +3));
    assert_eq!(breached.state, DeadlineState::Breached);
    assert_eq!(breached.elapsed, Duration::hours(24));
}

#[test]
fn complaint_deadline_waiting_on_the_customer_is_paused_not_breached() {
    let policy = policy();
    let target = policy.target(Kind::Complaint, Priority::Normal, false, Milestone::Resolution).unwrap();
    let pauses = [Pause { from: datetime!(2026-03-16 12:00 +3), to: None }];
    let status = policy.status(target, START, &pauses, datetime!(2026-04-20 12:00 +3));
    assert_eq!(status.state, DeadlineState::Ok);
    assert!(status.paused);
    assert_eq!(status.due_at, None);
    assert_eq!(status.elapsed, Duration::hours(3));
}

// ── Building a calendar ─────────────────────────────────────────────────────────────────────

#[test]
fn calendar_without_hours_or_with_overlaps_or_unknown_zone_is_refused() {
    let empty: [Vec<WorkingHours>; 7] = Default::default();
    assert_eq!(BusinessCalendar::new("UTC", empty, []), Err(CalendarError::NoWorkingHours));
    let mut overlapping: [Vec<WorkingHours>; 7] = Default::default();
    overlapping[2] = vec![hours("09:00", "13:00"), hours("12:00", "18:00")];
    assert_eq!(BusinessCalendar::new("UTC", overlapping, []), Err(CalendarError::Overlap(3)));
    let mut week: [Vec<WorkingHours>; 7] = Default::default();
    week[0] = vec![hours("09:00", "18:00")];
    assert_eq!(
        BusinessCalendar::new("Europe/Atlantis", week, []),
        Err(CalendarError::UnknownTimeZone("Europe/Atlantis".into()))
    );
}

#[test]
fn a_location_counts_business_time_in_its_own_hours_and_time_zone() {
    let file = Workflow::builtin_toml().replace(
        "[deadlines]\nwarn_at",
        "[calendar.location.\"Хрещатик, 22\"]\ntime_zone = \"Europe/Kyiv\"\nmon = [\"10:00-20:00\"]\n\
         tue = [\"10:00-20:00\"]\nwed = [\"10:00-20:00\"]\nthu = [\"10:00-20:00\"]\nfri = [\"10:00-20:00\"]\n\
         sat = [\"10:00-16:00\"]\n\n[deadlines]\nwarn_at",
    );
    let policy = Workflow::from_toml(&file).unwrap_or_else(|e| panic!("{e}")).deadlines;
    let target = policy.target(Kind::Complaint, Priority::Normal, false, Milestone::FirstResponse).unwrap();
    // Friday 17:00 UTC: after hours in Moscow (20:00), still open in Kyiv (19:00) for an hour.
    let friday = datetime!(2026-11-27 17:00 UTC);
    let saturday_noon = datetime!(2026-11-28 10:00 UTC);
    let kyiv = policy.status_at(target, Some("Хрещатик, 22"), friday, &[], saturday_noon);
    let moscow = policy.status_at(target, Some("Тверская, 1"), friday, &[], saturday_noon);
    assert_eq!(kyiv.elapsed, Duration::hours(3), "Friday 19–20 and Saturday 10–12 in Kyiv");
    assert_eq!(moscow.elapsed, Duration::ZERO, "a location without its own hours keeps the business's");
    assert_eq!(kyiv.state, DeadlineState::Breached);

    let nested = file.replace(
        "sat = [\"10:00-16:00\"]\n\n[deadlines]",
        "sat = [\"10:00-16:00\"]\n[calendar.location.\"Хрещатик, 22\".location.x]\ntime_zone = \"UTC\"\n\n[deadlines]",
    );
    let errors = Workflow::from_toml(&nested).unwrap_err().to_string();
    assert!(errors.contains("no locations of its own"), "{errors}");
}

#[test]
fn an_instant_is_shown_on_the_business_clock() {
    let moscow = otklik_core::BusinessCalendar::new(
        "Europe/Moscow",
        std::array::from_fn(|_| vec![otklik_core::WorkingHours { start_minute: 540, end_minute: 1080 }]),
        [],
    )
    .unwrap();
    let local = moscow.local(time::macros::datetime!(2026-11-30 08:08 UTC));
    assert_eq!((local.hour(), local.minute(), local.offset().whole_hours()), (11, 8, 3));
    assert_eq!(local, time::macros::datetime!(2026-11-30 08:08 UTC), "the same instant");
}

#[test]
fn a_location_kept_in_the_database_counts_the_business_hours_on_its_own_clocks() {
    let policy = policy();
    assert_eq!(policy.calendar_at(Some("vladivostok"), Hours::Business).time_zone(), "Europe/Moscow");
    policy.set_location_calendars([
        ("vladivostok".to_owned(), Some("Asia/Vladivostok".to_owned()), None),
        ("moscow".to_owned(), Some("Europe/Moscow".to_owned()), None),
        ("weekend".to_owned(), None, Some(otklik_core::parse_week("sat-sun 10:00-16:00").unwrap())),
    ]);
    assert_eq!(policy.calendar_at(Some("vladivostok"), Hours::Business).time_zone(), "Asia/Vladivostok");
    assert_eq!(policy.calendar_at(Some("moscow"), Hours::Business).time_zone(), "Europe/Moscow");
    assert_eq!(policy.calendar_at(None, Hours::Business).time_zone(), "Europe/Moscow");
    // A Monday 05:00 UTC: 08:00 in Moscow (before opening), 15:00 in Vladivostok (open).
    let monday = datetime!(2026-12-07 05:00 UTC);
    let vladivostok = policy.calendar_at(Some("vladivostok"), Hours::Business);
    let moscow = policy.calendar_at(None, Hours::Business);
    let hour = time::Duration::hours(1);
    assert_eq!(vladivostok.due(monday, hour, &[], monday), Some(datetime!(2026-12-07 06:00 UTC)));
    assert_eq!(moscow.due(monday, hour, &[], monday), Some(datetime!(2026-12-07 07:00 UTC)));
    // A Saturday 08:00 UTC (11:00 in Moscow): the weekend shop is open, the office is not.
    let saturday = datetime!(2026-12-05 08:00 UTC);
    let weekend = policy.calendar_at(Some("weekend"), Hours::Business);
    assert_eq!(weekend.due(saturday, hour, &[], saturday), Some(datetime!(2026-12-05 09:00 UTC)));
    policy.set_location_calendars([]);
    assert_eq!(policy.calendar_at(Some("vladivostok"), Hours::Business).time_zone(), "Europe/Moscow", "forgotten");
}

#[test]
fn a_week_is_written_in_one_line() {
    let week = otklik_core::parse_week("mon-fri 09:00-13:00, 14:00-18:00; sat 10:00-16:00").unwrap();
    assert_eq!(week[0], vec![hours("09:00", "13:00"), hours("14:00", "18:00")]);
    assert_eq!(week[4], week[0]);
    assert_eq!(week[5], vec![hours("10:00", "16:00")]);
    assert!(week[6].is_empty(), "a day not named is a day off");
    for wrong in ["", "mon", "funday 09:00-18:00", "fri-mon 09:00-18:00", "mon 18:00-09:00", "mon 9-18"] {
        assert!(otklik_core::parse_week(wrong).is_err(), "{wrong:?}");
    }
}

#[test]
fn a_working_saturday_counts_and_a_listed_day_off_does_not() {
    // 2026-11-28 is a Saturday, 2026-11-30 a Monday.
    let file = Workflow::builtin_toml()
        .replace("working_days = []", "working_days = [\"2026-11-28\", \"2026-01-02\"]")
        .replace("\"02-23\",", "\"02-23\", \"2026-11-30\",");
    let calendar = Workflow::from_toml(&file).expect("the calendar loads").deadlines.calendar;
    // Friday 17:00 Moscow + 2 working hours: one on Friday, one on the working Saturday.
    let friday = datetime!(2026-11-27 14:00 UTC);
    assert_eq!(calendar.add_business(friday, Duration::hours(2)), datetime!(2026-11-28 07:00 UTC));
    assert!(calendar.is_business_time(datetime!(2026-11-28 10:00 UTC)));
    assert!(!moscow().is_business_time(datetime!(2026-11-28 10:00 UTC)), "an ordinary Saturday is off");
    // The listed Monday is off: Saturday 17:00 + 2 hours lands on Tuesday.
    assert_eq!(
        calendar.add_business(datetime!(2026-11-28 14:00 UTC), Duration::hours(2)),
        datetime!(2026-12-01 07:00 UTC)
    );
    // A working day wins over an every-year holiday.
    assert!(calendar.is_business_time(datetime!(2026-01-02 08:00 UTC)));
    // Only dates are working days.
    let wrong = Workflow::builtin_toml().replace("working_days = []", "working_days = [\"11-28\"]");
    let errors = Workflow::from_toml(&wrong).unwrap_err().to_string();
    assert!(errors.contains("working day `11-28`"), "{errors}");
}
