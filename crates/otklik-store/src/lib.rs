//! Otklik's storage: the `Store` trait in domain terms, and its two implementations — SQLite (the
//! embedded default) and PostgreSQL (several server nodes on one database). Both behave the same;
//! one test suite (`tests/suite.rs`) runs on both. No sqlx type crosses this crate's boundary.

mod error;
pub mod maintenance;
mod postgres;
mod records;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use otklik_core::{
    ActionInput, ApologyForm, Case, CaseFilter, CasePatch, Channel, CompensationKind, CompensationStatus, Customer,
    CustomerPatch, Event, Message, Milestone, NewFeedback, NewMessage, OutboxStatus, Page, Pause, Role, TaskStatus,
    Transition,
};
use time::{Date, OffsetDateTime};

pub use error::{DatabaseError, StoreError};

/// How many of the newest matches a search ranks. A query whose words are in more cases than
/// this (a word like "delivery" in a large desk) ranks the newest this many of them, which is what
/// an agent looking for a recent case wants and keeps search fast at any size; more words narrow
/// the matches. Both backends use the same window, so they return the same cases.
pub const SEARCH_WINDOW: i64 = 2_000;

/// A redelivery guard: the same key from the same client returns the first result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Whose key it is (the token or user that sent it), so clients cannot collide.
    pub scope: String,
    pub key: String,
    /// A digest of the request body; the same key with another body is refused.
    pub body_digest: String,
}

/// What a feedback submission led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub case: Case,
    /// False when the submission was a redelivery and the case already existed.
    pub created: bool,
}

/// A case with everything that belongs to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseDetail {
    pub case: Case,
    pub customer: Customer,
    pub messages: Vec<Message>,
    pub events: Vec<Event>,
    pub attachments: Vec<AttachmentInfo>,
    /// The case this one piles on to (comments on one public incident), if it is linked.
    pub parent: Option<Case>,
    /// The cases linked to this one, oldest first.
    pub linked: Vec<Case>,
}

pub use otklik_core::report::{ReportBreach, ReportCompensation, ReportCube, ReportEmployee, ReportRating, ReportRows};

/// An open public case a new one may pile on to (see `Store::pile_on_candidates`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PileOnCandidate {
    pub case_id: i64,
    /// Under the same post or thread at the source (else: at the same location).
    pub same_place: bool,
    /// The text the case began with.
    pub text: String,
}

/// A file kept with a case (its content is read on its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    pub id: i64,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub created_at: OffsetDateTime,
}

/// A file to keep with a case, with the SHA-256 of its content (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub name: String,
    pub content_type: String,
    pub content: Vec<u8>,
    pub digest: String,
}

/// A customer with their cases on every channel, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerDetail {
    pub customer: Customer,
    pub cases: Vec<Case>,
    /// Changes to the customer's record, oldest first.
    pub events: Vec<Event>,
}

/// An API token as the server sees it after the hash matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The person the token belongs to (their username); none for an integration.
    pub user: Option<String>,
}

/// An API token as `otklik token list` shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub record: TokenRecord,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// Who a notification is for: one person, or everyone with a role. Stored as `user:NAME` or
/// `role:ROLE`, so a person named like a role never reads that role's notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    User(String),
    Role(Role),
}

impl Recipient {
    pub(crate) fn key(&self) -> String {
        match self {
            Recipient::User(name) => format!("user:{name}"),
            Recipient::Role(role) => format!("role:{role}"),
        }
    }
}

/// A web user with the hash to check a password against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub password_hash: String,
    /// A deactivated person keeps their history but cannot sign in.
    pub active: bool,
    /// The workspace's language for them; the browser's when none.
    pub language: Option<otklik_core::Language>,
    /// The IANA time zone they read times in; the business's when none.
    pub time_zone: Option<String>,
    /// Where their e-mail (the weekly digest) goes; none: only the workspace.
    pub email: Option<String>,
}

/// A signed-in person's session, found by the digest of their cookie's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: UserRecord,
    /// The token each of the session's forms must carry.
    pub csrf_token: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A new case's secret and time, decided by the caller (the store makes no randomness or time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub at: OffsetDateTime,
    pub actor: String,
}

/// A case with what the playbook engine needs to know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseState {
    pub case: Case,
    pub open_tasks: u32,
    pub pending_compensations: u32,
    /// The amount of the oldest compensation waiting for approval.
    pub pending_amount: Option<u64>,
}

