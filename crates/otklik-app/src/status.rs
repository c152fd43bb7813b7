//! What a customer sees behind their status link. The customer never signs in: the link's
//! 128-bit secret is the right to see the case, so a malformed, unknown, revoked or expired
//! secret is simply "no such case"; only the conversation with the customer (never notes, never
//! who did what inside) is shown. The customer writes back and rates a resolved case from it.

use otklik_core::{Case, Customer, Direction, Kind, Language, NewMessage, Right, Status};
use otklik_store::{CaseDetail, Stamp, StoreError};
use time::OffsetDateTime;

use crate::{Actor, App, AppError};

/// A case as its customer may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerStatus {
    pub reference: String,
    pub kind: Kind,
    pub status: Status,
    pub received_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// The conversation the customer sees, oldest first: when, whether the customer wrote it,
    /// and the words (never staff notes).
    pub conversation: Vec<(OffsetDateTime, bool, String)>,
    /// The customer may rate the case now (resolved, not rated yet).
    pub may_rate: bool,
    /// The customer's rating, once given.
    pub rating: Option<u8>,
    /// The first name of the person handling the case, when they gave a display name (never
    /// a username or a contact); the team otherwise.
    pub handler: Option<String>,
    /// The customer's language, for the page.
    pub language: Language,
    pub customer_name: Option<String>,
    /// When the earliest running clock falls due (the first answer, then the resolution).
    pub due_at: Option<OffsetDateTime>,
    /// The time zone its times are shown in: the case's location's, else the business's.
    pub time_zone: String,
}

/// The length of a status-link secret (128 bits in base64url).
const SECRET_CHARS: usize = 22;

impl App {
    /// The case a status link names, while the link is good: well formed, known, not revoked,
    /// and not expired (`status_link_days` after the case was resolved). Every other link is
    /// the same "no such case".
    async fn status_case(&self, secret: &str) -> Result<CaseDetail, AppError> {
        let well_formed =
            secret.len() == SECRET_CHARS && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let not_found = || AppError::NotFound("no case has this status link".into());
        // One lookup whatever is wrong with the link (malformed, unknown, revoked, expired), so
        // that each takes as long as the others.
        let resolved_since = self.clock.now() - time::Duration::days(i64::from(self.status_link_days));
        let detail = self.store.case_by_status_token(if well_formed { secret } else { "-" }, resolved_since).await?;
        detail.filter(|_| well_formed).ok_or_else(not_found)
    }

    /// The case a status link names. No actor: the secret is the right.
    pub async fn customer_status(&self, secret: &str) -> Result<CustomerStatus, AppError> {
        let detail = self.status_case(secret).await?;
        let time_zone = self.zone_of_location(detail.case.location.as_deref()).await?;
        let rating = self.store.rating(detail.case.id).await?;
        let handler = match &detail.case.assignee {
            Some(username) => self
                .store
                .user_by_name(username)
                .await?
                .and_then(|user| user.display_name)
                .and_then(|name| name.split_whitespace().next().map(str::to_owned)),
            None => None,
        };
        let finished = matches!(detail.case.status, Status::Resolved | Status::Closed);
        Ok(CustomerStatus {
            customer_name: detail.customer.name.clone(),
            due_at: detail.case.due_at,
            time_zone,
            may_rate: finished && rating.is_none(),
            rating: rating.map(|(score, _)| score),
            handler,
            reference: detail.case.reference().to_string(),
            kind: detail.case.kind,
            status: detail.case.status,
            received_at: detail.case.created_at,
            updated_at: detail.case.updated_at,
            conversation: detail
                .messages
                .into_iter()
                .filter(|message| message.direction != Direction::Note)
                .map(|message| (message.created_at, message.direction == Direction::Inbound, message.body))
                .collect(),
            language: customer_language(&detail.customer, &detail.case),
        })
    }

