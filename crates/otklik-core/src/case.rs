//! Cases: one piece of feedback and everything that follows it — messages, changes and the
//! append-only history of events. Also the human reference (`OT-2026-000123`).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::customer::NewCustomer;
use crate::vocab::{Audience, Cause, Channel, Direction, Kind, Language, Priority, Sentiment, StageName, Status};

/// The longest message text, in characters (Unicode code points, as JSON Schema counts them),
/// counted as sent: surrounding whitespace included.
pub const MAX_TEXT_CHARS: usize = 65_536;

/// A case's human reference: the year it was opened and its number, `OT-2026-000123`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseRef {
    pub year: i32,
    pub number: i64,
}

impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OT-{}-{:06}", self.year, self.number)
    }
}

/// A string that is not a case reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a case reference like OT-2026-000123")]
pub struct InvalidCaseRef(pub String);

impl FromStr for CaseRef {
    type Err = InvalidCaseRef;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidCaseRef(s.to_owned());
        let rest = s.strip_prefix("OT-").ok_or_else(invalid)?;
        let (year, number) = rest.split_once('-').ok_or_else(invalid)?;
        let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if year.len() != 4 || !all_digits(year) || !all_digits(number) || number.len() > 18 {
            return Err(invalid());
        }
        Ok(CaseRef { year: year.parse().map_err(|_| invalid())?, number: number.parse().map_err(|_| invalid())? })
    }
}

/// A new piece of feedback as the intake accepted it: already parsed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeedback {
    pub channel: Channel,
    pub subject: Option<String>,
    pub text: String,
    pub customer: NewCustomer,
    pub location: Option<String>,
    pub product: Option<String>,
    pub public: bool,
    pub kind: Kind,
    /// Where the case starts: its kind's playbook's initial stage, and that stage's status.
    pub stage: StageName,
    pub status: Status,
    /// The cause of a complaint, when it can be told.
    pub cause: Option<Cause>,
    pub sentiment: Option<Sentiment>,
    pub audience: Audience,
    /// Hidden at once: triage is sure it is a troll's comment (it stays, one click from view,
    /// with no clock and no reply owed).
    pub hidden: bool,
    pub language: Option<Language>,
    pub priority: Priority,
    pub external_id: Option<String>,
    /// The conversation at the source this case began in (an e-mail thread, a chat): later
    /// messages of it continue this case.
    pub thread_key: Option<String>,
    /// The source vouches for the customer's identities (staff logging a call): new identities
    /// given with a known one join that customer. From any other source (a form, an
    /// integration) they do not: the case goes to the customer an identity found, and the new
    /// identities are recorded on the case for an agent to confirm. See `records::IDENTITY_RULE`.
    pub vouched: bool,
    /// Who sent it (`token:7`, a channel driver): a source's external ids are its own, so two
    /// sources never see each other's cases as redeliveries.
    pub source: String,
    /// When the deadline watch should first look at the case (its first warning), worked out
    /// at intake from the deadline policy; `None`: as soon as it can.
    pub watch_at: Option<OffsetDateTime>,
    /// When its earliest clock falls due, worked out at intake like `watch_at`; the deadline
    /// watch keeps it current afterwards.
    pub due_at: Option<OffsetDateTime>,
    /// The message key of the acknowledgement owed to the customer through the case's channel
    /// (`complaint.received`), queued in the outbox with the case; none where the customer is
    /// answered otherwise (a form's page, a call).
    pub acknowledge: Option<String>,
    /// The priority instead of `priority` when the store finds the customer is a VIP or
    /// complained before (it knows while it finds the customer); `None`: `priority` either way.
    pub returning: Option<ReturningPriority>,
}

/// The priority of new feedback from a returning customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturningPriority {
    pub vip: Priority,
    pub complained_before: Priority,
    pub vip_complained_before: Priority,
}

impl NewFeedback {
    /// The priority for a customer with these signals.
    pub fn priority_for(&self, vip: bool, complained_before: bool) -> Priority {
        match (self.returning, vip, complained_before) {
            (Some(returning), true, true) => returning.vip_complained_before,
            (Some(returning), true, false) => returning.vip,
            (Some(returning), false, true) => returning.complained_before,
            _ => self.priority,
        }
    }
}

