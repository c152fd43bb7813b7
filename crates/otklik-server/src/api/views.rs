//! The API's request and response bodies. Requests refuse unknown fields and parse into domain
//! values here, so a typo is an error that names the field rather than a silently ignored value.

use otklik_core::{
    Audience, Case, CasePatch, Cause, Channel, Customer, CustomerPatch, Event, Identity, Kind, Language, Message,
    NewCustomer, Priority, Sentiment, Status,
};
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::problem::ApiError;

const MAX_TAGS: usize = 50;

/// New feedback from any source.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// What the customer said. Required, not blank, at most 65,536 characters.
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 65536
    )]
    pub text: String,
    /// Where it came from; `api` when not given.
    pub channel: Option<Channel>,
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 500
    )]
    pub subject: Option<String>,
    pub customer: Option<CustomerRequest>,
    /// Shop, branch or point of sale.
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 500
    )]
    pub location: Option<String>,
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 500
    )]
    pub product: Option<String>,
    /// Said in public (a social page, a review site): answered fastest.
    #[serde(default)]
    pub public: bool,
    /// The kind when the source already knows it; triage decides otherwise.
    pub kind: Option<Kind>,
    /// The source's own id (a tweet id, a message id): a redelivery with the same channel and
    /// external id returns the existing case.
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 500
    )]
    pub external_id: Option<String>,
}

/// Who left the feedback: any identity finds the same customer again.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerRequest {
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 500
    )]
    pub name: Option<String>,
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$|^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\s@\u0000-\u001F\u007F-\u009F]+@[^\s@\u0000-\u001F\u007F-\u009F.][^\s@\u0000-\u001F\u007F-\u009F]*\.[^\s@\u0000-\u001F\u007F-\u009F]*[^\s@\u0000-\u001F\u007F-\u009F.][\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 254
    )]
    pub email: Option<String>,
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$|^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*\+?[ ().\-]*(?:[0-9][ ().\-]*){7,15}[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 500
    )]
    pub phone: Option<String>,
    /// A Telegram numeric id or `@username`.
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$|^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*@*[A-Za-z0-9_]{1,64}[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 500
    )]
    pub telegram: Option<String>,
    /// A social-network handle.
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$|^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\s\u0000-\u001F\u007F-\u009F]{1,200}[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 500
    )]
    pub handle: Option<String>,
    /// Followers on the channel the feedback came from; opinion leaders get a higher priority.
    #[schema(maximum = 9_223_372_036_854_775_807_u64)]
    pub followers: Option<u64>,
    /// The customer's language for replies, e.g. `ru`, `uk`, `en`.
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 500
    )]
    pub locale: Option<String>,
}

pub use otklik_app::input::{line, optional_text, text};

impl CustomerRequest {
    pub fn parse(self) -> Result<NewCustomer, ApiError> {
        let invalid = |e: otklik_core::customer::InvalidIdentity| ApiError::Unprocessable(e.to_string());
        let mut identities = Vec::new();
        // The e-mail's limit counts it as sent, as the document's `maxLength` does.
        if self.email.as_ref().is_some_and(|raw| raw.chars().count() > 254) {
            return Err(ApiError::Unprocessable("customer.email: is longer than 254 characters".into()));
        }
        if let Some(email) = line("customer.email", self.email)? {
            identities.push(Identity::email(&email).map_err(invalid)?);
        }
        if let Some(phone) = line("customer.phone", self.phone)? {
            identities.push(Identity::phone(&phone).map_err(invalid)?);
        }
        if let Some(telegram) = line("customer.telegram", self.telegram)? {
            identities.push(Identity::telegram(&telegram).map_err(invalid)?);
        }
        if let Some(handle) = line("customer.handle", self.handle)? {
            identities.push(Identity::handle(&handle).map_err(invalid)?);
        }
        let followers = self
            .followers
            .map(i64::try_from)
            .transpose()
            .map_err(|_| ApiError::Unprocessable("customer.followers: too large".into()))?;
        let locale = line("customer.locale", self.locale)?;
        if let Some(locale) = &locale
            && (locale.len() > 35 || !locale.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            return Err(ApiError::Unprocessable("customer.locale: not a language tag like `ru` or `en-GB`".into()));
        }
        Ok(NewCustomer { name: line("customer.name", self.name)?, identities, followers, locale })
    }
}

