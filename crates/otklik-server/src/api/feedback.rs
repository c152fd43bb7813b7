//! `/api/v1/feedback`: submit new feedback, list and search cases, read one case, reply or note,
//! and change a case. Every write is committed before it is acknowledged.

use crate::api::views::AttachmentView;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use otklik_app::{Idempotency, Submission, Writing, WritingKind};
use otklik_core::{CaseFilter, Channel, Cursor, Kind, Status};
use otklik_store::CaseDetail;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;

use super::replies::agent_language;
use super::views::{
    CaseList, CaseSummary, CaseView, LinkRequest, MessageKind, MessageRequest, PatchRequest, SubmitRequest,
    SubmitResponse, line, text,
};
use super::{RawBody, parse_json};
use crate::auth::Principal;
use crate::problem::{ApiError, Problem};
use crate::startup::AppState;

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Submit feedback: creates a case (and finds or creates the customer). Answers 201 once the
/// case is committed; a redelivery (same `Idempotency-Key`, or same `channel` and
/// `external_id`) answers 200 with the existing case and creates nothing.
#[utoipa::path(
    post, path = "/api/v1/feedback", tag = "feedback",
    request_body = SubmitRequest,
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, max_length = 255, pattern = r"^[\t -~]*[!-~][\t -~]*$",
        description = "Makes a retried request safe: the same key with the same body returns the first result; with another body it is refused (422).")),
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
    let request: SubmitRequest = parse_json(&headers, &body)?;
    let idempotency = idempotency_key(&headers, &body)?;
    let submission = Submission {
        text: text("text", &request.text)?,
        channel: request.channel.unwrap_or(Channel::Api),
        subject: line("subject", request.subject)?,
        customer: request.customer.unwrap_or_default().parse()?,
        location: line("location", request.location)?,
        product: line("product", request.product)?,
        public: request.public,
        kind: request.kind,
        external_id: line("external_id", request.external_id)?,
    };
    let channel = submission.channel;
    let receipt = state.app.submit(&principal, submission, idempotency).await?;
    let case = receipt.case;
    let response = SubmitResponse {
        id: case.id,
        reference: case.reference().to_string(),
        kind: case.kind,
        status: case.status,
        status_url: receipt.status_url,
    };
    let location = format!("/api/v1/feedback/{}", case.id);
    if receipt.created {
        state.metrics.case_created(channel);
        Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(response)).into_response())
    } else {
        Ok((StatusCode::OK, [(header::LOCATION, location)], Json(response)).into_response())
    }
}

fn idempotency_key(headers: &HeaderMap, body: &Bytes) -> Result<Option<Idempotency>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|key| !key.is_empty() && key.len() <= 255)
        .ok_or_else(|| ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into()))?;
    let digest = Sha256::digest(body);
    Ok(Some(Idempotency {
        key: key.to_owned(),
        request_digest: digest.iter().map(|byte| format!("{byte:02x}")).collect(),
    }))
}

/// Filters, search and paging for the case list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Full-text search over subject and messages (Russian, Ukrainian and English word forms).
    #[param(
        nullable = false,
        max_length = 500,
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    q: Option<String>,
    #[param(nullable = false)]
    kind: Option<Kind>,
    #[param(nullable = false)]
    status: Option<Status>,
    #[param(nullable = false)]
    channel: Option<Channel>,
    #[param(
        nullable = false,
        max_length = 500,
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    location: Option<String>,
    #[param(
        nullable = false,
        max_length = 500,
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    assignee: Option<String>,
    /// Created at or after this instant (RFC 3339).
    #[param(nullable = false, format = DateTime)]
    from: Option<String>,
    /// Created before this instant (RFC 3339).
    #[param(nullable = false, format = DateTime)]
    to: Option<String>,
    /// Include hidden cases (trolls' comments).
    #[serde(default)]
    include_hidden: bool,
    /// The `next_cursor` of the previous page (`o40`, `b1234`).
    #[param(nullable = false, pattern = r"^(b-?[0-9]{1,18}|o[0-9]{1,9})$")]
    cursor: Option<String>,
    /// Page size, 1 to 200; 50 by default.
    #[param(nullable = false, minimum = 1, maximum = 200)]
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
        ..CaseFilter::default()
    };
    let page = state.app.cases(&principal, &filter).await?;
    Ok(Json(CaseList {
        items: page.items.into_iter().map(CaseSummary::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.to_string()),
    }))
}

pub(super) fn case_view(state: &AppState, detail: CaseDetail) -> CaseView {
    case_view_for(&state.app, detail)
}

