//! `/api/v1/replies`: the house-standard checker for drafts and the reply templates. The same
//! checker guards `POST /feedback/{id}/messages`, so a reply that breaks the standard is not
//! sent unless the agent overrides it knowingly.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use otklik_core::standard::{Draft, Finding, Template};
use otklik_core::{Kind, Language};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::views::text;
use super::{RawBody, parse_json};
use crate::auth::Principal;
use crate::problem::{ApiError, Problem};
use crate::startup::AppState;

/// A draft reply to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 65536
    )]
    pub text: String,
    /// The kind of the case it answers (complaint replies need an apology, a step and a time).
    pub kind: Kind,
    /// Seen by others (a public comment thread, a review site).
    #[serde(default)]
    pub public: bool,
    /// The draft's language; detected when absent.
    pub language: Option<Language>,
    /// What the message is for, named after its template key's second part: `apology` (the
    /// first reply), `progress`, `solution`, `confirmation_request`, `apology_again`, `refusal`,
    /// `thanks`, … The rules apply by purpose: an apology is required of `apology` and
    /// `apology_again`, a promise of action needs a time, a confirmation request or a thank-you
    /// needs neither. Absent: every rule of the kind.
    #[schema(value_type = Option<Purpose>)]
    pub purpose: Option<String>,
    /// Who the case's author is to the public, when known: a reply to the `misinformed` must
    /// carry a fact or a link.
    pub audience: Option<otklik_core::Audience>,
}

/// What a message is for, named after its template key's second part: the built-in playbooks'
/// purposes (a business's playbook file may add its own, which the server then accepts too).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum Purpose {
    Accepted,
    Answer,
    Apology,
    ApologyAgain,
    AskContact,
    ConfirmationRequest,
    Declined,
    FollowUp,
    Implemented,
    InviteShare,
    Progress,
    Received,
    Refusal,
    Solution,
    Thanks,
}

/// What the checker found; `ok` is false when any finding is an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResponse {
    pub ok: bool,
    pub language: Language,
    pub findings: Vec<Finding>,
}

/// The agent's language for explanations, from `Accept-Language` (ru, uk or en; English else).
pub fn agent_language(headers: &HeaderMap) -> Language {
    crate::web::accepted_language(headers).unwrap_or(Language::En)
}

/// Check a draft reply against the house standard (explanations follow `Accept-Language`).
#[utoipa::path(
    post, path = "/api/v1/replies/check", tag = "replies",
    request_body = CheckRequest,
    params(("Accept-Language" = Option<String>, Header, nullable = false, description = "ru, uk or en: the language of the explanations")),
    responses(
        (status = 200, description = "The findings", body = CheckResponse),
        (status = 422, description = "A field is missing or wrong", body = Problem),
    )
)]
pub async fn check_draft(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<CheckResponse>, ApiError> {
    let request: CheckRequest = parse_json(&headers, &body)?;
    let draft_text = text("text", &request.text)?;
    let draft = Draft {
        text: &draft_text,
        kind: request.kind,
        public: request.public,
        language: request.language,
        purpose: request.purpose.as_deref(),
        audience: request.audience,
    };
    let checked = state.app.check_draft(&principal, &draft, agent_language(&headers))?;
    Ok(Json(CheckResponse { ok: checked.ok, language: checked.language, findings: checked.findings }))
}

/// Which templates to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TemplateParams {
    #[param(nullable = false)]
    kind: Option<Kind>,
    #[param(nullable = false)]
    language: Option<Language>,
    #[param(nullable = false)]
    public: Option<bool>,
}

/// Reply templates that follow the house standard, per kind, language and audience.
#[utoipa::path(
    get, path = "/api/v1/replies/templates", tag = "replies",
    params(TemplateParams),
    responses((status = 200, description = "Matching templates", body = [Template]))
)]
pub async fn templates(
    State(state): State<AppState>,
    principal: Principal,
    params: Result<Query<TemplateParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<Template>>, ApiError> {
    let Query(params) = params.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let matching = state.app.templates(&principal, params.kind, params.language, params.public)?;
    Ok(Json(matching.into_iter().cloned().collect()))
}
