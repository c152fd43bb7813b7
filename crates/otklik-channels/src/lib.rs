//! Otklik's channels: how a message owed to a customer leaves Otklik. Each channel (e-mail,
//! Telegram, SMS, social networks) is one driver module implementing [`Outbound`]; `serve` fills a
//! [`Registry`] from the configuration, and every node's job worker renders each outbox row from
//! its template key in the customer's language ([`Messages`]) and hands it to the channel's
//! driver. A channel with no driver configured goes to the [`log::LogDriver`], which records what
//! it would have sent, so the case shows the message as `logged` instead of waiting forever.

pub mod log;
mod messages;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use otklik_core::{Channel, Language};

pub use messages::{Messages, MessagesError, Values};

/// A message ready to leave: rendered, in the customer's language, addressed to the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The outbox row it comes from.
    pub outbox_id: i64,
    pub case_id: i64,
    /// The case reference, for subjects and threading (`OT-2026-000123`).
    pub reference: String,
    pub channel: Channel,
    /// The template key (`complaint.apology`).
    pub template: String,
    pub language: Language,
    pub text: String,
}

/// How handing a message to a channel went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The channel took it.
    Delivered,
    /// No channel is configured: it was recorded, not sent.
    Logged,
}

/// A channel's way out. Each driver delivers one rendered message or says why not (it is tried
/// again later with doubling waits).
#[async_trait]
pub trait Outbound: Send + Sync + 'static {
    /// The channels this driver delivers.
    fn channels(&self) -> Vec<Channel>;

    async fn deliver(&self, message: &Rendered) -> Result<Sent, String>;
}

/// The drivers in use, one per channel.
#[derive(Clone, Default)]
pub struct Registry {
    drivers: HashMap<Channel, Arc<dyn Outbound>>,
}

impl Registry {
    /// A registry where every channel goes to the log driver: what a business with no channel
    /// configured gets.
    pub fn logging_only() -> Registry {
        Registry::default().with_fallback(Arc::new(log::LogDriver))
    }

    /// Registers a driver for the channels it names (replacing any driver they had).
    pub fn with(mut self, driver: Arc<dyn Outbound>) -> Registry {
        for channel in driver.channels() {
            self.drivers.insert(channel, driver.clone());
        }
        self
    }

    /// Registers `driver` for every channel that has none yet.
    pub fn with_fallback(mut self, driver: Arc<dyn Outbound>) -> Registry {
        for channel in Channel::ALL {
            self.drivers.entry(*channel).or_insert_with(|| driver.clone());
        }
        self
    }

    /// The driver of a channel.
    pub fn driver(&self, channel: Channel) -> Option<&Arc<dyn Outbound>> {
        self.drivers.get(&channel)
    }

    /// The channels some driver delivers.
    pub fn channels(&self) -> Vec<Channel> {
        let mut channels: Vec<Channel> = self.drivers.keys().copied().collect();
        channels.sort();
        channels
    }
}
