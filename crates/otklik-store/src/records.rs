//! Rows as both backends read them, and their conversion into domain types. A stored word that
//! the domain does not know is a `Corrupt` error, never a panic.

use std::str::FromStr;

use otklik_core::{Case, Customer, Event, Identity, IdentityKind, Message};
use time::OffsetDateTime;

use crate::StoreError;

pub(crate) fn millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_millis(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| StoreError::Corrupt(format!("timestamp {ms}")))
}

pub(crate) fn word<T: FromStr>(value: &str) -> Result<T, StoreError> {
    value.parse().map_err(|_| StoreError::Corrupt(format!("unknown stored word `{value}`")))
}

pub(crate) fn optional_word<T: FromStr>(value: Option<String>) -> Result<Option<T>, StoreError> {
    value.as_deref().map(word).transpose()
}

/// The columns of `cases` every case query selects, in `CaseRow` order; `{tags}` is the
/// backend's string aggregate of the case's tags.
/// `cases.due_at` of a case whose clocks are all stopped or met.
pub(crate) const NO_CLOCK: i64 = i64::MAX;

pub(crate) const CASE_COLUMNS: &str = "c.id, c.channel, c.kind, c.cause, c.audience, c.sentiment, c.language, \
     c.priority, c.status, c.stage, c.subject, c.location, c.product, c.assignee, c.public, c.hidden, \
     c.parent_id, c.external_id, c.customer_id, c.status_token, c.created_at, c.updated_at, c.due_at";

#[derive(sqlx::FromRow)]
pub(crate) struct CaseRow {
    id: i64,
    channel: String,
    kind: String,
    cause: Option<String>,
    audience: String,
    sentiment: Option<String>,
    language: Option<String>,
    priority: String,
    status: String,
    stage: String,
    subject: Option<String>,
    location: Option<String>,
    product: Option<String>,
    assignee: Option<String>,
    public: bool,
    hidden: bool,
    parent_id: Option<i64>,
    external_id: Option<String>,
    customer_id: i64,
    status_token: String,
    created_at: i64,
    updated_at: i64,
    due_at: i64,
    tags: Option<String>,
    employees: Option<String>,
}

