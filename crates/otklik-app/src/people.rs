//! People and their sessions: signing in and out, passwords and the one-time links that set them,
//! and an admin's management of who may sign in with which role. Sessions live in the database
//! (only the digest of the cookie's secret is stored), so any node serves any request; the web
//! pages call these operations and only set and read the cookie.

use std::num::NonZeroU32;
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use otklik_core::{Language, Right, Role};
use otklik_store::{SessionRecord, StoreError, TokenInfo, UserPatch, UserRecord};
use sha2::{Digest, Sha256};
use time::Duration;

use crate::{Actor, App, AppError, input};

/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);
/// How long a link to set a password stays usable.
pub const PASSWORD_LINK_LIFETIME: Duration = Duration::hours(72);
/// The shortest password a person may choose.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Sign-in attempts per account per minute (a burst of this many, then one every
/// 60 / this seconds).
pub const ATTEMPTS_PER_ACCOUNT_PER_MINUTE: u32 = 5;
/// Sign-in attempts per address per minute.
pub const ATTEMPTS_PER_ADDRESS_PER_MINUTE: u32 = 20;

/// An argon2id hash of a password, in the PHC string format.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())?;
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// True when the password matches a hash made by `hash_password`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A random password (the first administrator's).
pub fn mint_password() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>())
}

/// A secret for a cookie or a link: 256 random bits, base64url.
fn mint_secret() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The prefix every API token starts with, so a leaked one is easy to recognise.
pub const TOKEN_PREFIX: &str = "otk_";

/// A new API token and the digest to store for it. The token is shown once and never stored.
pub fn mint_token() -> (String, String) {
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()));
    let digest = secret_digest(&token);
    (token, digest)
}

/// What the database keeps of a secret: its SHA-256, hex.
pub fn secret_digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A hash no password matches, checked for an unknown or inactive person so that a wrong name
/// takes as long as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password(&mint_secret()).unwrap_or_default())
}

/// The limits on sign-in attempts, per account and per address, kept by each node.
pub struct SignInLimits {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<String>,
}

impl Default for SignInLimits {
    fn default() -> SignInLimits {
        let quota = |per_minute: u32| Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        SignInLimits {
            per_account: RateLimiter::keyed(quota(ATTEMPTS_PER_ACCOUNT_PER_MINUTE)),
            per_address: RateLimiter::keyed(quota(ATTEMPTS_PER_ADDRESS_PER_MINUTE)),
        }
    }
}

/// A signed-in session: the secret for the cookie (shown only now) and what the session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub secret: String,
    pub session: SessionRecord,
}

/// A person an admin created, with the link to set their first password (shown only now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    pub user: UserRecord,
    pub link_secret: String,
}

/// The actor a session acts as.
pub fn session_actor(session: &SessionRecord) -> Actor {
    let username = session.user.username.clone();
    Actor {
        name: username.clone(),
        role: session.user.role,
        scope: format!("user:{}", session.user.id),
        person: Some(username),
    }
}

impl App {
    /// Signs a person in. A wrong password, an unknown name and a deactivated person all get
    /// the same answer after the same work (one argon2 check); too many attempts for the
    /// account or from the address are refused before any check.
    pub async fn sign_in(&self, username: &str, password: &str, address: &str) -> Result<SignedIn, AppError> {
        let username = username.trim();
        let limits = &self.sign_in_limits;
        if limits.per_address.check_key(&address.to_owned()).is_err()
            || limits.per_account.check_key(&username.to_lowercase()).is_err()
        {
            return Err(AppError::Throttled("too many sign-in attempts; wait a minute and try again".into()));
        }
        let user = self.store.user_by_name(username).await?;
        let hash = user.as_ref().filter(|user| user.active).map_or(decoy_hash(), |user| user.password_hash.as_str());
        let matches = verify_password(password, hash);
        let Some(user) = user.filter(|user| user.active && matches) else {
            return Err(AppError::Unauthenticated("wrong username or password".into()));
        };
        let now = self.clock.now();
        let (secret, csrf_token) = (mint_secret(), mint_secret());
        self.store
            .create_session(&user.username, &secret_digest(&secret), &csrf_token, now, now + SESSION_LIFETIME)
            .await?;
        let session = SessionRecord { user, csrf_token, created_at: now, expires_at: now + SESSION_LIFETIME };
        Ok(SignedIn { secret, session })
    }