/// A playbook step the engine allowed, stored with everything it causes in one transaction: the
/// stage and status, an event, the message owed to the customer (outbox), tasks, compensation,
/// opportunities, the clock's pauses and a follow-up job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub transition: Transition,
    pub input: ActionInput,
    /// The business's currency, for compensation.
    pub currency: String,
    /// Where the customer is answered (the case's channel).
    pub channel: Channel,
    /// When the follow-up the step schedules is due, if it schedules one.
    pub follow_up_at: Option<OffsetDateTime>,
    /// When the apology call or meeting the step chose is due: the step creates a task for
    /// it (see `ActionInput::apology_task`), for the actor or, for a token, the assignee.
    pub apology_due_at: Option<OffsetDateTime>,
}

/// A task on a case, for an executor or an expert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: i64,
    pub case_id: i64,
    pub title: String,
    pub assignee: Option<String>,
    pub due_on: Option<Date>,
    /// The time it is due, for work with a time (an apology call); its day is `due_on`.
    pub due_at: Option<OffsetDateTime>,
    pub status: TaskStatus,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
    pub comments: Vec<TaskComment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskComment {
    pub author: String,
    pub body: String,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub title: String,
    pub assignee: Option<String>,
    pub due_on: Option<Date>,
    /// A time it is due (`due_on` is then its day).
    pub due_at: Option<OffsetDateTime>,
}

/// A change to a task: its status, a comment, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskUpdate {
    pub status: Option<TaskStatus>,
    pub comment: Option<String>,
}

/// One entry of a case's compensation ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompensationRecord {
    pub id: i64,
    pub kind: CompensationKind,
    /// Minor units of `currency`.
    pub amount: u64,
    pub currency: String,
    pub description: Option<String>,
    /// How the apology that came with it was made, one form or more.
    pub apology_forms: Vec<ApologyForm>,
    pub status: CompensationStatus,
    pub offered_by: String,
    pub offered_at: OffsetDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
    /// Why a manager rejected it.
    pub decision_reason: Option<String>,
}

/// A message owed to the customer, and how its delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    /// The case it answers; none for a survey sent to a customer outside any case.
    pub case_id: Option<i64>,
    /// The NPS request it carries, for a survey.
    pub survey_id: Option<i64>,
    /// The weekly digest it carries, and the person it is for (`user_id`).
    pub digest_id: Option<i64>,
    pub user_id: Option<i64>,
    /// The template the step emits (`complaint.apology`, …).
    pub template: String,
    pub channel: Channel,
    /// The words the agent gave with the step, if any, for the template to carry.
    pub body: Option<String>,
    pub status: OutboxStatus,
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
    /// What the channel said of it: the address of a post to answer on the site, or the
    /// message's id at the provider.
    pub note: Option<String>,
}

/// Where an answer on a case goes in the conversation it came from: the thread the case began
/// in at its source (an e-mail's first `Message-ID`, a chat) and the newest message the customer
/// sent on the channel, for `In-Reply-To`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyThread {
    pub thread: Option<String>,
    pub last_inbound: Option<String>,
}

/// A customer handed to sales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opportunity {
    pub id: i64,
    pub case_id: i64,
    pub customer_id: i64,
    /// The action that created it.
    pub source: String,
    /// A referral's lead: the friend's contact details.
    pub lead_contact: Option<String>,
    pub status: otklik_core::OpportunityStatus,
    pub created_at: OffsetDateTime,
}

/// The work around a case: tasks, compensation, messages owed, opportunities, pauses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseWork {
    pub tasks: Vec<Task>,
    pub compensations: Vec<CompensationRecord>,
    pub outbox: Vec<OutboxMessage>,
    pub opportunities: Vec<Opportunity>,
    pub pauses: Vec<Pause>,
    /// When the customer was first answered (a step's message or a reply), if they were.
    pub first_response_at: Option<OffsetDateTime>,
    /// When the case entered a resolved or closed status, while it is in one.
    pub resolved_at: Option<OffsetDateTime>,
    /// The date promised to the customer (an action with `set_due_date`), if one was.
    pub due_on: Option<Date>,
}

/// One of the business's locations (a shop, a branch), with its public complaint book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub id: i64,
    /// Its address in links: `/f/{slug}`.
    pub slug: String,
    pub name: String,
    pub address: Option<String>,
    /// IANA time zone; the business's when none.
    pub time_zone: Option<String>,
    /// Its working hours in one line (`mon-fri 09:00-18:00; sat 10:00-16:00`); the business's
    /// when none.
    pub hours: Option<String>,
    /// An inactive location's book takes no feedback.
    pub active: bool,
    pub created_at: OffsetDateTime,
}

/// A location to add.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLocationRecord {
    pub slug: String,
    pub name: String,
    pub address: Option<String>,
    pub time_zone: Option<String>,
    pub hours: Option<String>,
}

/// A change to a location: each field given is set (`Some(None)` clears it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationPatch {
    pub name: Option<String>,
    pub address: Option<Option<String>>,
    pub time_zone: Option<Option<String>>,
    pub hours: Option<Option<String>>,
    pub active: Option<bool>,
}

