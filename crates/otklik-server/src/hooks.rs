//! The inbound webhooks of the channels that push: `POST /hooks/sms`, `POST /hooks/social` and
//! Meta's `GET`/`POST /hooks/social/meta`. Each checks its signature over the raw body before it
//! reads a byte of it, hands the message to intake as its channel, and answers what became of
//! it; a hook whose secret is not configured answers 404, as if it did not exist.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use otklik_channels::signature::{self, BadSignature};
use otklik_channels::{Incoming, Refused, Sink, Taken, TakenAs, sms, social};
use otklik_core::Channel;
use serde::{Deserialize, Serialize};

use crate::inbound::ChannelSink;
use crate::problem::ApiError;
use crate::startup::AppState;

/// The header our own signatures travel in.
pub const SIGNATURE: &str = "X-Otklik-Signature";
/// Meta's signature header.
pub const META_SIGNATURE: &str = "X-Hub-Signature-256";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hooks/sms", post(sms_hook))
        .route("/hooks/sms/status", post(sms_report))
        .route("/hooks/social", post(social_hook))
        .route("/hooks/social/meta", post(meta_hook).get(meta_subscription))
}

/// What became of a message a hook delivered.
#[derive(Debug, Serialize)]
pub struct Accepted {
    /// The case reference (`OT-2026-000123`); for an answer to an NPS survey, the request's
    /// (`NPS-17`).
    pub case: String,
    /// `opened`, `continued`, `redelivered` (seen already: nothing was written) or `answered`
    /// (the answer to an NPS survey).
    pub outcome: &'static str,
}

impl From<Taken> for Accepted {
    fn from(taken: Taken) -> Accepted {
        let outcome = match taken.outcome {
            TakenAs::Opened { .. } => "opened",
            TakenAs::Continued => "continued",
            TakenAs::Redelivered => "redelivered",
            TakenAs::Answered => "answered",
        };
        Accepted { case: taken.reference, outcome }
    }
}

fn not_configured(what: &str) -> ApiError {
    ApiError::NotFound(format!("the {what} channel is not configured on this server"))
}

fn checked(name: &'static str, headers: &HeaderMap, secret: &str, body: &[u8]) -> Result<(), ApiError> {
    let header = headers.get(name).and_then(|value| value.to_str().ok());
    signature::verify(name, header, secret.as_bytes(), body).map_err(|error| match error {
        BadSignature::Missing(_) | BadSignature::Malformed(_) | BadSignature::Mismatch(_) => {
            ApiError::Unauthorized(error.to_string())
        }
    })
}

async fn take(state: &AppState, incoming: Incoming) -> Result<Accepted, ApiError> {
    let sink = ChannelSink::new(state.clone(), incoming.channel);
    match sink.take(incoming).await {
        Ok(taken) => Ok(taken.into()),
        Err(Refused::Invalid(reason)) => Err(ApiError::Unprocessable(reason)),
        Err(Refused::Unavailable(_)) => {
            Err(ApiError::Status(StatusCode::SERVICE_UNAVAILABLE, "cannot take messages now; try again".into()))
        }
    }
}

/// Why an SMS hook's body was not read, as a status: a content type it does not read is 415,
/// broken JSON 400, a body of the wrong shape 422.
fn unreadable(reason: String) -> ApiError {
    if reason.starts_with("content type") {
        ApiError::UnsupportedMediaType(reason)
    } else if reason.starts_with("malformed") {
        ApiError::BadRequest(reason)
    } else {
        ApiError::Unprocessable(reason)
    }
}

/// An inbound SMS from the provider: JSON (`from`, `text`, `id`) or a form
/// (`From`, `Body`, `MessageSid`), signed.
async fn sms_hook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Json<Accepted>, ApiError> {
    let secret = state.hooks.sms.as_deref().ok_or_else(|| not_configured("SMS"))?;
    checked(SIGNATURE, &headers, secret, &body)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let incoming = sms::read_inbound(content_type, &body).map_err(unreadable)?;
    Ok(Json(take(&state, incoming).await?))
}

