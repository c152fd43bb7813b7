//! The one error type of the storage layer. Database errors are turned into text here, so no
//! sqlx or rusqlite type crosses the crate's boundary.

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
    /// Something with this name already exists, or the record changed meanwhile.
    #[error("{0} already exists")]
    Conflict(String),
    #[error("storage configuration: {0}")]
    Config(String),
    /// A stored value the domain cannot read: the database was changed behind Otklik's back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// Something the store itself guarantees did not hold (a row its own write just made is
    /// missing): a bug, never the caller's fault.
    #[error("storage invariant broken: {0}")]
    Internal(String),
    #[error("database error: {0}")]
    Database(DatabaseError),
    #[error("migration error: {0}")]
    Migration(String),
}

/// An error the database reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DatabaseError {
    pub message: String,
    /// A unique index refused the write (another writer stored the same key first).
    pub unique_violation: bool,
    /// The database gave up on the transaction for another one's sake (a deadlock or a
    /// serialization failure): trying it again may succeed.
    pub transient: bool,
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        let (unique_violation, transient) = match &error {
            sqlx::Error::Database(e) => {
                (e.is_unique_violation(), matches!(e.code().as_deref(), Some("40001") | Some("40P01")))
            }
            _ => (false, false),
        };
        StoreError::Database(DatabaseError { message: error.to_string(), unique_violation, transient })
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> StoreError {
        StoreError::Migration(error.to_string())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        let unique_violation = matches!(
            &error,
            rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        );
        StoreError::Database(DatabaseError { message: error.to_string(), unique_violation, transient: false })
    }
}

impl StoreError {
    /// True for a unique-constraint violation, which a caller may answer by reading again.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(DatabaseError { unique_violation: true, .. }))
    }

    /// True when the same write may succeed if tried again: it lost a race on a unique index,
    /// or the database chose it as a deadlock's victim.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Database(DatabaseError { unique_violation: true, .. } | DatabaseError { transient: true, .. })
        )
    }
}
