//! The customer's forms: `GET /f/{slug}` (a location's complaint book) and `GET /f` (the general
//! form), in the customer's language (the browser's, or `?lang=`), and their posts. The form's
//! defences live in `otklik-app` (`App::submit_form`); this module shows the form, says in the
//! customer's words why an entry was refused (keeping what they wrote), and after a good entry
//! sends them to their status page, which acknowledges it.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use otklik_app::book::{FormEntry, FormError, FormRefusal};
use otklik_core::{Kind, Language};
use serde::Deserialize;

use super::i18n::{Tr, accepted_language};
use crate::startup::AppState;

#[derive(Template)]
#[template(path = "book.html")]
struct BookPage {
    language: Language,
    tr: Tr,
    /// Where the form posts: `/f` or `/f/{slug}`.
    action: String,
    /// The location's name, for a complaint book.
    place: Option<String>,
    started: String,
    kinds: Vec<(&'static str, String)>,
    filled: Filled,
    problem: Option<String>,
}

/// What the customer wrote, shown again after a refusal.
#[derive(Default)]
struct Filled {
    text: String,
    kind: String,
    name: String,
    phone: String,
    email: String,
    telegram: String,
}

#[derive(Deserialize, Default)]
pub(super) struct LanguageQuery {
    lang: Option<String>,
}

/// The form's language: `?lang=` (the switch on the page), else the browser's, else Russian.
fn language_of(query: Option<&str>, headers: &HeaderMap) -> Language {
    match query {
        Some("ru") => Language::Ru,
        Some("uk") => Language::Uk,
        Some("en") => Language::En,
        _ => accepted_language(headers).unwrap_or(Language::Ru),
    }
}

/// The kinds a customer may choose, in the form's words (thanks and recommendation are the
/// customer's names for praise and referral).
fn kinds(tr: Tr) -> Vec<(&'static str, String)> {
    ["complaint", "idea", "question", "praise", "referral"]
        .into_iter()
        .map(|k| (k, tr.t(&format!("book-kind-{k}"))))
        .collect()
}

async fn render(
    state: &AppState,
    status: StatusCode,
    slug: Option<&str>,
    language: Language,
    filled: Filled,
    problem: Option<String>,
) -> Response {
    let tr = Tr(language);
    let place = match slug {
        Some(slug) => match state.app.open_location(slug).await {
            Ok(Some(location)) => Some(location.name),
            Ok(None) => return (StatusCode::NOT_FOUND, Html(tr.t("book-no-location"))).into_response(),
            Err(error) => return super::desk::internal(error),
        },
        None => None,
    };
    let started = match state.app.form_token(slug).await {
        Ok(token) => token,
        Err(error) => return super::desk::internal(error),
    };
    let page = BookPage {
        language,
        tr,
        action: slug.map_or_else(|| "/f".to_owned(), |slug| format!("/f/{slug}")),
        place,
        started,
        kinds: kinds(tr),
        filled,
        problem,
    };
    match page.render() {
        Ok(html) => {
            let headers = [
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(super::FRAMEABLE_POLICY)),
            ];
            (status, headers, Html(html)).into_response()
        }
        Err(error) => super::desk::internal(otklik_app::AppError::Internal(error.to_string())),
    }
}

/// `GET /f`: the general feedback form (channel `web`).
pub(super) async fn general(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LanguageQuery>,
) -> Response {
    let language = language_of(query.lang.as_deref(), &headers);
    render(&state, StatusCode::OK, None, language, Filled::default(), None).await
}

/// `GET /f/{slug}`: a location's complaint book (channel `complaint_book`).
pub(super) async fn book(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    Query(query): Query<LanguageQuery>,
) -> Response {
    let language = language_of(query.lang.as_deref(), &headers);
    render(&state, StatusCode::OK, Some(&slug), language, Filled::default(), None).await
}

#[derive(Deserialize)]
pub(super) struct EntryForm {
    #[serde(default)]
    text: String,
    kind: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    telegram: Option<String>,
    lang: Option<String>,
    /// The honeypot.
    #[serde(default)]
    website: String,
    #[serde(default)]
    started: String,
}

/// `POST /f`.
pub(super) async fn post_general(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<EntryForm>,
) -> Response {
    take(&state, None, peer, &headers, form).await
}

/// `POST /f/{slug}`.
pub(super) async fn post_book(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<EntryForm>,
) -> Response {
    take(&state, Some(slug), peer, &headers, form).await
}

async fn take(
    state: &AppState,
    slug: Option<String>,
    peer: SocketAddr,
    headers: &HeaderMap,
    form: EntryForm,
) -> Response {
    let language = language_of(form.lang.as_deref(), headers);
    let filled = Filled {
        text: form.text.clone(),
        kind: form.kind.clone().unwrap_or_default(),
        name: form.name.clone().unwrap_or_default(),
        phone: form.phone.clone().unwrap_or_default(),
        email: form.email.clone().unwrap_or_default(),
        telegram: form.telegram.clone().unwrap_or_default(),
    };
    let kind = match form.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(word) => match word.parse::<Kind>() {
            Ok(kind) if kind != Kind::Unclassified => Some(kind),
            _ => {
                let problem = Tr(language).t("book-refused-kind");
                return render(
                    state,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    slug.as_deref(),
                    language,
                    filled,
                    Some(problem),
                )
                .await;
            }
        },
    };
    let entry = FormEntry {
        location: slug.clone(),
        text: form.text,
        kind,
        name: form.name,
        phone: form.phone,
        email: form.email,
        telegram: form.telegram,
        language,
        trap: form.website,
        started: form.started,
    };
    match state.app.submit_form(entry, peer.ip()).await {
        Ok(receipt) => Redirect::to(&format!("/s/{}?received=1", receipt.case.status_token)).into_response(),
        Err(FormError::Refused(refusal)) => {
            let status = match refusal {
                FormRefusal::TooMany => StatusCode::TOO_MANY_REQUESTS,
                FormRefusal::NoLocation => StatusCode::NOT_FOUND,
                FormRefusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let problem = Tr(language).t(&format!("book-refused-{}", refusal.word()));
            // A robot's entry is not shown back.
            let filled = if refusal == FormRefusal::Trap { Filled::default() } else { filled };
            render(state, status, slug.as_deref(), language, filled, Some(problem)).await
        }
        Err(FormError::Failed(error)) => super::desk::internal(error),
    }
}
