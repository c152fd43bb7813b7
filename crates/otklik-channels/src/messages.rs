//! The messages owed to customers, per template key and language (`messages/messages.toml`):
//! the step's own words when it has them, else the key's text, and always the footer with the
//! case reference and its status link.

use std::collections::BTreeMap;

use otklik_core::Language;
use serde::Deserialize;

const BUILTIN: &str = include_str!("../messages/messages.toml");

#[derive(Debug, thiserror::Error)]
#[error("messages file: {0}")]
pub struct MessagesError(String);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PerLanguage {
    ru: String,
    uk: String,
    en: String,
}

impl PerLanguage {
    fn get(&self, language: Language) -> &str {
        match language {
            Language::Uk => &self.uk,
            Language::En => &self.en,
            _ => &self.ru,
        }
    }
}

/// The message texts in force.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Messages {
    footer: PerLanguage,
    message: BTreeMap<String, PerLanguage>,
}

/// What a message is filled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Values<'a> {
    pub reference: &'a str,
    pub status_url: &'a str,
    pub customer_name: Option<&'a str>,
    /// The words given with the step, sent instead of the key's text.
    pub words: Option<&'a str>,
    /// When the customer hears from us next (`{due}`), in their words and time zone.
    pub due: Option<&'a str>,
}

impl Messages {
    /// The built-in texts.
    pub fn builtin() -> Messages {
        Messages::from_toml(BUILTIN).expect("the built-in messages parse")
    }

    pub fn from_toml(source: &str) -> Result<Messages, MessagesError> {
        toml::from_str(source).map_err(|error| MessagesError(error.to_string()))
    }

    /// True when the key has a text of its own.
    pub fn knows(&self, key: &str) -> bool {
        self.message.contains_key(key)
    }

    /// A message with the request to rate the case added: "reply with a number" on e-mail and
    /// SMS, "tap a button" on Telegram (whose driver adds the buttons).
    pub fn with_rating_request(&self, text: String, channel: otklik_core::Channel, language: Language) -> String {
        let key = if channel == otklik_core::Channel::Telegram { "rating.buttons" } else { "rating.reply" };
        match self.message.get(key) {
            Some(ask) => format!("{text}\n\n{}", ask.get(language)),
            None => text,
        }
    }

    /// An NPS campaign's question for one customer: its subject line and its text ("reply with
    /// a number", or for Telegram, whose driver adds the buttons, "tap one"). No case footer: it
    /// answers no case.
    pub fn survey(
        &self,
        channel: otklik_core::Channel,
        language: Language,
        customer_name: Option<&str>,
    ) -> (String, String) {
        let key = if channel == otklik_core::Channel::Telegram { "nps.buttons" } else { "nps.request" };
        let name = customer_name.map(|name| format!(", {name}")).unwrap_or_default();
        let text = |key: &str| self.message.get(key).map(|text| text.get(language).replace("{customer_name}", &name));
        (text("nps.subject").unwrap_or_default(), text(key).unwrap_or_default())
    }

    /// The message for `key` in `language`. A key without a text of its own (a playbook file's
    /// new action) sends the step's words, or only the footer when there are none.
    pub fn render(&self, key: &str, language: Language, values: &Values<'_>) -> String {
        self.render_with(key, language, values, false)
    }

    /// The message for a public post (a comment, a review) where everyone reads it: its footer
    /// names the case but never carries the customer's private status link.
    pub fn render_public(&self, key: &str, language: Language, values: &Values<'_>) -> String {
        self.render_with(key, language, values, true)
    }

