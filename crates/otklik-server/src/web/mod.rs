//! The HTML pages. Each page module parses the request, calls the same `otklik-app` operation a
//! JSON handler would, and renders an askama template (escaped by default) with its words from
//! `templates/strings.toml`. Pages use no scripts; their stylesheet is served from `/assets`.

mod i18n;
mod status;
pub(crate) mod workspace;

pub(crate) use i18n::accepted_language;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use otklik_core::{Language, Status};
use serde::Deserialize;

use crate::startup::AppState;

/// The Content-Security-Policy of every response: nothing but our own stylesheet loads, no
/// script runs, no other site frames a page, forms post only here.
pub(crate) const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/s/{secret}", get(status::page))
        .route("/assets/otklik.css", get(stylesheet))
        .route("/", get(workspace::home))
        .route("/login", get(workspace::login_form).post(workspace::login))
        .route("/logout", axum::routing::post(workspace::logout))
        .route("/inbox", get(workspace::inbox))
        .route("/password/{secret}", get(workspace::password_form).post(workspace::set_password))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        include_str!("../../assets/otklik.css"),
    )
        .into_response()
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
