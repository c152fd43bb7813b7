//! Errors as the API answers them: RFC 9457 problem+json with a message that says what was wrong.
//! Bad input is a 4xx naming the field; an infrastructure failure is a 500 that says only
//! "internal error" with an id, while the log gets the detail under the same id.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
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
    /// A reply that breaks the house standard: 422 with the findings.
    Standard(Vec<Finding>),
    /// A failure that is not the client's: logged in full, answered with an id only.
    Internal(String),
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