/// A case as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub id: i64,
    pub channel: Channel,
    pub kind: Kind,
    /// The cause of a complaint, when triage can tell it.
    pub cause: Option<Cause>,
    pub audience: Audience,
    pub sentiment: Option<Sentiment>,
    pub language: Option<Language>,
    pub priority: Priority,
    pub status: Status,
    /// The stage of its kind's playbook the case is in (the playbook's `initial` on arrival).
    pub stage: StageName,
    pub subject: Option<String>,
    pub location: Option<String>,
    pub product: Option<String>,
    pub assignee: Option<String>,
    pub tags: Vec<String>,
    /// The employees the feedback concerns (a waiter, a courier), apart from the assignee, by
    /// name, sorted: the reports count by them.
    pub employees: Vec<String>,
    pub public: bool,
    pub hidden: bool,
    /// The case of the public incident this one piles on to, if it is linked (it then has no
    /// clock of its own).
    pub parent_id: Option<i64>,
    pub external_id: Option<String>,
    pub customer_id: i64,
    /// The secret part of the customer's status link.
    pub status_token: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// When its earliest running clock falls due (kept by the deadline watch); `None` when
    /// no clock runs.
    pub due_at: Option<OffsetDateTime>,
}

impl Case {
    pub fn reference(&self) -> CaseRef {
        CaseRef { year: self.created_at.year(), number: self.id }
    }
}

/// A message on a case: the customer's words, a reply, or an internal note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Message {
    pub id: i64,
    pub direction: Direction,
    /// Public messages are seen by the customer (and, on a public channel, by everyone).
    pub public: bool,
    pub channel: Channel,
    /// Who wrote it: `customer`, or the name of the user or token.
    pub author: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A message to add to a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub direction: Direction,
    pub public: bool,
    pub channel: Channel,
    pub body: String,
    /// The message's own id at its source, for an incoming one: the same id on the case again
    /// is a redelivery.
    pub external_id: Option<String>,
    /// The house-standard rules the writer chose to override (recorded as an event).
    pub overridden: Vec<String>,
}

/// One entry of a case's history. Events are only ever appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Event {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who made the change: a user, a token's name, `customer` or `system`.
    pub actor: String,
    /// What happened: `created`, `changed`, `message_added`, `hidden`, `unhidden`, `redacted`.
    pub action: String,
    /// The field that changed, for `changed`.
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// Changes to a case; each field present and different from the current value becomes an event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CasePatch {
    pub kind: Option<Kind>,
    pub priority: Option<Priority>,
    pub status: Option<Status>,
    /// Set with `kind` when a case moves into another kind's playbook.
    pub stage: Option<StageName>,
    pub audience: Option<Audience>,
    pub cause: Option<Option<Cause>>,
    pub sentiment: Option<Option<Sentiment>>,
    pub language: Option<Option<Language>>,
    pub assignee: Option<Option<String>>,
    pub location: Option<Option<String>>,
    pub product: Option<Option<String>>,
    pub subject: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    /// The whole new list of employees concerned.
    pub employees: Option<Vec<String>>,
    pub public: Option<bool>,
    pub hidden: Option<bool>,
}

impl CasePatch {
    pub fn is_empty(&self) -> bool {
        *self == CasePatch::default()
    }
}

/// One field change, as recorded in an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: &'static str,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

impl Case {
    /// Applies a patch, returning the field changes it made (nothing for equal values).
    pub fn apply(&mut self, patch: &CasePatch) -> Vec<FieldChange> {
        let mut changes = Vec::new();
        fn record<T: PartialEq + Clone>(
            changes: &mut Vec<FieldChange>,
            field: &'static str,
            current: &mut T,
            new: &Option<T>,
            show: impl Fn(&T) -> Option<String>,
        ) {
            if let Some(new) = new
                && current != new
            {
                changes.push(FieldChange { field, old_value: show(current), new_value: show(new) });
                *current = new.clone();
            }
        }
        let word = |w: &dyn fmt::Display| Some(w.to_string());
        record(&mut changes, "kind", &mut self.kind, &patch.kind, |v| word(v));
        record(&mut changes, "priority", &mut self.priority, &patch.priority, |v| word(v));
        record(&mut changes, "status", &mut self.status, &patch.status, |v| word(v));
        record(&mut changes, "stage", &mut self.stage, &patch.stage, |v| Some(v.to_string()));
        record(&mut changes, "audience", &mut self.audience, &patch.audience, |v| word(v));
        // Only a complaint has a cause: a case whose kind is no complaint loses it.
        let cause = if self.kind == Kind::Complaint { patch.cause } else { Some(None) };
        record(&mut changes, "cause", &mut self.cause, &cause, |v| v.map(|c| c.to_string()));
        record(&mut changes, "sentiment", &mut self.sentiment, &patch.sentiment, |v| v.map(|s| s.to_string()));
        record(&mut changes, "language", &mut self.language, &patch.language, |v| v.map(|l| l.to_string()));
        record(&mut changes, "assignee", &mut self.assignee, &patch.assignee, Clone::clone);
        record(&mut changes, "location", &mut self.location, &patch.location, Clone::clone);
        record(&mut changes, "product", &mut self.product, &patch.product, Clone::clone);
        record(&mut changes, "subject", &mut self.subject, &patch.subject, Clone::clone);
        record(&mut changes, "tags", &mut self.tags, &patch.tags, |v| Some(v.join(",")));
        record(&mut changes, "employees", &mut self.employees, &patch.employees, |v| Some(v.join(", ")));
        record(&mut changes, "public", &mut self.public, &patch.public, |v| word(v));
        record(&mut changes, "hidden", &mut self.hidden, &patch.hidden, |v| word(v));
        changes
    }
}

