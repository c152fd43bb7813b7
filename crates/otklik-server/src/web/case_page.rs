//! The case page: the timeline of messages and events, the customer card, the playbook's
//! allowed actions as forms with the inputs each needs, the reply composer with the templates
//! for the case's kind and the customer's language (checked against the house standard as the
//! agent types, and again when sent), tasks, compensation and corrections.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use otklik_app::people::session_actor;
use otklik_app::{Actor, AppError, Writing, WritingKind, customer_language};
use otklik_core::standard::{Draft, Finding, Severity};
use otklik_core::{
    Action, ActionInput, ApologyForm, CasePatch, Cause, Compensation, CompensationKind, Direction, Effect, Kind,
    Language, Priority, Requirement,
};
use otklik_store::NewTask;
use serde::Deserialize;

use super::desk::{Chrome, Posted, done, given, page, refused, word};
use super::inbox::stage_words;
use super::workspace::SignedIn;
use crate::startup::AppState;

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    language: Language,
    chrome: Chrome,
    reference: String,
    subject: String,
    kind: String,
    kind_value: String,
    stage: String,
    status: String,
    priority_value: String,
    cause_value: String,
    channel: String,
    location: String,
    product: String,
    /// The employees concerned, separated by commas.
    employees: String,
    assignee: String,
    public: bool,
    hidden: bool,
    /// The parent case of the incident this one piles on to, if linked.
    parent: String,
    /// The cases linked to this one.
    linked: Vec<String>,
    /// Who the public author is to the public (triage's reading), in words; empty if private.
    audience: String,
    /// Triage reads a troll but was not sure enough to hide it: an agent decides.
    suspected_troll: bool,
    received: String,
    clocks: Vec<Clock>,
    customer: CustomerCard,
    timeline: Vec<Entry>,
    actions: Vec<ActionForm>,
    tasks: Vec<TaskLine>,
    compensations: Vec<CompensationLine>,
    outbox: Vec<OutboxLine>,
    templates: Vec<(usize, String)>,
    composer: Composer,
    people: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
    priorities: Vec<(String, String)>,
    causes: Vec<(String, String)>,
    apology_forms: Vec<(String, String)>,
    compensation_kinds: Vec<(String, String)>,
    may_work: bool,
    problem: Option<String>,
}

struct Clock {
    name: String,
    state: String,
    class: &'static str,
    due: String,
}

struct CustomerCard {
    id: i64,
    name: String,
    identities: Vec<String>,
    vip: bool,
    followers: String,
    language: String,
    cases: Vec<(String, String, String)>,
}

struct Entry {
    at: String,
    at_iso: String,
    who: String,
    /// `inbound`, `outbound`, `note` or `event`.
    class: &'static str,
    title: String,
    body: String,
}

struct ActionForm {
    name: String,
    label: String,
    reason: bool,
    due_date: bool,
    lead_contact: bool,
    note: bool,
    apology_form: bool,
    compensation: bool,
    sends: bool,
}

struct TaskLine {
    id: i64,
    title: String,
    assignee: String,
    due: String,
    overdue: bool,
    status: String,
    open: bool,
}

struct CompensationLine {
    what: String,
    status: String,
}

struct OutboxLine {
    template: String,
    status: String,
    at: String,
}

/// What the composer holds: empty, a template, or a draft sent back with the checker's findings.
#[derive(Default)]
struct Composer {
    body: String,
    note: bool,
    /// Whether the reply goes out in public; a fresh composer follows the case.
    public: Option<bool>,
    findings: Vec<FindingLine>,
    /// The draft was refused for the house standard: the override box is offered.
    flagged: bool,
}

pub(super) struct FindingLine {
    pub error: bool,
    pub words: String,
    pub explanation: String,
    pub suggestion: String,
}

pub(super) fn finding_lines(findings: Vec<Finding>) -> Vec<FindingLine> {
    findings
        .into_iter()
        .map(|finding| FindingLine {
            error: finding.severity == Severity::Error,
            words: finding.words,
            explanation: finding.explanation,
            suggestion: finding.suggestion.unwrap_or_default(),
        })
        .collect()
}

#[derive(Deserialize, Default)]
pub(super) struct CaseQuery {
    template: Option<usize>,
}

/// The words of an action: `action-<name>` where the default playbooks name it.
fn action_words(chrome: &Chrome, name: &str) -> String {
    chrome.tr.maybe(&format!("action-{name}")).unwrap_or_else(|| name.replace('_', " "))
}

