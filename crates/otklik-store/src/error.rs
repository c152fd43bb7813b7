//! The one error type of the storage layer, mapped from sqlx so callers never see sqlx.

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The same idempotency key came back with a different request body.
    #[error("the Idempotency-Key was already used with a different request body")]
    IdempotencyMismatch,
    /// A value refers to something that does not exist (e.g. an unknown assignee).
    #[error("{0}")]
    Invalid(String),
    /// Something with this name already exists.
    #[error("{0} already exists")]
    Conflict(String),
    #[error("storage configuration: {0}")]
    Config(String),
    /// A stored value the domain cannot read: the database was changed behind Otklik's back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// An error from the SQLite intake writer, which talks to SQLite without sqlx.
    #[error("database error: {0}")]
    Sqlite(String),
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        StoreError::Sqlite(error.to_string())
    }
}

impl StoreError {
    /// True for a unique-constraint violation, which a caller may answer by reading again.
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}