/// Which cases to list, and where a page starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Full-text query; results are ranked when present, newest first otherwise.
    pub query: Option<String>,
    pub kind: Option<Kind>,
    pub status: Option<Status>,
    pub channel: Option<Channel>,
    pub location: Option<String>,
    pub assignee: Option<String>,
    pub created_from: Option<OffsetDateTime>,
    pub created_to: Option<OffsetDateTime>,
    pub customer_id: Option<i64>,
    pub include_hidden: bool,
    /// The stage of the case's playbook (`awaiting_approval`); compared with the stored name.
    pub stage: Option<String>,
    /// Only unresolved cases whose earliest running clock falls due at or after this time…
    pub due_from: Option<OffsetDateTime>,
    /// …and before this one (a queue by deadline risk: breached, due within the hour, later).
    pub due_to: Option<OffsetDateTime>,
    /// Only cases neither resolved nor closed.
    pub open_only: bool,
    /// Only cases with compensation waiting for a manager's approval.
    pub pending_compensation: bool,
    /// The order of a listing without a query (a query ranks by relevance).
    pub sort: Sort,
    pub cursor: Option<Cursor>,
    pub limit: u32,
}

/// How a listing is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// Newest first (pages with `b…` cursors).
    #[default]
    Newest,
    /// Most urgent first, then newest (pages with `o…` cursors).
    Priority,
    /// The earliest due first; cases without a running clock last (pages with `o…` cursors).
    Due,
}

impl Sort {
    /// Whether its pages continue by offset (`o…`) rather than below an id (`b…`).
    pub fn by_offset(self) -> bool {
        self != Sort::Newest
    }
}

/// Where the next page of a listing starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Newest-first listings continue below this case id.
    Before(i64),
    /// Ranked search continues after this many results.
    Offset(u32),
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cursor::Before(id) => write!(f, "b{id}"),
            Cursor::Offset(offset) => write!(f, "o{offset}"),
        }
    }
}

/// A cursor string that was not made by this server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a cursor from a previous page")]
pub struct InvalidCursor(pub String);

impl FromStr for Cursor {
    type Err = InvalidCursor;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidCursor(s.to_owned());
        match s.split_at_checked(1) {
            Some(("b", id)) => id.parse().map(Cursor::Before).map_err(|_| invalid()),
            Some(("o", offset)) => offset.parse().map(Cursor::Offset).map_err(|_| invalid()),
            _ => Err(invalid()),
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_round_trips() {
        let reference = CaseRef { year: 2026, number: 123 };
        assert_eq!(reference.to_string(), "OT-2026-000123");
        assert_eq!("OT-2026-000123".parse::<CaseRef>(), Ok(reference));
        assert_eq!("OT-2026-1234567".parse::<CaseRef>().map(|r| r.number), Ok(1_234_567));
    }

    #[test]
    fn malformed_references_are_refused() {
        for bad in ["", "OT-", "OT-26-000001", "XX-2026-000001", "OT-2026-", "OT-2026-12a"] {
            assert!(bad.parse::<CaseRef>().is_err(), "{bad}");
        }
    }

    #[test]
    fn cursor_round_trips_and_refuses_junk() {
        for cursor in [Cursor::Before(42), Cursor::Offset(20)] {
            assert_eq!(cursor.to_string().parse::<Cursor>(), Ok(cursor));
        }
        assert!("x1".parse::<Cursor>().is_err());
        assert!("b".parse::<Cursor>().is_err());
    }
}
