//! The closed vocabularies of the domain: channels, kinds, statuses, priorities, sentiment,
//! audiences, languages and roles. Each parses from and prints as one lowercase word, so the API,
//! the database and the command line all use the same spelling.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A word that is not in a vocabulary: names the vocabulary, the word and the allowed words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {vocabulary} `{given}`; expected one of: {}", allowed.join(", "))]
pub struct UnknownWord {
    pub vocabulary: &'static str,
    pub given: String,
    pub allowed: &'static [&'static str],
}

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident as $label:literal { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every value's word, in declaration order.
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            /// The value's one-word spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<Self, UnknownWord> {
                match s {
                    $($word => Ok($name::$variant),)+
                    _ => Err(UnknownWord { vocabulary: $label, given: s.to_owned(), allowed: Self::WORDS }),
                }
            }
        }
    };
}

pub(crate) use vocabulary;

vocabulary! {
    /// Where a piece of feedback came from (and where the reply goes back to).
    Channel as "channel" {
        Web = "web", Email = "email", Telegram = "telegram", Sms = "sms", Phone = "phone",
        Survey = "survey", Social = "social", Review = "review", Api = "api",
        ComplaintBook = "complaint_book",
    }
}

vocabulary! {
    /// The five kinds of feedback, each with its own playbook, or not yet classified.
    Kind as "kind" {
        Complaint = "complaint", Idea = "idea", Question = "question", Praise = "praise",
        Referral = "referral", Unclassified = "unclassified",
    }
}

vocabulary! {
    /// Where a case stands, independent of its kind.
    Status as "status" {
        New = "new", Open = "open", WaitingOnCustomer = "waiting_on_customer",
        Resolved = "resolved", Closed = "closed",
    }
}

vocabulary! {
    /// The cause of a complaint, as the house standard asks to find it: bad service (how the
    /// customer was treated), poor quality of the product or the service delivered, or a
    /// misunderstanding (the customer expected something the business never promised).
    Cause as "cause" {
        Service = "service", Quality = "quality", Misunderstanding = "misunderstanding",
    }
}

vocabulary! {
    /// How soon a case needs attention.
    Priority as "priority" {
        Low = "low", Normal = "normal", High = "high", Urgent = "urgent",
    }
}

vocabulary! {
    /// The tone of a message towards the business.
    Sentiment as "sentiment" {
        Negative = "negative", Neutral = "neutral", Positive = "positive",
    }
}

vocabulary! {
    /// The four audiences of a public comment, each handled its own way (or none yet).
    Audience as "audience" {
        Troll = "troll", Misinformed = "misinformed", Dissatisfied = "dissatisfied",
        Satisfied = "satisfied", None = "none",
    }
}

vocabulary! {
    /// The language a message is written in.
    Language as "language" {
        Ru = "ru", Uk = "uk", En = "en", Other = "other",
    }
}

vocabulary! {
    /// What a person or an integration token may do.
    Role as "role" {
        /// Everything, including users, tokens and configuration.
        Admin = "admin",
        /// Sets the standard, approves, reads reports; everything an agent does.
        Manager = "manager",
        /// Triages and answers cases.
        Agent = "agent",
        /// Works the tasks given to them.
        Executor = "executor",
        /// Receives opportunities and leads.
        Sales = "sales",
        /// An integration that only submits feedback.
        Intake = "intake",
    }
}

vocabulary! {
    /// Which way a message on a case went, and who may see it.
    Direction as "direction" {
        /// From the customer.
        Inbound = "inbound",
        /// A reply to the customer.
        Outbound = "outbound",
        /// A note between staff; never shown to the customer.
        Note = "note",
    }
}

vocabulary! {
    /// What a customer is offered to make up for a problem; decided case by case.
    CompensationKind as "compensation kind" {
        Discount = "discount", FreeProduct = "free_product", Gift = "gift", Refund = "refund", Other = "other",
    }
}

