//! The source of the current time, injected wherever time matters so tests can move it.

use time::OffsetDateTime;

/// Tells the time. The real clock lives with the server; tests use a fixed or stepped one.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}
