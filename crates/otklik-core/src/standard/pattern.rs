//! The little pattern language of the house-standard rules, and the tokens it is matched on.
//!
//! A pattern is a sequence of steps separated by spaces:
//! `word` (any form of the word: compared by stem), `word*` (a word starting with it),
//! `*ending` (a word ending with it), `=word` (exactly this word), `#` (a number), `*` (any word),
//! `a|b|c` (any of them), and `...` or `...N` (up to 3, or up to N, other words in between).
//! A match never crosses the end of a sentence. Nothing here knows about rules or findings.

use crate::Language;
use crate::text::{self, WordScript};

/// How many words `...` skips at most when no number follows it.
const DEFAULT_GAP: usize = 3;
/// The longest gap a pattern may ask for; longer ones would match across unrelated clauses.
const MAX_GAP: usize = 8;

/// The language a pattern is written for: it decides which stemmer reads its words and which
/// sentences it may match in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatternLanguage {
    Ru,
    Uk,
    En,
    /// Words of any language, such as jargon that travels between them (`SLA`, `backlog`).
    Any,
}

impl PatternLanguage {
    /// True when a pattern in this language speaks the draft's language.
    pub fn fits(self, draft: Language) -> bool {
        matches!(
            (self, draft),
            (PatternLanguage::Any, _)
                | (PatternLanguage::Ru, Language::Ru)
                | (PatternLanguage::Uk, Language::Uk)
                | (PatternLanguage::En, Language::En | Language::Other)
        )
    }
}

/// One word of a draft, with where it stands and what it reduces to.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    /// Byte offsets of the word as written in the draft.
    pub start: usize,
    pub end: usize,
    /// Lowercase, `ё` folded, apostrophes normalised (as `text::words` gives it).
    pub word: String,
    /// The stem as Russian (or English) and as Ukrainian.
    pub stem_ru: String,
    pub stem_uk: String,
    pub sentence: usize,
    pub script: WordScript,
}

/// A draft cut into words, with what each sentence is mostly written in.
#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    pub tokens: Vec<Token>,
    /// True for each sentence written mostly in Latin letters.
    pub latin_sentence: Vec<bool>,
    /// Byte ranges of the text inside quotation marks.
    pub quoted: Vec<(usize, usize)>,
}

impl Tokens {
    /// Cuts a draft into words. Stemming happens once here, so patterns only compare strings.
    pub fn new(source: &str) -> Tokens {
        let mut tokens = Vec::new();
        let mut quoted = Vec::new();
        let mut quotes = QuoteTracker::default();
        let mut sentence = 0;
        let mut word_start: Option<usize> = None;
        for (at, c) in source.char_indices() {
            if c.is_alphanumeric() || is_joiner(c) {
                word_start.get_or_insert(at);
                continue;
            }
            if let Some(start) = word_start.take() {
                push_word(&mut tokens, source, start, at, sentence);
            }
            if let Some(range) = quotes.feed(at, c) {
                quoted.push(range);
            }
            if ends_sentence(c, &source[at + c.len_utf8()..]) {
                sentence += 1;
            }
        }
        if let Some(start) = word_start {
            push_word(&mut tokens, source, start, source.len(), sentence);
        }
        if let Some(range) = quotes.unclosed(source.len()) {
            quoted.push(range);
        }
        let latin_sentence = latin_sentences(&tokens, sentence + 1);
        Tokens { tokens, latin_sentence, quoted }
    }

    /// True when a byte offset falls inside quotation marks.
    pub fn is_quoted(&self, at: usize) -> bool {
        self.quoted.iter().any(|&(start, end)| start <= at && at < end)
    }
}

fn is_joiner(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '`' | '-')
}

/// A full stop ends a sentence only before a space and then anything but a lowercase letter, so
/// `12.05`, `т.е. завтра` and `i.e. the courier` stay whole.
fn ends_sentence(c: char, rest: &str) -> bool {
    match c {
        '!' | '?' | '…' | ';' | '\n' => true,
        '.' => {
            let after_space = rest.trim_start();
            rest.is_empty() || (after_space.len() < rest.len() && !after_space.starts_with(char::is_lowercase))
        }
        _ => false,
    }
}

fn push_word(tokens: &mut Vec<Token>, source: &str, start: usize, end: usize, sentence: usize) {
    let raw = &source[start..end];
    let trimmed_start = start + (raw.len() - raw.trim_start_matches(is_joiner).len());
    let trimmed_end = start + raw.trim_end_matches(is_joiner).len();
    if trimmed_start >= trimmed_end {
        return;
    }
    let Some(word) = text::words(&source[trimmed_start..trimmed_end]).next() else {
        return;
    };
    tokens.push(Token {
        start: trimmed_start,
        end: trimmed_end,
        stem_ru: text::stem(&word, false),
        stem_uk: text::stem(&word, true),
        script: text::word_script(&word),
        word,
        sentence,
    });
}

