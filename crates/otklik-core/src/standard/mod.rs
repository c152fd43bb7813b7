//! The house standard for replies: a checker run on every draft before it is sent, and reply
//! templates that follow the standard. The rules are data (`standard/rules.toml`) a business can
//! extend with its own file. Pure functions over strings: no I/O, the caller passes file contents.

mod pattern;
mod rules;
mod templates;

use std::ops::Range;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::text::WordScript;
use crate::{Kind, Language};

use pattern::Tokens;
use rules::{Check, Rule};

pub use rules::{Rules, RulesError};
pub use templates::{Template, parse_templates, template, templates};

/// How bad a finding is: an error should block sending, a warning asks the agent to look again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// A reply being written, as the checker sees it.
#[derive(Debug, Clone, Copy)]
pub struct Draft<'a> {
    pub text: &'a str,
    /// The kind of the case the reply answers.
    pub kind: Kind,
    /// True when the reply is seen by others (a comment on a social page, a public review).
    pub public: bool,
    /// The draft's language; detected from the text when `None`.
    pub language: Option<Language>,
    /// What the message is for: the second part of its template key (`apology`, `progress`,
    /// `solution`, `confirmation_request`, `apology_again`, `refusal`, `thanks`, …). Rules
    /// declare the purposes they apply to; `None` (not stated) is checked by every rule of the
    /// kind that applies to unstated drafts.
    pub purpose: Option<&'a str>,
    /// Who the case's author is to the public (a troll, the misinformed, …), when known: rules
    /// for an audience apply only to replies to it.
    pub audience: Option<crate::Audience>,
}

/// One departure from the house standard found in a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct Finding {
    /// The rule's stable id, e.g. `blame_customer`.
    pub rule: String,
    pub severity: Severity,
    /// Byte offsets of the offending words in the draft; none for something missing.
    pub span: Option<(usize, usize)>,
    /// The offending words as written; empty for something missing.
    pub words: String,
    /// Why this goes against the standard, in the agent's language.
    pub explanation: String,
    /// A rewording or an addition, in the draft's language, where one exists.
    pub suggestion: Option<String>,
}

/// A text in each of the languages agents and drafts use; any may be missing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Texts {
    pub ru: Option<String>,
    pub uk: Option<String>,
    pub en: Option<String>,
}

impl Texts {
    fn is_empty(&self) -> bool {
        self.ru.is_none() && self.uk.is_none() && self.en.is_none()
    }

    /// The text in `language`, else in English, else in whatever there is.
    fn pick(&self, language: Language) -> Option<&str> {
        let wanted = match language {
            Language::Ru => &self.ru,
            Language::Uk => &self.uk,
            Language::En | Language::Other => &self.en,
        };
        [wanted, &self.en, &self.ru, &self.uk].into_iter().find_map(|text| text.as_deref())
    }
}

/// Checks a draft against the rules. Explanations are in `agent_language`; suggestions in the
/// draft's language. Findings come in the order of the rules, and within a rule by position.
pub fn check(rules: &Rules, draft: &Draft, agent_language: Language) -> Vec<Finding> {
    let tokens = Tokens::new(draft.text);
    let draft_language = draft.language.unwrap_or_else(|| detect_language(&tokens));
    let mut findings = Vec::new();
    for rule in rules.rules.iter().filter(|rule| applies(rule, draft)) {
        // A rule that applies only when another's words are found (a time, for a promise).
        if draft.purpose.is_some()
            && let Some(other) = &rule.if_found
            && rules
                .rules
                .iter()
                .find(|known| &known.id == other)
                .is_none_or(|known| hits(known, draft.text, &tokens, draft_language).is_empty())
        {
            continue;
        }
        let hits = hits(rule, draft.text, &tokens, draft_language);
        match rule.check {
            Check::Forbid => {
                for hit in hits {
                    let words = &draft.text[hit.range.clone()];
                    let suggestion = hit
                        .suggestion
                        .or_else(|| rule.suggestion.pick(draft_language))
                        .map(|text| text.replace("{words}", words));
                    findings.push(finding(rule, Some(hit.range.clone()), words, agent_language, suggestion));
                }
            }
            Check::Require if hits.is_empty() => {
                let suggestion = rule.suggestion.pick(draft_language).map(str::to_owned);
                findings.push(finding(rule, None, "", agent_language, suggestion));
            }
            Check::Require => {}
        }
    }
    findings
}

