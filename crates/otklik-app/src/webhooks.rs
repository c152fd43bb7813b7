//! Outbound webhooks: the business's own systems (a CRM, BI) subscribe to case events —
//! `case.created`, `case.step`, `case.resolved`, `case.rated` — and every node's worker delivers
//! them, signed, in order, each once, retried with doubling waits. Admins manage them.

use otklik_core::Right;
use otklik_store::WebhookRecord;

use crate::intake::mint_link_secret;
use crate::{Actor, App, AppError, input};

/// The events a subscription may name.
pub const HOOK_EVENTS: [&str; 4] = ["case.created", "case.step", "case.resolved", "case.rated"];

impl App {
    /// Subscribes `url` to `events`; the secret deliveries are signed with is `secret`, or a new
    /// random one. Returned with the secret, the only time it is shown.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        url: &str,
        events: &[String],
        secret: Option<String>,
    ) -> Result<WebhookRecord, AppError> {
        actor.require(Right::ManagePeople)?;
        let url = input::line("url", Some(url.to_owned()))?.unwrap_or_default();
        let parsed = url::Url::parse(&url).map_err(|error| AppError::Invalid(format!("url: {error}")))?;
        if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none_or(str::is_empty) {
            return Err(AppError::Invalid("url: must be an http:// or https:// address".into()));
        }
        if events.is_empty() {
            return Err(AppError::Invalid(format!("events: name at least one of {}", HOOK_EVENTS.join(", "))));
        }
        let mut named: Vec<String> = Vec::new();
        for event in events {
            if !HOOK_EVENTS.contains(&event.as_str()) {
                return Err(AppError::Invalid(format!("events: `{event}` is not one of {}", HOOK_EVENTS.join(", "))));
            }
            if !named.contains(event) {
                named.push(event.clone());
            }
        }
        let secret = match secret {
            Some(secret) if secret.chars().count() < 16 || secret.chars().count() > 200 => {
                return Err(AppError::Invalid("secret: 16 to 200 characters".into()));
            }
            Some(secret) => secret,
            None => mint_link_secret(),
        };
        Ok(self.store.create_webhook(&url, &secret, &named, self.clock.now()).await?)
    }

    /// Every subscription, stopped ones too, with how its deliveries go.
    pub async fn webhooks(&self, actor: &Actor) -> Result<Vec<WebhookRecord>, AppError> {
        actor.require(Right::ManagePeople)?;
        Ok(self.store.webhooks().await?)
    }

    /// Stops a subscription; false when it had stopped already.
    pub async fn remove_webhook(&self, actor: &Actor, id: i64) -> Result<bool, AppError> {
        actor.require(Right::ManagePeople)?;
        if !self.store.webhooks().await?.iter().any(|hook| hook.id == id) {
            return Err(AppError::NotFound(format!("no webhook `{id}`")));
        }
        Ok(self.store.deactivate_webhook(id).await?)
    }
}