fn action_form(chrome: &Chrome, action: &Action) -> ActionForm {
    let needs = |requirement| action.requires.contains(&requirement);
    let creates_task = action.effects.contains(&Effect::CreateTask);
    ActionForm {
        name: action.name.clone(),
        label: action_words(chrome, &action.name),
        reason: needs(Requirement::Reason),
        due_date: needs(Requirement::DueDate) || creates_task,
        lead_contact: needs(Requirement::LeadContact),
        note: needs(Requirement::Note) || action.emits.is_some(),
        apology_form: needs(Requirement::ApologyForm),
        compensation: action.effects.contains(&Effect::OfferCompensation),
        sends: action.emits.is_some(),
    }
}

fn words_of<W: std::fmt::Display>(chrome: &Chrome, prefix: &str, all: &[W]) -> Vec<(String, String)> {
    all.iter().map(|w| (w.to_string(), chrome.t(&format!("{prefix}-{w}")))).collect()
}

/// Renders the case page; `composer` and `problem` carry a refused form back to the person.
async fn render(
    state: &AppState,
    chrome: Chrome,
    actor: &Actor,
    raw: &str,
    template: Option<usize>,
    mut composer: Composer,
    problem: Option<(StatusCode, String)>,
) -> Response {
    let detail = match state.app.case(actor, raw).await {
        Ok(detail) => detail,
        Err(error) => return refused(&chrome, error, Some("/inbox".into())),
    };
    let (work, actions, customer, people) = match tokio::try_join!(
        state.app.work(actor, raw),
        state.app.actions(actor, raw),
        state.app.customer(actor, detail.case.customer_id),
        state.app.assignees(actor),
    ) {
        Ok(found) => found,
        Err(error) => return refused(&chrome, error, Some("/inbox".into())),
    };
    let case = &detail.case;
    let may_work = actor.role.has(otklik_core::Right::WorkCases);
    let customer_language = customer_language(&detail.customer, case);
    let templates = if may_work {
        state.app.templates(actor, Some(case.kind), Some(customer_language), Some(case.public)).unwrap_or_default()
    } else {
        Vec::new()
    };
    let reference = case.reference().to_string();
    if let Some(chosen) = template.and_then(|n| templates.get(n))
        && composer.body.is_empty()
    {
        let name = detail.customer.name.clone().unwrap_or_default();
        composer.body = chosen.text.replace("{reference}", &reference).replace("{customer_name}", &name);
    }
    composer.public.get_or_insert(case.public);
    let now = state.app.clock.now();
    let clocks = work
        .clocks
        .iter()
        .map(|clock| {
            let (state_key, class) = match clock.state {
                otklik_app::ClockState::Met => ("clock-met", "met"),
                otklik_app::ClockState::Ok => ("clock-ok", ""),
                otklik_app::ClockState::Warning => ("clock-warning", "soon"),
                otklik_app::ClockState::Breached => ("clock-breached", "breached"),
            };
            Clock {
                name: chrome.t(&format!("milestone-{}", clock.milestone.as_str())),
                state: chrome.t(if clock.paused { "clock-paused" } else { state_key }),
                class,
                due: clock.due_at.map(|at| chrome.when(at)).unwrap_or_default(),
            }
        })
        .collect();
    let mut timeline: Vec<(time::OffsetDateTime, i64, Entry)> = Vec::new();
    for message in &detail.messages {
        let (class, title) = match (message.direction, message.public) {
            (Direction::Inbound, _) => ("inbound", chrome.t("timeline-customer")),
            (Direction::Outbound, true) => ("outbound", chrome.t("timeline-public-reply")),
            (Direction::Outbound, false) => ("outbound", chrome.t("timeline-private-reply")),
            (Direction::Note, _) => ("note", chrome.t("timeline-note")),
        };
        let who = if message.direction == Direction::Inbound {
            detail.customer.name.clone().unwrap_or_else(|| chrome.t("timeline-customer"))
        } else {
            message.author.clone()
        };
        let entry = Entry {
            at: chrome.when(message.created_at),
            at_iso: chrome.iso(message.created_at),
            who,
            class,
            title,
            body: message.body.clone(),
        };
        timeline.push((message.created_at, 0, entry));
    }
    for event in &detail.events {
        if event.action == "message_added" {
            continue;
        }
        let title =
            chrome.tr.maybe(&format!("event-{}", event.action)).unwrap_or_else(|| event.action.replace('_', " "));
        let body = match (&event.field, &event.old_value, &event.new_value) {
            (Some(field), old, new) => {
                format!("{field}: {} → {}", old.as_deref().unwrap_or("—"), new.as_deref().unwrap_or("—"))
            }
            (None, _, Some(new)) => new.clone(),
            _ => String::new(),
        };
        let entry = Entry {
            at: chrome.when(event.at),
            at_iso: chrome.iso(event.at),
            who: event.actor.clone(),
            class: "event",
            title,
            body,
        };
        timeline.push((event.at, 1, entry));
    }
    timeline.sort_by_key(|(at, order, _)| (*at, *order));
    let tasks = work
        .work
        .tasks
        .iter()
        .map(|task| {
            let open = task.status == otklik_core::TaskStatus::Open;
            TaskLine {
                id: task.id,
                title: task.title.clone(),
                assignee: task.assignee.clone().unwrap_or_default(),
                due: match task.due_at {
                    Some(at) => chrome.when(at),
                    None => task.due_on.map(|d| d.to_string()).unwrap_or_default(),
                },
                overdue: open
                    && match task.due_at {
                        Some(at) => at < now,
                        None => task.due_on.is_some_and(|due| due < now.date()),
                    },
                status: chrome.t(&format!("task-{}", task.status)),
                open,
            }
        })
        .collect();
    let compensations = work
        .work
        .compensations
        .iter()
        .map(|c| CompensationLine {
            what: format!(
                "{} {} {}{}",
                chrome.t(&format!("compensation-{}", c.kind)),
                c.amount,
                c.currency,
                c.description.as_deref().map(|d| format!(" — {d}")).unwrap_or_default()
            ),
            status: chrome.t(&format!("compensation-status-{}", c.status)),
        })
        .collect();
    let outbox = work
        .work
        .outbox
        .iter()
        .map(|m| OutboxLine {
            template: m.template.clone(),
            status: m.status.to_string(),
            at: chrome.when(m.sent_at.unwrap_or(m.created_at)),
        })
        .collect();
    let card = CustomerCard {
        id: detail.customer.id,
        name: detail.customer.name.clone().unwrap_or_default(),
        identities: detail.customer.identities.iter().map(|i| format!("{}: {}", i.kind.as_str(), i.value)).collect(),
        vip: detail.customer.vip,
        followers: detail.customer.followers.map(|f| f.to_string()).unwrap_or_default(),
        language: customer_language.to_string(),
        cases: customer
            .cases
            .iter()
            .filter(|other| other.id != case.id)
            .take(20)
            .map(|other| {
                (
                    other.reference().to_string(),
                    chrome.t(&format!("kind-{}", other.kind)),
                    chrome.t(&format!("channel-{}", other.channel)),
                )
            })
            .collect(),
    };
    let (status, problem) = match problem {
        Some((status, problem)) => (status, Some(problem)),
        None => (StatusCode::OK, None),
    };
    let page_data = CasePage {
        language: chrome.language,
        reference,
        subject: case.subject.clone().unwrap_or_default(),
        kind: chrome.t(&format!("kind-{}", case.kind)),
        kind_value: case.kind.to_string(),
        stage: stage_words(&chrome, &actions.stage),
        status: chrome.t(&format!("status-{}", case.status)),
        priority_value: case.priority.to_string(),
        cause_value: case.cause.map(|c| c.to_string()).unwrap_or_default(),
        channel: chrome.t(&format!("channel-{}", case.channel)),
        location: case.location.clone().unwrap_or_default(),
        product: case.product.clone().unwrap_or_default(),
        employees: case.employees.join(", "),
        assignee: case.assignee.clone().unwrap_or_default(),
        public: case.public,
        hidden: case.hidden,
        parent: detail.parent.as_ref().map(|parent| parent.reference().to_string()).unwrap_or_default(),
        linked: detail.linked.iter().map(|linked| linked.reference().to_string()).collect(),
        audience: if case.audience == otklik_core::Audience::None {
            String::new()
        } else {
            chrome.t(&format!("audience-{}", case.audience))
        },
        suspected_troll: case.audience == otklik_core::Audience::Troll && !case.hidden,
        received: chrome.when(case.created_at),
        clocks,
        customer: card,
        timeline: timeline.into_iter().map(|(_, _, entry)| entry).collect(),
        actions: actions.actions.iter().map(|action| action_form(&chrome, action)).collect(),
        tasks,
        compensations,
        outbox,
        templates: templates
            .iter()
            .enumerate()
            .map(|(n, t)| (n, t.text.chars().take(90).collect::<String>()))
            .collect(),
        composer,
        people: people
            .into_iter()
            .map(|p| (p.username.clone(), p.display_name.unwrap_or_else(|| p.username.clone())))
            .collect(),
        kinds: words_of(&chrome, "kind", Kind::ALL),
        priorities: words_of(&chrome, "priority", Priority::ALL),
        causes: words_of(&chrome, "cause", Cause::ALL),
        apology_forms: words_of(&chrome, "apology", ApologyForm::ALL),
        compensation_kinds: words_of(&chrome, "compensation", CompensationKind::ALL),
        may_work,
        problem,
        chrome,
    };
    page(status, &page_data)
}

