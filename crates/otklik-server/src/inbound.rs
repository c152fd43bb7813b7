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
}

impl ChannelSink {
    /// The sink for a channel's driver.
    pub fn new(state: AppState, channel: Channel) -> ChannelSink {
        ChannelSink { state, actor: channel_actor(channel) }
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
        state_metrics_inbound(&self.state, &received);
        let case = received.case();
        let (case_id, reference) = (case.id, case.reference().to_string());
        let outcome = match received {
            Received::Opened(receipt) => TakenAs::Opened { status_url: receipt.status_url },
            Received::Continued { .. } => TakenAs::Continued,
            Received::Redelivered { .. } => TakenAs::Redelivered,
        };
        Ok(Taken { case_id, reference, outcome })
    }

    async fn rate(&self, case_id: i64, identity: &Identity, score: u8) -> Result<(), Refused> {
        self.state.app.channel_rate(&self.actor, case_id, identity, score).await.map_err(refused)
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

fn state_metrics_inbound(state: &AppState, received: &Received) {
    let outcome = match received {
        Received::Opened(_) => "opened",
        Received::Continued { .. } => "continued",
        Received::Redelivered { .. } => "redelivered",
    };
    state.metrics.inbound(received.case().channel, outcome);
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
