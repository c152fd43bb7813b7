//! The playbooks over HTTP: a case's allowed actions and taking one, its tasks, compensation,
//! outbox and clocks, an executor's tasks, notifications, and the playbook configuration.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use otklik_app::{ClockState, TakeAction, Work};
use otklik_core::{
    Action, ActionInput, ApologyForm, Compensation, CompensationKind, CompensationStatus, Kind, OpportunityStatus,
    OutboxStatus, Right, Role, Status, TaskStatus,
};
use otklik_store::{NewTask, Task, TaskUpdate};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

use super::feedback::case_view;
use super::replies::agent_language;
use super::views::{CaseView, optional_text as text};
use super::{RawBody, parse_json};
use crate::auth::Principal;
use crate::problem::{ApiError, Problem};
use crate::startup::AppState;

/// An action a case's playbook offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionView {
    pub name: String,
    /// The stage it moves the case to; absent when the case stays where it is.
    pub to: Option<String>,
    pub roles: Vec<Role>,
    /// What must be given or true: `note`, `reason`, `due_date`, `lead_contact`, `apology_form`,
    /// `no_open_tasks`, `no_pending_compensation`, `pending_compensation`.
    pub requires: Vec<String>,
    /// The customer-facing message template it sends.
    pub emits: Option<String>,
    pub effects: Vec<String>,
}

impl From<&Action> for ActionView {
    fn from(action: &Action) -> ActionView {
        ActionView {
            name: action.name.clone(),
            to: action.to.clone(),
            roles: action.roles.clone(),
            requires: action.requires.iter().map(ToString::to_string).collect(),
            emits: action.emits.clone(),
            effects: action.effects.iter().map(ToString::to_string).collect(),
        }
    }
}

/// Where a case stands in its playbook and what the caller may do next.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionsView {
    pub kind: Kind,
    pub stage: String,
    pub status: Status,
    /// The actions the caller's role may take now.
    pub actions: Vec<ActionView>,
}

/// What an action needs; each action's `requires` says which parts.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// Why (a declined idea, a lost lead).
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 65536
    )]
    pub reason: Option<String>,
    /// A date, `YYYY-MM-DD` (an accepted idea's delivery, a task's due date).
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<String>,
    /// A referral's lead: the friend's name and contacts.
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 65536
    )]
    pub lead_contact: Option<String>,
    /// What was done or said; on an action that emits a message, the words for the customer,
    /// checked against the house standard.
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 65536
    )]
    pub note: Option<String>,
    /// How the apology is made, when it is one form (kept for older callers; `apology_forms`
    /// takes several).
    pub apology_form: Option<ApologyForm>,
    /// How the apology is made: one form or more (a call and a handwritten letter). A call or
    /// a meeting creates a task due at `apology_at`.
    pub apology_forms: Option<Vec<ApologyForm>>,
    /// When the apology call or meeting is agreed to happen (RFC 3339); without it, within
    /// four working hours.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub apology_at: Option<OffsetDateTime>,
    pub compensation: Option<CompensationRequest>,
    /// Send words the house-standard checker flagged anyway.
    #[serde(default)]
    pub override_standard: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompensationRequest {
    pub kind: CompensationKind,
    /// In minor units (kopecks, cents) of the business's currency: a whole number (`1500.0` is
    /// read as 1500, `1500.5` is refused).
    #[schema(maximum = 9_223_372_036_854_775_807_u64)]
    #[serde(deserialize_with = "whole_number")]
    pub amount: u64,
    pub description: Option<String>,
}

/// A non-negative whole number, written as an integer or as a number with no fraction (JSON does
/// not tell `1500` from `1500.0`).
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(whole) = number.as_u64() {
        return Ok(whole);
    }
    match number.as_f64() {
        Some(value) if value >= 0.0 && value.fract() == 0.0 && value < u64::MAX as f64 => Ok(value as u64),
        _ => Err(serde::de::Error::custom(format!("`{number}` is not a whole number of minor units"))),
    }
}

fn parse_date(field: &str, value: Option<String>) -> Result<Option<Date>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value.trim(), &format)
        .map(Some)
        .map_err(|_| ApiError::Unprocessable(format!("{field}: `{value}` is not a date like 2026-12-31")))
}

impl ActionRequest {
    fn parse(self) -> Result<ActionInput, ApiError> {
        Ok(ActionInput {
            reason: text("reason", self.reason)?,
            due_date: parse_date("due_date", self.due_date)?,
            lead_contact: text("lead_contact", self.lead_contact)?,
            note: text("note", self.note)?,
            apology_forms: {
                let mut forms: Vec<ApologyForm> = Vec::new();
                for form in self.apology_form.into_iter().chain(self.apology_forms.into_iter().flatten()) {
                    if !forms.contains(&form) {
                        forms.push(form);
                    }
                }
                forms
            },
            apology_at: self.apology_at,
            compensation: self.compensation.map(|c| Compensation {
                kind: c.kind,
                amount: c.amount,
                description: c.description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty()),
            }),
        })
    }
}

