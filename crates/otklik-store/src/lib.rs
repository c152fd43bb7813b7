//! Otklik's storage: the `Store` trait in domain terms, and its two implementations — SQLite (the
//! embedded default) and PostgreSQL (several server nodes on one database). Both behave the same;
//! one test suite (`tests/suite.rs`) runs on both. No sqlx type crosses this crate's boundary.

mod error;
pub mod postgres;
mod records;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use otklik_core::{Case, CaseFilter, CasePatch, Customer, Event, Message, NewFeedback, NewMessage, Page, Role};
use time::OffsetDateTime;

pub use error::StoreError;

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
}

/// A customer with their cases on every channel, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerDetail {
    pub customer: Customer,
    pub cases: Vec<Case>,
}

/// An API token as the server sees it after the hash matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

/// A web user with the hash to check a password against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub password_hash: String,
}

/// A new case's secret and time, decided by the caller (the store makes no randomness or time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub at: OffsetDateTime,
    pub actor: String,
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
    /// current value of `field` (`kind` or `sentiment`) of every case with a `changed` event for
    /// that field.
    async fn corrected_labels(&self, field: &str) -> Result<Vec<(String, String)>, StoreError>;

    /// How many cases there are, hidden ones included.
    async fn case_count(&self) -> Result<i64, StoreError>;

    async fn case(&self, id: i64) -> Result<CaseDetail, StoreError>;

    async fn list_cases(&self, filter: &CaseFilter) -> Result<Page<Case>, StoreError>;

    async fn add_message(&self, case_id: i64, message: NewMessage, stamp: Stamp) -> Result<Message, StoreError>;

    /// Applies a patch; each changed field is an event in the same transaction.
    async fn update_case(&self, case_id: i64, patch: &CasePatch, stamp: Stamp) -> Result<CaseDetail, StoreError>;

    async fn customer(&self, id: i64) -> Result<CustomerDetail, StoreError>;

    async fn create_token(
        &self,
        name: &str,
        role: Role,
        token_hash: &str,
        at: OffsetDateTime,
    ) -> Result<i64, StoreError>;

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError>;

    async fn create_user(
        &self,
        username: &str,
        display_name: Option<&str>,
        role: Role,
        password_hash: &str,
        at: OffsetDateTime,
    ) -> Result<i64, StoreError>;

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;

    /// True when nobody can get in yet: no users and no tokens.
    async fn is_unclaimed(&self) -> Result<bool, StoreError>;
}

/// The query behind `Store::corrected_labels`, the same on both backends.
pub(crate) fn corrected_labels_sql(field: &str) -> Result<String, StoreError> {
    let column = match field {
        "kind" => "c.kind",
        "sentiment" => "c.sentiment",
        other => return Err(StoreError::Invalid(format!("cannot learn the field `{other}`"))),
    };
    Ok(format!(
        "SELECT m.body, {column} FROM cases c \
         JOIN messages m ON m.id = (SELECT min(id) FROM messages WHERE case_id = c.id) \
         WHERE {column} IS NOT NULL AND {column} <> 'unclassified' AND EXISTS \
         (SELECT 1 FROM events e WHERE e.case_id = c.id AND e.action = 'changed' AND e.field = $1) \
         ORDER BY c.id"
    ))
}

/// Opens the store a database URL names: `postgres://…` or `sqlite://…` (created if missing).
pub async fn open(database_url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>, StoreError> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(database_url, options).await?))
    } else if database_url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(database_url, options).await?))
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
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { sqlite_synchronous: SqliteSync::Full, max_connections: 8 }
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
