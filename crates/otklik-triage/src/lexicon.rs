//! The sentiment lexicons (`lexicon/{ru,uk,en}.txt`, written for Otklik): general evaluative
//! words a customer or a reputation analyst reads as good or bad for a business. The learner
//! gets how many of them a message has and of which polarity (turned round after a negation), so
//! a model trained on a few hundred rows still knows that «кошмар» is bad and «выручили» good:
//! the "sentiment lexicon" features of the best linear systems of SentiRuEval-2016.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::OnceLock;

use otklik_core::text::stem;

use crate::model::Digest;

/// A lexicon word's polarity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Polarity {
    Positive,
    Negative,
}

impl Polarity {
    pub(crate) fn flipped(self) -> Polarity {
        match self {
            Polarity::Positive => Polarity::Negative,
            Polarity::Negative => Polarity::Positive,
        }
    }
}

const FILES: [(&str, &str, bool); 3] = [
    ("ru.txt", include_str!("../lexicon/ru.txt"), false),
    ("uk.txt", include_str!("../lexicon/uk.txt"), true),
    ("en.txt", include_str!("../lexicon/en.txt"), false),
];

/// Stems shorter than this are matched only whole: a short stem's prefixes are shared by too
/// many unrelated words.
const MIN_PREFIX_CHARS: usize = 5;

/// The stems of the lexicon words, each with its polarity, and the prefixes of the longer stems
/// (so `рекоменд`, the stem of «рекомендую», finds «рекомендовать», stemmed `рекомендова`). A
/// stem or prefix claimed by both polarities is dropped.
struct Lexicon {
    stems: HashMap<String, Option<Polarity>, BuildHasherDefault<Digest>>,
}

fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let mut stems: HashMap<String, Option<Polarity>, BuildHasherDefault<Digest>> = HashMap::default();
        let mut claim = |key: String, polarity: Polarity| {
            stems.entry(key).and_modify(|held| *held = held.filter(|held| *held == polarity)).or_insert(Some(polarity));
        };
        for (name, text, ukrainian) in FILES {
            for entry in parse(name, text) {
                let (word, polarity) = entry;
                let stemmed = stem(word, ukrainian);
                let boundaries: Vec<usize> =
                    stemmed.char_indices().map(|(offset, _)| offset).skip(MIN_PREFIX_CHARS).collect();
                for end in boundaries {
                    claim(stemmed[..end].to_owned(), polarity);
                }
                claim(stemmed, polarity);
            }
        }
        Lexicon { stems }
    })
}

/// The entries of one lexicon file; a malformed line is a bug in the shipped file, caught by the
/// tests.
fn parse<'a>(name: &'a str, text: &'a str) -> impl Iterator<Item = (&'a str, Polarity)> + 'a {
    text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).map(move |line| {
        let (word, polarity) = line.split_once('\t').unwrap_or_else(|| panic!("lexicon/{name}: no tab in `{line}`"));
        let polarity = match polarity {
            "positive" => Polarity::Positive,
            "negative" => Polarity::Negative,
            other => panic!("lexicon/{name}: unknown polarity `{other}`"),
        };
        (word, polarity)
    })
}

/// The polarity of a stemmed word, if the lexicon knows it: the stem itself, a longer lexicon
/// stem it begins, or a lexicon stem it extends by a letter or two.
pub(crate) fn polarity(stemmed: &str) -> Option<Polarity> {
    let stems = &lexicon().stems;
    if let Some(found) = stems.get(stemmed) {
        return *found;
    }
    stemmed
        .char_indices()
        .rev()
        .take(2)
        .map(|(end, _)| &stemmed[..end])
        .filter(|prefix| prefix.chars().count() >= MIN_PREFIX_CHARS)
        .find_map(|prefix| stems.get(prefix).copied().flatten())
}

/// True for a word that turns round the polarity of the words after it.
pub(crate) fn is_negation(word: &str) -> bool {
    matches!(
        word,
        "не" | "ни"
            | "нет"
            | "без"
            | "никогда"
            | "никакой"
            | "никакого"
            | "никаких"
            | "никакие"
            | "ні"
            | "нема"
            | "немає"
            | "ніколи"
            | "жоден"
            | "жодна"
            | "жодного"
            | "жодної"
            | "жодних"
            | "ніякий"
            | "ніякого"
            | "ніяких"
            | "not"
            | "no"
            | "never"
            | "without"
            | "nothing"
            | "none"
            | "nobody"
            | "zero"
            | "cannot"
    ) || word.ends_with("n't")
}

/// True for a negation that follows what it negates: «проблем нет», «мінусів немає».
pub(crate) fn is_trailing_negation(word: &str) -> bool {
    matches!(word, "нет" | "нету" | "немає" | "нема")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lexicon_line_parses_once() {
        for (name, text, _) in FILES {
            let words: Vec<&str> = parse(name, text).map(|(word, _)| word).collect();
            assert!(words.len() > 200, "{name}: {}", words.len());
            let mut unique = words.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), words.len(), "{name} repeats a word");
            assert!(words.iter().all(|word| *word == word.to_lowercase() && !word.contains(' ')), "{name}");
        }
    }

    #[test]
    fn word_forms_find_their_polarity() {
        let of = |word: &str, ukrainian| polarity(&stem(word, ukrainian));
        assert_eq!(of("отличного", false), Some(Polarity::Positive));
        assert_eq!(of("рекомендую", false), Some(Polarity::Positive));
        assert_eq!(of("ужасно", false), Some(Polarity::Negative));
        assert_eq!(of("жахливий", true), Some(Polarity::Negative));
        assert_eq!(of("terrible", false), Some(Polarity::Negative));
        assert_eq!(of("thanks", false), Some(Polarity::Positive));
        assert_eq!(of("заказ", false), None);
        assert_eq!(of("tariff", false), None);
    }

    #[test]
    fn negations_are_told() {
        for word in ["не", "ні", "not", "don't", "never", "жодної"] {
            assert!(is_negation(word), "{word}");
        }
        assert!(!is_negation("нормально"));
        assert!(is_trailing_negation("немає") && !is_trailing_negation("не"));
    }
}