    fn render_with(&self, key: &str, language: Language, values: &Values<'_>, public: bool) -> String {
        let name = values.customer_name.map(|name| format!(", {name}")).unwrap_or_default();
        let fill = |text: &str| {
            text.replace("{customer_name}", &name)
                .replace("{reference}", values.reference)
                .replace("{status_url}", values.status_url)
                .replace("{due}", values.due.unwrap_or("—"))
        };
        let body = match (values.words, self.message.get(key)) {
            (Some(words), _) => words.to_owned(),
            (None, Some(text)) => fill(text.get(language)),
            (None, None) => String::new(),
        };
        let footer = if public {
            let words = match language {
                Language::Uk => "Номер звернення",
                Language::En => "Your case",
                _ => "Номер обращения",
            };
            format!("{words}: {}", values.reference)
        } else {
            fill(self.footer.get(language))
        };
        if body.is_empty() { footer } else { format!("{body}\n\n{footer}") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(words: Option<&str>) -> Values<'_> {
        Values {
            reference: "OT-2026-000007",
            status_url: "https://x.example/s/abc",
            customer_name: Some("Анна"),
            words,
            due: Some("01.12.2026 18:00"),
        }
    }

    #[test]
    fn every_key_a_playbook_emits_has_a_text_in_every_language() {
        let messages = Messages::builtin();
        let workflow = otklik_core::Workflow::builtin();
        for kind in otklik_core::Kind::ALL {
            let playbook = workflow.playbooks.get(*kind);
            for action in &playbook.actions {
                if let Some(key) = &action.emits {
                    assert!(messages.knows(key), "no message for `{key}`");
                }
                let follows_up =
                    action.effects.iter().any(|effect| matches!(effect, otklik_core::Effect::FollowUp { .. }));
                if follows_up {
                    assert!(messages.knows(&format!("{kind}.follow_up")), "no follow-up message for {kind}");
                }
            }
        }
        for text in messages.message.values().chain([&messages.footer]) {
            assert!(!text.ru.is_empty() && !text.uk.is_empty() && !text.en.is_empty());
        }
    }

    #[test]
    fn a_message_is_filled_in_the_customers_language_with_the_footer() {
        let messages = Messages::builtin();
        let text = messages.render("complaint.apology", Language::Uk, &values(None));
        assert!(text.starts_with("Вітаємо, Анна!"), "{text}");
        assert!(text.ends_with("OT-2026-000007. Де воно зараз і що далі: https://x.example/s/abc"), "{text}");
    }

    #[test]
    fn a_survey_asks_for_a_number_in_the_customers_language_without_a_case_footer() {
        let messages = Messages::builtin();
        for (language, words) in [(Language::Ru, "т 0"), (Language::Uk, "ід 0"), (Language::En, "rom 0")] {
            for channel in [otklik_core::Channel::Email, otklik_core::Channel::Sms, otklik_core::Channel::Telegram] {
                let (subject, text) = messages.survey(channel, language, Some("Анна"));
                assert!(!subject.is_empty(), "{language}");
                assert!(text.contains(", Анна!") && text.contains(words) && text.contains("10"), "{text}");
                assert!(!text.contains("{reference}") && !text.contains("http"), "{text}");
            }
            // By e-mail the customer is asked to reply; in Telegram, to tap a button.
            let (_, by_mail) = messages.survey(otklik_core::Channel::Email, language, None);
            let (_, by_button) = messages.survey(otklik_core::Channel::Telegram, language, None);
            assert!(by_mail.len() > by_button.len(), "{by_mail} / {by_button}");
        }
    }

    #[test]
    fn a_public_message_never_carries_the_status_link() {
        let messages = Messages::builtin();
        for language in [Language::Ru, Language::Uk, Language::En] {
            let text = messages.render_public("public.received", language, &values(None));
            assert!(!text.contains("https://x.example/s/abc"), "{text}");
            assert!(text.contains("OT-2026-000007"), "{text}");
        }
    }

    #[test]
    fn the_steps_own_words_replace_the_keys_text() {
        let messages = Messages::builtin();
        let text = messages.render("complaint.apology", Language::Ru, &values(Some("Курьер привезёт заказ к 19:00.")));
        assert!(text.starts_with("Курьер привезёт заказ к 19:00.\n\n"), "{text}");
        let unknown = messages.render("complaint.custom", Language::En, &values(None));
        assert!(unknown.starts_with("Your case: OT-2026-000007"), "{unknown}");
    }

    #[test]
    fn every_acknowledgement_passes_the_house_standard_in_every_language() {
        let messages = Messages::builtin();
        let rules = otklik_core::standard::Rules::builtin();
        for kind in otklik_core::Kind::ALL {
            let key = format!("{kind}.received");
            assert!(messages.knows(&key), "no acknowledgement for {kind}");
            for language in [Language::Ru, Language::Uk, Language::En] {
                let text = messages.render(&key, language, &values(None));
                assert!(text.contains("01.12.2026 18:00") && text.contains("OT-2026-000007"), "{text}");
                let draft = otklik_core::standard::Draft {
                    text: &text,
                    kind: *kind,
                    public: false,
                    language: Some(language),
                    purpose: None,
                    audience: None,
                };
                let errors: Vec<_> = otklik_core::standard::check(&rules, &draft, Language::En)
                    .into_iter()
                    .filter(|finding| finding.severity == otklik_core::standard::Severity::Error)
                    .collect();
                assert!(errors.is_empty(), "{key} in {language}: {errors:?}");
            }
        }
    }
}
