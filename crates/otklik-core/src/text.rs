//! Text analysis shared by search and triage: word splitting, lowercasing and stemming of
//! Russian, Ukrainian and English words. Pure functions; no I/O.

use std::sync::OnceLock;

use snowball_stemmers_rs::{Algorithm, Stemmer};

/// The script-level language of one word, as far as its letters tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordScript {
    /// Latin letters: stemmed as English.
    Latin,
    /// Cyrillic with a letter only Ukrainian uses (і, ї, є, ґ).
    Ukrainian,
    /// Cyrillic with a letter only Russian uses (ы, э, ъ, ё).
    Russian,
    /// Cyrillic that could be either language.
    Cyrillic,
    /// Digits or anything else: kept as it is.
    Other,
}

fn stemmers() -> &'static [Stemmer; 3] {
    static STEMMERS: OnceLock<[Stemmer; 3]> = OnceLock::new();
    STEMMERS.get_or_init(|| {
        [
            Stemmer::create(Algorithm::English),
            Stemmer::create(Algorithm::Russian),
            Stemmer::create(Algorithm::Ukrainian),
        ]
    })
}

/// Splits text into lowercase words: runs of letters and digits, with inner apostrophes and
/// hyphens kept (`п'ять`, `don't`, `інтернет-магазин`). `ё` is folded to `е`.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(is_letter_or_digit(c) || is_joiner(c)))
        .map(|w| w.trim_matches(is_joiner))
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut word = String::with_capacity(w.len());
            for c in w.chars() {
                match c {
                    // Latin and Cyrillic capitals directly, the rest through Unicode's tables.
                    'A'..='Z' => word.push(c.to_ascii_lowercase()),
                    'А'..='Я' => word.push(char::from_u32(u32::from(c) + 0x20).unwrap_or(c)),
                    'ё' | 'Ё' => word.push('е'),
                    '’' | 'ʼ' | '`' => word.push('\''),
                    _ if c.is_ascii() || ('а'..='я').contains(&c) => word.push(c),
                    _ => word.extend(c.to_lowercase().map(|lower| if lower == 'ё' { 'е' } else { lower })),
                }
            }
            word
        })
}

/// `char::is_alphanumeric`, answered without Unicode's tables for ASCII and the Russian and
/// Ukrainian alphabets, which are most of what Otklik reads.
pub fn is_letter_or_digit(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' | 'А'..='я' | 'ё' | 'Ё' | 'і' | 'І' | 'ї' | 'Ї' | 'є' | 'Є' | 'ґ' | 'Ґ' => {
            true
        }
        _ if c.is_ascii() => false,
        _ => c.is_alphanumeric(),
    }
}

fn is_joiner(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '`' | '-')
}

/// Tells which script a lowercase word is written in.
pub fn word_script(word: &str) -> WordScript {
    let mut cyrillic = false;
    let mut latin = false;
    for c in word.chars() {
        match c {
            'і' | 'ї' | 'є' | 'ґ' => return WordScript::Ukrainian,
            'ы' | 'э' | 'ъ' => return WordScript::Russian,
            'а'..='я' => cyrillic = true,
            'a'..='z' => latin = true,
            _ => {}
        }
    }
    match (cyrillic, latin) {
        (true, _) => WordScript::Cyrillic,
        (false, true) => WordScript::Latin,
        (false, false) => WordScript::Other,
    }
}

/// Stems one lowercase word. Ukrainian words are told by their letters; other Cyrillic words go
/// through the Russian stemmer unless `ukrainian_context` says the text around them is Ukrainian.
pub fn stem(word: &str, ukrainian_context: bool) -> String {
    let [english, russian, ukrainian] = stemmers();
    let stemmer = match word_script(word) {
        WordScript::Latin => english,
        WordScript::Ukrainian => ukrainian,
        WordScript::Russian => russian,
        WordScript::Cyrillic if ukrainian_context => ukrainian,
        WordScript::Cyrillic => russian,
        WordScript::Other => return word.to_owned(),
    };
    // Hyphenated words are stemmed on their last part only.
    match word.rsplit_once('-') {
        Some((head, tail)) if !tail.is_empty() => format!("{head}-{}", stemmer.stem(tail)),
        _ => stemmer.stem(word).into_owned(),
    }
}

/// The terms a search query looks for: for each word, the stems it may have been indexed under.
/// A Cyrillic word without a letter of its own language (`скарга`, `доставка`) may be Russian or
/// Ukrainian, so it is looked for under both stems; a document matches when it has every word.
pub fn query_terms(query: &str) -> Vec<Vec<String>> {
    let mut terms: Vec<Vec<String>> = Vec::new();
    for word in words(query) {
        for part in word.split('-').filter(|part| !part.is_empty()) {
            let part = part.replace('\'', "");
            let mut stems = vec![stem(&part, false)];
            if word_script(&part) == WordScript::Cyrillic {
                stems.push(stem(&part, true));
                stems.dedup();
            }
            if !terms.contains(&stems) {
                terms.push(stems);
            }
        }
    }
    terms
}

/// True when the text reads as Ukrainian rather than Russian by its letters.
pub fn looks_ukrainian(words: &[String]) -> bool {
    let (mut ukrainian, mut russian) = (0, 0);
    for word in words {
        match word_script(word) {
            WordScript::Ukrainian => ukrainian += 1,
            WordScript::Russian => russian += 1,
            _ => {}
        }
    }
    ukrainian > russian
}

