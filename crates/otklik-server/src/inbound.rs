//! The way in for channel drivers: every message a driver receives goes to `App::receive` as the
//! channel's own actor (role `intake`, scope `channel:<name>`, so its external ids and threads
//! are its own), and `serve` runs each configured driver until shutdown.

use std::sync::Arc;

use async_trait::async_trait;
use otklik_app::{Actor, AppError, Received};
use otklik_channels::{Inbound, Incoming, Refused, Registry, Sink, Taken, TakenAs};
use otklik_core::{Channel, Identity, Role};

use crate::startup::AppState;

/// Intake as a channel driver sees it.
pub struct ChannelSink {
    state: AppState,
    actor: Actor,
    channel: Channel,
}

impl ChannelSink {
    /// The sink for a channel's driver.
    pub fn new(state: AppState, channel: Channel) -> ChannelSink {
        ChannelSink { state, actor: channel_actor(channel), channel }
    }
}

#[async_trait]
impl Sink for ChannelSink {
    async fn take(&self, incoming: Incoming) -> Result<Taken, Refused> {
        let received = self.state.app.receive(&self.actor, incoming).await.map_err(|error| match error {
            AppError::Internal(detail) => {
                tracing::error!(%detail, actor = %self.actor.name, "an incoming message could not be taken");
                Refused::Unavailable(detail)
            }
            other => Refused::Invalid(other.to_string()),
        })?;
        self.state.metrics.inbound(self.channel, inbound_outcome(&received));
        let (case_id, reference) = match &received {
            Received::Answered { request, .. } => (None, format!("NPS-{}", request.id)),
            other => other.case().map(|case| (Some(case.id), case.reference().to_string())).unwrap_or_default(),
        };
        let outcome = match received {
            Received::Opened(receipt) => TakenAs::Opened { status_url: receipt.status_url },
            Received::Continued { .. } => TakenAs::Continued,
            Received::Redelivered { .. } => TakenAs::Redelivered,
            Received::Answered { again: true, .. } => TakenAs::Redelivered,
            Received::Answered { again: false, .. } => TakenAs::Answered,
        };
        Ok(Taken { case_id, reference, outcome })
    }

    async fn rate(&self, case_id: i64, identity: &Identity, score: u8) -> Result<(), Refused> {
        self.state.app.channel_rate(&self.actor, case_id, identity, score).await.map_err(refused)
    }

    async fn recommend(&self, request_id: i64, identity: &Identity, score: u8) -> Result<(), Refused> {
        self.state.app.channel_recommend(&self.actor, request_id, identity, score).await.map_err(refused)
    }

    async fn position(&self, key: &str) -> Result<Option<String>, Refused> {
        self.state.app.channel_position(&self.actor, key).await.map_err(refused)
    }

    async fn set_position(&self, key: &str, value: &str) -> Result<(), Refused> {
        self.state.app.set_channel_position(&self.actor, key, value).await.map_err(refused)
    }
}

/// A channel as an actor: role `intake`, scope `channel:<name>`.
pub fn channel_actor(channel: Channel) -> Actor {
    let name = format!("channel:{channel}");
    Actor { name: name.clone(), role: Role::Intake, scope: name, person: None }
}

fn refused(error: AppError) -> Refused {
    match error {
        AppError::Internal(detail) => Refused::Unavailable(detail),
        other => Refused::Invalid(other.to_string()),
    }
}

/// The `outcome` label of `otklik_inbound_messages_total`.
pub(crate) fn inbound_outcome(received: &Received) -> &'static str {
    match received {
        Received::Opened(_) => "opened",
        Received::Continued { .. } => "continued",
        Received::Redelivered { .. } | Received::Answered { again: true, .. } => "redelivered",
        Received::Answered { again: false, .. } => "answered",
    }
}

/// Starts every inbound driver of the registry; they stop when `stop` turns true.
pub fn start(state: &AppState, channels: &Registry, stop: &tokio::sync::watch::Receiver<bool>) {
    for driver in channels.inbound() {
        let sink: Arc<dyn Sink> = Arc::new(ChannelSink::new(state.clone(), driver.channel()));
        let (driver, stop): (Arc<dyn Inbound>, _) = (driver.clone(), stop.clone());
        tracing::info!(channel = %driver.channel(), "receiving");
        tokio::spawn(async move { driver.run(sink, stop).await });
    }
}
