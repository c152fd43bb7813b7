//! Otklik's application layer: every operation a person or a channel can ask of Otklik — submit
//! feedback, read and correct a case, reply or note, take a playbook step, work tasks, read
//! notifications, change a customer — written once. Each takes an [`Actor`] and a typed request,
//! checks the actor's right against the permission table (`otklik_core::rights`), and returns
//! domain values or an [`AppError`]. The JSON API, the web pages and the channel drivers only
//! translate to and from these functions; nothing about a case is decided in them.

pub mod book;
mod cases;
mod customers;
pub mod digest;
mod error;
mod inbound;
pub mod input;
mod intake;
pub mod locations;
pub mod people;
pub mod personal_data;
pub mod pile_ons;
pub mod reports;
mod status;
mod steps;
pub mod surveys;
pub mod triage;
pub mod webhooks;

use std::sync::Arc;

use otklik_core::standard::Rules;
use otklik_core::{Case, Clock, Right, Role, Workflow};
use otklik_store::{Stamp, Store};

pub use cases::{CaseAddress, DueRisk, Writing, WritingKind};
pub use customers::parse_identity;
pub use error::AppError;
pub use inbound::{MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, Received};
pub use intake::{Idempotency, Receipt, Submission, mint_link_secret};
pub use status::{CustomerStatus, customer_address, customer_language, locale_language};
pub use steps::{Checked, ClockState, ClockView, PlaybookActions, TakeAction, Work};
pub use triage::TriageModel;

/// Who asks: a person signed in, an integration's token, or Otklik itself (the clock's work).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Recorded as the author of what the actor does: the person's username, or an
    /// integration's token name.
    pub name: String,
    pub role: Role,
    /// Scopes idempotency keys and redeliveries, so two sources cannot collide (`token:7`).
    pub scope: String,
    /// The person acting (their username), who owns tasks and reads notifications addressed to
    /// them; none for an integration, which has neither.
    pub person: Option<String>,
}

impl Actor {
    /// Fails unless the permission table gives the actor's role `right`.
    pub fn require(&self, right: Right) -> Result<(), AppError> {
        if self.role.has(right) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("the `{}` role does not have the right `{right}`", self.role)))
        }
    }

    fn stamp(&self, clock: &dyn Clock) -> Stamp {
        Stamp { at: clock.now(), actor: self.name.clone() }
    }
}

/// Everything the operations need. Cheap to clone; one per process.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Classifies new feedback: language, kind, sentiment, audience, cause, priority.
    pub triage: Arc<TriageModel>,
    /// The playbooks, deadlines and approval limits in force.
    pub workflow: Arc<Workflow>,
    /// The house-standard rules every message to a customer is checked against.
    pub rules: Arc<Rules>,
    /// Where customers reach Otklik, for the links handed to them.
    public_url: Arc<str>,
    /// This node's limits on sign-in attempts.
    sign_in_limits: Arc<people::SignInLimits>,
    /// A resolved case's status link works this many days after the case was resolved.
    pub status_link_days: u32,
    /// The business's name, as customers know it (on posters).
    pub business_name: Option<String>,
    /// The reports' iceberg: silent dissatisfied customers per complaint.
    pub iceberg_factor: u32,
    /// Retention: a customer's personal data is erased once every case of theirs has been
    /// closed this long; never when none.
    pub retention: Option<time::Duration>,
    /// Woken when something is owed to a customer (an acknowledgement, a reply), so this node's
    /// outbox worker sends it within moments instead of at its next round.
    pub outbox_wake: Arc<tokio::sync::Notify>,
}

impl App {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        triage: Arc<TriageModel>,
        workflow: Arc<Workflow>,
        rules: Arc<Rules>,
        public_url: &str,
    ) -> App {
        App {
            store,
            clock,
            triage,
            workflow,
            rules,
            public_url: public_url.trim_end_matches('/').into(),
            sign_in_limits: Arc::default(),
            status_link_days: 90,
            business_name: None,
            iceberg_factor: otklik_core::report::ICEBERG_FACTOR,
            retention: None,
            outbox_wake: Arc::default(),
        }
    }

    /// Tells this node's outbox worker that a message is owed.
    pub fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }

    /// The customer's status link for a case.
    pub fn status_url(&self, case: &Case) -> String {
        format!("{}/s/{}", self.public_url, case.status_token)
    }

    /// Where people and customers reach Otklik (`https://…` in production).
    pub fn public_url(&self) -> &str {
        &self.public_url
    }
}