    /// The customer writes on their case from the status page: an inbound message, which ends
    /// a wait on them.
    pub async fn customer_write(&self, secret: &str, text: &str) -> Result<(), AppError> {
        let case = self.status_case(secret).await?.case;
        let body = crate::input::text("text", text)?;
        if body.chars().count() > crate::book::MAX_TEXT_CHARS {
            return Err(AppError::Invalid(format!("text: at most {} characters", crate::book::MAX_TEXT_CHARS)));
        }
        let message = NewMessage {
            direction: Direction::Inbound,
            public: false,
            channel: case.channel,
            body,
            external_id: None,
            overridden: Vec::new(),
        };
        let stamp = Stamp { at: self.clock.now(), actor: "customer".into() };
        self.store.add_message(case.id, message, stamp).await?;
        Ok(())
    }

    /// The customer rates their resolved case, once: 1 to 5 and a comment (CSAT).
    pub async fn customer_rate(&self, secret: &str, score: u8, comment: Option<String>) -> Result<(), AppError> {
        let case = self.status_case(secret).await?.case;
        self.rate(&case, score, comment, Stamp { at: self.clock.now(), actor: "customer".into() }).await
    }

    /// A customer rates a case on a channel (a Telegram button): `identity` must be one of the
    /// case's customer's, so nobody rates a stranger's case.
    pub async fn channel_rate(
        &self,
        actor: &Actor,
        case_id: i64,
        identity: &otklik_core::Identity,
        score: u8,
    ) -> Result<(), AppError> {
        actor.require(Right::SubmitFeedback)?;
        let detail = self.store.case(case_id).await.map_err(|error| match error {
            StoreError::NotFound(_) => AppError::NotFound("case".into()),
            other => other.into(),
        })?;
        if !detail.customer.identities.contains(identity) {
            return Err(AppError::NotFound("case".into()));
        }
        self.rate(&detail.case, score, None, Stamp { at: self.clock.now(), actor: "customer".into() }).await
    }

    pub(crate) async fn rate(
        &self,
        case: &otklik_core::Case,
        score: u8,
        comment: Option<String>,
        stamp: Stamp,
    ) -> Result<(), AppError> {
        if !matches!(case.status, Status::Resolved | Status::Closed) {
            return Err(AppError::Conflict {
                detail: "a case is rated once it is resolved".into(),
                allowed: Vec::new(),
            });
        }
        if !(1..=5).contains(&score) {
            return Err(AppError::Invalid("score: 1 to 5".into()));
        }
        let comment = crate::input::optional_text("comment", comment)?;
        self.store.rate_case(case.id, score, comment.as_deref(), stamp).await.map_err(|error| match error {
            StoreError::Conflict(_) => {
                AppError::Conflict { detail: "the case is rated already".into(), allowed: Vec::new() }
            }
            other => other.into(),
        })
    }

    /// An agent revokes a case's status link: it then shows nothing, like a wrong one.
    pub async fn revoke_status_link(&self, actor: &Actor, raw: &str) -> Result<bool, AppError> {
        actor.require(Right::WorkCases)?;
        let case = self.case_state(raw).await?.case;
        Ok(self.store.revoke_status_link(case.id, actor.stamp(&*self.clock)).await?)
    }
}

/// The language to address a customer in: their own setting, else the language they wrote in,
/// else Russian.
pub fn customer_language(customer: &Customer, case: &Case) -> Language {
    locale_language(customer).or(case.language.filter(|language| *language != Language::Other)).unwrap_or(Language::Ru)
}

/// The language a customer's own setting names, if it names one we write in.
pub fn locale_language(customer: &Customer) -> Option<Language> {
    customer
        .locale
        .as_deref()
        .and_then(|locale| locale.get(..2))
        .and_then(|tag| tag.to_ascii_lowercase().parse::<Language>().ok())
        .filter(|language| *language != Language::Other)
}

/// A customer's address on a channel: their e-mail address, phone or Telegram chat (a numeric
/// id: a username is no chat to write to); none when they left none there, or the channel
/// writes to no one address.
pub fn customer_address(customer: &Customer, channel: otklik_core::Channel) -> Option<&otklik_core::Identity> {
    use otklik_core::{Channel, IdentityKind};
    let kind = match channel {
        Channel::Email => IdentityKind::Email,
        Channel::Sms => IdentityKind::Phone,
        Channel::Telegram => IdentityKind::Telegram,
        _ => return None,
    };
    customer.identities.iter().find(|identity| {
        identity.kind == kind && (kind != IdentityKind::Telegram || identity.value.parse::<i64>().is_ok())
    })
}
