//! A person's own settings: the language of their pages, their time zone, their password.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use otklik_app::AppError;
use otklik_core::Language;
use serde::Deserialize;

use super::desk::{Chrome, Posted, done, given, page, refused, word};
use super::workspace::SignedIn;
use crate::startup::AppState;

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    language: Language,
    chrome: Chrome,
    chosen_language: String,
    chosen_zone: String,
    email: String,
    business_zone: String,
    saved: bool,
    problem: Option<String>,
}

fn settings_page(
    state: &AppState,
    person: &SignedIn,
    headers: &HeaderMap,
    status: StatusCode,
    saved: bool,
    problem: Option<String>,
) -> Response {
    let chrome = Chrome::new(person, headers, state, "settings");
    let user = &person.session.user;
    let page_data = SettingsPage {
        language: chrome.language,
        chosen_language: user.language.map(|l| l.to_string()).unwrap_or_default(),
        chosen_zone: user.time_zone.clone().unwrap_or_default(),
        email: user.email.clone().unwrap_or_default(),
        business_zone: state.app.workflow.deadlines.calendar.time_zone().to_owned(),
        saved,
        problem,
        chrome,
    };
    page(status, &page_data)
}

#[derive(Deserialize, Default)]
pub(super) struct SettingsQuery {
    saved: Option<String>,
}

/// `GET /settings`.
pub(super) async fn show(
    State(state): State<AppState>,
    person: SignedIn,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<SettingsQuery>,
) -> Response {
    settings_page(&state, &person, &headers, StatusCode::OK, query.saved.is_some(), None)
}

#[derive(Deserialize)]
pub(super) struct PreferencesForm {
    language: Option<String>,
    time_zone: Option<String>,
    email: Option<String>,
}

/// `POST /settings`: the language (blank: the browser's), the time zone (blank: the
/// business's) and the e-mail address the weekly digest goes to (blank: none).
pub(super) async fn save(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted<PreferencesForm>,
) -> Response {
    let actor = posted.actor();
    let outcome = match word::<Language>("language", posted.form.language.clone()) {
        Ok(language) => {
            let form = &posted.form;
            let email = form.email.clone().map(|email| given(Some(email)));
            state.app.set_preferences(&actor, language, given(form.time_zone.clone()), email).await
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(_) => done("/settings?saved=1"),
        Err(AppError::Invalid(detail)) => {
            settings_page(&state, &posted.person, &headers, StatusCode::UNPROCESSABLE_ENTITY, false, Some(detail))
        }
        Err(error) => {
            refused(&Chrome::new(&posted.person, &headers, &state, "settings"), error, Some("/settings".into()))
        }
    }
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    current: String,
    password: String,
    repeat: String,
}

/// `POST /settings/password`: a new password (the current one first); the person's other
/// sessions end.
pub(super) async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted<PasswordForm>,
) -> Response {
    let chrome = Chrome::new(&posted.person, &headers, &state, "settings");
    let form = &posted.form;
    if form.password != form.repeat {
        return settings_page(
            &state,
            &posted.person,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
            Some(chrome.t("password-mismatch")),
        );
    }
    match state.app.change_password(&posted.person.secret, &form.current, &form.password).await {
        Ok(()) => done("/settings?saved=1"),
        Err(AppError::Invalid(detail)) if detail.starts_with("current password") => settings_page(
            &state,
            &posted.person,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
            Some(chrome.t("password-current-wrong")),
        ),
        Err(AppError::Invalid(_)) => settings_page(
            &state,
            &posted.person,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
            Some(chrome.t("password-short")),
        ),
        Err(error) => refused(&chrome, error, Some("/settings".into())),
    }
}
