//! Customers and the identities that find them again on any channel. Parsing happens here, so an
//! `Identity` is normalised wherever it appears.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A value that cannot be an identity of the given kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidIdentity {
    pub field: &'static str,
    pub reason: &'static str,
}

/// The kinds of identity one customer may have, one or many of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    Email,
    Phone,
    Telegram,
    Handle,
}

impl IdentityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Email => "email",
            IdentityKind::Phone => "phone",
            IdentityKind::Telegram => "telegram",
            IdentityKind::Handle => "handle",
        }
    }

    pub fn parse_stored(word: &str) -> Option<IdentityKind> {
        match word {
            "email" => Some(IdentityKind::Email),
            "phone" => Some(IdentityKind::Phone),
            "telegram" => Some(IdentityKind::Telegram),
            "handle" => Some(IdentityKind::Handle),
            _ => None,
        }
    }
}

/// One normalised way to reach or recognise a customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Identity {
    pub kind: IdentityKind,
    pub value: String,
}

impl Identity {
    /// An e-mail address, trimmed and lowercased; it needs one `@` and a dot in the domain, and
    /// at most 254 characters as given.
    pub fn email(raw: &str) -> Result<Identity, InvalidIdentity> {
        let invalid = |reason| InvalidIdentity { field: "customer.email", reason };
        if raw.chars().count() > 254 {
            return Err(invalid("is longer than 254 characters"));
        }
        let value = raw.trim().to_lowercase();
        let (local, domain) = value.split_once('@').ok_or(invalid("has no `@`"))?;
        if local.is_empty() || domain.contains('@') || value.chars().any(char::is_whitespace) {
            return Err(invalid("is not an e-mail address"));
        }
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(invalid("has no valid domain"));
        }
        Ok(Identity { kind: IdentityKind::Email, value })
    }

    /// A phone number kept as `+` and 7 to 15 digits; spaces, dashes, dots and brackets are dropped.
    pub fn phone(raw: &str) -> Result<Identity, InvalidIdentity> {
        let invalid = |reason| InvalidIdentity { field: "customer.phone", reason };
        let trimmed = raw.trim();
        let mut digits = String::with_capacity(16);
        for (index, c) in trimmed.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if index == 0 => {}
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(invalid("may hold only digits, spaces, dashes, brackets and a leading +")),
            }
        }
        if !(7..=15).contains(&digits.len()) {
            return Err(invalid("must have 7 to 15 digits"));
        }
        Ok(Identity { kind: IdentityKind::Phone, value: format!("+{digits}") })
    }

    /// A Telegram user: a numeric id or an `@username` (stored lowercase, without `@`).
    pub fn telegram(raw: &str) -> Result<Identity, InvalidIdentity> {
        let value = raw.trim().trim_start_matches('@').to_lowercase();
        let valid =
            !value.is_empty() && value.len() <= 64 && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(InvalidIdentity {
                field: "customer.telegram",
                reason: "must be a numeric id or a username of letters, digits and `_`",
            });
        }
        Ok(Identity { kind: IdentityKind::Telegram, value })
    }

    /// A social-network handle such as `@anna` or `vk:anna` (stored lowercase).
    pub fn handle(raw: &str) -> Result<Identity, InvalidIdentity> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() || value.chars().count() > 200 || value.chars().any(char::is_whitespace) {
            return Err(InvalidIdentity {
                field: "customer.handle",
                reason: "must be 1 to 200 characters without spaces",
            });
        }
        Ok(Identity { kind: IdentityKind::Handle, value })
    }
}

/// What the intake knows about the author of a new piece of feedback.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCustomer {
    pub name: Option<String>,
    pub identities: Vec<Identity>,
    pub followers: Option<i64>,
    pub locale: Option<String>,
}

/// A customer as stored: one person, many identities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Customer {
    pub id: i64,
    pub name: Option<String>,
    pub identities: Vec<Identity>,
    pub followers: Option<i64>,
    pub vip: bool,
    pub locale: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Changes to a customer. Absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerPatch {
    /// A new name, or `Some(None)` to clear it.
    pub name: Option<Option<String>>,
    /// A VIP's complaints and questions are answered sooner (triage raises their priority).
    pub vip: Option<bool>,
    /// Ways to reach them to add (a phone, an e-mail, a Telegram): one that is another
    /// customer's joins that customer into this one.
    pub identities: Vec<Identity>,
}

impl CustomerPatch {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.vip.is_none() && self.identities.is_empty()
    }
}

/// The identities of the contacts typed into a form (a phone, an e-mail, a Telegram name), each
/// optional; a blank one is absent, a malformed one is refused.
pub fn contact_identities(
    phone: Option<&str>,
    email: Option<&str>,
    telegram: Option<&str>,
) -> Result<Vec<Identity>, InvalidIdentity> {
    let typed = [(phone, Identity::phone as fn(&str) -> _), (email, Identity::email), (telegram, Identity::telegram)];
    typed.into_iter().filter_map(|(value, parse)| value.map(str::trim).filter(|v| !v.is_empty()).map(parse)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_lowercased_and_checked() {
        assert_eq!(Identity::email(" Anna@Example.COM ").unwrap().value, "anna@example.com");
        assert!(Identity::email("anna@localhost").is_err());
        assert!(Identity::email("anna.example.com").is_err());
        assert!(Identity::email("a b@example.com").is_err());
    }

    #[test]
    fn phone_keeps_only_digits_with_plus() {
        assert_eq!(Identity::phone("+7 (912) 345-67-89").unwrap().value, "+79123456789");
        assert!(Identity::phone("12345").is_err());
        assert!(Identity::phone("+7 912 abc").is_err());
    }

    #[test]
    fn telegram_drops_at_sign() {
        assert_eq!(Identity::telegram("@Anna_K").unwrap().value, "anna_k");
        assert!(Identity::telegram("anna k").is_err());
    }
}