fn applies(rule: &Rule, draft: &Draft) -> bool {
    let purpose = match draft.purpose {
        None => rule.unstated,
        Some(purpose) => rule.purposes.is_empty() || rule.purposes.iter().any(|known| known == purpose),
    };
    let audience =
        rule.audiences.is_empty() || draft.audience.is_some_and(|audience| rule.audiences.contains(&audience));
    purpose
        && audience
        && (draft.public || !rule.public_only)
        && (rule.kinds.is_empty() || rule.kinds.contains(&draft.kind))
}

fn finding(
    rule: &Rule,
    range: Option<Range<usize>>,
    words: &str,
    agent_language: Language,
    suggestion: Option<String>,
) -> Finding {
    let explanation = rule.explanation.pick(agent_language).unwrap_or(rule.id.as_str()).replace("{words}", words);
    Finding {
        rule: rule.id.clone(),
        severity: rule.severity,
        span: range.map(|range| (range.start, range.end)),
        words: words.to_owned(),
        explanation,
        suggestion,
    }
}

/// One place a rule's pattern matched, not cancelled by an exception.
struct Hit<'r> {
    range: Range<usize>,
    suggestion: Option<&'r str>,
    /// False when the pattern is written for another language than the draft's.
    in_draft_language: bool,
}

/// The rule's matches in the draft, without those an exception overlaps, those in quotes when
/// the rule ignores quotations, and overlapping repeats (the earliest, longest one is kept,
/// preferring a pattern in the draft's language, whose rewording is in the right language).
fn hits<'r>(rule: &'r Rule, draft: &str, tokens: &Tokens, draft_language: Language) -> Vec<Hit<'r>> {
    let exceptions: Vec<Range<usize>> =
        rule.exceptions.iter().flat_map(|pattern| pattern.find(draft, tokens)).collect();
    let mut hits: Vec<Hit> = rule
        .patterns
        .iter()
        .flat_map(|pattern| {
            let in_draft_language = pattern.language.fits(draft_language);
            pattern.find(draft, tokens).into_iter().map(move |range| Hit {
                range,
                suggestion: pattern.suggestion.as_deref(),
                in_draft_language,
            })
        })
        .filter(|hit| !exceptions.iter().any(|exception| overlaps(exception, &hit.range)))
        .filter(|hit| !(rule.ignore_quoted && tokens.is_quoted(hit.range.start)))
        .collect();
    hits.sort_by_key(|hit| (hit.range.start, std::cmp::Reverse(hit.range.end), !hit.in_draft_language));
    let mut kept: Vec<Hit> = Vec::with_capacity(hits.len());
    for hit in hits {
        if kept.last().is_none_or(|last| last.range.end <= hit.range.start) {
            kept.push(hit);
        }
    }
    kept
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// Words that only one of Russian and Ukrainian uses, for texts whose letters do not tell.
const RUSSIAN_ONLY: &[&str] =
    &["вы", "мы", "что", "это", "как", "чтобы", "или", "уже", "спасибо", "пожалуйста", "извините", "его", "ее", "если"];
const UKRAINIAN_ONLY: &[&str] =
    &["ви", "ми", "що", "це", "як", "щоб", "або", "вже", "дякуємо", "будь", "ласка", "вибачте", "його", "її", "якщо"];

/// The language of a draft by its words: Latin letters read as English, Cyrillic as Ukrainian
/// or Russian by the letters and the small words only one of them uses.
pub fn detect_language_of(text: &str) -> Language {
    detect_language(&Tokens::new(text))
}

fn detect_language(tokens: &Tokens) -> Language {
    let (mut latin, mut cyrillic, mut ukrainian) = (0i32, 0i32, 0i32);
    for token in &tokens.tokens {
        match token.script {
            WordScript::Latin => latin += 1,
            WordScript::Ukrainian => {
                cyrillic += 1;
                ukrainian += 1;
            }
            WordScript::Russian => {
                cyrillic += 1;
                ukrainian -= 1;
            }
            WordScript::Cyrillic => {
                cyrillic += 1;
                if UKRAINIAN_ONLY.contains(&token.word.as_str()) {
                    ukrainian += 1;
                } else if RUSSIAN_ONLY.contains(&token.word.as_str()) {
                    ukrainian -= 1;
                }
            }
            WordScript::Other => {}
        }
    }
    match (latin > cyrillic, ukrainian > 0) {
        (true, _) => Language::En,
        (false, _) if cyrillic == 0 => Language::Other,
        (false, true) => Language::Uk,
        (false, false) => Language::Ru,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_is_told_by_letters_and_small_words() {
        assert_eq!(detect_language_of("Ви помилилися в адресі"), Language::Uk);
        assert_eq!(detect_language_of("Вы ошиблись в адресе"), Language::Ru);
        assert_eq!(detect_language_of("We are sorry"), Language::En);
        assert_eq!(detect_language_of("12:00"), Language::Other);
    }
}
