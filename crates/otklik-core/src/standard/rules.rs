//! The house-standard rules as data: the TOML format (see `standard/rules.toml` for it explained),
//! its parsing into compiled rules, and how a business file extends the built-in set.
//! Takes file contents, never reads files; errors name the line.

use std::ops::Range;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use super::pattern::{PatternLanguage, Tokens, WordPattern};
use super::{Severity, Texts};
use crate::Kind;

/// A rules file that could not be used: the line (1-based) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RulesError {
    pub line: usize,
    pub message: String,
}

/// What a rule asks of a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Check {
    /// Every match is a finding.
    Forbid,
    /// The draft must match at least once; otherwise one finding without a place.
    Require,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub id: String,
    pub check: Check,
    pub severity: Severity,
    /// Empty means every kind.
    pub kinds: Vec<Kind>,
    pub public_only: bool,
    pub ignore_quoted: bool,
    /// The purposes of the messages it applies to, when the draft states one (the template
    /// key's second part: `apology`, `confirmation_request`, …); empty means every purpose.
    pub purposes: Vec<String>,
    /// Whether it applies to a draft whose purpose is not stated.
    pub unstated: bool,
    /// The public audiences it applies to (a reply to the misinformed); empty means every one.
    /// A draft whose audience is not known is checked by it only when this is empty.
    pub audiences: Vec<crate::Audience>,
    /// A rule whose words must be found in a draft of a stated purpose for this one to apply
    /// (a promise of action needs a time).
    pub if_found: Option<String>,
    /// Where it is defined, for errors that name it.
    pub line: usize,
    pub explanation: Texts,
    pub suggestion: Texts,
    pub patterns: Vec<Pattern>,
    pub exceptions: Vec<Pattern>,
}

/// One compiled pattern of a rule, with its own rewording if it has one.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub matcher: Matcher,
    pub language: PatternLanguage,
    pub suggestion: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Words(WordPattern),
    Regex(Regex),
}

impl Pattern {
    /// Byte ranges of every match in the draft.
    pub fn find(&self, draft: &str, tokens: &Tokens) -> Vec<Range<usize>> {
        match &self.matcher {
            Matcher::Words(pattern) => pattern
                .find(tokens)
                .into_iter()
                .map(|(first, last)| tokens.tokens[first].start..tokens.tokens[last].end)
                .collect(),
            Matcher::Regex(regex) => regex.find_iter(draft).map(|found| found.range()).collect(),
        }
    }
}

/// Phrases added to a rule defined elsewhere (a `[[add]]` table or the `[jargon]` table).
#[derive(Debug, Clone)]
struct Addition {
    rule: String,
    line: usize,
    patterns: Vec<Pattern>,
    exceptions: Vec<Pattern>,
}

/// A set of house-standard rules: the built-in ones, a business's own, or both merged.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub(crate) rules: Vec<Rule>,
    /// Additions whose rule is not in this set yet: they apply when this set extends another.
    pending: Vec<Addition>,
    /// Rule ids to switch off in the set this one extends, with the line that asked.
    disable: Vec<(String, usize)>,
}

impl Rules {
    /// The standard as shipped: `standard/rules.toml`.
    pub fn builtin() -> Rules {
        Rules::from_toml(include_str!("../../standard/rules.toml"))
            .expect("the built-in rules file parses: a test checks it")
    }

    /// The built-in rules extended by a business's own rules file.
    pub fn builtin_with(business_toml: &str) -> Result<Rules, RulesError> {
        let mut rules = Rules::builtin();
        rules.extend(Rules::from_toml(business_toml)?)?;
        rules.check_references()?;
        Ok(rules)
    }

