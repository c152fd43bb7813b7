//! The inbox: every case in queues (kind, stage, deadline risk, channel, location, assignee,
//! "mine"), the core's search across word forms, sorted by priority or due time; bulk assign;
//! and a stream of server-sent events that tells an open inbox something changed, on any node.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use otklik_app::people::session_actor;
use otklik_app::{AppError, DueRisk};
use otklik_core::{Case, CaseFilter, CasePatch, Channel, Cursor, Kind, Language, Sort};
use serde::Deserialize;

use super::desk::{Chrome, Posted, done, given, page, refused, word};
use super::workspace::SignedIn;
use crate::startup::AppState;

/// How often an open inbox's stream asks the database whether anything changed.
const EVENTS_EVERY: Duration = Duration::from_secs(2);
/// Cases on one page of the inbox.
const PAGE: u32 = 50;

/// The inbox's query string: every field optional, blank is absent.
#[derive(Debug, Default, Deserialize)]
pub(super) struct InboxQuery {
    q: Option<String>,
    kind: Option<String>,
    stage: Option<String>,
    /// `breached`, `hour` or `later`.
    risk: Option<String>,
    channel: Option<String>,
    location: Option<String>,
    assignee: Option<String>,
    /// `1`: only cases assigned to me.
    mine: Option<String>,
    /// `newest` (the default), `priority` or `due`.
    sort: Option<String>,
    /// `1`: resolved and closed cases too.
    all: Option<String>,
    /// `1`: hidden cases (trolls' comments) too.
    hidden: Option<String>,
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    language: Language,
    chrome: Chrome,
    rows: Vec<Row>,
    /// The filters as asked, to show them in the form.
    asked: Asked,
    kinds: Vec<(String, String)>,
    stages: Vec<(String, String)>,
    channels: Vec<(String, String)>,
    people: Vec<(String, String)>,
    next: Option<String>,
    /// This page's address, for the bulk form to come back to.
    here: String,
    /// The change this page shows; the live stream reports newer ones.
    change: i64,
}

#[derive(Default)]
struct Asked {
    q: String,
    kind: String,
    stage: String,
    risk: String,
    channel: String,
    location: String,
    assignee: String,
    mine: bool,
    sort: String,
    all: bool,
    hidden: bool,
}

struct Row {
    id: i64,
    reference: String,
    kind: String,
    status: String,
    stage: String,
    priority: String,
    urgent: bool,
    /// `hidden` (kept out of the queues), `troll` (triage suspects a troll; an agent decides)
    /// or empty.
    mark: &'static str,
    subject: String,
    preview: String,
    channel: String,
    assignee: String,
    due: String,
    due_iso: String,
    /// `breached`, `soon` or empty.
    risk: &'static str,
    received: String,
    received_iso: String,
}

/// A stage's words: the Fluent key `stage-<name>` where the default playbooks name it, else the
/// name as the business's file writes it.
pub(super) fn stage_words(chrome: &Chrome, stage: &str) -> String {
    chrome.tr.maybe(&format!("stage-{stage}")).unwrap_or_else(|| stage.replace('_', " "))
}

fn filter_of(state: &AppState, chrome: &Chrome, query: InboxQuery) -> Result<(CaseFilter, Asked), AppError> {
    let mut asked = Asked {
        q: query.q.clone().unwrap_or_default(),
        kind: query.kind.clone().unwrap_or_default(),
        stage: query.stage.clone().unwrap_or_default(),
        risk: query.risk.clone().unwrap_or_default(),
        channel: query.channel.clone().unwrap_or_default(),
        location: query.location.clone().unwrap_or_default(),
        assignee: query.assignee.clone().unwrap_or_default(),
        mine: query.mine.as_deref() == Some("1"),
        sort: query.sort.clone().unwrap_or_default(),
        all: query.all.as_deref() == Some("1"),
        hidden: query.hidden.as_deref() == Some("1"),
    };
    let (due_from, due_to) = match given(query.risk).as_deref() {
        None => (None, None),
        Some("breached") => state.app.due_bounds(DueRisk::Breached),
        Some("hour") => state.app.due_bounds(DueRisk::WithinHour),
        Some("later") => state.app.due_bounds(DueRisk::Later),
        Some(other) => return Err(AppError::Invalid(format!("risk: `{other}` is not breached, hour or later"))),
    };
    let sort = match given(query.sort).as_deref() {
        None | Some("newest") => Sort::Newest,
        Some("priority") => Sort::Priority,
        Some("due") => Sort::Due,
        Some(other) => return Err(AppError::Invalid(format!("sort: `{other}` is not newest, priority or due"))),
    };
    let assignee = if asked.mine { Some(chrome.username.clone()) } else { given(query.assignee) };
    if asked.mine {
        asked.assignee.clear();
    }
    let filter = CaseFilter {
        query: given(query.q),
        kind: word("kind", query.kind)?,
        channel: word("channel", query.channel)?,
        stage: given(query.stage),
        location: given(query.location),
        assignee,
        due_from,
        due_to,
        open_only: !asked.all,
        include_hidden: asked.hidden,
        sort,
        cursor: given(query.cursor)
            .map(|c| c.parse::<Cursor>().map_err(|e| AppError::Invalid(format!("cursor: {e}"))))
            .transpose()?,
        limit: PAGE,
        ..CaseFilter::default()
    };
    Ok((filter, asked))
}

