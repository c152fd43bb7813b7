//! The workspace's words in Russian, Ukrainian and English, from the Fluent files in `locales/`.
//! A page asks its `Tr` for a key; a key missing in a language is a failing test, not a blank.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::{HeaderMap, header};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use otklik_core::Language;

const SOURCES: [(Language, &str); 3] = [
    (Language::Ru, include_str!("../../locales/ru.ftl")),
    (Language::Uk, include_str!("../../locales/uk.ftl")),
    (Language::En, include_str!("../../locales/en.ftl")),
];

fn bundles() -> &'static HashMap<Language, FluentBundle<FluentResource>> {
    static BUNDLES: OnceLock<HashMap<Language, FluentBundle<FluentResource>>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(language, source)| {
                let resource = FluentResource::try_new((*source).to_owned()).expect("the Fluent files parse");
                let id = language.as_str().parse().expect("a language tag");
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                // No Unicode isolation marks around arguments: names show as typed.
                bundle.set_use_isolating(false);
                bundle.add_resource(resource).expect("no key twice in a Fluent file");
                (*language, bundle)
            })
            .collect()
    })
}

/// The first of Otklik's languages (ru, uk, en) a request's `Accept-Language` names.
pub(crate) fn accepted_language(headers: &HeaderMap) -> Option<Language> {
    let accepted = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    accepted
        .split(',')
        .filter_map(|part| part.split(';').next())
        .map(|tag| tag.trim().split('-').next().unwrap_or_default().to_ascii_lowercase())
        .find_map(|tag| match tag.as_str() {
            "ru" => Some(Language::Ru),
            "uk" => Some(Language::Uk),
            "en" => Some(Language::En),
            _ => None,
        })
}

/// The words of one language, for a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tr(pub Language);

impl Tr {
    /// The text of `key`.
    pub(crate) fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The text of `key`, if the files have it (words for data a business may name itself).
    pub(crate) fn maybe(&self, key: &str) -> Option<String> {
        bundles()[&self.0].has_message(key).then(|| self.t(key))
    }

    /// The text of `key` with one argument.
    pub(crate) fn t1(&self, key: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name, value.to_owned());
        self.format(key, Some(&args))
    }

    /// The text of `key` with several arguments.
    pub(crate) fn tn(&self, key: &str, values: &[(&str, &str)]) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in values {
            args.set(*name, (*value).to_owned());
        }
        self.format(key, Some(&args))
    }

    fn format(&self, key: &str, args: Option<&FluentArgs>) -> String {
        let bundle = &bundles()[&self.0];
        let Some(pattern) = bundle.get_message(key).and_then(|message| message.value()) else {
            return key.to_owned();
        };
        let mut errors = Vec::new();
        bundle.format_pattern(pattern, args, &mut errors).into_owned()
    }

    /// The language a browser asks for (`Accept-Language`): ru, uk or en; Russian else.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Tr {
        Tr(accepted_language(headers).unwrap_or(Language::Ru))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(source: &str) -> Vec<&str> {
        let mut keys: Vec<&str> = source
            .lines()
            .filter(|line| !line.starts_with('#') && !line.starts_with(' ') && line.contains(" = "))
            .filter_map(|line| line.split(" = ").next())
            .collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn every_key_is_in_every_language() {
        let russian = keys(SOURCES[0].1);
        assert!(!russian.is_empty());
        for (language, source) in &SOURCES[1..] {
            assert_eq!(keys(source), russian, "{language} has other keys than ru");
        }
        for (language, _) in SOURCES {
            for key in &russian {
                assert!(
                    Tr(language).maybe(key).is_some_and(|text| !text.is_empty()),
                    "{language}: `{key}` does not format"
                );
            }
        }
        assert_eq!(Tr(Language::En).t1("signed-in-as", "name", "olga"), "Signed in as olga");
        // Every kind and status has its words, in every language.
        for (language, _) in SOURCES {
            for kind in otklik_core::Kind::ALL {
                assert_ne!(Tr(language).t(&format!("kind-{kind}")), format!("kind-{kind}"), "{language}");
            }
            for status in otklik_core::Status::ALL {
                assert_ne!(Tr(language).t(&format!("status-{status}")), format!("status-{status}"), "{language}");
            }
            let words: Vec<String> = [
                otklik_core::Priority::ALL.iter().map(|w| format!("priority-{w}")).collect::<Vec<_>>(),
                otklik_core::Channel::ALL.iter().map(|w| format!("channel-{w}")).collect(),
                otklik_core::Cause::ALL.iter().map(|w| format!("cause-{w}")).collect(),
                otklik_core::Role::ALL.iter().map(|w| format!("role-{w}")).collect(),
                otklik_core::ApologyForm::ALL.iter().map(|w| format!("apology-{w}")).collect(),
                otklik_core::CompensationKind::ALL.iter().map(|w| format!("compensation-{w}")).collect(),
                otklik_core::CompensationStatus::ALL.iter().map(|w| format!("compensation-status-{w}")).collect(),
                otklik_core::TaskStatus::ALL.iter().map(|w| format!("task-{w}")).collect(),
                ["first_response", "resolution", "due_date"].iter().map(|w| format!("milestone-{w}")).collect(),
            ]
            .concat();
            for key in words {
                assert!(Tr(language).maybe(&key).is_some(), "{language}: `{key}`");
            }
        }
    }
}