fn latin_sentences(tokens: &[Token], sentences: usize) -> Vec<bool> {
    let mut balance = vec![0i32; sentences];
    for token in tokens {
        match token.script {
            WordScript::Latin => balance[token.sentence] += 1,
            WordScript::Ukrainian | WordScript::Russian | WordScript::Cyrillic => balance[token.sentence] -= 1,
            WordScript::Other => {}
        }
    }
    balance.into_iter().map(|b| b > 0).collect()
}

/// Follows quotation marks: «…», „…“, “…”, and straight double quotes.
#[derive(Default)]
struct QuoteTracker {
    open: Vec<(char, usize)>,
}

impl QuoteTracker {
    /// Feeds one character; returns the quoted range when it closes the outermost quotation.
    fn feed(&mut self, at: usize, c: char) -> Option<(usize, usize)> {
        let closes = match (self.open.last(), c) {
            (Some(('«', _)), '»') | (Some(('„', _)), '“') | (Some(('“', _)), '”') | (Some(('"', _)), '"') => {
                true
            }
            (_, '«' | '„' | '“' | '"') => {
                self.open.push((c, at));
                false
            }
            _ => false,
        };
        if !closes {
            return None;
        }
        let (_, start) = self.open.pop()?;
        self.open.is_empty().then_some((start, at))
    }

    fn unclosed(&self, end: usize) -> Option<(usize, usize)> {
        self.open.first().map(|&(_, start)| (start, end))
    }
}

/// One way a word may be matched.
#[derive(Debug, Clone)]
enum WordTest {
    Stem { ru: String, uk: String },
    Exact(String),
    Prefix(String),
    Suffix(String),
    Number,
    AnyWord,
}

impl WordTest {
    fn parse(source: &str, language: PatternLanguage) -> Result<WordTest, String> {
        match source {
            "#" => return Ok(WordTest::Number),
            "*" => return Ok(WordTest::AnyWord),
            _ => {}
        }
        if let Some(rest) = source.strip_prefix('=') {
            return one_word(rest, source).map(WordTest::Exact);
        }
        if let Some(rest) = source.strip_suffix('*') {
            return one_word(rest, source).map(WordTest::Prefix);
        }
        if let Some(rest) = source.strip_prefix('*') {
            return one_word(rest, source).map(WordTest::Suffix);
        }
        let word = one_word(source, source)?;
        let (ru, uk) = match language {
            PatternLanguage::Ru | PatternLanguage::En => {
                let stem = text::stem(&word, false);
                (stem.clone(), stem)
            }
            PatternLanguage::Uk => {
                let stem = text::stem(&word, true);
                (stem.clone(), stem)
            }
            PatternLanguage::Any => (text::stem(&word, false), text::stem(&word, true)),
        };
        Ok(WordTest::Stem { ru, uk })
    }

    fn matches(&self, token: &Token, language: PatternLanguage) -> bool {
        match self {
            WordTest::Stem { ru, uk } => match language {
                PatternLanguage::Uk => token.stem_uk == *uk,
                PatternLanguage::Ru | PatternLanguage::En => token.stem_ru == *ru,
                PatternLanguage::Any => token.stem_ru == *ru || token.stem_uk == *uk,
            },
            WordTest::Exact(word) => token.word == *word,
            WordTest::Prefix(prefix) => token.word.starts_with(prefix.as_str()),
            WordTest::Suffix(suffix) => token.word.ends_with(suffix.as_str()) && token.word != *suffix,
            WordTest::Number => token.word.starts_with(|c: char| c.is_ascii_digit()),
            WordTest::AnyWord => true,
        }
    }
}

/// Normalises one word of a pattern the way drafts are normalised; refuses anything else.
fn one_word(word: &str, whole: &str) -> Result<String, String> {
    let mut words = text::words(word);
    match (words.next(), words.next()) {
        (Some(only), None) if only.chars().count() == word.chars().count() => Ok(only),
        _ => Err(format!("`{whole}` is not one word (letters, digits, inner `-` or `'`)")),
    }
}

#[derive(Debug, Clone)]
enum Step {
    Word(Vec<WordTest>),
    Gap(usize),
}

/// A compiled word pattern.
#[derive(Debug, Clone)]
pub(crate) struct WordPattern {
    steps: Vec<Step>,
    language: PatternLanguage,
}

