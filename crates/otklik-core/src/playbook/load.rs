//! The playbook file: playbooks per kind, the business calendar, deadline targets and
//! compensation limits, in TOML. Takes file contents, never reads files; every mistake found is
//! reported with its line, not only the first.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use time::Duration;
use toml::Spanned;

use super::{Action, Effect, Playbook, Playbooks, Requirement, Stage, StageSet};
use crate::calendar::{BusinessCalendar, Holiday, WorkingHours, working_hours};
use crate::compensation::ApprovalLimits;
use crate::deadline::{DEFAULT_DUE_DATE_WARNING, DEFAULT_WARN_AT, DeadlinePolicy, DeadlineRule, Hours, Target};
use crate::vocab::{Kind, Priority, Role, StageName, Status};

/// The built-in playbook file.
const BUILTIN_TOML: &str = include_str!("../../playbooks/default.toml");

/// Everything a playbook file configures.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    pub playbooks: Playbooks,
    pub deadlines: DeadlinePolicy,
}

/// One mistake in a playbook file: where (1-based line and column) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Every mistake found in a playbook file, in the order of the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlaybookErrors(pub Vec<PlaybookError>);

impl fmt::Display for PlaybookErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "line {}: {}", error.line, error.message)?;
        }
        Ok(())
    }
}

impl Workflow {
    /// The built-in workflow (`playbooks/default.toml`).
    pub fn builtin() -> Workflow {
        Workflow::from_toml(BUILTIN_TOML).expect("the built-in playbook file is valid: a test checks it")
    }

    /// The text of the built-in playbook file, to start a business's own from.
    pub fn builtin_toml() -> &'static str {
        BUILTIN_TOML
    }

    /// Parses and checks a playbook file. Playbooks for every kind are required; a file without
    /// `[calendar]`, `[deadlines]` or `[compensation]` keeps the built-in section.
    pub fn from_toml(source: &str) -> Result<Workflow, PlaybookErrors> {
        let mut errors = Errors { source, found: Vec::new() };
        let file: FileToml = match toml::from_str(source) {
            Ok(file) => file,
            Err(error) => {
                errors.at(error.span().unwrap_or(0..0), error.message().trim().replace('\n', "; "));
                return Err(errors.finish());
            }
        };
        let playbooks = playbooks(&mut errors, file.playbook);
        let approval_limits = file.compensation.map(|section| approval_limits(&mut errors, section));
        let mut locations = BTreeMap::new();
        let calendar = file.calendar.map(|mut section| {
            for (name, raw) in std::mem::take(&mut section.get_mut().location) {
                if !raw.get_ref().location.is_empty() {
                    errors.at(
                        raw.span(),
                        format!("[calendar.location.\"{name}\"]: a location has no locations of its own"),
                    );
                }
                if let Some(found) = calendar(&mut errors, raw) {
                    locations.insert(name, found);
                }
            }
            calendar(&mut errors, section)
        });
        let deadlines = file.deadlines.map(|section| deadline_rules(&mut errors, section));
        if !errors.found.is_empty() {
            return Err(errors.finish());
        }
        let builtin = || Workflow::builtin();
        let (approval_limits, calendar, (rules, warn_at, due_date_warning)) = (
            approval_limits.unwrap_or_else(|| builtin().playbooks.approval_limits),
            calendar.flatten().unwrap_or_else(|| builtin().deadlines.calendar),
            deadlines.unwrap_or_else(|| {
                let policy = builtin().deadlines;
                (policy.rules, policy.warn_at, policy.due_date_warning)
            }),
        );
        Ok(Workflow {
            playbooks: Playbooks { playbooks, approval_limits },
            deadlines: DeadlinePolicy {
                calendar,
                locations,
                rules,
                warn_at,
                due_date_warning,
                zones: Default::default(),
            },
        })
    }
}

/// Errors found so far, with the source to turn byte offsets into lines.
struct Errors<'s> {
    source: &'s str,
    found: Vec<PlaybookError>,
}

