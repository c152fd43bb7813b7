//! Prometheus metrics: request counts and latencies per route, cases created per channel, the
//! channels' inbound messages and outbox deliveries by outcome, and the outbox by channel and
//! status as the database holds it, served in the text exposition format at `/metrics`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::startup::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabels {
    channel: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    channel: String,
    /// One of a fixed few words (`sent`, `failed`, …, `opened`, `continued`, `redelivered`).
    outcome: String,
}

/// The server's metrics and the registry that prints them.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    cases_created: Family<ChannelLabels, Counter>,
    deliveries: Family<OutcomeLabels, Counter>,
    inbound: Family<OutcomeLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("otklik");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: LatencyFamily =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.000_25, 2.0, 16)));
        let cases_created = Family::<ChannelLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register("http_request_duration_seconds", "Time to answer HTTP requests", latency.clone());
        registry.register("cases_created", "Cases created from new feedback", cases_created.clone());
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "outbox_deliveries",
            "Outbox messages handed to their channel by this node, by outcome",
            deliveries.clone(),
        );
        let inbound = Family::<OutcomeLabels, Counter>::default();
        registry.register("inbound_messages", "Messages the channels received, by outcome", inbound.clone());
        Metrics { registry, requests, latency, cases_created, deliveries, inbound }
    }
}

impl Metrics {
    pub fn case_created(&self, channel: otklik_core::Channel) {
        self.cases_created.get_or_create(&ChannelLabels { channel: channel.as_str().to_owned() }).inc();
    }

    /// An outbox message handed to its channel: `sent`, `logged`, `on_site`, `retrying` or
    /// `failed`.
    pub fn delivery(&self, channel: otklik_core::Channel, outcome: &'static str) {
        self.deliveries
            .get_or_create(&OutcomeLabels { channel: channel.as_str().into(), outcome: outcome.into() })
            .inc();
    }

    /// A message a channel received: `opened`, `continued` or `redelivered`.
    pub fn inbound(&self, channel: otklik_core::Channel, outcome: &'static str) {
        self.inbound.get_or_create(&OutcomeLabels { channel: channel.as_str().into(), outcome: outcome.into() }).inc();
    }

    /// The metrics in the Prometheus text format, with the outbox as the database holds it
    /// (every node's messages, by channel and status).
    pub fn render(&self, outbox: &[(otklik_core::Channel, otklik_core::OutboxStatus, i64)]) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        let body = text.strip_suffix("# EOF\n").unwrap_or(&text).to_owned();
        let mut text = body;
        text.push_str("# HELP otklik_outbox_messages Outbox messages by channel and status.\n");
        text.push_str("# TYPE otklik_outbox_messages gauge\n");
        for (channel, status, count) in outbox {
            text.push_str(&format!("otklik_outbox_messages{{channel=\"{channel}\",status=\"{status}\"}} {count}\n"));
        }
        text.push_str("# EOF\n");
        text
    }
}

/// Middleware: counts and times every request under its route pattern (not its raw path, so ids
/// do not explode the label set).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Only the standard methods are labels of their own: made-up ones from anonymous clients
    // would otherwise grow the label set (and `/metrics`) without bound.
    let method = match request.method().as_str() {
        known @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => known,
        _ => "other",
    }
    .to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels { method: method.clone(), route: route.clone() })
        .observe(started.elapsed().as_secs_f64());
    state.metrics.requests.get_or_create(&RequestLabels { method, route, status }).inc();
    response
}