/// `GET /cases/{reference}`; `?template=N` puts the N-th template into the composer.
pub(super) async fn show(
    State(state): State<AppState>,
    person: SignedIn,
    headers: HeaderMap,
    Path(reference): Path<String>,
    Query(query): Query<CaseQuery>,
) -> Response {
    let chrome = Chrome::new(&person, &headers, &state, "inbox");
    let actor = session_actor(&person.session);
    render(&state, chrome, &actor, &reference, query.template, Composer::default(), None).await
}

/// After a refused form: the case page again with the problem in words, at the right status.
async fn again(
    state: &AppState,
    posted: &SignedIn,
    headers: &HeaderMap,
    reference: &str,
    composer: Composer,
    error: AppError,
) -> Response {
    let chrome = Chrome::new(posted, headers, state, "inbox");
    let actor = session_actor(&posted.session);
    match error {
        AppError::Standard(findings) => {
            let composer = Composer { findings: finding_lines(findings), flagged: true, ..composer };
            let problem = chrome.t("reply-flagged");
            render(state, chrome, &actor, reference, None, composer, Some((StatusCode::UNPROCESSABLE_ENTITY, problem)))
                .await
        }
        AppError::Invalid(detail) | AppError::Conflict { detail, .. } => {
            let status = if detail.is_empty() { StatusCode::CONFLICT } else { StatusCode::UNPROCESSABLE_ENTITY };
            render(state, chrome, &actor, reference, None, composer, Some((status, detail))).await
        }
        other => refused(&chrome, other, Some(format!("/cases/{reference}"))),
    }
}

