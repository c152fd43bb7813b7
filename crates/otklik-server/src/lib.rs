//! Otklik's HTTP server: the JSON API under `/api/v1` with its OpenAPI document, bearer-token
//! auth, health and metrics, and the channels' inbound webhooks (`/hooks/…`). `Application` is the one seam that builds and runs it — `main` and
//! every integration test start the server the same way.

mod api;
pub mod auth;
pub mod config;
pub mod hooks;
pub mod inbound;
pub mod jobs;
mod limits;
mod metrics;
mod problem;
mod startup;
mod web;

pub use config::{Config, ConfigError};
pub use limits::Limits;
pub use startup::{AppState, Application, SystemClock, app_for, shutdown_signal};

/// Everything stored about a customer as the API's JSON (`otklik customer export`).
pub fn customer_export_json(
    app: &otklik_app::App,
    export: otklik_app::personal_data::CustomerExport,
) -> serde_json::Result<String> {
    serde_json::to_string_pretty(&api::customers::export_view(app, export))
}
