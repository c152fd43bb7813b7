//! `/api/v1/webhooks`: the business's own systems subscribe to case events (`case.created`,
//! `case.step`, `case.resolved`, `case.rated`). Each delivery is a POST of JSON signed with
//! `X-Otklik-Signature: sha256=<hex HMAC-SHA256 of the body>` under the subscription's secret,
//! in order, each once, retried with doubling waits. Admins only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use otklik_store::WebhookRecord;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{RawBody, parse_json};
use crate::auth::Principal;
use crate::problem::{ApiError, Problem};
use crate::startup::AppState;

/// A subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    /// The signing secret: shown once, when the subscription is made; null afterwards.
    pub secret: Option<String>,
    /// Events delivered so far.
    pub delivered: i64,
    /// Failed tries of the next event (0: up to date).
    pub attempts: u32,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl WebhookView {
    fn of(hook: WebhookRecord, with_secret: bool) -> WebhookView {
        WebhookView {
            id: hook.id,
            url: hook.url,
            events: hook.events,
            active: hook.active,
            secret: with_secret.then_some(hook.secret),
            delivered: hook.delivered,
            attempts: hook.attempts,
            last_error: hook.last_error,
            created_at: hook.created_at,
        }
    }
}

/// A new subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookRequest {
    /// Where the events are POSTed (http or https).
    #[schema(max_length = 2000)]
    pub url: String,
    /// Any of `case.created`, `case.step`, `case.resolved`, `case.rated`.
    #[schema(min_items = 1)]
    pub events: Vec<String>,
    /// The signing secret (16 to 200 characters); a random one when absent.
    #[schema(min_length = 16, max_length = 200)]
    pub secret: Option<String>,
}

/// Every subscription, with how its deliveries go (never the secrets).
#[utoipa::path(
    get, path = "/api/v1/webhooks", tag = "webhooks",
    responses(
        (status = 200, description = "The subscriptions", body = [WebhookView]),
        (status = 403, description = "Not an admin", body = Problem),
    )
)]
pub async fn list(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<WebhookView>>, ApiError> {
    let hooks = state.app.webhooks(&principal).await?;
    Ok(Json(hooks.into_iter().map(|hook| WebhookView::of(hook, false)).collect()))
}

/// Subscribe a URL to case events; it hears what happens from now on. The answer carries the
/// signing secret, the only time it is shown.
#[utoipa::path(
    post, path = "/api/v1/webhooks", tag = "webhooks",
    request_body = NewWebhookRequest,
    responses(
        (status = 201, description = "The subscription, with its secret", body = WebhookView),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 422, description = "A field is wrong", body = Problem),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    let request = parse_json::<NewWebhookRequest>(&headers, &body)?;
    let hook = state.app.create_webhook(&principal, &request.url, &request.events, request.secret).await?;
    Ok((StatusCode::CREATED, Json(WebhookView::of(hook, true))))
}

/// Stop a subscription (it stays listed, inactive).
#[utoipa::path(
    delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "Subscription id")),
    responses(
        (status = 204, description = "Stopped"),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such subscription", body = Problem),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound(format!("no webhook `{id}`")))?;
    state.app.remove_webhook(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