#[derive(Deserialize)]
pub(super) struct ReplyForm {
    body: String,
    /// `reply` (to the customer) or `note` (between staff).
    mode: Option<String>,
    public: Option<String>,
    #[serde(rename = "override")]
    override_standard: Option<String>,
}

/// `POST /cases/{reference}/reply`: a reply to the customer (checked against the house
/// standard; a flagged one goes only with the override box ticked, which is recorded) or a note.
pub(super) async fn reply(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    posted: Posted<ReplyForm>,
) -> Response {
    let actor = posted.actor();
    let form = &posted.form;
    let note = form.mode.as_deref() == Some("note");
    let public = form.public.is_some();
    let chrome = Chrome::new(&posted.person, &headers, &state, "inbox");
    let writing = Writing {
        kind: if note { WritingKind::Note } else { WritingKind::Reply },
        body: form.body.clone(),
        public: if note { None } else { Some(public) },
        override_standard: form.override_standard.is_some(),
        explain_in: chrome.language,
    };
    match state.app.write(&actor, &reference, writing).await {
        Ok(_) => done(&format!("/cases/{reference}#timeline")),
        Err(error) => {
            let composer = Composer { body: form.body.clone(), note, public: Some(public), ..Composer::default() };
            again(&state, &posted.person, &headers, &reference, composer, error).await
        }
    }
}

#[derive(Template)]
#[template(path = "findings.html")]
struct FindingsFragment {
    chrome: Chrome,
    findings: Vec<FindingLine>,
    checked: bool,
}

#[derive(Deserialize)]
pub(super) struct CheckForm {
    body: String,
    public: Option<String>,
}