/// A case's allowed actions for the caller.
#[utoipa::path(
    get, path = "/api/v1/feedback/{id}/actions", tag = "playbooks",
    params(("id" = String, Path, description = "Case id or reference")),
    responses(
        (status = 200, description = "The stage and the actions the caller may take now", body = ActionsView),
        (status = 404, description = "No such case", body = Problem),
    )
)]
pub async fn actions(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ActionsView>, ApiError> {
    let found = state.app.actions(&principal, &id).await?;
    Ok(Json(ActionsView {
        kind: found.kind,
        stage: found.stage.to_string(),
        status: found.status,
        actions: found.actions.iter().map(Into::into).collect(),
    }))
}

/// Take a playbook action: the case moves, and what the step causes (the message to the
/// customer, tasks, compensation, an opportunity, a follow-up) is stored with it at once.
#[utoipa::path(
    post, path = "/api/v1/feedback/{id}/actions/{action}", tag = "playbooks",
    params(
        ("id" = String, Path, description = "Case id or reference"),
        ("action" = String, Path, description = "An action of the case's playbook"),
    ),
    request_body = ActionRequest,
    responses(
        (status = 200, description = "The case after the step", body = CaseView),
        (status = 403, description = "The caller's role may not take this action", body = Problem),
        (status = 404, description = "No such case", body = Problem),
        (status = 409, description = "Not allowed now; `allowed` lists what is", body = Problem),
        (status = 422, description = "Something the action requires is missing, or the words break the house standard", body = Problem),
    )
)]
pub async fn take(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<CaseView>, ApiError> {
    let request: ActionRequest = if body.is_empty() { ActionRequest::default() } else { parse_json(&headers, &body)? };
    let override_standard = request.override_standard;
    let input = request.parse()?;
    let step = TakeAction { action, input, override_standard, explain_in: agent_language(&headers) };
    let detail = state.app.take(&principal, &id, step).await?;
    Ok(Json(case_view(&state, detail)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    pub id: i64,
    pub case_id: i64,
    pub title: String,
    pub assignee: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<String>,
    /// The time it is due, for work with a time (an apology call or meeting).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<OffsetDateTime>,
    pub status: TaskStatus,
    /// Open and past its due time, or its due date.
    pub overdue: bool,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub comments: Vec<TaskCommentView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskCommentView {
    pub author: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

fn task_view(task: Task, now: OffsetDateTime) -> TaskView {
    let past = match task.due_at {
        Some(at) => at < now,
        None => task.due_on.is_some_and(|due| due < now.date()),
    };
    TaskView {
        overdue: task.status == TaskStatus::Open && past,
        due_at: task.due_at,
        id: task.id,
        case_id: task.case_id,
        title: task.title,
        assignee: task.assignee,
        due_on: task.due_on.map(|d| d.to_string()),
        status: task.status,
        created_by: task.created_by,
        created_at: task.created_at,
        comments: task
            .comments
            .into_iter()
            .map(|c| TaskCommentView { author: c.author, body: c.body, at: c.at })
            .collect(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompensationView {
    pub id: i64,
    pub kind: CompensationKind,
    /// Minor units of `currency`.
    pub amount: u64,
    pub currency: String,
    pub description: Option<String>,
    /// The first of `apology_forms` (kept for older callers).
    pub apology_form: Option<ApologyForm>,
    /// How the apology that came with it was made.
    pub apology_forms: Vec<ApologyForm>,
    pub status: CompensationStatus,
    pub offered_by: String,
    pub decided_by: Option<String>,
    /// Why a manager rejected it.
    pub decision_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxView {
    pub id: i64,
    pub template: String,
    pub channel: otklik_core::Channel,
    pub body: Option<String>,
    pub status: OutboxStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// What the channel said of it: for `on_site`, the address of the post to answer on the
    /// site itself; for `sent`, the message's id at the channel.
    pub note: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpportunityView {
    pub id: i64,
    pub source: String,
    pub lead_contact: Option<String>,
    pub status: OpportunityStatus,
}

/// One of a case's clocks.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClockView {
    /// `first_response`, `resolution`, or `due_date` (the date promised to the customer, watched
    /// instead of the resolution clock in a stage that carries one, as an accepted idea's).
    pub milestone: String,
    /// `ok`, `warning`, `breached`, or `met`.
    pub state: String,
    /// When it is due; absent while the clock is stopped (the case waits on the customer).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<OffsetDateTime>,
    pub paused: bool,
}

/// The work around a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkView {
    pub tasks: Vec<TaskView>,
    /// Open tasks past their due date: they count against the case.
    pub overdue_tasks: usize,
    pub compensations: Vec<CompensationView>,
    /// Messages owed to the customer and how their delivery went.
    pub outbox: Vec<OutboxView>,
    pub opportunities: Vec<OpportunityView>,
    pub clocks: Vec<ClockView>,
}

/// A case's tasks, compensation ledger, outbox, opportunities and deadline clocks.
#[utoipa::path(
    get, path = "/api/v1/feedback/{id}/work", tag = "playbooks",
    params(("id" = String, Path, description = "Case id or reference")),
    responses(
        (status = 200, description = "The work around the case", body = WorkView),
        (status = 404, description = "No such case", body = Problem),
    )
)]
pub async fn work(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<WorkView>, ApiError> {
    let Work { work, clocks } = state.app.work(&principal, &id).await?;
    let now = state.clock().now();
    let clocks = clocks
        .into_iter()
        .map(|clock| ClockView {
            milestone: clock.milestone.as_str().into(),
            state: match clock.state {
                ClockState::Ok => "ok",
                ClockState::Warning => "warning",
                ClockState::Breached => "breached",
                ClockState::Met => "met",
            }
            .into(),
            due_at: clock.due_at,
            paused: clock.paused,
        })
        .collect();
    let tasks: Vec<TaskView> = work.tasks.into_iter().map(|t| task_view(t, now)).collect();
    Ok(Json(WorkView {
        overdue_tasks: tasks.iter().filter(|t| t.overdue).count(),
        tasks,
        compensations: work
            .compensations
            .into_iter()
            .map(|c| CompensationView {
                id: c.id,
                kind: c.kind,
                amount: c.amount,
                currency: c.currency,
                description: c.description,
                apology_form: c.apology_forms.first().copied(),
                apology_forms: c.apology_forms,
                status: c.status,
                offered_by: c.offered_by,
                decided_by: c.decided_by,
                decision_reason: c.decision_reason,
            })
            .collect(),
        outbox: work
            .outbox
            .into_iter()
            .map(|m| OutboxView {
                id: m.id,
                template: m.template,
                channel: m.channel,
                body: m.body,
                status: m.status,
                attempts: m.attempts,
                last_error: m.last_error,
                note: m.note,
                created_at: m.created_at,
            })
            .collect(),
        opportunities: work
            .opportunities
            .into_iter()
            .map(|o| OpportunityView { id: o.id, source: o.source, lead_contact: o.lead_contact, status: o.status })
            .collect(),
        clocks,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTaskRequest {
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 500
    )]
    pub title: String,
    /// A user's name.
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 500
    )]
    pub assignee: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<String>,
    /// A time it is due (RFC 3339), for work with a time; its day becomes `due_on`.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<OffsetDateTime>,
}

/// Add a task to a case (for an executor or an expert).
#[utoipa::path(
    post, path = "/api/v1/feedback/{id}/tasks", tag = "playbooks",
    params(("id" = String, Path, description = "Case id or reference")),
    request_body = NewTaskRequest,
    responses(
        (status = 201, description = "The task", body = TaskView),
        (status = 404, description = "No such case", body = Problem),
        (status = 422, description = "A field is wrong (an unknown assignee, a bad date)", body = Problem),
    )
)]
pub async fn add_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let request: NewTaskRequest = parse_json(&headers, &body)?;
    let task = NewTask {
        title: request.title,
        assignee: request.assignee,
        due_on: parse_date("due_on", request.due_on)?,
        due_at: request.due_at,
    };
    let task = state.app.add_task(&principal, &id, task).await?;
    Ok((StatusCode::CREATED, Json(task_view(task, state.clock().now()))).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskUpdateRequest {
    #[serde(default, deserialize_with = "super::views::present")]
    #[schema(nullable = false)]
    pub status: Option<TaskStatus>,
    #[serde(default, deserialize_with = "super::views::present")]
    #[schema(
        nullable = false,
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 65536
    )]
    pub comment: Option<String>,
}

/// Change a task's status or comment on it. Executors may change the tasks assigned to them.
#[utoipa::path(
    patch, path = "/api/v1/tasks/{task_id}", tag = "playbooks",
    params(("task_id" = i64, Path, description = "Task id")),
    request_body = TaskUpdateRequest,
    responses(
        (status = 200, description = "The task", body = TaskView),
        (status = 403, description = "Not the caller's task", body = Problem),
        (status = 404, description = "No such task", body = Problem),
    )
)]
pub async fn update_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(task_id): Path<i64>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<TaskView>, ApiError> {
    let request: TaskUpdateRequest = parse_json(&headers, &body)?;
    let update = TaskUpdate { status: request.status, comment: request.comment };
    let task = state.app.update_task(&principal, task_id, update).await?;
    Ok(Json(task_view(task, state.clock().now())))
}

#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TasksQuery {
    /// Whose open tasks (a username); the caller's own when absent (none for an integration).
    #[param(
        nullable = false,
        max_length = 500,
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub assignee: Option<String>,
}

/// Open tasks assigned to someone (the caller by default), the earliest due first.
#[utoipa::path(
    get, path = "/api/v1/tasks", tag = "playbooks", params(TasksQuery),
    responses((status = 200, description = "Open tasks", body = Vec<TaskView>))
)]
pub async fn tasks(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<TasksQuery>,
) -> Result<Json<Vec<TaskView>>, ApiError> {
    let now = state.clock().now();
    let found = state.app.tasks(&principal, query.assignee).await?;
    Ok(Json(found.into_iter().map(|t| task_view(t, now)).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    pub case_id: Option<i64>,
    /// `deadline_warning`, `deadline_breached`, `deadline_escalated`, `approval`, `task`, `opportunity`.
    pub what: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// Notifications for the caller: those addressed to their name and to their role.
#[utoipa::path(
    get, path = "/api/v1/notifications", tag = "playbooks",
    responses((status = 200, description = "Newest first", body = Vec<NotificationView>))
)]
pub async fn notifications(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<NotificationView>>, ApiError> {
    let found = state.app.notifications(&principal).await?;
    Ok(Json(
        found
            .into_iter()
            .map(|n| NotificationView {
                id: n.id,
                case_id: n.case_id,
                what: n.what,
                body: n.body,
                created_at: n.created_at,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StageView {
    pub name: String,
    pub status: Status,
    pub waits_on_customer: bool,
    pub terminal: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaybookView {
    pub kind: Kind,
    pub initial: String,
    pub stages: Vec<StageView>,
    pub actions: Vec<ActionView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigurationView {
    pub playbooks: Vec<PlaybookView>,
    /// The business's currency and each role's approval limit in its minor units.
    pub currency: String,
    pub approval_limits: std::collections::BTreeMap<String, u64>,
    /// The share of a deadline after which a warning goes out.
    pub warn_at: f64,
    /// The business calendar's time zone.
    pub time_zone: String,
    /// Deadline targets; the most specific rule that matches a case wins.
    pub deadlines: Vec<DeadlineRuleView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineRuleView {
    pub kind: Option<Kind>,
    pub priority: Option<otklik_core::Priority>,
    pub public: Option<bool>,
    /// Minutes and the kind of hours, like `120m business` or `1440m calendar`.
    pub first_response: Option<String>,
    pub resolution: Option<String>,
}

fn target_text(target: Option<otklik_core::Target>) -> Option<String> {
    let target = target?;
    let hours = match target.hours {
        otklik_core::Hours::Business => "business",
        otklik_core::Hours::Calendar => "calendar",
    };
    Some(format!("{}m {hours}", target.within.whole_minutes()))
}

/// The playbooks, deadlines and approval limits in force.
#[utoipa::path(
    get, path = "/api/v1/playbooks", tag = "playbooks",
    responses((status = 200, description = "The configuration", body = ConfigurationView))
)]
pub async fn configuration(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<ConfigurationView>, ApiError> {
    principal.require(Right::ReadCases)?;
    let workflow = &state.app.workflow;
    let playbooks = Kind::ALL
        .iter()
        .map(|kind| {
            let playbook = workflow.playbooks.get(*kind);
            PlaybookView {
                kind: *kind,
                initial: playbook.initial.clone(),
                stages: playbook
                    .stages
                    .iter()
                    .map(|s| StageView {
                        name: s.name.to_string(),
                        status: s.status,
                        waits_on_customer: s.waits_on_customer,
                        terminal: s.terminal,
                    })
                    .collect(),
                actions: playbook.actions.iter().map(Into::into).collect(),
            }
        })
        .collect();
    let limits = workflow.playbooks.approval_limits();
    Ok(Json(ConfigurationView {
        playbooks,
        currency: limits.currency.clone(),
        approval_limits: limits.limits.iter().map(|(role, limit)| (role.to_string(), *limit)).collect(),
        warn_at: workflow.deadlines.warn_at,
        time_zone: workflow.deadlines.calendar.time_zone().to_owned(),
        deadlines: workflow
            .deadlines
            .rules
            .iter()
            .map(|rule| DeadlineRuleView {
                kind: rule.kind,
                priority: rule.priority,
                public: rule.public,
                first_response: target_text(rule.first_response),
                resolution: target_text(rule.resolution),
            })
            .collect(),
    }))
}