impl CaseRow {
    pub(crate) fn into_case(self) -> Result<Case, StoreError> {
        let mut tags: Vec<String> =
            self.tags.unwrap_or_default().split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect();
        tags.sort();
        let mut employees: Vec<String> =
            self.employees.unwrap_or_default().split(',').filter(|e| !e.is_empty()).map(str::to_owned).collect();
        employees.sort();
        Ok(Case {
            id: self.id,
            channel: word(&self.channel)?,
            kind: word(&self.kind)?,
            cause: optional_word(self.cause)?,
            audience: word(&self.audience)?,
            sentiment: optional_word(self.sentiment)?,
            language: optional_word(self.language)?,
            priority: word(&self.priority)?,
            status: word(&self.status)?,
            stage: word(&self.stage)?,
            subject: self.subject,
            location: self.location,
            product: self.product,
            assignee: self.assignee,
            tags,
            employees,
            public: self.public,
            hidden: self.hidden,
            parent_id: self.parent_id,
            external_id: self.external_id,
            customer_id: self.customer_id,
            status_token: self.status_token,
            created_at: from_millis(self.created_at)?,
            updated_at: from_millis(self.updated_at)?,
            due_at: (self.due_at != NO_CLOCK).then(|| from_millis(self.due_at)).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CustomerRow {
    id: i64,
    name: Option<String>,
    followers: Option<i64>,
    vip: bool,
    locale: Option<String>,
    created_at: i64,
}

impl CustomerRow {
    pub(crate) fn into_customer(self, identities: Vec<IdentityRow>) -> Result<Customer, StoreError> {
        Ok(Customer {
            id: self.id,
            name: self.name,
            identities: identities.into_iter().map(IdentityRow::into_identity).collect::<Result<_, _>>()?,
            followers: self.followers,
            vip: self.vip,
            locale: self.locale,
            created_at: from_millis(self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct IdentityRow {
    kind: String,
    value: String,
}

impl IdentityRow {
    fn into_identity(self) -> Result<Identity, StoreError> {
        let kind = IdentityKind::parse_stored(&self.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("identity kind `{}`", self.kind)))?;
        Ok(Identity { kind, value: self.value })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    id: i64,
    direction: String,
    public: bool,
    channel: String,
    author: String,
    body: String,
    created_at: i64,
}

impl MessageRow {
    pub(crate) fn into_message(self) -> Result<Message, StoreError> {
        Ok(Message {
            id: self.id,
            direction: word(&self.direction)?,
            public: self.public,
            channel: word(&self.channel)?,
            author: self.author,
            body: self.body,
            created_at: from_millis(self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    field: Option<String>,
    old_value: Option<String>,
    new_value: Option<String>,
}

impl EventRow {
    pub(crate) fn into_event(self) -> Result<Event, StoreError> {
        Ok(Event {
            id: self.id,
            at: from_millis(self.at)?,
            actor: self.actor,
            action: self.action,
            field: self.field,
            old_value: self.old_value,
            new_value: self.new_value,
        })
    }
}

/// How a submission's identities find and join a customer (the same on both backends):
/// - an identity already known finds its customer (the first one found, if they name several);
///   with none known, a new customer is created with all of them;
/// - what is known about a found customer is never overwritten: a name, a follower count and a
///   language given with the submission only fill in what is empty;
/// - new identities given with a known one join that customer only when the source vouches for
///   them (`NewFeedback::vouched`); otherwise they are left unattached and recorded on the case
///   as `identity_unconfirmed` events, and the ones that join are recorded as `identity_added`.
pub(crate) const UPDATE_FOUND_CUSTOMER: &str = "UPDATE customers SET name = COALESCE(name, $2), \
     followers = COALESCE(followers, $3), locale = COALESCE(locale, $4) WHERE id = $1";

/// What became of a submission's new identities, for the case's events.
pub(crate) struct NewIdentities<'a> {
    pub(crate) identities: Vec<&'a otklik_core::Identity>,
    /// True when they joined the customer, false when they were left for an agent to confirm.
    pub(crate) attached: bool,
}

impl NewIdentities<'_> {
    /// The events to record on the case, as (action, value); none for a new customer, who was
    /// created with all of them.
    pub(crate) fn events(&self, returning: bool) -> Vec<(&'static str, String)> {
        if !returning {
            return Vec::new();
        }
        let action = if self.attached { "identity_added" } else { "identity_unconfirmed" };
        self.identities
            .iter()
            .map(|identity| (action, format!("{}:{}", identity.kind.as_str(), identity.value)))
            .collect()
    }
}

/// The event that says why new feedback came in hidden (triage was sure it is a troll's).
pub(crate) fn hidden_event(feedback: &otklik_core::NewFeedback) -> Option<(&'static str, String)> {
    feedback.hidden.then(|| ("hidden", format!("audience: {}", feedback.audience)))
}

/// A redelivered case: one from the same source, channel and external id, with its first text
/// (the same statement on both backends).
pub(crate) const REDELIVERED_CASE: &str = "SELECT c.id, m.body FROM cases c \
     JOIN messages m ON m.id = (SELECT min(id) FROM messages WHERE case_id = c.id) \
     WHERE c.source = $1 AND c.channel = $2 AND c.external_id = $3";

/// A redelivery must carry the text it first came with: the same external id with another text
/// is a source reusing its ids, not a retry, and is refused rather than dropped.
pub(crate) fn check_redelivery(found: (i64, String), feedback: &otklik_core::NewFeedback) -> Result<i64, StoreError> {
    let (case_id, first_text) = found;
    if first_text == feedback.text {
        Ok(case_id)
    } else {
        let external_id = feedback.external_id.as_deref().unwrap_or_default();
        Err(StoreError::Conflict(format!("a case from this source with external_id `{external_id}` and another text")))
    }
}

/// A token with the username of the person it belongs to, if any (the same on both backends).
pub(crate) const SELECT_TOKEN: &str = "SELECT t.id, t.name, t.role, u.username, t.created_at, t.revoked_at \
     FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id";

/// Stores a token; `$5` is the username of its person or `NULL` for an integration.
pub(crate) const INSERT_TOKEN: &str = "INSERT INTO api_tokens (name, role, token_hash, created_at, user_id) \
     VALUES ($1, $2, $3, $4, (SELECT id FROM users WHERE username = $5)) RETURNING id";

/// Revokes a token once; the row count tells whether it was still live.
pub(crate) const REVOKE_TOKEN: &str = "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) role: String,
    pub(crate) username: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) revoked_at: Option<i64>,
}

impl TokenRow {
    pub(crate) fn into_record(self) -> Result<crate::TokenRecord, StoreError> {
        Ok(crate::TokenRecord { id: self.id, name: self.name, role: word(&self.role)?, user: self.username })
    }

    pub(crate) fn into_info(self) -> Result<crate::TokenInfo, StoreError> {
        let (created_at, revoked_at) = (from_millis(self.created_at)?, self.revoked_at.map(from_millis).transpose()?);
        Ok(crate::TokenInfo { record: self.into_record()?, created_at, revoked_at })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    username: String,
    display_name: Option<String>,
    role: String,
    password_hash: String,
    active: bool,
    language: Option<String>,
    time_zone: Option<String>,
    email: Option<String>,
}

/// The columns of `UserRow`, from `users u`.
pub(crate) const USER_COLUMNS: &str =
    "u.id, u.username, u.display_name, u.role, u.password_hash, u.active, u.language, u.time_zone, u.email";

impl UserRow {
    pub(crate) fn into_record(self) -> Result<crate::UserRecord, StoreError> {
        Ok(crate::UserRecord {
            id: self.id,
            username: self.username,
            display_name: self.display_name,
            active: self.active,
            language: optional_word(self.language)?,
            time_zone: self.time_zone,
            email: self.email,
            role: word(&self.role)?,
            password_hash: self.password_hash,
        })
    }
}

/// The index text of a case: its subject and message bodies, as stemmed terms.
pub(crate) fn index_terms<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut terms = String::new();
    for text in texts {
        for term in otklik_core::text::search_terms(text) {
            if !terms.is_empty() {
                terms.push(' ');
            }
            terms.push_str(&term);
        }
    }
    terms
}

/// Where a listing starts: ranked search pages by offset, plain listings by id. A cursor of the
/// other sort is refused.
pub(crate) fn search_offset(filter: &otklik_core::CaseFilter, ranked: bool) -> Result<u32, StoreError> {
    use otklik_core::Cursor;
    match (ranked, filter.cursor) {
        (true, Some(Cursor::Offset(offset))) => Ok(offset),
        (false, Some(Cursor::Before(_))) | (_, None) => Ok(0),
        (_, Some(_)) => Err(StoreError::Invalid("cursor: it belongs to another kind of listing".into())),
    }
}

/// One page from `limit + 1` rows read: the extra row only says there is a next page.
pub(crate) fn page_of(
    rows: Vec<CaseRow>,
    limit: u32,
    offset: u32,
    ranked: bool,
) -> Result<otklik_core::Page<Case>, StoreError> {
    use otklik_core::Cursor;
    let mut items: Vec<Case> = rows.into_iter().map(CaseRow::into_case).collect::<Result<_, _>>()?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = match (more, items.last()) {
        (false, _) | (_, None) => None,
        (true, Some(_)) if ranked => Some(Cursor::Offset(offset + limit)),
        (true, Some(last)) => Some(Cursor::Before(last.id)),
    };
    Ok(otklik_core::Page { items, next_cursor })
}

/// Touches a case a message was added to (the same statement on both backends): `$3` says the
/// message is a reply to the customer, which is the case's first response if none came before
/// and makes the deadline watch look at the case again at once.
pub(crate) const TOUCH_CASE_FOR_MESSAGE: &str = "UPDATE cases SET updated_at = $2, \
     first_response_at = CASE WHEN $3 AND first_response_at IS NULL THEN $2 ELSE first_response_at END, \
     watch_at = CASE WHEN $3 THEN NULL ELSE watch_at END WHERE id = $1";

/// Applies a `CustomerPatch` (the same statement on both backends): `$2` says whether `$3` is a
/// new name, `$4` is the VIP flag or `NULL` to keep it.
pub(crate) const UPDATE_CUSTOMER: &str = "UPDATE customers SET name = CASE WHEN $2 THEN $3 ELSE name END, \
     vip = COALESCE($4, vip) WHERE id = $1";
