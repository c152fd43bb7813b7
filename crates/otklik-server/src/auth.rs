//! Who is calling: bearer tokens for integrations (stored as SHA-256 digests; a token is 256
//! random bits, so a fast digest is enough) and argon2 password hashes for people. Handlers take
//! a `Principal` and ask it for the right they need.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use otklik_app::Actor;
use otklik_store::{StoreError, TokenRecord};
use sha2::{Digest, Sha256};

use crate::problem::ApiError;
use crate::startup::AppState;

pub use otklik_app::people::{TOKEN_PREFIX, mint_token};

/// How long a verified token is trusted without asking the database again. A revoked token stops
/// working within this time on every node.
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(10);

/// The stored form of a token.
pub fn token_digest(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub use otklik_app::mint_link_secret;

pub use otklik_app::people::{hash_password, mint_password, verify_password};

/// The authenticated caller of a request: an [`Actor`] for the application layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(pub Actor);

impl std::ops::Deref for Principal {
    type Target = Actor;

    fn deref(&self) -> &Actor {
        &self.0
    }
}

/// Recently verified tokens, so a busy integration does not cost a database read per request.
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, (TokenRecord, Instant)>>,
}

impl TokenCache {
    fn get(&self, digest: &str) -> Option<TokenRecord> {
        let entries = self.entries.lock().ok()?;
        let (record, verified_at) = entries.get(digest)?;
        (verified_at.elapsed() < TOKEN_CACHE_TTL).then(|| record.clone())
    }

    fn put(&self, digest: String, record: TokenRecord) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 10_000 {
                entries.retain(|_, (_, verified_at)| verified_at.elapsed() < TOKEN_CACHE_TTL);
            }
            entries.insert(digest, (record, Instant::now()));
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Principal, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthorized("send `Authorization: Bearer <token>`".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| token.starts_with(TOKEN_PREFIX))
            .ok_or_else(|| ApiError::Unauthorized("the Authorization header is not `Bearer otk_…`".into()))?;
        let digest = token_digest(token);
        let record = match state.tokens.get(&digest) {
            Some(record) => record,
            None => {
                let record = match state.store().token_by_hash(&digest).await {
                    Ok(Some(record)) => record,
                    Ok(None) => return Err(ApiError::Unauthorized("the token is unknown or revoked".into())),
                    // A token whose stored role this version does not know grants nothing.
                    Err(StoreError::Corrupt(what)) => {
                        tracing::warn!(%what, "a stored token cannot be read; refusing it");
                        return Err(ApiError::Unauthorized("the token is unknown or revoked".into()));
                    }
                    Err(other) => return Err(other.into()),
                };
                state.tokens.put(digest, record.clone());
                record
            }
        };
        Ok(Principal(Actor {
            scope: format!("token:{}", record.id),
            name: record.user.clone().unwrap_or(record.name),
            role: record.role,
            person: record.user,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_digested() {
        let (token, digest) = mint_token();
        let (other, _) = mint_token();
        assert!(token.starts_with(TOKEN_PREFIX));
        assert_eq!(token.len(), TOKEN_PREFIX.len() + 43);
        assert_ne!(token, other);
        assert_eq!(digest, token_digest(&token));
        assert_eq!(digest.len(), 64);
    }

    #[test]
    fn link_secrets_carry_128_bits() {
        assert_eq!(mint_link_secret().len(), 22);
        assert_ne!(mint_link_secret(), mint_link_secret());
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