vocabulary! {
    /// How the apology reaches the customer, chosen per customer (one or more: a call, then a
    /// handwritten letter). A call or a meeting is work with a time: it becomes a task.
    ApologyForm as "apology form" {
        Call = "call", Email = "email", Letter = "letter", HandwrittenLetter = "handwritten_letter", Meeting = "meeting",
    }
}

vocabulary! {
    /// Where a task on a case stands.
    TaskStatus as "task status" {
        Open = "open", Done = "done", Cancelled = "cancelled",
    }
}

vocabulary! {
    /// Where a compensation offer stands: granted, or waiting for a manager, or refused.
    CompensationStatus as "compensation status" {
        Approved = "approved", Pending = "pending", Rejected = "rejected",
    }
}

vocabulary! {
    /// Work a node does later, from the job queue.
    JobKind as "job kind" {
        /// A step's follow-up: the message it schedules, if the case is still where the step left it.
        FollowUp = "follow_up",
    }
}

vocabulary! {
    /// How far a deadline has gone, as the watch records it once per case and clock.
    MarkState as "deadline mark" {
        Warning = "warning", Breached = "breached", Escalated = "escalated",
    }
}

vocabulary! {
    /// Where a customer handed to sales stands.
    OpportunityStatus as "opportunity status" {
        Open = "open", Won = "won", Lost = "lost",
    }
}

vocabulary! {
    /// Where a message owed to the customer stands.
    OutboxStatus as "outbox status" {
        Pending = "pending", Sent = "sent", Failed = "failed",
        /// No channel was configured: recorded by the log driver, not sent.
        Logged = "logged",
        /// Being handed to its channel by a node now.
        Sending = "sending",
        /// The channel reported it reached the customer (an SMS provider's delivery report).
        Delivered = "delivered",
        /// A public post the brand answers on the site itself: the message's `note` is its
        /// address, for the agent.
        OnSite = "on_site",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for channel in Channel::ALL {
            assert_eq!(channel.as_str().parse::<Channel>(), Ok(*channel));
        }
        assert_eq!("complaint_book".parse::<Channel>(), Ok(Channel::ComplaintBook));
    }

    #[test]
    fn unknown_word_names_the_allowed_ones() {
        let error = "fax".parse::<Channel>().unwrap_err();
        assert_eq!(error.to_string().split(';').next(), Some("unknown channel `fax`"));
        assert!(error.to_string().contains("complaint_book"));
    }
}

/// The name of a playbook stage, as a case stores it (`in_progress`). Stages are the business's
/// own (its playbook file names them), so this is a checked name rather than a closed list:
/// lowercase letters, digits and `_`, starting with a letter, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "in_progress")]
pub struct StageName(String);

impl StageName {
    /// The longest stage name.
    pub const MAX_CHARS: usize = 64;

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A name the playbook loader has checked already (it reports a bad one with its line).
    pub(crate) fn checked(name: String) -> StageName {
        StageName(name)
    }
}

impl FromStr for StageName {
    type Err = String;

    fn from_str(name: &str) -> Result<StageName, String> {
        let well_formed = name.len() <= StageName::MAX_CHARS
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if well_formed {
            Ok(StageName(name.to_owned()))
        } else {
            Err(format!(
                "stage name `{name}` must be lowercase letters, digits and `_`, starting with a letter, at most {} characters",
                StageName::MAX_CHARS
            ))
        }
    }
}

impl std::ops::Deref for StageName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for StageName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for StageName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<'de> Deserialize<'de> for StageName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<StageName, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod stage_name_tests {
    use super::StageName;

    #[test]
    fn a_stage_name_is_checked_where_it_is_read() {
        assert_eq!("in_progress".parse::<StageName>().unwrap().as_str(), "in_progress");
        for bad in ["", "In_progress", "1st", "in progress", "stage-2", "новый", &"x".repeat(65)] {
            assert!(bad.parse::<StageName>().is_err(), "{bad:?}");
        }
        let stored: Result<StageName, _> = serde_json::from_str("\"waiting_on_customer\"");
        assert!(stored.is_ok());
        assert!(serde_json::from_str::<StageName>("\"DROP TABLE\"").is_err());
    }
}
