//! The HTML pages: the agents' workspace and the customer's forms, posters and status page. Each
//! page module parses the request, calls the same `otklik-app` operation a JSON handler would,
//! and renders an askama template (escaped by default) with its words from the Fluent files in
//! `locales/` (the status page's first words from `templates/strings.toml`). Every page works
//! without scripts; `/assets/otklik.js` adds the live inbox, the as-you-type check and the keys,
//! and `/f/widget.js` is the widget businesses put on their sites.

mod admin;
mod book;
mod case_page;
mod desk;
mod i18n;
mod inbox;
pub(crate) mod poster;
pub(crate) mod reports;
mod settings;
mod status;
mod work;
pub(crate) mod workspace;

pub(crate) use i18n::accepted_language;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use otklik_core::{Language, Status};
use serde::Deserialize;

use crate::startup::AppState;

/// The Content-Security-Policy of every response: nothing but our own stylesheet and script
/// loads (no inline script or style runs), requests go only here, no other site frames a page,
/// forms post only here.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/s/{secret}", get(status::page))
        .route("/s/{secret}/reply", post(status::write))
        .route("/s/{secret}/rate", post(status::rate))
        .route("/f/widget.js", get(widget))
        .route("/f", get(book::general).post(book::post_general))
        .route("/f/{slug}", get(book::book).post(book::post_book))
        .route("/f/{slug}/{file}", get(poster::poster))
        .route("/assets/otklik.css", get(stylesheet))
        .route("/assets/otklik.js", get(script))
        .route("/", get(workspace::home))
        .route("/login", get(workspace::login_form).post(workspace::login))
        .route("/logout", post(workspace::logout))
        .route("/password/{secret}", get(workspace::password_form).post(workspace::set_password))
        .route("/inbox", get(inbox::inbox))
        .route("/inbox/events", get(inbox::events))
        .route("/inbox/assign", post(inbox::bulk_assign))
        .route("/cases/new", get(case_page::log_form).post(case_page::log))
        .route("/cases/{reference}", get(case_page::show))
        .route("/cases/{reference}/reply", post(case_page::reply))
        .route("/cases/{reference}/check", post(case_page::check))
        .route("/cases/{reference}/actions/{action}", post(case_page::take))
        .route("/cases/{reference}/tasks", post(case_page::add_task))
        .route("/cases/{reference}/correct", post(case_page::correct))
        .route("/cases/{reference}/assign", post(case_page::assign))
        .route("/cases/{reference}/revoke-link", post(case_page::revoke_link))
        .route("/cases/{reference}/private", post(case_page::move_to_private))
        .route("/cases/{reference}/hidden", post(case_page::set_hidden))
        .route("/cases/{reference}/link", post(case_page::link))
        .route("/cases/{reference}/customer/merge", post(case_page::merge_customer))
        .route("/cases/{reference}/customer/identities", post(case_page::add_identity))
        .route("/cases/{reference}/customer/erase", post(case_page::erase_customer))
        .route("/cases/{reference}/customer/export", get(case_page::export_customer))
        .route("/tasks", get(work::tasks))
        .route("/tasks/{id}", post(work::update_task))
        .route("/approvals", get(work::approvals))
        .route("/opportunities", get(work::opportunities))
        .route("/notifications", get(work::notifications))
        .route("/people", get(admin::people).post(admin::create_person))
        .route("/people/{username}", post(admin::change_person))
        .route("/tokens", get(admin::tokens).post(admin::create_token))
        .route("/tokens/{id}/revoke", post(admin::revoke_token))
        .route("/playbooks", get(admin::playbooks))
        .route("/locations", get(admin::locations).post(admin::create_location))
        .route("/reports", get(reports::dashboard))
        .route("/reports/summary.csv", get(reports::summary_export))
        .route("/reports/cases.csv", get(reports::cases_export))
        .route("/locations/match", post(admin::match_location))
        .route("/locations/{slug}", post(admin::change_location))
        .route("/playbooks/check", post(admin::check))
        .route("/settings", get(settings::show).post(settings::save))
        .route("/settings/password", post(settings::change_password))
}

/// A static asset, cached by browsers for an hour (a new release may change it).
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        body,
    )
        .into_response()
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", include_str!("../../assets/otklik.css"))
}

/// The widget a business puts on its own site (`<script src=…/f/widget.js>`): any site may load it.
async fn widget() -> Response {
    let mut response = asset("text/javascript; charset=utf-8", include_str!("../../assets/widget.js"));
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// The Content-Security-Policy of the customer's form and status pages: as strict as the rest,
/// except that any site may show them in a frame (the widget does).
pub(crate) const FRAMEABLE_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors *";

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("../../assets/otklik.js"))
}

/// The words of the customer's pages in one language.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Words {
    pub title: String,
    pub status_label: String,
    pub received: String,
    pub updated: String,
    pub replies: String,
    pub not_found_title: String,
    pub not_found: String,
    status: BTreeMap<Status, String>,
    next: BTreeMap<Status, String>,
}

impl Words {
    /// The words for `language` (Russian for a language the pages do not speak).
    pub(crate) fn of(language: Language) -> &'static Words {
        static ALL: OnceLock<BTreeMap<String, Words>> = OnceLock::new();
        let all = ALL.get_or_init(|| {
            toml::from_str(include_str!("../../templates/strings.toml")).expect("the page strings parse")
        });
        all.get(language.as_str()).unwrap_or_else(|| &all["ru"])
    }

    pub(crate) fn status(&self, status: Status) -> &str {
        &self.status[&status]
    }

    pub(crate) fn next(&self, status: Status) -> &str {
        &self.next[&status]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_word() {
        for language in [Language::Ru, Language::Uk, Language::En] {
            let words = Words::of(language);
            for status in Status::ALL {
                assert!(!words.status(*status).is_empty() && !words.next(*status).is_empty(), "{language} {status}");
            }
        }
        assert_eq!(Words::of(Language::Other).title, Words::of(Language::Ru).title);
    }
}