/// A change to a person: each field given is set (`Some(None)` clears it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub role: Option<Role>,
    pub display_name: Option<Option<String>>,
    pub language: Option<Option<otklik_core::Language>>,
    pub time_zone: Option<Option<String>>,
    pub email: Option<Option<String>>,
}

/// What erasing a customer's personal data changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    /// The customer and the records merged into it.
    pub customers: u64,
    pub identities: u64,
    pub cases: u64,
    /// Texts and values that held their personal data.
    pub values: u64,
}

/// What `otklik audit verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditReport {
    pub cases: u64,
    pub events: u64,
    /// Events whose place in their case's chain checked out.
    pub sealed: u64,
    /// Events not sealed yet (the newest few seconds'), and those after them in their case.
    pub unsealed: u64,
    /// Cases whose chain breaks.
    pub mismatched_cases: u64,
    /// The first event that does not match: (case id, event id, what is wrong).
    pub first_mismatch: Option<(i64, i64, String)>,
}

/// A weekly digest's word to one person: the notice in their workspace, and, when `email`, the
/// letter queued on e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestLetter {
    pub user_id: i64,
    pub username: String,
    pub email: bool,
    pub body: String,
    pub notice: String,
}

/// A complaint worth a manager's reading, and why: its clocks breached and its lowest rating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorthReading {
    pub case: Case,
    pub breaches: u32,
    pub lowest_rating: Option<u8>,
    /// The words the case began with.
    pub text: String,
}

/// A weekly digest as recorded: the business days it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestRecord {
    pub id: i64,
    pub from: time::Date,
    pub to: time::Date,
    pub created_at: OffsetDateTime,
}

/// What the deadline watch found on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watched {
    pub case_id: i64,
    /// When to look again; `None`: no clock of it can still fire (until a step or change,
    /// which makes it due for a look at once).
    pub next: Option<OffsetDateTime>,
    /// When its earliest running clock falls due; `None` while every clock is stopped or met.
    pub due: Option<OffsetDateTime>,
}

/// An unresolved case as the deadline watch sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockedCase {
    pub case_id: i64,
    pub kind: otklik_core::Kind,
    pub priority: otklik_core::Priority,
    pub public: bool,
    pub hidden: bool,
    /// Linked to a parent case: the parent's clocks stand for it.
    pub linked: bool,
    /// Where the case happened; business hours are the location's when it has its own.
    pub location: Option<String>,
    pub created_at: OffsetDateTime,
    pub first_response_at: Option<OffsetDateTime>,
    pub pauses: Vec<Pause>,
    /// The stage the case is in (its playbook tells whether it watches a promised date).
    pub stage: String,
    /// The date promised to the customer, if one was.
    pub due_on: Option<Date>,
}

/// A deadline warning, breach or escalation to record once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineMark {
    pub case_id: i64,
    pub milestone: Milestone,
    pub state: otklik_core::MarkState,
    /// Who is told, and what.
    pub notify: Recipient,
    pub message: String,
}

/// Someone told about something: a deadline, an approval to give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub recipient: Recipient,
    pub case_id: Option<i64>,
    pub what: String,
    pub body: String,
    pub created_at: OffsetDateTime,
}

/// Work due later, claimed by one node at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: otklik_core::JobKind,
    pub case_id: Option<i64>,
    pub payload: String,
    pub run_at: OffsetDateTime,
    pub attempts: u32,
}

/// A subscription of the business's own system to case events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    pub id: i64,
    /// Where the events are POSTed.
    pub url: String,
    /// The HMAC-SHA256 key every delivery is signed with.
    pub secret: String,
    /// `case.created`, `case.step`, `case.resolved`, `case.rated`.
    pub events: Vec<String>,
    pub active: bool,
    /// The last case event handed over (or skipped as not subscribed).
    pub cursor: i64,
    /// Failed tries of the event after the cursor.
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    /// Events delivered so far.
    pub delivered: i64,
    pub created_at: OffsetDateTime,
}

/// A case event as a webhook tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookEvent {
    /// The event's id: a subscriber's deliveries come in this order, each once.
    pub id: i64,
    pub case_id: i64,
    pub at: OffsetDateTime,
    /// `case.created`, `case.step`, `case.resolved` or `case.rated`.
    pub event: &'static str,
    /// For a step: the playbook action taken.
    pub action: Option<String>,
    /// For a step: the stages before and after; for a rating, the score (`to`).
    pub from: Option<String>,
    pub to: Option<String>,
}

/// An NPS campaign and how its customers answered: promoters scored 9–10, passives 7–8,
/// detractors 0–6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpsCampaign {
    pub id: i64,
    pub name: String,
    pub channel: Channel,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    /// Customers asked.
    pub requested: i64,
    /// Requests that left (sent or delivered).
    pub sent: i64,
    /// Requests that could not be delivered.
    pub failed: i64,
    pub promoters: i64,
    pub passives: i64,
    pub detractors: i64,
}