/// What a submission returns: the case and the customer's status link.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmitResponse {
    pub id: i64,
    /// The human reference, e.g. `OT-2026-000123`.
    pub reference: String,
    pub kind: Kind,
    pub status: Status,
    /// The customer's unguessable link to follow the case.
    pub status_url: String,
}

/// A case without its messages and history.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseSummary {
    pub id: i64,
    pub reference: String,
    pub channel: Channel,
    pub kind: Kind,
    /// The cause of a complaint (service, quality, misunderstanding), when it can be told.
    pub cause: Option<Cause>,
    pub audience: Audience,
    pub sentiment: Option<Sentiment>,
    pub language: Option<Language>,
    pub priority: Priority,
    pub status: Status,
    /// The stage of its kind's playbook (`GET /api/v1/playbooks`).
    pub stage: String,
    pub subject: Option<String>,
    pub location: Option<String>,
    pub product: Option<String>,
    pub assignee: Option<String>,
    pub tags: Vec<String>,
    /// The employees the feedback concerns, apart from the assignee.
    pub employees: Vec<String>,
    pub public: bool,
    pub hidden: bool,
    pub external_id: Option<String>,
    pub customer_id: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<Case> for CaseSummary {
    fn from(case: Case) -> CaseSummary {
        CaseSummary {
            id: case.id,
            reference: case.reference().to_string(),
            channel: case.channel,
            kind: case.kind,
            cause: case.cause,
            audience: case.audience,
            sentiment: case.sentiment,
            language: case.language,
            priority: case.priority,
            status: case.status,
            stage: case.stage.to_string(),
            subject: case.subject,
            location: case.location,
            product: case.product,
            assignee: case.assignee,
            tags: case.tags,
            employees: case.employees,
            public: case.public,
            hidden: case.hidden,
            external_id: case.external_id,
            customer_id: case.customer_id,
            created_at: case.created_at,
            updated_at: case.updated_at,
        }
    }
}

/// A case with its customer, messages and full history.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    #[serde(flatten)]
    pub case: CaseSummary,
    pub status_url: String,
    pub customer: Customer,
    pub messages: Vec<Message>,
    pub events: Vec<Event>,
    /// Files that came with the customer's messages; each is read at
    /// `/api/v1/feedback/{id}/attachments/{attachment_id}`.
    pub attachments: Vec<AttachmentView>,
    /// The reference of the case this one piles on to (one public incident), if it is linked:
    /// the parent's answer is the brand's answer to it, and closing the parent closes it.
    pub parent: Option<String>,
    /// The references of the cases linked to this one, oldest first.
    pub linked: Vec<String>,
}

/// Link a case to the parent case of its incident.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// The parent case's id or reference (`OT-2026-000123`).
    #[schema(max_length = 40)]
    pub parent: String,
}

/// A file kept with a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    pub name: String,
    pub content_type: String,
    /// In bytes.
    pub size: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::OffsetDateTime,
}

/// One page of cases; pass `next_cursor` as `cursor` for the next page.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    pub items: Vec<CaseSummary>,
    pub next_cursor: Option<String>,
}

/// A customer with their cases on every channel, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    #[serde(flatten)]
    pub customer: Customer,
    pub cases: Vec<CaseSummary>,
    /// Changes to the customer's record (name, VIP), oldest first.
    pub events: Vec<Event>,
}

/// What a message on a case is.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// A reply to the customer, sent on the case's channel.
    Reply,
    /// A note between staff; never shown to the customer.
    Note,
}

/// A reply or an internal note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageRequest {
    pub kind: MessageKind,
    #[schema(
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 65536
    )]
    pub body: String,
    /// For replies to a public comment: answer in public (`true`, the default for replies) or
    /// privately. Notes are always private.
    pub public: Option<bool>,
    /// Send a reply even though the house-standard checker found errors in it.
    #[serde(default)]
    pub override_standard: bool,
}

