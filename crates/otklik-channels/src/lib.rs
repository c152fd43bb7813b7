//! Otklik's channels: how customers' messages come in and how the messages owed to them leave.
//! Each channel (e-mail, Telegram, SMS, social networks) is one driver module implementing
//! [`Inbound`] (it receives, normalises each message into an [`Incoming`] and hands it to a
//! [`Sink`], which is intake: `App::receive`) and [`Outbound`] (it delivers one rendered message).
//! `serve` fills a [`Registry`] from the configuration and runs its inbound drivers; every node's
//! job worker renders each outbox row from its template key in the customer's language
//! ([`Messages`]) and hands it to the channel's driver. A channel with no driver configured goes
//! to the [`log::LogDriver`], which records what it would have sent, so the case shows the message
//! as `logged` instead of waiting forever.

pub mod email;
pub mod log;
mod messages;
pub mod signature;
pub mod sms;
mod smtp;
pub mod social;
pub mod telegram;
mod tls;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
pub use otklik_core::{Attachment, Incoming};
use otklik_core::{Channel, Identity, Language};

pub use messages::{Messages, MessagesError, Values};

/// A message ready to leave: rendered, in the customer's language, addressed to the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The outbox row it comes from.
    pub outbox_id: i64,
    /// The case it answers; none for a survey outside any case.
    pub case_id: Option<i64>,
    /// The NPS request a survey carries.
    pub survey_id: Option<i64>,
    /// The case reference, for subjects and threading (`OT-2026-000123`); a survey's is
    /// `NPS-<request id>`.
    pub reference: String,
    pub channel: Channel,
    /// The template key (`complaint.apology`).
    pub template: String,
    pub language: Language,
    pub text: String,
    /// The customer's address on the channel (an e-mail address, a phone, a Telegram chat id);
    /// none when they left none there, and the driver says so.
    pub to: Option<String>,
    /// The case's subject, for an e-mail's subject line (a survey's own subject line).
    pub subject: Option<String>,
    /// The conversation at the source: the first `Message-ID` of an e-mail thread, a post's
    /// address for a public item.
    pub thread: Option<String>,
    /// The customer's newest message on the channel (its id at the source), answered by this one.
    pub in_reply_to: Option<String>,
    /// What number the message asks the customer for: Telegram adds buttons, SMS and e-mail
    /// say "reply with a number".
    pub asks: Ask,
}

/// The number a message asks the customer to answer with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Ask {
    #[default]
    Nothing,
    /// How the case went, 1 to 5 (CSAT).
    Rating,
    /// How likely they are to recommend the business, 0 to 10 (NPS).
    Recommendation,
}

impl Rendered {
    /// The template keys that ask for a rating: the follow-up after a case is resolved.
    pub fn template_asks_rating(template: &str) -> bool {
        template.ends_with(".follow_up")
    }
}

/// How handing a message to a channel went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The channel took it.
    Delivered,
    /// No channel is configured: it was recorded, not sent.
    Logged,
    /// The channel took it and named it (a provider's message id, an e-mail's `Message-ID`).
    Named(String),
    /// A public post that the brand answers on the site itself, at this address (no API to
    /// answer through is configured).
    OnSite(String),
}

/// A channel's way out. Each driver delivers one rendered message or says why not (it is tried
/// again later with doubling waits).
#[async_trait]
pub trait Outbound: Send + Sync + 'static {
    /// The channels this driver delivers.
    fn channels(&self) -> Vec<Channel>;

    async fn deliver(&self, message: &Rendered) -> Result<Sent, String>;
}

/// What intake made of a message a driver handed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The case it went to: none for an answer to a survey.
    pub case_id: Option<i64>,
    /// The case reference (`OT-2026-000123`), for an acknowledgement or a subject line; a
    /// survey answer's is `NPS-<request id>`.
    pub reference: String,
    pub outcome: TakenAs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakenAs {
    /// A new case; the customer's status link.
    Opened { status_url: String },
    /// A message on the open case of its conversation.
    Continued,
    /// Seen already: nothing was written.
    Redelivered,
    /// The answer to an NPS request, recorded on it.
    Answered,
}

/// Why intake did not take a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The message can never be taken as it is (empty, too large, …): the driver records it
    /// and moves on, without trying again.
    #[error("refused: {0}")]
    Invalid(String),
    /// Intake cannot take it now (the database is unreachable): the driver leaves it at its
    /// source, unacknowledged, and tries again later.
    #[error("not taken now: {0}")]
    Unavailable(String),
}

/// Where an inbound driver hands what it receives. It answers only once the message is
/// committed, so a driver acknowledges a message at its source (marks the e-mail seen, moves
/// the Telegram offset) only after `take` returned `Ok`: nothing is lost when a node stops.
#[async_trait]
pub trait Sink: Send + Sync + 'static {
    async fn take(&self, incoming: Incoming) -> Result<Taken, Refused>;

    /// A customer's rating (1 to 5) of a case, given on the channel (a Telegram button); the
    /// `identity` must be the case's customer's.
    async fn rate(&self, case_id: i64, identity: &Identity, score: u8) -> Result<(), Refused>;

    /// A customer's answer (0 to 10) to an NPS request, given on the channel (a Telegram
    /// button); the `identity` must be the asked customer's.
    async fn recommend(&self, request_id: i64, identity: &Identity, score: u8) -> Result<(), Refused>;

    /// The driver's position at its source (Telegram's update offset), kept in the database so
    /// a restart neither loses nor repeats a message.
    async fn position(&self, key: &str) -> Result<Option<String>, Refused>;

    async fn set_position(&self, key: &str, value: &str) -> Result<(), Refused>;
}

/// A channel's way in: receives from its source (IMAP IDLE, long polling, …) until `stop`
/// turns true, handing each message to the sink.
#[async_trait]
pub trait Inbound: Send + Sync + 'static {
    /// The channel its messages come from.
    fn channel(&self) -> Channel;

    async fn run(&self, sink: Arc<dyn Sink>, stop: tokio::sync::watch::Receiver<bool>);
}

/// The drivers in use: one way out per channel, and the ways in.
#[derive(Clone, Default)]
pub struct Registry {
    drivers: HashMap<Channel, Arc<dyn Outbound>>,
    inbound: Vec<Arc<dyn Inbound>>,
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

    /// Adds a way in.
    pub fn with_inbound(mut self, driver: Arc<dyn Inbound>) -> Registry {
        self.inbound.push(driver);
        self
    }

    /// The ways in, to be run by `serve`.
    pub fn inbound(&self) -> &[Arc<dyn Inbound>] {
        &self.inbound
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
