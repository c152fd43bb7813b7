//! Errors as the API answers them: RFC 9457 problem+json with a message that says what was wrong.
//! Bad input is a 4xx naming the field; an infrastructure failure is a 500 that says only
//! "internal error" with an id, while the log gets the detail under the same id.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use otklik_app::AppError;
use otklik_core::standard::Finding;
use otklik_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For a refused request: what would be allowed instead.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    /// For a reply refused by the house-standard checker: what it found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

/// What a handler can fail with.
#[derive(Debug)]
pub enum ApiError {
    /// Malformed input (syntax): 400.
    BadRequest(String),
    /// Well-formed input with a wrong value: 422.
    Unprocessable(String),
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    Conflict {
        detail: String,
        allowed: Vec<String>,
    },
    PayloadTooLarge(String),
    UnsupportedMediaType(String),
    /// Not answered within the request deadline: 408.
    RequestTimeout(String),
    /// Over a rate limit: 429.
    TooManyRequests(String),
    /// A reply that breaks the house standard: 422 with the findings.
    Standard(Vec<Finding>),
    /// A failure that is not the client's: logged in full, answered with an id only.
    Internal(String),
    /// Any other status, with what went wrong.
    Status(StatusCode, String),
}

impl ApiError {
    /// Turns an extractor's rejection (status and text) into a problem.
    pub fn from_rejection(status: StatusCode, text: String) -> ApiError {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(format!("request body is too large: {text}")),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(text),
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::Unprocessable(text),
            status if status.is_client_error() => ApiError::BadRequest(text),
            _ => ApiError::Internal(text),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> ApiError {
        match error {
            AppError::Unauthenticated(detail) => ApiError::Unauthorized(detail),
            AppError::Throttled(detail) => ApiError::TooManyRequests(detail),
            AppError::Forbidden(detail) => ApiError::Forbidden(detail),
            AppError::NotFound(detail) => ApiError::NotFound(detail),
            AppError::Invalid(detail) => ApiError::Unprocessable(detail),
            AppError::Conflict { detail, allowed } => ApiError::Conflict { detail, allowed },
            AppError::Standard(findings) => ApiError::Standard(findings),
            AppError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            StoreError::IdempotencyMismatch | StoreError::Invalid(_) => ApiError::Unprocessable(error.to_string()),
            StoreError::Conflict(_) => ApiError::Conflict { detail: error.to_string(), allowed: Vec::new() },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut findings = Vec::new();
        let (status, detail, allowed) = match self {
            ApiError::Standard(found) => {
                findings = found;
                let detail = "the reply breaks the house standard; fix it or send it with `override_standard: true`";
                (StatusCode::UNPROCESSABLE_ENTITY, detail.to_owned(), Vec::new())
            }
            ApiError::BadRequest(detail) => (StatusCode::BAD_REQUEST, detail, Vec::new()),
            ApiError::Unprocessable(detail) => (StatusCode::UNPROCESSABLE_ENTITY, detail, Vec::new()),
            ApiError::Unauthorized(detail) => (StatusCode::UNAUTHORIZED, detail, Vec::new()),
            ApiError::Forbidden(detail) => (StatusCode::FORBIDDEN, detail, Vec::new()),
            ApiError::NotFound(detail) => (StatusCode::NOT_FOUND, detail, Vec::new()),
            ApiError::Conflict { detail, allowed } => (StatusCode::CONFLICT, detail, allowed),
            ApiError::PayloadTooLarge(detail) => (StatusCode::PAYLOAD_TOO_LARGE, detail, Vec::new()),
            ApiError::UnsupportedMediaType(detail) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, detail, Vec::new()),
            ApiError::RequestTimeout(detail) => (StatusCode::REQUEST_TIMEOUT, detail, Vec::new()),
            ApiError::TooManyRequests(detail) => (StatusCode::TOO_MANY_REQUESTS, detail, Vec::new()),
            ApiError::Status(status, detail) => (status, detail, Vec::new()),
            ApiError::Internal(cause) => {
                let error_id = format!("{:016x}", rand::random::<u64>());
                tracing::error!(error_id, cause, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, format!("internal error (id {error_id})"), Vec::new())
            }
        };
        let problem = Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail,
            allowed,
            findings,
        };
        let mut response = (status, axum::Json(problem)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Middleware: an error answered by something other than our handlers (a path or query that
/// does not parse, an unknown route, a method the route does not have, a panic) is turned into
/// a problem document with the same status, so every error of the API has one shape.
pub(crate) async fn every_error_a_problem(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_none_or(|value| value.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let detail = match (status, text.is_empty()) {
        (StatusCode::METHOD_NOT_ALLOWED, _) => {
            let allowed = parts.headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or_default();
            format!("this endpoint does not take that method; it takes {allowed}")
        }
        (StatusCode::NOT_FOUND, true) => "no such endpoint; see /api/v1/openapi.json".to_owned(),
        (_, true) => status.canonical_reason().unwrap_or("error").to_owned(),
        (_, false) => text,
    };
    let error = match status {
        StatusCode::INTERNAL_SERVER_ERROR => ApiError::Internal(detail),
        other => ApiError::Status(other, detail),
    };
    let mut problem = error.into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            problem.headers_mut().insert(name, value.clone());
        }
    }
    problem
}
