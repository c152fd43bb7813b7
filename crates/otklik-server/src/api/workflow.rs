//! The playbooks over HTTP: a case's allowed actions and taking one, its tasks, compensation,
//! outbox and clocks, an executor's tasks, notifications, and the playbook configuration.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use otklik_core::standard::Draft;
use otklik_core::{
    Action, ActionInput, ApologyForm, Compensation, CompensationKind, CompensationStatus, DeadlineState, Kind,
    Milestone, OutboxStatus, Refusal, Role, Status, TaskStatus,
};
use otklik_store::{CaseWork, NewTask, Stamp, Step, Task, TaskUpdate};
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};
use utoipa::ToSchema;

use super::feedback::{case_view, resolve_state, stamp};
use super::views::{CaseView, line, optional_text as text};
use super::{RawBody, parse_json};
use crate::auth::Principal;
use crate::problem::{ApiError, Problem};
use crate::startup::AppState;

fn may_read(principal: &Principal) -> Result<(), ApiError> {
    principal.require(Role::can_read_cases, "read cases")
}

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
    pub reason: Option<String>,
    /// A date, `YYYY-MM-DD` (an accepted idea's delivery, a task's due date).
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<String>,
    /// A referral's lead: the friend's name and contacts.
    pub lead_contact: Option<String>,
    /// What was done or said; on an action that emits a message, the words for the customer,
    /// checked against the house standard.
    pub note: Option<String>,
    pub apology_form: Option<ApologyForm>,
    pub compensation: Option<CompensationRequest>,
    /// Send words the house-standard checker flagged anyway.
    #[serde(default)]
    pub override_standard: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompensationRequest {
    pub kind: CompensationKind,
    /// In minor units (kopecks, cents) of the business's currency.
    pub amount: u64,
    pub description: Option<String>,
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
            apology_form: self.apology_form,
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
    may_read(&principal)?;
    let current = resolve_state(&state, &id).await?;
    let case = &current.case;
    let playbooks = &state.workflow.playbooks;
    let facts = facts(&current);
    let stage = playbooks.resolve_stage(case.kind, &case.stage, case.status);
    let actions = playbooks.allowed_actions(case.kind, &facts, principal.role).into_iter().map(Into::into).collect();
    Ok(Json(ActionsView { kind: case.kind, stage: stage.name.clone(), status: stage.status, actions }))
}

fn facts(state: &otklik_store::CaseState) -> otklik_core::CaseFacts<'_> {
    otklik_core::CaseFacts {
        stage: &state.case.stage,
        status: state.case.status,
        open_tasks: state.open_tasks,
        pending_compensations: state.pending_compensations,
    }
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
    may_read(&principal)?;
    let request: ActionRequest = if body.is_empty() { ActionRequest::default() } else { parse_json(&headers, &body)? };
    let override_standard = request.override_standard;
    let input = request.parse()?;
    let current = resolve_state(&state, &id).await?;
    let case = &current.case;
    let playbooks = &state.workflow.playbooks;
    let facts = facts(&current);
    let transition = playbooks.take(case.kind, &action, &facts, principal.role, &input).map_err(|refusal| {
        let allowed =
            || playbooks.allowed_actions(case.kind, &facts, principal.role).iter().map(|a| a.name.clone()).collect();
        match refusal {
            Refusal::UnknownAction { .. } | Refusal::NotInThisStage { .. } => {
                ApiError::Conflict { detail: refusal.to_string(), allowed: allowed() }
            }
            Refusal::RoleNotPermitted { .. } => ApiError::Forbidden(refusal.to_string()),
            Refusal::RequirementUnmet { .. } | Refusal::CompensationNotOffered { .. } => {
                ApiError::Unprocessable(refusal.to_string())
            }
        }
    })?;
    if transition.emits.is_some()
        && let Some(note) = &input.note
        && !override_standard
    {
        let draft = Draft { text: note, kind: case.kind, public: case.public, language: None };
        let checked = super::replies::check(&state, &draft, &headers);
        if !checked.ok {
            return Err(ApiError::Standard(checked.findings));
        }
    }
    let now = state.clock.now();
    let follow_up_at = transition.effects.iter().find_map(|effect| match effect {
        otklik_core::Effect::FollowUp { after_hours } => Some(now + Duration::hours(i64::from(*after_hours))),
        _ => None,
    });
    let step = Step {
        transition,
        input,
        currency: playbooks.approval_limits().currency.clone(),
        channel: case.channel,
        follow_up_at,
    };
    let expected = facts.stage.to_owned();
    state.store.take_step(case.id, &expected, &step, Stamp { at: now, actor: principal.name.clone() }).await?;
    let detail = state.store.case(case.id).await?;
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
    pub status: TaskStatus,
    /// Open and past its due date.
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