    /// Parses a rules file. `[[add]]` and `[jargon]` entries for rules the file does not define
    /// are kept to apply when this set extends another (see [`Rules::extend`]).
    pub fn from_toml(source: &str) -> Result<Rules, RulesError> {
        let file: FileToml = toml::from_str(source).map_err(|error| RulesError {
            line: error.span().map_or(1, |span| line_of(source, span.start)),
            message: error.message().trim().to_owned(),
        })?;
        let mut rules = Rules::default();
        for rule in file.rule {
            let line = line_of(source, rule.span().start);
            let rule = compile_rule(source, rule.into_inner(), line)?;
            if rules.rules.iter().any(|known| known.id == rule.id) {
                return Err(RulesError { line, message: format!("rule `{}` is defined twice", rule.id) });
            }
            rules.rules.push(rule);
        }
        for addition in file.add {
            let line = line_of(source, addition.span().start);
            let addition = addition.into_inner();
            rules.pending.push(Addition {
                rule: addition.rule,
                line,
                patterns: compile_patterns(source, &addition.patterns, MatcherKind::Words)?
                    .into_iter()
                    .chain(compile_patterns(source, &addition.regex, MatcherKind::Regex)?)
                    .collect(),
                exceptions: compile_patterns(source, &addition.except, MatcherKind::Words)?,
            });
        }
        if let Some(jargon) = file.jargon {
            rules.pending.push(Addition {
                rule: JARGON.to_owned(),
                line: line_of(source, jargon.span().start),
                patterns: compile_patterns(source, jargon.get_ref(), MatcherKind::Words)?,
                exceptions: Vec::new(),
            });
        }
        rules.disable =
            file.disable.into_iter().map(|id| (id.get_ref().clone(), line_of(source, id.span().start))).collect();
        let additions = std::mem::take(&mut rules.pending);
        rules.pending = rules.apply_additions(additions);
        Ok(rules)
    }

    /// Adds another set on top of this one: its rules (a rule with a known id replaces the
    /// known one), its `[[add]]` and `[jargon]` phrases, and its `disable` list. An addition or a
    /// `disable` naming a rule that exists nowhere is an error naming its line.
    pub fn extend(&mut self, other: Rules) -> Result<(), RulesError> {
        for rule in other.rules {
            match self.rules.iter_mut().find(|known| known.id == rule.id) {
                Some(known) => *known = rule,
                None => self.rules.push(rule),
            }
        }
        let unapplied = self.apply_additions(other.pending);
        if let Some(addition) = unapplied.first() {
            return Err(RulesError {
                line: addition.line,
                message: format!("adds to rule `{}`, which does not exist", addition.rule),
            });
        }
        for (id, line) in other.disable {
            let before = self.rules.len();
            self.rules.retain(|rule| rule.id != id);
            if self.rules.len() == before {
                return Err(RulesError { line, message: format!("disables rule `{id}`, which does not exist") });
            }
            // A rule that applied only where the disabled one's words were found now stands alone.
            for rule in &mut self.rules {
                if rule.if_found.as_deref() == Some(id.as_str()) {
                    rule.if_found = None;
                }
            }
        }
        Ok(())
    }

    /// Every rule's `if_found` names a rule in force (checked once a set is complete).
    pub fn check_references(&self) -> Result<(), RulesError> {
        for rule in &self.rules {
            if let Some(other) = &rule.if_found
                && !self.rules.iter().any(|known| &known.id == other)
            {
                return Err(RulesError {
                    line: rule.line,
                    message: format!("rule `{}` applies if rule `{other}` is found, which does not exist", rule.id),
                });
            }
        }
        Ok(())
    }

    /// The purposes the rules name, sorted.
    pub fn purposes(&self) -> Vec<&str> {
        let mut purposes: Vec<&str> =
            self.rules.iter().flat_map(|rule| rule.purposes.iter().map(String::as_str)).collect();
        purposes.sort_unstable();
        purposes.dedup();
        purposes
    }

    /// The ids of the rules in force, in the order they are checked.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|rule| rule.id.as_str())
    }

    /// Applies the additions whose rule is known; returns the others.
    fn apply_additions(&mut self, additions: Vec<Addition>) -> Vec<Addition> {
        let mut unapplied = Vec::new();
        for addition in additions {
            match self.rules.iter_mut().find(|rule| rule.id == addition.rule) {
                Some(rule) => {
                    rule.patterns.extend(addition.patterns);
                    rule.exceptions.extend(addition.exceptions);
                }
                None => unapplied.push(addition),
            }
        }
        unapplied
    }
}

fn yes() -> bool {
    true
}

