//! What an operation can fail with, in terms every caller can render: the JSON API as problem
//! documents, the pages as messages beside a form, a channel driver as a log line.

use otklik_core::standard::Finding;
use otklik_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not signed in, or a wrong name or password (which one is never said).
    #[error("{0}")]
    Unauthenticated(String),
    /// Too many attempts: wait and try again.
    #[error("{0}")]
    Throttled(String),
    /// The actor's role lacks the right, or the thing is not theirs.
    #[error("{0}")]
    Forbidden(String),
    /// What the request names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A value is wrong; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// Not possible in the current state; `allowed` lists what is.
    #[error("{detail}")]
    Conflict { detail: String, allowed: Vec<String> },
    /// Words for a customer that break the house standard (sent anyway only with an override).
    #[error("the words break the house standard")]
    Standard(Vec<Finding>),
    /// A failure that is not the caller's (the database, a broken invariant): logged in full by
    /// whoever renders it, shown only as an id.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    /// A store error met in the middle of an operation. `NotFound` here means something that
    /// was there a moment ago (or must be there) is missing: an internal error, not a 404 —
    /// the lookups that can miss map their own `NotFound`.
    fn from(error: StoreError) -> AppError {
        match error {
            StoreError::IdempotencyMismatch | StoreError::Invalid(_) => AppError::Invalid(error.to_string()),
            StoreError::Conflict(_) => AppError::Conflict { detail: error.to_string(), allowed: Vec::new() },
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// Maps a lookup's `NotFound` to a 404 naming what was asked for; anything else as usual.
pub(crate) fn missing(what: impl FnOnce() -> String) -> impl FnOnce(StoreError) -> AppError {
    move |error| match error {
        StoreError::NotFound(_) => AppError::NotFound(what()),
        other => other.into(),
    }
}
