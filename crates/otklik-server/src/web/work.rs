//! The work that is not one case: an executor's and a seller's own tasks with their due dates,
//! a manager's approvals, and everyone's notifications.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use otklik_app::people::session_actor;
use otklik_core::{Language, TaskStatus};
use otklik_store::{Recipient, TaskUpdate};
use serde::Deserialize;

use super::desk::{Chrome, Posted, done, given, page, refused, word};
use super::inbox::stage_words;
use super::workspace::SignedIn;
use crate::startup::AppState;

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    language: Language,
    chrome: Chrome,
    tasks: Vec<TaskRow>,
}

struct TaskRow {
    id: i64,
    case: i64,
    title: String,
    due: String,
    overdue: bool,
    comments: Vec<(String, String)>,
}

/// `GET /tasks`: my open tasks, the earliest due first, overdue ones marked.
pub(super) async fn tasks(State(state): State<AppState>, person: SignedIn, headers: HeaderMap) -> Response {
    let chrome = Chrome::new(&person, &headers, &state, "tasks");
    let actor = session_actor(&person.session);
    let found = match state.app.tasks(&actor, None).await {
        Ok(found) => found,
        Err(error) => return refused(&chrome, error, None),
    };
    let today = otklik_core::in_time_zone(&chrome.zone, state.app.clock.now()).unwrap_or(state.app.clock.now()).date();
    // A task names its case by id, which the case page takes as well as a reference.
    let tasks = found
        .into_iter()
        .map(|task| TaskRow {
            id: task.id,
            case: task.case_id,
            title: task.title,
            due: match task.due_at {
                Some(at) => chrome.when(at),
                None => task.due_on.map(|d| d.to_string()).unwrap_or_default(),
            },
            overdue: match task.due_at {
                Some(at) => at < state.app.clock.now(),
                None => task.due_on.is_some_and(|due| due < today),
            },
            comments: task.comments.into_iter().map(|c| (c.author, c.body)).collect(),
        })
        .collect();
    page(StatusCode::OK, &TasksPage { language: chrome.language, chrome, tasks })
}

#[derive(Deserialize)]
pub(super) struct TaskForm {
    status: Option<String>,
    comment: Option<String>,
    back: Option<String>,
}

/// `POST /tasks/{id}`: completes or cancels a task, or comments on it.
pub(super) async fn update_task(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    posted: Posted<TaskForm>,
) -> Response {
    let chrome = Chrome::new(&posted.person, &headers, &state, "tasks");
    let actor = posted.actor();
    let back =
        posted.form.back.clone().filter(|b| b.starts_with('/') && !b.starts_with("//")).unwrap_or("/tasks".into());
    let status: Option<TaskStatus> = match word("status", posted.form.status.clone()) {
        Ok(status) => status,
        Err(error) => return refused(&chrome, error, Some(back)),
    };
    let update = TaskUpdate { status, comment: given(posted.form.comment.clone()) };
    match state.app.update_task(&actor, id, update).await {
        Ok(_) => done(&back),
        Err(error) => refused(&chrome, error, Some(back)),
    }
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct ApprovalsPage {
    language: Language,
    chrome: Chrome,
    cases: Vec<(String, String, String, String)>,
}

/// `GET /approvals`: what waits for a manager's decision (compensation above the limit, ideas).
pub(super) async fn approvals(State(state): State<AppState>, person: SignedIn, headers: HeaderMap) -> Response {
    let chrome = Chrome::new(&person, &headers, &state, "approvals");
    let actor = session_actor(&person.session);
    let found = match state.app.approvals(&actor).await {
        Ok(found) => found,
        Err(error) => return refused(&chrome, error, None),
    };
    let cases = found
        .iter()
        .map(|case| {
            (
                case.reference().to_string(),
                chrome.t(&format!("kind-{}", case.kind)),
                stage_words(&chrome, &case.stage),
                case.subject.clone().unwrap_or_default(),
            )
        })
        .collect();
    page(StatusCode::OK, &ApprovalsPage { language: chrome.language, chrome, cases })
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    language: Language,
    chrome: Chrome,
    notifications: Vec<NotificationRow>,
}

struct NotificationRow {
    at: String,
    to_me: bool,
    case: String,
    body: String,
}

/// `GET /notifications`: those addressed to me and to my role, newest first.
pub(super) async fn notifications(State(state): State<AppState>, person: SignedIn, headers: HeaderMap) -> Response {
    let chrome = Chrome::new(&person, &headers, &state, "notifications");
    let actor = session_actor(&person.session);
    let found = match state.app.notifications(&actor).await {
        Ok(found) => found,
        Err(error) => return refused(&chrome, error, None),
    };
    let notifications = found
        .into_iter()
        .take(200)
        .map(|n| NotificationRow {
            at: chrome.when(n.created_at),
            to_me: matches!(n.recipient, Recipient::User(_)),
            case: n.case_id.map(|id| id.to_string()).unwrap_or_default(),
            body: n.body,
        })
        .collect();
    page(StatusCode::OK, &NotificationsPage { language: chrome.language, chrome, notifications })
}

#[derive(Template)]
#[template(path = "opportunities.html")]
struct OpportunitiesPage {
    language: Language,
    chrome: Chrome,
    rows: Vec<OpportunityRow>,
}

struct OpportunityRow {
    case: i64,
    source: String,
    lead: String,
    since: String,
    due: String,
    overdue: bool,
}

/// `GET /opportunities`: customers handed to sales and referral leads, the soonest due first.
pub(super) async fn opportunities(State(state): State<AppState>, person: SignedIn, headers: HeaderMap) -> Response {
    let chrome = Chrome::new(&person, &headers, &state, "opportunities");
    let actor = session_actor(&person.session);
    let found = match state.app.opportunities(&actor).await {
        Ok(found) => found,
        Err(error) => return refused(&chrome, error, None),
    };
    let now = state.app.clock.now();
    let rows = found
        .into_iter()
        .map(|(opportunity, due)| OpportunityRow {
            case: opportunity.case_id,
            source: chrome.tr.maybe(&format!("action-{}", opportunity.source)).unwrap_or(opportunity.source),
            lead: opportunity.lead_contact.unwrap_or_default(),
            since: chrome.when(opportunity.created_at),
            due: due.map(|at| chrome.when(at)).unwrap_or_default(),
            overdue: due.is_some_and(|at| at <= now),
        })
        .collect();
    page(StatusCode::OK, &OpportunitiesPage { language: chrome.language, chrome, rows })
}
