//! Otklik's domain: the types every other crate speaks in. No I/O, no async, no SQL, no HTTP.

pub mod text;
pub mod vocab;

pub use vocab::{Audience, Channel, Direction, Kind, Language, Priority, Role, Sentiment, Status, UnknownWord};
