//! What a customer sees behind their status link. The customer never signs in: the link's
//! 128-bit secret is the right to see the case, so a malformed or unknown secret is simply "no
//! such case", and only what was said to the customer (never notes, never who did what inside)
//! is shown.

use otklik_core::{Case, Customer, Direction, Kind, Language, Status};
use time::OffsetDateTime;

use crate::{App, AppError};

/// A case as its customer may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerStatus {
    pub reference: String,
    pub kind: Kind,
    pub status: Status,
    pub received_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// The replies the customer was sent, oldest first.
    pub replies: Vec<(OffsetDateTime, String)>,
    /// The customer's language, for the page.
    pub language: Language,
    pub customer_name: Option<String>,
    /// When the earliest running clock falls due (the first answer, then the resolution).
    pub due_at: Option<OffsetDateTime>,
    /// The time zone of the case's location, when it has one of its own.
    pub time_zone: Option<String>,
}

/// The length of a status-link secret (128 bits in base64url).
const SECRET_CHARS: usize = 22;

impl App {
    /// The case a status link names. No actor: the secret is the right.
    pub async fn customer_status(&self, secret: &str) -> Result<CustomerStatus, AppError> {
        let well_formed =
            secret.len() == SECRET_CHARS && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let not_found = || AppError::NotFound("no case has this status link".into());
        if !well_formed {
            return Err(not_found());
        }
        let detail = self.store.case_by_status_token(secret).await?.ok_or_else(not_found)?;
        let time_zone = match &detail.case.location {
            Some(slug) => self.store.location(slug).await?.and_then(|location| location.time_zone),
            None => None,
        };
        Ok(CustomerStatus {
            customer_name: detail.customer.name.clone(),
            due_at: detail.case.due_at,
            time_zone,
            reference: detail.case.reference().to_string(),
            kind: detail.case.kind,
            status: detail.case.status,
            received_at: detail.case.created_at,
            updated_at: detail.case.updated_at,
            replies: detail
                .messages
                .into_iter()
                .filter(|message| message.direction == Direction::Outbound)
                .map(|message| (message.created_at, message.body))
                .collect(),
            language: customer_language(&detail.customer, &detail.case),
        })
    }
}

/// The language to address a customer in: their own setting, else the language they wrote in,
/// else Russian.
pub fn customer_language(customer: &Customer, case: &Case) -> Language {
    customer
        .locale
        .as_deref()
        .and_then(|locale| locale.get(..2))
        .and_then(|tag| tag.to_ascii_lowercase().parse::<Language>().ok())
        .or(case.language)
        .filter(|language| *language != Language::Other)
        .unwrap_or(Language::Ru)
}
