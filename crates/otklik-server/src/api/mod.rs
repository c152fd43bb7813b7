//! The HTTP surface: routes, the OpenAPI document built from the handlers' annotations, and the
//! health, readiness and metrics endpoints. JSON bodies are parsed here at the edge so handlers
//! only ever see valid domain values.

pub(crate) mod customers;
mod feedback;
mod locations;
mod replies;
pub(crate) mod reports;
mod surveys;
mod views;
mod webhooks;
mod workflow;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::de::DeserializeOwned;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::limits::{self, AnonymousLimiter};
use crate::problem::{ApiError, Problem};
use crate::startup::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Otklik API", description = "Customer feedback and complaint resolution."),
    paths(
        feedback::submit,
        feedback::list,
        feedback::show,
        feedback::attachment,
        feedback::add_message,
        feedback::move_to_private,
        feedback::link,
        feedback::unlink,
        feedback::update,
        customers::show,
        customers::update,
        customers::merge,
        customers::add_identity,
        customers::export,
        customers::erase,
        webhooks::list,
        webhooks::create,
        webhooks::remove,
        reports::summary,
        reports::summary_export,
        reports::cases_export,
        surveys::list,
        surveys::create,
        surveys::show,
        locations::list,
        locations::create,
        locations::update,
        replies::check_draft,
        replies::templates,
        workflow::actions,
        workflow::take,
        workflow::work,
        workflow::add_task,
        workflow::update_task,
        workflow::tasks,
        workflow::notifications,
        workflow::configuration,
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth, &ProblemResponses),
    security(("bearer" = [])),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every error the API answers is an RFC 9457 problem document: the error responses the handlers
/// document are served as `application/problem+json`, and every operation documents a `default`
/// one for the rest (401 without a token, 403 without the right, 404, 405, 408, 413, 415, 422,
/// 429, 500), as the server answers them.
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
        let problem = || Content::new(Some(Ref::from_schema_name("Problem")));
        // A patch must change something: the server refuses an empty one. (utoipa's own
        // `min_properties` attribute comes out as `maxProperties`, so it is set here.)
        if let Some(components) = openapi.components.as_mut() {
            for name in ["PatchRequest", "CustomerPatchRequest", "TaskUpdateRequest"] {
                if let Some(RefOr::T(utoipa::openapi::schema::Schema::Object(object))) =
                    components.schemas.get_mut(name)
                {
                    object.min_properties = Some(1);
                    object.max_properties = None;
                }
            }
        }
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                for (status, response) in responses.iter_mut() {
                    if let (true, RefOr::T(response)) = (status.starts_with('4') || status.starts_with('5'), response) {
                        response.content = [(PROBLEM_JSON.to_owned(), problem())].into_iter().collect();
                    }
                }
                let default = ResponseBuilder::new()
                    .description("Any other error, as a problem document whose `detail` says what was wrong")
                    .content(PROBLEM_JSON, problem())
                    .build();
                responses.entry("default".to_owned()).or_insert(RefOr::T(default));
            }
        }
    }
}

const PROBLEM_JSON: &str = "application/problem+json";

/// The OpenAPI document, generated from the code once.
pub fn openapi_json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document serialises"))
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/feedback", get(feedback::list).post(feedback::submit))
        .route("/feedback/{id}", get(feedback::show).patch(feedback::update))
        .route("/feedback/{id}/messages", axum::routing::post(feedback::add_message))
        .route("/feedback/{id}/private", axum::routing::post(feedback::move_to_private))
        .route("/feedback/{id}/link", axum::routing::post(feedback::link).delete(feedback::unlink))
        .route("/feedback/{id}/attachments/{attachment_id}", get(feedback::attachment))
        .route("/feedback/{id}/actions", get(workflow::actions))
        .route("/feedback/{id}/actions/{action}", axum::routing::post(workflow::take))
        .route("/feedback/{id}/work", get(workflow::work))
        .route("/feedback/{id}/tasks", axum::routing::post(workflow::add_task))
        .route("/tasks", get(workflow::tasks))
        .route("/tasks/{task_id}", axum::routing::patch(workflow::update_task))
        .route("/notifications", get(workflow::notifications))
        .route("/playbooks", get(workflow::configuration))
        .route("/customers/{id}", get(customers::show).patch(customers::update))
        .route("/customers/{id}/merge", axum::routing::post(customers::merge))
        .route("/customers/{id}/identities", axum::routing::post(customers::add_identity))
        .route("/customers/{id}/export", get(customers::export))
        .route("/customers/{id}/erase", axum::routing::post(customers::erase))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/webhooks/{id}", axum::routing::delete(webhooks::remove))
        .route("/reports/summary", get(reports::summary))
        .route("/reports/summary.csv", get(reports::summary_export))
        .route("/reports/cases.csv", get(reports::cases_export))
        .route("/nps/campaigns", get(surveys::list).post(surveys::create))
        .route("/nps/campaigns/{id}", get(surveys::show))
        .route("/locations", get(locations::list).post(locations::create))
        .route("/locations/{slug}", axum::routing::patch(locations::update))
        .route("/replies/check", axum::routing::post(replies::check_draft))
        .route("/replies/templates", get(replies::templates))
        .route("/openapi.json", get(openapi))
        .fallback(not_found);
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::web::routes())
        .merge(crate::hooks::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(state.limits.request_timeout, limits::deadline))
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::from_fn(crate::problem::every_error_a_problem))
        .layer(axum::middleware::from_fn(limits::close_after_unread_body))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(AnonymousLimiter::new(state.limits.anonymous_requests_per_minute)),
            limits::anonymous_rate_limit,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::web::workspace::recognise_session))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::metrics::track))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(crate::web::CONTENT_SECURITY_POLICY),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such API endpoint; see /api/v1/openapi.json".into())
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok\n"
}

/// The database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let outbox = match state.store().outbox_counts().await {
        Ok(counts) => counts,
        Err(error) => {
            tracing::warn!(%error, "cannot count the outbox for /metrics");
            Vec::new()
        }
    };
    let body = state.metrics.render(&outbox);
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body).into_response()
}

/// A request body read within the size limit; over the limit it is a 413 problem.
pub(crate) struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<RawBody, ApiError> {
        Bytes::from_request(request, state)
            .await
            .map(RawBody)
            .map_err(|rejection| ApiError::from_rejection(rejection.status(), rejection.body_text()))
    }
}

/// Parses a JSON request body: 415 without a JSON content type, 400 for malformed JSON or
/// invalid UTF-8, 422 for a well-formed body with wrong fields (the message names the field).
pub(crate) fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !(essence == "application/json" || essence.ends_with("+json")) {
        return Err(ApiError::UnsupportedMediaType("send the body as `Content-Type: application/json`".into()));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let at = if path == "." { String::new() } else { format!("{path}: ") };
        if inner.is_data() {
            ApiError::Unprocessable(format!("{at}{inner}"))
        } else {
            ApiError::BadRequest(format!("invalid JSON: {inner}"))
        }
    })?;
    deserializer.end().map_err(|error| ApiError::BadRequest(format!("invalid JSON: {error}")))?;
    Ok(value)
}