fn task_view(task: Task, today: Date) -> TaskView {
    TaskView {
        overdue: task.status == TaskStatus::Open && task.due_on.is_some_and(|due| due < today),
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
    pub apology_form: Option<ApologyForm>,
    pub status: CompensationStatus,
    pub offered_by: String,
    pub decided_by: Option<String>,
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
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpportunityView {
    pub id: i64,
    pub source: String,
    pub lead_contact: Option<String>,
    pub status: String,
}

/// One of a case's clocks.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClockView {
    /// `first_response` or `resolution`.
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
    may_read(&principal)?;
    let case = resolve_state(&state, &id).await?.case;
    let work: CaseWork = state.store.case_work(case.id).await?;
    let now = state.clock.now();
    // The first message owed to the customer met the first-response clock.
    let responded = !work.outbox.is_empty();
    let finished = matches!(case.status, Status::Resolved | Status::Closed);
    let clocks = [Milestone::FirstResponse, Milestone::Resolution]
        .into_iter()
        .filter_map(|milestone| {
            let policy = &state.workflow.deadlines;
            let target = policy.target(case.kind, case.priority, case.public, milestone)?;
            let met = match milestone {
                Milestone::FirstResponse => responded,
                Milestone::Resolution => finished,
            };
            let status = policy.status_at(target, case.location.as_deref(), case.created_at, &work.pauses, now);
            let state = if met {
                "met"
            } else {
                match status.state {
                    DeadlineState::Ok => "ok",
                    DeadlineState::Warning => "warning",
                    DeadlineState::Breached => "breached",
                }
            };
            Some(ClockView {
                milestone: match milestone {
                    Milestone::FirstResponse => "first_response".into(),
                    Milestone::Resolution => "resolution".into(),
                },
                state: state.into(),
                due_at: status.due_at,
                paused: status.paused,
            })
        })
        .collect();
    let today = now.date();
    let tasks: Vec<TaskView> = work.tasks.into_iter().map(|t| task_view(t, today)).collect();
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
                apology_form: c.apology_form,
                status: c.status,
                offered_by: c.offered_by,
                decided_by: c.decided_by,
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
    pub title: String,
    /// A user name.
    pub assignee: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<String>,
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
    principal.require(Role::can_work_cases, "add tasks")?;
    let request: NewTaskRequest = parse_json(&headers, &body)?;
    let title = line("title", Some(request.title))?
        .ok_or_else(|| ApiError::Unprocessable("title: must not be blank".into()))?;
    let task =
        NewTask { title, assignee: line("assignee", request.assignee)?, due_on: parse_date("due_on", request.due_on)? };
    let case = resolve_state(&state, &id).await?.case;
    let task = state.store.add_task(case.id, task, stamp(&state, &principal)).await?;
    Ok((StatusCode::CREATED, Json(task_view(task, state.clock.now().date()))).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskUpdateRequest {
    pub status: Option<TaskStatus>,
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
    may_read(&principal)?;
    let request: TaskUpdateRequest = parse_json(&headers, &body)?;
    let update = TaskUpdate { status: request.status, comment: text("comment", request.comment)? };
    if update == TaskUpdate::default() {
        return Err(ApiError::Unprocessable("give a status, a comment or both".into()));
    }
    if !principal.role.can_work_cases() {
        let mine = state.store.tasks_for(&principal.name).await?.iter().any(|task| task.id == task_id);
        if !mine {
            return Err(ApiError::Forbidden(format!(
                "the `{}` role may change only its own open tasks",
                principal.role
            )));
        }
    }
    let task = state.store.update_task(task_id, update, stamp(&state, &principal)).await?;
    Ok(Json(task_view(task, state.clock.now().date())))
}

#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TasksQuery {
    /// Whose open tasks; the caller's own when absent.
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
    may_read(&principal)?;
    let assignee = query.assignee.unwrap_or_else(|| principal.name.clone());
    if assignee != principal.name && !principal.role.can_work_cases() {
        return Err(ApiError::Forbidden(format!("the `{}` role may see only its own tasks", principal.role)));
    }
    let today = state.clock.now().date();
    Ok(Json(state.store.tasks_for(&assignee).await?.into_iter().map(|t| task_view(t, today)).collect()))
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
    may_read(&principal)?;
    let mut found = state.store.notifications(&principal.name).await?;
    found.extend(state.store.notifications(principal.role.as_str()).await?);
    found.sort_by_key(|n| std::cmp::Reverse(n.id));
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
    may_read(&principal)?;
    let workflow = &state.workflow;
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
                        name: s.name.clone(),
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
