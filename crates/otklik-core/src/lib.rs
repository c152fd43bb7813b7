//! Otklik's domain: the types every other crate speaks in. No I/O, no async, no SQL, no HTTP.

pub mod case;
pub mod clock;
pub mod customer;
pub mod standard;
pub mod text;
pub mod vocab;

pub use case::{
    Case, CaseFilter, CasePatch, CaseRef, Cursor, Event, FieldChange, Message, NewFeedback, NewMessage, Page,
};
pub use clock::Clock;
pub use customer::{Customer, Identity, IdentityKind, NewCustomer};
pub use vocab::{Audience, Channel, Direction, Kind, Language, Priority, Role, Sentiment, Status, UnknownWord};