impl WordPattern {
    pub fn parse(source: &str, language: PatternLanguage) -> Result<WordPattern, String> {
        let mut steps = Vec::new();
        for item in source.split_whitespace() {
            let step = match item.strip_prefix("...") {
                Some("") => Step::Gap(DEFAULT_GAP),
                Some(number) => match number.parse::<usize>() {
                    Ok(gap) if (1..=MAX_GAP).contains(&gap) => Step::Gap(gap),
                    _ => {
                        return Err(format!("`{item}`: a gap is `...` or `...N` with N from 1 to {MAX_GAP}"));
                    }
                },
                None => Step::Word(
                    item.split('|')
                        .map(|alternative| WordTest::parse(alternative, language))
                        .collect::<Result<_, _>>()?,
                ),
            };
            if matches!((steps.last(), &step), (Some(Step::Gap(_)), Step::Gap(_))) {
                return Err(format!("`{source}`: two gaps in a row"));
            }
            steps.push(step);
        }
        match (steps.first(), steps.last()) {
            (None, _) => Err("the pattern is empty".to_owned()),
            (Some(Step::Gap(_)), _) | (_, Some(Step::Gap(_))) => {
                Err(format!("`{source}`: a pattern cannot start or end with a gap"))
            }
            _ => Ok(WordPattern { steps, language }),
        }
    }

    /// Every place the pattern matches, as ranges of token indices (inclusive).
    pub fn find(&self, tokens: &Tokens) -> Vec<(usize, usize)> {
        (0..tokens.tokens.len())
            .filter_map(|start| self.match_from(&self.steps, tokens, start, tokens.tokens[start].sentence))
            .collect()
    }

    fn match_from(&self, steps: &[Step], tokens: &Tokens, at: usize, sentence: usize) -> Option<(usize, usize)> {
        match steps.split_first()? {
            (Step::Word(tests), rest) => {
                let token = tokens.tokens.get(at)?;
                let in_place = token.sentence == sentence && self.may_read(tokens, token);
                if !in_place || !tests.iter().any(|test| test.matches(token, self.language)) {
                    return None;
                }
                if rest.is_empty() {
                    return Some((at, at));
                }
                self.match_from(rest, tokens, at + 1, sentence).map(|(_, end)| (at, end))
            }
            (Step::Gap(gap), rest) => (0..=*gap).find_map(|skip| self.match_from(rest, tokens, at + skip, sentence)),
        }
    }

    /// English patterns read only sentences written mostly in Latin letters (so a Latin `i` typed
    /// for the Ukrainian `і` is not taken for "I"), Russian and Ukrainian ones only the others.
    fn may_read(&self, tokens: &Tokens, token: &Token) -> bool {
        let latin = tokens.latin_sentence.get(token.sentence).copied().unwrap_or(false);
        match self.language {
            PatternLanguage::En => latin,
            PatternLanguage::Ru | PatternLanguage::Uk => !latin,
            PatternLanguage::Any => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finds(pattern: &str, language: PatternLanguage, text: &str) -> Vec<String> {
        let tokens = Tokens::new(text);
        let pattern = WordPattern::parse(pattern, language).expect("pattern parses");
        pattern
            .find(&tokens)
            .into_iter()
            .map(|(first, last)| text[tokens.tokens[first].start..tokens.tokens[last].end].to_owned())
            .collect()
    }

    #[test]
    fn stems_cover_word_forms() {
        let pattern = "вы ...2 ошибку";
        assert_eq!(finds(pattern, PatternLanguage::Ru, "Вы сделали ошибкой"), ["Вы сделали ошибкой"]);
    }

    #[test]
    fn gap_is_bounded_and_stays_in_the_sentence() {
        assert!(finds("вы ...1 ошибк*", PatternLanguage::Ru, "вы тут там ошибка").is_empty());
        assert!(finds("вы ...3 ошибк*", PatternLanguage::Ru, "Спасибо вам. Ошибка исправлена").is_empty());
        assert_eq!(finds("вы ...3 ошибк*", PatternLanguage::Ru, "вы тут там ошибка").len(), 1);
    }

    #[test]
    fn dates_and_abbreviations_do_not_end_sentences() {
        let tokens = Tokens::new("До 12.05 т.е. завтра. Потом");
        let sentences: Vec<usize> = tokens.tokens.iter().map(|t| t.sentence).collect();
        assert_eq!(sentences, [0, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn quotes_are_tracked() {
        let tokens = Tokens::new("Вы пишете: «я ждал», и мы “I agree”.");
        let quoted: Vec<&str> =
            tokens.tokens.iter().filter(|t| tokens.is_quoted(t.start)).map(|t| t.word.as_str()).collect();
        assert_eq!(quoted, ["я", "ждал", "i", "agree"]);
    }

    #[test]
    fn english_patterns_skip_cyrillic_sentences() {
        assert!(finds("=i", PatternLanguage::En, "Ми вибачаємось i виправимо").is_empty());
        assert_eq!(finds("=i", PatternLanguage::En, "I will fix it").len(), 1);
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        let error = WordPattern::parse("... вы", PatternLanguage::Ru).unwrap_err();
        assert!(error.contains("start or end with a gap"), "{error}");
        let error = WordPattern::parse("вы ...99 ошибка", PatternLanguage::Ru).unwrap_err();
        assert!(error.contains("a gap is"), "{error}");
        let error = WordPattern::parse("вы|ошибка,да", PatternLanguage::Ru).unwrap_err();
        assert!(error.contains("not one word"), "{error}");
    }
}