/// The id of the rule the `[jargon]` table feeds.
const JARGON: &str = "jargon";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    #[serde(default)]
    rule: Vec<Spanned<RuleToml>>,
    #[serde(default)]
    add: Vec<Spanned<AdditionToml>>,
    jargon: Option<Spanned<PatternsToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleToml {
    id: String,
    check: Check,
    severity: Severity,
    #[serde(default)]
    kinds: Vec<Kind>,
    #[serde(default)]
    public_only: bool,
    #[serde(default)]
    ignore_quoted: bool,
    #[serde(default)]
    purposes: Vec<String>,
    #[serde(default = "yes")]
    unstated: bool,
    #[serde(default)]
    audiences: Vec<crate::Audience>,
    if_found: Option<String>,
    #[serde(default)]
    explanation: TextsToml,
    #[serde(default)]
    suggestion: TextsToml,
    #[serde(default)]
    patterns: PatternsToml,
    #[serde(default)]
    regex: PatternsToml,
    #[serde(default)]
    except: PatternsToml,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdditionToml {
    rule: String,
    #[serde(default)]
    patterns: PatternsToml,
    #[serde(default)]
    regex: PatternsToml,
    #[serde(default)]
    except: PatternsToml,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TextsToml {
    ru: Option<String>,
    uk: Option<String>,
    en: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PatternsToml {
    #[serde(default)]
    ru: Vec<Spanned<String>>,
    #[serde(default)]
    uk: Vec<Spanned<String>>,
    #[serde(default)]
    en: Vec<Spanned<String>>,
    #[serde(default)]
    any: Vec<Spanned<String>>,
}

#[derive(Clone, Copy)]
enum MatcherKind {
    Words,
    Regex,
}

fn compile_rule(source: &str, rule: RuleToml, line: usize) -> Result<Rule, RulesError> {
    let id_is_plain =
        !rule.id.is_empty() && rule.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !id_is_plain {
        return Err(RulesError {
            line,
            message: format!("rule id `{}` must be lowercase letters, digits and `_`", rule.id),
        });
    }
    let explanation = texts(rule.explanation);
    if explanation.is_empty() {
        return Err(RulesError {
            line,
            message: format!("rule `{}` has no explanation (explanation.ru, .uk or .en)", rule.id),
        });
    }
    let patterns: Vec<Pattern> = compile_patterns(source, &rule.patterns, MatcherKind::Words)?
        .into_iter()
        .chain(compile_patterns(source, &rule.regex, MatcherKind::Regex)?)
        .collect();
    if patterns.is_empty() && rule.check == Check::Require {
        return Err(RulesError { line, message: format!("rule `{}` requires something but has no patterns", rule.id) });
    }
    let plain = |word: &str| !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    if let Some(purpose) = rule.purposes.iter().find(|purpose| !plain(purpose)) {
        return Err(RulesError {
            line,
            message: format!("rule `{}`: purpose `{purpose}` must be lowercase letters and `_`", rule.id),
        });
    }
    Ok(Rule {
        id: rule.id,
        check: rule.check,
        severity: rule.severity,
        kinds: rule.kinds,
        public_only: rule.public_only,
        ignore_quoted: rule.ignore_quoted,
        purposes: rule.purposes,
        unstated: rule.unstated,
        audiences: rule.audiences,
        if_found: rule.if_found,
        line,
        explanation,
        suggestion: texts(rule.suggestion),
        patterns,
        exceptions: compile_patterns(source, &rule.except, MatcherKind::Words)?,
    })
}

fn texts(toml: TextsToml) -> Texts {
    Texts { ru: toml.ru, uk: toml.uk, en: toml.en }
}

fn compile_patterns(source: &str, patterns: &PatternsToml, kind: MatcherKind) -> Result<Vec<Pattern>, RulesError> {
    let by_language = [
        (PatternLanguage::Ru, &patterns.ru),
        (PatternLanguage::Uk, &patterns.uk),
        (PatternLanguage::En, &patterns.en),
        (PatternLanguage::Any, &patterns.any),
    ];
    let mut compiled = Vec::new();
    for (language, entries) in by_language {
        for entry in entries {
            let pattern = compile_pattern(entry.get_ref(), language, kind)
                .map_err(|message| RulesError { line: line_of(source, entry.span().start), message })?;
            compiled.push(pattern);
        }
    }
    Ok(compiled)
}

/// One entry: `PATTERN` or `PATTERN => SUGGESTION`.
fn compile_pattern(entry: &str, language: PatternLanguage, kind: MatcherKind) -> Result<Pattern, String> {
    let (pattern, suggestion) = match entry.split_once(" => ") {
        Some((pattern, suggestion)) => (pattern.trim(), Some(suggestion.trim().to_owned()).filter(|s| !s.is_empty())),
        None => (entry.trim(), None),
    };
    let matcher = match kind {
        MatcherKind::Words => Matcher::Words(WordPattern::parse(pattern, language)?),
        MatcherKind::Regex => {
            Matcher::Regex(Regex::new(pattern).map_err(|error| format!("bad regex `{pattern}`: {error}"))?)
        }
    };
    Ok(Pattern { matcher, language, suggestion })
}

/// The 1-based line of a byte offset.
pub(crate) fn line_of(source: &str, offset: usize) -> usize {
    let offset = offset.min(source.len());
    source.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}