/// Changes to a case. Absent fields stay as they are; `null` clears a clearable field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub kind: Option<Kind>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub priority: Option<Priority>,
    /// Admin only: a case's status follows its playbook's actions.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub status: Option<Status>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub audience: Option<Audience>,
    /// The cause of a complaint, or `null` when it cannot be told.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Cause>)]
    pub cause: Option<Option<Cause>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Sentiment>)]
    pub sentiment: Option<Option<Sentiment>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Language>)]
    pub language: Option<Option<Language>>,
    /// A user's name, or `null` to unassign.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$", max_length = 500)]
    pub assignee: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$", max_length = 500)]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$", max_length = 500)]
    pub product: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$", max_length = 500)]
    pub subject: Option<Option<String>>,
    /// The whole new set of tags (lowercase words; letters, digits, `-` and `_`).
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_items = 50, inline, value_type = Vec<Tag>)]
    pub tags: Option<Vec<String>>,
    /// The whole new list of employees the feedback concerns (a waiter, a courier), apart from
    /// the assignee, by name (1 to 100 characters, no commas), kept for the reports per employee.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_items = 20, inline, value_type = Vec<Employee>)]
    pub employees: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub public: Option<bool>,
    /// Hide a case (a troll's comment) from listings; it is never deleted.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub hidden: Option<bool>,
}

/// A tag: 1 to 50 letters, digits, `-` or `_` (kept lowercase).
#[derive(ToSchema)]
#[schema(
    pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[\w-]{1,50}[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
)]
#[allow(dead_code)]
pub struct Tag(String);

/// An employee's name: 1 to 100 characters, no commas.
#[derive(ToSchema)]
#[schema(
    pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^,\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u0000-\u001F\u007F-\u009F][^,\u0000-\u001F\u007F-\u009F]{0,99}$"
)]
#[allow(dead_code)]
pub struct Employee(String);

/// A field that may be left out but is never `null` (its schema says so): `null` is refused as a
/// wrong type, like any other value the field cannot take.
pub(super) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    match Option::<T>::deserialize(deserializer)? {
        Some(value) => Ok(Some(value)),
        None => Err(serde::de::Error::custom("must not be null: leave the field out to keep it as it is")),
    }
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(super) fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

fn clearable_line(field: &str, value: Option<Option<String>>) -> Result<Option<Option<String>>, ApiError> {
    Ok(value.map(|inner| line(field, inner)).transpose()?)
}

impl PatchRequest {
    pub fn parse(self) -> Result<CasePatch, ApiError> {
        let tags = self.tags.map(parse_tags).transpose()?;
        let patch = CasePatch {
            kind: self.kind,
            priority: self.priority,
            status: self.status,
            stage: None,
            audience: self.audience,
            cause: self.cause,
            sentiment: self.sentiment,
            language: self.language,
            assignee: clearable_line("assignee", self.assignee)?,
            location: clearable_line("location", self.location)?,
            product: clearable_line("product", self.product)?,
            subject: clearable_line("subject", self.subject)?,
            tags,
            employees: self.employees,
            public: self.public,
            hidden: self.hidden,
        };
        Ok(patch)
    }
}

/// Changes to a customer. Absent fields stay as they are; `"name": null` clears the name.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatchRequest {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u001F\u007F-\u009F]*[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$", max_length = 500)]
    pub name: Option<Option<String>>,
    /// A VIP's complaints and questions get a higher priority from their next case on.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub vip: Option<bool>,
    /// Ways to reach the customer to add (a phone, an e-mail, a Telegram): one that is
    /// another customer's merges that customer into this one, recorded on both.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_items = 10)]
    pub identities: Option<Vec<super::customers::IdentityRequest>>,
}

impl CustomerPatchRequest {
    pub fn parse(self) -> Result<CustomerPatch, ApiError> {
        let identities = self.identities.unwrap_or_default();
        if identities.len() > 10 {
            return Err(ApiError::Unprocessable("identities: at most 10 at once".into()));
        }
        let identities = identities
            .into_iter()
            .map(|identity| otklik_app::parse_identity(identity.kind.as_str(), &identity.value))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CustomerPatch { name: clearable_line("name", self.name)?, vip: self.vip, identities })
    }
}

fn parse_tags(tags: Vec<String>) -> Result<Vec<String>, ApiError> {
    if tags.len() > MAX_TAGS {
        return Err(ApiError::Unprocessable(format!("tags: at most {MAX_TAGS}")));
    }
    let mut parsed: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = tag.trim().to_lowercase();
        let valid = !tag.is_empty()
            && tag.chars().count() <= 50
            && tag.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(ApiError::Unprocessable(format!("tags: `{tag}` must be 1 to 50 letters, digits, `-` or `_`")));
        }
        if !parsed.contains(&tag) {
            parsed.push(tag);
        }
    }
    parsed.sort();
    Ok(parsed)
}