/// The search terms of a text: its words, stemmed, in order (duplicates kept for ranking).
/// Hyphenated words become their parts and apostrophes are dropped, so every term is plain
/// letters and digits that any full-text engine tokenizes the same way.
pub fn search_terms(text: &str) -> Vec<String> {
    let words: Vec<String> = words(text).collect();
    let ukrainian = looks_ukrainian(&words);
    words
        .iter()
        .flat_map(|word| word.split('-'))
        .filter(|part| !part.is_empty())
        .map(|part| stem(&part.replace('\'', ""), ukrainian))
        .collect()
}

/// `text` with a person's personal data replaced by `placeholder`: each of `needles` (names,
/// e-mail addresses, handles; case-insensitively, at least 3 characters) and each phone number
/// whose digits end like one of `phones` however it is written (`+7 (916) 000-00-00`).
pub fn redact(text: &str, needles: &[String], phones: &[String], placeholder: &str) -> String {
    let needles: Vec<Vec<char>> = needles
        .iter()
        .map(|needle| needle.trim().chars().flat_map(char::to_lowercase).collect::<Vec<char>>())
        .filter(|needle| needle.len() >= 3)
        .collect();
    let tails: Vec<String> = phones
        .iter()
        .map(|phone| phone.chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|digits| digits.len() >= 7)
        .map(|digits| digits[digits.len().saturating_sub(10)..].to_owned())
        .collect();
    let chars: Vec<char> = text.chars().collect();
    let lower: Vec<char> = chars.iter().map(|c| c.to_lowercase().next().unwrap_or(*c)).collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    // A needle counts as a whole word (a name inside a longer word is another word).
    let alone = |at: usize| at == 0 || at >= lower.len() || !lower[at - 1].is_alphanumeric();
    'scan: while i < chars.len() {
        for needle in &needles {
            let end = i + needle.len();
            if lower[i..].starts_with(needle) && alone(i) && (end >= lower.len() || !lower[end].is_alphanumeric()) {
                out.push_str(placeholder);
                i = end;
                continue 'scan;
            }
        }
        if !tails.is_empty()
            && (chars[i].is_ascii_digit() || chars[i] == '+')
            && (i == 0 || !chars[i - 1].is_ascii_digit())
        {
            // The run of digits and separators, and where each of its digits ends it: a number
            // followed by other digits ("+7 916 000-00-00 2 раза") is found by a shorter end.
            let (mut end, mut digits, mut stops) = (i, String::new(), Vec::new());
            while end < chars.len() && (chars[end].is_ascii_digit() || " -().+".contains(chars[end])) {
                if chars[end].is_ascii_digit() {
                    digits.push(chars[end]);
                    stops.push((end + 1, digits.len()));
                }
                end += 1;
            }
            for &(stop, count) in stops.iter().rev() {
                if count < 7 {
                    break;
                }
                let run = &digits[..count];
                if tails.iter().any(|tail| run.ends_with(tail.as_str()) || tail.ends_with(run)) {
                    out.push_str(placeholder);
                    i = stop;
                    continue 'scan;
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_stem(a: &str, b: &str) {
        assert_eq!(search_terms(a), search_terms(b), "{a} vs {b}");
    }

    #[test]
    fn russian_word_forms_share_a_stem() {
        same_stem("жалоба", "жалобы");
        same_stem("доставка", "доставку");
        same_stem("курьер", "курьером");
    }

    #[test]
    fn ukrainian_word_forms_share_a_stem() {
        same_stem("скарга", "скаргу");
        same_stem("доставка і", "доставку і");
        same_stem("замовлення", "замовленням");
    }

    #[test]
    fn english_word_forms_share_a_stem() {
        same_stem("delivered", "delivering");
        same_stem("complaints", "complaint");
    }

    #[test]
    fn search_terms_are_plain_letters_and_digits() {
        let terms = search_terms("інтернет-магазин п'ять don't");
        assert!(terms.iter().all(|t| t.chars().all(char::is_alphanumeric)), "{terms:?}");
        assert_eq!(terms.len(), 4);
    }

    #[test]
    fn ambiguous_cyrillic_query_words_look_for_both_stems() {
        let terms = query_terms("скарга");
        assert_eq!(terms.len(), 1);
        assert!(terms[0].contains(&stem("скарги", true)), "{terms:?}");
        assert_eq!(query_terms("delivery delivery"), [vec![stem("delivery", false)]]);
    }

    #[test]
    fn redaction_finds_names_addresses_and_phones_however_written() {
        let text = "Меня зовут АННА Петрова, пишите anna@Example.com или звоните +7 (916) 000-00-00. Заказ 12345678.";
        let needles = ["Анна Петрова".to_owned(), "анна".to_owned(), "anna@example.com".to_owned()];
        let redacted = redact(text, &needles, &["+79160000000".to_owned()], "[erased]");
        assert_eq!(redacted, "Меня зовут [erased], пишите [erased] или звоните [erased]. Заказ 12345678.");
        assert_eq!(redact("Ан и Ли", &["Ан".to_owned()], &[], "x"), "Ан и Ли", "too short to be sure");
        let phone = ["+79160000000".to_owned()];
        assert_eq!(redact("звонила +7 916 000-00-00 2 раза", &[], &phone, "x"), "звонила x 2 раза");
        let sam = ["Sam".to_owned()];
        assert_eq!(redact("Sam bought a Samsung", &sam, &[], "x"), "x bought a Samsung", "whole words only");
    }

    #[test]
    fn words_keep_inner_apostrophes_and_fold_yo() {
        let split: Vec<String> = words("П’ять ЁЛОК, don't -x- 42!").collect();
        assert_eq!(split, ["п'ять", "елок", "don't", "x", "42"]);
    }
}
