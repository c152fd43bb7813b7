//! `/api/v1/feedback`: submit new feedback, list and search cases, read one case, reply or note,
//! and change a case. Every write is committed before it is acknowledged.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use otklik_core::standard::Draft;
use otklik_core::{
    Audience, CaseFilter, CaseRef, Channel, Cursor, Direction, Kind, NewFeedback, NewMessage, Role, Status,
};
use otklik_store::{CaseDetail, CaseState, IdempotencyKey, Stamp, StoreError};
use otklik_triage::Input;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;

use super::views::{
    CaseList, CaseSummary, CaseView, MessageKind, MessageRequest, PatchRequest, SubmitRequest, SubmitResponse, line,
    text,
};
use super::{RawBody, parse_json};
use crate::auth::{Principal, mint_link_secret};
use crate::problem::{ApiError, Problem};
use crate::startup::AppState;

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The customer's status link for a case.
fn status_url(state: &AppState, token: &str) -> String {
    format!("{}/s/{token}", state.public_url)
}

/// When the deadline watch first needs to look at new feedback: the earliest warning of its
/// clocks, so that intake does not leave the watch a look at every new case.
fn first_watch(state: &AppState, feedback: &NewFeedback) -> Option<time::OffsetDateTime> {
    let policy = &state.workflow.deadlines;
    let now = state.clock.now();
    [otklik_core::Milestone::FirstResponse, otklik_core::Milestone::Resolution]
        .into_iter()
        .filter_map(|milestone| policy.target(feedback.kind, feedback.priority, feedback.public, milestone))
        .filter_map(|target| policy.warning_at(target, feedback.location.as_deref(), now, &[], now))
        .min()
}

pub(super) fn stamp(state: &AppState, principal: &Principal) -> Stamp {
    Stamp { at: state.clock.now(), actor: principal.name.clone() }
}

/// Submit feedback: creates a case (and finds or creates the customer). Answers 201 once the
/// case is committed; a redelivery (same `Idempotency-Key`, or same `channel` and
/// `external_id`) answers 200 with the existing case and creates nothing.
#[utoipa::path(
    post, path = "/api/v1/feedback", tag = "feedback",
    request_body = SubmitRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe: the same key returns the first result.")),
    responses(
        (status = 201, description = "Case created", body = SubmitResponse),
        (status = 200, description = "Redelivery: the existing case", body = SubmitResponse),
        (status = 400, description = "Malformed JSON", body = Problem),
        (status = 401, description = "No or unknown token", body = Problem),
        (status = 413, description = "Body over the size limit", body = Problem),
        (status = 415, description = "Not JSON", body = Problem),
        (status = 422, description = "A field is missing or wrong", body = Problem),
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    principal.require(Role::can_submit, "submit feedback")?;
    let request: SubmitRequest = parse_json(&headers, &body)?;
    let idempotency = idempotency_key(&headers, &principal, &body)?;
    let text = text("text", &request.text)?;
    let customer = request.customer.unwrap_or_default().parse()?;
    let input = Input {
        text: &text,
        public: request.public,
        followers: customer.followers.and_then(|f| u64::try_from(f).ok()),
        vip: false,
        repeated_complaint: false,
    };
    let triaged = state.triage.current().classify(&input);
    let kind = request.kind.unwrap_or(triaged.kind);
    // A returning VIP or a customer who complained before is answered sooner; the store knows
    // which the customer is while it finds them, so it gets the priority for each.
    let raised = |vip, repeated_complaint| {
        otklik_triage::priority(kind, triaged.sentiment, triaged.audience, &Input { vip, repeated_complaint, ..input })
    };
    let returning = otklik_core::ReturningPriority {
        vip: raised(true, false),
        complained_before: raised(false, true),
        vip_complained_before: raised(true, true),
    };
    let priority = raised(false, false);
    let mut feedback = NewFeedback {
        channel: request.channel.unwrap_or(Channel::Api),
        subject: line("subject", request.subject)?,
        text,
        customer,
        location: line("location", request.location)?,
        product: line("product", request.product)?,
        public: request.public,
        kind,
        // Triage tells a cause only for what it reads as a complaint; a kind the source gave
        // wins over its reading.
        cause: if kind == Kind::Complaint { triaged.cause } else { None },
        sentiment: Some(triaged.sentiment),
        audience: if request.public { triaged.audience } else { Audience::None },
        language: Some(triaged.language),
        priority,
        external_id: line("external_id", request.external_id)?,
        watch_at: None,
        returning: Some(returning),
    };
    feedback.watch_at = first_watch(&state, &feedback);
    let channel = feedback.channel;
    let submitted =
        state.store.submit_feedback(feedback, mint_link_secret(), idempotency, stamp(&state, &principal)).await?;
    let case = submitted.case;
    let response = SubmitResponse {
        id: case.id,
        reference: case.reference().to_string(),
        kind: case.kind,
        status: case.status,
        status_url: status_url(&state, &case.status_token),
    };
    let location = format!("/api/v1/feedback/{}", case.id);
    if submitted.created {
        state.metrics.case_created(channel);
        Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(response)).into_response())
    } else {
        Ok((StatusCode::OK, [(header::LOCATION, location)], Json(response)).into_response())
    }
}