impl Errors<'_> {
    fn at(&mut self, span: Range<usize>, message: impl Into<String>) {
        let offset = span.start.min(self.source.len());
        let before = &self.source[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |text| text.chars().count()) + 1;
        self.found.push(PlaybookError { line, column, message: message.into() });
    }

    fn line(&self, span: &Range<usize>) -> usize {
        self.source[..span.start.min(self.source.len())].matches('\n').count() + 1
    }

    fn finish(mut self) -> PlaybookErrors {
        self.found.sort_by_key(|error| (error.line, error.column));
        PlaybookErrors(self.found)
    }
}

/// Parses a word of a vocabulary, reporting an unknown one where it is written.
fn word<T: std::str::FromStr<Err = crate::vocab::UnknownWord>>(
    errors: &mut Errors,
    word: &Spanned<String>,
) -> Option<T> {
    word.get_ref().parse().map_err(|error: crate::vocab::UnknownWord| errors.at(word.span(), error.to_string())).ok()
}

// ── The file's shape ────────────────────────────────────────────────────────────────────────

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    playbook: BTreeMap<String, Spanned<PlaybookToml>>,
    calendar: Option<Spanned<CalendarToml>>,
    deadlines: Option<DeadlinesToml>,
    compensation: Option<Spanned<CompensationToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaybookToml {
    initial: Spanned<String>,
    #[serde(default)]
    stage: Vec<Spanned<StageToml>>,
    #[serde(default)]
    action: Vec<Spanned<ActionToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StageToml {
    name: Spanned<String>,
    status: Spanned<String>,
    #[serde(default)]
    waits_on_customer: bool,
    #[serde(default)]
    terminal: bool,
    #[serde(default)]
    watch_due_date: bool,
    #[serde(default)]
    formerly: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionToml {
    name: Spanned<String>,
    from: Vec<Spanned<String>>,
    to: Option<Spanned<String>>,
    #[serde(default)]
    roles: Vec<Spanned<String>>,
    #[serde(default)]
    requires: Vec<Spanned<String>>,
    emits: Option<Spanned<String>>,
    #[serde(default)]
    effects: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarToml {
    time_zone: Spanned<String>,
    #[serde(default)]
    mon: Vec<Spanned<String>>,
    #[serde(default)]
    tue: Vec<Spanned<String>>,
    #[serde(default)]
    wed: Vec<Spanned<String>>,
    #[serde(default)]
    thu: Vec<Spanned<String>>,
    #[serde(default)]
    fri: Vec<Spanned<String>>,
    #[serde(default)]
    sat: Vec<Spanned<String>>,
    #[serde(default)]
    sun: Vec<Spanned<String>>,
    #[serde(default)]
    holidays: Vec<Spanned<String>>,
    #[serde(default)]
    working_days: Vec<Spanned<String>>,
    /// `[calendar.location."Невский, 28"]`: a location's own hours (same keys, no `location`).
    #[serde(default)]
    location: BTreeMap<String, Spanned<CalendarToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeadlinesToml {
    warn_at: Option<Spanned<f64>>,
    due_date_warning: Option<Spanned<String>>,
    #[serde(default)]
    target: Vec<Spanned<TargetToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetToml {
    kind: Option<Spanned<String>>,
    priority: Option<Spanned<String>>,
    public: Option<bool>,
    first_response: Option<Spanned<String>>,
    resolution: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompensationToml {
    currency: Spanned<String>,
    #[serde(default)]
    limits: BTreeMap<String, Spanned<u64>>,
}

// ── Playbooks ───────────────────────────────────────────────────────────────────────────────

fn playbooks(errors: &mut Errors, raw: BTreeMap<String, Spanned<PlaybookToml>>) -> BTreeMap<Kind, Playbook> {
    let mut playbooks = BTreeMap::new();
    let mut written: BTreeSet<Kind> = BTreeSet::new();
    for (name, playbook) in raw {
        let span = playbook.span();
        match name.parse::<Kind>() {
            Ok(kind) => {
                written.insert(kind);
                if let Some(playbook) = check_playbook(errors, kind, playbook) {
                    playbooks.insert(kind, playbook);
                }
            }
            Err(error) => errors.at(span, format!("[playbook.{name}]: {error}")),
        }
    }
    let missing: Vec<&str> =
        Kind::ALL.iter().filter(|kind| !written.contains(kind)).map(|kind| kind.as_str()).collect();
    if !missing.is_empty() {
        errors.at(0..0, format!("no playbook for kind(s): {}; every kind needs one", missing.join(", ")));
    }
    playbooks
}

/// Checks one playbook, reporting every mistake; `None` if there was one.
fn check_playbook(errors: &mut Errors, kind: Kind, raw: Spanned<PlaybookToml>) -> Option<Playbook> {
    let errors_before = errors.found.len();
    let span = raw.span();
    let raw = raw.into_inner();
    let (stages, stage_spans) = check_stages(errors, kind, &raw.stage);
    if stages.is_empty() {
        errors.at(span, format!("the {kind} playbook has no stages"));
        return None;
    }
    let stage_names: BTreeMap<&str, &Stage> = stages.iter().map(|stage| (stage.name.as_str(), stage)).collect();
    let initial_known = stage_names.contains_key(raw.initial.get_ref().as_str());
    if !initial_known {
        let message = format!("initial stage `{}` is not a stage of the {kind} playbook", raw.initial.get_ref());
        errors.at(raw.initial.span(), message);
    }
    let errors_before_actions = errors.found.len();
    let mut actions: Vec<Action> = Vec::new();
    let mut action_lines: BTreeMap<String, usize> = BTreeMap::new();
    for action in &raw.action {
        let name = action.get_ref().name.get_ref();
        if let Some(first) = action_lines.get(name) {
            let message = format!("action `{name}` is defined twice (first on line {first})");
            errors.at(action.get_ref().name.span(), message);
            continue;
        }
        action_lines.insert(name.clone(), errors.line(&action.get_ref().name.span()));
        if let Some(action) = check_action(errors, kind, &stage_names, action.get_ref()) {
            actions.push(action);
        }
    }
    let actions_valid = errors.found.len() == errors_before_actions;
    let playbook = Playbook { kind, initial: raw.initial.into_inner(), stages, actions };
    // With an action or the initial stage missing, the graph would show false dead ends.
    if initial_known && actions_valid {
        check_graph(errors, &playbook, &stage_spans);
    }
    (errors.found.len() == errors_before).then_some(playbook)
}

/// The stages, without duplicates, and where each name is written.
fn check_stages(errors: &mut Errors, kind: Kind, raw: &[Spanned<StageToml>]) -> (Vec<Stage>, Vec<Range<usize>>) {
    let mut stages: Vec<Stage> = Vec::new();
    let mut spans: Vec<Range<usize>> = Vec::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for stage in raw.iter().map(Spanned::get_ref) {
        let name = stage.name.get_ref();
        if !is_name(name) {
            errors.at(stage.name.span(), format!("stage name `{name}` must be lowercase letters, digits and `_`"));
        }
        if let Some(first) = names.get(name) {
            let message = format!("stage `{name}` is defined twice in the {kind} playbook (first on line {first})");
            errors.at(stage.name.span(), message);
            continue;
        }
        names.insert(name.clone(), errors.line(&stage.name.span()));
        let status = word::<Status>(errors, &stage.status);
        stages.push(Stage {
            name: StageName::checked(name.clone()),
            status: status.unwrap_or(Status::Open),
            waits_on_customer: stage.waits_on_customer,
            terminal: stage.terminal,
            watch_due_date: stage.watch_due_date,
            formerly: stage.formerly.iter().map(|name| name.get_ref().clone()).collect(),
        });
        spans.push(stage.name.span());
    }
    let mut former_names: BTreeSet<&str> = BTreeSet::new();
    for stage in raw.iter().map(Spanned::get_ref) {
        for former in &stage.formerly {
            if names.contains_key(former.get_ref()) {
                errors.at(former.span(), format!("former name `{}` is the name of a current stage", former.get_ref()));
            } else if !former_names.insert(former.get_ref()) {
                errors.at(former.span(), format!("former name `{}` is given to two stages", former.get_ref()));
            }
        }
    }
    (stages, spans)
}

fn check_action(errors: &mut Errors, kind: Kind, stages: &BTreeMap<&str, &Stage>, raw: &ActionToml) -> Option<Action> {
    let errors_before = errors.found.len();
    let name = raw.name.get_ref();
    if !is_name(name) {
        errors.at(raw.name.span(), format!("action name `{name}` must be lowercase letters, digits and `_`"));
    }
    let from = if raw.from.iter().any(|stage| stage.get_ref() == "*") {
        StageSet::AnyOpen
    } else {
        for stage in &raw.from {
            match stages.get(stage.get_ref().as_str()) {
                None => errors.at(
                    stage.span(),
                    format!(
                        "action `{name}` starts from `{}`, which is not a stage of the {kind} playbook",
                        stage.get_ref()
                    ),
                ),
                Some(known) if known.terminal => errors.at(
                    stage.span(),
                    format!("action `{name}` starts from `{}`, a terminal stage: nothing leaves it", stage.get_ref()),
                ),
                Some(_) => {}
            }
        }
        if raw.from.is_empty() {
            errors.at(raw.name.span(), format!("action `{name}` has an empty `from`: list its stages, or \"*\""));
        }
        StageSet::Only(raw.from.iter().map(|stage| stage.get_ref().clone()).collect())
    };
    if let Some(to) = &raw.to
        && !stages.contains_key(to.get_ref().as_str())
    {
        errors.at(
            to.span(),
            format!("action `{name}` leads to `{}`, which is not a stage of the {kind} playbook", to.get_ref()),
        );
    }
    if raw.roles.is_empty() {
        errors.at(raw.name.span(), format!("action `{name}` has no role: say who may take it in `roles`"));
    }
    let roles: Vec<Role> = raw.roles.iter().filter_map(|role| word(errors, role)).collect();
    let requires: Vec<Requirement> = raw.requires.iter().filter_map(|requirement| word(errors, requirement)).collect();
    let effects: Vec<Effect> = raw.effects.iter().filter_map(|effect| word(errors, effect)).collect();
    for (effect, span) in effects.iter().zip(raw.effects.iter().map(Spanned::span)) {
        for needed in effect.needs() {
            if !requires.contains(needed) {
                errors
                    .at(span.clone(), format!("action `{name}` has effect `{effect}` but does not require `{needed}`"));
            }
        }
    }
    if let Some(emits) = &raw.emits
        && emits.get_ref().trim().is_empty()
    {
        errors.at(emits.span(), format!("action `{name}` emits an empty template key"));
    }
    (errors.found.len() == errors_before).then(|| Action {
        name: name.clone(),
        from,
        to: raw.to.as_ref().map(|to| to.get_ref().clone()),
        roles,
        requires,
        emits: raw.emits.as_ref().map(|emits| emits.get_ref().clone()),
        effects,
    })
}

/// Every stage reachable from the initial one; every stage that is not terminal has a way out.
fn check_graph(errors: &mut Errors, playbook: &Playbook, spans: &[Range<usize>]) {
    let mut reached: BTreeSet<&str> = BTreeSet::from([playbook.initial.as_str()]);
    let mut queue = VecDeque::from([playbook.initial_stage()]);
    while let Some(stage) = queue.pop_front() {
        for next in moves_out(playbook, stage) {
            if reached.insert(next.name.as_str()) {
                queue.push_back(next);
            }
        }
    }
    for (stage, span) in playbook.stages.iter().zip(spans) {
        if !reached.contains(stage.name.as_str()) {
            errors.at(
                span.clone(),
                format!("stage `{}` cannot be reached from the initial stage `{}`", stage.name, playbook.initial),
            );
        }
        if !stage.terminal && moves_out(playbook, stage).next().is_none() {
            errors.at(
                span.clone(),
                format!(
                    "stage `{}` has no way out and is not terminal: add an action from it or mark it `terminal = true`",
                    stage.name
                ),
            );
        }
    }
}

/// The stages actions lead to from `stage`, other than itself.
fn moves_out<'p>(playbook: &'p Playbook, stage: &'p Stage) -> impl Iterator<Item = &'p Stage> + 'p {
    playbook
        .actions
        .iter()
        .filter(move |action| action.from.contains(stage))
        .filter_map(move |action| action.to.as_deref().filter(|to| stage.name != *to).and_then(|to| playbook.stage(to)))
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

// ── Calendar, deadlines, compensation ───────────────────────────────────────────────────────

fn calendar(errors: &mut Errors, raw: Spanned<CalendarToml>) -> Option<BusinessCalendar> {
    let errors_before = errors.found.len();
    let span = raw.span();
    let raw = raw.into_inner();
    let days = [&raw.mon, &raw.tue, &raw.wed, &raw.thu, &raw.fri, &raw.sat, &raw.sun];
    let week: [Vec<WorkingHours>; 7] = days.map(|day| {
        day.iter()
            .filter_map(|interval| {
                working_hours(interval.get_ref()).map_err(|message| errors.at(interval.span(), message)).ok()
            })
            .collect()
    });
    let holidays: Vec<Holiday> = raw
        .holidays
        .iter()
        .filter_map(|holiday| holiday_of(holiday.get_ref()).map_err(|message| errors.at(holiday.span(), message)).ok())
        .collect();
    let working_days: Vec<time::Date> = raw
        .working_days
        .iter()
        .filter_map(|day| {
            match holiday_of(day.get_ref()) {
                Ok(Holiday::Date(date)) => Ok(date),
                _ => Err(format!("working day `{}` should be a date like `2025-11-01`", day.get_ref())),
            }
            .map_err(|message| errors.at(day.span(), message))
            .ok()
        })
        .collect();
    if errors.found.len() > errors_before {
        return None;
    }
    BusinessCalendar::new(raw.time_zone.get_ref(), week, holidays)
        .map(|calendar| calendar.with_working_days(working_days))
        .map_err(|error| {
            let at = match error {
                crate::calendar::CalendarError::UnknownTimeZone(_) => raw.time_zone.span(),
                _ => span,
            };
            errors.at(at, format!("[calendar]: {error}"));
        })
        .ok()
}

/// `2026-01-09` (that day) or `01-01` (every year).
fn holiday_of(text: &str) -> Result<Holiday, String> {
    let wrong = || format!("holiday `{text}` should be a date like `2026-01-09` or a day of every year like `01-01`");
    let parts: Vec<&str> = text.split('-').collect();
    let number = |part: &str| part.parse::<u16>().map_err(|_| wrong());
    match parts[..] {
        [year, month, day] if year.len() == 4 => {
            let month = time::Month::try_from(number(month)? as u8).map_err(|_| wrong())?;
            time::Date::from_calendar_date(i32::from(number(year)?), month, number(day)? as u8)
                .map(Holiday::Date)
                .map_err(|_| wrong())
        }
        [month, day] => {
            let (month, day) = (number(month)? as u8, number(day)? as u8);
            // A leap year, so that 02-29 is accepted.
            let month_value = time::Month::try_from(month).map_err(|_| wrong())?;
            time::Date::from_calendar_date(2024, month_value, day).map_err(|_| wrong())?;
            Ok(Holiday::EveryYear { month, day })
        }
        _ => Err(wrong()),
    }
}

fn deadline_rules(errors: &mut Errors, raw: DeadlinesToml) -> (Vec<DeadlineRule>, f64, time::Duration) {
    // Counted in calendar time before the end of the promised day, whatever the words say.
    let due_date_warning = raw
        .due_date_warning
        .as_ref()
        .and_then(|text| deadline_target(errors, text))
        .map_or(DEFAULT_DUE_DATE_WARNING, |target| target.within);
    let warn_at = match raw.warn_at {
        Some(warn_at) if !(*warn_at.get_ref() > 0.0 && *warn_at.get_ref() < 1.0) => {
            errors.at(warn_at.span(), format!("warn_at = {} must be between 0 and 1", warn_at.get_ref()));
            DEFAULT_WARN_AT
        }
        Some(warn_at) => warn_at.into_inner(),
        None => DEFAULT_WARN_AT,
    };
    let rules = raw
        .target
        .iter()
        .map(|target| {
            let target_span = target.span();
            let target = target.get_ref();
            let rule = DeadlineRule {
                kind: target.kind.as_ref().and_then(|kind| word::<Kind>(errors, kind)),
                priority: target.priority.as_ref().and_then(|priority| word::<Priority>(errors, priority)),
                public: target.public,
                first_response: target.first_response.as_ref().and_then(|text| deadline_target(errors, text)),
                resolution: target.resolution.as_ref().and_then(|text| deadline_target(errors, text)),
            };
            if target.first_response.is_none() && target.resolution.is_none() {
                errors.at(target_span, "a deadline target sets neither `first_response` nor `resolution`");
            }
            rule
        })
        .collect();
    (rules, warn_at, due_date_warning)
}

/// `4h business`, `30m business`, `1h30m calendar`, `2d calendar` (days only in calendar time).
fn deadline_target(errors: &mut Errors, raw: &Spanned<String>) -> Option<Target> {
    let text = raw.get_ref();
    let wrong = format!("deadline `{text}` should look like `4h business` or `24h calendar`");
    let parsed = (|| {
        let (amount, hours) = text.split_once(' ')?;
        let hours = match hours.trim() {
            "business" => Hours::Business,
            "calendar" => Hours::Calendar,
            _ => return None,
        };
        Some((duration_of(amount)?, hours, amount.contains('d')))
    })();
    match parsed {
        Some((_, Hours::Business, true)) => {
            errors.at(raw.span(), format!("deadline `{text}`: count business time in hours, not days (a working day's length depends on the calendar)"));
            None
        }
        Some((within, hours, _)) => Some(Target { within, hours }),
        None => {
            errors.at(raw.span(), wrong);
            None
        }
    }
}

/// `1d`, `24h`, `1h30m`, `45m`.
fn duration_of(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut number = String::new();
    for ch in text.chars() {
        match ch {
            '0'..='9' => number.push(ch),
            'd' | 'h' | 'm' if !number.is_empty() => {
                let value: i64 = std::mem::take(&mut number).parse().ok()?;
                total += match ch {
                    'd' => Duration::days(value),
                    'h' => Duration::hours(value),
                    _ => Duration::minutes(value),
                };
            }
            _ => return None,
        }
    }
    (number.is_empty() && total > Duration::ZERO).then_some(total)
}

fn approval_limits(errors: &mut Errors, raw: Spanned<CompensationToml>) -> ApprovalLimits {
    let raw = raw.into_inner();
    let currency = raw.currency.get_ref();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        errors
            .at(raw.currency.span(), format!("currency `{currency}` should be a three-letter ISO 4217 code like RUB"));
    }
    let mut limits = BTreeMap::new();
    for (role, limit) in raw.limits {
        match role.parse::<Role>() {
            Ok(role) => {
                limits.insert(role, limit.into_inner());
            }
            Err(error) => errors.at(limit.span(), format!("[compensation.limits]: {error}")),
        }
    }
    ApprovalLimits { currency: currency.clone(), limits }
}
