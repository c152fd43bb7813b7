//! Otklik's domain: the types every other crate speaks in. No I/O, no async, no SQL, no HTTP.

pub mod text;