/// `GET /inbox`: the queues.
pub(super) async fn inbox(
    State(state): State<AppState>,
    person: SignedIn,
    headers: HeaderMap,
    Query(query): Query<InboxQuery>,
) -> Response {
    let chrome = Chrome::new(&person, &headers, &state, "inbox");
    let actor = session_actor(&person.session);
    let cursor = given(query.cursor.clone());
    let (filter, asked) = match filter_of(&state, &chrome, query) {
        Ok(found) => found,
        Err(error) => return refused(&chrome, error, Some("/inbox".into())),
    };
    // The change is read before the cases, so a change in between shows up as a newer one.
    let change = match state.app.last_change(&actor).await {
        Ok(change) => change,
        Err(error) => return refused(&chrome, error, None),
    };
    let found = match state.app.cases(&actor, &filter).await {
        Ok(found) => found,
        Err(error) => return refused(&chrome, error, Some("/inbox".into())),
    };
    let previews = match state.app.previews(&actor, &found.items).await {
        Ok(previews) => previews,
        Err(error) => return refused(&chrome, error, None),
    };
    let people = match state.app.assignees(&actor).await {
        Ok(people) => people,
        Err(error) => return refused(&chrome, error, None),
    };
    let now = state.app.clock.now();
    let rows = found.items.iter().map(|case| row(&chrome, case, previews.get(&case.id), now)).collect();
    let mut stages: Vec<String> = Kind::ALL
        .iter()
        .flat_map(|kind| state.app.workflow.playbooks.get(*kind).stages.iter().map(|s| s.name.to_string()))
        .collect();
    stages.sort();
    stages.dedup();
    let next = found.next_cursor.map(|next| address(&asked, Some(next.to_string())));
    let here = address(&asked, cursor);
    let page_data = InboxPage {
        language: chrome.language,
        kinds: Kind::ALL.iter().map(|k| (k.to_string(), chrome.t(&format!("kind-{k}")))).collect(),
        stages: stages.iter().map(|s| (s.clone(), stage_words(&chrome, s))).collect(),
        channels: Channel::ALL.iter().map(|c| (c.to_string(), chrome.t(&format!("channel-{c}")))).collect(),
        people: people
            .into_iter()
            .map(|p| (p.username.clone(), p.display_name.unwrap_or_else(|| p.username.clone())))
            .collect(),
        rows,
        asked,
        next,
        here,
        change,
        chrome,
    };
    page(StatusCode::OK, &page_data)
}