/// A case as the API shows it.
pub(super) fn case_view_for(app: &otklik_app::App, detail: CaseDetail) -> CaseView {
    CaseView {
        status_url: app.status_url(&detail.case),
        case: CaseSummary::from(detail.case),
        customer: detail.customer,
        messages: detail.messages,
        events: detail.events,
        parent: detail.parent.map(|parent| parent.reference().to_string()),
        linked: detail.linked.iter().map(|case| case.reference().to_string()).collect(),
        attachments: detail
            .attachments
            .into_iter()
            .map(|file| AttachmentView {
                id: file.id,
                name: file.name,
                content_type: file.content_type,
                size: file.size,
                created_at: file.created_at,
            })
            .collect(),
    }
}

/// A file that came with a customer's message, as it came. It is served as a download
/// (`Content-Disposition: attachment`), never shown inline, whatever its type.
#[utoipa::path(
    get, path = "/api/v1/feedback/{id}/attachments/{attachment_id}", tag = "feedback",
    params(
        ("id" = String, Path, description = "Case id or reference"),
        ("attachment_id" = i64, Path, description = "The file's id, from the case's `attachments`"),
    ),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 404, description = "No such case or file", body = Problem),
    )
)]
pub async fn attachment(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, attachment_id)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    let (info, content) = state.app.attachment(&principal, &id, attachment_id).await?;
    let name: String =
        info.name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    let headers = [
        (axum::http::header::CONTENT_TYPE, "application/octet-stream".to_owned()),
        (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
    ];
    Ok((headers, content).into_response())
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
    Ok(Json(case_view(&state, state.app.case(&principal, &id).await?)))
}

/// "Move to private": a public comment or review gets the brand's standard public line,
/// inviting the customer to a private conversation, and the case goes on in private.
#[utoipa::path(
    post, path = "/api/v1/feedback/{id}/private", tag = "feedback",
    params(("id" = String, Path, description = "Case id or reference")),
    responses(
        (status = 200, description = "The case, now private", body = CaseSummary),
        (status = 404, description = "No such case", body = Problem),
        (status = 409, description = "The case is private already", body = Problem),
    )
)]
pub async fn move_to_private(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CaseSummary>, ApiError> {
    Ok(Json(CaseSummary::from(state.app.move_to_private(&principal, &id).await?)))
}

/// Link a case to the parent case of its public incident (friends piling on under one post): the
/// reply on the parent goes to it too, closing the parent closes it, and it has no clock of its
/// own. Comments under one post, or public ones at one location within three hours in similar
/// words, are linked when they arrive; this links by hand.
#[utoipa::path(
    post, path = "/api/v1/feedback/{id}/link", tag = "feedback",
    params(("id" = String, Path, description = "Case id or reference")),
    request_body = LinkRequest,
    responses(
        (status = 200, description = "The case, linked", body = CaseView),
        (status = 404, description = "No such case or parent", body = Problem),
        (status = 409, description = "The parent is linked itself or finished, the case is a parent, or it is linked elsewhere", body = Problem),
        (status = 422, description = "The body is wrong, or the case is not a public comment", body = Problem),
    )
)]
pub async fn link(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<CaseView>, ApiError> {
    let request: LinkRequest = parse_json(&headers, &body)?;
    Ok(Json(case_view(&state, state.app.link(&principal, &id, Some(request.parent.trim())).await?)))
}

/// Unlink a case from its parent: it stands on its own again, with its own clocks.
#[utoipa::path(
    delete, path = "/api/v1/feedback/{id}/link", tag = "feedback",
    params(("id" = String, Path, description = "Case id or reference")),
    responses(
        (status = 200, description = "The case, on its own", body = CaseView),
        (status = 404, description = "No such case", body = Problem),
    )
)]
pub async fn unlink(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(case_view(&state, state.app.link(&principal, &id, None).await?)))
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
    let request: MessageRequest = parse_json(&headers, &body)?;
    let writing = Writing {
        kind: match request.kind {
            MessageKind::Reply => WritingKind::Reply,
            MessageKind::Note => WritingKind::Note,
        },
        body: request.body,
        public: request.public,
        override_standard: request.override_standard,
        explain_in: agent_language(&headers),
    };
    let message = state.app.write(&principal, &id, writing).await?;
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
    let patch = parse_json::<PatchRequest>(&headers, &body)?.parse()?;
    let detail = state.app.correct(&principal, &id, patch).await?;
    Ok(Json(case_view(&state, detail)))
}
