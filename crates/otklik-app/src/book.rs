//! The public feedback forms: a location's complaint book (`/f/{slug}`, channel
//! `complaint_book`) and the general form (`/f`, channel `web`). Anyone may post one, so the
//! defences are here, where every caller meets them: a honeypot field, a signed fill-time token
//! (too fast is a robot; a day old is stale), size limits, and a per-address limit. A refused
//! entry stores nothing and says which defence refused it.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::OnceLock;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac};
use otklik_core::customer::contact_identities;
use otklik_core::{Channel, Kind, Language, NewCustomer, Role};
use sha2::Sha256;
use time::Duration;

use crate::intake::{Receipt, Submission};
use crate::{Actor, App, AppError};

/// A person takes at least this long to write feedback; a quicker post is a robot's.
pub const MIN_FILL_TIME: Duration = Duration::seconds(3);
/// A form older than this must be loaded again.
pub const MAX_FILL_TIME: Duration = Duration::hours(24);
/// The longest message a form takes, in characters.
pub const MAX_TEXT_CHARS: usize = 5_000;
/// The longest name or contact, in characters.
pub const MAX_FIELD_CHARS: usize = 200;
/// Entries one address may post: a burst of this many, then one every `60 / this` minutes…
pub const ENTRIES_PER_ADDRESS_PER_HOUR: u32 = 10;

/// What a customer filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormEntry {
    /// The location's slug; none for the general form.
    pub location: Option<String>,
    pub text: String,
    pub kind: Option<Kind>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub telegram: Option<String>,
    /// The language the form was shown in.
    pub language: Language,
    /// The honeypot: a field people never see, so never fill.
    pub trap: String,
    /// The token the form was shown with (`form_token`).
    pub started: String,
}

/// Why an entry was refused (nothing was stored).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormRefusal {
    #[error("the hidden field was filled in")]
    Trap,
    #[error("the form was sent too quickly after it was opened")]
    TooFast,
    #[error("the form is out of date or was not made here")]
    Stale,
    #[error("a field is too long")]
    TooLarge,
    #[error("too many messages from this address")]
    TooMany,
    #[error("the message is empty")]
    Empty,
    #[error("a contact is not valid: {0}")]
    Contact(String),
    #[error("no such location, or its book is closed")]
    NoLocation,
}

impl FormRefusal {
    /// A stable word for it (the pages' words are keyed by it).
    pub fn word(&self) -> &'static str {
        match self {
            FormRefusal::Trap => "trap",
            FormRefusal::TooFast => "fast",
            FormRefusal::Stale => "stale",
            FormRefusal::TooLarge => "large",
            FormRefusal::TooMany => "many",
            FormRefusal::Empty => "empty",
            FormRefusal::Contact(_) => "contact",
            FormRefusal::NoLocation => "location",
        }
    }
}

/// A refused entry, or a failure that is not the customer's.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error(transparent)]
    Refused(FormRefusal),
    #[error(transparent)]
    Failed(AppError),
}

impl From<AppError> for FormError {
    fn from(error: AppError) -> FormError {
        FormError::Failed(error)
    }
}

fn limiter() -> &'static DefaultKeyedRateLimiter<IpAddr> {
    static LIMITER: OnceLock<DefaultKeyedRateLimiter<IpAddr>> = OnceLock::new();
    LIMITER.get_or_init(|| {
        let burst = NonZeroU32::new(ENTRIES_PER_ADDRESS_PER_HOUR).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(std::time::Duration::from_secs(3600 / u64::from(burst.get())))
            .unwrap_or_else(|| Quota::per_hour(burst))
            .allow_burst(burst);
        RateLimiter::keyed(quota)
    })
}

/// Fails with `TooLarge` when a field is over `max` characters; blank is absent.
fn field(value: Option<String>, max: usize) -> Result<Option<String>, FormRefusal> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    match &value {
        Some(v) if v.chars().count() > max => Err(FormRefusal::TooLarge),
        _ => Ok(value),
    }
}

impl App {
    /// The key that signs the forms' tokens: made once and shared by every node.
    async fn form_key(&self) -> Result<Vec<u8>, AppError> {
        let key = self.store.setting("form_key", &crate::mint_link_secret).await?;
        Ok(key.into_bytes())
    }

    fn signature(key: &[u8], issued: i64, location: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
        mac.update(format!("{issued}.{location}").as_bytes());
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The token a form is shown with: when, for which location, signed.
    pub async fn form_token(&self, location: Option<&str>) -> Result<String, AppError> {
        let issued = self.clock.now().unix_timestamp();
        let signature = Self::signature(&self.form_key().await?, issued, location.unwrap_or(""));
        Ok(format!("{issued}.{signature}"))
    }

    /// Takes a customer's entry from a public form. The form's defences come first; an entry
    /// that passes them is submitted like any other feedback, from the location's book.
    pub async fn submit_form(&self, entry: FormEntry, address: IpAddr) -> Result<Receipt, FormError> {
        let refuse = |refusal| Err(FormError::Refused(refusal));
        if !entry.trap.trim().is_empty() {
            return refuse(FormRefusal::Trap);
        }
        let slug = entry.location.clone();
        let (issued, signature) = entry.started.split_once('.').unwrap_or(("", ""));
        let issued: i64 = issued.parse().unwrap_or(i64::MIN);
        let expected = Self::signature(&self.form_key().await?, issued, slug.as_deref().unwrap_or(""));
        let age = self.clock.now().unix_timestamp().saturating_sub(issued);
        if signature != expected || age > MAX_FILL_TIME.whole_seconds() || age < -60 {
            return refuse(FormRefusal::Stale);
        }
        if age < MIN_FILL_TIME.whole_seconds() {
            return refuse(FormRefusal::TooFast);
        }
        if entry.text.chars().count() > MAX_TEXT_CHARS {
            return refuse(FormRefusal::TooLarge);
        }
        let text = entry.text.trim().to_owned();
        if text.is_empty() {
            return refuse(FormRefusal::Empty);
        }
        let name = field(entry.name, MAX_FIELD_CHARS).map_err(FormError::Refused)?;
        let [phone, email, telegram] = [entry.phone, entry.email, entry.telegram].map(|v| field(v, MAX_FIELD_CHARS));
        let (phone, email, telegram) = (
            phone.map_err(FormError::Refused)?,
            email.map_err(FormError::Refused)?,
            telegram.map_err(FormError::Refused)?,
        );
        let identities = contact_identities(phone.as_deref(), email.as_deref(), telegram.as_deref())
            .map_err(|e| FormError::Refused(FormRefusal::Contact(e.to_string())))?;
        let location = match &slug {
            Some(slug) => Some(self.open_location(slug).await?.ok_or(FormError::Refused(FormRefusal::NoLocation))?),
            None => None,
        };
        // Counted last, so that a mistake the customer fixes does not use up their allowance.
        if limiter().check_key(&address).is_err() {
            return refuse(FormRefusal::TooMany);
        }
        let actor = Actor {
            name: location.as_ref().map_or_else(|| "web form".to_owned(), |l| format!("complaint book {}", l.slug)),
            role: Role::Intake,
            scope: format!("form:{}", slug.as_deref().unwrap_or("web")),
            person: None,
        };
        let submission = Submission {
            text,
            channel: if location.is_some() { Channel::ComplaintBook } else { Channel::Web },
            subject: None,
            customer: NewCustomer { name, identities, followers: None, locale: Some(entry.language.to_string()) },
            location: location.map(|l| l.slug),
            product: None,
            public: false,
            kind: entry.kind,
            external_id: None,
        };
        Ok(self.submit(&actor, submission, None).await?)
    }
}