/// The inbox's address with the filters asked, at a page (`cursor`).
fn address(asked: &Asked, cursor: Option<String>) -> String {
    let mut pairs = query_pairs_of(asked);
    pairs.extend(cursor.map(|cursor| ("cursor", cursor)));
    format!("/inbox?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
}

fn query_pairs_of(asked: &Asked) -> Vec<(&'static str, String)> {
    let flag = |on: bool| if on { "1".to_owned() } else { String::new() };
    [
        ("q", asked.q.clone()),
        ("kind", asked.kind.clone()),
        ("stage", asked.stage.clone()),
        ("risk", asked.risk.clone()),
        ("channel", asked.channel.clone()),
        ("location", asked.location.clone()),
        ("assignee", asked.assignee.clone()),
        ("mine", flag(asked.mine)),
        ("sort", asked.sort.clone()),
        ("all", flag(asked.all)),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .collect()
}

fn row(chrome: &Chrome, case: &Case, preview: Option<&String>, now: time::OffsetDateTime) -> Row {
    let open = !matches!(case.status, otklik_core::Status::Resolved | otklik_core::Status::Closed);
    let (due, due_iso, risk) = match case.due_at.filter(|_| open) {
        Some(at) => {
            let risk = if at <= now {
                "breached"
            } else if at <= now + time::Duration::hours(1) {
                "soon"
            } else {
                ""
            };
            (chrome.when(at), chrome.iso(at), risk)
        }
        None => (String::new(), String::new(), ""),
    };
    Row {
        id: case.id,
        reference: case.reference().to_string(),
        kind: chrome.t(&format!("kind-{}", case.kind)),
        status: chrome.t(&format!("status-{}", case.status)),
        stage: stage_words(chrome, &case.stage),
        priority: chrome.t(&format!("priority-{}", case.priority)),
        urgent: matches!(case.priority, otklik_core::Priority::Urgent | otklik_core::Priority::High),
        mark: if case.hidden {
            "hidden"
        } else if case.audience == otklik_core::Audience::Troll {
            "troll"
        } else {
            ""
        },
        subject: case.subject.clone().unwrap_or_default(),
        preview: preview.cloned().unwrap_or_default(),
        channel: chrome.t(&format!("channel-{}", case.channel)),
        assignee: case.assignee.clone().unwrap_or_default(),
        due,
        due_iso,
        risk,
        received: chrome.when(case.created_at),
        received_iso: chrome.iso(case.created_at),
    }
}

#[derive(Deserialize)]
pub(super) struct BulkForm {
    assignee: Option<String>,
    back: Option<String>,
}

/// `POST /inbox/assign`: gives the ticked cases (`case`, repeated) to one person, or to no one.
pub(super) async fn bulk_assign(State(state): State<AppState>, posted: Posted<Vec<(String, String)>>) -> Response {
    let headers = HeaderMap::new();
    let chrome = Chrome::new(&posted.person, &headers, &state, "inbox");
    let actor = posted.actor();
    let fields = &posted.form;
    let field = |name: &str| fields.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let form = BulkForm { assignee: field("assignee"), back: field("back") };
    let back = form.back.filter(|b| b.starts_with("/inbox")).unwrap_or_else(|| "/inbox".into());
    let cases: Vec<&String> = fields.iter().filter(|(key, _)| key == "case").map(|(_, value)| value).collect();
    if cases.is_empty() {
        return refused(&chrome, AppError::Invalid(chrome.t("bulk-none")), Some(back));
    }
    let assignee = given(form.assignee);
    for case in cases {
        let patch = CasePatch { assignee: Some(assignee.clone()), ..CasePatch::default() };
        if let Err(error) = state.app.correct(&actor, case, patch).await {
            return refused(&chrome, error, Some(back));
        }
    }
    done(&back)
}

/// `GET /inbox/events`: a server-sent event `change` whenever a case is created or changes
/// (on any node: the stream reads the database), carrying the newest change's number. The
/// stream ends when the session does.
pub(super) async fn events(State(state): State<AppState>, person: SignedIn) -> Response {
    let actor = session_actor(&person.session);
    let last = match state.app.last_change(&actor).await {
        Ok(last) => last,
        Err(error) => return (super::desk::status_of(&error), error.to_string()).into_response(),
    };
    let ticks = tokio::time::interval(EVENTS_EVERY);
    let start = (ticks, state, actor, person.secret, last);
    let stream = futures_util::stream::unfold(start, |(mut ticks, state, actor, secret, mut last)| async move {
        loop {
            ticks.tick().await;
            if !matches!(state.app.session(&secret).await, Ok(Some(_))) {
                return None;
            }
            match state.app.last_change(&actor).await {
                Ok(change) if change > last => {
                    last = change;
                    let event = Event::default().event("change").data(change.to_string());
                    return Some((Ok::<_, Infallible>(event), (ticks, state, actor, secret, last)));
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "the inbox stream cannot read changes"),
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}