    /// The session a cookie's secret names, while it lasts and its person is active.
    pub async fn session(&self, secret: &str) -> Result<Option<SessionRecord>, AppError> {
        Ok(self.store.session(&secret_digest(secret), self.clock.now()).await?)
    }

    /// Ends the session (signing out).
    pub async fn sign_out(&self, secret: &str) -> Result<(), AppError> {
        self.store.end_session(&secret_digest(secret)).await?;
        Ok(())
    }

    /// Changes the signed-in person's password, given the current one; their other sessions end.
    pub async fn change_password(&self, secret: &str, current: &str, new: &str) -> Result<(), AppError> {
        let session = self.session(secret).await?.ok_or_else(|| AppError::Unauthenticated("not signed in".into()))?;
        if !verify_password(current, &session.user.password_hash) {
            return Err(AppError::Invalid("current password: it is not the current password".into()));
        }
        let hash = new_password_hash(new)?;
        self.store.set_password(&session.user.username, &hash, Some(&secret_digest(secret))).await?;
        Ok(())
    }

    /// Sets a password with a one-time link (a new person's first, or one an admin sent);
    /// the person's sessions end. The link works once, within its lifetime.
    pub async fn set_password_with_link(&self, link_secret: &str, new: &str) -> Result<String, AppError> {
        let hash = new_password_hash(new)?;
        let username =
            self.store.use_password_link(&secret_digest(link_secret), self.clock.now()).await?.ok_or_else(|| {
                AppError::NotFound("this link was used already or has expired; ask for a new one".into())
            })?;
        self.store.set_password(&username, &hash, None).await?;
        Ok(username)
    }

    /// Everyone who may sign in, or could.
    pub async fn people(&self, actor: &Actor) -> Result<Vec<UserRecord>, AppError> {
        actor.require(Right::ManagePeople)?;
        Ok(self.store.users().await?)
    }

    /// Creates a person with a role; they set their password with the link returned.
    pub async fn create_person(
        &self,
        actor: &Actor,
        username: &str,
        display_name: Option<String>,
        role: Role,
    ) -> Result<NewPerson, AppError> {
        actor.require(Right::ManagePeople)?;
        let username = username.trim();
        let well_formed = (2..=64).contains(&username.chars().count())
            && username.chars().all(|c| c.is_alphanumeric() || "._-".contains(c));
        if !well_formed {
            return Err(AppError::Invalid("username: 2 to 64 letters, digits, `.`, `_` or `-`".into()));
        }
        let display_name = input::line("display_name", display_name)?;
        let now = self.clock.now();
        // No password matches this until the person sets one with the link.
        let unusable = format!("!{}", mint_secret());
        self.store.create_user(username, display_name.as_deref(), role, &unusable, now).await.map_err(|error| {
            match error {
                StoreError::Conflict(_) => {
                    AppError::Conflict { detail: format!("username: `{username}` is taken"), allowed: Vec::new() }
                }
                other => other.into(),
            }
        })?;
        let link_secret = self.password_link(username).await?;
        let user = self
            .store
            .user_by_name(username)
            .await?
            .ok_or_else(|| AppError::Internal("a new person vanished".into()))?;
        Ok(NewPerson { user, link_secret })
    }

    /// A new one-time link for a person to set their password (an admin's reset).
    pub async fn reset_password(&self, actor: &Actor, username: &str) -> Result<String, AppError> {
        actor.require(Right::ManagePeople)?;
        self.password_link(username).await
    }

    /// Deactivates or reactivates a person; a deactivated one is signed out everywhere.
    pub async fn set_person_active(&self, actor: &Actor, username: &str, active: bool) -> Result<UserRecord, AppError> {
        actor.require(Right::ManagePeople)?;
        if !active && actor.person.as_deref() == Some(username) {
            return Err(AppError::Conflict { detail: "you cannot deactivate yourself".into(), allowed: Vec::new() });
        }
        self.store.set_user_active(username, active).await.map_err(|error| match error {
            StoreError::NotFound(_) => AppError::NotFound(format!("no person `{username}`")),
            other => other.into(),
        })
    }