/// `POST /cases/{reference}/check`: the house standard's findings on a draft, as a fragment of
/// HTML in the agent's language (the composer's script puts it beside the text as they type).
pub(super) async fn check(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    posted: Posted<CheckForm>,
) -> Response {
    let actor = posted.actor();
    let chrome = Chrome::new(&posted.person, &headers, &state, "inbox");
    let case = match state.app.case(&actor, &reference).await {
        Ok(detail) => detail.case,
        Err(error) => return refused(&chrome, error, None),
    };
    let text = posted.form.body.trim();
    let findings = if text.is_empty() {
        Vec::new()
    } else {
        let draft = Draft {
            text,
            kind: case.kind,
            public: posted.form.public.is_some() && case.public,
            language: None,
            purpose: None,
            audience: Some(case.audience),
        };
        match state.app.check_draft(&actor, &draft, chrome.language) {
            Ok(checked) => finding_lines(checked.findings),
            Err(error) => return refused(&chrome, error, None),
        }
    };
    page(StatusCode::OK, &FindingsFragment { chrome, findings, checked: !text.is_empty() })
}

#[derive(Default, Deserialize)]
pub(super) struct ActionFormInput {
    reason: Option<String>,
    due_date: Option<String>,
    lead_contact: Option<String>,
    note: Option<String>,
    /// Each ticked apology form (the field repeats).
    #[serde(skip)]
    apology_forms: Vec<String>,
    compensation_kind: Option<String>,
    compensation_amount: Option<String>,
    compensation_description: Option<String>,
    #[serde(rename = "override")]
    override_standard: Option<String>,
}

fn action_input(form: &ActionFormInput) -> Result<ActionInput, AppError> {
    let due_date = given(form.due_date.clone())
        .map(|raw| {
            time::Date::parse(&raw, time::macros::format_description!("[year]-[month]-[day]"))
                .map_err(|_| AppError::Invalid(format!("due_date: `{raw}` is not a date like 2026-12-31")))
        })
        .transpose()?;
    let compensation = match word::<CompensationKind>("compensation_kind", form.compensation_kind.clone())? {
        None => None,
        Some(kind) => {
            let raw = given(form.compensation_amount.clone()).unwrap_or_default();
            let amount = raw
                .parse::<u64>()
                .map_err(|_| AppError::Invalid(format!("compensation_amount: `{raw}` is not a whole amount")))?;
            Some(Compensation { kind, amount, description: given(form.compensation_description.clone()) })
        }
    };
    Ok(ActionInput {
        reason: given(form.reason.clone()),
        due_date,
        lead_contact: given(form.lead_contact.clone()),
        note: given(form.note.clone()),
        apology_forms: form
            .apology_forms
            .iter()
            .filter_map(|raw| word::<ApologyForm>("apology_form", Some(raw.clone())).transpose())
            .collect::<Result<_, _>>()?,
        // The call or meeting is due within the working hours that follow; its task says when.
        apology_at: None,
        compensation,
    })
}