/// What a delivery report changed.
#[derive(Debug, Serialize)]
pub struct Reported {
    /// True when a sent message had that id: its status is now `delivered` or `failed`.
    pub matched: bool,
}

/// The SMS provider's delivery report on a message it took, signed like inbound messages.
async fn sms_report(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Reported>, ApiError> {
    let secret = state.hooks.sms.as_deref().ok_or_else(|| not_configured("SMS"))?;
    checked(SIGNATURE, &headers, secret, &body)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let report = sms::read_report(content_type, &body).map_err(unreadable)?;
    let Some(report) = report else { return Ok(Json(Reported { matched: false })) };
    let actor = crate::inbound::channel_actor(Channel::Sms);
    let matched = state.app.delivery_report(&actor, Channel::Sms, &report.id, report.delivered, report.error).await?;
    Ok(Json(Reported { matched }))
}

/// One social post, comment, message or review, as documented, signed.
async fn social_hook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Accepted>, ApiError> {
    let secret = state.hooks.social.as_deref().ok_or_else(|| not_configured("social"))?;
    checked(SIGNATURE, &headers, secret, &body)?;
    let mut reader = serde_json::Deserializer::from_slice(&body);
    let item: social::Item = serde_path_to_error::deserialize(&mut reader).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::BadRequest(format!("malformed JSON: {inner}"))
        } else {
            ApiError::Unprocessable(format!("{path}: {inner}"))
        }
    })?;
    let incoming = item.into_incoming().map_err(ApiError::Unprocessable)?;
    Ok(Json(take(&state, incoming).await?))
}

#[derive(Debug, Deserialize)]
struct Subscription {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Meta's subscription check: the challenge echoed when the verify token matches.
async fn meta_subscription(
    State(state): State<AppState>,
    Query(query): Query<Subscription>,
) -> Result<Response, ApiError> {
    let expected = state.hooks.meta_verify.as_deref().ok_or_else(|| not_configured("Meta"))?;
    let given = query.verify_token.as_deref().unwrap_or("");
    let same =
        given.len() == expected.len() && given.bytes().zip(expected.bytes()).fold(0, |acc, (a, b)| acc | (a ^ b)) == 0;
    if query.mode.as_deref() != Some("subscribe") || !same {
        return Err(ApiError::Forbidden("hub.verify_token does not match".into()));
    }
    let challenge = query.challenge.unwrap_or_default();
    if challenge.len() > 200 || !challenge.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ApiError::BadRequest("hub.challenge: up to 200 letters and digits".into()));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain")], challenge).into_response())
}

/// Meta's webhook: Instagram comments and mentions, Facebook feed comments.
#[derive(Debug, Serialize)]
struct MetaAccepted {
    cases: Vec<Accepted>,
}

async fn meta_hook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let secret = state.hooks.meta.as_deref().ok_or_else(|| not_configured("Meta"))?;
    checked(META_SIGNATURE, &headers, secret, &body)?;
    let items = social::read_meta(&body).map_err(|reason| {
        if reason.starts_with("malformed") { ApiError::BadRequest(reason) } else { ApiError::Unprocessable(reason) }
    })?;
    let mut cases = Vec::with_capacity(items.len());
    for item in items {
        let incoming = match item.into_incoming() {
            Ok(incoming) => incoming,
            Err(reason) => {
                tracing::info!(%reason, "meta: an item was skipped");
                continue;
            }
        };
        // One item intake refuses must not hold back the others (Meta would retry the batch).
        match take(&state, incoming).await {
            Ok(accepted) => cases.push(accepted),
            Err(ApiError::Unprocessable(reason)) => tracing::info!(%reason, "meta: an item was refused"),
            Err(other) => return Err(other),
        }
    }
    Ok(Json(MetaAccepted { cases }).into_response())
}