fn idempotency_key(
    headers: &HeaderMap,
    principal: &Principal,
    body: &Bytes,
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|key| !key.is_empty() && key.len() <= 255)
        .ok_or_else(|| ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into()))?;
    let digest = Sha256::digest(body);
    Ok(Some(IdempotencyKey {
        scope: principal.scope.clone(),
        key: key.to_owned(),
        body_digest: digest.iter().map(|byte| format!("{byte:02x}")).collect(),
    }))
}

/// Filters, search and paging for the case list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Full-text search over subject and messages (Russian, Ukrainian and English word forms).
    q: Option<String>,
    kind: Option<Kind>,
    status: Option<Status>,
    channel: Option<Channel>,
    location: Option<String>,
    assignee: Option<String>,
    /// Created at or after this instant (RFC 3339).
    from: Option<String>,
    /// Created before this instant (RFC 3339).
    to: Option<String>,
    /// Include hidden cases (trolls' comments).
    #[serde(default)]
    include_hidden: bool,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 200; 50 by default.
    limit: Option<u32>,
}

fn instant(field: &str, value: Option<String>) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|v| {
            OffsetDateTime::parse(&v, &Rfc3339).map_err(|_| {
                ApiError::Unprocessable(format!("{field}: `{v}` is not an RFC 3339 time like 2026-11-23T10:00:00Z"))
            })
        })
        .transpose()
}

/// List cases, newest first, or search them (ranked) with `q`.
#[utoipa::path(
    get, path = "/api/v1/feedback", tag = "feedback",
    params(ListParams),
    responses(
        (status = 200, description = "One page of cases", body = CaseList),
        (status = 400, description = "A parameter is wrong", body = Problem),
        (status = 403, description = "The role may not read cases", body = Problem),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CaseList>, ApiError> {
    principal.require(Role::can_read_cases, "read cases")?;
    let Query(params) = params.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::Unprocessable("limit: must be 1 to 200".into()));
    }
    let cursor = params
        .cursor
        .map(|c| c.parse::<Cursor>())
        .transpose()
        .map_err(|e| ApiError::Unprocessable(format!("cursor: {e}")))?;
    let filter = CaseFilter {
        query: line("q", params.q)?,
        kind: params.kind,
        status: params.status,
        channel: params.channel,
        location: line("location", params.location)?,
        assignee: line("assignee", params.assignee)?,
        created_from: instant("from", params.from)?,
        created_to: instant("to", params.to)?,
        customer_id: None,
        include_hidden: params.include_hidden,
        cursor,
        limit,
    };
    let page = state.store.list_cases(&filter).await?;
    Ok(Json(CaseList {
        items: page.items.into_iter().map(CaseSummary::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.to_string()),
    }))
}

/// The case a path names, by id or by reference (`OT-2026-000123`). A reference's year is part of
/// it: `OT-2025-000007` does not open case 7 if that case is from 2026.
pub(super) async fn resolve(state: &AppState, raw: &str) -> Result<CaseDetail, ApiError> {
    let (id, year) = case_id(raw)?;
    let detail = state.store.case(id).await.map_err(|error| not_found(raw, error))?;
    check_year(raw, year, &detail.case)?;
    Ok(detail)
}

/// Like [`resolve`], with what the playbook engine needs instead of messages and history.
pub(super) async fn resolve_state(state: &AppState, raw: &str) -> Result<CaseState, ApiError> {
    let (id, year) = case_id(raw)?;
    let found = state.store.case_state(id).await.map_err(|error| not_found(raw, error))?;
    check_year(raw, year, &found.case)?;
    Ok(found)
}

/// The id a path names and, for a reference, the year it claims.
fn case_id(raw: &str) -> Result<(i64, Option<i32>), ApiError> {
    match raw.parse::<i64>() {
        Ok(id) => Ok((id, None)),
        Err(_) => {
            let reference = raw.parse::<CaseRef>().map_err(|_| {
                ApiError::NotFound(format!("`{raw}` is neither a case id nor a reference like OT-2026-000123"))
            })?;
            Ok((reference.number, Some(reference.year)))
        }
    }
}

