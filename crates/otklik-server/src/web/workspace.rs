//! Signing in and out of the workspace, and setting a password with a one-time link; the
//! `SignedIn` extractor every workspace page starts from. A session is a cookie
//! holding a secret whose digest the database keeps (`App::sign_in`), so any node serves any
//! request; every form that changes something carries the session's CSRF token. Nothing about a
//! case is decided here: pages call `otklik-app` and render.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use otklik_app::AppError;
use otklik_app::people::SESSION_LIFETIME;
use otklik_core::Language;
use otklik_store::SessionRecord;
use serde::Deserialize;

use super::i18n::Tr;
use crate::startup::AppState;

/// The cookie that carries a session's secret.
pub(crate) const SESSION_COOKIE: &str = "otklik_session";

/// The session secret a request's cookies carry, if any.
fn session_secret(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// A signed-in person on a page: their session and its secret. Without one, a page sends the
/// browser to `/login`.
pub(crate) struct SignedIn {
    pub session: SessionRecord,
    pub secret: String,
}

/// A request whose session cookie names a live session, found once before the rate limits
/// (a signed-in person is not an anonymous client) and used by the page's extractor.
#[derive(Clone)]
pub(crate) struct KnownSession(pub SignedInParts);

#[derive(Clone)]
pub(crate) struct SignedInParts {
    session: SessionRecord,
    secret: String,
}

/// Middleware: recognises a live session from its cookie and keeps it with the request.
pub(crate) async fn recognise_session(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(secret) = session_secret(request.headers())
        && let Ok(Some(session)) = state.app.session(&secret).await
    {
        request.extensions_mut().insert(KnownSession(SignedInParts { session, secret }));
    }
    next.run(request).await
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<SignedIn, Response> {
        if let Some(KnownSession(known)) = parts.extensions.get::<KnownSession>() {
            return Ok(SignedIn { session: known.session.clone(), secret: known.secret.clone() });
        }
        let to_login = || Redirect::to("/login").into_response();
        let secret = session_secret(&parts.headers).ok_or_else(to_login)?;
        match state.app.session(&secret).await {
            Ok(Some(session)) => Ok(SignedIn { session, secret }),
            Ok(None) => Err(to_login()),
            Err(error) => Err(page_error(error)),
        }
    }
}

fn page_error(error: AppError) -> Response {
    let id = otklik_app::mint_link_secret();
    tracing::error!(%error, error_id = %id, "a page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, format!("Something went wrong (error {id}).")).into_response()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    language: Language,
    tr: Tr,
    username: String,
    problem: Option<String>,
}

fn login_page(status: StatusCode, tr: Tr, username: String, problem: Option<String>) -> Response {
    match (LoginPage { language: tr.0, tr, username, problem }).render() {
        Ok(html) => (status, no_store(), Html(html)).into_response(),
        Err(error) => page_error(AppError::Internal(error.to_string())),
    }
}

fn no_store() -> [(header::HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

/// `GET /login`: the sign-in form (a signed-in person goes on to the inbox).
pub(super) async fn login_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(secret) = session_secret(&headers)
        && let Ok(Some(_)) = state.app.session(&secret).await
    {
        return Redirect::to("/inbox").into_response();
    }
    login_page(StatusCode::OK, Tr::from_headers(&headers), String::new(), None)
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    username: String,
    password: String,
}

/// `POST /login`: signs in and goes to the inbox with the session cookie set.
pub(super) async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    // A sign-in posted from another site (login CSRF) is refused; browsers send Origin on posts.
    if !same_origin(&headers) {
        return login_page(StatusCode::FORBIDDEN, tr, form.username, Some(tr.t("login-expired")));
    }
    match state.app.sign_in(&form.username, &form.password, &peer.ip().to_string()).await {
        Ok(signed_in) => {
            let secure = if state.app.public_url().starts_with("https://") { "; Secure" } else { "" };
            let cookie = format!(
                "{SESSION_COOKIE}={}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
                signed_in.secret,
                SESSION_LIFETIME.whole_seconds()
            );
            let mut response = Redirect::to("/inbox").into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(AppError::Unauthenticated(_)) => {
            login_page(StatusCode::UNAUTHORIZED, tr, form.username, Some(tr.t("login-failed")))
        }
        Err(AppError::Throttled(_)) => {
            login_page(StatusCode::TOO_MANY_REQUESTS, tr, form.username, Some(tr.t("login-throttled")))
        }
        Err(error) => page_error(error),
    }
}

/// True unless the request says it comes from another site (`Origin` or, failing it,
/// `Referer` naming another host than the one asked).
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let from = headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)).and_then(|v| v.to_str().ok());
    // An opaque origin (`null`) has no host, so it never matches.
    from.is_none_or(|url| url.split("://").nth(1).and_then(|rest| rest.split('/').next()) == Some(host))
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

/// `POST /logout`: ends the session (the form must carry its CSRF token) and forgets the cookie.
pub(super) async fn logout(State(state): State<AppState>, person: SignedIn, Form(form): Form<CsrfForm>) -> Response {
    if form.csrf != person.session.csrf_token {
        return (StatusCode::FORBIDDEN, "This form is out of date: reload the page and try again.").into_response();
    }
    if let Err(error) = state.app.sign_out(&person.secret).await {
        return page_error(error);
    }
    let mut response = Redirect::to("/login").into_response();
    let gone = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&gone) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `GET /`: the inbox.
pub(super) async fn home() -> Redirect {
    Redirect::to("/inbox")
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    language: Language,
    tr: Tr,
    problem: Option<String>,
    /// The form is shown (the link may still work).
    open: bool,
    done: bool,
}

fn password_page(status: StatusCode, tr: Tr, problem: Option<String>, open: bool, done: bool) -> Response {
    let page = PasswordPage { language: tr.0, tr, problem, open, done };
    match page.render() {
        // The link's secret is in the address: never cached, never sent to another site as a
        // referrer. (Not `no-referrer`: a browser then posts the form with `Origin: null`,
        // which the same-site check must refuse.)
        Ok(html) => (
            status,
            [
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
            ],
            Html(html),
        )
            .into_response(),
        Err(error) => page_error(AppError::Internal(error.to_string())),
    }
}

/// `GET /password/{secret}`: the form to set a password with a one-time link. Whether the link
/// still works is learnt on posting (reading it does not use it).
pub(super) async fn password_form(headers: HeaderMap) -> Response {
    password_page(StatusCode::OK, Tr::from_headers(&headers), None, true, false)
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    password: String,
    repeat: String,
}

/// `POST /password/{secret}`: sets the password, once; the person's sessions end.
pub(super) async fn set_password(
    State(state): State<AppState>,
    axum::extract::Path(secret): axum::extract::Path<String>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    if !same_origin(&headers) {
        return password_page(StatusCode::FORBIDDEN, tr, Some(tr.t("login-expired")), true, false);
    }
    if form.password != form.repeat {
        return password_page(StatusCode::UNPROCESSABLE_ENTITY, tr, Some(tr.t("password-mismatch")), true, false);
    }
    match state.app.set_password_with_link(&secret, &form.password).await {
        Ok(_) => password_page(StatusCode::OK, tr, None, false, true),
        Err(AppError::Invalid(_)) => {
            password_page(StatusCode::UNPROCESSABLE_ENTITY, tr, Some(tr.t("password-short")), true, false)
        }
        Err(AppError::NotFound(_)) => {
            password_page(StatusCode::NOT_FOUND, tr, Some(tr.t("password-link-gone")), false, false)
        }
        Err(error) => page_error(error),
    }
}