    /// Changes a person's role, display name or e-mail address (where the weekly digest goes).
    /// An admin cannot take the admin role from
    /// themselves (someone must be left to give it back).
    pub async fn update_person(
        &self,
        actor: &Actor,
        username: &str,
        role: Option<Role>,
        display_name: Option<Option<String>>,
        email: Option<Option<String>>,
    ) -> Result<UserRecord, AppError> {
        actor.require(Right::ManagePeople)?;
        if role.is_some_and(|role| role != Role::Admin) && actor.person.as_deref() == Some(username) {
            return Err(AppError::Conflict {
                detail: "you cannot take the admin role from yourself".into(),
                allowed: Vec::new(),
            });
        }
        if role == Some(Role::Intake) {
            return Err(AppError::Invalid("role: `intake` is for integrations' tokens, not for people".into()));
        }
        let display_name = match display_name {
            Some(name) => Some(input::line("display_name", name)?),
            None => None,
        };
        let email = email.map(|email| input::email("email", email)).transpose()?;
        let patch = UserPatch { role, display_name, email, ..UserPatch::default() };
        self.store.update_user(username, &patch).await.map_err(|error| match error {
            StoreError::NotFound(_) => AppError::NotFound(format!("no person `{username}`")),
            other => other.into(),
        })
    }

    /// A person's own choices: the language of their pages (`None`: the browser's), their
    /// time zone (an IANA name; `None`: the business's) and, when given, their e-mail address
    /// (`Some(None)` removes it).
    pub async fn set_preferences(
        &self,
        actor: &Actor,
        language: Option<Language>,
        time_zone: Option<String>,
        email: Option<Option<String>>,
    ) -> Result<UserRecord, AppError> {
        let Some(username) = &actor.person else {
            return Err(AppError::Forbidden("only a person has preferences".into()));
        };
        if language == Some(Language::Other) {
            return Err(AppError::Invalid("language: ru, uk or en".into()));
        }
        let time_zone = self.time_zone(time_zone)?;
        let email = email.map(|email| input::email("email", email)).transpose()?;
        let patch = UserPatch { language: Some(language), time_zone: Some(time_zone), email, ..UserPatch::default() };
        Ok(self.store.update_user(username, &patch).await?)
    }

    /// Every API token, revoked ones too.
    pub async fn tokens(&self, actor: &Actor) -> Result<Vec<TokenInfo>, AppError> {
        actor.require(Right::ManagePeople)?;
        Ok(self.store.tokens().await?)
    }

    /// Creates an API token for an integration or a person; the token is returned once and
    /// never stored.
    pub async fn create_token(
        &self,
        actor: &Actor,
        name: &str,
        role: Role,
        person: Option<String>,
    ) -> Result<(i64, String), AppError> {
        actor.require(Right::ManagePeople)?;
        let name = input::line("name", Some(name.to_owned()))?
            .ok_or_else(|| AppError::Invalid("name: must not be blank".into()))?;
        let person = input::line("person", person)?;
        if let Some(person) = &person
            && self.store.user_by_name(person).await?.is_none()
        {
            return Err(AppError::Invalid(format!("person: no person `{person}`")));
        }
        let (token, digest) = mint_token();
        let id = self.store.create_token(&name, role, person.as_deref(), &digest, self.clock.now()).await?;
        Ok((id, token))
    }

    /// Revokes a token; false when it was revoked already.
    pub async fn revoke_token(&self, actor: &Actor, id: i64) -> Result<bool, AppError> {
        actor.require(Right::ManagePeople)?;
        self.store.revoke_token(id, self.clock.now()).await.map_err(|error| match error {
            StoreError::NotFound(_) => AppError::NotFound(format!("no token {id}")),
            other => other.into(),
        })
    }

    async fn password_link(&self, username: &str) -> Result<String, AppError> {
        let (secret, now) = (mint_secret(), self.clock.now());
        self.store
            .create_password_link(username, &secret_digest(&secret), now, now + PASSWORD_LINK_LIFETIME)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => AppError::NotFound(format!("no person `{username}`")),
                other => other.into(),
            })?;
        Ok(secret)
    }
}

/// The hash of a new password, if it is long enough.
fn new_password_hash(password: &str) -> Result<String, AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::Invalid(format!("new password: at least {MIN_PASSWORD_CHARS} characters")));
    }
    hash_password(password).map_err(|error| AppError::Internal(format!("cannot hash a password: {error}")))
}