impl NpsCampaign {
    pub fn answered(&self) -> i64 {
        self.promoters + self.passives + self.detractors
    }

    /// The Net Promoter Score: the share of promoters less the share of detractors, in points
    /// from -100 to 100, rounded; none before anyone answered.
    pub fn score(&self) -> Option<i64> {
        let answered = self.answered();
        (answered > 0).then(|| {
            let points = 100.0 * (self.promoters - self.detractors) as f64 / answered as f64;
            points.round() as i64
        })
    }
}

/// One customer's NPS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpsRequest {
    pub id: i64,
    pub campaign_id: i64,
    pub customer_id: i64,
    pub channel: Channel,
    pub score: Option<u8>,
    /// When the request's message left; none while it waits in the outbox.
    pub sent_at: Option<OffsetDateTime>,
}

/// How delivering an outbox message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The channel took it; `note` is its id there, when it gave one.
    Sent { note: Option<String> },
    /// A public post to answer on the site itself, at `link`.
    OnSite { link: String },
    /// No channel is configured for it: recorded, not sent.
    Logged,
    /// Not delivered: tried again at `retry_at`, or given up (`failed`) when it is none.
    Failed { error: String, retry_at: Option<OffsetDateTime> },
}

/// Everything Otklik keeps, in domain terms.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Answers when the database is reachable.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Records new feedback as a case with its first message, finding or creating the customer.
    /// A redelivery (same idempotency key, or same channel and external id) returns the existing
    /// case with `created: false` and writes nothing.
    async fn submit_feedback(
        &self,
        feedback: NewFeedback,
        status_token: String,
        idempotency: Option<IdempotencyKey>,
        stamp: Stamp,
    ) -> Result<Submitted, StoreError>;

    /// Records many pieces of feedback in one transaction (imports and benchmarks).
    async fn import_feedback(&self, batch: Vec<(NewFeedback, String)>, stamp: Stamp) -> Result<(), StoreError>;

    /// Training rows from the cases an agent corrected: the first message's text and the
    /// current value of `field` (`kind`, `sentiment` or `cause`) of every case with a `changed` event for
    /// that field.
    async fn corrected_labels(&self, field: &str) -> Result<Vec<(String, String)>, StoreError>;

    /// Open opportunities and leads for sales, with when their case's earliest clock falls due,
    /// the soonest first.
    async fn open_opportunities(&self, limit: u32) -> Result<Vec<(Opportunity, Option<OffsetDateTime>)>, StoreError>;

    /// Adds a location; `Conflict` when its slug is taken.
    async fn create_location(&self, new: &NewLocationRecord, at: OffsetDateTime) -> Result<Location, StoreError>;

    /// Every location, by slug.
    async fn locations(&self) -> Result<Vec<Location>, StoreError>;

    /// A location by slug, active or not.
    async fn location(&self, slug: &str) -> Result<Option<Location>, StoreError>;

    /// Locations written on cases that name no location (older cases, integrations), with how
    /// many cases each, the most first.
    async fn unmatched_locations(&self, limit: u32) -> Result<Vec<(String, i64)>, StoreError>;

    /// Matches a location written on cases to a location: every case with exactly `text`
    /// gets the slug, each with an event; answers how many.
    async fn match_location(&self, text: &str, slug: &str, stamp: Stamp) -> Result<u64, StoreError>;

    /// Changes a location; `NotFound` when there is no such slug.
    async fn update_location(&self, slug: &str, patch: &LocationPatch) -> Result<Location, StoreError>;

    /// The value of a shared setting, made from `make` and stored the first time it is asked
    /// for (when two nodes ask at once, both get the one stored first).
    async fn setting(&self, key: &str, make: &(dyn Fn() -> String + Send + Sync)) -> Result<String, StoreError>;

    /// Revokes a case's status link (the page then answers like a wrong link); false when it
    /// was revoked already.
    async fn revoke_status_link(&self, case_id: i64, stamp: Stamp) -> Result<bool, StoreError>;

    /// The customer's rating of a case (1 to 5, a comment), once; `Conflict` the second time.
    async fn rate_case(&self, case_id: i64, score: u8, comment: Option<&str>, stamp: Stamp) -> Result<(), StoreError>;

    /// A case's rating, if the customer gave one.
    async fn rating(&self, case_id: i64) -> Result<Option<(u8, Option<String>)>, StoreError>;

    /// The beginning of each case's first message (up to `chars` characters), for listings.
    async fn previews(&self, case_ids: &[i64], chars: u32) -> Result<Vec<(i64, String)>, StoreError>;

    /// How many cases there are, hidden ones included.
    async fn case_count(&self) -> Result<i64, StoreError>;

    async fn case(&self, id: i64) -> Result<CaseDetail, StoreError>;

    /// The case a status link names, unless the link was revoked or the case was resolved
    /// before `resolved_since` (the link expired): one lookup for all three.
    async fn case_by_status_token(
        &self,
        status_token: &str,
        resolved_since: OffsetDateTime,
    ) -> Result<Option<CaseDetail>, StoreError>;

    async fn list_cases(&self, filter: &CaseFilter) -> Result<Page<Case>, StoreError>;

    /// Appends a message. One with an external id the case already has is refused with a
    /// unique violation (see `message_by_external_id`).
    async fn add_message(&self, case_id: i64, message: NewMessage, stamp: Stamp) -> Result<Message, StoreError>;

    /// The message of a case that came with this id from its source, if it came already.
    async fn message_by_external_id(&self, case_id: i64, external_id: &str) -> Result<Option<Message>, StoreError>;

    /// The newest case of a conversation at a source (`thread_key` of the case it began in),
    /// with its status, if there is one.
    async fn case_by_thread(
        &self,
        source: &str,
        channel: Channel,
        thread_key: &str,
    ) -> Result<Option<(i64, otklik_core::Status)>, StoreError>;

    /// Keeps files with a case; one kept already (same name and content) is not kept twice.
    /// How many were new.
    async fn add_attachments(&self, case_id: i64, files: &[NewAttachment], stamp: Stamp) -> Result<u32, StoreError>;

    /// A kept file with its content.
    async fn attachment(&self, case_id: i64, id: i64) -> Result<(AttachmentInfo, Vec<u8>), StoreError>;

    /// Applies a patch; each changed field is an event in the same transaction.
    async fn update_case(&self, case_id: i64, patch: &CasePatch, stamp: Stamp) -> Result<CaseDetail, StoreError>;

    async fn customer(&self, id: i64) -> Result<CustomerDetail, StoreError>;

    /// Changes a customer's name or VIP flag, each change an event, and returns the customer as
    /// it now is.
    async fn update_customer(&self, id: i64, patch: &CustomerPatch, stamp: Stamp) -> Result<Customer, StoreError>;

    /// Stores a token's digest: a person's when `user` names one (`Invalid` when nobody has that
    /// username), an integration's when it is none.
    async fn create_token(
        &self,
        name: &str,
        role: Role,
        user: Option<&str>,
        token_hash: &str,
        at: OffsetDateTime,
    ) -> Result<i64, StoreError>;

    /// A token that is not revoked, by its digest.
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError>;

    /// Every token, revoked ones included, oldest first.
    async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;

    /// Revokes a token; false when it was revoked already. `NotFound` when there is no such token.
    async fn revoke_token(&self, id: i64, at: OffsetDateTime) -> Result<bool, StoreError>;

    async fn create_user(
        &self,
        username: &str,
        display_name: Option<&str>,
        role: Role,
        password_hash: &str,
        at: OffsetDateTime,
    ) -> Result<i64, StoreError>;

    /// A person by username, active or not.
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;

    /// Everyone, by username.
    async fn users(&self) -> Result<Vec<UserRecord>, StoreError>;

    /// Changes a person's role, name, language or time zone (what the patch gives). `NotFound`
    /// when there is no such person.
    async fn update_user(&self, username: &str, patch: &UserPatch) -> Result<UserRecord, StoreError>;

    /// The id of the newest event of any case (0 before the first): it grows with every new
    /// case and every change, so a page can tell cheaply that something happened.
    async fn last_event_id(&self) -> Result<i64, StoreError>;

    /// Activates or deactivates a person; deactivating ends their sessions. `NotFound` when
    /// there is no such person.
    async fn set_user_active(&self, username: &str, active: bool) -> Result<UserRecord, StoreError>;

    /// Stores a new password hash and ends the person's sessions but `keep` (the one that
    /// changed it, if any).
    async fn set_password(&self, username: &str, password_hash: &str, keep: Option<&str>) -> Result<(), StoreError>;

    /// Starts a session for an active person: `id_hash` is the digest of the cookie's secret.
    async fn create_session(
        &self,
        username: &str,
        id_hash: &str,
        csrf_token: &str,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// The session a cookie names, if it has not expired at `now` and its person is active.
    async fn session(&self, id_hash: &str, now: OffsetDateTime) -> Result<Option<SessionRecord>, StoreError>;

    /// Ends a session (signing out); false when there was none.
    async fn end_session(&self, id_hash: &str) -> Result<bool, StoreError>;

    /// Stores a one-time link to set a person's password (the digest of its secret).
    async fn create_password_link(
        &self,
        username: &str,
        token_hash: &str,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Uses a one-time link: the person it is for, if it exists, has not expired at `now` and
    /// was not used before; from then on it is used. Two uses at once: one wins.
    async fn use_password_link(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<String>, StoreError>;

    /// True when nobody can get in yet: no users and no tokens.
    async fn is_unclaimed(&self) -> Result<bool, StoreError>;

    /// A case with its open tasks and pending compensation counted.
    async fn case_state(&self, case_id: i64) -> Result<CaseState, StoreError>;

    /// Stores a playbook step and all it causes, if the case is still in `expected_stage`
    /// (`Conflict` when someone moved it meanwhile: nothing is written then).
    async fn take_step(&self, case_id: i64, expected_stage: &str, step: &Step, stamp: Stamp) -> Result<(), StoreError>;

    /// Tasks, compensation, outbox, opportunities and pauses of a case.
    async fn case_work(&self, case_id: i64) -> Result<CaseWork, StoreError>;

    /// Adds a task to a case (an event records it).
    async fn add_task(&self, case_id: i64, task: NewTask, stamp: Stamp) -> Result<Task, StoreError>;

    /// Changes a task's status and/or adds a comment.
    async fn update_task(&self, task_id: i64, update: TaskUpdate, stamp: Stamp) -> Result<Task, StoreError>;

    /// The open tasks assigned to someone, oldest due first.
    async fn tasks_for(&self, assignee: &str) -> Result<Vec<Task>, StoreError>;

    /// Unresolved cases the deadline watch should look at by `now` (new or changed ones, and
    /// those whose next warning or due time has come), at most `limit`.
    async fn clocked_cases(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<ClockedCase>, StoreError>;

    /// What the watch found on each case it looked at: when to look again and when its
    /// earliest running clock falls due.
    async fn set_watch(&self, next: &[Watched]) -> Result<(), StoreError>;

    /// Records a deadline mark, its event and its notification, unless it is recorded already;
    /// true when this call recorded it. Safe to call from several nodes at once.
    async fn mark_deadline(&self, mark: &DeadlineMark, stamp: Stamp) -> Result<bool, StoreError>;

    /// Notifications for a recipient, newest first.
    async fn notifications(&self, recipient: &Recipient) -> Result<Vec<Notification>, StoreError>;

    /// Claims up to `limit` jobs due at `now` for `worker` until `lease_until`, including jobs
    /// whose earlier claim lapsed. A job is claimed by one worker at a time.
    async fn claim_jobs(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError>;

    /// Runs a claimed follow-up: if the case is still in the stage the job names, the outbox gets
    /// the follow-up message and the case an event; the job is done either way. Nothing happens
    /// when the claim is no longer `worker`'s. True when the job was finished by this call.
    async fn finish_follow_up(&self, job: &Job, worker: &str, stamp: Stamp) -> Result<bool, StoreError>;

    /// Claims up to `limit` pending outbox messages on `channels` due at `now` for `worker`
    /// until `lease_until` (then another node may take them).
    async fn claim_outbox(
        &self,
        worker: &str,
        channels: &[Channel],
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError>;

    /// Records how delivering a claimed message went; nothing happens when `worker` no longer
    /// holds the claim. True when recorded.
    async fn record_delivery(
        &self,
        message_id: i64,
        worker: &str,
        delivery: &Delivery,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Marks claimed messages as being handed to their channel now, until `lease_until`: if
    /// this node stops before their outcome is recorded, they are not sent again (see
    /// `settle_interrupted`). Returns the ids still `worker`'s, the only ones it may send.
    async fn start_sending(
        &self,
        worker: &str,
        ids: &[i64],
        lease_until: OffsetDateTime,
    ) -> Result<Vec<i64>, StoreError>;

    /// Records how delivering each of several claimed messages went, in one transaction; a
    /// message no longer `worker`'s is left alone. Returns how many were recorded.
    async fn record_deliveries(
        &self,
        worker: &str,
        deliveries: &[(i64, Delivery)],
        at: OffsetDateTime,
    ) -> Result<u64, StoreError>;

    /// Messages whose node stopped while handing them to their channel (their claim ran out
    /// while `sending`): each is marked failed, since it may have left, with a notification to
    /// the agents on its case. Returns them.
    async fn settle_interrupted(&self, now: OffsetDateTime) -> Result<Vec<OutboxMessage>, StoreError>;

    /// A channel's report on a message it took (named by its id there, the outbox `note`):
    /// `delivered`, or failed with the reason. True when a sent message matched.
    async fn delivery_report(
        &self,
        channel: Channel,
        provider_id: &str,
        delivered: bool,
        error: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// The outbox by channel and status, for `/metrics`.
    async fn outbox_counts(&self) -> Result<Vec<(Channel, OutboxStatus, i64)>, StoreError>;

    /// Where an answer on the case goes in its conversation on `channel`.
    async fn reply_thread(&self, case_id: i64, channel: Channel) -> Result<ReplyThread, StoreError>;

    /// Merges customer `from` into `into`: its identities, cases, opportunities and history move,
    /// `into` gets what it lacked (name, followers, locale; VIP if either was), and `from` keeps
    /// its row with where it went (looking it up finds `into`). An event on both records.
    async fn merge_customers(&self, into: i64, from: i64, stamp: Stamp) -> Result<Customer, StoreError>;

    /// Adds an identity to a customer; `Conflict` when it is another customer's.
    async fn add_identity(
        &self,
        customer_id: i64,
        identity: &otklik_core::Identity,
        stamp: Stamp,
    ) -> Result<Customer, StoreError>;

    /// Subscribes `url` to `events`; it hears what happens from now on.
    async fn create_webhook(
        &self,
        url: &str,
        secret: &str,
        events: &[String],
        at: OffsetDateTime,
    ) -> Result<WebhookRecord, StoreError>;

    async fn webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError>;

    /// Stops a subscription; false when it had stopped already (or never was).
    async fn deactivate_webhook(&self, id: i64) -> Result<bool, StoreError>;

    /// Claims the active subscriptions due at `now` for `worker` until `lease_until`.
    async fn claim_webhooks(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Vec<WebhookRecord>, StoreError>;

    /// The case events after `after` that happened before `settled_before` (a transaction
    /// still open may yet commit an event with a lower id), oldest first.
    async fn hook_events(
        &self,
        after: i64,
        settled_before: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<HookEvent>, StoreError>;

    /// Records where a claimed subscriber got to and releases it: its cursor, how many events
    /// were delivered, and the failure holding it (error, tries, when to try again), if any.
    async fn webhook_progress(
        &self,
        id: i64,
        worker: &str,
        cursor: i64,
        delivered: i64,
        failure: Option<(&str, u32, OffsetDateTime)>,
    ) -> Result<bool, StoreError>;

    /// Takes a public case private: the brand's line `template` is queued for the public post,
    /// the case stops being public, an event says so. False when it was private already.
    async fn move_to_private(&self, case_id: i64, template: &str, stamp: Stamp) -> Result<bool, StoreError>;

    /// Links a case to the parent case of its public incident (`Some((id, reference))`), or
    /// unlinks it (`None`), with an event on both; its own clocks stop while it is linked.
    /// False when nothing changed. Conflict when the parent is linked itself, the case is a
    /// parent, or it is linked to another parent.
    async fn link_case(
        &self,
        case_id: i64,
        parent: Option<(i64, String)>,
        reference: &str,
        stamp: Stamp,
    ) -> Result<bool, StoreError>;

    /// The aggregates of the cases created in `[from, to)` (and of ratings, NPS answers and
    /// compensation given in it) that every report is computed from.
    async fn report_rows(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<ReportRows, StoreError>;

    /// The newest `limit` complaints created in `[from, to)` (hidden ones left out): their ids
    /// and the text each began with, for the rising topics.
    async fn complaint_texts(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<(i64, String)>, StoreError>;

    /// Up to `limit` cases created in `[from, to)` with ids above `after`, by id: an export's page.
    async fn export_cases(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Case>, StoreError>;

    /// Up to `limit` complaints created in `[from, to)` worth a manager's reading: the most
    /// clocks breached, then the most urgent, then the lowest rated (hidden and linked ones left
    /// out).
    async fn worth_reading(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<WorthReading>, StoreError>;

    /// Erases a customer's personal data (and that of the records merged into it): see
    /// `sql::erase`. `Conflict` when the customer was merged into another. With
    /// `closed_before` (retention), nothing is done (all zero) unless, under the customer's
    /// lock, they are not erased yet and every case of theirs was closed before it: two nodes
    /// applying retention at once erase a customer once, and one who just wrote again is kept.
    async fn erase_customer(
        &self,
        id: i64,
        stamp: Stamp,
        closed_before: Option<OffsetDateTime>,
    ) -> Result<Erased, StoreError>;

    /// Customers whose every case was closed or resolved before `before`, whose personal data
    /// is not erased yet: up to `limit`, for retention.
    async fn customers_to_forget(&self, before: OffsetDateTime, limit: u32) -> Result<Vec<i64>, StoreError>;

    /// Seals up to `limit` events written before `before` onto their cases' chains.
    async fn seal_events(&self, before: OffsetDateTime, limit: u32) -> Result<u64, StoreError>;

    /// Checks every case's chain of events.
    async fn verify_events(&self) -> Result<AuditReport, StoreError>;

    /// Whether the weekly digest starting on `from` was recorded (by any node).
    async fn digest_recorded(&self, from: time::Date) -> Result<bool, StoreError>;

    /// Records the weekly digest of `from`–`to` once, queueing its letters on e-mail and its
    /// notices in the workspace in the same transaction; `None` when it was recorded already.
    async fn record_digest(
        &self,
        from: time::Date,
        to: time::Date,
        letters: &[DigestLetter],
        at: OffsetDateTime,
    ) -> Result<Option<i64>, StoreError>;

    /// A recorded digest; `NotFound` when there is none with that id.
    async fn digest(&self, id: i64) -> Result<DigestRecord, StoreError>;

    /// A person by id; `NotFound` when there is none.
    async fn user(&self, id: i64) -> Result<UserRecord, StoreError>;

    /// The cases linked to `parent` (comments on its public incident), oldest first.
    async fn linked_cases(&self, parent: i64) -> Result<Vec<Case>, StoreError>;

    /// Open public cases a case may pile on to: under the same post at the source, created
    /// since `since`, or at the same location, created since `near`.
    async fn pile_on_candidates(
        &self,
        case: &Case,
        since: OffsetDateTime,
        near: OffsetDateTime,
    ) -> Result<Vec<PileOnCandidate>, StoreError>;

    /// Starts an NPS campaign: a request for each of `customers` (each once) and its message
    /// queued on `channel`.
    async fn create_nps_campaign(
        &self,
        name: &str,
        channel: Channel,
        customers: &[i64],
        stamp: Stamp,
    ) -> Result<NpsCampaign, StoreError>;

    async fn nps_campaigns(&self) -> Result<Vec<NpsCampaign>, StoreError>;

    /// A campaign; `NotFound` when there is none with that id.
    async fn nps_campaign(&self, id: i64) -> Result<NpsCampaign, StoreError>;

    /// A request; `NotFound` when there is none with that id.
    async fn nps_request(&self, id: i64) -> Result<NpsRequest, StoreError>;

    /// The newest unanswered request that left for the holder of `identity` on `channel` at
    /// or after `since`: what a lone number they send now answers.
    async fn awaiting_nps(
        &self,
        channel: Channel,
        identity: &otklik_core::Identity,
        since: OffsetDateTime,
    ) -> Result<Option<NpsRequest>, StoreError>;

    /// Records the answer to a request, with the answering message's id at its source, if it
    /// has one; false when the request was answered already.
    async fn answer_nps(
        &self,
        request_id: i64,
        score: u8,
        answer_ref: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// The request a message with this id at its source answered, if one did.
    async fn nps_answered_by(&self, channel: Channel, answer_ref: &str) -> Result<Option<NpsRequest>, StoreError>;

    /// Chases the open tasks whose day (`due_on`) ended before `today`: each reminds its
    /// assignee once (the case's agents when it has none), and one still open `escalate_after`
    /// the reminder is escalated to the managers, once. Returns how many were reminded and
    /// escalated by this call.
    async fn chase_overdue_tasks(
        &self,
        today: time::Date,
        now: OffsetDateTime,
        escalate_after: time::Duration,
    ) -> Result<(u32, u32), StoreError>;

    /// Leaves a notification about a case (a channel that is failing, say), or about none.
    async fn notify(
        &self,
        recipient: &Recipient,
        case_id: Option<i64>,
        what: &str,
        body: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Sets a setting (a channel's position at its source, such as Telegram's update offset).
    async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError>;

    /// Records a failed run: the job is tried again at `retry_at`, or given up when `retry_at`
    /// is none.
    async fn fail_job(
        &self,
        job_id: i64,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError>;
}

/// Opens the store a database URL names: `postgres://…` or `sqlite://…` (created if missing).
pub async fn open(database_url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>, StoreError> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::connect(database_url, options).await?))
    } else if database_url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::connect(database_url, options).await?))
    } else {
        Err(StoreError::Config(format!(
            "database URL must start with sqlite:// or postgres://, got `{}`",
            database_url.split(':').next().unwrap_or_default()
        )))
    }
}

/// How a store opens its database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOptions {
    /// SQLite only: `full` syncs every commit to disk (survives power loss); `normal` syncs at
    /// checkpoints (survives a killed process, may lose the last commits on power loss).
    pub sqlite_synchronous: SqliteSync,
    /// Connections to keep for reading (SQLite) or in all (PostgreSQL).
    pub max_connections: u32,
    /// PostgreSQL only: the schema to keep Otklik's tables in (created if missing); the
    /// connection's default (`public`) when none.
    pub postgres_schema: Option<String>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { sqlite_synchronous: SqliteSync::Full, max_connections: 8, postgres_schema: None }
    }
}

/// SQLite's durability setting for commits in WAL mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SqliteSync {
    Normal,
    Full,
}

impl std::str::FromStr for SqliteSync {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "normal" => Ok(SqliteSync::Normal),
            "full" => Ok(SqliteSync::Full),
            other => Err(format!("sqlite synchronous must be `normal` or `full`, got `{other}`")),
        }
    }
}
