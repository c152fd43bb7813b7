//! `GET /s/{secret}`: the customer's status page — which case, where it stands, who handles it,
//! what happens next and by when, the conversation, and right after a form the acknowledgement —
//! in the customer's language, with forms to write back and to rate a resolved case. The link
//! must not leak: the page is never cached and sends no referrer to other sites.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use otklik_app::AppError;
use otklik_core::Language;
use time::OffsetDateTime;

use super::Words;
use super::i18n::Tr;
use crate::problem::ApiError;
use crate::startup::AppState;

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    language: Language,
    words: &'a Words,
    reference: String,
    status: &'a str,
    next: &'a str,
    received_at: String,
    updated_at: String,
    /// The conversation: when, whether the customer wrote it, the words.
    conversation: Vec<(String, bool, String)>,
    tr: Tr,
    secret: String,
    may_rate: bool,
    rating: Option<u8>,
    /// A note on what the customer just did (`written`, `rated`) or why it was refused.
    notice: Option<String>,
    problem: Option<String>,
    /// Who handles the case: a first name, or the team for its kind.
    handler: String,
    /// When the customer hears from us next, while the case is open.
    due: Option<String>,
    /// Right after a form was sent: the acknowledgement (received, who handles it, what next,
    /// by when), rendered from the `<kind>.received` message in the customer's language.
    received: Option<String>,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    language: Language,
    words: &'a Words,
}

#[derive(serde::Deserialize, Default)]
pub(super) struct StatusQuery {
    received: Option<String>,
    done: Option<String>,
    problem: Option<String>,
}

#[derive(serde::Deserialize)]
pub(super) struct WriteForm {
    #[serde(default)]
    text: String,
}

#[derive(serde::Deserialize)]
pub(super) struct RateForm {
    score: Option<String>,
    comment: Option<String>,
}

/// After a customer's post: back to the page, saying what happened.
fn back_to(secret: &str, outcome: &str) -> Response {
    axum::response::Redirect::to(&format!("/s/{secret}?{outcome}")).into_response()
}

/// `POST /s/{secret}/reply`: the customer writes on their case.
pub(super) async fn write(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    headers: axum::http::HeaderMap,
    axum::extract::Form(form): axum::extract::Form<WriteForm>,
) -> Response {
    if !super::workspace::same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "This form must be sent from its own page.").into_response();
    }
    match state.app.customer_write(&secret, &form.text).await {
        Ok(()) => back_to(&secret, "done=written#conversation"),
        Err(AppError::Invalid(_)) => back_to(&secret, "problem=empty#write"),
        Err(AppError::NotFound(_)) => not_found(),
        Err(other) => ApiError::from(other).into_response(),
    }
}

/// `POST /s/{secret}/rate`: the customer rates their resolved case, once.
pub(super) async fn rate(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    headers: axum::http::HeaderMap,
    axum::extract::Form(form): axum::extract::Form<RateForm>,
) -> Response {
    if !super::workspace::same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "This form must be sent from its own page.").into_response();
    }
    let score = form.score.as_deref().and_then(|s| s.parse::<u8>().ok()).unwrap_or(0);
    let comment = form.comment.filter(|c| !c.trim().is_empty());
    match state.app.customer_rate(&secret, score, comment).await {
        Ok(()) => back_to(&secret, "done=rated#rate"),
        Err(AppError::Invalid(_)) => back_to(&secret, "problem=rating#rate"),
        Err(AppError::Conflict { detail, .. }) if detail.contains("once it is resolved") => {
            back_to(&secret, "problem=unresolved#rate")
        }
        Err(AppError::Conflict { .. }) => back_to(&secret, "problem=rated#rate"),
        Err(AppError::NotFound(_)) => not_found(),
        Err(other) => ApiError::from(other).into_response(),
    }
}

/// The same page for a wrong, revoked or expired link.
fn not_found() -> Response {
    match (NotFoundPage { language: Language::Ru, words: Words::of(Language::Ru) }).render() {
        Ok(html) => (StatusCode::NOT_FOUND, Html(html)).into_response(),
        Err(error) => ApiError::Internal(format!("cannot render the status page: {error}")).into_response(),
    }
}

fn messages() -> &'static otklik_channels::Messages {
    static MESSAGES: std::sync::OnceLock<otklik_channels::Messages> = std::sync::OnceLock::new();
    MESSAGES.get_or_init(otklik_channels::Messages::builtin)
}

pub(super) async fn page(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    axum::extract::Query(query): axum::extract::Query<StatusQuery>,
) -> Response {
    let rendered = match state.app.customer_status(&secret).await {
        Ok(found) => {
            let words = Words::of(found.language);
            // Every time on the page as the clocks of the case's location show it.
            let local = |at: OffsetDateTime| otklik_core::clock_words(at, &found.time_zone);
            let received = query.received.is_some().then(|| {
                let status_url = format!("{}/s/{}", state.app.public_url(), secret);
                let due = found.due_at.map(local);
                let values = otklik_channels::Values {
                    reference: &found.reference,
                    status_url: &status_url,
                    customer_name: found.customer_name.as_deref(),
                    words: None,
                    due: due.as_deref(),
                };
                messages().render(&format!("{}.received", found.kind), found.language, &values)
            });
            StatusPage {
                language: found.language,
                words,
                reference: found.reference,
                status: words.status(found.status),
                next: words.next(found.status),
                received_at: local(found.received_at),
                updated_at: local(found.updated_at),
                conversation: found
                    .conversation
                    .into_iter()
                    .map(|(at, theirs, text)| (local(at), theirs, text))
                    .collect(),
                handler: found
                    .handler
                    .clone()
                    .unwrap_or_else(|| Tr(found.language).t(&format!("status-page-team-{}", found.kind))),
                due: found
                    .due_at
                    .filter(|_| !matches!(found.status, otklik_core::Status::Resolved | otklik_core::Status::Closed))
                    .map(local),
                tr: Tr(found.language),
                secret: secret.clone(),
                may_rate: found.may_rate,
                rating: found.rating,
                notice: query.done.as_deref().and_then(|done| match done {
                    "written" | "rated" => Some(Tr(found.language).t(&format!("status-page-{done}"))),
                    _ => None,
                }),
                problem: query.problem.as_deref().and_then(|problem| match problem {
                    "empty" | "rating" | "rated" | "unresolved" => {
                        Some(Tr(found.language).t(&format!("status-page-problem-{problem}")))
                    }
                    _ => None,
                }),
                received,
            }
            .render()
            .map(|html| (StatusCode::OK, html))
        }
        Err(AppError::NotFound(_)) => NotFoundPage { language: Language::Ru, words: Words::of(Language::Ru) }
            .render()
            .map(|html| (StatusCode::NOT_FOUND, html)),
        Err(other) => return ApiError::from(other).into_response(),
    };
    match rendered {
        Ok((status, html)) => {
            let mut response = (status, Html(html)).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            // Not `no-referrer`: the page's own forms would post `Origin: null`, refused.
            headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
            headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(super::FRAMEABLE_POLICY));
            response
        }
        Err(error) => ApiError::Internal(format!("cannot render the status page: {error}")).into_response(),
    }
}
