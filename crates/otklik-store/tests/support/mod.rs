//! What the storage suite shares with the server's tests.
pub mod postgres;
