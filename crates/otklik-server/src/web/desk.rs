//! What every page of the agents' workspace shares: the frame around it (who is signed in, the
//! menu their role sees, their language and time zone), forms that carry the session's CSRF
//! token, and how an operation's refusal is shown. Pages translate requests into `otklik-app`
//! calls and render the answer; nothing about a case is decided here.

use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use otklik_app::people::session_actor;
use otklik_app::{Actor, AppError};
use otklik_core::{Language, Right, Role};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::i18n::Tr;
use super::workspace::SignedIn;
use crate::startup::AppState;

/// The largest form a page accepts (a long reply fits many times over).
const MAX_FORM_BYTES: usize = 256 * 1024;

/// The frame of a workspace page: who is signed in, in which language and time zone.
pub(crate) struct Chrome {
    pub tr: Tr,
    pub language: Language,
    /// The person's display name, else their username.
    pub name: String,
    pub username: String,
    pub role: Role,
    pub csrf: String,
    /// The IANA zone times are shown in: the person's, else the business's.
    pub zone: String,
    /// The menu entry of this page.
    pub here: &'static str,
}

impl Chrome {
    pub(crate) fn new(person: &SignedIn, headers: &HeaderMap, state: &AppState, here: &'static str) -> Chrome {
        let user = &person.session.user;
        let tr = user.language.map_or_else(|| Tr::from_headers(headers), Tr);
        let business = state.app.workflow.deadlines.calendar.time_zone().to_owned();
        Chrome {
            tr,
            language: tr.0,
            name: user.display_name.clone().unwrap_or_else(|| user.username.clone()),
            username: user.username.clone(),
            role: user.role,
            csrf: person.session.csrf_token.clone(),
            zone: user.time_zone.clone().unwrap_or(business),
            here,
        }
    }

    /// A moment as the person's clocks show it: `30.11.2026 14:05`.
    pub(crate) fn when(&self, at: OffsetDateTime) -> String {
        otklik_core::clock_words(at, &self.zone)
    }

    /// The same moment for a `datetime` attribute.
    pub(crate) fn iso(&self, at: OffsetDateTime) -> String {
        at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
    }

    /// Whether the person's role has a right (by its word), for the menu and the forms.
    pub(crate) fn can(&self, right: &str) -> bool {
        right.parse::<Right>().is_ok_and(|right| self.role.has(right))
    }

    /// Managers and admins see approvals and the playbooks.
    pub(crate) fn manages(&self) -> bool {
        matches!(self.role, Role::Manager | Role::Admin)
    }

    /// Sales, managers and admins see the opportunities and leads.
    pub(crate) fn sells(&self) -> bool {
        matches!(self.role, Role::Sales | Role::Manager | Role::Admin)
    }

    pub(crate) fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }

    pub(crate) fn t1(&self, key: &str, name: &str, value: &str) -> String {
        self.tr.t1(key, name, value)
    }
}

/// A workspace page rendered, never cached (it shows a person's data).
pub(crate) fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => {
            (status, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], Html(html)).into_response()
        }
        Err(error) => internal(AppError::Internal(error.to_string())),
    }
}

/// A failure that is not the person's: logged with an id they can quote.
pub(crate) fn internal(error: AppError) -> Response {
    let id = otklik_app::mint_link_secret();
    tracing::error!(%error, error_id = %id, "a page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, format!("Something went wrong (error {id}).")).into_response()
}

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage<'a> {
    language: Language,
    chrome: &'a Chrome,
    title: String,
    detail: String,
    back: Option<String>,
}

/// The HTTP status an operation's refusal answers with.
pub(crate) fn status_of(error: &AppError) -> StatusCode {
    match error {
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Invalid(_) | AppError::Standard(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Conflict { .. } => StatusCode::CONFLICT,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A page that says why an operation was refused, in the person's language, with the
/// operation's own words beside it and a way back.
pub(crate) fn refused(chrome: &Chrome, error: AppError, back: Option<String>) -> Response {
    if let AppError::Internal(_) = error {
        return internal(error);
    }
    let status = status_of(&error);
    let title = chrome.t(match status {
        StatusCode::FORBIDDEN => "problem-forbidden",
        StatusCode::NOT_FOUND => "problem-not-found",
        StatusCode::CONFLICT => "problem-conflict",
        _ => "problem-invalid",
    });
    let detail = match &error {
        AppError::Standard(findings) => findings.iter().map(|f| f.explanation.clone()).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    };
    page(status, &ProblemPage { language: chrome.language, chrome, title, detail, back })
}

/// After a form did its work, the browser goes to `to` (post, redirect, get).
pub(crate) fn done(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A signed-in person's form, accepted only with the CSRF token of their session (the hidden
/// field `csrf`); anything else is refused before the form is read, and changes nothing.
pub(crate) struct Posted<T> {
    pub person: SignedIn,
    pub form: T,
}

impl<T> Posted<T> {
    pub(crate) fn actor(&self) -> Actor {
        session_actor(&self.person.session)
    }
}

#[derive(Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Posted<T>, Response> {
        let (mut parts, body) = request.into_parts();
        let person = SignedIn::from_request_parts(&mut parts, state).await?;
        let tr = person.session.user.language.map_or_else(|| Tr::from_headers(&parts.headers), Tr);
        let bytes = axum::body::to_bytes(Body::new(body), MAX_FORM_BYTES)
            .await
            .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, tr.t("problem-too-large")).into_response())?;
        let csrf: CsrfField = serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfField { csrf: None });
        if csrf.csrf.as_deref() != Some(person.session.csrf_token.as_str()) {
            return Err((StatusCode::FORBIDDEN, tr.t("login-expired")).into_response());
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|error| {
            (StatusCode::UNPROCESSABLE_ENTITY, format!("{}: {error}", tr.t("problem-invalid"))).into_response()
        })?;
        Ok(Posted { person, form })
    }
}

/// An optional form field: blank is absent.
pub(crate) fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A form's word for a vocabulary (`kind=complaint`): blank is absent, anything else must be
/// one of the words.
pub(crate) fn word<W: std::str::FromStr>(field: &str, value: Option<String>) -> Result<Option<W>, AppError>
where
    W::Err: std::fmt::Display,
{
    given(value).map(|v| v.parse::<W>().map_err(|e| AppError::Invalid(format!("{field}: {e}")))).transpose()
}