fn not_found(raw: &str, error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound(_) => ApiError::NotFound(format!("no case `{raw}`")),
        other => other.into(),
    }
}

fn check_year(raw: &str, year: Option<i32>, case: &otklik_core::Case) -> Result<(), ApiError> {
    match year {
        Some(year) if year != case.created_at.year() => Err(ApiError::NotFound(format!("no case `{raw}`"))),
        _ => Ok(()),
    }
}

pub(super) fn case_view(state: &AppState, detail: CaseDetail) -> CaseView {
    CaseView {
        status_url: status_url(state, &detail.case.status_token),
        case: CaseSummary::from(detail.case),
        customer: detail.customer,
        messages: detail.messages,
        events: detail.events,
    }
}

/// One case with its customer, messages and history.
#[utoipa::path(
    get, path = "/api/v1/feedback/{id}", tag = "feedback",
    params(("id" = String, Path, description = "Case id or reference (OT-2026-000123)")),
    responses(
        (status = 200, description = "The case", body = CaseView),
        (status = 404, description = "No such case", body = Problem),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    principal.require(Role::can_read_cases, "read cases")?;
    Ok(Json(case_view(&state, resolve(&state, &id).await?)))
}

/// Add a reply to the customer or an internal note.
#[utoipa::path(
    post, path = "/api/v1/feedback/{id}/messages", tag = "feedback",
    params(("id" = String, Path, description = "Case id or reference")),
    request_body = MessageRequest,
    responses(
        (status = 201, description = "Message added", body = otklik_core::Message),
        (status = 404, description = "No such case", body = Problem),
        (status = 422, description = "A field is wrong, or the reply breaks the house standard (see `findings`)", body = Problem),
    )
)]
pub async fn add_message(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    principal.require(Role::can_work_cases, "write on cases")?;
    let request: MessageRequest = parse_json(&headers, &body)?;
    let case = resolve_state(&state, &id).await?.case;
    let (direction, public) = match request.kind {
        MessageKind::Reply => (Direction::Outbound, request.public.unwrap_or(true)),
        MessageKind::Note if request.public == Some(true) => {
            return Err(ApiError::Unprocessable("public: a note is never shown to the customer".into()));
        }
        MessageKind::Note => (Direction::Note, false),
    };
    let body = text("body", &request.body)?;
    if direction == Direction::Outbound && !request.override_standard {
        let draft = Draft { text: &body, kind: case.kind, public: public && case.public, language: None };
        let checked = super::replies::check(&state, &draft, &headers);
        if !checked.ok {
            return Err(ApiError::Standard(checked.findings));
        }
    }
    let message = NewMessage { direction, public, channel: case.channel, body };
    let message = state.store.add_message(case.id, message, stamp(&state, &principal)).await?;
    Ok((StatusCode::CREATED, Json(message)).into_response())
}

/// Change a case: kind, priority, assignee, location, tags… (status: admin only; it follows the
/// playbook); each change is an event. A corrected kind moves the case into that kind's playbook.
#[utoipa::path(
    patch, path = "/api/v1/feedback/{id}", tag = "feedback",
    params(("id" = String, Path, description = "Case id or reference")),
    request_body = PatchRequest,
    responses(
        (status = 200, description = "The changed case", body = CaseView),
        (status = 404, description = "No such case", body = Problem),
        (status = 422, description = "A field is wrong", body = Problem),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<CaseView>, ApiError> {
    principal.require(Role::can_work_cases, "change cases")?;
    let mut patch = parse_json::<PatchRequest>(&headers, &body)?.parse()?;
    if patch.status.is_some() && principal.role != Role::Admin {
        return Err(ApiError::Forbidden(
            "a case's status follows its playbook: take an action (GET /api/v1/feedback/{id}/actions lists them); \
             only an admin sets it directly"
                .into(),
        ));
    }
    let case = resolve_state(&state, &id).await?.case;
    // Only a complaint has a cause (`Case::apply` clears it from anything else): one given for
    // anything else is refused.
    if patch.kind.unwrap_or(case.kind) != Kind::Complaint && matches!(patch.cause, Some(Some(_))) {
        return Err(ApiError::Unprocessable("cause: only a complaint has a cause".into()));
    }
    if let Some(kind) = patch.kind
        && kind != case.kind
    {
        // A corrected kind moves the case into the start of that kind's playbook.
        let entry = state.workflow.playbooks.entry_on_kind_change(kind);
        patch.stage = Some(entry.name.clone());
        patch.status.get_or_insert(entry.status);
    }
    let detail = state.store.update_case(case.id, &patch, stamp(&state, &principal)).await?;
    Ok(Json(case_view(&state, detail)))
}