/// `POST /cases/{reference}/actions/{action}`: takes a playbook action with its inputs.
pub(super) async fn take(
    State(state): State<AppState>,
    Path((reference, action)): Path<(String, String)>,
    headers: HeaderMap,
    posted: Posted<Vec<(String, String)>>,
) -> Response {
    let actor = posted.actor();
    let chrome = Chrome::new(&posted.person, &headers, &state, "inbox");
    // The apology forms repeat one field, which a struct cannot take: they are read apart.
    let (forms, rest): (Vec<_>, Vec<_>) = posted.form.iter().cloned().partition(|(name, _)| name == "apology_form");
    let form = serde_urlencoded::to_string(&rest)
        .ok()
        .and_then(|encoded| serde_urlencoded::from_str::<ActionFormInput>(&encoded).ok())
        .map(|form| ActionFormInput { apology_forms: forms.into_iter().map(|(_, value)| value).collect(), ..form });
    let Some(form) = form else {
        let error = AppError::Invalid("the form's fields could not be read".into());
        return again(&state, &posted.person, &headers, &reference, Composer::default(), error).await;
    };
    let result = match action_input(&form) {
        Ok(input) => {
            let request = otklik_app::TakeAction {
                action,
                input,
                override_standard: form.override_standard.is_some(),
                explain_in: chrome.language,
            };
            state.app.take(&actor, &reference, request).await.map(|_| ())
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => done(&format!("/cases/{reference}")),
        Err(error) => {
            let composer = Composer::default();
            again(&state, &posted.person, &headers, &reference, composer, error).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct TaskForm {
    title: String,
    assignee: Option<String>,
    due_on: Option<String>,
}

/// `POST /cases/{reference}/tasks`: a task for an executor or an expert.
pub(super) async fn add_task(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    posted: Posted<TaskForm>,
) -> Response {
    let actor = posted.actor();
    let form = &posted.form;
    let due_on = match given(form.due_on.clone())
        .map(|raw| {
            time::Date::parse(&raw, time::macros::format_description!("[year]-[month]-[day]"))
                .map_err(|_| AppError::Invalid(format!("due_on: `{raw}` is not a date like 2026-12-31")))
        })
        .transpose()
    {
        Ok(due_on) => due_on,
        Err(error) => return again(&state, &posted.person, &headers, &reference, Composer::default(), error).await,
    };
    let task = NewTask { title: form.title.clone(), assignee: given(form.assignee.clone()), due_on, due_at: None };
    match state.app.add_task(&actor, &reference, task).await {
        Ok(_) => done(&format!("/cases/{reference}#tasks")),
        Err(error) => again(&state, &posted.person, &headers, &reference, Composer::default(), error).await,
    }
}

#[derive(Deserialize)]
pub(super) struct CorrectForm {
    kind: Option<String>,
    priority: Option<String>,
    cause: Option<String>,
    location: Option<String>,
    product: Option<String>,
    /// Names separated by commas.
    employees: Option<String>,
    assignee: Option<String>,
}

/// `POST /cases/{reference}/correct`: corrections of kind, priority, cause, location, product,
/// the employees concerned and the assignee (only what differs from the case is changed;
/// corrected labels feed retraining).
pub(super) async fn correct(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    posted: Posted<CorrectForm>,
) -> Response {
    let actor = posted.actor();
    let chrome = Chrome::new(&posted.person, &headers, &state, "inbox");
    let case = match state.app.case(&actor, &reference).await {
        Ok(detail) => detail.case,
        Err(error) => return refused(&chrome, error, None),
    };
    let form = &posted.form;
    let patch = (|| -> Result<CasePatch, AppError> {
        let kind: Option<Kind> = word("kind", form.kind.clone())?;
        let priority: Option<Priority> = word("priority", form.priority.clone())?;
        let cause: Option<Cause> = word("cause", form.cause.clone())?;
        let location = given(form.location.clone());
        let product = given(form.product.clone());
        let employees = form
            .employees
            .as_deref()
            .map(|names| names.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned).collect())
            .map(otklik_app::input::employees)
            .transpose()?;
        let assignee = form.assignee.as_ref().map(|a| given(Some(a.clone())));
        let final_kind = kind.unwrap_or(case.kind);
        Ok(CasePatch {
            kind: kind.filter(|k| *k != case.kind),
            priority: priority.filter(|p| *p != case.priority),
            cause: if final_kind == Kind::Complaint && cause != case.cause { Some(cause) } else { None },
            location: (location != case.location).then_some(location),
            product: (form.product.is_some() && product != case.product).then_some(product),
            employees: employees.filter(|names| *names != case.employees),
            assignee: assignee.filter(|a| *a != case.assignee),
            ..CasePatch::default()
        })
    })();
    let result = match patch {
        Ok(patch) if patch.is_empty() => Ok(()),
        Ok(patch) => state.app.correct(&actor, &reference, patch).await.map(|_| ()),
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => done(&format!("/cases/{reference}")),
        Err(error) => again(&state, &posted.person, &headers, &reference, Composer::default(), error).await,
    }
}

#[derive(Deserialize)]
pub(super) struct AssignForm {
    /// Who takes the case; blank: the person posting ("assign to me").
    assignee: Option<String>,
}

/// `POST /cases/{reference}/assign`: gives the case to someone, by default to oneself.
pub(super) async fn assign(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    posted: Posted<AssignForm>,
) -> Response {
    let actor = posted.actor();
    let who = given(posted.form.assignee.clone()).unwrap_or_else(|| posted.person.session.user.username.clone());
    let patch = CasePatch { assignee: Some(Some(who)), ..CasePatch::default() };
    match state.app.correct(&actor, &reference, patch).await {
        Ok(_) => done(&format!("/cases/{reference}")),
        Err(error) => again(&state, &posted.person, &headers, &reference, Composer::default(), error).await,
    }
}

#[derive(Deserialize)]
pub(super) struct NoFields {}

#[derive(Deserialize)]
pub(super) struct VisibilityForm {
    /// `true` hides the case from the queues, `false` shows it again.
    hidden: String,
}

/// `POST /cases/{reference}/hidden`: hides a troll's comment from the queues, or shows it again.
/// It is never deleted; hidden, it has no clock and no reply owed.
pub(super) async fn set_hidden(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    posted: Posted<VisibilityForm>,
) -> Response {
    let hidden = match posted.form.hidden.as_str() {
        "true" => true,
        "false" => false,
        other => {
            let error = AppError::Invalid(format!("hidden: `{other}` is not true or false"));
            return again(&state, &posted.person, &headers, &reference, Composer::default(), error).await;
        }
    };
    let patch = CasePatch { hidden: Some(hidden), ..CasePatch::default() };
    match state.app.correct(&posted.actor(), &reference, patch).await {
        Ok(_) => done(&format!("/cases/{reference}")),
        Err(error) => again(&state, &posted.person, &headers, &reference, Composer::default(), error).await,
    }
}

#[derive(Deserialize)]
pub(super) struct LinkForm {
    /// The parent's reference; blank unlinks.
    parent: Option<String>,
}

/// `POST /cases/{reference}/link`: links the case to the parent of its incident, or (blank)
/// unlinks it.
pub(super) async fn link(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    posted: Posted<LinkForm>,
) -> Response {
    let parent = given(posted.form.parent.clone());
    match state.app.link(&posted.actor(), &reference, parent.as_deref()).await {
        Ok(_) => done(&format!("/cases/{reference}")),
        Err(error) => again(&state, &posted.person, &headers, &reference, Composer::default(), error).await,
    }
}

/// `POST /cases/{reference}/private`: "move to private" on a public comment or review.
pub(super) async fn move_to_private(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    posted: Posted<NoFields>,
) -> Response {
    match state.app.move_to_private(&posted.actor(), &reference).await {
        Ok(_) => done(&format!("/cases/{reference}")),
        Err(error) => again(&state, &posted.person, &headers, &reference, Composer::default(), error).await,
    }
}

#[derive(Deserialize)]
pub(super) struct MergeForm {
    /// The other record's customer number.
    from: String,
}

/// `POST /cases/{reference}/customer/merge`: another record of the same person joins the
/// case's customer.
pub(super) async fn merge_customer(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    posted: Posted<MergeForm>,
) -> Response {
    let actor = posted.actor();
    let merged = async {
        let from = posted.form.from.trim().parse::<i64>().map_err(|_| {
            otklik_app::AppError::Invalid(format!("`{}` is not a customer number", posted.form.from.trim()))
        })?;
        let customer = state.app.case(&actor, &reference).await?.customer.id;
        state.app.merge_customers(&actor, customer, from).await
    };
    match merged.await {
        Ok(_) => done(&format!("/cases/{reference}")),
        Err(error) => again(&state, &posted.person, &headers, &reference, Composer::default(), error).await,
    }
}

#[derive(Deserialize)]
pub(super) struct EraseForm {
    confirm: Option<String>,
}

/// `POST /cases/{reference}/customer/erase`: erases the case's customer's personal data (an
/// admin, who ticked that it cannot be undone).
pub(super) async fn erase_customer(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    posted: Posted<EraseForm>,
) -> Response {
    let actor = posted.actor();
    let erased = async {
        if posted.form.confirm.as_deref() != Some("yes") {
            return Err(otklik_app::AppError::Invalid("confirm: tick that this cannot be undone".into()));
        }
        let customer = state.app.case(&actor, &reference).await?.customer.id;
        state.app.erase_customer(&actor, customer).await
    };
    match erased.await {
        Ok(_) => done(&format!("/cases/{reference}")),
        Err(error) => again(&state, &posted.person, &headers, &reference, Composer::default(), error).await,
    }
}

/// `GET /cases/{reference}/customer/export`: everything stored about the case's customer, as
/// the API's JSON, to download (admins).
pub(super) async fn export_customer(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    person: SignedIn,
    headers: HeaderMap,
) -> Response {
    let actor = session_actor(&person.session);
    let exported = async {
        let customer = state.app.case(&actor, &reference).await?.customer.id;
        state.app.export_customer(&actor, customer).await
    };
    match exported.await {
        Ok(export) => {
            let id = export.customer.customer.id;
            match crate::customer_export_json(&state.app, export) {
                Ok(json) => (
                    [
                        (axum::http::header::CONTENT_TYPE, "application/json".to_owned()),
                        (
                            axum::http::header::CONTENT_DISPOSITION,
                            format!("attachment; filename=\"customer-{id}.json\""),
                        ),
                        (axum::http::header::CACHE_CONTROL, "no-store".to_owned()),
                    ],
                    json,
                )
                    .into_response(),
                Err(error) => super::desk::internal(otklik_app::AppError::Internal(error.to_string())),
            }
        }
        Err(error) => {
            refused(&Chrome::new(&person, &headers, &state, "inbox"), error, Some(format!("/cases/{reference}")))
        }
    }
}

#[derive(Deserialize)]
pub(super) struct IdentityForm {
    kind: String,
    value: String,
}

/// `POST /cases/{reference}/customer/identities`: a contact for the case's customer.
pub(super) async fn add_identity(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    posted: Posted<IdentityForm>,
) -> Response {
    let actor = posted.actor();
    let added = async {
        let customer = state.app.case(&actor, &reference).await?.customer.id;
        state.app.add_identity(&actor, customer, &posted.form.kind, &posted.form.value).await
    };
    match added.await {
        Ok(_) => done(&format!("/cases/{reference}")),
        Err(error) => again(&state, &posted.person, &headers, &reference, Composer::default(), error).await,
    }
}

/// `POST /cases/{reference}/revoke-link`: the customer's status link stops working.
pub(super) async fn revoke_link(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    posted: Posted<NoFields>,
) -> Response {
    match state.app.revoke_status_link(&posted.actor(), &reference).await {
        Ok(_) => done(&format!("/cases/{reference}")),
        Err(error) => again(&state, &posted.person, &headers, &reference, Composer::default(), error).await,
    }
}

#[derive(Template)]
#[template(path = "log.html")]
struct LogPage {
    language: Language,
    chrome: Chrome,
    kinds: Vec<(String, String)>,
    locations: Vec<(String, String)>,
}

/// `GET /cases/new`: log a call or a verbal survey answer as a case.
pub(super) async fn log_form(State(state): State<AppState>, person: SignedIn, headers: HeaderMap) -> Response {
    let chrome = Chrome::new(&person, &headers, &state, "inbox");
    let actor = session_actor(&person.session);
    let locations = match state.app.locations(&actor).await {
        Ok(found) => found.into_iter().filter(|l| l.active).map(|l| (l.slug, l.name)).collect(),
        Err(error) => return refused(&chrome, error, None),
    };
    let kinds = words_of(&chrome, "kind", Kind::ALL);
    page(StatusCode::OK, &LogPage { language: chrome.language, chrome, kinds, locations })
}

#[derive(Deserialize)]
pub(super) struct LogForm {
    /// `phone` or `survey`.
    channel: String,
    text: String,
    kind: Option<String>,
    location: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    telegram: Option<String>,
}

/// `POST /cases/new`: the logged call becomes a case that follows its kind's playbook.
pub(super) async fn log(State(state): State<AppState>, headers: HeaderMap, posted: Posted<LogForm>) -> Response {
    let chrome = Chrome::new(&posted.person, &headers, &state, "inbox");
    let form = &posted.form;
    let submission = (|| -> Result<otklik_app::Submission, AppError> {
        let channel = match form.channel.as_str() {
            "phone" => otklik_core::Channel::Phone,
            "survey" => otklik_core::Channel::Survey,
            other => return Err(AppError::Invalid(format!("channel: `{other}` is not phone or survey"))),
        };
        let identities = otklik_core::customer::contact_identities(
            form.phone.as_deref(),
            form.email.as_deref(),
            form.telegram.as_deref(),
        )
        .map_err(|e| AppError::Invalid(e.to_string()))?;
        Ok(otklik_app::Submission {
            text: form.text.clone(),
            channel,
            subject: None,
            customer: otklik_core::NewCustomer { name: given(form.name.clone()), identities, ..Default::default() },
            location: given(form.location.clone()),
            product: None,
            public: false,
            kind: word("kind", form.kind.clone())?,
            external_id: None,
        })
    })();
    let receipt = match submission {
        Ok(submission) => state.app.submit(&posted.actor(), submission, None).await,
        Err(error) => Err(error),
    };
    match receipt {
        Ok(receipt) => done(&format!("/cases/{}", receipt.case.reference())),
        Err(error) => refused(&chrome, error, Some("/cases/new".into())),
    }
}
